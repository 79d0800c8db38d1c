"""The scalar engine: values, local gradients, the gate patterns, backward semantics, errors."""

from __future__ import annotations

import gc
import math
import sys

import numpy as np
import pytest

from autograd_core import Value, gradcheck, is_grad_enabled, no_grad, topological_order

POINTS = [-2.5, -0.7, 0.3, 1.0, 2.2]


def grad_of(f, x: float) -> tuple[float, float]:
    """f(x) and df/dx from the engine."""
    leaf = Value(x)
    out = f(leaf)
    out.backward()
    return out.data, leaf.grad


# ---- primitives and composites: value, gradient, gradcheck -------------------------------------

UNARY = {
    # name: (engine op, value formula, derivative formula, domain)
    "exp": (lambda v: v.exp(), math.exp, math.exp, lambda x: True),
    "log": (lambda v: v.log(), math.log, lambda x: 1 / x, lambda x: x > 0),
    "reciprocal": (
        lambda v: v.reciprocal(),
        lambda x: 1 / x,
        lambda x: -1 / x**2,
        lambda x: x != 0,
    ),
    "pow3": (lambda v: v**3, lambda x: x**3, lambda x: 3 * x**2, lambda x: True),
    "pow-2": (lambda v: v**-2, lambda x: x**-2, lambda x: -2 * x**-3, lambda x: x != 0),
    "pow0.5": (lambda v: v**0.5, math.sqrt, lambda x: 0.5 / math.sqrt(x), lambda x: x > 0),
    "neg": (lambda v: -v, lambda x: -x, lambda x: -1.0, lambda x: True),
    "relu": (lambda v: v.relu(), lambda x: max(0.0, x), lambda x: float(x > 0), lambda x: True),
    "leaky_relu": (
        lambda v: v.leaky_relu(0.1),
        lambda x: x if x > 0 else 0.1 * x,
        lambda x: 1.0 if x > 0 else 0.1,
        lambda x: True,
    ),
    "sigmoid": (
        lambda v: v.sigmoid(),
        lambda x: 1 / (1 + math.exp(-x)),
        lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2,
        lambda x: True,
    ),
    "tanh": (lambda v: v.tanh(), math.tanh, lambda x: 1 - math.tanh(x) ** 2, lambda x: True),
    "elu": (
        lambda v: v.elu(0.7),
        lambda x: x if x > 0 else 0.7 * (math.exp(x) - 1),
        lambda x: 1.0 if x > 0 else 0.7 * math.exp(x),
        lambda x: True,
    ),
    "rpow": (lambda v: 2.0**v, lambda x: 2.0**x, lambda x: math.log(2) * 2.0**x, lambda x: True),
    "rsub": (lambda v: 3 - v, lambda x: 3 - x, lambda x: -1.0, lambda x: True),
    "rdiv": (lambda v: 3 / v, lambda x: 3 / x, lambda x: -3 / x**2, lambda x: x != 0),
}


@pytest.mark.parametrize(
    ("name", "x"), [(name, x) for name in sorted(UNARY) for x in POINTS if UNARY[name][3](x)]
)
def test_unary_value_gradient_and_gradcheck(name: str, x: float) -> None:
    op, value, derivative, _ = UNARY[name]
    out, grad = grad_of(op, x)
    assert out == pytest.approx(value(x), rel=1e-12, abs=1e-15)
    assert grad == pytest.approx(derivative(x), rel=1e-12, abs=1e-15)
    assert gradcheck(op, [x]).ok


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, lambda a, b: (1.0, 1.0)),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, lambda a, b: (1.0, -1.0)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, lambda a, b: (b, a)),
    "div": (lambda a, b: a / b, lambda a, b: a / b, lambda a, b: (1 / b, -a / b**2)),
    "max": (lambda a, b: a.max(b), max, lambda a, b: (1.0, 0.0) if a >= b else (0.0, 1.0)),
    "pow": (
        lambda a, b: a**b,
        lambda a, b: a**b,
        lambda a, b: (b * a ** (b - 1), a**b * math.log(a)),
    ),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize(("a", "b"), [(1.5, -0.5), (0.4, 2.0), (3.0, 1.25), (0.7, 0.3)])
def test_binary_value_gradient_and_gradcheck(name: str, a: float, b: float) -> None:
    op, value, derivative = BINARY[name]
    va, vb = Value(a), Value(b)
    out = op(va, vb)
    out.backward()
    assert out.data == pytest.approx(value(a, b), rel=1e-12)
    assert (va.grad, vb.grad) == pytest.approx(derivative(a, b), rel=1e-12)
    assert gradcheck(op, [a, b]).ok


def test_plain_numbers_are_wrapped_on_either_side() -> None:
    x = Value(2.0)
    for out, expected in [
        (x + 1, 3),
        (1 + x, 3),
        (x * 3, 6),
        (3 * x, 6),
        (x - 1, 1),
        (1 - x, -1),
        (x / 4, 0.5),
        (4 / x, 2),
        (x**2, 4),
        (2**x, 4),
    ]:
        assert isinstance(out, Value)
        assert out.data == pytest.approx(expected)


def test_numpy_scalars_are_numbers_not_arrays() -> None:
    x = Value(np.float32(1.5))
    assert type(x.data) is float and x.data == 1.5
    assert Value(np.int64(3)).data == 3.0
    out = np.float64(2.0) * x
    assert isinstance(out, Value) and out.data == 3.0


@pytest.mark.parametrize("x", [-1.5, -0.2, 0.0, 0.4, 2.0])
def test_fused_activations_match_their_compositions(x: float) -> None:
    """Each fused activation gives the value and gradient of its definition in primitives."""
    compositions = {
        "relu": (lambda v: v.relu(), lambda v: Value(0.0).max(v)),
        "leaky_relu": (lambda v: v.leaky_relu(0.2), lambda v: (v * 0.2).max(v)),
        "sigmoid": (lambda v: v.sigmoid(), lambda v: (1 + (-v).exp()).reciprocal()),
        "tanh": (lambda v: v.tanh(), lambda v: ((2 * v).exp() - 1) / ((2 * v).exp() + 1)),
        # elu's definition has one branch per side of 0; compose the branch x falls in
        "elu": (lambda v: v.elu(1.3), lambda v: v * 1.0 if v.data > 0 else 1.3 * (v.exp() - 1)),
    }
    for name, (fused, composed) in compositions.items():
        fused_out, fused_grad = grad_of(fused, x)
        composed_out, composed_grad = grad_of(composed, x)
        assert fused_out == pytest.approx(composed_out, rel=1e-12, abs=1e-15), name
        assert fused_grad == pytest.approx(composed_grad, rel=1e-12, abs=1e-15), name


def test_fused_nodes_are_one_node() -> None:
    x = Value(0.5)
    for out in (x.relu(), x.sigmoid(), x.tanh(), x.elu(), x.leaky_relu()):
        assert out.parents == (x,)
        assert len(out.local_grads) == 1


def test_sigmoid_is_finite_for_huge_inputs() -> None:
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0


def test_pow_local_gradient_at_zero() -> None:
    x = Value(0.0)
    out = x**0.5
    out.backward()
    assert out.data == 0.0 and x.grad == math.inf  # vertical slope of sqrt at 0
    x = Value(0.0)
    (x**0).backward()
    assert x.grad == 0.0


# ---- node structure ----------------------------------------------------------------------------


def test_node_records_op_parents_and_local_grads() -> None:
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b
    assert (c.op, c.parents, c.local_grads) == ("*", (a, b), (-3.0, 2.0))
    d = c + a
    assert (d.op, d.parents, d.local_grads) == ("+", (c, a), (1.0, 1.0))
    assert (a.op, a.parents, a.local_grads, a.grad, a.label) == ("", (), (), 0.0, "a")
    assert a.exp().op == "exp" and a.log().op == "log" and a.reciprocal().op == "1/x"
    assert a.max(b).op == "max" and (a**2).op == "**2"


def test_value_uses_slots() -> None:
    v = Value(1.0)
    assert not hasattr(v, "__dict__")
    with pytest.raises(AttributeError):
        v.something = 1  # type: ignore[attr-defined]


def test_graph_has_no_reference_cycles() -> None:
    """Dropping the root frees the whole graph without the cyclic collector."""
    gc.collect()
    gc.disable()
    try:
        x = Value(0.5)
        out = x
        for _ in range(200):
            out = (out * 1.01 + x).tanh().exp().log()
        out.backward()
        del out, x
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_repr_shows_label_data_and_grad() -> None:
    assert repr(Value(1.5, "w")) == "Value(label='w', data=1.5, grad=0)"
    assert repr(Value(2.0)) == "Value(data=2, grad=0)"


# ---- the four gate patterns --------------------------------------------------------------------


def test_add_gate_distributes() -> None:
    a, b = Value(3.0), Value(-1.0)
    (5 * (a + b)).backward()
    assert (a.grad, b.grad) == (5.0, 5.0)


def test_mul_gate_swaps() -> None:
    a, b = Value(3.0), Value(-1.0)
    (5 * (a * b)).backward()
    assert (a.grad, b.grad) == (5.0 * -1.0, 5.0 * 3.0)


def test_copy_gate_adds() -> None:
    a = Value(3.0)
    (a * 2.0 + a * 7.0).backward()
    assert a.grad == 9.0


def test_max_gate_routes() -> None:
    a, b = Value(3.0), Value(-1.0)
    (5 * a.max(b)).backward()
    assert (a.grad, b.grad) == (5.0, 0.0)
    a, b = Value(-3.0), Value(-1.0)
    (5 * a.max(b)).backward()
    assert (a.grad, b.grad) == (0.0, 5.0)


def test_max_tie_goes_to_the_first_operand() -> None:
    a, b = Value(2.0), Value(2.0)
    a.max(b).backward()
    assert (a.grad, b.grad) == (1.0, 0.0)
    zero, x = Value(0.0), Value(0.0)
    zero.max(x).backward()
    assert (zero.grad, x.grad) == (1.0, 0.0)


def test_relu_gradient_at_zero_is_zero() -> None:
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0
    x = Value(1e-300)
    x.relu().backward()
    assert x.grad == 1.0


# ---- the canonical example and backward semantics ----------------------------------------------


def test_chain_rule_example() -> None:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    f = q * z
    f.backward()
    assert f.data == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)
    assert q.grad == -4.0
    assert f.grad == 1.0


def test_reuse_accumulates() -> None:
    a = Value(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0


def test_backward_twice_doubles_leaves_and_keeps_intermediates() -> None:
    x, y, z = Value(0.3), Value(-1.2), Value(2.5)
    q = (x * y).tanh() + y.exp() * z
    f = q.sigmoid() * x
    f.backward()
    leaves_once = (x.grad, y.grad, z.grad)
    intermediates_once = [node.grad for node in topological_order(f) if node.parents]
    f.backward()
    assert (x.grad, y.grad, z.grad) == tuple(2 * g for g in leaves_once)
    assert [node.grad for node in topological_order(f) if node.parents] == intermediates_once


def test_backward_on_a_leaf() -> None:
    x = Value(3.0)
    x.backward()
    assert x.grad == 1.0


def test_million_node_chain_at_the_default_recursion_limit() -> None:
    assert sys.getrecursionlimit() < 10_000  # far below the depth of the chain
    x = Value(1.0)
    out = x
    for _ in range(1_000_000):
        out = out + 1.0
    out.backward()
    assert out.data == 1_000_001.0
    assert x.grad == 1.0
    order = topological_order(out)
    assert len(order) == 2_000_001  # the chain and one constant leaf per addition
    assert order[-1] is out


def test_topological_order_puts_parents_first() -> None:
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert len(order) == len({id(n) for n in order}) == 5
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]
    assert order[-1] is e


def test_no_grad_records_no_parents() -> None:
    x = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = x * 3 + 1
    assert is_grad_enabled()
    assert y.data == 7.0 and y.parents == () and y.op == ""
    y.backward()
    assert x.grad == 0.0


def test_no_grad_restores_state_after_an_error() -> None:
    with pytest.raises(ValueError), no_grad():
        Value(-1.0).log()
    assert is_grad_enabled()


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", None, [1.0], 1 + 2j, {"x": 1}])
def test_value_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)  # type: ignore[arg-type]


def test_operators_reject_non_numbers() -> None:
    with pytest.raises(TypeError, match="unsupported operand"):
        Value(1.0) + "abc"  # type: ignore[operator]
    with pytest.raises(TypeError, match="unsupported operand"):
        None * Value(1.0)  # type: ignore[operator]
    with pytest.raises(TypeError, match="max"):
        Value(1.0).max("abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exponent"):
        Value(1.0) ** "abc"  # type: ignore[operator]


@pytest.mark.parametrize("x", [0.0, -1.0, -1e-300])
def test_log_of_non_positive_raises_value_error(x: float) -> None:
    with pytest.raises(ValueError, match=rf"log.*{x!r}"):
        Value(x).log()


def test_reciprocal_of_zero_raises_zero_division_error() -> None:
    with pytest.raises(ZeroDivisionError, match=r"reciprocal.*0\.0"):
        Value(0.0).reciprocal()
    with pytest.raises(ZeroDivisionError, match="reciprocal"):
        Value(1.0) / 0


def test_exp_overflow_raises_overflow_error() -> None:
    with pytest.raises(OverflowError, match=r"exp.*1000"):
        Value(1000.0).exp()


def test_pow_domain_errors() -> None:
    with pytest.raises(ValueError, match=r"pow.*-8\.0"):
        Value(-8.0) ** 0.5
    with pytest.raises(ZeroDivisionError, match="pow"):
        Value(0.0) ** -1
    with pytest.raises(OverflowError, match="pow"):
        Value(10.0) ** 400


def test_failed_op_leaves_nothing_behind() -> None:
    """A domain error builds no node: the operand's graph is as it was and still works."""
    x = Value(-2.0)
    y = x * 3.0
    before = topological_order(y)
    failing_ops = [lambda: y.log(), lambda: (y + 6.0).reciprocal(), lambda: (-y).exp() ** 300]
    for failing in failing_ops:
        with pytest.raises((ValueError, ZeroDivisionError, OverflowError)):
            failing()
    assert topological_order(y) == before
    y.backward()
    assert x.grad == 3.0


# ---- habits users bring from Python, micrograd and PyTorch -------------------------------------


def test_numbers_out_of_a_value() -> None:
    v = Value(2.5, "v")
    assert float(v) == 2.5 and v.item() == 2.5
    assert f"{v:.3f}" == "2.500" and format(v, "e") == "2.500000e+00"
    assert f"{v}" == repr(v) == "Value(label='v', data=2.5, grad=0)"
    assert math.sqrt(Value(4.0)) == 2.0  # anything that takes a float


def test_ordering_compares_data_and_equality_stays_identity() -> None:
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a and a < 1.5 and a >= 1
    assert not (b < a) and max(a, b) is b and sorted([b, a]) == [a, b]
    twin = Value(1.0)
    assert a != twin and a == a  # same data, different nodes
    assert len({a, twin, a}) == 2 and {a: "a"}[a] == "a"
    with pytest.raises(TypeError):
        a < "abc"  # type: ignore[operator]  # noqa: B015


def test_abs_and_its_gradient_at_zero() -> None:
    for x, grad in [(-2.0, -1.0), (3.0, 1.0), (0.0, 0.0)]:
        v = Value(x)
        out = abs(v)
        out.backward()
        assert (out.data, v.grad, out.op) == (abs(x), grad, "abs")


def test_power_of_two_values_is_one_node() -> None:
    a, b = Value(1.7), Value(-0.6)
    out = a**b
    assert out.op == "**" and out.parents == (a, b)
    out.backward()
    assert out.data == pytest.approx(1.7**-0.6, rel=1e-15)
    assert a.grad == pytest.approx(-0.6 * 1.7**-1.6, rel=1e-14)
    assert b.grad == pytest.approx(1.7**-0.6 * math.log(1.7), rel=1e-14)
    # where ln(a) is undefined the exponent's gradient follows PyTorch
    zero, e = Value(0.0), Value(2.0)
    (zero**e).backward()
    assert (zero.grad, e.grad) == (0.0, 0.0)
    negative, three = Value(-2.0), Value(3.0)
    cube = negative**three
    cube.backward()
    assert cube.data == -8.0 and negative.grad == 12.0 and math.isnan(three.grad)
    with pytest.raises(ValueError, match=r"pow domain error: -2\.0 \*\* 0\.5"):
        Value(-2.0) ** Value(0.5)


def test_maximum_is_max() -> None:
    a, b = Value(1.0), Value(3.0)
    assert a.maximum(b).data == a.max(b).data == 3.0 and a.maximum(b).op == "max"


def test_a_students_own_op_through_the_constructor() -> None:
    x = Value(0.5, "x")
    sin = Value(math.sin(x.data), "s", op="sin", parents=(x,), local_grads=(math.cos(x.data),))
    (sin * 2.0).backward()
    assert x.grad == pytest.approx(2 * math.cos(0.5), rel=1e-15)
    with pytest.raises(ValueError, match="1 parents need 1 local gradients, got 2"):
        Value(1.0, op="bad", parents=(x,), local_grads=(1.0, 2.0))
    with pytest.raises(TypeError, match="parents must be Values, got float"):
        Value(1.0, op="bad", parents=(0.5,), local_grads=(1.0,))  # type: ignore[arg-type]
    with no_grad():
        assert Value(1.0, op="sin", parents=(x,), local_grads=(1.0,)).parents == ()


def test_micrograd_spellings_say_what_to_type_here() -> None:
    v = Value(1.0)
    with pytest.raises(AttributeError, match="_prev is `parents` here"):
        v._prev  # noqa: B018
    with pytest.raises(AttributeError, match="_op is `op` here"):
        v._op  # noqa: B018
    with pytest.raises(AttributeError, match="call backward"):
        v._backward()
    with pytest.raises(TypeError, match=r"second argument is a label .* op=\.\.\., parents="):
        Value(2.0, (v,), "+")  # type: ignore[arg-type]
