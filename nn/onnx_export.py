"""ONNX export of batch models: each exportable module adds its nodes to an `OnnxGraph`
(`Module.onnx_graph`), and `onnx_model_bytes` builds, checks and serialises the model with the
`onnx` package (the [export] extra), which is imported only here and only when exporting.

What is exported: `Linear` as `Gemm` (x W^T + b, the weight stored in PyTorch's (out, in) layout,
as `torch.onnx.export` stores it), `Sequential` as its layers in order, the activations as the
ONNX ops of the same meaning, and `Softmax` / `LogSoftmax` heads over their axis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograd_core import no_grad

EXPORTABLE = (
    "Linear, Sequential, nn.batch.MLP, ReLU, LeakyReLU, Sigmoid, Tanh, ELU, Softplus, SiLU, "
    "Softmax, LogSoftmax (a scalar model: convert it with nn.batch.MLP.from_scalar first)"
)
_FLOAT_TYPES = (np.float32, np.float64)


class OnnxGraph:
    """The nodes and weights of an ONNX graph as the modules add them; pure Python, so that a
    module can describe itself without importing onnx. Each node's output gets a fresh name."""

    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.dtype = dtype
        self.nodes: list[tuple[str, list[str], str, dict[str, Any]]] = []
        self.weights: dict[str, np.ndarray] = {}

    def weight(self, name: str, array: np.ndarray) -> str:
        """A constant of the graph (an initializer) under `name`, in the graph's dtype."""
        if name in self.weights:
            raise ValueError(f"to_onnx: two weights are named {name!r}")
        self.weights[name] = np.ascontiguousarray(array, dtype=self.dtype)
        return name

    def node(self, op_type: str, inputs: list[str], **attributes: Any) -> str:
        """An ONNX node `op_type` reading `inputs`; the name of its one output."""
        output = f"{op_type.lower()}_{len(self.nodes)}"
        self.nodes.append((op_type, inputs, output, attributes))
        return output


def _silu(graph: OnnxGraph, x: str) -> str:
    return graph.node("Mul", [x, graph.node("Sigmoid", [x])])


# An activation's ONNX form, by the op table's name, with the module's options (its slope, alpha).
ACTIVATIONS: dict[str, Callable[..., str]] = {
    "relu": lambda graph, x: graph.node("Relu", [x]),
    "sigmoid": lambda graph, x: graph.node("Sigmoid", [x]),
    "tanh": lambda graph, x: graph.node("Tanh", [x]),
    "softplus": lambda graph, x: graph.node("Softplus", [x]),
    "silu": _silu,
    "leaky_relu": lambda graph, x, slope=0.01: graph.node("LeakyRelu", [x], alpha=float(slope)),
    "elu": lambda graph, x, alpha=1.0: graph.node("Elu", [x], alpha=float(alpha)),
}


def activation(graph: OnnxGraph, name: str, x: str, options: dict[str, float]) -> str:
    """The nodes of activation `name` (with `options`) on `x`; TypeError for one ONNX lacks."""
    if name not in ACTIVATIONS:
        raise TypeError(
            f"to_onnx: the activation {name!r} has no ONNX form here; exportable: "
            f"{', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name](graph, x, **options)


def onnx_model_bytes(model: Any, example: Any, opset: int, who: str) -> bytes:
    """The serialised ONNX model of `model` for inputs like `example` (an (M, nin) array of
    the model's float dtype), checked by `onnx.checker` (with shape inference)."""
    helper, checker, numpy_helper = _onnx()
    dtype = _model_dtype(model, who)
    x = np.asarray(example, dtype=dtype)
    if x.ndim != 2:
        raise ValueError(
            f"{who}: example must be one batch of inputs, an (M, nin) array; got shape {x.shape}"
        )
    graph = OnnxGraph(dtype)
    out = model.onnx_graph(graph, "input")  # first: what cannot be exported is refused by name
    with no_grad():  # then the model runs once: a wrong width fails here, clearly
        outputs = np.shape(model(x).data)
    element = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    onnx_graph = helper.make_graph(
        [
            helper.make_node(op, inputs, [output], **attrs)
            for op, inputs, output, attrs in graph.nodes
        ],
        type(model).__name__,
        [helper.make_tensor_value_info("input", element, ["batch", x.shape[1]])],
        [helper.make_tensor_value_info(out, element, ["batch", *outputs[1:]])],
        [numpy_helper.from_array(array, name) for name, array in graph.weights.items()],
    )
    onnx_model = helper.make_model(
        onnx_graph,
        producer_name="autograd_core",
        opset_imports=[helper.make_opsetid("", opset)],
        ir_version=helper.find_min_ir_version_for([helper.make_opsetid("", opset)]),
    )
    checker.check_model(onnx_model, full_check=True)
    data: bytes = onnx_model.SerializeToString()
    return data


def _model_dtype(model: Any, who: str) -> np.dtype[Any]:
    dtypes = {np.asarray(p.data).dtype for p in model.parameters()}
    if len(dtypes) > 1:
        raise ValueError(
            f"{who}: the parameters mix {sorted(map(str, dtypes))}; ONNX needs one dtype"
        )
    dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
    if dtype.type not in _FLOAT_TYPES:
        raise ValueError(f"{who}: parameters of {dtype}; expected float32 or float64")
    return dtype


def _onnx() -> tuple[Any, Any, Any]:
    try:
        from onnx import checker, helper, numpy_helper
    except ImportError as missing:  # onnx is the [export] extra
        raise ImportError(
            "to_onnx needs the onnx package: pip install 'autograd-core[export]' (or pip "
            "install onnx)"
        ) from missing
    return helper, checker, numpy_helper
