"""Graphviz pictures of a computation graph: every value with its name, data and gradient.

Layout, as in micrograd's `draw_dot`: one box per value (name | data | grad), one small node per
operation, edges input -> op -> output. On top of that:

- every node has a name, and it is the name the backward step-through uses: its label; for a
  parameter, its dotted name from `named_parameters()`, shortened (`layers.0.neurons.3.w.1` is
  drawn `L0.n3.w1`); for an unlabelled intermediate, `n1`, `n2`, ... in topological order; for a
  constant, its value;
- nodes are told apart by kind: the output, parameters, inputs, constants (drawn small and
  grey, with no gradient unless asked: nothing learns from it), and intermediate values;
- ops are coloured by their gate pattern (add distributes, mul swaps, max routes, a value used
  more than once is a copy whose gradients add up), and a legend explains every op present with
  its meaning from the op table (`autograd_core.ops`).

Node ids are topological indices (`v0`, `v1`, ... and `v3op` for the op that made `v3`; edges
`e3_0` for the first input of v3's op, `e3` from v3's op to v3), so the same graph gives the same
DOT text on every run, and the ids reach the SVG, where the step-through page restyles them.

A graph too large to read (more than `max_nodes` values) is drawn collapsed: every module (a
neuron, a layer) as one box with a summary of its values and gradients (`visualize.collapse`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import graphviz
import numpy as np

from autograd_core import CONSTANT, Node, ops, topological_order

# The gate patterns the lessons name get a colour; what each op does is in the op table.
GATE_COLOURS = {"add": "#1f78b4", "mul": "#e6550d", "max": "#33a02c", "copy": "#6a3d9a"}
OTHER_OP_COLOUR = "#555555"
COPY_MEANING = "copy: a value used more than once adds up the gradients of its uses"
FILL = {
    "output": "#fdd0d0",
    "parameter": "#fff3b0",
    "input": "#dbe9f6",
    "constant": "#f2f2f2",
    "value": "#ffffff",
}
KIND_MEANINGS = {
    "output": "the output (its gradient starts the backward pass)",
    "parameter": "a parameter (what training changes)",
    "input": "an input",
    "constant": "a constant (a plain number training never changes; its gradient is drawn only "
    "with constant_grads=True)",
    "value": "an intermediate value",
}

Kind = Literal["output", "parameter", "input", "constant", "value"]
Parameters = Any  # a Module, a mapping name -> parameter, or an iterable of parameters


def fmt(x: float, precision: int = 4) -> str:
    """A number as pictures and panels print it: `precision` significant digits (and 0, not -0)."""
    return f"{x + 0.0:.{precision}g}"


def summary(array: Any, precision: int = 4) -> str:
    """Small arrays in full, larger ones as mean, min and max."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 0:  # a 0-d array (a batch path's loss) is one number, shown as one
        return fmt(float(array), precision)
    if array.size <= 4:
        return "[" + " ".join(fmt(float(v), precision) for v in array.ravel()) + "]"
    return (
        f"mean {fmt(float(array.mean()), precision)} "
        f"min {fmt(float(array.min()), precision)} max {fmt(float(array.max()), precision)}"
    )


def is_array(node: Any) -> bool:
    """Whether `node` is on the batch path (a Tensor, holding an array) or the scalar one."""
    return bool(node.HOLDS_ARRAYS)


def format_value(value: Any, precision: int = 4) -> str:
    """A node's data or grad as text: a number, or an array's summary ('' for no gradient; a text,
    such as a summary made earlier, as it is)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        return summary(value, precision)
    return fmt(float(value), precision)


def _constant_name(data: Any) -> str:
    """A constant is named by its value: `2`; an array of one value (a seed, broadcast) by that
    value; other arrays by their first numbers, `[1 2 3 ...]`."""
    values = np.asarray(data).ravel()
    if values.size == 1 or (values.size and np.all(values == values[0])):
        return format_value(values[0])
    return summary(values) if values.size <= 3 else summary(values[:3])[:-1] + " ...]"


def short_name(dotted: str) -> str:
    """A parameter's dotted name, shortened for a picture: an index joins the name before it and
    the nn containers are abbreviated, so `layers.0.neurons.3.w.1` becomes `L0.n3.w1` and
    `w.0` becomes `w0`."""
    parts: list[str] = []
    for part in dotted.split("."):
        if part.isdigit() and parts:
            parts[-1] += part
        else:
            parts.append(part)
    abbreviations = {"layers": "L", "neurons": "n"}
    for i, part in enumerate(parts):
        stem = part.rstrip("0123456789")
        if stem in abbreviations:
            parts[i] = abbreviations[stem] + part[len(stem) :]
    return ".".join(parts)


def label_of(node: Any) -> str:
    """A node's label as text: a label set to None is no label, one set to 123 reads "123"."""
    label = node.label
    return label if type(label) is str else "" if label is None else str(label)


def named_parameters(parameters: Parameters) -> dict[int, str]:
    """id(parameter) -> its full name, from a Module, a mapping, or an iterable of parameters."""
    if parameters is None:
        return {}
    if callable(getattr(parameters, "named_parameters", None)):
        items = parameters.named_parameters()
    elif isinstance(parameters, Mapping):
        items = list(parameters.items())
    else:
        items = [(label_of(p), p) for p in parameters]
    return {id(p): name for name, p in items}


class Picture:
    """What any picture of `root` shows: each node's id, name and kind, and how often it is used.

    Built once per graph and shared by `draw_graph`, the backward step-through and the checks,
    so that a name in a panel is the name in the picture.
    """

    def __init__(self, root: Node, parameters: Parameters = None) -> None:
        self.root = root
        self.order = topological_order(root)
        self.index = {id(node): i for i, node in enumerate(self.order)}
        parameter_names = named_parameters(parameters)
        self.uses = [0] * len(self.order)
        for node in self.order:
            for parent in node.parents:
                self.uses[self.index[id(parent)]] += 1
        self.kinds: list[Kind] = [self._kind(node, parameter_names) for node in self.order]
        self._users: list[list[int]] | None = None
        self.names = self._names(parameter_names)

    def __len__(self) -> int:
        return len(self.order)

    def _kind(self, node: Any, parameter_names: dict[int, str]) -> Kind:
        if node is self.root:
            return "output"
        if node.parents:
            return "value"
        if id(node) in parameter_names:
            return "parameter"
        if node.op == CONSTANT:  # a number an op made a leaf (the 2 in 2 * x)
            return "constant"
        if is_array(node) and node.requires_grad:
            return "parameter"
        return "input"

    def _names(self, parameter_names: dict[int, str]) -> list[str]:
        names: list[str] = []
        seen: dict[str, int] = {}
        intermediates = inputs = 0
        for node, kind in zip(self.order, self.kinds):
            if id(node) in parameter_names:
                name = short_name(parameter_names[id(node)])
            elif label := label_of(node):
                name = short_name(label) if kind == "parameter" else label
            elif kind == "constant":
                name = _constant_name(node.data)
            elif kind == "output":
                name = "out"
            elif kind == "value":
                intermediates += 1
                name = f"n{intermediates}"
            else:  # an unlabelled array input or parameter
                inputs += 1
                name = f"{'p' if kind == 'parameter' else 'in'}{inputs}"
            if kind != "constant":  # constants are named by value; two 2s are both "2"
                seen[name] = seen.get(name, 0) + 1
                if seen[name] > 1:
                    name = f"{name}_{seen[name]}"
            names.append(name)
        return names

    def name(self, node: Any) -> str:
        return self.names[self.index[id(node)]]

    def parent_indices(self, i: int) -> list[int]:
        return [self.index[id(parent)] for parent in self.order[i].parents]

    def users(self) -> list[list[int]]:
        """For each node, the nodes that use it as an input (made on first use, then kept)."""
        if self._users is None:
            self._users = [[] for _ in self.order]
            for i in range(len(self.order)):
                for p in self.parent_indices(i):
                    self._users[p].append(i)
        return self._users


@dataclass
class Style:
    """What one picture shows beyond the graph itself: the backward step-through's state, a
    failed check. Keys are topological indices."""

    grads: Mapping[int, Any] | None = None  # node -> grad to show (missing: blank); None: .grad
    fills: Mapping[int, str] = field(default_factory=dict)  # node -> fill colour
    notes: Mapping[int, str] = field(default_factory=dict)  # node -> an extra line in its box
    edges: Mapping[tuple[int, int], tuple[str, str]] = field(default_factory=dict)  # (parent,
    # node) -> (colour, label) of that input edge
    legend: tuple[tuple[str, str], ...] = ()  # extra legend rows: (colour, meaning)


def draw_graph(
    root: Node,
    *,
    parameters: Parameters = None,
    show_grad: bool = True,
    constant_grads: bool = False,
    rankdir: str = "LR",
    max_nodes: int = 300,
    collapse: bool | None = None,
    precision: int = 4,
    local_grads: bool = False,
    legend: bool = True,
    backward: bool = False,
    style: Style | None = None,
    picture: Picture | None = None,
) -> graphviz.Digraph:
    """A `graphviz.Digraph` of everything `root` depends on (a Value or a Tensor).

    `parameters` (a Module, a mapping name -> parameter, or a list) are drawn as parameters under
    their names. `local_grads=True` labels each input edge of a scalar op with its local gradient.
    `backward=True` points the arrows the way gradients flow. `constant_grads=True` shows the
    gradients of constants too. A graph of more than `max_nodes` values is drawn collapsed by
    module (`collapse=True` forces it, `collapse=False` draws every node anyway).
    In Jupyter the result shows as SVG; `.render()` or `.pipe(format=...)` writes it.
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    picture = picture or Picture(root, parameters)
    if collapse or (collapse is None and len(picture) > max_nodes):
        from .collapse import draw_collapsed  # a sibling module; imported late to avoid a cycle

        return draw_collapsed(
            picture, parameters, rankdir=rankdir, precision=precision, legend=legend
        )
    return draw_nodes(
        picture,
        range(len(picture)),
        show_grad=show_grad,
        constant_grads=constant_grads,
        rankdir=rankdir,
        precision=precision,
        local_grads=local_grads,
        legend=legend,
        backward=backward,
        style=style,
    )


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
        if is_array(node):
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
    label = html_label(cells, bold_first=kind != "constant", stacked=is_array(node))
    dot.node(f"v{i}", label, **attrs)


def gate_colour(op: str) -> str:
    entry = ops.lookup(op)
    return GATE_COLOURS.get(entry.gate, OTHER_OP_COLOUR) if entry else OTHER_OP_COLOUR


def _add_op(
    dot: graphviz.Digraph, picture: Picture, i: int, style: Style, local_grads: bool, precision: int
) -> None:
    node = picture.order[i]
    colour = gate_colour(node.op)
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
    seen = set()
    for node in picture.order:
        if not node.parents:
            continue  # a leaf was made by no op (a constant's "const" included): its kind says it
        entry = ops.lookup(node.op)
        if entry is None and node.op and node.op not in seen:
            seen.add(node.op)  # a student's own op: the table knows nothing of it
            rows.append(
                (
                    OTHER_OP_COLOUR,
                    f"{node.op}: an op of your own (its local gradients are what you gave)",
                )
            )
        elif entry is not None and entry.name not in seen:
            seen.add(entry.name)
            rows.append((gate_colour(node.op), entry.meaning))
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
