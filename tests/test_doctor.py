"""The doctor (`python -m autograd_core doctor`, `autograd-viz --doctor`) and the one error every
drawing gives when Graphviz's `dot` is missing (issue 24): run with a PATH that has no dot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def test_the_doctor_says_everything_is_there(tmp_path: Path) -> None:
    done = run(["-m", "autograd_core", "doctor"], os.environ["PATH"])
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ok       python: 3.")
    assert any(line.startswith("ok       dot (Graphviz's program") for line in lines)
    assert any("anywidget" in line for line in lines) and len(lines) == 11
    assert all(line.startswith("ok ") for line in lines)  # make installs every extra, [export] too


def test_without_dot_the_doctor_names_it_with_the_fix_and_exits_1(tmp_path: Path) -> None:
    done = run(["-m", "autograd_core", "doctor"], str(tmp_path))  # a PATH with no dot on it
    assert done.returncode == 1
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("missing")]
    assert line.startswith("missing  dot (Graphviz's program, for every picture): install Graphviz")
    for fix in (
        "sudo apt-get install graphviz",
        "brew install graphviz",
        "winget install",
        "conda",
    ):
        assert fix in line
    same = run(["-m", "visualize", "--doctor"], str(tmp_path))
    assert (same.returncode, same.stdout) == (1, done.stdout)


def test_every_drawing_without_dot_gives_the_one_clear_error(tmp_path: Path) -> None:
    program = (
        "import graphviz\n"
        "from autograd_core import Value\n"
        "from visualize import draw_graph, draw_paths, trace_backward, collapsed_page\n"
        "from visualize.fit import GraphvizNotFound\n"
        "x = Value(2.0, 'x'); out = x * x\n"
        "calls = [lambda: draw_graph(out).pipe(format='svg'),\n"
        "         lambda: draw_graph(out).render('g', format='png'),\n"
        "         lambda: draw_paths(out, x).pipe(),\n"
        "         lambda: trace_backward(out).html(),\n"
        "         lambda: collapsed_page(out, 'c.html')]\n"
        "for call in calls:\n"
        "    try:\n"
        "        call()\n"
        "    except GraphvizNotFound as error:\n"
        "        assert isinstance(error, graphviz.ExecutableNotFound)\n"
        "        print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 5 and len(set(lines)) == 1
    assert lines[0].startswith("Graphviz's dot program was not found")
    assert "python -m autograd_core doctor" in lines[0] and "brew install graphviz" in lines[0]


@pytest.mark.parametrize("args", [[], ["--help"], ["checkup"]])
def test_the_module_says_how_to_ask(args: list[str]) -> None:
    done = run(["-m", "autograd_core", *args], os.environ["PATH"])
    assert "usage: python -m autograd_core doctor" in done.stderr
    assert done.returncode == (0 if args == ["--help"] else 2)
