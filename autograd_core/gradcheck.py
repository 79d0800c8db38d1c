"""Check `backward()` against central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .engine import Value, no_grad


class GradcheckError(AssertionError):
    """Raised by `gradcheck(..., raise_on_mismatch=True)` when a gradient disagrees."""


@dataclass(frozen=True)
class InputCheck:
    """One input's gradients: the engine's (analytic) and the finite difference (numeric)."""

    index: int
    value: float
    analytic: float
    numeric: float
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
            rows.append(
                f"{c.index:>5} {c.value:>12.6g} {c.analytic:>14.8g} {c.numeric:>14.8g} "
                f"{c.error:>10.2e}  {'yes' if c.ok else 'NO'}"
            )
        return "\n".join(rows)


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    raise_on_mismatch: bool = False,
) -> GradcheckReport:
    """Compare d f / d input_i from `backward()` with (f(x + eps) - f(x - eps)) / (2 eps).

    `f` takes one Value per input and returns a Value. An input passes when
    |analytic - numeric| <= atol + rtol * |numeric|. With `raise_on_mismatch`, a failing input
    raises GradcheckError carrying the whole report.
    """
    if eps <= 0.0:
        raise ValueError(f"gradcheck needs eps > 0, got {eps!r}")
    point = [float(x.data) if isinstance(x, Value) else float(x) for x in inputs]
    leaves = [Value(x, f"x{i}") for i, x in enumerate(point)]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
    out.backward()

    def f_at(values: list[float]) -> float:
        with no_grad():
            return f(*(Value(v) for v in values)).data

    checks = []
    for i, leaf in enumerate(leaves):
        up, down = list(point), list(point)
        up[i] += eps
        down[i] -= eps
        numeric = (f_at(up) - f_at(down)) / (2.0 * eps)
        error = abs(leaf.grad - numeric)
        ok = error <= atol + rtol * abs(numeric)
        checks.append(InputCheck(i, point[i], leaf.grad, numeric, error, ok))
    report = GradcheckReport(out.data, tuple(checks))
    if raise_on_mismatch and not report.ok:
        raise GradcheckError(f"gradients disagree with finite differences:\n{report}")
    return report
