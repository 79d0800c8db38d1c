"""The backward pass as straight-line code: the program a lecture would write for one graph.

Lecture notes write a backward pass by hand, one line per local gradient, each input's gradient
growing by the upstream gradient times its local gradient:

    d_q += d_f * z        # f = q * z: d f/d q = z
    d_x += d_q            # q = x + y: d q/d x = 1

`backward_code(trace)` writes exactly that program for a recorded backward pass
(`visualize.trace.trace_backward`), in the order the engine's walk ran it, as Python that runs on
its own: the forward values it needs as exact literals, every gradient starting at 0, the seed,
the lines of each step, and `grads`, each node's name (as the pictures name it) mapped to its
gradient. Running it gives backward()'s gradients exactly, not approximately: it is the same
arithmetic, in the same order.

Why it can promise that: every line is checked as it is written. The writer runs the program
alongside (in a namespace of its own) and asks the node itself for the share its op computes
from the same upstream gradient (`node.shares`, the walk's own step). A line written in symbols
(`d_x += d_t * (1 - t * t)`, mirroring the op's `local` in autograd_core/ops) is kept only when
it gives those numbers; otherwise the line multiplies by the local gradient the node stored,
written as a literal with what it is in a comment (softplus's `sigmoid(x)`), and where even that
does not reproduce the op (a batch op's vector-Jacobian product that is no single expression,
such as indexing's scatter), the share itself is the literal. So a symbol is never a guess.

On the batch path (a Tensor graph with a single-element root) the program is NumPy code: the
forward arrays as literals, and vector-Jacobian products (`d_x += d_y @ W.T`,
`d_W += x.T @ d_y`, relu's `d_x += d_y * (x > 0)`, sums broadcast back). The only freedom it
takes is the sign of a zero (a gradient starts as zeros that each share is added to, where the
engine takes the first share as it is), which == does not see.

`step_code(trace)` is the same program cut by step, for the step-through page to show beside
each step.
"""

from __future__ import annotations

import keyword
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from autograd_core import Node
from autograd_core.ops import binary, elementwise, reduce, shape

from .picture import Picture, holds_array

SMALL = 16  # arrays of at most this many elements are written on one line, as nested lists
WIDTH = 96  # the longest line a forward array's literal is wrapped to
RESERVED = {"np", "math", "grads"}  # names the program itself uses


# ---- what the writer reads of a trace (a `visualize.trace.BackwardTrace`) ------------------
# (described here rather than imported, so that trace.py can import this module)


class RecordedContribution(Protocol):
    """What one input received in a step: its position among the node's inputs and its
    topological index (`trace.Contribution`)."""

    @property
    def position(self) -> int: ...

    @property
    def parent(self) -> int: ...


class RecordedStep(Protocol):
    """One step of the pass (`trace.Step`): the seed (number 0) or one node's."""

    @property
    def number(self) -> int: ...

    @property
    def node(self) -> int: ...

    @property
    def upstream(self) -> Any: ...  # the seed's number or array (the other steps' are unread)

    @property
    def contributions(self) -> Sequence[RecordedContribution]: ...


class RecordedPass(Protocol):
    """A recorded backward pass: its picture (nodes, names, kinds), its root and its steps."""

    @property
    def picture(self) -> Picture: ...

    @property
    def root(self) -> Node: ...

    @property
    def root_name(self) -> str: ...

    @property
    def steps(self) -> Sequence[RecordedStep]: ...


# ---- what the program is made of ------------------------------------------------------------


@dataclass
class _Program:
    """The program in its parts: the header comment and imports, the forward values, the
    gradients' starting values, one block per step (its comment, its lines), and `grads`."""

    header: list[str]
    forward: list[str]
    start: list[str]
    steps: list[tuple[str, list[str]]]
    ending: list[str]

    def text(self) -> str:
        blocks = [self.header, self.forward, self.start]
        blocks += [[title, *lines] for title, lines in self.steps]
        blocks.append(self.ending)
        return "\n\n".join("\n".join(block) for block in blocks if block) + "\n"


def backward_code(trace: RecordedPass) -> str:
    """The backward pass of `trace` as a self-contained Python program (see the module
    docstring): run it with `exec(code, {})` and its `grads` maps each node's name (as
    `trace.picture.names` gives it; constants, which keep no gradient, left out) to exactly the
    gradient this backward pass gave it. (A leaf that held a gradient before the pass holds that
    plus this pass's afterwards: the program computes this pass's.)"""
    return _write(trace).text()


def step_code(trace: RecordedPass) -> list[list[str]]:
    """For each step of `trace`, in order, the lines of the program that step runs: the seed's
    `d_out = 1.0`, then each node's `+=` lines (none for a node whose inputs are all
    constants). Each is one line of `backward_code(trace)`; there each step's lines follow a
    comment naming the step's node and op."""
    return [lines for _, lines in _write(trace).steps]


# ---- names: a picture's names as Python identifiers ----------------------------------------


def _identifier(name: str, prefix: str = "") -> str:
    """A readable identifier for a picture's name: `L0.n3.w1` is `L0_n3_w1`, `df/dx` is
    `df_dx`, with `prefix` `d_df_dx` (not yet made unique: `_Names` does that)."""
    text = prefix + (re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or "v")
    if text[0].isdigit():
        text = "v" + text
    return text + "_" if keyword.iskeyword(text) else text


class _Names:
    """Identifiers handed out once each, so that no two variables of the program collide (a
    node labelled `d_x` next to a node `x`, or `a.b` next to `a_b`)."""

    def __init__(self) -> None:
        self.taken = set(RESERVED)

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


def _comment(text: str) -> str:
    """Text on one comment line (a label may hold a newline)."""
    return " ".join(str(text).split())


# ---- literals: numbers and arrays written exactly ------------------------------------------


def _number(value: float, module: str) -> str:
    """A float exactly (its repr), with inf and nan from `module` (`math` or `np`)."""
    if value != value:
        return f"{module}.nan"
    if value in (float("inf"), float("-inf")):
        return f"{'-' if value < 0 else ''}{module}.inf"
    return repr(float(value))


def _short(value: float) -> str:
    """A param as a formula shows it: `3` for 3.0 (the same number in float arithmetic), else
    the float's repr."""
    if value == int(value) and abs(value) < 2**53 and str(value) != "-0.0":
        return str(int(value))
    return repr(float(value))


def _element(value: Any) -> str:
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    return _number(float(value), "np")


def _dtype(array: np.ndarray) -> str:
    """The dtype argument of a literal, when it is not the one NumPy reads its numbers as."""
    name = array.dtype.name
    return "" if name in ("float64", "bool", np.array([0]).dtype.name) else f", dtype=np.{name}"


def _nested(values: Any) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    return _element(values)


def _array(array: np.ndarray, indent: str | None = None) -> str:
    """An array as an exact literal: small ones as nested lists on one line; larger ones flat
    and reshaped, wrapped to lines of `WIDTH` after `indent` when it is given."""
    dtype = _dtype(array)
    if array.ndim == 0:
        return f"np.array({_element(array.item())}{dtype})"
    if array.size <= SMALL and array.ndim <= 2:
        one_line = f"np.array({_nested(array.tolist())}{dtype})"
        if indent is None or len(indent) + len(one_line) <= WIDTH:
            return one_line
    if indent is not None and array.ndim == 2 and array.size:
        rows = [_nested(row) for row in array.tolist()]
        if all(len(indent) + 4 + len(row) + 1 <= WIDTH for row in rows):
            body = "\n".join(f"{indent}    {row}," for row in rows)
            return f"np.array([\n{body}\n{indent}]{dtype})"
    elements = [_element(v) for v in array.ravel().tolist()]
    reshape = "" if array.ndim == 1 else ".reshape(" + ", ".join(map(str, array.shape)) + ")"
    one_line = f"np.array([{', '.join(elements)}]{dtype}){reshape}"
    if indent is None or len(one_line) + len(indent) <= WIDTH:
        return one_line
    rows, row = [], ""
    for element in elements:
        if row and len(indent) + 4 + len(row) + len(element) + 2 > WIDTH:
            rows.append(row.rstrip())
            row = ""
        row += element + ", "
    rows.append(row.rstrip())
    body = "\n".join(f"{indent}    {r}" for r in rows)
    return f"np.array([\n{body}\n{indent}]{dtype}){reshape}"


def _index(index: Any) -> str | None:
    """An index NumPy takes (ints, slices, integer arrays, tuples of them) as source text, or
    None for one this writer does not know how to write."""
    if isinstance(index, tuple):
        parts = [_index(part) for part in index]
        if any(p is None for p in parts):
            return None
        return ", ".join(p for p in parts if p is not None) + ("," if len(parts) == 1 else "")
    if isinstance(index, (bool, np.bool_)):
        return None
    if isinstance(index, (int, np.integer)):
        return str(int(index))
    if index is None:
        return "None"
    if index is Ellipsis:
        return "..."
    if isinstance(index, slice):
        ends = ["" if v is None else _index(v) for v in (index.start, index.stop, index.step)]
        if any(e is None for e in ends):
            return None
        text = f"{ends[0]}:{ends[1]}"
        return text + (f":{ends[2]}" if ends[2] else "")
    if isinstance(index, (list, np.ndarray)):
        array = np.asarray(index)
        return _array(array) if array.dtype.kind in "iub" else None
    return None


def _same(a: Any, b: Any) -> bool:
    """Whether two shares are the same numbers, of one shape and dtype (nan is nan; the sign of
    a zero is not asked: every gradient starts from a zero it is added to)."""
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    with np.errstate(all="ignore"):
        return bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))


# ---- the rules: an op's share of the gradient as an expression -----------------------------


class _Site:
    """One node's step as a rule writes it: `g` is the node's gradient (the upstream one),
    `x(k)` its input k's forward value and `out` its own, as expressions of the program; each
    forward value a rule reads is noted (`refs`), so that the program defines the ones its lines
    use."""

    def __init__(self, writer: _Writer, i: int) -> None:
        self.writer = writer
        self.i = i
        self.node: Any = writer.picture.order[i]
        self.inputs = writer.picture.parent_indices(i)
        self.g: str = writer.grad_names[i]
        self.refs: list[tuple[Any, ...]] = []

    def x(self, k: int) -> str:
        return self.writer.value_of(self.inputs[k], self.refs)

    @property
    def out(self) -> str:
        return self.writer.value_of(self.i, self.refs)

    def shape(self, k: int) -> tuple[int, ...]:
        return tuple(np.shape(self.writer.picture.order[self.inputs[k]].data))

    @property
    def out_shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.node.data))

    @property
    def saved(self) -> Any:
        return self.node.saved

    def array(self, what: str, value: np.ndarray, comment: str) -> str:
        """A forward array the op saved (mse's target, the softmax cross-entropy kept), as a
        variable of the program."""
        return self.writer.extra_of(self.i, what, value, comment, self.refs)

    def data(self, k: int) -> Any:
        return self.writer.picture.order[self.inputs[k]].data

    def dtype(self, k: int) -> str:
        return _dtype(np.asarray(self.data(k)))


Rule = Callable[[_Site, int], "str | None"]  # (site, input k) -> input k's share, or None


def _shape_text(shape_: tuple[int, ...]) -> str:
    return ", ".join(map(str, shape_)) if shape_ else "()"


def _axes(axes: tuple[int, ...]) -> str:
    return str(axes[0]) if len(axes) == 1 else repr(axes)


def _unbroadcast(text: str, from_shape: tuple[int, ...], to_shape: tuple[int, ...]) -> str:
    """A share of the output's shape summed back to an input's, as the engine's `unbroadcast`
    sums it (leading axes, then axes the input had as 1)."""
    if from_shape == to_shape:
        return text
    operand = text if text.isidentifier() else f"({text})"
    extra = len(from_shape) - len(to_shape)
    if from_shape[extra:] == to_shape:
        return f"{operand}.sum(axis={_axes(tuple(range(extra)))})"
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(to_shape) if n == 1 and from_shape[extra + i] != 1
    )
    summed = f"{operand}.sum(axis={_axes(axes)}, keepdims=True)"
    kept = tuple(1 if a in axes else n for a, n in enumerate(from_shape))
    return summed if kept == to_shape else f"{summed}.reshape({_shape_text(to_shape)})"


def _reduced(s: _Site, axis: Any, keepdims: bool) -> str:
    """The upstream gradient of a reduction with its reduced axes put back as 1s."""
    if keepdims or axis is None:
        return s.g
    ndim = len(s.shape(0))
    reduced = {a % ndim for a in axis} if isinstance(axis, tuple) else {axis % ndim}
    kept = tuple(1 if a in reduced else n for a, n in enumerate(s.shape(0)))
    return f"{s.g}.reshape({_shape_text(kept)})"


def _power_n(s: _Site, k: int) -> str:
    (n,) = s.saved
    if n == 0.0:
        return f"{s.g} * 0.0"
    if n == 1.0:
        return s.g
    if n == 2.0:
        return f"{s.g} * (2 * {s.x(0)})"
    return f"{s.g} * ({_short(n)} * {s.x(0)}**{_short(n - 1.0)})"


def _dot(s: _Site, k: int) -> str:
    n = len(s.inputs) // 2
    if k >= 2 * n:  # the bias
        return s.g
    return f"{s.g} * {s.x(k + n if k < n else k - n)}"


def _both(text: Callable[[_Site, int], str]) -> Rule:
    """A rule of a binary op on the batch path: its share, summed back to the input's shape."""

    def rule(s: _Site, k: int) -> str:
        return _unbroadcast(text(s, k), s.out_shape, s.shape(k))

    return rule


_COMMON: dict[Any, Rule] = {
    elementwise.Exp: lambda s, k: f"{s.g} * {s.out}",
    elementwise.Log: lambda s, k: f"{s.g} * (1 / {s.x(0)})",
    elementwise.Reciprocal: lambda s, k: f"{s.g} * (-{s.out} * {s.out})",
    elementwise.PowerN: _power_n,
    elementwise.Sqrt: lambda s, k: f"{s.g} * (0.5 / {s.out})",
    elementwise.ReLU: lambda s, k: f"{s.g} * ({s.x(0)} > 0)",
    elementwise.Sigmoid: lambda s, k: f"{s.g} * ({s.out} * (1 - {s.out}))",
    elementwise.Tanh: lambda s, k: f"{s.g} * (1 - {s.out} * {s.out})",
}

_SCALAR_RULES: dict[Any, Rule] = {
    **_COMMON,
    binary.Add: lambda s, k: s.g,
    binary.Mul: lambda s, k: f"{s.g} * {s.x(1 - k)}",
    binary.Max: lambda s, k: (
        f"{s.g} * ({s.x(0)} >= {s.x(1)})" if k == 0 else f"{s.g} * ({s.x(1)} > {s.x(0)})"
    ),
    binary.Power: lambda s, k: (
        f"{s.g} * ({s.x(1)} * {s.x(0)}**({s.x(1)} - 1.0))"
        if k == 0
        else f"{s.g} * ({s.out} * math.log({s.x(0)}))"
    ),
    elementwise.Abs: lambda s, k: f"{s.g} * (1.0 if {s.x(0)} > 0 else -1.0)",
    elementwise.LeakyReLU: lambda s, k: f"{s.g} * (1.0 if {s.x(0)} > 0 else {_short(s.saved[0])})",
    elementwise.ELU: lambda s, k: (
        f"{s.g} * (1.0 if {s.x(0)} > 0 else {s.out} + {_short(s.saved[0])})"
    ),
    reduce.Sum: lambda s, k: s.g,
    reduce.Dot: _dot,
}


def _matmul(s: _Site, k: int) -> str | None:
    if len(s.shape(0)) != 2 or len(s.shape(1)) != 2:
        return None  # (1-D and stacked operands: the share is written as the library's numbers)
    return f"{s.g} @ {s.x(1)}.T" if k == 0 else f"{s.x(0)}.T @ {s.g}"


def _linear(s: _Site, k: int) -> str:
    x_shape, (nin, _) = s.shape(0), s.shape(1)
    rows = int(np.prod(x_shape[:-1], dtype=np.int64))
    if k == 0:
        return f"{s.g} @ {s.x(1)}.T"
    g = s.g if len(x_shape) == 2 else f"{s.g}.reshape({rows}, -1)"
    if k == 1:
        x = s.x(0) if len(x_shape) == 2 else f"{s.x(0)}.reshape(-1, {nin})"
        return f"{x}.T @ {g}"
    return f"{g}.sum(axis=0)"


def _extreme(pick: str) -> Rule:
    def rule(s: _Site, k: int) -> str:
        _, axis, keepdims = s.saved
        where = (
            f"{s.x(0)}.{pick}()" if axis is None else f"{s.x(0)}.{pick}(axis={axis}, keepdims=True)"
        )
        return f"{_reduced(s, axis, keepdims)} * ({s.x(0)} == {where})"

    return rule


def _mse(s: _Site, k: int) -> str:
    target = s.array("target", np.asarray(s.saved[0]), "the target of mse")
    n = int(np.prod(s.shape(0), dtype=np.int64))
    scale = f"(2 / {n})" if 2.0 * (1.0 / n) == 2.0 / n else f"(2 * (1 / {n}))"
    return f"{s.g} * {scale} * ({s.x(0)} - {target})"


def _cross_entropy(s: _Site, k: int) -> str:
    labels, probs = s.saved
    m, classes = s.shape(0)
    p = s.array("probs", np.asarray(probs), "softmax of the logits, kept by cross_entropy")
    y = s.array("labels", np.asarray(labels), "the labels of cross_entropy")
    return f"({p} - np.eye({classes}{s.dtype(0)})[{y}]) * ({s.g} * (1 / {m}))"


def _clip(s: _Site, k: int) -> str | None:
    low, high = s.saved
    tests = [f"({s.x(0)} >= {_short(low)})"] if low is not None else []
    tests += [f"({s.x(0)} <= {_short(high)})"] if high is not None else []
    return f"{s.g} * ({' & '.join(tests)})" if tests else s.g


def _concatenate(s: _Site, k: int) -> str:
    axis, bounds = s.saved
    start, stop = bounds[k]
    return f"{s.g}[{':, ' * axis}{int(start)}:{int(stop)}]"


def _transpose(s: _Site, k: int) -> str:
    (order,) = s.saved
    if len(order) == 2 and tuple(order) == (1, 0):
        return f"{s.g}.T"
    return f"{s.g}.transpose({', '.join(map(str, order))})"


def _scatter_into(s: _Site, k: int) -> str | None:
    index = _index(s.saved[1])
    return None if index is None else f"{s.g}[{index}]"


_BATCH_RULES: dict[Any, Rule] = {
    **_COMMON,
    binary.Add: _both(lambda s, k: s.g),
    binary.Mul: _both(lambda s, k: f"{s.g} * {s.x(1 - k)}"),
    binary.Max: _both(
        lambda s, k: (
            f"{s.g} * ({s.x(0)} >= {s.x(1)})" if k == 0 else f"{s.g} * ({s.x(1)} > {s.x(0)})"
        )
    ),
    elementwise.Abs: lambda s, k: f"{s.g} * np.sign({s.x(0)})",
    elementwise.LeakyReLU: lambda s, k: (
        f"{s.g} * np.where({s.x(0)} > 0, 1.0, {_short(s.saved[0])})"
    ),
    elementwise.ELU: lambda s, k: (
        f"{s.g} * np.where({s.x(0)} > 0, 1.0, {s.out} + {_short(s.saved[0])})"
    ),
    elementwise.Clip: _clip,
    reduce.SumOver: lambda s, k: (
        f"np.broadcast_to({_reduced(s, *s.saved)}, {s.shape(0)!r})" if s.shape(0) else s.g
    ),
    reduce.MaxOver: _extreme("max"),
    reduce.MinOver: _extreme("min"),
    reduce.MatMul: _matmul,
    reduce.Linear: _linear,
    reduce.MSE: _mse,
    reduce.LogSoftmax: lambda s, k: (
        f"{s.g} - np.exp({s.out}) * {s.g}.sum(axis={s.saved[0]}, keepdims=True)"
    ),
    reduce.CrossEntropyOver: _cross_entropy,
    shape.Concatenate: _concatenate,
    shape.Stack: lambda s, k: f"{s.g}[{':, ' * s.saved[0]}{k}]",
    shape.Reshape: lambda s, k: f"{s.g}.reshape({_shape_text(s.shape(0))})",
    shape.Astype: lambda s, k: f"{s.g}.astype(np.{np.asarray(s.data(0)).dtype.name})",
    shape.Transpose: _transpose,
    shape.BroadcastTo: lambda s, k: _unbroadcast(s.g, s.out_shape, s.shape(0)),
    shape.ScatterInto: _scatter_into,
}


# ---- the two paths: how each writes its numbers ---------------------------------------------


@dataclass(frozen=True)
class _Path:
    """What differs between the scalar path (Python floats) and the batch path (NumPy arrays):
    the rules, how a number or an array is written, where a gradient starts, and where a node
    keeps its local gradient. Chosen once per trace (`_path_of`)."""

    rules: dict[Any, Rule]
    module: str  # where nan and inf come from in a literal
    header: tuple[str, ...]
    imports: tuple[str, ...] = ()

    def literal(self, value: Any, indent: str | None = None) -> str:
        if self.module == "math":
            return _number(float(value), "math")
        return _array(np.asarray(value), indent)

    def copy(self, data: Any) -> Any:
        """A forward value as the program holds it (an array of its own, C-ordered, as its
        literal makes it)."""
        return data if self.module == "math" else np.array(data, copy=True, order="C")

    def zeros(self, data: Any) -> str:
        if self.module == "math":
            return "0.0"
        array = np.asarray(data)
        return f"np.zeros({array.shape!r}{_dtype(array)})"

    def stored_local(self, node: Any, k: int) -> Any:
        """The local gradient the node stored for input k (a Value's number, an elementwise
        Tensor's array), None where it stores none (a batch op's vjp)."""
        if self.module == "math":
            return node.local_grads[k]
        local = node.local
        return None if local is None or k > 0 else local


_SCALAR = _Path(
    _SCALAR_RULES,
    "math",
    (
        "# The backward pass of {root} as straight-line Python: one line per local",
        "# gradient, in the order backward() ran them. d_v is d{root}/dv.",
        "#     d_x += d_q * y    x's gradient grows by q's (upstream) times dq/dx (local)",
        "# A number written out is the local gradient the node stored, exactly, with",
        "# what it is in a comment. Running this leaves `grads`: each node's name ->",
        "# its gradient, exactly as backward() leaves them.",
    ),
)
_BATCH = _Path(
    _BATCH_RULES,
    "np",
    (
        "# The backward pass of {root} as straight-line NumPy: one line per input of each",
        "# node, in the order backward() ran them. d_v is d{root}/dv, of v's shape.",
        "#     d_x += d_y @ W.T    x's gradient grows by y's (upstream) through y = x @ W",
        "# An array written out is the library's own numbers, exactly, with what it is",
        "# in a comment. Running this leaves `grads`: each node's name -> its gradient,",
        "# as backward() leaves them (None where a tensor needs none).",
    ),
    ("import numpy as np",),
)


def _path_of(trace: RecordedPass) -> _Path:
    """The one place the path is chosen: by what the root holds."""
    return _BATCH if holds_array(trace.root) else _SCALAR


_MISSING = object()


class _Writer:
    """Writes the program of one trace, running it as it goes (`env`), so that every line is
    checked against the share the node itself computes from the same upstream gradient."""

    def __init__(self, trace: RecordedPass) -> None:
        self.trace = trace
        self.picture = picture = trace.picture
        self.path = _path_of(trace)
        self.names = _Names()
        self.grad_names = {
            i: self.names.fresh(_identifier(name, "d_"))
            for i, name in enumerate(picture.names)
            if picture.kinds[i] != "constant"
        }
        self.value_names: dict[int, str] = {}
        self.extras: dict[tuple[int, str], tuple[str, np.ndarray, str]] = {}
        self.used: set[tuple[Any, ...]] = set()
        self.receiving: set[int] = set()  # the nodes the pass gives a gradient (not the root)
        self.env: dict[str, Any] = {"np": np, "math": math}

    # ---- the forward values the lines read ----

    def value_of(self, j: int, refs: list[tuple[Any, ...]]) -> str:
        """Node j's forward value as an expression: a constant number in place, anything else
        by its variable (defined in the program if a line that reads it is kept)."""
        node = self.picture.order[j]
        constant = self.picture.kinds[j] == "constant"
        if constant and np.ndim(node.data) == 0:
            text = _number(float(node.data), self.path.module)
            return f"({text})" if text.startswith("-") else text
        if j not in self.value_names:
            base = "c" if constant else _identifier(self.picture.names[j])
            self.value_names[j] = name = self.names.fresh(base)
            self.env[name] = self.path.copy(node.data)
        refs.append(("node", j))
        return self.value_names[j]

    def extra_of(
        self, i: int, what: str, value: np.ndarray, comment: str, refs: list[tuple[Any, ...]]
    ) -> str:
        key = (i, what)
        if key not in self.extras:
            name = self.names.fresh(what)
            self.extras[key] = (name, value, f"{comment} ({self.picture.names[i]})")
            self.env[name] = np.array(value, copy=True, order="C")
        refs.append(("extra", key))
        return self.extras[key][0]

    # ---- the lines ----

    def evaluate(self, text: str) -> Any:
        try:
            with np.errstate(all="ignore"):
                return eval(text, self.env)  # (source this writer wrote itself)
        except Exception:  # (a symbol that fails here, log(0), is written as its number)
            return _MISSING

    def step(self, number: int) -> tuple[str, list[str]]:
        """The comment and the lines of one step, run in `env`."""
        step = self.trace.steps[number]
        picture, i = self.picture, step.node
        root = _comment(self.trace.root_name)
        if number == 0:
            seed = self.path.literal(step.upstream)
            self.env[self.grad_names[i]] = self.evaluate(seed)
            return f"# step 1: the seed, d{root}/d{root} = 1", [f"{self.grad_names[i]} = {seed}"]
        node = picture.order[i]
        shares = node.shares(self.env[self.grad_names[i]])
        lines = []
        for c in step.contributions:
            if picture.kinds[c.parent] == "constant":
                continue  # a constant keeps no gradient
            text, value, comment = self.share(i, c.position, shares[c.position])
            target = self.grad_names[c.parent]
            self.env[target] = operator.iadd(self.env[target], value)
            lines.append(f"{target} += {text}" + (f"  # {comment}" if comment else ""))
        return self.title(step.number, i, bool(lines)), lines

    def title(self, number: int, i: int, passes: bool) -> str:
        picture, node = self.picture, self.picture.order[i]
        inputs = [picture.names[p] for p in picture.parent_indices(i)]
        function = node.function
        if function is not None:
            formula = function.formula_text(inputs, node.op)
        else:
            formula = f"{node.op}({', '.join(inputs)})"
        text = f"# step {number + 1}: {picture.names[i]} = {formula}   (op {node.op})"
        if not passes:
            text += ", its inputs are constants: no gradient to pass on"
        return _comment(text)

    def share(self, i: int, k: int, share: Any) -> tuple[str, Any, str]:
        """Input k's share of node i's gradient as source text, its value, and a comment:
        the op's rule where it gives the node's numbers, else the stored local gradient as a
        literal, else the share itself as one."""
        site = _Site(self, i)
        rule = self.path.rules.get(site.node.function)
        if rule is not None:
            try:
                text = rule(site, k)
            except Exception:  # (a saved record of a shape no rule expects)
                text = None
            if text is not None:
                value = self.evaluate(text)
                if value is not _MISSING and _same(value, share):
                    self.used.update(site.refs)
                    return text, value, ""
        local = self.path.stored_local(site.node, k)
        if local is not None:
            text = f"{site.g} * {self.path.literal(local)}"
            value = self.evaluate(text)
            if value is not _MISSING and _same(value, share):
                return text, value, self.local_text(i, k)
        text = self.path.literal(share)
        return text, self.evaluate(text), self.vjp_text(i, k)

    def local_text(self, i: int, k: int) -> str:
        picture, node = self.picture, self.picture.order[i]
        name, inputs = picture.names[i], [picture.names[p] for p in picture.parent_indices(i)]
        function = node.function
        texts = function.local_grad_texts(inputs, name, node.op) if function else []
        if k < len(texts) and texts[k]:
            return _comment(f"d{name}/d{inputs[k]} = {texts[k]}")
        how = "given by hand" if function is None else f"from backward of {function.name}"
        return _comment(f"d{name}/d{inputs[k]}, {how}")

    def vjp_text(self, i: int, k: int) -> str:
        picture, node = self.picture, self.picture.order[i]
        name, inputs = picture.names[i], [picture.names[p] for p in picture.parent_indices(i)]
        function = node.function
        root = self.trace.root_name
        texts = function.vjp_text_list(inputs, name, root, node.op) if function else []
        what = texts[k] if k < len(texts) else f"d{root}/d{inputs[k]} from {node.op}"
        return _comment(f"{what} (the library's numbers)")

    # ---- the whole program ----

    def program(self) -> _Program:
        picture = self.picture
        self.receiving = {
            c.parent
            for step in self.trace.steps
            for c in step.contributions
            if picture.kinds[c.parent] != "constant"
        }
        for j in self.receiving:
            self.env[self.grad_names[j]] = self.evaluate(self.path.zeros(picture.order[j].data))
        steps = [self.step(n) for n in range(len(self.trace.steps))]
        root = _comment(self.trace.root_name)
        header = [line.format(root=root) for line in self.path.header]
        code = "\n".join(line for _, lines in steps for line in lines)
        imports = list(self.path.imports) + (["import math"] if "math." in code else [])
        if imports:
            header += ["", *imports]
        forward = []
        for j in sorted(j for kind, j in self.used if kind == "node"):
            literal = self.path.literal(picture.order[j].data, indent="")
            forward.append(f"{self.value_names[j]} = {literal}")
        for key, (name, array, comment) in self.extras.items():
            if ("extra", key) in self.used:
                forward += [f"# {_comment(comment)}", f"{name} = {_array(array, '')}"]
        if forward:
            forward.insert(0, "# forward values: the numbers the local gradients are made of")
        receiving = self.receiving
        start = [
            f"{self.grad_names[j]} = {self.path.zeros(picture.order[j].data)}"
            for j in sorted(receiving)
        ]
        if start:
            start.insert(0, "# every gradient starts at 0; the output's is the seed")
        ending = ["# what backward() leaves in .grad, by each node's name in the pictures"]
        ending.append("grads = {")
        last = len(picture) - 1
        for j, name in enumerate(picture.names):
            if picture.kinds[j] == "constant":
                continue
            if j in receiving or j == last:
                ending.append(f"    {name!r}: {self.grad_names[j]},")
            else:
                ending.append(f"    {name!r}: None,  # it needs no gradient")
        ending.append("}")
        return _Program(header, forward, start, steps, ending)


def _write(trace: RecordedPass) -> _Program:
    return _Writer(trace).program()
