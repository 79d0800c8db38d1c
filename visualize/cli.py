"""`python -m visualize "(x+y)*z" x=-2 y=5 z=-4 -o graph.svg --steps steps.html`

Evaluates an expression of the engine's operations at the values given, prints the output and the
gradient with respect to each variable, and renders the annotated graph (format from the file
suffix: svg, png, pdf or dot) and, with --steps, the backward step-through as an HTML page.
A bad expression or argument gets one line on stderr and exit status 2, and no file is written.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from .expression import FUNCTIONS, ExpressionError, evaluate
from .graph import draw_graph
from .trace import trace_backward

FORMATS = ("svg", "png", "pdf", "dot")


class UsageError(Exception):
    """A bad argument: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m visualize",
        description="Draw the computation graph of an expression, with values and gradients.",
        epilog=f"functions: {', '.join(sorted(FUNCTIONS))}; operators: + - * / **",
    )
    parser.add_argument("expression", help='e.g. "(x+y)*z" or "tanh(w*x + b)"')
    parser.add_argument("values", nargs="*", metavar="NAME=VALUE", help="e.g. x=-2 y=5")
    parser.add_argument("-o", "--output", type=Path, help="graph file: .svg, .png, .pdf or .dot")
    parser.add_argument("--steps", type=Path, help="write the backward step-through (.html)")
    return parser


def _variables(assignments: Sequence[str]) -> dict[str, float]:
    variables: dict[str, float] = {}
    for item in assignments:
        name, equals, text = item.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise UsageError(f"expected NAME=VALUE, got {item!r}")
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


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    variables = _variables(args.values)
    graph_format = _format(args.output) if args.output else None
    if args.steps and args.steps.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--steps writes an HTML page: give a .html file, not {args.steps}")
    out, leaves = evaluate(args.expression, variables)
    if not out.label:
        out.label = "f"
    trace = trace_backward(out)
    # Everything is rendered in memory first, so that a failure writes no file at all.
    files: list[tuple[Path, bytes]] = []
    if args.output and graph_format:
        graph = draw_graph(out, local_grads=True)
        content = (
            graph.source.encode() if graph_format == "dot" else graph.pipe(format=graph_format)
        )
        files.append((args.output, content))
    if args.steps:
        files.append((args.steps, trace.html().encode()))
    for path, content in files:
        path.write_bytes(content)
    print(f"{out.label} = {out.data:.6g}")
    for name, leaf in leaves.items():
        print(f"d{out.label}/d{name} = {leaf.grad:.6g}")
    for path, _ in files:
        print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point: one line and status 2 for any bad input, never a traceback."""
    try:
        return run(argv)
    except (UsageError, ExpressionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
