"""What every picture of a graph shows: each node's index, name and kind, and how numbers read.

`Picture(root, parameters)` is built once per graph and shared by `draw_graph`, the backward
step-through and the checks, so that a name in a panel is the name in the picture:

- every node has a name: its label; for a parameter, its dotted name from `named_parameters()`,
  shortened (`layers.0.neurons.3.w.1` is drawn `L0.n3.w1`); for an unlabelled intermediate, `n1`,
  `n2`, ... in topological order; for a constant, its value;
- nodes are told apart by kind: the output, parameters, inputs, constants (a plain number an op
  used: nothing learns from it), and intermediate values.

`Style` is what one picture marks beyond the graph itself (a step's highlights, a failed check).
The drawing is in `nodes` (one node at a time), `collapse` (a module as one box) and `graph`
(`draw_graph`, which chooses between them).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from autograd_core import CONSTANT, Node, topological_order

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


DRAWN_CHARS = 80  # the longest text a picture draws in one place (the panel keeps all of it)


def drawn(text: str, limit: int = DRAWN_CHARS) -> str:
    """Text as Graphviz is given it, for an HTML-like label: what it cannot take (a control
    character, a lone surrogate) drawn as U+FFFD, anything longer than `limit` characters cut
    with an ellipsis, and escaped. Every text a picture draws goes through here; a label of
    16 KB or a NUL in it once made `dot` fail with a raw CalledProcessError."""
    clean = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    if len(clean) > limit:
        clean = clean[: limit - 1] + "\u2026"
    return html.escape(clean, quote=False)


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


def holds_array(node: Node) -> bool:
    """Whether the node's value is an array (shown with its shape, summarised) or a number."""
    return isinstance(node.data, np.ndarray)


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
        if holds_array(node) and node.requires_grad:  # an array made with requires_grad=True
            return "parameter"
        return "input"  # (every number gets a gradient: only `parameters` make one a parameter)

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


def reusable(parameters: Parameters) -> Parameters:
    """Parameters that can be read twice (an iterator becomes a list)."""
    if parameters is None or isinstance(parameters, Mapping):
        return parameters
    if callable(getattr(parameters, "named_parameters", None)):
        return parameters
    return list(parameters)
