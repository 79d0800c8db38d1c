"""Property tests: random expressions over every op pass gradcheck and match HIPS autograd.

A program is a list of steps; each step applies one op to earlier results picked by index, so the
same result can feed several later steps (reuse: the copy gate). The same program runs on this
engine and on HIPS autograd (an independent implementation). Domains are respected by rejecting
programs that come within a margin of a kink or a domain edge, where finite differences and the
two libraries' tie rules legitimately differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from autograd import grad as autograd_grad
from hypothesis import assume, given
from hypothesis import strategies as st
from op_cases import SCALAR, Case

from autograd_core import Value, gradcheck
from autograd_core.ops.binary import Power

MARGIN = 1e-3  # distance from a kink or domain edge that a program must keep
LIMIT = 1e6  # magnitude beyond which a program is rejected (finite differences lose digits)


class OutOfDomainError(Exception):
    """The program strays into a domain edge, a kink or huge values at this point."""


def need(condition: bool) -> None:
    if not condition:
        raise OutOfDomainError


def _data(v: Any) -> float:
    if isinstance(v, Value):
        return float(v.data)
    while hasattr(v, "_value"):  # HIPS autograd's boxes, nested once per order of derivative
        v = v._value
    return float(v)


def _guard(case: Case) -> Callable[..., bool]:
    """The inputs a case's op takes in a program: its domain (any number where the case keeps
    the default one), MARGIN away from its kinks."""
    low, high = case.domain
    anywhere = case.domain == Case.__dataclass_fields__["domain"].default

    def guard(*xs: float) -> bool:
        inside = anywhere or all(low <= x <= high for x in xs)
        values = [xs[0] - xs[1]] if case.tie else xs
        return inside and all(abs(x - k) > MARGIN for x in values for k in case.kinks)

    return guard


# op name -> (arity, ours, HIPS autograd, guard on the input values): every op of the scalar path
# (the one list, `op_cases.SCALAR`), and the compositions of them a user writes
OPS: dict[str, tuple[int, Callable[..., Any], Callable[..., Any], Callable[..., bool]]] = {
    **{
        case.id: (case.arity, case.on_values, case.reference, _guard(case))  # type: ignore[misc]
        for case in SCALAR
        if case.op is not Power  # a**b with a random base: a negative one is out of domain
    },
    "power": (2, lambda a, b: a**b, lambda a, b: a**b, lambda a, b: a > 0.3 and abs(b) < 2),
    "sub": (2, lambda a, b: a - b, lambda a, b: a - b, lambda a, b: True),
    "div": (2, lambda a, b: a / b, lambda a, b: a / b, lambda a, b: abs(b) > 0.1),
    "neg": (1, lambda a: -a, lambda a: -a, lambda a: True),
    "rpow": (1, lambda a: 1.5**a, lambda a: 1.5**a, lambda a: a < 10),
}

Program = tuple[int, list[tuple[str, tuple[int, ...]]]]


@st.composite
def programs(draw: st.DrawFn, max_steps: int = 12) -> Program:
    n_inputs = draw(st.integers(1, 4))
    steps = []
    for k in range(draw(st.integers(1, max_steps))):
        name = draw(st.sampled_from(sorted(OPS)))
        arity = OPS[name][0]
        available = n_inputs + k
        args = tuple(draw(st.integers(0, available - 1)) for _ in range(arity))
        steps.append((name, args))
    return n_inputs, steps


def run(program: Program, inputs: list[Any], backend: int) -> Any:
    """Evaluate the program; backend 1 is this engine, 2 is HIPS autograd. Returns the sum of the
    last two results, so that the output depends on more than one branch."""
    _, steps = program
    results = list(inputs)
    for name, args in steps:
        op, guard = OPS[name][backend], OPS[name][3]
        operands = [results[i] for i in args]
        need(guard(*(_data(v) for v in operands)))
        out = op(*operands)
        need(abs(_data(out)) < LIMIT)
        results.append(out)
    return results[-1] + results[-2] if len(steps) > 1 else results[-1]


def evaluate_or_reject(program: Program, point: list[float]) -> tuple[list[Value], Value]:
    """The program's leaves and output on this engine; hypothesis drops a point out of domain."""
    leaves = [Value(x) for x in point]
    try:
        return leaves, run(program, leaves, 1)
    except OutOfDomainError:
        assume(False)
        raise  # not reached: assume(False) ends the example


points = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=4, max_size=4)


@given(programs(), points)
def test_random_expressions_pass_gradcheck(program: Program, point: list[float]) -> None:
    point = point[: program[0]]
    evaluate_or_reject(program, point)
    # the guards must also hold at every point finite differences look at
    for i in range(len(point)):
        for step in (-1e-6, 1e-6):
            shifted = list(point)
            shifted[i] += step
            evaluate_or_reject(program, shifted)
    report = gradcheck(lambda *xs: run(program, list(xs), 1), point, rtol=1e-5, atol=1e-6)
    assert report.ok, f"\n{report}"


@given(programs(max_steps=20), points)
def test_random_dags_match_hips_autograd(program: Program, point: list[float]) -> None:
    point = point[: program[0]]
    leaves, out = evaluate_or_reject(program, point)
    out.backward()

    def reference(xs: np.ndarray) -> Any:
        return run(program, [xs[i] for i in range(len(point))], 2)

    expected_value = reference(np.array(point))
    expected_grads = autograd_grad(reference)(np.array(point))
    assert out.data == pytest.approx(float(expected_value), rel=1e-9, abs=1e-12)
    for leaf, expected in zip(leaves, expected_grads):
        assert math.isclose(leaf.grad, float(expected), rel_tol=1e-9, abs_tol=1e-9), (
            leaf.grad,
            float(expected),
        )


@given(programs(max_steps=15), points)
def test_backward_twice_exactly_doubles_leaf_grads(program: Program, point: list[float]) -> None:
    point = point[: program[0]]
    leaves, out = evaluate_or_reject(program, point)
    out.backward()
    once = [leaf.grad for leaf in leaves]
    out.backward()
    assert [leaf.grad for leaf in leaves] == [2 * g for g in once]
