"""Every op, on each of its paths, from the one list of cases (`op_cases.CASES`): the node it
makes names its op, and its gradients agree with central differences (`gradcheck`), with HIPS
autograd (an independent implementation), and, differentiated again, its second derivatives with
differences of first derivatives (`gradgradcheck`) or, for a piecewise linear op, are 0. The
readers of the op table (nn, the CLI, the legend) are checked against it too.
"""

from __future__ import annotations

import html
import math
from typing import Any

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as autograd_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from op_cases import BATCH, CASES, SCALAR, Case, array_points, scalar_points, weights_for

import nn
from autograd_core import Function, Tensor, Value, grad, gradcheck, gradgradcheck, ops
from autograd_core import functional as F
from autograd_core.function import GATES
from visualize import draw_graph
from visualize.expression import FUNCTIONS, evaluate


def ids(case: Case) -> str:
    return case.id


def test_every_op_has_a_case_on_each_of_its_paths() -> None:
    for path, cases in (("scalar", SCALAR), ("batch", BATCH)):
        covered = {case.op for case in cases}
        assert covered == {op for op in ops.OPS if path in op.paths}, path


@pytest.mark.parametrize("op", ops.OPS, ids=lambda op: op.__name__)
def test_every_op_says_what_pictures_need(op: type[ops.Op]) -> None:
    assert issubclass(op, Function) and op.gate in GATES
    assert ": " in op.meaning  # "exp: the gradient is scaled by ..."
    assert op.paths and set(op.paths) <= {"scalar", "batch"}
    names = ["a", "b", "c"][: op.arity or 2]
    assert op.formula_text(names)
    if "batch" in op.paths:
        assert op.vjp_text_list(names, "out", "L"), f"{op.name} says nothing of its vjp"


# ---- the scalar path ----------------------------------------------------------------------------


def scalar_f(case: Case) -> Any:
    assert case.on_values is not None
    return case.on_values


@pytest.mark.parametrize("case", SCALAR, ids=ids)
def test_a_scalar_node_records_its_op(case: Case) -> None:
    low, high = case.domain
    point = list(np.linspace(low + 0.1 * (high - low), high - 0.2 * (high - low), case.arity))
    out = scalar_f(case)(*map(Value, point))
    assert out.function is case.op and ops.lookup(out.op) is case.op


@pytest.mark.parametrize("case", SCALAR, ids=ids)
@given(data=st.data())
def test_scalar_gradients_agree_with_central_differences(case: Case, data: st.DataObject) -> None:
    point = data.draw(scalar_points(case))
    report = gradcheck(scalar_f(case), point, rtol=1e-5, atol=1e-6)
    assert report.ok, f"\n{report}"


@pytest.mark.parametrize("case", SCALAR, ids=ids)
@given(data=st.data())
def test_scalar_gradients_agree_with_hips_autograd(case: Case, data: st.DataObject) -> None:
    point = data.draw(scalar_points(case))
    leaves = [Value(x) for x in point]
    out = scalar_f(case)(*leaves)
    out.backward()
    expected = [autograd_grad(case.reference, k)(*point) for k in range(case.arity)]
    assert out.data == pytest.approx(float(case.reference(*point)), rel=1e-12, abs=1e-12)
    for leaf, want in zip(leaves, expected):
        assert leaf.grad == pytest.approx(float(want), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("case", [c for c in SCALAR if c.smooth], ids=ids)
@settings(max_examples=40)
@given(data=st.data())
def test_scalar_second_derivatives_agree_with_differences_of_gradients(
    case: Case, data: st.DataObject
) -> None:
    point = data.draw(scalar_points(case))
    report = gradgradcheck(scalar_f(case), point)
    assert report.ok, f"\n{report}"


@pytest.mark.parametrize("case", [c for c in SCALAR if not c.smooth], ids=ids)
@given(data=st.data())
def test_scalar_piecewise_linear_ops_have_no_curvature_away_from_their_kinks(
    case: Case, data: st.DataObject
) -> None:
    leaves = [Value(x) for x in data.draw(scalar_points(case))]
    first = grad(scalar_f(case)(*leaves), leaves, create_graph=True)
    for g in first:
        assert all(second == 0.0 for second in grad(g, leaves))


# ---- the batch path -----------------------------------------------------------------------------


def batch_f(case: Case) -> Any:
    """The op on Tensors, weighted into one number."""
    assert case.on_tensors is not None
    on_tensors = case.on_tensors

    def f(*tensors: Tensor) -> Tensor:
        out = on_tensors(*tensors)
        return (out * weights_for(out.data)).sum()

    return f


@pytest.mark.parametrize("case", BATCH, ids=ids)
def test_a_batch_node_records_its_op(case: Case) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(*case.domain, size=shape) for shape in case.shapes]
    assert case.on_tensors is not None
    out = case.on_tensors(*(Tensor(a, requires_grad=True) for a in arrays))
    assert out.function is case.op and ops.lookup(out.op, batch=True) is case.op


@pytest.mark.parametrize("case", BATCH, ids=ids)
@settings(max_examples=25)
@given(data=st.data())
def test_batch_gradients_agree_with_central_differences_and_hips_autograd(
    case: Case, data: st.DataObject
) -> None:
    arrays = data.draw(array_points(case))
    report = gradcheck(batch_f(case), arrays, rtol=1e-5, atol=1e-6)
    assert report.ok, f"\n{report}"

    reference = case.array_reference()
    weights = weights_for(reference(*arrays))
    expected = [
        autograd_grad(lambda *xs: anp.sum(reference(*xs) * weights), k)(*arrays)
        for k in range(case.arity)
    ]
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    batch_f(case)(*leaves).backward()
    for leaf, want in zip(leaves, expected):
        np.testing.assert_allclose(leaf.grad, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in BATCH if c.smooth], ids=ids)
@settings(max_examples=8)
@given(data=st.data())
def test_batch_second_derivatives_agree_with_differences_of_gradients(
    case: Case, data: st.DataObject
) -> None:
    arrays = data.draw(array_points(case))
    report = gradgradcheck(batch_f(case), arrays)
    assert report.ok, f"\n{report}"


@pytest.mark.parametrize("case", [c for c in BATCH if not c.smooth], ids=ids)
def test_batch_piecewise_linear_ops_have_no_curvature_away_from_their_kinks(case: Case) -> None:
    rng = np.random.default_rng(1)
    arrays = [np.round(rng.uniform(*case.domain, size=s), 1) + 0.03 for s in case.shapes]
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    first = grad(batch_f(case)(*leaves), leaves, create_graph=True)
    for g in first:
        if g.requires_grad:
            for second in grad((g * weights_for(g.data)).sum(), leaves):
                assert not np.any(second)


# ---- the two ops added last: each one definition, three derivatives on both paths ---------------


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


DERIVATIVES = {  # f', f'', f''' in closed form, s = sigmoid(x)
    "softplus": (
        _sigmoid,
        lambda x: (s := _sigmoid(x)) * (1 - s),
        lambda x: (s := _sigmoid(x)) * (1 - s) * (1 - 2 * s),
    ),
    "silu": (
        lambda x: (s := _sigmoid(x)) * (1 + x * (1 - s)),
        lambda x: (s := _sigmoid(x)) * (1 - s) * (2 + x * (1 - 2 * s)),
        lambda x: (s := _sigmoid(x))
        * (1 - s)
        * (3 * (1 - 2 * s) + x * (1 - 6 * s + 6 * s * s)),
    ),
}


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
@pytest.mark.parametrize("x", [-3.1, -0.4, 0.0, 0.9, 2.7])
def test_first_second_and_third_derivatives_on_both_paths(name: str, x: float) -> None:
    value = Value(x)
    values = [getattr(value, name)()]
    tensor = Tensor([x, x], requires_grad=True)
    tensors = [getattr(tensor, name)().sum()]
    for _ in range(3):
        values.append(grad(values[-1], [value], create_graph=True)[0])
        tensors.append(grad(tensors[-1], [tensor], create_graph=True)[0].sum())
    for order, closed_form in enumerate(DERIVATIVES[name], start=1):
        assert values[order].data == pytest.approx(closed_form(x), rel=1e-10, abs=1e-12)
        assert tensors[order].item() == pytest.approx(2 * closed_form(x), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("x", [-800.0, -40.0, 40.0, 800.0])
def test_softplus_is_stable_for_large_inputs(x: float) -> None:
    expected = max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    for out in (Value(x).softplus(), Tensor([x], requires_grad=True).softplus()):
        assert float(out.data if isinstance(out, Value) else out.data[0]) == pytest.approx(expected)
    silu = Value(x).silu()
    assert math.isfinite(silu.data) and math.isfinite(silu.local_grads[0])


# ---- every reader of the table agrees with it ---------------------------------------------------


@pytest.mark.parametrize("name", ops.ACTIVATIONS)
def test_every_activation_is_on_both_paths_and_in_nn(name: str) -> None:
    x = Value(-0.4)
    t = Tensor(np.array([-0.4, 0.3]), requires_grad=True)
    on_value, on_tensor = getattr(x, name)(), getattr(t, name)()
    assert on_value.op == on_tensor.op == name
    assert on_tensor.data[0] == pytest.approx(on_value.data, rel=1e-14)
    neuron = nn.Neuron(1, name, weights=[1.0], bias=0.0)
    assert neuron([-0.4]).data == on_value.data
    module = nn.Activation(name)
    assert module(x).data == on_value.data
    np.testing.assert_array_equal(module(t).data, on_tensor.data)
    batch = nn.batch.MLP(2, [3, 1], activation=name)
    assert any(getattr(layer, "name", "") == name for layer in batch)


def test_nn_names_only_table_activations() -> None:
    assert set(nn.activations.NAMED) == set(ops.ACTIVATIONS)
    assert (*ops.ACTIVATIONS, "linear") == nn.activations.NAMES
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(slope=0.2)" and repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Softplus()) == "Softplus()" and repr(nn.SiLU()) == "SiLU()"
    with pytest.raises(ValueError, match="unknown activation 'swish'; choose one of relu, "):
        nn.Activation("swish")


def test_the_cli_whitelist_is_the_tables_functions() -> None:
    assert set(FUNCTIONS) == set(ops.FUNCTIONS)
    assert set(ops.ACTIVATIONS) <= set(FUNCTIONS)
    for name, (arity, _) in FUNCTIONS.items():
        arguments = ", ".join(["x", "y"][:arity])
        out, _ = evaluate(f"{name}({arguments})", {"x": 0.5, "y": -0.25})
        assert out.function is ops.FUNCTIONS[name]


def test_the_legend_explains_every_op_of_the_graph_from_its_definition() -> None:
    nodes = []
    for case in SCALAR:
        low, high = case.domain
        point = np.linspace(low + 0.3 * (high - low), high - 0.2 * (high - low), case.arity)
        nodes.append(scalar_f(case)(*map(Value, point)))
    source = draw_graph(F.sum(nodes), collapse=False).source
    for case in SCALAR:
        assert html.escape(case.op.meaning, quote=False) in source, case.id


def test_local_gradients_in_words_read_as_the_lessons_write_them() -> None:
    assert ops.binary.Mul.local_grad_texts(["x", "y"], "f") == ["y", "x"]
    assert ops.binary.Add.local_grad_texts(["x", "y"], "q") == ["1", "1"]
    power = ops.lookup("**3")
    assert power is ops.elementwise.PowerN
    assert power.local_grad_texts(["x"], "p", "**3") == ["3*x^(3-1)"]
    dot = ops.reduce.Dot
    assert dot.local_grad_texts(["w1", "w2", "x1", "x2", "b"], "z") == ["x1", "x2", "w1", "w2", "1"]
    assert ops.lookup("") is None and ops.lookup("my_own_op") is None


def test_a_sum_of_one_input_reads_as_a_sum() -> None:
    assert ops.reduce.Sum.formula_text(["x"]) == "sum(x)"
    assert ops.reduce.Sum.formula_text(["a", "b", "c"]) == "a + b + c"


def test_the_cases_cover_every_case_id_once() -> None:
    assert len({case.id for case in CASES}) == len(CASES)
