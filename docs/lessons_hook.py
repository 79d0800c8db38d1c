"""MkDocs hook: the lessons in notebooks/ become pages of the site, found by glob.

The notebooks live beside the code (the test suite executes them there), not under docs/, and
their names and number change as the course grows; so no name is written down in mkdocs.yml.
Each `notebooks/*.ipynb` is added as the page `notebooks/<name>/` (mkdocs-jupyter executes and
renders it) and listed under "Lessons" in the navigation, titled by its first heading. Pages in
docs/ that mkdocs.yml does not list (added by a lesson's author, say) go under "More", so that
no page is built without a way to reach it.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def lessons() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def title(path: Path) -> str:
    """The notebook's first markdown heading, else its file name."""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem.replace("_", " ")


def listed(nav: Any) -> set[str]:
    """Every page path the navigation names."""
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, dict):
        return set().union(*(listed(v) for v in nav.values()))
    if isinstance(nav, list):
        return set().union(*(listed(v) for v in nav))
    return set()


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    entries: list[Any] = [{title(path): f"notebooks/{path.name}"} for path in lessons()]
    nav = list(config.nav or [])
    # after the home and install pages, before the reference
    nav.insert(min(2, len(nav)), {"Lessons": entries})
    docs = Path(config.docs_dir)
    more = [
        str(page.relative_to(docs))
        for page in sorted(docs.rglob("*.md"))
        if str(page.relative_to(docs)) not in listed(nav)
    ]
    if more:
        nav.append({"More": more})
    config.nav = nav
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path in lessons():
        # a file of the repository outside docs/, at the same place in the site as in the clone
        files.append(
            File(
                f"notebooks/{path.name}",
                src_dir=str(ROOT),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


# ---- the step-through widget on a lesson page --------------------------------------------------
#
# A lesson's `trace.widget()` is an anywidget: its output carries the widget's view, which needs
# a kernel's widget manager, and beside it the same step-through as HTML (the package's ES module
# inlined, what a page with no kernel can show). nbconvert, which renders the lessons, prefers the
# widget's view and would leave an empty box (or load a widget manager from a CDN, and the site
# works offline). Its configuration, read from the Jupyter config folder, puts HTML first.

_STATIC_FIRST = {
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
    }
}


def on_startup(command: str, dirty: bool) -> None:
    """Point this build's Jupyter configuration (nbconvert's, and the kernels' it starts) at a
    folder of its own holding only `_STATIC_FIRST`, removed when the build ends."""
    folder = Path(tempfile.mkdtemp(prefix="lessons-nbconvert-"))
    atexit.register(shutil.rmtree, folder, True)
    (folder / "jupyter_nbconvert_config.json").write_text(json.dumps(_STATIC_FIRST))
    os.environ["JUPYTER_CONFIG_DIR"] = str(folder)
