"""The benchmark scripts run and their correctness checks hold (their timings are not tested)."""

from __future__ import annotations

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


def test_scalar_benchmark_losses_agree() -> None:
    pytest.importorskip("micrograd")
    result = run_benchmark(
        "scalar_vs_micrograd.py", "--rounds", "1", "--steps-per-round", "1", "--warmup", "1",
        "--gc-off-steps", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr  # a loss mismatch exits non-zero
    assert "losses agree to 1e-12" in result.stdout
    tables = [
        [[cell.strip() for cell in line.split("|")[1:-1]] for line in block.splitlines()]
        for block in result.stdout.split("\n\n")
        if block.startswith("| ")
    ]
    assert len(tables) == 2  # the contenders, then the speed-ups
    contenders, ratios = tables
    names = [row[0] for row in contenders[2:]]
    assert names == ["micrograd 0.1.0", "ours, primitive graph", "ours, fused graph"]
    assert contenders[2][1] == contenders[3][1]  # node for node: the same node count
    assert [row[0] for row in ratios[2:]] == names[1:]
    for row in ratios[2:]:
        # each cell a speed-up "4.2x" or a range "3.9x–4.6x" of positive numbers
        values = [float(number) for cell in row[1:] for number in cell.rstrip("x").split("x–")]
        assert len(values) == 9 and all(v > 0 for v in values), row


def test_batch_benchmark_losses_agree() -> None:
    pytest.importorskip("threadpoolctl")
    result = run_benchmark("batch_vs_numpy.py", "--rounds", "1")
    assert result.returncode == 0, result.stderr  # a loss mismatch exits non-zero
    tables = result.stdout.split("\n\n")
    assert len(tables) == 4  # the header line and three tables
    step_rows = [line for line in tables[1].splitlines() if line.startswith("| ") and "x |" in line]
    assert [row.split("|")[1].strip() for row in step_rows] == ["32", "128", "1024"]
    digits_rows = [line.split("|") for line in tables[3].splitlines()[3:]]
    assert all(float(row[4]) >= 0.95 for row in digits_rows) and len(digits_rows) >= 2
