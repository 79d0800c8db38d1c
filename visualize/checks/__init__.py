"""Checks drawn on the graph, one module per tool, for the step after the first backward pass:
each a function that returns a small object with a text (its `str`) and a `draw()` that gives
`draw_graph`'s picture with the finding marked. Every name in a text is the name the picture
shows (`Picture.names`).

- `local_grads`: `check_local_grads(root)`, each node's local gradients against central
  differences of its own op;
- `anomaly`: `find_non_finite`, `find_anomaly`, `draw_anomaly`, the first non-finite number;
- `accumulation`: `accumulation_view(root)`, what two backward passes and `zero_grad` do.
"""

from .accumulation import AccumulationView, accumulation_view
from .anomaly import Anomaly, draw_anomaly, find_anomaly, find_non_finite
from .local_grads import LocalGrad, LocalGradReport, NodeCheck, check_local_grads

__all__ = [
    "AccumulationView",
    "Anomaly",
    "LocalGrad",
    "LocalGradReport",
    "NodeCheck",
    "accumulation_view",
    "check_local_grads",
    "draw_anomaly",
    "find_anomaly",
    "find_non_finite",
]
