"""visualize: pictures of computation graphs and of the backward pass, plots, and a CLI."""

from .graph import draw_graph
from .trace import BackwardTrace, Step, trace_backward

__all__ = ["BackwardTrace", "Step", "draw_graph", "trace_backward"]
