"""How many updates a second the live training view makes: its update loop run without a
browser, on micrograd's demo (MLP(2, [16, 16, 1]), 100 moons, SVM loss with L2, SGD).

One update is what the page gets for one press of "step" (and, while playing, for each step):
the widget's request handled (`LiveWidget.handler`, as the kernel runs it for the page's
message), that is one full-batch training step, the decision boundary on a grid of
--resolution x --resolution cells, the traced sample's forward and backward pass with its
collapsed graph restyled, the parameters' statistics, and the frame serialised to JSON as the
comm sends it. Also timed on their own: the training step alone (what `fit` would do), and the
part of an update that is the view's. Medians with min-max over --rounds rounds of --updates
updates each.

    python benchmarks/live_updates.py [--rounds 5] [--updates 20] [--resolution 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from nn.data import make_moons
from visualize.training_view import Live, live

GOAL = 5.0  # updates a second: the "feels live"


def demo_run(resolution: int) -> Live:
    X, y = make_moons(100, noise=0.1, seed=1)
    model = nn.MLP(2, [16, 16, 1], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.05)

    def loss(outputs: Any, targets: Any) -> Any:
        return nn.binary_hinge(outputs, targets) + nn.l2(model.parameters(), 1e-4)

    return live(model, X, y * 2 - 1, loss, optimizer, resolution=resolution)


def seconds_per_update(run: Live, updates: int) -> float:
    widget = run.widget
    assert widget is not None
    start = time.perf_counter()
    for _ in range(updates):
        widget.handler({"do": "step"})
        json.dumps(widget.frame, allow_nan=False)  # what the comm sends
    return (time.perf_counter() - start) / updates


def seconds_per_training_step(run: Live, updates: int) -> float:
    model, optimizer = run.model, run.optimizer
    start = time.perf_counter()
    for _ in range(updates):
        with run.collector.paused():  # as the update's step, and `fit`'s, run
            batch_loss = run.loss(model(run.X), run.y)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
    return (time.perf_counter() - start) / updates


def spread(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    shown = [v * scale for v in values]
    return (
        f"{statistics.median(shown):.{digits}f} ({min(shown):.{digits}f}-{max(shown):.{digits}f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--resolution", type=int, default=50)
    args = parser.parse_args()
    run = demo_run(args.resolution)
    seconds_per_update(run, 2)  # warm: the graph's layout is made at the first frame
    update, step = [], []
    for _ in range(args.rounds):
        update.append(seconds_per_update(run, args.updates))
        step.append(seconds_per_training_step(run, args.updates))
    boxes = len(run.setup()["graph"]["boxes"])
    frame_bytes = len(json.dumps(run.widget.frame if run.widget else {}, allow_nan=False))
    print(
        f"micrograd's demo, boundary {args.resolution} x {args.resolution}, traced graph of "
        f"{boxes} boxes, frame {frame_bytes / 1000:.1f} kB of JSON; "
        f"{args.rounds} rounds of {args.updates} updates"
    )
    print()
    print("| what | ms | per second |")
    print("|---|---|---|")
    print(f"| an update of the view | {spread(update, 1e3)} | {spread([1 / u for u in update])} |")
    print(f"| the training step alone | {spread(step, 1e3)} | {spread([1 / s for s in step])} |")
    view = [u - s for u, s in zip(update, step)]
    print(f"| the view's part of an update | {spread(view, 1e3)} | - |")
    print()
    rate = statistics.median([1 / u for u in update])
    verdict = "meets" if rate >= GOAL else "misses"
    print(f"updates per second: {rate:.1f} (goal >= {GOAL:g}: {verdict} it)")
    first, last = run.history[1]["loss"], run.history[-1]["loss"]
    print(f"loss {first:.4f} -> {last:.4f} over {run.history[-1]['step']} steps")
    if not last < first:  # the loop must still train, however fast it is
        sys.exit("the live view's training did not lower the loss")


if __name__ == "__main__":
    main()
