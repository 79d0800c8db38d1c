"""autograd_core: reverse-mode autodiff on scalars (`Value`) and on NumPy arrays (`Tensor`).

>>> from autograd_core import Value
>>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
>>> f = (x + y) * z
>>> f.backward()
>>> f.data, x.grad, y.grad, z.grad
(-12.0, -4.0, -4.0, 3.0)

Modules, from the bottom up (each imports only those below it): `graph` (the node protocol, the
order, the one backward walk, the modes), `function` (`Function`, an op as forward and backward),
`ops` (every op, one definition each, and the op table), `engine` (`Value`), `tensor` (`Tensor`),
then `functional`, `higher_order` (`grad`, `hessian`, `hvp`) and `gradcheck`.

The functions `exp`, `log`, `sqrt`, `tanh`, `sigmoid`, `relu`, `leaky_relu`, `elu`, `softplus`,
`silu`, `maximum`, `where` and `sign` work on a float, an array, a Value or a Tensor alike: on
numbers they compute, on nodes they record. A `Function`'s backward written with them works in
a first-order pass and under `create_graph=True`.
"""

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

from . import functional, ops
from .engine import Value
from .function import Context, Function
from .gradcheck import GradcheckError, GradcheckReport, InputCheck, gradcheck, gradgradcheck
from .graph import (
    CONSTANT,
    Node,
    NonFiniteError,
    backpropagate,
    detect_anomaly,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from .higher_order import grad, hessian, hvp
from .ops import (
    elu,
    exp,
    leaky_relu,
    log,
    maximum,
    relu,
    sigmoid,
    sign,
    silu,
    softplus,
    sqrt,
    tanh,
    where,
)
from .tensor import Tensor, as_tensor, concatenate, stack

__all__ = [
    "CONSTANT",
    "Context",
    "Function",
    "GradcheckError",
    "GradcheckReport",
    "InputCheck",
    "Node",
    "NonFiniteError",
    "Tensor",
    "Value",
    "as_tensor",
    "backpropagate",
    "concatenate",
    "detect_anomaly",
    "elu",
    "exp",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "hessian",
    "hvp",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "leaky_relu",
    "log",
    "maximum",
    "no_grad",
    "ops",
    "relu",
    "sigmoid",
    "sign",
    "silu",
    "softplus",
    "sqrt",
    "stack",
    "tanh",
    "topological_order",
    "where",
]
