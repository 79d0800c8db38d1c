"""The README's Python examples run and print what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README_DIR = Path(__file__).resolve().parent.parent
README = (README_DIR / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


EXCERPTS = re.findall(r"```py\n(.*?)```", README, re.S)  # code quoted from the source, not run
SOURCES = "\n".join(p.read_text() for p in (README_DIR / "autograd_core").rglob("*.py"))


def test_there_are_examples() -> None:
    assert len(BLOCKS) >= 2 and EXCERPTS


@pytest.mark.parametrize("excerpt", EXCERPTS, ids=lambda b: b.splitlines()[0][:40])
def test_a_quoted_excerpt_is_the_source_as_it_is(excerpt: str) -> None:
    assert excerpt in SOURCES


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.splitlines()[0][:40])
def test_example_prints_what_its_comments_say(
    block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the files an example writes land there, not in the checkout
    expected = [
        line.split("#", 1)[1].strip()
        for line in block.splitlines()
        if line.startswith("print(") and "#" in line
    ]
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(block, "README.md", "exec"), {})
    assert output.getvalue().splitlines() == expected


def test_the_readme_and_docs_point_nowhere_outside_the_repository() -> None:
    """A clone has no `../shared`: no link or path in the README or the docs leaves the tree."""
    root = Path(__file__).resolve().parent.parent
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = page.read_text()
        assert "../" not in text, (page.name, text[text.find("../") - 60 : text.find("../") + 40])


def test_the_readme_says_how_to_run_from_the_environment() -> None:
    assert "source .venv/bin/activate" in README and ".venv/bin/python -m visualize" in README
