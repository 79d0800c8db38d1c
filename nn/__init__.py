"""nn: neural-network building blocks on top of autograd_core.

Scalar path: `Neuron`, `Layer`, `MLP` on `Value`. Losses and optimisers work on any parameter
with `.data` and `.grad`.
"""

from . import data, losses, optim
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
    "Module",
    "Neuron",
    "accuracy",
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
