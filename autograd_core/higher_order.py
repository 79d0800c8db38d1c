"""Gradients as values of their own: `grad` (as `torch.autograd.grad`), `hessian` and `hvp`.

With `create_graph=True` the backward pass is itself recorded: every node's share of a gradient
is made with the engine's own ops from the op table's expressions (on Values, `d exp(x)/dx =
exp(x)` is the node itself and `d(x*y)/dx = y` the input y, times the upstream gradient; on
Tensors, each op's vjp written with Tensor ops). The gradients it returns are nodes of a new
graph, which can be drawn, stepped through and differentiated again, any number of times.

Without `create_graph` it returns plain numbers (floats, or arrays). Either way, `grad` touches
no node's `.grad` (`backward(create_graph=True)` is the one that fills them). The walk asks each
node for its parents' shares (`parent_gradients`, the node types' method for it), so it is the
same for both paths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import Value
from .graph import (
    GRAPH_WALK,
    MODE_BLOCKS,
    all_finite,
    first_non_finite,
    is_anomaly_enabled,
    is_grad_enabled,
    is_node,
    numbers_of,
    topological_order,
)
from .tensor import Tensor


def grad(output: Any, inputs: Any, create_graph: bool = False) -> list[Any]:
    """d(output)/d(input) for each of `inputs`, in order, without touching any `.grad`.

    `output` is a Value, or a Tensor of one element; `inputs` are nodes of the same kind (a
    list, or one node alone, as PyTorch allows; Tensors must require a gradient). An input the
    output does not depend on gets 0 (zeros). With `create_graph=True` each gradient is a node
    whose graph is the backward pass (so `grad(grad(f, [x], True)[0], [x])` is f''(x));
    without it, a float (an array of its own).
    """
    xs = _listed(inputs)
    _check(output, xs)
    with GRAPH_WALK:
        order, totals = _gradients(output, create_graph)
    gradients = [x.as_gradient(totals.get(id(x)), create_graph) for x in xs]
    if not create_graph:
        return gradients
    taken = {id(node) for node in order}
    return [_own(gradient, taken) for gradient in gradients]


def backward_with_graph(output: Any, seed: Any = 1.0) -> None:
    """`output.backward(create_graph=True)`: every node's `grad` as `backward()` sets it (leaves
    accumulate, the others hold this pass's), each a node of the backward pass's graph.

    A leaf's gradient is a graph that usually reaches the leaf itself (d(x*x)/dx = x + x): a
    reference cycle, which Python's cyclic collector frees, as with PyTorch's
    `backward(create_graph=True)`. `grad(..., create_graph=True)` writes no `.grad` and makes none.
    """
    with GRAPH_WALK:
        order, totals = _gradients(output, create_graph=True, seed=seed)
        taken = {id(node) for node in order}
        for node in order:
            if not node.requires_grad:  # a constant Tensor gets no gradient, as in backward()
                continue
            gradient = _own(node.as_gradient(totals.get(id(node)), create_graph=True), taken)
            earlier = node.grad
            node.grad = gradient if node.parents or earlier is None else earlier + gradient


def _listed(nodes: Any) -> list[Any]:
    """Inputs as a list: one node alone (as PyTorch allows), or any iterable of them."""
    return [nodes] if is_node(nodes) else list(nodes)


def _own(gradient: Any, taken: set[int]) -> Any:
    """A recorded gradient that is no node of the graph and no other gradient: `gradient * 1.0`
    of one that is (an add gate's share passed on unchanged; d(x*w)/dx, which is w itself), so
    that relabelling or changing it changes nothing else. `taken` collects the ids."""
    if id(gradient) in taken:
        gradient = gradient * 1.0
    taken.add(id(gradient))
    return gradient


def _check(output: Any, inputs: list[Any]) -> None:
    """TypeError unless the output is a node and the inputs are nodes of its kind; ValueError for
    an output of more than one element or an input that gets no gradient."""
    if not is_node(output):
        raise TypeError(f"grad: the output is a {type(output).__name__}, not a Value or a Tensor")
    kind = type(output)
    for position, x in enumerate(inputs):
        if type(x) is not kind:
            raise TypeError(
                f"grad: input {position} is a {type(x).__name__} but the output is a "
                f"{kind.__name__}; differentiate along one path"
            )
        if not x.requires_grad:
            raise ValueError(
                f"grad: input {position} does not require a gradient; make it with "
                "Tensor(..., requires_grad=True)"
            )
    if np.size(output.data) != 1:
        raise ValueError(
            f"grad: the output must hold a single element, got shape {np.shape(output.data)}; "
            "reduce it first (output.sum(), output.mean())"
        )


def _gradients(
    output: Any, create_graph: bool, seed: Any = None
) -> tuple[list[Any], dict[int, Any]]:
    """The nodes `output` depends on, and d(output)/d(node) for each reached, by id: numbers, or
    with `create_graph` nodes built from each op's differentiable local gradients (vjps).
    The caller holds `GRAPH_WALK`. Inside `detect_anomaly()` every share is checked."""
    if create_graph and not is_grad_enabled():
        raise RuntimeError(
            "create_graph=True inside no_grad(): nothing would be recorded, so the gradients "
            "could not be differentiated again; leave the no_grad block first"
        )
    if seed is None:  # d(output)/d(output)
        seed = np.ones_like(output.data) if output.HOLDS_ARRAYS else 1.0
    check = MODE_BLOCKS.count and is_anomaly_enabled()
    order = topological_order(output)
    totals: dict[int, Any] = {id(output): seed}  # this walk's gradient of each node reached
    for node in reversed(order):
        upstream = totals.get(id(node))
        if upstream is None or not node.parents:
            continue
        try:
            shares = node.parent_gradients(upstream, create_graph)
        except FloatingPointError as error:  # an op of the recorded pass, inside detect_anomaly
            message = f"backward of {node.op} (create_graph=True): {error}"
            raise FloatingPointError(message) from None
        for position, (parent, share) in enumerate(zip(node.parents, shares)):
            if share is None:  # a parent that needs no gradient (a constant Tensor)
                continue
            if check:
                _refuse_non_finite(node, position, share)
            earlier = totals.get(id(parent))
            totals[id(parent)] = share if earlier is None else earlier + share
    return order, totals


def _refuse_non_finite(node: Any, position: int, share: Any) -> None:
    numbers = numbers_of(share)
    if not all_finite(numbers):
        parent = node.parents[position]
        name = f" ({parent.label})" if parent.label else ""
        raise FloatingPointError(
            f"backward of {node.op} sent a non-finite gradient ({first_non_finite(numbers)}) "
            f"to its input {position}{name}"
        )


def hessian(f: Callable[..., Value], inputs: Sequence[float]) -> list[list[float]]:
    """The matrix of second derivatives d2f/(dxi dxj) of a scalar function of a few numbers,
    at `inputs`: the gradient with `create_graph`, then the gradient of each of its entries."""
    xs = [Value(float(x), f"x{i}") for i, x in enumerate(inputs)]
    first = grad(f(*xs), xs, create_graph=True)
    return [grad(g, xs) for g in first]


def hvp(output: Tensor, inputs: Any, vectors: Any) -> list[np.ndarray]:
    """The Hessian of `output` (one element) with respect to the Tensors `inputs`, times the
    `vectors` (one array per input, of its shape; or one Tensor and one array, as for `grad`),
    a list of arrays, without forming the Hessian: the gradient
    with `create_graph`, its dot product with the vectors, and the gradient of that.

    For a model with n parameters the Hessian has n^2 entries; this costs about two backward
    passes. (On Values, `hessian` gives the whole matrix of a function of a few numbers.) Unlike
    `torch.autograd.functional.hvp(func, inputs, v)`, it takes the output already computed, as
    `grad` does, and returns the products only.
    """
    if not getattr(output, "HOLDS_ARRAYS", False):
        raise TypeError(
            f"hvp works on Tensors, got a {type(output).__name__}; for a function of a few "
            "Values use hessian(f, inputs)"
        )
    single = is_node(inputs)
    inputs = _listed(inputs)
    vectors = [vectors] if single else list(vectors)
    if not inputs:
        raise ValueError("hvp needs at least one input Tensor")
    if len(vectors) != len(inputs):
        raise ValueError(f"hvp: {len(inputs)} inputs but {len(vectors)} vectors")
    arrays = [np.asarray(v, dtype=x.dtype) for x, v in zip(inputs, vectors)]
    for position, (x, v) in enumerate(zip(inputs, arrays)):
        if v.shape != x.shape:
            raise ValueError(f"hvp: vector {position} has shape {v.shape}, input {x.shape}")
    first = grad(output, inputs, create_graph=True)
    along = (first[0] * arrays[0]).sum()
    for g, v in zip(first[1:], arrays[1:]):
        along = along + (g * v).sum()
    if not along.requires_grad:  # the gradient does not depend on the inputs: a linear output
        return [np.zeros_like(x.data) for x in inputs]
    result: list[np.ndarray] = grad(along, inputs)
    return result
