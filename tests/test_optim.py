"""Optimisers: one step equals the textbook update computed by hand; arrays work too."""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pytest

import nn
from autograd_core import Tensor, Value, backpropagate


def params_with_grads(data: list[float], grads: list[float]) -> list[Value]:
    params = [Value(d) for d in data]
    for p, g in zip(params, grads):
        p.grad = g
    return params


DATA, GRADS = [0.5, -1.0, 2.0], [0.1, -0.3, 0.25]


def test_plain_sgd_step() -> None:
    params = params_with_grads(DATA, GRADS)
    nn.SGD(params, lr=0.1).step()
    assert [p.data for p in params] == pytest.approx([d - 0.1 * g for d, g in zip(DATA, GRADS)])


def test_sgd_with_weight_decay() -> None:
    params = params_with_grads(DATA, GRADS)
    nn.SGD(params, lr=0.1, weight_decay=0.01).step()
    expected = [d - 0.1 * (g + 0.01 * d) for d, g in zip(DATA, GRADS)]
    assert [p.data for p in params] == pytest.approx(expected)


def test_sgd_with_momentum_over_two_steps() -> None:
    params = params_with_grads(DATA, GRADS)
    optimizer = nn.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)
    optimizer.step()
    after_one = [d - 0.1 * (g + 0.01 * d) for d, g in zip(DATA, GRADS)]
    assert [p.data for p in params] == pytest.approx(after_one)
    velocity = [g + 0.01 * d for d, g in zip(DATA, GRADS)]
    new_grads = [0.2, 0.0, -0.5]
    for p, g in zip(params, new_grads):
        p.grad = g
    optimizer.step()
    velocity = [0.9 * v + g + 0.01 * d for v, g, d in zip(velocity, new_grads, after_one)]
    expected = [d - 0.1 * v for d, v in zip(after_one, velocity)]
    assert [p.data for p in params] == pytest.approx(expected, rel=1e-12)


def test_adam_two_steps_by_hand() -> None:
    params = params_with_grads(DATA, GRADS)
    optimizer = nn.Adam(params, lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    optimizer.step()
    # step 1: m = 0.1 g, v = 0.001 g^2, so m_hat = g, v_hat = g^2: the step is lr * sign(g)
    after_one = [d - 0.01 * g / (abs(g) + 1e-8) for d, g in zip(DATA, GRADS)]
    assert [p.data for p in params] == pytest.approx(after_one, rel=1e-12)
    new_grads = [0.2, 0.0, -0.5]
    for p, g in zip(params, new_grads):
        p.grad = g
    optimizer.step()
    expected = []
    for d, g1, g2 in zip(after_one, GRADS, new_grads):
        m = 0.9 * (0.1 * g1) + 0.1 * g2
        v = 0.999 * (0.001 * g1 * g1) + 0.001 * g2 * g2
        m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
        expected.append(d - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-8))
    assert [p.data for p in params] == pytest.approx(expected, rel=1e-12)


def test_learning_rate_schedule_is_a_callable_of_the_step() -> None:
    params = params_with_grads([1.0], [1.0])
    seen = []
    optimizer = nn.SGD(params, lr=lambda step: seen.append(step) or 0.5 / (step + 1))
    optimizer.step()
    optimizer.step()
    assert seen == [0, 1] and optimizer.steps == 2
    assert params[0].data == pytest.approx(1.0 - 0.5 - 0.25)


@pytest.mark.parametrize("make", [lambda p: nn.SGD(p, 0.1, 0.9, 0.01), lambda p: nn.Adam(p, 0.01)])
def test_optimisers_drive_array_parameters_like_scalars(make) -> None:  # type: ignore[no-untyped-def]
    scalars = params_with_grads(DATA, GRADS)
    array = Tensor(np.array(DATA), requires_grad=True)
    array.grad = np.array(GRADS)
    scalar_opt, array_opt = make(scalars), make([array])
    for _ in range(3):
        scalar_opt.step()
        array_opt.step()
    np.testing.assert_allclose(array.data, [p.data for p in scalars], rtol=1e-14)
    array_opt.zero_grad()
    assert array.grad is None
    scalar_opt.zero_grad()
    assert all(p.grad == 0.0 for p in scalars)


def test_optimisers_reject_bad_settings() -> None:
    params = [Value(1.0)]
    with pytest.raises(ValueError, match="learning rate"):
        nn.SGD(params, lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        nn.SGD(params, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        nn.SGD(params, lr=0.1, weight_decay=-1.0)
    with pytest.raises(ValueError, match="betas"):
        nn.Adam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        nn.Adam([])


def test_two_threads_training_one_model_with_sgd_never_see_a_walk_mark() -> None:
    """zero_grad and step hold GRAPH_WALK, so another thread's backward pass never shows them
    a gradient that is half made (the walk marks nodes through `grad`)."""
    model = nn.MLP(2, [8, 1], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=1e-3)
    errors: list[BaseException] = []

    def train() -> None:
        try:
            for _ in range(150):
                out = model([0.5, -0.3])
                optimizer.zero_grad()
                (out * out).backward()
                optimizer.step()
        except BaseException as error:  # reported by the assert below
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=train) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    assert all(type(p.grad) is float and type(p.data) is float for p in model.parameters())


def test_a_step_and_a_zero_grad_wait_for_a_backward_pass_in_another_thread() -> None:
    """Deterministic, where the test above depends on the scheduler: while a backward pass is
    inside its walk (its on_node hook runs), a step or a zero_grad called from another thread
    waits for the pass to end, then runs."""
    w = Value(0.5, "w")
    optimizer = nn.SGD([w], lr=0.1)
    waited: list[bool] = []
    callers: list[threading.Thread] = []

    def inside_the_walk(node: object, upstream: object, shares: object) -> None:
        if callers:
            return
        for call in (optimizer.step, optimizer.zero_grad):
            caller = threading.Thread(target=call)
            caller.start()
            caller.join(timeout=0.2)
            waited.append(caller.is_alive())  # still blocked on GRAPH_WALK
            callers.append(caller)

    backpropagate(w * w, 1.0, inside_the_walk)
    for caller in callers:
        caller.join(timeout=10)
    assert waited == [True, True] and not any(caller.is_alive() for caller in callers)


def test_the_momentum_buffer_is_not_the_gradient_array() -> None:
    w = Tensor(np.ones(2), requires_grad=True)
    optimizer = nn.SGD([w], lr=0.1, momentum=0.9)
    (w * 2.0).sum().backward()
    optimizer.step()
    assert optimizer.velocity[0] is not w.grad
    w.grad.fill(0.0)  # a user clearing the gradient in place leaves the momentum alone
    np.testing.assert_array_equal(optimizer.velocity[0], [2.0, 2.0])
