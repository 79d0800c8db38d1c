"""Higher-order gradients on the batch path: second derivatives (H v) against finite
differences of first-order gradients, on every batch op (`op_cases.BATCH`, one point each) and on
broadcasting, batched and composite cases the op list does not reach.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_cases import BATCH, fixed_arrays

import autograd_core
import nn
from autograd_core import Tensor, Value, grad, hvp
from visualize import draw_graph, trace_backward

Function = Callable[..., Tensor]

# Cases the table's do not reach: broadcasting on both sides, 1-D and batched matmul, reductions
# kept or over everything, a 3-D input to linear.
RNG = np.random.default_rng(1)
A23, A3, A21 = RNG.normal(size=(2, 3)), RNG.normal(size=(3,)), RNG.normal(size=(2, 1))
MORE_CASES: dict[str, tuple[Function, list[np.ndarray]]] = {
    "+ broadcast both": (lambda a, b: a + b, [A21, A3]),
    "* broadcast both": (lambda a, b: a * b * a, [A21, A3]),
    "max broadcast": (lambda a, b: a.maximum(b) * b, [A23, A3 + 0.05]),
    "@ vector": (lambda a, b: a @ b, [A23, A3]),
    "@ batched": (lambda a, b: a @ b, [RNG.normal(size=(2, 2, 3)), RNG.normal(size=(3, 4))]),
    "sum keepdims": (lambda a: a.sum(axis=1, keepdims=True) * a, [A23]),
    "sum all": (lambda a: a.sum() * a, [A23]),
    "max all": (lambda a: a.max() * a, [A23]),
    "linear 3-D": (
        lambda x, w, b: x.linear(w, b).tanh(),
        [RNG.normal(size=(2, 2, 3)), RNG.normal(size=(3, 2)), RNG.normal(size=(2,))],
    ),
    "mean, softmax, logsumexp": (
        lambda a: a.softmax(axis=0) * a.mean() + a.logsumexp(axis=0),
        [A23],
    ),
    "x**1, x**0": (lambda a: a**1 * a + a**0, [A23]),
    "elu both sides": (lambda a: a.elu(0.5) * a, [A23]),
}
CASES = {
    **{f"{case.id} (op list)": (case.on_tensors, fixed_arrays(case)) for case in BATCH},
    **MORE_CASES,
}


def weighted_total(function: Function, weights: np.ndarray) -> Function:
    """The op's output against fixed weights, summed: a scalar whose gradient reaches every
    element (a plain sum would leave the second derivatives of many ops 0)."""
    return lambda *ts: (function(*ts) * weights).sum()


def case(name: str) -> tuple[Function, list[np.ndarray]]:
    function, arrays = CASES[name]
    out = function(*(Tensor(a) for a in arrays))
    weights = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    return weighted_total(function, weights), arrays


def leaves(arrays: list[np.ndarray]) -> list[Tensor]:
    return [Tensor(a, requires_grad=True) for a in arrays]


def first_order(f: Function, arrays: list[np.ndarray]) -> list[np.ndarray]:
    xs = leaves(arrays)
    return grad(f(*xs), xs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_match_finite_differences_of_gradients(name: str) -> None:
    """H v, from differentiating the recorded backward pass, against
    (grad(x + eps v) - grad(x - eps v)) / 2 eps: the first-order gradients, differenced."""
    f, arrays = case(name)
    rng = np.random.default_rng(3)
    vectors = [rng.normal(size=a.shape) for a in arrays]
    xs = leaves(arrays)
    exact = hvp(f(*xs), xs, vectors)
    eps = 1e-6
    plus = first_order(f, [a + eps * v for a, v in zip(arrays, vectors)])
    minus = first_order(f, [a - eps * v for a, v in zip(arrays, vectors)])
    for hv, p, m in zip(exact, plus, minus):
        assert hv.shape == p.shape
        np.testing.assert_allclose(hv, (p - m) / (2 * eps), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_create_graph_gives_the_numbers_of_the_first_order_pass(name: str) -> None:
    f, arrays = case(name)
    xs = leaves(arrays)
    recorded = grad(f(*xs), xs, create_graph=True)
    plain = first_order(f, arrays)
    for g, number in zip(recorded, plain):
        assert type(g) is Tensor
        np.testing.assert_allclose(g.data, number, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("name", "f", "third"),
    [
        ("exp", lambda x: x.exp(), lambda x: np.exp(x)),
        ("log", lambda x: x.log(), lambda x: 2 / x**3),
        ("1/x", lambda x: x.reciprocal(), lambda x: -6 / x**4),
        ("x**4", lambda x: x**4, lambda x: 24 * x),
        ("tanh", lambda x: x.tanh(), lambda x: -2 + 8 * np.tanh(x) ** 2 - 6 * np.tanh(x) ** 4),
        ("sigmoid", lambda x: x.sigmoid(), None),
    ],
)
def test_third_derivatives_of_elementwise_ops_against_closed_forms(
    name: str, f: Function, third: Callable[[np.ndarray], np.ndarray] | None
) -> None:
    """d3/dx3 elementwise: each element of the sum depends on its own x only, so three nested
    gradients of the sum are the third derivative at every point at once."""
    points = np.array([0.3, 0.7, 1.9])
    x = Tensor(points, requires_grad=True)
    (d1,) = grad(f(x).sum(), [x], create_graph=True)
    (d2,) = grad(d1.sum(), [x], create_graph=True)
    (d3,) = grad(d2.sum(), [x])
    if third is None:  # sigmoid: s''' = s (1 - s) (1 - 6 s + 6 s^2)
        s = 1 / (1 + np.exp(-points))
        expected = s * (1 - s) * (1 - 6 * s + 6 * s * s)
    else:
        expected = third(points)
    np.testing.assert_allclose(d3, expected, rtol=1e-12)


def test_hvp_of_an_mlp_with_cross_entropy_matches_finite_differences() -> None:
    rng = np.random.default_rng(4)
    model = nn.batch.MLP(3, [5, 4], activation="tanh", seed=5)
    params = model.parameters()
    x, labels = rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)
    vectors = [rng.normal(size=p.shape) for p in params]

    def gradients() -> list[np.ndarray]:
        return grad(model(x).cross_entropy(labels), params)

    exact = hvp(model(x).cross_entropy(labels), params, vectors)
    start = [p.data.copy() for p in params]
    eps = 1e-5
    differenced = []
    for sign in (1.0, -1.0):
        for p, p0, v in zip(params, start, vectors):
            p.set_data(p0 + sign * eps * v)
        differenced.append(gradients())
    for p, p0 in zip(params, start):
        p.set_data(p0)
    for hv, plus, minus in zip(exact, *differenced):
        np.testing.assert_allclose(hv, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-8)
    assert all(p.grad is None for p in params)  # grad and hvp touch no .grad


def test_hvp_of_a_quadratic_is_the_matrix_times_the_vector() -> None:
    matrix = np.array([[2.0, 0.5], [0.5, 1.0]])
    x = Tensor([0.3, -0.7], requires_grad=True)
    f = (x @ Tensor(matrix) @ x) * 0.5  # gradient M x, Hessian M
    (hv,) = hvp(f, [x], [np.array([1.0, -2.0])])
    np.testing.assert_allclose(hv, matrix @ [1.0, -2.0], rtol=1e-14)
    (linear,) = hvp((x * 3.0).sum(), [x], [np.ones(2)])  # a gradient that is a constant
    np.testing.assert_array_equal(linear, [0.0, 0.0])


def test_backward_with_create_graph_fills_grad_with_tensors_that_differentiate_again() -> None:
    x = Tensor([0.5, -1.0], requires_grad=True, label="x")
    y = Tensor([2.0, 3.0], requires_grad=True, label="y")
    constant = Tensor([1.0, 1.0])
    f = (x * x * y + constant * y.exp()).sum()
    f.backward(create_graph=True)
    assert type(x.grad) is Tensor and constant.grad is None
    np.testing.assert_allclose(x.grad.data, 2 * x.data * y.data)
    (mixed,) = grad(x.grad.sum(), [y])  # d/dy of df/dx = 2x
    np.testing.assert_allclose(mixed, 2 * x.data)
    f.backward(create_graph=True)  # leaves accumulate, as with arrays
    np.testing.assert_allclose(x.grad.data, 4 * x.data * y.data)
    plain = Tensor([0.5, -1.0], requires_grad=True)
    (plain * plain * y).sum().backward()
    assert type(plain.grad) is np.ndarray  # without create_graph nothing changes


def test_grad_leaves_every_grad_as_it_was_and_gives_zeros_where_nothing_depends() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    unused = Tensor([[3.0]], requires_grad=True)
    f = (x.exp() * x).sum()
    plain = grad(f, [x, unused])
    recorded = grad(f, [x, unused], create_graph=True)
    np.testing.assert_allclose(plain[0], np.exp(x.data) * (1 + x.data))
    np.testing.assert_array_equal(plain[1], [[0.0]])
    assert type(recorded[1]) is Tensor and recorded[1].shape == (1, 1)
    assert x.grad is None and unused.grad is None


def test_what_grad_and_hvp_refuse_on_tensors() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"single element, got shape \(2,\); reduce it"):
        grad(x * x, [x])
    with pytest.raises(ValueError, match="input 0 does not require a gradient"):
        grad((x * x).sum(), [Tensor([1.0])])
    with pytest.raises(TypeError, match="input 1 is a Value but the output is a Tensor"):
        grad((x * x).sum(), [x, Value(1.0)])
    with pytest.raises(TypeError, match=r"hvp works on Tensors, got a Value; .* hessian"):
        hvp(Value(1.0), [], [])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"vector 0 has shape \(3,\), input \(2,\)"):
        hvp((x * x).sum(), [x], [np.ones(3)])
    with pytest.raises(ValueError, match="1 inputs but 2 vectors"):
        hvp((x * x).sum(), [x], [np.ones(2), np.ones(2)])
    with autograd_core.no_grad(), pytest.raises(RuntimeError, match="inside no_grad"):
        grad((x * x).sum(), [x], create_graph=True)


def test_the_backward_graph_of_a_tensor_gradient_is_drawn_and_stepped_through() -> None:
    """The gradient of sum(w * x) w.r.t. x, recorded, is a graph of the backward pass: the
    upstream broadcast back over the sum, times w (the mul gate's swap)."""
    w = Tensor([0.5, -2.0], requires_grad=True, label="w")
    x = Tensor([1.0, 3.0], requires_grad=True, label="x")
    (dx,) = grad((w * x * x).sum(), [x], create_graph=True)
    dx.label = "dx"
    np.testing.assert_allclose(dx.data, 2 * w.data * x.data)
    ops_in_graph = {node.op for node in autograd_core.topological_order(dx)}
    assert {"*", "+"} <= ops_in_graph  # 2 w x, as w x + x w: the chain rule's own gates
    svg = draw_graph(dx).pipe(format="svg").decode()
    assert ">w<" in svg and ">x<" in svg and ">dx<" in svg
    steps = trace_backward(dx.sum())
    assert len(steps.texts()) >= 4
    np.testing.assert_allclose(w.grad, 2 * x.data)  # d(sum dx)/dw = 2 x


# ---- what users do next with recorded gradients ------------------------------------------------


@pytest.mark.parametrize("optimiser", [nn.SGD, nn.Adam])
def test_an_optimiser_steps_by_the_numbers_of_a_recorded_gradient(optimiser: type) -> None:
    """After backward(create_graph=True) a parameter's grad is a node; a step reads its data
    (a gradient penalty, or MAML, steps right after such a backward pass)."""
    w = Tensor([0.5, -1.0], requires_grad=True)
    v = Value(0.5)
    plain_w, plain_v = Tensor([0.5, -1.0], requires_grad=True), Value(0.5)
    (w**3).sum().backward(create_graph=True)
    (v**3).backward(create_graph=True)
    (plain_w**3).sum().backward()
    (plain_v**3).backward()
    assert type(w.grad) is Tensor and type(v.grad) is Value
    optimiser([w, v], lr=0.1).step()
    optimiser([plain_w, plain_v], lr=0.1).step()
    np.testing.assert_array_equal(w.data, plain_w.data)
    assert v.data == plain_v.data


def test_grad_takes_one_input_alone_as_pytorch_does() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    (gx,) = grad((x * x).sum(), x)
    np.testing.assert_array_equal(gx, [2.0, 4.0])
    y = Value(3.0)
    assert grad(y * y, y) == [6.0]


def test_recorded_leaf_gradients_are_nodes_of_their_own() -> None:
    """The add gate passes its upstream on unchanged; as grads the two leaves must not share
    one Tensor (changing one would change the other), nor be a node of the forward graph."""
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward(create_graph=True)
    assert a.grad is not b.grad
    a.grad.data += 5.0
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])
    x, y = Value(2.0), Value(3.0)
    (x * y).backward(create_graph=True)
    assert x.grad is not y and y.grad is not x and x.grad.data == 3.0


def test_detect_anomaly_watches_a_recorded_backward_pass() -> None:
    x = Tensor([1.0, 4.0], requires_grad=True, label="x")
    with autograd_core.detect_anomaly():
        y = (x**3).sum()
        x.data *= 2.0  # changed in place between the forward pass and its backward
        with pytest.raises(RuntimeError, match=r"backward of \*\*3: input 0 \(x\) was changed"):
            grad(y, [x], create_graph=True)
    z = Tensor([0.0, 4.0], requires_grad=True, label="z")
    with autograd_core.detect_anomaly(), np.errstate(divide="ignore"):
        root = z.sqrt().sum()  # d sqrt(z)/dz = 1 / (2 sqrt(z)) is inf at 0
        with pytest.raises(FloatingPointError, match=r"backward of sqrt .*create_graph=True"):
            grad(root, [z], create_graph=True)
        with pytest.raises(FloatingPointError, match=r"sqrt sent a non-finite .* \(z\)"):
            grad(root, [z])


def test_grad_with_create_graph_makes_no_reference_cycle() -> None:
    import gc

    x = Tensor([0.5, 1.5], requires_grad=True)
    (g,) = grad((x.exp() * x).sum(), [x], create_graph=True)
    gc.collect()
    del g
    assert gc.collect() == 0  # freed by reference counting alone


def test_the_output_itself_and_no_inputs() -> None:
    y = Tensor([2.0], requires_grad=True)
    (dy,) = grad(y, [y], create_graph=True)
    assert type(dy) is Tensor and dy.data.tolist() == [1.0]
    with pytest.raises(ValueError, match="hvp needs at least one input"):
        hvp(y.sum(), [], [])


def test_scatter_into_and_index_keep_their_errors_and_dtype() -> None:
    t = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    with pytest.raises(IndexError, match=r"scatter_into a Tensor of shape \(2,\)"):
        t.scatter_into((2,), np.array([0, 5]))
    (t[np.array([0, 0, 1])] * np.ones(3)).sum().backward()  # float64 upstream into float32
    assert t.grad is not None and t.grad.dtype == np.float32 and t.grad.tolist() == [2.0, 1.0]


def test_recorded_gradients_from_grad_are_nodes_of_their_own() -> None:
    """d(x*w)/dx is w itself, and an add gate passes one upstream to both inputs: `grad`
    returns new nodes, so relabelling one renames nothing else."""
    x, w = Value(2.0, "x"), Value(3.0, "w")
    (gx,) = grad(x * w, [x], create_graph=True)
    assert gx is not w and gx.data == 3.0
    gx.label = "dx"
    assert w.label == "w" and grad(gx, [w]) == [1.0]
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    ga, gb = grad((a + b).sum(), [a, b], create_graph=True)
    assert ga is not gb


def test_x_to_the_zero_has_gradient_zero_everywhere_on_both_paths() -> None:
    t = Tensor([0.0, 2.0], requires_grad=True)
    (t**0).sum().backward()
    assert t.grad is not None and t.grad.tolist() == [0.0, 0.0]
    (first,) = grad((t**0).sum(), [t], create_graph=True)
    assert first.data.tolist() == [0.0, 0.0]
    v = Value(0.0)
    (v**0).backward()
    assert v.grad == 0.0


def test_hvp_takes_one_tensor_and_one_vector_alone() -> None:
    x = Tensor([0.5, -1.0], requires_grad=True)
    (hv,) = hvp((x**3).sum(), x, np.array([1.0, 1.0]))
    np.testing.assert_allclose(hv, 6 * x.data)


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(sorted(CASES)), scale=st.floats(0.1, 60.0))
def test_create_graph_equals_the_plain_gradient_on_scaled_inputs(name: str, scale: float) -> None:
    """Issue 25's H1 as a property on the batch path: every op's recorded gradient equals the
    plain one at inputs scaled away from the fixed point (the sign kept, so each op's domain
    holds), up to a scale where softmax, cross-entropy and logsumexp saturate."""
    function, arrays = CASES[name]
    scaled = [a * scale if np.issubdtype(a.dtype, np.floating) else a for a in arrays]
    out = function(*(Tensor(a) for a in scaled))
    weights = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    f = weighted_total(function, weights)
    with np.errstate(all="ignore"):  # a saturated op may overflow on both sides alike
        plain = first_order(f, scaled)
        xs = leaves(scaled)
        recorded = grad(f(*xs), xs, create_graph=True)
    for g, number in zip(recorded, plain):
        np.testing.assert_allclose(g.data, number, rtol=1e-9, atol=1e-12, equal_nan=True)
