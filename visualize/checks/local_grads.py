"""The per-node check of local gradients, drawn on the graph: for students who write their own ops.

    x = Value(0.5, "x")
    y = Value(math.sin(x.data), op="sin", parents=(x,), local_grads=(math.sin(x.data),))  # oops
    report = check_local_grads(y * 2, functions={"sin": math.sin})
    report.ok           # False
    print(report)       # a table: node, op, input, stored, numeric, status
    report.draw()       # the wrong node red, its edge labelled "stored 0.4794 vs numeric 0.8776"

`check_local_grads` checks each node on its own: it recomputes the node's value with one input
nudged by +-h and compares the central difference with the local gradient the node stored. The
node is recomputed by its own op (`node.function`: an op of `autograd_core.ops`, or a user's
`Function`, whose forward is run on numbers), with what the node recorded for it (`node.saved`:
leaky_relu's slope, cross-entropy's target, `**n`'s exponent), or by `functions`, for a node made
by hand. A node with no function is reported "not checked", with the reason, never passed. At a
kink (relu at 0, a tie of max) the central difference is the mean of the two one-sided slopes, so
a stored gradient equal to either of them (or between them) is reported "not differentiable
here", not wrong.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import graphviz

from ..graph import draw_marked
from ..nodes import RED_EDGE, WRONG
from ..picture import Parameters, Picture, Style, fmt, reusable

RIGHT = "#d9f2d0"  # a node whose local gradients agree with central differences
KINK = "#e4d4f4"  # not differentiable at this point: the stored gradient is a one-sided slope
UNCHECKED = "#fdd9a8"  # no function to recompute the node with, or not at this point

# The statuses of a local gradient, and of a node (the worst of its inputs').
OK = "ok"
WRONG_STATUS = "wrong"
KINK_STATUS = "not differentiable here"
NOT_CHECKED = "not checked"

Forward = Callable[[Sequence[float]], float]  # a node's value from its inputs' data, in order
Functions = Mapping[str, Callable[..., float]]  # `functions`: op name -> a function of floats

# What recomputing can raise: a domain error at x +- h (log near 0), an overflow, a student's
# function given the wrong number of inputs. Each becomes "not checked", never a crash.
_EVALUATION_ERRORS = (ArithmeticError, ValueError, TypeError)


def _float_function(function: Callable[..., float]) -> Forward:
    """A function of `functions` as a Forward: one float per input in, a real number out."""

    def forward(xs: Sequence[float]) -> float:
        out = function(*xs)
        if isinstance(out, complex):
            raise ValueError(f"the function returned a complex number, {out!r}")
        return float(out)

    return forward


def _forward_of(node: Any, functions: Functions) -> Forward | str:
    """The node's forward (from `functions`, else its own op run on numbers with what the node
    recorded for it), or why it has none."""
    if node.op in functions:
        return _float_function(functions[node.op])
    function = node.function
    if function is None:
        return (
            f"no function for the op {node.op!r}: pass functions={{{node.op!r}: ...}} "
            "(a function of the inputs' data) to check it"
        )
    saved = node.saved

    def forward(xs: Sequence[float]) -> float:
        return float(function.value_at(tuple(xs), saved))

    return forward


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
        return draw_marked(self.picture, self.parameters, style, options)

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
    the node's own op, e.g. for an op made by hand), else it is the node's own op
    (`node.function`) run on numbers, with what the node recorded for it (`node.saved`: a slope,
    a target, an exponent; a `Function`'s arguments). A node whose value f does not
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
    parameters = reusable(parameters)
    picture = Picture(root, parameters)
    tolerance = _Tolerance(eps, rtol, atol)
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
