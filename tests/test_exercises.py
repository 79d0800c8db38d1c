"""Every exercise of the lessons, answered right (accepted), wrong (caught, with a reason) and not
at all (the placeholder: "not done"); and every exercise is asked in a lesson."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nn
from autograd_core import Value
from course.exercises import EXERCISES, TODO, check

ROOT = Path(__file__).resolve().parent.parent


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _train(model: Any, X: Any, y: Any, lr: float, steps: int, zero: bool = True) -> list[float]:
    losses = []
    for _ in range(steps):
        if zero:
            model.zero_grad()
        loss = nn.mse(model(X), y)
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(loss.data)
    return losses


def _sin_node(x: Value, local: Any = math.cos) -> Value:
    return Value(math.sin(x.data), op="sin", parents=(x,), local_grads=(local(x.data),))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _neuron(w: list[float], x: list[float], swap: bool = False) -> Any:
    s = _sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    g = s * (1 - s)
    if swap:  # the mul gate's inputs not swapped: a classic slip
        return [g * w[0], g * w[1], g], [g * x[0], g * x[1]]
    return [g * x[0], g * x[1], g], [g * w[0], g * w[1]]


DERIVATIVES = {
    "relu": lambda z: float(z > 0),
    "leaky_relu": lambda z: 1.0 if z > 0 else 0.01,
    "sigmoid": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
    "tanh": lambda z: 1 - math.tanh(z) ** 2,
    "elu": lambda z: 1.0 if z > 0 else math.exp(z),
}


def _update(W: Any, b: Any, x: Any, t: Any, eta: float, lam: float, two: float = 2.0) -> Any:
    y = _softmax(x @ W + b)
    return W - eta * (np.outer(x, y - t) + two * lam * W), b - eta * (y - t)


def _input_grad(W: Any, b: Any, u: Any, label: int, sign: float = 1.0) -> Any:
    side = math.isqrt(u.size)
    return sign * (W.T @ (_softmax(W @ u + b) - np.eye(10)[label])).reshape(side, side)


# name -> (a right answer, a wrong answer, words the wrong answer's message must contain)
ANSWERS: dict[str, tuple[Any, Any, str]] = {
    "central_difference": (
        lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h),
        lambda f, x, h: (f(x + h) - f(x)) / h,
        "forward difference",
    ),
    "svm_loss": (
        lambda s, y: sum(max(0.0, s[j] - s[y] + 1) for j in range(len(s)) if j != y),
        lambda s, y: sum(max(0.0, s[j] - s[y] + 1) for j in range(len(s))),
        "one margin too much",
    ),
    "chain_rule": ((-3.0, -3.0, 3.0), (-3.0, -3.0, -3.0), "df/dz is wrong"),
    "custom_op": (_sin_node, lambda x: _sin_node(x, math.sin), "disagrees"),
    "sigmoid_local_grad": (
        lambda s: s * (1 - s),
        lambda s: _sigmoid(s) * (1 - _sigmoid(s)),
        "function of s",
    ),
    "neuron_backward": (_neuron, lambda w, x: _neuron(w, x, swap=True), "dL/dw"),
    "activation_derivatives": (
        DERIVATIVES,
        {**DERIVATIVES, "leaky_relu": lambda z: 1.0 if z > 0 else 0.1},  # the 0.1 of note 004
        "leaky_relu",
    ),
    "collapse": (lambda W1, W2: W2 @ W1, lambda W1, W2: W2, "C x H"),
    "stable_softmax": (_softmax, lambda z: np.exp(z) / np.exp(z).sum(), "overflow"),
    "ce_grad": (
        lambda z, k: _softmax(z) - np.eye(len(z))[k],
        lambda z, k: np.eye(len(z))[k] - _softmax(z),
        "wrong sign",
    ),
    "sgd_update": (
        _update,
        lambda W, b, x, t, eta, lam: (
            W.T - eta * np.outer(_softmax(x @ W + b) - t, x),
            b - eta * (_softmax(x @ W + b) - t),
        ),
        "x (y - t)^T",
    ),
    "weight_decay": (0.002, 0.001, "lambda"),
    "input_gradient_image": (
        _input_grad,
        lambda W, b, u, k: _input_grad(W, b, u, k, sign=-1.0),
        "sign",
    ),
    "train_loop": (_train, lambda m, X, y, lr, n: _train(m, X, y, lr, n, zero=False), "zero_grad"),
    "layer_backward": (
        lambda W, x, d: (np.outer(d, x), d, W.T @ d),
        lambda W, x, d: (np.outer(x, d), d, W.T @ d),
        "shape",
    ),
    "grad_w1": (
        lambda x, h, g: x.T @ (g * h * (1 - h)),
        lambda x, h, g: x.T @ g,
        "h (1 - h)",
    ),
    "relu_backward": (
        lambda x, up: np.where(x > 0, up, 0.0),
        lambda x, up: np.where(up > 0, up, 0.0),
        "mask is x > 0",
    ),
    "jacobian_bytes": (64 * 4096 * 64 * 4096 * 4, 64 * 4096 * 64 * 4096 * 8, "float64"),
    "matmul_backward": (
        lambda x, w, dy: (dy @ w.T, x.T @ dy),
        lambda x, w, dy: (dy @ w.T, dy.T @ x),
        "dw has shape (4, 3)",
    ),
    "batch_grads": (
        lambda Y, D: (Y.T @ D / len(Y), D.mean(axis=0)),
        lambda Y, D: (Y.T @ D, D.mean(axis=0)),
        "M = 6 times",
    ),
}


def test_every_exercise_has_answers() -> None:
    assert set(ANSWERS) == set(EXERCISES)


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_a_right_answer_is_accepted(name: str) -> None:
    result = check(name, ANSWERS[name][0])
    assert result.status == "ok", str(result)
    assert result.ok and "OK" in str(result)


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_a_wrong_answer_is_caught(name: str) -> None:
    _, wrong, reason = ANSWERS[name]
    result = check(name, wrong)
    assert result.status == "wrong" and not result
    assert reason in result.message, result.message


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_the_placeholder_is_not_done(name: str) -> None:
    assert check(name, TODO).status == "not done"
    right = ANSWERS[name][0]
    if callable(right):  # a function whose body is still `return TODO`
        assert check(name, lambda *args: TODO).status == "not done"


def test_a_wrong_local_gradient_is_drawn_red() -> None:
    result = check("custom_op", lambda x: _sin_node(x, math.sin))
    assert result.picture is not None
    svg = result.picture.pipe(format="svg").decode()
    assert "#f4a6a6" in svg  # the wrong node's colour
    assert "<svg" in result._repr_html_()


def test_the_chain_rule_picture_shows_local_gradients_not_the_answer() -> None:
    result = check("chain_rule", (1.0, 1.0, 1.0))
    source = result.picture.source
    assert "local -3" in source and "grad" not in source.replace("gradient", "")


def test_code_that_raises_is_reported_not_raised() -> None:
    result = check("relu_backward", lambda x, up: 1 / 0)
    assert result.status == "wrong" and "ZeroDivisionError" in result.message


def test_every_exercise_is_asked_in_its_lesson_with_the_placeholder() -> None:
    asked: dict[str, str] = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            for name in re.findall(r'check\("(\w+)"', source):
                assert "TODO" in source, f"{path.name}: the cell of {name} has no placeholder"
                asked[name] = path.stem
    assert asked == {name: exercise.lesson for name, exercise in EXERCISES.items()}


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("chain_rule", [math.nan] * 3),
        ("sigmoid_local_grad", lambda *args: math.nan),
        ("svm_loss", lambda *args: math.nan),
        ("central_difference", lambda *args: math.nan),
        ("activation_derivatives", lambda *args: math.nan),
        ("weight_decay", math.nan),
    ],
)
def test_a_nan_answer_is_never_accepted(name: str, answer: Any) -> None:
    result = check(name, answer)
    assert result.status == "wrong", result


def test_relu_backward_is_checked_at_zero_too() -> None:
    result = check("relu_backward", lambda x, upstream: np.where(x >= 0, upstream, 0.0))
    assert result.status == "wrong" and "at x = 0 relu is flat" in result.message
