"""The elementwise ops of one input, on both paths: each its value and its local gradient.

Read each class as micrograd's `_backward` turned inside out: `value` is the forward value,
`local` the number the backward pass multiplies the upstream gradient by
(`parent.grad += local * upstream`). `local` gets the input `x` and the output `out` (whichever is
simpler: exp's is `out` itself) and the op's params, and is written with operators and with
functions that work on numbers and nodes alike, so the same line gives a first-order pass its
numbers and a recorded pass its nodes.
"""

from __future__ import annotations

import math

from ..graph import Number, Operand, Saved, numbers_of
from . import numbers as num
from .kinds import Elementwise


class Exp(Elementwise):
    """e^x.  d/dx = e^x: the output itself. (OverflowError on a float when e^x does not fit.)"""

    name = method = "exp"
    meaning = "exp: the gradient is scaled by the output itself, e^x"
    local_texts = ("{out}",)
    value = staticmethod(num.exp)

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        return out


class Log(Elementwise):
    """Natural log.  d/dx = 1/x. (ValueError on a float x <= 0; nan gives nan.)"""

    name = method = "log"
    meaning = "log: the gradient is divided by the input"
    local_texts = ("1/{0}",)
    value = staticmethod(num.log)

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        return 1.0 / x


class Reciprocal(Elementwise):
    """1/x.  d/dx = -1/x^2 = -out^2. (ZeroDivisionError on a float 0.)"""

    name = "1/x"
    method = "reciprocal"
    meaning = "1/x: the gradient is scaled by -1/x^2"
    local_texts = ("-1/{0}^2",)
    formula = "1/{0}"
    value = staticmethod(num.reciprocal)

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        return -out * out


def power_name(n: float) -> str:
    """The `op` of x**n: `**3`, `**0.5`; the exponent is short when that is exact and written in
    full otherwise (`**0.3333333333333333`), so the node records n itself."""
    short = f"{n:g}"
    return f"**{short}" if float(short) == n else f"**{n!r}"


def slope_power(x: Operand, e: float) -> Operand:
    """x**e for a slope: infinite where x is 0 and e < 0 (a vertical slope, not an error) and
    where it overflows (negative only for a negative x and an odd whole e)."""
    try:
        return x**e
    except ZeroDivisionError:  # a float (or a Value) at 0; an array gives inf itself
        return math.inf
    except OverflowError:
        x_number = float(numbers_of(x))
        return -math.inf if x_number < 0.0 and e % 2.0 == 1.0 else math.inf


class PowerN(Elementwise):
    """x**n for a plain number n.  d/dx = n x^(n-1); 0 for n = 0 (x^0 is the constant 1, also
    at 0), and infinite at x = 0 for 0 < n < 1 (the slope is vertical there)."""

    name = "**n"
    method = "__pow__"
    params = ("n",)
    named_by_params = True
    meaning = "x**n (n a number): the gradient is scaled by n x^(n-1)"
    local_texts = ("{n}*{0}^({n}-1)",)
    formula = "{0}^{n}"
    value = staticmethod(num.power)

    @staticmethod
    def local(x: Operand, out: Operand, n: float) -> Operand:
        if n == 0.0:
            return num.zeros_like(x)
        if n == 1.0:
            return 1.0
        if n == 2.0:
            return x * 2.0  # (x**1 would be a node for nothing)
        return slope_power(x, n - 1.0) * n

    @classmethod
    def node_op(cls, saved: Saved) -> str:
        return power_name(saved[0])


class Abs(Elementwise):
    """|x|.  d/dx = sign(x): 1 for x > 0, -1 for x < 0, and 0 at 0 (as PyTorch)."""

    name = method = "abs"
    meaning = "abs: the gradient keeps its sign where x > 0 and flips where x < 0"
    local_texts = ("sign({0})",)
    value = staticmethod(num.absolute)

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        return num.sign(x)


class Sqrt(Elementwise):
    """sqrt(x).  d/dx = 1 / (2 sqrt(x)), infinite at 0. (ValueError on a float x < 0.)"""

    name = method = "sqrt"
    meaning = "sqrt: the gradient is scaled by 1 / (2 sqrt(x))"
    local_texts = ("1/(2*{out})",)
    value = staticmethod(num.sqrt)

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        try:
            return 0.5 / out
        except ZeroDivisionError:  # a float (or a Value) at 0: the slope is vertical
            return math.inf


class Clip(Elementwise):
    """x held within [low, high] (either may be None).  d/dx = 1 inside the bounds (bounds
    included, as PyTorch's clamp), else 0."""

    name = method = "clip"
    paths = ("batch",)
    gate = "max"
    params = ("low", "high")
    meaning = "clip: the gradient passes where the input is within the bounds, else it stops"
    local_texts = ("1 if low <= {0} <= high else 0",)
    value = staticmethod(num.clip)

    @staticmethod
    def local(x: Operand, out: Operand, low: float | None, high: float | None) -> Operand:
        inside: Operand = True
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        return inside


# ---- activations ------------------------------------------------------------------------------


class ReLU(Elementwise):
    """max(0, x), fused.  d/dx = 1 for x > 0, else 0 (the tie at 0 goes to the constant 0).
    relu(nan) is nan with the gradient of the x <= 0 side, relu(-inf) is 0 (as PyTorch)."""

    name = method = "relu"
    gate = "max"
    activation = True
    meaning = "relu: the gradient passes where the input is positive, else it stops"
    local_texts = ("1 if {0} > 0 else 0",)
    value = staticmethod(num.relu)

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        return x > 0.0  # True counts as 1 and False as 0 (an array: a mask)


class LeakyReLU(Elementwise):
    """max(slope x, x) for 0 <= slope <= 1, fused.  d/dx = 1 for x > 0, else slope."""

    name = method = "leaky_relu"
    activation = True
    params = ("slope",)
    meaning = (
        "leaky_relu: the gradient passes where the input is positive, else it is scaled by the "
        "slope"
    )
    local_texts = ("1 if {0} > 0 else slope",)

    @staticmethod
    def value(x: Number, slope: float = 0.01) -> Number:
        return num.where(x > 0.0, x, x * slope)

    @staticmethod
    def local(x: Operand, out: Operand, slope: float = 0.01) -> Operand:
        return num.where(x > 0.0, 1.0, slope, like=x)


class Sigmoid(Elementwise):
    """1 / (1 + e^-x), fused.  d/dx = s (1 - s), at most 1/4."""

    name = method = "sigmoid"
    activation = True
    meaning = "sigmoid: the gradient is scaled by s (1 - s), at most 1/4"
    local_texts = ("{out}*(1-{out})",)

    @staticmethod
    def value(x: Number) -> Number:
        e = num.exp(-num.absolute(x))  # at most 1, so no exp overflows, for any x
        return num.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        return out * (1.0 - out)


class Tanh(Elementwise):
    """(e^2x - 1) / (e^2x + 1), fused.  d/dx = 1 - t^2, at most 1."""

    name = method = "tanh"
    activation = True
    meaning = "tanh: the gradient is scaled by 1 - t^2, at most 1"
    local_texts = ("1-{out}^2",)
    value = staticmethod(num.tanh)

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        return 1.0 - out * out


class ELU(Elementwise):
    """x for x > 0, else alpha (e^x - 1), fused.  d/dx = 1, or alpha e^x = out + alpha."""

    name = method = "elu"
    activation = True
    params = ("alpha",)
    meaning = "elu: the gradient passes where the input is positive, else it is scaled by alpha e^x"
    local_texts = ("1 if {0} > 0 else {out}+alpha",)

    @staticmethod
    def value(x: Number, alpha: float = 1.0) -> Number:
        e = num.exp(num.where(x > 0.0, 0.0, x))  # only the x <= 0 side is used: no overflow
        return num.where(x > 0.0, x, (e - 1.0) * alpha)

    @staticmethod
    def local(x: Operand, out: Operand, alpha: float = 1.0) -> Operand:
        return num.where(x > 0.0, 1.0, out + alpha)


class Softplus(Elementwise):
    """log(1 + e^x), a smooth relu, computed as max(x, 0) + log(1 + e^-|x|) so that no exp
    overflows for any x.  d/dx = sigmoid(x)."""

    name = method = "softplus"
    activation = True
    meaning = "softplus: the gradient is scaled by sigmoid(x), between 0 and 1"
    local_texts = ("sigmoid({0})",)

    @staticmethod
    def value(x: Number) -> Number:
        return num.maximum(x, 0.0) + num.log1p(num.exp(-num.absolute(x)))

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        return sigmoid(x)


class SiLU(Elementwise):
    """x sigmoid(x) (also called swish), fused.  d/dx = s + x s (1 - s) = s + out (1 - s),
    with s = sigmoid(x)."""

    name = method = "silu"
    activation = True
    meaning = "silu: the gradient is scaled by s + x s (1 - s), with s = sigmoid(x)"
    local_texts = ("s+{out}*(1-s), s = sigmoid({0})",)

    @staticmethod
    def value(x: Number) -> Number:
        return x * Sigmoid.value(x)

    @staticmethod
    def local(x: Operand, out: Operand) -> Operand:
        s = sigmoid(x)
        return s + out * (1.0 - s)


# The ops as functions of numbers or nodes, for writing local gradients and Function bodies.
exp = Exp.call
log = Log.call
sqrt = Sqrt.call
tanh = Tanh.call
sigmoid = Sigmoid.call
relu = ReLU.call
leaky_relu = LeakyReLU.call
elu = ELU.call
softplus = Softplus.call
silu = SiLU.call
