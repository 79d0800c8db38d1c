"""The `autograd-viz` command's entry point; `visualize.cli.main` does the work.

A module of its own, outside the packages, so that Ctrl-C while the libraries are still being
imported (NumPy and Graphviz take a few tenths of a second) ends the command as Ctrl-C does
later: one line, `error: interrupted`, and exit status 130, never a traceback. The packages'
imports run inside the `try` below; importing `visualize` itself would run them before any
handler of ours could. An extension module interrupted half-way may report an ImportError
instead of the KeyboardInterrupt (NumPy's C code does), so the signal is noted as it arrives.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

_signals: list[int] = []


def _note_and_interrupt(signum: int, frame: FrameType | None) -> None:
    _signals.append(signum)
    raise KeyboardInterrupt


_previous = signal.signal(signal.SIGINT, _note_and_interrupt)
try:
    from visualize.cli import main
except (KeyboardInterrupt, ImportError) as error:
    if isinstance(error, ImportError) and not _signals:
        raise  # a real missing package: its own message says what to install
    print("error: interrupted", file=sys.stderr)
    raise SystemExit(130) from None
finally:
    signal.signal(signal.SIGINT, _previous)  # Python's own handler from here on

__all__ = ["main"]
