"""Graphviz pictures of a computation graph: every value with its data and gradient.

Layout, as in micrograd's `draw_dot`: one record per value (label | data | grad), one small node
per operation, edges input -> op -> output. On top of that, the gate patterns are coloured
(add distributes, mul swaps, max routes; a value used more than once is a copy whose gradients
add up), leaves, parameters and the output are told apart, and a legend says which is which.

Node ids are topological indices (`v0`, `v1`, ... and `v3op` for the op that made `v3`), so the
same graph gives the same DOT text on every run.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import graphviz
import numpy as np

from autograd_core import ops, topological_order

# The gate patterns the lessons name get a colour; what each op does is in the op table.
GATE_COLOURS = {"add": "#1f78b4", "mul": "#e6550d", "max": "#33a02c", "copy": "#6a3d9a"}
COPY_MEANING = "copy: a value used twice adds the gradients of its uses"
FILL = {"leaf": "#eeeeee", "parameter": "#fff3b0", "output": "#fdd0d0", "value": "white"}
HIGHLIGHT = "#ffd700"


@dataclass
class Frame:
    """What one picture shows beyond the graph itself (used by the backward step-through)."""

    grads: Mapping[int, Any] | None = None  # node id -> grad to show; missing ids show blank
    current: int | None = None  # id of the node being processed
    contributions: Mapping[tuple[int, int], str] = field(default_factory=dict)  # (parent, node)


def _fmt(x: float, precision: int) -> str:
    return f"{x:.{precision}g}"


def _escape(text: str) -> str:
    """Escape the characters that mean something inside a graphviz record label."""
    for char in '\\{}|<>"':
        text = text.replace(char, "\\" + char)
    return text


def _summary(array: Any, precision: int) -> str:
    array = np.asarray(array)
    if array.size <= 4:
        return "[" + " ".join(_fmt(float(v), precision) for v in array.ravel()) + "]"
    return (
        f"mean {_fmt(float(array.mean()), precision)} "
        f"min {_fmt(float(array.min()), precision)} max {_fmt(float(array.max()), precision)}"
    )


def node_name(node: Any, index: int) -> str:
    """The name a picture or an equation uses for a node: its label, else n<index>."""
    return node.label or f"n{index}"


def _is_array(node: Any) -> bool:
    return isinstance(node.data, np.ndarray)


def _gate(op: str) -> str:
    entry = ops.lookup(op)
    return entry.gate if entry is not None and entry.gate in GATE_COLOURS else ""


def _record(node: Any, grad: Any, show_grad: bool, precision: int) -> str:
    if _is_array(node):
        fields = [
            node.label,
            f"{node.shape} {node.dtype}",
            f"data {_summary(node.data, precision)}",
        ]
        if show_grad:
            fields.append("grad " + ("" if grad is None else _summary(grad, precision)))
    else:
        fields = [node.label, f"data {_fmt(node.data, precision)}"]
        if show_grad:
            fields.append("grad " + ("" if grad is None else _fmt(grad, precision)))
    return "{ " + " | ".join(_escape(f) for f in fields) + " }"


def draw_graph(
    root: Any,
    *,
    show_grad: bool = True,
    rankdir: str = "LR",
    max_nodes: int = 500,
    precision: int = 4,
    local_grads: bool = False,
    parameters: Iterable[Any] = (),
    legend: bool = True,
    frame: Frame | None = None,
) -> graphviz.Digraph:
    """A `graphviz.Digraph` of everything `root` depends on (Value or Tensor).

    `local_grads=True` labels each input -> op edge with its local gradient (scalar graphs).
    `parameters` are drawn as parameters (Tensors with requires_grad are, without asking).
    Graphs of more than `max_nodes` values raise ValueError. In Jupyter the result shows as SVG;
    `.render()` or `.pipe(format=...)` writes it.
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    order = topological_order(root)
    if len(order) > max_nodes:
        raise ValueError(
            f"the graph has {len(order)} values, more than max_nodes={max_nodes}; draw a smaller "
            f"part (the loss of one sample, one neuron), or pass max_nodes={len(order)} to "
            "render it anyway"
        )
    index = {id(node): i for i, node in enumerate(order)}
    parameter_ids = {id(p) for p in parameters}
    uses: dict[int, int] = {}
    for node in order:
        for parent in node.parents:
            uses[id(parent)] = uses.get(id(parent), 0) + 1

    dot = graphviz.Digraph(name="computation_graph", graph_attr={"rankdir": rankdir})
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", fontname="Helvetica", fontsize="9")
    kinds = set()
    for i, node in enumerate(order):
        grad = _grad_to_show(node, i, frame)
        kind = _kind(node, root, parameter_ids)
        kinds.add(kind)
        attrs = {"shape": "record", "style": "filled", "fillcolor": FILL[kind]}
        if kind == "output":
            attrs["penwidth"] = "2"
        if frame is not None and frame.current == i:
            attrs["fillcolor"] = HIGHLIGHT
            attrs["penwidth"] = "3"
        dot.node(f"v{i}", _record(node, grad, show_grad, precision), **attrs)
        if not node.parents:
            continue
        gate = _gate(node.op)
        op_attrs = {"shape": "circle" if len(node.op) <= 3 else "ellipse", "fontsize": "10"}
        if gate:
            op_attrs.update(color=GATE_COLOURS[gate], fontcolor=GATE_COLOURS[gate], penwidth="2")
        dot.node(f"v{i}op", _escape(node.op), **op_attrs)
        dot.edge(f"v{i}op", f"v{i}", **({"color": GATE_COLOURS[gate]} if gate else {}))
        local = getattr(node, "local_grads", ())
        for k, parent in enumerate(node.parents):
            p = index[id(parent)]
            edge: dict[str, str] = {}
            if uses[id(parent)] > 1:
                edge.update(color=GATE_COLOURS["copy"], penwidth="2")
            if local_grads and k < len(local):
                edge["label"] = f"local {_fmt(local[k], precision)}"
            if frame is not None and (p, i) in frame.contributions:
                edge.update(
                    color="#d62728",
                    penwidth="3",
                    fontcolor="#d62728",
                    label=frame.contributions[(p, i)],
                )
            dot.edge(f"v{p}", f"v{i}op", **edge)
    if legend:
        _add_legend(dot, order, uses, kinds)
    return dot


def _grad_to_show(node: Any, i: int, frame: Frame | None) -> Any:
    if frame is None or frame.grads is None:
        return node.grad
    return frame.grads.get(i)


def _kind(node: Any, root: Any, parameter_ids: set[int]) -> str:
    if node is root:
        return "output"
    if node.parents:
        return "value"
    if id(node) in parameter_ids or (_is_array(node) and node.requires_grad):
        return "parameter"
    return "leaf"


def _add_legend(
    dot: graphviz.Digraph, order: list[Any], uses: dict[int, int], kinds: set[str]
) -> None:
    """A table of the ops this graph uses, each with its meaning from the op table, and of the
    colours of its nodes."""
    present = {entry.name: entry for n in order if (entry := ops.lookup(n.op)) is not None}
    rows = []
    for entry in present.values():
        colour = GATE_COLOURS.get(entry.gate, "#888888")
        meaning = html.escape(entry.meaning)
        rows.append(f'<tr><td bgcolor="{colour}">  </td><td align="left">{meaning}</td></tr>')
    if any(count > 1 for count in uses.values()):
        colour = GATE_COLOURS["copy"]
        rows.append(f'<tr><td bgcolor="{colour}">  </td><td align="left">{COPY_MEANING}</td></tr>')
    rows += [
        f'<tr><td bgcolor="{FILL[k]}" border="1">  </td><td align="left">{text}</td></tr>'
        for k, text in (("leaf", "input"), ("parameter", "parameter"), ("output", "output"))
        if k in kinds
    ]
    table = '<<table border="0" cellspacing="2">' + "".join(rows) + "</table>>"
    dot.node("legend", table, shape="plaintext", fontsize="9")
