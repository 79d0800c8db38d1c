"""`python -m visualize "(x+y)*z" x=-2 y=5 z=-4 -o graph.svg --steps steps.html`

Evaluates an expression of the engine's operations at the values given, prints the output and the
gradient with respect to each variable, and renders the annotated graph (format from the file
suffix: svg, png, pdf or dot) and, with --steps, the backward step-through as an HTML page.
A bad expression or argument gets one line on stderr and exit status 2, and no file is written.

Limits. Whatever the expression, the CLI answers within 10 s and never prints a traceback
(anything unforeseen is one line, `error: internal error, please report it: ...`, exit status 2):

- the expression: at most 10,000 characters (so at most about as many nodes, each taking at least
  one character), nested no deeper than Python's parser (200 parentheses) and recursion limit
  (about 990 operators in a row) allow; anything deeper is refused before it is evaluated;
- the picture: Graphviz's `dot` takes a time that grows very fast with the edges it must route
  past other nodes, as from a value used by many operations far apart (`x` in `x+x+...+x`: 50
  terms take 12 s, 60 more than a minute). Before calling `dot` the CLI estimates that work from
  the picture itself (`layout_cost`) and draws the first of these that is within
  `MAX_LAYOUT_COST`: every node with the local gradients on its edges; every node without them
  (edge labels double the ranks dot lays out); the graph collapsed (operations grouped by kind
  and depth, `visualize.collapse`). A graph of more than `MAX_FULL_VALUES` values is drawn
  collapsed first. The line `wrote ...` says which was drawn. If none is within the limit it
  refuses in one line, exit status 2, naming the graph's size and the limit (a .dot file is
  still written, collapsed: writing DOT text lays nothing out);
- the step-through page (--steps) has one step per operation and draws every node: it is refused
  in one line above `MAX_STEPS` steps or `MAX_LAYOUT_COST`, before the backward trace is built;
  without --steps no trace is built at all;
- time: every `dot` run (the graph's and the page's) must end within `TIME_LIMIT` seconds of the
  start; one that does not is stopped, and the CLI says so in one line, exit status 2.

A failure writes no file: everything is rendered in memory first, a missing folder is refused
before any work, and a file that cannot be written takes back the ones written before it (one
line, exit status 2, as every error).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import graphviz

from autograd_core.doctor import NO_DOT
from autograd_core.doctor import report as doctor_report
from nn.files import write_atomically

from .expression import FUNCTIONS, ExpressionError, evaluate
from .graph import MAX_LAYOUT_COST, draw_graph, layout_cost
from .picture import Picture
from .trace import trace_backward

FORMATS = ("svg", "png", "pdf", "dot")

# The layout-cost bound (`layout_cost`, `MAX_LAYOUT_COST`, and the measurements behind it) is
# `visualize.graph`'s: draw_graph, this CLI and the step-through page share it. The CLI passes
# `max_cost=None` to draw_graph and compares the cost with its own name for the bound, so that it
# can try the next picture (and write a .dot file of any picture) instead of stopping at the first.
MAX_FULL_VALUES = 300  # more values than this are drawn collapsed (as `draw_graph` does)
MAX_STEPS = 300  # the step-through page has one step per operation, all in one page
TIME_LIMIT = 8.0  # seconds from the start of `run` by which every dot run must end
# (with the interpreter's start-up, ~0.3 s, at most ~8.5 s in all)


class UsageError(Exception):
    """A bad argument: reported on one line, exit status 2."""


class TooLargeError(UsageError):
    """A graph beyond what the CLI draws within its time limit: one line, exit status 2."""


class DrawingError(Exception):
    """Graphviz failed, is missing, or ran out of time: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


PROG = "autograd-viz"  # the console script; `python -m visualize` passes its own name
WHO = "autograd-viz"  # how the file writer names the program in its messages
_VALUED = ("-o", "--output", "--steps")  # the options that take a value
_FLAGS = ("-h", "--help")


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        allow_abbrev=False,  # so "--out" is never taken for --output: see _positionals_last
        description="Draw the computation graph of an expression, with values and gradients.",
        epilog=(
            f"functions: {', '.join(sorted(FUNCTIONS))}; operators: + - * / **. "
            'An expression may start with a minus sign ("-x*y"). '
            f"Graphs of more than {MAX_FULL_VALUES} values, or too tangled to lay out quickly, "
            f"are drawn collapsed; --steps is limited to {MAX_STEPS} steps. "
            f"{prog} --doctor says what this machine has (Graphviz's dot, the extras)."
        ),
    )
    parser.add_argument("expression", help='e.g. "(x+y)*z", "tanh(w*x + b)" or "-x*y"')
    parser.add_argument("values", nargs="*", metavar="NAME=VALUE", help="e.g. x=-2 y=5")
    parser.add_argument("-o", "--output", type=Path, help="graph file: .svg, .png, .pdf or .dot")
    parser.add_argument("--steps", type=Path, help="write the backward step-through (.html)")
    return parser


def _positionals_last(argv: Sequence[str]) -> list[str]:
    """The arguments reordered as options first, then `--`, then the expression and the values.

    argparse takes any argument that starts with "-" for an option, so "-x*y" would be refused as
    an unknown option. Here only the CLI's own options are options (-h, --help, -o FILE, -oFILE,
    --output FILE, --output=FILE, --steps FILE, --steps=FILE); every other argument is the
    expression or a NAME=VALUE, wherever it stands. A NAME=VALUE never starts with "-".
    """
    options: list[str] = []
    positionals: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--":  # the user's own `--` still works: the rest is positional
            positionals.extend(items)
        elif item in _FLAGS:
            options.append(item)
        elif item in _VALUED:
            options.append(item)
            value = next(items, None)
            if value is not None:
                options.append(value)
        elif item.startswith(("--output=", "--steps=")):
            options.append(item)
        elif item.startswith("-o") and Path(item[2:]).suffix.lower().lstrip(".") in FORMATS:
            # the short option glued to its file (-ograph.svg); an expression such as "-ox"
            # cannot end in a file suffix, since `.svg` would be attribute access
            options.append(item)
        else:
            positionals.append(item)
    return [*options, "--", *positionals]


def _variables(assignments: Sequence[str]) -> dict[str, float]:
    variables: dict[str, float] = {}
    for item in assignments:
        name, equals, text = item.partition("=")
        # Python reads identifiers in the expression in their NFKC form (a fullwidth ｘ is x):
        # the names given are read the same way, so both sides agree
        name = unicodedata.normalize("NFKC", name.strip())
        if not equals or not name.isidentifier():
            # "--out" is no option here (only -h, -o/--output and --steps are): say which are
            hint = " (the options are -o/--output FILE, --steps FILE and -h)" * item.startswith("-")
            raise UsageError(f"expected NAME=VALUE, got {item!r}{hint}")
        if name in FUNCTIONS:
            raise UsageError(f"{name!r} is a function name; call the variable something else")
        if name in variables:
            raise UsageError(f"{name!r} is given twice")
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"the value of {name} is not a number: {text!r}") from None
        if not math.isfinite(value):
            raise UsageError(f"the value of {name} must be finite, got {text!r}")
        variables[name] = value
    return variables


def _format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UsageError(f"cannot tell the format of {path}: use a .svg, .png, .pdf or .dot file")
    return suffix


def choose_picture(out: Any, picture: Picture, graph_format: str) -> tuple[graphviz.Digraph, str]:
    """The picture to write, and a note saying how it is drawn ('' for every node with its local
    gradients): the first that is quick to lay out of every node with local gradients on the
    edges, every node without them (edge labels double dot's ranks), and the collapsed picture;
    for more than `MAX_FULL_VALUES` values the collapsed picture comes first. If none is quick to
    lay out, TooLargeError; but a .dot file, which runs no layout, gets the collapsed picture."""
    values = len(picture)
    full = [(False, True), (False, False)]  # (collapse, local_grads)
    tries = [*full, (True, True)] if values <= MAX_FULL_VALUES else [(True, True), full[1]]
    costs = []
    for collapse, local_grads in tries:
        graph = draw_graph(
            out, picture=picture, local_grads=local_grads, collapse=collapse, max_cost=None
        )
        cost = layout_cost(graph)
        costs.append(cost)
        if cost <= MAX_LAYOUT_COST:
            break
    else:
        if graph_format != "dot":
            raise TooLargeError(
                f"the graph is too large to draw: {values} values, layout cost "
                f"{min(costs)} at best (limit {MAX_LAYOUT_COST}); write a .dot file to get its text"
            )
        collapse = True
        graph = draw_graph(out, picture=picture, local_grads=True, collapse=True, max_cost=None)
    if not collapse:
        return graph, "" if local_grads else "without local gradients, to lay out in time"
    why = f"more than {MAX_FULL_VALUES}" if values > MAX_FULL_VALUES else "too tangled in full"
    return graph, f"collapsed: {values} values, {why}"


def check_steps(out: Any, picture: Picture) -> None:
    """Refuse a step-through page that would be too long or too slow to lay out (it draws every
    node, without edge labels) before the trace is built."""
    steps = 1 + sum(1 for node in picture.order if node.parents)
    if steps > MAX_STEPS:
        raise TooLargeError(
            f"--steps: the step-through would have {steps} steps (limit {MAX_STEPS}); "
            "leave out --steps to get the picture alone"
        )
    cost = layout_cost(
        draw_graph(out, picture=picture, collapse=False, backward=True, max_cost=None)
    )
    if cost > MAX_LAYOUT_COST:
        raise TooLargeError(
            f"--steps: the step-through draws all {len(picture)} values and its layout cost is "
            f"{cost} (limit {MAX_LAYOUT_COST}); leave out --steps to get the collapsed picture"
        )


# ---- running dot within the time limit -----------------------------------------------------------


def render(graph: graphviz.Digraph, graph_format: str, seconds: float) -> bytes:
    """`graph` laid out by dot in `graph_format`, or DrawingError if that takes over `seconds`."""
    if graph_format == "dot":
        return graph.source.encode(graph.encoding or "utf-8")
    if seconds <= 0:
        raise DrawingError(f"out of time before laying out the graph (limit {TIME_LIMIT:g} s)")
    try:
        done = subprocess.run(
            [graph.engine, f"-T{graph_format}"],
            input=graph.source.encode(graph.encoding or "utf-8"),
            capture_output=True,
            timeout=seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DrawingError(
            f"dot took longer than {TIME_LIMIT:g} s to lay out the graph and was stopped; "
            "write a .dot file to get its text"
        ) from None
    except FileNotFoundError:
        raise DrawingError(_NO_DOT) from None
    if done.returncode != 0:
        raise DrawingError(_dot_failed(done.returncode, done.stderr))
    return done.stdout


_NO_DOT = f"{NO_DOT}; or write a .dot file"


def _dot_failed(returncode: int, stderr: bytes | str | None) -> str:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr or ""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"dot failed (exit status {returncode})" + (f": {first}" if first else "")


def step_page(trace: Any, seconds: float) -> bytes:
    """The step-through page, its dot run held to `seconds` as the graph's is."""
    if seconds <= 0:
        raise DrawingError(f"out of time before drawing the step-through (limit {TIME_LIMIT:g} s)")
    page: str = trace.html(render=lambda graph: render(graph, "svg", seconds).decode())
    return page.encode()


# ---- the run -------------------------------------------------------------------------------------


def _check_writable(path: Path, option: str) -> None:
    """Refuse, before any work, a file whose folder is missing or that is a folder.

    A missing folder is not created: as with `dot -o`, `cp` or a shell redirection, a typo in
    the folder name should say so rather than quietly make a new tree of folders."""
    if "\x00" in str(path):  # (the OS would say only "embedded null byte")
        raise UsageError(f"{option}: the file name {str(path)!r} contains a NUL character")
    try:
        os.fsencode(path)  # a lone surrogate (not one of undecodable bytes) names no file
    except UnicodeEncodeError as error:
        bad = f"U+{ord(str(path)[error.start]):04X}"
        raise UsageError(
            f"{option}: the file name {str(path)!r} holds {bad}, which no file name can hold "
            f"(a lone surrogate)"
        ) from None
    if path.is_dir():
        raise UsageError(f"{option} {path}: that is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist; create it first")


def run(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    deadline = time.monotonic() + TIME_LIMIT
    arguments = sys.argv[1:] if argv is None else argv
    if list(arguments) == ["--doctor"]:  # what this machine has: python -m autograd_core doctor
        return doctor_report()
    args = _parser(prog).parse_args(_positionals_last(arguments))
    variables = _variables(args.values)
    graph_format = _format(args.output) if args.output else None
    if args.steps and args.steps.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--steps writes an HTML page: give a .html file, not {args.steps}")
    if args.output:
        _check_writable(args.output, "-o")
    if args.steps:
        _check_writable(args.steps, "--steps")
    out, leaves = evaluate(args.expression, variables)
    if not out.label:
        out.label = "f"
    picture = Picture(out) if args.output or args.steps else None
    if args.steps and picture is not None:
        check_steps(out, picture)  # before the trace, which is only built for the page
        trace = trace_backward(out)  # runs the backward pass, as out.backward() would
    else:
        out.backward()
    # Everything is rendered in memory first, so that a failure writes no file at all.
    files: list[tuple[Path, bytes, str]] = []
    if args.output and graph_format and picture is not None:
        graph, note = choose_picture(out, picture, graph_format)
        content = render(graph, graph_format, deadline - time.monotonic())
        files.append((args.output, content, note))
    if args.steps:
        files.append((args.steps, step_page(trace, deadline - time.monotonic()), ""))
    _write_all((path, content) for path, content, _ in files)
    _say(f"{out.label} = {out.data:.6g}")
    for name, leaf in leaves.items():
        _say(f"d{out.label}/d{name} = {leaf.grad:.6g}")
    for path, _, note in files:
        _say(f"wrote {path}" + (f" ({note})" if note else ""))
    return 0


def _write_all(files: Iterable[tuple[Path, bytes]]) -> None:
    """Write every file, or (on an error) none that did not exist before. Each goes through the
    project's one file writer (`nn.files.write_atomically`, as `Module.save`): a temporary of
    a random name opened exclusively next to it, then renamed over it, so no link planted at a
    name known in advance is followed; a symlink at the path itself is written through, a FIFO
    or a device refused."""
    created: list[Path] = []
    try:
        for path, content in files:
            existed = path.exists()
            try:
                write_atomically(path, partial(_write_bytes, content), WHO)
            except OSError as error:  # name the file the user gave, as the OS error does
                raise OSError(error.errno, error.strerror, str(path)) from None
            except ValueError as error:  # not a regular file: the writer's words, without WHO
                raise UsageError(str(error).removeprefix(f"{WHO}: ")) from None
            if not existed:
                created.append(path)
    except (OSError, UsageError):
        for path in created:
            path.unlink(missing_ok=True)
        raise


def _say(line: str, stream: Any = None) -> None:
    """Print a line that the terminal may not be able to show whole (a file name in Unicode on
    an ASCII terminal): what it cannot encode is written as escapes, never an error after the
    files are written."""
    stream = stream or sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    print(line.encode(encoding, "backslashreplace").decode(encoding, "replace"), file=stream)


def _write_bytes(content: bytes, file: BinaryIO) -> None:
    file.write(content)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _os_error(error: OSError) -> str:
    """An OSError in words, without its errno: `cannot write out.svg: permission denied`."""
    reason = (error.strerror or _one_line(error)).lower()
    return f"cannot write {error.filename}: {reason}" if error.filename else reason


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """The console entry point: one line on stderr and status 2 for any bad input or anything
    else that goes wrong, never a traceback. `prog` is the name `--help` shows."""
    try:
        return run(argv, prog)
    except SystemExit as done:  # --help, which argparse ends with sys.exit(0)
        return done.code if isinstance(done.code, int) else 0
    except (UsageError, ExpressionError, DrawingError) as error:
        message = _one_line(error)
    except RecursionError:
        message = "the expression is nested too deeply"
    except MemoryError:
        message = "out of memory: the expression is too large"
    except graphviz.ExecutableNotFound:
        message = _NO_DOT
    except OSError as error:
        message = _os_error(error)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: still one line, and how to report it
        message = f"internal error, please report it: {type(error).__name__}: {_one_line(error)}"
    _say(f"error: {message}", sys.stderr)
    return 2
