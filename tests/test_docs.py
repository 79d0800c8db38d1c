"""The documentation site: `mkdocs build --strict` (as `make docs` runs it) builds the pages, the
API reference from the docstrings and every lesson executed with its outputs; then a real
browser (Debian's chromium, driven by Playwright) opens the built pages and checks that their
pictures are there and drawn.

The lessons are found by glob, as the site finds them: notebooks come and go as the course grows.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import http.server
import importlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import MIN_TEXT_PX, VIEWPORT, fits, measure_drawings, offline, table

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MKDOCS = Path(sys.executable).parent / "mkdocs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built as `make docs` builds it (strict: any warning fails), in a temporary
    folder so that the test leaves no site/ behind."""
    pytest.importorskip("mkdocs_jupyter", reason="the docs extra is not installed")
    out = tmp_path_factory.mktemp("site")
    start = time.monotonic()
    done = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=1200,
        check=False,
    )
    print(f"mkdocs build --strict: {time.monotonic() - start:.1f} s")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert not re.search(r"^(WARNING|ERROR)\s+-", done.stderr, re.MULTILINE), done.stderr
    return out


def test_the_build_is_strict() -> None:
    """`make docs` and this test build with --strict, and mkdocs.yml asks for it too."""
    config = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"^strict: true$", config, re.MULTILINE)
    assert "mkdocs build --strict --site-dir site" in (ROOT / "Makefile").read_text()
    assert re.search(r"^site/$", (ROOT / ".gitignore").read_text(), re.MULTILINE)


def test_every_lesson_is_a_page_in_the_navigation(site: Path) -> None:
    assert len(LESSONS) >= 5
    home = (site / "index.html").read_text()
    for lesson in LESSONS:
        page = site / "notebooks" / lesson.stem / "index.html"
        assert page.exists(), f"{lesson.name} has no page"
        assert f'href="notebooks/{lesson.stem}/"' in home, f"{lesson.name} is not in the nav"


def lesson_pictures(page: str) -> dict[str, list[bytes]]:
    """The pictures a lesson page carries as outputs: SVG (the graphs) and PNG (the plots)."""
    found: dict[str, list[bytes]] = {"svg": [], "png": []}
    for kind, data in re.findall(r'<img[^>]* src="data:image/(svg\+xml|png);base64,([^"]+)"', page):
        found["svg" if kind.startswith("svg") else "png"].append(base64.b64decode(data))
    return found


def test_the_lessons_are_rendered_with_their_outputs(site: Path) -> None:
    """Executed at build time (the committed notebooks have no outputs): each lesson page
    carries its outputs, its graphs are Graphviz pictures with nodes, its plots are PNGs, and
    no picture is shown as the text of an object (`<graphviz.graphs.Digraph ...>`)."""
    assert re.search(r"^\s+execute: true\b", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    assert re.search(r"^\s+allow_errors: false\b", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    graphs = plots = 0
    for lesson in LESSONS:
        page = (site / "notebooks" / lesson.stem / "index.html").read_text()
        assert "jp-OutputArea-output" in page, f"{lesson.name} shows no output"
        assert "&lt;graphviz." not in page and "&lt;Figure size" not in page, lesson.name
        found = lesson_pictures(page)
        graphs += sum(b'class="node value' in svg for svg in found["svg"])
        plots += sum(png.startswith(b"\x89PNG") for png in found["png"])
    assert graphs >= 3  # the lessons draw graphs (the chain rule, a neuron, softmax...)
    assert plots >= 3  # and plots (training curves, decision boundaries, weights as images)


@pytest.mark.parametrize(
    ("page", "anchor", "name"),
    [
        ("api_autograd_core", "autograd_core.Value", "Value"),
        ("api_autograd_core", "autograd_core.Tensor", "Tensor"),
        ("api_nn", "nn.scalar.MLP", "MLP"),
        ("api_nn", "nn.batch.Linear", "Linear"),
        ("api_visualize", "visualize.graph.draw_graph", "draw_graph"),
        ("api_visualize", "visualize.trace.trace_backward", "trace_backward"),
    ],
)
def test_the_api_reference_is_written_from_the_docstrings(
    site: Path, page: str, anchor: str, name: str
) -> None:
    module = importlib.import_module(anchor.rsplit(".", 1)[0])
    first_line = (getattr(module, name).__doc__ or "").strip().splitlines()[0]
    text = html.unescape(re.sub(r"<[^>]+>", "", (site / page / "index.html").read_text()))
    assert f'id="{anchor}"' in (site / page / "index.html").read_text()
    assert " ".join(first_line.replace("`", "").split()) in " ".join(text.split())


DOC_EXAMPLES = [
    (page.name, block)
    for page in sorted((ROOT / "docs").glob("*.md"))
    for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
]


@pytest.mark.parametrize(("page", "block"), DOC_EXAMPLES, ids=[p for p, _ in DOC_EXAMPLES])
def test_the_pages_examples_print_what_their_comments_say(page: str, block: str) -> None:
    expected = [
        line.split("#", 1)[1].strip()
        for line in block.splitlines()
        if line.startswith("print(") and "#" in line
    ]
    assert expected, f"an example on {page} shows no output"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, page, "exec"), {})
    assert printed.getvalue().splitlines() == expected


# ---- in a browser --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The built site over HTTP on the loopback address, as a static host would serve it."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a page closed while the browser was still fetching: a broken pipe, not a failure


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        release = Path("/etc/os-release")
        if not (release.exists() and "ID=debian" in release.read_text().split()):
            pytest.skip("no apt-installable chromium on this system (Ubuntu ships it as a snap)")
    assert chromium.exists(), "Debian's chromium is missing: `make test` installs it"
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        yield launched
        launched.close()


def open_page(browser: Any, url: str) -> Any:
    """The page loaded with everything it asks of the site itself; anything from elsewhere (a
    CDN for MathJax) is refused at once, so the test never waits on the network."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("http://127.0.0.1", "data:", "about:"))
            else route.abort()
        ),
    )
    page.goto(url, wait_until="load")
    return page


PICTURES = """() => {
    const shown = (el) => {
        const box = el.getBoundingClientRect();
        return box.width > 20 && box.height > 20;
    };
    const outputs = document.querySelectorAll('.jp-OutputArea-output');
    const pictures = [...document.querySelectorAll('.jp-OutputArea-output img')];
    const loaded = (i) => i.complete && i.naturalWidth > 0 && shown(i);
    return {
        outputs: outputs.length,
        pictures: pictures.length,
        svg: pictures.filter((i) => i.src.startsWith('data:image/svg+xml') && loaded(i)).length,
        png: pictures.filter((i) => i.src.startsWith('data:image/png') && loaded(i)).length,
        broken: pictures.filter((i) => !loaded(i)).map((i) => i.src.slice(0, 60)),
        steppers: document.querySelectorAll(
            '.jp-OutputArea-output [data-agc-stepthrough]').length,
        widgetViews: document.querySelectorAll(
            'script[type="application/vnd.jupyter.widget-view+json"]').length,
    };
}"""


def test_the_lesson_pages_show_their_pictures_in_a_browser(
    browser: Any, server: str, site: Path
) -> None:
    """Every picture a lesson carries is decoded and drawn at a visible size by the browser;
    a lesson's step-through widget is there as the step-through itself (the ES module inlined,
    no kernel and no CDN), drawing its graph."""
    steppers = drawn = 0
    for lesson in LESSONS:
        found = lesson_pictures((site / "notebooks" / lesson.stem / "index.html").read_text())
        page = open_page(browser, f"{server}/notebooks/{lesson.stem}/")
        seen = page.evaluate(PICTURES)
        assert seen["outputs"] > 0, (lesson.name, seen)
        assert seen["broken"] == [], (lesson.name, seen)
        assert (seen["svg"], seen["png"]) == (len(found["svg"]), len(found["png"])), lesson.name
        assert seen["widgetViews"] == 0, lesson.name  # none left for a widget manager to draw
        drawn += seen["svg"] + seen["png"]
        if seen["steppers"]:
            steppers += seen["steppers"]
            assert page.locator("[data-agc-stepthrough] svg g.node").count() > 1
        page.close()
    assert drawn >= len(LESSONS)
    assert steppers == 4  # lesson 01 steps through the backward pass, then asks; 02 and 07 ask


def test_a_lesson_page_opens_a_step_from_its_address_and_never_scrolls_to_it(
    browser: Any, server: str
) -> None:
    page = open_page(browser, f"{server}/notebooks/01_chain_rule/#step=3")
    steppers = page.locator("[data-agc-stepthrough]")
    assert [steppers.nth(k).get_attribute("data-step") for k in range(2)] == ["2", "2"]
    assert "Step 3 of 3: q = x + y" in steppers.nth(0).inner_text()
    assert page.evaluate("window.scrollY") == 0  # the page opens at its top
    steppers.nth(0).evaluate("el => el.focus({preventScroll: true})")
    page.keyboard.press("Home")
    assert steppers.nth(0).get_attribute("data-step") == "0"
    assert page.evaluate("window.scrollY") == 0 and page.evaluate("location.hash") == "#step=3"
    page.close()


def test_the_other_pages_show_their_pictures(browser: Any, server: str) -> None:
    for path in ["", "cli/"]:
        page = open_page(browser, f"{server}/{path}")
        pictures = page.eval_on_selector_all(
            "article img",
            "els => els.map(e => [e.src, e.complete && e.naturalWidth > 0])",
        )
        assert [src for src, ok in pictures if not ok] == [], path
        assert any(src.endswith("/chain_rule.svg") for src, _ in pictures), (path, pictures)
        page.close()
    page = open_page(browser, f"{server}/api_autograd_core/")
    assert page.locator("[id='autograd_core.Value']").count() == 1
    assert page.get_by_text("A scalar that remembers the operation that made it.").count() >= 1
    page.close()


def test_every_drawing_of_a_lesson_page_fits_its_column_or_zooms(
    browser: Any, server: str, tmp_path: Path
) -> None:
    """At a 1,200 px wide window, every drawing on a lesson page (pictures, inline SVG, and the
    step-through page in its frame) is no wider than the column it sits in and has no text
    under 9 px, or sits in a zoomable container. The theme has its own content column, so each
    drawing is measured against its own output area (or, in a frame, the frame's body)."""
    measured: dict[str, list[dict[str, Any]]] = {}
    for lesson in LESSONS:
        page = browser.new_page(viewport=VIEWPORT)
        offline(page)
        page.goto(f"{server}/notebooks/{lesson.stem}/", wait_until="load")
        page.wait_for_function(
            "() => [...document.querySelectorAll('iframe')].every("
            "f => f.contentDocument && f.contentDocument.readyState === 'complete')",
            timeout=30_000,
        )
        measured[lesson.name] = measure_drawings(page, scope="article")
        page.close()
    report = tmp_path / "site_drawings.json"
    report.write_text(json.dumps(measured, indent=1))
    text = "\n".join(f"{name}:\n{table(found)}" for name, found in measured.items())
    print(text)
    unfit = {name: [d for d in found if not fits(d)] for name, found in measured.items()}
    unfit = {name: found for name, found in unfit.items() if found}
    assert sum(map(len, measured.values())) >= len(LESSONS)
    assert unfit == {}, (
        f"drawings wider than their column or with text under {MIN_TEXT_PX:g} px, and not "
        f"zoomable, on {len(unfit)} lesson pages (measurements in {report}):\n{text}"
    )


# ---- maths, typeset offline ----------------------------------------------------------------------
#
# MathJax is served by the site (assets/mathjax/) and sits beside a lesson's HTML export
# (scripts/lessons_html.py). A page is read as a student sees it once MathJax is done: every
# formula of the lesson's Markdown typeset, no TeX error, no `$` left in the text, and nothing
# asked of any other host.

MATHJAX_SRC = re.compile(r'<script[^>]* src="([^"]*/MathJax\.js\?config=[^"]*)"')


def formulas(notebook: Path) -> dict[str, int]:
    """The formulas a lesson's Markdown cells write: `$$...$$` (display) and `$...$` (inline),
    outside code (fenced blocks and `spans`), escaped dollars (`\\$`) left out."""
    found = {"display": 0, "inline": 0}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = re.sub(r"```.*?```", "", "".join(cell["source"]), flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text).replace("\\$", "")
        found["display"] += len(re.findall(r"\$\$.+?\$\$", text, flags=re.S))
        inline = re.sub(r"\$\$.+?\$\$", "", text, flags=re.S)
        found["inline"] += len(re.findall(r"\$[^$]+?\$", inline))
    return found


MATHS = """async () => {
    if (!window.MathJax || !MathJax.Hub) return {mathjax: false};
    // after MathJax's start-up (its first typesetting) and then whatever the page queued
    await new Promise((done) => MathJax.Hub.Register.StartupHook('End', done));
    await new Promise((done) => MathJax.Hub.Queue(done));
    const page = document.querySelector('article') || document.body;  // the theme's frame aside
    const frames = [...page.querySelectorAll('[id^="MathJax-Element-"][id$="-Frame"]')];
    const shown = (el) => {
        const box = el && el.getBoundingClientRect();
        return !!box && box.width > 0 && box.height > 0;
    };
    // MathJax keeps each formula's TeX in a script and draws it in the frame before it; where
    // the formula's place is hidden (the theme's copy of the page's headings for small screens),
    // the frame has no size either
    const untypeset = [...document.querySelectorAll('script[type^="math/tex"]')]
        .filter((s) => {
            const frame = document.getElementById(s.id + '-Frame');
            return !frame || (s.parentElement.checkVisibility() && !shown(frame));
        })
        .map((s) => s.textContent);
    // the text a reader reads: code, scripts and the typeset formulas themselves left out
    const prose = page.cloneNode(true);
    prose.querySelectorAll('pre, code, script, style, .MathJax, .MathJax_Display, '
        + '.MathJax_Preview, .MJX_Assistive_MathML').forEach((el) => el.remove());
    const text = prose.textContent;
    const inline = frames.filter((f) => !f.closest('.MathJax_Display'));
    return {
        mathjax: true,
        inline: inline.length,
        display: page.querySelectorAll('.MathJax_Display').length,
        untypeset: untypeset,
        errors: [...document.querySelectorAll('.merror, .noError, .MathJax_Error')]
            .map((e) => e.textContent),
        dollars: [...text.matchAll(/[$]/g)].map((m) => text.slice(m.index - 40, m.index + 40)),
        notInline: inline.filter((f) => getComputedStyle(f).display === 'block').length,
        fonts: [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family),
        scripts: [...document.querySelectorAll('script[src]')].map((s) => s.src),
    };
}"""


def open_refusing(browser: Any, url: str, local: tuple[str, ...]) -> tuple[Any, list[str]]:
    """`url` opened with every request not starting with one of `local` refused, and listed."""
    refused: list[str] = []
    page = browser.new_page(viewport=VIEWPORT)

    def route(request_route: Any) -> None:
        if request_route.request.url.startswith(local):
            request_route.continue_()
        else:
            refused.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return page, refused


def assert_typeset(
    seen: dict[str, Any], refused: list[str], expected: dict[str, int], name: str
) -> None:
    """What a page showed once MathJax was done, against the formulas its source writes."""
    assert refused == [], (name, refused)  # MathJax and all else from the page's own host
    assert seen["mathjax"], f"{name}: MathJax did not load"
    assert seen["untypeset"] == [] and seen["errors"] == [], (name, seen)
    assert seen["dollars"] == [], f"{name}: raw $ left in the text: {seen['dollars']}"
    assert seen["inline"] >= expected["inline"] and seen["display"] >= expected["display"], (
        name,
        seen,
        expected,
    )
    assert seen["notInline"] == 0, name  # inline maths stays in its line
    # drawn in MathJax's own web fonts, fetched from the page's host (not the system's fallback)
    assert "STIXMathJax_Main" in seen["fonts"], (name, seen["fonts"])


def test_the_site_serves_its_own_mathjax(site: Path) -> None:
    """Every lesson page, and every Markdown page with maths, loads MathJax by a relative address
    that resolves to a file of the site; pages without maths load none; no page of the site
    loads a script from another host."""
    assert (site / "assets" / "mathjax" / "MathJax.js").is_file()
    assert (site / "assets" / "mathjax" / "config" / "local" / "offline.js").is_file()
    lesson_pages = {site / "notebooks" / lesson.stem / "index.html" for lesson in LESSONS}
    with_maths = []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'<script[^>]* src="(https?:)?//', text), page
        sources = MATHJAX_SRC.findall(text)
        if page in lesson_pages or 'class="arithmatex"' in text:
            assert len(sources) == 1, (page, sources)
            address = sources[0].split("?")[0]
            assert not address.startswith("/"), (page, address)  # relative: any base URL works
            assert (page.parent / address).resolve().is_file(), (page, address)
            with_maths += [page] if page not in lesson_pages else []
        else:
            assert sources == [], page
    assert with_maths, "no Markdown page has maths (docs/notation.md has)"


def test_every_lesson_page_typesets_its_maths_offline(browser: Any, server: str) -> None:
    with_maths = 0
    for lesson in LESSONS:
        page, refused = open_refusing(browser, f"{server}/notebooks/{lesson.stem}/", (server,))
        expected = formulas(lesson)
        assert_typeset(page.evaluate(MATHS), refused, expected, lesson.name)
        with_maths += sum(expected.values()) > 0
        page.close()
    assert with_maths >= len(LESSONS) - 1  # the lessons teach with formulas


def test_the_markdown_pages_typeset_their_maths_offline(browser: Any, server: str) -> None:
    pages = [
        path
        for path in sorted((ROOT / "docs").glob("*.md"))
        if re.search(r"(?<![\\`])\$[^$\n`]+\$", path.read_text(encoding="utf-8"))
    ]
    assert pages, "no page of docs/ writes maths"
    for path in pages:
        address = "" if path.stem == "index" else f"{path.stem}/"
        page, refused = open_refusing(browser, f"{server}/{address}", (server,))
        assert_typeset(page.evaluate(MATHS), refused, {"inline": 1, "display": 0}, path.name)
        page.close()


def test_a_lessons_html_export_typesets_its_maths_offline(browser: Any, tmp_path: Path) -> None:
    """`scripts/lessons_html.py` (`make lessons`) on the lesson that steps through a backward pass
    (maths, and a widget shown as its HTML): the page opened from disk, with nothing but files
    and data at hand, typesets every formula and steps through."""
    pytest.importorskip("jupyter_server_mathjax", reason="the docs extra is not installed")
    lesson = next(
        (path for path in LESSONS if ".widget(" in path.read_text(encoding="utf-8")), LESSONS[0]
    )
    script = ROOT / "scripts" / "lessons_html.py"
    done = subprocess.run(
        [sys.executable, str(script), str(lesson), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    exported = tmp_path / f"{lesson.stem}.html"
    assert done.stdout.split() == ["wrote", str(exported)]
    assert (tmp_path / "mathjax" / "MathJax.js").is_file()
    page, refused = open_refusing(browser, exported.as_uri(), ("file:", "data:", "blob:", "about:"))
    seen = page.evaluate(MATHS)
    assert_typeset(seen, refused, formulas(lesson), exported.name)
    assert seen["scripts"] and all(src.startswith("file:") for src in seen["scripts"]), seen
    if ".widget(" in lesson.read_text(encoding="utf-8"):
        assert page.locator("[data-agc-stepthrough] svg g.node").count() > 1
    page.close()


@pytest.fixture
def lessons_html() -> Any:
    """scripts/lessons_html.py as a module (a script, not part of a package)."""
    pytest.importorskip("nbconvert", reason="the docs extra is not installed")
    spec = importlib.util.spec_from_file_location("lessons_html", ROOT / "scripts/lessons_html.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_export_copies_mathjax_with_its_settings(lessons_html: Any, tmp_path: Path) -> None:
    pytest.importorskip("jupyter_server_mathjax", reason="the docs extra is not installed")
    folder = lessons_html.copy_mathjax(tmp_path / "mathjax")
    assert (folder / "MathJax.js").is_file()
    for name in lessons_html.MATHJAX_CONFIG.split(","):  # each file the address asks for
        assert (folder / "config" / f"{name}.js").is_file() or (
            folder / "extensions" / f"{name}.js"
        ).is_file(), name
    assert "STIX-Web" in (folder / "config" / "local" / "offline.js").read_text()
    assert (folder / "fonts" / "HTML-CSS" / "STIX-Web" / "woff").is_dir()
    assert lessons_html.mathjax_url("../../assets/mathjax/") == (
        f"../../assets/mathjax/MathJax.js?config={lessons_html.MATHJAX_CONFIG}"
    )


def test_without_mathjax_the_export_says_which_package_to_install(
    lessons_html: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "jupyter_server_mathjax" else found(name, *args),
    )
    with pytest.raises(ModuleNotFoundError, match=r"jupyter-server-mathjax \(the docs extra\)"):
        lessons_html.export(LESSONS[0], tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing run, nothing written
