"""Check gradients against central finite differences, for Values and for Tensors: `gradcheck`
the first derivatives of `backward()`, `gradgradcheck` the second ones of a recorded backward
pass (`grad(..., create_graph=True)`), as PyTorch's functions of those names."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import Value
from .graph import is_node, no_grad, numbers_of
from .higher_order import grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by `gradcheck(..., raise_on_mismatch=True)` when a gradient disagrees."""


@dataclass(frozen=True)
class InputCheck:
    """One input's gradient: the engine's (analytic) and the finite difference (numeric).

    For a Tensor input, `value`, `analytic` and `numeric` are arrays and `error` is the largest
    elementwise difference."""

    index: int
    value: Any
    analytic: Any
    numeric: Any
    error: float
    ok: bool


@dataclass(frozen=True)
class GradcheckReport:
    """What `gradcheck` found, one `InputCheck` per input."""

    output: float
    inputs: tuple[InputCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.inputs)

    @property
    def max_error(self) -> float:
        return max((check.error for check in self.inputs), default=0.0)

    def __str__(self) -> str:
        rows = [f"{'input':>5} {'value':>12} {'analytic':>14} {'numeric':>14} {'error':>10}  ok"]
        for c in self.inputs:
            if np.ndim(c.analytic):  # an array input, or a Hessian row (gradgradcheck)
                shape = f"{'shape ' + str(np.shape(c.value)):>12}" if np.ndim(c.value) else ""
                cells = (
                    f"{shape or format(c.value, '>12.6g')} {_brief(c.analytic):>14} "
                    f"{_brief(c.numeric):>14}"
                )
            else:
                cells = f"{c.value:>12.6g} {c.analytic:>14.8g} {c.numeric:>14.8g}"
            rows.append(f"{c.index:>5} {cells} {c.error:>10.2e}  {'yes' if c.ok else 'NO'}")
        return "\n".join(rows)


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    raise_on_mismatch: bool = False,
) -> GradcheckReport:
    """Compare d f / d input from `backward()` with (f(x + eps) - f(x - eps)) / (2 eps).

    `f` takes one Value per input (numbers) or one Tensor per input (arrays, checked in float64
    element by element) and returns a Value, or a single-element Tensor. An input passes when
    |analytic - numeric| <= atol + rtol * |numeric| everywhere. With `raise_on_mismatch`, a
    failing input raises GradcheckError carrying the whole report.
    """
    point, make, arrays = _start("gradcheck", inputs, eps, rtol, atol)
    leaves = [make(p) for p in point]
    out = _scalar_output("gradcheck", f(*leaves))
    out.backward()

    def f_at(values: list[Any]) -> float:
        with no_grad():
            return float(np.asarray(f(*(make(v) for v in values)).data).item())

    checks = []
    for i, leaf in enumerate(leaves):
        numeric = np.zeros(np.shape(point[i]))
        for position in np.ndindex(numeric.shape):
            up, down = _shifted(point, i, position, eps), _shifted(point, i, position, -eps)
            numeric[position] = (f_at(up) - f_at(down)) / (2.0 * eps)
        analytic = np.zeros(numeric.shape) if leaf.grad is None else np.asarray(leaf.grad)
        if arrays:
            checks.append(_compared(i, point[i], analytic, numeric, rtol, atol))
        else:  # a number's check reads as numbers
            checks.append(_compared(i, point[i], float(analytic), float(numeric), rtol, atol))
    return _reported(out, checks, raise_on_mismatch, "gradients")


def gradgradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-5,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    raise_on_mismatch: bool = False,
) -> GradcheckReport:
    """Compare second derivatives from a recorded backward pass with central differences of
    first-order gradients, as PyTorch's `gradgradcheck`.

    For each element x_k of the inputs, `analytic` is the gradient of the k-th entry of
    `grad(f, inputs, create_graph=True)` (a row of the Hessian, by differentiating the recorded
    backward pass) and `numeric` is (grad f(x + eps e_k) - grad f(x - eps e_k)) / (2 eps) (a
    column, from first-order gradients only). They agree when the second derivatives are right
    and the Hessian is symmetric, as it is for a smooth f. One `InputCheck` per input: its
    `analytic` and `numeric` have the input's shape plus one axis, every input's elements
    flattened in order. Inputs and tolerances as for `gradcheck`; check in float64 (a graph
    that casts to float32 inside differs from the differences by float32's rounding).
    """
    point, make, arrays = _start("gradgradcheck", inputs, eps, rtol, atol)
    leaves = [make(p) for p in point]
    out = _scalar_output("gradgradcheck", f(*leaves))
    first = grad(out, leaves, create_graph=True)

    def gradient_at(values: list[Any]) -> np.ndarray:
        shifted = [make(v) for v in values]
        return _flat(grad(_scalar_output("gradgradcheck", f(*shifted)), shifted))

    checks = []
    for i, x in enumerate(point):
        analytic, numeric = [], []
        for position in np.ndindex(np.shape(x)):
            entry = first[i][position] if arrays else first[i]
            if entry.requires_grad:
                analytic.append(_flat(grad(entry, leaves)))
            else:  # a first derivative that depends on no input (f is linear in it): a zero row
                analytic.append(np.zeros(sum(np.size(p) for p in point)))
            up, down = _shifted(point, i, position, eps), _shifted(point, i, position, -eps)
            numeric.append((gradient_at(up) - gradient_at(down)) / (2.0 * eps))
        shape = (*np.shape(x), sum(np.size(p) for p in point))  # by every input element
        rows, columns = np.reshape(analytic, shape), np.reshape(numeric, shape)
        checks.append(_compared(i, x, rows, columns, rtol, atol))
    return _reported(out, checks, raise_on_mismatch, "second derivatives")


def _compared(i: int, x: Any, analytic: Any, numeric: Any, rtol: float, atol: float) -> InputCheck:
    """One input's check: it passes where |analytic - numeric| <= atol + rtol |numeric|."""
    difference = np.abs(np.asarray(analytic) - numeric)
    ok = bool(np.all(difference <= atol + rtol * np.abs(numeric)))
    return InputCheck(i, x, analytic, numeric, float(difference.max(initial=0.0)), ok)


def _reported(out: Any, checks: list[InputCheck], raise_on_mismatch: bool, what: str) -> Any:
    report = GradcheckReport(float(np.asarray(out.data).item()), tuple(checks))
    if raise_on_mismatch and not report.ok:
        raise GradcheckError(f"{what} disagree with finite differences:\n{report}")
    return report


def _start(
    who: str, inputs: Sequence[Any], eps: float, rtol: float, atol: float
) -> tuple[list[Any], Any, bool]:
    """The point to check at (floats, or float64 arrays), how to make a leaf of a value there,
    and whether the check is on the batch path (arrays: Tensors) or the scalar one (Values).
    A step or a tolerance that cannot mean anything is refused: eps must be a finite number
    above 0, rtol and atol finite and at least 0 (rtol=inf would pass any gradient, and nan
    none, silently)."""
    def finite(x: object) -> bool:
        return isinstance(x, (int, float)) and math.isfinite(x)

    if not (finite(eps) and eps > 0.0):
        raise ValueError(f"{who} needs a finite eps > 0, got {eps!r}")
    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        if not (finite(tolerance) and tolerance >= 0):
            raise ValueError(f"{who} needs a finite {name} >= 0, got {tolerance!r}")
    data = [numbers_of(x) for x in inputs]
    arrays = any(isinstance(d, np.ndarray) or np.ndim(d) > 0 for d in data)
    point: list[Any] = [np.array(d, dtype=np.float64) if arrays else float(d) for d in data]
    if arrays:  # (Tensor() copies: a leaf never shares the array of a point)
        return point, lambda a: Tensor(a, requires_grad=True), True
    return point, Value, False


def _scalar_output(who: str, out: Any) -> Any:
    if not is_node(out) or np.size(out.data) != 1:
        raise TypeError(f"{who}: f must return a Value or a single-element Tensor, got {out!r:.80}")
    return out


def _flat(gradients: Sequence[Any]) -> np.ndarray:
    """Gradients (numbers, arrays, or recorded nodes) as one flat array of their numbers."""
    flat = [np.ravel(np.asarray(numbers_of(g), dtype=np.float64)) for g in gradients]
    return np.concatenate(flat)


def _brief(numbers: np.ndarray) -> str:
    """A few numbers in a cell of the report, or `(array)` for more."""
    if np.size(numbers) > 3:
        return "(array)"
    return "[" + " ".join(f"{n:.4g}" for n in np.ravel(numbers)) + "]"


def _shifted(point: list[Any], i: int, position: tuple[int, ...], step: float) -> list[Any]:
    shifted = list(point)
    if position:  # one element of an array input
        shifted[i] = point[i].copy()
        shifted[i][position] += step
    else:  # a number, or a 0-d array
        shifted[i] = point[i] + step
    return shifted
