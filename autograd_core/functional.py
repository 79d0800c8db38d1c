"""The scalar path's functions of many Values: n-ary sum and dot, softmax, log-softmax, logsumexp,
cross-entropy; and, as PyTorch's `torch.nn.functional` (`import autograd_core.functional as F`),
the losses and activations on both paths: `F.cross_entropy(logits, target)`, `F.mse_loss`,
`F.softmax(x, dim)`, `F.relu(x)`, ... take a Tensor or Values and give the numbers (and the
gradients) of the node types' own methods, which they call.

`sum`, `dot` and `cross_entropy` are fused nodes: one node with many parents instead of a chain of
two-input nodes. They follow the same rule as every other node (`parent.grad += local * upstream`)
and the tests check each against its composition from the primitives.

On the batch path the same functions are `Tensor` methods, working along an axis:
`logits.softmax()`, `logits.log_softmax()`, `logits.logsumexp()`, `logits.cross_entropy(labels)`;
`softmax` and `log_softmax` here also take a Tensor (PyTorch's `F.softmax(x, dim)` habit).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import ops
from .engine import Value, as_values, dot_node

# The activations as PyTorch's F names them: the op table's functions of numbers or nodes, which
# make a Value's or a Tensor's node (the same as `x.relu()`).
from .ops import exp, log, relu, sigmoid, silu, softplus, tanh
from .ops.arrays import class_labels
from .ops.reduce import CrossEntropy, Sum

Scalar = Value | int | float

__all__ = [
    "as_values",
    "class_index",
    "cross_entropy",
    "dot",
    "elu",
    "exp",
    "leaky_relu",
    "linear",
    "log",
    "log_softmax",
    "logsumexp",
    "mse_loss",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "sum",
    "tanh",
]

REDUCTIONS = ("mean", "sum", "none")  # PyTorch's `reduction`


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Any:
    """max(negative_slope * x, x), PyTorch's name for the slope (`x.leaky_relu(slope)`)."""
    return ops.leaky_relu(input, negative_slope)


def elu(input: Any, alpha: float = 1.0) -> Any:
    """x for x > 0, else alpha (e^x - 1) (`x.elu(alpha)`)."""
    return ops.elu(input, alpha)


def sum(values: Sequence[Scalar]) -> Value:
    """v1 + v2 + ... + vn as one node (`ops.Sum`).  d/dvi = 1 for every i (the add gate, n-ary)."""
    parents = as_values(values, "sum")
    if not parents:
        raise ValueError("sum of an empty sequence: give at least one value")
    return Value.fuse(Sum, parents)


def dot(weights: Sequence[Scalar], inputs: Sequence[Scalar], bias: Scalar | None = None) -> Value:
    """w . x (+ b) as one node (`ops.Dot`).  d/dwi = xi, d/dxi = wi, d/db = 1 (the mul gate's
    swap, n-ary).

    This is a neuron's pre-activation: one node instead of 2n two-input ones.
    """
    x = as_values(inputs, "dot")
    return dot_node(weights, x, [v.data for v in x], bias, "dot")


def linear(input: Any, weight: Any, bias: Any = None) -> Any:
    """input W^T + b, as PyTorch's `F.linear(input, weight, bias)`: `weight` (out, in), one row
    per output.

    A Tensor `input` (..., in): `input @ weight.T + bias` (our `nn.Linear` stores W^T itself, as
    (in, out), and makes one node). Values (in,): a layer's pre-activations, one `dot` node per
    row, `[w_r . x + b_r for each row w_r]`; the same nodes as `dot` row by row, but the inputs
    are checked and read once for all rows: in a layer of 16 neurons that is a fifth of the
    forward pass's time.
    """
    if hasattr(input, "linear"):  # a Tensor: its matmul, against W^T
        out = input @ weight.T
        return out if bias is None else out + bias
    x = as_values(input, "linear")
    x_data = [v.data for v in x]
    if bias is None:
        return [dot_node(row, x, x_data, None, "linear") for row in weight]
    if len(bias) != len(weight):
        raise ValueError(f"linear: {len(weight)} rows of weights but {len(bias)} biases")
    return [dot_node(row, x, x_data, b, "linear") for row, b in zip(weight, bias)]


def logsumexp(values: Sequence[Scalar], axis: int = -1, *, dim: int | None = None) -> Any:
    """log(sum_i exp(vi)), computed as m + log(sum_i exp(vi - m)) with m = max_i vi.

    The shift changes nothing mathematically (and m carries no gradient, since d/dm of the whole
    is 0), but it keeps every exp at most 1, so logits of 1e4 do not overflow. A Tensor:
    `values.logsumexp(axis)` (`dim=` as PyTorch's `torch.logsumexp`).
    """
    axis = _axis_of("logsumexp", axis, dim)
    if hasattr(values, "logsumexp"):  # a Tensor: its method, along the axis
        return values.logsumexp(axis)
    logits = as_values(values, "logsumexp")
    if not logits:
        raise ValueError("logsumexp of an empty sequence: give at least one value")
    m = max(v.data for v in logits)
    if math.isinf(m):
        # every value is -inf (the answer is -inf), or the largest is +inf (the answer is +inf):
        # the shift would give inf - inf. The max is that answer and passes the gradient on.
        return functools.reduce(Value.max, logits)
    return sum([(v - m).exp() for v in logits]).log() + m


def log_softmax(
    values: Sequence[Scalar],
    axis: int = -1,
    *,
    temperature: float = 1.0,
    dim: int | None = None,
) -> Any:
    """log softmax(v / T)_i = vi/T - logsumexp(v / T). A Tensor: `values.log_softmax(axis)`."""
    axis = _axis_of("log_softmax", axis, dim)
    if hasattr(values, "log_softmax"):  # a Tensor: PyTorch's F.log_softmax(x, dim) habit
        return _tensor_scaled(values, temperature, "log_softmax").log_softmax(axis)
    scaled = _scaled(values, temperature, "log_softmax", axis)
    lse = logsumexp(scaled)
    return [v - lse for v in scaled]


def softmax(
    values: Sequence[Scalar],
    axis: int = -1,
    *,
    temperature: float = 1.0,
    dim: int | None = None,
) -> Any:
    """exp(vi/T) / sum_j exp(vj/T), shifted by the max for stability.

    A high temperature flattens the distribution toward uniform; a low one sharpens it toward
    one-hot on the largest value. A sequence of Values gives a list of Values (it has one axis);
    a Tensor gives `values.softmax(axis)`, as PyTorch's `F.softmax(x, dim)` (`dim=` works too).
    """
    axis = _axis_of("softmax", axis, dim)
    if hasattr(values, "softmax"):  # a Tensor: its method, along the axis
        return _tensor_scaled(values, temperature, "softmax").softmax(axis)
    scaled = _scaled(values, temperature, "softmax", axis)
    m = max(v.data for v in scaled)
    exps = [(v - m).exp() for v in scaled]
    inverse_total = sum(exps).reciprocal()
    return [e * inverse_total for e in exps]


def _axis_of(op: str, axis: int, dim: int | None) -> int:
    """NumPy's `axis`, or PyTorch's `dim` in its place."""
    if dim is not None:
        if axis != -1:
            raise TypeError(f"{op}: give axis (NumPy's name) or dim (PyTorch's), not both")
        return dim
    if isinstance(axis, float):  # the temperature, passed where the axis now is
        raise TypeError(f"{op}: the second argument is the axis; pass temperature={axis!r}")
    return axis


def _tensor_scaled(logits: Any, temperature: float, op: str) -> Any:
    if temperature == 1.0:
        return logits
    largest = float(np.max(np.abs(logits.data), initial=0.0))
    return logits * _inverse_temperature(temperature, largest, op)


def _scaled(values: Sequence[Scalar], temperature: float, op: str, axis: int) -> list[Value]:
    if axis not in (0, -1):
        raise ValueError(f"{op}: a sequence of Values has one axis (0 or -1), got axis={axis!r}")
    logits = as_values(values, op)
    if not logits:
        raise ValueError(f"{op} of an empty sequence: give at least one value")
    if temperature == 1.0:
        return list(logits)
    scale = _inverse_temperature(temperature, max(abs(v.data) for v in logits), op)
    return [v * scale for v in logits]


def _inverse_temperature(temperature: float, largest: float, op: str) -> float:
    """1/T, refusing a T that is not positive and finite, or so small that 1/T or the logits / T
    overflow (softmax would be nan)."""
    if not temperature > 0.0 or math.isinf(temperature):
        raise ValueError(f"{op} needs a positive, finite temperature, got {temperature!r}")
    scale = 1.0 / temperature
    if math.isinf(scale) or (math.isfinite(largest) and math.isinf(largest * scale)):
        raise ValueError(
            f"{op}: temperature {temperature!r} is too small: the logits / T overflow a float "
            f"(the largest |logit| is {largest!r}); a larger T gives the same one-hot answer"
        )
    return scale


def class_index(target: object, n_classes: int, op: str) -> int:
    """`target` as an int class index below `n_classes` (TypeError / ValueError naming `op`)."""
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(f"{op}: a target must be an int class index, got {target!r}")
    index = int(target)
    if not 0 <= index < n_classes:
        raise ValueError(f"{op}: target {index} is out of range for {n_classes} classes")
    return index


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Any:
    """-log softmax(logits)[target] as one fused node (`ops.CrossEntropy`).

    Local gradients: d/dz_i = softmax(z)_i - [i == target], i.e. y - t, the seed formula.

    Values and an int class: one sample's loss. A Tensor of logits (M, k) and M integer labels:
    as PyTorch's `F.cross_entropy(input, target)`, `reduction` "mean" (`logits.cross_entropy`,
    one node), "sum", or "none" (each row's loss).
    """
    _check_reduction("cross_entropy", reduction)
    if hasattr(logits, "cross_entropy"):  # a Tensor: its method
        mean = logits.cross_entropy(target)
        if reduction == "mean":
            return mean
        rows = logits.shape[0]
        if reduction == "sum":
            return mean * rows
        labels = class_labels(target, logits.shape, "cross_entropy")
        return -(logits.log_softmax(1)[np.arange(rows), labels])
    parents = as_values(logits, "cross_entropy")
    target = class_index(target, len(parents), "cross_entropy")
    return Value.fuse(CrossEntropy, parents, (target,))  # one sample: every reduction is it


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """The squared error (x - t)^2 averaged ("mean"), summed ("sum") or each ("none"), as
    PyTorch's `F.mse_loss`: a Tensor and a target of its shape (`input.mse(target)`, one node,
    for the mean), or Values (one, or a sequence) and numbers."""
    _check_reduction("mse_loss", reduction)
    if hasattr(input, "mse"):  # a Tensor: its method
        t = np.asarray(target, dtype=input.dtype)
        if reduction == "mean":
            return input.mse(t)
        if t.shape != input.shape:
            raise ValueError(f"mse_loss: prediction {input.shape} but target {t.shape}")
        squares = (input - t) ** 2
        return squares.sum() if reduction == "sum" else squares
    one = not isinstance(input, (list, tuple))  # one prediction (a Value, or a number)
    predictions = as_values([input] if one else input, "mse_loss")
    targets = np.asarray(target, dtype=np.float64).ravel().tolist()
    if len(predictions) != len(targets) or not targets:
        raise ValueError(f"mse_loss: {len(predictions)} predictions but {len(targets)} targets")
    squares = [(p - t) ** 2 for p, t in zip(predictions, targets)]
    if reduction == "none":
        return squares
    total = sum(squares)
    return total if reduction == "sum" else total * (1.0 / len(squares))


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        choices = ", ".join(REDUCTIONS)
        raise ValueError(f"{op}: reduction must be one of {choices}, got {reduction!r}")
