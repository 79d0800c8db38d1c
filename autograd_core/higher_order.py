"""Gradients as values of their own: `grad` (as `torch.autograd.grad`), `hessian` and `hvp`.

All three run the one backward walk (`graph.backpropagate`). With `create_graph=True` the walk
records the backward pass itself: every node's share of a gradient is made by its op's own local
gradient (or vjp) applied to the graph's nodes, so `d exp(x)/dx` is the node exp(x) itself and
`d(x*y)/dx` the input y, times the upstream gradient. The gradients it returns are nodes of a new
graph, which can be drawn, stepped through and differentiated again, any number of times.

Without `create_graph` it returns plain numbers (floats, or arrays). Either way, `grad` touches
no node's `.grad` (`backward(create_graph=True)` is the one that fills them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import Value
from .graph import backpropagate, is_node


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
    seed = output.seed_gradient(who="grad", as_node=create_graph)
    found = backpropagate(output, seed, create_graph=create_graph, wanted=xs)
    assert found is not None
    return [x.as_gradient(gradient, create_graph) for x, gradient in zip(xs, found)]


def _listed(nodes: Any) -> list[Any]:
    """Inputs as a list: one node alone (as PyTorch allows), or any iterable of them."""
    return [nodes] if is_node(nodes) else list(nodes)


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


def hessian(f: Callable[..., Value], inputs: Sequence[float]) -> list[list[float]]:
    """The matrix of second derivatives d2f/(dxi dxj) of a scalar function of a few numbers,
    at `inputs`: the gradient with `create_graph`, then the gradient of each of its entries."""
    xs = [Value(float(x), f"x{i}") for i, x in enumerate(inputs)]
    first = grad(f(*xs), xs, create_graph=True)
    return [grad(g, xs) for g in first]


def hvp(output: Any, inputs: Any, vectors: Any) -> list[np.ndarray]:
    """The Hessian of `output` (one element) with respect to the Tensors `inputs`, times the
    `vectors` (one array per input, of its shape; or one Tensor and one array, as for `grad`),
    a list of arrays, without forming the Hessian: the gradient
    with `create_graph`, its dot product with the vectors, and the gradient of that.

    For a model with n parameters the Hessian has n^2 entries; this costs about two backward
    passes. (On Values, `hessian` gives the whole matrix of a function of a few numbers.) Unlike
    `torch.autograd.functional.hvp(func, inputs, v)`, it takes the output already computed, as
    `grad` does, and returns the products only.
    """
    if getattr(output, "dtype", None) is None:  # a Value (or no node): it has hessian
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
