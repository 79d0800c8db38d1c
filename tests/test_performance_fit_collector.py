"""`fit` pauses Python's cyclic collector while it builds and walks a step's graph: the collector
comes back on every way out, stays off if the caller had it off, and cycles a callback makes
every step are still collected (memory does not grow)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import nn
from nn.data import make_moons


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    """Each test starts with the collector on, and leaves it on, whatever it did."""
    gc.enable()
    yield
    gc.enable()


def train(
    steps: int,
    callback: Callable[[nn.StepInfo], Any] | None = None,
    loss: Callable[[Any, Any], Any] = nn.binary_hinge,
    batch: bool = False,
) -> dict[str, list[float]]:
    X, y = make_moons(40, noise=0.1, seed=3)
    model = nn.batch.MLP(2, [4, 1], seed=0) if batch else nn.MLP(2, [4, 1], seed=0)
    return nn.fit(
        model, X, y * 2 - 1, loss, nn.SGD(model.parameters(), lr=0.05), epochs=steps,
        batch_size=None, progress=False, callback=callback,
    )  # fmt: skip


def test_the_collector_is_paused_while_fit_builds_a_graph_and_on_around_it() -> None:
    seen_in_loss: list[bool] = []
    seen_in_callback: list[bool] = []

    def loss(outputs: Any, targets: Any) -> Any:
        seen_in_loss.append(gc.isenabled())
        return nn.binary_hinge(outputs, targets)

    train(3, callback=lambda info: seen_in_callback.append(gc.isenabled()), loss=loss)
    assert seen_in_loss == [False] * 3  # the step's graph is built with the collector paused
    assert seen_in_callback == [True] * 3  # user code between steps runs with it on
    assert gc.isenabled()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_the_collector_is_back_on_when_a_step_raises(error: type[BaseException]) -> None:
    def loss(outputs: Any, targets: Any) -> Any:
        raise error("stop in the middle of a step")

    with pytest.raises(error, match="middle of a step"):
        train(2, loss=loss)
    assert gc.isenabled()


def test_the_collector_is_back_on_when_a_callback_raises_or_stops_training() -> None:
    def failing(info: nn.StepInfo) -> None:
        raise ValueError("a callback's own error")

    with pytest.raises(ValueError, match="callback's own error"):
        train(3, callback=failing)
    assert gc.isenabled()
    history = train(5, callback=lambda info: info.step == 2)
    assert len(history["loss"]) == 2 and gc.isenabled()  # one step per epoch: stopped in the 2nd


def test_a_collector_the_caller_turned_off_stays_off_and_uncollected() -> None:
    gc.disable()
    collections: list[str] = []

    def count(phase: str, info: dict[str, int]) -> None:
        collections.append(phase)

    gc.callbacks.append(count)
    try:
        train(3, callback=lambda info: [].append([]))
    finally:
        gc.callbacks.remove(count)
    assert not gc.isenabled()
    assert collections == []  # fit collected nothing behind the caller's back


class Cyclic:
    """An object that refers to itself, holding 100 kB: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self
        self.payload = bytearray(100_000)


def growth_over_50_steps(batch: bool) -> int:
    """Traced memory from step 10 to its highest after, with a callback that leaves two 100 kB
    reference cycles behind every step (one garbage at once, one kept for a step first, so that
    it has survived a collection when it becomes garbage)."""
    gc.collect()
    current: list[int] = []
    kept: list[Cyclic] = []

    def make_cycles(info: nn.StepInfo) -> None:
        Cyclic()
        kept.append(Cyclic())
        if len(kept) > 1:
            kept.pop(0)
        current.append(tracemalloc.get_traced_memory()[0])

    tracemalloc.start()
    try:
        train(50, callback=make_cycles, batch=batch)
    finally:
        tracemalloc.stop()
    assert len(current) == 50
    return max(current[10:]) - current[10]


@pytest.mark.parametrize("batch", [False, True], ids=["scalar", "batch"])
def test_cycles_a_callback_makes_every_step_are_collected(batch: bool) -> None:
    """Over 40 steps the cycles would add 8 MB; collected, at most the ten steps between two
    collections of the middle generation are alive at once (about 1 MB)."""
    assert growth_over_50_steps(batch) < 2_500_000
    assert gc.isenabled()
    gc.disable()  # the same callback with no collector at all: the test can tell
    assert growth_over_50_steps(batch) > 7_000_000
