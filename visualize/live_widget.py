"""The live training view as a notebook widget: anywidget runs the package's ES module
(`static/live.js`), the same machinery as the step-through's (`widget.py`).

The page asks, the kernel answers: each button press (and, while playing, each next step) is a
message to the kernel (`Live.handle`), whose answer is the new frame, synced as `frame`; the
page asks for the next step only when the last has arrived, so one step at most is in flight
and a pause stops the updates at once. What changes rarely (the graph's picture, the classes,
the learning rate) is `setup`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from .live_page import live_module_text


class LiveWidget(anywidget.AnyWidget):
    """The view of one `Live` run; `handler` gets each request of the page (a dict)."""

    _esm = live_module_text()
    setup = traitlets.Dict().tag(sync=True)  # Live.setup()
    frame = traitlets.Dict().tag(sync=True)  # Live.frame_json(): the frame shown
    error = traitlets.Unicode("").tag(sync=True)  # why the last request was refused

    def __init__(self, handler: Callable[[dict[str, Any]], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handler = handler
        self.on_msg(self._received)

    def _received(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict):
            self.error = ""
            self.handler(content)
