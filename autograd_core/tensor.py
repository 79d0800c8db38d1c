"""The batch path: a `Tensor` node over a NumPy array, with the same backward rule as `Value`.

A scalar node stores a local gradient per parent and backward multiplies it by the upstream
gradient. An array node cannot store its Jacobian (for a 128x256 matmul that would be a matrix of
size 32768 x 32768), so it stores, per parent, a function that computes the vector-Jacobian
product directly: upstream gradient in, that parent's contribution out (`vjps`). The rule is the
same, `parent.grad += vjp(node.grad)`, and so is the walk that applies it: `graph.backpropagate`,
with `Tensor.chain_rule` as the inner step.

The vjp functions close over arrays only, never over the node that holds them, so a graph still
has no reference cycles.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .engine import ForeignName, Value
from .graph import (
    CONSTANT,
    MODE_BLOCKS,
    all_finite,
    backpropagate,
    first_non_finite,
    this_thread_modes,
)
from .ops import differentiable_vjps, power_name

Vjp = Callable[[np.ndarray], np.ndarray]
ArrayLike = Any
Axes = Any  # an int, a tuple of ints, or None: NumPy's `axis`


def _numpy_axes(
    op: str, axis: Axes, dim: Axes, keepdims: bool, keepdim: bool | None, shape: tuple[int, ...]
) -> tuple[Axes, bool]:
    """NumPy's `axis` and `keepdims`, given either those or PyTorch's `dim` and `keepdim`, with
    every axis checked against `shape`."""
    if dim is not None:
        if axis is not None and axis != -1:
            raise TypeError(f"{op}: give axis (NumPy's name) or dim (PyTorch's), not both")
        axis = dim
    for a in () if axis is None else axis if isinstance(axis, tuple) else (axis,):
        if not isinstance(a, numbers.Integral) or not -len(shape) <= int(a) < len(shape):
            raise ValueError(
                f"{op}: axis {a!r} does not exist in a Tensor of shape {shape} "
                f"(axes are -{len(shape)} to {len(shape) - 1})"
            )
    return axis, keepdims if keepdim is None else keepdim


def _mixed_paths(op: str, other: object) -> TypeError:
    """The error for a Value meeting a Tensor: the two paths never share a graph."""
    return TypeError(
        f"{op}: a Tensor (the batch path) cannot be combined with a Value (the scalar path), "
        f"got {other!r:.60}; use Tensor(value.data) for a constant, or stay on one path"
    )


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient back to the shape of an input that NumPy broadcast to make the output."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if grad.shape[extra:] == shape:  # only leading axes were added (a bias over a batch)
        return grad.sum(axis=tuple(range(extra)))
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _scattered(g: np.ndarray, shape: tuple[int, ...], index: Any, dtype: Any) -> np.ndarray:
    """Zeros of `shape` with g added at `index`, twice where it picks an element twice."""
    full = np.zeros(shape, dtype=dtype)
    np.add.at(full, index, g)
    return full


# ---- gradients written once for arrays and Tensors alike: the vjps call them with arrays, and
# their expressions (`ops`, for create_graph) with Tensors, so the two cannot disagree ----------


def with_reduced_axes(g: Any, axis: Axes, keepdims: bool) -> Any:
    """The upstream gradient of a reduction over `axis` with the reduced axes put back as 1s, so
    that it broadcasts over the reduction's input."""
    if keepdims or axis is None:
        return g
    ndim = g.ndim + (len(axis) if isinstance(axis, tuple) else 1)
    reduced = {a % ndim for a in axis} if isinstance(axis, tuple) else {axis % ndim}
    kept = iter(g.shape)
    return g.reshape(tuple(1 if a in reduced else next(kept) for a in range(ndim)))


def _as_matrices(g: Any, A: Any, B: Any) -> tuple[Any, Any, Any]:
    """A, B and the upstream g of A @ B with 1-D operands read as NumPy reads them (a row, a
    column) and g shaped as the product of those."""
    A2 = A.reshape(1, -1) if A.ndim == 1 else A
    B2 = B.reshape(-1, 1) if B.ndim == 1 else B
    batch = np.broadcast_shapes(A2.shape[:-2], B2.shape[:-2])
    return A2, B2, g.reshape(*batch, A2.shape[-2], B2.shape[-1])


def _swap_last(t: Any) -> Any:
    return t.transpose(*range(t.ndim - 2), t.ndim - 1, t.ndim - 2)


def matmul_grad_a(g: Any, A: Any, B: Any) -> Any:
    """A's share of the gradient of A @ B: g @ B^T, batch axes summed back."""
    if A.ndim == 2 and B.ndim == 2:
        return g @ B.T
    A2, B2, g2 = _as_matrices(g, A, B)
    return unbroadcast(g2 @ _swap_last(B2), A2.shape).reshape(A.shape)


def matmul_grad_b(g: Any, A: Any, B: Any) -> Any:
    """B's share of the gradient of A @ B: A^T @ g, batch axes summed back."""
    if A.ndim == 2 and B.ndim == 2:
        return A.T @ g
    A2, B2, g2 = _as_matrices(g, A, B)
    return unbroadcast(_swap_last(A2) @ g2, B2.shape).reshape(B.shape)


def _masked(g: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """g where mask is True, else 0: g * mask, with the -0.0 of a negative g times 0 made +0.0
    (as the scalar path's `grad += local * upstream` makes it). A nan upstream stays nan, as on
    the scalar path. np.where(mask, g, 0.0) gives the same numbers 10x slower: it branches per
    element, and that was a tenth of a 784-256-256-10 step."""
    out = g * mask
    out += 0.0
    return out


def _unchanged_inputs(op: str, parents: tuple[Tensor, ...], vjp: Vjp) -> Vjp:
    """`vjp`, refusing to run if an input's data changed in place since the forward pass
    (`w.data *= 2` between forward and backward): the gradient would mix old and new values.
    Used inside `detect_anomaly()` only, since it keeps a copy of every input."""
    kept = [(parent, parent.data, parent.data.copy()) for parent in parents]

    def checked(g: np.ndarray) -> np.ndarray:
        for position, (parent, array, copy) in enumerate(kept):
            if not np.array_equal(array, copy, equal_nan=True):
                name = f" ({parent.label})" if parent.label else ""
                raise RuntimeError(
                    f"backward of {op}: input {position}{name} was changed in place after the "
                    "forward pass, so its gradient would be stale; change data only between a "
                    "step and the next forward pass (or assign a new array with set_data)"
                )
        return vjp(g)

    return checked


class Tensor:
    """An array that remembers the operation that made it.

    Attributes:
        data: the forward value, a NumPy array (float64 by default; float32 when asked for, or
            when given a float32 array).
        grad: d(root)/d(self), an array of `data`'s shape, after `backward()`; None before.
        requires_grad: whether gradients flow to this tensor (True for parameters).
        op, parents, label: as for `Value`.
        vjps: per parent, upstream gradient -> that parent's gradient contribution.
        saved: what the op kept for its backward pass besides its inputs and its output (a mask,
            an axis, a target), which its vjp as an expression reads (`ops.differentiable_vjps`,
            for `create_graph=True`); `()` for most ops.

    The vjps read the input arrays as they are when backward runs: changing `data` in place
    between a forward pass and its backward (`w.data *= 2`) gives stale gradients.
    `detect_anomaly()` catches it (RuntimeError naming the op); optimisers step after backward.
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "requires_grad", "saved", "vjps")

    EMPTY_GRAD: ClassVar[None] = None  # the grad of a node no gradient has reached yet
    HOLDS_ARRAYS: ClassVar[bool] = True  # the batch path: data and grad are NumPy arrays

    __array_ufunc__ = None  # make NumPy hand `array * tensor` to Tensor.__rmul__

    # PyTorch names a Tensor here spells otherwise (NumPy's way), and what to write instead
    dim = ForeignName("use t.ndim (NumPy's name)")
    unsqueeze = ForeignName("use t.reshape(...) with a 1 where the new axis goes, or t[None]")
    squeeze = ForeignName("use t.reshape(...) without the axes of size 1")
    permute = ForeignName("use t.transpose(axes), with the axes in their new order")
    requires_grad_ = ForeignName("set t.requires_grad = True")
    numel = ForeignName("use t.size (a property here, as NumPy's)")
    to = ForeignName("use t.astype(dtype) for a dtype; there are no devices")
    cpu = ForeignName("there are no devices: t is already NumPy data (t.data)")
    cuda = ForeignName("there are no devices: everything runs on NumPy")

    def __init__(
        self,
        data: ArrayLike,
        requires_grad: bool = False,
        dtype: Any = None,
        label: str = "",
        *,
        copy: bool = True,
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data
        elif isinstance(data, Value):
            raise _mixed_paths("Tensor()", data)
        # a copy, as torch.tensor: an optimiser's in-place step never reaches the caller's array
        # (copy=False shares it, as torch.as_tensor does)
        try:
            array = np.array(data, dtype=dtype) if copy else np.asarray(data, dtype=dtype)
        except ValueError as error:  # rows of different lengths, text that is not a number
            raise ValueError(f"Tensor needs a rectangular array of numbers: {error}") from None
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
        self.saved: tuple[Any, ...] = ()

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
        """The one element as a Python float (ValueError naming the shape otherwise)."""
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a one-element Tensor, got shape {self.shape}; index it first"
            )
        return float(self.data.item())

    __float__ = item

    def __bool__(self) -> bool:
        """`if t:` for a one-element Tensor tests its value (as PyTorch); more is ambiguous."""
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a Tensor of shape {self.shape} is ambiguous: "
                "use (t > 0).any() or (t > 0).all()"
            )
        return bool(self.data.item())

    def numpy(self) -> np.ndarray:
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """`np.asarray(tensor)` is its data (no graph: NumPy's own functions record nothing)."""
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __repr__(self) -> str:
        """The values (shortened past 20 elements), as PyTorch shows them, then what else is set."""
        values = np.array2string(
            self.data, precision=4, threshold=20, edgeitems=2, separator=", ", prefix="Tensor("
        )
        extras = [f"label={self.label!r}"] if self.label else []
        if self.data.dtype != np.float64:
            extras.append(f"dtype={self.data.dtype}")
        if self.op:  # made by an op (as PyTorch shows grad_fn)
            extras.append(f"op={self.op!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "Tensor(" + ", ".join([values, *extras]) + ")"

    # ---- building nodes -------------------------------------------------------------------------

    def _result(
        self,
        data: np.ndarray,
        op: str,
        parents: tuple[Tensor, ...],
        vjps: tuple,
        saved: tuple[Any, ...] = (),
    ) -> Tensor:
        """A new node; it records parents (and what its backward reads, `saved`) only when one
        of them needs a gradient."""
        out = Tensor.__new__(Tensor)
        # NumPy reductions to one number return a NumPy scalar; a Tensor always holds an array
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out.label = ""
        out.requires_grad = False
        out.op, out.parents, out.vjps, out.saved = "", (), (), ()
        if MODE_BLOCKS.count:  # some thread is inside no_grad or detect_anomaly: ask this one
            modes = this_thread_modes()
            if modes.anomaly and not all_finite(data):
                raise FloatingPointError(
                    f"{op} produced a non-finite value ({first_non_finite(data)}) "
                    f"in the forward pass, output shape {np.shape(data)}"
                )
            if modes.no_grad:
                return out
            if modes.anomaly:
                vjps = tuple(_unchanged_inputs(op, parents, vjp) for vjp in vjps)
        for parent in parents:
            if parent.requires_grad:
                out.requires_grad = True
                out.op, out.parents, out.vjps, out.saved = op, parents, vjps, saved
                break
        else:  # made of constants only (a recorded backward pass: the seed, broadcast): a constant
            if parents and all(parent.op == CONSTANT for parent in parents):
                out.op = CONSTANT
        return out

    def _operand(self, other: Any, op: str) -> Tensor | None:
        """`other` as a Tensor; plain numbers and arrays take this tensor's dtype (no upcast).
        None for what is not a number; a Value raises TypeError (it is on the other path)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (numbers.Real, np.ndarray, np.generic)):
            return constant(other, self.data.dtype)
        if isinstance(other, Value):
            raise _mixed_paths(op, other)
        return None

    def _mismatch(self, other: Tensor, op: str) -> ValueError:
        """The error for shapes that do not broadcast (NumPy's own names neither shape)."""
        return ValueError(f"{op}: shapes {self.shape} and {other.shape} do not broadcast")

    # ---- elementwise arithmetic, gradients summed back to each input's shape -------------------

    def __add__(self, other: Any) -> Tensor:
        """a + b.  Both inputs get the upstream gradient (summed over broadcast axes)."""
        b = self._operand(other, "+")
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
        b = self._operand(other, "*")
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
        b = self._operand(other, "-")
        return NotImplemented if b is None else self + (-b)

    def __truediv__(self, other: Any) -> Tensor:
        b = self._operand(other, "/")
        return NotImplemented if b is None else self * b.reciprocal()

    def __radd__(self, other: Any) -> Tensor:
        return self.__add__(other)

    def __rmul__(self, other: Any) -> Tensor:
        return self.__mul__(other)

    def __rsub__(self, other: Any) -> Tensor:
        b = self._operand(other, "-")
        return NotImplemented if b is None else b + (-self)

    def __rtruediv__(self, other: Any) -> Tensor:
        b = self._operand(other, "/")
        return NotImplemented if b is None else b * self.reciprocal()

    def __pow__(self, exponent: float) -> Tensor:
        """x**n for a plain number n.  d/dx = upstream * n * x**(n-1)."""
        if not isinstance(exponent, numbers.Real):
            raise TypeError(
                f"Tensor ** needs a plain number exponent, got {type(exponent).__name__}"
            )
        n = float(exponent)
        x = self.data
        # x**0 is the constant 1: its gradient is 0 everywhere, also at 0 (not 0 * 0**-1 = nan)
        vjp = (lambda g: g * 0.0) if n == 0.0 else (lambda g: g * (n * x ** (n - 1.0)))
        return self._result(x**n, power_name(n), (self,), (vjp,), (n,))

    pow = __pow__  # PyTorch's name for x ** n

    def __rpow__(self, base: float) -> Tensor:
        """b**x for a plain number b > 0, as exp(x ln b).  d/dx = upstream * b**x * ln b."""
        if not isinstance(base, numbers.Real):
            return NotImplemented
        if not base > 0:
            raise ValueError(
                f"{base!r} ** Tensor needs a positive base (b**x = exp(x ln b)), got {base!r}"
            )
        return (self * math.log(base)).exp()

    # ---- comparisons: on the data, as NumPy's (a boolean array, no gradient) -------------------

    def _compared(self, other: Any, op: str) -> np.ndarray:
        if isinstance(other, Value):
            raise _mixed_paths(op, other)
        return other.data if isinstance(other, Tensor) else np.asarray(other)

    def __lt__(self, other: Any) -> np.ndarray:
        """`t < other`: a boolean array of the data (a mask: `t.data[t < 0]`), no gradient."""
        return self.data < self._compared(other, "<")

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= self._compared(other, "<=")

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > self._compared(other, ">")

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= self._compared(other, ">=")

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
        """Elementwise max(a, b), the op `Value.max` is: the gradient is routed to the larger
        input; ties go to a. (Named as in NumPy and PyTorch; `Value.maximum` is the same.)"""
        b = self._operand(other, "maximum")
        if b is None:
            raise TypeError(f"maximum needs a Tensor, array or number, got {type(other).__name__}")
        try:
            out = np.maximum(self.data, b.data)  # a nan on either side gives nan
        except ValueError:
            raise self._mismatch(b, "maximum") from None
        first_wins = (self.data >= b.data) | np.isnan(self.data)  # a nan takes the gradient
        a_shape, b_shape = self.shape, b.shape
        return self._result(
            out,
            "max",
            (self, b),
            (
                lambda g: unbroadcast(g * first_wins, a_shape),
                lambda g: unbroadcast(g * ~first_wins, b_shape),
            ),
            (first_wins,),
        )

    def relu(self) -> Tensor:
        """max(0, x).  d/dx = upstream where x > 0, else 0."""
        positive = self.data > 0
        # np.maximum, not x * mask: relu(-inf) is 0 and relu(nan) is nan (the README's NaN policy)
        out = np.maximum(self.data, 0.0)
        return self._result(out, "relu", (self,), (lambda g: _masked(g, positive),), (positive,))

    def leaky_relu(self, slope: float = 0.01) -> Tensor:
        """x for x > 0, else slope * x.  d/dx = upstream * (1 or slope)."""
        local = np.where(self.data > 0, 1.0, slope).astype(self.dtype, copy=False)
        return self._result(
            self.data * local, "leaky_relu", (self,), (lambda g: g * local,), (local,)
        )

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

    def elu(self, alpha: float = 1.0) -> Tensor:
        """x for x > 0, else alpha * (e**x - 1).  d/dx = upstream * (1, or alpha * e**x)."""
        x = self.data
        positive = x > 0
        e = np.exp(np.minimum(x, 0.0))  # only the x <= 0 side uses it; no overflow for large x
        out = np.where(positive, x, alpha * (e - 1.0)).astype(x.dtype, copy=False)
        local = np.where(positive, 1.0, alpha * e).astype(x.dtype, copy=False)
        return self._result(out, "elu", (self,), (lambda g: g * local,), (positive, alpha))

    def abs(self) -> Tensor:
        """|x|.  d/dx = upstream * sign(x), 0 at 0 (as PyTorch)."""
        sign = np.sign(self.data)
        return self._result(np.abs(self.data), "abs", (self,), (lambda g: g * sign,), (sign,))

    __abs__ = abs

    def sqrt(self) -> Tensor:
        """sqrt(x).  d/dx = upstream / (2 sqrt(x))."""
        out = np.sqrt(self.data)
        return self._result(out, "sqrt", (self,), (lambda g: g / (2.0 * out),))

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        """x held within [low, high].  The gradient passes where x is inside (bounds included,
        as PyTorch's clamp), else it stops."""
        x = self.data
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        return self._result(
            np.clip(x, low, high), "clip", (self,), (lambda g: g * inside,), (inside,)
        )

    # ---- linear algebra, reductions and shapes -------------------------------------------------

    def __matmul__(self, other: Any) -> Tensor:
        """A @ B.  d/dA = upstream @ B^T, d/dB = A^T @ upstream.

        1-D operands are treated as NumPy treats them (a row, or a column, vector)."""
        b = self._operand(other, "@")
        if b is None:
            return NotImplemented
        A, B = self.data, b.data
        if A.ndim == 0 or B.ndim == 0 or A.shape[-1] != B.shape[-2 if B.ndim > 1 else 0]:
            raise ValueError(f"@: shapes {A.shape} and {B.shape} do not line up for matmul")
        out = A @ B
        if A.ndim == 2 and B.ndim == 2:  # the common case, without the general reshaping
            return self._result(out, "@", (self, b), (lambda g: g @ B.T, lambda g: A.T @ g))
        return self._result(
            out,
            "@",
            (self, b),
            (lambda g: matmul_grad_a(g, A, B), lambda g: matmul_grad_b(g, A, B)),
        )

    def linear(self, weight: Tensor, bias: Tensor) -> Tensor:
        """x @ W + b as one node (a Linear layer): x (..., nin), W (nin, nout), b (nout,).
        d/dx = upstream @ W^T, d/dW = x^T @ upstream, d/db = upstream summed over the rows.

        The same numbers as `x @ W + b`, with one node and three products instead of two nodes,
        an unbroadcast and four closures: on a small network the per-node cost is the step's."""
        x, W, b = self.data, weight.data, bias.data
        if W.ndim != 2 or b.shape != W.shape[1:] or x.shape[-1:] != W.shape[:1]:
            raise ValueError(f"linear: shapes {x.shape}, {W.shape}, {b.shape} do not line up")
        rows = x.reshape(-1, W.shape[0])  # every sample's row, whatever the leading axes
        return self._result(
            x @ W + b,
            "linear",
            (self, weight, bias),
            (
                lambda g: g @ W.T,
                lambda g: rows.T @ g.reshape(len(rows), -1),
                lambda g: g.reshape(len(rows), -1).sum(axis=0),
            ),
        )

    def __rmatmul__(self, other: Any) -> Tensor:
        a = self._operand(other, "@")
        return NotImplemented if a is None else a @ self

    def sum(
        self,
        axis: Axes = None,
        keepdims: bool = False,
        *,
        dim: Axes = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """Sum over axes.  Every summed element gets the upstream gradient (add gate, n-ary).
        (PyTorch's `dim` and `keepdim` are accepted for NumPy's `axis` and `keepdims`.)"""
        axis, keepdims = _numpy_axes("sum", axis, dim, keepdims, keepdim, self.shape)
        shape = self.shape
        out = self.data.sum(axis=axis, keepdims=keepdims)

        def vjp(g: np.ndarray) -> np.ndarray:
            g = with_reduced_axes(g, axis, keepdims)
            return np.broadcast_to(g, shape).copy()  # a broadcast view would be read-only

        return self._result(np.asarray(out), "sum", (self,), (vjp,), (axis, keepdims))

    def mean(
        self,
        axis: Axes = None,
        keepdims: bool = False,
        *,
        dim: Axes = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """Mean over axes: the sum times 1/count. (`dim`, `keepdim` as for `sum`.)"""
        axis, keepdims = _numpy_axes("mean", axis, dim, keepdims, keepdim, self.shape)
        axes = range(self.ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
        count = int(np.prod([self.shape[a] for a in axes]))
        if count == 0:
            raise ValueError(
                f"mean over no elements (shape {self.shape}, axis {axis}) is undefined"
            )
        return self.sum(axis, keepdims) * (1.0 / count)

    def max(
        self,
        axis: Axes = None,
        keepdims: bool = False,
        *,
        dim: Axes = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """The largest element over an axis (all, by default): its gradient goes to that element
        of each slice, the first one on a tie. (`maximum(other)` is the elementwise max; `dim`,
        `keepdim` as for `sum`.)"""
        return self._extreme("max", *_numpy_axes("max", axis, dim, keepdims, keepdim, self.shape))

    def min(
        self,
        axis: Axes = None,
        keepdims: bool = False,
        *,
        dim: Axes = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """The smallest element over an axis, as `max`."""
        return self._extreme("min", *_numpy_axes("min", axis, dim, keepdims, keepdim, self.shape))

    def _extreme(self, which: str, axis: Axes, keepdims: bool) -> Tensor:
        if isinstance(axis, tuple):
            raise ValueError(f"{which} over several axes {axis}: reshape them into one first")
        x = self.data
        if x.size == 0:
            raise ValueError(f"{which} of an empty Tensor of shape {x.shape}")
        out = x.max(axis=axis, keepdims=True) if which == "max" else x.min(axis=axis, keepdims=True)
        # route to the first winner of each slice: a running count keeps only the first tie
        wins = np.cumsum(x == out, axis=axis) if axis is not None else np.cumsum(x == out)
        first = ((x == out) & (wins.reshape(x.shape) == 1)).astype(x.dtype)

        def vjp(g: np.ndarray) -> np.ndarray:
            # broadcast over the slice: only the winner is nonzero
            return first * with_reduced_axes(g, axis, keepdims)

        value = out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis))
        return self._result(
            np.asarray(value), f"{which}_over", (self,), (vjp,), (first, axis, keepdims)
        )

    def argmax(self, axis: int | None = None) -> np.ndarray:
        """The index of the largest element over an axis (an integer array: no gradient)."""
        return np.asarray(self.data.argmax(axis=axis))

    def argmin(self, axis: int | None = None) -> np.ndarray:
        """The index of the smallest element over an axis (an integer array: no gradient)."""
        return np.asarray(self.data.argmin(axis=axis))

    def flatten(self, start_axis: int = 0) -> Tensor:
        """The axes from `start_axis` on as one (`flatten(1)` keeps a batch axis)."""
        return self.reshape(*self.shape[:start_axis], -1)

    def astype(self, dtype: Any) -> Tensor:
        """The data in another float dtype (NumPy's name); the gradient comes back in this one."""
        target = np.dtype(dtype)
        if target.kind != "f":
            raise TypeError(f"astype: a Tensor holds floats, got dtype {target}")
        own = self.dtype
        out = self.data.astype(target)
        return self._result(out, "astype", (self,), (lambda g: g.astype(own),))

    def reshape(self, *shape: Any) -> Tensor:
        """The same data in a new shape; the gradient is reshaped back."""
        original = self.shape
        try:
            out = self.data.reshape(*shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {original} into {shape}") from None
        return self._result(out, "reshape", (self,), (lambda g: g.reshape(original),))

    view = reshape  # PyTorch's name

    def transpose(self, *axes: int) -> Tensor:
        """Permute axes (reverse them by default); the gradient is permuted back."""
        order = axes or tuple(reversed(range(self.ndim)))
        inverse = tuple(np.argsort(order))
        return self._result(
            self.data.transpose(order),
            "transpose",
            (self,),
            (lambda g: g.transpose(inverse),),
            (inverse,),
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

        return self._result(
            np.asarray(out),
            "index",
            (self,),
            (lambda g: _scattered(g, shape, index, dtype),),
            (index,),
        )

    def scatter_into(self, shape: tuple[int, ...], index: Any) -> Tensor:
        """A zero Tensor of `shape` with this one added at `index` (twice where `index` picks an
        element twice): what indexing does to a gradient, as an op of its own so that it can be
        differentiated again.  d/dx = upstream[index]."""
        shape = tuple(shape)
        try:
            out = _scattered(self.data, shape, index, self.dtype)
        except IndexError as error:
            raise IndexError(f"scatter_into a Tensor of shape {shape}: {error}") from None
        except ValueError as error:  # the picked places and this Tensor differ in shape
            raise ValueError(f"scatter_into a Tensor of shape {shape}: {error}") from None
        return self._result(out, "scatter_into", (self,), (lambda g: g[index],), (index,))

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        """This Tensor repeated along new leading axes and axes of size 1 to make `shape`
        (NumPy's broadcasting, as an op).  d/dx = upstream summed back over the repeats."""
        shape, own = tuple(shape), self.shape
        try:
            out = np.broadcast_to(self.data, shape).copy()  # a broadcast view is read-only
        except ValueError:
            raise ValueError(f"broadcast_to: shape {own} does not broadcast to {shape}") from None
        return self._result(out, "broadcast_to", (self,), (lambda g: unbroadcast(g, own),))

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """z - logsumexp(z) along an axis, shifted by the max.  d/dz = g - softmax * sum(g)."""
        axis = _numpy_axes("log_softmax", axis, dim, False, None, self.shape)[0]
        z = self.data
        shifted = z - z.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        probs = np.exp(out)
        return self._result(
            out,
            "log_softmax",
            (self,),
            (lambda g: g - probs * g.sum(axis=axis, keepdims=True),),
            (axis,),
        )

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """exp(z_i) / sum_j exp(z_j) along an axis: exp of `log_softmax`, so just as stable."""
        axis = _numpy_axes("softmax", axis, dim, False, None, self.shape)[0]
        return self.log_softmax(axis).exp()

    def logsumexp(self, axis: int | None = -1, *, dim: int | None = None) -> Tensor:
        """log(sum_i exp(z_i)) along an axis, as m + log(sum_i exp(z_i - m)) with m the max.

        The shift changes nothing mathematically (m carries no gradient, since the whole does not
        depend on it), but every exp is at most 1, so logits of 1e4 do not overflow. A slice
        whose max is infinite is not shifted (inf - inf would be nan): all -inf gives -inf, a +inf
        gives +inf.
        """
        axis = _numpy_axes("logsumexp", axis, dim, False, None, self.shape)[0]
        if axis is None:  # over every element, as scipy's logsumexp
            return self.reshape(-1).logsumexp(0)
        top = self.data.max(axis=axis)
        m = np.expand_dims(np.where(np.isinf(top), 0.0, top), axis)
        return (self - m).exp().sum(axis=axis).log() + np.squeeze(m, axis)

    def cross_entropy(self, labels: ArrayLike) -> Tensor:
        """Mean softmax cross-entropy of logits (M, k) with integer labels (M,), as one node.

        Gradient: (softmax(logits) - onehot(labels)) / M, the batch form of the seed's y - t.
        """
        z = self.data
        if z.ndim != 2:
            raise ValueError(f"cross_entropy needs logits of shape (M, k), got {z.shape}")
        labels = class_labels(labels, z.shape, "cross_entropy")
        rows = np.arange(len(z))
        shifted = z - z.max(axis=1, keepdims=True)
        exps = np.exp(shifted)
        totals = exps.sum(axis=1, keepdims=True)
        loss = (np.log(totals[:, 0]) - shifted[rows, labels]).sum() / len(z)  # np.mean's sum

        def vjp(g: np.ndarray) -> np.ndarray:
            grad = exps / totals
            grad[rows, labels] -= 1.0
            grad *= g / len(z)
            return grad

        return self._result(
            np.asarray(loss, dtype=z.dtype), "cross_entropy", (self,), (vjp,), (labels,)
        )

    def mse(self, target: ArrayLike) -> Tensor:
        """Mean squared error against a constant target of this shape, as one node:
        mean((x - t)**2).  d/dx = upstream * 2 (x - t) / n, for n elements."""
        t = np.asarray(target, dtype=self.dtype)
        if t.shape != self.shape or t.size == 0:
            raise ValueError(f"mse: prediction {self.shape} but target {t.shape}")
        diff = self.data - t
        scale = 1.0 / diff.size
        return self._result(
            (diff * diff).sum() * scale,
            "mse",
            (self,),
            (lambda g: g * (2.0 * scale) * diff,),
            (t,),
        )

    def detach(self) -> Tensor:
        """The same data as a new leaf that records nothing (the gradient stops here)."""
        return Tensor(self.data, copy=False)

    # ---- the backward pass ----------------------------------------------------------------------

    def chain_rule(self, upstream: np.ndarray | None) -> None:
        """This node's step of the backward walk: each parent that requires a gradient gets
        vjp(upstream) added to its grad."""
        if upstream is None:  # nothing reached this node: it does not lead to the root
            return
        for parent, vjp in zip(self.parents, self.vjps):
            if parent.requires_grad:
                contribution = vjp(upstream)
                earlier = parent.grad
                if earlier is not None:
                    parent.grad = earlier + contribution
                elif parent.parents or (contribution is not upstream and contribution.base is None):
                    parent.grad = contribution
                else:  # a leaf keeps its gradient: never a view of, or the array of, another's
                    parent.grad = contribution.copy()

    def parent_gradients(
        self, upstream: Any, create_graph: bool = False
    ) -> tuple[Any, ...]:
        """Each parent's share of the gradient, vjp(upstream), or None for a parent that needs
        no gradient (what `autograd_core.grad` sums). Arrays; with `create_graph`, Tensors built
        by the op table's vjp expressions (`ops.differentiable_vjps`), so that they can be
        differentiated again."""
        parents = self.parents
        if not create_graph:
            return tuple(
                vjp(upstream) if p.requires_grad else None for p, vjp in zip(parents, self.vjps)
            )
        if MODE_BLOCKS.count and this_thread_modes().anomaly:
            for vjp in self.vjps:  # inside detect_anomaly they refuse inputs changed in place
                vjp(upstream.data if isinstance(upstream, Tensor) else upstream)
        g = upstream if isinstance(upstream, Tensor) else constant(upstream)
        shares = differentiable_vjps(self, g)
        return tuple(share if p.requires_grad else None for p, share in zip(parents, shares))

    def as_gradient(self, found: Any, create_graph: bool = False) -> Any:
        """A gradient of this tensor's shape as `grad` returns it: an array of its own (never
        one that another gradient shares), or with `create_graph` a Tensor (a constant when the
        gradient is plain numbers); `found` None gives zeros."""
        if found is None:
            found = np.zeros_like(self.data)
        if not create_graph:
            return np.array(found)
        return found if isinstance(found, Tensor) else constant(found)

    def seed_gradient(self, gradient: ArrayLike | None = None, *, who: str = "backward") -> Any:
        """What a backward pass from this root starts with: d(self)/d(self), ones of a
        single-element root, or a copy of `gradient` (of this root's shape). Refuses a root that
        needs no gradient; `who` names the caller in the errors (`trace_backward` asks too)."""
        if not self.requires_grad:
            raise RuntimeError(
                f"{who}: this Tensor does not require a gradient (no tensor it was made from "
                "has requires_grad=True, or it was made inside no_grad()); make the inputs to "
                "differentiate with Tensor(..., requires_grad=True)"
            )
        if gradient is None:
            if self.size != 1:
                raise ValueError(
                    f"{who}() without a gradient needs a single-element root, got shape "
                    f"{self.shape}; reduce it (.sum(), .mean()) or pass gradient= of that shape"
                )
            return np.ones_like(self.data)
        seed = np.array(gradient, dtype=self.dtype)  # a copy: the caller's array is theirs
        if seed.shape != self.shape:
            raise ValueError(f"{who}: gradient shape {seed.shape} != root shape {self.shape}")
        return seed

    def backward(self, gradient: ArrayLike | None = None, create_graph: bool = False) -> None:
        """Fill in `grad` of every tensor this one depends on that requires a gradient.

        The semantics are `Value.backward`'s: intermediate grads are this pass's, leaf grads
        accumulate across calls. Without `gradient`, the root must hold a single element.
        With `create_graph=True` the grads are Tensors whose graph is this backward pass, so
        they can be differentiated again (see `autograd_core.grad`).
        """
        seed = self.seed_gradient(gradient)
        if create_graph:
            from .higher_order import backward_with_graph  # it builds on this module

            backward_with_graph(self, constant(seed))
            return
        backpropagate(self, seed)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (None, as PyTorch's `zero_grad(set_to_none=True)`)."""
        self.grad = None

    def set_data(self, data: ArrayLike) -> None:
        """Replace the forward value with a copy of `data` in this tensor's dtype (and shape)."""
        array = np.array(data, dtype=self.dtype)
        if array.shape != self.shape:
            raise ValueError(f"set_data: shape {array.shape} != this tensor's {self.shape}")
        self.data = array


def concatenate(tensors: list[Tensor], axis: int = 0) -> Tensor:
    """Tensors joined along an existing axis, as one node.  Each input gets its slice of the
    upstream gradient."""
    parts = [as_tensor(t) for t in tensors]
    if not parts:
        raise ValueError("concatenate needs at least one Tensor")
    try:
        out = np.concatenate([p.data for p in parts], axis=axis)
    except ValueError as error:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ValueError(f"concatenate along axis {axis}: shapes {shapes}: {error}") from None
    ends = np.cumsum([p.shape[axis] for p in parts])
    bounds = list(zip([0, *ends[:-1]], ends))
    vjps = tuple(_slice_of(axis, start, stop) for start, stop in bounds)
    saved = (axis % out.ndim, bounds)
    return parts[0]._result(out, "concatenate", tuple(parts), vjps, saved)


def stack(tensors: list[Tensor], axis: int = 0) -> Tensor:
    """Tensors of one shape stacked along a new axis, as one node.  Each input gets its slice of
    the upstream gradient."""
    parts = [as_tensor(t) for t in tensors]
    if not parts:
        raise ValueError("stack needs at least one Tensor")
    try:
        out = np.stack([p.data for p in parts], axis=axis)
    except ValueError as error:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ValueError(f"stack along axis {axis}: shapes {shapes}: {error}") from None
    vjps = tuple(_taken(axis, k) for k in range(len(parts)))
    return parts[0]._result(out, "stack", tuple(parts), vjps, (axis % out.ndim,))


def _slice_of(axis: int, start: int, stop: int) -> Vjp:
    """The vjp of one input of `concatenate`: its own slice of the gradient."""

    def vjp(g: np.ndarray) -> np.ndarray:
        return np.take(g, np.arange(start, stop), axis=axis)

    return vjp


def _taken(axis: int, k: int) -> Vjp:
    """The vjp of input `k` of `stack`: its own layer of the gradient."""

    def vjp(g: np.ndarray) -> np.ndarray:
        return np.take(g, k, axis=axis)

    return vjp


def constant(data: ArrayLike, dtype: Any = None) -> Tensor:
    """`data` as a Tensor that pictures draw as a constant (`op` CONSTANT), not as an input: a
    number an op turned into a Tensor (the 2 in `2 * t`), the seed of a recorded backward pass.
    It shares the array's memory when it can."""
    made = Tensor(data, dtype=dtype, copy=False)
    made.op = CONSTANT
    return made


def as_tensor(data: ArrayLike, dtype: Any = None) -> Tensor:
    """`data` as a Tensor: a Tensor is returned as it is, anything else becomes a constant that
    shares the array's memory when it can (as torch.as_tensor)."""
    if isinstance(data, Tensor):
        return data
    return Tensor(data, dtype=dtype, copy=False)


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
