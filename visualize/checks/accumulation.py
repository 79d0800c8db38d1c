"""What two backward passes and `zero_grad` do to the gradients, drawn on the graph.

    view = accumulation_view(loss, parameters=model)   # two loss.backward() calls, then zero_grad
    print(view.text())    # w: grad 0.5 after pass 1, 1 after pass 2 (a leaf: ...accumulate)
    view.draw(2)          # the grads after pass 2, accumulated leaves highlighted
    view.draw_cleared()   # after model.zero_grad(): what it cleared, and what it did not touch

It changes the graph as the calls it shows would: it leaves it as after the `zero_grad`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import graphviz
import numpy as np

from ..graph import draw_marked
from ..picture import Parameters, Picture, Style, format_value, reusable

ACCUMULATED = "#ffcc80"  # a leaf whose grad grew across the passes (or that zero_grad left alone)
CLEARED = "#b9e4c9"  # a leaf whose grad zero_grad cleared


@dataclass(frozen=True)
class AccumulationView:
    """Every node's grad before, after each of `len(passes)` backward passes, and after zero_grad.

    Tuples are indexed by topological index (`picture.order`).
    """

    picture: Picture
    before: tuple[Any, ...]
    passes: tuple[tuple[Any, ...], ...]
    cleared: tuple[Any, ...]
    zeroed_by: str  # how zero_grad was called, for the text
    parameters: Parameters = None
    leaves: tuple[int, ...] = field(default=())  # the leaves shown (not constants)

    @property
    def accumulated(self) -> tuple[int, ...]:
        """The leaves whose grad changed from pass to pass."""
        return tuple(
            i for i in self.leaves if not all(_same(p[i], self.passes[0][i]) for p in self.passes)
        )

    @property
    def was_cleared(self) -> tuple[int, ...]:
        """The nodes whose grad zero_grad set back to empty (constants left out: no picture
        shows their grads)."""
        last = self.passes[-1]
        return tuple(
            i
            for i, kind in enumerate(self.picture.kinds)
            if kind != "constant" and not _is_empty(last[i]) and _is_empty(self.cleared[i])
        )

    def text(self) -> str:
        """Each node's grad pass by pass and why, then what zero_grad cleared."""
        n = len(self.passes)
        names = self.picture.names
        lines = [f"{n} backward passes of {names[-1]}, then {self.zeroed_by}:"]
        for i, kind in enumerate(self.picture.kinds):
            if kind == "constant":
                continue
            values = [p[i] for p in self.passes]
            if i in self.leaves:
                why = "a leaf: each backward adds to its grad, so leaves accumulate"
            elif kind == "output":
                why = "the output: each pass seeds it with 1"
            else:
                why = "an intermediate: reset at the start of each pass"
            if all(_same(v, values[0]) for v in values):
                history = f"{_grad_text(values[0])} after each pass"
            else:
                history = ", ".join(
                    f"{_grad_text(v)} after pass {k + 1}" for k, v in enumerate(values)
                )
            if i in self.leaves and not _is_empty(self.before[i]):
                history = f"{_grad_text(self.before[i])} before, {history}"
            lines.append(f"  {names[i]}: grad {history} ({why})")
        cleared = [names[i] for i in self.was_cleared]
        kept = [
            f"{names[i]} keeps {_grad_text(self.cleared[i])}"
            for i in self.leaves
            if not _is_empty(self.cleared[i])
        ]
        lines.append(f"after {self.zeroed_by}:")
        lines.append("  cleared: " + (_listed(cleared) if cleared else "nothing"))
        if kept:
            lines.append(
                "  not touched (zero_grad clears only the parameters it is given): " + _listed(kept)
            )
        lines.append("  intermediates keep their last pass's grads; the next backward resets them")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _history(self, i: int) -> str:
        return ", ".join(f"pass {k + 1}: {_grad_text(p[i])}" for k, p in enumerate(self.passes))

    def draw(self, k: int | None = None, **options: Any) -> graphviz.Digraph:
        """The grads after pass `k` (1 to the number of passes; the last by default), the leaves
        that accumulated highlighted with a note of their grad after every pass."""
        n = len(self.passes)
        k = n if k is None else k
        if not 1 <= k <= n:
            raise ValueError(f"pass {k} of {n}: choose a pass from 1 to {n}")
        grads = dict(enumerate(self.passes[k - 1]))
        accumulated = self.accumulated
        style = Style(
            grads=grads,
            fills={i: ACCUMULATED for i in accumulated},
            notes={i: self._history(i) for i in accumulated},
            legend=(
                (ACCUMULATED, "a leaf: each backward() adds to its grad (the note lists it "
                 "after every pass); intermediate grads are reset each pass"),
            ) if accumulated else (),
        )  # fmt: skip
        dot = draw_marked(self.picture, self.parameters, style, options)
        return _titled(dot, f"grads after backward pass {k} of {n}")

    def draw_cleared(self, **options: Any) -> graphviz.Digraph:
        """The grads after zero_grad: what it cleared, and the leaves it did not touch."""
        last = self.passes[-1]
        fills: dict[int, str] = {}
        notes: dict[int, str] = {}
        for i in self.was_cleared:
            fills[i] = CLEARED
            notes[i] = f"cleared (was {_grad_text(last[i])})"
        for i in self.leaves:
            if not _is_empty(self.cleared[i]):
                fills[i] = ACCUMULATED
                notes[i] = f"kept {_grad_text(self.cleared[i])}: zero_grad did not touch it"
        rows = (
            (CLEARED, f"cleared by {self.zeroed_by}"),
            (ACCUMULATED, "a leaf zero_grad did not touch: it keeps what it accumulated"),
        )
        legend = tuple(row for row in rows if row[0] in fills.values())
        style = Style(grads=dict(enumerate(self.cleared)), fills=fills, notes=notes, legend=legend)
        dot = draw_marked(self.picture, self.parameters, style, options)
        return _titled(dot, f"grads after {self.zeroed_by}")


def accumulation_view(
    root: Any, parameters: Parameters = None, passes: int = 2
) -> AccumulationView:
    """Call `root.backward()` `passes` times, recording every grad after each, then zero_grad.

    zero_grad is the Module's own when `parameters` is one (`model.zero_grad()`), else each
    given parameter's `zero_grad()`, else, with no parameters, every leaf's. The graph is left as
    after that zero_grad: intermediates keep the last pass's grads, as they would in a loop.
    Raises ValueError for passes < 1.
    """
    if passes < 1:
        raise ValueError(f"accumulation_view needs at least one backward pass, got {passes}")
    parameters = reusable(parameters)
    picture = Picture(root, parameters)
    order = picture.order
    leaves = tuple(
        i for i, node in enumerate(order) if not node.parents and picture.kinds[i] != "constant"
    )
    before = tuple(_copied(node.grad) for node in order)
    recorded = []
    for _ in range(passes):
        root.backward()
        recorded.append(tuple(_copied(node.grad) for node in order))
    if parameters is None:
        for node in order:
            if not node.parents:
                node.zero_grad()
        how = "zero_grad() on every leaf"
    elif callable(getattr(parameters, "zero_grad", None)):
        parameters.zero_grad()
        how = f"{type(parameters).__name__}.zero_grad()"
    else:
        values = parameters.values() if isinstance(parameters, Mapping) else parameters
        for p in values:
            p.zero_grad()
        how = "zero_grad() on each parameter"
    cleared = tuple(_copied(node.grad) for node in order)
    return AccumulationView(picture, before, tuple(recorded), cleared, how, parameters, leaves)


# ---- helpers ----


def _titled(dot: graphviz.Digraph, title: str) -> graphviz.Digraph:
    """`dot` with `title` as the first line of its label, above the legend (a graph has one
    label, and the legend is it: setting the title alone would drop the legend)."""
    rows = f'<TR><TD ALIGN="LEFT"><B>{html.escape(title)}</B></TD></TR>'
    legend = dot.graph_attr.get("label", "")
    if legend.startswith("<") and legend.endswith(">"):
        rows += f'<TR><TD ALIGN="LEFT">{legend[1:-1]}</TD></TR>'
    table = f'<<TABLE BORDER="0" CELLPADDING="1" CELLSPACING="0">{rows}</TABLE>>'
    dot.attr(label=table, labelloc="b", labeljust="l")
    return dot


def _copied(grad: Any) -> Any:
    return grad.copy() if isinstance(grad, np.ndarray) else grad


def _is_empty(grad: Any) -> bool:
    return grad is None or not np.any(np.asarray(grad))


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def _listed(names: Sequence[str], most: int = 12) -> str:
    """Names joined by commas, the middle elided past `most` (a model has hundreds)."""
    if len(names) <= most:
        return ", ".join(names)
    return ", ".join([*names[: most - 2], "...", names[-1]]) + f" ({len(names)} in all)"


def _grad_text(grad: Any) -> str:
    return "none" if grad is None else format_value(grad)
