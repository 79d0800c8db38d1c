"""The scalar path: a `Value` records how it was computed, and `backward()` runs the chain rule.

Every operation makes one node that keeps its inputs (`parents`) and, for each input, the local
derivative of the output with respect to that input (`local_grads`), both computed in the forward
pass from the op's definition (`autograd_core.ops`: its `value` and its `local`, side by side).
`backward()` then walks the graph in reverse topological order (the walk in `graph.py`, shared
with `Tensor`) with a single rule::

    parent.grad += local_grad * node.grad        # upstream x local

The nodes hold plain floats and their parents: no closures, so no reference cycles, and a graph
is freed the moment its root is dropped. Python's cyclic collector still walks every object it
tracks whenever enough of them have been made, and a training loop makes a graph per step, so a
node is kept to one tracked object: the one or two inputs of almost every op (and their local
gradients) sit in slots of the node itself, not in tuples of their own. That halved a step of
micrograd's demo built node for node (280 to 140 ms, `benchmarks/scalar_vs_micrograd.py`; the
collector had been three quarters of it). `parents` and `local_grads` read the slots as tuples.

The methods that make nodes are bound from the op table: `Value.exp` is made from `ops.Exp`'s
`value` and `local`, by one of the two makers below (one input, two inputs), which is the hot
path of the forward pass.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

from . import ops
from .function import Context, Function
from .graph import (
    CONSTANT,
    MODE_BLOCKS,
    Operand,
    Saved,
    Shares,
    backpropagate,
    is_node,
    refuse_non_finite_forward,
    this_thread_modes,
)


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


def mixed_paths(op: str, other: object) -> TypeError:
    """The error for a Value meeting a Tensor: the two paths never share a graph."""
    return TypeError(
        f"{op}: a Tensor (the batch path) cannot be combined with a Value (the scalar path), "
        f"got {other!r:.60}; use Tensor(value.data) for a constant, or stay on one path"
    )


def not_real(op: str, other: object) -> TypeError:
    """The error for an operand that is not a real number: a complex number, text, a date, or
    (for a Value, which is one number) an array. Named, instead of NumPy's words about ufuncs
    or a cast that drops an imaginary part with a warning."""
    kind = getattr(getattr(other, "dtype", None), "kind", "")
    if kind == "c":
        why = "complex numbers are not supported (the gradients here are of real functions)"
    elif kind and kind in "biuf":
        why = "a Value is one number: use a Tensor for an array"
    else:
        why = "a real number (int, float, or a NumPy number or array of them) is needed"
    return TypeError(f"{op}: cannot combine with {type(other).__name__} {other!r:.40}; {why}")


_new_value = object.__new__


def _unary_method(op: type[ops.Elementwise]) -> Callable[[Value], Value]:
    """`Value.<op>()` for an op of one input and no params: the node of `op.value` and
    `op.local` at this value, built in place (the forward pass's hot path)."""
    forward = getattr(op.value, "on_float", op.value)  # a float's own function: no dispatch
    local, name = op.local, op.name

    def method(self: Value) -> Value:
        x = self.data
        data = forward(x)
        local_grad = local(x, data)
        if MODE_BLOCKS.count:
            return new_node(data, name, (self,), (local_grad,))
        out = _new_value(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out.op = name
        out.first_input = self
        out._first_local = local_grad
        out.second_input = None
        return out

    method.__name__ = op.method or name
    method.__doc__ = op.__doc__
    return method


def _binary_method(op: type[ops.Binary], refuse: bool = False) -> Callable[[Value, Operand], Value]:
    """`a <op> b` for an op of two inputs: the node of `op.value` and `op.local`, a plain
    number b made a constant leaf. NotImplemented for another type (Python then tries b's
    reflected operator), or with `refuse` a TypeError (a named method, `a.max(b)`)."""
    forward = getattr(op.value, "on_float", op.value)
    local, name = op.local, op.name
    constant = getattr(local, "constant", None)  # local gradients that need no call: add's

    def method(self: Value, other: ScalarOperand) -> Value:
        b = other if type(other) is Value else _operand(other, name)
        if b is None:
            if refuse:
                raise TypeError(
                    f"{name} needs a Value or a real number, got {type(other).__name__}"
                )
            return NotImplemented
        x, y = self.data, b.data
        data = forward(x, y)
        a_local, b_local = constant or local(x, y, data)
        if MODE_BLOCKS.count:
            return new_node(data, name, (self, b), (a_local, b_local))
        out = _new_value(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out.op = name
        out.first_input = self
        out._first_local = a_local
        out.second_input = b
        out._second_local = b_local
        return out

    method.__name__ = op.method or name
    method.__doc__ = op.__doc__
    return method


def _with_params(op: type[ops.Elementwise], x: Value, params: tuple[float, ...]) -> Value:
    """The node of an op of one input that takes params (leaky_relu's slope, **n's n), which
    the node records (`saved`)."""
    data = x.data
    out = op.value(data, *params)
    return new_node(out, op.node_op(params), (x,), (op.local(data, out, *params),), params)


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
        saved: what the op recorded besides its inputs and output (leaky_relu's slope, a
            `Function`'s context); `()` for most ops.
        function: the op that made the node (an `autograd_core.Function`), None for a leaf.

    User code passes `data` and `label`; `op`, `parents` and `local_grads` are how a node can be
    made by hand (as micrograd's `_children` and `_op`), so a student can add an op of their
    own: `Value(math.sin(x.data), op="sin", parents=(x,), local_grads=(math.cos(x.data),))`
    (or, differentiable again, as an `autograd_core.Function`).

    `==` and hashing stay by identity, so Values work as keys of dicts and sets (pictures and
    checks keep per-node results in them); `<`, `<=`, `>`, `>=` compare `data` and return a bool.
    """

    # A node with one or two inputs keeps them in `first_input`/`second_input` (`second_input`
    # None for one input; public, since the walk reads them: the Node protocol) and their local
    # gradients in `_first_local`/`_second_local`, and what its op saved, if anything, in
    # `_more`. A leaf and a node with more inputs (sum, dot, cross_entropy) have `first_input`
    # None and keep their parents in `_more` (None for a leaf), their local gradients in
    # `_more_locals` and what the op saved in `_second_local`. (See the module docstring: two
    # slots, not a pair, is a tuple fewer per node for the cyclic collector to track.)
    __slots__ = (
        "_first_local", "_more", "_more_locals", "_second_local", "data", "first_input", "grad",
        "label", "op", "second_input",
    )  # fmt: skip
    data: float
    grad: Any  # a float; a Value of the backward pass's graph after backward(create_graph=True)
    label: str
    op: str
    first_input: Value | None
    second_input: Value | None
    _first_local: Any
    _second_local: Any
    _more: Any
    _more_locals: tuple[Any, ...]

    EMPTY_GRAD: ClassVar[float] = 0.0  # the grad of a node no gradient has reached yet
    requires_grad: ClassVar[bool] = True  # every Value gets a gradient (as a parameter does)
    shape: ClassVar[tuple[int, ...]] = ()  # a number (as a 0-d array's shape)

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
        _link(self, parents, local_grads, BY_HAND if parents else ())

    @property
    def parents(self) -> tuple[Value, ...]:
        """The input Values of the op that made this one, in input order (`()` for a leaf)."""
        first = self.first_input
        if first is None:
            more = self._more
            return () if more is None else more
        second = self.second_input
        return (first,) if second is None else (first, second)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d(self)/d(parent) for each parent, in the same order (floats: relu's and max's are
        stored as True and False, which count as 1 and 0)."""
        first = self.first_input
        if first is None:
            return () if self._more is None else tuple(map(float, self._more_locals))
        if self.second_input is None:
            return (float(self._first_local),)
        return (float(self._first_local), float(self._second_local))

    @local_grads.setter
    def local_grads(self, local_grads: tuple[float, ...]) -> None:
        """Replace the local gradients (a lesson breaks one to watch a check catch it)."""
        parents = self.parents  # already this node's (a subclass of Value is kept as it is)
        if len(local_grads) != len(parents):
            raise ValueError(f"{len(parents)} parents need {len(parents)} local gradients")
        checked = tuple(_as_float(g, "a local gradient") for g in local_grads)
        _link(self, parents, checked, self._record())

    def _record(self) -> Saved:
        """What the slots hold of the op's record (see `__slots__`): `saved`, or BY_HAND."""
        if self.first_input is not None:
            return getattr(self, "_more", ())
        return getattr(self, "_second_local", ()) if self._more is not None else ()

    @property
    def saved(self) -> Saved:
        """What the op recorded besides inputs and output: its params (`(slope,)`), a
        `Function`'s context, or `()`."""
        record = self._record()
        return () if record is BY_HAND else record

    @property
    def function(self) -> type[Function] | None:
        """The op that made this node (an op of the table, or a `Function`'s own class), None
        for a leaf and for a node made by hand (`Value(data, op=..., parents=...)`), whose
        local gradients are only the numbers it was given."""
        record = self._record()
        if isinstance(record, Context):
            return record.function
        if record is BY_HAND or not self.op:
            return None
        return ops.lookup(self.op)

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        grad = self.grad if type(self.grad) is float else float(self.grad.data)
        return f"Value({name}data={self.data:.6g}, grad={grad:.6g})"

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

    def __lt__(self, other: ScalarOperand) -> bool:
        number = _data_of(other)
        return NotImplemented if number is None else self.data < number

    def __le__(self, other: ScalarOperand) -> bool:
        number = _data_of(other)
        return NotImplemented if number is None else self.data <= number

    def __gt__(self, other: ScalarOperand) -> bool:
        number = _data_of(other)
        return NotImplemented if number is None else self.data > number

    def __ge__(self, other: ScalarOperand) -> bool:
        number = _data_of(other)
        return NotImplemented if number is None else self.data >= number

    # ---- ops: one node each, made from the op's definition in `ops` ---------------------------

    __add__ = _binary_method(ops.binary.Add)
    __mul__ = _binary_method(ops.binary.Mul)
    max = _binary_method(ops.binary.Max, refuse=True)
    maximum = max  # NumPy's and PyTorch's name for the elementwise max, which Tensor uses
    exp = _unary_method(ops.elementwise.Exp)
    log = _unary_method(ops.elementwise.Log)
    reciprocal = _unary_method(ops.elementwise.Reciprocal)
    abs = _unary_method(ops.elementwise.Abs)
    __abs__ = abs
    sqrt = _unary_method(ops.elementwise.Sqrt)
    relu = _unary_method(ops.elementwise.ReLU)
    sigmoid = _unary_method(ops.elementwise.Sigmoid)
    tanh = _unary_method(ops.elementwise.Tanh)
    softplus = _unary_method(ops.elementwise.Softplus)
    silu = _unary_method(ops.elementwise.SiLU)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """max(slope x, x) for 0 <= slope <= 1, fused (`ops.LeakyReLU`)."""
        return _with_params(ops.elementwise.LeakyReLU, self, (float(slope),))

    def elu(self, alpha: float = 1.0) -> Value:
        """x for x > 0, else alpha (e^x - 1), fused (`ops.ELU`)."""
        return _with_params(ops.elementwise.ELU, self, (float(alpha),))

    def __pow__(self, exponent: ScalarOperand) -> Value:
        """x**n for a plain number n: one node, d/dx = n x^(n-1) (`ops.PowerN`).

        a**b for two Values: one node with local gradients (b a^(b-1), a^b ln a) (`ops.Power`).
        """
        if type(exponent) is Value:
            return _power(self, exponent)
        return _with_params(
            ops.elementwise.PowerN, self, (_as_float(exponent, "the exponent of **"),)
        )

    # ---- composites: built from the ops above -------------------------------------------------

    def __neg__(self) -> Value:
        """-x = x * -1."""
        return self * -1.0

    def __sub__(self, other: ScalarOperand) -> Value:
        """a - b = a + (-b); a plain number b becomes the one constant -b."""
        if type(other) is Value:
            return self + (-other)
        b = _operand(other, "-")
        if b is None:
            return NotImplemented
        return self + -b.data

    def __truediv__(self, other: ScalarOperand) -> Value:
        """a / b = a * (1/b); b == 0 raises ZeroDivisionError from `reciprocal`."""
        b = other if type(other) is Value else _operand(other, "/")
        if b is None:
            return NotImplemented
        return self * b.reciprocal()

    def __radd__(self, other: ScalarOperand) -> Value:
        return self.__add__(other)

    def __rmul__(self, other: ScalarOperand) -> Value:
        return self.__mul__(other)

    def __rsub__(self, other: ScalarOperand) -> Value:
        """b - a with a plain number b."""
        b = _operand(other, "-")
        return NotImplemented if b is None else b - self

    def __rtruediv__(self, other: ScalarOperand) -> Value:
        """b / a with a plain number b."""
        b = _operand(other, "/")
        return NotImplemented if b is None else b * self.reciprocal()

    def __rpow__(self, base: ScalarOperand) -> Value:
        """b**x for a plain number b: the two-Value power with b as a constant leaf."""
        b = _operand(base, "**")
        return NotImplemented if b is None else _power(b, self)

    # ---- nodes made by an op of many inputs, or by a user's Function ---------------------------

    @classmethod
    def fuse(
        cls, op: type[ops.Many], inputs: Sequence[Value | float], params: tuple[object, ...] = ()
    ) -> Value:
        """One node of an op of many inputs (`ops.Sum`, `ops.Dot`, `ops.CrossEntropy`) over
        `inputs` (Values; plain numbers become constants)."""
        parents = as_values(inputs, op.name)
        data = tuple(p.data for p in parents)
        out = op.value(data, *params)
        return new_node(
            float(out), op.node_op(params), parents, op.local(data, out, *params), params
        )

    @classmethod
    def record(cls, function: type[Function], args: tuple[Operand, ...]) -> Value:
        """`function.apply(*args)` on the scalar path: its forward on the inputs' numbers, and
        its backward at upstream 1, once, for the local gradients the node stores."""
        nodes = tuple(i for i, arg in enumerate(args) if is_node(arg))
        for i in nodes:
            if type(args[i]) is not Value:
                raise mixed_paths(f"{function.name}.apply", args[i])
        data = tuple(arg.data if i in nodes else arg for i, arg in enumerate(args))
        out, saved = function.run(data, nodes)
        out = _as_float(out, f"{function.name}.forward's output")
        inputs = tuple(data[i] for i in nodes)
        shares = function.shares(1.0, inputs, out, saved, (True,) * len(nodes))
        local_grads = tuple(
            0.0
            if share is None
            else _as_float(share, f"the gradient backward of {function.name} returned")
            for share in shares
        )
        parents = tuple(args[i] for i in nodes)
        return new_node(out, function.node_op(saved), parents, local_grads, saved)

    # ---- the backward pass --------------------------------------------------------------------

    def chain_rule(self, upstream: float) -> None:
        """This node's step of the backward walk: each parent's grad += local_grad * upstream."""
        first = self.first_input
        if first is not None:  # one or two inputs: almost every node
            first.grad += self._first_local * upstream
            second = self.second_input
            if second is not None:
                second.grad += self._second_local * upstream
        elif self._more is not None:
            for parent, local_grad in zip(self._more, self._more_locals):
                parent.grad += local_grad * upstream

    def shares(self, upstream: Operand, create_graph: bool = False) -> Shares:
        """Each parent's share of the gradient, local_grad * upstream, returned instead of added
        (the walk's step when a hook, a check or `create_graph` needs them): numbers; with
        `create_graph`, Values made by the op's own local gradients applied to this node's
        inputs and output, so that they can be differentiated again."""
        if not create_graph:
            first = self.first_input
            if first is None:
                return tuple(local * upstream for local in self._more_locals) if self._more else ()
            if self.second_input is None:
                return (self._first_local * upstream,)
            return (self._first_local * upstream, self._second_local * upstream)
        function = self.function
        if function is None:
            raise TypeError(
                f"create_graph=True: the node {self.op!r} was made by hand from numbers, so its "
                "local gradients cannot be differentiated again; write the op as an "
                "autograd_core.Function, or build it from the engine's ops"
            )
        parents = self.parents
        return function.shares(upstream, parents, self, self.saved, (True,) * len(parents))

    def accumulate(self, share: float | Value) -> None:
        """Add one share to this node's grad (a recorded share onto no gradient yet is the share
        itself, not `0 + share`)."""
        grad = self.grad
        if type(share) is Value and type(grad) is float and grad == 0.0:
            self.grad = share
        else:
            self.grad = grad + share

    @classmethod
    def fresh_grad(cls) -> float:
        """A 0.0 that no node holds (a new float object): what a walk marks the nodes it
        reaches with, and where their gradients start from."""
        return float(0)

    def seed_gradient(self, *, who: str = "backward", as_node: bool = False) -> float | Value:
        """What a backward pass from this root starts with: d(self)/d(self) = 1 (a constant
        node `as_node`, for a recorded pass)."""
        return constant(1.0) if as_node else 1.0

    def as_gradient(self, found: Operand, create_graph: bool = False) -> float | Value:
        """A gradient of this node as `grad` returns it: a float (0.0 for None, a gradient that
        never reached it), or with `create_graph` a Value (a constant for a plain number)."""
        if not create_graph:
            return 0.0 if found is None else float(found)
        return found if type(found) is Value else constant(0.0 if found is None else found)

    def backward(self, create_graph: bool = False) -> None:
        """Fill in `grad` of every node this value depends on: d(self)/d(node).

        Intermediate grads are reset first, so they always hold this pass's gradients; leaf grads
        accumulate across calls, as in PyTorch (call `zero_grad` on a model, or on a Value).
        With `create_graph=True` the grads are Values whose graph is this backward pass, so they
        can be differentiated again (see `autograd_core.grad`).
        """
        backpropagate(self, self.seed_gradient(as_node=create_graph), create_graph=create_graph)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (0.0)."""
        self.grad = 0.0

    def set_data(self, data: object) -> None:
        """Replace the forward value (a parameter loaded from a file, say) with a float of it."""
        self.data = float(data)  # type: ignore[arg-type]  # numbers and 0-d arrays


ScalarOperand = Value | int | float  # what an operator of a Value takes

# The record of a node made by hand (the constructor with parents): it has no op definition.
BY_HAND = ("made by hand",)


def _power(a: Value, b: Value) -> Value:
    """a**b for two Values: one `ops.Power` node."""
    x, y = a.data, b.data
    out = ops.binary.Power.value(x, y)
    return new_node(out, "**", (a, b), ops.binary.Power.local(x, y, out))


def new_node(
    data: float,
    op: str,
    parents: tuple[Value, ...],
    local_grads: tuple[float, ...],
    saved: Saved = (),
) -> Value:
    """A node made by an op: its value, its op's name, its inputs, their local gradients (numbers)
    and what the op saved, without the checks of the constructor, which the op has made already
    (`fuse`, `functional` and the methods above use it; the constructor is a third slower)."""
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if MODE_BLOCKS.count:
        op, parents, local_grads = _apply_modes(data, op, parents, local_grads)
        if not parents:
            saved = ()
    out.op = op
    if len(parents) > 2:  # a dot or a sum (a layer's hot path): the two tuples as they are
        out.first_input = None
        out._more, out._more_locals = parents, tuple(local_grads)
        if saved != ():
            out._second_local = saved
        return out
    _link(out, parents, local_grads, saved)
    return out


def _link(
    node: Value, parents: tuple[Value, ...], local_grads: tuple[float, ...], saved: Saved
) -> None:
    """Store a node's parents, local gradients and saved record: in slots for one or two
    parents, else as tuples (see Value's slots)."""
    if len(parents) == 1:
        node.first_input, node.second_input = parents[0], None
        node._first_local = local_grads[0]
    elif len(parents) == 2:
        node.first_input, node.second_input = parents
        node._first_local, node._second_local = local_grads
    else:
        node.first_input = None
        node._more, node._more_locals = (parents, tuple(local_grads)) if parents else (None, ())
        if parents and saved != ():
            node._second_local = saved
        return
    if saved != ():
        node._more = saved


def _apply_modes(
    data: float, op: str, parents: tuple[Value, ...], local_grads: tuple[float, ...]
) -> tuple[str, tuple[Value, ...], tuple[Any, ...]]:
    """What the modes of this thread make of a new node: checked for non-finite numbers inside
    `detect_anomaly()`, made a leaf inside `no_grad()`."""
    modes = this_thread_modes()
    if parents and modes.anomaly:
        refuse_non_finite_forward(op, data, tuple(p.data for p in parents), tuple(local_grads))
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


def dot_node(
    weights: Sequence[Value | float],
    x: tuple[Value, ...],
    x_data: list[float],
    bias: float | Value | None,
    op: str,
) -> Value:
    """The `dot` node of weights and checked inputs (and the inputs' data, read once), by
    `ops.Dot.by_parts` (its value and local gradients): `functional.dot` and `linear` make
    their nodes here; `op` names the function called in an error. The weights are checked as their
    numbers are read (a layer's are its Values)."""
    kind = type(weights)
    w = cast(
        tuple[Value, ...],
        weights if kind is tuple else tuple(weights) if kind is list else as_values(weights, op),
    )
    w_data = [v.data for v in w if type(v) is Value]
    if len(w_data) != len(w):  # not all Values: numbers become constants, the rest is refused
        w = as_values(w, op)
        w_data = [v.data for v in w]
    if len(w) != len(x):
        raise ValueError(f"{op}: {len(w)} weights but {len(x)} inputs; they must pair up")
    if bias is None:
        total, local_grads = ops.reduce.Dot.by_parts(w_data, x_data)
        return new_node(total, "dot", w + x, local_grads)
    b = bias if type(bias) is Value else as_value(bias, op)
    total, local_grads = ops.reduce.Dot.by_parts(w_data, x_data, b.data)
    return new_node(total, "dot", (*w, *x, b), local_grads)


def _operand(other: object, op: str = "") -> Value | None:
    """`other` as a Value: a plain real number becomes a constant leaf; None for anything else
    (a Tensor raises TypeError: it is on the other path)."""
    if type(other) is Value:
        return other
    if type(other) is float or type(other) is int or isinstance(other, numbers.Real):
        return constant(float(other))
    if is_node(other):  # a node that is not a Value: a Tensor
        raise mixed_paths(op or "Value", other)
    if hasattr(other, "dtype"):  # a NumPy complex number or an array: NumPy would only say
        raise not_real(op or "Value", other)  # that a Value "does not support ufuncs"
    return None


def constant(number: float) -> Value:
    """A leaf for a plain number an op used (the 2 in `2 * x`, the seed of a recorded pass),
    drawn as a constant rather than as an input."""
    out = _new_value(Value)
    out.data = number
    out.grad = 0.0
    out.label = ""
    out.op = CONSTANT
    out.first_input = None
    out._more = None
    return out


def as_value(item: object, op: str = "as_value") -> Value:
    """`item` as a Value (a plain real number becomes a constant leaf); TypeError naming `op`."""
    value = _operand(item, op)
    if value is None:
        raise TypeError(f"{op} needs Values or real numbers, got {type(item).__name__}")
    return value


def as_values(items: Sequence[Value | float], op: str = "as_values") -> tuple[Value, ...]:
    """The items as Values (plain numbers, also a NumPy array's, become constants); TypeError
    naming the op otherwise (a Tensor is on the other path: it says so)."""
    kind = type(items)
    if kind is not tuple and kind is not list and is_node(items):  # a Tensor: it has the method
        raise TypeError(
            f"functional.{op} takes a sequence of Values; on the batch path call the method: "
            f"x.{op}(...)"
        )
    values = items if kind is tuple else tuple(items)
    for v in values:  # a plain loop: this check runs for every neuron of every sample
        if type(v) is not Value:
            break
    else:
        return cast(tuple[Value, ...], values)  # the common case: nothing to wrap
    return tuple(item if type(item) is Value else as_value(item, op) for item in values)


def _data_of(other: object) -> float | None:
    """The number a comparison compares `other` by, or None when it is not a number."""
    if type(other) is Value:
        return other.data
    if isinstance(other, numbers.Real):
        return float(other)
    return None
