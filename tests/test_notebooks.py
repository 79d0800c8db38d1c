"""The lessons as committed: outputs cleared, no absolute paths, real checks, README links; and
the lessons executed: what a student sees (pictures as pictures, names in the graphs, plots drawn,
the step-through page in the widget's output, nothing on stderr).

nbmake (`--nbmake` in pytest's options) executes each notebook as a test of its own."""

from __future__ import annotations

import base64
import io
import json
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


LESSONS = [  # in course order (the README lists them in this order)
    "00_linear_model.ipynb",
    "01_chain_rule.ipynb",
    "02_sigmoid_neuron.ipynb",
    "03_activations.ipynb",
    "04_softmax_cross_entropy.ipynb",
    "05_softmax_regression.ipynb",
    "06_mnist_softmax.ipynb",
    "07_mlp_from_scratch.ipynb",
    "08_twenty_lines.ipynb",
    "09_vector_backprop.ipynb",
    "10_batch_path.ipynb",
    "11_second_derivatives.ipynb",
    "12_watch_it_learn.ipynb",
    "13_bug_lab.ipynb",
]


def test_the_lessons_are_there() -> None:
    assert [p.name for p in NOTEBOOKS] == LESSONS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_clean(path: Path) -> None:
    notebook = json.loads(path.read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)
    source = "\n".join("".join(cell["source"]) for cell in notebook["cells"])
    assert not re.search(r"[\"'](/(home|work|tmp|root|Users)/|[A-Z]:\\\\)", source)
    asserts = sum("".join(cell["source"]).count("assert ") for cell in code)
    assert asserts >= 5, f"{path.name} checks too little ({asserts} asserts)"
    markdown = [cell for cell in notebook["cells"] if cell["cell_type"] == "markdown"]
    assert len(markdown) >= 3


def test_readme_links_every_notebook() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\(notebooks/(\w+\.ipynb)\)", readme)
    assert links == LESSONS  # each once, in course order


# ---- what a student sees: each lesson executed once, its outputs looked at ---------------------
#
# nbmake only proves a notebook raised nothing (plots once showed as `<Figure size ...>` text and
# passed). These tests execute each lesson once (nbclient, as `jupyter nbconvert --execute` does,
# widget state stored) and check the outputs a student gets: graphs as SVG pictures with their
# names in them, plots as PNG pictures that are not blank, the step-through widget with the page
# a static export can show, and nothing written to stderr.

SVG = "{http://www.w3.org/2000/svg}"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Per lesson, per graph drawn (in order), names that must appear in the picture; a lesson not
# listed draws no graph.
GRAPH_NAMES = {
    "01_chain_rule.ipynb": [
        {"x", "y", "z", "q", "f", "data -12", "data 3"},  # the forward graph, before any gradient
        {"x", "y", "z", "q", "f", "data -12", "grad 1", "grad -4", "grad 3", "local -4"},
        {"x", "q", "f", "f <- q <- x: -4 * 1 = -4", "sum over 1 path = -4 = df/dx"},  # paths
        {"a", "b", "out", "+", "local 1", "grad 2"},  # add distributes
        {"a", "b", "out", "*", "grad -2", "grad 6"},  # mul swaps
        {"a", "out", "grad 4", "1.5", "0.5"},  # copy adds
        {"a", "b", "out", "max", "grad 0", "local 0"},  # max routes
    ],
    "02_sigmoid_neuron.ipynb": [
        {"w0", "x0", "w1", "x1", "w2", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "L", "exp", "1/x"},
        {"w0", "x0", "w1", "x1", "w2", "f", "sigmoid", "grad 0.3932"},
    ],
    "04_softmax_cross_entropy.ipynb": [
        {"z0", "z1", "z2", "L", "exp", "log", "sum"},
        {"z0", "z1", "z2", "L", "-2", "grad 0.09857", "grad 0.659"},  # constants with gradients
        {"z0", "z1", "z2", "L", "cross_entropy", "local -0.341"},
    ],
    "07_mlp_from_scratch.ipynb": [
        {"L0.n0.w0", "L0.n2.b", "L1.n0.w2", "L1.n0.b", "L", "dot", "tanh", "-1.2", "0.5"},
    ],
    "09_vector_backprop.ipynb": [
        {"x", "y", "relu", "(4,) float64", "grad [4 -1 5 9]", "grad [4 0 5 0]"},  # ReLU routes
        {"z1(l)", "z2(l)", "y1(l)", "y2(l)", "w11", "w12", "w21", "w22", "b1", "b2", "z1(l+1)"},
        {"w21", "L", "local 0.2689", "sum over 1 path = -0.1172 = dL/dw21"},  # note 002, fig. 2
        {"z2(l)", "local 0.8", "local 0.3", "sum over 2 paths = -0.09762 = dL/dz2(l)"},  # fig. 3
        {"b1", "sum over 1 path = -0.4359 = dL/db1"},  # fig. 4, the bias
        {"W", "b", "z(l)", "y(l)", "z(l+1)", "L", "(2, 2) float64", "(2, 1) float64", "@"},
        {"W", "b", "Z(l)", "Y(l)", "Z(l+1)", "(2, 2) float64", "grad [0.2155 -1.009]"},  # batch
    ],
    "11_second_derivatives.ipynb": [
        {"x", "data 1.3", "**3", "*", "+"},  # f'(x) as the backward pass built it
        {"b", "dg/db", "tanh", "*", "+"},  # a gradient of g, whose gradient is a Hessian row
    ],
    "13_bug_lab.ipynb": [
        {"a", "b", "d", "e", "f", "grad 3", "grad -2", "local 3", "local -6"},  # = keeps one share
        {"f <- d <- a: 1 * 3 = 3", "f <- e <- a: -6 * 1 = -6", "sum over 2 paths = -3 = df/da"},
        {"q", "t", "f", "grad 1.597", "green: local gradients agree with central differences"},
        {"q", "t", "grad 1.597", "visited 2 of 5", "visited 3 of 5"},  # the breadth-first walk
        {"L", "L0.n0.w0", "pass 1: 1.867, pass 2: 3.734", "grads after backward pass 2 of 2"},
        {"x", "s", "exp", "first non-finite value: inf", "non-finite because an input was"},
        {"act", "SiLU", "wrong d/dh: stored 0.8176 vs numeric 1.041"},  # the red node
    ],
}
PLOTS = {  # matplotlib figures shown per lesson; a lesson not listed shows none
    "00_linear_model.ipynb": 3,  # forward vs central error, the templates, the moons boundary
    "03_activations.ipynb": 2,  # the gallery, the collapsed network's boundary
    "04_softmax_cross_entropy.ipynb": 1,  # cross-entropy and KL along one descent
    "05_softmax_regression.ipynb": 4,  # dL/dW as an outer product, the weight-decay loss, the
    # lambda sweep's three decision boundaries, the weight norm during the sweep
    "06_mnist_softmax.ipynb": 2,  # the templates, the input gradient as an image
    "07_mlp_from_scratch.ipynb": 2,  # the training history and the decision boundary
    "08_twenty_lines.ipynb": 1,  # the loss curve
    "09_vector_backprop.ipynb": 1,  # the Jacobians of a ReLU and of x @ w, drawn
    "10_batch_path.ipynb": 1,  # the confusion matrix
    "11_second_derivatives.ipynb": 2,  # Newton's and gradient descent's paths; the loss along v
    "13_bug_lab.ipynb": 1,  # the loss and the gradient's size, with and without zero_grad
}
# A cell that calls one of these draws: it must show a picture (PNG or SVG), never only text.
DRAWS = re.compile(
    r"\b(draw_graph|plot_history|plot_decision_boundary|plot_confusion_matrix|PlotFigure|"
    r"imshow)\(|\.draw\("
)
# stderr a lesson may write without it being a problem: none at present (keep it that way).
HARMLESS_STDERR: tuple[str, ...] = ()


def _outputs(notebook: Any) -> list[tuple[int, dict[str, Any]]]:
    return [
        (number, output)
        for number, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
    ]


def _shown(notebook: Any) -> list[tuple[int, dict[str, Any]]]:
    """(cell number, data) of every rich output: what a cell displays or ends with."""
    return [
        (number, output["data"])
        for number, output in _outputs(notebook)
        if output["output_type"] in ("display_data", "execute_result")
    ]


def _texts(svg: str) -> set[str]:
    """Every piece of text drawn in an SVG picture."""
    root = ElementTree.fromstring(svg[svg.find("<svg") :])
    return {"".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")}


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_pictures_are_pictures_not_text(executed: Callable[[str], Any], name: str) -> None:
    shown = _shown(executed(name))
    for number, data in shown:
        plain = "".join(data.get("text/plain", ""))
        if plain.startswith("<graphviz."):
            assert "image/svg+xml" in data, f"cell {number}: a graph shown as text: {plain}"
        if plain.startswith("<Figure size"):
            assert "image/png" in data, f"cell {number}: a plot shown as text: {plain}"
        assert set(data) != {"text/plain"} or not plain.startswith("<"), (
            f"cell {number} shows only an object's repr: {plain}"
        )
    svgs = [data["image/svg+xml"] for _, data in shown if "image/svg+xml" in data]
    assert len(svgs) == len(GRAPH_NAMES.get(name, []))
    assert sum("image/png" in data for _, data in shown) == PLOTS.get(name, 0)


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_every_cell_that_draws_shows_a_picture(executed: Callable[[str], Any], name: str) -> None:
    notebook = executed(name)
    drawing = [
        (number, cell)
        for number, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and DRAWS.search(cell.source)
    ]
    for number, cell in drawing:
        kinds = {
            kind
            for output in cell.outputs
            if output["output_type"] in ("display_data", "execute_result")
            for kind in output["data"]
        }
        assert kinds & {"image/png", "image/svg+xml"}, f"cell {number} draws but shows {kinds}"


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_exercises_wait_for_the_student(executed: Callable[[str], Any], name: str) -> None:
    """Each exercise cell, as committed, runs and reports its placeholder as not done."""
    for cell in executed(name).cells:
        if cell.cell_type == "code" and re.search(r'check\("\w+"', cell.source):
            shown = "".join(
                "".join(output["data"].get("text/plain", ""))
                for output in cell.outputs
                if output["output_type"] == "execute_result"
            )
            assert "not done yet" in shown, shown


@pytest.mark.parametrize("name", [n for n, graphs in GRAPH_NAMES.items() if graphs])
def test_graphs_show_their_names(executed: Callable[[str], Any], name: str) -> None:
    svgs = [data["image/svg+xml"] for _, data in _shown(executed(name)) if "image/svg+xml" in data]
    for k, (svg, expected) in enumerate(zip(svgs, GRAPH_NAMES[name])):
        texts = _texts("".join(svg))
        assert expected <= texts, f"graph {k + 1} lacks {sorted(expected - texts)}"
        assert any(t.startswith("the output (") for t in texts), f"graph {k + 1} has no legend"


@pytest.mark.parametrize("name", [n for n, count in PLOTS.items() if count])
def test_plots_are_drawn(executed: Callable[[str], Any], name: str) -> None:
    from matplotlib.image import imread

    for number, data in _shown(executed(name)):
        if "image/png" not in data:
            continue
        png = base64.b64decode(data["image/png"])
        width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
        assert width >= 300 and height >= 250, f"cell {number}: a {width}x{height} plot"
        pixels = imread(io.BytesIO(png), format="png")
        assert pixels[..., :3].std() > 0.05, f"cell {number}: the plot is blank"


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_nothing_on_stderr(executed: Callable[[str], Any], name: str) -> None:
    for number, output in _outputs(executed(name)):
        assert output["output_type"] != "error"
        if output["output_type"] == "stream" and output["name"] == "stderr":
            text = "".join(output["text"])
            assert any(re.search(p, text) for p in HARMLESS_STDERR), f"cell {number}: {text}"


def _widget_outputs(notebook: Any) -> list[dict[str, Any]]:
    return [data for _, data in _shown(notebook) if WIDGET_VIEW in data]


def _page_data(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="[^"]*">(.*?)</script>', page, re.S)
    assert found, page[:200]
    return json.loads(found.group(1))


def test_the_widget_cells_are_the_step_through(executed: Callable[[str], Any]) -> None:
    """Lesson 01 shows the step-through twice, the second time in predict mode: each output is
    the widget (anywidget's view) and, for a viewer without a kernel, the same module inlined
    with the trace's data."""
    from visualize.frontend import module_text

    notebook = executed("01_chain_rule.ipynb")
    outputs = _widget_outputs(notebook)
    assert len(outputs) == 2, "the chain-rule lesson shows the step-through and the quiz"
    state = notebook.metadata["widgets"][WIDGET_STATE]["state"]
    for data, predict in zip(outputs, [False, True]):
        model = state[data[WIDGET_VIEW]["model_id"]]["state"]
        assert model["_anywidget_id"] == "visualize.widget.StepThrough"
        assert model["predict"] is predict and model["step"] == 0
        page = "".join(data["text/html"])
        assert module_text() in page and f"predict: {str(predict).lower()}}})" in page
        steps = _page_data(page)
        assert steps == model["data"]
        assert [step["name"] for step in steps["steps"]] == ["f", "f", "q"]
        assert steps["texts"][0].startswith("Step 1 of 3: start at the output f")
        assert "df/dx += df/dq * dq/dx = -4 * 1 = -4" in steps["texts"][2]
        assert {"x", "y", "z", "q", "f"} <= _texts(steps["svg"])
        assert steps["code"][2] == ["d_x += d_q", "d_y += d_q"]


def test_the_mnist_lesson_reads_idx_files_when_present(tmp_path: Path) -> None:
    """Lesson 06 runs on the 8x8 digits unless `data/mnist/` holds the IDX files; with them (here
    small made-up ones: each digit a bright block in its own place, plus noise) it reads them
    with `load_idx` and works on 28 x 28 images."""
    import gzip

    import numpy as np

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    rng = np.random.default_rng(0)
    count = 600
    labels = np.arange(count) % 10
    images = rng.integers(0, 60, size=(count, 28, 28)).astype(np.uint8)
    for image, digit in zip(images, labels):
        row, col = divmod(int(digit), 5)
        image[4 + 10 * row : 12 + 10 * row, 1 + 5 * col : 5 + 5 * col] = 255
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    header = struct.pack(">BBBBIII", 0, 0, 0x08, 3, count, 28, 28)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()))
    label_header = struct.pack(">BBBBI", 0, 0, 0x08, 1, count)
    (folder / "train-labels-idx1-ubyte").write_bytes(
        label_header + labels.astype(np.uint8).tobytes()
    )
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    notebook = nbformat.read(ROOT / "notebooks" / "06_mnist_softmax.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(lessons)}}
    )
    client.execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output["output_type"] == "stream"
    )
    assert "data: MNIST (the first 600 training images): 600 images of 28 x 28 = 784" in printed
    assert "shapes: dL/dW (10, 784), dL/db (10,), dL/du (784,)" in printed
