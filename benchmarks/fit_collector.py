"""What pausing Python's cyclic collector saves in `nn.fit`: fit as it is, against the same fit
with the pause (`nn.train.StepCollector.paused`) replaced by a block that does nothing.

micrograd's demo network, MLP(2, [16, 16, 1]) with the SVM loss on 100 moons points, full batch,
on the scalar path (15 epochs a run) and on the batch path (1500 epochs a run). The two versions
run in turn, in alternating order, --runs times each; per-step medians with min-max, and the
speed-up as the median of the per-pair ratios.

    python benchmarks/fit_collector.py [--runs 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from nn.data import make_moons
from nn.train import StepCollector

PAUSED = StepCollector.paused


@contextmanager
def running(self: StepCollector) -> Iterator[None]:
    yield  # the collector left as it is: it runs whenever its thresholds say


def seconds_per_step(pause: bool, batch: bool) -> float:
    StepCollector.paused = PAUSED if pause else running  # type: ignore[method-assign]
    X, y = make_moons(100, noise=0.1, seed=1)
    model = nn.batch.MLP(2, [16, 16, 1], seed=0) if batch else nn.MLP(2, [16, 16, 1], seed=0)
    epochs = 1500 if batch else 15
    optimizer = nn.SGD(model.parameters(), lr=0.05)
    start = time.perf_counter()
    nn.fit(model, X, y * 2 - 1, nn.binary_hinge, optimizer, epochs=epochs, progress=False)
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    print("| path | fit step ms, collector running | fit step ms, paused by fit | speed-up |")
    print("|---|---|---|---|")
    try:
        table(args.runs)
    finally:  # the library's own pause, whatever happened
        StepCollector.paused = PAUSED  # type: ignore[method-assign]


def table(runs: int) -> None:
    for batch in (False, True):
        times: dict[bool, list[float]] = {False: [], True: []}
        for run in range(runs):
            for pause in (run % 2 == 0, run % 2 == 1):
                times[pause].append(seconds_per_step(pause, batch))
        ratios = [a / b for a, b in zip(times[False], times[True])]
        cells = [
            f"{statistics.median(t) * 1e3:.2f} ({min(t) * 1e3:.2f}-{max(t) * 1e3:.2f})"
            for t in (times[False], times[True])
        ]
        speedup = f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}x-{max(ratios):.2f}x)"
        print(f"| {'batch' if batch else 'scalar'} | {cells[0]} | {cells[1]} | {speedup} |")


if __name__ == "__main__":
    main()
