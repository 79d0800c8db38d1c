"""autograd_core: reverse-mode autodiff on scalars (`Value`) and on NumPy arrays (`Tensor`).

>>> from autograd_core import Value
>>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
>>> f = (x + y) * z
>>> f.backward()
>>> f.data, x.grad, y.grad, z.grad
(-12.0, -4.0, -4.0, 3.0)
"""

from . import functional
from .engine import Value, backpropagate, is_grad_enabled, no_grad, topological_order
from .gradcheck import GradcheckError, GradcheckReport, InputCheck, gradcheck
from .tensor import Tensor, detect_anomaly

__all__ = [
    "GradcheckError",
    "GradcheckReport",
    "InputCheck",
    "Tensor",
    "Value",
    "backpropagate",
    "detect_anomaly",
    "functional",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
]
