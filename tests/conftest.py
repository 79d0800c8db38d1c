"""Shared test settings, and the lessons executed once for every test module that reads them."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

# No per-example deadline: CI machines are shared and their timing is noise. On CI the examples
# are derandomized, so a run is reproducible; locally each run explores new ones.
settings.register_profile(
    "default", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test with a `start_early` attribute has slow work started in the background as soon as
    it is known to run (micrograd's own demo), so that the work overlaps the other tests."""
    if config.option.collectonly:
        return
    for item in items:
        start = getattr(getattr(item, "function", None), "start_early", None)
        if start is not None:
            start()


@pytest.fixture(scope="session")
def executed() -> Callable[[str], Any]:
    """`executed(name)`: the lesson `notebooks/<name>` run top to bottom in its own folder (as
    `jupyter nbconvert --execute` runs it), once per test session, whichever modules ask."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cache: dict[str, Any] = {}

    def run(name: str) -> Any:
        if name not in cache:
            path = ROOT / "notebooks" / name
            notebook = nbformat.read(path, as_version=4)
            client = nbclient.NotebookClient(
                notebook,
                timeout=600,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            )
            client.execute()
            cache[name] = notebook
        return cache[name]

    return run
