"""The scalar engine against micrograd 0.1.0, training micrograd's own demo side by side.

The network and loss are micrograd's demo: MLP(2, [16, 16, 1]) on 100 moons points (noise 0.1),
the SVM max-margin loss relu(1 - y * score) averaged over the points, plus 1e-4 * sum(p * p). All
contenders start from the same weights and see the same data:
- "micrograd 0.1.0": micrograd's `nn.MLP` and the demo's loss, as written there.
- "ours, primitive graph": node for node the graph micrograd builds (one * and one + per weight),
  on this engine's `Value`.
- "ours, fused graph": what the library builds, `nn.MLP` + `nn.binary_hinge` + `nn.l2`: one `dot`
  node per neuron.

What is timed is micrograd's demo training loop, as users run it, in two modes:
- normal: each step builds the loss while the previous step's loss is still referenced (the demo's
  `total_loss = loss()` rebinding), then zero_grad, backward, and the SGD update
  p.data -= lr * p.grad with the demo's schedule lr = 1.0 - 0.9 * k / 100. The previous graph is
  freed at the rebinding, inside the forward time, where the engine frees it (ours by reference
  counting; micrograd's graphs hold reference cycles, so it pays later, in the cyclic collector).
- isolated: the same step, then freeing: the loss is dropped and gc.collect() runs, both timed,
  so every step starts from an empty heap and pays for its own graph in full.
Past the demo's 100 steps the demo starts over from the first weights (untimed), so the schedule
never goes negative. "training step" = forward + zero_grad + backward + update (+ freeing),
each timed with time.perf_counter. Python's collector runs with its default settings.

How: each contender trains in its own process, so that the garbage collector of one never walks
another's graphs (with micrograd's graph alive in the same heap, each full collection during our
steps would walk its half a million objects). After --warmup untimed steps each, the contenders
run --rounds rounds; in a round each runs --steps-per-round steps per mode, one at a time, in an
order that rotates from round to round, so machine noise hits all of them alike. The tables show
medians over all timed steps with their min-max; a speed-up is the median of the per-round ratios
(micrograd's time in the round / ours), with the min-max range over the rounds. "in gc" is time
spent inside Python's cyclic collector during the step (gc.callbacks), and "gc share" that time
over the step's. Memory is traced with tracemalloc in a separate build: bytes the graph holds /
its node count.

Checks: the step-1 losses must agree to 1e-12, and since all train the same network with the same
SGD, every later step's loss must agree with micrograd's to 1e-9 relative (gradients are summed in
different orders, so they drift by rounding); a mismatch exits non-zero.

    python benchmarks/scalar_vs_micrograd.py [--rounds 5] [--steps-per-round 3] [--warmup 2]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import multiprocessing
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple

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
DEMO_STEPS = 100  # micrograd's demo trains for 100 steps, with lr = 1.0 - 0.9 * k / 100
MICROGRAD = "micrograd 0.1.0"
PRIMITIVE = "ours, primitive graph"
FUSED = "ours, fused graph"
STEP1_TOLERANCE = 1e-12
TRAJECTORY_RTOL = 1e-9

Weights = list[list[tuple[list[float], float]]]


def make_weights(seed: int) -> Weights:
    """Per layer, per neuron: (weights, bias), uniform in [-1, 1] as micrograd draws them."""
    rng = random.Random(seed)
    return [
        [([rng.uniform(-1, 1) for _ in range(nin)], rng.uniform(-1, 1)) for _ in range(nout)]
        for nin, nout in itertools.pairwise(SIZES)
    ]


def set_weights(model: Any, weights: Weights) -> None:
    """Copy the weights into an MLP; micrograd's and nn's name their parts alike."""
    for layer, layer_weights in zip(model.layers, weights):
        for neuron, (w, b) in zip(layer.neurons, layer_weights):
            for p, value in zip(neuron.w, w):
                p.data = value
            neuron.b.data = b


def moons(seed: int) -> tuple[list[list[float]], list[float]]:
    """micrograd's demo data: 100 moons points, labels -1 / +1."""
    X, y = make_moons(100, noise=0.1, seed=seed)
    return X.tolist(), (y * 2 - 1).astype(float).tolist()


@dataclass
class Contender:
    """One engine's side of the demo loop: what the loop calls, written as its users write it."""

    loss: Callable[[], Any]  # builds the graph of the loss and returns its root
    parameters: Callable[[], list[Any]]  # called each update, as the demo does
    zero_grad: Callable[[], None]
    restart: Callable[[], None]  # back to the first weights, to run the demo again
    count_nodes: Callable[[Any], int]


def count_micrograd_nodes(root: Any) -> int:
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


def count_our_nodes(root: Value) -> int:
    return len(topological_order(root))


def micrograd_contender(weights: Weights, X: list[list[float]], y: list[float]) -> Contender:
    model = micrograd_nn.MLP(SIZES[0], list(SIZES[1:]))
    set_weights(model, weights)

    def loss() -> Any:  # micrograd's demo, as written there
        inputs = [list(map(MgValue, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in model.parameters())
        return data_loss + reg_loss

    return Contender(
        loss, model.parameters, model.zero_grad, lambda: set_weights(model, weights),
        count_micrograd_nodes,
    )  # fmt: skip


def primitive_contender(weights: Weights, X: list[list[float]], y: list[float]) -> Contender:
    """micrograd's graph, node for node, on this engine: a * and a + per weight."""
    layers = [[([Value(w) for w in ws], Value(b)) for ws, b in layer] for layer in weights]
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    first_weights = [p.data for p in params]

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

    def zero_grad() -> None:
        for p in params:
            p.grad = 0.0

    def restart() -> None:
        for p, value in zip(params, first_weights):
            p.data = value

    return Contender(loss, lambda: params, zero_grad, restart, count_our_nodes)


def fused_contender(weights: Weights, X: list[list[float]], y: list[float]) -> Contender:
    """The same loss as the library builds it: nn.MLP, nn.binary_hinge, nn.l2."""
    model = nn.MLP(SIZES[0], list(SIZES[1:]))
    set_weights(model, weights)
    params = model.parameters()

    def loss() -> Value:
        scores = [model(row) for row in X]
        return nn.binary_hinge(scores, y) + nn.l2(params, ALPHA)

    return Contender(
        loss, model.parameters, model.zero_grad, lambda: set_weights(model, weights),
        count_our_nodes,
    )  # fmt: skip


BUILDERS: dict[str, Callable[[Weights, list[list[float]], list[float]], Contender]] = {
    MICROGRAD: micrograd_contender,
    PRIMITIVE: primitive_contender,
    FUSED: fused_contender,
}


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


class CollectorClock:
    """Seconds spent inside the cyclic garbage collector since the last `reset`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started

    def reset(self) -> None:
        self.seconds = 0.0


class Step(NamedTuple):
    """One training step: seconds per phase, seconds inside the collector, and the loss."""

    forward: float
    zero_grad: float
    backward: float
    update: float
    free: float  # isolation only: dropping the graph and collecting what it left
    collector: float
    loss: float

    @property
    def total(self) -> float:
        return self.forward + self.zero_grad + self.backward + self.update + self.free

    @property
    def gc_share(self) -> float:
        return self.collector / self.total


NORMAL = "normal"  # the previous step's graph alive while the next is built
ISOLATED = "isolated"  # nothing alive: the graph is freed (and collected) at the end of its step
MODES = (NORMAL, ISOLATED)


class Trainer:
    """micrograd's demo loop, one step at a time, in either mode."""

    def __init__(self, contender: Contender) -> None:
        self.contender = contender
        self.total_loss: Any = None
        self.steps_done = 0
        self.clock = CollectorClock()

    def step(self, mode: str) -> Step:
        contender = self.contender
        k = self.steps_done % DEMO_STEPS
        if k == 0 and self.steps_done:
            contender.restart()
        self.clock.reset()
        start = time.perf_counter()
        # In the normal loop rebinding drops the previous step's graph only now, after the new
        # one is built (its freeing is in the forward time, where the engine frees it).
        self.total_loss = contender.loss()
        built = time.perf_counter()
        contender.zero_grad()
        zeroed = time.perf_counter()
        self.total_loss.backward()
        done = time.perf_counter()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in contender.parameters():
            p.data -= learning_rate * p.grad
        updated = time.perf_counter()
        loss = float(self.total_loss.data)
        if mode == ISOLATED:  # free the graph, and whatever cycles it made, inside the step
            self.total_loss = None
            gc.collect()
        freed = time.perf_counter()
        self.steps_done += 1
        return Step(
            built - start, zeroed - built, done - zeroed, updated - done,
            freed - updated if mode == ISOLATED else 0.0, self.clock.seconds, loss,
        )  # fmt: skip


def serve(connection: Connection, name: str, seed: int) -> None:
    """A contender's process: report nodes and graph bytes, then run blocks of steps on request.

    A request is (steps, mode); None ends the process. Steps go back as plain tuples.
    """
    X, y = moons(seed)
    contender = BUILDERS[name](make_weights(seed), X, y)
    root = contender.loss()
    nodes = contender.count_nodes(root)
    del root
    connection.send((nodes, graph_bytes(contender.loss)))
    trainer = Trainer(contender)
    while (request := connection.recv()) is not None:
        steps, mode = request
        connection.send([tuple(trainer.step(mode)) for _ in range(steps)])


@dataclass
class Run:
    """What one contender's process reported: per mode, one block of steps per round."""

    nodes: int
    graph_bytes: int
    warmup: list[Step] = field(default_factory=list)
    rounds: dict[str, list[list[Step]]] = field(
        default_factory=lambda: {mode: [] for mode in MODES}
    )
    order: list[Step] = field(default_factory=list)  # every step, in training order

    def timed(self, mode: str) -> list[Step]:
        return [step for block in self.rounds[mode] for step in block]

    @property
    def losses(self) -> list[float]:
        """Every step's loss, in training order."""
        return [s.loss for s in self.order]


class Worker:
    """The parent's handle on a contender's process."""

    def __init__(self, context: Any, name: str, seed: int) -> None:
        self.name = name
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=serve, args=(child_end, name, seed), daemon=True)
        self.process.start()
        child_end.close()

    def receive(self) -> Any:
        try:
            return self.connection.recv()
        except EOFError:
            sys.exit(f"the {self.name} process died (exit code {self.process.exitcode})")

    def run(self, steps: int, mode: str) -> list[Step]:
        self.connection.send((steps, mode))
        return [Step(*row) for row in self.receive()]

    def stop(self) -> None:
        if self.process.is_alive():
            self.connection.send(None)
        self.process.join(timeout=10)


def race(args: argparse.Namespace) -> dict[str, Run]:
    """Start the contenders' processes and run them in turn; only one runs at any time.

    Each round runs every contender in both modes; the order of the contenders rotates from
    round to round, so none is always the one that runs after another's process was busy.
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a user's script
    workers = [Worker(context, name, args.seed) for name in BUILDERS]
    try:
        runs = {w.name: Run(*w.receive()) for w in workers}
        for w in workers:
            runs[w.name].warmup = w.run(args.warmup, NORMAL)
            runs[w.name].order += runs[w.name].warmup
        for r in range(args.rounds):
            for mode in MODES:
                for w in workers[r % len(workers) :] + workers[: r % len(workers)]:
                    block = w.run(args.steps_per_round, mode)
                    runs[w.name].rounds[mode].append(block)
                    runs[w.name].order += block
    finally:
        for w in workers:
            w.stop()
    return runs


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g}" if seconds < 0.1 else f"{seconds * 1e3:.0f}"


def speedup(ratio: float) -> str:
    return f"{ratio:.3g}x"


def spread(values: list[float], show: Callable[[float], str]) -> str:
    """The median, and the min-max range in parentheses."""
    return f"{show(statistics.median(values))} ({show(min(values))}-{show(max(values))})"


PHASES: dict[str, Callable[[Step], float]] = {
    "forward": lambda s: s.forward,
    "backward": lambda s: s.backward,
    "training step": lambda s: s.total,
}


def print_contenders(runs: dict[str, Run], mode: str) -> None:
    print(
        "| contender | nodes per graph | forward ms | backward ms | training step ms | in gc ms "
        "| gc share of the step | backward ns/node | bytes/node | step-1 loss |"
    )
    print("|" + "---|" * 10)
    for name, run in runs.items():
        timed = run.timed(mode)
        backward = statistics.median(s.backward for s in timed)
        cells = [spread([phase(s) for s in timed], ms) for phase in PHASES.values()]
        cells.append(spread([s.collector for s in timed], ms))
        cells.append(spread([s.gc_share for s in timed], lambda f: f"{f:.0%}"))
        print(
            f"| {name} | {run.nodes:,} | " + " | ".join(cells)
            + f" | {backward / run.nodes * 1e9:.0f} | {run.graph_bytes / run.nodes:.0f} "
            f"| {run.losses[0]:.16g} |"
        )


def per_round_ratios(
    base: Run, ours: Run, mode: str, phase: Callable[[Step], float]
) -> list[float]:
    """For each round: micrograd's time in the phase over the round / ours."""
    return [
        sum(map(phase, base_block)) / sum(map(phase, our_block))
        for base_block, our_block in zip(base.rounds[mode], ours.rounds[mode])
    ]


def print_ratios(runs: dict[str, Run]) -> None:
    base = runs[MICROGRAD]
    heads = [f"{phase}, {mode}" for mode in MODES for phase in PHASES]
    print("| speed-up over micrograd 0.1.0 | " + " | ".join(heads) + " |")
    print("|" + "---|" * (len(heads) + 1))
    for name in (PRIMITIVE, FUSED):
        cells = [
            spread(per_round_ratios(base, runs[name], mode, phase), speedup)
            for mode in MODES
            for phase in PHASES.values()
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


def check_losses(runs: dict[str, Run]) -> None:
    """Exit non-zero unless step 1 agrees to 1e-12 and every later step to 1e-9 relative."""
    reference = runs[MICROGRAD].losses
    worst = (0.0, "", 0)  # relative difference, contender, step (1-based)
    for name, run in runs.items():
        first = run.losses[0]
        if abs(first - reference[0]) > STEP1_TOLERANCE:
            sys.exit(f"step-1 loss mismatch: {name} gives {first!r}, micrograd {reference[0]!r}")
        for step, (ours, theirs) in enumerate(zip(run.losses, reference), start=1):
            difference = abs(ours - theirs) / abs(theirs)
            if difference > worst[0]:
                worst = (difference, name, step)
    print(f"step-1 losses agree to {STEP1_TOLERANCE:g}")
    difference, name, step = worst
    last = max(abs(r.losses[-1] - reference[-1]) / abs(reference[-1]) for r in runs.values())
    summary = (
        f"largest relative difference from micrograd's loss over {len(reference)} steps: "
        f"{difference:.1e} ({name}, step {step}); at the last step {last:.1e}"
    )
    if difference > TRAJECTORY_RTOL:
        sys.exit(f"training diverged beyond {TRAJECTORY_RTOL:g} relative: {summary}")
    print(f"losses agree to {TRAJECTORY_RTOL:g} relative over the run: {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)  # about 2 minutes on a 2-CPU machine
    parser.add_argument("--steps-per-round", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per contender")
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args()
    if min(args.rounds, args.steps_per_round, args.warmup) < 1:
        parser.error("--rounds, --steps-per-round and --warmup must be >= 1")

    started = time.perf_counter()
    runs = race(args)
    print(
        f"python {sys.version.split()[0]}, gc thresholds {gc.get_threshold()} (the default), "
        f"{os.cpu_count()} CPUs; micrograd's demo loop, each contender in its own process: "
        f"{args.warmup} warm-up steps, then {args.rounds} rounds, each running every contender "
        f"for {args.steps_per_round} steps per mode, in rotating order"
    )
    runs_steps = args.rounds * args.steps_per_round
    for mode, title in (
        (NORMAL, "A normal training loop: the previous step's graph alive while the next is built"),
        (ISOLATED, "In isolation: each step frees its graph (and collects it) before the next"),
    ):
        print(f"\n{title}; medians over {runs_steps} steps (min-max)\n")
        print_contenders(runs, mode)
    print(
        f"\nSpeed-ups: median of the {args.rounds} per-round ratios, micrograd's time / ours "
        "(min-max)\n"
    )
    print_ratios(runs)
    print()
    check_losses(runs)
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
