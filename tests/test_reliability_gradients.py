"""No silently wrong gradient: a gradient taken with `create_graph=True` (a node whose graph is
the backward pass) has the value of the plain one, for every op and on saturated softmax and
cross-entropy, where the target must come from what the node recorded, not from its numbers."""

from __future__ import annotations

import math

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
