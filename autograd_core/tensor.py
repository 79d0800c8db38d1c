"""The batch path: a `Tensor` node over a NumPy array, with the same backward rule as `Value`.

A scalar node stores a local gradient per parent and backward multiplies it by the upstream
gradient. An array node cannot store its Jacobian (for a 128x256 matmul that would be a matrix of
size 32768 x 32768), so it stores, per parent, a function that computes the vector-Jacobian
product directly: upstream gradient in, that parent's contribution out (`vjps`). The rule is the
same: `parent.grad += vjp(node.grad)`, in reverse topological order.

The vjp functions close over arrays only, never over the node that holds them, so a graph still
has no reference cycles.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import engine
from .engine import topological_order

Vjp = Callable[[np.ndarray], np.ndarray]
ArrayLike = Any

_anomaly_detection = False


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside this block, the first op whose forward value or backward contribution is not finite
    raises FloatingPointError naming the op (at a cost: every result is scanned)."""
    global _anomaly_detection
    previous, _anomaly_detection = _anomaly_detection, True
    try:
        yield
    finally:
        _anomaly_detection = previous


def _check_finite(array: np.ndarray, op: str, where: str) -> None:
    if not np.all(np.isfinite(array)):
        bad = array[~np.isfinite(array)].flat[0]
        raise FloatingPointError(f"{op} produced a non-finite value ({bad}) in the {where} pass")


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient back to the shape of an input that NumPy broadcast to make the output."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


class Tensor:
    """An array that remembers the operation that made it.

    Attributes:
        data: the forward value, a NumPy array (float64 by default; float32 when asked for, or
            when given a float32 array).
        grad: d(root)/d(self), an array of `data`'s shape, after `backward()`; None before.
        requires_grad: whether gradients flow to this tensor (True for parameters).
        op, parents, label: as for `Value`.
        vjps: per parent, upstream gradient -> that parent's gradient contribution.
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "requires_grad", "vjps")

    __array_ufunc__ = None  # make NumPy hand `array * tensor` to Tensor.__rmul__

    def __init__(
        self,
        data: ArrayLike,
        requires_grad: bool = False,
        dtype: Any = None,
        label: str = "",
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data
        array = np.asarray(data, dtype=dtype)
        if dtype is None and array.dtype.kind != "f":
            if array.dtype.kind not in "biu":
                raise TypeError(
                    f"Tensor needs real numbers, got {type(data).__name__} of dtype {array.dtype}"
                )
            array = array.astype(np.float64)
        elif array.dtype.kind != "f":
            raise TypeError(f"Tensor needs a floating dtype, got {array.dtype}")
        self.data: np.ndarray = array
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad
        self.label = label
        self.op = ""
        self.parents: tuple[Tensor, ...] = ()
        self.vjps: tuple[Vjp, ...] = ()

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's and PyTorch's name
        return self.transpose()

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> float:
        return float(self.data.item())

    def numpy(self) -> np.ndarray:
        return self.data

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        name = f"label={self.label!r}, " if self.label else ""
        return f"Tensor({name}shape={self.shape}, dtype={self.dtype}{flag})"

    # ---- building nodes -------------------------------------------------------------------------

    def _result(
        self, data: np.ndarray, op: str, parents: tuple[Tensor, ...], vjps: tuple
    ) -> Tensor:
        """A new node; it records parents only when one of them needs a gradient."""
        if _anomaly_detection:
            _check_finite(data, op, "forward")
        out = Tensor.__new__(Tensor)
        out.data = data
        out.grad = None
        out.label = ""
        out.requires_grad = False
        out.op, out.parents, out.vjps = "", (), ()
        if engine._recording:
            for parent in parents:
                if parent.requires_grad:
                    out.requires_grad = True
                    out.op, out.parents, out.vjps = op, parents, vjps
                    break
        return out

    def _operand(self, other: Any) -> Tensor | None:
        """`other` as a Tensor; plain numbers and arrays take this tensor's dtype (no upcast)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (numbers.Real, np.ndarray, np.generic)):
            return Tensor(np.asarray(other, dtype=self.data.dtype))
        return None

    def _mismatch(self, other: Tensor, op: str) -> ValueError:
        """The error for shapes that do not broadcast (NumPy's own names neither shape)."""
        return ValueError(f"{op}: shapes {self.shape} and {other.shape} do not broadcast")

    # ---- elementwise arithmetic, gradients summed back to each input's shape -------------------

    def __add__(self, other: Any) -> Tensor:
        """a + b.  Both inputs get the upstream gradient (summed over broadcast axes)."""
        b = self._operand(other)
        if b is None:
            return NotImplemented
        try:
            out = self.data + b.data
        except ValueError:
            raise self._mismatch(b, "+") from None
        a_shape, b_shape = self.shape, b.shape
        return self._result(
            out,
            "+",
            (self, b),
            (lambda g: unbroadcast(g, a_shape), lambda g: unbroadcast(g, b_shape)),
        )

    def __mul__(self, other: Any) -> Tensor:
        """a * b.  d/da = upstream * b, d/db = upstream * a."""
        b = self._operand(other)
        if b is None:
            return NotImplemented
        a_data, b_data = self.data, b.data
        try:
            out = a_data * b_data
        except ValueError:
            raise self._mismatch(b, "*") from None
        return self._result(
            out,
            "*",
            (self, b),
            (
                lambda g: unbroadcast(g * b_data, a_data.shape),
                lambda g: unbroadcast(g * a_data, b_data.shape),
            ),
        )

    def __neg__(self) -> Tensor:
        return self * -1.0

    def __sub__(self, other: Any) -> Tensor:
        b = self._operand(other)
        return NotImplemented if b is None else self + (-b)

    def __truediv__(self, other: Any) -> Tensor:
        b = self._operand(other)
        return NotImplemented if b is None else self * b.reciprocal()

    def __radd__(self, other: Any) -> Tensor:
        return self + other

    def __rmul__(self, other: Any) -> Tensor:
        return self * other

    def __rsub__(self, other: Any) -> Tensor:
        b = self._operand(other)
        return NotImplemented if b is None else b + (-self)

    def __rtruediv__(self, other: Any) -> Tensor:
        b = self._operand(other)
        return NotImplemented if b is None else b * self.reciprocal()

    def __pow__(self, exponent: float) -> Tensor:
        """x**n for a plain number n.  d/dx = upstream * n * x**(n-1)."""
        if not isinstance(exponent, numbers.Real):
            raise TypeError(
                f"Tensor ** needs a plain number exponent, got {type(exponent).__name__}"
            )
        n = float(exponent)
        x = self.data
        return self._result(x**n, f"**{n:g}", (self,), (lambda g: g * (n * x ** (n - 1.0)),))

    # ---- elementwise functions -------------------------------------------------------------------

    def exp(self) -> Tensor:
        """e**x.  d/dx = upstream * e**x."""
        out = np.exp(self.data)
        return self._result(out, "exp", (self,), (lambda g: g * out,))

    def log(self) -> Tensor:
        """Natural log.  d/dx = upstream / x."""
        x = self.data
        return self._result(np.log(x), "log", (self,), (lambda g: g / x,))

    def reciprocal(self) -> Tensor:
        """1/x.  d/dx = -upstream / x**2."""
        out = 1.0 / self.data
        return self._result(out, "1/x", (self,), (lambda g: -g * out * out,))

    def maximum(self, other: Any) -> Tensor:
        """Elementwise max(a, b): the gradient is routed to the larger input; ties go to a."""
        b = self._operand(other)
        if b is None:
            raise TypeError(f"maximum needs a Tensor, array or number, got {type(other).__name__}")
        try:
            first_wins = self.data >= b.data
        except ValueError:
            raise self._mismatch(b, "maximum") from None
        a_shape, b_shape = self.shape, b.shape
        return self._result(
            np.where(first_wins, self.data, b.data),
            "maximum",
            (self, b),
            (
                lambda g: unbroadcast(g * first_wins, a_shape),
                lambda g: unbroadcast(g * ~first_wins, b_shape),
            ),
        )

    def relu(self) -> Tensor:
        """max(0, x).  d/dx = upstream where x > 0, else 0."""
        positive = self.data > 0
        return self._result(self.data * positive, "relu", (self,), (lambda g: g * positive,))

    def leaky_relu(self, slope: float = 0.01) -> Tensor:
        """x for x > 0, else slope * x.  d/dx = upstream * (1 or slope)."""
        local = np.where(self.data > 0, 1.0, slope).astype(self.dtype, copy=False)
        return self._result(self.data * local, "leaky_relu", (self,), (lambda g: g * local,))

    def sigmoid(self) -> Tensor:
        """1 / (1 + e**-x).  d/dx = upstream * s * (1 - s)."""
        x = self.data
        # exp(-|x|) never overflows; the two branches are the same function
        e = np.exp(-np.abs(x))
        s = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)
        return self._result(s, "sigmoid", (self,), (lambda g: g * s * (1.0 - s),))

    def tanh(self) -> Tensor:
        """tanh(x).  d/dx = upstream * (1 - t**2)."""
        t = np.tanh(self.data)
        return self._result(t, "tanh", (self,), (lambda g: g * (1.0 - t * t),))

    # ---- linear algebra, reductions and shapes -------------------------------------------------

    def __matmul__(self, other: Any) -> Tensor:
        """A @ B.  d/dA = upstream @ B^T, d/dB = A^T @ upstream.

        1-D operands are treated as NumPy treats them (a row, or a column, vector)."""
        b = self._operand(other)
        if b is None:
            return NotImplemented
        A, B = self.data, b.data
        if A.ndim == 0 or B.ndim == 0 or A.shape[-1] != B.shape[-2 if B.ndim > 1 else 0]:
            raise ValueError(f"@: shapes {A.shape} and {B.shape} do not line up for matmul")
        out = A @ B
        if A.ndim == 2 and B.ndim == 2:  # the common case, without the general reshaping
            return self._result(out, "@", (self, b), (lambda g: g @ B.T, lambda g: A.T @ g))
        A2 = A[None, :] if A.ndim == 1 else A
        B2 = B[:, None] if B.ndim == 1 else B
        out_shape2 = (A2 @ B2).shape

        def grad_a(g: np.ndarray) -> np.ndarray:
            g2 = g.reshape(out_shape2)
            return unbroadcast(g2 @ np.swapaxes(B2, -1, -2), A2.shape).reshape(A.shape)

        def grad_b(g: np.ndarray) -> np.ndarray:
            g2 = g.reshape(out_shape2)
            return unbroadcast(np.swapaxes(A2, -1, -2) @ g2, B2.shape).reshape(B.shape)

        return self._result(out, "@", (self, b), (grad_a, grad_b))

    def __rmatmul__(self, other: Any) -> Tensor:
        a = self._operand(other)
        return NotImplemented if a is None else a @ self

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over axes.  Every summed element gets the upstream gradient (add gate, n-ary)."""
        shape = self.shape
        out = self.data.sum(axis=axis, keepdims=keepdims)

        def vjp(g: np.ndarray) -> np.ndarray:
            if not keepdims and axis is not None:
                g = np.expand_dims(g, axis)
            return np.broadcast_to(g, shape).copy()  # a broadcast view would be read-only

        return self._result(np.asarray(out), "sum", (self,), (vjp,))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over axes: the sum times 1/count."""
        axes = range(self.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
        count = int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axis, keepdims) * (1.0 / count)

    def reshape(self, *shape: Any) -> Tensor:
        """The same data in a new shape; the gradient is reshaped back."""
        original = self.shape
        try:
            out = self.data.reshape(*shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {original} into {shape}") from None
        return self._result(out, "reshape", (self,), (lambda g: g.reshape(original),))

    def transpose(self, *axes: int) -> Tensor:
        """Permute axes (reverse them by default); the gradient is permuted back."""
        order = axes or tuple(reversed(range(self.ndim)))
        inverse = tuple(np.argsort(order))
        return self._result(
            self.data.transpose(order), "transpose", (self,), (lambda g: g.transpose(inverse),)
        )

    def __getitem__(self, index: Any) -> Tensor:
        """Indexing, integer arrays included.  The gradient is scattered back; an element picked
        twice gets both contributions (np.add.at)."""
        if isinstance(index, Tensor):
            index = index.data
        shape, dtype = self.shape, self.dtype
        try:
            out = self.data[index]
        except IndexError as error:
            raise IndexError(f"index into a Tensor of shape {shape}: {error}") from None

        def vjp(g: np.ndarray) -> np.ndarray:
            full = np.zeros(shape, dtype=dtype)
            np.add.at(full, index, g)
            return full

        return self._result(np.asarray(out), "index", (self,), (vjp,))

    def log_softmax(self, axis: int = -1) -> Tensor:
        """z - logsumexp(z) along an axis, shifted by the max.  d/dz = g - softmax * sum(g)."""
        z = self.data
        shifted = z - z.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        probs = np.exp(out)
        return self._result(
            out,
            "log_softmax",
            (self,),
            (lambda g: g - probs * g.sum(axis=axis, keepdims=True),),
        )

    # ---- the backward pass ----------------------------------------------------------------------

    def backward(self, gradient: ArrayLike | None = None) -> None:
        """Fill in `grad` of every tensor this one depends on that requires a gradient.

        The semantics are `Value.backward`'s: intermediate grads are this pass's, leaf grads
        accumulate across calls. Without `gradient`, the root must hold a single element.
        """
        if gradient is None:
            if self.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a single-element root, got shape "
                    f"{self.shape}; pass gradient= of that shape"
                )
            seed = np.ones_like(self.data)
        else:
            seed = np.asarray(gradient, dtype=self.dtype)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward: gradient shape {seed.shape} != root shape {self.shape}"
                )
        order = topological_order(self)
        held = []
        for node in order:
            if not node.parents and node.grad is not None:
                held.append((node, node.grad))
            node.grad = None
        self.grad = seed
        check = _anomaly_detection
        for node in reversed(order):
            upstream = node.grad
            if upstream is None:
                continue
            for parent, vjp in zip(node.parents, node.vjps):
                if not parent.requires_grad:
                    continue
                contribution = vjp(upstream)
                if check:
                    _check_finite(contribution, node.op, "backward")
                if parent.grad is None:
                    parent.grad = contribution
                else:
                    parent.grad = parent.grad + contribution
        for leaf, earlier in held:
            leaf.grad = earlier if leaf.grad is None else earlier + leaf.grad


def class_labels(labels: ArrayLike, shape: tuple[int, ...], op: str) -> np.ndarray:
    """One integer class label per row of scores of `shape` (M, k), each below k; else
    ValueError naming `op`."""
    labels = np.asarray(labels)
    if labels.shape != shape[:1] or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{op} needs {shape[0]} integer labels for scores {shape}, "
            f"got shape {labels.shape} of {labels.dtype}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= shape[1]):
        bad = labels[(labels < 0) | (labels >= shape[1])][0]
        raise ValueError(f"{op}: label {bad} is out of range for {shape[1]} classes")
    return labels


def cross_entropy(logits: Tensor, labels: ArrayLike) -> Tensor:
    """Mean softmax cross-entropy over a batch of logits (M, k) with integer labels (M,), fused.

    Gradient: (softmax(logits) - onehot(labels)) / M, the batch form of the seed's y - t.
    """
    z = logits.data
    if z.ndim != 2:
        raise ValueError(f"cross_entropy needs logits of shape (M, k), got {z.shape}")
    labels = class_labels(labels, z.shape, "cross_entropy")
    rows = np.arange(len(z))
    shifted = z - z.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    totals = exps.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(totals[:, 0]) - shifted[rows, labels])

    def vjp(g: np.ndarray) -> np.ndarray:
        grad = exps / totals
        grad[rows, labels] -= 1.0
        return grad * (g / len(z))

    return logits._result(np.asarray(loss, dtype=z.dtype), "cross_entropy", (logits,), (vjp,))
