"""`fit`, the optimisers and `python -m nn.train` refuse bad arguments (issue 14, items 4 and 5):
each refusal is the error type, a message naming the function, the value and what was expected,
and nothing trained or stepped."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd_core import Tensor, Value
from nn.data import make_moons
from nn.train.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def moons() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_moons(20, noise=0.1, seed=3)
    return X, y * 2 - 1


def data_of(model: nn.Module) -> list[bytes]:
    return [np.asarray(p.data).tobytes() for p in model.parameters()]


# ---- fit ---------------------------------------------------------------------------------------

X, Y = moons()
FIT_REFUSALS: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    "empty X": (
        {"X": np.zeros((0, 2)), "y": np.zeros(0)},
        ValueError,
        r"fit: X has no rows \(shape \(0, 2\)\); expected at least one sample",
    ),
    "a scalar X": (
        {"X": np.float64(1.0), "y": np.zeros(1)},
        ValueError,
        r"fit: X has no rows \(shape \(\)\); expected at least one sample",
    ),
    "batch_size 0": ({"batch_size": 0}, ValueError, "fit: batch_size must be at least 1, got 0"),
    "batch_size -5": ({"batch_size": -5}, ValueError, "fit: batch_size must be at least 1, got -5"),
    "batch_size 2.5": (
        {"batch_size": 2.5},
        TypeError,
        r"fit: batch_size must be an integer >= 1, got 2\.5",
    ),
    "batch_size True": (
        {"batch_size": True},
        TypeError,
        "fit: batch_size must be an integer >= 1, got True",
    ),
    "epochs 0": ({"epochs": 0}, ValueError, "fit: epochs must be at least 1, got 0"),
    "epochs '3'": ({"epochs": "3"}, TypeError, "fit: epochs must be an integer >= 1, got '3'"),
    "rows differ": (
        {"y": Y[:-1]},
        ValueError,
        "fit: X has 20 rows but y has 19",
    ),
    "empty validation": (
        {"validation": (np.zeros((0, 2)), np.zeros(0))},
        ValueError,
        r"fit: validation has X of shape \(0, 2\) and y of shape \(0,\); expected the same "
        "number of rows, at least one",
    ),
    "validation rows differ": (
        {"validation": (X, Y[:3])},
        ValueError,
        r"fit: validation has X of shape \(20, 2\) and y of shape \(3,\); expected the same "
        "number of rows, at least one",
    ),
}


@pytest.mark.parametrize("case", FIT_REFUSALS, ids=list(FIT_REFUSALS))
def test_fit_refuses_bad_arguments_before_training(case: str) -> None:
    changes, error, message = FIT_REFUSALS[case]
    model = nn.MLP(2, [4, 1], seed=1)
    before = data_of(model)
    arguments: dict[str, Any] = {
        "X": X,
        "y": Y,
        "loss": nn.binary_hinge,
        "optimizer": nn.SGD(model.parameters(), lr=0.1),
        "epochs": 2,
        "progress": False,
        **changes,
    }
    with pytest.raises(error, match=f"^{message}$"):
        nn.fit(model, **arguments)
    assert data_of(model) == before


def test_fit_batch_size_none_is_the_full_batch_and_numpy_integers_are_accepted() -> None:
    steps: list[int] = []
    for batch_size, expected in ((None, 1), (np.int64(8), 3), (20, 1), (100, 1)):
        model = nn.MLP(2, [4, 1], seed=1)
        nn.fit(
            model, X, Y, nn.binary_hinge, nn.SGD(model.parameters(), 0.1), epochs=1,
            batch_size=batch_size, progress=False, callback=lambda info: steps.append(info.step),
        )  # fmt: skip
        assert steps[-1] == expected
        steps.clear()


# ---- optimisers: settings ------------------------------------------------------------------------

NAN, INF = math.nan, math.inf
OPTIMIZER_REFUSALS: dict[str, tuple[Any, type[Exception], str]] = {
    "SGD lr nan": (lambda p: nn.SGD(p, lr=NAN), ValueError, r"SGD: lr \(the learning rate\) "
                   r"must be a finite number in \(0, inf\), got nan"),
    "SGD lr inf": (lambda p: nn.SGD(p, lr=INF), ValueError, "got inf"),
    "SGD lr 0": (lambda p: nn.SGD(p, lr=0.0), ValueError, r"in \(0, inf\), got 0\.0"),
    "SGD lr -1": (lambda p: nn.SGD(p, lr=-1), ValueError, "got -1"),
    "SGD lr text": (lambda p: nn.SGD(p, lr="0.1"), TypeError,
                    r"SGD: lr \(the learning rate\) must be a real number in \(0, inf\), "
                    r"got '0\.1'"),
    "SGD weight_decay nan": (lambda p: nn.SGD(p, 0.1, weight_decay=NAN), ValueError,
                             r"SGD: weight_decay must be a finite number in \[0, inf\), got nan"),
    "SGD weight_decay inf": (lambda p: nn.SGD(p, 0.1, weight_decay=INF), ValueError, "got inf"),
    "SGD weight_decay -0.1": (lambda p: nn.SGD(p, 0.1, weight_decay=-0.1), ValueError,
                              r"got -0\.1"),
    "SGD momentum nan": (lambda p: nn.SGD(p, 0.1, momentum=NAN), ValueError,
                         r"SGD: momentum must be a finite number in \[0, 1\), got nan"),
    "SGD momentum 1": (lambda p: nn.SGD(p, 0.1, momentum=1.0), ValueError, r"got 1\.0"),
    "SGD momentum -0.5": (lambda p: nn.SGD(p, 0.1, momentum=-0.5), ValueError, "got -0.5"),
    "Adam lr nan": (lambda p: nn.Adam(p, lr=NAN), ValueError, r"Adam: lr \(the learning rate\)"),
    "Adam beta nan": (lambda p: nn.Adam(p, betas=(NAN, 0.9)), ValueError,
                      r"Adam: betas\[0\] must be a finite number in \[0, 1\), got nan"),
    "Adam beta 1": (lambda p: nn.Adam(p, betas=(0.9, 1.0)), ValueError,
                    r"Adam: betas\[1\] must be a finite number in \[0, 1\), got 1\.0"),
    "Adam one beta": (lambda p: nn.Adam(p, betas=(0.9,)), ValueError,
                      r"Adam: betas must be two numbers in \[0, 1\), got \(0\.9,\)"),
    "Adam eps 0": (lambda p: nn.Adam(p, eps=0.0), ValueError,
                   r"Adam: eps must be a finite number in \(0, inf\), got 0\.0"),
    "Adam eps nan": (lambda p: nn.Adam(p, eps=NAN), ValueError, "got nan"),
    "no parameters": (lambda p: nn.Adam([]), ValueError,
                      "Adam got an empty parameter list; expected at least one"),
}  # fmt: skip


@pytest.mark.parametrize("case", OPTIMIZER_REFUSALS, ids=list(OPTIMIZER_REFUSALS))
def test_optimisers_refuse_bad_settings(case: str) -> None:
    make, error, message = OPTIMIZER_REFUSALS[case]
    with pytest.raises(error, match=message):
        make([Value(1.0)])


@pytest.mark.parametrize("bad", [NAN, INF, -0.5, "fast", None])
def test_a_schedule_giving_a_bad_rate_is_refused_at_that_step_before_any_update(bad: Any) -> None:
    model = nn.MLP(2, [3, 1], seed=2)
    model(X[0]).backward()
    optimizer = nn.SGD(model.parameters(), lr=lambda step: 0.1 if step < 2 else bad)
    optimizer.step()
    optimizer.step()
    before = data_of(model)
    error = TypeError if isinstance(bad, (str, type(None))) else ValueError
    with pytest.raises(
        error,
        match=rf"SGD: the learning-rate schedule at step 2: its result must be a "
        rf"(finite|real) number in \[0, inf\), got {bad!r}",
    ):
        optimizer.step()
    assert data_of(model) == before and optimizer.steps == 2


def test_a_schedule_may_reach_zero() -> None:
    p = Value(1.0)
    p.grad = 1.0
    optimizer = nn.SGD([p], lr=lambda step: 0.0)
    optimizer.step()
    assert p.data == 1.0 and optimizer.steps == 1


# ---- optimisers: parameters ----------------------------------------------------------------------


def test_a_parameter_listed_twice_is_refused_by_its_dotted_name() -> None:
    model = nn.MLP(2, [3, 1])
    params = model.parameters()
    with pytest.raises(
        ValueError,
        match=r"^SGD: parameter 'layers\.0\.neurons\.1\.b' is listed twice \(positions 5 and 13\); "
        r"expected each parameter once$",
    ):
        nn.SGD([*params, params[5]], lr=0.1)
    batch = nn.batch.MLP(2, [3, 1])
    with pytest.raises(ValueError, match=r"Adam: parameter 'layers\.2\.weight' is listed twice"):
        nn.Adam(batch.parameters() + batch.layers[2].parameters())
    unnamed = Value(1.0)
    with pytest.raises(ValueError, match=r"SGD: parameter #0 is listed twice \(positions 0 and 1"):
        nn.SGD([unnamed, unnamed], lr=0.1)


@pytest.mark.parametrize("grad_shape", [(1,), (3, 1), (), (4,)])
def test_a_gradient_of_another_shape_is_refused_naming_the_parameter(
    grad_shape: tuple[int, ...],
) -> None:
    model = nn.batch.MLP(2, [3, 1], seed=4)
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    model.layers[0].bias.grad = np.ones(grad_shape)  # the bias has shape (3,)
    before = data_of(model)
    for make in (lambda p: nn.SGD(p, 0.1), lambda p: nn.Adam(p, 0.1)):
        optimizer = make(model.parameters())
        with pytest.raises(
            ValueError,
            match=rf"^{type(optimizer).__name__}\.step: the gradient of parameter "
            rf"'layers\.0\.bias' has shape {re_shape(grad_shape)}; expected the parameter's "
            r"\(3,\)$",
        ):
            optimizer.step()
        assert data_of(model) == before and optimizer.steps == 0  # not even the good ones moved


def re_shape(shape: tuple[int, ...]) -> str:
    return str(shape).replace("(", r"\(").replace(")", r"\)")


# ---- Adam: bias correction per parameter ---------------------------------------------------------


def adam_reference(
    data: float, grads: list[float | None], lr: float, b1: float, b2: float, eps: float
) -> list[float]:
    """Adam written out for one number, with its own step count t: a step without a gradient
    is no step at all for it. Returns the value after each step."""
    m = v = 0.0
    t = 0
    trajectory = []
    for g in grads:
        if g is not None:
            t += 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            data -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        trajectory.append(data)
    return trajectory


def test_a_parameter_that_first_gets_a_gradient_at_step_101_is_corrected_as_at_step_1() -> None:
    """The issue's finding: one global step count mis-corrected it (1 - 0.9**101 is about 1, so
    the first update was a tenth of lr)."""
    early = Tensor(np.array([1.0]), requires_grad=True)
    late = Tensor(np.array([1.0]), requires_grad=True)
    optimizer = nn.Adam([early, late], lr=0.01)
    for _ in range(100):
        early.grad, late.grad = np.array([0.5]), None
        optimizer.step()
    early.grad, late.grad = np.array([0.5]), np.array([0.5])
    optimizer.step()
    # at its own first step, Adam moves a parameter by lr * g / (|g| + eps): lr, here
    assert late.data[0] == pytest.approx(1.0 - 0.01 * 0.5 / (0.5 + 1e-8), rel=1e-15)
    assert optimizer.param_steps == [101, 1] and optimizer.steps == 101


@given(
    grads=st.lists(
        st.tuples(*[st.none() | st.floats(-10, 10, allow_nan=False) for _ in range(3)]),
        min_size=1,
        max_size=30,
    ),
    lr=st.floats(1e-4, 1.0),
    betas=st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.9999)),
)
def test_adam_matches_the_per_parameter_reference(
    grads: list[tuple[float | None, ...]], lr: float, betas: tuple[float, float]
) -> None:
    params = [Tensor(np.array([0.5 * i - 1.0]), requires_grad=True) for i in range(3)]
    optimizer = nn.Adam(params, lr=lr, betas=betas, eps=1e-8)
    trajectories: list[list[float]] = [[], [], []]
    for step in grads:
        for p, g in zip(params, step):
            p.grad = None if g is None else np.array([g])
        optimizer.step()
        for trajectory, p in zip(trajectories, params):
            trajectory.append(float(p.data[0]))
    for i, trajectory in enumerate(trajectories):
        expected = adam_reference(0.5 * i - 1.0, [s[i] for s in grads], lr, *betas, 1e-8)
        np.testing.assert_allclose(trajectory, expected, rtol=1e-12, atol=1e-15)


# ---- python -m nn.train --------------------------------------------------------------------------

CLI_REFUSALS = {
    "--epochs 0": "error: argument --epochs: must be an integer >= 1, got 0",
    "--epochs -3": "error: argument --epochs: must be an integer >= 1, got -3",
    "--epochs ten": "error: argument --epochs: must be an integer >= 1, got 'ten'",
    "--lr nan": "error: argument --lr: must be a finite number > 0, got nan",
    "--lr inf": "error: argument --lr: must be a finite number > 0, got inf",
    "--lr 0": "error: argument --lr: must be a finite number > 0, got 0",
    "--lr -0.1": "error: argument --lr: must be a finite number > 0, got -0.1",
    "--hidden 0": "error: argument --hidden: must be an integer >= 1, got 0",
    "--hidden 16 -2": "error: argument --hidden: must be an integer >= 1, got -2",
    "--batch-size 0": "error: argument --batch-size: must be an integer >= 1, got 0",
    "--seed -1": "error: argument --seed: must be an integer >= 0, got -1",
    "--data mnist": "error: --data mnist needs --path DIR with the four MNIST IDX files",
    "--data cifar": "error: argument --data: invalid choice: 'cifar' (choose from 'digits', "
    "'mnist')",
    "--frobnicate": "error: unrecognized arguments: --frobnicate",
}


@pytest.mark.parametrize("argv", CLI_REFUSALS)
def test_the_command_refuses_bad_arguments_in_one_line(
    argv: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv.split()) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [CLI_REFUSALS[argv]]


def test_the_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    for argv in (["--epochs", "0"], ["--lr", "nan"], ["--hidden", "0"]):
        result = subprocess.run(
            [sys.executable, "-m", "nn.train", *argv],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"nope")  # the first file read
    result = subprocess.run(
        [sys.executable, "-m", "nn.train", "--data", "mnist", "--path", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: load_idx: {tmp_path / 'train-images-idx3-ubyte'}: not an IDX file (bad magic "
        "number 6e6f7065); expected 0000 then a type code and a dimension count"
    ]


def test_an_optimizer_of_arrays_and_a_loss_that_is_a_number_say_what_to_pass() -> None:
    """Once raw AttributeErrors, later (issue 25): each is a TypeError at the start naming what
    was given and what to pass instead."""
    with pytest.raises(TypeError, match=r"SGD: parameter #0 is ndarray .* not a Value or a Tensor"):
        nn.SGD([np.zeros(3)], 0.1)
    model = nn.batch.MLP(2, [4, 1])
    X, y = np.zeros((8, 2)), np.zeros((8, 1))
    with pytest.raises(TypeError, match=r"fit: loss\(outputs, y\) returned float 1.0"):
        nn.fit(model, X, y, lambda out, y: 1.0, nn.SGD(model.parameters(), 0.1), epochs=1)
