"""Graphviz pictures of a computation graph: `draw_graph(root)`, every value with its name, data
and gradient (`nodes`), or, for a graph too large to read (more than `max_nodes` values), drawn
collapsed: every module (a neuron, a layer) as one box with a summary of its values and
gradients (`collapse`). What any picture names and marks is in `picture`.

Two things are decided here, before dot runs:

- the layout: left to right or top to bottom, a value's cells side by side or stacked, chosen
  from the graph's shape (how many ranks, how many nodes in the fullest rank, how long the
  labels are) so that the picture fits a notebook's column with legible text (`fit`);
- whether dot may run at all: `layout_cost` estimates dot's work, and a picture above
  `MAX_LAYOUT_COST` is drawn collapsed or refused, so drawing never hangs.
"""

from __future__ import annotations

import html
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

import graphviz

from autograd_core import Node
from autograd_core.graph import GRAPH_WALK

from .collapse import draw_collapsed
from .fit import COLUMN_PX, MIN_TEXT_PX, PX_PER_PT, Drawing
from .nodes import (
    CELLPADDING,
    NODESEP,
    OP_FONT,
    RANKSEP,
    SMALL_FONT,
    VALUE_FONT,
    draw_nodes,
    legend_rows,
    legend_table,
)
from .picture import Parameters, Picture, Style, holds_array

# ---- how much work a picture is for dot ----------------------------------------------------------
#
# The limits, measured with dot 2.43 on a 2-core machine: `dot -Tsvg` on the DOT text of
# `draw_graph(out, local_grads=True)` (the page: `collapse=False, backward=True`, no edge labels).
# What makes dot slow is neither the number of nodes (200 nested tanh: 0.06 s; a balanced sum of
# 256 x's: 0.16 s) nor fan-in alone (that sum uses x 256 times), but edges that pass many ranks,
# as from a value used by many operations far apart; a `layout_cost` that counts them predicts it:
#
#   expression                       terms     values   cost           dot
#   x+x+...+x                        30/40/50/60  30-60   1858/3278/5098/7318  0.40/1.6/12/>60 s
#   max(x, max(x, ...))              30/40/50  31-51    1982/3442/5302  0.32/2.1/14 s
#   x*y+x*y+...                      30/40/50  61-101   2099/3599/5499  0.26/2.5/18 s
#   a+b+c+d+f+g+a+b+... (fan-in 6-8) 36/49/64  41-71    2427/4484/7653  0.36/2.0/14 s
#   1*x**1+2*x**2+...                30/40/50  120-200  2308/3878/5848  0.24/1.3/6.0 s
#   ((x+1)+1)... (parser's limit)    199       399      1793            0.11 s
#   balanced sum of x                199/256   199/256  1814/2042       0.12/0.16 s
#   ((x+1)*2+1)*2... collapsed       100       201      5253            18 s (in full: 902, 0.05 s)
#   page of x+x+...+x                50/70/100 50-100   2599/5039/10199 0.06/0.13/0.44 s
#   page of max(x, max(x, ...))      50/70     51-71    2702/5182       0.61/12 s
#   x+x+...+x collapsed              601       601      12              0.02 s
#
# Up to a cost of 2500 no picture took more than 0.6 s; above that, times grow about as the fourth
# power of the cost and reach seconds by ~3300, so 2500 leaves a wide margin for a slower machine.
# Random expressions of 4 variables, up to 2,500 characters (2 x 150 s, 2,255 of them): the
# slowest picture drawn took 0.99 s, the slowest page 0.34 s; those refused had 423 values or more.
MAX_LAYOUT_COST = 2500  # pictures whose `layout_cost` is higher are not given to dot

_ID = r'("(?:[^"\\]|\\.)*"|[^\s\[\]{};:"=]+)'  # a DOT node id: quoted, or a bare word
_EDGE = re.compile(rf"\s*{_ID}(?::\S+)?\s*->\s*{_ID}(?::\S+)?\s*(.*)", re.DOTALL)
_NODE = re.compile(rf"\s*{_ID}\s*(?:\[|$)")
_KEYWORDS = {"graph", "node", "edge", "subgraph", "digraph", "strict"}


@dataclass
class _Shape:
    """A picture's DOT statements as a graph: node ids in order of appearance, each node's
    statement, the edges (tail, head, statement) and the rank dot would roughly give each node."""

    ids: dict[str, int]
    statements: dict[int, str]
    edges: list[tuple[int, int, str]]
    rank: list[int]
    labelled: bool
    cyclic: bool


def _shape(graph: graphviz.Digraph) -> _Shape:
    """Ranks are what dot's ranking would roughly give: each node as early as its inputs allow,
    then moved next to its users when it has at least as many users as inputs (a leaf sits just
    before its first use) and next to its inputs when it has more inputs than users."""
    ids: dict[str, int] = {}
    statements: dict[int, str] = {}
    edges: list[tuple[int, int, str]] = []
    labelled = False
    for statement in graph.body:
        edge = _EDGE.match(statement)
        if edge:
            tail, head = ids.setdefault(edge[1], len(ids)), ids.setdefault(edge[2], len(ids))
            if tail != head:
                edges.append((tail, head, edge[3]))
            labelled = labelled or "label=" in edge[3]
            continue
        node = _NODE.match(statement)
        if node and node[1] not in _KEYWORDS:
            statements[ids.setdefault(node[1], len(ids))] = statement
    n = len(ids)
    users: list[list[int]] = [[] for _ in range(n)]
    inputs: list[list[int]] = [[] for _ in range(n)]
    for tail, head, _ in edges:
        users[tail].append(head)
        inputs[head].append(tail)
    waiting = [len(i) for i in inputs]
    ready = deque(i for i in range(n) if not waiting[i])
    order = []
    while ready:
        i = ready.popleft()
        order.append(i)
        for j in users[i]:
            waiting[j] -= 1
            if not waiting[j]:
                ready.append(j)
    rank = [0] * n
    if len(order) < n:  # a cycle (computation graphs have none)
        return _Shape(ids, statements, edges, rank, labelled, cyclic=True)
    for i in order:
        for j in users[i]:
            rank[j] = max(rank[j], rank[i] + 1)
    for _ in range(2):
        for i in reversed(order):
            if users[i] and len(users[i]) >= len(inputs[i]):
                rank[i] = min(rank[j] for j in users[i]) - 1
        for i in order:
            if inputs[i] and len(inputs[i]) > len(users[i]):
                rank[i] = max(rank[j] for j in inputs[i]) + 1
    return _Shape(ids, statements, edges, rank, labelled, cyclic=False)


def layout_cost(graph: graphviz.Digraph) -> int:
    """An estimate of the work `dot` does on `graph`: its nodes plus, for every edge, how many
    ranks it spans (each rank an edge passes is a virtual node dot has to place and keep from
    crossing others), doubled when edges have labels (dot then puts a rank between every two).

    Read from the DOT statements themselves (ranked as `_shape` says), so it holds for the full
    and the collapsed picture alike. `MAX_LAYOUT_COST` is the measured bound (see above)."""
    shape = _shape(graph)
    n = len(shape.ids)
    if shape.cyclic:  # assume the worst
        return n + len(shape.edges) * n
    spans = sum(shape.rank[head] - shape.rank[tail] for tail, head, _ in shape.edges)
    return n + (2 if shape.labelled else 1) * spans


class LayoutTooCostlyError(ValueError):
    """A picture whose `layout_cost` is over the limit: dot could run for minutes."""

    def __init__(self, message: str, cost: int, limit: int) -> None:
        super().__init__(message)
        self.cost, self.limit = cost, limit


def check_layout_cost(
    graph: graphviz.Digraph, values: int, limit: int, what: str, advice: str
) -> int:
    """`layout_cost(graph)`, or LayoutTooCostlyError in one line if it is over `limit`: what
    was refused, its size, its cost, the limit, and `advice` (what to do instead)."""
    cost = layout_cost(graph)
    if cost > limit:
        raise LayoutTooCostlyError(
            f"{what} of {values} values is too tangled for dot to lay out quickly: layout cost "
            f"{cost} (limit {limit}); {advice}",
            cost,
            limit,
        )
    return cost


# ---- the layout: estimated sizes, before dot runs ----------------------------------------------

_CHAR_EM = 0.556  # Helvetica's advance of a digit and of most lower-case letters, in ems
_NARROW, _MID, _WIDE = 0.278, 0.36, 0.72
_BOLD = 1.08
_PLAINTEXT_MARGIN = (2 * 0.04 * 72, 2 * 0.02 * 72)  # the node margin of `new_digraph`, both sides
_CELL_EXTRA = 2 * CELLPADDING + 2  # the padding on both sides and the border of a cell
_LINE = 1.25  # a line of text is about 1.25 ems high
_VIRTUAL = 8.0  # the room a rank gives an edge passing through it, in points
_TAG = re.compile(r"<[^>]*>")
_ROW = re.compile(r"<TR>(.*?)</TR>", re.S)
_CELL = re.compile(r"<TD[^>]*>(.*?)</TD>", re.S)
_FONTSIZE = re.compile(r"\bfontsize=\"?([0-9.]+)")
_LABEL = re.compile(r'\blabel=(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """Helvetica's advance widths, roughly: narrow punctuation and i/l/j, a few mid-width
    letters, wide m/w and capitals, and everything else (digits included) at 0.556 em."""
    ems = sum(_NARROW if c in " .,:;|!ilj'" else _MID if c in "frt-()[]" else
              _WIDE if c in "mwMW" or c.isupper() else _CHAR_EM for c in text)  # fmt: skip
    return ems * size * (_BOLD if bold else 1.0)


def _html_box(label: str, size: float) -> tuple[float, float]:
    """Width and height (points) of one of our HTML-like table labels."""
    rows = _ROW.findall(label) or [label]
    width, height = 0.0, 0.0
    for row in rows:
        cells = _CELL.findall(row) or [row]
        texts = [(html.unescape(_TAG.sub("", c)), "<B>" in c) for c in cells]
        width = max(width, sum(_text_width(t, size, b) + _CELL_EXTRA for t, b in texts))
        height += size * _LINE + _CELL_EXTRA
    return width, height


def _node_box(statement: str) -> tuple[float, float]:
    """Width and height in points of a node of ours, from its DOT statement."""
    found = _FONTSIZE.search(statement)
    size = float(found[1]) if found else VALUE_FONT
    if "label=<<TABLE" in statement:
        table = statement[statement.index("<<TABLE") : statement.index("</TABLE>>")]
        w, h = _html_box(table, size)
        return w + _PLAINTEXT_MARGIN[0], h + _PLAINTEXT_MARGIN[1]
    text = statement[statement.find("label=<") + 7 : statement.find(">", statement.find("label=<"))]
    w = _text_width(html.unescape(text), OP_FONT)
    least = 0.3 * 72
    if "shape=circle" in statement:
        side = max(least, w + 8)
        return side, side
    return max(least, w * 1.25 + 10), least


def _edge_label_box(statement: str) -> tuple[float, float] | None:
    found = _LABEL.search(statement)
    if not found:
        return None
    text = html.unescape(found[1] if found[1] is not None else found[2])
    return _text_width(text, SMALL_FONT) + 4, SMALL_FONT * _LINE + 2


@dataclass(frozen=True)
class Estimate:
    """A picture's size before dot lays it out, in CSS pixels, and how it would show in the
    column: `scale` and its smallest text there (`fit.Fit`'s rule, applied to the estimate)."""

    rankdir: str
    stacked: bool
    width_px: float
    height_px: float
    min_font_px: float
    column_px: float = COLUMN_PX
    graph_width_px: float = 0.0  # the graph's alone, without the legend under it

    @property
    def scale(self) -> float:
        return min(1.0, self.column_px / self.width_px) if self.width_px > 0 else 1.0

    @property
    def natural(self) -> bool:
        """Whether it fits the column unscaled (with the same tenth in hand as `fits`)."""
        return self.width_px <= 0.9 * self.column_px

    @property
    def fits(self) -> bool:
        # the estimate is rough (text widths are guessed): keep a tenth in hand
        return self.min_font_px * min(1.0, 0.9 * self.column_px / self.width_px) >= MIN_TEXT_PX


def estimate(
    graph: graphviz.Digraph, rankdir: str, column_px: float = COLUMN_PX, stacked: bool = False
) -> Estimate:
    """The size dot would give `graph` laid out with `rankdir` (LR or TB): nodes are placed rank
    by rank (`_shape`), ranks side by side along `rankdir` and a rank's nodes across it; an edge
    label is a node of its own in a rank between its ends (that is how dot makes room for it),
    and an edge that passes a rank takes a little room there. The graph's label (the legend) is
    below it. Sizes of text are guessed from Helvetica's mean character width."""
    shape = _shape(graph)
    across = rankdir in ("LR", "RL")
    boxes: dict[int, list[tuple[float, float]]] = {}
    step = 2 if shape.labelled else 1  # dot puts a rank between every two when edges have labels
    for node, statement in shape.statements.items():
        boxes.setdefault(shape.rank[node] * step, []).append(_node_box(statement))
    for tail, head, statement in shape.edges:
        low, high = shape.rank[tail] * step, shape.rank[head] * step
        label = _edge_label_box(statement)
        middle = (low + high) // 2
        for r in range(low + 1, high):
            box = label if label and r == middle else None
            boxes.setdefault(r, []).append(box or (_VIRTUAL, _VIRTUAL))
    nodesep = float(graph.graph_attr.get("nodesep", NODESEP)) * 72
    ranksep = float(graph.graph_attr.get("ranksep", RANKSEP)) * 72
    if shape.labelled:
        ranksep /= 2  # dot halves the separation when it doubles the ranks for edge labels
    along = cross = 0.0
    for members in boxes.values():
        # along the ranks: the rank's deepest node; across them: its nodes and the gaps between
        depth = max(h if not across else w for w, h in members)
        breadth = sum(w if not across else h for w, h in members) + nodesep * (len(members) - 1)
        along += depth
        cross = max(cross, breadth)
    along += ranksep * max(len(boxes) - 1, 0)
    # dot rarely packs a rank tight: its nodes are pulled toward their neighbours in the next
    # ranks, so the widest rank takes more room than its nodes and gaps (measured: ~1.2x)
    cross *= 1.2
    width, height = (along, cross) if across else (cross, along)
    graph_width = (width + 16) * PX_PER_PT
    legend = graph.graph_attr.get("label", "")
    if legend.startswith("<<TABLE"):
        w, h = _html_box(legend, SMALL_FONT)
        width, height = max(width, w), height + h
    pad = 2 * 0.05 * 72 + 8  # the graph's pad and dot's margin around it
    fonts: list[float] = [float(SMALL_FONT)] if shape.labelled or legend else []
    fonts += [float(f) for f in _FONTSIZE.findall("".join(shape.statements.values()))]
    smallest = min(fonts, default=VALUE_FONT) * PX_PER_PT
    return Estimate(
        rankdir,
        stacked,
        (width + pad) * PX_PER_PT,
        (height + pad) * PX_PER_PT,
        smallest,
        column_px,
        graph_width,
    )


def _best(candidates: list[tuple[Drawing, Estimate]]) -> tuple[Drawing, Estimate]:
    """The first candidate (they come in order of preference) that fits the column at its
    natural size, else the first that fits it scaled down with legible text, else the one drawn
    at the largest scale (and, of those, the shortest)."""
    for candidate in candidates:
        if candidate[1].natural:
            return candidate
    for candidate in candidates:
        if candidate[1].fits:
            return candidate
    return max(candidates, key=lambda c: (round(c[1].scale, 3), -c[1].height_px))


def _choose(
    candidates: list[tuple[Drawing, str, bool]], column_px: float
) -> tuple[Drawing, Estimate]:
    """Of (drawing, rankdir, stacked) candidates, in order of preference, the best (`_best`),
    its rankdir set."""
    estimated = [
        (d, estimate(d, rankdir, column_px, stacked)) for d, rankdir, stacked in candidates
    ]
    drawing, chosen = _best(estimated)
    drawing.graph_attr["rankdir"] = chosen.rankdir
    return drawing, chosen


def _widen_legend(drawing: Drawing, rows: list[tuple[str, str]], chosen: Estimate) -> None:
    """A legend of many rows in two columns when that is no wider than the graph: half as tall,
    and the picture no wider."""
    if len(rows) < 5 or "label" not in drawing.graph_attr:
        return
    two_w, _ = _html_box(legend_table(rows, columns=2), SMALL_FONT)
    if two_w * PX_PER_PT <= 0.8 * chosen.graph_width_px:  # (the estimate errs on the wide side)
        drawing.graph_attr["label"] = legend_table(rows, columns=2)


_UNSET: Any = object()


def draw_graph(
    root: Node,
    *,
    parameters: Parameters = None,
    show_grad: bool = True,
    constant_grads: bool = False,
    rankdir: str | None = None,
    max_nodes: int = 300,
    collapse: bool | None = None,
    precision: int = 4,
    local_grads: bool = False,
    legend: bool = True,
    backward: bool = False,
    style: Style | None = None,
    picture: Picture | None = None,
    max_cost: int | None = _UNSET,
    column_px: float = COLUMN_PX,
) -> Drawing:
    """A `graphviz.Digraph` (a `Drawing`) of everything `root` depends on (a Value or a Tensor).

    `parameters` (a Module, a mapping name -> parameter, or a list) are drawn as parameters under
    their names. `local_grads=True` labels each input edge of a scalar op with its local gradient.
    `backward=True` points the arrows the way gradients flow. `constant_grads=True` shows the
    gradients of constants too.

    The layout is chosen to fit a notebook column `column_px` CSS pixels wide with text of at
    least 9 px (`fit`): left to right or top to bottom, cells side by side or stacked, from the
    graph's shape; `rankdir` ("LR", "TB", "RL", "BT") fixes the direction ("auto" or None:
    chosen). A picture that cannot fit shows in a notebook as a zoom-and-pan view.

    A graph of more than `max_nodes` values, or one too tangled for dot to lay out quickly (its
    `layout_cost` over `max_cost`, by default `MAX_LAYOUT_COST`), is drawn collapsed by module;
    `collapse=True` forces it, `collapse=False` draws every node, and either raises ValueError
    (`LayoutTooCostlyError`) if the picture is over the cost limit, before dot ever runs.
    `max_cost=None` lifts the limit (for DOT text that no dot will lay out, or a caller that
    checks it itself).
    In Jupyter the result shows as SVG; `.render()` or `.pipe(format=...)` writes it.
    """
    with GRAPH_WALK:  # the gradients as one pass left them, never half of another thread's
        if rankdir == "auto":
            rankdir = None
        if rankdir is not None and rankdir not in ("LR", "TB", "RL", "BT"):
            raise ValueError(f"rankdir must be LR, TB, RL, BT or 'auto', got {rankdir!r}")
        limit = MAX_LAYOUT_COST if max_cost is _UNSET else max_cost
        picture = picture or Picture(root, parameters)
        rankdirs = [rankdir] if rankdir else ["LR", "TB"]
        title = f"computation graph of {picture.names[-1]}"
        if not collapse and not (collapse is None and len(picture) > max_nodes):
            options = dict(
                show_grad=show_grad,
                constant_grads=constant_grads,
                rankdir=rankdirs[0],
                precision=precision,
                local_grads=local_grads,
                legend=legend,
                backward=backward,
                style=style,
            )
            row = draw_nodes(picture, range(len(picture)), **options)  # type: ignore[arg-type]
            # in order of preference: cells side by side, left to right before top to bottom
            candidates = [(row, r, False) for r in rankdirs]
            if not all(holds_array(node) for node in picture.order):  # (arrays are stacked anyway)
                stacked = draw_nodes(picture, range(len(picture)), stacked=True, **options)  # type: ignore[arg-type]
                # Top to bottom, edge labels between narrow stacked boxes collide where the edges
                # converge on an op (dot keeps its label nodes apart left to right, not across):
                # with labels, stacked boxes are only laid out left to right.
                labelled = local_grads or bool(style and style.edges)
                candidates += [(stacked, r, True) for r in rankdirs if not labelled or r in "LRRL"]
            full, chosen = _choose(candidates, column_px)
            cost = layout_cost(full)
            if limit is None or cost <= limit:
                _widen_legend(full, [*legend_rows(picture), *(style or Style()).legend], chosen)
                full.title = title
                return full
            if collapse is False:
                advice = "draw it with collapse=True, or draw a smaller graph"
                check_layout_cost(full, len(picture), limit, "the picture", advice)
        collapsed = draw_collapsed(
            picture, parameters, rankdir=rankdirs[0], precision=precision, legend=legend
        )
        drawing, _ = _choose([(collapsed, r, True) for r in rankdirs], column_px)
        if limit is not None:
            advice = "draw a smaller graph (or a part of it: collapsed_page opens each box)"
            check_layout_cost(drawing, len(picture), limit, "even the collapsed picture", advice)
        drawing.title = f"collapsed {title}"
        return drawing


def draw_marked(
    picture: Picture, parameters: Parameters, style: Style, options: dict[str, Any]
) -> graphviz.Digraph:
    """`draw_graph` with a finding's marks (the checks'); every node drawn unless `options` say
    otherwise (a collapsed picture has no per-node colours)."""
    options.setdefault("collapse", False)
    return draw_graph(picture.root, parameters=parameters, picture=picture, style=style, **options)
