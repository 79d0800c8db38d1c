"""The batch path of `nn`: layers on `Tensor`, one row per sample.

A `Linear` layer computes `x @ weight + bias` with `weight` of shape (nin, nout): column j holds
the weights of output j, which is neuron j of the scalar `Layer`. An MLP drawn from the same seed
and init as a scalar `nn.MLP` has the same weights, and `MLP.from_scalar` copies any scalar MLP.
The activation modules (`ReLU`, ...) are in `nn.activations`; they work on both paths.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

from autograd_core import Tensor, as_tensor

from . import onnx_export, scalar
from .activations import LINEAR, activation_module
from .module import Module, TorchTensor
from .scalar import init_layer


class Linear(Module):
    """x @ weight + bias; weights drawn as in `nn.scalar.init_layer`, biases 0."""

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

    def forward(self, x: Any) -> Tensor:
        # arrays and lists become constants of the layer's dtype (no silent upcast to float64)
        x = as_tensor(x, self.weight.dtype)
        nin = self.weight.shape[0]
        if x.shape[-1:] != (nin,):
            raise ValueError(f"Linear expects {nin} input features, got input of shape {x.shape}")
        return x.linear(self.weight, self.bias)  # x @ W + b as one node

    def torch_layout(self, prefix: str = "", torch_prefix: str = "") -> list[TorchTensor]:
        """`torch.nn.Linear`'s `weight` is (out, in), ours (in, out): the same matrix transposed."""
        nin, nout = self.weight.shape
        return [
            TorchTensor(
                torch_prefix + "weight", (nout, nin), (prefix + "weight",), (nin, nout), True
            ),
            TorchTensor(torch_prefix + "bias", (nout,), (prefix + "bias",), (nout,)),
        ]

    def onnx_graph(self, graph: onnx_export.OnnxGraph, x: str, name: str = "") -> str:
        """Gemm(x, W, b) with transB: x W^T + b, W in PyTorch's (out, in) layout."""
        weight = graph.weight(name + "weight", self.weight.data.T)
        bias = graph.weight(name + "bias", self.bias.data)
        return graph.node("Gemm", [x, weight, bias], transB=1)

    def __repr__(self) -> str:
        return f"Linear({self.weight.shape[0]} -> {self.weight.shape[1]})"


class Sequential(Module):
    """Modules applied in order; parameters named `layers.<index>.<name>`. Indexable as a list:
    `model[0]`, `model[-1]`, `len(model)`, `for layer in model`."""

    def __init__(self, *layers: Module) -> None:
        self.layers = list(layers)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def torch_layout(self, prefix: str = "", torch_prefix: str = "") -> list[TorchTensor]:
        """`torch.nn.Sequential` names its layers by position: `0.weight` for our
        `layers.0.weight`."""
        return [
            entry
            for index, layer in enumerate(self.layers)
            for entry in layer.torch_layout(f"{prefix}layers.{index}.", f"{torch_prefix}{index}.")
        ]

    def onnx_graph(self, graph: onnx_export.OnnxGraph, x: str, name: str = "") -> str:
        for index, layer in enumerate(self.layers):
            x = layer.onnx_graph(graph, x, f"{name}{index}.")
        return x

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(map(repr, self.layers)) + ")"


class MLP(Sequential):
    """The batch twin of the scalar `nn.MLP`: same constructor, same weights from the same seed
    and init, hidden layers with `activation`, the last layer linear. Input (M, nin), output
    (M, nout)."""

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
        for n_in, n_out, act in scalar.mlp_plan(nin, nouts, activation):
            layers.append(Linear(n_in, n_out, init=init, dtype=dtype, rng=rng))
            if act != LINEAR:
                layers.append(activation_module(act))
        super().__init__(*layers)

    @classmethod
    def from_scalar(cls, model: scalar.MLP, dtype: Any = np.float64) -> MLP:
        """A batch MLP with the architecture and the current weights of a scalar `nn.MLP`."""
        sizes = [len(layer.neurons) for layer in model.layers]
        activation = model.layers[0].neurons[0].activation if len(sizes) > 1 else LINEAR
        batch = cls(model.layers[0].nin, sizes, activation, dtype=dtype)
        linears = [layer for layer in batch.layers if isinstance(layer, Linear)]
        for linear, layer in zip(linears, model.layers):
            weights = [[w.data for w in neuron.w] for neuron in layer.neurons]
            linear.weight.set_data(np.array(weights).T)
            linear.bias.set_data([n.b.data for n in layer.neurons])
        return batch
