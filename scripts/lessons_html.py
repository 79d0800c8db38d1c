"""The lessons as HTML pages that work offline: executed, their maths typeset by a MathJax that
sits beside them (no CDN), the step-through as its static page.

    .venv/bin/python scripts/lessons_html.py [NOTEBOOK ...] [-o FOLDER]   # default: every lesson

writes FOLDER/<lesson>.html for each lesson (default FOLDER: out/lessons) and FOLDER/mathjax/,
which the pages load by a relative address: open a page from disk, or copy the folder anywhere.

MathJax (2.7, the version nbconvert's templates are written for) comes from the PyPI package
jupyter-server-mathjax, in the docs extra: `pip` installs it on any machine, and nothing of it is
kept in this repository. The docs site (docs/lessons_hook.py) serves the same files and settings,
taken from this module.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

# MathJax's combined TeX configuration, its Safe extension (no \href to javascript:, the defaults
# nbconvert uses), then ours (OFFLINE_CONFIG, written into the copy as config/local/offline.js)
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe,local/offline"

# jupyter-server-mathjax ships the STIX-Web web fonts only: HTML-CSS output is told to use them
# and to ask for no image fonts (not shipped), else it would try MathJax's TeX fonts, find none
# and fall back to whatever the system has. The last line tells MathJax the file has loaded.
OFFLINE_CONFIG = """\
MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null}
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/offline.js");
"""

# nbconvert's settings for a lesson page that works offline; the export passes them, the docs build
# writes them into a Jupyter config folder of its own, which mkdocs-jupyter's nbconvert reads.
# A lesson's `trace.widget()` output carries the widget's view, which needs a kernel's widget
# manager, and beside it the same step-through as HTML (the package's ES module inlined):
# nbconvert prefers the view and would leave an empty box, so HTML goes first. With the widgets'
# state stored in the page, nbconvert would load a widget manager from a CDN: none is stored.
NBCONVERT_OFFLINE = {
    "NbConvertBase": {
        "display_data_priority": [
            "text/html",
            "application/vnd.jupyter.widget-view+json",
            "application/javascript",
            "text/markdown",
            "image/svg+xml",
            "text/vnd.mermaid",
            "text/latex",
            "image/png",
            "image/jpeg",
            "text/plain",
        ]
    },
    "ExecutePreprocessor": {"store_widget_state": False},
}

# JupyterLab's page as nbconvert writes it, less the require.js it loads from a CDN (no lesson
# output needs it)
_TEMPLATE = "lesson.html.j2"
_TEMPLATES = jinja2.DictLoader(
    {
        _TEMPLATE: "{%- extends 'lab/index.html.j2' -%}\n"
        "{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}\n"
    }
)


def mathjax_files() -> Path:
    """The folder of MathJax's files (MathJax.js, config/, jax/, fonts/...) that the installed
    jupyter-server-mathjax package ships."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "the lessons' maths needs MathJax from the package jupyter-server-mathjax (the docs "
            "extra): pip install -e '.[docs]', or `make docs`, which installs it"
        )
    folder = Path(spec.origin).parent / "static"
    if not (folder / "MathJax.js").is_file():
        raise FileNotFoundError(f"jupyter-server-mathjax has no MathJax.js in {folder}")
    return folder


def copy_mathjax(folder: Path) -> Path:
    """MathJax's files and our settings copied into `folder` (made if missing); returns it."""
    shutil.copytree(mathjax_files(), folder, dirs_exist_ok=True)
    (folder / "config" / "local").mkdir(parents=True, exist_ok=True)
    (folder / "config" / "local" / "offline.js").write_text(OFFLINE_CONFIG, encoding="utf-8")
    return folder


def mathjax_url(folder: str) -> str:
    """The address of MathJax.js with its settings, `folder` being where a page finds the copy
    (relative to the page: `mathjax`, `../../assets/mathjax`)."""
    return f"{folder.rstrip('/')}/MathJax.js?config={MATHJAX_CONFIG}"


def exporter() -> HTMLExporter:
    """nbconvert's HTML exporter for a lesson page: JupyterLab's look, MathJax from `mathjax/`
    beside the page, the step-through as HTML, nothing fetched from elsewhere."""
    return HTMLExporter(
        config=Config(NBCONVERT_OFFLINE),
        extra_loaders=[_TEMPLATES],
        template_file=_TEMPLATE,
        mathjax_url=mathjax_url("mathjax"),
    )


def export(notebook: Path, folder: Path, timeout: int = 600) -> Path:
    """`notebook` executed (in its own folder, as the tests run it) and written as
    `folder/<name>.html`, with `folder/mathjax/` beside it; returns the page's path."""
    copy_mathjax(folder / "mathjax")  # first: without MathJax there is no point running it
    lesson = nbformat.read(notebook, as_version=4)
    run = ExecutePreprocessor(
        config=Config(NBCONVERT_OFFLINE), timeout=timeout, kernel_name="python3"
    )
    run.preprocess(lesson, {"metadata": {"path": str(notebook.parent)}})
    body, _ = exporter().from_notebook_node(lesson)
    page = folder / f"{notebook.stem}.html"
    page.write_text(body, encoding="utf-8")
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "out" / "lessons")
    args = parser.parse_args(argv)
    for notebook in args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb")):
        print(f"wrote {export(notebook.resolve(), args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
