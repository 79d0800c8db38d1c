"""Exercises that check themselves, one `check(name, answer)` for every exercise in the lessons.

In a lesson the student's cell starts with a placeholder::

    from course.exercises import TODO, check

    def relu_backward(x, upstream):
        return TODO  # your code

    check("relu_backward", relu_backward)

`check` never raises for a wrong answer: it returns a `Result` whose status is "ok", "not done"
(the placeholder `TODO` is still there, or the function returns it) or "wrong", with a message
saying what is wrong, and for some exercises a picture (a graph drawn by `visualize`, the wrong
node in red). In a notebook the result shows as its message and picture.

The answers are not in this module's docstrings or messages: a message says what is wrong (which
gradient, which shape, which sign), never the whole solution. `tests/test_exercises.py` runs
every exercise with a right answer (accepted) and a wrong one (caught).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import nn
from autograd_core import (
    Context,
    Function,
    NonFiniteError,
    Tensor,
    Value,
    detect_anomaly,
    gradcheck,
    topological_order,
)
from visualize import check_local_grads, draw_anomaly, draw_graph

from .bug_lab import backward_with, engine_grads

TODO: Any = ...  # the placeholder in a student's cell: an exercise that returns it is "not done"


class NotDoneError(Exception):
    """The answer (or what it returned) is still the placeholder."""


class WrongError(Exception):
    """The answer is wrong; the message says how, `picture` may show where."""

    def __init__(self, message: str, picture: Any = None) -> None:
        super().__init__(message)
        self.picture = picture


@dataclass(frozen=True)
class Result:
    """What `check` found: `status` is "ok", "not done" or "wrong"."""

    exercise: str
    status: str
    message: str
    picture: Any = None  # a graphviz.Digraph that shows what is wrong, or None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = {"ok": "OK", "not done": "not done yet", "wrong": "not yet right"}[self.status]
        return f"{self.exercise}: {head}. {self.message}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {"ok": "#1a7f37", "not done": "#6e7781", "wrong": "#cf222e"}[self.status]
        text = html.escape(str(self))
        body = f'<p style="color:{colour};font-weight:bold">{text}</p>'
        if self.picture is not None:
            svg = self.picture.pipe(format="svg").decode()
            body += svg[svg.find("<svg") :]
        return body


@dataclass(frozen=True)
class Exercise:
    name: str
    lesson: str
    task: str  # what to write, in one line
    checker: Callable[[Any], str]  # returns the OK message, raises NotDoneError or WrongError


EXERCISES: dict[str, Exercise] = {}


def exercise(lesson: str, task: str) -> Callable[[Callable[[Any], str]], Callable[[Any], str]]:
    def register(checker: Callable[[Any], str]) -> Callable[[Any], str]:
        name = checker.__name__.removeprefix("_")
        EXERCISES[name] = Exercise(name, lesson, task, checker)
        return checker

    return register


def check(name: str, answer: Any) -> Result:
    """Check `answer` to the exercise `name`; never raises for a wrong or unfinished answer."""
    if name not in EXERCISES:
        raise KeyError(f"no exercise {name!r}; the exercises are {sorted(EXERCISES)}")
    task = EXERCISES[name]
    if answer is TODO or answer is None:
        return Result(name, "not done", f"Replace TODO: {task.task}")
    try:
        message = task.checker(answer)
    except NotDoneError:
        return Result(name, "not done", f"Your function still returns TODO: {task.task}")
    except WrongError as wrong:
        return Result(name, "wrong", str(wrong), wrong.picture)
    except Exception as error:  # the student's code raised: say so, as a wrong answer
        return Result(name, "wrong", f"your code raised {type(error).__name__}: {error}")
    return Result(name, "ok", message)


# ---- helpers ------------------------------------------------------------------------------------


def _call(function: Any, *args: Any) -> Any:
    if not callable(function):
        raise WrongError(f"expected a function, got {type(function).__name__}")
    out = function(*args)
    if out is TODO or out is None:
        raise NotDoneError
    return out


def _array(
    value: Any, what: str, shape: tuple[int, ...] | None = None, finite: bool = True
) -> np.ndarray:
    if value is TODO or value is None:
        raise NotDoneError
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise WrongError(f"{what} should be numbers, got {type(value).__name__}") from None
    if shape is not None and array.shape != shape:
        raise WrongError(f"{what} has shape {array.shape}, it should have shape {shape}")
    if finite and not np.all(np.isfinite(array)):  # (a nan also slips past every `>` test)
        raise WrongError(f"{what} holds nan or inf: {array}")
    return array


def _close(got: np.ndarray, want: np.ndarray, what: str, tol: float = 1e-8) -> None:
    if not np.allclose(got, want, rtol=tol, atol=tol):
        where = np.unravel_index(np.argmax(np.abs(got - want)), want.shape) if want.ndim else ()
        index = f" at index {tuple(int(i) for i in where)}" if where else ""
        worst = got[where] if want.ndim else got
        raise WrongError(f"{what} is wrong{index}: you give {float(worst):.6g}")


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---- 00 the linear model ------------------------------------------------------------------------


@exercise("00_linear_model", "write derivative(f, x, h), the central difference of f at x")
def _central_difference(derivative: Any) -> str:
    h = 1e-3
    cases = [
        (lambda x: x**3, 1.0, 3.0),
        (math.sin, 0.3, math.cos(0.3)),
        (math.exp, -1.0, 1 / math.e),
    ]
    for f, x, slope in cases:
        got = float(_call(derivative, f, x, h))
        error = abs(got - slope)
        forward = (f(x + h) - f(x)) / h
        if abs(got - forward) < 1e-12:
            raise WrongError(
                f"at x = {x} you return (f(x+h) - f(x))/h, the forward difference: its error "
                f"{error:.1e} shrinks like h, the central one's like h^2"
            )
        if not error <= 1e-5:
            raise WrongError(f"at x = {x} you give {got:.8f}, off by {error:.1e} at h = {h}")
    return "central differences: error O(h^2), about 1e-6 at h = 1e-3."


@exercise("00_linear_model", "write svm_loss(scores, label): the multiclass SVM loss, margin 1")
def _svm_loss(svm_loss: Any) -> str:
    cases = [([3.2, 5.1, -1.7], 0, 2.9), ([1.3, 4.9, 2.0], 1, 0.0), ([2.2, 2.5, -3.1], 2, 12.9)]
    for scores, label, want in cases:
        got = float(_call(svm_loss, np.array(scores), label))
        if abs(got - want - 1.0) < 1e-9:
            raise WrongError(
                f"scores {scores}, label {label}: you give {got:.4g}, one margin too much: "
                "the sum skips j = label"
            )
        if not abs(got - want) <= 1e-9:
            raise WrongError(f"scores {scores}, label {label}: you give {got:.4g}")
    return "the SVM loss sums max(0, s_j - s_label + 1) over the wrong classes."


# ---- 01 the chain rule --------------------------------------------------------------------------


@exercise("01_chain_rule", "give (df/dx, df/dy, df/dz) for f = (x + y) z at x = 1, y = 2, z = -3")
def _chain_rule(answer: Any) -> str:

    got = _array(answer, "your answer", (3,))
    x, y, z = Value(1.0, "x"), Value(2.0, "y"), Value(-3.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    f.backward()
    want = np.array([x.grad, y.grad, z.grad])
    wrong = [name for name, g, w in zip("xyz", got, want) if not abs(g - w) <= 1e-9]
    if wrong:
        picture = draw_graph(f, show_grad=False, local_grads=True)
        raise WrongError(
            f"df/d{', df/d'.join(wrong)} {'is' if len(wrong) == 1 else 'are'} wrong: multiply "
            "the local gradients on the edges along the path from f (the picture shows them)",
            picture,
        )
    return "upstream x local along every path."


@exercise("01_chain_rule", "write sin_node(x): a Value for sin(x) with its local gradient")
def _custom_op(sin_node: Any) -> str:

    for point in (0.5, -1.3, 2.0):
        x = Value(point, "x")
        node = _call(sin_node, x)
        if not isinstance(node, Value) or node.parents != (x,):
            raise WrongError("return Value(..., op='sin', parents=(x,), local_grads=(...,))")
        if not abs(node.data - math.sin(point)) <= 1e-12:
            raise WrongError(f"at x = {point} the value is {node.data:.6g}, not sin(x)")
        node.label = "s"
        report = check_local_grads(node * 2.0, functions={node.op: math.sin})
        if not report.ok:
            raise WrongError(
                f"at x = {point} the stored local gradient disagrees with central differences "
                "(the red node)",
                report.draw(),
            )
    return "your sin node's local gradient matches central differences."


# ---- 02 the sigmoid neuron ----------------------------------------------------------------------


@exercise("02_sigmoid_neuron", "write local(s): the sigmoid's local gradient from its output s")
def _sigmoid_local_grad(local: Any) -> str:
    for z in (-2.0, 0.0, 1.0, 3.0):
        s = 1.0 / (1.0 + math.exp(-z))
        got = float(_call(local, s))
        want = Value(z).sigmoid().local_grads[0]
        if not abs(got - want) <= 1e-12:
            raise WrongError(f"at s = {s:.4f} (z = {z}) you give {got:.6g}; it is a function of s")
    return "d sigma/dz = sigma (1 - sigma), from the output alone."


@exercise(
    "02_sigmoid_neuron",
    "write neuron_backward(w, x) -> (grads of w0 w1 w2, grads of x0 x1) for sigmoid(w0x0+w1x1+w2)",
)
def _neuron_backward(neuron_backward: Any) -> str:
    points = [([2.0, -3.0, -3.0], [-1.0, -2.0]), ([0.5, 1.5, -0.2], [1.0, -0.7])]
    for w, x in points:
        out = _call(neuron_backward, list(w), list(x))
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise WrongError("return two things: the three weight gradients, the two input ones")
        gw, gx = _array(out[0], "dL/dw", (3,)), _array(out[1], "dL/dx", (2,))
        ws, xs = [Value(v) for v in w], [Value(v) for v in x]
        (ws[0] * xs[0] + ws[1] * xs[1] + ws[2]).sigmoid().backward()
        _close(gw, np.array([v.grad for v in ws]), f"dL/dw at w = {w}, x = {x}", 1e-10)
        _close(gx, np.array([v.grad for v in xs]), f"dL/dx at w = {w}, x = {x}", 1e-10)
    return "the neuron's five gradients, by hand, equal the engine's."


# ---- 03 activations -----------------------------------------------------------------------------

_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "elu")


@exercise("03_activations", "fill derivatives: activation name -> function giving its derivative")
def _activation_derivatives(derivatives: Any) -> str:
    if not isinstance(derivatives, dict):
        raise WrongError("give a dict: name -> derivative function")
    missing = [n for n in _ACTIVATIONS if derivatives.get(n) in (None, TODO)]
    if len(missing) == len(_ACTIVATIONS):
        raise NotDoneError
    for name in _ACTIVATIONS:
        if name in missing:
            raise WrongError(f"the derivative of {name} is still missing")
        for z in (-2.0, -0.5, 0.7, 3.0):
            want = getattr(Value(z), name)().local_grads[0]
            got = float(_call(derivatives[name], z))
            if not abs(got - want) <= 1e-9:
                raise WrongError(f"{name}'(z) at z = {z}: you give {got:.6g}")
    return "five activations, five derivatives (leaky_relu's slope 0.01, elu's alpha 1)."


@exercise("03_activations", "write collapse(W1, W2): the one matrix W with W x = W2 (W1 x)")
def _collapse(collapse: Any) -> str:
    rng = _rng(3)
    D, H, C = 5, 4, 3
    W1, W2 = rng.normal(size=(H, D)), rng.normal(size=(C, H))
    W = _array(_call(collapse, W1, W2), "W")
    if W.shape == (C, H):
        raise WrongError(f"W has shape {W.shape} = C x H (the notes' slip): W x needs D columns")
    if W.shape != (C, D):
        raise WrongError(f"W has shape {W.shape}; it maps x (D = {D}) to C = {C} scores")
    x = rng.normal(size=D)
    _close(W @ x, W2 @ (W1 @ x), "W x")
    return "two linear layers are one linear layer: W = W2 W1, of shape C x D."


# ---- 04 softmax and cross-entropy ---------------------------------------------------------------


@exercise("04_softmax_cross_entropy", "write softmax(z) for a 1-D array that never overflows")
def _stable_softmax(softmax: Any) -> str:
    for z in ([1.0, 2.0, 3.0], [1000.0, 999.0, 998.0], [0.0, -1000.0], [-800.0, -801.0]):
        with np.errstate(all="ignore"):
            got = _array(_call(softmax, np.array(z)), f"softmax({z})", (len(z),), finite=False)
        if not np.all(np.isfinite(got)):
            raise WrongError(f"softmax({z}) gives {got}: exp overflowed; shift the logits first")
        _close(got, _softmax(np.array(z)), f"softmax({z})", 1e-12)
    return "shifting by the max changes nothing but the overflow."


@exercise("04_softmax_cross_entropy", "write ce_grad(z, label): dL/dz of -log softmax(z)[label]")
def _ce_grad(ce_grad: Any) -> str:
    for z, label in (([1.0, 2.0, 3.0], 1), ([2.0, 1.0, 0.1], 0), ([0.3, -2.0, 0.5, 4.0], 3)):
        got = _array(_call(ce_grad, np.array(z), label), "dL/dz", (len(z),))
        want = _softmax(np.array(z)) - np.eye(len(z))[label]
        if np.allclose(got, -want):
            raise WrongError(f"at z = {z} your gradient has the wrong sign: it points uphill")
        _close(got, want, f"dL/dz at z = {z}, label {label}", 1e-10)
    return "dL/dz = y - t."


# ---- 05 softmax regression ----------------------------------------------------------------------


def _reference_update(
    W: np.ndarray, b: np.ndarray, x: np.ndarray, t: np.ndarray, eta: float, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    y = _softmax(x @ W + b)
    return W - eta * (np.outer(x, y - t) + 2 * lam * W), b - eta * (y - t)


@exercise(
    "05_softmax_regression",
    "write update(W, b, x, t, eta, lam) -> (W, b) after one SGD step; W is n x K, z = x W + b",
)
def _sgd_update(update: Any) -> str:
    rng = _rng(5)
    n, K = 4, 3
    W, b, x = rng.normal(size=(n, K)), rng.normal(size=K), rng.normal(size=n)
    t = np.eye(K)[2]
    out = _call(update, W.copy(), b.copy(), x.copy(), t, 0.1, 0.01)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise WrongError("return the new W and the new b")
    new_W, new_b = _array(out[0], "W"), _array(out[1], "b", (K,))
    if new_W.shape == (K, n):
        raise WrongError(
            f"W has shape {new_W.shape}: with W of shape n x K the data gradient is x (y - t)^T, "
            "not (y - t) x^T (the slip in the notes' 7.7)"
        )
    if new_W.shape != (n, K):
        raise WrongError(f"W has shape {new_W.shape}, it should keep shape {(n, K)}")
    want_W, want_b = _reference_update(W, b, x, t, 0.1, 0.01)
    without_two = W - 0.1 * (np.outer(x, _softmax(x @ W + b) - t) + 0.01 * W)
    if np.allclose(new_W, without_two, atol=1e-12):
        raise WrongError("the weight decay is half what it should be: d(lam W^2)/dW = 2 lam W")
    _close(new_W, want_W, "the new W", 1e-10)
    _close(new_b, want_b, "the new b", 1e-10)
    return "W <- (1 - 2 eta lam) W - eta x (y - t)^T, b <- b - eta (y - t)."


@exercise("05_softmax_regression", "give the weight_decay of SGD that adds 0.001 * sum(W**2)")
def _weight_decay(value: Any) -> str:
    got = float(_array(value, "weight_decay"))
    if abs(got - 0.001) < 1e-15:
        raise WrongError("0.001 is lambda; SGD adds weight_decay * W to the gradient of lam W^2")
    if not abs(got - 0.002) <= 1e-15:
        raise WrongError(f"{got} does not give the gradient of 0.001 * sum(W**2)")
    return "weight_decay = 2 lambda."


# ---- 06 MNIST 784 -> 10 -------------------------------------------------------------------------


@exercise(
    "06_mnist_softmax",
    "write input_grad(W, b, u, label): dL/du of v = W u + b, cross-entropy, as a square image",
)
def _input_gradient_image(input_grad: Any) -> str:
    rng = _rng(6)
    for side in (8, 28):
        W, b = rng.normal(size=(10, side * side)) * 0.05, rng.normal(size=10)
        u, label = rng.uniform(size=side * side), 7
        got = _array(_call(input_grad, W, b, u, label), "dL/du")
        if got.shape != (side, side):
            raise WrongError(f"for a {side} x {side} image dL/du has shape {got.shape}: reshape it")
        want = (W.T @ (_softmax(W @ u + b) - np.eye(10)[label])).reshape(side, side)
        if np.allclose(got, -want):
            raise WrongError("the sign is flipped (L = -sum t log y: the notes drop the minus)")
        _close(got, want, f"dL/du for a {side} x {side} image", 1e-10)
    return "dL/du = W^T (y - t), reshaped back to the image."


# ---- 07 an MLP from scratch ---------------------------------------------------------------------


def _train_reference(
    model: Any, X: list[list[float]], y: list[float], lr: float, steps: int, zero: bool = True
) -> list[float]:

    losses = []
    for _ in range(steps):
        if zero:
            model.zero_grad()
        loss = nn.mse(model(X), y)
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(float(loss.data))
    return losses


@exercise(
    "07_mlp_from_scratch",
    "write train(model, X, y, lr, steps) -> losses: zero_grad, forward, nn.mse, backward, step",
)
def _train_loop(train: Any) -> str:

    X = [[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.1, 0.1]]
    y = [1.0, -1.0, 0.5, 0.0]
    want = _train_reference(nn.MLP(2, [4, 1], seed=1), X, y, 0.05, 5)
    accumulated = _train_reference(nn.MLP(2, [4, 1], seed=1), X, y, 0.05, 5, zero=False)
    model = nn.MLP(2, [4, 1], seed=1)
    got = _array(_call(train, model, X, y, 0.05, 5), "losses")
    if got.shape != (5,):
        raise WrongError(f"return one loss per step: 5 numbers, got shape {got.shape}")
    if not abs(got[0] - want[0]) <= 1e-12:
        raise WrongError(f"the first loss is {got[0]:.6g}: use nn.mse(model(X), y) before stepping")
    if np.allclose(got, accumulated, atol=1e-12):
        raise WrongError("the gradients accumulate across steps: call zero_grad before backward")
    _close(got, np.array(want), "the losses", 1e-10)
    return "zero_grad, forward, loss, backward, step: the loop of every framework."


@exercise(
    "07_mlp_from_scratch",
    "write linear_backward(W, x, delta) -> (dW, db, dx) for z = W x + b, delta = dL/dz",
)
def _layer_backward(linear_backward: Any) -> str:
    rng = _rng(7)
    W, x, delta = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    out = _call(linear_backward, W, x, delta)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise WrongError("return three arrays: dW, db, dx")
    dW, db, dx = _array(out[0], "dW"), _array(out[1], "db"), _array(out[2], "dx")
    if dW.shape != W.shape:
        raise WrongError(f"dW has shape {dW.shape}; a gradient has its parameter's shape {W.shape}")
    if dx.shape != x.shape:
        raise WrongError(f"dx has shape {dx.shape}, x has {x.shape}")
    _close(dW, np.outer(delta, x), "dW")
    _close(_array(db, "db", (3,)), delta, "db")
    _close(dx, W.T @ delta, "dx")
    return "dW = delta x^T, db = delta, dx = W^T delta."


# ---- 08 a neural network in 20 lines ------------------------------------------------------------


@exercise("08_twenty_lines", "write grad_w1(x, h, grad_h) for h = sigmoid(x @ w1)")
def _grad_w1(grad_w1: Any) -> str:
    rng = _rng(8)
    x, w1 = rng.normal(size=(6, 5)), rng.normal(size=(5, 4))
    h = 1 / (1 + np.exp(-x @ w1))
    grad_h = rng.normal(size=(6, 4))
    got = _array(_call(grad_w1, x, h, grad_h), "grad_w1")
    if got.shape != w1.shape:
        raise WrongError(f"grad_w1 has shape {got.shape}; w1 has {w1.shape}")
    if np.allclose(got, x.T @ grad_h):
        raise WrongError("the sigmoid's local gradient h (1 - h) is missing")
    _close(got, x.T @ (grad_h * h * (1 - h)), "grad_w1")
    return "x^T (grad_h * h (1 - h)), line 17 of the 20."


# ---- 09 vector backprop -------------------------------------------------------------------------


@exercise("09_vector_backprop", "write relu_backward(x, upstream) -> dL/dx for y = max(0, x)")
def _relu_backward(relu_backward: Any) -> str:
    x, upstream = np.array([1.0, -2.0, 3.0, -1.0]), np.array([4.0, -1.0, 5.0, 9.0])
    got = _array(_call(relu_backward, x.copy(), upstream.copy()), "dL/dx", (4,))
    want = np.where(x > 0, upstream, 0.0)
    if np.allclose(got, np.where(upstream > 0, upstream, 0.0)):
        raise WrongError("you keep the positive upstream entries: the mask is x > 0, the input's")
    _close(got, want, "dL/dx for x = [1, -2, 3, -1], upstream [4, -1, 5, 9]")
    at_zero = _array(_call(relu_backward, np.array([0.0, 2.0]), np.array([5.0, 1.0])), "dL/dx")
    if np.allclose(at_zero, [5.0, 1.0]):
        raise WrongError("at x = 0 relu is flat (max(0, x) takes the 0): the mask is x > 0")
    _close(at_zero, np.array([0.0, 1.0]), "dL/dx for x = [0, 2], upstream [5, 1]")
    return "the gradient is routed where x > 0: [4, 0, 5, 0]."


@exercise(
    "09_vector_backprop",
    "give the bytes of one float32 Jacobian dy/dx for a batch N = 64, D = M = 4096",
)
def _jacobian_bytes(value: Any) -> str:
    got = float(_array(value, "the byte count"))
    want = (64 * 4096) * (64 * 4096) * 4
    if got == want * 2:
        raise WrongError("that counts 8 bytes a number (float64); the notes count float32")
    if got == 4096 * 4096 * 4:
        raise WrongError(
            "that is one sample's Jacobian; with the batch, x and y have N x D numbers"
        )
    if got != want:
        raise WrongError(f"{got:.6g} bytes is not it: count (N D) x (N M) numbers of 4 bytes")
    return f"{want:,} bytes = {want / 2**30:.0f} GiB: never built."


@exercise("09_vector_backprop", "write matmul_backward(x, w, dy) -> (dx, dw) for y = x @ w")
def _matmul_backward(matmul_backward: Any) -> str:
    rng = _rng(9)
    x, w = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    dy = rng.normal(size=(2, 4))
    out = _call(matmul_backward, x, w, dy)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise WrongError("return dx and dw")
    dx, dw = _array(out[0], "dx"), _array(out[1], "dw")
    for got, like, what in ((dx, x, "dx"), (dw, w, "dw")):
        if got.shape != like.shape:
            raise WrongError(f"{what} has shape {got.shape}; it must have {like.shape}")
    _close(dx, dy @ w.T, "dx")
    _close(dw, x.T @ dy, "dw")
    return "dx = dy w^T, dw = x^T dy: the only products whose shapes match."


# ---- 10 the batch path --------------------------------------------------------------------------


@exercise("10_batch_path", "write batch_grads(Y, Delta) -> (dW, db) for Z = Y W + b, mean loss")
def _batch_grads(batch_grads: Any) -> str:
    rng = _rng(10)
    Y, Delta = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    out = _call(batch_grads, Y, Delta)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise WrongError("return dW and db")
    dW, db = _array(out[0], "dW", (3, 2)), _array(out[1], "db", (2,))
    if np.allclose(dW, Y.T @ Delta):
        raise WrongError("dW is M = 6 times too large: the loss is a mean over the batch")
    _close(dW, Y.T @ Delta / len(Y), "dW")
    _close(db, Delta.mean(axis=0), "db")
    return "dW = (1/M) Y^T Delta, db = the mean of Delta's rows."


# ---- 13 the bug lab -----------------------------------------------------------------------------
#
# Each exercise runs the student's fixed part where the planted bug was, on graphs that bring the
# bug out, and names the tool that shows what is wrong (the lesson shows each tool at work).


def _bug_lab_step(step: Any) -> Any:
    """The student's step, guarded: a step that returns TODO is not done (None is fine: a step
    adds to the inputs' grads and returns nothing)."""
    if not callable(step):
        raise WrongError(f"expected a function step(node), got {type(step).__name__}")

    def guarded(node: Value) -> None:
        if step(node) is TODO:
            raise NotDoneError

    return guarded


def _uses(root: Value, x: Value) -> int:
    """How many times the graph of `root` uses `x` as an input."""
    return sum(parent is x for node in topological_order(root) for parent in node.parents)


def _used_twice(a: Value) -> Value:
    return a + a


def _lecture(a: Value, b: Value) -> Value:
    d, e = a * b, a + b
    d.label, e.label = "d", "e"
    return d * e


def _shared(a: Value, b: Value) -> Value:
    q = a * b
    t = q.tanh()
    q.label, t.label = "q", "t"
    return q + t


# (what it is, f, point) of the graphs each walk is checked on: each uses a value twice
_SHARED: tuple[tuple[str, Callable[..., Value], tuple[float, ...]], ...] = (
    ("f = a + a (micrograd issue 2)", _used_twice, (3.0,)),
    ("f = d * e, d = a * b, e = a + b", _lecture, (-2.0, 3.0)),
    ("f = q + t, q = a * b, t = tanh(q)", _shared, (0.5, -1.5)),
)


@exercise(
    "13_bug_lab", "write step(node): each input's grad gets upstream x local, every use counted"
)
def _bug_overwrite(step: Any) -> str:
    guarded = _bug_lab_step(step)
    for text, f, point in _SHARED:
        got, numeric = engine_grads(f, point, step=guarded)
        for i, (g, n) in enumerate(zip(got, numeric)):
            if abs(g - n) <= 1e-6 * max(1.0, abs(n)):
                continue
            inputs = [Value(x, name) for x, name in zip(point, "ab")]
            root = f(*inputs)
            root.label = "f"
            backward_with(root, guarded)  # the picture: the grads your step leaves
            picture = draw_graph(root, local_grads=True)
            name, uses = "ab"[i], _uses(root, inputs[i])
            where = f"gradcheck: for {text} at {', '.join(map(str, point))}, df/d{name} is {g:.6g} "
            if uses > 1:
                times = "twice" if uses == 2 else f"{uses} times"
                raise WrongError(
                    where + f"from your step but {n:.6g} from central differences; {name} is used "
                    f"{times} and keeps one share: draw_paths(f, {name}) shows the {uses} "
                    "paths whose products add up to its gradient",
                    picture,
                )
            raise WrongError(where + f"from your step, {n:.6g} from central differences", picture)
    return "each use adds its share: a value used twice gets the sum of both (+=, never =)."


def _bug_lab_order(order: Any, root: Value) -> list[Value]:
    if not callable(order):
        raise WrongError(f"expected a function order(root), got {type(order).__name__}")
    visited = order(root)
    if visited is TODO or visited is None:
        raise NotDoneError
    return list(visited)


def _order_problem(visited: list[Value], root: Value) -> str:
    """What is wrong with `visited` as the order of a backward pass of `root`, or ""."""
    nodes = topological_order(root)
    name = {id(node): node.label or f"a {node.op or 'leaf'} node" for node in nodes}
    missing = [name[id(node)] for node in nodes if all(v is not node for v in visited)]
    if missing:
        return f"your order never visits {', '.join(missing)}"
    if len(visited) != len(nodes):
        return f"your order visits {len(visited)} nodes, the graph has {len(nodes)}: each once"
    if visited[0] is not root:
        return "your order does not start at the output f, where the gradient starts (1)"
    place = {id(node): k for k, node in enumerate(visited)}
    for node in visited:
        for parent in node.parents:  # (a leaf passes nothing on: it may come early)
            if parent.parents and place[id(parent)] < place[id(node)]:
                return (
                    f"{name[id(parent)]} is visited before {name[id(node)]}, which uses it, so it "
                    f"passes its gradient on before {name[id(node)]}'s share has arrived"
                )
    return ""


@exercise(
    "13_bug_lab", "write order(root): every node once, the output first, each before its inputs"
)
def _bug_order(order: Any) -> str:
    def visited(root: Value) -> list[Value]:
        return _bug_lab_order(order, root)

    for text, f, point in _SHARED:
        inputs = [Value(x, name) for x, name in zip(point, "ab")]
        root = f(*inputs)
        root.label = "f"
        problem = _order_problem(visited(root), root)
        got, numeric = engine_grads(f, point, order=visited)
        if not np.allclose(got, numeric, rtol=1e-6, atol=1e-6):
            shown = ", ".join(f"df/d{x} {g:.6g}" for x, g in zip("ab", got))
            right = ", ".join(f"{n:.6g}" for n in numeric)
            raise WrongError(
                f"gradcheck: for {text}, your walk gives {shown}, central differences {right}; "
                f"check_local_grads(f) finds every local gradient right, so the order is wrong: "
                f"{problem or 'it is not the same order each time'}"
            )
        if problem:
            raise WrongError(f"for {text} the gradients come out right, but {problem}")
    return "reverse topological order: a node passes its gradient on once every use has added in."


def _bug_lab_batch() -> tuple[Any, list[list[float]], list[float]]:
    X = [[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.1, 0.1]]
    return nn.MLP(2, [4, 1], seed=3), X, [1.0, -1.0, 0.5, 0.0]


def _grads(model: Any) -> np.ndarray:
    return np.array([float(p.grad) for p in model.parameters()])


@exercise("13_bug_lab", "write train_step(model, X, y, lr) -> loss: one step of gradient descent")
def _bug_zero_grad(train_step: Any) -> str:
    model, X, y = _bug_lab_batch()
    reference, _, _ = _bug_lab_batch()
    nn.mse(reference(X), y).backward()
    want = _grads(reference)
    passes = []
    for _ in range(2):  # lr = 0: the same parameters twice, so the same gradients twice
        loss = float(_call(train_step, model, X, y, 0.0))
        passes.append(_grads(model))
    if not abs(loss - float(nn.mse(reference(X), y).data)) <= 1e-12:
        raise WrongError(f"the loss you return is {loss:.6g}: return nn.mse(model(X), y)")
    if np.allclose(passes[1], 2 * passes[0]) and np.allclose(passes[0], want):
        raise WrongError(
            "accumulation_view(loss, parameters=model): with lr = 0 the second step's gradients "
            "are twice the first's: a parameter's grad adds up over backward() calls, so clear "
            "it (model.zero_grad()) before each loss.backward()"
        )
    if not np.allclose(passes[1], want, rtol=1e-10, atol=1e-12):
        raise WrongError("after your step the gradients are not this step's: clear, then backward")
    model, X, y = _bug_lab_batch()
    before = [p.data for p in model.parameters()]
    _call(train_step, model, X, y, 0.1)
    moved = np.array([p.data for p in model.parameters()]) - before
    _close(moved, -0.1 * want, "the step p.data -= lr * p.grad", 1e-10)
    return "zero_grad, forward, loss, backward, update: every pass starts from clean gradients."


_SIGMOID_AT = np.array([-1000.0, -40.0, -1.5, 0.0, 0.5, 3.0, 40.0, 1000.0])


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@exercise("13_bug_lab", "write sigmoid(x) for a Tensor from the library's ops, finite for every x")
def _bug_sigmoid(sigmoid: Any) -> str:

    def build() -> Any:
        x = Tensor(_SIGMOID_AT, requires_grad=True, label="x")
        s = _call(sigmoid, x)
        if not isinstance(s, Tensor) or s.shape != x.shape:
            raise WrongError(f"return a Tensor of shape {x.shape}, got {type(s).__name__}")
        s.label = "s"
        s.sum().backward()
        return s

    with np.errstate(all="ignore"):  # (what overflows is said below, not warned on stderr)
        try:
            with detect_anomaly():
                build()
        except NonFiniteError as error:
            anomaly = draw_anomaly(build)
            raise WrongError(
                f"detect_anomaly at x = {_SIGMOID_AT.tolist()}: {error}; "
                "draw_anomaly(build) draws that node red: no exp may see a large positive number",
                anomaly.draw() if anomaly else None,
            ) from None
        x = Tensor(_SIGMOID_AT, requires_grad=True)
        s = _call(sigmoid, x)
        s.sum().backward()
    want = _stable_sigmoid(_SIGMOID_AT)
    _close(_array(s.data, "sigmoid(x)"), want, f"sigmoid(x) at x = {_SIGMOID_AT.tolist()}", 1e-12)
    grad, slope = _array(x.grad, "dsigmoid/dx"), want * (1 - want)
    for at, g, w in zip(_SIGMOID_AT, grad, slope):
        if not abs(g - w) <= 1e-10:
            raise WrongError(
                f"gradcheck(lambda x: sigmoid(x).sum(), [x]): at x = {at} backward() gives "
                f"{g:.6g}, the derivative s (1 - s) is {w:.6g}"
            )
    return "finite everywhere, its gradient too: no exp ever sees a large positive number."


def _function_class(answer: Any) -> Any:
    """The student's Function subclass; not done while its forward or backward returns TODO."""
    if not (isinstance(answer, type) and issubclass(answer, Function)):
        if callable(answer) and not isinstance(answer, type) and answer() is TODO:
            raise NotDoneError
        raise WrongError("give a class: class SiLU(Function) with forward and backward")
    ctx = Context(answer, (True,))
    out = answer.forward(ctx, 0.5)
    if out is TODO:
        raise NotDoneError
    ctx.seal((0.5,), (0,), out)  # as apply does, so that backward finds what forward saved
    if answer.backward(ctx.bound((0.5,), out), 1.0) is TODO:
        raise NotDoneError
    return answer


@exercise("13_bug_lab", "write SiLU, an autograd_core.Function: x sigmoid(x) and its gradient")
def _bug_local_grad(silu: Any) -> str:
    op = _function_class(silu)
    for point in (-2.0, -0.3, 0.5, 1.5, 4.0):
        x = Value(point, "x")
        y = op.apply(x)
        y.label = "y"
        want = point / (1 + math.exp(-point))
        if not abs(y.data - want) <= 1e-12:
            raise WrongError(f"at x = {point} the value is {y.data:.6g}, not x sigmoid(x)")
        report = check_local_grads(y)
        if not report.ok:
            grad = report.failures[0].inputs[0]
            numeric = "nan" if grad.numeric is None else f"{grad.numeric:.6g}"
            raise WrongError(
                f"check_local_grads: at x = {point} {op.name} stores the local gradient "
                f"{grad.stored:.6g}, central differences give {numeric} (the red node); "
                f"gradcheck(lambda x: {op.name}.apply(x), [{point}]) disagrees too",
                report.draw(show_grad=False),
            )
    array = np.array([-3.0, -0.5, 0.0, 0.8, 2.5])
    batch = gradcheck(lambda t: op.apply(t).sum(), [array])
    if not batch.ok:
        raise WrongError(f"gradcheck on a Tensor {array.tolist()}:\n{batch}")
    return "d(x sigmoid(x))/dx = sigmoid(x) (1 + x (1 - sigmoid(x))): the product rule, both terms."
