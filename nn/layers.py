"""Neurons, layers and MLPs on the scalar `Value` engine.

Initialisation is seeded (`np.random.default_rng(seed)`); biases start at 0 and weights are drawn
uniformly, by `init`:
- "kaiming" (default): U(-sqrt(6/nin), sqrt(6/nin)), He et al.'s scale for ReLU networks, which
  keeps activations from shrinking or growing through the layers of a large network;
- "micrograd": U(-1, 1), as micrograd draws them (fine for its small moons MLP).
An MLP draws its layers in order, each as one (nout, nin) matrix, so the batch path can build the
same network from the same seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from autograd_core import Value
from autograd_core import functional as F

from .module import Module

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "leaky_relu": Value.leaky_relu,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "linear": lambda v: v,
}

Inputs = Sequence[Value | float]


def _activation(name: str) -> Callable[[Value], Value]:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def _check_length(x: Inputs, nin: int, who: str) -> None:
    if len(x) != nin:
        raise ValueError(f"{who} expects {nin} inputs, got {len(x)}")


INITS = {"kaiming": lambda nin: np.sqrt(6.0 / nin), "micrograd": lambda nin: 1.0}


def init_layer(
    nin: int, nout: int, rng: np.random.Generator, init: str = "kaiming"
) -> tuple[np.ndarray, np.ndarray]:
    """An (nout, nin) weight matrix, uniform in +-bound as `init` says, and nout zero biases."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {sorted(INITS)}")
    bound = INITS[init](nin)
    return rng.uniform(-bound, bound, (nout, nin)), np.zeros(nout)


class Neuron(Module):
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
        self.activation = activation
        self._act = _activation(activation)
        if weights is None:
            w, b = init_layer(nin, 1, np.random.default_rng(seed), init)
            weights, bias = w[0], b[0]
        if len(weights) != nin:
            raise ValueError(f"Neuron expects {nin} weights, got {len(weights)}")
        self.w = [Value(float(wi)) for wi in weights]
        self.b = Value(float(bias))

    def __call__(self, x: Inputs) -> Value:
        _check_length(x, len(self.w), "Neuron")
        return self._act(F.dot(self.w, x, self.b))

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, {self.activation})"


class Layer(Module):
    """`nout` neurons that read the same inputs. Always returns a list, also of length 1."""

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
        _activation(activation)
        weights, biases = init_layer(nin, nout, rng or np.random.default_rng(seed), init)
        self.neurons = [Neuron(nin, activation, w, b) for w, b in zip(weights, biases)]

    @property
    def nin(self) -> int:
        return len(self.neurons[0].w)

    def __call__(self, x: Inputs) -> list[Value]:
        _check_length(x, self.nin, "Layer")
        inputs = F.as_values(x, "Layer")  # wrap plain numbers once, not once per neuron
        return [neuron(inputs) for neuron in self.neurons]

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {len(self.neurons)}, {self.neurons[0].activation})"


def mlp_plan(nin: int, nouts: Sequence[int], activation: str) -> list[tuple[int, int, str]]:
    """(inputs, outputs, activation) of each layer of an MLP: the hidden layers use `activation`,
    the last one is linear. Both paths' MLPs are built from it."""
    if not nouts:
        raise ValueError("an MLP needs at least one layer size in nouts")
    _activation(activation)
    sizes = [nin, *nouts]
    return [
        (sizes[i], sizes[i + 1], activation if i < len(nouts) - 1 else "linear")
        for i in range(len(nouts))
    ]


class MLP(Module):
    """Layers of sizes `nouts` after `nin` inputs; hidden layers use `activation`, the last is
    linear. Returns the last layer's outputs as a list."""

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

    def __call__(self, x: Inputs) -> list[Value]:
        _check_length(x, self.layers[0].nin, "MLP")
        out = self.layers[0](x)
        for layer in self.layers[1:]:
            out = layer(out)
        return out

    def __repr__(self) -> str:
        return "MLP(" + ", ".join(repr(layer) for layer in self.layers) + ")"
