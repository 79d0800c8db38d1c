"""The op table: one entry per operation a node can record, and what pictures and lessons say of it.

The arithmetic of each op lives in its node type, as a method that computes the forward value and
the local gradient side by side (`Value.exp`, `Tensor.exp`). This table holds everything else
about the op, once, for every reader: `nn` looks up activations here, the CLI's whitelist of
functions is the scalar ops listed here, the picture legend and the backward step-through take
each op's meaning and local gradient in words from here, and the tests check that every node
type implements what this table says it does (and nothing it does not).

Local gradients in words are templates: `{0}`, `{1}`, ... stand for the names of the inputs,
`{out}` for the output's name, and `{n}` for the exponent of `**n`. For `x * y` the entry says
`("{1}", "{0}")`, which a step of the backward pass reads as `d(x*y)/dx = y`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# How the gradient moves through an op, as the lessons name the patterns. "function" covers every
# op whose local gradient is a formula of its input or output (exp, sigmoid, ...); "shape" moves
# gradients without scaling them (reshape, transpose, indexing); "fused" is a whole formula
# (softmax with cross-entropy) done as one node.
GATES = ("add", "mul", "max", "function", "shape", "fused")


@dataclass(frozen=True)
class Op:
    """One operation.

    name: what a node made by it records in `op` (the `**n` family records `**2`, `**0.5`, ...).
    arity: its number of inputs; None when it takes any number (sum, dot, cross_entropy).
    gate: how the gradient moves through it, one of `GATES`.
    meaning: one line for a legend: what happens to the gradient here.
    local_grads: per input, d(out)/d(input) as a template (see the module docstring); an n-ary op
        has a function of the input names instead.
    scalar, batch: where each path implements it ("Value.exp", "functional.dot"), or None.
    activation: whether `nn` offers it as an activation.
    vjp: on the batch path, per input, the vector-Jacobian product in words.
    formula: the output in terms of the inputs, a template as `local_grads` (`{0} * {1}`), or a
        function of the input names for an n-ary op.
    differentiable: on the scalar path, node -> its local gradients as expressions of its inputs
        and output (Values, or plain numbers where a local gradient is constant), which is what
        `grad(..., create_graph=True)` multiplies to build a graph of the backward pass. They
        equal the numbers the node recorded (`local_grads`), as the tests check op by op.
    differentiable_vjp: on the batch path, (node, upstream Tensor) -> per input, its vjp as a
        Tensor expression of the upstream, the node's inputs, the node itself and what the node
        saved (`node.saved`: a mask, an axis), for `create_graph`. They equal the numbers the
        node's `vjps` give, as the tests check op by op.
    """

    name: str
    arity: int | None
    gate: str
    meaning: str
    local_grads: tuple[str, ...] | Callable[[Sequence[str], str], list[str]]
    scalar: str | None = None
    batch: str | None = None
    activation: bool = False
    vjp: tuple[str, ...] = ()
    formula: str | Callable[[Sequence[str]], str] = ""
    differentiable: Callable[[Any], tuple[Any, ...]] | None = None
    differentiable_vjp: Callable[[Any, Any], tuple[Any, ...]] | None = None

    def local_grad_texts(self, inputs: Sequence[str], out: str, op: str = "") -> list[str]:
        """d(out)/d(input) for each input, in words, with the inputs' and the output's names."""
        if callable(self.local_grads):
            return self.local_grads(inputs, out)
        exponent = op[2:] if op.startswith("**") else ""
        return [
            template.format(*inputs, out=out, n=exponent)
            for template in self.local_grads[: len(inputs)]
        ]

    def formula_text(self, inputs: Sequence[str], op: str = "") -> str:
        """The output in terms of the inputs' names, e.g. `x * y`, `exp(x)`, `x^3`."""
        if callable(self.formula):
            return self.formula(inputs)
        exponent = op[2:] if op.startswith("**") else ""
        return (self.formula or f"{self.name}({{0}})").format(*inputs, n=exponent)

    def vjp_texts(self, inputs: Sequence[str], out: str, root: str, op: str = "") -> list[str]:
        """On the batch path, per input, how its gradient is computed, in the inputs' names."""
        exponent = op[2:] if op.startswith("**") else ""
        if self.arity is None:  # one text for every input of an n-ary op, {0} standing for each
            texts = [self.vjp[0].format(name, out=out, n=exponent) for name in inputs]
        else:
            texts = [t.format(*inputs, out=out, n=exponent) for t in self.vjp]
        return [t.replace("dL/", f"d{root}/") for t in texts[: len(inputs)]]


def _sum_grads(inputs: Sequence[str], out: str) -> list[str]:
    return ["1"] * len(inputs)


def _dot_grads(inputs: Sequence[str], out: str) -> list[str]:
    """dot(w, x, b) has parents w_1..w_n, x_1..x_n and maybe b: weights get their input, inputs
    their weight, the bias 1."""
    n = len(inputs) // 2
    weights, xs = inputs[:n], inputs[n : 2 * n]
    return [*xs, *weights, *(["1"] if len(inputs) % 2 else [])]


def _cross_entropy_grads(inputs: Sequence[str], out: str) -> list[str]:
    return [f"softmax({name}) - [{name} is the target]" for name in inputs]


# ---- local gradients as expressions (scalar path), for gradients of gradients ----
# Each takes the node and returns, per input, d(node)/d(input) built from the node's inputs and
# the node itself with the engine's own ops, so the backward pass can be a graph in turn.


def _recorded(node: Any) -> tuple[Any, ...]:
    """Local gradients that are constants (1 of + and sum, 0 or 1 of max and relu, a slope): the
    recorded numbers (their derivatives are 0, almost everywhere)."""
    return node.local_grads


def _mul_local(node: Any) -> tuple[Any, ...]:
    a, b = node.parents
    return (b, a)


def _power_n_local(node: Any) -> tuple[Any, ...]:
    (x,) = node.parents
    n = float(node.op[2:])
    if n == 0.0 or (x.data == 0.0 and n < 1.0):  # a constant 0, or the vertical slope at 0
        return node.local_grads
    return (x * n,) if n == 2.0 else (x ** (n - 1.0) * n,)  # (x**1 would be a node for nothing)


def _power_local(node: Any) -> tuple[Any, ...]:
    a, b = node.parents
    d_exponent = node * a.log() if a.data > 0.0 else node.local_grads[1]
    return (b * a ** (b - 1.0), d_exponent)


def _elu_local(node: Any) -> tuple[Any, ...]:
    (x,) = node.parents
    if x.data > 0.0:
        return (1.0,)
    alpha = node.local_grads[0] - node.data  # alpha e^x - alpha (e^x - 1)
    return (node + alpha,)


def _dot_local(node: Any) -> tuple[Any, ...]:
    n = len(node.parents) // 2
    weights, xs = node.parents[:n], node.parents[n : 2 * n]
    return (*xs, *weights, *((1.0,) if len(node.parents) % 2 else ()))


def _cross_entropy_local(node: Any) -> tuple[Any, ...]:
    from .functional import softmax  # functional builds on the engine, which reads this table

    # the target is where the recorded gradient is softmax - 1
    target = min(range(len(node.parents)), key=lambda i: node.local_grads[i])
    probs = softmax(node.parents)
    return tuple(p - 1.0 if i == target else p for i, p in enumerate(probs))


# ---- vjps as expressions (batch path), for gradients of gradients ----
# Each takes the node and the upstream gradient g (a Tensor) and returns, per input, its share of
# the gradient built with Tensor ops, so the backward pass is a graph of Tensors in turn. What an
# op computed from numbers only (a mask, where the max was) comes from `node.saved` as a constant:
# its derivative is 0 almost everywhere.


def _tensor_module() -> Any:
    """tensor.py, whose functions serve both its vjps and these (it reads this table itself)."""
    from . import tensor

    return tensor


def _unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    return _tensor_module().unbroadcast(g, shape)


def _add_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    a, b = node.parents
    return (_unbroadcast(g, a.shape), _unbroadcast(g, b.shape))


def _mul_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    a, b = node.parents
    return (_unbroadcast(g * b, a.shape), _unbroadcast(g * a, b.shape))


def _max_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    (first_wins,) = node.saved
    a, b = node.parents
    return (_unbroadcast(g * first_wins, a.shape), _unbroadcast(g * ~first_wins, b.shape))


def _power_n_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    (n,) = node.saved
    (x,) = node.parents
    if n == 0.0:  # x**0 is the constant 1
        return (g * 0.0,)
    if n == 1.0:  # the local gradient is the constant 1: no node to differentiate
        return (g * 1.0,)
    return (g * (x * n if n == 2.0 else x ** (n - 1.0) * n),)


def _elu_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    positive, alpha = node.saved
    (x,) = node.parents
    # alpha e^x where x <= 0; clip first, so that a large x (masked out) cannot overflow to inf
    return (g * (x.clip(None, 0.0).exp() * alpha * ~positive + positive),)


def _sum_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    axis, keepdims = node.saved
    upstream = _tensor_module().with_reduced_axes(g, axis, keepdims)
    return (upstream.broadcast_to(node.parents[0].shape),)


def _extreme_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    first, axis, keepdims = node.saved
    return (_tensor_module().with_reduced_axes(g, axis, keepdims) * first,)


def _matmul_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    A, B = node.parents
    tensor = _tensor_module()
    return (tensor.matmul_grad_a(g, A, B), tensor.matmul_grad_b(g, A, B))


def _linear_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    x, W, _ = node.parents
    rows = x.reshape(-1, W.shape[0])
    g2 = g.reshape(rows.shape[0], -1)
    return (g @ W.T, rows.T @ g2, g2.sum(axis=0))


def _mse_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    (x,) = node.parents
    (target,) = node.saved
    return (g * (2.0 * (1.0 / x.size)) * (x - target),)


def _cross_entropy_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    (labels,) = node.saved
    (z,) = node.parents
    onehot = np.zeros(z.shape, dtype=z.dtype)
    onehot[np.arange(len(labels)), labels] = 1.0
    return ((z.softmax(axis=1) - onehot) * (g * (1.0 / len(labels))),)


def _concatenate_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    axis, bounds = node.saved
    return tuple(g[(slice(None),) * axis + (slice(start, stop),)] for start, stop in bounds)


def _stack_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    (axis,) = node.saved
    return tuple(g[(slice(None),) * axis + (k,)] for k in range(len(node.parents)))


def _log_softmax_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    (axis,) = node.saved
    return (g - node.exp() * g.sum(axis=axis, keepdims=True),)  # node.exp(): the softmax


def _index_vjp(node: Any, g: Any) -> tuple[Any, ...]:
    return (g.scatter_into(node.parents[0].shape, node.saved[0]),)


def _first_saved_times(node: Any, g: Any) -> tuple[Any, ...]:
    """g times what the op saved: a mask (relu, clip), a slope (leaky_relu), a sign (abs)."""
    return (g * node.saved[0],)


def differentiable_local_grads(node: Any) -> tuple[Any, ...]:
    """A scalar node's local gradients as expressions (its op's `differentiable`)."""
    entry = lookup(node.op)
    if entry is None or entry.differentiable is None:
        raise TypeError(_not_differentiable(node.op))
    return entry.differentiable(node)


def differentiable_vjps(node: Any, g: Any) -> tuple[Any, ...]:
    """A Tensor node's vjps of the upstream Tensor g as expressions (its op's
    `differentiable_vjp`)."""
    entry = lookup(node.op)
    if entry is None or entry.differentiable_vjp is None:
        raise TypeError(_not_differentiable(node.op))
    return entry.differentiable_vjp(node, g)


def _not_differentiable(op: str) -> str:
    return (
        f"create_graph=True: the op {op!r} records its gradients as numbers only, so they "
        "cannot be differentiated again; build it from the engine's ops"
    )


def _listed(names: Sequence[str], joiner: str) -> str:
    """Names joined, the middle elided past six: `a + b + ... + z`."""
    if len(names) > 6:
        names = [*names[:2], "...", *names[-2:]]
    return joiner.join(names)


def _sum_formula(inputs: Sequence[str]) -> str:
    # one input is a Tensor's sum over its elements; several are the scalar path's n-ary sum
    return f"sum({inputs[0]})" if len(inputs) == 1 else _listed(inputs, " + ")


def _dot_formula(inputs: Sequence[str]) -> str:
    n = len(inputs) // 2
    terms = [f"{w}*{x}" for w, x in zip(inputs[:n], inputs[n : 2 * n])]
    return _listed(terms + list(inputs[2 * n :]), " + ")


def _cross_entropy_formula(inputs: Sequence[str]) -> str:
    return f"cross_entropy({_listed(inputs, ', ')})"


def _concatenate_formula(inputs: Sequence[str]) -> str:
    return f"concatenate({_listed(inputs, ', ')})"


def _stack_formula(inputs: Sequence[str]) -> str:
    return f"stack({_listed(inputs, ', ')})"


OPS: tuple[Op, ...] = (
    # ---- elementwise arithmetic: both paths ----
    Op(
        "+", 2, "add", "add: both inputs get the upstream gradient unchanged",
        ("1", "1"), "Value.__add__", "Tensor.__add__",
        vjp=(
            "dL/d{0} = dL/d{out}, summed over broadcast axes",
            "dL/d{1} = dL/d{out}, summed over broadcast axes",
        ),
        formula="{0} + {1}",
        differentiable=_recorded,
        differentiable_vjp=_add_vjp,
    ),
    Op(
        "*", 2, "mul", "mul: each input gets the upstream gradient times the other input",
        ("{1}", "{0}"), "Value.__mul__", "Tensor.__mul__",
        vjp=("dL/d{0} = dL/d{out} * {1}", "dL/d{1} = dL/d{out} * {0}"),
        formula="{0} * {1}",
        differentiable=_mul_local,
        differentiable_vjp=_mul_vjp,
    ),
    Op(
        "max", 2, "max",
        "max: the whole gradient goes to the larger input (the first one on a tie), 0 to the other",
        ("1 if {0} >= {1} else 0", "1 if {1} > {0} else 0"), "Value.max", "Tensor.maximum",
        vjp=(
            "dL/d{0} = dL/d{out} where {0} won, else 0",
            "dL/d{1} = dL/d{out} where {1} won, else 0",
        ),
        formula="max({0}, {1})",
        differentiable=_recorded,
        differentiable_vjp=_max_vjp,
    ),
    Op(
        "exp", 1, "function", "exp: the gradient is scaled by the output itself, e^x",
        ("{out}",), "Value.exp", "Tensor.exp", vjp=("dL/d{0} = dL/d{out} * {out}",),
        differentiable=lambda node: (node,),
        differentiable_vjp=lambda node, g: (g * node,),
    ),
    Op(
        "log", 1, "function", "log: the gradient is divided by the input",
        ("1/{0}",), "Value.log", "Tensor.log", vjp=("dL/d{0} = dL/d{out} / {0}",),
        differentiable=lambda node: (node.parents[0].reciprocal(),),
        differentiable_vjp=lambda node, g: (g / node.parents[0],),
    ),
    Op(
        "1/x", 1, "function", "1/x: the gradient is scaled by -1/x^2",
        ("-1/{0}^2",), "Value.reciprocal", "Tensor.reciprocal",
        vjp=("dL/d{0} = -dL/d{out} / {0}^2",),
        formula="1/{0}",
        differentiable=lambda node: (node * node * -1.0,),
        differentiable_vjp=lambda node, g: (-g * node * node,),
    ),
    Op(
        "**n", 1, "function", "x**n (n a number): the gradient is scaled by n x^(n-1)",
        ("{n}*{0}^({n}-1)",), "Value.__pow__", "Tensor.__pow__",
        vjp=("dL/d{0} = dL/d{out} * {n}*{0}^({n}-1)",),
        formula="{0}^{n}",
        differentiable=_power_n_local,
        differentiable_vjp=_power_n_vjp,
    ),
    Op(
        "**", 2, "function",
        "a**b (both values): a gets b a^(b-1) times the gradient, b gets a^b ln(a) times it",
        ("{1}*{0}^({1}-1)", "{0}^{1}*ln({0})"), "Value.__pow__", None,
        formula="{0}^{1}",
        differentiable=_power_local,
    ),
    Op(
        "abs", 1, "function", "abs: the gradient keeps its sign where x > 0 and flips where x < 0",
        ("sign({0})",), "Value.abs", "Tensor.abs", vjp=("dL/d{0} = dL/d{out} * sign({0})",),
        differentiable=_recorded,
        differentiable_vjp=_first_saved_times,
    ),
    Op(
        "sqrt", 1, "function", "sqrt: the gradient is scaled by 1 / (2 sqrt(x))",
        ("1/(2*{out})",), "Value.sqrt", "Tensor.sqrt", vjp=("dL/d{0} = dL/d{out} / (2 * {out})",),
        differentiable=lambda node: (node.reciprocal() * 0.5,) if node.data else node.local_grads,
        differentiable_vjp=lambda node, g: (g / (node * 2.0),),
    ),
    Op(
        "clip", 1, "max", "clip: the gradient passes where the input is within the bounds, else "
        "it stops",
        ("1 if low <= {0} <= high else 0",), None, "Tensor.clip",
        vjp=("dL/d{0} = dL/d{out} where low <= {0} <= high, else 0",),
        differentiable_vjp=_first_saved_times,
    ),
    # ---- activations: both paths, one node each ----
    Op(
        "relu", 1, "max", "relu: the gradient passes where the input is positive, else it stops",
        ("1 if {0} > 0 else 0",), "Value.relu", "Tensor.relu", activation=True,
        vjp=("dL/d{0} = dL/d{out} where {0} > 0, else 0",),
        differentiable=_recorded,
        differentiable_vjp=_first_saved_times,
    ),
    Op(
        "leaky_relu", 1, "function",
        "leaky_relu: the gradient passes where the input is positive, else it is scaled by "
        "the slope",
        ("1 if {0} > 0 else slope",), "Value.leaky_relu", "Tensor.leaky_relu", activation=True,
        vjp=("dL/d{0} = dL/d{out} where {0} > 0, else slope * dL/d{out}",),
        differentiable=_recorded,
        differentiable_vjp=_first_saved_times,
    ),
    Op(
        "sigmoid", 1, "function", "sigmoid: the gradient is scaled by s (1 - s), at most 1/4",
        ("{out}*(1-{out})",), "Value.sigmoid", "Tensor.sigmoid", activation=True,
        vjp=("dL/d{0} = dL/d{out} * {out} * (1 - {out})",),
        differentiable=lambda node: (node * (1.0 - node),),
        differentiable_vjp=lambda node, g: (g * node * (1.0 - node),),
    ),
    Op(
        "tanh", 1, "function", "tanh: the gradient is scaled by 1 - t^2, at most 1",
        ("1-{out}^2",), "Value.tanh", "Tensor.tanh", activation=True,
        vjp=("dL/d{0} = dL/d{out} * (1 - {out}^2)",),
        differentiable=lambda node: (1.0 - node * node,),
        differentiable_vjp=lambda node, g: (g * (1.0 - node * node),),
    ),
    Op(
        "elu", 1, "function",
        "elu: the gradient passes where the input is positive, else it is scaled by alpha e^x",
        ("1 if {0} > 0 else {out}+alpha",), "Value.elu", "Tensor.elu", activation=True,
        vjp=("dL/d{0} = dL/d{out} where {0} > 0, else dL/d{out} * ({out} + alpha)",),
        differentiable=_elu_local,
        differentiable_vjp=_elu_vjp,
    ),
    # ---- many inputs at once ----
    Op(
        "sum", None, "add", "sum: every input gets the upstream gradient unchanged",
        _sum_grads, "functional.sum", "Tensor.sum",
        vjp=("dL/d{0} = dL/d{out} copied to every summed element",),
        formula=_sum_formula,
        differentiable=_recorded,
        differentiable_vjp=_sum_vjp,
    ),
    Op(
        "dot", None, "mul",
        "dot: each weight gets the gradient times its input, each input times its weight, "
        "the bias the gradient itself",
        _dot_grads, "functional.dot", None,
        formula=_dot_formula,
        differentiable=_dot_local,
    ),
    Op(
        "@", 2, "mul",
        "matmul: A gets the gradient times B transposed, B gets A transposed times the gradient",
        ("{1}^T", "{0}^T"), None, "Tensor.__matmul__",
        vjp=("dL/d{0} = dL/d{out} @ {1}^T", "dL/d{1} = {0}^T @ dL/d{out}"),
        formula="{0} @ {1}",
        differentiable_vjp=_matmul_vjp,
    ),
    Op(
        "linear", 3, "fused",
        "linear: x @ W + b as one node; x gets the gradient times W transposed, W x transposed "
        "times the gradient, b the gradient summed over the rows",
        ("{1}^T", "{0}^T", "1"), None, "Tensor.linear",
        vjp=(
            "dL/d{0} = dL/d{out} @ {1}^T",
            "dL/d{1} = {0}^T @ dL/d{out}",
            "dL/d{2} = dL/d{out} summed over the rows",
        ),
        formula="{0} @ {1} + {2}",
        differentiable_vjp=_linear_vjp,
    ),
    Op(
        "mse", 1, "fused",
        "mse: mean squared error as one node; each prediction gets 2 (x - t) / n times the "
        "gradient",
        ("2*({0} - target)/n",), None, "Tensor.mse",
        vjp=("dL/d{0} = dL/d{out} * 2 ({0} - target) / n",),
        formula="mean(({0} - target)^2)",
        differentiable_vjp=_mse_vjp,
    ),
    Op(
        "cross_entropy", None, "fused",
        "cross_entropy: each logit gets softmax minus one-hot target (y - t), one fused node",
        _cross_entropy_grads, "functional.cross_entropy", "Tensor.cross_entropy",
        vjp=("dL/d{0} = (softmax({0}) - onehot(labels)) / M * dL/d{out}",),
        formula=_cross_entropy_formula,
        differentiable=_cross_entropy_local,
        differentiable_vjp=_cross_entropy_vjp,
    ),
    Op(
        "log_softmax", 1, "fused",
        "log_softmax: the gradient minus softmax times the sum of the gradient, per row",
        ("1 - softmax({0})",), None, "Tensor.log_softmax",
        vjp=("dL/d{0} = dL/d{out} - softmax({0}) * sum(dL/d{out})",),
        differentiable_vjp=_log_softmax_vjp,
    ),
    Op(
        "max_over", 1, "max",
        "max over an axis: the whole gradient goes to the largest element of each slice (the "
        "first on a tie)",
        ("1 at the largest, else 0",), None, "Tensor.max",
        vjp=("dL/d{0} = dL/d{out} at the largest element of each slice, 0 elsewhere",),
        formula="max({0})",
        differentiable_vjp=_extreme_vjp,
    ),
    Op(
        "min_over", 1, "max",
        "min over an axis: the whole gradient goes to the smallest element of each slice (the "
        "first on a tie)",
        ("1 at the smallest, else 0",), None, "Tensor.min",
        vjp=("dL/d{0} = dL/d{out} at the smallest element of each slice, 0 elsewhere",),
        formula="min({0})",
        differentiable_vjp=_extreme_vjp,
    ),
    # ---- shapes: the batch path moves gradients without scaling them ----
    Op(
        "concatenate", None, "shape", "concatenate: each input gets its own slice of the gradient",
        _sum_grads, None, "tensor.concatenate",
        vjp=("dL/d{0} = its slice of dL/d{out}",), formula=_concatenate_formula,
        differentiable_vjp=_concatenate_vjp,
    ),
    Op(
        "stack", None, "shape", "stack: each input gets its own layer of the gradient",
        _sum_grads, None, "tensor.stack",
        vjp=("dL/d{0} = its layer of dL/d{out}",), formula=_stack_formula,
        differentiable_vjp=_stack_vjp,
    ),
    Op(
        "reshape", 1, "shape", "reshape: the gradient is reshaped back",
        ("1",), None, "Tensor.reshape", vjp=("dL/d{0} = dL/d{out} reshaped to {0}'s shape",),
        differentiable_vjp=lambda node, g: (g.reshape(node.parents[0].shape),),
    ),
    Op(
        "astype", 1, "shape", "astype: the gradient is cast back to the input's dtype",
        ("1",), None, "Tensor.astype", vjp=("dL/d{0} = dL/d{out} in {0}'s dtype",),
        differentiable_vjp=lambda node, g: (g.astype(node.parents[0].dtype),),
    ),
    Op(
        "transpose", 1, "shape", "transpose: the gradient is transposed back",
        ("1",), None, "Tensor.transpose", vjp=("dL/d{0} = dL/d{out} with its axes put back",),
        formula="{0}^T",
        differentiable_vjp=lambda node, g: (g.transpose(*node.saved[0]),),
    ),
    Op(
        "index", 1, "shape",
        "index: the gradient goes back to the picked elements (summed where picked twice), "
        "0 elsewhere",
        ("1 where picked",), None, "Tensor.__getitem__",
        vjp=("dL/d{0} = dL/d{out} scattered back into {0}'s shape",),
        formula="{0}[...]",
        differentiable_vjp=_index_vjp,
    ),
    Op(
        "broadcast_to", 1, "shape",
        "broadcast_to: the gradient is summed back over the axes the input was repeated along",
        ("1",), None, "Tensor.broadcast_to",
        vjp=("dL/d{0} = dL/d{out} summed back to {0}'s shape",),
        differentiable_vjp=lambda node, g: (_unbroadcast(g, node.parents[0].shape),),
    ),
    Op(
        "scatter_into", 1, "shape",
        "scatter_into (indexing's gradient as an op): the gradient of the picked places goes back",
        ("1 at the picked places",), None, "Tensor.scatter_into",
        vjp=("dL/d{0} = dL/d{out} at the picked places",),
        formula="scatter({0})",
        differentiable_vjp=lambda node, g: (g[node.saved[0]],),
    ),
)

BY_NAME: dict[str, Op] = {op.name: op for op in OPS}

ACTIVATIONS: tuple[str, ...] = tuple(op.name for op in OPS if op.activation)

# The ops an expression may call by name, as `name(x)` or `name(x, y)`: every scalar op that is a
# plain method (not an operator). The CLI's whitelist is this, and nothing else.
FUNCTIONS: dict[str, Op] = {
    op.scalar.split(".")[1]: op
    for op in OPS
    if op.scalar and op.scalar.startswith("Value.") and not op.scalar.split(".")[1].startswith("_")
}


def power_name(n: float) -> str:
    """The `op` of x**n: `**3`, `**0.5`; the exponent is short when that is exact and written in
    full otherwise (`**0.3333333333333333`), so the node records n itself."""
    short = f"{n:g}"
    return f"**{short}" if float(short) == n else f"**{n!r}"


def lookup(op: str) -> Op | None:
    """The table entry of what a node recorded in `op` ("**3" is the `**n` entry); None for a leaf
    or for an op made outside this table (a student's own, say)."""
    if op in BY_NAME:
        return BY_NAME[op]
    if op.startswith("**") and len(op) > 2:
        return BY_NAME["**n"]
    return None
