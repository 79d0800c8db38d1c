"""`make demo`: the chain rule on f = (x + y) * z, then one example of each gate pattern."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograd_core import Value


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


if __name__ == "__main__":
    chain_rule()
    gate_patterns()
