"""Three ways to store a scalar node's inputs, timed in micrograd's demo loop (normal loop).

The question behind `Value`'s layout: Python's cyclic collector walks every object it tracks each
time enough have been made, so how many tracked objects a node allocates decides much of a
training step. Each variant is a minimal Value (+, *, relu, a backward walk) with:

- "tuples": `parents` and `local_grads` as tuples of their own (the previous `Value`: two or
  three tracked objects per node);
- "parents tuple": `parents` a tuple, the local gradients in slots (two per node);
- "slots": inputs and local gradients in slots, `parents` a property that builds the tuple (one
  per node; what `Value` does now).

The graph is micrograd's demo node for node (MLP(2, [16, 16, 1]), 100 points, SVM loss + L2), and
each step is built while the previous one's graph is alive. Each variant runs in its own process,
in turn, --rounds times; medians of the per-run medians, with their min-max.

    python benchmarks/node_representations.py [--rounds 3] [--steps 10]
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import subprocess
import sys
import time
from typing import Any

VARIANTS = ("tuples", "parents tuple", "slots")


class TupleNode:
    __slots__ = ("data", "grad", "local_grads", "parents")

    def __init__(self, data: float, parents: tuple = (), local_grads: tuple = ()) -> None:
        self.data, self.grad, self.parents, self.local_grads = data, 0.0, parents, local_grads

    def add(self, b: Any) -> Any:
        return TupleNode(self.data + b.data, (self, b), (1.0, 1.0))

    def mul(self, b: Any) -> Any:
        return TupleNode(self.data * b.data, (self, b), (b.data, self.data))

    def relu(self) -> Any:
        return TupleNode(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,))

    def chain_rule(self, upstream: float) -> None:
        for parent, local in zip(self.parents, self.local_grads):
            parent.grad += local * upstream


class ParentsTupleNode:
    __slots__ = ("data", "first_local", "grad", "parents", "second_local")

    def __init__(self, data: float, parents: tuple = (), a: float = 0.0, b: float = 0.0) -> None:
        self.data, self.grad, self.parents = data, 0.0, parents
        self.first_local, self.second_local = a, b

    def add(self, b: Any) -> Any:
        return ParentsTupleNode(self.data + b.data, (self, b), 1.0, 1.0)

    def mul(self, b: Any) -> Any:
        return ParentsTupleNode(self.data * b.data, (self, b), b.data, self.data)

    def relu(self) -> Any:
        return ParentsTupleNode(max(self.data, 0.0), (self,), 1.0 if self.data > 0 else 0.0)

    def chain_rule(self, upstream: float) -> None:
        parents = self.parents
        if parents:
            parents[0].grad += self.first_local * upstream
            if len(parents) == 2:
                parents[1].grad += self.second_local * upstream


class SlotNode:
    __slots__ = ("data", "first", "first_local", "grad", "second", "second_local")

    def __init__(self, data: float, first: Any = None, a: float = 0.0, second: Any = None,
                 b: float = 0.0) -> None:  # fmt: skip
        self.data, self.grad, self.first, self.first_local = data, 0.0, first, a
        self.second, self.second_local = second, b

    @property
    def parents(self) -> tuple:
        if self.first is None:
            return ()
        return (self.first,) if self.second is None else (self.first, self.second)

    def add(self, b: Any) -> Any:
        return SlotNode(self.data + b.data, self, 1.0, b, 1.0)

    def mul(self, b: Any) -> Any:
        return SlotNode(self.data * b.data, self, b.data, b, self.data)

    def relu(self) -> Any:
        return SlotNode(max(self.data, 0.0), self, 1.0 if self.data > 0 else 0.0)

    def chain_rule(self, upstream: float) -> None:
        if self.first is not None:
            self.first.grad += self.first_local * upstream
            if self.second is not None:
                self.second.grad += self.second_local * upstream


def backward(root: Any) -> None:
    """Depth-first order by marking `grad` (as graph.py does), then the chain rule in reverse."""
    reached, order, stack = object(), [], [root]
    while stack:
        node = stack.pop()
        if node is None:
            order.append(stack.pop())
        elif node.grad is not reached:
            node.grad = reached
            stack += [node, None, *(p for p in node.parents if p.grad is not reached)]
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        node.chain_rule(node.grad)


def run(variant: str, steps: int) -> list[float]:
    """Seconds per training step of micrograd's demo on `variant`, the previous graph alive."""
    node = {"tuples": TupleNode, "parents tuple": ParentsTupleNode, "slots": SlotNode}[variant]
    rng = random.Random(0)
    sizes = (2, 16, 16, 1)
    layers = [
        [([node(rng.uniform(-1, 1)) for _ in range(nin)], node(rng.uniform(-1, 1)))
         for _ in range(nout)]
        for nin, nout in itertools.pairwise(sizes)
    ]  # fmt: skip
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(100)]
    Y = [rng.choice((-1.0, 1.0)) for _ in range(100)]

    def loss() -> Any:
        total = node(0.0)
        for row, y in zip(X, Y):
            x = [node(v) for v in row]
            for depth, layer in enumerate(layers):
                outs = []
                for ws, b in layer:
                    act = b
                    for w, xi in zip(ws, x):
                        act = act.add(w.mul(xi))
                    outs.append(act.relu() if depth < len(layers) - 1 else act)
                x = outs
            total = total.add(node(1.0).add(node(-y).mul(x[0])).relu())
        reg = node(0.0)
        for p in params:
            reg = reg.add(p.mul(p))
        return total.mul(node(0.01)).add(reg.mul(node(1e-4)))

    times, total_loss = [], None
    for step in range(steps + 2):  # two untimed steps first
        start = time.perf_counter()
        total_loss = loss()  # the previous step's graph is freed only now
        for p in params:
            p.grad = 0.0
        backward(total_loss)
        for p in params:
            p.data -= 0.01 * p.grad
        if step >= 2:
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # one run, in a child process
    args = parser.parse_args()
    if args.variant:
        print(statistics.median(run(args.variant, args.steps)))
        return
    medians: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            command = [sys.executable, __file__, "--variant", variant, "--steps", str(args.steps)]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            medians[variant].append(float(output))
    print("| node layout | tracked objects per node | training step ms |")
    print("|---|---|---|")
    for variant, objects in zip(VARIANTS, ("2-3", "2", "1")):
        ms = [t * 1e3 for t in medians[variant]]
        cell = f"{statistics.median(ms):.0f} ({min(ms):.0f}-{max(ms):.0f})"
        print(f"| {variant} | {objects} | {cell} |")


if __name__ == "__main__":
    main()
