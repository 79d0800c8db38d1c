"""The graph core: one walk for both node types, per-thread modes, anomaly detection on Values."""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from autograd_core import (
    NonFiniteError,
    Tensor,
    Value,
    backpropagate,
    detect_anomaly,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from autograd_core.graph import GRAPH_WALK

# ---- one walk ----------------------------------------------------------------------------------


def test_the_same_walk_drives_a_value_graph_and_a_tensor_graph() -> None:
    """`backpropagate` with an on_node recorder: every node with inputs once, root first, each
    after all of its uses, with the upstream gradient it passed on and what it sent each input
    (computed once, by the walk: the parents' gradients are the sums of what they were sent)."""
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    q = x * y
    f = q + x
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True, label="a")
    h = a * a
    g = h.sum()
    for root, seed in ((f, 1.0), (g, np.ones(()))):
        seen: list[tuple[Any, Any, tuple[Any, ...]]] = []

        def record(node: Any, upstream: Any, shares: Any, seen: list = seen) -> None:
            seen.append((node, upstream, shares))

        backpropagate(root, seed, record)
        order = topological_order(root)
        assert [node for node, _, _ in seen] == [n for n in reversed(order) if n.parents]
        assert seen[0][0] is root
        sent: dict[int, Any] = {}
        for node, upstream, shares in seen:
            assert np.array_equal(upstream, node.grad)  # what arrived is what it holds
            for parent, share in zip(node.parents, shares):
                sent[id(parent)] = share + sent.get(id(parent), 0.0)
        for node in order:
            if id(node) in sent:
                np.testing.assert_array_equal(sent[id(node)], node.grad)
    assert (x.grad, y.grad, q.grad) == (-3.0 + 1.0, 2.0, 1.0)
    np.testing.assert_array_equal(a.grad, [2.0, 4.0])
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])


def test_topological_order_on_random_dags() -> None:
    """Parents first, each node once, the root last, whatever order the parents come in."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        nodes = [Value(float(i)) for i in range(3)]
        for _ in range(rng.integers(1, 25)):
            picks = rng.choice(len(nodes), size=rng.integers(1, 4))
            parents = tuple(nodes[i] for i in picks)
            nodes.append(Value(0.0, op="f", parents=parents, local_grads=(1.0,) * len(parents)))
        root = nodes[-1]
        order = topological_order(root)
        position = {id(node): i for i, node in enumerate(order)}
        assert len(position) == len(order) and order[-1] is root
        assert all(position[id(p)] < position[id(n)] for n in order for p in n.parents)


def test_leaves_of_both_types_accumulate_and_intermediates_reset() -> None:
    w = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(w.grad, 2 * 2 * w.data)
    w.zero_grad()
    assert w.grad is None
    v = Value(3.0)
    out = v * v
    out.backward()
    out.backward()
    assert v.grad == 12.0
    v.zero_grad()
    assert v.grad == 0.0


# ---- mixing the paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mix",
    [
        lambda v, t: v + t,
        lambda v, t: t + v,
        lambda v, t: t * v,
        lambda v, t: v * t,
        lambda v, t: v - t,
        lambda v, t: t / v,
        lambda v, t: t @ v,
        lambda v, t: t.maximum(v),
        lambda v, t: Tensor(v),
    ],
)
def test_a_value_and_a_tensor_never_meet(mix) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=r"Tensor \(the batch path\).*Value \(the scalar path\)"):
        mix(Value(1.0), Tensor(np.ones(2), requires_grad=True))


# ---- per-thread modes --------------------------------------------------------------------------


def _in_thread(work) -> object:  # type: ignore[no-untyped-def]
    result: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as error:  # pragma: no cover - reported by the assert below
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and not errors, errors
    return result[0]


def test_no_grad_in_one_thread_leaves_another_recording() -> None:
    inside, leave = threading.Event(), threading.Event()

    def hold_no_grad() -> None:
        with no_grad():
            inside.set()
            leave.wait(timeout=30)

    holder = threading.Thread(target=hold_no_grad)
    holder.start()
    try:
        assert inside.wait(timeout=30)
        x = Value(3.0)
        y = x * x  # the other thread's block is open, and this thread still records
        y.backward()
        assert is_grad_enabled() and y.parents == (x, x) and x.grad == 6.0
        t = Tensor(np.ones(2), requires_grad=True)
        (t * 2.0).sum().backward()
        np.testing.assert_array_equal(t.grad, [2.0, 2.0])
        recorded = _in_thread(lambda: (Value(1.0) + 1.0).parents != ())
        assert recorded
    finally:
        leave.set()
        holder.join(timeout=30)
    assert _records_and_checks_nothing()


def _records_and_checks_nothing() -> bool:
    """What no open block means, seen from this thread and a new one: nodes record their
    parents, and a non-finite value raises nothing."""

    def fresh() -> bool:
        return (
            is_grad_enabled()
            and (Value(1.0) * 2.0).parents != ()
            and math.isinf((Value(1e200) * 1e200).data)
        )

    return fresh() and _in_thread(fresh)


def test_overlapping_blocks_in_two_threads_restore_both() -> None:
    """Thread A enters, B enters, A leaves, B leaves: the order that broke a global flag."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    states: dict[str, list[bool]] = {"a": [], "b": []}

    def thread_a() -> None:
        with no_grad():
            a_in.set()
            b_in.wait(timeout=30)
            states["a"].append(is_grad_enabled())
        a_out.set()
        states["a"].append(is_grad_enabled())

    def thread_b() -> None:
        a_in.wait(timeout=30)
        with no_grad():
            b_in.set()
            a_out.wait(timeout=30)
            states["b"].append(is_grad_enabled())
            states["b"].append((Value(1.0) * 2.0).parents == ())
        states["b"].append(is_grad_enabled())

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert states == {"a": [False, True], "b": [False, True, True]}
    assert _records_and_checks_nothing()


def test_generators_closed_out_of_order_restore_recording() -> None:
    def lazily_without_grad() -> Iterator[Value]:
        with no_grad():
            yield Value(1.0) * 2.0

    first, second = lazily_without_grad(), lazily_without_grad()
    next(first)
    next(second)
    first.close()  # leaves its block while the second is still inside its own
    assert not is_grad_enabled()
    second.close()
    assert _records_and_checks_nothing()


def test_a_block_left_from_another_thread_restores_the_thread_that_entered_it() -> None:
    def lazily_without_grad() -> Iterator[Value]:
        with no_grad():
            yield Value(1.0) * 2.0

    held = lazily_without_grad()
    next(held)  # this thread is now inside the generator's block
    assert not is_grad_enabled()
    _in_thread(lambda: held.close())  # the block is left from another thread
    assert _records_and_checks_nothing()
    assert _in_thread(is_grad_enabled)  # and the closing thread's own count is untouched


def test_a_backward_pass_waits_for_another_threads_walk_to_end() -> None:
    """Deterministic: while one walk is inside its on_node hook, a backward pass over the same
    leaf from another thread waits (GRAPH_WALK), then adds its gradient to the first's."""
    w = Value(0.5, "w")
    waited: list[bool] = []
    other: list[threading.Thread] = []

    def inside_the_walk(node: object, upstream: object, shares: object) -> None:
        if other:
            return
        other.append(threading.Thread(target=(w * 3.0).backward))
        other[0].start()
        other[0].join(timeout=0.2)
        waited.append(other[0].is_alive())

    backpropagate(w * w, 1.0, inside_the_walk)
    other[0].join(timeout=10)
    assert waited == [True] and not other[0].is_alive()
    assert w.grad == 2 * 0.5 + 3.0


def test_backward_passes_from_two_threads_over_shared_parameters_add_up() -> None:
    """Two threads train one model: every pass's gradient reaches the shared leaves, and a reader
    holding GRAPH_WALK never sees a walk's internal mark in place of a gradient."""
    weights = [Value(0.1 * (i + 1), label=f"w{i}") for i in range(20)]
    passes_per_thread = 50
    start = threading.Barrier(3)
    seen: list[object] = []

    def train() -> None:
        start.wait(timeout=30)
        for _ in range(passes_per_thread):
            loss = sum((w * w for w in weights), Value(0.0))
            loss.backward()

    def read() -> None:  # a monitor reading the gradients while training runs, as documented
        start.wait(timeout=30)
        for _ in range(2000):
            with GRAPH_WALK:
                seen.extend(w.grad for w in weights if type(w.grad) is not float)

    threads = [threading.Thread(target=train), threading.Thread(target=train)]
    threads.append(threading.Thread(target=read))
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that unguarded walks would interleave
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(switch_interval)
    assert not any(thread.is_alive() for thread in threads)
    for w in weights:  # d(w*w)/dw = 2w, once per pass, 100 passes
        assert w.grad == pytest.approx(2 * passes_per_thread * 2 * w.data, rel=1e-12)
    assert seen == []


def test_detect_anomaly_in_one_thread_does_not_raise_in_another() -> None:
    inside, leave = threading.Event(), threading.Event()

    def hold_anomaly() -> None:
        with detect_anomaly():
            inside.set()
            leave.wait(timeout=30)

    holder = threading.Thread(target=hold_anomaly)
    holder.start()
    try:
        assert inside.wait(timeout=30)
        assert not is_anomaly_enabled()
        x = Value(0.0)
        y = x**0.5  # an infinite local gradient: fine outside detect_anomaly
        y.backward()
        assert x.grad == math.inf
        with np.errstate(divide="ignore"):
            assert np.isneginf(Tensor(np.zeros(1), requires_grad=True).log().data[0])
    finally:
        leave.set()
        holder.join(timeout=30)


def test_modes_nest_and_restore_after_errors() -> None:
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        with pytest.raises(ZeroDivisionError), no_grad():
            Value(0.0).reciprocal()
        assert not is_grad_enabled()
    assert _records_and_checks_nothing()


# ---- detect_anomaly on Value graphs ------------------------------------------------------------


def test_detect_anomaly_on_values_names_the_op() -> None:
    with detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"\*\*0\.5 at 0\.0 has a non-finite local"):
            Value(0.0) ** 0.5
        with pytest.raises(FloatingPointError, match=r"\* of \(1e\+200, 1e\+200\) produced .*inf"):
            Value(1e200) * Value(1e200)
    assert not is_anomaly_enabled()
    assert (Value(1e200) * Value(1e200)).data == math.inf  # outside the block: IEEE rules
    assert (Value(0.0) ** 0.5).local_grads == (math.inf,)


def test_detect_anomaly_checks_the_backward_pass_of_values() -> None:
    """Every forward value and local gradient is finite; a product in the backward pass is not."""
    x = Value(1e300, "x")
    x.grad = 5.0  # from an earlier pass: a failed pass must leave it
    with detect_anomaly():
        y = x * 1e-300  # 1.0, local gradients (1e-300, 1e300)
        root = y * 1e300  # 1e300: y's gradient becomes 1e300, and 1e300 * 1e300 overflows
        sent = r"backward of \* sent a non-finite gradient \(inf\) to its input 1"
        with pytest.raises(NonFiniteError, match=sent) as raised:
            root.backward()
    error = raised.value  # where it is, as data (the pictures read these, not the text)
    assert isinstance(error, FloatingPointError) and error.stage == "backward"
    assert error.node is y and error.position == 1 and error.parent is y.parents[1]
    assert error.value == math.inf and error.op == "*"
    assert x.grad == 5.0
    root.backward()  # outside the block the same pass runs, as IEEE arithmetic says
    assert x.grad == 6.0 and y.parents[1].grad == math.inf
