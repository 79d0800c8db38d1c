"""Checks drawn on the graph: the per-node gradient check, the first non-finite number, and
gradient accumulation across backward passes."""

from __future__ import annotations

import html
import math
import random
import re

import numpy as np
import pytest
from op_cases import SCALAR, away_from_kinks

import nn
from autograd_core import Function, Tensor, Value, detect_anomaly, ops
from autograd_core import functional as F
from visualize.checks import (
    accumulation_view,
    check_local_grads,
    draw_anomaly,
    find_anomaly,
    find_non_finite,
)
from visualize.checks.accumulation import ACCUMULATED, CLEARED
from visualize.checks.local_grads import KINK_STATUS, NOT_CHECKED, OK, RIGHT, WRONG_STATUS
from visualize.nodes import RED_EDGE, WRONG
from visualize.picture import Picture


def fill(source: str, i: int) -> str:
    """The fill colour of value node v{i} in a picture's DOT source."""
    match = re.search(rf'^\s*v{i} \[label=.*fillcolor="([^"]+)"', source, flags=re.M)
    assert match, f"no node v{i} in\n{source}"
    return match.group(1)


# ---- the per-node gradient check ----------------------------------------------------------------


def sin_node(x: Value, derivative: float) -> Value:
    """A student's own op: sin, with whatever local gradient the student worked out."""
    return Value(math.sin(x.data), op="sin", parents=(x,), local_grads=(derivative,))


def test_a_right_local_gradient_of_a_students_op_passes() -> None:
    x = Value(0.5, "x")
    report = check_local_grads(sin_node(x, math.cos(x.data)) * 2, functions={"sin": math.sin})
    assert report.ok and report.complete
    check = report.node("n1")
    assert check.op == "sin" and check.status == OK
    assert check.inputs[0].numeric == pytest.approx(math.cos(0.5), rel=1e-8)


def test_a_wrong_local_gradient_is_flagged_and_drawn_red() -> None:
    """The per-node check flags a deliberately wrong local gradient (sin's derivative taken as
    sin), names the node as the picture does, and marks it red in the picture."""
    x = Value(0.5, "x")
    y = sin_node(x, math.sin(x.data))  # wrong: d sin(x)/dx is cos(x)
    root = y * 2
    report = check_local_grads(root, functions={"sin": math.sin})
    assert not report.ok
    (failure,) = report.failures
    assert failure.name == Picture(root).names[failure.index] == "n1"
    assert failure.status == WRONG_STATUS
    grad = failure.inputs[0]
    assert grad.name == "x" and grad.status == WRONG_STATUS
    assert grad.stored == pytest.approx(math.sin(0.5))
    assert grad.numeric == pytest.approx(math.cos(0.5), rel=1e-8)
    assert report.node("out").status == OK  # the check is per node: out's own grads are right
    text = str(report)
    assert "n1" in text and "sin" in text and "WRONG" in text and "1 wrong" in text

    source = report.draw().source
    label = "stored 0.4794 vs numeric 0.8776"
    assert fill(source, 1) == WRONG  # n1 is v1 (topological index 1)
    assert f'v0 -> v1op [label="{label}" color="{RED_EDGE}"' in source  # its input edge, red
    assert f"wrong d/dx: {label}" in source  # the note line in n1's box
    assert fill(source, 3) == RIGHT  # out, checked and right, light green
    assert "red: a local gradient (or value) that disagrees" in source  # the legend says so


def test_a_wrong_forward_value_of_a_students_op_is_flagged() -> None:
    x = Value(0.5, "x")
    y = Value(math.cos(x.data), op="sin", parents=(x,), local_grads=(math.cos(x.data),))
    report = check_local_grads(y, functions={"sin": math.sin})
    assert not report.ok
    assert "forward value and the function disagree" in report.node("out").reason
    assert "value 0.8776 but sin gives 0.4794" in report.draw().source


def test_an_op_without_a_function_is_reported_not_checked_never_passed() -> None:
    x = Value(0.5, "x")
    report = check_local_grads(sin_node(x, math.cos(0.5)) + 1)
    check = report.node("n1")
    assert check.status == NOT_CHECKED and not check.inputs
    assert "no function for the op 'sin'" in check.reason and "functions=" in check.reason
    assert report.ok and not report.complete and report.not_checked == (check,)
    assert "1 not checked" in str(report) and "no function for the op 'sin'" in str(report)
    assert "not checked: no function for the op 'sin'" in report.draw().source


def test_relu_and_max_at_their_kinks_are_not_flagged() -> None:
    """At x = 0 the central difference of relu is 1/2, the mean of the two one-sided slopes;
    the stored 0 (the slope from the left) is a convention, not a mistake."""
    z, a, b = Value(0.0, "z"), Value(1.0, "a"), Value(1.0, "b")
    report = check_local_grads(z.relu() + a.max(b))
    assert report.ok and report.complete
    relu = report.node("n1").inputs[0]
    assert relu.status == KINK_STATUS and relu.numeric == pytest.approx(0.5)
    assert relu.slopes == pytest.approx((0.0, 1.0))
    assert [g.status for g in report.node("n2").inputs] == [KINK_STATUS, KINK_STATUS]
    assert "not differentiable here" in str(report)
    # but a stored slope outside the one-sided ones is wrong, kink or not
    bad = z.relu()
    bad.local_grads = (2.0,)  # a lesson breaks a stored local gradient: the op is still relu
    assert check_local_grads(bad).node("out").status == WRONG_STATUS


def test_relu_just_beside_its_kink_is_checked_with_a_smaller_step() -> None:
    report = check_local_grads(Value(3e-7, "z").relu())
    assert report.ok and report.node("out").status == OK


SCALAR_OPS = {op for op in ops.OPS if "scalar" in op.paths}  # every op of the scalar path


def every_scalar_op(rng: random.Random) -> Value:
    """One expression that uses every op of the scalar path (the one list, `op_cases.SCALAR`),
    each at random inputs in its domain and away from its kinks, and some compositions."""
    terms = []
    for case in SCALAR:
        low, high = case.domain
        while True:
            point = [rng.uniform(low, high) for _ in range(case.arity)]
            if away_from_kinks(case, point):
                break
        leaves = [Value(x, f"{case.id}.{k}") for k, x in enumerate(point)]
        terms.append(case.on_values(*leaves))  # type: ignore[misc]
    a, c = Value(rng.uniform(-2, 2), "a"), Value(rng.uniform(0.2, 2), "c")
    terms += [a - c, a / c, 2**a, *F.softmax([a, c]), F.logsumexp([a, c])]
    return F.sum([t * rng.uniform(-1, 1) for t in terms])


@pytest.mark.parametrize("seed", range(10))
def test_every_built_in_scalar_op_passes_on_a_random_expression(seed: int) -> None:
    root = every_scalar_op(random.Random(seed))
    report = check_local_grads(root)
    assert report.ok and report.complete, str(report)
    order = report.picture.order
    assert {order[n.index].function for n in report.nodes} == SCALAR_OPS


@pytest.mark.parametrize("seed", range(3))
def test_a_wrong_local_gradient_of_any_built_in_op_is_flagged(seed: int) -> None:
    root = every_scalar_op(random.Random(seed))
    picture = Picture(root)
    for i, node in enumerate(picture.order):
        for k in range(len(node.parents)):
            right = node.local_grads
            wrong = list(right)
            wrong[k] = wrong[k] * 1.1 + 0.05
            node.local_grads = tuple(wrong)
            try:
                check = check_local_grads(root).node(picture.names[i])
            finally:
                node.local_grads = right
            assert check.inputs[k].status == WRONG_STATUS, (node.op, k, check)


def test_the_forward_is_the_nodes_own_op(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check recomputes a node by its own op's value (`ops.Exp.value`): an op whose
    forward is wrong makes the stored local gradient disagree with it."""
    x = Value(0.5, "x")
    y = x.exp()  # made by the real exp: value e^x, local gradient e^x
    monkeypatch.setattr(ops.elementwise.Exp, "value", staticmethod(lambda x: 2.0 * math.exp(x)))
    check = check_local_grads(y).node("out")
    assert check.status == WRONG_STATUS
    assert check.computed == pytest.approx(2.0 * math.exp(0.5))
    assert "forward value and the function disagree" in check.reason
    assert check.inputs[0].numeric == pytest.approx(2.0 * math.exp(0.5), rel=1e-8)


class Cube(Function):
    """A student's op as a Function: the check needs nothing else to recompute it."""

    @staticmethod
    def forward(ctx: object, x: float) -> float:
        ctx.save_for_backward(x)  # type: ignore[attr-defined]
        return x * x * x

    @staticmethod
    def backward(ctx: object, grad: float) -> float:
        (x,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad * 3 * x * x


class WrongCube(Cube):
    @staticmethod
    def backward(ctx: object, grad: float) -> float:
        (x,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad * 3 * x  # forgot a factor x


def test_a_function_of_your_own_is_checked_by_its_forward_and_a_wrong_backward_is_caught() -> None:
    x = Value(-1.5, "x")
    report = check_local_grads(Cube.apply(x) * 2)
    assert report.ok and report.complete and report.node("n1").op == "Cube"
    wrong = check_local_grads(WrongCube.apply(x) * 2)
    assert not wrong.ok and wrong.node("n1").status == WRONG_STATUS
    assert wrong.node("n1").inputs[0].numeric == pytest.approx(3 * 1.5**2, rel=1e-6)
    assert "stored -4.5 vs numeric 6.75" in wrong.draw().source


def test_an_engine_error_at_a_nudge_is_reported_not_raised() -> None:
    """log at 1e-7 and sqrt at 0: x - h is outside the domain, and the engine's ValueError there
    makes the node 'not checked' with the reason."""
    for root in (Value(1e-7, "x").log(), Value(0.0, "x").sqrt()):
        check = check_local_grads(root).node("out")
        assert check.status == NOT_CHECKED
        note = check.inputs[0].note
        assert note.startswith("cannot evaluate the op at x +- ") and "ValueError" in note


def test_what_an_op_needs_is_recorded_in_its_node_and_the_check_reads_it() -> None:
    """leaky_relu's slope, elu's alpha, cross-entropy's target and `**n`'s exponent are in the
    node (`saved`): the check recomputes each with them, even where the value would not reveal
    them (leaky_relu at its kink, a tie of logits)."""
    z = Value(0.0, "z")
    leaky = z.leaky_relu(0.3)
    assert leaky.saved == (0.3,)
    check = check_local_grads(leaky).node("out")
    assert check.status == KINK_STATUS and check.inputs[0].slopes == pytest.approx((0.3, 1.0))
    assert Value(0.4).elu(0.7).saved == (0.7,)
    tied = F.cross_entropy([Value(1.0, "a"), Value(1.0, "b"), Value(-2.0, "c")], 1)
    assert tied.saved == (1,) and check_local_grads(tied).ok
    t = Value(2.0, "t")
    power = t**0.123456789
    assert power.op == "**0.123456789" and power.saved == (0.123456789,)
    assert check_local_grads(power).ok
    n = 0.123456789  # a node made by hand has only its numbers: `functions` checks it
    root = Value(t.data**n, op="**0.123457", parents=(t,), local_grads=(n * t.data ** (n - 1),))
    assert root.function is None
    assert "no function for the op '**0.123457'" in check_local_grads(root).node("out").reason
    fixed = check_local_grads(root, functions={root.op: lambda t: t**n})
    assert fixed.ok and fixed.complete


def test_bad_arguments_raise_standard_errors() -> None:
    x = Value(1.0, "x")
    with pytest.raises(ValueError, match="eps > 0"):
        check_local_grads(x * 2, eps=0.0)
    with pytest.raises(TypeError, match="functions\\['sin'\\] must be a function"):
        check_local_grads(x * 2, functions={"sin": 3.0})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="gradcheck"):
        check_local_grads(Tensor(np.ones(2), requires_grad=True).sum())
    with pytest.raises(KeyError, match="no checked node is named 'nope'"):
        check_local_grads(x * 2).node("nope")


def test_a_report_renders_to_svg_with_the_red_node_and_its_note() -> None:
    x = Value(0.5, "x")
    report = check_local_grads(sin_node(x, 0.5) * 2, functions={"sin": math.sin})
    svg = report.draw().pipe(format="svg").decode()
    assert WRONG in svg and RED_EDGE in svg
    assert "stored 0.5 vs numeric 0.8776" in svg


# ---- the first non-finite number ----------------------------------------------------------------


def test_find_non_finite_finds_the_first_inf_and_draws_it_red() -> None:
    a, b, c = Value(1e200, "a"), Value(1e200, "b"), Value(2.0, "c")
    root = (a * b) * c + c  # inf from a * b, and everything after it
    anomaly = find_non_finite(root)
    assert anomaly is not None
    assert anomaly.stage == "forward" and anomaly.name == "n1" and anomaly.value == math.inf
    assert anomaly.message == "* of (1e+200, 1e+200) produced a non-finite value (inf)"
    assert "n1 (*) is the first non-finite value" in str(anomaly)
    source = anomaly.draw().source
    index = anomaly.index
    assert fill(source, index) == WRONG
    assert "first non-finite value: inf" in source
    svg = html.unescape(anomaly.draw().pipe(format="svg").decode())  # SVG writes - as &#45;
    assert WRONG in svg and "first non-finite value: inf" in svg
    assert find_non_finite(Value(1.0, "x") * 2) is None


def test_find_non_finite_finds_an_infinite_local_gradient() -> None:
    x = Value(0.0, "x")
    anomaly = find_non_finite(x**0.5 + 1)
    assert anomaly is not None and anomaly.position == 0 and anomaly.input_name == "x"
    assert "non-finite local gradient (inf) for its input 0" in anomaly.message
    assert f'label="local inf" color="{RED_EDGE}"' in anomaly.draw().source


def test_the_backward_anomaly_is_found_and_drawn() -> None:
    """x * 1e-300 * 1e300 is finite, but the backward pass sends 1e300 * 1e300 = inf to the
    constant 1e-300: the node that sent it and the constant are drawn red."""
    x = Value(1e300, "x")
    y = x * 1e-300
    root = y * 1e300
    with pytest.raises(FloatingPointError) as raised, detect_anomaly():
        root.backward()
    before = [x.grad, y.grad, root.grad]  # what that failed pass left
    anomaly = find_anomaly(root)
    assert anomaly is not None
    assert anomaly.message == str(raised.value)
    assert anomaly.stage == "backward" and anomaly.name == "n1" and anomaly.position == 1
    assert anomaly.input_index is not None
    assert anomaly.input_name == "1e-300" and anomaly.value == math.inf
    assert [x.grad, y.grad, root.grad] == before  # every grad is put back
    assert anomaly.grads is not None and anomaly.grads[anomaly.input_index] == math.inf
    source = anomaly.draw().source
    assert fill(source, anomaly.index) == WRONG
    assert fill(source, anomaly.input_index) == WRONG
    assert "backward sent inf to 1e-300" in source and "received inf from n1" in source
    assert f'label="gradient inf" color="{RED_EDGE}"' in source


def test_draw_anomaly_runs_build_for_a_forward_and_a_backward_anomaly() -> None:
    def forward() -> Value:
        a, b = Value(1e200, "a"), Value(1e200, "b")
        return a * b + 1

    def backward() -> Value:
        x = Value(1e300, "x")
        root = x * 1e-300 * 1e300
        root.backward()
        return root

    found = draw_anomaly(forward)
    assert found is not None and found.stage == "forward" and found.name == "n1"
    assert found.message == "* of (1e+200, 1e+200) produced a non-finite value (inf)"
    found = draw_anomaly(backward)
    assert found is not None and found.stage == "backward" and found.input_name == "1e-300"
    assert draw_anomaly(lambda: Value(2.0, "x") * 3) is None
    with pytest.raises(TypeError, match="must return the root"):
        draw_anomaly(lambda: None)


def test_draw_anomaly_needs_a_build_that_makes_the_same_graph() -> None:
    calls = []

    def build() -> Value:
        calls.append(1)
        big = 1e200 if len(calls) == 1 else 1.0
        return Value(big, "a") * Value(big, "b")

    with pytest.raises(RuntimeError, match="same graph every time"):
        draw_anomaly(build)


# ---- gradient accumulation ----------------------------------------------------------------------


def test_leaves_double_and_intermediates_stay_over_two_passes() -> None:
    w, x, b = Value(0.5, "w"), Value(2.0, "x"), Value(0.1, "b")
    out = (w * x + b).tanh()
    view = accumulation_view(out)
    names = view.picture.names
    w_i, n1 = names.index("w"), names.index("n1")
    one, two = view.passes
    assert two[w_i] == 2 * one[w_i] != 0.0
    assert two[n1] == one[n1] != 0.0
    assert {names[i] for i in view.accumulated} == {"w", "x", "b"}
    text = view.text()
    assert f"w: grad {one[w_i]:.4g} after pass 1, {two[w_i]:.4g} after pass 2" in text
    assert "leaves accumulate" in text
    assert f"n1: grad {one[n1]:.4g} after each pass (an intermediate: reset" in text
    source = view.draw(1).source
    assert fill(source, w_i) == ACCUMULATED
    assert f"pass 1: {one[w_i]:.4g}, pass 2: {two[w_i]:.4g}" in source
    assert f"grad {one[w_i]:.4g}<" in source and "grads after backward pass 1 of 2" in source
    assert f"grad {two[w_i]:.4g}<" in view.draw(2).source
    with pytest.raises(ValueError, match="pass 3 of 2"):
        view.draw(3)


def test_the_accumulation_pictures_keep_their_legend_under_the_title() -> None:
    """The title and the legend share the graph's one label: the title once dropped the legend."""
    w = Value(2.0, "w")
    view = accumulation_view((w * 3.0).tanh())
    for picture in (view.draw(2), view.draw_cleared()):
        svg = picture.pipe(format="svg").decode()
        texts = "".join(svg.split("<text")[1:])
        assert "the output (its gradient starts" in texts and "grads after" in texts
    assert "a leaf: each backward() adds to its grad" in view.draw(2).pipe(format="svg").decode()


def test_zero_grad_of_a_model_clears_its_parameters_and_not_the_inputs() -> None:
    neuron = nn.Neuron(2, activation="tanh")
    x1, x2 = Value(1.0, "x1"), Value(-2.0, "x2")
    loss = neuron([x1, x2]) ** 2
    view = accumulation_view(loss, parameters=neuron)
    names = view.picture.names
    assert {names[i] for i in view.was_cleared} == {"w0", "w1", "b"}
    assert all(p.grad == 0.0 for p in neuron.parameters())
    assert x1.grad == view.passes[-1][names.index("x1")] != 0.0
    text = view.text()
    assert "after Neuron.zero_grad():" in text and "cleared: " in text
    assert "x1 keeps" in text
    source = view.draw_cleared().source
    w0 = names.index("w0")
    assert fill(source, w0) == CLEARED and "grad 0<" in source
    assert "cleared (was" in source and "zero_grad did not touch it" in source


def test_with_no_parameters_every_leaf_is_cleared() -> None:
    w, x = Value(3.0, "w"), Value(2.0, "x")
    view = accumulation_view(w * x, passes=3)
    assert [p[0] for p in view.passes] == [2.0, 4.0, 6.0]
    assert w.grad == 0.0 and x.grad == 0.0
    assert all(g == 0.0 for g in view.cleared[:2])
    with pytest.raises(ValueError, match="at least one backward pass"):
        accumulation_view(w * x, passes=0)
