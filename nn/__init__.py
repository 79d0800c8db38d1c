"""nn: neural-network building blocks on top of autograd_core, on both paths.

Scalar path (`nn.scalar`, on `Value`, as in micrograd): `Neuron`, `Layer`, `MLP`.
Batch path (`nn.batch`, on `Tensor`, as in PyTorch): `Linear`, `Sequential`, `nn.batch.MLP`.
Both: the activation modules (`ReLU`, `LeakyReLU`, `Sigmoid`, `Tanh`, `ELU`, `Softplus`, `SiLU`,
`Activation(name)`), the `Softmax` and `LogSoftmax` heads,
the losses, the optimisers (they work on any parameter with `.data` and `.grad`), `fit`.
"""

from . import activations, batch, data, losses, optim, scalar
from .activations import (
    ELU,
    Activation,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .batch import Linear, Sequential
from .losses import binary_hinge, cross_entropy, hinge, l2, mse
from .module import Module
from .optim import SGD, Adam
from .scalar import MLP, Layer, Neuron
from .train import accuracy, evaluate, fit

__all__ = [
    "ELU",
    "MLP",
    "SGD",
    "Activation",
    "Adam",
    "Layer",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "Module",
    "Neuron",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "accuracy",
    "activations",
    "batch",
    "binary_hinge",
    "cross_entropy",
    "data",
    "evaluate",
    "fit",
    "hinge",
    "l2",
    "losses",
    "mse",
    "optim",
    "scalar",
]
