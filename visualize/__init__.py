"""visualize: pictures of computation graphs and of the backward pass, plots, and a CLI."""

from .checks import (
    accumulation_view,
    check_local_grads,
    draw_anomaly,
    find_anomaly,
    find_non_finite,
)
from .collapse import collapsed_page, draw_collapsed
from .graph import draw_graph
from .paths import Paths, draw_paths, paths_to
from .picture import Picture, Style
from .trace import BackwardTrace, Step, trace_backward
from .training_view import Live, live

__all__ = [
    "BackwardTrace",
    "Live",
    "Paths",
    "Picture",
    "Step",
    "Style",
    "accumulation_view",
    "check_local_grads",
    "collapsed_page",
    "draw_anomaly",
    "draw_collapsed",
    "draw_graph",
    "draw_paths",
    "find_anomaly",
    "find_non_finite",
    "live",
    "paths_to",
    "trace_backward",
]
