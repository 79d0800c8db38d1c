"""MkDocs hook: the lessons in notebooks/ become pages of the site, found by glob.

The notebooks live beside the code (the test suite executes them there), not under docs/, and
their names and number change as the course grows; so no name is written down in mkdocs.yml.
Each `notebooks/*.ipynb` is added as the page `notebooks/<name>/` (mkdocs-jupyter executes and
renders it) and listed under "Lessons" in the navigation, titled by its first heading. Pages in
docs/ that mkdocs.yml does not list (added by a lesson's author, say) go under "More", so that
no page is built without a way to reach it.

Maths: every lesson page, and every Markdown page with maths, loads MathJax from the site itself
(assets/mathjax/, the files `scripts/lessons_html.py` takes from jupyter-server-mathjax), so the
site typesets its formulas offline.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
# the lessons' HTML export: the MathJax files and settings, the display order, shared with it
sys.path.insert(0, str(ROOT / "scripts"))
import lessons_html  # noqa: E402


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
    # mkdocs-jupyter writes this address into every lesson page's <script src="...">
    mathjax = lessons_html.mathjax_url(get_relative_url(MATHJAX, lesson_url(config)))
    config.plugins["mkdocs-jupyter"].config["custom_mathjax_url"] = mathjax
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
# A lesson's `trace.widget()` shows as the step-through's HTML, not as an empty widget box:
# nbconvert, which renders the lessons, reads its display order from the Jupyter config folder,
# and this build points that at a folder of its own holding only `lessons_html.NBCONVERT_OFFLINE`.


# mkdocs-jupyter stores the widgets' state whatever the configuration says (the export stores
# none), and with it the page asks unpkg for a widget manager when it loads; the step-through is
# there as HTML and needs none, so the loader is taken out
_WIDGET_MANAGER_LOADER = re.compile(
    r"<script>\s*\(function\(\) \{\s*function addWidgetsRenderer\(\).*?</script>", re.S
)


def on_startup(command: str, dirty: bool) -> None:
    """Point this build's Jupyter configuration (nbconvert's, and the kernels' it starts) at a
    folder of its own holding only `NBCONVERT_OFFLINE`, removed when the build ends."""
    folder = Path(tempfile.mkdtemp(prefix="lessons-nbconvert-"))
    atexit.register(shutil.rmtree, folder, True)
    settings = json.dumps(lessons_html.NBCONVERT_OFFLINE)
    (folder / "jupyter_nbconvert_config.json").write_text(settings)
    os.environ["JUPYTER_CONFIG_DIR"] = str(folder)


# ---- maths: MathJax served by the site itself ----------------------------------------------------
#
# The lesson pages carry nbconvert's MathJax settings ($...$ and $$...$$) and load MathJax from
# the address mkdocs-jupyter is given; the Markdown pages' maths is kept by pymdownx.arithmatex
# as \(...\) and \[...\] in elements of class "arithmatex", and only the pages that have some
# load MathJax. Either way from assets/mathjax/ of this site (copied from jupyter-server-mathjax
# after the build), by a relative address: the site works offline and under any base URL.

MATHJAX = "assets/mathjax"

# MathJax on a Markdown page: only what arithmatex marked, with the delimiters it wrote
_MARKDOWN_MATHS = r"""<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]],
            processEscapes: false, processEnvironments: false,
            ignoreClass: ".*", processClass: "arithmatex"},
  messageStyle: "none"
});
</script>
<script src="{url}"></script>
"""


def lesson_url(config: MkDocsConfig) -> str:
    """Where a lesson's page is in the site (all of them at the same depth)."""
    return "notebooks/lesson/" if config.use_directory_urls else "notebooks/lesson.html"


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """A lesson page without the loader of a widget manager from a CDN; a Markdown page with
    maths with MathJax in its head (a lesson page has it already)."""
    if page.file.src_uri.endswith(".ipynb"):
        return _WIDGET_MANAGER_LOADER.sub("", output)
    if 'class="arithmatex"' not in output:
        return output
    url = lessons_html.mathjax_url(get_relative_url(MATHJAX, page.url))
    return output.replace("</head>", _MARKDOWN_MATHS.replace("{url}", url) + "</head>", 1)


def on_post_build(config: MkDocsConfig) -> None:
    lessons_html.copy_mathjax(Path(config.site_dir) / MATHJAX)
