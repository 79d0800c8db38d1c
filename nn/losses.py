"""Loss functions on both paths. Each takes one sample or a batch and averages over the batch.

Scalar path: a sample's prediction is what a scalar model returns for it, a list of output
Values (a lone Value counts as a list of one), and a batch is a list of those. Batch path: the
prediction is a Tensor with one row per sample. The two give the same numbers (tested to 1e-10).

Which path a loss is on is decided once, by the type of the prediction, through
`functools.singledispatch`: each loss is a scalar implementation registered as the default and a
Tensor one registered beside it, each with its own precise types.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import singledispatch
from typing import Any, TypeAlias, cast

import numpy as np

from autograd_core import Tensor, Value
from autograd_core import functional as F
from autograd_core.graph import is_node
from autograd_core.tensor import class_labels

# One sample's outputs (a Value, or a list of them), or a batch of such samples.
ScalarPrediction: TypeAlias = Value | Sequence[Any]
Prediction: TypeAlias = ScalarPrediction | Tensor
Loss: TypeAlias = Value | Tensor
# Targets: one number or class index, a list of them, or an array.
Targets: TypeAlias = float | int | Sequence[Any] | np.ndarray


def _is_batch(target: Any) -> bool:
    """A target is a batch when it is a sequence (list, tuple or array with a dimension)."""
    return isinstance(target, (list, tuple)) or np.ndim(target) > 0


def _outputs(prediction: ScalarPrediction) -> list[Value]:
    if is_node(prediction):  # one output: a lone Value
        return [cast(Value, prediction)]
    return list(cast(Sequence[Value], prediction))


def _mean(losses: list[Value]) -> Value:
    return F.sum(losses) * (1.0 / len(losses)) if len(losses) > 1 else losses[0]


def _pairs(prediction: Any, target: Any, name: str) -> list[tuple[Any, Any]]:
    """(sample prediction, sample target) pairs for a batch; one pair for a single sample."""
    if not _is_batch(target):
        return [(prediction, target)]
    if is_node(prediction) or len(prediction) != len(target):
        count = 1 if is_node(prediction) else len(prediction)
        raise ValueError(f"{name}: {count} predictions but {len(target)} targets in the batch")
    if len(target) == 0:
        raise ValueError(f"{name}: the batch is empty")
    return list(zip(prediction, np.asarray(target).tolist()))


def _flattened(prediction: Any) -> list[Value]:
    if is_node(prediction):
        return [prediction]
    return [v for item in prediction for v in _flattened(item)]


# ---- mean squared error ------------------------------------------------------------------------


@singledispatch
def mse(prediction: Prediction, target: Targets) -> Loss:
    """Mean squared error over every output of every sample: mean (p - t)**2.

    The mean over all elements does not depend on how they group into samples, so both sides
    are flattened.
    """
    outputs = _flattened(prediction)
    targets = np.asarray(target, dtype=np.float64).ravel().tolist()
    if len(outputs) != len(targets):
        raise ValueError(f"mse: {len(outputs)} outputs but {len(targets)} targets")
    return _mean([(p - t) ** 2 for p, t in zip(outputs, targets)])


@mse.register
def _mse_batch(prediction: Tensor, target: Targets) -> Tensor:
    t = np.asarray(target, dtype=prediction.dtype)
    if t.size != prediction.size:
        raise ValueError(f"mse: prediction {prediction.shape} but targets {t.shape}")
    return prediction.mse(t.reshape(prediction.shape))  # ((p - t) ** 2).mean(), as one node


# ---- softmax cross-entropy ---------------------------------------------------------------------


@singledispatch
def cross_entropy(logits: Prediction, target: Targets) -> Loss:
    """Softmax cross-entropy, -log softmax(z)[target], fused: dL/dz = softmax(z) - onehot."""
    pairs = _pairs(logits, target, "cross_entropy")
    return _mean([F.cross_entropy(_outputs(z), t) for z, t in pairs])


@cross_entropy.register
def _cross_entropy_batch(logits: Tensor, target: Targets) -> Tensor:
    return logits.cross_entropy(np.asarray(target))


# ---- multiclass SVM (hinge) --------------------------------------------------------------------


@singledispatch
def hinge(scores: Prediction, target: Targets, margin: float = 1.0) -> Loss:
    """Multiclass SVM loss: L = sum over j != y of max(0, s_j - s_y + margin)."""
    losses = []
    for sample, t in _pairs(scores, target, "hinge"):
        s = _outputs(sample)
        y = F.class_index(t, len(s), "hinge")
        if len(s) < 2:
            raise ValueError("hinge: needs at least two class scores per sample")
        losses.append(F.sum([(s[j] - s[y] + margin).relu() for j in range(len(s)) if j != y]))
    return _mean(losses)


@hinge.register
def _hinge_batch(scores: Tensor, target: Targets, margin: float = 1.0) -> Tensor:
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"hinge: needs scores of shape (M, k >= 2), got {scores.shape}")
    labels = class_labels(target, scores.shape, "hinge")
    rows = np.arange(len(labels))
    correct = scores[rows, labels].reshape(len(labels), 1)
    others = np.ones(scores.shape, dtype=scores.dtype)
    others[rows, labels] = 0.0  # the true class is not a margin
    return ((scores - correct + margin).relu() * others).sum() * (1.0 / len(labels))


# ---- micrograd's binary SVM loss ---------------------------------------------------------------


@singledispatch
def binary_hinge(score: Prediction, target: Targets) -> Loss:
    """micrograd's SVM loss for labels y in {-1, +1}: max(0, 1 - y * score)."""
    losses = []
    for sample, y in _pairs(score, target, "binary_hinge"):
        (s,) = _outputs(sample)
        if y not in (-1, 1):
            raise ValueError(f"binary_hinge: labels must be -1 or +1, got {y!r}")
        losses.append((1.0 - float(y) * s).relu())
    return _mean(losses)


@binary_hinge.register
def _binary_hinge_batch(score: Tensor, target: Targets) -> Tensor:
    y = np.asarray(target, dtype=score.dtype)
    if y.size != score.size:
        raise ValueError(f"binary_hinge: scores {score.shape} but labels {y.shape}")
    if not np.all(np.abs(y) == 1):
        raise ValueError("binary_hinge: labels must be -1 or +1")
    return (1.0 - score * y.reshape(score.shape)).relu().mean()


# ---- L2 regularisation -------------------------------------------------------------------------


def l2(parameters: Iterable[Value] | Iterable[Tensor], lam: float) -> Loss:
    """lam * sum of p**2 over the parameters; its gradient is 2 * lam * p."""
    params: list[Any] = list(parameters)
    if not params:
        raise ValueError("l2: no parameters given")
    return _sum_of_squares(params[0], params) * float(lam)


@singledispatch
def _sum_of_squares(first: Value | Tensor, params: list[Any]) -> Loss:
    """Scalar parameters: one fused dot node, p . p."""
    return F.dot(params, params)


@_sum_of_squares.register
def _sum_of_squares_batch(first: Tensor, params: list[Tensor]) -> Tensor:
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + (p * p).sum()
    return total
