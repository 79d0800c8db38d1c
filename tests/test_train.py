"""The training loop on micrograd's moons demo, its history, callback and progress bar."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn.data import make_moons


def moons() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_moons(100, noise=0.1, seed=1337)
    return X, y * 2 - 1


def test_moons_mlp_reaches_full_training_accuracy_in_100_steps() -> None:
    """micrograd's demo: MLP(2, [16, 16, 1]), SVM loss + 1e-4 L2, SGD with lr 1 -> 0.1."""
    X, y = moons()
    model = nn.MLP(2, [16, 16, 1], init="micrograd", seed=0)
    params = model.parameters()
    history = nn.fit(
        model,
        X,
        y,
        loss=lambda out, target: nn.binary_hinge(out, target) + nn.l2(params, 1e-4),
        optimizer=nn.SGD(params, lr=lambda step: 1.0 - 0.9 * step / 100),
        epochs=100,
        progress=False,
    )
    assert len(history["loss"]) == len(history["accuracy"]) == 100
    assert history["loss"][-1] < history["loss"][0] / 5
    assert max(history["accuracy"]) == 1.0
    final = nn.evaluate(model, X, y, nn.binary_hinge, {"accuracy": nn.accuracy})
    assert final["accuracy"] == 1.0


def test_minibatches_validation_and_callback_stop() -> None:
    X, y = moons()
    model = nn.MLP(2, [8, 1], seed=1)
    steps = []

    def callback(info: nn.train.StepInfo) -> bool:
        steps.append((info.epoch, info.step, info.loss))
        return info.step == 7  # stop in the middle of the third epoch

    history = nn.fit(
        model,
        X,
        y,
        loss=nn.binary_hinge,
        optimizer=nn.Adam(model.parameters(), lr=0.01),
        epochs=10,
        batch_size=32,
        validation=(X[:20], y[:20]),
        callback=callback,
        progress=False,
    )
    assert [s[:2] for s in steps] == [(0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (1, 6), (1, 7)]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == len(history["val_loss"]) == 2
    assert 0.0 <= history["val_accuracy"][-1] <= 1.0
    # the stopped epoch's mean covers just the batches it ran: 3 steps of 32 samples
    assert history["loss"][1] == pytest.approx(np.mean([s[2] for s in steps[4:]]), rel=0.2)


def test_progress_bar_writes_to_stderr_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = moons()
    model = nn.MLP(2, [4, 1])
    nn.fit(model, X, y, nn.binary_hinge, nn.SGD(model.parameters(), 0.1), epochs=2, progress=True)
    assert "2/2" in capsys.readouterr().err
    nn.fit(model, X, y, nn.binary_hinge, nn.SGD(model.parameters(), 0.1), epochs=2)
    assert capsys.readouterr().err == ""  # not a terminal: quiet by default


def test_accuracy_for_one_score_and_for_classes() -> None:
    assert nn.accuracy([[0.3], [-0.2], [1.0]], np.array([1, -1, -1])) == pytest.approx(2 / 3)
    assert nn.accuracy([[0.3], [-0.2]], np.array([1, 0])) == 1.0
    assert nn.accuracy([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0]], np.array([1, 2])) == 0.5


def test_fit_rejects_mismatched_data() -> None:
    model = nn.MLP(2, [1])
    with pytest.raises(ValueError, match="100 rows but y has 99"):
        X, y = moons()
        nn.fit(model, X, y[:99], nn.binary_hinge, nn.SGD(model.parameters(), 0.1))
    with pytest.raises(ValueError, match="unknown metric"):
        nn.fit(model, X, y, nn.binary_hinge, nn.SGD(model.parameters(), 0.1), metrics=["f1"])
