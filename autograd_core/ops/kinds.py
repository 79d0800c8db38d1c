"""The kinds of op, and the table every op is registered in.

Every op is a `Function` (autograd_core.function), written in the short form of its kind: what
the node types need to make a node (its forward `value`, on numbers) and to pass a gradient back
(its `local` gradients, or its vector-Jacobian product `vjp`), side by side. The kinds:

- `Elementwise`: one input, elementwise, both paths: `value(x, *params)` and
  `local(x, out, *params)`, d(out)/d(x). A Value stores `local` as a number; a Tensor's share is
  upstream * local.
- `Binary`: two inputs, elementwise with broadcasting, both paths: `value(a, b)` and
  `local(a, b, out)`, the pair (d out/d a, d out/d b). A Tensor's share is summed back to its
  input's shape.
- `Many`: any number of scalar inputs, the scalar path: `value(inputs, *params)` and
  `local(inputs, out, *params)`, one local gradient per input.
- `ArrayOp`: the batch path's ops whose Jacobian is not diagonal (matmul, reductions along an
  axis, shapes): `value(inputs, *params)` gives (out, saved) and `vjp(g, inputs, out, saved,
  needed)` the shares of the inputs that need one.

(`forward(ctx, ...)` and `backward(ctx, grad)` are the form a user's `Function` is written in;
an op here needs no `ctx`, since its node keeps its inputs, its output and its params.)

A local gradient (or vjp) is written with operators and the functions of `numbers` and of the
ops themselves (`Sigmoid.call`), which work on numbers and on nodes alike: so the same definition
gives the numbers of a first-order pass and, called on the graph's own nodes, the nodes of a
recorded one (`create_graph`), for gradients of gradients.

Whatever an op needs besides its inputs and output (leaky_relu's slope, elu's alpha,
cross-entropy's target, a reduction's axis) its node records (`saved`), so pictures and checks
read it instead of working it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..function import Context, Function
from ..graph import Number, Operand, Saved, Shares, is_node
from .arrays import unbroadcast
from .numbers import is_one

OPS: list[type[Op]] = []  # every op, in the order of definition (the op modules' order)


class Op(Function, abstract=True):
    """An op of the library: a `Function` in its kind's short form, registered in `OPS`. Each
    kind below gives the node types' protocol (`shares`, `value_at`) from that form.

    paths: which node types make it ("scalar" for Values, "batch" for Tensors).
    method: the name of the method of the node types that makes it (`x.exp()`, `a.maximum(b)`),
        None for an operator only; the CLI's functions are the scalar path's methods.
    params: the names of what the op takes besides its inputs (`("slope",)`), which its node
        records in `saved`.
    """

    paths: ClassVar[tuple[str, ...]] = ("scalar", "batch")
    method: ClassVar[str | None] = None
    params: ClassVar[tuple[str, ...]] = ()
    value: ClassVar[Any]  # the forward value, on numbers (each kind says of what)

    def __init_subclass__(cls, abstract: bool = False, **options: Any) -> None:
        super().__init_subclass__(abstract=abstract, **options)
        if not abstract:
            OPS.append(cls)

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:  # any signature: yours
        raise TypeError(
            "an op of autograd_core.ops is written in its short form (value and local, or vjp), "
            "not as forward(ctx, ...): call it with Op.apply(x) or x's method"
        )

    @staticmethod
    def backward(ctx: Context, *args: Any, **kwargs: Any) -> Any:  # (as PyTorch's)
        raise TypeError(
            "an op of autograd_core.ops gives its gradients by `local` (or `vjp`), not backward"
        )

    @classmethod
    def apply(cls, *args: Operand) -> Operand:
        """The op on nodes, as the node's own method makes it (`Tanh.apply(x)` is `x.tanh()`)."""
        if not cls.method or not is_node(args[0]):
            raise TypeError(f"{cls.__name__}.apply needs a Value or a Tensor first")
        return getattr(args[0], cls.method)(*args[1:])

    @classmethod
    def call(cls, *args: Operand) -> Operand:
        """The op as a function of numbers or nodes: its value on numbers (no graph), its node
        on a node (what local gradients are written with, so they work under create_graph)."""
        if is_node(args[0]):
            return cls.apply(*args)
        return cls.value(*args)


def constant_local(*local_grads: float) -> staticmethod[..., tuple[float, ...]]:
    """A `local` that is the same numbers everywhere (the add gate's (1, 1)), as a static
    method whose `constant` the scalar path's fast route reads without calling it."""

    def local(*inputs_and_out: Operand) -> tuple[float, ...]:
        return local_grads

    local.constant = local_grads  # type: ignore[attr-defined]
    return staticmethod(local)


def times(grad: Operand, local: Operand) -> Operand:
    """upstream x local gradient, with no product for a local gradient of 1 (the add gate). An
    array times a mask (relu's, max's) has no negative zeros, as the scalar path's sums have
    none (`0.0 + -0.0` is 0.0): a printed gradient shows 0, not -0."""
    if type(local) is np.ndarray:  # the batch path's first order: the hot case
        product = grad * local
        if local.dtype == bool and type(product) is np.ndarray:
            product += 0.0  # in place: -0.0 + 0.0 is 0.0, nan stays nan
        return product
    if is_one(local):
        return grad
    if is_one(grad) and is_node(local):  # the seed of a recorded pass: no `1 *` node
        return local
    return grad * local


class Elementwise(Op, abstract=True):
    """One input, elementwise: its value `value(x, *params)` and its local gradient
    `local(x, out, *params)`, each a static method (see the module docstring)."""

    arity = 1

    value: ClassVar[Any]  # (x, *params) -> out, on numbers
    local: ClassVar[Any]  # (x, out, *params) -> d out / d x, on numbers or nodes

    @classmethod
    def value_at(cls, inputs: tuple[Number, ...], saved: Saved) -> Number:
        return cls.value(inputs[0], *saved)

    @classmethod
    def shares(
        cls,
        grad: Operand,
        inputs: tuple[Operand, ...],
        out: Operand,
        saved: Saved,
        needed: Sequence[bool],
    ) -> Shares:
        local = cls.local(inputs[0], out, *saved) if saved else cls.local(inputs[0], out)
        return (times(grad, local),)


class Binary(Op, abstract=True):
    """Two inputs, elementwise: `value(a, b)` and `local(a, b, out)`, the pair of local
    gradients. On the batch path the inputs broadcast, and each share is summed back to its
    input's shape by the Tensor."""

    arity = 2

    value: ClassVar[Any]  # (a, b) -> out, on numbers
    local: ClassVar[Any]  # (a, b, out) -> (d out / d a, d out / d b), on numbers or nodes

    @classmethod
    def value_at(cls, inputs: tuple[Number, ...], saved: Saved) -> Number:
        return cls.value(*inputs)

    @classmethod
    def shares(
        cls,
        grad: Operand,
        inputs: tuple[Operand, ...],
        out: Operand,
        saved: Saved,
        needed: Sequence[bool],
    ) -> Shares:
        a, b = inputs
        local_a, local_b = cls.local(a, b, out)
        return (
            unbroadcast(times(grad, local_a), np.shape(a)) if needed[0] else None,
            unbroadcast(times(grad, local_b), np.shape(b)) if needed[1] else None,
        )


class Many(Op, abstract=True):
    """Any number of scalar inputs (the scalar path): `value(inputs, *params)` and
    `local(inputs, out, *params)`, one local gradient per input."""

    paths = ("scalar",)

    value: ClassVar[Any]  # (inputs, *params) -> out, on numbers
    local: ClassVar[Any]  # (inputs, out, *params) -> per input d out / d input

    @classmethod
    def value_at(cls, inputs: tuple[Number, ...], saved: Saved) -> Number:
        return cls.value(inputs, *saved)

    @classmethod
    def shares(
        cls,
        grad: Operand,
        inputs: tuple[Operand, ...],
        out: Operand,
        saved: Saved,
        needed: Sequence[bool],
    ) -> Shares:
        return tuple(times(grad, local) for local in cls.local(inputs, out, *saved))

    @classmethod
    def call(cls, *args: Operand) -> Operand:
        """On numbers the value; on nodes the node, made by the scalar path's `Value.fuse`."""
        inputs = tuple(args[0])
        for x in inputs:
            if is_node(x):
                return type(x).fuse(cls, inputs, args[1:])
        return cls.value(inputs, *args[1:])


class ArrayOp(Op, abstract=True):
    """A batch op whose Jacobian is not diagonal: `value(inputs, *params)` gives (out, saved),
    and `vjp(g, inputs, out, saved, needed)` the share of each input whose `needed` is set (None
    for the others), written for arrays and Tensors alike (`arrays`)."""

    paths = ("batch",)
    arity: ClassVar[int | None] = 1

    def __init_subclass__(cls, abstract: bool = False, **options: Any) -> None:
        super().__init_subclass__(abstract=abstract, **options)
        if "vjp" in cls.__dict__:  # its shares are its vjp: called directly, one call less
            cls.shares = cls.__dict__["vjp"]  # type: ignore[method-assign]

    value: ClassVar[Any]  # (inputs, *params) -> (out, saved), on arrays
    vjp: ClassVar[Any]  # (g, inputs, out, saved, needed) -> shares, on arrays or Tensors

    @classmethod
    def call(cls, *args: Operand) -> Operand:
        """On a Tensor its method; on an array the value's output (an op of one input)."""
        if is_node(args[0]):
            return cls.apply(*args)
        return cls.value((args[0],), *args[1:])[0]

    @classmethod
    def value_at(cls, inputs: tuple[Number, ...], saved: Saved) -> Number:
        raise TypeError(f"{cls.name} is an op of the batch path: check it with gradcheck")

    @classmethod
    def shares(
        cls,
        grad: Operand,
        inputs: tuple[Operand, ...],
        out: Operand,
        saved: Saved,
        needed: Sequence[bool],
    ) -> Shares:
        shares: tuple[Any, ...] = cls.vjp(grad, inputs, out, saved, needed)
        return shares
