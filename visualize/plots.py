"""Plots with matplotlib: the training history and a 2-D decision boundary.

Both build a `matplotlib.figure.Figure` without pyplot (so no display is needed), return it, and
save it when given a path; in a notebook the returned figure shows inline.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from autograd_core import no_grad
from nn.train import scores_of


def _save(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        figure.savefig(path, dpi=110, bbox_inches="tight")
    return figure


def plot_history(
    history: dict[str, list[float]], path: str | os.PathLike[str] | None = None
) -> Figure:
    """Loss (left) and every other metric (right) per epoch, validation dashed."""
    if not history.get("loss"):
        raise ValueError("plot_history needs a history with a non-empty 'loss' list")
    metrics = [k for k in history if k not in ("loss", "val_loss") and not k.startswith("val_")]
    figure = Figure(figsize=(10 if metrics else 5, 3.6))
    axes = figure.subplots(1, 2 if metrics else 1, squeeze=False)[0]
    epochs = np.arange(1, len(history["loss"]) + 1)
    axes[0].plot(epochs, history["loss"], label="training")
    if "val_loss" in history:
        axes[0].plot(epochs, history["val_loss"], "--", label="validation")
    axes[0].set(title="loss", xlabel="epoch")
    axes[0].legend()
    for name in metrics:
        axes[1].plot(epochs, history[name], label=name)
        if f"val_{name}" in history:
            axes[1].plot(epochs, history[f"val_{name}"], "--", label=f"validation {name}")
    if metrics:
        axes[1].set(title=", ".join(metrics), xlabel="epoch")
        axes[1].legend()
    figure.tight_layout()
    return _save(figure, path)


def plot_decision_boundary(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    path: str | os.PathLike[str] | None = None,
    resolution: int = 120,
) -> Figure:
    """The classes a 2-D classifier predicts over the plane, with the data on top.

    Works for scalar models (called one point at a time) and batch models alike; one output is
    read by its sign, several by their argmax.
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D points, got X of shape {X.shape}")
    pad = 0.25 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
    xs, ys = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    grid = np.column_stack([xs.ravel(), ys.ravel()])
    with no_grad():
        scores = scores_of(model(grid))
    predicted = (scores[:, 0] > 0).astype(int) if scores.shape[1] == 1 else scores.argmax(axis=1)
    classes = np.unique(y)
    colours = ListedColormap(
        ["#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fc9272"][: max(2, len(classes))]
    )
    figure = Figure(figsize=(5, 4.4))
    ax = figure.subplots()
    ax.contourf(xs, ys, predicted.reshape(xs.shape), alpha=0.6, cmap=colours)
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=(y > 0) if len(classes) == 2 else y,
        s=22,
        cmap="coolwarm",
        edgecolors="black",
        linewidths=0.4,
    )
    ax.set(title="decision boundary", xlim=(low[0], high[0]), ylim=(low[1], high[1]))
    figure.tight_layout()
    return _save(figure, path)
