"""Every picture the lessons draw fits a notebook's column with legible text (`visualize.fit`),
or shows as a zoomable view; edge labels never overlap; the legend sits under the graph; and a
picture too tangled for dot is refused (or collapsed) before dot runs."""

from __future__ import annotations

import html
import itertools
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import graphviz
import numpy as np
import pytest

import nn
from autograd_core import Tensor, Value
from autograd_core import functional as F
from visualize import Picture, Style, draw_graph
from visualize.fit import COLUMN_PX, MIN_TEXT_PX, NOTEBOOK_COLUMN_PX, Drawing, svg_fit
from visualize.graph import MAX_LAYOUT_COST, LayoutTooCostlyError, layout_cost

# ---- svg_fit on SVGs of known size -------------------------------------------------------------


def svg(width: str, height: str, body: str, view_box: str | None = None, scale: str = "1 1") -> str:
    box = f' viewBox="{view_box}"' if view_box else ""
    return (
        f'<?xml version="1.0"?>\n<svg width="{width}" height="{height}"{box}>'
        f'<g id="graph0" class="graph" transform="scale({scale}) rotate(0) translate(4 100)">'
        f"{body}</g></svg>"
    )


def text(size: float, content: str = "x") -> str:
    return f'<text x="0" y="0" font-family="Helvetica" font-size="{size:.2f}">{content}</text>'


def test_a_narrow_picture_is_shown_at_its_natural_size() -> None:
    fit = svg_fit(svg("600pt", "300pt", text(9) + text(11), "0 0 600 300"))
    assert (fit.width_px, fit.height_px) == (800, 400)  # 4/3 px per pt
    assert fit.scale == 1 and fit.rendered_width_px == 800
    assert fit.min_font_px == pytest.approx(12) and fit.min_text_px == pytest.approx(12)
    assert fit.fits


def test_a_wide_picture_is_scaled_to_the_column_and_its_text_with_it() -> None:
    fit = svg_fit(svg("1500pt", "300pt", text(9), "0 0 1500 300"))  # 2,000 px
    assert fit.rendered_width_px == COLUMN_PX and fit.scale == pytest.approx(0.5)
    assert fit.min_text_px == pytest.approx(6) and not fit.fits
    assert svg_fit(svg("1500pt", "300pt", text(9), "0 0 1500 300"), column_px=2000).fits
    # the rule's edge: 9 pt text (12 px) reads down to a scale of 3/4
    assert svg_fit(svg("1000pt", "10pt", text(9))).min_text_px == pytest.approx(MIN_TEXT_PX)
    assert svg_fit(svg("1000pt", "10pt", text(9))).fits
    assert not svg_fit(svg("1010pt", "10pt", text(9))).fits


def test_a_picture_drawn_smaller_than_its_layout_is_measured_as_drawn() -> None:
    """Graphviz's `size` scales the graph's group; the text shrinks with it."""
    fit = svg_fit(svg("300pt", "150pt", text(12), "0 0 300 150", scale="0.5 0.5"))
    assert fit.min_font_px == pytest.approx(8)  # 12 user units x 0.5 x 4/3
    fit = svg_fit(svg("400px", "100px", text(10), "0 0 800 200"))  # px, and a viewBox twice as big
    assert fit.width_px == 400 and fit.min_font_px == pytest.approx(5)


def test_a_picture_without_text_fits_and_a_non_svg_is_refused() -> None:
    assert svg_fit(svg("3000pt", "10pt", "")).fits
    with pytest.raises(ValueError, match="no <svg"):
        svg_fit("<html></html>")


# ---- the lessons' kinds of graph ---------------------------------------------------------------


def expression() -> tuple[Any, Any]:
    a, b, c, f = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    out = d * f
    out.label = "L"
    out.backward()
    return out, None


NEURON = [(2.0, "w0"), (-1.0, "x0"), (-3.0, "w1"), (-2.0, "x1"), (-3.0, "b")]  # lesson 02's


def sigmoid_neuron() -> tuple[Any, Any]:
    """Lesson 02: w0*x0 + w1*x1 + b, then * -1, exp, + 1, 1/x, each its own op."""
    w0, x0, w1, x1, b = (Value(v, name) for v, name in NEURON)
    s = [w0 * x0, w1 * x1]
    s.append(s[0] + s[1])
    s.append(s[2] + b)
    s.append(s[3] * -1.0)
    s.append(s[4].exp())
    s.append(s[5] + 1.0)
    s.append(s[6].reciprocal())
    for k, v in enumerate(s):
        v.label = f"s{k}"
    s[-1].label = "L"
    s[-1].backward()
    return s[-1], None


def softmax_cross_entropy() -> tuple[Any, Any]:
    """Lesson 04: -log_softmax(z)[0] over 3 logits, composed of Value ops."""
    logits = [Value(v, f"z{j}") for j, v in enumerate([2.0, 1.0, 0.1])]
    out = -F.log_softmax(logits)[0]
    out.label = "L"
    out.backward()
    return out, None


def tanh_neuron() -> tuple[Any, Any]:
    """`nn.Neuron(3)` with tanh applied to 3 Values: a dot op of 7 inputs, then tanh."""
    neuron = nn.Neuron(3, activation="tanh")
    out = neuron([Value(v, f"x{i}") for i, v in enumerate([1.0, -2.0, 0.5])])
    out.backward()
    return out, neuron


def mlp() -> tuple[Any, Any]:
    model = nn.MLP(2, [4, 1], seed=0)
    loss = (model([0.5, -1.2]) - 0.7) ** 2
    loss.label = "L"
    loss.backward()
    return loss, model


def tensor_linear() -> tuple[Any, Any]:
    layer = nn.batch.Linear(3, 2, seed=0)
    x = Tensor(np.random.default_rng(0).normal(size=(4, 3)), label="x")
    loss = nn.mse(layer(x).relu(), Tensor(np.zeros((4, 2))))
    loss.label = "loss"
    loss.backward()
    return loss, layer


def wide_and_deep(n: int = 6) -> Value:
    """n sigmoid neurons written out as ops, summed: too deep for left to right, too broad for
    top to bottom (but quick for dot)."""
    terms = []
    for k in range(n):
        w0, x0, w1, x1, b = (Value(v, f"{name}_{k}") for v, name in NEURON)
        terms.append((((w0 * x0 + w1 * x1 + b) * -1.0).exp() + 1.0).reciprocal())
    out = sum(terms, Value(0.0, "zero"))
    out.backward()
    return out


LESSON_GRAPHS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "expression": expression,
    "sigmoid neuron": sigmoid_neuron,
    "softmax cross-entropy": softmax_cross_entropy,
    "tanh neuron": tanh_neuron,
    "mlp": mlp,
    "tensor linear": tensor_linear,
}


def svg_of(graph: graphviz.Digraph) -> str:
    return graph.pipe(format="svg").decode()


@pytest.mark.parametrize("local_grads", [True, False])
@pytest.mark.parametrize("name", list(LESSON_GRAPHS))
def test_the_lessons_pictures_fit_the_column(name: str, local_grads: bool) -> None:
    root, parameters = LESSON_GRAPHS[name]()
    graph = draw_graph(root, parameters=parameters, local_grads=local_grads)
    assert isinstance(graph, Drawing) and isinstance(graph, graphviz.Digraph)
    fit = svg_fit(svg_of(graph))
    print(f"{name}: {fit.width_px:.0f} x {fit.height_px:.0f} px, text {fit.min_text_px:.1f} px")
    assert fit.fits, fit
    assert fit.min_font_px >= 11.9  # nothing is drawn smaller than 9 pt (12 px) to make it fit
    # in a notebook: a plain SVG output where JupyterLab's column holds it at its own size,
    # else the zoom view first (JupyterLab does not scale an SVG output)
    narrow = fit.width_px <= NOTEBOOK_COLUMN_PX
    shown = list(graph._repr_mimebundle_())
    assert shown == (["image/svg+xml"] if narrow else ["image/svg+xml", "text/html"])


def test_a_picture_too_big_to_fit_opens_as_a_zoomable_view(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = draw_graph(wide_and_deep(), local_grads=True)
    assert layout_cost(graph) <= MAX_LAYOUT_COST and not svg_fit(svg_of(graph)).fits
    bundle = graph._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml", "text/html"]  # HTML, which front ends prefer
    assert "zoomable(" in bundle["text/html"] and "computation graph of" in bundle["text/html"]
    asked = graph._repr_mimebundle_(include=["image/svg+xml"])  # a caller's choice wins
    assert list(asked) == ["image/svg+xml"] and "<svg" in asked["image/svg+xml"]
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "visualize.fit.zoomable_html", lambda svg, title: seen.append((svg, title)) or "view"
    )
    assert graph._repr_mimebundle_()["text/html"] == "view"
    assert seen[0][0].count("<svg") == 1 and seen[0][1] == graph.title


def test_the_subclass_copies_pipes_and_renders_as_a_digraph(tmp_path: Path) -> None:
    root, _ = expression()
    graph = draw_graph(root, local_grads=True)
    twin = graph.copy()
    assert type(twin) is Drawing and twin.title == graph.title
    assert twin.source == graph.source and twin.graph_attr == graph.graph_attr
    assert graph.graph_attr["rankdir"] in ("LR", "TB")
    assert graph.pipe(format="svg").startswith(b"<?xml")
    path = graph.render(tmp_path / "expression", format="png", cleanup=True)
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with graph.subgraph(name="cluster_more") as sub:  # graphviz makes these through copy kwargs
        assert isinstance(sub, Drawing)


def test_an_explicit_rankdir_is_kept_and_a_wrong_one_refused() -> None:
    root, _ = sigmoid_neuron()
    for rankdir in ("LR", "TB", "RL", "BT"):
        assert draw_graph(root, rankdir=rankdir).graph_attr["rankdir"] == rankdir
    assert draw_graph(root, rankdir="auto").graph_attr["rankdir"] in ("LR", "TB")
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(root, rankdir="sideways")


def test_the_shape_decides_the_direction() -> None:
    """A long chain of ops is drawn top to bottom (left to right it is 3,700 px wide); a single
    op of many inputs left to right (its inputs stack down the page)."""
    chain, _ = sigmoid_neuron()
    assert draw_graph(chain, local_grads=True).graph_attr["rankdir"] == "TB"
    fan, neuron = tanh_neuron()
    assert draw_graph(fan, parameters=neuron, local_grads=True).graph_attr["rankdir"] == "LR"


def test_the_ids_the_step_through_page_restyles_are_kept() -> None:
    root, _ = sigmoid_neuron()
    drawn = svg_of(draw_graph(root, backward=True, collapse=False))
    picture = Picture(root)
    i = next(i for i, node in enumerate(picture.order) if node.parents)
    for element in (f"v{i}", f"v{i}op", f"e{i}_0", f"e{i}_1", f"e{i}"):
        assert re.search(rf'<g id="{element}" class="', drawn), element
    values = re.findall(r'<g id="v\d+" class="node value (?!constant)[^"]*">(.*?)</g>', drawn, re.S)
    assert values and all(re.search(r">grad [^<]*</text>", v) for v in values)


# ---- the legend ----------------------------------------------------------------------------------


def texts_with_y(drawn: str) -> list[tuple[str, float, bool]]:
    """Every text of the SVG: its content, its y, and whether it belongs to a node or an edge."""
    found = []
    depth_in_item = 0
    for token in re.finditer(
        r'<g id="[^"]*" class="(node|edge)[^"]*">|</g>|<text[^>]*>[^<]*</text>', drawn
    ):
        tag = token.group(0)
        if tag.startswith("<g"):
            depth_in_item += 1
        elif tag == "</g>":
            depth_in_item = max(depth_in_item - 1, 0)
        else:
            y = float(re.search(r'\by="([-\d.]+)"', tag)[1])  # type: ignore[index]
            content = html.unescape(re.sub(r"<[^>]*>", "", tag))
            found.append((content, y, depth_in_item > 0))
    return found


@pytest.mark.parametrize("name", list(LESSON_GRAPHS))
def test_the_legend_is_under_the_graph(name: str) -> None:
    root, parameters = LESSON_GRAPHS[name]()
    texts = texts_with_y(svg_of(draw_graph(root, parameters=parameters, local_grads=True)))
    legend = [y for content, y, in_graph in texts if not in_graph]
    graph = [y for content, y, in_graph in texts if in_graph]
    assert any(c.startswith("the output (") for c, _, in_graph in texts if not in_graph)
    assert legend and min(legend) > max(graph)  # below every node and edge label (y grows down)


def test_the_legend_lists_only_what_the_picture_shows() -> None:
    root, _ = expression()  # * and + of inputs: no constant, no copy, no parameter
    texts = texts_with_y(svg_of(draw_graph(root)))
    rows = [c for c, _, in_graph in texts if not in_graph and c.strip()]  # (a swatch is blank)
    assert any(r.startswith("mul:") for r in rows) and any(r.startswith("add:") for r in rows)
    assert not any("constant" in r or "copy" in r or "parameter" in r for r in rows), rows
    assert len(rows) == 5  # mul, add, the output, an input, an intermediate value


@pytest.mark.parametrize("name", list(LESSON_GRAPHS))
def test_the_legend_never_costs_a_picture_its_fit(name: str) -> None:
    root, parameters = LESSON_GRAPHS[name]()
    alone = svg_fit(svg_of(draw_graph(root, parameters=parameters, legend=False)))
    with_legend = svg_fit(svg_of(draw_graph(root, parameters=parameters)))
    assert alone.fits and with_legend.fits
    assert with_legend.width_px <= max(alone.width_px, COLUMN_PX)


# ---- edge labels -----------------------------------------------------------------------------


def label_boxes(drawn: str) -> list[tuple[str, float, float, float, float]]:
    """The text boxes of the edge labels: (text, left, top, right, bottom), from each text's
    anchor point, font size and length (Helvetica's widest common glyphs are 0.6 em; the
    ascent about 0.75 em and the descent 0.2 em)."""
    boxes = []
    for edge in re.finditer(r'<g id="[^"]*" class="edge[^"]*">(.*?)</g>', drawn, re.S):
        for t in re.finditer(
            r'<text text-anchor="(\w+)" x="([-\d.]+)" y="([-\d.]+)"[^>]*font-size="([\d.]+)"'
            r"[^>]*>([^<]*)</text>",
            edge.group(1),
        ):
            anchor, x, y, size = t[1], float(t[2]), float(t[3]), float(t[4])
            content = html.unescape(t[5])
            width = len(content) * size * 0.6
            left = {"middle": x - width / 2, "end": x - width}.get(anchor, x)
            boxes.append((content, left, y - 0.75 * size, left + width, y + 0.2 * size))
    return boxes


def overlapping(drawn: str) -> list[tuple[str, str]]:
    return [
        (a[0], b[0])
        for a, b in itertools.combinations(label_boxes(drawn), 2)
        if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
    ]


@pytest.mark.parametrize("name", ["tanh neuron", "sigmoid neuron", "mlp", "softmax cross-entropy"])
def test_local_gradients_on_edges_never_overlap(name: str) -> None:
    root, parameters = LESSON_GRAPHS[name]()
    drawn = svg_of(draw_graph(root, parameters=parameters, local_grads=True))
    boxes = label_boxes(drawn)
    assert len(boxes) >= 7 and all(b[0].startswith("local ") for b in boxes)
    assert overlapping(drawn) == []


def test_the_step_through_labels_never_overlap() -> None:
    """`Style.edges` labels (what each input received, on the edges of a step) on the 7-input
    dot of the tanh neuron, all at once: the worst case of the page's frames."""
    root, neuron = tanh_neuron()
    picture = Picture(root, neuron)
    edges = {
        (p, i): ("#d62728", f"+= {picture.order[p].grad:.4f}")
        for i in range(len(picture))
        for p in picture.parent_indices(i)
    }
    drawn = svg_of(draw_graph(root, picture=picture, style=Style(edges=edges), backward=True))
    assert len(label_boxes(drawn)) == len(edges) == 8
    assert overlapping(drawn) == []


# ---- the cost check, before dot ---------------------------------------------------------------


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to lay a picture out fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("dot was run")

    monkeypatch.setattr(graphviz.Digraph, "pipe", refuse)
    monkeypatch.setattr("subprocess.run", refuse)
    monkeypatch.setattr("subprocess.Popen", refuse)


def fan_in(terms: int) -> Value:
    x = Value(0.5, "x")
    out = sum((x for _ in range(terms - 1)), x)  # x used `terms` times, far apart
    out.backward()
    return out


def test_a_tangled_picture_is_refused_in_one_line_before_dot(no_dot: None) -> None:
    out = fan_in(50)  # measured: 12 s of dot in full
    with pytest.raises(ValueError) as raised:
        draw_graph(out, collapse=False)
    message = str(raised.value)
    assert isinstance(raised.value, LayoutTooCostlyError)
    assert "\n" not in message and "50 values" in message and f"limit {MAX_LAYOUT_COST}" in message
    assert re.search(r"layout cost \d+", message) and "collapse=True" in message
    assert raised.value.cost > raised.value.limit == MAX_LAYOUT_COST


def test_by_default_a_tangled_picture_is_drawn_collapsed(no_dot: None) -> None:
    graph = draw_graph(fan_in(50))  # 50 values: far under max_nodes, but over the cost
    assert re.search(r"\bid=\"?b0\"?", graph.source) and "values drawn as" in graph.source
    assert layout_cost(graph) <= MAX_LAYOUT_COST
    assert re.search(
        r"\bid=\"?v49\"?", draw_graph(fan_in(50), max_cost=None, collapse=False).source
    )


def test_a_collapsed_picture_over_the_limit_is_refused_too(no_dot: None) -> None:
    """Collapsed pictures have at most MAX_BOXES boxes, so a real one over 2,500 is rare: the
    limit is lowered instead (and with it, the default's fallback has nowhere left to go)."""
    out = Value(1.0, "x")
    for _ in range(50):
        out = (out + 1) * 2
    out.backward()
    collapsed_cost = layout_cost(draw_graph(out, collapse=True))
    assert collapsed_cost < MAX_LAYOUT_COST
    for collapse in (True, None):
        with pytest.raises(
            ValueError, match=r"collapsed picture of 201 values .* \(limit 100\); draw a smaller"
        ):
            draw_graph(out, collapse=collapse, max_cost=100)
    assert len(draw_graph(out, collapse=True, max_cost=None).source) > 0


FAN_IN_IN_A_PROCESS = """
import sys
from autograd_core import Value
from visualize import draw_graph
from visualize.graph import LayoutTooCostlyError

n = int(sys.argv[1])
x = Value(1.0, "x")
out = x
for _ in range(n - 1):
    out = out + x
out.backward()
try:
    draw_graph(out, collapse=False).pipe(format="svg")
except LayoutTooCostlyError as error:
    print("refused:", error)
svg = draw_graph(out).pipe(format="svg").decode()
print("collapsed:", "values drawn as" in svg, len(svg))
"""


@pytest.mark.parametrize("terms", [300, 500])
def test_the_fan_ins_that_crashed_dot_are_refused_or_collapsed_in_a_process(terms: int) -> None:
    """Issue 25's M3: at 300 terms dot segfaulted, at 500 it took 817 MB first. In a process of
    their own (with a timeout), the full picture is refused in one line before dot runs, and the
    default draws the collapsed picture, which dot lays out."""
    run = subprocess.run(
        [sys.executable, "-c", FAN_IN_IN_A_PROCESS, str(terms)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr
    refused, collapsed = run.stdout.splitlines()
    assert refused.startswith("refused: ") and f"{terms} values" in refused
    assert collapsed.startswith("collapsed: True ")
