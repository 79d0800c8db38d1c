"""A training loop: mini-batches, a loss, an optimiser, a progress bar, and a per-epoch history."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from autograd_core import no_grad
from autograd_core.graph import is_node

from ..data import batches, load_idx
from ..optim import Optimizer

Loss = Callable[[Any, Any], Any]
Metric = Callable[[Any, np.ndarray], float]


def scores_of(outputs: Any) -> np.ndarray:
    """Model outputs for a batch as an (M, k) array of floats: a Tensor (its data), or per sample
    a Value or a list of Values (each converts with `float`)."""
    scores = np.asarray(outputs, dtype=np.float64)
    return scores.reshape(len(scores), -1)


def accuracy(outputs: Any, targets: np.ndarray) -> float:
    """Fraction classified right: argmax of k > 1 scores, or for one score its sign
    (score > 0 predicts the positive class, label > 0; so labels may be 0/1 or -1/+1)."""
    scores = scores_of(outputs)
    targets = np.asarray(targets)
    if scores.shape[1] == 1:
        return float(np.mean((scores[:, 0] > 0) == (targets > 0)))
    return float(np.mean(scores.argmax(axis=1) == targets))


METRICS: dict[str, Metric] = {"accuracy": accuracy}


@dataclass(frozen=True)
class StepInfo:
    """What a `fit` callback sees after each optimiser step."""

    epoch: int
    step: int
    loss: float
    model: Any
    optimizer: Optimizer


def evaluate(
    model: Any, X: np.ndarray, y: np.ndarray, loss: Loss, metrics: dict[str, Metric]
) -> dict[str, float]:
    """Loss and metrics on data, without recording a graph."""
    with no_grad():
        outputs = model(X)
        results = {"loss": float(loss(outputs, y).data)}
    for name, metric in metrics.items():
        results[name] = metric(outputs, y)
    return results


def fit(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    loss: Loss,
    optimizer: Optimizer,
    epochs: int = 10,
    batch_size: int | None = None,
    metrics: Sequence[str | Metric] = ("accuracy",),
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool | None = None,
    callback: Callable[[StepInfo], bool | None] | None = None,
    seed: int | None = 0,
) -> dict[str, list[float]]:
    """Train `model` on (X, y) and return the history: per epoch, the mean training loss, the
    training metrics (measured on each batch's forward pass, before its step) and, with
    `validation=(X_val, y_val)`, `val_loss` and `val_<metric>` after the epoch.

    `batch_size=None` trains on the full batch. Batches are shuffled by a generator seeded with
    `seed`. The progress bar is on when stderr is a terminal, unless `progress` says otherwise.
    A `callback` gets a `StepInfo` after every step; returning True stops training.

    Each step's graph is dropped before the next is built, and Python's cyclic collector is
    paused while a step builds and walks its graph (the model, the loss, backward, the update,
    the metrics); callbacks run with it on, and cycles anything makes are still collected
    between steps (`StepCollector` says how, and what it saves).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"fit: X has no rows (shape {X.shape}); expected at least one sample")
    if len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} rows but y has {len(y)}")
    epochs = _positive_int("epochs", epochs)
    if validation is not None:
        X_val, y_val = (np.asarray(a) for a in validation)
        if X_val.ndim == 0 or len(X_val) == 0 or len(X_val) != len(y_val):
            raise ValueError(
                f"fit: validation has X of shape {X_val.shape} and y of shape {y_val.shape}; "
                "expected the same number of rows, at least one"
            )
        validation = (X_val, y_val)
    named = {m if isinstance(m, str) else m.__name__: _metric(m) for m in metrics}
    # None means the full batch; 0 is refused rather than read as None
    size = len(X) if batch_size is None else _positive_int("batch_size", batch_size)
    steps_per_epoch = -(-len(X) // size)
    history: dict[str, list[float]] = {"loss": [], **{name: [] for name in named}}
    if validation is not None:
        history["val_loss"] = []
        history.update({f"val_{name}": [] for name in named})
    rng = np.random.default_rng(seed)
    show = sys.stderr.isatty() if progress is None else progress
    step = 0
    stop = False
    collector = StepCollector()
    with tqdm(total=epochs * steps_per_epoch, disable=not show, unit="step", leave=True) as bar:
        for epoch in range(epochs):
            total, seen, sums = 0.0, 0, dict.fromkeys(named, 0.0)
            for X_batch, y_batch in batches(X, y, size, shuffle=size < len(X), rng=rng):
                with collector.paused():
                    outputs = model(X_batch)  # a scalar model maps itself over the rows
                    batch_loss = loss(outputs, y_batch)
                    if not is_node(batch_loss):  # a plain number has no graph to go back along
                        raise TypeError(
                            f"fit: loss(outputs, y) returned {type(batch_loss).__name__} "
                            f"{batch_loss!r:.40}, not a Value or a Tensor; build it from the "
                            "outputs (nn.mse, nn.cross_entropy, nn.binary_hinge)"
                        )
                    optimizer.zero_grad()
                    batch_loss.backward()
                    optimizer.step()
                    value = float(batch_loss.data)
                    for name, metric in named.items():
                        sums[name] += metric(outputs, y_batch) * len(X_batch)
                    # the step's graph goes now, before the collector runs and the next is built
                    del outputs, batch_loss
                step += 1
                total += value * len(X_batch)
                seen += len(X_batch)
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{value:.4f}")
                if callback is not None and callback(
                    StepInfo(epoch, step, value, model, optimizer)
                ):
                    stop = True
                    break
            history["loss"].append(total / seen)
            for name in named:
                history[name].append(sums[name] / seen)
            if validation is not None:
                results = evaluate(model, *validation, loss, named)
                for name, value in results.items():
                    history[f"val_{name}"].append(value)
            if stop:
                break
    return history


class StepCollector:
    """Python's cyclic collector paused while `fit` builds and walks a step's graph.

    Why: the graphs hold no reference cycles, so reference counting frees them (each step drops
    its graph before the next is built), yet every node made counts towards the collector's next
    run, and a run promotes the live graph towards the old generation, whose full collections
    walk every object of the program: pausing it makes a scalar `fit` step on micrograd's demo
    network about a fifth faster, and on the batch path it changes nothing measurable (the
    README's table, from `benchmarks/fit_collector.py`).

    Cycles that a model, a loss, a metric or a callback makes are still collected: before each
    step the young generation (where they are, and the graph is not), every 10th step the middle
    one too; the old generation on Python's own schedule. The collector is switched back on
    however a step is left (an exception, KeyboardInterrupt, a callback that stops training); if
    it was off when `fit` was called (`gc.disable()`), `fit` neither turns it on nor collects.
    """

    def __init__(self) -> None:
        self.steps = 0

    @contextmanager
    def paused(self) -> Iterator[None]:
        if not gc.isenabled():  # the caller turned it off: leave it to them
            yield
            return
        gc.collect(1 if self.steps % 10 == 9 else 0)  # what the last step's callback left
        self.steps += 1
        gc.disable()
        try:
            yield
        finally:
            gc.enable()


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"fit: {name} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"fit: {name} must be at least 1, got {value}")
    return int(value)


def _metric(metric: str | Metric) -> Metric:
    if callable(metric):
        return metric
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(METRICS)}")
    return METRICS[metric]


MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def load_mnist(directory: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST from the four IDX files in `directory` (each raw or with .gz): X_train, X_test as
    (N, 784) floats in [0, 1], y_train, y_test as int64. FileNotFoundError names what is missing."""
    directory = Path(directory)
    found = {}
    for key, name in MNIST_FILES.items():
        candidates = [directory / name, directory / f"{name}.gz"]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            wanted = ", ".join(f"{n}[.gz]" for n in MNIST_FILES.values())
            raise FileNotFoundError(f"{name}[.gz] is not in {directory}; put these there: {wanted}")
        found[key] = load_idx(path)

    def images(array: np.ndarray) -> np.ndarray:
        return array.reshape(len(array), -1).astype(np.float64) / 255.0

    return (
        images(found["train_images"]),
        images(found["test_images"]),
        found["train_labels"].astype(np.int64),
        found["test_labels"].astype(np.int64),
    )
