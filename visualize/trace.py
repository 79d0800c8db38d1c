"""A step-by-step record of the backward pass: one step per node, upstream x local at each input.

`trace_backward(root)` runs the engine's own backward pass (`autograd_core.backpropagate`) and
records, after each node has passed its gradient on, what arrived at each input. The trace
renders as pictures (`frames()`), as one self-contained HTML page (`to_html`) and as a notebook
widget (`widget()`).
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz

from autograd_core import Value, backpropagate, topological_order

from .graph import Frame, draw_graph, node_name


@dataclass(frozen=True)
class Contribution:
    """What one input received in a step: upstream x local. (Its running gradient after the
    step is in `Step.known`.)"""

    parent: int  # the input's topological index
    name: str
    local_grad: float
    contribution: float


@dataclass(frozen=True)
class Step:
    """One node's turn in the backward pass."""

    number: int
    node: int  # topological index
    name: str
    op: str
    upstream: float
    contributions: tuple[Contribution, ...]
    known: dict[int, float]  # node index -> running gradient after this step

    def equations(self, root_name: str) -> list[str]:
        """The step in words: the chain rule for each input, with numbers."""
        r, n = root_name, self.name
        if self.number == 0:
            lines = [f"d{r}/d{r} = 1 (the start of the backward pass)"]
        else:
            lines = [f"d{r}/d{n} = {_fmt(self.upstream)} (all of its uses have reported)"]
        if not self.contributions:
            lines.append(f"{n} is an input: nothing to pass on")
        for c in self.contributions:
            lines.append(
                f"d{r}/d{c.name} += d{r}/d{n} * d{n}/d{c.name} = {_fmt(self.upstream)} * "
                f"{_fmt(c.local_grad)} = {_fmt(c.contribution)}"
            )
        return lines


def _fmt(x: float) -> str:
    return f"{x:.4g}"


class BackwardTrace:
    """The recorded backward pass of a scalar graph."""

    def __init__(self, root: Value, steps: list[Step]) -> None:
        self.root = root
        self.steps = steps
        self.root_name = root.label or "L"

    def __len__(self) -> int:
        return len(self.steps)

    def text(self, number: int) -> str:
        """The panel text of one step."""
        step = self.steps[number]
        op = f" ({step.op})" if step.op else ""
        header = f"Step {number + 1} of {len(self.steps)}: {step.name}{op}"
        return "\n".join([header, *step.equations(self.root_name)])

    def frame(self, number: int, **draw_options: Any) -> graphviz.Digraph:
        """The graph after step `number`: the current node highlighted, the edges it fed marked
        with their contribution, and only the gradients known so far filled in."""
        step = self.steps[number]
        contributions = {
            (c.parent, step.node): f"+= {_fmt(c.contribution)}" for c in step.contributions
        }
        frame = Frame(grads=step.known, current=step.node, contributions=contributions)
        return draw_graph(self.root, frame=frame, **draw_options)

    def frames(self, **draw_options: Any) -> list[graphviz.Digraph]:
        """One picture per step (options as for `draw_graph`)."""
        return [self.frame(i, **draw_options) for i in range(len(self.steps))]

    def svgs(self, **draw_options: Any) -> list[str]:
        """Each frame as inline SVG markup."""
        return [_inline_svg(f.pipe(format="svg").decode()) for f in self.frames(**draw_options)]

    def to_html(self, path: str | os.PathLike[str], title: str | None = None) -> Path:
        """Write one self-contained HTML page (SVG inlined, no network): a slider, previous/next
        buttons, the arrow keys, and a panel that states each step as an equation."""
        path = Path(path)
        path.write_text(self.html(title), encoding="utf-8")
        return path

    def html(self, title: str | None = None) -> str:
        """The page `to_html` writes, as text."""
        return _PAGE.format(
            title=html.escape(title or f"Backward pass of {self.root_name}"),
            frames="\n".join(
                f'<div class="frame" data-step="{i}" hidden>{svg}</div>'
                for i, svg in enumerate(self.svgs())
            ),
            texts=json.dumps([self.text(i) for i in range(len(self.steps))]),
            last=len(self.steps) - 1,
        )

    def widget(self) -> Any:
        """An ipywidgets view of the same: slider, buttons, picture and panel."""
        import ipywidgets as widgets

        svgs = self.svgs()
        slider = widgets.IntSlider(value=0, min=0, max=len(svgs) - 1, description="step")
        previous = widgets.Button(description="previous")
        following = widgets.Button(description="next")
        picture = widgets.HTML(svgs[0])
        panel = widgets.HTML(_panel_html(self.text(0)))

        def show(change: dict[str, Any]) -> None:
            picture.value = svgs[change["new"]]
            panel.value = _panel_html(self.text(change["new"]))

        slider.observe(show, names="value")
        previous.on_click(lambda _: setattr(slider, "value", max(slider.value - 1, 0)))
        following.on_click(lambda _: setattr(slider, "value", min(slider.value + 1, slider.max)))
        return widgets.VBox([widgets.HBox([previous, slider, following]), panel, picture])


def trace_backward(root: Value) -> BackwardTrace:
    """Run `root.backward()` and record it, one step per node in the order the pass visits them.

    The gradients it leaves behind are exactly those of a plain `backward()`.
    """
    if not hasattr(root, "local_grads"):  # a Tensor: its step-through is still to come
        raise TypeError(f"trace_backward works on scalar Value graphs, got {type(root).__name__}")
    order = topological_order(root)
    index = {id(node): i for i, node in enumerate(order)}
    known: dict[int, float] = {}
    steps: list[Step] = []

    def record(node: Value, upstream: float) -> None:
        i = index[id(node)]
        known[i] = node.grad
        contributions = []
        for parent, local_grad in zip(node.parents, node.local_grads):
            p = index[id(parent)]
            known[p] = parent.grad
            contributions.append(
                Contribution(p, node_name(parent, p), local_grad, local_grad * upstream)
            )
        steps.append(
            Step(
                len(steps),
                i,
                node_name(node, i),
                node.op,
                upstream,
                tuple(contributions),
                dict(known),
            )
        )

    backpropagate(root, 1.0, record)
    return BackwardTrace(root, steps)


def _inline_svg(svg: str) -> str:
    """SVG markup without the XML prologue, so it can sit inside an HTML page."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _panel_html(text: str) -> str:
    return f"<pre style='font-size: 13px'>{html.escape(text)}</pre>"


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; }}
  #controls {{ display: flex; gap: 0.5em; align-items: center; margin-bottom: 0.8em; }}
  #slider {{ width: 20em; }}
  #panel {{ background: #f6f6f6; padding: 0.6em 0.9em; font-size: 14px; white-space: pre-wrap; }}
  .frame svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div id="controls">
  <button id="prev" type="button">&larr; previous</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
  <button id="next" type="button">next &rarr;</button>
  <span id="counter"></span>
</div>
<pre id="panel"></pre>
{frames}
<script>
const texts = {texts};
const frames = document.querySelectorAll(".frame");
const slider = document.getElementById("slider");
let current = 0;
function show(step) {{
  current = Math.max(0, Math.min(frames.length - 1, step));
  frames.forEach((frame, i) => {{ frame.hidden = i !== current; }});
  slider.value = current;
  document.getElementById("panel").textContent = texts[current];
  document.getElementById("counter").textContent = (current + 1) + " / " + frames.length;
}}
document.getElementById("prev").addEventListener("click", () => show(current - 1));
document.getElementById("next").addEventListener("click", () => show(current + 1));
slider.addEventListener("input", () => show(Number(slider.value)));
document.addEventListener("keydown", (event) => {{
  if (event.key === "ArrowLeft") {{ show(current - 1); event.preventDefault(); }}
  if (event.key === "ArrowRight") {{ show(current + 1); event.preventDefault(); }}
}});
show(0);
</script>
</body>
</html>
"""
