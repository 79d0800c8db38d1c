"""Optimisers that read `.grad` and write `.data`, and nothing else.

So the same classes drive scalar `Value` parameters (float data) and array parameters (NumPy data):
every update below is written with operators that work on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .module import Parameter, zero_grad

LearningRate = float | Callable[[int], float]


class Optimizer:
    """Holds the parameters and the step count; `lr` is a number or a schedule `lr(step)`."""

    def __init__(self, params: Iterable[Parameter], lr: LearningRate) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not callable(lr) and not lr > 0:
            raise ValueError(f"{type(self).__name__} needs a positive learning rate, got {lr!r}")
        self.lr = lr
        self.steps = 0  # steps taken so far; a schedule is called with it before each step

    def current_lr(self) -> float:
        return float(self.lr(self.steps) if callable(self.lr) else self.lr)

    def zero_grad(self) -> None:
        zero_grad(self.params)

    def step(self) -> None:
        lr = self.current_lr()
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            # In place for an array (no new array per step for a large weight matrix); a float,
            # being immutable, is simply replaced.
            p.data -= lr * self._direction(i, p.grad, p.data)
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
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1), got {momentum!r}")
        if weight_decay < 0.0:
            raise ValueError(f"SGD weight_decay must be >= 0, got {weight_decay!r}")
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.velocity: list[Any] = [None] * len(self.params)

    def _direction(self, i: int, grad: Any, data: Any) -> Any:
        g = grad + self.weight_decay * data if self.weight_decay else grad
        if not self.momentum:
            return g
        previous = self.velocity[i]
        self.velocity[i] = g if previous is None else self.momentum * previous + g
        return self.velocity[i]


class Adam(Optimizer):
    """Adam (Kingma & Ba), with bias correction:

    m = b1 * m + (1 - b1) * g          v = b2 * v + (1 - b2) * g**2
    p = p - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas) or len(betas) != 2:
            raise ValueError(f"Adam betas must be two numbers in [0, 1), got {betas!r}")
        if not eps > 0:
            raise ValueError(f"Adam eps must be positive, got {eps!r}")
        self.betas = betas
        self.eps = eps
        self.first_moment: list[Any] = [0.0] * len(self.params)
        self.second_moment: list[Any] = [0.0] * len(self.params)

    def _direction(self, i: int, grad: Any, data: Any) -> Any:
        b1, b2 = self.betas
        t = self.steps + 1
        self.first_moment[i] = b1 * self.first_moment[i] + (1.0 - b1) * grad
        self.second_moment[i] = b2 * self.second_moment[i] + (1.0 - b2) * grad * grad
        m_hat = self.first_moment[i] / (1.0 - b1**t)
        v_hat = self.second_moment[i] / (1.0 - b2**t)
        return m_hat / (v_hat**0.5 + self.eps)
