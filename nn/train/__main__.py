"""`python -m nn.train`: train a batch MLP on the digits, or on MNIST IDX files you have."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from ..batch import MLP
from ..data import load_digits, train_test_split
from ..losses import cross_entropy
from ..optim import Adam
from . import fit, load_mnist


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m nn.train`: train a batch MLP on the digits, or on MNIST files you have."""
    parser = argparse.ArgumentParser(prog="python -m nn.train", description=main.__doc__)
    parser.add_argument("--data", choices=["digits", "mnist"], default="digits")
    parser.add_argument("--path", help="the folder with the four MNIST IDX files (for mnist)")
    parser.add_argument("--hidden", type=int, nargs="*", default=[128])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.data == "mnist":
        if not args.path:
            parser.error("--data mnist needs --path DIR with the four MNIST IDX files")
        try:
            X_train, X_test, y_train, y_test = load_mnist(args.path)
        except (FileNotFoundError, ValueError) as error:
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
