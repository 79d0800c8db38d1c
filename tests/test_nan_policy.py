"""One policy for non-finite numbers on both paths, the errors that name what was wrong, and
stale gradients caught inside detect_anomaly."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import nn
from autograd_core import Tensor, Value, detect_anomaly
from autograd_core import functional as F

NAN, INF = math.nan, math.inf


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize(
    ("x", "expected"), [(NAN, NAN), (-INF, 0.0), (INF, INF), (-1.0, 0.0), (2.0, 2.0)]
)
def test_relu_propagates_nan_and_sends_minus_infinity_to_zero_on_both_paths(
    x: float, expected: float
) -> None:
    assert same(Value(x).relu().data, expected)
    assert same(float(Tensor([x]).relu().data[0]), expected)
    assert same(float(nn.ReLU()(Tensor([x])).data[0]), expected)


@pytest.mark.parametrize(("a", "b"), [(NAN, 1.0), (1.0, NAN), (NAN, NAN)])
def test_max_with_a_nan_is_nan_whichever_side(a: float, b: float) -> None:
    assert math.isnan(Value(a).max(b).data)
    assert math.isnan(float(Tensor([a]).maximum(Tensor([b])).data[0]))
    assert math.isnan(float(Tensor([a, b]).max().data))


def test_the_nan_takes_the_gradient_of_max() -> None:
    a, b = Value(1.0, "a"), Value(NAN, "b")
    a.max(b).backward()
    assert (a.grad, b.grad) == (0.0, 1.0)
    ta, tb = Tensor([1.0], requires_grad=True), Tensor([NAN], requires_grad=True)
    ta.maximum(tb).sum().backward()
    assert (ta.grad[0], tb.grad[0]) == (0.0, 1.0)


@pytest.mark.parametrize(
    "op",
    [lambda v: v.abs(), lambda v: v.log(), lambda v: v.exp(), lambda v: v.sqrt(), lambda v: v**2],
    ids=["abs", "log", "exp", "sqrt", "square"],
)
def test_nan_goes_through_every_elementwise_op(op: Callable[[Value], Value]) -> None:
    assert math.isnan(op(Value(NAN)).data)


def test_a_nan_input_feature_shows_in_the_loss_of_a_scalar_mlp() -> None:
    """relu used to turn nan into 0: the loss looked finite while parameters became nan."""
    model = nn.MLP(3, [4, 1], seed=0)
    loss = (model([1.0, NAN, 0.5]) - 1.0) ** 2
    assert math.isnan(loss.data)
    with detect_anomaly(), pytest.raises(FloatingPointError, match="non-finite"):
        model([1.0, NAN, 0.5])


def test_logsumexp_of_infinities_is_the_infinity_not_nan() -> None:
    assert F.logsumexp([Value(-INF), Value(-INF)]).data == -INF
    assert F.logsumexp([Value(1.0), Value(INF)]).data == INF
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = Tensor([[-INF, -INF], [1.0, INF], [1.0, 2.0]]).logsumexp().data
    assert rows[0] == -INF and rows[1] == INF
    assert rows[2] == pytest.approx(math.log(math.e + math.e**2))


def test_reductions_name_the_axis_and_the_shape() -> None:
    t = Tensor(np.zeros(3))
    for reduce in (t.mean, t.sum, t.max, t.min):
        with pytest.raises(ValueError, match=r"axis 5 does not exist in a Tensor of shape \(3,\)"):
            reduce(axis=5)
    with pytest.raises(ValueError, match=r"mean over no elements \(shape \(0,\)"):
        Tensor(np.zeros(0)).mean()
    with pytest.raises(ValueError, match=r"axis 2 does not exist"):
        Tensor(np.zeros((2, 2))).logsumexp(axis=2)


def test_a_temperature_too_small_for_the_logits_is_refused() -> None:
    logits = [Value(1.0), Value(2.0), Value(3.0)]
    with pytest.raises(ValueError, match=r"temperature 1e-320 is too small: the logits / T"):
        F.softmax(logits, temperature=1e-320)
    for tiny_enough in ([Value(1.0), Value(2.0)], Tensor([1.0, 2.0])):  # 2 / 1e-308 overflows
        with pytest.raises(ValueError, match=r"largest \|logit\| is 2.0"):
            F.softmax(tiny_enough, temperature=1e-308)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive, finite temperature"):
        F.softmax(logits, temperature=INF)
    cold = [v.data for v in F.softmax(logits, temperature=0.1)]
    assert f"{cold[0]:.3g} {cold[1]:.3g}" == "2.06e-09 4.54e-05"


def test_an_input_changed_in_place_between_forward_and_backward_is_caught() -> None:
    w = Tensor(np.full(2, 3.0), requires_grad=True, label="w")
    x = Tensor(np.full(2, 2.0), requires_grad=True, label="x")
    with detect_anomaly():
        y = (w * x).sum()
    w.data *= 100
    with pytest.raises(RuntimeError, match=r"backward of \*: input 0 \(w\) was changed in place"):
        y.backward()
    assert w.grad is None and x.grad is None  # a failed pass adds nothing
    with detect_anomaly():
        z = (w * x).sum()
    z.backward()  # unchanged: fine, and the gradient is of the data the forward pass saw
    np.testing.assert_array_equal(x.grad, [300.0, 300.0])
    x.zero_grad()
    y_outside = (w * x).sum()  # outside detect_anomaly the change is not checked (documented):
    w.data *= 2
    y_outside.backward()
    np.testing.assert_array_equal(x.grad, [600.0, 600.0])  # the stale gradient, live data


def test_two_nans_give_max_s_gradient_to_the_first_on_both_paths() -> None:
    a, b = Value(NAN), Value(NAN)
    a.max(b).backward()
    ta, tb = Tensor([NAN], requires_grad=True), Tensor([NAN], requires_grad=True)
    ta.maximum(tb).sum().backward()
    assert (a.grad, b.grad) == (1.0, 0.0) == (ta.grad[0], tb.grad[0])
