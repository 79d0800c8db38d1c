"""Every path from the output to one node: the chain rule as a sum over paths.

The backward pass computes d(out)/d(w) by accumulation, one node at a time. The same number has a
second reading, the one the course notes teach: follow every path from `out` down to `w`,
multiply the local gradients along it, and add the products up. Two paths meet where a value is
used twice, and that is exactly where the backward pass's `+=` adds two contributions.

`paths_to(root, node)` makes both readings and `draw_paths(root, node)` draws them:

- the number of paths, counted by dynamic programming over the topological order (the paths
  from a node down to `node` are the sum of those from each of its inputs), so a graph of 2**60
  paths is counted, never enumerated;
- the paths themselves, each with its local gradients and their product, when there are at most
  `limit` of them (enumerating more would never end in a lesson's time);
- the gradient each edge on some path carries (its local gradient times d(out)/d(its user)),
  accumulated in reverse order over the sub-graph between `out` and `node` only: the backward
  pass, restricted to the edges that can matter, which also gives d(out)/d(node).

An op that uses the same input twice (`x * x`) has two edges, so two paths go through it, as the
two `+=` of its backward step. Only the scalar path has paths of numbers: on the batch path each
edge is a vector-Jacobian product, which `trace_backward` shows instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import graphviz

from autograd_core import Node, topological_order

from .graph import draw_graph
from .picture import Parameters, Picture, Style, drawn, fmt, holds_array, label_of

PATH = "#d62728"  # the edges on a path from the output to the node
TARGET = "#ffd700"  # the node whose gradient the paths make
START = "#fc9272"  # the output, where every path starts
DIM = "#e6e6e6"  # a value on no path: nothing it passes back reaches the node
LISTED = 20  # the paths a picture's caption lists at most (all of them are in `Paths.paths`)


class Edge(NamedTuple):
    """One input edge: `node` (a topological index) uses `parent` as its input `position`."""

    parent: int
    node: int
    position: int  # which input of `node` (x * x has positions 0 and 1, two edges)
    local_grad: float  # d(node)/d(parent) through this input, stored by the forward pass


class Path(NamedTuple):
    """One path from the output down to the node, and the product of its local gradients."""

    edges: tuple[Edge, ...]  # from the output's input edge down to the node's user's
    product: float


@dataclass(frozen=True)
class Paths:
    """The paths from `picture.root` to one node, and the gradients they make.

    `count` is exact (a Python int, however large). `paths` holds them all when `count <=
    limit`, else nothing, and `total` is the sum of their products (None when not enumerated).
    `edge_sums[(parent, node, position)]` is the gradient an edge on some path carries:
    its local gradient times d(root)/d(node). `gradient` is d(root)/d(node) from those edges, as
    the backward pass adds it up. `message` says why there is no path, when there is none."""

    picture: Picture
    node: int | None  # its topological index; None when the root does not depend on it
    node_name: str
    count: int
    limit: int
    paths: list[Path] = field(default_factory=list)
    total: float | None = None
    edge_sums: dict[tuple[int, int, int], float] = field(default_factory=dict)
    gradient: float = 0.0
    message: str = ""

    @property
    def enumerated(self) -> bool:
        """Whether `paths` holds every path (there were at most `limit`)."""
        return self.count <= self.limit

    @property
    def root_name(self) -> str:
        return self.picture.names[-1]

    def names(self, path: Path) -> list[str]:
        """The names along a path, from the output down to the node; an input used more than once
        by the same op says which of its uses the path takes (`x (input 2 of n1)`)."""
        picture = self.picture
        names = [self.root_name]
        for edge in path.edges:
            name = picture.names[edge.parent]
            if picture.parent_indices(edge.node).count(edge.parent) > 1:
                name += f" (input {edge.position + 1} of {picture.names[edge.node]})"
            names.append(name)
        return names

    def describe(self, path: Path, precision: int = 4) -> str:
        """One path in words: `out <- n3 <- n1 <- w21: 1 * 0.5 * -2 = -1`."""
        names = " <- ".join(self.names(path))
        if not path.edges:
            return f"{names}: the output itself, d{names}/d{names} = 1"
        factors = " * ".join(fmt(edge.local_grad, precision) for edge in path.edges)
        return f"{names}: {factors} = {fmt(path.product, precision)}"

    def lines(self, precision: int = 4, listed: int = LISTED) -> list[str]:
        """What the picture's caption says: each path (at most `listed` of them) and the sum, or,
        with more than `limit` paths, their number and the gradient the edges add up to."""
        r, n = self.root_name, self.node_name
        grad = f"d{r}/d{n}"
        if self.count == 0:
            return [self.message]
        gradient = fmt(self.gradient, precision)
        if not self.enumerated:
            return [
                f"{self.count} paths (more than the limit {self.limit}): each highlighted edge "
                "is labelled with the gradient it carries",
                f"{grad} = {gradient}, the sum of what the highlighted edges out of {n} carry "
                f"(the backward pass adds them up){self._held(precision)}",
            ]
        plural = "path" if self.count == 1 else "paths"
        lines = [
            f"The {self.count} {plural} from {r} to {n}: each the product of the local gradients "
            "along it"
        ]
        lines += [self.describe(path, precision) for path in self.paths[:listed]]
        if self.count > listed:
            lines.append(f"... and {self.count - listed} more (all in paths_to(...).paths)")
        total = fmt(self.total if self.total is not None else math.nan, precision)
        shown = total if total == gradient else f"{total} (accumulated: {gradient})"
        lines.append(f"sum over {self.count} {plural} = {shown} = {grad}{self._held(precision)}")
        return lines

    def _held(self, precision: int) -> str:
        """A note when the node's `.grad` holds another number than the paths make: a leaf's
        gradient adds up over backward() calls, and another output's backward() fills it too."""
        if self.node is None:
            return ""
        held = self.picture.order[self.node].grad
        try:
            value = float(held)  # a Value after backward(create_graph=True) reads as its number
        except (TypeError, ValueError):
            return ""
        if value == 0.0 or math.isclose(value, self.gradient, rel_tol=1e-9, abs_tol=1e-12):
            return ""  # no backward() has reached it yet, or it agrees
        return (
            f"; {self.node_name}.grad holds {fmt(value, precision)} (a leaf's gradient adds up "
            "over backward() calls, and a backward() of another output fills it too)"
        )


def paths_to(
    root: Node,
    node: Node,
    *,
    parameters: Parameters = None,
    limit: int = 1000,
    picture: Picture | None = None,
) -> Paths:
    """The paths from `root` down to `node` (Values): their number, each path's local gradients
    and product when there are at most `limit`, and the gradient every edge on them carries.

    Counting and the edge gradients take time linear in the graph; only enumerating grows with
    the number of paths, which is why it stops at `limit`. `parameters` name the parameters as
    `draw_graph` does. A node outside `root`'s graph that shares a node with it (computed from
    the same inputs, or from `root` itself) has no path: count 0, gradient 0, and a `message`
    saying so; a node that shares nothing with it is a ValueError. A Tensor is a TypeError.
    `picture`: root's picture when the caller has it already (the step-through asks for every
    node's paths)."""
    for given in (root, node):
        if not hasattr(given, "parents") or not hasattr(given, "data"):
            raise TypeError(f"paths_to needs Values (nodes of a graph), got {given!r:.60}")
    if holds_array(root) or holds_array(node):
        raise TypeError(
            "paths_to multiplies scalar local gradients along each path (Values); on the batch "
            "path (a Tensor) each edge is a vector-Jacobian product, not a number: use "
            "trace_backward(root) to see what each edge passes back"
        )
    if not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number >= 0, got {limit!r}")
    picture = picture or Picture(root, parameters)
    target = picture.index.get(id(node))
    if target is None:
        return _no_path(picture, node, limit)
    below = _counts(picture, target)
    edge_sums, gradient = _accumulate(picture, target, below)
    count = below[-1]
    paths: list[Path] = []
    total = None
    if count <= limit:
        paths = _enumerate(picture, target, below)
        total = math.fsum(path.product for path in paths)
    return Paths(
        picture, target, picture.names[target], count, limit, paths, total, edge_sums, gradient
    )


def _no_path(picture: Picture, node: Node, limit: int) -> Paths:
    """A node not among root's inputs: related to it (sharing a node of its graph) it has no
    path and gradient 0; unrelated, asking for its paths is a mistake, said at once."""
    name = label_of(node) or "the node"
    shown = f"{label_of(node)!r}" if label_of(node) else repr(node)
    r = picture.names[-1]
    shared = [other for other in topological_order(node) if id(other) in picture.index]
    if not shared:
        raise ValueError(
            f"{shown} is not in the graph of {r}: they share no node, so there are no paths "
            f"between them (pass a value {r} was computed from)"
        )
    if any(other is picture.root for other in shared):
        why = f"{name} is computed from {r}, not {r} from {name}"
    else:
        why = f"{name} is computed from {r}'s inputs, but {r} does not use it"
    message = f"0 paths: {r} does not depend on {name} ({why}), so d{r}/d{name} = 0"
    return Paths(picture, None, name, 0, limit, total=0.0, message=message)


def _counts(picture: Picture, target: int) -> list[int]:
    """below[i]: the number of paths from node i down to the target (1 for the target itself).

    Only nodes after the target in topological order can use it, so one pass upward from it adds
    up each node's inputs' counts, one term per input edge (x * x counts x twice)."""
    below = [0] * len(picture)
    below[target] = 1
    for i in range(target + 1, len(picture)):
        below[i] = sum(below[p] for p in picture.parent_indices(i))
    return below


def _edges(picture: Picture, i: int, below: list[int]) -> list[Edge]:
    """Node i's input edges that lead down to the target."""
    local = picture.order[i].local_grads
    return [
        Edge(p, i, k, float(local[k])) for k, p in enumerate(picture.parent_indices(i)) if below[p]
    ]


def _accumulate(
    picture: Picture, target: int, below: list[int]
) -> tuple[dict[tuple[int, int, int], float], float]:
    """The backward pass over the edges that lead to the target only: what each carries (local
    gradient x d(root)/d(its user)) and d(root)/d(target), the sum of what reaches it."""
    grads = [0.0] * len(picture)
    grads[-1] = 1.0
    sums: dict[tuple[int, int, int], float] = {}
    for i in range(len(picture) - 1, target, -1):
        if not below[i]:
            continue
        for edge in _edges(picture, i, below):
            carried = edge.local_grad * grads[i]
            sums[(edge.parent, i, edge.position)] = carried
            grads[edge.parent] += carried
    return sums, grads[target]


def _enumerate(picture: Picture, target: int, below: list[int]) -> list[Path]:
    """Every path from the root down to the target, depth first, without recursion (a path may
    be as long as the graph). Called only when the count is at most the limit."""
    root = len(picture) - 1
    if root == target:
        return [Path((), 1.0)]
    paths: list[Path] = []
    trail: list[Edge] = []  # the edges taken from the root to the current node
    stack = [iter(_edges(picture, root, below))]  # per node on the trail, its edges left to take
    while stack:
        edge = next(stack[-1], None)
        if edge is None:
            stack.pop()
            if trail:
                trail.pop()
            continue
        trail.append(edge)
        if edge.parent == target:
            product = 1.0
            for taken in trail:
                product *= taken.local_grad
            paths.append(Path(tuple(trail), product))
            trail.pop()
        else:
            stack.append(iter(_edges(picture, edge.parent, below)))
    return paths


def draw_paths(
    root: Node,
    node: Node,
    *,
    parameters: Parameters = None,
    limit: int = 1000,
    listed: int = LISTED,
    **draw_options: Any,
) -> graphviz.Digraph:
    """`draw_graph` of `root`'s graph with the paths from `root` to `node` in red, each edge
    labelled with its local gradient, and a caption below listing each path (at most `listed`)
    and its product, and their sum, d(root)/d(node).

    With more than `limit` paths the caption gives their number and each red edge the gradient
    it carries (the paths are counted, not enumerated). Every node is drawn (a module drawn as
    one box would hide the paths), so a graph of more than `max_nodes` values (300, as for
    `draw_graph`) is refused. Other options are `draw_graph`'s.
    """
    paths = paths_to(root, node, parameters=parameters, limit=limit)
    picture = paths.picture
    max_nodes = draw_options.pop("max_nodes", 300)
    if draw_options.pop("collapse", None):
        raise ValueError("draw_paths draws every node: a module drawn as one box hides its paths")
    if len(picture) > max_nodes:
        raise ValueError(
            f"draw_paths draws every node, and this graph has {len(picture)} (more than "
            f"max_nodes={max_nodes}): draw a smaller graph (one neuron, one sample), or count "
            "the paths with paths_to"
        )
    precision = draw_options.get("precision", 4)
    style = _style(paths, precision)
    dot = draw_graph(
        root, picture=picture, style=style, collapse=False, max_nodes=max_nodes, **draw_options
    )
    lines = [drawn(line, 400) for line in paths.lines(precision, listed)]
    lines[0] = f"<B>{lines[0]}</B>"  # what the lines below are
    caption = "".join(f'<TR><TD ALIGN="LEFT">{line}</TD></TR>' for line in lines)
    # the legend is the picture's label too (below the graph): the caption goes above it
    legend = dot.graph_attr.get("label", "")
    if legend.startswith("<") and legend.endswith(">"):
        caption += f'<TR><TD ALIGN="LEFT">{legend[1:-1]}</TD></TR>'
    dot.attr(
        label=f'<<TABLE BORDER="0" CELLPADDING="1" CELLSPACING="0">{caption}</TABLE>>',
        labelloc="b",
        labeljust="l",
        fontname="Helvetica",
        fontsize="13",
    )
    return dot


def _style(paths: Paths, precision: int) -> Style:
    """The marks: red edges (with local gradients, or the gradients they carry), the output
    and the node filled, every value on no path dimmed."""
    picture, r, n = paths.picture, paths.root_name, paths.node_name
    labels: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for parent, i, position in paths.edge_sums:
        if paths.enumerated:
            value = picture.order[i].local_grads[position]
            text = f"local {fmt(value, precision)}"
        else:
            text = f"carries {fmt(paths.edge_sums[(parent, i, position)], precision)}"
        labels.setdefault((parent, i), []).append((position, text))
    edges = {key: (PATH, _joined(uses)) for key, uses in labels.items()}
    on_path = {i for key in labels for i in key} | {len(picture) - 1}
    fills = {i: DIM for i in range(len(picture)) if i not in on_path}
    fills[len(picture) - 1] = START
    if paths.node is not None:
        fills[paths.node] = TARGET
    what = "its local gradient" if paths.enumerated else "the gradient it carries"
    legend = (
        (PATH, f"red edges: on a path from {r} to {n}, each labelled with {what}"),
        (START, f"{r}: where every path starts"),
        (TARGET, f"{n}: where every path ends; d{r}/d{n} is the sum over the paths"),
        (DIM, f"on no path from {r} to {n}: nothing it passes back reaches {n}"),
    )
    return Style(fills=fills, edges=edges, legend=legend)


def _joined(uses: list[tuple[int, str]]) -> str:
    """One edge label for every use of an input by one op (`Style.edges` has one entry per
    parent and user, so the two edges of x * x share it): one text if they agree, else each use
    by its input position."""
    texts = {text for _, text in uses}
    if len(texts) == 1:
        return texts.pop()
    return ", ".join(f"{text} (input {position + 1})" for position, text in sorted(uses))
