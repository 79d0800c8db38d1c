"""`make demo`: the chain rule on f = (x + y) * z, the four gate patterns, and micrograd's moons
MLP trained with the `nn` library."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn
from autograd_core import Value
from nn.data import make_moons


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
        progress=True,
    )
    final = nn.evaluate(model, X, y, nn.binary_hinge, {"accuracy": nn.accuracy})
    first_perfect = history["accuracy"].index(1.0) + 1 if 1.0 in history["accuracy"] else None
    print(
        f"loss {history['loss'][0]:.4f} -> {history['loss'][-1]:.4f}; "
        f"100% accuracy first at step {first_perfect}; final accuracy {final['accuracy']:.0%}"
    )


if __name__ == "__main__":
    chain_rule()
    gate_patterns()
    train_moons()
