"""The browser side of the live training view: one ES module (`static/live.js`), shipped in the
package. The notebook widget loads it through anywidget (`live_widget.py`); a saved run
(`Live.save`) inlines it into a page that replays the run with no kernel.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from typing import Any

from .frontend import script_json

LIVE_MODULE_PATH = Path(__file__).resolve().parent / "static" / "live.js"


@cache
def live_module_text() -> str:
    """The live view's ES module (read once)."""
    return LIVE_MODULE_PATH.read_text(encoding="utf-8")


def replay_html(record: dict[str, Any], title: str) -> str:
    """A page of its own that replays a recorded run (`record`: the setup and every frame) with
    play, pause and a slider, from the module inlined: no kernel, no network."""
    body = (
        '<div id="live"></div>\n'
        f'<script type="application/json" id="live-data">{script_json(record)}</script>\n'
        f'<script type="module">\n{live_module_text()}\n'
        'const record = JSON.parse(document.getElementById("live-data").textContent);\n'
        'replay(document.getElementById("live"), record);\n</script>'
    )
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
