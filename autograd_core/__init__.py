"""autograd_core: reverse-mode autodiff on scalars (`Value`) and on NumPy arrays (`Tensor`).

>>> from autograd_core import Value
>>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
>>> f = (x + y) * z
>>> f.backward()
>>> f.data, x.grad, y.grad, z.grad
(-12.0, -4.0, -4.0, 3.0)

Modules: `graph` (the node protocol, the order, the one backward walk, the modes), `engine`
(`Value`), `tensor` (`Tensor`), `ops` (the op table), `functional`, `gradcheck`.
"""

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

from . import functional, ops
from .engine import Value
from .gradcheck import GradcheckError, GradcheckReport, InputCheck, gradcheck, gradgradcheck
from .graph import (
    CONSTANT,
    Node,
    backpropagate,
    detect_anomaly,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from .higher_order import grad, hessian, hvp
from .tensor import Tensor, as_tensor, concatenate, stack

__all__ = [
    "CONSTANT",
    "GradcheckError",
    "GradcheckReport",
    "InputCheck",
    "Node",
    "Tensor",
    "Value",
    "as_tensor",
    "backpropagate",
    "concatenate",
    "detect_anomaly",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "hessian",
    "hvp",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "ops",
    "stack",
    "topological_order",
]
