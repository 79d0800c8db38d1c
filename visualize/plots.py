"""Plots with matplotlib: the training history, a 2-D decision boundary, a confusion matrix.

Each builds a figure without pyplot (so no display is needed), returns it, and saves it when
given a path. The figure draws itself as a PNG in a notebook (`_repr_png_`), with no
`%matplotlib` magic needed, so a student sees a picture, not `<Figure size ...>`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

try:
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
except ImportError as missing:  # matplotlib is the [plots] extra, not part of the core install
    raise ImportError(
        "visualize.plots needs matplotlib: pip install 'autograd-core[plots]'"
    ) from missing

from autograd_core import no_grad
from nn.files import write_atomically
from nn.train import scores_of


class PlotFigure(Figure):
    """A matplotlib Figure that shows as a PNG wherever IPython displays it."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()


def _save(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:  # the format from the name (PNG without a suffix), as savefig does
        kind = Path(path).suffix.lstrip(".").lower() or "png"
        write_atomically(
            path,
            lambda file: figure.savefig(file, format=kind, dpi=110, bbox_inches="tight"),
            "plot",
        )
    return figure


def plot_history(
    history: dict[str, list[float]], path: str | os.PathLike[str] | None = None
) -> Figure:
    """Loss (left) and every other metric (right) per epoch, validation dashed."""
    if not history.get("loss"):
        raise ValueError("plot_history needs a history with a non-empty 'loss' list")
    metrics = [k for k in history if k not in ("loss", "val_loss") and not k.startswith("val_")]
    figure = PlotFigure(figsize=(10 if metrics else 5, 3.6))
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
    figure = PlotFigure(figsize=(5, 4.4))
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


def plot_confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    path: str | os.PathLike[str] | None = None,
    title: str = "confusion matrix",
) -> Figure:
    """Counts of (true class, predicted class), with the counts written in the cells (white on
    the dark ones)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"plot_confusion_matrix needs two 1-D label arrays of one shape, got {y_true.shape} "
            f"and {y_pred.shape}"
        )
    classes = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    counts = np.zeros((classes, classes), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    figure = PlotFigure(figsize=(4.5, 4))
    ax = figure.subplots()
    ax.imshow(counts, cmap="Blues")
    for (i, j), count in np.ndenumerate(counts):
        if count:
            colour = "white" if count > counts.max() / 2 else "black"
            ax.text(j, i, count, ha="center", va="center", fontsize=8, color=colour)
    ax.set(
        xlabel="predicted", ylabel="true", xticks=range(classes), yticks=range(classes), title=title
    )
    figure.tight_layout()
    return _save(figure, path)
