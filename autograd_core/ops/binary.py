"""The ops of two inputs: the gates the lessons start from (add, mul, max) and the power of two
values. Each is its value and its pair of local gradients (d out / d a, d out / d b)."""

from __future__ import annotations

import math
import operator

from ..graph import Operand, numbers_of
from . import numbers as num
from .elementwise import log, slope_power
from .kinds import Binary, constant_local


class Add(Binary):
    """a + b.  d/da = 1, d/db = 1: the add gate distributes the upstream gradient."""

    name = "+"
    method = "__add__"
    gate = "add"
    meaning = "add: both inputs get the upstream gradient unchanged"
    local_texts = ("1", "1")
    formula = "{0} + {1}"
    vjp_texts = (
        "dL/d{0} = dL/d{out}, summed over broadcast axes",
        "dL/d{1} = dL/d{out}, summed over broadcast axes",
    )
    value = staticmethod(operator.add)
    local = constant_local(1.0, 1.0)  # d(a+b)/da = d(a+b)/db = 1, wherever a and b are


class Mul(Binary):
    """a * b.  d/da = b, d/db = a: the mul gate swaps its inputs onto the gradient."""

    name = "*"
    method = "__mul__"
    gate = "mul"
    meaning = "mul: each input gets the upstream gradient times the other input"
    local_texts = ("{1}", "{0}")
    formula = "{0} * {1}"
    value = staticmethod(operator.mul)

    @staticmethod
    def local(a: Operand, b: Operand, out: Operand) -> tuple[Operand, Operand]:
        return b, a


class Max(Binary):
    """max(a, b).  Local gradients (1, 0) or (0, 1): the max gate routes the whole gradient.

    Ties go to the first operand: b wins only when strictly larger, so `relu(x) = max(0, x)` has
    gradient 0 at x = 0, as in the lecture formula. A nan on either side gives nan, and the nan
    gets the gradient (the first one, on two).
    """

    name = "max"
    method = "maximum"
    gate = "max"
    meaning = (
        "max: the whole gradient goes to the larger input (the first one on a tie), 0 to the other"
    )
    local_texts = ("1 if {0} >= {1} else 0", "1 if {1} > {0} else 0")
    formula = "max({0}, {1})"
    value = staticmethod(num.maximum)

    @staticmethod
    def local(a: Operand, b: Operand, out: Operand) -> tuple[Operand, Operand]:
        first_wins = (a >= b) | num.isnan(a)
        return first_wins, first_wins ^ True  # True counts as 1 (an array: a mask, and its not)


class Power(Binary):
    """a**b for two values (the scalar path): local gradients (b a^(b-1), a^b ln a). Where ln a
    is undefined the exponent's gradient follows PyTorch: 0 at a = 0, nan for a negative base
    (whose power is real only for a whole b)."""

    name = "**"
    method = "__pow__"
    paths = ("scalar",)
    meaning = "a**b (both values): a gets b a^(b-1) times the gradient, b gets a^b ln(a) times it"
    local_texts = ("{1}*{0}^({1}-1)", "{0}^{1}*ln({0})")
    formula = "{0}^{1}"
    value = staticmethod(num.power)

    @staticmethod
    def local(a: Operand, b: Operand, out: Operand) -> tuple[Operand, Operand]:
        base = numbers_of(a)  # (a node under create_graph: compare its number, not the node)
        d_exponent = out * log(a) if base > 0.0 else (0.0 if base == 0.0 else math.nan)
        if numbers_of(b) == 0.0:  # a**0 is the constant 1: its slope is 0, also at a = 0
            return num.zeros_like(a), d_exponent
        return b * slope_power(a, b - 1.0), d_exponent


maximum = Max.call
