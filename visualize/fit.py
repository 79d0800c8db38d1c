"""Whether a picture can be read in a notebook: the rule every graph picture is held to.

The documentation site shows an `image/svg+xml` output at its natural size, but never wider than
the column it sits in (`max-width: 100%`): a picture wider than the column is scaled down, text
and all. So what decides whether a picture can be read is the size its smallest text has *after*
that scaling. JupyterLab does not scale an SVG output at all: one wider than its column runs off
the column's edge (at a 1,200 px window with the file browser open the column is 768 px), so in
a notebook a picture is shown as SVG only when it is no wider than `NOTEBOOK_COLUMN_PX` (760,
a margin under that).
`svg_fit` measures it from Graphviz's SVG: the picture's width and height (Graphviz writes
points; CSS draws 4/3 pixels per point) and the smallest `font-size` of its text. A picture fits
when that text is at least `MIN_TEXT_PX` pixels.

`draw_graph` chooses its layout by this rule, the tests hold the lessons' pictures to it, and a
picture that cannot keep to it is shown as a zoom-and-pan view instead (`Drawing`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import graphviz

from autograd_core.doctor import NO_DOT

from .frontend import zoomable_html

COLUMN_PX = 1000.0  # the column a picture is laid out for (a notebook's at a wide window), px
NOTEBOOK_COLUMN_PX = 760.0  # JupyterLab's output column at a 1,200 px window, sidebar open
MIN_TEXT_PX = 9.0  # the smallest text that still reads at arm's length on a laptop screen
PX_PER_PT = 4.0 / 3.0  # CSS: 96 pixels per inch, Graphviz: 72 points per inch

_SVG_TAG = re.compile(r"<svg\b[^>]*>", re.S)
_LENGTH = re.compile(r"([0-9.]+)\s*(pt|px|in|cm|mm)?")
_FONT_SIZE = re.compile(r"""font-size=["']([0-9.]+)""")
_GRAPH_SCALE = re.compile(
    r"""<g\b[^>]*class=["']graph["'][^>]*transform=["'][^"']*scale\(([^)]*)\)"""
)
_UNITS_PX = {"pt": PX_PER_PT, "px": 1.0, "in": 96.0, "cm": 96.0 / 2.54, "mm": 9.6 / 2.54}


@dataclass(frozen=True)
class Fit:
    """How an SVG picture shows in a column `column_px` wide.

    `width_px` and `height_px` are its natural size in CSS pixels, `scale` what the column
    shrinks it by (1 when it is narrower), `rendered_width_px` its width there, `min_font_px` its
    smallest text at natural size and `min_text_px` that text as shown."""

    width_px: float
    height_px: float
    column_px: float
    min_font_px: float

    @property
    def scale(self) -> float:
        return min(1.0, self.column_px / self.width_px) if self.width_px > 0 else 1.0

    @property
    def rendered_width_px(self) -> float:
        return min(self.width_px, self.column_px)

    @property
    def min_text_px(self) -> float:
        return self.min_font_px * self.scale

    @property
    def fits(self) -> bool:
        """Whether the smallest text is still legible (a picture without text always is)."""
        return self.min_text_px >= MIN_TEXT_PX


def _length_px(value: str) -> float:
    match = _LENGTH.match(value.strip())
    if not match:
        raise ValueError(f"not an SVG length: {value!r}")
    return float(match[1]) * _UNITS_PX.get(match[2] or "px", 1.0)


def _attribute(tag: str, name: str) -> str | None:
    match = re.search(rf"""\b{name}=["']([^"']*)["']""", tag)
    return match[1] if match else None


def svg_fit(svg: str, column_px: float = COLUMN_PX) -> Fit:
    """How the SVG `svg` (as Graphviz writes it) shows in a column `column_px` CSS pixels wide:
    its natural size, the scale the column applies, and the smallest text before and after it.

    Font sizes are in the SVG's user units; they are turned into pixels by the ratio of the
    picture's width to its viewBox and by the scale Graphviz puts on the graph's group (set when
    the graph has a `size`), so a picture drawn smaller than its layout is measured as drawn."""
    tag = _SVG_TAG.search(svg)
    if not tag:
        raise ValueError("no <svg> element in the text")
    width_text, height_text = _attribute(tag[0], "width"), _attribute(tag[0], "height")
    view_box = _attribute(tag[0], "viewBox")
    box = [float(v) for v in view_box.replace(",", " ").split()] if view_box else []
    if width_text is None and len(box) == 4:
        width_text, height_text = f"{box[2]}pt", f"{box[3]}pt"  # Graphviz's user unit is a point
    if width_text is None or height_text is None:
        raise ValueError("the <svg> element has neither width and height nor a viewBox")
    width, height = _length_px(width_text), _length_px(height_text)
    per_unit = width / box[2] if len(box) == 4 and box[2] > 0 else PX_PER_PT
    scale = _GRAPH_SCALE.search(svg)
    if scale:
        per_unit *= float(scale[1].replace(",", " ").split()[0])
    sizes = [float(size) for size in _FONT_SIZE.findall(svg)]
    smallest = min(sizes) * per_unit if sizes else math.inf
    return Fit(width_px=width, height_px=height, column_px=column_px, min_font_px=smallest)


def drawing_fit(graph: graphviz.Digraph, column_px: float = COLUMN_PX) -> Fit:
    """`svg_fit` of `graph` laid out by dot (runs dot once)."""
    return svg_fit(graph.pipe(format="svg").decode("utf-8"), column_px)


class GraphvizNotFound(graphviz.ExecutableNotFound):
    """Graphviz's `dot` program is missing (a system package `pip install` cannot bring): one
    error for every drawing entry point, saying how to install it and pointing to the doctor.
    A `graphviz.ExecutableNotFound`, so code that catches that still catches it."""

    def __init__(self) -> None:
        RuntimeError.__init__(self, NO_DOT)


class Drawing(graphviz.Digraph):
    """A `graphviz.Digraph` (`.pipe`, `.render`, `.source`, `.copy()` as ever) that shows itself
    in a notebook as SVG when it fits the column legibly (`svg_fit`), and otherwise as a view
    that opens fitted to the column and zooms and pans (`frontend.zoomable_html`): scaled down
    to the column a large graph's text is too small to read, and an SVG output cannot zoom.

    `title` names the picture in that view (and is kept by `copy()` and subgraphs)."""

    def __init__(self, *args: Any, title: str = "computation graph", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = title

    def _copy_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        # (graphviz's Dot._copy_kwargs does not pass on keywords it does not know: add it here)
        copied: dict[str, Any] = super()._copy_kwargs(**kwargs)
        copied["title"] = self.title
        return copied

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        """graphviz's `pipe`, with `GraphvizNotFound` when there is no `dot`."""
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound() from None

    def render(self, *args: Any, **kwargs: Any) -> Any:
        """graphviz's `render`, with `GraphvizNotFound` when there is no `dot`."""
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound() from None

    def fit(self, column_px: float = COLUMN_PX) -> Fit:
        """How the picture shows in a column `column_px` CSS pixels wide (runs dot once)."""
        return drawing_fit(self, column_px)

    def _repr_mimebundle_(
        self,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        **_: Any,
    ) -> dict[str, str]:
        """SVG when the picture fits a notebook's column at its own size with legible text;
        else the zoomable view as HTML, which front ends prefer, with the SVG beside it for
        what reads pictures only (what a caller asks for with `include`, or refuses with
        `exclude`, wins)."""
        svg = self.pipe(format="svg", encoding="utf-8")
        wanted = set(include) if include is not None else set()
        if not wanted:
            shown = svg_fit(svg, NOTEBOOK_COLUMN_PX)
            fits = shown.fits and shown.width_px <= NOTEBOOK_COLUMN_PX
            wanted = {"image/svg+xml"} if fits else {"image/svg+xml", "text/html"}
        wanted -= set(exclude or ())
        bundle = {}
        if "image/svg+xml" in wanted:
            bundle["image/svg+xml"] = svg
        if "text/html" in wanted:
            bundle["text/html"] = zoomable_html(svg, self.title)
        return bundle
