"""The live training view: watch a network learn, one optimiser step at a time.

`live(model, X, y, loss, optimizer)` trains `model` on (X, y) by full-batch steps of `loss`
(called as `fit` calls it, `loss(model(X), y)`) and, after each step, records a frame of what
the four views of the widget show:

- the curve: the loss of the batch the step trained on (before its update, as `fit` measures
  it) and the accuracy of the same forward pass;
- for 2-D inputs, the decision boundary on a `resolution` x `resolution` grid: per cell the
  class predicted and how sure the model is (one score s: tanh |s|; k > 1 scores: the top
  softmax probability p rescaled from [1/k, 1] to [0, 1]);
- the graph of one traced sample (its loss alone), collapsed by module with
  `visualize.collapse.boxes` and the loss's ops made one box: each box's size is the root mean
  square of the gradient its parameters get, `sqrt(mean(g**2))` (for a box without parameters:
  of the gradient of what leaves it; the inputs and the loss itself get none), each edge's the
  same of the values it carries; a layer opens into its units (neurons), one size each;
- per layer: histograms of the weights and of the gradients the step used, the weights' and
  gradients' RMS, the update ratio `||w_after - w_before|| / ||w_before||` (about 1e-3 is the
  rule of thumb for a healthy step; None in a frame without a step) and `dead`, the fraction of
  units whose every parameter got a gradient of exactly 0 (a ReLU that is off for every sample;
  weight decay in the loss gives every weight a gradient, so it hides them).

`live.step(n)` trains n steps as the widget's buttons do, `live.trace(i)` picks the traced
sample, `live.add_point(x, label)` and `live.remove_point(i)` change the data (the next steps
train on it), `live.reset()` puts the model and the optimiser back as they were at the start.
`live.history` is every frame shown (a list of dicts, the first before any step);
`live.save("run.html")` writes a page that replays them with no kernel.

The view asks the kernel for each step (a message per step, one in flight), so a pause is
honoured at the next step and the kernel is never busy for longer than one.
"""

from __future__ import annotations

import base64
import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd_core import no_grad, topological_order
from autograd_core.graph import is_node
from nn import batch, scalar
from nn.module import write_atomically
from nn.optim import Optimizer
from nn.train import StepCollector, accuracy, scores_of

from .collapse import Box, boxes, choose_depth, module_of
from .live_page import embedded_replay_html, replay_html
from .nodes import html_label, new_digraph
from .picture import Picture

if TYPE_CHECKING:  # the widget needs anywidget, an extra: imported where it is made
    from .live_widget import LiveWidget

Loss = Callable[[Any, Any], Any]
Frame = dict[str, Any]

RESOLUTION = 50  # cells per side of the decision boundary's grid
BINS = 20  # bars of each histogram of weights and gradients
PAD = 0.25  # the boundary's grid reaches this fraction of the data's range beyond it
BLAS_ONE_THREAD = 262_144  # multiply-adds of the largest product OpenBLAS runs on one thread
SEND_EVERY = 0.1  # seconds: `step(n)` from Python updates the widget at most this often


# ---- parameters, by layer and by unit ---------------------------------------------------------


def layer_of(name: str) -> str:
    """The layer a parameter belongs to: the first level of its dotted name, a container and its
    index counted as one (`layers.0.neurons.3.w.1` and `layers.0.weight` -> `layers.0`)."""
    parts = name.split(".")
    if len(parts) > 2 and parts[1].isdigit():
        return ".".join(parts[:2])
    return parts[0] if len(parts) > 1 else ""


def flat(arrays: Sequence[Any]) -> np.ndarray:
    """Numbers or arrays (a scalar path's floats, a batch path's arrays) as one 1-D array."""
    if not arrays:
        return np.zeros(0)
    try:  # numbers, or arrays of one shape: one conversion (a scalar layer's 272 floats)
        return np.asarray(arrays, dtype=np.float64).ravel()
    except ValueError:  # arrays of several shapes (a weight matrix and its bias)
        return np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays])


def grad_of(parameter: Any) -> Any:
    """A parameter's gradient, zeros where it has none yet (a Tensor before any backward)."""
    grad = parameter.grad
    return np.zeros(np.shape(parameter.data)) if grad is None else grad


def rms(array: np.ndarray) -> float:
    """sqrt(mean(a**2)), 0 for no numbers."""
    return float(np.sqrt(np.mean(np.square(array)))) if array.size else 0.0


@dataclass
class Layer:
    """One layer's parameters, as the parameter view shows them."""

    name: str
    names: list[str]
    params: list[Any]

    def unit_rms(self) -> np.ndarray:
        """The RMS gradient of each unit: each submodule (a scalar layer's neurons), or else each
        output (column j of a batch `Linear`'s (nin, nout) weight with bias j)."""
        modules: dict[str, list[Any]] = {}
        for name, p in zip(self.names, self.params):
            modules.setdefault(module_of(name), []).append(grad_of(p))
        if len(modules) > 1:
            return np.array([rms(flat(grads)) for grads in modules.values()])
        grads = [np.asarray(grad_of(p), dtype=np.float64) for p in self.params]
        outputs = {g.shape[-1] for g in grads if g.ndim}
        if len(outputs) != 1:
            return np.array([rms(flat(grads))])
        squares = sum(np.square(g).reshape(-1, g.shape[-1]).sum(axis=0) for g in grads)
        count = sum(g.size // g.shape[-1] for g in grads)
        return np.asarray(np.sqrt(squares / count))


def layers_of(model: Any) -> list[Layer]:
    """The model's parameters grouped by layer, in the model's order."""
    found: dict[str, Layer] = {}
    for name, p in model.named_parameters():
        key = layer_of(name)
        found.setdefault(key, Layer(key, [], [])).names.append(name)
        found[key].params.append(p)
    return list(found.values())


def histogram(values: np.ndarray, bins: int = BINS) -> dict[str, Any]:
    """Counts of `values` in `bins` equal bars over [-m, m], m the largest |value|."""
    finite = values[np.isfinite(values)]
    top = float(np.abs(finite).max()) if finite.size else 0.0
    top = top or 1.0
    counts, _ = np.histogram(finite, bins=bins, range=(-top, top))
    return {"range": top, "counts": counts.tolist()}


def layer_frame(layer: Layer, before: np.ndarray | None) -> dict[str, Any]:
    """What the parameter view shows of one layer after a step (`before`: its weights before
    it; None for a frame without a step, whose update ratio is None)."""
    weights = flat([p.data for p in layer.params])
    grads = flat([grad_of(p) for p in layer.params])
    norm = float(np.linalg.norm(before)) if before is not None else 0.0
    ratio = float(np.linalg.norm(weights - before)) / norm if before is not None and norm else None
    units = layer.unit_rms()
    return {
        "name": layer.name,
        "weights": histogram(weights),
        "grads": histogram(grads),
        "weight_rms": rms(weights),
        "grad_rms": rms(grads),
        "update_ratio": ratio,
        "dead": float(np.mean(units == 0.0)) if units.size else 0.0,
    }


# ---- the traced sample's graph, collapsed -----------------------------------------------------


@dataclass
class GraphLayout:
    """The collapsed picture of a traced sample's graph, laid out once (dot runs once) and
    restyled per frame: which nodes (topological indices) size each box and each edge."""

    signature: tuple[str, ...]  # the ops in topological order: a graph of the same shape
    svg: str
    boxes: list[Box]
    box_nodes: list[list[int]]  # per box: its parameters, or else what leaves it (none: inputs)
    edges: list[tuple[int, int]]
    edge_nodes: list[list[int]]  # per edge: the values it carries
    box_layers: list[str]  # per box: the layer whose units it opens into ('' for none)


def signature_of(order: Sequence[Any]) -> tuple[str, ...]:
    return tuple(node.op for node in order)


def loss_boxes(found: list[Box]) -> list[Box]:
    """The boxes with every op outside the modules (what the loss computes from the model's
    outputs, the output itself) made one box, `loss`: a student reads the network's layers and
    then the loss, not each of its ops."""
    kept = [box for box in found if not box.key.startswith(("op ", "ops ", "output"))]
    ops = [i for box in found if box not in kept for i in box.members]
    return [*kept, Box("loss", "loss", sorted(ops))] if ops else kept


def layout_graph(root: Any, model: Any, layer_names: set[str]) -> GraphLayout:
    """Group the graph of `root` into boxes (`collapse.boxes`, the loss's ops one box) and lay
    them out."""
    picture = Picture(root, model)
    found = loss_boxes(boxes(picture, model, choose_depth(picture, model)))
    box_of = {i: b for b, box in enumerate(found) for i in box.members}
    users = picture.users()
    box_nodes = []
    for box in found:  # a box of inputs and constants gets no size: what it gets is not learnt
        params = [i for i in box.members if picture.kinds[i] == "parameter"]
        leaving = [i for i in box.members if any(box_of.get(u) != box_of[i] for u in users[i])]
        leaves = all(not picture.order[i].parents for i in box.members)
        unsized = (leaves and not params) or box.key == "loss"  # d loss / d loss is 1, always
        box_nodes.append([] if unsized else params or leaving or box.members[-1:])
    carried: dict[tuple[int, int], set[int]] = {}
    for i, b in box_of.items():
        for p in picture.parent_indices(i):
            if box_of.get(p, b) != b:  # an edge out of the inputs carries nothing learnt
                learnt = [p] if box_nodes[box_of[p]] else []
                carried.setdefault((box_of[p], b), set()).update(learnt)
    edges = sorted(carried)
    box_layers = [
        key if key in layer_names else ""
        for key in (box.key.removeprefix("module ") for box in found)
    ]
    dot = new_digraph("LR", backward=False)
    for b, box in enumerate(found):  # short labels: the picture shares its panel's width
        sized = "grad rms -.------" if box_nodes[b] else "(not learnt)"  # written per frame
        if box.key == "loss":
            sized = "d loss / d loss = 1"
        title = "inputs, constants" if box.key.startswith("leaves") else box.title
        cells = [title, sized]
        dot.node(
            f"b{b}", html_label(cells, stacked=True), shape="plaintext", id=f"b{b}",
            **{"class": "box"},
        )  # fmt: skip
    for a, b in edges:
        dot.edge(f"b{a}", f"b{b}", id=f"e{a}_{b}", penwidth="2", color="#888888")
    svg = dot.pipe(format="svg", encoding="utf-8")
    return GraphLayout(
        signature=signature_of(picture.order),
        svg=svg[svg.find("<svg") :],
        boxes=found,
        box_nodes=box_nodes,
        edges=edges,
        edge_nodes=[sorted(carried[e]) for e in edges],
        box_layers=box_layers,
    )


def sizes(order: Sequence[Any], groups: list[list[int]]) -> list[float | None]:
    """The RMS gradient over each group of nodes (None for an empty group: nothing to size)."""
    return [rms(flat([grad_of(order[i]) for i in group])) if group else None for group in groups]


# ---- the decision boundary --------------------------------------------------------------------


def boundary_scores(model: Any, grid: np.ndarray) -> np.ndarray:
    """The model's scores over the grid's points, (M, k), without recording a graph. A scalar
    `nn.MLP` is evaluated through its batch twin (the same weights, one NumPy pass instead of
    M scalar passes: the same numbers, to rounding, a hundred times sooner).

    The points go in chunks small enough that each matrix product stays on this thread: OpenBLAS
    hands a product of more than 262,144 multiply-adds to its threads, which then spin on
    for a while after it, and on a machine of two cores that makes the next training step
    about three times slower."""
    with no_grad():
        if type(model) is scalar.MLP and all(type(layer) is scalar.Layer for layer in model.layers):
            model = batch.MLP.from_scalar(model)
        widest = max((np.size(p.data) for p in model.parameters()), default=1)
        rows = max(16, BLAS_ONE_THREAD // widest)
        chunks = [scores_of(model(grid[k : k + rows])) for k in range(0, len(grid), rows)]
        return np.concatenate(chunks)


def predictions(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the class index predicted and how sure, in [0, 1] (one score s: class 1 when
    s > 0, sure tanh |s|; k scores: the argmax, sure (p_max - 1/k) / (1 - 1/k) of the softmax)."""
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.int64), np.tanh(np.abs(scores[:, 0]))
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    top = shifted.max(axis=1) / shifted.sum(axis=1)
    k = scores.shape[1]
    return scores.argmax(axis=1), (top - 1.0 / k) / (1.0 - 1.0 / k)


def encoded(values: np.ndarray) -> str:
    """Small non-negative integers (< 256) as base64 bytes, one per value (what the page
    decodes)."""
    return base64.b64encode(np.clip(values, 0, 255).astype(np.uint8).tobytes()).decode("ascii")


def finite_or_none(x: float) -> float | None:
    """JSON has no inf or nan: a diverged number is sent as null (the page says 'diverged')."""
    return x if math.isfinite(x) else None


def jsonable(value: Any) -> Any:
    """A frame as JSON can carry it: floats finite or None, arrays as base64 or lists."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return encoded(value) if value.dtype == np.uint8 else jsonable(value.tolist())
    if isinstance(value, float):
        return finite_or_none(value)
    return value


# ---- the run ----------------------------------------------------------------------------------


class Live:
    """A training run that records what the live view shows, step by step (see the module's
    text). Made by `visualize.live`, which adds the notebook widget; works without one."""

    def __init__(
        self,
        model: Any,
        X: Any,
        y: Any,
        loss: Loss,
        optimizer: Optimizer,
        *,
        resolution: int = RESOLUTION,
        traced: int = 0,
    ) -> None:
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y)
        if self.X.ndim != 2 or len(self.X) == 0 or len(self.X) != len(self.y):
            raise ValueError(
                f"live: X must be (samples, features) with one label per row, got X of shape "
                f"{self.X.shape} and y of shape {self.y.shape}"
            )
        if resolution < 2:
            raise ValueError(f"live: resolution must be at least 2 cells a side, got {resolution}")
        self.classes = np.unique(self.y)
        self.resolution = int(resolution)
        self.layers = layers_of(model)
        self.start_state = copy.deepcopy(model.state_dict())
        self.start_optimizer = self._optimizer_state()
        self.extent = self._extent()
        self.traced = self._checked_index(traced, "trace")
        self.layout: GraphLayout | None = None
        self.history: list[Frame] = []
        self.datasets: list[tuple[np.ndarray, np.ndarray]] = []
        self.widget: LiveWidget | None = None
        self._sent_at = 0.0
        self.collector = StepCollector()
        self._record(self._evaluated())

    # -- what Python (and the buttons) do ---------------------------------------------------------

    def step(self, n: int = 1) -> Frame:
        """Train `n` full-batch steps, recording a frame after each; the last frame."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"live.step: n must be an integer >= 1, got {n!r}")
        for k in range(int(n)):
            self._record(self._trained(), last=k == n - 1)
        return self.history[-1]

    def trace(self, i: int) -> Frame:
        """Make sample `i` the traced one (its graph is drawn); records a frame."""
        self.traced = self._checked_index(i, "trace")
        return self._record(self._redrawn())

    def add_point(self, x: Sequence[float], label: Any) -> int:
        """Add a sample (its features and label) that the next steps train on; its index."""
        point = np.asarray(x, dtype=np.float64).reshape(-1)
        if point.shape != self.X.shape[1:]:
            raise ValueError(
                f"live.add_point: x has {point.size} features, the data {self.X.shape[1]}"
            )
        if label not in self.classes.tolist():
            raise ValueError(
                f"live.add_point: label {label!r} is none of the classes {self.classes.tolist()}"
            )
        self.X = np.vstack([self.X, point])
        self.y = np.append(self.y, np.asarray(label, dtype=self.y.dtype))
        self._record(self._redrawn())
        return len(self.X) - 1

    def remove_point(self, i: int) -> None:
        """Remove sample `i` (the last sample cannot go); the traced index follows its sample,
        or moves to sample 0 when it was the one removed."""
        i = self._checked_index(i, "remove_point")
        if len(self.X) == 1:
            raise ValueError("live.remove_point: the last sample cannot be removed")
        self.X, self.y = np.delete(self.X, i, axis=0), np.delete(self.y, i)
        self.traced = 0 if self.traced == i else self.traced - (self.traced > i)
        self._record(self._redrawn())

    def set_lr(self, lr: float) -> None:
        """Set the learning rate of the coming steps (a positive number)."""
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"live.set_lr: the learning rate must be a number > 0, got {lr!r}")
        self.optimizer.lr = float(lr)
        if self.widget is not None:
            self.widget.setup = self.setup()

    def reset(self) -> Frame:
        """The model's weights and the optimiser's state (its step count, momenta) as at the
        start; the data and the learning rate stay as they are. History goes on (a new run)."""
        self.model.load_state_dict(copy.deepcopy(self.start_state))
        for key, value in copy.deepcopy(self.start_optimizer).items():
            setattr(self.optimizer, key, value)
        return self._record(self._evaluated())

    def handle(self, request: dict[str, Any]) -> None:
        """What the widget asks for: {"do": "step" | "trace" | "add" | "remove" | "reset" |
        "lr", ...}. With a widget, a request that cannot be met is said in the view
        (`widget.error`) instead of raised."""
        actions: dict[str, Callable[[], object]] = {
            "step": lambda: self.step(int(request.get("n", 1))),
            "trace": lambda: self.trace(int(request["index"])),
            "add": lambda: self.add_point(request["x"], self.classes[int(request["label"])].item()),
            "remove": lambda: self.remove_point(int(request["index"])),
            "reset": self.reset,
            "lr": lambda: self.set_lr(float(request["value"])),
        }
        try:
            do = request.get("do")
            if do not in actions:
                raise ValueError(f"live: unknown request {do!r}; one of {sorted(actions)}")
            actions[do]()
        except (ValueError, IndexError, KeyError, TypeError, FloatingPointError) as error:
            if self.widget is None:
                raise
            self.widget.error = str(error)

    def save(self, path: str | os.PathLike[str], title: str = "Watch it learn") -> Path:
        """A self-contained HTML page that replays the run (every frame of `history`: the
        curves, the boundary, the traced graph and the parameters) with no kernel."""
        page = replay_html(self.record(), title).encode("utf-8")
        write_atomically(path, lambda file: file.write(page), "live.save")
        return Path(path)

    # -- what the view is sent --------------------------------------------------------------------

    def setup(self) -> dict[str, Any]:
        """What changes rarely: the classes, the grid's extent, the layers, the graph's picture,
        the learning rate."""
        layout = self.layout
        return {
            "classes": [str(c) for c in self.classes.tolist()],
            "extent": self.extent,
            "resolution": self.resolution,
            "two_d": self.X.shape[1] == 2,
            "layers": [layer.name for layer in self.layers],
            "lr": self.optimizer.current_lr(),
            "graph": None
            if layout is None
            else {
                "svg": layout.svg,
                "boxes": [box.title for box in layout.boxes],
                "layers": layout.box_layers,
                "edges": [f"e{a}_{b}" for a, b in layout.edges],
            },
        }

    def frame_json(self, k: int = -1) -> dict[str, Any]:
        """Frame `k` of the history as the page reads it (its data set inlined)."""
        frame = self.history[k]
        X, y = self.datasets[frame["data"]]
        points = {"X": X.tolist(), "y": np.searchsorted(self.classes, y).tolist()}
        return {**jsonable(frame), "seq": k % len(self.history), "points": points}

    def record(self) -> dict[str, Any]:
        """The whole run, as the replay page reads it."""
        frames = [jsonable(frame) for frame in self.history]
        datasets = [
            {"X": X.tolist(), "y": np.searchsorted(self.classes, y).tolist()}
            for X, y in self.datasets
        ]
        return {"setup": self.setup(), "frames": frames, "datasets": datasets}

    def replay(self) -> Replay:
        """The run so far as a replay in a notebook's output (or the docs site): what `save`
        writes, inside the page, with no kernel needed to play it."""
        return Replay(embedded_replay_html(self.record()))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget, when the run has one (`visualize.live` makes it), with the replay of the
        run so far for where no kernel runs (a static export, the docs site)."""
        fallback = {"text/plain": repr(self), "text/html": self.replay().html}
        if self.widget is None:
            return fallback
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if bundle is None:
            return fallback
        data, metadata = bundle
        return {**data, **fallback}, metadata

    def __repr__(self) -> str:
        last = self.history[-1]
        return (
            f"Live({type(self.model).__name__}, {len(self.X)} samples, step {last['step']}, "
            f"loss {last['loss']:.4g})"
        )

    # -- the steps --------------------------------------------------------------------------------

    def _trained(self) -> Frame:
        """One full-batch step: the loss and accuracy of its forward pass, and what it did to
        each layer."""
        before = [flat([p.data for p in layer.params]) for layer in self.layers]
        with self.collector.paused():  # as `fit` steps: the graph has no cycles to collect
            outputs = self.model(self.X)
            batch_loss = self.loss(outputs, self.y)
            if not is_node(batch_loss):
                raise TypeError(
                    f"live: loss(outputs, y) returned {type(batch_loss).__name__}, not a Value "
                    "or a Tensor; build it from the outputs (nn.binary_hinge, nn.cross_entropy)"
                )
            self.optimizer.zero_grad()
            batch_loss.backward()
            self.optimizer.step()
        frame = {
            "step": self.optimizer.steps,
            "loss": float(batch_loss.data),
            "accuracy": accuracy(outputs, self.y),
            "lr": self.optimizer.current_lr(),
            "layers": [layer_frame(layer, b) for layer, b in zip(self.layers, before)],
        }
        del outputs, batch_loss
        return {**frame, **self._views()}

    def _evaluated(self) -> Frame:
        """A frame without a step (the start, after a reset): the loss, the accuracy and the
        gradients the next step will use, measured; no update."""
        outputs = self.model(self.X)
        batch_loss = self.loss(outputs, self.y)
        self.optimizer.zero_grad()
        batch_loss.backward()
        frame = {
            "step": self.optimizer.steps,
            "loss": float(batch_loss.data),
            "accuracy": accuracy(outputs, self.y),
            "lr": self.optimizer.current_lr(),
            "layers": [layer_frame(layer, None) for layer in self.layers],
        }
        del outputs, batch_loss
        return {**frame, **self._views()}

    def _redrawn(self) -> Frame:
        """The last frame with the views drawn again (a new traced sample, new data)."""
        return {**self.history[-1], **self._views()}

    def _views(self) -> Frame:
        return {"boundary": self._boundary(), "graph": self._graph()}

    def _boundary(self) -> dict[str, np.ndarray] | None:
        if self.X.shape[1] != 2:
            return None
        x0, x1, y0, y1 = self.extent
        cells = self.resolution
        xs, ys = np.meshgrid(np.linspace(x0, x1, cells), np.linspace(y0, y1, cells))
        grid = np.column_stack([xs.ravel(), ys.ravel()])  # row by row from (x0, y0)
        classes, sure = predictions(boundary_scores(self.model, grid))
        return {"classes": classes.astype(np.uint8), "sure": np.rint(255 * sure).astype(np.uint8)}

    def _graph(self) -> dict[str, Any]:
        """The traced sample's loss, its backward pass, and the sizes of its boxes' gradients;
        the parameters' gradients are zeroed after (they were the training step's before)."""
        i = self.traced
        root = self.loss(self.model(self.X[i : i + 1]), self.y[i : i + 1])
        self.model.zero_grad()
        root.backward()
        order = topological_order(root)
        layout = self.layout
        if layout is None or signature_of(order) != layout.signature:
            names = {layer.name for layer in self.layers}
            layout = self.layout = layout_graph(root, self.model, names)
            if self.widget is not None:
                self.widget.setup = self.setup()
        units = {
            f"b{b}": layer.unit_rms()
            for b, name in enumerate(layout.box_layers)
            for layer in self.layers
            if name and layer.name == name
        }
        graph = {
            "traced": i,
            "loss": float(root.data),
            "boxes": sizes(order, layout.box_nodes),
            "edges": sizes(order, layout.edge_nodes),
            "units": {k: v.tolist() for k, v in units.items()},
        }
        self.model.zero_grad()
        return graph

    def _record(self, frame: Frame, last: bool = True) -> Frame:
        key = (self.X, self.y)
        if not self.datasets or self.datasets[-1][0] is not key[0]:
            self.datasets.append(key)
        frame["data"] = len(self.datasets) - 1
        self.history.append(frame)
        now = time.monotonic()
        if self.widget is not None and (last or now - self._sent_at >= SEND_EVERY):
            self.widget.frame = self.frame_json()
            self._sent_at = now
        return frame

    # -- checks and state -------------------------------------------------------------------------

    def _checked_index(self, i: Any, who: str) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(self.X):
            raise IndexError(f"live.{who}: sample {i!r} of {len(self.X)} (0 to {len(self.X) - 1})")
        return int(i)

    def _optimizer_state(self) -> dict[str, Any]:
        """What the optimiser keeps besides its parameters and learning rate (steps, momenta)."""
        kept = vars(self.optimizer).items()
        return {k: copy.deepcopy(v) for k, v in kept if k not in ("params", "lr")}

    def _extent(self) -> list[float]:
        if self.X.shape[1] != 2:
            return [0.0, 1.0, 0.0, 1.0]
        low, high = self.X.min(axis=0), self.X.max(axis=0)
        pad = PAD * (high - low) + 1e-9
        return [float(low[0] - pad[0]), float(high[0] + pad[0]),
                float(low[1] - pad[1]), float(high[1] + pad[1])]  # fmt: skip


@dataclass(frozen=True)
class Replay:
    """A recorded run's replay, shown as HTML in a notebook."""

    html: str

    def _repr_html_(self) -> str:
        return self.html


def live(
    model: Any,
    X: Any,
    y: Any,
    loss: Loss,
    optimizer: Optimizer,
    *,
    resolution: int = RESOLUTION,
    traced: int = 0,
) -> Live:
    """The live training view of `model` learning (X, y): a `Live` run with its notebook widget
    (shown when the run is the value of a cell). Needs the `notebooks` extra (anywidget)."""
    try:
        from .live_widget import LiveWidget
    except ImportError as missing:  # anywidget is the [notebooks] extra
        raise ImportError(
            "the live view's widget needs anywidget: pip install 'autograd-core[notebooks]' "
            "(visualize.training_view.Live trains and records without it)"
        ) from missing
    run = Live(model, X, y, loss, optimizer, resolution=resolution, traced=traced)
    run.widget = LiveWidget(run.handle, setup=run.setup(), frame=run.frame_json())
    return run
