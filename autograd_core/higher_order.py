"""Gradients as values of their own: `grad` (as `torch.autograd.grad`) and `hessian`.

With `create_graph=True` the backward pass is itself recorded: every contribution
`local_grad * upstream` is made with the engine's own `*` and `+`, and each local gradient is an
expression of the node's inputs (the op table's `differentiable`: `d exp(x)/dx = exp(x)` is the
node itself, `d(x*y)/dx = y` is the input y). The gradients it returns are Values of a new graph,
which can be drawn, stepped through and differentiated again, any number of times.

Without `create_graph` it returns plain numbers. Either way, no node's `.grad` is touched.
This is the scalar path; on the batch path use `backward()` (its vjps are not yet expressions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import ops
from .engine import Value, as_value
from .graph import is_grad_enabled, topological_order


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Any]:
    """d(output)/d(input) for each of `inputs`, in order, without touching any `.grad`.

    An input the output does not depend on gets 0. With `create_graph=True` each gradient is a
    Value whose graph is the backward pass (so `grad(grad(f, [x], True)[0], [x])` is f''(x));
    without it, a float.
    """
    if getattr(output, "HOLDS_ARRAYS", False) or any(
        getattr(x, "HOLDS_ARRAYS", False) for x in inputs
    ):
        raise TypeError(
            "grad works on the scalar path (Values); for Tensors call backward() and read .grad"
        )
    for position, x in enumerate(inputs):
        if type(x) is not Value:
            raise TypeError(f"grad: input {position} is a {type(x).__name__}, not a Value")
    _, totals = _gradients(output, create_graph)
    found = [totals.get(id(x), 0.0) for x in inputs]
    if create_graph:  # a number (a constant local gradient times the seed) as a Value too
        return [g if type(g) is Value else as_value(g, "grad") for g in found]
    return [float(g) for g in found]


def backward_with_graph(output: Value) -> None:
    """`output.backward(create_graph=True)`: every node's `grad` as `backward()` sets it (leaves
    accumulate, the others hold this pass's), each a Value of the backward pass's graph."""
    order, totals = _gradients(output, create_graph=True)
    for node in order:
        found = totals.get(id(node), 0.0)
        gradient = found if type(found) is Value else as_value(found, "backward")
        # a grad is typed as the float it usually is; with create_graph it is a Value
        node.grad = node.grad + gradient if not node.parents else gradient  # type: ignore[assignment]


def _gradients(output: Value, create_graph: bool) -> tuple[list[Value], dict[int, Any]]:
    """The nodes `output` depends on, and d(output)/d(node) for each reached, by id: numbers, or
    with `create_graph` Values built from each op's differentiable local gradients."""
    if create_graph and not is_grad_enabled():
        raise RuntimeError(
            "create_graph=True inside no_grad(): nothing would be recorded, so the gradients "
            "could not be differentiated again; leave the no_grad block first"
        )
    order = topological_order(output)
    totals: dict[int, Any] = {id(output): 1.0}  # this walk's gradient of each node reached
    for node in reversed(order):
        upstream = totals.get(id(node))
        if upstream is None or not node.parents:
            continue
        local = _differentiable_local_grads(node) if create_graph else node.local_grads
        for parent, local_grad in zip(node.parents, local):
            # times a plain 1 (the seed, a sum's input) is the local gradient itself: no node
            contribution = local_grad if upstream == 1.0 else local_grad * upstream
            earlier = totals.get(id(parent))
            totals[id(parent)] = contribution if earlier is None else earlier + contribution
    return order, totals


def _differentiable_local_grads(node: Value) -> tuple[Any, ...]:
    entry = ops.lookup(node.op)
    if entry is None or entry.differentiable is None:
        raise TypeError(
            f"grad(create_graph=True): the op {node.op!r} records its local gradients as numbers "
            "only, so they cannot be differentiated again; build it from the engine's ops"
        )
    return entry.differentiable(node)


def hessian(f: Callable[..., Value], inputs: Sequence[float]) -> list[list[float]]:
    """The matrix of second derivatives d2f/(dxi dxj) of a scalar function of a few numbers,
    at `inputs`: the gradient with `create_graph`, then the gradient of each of its entries."""
    xs = [Value(float(x), f"x{i}") for i, x in enumerate(inputs)]
    first = grad(f(*xs), xs, create_graph=True)
    return [grad(g, xs) for g in first]
