"""Datasets and batching."""

from __future__ import annotations

import numpy as np


def make_moons(
    n: int = 100, noise: float = 0.1, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles in 2-D, as scikit-learn's `make_moons` draws them.

    Returns X of shape (n, 2) and y of shape (n,) with labels 0 (upper moon) and 1 (lower moon).
    Gaussian noise with standard deviation `noise` is added from `np.random.default_rng(seed)`.
    """
    if n < 2:
        raise ValueError(f"make_moons needs n >= 2 points, got {n}")
    if noise < 0:
        raise ValueError(f"make_moons needs noise >= 0, got {noise}")
    n_upper = n // 2
    n_lower = n - n_upper
    upper = np.linspace(0.0, np.pi, n_upper)
    lower = np.linspace(0.0, np.pi, n_lower)
    X = np.concatenate(
        [
            np.stack([np.cos(upper), np.sin(upper)], axis=1),
            np.stack([1.0 - np.cos(lower), 0.5 - np.sin(lower)], axis=1),
        ]
    )
    y = np.concatenate([np.zeros(n_upper, dtype=np.int64), np.ones(n_lower, dtype=np.int64)])
    rng = np.random.default_rng(seed)
    if noise > 0:
        X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n)
    return X[order], y[order]
