"""Check `backward()` against central finite differences, for Values and for Tensors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import Value
from .graph import no_grad
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
            if np.ndim(c.value):
                cells = f"{'shape ' + str(np.shape(c.value)):>12} {'(array)':>14} {'(array)':>14}"
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
    if eps <= 0.0:
        raise ValueError(f"gradcheck needs eps > 0, got {eps!r}")
    # Numbers are checked on the scalar path, arrays (and Tensors) on the batch path.
    data = [x.data if hasattr(x, "parents") else x for x in inputs]  # a node's data, or x
    arrays = any(isinstance(d, np.ndarray) or np.ndim(d) > 0 for d in data)
    point: list[Any] = [np.array(d, dtype=np.float64) if arrays else float(d) for d in data]
    make: Callable[[Any], Any] = (lambda a: Tensor(a, requires_grad=True)) if arrays else Value
    leaves = [make(p.copy() if arrays else p) for p in point]
    out = f(*leaves)
    if not hasattr(out, "parents") or np.size(out.data) != 1:
        raise TypeError(
            f"gradcheck: f must return a Value or a single-element Tensor, got {out!r:.80}"
        )
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
        difference = np.abs(analytic - numeric)
        ok = bool(np.all(difference <= atol + rtol * np.abs(numeric)))
        error = float(difference.max(initial=0.0))
        if arrays:
            checks.append(InputCheck(i, point[i], analytic, numeric, error, ok))
        else:
            checks.append(InputCheck(i, point[i], float(analytic), float(numeric), error, ok))
    report = GradcheckReport(float(np.asarray(out.data).item()), tuple(checks))
    if raise_on_mismatch and not report.ok:
        raise GradcheckError(f"gradients disagree with finite differences:\n{report}")
    return report


def _shifted(point: list[Any], i: int, position: tuple[int, ...], step: float) -> list[Any]:
    shifted = list(point)
    if position:  # one element of an array input
        shifted[i] = point[i].copy()
        shifted[i][position] += step
    else:  # a number, or a 0-d array
        shifted[i] = point[i] + step
    return shifted
