"""`make demo`: the chain rule on f = (x + y) * z (printed, drawn and stepped through), the four
gate patterns, micrograd's moons MLP trained with the `nn` library (with its decision boundary),
the README's pictures (a neuron's step-through, a whole batch drawn collapsed), and the batch
path on the 8x8 digits. Pictures go to out/."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pictures import write_pictures  # scripts/pictures.py, beside this file

import nn
from autograd_core import Value
from nn.batch import MLP
from nn.data import load_digits, make_moons, train_test_split
from visualize import draw_graph, trace_backward
from visualize.plots import plot_decision_boundary, plot_history

OUT = Path("out")


def chain_rule() -> None:
    print("== The chain rule on f = (x + y) * z ==")
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    f.backward()
    print(f"forward:  q = x + y = {q.data:g},  f = q * z = {f.data:g}")
    print(f"backward: df/dz = q = {z.grad:g},  df/dq = z = {q.grad:g}")
    print(f"          df/dx = df/dq * dq/dx = {q.grad:g} * 1 = {x.grad:g}")
    print(f"          df/dy = df/dq * dq/dy = {q.grad:g} * 1 = {y.grad:g}")
    graph = draw_graph(f, local_grads=True)
    for suffix in ("svg", "png"):
        (OUT / f"chain_rule.{suffix}").write_bytes(graph.pipe(format=suffix))
    # the step-through replays the backward pass on a fresh copy of the graph
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    trace_backward(f).to_html(OUT / "chain_rule_steps.html", title="Backward pass of f = (x + y) z")
    print(f"pictures: {OUT}/chain_rule.svg, .png; step-through: {OUT}/chain_rule_steps.html")


def gate_patterns() -> None:
    print("\n== The four gate patterns (upstream gradient 2 each) ==")
    a, b = Value(3.0, "a"), Value(-1.0, "b")
    (2 * (a + b)).backward()
    print(f"add distributes:   a + b        -> a.grad = {a.grad:g}, b.grad = {b.grad:g}")

    a, b = Value(3.0, "a"), Value(-1.0, "b")
    (2 * (a * b)).backward()
    print(
        f"mul swaps:         a * b        -> a.grad = {a.grad:g} (2*b), b.grad = {b.grad:g} (2*a)"
    )

    a = Value(3.0, "a")
    (2 * (a * 1.5 + a * 0.5)).backward()
    print(f"copy adds:         1.5a + 0.5a  -> a.grad = {a.grad:g} (2*1.5 + 2*0.5)")

    a, b = Value(3.0, "a"), Value(-1.0, "b")
    (2 * a.max(b)).backward()
    print(f"max routes:        max(a, b)    -> a.grad = {a.grad:g}, b.grad = {b.grad:g}")


def train_moons() -> None:
    print("\n== Training MLP(2, [16, 16, 1]) on 100 moons points (micrograd's demo) ==")
    X, y = make_moons(100, noise=0.1, seed=1337)
    y = y * 2 - 1  # the SVM loss wants labels -1 / +1
    model = nn.MLP(2, [16, 16, 1], init="micrograd", seed=0)
    params = model.parameters()
    print(f"{model}: {len(params)} parameters")
    history = nn.fit(
        model,
        X,
        y,
        loss=lambda out, target: nn.binary_hinge(out, target) + nn.l2(params, 1e-4),
        optimizer=nn.SGD(params, lr=lambda step: 1.0 - 0.9 * step / 100),
        epochs=100,
    )
    final = nn.evaluate(model, X, y, nn.binary_hinge, {"accuracy": nn.accuracy})
    first_perfect = history["accuracy"].index(1.0) + 1 if 1.0 in history["accuracy"] else None
    print(
        f"loss {history['loss'][0]:.4f} -> {history['loss'][-1]:.4f}; "
        f"100% accuracy first at step {first_perfect}; final accuracy {final['accuracy']:.0%}"
    )
    plot_decision_boundary(model, X, y, OUT / "moons_boundary.png")
    plot_history(history, OUT / "moons_history.png")
    print(f"pictures: {OUT}/moons_boundary.png, {OUT}/moons_history.png")


def train_digits() -> None:
    print("\n== The batch path: 8x8 digits, fixed 80/20 split ==")
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2, seed=0)
    model = MLP(64, [128, 10], seed=0)
    start = time.perf_counter()
    history = nn.fit(
        model,
        X_train,
        y_train,
        loss=nn.cross_entropy,
        optimizer=nn.Adam(model.parameters(), lr=1e-2),
        epochs=20,
        batch_size=64,
        validation=(X_test, y_test),
    )
    print(
        f"{model} with Adam: test accuracy {history['val_accuracy'][-1]:.2%} "
        f"in {time.perf_counter() - start:.2f} s"
    )

    # The seed's MNIST-shaped softmax classifier: one linear layer, cross-entropy + L2.
    linear = nn.Linear(64, 10, seed=0)
    params = linear.parameters()
    start = time.perf_counter()
    history = nn.fit(
        linear,
        X_train,
        y_train,
        loss=lambda out, target: nn.cross_entropy(out, target) + nn.l2(params, 1e-4),
        optimizer=nn.SGD(params, lr=0.5, momentum=0.9),
        epochs=20,
        batch_size=64,
        validation=(X_test, y_test),
    )
    print(
        f"softmax classifier {linear} with SGD: test accuracy "
        f"{history['val_accuracy'][-1]:.2%} in {time.perf_counter() - start:.2f} s"
    )


def readme_pictures() -> None:
    print("\n== A neuron's backward pass step by step, and a whole batch drawn collapsed ==")
    for path in write_pictures(OUT):
        print(f"wrote {path}")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    chain_rule()
    gate_patterns()
    train_moons()
    readme_pictures()
    train_digits()
