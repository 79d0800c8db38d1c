"""The page `Live.save` writes, opened in Debian's chromium from a file with no kernel and no
network: it shows the run's first frame, plays through the frames (the step, the loss curve,
the boundary and the traced graph change), pauses, and opens any frame from the slider or from
`#frame=K`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import chromium, file_page

import nn
from nn.data import make_moons
from visualize.training_view import Live


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Live]:
    X, y = make_moons(100, noise=0.1)
    model = nn.MLP(2, [16, 16, 1])

    def loss(outputs: Any, targets: Any) -> Any:
        return nn.binary_hinge(outputs, targets) + nn.l2(model.parameters(), 1e-4)

    run = Live(model, X, y * 2 - 1, loss, nn.SGD(model.parameters(), lr=0.05))
    run.step(12)
    run.trace(40)
    run.add_point([1.0, 1.2], 1)
    run.step(6)
    path = run.save(tmp_path_factory.mktemp("replay") / "run.html")
    return path, run


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright, chromium(playwright) as launched:
        yield launched


def shown(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate("""() => {
        const view = document.querySelector("[data-agc-live]");
        return {
            frame: Number(document.getElementById("live").dataset.frame),
            step: Number(view.dataset.step), traced: Number(view.dataset.traced),
            points: view.querySelectorAll("circle.agl-point").length,
            curve: view.querySelector("path.agl-loss").getAttribute("d"),
            boundary: view.querySelector("canvas.agl-boundary").toDataURL(),
            sizes: [...view.querySelectorAll(".agl-graph g.box")].map((g) => g.dataset.size),
            counter: document.querySelector(".agl-player").innerText,
        };
    }""")
    )


def test_the_replay_opens_with_no_kernel_and_plays(saved: tuple[Path, Live], browser: Any) -> None:
    path, run = saved
    page = file_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_selector("[data-agc-live]")
    first = shown(page)
    assert first["frame"] == 0 and first["step"] == 0 and first["traced"] == 0
    assert first["points"] == 100 and "frame 1 of 21" in first["counter"]
    assert page.locator("[data-agc-live] .agl-bar button").count() == 0  # no kernel to ask
    page.locator(".agl-player button", has_text="play").click()
    page.wait_for_function("document.getElementById('live').dataset.frame === '20'", timeout=20_000)
    last = shown(page)
    assert last["step"] == run.history[-1]["step"] == 18
    assert last["traced"] == 40 and last["points"] == 101
    assert last["curve"] != first["curve"] and last["boundary"] != first["boundary"]
    assert last["sizes"] != first["sizes"]
    assert "play" in page.locator(".agl-player button").inner_text()  # stopped at the end
    assert errors == []
    page.close()


def test_pause_holds_the_frame_and_the_slider_and_address_pick_one(
    saved: tuple[Path, Live], browser: Any
) -> None:
    path, run = saved
    page = file_page(browser)
    page.goto(path.as_uri() + "#frame=5")
    page.wait_for_selector("[data-agc-live]")
    assert shown(page)["frame"] == 4 and shown(page)["step"] == 4
    button = page.locator(".agl-player button")
    button.click()
    page.wait_for_function("Number(document.getElementById('live').dataset.frame) >= 7")
    button.click()  # pause
    held = shown(page)["frame"]
    page.wait_for_timeout(600)
    assert shown(page)["frame"] == held
    page.locator(".agl-player input[type=range]").fill("13")
    frame = shown(page)
    assert frame["frame"] == 13 and frame["traced"] == 40 and frame["step"] == 12
    step_text = page.locator("[data-agc-live] .agl-status").inner_text()
    assert f"loss {run.history[13]['loss']:.3g}" in step_text
    page.close()
