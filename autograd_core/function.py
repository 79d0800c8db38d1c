"""`Function`: an operation as a forward and a backward written side by side, for both paths.

This is PyTorch's `torch.autograd.Function`, and every op of the library is one:

    from autograd_core import Function, Value

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):                 # x is a number (a float, or an ndarray)
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):             # the upstream gradient; one gradient per input
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x

    y = Cube.apply(Value(2.0))               # a node of the graph, drawn as "Cube"

`forward` gets the inputs' numbers and returns the output's. `backward` gets the upstream
gradient and returns, per input, upstream x local gradient, written with the library's
operations (`+ - * / **` and `autograd_core.exp`, `log`, `tanh`, `sigmoid`, `where`, ...), which
work on numbers and on nodes alike. So the one definition serves every pass: in a first-order
pass `backward` runs on numbers; under `create_graph=True` it runs on the graph's own nodes
(what `save_for_backward` kept of the inputs and the output comes back as those nodes), so the
gradient of a gradient of your op needs no second definition. A number `backward` saved that is
neither an input nor the output is a constant there (its derivative is not followed).

On the scalar path a node stores its local gradients as numbers, so `backward(ctx, 1.0)` runs
once, when the node is made (the backward pass then multiplies, as for every Value); on the
batch path it runs in each backward pass, with the upstream array.

Arguments of `apply` that are not nodes (a slope, a target) are passed to `forward` as they are,
and `backward` returns None for them, as in PyTorch. `ctx.needs_input_grad` says which inputs
get a gradient; any attribute set on `ctx` in `forward` is there in `backward`.

The library's own ops (`autograd_core.ops`) are Functions too, in a shorter form that needs no
`ctx`: an elementwise op is its `forward(x)` and its local gradient `local(x, out)`, which the
node types call directly (the scalar path's fast route to the same definition). Both forms give
the node types the same protocol, `run` and `shares`, below; a picture, the step-through and
`check_local_grads` read an op's metadata (`name`, `gate`, `meaning`, ...) from the class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .graph import Number, Operand, Saved, Shares, is_node

# How the gradient moves through an op, as the lessons name the patterns. "function" covers every
# op whose local gradient is a formula of its input or output (exp, sigmoid, ...); "shape" moves
# gradients without scaling them (reshape, transpose, indexing); "fused" is a whole formula
# (softmax with cross-entropy) done as one node.
GATES = ("add", "mul", "max", "function", "shape", "fused")


class Function:
    """An operation with a forward and a backward (PyTorch's `torch.autograd.Function` shape).

    Subclass it with `forward(ctx, *inputs)` and `backward(ctx, grad)` as static methods and call
    `YourOp.apply(*inputs)` on Values or Tensors (the module docstring has an example). The class
    attributes below say what pictures show of it; each has a default.

    Attributes:
        name: what its nodes record in `op` (the class name by default).
        gate: how the gradient moves through it, one of `GATES` ("function" by default).
        meaning: one line for a picture's legend.
        arity: its number of node inputs; None when it takes any number.
        local_texts: per input, d(out)/d(input) in words, with `{0}`, `{1}`, ... for the inputs'
            names and `{out}` for the output's (`("{1}", "{0}")` for x * y reads `d(x*y)/dx = y`).
        formula: the output in terms of the inputs, a template as `local_texts` (`{0} * {1}`).
        vjp_texts: on the batch path, per input, how its gradient is computed, in words.
        activation: whether `nn` offers it as an activation.
    """

    name: ClassVar[str] = ""
    gate: ClassVar[str] = "function"
    meaning: ClassVar[str] = ""
    arity: ClassVar[int | None] = None
    local_texts: ClassVar[tuple[str, ...]] = ()
    formula: ClassVar[str] = ""
    vjp_texts: ClassVar[tuple[str, ...]] = ()
    activation: ClassVar[bool] = False
    named_by_params: ClassVar[bool] = False  # its nodes' `op` says a param (`**3`): node_op

    def __init_subclass__(cls, abstract: bool = False, **options: Any) -> None:
        super().__init_subclass__(**options)
        if abstract:  # a base class for a kind of op (`ops.Elementwise`), not an op itself
            return
        if "name" not in cls.__dict__:
            cls.name = cls.__name__
        if "meaning" not in cls.__dict__ and not cls.meaning:
            cls.meaning = f"{cls.name}: an op of your own (its backward gives the gradients)"
        if cls.gate not in GATES:
            choices = ", ".join(GATES)
            raise ValueError(f"{cls.__name__}.gate must be one of {choices}, got {cls.gate!r}")

    # ---- PyTorch's form: what a subclass writes -----------------------------------------------

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:  # any signature: yours
        """The output's number(s) from the inputs' numbers; save what backward needs on `ctx`."""
        raise NotImplementedError("a Function needs a static forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Context, *args: Any, **kwargs: Any) -> Any:  # (as PyTorch's)
        """Per input, upstream x local gradient (one value for one input, else a tuple)."""
        raise NotImplementedError("a Function needs a static backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Operand) -> Operand:
        """Record the op on its inputs: a node of the same kind as the nodes among `args` (all
        Values, or all Tensors; other arguments are passed to `forward` as they are)."""
        for arg in args:
            if is_node(arg):
                return type(arg).record(cls, args)
        raise TypeError(f"{cls.name}.apply needs a Value or a Tensor among its arguments")

    # ---- the protocol the node types call (the library's ops define it their shorter way) ------

    @classmethod
    def node_op(cls, saved: Saved) -> str:
        """What a node made by this op records in `op` (its name; `**n` says its exponent)."""
        return cls.name

    @classmethod
    def run(cls, args: tuple[Operand, ...], nodes: tuple[int, ...]) -> tuple[Number, Saved]:
        """The forward pass on numbers: (the output, what the node saves for its backward).
        `args` are the arguments with each node replaced by its data; `nodes` the positions of
        the nodes among them."""
        args = _distinct(args, nodes)
        ctx = Context(cls, tuple(i in nodes for i in range(len(args))))
        out = cls.forward(ctx, *args)
        ctx.seal(args, nodes, out)
        return out, ctx

    @classmethod
    def value_at(cls, inputs: tuple[Number, ...], saved: Saved) -> Number:
        """The op's value at `inputs` (numbers, one per node input), the other arguments as the
        node's forward had them: a node recomputed with its inputs nudged (`check_local_grads`)."""
        ctx: Context = saved
        args = list(ctx.args)
        for k, i in enumerate(ctx.nodes):
            args[i] = inputs[k]
        return cls.forward(Context(cls, ctx.needs_input_grad), *args)

    @classmethod
    def shares(
        cls,
        grad: Operand,
        inputs: tuple[Operand, ...],
        out: Operand,
        saved: Saved,
        needed: Sequence[bool],
    ) -> Shares:
        """Per node input, upstream x local gradient: numbers when `grad`, `inputs` and `out` are
        numbers, nodes when they are nodes (`create_graph`). None where no gradient is needed."""
        ctx: Context = saved.bound(inputs, out)
        returned = cls.backward(ctx, grad)
        grads = returned if isinstance(returned, tuple) else (returned,)
        if len(grads) != len(ctx.nodes) + len(ctx.others):
            raise TypeError(
                f"backward of {cls.name} returned {len(grads)} gradient"
                f"{'' if len(grads) == 1 else 's'} for {len(ctx.needs_input_grad)} inputs"
            )
        return tuple(
            _fitted(cls, k, grads[position], x) if wanted and grads[position] is not None else None
            for k, (position, wanted, x) in enumerate(zip(ctx.nodes, needed, inputs))
        )

    # ---- what pictures say of the op: the templates above, filled in with names ----------------

    @classmethod
    def local_grad_texts(cls, inputs: Sequence[str], out: str, op: str = "") -> list[str]:
        """d(out)/d(input) for each input, in words, with the inputs' and the output's names
        (empty when the op says nothing of them)."""
        exponent = op[2:] if op.startswith("**") else ""
        return [
            template.format(*inputs, out=out, n=exponent)
            for template in cls.local_texts[: len(inputs)]
        ]

    @classmethod
    def formula_text(cls, inputs: Sequence[str], op: str = "") -> str:
        """The output in terms of the inputs' names, e.g. `x * y`, `exp(x)`, `x^3`."""
        exponent = op[2:] if op.startswith("**") else ""
        if cls.formula:
            return cls.formula.format(*inputs, n=exponent)
        return f"{cls.name}({', '.join(inputs)})"

    @classmethod
    def vjp_text_list(cls, inputs: Sequence[str], out: str, root: str, op: str = "") -> list[str]:
        """On the batch path, per input, how its gradient is computed, in the inputs' names:
        `vjp_texts` if the op has them, else upstream times each local gradient in words."""
        exponent = op[2:] if op.startswith("**") else ""
        if cls.vjp_texts:
            texts = [t.format(*inputs, out=out, n=exponent) for t in cls.vjp_texts]
        else:
            texts = [
                f"dL/d{name} = dL/d{out}" + ("" if local == "1" else f" * ({local})")
                for name, local in zip(inputs, cls.local_grad_texts(inputs, out, op))
            ]
        return [t.replace("dL/", f"d{root}/") for t in texts[: len(inputs)]]


class Context:
    """What `forward` leaves for `backward` (PyTorch's `ctx`): `save_for_backward(*values)`,
    `saved_tensors`, `needs_input_grad`, and any attribute set on it."""

    def __init__(self, function: type[Function], needs_input_grad: tuple[bool, ...]) -> None:
        self.function = function
        self.needs_input_grad = needs_input_grad
        self.args: tuple[Any, ...] = ()  # the arguments forward had, nodes by their numbers
        self.nodes: tuple[int, ...] = ()  # the positions of the node inputs among the arguments
        self.others: tuple[int, ...] = ()  # and of the other arguments
        self._saved: tuple[Any, ...] = ()
        self._sources: tuple[int | None, ...] = ()  # per saved value: its argument, OUT or None

    def save_for_backward(self, *values: Operand) -> None:
        """Keep `values` (inputs, the output, or other numbers) for `backward`."""
        self._saved = values

    @property
    def saved_tensors(self) -> tuple[Operand, ...]:
        """What `save_for_backward` kept: under `create_graph` the inputs and the output among
        them are the graph's nodes, so that backward's result can be differentiated again."""
        return self._saved

    def seal(self, args: tuple[Operand, ...], nodes: tuple[int, ...], out: Number) -> None:
        """After `forward`: note which saved values are which node input or the output (by
        identity), so that `bound` can put nodes in their place."""
        self.args = args
        self.nodes = nodes
        self.others = tuple(i for i in range(len(args)) if i not in nodes)
        sources: list[int | None] = []
        for value in self._saved:
            if value is out:
                sources.append(_OUT)
            else:
                sources.append(next((k for k, i in enumerate(nodes) if args[i] is value), None))
        self._sources = tuple(sources)

    def bound(self, inputs: tuple[Operand, ...], out: Operand) -> Context:
        """This context with the saved inputs and output taken from `inputs` (the node inputs,
        in order) and `out`: the numbers forward saw, or the graph's nodes."""
        bound = Context.__new__(Context)
        bound.__dict__.update(self.__dict__)
        bound._saved = tuple(
            value if source is None else out if source == _OUT else inputs[source]
            for value, source in zip(self._saved, self._sources)
        )
        return bound


_OUT = -1  # the source of a saved value that is the output


def _fitted(function: type[Function], k: int, gradient: Operand, x: Operand) -> Operand:
    """A gradient a user's backward returned for input `k` (x), checked: of x's shape, and cast
    to x's dtype (a float64 gradient of a float32 input comes back float32)."""
    if np.shape(gradient) != np.shape(x):
        raise ValueError(
            f"backward of {function.name} returned a gradient of shape {np.shape(gradient)} "
            f"for its input {k} of shape {np.shape(x)}"
        )
    dtype = getattr(x, "dtype", None)
    if dtype is not None and getattr(gradient, "dtype", dtype) != dtype:
        return gradient.astype(dtype)
    return gradient


def _distinct(args: tuple[Operand, ...], nodes: tuple[int, ...]) -> tuple[Operand, ...]:
    """The arguments, with the data of node inputs made distinct objects where two are the same
    object (`f.apply(x, x)`, or two Values of one literal), so that a saved value names one
    input."""
    seen: set[int] = set()
    out = list(args)
    for i in nodes:
        if id(out[i]) in seen:
            value = out[i]
            out[i] = value.view() if hasattr(value, "view") else value * 1.0  # a copy, same value
        seen.add(id(out[i]))
    return tuple(out)
