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

import html
from collections.abc import Iterable
from typing import Any

import graphviz

from autograd_core import Node

from .picture import FILL, KIND_MEANINGS, Picture, Style, fmt, format_value, holds_array

# The gate patterns the lessons name get a colour; what each op does is its own `meaning`.
GATE_COLOURS = {"add": "#1f78b4", "mul": "#e6550d", "max": "#33a02c", "copy": "#6a3d9a"}
OTHER_OP_COLOUR = "#555555"
COPY_MEANING = "copy: a value used more than once adds up the gradients of its uses"
HAND_MADE = "an op of your own (its local gradients are what you gave)"
WRONG = "#f4a6a6"  # a finding: a wrong local gradient (or value), the first non-finite number
RED_EDGE = "#d62728"  # the input edge that carries the wrong or non-finite number


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
) -> graphviz.Digraph:
    """Some nodes of a picture (all of them for `draw_graph`), each with the op that made it. An
    input from outside the chosen nodes is drawn as a dashed stub that only names it."""
    style = style or Style()
    chosen = set(indices)
    dot = new_digraph(rankdir, backward)
    for i in sorted(chosen):
        _add_value(dot, picture, i, style, show_grad, constant_grads, precision)
        if picture.order[i].parents:
            _add_op(dot, picture, i, style, local_grads, precision)
    stubs = {p for i in chosen for p in picture.parent_indices(i)} - chosen
    for p in sorted(stubs):
        dot.node(
            f"v{p}", html_label([picture.names[p]]), shape="plaintext", style="dashed",
            fontcolor="#777777", id=f"v{p}", **{"class": "stub"},
        )  # fmt: skip
    if legend:
        add_legend(dot, picture, style.legend)
    return dot


def new_digraph(rankdir: str, backward: bool) -> graphviz.Digraph:
    """An empty picture with the house style; `backward` points arrows the way gradients flow."""
    # ordering=in keeps an op's inputs in their order (w0 above w1), not graphviz's choice
    dot = graphviz.Digraph(
        name="computation_graph", graph_attr={"rankdir": rankdir, "ordering": "in"}
    )
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", fontname="Helvetica", fontsize="9", dir="back" if backward else "forward")
    return dot


def html_label(cells: list[str], bold_first: bool = True, stacked: bool = False) -> str:
    """A table label (Graphviz's HTML-like labels), every cell escaped: one row of cells, or with
    `stacked` one cell per row (for arrays, whose summaries are long)."""
    tds = []
    for k, text in enumerate(cells):
        escaped = html.escape(text, quote=False) or " "
        align = ' ALIGN="LEFT"' if stacked else ""
        tds.append(
            f"<TD{align}>{'<B>' + escaped + '</B>' if k == 0 and bold_first else escaped}</TD>"
        )
    rows = "</TR><TR>".join(tds) if stacked else "".join(tds)
    return (
        '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4"><TR>'
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
        attrs.update(fontcolor="#555555", fontsize="9")
    if kind == "output":
        attrs["penwidth"] = "2"
    label = html_label(cells, bold_first=kind != "constant", stacked=holds_array(node))
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
        f"<{html.escape(node.op, quote=False)}>",  # HTML-like: a backslash in it stays a backslash
        shape=shape,
        fontsize="10",
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
            attrs["label"] = html.escape(f"local {fmt(local[k], precision)}")
        if (p, i) in style.edges:
            colour_, label = style.edges[(p, i)]
            attrs.update(color=colour_, fontcolor=colour_, penwidth="3", label=html.escape(label))
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
    """A table of what the colours of this picture mean."""
    rows = "".join(
        f'<TR><TD BGCOLOR="{colour}" BORDER="1" WIDTH="14"> </TD>'
        f'<TD ALIGN="LEFT">{html.escape(meaning, quote=False)}</TD></TR>'
        for colour, meaning in [*legend_rows(picture), *extra]
    )
    table = f'<<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="2">{rows}</TABLE>>'
    dot.node("legend", table, shape="plaintext", fontsize="9", id="legend")
