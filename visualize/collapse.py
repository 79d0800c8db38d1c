"""Graphs too large to read, drawn collapsed: one box per module, with summaries.

Which module a node belongs to comes from the parameters' dotted names (`layers.0.neurons.3.w.1`
belongs to `layers.0.neurons.3`): a node that reads parameters belongs to their module, and an
op with a single input belongs where that input does (an activation stays with its neuron).
What belongs to no module (inputs, the loss) is grouped by kind and by op, per depth, so a
batch of samples becomes one box per step of the loss rather than one per sample.

Each box says what it holds (`dot x100, relu x100`), the values and gradients of what leaves it,
and its parameters' gradients; edges between boxes say how many edges they stand for. The HTML
page of a collapsed graph (`collapsed_page`) opens any box into its own picture.
"""

from __future__ import annotations

import html
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from .graph import (
    FILL,
    Parameters,
    Picture,
    draw_nodes,
    gate_colour,
    html_label,
    named_parameters,
    new_digraph,
    short_name,
    summary,
)

MAX_BOXES = 60  # a collapsed picture with more boxes than this goes up a level


def module_of(name: str) -> str:
    """The module a parameter belongs to: its dotted name without the attribute and index
    (`layers.0.neurons.3.w.1` -> `layers.0.neurons.3`; a top-level `w` -> '')."""
    parts = name.split(".")
    if parts and parts[-1].isdigit():
        parts.pop()
    return ".".join(parts[:-1])


def _at_depth(module: str, depth: int | None) -> str:
    """A module path cut to `depth` levels, counting a container and its index as one level."""
    if depth is None or not module:
        return module
    parts = module.split(".")
    levels, kept = 0, []
    for part in parts:
        if not part.isdigit():
            levels += 1
            if levels > depth:
                break
        kept.append(part)
    return ".".join(kept)


@dataclass
class Box:
    """One box of a collapsed picture."""

    key: str
    title: str
    members: list[int] = field(default_factory=list)


def modules(picture: Picture, parameters: Parameters) -> list[str]:
    """Each node's module ('' for none), at the deepest level the names give."""
    names = named_parameters(parameters)
    module = [""] * len(picture)
    for i, node in enumerate(picture.order):
        full = names.get(id(node)) or (node.label if picture.kinds[i] == "parameter" else "")
        if full:
            module[i] = module_of(full)
    for i, node in enumerate(picture.order):
        if not node.parents:
            continue
        parents = picture.parent_indices(i)
        owners = {module[p] for p in parents if picture.kinds[p] == "parameter" and module[p]}
        if len(owners) == 1:
            module[i] = owners.pop()
        elif len(owners) > 1:
            module[i] = os.path.commonprefix(sorted(owners)).rstrip(".")
        elif len(parents) == 1:
            module[i] = module[parents[0]]
    return module


def boxes(picture: Picture, parameters: Parameters, depth: int | None) -> list[Box]:
    """The boxes of the collapsed picture, each with its members (topological indices)."""
    module = modules(picture, parameters)
    level = [0] * len(picture)  # longest path from a leaf: samples of a batch line up
    for i, node in enumerate(picture.order):
        if node.parents:
            level[i] = 1 + max(level[p] for p in picture.parent_indices(i))
    by_key: dict[str, Box] = {}
    for i, node in enumerate(picture.order):
        owner = _at_depth(module[i], depth)
        kind = picture.kinds[i]
        if kind == "output":
            key, title = "output", picture.names[i]
        elif owner:
            key, title = f"module {owner}", short_name(owner)
        elif not node.parents:
            key, title = f"leaves {kind}", f"{kind}s"
        else:
            key, title = f"op {node.op} {level[i]}", node.op
        box = by_key.setdefault(key, Box(key, title))
        box.members.append(i)
    return list(by_key.values())


def choose_depth(picture: Picture, parameters: Parameters, max_boxes: int = MAX_BOXES) -> int | None:
    """The deepest module level whose picture has at most `max_boxes` boxes (None: deepest)."""
    deepest = max((m.count(".") + 1 for m in modules(picture, parameters) if m), default=0)
    for depth in range(deepest, 0, -1):
        if len(boxes(picture, parameters, depth)) <= max_boxes:
            return depth
    return 1 if deepest else None


def _box_label(picture: Picture, box: Box, inside: set[int], module_type: str, precision: int) -> str:
    counts = Counter(picture.order[i].op or picture.kinds[i] for i in box.members)
    contents = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(counts.items()))
    # what leaves the box: members with a user outside it (or the output itself)
    used_outside = set()
    for i, node in enumerate(picture.order):
        if i not in inside:
            used_outside.update(p for p in picture.parent_indices(i) if p in inside)
    leaving = sorted(used_outside) or [box.members[-1]]
    values = [np.ravel(picture.order[i].data) for i in leaving]
    grads = [np.ravel(picture.order[i].grad) for i in leaving if picture.order[i].grad is not None]
    cells = [f"{box.title}{' · ' + module_type if module_type else ''}", contents]
    cells.append("out " + summary(np.concatenate(values), precision))
    if grads:
        cells.append("grad " + summary(np.concatenate(grads), precision))
    params = [i for i in box.members if picture.kinds[i] == "parameter"]
    if params:
        grads_of = [np.ravel(picture.order[i].grad) for i in params if picture.order[i].grad is not None]
        text = f"{len(params)} parameters"
        if grads_of:
            text += ", grad " + summary(np.concatenate(grads_of), precision)
        cells.append(text)
    return html_label(cells)


def _module_type(parameters: Parameters, path: str) -> str:
    """The class name of the submodule at `path` of a Module (or '')."""
    obj = parameters
    for part in path.split(".") if path else []:
        obj = obj[int(part)] if part.isdigit() and isinstance(obj, (list, tuple)) else getattr(
            obj, part, None
        )
        if obj is None:
            return ""
    return type(obj).__name__ if path and callable(getattr(parameters, "named_parameters", None)) else ""


def draw_collapsed(
    picture: Picture,
    parameters: Parameters = None,
    depth: int | None = None,
    *,
    rankdir: str = "LR",
    precision: int = 4,
    legend: bool = True,
) -> graphviz.Digraph:
    """The collapsed picture: one box per module (or per kind / op outside modules)."""
    if depth is None:
        depth = choose_depth(picture, parameters)
    all_boxes = boxes(picture, parameters, depth)
    box_of = {}
    for b, box in enumerate(all_boxes):
        for i in box.members:
            box_of[i] = b
    dot = new_digraph(rankdir, backward=False)
    for b, box in enumerate(all_boxes):
        first = box.members[0]
        kind = picture.kinds[first]
        module_path = box.key.removeprefix("module ") if box.key.startswith("module ") else ""
        label = _box_label(picture, box, set(box.members), _module_type(parameters, module_path), precision)
        fill = FILL["parameter"] if module_path else FILL.get(kind, FILL["value"])
        dot.node(
            f"b{b}", label, shape="plaintext", style="filled", fillcolor=fill, id=f"b{b}",
            **{"class": "box"},
        )
    edges: Counter[tuple[int, int]] = Counter()
    for i, node in enumerate(picture.order):
        for p in picture.parent_indices(i):
            if box_of[p] != box_of[i]:
                edges[(box_of[p], box_of[i])] += 1
    for (a, b), count in sorted(edges.items()):
        head_op = picture.order[all_boxes[b].members[0]].op
        attrs = {"id": f"e_b{a}_b{b}", "color": gate_colour(head_op)}
        if count > 1:
            attrs["label"] = f"x{count}"
        dot.edge(f"b{a}", f"b{b}", **attrs)
    if legend:
        note = (
            f"{len(picture)} values drawn as {len(all_boxes)} boxes: a module's box holds its "
            "nodes; out / grad summarise what leaves it"
        )
        dot.node("legend", html_label([note], bold_first=False), shape="plaintext", id="legend")
    return dot


def collapsed_page(
    root: Any,
    path: str | os.PathLike[str],
    parameters: Parameters = None,
    title: str = "Computation graph",
    max_nodes: int = 150,
) -> Path:
    """An HTML page with the collapsed picture; clicking a box opens its own picture below (a
    module's nodes drawn in full, or collapsed again if there are more than `max_nodes`)."""
    picture = Picture(root, parameters)
    depth = choose_depth(picture, parameters)
    all_boxes = boxes(picture, parameters, depth)
    overview = _svg(draw_collapsed(picture, parameters, depth))
    details = []
    for b, box in enumerate(all_boxes):
        shown = box.members[:max_nodes]
        more = len(box.members) - len(shown)
        note = f" (the first {len(shown)} of {len(box.members)} values)" if more else ""
        body = _svg(draw_nodes(picture, shown, legend=False))
        details.append(
            f'<section class="detail" id="detail-b{b}" hidden><h2>'
            f"{html.escape(box.title)}{note}</h2>{body}</section>"
        )
    page = _PAGE.format(title=html.escape(title), overview=overview, details="\n".join(details))
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def _svg(graph: graphviz.Digraph) -> str:
    svg = graph.pipe(format="svg").decode()
    return svg[svg.find("<svg") :]


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; }}
svg {{ max-width: 100%; height: auto; }}
g.box {{ cursor: pointer; }}
g.box:hover polygon {{ stroke: #d62728; stroke-width: 2; }}
</style></head><body>
<h1>{title}</h1>
<p>Click a box to open it.</p>
<div id="overview">{overview}</div>
{details}
<script>
document.querySelectorAll("g.box").forEach((box) => {{
  box.addEventListener("click", () => {{
    document.querySelectorAll(".detail").forEach((d) => {{ d.hidden = true; }});
    const detail = document.getElementById("detail-" + box.id);
    if (detail) {{ detail.hidden = false; detail.scrollIntoView(); }}
  }});
}});
</script>
</body></html>
"""
