"""Helpers for tests that drive a real browser: a JupyterLab server of the test's own, Debian's
chromium through Playwright, a notebook opened and run in JupyterLab, and the drawings of a page
measured as a reader sees them (their width, the column they sit in, their smallest text).

Not a test module: `test_jupyterlab.py` and `test_docs.py` import it. Everything here works
offline: the server fetches no news and checks for no updates, the browser's background
networking is off, and a page's requests to anywhere but the loopback address are refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 900}
MIN_TEXT_PX = 9.0  # the smallest text a drawing may show at its rendered size

# ---- JupyterLab ----------------------------------------------------------------------------------

# Settings of the server (a config file in its own config folder): no news feed, no update check,
# no extension manager asking PyPI, no language servers, no terminals, and the application object
# on `window.jupyterapp` so that a test runs JupyterLab's own commands.
_SERVER_CONFIG = {
    "ServerApp": {
        "open_browser": False,
        "port_retries": 0,
        "terminals_enabled": False,
        "jpserver_extensions": {"jupyter_lsp": False},
        "shutdown_no_activity_timeout": 0,
    },
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly",
        "expose_app_in_browser": True,
        "collaborative": False,
    },
}
# Front-end plugins left out: the extension manager (it would list PyPI) and the news prompt.
_PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/extensionmanager-extension": True}}
# User settings: no news and no update notices; every cell kept in the page (JupyterLab 4 skips
# the layout of cells out of view by default, and a measurement needs them laid out).
_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _api(base_url: str, token: str, path: str, method: str = "GET", timeout: float = 10.0) -> Any:
    """A call to the server's REST API with the token; the decoded JSON answer (None if empty)."""
    request = urllib.request.Request(
        f"{base_url}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        body = answer.read()
    return json.loads(body) if body else None


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (the server's kernels), read from /proc."""
    found: list[int] = []
    if not Path("/proc").is_dir():  # not Linux: the server's own shutdown has to do
        return found
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def shutdown_kernels(base_url: str, token: str) -> None:
    """Close every session and shut down every kernel of the server (between two notebooks)."""
    with contextlib.suppress(OSError):
        for session in _api(base_url, token, "/api/sessions"):
            with contextlib.suppress(OSError):
                _api(base_url, token, f"/api/sessions/{session['id']}", method="DELETE", timeout=30)
        for kernel in _api(base_url, token, "/api/kernels"):
            with contextlib.suppress(OSError):
                _api(base_url, token, f"/api/kernels/{kernel['id']}", method="DELETE", timeout=30)


@contextlib.contextmanager
def jupyterlab(
    root_dir: str | os.PathLike[str],
    *,
    jupyter: str | os.PathLike[str] | None = None,
    startup_timeout: float = 90.0,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on 127.0.0.1 serving `root_dir`; yields `(base_url, token)`.

    `jupyter` is the `jupyter` program to run (by default the one next to this Python, so the
    kernels are this virtual environment's Python). The server gets a free port, a random token
    and folders of its own in a temporary folder (config, data, runtime, settings, workspaces and
    HOME), so it never reads or writes the user's; `env` adds variables to its environment. On
    exit, even after a failure, its kernels are shut down and the server stopped (asked to,
    then terminated, then killed), and any kernel process it left behind is killed.
    """
    program = Path(jupyter) if jupyter else Path(sys.executable).parent / "jupyter"
    if not program.exists():
        raise FileNotFoundError(f"no jupyter program at {program}")
    home = Path(tempfile.mkdtemp(prefix="jupyterlab-test-"))
    folders = {
        name: home / name
        for name in ("config", "data", "runtime", "settings", "workspaces", "home", "cache")
    }
    for folder in folders.values():
        folder.mkdir()
    (folders["config"] / "jupyter_server_config.json").write_text(json.dumps(_SERVER_CONFIG))
    (folders["config"] / "labconfig").mkdir()
    (folders["config"] / "labconfig" / "page_config.json").write_text(json.dumps(_PAGE_CONFIG))
    for name, values in _USER_SETTINGS.items():
        path = folders["settings"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(24)
    base_url = f"http://127.0.0.1:{port}"
    server_env = {
        **os.environ,
        "HOME": str(folders["home"]),
        "JUPYTER_CONFIG_DIR": str(folders["config"]),
        "JUPYTER_DATA_DIR": str(folders["data"]),
        "JUPYTER_RUNTIME_DIR": str(folders["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(folders["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(folders["workspaces"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(folders["home"] / ".ipython"),
        "MPLCONFIGDIR": str(folders["cache"] / "matplotlib"),
        "XDG_CACHE_HOME": str(folders["cache"]),
        "XDG_CONFIG_HOME": str(folders["home"] / ".config"),
        "XDG_DATA_HOME": str(folders["home"] / ".local" / "share"),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    server_env.pop("JUPYTER_PATH", None)
    server_env.pop("JUPYTER_CONFIG_PATH", None)
    log = home / "server.log"
    command = [
        str(program),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={Path(root_dir).resolve()}",
    ]
    if os.geteuid() == 0:  # a container's root: JupyterLab refuses root unless told
        command.append("--allow-root")
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=server_env, cwd=str(root_dir)
        )
    kernels: set[int] = set()
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {server.returncode} while starting:\n"
                    + _tail(log)
                )
            try:
                _api(base_url, token, "/api/status", timeout=2)
                break
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"JupyterLab did not answer /api/status within {startup_timeout:.0f} s:\n"
                        + _tail(log)
                    ) from None
                time.sleep(0.2)
        yield base_url, token
    finally:
        kernels.update(_children(server.pid))
        if server.poll() is None:
            shutdown_kernels(base_url, token)
            with contextlib.suppress(OSError):
                _api(base_url, token, "/api/shutdown", method="POST", timeout=10)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=10)
        for pid in kernels:  # a kernel the server did not stop (they run in sessions of their own)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)


# ---- the browser ---------------------------------------------------------------------------------


def require_chromium() -> Path:
    """Debian's chromium, or the test skipped with the reason (`make test` installs it through
    scripts/system-deps.sh on Debian; Ubuntu ships chromium only as a snap, which a container
    cannot run)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"no {CHROMIUM}: `make test` installs Debian's chromium (scripts/system-deps.sh); "
            "on Ubuntu it is a snap, which cannot run here"
        )
    return CHROMIUM


@contextlib.contextmanager
def chromium(playwright: Any) -> Iterator[Any]:
    """Debian's chromium, headless, launched by Playwright (`sync_playwright()`'s object) with no
    background networking, no component updates, no sync and no QUIC (the machine's network is
    closed, and each of these would retry refused connections). Playwright gives each launch a
    fresh profile folder of its own. Skips the test when there is no /usr/bin/chromium."""
    executable = require_chromium()
    browser = playwright.chromium.launch(
        executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


def offline(page: Any) -> None:
    """Refuse at once every request of `page` that is not for the loopback address (or a data
    or blob URL), so that nothing waits on the closed network."""
    local = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")

    def route(request_route: Any) -> None:
        if request_route.request.url.startswith(local):
            request_route.continue_()
        else:
            request_route.abort()

    page.route("**/*", route)


def new_page(browser: Any) -> Any:
    """A page of `browser` at the 1,200 x 900 viewport, offline."""
    page = browser.new_page(viewport=VIEWPORT)
    offline(page)
    return page


def file_page(browser: Any) -> Any:
    """A page at the 1,200 x 900 viewport that may open files and nothing on the network (a
    page written to disk: the step-through's, the live view's replay)."""
    page = browser.new_page(viewport=VIEWPORT)
    page.route("http*://**", lambda route: route.abort())
    return page


# ---- a notebook in JupyterLab --------------------------------------------------------------------

# Run code in the notebook's kernel from the page and resolve to what it printed (JupyterLab's
# own kernel connection, as a cell would run it, without adding a cell to the notebook).
_KERNEL_PRINT = """async (code) => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const future = kernel.requestExecute({code: code, store_history: false});
    let printed = "";
    future.onIOPub = (message) => {
        if (message.header.msg_type === "stream") printed += message.content.text;
        if (message.header.msg_type === "error") printed += message.content.evalue;
    };
    await future.done;
    return printed;
}"""


def kernel_print(page: Any, code: str) -> str:
    """What `code` prints when run in the kernel of the notebook in view (its error's text if it
    raises), without a cell; stripped of surrounding white space."""
    return str(page.evaluate(_KERNEL_PRINT, code)).strip()


# The notebook in view, read through the application object (`expose_app_in_browser`).
_NOTEBOOK_JS = """
const app = window.jupyterapp;
const panel = app && app.shell.currentWidget;
const ready = panel && panel.content && panel.content.model && panel.sessionContext;
"""

_KERNEL_IDLE = (
    "() => {"
    + _NOTEBOOK_JS
    + """
    if (!ready) return false;
    const context = panel.sessionContext;
    return context.isReady && !!context.session && !!context.session.kernel
        && context.session.kernel.status === 'idle';
}"""
)

# Per code cell: its index among the cells, whether it has source, its execution count, whether
# it is queued or running, and its first error output.
_CELL_STATES = (
    "() => {"
    + _NOTEBOOK_JS
    + """
    if (!ready) return null;
    const cells = [];
    const widgets = panel.content.widgets;
    for (let i = 0; i < widgets.length; i++) {
        const model = widgets[i].model;
        if (model.type !== 'code') continue;
        let error = null;
        for (let k = 0; k < model.outputs.length; k++) {
            const output = model.outputs.get(k).toJSON();
            if (output.output_type === 'error') {
                error = `${output.ename}: ${output.evalue}`;
                break;
            }
        }
        const prompt = widgets[i].node.querySelector('.jp-InputPrompt');
        cells.push({
            index: i,
            source: model.sharedModel.getSource().trim().length > 0,
            count: model.executionCount,
            busy: model.executionState === 'running'
                || (!!prompt && prompt.textContent.includes('*')),
            error: error,
            first_line: model.sharedModel.getSource().split('\\n')[0].slice(0, 80),
        });
    }
    return {
        cells: cells,
        kernel: panel.sessionContext.session && panel.sessionContext.session.kernel
            ? panel.sessionContext.session.kernel.status : 'none',
    };
}"""
)


def _wait(page: Any, condition: str, timeout: float, what: str) -> None:
    """Poll `condition` (a JS function of no arguments) in `page` until it is true."""
    try:
        page.wait_for_function(condition, timeout=timeout * 1000, polling=200)
    except Exception as error:  # Playwright's TimeoutError
        raise TimeoutError(f"{what} not within {timeout:.0f} s ({error})") from None


def open_notebook(page: Any, base_url: str, token: str, name: str, timeout: float = 120.0) -> None:
    """Open the notebook `name` (a path under the server's root) in JupyterLab in `page`, at the
    1,200 x 900 viewport (JupyterLab as it opens: file browser shown on the left), alone in a
    fresh workspace, and wait until its kernel has started and is idle."""
    page.set_viewport_size(VIEWPORT)
    # `reset`: a fresh workspace, so the notebooks an earlier page opened are not reopened
    page.goto(f"{base_url}/lab/tree/{name}?reset&token={token}", wait_until="domcontentloaded")
    _wait(
        page,
        "() => {" + _NOTEBOOK_JS + " return !!ready && panel.context.isReady; }",
        timeout,
        f"JupyterLab showing {name}",
    )
    _wait(page, _KERNEL_IDLE, timeout, f"the kernel of {name} idle")


def run_all(page: Any, timeout: float = 300.0) -> dict[str, Any]:
    """Run every cell of the notebook in view (JupyterLab's `notebook:run-all-cells`, as the
    menu Run > Run All Cells does) and wait until each code cell with source has an execution
    count and the kernel is idle. Raises AssertionError naming the first cell that raised (with
    the error), or TimeoutError naming the first cell still queued or running. Returns the
    cells' states (index, count, error) and the run's seconds."""
    start = time.monotonic()
    before = page.evaluate(_CELL_STATES)
    if before is None:
        raise RuntimeError("no notebook in view: call open_notebook first")
    # started, not awaited: the command's promise settles only when the last cell has run
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    deadline = start + timeout
    state = before
    while True:
        state = page.evaluate(_CELL_STATES)
        cells = [c for c in state["cells"] if c["source"]]
        failed = next((c for c in cells if c["error"]), None)
        if failed and not failed["busy"] and state["kernel"] == "idle":
            raise AssertionError(
                f"cell {failed['index']} ({failed['first_line']!r}) raised {failed['error']}"
            )
        done = all(c["count"] is not None and not c["busy"] for c in cells)
        if done and state["kernel"] == "idle":
            break
        if time.monotonic() > deadline:
            waiting = next((c for c in cells if c["busy"] or c["count"] is None), None)
            where = (
                f"cell {waiting['index']} ({waiting['first_line']!r}) still "
                + ("running or queued" if waiting["busy"] else "not run")
                if waiting
                else "all cells ran"
            )
            raise TimeoutError(
                f"Run All not finished within {timeout:.0f} s: {where}; kernel {state['kernel']}"
            )
        time.sleep(0.25)
    return {"cells": state["cells"], "seconds": time.monotonic() - start}


def error_outputs(page: Any) -> list[str]:
    """The text of every stderr output in the page that carries a Python traceback."""
    texts: list[str] = page.eval_on_selector_all(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
        "els => els.map(e => e.innerText)",
    )
    return [text for text in texts if "Traceback" in text]


# ---- drawings ------------------------------------------------------------------------------------

# Every drawing under the output areas (or under `scope` if there are none): pictures (`img` of
# an SVG or a PNG), inline `svg` elements (not those nested in another svg, not icons), and the
# same inside same-origin frames (the step-through page's srcdoc frame). Measured in CSS px:
# the rendered width; the natural width (the picture's own, unscaled); the width of the column
# it sits in (the content box of its output area, or of the frame's body inside a frame); its
# smallest text (font-size times the scale of the text's screen CTM; for an `img` of an SVG, the
# SVG source laid out offscreen at the rendered size); whether it is inside a zoomable container
# (`[data-zoomable]`).
_MEASURE_JS = r"""
async ({outputs, scope}) => {
    const pt = {pt: 4 / 3, px: 1, '': 1, in: 96, cm: 96 / 2.54, mm: 96 / 25.4, pc: 16};
    const length = (text) => {
        const m = /^\s*([0-9.eE+-]+)\s*([a-z%]*)\s*$/.exec(text || '');
        if (!m || m[2] === '%' || !(m[2] in pt)) return null;
        return parseFloat(m[1]) * pt[m[2]];
    };
    const contentWidth = (el) => {
        const style = getComputedStyle(el);
        return el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    };
    const naturalSvgWidth = (svg) => {
        const given = length(svg.getAttribute('width'));
        if (given !== null) return given;
        const box = svg.viewBox && svg.viewBox.baseVal;
        return box && box.width ? box.width : null;
    };
    const smallestText = (svg) => {
        let smallest = null;
        for (const text of svg.querySelectorAll('text')) {
            if (!text.textContent.trim()) continue;
            const ctm = text.getScreenCTM();
            const size = parseFloat(getComputedStyle(text).fontSize);
            if (!ctm || !size) continue;
            const px = size * Math.sqrt(Math.abs(ctm.a * ctm.d - ctm.b * ctm.c));
            if (px > 0 && (smallest === null || px < smallest)) smallest = px;
        }
        return smallest;
    };
    const svgSource = async (src) => {
        const comma = src.indexOf(',');
        if (src.startsWith('data:')) {
            const head = src.slice(0, comma);
            const body = src.slice(comma + 1);
            if (head.endsWith(';base64')) {
                const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
                return new TextDecoder().decode(bytes);
            }
            return decodeURIComponent(body);
        }
        return await (await fetch(src)).text();
    };
    const isSvgImage = (img) =>
        /^data:image\/svg\+xml[,;]/.test(img.src) || /\.svg([?#]|$)/i.test(img.src);
    const isPngImage = (img) =>
        /^data:image\/png[,;]/.test(img.src) || /\.png([?#]|$)/i.test(img.src);
    const cellIndex = (el, doc) => {
        const cell = el.closest('.jp-Cell');
        return cell ? [...doc.querySelectorAll('.jp-Cell')].indexOf(cell) : null;
    };
    const found = [];
    const visit = async (doc, containers, frame) => {
        for (const container of containers) {
            for (const img of container.querySelectorAll('img')) {
                const svg = isSvgImage(img), png = isPngImage(img);
                if (!svg && !png) continue;
                if (!img.complete) await img.decode().catch(() => null);
                const box = img.getBoundingClientRect();
                const item = {
                    kind: svg ? 'img-svg' : 'img-png', element: img, box: box,
                    natural: img.naturalWidth || null, text: null, container: container,
                };
                if (svg) {
                    try {
                        const parsed = new DOMParser().parseFromString(
                            await svgSource(img.src), 'image/svg+xml');
                        const root = parsed.documentElement;
                        if (root.nodeName.toLowerCase() === 'svg') {
                            item.natural = naturalSvgWidth(root) || item.natural;
                            const copy = doc.importNode(root, true);
                            copy.setAttribute('width', String(box.width));
                            copy.setAttribute('height', String(box.height));
                            const holder = doc.createElement('div');
                            holder.style.cssText = 'position:absolute;left:-100000px;top:0;'
                                + 'visibility:hidden;pointer-events:none';
                            holder.appendChild(copy);
                            doc.body.appendChild(holder);
                            item.text = smallestText(copy);
                            holder.remove();
                        }
                    } catch (error) {
                        item.error = String(error);
                    }
                }
                found.push([item, frame]);
            }
            for (const svg of container.querySelectorAll('svg')) {
                if (svg.parentElement && svg.parentElement.closest('svg')) continue;
                const box = svg.getBoundingClientRect();
                if (box.width < 32 && box.height < 32) continue;  // an icon
                found.push([{
                    kind: 'svg', element: svg, box: box, natural: naturalSvgWidth(svg),
                    text: smallestText(svg), container: container,
                }, frame]);
            }
            for (const inner of container.querySelectorAll('iframe')) {
                let innerDoc = null;
                try { innerDoc = inner.contentDocument; } catch (error) { innerDoc = null; }
                if (!innerDoc || !innerDoc.body) continue;
                await visit(innerDoc, [innerDoc.body], {element: inner, doc: doc});
            }
        }
    };
    let containers = [...document.querySelectorAll(outputs)];
    if (!containers.length) containers = [...document.querySelectorAll(scope)];
    await visit(document, containers, null);
    return found.map(([item, frame], n) => {
        const el = item.element;
        const column = frame ? item.container : (el.closest(outputs) || el.parentElement);
        const zoomable = !!el.closest('[data-zoomable]')
            || (!!frame && !!frame.element.closest('[data-zoomable]'));
        const width = item.box.width;
        const scale = item.natural ? width / item.natural : 1;
        return {
            n: n,
            kind: item.kind + (frame ? '-in-frame' : ''),
            cell: cellIndex(frame ? frame.element : el, frame ? frame.doc : document),
            width: Math.round(width * 10) / 10,
            height: Math.round(item.box.height * 10) / 10,
            natural_width: item.natural === null ? null : Math.round(item.natural * 10) / 10,
            column: Math.round(contentWidth(column) * 10) / 10,
            text_px: item.text === null ? null : Math.round(item.text * 100) / 100,
            text_px_natural: item.text === null || !scale ? null
                : Math.round(item.text / scale * 100) / 100,
            zoomable: zoomable,
            error: item.error || null,
        };
    });
}
"""


def measure_drawings(
    page: Any, outputs: str = ".jp-OutputArea-output", scope: str = "body"
) -> list[dict[str, Any]]:
    """Every drawing in `page`'s output areas (`outputs`; `scope` when there are none), as a
    reader sees it at the page's viewport. One dict per drawing, in page order:

    - `kind`: `img-svg`, `img-png` or `svg` (inline), with `-in-frame` when inside a frame;
    - `cell`: the index of its notebook cell (`.jp-Cell`) or None;
    - `width`, `height`: its rendered size in CSS px; `natural_width`: its own width unscaled
      (an SVG's width attribute in px, a PNG's pixels);
    - `column`: the width of the column it sits in (its output area's content box; inside a
      frame, the frame's body);
    - `text_px`: its smallest text in CSS px as rendered (None for a PNG or a drawing without
      text), `text_px_natural`: the same at the natural width;
    - `zoomable`: whether it is inside a `[data-zoomable]` container (one a reader can zoom);
    - `error`: why an SVG picture's source could not be read, else None.
    """
    drawings: list[dict[str, Any]] = page.evaluate(
        _MEASURE_JS, {"outputs": outputs, "scope": scope}
    )
    return drawings


def fits(drawing: dict[str, Any], min_text: float = MIN_TEXT_PX) -> bool:
    """A drawing a reader can read as it is: no wider than its column and no text smaller than
    `min_text` px, or else inside a zoomable container."""
    if drawing["zoomable"]:
        return True
    narrow = drawing["width"] <= drawing["column"] + 0.5
    legible = drawing["text_px"] is None or drawing["text_px"] >= min_text
    return narrow and legible


def table(drawings: list[dict[str, Any]]) -> str:
    """The drawings as a plain text table (one line each), for a failure message or a report."""
    lines = ["  cell kind              width  natural  column  text_px  natural_text  zoom  fits"]
    for d in drawings:
        text = "-" if d["text_px"] is None else f"{d['text_px']:.1f}"
        natural_text = "-" if d["text_px_natural"] is None else f"{d['text_px_natural']:.1f}"
        natural = "-" if d["natural_width"] is None else f"{d['natural_width']:.0f}"
        lines.append(
            f"  {d['cell'] if d['cell'] is not None else '-':>4} {d['kind']:<17}"
            f" {d['width']:>6.0f} {natural:>8} {d['column']:>7.0f} {text:>8} {natural_text:>13}"
            f" {'yes' if d['zoomable'] else 'no':>5} {'yes' if fits(d) else 'NO':>5}"
        )
    return "\n".join(lines)
