import sys

from .cli import main

# `python -m visualize --help` says how it was called; the console script says `autograd-viz`
sys.exit(main(prog="python -m visualize"))
