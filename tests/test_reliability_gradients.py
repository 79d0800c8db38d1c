"""No silently wrong gradient: a gradient taken with `create_graph=True` (a node whose graph is
the backward pass) has the value of the plain one, for every op and on saturated softmax and
cross-entropy, where the target must come from what the node recorded, not from its numbers."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_cases import SCALAR, Case, scalar_points

import autograd_core.functional as F
from autograd_core import Tensor, Value, grad


def numbers(gradients: list[object]) -> list[float]:
    return [float(g.data if hasattr(g, "data") else g) for g in gradients]


@pytest.mark.parametrize(
    ("logits", "target", "expected"),
    [([0.0, 800.0], 1, [0.0, 0.0]), ([0.0, 0.0, 800.0], 2, [0.0, 0.0, 0.0])],
)
def test_saturated_cross_entropy_keeps_its_target_under_create_graph(
    logits: list[float], target: int, expected: list[float]
) -> None:
    """The other probabilities underflow to 0: the target cannot be told from the local
    gradients (all 0), so the node's recorded target is what the differentiable pass uses."""
    xs = [Value(v) for v in logits]
    plain = grad(F.cross_entropy(xs, target), xs)
    recorded = grad(F.cross_entropy(xs, target), xs, create_graph=True)
    assert numbers(plain) == numbers(recorded) == expected
    again = [Value(v) for v in logits]
    F.cross_entropy(again, target).backward(create_graph=True)
    assert numbers([x.grad for x in again]) == expected


def test_saturated_cross_entropy_on_the_batch_path_too() -> None:
    logits = Tensor(np.array([[0.0, 800.0], [800.0, 0.0]]), requires_grad=True)
    labels = np.array([1, 0])
    (plain,) = grad(logits.cross_entropy(labels), [logits])
    (recorded,) = grad(logits.cross_entropy(labels), [logits], create_graph=True)
    assert np.array_equal(plain, recorded.data) and not np.any(plain)


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Case], list[list[float]], list[float]]:
    """A chain of 1 to 4 scalar ops, each applied to the previous result (scaled into the
    next op's domain) and fresh inputs."""
    cases = draw(st.lists(st.sampled_from(SCALAR), min_size=1, max_size=4))
    points = [draw(scalar_points(case)) for case in cases]
    weights = draw(st.lists(st.floats(-1.5, 1.5), min_size=len(cases), max_size=len(cases)))
    return cases, points, weights


def build(
    cases: list[Case], points: list[list[float]], weights: list[float]
) -> tuple[Value, list[Value]]:
    leaves: list[Value] = []
    previous: Value | None = None
    for case, xs, weight in zip(cases, points, weights):
        inputs = [Value(x) for x in xs]
        leaves += inputs
        if previous is not None:  # tie the ops together, staying near the drawn points
            inputs[0] = inputs[0] + 1e-3 * weight * previous.tanh()
        previous = case.on_values(*inputs)
    assert previous is not None
    return previous, leaves


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_a_differentiable_gradient_has_the_plain_gradients_value(
    graph: tuple[list[Case], list[list[float]], list[float]],
) -> None:
    out, leaves = build(*graph)
    plain = numbers(grad(out, leaves))
    out_again, leaves_again = build(*graph)
    recorded = numbers(grad(out_again, leaves_again, create_graph=True))
    for a, b in zip(plain, recorded):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))


def test_a_picture_drawn_while_another_thread_runs_backward_is_one_state_of_the_graph() -> None:
    """One thread resets and runs backward on an MLP sample, another draws it, for a bounded
    number of rounds: drawing holds the graph's lock, so each picture shows the gradients as
    a whole pass left them (all reset, or all of the pass), never half of one, and no draw
    fails."""
    import re
    import threading

    import nn
    from visualize import draw_graph

    model = nn.MLP(2, [8, 8, 1])
    out = model([0.5, -1.0])  # constants: no input gradient that would add up over passes
    out.label = "out"
    out.backward()
    final = draw_graph(out, parameters=model, collapse=False).source
    model.zero_grad()
    reset = draw_graph(out, parameters=model, collapse=False).source

    def grads(source: str) -> list[str]:
        return re.findall(r"grad [^<]*", source)

    states = {tuple(grads(final)), tuple(grads(reset))}
    seen: list[tuple[str, ...]] = []
    failures: list[BaseException] = []

    def train() -> None:
        for _ in range(150):
            model.zero_grad()
            out.backward()

    def draw() -> None:
        try:
            for _ in range(150):
                seen.append(tuple(grads(draw_graph(out, parameters=model, collapse=False).source)))
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=train), threading.Thread(target=draw)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: a walk would be caught half done
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert failures == [] and len(seen) == 150
    assert set(seen) <= states  # every picture is one of the two states, none in between


def test_a_power_at_a_zero_base_has_the_same_gradients_with_create_graph() -> None:
    """d(a**b)/db at a = 0 is 0 by PyTorch's convention; under create_graph the base is a node,
    and comparing the node (not its number) once gave nan (issue 25)."""
    a, b = Value(0.0), Value(0.5)
    assert numbers(grad(a**b, [a, b])) == [math.inf, 0.0]
    assert numbers(grad(a**b, [a, b], create_graph=True)) == [math.inf, 0.0]


def test_collapsed_pictures_hold_the_lock_too_on_the_batch_path(tmp_path: Path) -> None:
    """The collapsed page and picture of a batch MLP, drawn while another thread resets and runs
    backward: a Tensor's walk mark is an object, which a box's gradient summary read half-way
    through a pass once met (TypeError: float() argument ... 'object')."""
    import threading

    import numpy as np

    import nn
    from visualize import collapsed_page
    from visualize.collapse import draw_collapsed
    from visualize.picture import Picture

    model = nn.batch.MLP(2, [8, 8, 1])
    out = model(np.random.default_rng(0).normal(size=(4, 2))).sum()
    out.backward()
    stop = threading.Event()

    def train() -> None:
        while not stop.is_set():
            model.zero_grad()
            out.backward()

    thread = threading.Thread(target=train)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    thread.start()
    try:
        for _ in range(40):
            page = collapsed_page(out, tmp_path / "c.html", parameters=model)
            assert "<svg" in page.read_text()
            assert "grad" in draw_collapsed(Picture(out, model), model).source
    finally:
        stop.set()
        thread.join(timeout=120)
        sys.setswitchinterval(interval)
