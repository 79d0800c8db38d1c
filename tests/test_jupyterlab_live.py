"""The live training view in a real JupyterLab (a server of the test's own on 127.0.0.1, Debian's
chromium): micrograd's demo on the moons shown by `visualize.live`, played (the loss curve and
the boundary redraw), paused (no update after), a point added and a point traced by clicking
the plane (the kernel's run changes, and the traced graph with it), and one step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser import (
    chromium,
    error_outputs,
    jupyterlab,
    kernel_print,
    new_page,
    open_notebook,
    run_all,
)

CELLS = [
    "import nn\nimport visualize\nfrom nn.data import make_moons",
    "X, y = make_moons(100, noise=0.1)\n"
    "model = nn.MLP(2, [16, 16, 1])\n"
    "def loss(outputs, targets):\n"
    "    return nn.binary_hinge(outputs, targets) + nn.l2(model.parameters(), 1e-4)\n"
    "live = visualize.live(model, X, y * 2 - 1, loss, nn.SGD(model.parameters(), lr=0.05))\n"
    "live",
]
VIEW = ".jp-OutputArea-output [data-agc-live]"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The notebook open in JupyterLab, run, its live view drawn by anywidget."""
    sync_api = pytest.importorskip("playwright.sync_api")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("jupyterlab", reason="the dev extra is not installed")
    pytest.importorskip("anywidget", reason="the notebooks extra is not installed")
    root = tmp_path_factory.mktemp("lab")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, str(root / "live.ipynb"))
    with (
        sync_api.sync_playwright() as playwright,
        chromium(playwright) as browser,
        jupyterlab(root) as server,
    ):
        page = new_page(browser)
        open_notebook(page, *server, "live.ipynb")
        run_all(page, timeout=300)
        page.wait_for_selector(VIEW, timeout=60_000)
        yield page
        page.close()


def state(page: Any) -> dict[str, Any]:
    """What the view shows: its data attributes, the loss curve's path, the boundary's pixels,
    the traced graph's box sizes."""
    return dict(
        page.evaluate(
            """(selector) => {
        const view = document.querySelector(selector);
        return {
            updates: Number(view.dataset.updates), step: Number(view.dataset.step),
            traced: Number(view.dataset.traced), points: Number(view.dataset.points),
            pending: Number(view.dataset.pending || 0),
            curve: view.querySelector("path.agl-loss").getAttribute("d"),
            boundary: view.querySelector("canvas.agl-boundary").toDataURL(),
            sizes: [...view.querySelectorAll(".agl-graph g.box")].map((g) => g.dataset.size),
        };
    }""",
            VIEW,
        )
    )


def wait_until(page: Any, condition: str, timeout: float = 30.0) -> None:
    page.wait_for_function(
        f"(selector) => {{ const view = document.querySelector(selector); return {condition}; }}",
        arg=VIEW,
        timeout=timeout * 1000,
    )


def plane_in_view(page: Any) -> None:
    """Scroll the notebook until the boundary's plane is in the window (a mouse clicks only
    what is on the screen)."""
    page.locator(f"{VIEW} svg.agl-points").scroll_into_view_if_needed()


def click_plane(page: Any, fx: float, fy: float) -> None:
    """Click the boundary's plane at a fraction (fx, fy) of its width and height."""
    plane_in_view(page)
    box = page.locator(f"{VIEW} svg.agl-points").bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def test_the_view_is_drawn_by_the_widget(lab: Any) -> None:
    assert error_outputs(lab) == []
    view = lab.locator(VIEW)
    assert view.count() == 1
    shown = state(lab)
    assert shown["step"] == 0 and shown["points"] == 100 and shown["traced"] == 0
    assert lab.locator(f"{VIEW} circle.agl-point").count() == 100
    assert lab.locator(f"{VIEW} .agl-graph g.box").count() >= 4  # inputs, L0, L1, L2, loss
    assert lab.locator(f"{VIEW} table.agl-layers tr").count() == 4  # a header and three layers


def test_play_redraws_the_curve_and_the_boundary_and_pause_stops_it(lab: Any) -> None:
    before = state(lab)
    lab.locator(VIEW).locator("button", has_text="play").click()
    wait_until(lab, f"Number(view.dataset.step) >= {before['step'] + 5}")
    playing = state(lab)
    assert playing["curve"] != before["curve"]
    assert playing["boundary"] != before["boundary"]
    lab.locator(VIEW).locator("button", has_text="pause").click()
    wait_until(lab, "Number(view.dataset.pending || 0) === 0")  # the step in flight arrives
    paused = state(lab)
    lab.wait_for_timeout(1000)
    after = state(lab)
    assert after["updates"] == paused["updates"] and after["step"] == paused["step"]
    assert kernel_print(lab, "print(live.history[-1]['step'])") == str(after["step"])


def test_clicking_empty_space_adds_a_point_of_the_chosen_class(lab: Any) -> None:
    lab.locator(f"{VIEW} label.agl-class").nth(1).locator("input").check()  # class "1"
    click_plane(lab, 0.03, 0.03)  # the top-left corner: no point of the moons there
    wait_until(lab, "Number(view.dataset.points) === 101")
    assert kernel_print(lab, "print(len(live.X), live.y[-1], live.X[-1, 0] < X[:, 0].min())") == (
        "101 1 True"
    )
    assert lab.locator(f"{VIEW} circle.agl-point").count() == 101


def test_clicking_a_point_traces_it_and_the_graph_changes(lab: Any) -> None:
    before = state(lab)
    plane_in_view(lab)
    target = lab.locator(f'{VIEW} circle.agl-point[data-index="37"]').bounding_box()
    lab.mouse.click(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2)
    wait_until(lab, "Number(view.dataset.traced) === 37")
    after = state(lab)
    assert after["sizes"] != before["sizes"]
    assert after["step"] == before["step"]  # tracing trains nothing
    assert kernel_print(lab, "print(live.traced, live.history[-1]['graph']['traced'])") == "37 37"
    assert "#37" in lab.locator(f"{VIEW} .agl-panel h3", has_text="traced").inner_text()


def test_shift_click_removes_a_point(lab: Any) -> None:
    plane_in_view(lab)
    target = lab.locator(f'{VIEW} circle.agl-point[data-index="100"]').bounding_box()
    lab.keyboard.down("Shift")
    lab.mouse.click(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2)
    lab.keyboard.up("Shift")
    wait_until(lab, "Number(view.dataset.points) === 100")
    assert kernel_print(lab, "print(len(live.X))") == "100"


def test_step_trains_exactly_one_step(lab: Any) -> None:
    before = state(lab)
    lab.locator(VIEW).locator("button", has_text="step").click()
    wait_until(lab, f"Number(view.dataset.step) === {before['step'] + 1}")
    lab.wait_for_timeout(500)
    assert state(lab)["step"] == before["step"] + 1
    assert kernel_print(lab, "print(live.optimizer.steps)") == str(before["step"] + 1)


def test_a_step_from_python_shows_in_the_view(lab: Any) -> None:
    before = state(lab)
    kernel_print(lab, "live.step(3)")
    wait_until(lab, f"Number(view.dataset.step) === {before['step'] + 3}")


def test_a_layers_box_opens_into_its_units(lab: Any) -> None:
    lab.locator(f"{VIEW} .agl-graph g.box", has_text="L1").click()
    units = lab.locator(f"{VIEW} .agl-units span")
    assert units.count() == 16
    assert "L1: 16 units" in lab.locator(VIEW).inner_text()
    box = kernel_print(lab, "print(live.setup()['graph']['layers'].index('layers.1'))")
    first = float(kernel_print(lab, f"print(live.history[-1]['graph']['units']['b{box}'][0])"))
    label, shown = units.nth(0).get_attribute("title").split(": ")
    assert label == "unit 0" and float(shown) == pytest.approx(first, rel=5e-3)  # 3 digits
    lab.locator(f"{VIEW} .agl-graph g.box", has_text="L1").click()  # and closes again
    assert units.count() == 0


def test_the_learning_rate_control_and_reset(lab: Any) -> None:
    slider = lab.locator(f"{VIEW} input[type=range]")
    slider.fill("-1")  # log10 of the rate: 0.1
    slider.dispatch_event("change")
    for _ in range(100):
        if kernel_print(lab, "print(live.optimizer.lr)") == "0.1":
            break
        lab.wait_for_timeout(100)
    assert kernel_print(lab, "print(live.optimizer.lr)") == "0.1"
    assert lab.locator(f"{VIEW} .agl-lr").inner_text() == "0.1"
    lab.locator(VIEW).locator("button", has_text="reset").click()
    wait_until(lab, "Number(view.dataset.step) === 0")
    assert (
        kernel_print(
            lab, "print(live.optimizer.steps, live.history[-1]['loss'] == live.history[0]['loss'])"
        )
        == "0 True"
    )
