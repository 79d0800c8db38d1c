"""Losses: hand-computed values, gradients vs finite differences and vs HIPS autograd."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as autograd_grad
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd_core import Value, gradcheck


def test_hinge_on_the_hand_computed_example() -> None:
    """scores (3.2, 5.1, -1.7) with true class 0:
    max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0 = 2.9."""
    scores = [Value(3.2), Value(5.1), Value(-1.7)]
    loss = nn.hinge(scores, 0)
    assert loss.data == pytest.approx(2.9)
    loss.backward()
    # the one active margin pushes class 1 up and the true class down
    assert [s.grad for s in scores] == [-1.0, 1.0, 0.0]


def test_hinge_batch_is_the_mean() -> None:
    batch = [[Value(3.2), Value(5.1), Value(-1.7)], [Value(1.3), Value(4.9), Value(2.0)]]
    # second sample, true class 1: max(0, 1.3 - 4.9 + 1) + max(0, 2.0 - 4.9 + 1) = 0
    assert nn.hinge(batch, [0, 1]).data == pytest.approx((2.9 + 0.0) / 2)
    assert nn.hinge(batch, [0, 1], margin=5.0).data == pytest.approx(
        ((5.1 - 3.2 + 5) + (-1.7 - 3.2 + 5) + (1.3 - 4.9 + 5) + (2.0 - 4.9 + 5)) / 2
    )


def test_binary_hinge_is_micrograds_svm_loss() -> None:
    assert nn.binary_hinge(Value(0.3), 1).data == pytest.approx(0.7)
    assert nn.binary_hinge(Value(0.3), -1).data == pytest.approx(1.3)
    assert nn.binary_hinge(Value(2.0), 1).data == 0.0
    batch = [[Value(0.3)], [Value(-2.0)]]  # model outputs are lists of one
    assert nn.binary_hinge(batch, [1, -1]).data == pytest.approx(0.35)


def test_mse_single_and_batch() -> None:
    assert nn.mse(Value(3.0), 1.0).data == 4.0
    assert nn.mse([Value(1.0), Value(2.0)], [0.0, 0.0]).data == 2.5
    batch = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
    assert nn.mse(batch, np.array([[1.0, 1.0], [1.0, 1.0]])).data == (0 + 1 + 4 + 9) / 4


def test_cross_entropy_uses_the_fused_node() -> None:
    logits = [Value(2.0), Value(1.0), Value(0.1)]
    loss = nn.cross_entropy(logits, 0)
    assert loss.op == "cross_entropy"
    z = np.array([2.0, 1.0, 0.1])
    assert loss.data == pytest.approx(-np.log(np.exp(z[0]) / np.exp(z).sum()))


def test_l2_gradient_is_two_lambda_w() -> None:
    params = [Value(0.5), Value(-2.0), Value(3.0)]
    loss = nn.l2(params, 0.01)
    assert loss.data == pytest.approx(0.01 * (0.25 + 4 + 9))
    loss.backward()
    assert [p.grad for p in params] == pytest.approx([2 * 0.01 * p.data for p in params])


@pytest.mark.parametrize(
    ("name", "loss"),
    [
        ("mse", lambda v: nn.mse([v[:3], v[3:]], [[1.0, -1.0, 0.5], [0.0, 2.0, -3.0]])),
        ("cross_entropy", lambda v: nn.cross_entropy([v[:3], v[3:]], [2, 0])),
        ("hinge", lambda v: nn.hinge([v[:3], v[3:]], [1, 2])),
        ("binary_hinge", lambda v: nn.binary_hinge([[x] for x in v], [1, -1, 1, 1, -1, -1])),
        ("l2", lambda v: nn.l2(v, 0.3)),
    ],
)
def test_every_loss_passes_gradcheck(name: str, loss) -> None:  # type: ignore[no-untyped-def]
    point = [0.31, -1.27, 0.84, 1.93, -0.42, 0.17]
    assert gradcheck(lambda *v: loss(list(v)), point).ok, name


def reference_losses(target: np.ndarray, classes: np.ndarray) -> dict:  # type: ignore[type-arg]
    """The same losses written with autograd.numpy, for a (2, 3) prediction array."""

    def ce(z):  # type: ignore[no-untyped-def]
        shifted = z - anp.max(z, axis=1, keepdims=True)
        log_probs = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.mean(log_probs[np.arange(2), classes])

    def hinge(s):  # type: ignore[no-untyped-def]
        correct = s[np.arange(2), classes][:, None]
        margins = anp.maximum(0.0, s - correct + 1.0) * (1 - np.eye(3)[classes])
        return anp.mean(anp.sum(margins, axis=1))

    return {
        "mse": lambda p: anp.mean((p - target) ** 2),
        "cross_entropy": ce,
        "hinge": hinge,
        "l2": lambda p: 0.05 * anp.sum(p * p),
    }


@given(
    st.lists(st.floats(-3, 3), min_size=6, max_size=6),
    st.lists(st.floats(-3, 3), min_size=6, max_size=6),
    st.lists(st.integers(0, 2), min_size=2, max_size=2),
)
def test_losses_agree_with_hips_autograd(
    prediction: list[float], target: list[float], classes: list[int]
) -> None:
    p = np.array(prediction).reshape(2, 3)
    t = np.array(target).reshape(2, 3)
    c = np.array(classes)
    # keep hinge margins off the kink, where the two libraries may break the tie differently
    correct = p[np.arange(2), c][:, None]
    if np.any(np.abs(p - correct + 1.0) < 1e-6):
        return
    references = reference_losses(t, c)
    ours = {
        "mse": lambda v: nn.mse(v, t),
        "cross_entropy": lambda v: nn.cross_entropy(v, c.tolist()),
        "hinge": lambda v: nn.hinge(v, c.tolist()),
        "l2": lambda v: nn.l2([x for row in v for x in row], 0.05),
    }
    for name, loss in ours.items():
        values = [[Value(x) for x in row] for row in p.tolist()]
        out = loss(values)
        out.backward()
        grads = np.array([[v.grad for v in row] for row in values])
        assert out.data == pytest.approx(float(references[name](p)), rel=1e-9, abs=1e-12), name
        np.testing.assert_allclose(
            grads, autograd_grad(references[name])(p), rtol=1e-9, atol=1e-12, err_msg=name
        )


def test_losses_reject_bad_targets() -> None:
    scores = [Value(1.0), Value(2.0)]
    with pytest.raises(ValueError, match="target 2 is out of range for 2 classes"):
        nn.cross_entropy(scores, 2)
    with pytest.raises(TypeError, match="int class index"):
        nn.hinge(scores, 0.5)
    with pytest.raises(ValueError, match="labels must be -1 or \\+1"):
        nn.binary_hinge(Value(1.0), 0)
    with pytest.raises(ValueError, match="2 predictions but 3 targets"):
        nn.cross_entropy([scores, scores], [0, 1, 1])
    with pytest.raises(ValueError, match="3 outputs but 2 targets"):
        nn.mse([Value(1.0)] * 3, [1.0, 2.0])
    with pytest.raises(ValueError, match="no parameters"):
        nn.l2([], 0.1)
