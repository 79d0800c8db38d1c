"""The browser side of the live training view: one ES module (`static/live.js`), shipped in the
package. The notebook widget loads it through anywidget (`live_widget.py`); a saved run
(`Live.save`) inlines it into a page that replays the run with no kernel.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from typing import Any

from .frontend import script_json, standalone_page

LIVE_MODULE_PATH = Path(__file__).resolve().parent / "static" / "live.js"


@cache
def live_module_text() -> str:
    """The live view's ES module (read once)."""
    return LIVE_MODULE_PATH.read_text(encoding="utf-8")


def embedded_replay_html(record: dict[str, Any], element: str = "") -> str:
    """The replay of a recorded run (`record`: the setup and every frame) with play, pause and
    a slider, from the module inlined (no kernel, no network), inside another page: a notebook's
    output, the docs site. `element` is the id of its element (by default one no other view on
    the page has)."""
    element = element or f"live-{secrets.token_hex(8)}"
    return (
        f'<div id="{element}" class="agl-replay"></div>\n'
        f'<script type="application/json" id="{element}-data">{script_json(record)}</script>\n'
        f'<script type="module">\n{live_module_text()}\n'
        f'const record = JSON.parse(document.getElementById("{element}-data").textContent);\n'
        f'replay(document.getElementById("{element}"), record);\n</script>'
    )


def replay_html(record: dict[str, Any], title: str) -> str:
    """The replay of a recorded run as a page of its own (`#frame=K` opens frame K)."""
    return standalone_page(title, embedded_replay_html(record, "live"))
