"""The batch path against hand-written NumPy backprop and PyTorch eager, side by side, one thread.

1. One SGD step (forward, softmax cross-entropy, backward, update) of MLP 784-256-256-10 in float32
   on random data, batch 32 / 128 / 1024.
2. One SGD step of MLP 2-16-16-1 with MSE, batch 100 (float64): per-op overhead dominates.
3. Digits, MLP 64-64-10, SGD with batch 32: epochs and wall time until 95% test accuracy.

All implementations start from the same weights and see the same batches; the script checks that
their first losses agree. Every contender is warmed up (untimed blocks of steps) before timing;
then each round times a block of steps per contender, in an order that rotates and reverses from
round to round, so none starts cold or always runs after the same other one. Cells give the
median over the rounds and the min-max range; a ratio is the median of the per-round ratios.

    python benchmarks/batch_vs_numpy.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from autograd_core import no_grad
from nn.batch import MLP
from nn.data import load_digits, train_test_split

try:
    import torch
except ImportError:  # optional: the comparison runs without it
    torch = None


class NumpyMLP:
    """Backprop written by hand: ReLU hidden layers, a linear last layer, SGD in place."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
        self.W = [w.copy() for w in weights]
        self.b = [b.copy() for b in biases]

    def forward(self, X: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        activations = [X]
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = activations[-1] @ W + b
            activations.append(np.maximum(z, 0) if i < len(self.W) - 1 else z)
        return activations, activations[-1]

    def backward_and_step(
        self, activations: list[np.ndarray], delta: np.ndarray, lr: float
    ) -> None:
        for i in reversed(range(len(self.W))):
            grad_W = activations[i].T @ delta
            grad_b = delta.sum(axis=0)
            if i > 0:  # relu'(z) = [z > 0] = [activation > 0]
                delta = (delta @ self.W[i].T) * (activations[i] > 0)
            self.W[i] -= lr * grad_W
            self.b[i] -= lr * grad_b

    def step_cross_entropy(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        activations, z = self.forward(X)
        rows = np.arange(len(y))
        shifted = z - z.max(axis=1, keepdims=True)
        exps = np.exp(shifted)
        totals = exps.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(totals[:, 0]) - shifted[rows, y]))
        delta = exps / totals
        delta[rows, y] -= 1.0
        delta /= len(y)
        self.backward_and_step(activations, delta, lr)
        return loss

    def step_mse(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        activations, z = self.forward(X)
        diff = z - y
        loss = float(np.mean(diff**2))
        self.backward_and_step(activations, 2.0 * diff / diff.size, lr)
        return loss


@dataclass
class Contender:
    """One implementation: a training step (returns the loss) and a forward pass for scores."""

    step: Callable[[np.ndarray, np.ndarray], float]
    predict: Callable[[np.ndarray], np.ndarray]


def ours(model: MLP, mse: bool, lr: float) -> Contender:
    optimizer = nn.SGD(model.parameters(), lr=lr)
    loss_fn = nn.mse if mse else nn.cross_entropy

    def step(X: np.ndarray, y: np.ndarray) -> float:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def predict(X: np.ndarray) -> np.ndarray:
        with no_grad():
            return model(X).data

    return Contender(step, predict)


def by_hand(weights: list[np.ndarray], biases: list[np.ndarray], mse: bool, lr: float) -> Contender:
    hand = NumpyMLP(weights, biases)
    step = hand.step_mse if mse else hand.step_cross_entropy
    return Contender(lambda X, y: step(X, y, lr), lambda X: hand.forward(X)[1])


def pytorch(weights: list[np.ndarray], mse: bool, lr: float) -> Contender | None:
    if torch is None:
        return None
    dtype = torch.from_numpy(weights[0]).dtype
    linears = [torch.nn.Linear(*W.shape, dtype=dtype) for W in weights]
    with torch.no_grad():
        for linear, W in zip(linears, weights):
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.zero_()
    layers: list = [linears[0]]
    for linear in linears[1:]:
        layers += [torch.nn.ReLU(), linear]
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.functional.mse_loss if mse else torch.nn.functional.cross_entropy

    def step(X: np.ndarray, y: np.ndarray) -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(torch.from_numpy(X)), torch.from_numpy(y))
        loss.backward()
        optimizer.step()
        return loss.item()

    def predict(X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(X)).numpy()

    return Contender(step, predict)


def contenders(sizes: list[int], dtype: type, mse: bool, lr: float) -> dict[str, Contender]:
    """The three implementations, from the same weights (drawn by this library's init)."""
    model = MLP(sizes[0], sizes[1:], seed=0, dtype=dtype)
    linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]
    weights = [layer.weight.data.copy() for layer in linears]
    biases = [layer.bias.data.copy() for layer in linears]
    found = {
        "numpy by hand": by_hand(weights, biases, mse, lr),
        "ours": ours(model, mse, lr),
        "pytorch eager": pytorch(weights, mse, lr),
    }
    return {name: c for name, c in found.items() if c is not None}


class Result(NamedTuple):
    """A contender's median seconds per step over the rounds, and its first step's loss."""

    seconds: float
    loss: float


def timed_rounds(
    runners: dict[str, Contender], X: np.ndarray, y: np.ndarray, rounds: int, block: int
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Each contender's first-step loss, and its seconds per step in each round, warm.

    Every contender first takes a step (its loss is checked) and then `WARMUP_BLOCKS` untimed
    blocks, so none starts cold. In each round each runs `block` steps, timed together; the
    order changes from round to round (rotated, and reversed every other round), so no contender
    always runs straight after the same other one, whose work may have evicted its caches.
    """
    losses = {name: c.step(X, y) for name, c in runners.items()}
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for _ in range(WARMUP_BLOCKS):
        for name in names:
            for _ in range(block):
                runners[name].step(X, y)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in reversed(order) if r % 2 else order:
            step = runners[name].step
            start = time.perf_counter()
            for _ in range(block):
                step(X, y)
            seconds[name].append((time.perf_counter() - start) / block)
    return losses, seconds


def race(
    runners: dict[str, Contender], X: np.ndarray, y: np.ndarray, rounds: int, block: int = 1
) -> dict[str, Result]:
    """Median seconds per step of each contender (warm, in varying order) and its first loss."""
    losses, seconds = timed_rounds(runners, X, y, rounds, block)
    return {name: Result(statistics.median(seconds[name]), losses[name]) for name in runners}


WARMUP_BLOCKS = 3


def check_losses(results: dict[str, Result], rtol: float) -> None:
    reference = results["numpy by hand"].loss
    for name, result in results.items():
        if abs(result.loss - reference) > rtol * abs(reference):
            sys.exit(f"loss mismatch: {name} {result.loss!r} vs numpy {reference!r}")


def spread(values: list[float], spec: str, unit: str = "") -> str:
    """The median, and the min-max range in parentheses."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:{spec}}{unit} ({low:{spec}}{unit}-{high:{spec}}{unit})"


def timing_cells(seconds: dict[str, list[float]], scale: float, spec: str) -> str:
    """Table cells: the three times (seconds * scale), then ours over the other two, each the
    median of the per-round ratios with their range."""
    numpy_t, ours_t = seconds["numpy by hand"], seconds["ours"]
    torch_t = seconds.get("pytorch eager")
    cells = [spread([t * scale for t in times], spec) for times in (numpy_t, ours_t)]
    cells.append(spread([t * scale for t in torch_t], spec) if torch_t else "-")
    cells.append(spread([o / n for o, n in zip(ours_t, numpy_t)], ".2f", "x"))
    if torch_t:
        cells.append(spread([o / t for o, t in zip(ours_t, torch_t)], ".2f", "x"))
    else:
        cells.append("-")
    return " | ".join(cells) + " |"


def checked_rounds(
    runners: dict[str, Contender], X: np.ndarray, y: np.ndarray, rounds: int, block: int,
    rtol: float,
) -> dict[str, list[float]]:
    """`timed_rounds`, exiting non-zero unless the first losses agree to `rtol`."""
    losses, seconds = timed_rounds(runners, X, y, rounds, block)
    check_losses({name: Result(0.0, loss) for name, loss in losses.items()}, rtol)
    return seconds


def step_table(rounds: int) -> None:
    print("\n1. One SGD step, MLP 784-256-256-10, float32, softmax cross-entropy")
    print(
        "| batch | numpy by hand ms | ours ms | pytorch eager ms | ours / numpy | ours / pytorch |"
    )
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for batch in (32, 128, 1024):
        X = rng.normal(size=(batch, 784)).astype(np.float32)
        y = rng.integers(0, 10, size=batch)
        runners = contenders([784, 256, 256, 10], np.float32, False, 0.01)
        seconds = checked_rounds(runners, X, y, rounds, max(1, 128 // batch), 1e-4)
        print(f"| {batch} | " + timing_cells(seconds, 1e3, ".3f"))


def small_table(rounds: int) -> None:
    print("\n2. One SGD step, MLP 2-16-16-1, float64, MSE, batch 100")
    print("| numpy by hand us | ours us | pytorch eager us | ours / numpy | ours / pytorch |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    y = rng.normal(size=(100, 1))
    runners = contenders([2, 16, 16, 1], np.float64, True, 0.01)
    print("| " + timing_cells(checked_rounds(runners, X, y, rounds, 50, 1e-10), 1e6, ".1f"))
    print(f"\nwhere ours spends a step (us, medians of {rounds * 50} warm steps, min-max):")
    print("| forward | mse loss | zero_grad and backward | SGD update |")
    print("|---|---|---|---|")
    print("| " + " | ".join(spread(t, ".1f") for t in phases_of_ours(X, y, rounds * 50)) + " |")


def phases_of_ours(X: np.ndarray, y: np.ndarray, steps: int) -> list[list[float]]:
    """Microseconds per phase of our step on the small network, for each of `steps` steps."""
    model = MLP(2, [16, 16, 1], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.01)
    phases: list[list[float]] = [[], [], [], []]
    for step in range(steps + 50):  # the first 50 warm up
        start = time.perf_counter()
        out = model(X)
        forward = time.perf_counter()
        loss = nn.mse(out, y)
        lossed = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        backward = time.perf_counter()
        optimizer.step()
        done = time.perf_counter()
        if step >= 50:
            marks = (start, forward, lossed, backward, done)
            for phase, (a, b) in zip(phases, itertools.pairwise(marks)):
                phase.append((b - a) * 1e6)
    return phases


def digits_table() -> None:
    print("\n3. Digits, MLP 64-64-10, SGD lr 0.1, batch 32, until 95% test accuracy")
    print("| contender | epochs | seconds | test accuracy |")
    print("|---|---|---|---|")
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, seed=0)
    for name, contender in contenders([64, 64, 10], np.float64, False, 0.1).items():
        rng = np.random.default_rng(0)  # the same batch order for everyone
        start, epochs, accuracy = time.perf_counter(), 0, 0.0
        while accuracy < 0.95 and epochs < 100:
            for X_batch, y_batch in nn.data.batches(X_train, y_train, 32, rng=rng):
                contender.step(X_batch, y_batch)
            epochs += 1
            accuracy = float(np.mean(contender.predict(X_test).argmax(axis=1) == y_test))
        print(f"| {name} | {epochs} | {time.perf_counter() - start:.3f} | {accuracy:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        print(
            f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
            f"one BLAS thread, medians of {args.rounds} rounds (min-max), ratios per round"
        )
        step_table(args.rounds)
        small_table(args.rounds)
        digits_table()


if __name__ == "__main__":
    main()
