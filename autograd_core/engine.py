"""The scalar path: a `Value` records how it was computed, and `backward()` runs the chain rule.

Every operation makes one node that keeps its inputs (`parents`) and, for each input, the local
derivative of the output with respect to that input (`local_grads`), both computed in the forward
pass. `backward()` then walks the graph in reverse topological order (the walk in `graph.py`,
shared with `Tensor`) with a single rule::

    parent.grad += local_grad * node.grad        # upstream x local

The nodes hold plain floats and their parents: no closures, so no reference cycles, and a graph
is freed the moment its root is dropped. Python's cyclic collector still walks every object it
tracks whenever enough of them have been made, and a training loop makes a graph per step, so a
node is kept to one tracked object: the one or two inputs of almost every op (and their local
gradients) sit in slots of the node itself, not in tuples of their own. That halved a step of
micrograd's demo built node for node (280 to 140 ms, `benchmarks/scalar_vs_micrograd.py`; the
collector had been three quarters of it). `parents` and `local_grads` read the slots as tuples.
What each op means (its gate pattern, its local gradient in words) is in the op table, `ops.py`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

from .graph import CONSTANT, MODE_BLOCKS, backpropagate, this_thread_modes
from .ops import differentiable_local_grads, power_name


def _as_float(data: object, what: str = "Value") -> float:
    """Convert a real number (int, float, bool, NumPy scalar) to float, or raise TypeError."""
    if isinstance(data, numbers.Real):
        return float(data)
    raise TypeError(f"{what} needs a real number, got {type(data).__name__}: {data!r:.80}")


class ForeignName:
    """A name another library's node has and this one does not (micrograd's `_prev`, PyTorch's
    `unsqueeze`): reading it raises AttributeError saying what to use instead.

    A class attribute, so that it costs nothing when unused: a `__getattr__` on the class would
    slow every attribute read of every node."""

    def __init__(self, hint: str) -> None:
        self.hint = hint

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner, self.name = owner.__name__, name

    def __get__(self, instance: object, owner: type | None = None) -> object:
        raise AttributeError(f"'{self.owner}' object has no attribute {self.name!r}: {self.hint}")


class Value:
    """A scalar that remembers the operation that made it.

    Attributes:
        data: the forward value (a Python float).
        grad: d(root)/d(self) after `root.backward()`; 0.0 until then.
        label: a name for pictures and reports ("" when unnamed).
        op: the operation that produced this value ("" for a leaf; "const" for a leaf that an
            operation made from a plain number, as the 2 in `2 * x`).
        parents: the input Values of that operation.
        local_grads: d(self)/d(parent) for each parent, in the same order.

    User code passes `data` and `label`; `op`, `parents` and `local_grads` are how an operation
    records a new node (as micrograd's `_children` and `_op`), so a student can add an op of their
    own: `Value(math.sin(x.data), op="sin", parents=(x,), local_grads=(math.cos(x.data),))`.

    `==` and hashing stay by identity, so Values work as keys of dicts and sets (pictures and
    checks keep per-node results in them); `<`, `<=`, `>`, `>=` compare `data` and return a bool.
    """

    # A node with one or two inputs keeps them in `_first`/`_second` and their local gradients
    # in `_first_local`/`_second_local` (`_second` is None for one input); a leaf and a node
    # with more inputs (sum, dot, cross_entropy) have `_first` None and keep their tuples in
    # `_more` (parents; None for a leaf) and `_more_locals` (two slots, not a pair: a
    # tuple fewer per node for the cyclic collector to track). (See the module docstring.)
    __slots__ = (
        "_first", "_first_local", "_more", "_more_locals", "_second", "_second_local", "data",
        "grad", "label", "op",
    )  # fmt: skip
    data: float
    grad: float
    label: str
    op: str
    _first: Value | None
    _second: Value | None
    _first_local: float
    _second_local: float
    _more: tuple[Value, ...] | None
    _more_locals: tuple[float, ...]

    EMPTY_GRAD: ClassVar[float] = 0.0  # the grad of a node no gradient has reached yet
    HOLDS_ARRAYS: ClassVar[bool] = False  # the scalar path: data and grad are floats
    requires_grad: ClassVar[bool] = True  # every Value gets a gradient (as a parameter does)

    # Make NumPy hand `np.float64(2) * value` to Value.__rmul__ instead of building an array.
    __array_ufunc__ = None

    # micrograd's private names, which code from its lecture reads: each says what to use here
    _prev = ForeignName("micrograd's _prev is `parents` here (a tuple, in input order)")
    _op = ForeignName("micrograd's _op is `op` here")
    _backward = ForeignName(
        "each node stores `local_grads` instead of a closure: call backward() on the root, or "
        "chain_rule(upstream) for this node's own step"
    )

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
        if type(label) is not str:
            raise TypeError(
                f"Value's second argument is a label (a str), got {type(label).__name__}; "
                "micrograd's Value(data, _children, _op) is Value(data, op=..., parents=..., "
                "local_grads=...) here"
            )
        if parents:
            parents, local_grads = _checked_inputs(op, parents, local_grads)
        self.data = data
        self.grad = 0.0
        self.label = label
        if MODE_BLOCKS.count:  # some thread is inside no_grad or detect_anomaly: ask this one
            op, parents, local_grads = _apply_modes(data, op, parents, local_grads)
        self.op = op
        _link(self, parents, local_grads)

    @property
    def parents(self) -> tuple[Value, ...]:
        """The input Values of the op that made this one, in input order (`()` for a leaf)."""
        first = self._first
        if first is None:
            more = self._more
            return () if more is None else more
        second = self._second
        return (first,) if second is None else (first, second)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d(self)/d(parent) for each parent, in the same order."""
        first = self._first
        if first is None:
            return () if self._more is None else self._more_locals
        if self._second is None:
            return (self._first_local,)
        return (self._first_local, self._second_local)

    @local_grads.setter
    def local_grads(self, local_grads: tuple[float, ...]) -> None:
        """Replace the local gradients (a lesson breaks one to watch a check catch it)."""
        parents = self.parents  # already this node's (a subclass of Value is kept as it is)
        if len(local_grads) != len(parents):
            raise ValueError(f"{len(parents)} parents need {len(parents)} local gradients")
        _link(self, parents, tuple(_as_float(g, "a local gradient") for g in local_grads))

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"


    # ---- what users bring from Python and PyTorch: numbers out, comparisons ----------------------

    def __float__(self) -> float:
        return self.data

    def __bool__(self) -> bool:
        """`if v:` tests the data, as a PyTorch scalar does: Value(0.0) is False."""
        return self.data != 0.0

    def item(self) -> float:
        """The forward value as a Python float (as PyTorch's `tensor.item()`)."""
        return self.data

    def __format__(self, spec: str) -> str:
        """`f"{v:.3f}"` formats the forward value; a plain `f"{v}"` is the repr."""
        return format(self.data, spec) if spec else repr(self)

    def __lt__(self, other: Operand) -> bool:
        number = _data_of(other)
        return NotImplemented if number is None else self.data < number

    def __le__(self, other: Operand) -> bool:
        number = _data_of(other)
        return NotImplemented if number is None else self.data <= number

    def __gt__(self, other: Operand) -> bool:
        number = _data_of(other)
        return NotImplemented if number is None else self.data > number

    def __ge__(self, other: Operand) -> bool:
        number = _data_of(other)
        return NotImplemented if number is None else self.data >= number

    # ---- primitives: one node each, forward value and local gradients side by side ----------

    def __add__(self, other: Operand) -> Value:
        """a + b.  d/da = 1, d/db = 1: the add gate distributes the upstream gradient."""
        b = other if type(other) is Value else _operand(other)
        if b is None:
            return NotImplemented
        return _binary(self.data + b.data, "+", self, b, 1.0, 1.0)

    def __mul__(self, other: Operand) -> Value:
        """a * b.  d/da = b, d/db = a: the mul gate swaps its inputs onto the gradient."""
        b = other if type(other) is Value else _operand(other)
        if b is None:
            return NotImplemented
        return _binary(self.data * b.data, "*", self, b, b.data, self.data)

    def exp(self) -> Value:
        """e**x.  d/dx = e**x. Raises OverflowError when e**x does not fit in a float."""
        x = self.data
        try:
            out = math.exp(x)
        except OverflowError:
            raise OverflowError(f"exp overflow: exp({x!r}) is too large for a float") from None
        return _unary(out, "exp", self, out)

    def log(self) -> Value:
        """Natural log.  d/dx = 1/x. Raises ValueError for x <= 0 (nan gives nan)."""
        x = self.data
        if not x > 0.0:
            if x != x:  # nan stays nan (the README's NaN policy)
                return _unary(x, "log", self, x)
            raise ValueError(f"log domain error: log({x!r}) needs a positive value")
        return _unary(math.log(x), "log", self, 1.0 / x)

    def reciprocal(self) -> Value:
        """1/x.  d/dx = -1/x**2. Raises ZeroDivisionError for x == 0."""
        x = self.data
        if x == 0.0:
            raise ZeroDivisionError(f"reciprocal of zero: 1/{x!r} is undefined")
        out = 1.0 / x
        return _unary(out, "1/x", self, -out * out)

    def max(self, other: Operand) -> Value:
        """max(a, b).  Local gradients (1, 0) or (0, 1): the max gate routes the whole gradient.

        Ties go to the first operand: b wins only when strictly larger. So `relu(x) = max(0, x)`
        has gradient 0 at x = 0, as in the lecture formula.
        """
        b = _operand(other)
        if b is None:
            raise TypeError(f"max needs a Value or a real number, got {type(other).__name__}")
        if b.data > self.data or (b.data != b.data and self.data == self.data):
            # b wins when larger, or when it alone is nan (a nan wins, and the first on a tie)
            return _binary(b.data, "max", self, b, 0.0, 1.0)
        return _binary(self.data, "max", self, b, 1.0, 0.0)

    maximum = max  # NumPy's and PyTorch's name for the elementwise max, which Tensor uses

    def __pow__(self, exponent: Operand) -> Value:
        """x**n for a plain number n: one node, d/dx = n * x**(n-1).

        a**b for two Values: one node with local gradients (b * a**(b-1), a**b * ln a). Where
        ln a is undefined the exponent's gradient follows PyTorch: 0 at a == 0 (for b >= 0), NaN
        for a negative base (whose power is real only for a whole b).
        """
        if type(exponent) is Value:
            a, b = self.data, exponent.data
            out = _power(a, b)
            # where ln a is undefined: 0 at a == 0 (for b >= 0), NaN below 0, as in PyTorch
            d_exponent = out * math.log(a) if a > 0.0 else (0.0 if a == 0.0 else math.nan)
            return _binary(out, "**", self, exponent, _power_slope(a, b), d_exponent)
        n = _as_float(exponent, "the exponent of **")
        x = self.data
        return _unary(_power(x, n), power_name(n), self, _power_slope(x, n))

    def abs(self) -> Value:
        """|x|.  d/dx = sign(x): 1 for x > 0, -1 for x < 0, and 0 at 0 (as PyTorch)."""
        x = self.data
        if x > 0.0:
            return _unary(x, "abs", self, 1.0)
        if x < 0.0:
            return _unary(-x, "abs", self, -1.0)
        if x != x:  # nan: |nan| is nan, and so is its sign
            return _unary(x, "abs", self, x)
        return _unary(0.0, "abs", self, 0.0)

    __abs__ = abs

    def sqrt(self) -> Value:
        """sqrt(x).  d/dx = 1 / (2 sqrt(x)), infinite at 0. Raises ValueError for x < 0."""
        x = self.data
        if x < 0.0:
            raise ValueError(f"sqrt domain error: sqrt({x!r}) needs a value >= 0")
        out = math.sqrt(x)
        return _unary(out, "sqrt", self, 0.5 / out if out else math.inf)

    # ---- composites: built from the primitives above ------------------------------------------

    def __neg__(self) -> Value:
        """-x = x * -1."""
        return self * -1.0

    def __sub__(self, other: Operand) -> Value:
        """a - b = a + (-b); a plain number b becomes the one constant -b."""
        if type(other) is Value:
            return self + (-other)
        b = _operand(other)
        if b is None:
            return NotImplemented
        return self + -b.data

    def __truediv__(self, other: Operand) -> Value:
        """a / b = a * (1/b); b == 0 raises ZeroDivisionError from `reciprocal`."""
        b = other if type(other) is Value else _operand(other)
        if b is None:
            return NotImplemented
        return self * b.reciprocal()

    def __radd__(self, other: Operand) -> Value:
        return self.__add__(other)

    def __rmul__(self, other: Operand) -> Value:
        return self.__mul__(other)

    def __rsub__(self, other: Operand) -> Value:
        """b - a with a plain number b."""
        b = _operand(other)
        return NotImplemented if b is None else b - self

    def __rtruediv__(self, other: Operand) -> Value:
        """b / a with a plain number b."""
        b = _operand(other)
        return NotImplemented if b is None else b * self.reciprocal()

    def __rpow__(self, base: Operand) -> Value:
        """b**x for a plain number b: the two-Value power with b as a constant leaf."""
        b = _operand(base)
        return NotImplemented if b is None else b**self

    # ---- activations: fused single nodes, checked against their compositions in the tests ----

    def relu(self) -> Value:
        """max(0, x), fused.  d/dx = 1 for x > 0, else 0 (the tie at 0 goes to the constant 0)."""
        x = self.data
        if x > 0.0:
            return _unary(x, "relu", self, 1.0)
        # relu(nan) is nan, with the gradient of the x <= 0 side (as PyTorch)
        return _unary(x if x != x else 0.0, "relu", self, 0.0)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """max(slope*x, x) for 0 <= slope <= 1, fused.  d/dx = 1 for x > 0, else slope."""
        x = self.data
        if x > 0.0:
            return _unary(x, "leaky_relu", self, 1.0)
        return _unary(slope * x, "leaky_relu", self, float(slope))

    def sigmoid(self) -> Value:
        """1 / (1 + exp(-x)), fused.  d/dx = s * (1 - s)."""
        x = self.data
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:  # the same value, written so that exp cannot overflow for very negative x
            e = math.exp(x)
            s = e / (1.0 + e)
        return _unary(s, "sigmoid", self, s * (1.0 - s))

    def tanh(self) -> Value:
        """(e**2x - 1) / (e**2x + 1), fused.  d/dx = 1 - t**2."""
        t = math.tanh(self.data)
        return _unary(t, "tanh", self, 1.0 - t * t)

    def elu(self, alpha: float = 1.0) -> Value:
        """x for x > 0, else alpha * (exp(x) - 1), fused.  d/dx = 1, or alpha * exp(x)."""
        x = self.data
        if x > 0.0:
            return _unary(x, "elu", self, 1.0)
        e = math.exp(x)
        return _unary(alpha * (e - 1.0), "elu", self, alpha * e)

    # ---- the backward pass --------------------------------------------------------------------

    def chain_rule(self, upstream: float) -> None:
        """This node's step of the backward walk: each parent's grad += local_grad * upstream."""
        first = self._first
        if first is not None:  # one or two inputs: almost every node
            first.grad += self._first_local * upstream
            second = self._second
            if second is not None:
                second.grad += self._second_local * upstream
        elif self._more is not None:
            for parent, local_grad in zip(self._more, self._more_locals):
                parent.grad += local_grad * upstream

    def parent_gradients(self, upstream: Any, create_graph: bool = False) -> tuple[Any, ...]:
        """Each parent's share of the gradient, local_grad * upstream (what `autograd_core.grad`
        sums): numbers; with `create_graph`, Values built from the op table's local gradients as
        expressions (`ops.differentiable_local_grads`), so that they can be differentiated
        again."""
        local = differentiable_local_grads(self) if create_graph else self.local_grads
        if type(upstream) is float and upstream == 1.0:  # the seed: no `* 1` node in the graph
            return local
        return tuple(local_grad * upstream for local_grad in local)

    def as_gradient(self, found: Any, create_graph: bool = False) -> Any:
        """A gradient of this node's shape as `grad` returns it: a float, or with `create_graph`
        a Value (a constant when the gradient is a plain number); `found` None gives 0."""
        if not create_graph:
            return 0.0 if found is None else float(found)
        return found if type(found) is Value else as_value(0.0 if found is None else found, "grad")

    def seed_gradient(self, *, who: str = "backward") -> float:
        """What a backward pass from this root starts with: d(self)/d(self) = 1."""
        return 1.0

    def backward(self, create_graph: bool = False) -> None:
        """Fill in `grad` of every node this value depends on: d(self)/d(node).

        Intermediate grads are reset first, so they always hold this pass's gradients; leaf grads
        accumulate across calls, as in PyTorch (call `zero_grad` on a model, or on a Value).
        With `create_graph=True` the grads are Values whose graph is this backward pass, so they
        can be differentiated again (see `autograd_core.grad`).
        """
        if create_graph:
            from .higher_order import backward_with_graph  # it builds on this module

            backward_with_graph(self)
            return
        backpropagate(self, 1.0)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (0.0)."""
        self.grad = 0.0

    def set_data(self, data: object) -> None:
        """Replace the forward value (a parameter loaded from a file, say) with a float of it."""
        self.data = float(data)  # type: ignore[arg-type]  # numbers and 0-d arrays


Operand = Value | int | float



_new_value = object.__new__


def new_node(
    data: float, op: str, parents: tuple[Value, ...], local_grads: tuple[float, ...]
) -> Value:
    """A node made by an op: `Value(data, "", op, parents, local_grads)` without the checks of
    the arguments, which an op has made already (ops here and in `functional` use it: it is the
    forward pass's hot path, a third faster than the constructor)."""
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if MODE_BLOCKS.count:
        op, parents, local_grads = _apply_modes(data, op, parents, local_grads)
    out.op = op
    _link(out, parents, local_grads)
    return out


def _unary(data: float, op: str, x: Value, local_grad: float) -> Value:
    """`new_node(data, op, (x,), (local_grad,))`, without making the tuples."""
    if MODE_BLOCKS.count:
        return new_node(data, op, (x,), (local_grad,))
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out.op = op
    out._first = x
    out._first_local = local_grad
    out._second = None
    return out


def _binary(data: float, op: str, a: Value, b: Value, a_local: float, b_local: float) -> Value:
    """`new_node(data, op, (a, b), (a_local, b_local))`, without making the tuples."""
    if MODE_BLOCKS.count:
        return new_node(data, op, (a, b), (a_local, b_local))
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out.op = op
    out._first = a
    out._first_local = a_local
    out._second = b
    out._second_local = b_local
    return out


def _link(node: Value, parents: tuple[Value, ...], local_grads: tuple[float, ...]) -> None:
    """Store a node's parents and local gradients: in slots for one or two, else as tuples."""
    if len(parents) == 1:
        node._first, node._second = parents[0], None
        node._first_local = local_grads[0]
    elif len(parents) == 2:
        node._first, node._second = parents
        node._first_local, node._second_local = local_grads
    else:
        node._first = None
        node._more, node._more_locals = (parents, local_grads) if parents else (None, ())


def _apply_modes(
    data: float, op: str, parents: tuple[Value, ...], local_grads: tuple[float, ...]
) -> tuple[str, tuple[Value, ...], tuple[float, ...]]:
    """What the modes of this thread make of a new node: checked for non-finite numbers inside
    `detect_anomaly()`, made a leaf inside `no_grad()`."""
    modes = this_thread_modes()
    if parents and modes.anomaly:
        if not math.isfinite(data):
            inputs = ", ".join(f"{p.data!r}" for p in parents)
            raise FloatingPointError(f"{op} of ({inputs}) produced a non-finite value ({data!r})")
        for position, local_grad in enumerate(local_grads):
            if not math.isfinite(local_grad):
                raise FloatingPointError(
                    f"{op} at {parents[position].data!r} has a non-finite local gradient "
                    f"({local_grad!r}) for its input {position}"
                )
    if modes.no_grad:
        return "", (), ()
    return op, parents, local_grads


def _checked_inputs(
    op: str, parents: tuple[Value, ...], local_grads: tuple[float, ...]
) -> tuple[tuple[Value, ...], tuple[float, ...]]:
    """A user-made node's parents and local gradients, checked: one real number per Value."""
    parents, local_grads = tuple(parents), tuple(local_grads)
    for parent in parents:
        if type(parent) is not Value:
            raise TypeError(f"{op or 'Value'}: parents must be Values, got {type(parent).__name__}")
    if len(local_grads) != len(parents):
        raise ValueError(
            f"{op or 'Value'}: {len(parents)} parents need {len(parents)} local gradients, "
            f"got {len(local_grads)}"
        )
    return parents, tuple(_as_float(g, "a local gradient") for g in local_grads)


def _operand(other: object) -> Value | None:
    """`other` as a Value: a plain real number becomes a constant leaf; None for anything else."""
    if type(other) is Value:
        return other
    if type(other) is float or type(other) is int or isinstance(other, numbers.Real):
        return new_node(float(other), CONSTANT, (), ())
    return None


def as_value(item: object, op: str = "as_value") -> Value:
    """`item` as a Value (a plain real number becomes a constant leaf); TypeError naming `op`."""
    value = _operand(item)
    if value is None:
        raise TypeError(f"{op} needs Values or real numbers, got {type(item).__name__}")
    return value


def _data_of(other: object) -> float | None:
    """The number a comparison compares `other` by, or None when it is not a number."""
    if type(other) is Value:
        return other.data
    if isinstance(other, numbers.Real):
        return float(other)
    return None


def _power(x: float, n: float) -> float:
    """x**n as a real float, or the math error naming both numbers."""
    try:
        out = x**n
    except ZeroDivisionError:
        raise ZeroDivisionError(f"pow: {x!r} ** {n!r} divides by zero") from None
    except OverflowError:
        raise OverflowError(f"pow overflow: {x!r} ** {n!r} is too large for a float") from None
    if isinstance(out, complex):
        raise ValueError(f"pow domain error: {x!r} ** {n!r} is not a real number")
    return float(out)


def _power_slope(x: float, n: float) -> float:
    """d(x**n)/dx = n * x**(n-1); infinite where the slope is vertical (x == 0, 0 < n < 1)."""
    if n == 0.0:
        return 0.0
    try:
        return n * x ** (n - 1.0)
    except ZeroDivisionError:  # x == 0 with 0 < n < 1
        return math.inf
    except OverflowError:  # x**(n-1) is negative only for a negative x and an odd whole n-1
        odd_power_of_negative = x < 0.0 and (n - 1.0) % 2.0 == 1.0
        return math.copysign(math.inf, -n if odd_power_of_negative else n)
