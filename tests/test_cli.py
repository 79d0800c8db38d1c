"""The CLI: good expressions write files and print gradients; bad ones get one line and exit 2;
large ones are drawn collapsed or refused in one line, within the time limit."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10, which the project supports: the same parser, from PyPI
    import tomli as tomllib
from hypothesis import given
from hypothesis import strategies as st

from visualize import cli
from visualize.cli import MAX_LAYOUT_COST, layout_cost, main
from visualize.expression import ExpressionError, evaluate
from visualize.graph import draw_graph
from visualize.trace import trace_backward

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, cwd: Path, code: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter (`code`: a program to run instead of `-m visualize`)."""
    command = ["-c", code] if code else ["-m", "visualize"]
    return subprocess.run(
        [sys.executable, *command, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=60,  # generous: the CLI keeps to 10 s; this only stops a hung test
        check=False,
    )


def page_data(page: str) -> dict:
    """The data the step-through page's module restyles its one picture with."""
    match = re.search(r'<script type="application/json" id="app-data">(.*?)</script>', page, re.S)
    assert match, "the page embeds its steps as JSON"
    return json.loads(match[1])


def test_chain_rule_from_the_command_line(tmp_path: Path) -> None:
    result = run_cli(
        "(x+y)*z", "x=-2", "y=5", "z=-4", "-o", "graph.svg", "--steps", "steps.html", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:4] == ["f = -12", "df/dx = -4", "df/dy = -4", "df/dz = 3"]
    svg = (tmp_path / "graph.svg").read_text()
    assert "<svg" in svg and "data &#45;12" in svg
    page = (tmp_path / "steps.html").read_text()
    data = page_data(page)
    assert data["svg"].count("<svg") == 1  # one picture, restyled per step by the page's module
    # the seed, then one step per node with inputs: q = x + y and f = q * z
    assert len(data["steps"]) == 3
    out, _ = evaluate("(x+y)*z", {"x": -2.0, "y": 5.0, "z": -4.0})
    assert len(trace_backward(out).texts()) == 3


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
    ("().__class__", "attribute access (a.b) is not supported"),
    ("x.y", "attribute access (a.b) is not supported"),
    ("lambda: 1", "lambda is not supported"),
    ("1/0", "reciprocal of zero"),
    ("w + 1", "unknown name 'w'"),
    ("", "empty"),
    ("(" * 10_000 + "1" + ")" * 10_000, "longer than"),
    ("(" * 4_000 + "x" + ")" * 4_000, "not a valid expression"),
    ("+".join(["x"] * 3_000), "nested too deeply"),
    ("x[0]", "indexing (a[i]) is not supported"),
    ("open('f', 'w')", "only these functions"),
    ("exp(x, x)", "exp takes 1 plain argument"),
    ("max(*[x, x])", "max takes 2 plain arguments"),
    ("'abc'", "only numbers"),
    ("True + x", "only numbers"),
    ("log(-x)", "log domain error"),
    ("x if x else 1", "conditional expressions are not supported"),
    ("[i for i in range(9)]", "comprehensions are not supported"),
    ("x == 1", "comparisons are not supported"),
    ("x % 2", "% is not supported; there is no remainder op, so write x - n * y"),
    ("-x % 2", "% is not supported"),
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
        (["-x+1", "x=1", "-o"], "-o/--output: expected one argument"),
        (
            ["-x+1", "x=1", "--out", "g.svg"],
            "got '--out' (the options are -o/--output FILE, --steps FILE and -h)",
        ),
        (["-x+1", "-2"], "expected NAME=VALUE, got '-2'"),
    ],
)
def test_bad_arguments_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and message in err[0]


def test_help_returns_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "drawn collapsed" in capsys.readouterr().out
    assert main(["--", "-x+1", "x=1"]) == 0  # the user's own `--` still works
    assert capsys.readouterr().out.splitlines()[0] == "f = 0"


# ---- an expression may start with a minus sign, wherever it stands -------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-x", "x=3"], ["f = -3", "df/dx = -1"]),
        (["-x*y", "x=3", "y=2"], ["f = -6", "df/dx = -2", "df/dy = -3"]),
        (["-(x+1)", "x=3"], ["f = -4", "df/dx = -1"]),
        (["-2*x", "x=3"], ["f = -6", "df/dx = -2"]),
        (["-1"], ["f = -1"]),
        (["-x", "x=-3"], ["f = 3", "df/dx = -1"]),
        (["-tanh(x)", "x=0"], ["f = -0", "df/dx = -1"]),
    ],
)
def test_an_expression_may_start_with_minus(
    tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == expected


@pytest.mark.parametrize(
    "options",
    [
        ["-o", "g.svg"],
        ["--output", "g.svg"],
        ["--output=g.svg"],
        ["-og.svg"],
    ],
)
def test_a_leading_minus_with_options_before_and_after(tmp_path: Path, options: list[str]) -> None:
    for args in ([*options, "-x*y", "x=3", "y=2"], ["-x*y", *options, "x=3", "y=2"]):
        (tmp_path / "g.svg").unlink(missing_ok=True)
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.splitlines() == ["f = -6", "df/dx = -2", "df/dy = -3", "wrote g.svg"]
        assert (tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")


def test_help_names_the_program_it_was_called_as(tmp_path: Path) -> None:
    module = run_cli("--help", cwd=tmp_path)
    assert module.returncode == 0
    assert module.stdout.startswith("usage: python -m visualize [-h]")
    assert "autograd-viz" not in module.stdout and "__main__" not in module.stdout
    script = Path(sys.executable).parent / "autograd-viz"
    installed = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert installed.returncode == 0
    assert installed.stdout.startswith("usage: autograd-viz [-h]")
    assert "python -m" not in installed.stdout
    # the help says a leading minus is fine, and the errors carry no program name at all
    assert "start with a minus sign" in " ".join(installed.stdout.split())
    bad = run_cli("x", "x=oops", cwd=tmp_path)
    assert bad.stderr == "error: the value of x is not a number: 'oops'\n"


# ---- refusals in plain words ---------------------------------------------------------------------

# Every class name of Python's syntax tree (IfExp, Mod, ListComp, ...): none may reach a user.
SYNTAX_TREE_NAMES = {
    name
    for name in dir(ast)
    if isinstance(getattr(ast, name), type) and issubclass(getattr(ast, name), ast.AST)
}

REFUSED = [
    "x if x else 1",
    "x % 2",
    "x // 2",
    "x @ x",
    "x ^ 2",
    "x & 1",
    "x | 1",
    "x << 1",
    "x >> 1",
    "~x",
    "not x",
    "x and 1",
    "x or 1",
    "x < 1",
    "1 < x < 2",
    "x.real",
    "x[0]",
    "x[0:1]",
    "lambda: x",
    "[x for x in (1, 2)]",
    "{x for x in (1, 2)}",
    "{x: x for x in (1, 2)}",
    "(x for x in (1, 2))",
    "[x, x]",
    "(x, x)",
    "{x, x}",
    "{x: x}",
    "(y := 2)",
    "f'{x}'",
    "'text'",
    "b'bytes'",
    "1j * x",
    "None",
    "...",
    "True",
    "exp(*[x])",
    "exp(x=x)",
    "print(x)",
    "x.__class__()",
    "(x := 1) + 1",
    "await x",
    "yield x",
    "1if x else 2",  # Python warns "invalid decimal literal" here: not a second line
    "0x1for",
    '"\\d"',
]


@pytest.mark.parametrize("expression", REFUSED)
def test_refusals_are_plain_words(expression: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([expression, "x=1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    words = set(re.findall(r"[A-Za-z_]+", lines[0]))
    assert not words & SYNTAX_TREE_NAMES, lines[0]
    assert "Traceback" not in captured.err


def test_python_syntax_warnings_are_not_a_second_line(tmp_path: Path) -> None:
    """`1if x else 2` parses with a SyntaxWarning that Python prints to stderr itself."""
    result = run_cli("1if x else 2", "x=1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "error: conditional expressions are not supported; use max(a, b) or relu(x)\n"
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("x if x else 1", "conditional expressions are not supported; use max(a, b) or relu(x)"),
        (
            "x % 2",
            "% is not supported; there is no remainder op, so write x - n * y with n a number",
        ),
        ("x // 2", "// is not supported; use / (values are real numbers)"),
        ("x ^ 2", "^ is not supported; use ** for powers"),
        ("~x", "~ is not supported; use - to negate"),
        ("x < 1", "comparisons are not supported; use max(a, b) or relu(x)"),
        ("[x, x]", "lists are not supported; an expression has one value"),
        ("...", "only numbers are allowed as constants, not ..."),
        ("1j * x", "only real numbers are allowed, not 1j"),
    ],
)
def test_a_refusal_says_what_to_write_instead(
    expression: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([expression, "x=1"]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


# ---- files: a missing folder, a folder given as the file, a write that fails ---------------------


@pytest.mark.parametrize("option", ["-o", "--steps"])
def test_a_missing_folder_is_one_line_and_nothing_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    """Not created (as `dot -o`, `cp` or a shell redirection do not): a typo in a folder name
    says so instead of making a new tree. Refused before the graph is evaluated or drawn."""

    evaluated = []
    monkeypatch.setattr(cli, "evaluate", lambda *args: evaluated.append(args))
    target = tmp_path / "missing" / ("graph.svg" if option == "-o" else "steps.html")
    result = run_cli("-x", "x=3", option, str(target), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {option} {target}: the folder {target.parent} does not exist; create it first\n"
    )
    assert list(tmp_path.iterdir()) == []
    assert main(["-x", "x=3", option, str(target)]) == 2  # in process: evaluate is never called
    assert evaluated == []


def test_a_folder_given_as_the_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "g.svg").mkdir()
    assert main(["-x", "x=3", "-o", str(tmp_path / "g.svg")]) == 2
    assert capsys.readouterr().err == (
        f"error: -o {tmp_path / 'g.svg'}: that is a folder; give a file name\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]


def test_a_file_that_cannot_be_written_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = tmp_path / "graph.svg"
    steps = tmp_path / "steps.html"
    replace = os.replace

    def replace_but_not_the_page(source: Path, target: Path) -> None:
        if Path(target).name == "steps.html":
            raise PermissionError(13, "Permission denied", str(source))
        replace(source, target)

    monkeypatch.setattr(os, "replace", replace_but_not_the_page)  # the writer renames with it
    assert main(["x*y", "x=2", "y=3", "-o", str(graph), "--steps", str(steps)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: cannot write {steps}: permission denied\n"
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []  # the graph, written first, is taken back


@given(
    st.lists(
        st.sampled_from(["-x", "x", "-x*y", "x=1", "y=-2", "-o", "--steps", "--", "-2", "=", "-"])
        | st.text(alphabet="-xy=12o+*()", max_size=6),
        max_size=6,
    )
)
def test_any_arguments_give_a_result_or_one_line(args: list[str]) -> None:
    """No file suffix can appear, so nothing is written; every outcome is 0 or one line and 2."""
    with (
        contextlib.redirect_stderr(io.StringIO()) as err,
        contextlib.redirect_stdout(io.StringIO()),
    ):
        status = main(args)
    assert status in (0, 2)
    if status == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, lines)
        assert "internal error" not in lines[0], (args, lines)  # a refusal, not a crash
    else:
        assert err.getvalue() == ""


INTERRUPTED_IMPORT = """
import os, signal, sys, time

class Interrupt:  # Ctrl-C arriving while graphviz is being imported
    def find_spec(self, name, path=None, target=None):
        if name != "graphviz":
            return None
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the signal's handler interrupts this
        except KeyboardInterrupt:
            if sys.argv[1] == "swallowed":  # as NumPy's C code reports an interrupted import
                raise ImportError("PyCapsule_Import could not import module 'datetime'")
            raise

sys.meta_path.insert(0, Interrupt())
from autograd_viz import main  # what the console script runs first
sys.exit(main())
"""


@pytest.mark.parametrize("interrupt", ["raised", "swallowed"])
def test_ctrl_c_during_the_imports_is_one_line_not_a_traceback(interrupt: str) -> None:
    """Ctrl-C in the console script's first few tenths of a second lands in the imports of
    NumPy and Graphviz (a real SIGINT then printed a traceback of `visualize/__init__`, or
    NumPy's ImportError); the entry point `autograd_viz` catches it. (Earlier still, while the
    interpreter itself starts or looks the module up, a signal is CPython's own to report.)"""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["autograd-viz"] == "autograd_viz:main"
    run = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_IMPORT, interrupt],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert (run.returncode, run.stderr, run.stdout) == (130, b"error: interrupted\n", b"")


def test_a_missing_package_is_still_said_as_itself() -> None:
    code = INTERRUPTED_IMPORT.replace(
        "os.kill(os.getpid(), signal.SIGINT)", "raise ImportError('no graphviz here')"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "raised"], capture_output=True, timeout=60, check=False
    )
    assert run.returncode == 1 and b"ImportError: no graphviz here" in run.stderr


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


# ---- large and deep expressions: a picture or one line, always in time ---------------------------


def balanced_sum(terms: list[str]) -> str:
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return f"({balanced_sum(terms[:half])}+{balanced_sum(terms[half:])})"


NINE_KB = balanced_sum(["x"] * 2250)  # 8,997 characters, 2,250 values
assert 8_900 < len(NINE_KB) < 10_000

# (expression, with --steps, the exit status, what stdout or stderr says)
LARGE = {
    "601 terms": ("+".join(["x"] * 601), False, 0, "collapsed: 601 values"),
    "601 terms, steps": ("+".join(["x"] * 601), True, 2, "601 steps (limit 300)"),
    "60-term fan-in": ("+".join(["x"] * 60), False, 0, "collapsed: 60 values"),
    "60-term fan-in, steps": ("+".join(["x"] * 60), True, 2, "layout cost"),
    "60 nested max": ("max(x, " * 60 + "x" + ")" * 60, False, 0, "collapsed"),
    "x*y 100 times": ("+".join(["x*y"] * 100), False, 0, "collapsed"),
    "990-term chain": ("+".join(["x"] * 990), False, 0, "collapsed: 990 values"),
    "200 nested parentheses": ("(" * 200 + "x" + ")" * 200, True, 0, "wrote"),
    "199 nested tanh": ("tanh(" * 199 + "x" + ")" * 199, True, 0, "wrote"),
    "199 nested (x+1)": ("(" * 199 + "x" + "+1)" * 199, True, 0, "wrote"),
    "500 nested tanh": ("tanh(" * 500 + "x" + ")" * 500, False, 2, "too many nested"),
    "1000 nested parentheses": ("(" * 1000 + "x" + ")" * 1000, True, 2, "too many nested"),
    "3000 unary minus": ("0+" + "-" * 3000 + "x", False, 2, "nested too deeply"),
    "9 KB": (NINE_KB, False, 0, "collapsed: 2250 values"),
    "9 KB, steps": (NINE_KB, True, 2, "2250 steps (limit 300)"),
}


@pytest.mark.parametrize("case", list(LARGE))
def test_large_and_deep_expressions(tmp_path: Path, case: str) -> None:
    """Each gets a picture (collapsed when too large to draw in full, which `dot` would take
    minutes over) or one line and exit status 2, quickly; never a traceback."""
    expression, steps, status, message = LARGE[case]
    args = [expression, "x=0.5", "y=2", "-o", "graph.svg"] + (["--steps", "s.html"] * steps)
    start = time.monotonic()
    result = run_cli(*args, cwd=tmp_path)
    print(f"{case}: exit {result.returncode} in {time.monotonic() - start:.2f} s")
    assert "Traceback" not in result.stderr
    assert result.returncode == status, result.stderr
    if status == 0:
        assert (tmp_path / "graph.svg").stat().st_size > 0
        assert "<svg" in (tmp_path / "graph.svg").read_text()
        assert message in result.stdout
        if steps:
            assert page_data((tmp_path / "s.html").read_text())["steps"]
    else:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
        assert list(tmp_path.iterdir()) == []  # a failure writes no file


def test_no_trace_without_steps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the trace is built only for --steps")

    monkeypatch.setattr(cli, "trace_backward", refuse)
    path = tmp_path / "graph.svg"
    assert main(["(x+y)*z", "x=-2", "y=5", "z=-4", "-o", str(path)]) == 0
    assert path.read_bytes().startswith(b"<?xml")
    assert main(["(x+y)*z", "x=-2", "y=5", "z=-4"]) == 0


def test_gradients_are_the_same_with_and_without_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["x*y + tanh(x)", "x=0.5", "y=-2"]
    assert main(args) == 0
    plain = capsys.readouterr().out
    assert main([*args, "--steps", str(tmp_path / "s.html")]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == plain.splitlines()


def test_layout_cost_tells_slow_pictures_from_quick_ones() -> None:
    """The measured classification (see cli.py): fan-in far apart is slow, nesting is not."""

    def cost(text: str, **options: bool) -> int:
        out, _ = evaluate(text, {"x": 0.5, "y": 2.0})
        out.backward()
        return layout_cost(draw_graph(out, max_cost=None, **{"local_grads": True, **options}))

    quick = ["tanh(" * 199 + "x" + ")" * 199, "(" * 199 + "x" + "+1)" * 199, "+".join(["x"] * 30)]
    slow = ["+".join(["x"] * 50), "max(x, " * 50 + "x" + ")" * 50, "+".join(["x*y"] * 50)]
    assert all(cost(text, collapse=False) <= MAX_LAYOUT_COST for text in quick)
    assert all(cost(text, collapse=False) > MAX_LAYOUT_COST for text in slow)
    assert cost("+".join(["x"] * 601), collapse=True) < 100
    # edge labels (local gradients) double the ranks dot lays out
    assert cost("+".join(["x"] * 30), collapse=False) > 1.8 * cost(
        "+".join(["x"] * 30), collapse=False, local_grads=False
    )


# With the layout limit out of the way, `dot` runs long; the time limit must stop it.
UNLIMITED = (
    "import sys, visualize.cli as c, visualize.graph as g\n"
    "c.MAX_LAYOUT_COST = g.MAX_LAYOUT_COST = 10**9\n"
    "c.TIME_LIMIT = 1.0\n"
    "sys.exit(c.main(sys.argv[1:]))\n"
)


@pytest.mark.parametrize(
    ("expression", "args"),
    [
        ("max(x, " * 70 + "x" + ")" * 70, ["-o", "graph.svg"]),  # dot run by the CLI
        # the page's dot, run by the trace (whose layout, chosen for the column, lays out the
        # chain of max quickly: a value used 70 times far apart is what takes dot minutes)
        ("+".join(["x"] * 70), ["-o", "graph.dot", "--steps", "s.html"]),
    ],
)
def test_a_dot_run_past_the_time_limit_is_stopped(
    tmp_path: Path, expression: str, args: list[str]
) -> None:
    start = time.monotonic()
    result = run_cli(expression, "x=1", *args, cwd=tmp_path, code=UNLIMITED)
    elapsed = time.monotonic() - start
    print(f"stopped after {elapsed:.2f} s")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: dot took longer than"), lines
    assert list(tmp_path.iterdir()) == []
    assert elapsed < 30  # unstopped, this dot runs for minutes


@pytest.mark.parametrize("args", [["-o", "graph.svg"], ["--steps", "s.html"]])
def test_missing_graphviz_is_one_line(tmp_path: Path, args: list[str]) -> None:
    result = run_cli("x*y", "x=2", "y=3", *args, cwd=tmp_path, env={"PATH": str(tmp_path)})
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "dot program was not found" in lines[0], lines
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (RecursionError(), "nested too deeply"),
        (MemoryError(), "out of memory"),
        (KeyError("surprise\nsecond line"), "internal error, please report it: KeyError"),
    ],
)
def test_any_exception_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    message: str,
) -> None:
    def fail(*args: object) -> None:
        raise error

    monkeypatch.setattr(cli, "evaluate", fail)
    assert main(["x", "x=1"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


# ---- the examples in the README and on the docs' CLI page are what the CLI prints ----------------


def shell_examples(text: str) -> list[tuple[list[str], list[str]]]:
    """Each `    $ <command>` line of an indented block, with the lines it shows below it."""
    examples: list[tuple[list[str], list[str]]] = []
    ended = True
    for line in text.splitlines():
        if line.startswith(("    $ python -m visualize ", "    $ autograd-viz ")):
            command = shlex.split(line[len("    $ ") :])
            args = command[3:] if command[0] == "python" else command[1:]
            examples.append((args, []))
            ended = False
            continue
        elif examples and not ended and line.startswith("    "):
            examples[-1][1].append(line[4:])
            continue
        ended = True  # a blank line or text ends what the last command shows
    return examples


DOCUMENTED = [
    (path.name, args, shown)
    for path in (ROOT / "README.md", ROOT / "docs" / "cli.md")
    if path.exists()
    for args, shown in shell_examples(path.read_text())
]


@pytest.mark.parametrize(
    ("document", "args", "shown"), DOCUMENTED, ids=[" ".join(d[1])[:50] for d in DOCUMENTED]
)
def test_the_documented_examples_print_what_they_show(
    tmp_path: Path, document: str, args: list[str], shown: list[str]
) -> None:
    result = run_cli(*args, cwd=tmp_path)
    printed = (result.stdout + result.stderr).splitlines()
    assert printed[: len(shown)] == shown, document
    assert len(printed) == len(shown)
    assert result.returncode == (2 if shown[0].startswith("error: ") else 0)


def test_the_documents_have_examples() -> None:
    assert {d[0] for d in DOCUMENTED} == {"README.md", "cli.md"}
    assert sum(1 for d in DOCUMENTED if d[2][0].startswith("error: ")) >= 4


# ---- what once came out as an internal error or Python's advice (issue 25) ----------------------


def test_an_ascii_terminal_and_a_unicode_file_name(tmp_path: Path) -> None:
    """The files were written, then printing their names failed with "internal error ...
    UnicodeEncodeError": a name the terminal cannot show is printed with escapes."""
    result = run_cli("x*2", "x=1", "-o", "ünï.svg", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "wrote \\xfcn\\xef.svg"
    assert "<svg" in (tmp_path / "ünï.svg").read_text()


@pytest.mark.parametrize(
    ("name", "said"),
    [("a\x00b.svg", "contains a NUL character"), ("a\ud800b.svg", "holds U+D800, which no file")],
)
def test_a_name_no_file_can_have_is_said_in_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, said: str
) -> None:
    assert main(["x*2", "x=1", "-o", str(tmp_path / name)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # refused before the expression is even evaluated
    assert err.startswith("error: -o: the file name") and said in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_undecodable_bytes_in_a_name_are_a_name_like_any_other(tmp_path: Path) -> None:
    """A name of bytes that are not UTF-8 reaches Python as surrogate escapes, and is written."""
    name = os.fsdecode(b"a\xffb.svg")
    assert main(["x*2", "x=1", "-o", str(tmp_path / name)]) == 0
    assert os.listdir(os.fsencode(tmp_path)) == [b"a\xffb.svg"]


def test_an_integer_of_thousands_of_digits_is_said_in_our_words() -> None:
    with pytest.raises(ExpressionError, match="more than 4300 digits; numbers here are 64-bit"):
        evaluate("1" * 5000 + "*x", {"x": 1.0})


def test_fullwidth_names_are_read_as_python_reads_them(capsys: pytest.CaptureFixture[str]) -> None:
    """Python reads `ｘ` in an expression as `x` (NFKC); the names given are read the same way,
    so `ｘ*2 ｘ=1` works as `ｘ*2 x=1` always did."""
    for assignment in ("ｘ=1", "x=1"):
        assert main(["ｘ*2", assignment]) == 0
        assert capsys.readouterr().out.splitlines()[:2] == ["f = 2", "df/dx = 2"]
