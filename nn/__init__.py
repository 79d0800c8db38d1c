"""nn: neural-network building blocks on top of autograd_core.

Scalar path: `Neuron`, `Layer`, `MLP` on `Value`. Batch path: `Linear`, `ReLU`, `Sigmoid`, `Tanh`,
`Sequential` and `batch.MLP` on `Tensor`. Losses and optimisers serve both: they work on any
parameter with `.data` and `.grad`.
"""

from . import batch, data, losses, optim
from .batch import LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from .layers import MLP, Layer, Neuron
from .losses import binary_hinge, cross_entropy, hinge, l2, mse
from .module import Module
from .optim import SGD, Adam
from .train import accuracy, evaluate, fit

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "Layer",
    "LeakyReLU",
    "Linear",
    "Module",
    "Neuron",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "accuracy",
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
]
