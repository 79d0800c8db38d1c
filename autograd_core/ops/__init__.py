"""The ops: one definition each, and the table every reader of them uses.

Each op is a class (a `Function`) that holds, side by side, its value, its local gradient (or
its vector-Jacobian product) and what pictures and lessons say of it: its name, its gate pattern,
its meaning, its local gradient in words. `Value` and `Tensor` make their nodes from these
definitions, `create_graph` differentiates the same local gradients again, `nn` takes its
activations from here (`ACTIVATIONS`), the CLI its functions (`FUNCTIONS`), the picture legend its
lines, and the tests their list of ops. Adding an op is one class in one of:

- `elementwise`: one input (exp, log, tanh, relu, softplus, silu, ...);
- `binary`: two inputs (+, *, max, and a**b);
- `reduce`: many inputs or along an axis (n-ary sum, dot, cross-entropy; sum, max, matmul, ...);
- `shape`: what moves numbers without computing with them (reshape, index, concatenate, ...);

plus the node types' method that makes it (one line on `Value`, one on `Tensor`).
"""

from __future__ import annotations

from . import binary, elementwise, reduce, shape
from .arrays import class_labels, unbroadcast
from .binary import maximum
from .elementwise import (
    elu,
    exp,
    leaky_relu,
    log,
    power_name,
    relu,
    sigmoid,
    silu,
    softplus,
    sqrt,
    tanh,
)
from .kinds import OPS, ArrayOp, Binary, Elementwise, Many, Op, times
from .numbers import isnan, sign, where, zeros_like

# name -> op, per path: what a node of that path made by it records in `op`
SCALAR_OPS: dict[str, type[Op]] = {op.name: op for op in OPS if "scalar" in op.paths}
BATCH_OPS: dict[str, type[Op]] = {op.name: op for op in OPS if "batch" in op.paths}

ACTIVATIONS: tuple[str, ...] = tuple(op.name for op in OPS if op.activation)

# The ops an expression may call by name, `name(x)` or `name(x, y)`: every scalar op made by a
# plain method of Value (not an operator), by its name (`max`), or by its method's where the
# name is a symbol (`1/x` is `reciprocal`). The CLI's whitelist is this, and nothing else.
FUNCTIONS: dict[str, type[Op]] = {
    op.name if op.name.isidentifier() else op.method: op
    for op in OPS
    if "scalar" in op.paths and op.method and not op.method.startswith("_")
}


def lookup(op: str, batch: bool = False) -> type[Op] | None:
    """The op a node of the scalar path (or, with `batch`, of the batch path) made when it
    recorded `op` ("**3" is `PowerN`); None for a leaf or a name no op has."""
    table = BATCH_OPS if batch else SCALAR_OPS
    if op in table:
        return table[op]
    if op.startswith("**") and len(op) > 2 and op != "**":
        return table.get("**n")
    return None


__all__ = [
    "ACTIVATIONS",
    "BATCH_OPS",
    "FUNCTIONS",
    "OPS",
    "SCALAR_OPS",
    "ArrayOp",
    "Binary",
    "Elementwise",
    "Many",
    "Op",
    "binary",
    "class_labels",
    "elementwise",
    "elu",
    "exp",
    "isnan",
    "leaky_relu",
    "log",
    "lookup",
    "maximum",
    "power_name",
    "reduce",
    "relu",
    "shape",
    "sigmoid",
    "sign",
    "silu",
    "softplus",
    "sqrt",
    "tanh",
    "times",
    "unbroadcast",
    "where",
    "zeros_like",
]
