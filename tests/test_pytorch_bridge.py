"""Weights PyTorch loads: `torch_state_dict()` and `.safetensors` files under PyTorch's names and
layouts, on both paths, and PyTorch's files read back.

PyTorch is not installed for the suite (it is large), so its convention is written out here: a
`torch.nn.Sequential` names each child by its position (`0.`, `1.`, ...), a `torch.nn.Linear`
holds `weight` of shape (out, in) and `bias` of shape (out,), and its forward is
`x @ weight.T + bias`. `torch_forward` below runs a state under that convention with NumPy, and
when torch is importable the same file is also loaded into a real torch model.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import nn
from autograd_core import Tensor

TORCH_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
}


def torch_forward(state: dict[str, np.ndarray], layers: list[str], x: np.ndarray) -> np.ndarray:
    """`torch.nn.Sequential` of `layers` ("linear" or an activation's name) on `x`, with the
    parameters of `state` named and shaped as PyTorch's `state_dict()` has them."""
    for index, kind in enumerate(layers):
        if kind == "linear":
            x = x @ state[f"{index}.weight"].T + state[f"{index}.bias"]
        else:
            x = TORCH_ACTIVATIONS[kind](x)
    return x


def scalar_outputs(model: nn.MLP, x: np.ndarray) -> np.ndarray:
    out = [model(row.tolist()) for row in x]
    return np.array([[v.data for v in o] if isinstance(o, list) else [o.data] for o in out])


def same_state(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a
    )


X = np.random.default_rng(7).normal(size=(9, 2))


def test_a_sequential_is_named_and_shaped_as_pytorchs() -> None:
    model = nn.Sequential(nn.Linear(2, 16, seed=1), nn.ReLU(), nn.Linear(16, 1, seed=2))
    state = model.torch_state_dict()
    assert {k: v.shape for k, v in state.items()} == {
        "0.weight": (16, 2),
        "0.bias": (16,),
        "2.weight": (1, 16),
        "2.bias": (1,),
    }
    assert np.array_equal(state["0.weight"], model[0].weight.data.T)  # ours is (in, out)
    assert state["0.weight"].flags.c_contiguous
    expected = torch_forward(state, ["linear", "relu", "linear"], X)
    np.testing.assert_allclose(model(X).data, expected, rtol=0, atol=1e-12)


def test_a_scalar_mlp_is_named_as_the_sequential_of_its_layers() -> None:
    scalar = nn.MLP(2, [16, 16, 1])
    state = scalar.torch_state_dict()
    assert {k: v.shape for k, v in state.items()} == {
        "0.weight": (16, 2),
        "0.bias": (16,),
        "2.weight": (16, 16),
        "2.bias": (16,),
        "4.weight": (1, 16),
        "4.bias": (1,),
    }
    neuron = scalar.layers[1].neurons[3]  # row 3 of the second Linear is that neuron's weights
    assert state["2.weight"][3].tolist() == [w.data for w in neuron.w]
    assert state["2.bias"][3] == neuron.b.data
    assert same_state(state, nn.batch.MLP.from_scalar(scalar).torch_state_dict())
    layers = ["linear", "relu", "linear", "relu", "linear"]
    expected = torch_forward(state, layers, X)
    np.testing.assert_allclose(scalar_outputs(scalar, X), expected, rtol=0, atol=1e-12)


def test_an_mlp_without_activations_takes_consecutive_positions() -> None:
    """With no activation modules between them, PyTorch's Linears are children 0, 1, 2."""
    for model in (nn.MLP(3, [4, 5, 2], activation="linear"), nn.batch.MLP(3, [4, 5, 2], "linear")):
        assert list(model.torch_state_dict()) == [
            "0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias",
        ]  # fmt: skip


def test_a_neuron_and_a_layer_are_pytorch_linears() -> None:
    neuron, layer = nn.Neuron(3, seed=4), nn.Layer(3, 2, seed=5)
    assert {k: v.shape for k, v in neuron.torch_state_dict().items()} == {
        "weight": (1, 3),
        "bias": (1,),
    }
    assert {k: v.shape for k, v in layer.torch_state_dict().items()} == {
        "weight": (2, 3),
        "bias": (2,),
    }


def test_a_module_of_ones_own_is_named_by_its_attributes() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            self.fc1 = nn.Linear(2, 4, seed=1)
            self.act = nn.Tanh()
            self.head = nn.Sequential(nn.Linear(4, 3, seed=2))
            self.scale = Tensor(np.ones(3), requires_grad=True)

        def forward(self, x: Tensor) -> Tensor:
            return self.head(self.act(self.fc1(x))) * self.scale

    state = Net().torch_state_dict()
    assert {k: v.shape for k, v in state.items()} == {
        "fc1.weight": (4, 2),
        "fc1.bias": (4,),
        "head.0.weight": (3, 4),  # torch: self.head = nn.Sequential(...) names it head.0
        "head.0.bias": (3,),
        "scale": (3,),
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_batch_model_round_trips_through_safetensors(tmp_path: Path, dtype: type) -> None:
    model = nn.batch.MLP(2, [8, 8, 3], activation="tanh", seed=1, dtype=dtype)
    path = tmp_path / "m.safetensors"
    model.save(path)
    other = nn.batch.MLP(2, [8, 8, 3], activation="tanh", seed=2, dtype=dtype)
    assert not same_state(model.state_dict(), other.state_dict())
    other.load(path)
    assert same_state(model.state_dict(), other.state_dict())


def test_a_scalar_model_round_trips_and_crosses_paths(tmp_path: Path) -> None:
    scalar = nn.MLP(2, [16, 16, 1])
    path = tmp_path / "scalar.safetensors"
    scalar.save(path)
    again = nn.MLP(2, [16, 16, 1], seed=9)
    again.load(path)
    assert same_state(scalar.state_dict(), again.state_dict())
    batch = nn.batch.MLP(2, [16, 16, 1], seed=9)
    batch.load(path)  # the same names and layouts on both paths
    np.testing.assert_allclose(batch(X).data, scalar_outputs(scalar, X), rtol=0, atol=1e-12)


def test_the_file_is_what_pytorchs_loader_reads(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(2, 16, seed=3), nn.ReLU(), nn.Linear(16, 1, seed=4))
    path = tmp_path / "m.safetensors"
    model.save(path)
    tensors = safetensors.numpy.load_file(path)
    assert same_state(tensors, model.torch_state_dict())
    length = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8 : 8 + length])
    assert header["__metadata__"] == {"format": "pt"}
    assert header["0.weight"]["dtype"] == "F64" and header["0.weight"]["shape"] == [16, 2]


def test_a_real_torch_model_loads_it_when_torch_is_installed(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = nn.Sequential(nn.Linear(2, 16, seed=3), nn.ReLU(), nn.Linear(16, 1, seed=4))
    path = tmp_path / "m.safetensors"
    model.save(path)
    for torch_dtype, tolerance in ((torch.float64, 1e-10), (torch.float32, 1e-5)):
        layers = [torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)]
        twin = torch.nn.Sequential(*layers).to(torch_dtype)
        twin.load_state_dict(safetensors_torch.load_file(path))
        out = twin(torch.from_numpy(X).to(torch_dtype)).detach().numpy()
        np.testing.assert_allclose(out, model(X).data, rtol=0, atol=tolerance)


def test_a_file_pytorch_saved_loads_into_both_paths(tmp_path: Path) -> None:
    """What `safetensors.torch.save_file(torch_model.state_dict(), p)` writes for
    `Sequential(Linear(2, 8), Tanh(), Linear(8, 3))`: float32, (out, in) weights."""
    rng = np.random.default_rng(3)
    torch_state = {
        "0.weight": rng.normal(size=(8, 2)).astype(np.float32),
        "0.bias": rng.normal(size=8).astype(np.float32),
        "2.weight": rng.normal(size=(3, 8)).astype(np.float32),
        "2.bias": rng.normal(size=3).astype(np.float32),
    }
    path = tmp_path / "from_torch.safetensors"
    safetensors.numpy.save_file(torch_state, path)
    expected = torch_forward(
        {k: v.astype(np.float64) for k, v in torch_state.items()}, ["linear", "tanh", "linear"], X
    )
    batch = nn.batch.MLP(2, [8, 3], activation="tanh")
    batch.load(path)
    np.testing.assert_allclose(batch(X).data, expected, rtol=0, atol=1e-12)
    scalar = nn.MLP(2, [8, 3], activation="tanh")
    scalar.load(path)
    np.testing.assert_allclose(scalar_outputs(scalar, X), expected, rtol=0, atol=1e-12)


def write_header(path: Path, header: dict[str, object], data: bytes) -> None:
    encoded = json.dumps(header).encode()
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + data)


GOOD_SHAPES = {"0.weight": (3, 2), "0.bias": (3,), "2.weight": (1, 3), "2.bias": (1,)}


def entries(dtype: str, size: int) -> dict[str, object]:
    """A header for the good file's tensors, each declaring `dtype` and bytes 0 to `size`."""
    return {
        name: {"dtype": dtype, "shape": list(shape), "data_offsets": [0, size]}
        for name, shape in GOOD_SHAPES.items()
    }


def good_file(tmp_path: Path) -> tuple[nn.Sequential, Path]:
    model = nn.Sequential(nn.Linear(2, 3, seed=5), nn.ReLU(), nn.Linear(3, 1, seed=6))
    path = tmp_path / "good.safetensors"
    model.save(path)
    return model, path


BAD_FILES: dict[str, tuple[Callable[[Path, bytes], None], str]] = {
    "truncated": (lambda p, good: p.write_bytes(good[:-5]), "truncated"),
    "data after the end": (lambda p, good: p.write_bytes(good + b"\0" * 8), "data after the last"),
    "empty": (lambda p, good: p.write_bytes(b""), "8-byte length"),
    "an npz": (
        lambda p, good: np.savez(open(p, "wb"), a=np.zeros(2)),  # noqa: SIM115
        "header declares",
    ),
    "a huge header length": (
        lambda p, good: p.write_bytes((1 << 40).to_bytes(8, "little") + b"{}"),
        "header declares",
    ),
    "not JSON": (lambda p, good: p.write_bytes((4).to_bytes(8, "little") + b"{{{{"), "readable"),
    "a JSON list": (lambda p, good: write_header(p, [], b""), "JSON list"),  # type: ignore[arg-type]
    "a missing tensor": (
        lambda p, good: safetensors.numpy.save_file({"0.weight": np.zeros((3, 2))}, p),
        "missing",
    ),
    "transposed weights": (
        lambda p, good: safetensors.numpy.save_file(
            {name: np.zeros(shape[::-1]) for name, shape in GOOD_SHAPES.items()}, p
        ),
        r"shape mismatch for 0.weight: the model has \(3, 2\), the file has \(2, 3\)",
    ),
    "bfloat16": (lambda p, good: write_header(p, entries("BF16", 0), b""), "BF16.*model.float"),
    "offsets that lie": (
        lambda p, good: write_header(p, entries("F64", 8), b"\0" * 8),
        "declares bytes 0 to 8",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=str)
def test_a_bad_file_is_refused_and_leaves_the_model_as_it_was(tmp_path: Path, case: str) -> None:
    model, good = good_file(tmp_path)
    spoil, message = BAD_FILES[case]
    path = tmp_path / "bad.safetensors"
    spoil(path, good.read_bytes())
    before = model.state_dict()
    with pytest.raises(ValueError, match=message) as raised:
        model.load(path)
    assert str(raised.value).startswith(f"Sequential.load: {path}")
    assert same_state(before, model.state_dict())


def test_a_value_that_does_not_fit_is_refused_after_the_checks(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(2, 3, seed=5, dtype=np.float32))
    path = tmp_path / "big.safetensors"
    safetensors.numpy.save_file({"0.weight": np.full((3, 2), 1e300), "0.bias": np.zeros(3)}, path)
    before = model.state_dict()
    with pytest.raises(ValueError, match="overflows float32"):
        model.load(path)
    assert same_state(before, model.state_dict())


def test_load_torch_state_dict_is_all_or_nothing() -> None:
    model = nn.Sequential(nn.Linear(2, 3, seed=5), nn.ReLU(), nn.Linear(3, 1, seed=6))
    state = model.torch_state_dict()
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"unexpected \['3.weight'\]"):
        model.load_torch_state_dict({**state, "3.weight": np.zeros(1)})
    with pytest.raises(ValueError, match=r"PyTorch's layout of this model has \(1, 3\)"):
        model.load_torch_state_dict({**state, "2.weight": np.zeros((3, 1))})
    with pytest.raises(ValueError, match="holds complex128"):
        model.load_torch_state_dict({**state, "2.bias": np.zeros(1, dtype=complex)})
    assert same_state(before, model.state_dict())
    model.load_torch_state_dict({k: v * 2 for k, v in state.items()})
    assert np.array_equal(model[0].weight.data, 2 * before["layers.0.weight"])


def test_without_the_package_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, path = good_file(tmp_path)
    monkeypatch.setitem(sys.modules, "safetensors", None)  # `import safetensors` fails
    with pytest.raises(ImportError, match=r"autograd-core\[export\]"):
        model.save(tmp_path / "again.safetensors")
    with pytest.raises(ImportError, match=r"autograd-core\[export\]"):
        model.load(path)
    assert not (tmp_path / "again.safetensors").exists()
    model.save(tmp_path / "still.npz")  # .npz needs nothing more
    assert os.path.getsize(tmp_path / "still.npz") > 0
