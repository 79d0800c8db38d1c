"""Optimisers that read `.grad` and write `.data`, and nothing else.

So the same classes drive scalar `Value` parameters (float data) and array parameters (NumPy data):
every update below is written with operators that work on both.

Bad settings are refused when the optimiser is made, and a bad step before any parameter moves:
a step either updates every parameter that has a gradient, or none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any

import numpy as np

from autograd_core.graph import GRAPH_WALK, is_node, numbers_of

from .module import Parameter, zero_grad

LearningRate = float | Callable[[int], float]


def checked_number(
    who: str, name: str, value: object, low: float, high: float = math.inf, *, open_low: bool
) -> float:
    """`value` as a float if it is a finite real number in [low, high) (or (low, high) with
    `open_low`), else ValueError (TypeError for a non-number) naming `who`, `name` and the value."""
    interval = f"{'(' if open_low else '['}{low:g}, {high:g})"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{who}: {name} must be a real number in {interval}, got {value!r}")
    number = float(value)
    inside = (low < number if open_low else low <= number) and number < high
    if not (math.isfinite(number) and inside):
        raise ValueError(f"{who}: {name} must be a finite number in {interval}, got {value!r}")
    return number


class Optimizer:
    """Holds the parameters and the step count; `lr` is a number or a schedule `lr(step)`.

    A parameter is named in errors by its label (`nn` labels parameters with their dotted names,
    such as `layers.0.neurons.3.w.1`), else by its position in the list.
    """

    def __init__(self, params: Iterable[Parameter], lr: LearningRate) -> None:
        who = type(self).__name__
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{who} got an empty parameter list; expected at least one")
        seen: dict[int, int] = {}
        for i, p in enumerate(self.params):
            if not is_node(p):  # an array or a number has no .grad to step by
                raise TypeError(
                    f"{who}: parameter #{i} is {type(p).__name__} {p!r:.60}, not a Value or a "
                    "Tensor; pass model.parameters(), or Tensor(array, requires_grad=True)"
                )
            if id(p) in seen:
                # stepping it twice per step would silently double its learning rate
                raise ValueError(
                    f"{who}: parameter {self.name_of(seen[id(p)])} is listed twice (positions "
                    f"{seen[id(p)]} and {i}); expected each parameter once"
                )
            seen[id(p)] = i
        if not callable(lr):
            checked_number(who, "lr (the learning rate)", lr, 0.0, open_low=True)
        self.lr = lr
        self.steps = 0  # steps taken so far; a schedule is called with it before each step

    def name_of(self, i: int) -> str:
        label = getattr(self.params[i], "label", "")
        return repr(label) if label else f"#{i}"

    def current_lr(self) -> float:
        """The learning rate of the coming step; a schedule must give a finite number >= 0."""
        if not callable(self.lr):
            return float(self.lr)
        rate = self.lr(self.steps)
        who = f"{type(self).__name__}: the learning-rate schedule at step {self.steps}"
        return checked_number(who, "its result", rate, 0.0, open_low=False)

    def zero_grad(self) -> None:
        zero_grad(self.params)

    def step(self) -> None:
        """Update every parameter that has a gradient (a Tensor without one is skipped).

        Holds `GRAPH_WALK` while it reads the gradients, so a backward pass in another thread
        (one model trained from two threads) never shows it a gradient half made."""
        with GRAPH_WALK:
            self._step()

    def _step(self) -> None:
        lr = self.current_lr()
        grads = [numbers_of(p.grad) for p in self.params]  # a recorded grad steps by its data
        for i, (p, grad) in enumerate(zip(self.params, grads)):
            # NumPy would broadcast a smaller gradient over the parameter without a word. (A
            # float has no `shape`: () is its shape, and getattr is far cheaper than np.shape.)
            if grad is not None and getattr(grad, "shape", ()) != getattr(p.data, "shape", ()):
                raise ValueError(
                    f"{type(self).__name__}.step: the gradient of parameter {self.name_of(i)} "
                    f"has shape {np.shape(grad)}; expected the parameter's "
                    f"{np.shape(p.data)}"
                )
        for i, (p, grad) in enumerate(zip(self.params, grads)):
            if grad is None:
                continue
            # In place for an array (no new array per step for a large weight matrix); a float,
            # being immutable, is simply replaced.
            p.data -= lr * self._direction(i, grad, p.data)
        self.steps += 1

    def _direction(self, i: int, grad: Any, data: Any) -> Any:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, as PyTorch's `torch.optim.SGD`:

    g = grad + weight_decay * p
    v = momentum * v + g        (v = g on the first step)
    p = p - lr * v
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: LearningRate,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = checked_number("SGD", "momentum", momentum, 0.0, 1.0, open_low=False)
        self.weight_decay = checked_number("SGD", "weight_decay", weight_decay, 0.0, open_low=False)
        self.velocity: list[Any] = [None] * len(self.params)

    def _direction(self, i: int, grad: Any, data: Any) -> Any:
        g = grad + self.weight_decay * data if self.weight_decay else grad
        if not self.momentum:
            return g
        previous = self.velocity[i]
        if previous is None:  # a copy: the buffer must not be the gradient array itself
            self.velocity[i] = g.copy() if isinstance(g, np.ndarray) else g
        else:
            self.velocity[i] = self.momentum * previous + g
        return self.velocity[i]


class Adam(Optimizer):
    """Adam (Kingma & Ba), with bias correction by each parameter's own step count t:

    m = b1 * m + (1 - b1) * g          v = b2 * v + (1 - b2) * g**2
    p = p - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)

    t counts the steps in which that parameter had a gradient (as PyTorch's per-parameter
    state): a Tensor that gets its first gradient at step 101 is corrected as at its first step.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        self.betas = (
            checked_number("Adam", "betas[0]", betas[0], 0.0, 1.0, open_low=False),
            checked_number("Adam", "betas[1]", betas[1], 0.0, 1.0, open_low=False),
        )
        self.eps = checked_number("Adam", "eps", eps, 0.0, open_low=True)
        self.first_moment: list[Any] = [0.0] * len(self.params)
        self.second_moment: list[Any] = [0.0] * len(self.params)
        self.param_steps: list[int] = [0] * len(self.params)  # t, per parameter

    def _direction(self, i: int, grad: Any, data: Any) -> Any:
        b1, b2 = self.betas
        self.param_steps[i] += 1
        t = self.param_steps[i]
        self.first_moment[i] = b1 * self.first_moment[i] + (1.0 - b1) * grad
        self.second_moment[i] = b2 * self.second_moment[i] + (1.0 - b2) * grad * grad
        m_hat = self.first_moment[i] / (1.0 - b1**t)
        v_hat = self.second_moment[i] / (1.0 - b2**t)
        return m_hat / (v_hat**0.5 + self.eps)
