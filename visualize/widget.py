"""The step-through as a notebook widget: anywidget runs the package's one ES module
(`static/stepthrough.js`) in JupyterLab, Notebook 7, VS Code, Colab and marimo.

`trace.widget()` makes one. Its step is synced both ways (`widget.step = 5` moves it; stepping
in the page updates `widget.step`), and in predict mode (`trace.widget(predict=True)`) the
student's answers come back as `widget.answers`, a list of dicts that a teacher can collect, one
per input checked, revealed or skipped: `step` (from 0, as `widget.step`; the page shows step +
1), `node` and `input` (their names in the picture), `position` (which input of the node: `x *
x` asks twice), `expected`, `given` (None when revealed or skipped), `correct`, and `revealed:
True` or `skipped: True` for an answer given up (moving on past an unanswered step skips it).
Where no kernel runs (a static export of the notebook, the docs site) the output shows the same
module inlined, from the bundle's HTML.
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from .frontend import embedded_html, module_text


class StepThrough(anywidget.AnyWidget):
    """The backward pass, step by step, of one trace (`BackwardTrace.widget`)."""

    _esm = module_text()
    data = traitlets.Dict().tag(sync=True)  # BackwardTrace.page_data(): the picture and steps
    step = traitlets.Int(0).tag(sync=True)  # the step shown, from 0
    predict = traitlets.Bool(False).tag(sync=True)  # ask before each step's answer
    # the student's answers, as the page records them (one per input checked, revealed or skipped)
    answers: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)

    @traitlets.validate("step")
    def _step_in_range(self, proposal: dict[str, Any]) -> int:
        step = proposal["value"]
        count = len(self.data.get("steps", ())) if self.data else 0
        if count and not 0 <= step < count:
            raise traitlets.TraitError(
                f"step {step} of a trace with {count} steps (0 to {count - 1})"
            )
        return int(step)

    @property
    def score(self) -> tuple[int, int]:
        """(inputs answered right, inputs asked) over the whole pass."""
        asked = sum(len(step["ask"]) for step in self.data.get("steps", [])[1:])
        right = {(a["step"], a["position"]) for a in self.answers if a.get("correct")}
        return len(right), asked

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The widget's view, plus the page inlined for where no kernel runs."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        return {**data, "text/html": embedded_html(self.data, self.predict)}, metadata
