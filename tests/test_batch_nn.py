"""The batch nn layers: parity with the scalar path, the seed's batch formulas, float32, digits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn
from autograd_core import Tensor
from nn.batch import MLP
from nn.data import load_digits, train_test_split
from nn.train import scores_of

RNG = np.random.default_rng(7)
X = RNG.normal(size=(6, 3))


def scalar_loss_and_grads(model: nn.MLP, loss_name: str, targets: np.ndarray) -> tuple:
    outputs = [model(row) for row in X.tolist()]
    loss = getattr(nn, loss_name)(outputs, targets.tolist())
    model.zero_grad()
    loss.backward()
    return outputs, loss.data, model


def parity_targets(loss_name: str, nout: int) -> np.ndarray:
    if loss_name == "mse":
        return RNG.normal(size=(6, nout))
    if loss_name == "binary_hinge":
        return np.array([1, -1, 1, 1, -1, -1])
    return np.array([0, 2, 1, 3, 3, 0]) % nout


@pytest.mark.parametrize(
    ("loss_name", "nout", "activation"),
    [
        ("mse", 2, "tanh"),
        ("cross_entropy", 4, "relu"),
        ("hinge", 4, "sigmoid"),
        ("binary_hinge", 1, "leaky_relu"),
    ],
)
def test_scalar_and_batch_paths_agree(loss_name: str, nout: int, activation: str) -> None:
    scalar = nn.MLP(3, [5, 4, nout], activation=activation, seed=11)
    batch = MLP.from_scalar(scalar)
    targets = parity_targets(loss_name, nout)
    outputs, scalar_loss, _ = scalar_loss_and_grads(scalar, loss_name, targets)
    batch_out = batch(X)
    batch_loss = getattr(nn, loss_name)(batch_out, targets)
    batch_loss.backward()
    np.testing.assert_allclose(
        batch_out.data, scores_of(outputs), rtol=1e-10, atol=1e-12
    )
    assert batch_loss.item() == pytest.approx(scalar_loss, rel=1e-10, abs=1e-12)
    linears = [layer for layer in batch.layers if isinstance(layer, nn.Linear)]
    for linear, layer in zip(linears, scalar.layers):
        weight_grads = np.array([[w.grad for w in n.w] for n in layer.neurons]).T
        bias_grads = np.array([n.b.grad for n in layer.neurons])
        np.testing.assert_allclose(linear.weight.grad, weight_grads, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(linear.bias.grad, bias_grads, rtol=1e-10, atol=1e-12)


def test_same_seed_same_network_on_both_paths() -> None:
    scalar, batch = nn.MLP(3, [4, 2], seed=5), MLP(3, [4, 2], seed=5)
    np.testing.assert_array_equal(
        batch.layers[0].weight.data[:, 1], [w.data for w in scalar.layers[0].neurons[1].w]
    )
    np.testing.assert_array_equal(
        batch.parameters()[2].data, MLP.from_scalar(scalar).parameters()[2].data
    )
    # the same numbers, summed in another order
    np.testing.assert_allclose(
        batch(X).data, [[v.data for v in scalar(r)] for r in X.tolist()], rtol=1e-14
    )


def test_seed_formulas_for_a_sigmoid_mlp_with_mse() -> None:
    """grad W = (1/M) Y^T Delta, grad b = mean of delta, Delta_l = (Delta_{l+1} W^T) * f'(Z_l)
    (the seed's Delta . Y^T, written with one row per sample)."""
    M, k = 6, 2
    model = MLP(3, [4, k], activation="sigmoid", seed=2)
    T = RNG.normal(size=(M, k))
    loss = nn.mse(model(X), T)
    loss.backward()
    first, second = model.layers[0], model.layers[2]
    W1, b1, W2, b2 = first.weight.data, first.bias.data, second.weight.data, second.bias.data
    Y1 = 1 / (1 + np.exp(-(X @ W1 + b1)))
    Z2 = Y1 @ W2 + b2  # the last layer is linear
    delta2 = 2 * (Z2 - T) / k  # per sample: d/dz of the mean over k outputs of (z - t)^2
    delta1 = (delta2 @ W2.T) * Y1 * (1 - Y1)  # sigmoid' = y (1 - y)
    np.testing.assert_allclose(second.weight.grad, Y1.T @ delta2 / M, rtol=1e-12)
    np.testing.assert_allclose(second.bias.grad, delta2.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(first.weight.grad, X.T @ delta1 / M, rtol=1e-12)
    np.testing.assert_allclose(first.bias.grad, delta1.mean(axis=0), rtol=1e-12)


def test_float32_end_to_end() -> None:
    model = MLP(3, [8, 3], dtype=np.float32)
    out = model(X)  # a float64 input is cast to the model's dtype
    assert out.dtype == np.float32
    loss = nn.cross_entropy(out, np.array([0, 1, 2, 0, 1, 2])) + nn.l2(model.parameters(), 1e-3)
    assert loss.dtype == np.float32
    loss.backward()
    optimizer = nn.Adam(model.parameters(), lr=0.01)
    optimizer.step()
    sgd = nn.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sgd.step()
    for p in model.parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32


def test_linear_layer_shapes_and_errors() -> None:
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (3, 2) and layer.bias.shape == (2,)
    assert layer(np.ones((5, 3))).shape == (5, 2)
    assert layer(np.ones(3)).shape == (2,)
    with pytest.raises(ValueError, match=r"expects 3 input features, got input of shape \(5, 4\)"):
        layer(np.ones((5, 4)))
    with pytest.raises(ValueError, match="unknown activation"):
        MLP(3, [2, 1], activation="swish")


def test_sequential_names_and_state_round_trip(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 4, seed=1), nn.Tanh(), nn.Linear(4, 2, seed=2))
    assert [n for n, _ in model.named_parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.2.weight",
        "layers.2.bias",
    ]
    assert repr(model) == "Sequential(Linear(3 -> 4), Tanh(), Linear(4 -> 2))"
    model.save(tmp_path / "seq.npz")
    other = nn.Sequential(nn.Linear(3, 4, seed=8), nn.Tanh(), nn.Linear(4, 2, seed=9))
    other.load(tmp_path / "seq.npz")
    np.testing.assert_array_equal(other(X).data, model(X).data)
    with pytest.raises(ValueError, match="shape mismatch"):
        MLP(3, [5, 2]).load(tmp_path / "seq.npz")


def test_digits_training_reaches_97_percent() -> None:
    X_all, y_all = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X_all, y_all, 0.2, seed=0)
    model = MLP(64, [128, 10], seed=0)
    history = nn.fit(
        model,
        X_train,
        y_train,
        loss=nn.cross_entropy,
        optimizer=nn.Adam(model.parameters(), lr=1e-2),
        epochs=20,
        batch_size=64,
        validation=(X_test, y_test),
        progress=False,
    )
    assert history["val_accuracy"][-1] >= 0.97
    assert history["loss"][-1] < history["loss"][0]


def test_training_loop_drives_batch_parameters_with_sgd() -> None:
    """The same loss and optimiser classes on Tensor parameters: a linear softmax classifier."""
    X_all, y_all = load_digits()
    model = nn.Linear(64, 10)
    params = model.parameters()
    history = nn.fit(
        model,
        X_all,
        y_all,
        loss=lambda out, t: nn.cross_entropy(out, t) + nn.l2(params, 1e-4),
        optimizer=nn.SGD(params, lr=0.5, momentum=0.9),
        epochs=5,
        batch_size=128,
        progress=False,
    )
    assert history["accuracy"][-1] > 0.9
    assert isinstance(model(X_all[:2]), Tensor)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_train_cli_on_mnist_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 60), ("t10k", 20)):
        labels = rng.integers(0, 10, size=count)
        images = np.zeros((count, 28, 28), dtype=np.uint8)
        images[np.arange(count), labels, :] = 255  # a learnable pattern: the label's row lit
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nn.train",
            "--data",
            "mnist",
            "--path",
            str(tmp_path),
            "--epochs",
            "15",
            "--batch-size",
            "16",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "MLP(Linear(784 -> 128), ReLU(), Linear(128 -> 10)) on 60 training and 20 test"
        in result.stdout
    )
    accuracy = float(result.stdout.split("test accuracy ")[1].split("%")[0])
    assert accuracy >= 90.0


def test_train_cli_says_which_mnist_files_are_missing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nn.train", "--data", "mnist", "--path", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: train-images-idx3-ubyte[.gz] is not in {tmp_path}; put these there: "
        "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]"
    ]


def test_sequential_indexes_like_a_list() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert len(model) == 3 and isinstance(model[0], nn.Linear) and isinstance(model[-1], nn.Linear)
    assert [type(layer).__name__ for layer in model] == ["Linear", "ReLU", "Linear"]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert head(X).shape == (6, 4)


def test_a_pytorch_style_module_with_forward() -> None:
    class TwoLayer(nn.Module):
        def __init__(self) -> None:
            self.hidden = nn.Linear(3, 5, seed=1)
            self.out = nn.Linear(5, 2, seed=2)

        def forward(self, x: Tensor) -> Tensor:
            return self.out(self.hidden(x).tanh())

    model = TwoLayer()
    out = model(X)
    assert out.shape == (6, 2)
    assert [name for name, _ in model.named_parameters()] == [
        "hidden.weight",
        "hidden.bias",
        "out.weight",
        "out.bias",
    ]
    history = nn.fit(model, X, np.array([0, 1, 0, 1, 1, 0]), nn.cross_entropy,
                     nn.SGD(model.parameters(), 0.1), epochs=3)
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    with pytest.raises(NotImplementedError, match="Empty defines neither forward nor __call__"):

        class Empty(nn.Module):
            pass

        Empty()(X)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.MLP(3, [4, 2], activation="elu"),
        lambda: MLP(3, [4, 2], activation="leaky_relu", dtype=np.float32),
        lambda: nn.Sequential(nn.Linear(3, 2), nn.ELU(0.5)),
    ],
)
def test_models_pickle(make) -> None:  # type: ignore[no-untyped-def]
    import pickle

    model = make()
    copy = pickle.loads(pickle.dumps(model))
    assert repr(copy) == repr(model)
    expected, got = model(X), copy(X)
    np.testing.assert_array_equal(scores_of(got), scores_of(expected))
    for (name, p), (copy_name, q) in zip(model.named_parameters(), copy.named_parameters()):
        assert name == copy_name and p is not q
        np.testing.assert_array_equal(p.data, q.data)
