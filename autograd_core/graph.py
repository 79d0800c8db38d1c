"""The graph core shared by both node types: what a node offers, the order, the one backward walk.

A node is anything that made a value from its `parents` and can pass a gradient back to them. The
scalar `Value` and the array `Tensor` are both nodes, and both are walked here, by the same code:

    order = topological_order(root)          # every node after all of its parents
    for node in reversed(order):             # the root first
        node.chain_rule(node.grad)           # parent.grad += local_grad * node.grad, per parent

Only the inner step differs by node type: a `Value` multiplies a stored number (its local
gradient), a `Tensor` asks its op for a vector-Jacobian product. Everything else, resetting the
intermediate gradients, seeding the root, letting leaves accumulate, the `on_node` hook that the
step-through and the checks use, the check for non-finite gradients, recording the backward pass
as a graph of its own (`create_graph`) and `autograd_core.grad`'s gradients that touch no `.grad`,
is written once, below, in `backpropagate`.

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar, Protocol, TypeAlias

import numpy as np

# What ops compute with, named once. A forward pass gets numbers: a float on the scalar path, an
# array on the batch path. A local gradient, a vjp and a Function's backward get numbers or nodes
# (under create_graph they run on the graph's own nodes): an Operand. No static type covers the
# arithmetic of floats, arrays, Values and Tensors together, so an Operand is checked by the tests
# (every op, on both paths, against finite differences and HIPS autograd), not by mypy.
Number: TypeAlias = "float | np.ndarray"
Operand: TypeAlias = Any
Shares: TypeAlias = "tuple[Operand | None, ...]"  # per input, upstream x local gradient
# What a node's op recorded for its backward besides its inputs and output: a tuple of params and
# numbers (a slope, an axis, a mask, the labels), or a `Function`'s Context.
Saved: TypeAlias = Any


class Node(Protocol):
    """What the backward walk needs of a node type.

    Code that serves both paths asks the node (its methods below), never which path it is on.
    `EMPTY_GRAD` is the gradient of a node that nothing has reached yet (0.0 for a Value, None
    for a Tensor); `fresh_grad()` an object no node holds, which a walk marks the nodes it
    reaches with (a Value's is a new 0.0, an empty gradient itself).

    - `chain_rule(upstream)`: the first-order step, in place: each parent's `grad` gets this
      node's share (local gradient x upstream) added.
    - `shares(upstream, create_graph)`: the same shares returned instead of added, one per parent
      (None for a parent that takes no gradient): numbers, or with `create_graph` nodes built by
      the node's op from its inputs and output, so that they can be differentiated again.
    - `accumulate(share)`: add one share to this node's `grad`.
    - `seed_gradient()`: what a pass from this node as root starts with (d root / d root).
    - `function`: the op that made the node (an `autograd_core.Function` subclass), None for a
      leaf or a node made by hand from numbers.
    """

    EMPTY_GRAD: ClassVar[Any]
    data: Any  # the forward value: a float, or an array
    op: str  # the op that made the node; "" for a leaf, CONSTANT for a number an op made a leaf
    label: str

    @property
    def parents(self) -> tuple[Any, ...]: ...

    @property
    def grad(self) -> Any: ...

    @grad.setter
    def grad(self, value: Any) -> None: ...

    @property
    def function(self) -> type | None: ...

    # The walk's fast way to a node's inputs, for the one or two of almost every node: the first
    # and the second (None where there are fewer); `parents` for a leaf and a node of more.
    @property
    def first_input(self) -> Node | None: ...

    @property
    def second_input(self) -> Node | None: ...

    def chain_rule(self, upstream: Operand) -> None: ...

    def shares(self, upstream: Operand, create_graph: bool = False) -> Shares: ...

    def accumulate(self, share: Operand) -> None: ...

    def seed_gradient(self, *, who: str = "backward") -> Operand: ...

    @classmethod
    def fresh_grad(cls) -> object: ...


# What an `on_node` hook is called with: the node that just passed its gradient on, the gradient
# it had received (upstream), and what it sent to each of its parents (None: nothing).
OnNode = Callable[[Any, Any, tuple[Any, ...]], None]


def is_node(x: object) -> bool:
    """Whether `x` is a node of a graph (a Value or a Tensor): something the walk can step, by
    the Node protocol."""
    return hasattr(x, "chain_rule")


def numbers_of(x: Any) -> Any:
    """A node's data, and anything else (a float, an array) as it is: the numbers of a gradient
    that may have been recorded as a node (`create_graph=True`)."""
    return x.data if hasattr(x, "chain_rule") else x


# The `op` of a leaf that an operation made from a plain number (the 2 in `2 * x`): pictures show
# it as a constant, while a leaf made by the user (`Value(3.0)`) is an input whose gradient counts.
CONSTANT = "const"

# One walk at a time, in all threads: a walk writes its marks and gradients into the nodes it
# reaches, and another walk over the same nodes would read them. Re-entrant, so that an `on_node`
# hook may itself call `topological_order` or run a backward pass of its own.
GRAPH_WALK = threading.RLock()


class NonFiniteError(FloatingPointError):
    """What `detect_anomaly()` raises at the first inf or nan, with where it is as data.

    `stage` is "forward" (a node was being made: `value` is its non-finite output, or with
    `position` set, its non-finite local gradient for that input; `node` is None, since the node
    was never made) or "backward" (`node` sent `value` to its input `position`, `parent`). `op`
    names the op; `inputs` holds the forward inputs' data, where known.
    """

    def __init__(
        self,
        message: str,
        *,
        stage: str,
        op: str,
        value: float,
        position: int | None = None,
        node: Node | None = None,
        parent: Node | None = None,
        inputs: tuple[Number, ...] = (),
    ) -> None:
        super().__init__(message)
        self.stage, self.op, self.value, self.position = stage, op, value, position
        self.node, self.parent, self.inputs = node, parent, inputs


def _depth_first(root: Any, keep_every_grad: bool) -> tuple[list[Any], list[tuple[Any, Any]], Any]:
    """The nodes `root` depends on, each after all of its parents (`root` last), the grads the
    leaves held (with `keep_every_grad`, the grads every node held) as (node, grad) pairs, and
    the mark every node of the order holds as its grad now.

    Iterative, so a graph of any depth works at the default recursion limit. A node is marked as
    reached by setting its `grad` to an object unique to this walk (`fresh_grad()` of the node
    type): a slot write and an identity test cost less than a set of nodes, which makes the
    backward pass about 15% faster. Where that object is an empty gradient itself (a Value's is
    a 0.0 of its own), the marks are where the backward pass starts from, and resetting every
    node costs nothing more. The caller holds `GRAPH_WALK` (so no other walk sees the marks)
    and puts the kept grads back, or resets them; if the walk fails, it puts them back itself.
    """
    reached = type(root).fresh_grad()
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
            first = node.first_input  # most nodes (+, *, exp): their one or two inputs, unrolled
            if first is not None:
                if keep_every_grad:
                    keep((node, node.grad))
                node.grad = reached
                push(node)
                push(_PARENTS_DONE)
                second = node.second_input
                if second is not None and second.grad is not reached:
                    push(second)
                if first.grad is not reached:
                    push(first)
                continue
            parents = node.parents  # a leaf, or a node of more inputs
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
            for parent in parents:
                if parent.grad is not reached:
                    push(parent)
    except BaseException:  # (an interrupt in a huge graph) no node keeps the walk's mark
        for node in (*order, *stack):
            if node is not _PARENTS_DONE and node.grad is reached:
                node.grad = type(node).EMPTY_GRAD
        _put_back(kept)
        raise
    return order, kept, reached


_PARENTS_DONE = object()  # pushed below a node's parents; when it comes back up, they are all out


def _put_back(kept: list[tuple[Any, Any]]) -> None:
    for node, grad in kept:
        node.grad = grad


def topological_order(root: Node) -> list[Any]:
    """Every node `root` depends on, each after all of its parents, `root` last.

    The order the backward pass walks in reverse. Gradients are left as they were.
    """
    with GRAPH_WALK:
        order, kept, _ = _depth_first(root, keep_every_grad=True)
        _put_back(kept)
    return order


def backpropagate(
    root: Node,
    seed: Any,
    on_node: OnNode | None = None,
    *,
    create_graph: bool = False,
    wanted: Sequence[Any] | None = None,
) -> list[Any] | None:
    """The backward pass, for every node type: fill `grad` of each node with d(root)/d(node).

    Intermediate nodes start from their type's empty gradient, so after the pass they hold this
    pass's gradients. Leaves (nodes without parents) sum this pass on their own and then add the
    total to what they held, so gradients accumulate across passes, as in PyTorch, and a second
    identical pass exactly doubles them. If the pass fails (an anomaly, an error in `on_node`),
    every leaf keeps the gradient it held.

    - Plain (no hook, no mode): each node adds its shares to its parents in place
      (`chain_rule`), the fast path.
    - `on_node(node, upstream, shares)` runs after each node with parents has passed its
      gradient on, with what it sent to each parent, computed once by the walk (the step-through
      records them). Inside `detect_anomaly()` every gradient a node sends is checked, and the
      first non-finite one raises `NonFiniteError` naming the node, the input and the number.
    - `create_graph=True`: the shares are nodes built by each op from its inputs and output, so
      every `grad` is a node of a graph of the backward pass, differentiable again; `seed` must
      be a node then. Each recorded gradient is a node of its own (never a node of the graph
      or another node's gradient), so relabelling one changes nothing else.
    - `wanted`: leave every `grad` as it was and return this pass's gradient of each wanted
      node instead (None for one the root does not depend on): `autograd_core.grad`.
    """
    check = MODE_BLOCKS.count and is_anomaly_enabled()  # no thread-local lookup while no block
    if create_graph and not is_grad_enabled():
        raise RuntimeError(
            "create_graph=True inside no_grad(): nothing would be recorded, so the gradients "
            "could not be differentiated again; leave the no_grad block first"
        )
    with GRAPH_WALK:
        order, held, marked = _depth_first(root, keep_every_grad=wanted is not None)
        try:
            empty = type(root).EMPTY_GRAD
            if marked != empty:  # (a Value's mark is already an empty gradient)
                for node in order:
                    node.grad = empty
            root.grad = seed
            if on_node is None and not check and not create_graph:
                for node in reversed(order):
                    node.chain_rule(node.grad)
            else:
                for node in reversed(order):
                    _step(node, create_graph, check, on_node)
        except BaseException:  # a failed pass adds nothing: the leaves keep what they held
            _put_back(held)
            raise
        if wanted is not None:
            this_pass = {id(node): node.grad for node in order}
            _put_back(held)
            found = [this_pass.get(id(node)) for node in wanted]
            return _owned(found, order) if create_graph else found
        if create_graph:
            for leaf, earlier in held:
                leaf.grad = _accumulated(earlier, leaf.grad)
            for node, owned in zip(order, _owned([node.grad for node in order], order)):
                node.grad = owned
        else:
            for leaf, earlier in held:
                if earlier is not None:  # (None: nothing held, the leaf keeps this pass's)
                    this_pass = leaf.grad
                    leaf.grad = earlier if this_pass is None else earlier + this_pass
    return None


def _step(node: Any, create_graph: bool, check: Any, on_node: OnNode | None) -> None:
    """One node's step of a pass that computes each share once (a hook, a check or a recorded
    pass): ask the node for its shares, add each to its parent, check it, tell the hook."""
    upstream = node.grad
    parents = node.parents
    if not parents or upstream is None:  # a leaf, or a node the root does not depend on
        return
    try:
        shares = node.shares(upstream, create_graph)
    except NonFiniteError as error:  # an op of the recorded pass, inside detect_anomaly
        if not create_graph:
            raise
        raise NonFiniteError(
            f"backward of {node.op} (create_graph=True): {error}",
            stage="backward",
            op=node.op,
            value=error.value,
            node=node,
        ) from None
    for position, (parent, share) in enumerate(zip(parents, shares)):
        if share is None:  # a parent that takes no gradient (a constant Tensor)
            continue
        parent.accumulate(share)
        if check:
            _refuse_non_finite(node, position, parent, share)
    if on_node is not None:
        on_node(node, upstream, shares)


def _accumulated(earlier: Any, this_pass: Any) -> Any:
    """A leaf's gradient after a recorded pass: what it held plus this pass's (None is no
    gradient; a recorded gradient is not added to a plain zero, so that it makes no `0 + g`
    node)."""
    if earlier is None:
        return this_pass
    if this_pass is None:
        return earlier
    if is_node(this_pass) and not is_node(earlier) and not np.any(earlier):
        return this_pass
    return earlier + this_pass


def _owned(gradients: list[Any], order: list[Any]) -> list[Any]:
    """Recorded gradients, each a node of its own: one that is a node of the graph (d(x*w)/dx is
    w) or that another gradient already is (an add gate passes the same node to both inputs)
    becomes `gradient * 1.0`, so that relabelling or changing it changes nothing else."""
    taken = {id(node) for node in order}
    owned = []
    for gradient in gradients:
        if is_node(gradient):
            if id(gradient) in taken:
                gradient = gradient * 1.0
            taken.add(id(gradient))
        owned.append(gradient)
    return owned


def _refuse_non_finite(node: Any, position: int, parent: Any, share: Any) -> None:
    """The one check of a gradient the backward pass sends: the share, and the total it makes."""
    sent = numbers_of(share)
    if all_finite(sent) and all_finite(numbers_of(parent.grad)):
        return
    value = first_non_finite(sent if not all_finite(sent) else numbers_of(parent.grad))
    name = f" ({parent.label})" if parent.label else ""
    raise NonFiniteError(
        f"backward of {node.op} sent a non-finite gradient ({value}) to its input {position}{name}",
        stage="backward",
        op=node.op,
        value=value,
        position=position,
        node=node,
        parent=parent,
    )


def refuse_non_finite_forward(
    op: str,
    data: Number,
    inputs: tuple[Number, ...],
    local_grads: tuple[Number, ...] = (),
    shape: tuple[int, ...] | None = None,
) -> None:
    """The forward check of `detect_anomaly()`, for a node about to be made from `inputs` (their
    data): its value, then each local gradient it records, must be finite. Numbers are named
    in the message; an array output (`shape` given) is named by its shape."""
    if not all_finite(data):
        value = first_non_finite(data)
        if shape is None:
            text = ", ".join(f"{float(x)!r}" for x in inputs)
            message = f"{op} of ({text}) produced a non-finite value ({value!r})"
        else:
            message = (
                f"{op} produced a non-finite value ({value}) in the forward pass, output shape "
                f"{shape}"
            )
        raise NonFiniteError(message, stage="forward", op=op, value=value, inputs=inputs)
    for position, local_grad in enumerate(local_grads):
        if not all_finite(local_grad):
            value = first_non_finite(local_grad)
            raise NonFiniteError(
                f"{op} at {float(inputs[position])!r} has a non-finite local gradient "
                f"({value!r}) for its input {position}",
                stage="forward",
                op=op,
                value=value,
                position=position,
                inputs=inputs,
            )


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
    """Inside this block the first non-finite number raises `NonFiniteError` (a
    FloatingPointError) naming the op.

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
