"""The backward pass, step by step: what each node passes back to each of its inputs, and why.

`trace_backward(root)` runs the engine's own backward pass (`autograd_core.backpropagate`, the
walk every `backward()` uses) and records what the walk hands its `on_node` hook after each node
has passed its gradient on: what each input received, computed once, by the walk. The first
step is the seed alone (the output's gradient with respect to itself, 1); then one step per node
that has inputs, in the order the pass visits them (inputs have nothing to pass on, so they get
no step of their own). A step says, per input, the local
gradient symbolically and as a number (`df/dq = z = -4`, from the op table) and the
contribution (`df/dx += df/dq * dq/dx = -4 * 1`), and where a value is used more than once, the
running total (`df/dx: 1 -> 4 -> 7`).

Only what changes is recorded, so a trace takes time and memory linear in the graph. It renders
as pictures (`frame(k)`), as one self-contained HTML page (`to_html`) that embeds the picture once
and restyles it per step, and as a notebook widget (`widget()`); in a notebook the trace itself
shows as that page.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import graphviz
import numpy as np

from autograd_core import Node, backpropagate

from .graph import draw_graph
from .picture import Parameters, Picture, Style, format_value, holds_array

CURRENT = "#ffd700"  # the node whose step it is
RECEIVING = "#c7e9c0"  # the inputs it passes its gradient to
FLOW = "#d62728"  # the edges the gradient flows back along
HIGHLIGHTS = (
    (CURRENT, "the node passing its gradient back in this step"),
    (RECEIVING, "its inputs, whose gradients grow in this step"),
    (FLOW, "red edges: the gradient flowing back, labelled with what each input receives"),
)
SMALL = 16  # arrays of at most this many elements are shown whole in the panel


class Contribution(NamedTuple):
    """What one input received in a step: local gradient x upstream, and its total after."""

    position: int  # which input of the node (a node may use the same value twice: x * x)
    parent: int  # the input's topological index
    local_grad: Any  # a number on the scalar path; None for a Tensor (it has a vjp, no number)
    contribution: Any  # a number, or an array (its summary when large: see `_kept`)
    total: Any  # the input's gradient so far, this contribution included (kept the same way)


class Step(NamedTuple):
    """One step of the backward pass: the seed (number 0), or one node passing its gradient."""

    number: int
    node: int  # topological index
    upstream: Any
    contributions: tuple[Contribution, ...]


def _kept(array: Any) -> Any:
    """A number as it is; an array whole (a copy) if small, else only its summary (so a trace's
    memory is linear in the number of nodes, not in the size of their arrays)."""
    if isinstance(array, np.ndarray):
        return format_value(array) if array.size > SMALL else array.copy()
    return array


def _cell(value: Any) -> str:
    """A gradient as a picture's box shows it (arrays as summaries, as `draw_graph` does)."""
    return value if isinstance(value, str) else format_value(value)


def _shown(value: Any) -> str:
    """A number, or a small array in full on one line, or a large one's kept summary."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and 1 < value.size <= SMALL:
        text = np.array2string(value, precision=4, separator=" ", max_line_width=10_000)
        return " ".join(text.split())  # one line: a matrix's rows side by side
    return format_value(value)


class BackwardTrace:
    """The recorded backward pass of a graph (scalar or array)."""

    def __init__(self, picture: Picture, steps: list[Step]) -> None:
        self.picture = picture
        self.root = picture.root
        self.steps = steps
        self.root_name = picture.names[-1]

    def __len__(self) -> int:
        return len(self.steps)

    # ---- the panel: each step in words ---------------------------------------------------------

    def texts(self) -> list[str]:
        """The panel text of every step, in one pass over the trace."""
        return list(self._texts())

    def text(self, number: int) -> str:
        """The panel text of one step."""
        if not 0 <= number < len(self.steps):
            raise IndexError(f"step {number} of a trace with {len(self.steps)} steps")
        for k, text in enumerate(self._texts()):
            if k == number:
                return text
        raise AssertionError("unreachable")

    def _texts(self) -> Iterator[str]:
        picture, r = self.picture, self.root_name
        history: dict[int, list[Any]] = {}  # node -> its running totals so far, this pass
        for step in self.steps:
            i = step.node
            header = f"Step {step.number + 1} of {len(self.steps)}: "
            if step.number == 0:
                history[i] = [step.upstream]
                yield (
                    f"{header}start at the output {r}\n"
                    f"d{r}/d{r} = {_shown(step.upstream)}: the output's gradient with respect to "
                    "itself, the seed of the backward pass"
                )
                continue
            node = picture.order[i]
            function = node.function
            inputs = [picture.names[p] for p in picture.parent_indices(i)]
            if function is not None:
                formula = function.formula_text(inputs, node.op)
            else:
                formula = f"{node.op}({', '.join(inputs)})"
            lines = [f"{header}{picture.names[i]} = {formula}"]
            if function is not None:
                lines.append(f"  ({function.meaning})")
            lines.append(self._upstream_line(step, history.get(i, [])))
            lines += self._local_lines(step, function, inputs)
            lines += self._contribution_lines(step, history)
            yield "\n".join(lines)

    def _upstream_line(self, step: Step, totals: list[Any]) -> str:
        """What reached this node: the sum of what its uses sent."""
        r, name = self.root_name, self.picture.names[step.node]
        value = _shown(step.upstream)
        if len(totals) > 1:
            chain = " -> ".join(_shown(t) for t in totals)
            return f"d{r}/d{name} = {value}: all {len(totals)} uses have reported ({chain})"
        return f"d{r}/d{name} = {value}"

    def _local_lines(self, step: Step, function: Any, inputs: list[str]) -> list[str]:
        """Per input: the local gradient in symbols and as a number (a node that stores its local
        gradients, a Value), or how its gradient is computed from the upstream one (an array
        node's vector-Jacobian product)."""
        picture, i = self.picture, step.node
        node, name = picture.order[i], picture.names[i]
        local_grads = getattr(node, "local_grads", None)
        if local_grads is not None:
            symbols = function.local_grad_texts(inputs, name, node.op) if function else []
            lines = []
            for k, local in enumerate(local_grads):
                if picture.kinds[picture.parent_indices(i)[k]] == "constant":
                    continue  # a constant keeps no gradient, so its local gradient is not needed
                number = format_value(local)
                symbol = symbols[k] if k < len(symbols) else number
                shown = number if symbol == number else f"{symbol} = {number}"
                lines.append(f"  local gradient d{name}/d{inputs[k]} = {shown}")
            return lines
        texts = function.vjp_text_list(inputs, name, self.root_name, node.op) if function else []
        return [
            f"  {texts[c.position]}   (shape {picture.order[c.parent].shape})"
            for c in step.contributions
            if c.position < len(texts)
        ]

    def _contribution_lines(self, step: Step, history: dict[int, list[Any]]) -> list[str]:
        """Per input: what it receives, and its running total where it has several uses."""
        picture, r = self.picture, self.root_name
        name = picture.names[step.node]
        upstream = _shown(step.upstream)
        lines = []
        for c in step.contributions:
            totals = history.setdefault(c.parent, [])
            totals.append(c.total)
            if picture.kinds[c.parent] == "constant":
                continue  # a constant keeps no gradient: nothing learns from it
            parent = picture.names[c.parent]
            received = _shown(c.contribution)
            if c.local_grad is None:
                line = f"  d{r}/d{parent} += {received}"
            elif step.node == len(picture) - 1:  # the root: the seed times the local gradient
                line = f"  d{r}/d{parent} += {upstream} * {format_value(c.local_grad)} = {received}"
            else:
                line = (
                    f"  d{r}/d{parent} += d{r}/d{name} * d{name}/d{parent} = "
                    f"{upstream} * {format_value(c.local_grad)} = {received}"
                )
            uses = picture.uses[c.parent]
            if uses > 1:
                chain = " -> ".join(_shown(t) for t in totals)
                line += f"   (d{r}/d{parent}: {chain}; {len(totals)} of {uses} uses)"
            lines.append(line)
        return lines

    # ---- the state after a step, and its picture -----------------------------------------------

    def grads_after(self, number: int) -> dict[int, Any]:
        """node -> its gradient as known after step `number` (nodes not reached are missing)."""
        known: dict[int, Any] = {}
        for step in self.steps[: number + 1]:
            if step.number == 0:
                known[step.node] = step.upstream
            for c in step.contributions:
                known[c.parent] = c.total
        return known

    def frame(self, number: int, **draw_options: Any) -> graphviz.Digraph:
        """The picture after step `number`: the current node and its inputs highlighted, the
        edges the gradient flows back along in red with what each input received, and only the
        gradients known so far filled in (options as for `draw_graph`)."""
        step = self.steps[number]
        shown = self._shown_contributions(step)
        fills = {c.parent: RECEIVING for c in shown}
        fills[step.node] = CURRENT
        edges = {(c.parent, step.node): (FLOW, self._edge_label(c)) for c in shown}
        style = Style(grads=self.grads_after(number), fills=fills, edges=edges, legend=HIGHLIGHTS)
        options = {"backward": True, **draw_options}
        return draw_graph(self.root, picture=self.picture, style=style, **options)

    def _shown_contributions(self, step: Step) -> list[Contribution]:
        """What a picture marks of a step: every contribution but those to constants, which keep
        no gradient."""
        return [c for c in step.contributions if self.picture.kinds[c.parent] != "constant"]

    def _edge_label(self, c: Contribution) -> str:
        """What an edge says its input received: the number, or an array's shape."""
        if isinstance(c.contribution, (float, int)):
            return f"+= {format_value(c.contribution)}"
        return f"+= grad {self.picture.order[c.parent].shape}"

    def frames(self, **draw_options: Any) -> list[graphviz.Digraph]:
        """One picture per step (for a few steps; the page draws the graph only once)."""
        return [self.frame(i, **draw_options) for i in range(len(self.steps))]

    # ---- the page ----------------------------------------------------------------------------

    def html(
        self, title: str | None = None, render: Callable[[graphviz.Digraph], str] | None = None
    ) -> str:
        """One self-contained HTML page: the picture once (with the final gradients, which sets
        the size of every box), and per step what changes, applied by a few lines of script.

        `render(graph)` lays the picture out as SVG text (by default Graphviz's `pipe`; the CLI
        passes one that stops `dot` after its time limit)."""
        arrays = holds_array(self.root)
        graph = draw_graph(
            self.root,
            picture=self.picture,
            backward=True,
            collapse=False,
            rankdir="TB" if arrays else "LR",  # arrays have tall boxes: stack them
            style=Style(legend=HIGHLIGHTS),
        )
        svg = render(graph) if render else graph.pipe(format="svg", quiet=True).decode()
        svg = svg[svg.find("<svg") :]
        steps = [
            {
                "node": f"v{step.node}",
                "seed": step.number == 0,
                "grads": [[f"v{c.parent}", self._edge_label(c)] for c in shown],
                "edges": [f"e{step.node}_{c.position}" for c in shown],
                "through": f"e{step.node}",  # the edge from the node's op to the node
            }
            for step in self.steps
            for shown in [self._shown_contributions(step)]
        ]
        data = {
            "steps": steps,
            "texts": self.texts(),
            "totals": self._changed_grads(),
            "root": f"v{len(self.picture) - 1}",
        }
        return _PAGE.format(
            title=html.escape(title or f"Backward pass of {self.root_name}"),
            svg=svg,
            data=_script_json(data),
            last=len(self.steps) - 1,
            current=CURRENT,
            receiving=RECEIVING,
            flow=FLOW,
        )

    def _changed_grads(self) -> list[list[list[str]]]:
        """Per step, [node id, new gradient text] for each node whose gradient it changed."""
        out = []
        for step in self.steps:
            changed = [[f"v{c.parent}", _cell(c.total)] for c in self._shown_contributions(step)]
            if step.number == 0:
                changed.append([f"v{step.node}", _cell(step.upstream)])
            out.append(changed)
        return out

    def to_html(self, path: str | os.PathLike[str], title: str | None = None) -> Path:
        """Write the page (`html`) to `path`."""
        path = Path(path)
        path.write_text(self.html(title), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        """In a notebook the trace shows as its page."""
        return self.widget()._repr_html_()

    def widget(self) -> StepThroughPage:
        """The step-through for a notebook: the page, in a frame sized to its picture. It runs in
        the page itself (buttons, slider, arrow keys), so it works live and in a static export of
        the notebook alike (an HTML export keeps it, where a widget's state would show nothing).
        `ipywidget()` is the same driven from Python."""
        return StepThroughPage(self.html())

    def ipywidget(self) -> Any:
        """An ipywidgets view: previous / next buttons, a slider, the panel and the picture of the
        current step (drawn by Graphviz when first shown). It needs a running kernel; a static
        export shows the page instead."""
        widgets = _ipywidgets()

        cache: dict[int, str] = {}

        def svg(number: int) -> str:
            if number not in cache:
                drawn = self.frame(number).pipe(format="svg").decode()
                cache[number] = drawn[drawn.find("<svg") :]
            return cache[number]

        slider = widgets.IntSlider(value=0, min=0, max=len(self.steps) - 1, description="step")
        previous = widgets.Button(description="previous")
        following = widgets.Button(description="next")
        panel = widgets.HTML(_panel_html(self.text(0)))
        picture = widgets.HTML(svg(0))

        def show(change: dict[str, Any]) -> None:
            picture.value = svg(change["new"])
            panel.value = _panel_html(self.text(change["new"]))

        slider.observe(show, names="value")
        previous.on_click(lambda _: setattr(slider, "value", max(slider.value - 1, 0)))
        following.on_click(lambda _: setattr(slider, "value", min(slider.value + 1, slider.max)))
        page = self.html()
        return StepThroughWidget(
            [widgets.HBox([previous, slider, following]), panel, picture], page
        )


def trace_backward(root: Node, parameters: Parameters = None) -> BackwardTrace:
    """Run `root.backward()` and record it: the seed, then one step per node with inputs, in the
    order the pass visits them. Works for a Value or a single-element Tensor. `parameters`
    (a Module, or a mapping name -> parameter) name the parameters in the panel and pictures.

    The walk computes each share once and hands them to the recorder, which keeps them and sums
    them per input as the walk does (so the running totals are the walk's own numbers, also for
    an input used twice by one node, `x * x`); the gradients the pass leaves behind are exactly
    those of a plain `backward()`.
    """
    seed = root.seed_gradient(who="trace_backward")  # refused as backward() refuses it
    picture = Picture(root, parameters)
    index = picture.index
    steps = [Step(0, len(picture) - 1, seed, ())]
    empty = type(root).EMPTY_GRAD
    running: dict[int, Any] = {}  # this pass's gradient of each input reached so far

    def record(node: Any, upstream: Any, shares: tuple[Any, ...]) -> None:
        local_grads = getattr(node, "local_grads", None)  # numbers a node stores (a Value's)
        contributions = []
        for k, (parent, share) in enumerate(zip(node.parents, shares)):
            if share is None:  # an input that takes no gradient (a constant Tensor)
                continue
            p = index[id(parent)]
            earlier = running.get(p, empty)
            running[p] = total = share if earlier is None else earlier + share
            local = None if local_grads is None else local_grads[k]
            contributions.append(Contribution(k, p, local, _kept(share), _kept(total)))
        steps.append(Step(len(steps), index[id(node)], _kept(upstream), tuple(contributions)))

    backpropagate(root, seed, record)
    return BackwardTrace(picture, steps)


class StepThroughPage:
    """The step-through page, shown in a notebook as a frame sized to its picture."""

    def __init__(self, page: str) -> None:
        self.page = page

    def _repr_html_(self) -> str:
        return _iframe(self.page)


def _ipywidgets() -> Any:
    """The ipywidgets module, or an ImportError naming the extra that installs it."""
    try:
        import ipywidgets
    except ImportError as missing:  # ipywidgets is the [notebooks] extra
        raise ImportError(
            "the step-through widget needs ipywidgets: pip install 'autograd-core[notebooks]'"
        ) from missing
    return ipywidgets


class StepThroughWidget:
    """The ipywidgets view, plus the page as the HTML a static notebook export shows instead."""

    def __init__(self, children: list[Any], page: str) -> None:
        widgets = _ipywidgets()

        self.box = widgets.VBox(children)
        self.children = self.box.children
        self.page = page

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.box._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = _iframe(self.page)
        return bundle


def _iframe(page: str) -> str:
    """The page in a frame as tall as its picture and controls (up to most of a screen)."""
    match = re.search(r'<svg width="[0-9.]+pt" height="([0-9.]+)pt"', page)
    picture = float(match.group(1)) * 4 / 3 if match else 400.0  # points to CSS pixels
    height = int(min(picture + 330, 900))  # + title, controls, panel
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width: 100%; '
        f'height: {height}px; border: 1px solid #ddd" title="backward pass, step by step">'
        "</iframe>"
    )


def _panel_html(text: str) -> str:
    return f"<pre style='font-size: 13px; white-space: pre-wrap'>{html.escape(text)}</pre>"


def _script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` appears literally, so no
    label can close the element (`</script>`) or open a comment (`<!--`)."""
    text = json.dumps(data, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.2em; }}
  #controls {{ display: flex; gap: 0.5em; align-items: center; margin-bottom: 0.6em; }}
  #slider {{ width: 24em; }}
  #panel {{ background: #f6f6f6; padding: 0.6em 0.9em; font-size: 14px; white-space: pre-wrap;
            min-height: 7em; }}
  #graph {{ overflow: auto; max-height: 80vh; border: 1px solid #eee; }}
  #graph.fit svg {{ max-width: 100%; height: auto; }}
  g.value.unknown text.grad {{ fill: #bbbbbb; }}
  g.value.current > polygon:first-of-type {{ fill: {current}; }}
  g.value.receiving > polygon:first-of-type {{ fill: {receiving}; }}
  g.edge.flow path {{ stroke: {flow}; stroke-width: 3; stroke-dasharray: 8 4;
                     animation: flow 0.8s linear infinite; }}
  g.edge.flow polygon {{ fill: {flow}; stroke: {flow}; }}
  text.flow-label {{ fill: {flow}; font-size: 11px; font-weight: bold; }}
  @keyframes flow {{ to {{ stroke-dashoffset: -24; }} }}
</style>
</head>
<body>
<h1>{title}</h1>
<div id="controls">
  <button id="prev" type="button">&larr; previous</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
  <button id="next" type="button">next &rarr;</button>
  <span id="counter"></span>
  <label><input id="fit" type="checkbox"> fit the picture to the window</label>
</div>
<pre id="panel"></pre>
<div id="graph">{svg}</div>
<script>
const data = {data};
const slider = document.getElementById("slider");
const graph = document.getElementById("graph");
const gradTexts = {{}};
document.querySelectorAll("g.value").forEach((g) => {{
  g.querySelectorAll("text").forEach((t) => {{
    if (t.textContent.startsWith("grad")) {{ t.classList.add("grad"); gradTexts[g.id] = t; }}
  }});
}});
let current = 0;
function show(step) {{
  current = Math.max(0, Math.min(data.steps.length - 1, step));
  const known = {{}};
  for (let k = 0; k <= current; k++) {{
    for (const [id, text] of data.totals[k]) known[id] = text;
  }}
  for (const [id, t] of Object.entries(gradTexts)) {{
    t.textContent = "grad " + (id in known ? known[id] : "?");
    t.parentNode.classList.toggle("unknown", !(id in known));
  }}
  document.querySelectorAll("g.value").forEach((g) => {{
    g.classList.remove("current", "receiving");
  }});
  document.querySelectorAll("g.edge.flow").forEach((g) => g.classList.remove("flow"));
  document.querySelectorAll("text.flow-label").forEach((t) => t.remove());
  const s = data.steps[current];
  const node = document.getElementById(s.node);
  if (node) node.classList.add("current");
  const focus = document.getElementById(s.node + "op") || node;  // where the gradient splits
  if (focus) {{  // scroll only when the step happens out of sight
    const box = focus.getBoundingClientRect(), view = graph.getBoundingClientRect();
    if (box.left < view.left || box.right > view.right || box.top < view.top ||
        box.bottom > view.bottom) {{
      focus.scrollIntoView({{block: "center", inline: "center"}});
    }}
  }}
  const through = document.getElementById(s.through);
  if (through && !s.seed) through.classList.add("flow");
  s.grads.forEach(([id, text], k) => {{
    const input = document.getElementById(id);
    if (input) input.classList.add("receiving");
    const edge = document.getElementById(s.edges[k]);
    if (!edge) return;
    edge.classList.add("flow");
    const path = edge.querySelector("path");
    if (path && path.getTotalLength) {{
      const middle = path.getPointAtLength(path.getTotalLength() / 2);
      const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
      label.setAttribute("x", middle.x);
      label.setAttribute("y", middle.y - 4);
      label.setAttribute("class", "flow-label");
      label.textContent = text;
      edge.appendChild(label);
    }}
  }});
  slider.value = current;
  document.getElementById("panel").textContent = data.texts[current];
  document.getElementById("counter").textContent = (current + 1) + " / " + data.steps.length;
}}
document.getElementById("prev").addEventListener("click", () => show(current - 1));
document.getElementById("next").addEventListener("click", () => show(current + 1));
slider.addEventListener("input", () => show(Number(slider.value)));
const fit = document.getElementById("fit");
fit.addEventListener("change", () => graph.classList.toggle("fit", fit.checked));
const picture = graph.querySelector("svg");
if (picture && picture.getBoundingClientRect().width <= 1.4 * graph.clientWidth) {{
  fit.checked = true;  // a little too wide: shrink it rather than scroll
  graph.classList.add("fit");
}}
document.addEventListener("keydown", (event) => {{
  if (event.key === "ArrowLeft") {{ show(current - 1); event.preventDefault(); }}
  if (event.key === "ArrowRight") {{ show(current + 1); event.preventDefault(); }}
}});
show(0);
</script>
</body>
</html>
"""
