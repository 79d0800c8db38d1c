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
    result = run_benchmark("scalar_vs_micrograd.py", "--repeats", "1")
    assert result.returncode == 0, result.stderr
    assert "losses agree to 1e-12" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows[1:]] == [
        "micrograd 0.1.0",
        "ours, primitive graph",
        "ours, fused graph",
    ]
    assert rows[1].split("|")[2].strip() == rows[2].split("|")[2].strip()  # same node count


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
