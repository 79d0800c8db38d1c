"""Checks drawn on the graph: local gradients against central differences, the first non-finite
number, and what two backward passes and `zero_grad` do to the gradients.

Three tools for the step after the first backward pass, each a function that returns a small
object with a text (its `str`) and a `draw()` that gives `draw_graph`'s picture with the finding
marked. Every name in a text is the name the picture shows (`Picture.names`).

Local gradients, for students who write their own ops::

    x = Value(0.5, "x")
    y = Value(math.sin(x.data), op="sin", parents=(x,), local_grads=(math.sin(x.data),))  # oops
    report = check_local_grads(y * 2, functions={"sin": math.sin})
    report.ok           # False
    print(report)       # a table: node, op, input, stored, numeric, status
    report.draw()       # the wrong node red, its edge labelled "stored 0.4794 vs numeric 0.8776"

  `check_local_grads` checks each node on its own: it recomputes the node's value with one input
  nudged by +-h and compares the central difference with the local gradient the node stored. A
  node holds numbers, not the function that made it, so it is recomputed by the engine's own op,
  found through the op table (`Op.scalar`: `Value.exp`, `functional.dot`) and called on fresh
  leaves (a constant the node does not record, such as leaky_relu's slope or cross_entropy's
  target, is recovered from the node's own value where that is possible), or by `functions`, for
  an op of your own. A node whose function is unknown is reported "not checked", with the
  reason, never passed. At a kink (relu at 0, a tie of max) the central difference is the mean of
  the two one-sided slopes, so a stored gradient equal to either of them (or between them) is
  reported "not differentiable here", not wrong.

The first non-finite number::

    anomaly = draw_anomaly(build)     # build() makes the graph (and may call backward itself)
    anomaly.message                   # what detect_anomaly raised
    anomaly.draw()                    # the node, and the input it sent inf to, in red

  `detect_anomaly` stops at the first inf or nan, but a forward anomaly stops before its node
  exists, so there is nothing to draw. `draw_anomaly` runs `build()` under `detect_anomaly`; on a
  forward anomaly it calls `build()` again outside it, where the inf is stored as IEEE arithmetic
  makes it, and finds the node (so `build` must make the same graph each time: seed any
  randomness). With a graph in hand, use the two finders directly: `find_non_finite(root)` (the
  first node in topological order whose value or a local gradient is not finite) and
  `find_anomaly(root)` (that, or else the first node whose backward step sends a non-finite
  gradient, found by a backward pass under `detect_anomaly`; every grad is left as it was).
  Each returns an `Anomaly`, or None when every number is finite.

Gradient accumulation::

    view = accumulation_view(loss, parameters=model)   # two loss.backward() calls, then zero_grad
    print(view.text())    # w: grad 0.5 after pass 1, 1 after pass 2 (a leaf: ...accumulate)
    view.draw(2)          # the grads after pass 2, accumulated leaves highlighted
    view.draw_cleared()   # after model.zero_grad(): what it cleared, and what it did not touch

  It changes the graph as the calls it shows would: it leaves it as after the `zero_grad`.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import graphviz
import numpy as np

import autograd_core
from autograd_core import Value, backpropagate, detect_anomaly, no_grad, ops
from autograd_core.graph import all_finite, first_non_finite

from .graph import Parameters, Picture, Style, draw_graph, fmt, format_value, is_array

# ---- colours ------------------------------------------------------------------------------------

WRONG = "#f4a6a6"  # a node whose local gradient (or value) disagrees; the first non-finite number
RIGHT = "#d9f2d0"  # a node whose local gradients agree with central differences
KINK = "#e4d4f4"  # not differentiable at this point: the stored gradient is a one-sided slope
UNCHECKED = "#fdd9a8"  # no function to recompute the node with, or not at this point
RED_EDGE = "#d62728"  # the input edge that carries the wrong or non-finite number
DOWNSTREAM = "#fbe3e3"  # non-finite only because an input was
ACCUMULATED = "#ffcc80"  # a leaf whose grad grew across the passes (or that zero_grad left alone)
CLEARED = "#b9e4c9"  # a leaf whose grad zero_grad cleared

# The statuses of a local gradient, and of a node (the worst of its inputs').
OK = "ok"
WRONG_STATUS = "wrong"
KINK_STATUS = "not differentiable here"
NOT_CHECKED = "not checked"

# ---- recomputing a node with the engine's own op ------------------------------------------------

Forward = Callable[[Sequence[float]], float]  # a node's value from its inputs' data, in order
Functions = Mapping[str, Callable[..., float]]  # `functions`: op name -> a function of floats
EngineOp = Callable[..., Any]  # the method or function `Op.scalar` names: Value.exp, functional.dot
Recipe = Callable[[Any, EngineOp], "Forward | str"]  # (node, its engine op) -> forward, or why not

# What recomputing can raise: a domain error at x +- h (log near 0), an overflow, a student's
# function given the wrong number of inputs; NotRecoverableError and FloatingPointError (inside
# `detect_anomaly`) are ArithmeticErrors. Each becomes "not checked", never a crash.
_EVALUATION_ERRORS = (ArithmeticError, ValueError, TypeError)


class NotRecoverableError(ArithmeticError):
    """A forward evaluated where a constant the node does not record would matter."""


def _engine_op(scalar: str) -> EngineOp:
    """What `Op.scalar` names, looked up when asked: "Value.exp" is `Value.exp`, "functional.dot"
    is `functional.dot` (so a patched or newly added op is the one used)."""
    owner, name = scalar.split(".")
    return getattr(getattr(autograd_core, owner), name)


def _leaves(xs: Sequence[float]) -> list[Value]:
    return [Value(x) for x in xs]


def _on_leaves(op: EngineOp, arity: int | None) -> Forward:
    """The engine's op on fresh leaves: `op(a, b)` for a fixed number of inputs, `op([x1, ...])`
    for any number (as `functional.sum`)."""
    if arity is None:
        return lambda xs: op(_leaves(xs)).data
    return lambda xs: op(*_leaves(xs)).data


def _power_n(node: Any, power: EngineOp) -> Forward | str:
    """x**n: n is in the op's name (`ops.power_name`); a node made elsewhere may have rounded it,
    so it is used only where it gives the node's value back."""
    try:
        n = float(node.op[2:])
    except ValueError:
        return f"cannot read the exponent from {node.op!r}"

    def forward(xs: Sequence[float]) -> float:
        return power(Value(xs[0]), n).data

    try:
        reproduces = math.isclose(forward([node.parents[0].data]), node.data, rel_tol=1e-12)
    except _EVALUATION_ERRORS:
        reproduces = False
    if not reproduces:
        return (
            f"the op records its exponent rounded ({node.op}), which does not reproduce its "
            f"value {fmt(node.data)}: pass functions={{{node.op!r}: lambda x: x ** n}}"
        )
    return forward


def _below_zero_scaled(constant: str, scale_of: Callable[[float, float], float]) -> Recipe:
    """leaky_relu(x, slope) and elu(x, alpha): x for x > 0, else scaled by a constant the node
    does not record. Below 0 the node's value gives the constant back (`scale_of(x, out)`); above
    0 the constant does not matter, as long as the nudges stay above 0."""

    def recipe(node: Any, activation: EngineOp) -> Forward:
        x = node.parents[0].data
        if x < 0.0:
            scale = scale_of(x, node.data)
            return lambda xs: activation(Value(xs[0]), scale).data

        def positive_side(xs: Sequence[float]) -> float:
            if xs[0] > 0.0:
                return activation(Value(xs[0])).data  # the engine's default constant: unused
            raise NotRecoverableError(
                f"{node.op}'s {constant} is not recorded in the node, and its value at x = "
                f"{fmt(x)} does not reveal it: pass functions={{{node.op!r}: ...}} to check it"
            )

        return positive_side

    return recipe


def _dot(node: Any, dot: EngineOp) -> Forward:
    """dot(w, x, b) records its parents as w_1..w_n, x_1..x_n and, if there is one, b."""

    def forward(xs: Sequence[float]) -> float:
        n, values = len(xs) // 2, _leaves(xs)
        return dot(values[:n], values[n : 2 * n], values[2 * n] if len(xs) % 2 else None).data

    return forward


def _cross_entropy(node: Any, cross_entropy: EngineOp) -> Forward | str:
    """-log softmax(z)[t]: the target t is not recorded; it is the class whose loss at the node's
    logits is the node's value (where logits tie, the one with a negative local gradient,
    softmax - 1)."""

    def loss(xs: Sequence[float], target: int) -> float:
        return cross_entropy(_leaves(xs), target).data

    z = [p.data for p in node.parents]
    try:
        candidates = [
            t
            for t in range(len(z))
            if math.isclose(loss(z, t), node.data, rel_tol=1e-9, abs_tol=1e-12)
        ]
    except _EVALUATION_ERRORS as error:
        return f"cannot compute cross_entropy of its inputs: {type(error).__name__} {error}"
    if len(candidates) > 1:
        negative = [t for t in candidates if node.local_grads[t] < 0.0]
        candidates = negative if len(negative) == 1 else candidates
    if len(candidates) != 1:
        found = "no logit" if not candidates else f"{len(candidates)} logits"
        return (
            f"cross_entropy's target is not recorded in the node, and {found} fit its value "
            f"{fmt(node.data)}"
        )
    target = candidates[0]
    return lambda xs: loss(xs, target)


# The ops of the op table that the engine's op alone cannot recompute from a node's inputs: a
# constant the node does not record, or inputs that are not one argument each. Every other scalar
# op is recomputed by calling its `Op.scalar` on leaves, so a new op needs no entry here.
RECIPES: dict[str, Recipe] = {
    "**n": _power_n,  # every `**3`, `**0.5`
    "leaky_relu": _below_zero_scaled("slope", lambda x, out: out / x),
    "elu": _below_zero_scaled("alpha", lambda x, out: out / math.expm1(x)),
    "dot": _dot,
    "cross_entropy": _cross_entropy,
}


def _float_function(function: Callable[..., float]) -> Forward:
    """A function of `functions` as a Forward: one float per input in, a real number out."""

    def forward(xs: Sequence[float]) -> float:
        out = function(*xs)
        if isinstance(out, complex):
            raise ValueError(f"the function returned a complex number, {out!r}")
        return float(out)

    return forward


def _forward_of(node: Any, functions: Functions) -> Forward | str:
    """The node's forward (from `functions`, else the engine's op found through the op table),
    or why it has none."""
    if node.op in functions:
        return _float_function(functions[node.op])
    entry = ops.lookup(node.op)
    if entry is None or entry.scalar is None:
        return (
            f"no function for the op {node.op!r}: pass functions={{{node.op!r}: ...}} "
            "(a function of the inputs' data) to check it"
        )
    if entry.arity is not None and len(node.parents) != entry.arity:
        return f"{entry.name} takes {entry.arity} inputs, this node has {len(node.parents)}"
    op = _engine_op(entry.scalar)
    recipe = RECIPES.get(entry.name)
    return recipe(node, op) if recipe else _on_leaves(op, entry.arity)


# ---- checking local gradients -------------------------------------------------------------------


@dataclass(frozen=True)
class LocalGrad:
    """One input's local gradient d(node)/d(input): stored by the op, and from central differences.

    `numeric` is None when it could not be computed (`note` says why). `slopes` are the one-sided
    slopes (from the left, from the right) where the point is a kink.
    """

    position: int  # which input of the node
    parent: int  # the input's topological index
    name: str  # the input's name in the picture
    stored: float
    numeric: float | None
    status: str  # OK, WRONG_STATUS, KINK_STATUS or NOT_CHECKED
    note: str = ""
    slopes: tuple[float, float] | None = None


@dataclass(frozen=True)
class NodeCheck:
    """The check of one node that has inputs: its local gradients, and whether the function it
    was checked with gives its value back."""

    index: int  # topological index
    name: str
    op: str
    status: str  # the worst of its inputs', or WRONG_STATUS for a wrong value
    inputs: tuple[LocalGrad, ...] = ()
    reason: str = ""  # why it was not checked, or what is wrong with its value
    value: float = math.nan
    computed: float | None = None  # the function at the node's inputs (None: not computed)

    @property
    def ok(self) -> bool:
        return self.status != WRONG_STATUS


@dataclass(frozen=True)
class LocalGradReport:
    """What `check_local_grads` found, one `NodeCheck` per node with inputs.

    `ok` is True when nothing is wrong; nodes that could not be checked are in `not_checked`
    (and in the text), so read `complete` too before trusting a graph of your own ops.
    """

    picture: Picture
    nodes: tuple[NodeCheck, ...]
    parameters: Parameters = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def complete(self) -> bool:
        """Whether every node was checked (a kink counts as checked)."""
        return not self.not_checked

    @property
    def failures(self) -> tuple[NodeCheck, ...]:
        return tuple(n for n in self.nodes if n.status == WRONG_STATUS)

    @property
    def not_checked(self) -> tuple[NodeCheck, ...]:
        return tuple(n for n in self.nodes if n.status == NOT_CHECKED)

    def node(self, name: str) -> NodeCheck:
        """The check of the node the picture calls `name`."""
        for check in self.nodes:
            if check.name == name:
                return check
        known = ", ".join(check.name for check in self.nodes)
        raise KeyError(f"no checked node is named {name!r}; the checked nodes are {known}")

    def __str__(self) -> str:
        counts = {
            status: sum(n.status == status for n in self.nodes)
            for status in (OK, WRONG_STATUS, KINK_STATUS, NOT_CHECKED)
        }
        shown = [
            f"{count} {status}"
            for status, count in counts.items()
            if count or status == WRONG_STATUS
        ]
        plural = "" if len(self.nodes) == 1 else "s"
        lines = [f"local gradients of {len(self.nodes)} node{plural}: " + ", ".join(shown)]
        rows = [("node", "op", "input", "stored", "numeric", "status")]
        for check in self.nodes:
            if not check.inputs:
                rows.append((check.name, check.op, "", "", "", check.status))
            for grad in check.inputs:
                numeric = "" if grad.numeric is None else fmt(grad.numeric, 6)
                status = "WRONG" if grad.status == WRONG_STATUS else grad.status
                rows.append((check.name, check.op, grad.name, fmt(grad.stored, 6), numeric, status))
        widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        notes = [
            f"  {check.name} ({check.op}): {text}"
            for check in self.nodes
            for text in [
                check.reason,
                *(f"input {g.name}: {g.note}" for g in check.inputs if g.note),
            ]
            if text
        ]
        if notes:
            lines += ["notes:", *notes]
        return "\n".join(lines)

    def draw(self, **options: Any) -> graphviz.Digraph:
        """`draw_graph` of the checked graph: wrong nodes red (their wrong input edges red and
        labelled "stored ... vs numeric ..."), right ones light green, kinks lavender, nodes not
        checked orange, each with a line saying why. `options` go to `draw_graph`."""
        fills: dict[int, str] = {}
        notes: dict[int, str] = {}
        edges: dict[tuple[int, int], tuple[str, str]] = {}
        colours = {OK: RIGHT, WRONG_STATUS: WRONG, KINK_STATUS: KINK, NOT_CHECKED: UNCHECKED}
        for check in self.nodes:
            fills[check.index] = colours[check.status]
            lines = []
            if check.status == WRONG_STATUS and check.computed is not None and check.reason:
                lines.append(f"value {fmt(check.value)} but {check.op} gives {fmt(check.computed)}")
            for grad in check.inputs:
                if grad.status == WRONG_STATUS and grad.numeric is not None:
                    label = f"stored {fmt(grad.stored)} vs numeric {fmt(grad.numeric)}"
                    edges[(grad.parent, check.index)] = (RED_EDGE, label)
                    lines.append(f"wrong d/d{grad.name}: {label}")
                elif grad.status == WRONG_STATUS:
                    lines.append(f"wrong d/d{grad.name}: {grad.note}")
                elif grad.status == KINK_STATUS and grad.slopes:
                    left, right = grad.slopes
                    lines.append(
                        f"kink in {grad.name}: slopes {fmt(left)} | {fmt(right)}, "
                        f"stored {fmt(grad.stored)}"
                    )
            if check.status == NOT_CHECKED:
                why = check.reason or next((g.note for g in check.inputs if g.note), "")
                lines.append("not checked: " + why.split(": ")[0])
            if lines:
                notes[check.index] = "; ".join(lines)
        meanings = {
            WRONG_STATUS: "red: a local gradient (or value) that disagrees with central "
            "differences; a red edge is the wrong input, labelled stored vs numeric",
            OK: "green: local gradients agree with central differences",
            KINK_STATUS: "lavender: not differentiable here; the stored gradient is one of the "
            "one-sided slopes (or between them), which is allowed",
            NOT_CHECKED: "orange: not checked (no function to recompute it with, or not at this "
            "point); the note says why",
        }
        present = {check.status for check in self.nodes}
        legend = tuple((colours[s], meanings[s]) for s in meanings if s in present)
        style = Style(fills=fills, notes=notes, edges=edges, legend=legend)
        return _draw(self.picture, self.parameters, style, options)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """In a notebook a report shows as its picture."""
        return self.draw()._repr_mimebundle_(**kwargs)


def check_local_grads(
    root: Any,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    parameters: Parameters = None,
    functions: Mapping[str, Callable[..., float]] | None = None,
) -> LocalGradReport:
    """Check every node's stored local gradients against central differences of its own op.

    Unlike `autograd_core.gradcheck`, which checks the gradient of the whole function, this
    checks each node alone, so a wrong local gradient is found at the node that stored it.

    For each node with inputs and each input x: h = eps * max(1, |x|) (a step relative to x, so
    that x + h differs from x even for large x), numeric = (f(x + h) - f(x - h)) / (2h), and the
    input passes when |stored - numeric| <= atol + rtol * |numeric| plus the rounding error of
    the difference itself (a few ulps of f divided by 2h). The forward function f comes from
    `functions` (op name -> a function of the inputs' data, one float per input; it overrides
    the engine, e.g. for leaky_relu's slope at 0), else it is the engine's op that `Op.scalar`
    names, called on leaves under `no_grad` (with `RECIPES` for an op whose constant the node
    does not record, or inputs that are not one argument each). A node whose value f does not
    give back is reported wrong, as is a local gradient that is not finite while the difference
    is. When the central difference disagrees, smaller steps (h/10, h/100) are tried, and where
    the one-sided slopes differ at both h and h/10 the point is a kink: a stored gradient within
    the one-sided slopes is "not differentiable here".

    `parameters` (a Module, a mapping or a list) only names nodes, as in `draw_graph`. Raises
    TypeError for a Tensor graph (it stores vector-Jacobian products, not numbers: use
    `autograd_core.gradcheck`) or for a non-callable function, ValueError for a bad tolerance.
    """
    if getattr(root, "local_grads", None) is None or not hasattr(root, "parents"):
        raise TypeError(
            "check_local_grads checks a graph of Values (each node stores its local gradients as "
            f"numbers); got {type(root).__name__}: for a Tensor graph use autograd_core.gradcheck"
        )
    if not eps > 0.0:
        raise ValueError(f"check_local_grads needs eps > 0, got {eps!r}")
    if not (rtol >= 0.0 and atol >= 0.0):
        raise ValueError(f"check_local_grads needs rtol >= 0 and atol >= 0, got {rtol!r}, {atol!r}")
    functions = dict(functions or {})
    for name, function in functions.items():
        if not callable(function):
            raise TypeError(
                f"functions[{name!r}] must be a function, got {type(function).__name__}"
            )
    parameters = _reusable(parameters)
    picture = Picture(root, parameters)
    tolerance = _Tolerance(eps, rtol, atol)
    with no_grad():  # the engine's ops recompute the nodes on leaves: no graph to build
        checks = [
            _check_node(picture, i, functions, tolerance)
            for i, node in enumerate(picture.order)
            if node.parents
        ]
    return LocalGradReport(picture, tuple(checks), parameters)


@dataclass(frozen=True)
class _Tolerance:
    eps: float
    rtol: float
    atol: float

    def rounding(self, values: Sequence[float], step: float) -> float:
        """How far a difference quotient of these values over `step` can be off from rounding."""
        return 8.0 * sys.float_info.epsilon * max(abs(v) for v in values) / step

    def agrees(self, stored: float, numeric: float, rounding: float) -> bool:
        return abs(stored - numeric) <= self.atol + self.rtol * abs(numeric) + rounding


def _check_node(picture: Picture, i: int, functions: Functions, tol: _Tolerance) -> NodeCheck:
    node = picture.order[i]
    name, op = picture.names[i], node.op

    def not_checked(reason: str) -> NodeCheck:
        return NodeCheck(i, name, op, NOT_CHECKED, reason=reason, value=node.data)

    forward = _forward_of(node, functions)
    if isinstance(forward, str):
        return not_checked(forward)
    xs = [p.data for p in node.parents]
    try:
        computed = forward(xs)
    except NotRecoverableError as error:
        return not_checked(str(error))
    except _EVALUATION_ERRORS as error:
        return not_checked(f"its function fails at its own inputs: {type(error).__name__} {error}")
    same = computed == node.data or (math.isnan(computed) and math.isnan(node.data))
    value_ok = same or tol.agrees(node.data, computed, tol.rounding([computed], 1.0))
    reason = ""
    if not value_ok:
        reason = (
            f"its value is {fmt(node.data, 6)} but {op} of its inputs is {fmt(computed, 6)}: the "
            "forward value and the function disagree"
        )
    parents = picture.parent_indices(i)
    grads = tuple(
        _check_input(forward, xs, k, node.local_grads[k], parents[k], picture.names[parents[k]],
                     computed, tol)
        for k in range(len(xs))
    )  # fmt: skip
    statuses = {g.status for g in grads} | ({WRONG_STATUS} if not value_ok else set())
    status = next((s for s in (WRONG_STATUS, NOT_CHECKED, KINK_STATUS) if s in statuses), OK)
    return NodeCheck(i, name, op, status, grads, reason, node.data, computed)


def _check_input(
    forward: Forward,
    xs: Sequence[float],
    k: int,
    stored: float,
    parent: int,
    name: str,
    at: float,
    tol: _Tolerance,
) -> LocalGrad:
    """One input's local gradient: the central difference at h, then h/10 and h/100, then the
    one-sided slopes for a kink."""

    def f(x: float) -> float:
        shifted = list(xs)
        shifted[k] = x
        return forward(shifted)

    x = xs[k]
    h = tol.eps * max(1.0, abs(x))
    first: float | None = None  # the central difference at h, the one the report shows
    for step in (h, h / 10.0, h / 100.0):
        try:
            up, down = x + step, x - step
            f_up, f_down = f(up), f(down)
        except _EVALUATION_ERRORS as error:
            note = f"cannot evaluate the op at {name} +- {step:.3g}: {type(error).__name__} {error}"
            return LocalGrad(k, parent, name, stored, None, NOT_CHECKED, note)
        if not (math.isfinite(f_up) and math.isfinite(f_down)):
            note = f"the op is not finite at {name} +- {step:.3g}"
            return LocalGrad(k, parent, name, stored, None, NOT_CHECKED, note)
        numeric = (f_up - f_down) / (up - down)
        rounding = tol.rounding([f_up, f_down], up - down)
        if first is None:
            first = numeric
        if not math.isfinite(stored):
            note = f"the stored local gradient is {stored!r}, the difference is finite"
            return LocalGrad(k, parent, name, stored, numeric, WRONG_STATUS, note)
        if tol.agrees(stored, numeric, rounding):
            return LocalGrad(k, parent, name, stored, first, OK)
    assert first is not None
    kink = _kink(f, x, h, at, stored, tol)
    if kink is not None:
        left, right = kink
        where = "one of them" if min(abs(stored - left), abs(stored - right)) < 1e-12 else "between"
        note = (
            f"not differentiable here: slope {fmt(left)} from the left, {fmt(right)} from the "
            f"right; the stored {fmt(stored)} is {where}"
        )
        return LocalGrad(k, parent, name, stored, first, KINK_STATUS, note, kink)
    return LocalGrad(k, parent, name, stored, first, WRONG_STATUS)


def _kink(
    f: Callable[[float], float], x: float, h: float, at: float, stored: float, tol: _Tolerance
) -> tuple[float, float] | None:
    """(left slope, right slope) if x is a kink of f and `stored` lies within them, else None.

    At a smooth point the two one-sided slopes differ by about h f''(x), so their gap shrinks
    tenfold with the step; at a kink it is the jump of the slope, whatever the step.
    """
    gaps = []
    slopes: tuple[float, float] = (math.nan, math.nan)
    for step in (h, h / 10.0):
        try:
            right = (f(x + step) - at) / ((x + step) - x)
            left = (at - f(x - step)) / (x - (x - step))
        except _EVALUATION_ERRORS:
            return None
        slack = tol.atol + tol.rtol * max(abs(left), abs(right)) + 2.0 * tol.rounding([at], step)
        if not abs(right - left) > slack:
            return None
        gaps.append(abs(right - left))
        if step == h:
            slopes = (left, right)
    if gaps[1] < 0.5 * gaps[0]:
        return None
    left, right = slopes
    slack = tol.atol + tol.rtol * max(abs(left), abs(right))
    if min(left, right) - slack <= stored <= max(left, right) + slack:
        return slopes
    return None


# ---- the first non-finite number ---------------------------------------------------------------


@dataclass(frozen=True)
class Anomaly:
    """The first non-finite number of a graph, and where.

    stage "forward": node `index` holds a non-finite value (`position` None) or a non-finite
    local gradient for its input `position`. stage "backward": node `index` sent a non-finite
    gradient to its input `position` (topological index `input_index`); `grads` are the grads of
    that backward pass at the moment it stopped (what the picture shows).
    """

    message: str
    stage: Literal["forward", "backward"]
    index: int
    name: str
    value: Any  # the non-finite number (inf, -inf or nan)
    picture: Picture
    position: int | None = None
    input_index: int | None = None
    grads: Mapping[int, Any] | None = None
    parameters: Parameters = None

    @property
    def input_name(self) -> str | None:
        return None if self.input_index is None else self.picture.names[self.input_index]

    @property
    def where(self) -> str:
        """Where the number is, in the picture's names."""
        value, op = _number_text(self.value), self.picture.order[self.index].op
        if self.stage == "backward":
            return f"{self.name}'s backward step ({op}) sent {value} to its input {self.input_name}"
        if self.position is not None:
            return (
                f"{self.name} ({op}) has the local gradient {value} for its input {self.input_name}"
            )
        if not op:
            return f"the leaf {self.name} holds {value}"
        return f"{self.name} ({op}) is the first non-finite value; the ones after it follow from it"

    def __str__(self) -> str:
        return f"{self.message}\n{self.where}"

    def draw(self, **options: Any) -> graphviz.Digraph:
        """`draw_graph` of the graph with the node in red and a line saying what is not finite;
        for the backward stage also the input it sent the gradient to, and the edge between. A
        forward picture colours the nodes downstream that are non-finite only because of it."""
        value = _number_text(self.value)
        fills = {self.index: WRONG}
        notes: dict[int, str] = {}
        edges: dict[tuple[int, int], tuple[str, str]] = {}
        legend = [(WRONG, f"the first non-finite number: {self.message}")]
        if self.stage == "backward" and self.input_index is not None:
            fills[self.input_index] = WRONG
            notes[self.index] = f"backward sent {value} to {self.input_name}"
            notes[self.input_index] = f"received {value} from {self.name}"
            edges[(self.input_index, self.index)] = (RED_EDGE, f"gradient {value}")
        elif self.position is not None and self.input_index is not None:
            notes[self.index] = f"local gradient for {self.input_name} is {value}"
            edges[(self.input_index, self.index)] = (RED_EDGE, f"local {value}")
        else:
            notes[self.index] = f"first non-finite value: {value}"
        if self.stage == "forward":
            later = [
                i
                for i, node in enumerate(self.picture.order)
                if i > self.index and not all_finite(node.data)
            ]
            fills.update({i: DOWNSTREAM for i in later})
            if later:
                legend.append((DOWNSTREAM, "non-finite because an input was"))
        style = Style(grads=self.grads, fills=fills, notes=notes, edges=edges, legend=tuple(legend))
        return _draw(self.picture, self.parameters, style, options)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """In a notebook an anomaly shows as its picture."""
        return self.draw()._repr_mimebundle_(**kwargs)


def _number_text(value: Any) -> str:
    return repr(float(value)) if np.ndim(value) == 0 else format_value(value)


def find_non_finite(root: Any, parameters: Parameters = None) -> Anomaly | None:
    """The first node, in topological order, whose value or a local gradient is inf or nan.

    For a graph built outside `detect_anomaly`, where IEEE arithmetic stores the inf (1e200 *
    1e200) and everything after it goes on: the first one is the cause, the rest follow from it.
    A leaf that holds a non-finite value counts too. None when every number is finite.
    """
    parameters = _reusable(parameters)
    picture = Picture(root, parameters)
    for i, node in enumerate(picture.order):
        name = picture.names[i]
        if not all_finite(node.data):
            value = first_non_finite(node.data)
            message = f"the leaf holds a non-finite value ({value!r})"
            if node.parents:
                inputs = ", ".join(_number_text(p.data) for p in node.parents)
                message = f"{node.op} of ({inputs}) produced a non-finite value ({value!r})"
            return Anomaly(message, "forward", i, name, value, picture, parameters=parameters)
        for position, local in enumerate(getattr(node, "local_grads", ())):
            if not math.isfinite(local):
                parent = node.parents[position]
                message = (
                    f"{node.op} at {_number_text(parent.data)} has a non-finite local "
                    f"gradient ({local!r}) for its input {position}"
                )
                return Anomaly(
                    message, "forward", i, name, local, picture, position,
                    picture.index[id(parent)], parameters=parameters,
                )  # fmt: skip
    return None


_SENT = re.compile(r"non-finite gradient \((\S+)\) to its input (\d+)")


def find_anomaly(root: Any, parameters: Parameters = None) -> Anomaly | None:
    """The first non-finite number `detect_anomaly` would stop at, in a graph already built.

    First the forward numbers (`find_non_finite`); if all are finite, a backward pass under
    `detect_anomaly` whose on-node hook counts the nodes that passed their gradient on: the node
    after them in the pass's order is the one whose gradient was not finite. Every grad is put
    back as it was afterwards, whether the pass failed or not. None when nothing is non-finite.
    """
    parameters = _reusable(parameters)
    found = find_non_finite(root, parameters)
    if found is not None:
        return found
    picture = Picture(root, parameters)
    order = picture.order
    saved = [node.grad for node in order]
    passed = 0
    this_pass: dict[int, Any] = {}  # id(node) -> its grad so far in this pass, as hooks saw it

    def note(node: Any, upstream: Any) -> None:
        nonlocal passed
        passed += 1
        for parent in node.parents:
            this_pass[id(parent)] = parent.grad

    seed = np.ones_like(root.data) if is_array(root) else 1.0
    try:
        with detect_anomaly():
            backpropagate(root, seed, note)
    except FloatingPointError as error:
        grads = {i: node.grad if node.parents else this_pass.get(id(node), type(node).EMPTY_GRAD)
                 for i, node in enumerate(order)}  # fmt: skip
        sender = len(order) - 1 - passed  # the pass walks the order backwards
        return _backward_anomaly(picture, sender, str(error), grads, this_pass, parameters)
    finally:
        for node, grad in zip(order, saved):
            node.grad = grad
    return None


def _backward_anomaly(
    picture: Picture,
    sender: int,
    message: str,
    grads: dict[int, Any],
    this_pass: dict[int, Any],
    parameters: Parameters,
) -> Anomaly:
    """The node that sent a non-finite gradient, and the input that got it.

    On the scalar path the sums are redone from the stored local gradients: an intermediate
    input holds what the pass gave it, but a failed pass puts every leaf's grad back, so what a
    leaf got is this pass's sum so far (from the hook) plus this node's contributions. Like the
    engine, the first input whose total is not finite is the one named. On the batch path the
    input and the number are the ones the message names.
    """
    node = picture.order[sender]
    upstream = node.grad
    locals_ = getattr(node, "local_grads", None)
    position: int | None = None
    value: Any = math.nan
    if locals_ is not None:
        totals: dict[int, float] = {}
        for parent, local in zip(node.parents, locals_):
            key = id(parent)
            if parent.parents:
                totals[key] = parent.grad
            else:
                totals[key] = totals.get(key, this_pass.get(key, 0.0)) + local * upstream
        for k, parent in enumerate(node.parents):
            total = totals[id(parent)]
            grads[picture.index[id(parent)]] = total
            if position is None and not math.isfinite(total):
                position, value = k, total
    else:
        match = _SENT.search(message)
        if match:
            value, position = float(match.group(1)), int(match.group(2))
    input_index = None if position is None else picture.index[id(node.parents[position])]
    return Anomaly(
        message, "backward", sender, picture.names[sender], value, picture, position,
        input_index, grads, parameters,
    )  # fmt: skip


def draw_anomaly(build: Callable[[], Any], parameters: Parameters = None) -> Anomaly | None:
    """Run `build()` (it makes the graph and returns its root; it may call backward itself)
    under `detect_anomaly` and find the first non-finite number it stops at, or None.

    A forward anomaly stops before its node exists, so `build()` is called once more outside
    `detect_anomaly` to get the graph with the inf stored (so `build` must make the same graph
    every time). The `Anomaly`'s message is what `detect_anomaly` raised. Raises TypeError when
    `build` returns no node, RuntimeError when the second graph has no non-finite number.
    """
    with detect_anomaly():
        try:
            root = build()
            error: FloatingPointError | None = None
        except FloatingPointError as raised:
            error = raised
    if error is None:
        return find_anomaly(_checked_root(root), parameters)
    try:
        root = _checked_root(build())
    except FloatingPointError as again:  # raised by build itself, not by the mode
        raise RuntimeError(
            f"build() raised FloatingPointError outside detect_anomaly too: {again}"
        ) from again
    found = find_anomaly(root, parameters)
    if found is None:
        raise RuntimeError(
            f"under detect_anomaly build() raised {error}, but the graph it built again has no "
            "non-finite number: build must make the same graph every time (seed its randomness)"
        )
    return replace(found, message=str(error))


def _checked_root(root: Any) -> Any:
    if not hasattr(root, "parents") or not hasattr(root, "grad"):
        raise TypeError(
            f"build() must return the root of the graph (a Value or a Tensor), got "
            f"{type(root).__name__}"
        )
    return root


# ---- gradient accumulation ----------------------------------------------------------------------


@dataclass(frozen=True)
class AccumulationView:
    """Every node's grad before, after each of `len(passes)` backward passes, and after zero_grad.

    Tuples are indexed by topological index (`picture.order`).
    """

    picture: Picture
    before: tuple[Any, ...]
    passes: tuple[tuple[Any, ...], ...]
    cleared: tuple[Any, ...]
    zeroed_by: str  # how zero_grad was called, for the text
    parameters: Parameters = None
    leaves: tuple[int, ...] = field(default=())  # the leaves shown (not constants)

    @property
    def accumulated(self) -> tuple[int, ...]:
        """The leaves whose grad changed from pass to pass."""
        return tuple(
            i for i in self.leaves if not all(_same(p[i], self.passes[0][i]) for p in self.passes)
        )

    @property
    def was_cleared(self) -> tuple[int, ...]:
        """The nodes whose grad zero_grad set back to empty (constants left out: no picture
        shows their grads)."""
        last = self.passes[-1]
        return tuple(
            i
            for i, kind in enumerate(self.picture.kinds)
            if kind != "constant" and not _is_empty(last[i]) and _is_empty(self.cleared[i])
        )

    def text(self) -> str:
        """Each node's grad pass by pass and why, then what zero_grad cleared."""
        n = len(self.passes)
        names = self.picture.names
        lines = [f"{n} backward passes of {names[-1]}, then {self.zeroed_by}:"]
        for i, kind in enumerate(self.picture.kinds):
            if kind == "constant":
                continue
            values = [p[i] for p in self.passes]
            if i in self.leaves:
                why = "a leaf: each backward adds to its grad, so leaves accumulate"
            elif kind == "output":
                why = "the output: each pass seeds it with 1"
            else:
                why = "an intermediate: reset at the start of each pass"
            if all(_same(v, values[0]) for v in values):
                history = f"{_grad_text(values[0])} after each pass"
            else:
                history = ", ".join(
                    f"{_grad_text(v)} after pass {k + 1}" for k, v in enumerate(values)
                )
            if i in self.leaves and not _is_empty(self.before[i]):
                history = f"{_grad_text(self.before[i])} before, {history}"
            lines.append(f"  {names[i]}: grad {history} ({why})")
        cleared = [names[i] for i in self.was_cleared]
        kept = [
            f"{names[i]} keeps {_grad_text(self.cleared[i])}"
            for i in self.leaves
            if not _is_empty(self.cleared[i])
        ]
        lines.append(f"after {self.zeroed_by}:")
        lines.append("  cleared: " + (_listed(cleared) if cleared else "nothing"))
        if kept:
            lines.append(
                "  not touched (zero_grad clears only the parameters it is given): " + _listed(kept)
            )
        lines.append("  intermediates keep their last pass's grads; the next backward resets them")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _history(self, i: int) -> str:
        return ", ".join(f"pass {k + 1}: {_grad_text(p[i])}" for k, p in enumerate(self.passes))

    def draw(self, k: int | None = None, **options: Any) -> graphviz.Digraph:
        """The grads after pass `k` (1 to the number of passes; the last by default), the leaves
        that accumulated highlighted with a note of their grad after every pass."""
        n = len(self.passes)
        k = n if k is None else k
        if not 1 <= k <= n:
            raise ValueError(f"pass {k} of {n}: choose a pass from 1 to {n}")
        grads = dict(enumerate(self.passes[k - 1]))
        accumulated = self.accumulated
        style = Style(
            grads=grads,
            fills={i: ACCUMULATED for i in accumulated},
            notes={i: self._history(i) for i in accumulated},
            legend=(
                (ACCUMULATED, "a leaf: each backward() adds to its grad (the note lists it "
                 "after every pass); intermediate grads are reset each pass"),
            ) if accumulated else (),
        )  # fmt: skip
        dot = _draw(self.picture, self.parameters, style, options)
        dot.attr(label=f"grads after backward pass {k} of {n}", labelloc="t")
        return dot

    def draw_cleared(self, **options: Any) -> graphviz.Digraph:
        """The grads after zero_grad: what it cleared, and the leaves it did not touch."""
        last = self.passes[-1]
        fills: dict[int, str] = {}
        notes: dict[int, str] = {}
        for i in self.was_cleared:
            fills[i] = CLEARED
            notes[i] = f"cleared (was {_grad_text(last[i])})"
        for i in self.leaves:
            if not _is_empty(self.cleared[i]):
                fills[i] = ACCUMULATED
                notes[i] = f"kept {_grad_text(self.cleared[i])}: zero_grad did not touch it"
        rows = (
            (CLEARED, f"cleared by {self.zeroed_by}"),
            (ACCUMULATED, "a leaf zero_grad did not touch: it keeps what it accumulated"),
        )
        legend = tuple(row for row in rows if row[0] in fills.values())
        style = Style(grads=dict(enumerate(self.cleared)), fills=fills, notes=notes, legend=legend)
        dot = _draw(self.picture, self.parameters, style, options)
        dot.attr(label=f"grads after {self.zeroed_by}", labelloc="t")
        return dot


def accumulation_view(
    root: Any, parameters: Parameters = None, passes: int = 2
) -> AccumulationView:
    """Call `root.backward()` `passes` times, recording every grad after each, then zero_grad.

    zero_grad is the Module's own when `parameters` is one (`model.zero_grad()`), else each
    given parameter's `zero_grad()`, else, with no parameters, every leaf's. The graph is left as
    after that zero_grad: intermediates keep the last pass's grads, as they would in a loop.
    Raises ValueError for passes < 1.
    """
    if passes < 1:
        raise ValueError(f"accumulation_view needs at least one backward pass, got {passes}")
    parameters = _reusable(parameters)
    picture = Picture(root, parameters)
    order = picture.order
    leaves = tuple(
        i for i, node in enumerate(order) if not node.parents and picture.kinds[i] != "constant"
    )
    before = tuple(_copied(node.grad) for node in order)
    recorded = []
    for _ in range(passes):
        root.backward()
        recorded.append(tuple(_copied(node.grad) for node in order))
    if parameters is None:
        for node in order:
            if not node.parents:
                node.zero_grad()
        how = "zero_grad() on every leaf"
    elif callable(getattr(parameters, "zero_grad", None)):
        parameters.zero_grad()
        how = f"{type(parameters).__name__}.zero_grad()"
    else:
        values = parameters.values() if isinstance(parameters, Mapping) else parameters
        for p in values:
            p.zero_grad()
        how = "zero_grad() on each parameter"
    cleared = tuple(_copied(node.grad) for node in order)
    return AccumulationView(picture, before, tuple(recorded), cleared, how, parameters, leaves)


# ---- helpers -----------------------------------------------------------------------------------


def _draw(
    picture: Picture, parameters: Parameters, style: Style, options: dict[str, Any]
) -> graphviz.Digraph:
    """`draw_graph` with a finding's marks; every node drawn unless `options` say otherwise (a
    collapsed picture has no per-node colours)."""
    options.setdefault("collapse", False)
    return draw_graph(picture.root, parameters=parameters, picture=picture, style=style, **options)


def _reusable(parameters: Parameters) -> Parameters:
    """Parameters that can be read twice (an iterator becomes a list)."""
    if parameters is None or isinstance(parameters, Mapping):
        return parameters
    if callable(getattr(parameters, "named_parameters", None)):
        return parameters
    return list(parameters)


def _copied(grad: Any) -> Any:
    return grad.copy() if isinstance(grad, np.ndarray) else grad


def _is_empty(grad: Any) -> bool:
    return grad is None or not np.any(np.asarray(grad))


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def _listed(names: Sequence[str], most: int = 12) -> str:
    """Names joined by commas, the middle elided past `most` (a model has hundreds)."""
    if len(names) <= most:
        return ", ".join(names)
    return ", ".join([*names[: most - 2], "...", names[-1]]) + f" ({len(names)} in all)"


def _grad_text(grad: Any) -> str:
    return "none" if grad is None else format_value(grad)
