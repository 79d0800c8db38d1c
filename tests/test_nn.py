"""Module, Neuron, Layer, MLP: names, state, save/load and bad files, shapes and errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import nn
from autograd_core import Value


def test_neuron_computes_activation_of_dot_plus_bias() -> None:
    neuron = nn.Neuron(3, "tanh", weights=[0.5, -1.0, 2.0], bias=0.25)
    out = neuron([1.0, 2.0, -0.5])
    assert out.data == pytest.approx(math.tanh(0.5 - 2.0 - 1.0 + 0.25))
    out.backward()
    slope = 1 - out.data**2
    assert [w.grad for w in neuron.w] == pytest.approx([slope * 1.0, slope * 2.0, slope * -0.5])
    assert neuron.b.grad == pytest.approx(slope)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh", "linear"])
def test_every_activation_matches_the_value_method(activation: str) -> None:
    neuron = nn.Neuron(2, activation, weights=[0.3, -0.8], bias=0.1)
    pre = 0.3 * -1.5 + -0.8 * 0.5 + 0.1
    expected = pre if activation == "linear" else getattr(Value(pre), activation)().data
    assert neuron([-1.5, 0.5]).data == pytest.approx(expected)


def test_one_output_is_the_value_itself_as_in_micrograd() -> None:
    layer = nn.Layer(2, 1)
    out = layer([1.0, 2.0])
    assert isinstance(out, Value) and out.data == layer.outputs([1.0, 2.0])[0].data
    several = nn.Layer(2, 5)([1.0, 2.0])
    assert isinstance(several, list) and len(several) == 5
    assert isinstance(nn.MLP(2, [3, 1])([1.0, 2.0]), Value)
    assert len(nn.MLP(2, [3, 2])([1.0, 2.0])) == 2


def test_a_layer_makes_what_its_neurons_make_and_honours_a_subclass() -> None:
    """A layer reads its inputs once for all its neurons (functional.linear), which must give
    each neuron's own nodes; a neuron of a subclass that computes its own way is asked itself."""
    layer = nn.Layer(3, 4, "tanh", seed=3)
    x = [0.5, -1.0, 2.0]
    together = layer.outputs(x)
    alone = [neuron(x) for neuron in layer.neurons]
    assert [o.data for o in together] == [o.data for o in alone]
    assert [o.op for o in together] == ["tanh"] * 4
    assert [o.parents[0].local_grads for o in together] == [o.parents[0].local_grads for o in alone]

    class Doubled(nn.Neuron):
        def forward_one(self, x: nn.scalar.Inputs) -> Value:
            return super().forward_one(x) * 2.0

    class Constant(nn.Neuron):  # the PyTorch way: forward
        def forward(self, x: nn.scalar.Inputs) -> Value:
            return Value(42.0)

    layer.neurons[2] = Doubled(3, "tanh", weights=[w.data for w in layer.neurons[2].w])
    layer.neurons[3] = Constant(3)
    assert layer.outputs(x)[2].data == pytest.approx(2 * alone[2].data)
    assert layer.outputs(x)[3].data == 42.0
    assert layer.outputs(x)[1].data == alone[1].data

    class Shifted(nn.Layer):  # a layer of an MLP that computes its own way
        def forward_one(self, x: nn.scalar.Inputs) -> nn.scalar.Output:
            return [o + 1.0 for o in self.outputs(x)]

    model = nn.MLP(3, [4, 1], seed=3)
    plain = model(x).data
    model.layers[1] = Shifted(4, 1, "linear", seed=0)
    model.layers[1].neurons[0].w = nn.MLP(3, [4, 1], seed=3).layers[1].neurons[0].w
    assert model(x).data == pytest.approx(plain + 1.0)


def test_scalar_models_map_themselves_over_a_batch() -> None:
    model = nn.MLP(2, [4, 3], seed=2)
    rows = [[0.5, -1.0], [2.0, 0.25], [-0.3, 0.0]]
    one_by_one = [[v.data for v in model(row)] for row in rows]
    for batch in (rows, np.array(rows), [tuple(r) for r in rows]):
        outputs = model(batch)
        assert [[v.data for v in out] for out in outputs] == one_by_one
    single = nn.MLP(2, [4, 1], seed=2)
    assert [v.data for v in single(np.array(rows))] == [single(r).data for r in rows]


def test_mlp_structure_and_repr() -> None:
    model = nn.MLP(2, [16, 16, 1])
    assert [layer.neurons[0].activation for layer in model.layers] == ["relu", "relu", "linear"]
    assert len(model.parameters()) == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1) == 337
    assert repr(model) == (
        "MLP(Layer(2 -> 16, relu), Layer(16 -> 16, relu), Layer(16 -> 1, linear))"
    )
    assert isinstance(model([0.5, -0.5]), Value)


def test_named_parameters_are_stable_dotted_names() -> None:
    model = nn.MLP(3, [4, 2])
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.w.2",
        "layers.0.neurons.0.b",
    ]
    assert "layers.1.neurons.1.w.3" in names and names[-1] == "layers.1.neurons.1.b"
    assert len(names) == len(set(names)) == 4 * 4 + 2 * 5
    assert names == [name for name, _ in nn.MLP(3, [4, 2], seed=99).named_parameters()]
    assert [p for _, p in model.named_parameters()] == model.parameters()


def test_init_is_seeded_and_documented_scale() -> None:
    a, b, c = nn.MLP(4, [8, 3], seed=1), nn.MLP(4, [8, 3], seed=1), nn.MLP(4, [8, 3], seed=2)
    data = [[p.data for p in m.parameters()] for m in (a, b, c)]
    assert data[0] == data[1] != data[2]
    first_layer = np.array([[w.data for w in n.w] for n in a.layers[0].neurons])
    assert np.abs(first_layer).max() <= math.sqrt(6 / 4)
    assert all(n.b.data == 0.0 for layer in a.layers for n in layer.neurons)
    wide = nn.MLP(4, [8, 3], init="micrograd")
    assert np.abs([w.data for w in wide.layers[1].neurons[0].w]).max() <= 1.0


def test_wrong_input_length_names_both_lengths() -> None:
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        nn.MLP(2, [4, 1])([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="expects 3 inputs, got 1"):
        nn.Layer(3, 2)([1.0])
    with pytest.raises(ValueError, match="expects 2 inputs, got 0"):
        nn.Neuron(2)([])


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP(2, [3, 1], activation="swish")
    with pytest.raises(ValueError, match="unknown init"):
        nn.MLP(2, [3, 1], init="zeros")
    with pytest.raises(ValueError, match="at least one layer"):
        nn.MLP(2, [])
    with pytest.raises(ValueError, match="nin=0"):
        nn.Neuron(0)


def test_zero_grad_resets_every_parameter() -> None:
    model = nn.MLP(2, [3, 1])
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


# ---- state dict, save and load -----------------------------------------------------------------


def outputs(model: nn.MLP, points: list[list[float]]) -> list[float]:
    return [model(p).data for p in points]


POINTS = [[0.1, 0.2], [-1.0, 0.5], [2.0, -3.0]]


def test_state_dict_round_trip_through_a_file(tmp_path: Path) -> None:
    source, target = nn.MLP(2, [8, 1], seed=1), nn.MLP(2, [8, 1], seed=2)
    assert outputs(source, POINTS) != outputs(target, POINTS)
    state = source.state_dict()
    assert set(state) == {name for name, _ in source.named_parameters()}
    assert state["layers.0.neurons.0.w.0"].shape == ()
    source.save(tmp_path / "model.npz")
    target.load(tmp_path / "model.npz")
    assert outputs(target, POINTS) == outputs(source, POINTS)
    assert list(tmp_path.iterdir()) == [tmp_path / "model.npz"]  # no temporary left behind


def snapshot(model: nn.Module) -> dict[str, float]:
    return {name: float(p.data) for name, p in model.named_parameters()}


def write_bad_files(tmp_path: Path) -> dict[str, tuple[Path, type[Exception], str]]:
    good = tmp_path / "good.npz"
    nn.MLP(2, [8, 1], seed=5).save(good)
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive at all" * 10)
    corrupted = tmp_path / "corrupted.npz"
    corrupted.write_bytes(raw[:200] + bytes(200) + raw[400:])
    other = tmp_path / "other_architecture.npz"
    nn.MLP(2, [4, 1]).save(other)
    shape = tmp_path / "shape.npz"
    state = nn.MLP(2, [8, 1]).state_dict()
    state["layers.0.neurons.0.b"] = np.zeros(3)
    np.savez(shape, **state)
    return {
        "missing": (
            tmp_path / "nope.npz",
            FileNotFoundError,
            r"MLP\.load: cannot open .*nope\.npz: No such file or directory; expected a \.npz",
        ),
        "truncated": (truncated, ValueError, r"truncated\.npz is not a readable \.npz archive"),
        "garbage": (garbage, ValueError, r"garbage\.npz is not a readable \.npz archive"),
        "corrupted": (corrupted, ValueError, r"corrupted\.npz is not a readable .*Bad CRC-32"),
        "other architecture": (
            other,
            ValueError,
            r"other_architecture\.npz: the archive does not match the model: missing "
            r"\['layers\.0\.neurons\.4\.w\.0', .* \(16 in all\)\], unexpected nothing",
        ),
        "wrong shape": (
            shape,
            ValueError,
            r"shape\.npz: shape mismatch for layers\.0\.neurons\.0\.b: the model has \(\), "
            r"the file has \(3,\)",
        ),
    }


def test_each_bad_file_raises_and_leaves_the_model_unchanged(tmp_path: Path) -> None:
    for case, (path, error, message) in write_bad_files(tmp_path).items():
        model = nn.MLP(2, [8, 1], seed=9)
        before, outputs_before = snapshot(model), outputs(model, POINTS)
        with pytest.raises(error, match=message):
            model.load(path)
        assert snapshot(model) == before, case
        assert outputs(model, POINTS) == outputs_before, case


def test_load_state_dict_checks_names_before_changing_anything() -> None:
    model = nn.MLP(2, [3, 1])
    before = snapshot(model)
    state = model.state_dict()
    state = {name: value + 1.0 for name, value in state.items()}
    del state["layers.1.neurons.0.b"]
    state["extra"] = np.zeros(())
    with pytest.raises(
        ValueError, match=r"missing \['layers.1.neurons.0.b'\].*unexpected \['extra'\]"
    ):
        model.load_state_dict(state)
    assert snapshot(model) == before
