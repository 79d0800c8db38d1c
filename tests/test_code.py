"""`trace.code()`: the backward pass as straight-line code, which runs to backward()'s gradients.

The program is checked by running it: `exec` in an empty namespace must leave `grads` with
exactly (==, not approximately) the gradient backward() left in every node that is not a
constant, on random scalar graphs over every op of the scalar path, on random small networks of
the batch path, and on each batch op of `op_cases`. The lines are checked for what a student
reads: the lecture's `d_x += d_q * y`, a value used twice as two `+=` lines, names that are not
identifiers, and a model's parameters by their short names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_cases import BATCH, SCALAR, Case, fixed_arrays, weights_for

import nn
from autograd_core import Tensor, Value
from autograd_core.ops import reduce
from visualize.code import backward_code, step_code
from visualize.picture import short_name
from visualize.trace import BackwardTrace, trace_backward

LITERAL = "(the library's numbers)"  # how a batch line that is the library's share says so


def run(trace: BackwardTrace) -> dict[str, Any]:
    """The program's `grads`, run in an empty namespace."""
    code = trace.code()
    assert code == backward_code(trace)
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    grads: dict[str, Any] = namespace["grads"]
    return grads


def assert_exact(trace: BackwardTrace) -> dict[str, Any]:
    """The program gives every node that is not a constant exactly the gradient backward() left
    in it (None where it left none); constants are not in `grads`."""
    grads = run(trace)
    picture = trace.picture
    kept = [i for i, kind in enumerate(picture.kinds) if kind != "constant"]
    assert sorted(grads) == sorted(picture.names[i] for i in kept)
    for i in kept:
        name, expected = picture.names[i], picture.order[i].grad
        got = grads[name]
        if expected is None:
            assert got is None, name
            continue
        assert np.shape(got) == np.shape(expected), name
        assert np.array_equal(got, expected, equal_nan=True), (name, got, expected)
    return grads


def code_lines(trace: BackwardTrace) -> list[str]:
    return [line for lines in step_code(trace) for line in lines]


# ---- the scalar path: random graphs over every op ------------------------------------------

# every scalar op of the project's list, and what users write with them: numbers as constants
# (a - 1.5, 2 * a, -a, 1.5 ** a), division, and the powers whose local gradients are special
SCALAR_OPS: list[tuple[str, int, Callable[..., Value]]] = [
    *((case.id, case.arity, case.on_values) for case in SCALAR if case.on_values is not None),
    ("minus a number", 1, lambda a: a - 1.5),
    ("times a number", 1, lambda a: 2 * a),
    ("neg", 1, lambda a: -a),
    ("div", 2, lambda a, b: a / b),
    ("rpow", 1, lambda a: 1.5**a),
    ("**1", 1, lambda a: a**1),
    ("**0", 1, lambda a: a**0),
]
LABELS = ("x", "y", "df/dx", "L0.n3.w1", "a.b", "a_b", "d_x", "lambda", "2nd", "x_2", "")


@st.composite
def scalar_graphs(draw: st.DrawFn) -> Value:
    """A random graph: a few labelled inputs, then ops on earlier results (so that values are
    used several times); a step out of its op's domain is skipped."""
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=3, unique=True))
    numbers = st.floats(-2.0, 2.0, allow_nan=False)
    nodes = [Value(draw(numbers), label) for label in labels]
    for _ in range(draw(st.integers(1, 10))):
        _, arity, op = draw(st.sampled_from(SCALAR_OPS))
        args = [nodes[draw(st.integers(0, len(nodes) - 1))] for _ in range(arity)]
        try:
            out = op(*args)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if math.isfinite(out.data) and abs(out.data) < 1e6:
            nodes.append(out)
    return nodes[-1] + nodes[-2] if len(nodes) > 1 else nodes[-1]


@settings(max_examples=200, deadline=None)
@given(scalar_graphs())
def test_random_scalar_graphs_give_backwards_gradients_exactly(root: Value) -> None:
    trace = trace_backward(root)
    assert_exact(trace)


def scalar_point(case: Case) -> list[float]:
    """One point of the op's inputs, inside its domain and away from its kinks."""
    arrays = fixed_arrays(case)
    if len(arrays) >= case.arity:
        return [float(a.ravel()[0]) for a in arrays[: case.arity]]
    return [float(v) for v in arrays[0].ravel()[: case.arity]]


NO_SYMBOLS = {"softplus", "silu", "cross_entropy"}  # local gradients written as their numbers


@pytest.mark.parametrize("case", SCALAR, ids=lambda case: case.id)
def test_each_scalar_op_is_written_in_symbols_where_it_can_be(case: Case) -> None:
    assert case.on_values is not None
    inputs = [Value(x, f"x{k}") for k, x in enumerate(scalar_point(case))]
    trace = trace_backward(case.on_values(*inputs) * 1.5)
    assert_exact(trace)
    op_lines = step_code(trace)[2]  # the seed, the * 1.5, then the op
    assert len(op_lines) == case.arity
    for line in op_lines:
        if case.id in NO_SYMBOLS:  # the stored number, and what it is in a comment
            assert "  # d" in line, line
        else:
            assert "#" not in line, line


def test_the_lecture_example_reads_as_the_lecture_writes_it() -> None:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    trace = trace_backward(f)
    code = backward_code(trace)
    assert step_code(trace) == [
        ["d_f = 1.0"],
        ["d_q += d_f * z", "d_z += d_f * q"],
        ["d_x += d_q", "d_y += d_q"],
    ]
    lines = code.splitlines()
    assert "q = 3.0" in lines and "z = -4.0" in lines  # the forward values the lines read
    assert "x = -2.0" not in lines  # (and only those)
    assert "d_x = 0.0" in lines
    assert "# step 2: f = q * z (op *)" in lines
    assert lines[0].startswith("# The backward pass of f")
    assert max(len(line) for line in lines) <= 100
    assert run(trace) == {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0}


def test_a_value_used_twice_and_by_several_nodes_adds_a_line_per_use() -> None:
    x, y = Value(0.5, "x"), Value(-1.5, "y")
    a = x.exp()
    a.label = "a"
    square = x * x
    out = square + a * y + a.tanh()
    trace = trace_backward(out)
    lines = code_lines(trace)
    assert sum(line.startswith("d_x += ") for line in lines) == 3  # twice by x * x, once by exp
    assert lines.count("d_x += d_n1 * x") == 2
    assert sum(line.startswith("d_a += ") for line in lines) == 2
    assert_exact(trace)


def test_names_that_are_not_identifiers_keep_their_names_in_grads() -> None:
    x, w = Value(0.25, "df/dx"), Value(-0.75, "L0.n3.w1")
    d, dotted, underscored = Value(2.0, "d_x"), Value(3.0, "a.b"), Value(4.0, "a_b")
    plain = Value(1.0, "x")
    out = x * w + d * plain + dotted * underscored + Value(5.0, "lambda") * x
    trace = trace_backward(out)
    code = backward_code(trace)
    assert "d_df_dx += d_n1 * L0_n3_w1" in code
    assert "d_L0_n3_w1 += d_n1 * df_dx" in code
    assert "d_a_b" in code and "d_a_b_2" in code  # two names, one identifier: made unique
    assert "lambda_ = 5.0" in code  # a keyword is no variable
    grads = assert_exact(trace)
    assert grads["df/dx"] == w.data + 5.0 and grads["d_x"] == plain.data


def test_an_mlp_names_its_parameters_as_the_pictures_do() -> None:
    model = nn.MLP(2, [3, 1], activation="tanh", seed=1)
    loss = (model([0.5, -1.25]) - 0.75) ** 2
    trace = trace_backward(loss, parameters=model)
    grads = assert_exact(trace)
    for name, parameter in model.named_parameters():
        assert grads[short_name(name)] == parameter.grad
    code = backward_code(trace)
    assert "d_L0_n0_w0 += " in code
    assert "(1 - n" in code  # tanh's local gradient in symbols


def test_a_node_whose_inputs_are_all_constants_has_a_step_without_lines() -> None:
    x = Value(1.5, "x")
    constants = Value.fuse(reduce.Sum, (1.0, 2.0))
    trace = trace_backward(x * constants)
    steps = step_code(trace)
    assert steps[-1] == []
    assert_exact(trace)


# ---- the program's shape: a header, the forward values, then the steps -----------------------


def test_step_code_is_the_program_cut_by_step() -> None:
    x, y = Value(0.3, "x"), Value(-0.2, "y")
    trace = trace_backward((x * y + x).sigmoid() * 2.0)
    steps = step_code(trace)
    assert len(steps) == len(trace.steps)
    assert steps[0] == ["d_out = 1.0"]
    blocks = [block.splitlines() for block in backward_code(trace).split("\n\n")]
    titled = [block for block in blocks if block[0].startswith("# step ")]
    assert [block[0].split(":")[0] for block in titled] == [
        f"# step {k + 1}" for k in range(len(steps))
    ]
    assert [block[1:] for block in titled] == steps
    assert blocks[0][0].startswith("# The backward pass of out")
    assert blocks[-1][-1] == "}" and blocks[-1][1] == "grads = {"


# ---- the batch path ------------------------------------------------------------------------


@st.composite
def networks(draw: st.DrawFn) -> Tensor:
    """A small network on a batch: one or two layers (as one linear node, or @ and +), relu or
    tanh between them, and mse or cross-entropy on top."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows, n_in, hidden, n_out = (draw(st.integers(1, 4)) for _ in range(4))
    x = Tensor(rng.normal(size=(rows, n_in)), label="x")
    sizes = [n_in, hidden, n_out] if draw(st.booleans()) else [n_in, n_out]
    h = x
    for k, (a, b) in enumerate(pairwise(sizes)):
        W = Tensor(rng.normal(size=(a, b)), requires_grad=True, label=f"W{k}")
        bias = Tensor(rng.normal(size=(b,)), requires_grad=True, label=f"b{k}")
        h = h.linear(W, bias) if draw(st.booleans()) else h @ W + bias
        if k < len(sizes) - 2:
            h = h.relu() if draw(st.booleans()) else h.tanh()
    if draw(st.booleans()):
        return h.mse(rng.normal(size=h.shape))
    return h.cross_entropy(rng.integers(0, n_out, size=rows))


@settings(max_examples=40, deadline=None)
@given(networks())
def test_random_networks_on_the_batch_path_give_backwards_gradients_exactly(loss: Tensor) -> None:
    trace = trace_backward(loss)
    grads = assert_exact(trace)
    assert grads["x"] is None  # an input that needs no gradient gets none
    code = backward_code(trace)
    assert LITERAL not in code  # every line in NumPy, none the library's numbers
    assert "@ W0.T" in code or "x.T @" in code


def test_a_network_reads_as_numpy_backprop() -> None:
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=(4, 3)), label="x")
    W = Tensor(rng.normal(size=(3, 5)), requires_grad=True, label="W")
    b = Tensor(rng.normal(size=(5,)), requires_grad=True, label="b")
    V = Tensor(rng.normal(size=(5, 2)), requires_grad=True, label="V")
    h = (x @ W + b).relu()
    h.label = "h"
    y = h @ V
    y.label = "y"
    trace = trace_backward(y.mse(rng.normal(size=(4, 2))))
    lines = code_lines(trace)
    for expected in ("d_h += d_y @ V.T", "d_V += h.T @ d_y", "d_W += x.T @ d_n1"):
        assert expected in lines
    assert "d_b += d_n2.sum(axis=0)" in lines  # the bias, summed over the batch
    assert any(line.startswith("d_n2 += d_h * (n2 > 0)") for line in lines)  # relu's mask
    assert "import numpy as np" in backward_code(trace).splitlines()
    assert_exact(trace)


def test_float32_networks_are_exact_too() -> None:
    rng = np.random.default_rng(4)
    x = Tensor(rng.normal(size=(3, 2)), dtype=np.float32, label="x")
    W = Tensor(rng.normal(size=(2, 2)), requires_grad=True, dtype=np.float32, label="W")
    b = Tensor(rng.normal(size=(2,)), requires_grad=True, dtype=np.float32, label="b")
    trace = trace_backward(x.linear(W, b).tanh().sum() * 0.1)
    assert "dtype=np.float32" in backward_code(trace)
    assert_exact(trace)


BATCH_LITERALS = {"softplus", "silu", "index"}  # written as the library's numbers


@pytest.mark.parametrize("case", BATCH, ids=lambda case: case.id)
def test_each_batch_op_gives_backwards_gradients_exactly(case: Case) -> None:
    assert case.on_tensors is not None
    inputs = [
        Tensor(a, requires_grad=True, label=f"x{k}") for k, a in enumerate(fixed_arrays(case))
    ]
    out = case.on_tensors(*inputs)
    trace = trace_backward((out * weights_for(out.data)).sum())
    assert_exact(trace)
    op_lines = step_code(trace)[-1]  # the op, the first node made
    assert len(op_lines) == len(inputs)
    numbers = [line for line in op_lines if "  # " in line]
    assert bool(numbers) == (case.id in BATCH_LITERALS), op_lines
