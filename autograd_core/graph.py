"""The graph core shared by both node types: what a node offers, the order, the one backward walk.

A node is anything that made a value from its `parents` and can pass a gradient back to them. The
scalar `Value` and the array `Tensor` are both nodes, and both are walked here, by the same code:

    order = topological_order(root)          # every node after all of its parents
    for node in reversed(order):             # the root first
        node.chain_rule(node.grad)           # parent.grad += local_grad * node.grad, per parent

Only `chain_rule`, the inner step, differs by node type: a `Value` multiplies a stored number (its
local gradient), a `Tensor` calls a stored vector-Jacobian product. Everything else, resetting the
intermediate gradients, seeding the root, letting leaves accumulate, the `on_node` hook that the
step-through and the anomaly detector use, is written once, below.

The walks mark the nodes they reach by writing into `grad`, and a backward pass writes every
gradient it reaches, so two walks over shared nodes (one model trained from two threads) must not
overlap: `GRAPH_WALK` (a lock) lets one walk run at a time. Forward passes run in parallel freely.
While a walk runs, the `grad` of its nodes is in flux; another thread that reads gradients while
one may run (a monitor of gradient norms, say) holds `GRAPH_WALK` while it reads.

The modes (`no_grad`, `detect_anomaly`) live here too. They are per thread: a block in one thread
never changes what another thread records or checks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar, Protocol

import numpy as np


class Node(Protocol):
    """What the backward walk needs of a node type.

    `HOLDS_ARRAYS` says which path the node type is on, for code that serves both (pictures).
    `EMPTY_GRAD` is the gradient of a node that nothing has reached yet (0.0 for a Value, None for a
    Tensor). `chain_rule(upstream)` adds this node's contribution, local gradient x upstream, to the
    `grad` of each of its parents; `seed_gradient()` is what a pass from this root starts with.
    For `autograd_core.grad`: `parent_gradients(upstream, create_graph)` gives each parent's
    share instead of adding it, and `as_gradient(found, create_graph)` the form a result takes.
    """

    EMPTY_GRAD: ClassVar[Any]
    HOLDS_ARRAYS: ClassVar[bool]  # False on the scalar path (floats), True on the batch path
    data: Any  # the forward value: a float, or an array
    op: str  # the op that made the node; "" for a leaf, CONSTANT for a number an op made a leaf
    label: str

    @property
    def parents(self) -> tuple[Any, ...]: ...

    @property
    def grad(self) -> Any: ...

    @grad.setter
    def grad(self, value: Any) -> None: ...

    def chain_rule(self, upstream: Any) -> None: ...

    def seed_gradient(self, *, who: str = "backward") -> Any: ...

    def parent_gradients(self, upstream: Any, create_graph: bool = False) -> tuple[Any, ...]: ...

    def as_gradient(self, found: Any, create_graph: bool = False) -> Any: ...


OnNode = Callable[[Any, Any], None]


def is_node(x: object) -> bool:
    """Whether `x` is a node of a graph (a Value or a Tensor), by the Node protocol."""
    return hasattr(x, "HOLDS_ARRAYS")


def numbers_of(x: Any) -> Any:
    """A node's data, and anything else (a float, an array) as it is: the numbers of a gradient
    that may have been recorded as a node (`create_graph=True`)."""
    return x.data if hasattr(x, "HOLDS_ARRAYS") else x

# The `op` of a leaf that an operation made from a plain number (the 2 in `2 * x`): pictures show
# it as a constant, while a leaf made by the user (`Value(3.0)`) is an input whose gradient counts.
CONSTANT = "const"

# One walk at a time, in all threads: a walk writes its marks and gradients into the nodes it
# reaches, and another walk over the same nodes would read them. Re-entrant, so that an `on_node`
# hook may itself call `topological_order` or run a backward pass of its own.
GRAPH_WALK = threading.RLock()


_PARENTS_DONE = object()  # pushed below a node's parents; when it comes back up, they are all out


def _depth_first(root: Any, keep_every_grad: bool) -> tuple[list[Any], list[tuple[Any, Any]]]:
    """The nodes `root` depends on, each after all of its parents (`root` last), and the grads
    the leaves held (with `keep_every_grad`, the grads every node held) as (node, grad) pairs.

    Iterative, so a graph of any depth works at the default recursion limit. A node is marked as
    reached by setting its `grad` to an object unique to this walk: a slot write and an identity
    test cost less than a set of nodes, which makes the backward pass about 15% faster. The
    caller holds `GRAPH_WALK` (so no other walk sees the marks) and puts the kept grads back, or
    resets them; if the walk fails, it puts them back itself.
    """
    reached = object()
    order: list[Any] = []
    kept: list[tuple[Any, Any]] = []
    stack: list[Any] = [root]
    push, pop, emit, keep = stack.append, stack.pop, order.append, kept.append
    try:
        while stack:
            node = pop()
            if node is _PARENTS_DONE:  # every parent of the node just below is out: emit it
                emit(pop())
                continue
            if node.grad is reached:  # reached again through another child
                continue
            parents = node.parents
            if not parents:
                keep((node, node.grad))
                node.grad = reached
                emit(node)
                continue
            if keep_every_grad:
                keep((node, node.grad))
            node.grad = reached
            push(node)
            push(_PARENTS_DONE)
            if len(parents) == 2:  # most nodes (+, *): unrolled
                first, second = parents
                if second.grad is not reached:
                    push(second)
                if first.grad is not reached:
                    push(first)
            else:
                for parent in parents:
                    if parent.grad is not reached:
                        push(parent)
    except BaseException:  # (an interrupt in a huge graph) no node keeps the walk's mark
        for node in (*order, *stack):
            if node is not _PARENTS_DONE and node.grad is reached:
                node.grad = type(node).EMPTY_GRAD
        _put_back(kept)
        raise
    return order, kept


def _put_back(kept: list[tuple[Any, Any]]) -> None:
    for node, grad in kept:
        node.grad = grad


def topological_order(root: Node) -> list[Any]:
    """Every node `root` depends on, each after all of its parents, `root` last.

    The order the backward pass walks in reverse. Gradients are left as they were.
    """
    with GRAPH_WALK:
        order, kept = _depth_first(root, keep_every_grad=True)
        _put_back(kept)
    return order


def backpropagate(root: Node, seed: Any, on_node: OnNode | None = None) -> None:
    """The backward pass, for every node type: fill `grad` of each node with d(root)/d(node).

    Intermediate nodes start from their type's empty gradient, so after the pass they hold this
    pass's gradients. Leaves (nodes without parents) sum this pass on their own and then add the
    total to what they held, so gradients accumulate across passes, as in PyTorch, and a second
    identical pass exactly doubles them.

    `on_node(node, upstream)` runs after each node has passed its gradient on, in the order the
    pass visits the nodes. Inside `detect_anomaly()` every gradient a node sends is checked.
    If the pass fails (an anomaly, an error in `on_node`), every leaf keeps the gradient it held.
    """
    if MODE_BLOCKS.count and is_anomaly_enabled():  # no thread-local lookup while no block is open
        on_node = _raise_on_non_finite if on_node is None else _also_check(on_node)
    with GRAPH_WALK:
        order, held = _depth_first(root, keep_every_grad=False)
        try:
            empty = type(root).EMPTY_GRAD
            for node in order:
                node.grad = empty
            root.grad = seed
            if on_node is None:
                for node in reversed(order):
                    node.chain_rule(node.grad)
            else:
                for node in reversed(order):
                    upstream = node.grad
                    node.chain_rule(upstream)
                    on_node(node, upstream)
        except BaseException:  # a failed pass adds nothing: the leaves keep what they held
            _put_back(held)
            raise
        for leaf, earlier in held:
            this_pass = leaf.grad
            if earlier is not None and this_pass is not None:
                leaf.grad = earlier + this_pass
            elif earlier is not None:
                leaf.grad = earlier


# ---- modes: per thread, with a shared count so that the default case costs one attribute read ----


class ModeCounts:
    """How many `no_grad` and `detect_anomaly` blocks one thread is inside (read them with
    `is_grad_enabled()` and `is_anomaly_enabled()`; node types read `this_thread_modes()`).

    Counts, not saved flags, so that blocks left in any order (two generators closed out of order)
    still leave the thread as it was once all of them are left.
    """

    __slots__ = ("anomaly", "no_grad")

    def __init__(self) -> None:
        self.no_grad = 0
        self.anomaly = 0


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.modes = ModeCounts()


_PER_THREAD = _PerThread()


def this_thread_modes() -> ModeCounts:
    """The mode counts of the calling thread."""
    return _PER_THREAD.modes


class OpenBlocks:
    """How many mode blocks are open in all threads together.

    While it is 0, every thread records and checks nothing, and a node type needs no per-thread
    lookup: creating a node reads `MODE_BLOCKS.count` and nothing else (about 10 ns).
    """

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self, change: int) -> None:
        with self._lock:
            self.count += change


MODE_BLOCKS = OpenBlocks()


@contextmanager
def _inside(mode: str) -> Iterator[None]:
    """A block of `mode` ("no_grad" or "anomaly") in this thread, also counted for all threads.

    The counts entered are the ones left, even when the block is left from another thread (a
    generator holding the block, closed elsewhere).
    """
    modes = this_thread_modes()
    setattr(modes, mode, getattr(modes, mode) + 1)
    MODE_BLOCKS.add(1)
    try:
        yield
    finally:
        setattr(modes, mode, getattr(modes, mode) - 1)
        MODE_BLOCKS.add(-1)


def no_grad() -> AbstractContextManager[None]:
    """Inside this block new nodes record no parents: they are leaves and backward stops there.

    Only the calling thread is affected; nested blocks and blocks left out of order are fine.
    """
    return _inside("no_grad")


def is_grad_enabled() -> bool:
    """False inside `no_grad()` (in this thread)."""
    return this_thread_modes().no_grad == 0


def detect_anomaly() -> AbstractContextManager[None]:
    """Inside this block the first non-finite number raises FloatingPointError naming the op.

    Checked: every forward value and local gradient a node is made with, and every gradient the
    backward pass sends. It costs a scan of every result, so it is off by default; like `no_grad`,
    it affects only the calling thread.
    """
    return _inside("anomaly")


def is_anomaly_enabled() -> bool:
    """True inside `detect_anomaly()` (in this thread)."""
    return this_thread_modes().anomaly > 0


def all_finite(numbers: Any) -> bool:
    """Whether a number, a tuple of numbers or an array holds only finite values."""
    return bool(np.all(np.isfinite(numbers)))


def first_non_finite(numbers: Any) -> float:
    """The first value of `numbers` that is inf or nan (call it after `all_finite` said False)."""
    flat = np.asarray(numbers, dtype=np.float64).ravel()
    return float(flat[~np.isfinite(flat)][0])


def _raise_on_non_finite(node: Any, upstream: Any) -> None:
    for position, parent in enumerate(node.parents):
        if parent.grad is not None and not all_finite(parent.grad):
            name = f" ({parent.label})" if parent.label else ""
            raise FloatingPointError(
                f"backward of {node.op} sent a non-finite gradient "
                f"({first_non_finite(parent.grad)}) to its input {position}{name}"
            )


def _also_check(on_node: OnNode) -> OnNode:
    def checked(node: Any, upstream: Any) -> None:
        _raise_on_non_finite(node, upstream)
        on_node(node, upstream)

    return checked
