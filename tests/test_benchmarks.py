"""The benchmark scripts run and their correctness checks hold (their timings are not tested)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def table_rows(text: str) -> list[list[list[str]]]:
    """Every markdown table in the output, as rows of cells (the header and rule included)."""
    return [
        [[cell.strip() for cell in line.split("|")[1:-1]] for line in block.splitlines()]
        for block in text.split("\n\n")
        if block.startswith("| ")
    ]


def table_only(block: str) -> str:
    """A block's table lines, without the title above them."""
    return "\n".join(line for line in block.splitlines() if line.startswith("|"))


def spread_numbers(cell: str) -> list[float]:
    """The numbers of a cell "median (min-max)", such as "4.2x (3.9x-4.6x)" or "12% (9%-15%)"."""
    return [float(n) for n in re.findall(r"[0-9.]+(?:e[-+][0-9]+)?", cell)]


def test_scalar_benchmark_losses_agree() -> None:
    pytest.importorskip("micrograd")
    result = run_benchmark(
        "scalar_vs_micrograd.py", "--rounds", "1", "--steps-per-round", "1", "--warmup", "1"
    )
    assert result.returncode == 0, result.stderr  # a loss mismatch exits non-zero
    assert "losses agree to 1e-12" in result.stdout
    tables = table_rows(result.stdout)
    assert len(tables) == 3  # the normal loop, in isolation, then the speed-ups
    names = ["micrograd 0.1.0", "ours, primitive graph", "ours, fused graph"]
    for contenders in tables[:2]:
        assert [row[0] for row in contenders[2:]] == names
        assert contenders[2][1] == contenders[3][1]  # node for node: the same node count
        for row in contenders[2:]:
            low_high = [spread_numbers(cell) for cell in row[2:7]]  # times, gc time, gc share
            assert all(len(n) == 3 and n[1] <= n[0] <= n[2] for n in low_high), row
            assert float(row[-1]) == pytest.approx(float(contenders[2][-1]), abs=1e-12)
    ratios = tables[2]
    assert ratios[0][1:] == [
        f"{phase}, {mode}"
        for mode in ("normal", "isolated")
        for phase in ("forward", "backward", "training step")
    ]
    assert [row[0] for row in ratios[2:]] == names[1:]
    for row in ratios[2:]:
        values = [spread_numbers(cell) for cell in row[1:]]
        assert all(len(v) == 3 and v[1] <= v[0] <= v[2] and v[1] > 0 for v in values), row


def test_batch_benchmark_losses_agree() -> None:
    pytest.importorskip("threadpoolctl")
    result = run_benchmark("batch_vs_numpy.py", "--rounds", "1")
    assert result.returncode == 0, result.stderr  # a loss mismatch exits non-zero
    tables = result.stdout.split("\n\n")
    assert len(tables) == 5  # the header line, three tables and where our small step goes
    step_rows = table_rows(table_only(tables[1]))[0][2:]
    assert [row[0] for row in step_rows] == ["32", "128", "1024"]
    small_row = table_rows(table_only(tables[2]))[0][2]
    for row in [*(r[1:] for r in step_rows), small_row]:
        # numpy, ours (times), ours / numpy: each "median (min-max)" with min <= median <= max
        for cell in (row[0], row[1], row[3]):
            median, low, high = spread_numbers(cell)
            assert 0 < low <= median <= high, row
    split = table_rows(table_only(tables[3]))[0]
    assert split[0] == ["forward", "mse loss", "zero_grad and backward", "SGD update"]
    for cell in split[2]:  # us per phase, "median (min-max)"
        median, low, high = spread_numbers(cell)
        assert 0 < low <= median <= high, split[2]
    digits_rows = [line.split("|") for line in tables[4].splitlines()[3:]]
    assert all(float(row[4]) >= 0.95 for row in digits_rows) and len(digits_rows) >= 2


def test_fit_collector_benchmark_runs_both_paths() -> None:
    result = run_benchmark("fit_collector.py", "--runs", "1")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)[0][2:]
    assert [row[0] for row in rows] == ["scalar", "batch"]
    for row in rows:
        for cell in row[1:]:
            median, low, high = spread_numbers(cell)
            assert 0 < low <= median <= high, row


def test_node_representations_benchmark_times_the_three_layouts() -> None:
    result = run_benchmark("node_representations.py", "--rounds", "1", "--steps", "1")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)[0][2:]
    layouts = [(row[0], row[1]) for row in rows]
    assert layouts == [("tuples", "2-3"), ("parents tuple", "2"), ("slots", "1")]
    for row in rows:
        median, low, high = spread_numbers(row[2])
        assert 0 < low <= median <= high, row


def test_live_updates_benchmark_runs_the_views_update_loop() -> None:
    pytest.importorskip("anywidget")
    result = run_benchmark("live_updates.py", "--rounds", "1", "--updates", "2")
    assert result.returncode == 0, result.stderr  # a loop that stops training exits non-zero
    assert "boundary 50 x 50, traced graph of 5 boxes" in result.stdout  # inputs, 3 layers, loss
    rows = table_rows(result.stdout)[0][2:]
    assert [row[0] for row in rows] == [
        "an update of the view",
        "the training step alone",
        "the view's part of an update",
    ]
    for row in rows[:2]:
        for cell in row[1:]:
            median, low, high = spread_numbers(cell)
            assert 0 < low <= median <= high, row
    assert re.search(r"updates per second: [0-9.]+ \(goal >= 5: (meets|misses) it\)", result.stdout)
