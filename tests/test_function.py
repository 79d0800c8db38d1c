"""`Function`, PyTorch's `torch.autograd.Function` shape: a student's op written once, as forward
and backward, works on both paths, under create_graph (gradients of gradients with no second
definition), in pictures, in the step-through and in the checks; what it does wrong is named."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from autograd_core import (
    Context,
    Function,
    NonFiniteError,
    Tensor,
    Value,
    detect_anomaly,
    exp,
    grad,
    gradcheck,
    gradgradcheck,
    hvp,
    no_grad,
    sigmoid,
    where,
)
from visualize import check_local_grads, draw_graph, trace_backward


class Cube(Function):
    """The issue's example, as a student writes it."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class Swish(Function):
    """x sigmoid(beta x), with a parameter that is not a node and the output saved too."""

    meaning = "Swish: the gradient is scaled by s + beta out (1 - s)"

    @staticmethod
    def forward(ctx: Context, x: Any, beta: float) -> Any:
        s = sigmoid(x * beta)
        out = x * s
        ctx.beta = beta
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, out = ctx.saved_tensors
        s = sigmoid(x * ctx.beta)
        return grad * (s + ctx.beta * out * (1 - s)), None


class Product(Function):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        a, b = ctx.saved_tensors
        return grad * b, grad * a


def test_the_issues_cube_on_a_value_gives_three_derivatives() -> None:
    x = Value(2.0, "x")
    y = Cube.apply(x)
    assert type(y) is Value and y.data == 8.0 and y.op == "Cube" and y.function is Cube
    assert y.local_grads == (12.0,)  # backward(ctx, 1.0), run once when the node is made
    y.backward()
    assert x.grad == 12.0
    (d1,) = grad(Cube.apply(x), [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x])
    assert (d1.data, d2.data, d3) == (12.0, 12.0, 6.0)


def test_the_same_cube_on_a_tensor_and_its_hessian_vector_product() -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    y = Cube.apply(x)
    assert type(y) is Tensor and y.function is Cube
    np.testing.assert_array_equal(y.data, [1.0, -8.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 12.0])
    (hv,) = hvp(Cube.apply(x).sum(), [x], [np.array([1.0, 1.0])])
    np.testing.assert_allclose(hv, [6.0, -12.0])  # the Hessian is diag(6 x)


@pytest.mark.parametrize("point", [[0.7], [np.array([0.7, -1.3, 2.0])]], ids=["Value", "Tensor"])
def test_a_function_passes_gradcheck_and_gradgradcheck_on_both_paths(point: list[Any]) -> None:
    def f(x: Any) -> Any:
        out = Swish.apply(x, 1.7) * Cube.apply(x)
        return out.sum() if isinstance(out, Tensor) else out

    assert gradcheck(f, point).ok
    assert gradgradcheck(f, point).ok


def test_arguments_that_are_not_nodes_are_passed_as_they_are() -> None:
    x = Value(0.5)
    y = Swish.apply(x, 2.0)
    assert y.parents == (x,) and y.saved.beta == 2.0
    assert y.data == pytest.approx(0.5 / (1 + math.exp(-1.0)))


def test_saved_inputs_and_output_are_the_graphs_nodes_under_create_graph() -> None:
    """Swish saves x and its output: the recorded backward pass reads those nodes, so its second
    derivative is right (a saved number would be a constant there)."""
    x = Value(0.3, "x")
    (d1,) = grad(Swish.apply(x, 1.0), [x], create_graph=True)
    (d2,) = grad(d1, [x])
    s = 1 / (1 + math.exp(-0.3))
    assert d2 == pytest.approx(s * (1 - s) * (2 + 0.3 * (1 - 2 * s)), rel=1e-12)


def test_one_node_twice_and_two_values_of_one_literal_each_get_their_gradient() -> None:
    x = Value(3.0, "x")
    y = Product.apply(x, x)  # x * x
    (d1,) = grad(y, [x], create_graph=True)
    assert d1.data == 6.0 and grad(d1, [x]) == [2.0]
    a, b = Value(2.0, "a"), Value(2.0, "b")  # one float object, from one literal
    assert a.data is b.data
    out = Product.apply(a, b * 5.0)
    (da, db) = grad(out, [a, b], create_graph=True)
    assert (da.data, db.data) == (10.0, 10.0)
    assert grad(da, [a, b]) == [0.0, 5.0]  # d/db of d(a * 5b)/da = 5


def test_a_function_is_drawn_with_its_name_and_meaning_and_stepped_through() -> None:
    x = Value(0.5, "x")
    y = Swish.apply(x, 1.0) + Cube.apply(x)
    source = draw_graph(y).source
    assert "Swish" in source and "Cube" in source
    assert Swish.meaning in source
    assert "Cube: an op of your own (its backward gives the gradients)" in source
    texts = trace_backward(y).texts()
    cube_step = next(text for text in texts if "= Cube(x)" in text)
    assert "local gradient dn2/dx = 0.75" in cube_step


def test_a_wrong_backward_is_caught_by_gradcheck_and_check_local_grads() -> None:
    class WrongCube(Cube):
        @staticmethod
        def backward(ctx: Context, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            return grad * 3 * x

    assert not gradcheck(WrongCube.apply, [1.5]).ok
    assert not gradcheck(lambda t: WrongCube.apply(t).sum(), [np.array([1.5, -0.5])]).ok
    assert not check_local_grads(WrongCube.apply(Value(1.5)) * 2).ok


def test_what_a_function_does_wrong_is_named() -> None:
    class TwoGradients(Cube):
        @staticmethod
        def backward(ctx: Context, grad: Any) -> Any:
            return grad, grad

    class WrongShape(Cube):
        @staticmethod
        def backward(ctx: Context, grad: Any) -> Any:
            return grad.sum()

    with pytest.raises(TypeError, match="backward of TwoGradients returned 2 gradients for 1"):
        TwoGradients.apply(Value(1.0))
    with pytest.raises(ValueError, match=r"WrongShape returned a gradient of shape \(\) for its"):
        WrongShape.apply(Tensor([1.0, 2.0], requires_grad=True)).sum().backward()
    with pytest.raises(TypeError, match=r"Cube\.apply needs a Value or a Tensor"):
        Cube.apply(2.0)
    with pytest.raises(TypeError, match="cannot be combined with a Value"):
        Product.apply(Value(1.0), Tensor([1.0], requires_grad=True))
    with pytest.raises(NotImplementedError, match="static forward"):
        type("Empty", (Function,), {}).apply(Value(1.0))
    with pytest.raises(ValueError, match="gate must be one of"):
        type("Bad", (Function,), {"gate": "nonsense"})


def test_a_float32_input_gets_a_float32_gradient() -> None:
    class Doubled(Function):
        @staticmethod
        def forward(ctx: Context, x: Any) -> Any:
            return x * 2.0

        @staticmethod
        def backward(ctx: Context, grad: Any) -> Any:
            return np.full(grad.shape, 2.0)  # float64, whatever the input

    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    Doubled.apply(x).sum().backward()
    assert x.grad.dtype == np.float32


def test_modes_apply_to_a_function_as_to_every_op() -> None:
    with no_grad():
        assert Cube.apply(Value(2.0)).parents == ()
    overflow = r"Cube of \(1e\+200\) produced a non-finite value"
    with detect_anomaly(), pytest.raises(NonFiniteError, match=overflow) as raised:
        Cube.apply(Value(1e200))
    assert raised.value.stage == "forward" and raised.value.op == "Cube"


def test_the_public_functions_work_on_numbers_and_on_nodes() -> None:
    assert exp(0.0) == 1.0 and sigmoid(0.0) == 0.5
    np.testing.assert_allclose(exp(np.zeros(2)), [1.0, 1.0])
    assert exp(Value(0.0)).op == "exp"
    assert where(True, 1.0, 2.0) == 1.0
    t = Tensor([-1.0, 2.0], requires_grad=True)
    picked = where(np.array([True, False]), t, t * 3.0)
    np.testing.assert_array_equal(picked.data, [-1.0, 6.0])
    picked.sum().backward()
    np.testing.assert_array_equal(t.grad, [1.0, 3.0])
