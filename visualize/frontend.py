"""The browser side of the pictures: one ES module (`static/stepthrough.js`), shipped in the
package, that every view runs. The notebook widget loads it through anywidget (`widget.py`); a
standalone page, a static export of a notebook and the docs site get it inlined (no CDN, no
kernel), so the step-through works offline and the same everywhere.

This module only packs what the module needs into HTML: the data of a step-through
(`BackwardTrace.page_data()`), or the SVG text of a picture too big for its column.
"""

from __future__ import annotations

import html
import json
import secrets
from functools import cache
from pathlib import Path
from typing import Any

MODULE_PATH = Path(__file__).resolve().parent / "static" / "stepthrough.js"


@cache
def module_text() -> str:
    """The ES module's source (read once)."""
    return MODULE_PATH.read_text(encoding="utf-8")


def script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` appears literally, so no
    label can close the element (`</script>`) or open a comment (`<!--`)."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False)  # JSON.parse takes no NaN
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _element_id() -> str:
    """An id no other view on the page has (two views of one picture, two kernels' outputs)."""
    return f"agc-{secrets.token_hex(8)}"


def _inlined(element: str, data: Any, call: str) -> str:
    """An element, its data as JSON, and the module inlined with `call` at its end (`call` reads
    `el` and `data`)."""
    data_id = f"{element}-data"
    return (
        f'<div id="{element}"></div>\n'
        f'<script type="application/json" id="{data_id}">{script_json(data)}</script>\n'
        f'<script type="module">\n{module_text()}\n'
        f'const el = document.getElementById("{element}");\n'
        f'const data = JSON.parse(document.getElementById("{data_id}").textContent);\n'
        f"{call}\n</script>"
    )


def zoomable_html(svg: str, title: str = "graph") -> str:
    """A picture too big to read at its column's width: shown fitted, with zoom (wheel, buttons)
    and pan (drag), for a notebook output or a docs page."""
    svg = svg[svg.find("<svg") :]
    return _inlined(
        _element_id(),
        {"svg": svg, "title": title},
        "zoomable(el, data.svg, {title: data.title});",
    )


def embedded_html(data: dict[str, Any], predict: bool = False) -> str:
    """The step-through inside another page (a notebook's output, a docs page): it reads
    `#step=K` from the page's address but never writes it or scrolls the page."""
    options = f'{{hash: "read", predict: {json.dumps(bool(predict))}}}'
    return _inlined(_element_id(), data, f"mount(el, data, {options});")


def page_html(data: dict[str, Any], title: str, *, predict: bool = False) -> str:
    """The step-through as a page of its own: `#step=K` opens step K (and follows the steps),
    `?predict` asks the student before each step's answer."""
    options = (
        "{hash: true, predict: "
        f'{json.dumps(bool(predict))} || new URLSearchParams(location.search).has("predict")}}'
    )
    return standalone_page(title, _inlined("app", data, f"mount(el, data, {options});"))


def standalone_page(title: str, body: str) -> str:
    """A page of its own around `body` (markup, trusted) under `title` (text, escaped): the
    step-through's and the live view's replay."""
    return _PAGE.format(title=html.escape(title), body=body)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em 1.2em; color: #222; }}
  h1 {{ font-size: 1.4em; margin: 0 0 0.5em 0; }}
</style>
</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""
