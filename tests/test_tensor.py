"""The batch path: every Tensor op against finite differences and HIPS autograd, and its errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as autograd_grad
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn
from autograd_core import (
    Tensor,
    Value,
    as_tensor,
    detect_anomaly,
    gradcheck,
    no_grad,
    topological_order,
)

# ---- broadcasting shapes ------------------------------------------------------------------------

shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def arrays_for(shape: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high))


@st.composite
def broadcast_pairs(draw: st.DrawFn, low: float = -2.0, high: float = 2.0) -> tuple:
    a_shape, b_shape = draw(shapes).input_shapes
    return draw(arrays_for(a_shape, low, high)), draw(arrays_for(b_shape, low, high))


def projected(out: Tensor, weights: np.ndarray) -> Tensor:
    """A scalar that depends on every output element with a different weight."""
    return (out * weights).sum()


def weights_like(shape: tuple[int, ...]) -> np.ndarray:
    return np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape)


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "maximum": lambda a, b: a.maximum(b),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcast_pairs())
def test_broadcasting_binary_ops_pass_gradcheck(name: str, pair: tuple) -> None:
    a, b = pair
    if name == "div":
        b = np.where(np.abs(b) < 0.2, 0.5, b)  # away from the pole
    if name == "maximum":
        b = np.where(np.abs(a - b) < 1e-3, b + 0.01, b)  # away from the kink
    op = BINARY[name]
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    w = weights_like(out_shape)
    report = gradcheck(lambda x, y: projected(op(x, y), w), [a, b])
    assert report.ok, f"\n{report}"
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    projected(op(ta, tb), w).backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape


UNARY: dict[str, tuple[Callable[[Any], Any], float, float]] = {
    "exp": (lambda x: x.exp(), -2.0, 2.0),
    "log": (lambda x: x.log(), 0.2, 3.0),
    "reciprocal": (lambda x: x.reciprocal(), 0.2, 3.0),
    "pow3": (lambda x: x**3, -2.0, 2.0),
    "sqrt": (lambda x: x**0.5, 0.2, 3.0),
    "relu": (lambda x: x.relu(), -2.0, 2.0),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), -2.0, 2.0),
    "sigmoid": (lambda x: x.sigmoid(), -4.0, 4.0),
    "tanh": (lambda x: x.tanh(), -2.0, 2.0),
    "neg": (lambda x: -x, -2.0, 2.0),
    "rsub": (lambda x: 3.0 - x, -2.0, 2.0),
    "rdiv": (lambda x: 2.0 / x, 0.2, 3.0),
    "sum_all": (lambda x: x.sum(), -2.0, 2.0),
    "sum_axis0": (lambda x: x.sum(axis=0), -2.0, 2.0),
    "sum_keepdims": (lambda x: x.sum(axis=-1, keepdims=True), -2.0, 2.0),
    "mean_axis": (lambda x: x.mean(axis=(0,)), -2.0, 2.0),
    "mean_all": (lambda x: x.mean(), -2.0, 2.0),
    "reshape": (lambda x: x.reshape(-1), -2.0, 2.0),
    "transpose": (lambda x: x.transpose(), -2.0, 2.0),
    "T": (lambda x: x.T, -2.0, 2.0),
    "log_softmax": (lambda x: x.log_softmax(axis=-1), -3.0, 3.0),
    "softmax": (lambda x: (x / 0.7).softmax(), -3.0, 3.0),
    "softmax_axis0": (lambda x: x.softmax(axis=0), -3.0, 3.0),
    "logsumexp": (lambda x: x.logsumexp(), -3.0, 3.0),
    "elu": (lambda x: x.elu(0.7), -2.0, 2.0),
    "abs": (lambda x: abs(x), -2.0, 2.0),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_ops_and_reductions_pass_gradcheck(name: str, data: st.DataObject) -> None:
    op, low, high = UNARY[name]
    x = data.draw(
        arrays_for(data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)), low, high)
    )
    if name in ("relu", "leaky_relu", "elu", "abs"):
        x = np.where(np.abs(x) < 1e-3, 0.5, x)
    w = weights_like(np.shape(op(Tensor(x)).data))
    report = gradcheck(lambda t: projected(op(t), w), [x])
    assert report.ok, f"\n{report}"


@given(data=st.data())
def test_matmul_passes_gradcheck_for_every_rank_pairing(data: st.DataObject) -> None:
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    a_shape = data.draw(st.sampled_from([(k,), (n, k), (2, n, k)]))
    b_shape = data.draw(st.sampled_from([(k,), (k, m)]))
    a, b = data.draw(arrays_for(a_shape)), data.draw(arrays_for(b_shape))
    w = weights_like(np.shape(a @ b))
    assert gradcheck(lambda x, y: projected(x @ y, w), [a, b]).ok


def test_integer_array_indexing_scatters_and_adds_repeats() -> None:
    x = Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    picked = x[np.array([0, 2, 2]), np.array([1, 0, 0])]
    assert picked.data.tolist() == [1.0, 6.0, 6.0]
    picked.sum().backward()
    expected = np.zeros((4, 3))
    expected[0, 1], expected[2, 0] = 1.0, 2.0
    np.testing.assert_array_equal(x.grad, expected)
    rows = np.array([3, 1])
    assert gradcheck(lambda t: projected(t[rows], weights_like((2, 3))), [np.ones((4, 3))]).ok


# ---- random graphs against HIPS autograd ---------------------------------------------------------

GRAPH_OPS: dict[str, tuple[int, Callable[..., Any], Callable[..., Any]]] = {
    "add": (2, lambda a, b: a + b, lambda a, b: a + b),
    "mul": (2, lambda a, b: a * b, lambda a, b: a * b),
    "sub": (2, lambda a, b: a - b, lambda a, b: a - b),
    "maximum": (2, lambda a, b: a.maximum(b), anp.maximum),
    "matmul": (2, lambda a, b: a @ b, anp.matmul),
    "tanh": (1, lambda a: a.tanh(), anp.tanh),
    "sigmoid": (1, lambda a: a.sigmoid(), lambda a: 1 / (1 + anp.exp(-a))),
    "exp_small": (1, lambda a: (a * 0.3).exp(), lambda a: anp.exp(a * 0.3)),
    "square": (1, lambda a: a**2, lambda a: a**2),
    "sum0": (1, lambda a: a.sum(axis=0, keepdims=True), lambda a: anp.sum(a, 0, keepdims=True)),
    "log_softmax": (
        1,
        lambda a: a.log_softmax(),
        lambda a: a - anp.log(anp.sum(anp.exp(a), -1, keepdims=True)),
    ),
    "T": (1, lambda a: a.T, lambda a: a.T),
}


@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(GRAPH_OPS)), st.integers(0, 50), st.integers(0, 50)),
        min_size=1,
        max_size=10,
    ),
    arrays_for((3, 3)),
    arrays_for((3, 3)),
)
def test_random_tensor_graphs_match_hips_autograd(
    steps: list, a: np.ndarray, b: np.ndarray
) -> None:
    """Square 3x3 inputs keep every op's shapes compatible; results are reused by index."""

    def run(x: Any, y: Any, backend: int) -> Any:
        results = [x, y]
        for name, i, j in steps:
            arity, *impls = GRAPH_OPS[name]
            args = [results[i % len(results)], results[j % len(results)]][:arity]
            out = impls[backend](*args)
            if name == "sum0":  # back to 3x3, so every later op still fits
                out = out * np.ones((3, 3))
            results.append(out)
        return (results[-1] * weights_like((3, 3))).sum()

    # keep maximum away from ties, where libraries may route differently
    with no_grad():
        results = [Tensor(a), Tensor(b)]
        for name, i, j in steps:
            arity, ours, _ = GRAPH_OPS[name]
            args = [results[i % len(results)], results[j % len(results)]][:arity]
            if name == "maximum" and np.any(np.abs(args[0].data - args[1].data) < 1e-6):
                return
            out = ours(*args)
            results.append(out * np.ones((3, 3)) if name == "sum0" else out)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = run(ta, tb, 0)
    out.backward()
    expected_a = autograd_grad(lambda x: run(x, b, 1))(a)
    expected_b = autograd_grad(lambda y: run(a, y, 1))(b)
    assert out.item() == pytest.approx(float(run(a, b, 1)), rel=1e-9, abs=1e-9)
    got_a = np.zeros((3, 3)) if ta.grad is None else ta.grad
    got_b = np.zeros((3, 3)) if tb.grad is None else tb.grad
    np.testing.assert_allclose(got_a, expected_a, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got_b, expected_b, rtol=1e-9, atol=1e-9)


# ---- semantics shared with Value -----------------------------------------------------------------


def test_backward_twice_doubles_leaves_and_keeps_intermediates() -> None:
    rng = np.random.default_rng(0)
    W = Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    x = Tensor(rng.normal(size=(4, 3)))
    hidden = (x @ W).tanh()
    loss = (hidden * hidden).mean()
    loss.backward()
    once, hidden_once = W.grad.copy(), hidden.grad.copy()
    loss.backward()
    np.testing.assert_array_equal(W.grad, 2 * once)
    np.testing.assert_array_equal(hidden.grad, hidden_once)
    assert x.grad is None  # no gradient flows into a constant


def test_shared_graph_walk_and_no_grad() -> None:
    a = Tensor(np.ones(3), requires_grad=True)
    b = a * 2.0 + a
    order = topological_order(b)
    assert order[-1] is b and a in order
    with no_grad():
        c = a * 2.0
        v = Value(1.0) * 3.0
    assert c.parents == () and not c.requires_grad and v.parents == ()
    b.sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0, 3.0])


def test_backward_needs_a_scalar_root_or_a_gradient() -> None:
    a = Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match=r"single-element root, got shape \(2, 2\)"):
        (a * 2.0).backward()
    (a * 2.0).backward(gradient=np.full((2, 2), 0.5))
    np.testing.assert_array_equal(a.grad, np.ones((2, 2)))


def test_grads_are_writable_arrays() -> None:
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    a.sum().backward()
    a.grad[0, 0] = 5.0  # a broadcast view would refuse this
    assert a.grad.flags.writeable


# ---- errors ------------------------------------------------------------------------------------


def test_shape_errors_name_both_shapes() -> None:
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\) do not broadcast"):
        a + b
    with pytest.raises(ValueError, match=r"@: shapes \(2, 3\) and \(4, 5\)"):
        a @ b
    with pytest.raises(ValueError, match=r"cannot reshape \(2, 3\) into \(4,\)"):
        a.reshape((4,))


def test_tensor_rejects_non_numbers() -> None:
    for bad in ("abc", None, [object()]):
        with pytest.raises(TypeError, match="Tensor needs"):
            Tensor(bad)
    with pytest.raises(TypeError, match="floating dtype"):
        Tensor([1, 2], dtype=np.int32)


def test_detect_anomaly_names_the_op() -> None:
    x = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    forward_error = r"log produced a non-finite value \(-inf\) in the forward"
    with np.errstate(divide="ignore"), detect_anomaly():
        with pytest.raises(FloatingPointError, match=forward_error):
            x.log()
        y = x**0.5  # finite forward, infinite slope at 0
        with pytest.raises(FloatingPointError, match=r"backward of \*\*0\.5 .* \(inf\)"):
            y.sum().backward()
    with np.errstate(divide="ignore"):
        assert np.isneginf(x.log().data[1])  # outside the block, NumPy's rules


def test_cross_entropy_labels_are_checked() -> None:
    logits = Tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        logits.cross_entropy(np.array([0, 3]))
    with pytest.raises(ValueError, match="label -1 is out of range"):
        logits.cross_entropy(np.array([-1, 0]))
    with pytest.raises(ValueError, match="2 integer labels"):
        logits.cross_entropy(np.array([0.5, 1.0]))


def test_fused_cross_entropy_gradient_is_softmax_minus_onehot_over_m() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 5)) * 100  # large logits: the shift keeps it finite
    labels = np.array([0, 4, 2, 2])
    logits = Tensor(z, requires_grad=True)
    loss = logits.cross_entropy(labels)
    loss.backward()
    probs = np.exp(z - z.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    onehot = np.eye(5)[labels]
    np.testing.assert_allclose(logits.grad, (probs - onehot) / 4, atol=1e-15)
    composed = -(logits.log_softmax()[np.arange(4), labels]).mean()
    assert loss.item() == pytest.approx(composed.item(), rel=1e-12)
    assert gradcheck(lambda t: t.cross_entropy(labels), [rng.normal(size=(4, 5))]).ok


def test_float32_stays_float32() -> None:
    x = Tensor(np.ones((2, 3), dtype=np.float32))
    W = Tensor(np.ones((3, 4)), requires_grad=True, dtype=np.float32)
    out = ((x @ W + 1.0) * 2 - 0.5).relu().sigmoid().tanh().exp().log() / 3
    loss = out.cross_entropy(np.array([0, 1])) + (out**2).mean()
    assert out.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    assert W.grad.dtype == np.float32
    assert Tensor([1, 2]).dtype == np.float64  # the default


def test_pytorch_spellings_of_axes_work() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    np.testing.assert_array_equal(x.sum(dim=1).data, x.sum(axis=1).data)
    assert x.mean(dim=0, keepdim=True).shape == (1, 3)
    np.testing.assert_allclose(x.softmax(dim=0).data, x.softmax(axis=0).data)
    np.testing.assert_allclose(x.logsumexp(dim=0).data, x.logsumexp(axis=0).data)
    with pytest.raises(TypeError, match=r"axis .* or dim .*, not both"):
        x.sum(axis=0, dim=1)
    assert "op='sum'" in repr(x.sum()) and "requires_grad=True" in repr(x)


def test_max_and_min_over_an_axis_route_to_the_first_winner() -> None:
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]]), requires_grad=True)
    top = x.max(axis=1)
    np.testing.assert_array_equal(top.data, [3.0, 2.0])
    top.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])  # the tie goes to the first
    x.zero_grad()
    x.min().backward()  # over everything: a 0-d result
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [0, 1, 0]])
    assert x.max(dim=0, keepdims=True).shape == (1, 3)
    np.testing.assert_array_equal(x.argmax(axis=1), [1, 0])
    assert x.argmin() == 4
    with pytest.raises(ValueError, match="reshape them into one"):
        x.max(axis=(0, 1))
    with pytest.raises(ValueError, match="max of an empty Tensor"):
        Tensor(np.ones((0, 2))).max()


def test_sqrt_clip_flatten_concatenate_stack() -> None:
    from autograd_core import concatenate, stack

    x = Tensor(np.array([[4.0, 9.0], [0.25, 1.0]]), requires_grad=True)
    np.testing.assert_allclose(x.sqrt().data, [[2, 3], [0.5, 1]])
    clipped = x.clip(0.5, 4.0)
    np.testing.assert_array_equal(clipped.data, [[4, 4], [0.5, 1]])
    clipped.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 0], [0, 1]])  # 4 is inside (bounds count)
    assert x.flatten().shape == (4,) and Tensor(np.ones((2, 3, 4))).flatten(1).shape == (2, 12)
    a, b = Tensor(np.ones((2, 1)), requires_grad=True), Tensor(np.zeros((2, 2)), requires_grad=True)
    joined = concatenate([a, b], axis=1)
    assert joined.shape == (2, 3) and joined.op == "concatenate"
    (joined * np.arange(6.0).reshape(2, 3)).sum().backward()
    np.testing.assert_array_equal(a.grad, [[0], [3]])
    np.testing.assert_array_equal(b.grad, [[1, 2], [4, 5]])
    stacked = stack([b, b * 2.0], axis=0)
    assert stacked.shape == (2, 2, 2)
    with pytest.raises(ValueError, match=r"concatenate along axis 0: shapes \(2, 1\), \(2, 2\)"):
        concatenate([a, b], axis=0)
    with pytest.raises(ValueError, match="stack needs at least one"):
        stack([])
    with pytest.raises(ValueError, match=r"sqrt domain error: sqrt\(-1\.0\)"):
        Value(-1.0).sqrt()
    root = Value(0.0)
    root.sqrt().backward()
    assert root.grad == np.inf


def test_leaf_gradients_are_their_own_arrays() -> None:
    """Adding two leaves hands both the same upstream array: each leaf gets a copy, so changing
    one gradient in place (gradient clipping, say) changes no other."""
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    seed = np.array([1.0, 2.0, 3.0])
    total = (a + b).reshape(3)
    total.backward(gradient=seed)
    assert a.grad is not b.grad and a.grad is not seed and a.grad.base is None
    a.grad *= 0.0
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])
    leaf = Tensor(np.ones(2), requires_grad=True)
    leaf.backward(gradient=seed[:2])
    leaf.grad[0] = 99.0
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])


def test_pytorch_spellings_of_max_min_pow_and_comparisons() -> None:
    x = Tensor(np.array([[1.0, -2.0], [3.0, 4.0]]), requires_grad=True)
    assert x.max(dim=1, keepdim=True).shape == (2, 1)
    np.testing.assert_array_equal(x.min(axis=0, keepdim=True).data, [[1.0, -2.0]])
    mask = x > 0
    assert mask.dtype == np.bool_ and mask.tolist() == [[True, False], [True, True]]
    assert (x <= Tensor(np.ones((2, 2)))).tolist() == [[True, True], [False, False]]
    assert ((x >= 3.0) == (x.data >= 3.0)).all() and ((x < 0) == (x.data < 0)).all()
    with pytest.raises(TypeError, match="cannot be combined with a Value"):
        _ = x < Value(1.0)
    report = gradcheck(lambda t: t.pow(3).sum(), [x.data], raise_on_mismatch=True)
    assert report.ok
    report = gradcheck(lambda t: (2.0**t).sum(), [x.data], raise_on_mismatch=True)
    assert report.ok
    np.testing.assert_allclose((2**x).data, 2.0**x.data)
    with pytest.raises(ValueError, match=r"-2 \*\* Tensor needs a positive base"):
        _ = (-2) ** x


def test_backward_from_a_tensor_that_needs_no_gradient_says_what_to_do() -> None:
    constant = Tensor(np.ones(2))
    with pytest.raises(RuntimeError, match=r"does not require a gradient.*requires_grad=True"):
        (constant * 2.0).sum().backward()
    x = Tensor(np.ones(2), requires_grad=True)
    with no_grad():
        y = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match=r"inside no_grad\(\)"):
        y.backward()


def test_astype_view_and_float_as_numpy_and_pytorch_spell_them() -> None:
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    low = x.astype(np.float32)
    assert low.dtype == np.float32 and low.op == "astype"
    (low * low).sum().backward()
    assert x.grad.dtype == np.float64  # the gradient comes back in the input's dtype
    np.testing.assert_allclose(x.grad, 2 * x.data)
    with pytest.raises(TypeError, match="astype: a Tensor holds floats, got dtype int64"):
        x.astype(np.int64)
    assert x.view(-1).shape == (4,) and x.view(4, 1).op == "reshape"
    assert float(x.sum()) == 10.0 and x[1, 1].item() == 4.0
    with pytest.raises(ValueError, match=r"needs a one-element Tensor, got shape \(2, 2\)"):
        float(x)


def test_a_tensor_copies_its_data_as_torch_tensor_does_and_as_tensor_shares_it() -> None:
    array = np.zeros(3)
    weight = Tensor(array, requires_grad=True)
    weight.data -= 1.0  # an optimiser's in-place step
    assert array.tolist() == [0.0, 0.0, 0.0]
    assert as_tensor(array).data is array and Tensor(array, copy=False).data is array


def test_relu_routes_the_upstream_gradient_without_negative_zeros() -> None:
    """The lecture's numbers: x = [1, -2, 3, -1], upstream [4, -1, 5, 9] -> [4, 0, 5, 0]."""
    x = Tensor([1.0, -2.0, 3.0, -1.0], requires_grad=True)
    y = x.relu()
    y.backward(gradient=np.array([4.0, -1.0, 5.0, 9.0]))
    assert str(y.data) == "[1. 0. 3. 0.]" and str(x.grad) == "[4. 0. 5. 0.]"


def _grads_of(build: Callable[..., Tensor], arrays: list[np.ndarray]) -> tuple[Any, list[Any]]:
    """The output and every input's gradient of `build` on fresh leaves of `arrays`."""
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = build(*leaves)
    out.backward(np.linspace(-1.0, 1.0, out.size).reshape(out.shape))
    return out.data, [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("leading", [(5,), (), (2, 3)])
def test_fused_linear_is_its_composition_and_passes_gradcheck(leading: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    x, W, b = rng.normal(size=(*leading, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    fused_out, fused_grads = _grads_of(lambda x, W, b: x.linear(W, b), [x, W, b])
    out, grads = _grads_of(lambda x, W, b: x @ W + b, [x, W, b])
    assert fused_out.shape == out.shape == (*leading, 3)
    np.testing.assert_allclose(fused_out, out, rtol=1e-13, atol=1e-15)
    for fused, composed in zip(fused_grads, grads):
        assert fused.shape == composed.shape
        np.testing.assert_allclose(fused, composed, rtol=1e-12, atol=1e-14)
    node = Tensor(x).linear(Tensor(W, requires_grad=True), Tensor(b, requires_grad=True))
    assert node.op == "linear" and len(node.parents) == 3
    assert gradcheck(lambda x, W, b: x.linear(W, b).sum(), [x, W, b]).ok


def test_fused_linear_refuses_shapes_that_do_not_line_up() -> None:
    x, W = Tensor(np.ones((2, 4))), Tensor(np.ones((4, 3)))
    for bad_x, bad_w, bad_b in [
        (Tensor(np.ones((2, 5))), W, Tensor(np.ones(3))),
        (x, W, Tensor(np.ones(4))),
        (x, Tensor(np.ones(4)), Tensor(np.ones(1))),
    ]:
        with pytest.raises(ValueError, match="linear: shapes"):
            bad_x.linear(bad_w, bad_b)


def test_fused_mse_is_its_composition_and_passes_gradcheck() -> None:
    rng = np.random.default_rng(4)
    prediction, target = rng.normal(size=(7, 2)), rng.normal(size=(7, 2))
    leaf = Tensor(prediction, requires_grad=True)
    fused = leaf.mse(target)
    fused.backward()
    composed_leaf = Tensor(prediction, requires_grad=True)
    composed = ((composed_leaf - target) ** 2).mean()
    composed.backward()
    assert fused.op == "mse" and fused.shape == ()
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-14)
    np.testing.assert_allclose(leaf.grad, composed_leaf.grad, rtol=1e-13)
    np.testing.assert_allclose(leaf.grad, 2.0 * (prediction - target) / prediction.size)
    assert gradcheck(lambda p: p.mse(target), [prediction]).ok
    with pytest.raises(ValueError, match="mse: prediction"):
        leaf.mse(target[:3])


def test_nn_mse_builds_the_fused_node_with_the_compositions_numbers() -> None:
    layer = nn.Linear(3, 2)
    X, target = np.linspace(-1.0, 1.0, 12).reshape(4, 3), np.arange(8.0).reshape(4, 2)
    loss = nn.mse(layer(X), target.ravel())  # targets of any shape with as many elements
    assert loss.op == "mse"
    loss.backward()
    fused = layer.weight.grad.copy()
    layer.zero_grad()
    composed = ((layer(X) - target) ** 2).mean()
    composed.backward()
    np.testing.assert_allclose(loss.data, composed.data, rtol=1e-14)
    np.testing.assert_allclose(fused, layer.weight.grad, rtol=1e-12)


def test_truth_unknown_pytorch_names_and_ragged_rows_say_what_to_do() -> None:
    assert bool(Tensor([2.0])) is True and bool(Tensor(0.0)) is False
    with pytest.raises(ValueError, match=r"truth value of a Tensor of shape \(2,\) is ambiguous"):
        bool(Tensor([0.0, 1.0]))
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(AttributeError, match=r"'unsqueeze': use t.reshape"):
        t.unsqueeze(0)
    with pytest.raises(AttributeError, match=r"'dim': use t.ndim"):
        t.dim()
    with pytest.raises(AttributeError, match=r"^'Tensor' object has no attribute 'nonsense'$"):
        t.nonsense  # noqa: B018
    with pytest.raises(ValueError, match="Tensor needs a rectangular array of numbers"):
        Tensor([[1.0, 2.0], [3.0]])


def test_axes_given_as_numpy_integers_and_logsumexp_over_everything() -> None:
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    np.testing.assert_allclose(t.mean(axis=np.int64(0)).data, [1.5, 2.5, 3.5])
    everything = t.logsumexp(axis=None)
    assert everything.shape == () and everything.item() == pytest.approx(
        np.log(np.exp(np.arange(6.0)).sum())
    )
    assert gradcheck(lambda x: x.logsumexp(axis=None), [t.data]).ok
    with pytest.raises(ValueError, match=r"^softmax: axis 5"):
        t.softmax(axis=5)


# ---- inputs that are not what a Tensor holds: a clear error or the right result (issue 25) -----


@pytest.mark.parametrize(
    ("other", "said"),
    [
        (np.str_("1"), "cannot combine with str_"),
        (np.datetime64("2020-01-01"), "cannot combine with datetime64"),
        (np.complex128(1j), "complex numbers are not supported"),
        (np.array([1j, 2j]), "complex numbers are not supported"),
    ],
)
def test_text_dates_and_complex_numbers_are_refused_by_name(other: object, said: str) -> None:
    """`Tensor + np.str_('1')` once read the text as a number and a date as days; a complex
    number lost its imaginary part with a warning."""
    with pytest.raises(TypeError, match=said):
        Tensor([1.0, 2.0]) + other
    with pytest.raises(TypeError, match=said):
        other + Tensor([1.0, 2.0])


def test_a_value_meets_numpy_with_words_of_its_own() -> None:
    with pytest.raises(TypeError, match="complex numbers are not supported"):
        Value(1.0) + np.complex128(1)
    with pytest.raises(TypeError, match="a Value is one number: use a Tensor for an array"):
        Value(1.0) + np.array([1.0, 2.0])
    assert (Value(1.0) + np.float64(2.0)).data == 3.0


def test_values_and_huge_integers_in_a_tensor_say_what_they_are() -> None:
    with pytest.raises(TypeError, match=r"Tensor\(\) of Values"):
        Tensor([Value(1.0)])
    with pytest.raises(TypeError, match="an integer of 401 digits is too large for a float"):
        Tensor([10**400])
    with pytest.raises(TypeError, match="an integer of 5001 digits"):  # (str() of it is refused)
        Tensor([10**5000])


def test_a_zero_dimensional_tensor_has_an_array_gradient_and_no_length() -> None:
    t = Tensor(2.0, requires_grad=True)
    (t * t + t).backward()
    assert type(t.grad) is np.ndarray and t.grad.shape == () and t.grad == 5.0
    with pytest.raises(TypeError, match=r"len\(\) of a 0-d Tensor .* use .item\(\) or .shape"):
        len(t)
    with pytest.raises(ValueError, match=r"shape \(\) \(it has no axes\)"):
        t.sum(axis=0)


def test_empty_and_infinite_slices_of_logsumexp_and_an_empty_cross_entropy() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning leaks
        empty = Tensor(np.zeros((0, 3))).logsumexp(axis=0)
        assert empty.shape == (3,) and np.all(empty.data == -np.inf)
        assert Tensor(np.array([-np.inf, -np.inf])).logsumexp(axis=0).item() == -np.inf
    with pytest.raises(ValueError, match=r"cross_entropy needs logits of shape \(M, k\) with M"):
        Tensor(np.zeros((0, 3)), requires_grad=True).cross_entropy(np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match=r"mse of an empty prediction \(shape \(0, 3\)\)"):
        Tensor(np.zeros((0, 3)), requires_grad=True).mse(np.zeros((0, 3)))


def test_a_float32_parameter_keeps_a_float32_gradient() -> None:
    """As PyTorch: the result of float32 and float64 is float64, each gradient is in its
    parameter's dtype."""
    w = Tensor(np.ones(3, np.float32), requires_grad=True)
    x = Tensor(np.arange(3.0))
    (w * x).sum().backward()
    assert w.grad.dtype == np.float32 and np.array_equal(w.grad, np.arange(3.0, dtype=np.float32))
