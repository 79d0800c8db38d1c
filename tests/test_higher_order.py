"""Gradients of gradients on the scalar path: `grad(..., create_graph=True)` and `hessian`.

Checked against closed forms and against HIPS autograd on random expressions over every op (the
per-op second derivatives are in `test_ops.py`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from autograd import hessian as autograd_hessian
from hypothesis import given, settings
from test_properties import Program, evaluate_or_reject, points, programs, run

from autograd_core import Tensor, Value, grad, hessian, no_grad
from visualize import draw_graph, trace_backward


def derivatives(f: Callable[[Value], Value], x: float, order: int) -> list[float]:
    """f(x), f'(x), ..., each the gradient (with create_graph) of the one before."""
    leaf = Value(x, "x")
    values = [f(leaf)]
    for _ in range(order):
        values.append(grad(values[-1], [leaf], create_graph=True)[0])
    return [v.data for v in values]


@pytest.mark.parametrize(
    ("f", "second", "third"),
    [
        (lambda x: x**4, lambda x: 12 * x**2, lambda x: 24 * x),
        (lambda x: x**-1.5, lambda x: 3.75 * x**-3.5, lambda x: -13.125 * x**-4.5),
        (lambda x: x.exp(), math.exp, math.exp),
        (lambda x: x.log(), lambda x: -1 / x**2, lambda x: 2 / x**3),
        (lambda x: x.reciprocal(), lambda x: 2 / x**3, lambda x: -6 / x**4),
        (lambda x: x.sqrt(), lambda x: -0.25 * x**-1.5, lambda x: 0.375 * x**-2.5),
        (
            lambda x: x.sigmoid(),
            lambda x: (s := 1 / (1 + math.exp(-x))) * (1 - s) * (1 - 2 * s),
            lambda x: (s := 1 / (1 + math.exp(-x))) * (1 - s) * (1 - 6 * s + 6 * s * s),
        ),
        (
            lambda x: x.tanh(),
            lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
            lambda x: (t := math.tanh(x), -2 * (1 - t * t) * (1 - 3 * t * t))[1],
        ),
    ],
    ids=["x**4", "x**-1.5", "exp", "log", "reciprocal", "sqrt", "sigmoid", "tanh"],
)
@pytest.mark.parametrize("x", [0.3, 0.8, 1.7])
def test_second_and_third_derivatives_match_their_closed_forms(
    f: Callable[[Value], Value],
    second: Callable[[float], float],
    third: Callable[[float], float],
    x: float,
) -> None:
    _, _, d2, d3 = derivatives(f, x, 3)
    assert d2 == pytest.approx(second(x), rel=1e-12)
    assert d3 == pytest.approx(third(x), rel=1e-12)


@pytest.mark.parametrize(
    "f",
    [lambda x: x.relu(), lambda x: x.max(0.2), lambda x: x.abs(), lambda x: x.leaky_relu(0.1)],
    ids=["relu", "max", "abs", "leaky_relu"],
)
@pytest.mark.parametrize("x", [-0.9, 0.7])
def test_piecewise_linear_ops_have_no_curvature_away_from_the_kink(
    f: Callable[[Value], Value], x: float
) -> None:
    assert derivatives(f, x, 2)[2] == 0.0


@settings(max_examples=150, deadline=None)
@given(programs(max_steps=8), points)
def test_second_derivatives_of_random_expressions_match_hips_autograd(
    program: Program, point: list[float]
) -> None:
    point = point[: program[0]]
    evaluate_or_reject(program, point)
    for i in range(len(point)):  # stay off the kinks where second derivatives jump
        for step in (-1e-4, 1e-4):
            shifted = list(point)
            shifted[i] += step
            evaluate_or_reject(program, shifted)

    ours = hessian(lambda *xs: run(program, list(xs), 1), point)

    def theirs_f(v: np.ndarray) -> np.ndarray:
        return run(program, [v[i] for i in range(len(point))], 2)

    theirs = autograd_hessian(theirs_f)(np.array(point, dtype=float))
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours, np.transpose(ours), rtol=1e-10, atol=1e-12)  # symmetric


def test_grad_touches_no_grad_and_agrees_with_backward() -> None:
    x, y = Value(0.5, "x"), Value(-1.5, "y")
    f = (x * y).tanh() + x.exp() * y
    x.grad = 10.0  # whatever a user had accumulated stays
    first = grad(f, [x, y])
    assert x.grad == 10.0 and y.grad == 0.0 and f.grad == 0.0
    assert all(type(g) is float for g in first)
    x.grad = 0.0
    f.backward()
    assert first == [x.grad, y.grad]
    unused = Value(3.0)
    assert grad(f, [unused]) == [0.0]
    assert grad(f, [unused], create_graph=True)[0].data == 0.0


def test_a_gradient_is_a_graph_that_can_be_drawn() -> None:
    x = Value(0.7, "x")
    (dfdx,) = grad(x * x.exp(), [x], create_graph=True)
    assert dfdx.data == pytest.approx(math.exp(0.7) * 1.7)
    source = draw_graph(dfdx).source
    assert "label=<exp>" in source and "<B>x</B>" in source  # the backward pass's own gates, on x


def test_hessian_of_two_variables_against_the_formula() -> None:
    # f = a^2 b + tanh(b): f_aa = 2b, f_ab = 2a, f_bb = -2 tanh(b) (1 - tanh(b)^2)
    a, b = 0.5, -0.3
    h = hessian(lambda p, q: p * p * q + q.tanh(), [a, b])
    t = math.tanh(b)
    np.testing.assert_allclose(h, [[2 * b, 2 * a], [2 * a, -2 * t * (1 - t * t)]], rtol=1e-12)


def test_what_cannot_be_differentiated_again_says_so() -> None:
    x = Value(0.3, "x")
    own = Value(math.sin(0.3), op="sin", parents=(x,), local_grads=(math.cos(0.3),))
    assert grad(own, [x]) == [math.cos(0.3)]  # first order: the recorded number is enough
    with pytest.raises(TypeError, match=r"the node 'sin' was made by hand from numbers"):
        grad(own, [x], create_graph=True)
    with pytest.raises(TypeError, match="input 0 is a Tensor but the output is a Value; differ"):
        grad(x * 2, [Tensor([1.0], requires_grad=True)])
    with pytest.raises(TypeError, match="grad: input 0 is a float but the output is a Value"):
        grad(x * 2, [0.3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="grad: the output is a float, not a Value or a Tensor"):
        grad(0.3, [x])


def test_backward_with_create_graph_fills_grad_with_values_that_differentiate_again() -> None:
    x, y = Value(0.5, "x"), Value(-1.5, "y")
    f = x * x * y + y.exp()
    f.backward(create_graph=True)
    assert type(x.grad) is Value and x.grad.data == pytest.approx(2 * 0.5 * -1.5)
    assert type(y.grad) is Value and y.grad.data == pytest.approx(0.25 + math.exp(-1.5))
    (d2f_dxdy,) = grad(x.grad, [y])  # d/dy of df/dx = 2x
    assert d2f_dxdy == pytest.approx(1.0)
    plain_x, plain_y = Value(0.5), Value(-1.5)
    (plain_x * plain_x * plain_y + plain_y.exp()).backward()
    assert (x.grad.data, y.grad.data) == (plain_x.grad, plain_y.grad)
    f.backward(create_graph=True)  # leaves accumulate, as with numbers
    assert x.grad.data == pytest.approx(2 * plain_x.grad)



def test_the_step_through_runs_on_the_graph_of_a_gradient() -> None:
    x, y = Value(0.5, "x"), Value(-1.5, "y")
    (slope,) = grad(x * x * y + y.exp(), [x], create_graph=True)  # 2 x y, as x y + x y
    slope.label = "s"
    last = trace_backward(slope).texts()[-1]
    assert "ds/dx += ds/dn1 * dn1/dx = 1 * -1.5 = -1.5   (ds/dx: -1.5 -> -3; 2 of 2 uses)" in last
    assert (x.grad, y.grad) == (2 * -1.5, 2 * 0.5)  # d(2xy)/dx, d(2xy)/dy


def test_create_graph_inside_no_grad_is_refused() -> None:
    x = Value(0.5, "x")
    f = x * x
    with no_grad(), pytest.raises(RuntimeError, match=r"create_graph=True inside no_grad\(\)"):
        grad(f, [x], create_graph=True)
    with no_grad():
        assert grad(f, [x]) == [1.0]  # first order needs no recording
