"""The one list of ops the tests use, with the hypothesis strategies that draw their inputs.

Every op of `autograd_core.ops` has a case here per path it is on: how to call it on Values and
on Tensors, where its inputs may come from (a domain, and kinks to keep away from, where finite
differences and HIPS autograd's tie rules legitimately differ), and an independent reference
written with HIPS autograd's numpy. The per-op tests (`test_ops.py`), the random programs
(`test_properties.py`) and the higher-order tests all read this list, so adding an op means adding
its case here, once; `test_every_op_has_a_case_on_each_of_its_paths` fails until it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.scipy.special import logsumexp as anp_logsumexp
from hypothesis import strategies as st

import autograd_core
from autograd_core import Tensor, Value, ops
from autograd_core import functional as F
from autograd_core.ops import binary, elementwise, reduce, shape

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Case:
    """One way to call one op, on one or both paths.

    `on_values(*Values)` and `on_tensors(*Tensors)` make the op's node (last); `reference` is the
    same function in HIPS autograd's numpy, of floats (scalar path) or arrays (batch path).
    Inputs are drawn from `domain` and kept `margin` away from each of `kinks` (for an op of two
    inputs, a kink at 0 of `a - b` is a tie: `tie=True`). `smooth`: second derivatives exist
    where the inputs are drawn (gradgradcheck applies); else they are 0 there (piecewise linear).
    """

    id: str
    op: type[ops.Op]
    arity: int
    on_values: Callable[..., Value] | None
    on_tensors: Callable[..., Tensor] | None
    reference: Callable[..., Any]
    domain: tuple[float, float] = (-2.0, 2.0)
    kinks: tuple[float, ...] = ()
    margin: float = 0.05
    tie: bool = False
    smooth: bool = True
    shapes: tuple[Shape, ...] = ((2, 3),)
    batch_reference: Callable[..., Any] | None = None  # when the arrays' reference differs
    distinct: bool = False  # batch inputs with no two elements within `margin` (max over an axis)
    extra: dict[str, Any] = field(default_factory=dict)

    def array_reference(self) -> Callable[..., Any]:
        return self.batch_reference or self.reference


def _case(
    id: str, op: type[ops.Op], arity: int, value: Any, tensor: Any, ref: Any, **kw: Any
) -> Case:
    return Case(id, op, arity, value, tensor, ref, **kw)


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + anp.exp(-x))


def _log_softmax(x: Any, axis: int = -1) -> Any:
    return x - anp_logsumexp(x, axis=axis, keepdims=True)


LABELS = np.array([2, 0])
TARGET = np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]])
INDEX = np.array([1, 1, 0])
SCATTER_AT = (np.array([1, 1, 0]), np.array([2, 2, 0]))


def _scatter_reference(x: Any) -> Any:
    """scatter_into((2, 3), SCATTER_AT) as a matrix product (HIPS autograd has no np.add.at)."""
    picks = np.zeros((6, 3))
    for k, (row, col) in enumerate(zip(*SCATTER_AT)):
        picks[row * 3 + col, k] += 1.0
    return anp.reshape(anp.dot(picks, x), (2, 3))


# fmt: off
CASES: tuple[Case, ...] = (
    # ---- two inputs ----
    _case("+", binary.Add, 2, lambda a, b: a + b, lambda a, b: a + b, lambda a, b: a + b,
          shapes=((2, 3), (3,))),
    _case("*", binary.Mul, 2, lambda a, b: a * b, lambda a, b: a * b, lambda a, b: a * b,
          shapes=((2, 3), (2, 1))),
    _case("max", binary.Max, 2, lambda a, b: a.max(b), lambda a, b: a.maximum(b), anp.maximum,
          kinks=(0.0,), tie=True, smooth=False, shapes=((2, 3), (2, 3))),
    _case("**", binary.Power, 2, lambda a, b: a**b, None, lambda a, b: a**b,
          domain=(0.3, 2.0)),
    # ---- one input ----
    _case("exp", elementwise.Exp, 1, lambda a: a.exp(), lambda a: a.exp(), anp.exp,
          domain=(-3.0, 3.0)),
    _case("log", elementwise.Log, 1, lambda a: a.log(), lambda a: a.log(), anp.log,
          domain=(0.2, 3.0)),
    _case("1/x", elementwise.Reciprocal, 1, lambda a: a.reciprocal(), lambda a: a.reciprocal(),
          lambda a: 1.0 / a, domain=(0.3, 2.5)),
    _case("**3", elementwise.PowerN, 1, lambda a: a**3, lambda a: a**3, lambda a: a**3),
    _case("**2", elementwise.PowerN, 1, lambda a: a**2, lambda a: a**2, lambda a: a**2),
    _case("**0.5", elementwise.PowerN, 1, lambda a: a**0.5, lambda a: a**0.5, anp.sqrt,
          domain=(0.2, 3.0)),
    _case("**-1.5", elementwise.PowerN, 1, lambda a: a**-1.5, lambda a: a**-1.5,
          lambda a: a**-1.5, domain=(0.3, 3.0)),
    _case("abs", elementwise.Abs, 1, lambda a: a.abs(), lambda a: a.abs(), anp.abs,
          kinks=(0.0,), smooth=False),
    _case("sqrt", elementwise.Sqrt, 1, lambda a: a.sqrt(), lambda a: a.sqrt(), anp.sqrt,
          domain=(0.2, 3.0)),
    _case("clip", elementwise.Clip, 1, None, lambda a: a.clip(-0.5, 0.5),
          lambda a: anp.clip(a, -0.5, 0.5), kinks=(-0.5, 0.5), smooth=False),
    _case("relu", elementwise.ReLU, 1, lambda a: a.relu(), lambda a: a.relu(),
          lambda a: anp.maximum(a, 0.0), kinks=(0.0,), smooth=False),
    _case("leaky_relu", elementwise.LeakyReLU, 1, lambda a: a.leaky_relu(0.1),
          lambda a: a.leaky_relu(0.1), lambda a: anp.where(a > 0, a, 0.1 * a), kinks=(0.0,),
          smooth=False),
    _case("sigmoid", elementwise.Sigmoid, 1, lambda a: a.sigmoid(), lambda a: a.sigmoid(),
          _sigmoid, domain=(-3.0, 3.0)),
    _case("tanh", elementwise.Tanh, 1, lambda a: a.tanh(), lambda a: a.tanh(), anp.tanh,
          domain=(-3.0, 3.0)),
    _case("elu", elementwise.ELU, 1, lambda a: a.elu(0.5), lambda a: a.elu(0.5),
          lambda a: anp.where(a > 0, a, 0.5 * (anp.exp(anp.minimum(a, 0.0)) - 1.0)),
          kinks=(0.0,)),
    _case("softplus", elementwise.Softplus, 1, lambda a: a.softplus(), lambda a: a.softplus(),
          lambda a: anp.logaddexp(0.0, a), domain=(-4.0, 4.0)),
    _case("silu", elementwise.SiLU, 1, lambda a: a.silu(), lambda a: a.silu(),
          lambda a: a * _sigmoid(a), domain=(-4.0, 4.0)),
    # ---- many inputs: the scalar path ----
    _case("sum", reduce.Sum, 3, lambda a, b, c: F.sum([a, b, c]), None,
          lambda a, b, c: a + b + c),
    _case("dot+b", reduce.Dot, 3, lambda a, b, c: F.dot([a], [b], c), None,
          lambda a, b, c: a * b + c),
    _case("dot", reduce.Dot, 4, lambda a, b, c, d: F.dot([a, b], [c, d]), None,
          lambda a, b, c, d: a * c + b * d),
    _case("cross_entropy", reduce.CrossEntropy, 3,
          lambda a, b, c: F.cross_entropy([a, b, c], 1), None,
          lambda a, b, c: anp_logsumexp(anp.array([a, b, c])) - b),
    # ---- the batch path ----
    _case("sum over", reduce.SumOver, 1, None, lambda a: a.sum(axis=0),
          lambda a: anp.sum(a, axis=0)),
    _case("max over", reduce.MaxOver, 1, None, lambda a: a.max(axis=1),
          lambda a: anp.max(a, axis=1), smooth=False, distinct=True),
    _case("min over", reduce.MinOver, 1, None, lambda a: a.min(axis=0),
          lambda a: anp.min(a, axis=0), smooth=False, distinct=True),
    _case("@", reduce.MatMul, 2, None, lambda a, b: a @ b, anp.dot, shapes=((2, 3), (3, 2))),
    _case("linear", reduce.Linear, 3, None, lambda x, w, b: x.linear(w, b),
          lambda x, w, b: anp.dot(x, w) + b, shapes=((2, 3), (3, 2), (2,))),
    _case("mse", reduce.MSE, 1, None, lambda a: a.mse(TARGET),
          lambda a: anp.mean((a - TARGET) ** 2)),
    _case("log_softmax", reduce.LogSoftmax, 1, None, lambda a: a.log_softmax(), _log_softmax),
    _case("cross_entropy over", reduce.CrossEntropyOver, 1, None,
          lambda a: a.cross_entropy(LABELS),
          lambda a: -anp.mean(_log_softmax(a)[np.arange(2), LABELS])),
    _case("concatenate", shape.Concatenate, 2, None,
          lambda a, b: autograd_core.concatenate([a, b], axis=1),
          lambda a, b: anp.concatenate([a, b], axis=1), shapes=((2, 3), (2, 1))),
    _case("stack", shape.Stack, 2, None, lambda a, b: autograd_core.stack([a, b], axis=0),
          lambda a, b: anp.stack([a, b], axis=0), shapes=((2, 3), (2, 3))),
    _case("reshape", shape.Reshape, 1, None, lambda a: a.reshape(3, 2),
          lambda a: anp.reshape(a, (3, 2))),
    _case("astype", shape.Astype, 1, None, lambda a: a.astype(np.float64), lambda a: a * 1.0),
    _case("transpose", shape.Transpose, 1, None, lambda a: a.transpose(), anp.transpose),
    _case("index", shape.Index, 1, None, lambda a: a[INDEX], lambda a: a[INDEX]),
    _case("broadcast_to", shape.BroadcastTo, 1, None, lambda a: a.broadcast_to((2, 2, 3)),
          lambda a: a * np.ones((2, 2, 3)), shapes=((1, 3),)),
    _case("scatter_into", shape.ScatterInto, 1, None,
          lambda a: a.scatter_into((2, 3), SCATTER_AT), _scatter_reference, shapes=((3,),)),
)
# fmt: on

SCALAR = tuple(case for case in CASES if case.on_values is not None)
BATCH = tuple(case for case in CASES if case.on_tensors is not None)


def away_from_kinks(case: Case, xs: list[float]) -> bool:
    """Whether the inputs keep `case.margin` from every kink (a tie of two inputs included)."""
    values = [xs[0] - xs[1]] if case.tie else xs
    return all(abs(x - k) > case.margin for x in values for k in case.kinks)


def scalar_points(case: Case) -> st.SearchStrategy[list[float]]:
    """Inputs of the op on the scalar path, in its domain and away from its kinks (also by the
    few millionths that central differences step)."""
    low, high = case.domain
    numbers = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return st.lists(numbers, min_size=case.arity, max_size=case.arity).filter(
        lambda xs: away_from_kinks(case, xs)
    )


@st.composite
def array_points(draw: st.DrawFn, case: Case) -> list[np.ndarray]:
    """Inputs of the op on the batch path, of its shapes, from its domain and away from its
    kinks (elementwise), with distinct elements where the op picks one of them."""
    low, high = case.domain
    arrays = []
    for size_shape in case.shapes:
        size = int(np.prod(size_shape))
        numbers = st.floats(low, high, allow_nan=False, allow_infinity=False)
        values = draw(st.lists(numbers, min_size=size, max_size=size))
        arrays.append(np.array(values, dtype=np.float64).reshape(size_shape))
    return _kept_apart(case, arrays)


def fixed_arrays(case: Case, seed: int = 0) -> list[np.ndarray]:
    """One point of the batch path's inputs, drawn from a seeded generator as `array_points`
    draws them (for tests that use one point per op)."""
    rng = np.random.default_rng(seed)
    return _kept_apart(case, [rng.uniform(*case.domain, size=shape) for shape in case.shapes])


def _kept_apart(case: Case, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The arrays moved off the op's kinks (or ties), and spread out where it must pick one."""
    low, high = case.domain
    if case.tie:  # the kinks are of a - b: keep the two apart
        close = np.abs(arrays[0] - arrays[1]) <= case.margin
        arrays[1] = np.where(close, arrays[1] + 3 * case.margin, arrays[1])
    else:
        for k in case.kinks:
            arrays = [
                np.where(np.abs(a - k) <= case.margin, a + 3 * case.margin, a) for a in arrays
            ]
    if case.distinct:
        flat = arrays[0].ravel()
        gaps = np.abs(flat[:, None] - flat[None, :]) + np.eye(flat.size) * 10
        if gaps.min() <= case.margin:  # spread them out, keeping their order
            ranks = np.argsort(np.argsort(flat))
            arrays[0] = (low + ranks * (high - low) / flat.size).reshape(arrays[0].shape)
    return arrays


def weights_for(out: Any) -> np.ndarray:
    """Fixed weights that turn an op's output into one number (so every output element counts,
    each differently)."""
    size = int(np.size(out))
    return np.linspace(0.5, 1.5, size).reshape(np.shape(out))
