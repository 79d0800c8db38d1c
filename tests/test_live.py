"""The live training view's Python side, without a browser: the run (`Live`) on both paths, what
each frame records (checked against the numbers computed directly), the scripted controls, the
widget's requests, and the saved replay page's data."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nn
from nn.data import make_moons
from nn.train import scores_of
from visualize.live_page import live_module_text
from visualize.training_view import Live, boundary_scores, jsonable, live, predictions


def moons_run(**options: Any) -> Live:
    """micrograd's demo: MLP(2, [16, 16, 1]) on 100 moons, SVM loss with L2, labels -1/+1."""
    X, y = make_moons(100, noise=0.1)
    model = nn.MLP(2, [16, 16, 1])
    optimizer = nn.SGD(model.parameters(), lr=0.1)

    def loss(outputs: Any, targets: Any) -> Any:
        return nn.binary_hinge(outputs, targets) + nn.l2(model.parameters(), 1e-4)

    return Live(model, X, y * 2 - 1, loss, optimizer, **options)


def blobs(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in 2-D, labels 0, 1, 2."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    y = np.arange(n) % 3
    return centres[y] + rng.normal(scale=0.6, size=(n, 2)), y


def batch_run(activation: str = "relu", **options: Any) -> Live:
    X, y = blobs()
    model = nn.batch.MLP(2, [16, 3], activation)
    return Live(model, X, y, nn.cross_entropy, nn.SGD(model.parameters(), lr=0.5), **options)


def weights(model: Any) -> np.ndarray:
    return np.concatenate([np.ravel(p.data) for p in model.parameters()])


# ---- the run, step by step -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [moons_run, batch_run], ids=["scalar", "batch"])
def test_steps_record_one_frame_each_and_the_loss_falls(make: Any) -> None:
    run = make()
    assert [f["step"] for f in run.history] == [0]
    run.step(30)
    assert [f["step"] for f in run.history] == list(range(31))
    losses = [f["loss"] for f in run.history]
    assert losses[-1] < 0.7 * losses[0]
    assert run.history[-1]["accuracy"] > 0.8
    assert all(f["lr"] == pytest.approx(run.optimizer.lr) for f in run.history)


def test_a_frame_is_the_loss_and_accuracy_of_the_step_it_trained() -> None:
    run = moons_run()
    run.step(2)
    outputs = run.model(run.X)
    expected = float(run.loss(outputs, run.y).data)
    expected_accuracy = float(np.mean((scores_of(outputs)[:, 0] > 0) == (run.y > 0)))
    run.step()
    assert run.history[-1]["loss"] == pytest.approx(expected, abs=1e-12)
    assert run.history[-1]["accuracy"] == expected_accuracy


def test_the_layers_frame_says_what_the_step_did() -> None:
    run = moons_run()
    before = {layer.name: np.array([p.data for p in layer.params]) for layer in run.layers}
    frame = run.step()
    assert [layer["name"] for layer in frame["layers"]] == ["layers.0", "layers.1", "layers.2"]
    for shown, layer in zip(frame["layers"], run.layers):
        after = np.array([p.data for p in layer.params])
        old = before[layer.name]
        assert shown["update_ratio"] == pytest.approx(
            np.linalg.norm(after - old) / np.linalg.norm(old), rel=1e-12
        )
        assert shown["weight_rms"] == pytest.approx(np.sqrt(np.mean(after**2)), rel=1e-12)
        assert sum(shown["weights"]["counts"]) == after.size
        assert shown["weights"]["range"] == pytest.approx(np.abs(after).max())
        # the update of plain SGD is lr x the gradient: the gradient RMS follows
        assert shown["grad_rms"] == pytest.approx(
            np.sqrt(np.mean(((old - after) / 0.1) ** 2)), rel=1e-9
        )


def test_dead_relus_are_the_units_that_get_no_gradient() -> None:
    """Layer 0's biases pushed far below zero: every ReLU of it is off for every sample, so its
    16 units get no gradient and the next layer's weights read zeros."""
    run = batch_run()
    run.model[0].bias.set_data(np.full(16, -100.0))
    frame = run.step()
    assert frame["layers"][0]["dead"] == 1.0
    assert frame["layers"][0]["grad_rms"] == 0.0
    assert frame["layers"][1]["dead"] == 0.0  # the output layer's biases still learn
    healthy = batch_run().step()
    assert healthy["layers"][0]["dead"] < 0.5


def test_units_of_a_batch_linear_are_its_columns() -> None:
    run = batch_run()
    run.step()
    linear = run.model[0]
    run.model.zero_grad()
    nn.cross_entropy(run.model(run.X), run.y).backward()
    squares = (linear.weight.grad**2).sum(axis=0) + linear.bias.grad**2
    assert np.allclose(run.layers[0].unit_rms(), np.sqrt(squares / 3))


# ---- the views: boundary and traced graph -------------------------------------------------------


def test_the_boundary_is_the_models_own_prediction() -> None:
    run = moons_run(resolution=12)
    run.step(3)
    x0, x1, y0, y1 = run.extent
    xs, ys = np.meshgrid(np.linspace(x0, x1, 12), np.linspace(y0, y1, 12))
    grid = np.column_stack([xs.ravel(), ys.ravel()])
    direct = np.array([[run.model(list(point)).data] for point in grid])  # one sample at a time
    assert np.allclose(boundary_scores(run.model, grid), direct, atol=1e-10)
    boundary = run.history[-1]["boundary"]
    assert boundary["classes"].tolist() == (direct[:, 0] > 0).astype(int).tolist()
    assert np.array_equal(boundary["sure"], np.rint(255 * np.tanh(np.abs(direct[:, 0]))))


def test_the_boundary_in_chunks_is_the_boundary_in_one_pass() -> None:
    """(The grid goes through the model in chunks of at most 262,144 / 256 = 1024 rows here.)"""
    model = nn.batch.MLP(2, [16, 16, 3])
    grid = np.random.default_rng(3).normal(size=(2500, 2))
    assert np.allclose(boundary_scores(model, grid), model(grid).data, rtol=0, atol=1e-12)


def test_predictions_of_several_scores_are_the_softmax_top() -> None:
    scores = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 5.0, 1.0]])
    classes, sure = predictions(scores)
    assert classes.tolist() == [0, 0, 1]
    p = np.exp(2.0) / (np.exp(2.0) + 2)
    assert sure == pytest.approx([(p - 1 / 3) / (2 / 3), 0.0, sure[2]])
    assert 0.9 < sure[2] <= 1.0


@pytest.mark.parametrize("make", [moons_run, batch_run], ids=["scalar", "batch"])
def test_the_traced_graph_sizes_are_the_traced_samples_gradients(make: Any) -> None:
    run = make(traced=7)
    frame = run.step()
    graph = frame["graph"]
    assert graph["traced"] == 7
    run.model.zero_grad()
    root = run.loss(run.model(run.X[7:8]), run.y[7:8])
    root.backward()
    assert graph["loss"] == pytest.approx(float(root.data), abs=1e-12)
    setup = run.setup()["graph"]
    for layer in run.layers:
        b = setup["layers"].index(layer.name)  # the layer's box
        grads = np.concatenate([np.ravel(p.grad) for p in layer.params])
        assert graph["boxes"][b] == pytest.approx(np.sqrt(np.mean(grads**2)), rel=1e-9)
        assert graph["units"][f"b{b}"] == pytest.approx(layer.unit_rms().tolist(), rel=1e-9)
    assert setup["boxes"][-1] == "loss" and graph["boxes"][-1] is None  # dL/dL is 1, always
    assert len(graph["edges"]) == len(setup["edges"])
    assert all(f'id="{edge}"' in setup["svg"] for edge in setup["edges"])


def test_tracing_does_not_change_the_training() -> None:
    plain, traced = moons_run(), moons_run()
    plain.step(4)
    for i in (3, 50, 99, 0):
        traced.trace(i)
        traced.step()
    assert np.array_equal(weights(plain.model), weights(traced.model))
    assert all(p.grad == 0.0 for p in traced.model.parameters())  # tracing leaves no gradient


def test_trace_picks_the_sample_and_refuses_one_that_is_not_there() -> None:
    run = moons_run()
    frame = run.trace(42)
    assert run.traced == 42 and frame["graph"]["traced"] == 42
    assert frame["step"] == 0 and len(run.history) == 2
    with pytest.raises(IndexError, match=r"live.trace: sample 100 of 100 \(0 to 99\)"):
        run.trace(100)


# ---- the data, the learning rate, reset --------------------------------------------------------


def test_added_points_are_trained_on_and_removed_ones_are_not() -> None:
    run = moons_run()
    index = run.add_point([0.5, 2.5], 1)
    assert index == 100 and run.X.shape == (101, 2) and run.y[-1] == 1
    outputs = run.model(run.X)
    expected = float(run.loss(outputs, run.y).data)
    assert run.step()["loss"] == pytest.approx(expected, abs=1e-12)
    run.trace(60)
    run.remove_point(10)
    assert run.X.shape == (100, 2) and run.traced == 59  # the traced sample keeps its point
    run.remove_point(59)
    assert run.traced == 0
    assert [f["data"] for f in run.history] == [0, 1, 1, 1, 2, 3]
    assert len(run.datasets[0][0]) == 100 and len(run.datasets[1][0]) == 101
    with pytest.raises(ValueError, match=r"label 0 is none of the classes \[-1, 1\]"):
        run.add_point([0.0, 0.0], 0)
    with pytest.raises(ValueError, match="x has 3 features, the data 2"):
        run.add_point([0.0, 0.0, 1.0], 1)


def test_reset_puts_the_model_and_the_optimiser_back() -> None:
    X, y = blobs()
    model = nn.batch.MLP(2, [8, 3])
    optimizer = nn.SGD(model.parameters(), lr=0.2, momentum=0.9)
    run = Live(model, X, y, nn.cross_entropy, optimizer)
    start = weights(model)
    first = run.step(5)
    assert not np.array_equal(weights(model), start)
    frame = run.reset()
    assert np.array_equal(weights(model), start)
    assert optimizer.steps == 0 and optimizer.velocity == [None] * 4
    assert frame["step"] == 0 and frame["loss"] == pytest.approx(run.history[0]["loss"])
    assert run.step(5)["loss"] == pytest.approx(first["loss"], abs=1e-12)  # the same run again


def test_the_learning_rate_control() -> None:
    run = batch_run()
    run.set_lr(0.05)
    assert run.optimizer.lr == 0.05 and run.step()["lr"] == 0.05
    with pytest.raises(ValueError, match="the learning rate must be a number > 0, got -1"):
        run.set_lr(-1)


def test_data_of_more_than_two_features_has_no_boundary() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    y = (X[:, 0] + X[:, 3] > 0).astype(int)
    model = nn.batch.MLP(4, [8, 2])
    run = Live(model, X, y, nn.cross_entropy, nn.SGD(model.parameters(), lr=0.1))
    frame = run.step(3)
    assert frame["boundary"] is None and run.setup()["two_d"] is False
    assert frame["graph"]["boxes"] and len(frame["layers"]) == 2


def test_bad_data_is_refused_by_name() -> None:
    model = nn.batch.MLP(2, [3])
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"X of shape \(5, 2\) and y of shape \(4,\)"):
        Live(model, np.zeros((5, 2)), np.zeros(4), nn.cross_entropy, optimizer)
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        batch_run().step(0)


# ---- what the page gets --------------------------------------------------------------------------


def test_frames_as_json_carry_no_infinity() -> None:
    assert jsonable({"loss": math.inf, "a": [1.0, math.nan], "b": np.uint8([0, 255])}) == {
        "loss": None,
        "a": [1.0, None],
        "b": "AP8=",
    }


def test_a_diverging_run_is_recorded_and_sent_as_null() -> None:
    run = batch_run()
    run.set_lr(1e6)
    run.step(12)
    losses = [f["loss"] for f in run.history]
    assert losses[-1] > 1e3 * losses[0] or not math.isfinite(losses[-1])
    json.dumps(run.frame_json(), allow_nan=False)  # what the widget sends is valid JSON


def test_the_widget_answers_the_pages_requests() -> None:
    pytest.importorskip("anywidget")
    X, y = blobs()
    model = nn.batch.MLP(2, [8, 3])
    run = live(model, X, y, nn.cross_entropy, nn.SGD(model.parameters(), lr=0.3))
    widget = run.widget
    assert widget is not None and widget.frame["seq"] == 0
    assert widget.setup["classes"] == ["0", "1", "2"] and "<svg" in widget.setup["graph"]["svg"]
    widget.handler({"do": "step", "n": 2})
    assert widget.frame["seq"] == 2 and widget.frame["step"] == 2
    widget.handler({"do": "add", "x": [0.1, 0.2], "label": 2})
    assert run.y[-1] == 2 and len(widget.frame["points"]["X"]) == 91
    assert widget.frame["points"]["y"][-1] == 2
    widget.handler({"do": "trace", "index": 90})
    assert widget.frame["graph"]["traced"] == 90
    widget.handler({"do": "remove", "index": 90})
    widget.handler({"do": "lr", "value": 0.01})
    assert widget.setup["lr"] == 0.01
    widget.handler({"do": "trace", "index": 500})
    assert widget.error == "live.trace: sample 500 of 90 (0 to 89)"
    widget.handler({"do": "jump"})
    assert widget.error.startswith("live: unknown request 'jump'; one of ['add', 'lr',")
    widget.handler({"do": "reset"})
    assert widget.frame["step"] == 0
    with pytest.raises(IndexError):  # without a widget a bad request raises
        Live(model, X, y, nn.cross_entropy, nn.SGD(model.parameters(), lr=0.3)).handle(
            {"do": "trace", "index": 500}
        )


def test_save_writes_a_page_that_holds_every_frame(tmp_path: Path) -> None:
    run = moons_run()
    run.step(3)
    run.add_point([0.0, 1.5], -1)
    run.step(2)
    path = run.save(tmp_path / "run.html", title="moons <live>")
    page = path.read_text(encoding="utf-8")
    assert "<title>moons &lt;live&gt;</title>" in page
    assert live_module_text() in page and "http" not in page.replace(
        "http://www.w3.org", ""
    )  # no CDN: nothing is fetched
    found = re.search(r'<script type="application/json" id="live-data">(.*?)</script>', page, re.S)
    assert found
    record = json.loads(found.group(1))
    assert [f["step"] for f in record["frames"]] == [0, 1, 2, 3, 3, 4, 5]
    assert [len(d["X"]) for d in record["datasets"]] == [100, 101]
    assert record["frames"][-1]["data"] == 1 and record["datasets"][1]["y"][-1] == 0
    assert record["setup"]["classes"] == ["-1", "1"]
    assert record["frames"][-1]["loss"] == pytest.approx(run.history[-1]["loss"])


def test_the_run_shows_as_its_widget_with_a_replay_for_where_no_kernel_runs() -> None:
    pytest.importorskip("anywidget")
    X, y = blobs()
    model = nn.batch.MLP(2, [8, 3])
    run = live(model, X, y, nn.cross_entropy, nn.SGD(model.parameters(), lr=0.3))
    run.step(2)
    data, _ = run._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    loss = run.history[-1]["loss"]
    assert data["text/plain"] == f"Live(MLP, 90 samples, step 2, loss {loss:.4g})"
    page = data["text/html"]
    assert live_module_text() in page and 'class="agl-replay"' in page
    found = re.search(r'<script type="application/json" id="[^"]*">(.*?)</script>', page, re.S)
    assert found and len(json.loads(found.group(1))["frames"]) == 3
    assert run.replay()._repr_html_().count("<script") == 2
