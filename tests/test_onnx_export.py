"""ONNX export: `model.to_onnx(path, example)` for batch models, checked by `onnx.checker` and run
by onnxruntime to the outputs of our own forward pass; what has no ONNX form is refused by name,
and nothing is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

import nn
from autograd_core import Tensor

X = np.random.default_rng(11).normal(size=(6, 3))


def run(path: Path, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"input": x})
    return np.asarray(out)


def exported(model: nn.Module, tmp_path: Path, dtype: type = np.float64) -> Path:
    path = tmp_path / "model.onnx"
    model.to_onnx(path, X[:2].astype(dtype))
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


@pytest.mark.parametrize(("dtype", "tolerance"), [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_an_mlp_runs_in_onnxruntime_to_our_outputs(
    tmp_path: Path, dtype: type, tolerance: float
) -> None:
    model = nn.batch.MLP(3, [16, 16, 4], seed=2, dtype=dtype)
    path = exported(model, tmp_path, dtype)
    x = X.astype(dtype)  # six rows: the batch size is free, though the example had two
    out = run(path, x)
    assert out.dtype == dtype and out.shape == (6, 4)
    np.testing.assert_allclose(out, model(x).data, rtol=0, atol=tolerance)


ACTIVATIONS = [
    nn.ReLU(),
    nn.LeakyReLU(0.2),
    nn.Sigmoid(),
    nn.Tanh(),
    nn.ELU(0.5),
    nn.Softplus(),
    nn.SiLU(),
    nn.Activation("elu", alpha=2.0),
]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=repr)
@pytest.mark.parametrize("head", [None, nn.Softmax(1), nn.LogSoftmax(1)])
def test_a_sequential_with_each_activation_and_head(
    tmp_path: Path, activation: nn.Module, head: nn.Module | None
) -> None:
    layers = [nn.Linear(3, 5, seed=1, dtype=np.float32), activation]
    layers.append(nn.Linear(5, 4, seed=2, dtype=np.float32))
    model = nn.Sequential(*layers, *([head] if head else []))
    x = 2 * X.astype(np.float32)  # both signs, well into each activation's curve
    out = run(exported(model, tmp_path, np.float32), x)
    np.testing.assert_allclose(out, model(x).data, rtol=0, atol=1e-5)


def test_the_weights_are_stored_under_pytorchs_names_and_layout(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 5, seed=1), nn.ReLU(), nn.Linear(5, 2, seed=2))
    graph = onnx.load(str(exported(model, tmp_path))).graph
    weights = {w.name: onnx.numpy_helper.to_array(w) for w in graph.initializer}
    assert {name: w.shape for name, w in weights.items()} == {
        "0.weight": (5, 3),
        "0.bias": (5,),
        "2.weight": (2, 5),
        "2.bias": (2,),
    }
    assert np.array_equal(weights["0.weight"], model.torch_state_dict()["0.weight"])
    assert [node.op_type for node in graph.node] == ["Gemm", "Relu", "Gemm"]
    (dimension, features) = graph.input[0].type.tensor_type.shape.dim
    assert dimension.dim_param == "batch" and features.dim_value == 3


class Block(nn.Module):
    def __init__(self) -> None:
        self.linear = nn.Linear(3, 2, seed=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x) * 2.0


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (Block(), "Block has no ONNX form; exportable modules: Linear"),
        (nn.Sequential(nn.Linear(3, 2), Block()), "Block has no ONNX form"),
        (nn.MLP(3, [4, 1]), r"scalar path; export its batch twin: nn.batch.MLP.from_scalar"),
    ],
    ids=["own module", "inside a Sequential", "scalar MLP"],
)
def test_what_has_no_onnx_form_is_refused_by_name(
    tmp_path: Path, model: nn.Module, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        model.to_onnx(tmp_path / "m.onnx", X[:2])
    assert list(tmp_path.iterdir()) == []


def test_a_scalar_mlp_exports_through_its_batch_twin(tmp_path: Path) -> None:
    scalar = nn.MLP(3, [8, 1])
    path = exported(nn.batch.MLP.from_scalar(scalar), tmp_path)
    expected = [scalar(row.tolist()).data for row in X]
    np.testing.assert_allclose(run(path, X)[:, 0], expected, rtol=0, atol=1e-12)


def test_an_example_that_is_not_a_batch_is_refused(tmp_path: Path) -> None:
    model = nn.batch.MLP(3, [4, 1])
    with pytest.raises(ValueError, match=r"an \(M, nin\) array; got shape \(3,\)"):
        model.to_onnx(tmp_path / "m.onnx", X[0])
    with pytest.raises(ValueError, match="expects 3 input features"):
        model.to_onnx(tmp_path / "m.onnx", np.zeros((2, 5)))
    assert list(tmp_path.iterdir()) == []
