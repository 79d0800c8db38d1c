"""Ops of many inputs or along an axis: n-ary sum, dot and cross-entropy on the scalar path;
sum, max, min, matmul, linear, mse, cross-entropy and log-softmax on the batch path.

A scalar op of many inputs is its value and one local gradient per input, as any op. A batch op
here has a Jacobian that is not diagonal (every output of a matmul depends on a whole row), so it
gives its vector-Jacobian product instead: upstream gradient in, each input's share out, written
for arrays and Tensors alike.
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..graph import Number, Operand, Saved, Shares, is_node, numbers_of
from . import numbers as num
from .arrays import (
    Axes,
    broadcast,
    matmul_grad_a,
    matmul_grad_b,
    onehot,
    with_reduced_axes,
)
from .elementwise import exp
from .kinds import ArrayOp, Many


def listed(names: Sequence[str], joiner: str) -> str:
    """Names joined, the middle elided past six: `a + b + ... + z`."""
    if len(names) > 6:
        names = [*names[:2], "...", *names[-2:]]
    return joiner.join(names)


class Sum(Many):
    """v1 + v2 + ... + vn as one node.  d/dvi = 1 for every i (the add gate, n-ary)."""

    name = "sum"
    gate = "add"
    meaning = "sum: every input gets the upstream gradient unchanged"

    @staticmethod
    def value(inputs: Sequence[Number]) -> Number:
        return builtins.sum(inputs)

    @staticmethod
    def local(inputs: Sequence[Operand], out: Operand) -> tuple[Operand, ...]:
        return (1.0,) * len(inputs)

    @classmethod
    def local_grad_texts(cls, inputs: Sequence[str], out: str, op: str = "") -> list[str]:
        return ["1"] * len(inputs)

    @classmethod
    def formula_text(cls, inputs: Sequence[str], op: str = "") -> str:
        # one input is a Tensor's sum over its elements; several are the scalar path's n-ary sum
        return f"sum({inputs[0]})" if len(inputs) == 1 else listed(inputs, " + ")


class Dot(Many):
    """w . x (+ b) as one node: a neuron's pre-activation, one node instead of 2n.  d/dwi = xi,
    d/dxi = wi, d/db = 1 (the mul gate's swap, n-ary). Its inputs are w1..wn, x1..xn and, if
    there is one, b; `by_parts` takes them as the three parts (a layer's fast route), and gives
    the value and the local gradients together."""

    name = "dot"
    gate = "mul"
    meaning = (
        "dot: each weight gets the gradient times its input, each input times its weight, the "
        "bias the gradient itself"
    )

    @staticmethod
    def by_parts(
        ws: Sequence[Operand], xs: Sequence[Operand], bias: Operand = None
    ) -> tuple[Operand, tuple[Operand, ...]]:
        """(w . x + b, its local gradients: each weight's input, each input's weight, 1)."""
        total = builtins.sum(map(operator.mul, ws, xs))  # operator.mul: 2x float.__mul__
        if bias is None:
            return total, (*xs, *ws)
        return total + bias, (*xs, *ws, 1.0)

    @staticmethod
    def parts(inputs: Sequence[Operand]) -> tuple[Sequence[Operand], Sequence[Operand], Operand]:
        """(w, x, b or None) of a dot node's inputs."""
        n = len(inputs) // 2
        return inputs[:n], inputs[n : 2 * n], inputs[2 * n] if len(inputs) % 2 else None

    @staticmethod
    def value(inputs: Sequence[Number]) -> Number:
        return Dot.by_parts(*Dot.parts(inputs))[0]

    @staticmethod
    def local(inputs: Sequence[Operand], out: Operand) -> tuple[Operand, ...]:
        return Dot.by_parts(*Dot.parts(inputs))[1]

    @classmethod
    def local_grad_texts(cls, inputs: Sequence[str], out: str, op: str = "") -> list[str]:
        ws, xs, bias = cls.parts(list(inputs))  # weights get their input, inputs their weight
        return [*xs, *ws, *(["1"] if bias is not None else [])]

    @classmethod
    def formula_text(cls, inputs: Sequence[str], op: str = "") -> str:
        ws, xs, bias = cls.parts(list(inputs))
        terms = [f"{w}*{x}" for w, x in zip(ws, xs)]
        return listed(terms + ([bias] if bias is not None else []), " + ")


class CrossEntropy(Many):
    """-log softmax(logits)[target] as one fused node, the target a class index.  Local
    gradients: d/dz_i = softmax(z)_i - [i == target], i.e. y - t, the seed formula."""

    name = "cross_entropy"
    gate = "fused"
    params = ("target",)
    meaning = "cross_entropy: each logit gets softmax minus one-hot target (y - t), one fused node"

    @staticmethod
    def value(logits: Sequence[Number], target: int) -> Number:
        m = max(logits)  # shifted by the max, so that no exp overflows
        total = builtins.sum(num.exp(z - m) for z in logits)
        return m + num.log(total) - logits[target]

    @staticmethod
    def local(logits: Sequence[Operand], out: Operand, target: int) -> tuple[Operand, ...]:
        m = max(numbers_of(z) for z in logits)  # a number: the shift does not change softmax
        exps = [exp(z - m) for z in logits]
        total = Sum.call(exps)
        return tuple(e / total - 1.0 if i == target else e / total for i, e in enumerate(exps))

    @classmethod
    def local_grad_texts(cls, inputs: Sequence[str], out: str, op: str = "") -> list[str]:
        return [f"softmax({name}) - [{name} is the target]" for name in inputs]

    @classmethod
    def formula_text(cls, inputs: Sequence[str], op: str = "") -> str:
        return f"cross_entropy({listed(inputs, ', ')})"


# ---- the batch path ---------------------------------------------------------------------------


class SumOver(ArrayOp):
    """Sum over axes (all by default).  Every summed element gets the upstream gradient."""

    name = "sum"
    method = "sum"
    gate = "add"
    meaning = Sum.meaning
    formula = "sum({0})"
    vjp_texts = ("dL/d{0} = dL/d{out} copied to every summed element",)

    @staticmethod
    def value(
        inputs: tuple[np.ndarray, ...], axis: Axes, keepdims: bool
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        return np.asarray(inputs[0].sum(axis=axis, keepdims=keepdims)), (axis, keepdims)

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        axis, keepdims = saved
        return (broadcast(with_reduced_axes(g, axis, keepdims), inputs[0].shape),)


class MaxOver(ArrayOp):
    """The largest element over an axis (all, by default): its gradient goes to that element of
    each slice, the first one on a tie."""

    name = "max_over"
    method = "max"
    gate = "max"
    meaning = (
        "max over an axis: the whole gradient goes to the largest element of each slice (the "
        "first on a tie)"
    )
    local_texts = ("1 at the largest, else 0",)
    formula = "max({0})"
    vjp_texts = ("dL/d{0} = dL/d{out} at the largest element of each slice, 0 elsewhere",)
    pick: Any = staticmethod(np.max)

    @classmethod
    def value(
        cls, inputs: tuple[np.ndarray, ...], axis: Axes, keepdims: bool
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        x = inputs[0]
        out = cls.pick(x, axis=axis, keepdims=True)
        # route to the first winner of each slice: a running count keeps only the first tie
        wins = np.cumsum(x == out, axis=axis) if axis is not None else np.cumsum(x == out)
        first = ((x == out) & (wins.reshape(x.shape) == 1)).astype(x.dtype)
        value = out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis))
        return np.asarray(value), (first, axis, keepdims)

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        first, axis, keepdims = saved  # a constant: where each slice's winner is
        return (with_reduced_axes(g, axis, keepdims) * first,)


class MinOver(MaxOver):
    """The smallest element over an axis, as `MaxOver`."""

    name = "min_over"
    method = "min"
    meaning = (
        "min over an axis: the whole gradient goes to the smallest element of each slice (the "
        "first on a tie)"
    )
    local_texts = ("1 at the smallest, else 0",)
    formula = "min({0})"
    vjp_texts = ("dL/d{0} = dL/d{out} at the smallest element of each slice, 0 elsewhere",)
    pick: Any = staticmethod(np.min)


class MatMul(ArrayOp):
    """A @ B.  d/dA = upstream @ B^T, d/dB = A^T @ upstream (1-D operands as NumPy reads them)."""

    name = "@"
    method = "__matmul__"
    arity = 2
    gate = "mul"
    meaning = (
        "matmul: A gets the gradient times B transposed, B gets A transposed times the gradient"
    )
    local_texts = ("{1}^T", "{0}^T")
    formula = "{0} @ {1}"
    vjp_texts = ("dL/d{0} = dL/d{out} @ {1}^T", "dL/d{1} = {0}^T @ dL/d{out}")

    @staticmethod
    def value(inputs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[object, ...]]:
        A, B = inputs
        return A @ B, ()

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        A, B = inputs
        return (
            matmul_grad_a(g, A, B) if needed[0] else None,
            matmul_grad_b(g, A, B) if needed[1] else None,
        )


class Linear(ArrayOp):
    """x @ W + b as one node (a Linear layer): x (..., nin), W (nin, nout), b (nout,).
    d/dx = upstream @ W^T, d/dW = x^T @ upstream, d/db = upstream summed over the rows."""

    name = method = "linear"
    arity = 3
    gate = "fused"
    meaning = (
        "linear: x @ W + b as one node; x gets the gradient times W transposed, W x transposed "
        "times the gradient, b the gradient summed over the rows"
    )
    local_texts = ("{1}^T", "{0}^T", "1")
    formula = "{0} @ {1} + {2}"
    vjp_texts = (
        "dL/d{0} = dL/d{out} @ {1}^T",
        "dL/d{1} = {0}^T @ dL/d{out}",
        "dL/d{2} = dL/d{out} summed over the rows",
    )

    @staticmethod
    def value(inputs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[object, ...]]:
        x, W, b = inputs
        return x @ W + b, ()

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        x, W, _ = inputs
        rows = x.reshape(-1, W.shape[0])  # every sample's row, whatever the leading axes
        g2 = g.reshape(rows.shape[0], -1)
        return (
            g @ W.T if needed[0] else None,
            rows.T @ g2 if needed[1] else None,
            g2.sum(axis=0) if needed[2] else None,
        )


class MSE(ArrayOp):
    """Mean squared error against a constant target of the input's shape, as one node:
    mean((x - t)^2).  d/dx = upstream * 2 (x - t) / n, for n elements."""

    name = method = "mse"
    gate = "fused"
    meaning = (
        "mse: mean squared error as one node; each prediction gets 2 (x - t) / n times the gradient"
    )
    local_texts = ("2*({0} - target)/n",)
    formula = "mean(({0} - target)^2)"
    vjp_texts = ("dL/d{0} = dL/d{out} * 2 ({0} - target) / n",)

    @staticmethod
    def value(
        inputs: tuple[np.ndarray, ...], target: np.ndarray
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        diff = inputs[0] - target
        return (diff * diff).sum() * (1.0 / diff.size), (target, diff)

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        (x,), (target, diff) = inputs, saved
        if is_node(x):  # a recorded pass: x - t made again of the node x (its diff is numbers)
            diff = x - target
        return (g * (2.0 * (1.0 / x.size)) * diff,)


class LogSoftmax(ArrayOp):
    """z - logsumexp(z) along an axis, shifted by the max.  d/dz = g - softmax * sum(g)."""

    name = method = "log_softmax"
    gate = "fused"
    meaning = "log_softmax: the gradient minus softmax times the sum of the gradient, per row"
    local_texts = ("1 - softmax({0})",)
    vjp_texts = ("dL/d{0} = dL/d{out} - softmax({0}) * sum(dL/d{out})",)

    @staticmethod
    def value(inputs: tuple[np.ndarray, ...], axis: int) -> tuple[np.ndarray, tuple[object, ...]]:
        z = inputs[0]
        shifted = z - z.max(axis=axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True)), (axis,)

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        (axis,) = saved
        return (g - exp(out) * g.sum(axis=axis, keepdims=True),)  # exp(out): the softmax


class CrossEntropyOver(ArrayOp):
    """Mean softmax cross-entropy of logits (M, k) with integer labels (M,), as one node.
    Gradient: (softmax(logits) - onehot(labels)) / M, the batch form of the seed's y - t."""

    name = method = "cross_entropy"
    gate = "fused"
    meaning = CrossEntropy.meaning
    formula = "cross_entropy({0})"
    vjp_texts = ("dL/d{0} = (softmax({0}) - onehot(labels)) / M * dL/d{out}",)

    @staticmethod
    def value(
        inputs: tuple[np.ndarray, ...], labels: np.ndarray
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        z = inputs[0]
        log_probs = LogSoftmax.value((z,), 1)[0]
        loss = -log_probs[np.arange(len(z)), labels].sum() / len(z)  # np.mean's sum
        return np.asarray(loss, dtype=z.dtype), (labels, np.exp(log_probs))

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        (z,), (labels, probs) = inputs, saved
        if is_node(z):  # a recorded pass: the softmax made again of the node z
            probs = exp(LogSoftmax.call(z, 1))
        return ((probs - onehot(labels, z.shape, z.dtype)) * (g * (1.0 / len(labels))),)
