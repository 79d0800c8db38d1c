"""The lessons as committed: outputs cleared, no absolute paths, real checks, README links.

nbmake (`--nbmake` in pytest's options) executes each notebook as a test of its own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_five_lessons_are_there() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_chain_rule.ipynb",
        "02_sigmoid_neuron.ipynb",
        "03_softmax_cross_entropy.ipynb",
        "04_mlp_from_scratch.ipynb",
        "05_batch_path.ipynb",
    ]


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
    for path in NOTEBOOKS:
        assert f"(notebooks/{path.name})" in readme
