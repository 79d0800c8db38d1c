"""gradcheck's report and its raise-on-mismatch option; gradgradcheck's, of second derivatives."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from autograd_core import Function, GradcheckError, Value, gradcheck, gradgradcheck, tanh


def test_report_has_one_entry_per_input() -> None:
    report = gradcheck(lambda a, b: a * b + a.exp(), [0.5, -2.0])
    assert report.ok
    assert [c.index for c in report.inputs] == [0, 1]
    assert [c.value for c in report.inputs] == [0.5, -2.0]
    first, second = report.inputs
    assert first.analytic == pytest.approx(-2.0 + 1.6487212707001282, rel=1e-12)
    assert second.analytic == pytest.approx(0.5, rel=1e-12)
    assert first.numeric == pytest.approx(first.analytic, rel=1e-8)
    assert report.max_error == max(first.error, second.error) < 1e-8
    assert report.output == pytest.approx(0.5 * -2.0 + 1.6487212707001282)
    assert "analytic" in str(report) and "yes" in str(report)


class WrongMul(Value):
    """A broken op to prove gradcheck catches one: it claims d(a*b)/da = 2b."""

    __slots__ = ()

    def __mul__(self, other):  # type: ignore[no-untyped-def, override]
        out = super().__mul__(other)
        if out.local_grads:  # empty under no_grad, where gradcheck takes its differences
            out.local_grads = (2 * out.local_grads[0], out.local_grads[1])
        return out


def test_mismatch_is_reported_and_raised() -> None:
    def f(a: Value, b: Value) -> Value:
        return WrongMul(a.data, parents=(a,), op="id", local_grads=(1.0,)) * b

    report = gradcheck(f, [1.5, 2.0])
    assert not report.ok
    assert not report.inputs[0].ok and report.inputs[1].ok
    assert report.inputs[0].analytic == pytest.approx(2 * report.inputs[0].numeric, rel=1e-6)
    with pytest.raises(GradcheckError, match="disagree") as caught:
        gradcheck(f, [1.5, 2.0], raise_on_mismatch=True)
    assert isinstance(caught.value, AssertionError) and "NO" in str(caught.value)


def test_gradcheck_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda a: a, [1.0], eps=0.0)
    with pytest.raises(TypeError, match="must return a Value"):
        gradcheck(lambda a: 3.0, [1.0])  # type: ignore[arg-type, return-value]


# ---- gradgradcheck: second derivatives of a recorded backward pass ------------------------------


def test_gradgradcheck_reports_a_hessian_row_per_input_and_passes_on_the_engine() -> None:
    report = gradgradcheck(lambda a, b: a * a * b + b.tanh(), [0.5, -0.3])
    assert report.ok and len(report.inputs) == 2
    t = math.tanh(-0.3)
    np.testing.assert_allclose(report.inputs[0].analytic, [2 * -0.3, 2 * 0.5], rtol=1e-12)
    np.testing.assert_allclose(report.inputs[1].analytic, [2 * 0.5, -2 * t * (1 - t * t)])
    assert "[-0.6 1]" in str(report)


def test_gradgradcheck_on_tensors_gives_the_hessian_in_blocks() -> None:
    x, w = np.array([[0.5, -1.0]]), np.array([[0.3], [0.2]])
    report = gradgradcheck(lambda x, w: (x @ w).tanh().sum() + (w**3).sum(), [x, w])
    assert report.ok and report.max_error < 1e-8
    assert report.inputs[0].analytic.shape == (1, 2, 4)  # x's elements by all 4 elements
    assert report.inputs[1].analytic.shape == (2, 1, 4)
    assert "shape (2, 1)" in str(report)


class ConstantSlopeTanh(Function):
    """tanh whose backward reads the output's number as a constant it computed itself, not as
    the output: right in a first-order pass, wrong when the backward pass is differentiated."""

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        out = tanh(x)
        ctx.slope = 1.0 - out * out  # a number of forward's own: a constant under create_graph
        return out

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return grad * ctx.slope


@pytest.mark.parametrize("point", [[0.4], [np.array([0.4, -1.1])]], ids=["Value", "Tensor"])
def test_gradgradcheck_catches_a_wrong_second_derivative(point: list[Any]) -> None:
    """First derivatives pass gradcheck, second ones do not: on both paths."""

    def f(a: Any) -> Any:
        out = ConstantSlopeTanh.apply(a)
        return out if isinstance(point[0], float) else out.sum()

    assert gradcheck(f, point).ok
    report = gradgradcheck(f, point)
    assert not report.ok
    with pytest.raises(GradcheckError, match="second derivatives disagree"):
        gradgradcheck(f, point, raise_on_mismatch=True)


def test_gradgradcheck_of_a_linear_function_is_zero() -> None:
    report = gradgradcheck(lambda a, b: a * 3.0 + b, [0.5, 2.0])
    assert report.ok and report.max_error == 0.0
    with pytest.raises(TypeError, match="gradgradcheck: f must return a Value"):
        gradgradcheck(lambda a: [a], [0.5])
    with pytest.raises(ValueError, match="gradgradcheck needs a finite eps > 0"):
        gradgradcheck(lambda a: a, [0.5], eps=0.0)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("eps", float("nan")),
        ("eps", float("inf")),
        ("eps", -1e-6),
        ("rtol", float("nan")),
        ("rtol", float("inf")),
        ("atol", float("nan")),
        ("atol", -1.0),
    ],
)
def test_a_step_or_tolerance_that_means_nothing_is_refused(option: str, value: float) -> None:
    """rtol=inf once passed a wrong gradient and eps=nan gave a report of nan: each is refused
    by name before f runs (issue 25)."""
    for check in (gradcheck, gradgradcheck):
        with pytest.raises(ValueError, match=f"needs a finite {option}"):
            check(lambda a: a * 3.0, [0.5], **{option: value})


def test_gradgradcheck_takes_an_empty_array_input() -> None:
    report = gradgradcheck(lambda a, b: (a**3).sum() + (b**2).sum(), [np.zeros(0), np.ones(2)])
    assert report.ok and report.inputs[0].analytic.shape == (0, 2)
    np.testing.assert_allclose(report.inputs[1].analytic, 2 * np.eye(2))
