"""The CLI: good expressions write files and print gradients; bad ones get one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visualize.cli import main
from visualize.expression import ExpressionError, evaluate

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visualize", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def test_chain_rule_from_the_command_line(tmp_path: Path) -> None:
    result = run_cli(
        "(x+y)*z", "x=-2", "y=5", "z=-4", "-o", "graph.svg", "--steps", "steps.html", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:4] == ["f = -12", "df/dx = -4", "df/dy = -4", "df/dz = 3"]
    svg = (tmp_path / "graph.svg").read_text()
    assert "<svg" in svg and "data &#45;12" in svg
    assert (tmp_path / "steps.html").read_text().count("<svg") == 5


@pytest.mark.parametrize("suffix", ["svg", "png", "pdf", "dot"])
def test_format_follows_the_suffix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"graph.{suffix}"
    assert main(["tanh(w*x + b)", "w=0.5", "x=2", "b=-1", "-o", str(path)]) == 0
    head = path.read_bytes()[:8]
    expected = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF", "dot": b"digraph"}[suffix]
    assert head.startswith(expected)


def test_number_exponents_are_the_power_primitive() -> None:
    out, leaves = evaluate("x ** -2", {"x": 2.0})
    assert out.op == "**-2" and out.parents == (leaves["x"],)
    out.backward()
    assert leaves["x"].grad == -2 * 2.0**-3


def test_every_operation_is_available(capsys: pytest.CaptureFixture[str]) -> None:
    expression = "max(exp(x) / y, log(y)) - relu(x) + sigmoid(-x) ** 2 + reciprocal(y) + tanh(x)"
    assert main([expression, "x=0.5", "y=2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("f = ") and lines[1].startswith("df/dx = ")


HOSTILE = [
    ("__import__('os').system('touch pwned')", "only these functions can be called"),
    ("().__class__", "Attribute is not allowed"),
    ("x.y", "Attribute is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("1/0", "reciprocal of zero"),
    ("w + 1", "unknown name 'w'"),
    ("", "empty"),
    ("(" * 10_000 + "1" + ")" * 10_000, "longer than"),
    ("(" * 4_000 + "x" + ")" * 4_000, "not a valid expression"),
    ("+".join(["x"] * 3_000), "nested too deeply"),
    ("x[0]", "Subscript is not allowed"),
    ("open('f', 'w')", "only these functions"),
    ("exp(x, x)", "exp takes 1 plain argument"),
    ("max(*[x, x])", "max takes 2 plain arguments"),
    ("'abc'", "only numbers"),
    ("True + x", "only numbers"),
    ("log(-x)", "log domain error"),
    ("x if x else 1", "IfExp is not allowed"),
    ("[i for i in range(9)]", "ListComp is not allowed"),
    ("x == 1", "Compare is not allowed"),
    ("exp(1000 * x)", "exp overflow"),
    ("(-x) ** 0.5", "pow domain error"),
]


@pytest.mark.parametrize(("expression", "message"), HOSTILE)
def test_hostile_and_broken_expressions_are_refused(
    tmp_path: Path, expression: str, message: str
) -> None:
    result = run_cli(expression, "x=1", "-o", "out.svg", "--steps", "out.html", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []  # no file written, nothing run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "x"], "expected NAME=VALUE"),
        (["x", "x=abc"], "not a number"),
        (["x", "x=nan"], "must be finite"),
        (["x", "x=1", "x=2"], "given twice"),
        (["exp(x)", "exp=1", "x=1"], "is a function name"),
        (["x", "x=1", "-o", "graph.gif"], "cannot tell the format"),
        (["x", "x=1", "--steps", "steps.svg"], "give a .html file"),
        ([], "required: expression"),
    ],
)
def test_bad_arguments_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and message in err[0]


def test_null_byte_is_refused() -> None:
    """argv cannot carry a null byte, but the evaluator may get text from elsewhere."""
    with pytest.raises(ExpressionError, match="not a valid expression"):
        evaluate("x\x00", {"x": 1.0})


def test_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "autograd-viz"
    assert script.exists(), "pip install -e . creates the autograd-viz console script"
    result = subprocess.run(
        [str(script), "x*y", "x=2", "y=3", "-o", "g.dot"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == ["f = 6", "df/dx = 3", "df/dy = 2"]
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


@given(st.text(max_size=60))
def test_random_text_never_raises(text: str) -> None:
    try:
        out, leaves = evaluate(text, {"x": 0.5, "y": -1.5})
    except ExpressionError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert set(leaves) == {"x", "y"} and isinstance(out.data, float)


@given(st.text(alphabet="xy()+-*/.,0123456789 expltanhsigmodrcu", max_size=40))
def test_random_formulas_through_main(text: str) -> None:
    assert main([text, "x=0.5", "y=2"]) in (0, 2)
