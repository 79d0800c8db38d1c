"""The op table agrees with every reader: both node types, nn, the CLI, the legend, these tests.

Each op of the table has a case here per path it is on; a case runs the op, checks the node it
records names that op, and checks its gradients against finite differences. Adding an op to the
table without a case (or a case without an entry) fails `test_cases_cover_the_table_exactly`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import autograd_core
import nn
from autograd_core import Tensor, Value, gradcheck, ops
from autograd_core import functional as F
from visualize import draw_graph
from visualize.expression import FUNCTIONS, evaluate

# name -> (the op on Values, a point where it is smooth); the last node made is the op's node
SCALAR_CASES: dict[str, tuple[Callable[..., Value], list[float]]] = {
    "+": (lambda a, b: a + b, [0.3, -1.2]),
    "*": (lambda a, b: a * b, [0.3, -1.2]),
    "max": (lambda a, b: a.max(b), [0.3, -1.2]),
    "exp": (lambda a: a.exp(), [0.7]),
    "log": (lambda a: a.log(), [0.7]),
    "1/x": (lambda a: a.reciprocal(), [0.7]),
    "**n": (lambda a: a**3, [0.7]),
    "**": (lambda a, b: a**b, [0.7, 1.3]),
    "abs": (lambda a: a.abs(), [-0.7]),
    "relu": (lambda a: a.relu(), [0.7]),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), [-0.7]),
    "sigmoid": (lambda a: a.sigmoid(), [0.7]),
    "tanh": (lambda a: a.tanh(), [0.7]),
    "elu": (lambda a: a.elu(0.5), [-0.7]),
    "sum": (lambda a, b, c: F.sum([a, b, c]), [0.3, -1.2, 2.0]),
    "dot": (lambda a, b, c: F.dot([a], [b], c), [0.3, -1.2, 2.0]),
    "cross_entropy": (lambda a, b, c: F.cross_entropy([a, b, c], 1), [0.3, -1.2, 2.0]),
    "sqrt": (lambda a: a.sqrt(), [0.7]),
}

RNG = np.random.default_rng(0)
M23 = RNG.normal(size=(2, 3))
M32 = RNG.normal(size=(3, 2))
POSITIVE = RNG.uniform(0.5, 2.0, size=(2, 3))

# name -> (the op on Tensors, its inputs)
BATCH_CASES: dict[str, tuple[Callable[..., Tensor], list[np.ndarray]]] = {
    "+": (lambda a, b: a + b, [M23, M23[0]]),
    "*": (lambda a, b: a * b, [M23, M23[:, :1]]),
    "max": (lambda a, b: a.maximum(b), [M23, M23.T[::-1].T + 0.1]),
    "exp": (lambda a: a.exp(), [M23]),
    "log": (lambda a: a.log(), [POSITIVE]),
    "1/x": (lambda a: a.reciprocal(), [POSITIVE]),
    "**n": (lambda a: a**3, [M23]),
    "abs": (lambda a: a.abs(), [M23]),
    "relu": (lambda a: a.relu(), [M23]),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), [M23]),
    "sigmoid": (lambda a: a.sigmoid(), [M23]),
    "tanh": (lambda a: a.tanh(), [M23]),
    "elu": (lambda a: a.elu(0.5), [M23]),
    "sum": (lambda a: a.sum(axis=0), [M23]),
    "@": (lambda a, b: a @ b, [M23, M32]),
    "cross_entropy": (lambda a: a.cross_entropy(np.array([2, 0])), [M23]),
    "log_softmax": (lambda a: a.log_softmax(), [M23]),
    "reshape": (lambda a: a.reshape(3, 2), [M23]),
    "astype": (lambda a: a.astype(np.float64), [M23]),
    "transpose": (lambda a: a.transpose(), [M23]),
    "index": (lambda a: a[np.array([1, 1, 0])], [M23]),
    "sqrt": (lambda a: a.sqrt(), [POSITIVE]),
    "clip": (lambda a: a.clip(-0.5, 0.5), [np.where(np.abs(np.abs(M23) - 0.5) < 0.05, 0.1, M23)]),
    "max_over": (lambda a: a.max(axis=1), [M23]),
    "min_over": (lambda a: a.min(axis=0), [M23]),
    "concatenate": (lambda a, b: autograd_core.concatenate([a, b], axis=1), [M23, M23[:, :1]]),
    "stack": (lambda a, b: autograd_core.stack([a, b], axis=0), [M23, POSITIVE]),
    "linear": (lambda x, w, b: x.linear(w, b), [M23, M32, M32[0]]),
    "mse": (lambda a: a.mse(POSITIVE), [M23]),
    "broadcast_to": (lambda a: a.broadcast_to((2, 2, 3)), [M23[:1]]),
    "scatter_into": (
        lambda a: a.scatter_into((2, 3), (np.array([1, 1, 0]), np.array([2, 2, 0]))),
        [M23[0]],
    ),
}


def test_cases_cover_the_table_exactly() -> None:
    assert set(SCALAR_CASES) == {op.name for op in ops.OPS if op.scalar}
    assert set(BATCH_CASES) == {op.name for op in ops.OPS if op.batch}


def resolve(path: str) -> Any:
    owner, name = path.split(".")
    return getattr(getattr(autograd_core, owner), name)


@pytest.mark.parametrize("op", ops.OPS, ids=lambda op: op.name)
def test_every_entry_names_real_implementations(op: ops.Op) -> None:
    assert op.gate in ops.GATES
    assert op.scalar or op.batch
    for path in (op.scalar, op.batch):
        if path:
            assert callable(resolve(path)), path
    if op.arity is not None and not callable(op.local_grads):
        assert len(op.local_grads) == op.arity
    if op.batch:
        assert op.vjp, f"{op.name} is on the batch path but says nothing of its vjp"


@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
def test_scalar_op_records_its_name_and_passes_gradcheck(name: str) -> None:
    function, point = SCALAR_CASES[name]
    out = function(*map(Value, point))
    assert ops.lookup(out.op) is ops.BY_NAME[name]
    assert gradcheck(function, point).ok


@pytest.mark.parametrize("name", sorted(BATCH_CASES))
def test_batch_op_records_its_name_and_passes_gradcheck(name: str) -> None:
    function, arrays = BATCH_CASES[name]
    out = function(*(Tensor(a, requires_grad=True) for a in arrays))
    assert ops.lookup(out.op) is ops.BY_NAME[name]
    weights = np.linspace(0.5, 1.5, out.data.size).reshape(out.shape)
    assert gradcheck(lambda *ts: (function(*ts) * weights).sum(), arrays).ok


def test_local_gradients_in_words_read_as_the_lessons_write_them() -> None:
    mul, add, power = ops.BY_NAME["*"], ops.BY_NAME["+"], ops.lookup("**3")
    assert mul.local_grad_texts(["x", "y"], "f") == ["y", "x"]
    assert add.local_grad_texts(["x", "y"], "q") == ["1", "1"]
    assert power is not None and power.local_grad_texts(["x"], "p", "**3") == ["3*x^(3-1)"]
    dot = ops.BY_NAME["dot"]
    assert dot.local_grad_texts(["w1", "w2", "x1", "x2", "b"], "z") == ["x1", "x2", "w1", "w2", "1"]
    assert ops.lookup("") is None and ops.lookup("my_own_op") is None


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
    assert set(nn.activations.NAMED) <= set(ops.ACTIVATIONS)
    assert (*ops.ACTIVATIONS, "linear") == nn.activations.NAMES
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(slope=0.2)" and repr(nn.ReLU()) == "ReLU()"
    with pytest.raises(ValueError, match="unknown activation 'swish'; choose one of relu, "):
        nn.Activation("swish")


def test_the_cli_whitelist_is_the_tables_functions() -> None:
    assert set(FUNCTIONS) == set(ops.FUNCTIONS)
    assert set(ops.ACTIVATIONS) <= set(FUNCTIONS)
    for name, (arity, _) in FUNCTIONS.items():
        arguments = ", ".join(["x", "y"][:arity])
        out, _ = evaluate(f"{name}({arguments})", {"x": 0.5, "y": -0.25})
        assert ops.lookup(out.op) is ops.FUNCTIONS[name]


def test_the_legend_explains_every_op_of_the_graph_from_the_table() -> None:
    a, b, c = Value(0.3), Value(-1.2), Value(2.0)
    nodes = [function(*(a, b, c)[: len(point)]) for function, point in SCALAR_CASES.values()]
    source = draw_graph(F.sum(nodes)).source
    for name in SCALAR_CASES:
        assert html.escape(ops.BY_NAME[name].meaning) in source, name


def test_a_sum_of_one_input_reads_as_a_sum() -> None:
    entry = ops.BY_NAME["sum"]
    assert entry.formula_text(["x"], "sum") == "sum(x)"
    assert entry.formula_text(["a", "b", "c"], "sum") == "a + b + c"
