"""The step-through widget in a real JupyterLab (a server of the test's own on 127.0.0.1, Debian's
chromium): lesson 01 run from the top, its two step-throughs drawn by anywidget, stepped with the
keyboard, a predict step answered wrong (the hint appears) and then right, and what the student
typed read back from the kernel (`quiz.answers`); the step synced both ways."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
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

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Lesson 01 open in JupyterLab, every cell run."""
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab", reason="the dev extra is not installed")
    pytest.importorskip("anywidget", reason="the notebooks extra is not installed")
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / "01_chain_rule.ipynb", root / "01_chain_rule.ipynb")
    with (
        sync_api.sync_playwright() as playwright,
        chromium(playwright) as browser,
        jupyterlab(root) as server,
    ):
        page = new_page(browser)
        open_notebook(page, *server, "01_chain_rule.ipynb")
        run_all(page, timeout=600)
        page.wait_for_function(
            "document.querySelectorAll('.jp-OutputArea-output [data-agc-stepthrough]').length == 2",
            timeout=60_000,
        )
        yield page
        page.close()


def kernel_sees_step(page: Any, step: int) -> None:
    """Wait (a bounded while) until the kernel's `quiz.step` is `step`: the page's changes
    reach it in order, but not at once."""
    for _ in range(100):
        if kernel_print(page, "print(quiz.step)").strip() == str(step):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the kernel never saw step {step}")


def test_the_lesson_runs_and_shows_both_step_throughs_as_widgets(lesson: Any) -> None:
    assert error_outputs(lesson) == []
    widgets = lesson.locator(".jp-OutputArea-output [data-agc-stepthrough]")
    assert widgets.count() == 2
    for k in range(2):
        widget = widgets.nth(k)
        assert widget.locator("svg g.value").count() == 5
        assert widget.get_attribute("data-step") == "0"
        # drawn by the widget manager (the kernel's view), not by the inlined fallback: the
        # output is no HTML output and carries no module script
        output = widget.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')]")
        assert output.get_attribute("data-mime-type") != "text/html"
        assert output.locator("script").count() == 0


def test_a_wrong_prediction_gets_a_hint_and_the_answers_reach_python(lesson: Any) -> None:
    quiz = lesson.locator(".jp-OutputArea-output [data-agc-stepthrough]").nth(1)
    kernel_print(lesson, "quiz.step = 1")  # (the tests before left it at 0)
    lesson.wait_for_function(
        "el => el.dataset.step === '1'", arg=quiz.element_handle(), timeout=10_000
    )
    assert "predict: what does each input receive from f?" in quiz.inner_text()
    quiz.locator("input[data-input=q]").fill("3")  # wrong: q receives z's value, -4
    quiz.locator("input[data-input=z]").fill("3")
    quiz.locator("button", has_text="check").click()
    assert "a mul gate swaps: what is the *other* input?" in quiz.inner_text()
    quiz.locator("input[data-input=q]").fill("-4")
    quiz.locator("input[data-input=q]").press("Enter")
    assert "score: 2 of 4 right" in quiz.inner_text()
    for _ in range(100):  # the answers reach the kernel
        if kernel_print(lesson, "print(len(quiz.answers))").strip() == "3":
            break
        lesson.wait_for_timeout(100)
    printed = kernel_print(
        lesson, "import json; print(json.dumps({'answers': quiz.answers, 'score': quiz.score}))"
    )
    got = json.loads(printed)
    assert got["score"] == [2, 4]
    assert [(a["input"], a["given"], a["correct"]) for a in got["answers"]] == [
        ("q", 3, False),
        ("z", 3, True),
        ("q", -4, True),
    ]
    assert all(a["step"] == 1 and a["node"] == "f" for a in got["answers"])
    assert [a["expected"] for a in got["answers"]] == [-4, 3, -4]


def test_keyboard_steps_and_the_step_syncs_both_ways(lesson: Any) -> None:
    """(After the predictions: moving on past an unanswered step would skip it.)"""
    kernel_print(lesson, "quiz.step = 0")
    quiz = lesson.locator(".jp-OutputArea-output [data-agc-stepthrough]").nth(1)
    lesson.wait_for_function(
        "el => el.dataset.step === '0'", arg=quiz.element_handle(), timeout=10_000
    )
    quiz.evaluate("el => el.focus({preventScroll: true})")
    lesson.keyboard.press("ArrowRight")
    assert quiz.get_attribute("data-step") == "1"
    kernel_sees_step(lesson, 1)
    lesson.keyboard.press("End")
    lesson.keyboard.press("Home")
    assert quiz.get_attribute("data-step") == "0"
    kernel_sees_step(lesson, 0)
    kernel_print(lesson, "quiz.step = 2")
    lesson.wait_for_function(
        "el => el.dataset.step === '2'", arg=quiz.element_handle(), timeout=10_000
    )
    kernel_print(lesson, "quiz.step = 1")
    lesson.wait_for_function(
        "el => el.dataset.step === '1'", arg=quiz.element_handle(), timeout=10_000
    )
