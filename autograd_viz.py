"""The `autograd-viz` command's entry point; `visualize.cli.main` does the work.

A module of its own, outside the packages, so that Ctrl-C while the libraries are still being
imported (NumPy and Graphviz take a few tenths of a second) ends the command as Ctrl-C does
later: one line, `error: interrupted`, and exit status 130, never a traceback. The packages'
imports run inside the `try` below; importing `visualize` itself would run them before any
handler of ours could.
"""

from __future__ import annotations

import sys

try:
    from visualize.cli import main
except KeyboardInterrupt:
    print("error: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

__all__ = ["main"]
