"""The numbers the ops compute with: a float on the scalar path, an ndarray on the batch path.

An op's `value` only ever sees numbers, so it is written with the functions here, each of which
works on a float and on an array alike (`exp(x)` is `math.exp` for a float, `np.exp` for an
array). The scalar path keeps Python's `math` semantics, errors included (`log(-1)` raises
`ValueError` naming the op and the value), and the batch path NumPy's (`log(-1)` is nan).

`where`, `sign`, `isnan` and `zeros_like` also take nodes, for local gradients: a node stands for
its data there (a mask or a sign is a constant: its derivative is 0 almost everywhere), except
that `where` keeps a node that it picks, so that the pick can be differentiated.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

from ..graph import CONSTANT, Number, Operand, is_node, numbers_of


class OnNumbers:
    """A function of a float or an array: `on_float` for a Python float (any real number becomes
    one), `on_array` for anything else (an ndarray, a NumPy scalar of a float32 array)."""

    def __init__(
        self, name: str, on_float: Callable[..., float], on_array: Callable[..., np.ndarray]
    ) -> None:
        self.__name__ = self.name = name
        self.on_float = on_float
        self.on_array = on_array

    def __call__(self, x: Number, *params: object) -> Number:
        if type(x) is float:
            return self.on_float(x, *params)
        if isinstance(x, np.ndarray):
            return self.on_array(x, *params)
        if isinstance(x, numbers.Real) and not isinstance(x, np.floating):
            return self.on_float(float(x), *params)
        return self.on_array(np.asarray(x), *params)

    def __repr__(self) -> str:
        return f"<function {self.name} of a float or an array>"


def _float_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp overflow: exp({x!r}) is too large for a float") from None


def _float_log(x: float) -> float:
    if not x > 0.0:
        if x != x:  # nan stays nan (the README's NaN policy)
            return x
        raise ValueError(f"log domain error: log({x!r}) needs a positive value")
    return math.log(x)


def _float_reciprocal(x: float) -> float:
    if x == 0.0:
        raise ZeroDivisionError(f"reciprocal of zero: 1/{x!r} is undefined")
    return 1.0 / x


def _float_sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError(f"sqrt domain error: sqrt({x!r}) needs a value >= 0")
    return math.sqrt(x)


def float_power(x: float, n: float) -> float:
    """x**n as a real float, or the math error naming both numbers."""
    try:
        out = x**n
    except ZeroDivisionError:
        raise ZeroDivisionError(f"pow: {x!r} ** {n!r} divides by zero") from None
    except OverflowError:
        raise OverflowError(f"pow overflow: {x!r} ** {n!r} is too large for a float") from None
    if isinstance(out, complex):
        raise ValueError(f"pow domain error: {x!r} ** {n!r} is not a real number")
    return float(out)


def _float_maximum(a: float, b: float) -> float:
    """The larger, a nan if either is one (as np.maximum), the first on a tie."""
    return b if b > a or (b != b and a == a) else a


def _float_relu(x: float) -> float:
    """x for x > 0, else 0; nan stays nan (the README's NaN policy)."""
    return x if x > 0.0 or x != x else 0.0


def _array_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)  # not x * mask: relu(-inf) is 0, relu(nan) is nan


def _float_clip(x: float, low: float | None, high: float | None) -> float:
    if low is not None and x < low:
        x = float(low)
    if high is not None and x > high:
        x = float(high)
    return x


def _array_clip(x: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    return np.clip(x, low, high)


exp = OnNumbers("exp", _float_exp, np.exp)
log = OnNumbers("log", _float_log, np.log)
log1p = OnNumbers("log1p", math.log1p, np.log1p)
reciprocal = OnNumbers("reciprocal", _float_reciprocal, np.reciprocal)
sqrt = OnNumbers("sqrt", _float_sqrt, np.sqrt)
tanh = OnNumbers("tanh", math.tanh, np.tanh)
absolute = OnNumbers("abs", abs, np.abs)
power = OnNumbers("power", float_power, np.power)
maximum = OnNumbers("maximum", _float_maximum, np.maximum)
relu = OnNumbers("relu", _float_relu, _array_relu)
clip = OnNumbers("clip", _float_clip, _array_clip)


def where(condition: object, a: Operand, b: Operand, like: Operand = None) -> Operand:
    """`a` where `condition` holds, else `b`: for a Python bool one of the two (a node picked is
    the node itself); for a mask, elementwise, through node arithmetic when a branch is a node
    (so that the branch picked is differentiated), else `np.where`, in the dtype of `like` when
    it is given (two plain numbers would make float64 of a float32 input)."""
    if not isinstance(condition, np.ndarray):
        return a if condition else b
    if is_node(a) or is_node(b):
        return a * condition + b * ~condition
    picked = np.asarray(np.where(condition, a, b))
    dtype = getattr(like, "dtype", None)
    return picked if dtype is None else picked.astype(dtype, copy=False)


def sign(x: Operand) -> Number:
    """-1, 0 or 1 by the sign of x (nan for nan), as a number of x's kind (a node's, of its data:
    a constant)."""
    x = numbers_of(x)
    if isinstance(x, np.ndarray):
        return np.sign(x)
    x = float(x)
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else x  # 0.0 at 0, nan for nan


def isnan(x: Operand) -> bool | np.ndarray:
    """Whether x is nan (elementwise for an array; a node by its data)."""
    x = numbers_of(x)
    return np.isnan(x) if isinstance(x, np.ndarray) else x != x


def zeros_like(x: Operand) -> Number:
    """0.0, or zeros of x's shape and dtype (a node by its data: a constant)."""
    x = numbers_of(x)
    return np.zeros_like(x) if isinstance(x, np.ndarray) else 0.0


def is_one(x: Operand) -> bool:
    """Whether x is the number 1: a plain 1.0 (a local gradient that leaves the upstream as it
    is), or a constant node of 1.0 (the seed of a recorded pass), so that no `* 1` is made."""
    if type(x) is float:
        return x == 1.0
    return getattr(x, "op", None) == CONSTANT and type(x.data) is float and x.data == 1.0
