"""The scalar engine: a `Value` records how it was computed, and `backward()` runs the chain rule.

Every operation makes one node that keeps its inputs (`parents`) and, for each input, the local
derivative of the output with respect to that input (`local_grads`), both computed in the forward
pass. `backward()` then walks the graph in reverse topological order with a single rule::

    parent.grad += local_grad * node.grad        # upstream x local

The nodes hold plain floats and tuples: no closures, so no reference cycles, so Python's cyclic
garbage collector has nothing to chase and a graph is freed the moment its root is dropped.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# Shared local-gradient tuples for the ops whose local gradients are constants, so that an add
# or a max allocates no tuple of its own.
_ONE_ONE = (1.0, 1.0)
_FIRST_WINS = (1.0, 0.0)
_SECOND_WINS = (0.0, 1.0)
_ONE = (1.0,)
_ZERO = (0.0,)

# Whether new nodes remember their parents; `no_grad()` switches it off.
_recording = True


def _as_float(data: object, what: str = "Value") -> float:
    """Convert a real number (int, float, bool, NumPy scalar) to float, or raise TypeError."""
    if isinstance(data, numbers.Real):
        return float(data)
    raise TypeError(f"{what} needs a real number, got {type(data).__name__}: {data!r}")


class Value:
    """A scalar that remembers the operation that made it.

    Attributes:
        data: the forward value (a Python float).
        grad: d(root)/d(self) after `root.backward()`; 0.0 until then.
        label: a name for pictures and reports ("" when unnamed).
        op: the operation that produced this value ("" for a leaf).
        parents: the input Values of that operation.
        local_grads: d(self)/d(parent) for each parent, in the same order.

    User code passes `data` and `label`; the `op`, `parents` and `local_grads` arguments are how an
    operation records a new node (as micrograd's `_children` and `_op`).
    """

    __slots__ = ("data", "grad", "label", "local_grads", "op", "parents")

    # Make NumPy hand `np.float64(2) * value` to Value.__rmul__ instead of building an array.
    __array_ufunc__ = None

    def __init__(
        self,
        data: float,
        label: str = "",
        op: str = "",
        parents: tuple[Value, ...] = (),
        local_grads: tuple[float, ...] = (),
    ) -> None:
        if type(data) is not float:
            data = _as_float(data)
        self.data = data
        self.grad = 0.0
        self.label = label
        if parents and not _recording:
            op, parents, local_grads = "", (), ()
        self.op = op
        self.parents = parents
        self.local_grads = local_grads

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ---- primitives: one node each, forward value and local gradients side by side ----------

    def __add__(self, other: Operand) -> Value:
        """a + b.  d/da = 1, d/db = 1: the add gate distributes the upstream gradient."""
        b = other if type(other) is Value else _operand(other)
        if b is None:
            return NotImplemented
        return Value(self.data + b.data, "", "+", (self, b), _ONE_ONE)

    def __mul__(self, other: Operand) -> Value:
        """a * b.  d/da = b, d/db = a: the mul gate swaps its inputs onto the gradient."""
        b = other if type(other) is Value else _operand(other)
        if b is None:
            return NotImplemented
        return Value(self.data * b.data, "", "*", (self, b), (b.data, self.data))

    def exp(self) -> Value:
        """e**x.  d/dx = e**x. Raises OverflowError when e**x does not fit in a float."""
        x = self.data
        try:
            out = math.exp(x)
        except OverflowError:
            raise OverflowError(f"exp overflow: exp({x!r}) is too large for a float") from None
        return Value(out, "", "exp", (self,), (out,))

    def log(self) -> Value:
        """Natural log.  d/dx = 1/x. Raises ValueError for x <= 0."""
        x = self.data
        if not x > 0.0:
            raise ValueError(f"log domain error: log({x!r}) needs a positive value")
        return Value(math.log(x), "", "log", (self,), (1.0 / x,))

    def reciprocal(self) -> Value:
        """1/x.  d/dx = -1/x**2. Raises ZeroDivisionError for x == 0."""
        x = self.data
        if x == 0.0:
            raise ZeroDivisionError(f"reciprocal of zero: 1/{x!r} is undefined")
        out = 1.0 / x
        return Value(out, "", "1/x", (self,), (-out * out,))

    def max(self, other: Operand) -> Value:
        """max(a, b).  Local gradients (1, 0) or (0, 1): the max gate routes the whole gradient.

        Ties go to the first operand: b wins only when strictly larger. So `relu(x) = max(0, x)`
        has gradient 0 at x = 0, as in the lecture formula.
        """
        b = _operand(other)
        if b is None:
            raise TypeError(f"max needs a Value or a real number, got {type(other).__name__}")
        if b.data > self.data:
            return Value(b.data, "", "max", (self, b), _SECOND_WINS)
        return Value(self.data, "", "max", (self, b), _FIRST_WINS)

    def __pow__(self, exponent: Operand) -> Value:
        """x**n for a plain number n.  d/dx = n * x**(n-1).

        A Value exponent is the composite exp(n * log(x)), defined for x > 0.
        """
        if isinstance(exponent, Value):
            return (exponent * self.log()).exp()
        n = _as_float(exponent, "the exponent of **")
        x = self.data
        try:
            out = x**n
        except ZeroDivisionError:
            raise ZeroDivisionError(f"pow: {x!r} ** {n!r} divides by zero") from None
        except OverflowError:
            raise OverflowError(f"pow overflow: {x!r} ** {n!r} is too large for a float") from None
        if isinstance(out, complex):
            raise ValueError(f"pow domain error: {x!r} ** {n!r} is not a real number")
        if n == 0.0:
            local = 0.0
        else:
            try:
                local = n * x ** (n - 1.0)
            except ZeroDivisionError:  # x == 0 with 0 < n < 1: the slope is vertical
                local = math.inf
        return Value(out, "", f"**{n:g}", (self,), (local,))

    # ---- composites: built from the primitives above ------------------------------------------

    def __neg__(self) -> Value:
        """-x = x * -1."""
        return self * -1.0

    def __sub__(self, other: Operand) -> Value:
        """a - b = a + (-b)."""
        b = other if type(other) is Value else _operand(other)
        if b is None:
            return NotImplemented
        return self + (-b)

    def __truediv__(self, other: Operand) -> Value:
        """a / b = a * (1/b); b == 0 raises ZeroDivisionError from `reciprocal`."""
        b = other if type(other) is Value else _operand(other)
        if b is None:
            return NotImplemented
        return self * b.reciprocal()

    def __radd__(self, other: Operand) -> Value:
        return self + other

    def __rmul__(self, other: Operand) -> Value:
        return self * other

    def __rsub__(self, other: Operand) -> Value:
        """b - a with a plain number b."""
        b = _operand(other)
        return NotImplemented if b is None else b - self

    def __rtruediv__(self, other: Operand) -> Value:
        """b / a with a plain number b."""
        b = _operand(other)
        return NotImplemented if b is None else b * self.reciprocal()

    def __rpow__(self, base: Operand) -> Value:
        """b**x for a plain positive number b: exp(x * log(b))."""
        b = _operand(base)
        return NotImplemented if b is None else b**self

    # ---- activations: fused single nodes, checked against their compositions in the tests ----

    def relu(self) -> Value:
        """max(0, x), fused.  d/dx = 1 for x > 0, else 0 (the tie at 0 goes to the constant 0)."""
        x = self.data
        if x > 0.0:
            return Value(x, "", "relu", (self,), _ONE)
        return Value(0.0, "", "relu", (self,), _ZERO)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """max(slope*x, x) for 0 <= slope <= 1, fused.  d/dx = 1 for x > 0, else slope."""
        x = self.data
        if x > 0.0:
            return Value(x, "", "leaky_relu", (self,), _ONE)
        return Value(slope * x, "", "leaky_relu", (self,), (float(slope),))

    def sigmoid(self) -> Value:
        """1 / (1 + exp(-x)), fused.  d/dx = s * (1 - s)."""
        x = self.data
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:  # the same value, written so that exp cannot overflow for very negative x
            e = math.exp(x)
            s = e / (1.0 + e)
        return Value(s, "", "sigmoid", (self,), (s * (1.0 - s),))

    def tanh(self) -> Value:
        """(e**2x - 1) / (e**2x + 1), fused.  d/dx = 1 - t**2."""
        t = math.tanh(self.data)
        return Value(t, "", "tanh", (self,), (1.0 - t * t,))

    def elu(self, alpha: float = 1.0) -> Value:
        """x for x > 0, else alpha * (exp(x) - 1), fused.  d/dx = 1, or alpha * exp(x)."""
        x = self.data
        if x > 0.0:
            return Value(x, "", "elu", (self,), _ONE)
        e = math.exp(x)
        return Value(alpha * (e - 1.0), "", "elu", (self,), (alpha * e,))

    # ---- the backward pass --------------------------------------------------------------------

    def backward(self) -> None:
        """Fill in `grad` of every node this value depends on: d(self)/d(node).

        Intermediate grads are reset first, so they always hold this pass's gradients; leaf grads
        accumulate across calls, as in PyTorch (call `zero_grad` on a model, or set `grad = 0.0`).
        """
        backpropagate(self)


Operand = Value | int | float


def _operand(other: object) -> Value | None:
    """`other` as a Value: a plain real number becomes a leaf; None for anything else."""
    if isinstance(other, Value):
        return other
    if type(other) is float or type(other) is int or isinstance(other, numbers.Real):
        return Value(float(other))
    return None


def backpropagate(root: Value, on_node: Callable[[Value, float], None] | None = None) -> None:
    """The backward pass of `root.backward()`.

    `on_node(node, upstream)` is called after each node has passed `local_grad * upstream` to its
    parents, in the order the pass visits them (visualize's step-through records the pass so).
    """
    order = topological_order(root)
    # Leaves sum this pass on their own and add the total to what they held, so that a second
    # identical pass exactly doubles them (as PyTorch accumulates .grad).
    held = []
    for node in order:
        if not node.parents and node.grad:
            held.append((node, node.grad))
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        upstream = node.grad
        for parent, local_grad in zip(node.parents, node.local_grads):
            parent.grad += local_grad * upstream
        if on_node is not None:
            on_node(node, upstream)
    for leaf, earlier in held:
        leaf.grad = earlier + leaf.grad


def topological_order(root: Any) -> list[Any]:
    """Every node `root` depends on, each after all of its parents, `root` last.

    Iterative depth-first search, so a graph of any depth works at the default recursion limit.
    Works for any node with a `parents` tuple (Value and Tensor alike).
    """
    order: list[Any] = []
    visited = {id(root)}
    # The stack is the current path from the root, each node with an iterator over the parents
    # it has yet to visit; a node is emitted once that iterator runs out.
    stack = [(root, iter(root.parents))]
    push, pop, emit, mark = stack.append, stack.pop, order.append, visited.add
    while stack:
        node, unvisited = stack[-1]
        for parent in unvisited:
            if id(parent) not in visited:
                mark(id(parent))
                push((parent, iter(parent.parents)))
                break
        else:
            pop()
            emit(node)
    return order


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block new values record no parents: they are leaves and backward stops there."""
    global _recording
    previous, _recording = _recording, False
    try:
        yield
    finally:
        _recording = previous


def is_grad_enabled() -> bool:
    """False inside `no_grad()`."""
    return _recording
