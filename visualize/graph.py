"""Graphviz pictures of a computation graph: `draw_graph(root)`, every value with its name, data
and gradient (`nodes`), or, for a graph too large to read (more than `max_nodes` values), drawn
collapsed: every module (a neuron, a layer) as one box with a summary of its values and
gradients (`collapse`). What any picture names and marks is in `picture`.
"""

from __future__ import annotations

from typing import Any

import graphviz

from autograd_core import Node

from .collapse import draw_collapsed
from .nodes import draw_nodes
from .picture import Parameters, Picture, Style


def draw_graph(
    root: Node,
    *,
    parameters: Parameters = None,
    show_grad: bool = True,
    constant_grads: bool = False,
    rankdir: str = "LR",
    max_nodes: int = 300,
    collapse: bool | None = None,
    precision: int = 4,
    local_grads: bool = False,
    legend: bool = True,
    backward: bool = False,
    style: Style | None = None,
    picture: Picture | None = None,
) -> graphviz.Digraph:
    """A `graphviz.Digraph` of everything `root` depends on (a Value or a Tensor).

    `parameters` (a Module, a mapping name -> parameter, or a list) are drawn as parameters under
    their names. `local_grads=True` labels each input edge of a scalar op with its local gradient.
    `backward=True` points the arrows the way gradients flow. `constant_grads=True` shows the
    gradients of constants too. A graph of more than `max_nodes` values is drawn collapsed by
    module (`collapse=True` forces it, `collapse=False` draws every node anyway).
    In Jupyter the result shows as SVG; `.render()` or `.pipe(format=...)` writes it.
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    picture = picture or Picture(root, parameters)
    if collapse or (collapse is None and len(picture) > max_nodes):
        return draw_collapsed(
            picture, parameters, rankdir=rankdir, precision=precision, legend=legend
        )
    return draw_nodes(
        picture,
        range(len(picture)),
        show_grad=show_grad,
        constant_grads=constant_grads,
        rankdir=rankdir,
        precision=precision,
        local_grads=local_grads,
        legend=legend,
        backward=backward,
        style=style,
    )


def draw_marked(
    picture: Picture, parameters: Parameters, style: Style, options: dict[str, Any]
) -> graphviz.Digraph:
    """`draw_graph` with a finding's marks (the checks'); every node drawn unless `options` say
    otherwise (a collapsed picture has no per-node colours)."""
    options.setdefault("collapse", False)
    return draw_graph(picture.root, parameters=parameters, picture=picture, style=style, **options)
