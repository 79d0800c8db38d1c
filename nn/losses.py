"""Loss functions. Each takes one sample or a batch and averages over the batch.

Scalar path: a sample's prediction is what a model returns, a list of output Values (a lone Value
counts as a list of one), and a batch is a list of those. Batch path: the prediction is a Tensor
with one row per sample, and the targets an array. The two give the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from autograd_core import Tensor, Value
from autograd_core import functional as F
from autograd_core.tensor import class_labels


def _is_batch(target: Any) -> bool:
    """A target is a batch when it is a sequence (list, tuple or array with a dimension)."""
    return isinstance(target, (list, tuple)) or (isinstance(target, np.ndarray) and target.ndim > 0)


def _outputs(prediction: Any) -> list[Value]:
    return [prediction] if isinstance(prediction, Value) else list(prediction)


def _mean(losses: list[Value]) -> Value:
    return F.sum(losses) * (1.0 / len(losses)) if len(losses) > 1 else losses[0]


def _pairs(prediction: Any, target: Any, name: str) -> list[tuple[Any, Any]]:
    """(sample prediction, sample target) pairs for a batch; one pair for a single sample."""
    if not _is_batch(target):
        return [(prediction, target)]
    if len(prediction) != len(target):
        raise ValueError(
            f"{name}: {len(prediction)} predictions but {len(target)} targets in the batch"
        )
    if len(target) == 0:
        raise ValueError(f"{name}: the batch is empty")
    return list(zip(prediction, target))


def mse(prediction: Any, target: Any) -> Value | Tensor:
    """Mean squared error over every output of every sample: mean (p - t)**2.

    The mean over all elements does not depend on how they group into samples, so both sides
    are flattened.
    """
    if isinstance(prediction, Tensor):
        t = np.asarray(target, dtype=prediction.dtype)
        if t.size != prediction.size:
            raise ValueError(f"mse: prediction {prediction.shape} but targets {t.shape}")
        return ((prediction - t.reshape(prediction.shape)) ** 2).mean()
    outputs = _flattened(prediction)
    targets = np.asarray(target, dtype=np.float64).ravel().tolist()
    if len(outputs) != len(targets):
        raise ValueError(f"mse: {len(outputs)} outputs but {len(targets)} targets")
    return _mean([(p - t) ** 2 for p, t in zip(outputs, targets)])


def _flattened(prediction: Any) -> list[Value]:
    if isinstance(prediction, Value):
        return [prediction]
    return [v for item in prediction for v in _flattened(item)]


def cross_entropy(logits: Any, target: Any) -> Value | Tensor:
    """Softmax cross-entropy, -log softmax(z)[target], fused: dL/dz = softmax(z) - onehot."""
    if isinstance(logits, Tensor):
        return F.cross_entropy(logits, np.asarray(target))
    losses = []
    for z, t in _pairs(logits, target, "cross_entropy"):
        z = _outputs(z)
        losses.append(F.cross_entropy(z, t))
    return _mean(losses)


def hinge(scores: Any, target: Any, margin: float = 1.0) -> Value | Tensor:
    """Multiclass SVM loss: L = sum over j != y of max(0, s_j - s_y + margin)."""
    if isinstance(scores, Tensor):
        return _batch_hinge(scores, target, margin)
    losses = []
    for s, t in _pairs(scores, target, "hinge"):
        s = _outputs(s)
        y = F.class_index(t, len(s), "hinge")
        if len(s) < 2:
            raise ValueError("hinge: needs at least two class scores per sample")
        losses.append(F.sum([(s[j] - s[y] + margin).relu() for j in range(len(s)) if j != y]))
    return _mean(losses)


def _batch_hinge(scores: Tensor, target: Any, margin: float) -> Tensor:
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"hinge: needs scores of shape (M, k >= 2), got {scores.shape}")
    labels = class_labels(target, scores.shape, "hinge")
    rows = np.arange(len(labels))
    correct = scores[rows, labels].reshape(len(labels), 1)
    others = np.ones(scores.shape, dtype=scores.dtype)
    others[rows, labels] = 0.0  # the true class is not a margin
    return ((scores - correct + margin).relu() * others).sum() * (1.0 / len(labels))


def binary_hinge(score: Any, target: Any) -> Value | Tensor:
    """micrograd's SVM loss for labels y in {-1, +1}: max(0, 1 - y * score)."""
    if isinstance(score, Tensor):
        y = np.asarray(target, dtype=score.dtype)
        if y.size != score.size:
            raise ValueError(f"binary_hinge: scores {score.shape} but labels {y.shape}")
        if not np.all(np.abs(y) == 1):
            raise ValueError("binary_hinge: labels must be -1 or +1")
        return (1.0 - score * y.reshape(score.shape)).relu().mean()
    losses = []
    for s, y in _pairs(score, target, "binary_hinge"):
        (s,) = _outputs(s)
        if y not in (-1, 1):
            raise ValueError(f"binary_hinge: labels must be -1 or +1, got {y!r}")
        losses.append((1.0 - float(y) * s).relu())
    return _mean(losses)


def l2(parameters: Iterable[Any], lam: float) -> Value | Tensor:
    """lam * sum of p**2 over the parameters; its gradient is 2 * lam * p."""
    params: Sequence[Any] = list(parameters)
    if not params:
        raise ValueError("l2: no parameters given")
    if isinstance(params[0], Tensor):
        total = (params[0] * params[0]).sum()
        for p in params[1:]:
            total = total + (p * p).sum()
        return total * float(lam)
    return F.dot(params, params) * float(lam)
