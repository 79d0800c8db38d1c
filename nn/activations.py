"""Activations for both paths, read from the op table (`autograd_core.ops`).

An activation is an op that both node types implement as a method of the same name (`x.relu()`
on a Value and on a Tensor), so one lookup serves both paths: the scalar `Neuron`, `Layer` and
`MLP` take its name, and the modules below wrap it for `Sequential`. Adding an activation to the
op table (and to the two node types) makes it available here by name (`Activation("softplus")`);
its class under PyTorch's name is three lines below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from autograd_core import Tensor, Value, ops
from autograd_core import functional as F

from . import onnx_export
from .module import Module

LINEAR = "linear"  # no activation: the identity, which makes no node
NAMES: tuple[str, ...] = (*ops.ACTIVATIONS, LINEAR)

Node = TypeVar("Node", Value, Tensor)


def check_activation(name: str) -> str:
    """`name` if it is an activation (or "linear"), else ValueError listing the choices."""
    if name not in NAMES:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(NAMES)}")
    return name


def activate(x: Node, name: str, **options: float) -> Node:
    """The activation `name` of a Value or a Tensor (its method of that name), with `options`
    such as `slope` for leaky_relu or `alpha` for elu."""
    if name == LINEAR:
        return x
    method = getattr(x, name, None)
    if method is None:
        raise TypeError(f"{name} needs a Value or a Tensor, got {type(x).__name__}")
    result: Node = method(**options)
    return result


def activation_of(name: str) -> Callable[[list[Value]], list[Value]]:
    """The activation `name` over a list of Values, as one function (a layer looks it up once
    for all its neurons, not once per neuron)."""
    if name == LINEAR:
        return list
    method = getattr(Value, check_activation(name))
    return lambda values: [method(v) for v in values]


class Activation(Module):
    """An elementwise activation as a module with no parameters: `Activation("elu", alpha=0.5)`
    takes any activation of the op table; `ReLU()`, `Sigmoid()`, ... are the common ones named
    as in PyTorch."""

    def __init__(self, name: str, **options: float) -> None:
        self.name = check_activation(name)
        self.options = options

    def forward(self, x: Node) -> Node:
        return activate(x, self.name, **self.options)

    def onnx_graph(self, graph: onnx_export.OnnxGraph, x: str, name: str = "") -> str:
        return onnx_export.activation(graph, self.name, x, self.options)

    def __repr__(self) -> str:
        options = "".join(f", {key}={value!r}" for key, value in self.options.items())
        if type(self) is Activation:
            return f"Activation({self.name!r}{options})"
        return f"{type(self).__name__}({options.removeprefix(', ')})"


class Named(Activation):
    """An activation under PyTorch's name for it: a subclass says which op it is (`op`), and
    its constructor takes that op's params."""

    op: str = ""

    def __init__(self, **options: float) -> None:
        super().__init__(self.op, **options)


class ReLU(Named):
    """max(0, x), elementwise."""

    op = "relu"


class LeakyReLU(Named):
    """x for x > 0, else slope * x (PyTorch calls the slope `negative_slope`)."""

    op = "leaky_relu"

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__(slope=slope)


class Sigmoid(Named):
    """1 / (1 + e^-x), elementwise."""

    op = "sigmoid"


class Tanh(Named):
    """tanh(x), elementwise."""

    op = "tanh"


class ELU(Named):
    """x for x > 0, else alpha (e^x - 1)."""

    op = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(alpha=alpha)


class Softplus(Named):
    """log(1 + e^x), a smooth relu, elementwise (stable for large |x|)."""

    op = "softplus"


class SiLU(Named):
    """x * sigmoid(x) (swish), elementwise."""

    op = "silu"


class Softmax(Module):
    """softmax along `dim` (PyTorch's `nn.Softmax(dim)`): a Tensor's axis, or a list of Values
    (one axis). A classifier's head when probabilities are wanted; for training, give the logits
    to `cross_entropy`, which fuses the two."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: Any) -> Any:
        return F.softmax(x, dim=self.dim)

    def onnx_graph(self, graph: onnx_export.OnnxGraph, x: str, name: str = "") -> str:
        return graph.node("Softmax", [x], axis=self.dim)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class LogSoftmax(Softmax):
    """log softmax along `dim` (PyTorch's `nn.LogSoftmax(dim)`), computed as x - logsumexp(x)."""

    def forward(self, x: Any) -> Any:
        return F.log_softmax(x, dim=self.dim)

    def onnx_graph(self, graph: onnx_export.OnnxGraph, x: str, name: str = "") -> str:
        return graph.node("LogSoftmax", [x], axis=self.dim)


# The activations with a class of their own, under PyTorch's names.
NAMED: dict[str, type[Named]] = {cls.op: cls for cls in Named.__subclasses__()}

__all__ = ["Activation", "LogSoftmax", "Softmax", *(cls.__name__ for cls in NAMED.values())]


def activation_module(name: str) -> Activation:
    """The module for activation `name`: its named class (`ReLU()`) if it has one, else
    `Activation(name)`."""
    named = NAMED.get(check_activation(name))
    return named() if named is not None else Activation(name)
