"""softmax, log_softmax, logsumexp, cross-entropy, and the n-ary sum and dot nodes."""

from __future__ import annotations

import math

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as autograd_grad
from hypothesis import given
from hypothesis import strategies as st

from autograd_core import Tensor, Value, gradcheck
from autograd_core import functional as F


def leaves(xs: list[float]) -> list[Value]:
    return [Value(x) for x in xs]


# ---- n-ary sum and dot: one node each, same as their compositions ------------------------------


def test_sum_is_one_node_with_unit_local_grads() -> None:
    xs = leaves([1.0, -2.0, 3.5])
    total = F.sum(xs)
    assert total.data == 2.5
    assert total.parents == tuple(xs) and total.local_grads == (1.0, 1.0, 1.0)
    (total * 2).backward()
    assert [x.grad for x in xs] == [2.0, 2.0, 2.0]


def test_dot_matches_chain_of_mul_and_add() -> None:
    w, x, b = leaves([0.5, -1.5, 2.0]), leaves([3.0, 0.25, -1.0]), Value(0.75)
    fused = F.dot(w, x, b)
    assert len(fused.parents) == 7 and fused.op == "dot"
    fused.backward()
    fused_grads = [v.grad for v in (*w, *x, b)]

    w2, x2, b2 = leaves([0.5, -1.5, 2.0]), leaves([3.0, 0.25, -1.0]), Value(0.75)
    chain = b2
    for wi, xi in zip(w2, x2):
        chain = chain + wi * xi
    chain.backward()
    assert fused.data == pytest.approx(chain.data, rel=1e-15)
    assert fused_grads == pytest.approx([v.grad for v in (*w2, *x2, b2)], rel=1e-15)


def test_dot_with_itself_gives_twice_the_vector() -> None:
    """sum(p*p) as dot(p, p): each p is a parent twice, and the copy gate adds both uses."""
    ps = leaves([0.3, -2.0])
    F.dot(ps, ps).backward()
    assert [p.grad for p in ps] == [0.6, -4.0]


def test_dot_and_sum_accept_plain_numbers() -> None:
    w = leaves([2.0, 3.0])
    out = F.dot(w, [1.0, -1.0])
    out.backward()
    assert out.data == -1.0 and [v.grad for v in w] == [1.0, -1.0]
    assert F.sum([1, 2.5, Value(1.0)]).data == 4.5


def test_linear_makes_the_nodes_dot_makes_row_by_row() -> None:
    """A layer's pre-activations: one dot node per row, equal to dot's in value, parents, local
    gradients and the gradients they pass back (inputs shared by every row sum their uses)."""
    rows = [[0.5, -1.5], [2.0, 0.25], [-1.0, 3.0]]
    biases = [0.1, -0.2, 0.3]
    inputs = leaves([1.5, -2.0])
    weights = [leaves(row) for row in rows]
    bias_values = leaves(biases)
    outs = F.linear([inputs[0], -2.0], weights, bias_values)  # a plain number is wrapped once
    assert [o.op for o in outs] == ["dot"] * 3
    assert outs[0].parents[2] is inputs[0] and outs[1].parents[3] is outs[0].parents[3]
    F.sum(outs).backward()

    inputs2 = leaves([1.5, -2.0])
    weights2 = [leaves(row) for row in rows]
    bias_values2 = leaves(biases)
    singles = [F.dot(w, inputs2, b) for w, b in zip(weights2, bias_values2)]
    F.sum(singles).backward()
    assert [o.data for o in outs] == [o.data for o in singles]
    assert [o.local_grads for o in outs] == [o.local_grads for o in singles]
    assert inputs[0].grad == inputs2[0].grad == 0.5 + 2.0 - 1.0
    assert [[w.grad for w in row] for row in weights] == [[w.grad for w in row] for row in weights2]
    assert [b.grad for b in bias_values] == [1.0, 1.0, 1.0]
    unbiased = [o.data for o in F.linear([1.5, -2.0], rows)]
    assert unbiased == pytest.approx([o.data - b for o, b in zip(outs, biases)], rel=1e-15)


def test_linear_rejects_rows_and_biases_that_do_not_line_up() -> None:
    with pytest.raises(ValueError, match="2 rows of weights but 3 biases"):
        F.linear([1.0], [[1.0], [2.0]], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="linear: 2 weights but 1 inputs; they must pair up"):
        F.linear([1.0], [[1.0, 2.0]])
    with pytest.raises(TypeError, match=r"linear.*str"):
        F.linear(["x"], [[1.0]])


def test_dot_and_sum_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="dot: 2 weights but 3 inputs"):
        F.dot(leaves([1.0, 2.0]), leaves([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="empty"):
        F.sum([])
    with pytest.raises(TypeError, match=r"sum.*str"):
        F.sum([Value(1.0), "x"])  # type: ignore[list-item]


# ---- softmax family ----------------------------------------------------------------------------


def reference_softmax(z: list[float]) -> np.ndarray:
    e = np.exp(np.asarray(z) - max(z))
    return e / e.sum()


@pytest.mark.parametrize("z", [[1.0, 2.0, 3.0], [-0.5, 0.0], [4.0, 4.0, 4.0, 4.0], [10.0]])
def test_softmax_values_and_gradcheck(z: list[float]) -> None:
    probs = [p.data for p in F.softmax(z)]
    assert probs == pytest.approx(reference_softmax(z).tolist(), rel=1e-14)
    assert math.fsum(probs) == pytest.approx(1.0, abs=1e-15)
    for i in range(len(z)):
        assert gradcheck(lambda *v, i=i: F.softmax(v)[i], z).ok
        assert gradcheck(lambda *v, i=i: F.log_softmax(v)[i], z).ok
    assert gradcheck(lambda *v: F.logsumexp(v), z).ok


def test_softmax_jacobian_matches_the_formula() -> None:
    """d y_i / d z_j = y_i (1 - y_i) on the diagonal, -y_i y_j off it."""
    z = [0.2, -1.0, 1.5]
    y = reference_softmax(z)
    expected = np.diag(y) - np.outer(y, y)
    for i in range(3):
        logits = leaves(z)
        F.softmax(logits)[i].backward()
        assert [v.grad for v in logits] == pytest.approx(expected[i].tolist(), abs=1e-15)


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_family_is_stable_at_huge_logits(scale: float) -> None:
    z = [scale, 0.0, -scale, scale]
    probs = [p.data for p in F.softmax(z)]
    assert probs == [0.5, 0.0, 0.0, 0.5] if scale > 0 else probs == [0.0, 0.0, 1.0, 0.0]
    log_probs = [p.data for p in F.log_softmax(z)]
    assert all(math.isfinite(lp) or lp == -math.inf for lp in log_probs)
    biggest = max(z)
    assert F.logsumexp(z).data == pytest.approx(biggest + (math.log(2) if scale > 0 else 0.0))
    logits = leaves(z)
    F.logsumexp(logits).backward()
    assert [v.grad for v in logits] == pytest.approx(probs, abs=1e-15)


def test_log_softmax_exact_at_huge_logits() -> None:
    assert [p.data for p in F.log_softmax([1e4, 0.0])] == [0.0, -1e4]


def test_temperature_flattens_or_sharpens() -> None:
    z = [1.0, 2.0, 3.0]
    hot = [p.data for p in F.softmax(z, temperature=100.0)]
    cold = [p.data for p in F.softmax(z, temperature=0.1)]
    assert max(hot) - min(hot) < 0.02
    assert cold[2] > 0.9999 and cold[0] < 1e-8
    assert [p.data for p in F.softmax(z, temperature=2.0)] == pytest.approx(
        reference_softmax([v / 2 for v in z]).tolist(), rel=1e-14
    )
    assert gradcheck(lambda *v: F.softmax(v, temperature=0.5)[0], z).ok
    with pytest.raises(ValueError, match=r"temperature.*0"):
        F.softmax(z, temperature=0.0)


def test_softmax_of_nothing_is_refused() -> None:
    for fn in (F.softmax, F.log_softmax, F.logsumexp):
        with pytest.raises(ValueError, match="empty"):
            fn([])


# ---- cross-entropy: fused node vs composition --------------------------------------------------


def composed_cross_entropy(logits: list[Value], target: int) -> Value:
    return -F.log_softmax(logits)[target]


@pytest.mark.parametrize(
    ("z", "target"), [([2.0, 1.0, 0.1], 0), ([2.0, 1.0, 0.1], 2), ([1e4, -1e4], 1), ([0.0], 0)]
)
def test_fused_cross_entropy_matches_composition(z: list[float], target: int) -> None:
    fused_logits, composed_logits = leaves(z), leaves(z)
    fused = F.cross_entropy(fused_logits, target)
    composed = composed_cross_entropy(composed_logits, target)
    fused.backward()
    composed.backward()
    assert fused.data == pytest.approx(composed.data, rel=1e-12, abs=1e-12)
    assert [v.grad for v in fused_logits] == pytest.approx(
        [v.grad for v in composed_logits], abs=1e-12
    )
    # the seed formula: dL/dz = y - t
    expected = reference_softmax(z)
    expected[target] -= 1.0
    assert fused.local_grads == pytest.approx(expected.tolist(), abs=1e-15)
    assert len(fused.parents) == len(z) and fused.op == "cross_entropy"


@given(
    st.lists(st.floats(-50, 50), min_size=1, max_size=6).flatmap(
        lambda z: st.tuples(st.just(z), st.integers(0, len(z) - 1))
    )
)
def test_cross_entropy_agrees_with_hips_autograd(case: tuple[list[float], int]) -> None:
    z, target = case

    def reference(logits: np.ndarray) -> float:
        shifted = logits - anp.max(logits)
        return anp.log(anp.sum(anp.exp(shifted))) - shifted[target]

    logits = leaves(z)
    loss = F.cross_entropy(logits, target)
    loss.backward()
    expected_grad = autograd_grad(reference)(np.array(z))
    assert loss.data == pytest.approx(reference(np.array(z)), rel=1e-12, abs=1e-12)
    assert [v.grad for v in logits] == pytest.approx(expected_grad.tolist(), rel=1e-9, abs=1e-12)


def test_cross_entropy_rejects_bad_targets() -> None:
    with pytest.raises(ValueError, match="target 3 is out of range for 3 classes"):
        F.cross_entropy([1.0, 2.0, 3.0], 3)
    with pytest.raises(ValueError, match="target -1"):
        F.cross_entropy([1.0, 2.0], -1)
    with pytest.raises(TypeError, match="target"):
        F.cross_entropy([1.0, 2.0], 1.0)  # type: ignore[arg-type]


def test_numpy_arrays_of_numbers_are_sequences_of_constants() -> None:
    """A NumPy array has `.sum` and `.dot` methods, but it is numbers, not a Tensor: accepted."""
    weights = [Value(1.0, "w0"), Value(2.0, "w1")]
    out = F.dot(weights, np.array([3.0, 4.0]))
    out.backward()
    assert out.data == 11.0 and [w.grad for w in weights] == [3.0, 4.0]
    assert F.sum(np.array([1.0, 2.0])).data == 3.0
    np.testing.assert_allclose(
        [v.data for v in F.softmax(np.array([1.0, 2.0, 3.0]))], [0.0900306, 0.2447285, 0.6652410],
        rtol=1e-6,
    )
    with pytest.raises(TypeError, match=r"on the batch path call the method: x.sum"):
        F.sum(Tensor(np.ones(2)))  # type: ignore[arg-type]


def test_softmax_reads_its_second_argument_as_the_axis_as_pytorch_does() -> None:
    t = Tensor(np.arange(24.0).reshape(2, 3, 4))
    for axis in (0, 1, 2, -1):
        np.testing.assert_allclose(F.softmax(t, axis).data, t.softmax(axis).data)
        np.testing.assert_allclose(F.softmax(t, dim=axis).data, t.softmax(axis).data)
        np.testing.assert_allclose(F.log_softmax(t, dim=axis).data, t.log_softmax(axis).data)
    np.testing.assert_allclose(
        F.softmax(t, 1, temperature=2.0).data, (t * 0.5).softmax(1).data, rtol=1e-12
    )
    with pytest.raises(TypeError, match=r"the second argument is the axis; pass temperature=0.5"):
        F.softmax([1.0, 2.0], 0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"axis .* or dim .*, not both"):
        F.softmax(t, 0, dim=1)
    assert [round(p.data, 4) for p in F.softmax([1.0, 2.0, 3.0], 0)] == [0.09, 0.2447, 0.6652]
