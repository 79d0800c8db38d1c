"""The batch path of `nn`: layers on `Tensor`, one row per sample.

A `Linear` layer computes `x @ weight + bias` with `weight` of shape (nin, nout): column j holds
the weights of output j, which is neuron j of the scalar `Layer`. An MLP drawn from the same seed
and init as a scalar `nn.MLP` has the same weights, and `MLP.from_scalar` copies any scalar MLP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd_core import Tensor

from . import layers as scalar_layers
from .layers import init_layer
from .module import Module


def _as_input(x: Any, dtype: Any) -> Tensor:
    """Arrays and lists become constant Tensors of the model's dtype (no silent upcast)."""
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=dtype))


class Linear(Module):
    """x @ weight + bias; weights drawn as in `nn.layers.init_layer`, biases 0."""

    batched = True

    def __init__(
        self,
        nin: int,
        nout: int,
        seed: int | None = 0,
        init: str = "kaiming",
        dtype: Any = np.float64,
        rng: np.random.Generator | None = None,
    ) -> None:
        if nin < 1 or nout < 1:
            raise ValueError(f"Linear needs nin >= 1 and nout >= 1, got {nin} and {nout}")
        weights, biases = init_layer(nin, nout, rng or np.random.default_rng(seed), init)
        self.weight = Tensor(weights.T.copy(), requires_grad=True, dtype=dtype)
        self.bias = Tensor(biases, requires_grad=True, dtype=dtype)

    def __call__(self, x: Any) -> Tensor:
        x = _as_input(x, self.weight.dtype)
        nin = self.weight.shape[0]
        if x.shape[-1:] != (nin,):
            raise ValueError(f"Linear expects {nin} input features, got input of shape {x.shape}")
        return x @ self.weight + self.bias

    def __repr__(self) -> str:
        return f"Linear({self.weight.shape[0]} -> {self.weight.shape[1]})"


class Activation(Module):
    """An elementwise activation with no parameters, named as the scalar path names them."""

    batched = True

    def __init__(self, name: str) -> None:
        if name not in ("relu", "leaky_relu", "sigmoid", "tanh"):
            raise ValueError(
                f"unknown activation {name!r}; choose one of leaky_relu, relu, sigmoid, tanh"
            )
        self.name = name

    def __call__(self, x: Tensor) -> Tensor:
        result: Tensor = getattr(x, self.name)()
        return result

    def __repr__(self) -> str:
        return {"relu": "ReLU", "leaky_relu": "LeakyReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}[
            self.name
        ] + "()"


def ReLU() -> Activation:  # noqa: N802 - PyTorch's class-like name
    return Activation("relu")


def LeakyReLU() -> Activation:  # noqa: N802
    return Activation("leaky_relu")


def Sigmoid() -> Activation:  # noqa: N802
    return Activation("sigmoid")


def Tanh() -> Activation:  # noqa: N802
    return Activation("tanh")


class Sequential(Module):
    """Modules applied in order; parameters named `layers.<index>.<name>`."""

    batched = True

    def __init__(self, *layers: Module) -> None:
        self.layers = list(layers)

    def __call__(self, x: Any) -> Tensor:
        linear = next((layer for layer in self.layers if isinstance(layer, Linear)), None)
        out = _as_input(x, np.float64 if linear is None else linear.weight.dtype)
        for layer in self.layers:
            out = layer(out)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(map(repr, self.layers)) + ")"


class MLP(Sequential):
    """The batch twin of `nn.MLP`: same constructor, same weights from the same seed and init,
    hidden layers with `activation`, the last layer linear. Input (M, nin), output (M, nout)."""

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        seed: int | None = 0,
        init: str = "kaiming",
        dtype: Any = np.float64,
    ) -> None:
        rng = np.random.default_rng(seed)
        layers: list[Module] = []
        for n_in, n_out, act in scalar_layers.mlp_plan(nin, nouts, activation):
            layers.append(Linear(n_in, n_out, init=init, dtype=dtype, rng=rng))
            if act != "linear":
                layers.append(Activation(act))
        super().__init__(*layers)

    @classmethod
    def from_scalar(cls, scalar: scalar_layers.MLP, dtype: Any = np.float64) -> MLP:
        """A batch MLP with the architecture and the current weights of a scalar `nn.MLP`."""
        sizes = [len(layer.neurons) for layer in scalar.layers]
        activation = scalar.layers[0].neurons[0].activation if len(sizes) > 1 else "linear"
        model = cls(scalar.layers[0].nin, sizes, activation, dtype=dtype)
        linears = [layer for layer in model.layers if isinstance(layer, Linear)]
        for linear, layer in zip(linears, scalar.layers):
            weights = [[w.data for w in neuron.w] for neuron in layer.neurons]
            linear.weight.data = np.array(weights, dtype=dtype).T.copy()
            linear.bias.data = np.array([n.b.data for n in layer.neurons], dtype=dtype)
        return model
