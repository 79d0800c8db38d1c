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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from autograd_core.graph import GRAPH_WALK
from nn.files import write_atomically

from .fit import Drawing
from .nodes import draw_nodes, gate_colour, html_label, new_digraph
from .picture import FILL, Parameters, Picture, label_of, named_parameters, short_name, summary

MAX_BOXES = 24  # a collapsed picture with more boxes than this goes up a module level


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
        full = names.get(id(node)) or (label_of(node) if picture.kinds[i] == "parameter" else "")
        if full:
            module[i] = module_of(full)
    for i, node in enumerate(picture.order):
        if not node.parents:
            continue
        parents = picture.parent_indices(i)
        owners = {module[p] for p in parents if picture.kinds[p] == "parameter" and module[p]}
        if len(owners) == 1:
            module[i] = owners.pop()
        elif len(parents) == 1 and not owners:
            module[i] = module[parents[0]]
    return module


def _levels(module: str) -> int:
    """How deep a module path is: `layers.0.neurons.3` is 2 levels (layer, neuron)."""
    return sum(1 for part in module.split(".") if part and not part.isdigit())


def _chains(picture: Picture, free: list[bool]) -> list[int]:
    """For the nodes outside modules, the head of the chain each belongs to: a node joins its
    input's chain when that input has the same op and no other use (`x + x + ... + x` is one
    chain of `+`)."""
    head = list(range(len(picture)))
    for i, node in enumerate(picture.order):
        if not free[i] or not node.parents:
            continue
        for p in picture.parent_indices(i):
            if free[p] and picture.uses[p] == 1 and picture.order[p].op == node.op:
                head[i] = head[p]
                break
    return head


def boxes(
    picture: Picture,
    parameters: Parameters,
    depth: int | None,
    members: list[int] | None = None,
    max_boxes: int = MAX_BOXES,
) -> list[Box]:
    """The boxes of the collapsed picture (of `members` only, if given), each with its members
    (topological indices): modules cut to `depth` levels; outside modules, leaves by kind, and
    ops by chain and by how far they are from the leaves (so samples of a batch line up).

    When that leaves more than `max_boxes` boxes (a long chain of alternating ops, with no
    module to group it), the ops outside modules are grouped by bands of depth instead."""
    module = modules(picture, parameters)
    chosen = range(len(picture)) if members is None else members
    level = [0] * len(picture)  # longest path from a leaf
    for i, node in enumerate(picture.order):
        if node.parents:
            level[i] = 1 + max(level[p] for p in picture.parent_indices(i))
    free = [not module[i] for i in range(len(picture))]
    head = _chains(picture, free)
    owners = [_at_depth(module[i], depth) for i in range(len(picture))]

    def free_op(i: int) -> bool:
        return not owners[i] and bool(picture.order[i].parents) and picture.kinds[i] != "output"

    def group(band_width: int | None, deepest: int = 0) -> list[Box]:
        by_key: dict[str, Box] = {}
        for i in chosen:
            node, kind = picture.order[i], picture.kinds[i]
            if kind == "output":
                key, title = "output", picture.names[i]
            elif owners[i]:
                key, title = f"module {owners[i]}", short_name(owners[i])
            elif not node.parents:
                key, title = f"leaves {kind}", f"{kind}s"
            elif band_width is None:
                key, title = f"op {node.op} {level[head[i]]}", node.op
            else:
                band = (level[i] - 1) // band_width
                low, high = band * band_width + 1, min((band + 1) * band_width, deepest)
                key, title = f"ops {band}", f"ops at depth {low}-{high}"
            by_key.setdefault(key, Box(key, title)).members.append(i)
        return list(by_key.values())

    found = group(None)
    if len(found) > max_boxes:
        deepest = max((level[i] for i in chosen if free_op(i)), default=0)
        others = sum(1 for box in found if not box.key.startswith("op "))
        if deepest:
            bands = max(max_boxes - others, 1)
            found = group(-(-deepest // bands), deepest)  # ceil: at most `bands` bands
    for box in found:  # a few leaves are named, as in the full picture
        if box.key.startswith("leaves") and len(box.members) <= 3:
            box.title = ", ".join(picture.names[i] for i in box.members)
    return found


def choose_depth(
    picture: Picture,
    parameters: Parameters,
    max_boxes: int = MAX_BOXES,
    members: list[int] | None = None,
) -> int | None:
    """The deepest module level whose picture has at most `max_boxes` boxes (None: no modules)."""
    chosen = range(len(picture)) if members is None else members
    module = modules(picture, parameters)
    deepest = max((_levels(module[i]) for i in chosen if module[i]), default=0)
    for depth in range(deepest, 0, -1):
        if len(boxes(picture, parameters, depth, members)) <= max_boxes:
            return depth
    return 1 if deepest else None


def _box_label(
    picture: Picture, box: Box, inside: set[int], module_type: str, precision: int
) -> str:
    order, kinds = picture.order, picture.kinds
    counts = Counter(order[i].op if order[i].parents else kinds[i] for i in box.members)
    contents = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(counts.items()))
    # what leaves the box: members with a user outside it (or, for the output, itself)
    users = picture.users()
    leaving = [i for i in box.members if any(u not in inside for u in users[i])]
    leaving = leaving or [box.members[-1]]
    values = [np.ravel(picture.order[i].data) for i in leaving]
    grads = [np.ravel(picture.order[i].grad) for i in leaving if picture.order[i].grad is not None]
    cells = [f"{box.title}{' · ' + module_type if module_type else ''}", contents]
    cells.append("out " + summary(np.concatenate(values), precision))
    if grads:
        cells.append("grad " + summary(np.concatenate(grads), precision))
    params = [i for i in box.members if picture.kinds[i] == "parameter"]
    if params:
        grads_of = [
            np.ravel(picture.order[i].grad) for i in params if picture.order[i].grad is not None
        ]
        text = f"{len(params)} parameters"
        if grads_of:
            text += ", grad " + summary(np.concatenate(grads_of), precision)
        cells.append(text)
    return html_label(cells, stacked=True)


def _module_type(parameters: Parameters, path: str) -> str:
    """The class name of the submodule at `path` of a Module (or '')."""
    obj = parameters
    for part in path.split(".") if path else []:
        obj = (
            obj[int(part)]
            if part.isdigit() and isinstance(obj, (list, tuple))
            else getattr(obj, part, None)
        )
        if obj is None:
            return ""
    return (
        type(obj).__name__
        if path and callable(getattr(parameters, "named_parameters", None))
        else ""
    )


def draw_collapsed(
    picture: Picture,
    parameters: Parameters = None,
    depth: int | None = None,
    *,
    members: list[int] | None = None,
    rankdir: str = "LR",
    precision: int = 4,
    legend: bool = True,
    ids: str = "b",
) -> Drawing:
    """The collapsed picture of the graph (of `members` only, if given): one box per module cut
    to `depth` levels (chosen to keep the boxes few, by default), per kind of leaf, and per chain
    of ops outside modules. Box ids are `{ids}0`, `{ids}1`, ... in the order of `boxes`."""
    with GRAPH_WALK:  # values and gradients as one pass left them (see draw_graph)
        if depth is None:
            depth = choose_depth(picture, parameters, members=members)
        all_boxes = boxes(picture, parameters, depth, members)
        box_of = {i: b for b, box in enumerate(all_boxes) for i in box.members}
        dot = new_digraph(rankdir, backward=False)
        for b, box in enumerate(all_boxes):
            kind = picture.kinds[box.members[0]]
            module_path = box.key.removeprefix("module ") if box.key.startswith("module ") else ""
            module_type = _module_type(parameters, module_path)
            label = _box_label(picture, box, set(box.members), module_type, precision)
            fill = FILL["parameter"] if module_path else FILL.get(kind, FILL["value"])
            box_id = f"{ids}{b}"
            dot.node(
                box_id, label, shape="plaintext", style="filled", fillcolor=fill, id=box_id,
                **{"class": "box"},
            )  # fmt: skip
        edges: Counter[tuple[int, int]] = Counter()
        for i, b in box_of.items():
            for p in picture.parent_indices(i):
                if p in box_of and box_of[p] != b:
                    edges[(box_of[p], b)] += 1
        for (a, b), count in sorted(edges.items()):
            head = picture.order[all_boxes[b].members[-1]]
            attrs = {"id": f"e_{ids}{a}_{ids}{b}", "color": gate_colour(head)}
            if count > 1:
                attrs["label"] = f"x{count}"
            dot.edge(f"{ids}{a}", f"{ids}{b}", **attrs)
        if legend:
            grouping = (
                "a module's box holds its nodes"
                if any(box.key.startswith("module ") for box in all_boxes)
                else "a box holds a chain of one op, or the ops at a range of depths"
            )
            note = (
                f"{len(box_of)} values drawn as {len(all_boxes)} boxes: {grouping}; out and grad "
                "summarise the values that leave it"
            )
            # the graph's label, under the picture, as `nodes.add_legend` puts the full legend
            dot.graph_attr.update(
                label=html_label([note], bold_first=False),
                labelloc="b",
                labeljust="l",
                fontsize="9",
            )
        return dot


def collapsed_page(
    root: Any,
    path: str | os.PathLike[str],
    parameters: Parameters = None,
    title: str = "Computation graph",
    max_nodes: int = 40,
) -> Path:
    """An HTML page with the collapsed picture. Clicking a module's box opens it below: its
    submodules as boxes, or, at the deepest level, its nodes drawn in full (the first
    `max_nodes` of them); every opened picture's boxes open in turn."""
    sections: list[str] = []

    def section(ids: str, members: list[int] | None, depth: int | None, heading: str) -> str:
        """The picture of `members` at `depth` as a section; its boxes' own sections are added
        to `sections` (ids nest: b3 opens to b3_0, b3_1, ...)."""
        all_boxes = boxes(picture, parameters, depth, members)
        graph = draw_collapsed(
            picture, parameters, depth, members=members, ids=f"{ids}_" if ids else "b"
        )
        prefix = f"{ids}_" if ids else "b"
        for b, box in enumerate(all_boxes):
            box_id = f"{prefix}{b}"
            inner = box.members
            deeper = None if depth is None else depth + 1
            if (
                box.key.startswith("module ")
                and deeper is not None
                and len(boxes(picture, parameters, deeper, inner)) > 1
            ):
                sections.append(section(box_id, inner, deeper, box.title))
            else:
                shown = first_ops(picture, inner, max_nodes)
                more = len(inner) - len(shown)
                note = (
                    f" (the first ops of it: {len(shown)} of {len(inner)} values)" if more else ""
                )
                body = _svg(draw_nodes(picture, shown, legend=False))
                sections.append(
                    f'<section class="detail" id="detail-{box_id}" hidden>'
                    f"<h2>{html.escape(box.title)}{html.escape(note)}</h2>{body}</section>"
                )
        hidden = " hidden" if ids else ""
        return (
            f'<section class="detail" id="detail-{ids or "top"}"{hidden}><h2>'
            f"{html.escape(heading)}</h2>{_svg(graph)}</section>"
        )

    with GRAPH_WALK:  # every picture of the page from one state of the graph (see draw_graph)
        picture = Picture(root, parameters)
        top = section("", None, choose_depth(picture, parameters), "The whole graph")
    page = _PAGE.format(title=html.escape(title), overview=top, details="\n".join(sections))
    data = page.encode("utf-8")
    write_atomically(path, lambda file: file.write(data), "collapsed_page")
    return Path(path)


def first_ops(picture: Picture, members: list[int], max_nodes: int) -> list[int]:
    """The first ops of `members` (for a batch, the first samples) with the members they read,
    as many as fit in `max_nodes` values (leaves alone if the members have no ops)."""
    inside = set(members)
    chosen: list[int] = []
    taken: set[int] = set()
    for i in members:
        if not picture.order[i].parents:
            continue
        new = [i, *(p for p in picture.parent_indices(i) if p not in taken)]  # stubs count too
        if chosen and len(taken) + len(set(new) - taken) > max_nodes:
            break
        taken.update(new)
        chosen.append(i)
    shown = sorted(t for t in taken if t in inside)  # outside inputs are drawn as stubs
    return shown or members[:max_nodes]


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
<p>Click a box to open it below; the boxes there open in turn.</p>
{overview}
{details}
<script>
document.querySelectorAll("g.box").forEach((box) => {{
  box.addEventListener("click", () => {{
    // keep open the sections on the way to this box (b3 is on the way to b3_1), close the rest
    document.querySelectorAll(".detail").forEach((d) => {{
      const id = d.id.replace("detail-", "");
      d.hidden = !(id === "top" || box.id === id || box.id.startsWith(id + "_"));
    }});
    const detail = document.getElementById("detail-" + box.id);
    if (detail) {{ detail.hidden = false; detail.scrollIntoView(); }}
  }});
}});
</script>
</body></html>
"""
