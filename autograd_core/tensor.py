"""The batch path: a `Tensor` node over a NumPy array, with the same backward rule as `Value`.

A scalar node stores a local gradient per parent and backward multiplies it by the upstream
gradient. An array node cannot store its Jacobian (for a 128x256 matmul that would be a matrix of
size 32768 x 32768), so it keeps its op (`function`) and what the op saved, and in the backward
pass the op computes each parent's share from the upstream gradient directly: a vector-Jacobian
product. For an elementwise op that is upstream * local gradient, from the same definition the
scalar path stores as numbers (`ops.Tanh.local` is `1 - out^2` on both). The rule is the same,
`parent.grad += share`, and so is the walk that applies it: `graph.backpropagate`, with
`Tensor.chain_rule` as the inner step.

A node holds arrays and its op's class, never a closure over itself, so a graph still has no
reference cycles.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from . import ops
from .engine import ForeignName, mixed_paths, not_real
from .function import Function
from .graph import (
    CONSTANT,
    MODE_BLOCKS,
    Operand,
    Shares,
    backpropagate,
    is_node,
    refuse_non_finite_forward,
    this_thread_modes,
)
from .ops import elementwise as unary
from .ops import reduce, shape
from .ops.arrays import Indexer, class_labels, unbroadcast, with_reduced_axes
from .ops.kinds import times

ArrayLike = Any
Axes = Any  # an int, a tuple of ints, or None: NumPy's `axis`

__all__ = [
    "Tensor",
    "as_tensor",
    "class_labels",
    "concatenate",
    "constant",
    "stack",
    "unbroadcast",
    "with_reduced_axes",
]


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
            axes = f"axes are -{len(shape)} to {len(shape) - 1}" if shape else "it has no axes"
            raise ValueError(
                f"{op}: axis {a!r} does not exist in a Tensor of shape {shape} ({axes})"
            )
    return axis, keepdims if keepdim is None else keepdim


def _refuse_changed(node: Tensor) -> None:
    """Inside `detect_anomaly()` a node keeps a copy of each input: refuse a backward step if an
    input's data changed in place since the forward pass (`w.data *= 2` between forward and
    backward), since its gradient would mix old and new values."""
    for position, (parent, array, copy) in enumerate(node.inputs_at_forward or ()):
        if not np.array_equal(array, copy, equal_nan=True):
            name = f" ({parent.label})" if parent.label else ""
            raise RuntimeError(
                f"backward of {node.op}: input {position}{name} was changed in place after the "
                "forward pass, so its gradient would be stale; change data only between a "
                "step and the next forward pass (or assign a new array with set_data)"
            )


def _own(share: Any, parent: Tensor, upstream: Any) -> Any:
    """A first-order share as a leaf keeps it: never the upstream array itself (the add gate's)
    or a view of another array, so that no two gradients share memory."""
    if not parent.parents and (share is upstream or share.base is not None):
        return share.copy()
    return share


class Tensor:
    """An array that remembers the operation that made it.

    Attributes:
        data: the forward value, a NumPy array (float64 by default; float32 when asked for, or
            when given a float32 array).
        grad: d(root)/d(self), an array of `data`'s shape, after `backward()`; None before.
        requires_grad: whether gradients flow to this tensor (True for parameters).
        op, parents, label: as for `Value`.
        function: the op that made the node (an `autograd_core.Function`: `ops.Tanh`, a user's
            Function), None for a leaf.
        saved: what the op recorded for its backward pass besides its inputs and its output (an
            axis, a target, the labels, a Function's context); `()` for most ops.

    An op's backward reads the input arrays as they are when backward runs: changing `data` in
    place between a forward pass and its backward (`w.data *= 2`) gives stale gradients.
    `detect_anomaly()` catches it (RuntimeError naming the op); optimisers step after backward.
    """

    # `arrays` and `needs` are the parents' data and requires_grad as the forward pass saw them:
    # what a first-order backward step hands the op, kept so that the step builds no lists
    # `local`: an elementwise op's local gradient, an array computed in the forward pass (as a
    # Value stores its local gradients as numbers), so that a backward step is one product
    # `first_input`, `second_input`: the first two of `parents` when there are one or two (None
    # otherwise), which the walk reads (the Node protocol)
    __slots__ = (
        "arrays", "data", "first_input", "function", "grad", "inputs_at_forward", "label",
        "local", "needs", "op", "parents", "requires_grad", "saved", "second_input",
    )  # fmt: skip

    EMPTY_GRAD: ClassVar[None] = None  # the grad of a node no gradient has reached yet

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
        elif is_node(data):
            raise mixed_paths("Tensor()", data)
        # a copy, as torch.tensor: an optimiser's in-place step never reaches the caller's array
        # (copy=False shares it, as torch.as_tensor does)
        try:
            array = np.array(data, dtype=dtype) if copy else np.asarray(data, dtype=dtype)
        except ValueError as error:  # rows of different lengths, text that is not a number
            raise ValueError(f"Tensor needs a rectangular array of numbers: {error}") from None
        if dtype is None and array.dtype.kind != "f":
            if array.dtype.kind not in "biu":
                raise TypeError(_not_numbers(data, array))
            array = array.astype(np.float64)
        elif array.dtype.kind != "f":
            raise TypeError(f"Tensor needs a floating dtype, got {array.dtype}")
        self.data: np.ndarray = array
        self.grad: Any = None
        self.requires_grad = requires_grad
        self.label = label
        self.op = ""
        self.parents: tuple[Tensor, ...] = ()
        self.first_input: Tensor | None = None
        self.second_input: Tensor | None = None
        self.function: type[Function] | None = None
        self.saved: Any = ()
        self.arrays: tuple[np.ndarray, ...] = ()
        self.needs: tuple[bool, ...] = ()
        self.local: Any = None
        self.inputs_at_forward: list[tuple[Tensor, np.ndarray, np.ndarray]] | None = None

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
        if self.data.ndim == 0:  # as NumPy and PyTorch refuse it, but saying what to use
            raise TypeError("len() of a 0-d Tensor (one number, shape ()); use .item() or .shape")
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

    # ---- making nodes -------------------------------------------------------------------------

    def _node(
        self,
        function: type[Function],
        inputs: tuple[Tensor, ...],
        data: Any,
        saved: Any = (),
        arrays: tuple[np.ndarray, ...] | None = None,
    ) -> Tensor:
        """A new node of `function` over `inputs` (whose data are `arrays`); it records its
        parents (and what its op saved) only when one of them needs a gradient."""
        out = Tensor.__new__(Tensor)
        # NumPy reductions to one number return a NumPy scalar; a Tensor always holds an array
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out.label = ""
        out.requires_grad = False
        out.op, out.parents, out.function, out.saved = "", (), None, ()
        out.arrays, out.needs, out.inputs_at_forward, out.local = (), (), None, None
        out.first_input = out.second_input = None
        if MODE_BLOCKS.count:  # some thread is inside no_grad or detect_anomaly: ask this one
            modes = this_thread_modes()
            if modes.anomaly:
                refuse_non_finite_forward(
                    function.node_op(saved), out.data, (), shape=out.data.shape
                )
            if modes.no_grad:
                return out
            if modes.anomaly:
                out.inputs_at_forward = [(t, t.data, t.data.copy()) for t in inputs]
        for parent in inputs:
            if parent.requires_grad:
                out.requires_grad = True
                out.op = function.node_op(saved) if function.named_by_params else function.name
                out.parents, out.function, out.saved = inputs, function, saved
                out.arrays = tuple([t.data for t in inputs]) if arrays is None else arrays
                # (spelled out for one or two inputs: a comprehension is a frame of its own)
                if len(inputs) == 1:
                    out.needs = (parent.requires_grad,)
                    out.first_input = parent
                elif len(inputs) == 2:
                    out.needs = (inputs[0].requires_grad, inputs[1].requires_grad)
                    out.first_input, out.second_input = inputs
                elif len(inputs) == 3:  # a linear layer: x, W, b
                    x, w, b = inputs
                    out.needs = (x.requires_grad, w.requires_grad, b.requires_grad)
                else:
                    out.needs = tuple([t.requires_grad for t in inputs])
                break
        else:  # made of constants only (a recorded backward pass: the seed, broadcast): a constant
            if inputs and all(parent.op == CONSTANT for parent in inputs):
                out.op = CONSTANT
        return out

    def _unary(self, op: type[ops.Elementwise], *params: Any) -> Tensor:
        """The node of an elementwise op of this Tensor (with its params, which it records)."""
        forward = getattr(op.value, "on_array", op.value)
        x = self.data
        out = self._node(op, (self,), forward(x, *params), params, (x,))
        if out.function is not None:  # it records: its local gradient now, as a Value's
            out.local = op.local(x, out.data, *params) if params else op.local(x, out.data)
        return out

    def _binary(self, op: type[ops.Binary], other: Any, name: str) -> Tensor:
        """The node of an elementwise op of two inputs that broadcast (NotImplemented for what
        is not a number)."""
        b = self._operand(other, name)
        if b is None:
            return NotImplemented
        x, y = self.data, b.data
        try:
            out = op.value(x, y)
        except ValueError:
            raise self._mismatch(b, name) from None
        return self._node(op, (self, b), out, (), (x, y))

    def _array_op(self, op: type[ops.ArrayOp], inputs: tuple[Tensor, ...], *params: Any) -> Tensor:
        """The node of a batch op over `inputs` (this Tensor first), with its params."""
        arrays = (inputs[0].data,) if len(inputs) == 1 else tuple([t.data for t in inputs])
        out, saved = op.value(arrays, *params)
        return self._node(op, inputs, out, saved, arrays)

    def _operand(self, other: Any, op: str) -> Tensor | None:
        """`other` as a Tensor; plain numbers and arrays take this tensor's dtype (no upcast).
        None for what is not a number; a Value raises TypeError (it is on the other path)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, numbers.Real):
            return constant(other, self.data.dtype)
        if isinstance(other, (np.ndarray, np.generic)):
            if other.dtype.kind not in "biuf":  # text read as numbers, dates, complex: refused
                raise not_real(op, other)
            return constant(other, self.data.dtype)
        if is_node(other):
            raise mixed_paths(op, other)
        return None

    def _mismatch(self, other: Tensor, op: str) -> ValueError:
        """The error for shapes that do not broadcast (NumPy's own names neither shape)."""
        return ValueError(f"{op}: shapes {self.shape} and {other.shape} do not broadcast")

    @classmethod
    def record(cls, function: type[Function], args: tuple[Operand, ...]) -> Tensor:
        """`function.apply(*args)` on the batch path: its forward on the inputs' arrays now, its
        backward in each backward pass."""
        nodes = tuple(i for i, arg in enumerate(args) if is_node(arg))
        for i in nodes:
            if not isinstance(args[i], Tensor):
                raise mixed_paths(f"{function.name}.apply", args[i])
        data = tuple(arg.data if i in nodes else arg for i, arg in enumerate(args))
        out, saved = function.run(data, nodes)
        inputs = tuple(args[i] for i in nodes)
        arrays = tuple(data[i] for i in nodes)
        return inputs[0]._node(function, inputs, np.asarray(out), saved, arrays)

    # ---- elementwise arithmetic, gradients summed back to each input's shape -------------------

    def __add__(self, other: Any) -> Tensor:
        """a + b (`ops.Add`).  Both inputs get the upstream gradient (summed over broadcast
        axes)."""
        return self._binary(ops.binary.Add, other, "+")

    def __mul__(self, other: Any) -> Tensor:
        """a * b (`ops.Mul`).  d/da = upstream * b, d/db = upstream * a."""
        return self._binary(ops.binary.Mul, other, "*")

    def maximum(self, other: Any) -> Tensor:
        """Elementwise max(a, b), the op `Value.max` is (`ops.Max`): the gradient is routed to
        the larger input; ties go to a. (Named as in NumPy and PyTorch.)"""
        out = self._binary(ops.binary.Max, other, "maximum")
        if out is NotImplemented:
            raise TypeError(f"maximum needs a Tensor, array or number, got {type(other).__name__}")
        return out

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
        """x**n for a plain number n (`ops.PowerN`).  d/dx = upstream * n * x**(n-1)."""
        if not isinstance(exponent, numbers.Real):
            raise TypeError(
                f"Tensor ** needs a plain number exponent, got {type(exponent).__name__}"
            )
        return self._unary(unary.PowerN, float(exponent))

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
        if is_node(other) and not isinstance(other, Tensor):
            raise mixed_paths(op, other)
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

    # ---- elementwise functions: each the op of `ops.elementwise` of its name --------------------

    def exp(self) -> Tensor:
        """e**x (`ops.Exp`)."""
        return self._unary(unary.Exp)

    def log(self) -> Tensor:
        """Natural log (`ops.Log`)."""
        return self._unary(unary.Log)

    def reciprocal(self) -> Tensor:
        """1/x (`ops.Reciprocal`)."""
        return self._unary(unary.Reciprocal)

    def abs(self) -> Tensor:
        """|x| (`ops.Abs`); its gradient is 0 at 0, as PyTorch's."""
        return self._unary(unary.Abs)

    __abs__ = abs

    def sqrt(self) -> Tensor:
        """sqrt(x) (`ops.Sqrt`)."""
        return self._unary(unary.Sqrt)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        """x held within [low, high] (`ops.Clip`): the gradient passes where x is inside (bounds
        included, as PyTorch's clamp), else it stops."""
        return self._unary(unary.Clip, low, high)

    def relu(self) -> Tensor:
        """max(0, x) (`ops.ReLU`)."""
        return self._unary(unary.ReLU)

    def leaky_relu(self, slope: float = 0.01) -> Tensor:
        """x for x > 0, else slope * x (`ops.LeakyReLU`)."""
        return self._unary(unary.LeakyReLU, float(slope))

    def sigmoid(self) -> Tensor:
        """1 / (1 + e**-x) (`ops.Sigmoid`)."""
        return self._unary(unary.Sigmoid)

    def tanh(self) -> Tensor:
        """tanh(x) (`ops.Tanh`)."""
        return self._unary(unary.Tanh)

    def elu(self, alpha: float = 1.0) -> Tensor:
        """x for x > 0, else alpha * (e**x - 1) (`ops.ELU`)."""
        return self._unary(unary.ELU, float(alpha))

    def softplus(self) -> Tensor:
        """log(1 + e**x), stable for large |x| (`ops.Softplus`)."""
        return self._unary(unary.Softplus)

    def silu(self) -> Tensor:
        """x * sigmoid(x) (`ops.SiLU`)."""
        return self._unary(unary.SiLU)

    # ---- linear algebra, reductions and shapes -------------------------------------------------

    def __matmul__(self, other: Any) -> Tensor:
        """A @ B (`ops.MatMul`).  d/dA = upstream @ B^T, d/dB = A^T @ upstream.

        1-D operands are treated as NumPy treats them (a row, or a column, vector)."""
        b = self._operand(other, "@")
        if b is None:
            return NotImplemented
        A, B = self.data, b.data
        if A.ndim == 0 or B.ndim == 0 or A.shape[-1] != B.shape[-2 if B.ndim > 1 else 0]:
            raise ValueError(f"@: shapes {A.shape} and {B.shape} do not line up for matmul")
        return self._array_op(reduce.MatMul, (self, b))

    def __rmatmul__(self, other: Any) -> Tensor:
        a = self._operand(other, "@")
        return NotImplemented if a is None else a @ self

    def linear(self, weight: Tensor, bias: Tensor) -> Tensor:
        """x @ W + b as one node, a Linear layer (`ops.Linear`): x (..., nin), W (nin, nout),
        b (nout,).

        The same numbers as `x @ W + b`, with one node and three products instead of two nodes
        and an unbroadcast: on a small network the per-node cost is the step's."""
        x, W, b = self.data, weight.data, bias.data
        if W.ndim != 2 or b.shape != W.shape[1:] or x.shape[-1:] != W.shape[:1]:
            raise ValueError(f"linear: shapes {x.shape}, {W.shape}, {b.shape} do not line up")
        arrays = (x, W, b)  # (read once above: the small network's most frequent node)
        return self._node(reduce.Linear, (self, weight, bias), *reduce.Linear.value(arrays), arrays)

    def sum(
        self,
        axis: Axes = None,
        keepdims: bool = False,
        *,
        dim: Axes = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """Sum over axes (`ops.SumOver`).  Every summed element gets the upstream gradient.
        (PyTorch's `dim` and `keepdim` are accepted for NumPy's `axis` and `keepdims`.)"""
        axis, keepdims = _numpy_axes("sum", axis, dim, keepdims, keepdim, self.shape)
        return self._array_op(reduce.SumOver, (self,), axis, keepdims)

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
        """The largest element over an axis (all, by default; `ops.MaxOver`): its gradient goes
        to that element of each slice, the first one on a tie. (`maximum(other)` is the
        elementwise max; `dim`, `keepdim` as for `sum`.)"""
        axis, keepdims = _numpy_axes("max", axis, dim, keepdims, keepdim, self.shape)
        return self._extreme(reduce.MaxOver, axis, keepdims)

    def min(
        self,
        axis: Axes = None,
        keepdims: bool = False,
        *,
        dim: Axes = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """The smallest element over an axis, as `max` (`ops.MinOver`)."""
        axis, keepdims = _numpy_axes("min", axis, dim, keepdims, keepdim, self.shape)
        return self._extreme(reduce.MinOver, axis, keepdims)

    def _extreme(self, op: type[reduce.MaxOver], axis: Axes, keepdims: bool) -> Tensor:
        which = op.method
        if isinstance(axis, tuple):
            raise ValueError(f"{which} over several axes {axis}: reshape them into one first")
        if self.data.size == 0:
            raise ValueError(f"{which} of an empty Tensor of shape {self.shape}")
        return self._array_op(op, (self,), axis, keepdims)

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
        """The data in another float dtype (NumPy's name; `ops.Astype`); the gradient comes back
        in this one."""
        target = np.dtype(dtype)
        if target.kind != "f":
            raise TypeError(f"astype: a Tensor holds floats, got dtype {target}")
        return self._array_op(shape.Astype, (self,), target)

    def reshape(self, *new_shape: Any) -> Tensor:
        """The same data in a new shape (`ops.Reshape`); the gradient is reshaped back."""
        if len(new_shape) == 1 and isinstance(new_shape[0], (tuple, list)):
            new_shape = tuple(new_shape[0])
        try:
            return self._array_op(shape.Reshape, (self,), new_shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {self.shape} into {new_shape}") from None

    view = reshape  # PyTorch's name

    def transpose(self, *axes: int) -> Tensor:
        """Permute axes (reverse them by default; `ops.Transpose`); the gradient is permuted
        back."""
        order = axes or tuple(reversed(range(self.ndim)))
        return self._array_op(shape.Transpose, (self,), order)

    def __getitem__(self, index: Indexer | Tensor) -> Tensor:
        """Indexing, integer arrays included (`ops.Index`).  The gradient is scattered back; an
        element picked twice gets both contributions (np.add.at)."""
        if isinstance(index, Tensor):
            index = index.data
        try:
            return self._array_op(shape.Index, (self,), index)
        except IndexError as error:
            raise IndexError(f"index into a Tensor of shape {self.shape}: {error}") from None

    def scatter_into(self, shape_: tuple[int, ...], index: Indexer) -> Tensor:
        """A zero Tensor of the given shape with this one added at `index` (twice where `index`
        picks an element twice): what indexing does to a gradient, as an op of its own so that
        it can be differentiated again (`ops.ScatterInto`).  d/dx = upstream[index]."""
        shape_ = tuple(shape_)
        try:
            return self._array_op(shape.ScatterInto, (self,), shape_, index)
        except IndexError as error:
            raise IndexError(f"scatter_into a Tensor of shape {shape_}: {error}") from None
        except ValueError as error:  # the picked places and this Tensor differ in shape
            raise ValueError(f"scatter_into a Tensor of shape {shape_}: {error}") from None

    def broadcast_to(self, shape_: tuple[int, ...]) -> Tensor:
        """This Tensor repeated along new leading axes and axes of size 1 to make the shape
        (NumPy's broadcasting, as an op: `ops.BroadcastTo`).  d/dx = upstream summed back over
        the repeats."""
        shape_ = tuple(shape_)
        try:
            return self._array_op(shape.BroadcastTo, (self,), shape_)
        except ValueError:
            raise ValueError(
                f"broadcast_to: shape {self.shape} does not broadcast to {shape_}"
            ) from None

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """z - logsumexp(z) along an axis, shifted by the max (`ops.LogSoftmax`)."""
        axis = _numpy_axes("log_softmax", axis, dim, False, None, self.shape)[0]
        return self._array_op(reduce.LogSoftmax, (self,), axis)

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
        top = self.data.max(axis=axis, initial=-np.inf)  # (an empty slice: -inf, as its sum)
        m = np.expand_dims(np.where(np.isinf(top), 0.0, top), axis)
        with np.errstate(divide="ignore"):  # log(0) is -inf here: an empty or all -inf slice
            return (self - m).exp().sum(axis=axis).log() + np.squeeze(m, axis)

    def cross_entropy(self, labels: ArrayLike) -> Tensor:
        """Mean softmax cross-entropy of logits (M, k) with integer labels (M,), as one node
        (`ops.CrossEntropyOver`): gradient (softmax(logits) - onehot(labels)) / M."""
        if self.ndim != 2 or 0 in self.shape:  # the mean of no rows is nothing (nan)
            raise ValueError(
                f"cross_entropy needs logits of shape (M, k) with M, k >= 1, got {self.shape}"
            )
        checked = class_labels(labels, self.shape, "cross_entropy")
        return self._array_op(reduce.CrossEntropyOver, (self,), checked)

    def mse(self, target: ArrayLike) -> Tensor:
        """Mean squared error against a constant target of this shape, as one node
        (`ops.MSE`): mean((x - t)**2).  d/dx = upstream * 2 (x - t) / n, for n elements."""
        t = np.asarray(target, dtype=self.dtype)
        if t.shape != self.shape:
            raise ValueError(f"mse: prediction {self.shape} but target {t.shape}")
        if t.size == 0:  # the mean of no squares is nothing (nan)
            raise ValueError(f"mse of an empty prediction (shape {self.shape}): give at least one")
        return self._array_op(reduce.MSE, (self,), t)

    def detach(self) -> Tensor:
        """The same data as a new leaf that records nothing (the gradient stops here)."""
        return Tensor(self.data, copy=False)

    # ---- the backward pass ----------------------------------------------------------------------

    def chain_rule(self, upstream: np.ndarray | None) -> None:
        """This node's step of the backward walk: its op's share for each parent that requires
        a gradient, added to that parent's grad."""
        parents = self.parents
        if upstream is None or not parents:  # a leaf, or a node that does not lead to the root
            return
        if self.inputs_at_forward is not None:
            _refuse_changed(self)
        local = self.local
        if local is not None:  # an elementwise op's: parent.grad += local * upstream
            shares: Any = (times(upstream, local),)
        else:
            function: Any = self.function
            shares = function.shares(upstream, self.arrays, self.data, self.saved, self.needs)
        for parent, share in zip(parents, shares):
            if share is not None:
                if type(share) is not np.ndarray or share.dtype is not parent.data.dtype:
                    share = _as_gradient(share, parent.data.dtype)  # (rare: one check here)
                earlier = parent.grad
                if earlier is not None:
                    total = earlier + share  # (two 0-d arrays add up to a NumPy scalar)
                    parent.grad = total if type(total) is np.ndarray else np.asarray(total)
                elif parent.parents or (share is not upstream and share.base is None):
                    parent.grad = share
                else:  # a leaf keeps its gradient: never a view of, or the array of, another's
                    parent.grad = share.copy()

    def shares(self, upstream: Operand, create_graph: bool = False) -> Shares:
        """Each parent's share of the gradient, returned instead of added (the walk's step when a
        hook, a check or `create_graph` needs them), None for a parent that needs no gradient:
        arrays; with `create_graph`, Tensors made by the op's own backward applied to this
        node's inputs and output, so that they can be differentiated again."""
        parents = self.parents
        if self.inputs_at_forward is not None:
            _refuse_changed(self)
        function: Any = self.function
        if create_graph:
            g = upstream if isinstance(upstream, Tensor) else constant(upstream)
            return tuple(function.shares(g, parents, self, self.saved, self.needs))
        if self.local is not None:
            shares = (times(upstream, self.local),)
        else:
            shares = function.shares(upstream, self.arrays, self.data, self.saved, self.needs)
        return tuple(
            None if share is None else _own(share, parent, upstream)
            for parent, share in zip(parents, shares)
        )

    def accumulate(self, share: np.ndarray | Tensor) -> None:
        """Add one share to this node's grad (the first share is the grad)."""
        if isinstance(share, (np.ndarray, np.generic)):  # (a node under create_graph: as it is)
            share = _as_gradient(share, self.data.dtype)
        total = share if self.grad is None else self.grad + share
        self.grad = np.asarray(total) if isinstance(total, np.generic) else total

    @classmethod
    def fresh_grad(cls) -> object:
        """An object that no node holds: what a walk marks the nodes it reaches with."""
        return object()

    def seed_gradient(
        self, gradient: ArrayLike | None = None, *, who: str = "backward", as_node: bool = False
    ) -> np.ndarray | Tensor:
        """What a backward pass from this root starts with: d(self)/d(self), ones of a
        single-element root, or a copy of `gradient` (of this root's shape); a constant Tensor
        `as_node`, for a recorded pass. Refuses a root that needs no gradient; `who` names the
        caller in the errors (`trace_backward` asks too)."""
        seed = self._seed(gradient, who)
        return constant(seed) if as_node else seed

    def as_gradient(self, found: Operand, create_graph: bool = False) -> np.ndarray | Tensor:
        """A gradient of this tensor's shape as `grad` returns it: an array of its own (never
        one that another gradient shares), or with `create_graph` a Tensor (a constant when the
        gradient is plain numbers); `found` None gives zeros."""
        if found is None:
            found = np.zeros_like(self.data)
        if not create_graph:
            return np.array(found)
        return found if isinstance(found, Tensor) else constant(found)

    def _seed(self, gradient: ArrayLike | None, who: str) -> np.ndarray:
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
        seed = self.seed_gradient(gradient, as_node=create_graph)
        backpropagate(self, seed, create_graph=create_graph)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (None, as PyTorch's `zero_grad(set_to_none=True)`)."""
        self.grad = None

    def set_data(self, data: ArrayLike) -> None:
        """Replace the forward value with a copy of `data` in this tensor's dtype (and shape)."""
        array = np.array(data, dtype=self.dtype)
        if array.shape != self.shape:
            raise ValueError(f"set_data: shape {array.shape} != this tensor's {self.shape}")
        self.data = array


def _joined(op: type[ops.ArrayOp], tensors: Sequence[ArrayLike], axis: int) -> Tensor:
    """The node of `concatenate` or `stack` over `tensors`, with NumPy's error naming the shapes."""
    parts = tuple(as_tensor(t) for t in tensors)
    if not parts:
        raise ValueError(f"{op.name} needs at least one Tensor")
    try:
        return parts[0]._array_op(op, parts, axis)
    except ValueError as error:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ValueError(f"{op.name} along axis {axis}: shapes {shapes}: {error}") from None


def concatenate(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Tensors joined along an existing axis, as one node (`ops.Concatenate`).  Each input gets
    its slice of the upstream gradient."""
    return _joined(shape.Concatenate, tensors, axis)


def stack(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Tensors of one shape stacked along a new axis, as one node (`ops.Stack`).  Each input gets
    its slice of the upstream gradient."""
    return _joined(shape.Stack, tensors, axis)


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


def _as_gradient(share: np.ndarray | np.generic, dtype: np.dtype[Any]) -> np.ndarray:
    """A share as its node's gradient: an array (an op on a 0-d array gives a NumPy scalar) in
    the node's dtype, as PyTorch keeps it whatever the node met (float32 times float64)."""
    if share.dtype != dtype:
        share = share.astype(dtype)
    return share if type(share) is np.ndarray else np.array(share)


def _not_numbers(data: Any, array: np.ndarray) -> str:
    """Why `data` is no array of real numbers: Values in it (the other path), an integer too
    large for a float, or what NumPy made of it."""
    items = array.ravel().tolist() if array.dtype == object else []
    if any(is_node(item) for item in items):
        return (
            "Tensor() of Values: a Tensor (the batch path) holds numbers, not the scalar path's "
            "nodes; use Tensor([v.data for v in values]) for their numbers, or stay with Values"
        )
    big = next((item for item in items if isinstance(item, int) and abs(item) >= 2**1024), None)
    if big is not None:
        digits = int(abs(big).bit_length() * math.log10(2)) + 1  # (str() of it is refused)
        return f"Tensor needs real numbers; an integer of {digits} digits is too large for a float"
    return f"Tensor needs real numbers, got {type(data).__name__} of dtype {array.dtype}"
