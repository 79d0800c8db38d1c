"""The step-through v3: the data its ES module gets, the page, the widget, and what a student does
with them in a real browser (Debian's chromium through Playwright): stepping by keys and by
address (`#step=K`), the view following the active node on every step of an MLP sample, the
page never scrolling its parent, and predicting each step before it is shown."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import chromium, file_page

import nn
from autograd_core import Tensor, Value
from visualize import trace_backward
from visualize.frontend import MODULE_PATH, module_text


def chain_rule() -> Value:
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f


def mlp_sample() -> tuple[Value, nn.MLP]:
    np.random.seed(0)
    model = nn.MLP(2, [16, 16, 1])
    out = model([0.5, -1.2])
    out.label = "out"
    return out, model


def page_json(page: str) -> dict[str, Any]:
    """The step-through's data as a page carries it (JSON in a script element)."""
    found = re.search(r'<script type="application/json" id="[^"]*">(.*?)</script>', page, re.S)
    assert found, page[:300]
    return json.loads(found.group(1))


# ---- the data and the page, without a browser -------------------------------------------------


def test_page_data_has_one_entry_per_step_with_what_each_input_receives() -> None:
    trace = trace_backward(chain_rule())
    data = trace.page_data()
    assert len(data["steps"]) == len(data["texts"]) == len(data["totals"]) == len(trace) == 3
    seed, mul, add = data["steps"]
    assert seed["seed"] and seed["inputs"] == [] and seed["ask"] == []
    assert mul["name"] == "f" and mul["upstream"] == "1"
    assert [(i["name"], i["value"], i["gate"], i["symbol"]) for i in mul["inputs"]] == [
        ("q", -4.0, "mul", "z"),
        ("z", 3.0, "mul", "q"),
    ]
    assert mul["ask"] == [0, 1] and mul["inputs"][0]["label"] == "+= -4"
    assert [i["name"] for i in add["inputs"]] == ["x", "y"] and add["inputs"][0]["gate"] == "add"
    # the heading is what a student predicts from: the node's formula, its meaning, its upstream
    assert data["texts"][1].split("\n")[: mul["heading"]] == [
        "Step 2 of 3: f = q * z",
        "  (mul: each input gets the upstream gradient times the other input)",
        "df/df = 1",
    ]
    assert data["svg"].startswith("<svg") and data["never"] == []


def test_inputs_that_receive_no_gradient_say_so() -> None:
    """A Tensor that needs no gradient (the data) is never reached: the page says "none", not
    "grad ?" for ever."""
    X = Tensor(np.array([[1.0, 2.0]]), label="X")
    W = Tensor(np.array([[0.5], [-1.0]]), requires_grad=True, label="W")
    out = (X @ W).sum()
    data = trace_backward(out).page_data()
    ids = {name: f"v{i}" for i, name in enumerate(trace_backward(out).picture.names)}
    assert data["never"] == [ids["X"]]
    assert all(i["value"] is None for step in data["steps"] for i in step["inputs"])  # arrays


def test_an_output_named_like_a_derivative_reads_well_in_derived_names() -> None:
    x = Value(2.0, label="x")
    g = x * x
    g.label = "df/dx"
    text = "\n".join(trace_backward(g).texts())
    assert "d(df/dx)/dx += " in text and "ddf/dx" not in text
    assert trace_backward(g).page_data()["rootName"] == "(df/dx)"


def test_the_page_is_self_contained_and_carries_the_module_once(tmp_path: Path) -> None:
    trace = trace_backward(chain_rule())
    page = trace.to_html(tmp_path / "steps.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<title>Backward pass of f</title>" in page
    assert page.count(module_text()) == 1 and "mount(el, data, {hash: true" in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # no network resources
    assert "<script src" not in page and "<link" not in page and "import " not in page
    assert page_json(page) == json.loads(json.dumps(trace.page_data()))
    assert MODULE_PATH.name == "stepthrough.js" and "export default { render }" in module_text()


def test_hostile_labels_cannot_close_the_script() -> None:
    a = Value(1.0, "</script><script>document.title='x'</script>")
    b = Value(2.0, "<!--<script>")
    page = trace_backward(a * b + a).html()
    assert page.count("<script") == 2 and page.count("</script>") == 2  # the data, the module
    assert "<!--" not in page


def test_the_mlp_sample_steps_module_by_module_on_a_small_page() -> None:
    """404 values, more than draw_graph's 300: the page carries the collapsed picture as an
    overview and each module's own picture, and each step says which module holds its node."""
    out, model = mlp_sample()
    trace = trace_backward(out, parameters=model)
    page = trace.html()
    assert len(page.encode()) < 3 * 2**20
    data = page_json(page)
    modules = data["modules"]
    assert page.count("\\u003csvg") == 1 + len(modules)  # each picture once
    assert {"L0", "L1", "L2", "out"} <= {m["title"] for m in modules}
    assert 'id="b0"' in data["svg"] and all(m["svg"].startswith("<svg") for m in modules)
    placed = [step for step in data["steps"] if step["module"] >= 0]
    assert len(placed) > len(data["steps"]) / 2
    for step in placed:  # its node is drawn in the picture of its module
        assert f'id="{step["node"]}"' in modules[step["module"]]["svg"]
    small = trace_backward(chain_rule()).page_data()
    assert small["modules"] == [] and {s["module"] for s in small["steps"]} == {-1}


# ---- the widget (anywidget), from Python -----------------------------------------------------


def test_the_widget_syncs_its_step_and_refuses_one_out_of_range() -> None:
    pytest.importorskip("anywidget")
    import traitlets

    trace = trace_backward(chain_rule())
    widget = trace.widget()
    assert widget.step == 0 and widget.predict is False and widget.answers == []
    assert widget.data == trace.page_data() and "export default { render }" in widget._esm
    widget.step = 2
    assert widget.step == 2
    with pytest.raises(traitlets.TraitError, match="step 3 of a trace with 3 steps"):
        widget.step = 3
    assert trace.widget(predict=True, step=1).step == 1


def test_the_widget_bundle_shows_the_page_where_no_kernel_runs() -> None:
    pytest.importorskip("anywidget")
    widget = trace_backward(chain_rule()).widget(predict=True)
    data, _ = widget._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    html = data["text/html"]
    assert module_text() in html and 'mount(el, data, {hash: "read", predict: true})' in html
    assert trace_backward(chain_rule())._repr_html_().count(module_text()) == 1


def test_the_widget_scores_what_the_page_recorded() -> None:
    pytest.importorskip("anywidget")
    widget = trace_backward(chain_rule()).widget(predict=True)
    assert widget.score == (0, 4)  # two inputs at each of two steps
    widget.answers = [
        {"step": 1, "node": "f", "input": "q", "position": 0, "given": 3, "correct": False},
        {"step": 1, "node": "f", "input": "q", "position": 0, "given": -4, "correct": True},
        {"step": 1, "node": "f", "input": "z", "position": 1, "given": 3, "correct": True},
    ]
    assert widget.score == (2, 4)


# ---- in a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p, chromium(p) as launched:
        yield launched


def open_page(browser: Any, url: str) -> tuple[Any, list[str]]:
    page = file_page(browser)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("[data-agc-stepthrough]")
    return page, errors


def settled(page: Any) -> None:
    """Wait for the view to finish moving to the step's node."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.agc-view')].every(v => v.dataset.moving !== '1')"
    )


def step_shown(page: Any) -> int:
    return int(page.get_attribute("[data-agc-stepthrough]", "data-step"))


ACTIVE_BOX = """() => {
    const main = document.querySelector('.agc-view.agc-main:not([hidden])');
    const view = main.getBoundingClientRect();
    const current = main.querySelector('g.agc-current');
    if (!current) return null;  // a node its module's picture does not draw
    const node = current.getBoundingClientRect();
    const texts = [...current.querySelectorAll('text')];
    return {
        inside: node.left >= view.left - 1 && node.right <= view.right + 1
            && node.top >= view.top - 1 && node.bottom <= view.bottom + 1,
        smallest: Math.min(...texts.map((t) => t.getBoundingClientRect().height)),
        node: [node.left, node.top, node.right, node.bottom],
        view: [view.left, view.top, view.right, view.bottom],
    };
}"""


def test_stepping_by_keys_shows_each_step_and_the_gradients_known_so_far(
    tmp_path: Path, browser: Any
) -> None:
    x = Value(3.0, "x")
    out = x * x + x
    trace = trace_backward(out)
    page, errors = open_page(browser, trace.to_html(tmp_path / "steps.html").as_uri())
    x_id = f"v{trace.picture.index[id(x)]}"

    def panel() -> str:
        return page.inner_text(".agc-side pre")

    def grad_of(node_id: str) -> str:
        return page.locator(f"g#{node_id} text.agc-grad").text_content()

    assert step_shown(page) == 0 and panel() == trace.text(0) and grad_of(x_id) == "grad ?"
    assert page.inner_text(".agc-counter") == "step 1 of 3"
    page.focus("[data-agc-stepthrough]")
    page.keyboard.press("ArrowRight")
    assert step_shown(page) == 1 and panel() == trace.text(1) and grad_of(x_id) == "grad 1"
    page.keyboard.press("End")
    assert panel() == trace.text(2) and grad_of(x_id) == "grad 7"
    assert page.input_value("input[type=range]") == "3"  # the slider counts as the text does
    assert page.locator("g.edge.agc-flow").count() == 3  # the op's edge and two edges into x
    labels = page.eval_on_selector_all(".agc-flow-label", "els => els.map(e => e.textContent)")
    assert sorted(labels) == ["+= 3", "+= 3"]
    assert page.get_attribute("g.value.agc-current", "id") == f"v{len(trace.picture) - 2}"
    page.keyboard.press("ArrowRight")  # stays on the last step
    assert step_shown(page) == 2
    page.keyboard.press("Home")
    assert step_shown(page) == 0 and grad_of(x_id) == "grad ?"
    page.click("text=next")
    page.click("text=previous")
    assert step_shown(page) == 0
    assert page.evaluate("location.hash") == "#step=1"  # each step has an address
    assert errors == []
    page.close()


def test_the_address_opens_a_step_and_the_view_follows_every_step_of_an_mlp_sample(
    tmp_path: Path, browser: Any
) -> None:
    out, model = mlp_sample()
    trace = trace_backward(out, parameters=model)
    path = trace.to_html(tmp_path / "mlp.html")
    page, errors = open_page(browser, path.as_uri() + "#step=42")
    assert step_shown(page) == 41
    assert page.inner_text(".agc-counter") == f"step 42 of {len(trace)}"
    page.focus("[data-agc-stepthrough]")
    page.keyboard.press("Home")
    modules = {step["module"]: step for step in trace.page_data()["steps"]}
    outside, seen = [], 0
    for k in range(len(trace)):
        settled(page)
        box = page.evaluate(ACTIVE_BOX)
        assert step_shown(page) == k
        if box is not None:
            seen += 1
            if not box["inside"] or box["smallest"] < 9:
                outside.append((k, box))
        page.keyboard.press("ArrowRight")
    assert outside == []  # the active node, legible, inside the view at every step it is drawn
    assert seen >= len(trace) // 2 and len(modules) >= 4  # most steps, in several modules
    titles = [m["title"] for m in trace.page_data()["modules"]]
    assert page.get_attribute("[data-agc-stepthrough]", "data-module") == "L0"  # the last step
    page.click(f".agc-overview g#b{titles.index('L1')} polygon >> nth=0", force=True)
    assert page.get_attribute("[data-agc-stepthrough]", "data-module") == "L1"  # opened there
    panel = page.locator(".agc-side").bounding_box()
    view = page.locator(".agc-view.agc-main:not([hidden])").bounding_box()
    assert panel["height"] <= view["height"] + 1  # the panel scrolls on its own
    assert page.evaluate("window.scrollY") == 0
    page.evaluate("location.hash = '#step=3'")
    page.wait_for_function(
        "() => document.querySelector('[data-agc-stepthrough]').dataset.step === '2'"
    )
    assert errors == []
    page.close()


def test_the_page_never_scrolls_the_page_it_is_in(tmp_path: Path, browser: Any) -> None:
    """Opened in a frame low on a long page, stepping moves the picture inside its own view and
    leaves the page where the reader put it."""
    out, model = mlp_sample()
    trace_backward(out, parameters=model).to_html(tmp_path / "mlp.html")
    (tmp_path / "lesson.html").write_text(
        '<!DOCTYPE html><html><body><div style="height: 2400px">text</div>'
        '<iframe src="mlp.html#step=30" style="width: 1100px; height: 800px"></iframe>'
        '<div style="height: 2400px">more text</div></body></html>'
    )
    page = file_page(browser)
    page.goto((tmp_path / "lesson.html").as_uri())
    frame = page.frame_locator("iframe")
    frame.locator("[data-agc-stepthrough]").wait_for()
    assert page.evaluate("window.scrollY") == 0  # opening it moved nothing
    page.evaluate("window.scrollTo(0, 1200)")  # the frame half in view
    widget = frame.locator("[data-agc-stepthrough]")
    widget.evaluate("el => el.focus({preventScroll: true})")
    for _ in range(6):  # clicked and keyed as a reader does, without the test scrolling to it
        frame.locator("text=next").dispatch_event("click")
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    assert widget.get_attribute("data-step") == str(29 + 12)
    assert page.evaluate("window.scrollY") == 1200
    page.close()


def test_predict_mode_asks_checks_hints_and_reveals(tmp_path: Path, browser: Any) -> None:
    trace = trace_backward(chain_rule())
    page, errors = open_page(browser, trace.to_html(tmp_path / "steps.html").as_uri() + "?predict")
    page.click("text=next")
    side = page.inner_text(".agc-side")
    assert "predict: what does each input receive from f?" in side
    assert "df/dq += 1 * -4" not in side and "local gradient" not in side  # nothing given away
    grads = page.eval_on_selector_all("text.agc-grad", "els => els.map(e => e.textContent)")
    assert grads.count("grad ?") == 4  # q and z wait for the answer
    labels = page.eval_on_selector_all(".agc-flow-label", "els => els.map(e => e.textContent)")
    assert labels == ["+= ?", "+= ?"]
    page.fill("input[data-input=q]", "3")  # wrong: q receives z's value, -4
    page.fill("input[data-input=z]", "3.0004")  # right within 0.1%
    page.click("text=check")
    side = page.inner_text(".agc-side")
    assert "a mul gate swaps: what is the *other* input?" in side
    assert "score: 1 of 4 right" in side
    page.fill("input[data-input=q]", "-4")
    page.press("input[data-input=q]", "Enter")
    side = page.inner_text(".agc-side")
    assert "df/dq += 1 * -4 = -4" in side and "score: 2 of 4 right" in side
    page.click("text=next")
    page.click("text=skip")  # the add step: skipped, so its answers are shown
    assert step_shown(page) == 2 and "df/dx += df/dq * dq/dx = -4 * 1 = -4" in page.inner_text(
        ".agc-side"
    )
    assert errors == []
    page.close()


def test_a_hostile_page_runs_no_script_and_still_works(tmp_path: Path, browser: Any) -> None:
    a = Value(1.0, "</script><script>document.title='x'</script>")
    b = Value(2.0, "<!--<script>")
    out = a * b + a
    out.label = "<b>out</b>"
    trace = trace_backward(out)
    path = trace.to_html(tmp_path / "hostile.html", title="<i>t</i>")
    page, errors = open_page(browser, path.as_uri())
    assert page.title() == "<i>t</i>"  # the script in the label did not run
    page.click("text=next")
    page.click("text=next")
    assert page.inner_text(".agc-side pre") == trace.text(2)
    assert a.label in page.inner_text(".agc-side")
    assert errors == []
    page.close()


def test_the_paths_control_sums_every_path_to_a_value(tmp_path: Path, browser: Any) -> None:
    """Paths mode: click a value and the panel lists every path from the output to it with its
    product of local gradients; their sum is the value's gradient (x * x + x at x = 3: two paths
    through the product, one straight to the sum; 3 + 3 + 1 = 7)."""
    x = Value(3.0, "x")
    out = x * x + x
    trace = trace_backward(out)
    page, errors = open_page(browser, trace.to_html(tmp_path / "paths.html").as_uri())
    index = {name: i for i, name in enumerate(trace.picture.names)}
    page.click("text=paths to")
    page.click(f"g#v{index['n1']} polygon >> nth=0", force=True)  # not the value shown first
    assert page.inner_text("[data-agc-paths]").splitlines() == [
        "The 1 path from out to n1: each the product of the local gradients along it",
        "out <- n1: 1 = 1",
        "sum over 1 path = 1 = dout/dn1",
    ]
    page.click(f"g#v{index['x']} polygon >> nth=0", force=True)
    text = page.inner_text("[data-agc-paths]")
    assert text.splitlines()[0] == (
        "The 3 paths from out to x: each the product of the local gradients along it"
    )
    assert "out <- n1 <- x (input 1 of n1): 1 * 3 = 3" in text
    assert "out <- n1 <- x (input 2 of n1): 1 * 3 = 3" in text and "out <- x: 1 = 1" in text
    assert text.splitlines()[-1] == "sum over 3 paths = 7 = dout/dx" and x.grad == 7.0
    assert page.locator("g.edge.agc-flow").count() == 6  # into and out of both ops
    page.keyboard.press("Escape")
    assert page.locator("[data-agc-paths]").count() == 0
    assert errors == []
    page.close()


def test_an_input_used_twice_is_asked_twice_and_scored_apart(tmp_path: Path, browser: Any) -> None:
    x = Value(3.0, "x")
    out = x * x
    trace = trace_backward(out)
    page, errors = open_page(browser, trace.to_html(tmp_path / "twice.html").as_uri() + "?predict")
    page.click("text=next")
    page.fill("input[data-position='0']", "3")
    page.fill("input[data-position='1']", "4")  # wrong: each use receives the other factor, 3
    page.click("text=check")
    side = page.inner_text(".agc-side")
    assert "score: 1 of 2 right" in side and "not yet" in side  # the step waits for the second
    page.fill("input[data-position='1']", "seven")
    page.click("text=check")
    assert "not a number" in page.inner_text(".agc-side")  # said, not scored
    page.fill("input[data-position='1']", "3")
    page.click("text=check")
    assert "score: 2 of 2 right" in page.inner_text(".agc-side")
    assert errors == []
    page.close()


def test_moving_on_past_an_unanswered_step_skips_it(tmp_path: Path, browser: Any) -> None:
    """The next step would tell the answers (its node's gradient is one of them): leaving a
    step unanswered gives it up, and nothing of it shows before that."""
    trace = trace_backward(chain_rule())
    page, errors = open_page(browser, trace.to_html(tmp_path / "steps.html").as_uri() + "?predict")
    page.click("text=next")
    grads = page.eval_on_selector_all("text.agc-grad", "els => els.map(e => e.textContent)")
    assert grads.count("grad ?") == 4
    page.click("text=next")  # on to the add step without answering the mul step
    page.click("text=previous")
    side = page.inner_text(".agc-side")
    assert "the answers:" in side and "score: 0 of 4 right" in side
    assert errors == []
    page.close()


def test_a_page_with_an_infinite_value_still_opens(tmp_path: Path, browser: Any) -> None:
    a = Value(1e308, "a")
    out = (a * 10) * a  # inf: nothing to ask there, and JSON has no Infinity
    trace = trace_backward(out)
    page_json(trace.html())  # valid JSON
    page, errors = open_page(browser, trace.to_html(tmp_path / "inf.html").as_uri() + "?predict")
    page.click("text=next")
    assert page.locator("[data-agc-stepthrough]").get_attribute("data-step") == "1"
    assert errors == []
    page.close()


@pytest.mark.parametrize("terms", [80, 300, 500])
def test_a_tangled_or_large_graph_steps_module_by_module_and_never_hands_dot_too_much(
    terms: int,
) -> None:
    """x + x + ... + x: one value used by every op, far apart, is what takes dot minutes. With
    80 terms (fewer values than draw_graph collapses at, but too tangled to lay out whole) and
    with 300 and 500 (the fan-ins that once crashed dot) the page steps module by module, and
    no picture over the cost limit reaches dot."""
    from visualize.graph import MAX_LAYOUT_COST, layout_cost

    x = Value(0.5, "x")
    out = x
    for _ in range(terms - 1):
        out = out + x
    laid_out: list[int] = []

    def render(graph: Any) -> str:
        laid_out.append(layout_cost(graph))
        return graph.pipe(format="svg", quiet=True).decode()

    data = trace_backward(out).page_data(render)
    assert data["modules"] and max(laid_out) <= MAX_LAYOUT_COST
    assert all(step["module"] < len(data["modules"]) for step in data["steps"])
    assert sum(step["module"] >= 0 for step in data["steps"]) >= 4  # steps shown in a module
