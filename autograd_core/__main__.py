"""`python -m autograd_core doctor`: what this machine has for the library (see `doctor`)."""

from __future__ import annotations

import sys

from .doctor import report

USAGE = "usage: python -m autograd_core doctor   (what this machine has for the library)"


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments != ["doctor"]:
        print(USAGE, file=sys.stderr)
        return 0 if arguments in (["-h"], ["--help"]) else 2
    return report()


if __name__ == "__main__":
    sys.exit(main())
