"""What it would cost to make issue 25's M4 safe by default: an in-place change between forward
and backward (`l = (w * w).sum(); w.data *= 2; l.backward()`) gives stale gradients silently.

PyTorch catches in-place changes of saved tensors with version counters, bumped by its own
in-place ops; a NumPy in-place op on `w.data` (`*=`, `out=`, `a[...] = ...`) goes through no code
of ours, so no counter we keep would see it (and PyTorch's own `.data` bypasses its counter too:
its 0.4.0 migration guide says changes to `x.data` are not tracked by autograd and recommends
`x.detach()`). Two designs that need no counter are measured here, as the extra work around a real
training step, done by this script on the graph the step built: it walks the graph once
(`autograd_core.graph.topological_order`) and collects every array a node reads in its backward
step, each once: the parents' data as the forward pass saw them (`node.arrays`), the node's
output (`node.data`, handed to the op's vjp as `out`), an elementwise op's local gradient
(`node.local`, ReLU's mask) and the arrays its op saved (`node.saved`: cross-entropy's labels and
softmax, mse's target and difference), and, for a saved view, the arrays it is a view of.

(a) read-only saved arrays: after the forward pass every such array gets
    `flags.writeable = False` (unless it already was read-only); after backward they are made
    writable again, and the step updates `w.data -= lr * w.grad` as usual.
    Catches: any NumPy write into a guarded array before backward (`w.data *= 2`,
    `np.add(..., out=w.data)`, `w.data[0] = 1`, an optimiser step before backward) raises
    `ValueError: output array is read-only` at the write itself, the best place to say it.
    Cannot: a graph that is built and never backwarded (a validation forward pass without
    `no_grad`, a loss computed only to be printed, an exception between forward and backward)
    leaves the parameters read-only, so the next `optimizer.step()` raises; releasing them when
    the graph is freed (a finalizer) helps only when the user drops the graph, never while an
    output is kept. The user's batch `X` is read-only during the step too (`model(X)` shares its
    memory). Two live graphs over one parameter need a count per array (the first backward must
    not release what the second graph still reads). A view made before the forward pass stays
    writable (NumPy's flag is per array object), so writes through it are not caught. After the
    release, `loss.backward(); w.data -= lr * w.grad; loss.backward()` runs without a word, and
    the second backward mixes old activations with the new `w`, silently stale (as today); a
    second `backward()` with no change in between works. Rebinding (`w.data = new`) is not in
    place and needs no guard (the graph keeps the old array).

(b) fingerprints: after the forward pass a checksum of every such array's bytes; before backward
    they are recomputed and compared, and a difference raises `RuntimeError` naming the array.
    Two checksums: zlib.crc32 (detects any change of up to 32 consecutive bits and, but for a
    2^-32 chance, any other, permutations included; about 2.5 GB/s here) and a cheaper one, the
    exact sum of the array's 32-bit words (NumPy's uint32 sum into uint64, about four times
    crc32's speed on a weight matrix; crc32 still for arrays under 8 KB, where NumPy's per-call
    overhead costs more than crc32). A changed word always changes the exact sum, and a scaling
    by a positive factor (`w.data *= 2`, `*= 0.9`) moves every changed float32 element's word
    the same way (an IEEE float's bits grow with its magnitude), so it always changes the sum;
    it misses changes whose word differences cancel exactly, which a permutation always does
    (swapped rows, `rng.shuffle(w.data)`). (The wrapping sum of 64-bit words, five times
    quicker still, is blind to `*= 2` itself: doubling adds 2^52 to every normal float64's
    bits, and 4096 of them add 2^64, so a float64 256x256 matrix doubled sums the same.)
    Catches: the change at the next backward, wherever it came from (a view made before, the
    user's `X` reused as a buffer), and breaks nothing that does not backward a changed graph:
    a graph never backwarded costs only its checksums.
    Cannot: say where the write happened (only that it did, at backward); be free: it reads
    every saved byte twice per step, so its cost grows with the arrays, not the node count.
    With the fingerprints kept as long as the graph, `loss.backward(); w.data -= lr * w.grad;
    loss.backward()` raises at the second backward (whose gradient would be stale: PyTorch raises
    there too after `optimizer.step()`); to keep that sequence running, the fingerprints must be
    dropped after the first backward, and the second backward is then as unguarded as today.
    A second `backward()` with no change in between passes the check.

Contenders, from the same weights and on the same batch: the plain step (forward, loss,
zero_grad, backward, SGD update), the step with the walk alone (collecting the arrays, guarding
nothing: the floor of any guard done by walking; a guard inside the library would do its per-array
work as each node is made, without the walk), and the step with (a), (b) crc32 and (b) word sum.
Workloads: MLP 784-256-256-10 in float32, softmax cross-entropy, SGD, batch 32 and 256 (random
data, as benchmarks/batch_vs_numpy.py), and MLP 2-16-16-1 in float64, MSE against labels -1 / +1,
SGD, on 100 moons points. The timing is batch_vs_numpy.py's: one BLAS thread, every contender
warmed up, then rounds in which each times a block of steps, in an order that rotates and reverses
from round to round; cells give the median over the rounds and the min-max range, a ratio is the
median of the per-round ratios to the plain step. The first losses must agree exactly (the guards
change no number), or the script exits non-zero. Then the behaviour of each design on M4 and the
sequences above is printed.

    python benchmarks/inplace_guard_cost.py [--rounds 30] [--batches 32,256] [--moons 100]
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch_vs_numpy import Contender, spread, timed_rounds

import nn
from autograd_core import Tensor, no_grad
from autograd_core.graph import topological_order
from nn.batch import MLP
from nn.data import make_moons

# ---- what a node reads in backward -------------------------------------------------------------


def _saved_arrays(saved: Any) -> Iterator[np.ndarray]:
    """The arrays among what an op saved (a tuple of them and of plain values, or one value)."""
    for item in saved if isinstance(saved, (tuple, list)) else (saved,):
        if type(item) is np.ndarray:
            yield item


def backward_reads(root: Tensor) -> list[np.ndarray]:
    """Every array a node of `root`'s graph may read in its backward step, each once, with the
    arrays a saved view is a view of: the parents' data as the forward pass saw them, the
    node's output, an elementwise op's local gradient, and what its op saved."""
    found: dict[int, np.ndarray] = {}
    for node in topological_order(root):
        if not node.parents:
            continue
        for array in (*node.arrays, node.data, node.local, *_saved_arrays(node.saved)):
            while type(array) is np.ndarray and id(array) not in found:
                found[id(array)] = array
                array = array.base  # a view: guard the memory it shows, too
    return list(found.values())


# ---- design (a): read-only saved arrays ---------------------------------------------------------


class ReadOnly:
    """Design (a): every array the graph's backward reads is read-only until `release`."""

    def __init__(self, root: Tensor) -> None:
        writable = [a for a in backward_reads(root) if a.flags.writeable]
        # the arrays that own their memory first: NumPy refuses to make a view writable while
        # its base is read-only, so `release` goes in this order
        self.arrays = [a for a in writable if a.base is None] + [
            a for a in writable if a.base is not None
        ]
        for array in self.arrays:
            array.setflags(write=False)  # (flags.writeable = False, without the flags object)

    def release(self) -> None:
        for array in self.arrays:
            array.setflags(write=True)


# ---- design (b): fingerprints -------------------------------------------------------------------


def crc32(array: np.ndarray) -> Any:
    """zlib's CRC-32 of the array's bytes (a copy only for an array that is not contiguous)."""
    return zlib.crc32(np.ascontiguousarray(array).data)


WORD_SUM_FROM = 8192  # bytes: below, crc32 is quicker than NumPy's per-call overhead


def word_sum(array: np.ndarray) -> Any:
    """The exact sum of the array's 32-bit words (in uint64, which cannot overflow below 2^32
    words), for a contiguous array of whole words from `WORD_SUM_FROM` bytes; crc32 otherwise."""
    if array.nbytes < WORD_SUM_FROM or array.nbytes % 4 or not array.flags.c_contiguous:
        return zlib.crc32(np.ascontiguousarray(array).data)
    return int(np.frombuffer(array, np.uint32).sum(dtype=np.uint64))


CHECKSUMS: dict[str, Callable[[np.ndarray], Any]] = {"crc32": crc32, "word sum": word_sum}


class Fingerprints:
    """Design (b): a checksum of every array the graph's backward reads, taken now and compared
    by `check` (before each backward)."""

    def __init__(self, root: Tensor, checksum: Callable[[np.ndarray], Any] = crc32) -> None:
        self.checksum = checksum
        self.arrays = backward_reads(root)
        self.sums = [checksum(a) for a in self.arrays]

    def check(self) -> None:
        checksum = self.checksum
        for position, (array, before) in enumerate(zip(self.arrays, self.sums)):
            if checksum(array) != before:
                raise RuntimeError(
                    f"array {position} of shape {array.shape}, read by the backward pass, was "
                    "changed in place after the forward pass: its gradient would be stale"
                )


# ---- the steps ----------------------------------------------------------------------------------

CONTENDERS = ["plain", "walk only", "(a) read-only", "(b) crc32", "(b) word sum"]


def training_step(
    model: MLP, loss_fn: Callable[..., Any], lr: float, design: str,
    guarded: list[int],
) -> Callable[[np.ndarray, np.ndarray], float]:
    """One SGD step of `model` with the guard of `design` around it; `guarded` gets the number
    of arrays it guarded at each step."""
    optimizer = nn.SGD(model.parameters(), lr=lr)

    def plain(X: np.ndarray, y: np.ndarray) -> float:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def walk_only(X: np.ndarray, y: np.ndarray) -> float:
        loss = loss_fn(model(X), y)
        guarded.append(len(backward_reads(loss)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def read_only(X: np.ndarray, y: np.ndarray) -> float:
        loss = loss_fn(model(X), y)
        guard = ReadOnly(loss)  # at forward
        guarded.append(len(guard.arrays))
        optimizer.zero_grad()
        loss.backward()
        guard.release()  # at backward
        optimizer.step()  # w.data -= lr * w.grad
        return loss.item()

    def fingerprinted(checksum: Callable[[np.ndarray], Any]) -> Callable[..., float]:
        def step(X: np.ndarray, y: np.ndarray) -> float:
            loss = loss_fn(model(X), y)
            guard = Fingerprints(loss, checksum)  # at forward
            guarded.append(len(guard.arrays))
            optimizer.zero_grad()
            guard.check()  # at backward
            loss.backward()
            optimizer.step()
            return loss.item()

        return step

    steps = {
        "plain": plain,
        "walk only": walk_only,
        "(a) read-only": read_only,
        "(b) crc32": fingerprinted(crc32),
        "(b) word sum": fingerprinted(word_sum),
    }
    return steps[design]


def guarded_megabytes(model: MLP, loss_fn: Callable[..., Any], X: Any, y: Any) -> float:
    """The megabytes of the arrays a step's backward reads (what a fingerprint reads twice)."""
    return sum(a.nbytes for a in backward_reads(loss_fn(model(X), y))) / 1e6


def workload_rows(
    name: str, sizes: list[int], dtype: type, loss_fn: Callable[..., Any], X: np.ndarray,
    y: np.ndarray, rounds: int, block: int,
) -> list[str]:
    """The table rows of one workload: each contender's ms per step and its ratio to plain."""
    guarded: dict[str, list[int]] = {design: [] for design in CONTENDERS}
    runners = {
        design: Contender(
            training_step(MLP(sizes[0], sizes[1:], seed=0, dtype=dtype), loss_fn, 0.01, design,
                          guarded[design]),
            lambda X: X,
        )
        for design in CONTENDERS
    }
    losses, seconds = timed_rounds(runners, X, y, rounds, block)
    if len(set(losses.values())) != 1:
        sys.exit(f"{name}: the first losses differ: {losses}")
    megabytes = guarded_megabytes(MLP(sizes[0], sizes[1:], seed=0, dtype=dtype), loss_fn, X, y)
    rows = []
    plain = seconds["plain"]
    for design in CONTENDERS:
        counts = set(guarded[design])
        if len(counts) > 1:
            sys.exit(f"{name}, {design}: the number of arrays guarded changed: {counts}")
        arrays = str(counts.pop()) if counts else "-"  # (the plain step guards nothing)
        size = "-" if design == "plain" else f"{megabytes:.2f}"
        ms = spread([t * 1e3 for t in seconds[design]], ".3f")
        ratio = (
            "1" if design == "plain"
            else spread([t / p for t, p in zip(seconds[design], plain)], ".2f", "x")
        )
        rows.append(f"| {name} | {design} | {arrays} | {size} | {ms} | {ratio} |")
    return rows


def cost_table(rounds: int, batches: list[int], moons: int) -> None:
    print("\n1. One SGD step and its guard: ms per step, and over the plain step")
    print("| workload | contender | arrays guarded per step | MB guarded | step ms | / plain |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for batch in batches:
        X = rng.normal(size=(batch, 784)).astype(np.float32)
        y = rng.integers(0, 10, size=batch)
        name = f"784-256-256-10 float32, batch {batch}"
        for row in workload_rows(name, [784, 256, 256, 10], np.float32, nn.cross_entropy, X, y,
                                 rounds, max(1, 128 // batch)):
            print(row)
    X, labels = make_moons(moons, noise=0.1, seed=1)
    targets = (2.0 * labels - 1.0).reshape(-1, 1)
    name = f"2-16-16-1 float64, moons {moons}"
    for row in workload_rows(name, [2, 16, 16, 1], np.float64, nn.mse, X, targets, rounds, 50):
        print(row)


# ---- what each design does on M4 and around it --------------------------------------------------


class Design:
    """A design as the behaviour table runs it: a guard made after forward, used at backward."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.guards: dict[int, Any] = {}

    def forward(self, root: Any) -> Any:
        if self.kind == "(a) read-only":
            self.guards[id(root)] = ReadOnly(root)
        elif self.kind == "(b) crc32":
            self.guards[id(root)] = Fingerprints(root, crc32)
        return root

    def backward(self, root: Any) -> None:
        guard = self.guards.get(id(root))
        if isinstance(guard, Fingerprints):
            guard.check()
        root.backward()
        if isinstance(guard, ReadOnly):
            guard.release()


def m4(design: Design) -> str:
    """`l = (w * w).sum(); w.data *= 2; l.backward()`: where it fails, or the gradient given."""
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = design.forward((w * w).sum())
    try:
        w.data *= 2
    except ValueError as error:
        return f"raises at `w.data *= 2` (ValueError: {error})"
    try:
        design.backward(loss)
    except RuntimeError:
        return "raises at backward (RuntimeError)"
    return f"silently stale: grad {w.grad.tolist()} (right: [2.0, 4.0, 6.0])"


def update_then_backward_again(design: Design) -> str:
    """`loss.backward(); w.data -= lr * w.grad; loss.backward()`."""
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = design.forward((w * w).sum())
    design.backward(loss)
    w.data -= 0.1 * w.grad
    try:
        design.backward(loss)
    except RuntimeError:
        return "update works; the second backward raises (RuntimeError)"
    return "update works; the second backward is silently stale"


def backward_twice(design: Design) -> str:
    """`loss.backward(); loss.backward()`: leaf gradients double."""
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = design.forward((w * w).sum())
    design.backward(loss)
    design.backward(loss)
    return "works" if w.grad.tolist() == [4.0, 8.0, 12.0] else f"wrong: {w.grad.tolist()}"


def validation_pass_kept(design: Design) -> str:
    """A forward pass without no_grad that is never backwarded (its output kept), then a step."""
    model = MLP(2, [4, 1], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    X, y = np.ones((3, 2)), np.ones((3, 1))
    validation = design.forward(nn.mse(model(X), y))  # kept: printed later, say
    loss = design.forward(nn.mse(model(X), y))
    optimizer.zero_grad()
    design.backward(loss)
    try:
        optimizer.step()
    except ValueError as error:
        return f"the update raises (ValueError: {error})"
    del validation
    return "works"


def no_grad_validation(design: Design) -> str:
    """The same with the validation pass inside no_grad (no graph, nothing guarded)."""
    model = MLP(2, [4, 1], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    X, y = np.ones((3, 2)), np.ones((3, 1))
    with no_grad():
        nn.mse(model(X), y)
    loss = design.forward(nn.mse(model(X), y))
    optimizer.zero_grad()
    design.backward(loss)
    optimizer.step()
    return "works"


SEQUENCES: dict[str, Callable[[Design], str]] = {
    "M4: l = (w * w).sum(); w.data *= 2; l.backward()": m4,
    "loss.backward(); w.data -= lr * w.grad; loss.backward()": update_then_backward_again,
    "loss.backward(); loss.backward()": backward_twice,
    "a validation forward without no_grad, kept; then a training step": validation_pass_kept,
    "the validation forward inside no_grad; then a training step": no_grad_validation,
}


def behaviour_table() -> None:
    print(
        "\n2. What each design does ((b) word sum checks where (b) crc32 does; on these arrays, "
        "all under 8 KB, it is crc32)"
    )
    kinds = ["plain", "(a) read-only", "(b) crc32"]
    print("| sequence | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    for name, sequence in SEQUENCES.items():
        print(f"| {name} | " + " | ".join(sequence(Design(kind)) for kind in kinds) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--batches", default="32,256", help="batch sizes of the 784-256-256-10 MLP, comma-separated"
    )
    parser.add_argument(
        "--moons", type=int, default=100, help="moons points (the small MLP's batch)"
    )
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",") if b]
    with threadpool_limits(limits=1):
        print(
            f"numpy {np.__version__}, zlib {zlib.ZLIB_RUNTIME_VERSION}, one BLAS thread, "
            f"medians of {args.rounds} rounds (min-max), ratios per round"
        )
        cost_table(args.rounds, batches, args.moons)
        behaviour_table()


if __name__ == "__main__":
    main()
