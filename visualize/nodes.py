"""Drawing a graph node by node, as micrograd's `draw_dot`: one box per value (name | data |
grad), one small node per operation, edges input -> op -> output.

Ops are coloured by their gate pattern (add distributes, mul swaps, max routes, a value used more
than once is a copy whose gradients add up), and a legend explains every op present with its
meaning, read from the op that made each node (`node.function`, from `autograd_core.ops`, or a
user's `Function`).

Node ids are topological indices (`v0`, `v1`, ... and `v3op` for the op that made `v3`; edges
`e3_0` for the first input of v3's op, `e3` from v3's op to v3), so the same graph gives the same
DOT text on every run, and the ids reach the SVG, where the step-through page restyles them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import graphviz

from autograd_core import Node

from .fit import Drawing
from .picture import FILL, KIND_MEANINGS, Picture, Style, drawn, fmt, format_value, holds_array

# The gate patterns the lessons name get a colour; what each op does is its own `meaning`.
GATE_COLOURS = {"add": "#1f78b4", "mul": "#e6550d", "max": "#33a02c", "copy": "#6a3d9a"}
OTHER_OP_COLOUR = "#555555"
COPY_MEANING = "copy: a value used more than once adds up the gradients of its uses"
HAND_MADE = "an op of your own (its local gradients are what you gave)"
WRONG = "#f4a6a6"  # a finding: a wrong local gradient (or value), the first non-finite number
RED_EDGE = "#d62728"  # the input edge that carries the wrong or non-finite number

# Sizes, in points (a notebook shows a point as 4/3 CSS pixels before it scales the picture to
# its column). The smallest, 9 pt, is 12 px: still 9 px in a picture scaled to 3/4 (`fit`).
VALUE_FONT = 10  # a value's cells
OP_FONT = 10  # an op's symbol
SMALL_FONT = 9  # constants, edge labels, the legend
CELLPADDING = 3  # (room too for a browser whose Helvetica is the wider DejaVu Sans)
NODESEP = "0.12"  # inches between two nodes of one rank
RANKSEP = "0.22"  # inches between ranks
LABELLED_NODESEP = "0.2"  # between two nodes of a rank when edges have labels


def draw_nodes(
    picture: Picture,
    indices: Iterable[int],
    *,
    show_grad: bool = True,
    constant_grads: bool = False,
    rankdir: str = "LR",
    precision: int = 4,
    local_grads: bool = False,
    legend: bool = True,
    backward: bool = False,
    style: Style | None = None,
    stacked: bool = False,
) -> Drawing:
    """Some nodes of a picture (all of them for `draw_graph`), each with the op that made it. An
    input from outside the chosen nodes is drawn as a dashed stub that only names it.

    `stacked` puts a value's cells one under another (name, data, grad) instead of side by
    side: a box half as wide, for pictures whose ranks run across the page."""
    style = style or Style()
    chosen = set(indices)
    dot = new_digraph(rankdir, backward)
    for i in sorted(chosen):
        _add_value(dot, picture, i, style, show_grad, constant_grads, precision, stacked)
        if picture.order[i].parents:
            _add_op(dot, picture, i, style, local_grads, precision)
    stubs = {p for i in chosen for p in picture.parent_indices(i)} - chosen
    for p in sorted(stubs):
        dot.node(
            f"v{p}", html_label([picture.names[p]]), shape="plaintext", style="dashed",
            fontcolor="#777777", id=f"v{p}", **{"class": "stub"},
        )  # fmt: skip
    if local_grads or style.edges:
        # an edge label is a node of its rank to dot, kept only `nodesep` from the next one:
        # a little more room keeps two labels apart in any browser's fallback for Helvetica
        dot.graph_attr["nodesep"] = LABELLED_NODESEP
    if legend:
        add_legend(dot, picture, style.legend)
    return dot


def new_digraph(rankdir: str, backward: bool) -> Drawing:
    """An empty picture with the house style; `backward` points arrows the way gradients flow.

    The spacing is tighter than Graphviz's (ranks 0.22 inch apart instead of 0.5, nodes 0.12
    instead of 0.25): a lesson's picture must fit a notebook's column at a legible size (see
    `fit`), and the gaps, not the text, are what can give."""
    # ordering=in keeps an op's inputs in their order (w0 above w1), not graphviz's choice
    dot = Drawing(
        name="computation_graph",
        graph_attr={
            "rankdir": rankdir,
            "ordering": "in",
            "nodesep": NODESEP,
            "ranksep": RANKSEP,
            "pad": "0.05",
            "fontname": "Helvetica",  # the legend's (the graph's label)
        },
    )
    dot.attr("node", fontname="Helvetica", fontsize=str(VALUE_FONT), margin="0.04,0.02")
    dot.attr(
        "edge",
        fontname="Helvetica",
        fontsize=str(SMALL_FONT),
        arrowsize="0.7",
        dir="back" if backward else "forward",
    )
    return dot


def html_label(cells: list[str], bold_first: bool = True, stacked: bool = False) -> str:
    """A table label (Graphviz's HTML-like labels), every cell escaped: one row of cells, or with
    `stacked` one cell per row (for arrays, whose summaries are long, and for pictures that must
    be narrow)."""
    tds = []
    for k, text in enumerate(cells):
        escaped = drawn(text) or " "
        align = ' ALIGN="LEFT"' if stacked else ""
        tds.append(
            f"<TD{align}>{'<B>' + escaped + '</B>' if k == 0 and bold_first else escaped}</TD>"
        )
    rows = "</TR><TR>".join(tds) if stacked else "".join(tds)
    return (
        f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="{CELLPADDING}"><TR>'
        + rows
        + "</TR></TABLE>>"
    )


def _add_value(
    dot: graphviz.Digraph,
    picture: Picture,
    i: int,
    style: Style,
    show_grad: bool,
    constant_grads: bool,
    precision: int,
    stacked: bool = False,
) -> None:
    node, kind = picture.order[i], picture.kinds[i]
    grad = node.grad if style.grads is None else style.grads.get(i)
    if kind == "constant":
        cells = [picture.names[i]]
        if constant_grads and show_grad:
            cells.append("grad " + format_value(grad, precision))
    else:
        cells = [picture.names[i]]
        if holds_array(node):
            cells.append(f"{node.shape} {node.dtype}")
        cells.append("data " + format_value(node.data, precision))
        if show_grad:
            cells.append("grad " + format_value(grad, precision))
    if i in style.notes:
        cells.append(style.notes[i])
    attrs = {
        "shape": "plaintext",
        "style": "filled",
        "fillcolor": style.fills.get(i, FILL[kind]),
        "id": f"v{i}",
        "class": f"value {kind}",
    }
    if kind == "constant":
        attrs.update(fontcolor="#555555", fontsize=str(SMALL_FONT))
    if kind == "output":
        attrs["penwidth"] = "2"
    label = html_label(cells, bold_first=kind != "constant", stacked=stacked or holds_array(node))
    dot.node(f"v{i}", label, **attrs)


def gate_colour(node: Node) -> str:
    """The colour of the gate pattern of the op that made `node` (grey for one of your own)."""
    gate = getattr(node.function, "gate", "")  # (no function: made by hand)
    return GATE_COLOURS.get(gate, OTHER_OP_COLOUR)


def _add_op(
    dot: graphviz.Digraph, picture: Picture, i: int, style: Style, local_grads: bool, precision: int
) -> None:
    node = picture.order[i]
    colour = gate_colour(node)
    shape = "circle" if len(node.op) <= 3 else "ellipse"
    dot.node(
        f"v{i}op",
        f"<{drawn(node.op)}>",  # HTML-like: a backslash in it stays a backslash
        shape=shape,
        width="0.3",  # (Graphviz's smallest node is 0.75 x 0.5 inch: wider than a "+" needs)
        height="0.3",
        fontsize=str(OP_FONT),
        color=colour,
        fontcolor=colour,
        penwidth="2",
        id=f"v{i}op",
        **{"class": "op"},
    )
    dot.edge(f"v{i}op", f"v{i}", color=colour, id=f"e{i}")
    local = getattr(node, "local_grads", ())
    for k, p in enumerate(picture.parent_indices(i)):
        attrs = {"id": f"e{i}_{k}"}  # node i's input k: unique even for x * x
        if picture.uses[p] > 1 and picture.kinds[p] != "constant":  # a constant adds nothing up
            attrs.update(color=GATE_COLOURS["copy"], penwidth="2")
        if local_grads and k < len(local):
            attrs["label"] = drawn(f"local {fmt(local[k], precision)}")
        if (p, i) in style.edges:
            colour_, label = style.edges[(p, i)]
            attrs.update(color=colour_, fontcolor=colour_, penwidth="3", label=drawn(label))
        dot.edge(f"v{p}", f"v{i}op", **attrs)


def legend_rows(picture: Picture) -> list[tuple[str, str]]:
    """(colour, meaning) for every op and every kind of node the picture shows."""
    rows: list[tuple[str, str]] = []
    seen: set[Any] = set()
    for node in picture.order:
        if not node.parents:
            continue  # a leaf was made by no op (a constant's "const" included): its kind says it
        function = node.function
        if function is None and node.op not in seen:
            seen.add(node.op)  # made by hand from numbers: nothing is known of it but its name
            rows.append((OTHER_OP_COLOUR, f"{node.op}: {HAND_MADE}"))
        elif function is not None and function not in seen:
            seen.add(function)
            rows.append((gate_colour(node), function.meaning))
    if any(n > 1 and k != "constant" for n, k in zip(picture.uses, picture.kinds)):
        rows.append((GATE_COLOURS["copy"], COPY_MEANING))
    kinds = set(picture.kinds)
    rows += [(FILL[kind], KIND_MEANINGS[kind]) for kind in FILL if kind in kinds]
    return rows


def add_legend(
    dot: graphviz.Digraph, picture: Picture, extra: Iterable[tuple[str, str]] = ()
) -> None:
    """What the colours of this picture mean, as the graph's own label under the picture.

    A graph label is not a node: dot does not rank it, so it sits below the graph (never above
    it, where it would take the first screen) and makes the picture no wider unless its text is
    wider than the graph. Its entries are those of this picture only (`legend_rows`)."""
    rows = [*legend_rows(picture), *extra]
    if not rows:
        return
    dot.graph_attr.update(
        label=legend_table(rows), labelloc="b", labeljust="l", fontsize=str(SMALL_FONT)
    )


def legend_table(rows: list[tuple[str, str]], columns: int = 1) -> str:
    """The legend's rows as an HTML-like table of `columns` columns (filled row by row): a
    colour swatch and what it means."""
    cells = [
        f'<TD BGCOLOR="{colour}" BORDER="1" WIDTH="10" HEIGHT="10"> </TD>'
        f'<TD ALIGN="LEFT">{drawn(meaning, 200)}</TD>'
        for colour, meaning in rows
    ]
    lines = ["".join(cells[k : k + columns]) for k in range(0, len(cells), columns)]
    body = "".join(f"<TR>{line}</TR>" for line in lines)
    return f'<<TABLE BORDER="0" CELLSPACING="1" CELLPADDING="1">{body}</TABLE>>'
