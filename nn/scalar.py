"""The scalar path of `nn`: neurons, layers and MLPs on `Value`, as in micrograd.

Each model takes one sample, a list of numbers or Values, and returns its output: a lone Value
when there is one output, a list of Values otherwise (as micrograd's `MLP` does). Given a batch,
rows of samples (a 2-D array or a list of lists), it returns the list of per-sample outputs, so a
training loop can hand it a batch as it would a batch model.

Initialisation is seeded (`np.random.default_rng(seed)`); biases start at 0 and weights are drawn
uniformly, by `init`:
- "kaiming" (default): U(-sqrt(6/nin), sqrt(6/nin)), He et al.'s scale for ReLU networks, which
  keeps activations from shrinking or growing through the layers of a large network;
- "micrograd": U(-1, 1), as micrograd draws them (fine for its small moons MLP).
An MLP draws its layers in order, each as one (nout, nin) matrix, so the batch path can build the
same network from the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd_core import Value
from autograd_core import functional as F

from . import onnx_export
from .activations import LINEAR, activate, activation_of, check_activation
from .module import Module, TorchTensor

Inputs = Sequence[Value | float]
Output = Value | list[Value]

INITS = {"kaiming": lambda nin: np.sqrt(6.0 / nin), "micrograd": lambda nin: 1.0}


def init_layer(
    nin: int, nout: int, rng: np.random.Generator, init: str = "kaiming"
) -> tuple[np.ndarray, np.ndarray]:
    """An (nout, nin) weight matrix, uniform in +-bound as `init` says, and nout zero biases."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {sorted(INITS)}")
    bound = INITS[init](nin)
    return rng.uniform(-bound, bound, (nout, nin)), np.zeros(nout)


def is_batch(x: Any) -> bool:
    """Rows of samples (a 2-D array, or a sequence of sequences) rather than one sample."""
    if isinstance(x, np.ndarray):
        return x.ndim == 2
    return len(x) > 0 and isinstance(x[0], (list, tuple, np.ndarray))


def _check_length(x: Inputs, nin: int, who: str) -> None:
    if len(x) != nin:
        raise ValueError(f"{who} expects {nin} inputs, got {len(x)}")


def _single(outputs: list[Value]) -> Output:
    """micrograd's convention: one output is returned as the Value itself."""
    return outputs[0] if len(outputs) == 1 else outputs


class ScalarModule(Module):
    """A scalar-path model: `forward_one` computes one sample, and `forward` maps it over a
    batch."""

    def forward(self, x: Any) -> Any:
        if is_batch(x):
            rows = x.tolist() if isinstance(x, np.ndarray) else x
            return [self.forward_one(row) for row in rows]
        return self.forward_one(x)

    def forward_one(self, x: Inputs) -> Any:
        raise NotImplementedError

    def onnx_graph(self, graph: onnx_export.OnnxGraph, x: str, name: str = "") -> str:
        raise TypeError(
            f"to_onnx: {type(self).__name__} is on the scalar path; export its batch twin: "
            "nn.batch.MLP.from_scalar(model).to_onnx(path, example)"
        )


def linear_layout(prefix: str, torch_prefix: str, neurons: Sequence[Neuron]) -> list[TorchTensor]:
    """A layer of neurons as `torch.nn.Linear`: `weight` (out, in), row j neuron j's weights,
    and `bias` (out,)."""
    nin = len(neurons[0].w)
    weights = tuple(f"{prefix}{j}.w.{i}" for j, n in enumerate(neurons) for i in range(len(n.w)))
    biases = tuple(f"{prefix}{j}.b" for j in range(len(neurons)))
    return [
        TorchTensor(torch_prefix + "weight", (len(neurons), nin), weights, ()),
        TorchTensor(torch_prefix + "bias", (len(neurons),), biases, ()),
    ]


class Neuron(ScalarModule):
    """activation(w . x + b): one fused `dot` node plus one activation node."""

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        weights: Sequence[float] | None = None,
        bias: float = 0.0,
        seed: int | None = 0,
        init: str = "kaiming",
    ) -> None:
        if nin < 1:
            raise ValueError(f"a neuron needs at least one input, got nin={nin}")
        self.activation = check_activation(activation)
        if weights is None:
            w, b = init_layer(nin, 1, np.random.default_rng(seed), init)
            weights, bias = w[0], b[0]
        if len(weights) != nin:
            raise ValueError(f"Neuron expects {nin} weights, got {len(weights)}")
        self.w = [Value(float(wi)) for wi in weights]
        self.b = Value(float(bias))

    def forward_one(self, x: Inputs) -> Value:
        _check_length(x, len(self.w), "Neuron")
        return activate(F.dot(self.w, x, self.b), self.activation)

    def torch_layout(self, prefix: str = "", torch_prefix: str = "") -> list[TorchTensor]:
        """As `torch.nn.Linear(nin, 1)`: `weight` (1, nin), `bias` (1,)."""
        return [
            TorchTensor(
                torch_prefix + "weight",
                (1, len(self.w)),
                tuple(f"{prefix}w.{i}" for i in range(len(self.w))),
                (),
            ),
            TorchTensor(torch_prefix + "bias", (1,), (prefix + "b",), ()),
        ]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, {self.activation})"


class Layer(ScalarModule):
    """`nout` neurons that read the same inputs: a list of their outputs, or the one Value."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        seed: int | None = 0,
        init: str = "kaiming",
        rng: np.random.Generator | None = None,
    ) -> None:
        if nout < 1:
            raise ValueError(f"a layer needs at least one neuron, got nout={nout}")
        check_activation(activation)
        weights, biases = init_layer(nin, nout, rng or np.random.default_rng(seed), init)
        self.neurons = [Neuron(nin, activation, w, b) for w, b in zip(weights, biases)]

    @property
    def nin(self) -> int:
        return len(self.neurons[0].w)

    def outputs(self, x: Inputs) -> list[Value]:
        """Every neuron's output, as a list even for one neuron (what the next layer reads)."""
        _check_length(x, self.nin, "Layer")
        neurons = self.neurons
        rows, biases, activations = [], [], set()
        for n in neurons:
            if type(n) is not Neuron:  # a subclass (its own forward_one, forward or __call__)
                inputs = F.as_values(x, "Layer")
                return [neuron(inputs) for neuron in neurons]
            rows.append(n.w)
            biases.append(n.b)
            activations.add(n.activation)
        # the nodes each neuron's forward_one makes, with the inputs read once for all of them
        z = F.linear(x, rows, biases)
        if len(activations) == 1:  # as built: one activation, looked up once for the layer
            return activation_of(activations.pop())(z)
        return [activate(zi, n.activation) for zi, n in zip(z, neurons)]

    def forward_one(self, x: Inputs) -> Output:
        return _single(self.outputs(x))

    def torch_layout(self, prefix: str = "", torch_prefix: str = "") -> list[TorchTensor]:
        """As `torch.nn.Linear(nin, nout)` (its activation has no parameters)."""
        return linear_layout(prefix + "neurons.", torch_prefix, self.neurons)

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {len(self.neurons)}, {self.neurons[0].activation})"


def mlp_plan(nin: int, nouts: Sequence[int], activation: str) -> list[tuple[int, int, str]]:
    """(inputs, outputs, activation) of each layer of an MLP: the hidden layers use `activation`,
    the last one is linear. Both paths' MLPs are built from it."""
    if not nouts:
        raise ValueError("an MLP needs at least one layer size in nouts")
    check_activation(activation)
    sizes = [nin, *nouts]
    return [
        (sizes[i], sizes[i + 1], activation if i < len(nouts) - 1 else LINEAR)
        for i in range(len(nouts))
    ]


class MLP(ScalarModule):
    """Layers of sizes `nouts` after `nin` inputs; hidden layers use `activation`, the last is
    linear. Returns the last layer's output: the Value itself when it has one neuron."""

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        seed: int | None = 0,
        init: str = "kaiming",
    ) -> None:
        rng = np.random.default_rng(seed)
        self.layers = [
            Layer(n_in, n_out, act, init=init, rng=rng)
            for n_in, n_out, act in mlp_plan(nin, nouts, activation)
        ]

    def forward_one(self, x: Inputs) -> Output:
        _check_length(x, self.layers[0].nin, "MLP")
        out: Any = x
        for layer in self.layers:
            if type(layer) is Layer:
                out = layer.outputs(out)
            else:  # a subclass computes its own way; one Value is a list of one for the next
                result = layer(out)
                out = result if isinstance(result, list) else [result]
        return _single(out)

    def torch_layout(self, prefix: str = "", torch_prefix: str = "") -> list[TorchTensor]:
        """As the `torch.nn.Sequential` of its layers, each a `Linear` followed by its activation
        (if any): `MLP(2, [16, 1])` is `Sequential(Linear(2, 16), ReLU(), Linear(16, 1))`, so its
        layers are `0.` and `2.`."""
        layout, position = [], 0
        for index, layer in enumerate(self.layers):
            layout += layer.torch_layout(f"{prefix}layers.{index}.", f"{torch_prefix}{position}.")
            position += 1 if layer.neurons[0].activation == LINEAR else 2
        return layout

    def __repr__(self) -> str:
        return "MLP(" + ", ".join(repr(layer) for layer in self.layers) + ")"
