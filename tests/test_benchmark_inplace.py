"""benchmarks/inplace_guard_cost.py runs and prints its tables, and the two guards it measures
catch issue 25's M4 (an in-place change between forward and backward); no timing is tested."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from autograd_core import Tensor
from tests.test_benchmarks import run_benchmark, spread_numbers, table_only, table_rows

pytest.importorskip("threadpoolctl")

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = ["plain", "walk only", "(a) read-only", "(b) crc32", "(b) word sum"]


@pytest.fixture(scope="module")
def guards() -> ModuleType:
    """The script as a module (benchmarks/ is no package)."""
    path = ROOT / "benchmarks" / "inplace_guard_cost.py"
    spec = importlib.util.spec_from_file_location("inplace_guard_cost", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_script_prints_both_tables_with_every_contender() -> None:
    result = run_benchmark(
        "inplace_guard_cost.py", "--rounds", "1", "--batches", "4,8", "--moons", "10"
    )
    assert result.returncode == 0, result.stderr  # first losses that differ exit non-zero
    blocks = result.stdout.split("\n\n")
    assert len(blocks) == 3  # the header line, the costs, the behaviour
    costs, behaviour = (table_rows(table_only(block))[0] for block in blocks[1:])
    assert costs[0] == [
        "workload", "contender", "arrays guarded per step", "MB guarded", "step ms", "/ plain"
    ]  # fmt: skip
    rows = costs[2:]
    workloads = [
        "784-256-256-10 float32, batch 4",
        "784-256-256-10 float32, batch 8",
        "2-16-16-1 float64, moons 10",
    ]
    assert [(row[0], row[1]) for row in rows] == [(w, c) for w in workloads for c in CONTENDERS]
    for workload in workloads:
        block = [row for row in rows if row[0] == workload]
        assert block[0][2:4] == ["-", "-"] and block[0][5] == "1"  # plain guards nothing
        guarded = {row[2] for row in block[1:]}
        assert len(guarded) == 1 and int(guarded.pop()) > 0, block  # every guard: the same arrays
        for row in block:
            median, low, high = spread_numbers(row[4])
            assert 0 < low <= median <= high, row
        for row in block[1:]:
            assert float(row[3]) > 0
            median, low, high = spread_numbers(row[5])
            assert 0 < low <= median <= high, row
    assert behaviour[0] == ["sequence", "plain", "(a) read-only", "(b) crc32"]
    m4 = behaviour[2]
    assert m4[0].startswith("M4")
    assert m4[1].startswith("silently stale") and "[4.0, 8.0, 12.0]" in m4[1]
    assert m4[2].startswith("raises at `w.data *= 2`")
    assert m4[3] == "raises at backward (RuntimeError)"
    kept = next(row for row in behaviour if row[0].startswith("a validation forward"))
    assert kept[1:] == ["works", kept[2], "works"] and kept[2].startswith("the update raises")


def test_read_only_raises_at_the_write_and_releases_after_backward(guards: ModuleType) -> None:
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w * w).sum()
    guard = guards.ReadOnly(loss)
    with pytest.raises(ValueError, match="read-only"):
        w.data *= 2  # M4's change, refused where it happens
    loss.backward()
    guard.release()
    assert w.grad.tolist() == [2.0, 4.0, 6.0]
    w.data -= 0.1 * w.grad  # the update after backward works
    assert w.data.tolist() == pytest.approx([0.8, 1.6, 2.4])


def test_read_only_guards_what_a_saved_view_shows(guards: ModuleType) -> None:
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    loss = (Tensor(np.ones((1, 3))) @ w.T).sum()  # matmul saves w.data.T, a view of w.data
    guard = guards.ReadOnly(loss)
    with pytest.raises(ValueError, match="read-only"):
        w.data[0, 0] = 5.0
    guard.release()  # the base first: NumPy refuses a writable view of a read-only base
    w.data[0, 0] = 5.0


def test_read_only_misses_a_view_made_before_and_fingerprints_do_not(
    guards: ModuleType,
) -> None:
    """NumPy's writeable flag is per array object: a view taken earlier still writes."""
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    earlier = w.data[:]
    loss = (w * w).sum()
    read_only, fingerprints = guards.ReadOnly(loss), guards.Fingerprints(loss)
    earlier *= 2  # not refused
    with pytest.raises(RuntimeError, match="changed in place"):
        fingerprints.check()
    read_only.release()


@pytest.mark.parametrize("checksum", ["crc32", "word sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fingerprints_flag_the_change_at_backward(
    guards: ModuleType, checksum: str, dtype: type
) -> None:
    function = guards.CHECKSUMS[checksum]
    # under 8 KB the word sum is crc32; above, its own; 256 x 256 doubled fools a wrapping
    # sum of 64-bit words (65536 times 2^52 is 0 modulo 2^64), not the exact sum of 32-bit ones
    for shape in [(3,), (784, 256), (256, 256)]:
        w = Tensor(np.full(shape, 1.5, dtype=dtype), requires_grad=True)
        loss = (w * w).sum()
        guard = guards.Fingerprints(loss, function)
        guard.check()  # nothing changed: it passes
        w.data *= 2
        with pytest.raises(RuntimeError, match="changed in place"):
            guard.check()


def test_the_word_sum_misses_a_permutation_and_crc32_does_not(guards: ModuleType) -> None:
    """The blind spot the script's docstring names."""
    w = Tensor(np.arange(4096.0).reshape(64, 64), requires_grad=True)
    loss = (w * w).sum()
    by_crc = guards.Fingerprints(loss, guards.crc32)
    by_sum = guards.Fingerprints(loss, guards.word_sum)
    w.data[[0, 1]] = w.data[[1, 0]]  # two rows swapped
    by_sum.check()
    with pytest.raises(RuntimeError):
        by_crc.check()


def test_fingerprints_pass_a_second_backward_but_not_one_after_an_update(
    guards: ModuleType,
) -> None:
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w * w).sum()
    guard = guards.Fingerprints(loss)
    for _ in range(2):  # loss.backward(); loss.backward(): both checked, both fine
        guard.check()
        loss.backward()
    assert w.grad.tolist() == [4.0, 8.0, 12.0]
    w.data -= 0.1 * w.grad  # the update after backward works ...
    with pytest.raises(RuntimeError):  # ... and a backward of the old graph after it is stale
        guard.check()


def test_the_arrays_a_node_reads_in_backward(guards: ModuleType) -> None:
    """Parents' data, output, local gradient and saved arrays, each once."""
    w = Tensor(np.ones((4, 3)), requires_grad=True)
    x = np.ones((2, 4))
    logits = Tensor(x, copy=False) @ w  # the batch, shared (as a layer shares it)
    hidden = logits.relu()
    loss = hidden.cross_entropy(np.array([0, 2]))
    found = {id(a) for a in guards.backward_reads(loss)}
    assert {id(x), id(w.data), id(logits.data), id(hidden.data), id(hidden.local)} <= found
    assert all(id(a) in found for a in loss.saved if isinstance(a, np.ndarray))
    assert len(found) == len(guards.backward_reads(loss))
