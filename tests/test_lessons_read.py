"""The lessons read against their own output (issue 23): what their prose promises is what a
student gets when they run.

- Lessons 02 and 07 ask the student to predict their backward pass (the step-through in
  predict mode) before the lesson shows those gradients.
- No lesson times anything; lesson 10 shows the benchmark's command and the README's table.
- The templates of lessons 00 and 06 are drawn on one red-blue scale centred at 0, so the
  picture has both signs in it, with a colour bar per row.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# (lesson, steps shown, shares asked, the cell that first shows the gradients the quiz asks for)
PREDICTING = [
    ("02_sigmoid_neuron.ipynb", 9, 12, "by_hand = ["),
    ("07_mlp_from_scratch.ipynb", 10, 21, None),  # 07 asks after its delta formulas, by design
]
# what a timing in a lesson looks like: a clock read, or a duration printed
CLOCKS = re.compile(r"\b(perf_counter|process_time|timeit|time\.time|race)\(")
DURATION = re.compile(r"\d\s*(ms|µs|us|seconds?)\b|\d\.\d+x numpy")
OURS = [  # the lessons this file reads (the others are read by their authors' tests)
    "00_linear_model.ipynb",
    "01_chain_rule.ipynb",
    "02_sigmoid_neuron.ipynb",
    "03_activations.ipynb",
    "06_mnist_softmax.ipynb",
    "07_mlp_from_scratch.ipynb",
    "08_twenty_lines.ipynb",
    "10_batch_path.ipynb",
    "11_second_derivatives.ipynb",
]


def shown(notebook: Any) -> list[tuple[int, dict[str, Any]]]:
    """(cell number, data) of every rich output a cell displays or ends with."""
    return [
        (number, output["data"])
        for number, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output["output_type"] in ("display_data", "execute_result")
    ]


def printed(notebook: Any) -> str:
    """Everything the lesson's cells printed."""
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output["output_type"] == "stream"
    )


@pytest.mark.parametrize(
    ("name", "steps", "asked", "reveal"), PREDICTING, ids=[p[0] for p in PREDICTING]
)
def test_the_lesson_asks_for_predictions(
    executed: Callable[[str], Any], name: str, steps: int, asked: int, reveal: str | None
) -> None:
    """One step-through in predict mode (anywidget's view, and the page inlined for a viewer
    with no kernel), at its first step, asking for every share of the pass."""
    from visualize.frontend import module_text

    notebook = executed(name)
    widgets = [(number, data) for number, data in shown(notebook) if WIDGET_VIEW in data]
    assert len(widgets) == 1, f"{name} shows {len(widgets)} step-throughs"
    number, data = widgets[0]
    state = notebook.metadata["widgets"][WIDGET_STATE]["state"]
    model = state[data[WIDGET_VIEW]["model_id"]]["state"]
    assert model["_anywidget_id"] == "visualize.widget.StepThrough"
    assert model["predict"] is True and model["step"] == 0
    assert len(model["data"]["steps"]) == steps
    assert sum(len(step["ask"]) for step in model["data"]["steps"]) == asked
    page = "".join(data["text/html"])
    assert module_text() in page and "predict: true})" in page
    prose = "".join(notebook.cells[number - 1].source)
    assert notebook.cells[number - 1].cell_type == "markdown" and "check" in prose
    assert f"{asked} " in "".join(c.source for c in notebook.cells[number - 1 : number + 2])
    if reveal is not None:  # asked before the lesson shows the answers
        first = next(k for k, c in enumerate(notebook.cells) if reveal in c.source)
        assert number < first


@pytest.mark.parametrize("name", OURS)
def test_no_lesson_times_anything(name: str) -> None:
    """No clock is read in a lesson's code, and none of its printouts is a duration (a speed
    measured inside a lesson swings with the machine's load)."""
    notebook = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert not CLOCKS.search(code), CLOCKS.search(code)


def test_lesson_10_shows_the_benchmark_instead(executed: Callable[[str], Any]) -> None:
    notebook = executed("10_batch_path.ipynb")
    assert not DURATION.search(printed(notebook)), DURATION.search(printed(notebook))
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "    .venv/bin/python benchmarks/batch_vs_numpy.py" in markdown  # the command, as code
    tables = [d["text/markdown"] for _, d in shown(notebook) if "text/markdown" in d]
    assert len(tables) == 1 and "| batch | numpy by hand ms | ours ms |" in tables[0]
    assert tables[0].split("From the README:\n\n")[1] in (ROOT / "README.md").read_text()
    assert "numpy by hand: losses of its first 3 steps" in printed(notebook)


@pytest.mark.parametrize("name", ["00_linear_model.ipynb", "06_mnist_softmax.ipynb"])
def test_templates_show_their_sign(executed: Callable[[str], Any], name: str) -> None:
    """The templates' figure: ten digits by three rows, a red-blue scale centred at 0 (both
    reds and blues drawn, white for 0), and each template matching its digit's mean minus all
    digits' mean (the correlations the lesson prints)."""
    from matplotlib.image import imread

    notebook = executed(name)
    cell = next(k for k, c in enumerate(notebook.cells) if "template:\\ncolumn d of" in c.source)
    pngs = [d["image/png"] for k, d in shown(notebook) if k == cell and "image/png" in d]
    assert len(pngs) == 1
    pixels = imread(io.BytesIO(base64.b64decode(pngs[0])), format="png")[..., :3]
    red = pixels[..., 0] - pixels[..., 2] > 0.3  # the weights above 0
    blue = pixels[..., 2] - pixels[..., 0] > 0.3  # and below
    assert red.mean() > 0.004 and blue.mean() > 0.004, (red.mean(), blue.mean())
    source = notebook.cells[cell].source
    assert 'interpolation="bicubic"' in source and "vmin=-top if centred" in source
    assert source.count("colorbar(") == 1 and "for row, " in source  # one bar per row
    correlations = re.search(r"mean:\n((?:\d: [\d.]+ ?)+)", printed(notebook))
    assert correlations, printed(notebook)
    values = [float(v) for v in re.findall(r"\d: ([\d.]+)", correlations.group(1))]
    assert len(values) == 10 and min(values) > 0.5
