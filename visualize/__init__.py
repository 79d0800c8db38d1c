"""visualize: pictures of computation graphs and of the backward pass, plots, and a CLI."""

from .collapse import collapsed_page, draw_collapsed
from .graph import Picture, Style, draw_graph
from .trace import BackwardTrace, Step, trace_backward

__all__ = [
    "BackwardTrace",
    "Picture",
    "Step",
    "Style",
    "collapsed_page",
    "draw_collapsed",
    "draw_graph",
    "trace_backward",
]
