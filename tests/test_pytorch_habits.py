"""What a PyTorch user types first: `import autograd_core.functional as F`, then `F.cross_entropy`,
`F.mse_loss`, `F.softmax(x, dim)`, `F.relu(x)`, ... on a Tensor (and on Values), with PyTorch's
argument names, giving the numbers and gradients of the node types' own methods (issue 24)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd_core.functional as F
import nn
from autograd_core import Tensor, Value

LOGITS = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0], [-1.0, 0.0, 1.0]])
LABELS = np.array([1, 2, 0])


def logits() -> Tensor:
    return Tensor(LOGITS, requires_grad=True)


def gradient_of(loss: Tensor, x: Tensor) -> np.ndarray:
    loss.backward()
    return x.grad


def test_cross_entropy_on_a_tensor_is_the_method_and_reduces_as_pytorch() -> None:
    x, y = logits(), logits()
    assert F.cross_entropy(x, LABELS).item() == y.cross_entropy(LABELS).item()
    assert np.array_equal(
        gradient_of(F.cross_entropy(x, LABELS), x), gradient_of(y.cross_entropy(LABELS), y)
    )
    each = F.cross_entropy(logits(), LABELS, reduction="none")
    rows = [F.cross_entropy([Value(v) for v in row], int(t)).data for row, t in zip(LOGITS, LABELS)]
    assert each.shape == (3,) and np.allclose(each.data, rows, rtol=1e-12)
    total = F.cross_entropy(logits(), LABELS, reduction="sum").item()
    assert math.isclose(total, sum(rows), rel_tol=1e-12)
    with pytest.raises(ValueError, match="reduction must be one of mean, sum, none, got 'avg'"):
        F.cross_entropy(logits(), LABELS, reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy"):
        F.cross_entropy(logits(), np.array([1, 2, 3]))  # 3 is no class of 3


def test_mse_loss_on_both_paths_and_every_reduction() -> None:
    target = np.array([[0.5, 1.0, 0.0], [0.0, 0.0, 2.0], [1.0, 1.0, 1.0]])
    x = logits()
    assert F.mse_loss(x, target).item() == logits().mse(target).item()
    assert math.isclose(
        F.mse_loss(logits(), target, reduction="sum").item(), ((LOGITS - target) ** 2).sum()
    )
    assert np.array_equal(
        F.mse_loss(logits(), target, reduction="none").data, (LOGITS - target) ** 2
    )
    values = [Value(v) for v in LOGITS[0]]
    mean = F.mse_loss(values, target[0])
    assert math.isclose(mean.data, float(((LOGITS[0] - target[0]) ** 2).mean()), rel_tol=1e-12)
    mean.backward()
    assert np.allclose([v.grad for v in values], 2 * (LOGITS[0] - target[0]) / 3, rtol=1e-12)
    assert F.mse_loss(Value(3.0), 1.0).data == 4.0
    with pytest.raises(ValueError, match="mse_loss: 3 predictions but 2 targets"):
        F.mse_loss(values, [1.0, 2.0])


def test_softmax_log_softmax_and_logsumexp_take_dim() -> None:
    x = logits()
    assert np.array_equal(F.softmax(x, dim=1).data, x.softmax(1).data)
    assert np.array_equal(F.log_softmax(x, dim=0).data, x.log_softmax(0).data)
    assert np.array_equal(F.logsumexp(x, dim=1).data, x.logsumexp(1).data)
    assert math.isclose(
        F.logsumexp([Value(1.0), Value(2.0), Value(3.0)]).data, 3.40760596, rel_tol=1e-8
    )


@pytest.mark.parametrize(
    ("name", "kwargs", "method"),
    [
        ("relu", {}, lambda x: x.relu()),
        ("tanh", {}, lambda x: x.tanh()),
        ("sigmoid", {}, lambda x: x.sigmoid()),
        ("softplus", {}, lambda x: x.softplus()),
        ("silu", {}, lambda x: x.silu()),
        ("exp", {}, lambda x: x.exp()),
        ("leaky_relu", {"negative_slope": 0.2}, lambda x: x.leaky_relu(0.2)),
        ("elu", {"alpha": 0.5}, lambda x: x.elu(0.5)),
    ],
)
def test_the_activations_are_the_methods_on_both_paths(name: str, kwargs: dict, method) -> None:  # type: ignore[no-untyped-def]
    function = getattr(F, name)
    a, b = Tensor(LOGITS, requires_grad=True), Tensor(LOGITS, requires_grad=True)
    assert np.array_equal(function(a, **kwargs).data, method(b).data)
    function(a, **kwargs).sum().backward()
    method(b).sum().backward()
    assert np.array_equal(a.grad, b.grad)
    v, w = Value(-0.7), Value(-0.7)
    function(v, **kwargs).backward()
    method(w).backward()
    assert (function(Value(-0.7), **kwargs).data, v.grad) == (method(Value(-0.7)).data, w.grad)


def test_linear_takes_pytorchs_order_and_out_in_weights_on_both_paths() -> None:
    """F.linear(input, weight, bias) with weight (out, in): input @ weight.T + bias, the numbers
    and gradients of nn.Linear (which stores weight.T) and, row by row, of the scalar path."""
    rng = np.random.default_rng(4)
    W, b, x = rng.normal(size=(2, 3)), rng.normal(size=2), rng.normal(size=(5, 3))
    weight, bias, inputs = (Tensor(a, requires_grad=True) for a in (W, b, x))
    out = F.linear(inputs, weight, bias)
    np.testing.assert_allclose(out.data, x @ W.T + b, rtol=0, atol=1e-14)
    out.sum().backward()
    layer = nn.Linear(3, 2)
    layer.weight.set_data(W.T)
    layer.bias.set_data(b)
    twin_inputs = Tensor(x, requires_grad=True)
    layer(twin_inputs).sum().backward()
    np.testing.assert_allclose(weight.grad, layer.weight.grad.T, rtol=0, atol=1e-14)
    np.testing.assert_allclose(bias.grad, layer.bias.grad, rtol=0, atol=1e-14)
    np.testing.assert_allclose(inputs.grad, twin_inputs.grad, rtol=0, atol=1e-14)
    assert np.allclose(F.linear(Tensor(x), W).data, x @ W.T)  # no bias; an array for weight
    rows = F.linear([Value(v) for v in x[0]], W.tolist(), b.tolist())
    assert [r.data for r in rows] == pytest.approx(out.data[0].tolist(), rel=1e-14)


@pytest.mark.parametrize("head", [nn.Softmax, nn.LogSoftmax])
def test_softmax_modules_are_the_functions_on_both_paths(head: type) -> None:
    function = F.softmax if head is nn.Softmax else F.log_softmax
    module = head(dim=1)
    assert np.array_equal(module(Tensor(LOGITS)).data, function(Tensor(LOGITS), dim=1).data)
    values = [v.data for v in head()([Value(v) for v in LOGITS[0]])]
    assert values == pytest.approx(function(Tensor(LOGITS), dim=1).data[0].tolist(), rel=1e-14)
    assert repr(module) == f"{head.__name__}(dim=1)"
