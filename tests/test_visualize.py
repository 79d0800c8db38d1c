"""Graph pictures, the backward step-through (in a real headless browser too), and plots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import nn
from autograd_core import Tensor, Value, topological_order
from visualize import draw_graph, trace_backward
from visualize.plots import plot_decision_boundary, plot_history


def chain_rule() -> tuple[Value, dict[str, Value]]:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f, {"x": x, "y": y, "z": z, "q": q}


def record(source: str, node_id: str) -> str:
    match = re.search(rf'^\s*{node_id} \[label="([^"]*)"', source, flags=re.M)
    assert match, f"no node {node_id} in\n{source}"
    return match.group(1)


def edge(source: str, tail: str, head: str) -> str:
    """The attribute list of an edge, e.g. 'label="local 1" color="#1f78b4"' ('' for none)."""
    match = re.search(rf"^\s*{tail} -> {head}(?: \[(.*)\])?$", source, flags=re.M)
    assert match, f"no edge {tail} -> {head}"
    return match.group(1) or ""


# ---- draw_graph -------------------------------------------------------------------------------


def test_chain_rule_graph_holds_every_value_and_gradient() -> None:
    f, _ = chain_rule()
    f.backward()
    source = draw_graph(f).source
    assert record(source, "v0") == "{ x | data -2 | grad -4 }"
    assert record(source, "v1") == "{ y | data 5 | grad -4 }"
    assert record(source, "v2") == "{ q | data 3 | grad -4 }"
    assert record(source, "v3") == "{ z | data -4 | grad 3 }"
    assert record(source, "v4") == "{ f | data -12 | grad 1 }"
    assert 'v2op [label="+"' in source and 'v4op [label="*"' in source
    for edge in (
        "v0 -> v2op",
        "v1 -> v2op",
        "v2op -> v2",
        "v2 -> v4op",
        "v3 -> v4op",
        "v4op -> v4",
    ):
        assert edge in source


def test_dot_source_is_identical_across_builds() -> None:
    sources = []
    for _ in range(2):
        f, _ = chain_rule()
        f.backward()
        sources.append(draw_graph(f, local_grads=True).source)
    assert sources[0] == sources[1]


def test_gate_colours_kinds_and_legend() -> None:
    a, b, w = Value(2.0, "a"), Value(-1.0, "b"), Value(0.5, "w")
    out = (a * w + a).max(b) + (a * b).relu()
    out.label = "out"
    out.backward()
    source = draw_graph(out, parameters=[w], local_grads=True).source
    assert "#1f78b4" in source and "#e6550d" in source and "#33a02c" in source  # add, mul, max
    assert "copy: a value used twice" in source  # a is used three times
    a_id = f"v{topological_order(out).index(a)}"
    a_edges = re.findall(rf"^\s*{a_id} -> v\d+op \[(.*)\]$", source, flags=re.M)
    assert len(a_edges) == 3 and all('color="#6a3d9a"' in e for e in a_edges)  # a's 3 uses
    assert '"#fff3b0"' in source  # w drawn as a parameter
    assert 'label="local 0.5"' in source  # d(a*w)/da = w
    no_grad_source = draw_graph(out, show_grad=False, legend=False).source
    assert "grad" not in no_grad_source and "legend" not in no_grad_source


def test_labels_with_record_characters_are_escaped() -> None:
    v = Value(1.0, "a|b{c}")
    assert record(draw_graph(v * 2).source, "v0").startswith("{ a\\|b\\{c\\} |")


def test_render_svg_and_png(tmp_path: Path) -> None:
    f, _ = chain_rule()
    f.backward()
    graph = draw_graph(f)
    svg = graph.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "data &#45;12" in svg
    png = graph.pipe(format="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    path = graph.render(tmp_path / "chain", format="svg", cleanup=True)
    assert Path(path).read_text().count("<svg") == 1


def test_max_nodes_refusal_says_how_big_and_how_to_override() -> None:
    out = Value(1.0)
    for _ in range(300):
        out = out * 1.01
    with pytest.raises(ValueError, match=r"601 values, more than max_nodes=500.*max_nodes=601"):
        draw_graph(out)
    assert "v600" in draw_graph(out, max_nodes=601).source


def test_tensor_graph_shows_shapes_and_summaries() -> None:
    W = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, label="W")
    x = Tensor(np.ones((4, 2)), label="x")
    loss = (x @ W).relu().mean()
    loss.backward()
    source = draw_graph(loss).source
    assert "(2, 3) float64" in source and "mean 2.5 min 0 max 5" in source  # W and its data
    assert "grad mean 0.3333" in source  # each W entry gets mean of x over the batch / 3
    assert '"#fff3b0"' in source  # W requires grad: a parameter
    assert 'label="@"' in source


# ---- the backward step-through -----------------------------------------------------------------


def test_trace_steps_in_order_with_contributions() -> None:
    f, _ = chain_rule()
    trace = trace_backward(f)
    names = [step.name for step in trace.steps]
    assert names == ["f", "z", "q", "y", "x"]  # reverse topological order
    first, _, third = trace.steps[:3]
    assert first.upstream == 1.0
    assert [(c.name, c.local_grad, c.contribution) for c in first.contributions] == [
        ("q", -4.0, -4.0),
        ("z", 3.0, 3.0),
    ]
    assert [(c.name, c.local_grad, c.contribution) for c in third.contributions] == [
        ("x", 1.0, -4.0),
        ("y", 1.0, -4.0),
    ]
    assert "df/dx += df/dq * dq/dx = -4 * 1 = -4" in trace.text(2)
    assert trace.text(0).startswith("Step 1 of 5: f (*)")
    assert trace.steps[1].contributions == () and "z is an input" in trace.text(1)
    # only what is known after each step: x and y are still unknown after step 2
    assert set(trace.steps[1].known) == {4, 2, 3}


def test_trace_leaves_the_same_gradients_as_backward() -> None:
    f, nodes = chain_rule()
    trace_backward(f)
    g, plain = chain_rule()
    g.backward()
    assert {k: v.grad for k, v in nodes.items()} == {k: v.grad for k, v in plain.items()}


def test_frames_highlight_the_current_node_and_blank_the_unknown() -> None:
    f, _ = chain_rule()
    trace = trace_backward(f)
    frames = trace.frames()
    assert len(frames) == 5
    second = frames[1].source  # z's step: x and y not reached yet
    assert record(second, "v0") == "{ x | data -2 | grad  }"
    assert record(second, "v3") == "{ z | data -4 | grad 3 }"
    assert re.search(r'v3 \[label="[^"]*" fillcolor="#ffd700"', second)
    third = frames[2].source
    for tail in ("v0", "v1"):  # q passes -4 to x and to y
        attributes = edge(third, tail, "v2op")
        assert 'label="+= -4"' in attributes and 'color="#d62728"' in attributes
    assert edge(third, "v2", "v4op") == ""  # not this step's edge
    assert record(frames[-1].source, "v0") == "{ x | data -2 | grad -4 }"


def test_trace_refuses_tensors() -> None:
    with pytest.raises(TypeError, match="scalar Value graphs"):
        trace_backward(Tensor(np.ones(2), requires_grad=True).sum())  # type: ignore[arg-type]


def test_html_page_is_self_contained(tmp_path: Path) -> None:
    f, _ = chain_rule()
    page = trace_backward(f).to_html(tmp_path / "steps.html").read_text()
    assert page.count("<svg") == 5 and 'type="range"' in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # no network resources
    assert "<script src" not in page and "<link" not in page


def _is_debian() -> bool:
    release = Path("/etc/os-release")
    return release.exists() and "ID=debian" in release.read_text().split()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists() and not _is_debian():
        pytest.skip("no apt-installable chromium on this system (Ubuntu ships it as a snap)")
    assert chromium.exists(), "Debian's chromium is missing: `make test` installs it"
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(chromium),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


def test_html_page_in_a_real_browser(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    f, _ = chain_rule()
    trace = trace_backward(f)
    path = trace.to_html(tmp_path / "steps.html")
    page = browser.new_page()
    page.goto(path.as_uri())

    def shown() -> tuple[str, str, str]:
        visible = page.locator(".frame:not([hidden])")
        assert visible.count() == 1
        return (
            page.inner_text("#panel"),
            page.input_value("#slider"),
            visible.get_attribute("data-step"),
        )

    assert shown() == (trace.text(0), "0", "0")
    page.click("#next")
    assert shown() == (trace.text(1), "1", "1")
    page.click("#next")
    page.click("#prev")
    assert shown()[1:] == ("1", "1")
    page.locator("#slider").fill("3")
    assert shown() == (trace.text(3), "3", "3")
    page.keyboard.press("ArrowRight")
    assert shown() == (trace.text(4), "4", "4")
    page.keyboard.press("ArrowRight")  # stays on the last step
    assert shown()[1] == "4"
    page.keyboard.press("ArrowLeft")
    assert shown() == (trace.text(3), "3", "3")
    assert "+= -4" in page.locator(".frame[data-step='2']").inner_html()
    page.close()


def test_widget_moves_through_the_steps() -> None:
    pytest.importorskip("ipywidgets")
    f, _ = chain_rule()
    trace = trace_backward(f)
    view = trace.widget()
    controls, panel, picture = view.children
    previous, slider, following = controls.children
    assert slider.max == 4 and "Step 1 of 5" in panel.value and "<svg" in picture.value
    following.click()
    assert slider.value == 1 and "Step 2 of 5" in panel.value
    slider.value = 4
    following.click()
    assert slider.value == 4 and "Step 5 of 5" in panel.value
    previous.click()
    assert "Step 4 of 5" in panel.value


# ---- plots -------------------------------------------------------------------------------------


def test_plot_history_writes_a_png(tmp_path: Path) -> None:
    history = {
        "loss": [1.0, 0.5, 0.2],
        "accuracy": [0.5, 0.8, 1.0],
        "val_loss": [1.1, 0.7, 0.4],
        "val_accuracy": [0.4, 0.7, 0.9],
    }
    figure = plot_history(history, tmp_path / "history.png")
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
    assert len(figure.axes[0].lines) == 2 and len(figure.axes[1].lines) == 2
    assert (tmp_path / "history.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="loss"):
        plot_history({})


@pytest.mark.parametrize("batched", [False, True])
def test_decision_boundary_for_both_paths(tmp_path: Path, batched: bool) -> None:
    X, y = nn.data.make_moons(40, noise=0.1, seed=0)
    scalar = nn.MLP(2, [8, 1], seed=0)
    model = nn.batch.MLP.from_scalar(scalar) if batched else scalar
    figure = plot_decision_boundary(model, X, y * 2 - 1, tmp_path / "boundary.png", resolution=30)
    assert figure.axes[0].get_title() == "decision boundary"
    assert (tmp_path / "boundary.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"2-D points, got X of shape \(40, 3\)"):
        plot_decision_boundary(model, np.ones((40, 3)), y)
