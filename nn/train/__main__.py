"""`python -m nn.train`: train a batch MLP on the digits, or on MNIST IDX files you have."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

import numpy as np

from ..batch import MLP
from ..data import load_digits, train_test_split
from ..losses import cross_entropy
from ..optim import Adam
from . import fit, load_mnist


class UsageError(Exception):
    """A bad command line: printed as one `error: ...` line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the usage and exit; the command prints one line instead
        raise UsageError(message)


def number(text: str, kind: type[int] | type[float], low: float, strict: bool) -> float:
    """`text` as an int or float that is finite and above `low` (or at least `low`)."""
    expected = (
        f"{'an integer' if kind is int else 'a finite number'} {'>' if strict else '>='} {low:g}"
    )
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {expected}, got {text!r}") from None
    if not (math.isfinite(value) and (value > low if strict else value >= low)):
        raise argparse.ArgumentTypeError(f"must be {expected}, got {text}")
    return value


def positive_int(text: str) -> int:
    return int(number(text, int, 1, strict=False))


def positive_finite(text: str) -> float:
    return number(text, float, 0, strict=True)


def seed(text: str) -> int:
    return int(number(text, int, 0, strict=False))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m nn.train`: train a batch MLP on the digits, or on MNIST files you have."""
    parser = _Parser(prog="python -m nn.train", description=main.__doc__)
    parser.add_argument("--data", choices=["digits", "mnist"], default="digits")
    parser.add_argument("--path", help="the folder with the four MNIST IDX files (for mnist)")
    parser.add_argument("--hidden", type=positive_int, nargs="*", default=[128])
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--lr", type=positive_finite, default=1e-2)
    parser.add_argument("--seed", type=seed, default=0)
    try:
        args = parser.parse_args(argv)
        if args.data == "mnist" and not args.path:
            raise UsageError("--data mnist needs --path DIR with the four MNIST IDX files")
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.data == "mnist":
        try:
            X_train, X_test, y_train, y_test = load_mnist(args.path)
        except (OSError, ValueError) as error:  # missing, unreadable or malformed files
            print(f"error: {error}", file=sys.stderr)
            return 2
    else:
        X, y = load_digits()
        X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, seed=args.seed)
    model = MLP(X_train.shape[1], [*args.hidden, 10], seed=args.seed, dtype=np.float32)
    print(f"{model} on {len(X_train)} training and {len(X_test)} test images")
    start = time.perf_counter()
    history = fit(
        model,
        X_train,
        y_train,
        loss=cross_entropy,
        optimizer=Adam(model.parameters(), lr=args.lr),
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation=(X_test, y_test),
        seed=args.seed,
    )
    print(
        f"test accuracy {history['val_accuracy'][-1]:.2%} after {args.epochs} epochs "
        f"in {time.perf_counter() - start:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
