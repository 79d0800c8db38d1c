"""gradcheck's report and its raise-on-mismatch option."""

from __future__ import annotations

import pytest

from autograd_core import GradcheckError, Value, gradcheck


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
