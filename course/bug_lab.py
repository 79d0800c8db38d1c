"""The bug lab's small engine (lesson 13): a backward pass put together from a student's parts.

A backward pass is three things: an order to visit the nodes in, a step that passes one node's
gradient to its inputs, and a start (every gradient 0, the output's 1). `backward_with` runs
that start and then the parts it is given, on the library's own `Value` graph, so that every
tool of the library (`draw_graph`, `paths_to`, `gradcheck`, `check_local_grads`) can look at what
a student's part did:

    backward_with(f, step=my_step)       # my step, the library's order
    backward_with(f, order=my_order)     # my order, the library's step

The library's parts are the defaults: the step is the node's own `chain_rule` (each input's grad
+= local gradient x upstream), the order the reverse of `topological_order` (the output first,
every node before its inputs). Unlike `Value.backward`, it starts every gradient from 0, leaves
included: one call is one pass, whatever the graph held before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autograd_core import Value, gradcheck, topological_order

Step = Callable[[Value], object]  # passes node.grad on to node.parents (returns nothing)
Order = Callable[[Value], Sequence[Value]]  # the nodes in the order the pass visits them


def library_step(node: Value) -> None:
    """The library's step: each input's grad += d(node)/d(input) * node.grad."""
    node.chain_rule(node.grad)


def library_order(root: Value) -> list[Value]:
    """The library's order: reverse topological, the output first, every node before its inputs."""
    return topological_order(root)[::-1]


def backward_with(root: Value, step: Step = library_step, order: Order = library_order) -> None:
    """One backward pass of `root` from the given parts: every grad 0, `root.grad` = 1, then
    `step(node)` for each node of `order(root)`, in that order."""
    for node in topological_order(root):
        node.grad = 0.0
    root.grad = 1.0
    for node in order(root):
        step(node)


def engine_grads(
    f: Callable[..., Value],
    point: Sequence[float],
    step: Step = library_step,
    order: Order = library_order,
    names: str = "abcdefgh",
) -> tuple[list[float], list[float]]:
    """(the engine's gradients, central differences) of `f` at `point`, one per input.

    The engine's come from `backward_with` on `f(*Values)` (the inputs named by the letters of
    `names`); the differences from `autograd_core.gradcheck` (its `numeric`),
    (f(x + h) - f(x - h)) / 2h with h = 1e-6.
    """
    inputs = [Value(x, name) for x, name in zip(point, names)]
    backward_with(f(*inputs), step, order)
    numeric = [float(check.numeric) for check in gradcheck(f, list(point)).inputs]
    return [float(x.grad) for x in inputs], numeric
