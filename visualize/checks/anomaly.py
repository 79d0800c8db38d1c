"""The first non-finite number of a graph, found and drawn.

    anomaly = draw_anomaly(build)     # build() makes the graph (and may call backward itself)
    anomaly.message                   # what detect_anomaly raised
    anomaly.draw()                    # the node, and the input it sent inf to, in red

`detect_anomaly` stops at the first inf or nan, but a forward anomaly stops before its node
exists, so there is nothing to draw. `draw_anomaly` runs `build()` under `detect_anomaly`; on a
forward anomaly it calls `build()` again outside it, where the inf is stored as IEEE arithmetic
makes it, and finds the node (so `build` must make the same graph each time: seed any
randomness). With a graph in hand, use the two finders directly: `find_non_finite(root)` (the
first node in topological order whose value or a local gradient is not finite) and
`find_anomaly(root)` (that, or else the first node whose backward step sends a non-finite
gradient, as the walk's `NonFiniteError` names it; every grad is left as it was). Each returns an
`Anomaly`, or None when every number is finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import graphviz
import numpy as np

from autograd_core import NonFiniteError, backpropagate, detect_anomaly
from autograd_core.graph import all_finite, first_non_finite

from ..graph import draw_marked
from ..nodes import RED_EDGE, WRONG
from ..picture import Parameters, Picture, Style, format_value, reusable

DOWNSTREAM = "#fbe3e3"  # non-finite only because an input was


@dataclass(frozen=True)
class Anomaly:
    """The first non-finite number of a graph, and where.

    stage "forward": node `index` holds a non-finite value (`position` None) or a non-finite
    local gradient for its input `position`. stage "backward": node `index` sent a non-finite
    gradient to its input `position` (topological index `input_index`); `grads` are the grads of
    that backward pass at the moment it stopped (what the picture shows).
    """

    message: str
    stage: Literal["forward", "backward"]
    index: int
    name: str
    value: Any  # the non-finite number (inf, -inf or nan)
    picture: Picture
    position: int | None = None
    input_index: int | None = None
    grads: Mapping[int, Any] | None = None
    parameters: Parameters = None

    @property
    def input_name(self) -> str | None:
        return None if self.input_index is None else self.picture.names[self.input_index]

    @property
    def where(self) -> str:
        """Where the number is, in the picture's names."""
        value, op = _number_text(self.value), self.picture.order[self.index].op
        if self.stage == "backward":
            return f"{self.name}'s backward step ({op}) sent {value} to its input {self.input_name}"
        if self.position is not None:
            return (
                f"{self.name} ({op}) has the local gradient {value} for its input {self.input_name}"
            )
        if not op:
            return f"the leaf {self.name} holds {value}"
        return f"{self.name} ({op}) is the first non-finite value; the ones after it follow from it"

    def __str__(self) -> str:
        return f"{self.message}\n{self.where}"

    def draw(self, **options: Any) -> graphviz.Digraph:
        """`draw_graph` of the graph with the node in red and a line saying what is not finite;
        for the backward stage also the input it sent the gradient to, and the edge between. A
        forward picture colours the nodes downstream that are non-finite only because of it."""
        value = _number_text(self.value)
        fills = {self.index: WRONG}
        notes: dict[int, str] = {}
        edges: dict[tuple[int, int], tuple[str, str]] = {}
        legend = [(WRONG, f"the first non-finite number: {self.message}")]
        if self.stage == "backward" and self.input_index is not None:
            fills[self.input_index] = WRONG
            notes[self.index] = f"backward sent {value} to {self.input_name}"
            notes[self.input_index] = f"received {value} from {self.name}"
            edges[(self.input_index, self.index)] = (RED_EDGE, f"gradient {value}")
        elif self.position is not None and self.input_index is not None:
            notes[self.index] = f"local gradient for {self.input_name} is {value}"
            edges[(self.input_index, self.index)] = (RED_EDGE, f"local {value}")
        else:
            notes[self.index] = f"first non-finite value: {value}"
        if self.stage == "forward":
            later = [
                i
                for i, node in enumerate(self.picture.order)
                if i > self.index and not all_finite(node.data)
            ]
            fills.update({i: DOWNSTREAM for i in later})
            if later:
                legend.append((DOWNSTREAM, "non-finite because an input was"))
        style = Style(grads=self.grads, fills=fills, notes=notes, edges=edges, legend=tuple(legend))
        return draw_marked(self.picture, self.parameters, style, options)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """In a notebook an anomaly shows as its picture."""
        return self.draw()._repr_mimebundle_(**kwargs)


def _number_text(value: Any) -> str:
    return repr(float(value)) if np.ndim(value) == 0 else format_value(value)


def find_non_finite(root: Any, parameters: Parameters = None) -> Anomaly | None:
    """The first node, in topological order, whose value or a local gradient is inf or nan.

    For a graph built outside `detect_anomaly`, where IEEE arithmetic stores the inf (1e200 *
    1e200) and everything after it goes on: the first one is the cause, the rest follow from it.
    A leaf that holds a non-finite value counts too. None when every number is finite.
    """
    parameters = reusable(parameters)
    picture = Picture(root, parameters)
    for i, node in enumerate(picture.order):
        name = picture.names[i]
        if not all_finite(node.data):
            value = first_non_finite(node.data)
            message = f"the leaf holds a non-finite value ({value!r})"
            if node.parents:
                inputs = ", ".join(_number_text(p.data) for p in node.parents)
                message = f"{node.op} of ({inputs}) produced a non-finite value ({value!r})"
            return Anomaly(message, "forward", i, name, value, picture, parameters=parameters)
        for position, local in enumerate(getattr(node, "local_grads", ())):
            if not math.isfinite(local):
                parent = node.parents[position]
                message = (
                    f"{node.op} at {_number_text(parent.data)} has a non-finite local "
                    f"gradient ({local!r}) for its input {position}"
                )
                return Anomaly(
                    message, "forward", i, name, local, picture, position,
                    picture.index[id(parent)], parameters=parameters,
                )  # fmt: skip
    return None


def find_anomaly(root: Any, parameters: Parameters = None) -> Anomaly | None:
    """The first non-finite number `detect_anomaly` would stop at, in a graph already built.

    First the forward numbers (`find_non_finite`); if all are finite, a backward pass under
    `detect_anomaly`, whose error says which node sent which input the first non-finite
    gradient (`NonFiniteError`'s node, position and value); an on-node hook keeps the gradients
    of the pass so far, for the picture. Every grad is put back as it was afterwards, whether
    the pass failed or not. None when nothing is non-finite.
    """
    parameters = reusable(parameters)
    found = find_non_finite(root, parameters)
    if found is not None:
        return found
    picture = Picture(root, parameters)
    order, index = picture.order, picture.index
    saved = [node.grad for node in order]
    this_pass: dict[int, Any] = {}  # node -> its grad so far in this pass, as the hook saw it

    def note(node: Any, upstream: Any, shares: tuple[Any, ...]) -> None:
        for parent in node.parents:
            this_pass[index[id(parent)]] = parent.grad

    try:
        with detect_anomaly():
            backpropagate(root, root.seed_gradient(who="find_anomaly"), note)
    except NonFiniteError as error:
        grads = {
            i: node.grad if node.parents else this_pass.get(i, type(node).EMPTY_GRAD)
            for i, node in enumerate(order)
        }
        sender, input_index = index[id(error.node)], index[id(error.parent)]
        grads[input_index] = error.value  # what reached it: the first non-finite gradient
        return Anomaly(
            str(error), "backward", sender, picture.names[sender], error.value, picture,
            error.position, input_index, grads, parameters,
        )  # fmt: skip
    finally:
        for node, grad in zip(order, saved):
            node.grad = grad
    return None


def draw_anomaly(build: Callable[[], Any], parameters: Parameters = None) -> Anomaly | None:
    """Run `build()` (it makes the graph and returns its root; it may call backward itself)
    under `detect_anomaly` and find the first non-finite number it stops at, or None.

    A forward anomaly stops before its node exists, so `build()` is called once more outside
    `detect_anomaly` to get the graph with the inf stored (so `build` must make the same graph
    every time). The `Anomaly`'s message is what `detect_anomaly` raised. Raises TypeError when
    `build` returns no node, RuntimeError when the second graph has no non-finite number.
    """
    with detect_anomaly():
        try:
            root = build()
            error: FloatingPointError | None = None
        except FloatingPointError as raised:
            error = raised
    if error is None:
        return find_anomaly(_checked_root(root), parameters)
    try:
        root = _checked_root(build())
    except FloatingPointError as again:  # raised by build itself, not by the mode
        raise RuntimeError(
            f"build() raised FloatingPointError outside detect_anomaly too: {again}"
        ) from again
    found = find_anomaly(root, parameters)
    if found is None:
        raise RuntimeError(
            f"under detect_anomaly build() raised {error}, but the graph it built again has no "
            "non-finite number: build must make the same graph every time (seed its randomness)"
        )
    return replace(found, message=str(error))


def _checked_root(root: Any) -> Any:
    if not hasattr(root, "parents") or not hasattr(root, "grad"):
        raise TypeError(
            f"build() must return the root of the graph (a Value or a Tensor), got "
            f"{type(root).__name__}"
        )
    return root
