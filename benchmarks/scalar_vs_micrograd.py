"""The scalar engine against micrograd 0.1.0 on micrograd's own demo loss, side by side.

The loss is micrograd's demo: MLP(2, [16, 16, 1]) on 100 moons points (noise 0.1), the SVM
max-margin loss relu(1 - y * score) averaged over the points, plus 1e-4 * sum(p * p). Both engines
get the same weights and data; the losses must agree to 1e-12.

Two graphs are built with this engine:
- "primitive": node for node the graph micrograd builds (one * and one + per weight).
- "fused": what `nn.MLP` builds, one `dot` node per neuron, with `nn.binary_hinge` and `nn.l2`.

Times are medians over --repeats fresh graphs with Python's default gc settings, built one after
another as a training loop would (so each engine also pays for freeing its previous graph). The
"gc off" column shows how much of each forward pass is the cyclic garbage collector's work.
Memory is traced with tracemalloc in a separate build: graph bytes / node count.

    python benchmarks/scalar_vs_micrograd.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from autograd_core import Value, topological_order
from nn.data import make_moons

try:
    from micrograd import nn as micrograd_nn
    from micrograd.engine import Value as MgValue
except ImportError:  # pragma: no cover - the bench extra installs it
    sys.exit("micrograd is not installed: pip install -e '.[bench]'")

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4


def make_weights(seed: int) -> list[list[tuple[list[float], float]]]:
    """Per layer, per neuron: (weights, bias), uniform in [-1, 1] as micrograd draws them."""
    rng = random.Random(seed)
    return [
        [([rng.uniform(-1, 1) for _ in range(nin)], rng.uniform(-1, 1)) for _ in range(nout)]
        for nin, nout in itertools.pairwise(SIZES)
    ]


def set_weights(model: Any, weights: Any) -> None:
    """Copy the weights into an MLP; micrograd's and nn's name their parts alike."""
    for layer, layer_weights in zip(model.layers, weights):
        for neuron, (w, b) in zip(layer.neurons, layer_weights):
            for p, value in zip(neuron.w, w):
                p.data = value
            neuron.b.data = b


def micrograd_loss(weights: Any, X: list[list[float]], y: list[float]) -> Callable[[], Any]:
    model = micrograd_nn.MLP(SIZES[0], list(SIZES[1:]))
    set_weights(model, weights)

    def loss() -> Any:  # micrograd's demo, as written there
        inputs = [list(map(MgValue, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in model.parameters())
        return data_loss + reg_loss

    return loss


def primitive_loss(weights: Any, X: list[list[float]], y: list[float]) -> Callable[[], Value]:
    """micrograd's graph, node for node, on this engine: a * and a + per weight."""
    layers = [[([Value(w) for w in ws], Value(b)) for ws, b in layer] for layer in weights]
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]

    def neuron(ws: list[Value], b: Value, x: list[Value], nonlinear: bool) -> Value:
        act = b
        for wi, xi in zip(ws, x):
            act = act + wi * xi
        return act.relu() if nonlinear else act

    def forward(x: list[Value]) -> Value:
        for i, layer in enumerate(layers):
            nonlinear = i != len(layers) - 1
            x = [neuron(ws, b, x, nonlinear) for ws, b in layer]
        return x[0]

    def loss() -> Value:
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(forward, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in params)
        return data_loss + reg_loss

    return loss


def fused_loss(weights: Any, X: list[list[float]], y: list[float]) -> Callable[[], Value]:
    """The same loss as the library builds it: nn.MLP, nn.binary_hinge, nn.l2."""
    model = nn.MLP(SIZES[0], list(SIZES[1:]))
    set_weights(model, weights)
    params = model.parameters()

    def loss() -> Value:
        scores = [model(row) for row in X]
        return nn.binary_hinge(scores, y) + nn.l2(params, ALPHA)

    return loss


def count_micrograd_nodes(root: Any) -> int:
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


def time_engine(loss: Callable[[], Any], repeats: int) -> tuple[float, float, float]:
    """Median forward and backward seconds over `repeats` fresh graphs; returns the loss too."""
    forwards, backwards = [], []
    value = 0.0
    for _ in range(repeats + 1):  # the first build warms caches and is not counted
        start = time.perf_counter()
        root = loss()
        built = time.perf_counter()
        root.backward()
        done = time.perf_counter()
        forwards.append(built - start)
        backwards.append(done - built)
        value = root.data
        del root
    return statistics.median(forwards[1:]), statistics.median(backwards[1:]), value


def forward_without_gc(loss: Callable[[], Any], repeats: int) -> float:
    """Median forward seconds with the cyclic garbage collector switched off."""
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            root = loss()
            times.append(time.perf_counter() - start)
            del root
            gc.collect()  # micrograd's cycles are only freed by the collector
    finally:
        gc.enable()
    return statistics.median(times)


def graph_bytes(loss: Callable[[], Any]) -> int:
    """Bytes allocated by one forward pass that are still held by the graph it returns."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    root = loss()
    gc.collect()  # drop garbage made on the way; keep what the graph holds
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del root
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args()

    X_np, y_np = make_moons(100, noise=0.1, seed=args.seed)
    X = X_np.tolist()
    y = (y_np * 2 - 1).astype(float).tolist()  # labels -1 / +1, as in micrograd's demo
    weights = make_weights(args.seed)

    engines = {
        "micrograd 0.1.0": micrograd_loss(weights, X, y),
        "ours, primitive graph": primitive_loss(weights, X, y),
        "ours, fused graph": fused_loss(weights, X, y),
    }
    rows = []
    for name, loss in engines.items():
        root = loss()
        nodes = (
            count_micrograd_nodes(root)
            if name.startswith("micro")
            else len(topological_order(root))
        )
        del root
        held = graph_bytes(loss)
        forward, backward, value = time_engine(loss, args.repeats)
        quiet = forward_without_gc(loss, args.repeats)
        rows.append((name, nodes, forward, backward, held, value, quiet))

    base = rows[0]
    print(
        f"python {sys.version.split()[0]}, gc thresholds {gc.get_threshold()}, "
        f"median of {args.repeats}"
    )
    print(
        "| engine | nodes | forward s | backward s | fwd+bwd s | speed-up vs micrograd "
        "| forward s, gc off | bytes/node | graph MiB | graph memory vs micrograd | loss |"
    )
    print("|" + "---|" * 11)
    for name, nodes, forward, backward, held, value, quiet in rows:
        total = forward + backward
        print(
            f"| {name} | {nodes:,} | {forward:.4f} | {backward:.4f} | {total:.4f} "
            f"| {(base[2] + base[3]) / total:.1f}x | {quiet:.4f} | {held / nodes:.0f} "
            f"| {held / 2**20:.2f} "
            f"| 1/{base[4] / held:.1f} | {value:.15f} |"
        )
    for name, *_, value, _ in rows[1:]:
        if abs(value - base[5]) > 1e-12:
            sys.exit(f"loss mismatch: {name} gives {value!r}, micrograd {base[5]!r}")
    print("losses agree to 1e-12")


if __name__ == "__main__":
    main()
