"""What the per-thread modes cost per node: `no_grad` and `detect_anomaly` are per thread, so a
node type has to ask its own thread whether to record and check. It asks only while some block is
open in some thread; otherwise creating a node reads one shared counter.

Three conditions, run in turn over interleaved rounds, building the same graph of scalar ops
(one `*` and one `+` per step, 2 nodes) and, separately, one Tensor op per step. The cyclic
garbage collector is off while a graph is built (it is collected after), so that what is timed
is making nodes, not the collector's walks over a growing graph:

- "default": no mode block open anywhere (the normal case);
- "another thread in no_grad": this thread records as usual, but must ask which modes it is in;
- "detect_anomaly here": this thread checks every forward value and local gradient.

    python benchmarks/mode_overhead.py [--rounds 30] [--nodes 20000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograd_core import Tensor, Value, detect_anomaly, no_grad


@contextmanager
def no_grad_in_another_thread() -> Iterator[None]:
    entered, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with no_grad():
            entered.set()
            leave.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait()
    try:
        yield
    finally:
        leave.set()
        holder.join()


CONDITIONS: dict[str, Callable[[], Any]] = {
    "default": nullcontext,
    "another thread in no_grad": no_grad_in_another_thread,
    "detect_anomaly here": detect_anomaly,
}


def scalar_nodes(steps: int) -> float:
    """Seconds per node to build a chain of `x * w + b` on Values."""
    x, w, b = Value(0.5), Value(1.0000001), Value(1e-9)
    start = time.perf_counter()
    out = x
    for _ in range(steps):
        out = out * w + b
    elapsed = time.perf_counter() - start
    del out
    return elapsed / (2 * steps)


def tensor_nodes(steps: int) -> float:
    """Seconds per node to build a chain of elementwise products on small Tensors."""
    x = Tensor(np.full(4, 0.5), requires_grad=True)
    w = np.full(4, 1.0000001)
    start = time.perf_counter()
    out = x
    for _ in range(steps):
        out = out * w
    elapsed = time.perf_counter() - start
    del out
    return elapsed / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--nodes", type=int, default=20_000)
    args = parser.parse_args()
    builds = {"Value": (scalar_nodes, args.nodes // 2), "Tensor": (tensor_nodes, args.nodes // 10)}
    times: dict[tuple[str, str], list[float]] = {
        (kind, condition): [] for kind in builds for condition in CONDITIONS
    }
    for round_number in range(args.rounds + 1):
        for condition, enter in CONDITIONS.items():
            with enter():
                for kind, (build, steps) in builds.items():
                    gc.disable()
                    try:
                        seconds = build(steps)
                    finally:
                        gc.enable()
                        gc.collect()
                    if round_number:  # the first round warms up and is not counted
                        times[kind, condition].append(seconds)
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds, medians (min-max of rounds)")
    print("| node | condition | ns per node | extra ns per node vs default |")
    print("|---|---|---|---|")
    for kind in builds:
        default = times[kind, "default"]
        for condition in CONDITIONS:
            samples = times[kind, condition]
            extra = [s - d for s, d in zip(samples, default)]
            print(
                f"| {kind} | {condition} | {statistics.median(samples) * 1e9:.0f} "
                f"({min(samples) * 1e9:.0f}-{max(samples) * 1e9:.0f}) | "
                f"{statistics.median(extra) * 1e9:+.0f} |"
            )
    # The whole cost of the modes in the default case is one read of the shared count, which the
    # node types do once per node; timed here against an empty statement, the loop's own cost.
    number = 2_000_000
    setup = "from autograd_core.graph import MODE_BLOCKS"
    read = min(timeit.repeat("MODE_BLOCKS.count", setup, number=number, repeat=7))
    empty = min(timeit.repeat("pass", number=number, repeat=7))
    print(f"default case: reading MODE_BLOCKS.count costs {(read - empty) / number * 1e9:.1f} ns")


if __name__ == "__main__":
    main()
