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

import contextlib
import math
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import graphviz
import numpy as np

from autograd_core import Node, backpropagate
from nn.files import write_atomically

from .code import backward_code, step_code
from .collapse import boxes, choose_depth, draw_collapsed, first_ops
from .frontend import embedded_html, page_html
from .graph import MAX_LAYOUT_COST, LayoutTooCostlyError, draw_graph, layout_cost
from .nodes import draw_nodes
from .paths import paths_to
from .picture import Parameters, Picture, Style, format_value, holds_array, reusable

if TYPE_CHECKING:  # the widget needs anywidget, an extra: imported where it is made
    from .widget import StepThrough

CURRENT = "#ffd700"  # the node whose step it is
RECEIVING = "#c7e9c0"  # the inputs it passes its gradient to
FLOW = "#d62728"  # the edges the gradient flows back along
HIGHLIGHTS = (
    (CURRENT, "the node passing its gradient back in this step"),
    (RECEIVING, "its inputs, whose gradients grow in this step"),
    (FLOW, "red edges: the gradient flowing back, labelled with what each input receives"),
)
SMALL = 16  # arrays of at most this many elements are shown whole in the panel
MODULE_NODES = 120  # the values a collapsed step-through draws of one module (its first ops)
PAGE_PATHS = 8  # paths the step-through writes out per value (beyond: their count and sum)


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


CHAIN_SHOWN = 4  # running totals a step writes out: the first and the last three


def _running_totals(totals: list[Any]) -> str:
    """A value's running totals so far, `1 -> 4 -> 7`; a long chain as its first and last few
    and how many are left out, so that a step's text stays short however often the value is
    used (and the pass's text linear in the graph, not quadratic)."""
    if len(totals) <= CHAIN_SHOWN + 1:
        return " -> ".join(_shown(t) for t in totals)
    tail = " -> ".join(_shown(t) for t in totals[-(CHAIN_SHOWN - 1) :])
    return f"{_shown(totals[0])} -> ({len(totals) - CHAIN_SHOWN} more) -> {tail}"


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

    def __init__(self, picture: Picture, steps: list[Step], parameters: Parameters = None) -> None:
        self.picture = picture
        self.parameters = parameters  # what names the modules of a collapsed step-through
        self.root = picture.root
        self.steps = steps
        self.root_name = picture.names[-1]
        self.root_symbol = _in_derivative(self.root_name)

    def __len__(self) -> int:
        return len(self.steps)

    def code(self) -> str:
        """The backward pass as straight-line Python (NumPy on the batch path), one line per
        local gradient in the order of the walk, `d_x += d_q * y`: a program that runs on its
        own and leaves `grads`, each node's name -> exactly this pass's gradient of it, so a
        student can read, run and change the pass the pictures show (`visualize.code`)."""
        return backward_code(self)

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
        picture, r = self.picture, self.root_symbol
        history: dict[int, list[Any]] = {}  # node -> its running totals so far, this pass
        for step in self.steps:
            i = step.node
            header = f"Step {step.number + 1} of {len(self.steps)}: "
            if step.number == 0:
                history[i] = [step.upstream]
                yield (
                    f"{header}start at the output {self.root_name}\n"
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
        r, name = self.root_symbol, _in_derivative(self.picture.names[step.node])
        value = _shown(step.upstream)
        if len(totals) > 1:
            chain = _running_totals(totals)
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
                lines.append(
                    f"  local gradient d{_in_derivative(name)}/d{_in_derivative(inputs[k])} = "
                    f"{shown}"
                )
            return lines
        texts = function.vjp_text_list(inputs, name, self.root_symbol, node.op) if function else []
        return [
            f"  {texts[c.position]}   (shape {picture.order[c.parent].shape})"
            for c in step.contributions
            if c.position < len(texts)
        ]

    def _contribution_lines(self, step: Step, history: dict[int, list[Any]]) -> list[str]:
        """Per input: what it receives, and its running total where it has several uses."""
        picture, r = self.picture, self.root_symbol
        name = _in_derivative(picture.names[step.node])
        upstream = _shown(step.upstream)
        lines = []
        for c in step.contributions:
            totals = history.setdefault(c.parent, [])
            totals.append(c.total)
            if picture.kinds[c.parent] == "constant":
                continue  # a constant keeps no gradient: nothing learns from it
            parent = _in_derivative(picture.names[c.parent])
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
                chain = _running_totals(totals)
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

    # ---- the page and the widget -------------------------------------------------------------

    def page_data(
        self, render: Callable[[graphviz.Digraph], str] | None = None, max_nodes: int = 300
    ) -> dict[str, Any]:
        """What the step-through's ES module needs: the picture once (with the final gradients,
        which sets the size of every box) and, per step, what changes. A graph of more than
        `max_nodes` values (as `draw_graph` collapses it) steps module by module: the collapsed
        picture as an overview, and each module's own picture, opened at the steps it holds.

        `render(graph)` lays a picture out as SVG text (by default Graphviz's `pipe`; the CLI
        passes one that stops `dot` after its time limit)."""

        def svg_of(graph: graphviz.Digraph) -> str:
            svg = render(graph) if render else graph.pipe(format="svg", quiet=True).decode()
            return svg[svg.find("<svg") :]

        modules: list[dict[str, str]] = []
        module_of: dict[int, int] = {}
        whole = None
        if len(self.picture) <= max_nodes:
            # laid out for the column (the page zooms and pans besides); a graph too tangled
            # to lay out whole is stepped module by module
            with contextlib.suppress(LayoutTooCostlyError):
                whole = draw_graph(
                    self.root,
                    picture=self.picture,
                    backward=True,
                    collapse=False,
                    style=Style(legend=HIGHLIGHTS),
                )
        if whole is None:
            svg, modules, module_of = self._modules(svg_of)
        else:
            svg = svg_of(whole)
        texts = self.texts()
        reached = {c.parent for step in self.steps for c in step.contributions}
        picture = self.picture
        return {
            "title": f"Backward pass of {self.root_name}",
            "rootName": _in_derivative(self.root_name),
            "svg": svg,
            "modules": modules,  # empty unless the graph steps module by module
            "steps": [
                {**self._step_data(step, text), "module": module_of.get(step.node, -1)}
                for step, text in zip(self.steps, texts)
            ],
            "texts": texts,
            "totals": self._changed_grads(),
            "never": [  # values the pass never reaches: they say so instead of "grad ?"
                f"v{i}"
                for i in range(len(picture) - 1)
                if i not in reached and picture.kinds[i] != "constant"
            ],
            "code": step_code(self),
            "paths": {} if modules or holds_array(self.root) else self._paths(),
            "colours": {"current": CURRENT, "receiving": RECEIVING, "flow": FLOW},
        }

    def _modules(
        self, svg_of: Callable[[graphviz.Digraph], str]
    ) -> tuple[str, list[dict[str, str]], dict[int, int]]:
        """The collapsed overview, each box's own picture (its first `MODULE_NODES` values, as
        `collapsed_page` opens a box, fewer where those are too tangled for dot to lay out
        quickly: none at all, at worst) and the box each drawn node is in."""
        picture, parameters = self.picture, self.parameters
        depth = choose_depth(picture, parameters)
        overview = svg_of(draw_collapsed(picture, parameters, depth))
        modules: list[dict[str, str]] = []
        module_of: dict[int, int] = {}
        for b, box in enumerate(boxes(picture, parameters, depth)):
            svg, budget = "", MODULE_NODES
            while budget >= 4 and not svg:
                shown = first_ops(picture, box.members, budget)
                drawn = draw_nodes(picture, shown, backward=True, style=Style(legend=HIGHLIGHTS))
                if layout_cost(drawn) <= MAX_LAYOUT_COST:
                    svg = svg_of(drawn)
                    module_of.update((i, b) for i in shown)
                budget //= 2
            modules.append({"id": f"b{b}", "title": box.title, "svg": svg})
        return overview, modules, module_of

    def _paths(self) -> dict[str, dict[str, list[str]]]:
        """For each value the pass reaches: its paths from the output, as `draw_paths` writes
        them (the first few, each with its product, and their sum), and the ids of what lies
        on them, for the step-through's *paths to* control."""
        picture, found = self.picture, {}
        for i, node in enumerate(picture.order[:-1]):
            if picture.kinds[i] == "constant":
                continue
            paths = paths_to(self.root, node, limit=PAGE_PATHS, picture=picture)
            on = paths.edge_sums
            found[f"v{i}"] = {
                "lines": paths.lines(listed=PAGE_PATHS),
                "edges": sorted({f"e{n}_{k}" for _, n, k in on} | {f"e{n}" for _, n, _ in on}),
                "nodes": sorted({f"v{n}" for _, n, _ in on} | {f"v{n}op" for _, n, _ in on}),
            }
        return found

    def _step_data(self, step: Step, text: str) -> dict[str, Any]:
        """One step for the page: its node, and per input what it receives (as a number where
        the student can be asked for it), in words and as the picture's edge label."""
        picture, i = self.picture, step.node
        node = picture.order[i]
        function = node.function
        names = [picture.names[p] for p in picture.parent_indices(i)]
        symbols = (
            function.local_grad_texts(names, picture.names[i], node.op)
            if function is not None and step.number > 0
            else []
        )
        inputs = []
        for c in self._shown_contributions(step):
            value = c.contribution
            inputs.append(
                {
                    "id": f"v{c.parent}",
                    "edge": f"e{i}_{c.position}",
                    "name": picture.names[c.parent],
                    "label": self._edge_label(c),
                    "received": _shown(value),
                    "symbolName": _in_derivative(picture.names[c.parent]),
                    "value": _askable(value),  # what the student is asked (not an array)
                    "local": "" if c.local_grad is None else format_value(c.local_grad),
                    "symbol": symbols[c.position] if c.position < len(symbols) else "",
                    "total": _shown(c.total),
                    "gate": getattr(function, "gate", ""),
                }
            )
        # the heading: the node's formula, its op's meaning, and what reached it (see `_texts`)
        heading = len(text.split("\n")) if step.number == 0 else 2 + (function is not None)
        return {
            "node": f"v{i}",
            "name": picture.names[i],
            "symbolName": _in_derivative(picture.names[i]),
            "op": node.op,
            "seed": step.number == 0,
            "through": f"e{i}",  # the edge from the node's op to the node
            "upstream": _shown(step.upstream),
            "inputs": inputs,
            "ask": [k for k, entry in enumerate(inputs) if entry["value"] is not None],
            "heading": heading,
        }

    def html(
        self,
        title: str | None = None,
        render: Callable[[graphviz.Digraph], str] | None = None,
        *,
        predict: bool = False,
    ) -> str:
        """One self-contained HTML page (the package's ES module inlined, no network): buttons,
        slider, arrow keys and Home/End, zoom and pan, the view following each step's node.
        `#step=K` in its address opens step K; `?predict` (or `predict=True`) asks the student
        what each input receives before showing it. `render` as for `page_data`."""
        return page_html(
            self.page_data(render), title or f"Backward pass of {self.root_name}", predict=predict
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

    def to_html(
        self, path: str | os.PathLike[str], title: str | None = None, *, predict: bool = False
    ) -> Path:
        """Write the page (`html`) to `path`."""
        page = self.html(title, predict=predict).encode("utf-8")
        write_atomically(path, lambda file: file.write(page), "to_html")
        return Path(path)

    def _repr_html_(self) -> str:
        """In a notebook (or its static export) the trace shows as the step-through itself."""
        return embedded_html(self.page_data())

    def widget(self, *, predict: bool = False, step: int = 0) -> StepThrough:
        """The step-through as a notebook widget (anywidget: JupyterLab, Notebook 7, VS Code,
        Colab). `widget.step` is synced both ways; with `predict=True` the student types what
        each input receives before it is shown, and `widget.answers` records each answer (see
        `StepThrough`). A static export of the notebook shows the same step-through, inlined.
        Needs the `notebooks` extra (anywidget)."""
        try:
            from .widget import StepThrough
        except ImportError as missing:  # anywidget is the [notebooks] extra
            raise ImportError(
                "the step-through widget needs anywidget: pip install 'autograd-core[notebooks]'"
            ) from missing
        return StepThrough(data=self.page_data(), predict=predict, step=step)


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
    parameters = reusable(parameters)  # read again by a collapsed page
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
    return BackwardTrace(picture, steps, parameters)


def _askable(value: Any) -> float | None:
    """A share the student can be asked for: a finite number (not an array, inf or nan)."""
    if isinstance(value, (float, int)) and math.isfinite(value):
        return float(value)
    return None


def _in_derivative(name: str) -> str:
    """A name as a derivative writes it: `df/dx` becomes `(df/dx)`, so that its gradients read
    d(df/dx)/dn1, not ddf/dx/dn1 (a plain name, `x` or `L0.n3.w1`, stays as it is)."""
    return name if re.fullmatch(r"[\w.]+", name) else f"({name})"
