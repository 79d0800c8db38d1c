"""The lessons in a real JupyterLab: a server of the test's own on a copy of notebooks/, Debian's
chromium opening each lesson, running all of its cells as a student would (Run > Run All Cells),
and measuring every drawing as it is shown: a picture wider than the notebook's column, or with
text smaller than 9 px, must sit in a container the reader can zoom.

One server and one browser serve the module; each lesson's kernel is shut down after it. The
measurements are written as JSON next to the test's temporary files and shown in a failure.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import (
    MIN_TEXT_PX,
    chromium,
    error_outputs,
    fits,
    jupyterlab,
    measure_drawings,
    new_page,
    open_notebook,
    require_chromium,
    run_all,
    shutdown_kernels,
    table,
)

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RUN_TIMEOUT = 600.0  # seconds for one lesson's Run All on a shared two-core machine


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    require_chromium()
    with sync_api.sync_playwright() as playwright, chromium(playwright) as launched:
        yield launched


@pytest.fixture(scope="module")
def lab(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """JupyterLab on a copy of what the lessons read: notebooks/, and the folders they reach
    with `..` paths (benchmarks/, which lesson 10 imports, and the README, whose measured table
    it shows; data/, where lesson 06 looks for MNIST, linked when it is there). The package
    itself comes from the virtual environment."""
    pytest.importorskip("jupyterlab", reason="the notebooks extra is not installed")
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copytree(
        ROOT / "benchmarks", root / "benchmarks", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "README.md", root / "README.md")
    if (ROOT / "data").is_dir():
        (root / "data").symlink_to(ROOT / "data", target_is_directory=True)
    with jupyterlab(root) as server:
        yield server


@pytest.fixture(scope="module")
def lesson_run(browser: Any, lab: tuple[str, str]) -> Iterator[Callable[[str], dict[str, Any]]]:
    """Run a lesson in JupyterLab once (cached for the module): open it, run all, note the
    traceback outputs and measure the drawings, then close the page and shut its kernel down.
    A failure of the run is kept and raised again for every test that asks for that lesson."""
    cache: dict[str, dict[str, Any] | BaseException] = {}

    def run(name: str) -> dict[str, Any]:
        if name not in cache:
            page = new_page(browser)
            try:
                open_notebook(page, *lab, f"notebooks/{name}")
                ran = run_all(page, timeout=RUN_TIMEOUT)
                cache[name] = {
                    "seconds": round(ran["seconds"], 1),
                    "errors": error_outputs(page),
                    "drawings": measure_drawings(page),
                }
            except (AssertionError, TimeoutError, RuntimeError) as failure:
                cache[name] = failure
            finally:
                page.close()
                shutdown_kernels(*lab)
        result = cache[name]
        if isinstance(result, BaseException):
            raise result
        return result

    yield run


def test_lesson_01_runs_in_jupyterlab_and_draws(
    lesson_run: Callable[[str], dict[str, Any]],
) -> None:
    """The chain-rule lesson runs from top to bottom in JupyterLab with no traceback, and shows
    its pictures."""
    result = lesson_run("01_chain_rule.ipynb")
    assert result["errors"] == [], result["errors"][0][-2000:]
    assert len(result["drawings"]) >= 1, result
    assert all(d["width"] > 20 for d in result["drawings"]), table(result["drawings"])


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_drawing_fits_the_notebook_column_or_zooms(
    lesson: Path, lesson_run: Callable[[str], dict[str, Any]], tmp_path: Path
) -> None:
    """In JupyterLab at a 1,200 px wide window, every drawing of the lesson is no wider than
    the notebook's column and has no text under 9 px, or sits in a zoomable container."""
    result = lesson_run(lesson.name)
    drawings = result["drawings"]
    report = tmp_path / f"{lesson.stem}.drawings.json"
    report.write_text(json.dumps({"lesson": lesson.name, **result}, indent=1))
    print(f"{lesson.name} ({result['seconds']} s of Run All):\n{table(drawings)}\n-> {report}")
    unfit = [d for d in drawings if not fits(d)]
    assert unfit == [], (
        f"{len(unfit)} of {len(drawings)} drawings of {lesson.name} are wider than the column "
        f"or have text under {MIN_TEXT_PX:g} px, and cannot be zoomed (measurements in "
        f"{report}):\n{table(drawings)}"
    )
