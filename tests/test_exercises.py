"""Every exercise of the lessons, answered right (accepted), wrong (caught, with a reason) and not
at all (the placeholder: "not done"); and every exercise is asked in a lesson."""

from __future__ import annotations

import json
import math
import re
from collections import deque
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd_core import Function, Value, sigmoid, topological_order, where
from course.bug_lab import backward_with, engine_grads
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


# ---- lesson 13's planted bugs (as the lesson plants them) and their fixes ----------------------


def _step_that_assigns(node: Value) -> None:  # bug 1: = for += (micrograd issue 2, PR 64)
    for parent, local in zip(node.parents, node.local_grads):
        parent.grad = local * node.grad


def _step(node: Value) -> None:
    for parent, local in zip(node.parents, node.local_grads):
        parent.grad += local * node.grad


def _breadth_first(root: Value) -> list[Value]:  # bug 2: the order nodes are met in
    order, seen, queue = [], {root}, deque([root])
    while queue:
        node = queue.popleft()
        order.append(node)
        for parent in node.parents:
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return order


def _reverse_topological(root: Value) -> list[Value]:
    order: list[Value] = []
    seen: set[Value] = set()

    def visit(node: Value) -> None:
        if node not in seen:
            seen.add(node)
            for parent in node.parents:
                visit(parent)
            order.append(node)

    visit(root)
    return order[::-1]


def _train_step(model: Any, X: Any, y: Any, lr: float, zero: bool = True) -> float:
    if zero:  # bug 3 leaves this out (micrograd issue 53, PR 102)
        model.zero_grad()
    loss = nn.mse(model(X), y)
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return float(loss.data)


def _sigmoid_from_the_formula(x: Any) -> Any:  # bug 4: exp(-x) overflows (tinygrad PR 1113)
    return 1 / (1 + (-x).exp())


def _sigmoid_by_tanh(x: Any) -> Any:
    return 0.5 * (1 + (x * 0.5).tanh())


class _SiLUForgetsAFactor(Function):  # bug 5: the product rule's second term left out
    name = "SiLU"

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * sigmoid(x)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (x,) = ctx.saved_tensors
        return grad * sigmoid(x)


class _SiLU(Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * sigmoid(x)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        (x,) = ctx.saved_tensors
        s = sigmoid(x)
        return grad * s * (1 + x * (1 - s))


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
    "bug_overwrite": (_step, _step_that_assigns, "keeps one share: draw_paths(f, a)"),
    "bug_order": (_reverse_topological, _breadth_first, "q is visited before t, which uses it"),
    "bug_zero_grad": (
        _train_step,
        lambda m, X, y, lr: _train_step(m, X, y, lr, zero=False),
        "accumulation_view(loss, parameters=model)",
    ),
    "bug_sigmoid": (_sigmoid_by_tanh, _sigmoid_from_the_formula, "detect_anomaly"),
    "bug_local_grad": (_SiLU, _SiLUForgetsAFactor, "check_local_grads: at x = -2.0 SiLU"),
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


# ---- the bug lab: its engine, and each planted bug caught by the tool that shows it -------------


def _svg_texts(svg: str) -> set[str]:
    root = ElementTree.fromstring(svg[svg.find("<svg") :])
    return {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")}


def test_the_bug_labs_engine_with_the_librarys_parts_is_backward() -> None:
    a, b = Value(-2.0, "a"), Value(3.0, "b")
    f = (a * b) * (a + b)
    f.backward()
    f.backward()  # backward's leaves accumulate: -6 and -16 now
    backward_with(f)  # one call is one pass: every grad starts from 0
    assert [a.grad, b.grad] == [-3.0, -8.0]
    got, numeric = engine_grads(lambda a, b: (a * b) * (a + b), [-2.0, 3.0])
    assert got == [-3.0, -8.0] and np.allclose(numeric, got, atol=1e-6)


def test_the_planted_assignment_keeps_the_last_share() -> None:
    """Karpathy's lecture graph: with = the last use's share wins (3 and -2, not -3 and -8)."""
    got, numeric = engine_grads(lambda a, b: (a * b) * (a + b), [-2.0, 3.0], _step_that_assigns)
    assert got == [3.0, -2.0] and np.allclose(numeric, [-3.0, -8.0], atol=1e-6)


def test_the_planted_order_visits_a_node_before_its_user() -> None:
    a, b = Value(0.5, "a"), Value(-1.5, "b")
    q = a * b
    t = q.tanh()
    f = q + t
    visited = _breadth_first(f)
    assert visited.index(q) < visited.index(t)  # q passes its gradient on too early
    fixed = _reverse_topological(f)
    assert fixed.index(t) < fixed.index(q) and fixed[0] is f
    backward_with(f, order=_breadth_first)
    assert a.grad == q.data / a.data * 1.0 == -1.5  # only f's direct share of q reached a


def test_an_order_that_starts_at_the_leaves_is_caught_even_where_the_gradient_is_right() -> None:
    result = check("bug_order", lambda root: topological_order(root))
    assert result.status == "wrong"
    assert "the gradients come out right, but your order does not start at the output" in (
        result.message
    )


def test_an_order_that_misses_a_node_says_which() -> None:
    result = check("bug_order", lambda root: _reverse_topological(root)[:-1])
    assert result.status == "wrong" and "never visits" in result.message


def test_a_train_step_that_clears_after_backward_is_caught() -> None:
    def clears_too_late(model: Any, X: Any, y: Any, lr: float) -> float:
        loss = nn.mse(model(X), y)
        loss.backward()
        model.zero_grad()
        for p in model.parameters():
            p.data -= lr * p.grad
        return float(loss.data)

    result = check("bug_zero_grad", clears_too_late)
    assert result.status == "wrong" and "not this step's" in result.message


def test_the_overflowing_sigmoid_is_drawn_with_the_exp_node_red() -> None:
    result = check("bug_sigmoid", _sigmoid_from_the_formula)
    assert "exp produced a non-finite value (inf)" in result.message
    svg = result.picture.pipe(format="svg").decode()
    assert "#f4a6a6" in svg and "first non-finite value: inf" in _svg_texts(svg)


def test_a_sigmoid_through_abs_is_caught_at_zero() -> None:
    """exp(-|x|) never overflows, but |x| has gradient 0 at 0, so the gradient there is lost."""

    def through_abs(x: Any) -> Any:
        e = (-abs(x)).exp()
        return where(x.data >= 0, 1 / (1 + e), e / (1 + e))

    result = check("bug_sigmoid", through_abs)
    assert result.status == "wrong" and "at x = 0.0 backward() gives 0" in result.message


def test_the_librarys_own_sigmoid_is_a_right_answer() -> None:
    assert check("bug_sigmoid", lambda x: x.sigmoid()).ok


def test_a_wrong_local_gradient_of_a_function_is_drawn_red() -> None:
    result = check("bug_local_grad", _SiLUForgetsAFactor)
    assert "stores the local gradient 0.119203, central differences give -0.0907842" in (
        result.message
    )
    svg = result.picture.pipe(format="svg").decode()
    assert "#f4a6a6" in svg and "stored 0.1192 vs numeric -0.09078" in _svg_texts(svg)


def test_a_function_whose_forward_is_still_todo_is_not_done() -> None:
    class Unwritten(Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            return TODO

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            return TODO

    assert check("bug_local_grad", Unwritten).status == "not done"

    class HalfWritten(Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x * sigmoid(x)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            return TODO

    assert check("bug_local_grad", HalfWritten).status == "not done"
    assert check("bug_local_grad", _step).status == "wrong"  # a function, not a Function


def test_the_assigning_step_is_drawn_with_the_gradient_it_leaves() -> None:
    """a + a with = : a keeps one share, grad 1, on a picture of its two local gradients 1."""
    result = check("bug_overwrite", _step_that_assigns)
    assert "a is used twice and keeps one share" in result.message
    texts = _svg_texts(result.picture.pipe(format="svg").decode())
    assert {"a", "f", "data 6", "grad 1", "local 1"} <= texts and "grad 2" not in texts


_TREES = st.recursive(
    st.floats(-2.0, 2.0),
    lambda kids: st.one_of(
        st.tuples(st.sampled_from(["+", "*"]), kids, kids), st.tuples(st.just("tanh"), kids)
    ),
    max_leaves=8,
)


def _tree(recipe: Any, leaves: list[Value]) -> Value:
    """The Value of a recipe, every leaf a new Value used once: a tree, no value shared."""
    if isinstance(recipe, float):
        leaves.append(Value(recipe, f"x{len(leaves)}"))
        return leaves[-1]
    if recipe[0] == "tanh":
        return _tree(recipe[1], leaves).tanh()
    left, right = _tree(recipe[1], leaves), _tree(recipe[2], leaves)
    return left + right if recipe[0] == "+" else left * right


@given(_TREES)
@settings(max_examples=60, deadline=None)
def test_bugs_1_and_2_never_show_on_a_tree(recipe: Any) -> None:
    """Where no value is used twice, = and += agree and breadth-first is an order that works:
    the two bugs need a shared value, which is why the lesson's graphs (and the checks) have one."""
    leaves: list[Value] = []
    root = _tree(recipe, leaves)
    results = []
    for step, order in ((_step, _reverse_topological), (_step_that_assigns, _breadth_first)):
        backward_with(root, step, order)
        results.append([leaf.grad for leaf in leaves])
    root.backward()  # (the leaves hold the last pass: backward adds one more)
    assert results[0] == results[1]
    assert np.allclose([leaf.grad for leaf in leaves], 2 * np.array(results[0]))
