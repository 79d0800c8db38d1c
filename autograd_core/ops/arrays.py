"""Gradient helpers of the batch path, written once for arrays and Tensors alike.

A batch op's vector-Jacobian product runs on arrays in a first-order pass and on Tensors when the
backward pass is recorded (`create_graph`), so the helpers it uses take either: they call only
what both have (`sum(axis=..., keepdims=...)`, `reshape`, `transpose`, `@`, indexing, `shape`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Operand, is_node

Axes = Any  # an int, a tuple of ints, or None: NumPy's `axis`
Indexer = Any  # what NumPy indexes an array with: ints, slices, integer arrays, a tuple of them


def unbroadcast(grad: Operand, shape: tuple[int, ...]) -> Operand:
    """Sum a gradient back to the shape of an input that NumPy broadcast to make the output (a
    number, of shape (), is returned as it is)."""
    if getattr(grad, "shape", ()) == shape:
        return grad
    extra = grad.ndim - len(shape)
    if grad.shape[extra:] == shape:  # only leading axes were added (a bias over a batch)
        return grad.sum(axis=tuple(range(extra)))
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def with_reduced_axes(g: Operand, axis: Axes, keepdims: bool) -> Operand:
    """The upstream gradient of a reduction over `axis` with the reduced axes put back as 1s, so
    that it broadcasts over the reduction's input."""
    if keepdims or axis is None:
        return g
    ndim = g.ndim + (len(axis) if isinstance(axis, tuple) else 1)
    reduced = {a % ndim for a in axis} if isinstance(axis, tuple) else {axis % ndim}
    kept = iter(g.shape)
    return g.reshape(tuple(1 if a in reduced else next(kept) for a in range(ndim)))


def broadcast(g: Operand, shape: tuple[int, ...]) -> Operand:
    """g repeated to `shape` (an array of its own, writable; a Tensor by its op)."""
    if is_node(g):
        return g.broadcast_to(shape)
    return np.broadcast_to(g, shape).copy()  # a broadcast view is read-only


def scattered(g: Operand, shape: tuple[int, ...], index: Indexer) -> Operand:
    """Zeros of `shape` with g added at `index`, twice where it picks an element twice (a Tensor
    by its op, `scatter_into`)."""
    if is_node(g):
        return g.scatter_into(shape, index)
    full = np.zeros(shape, dtype=g.dtype)
    np.add.at(full, index, g)
    return full


def _as_matrices(g: Operand, A: Operand, B: Operand) -> tuple[Operand, Operand, Operand]:
    """A, B and the upstream g of A @ B with 1-D operands read as NumPy reads them (a row, a
    column) and g shaped as the product of those."""
    A2 = A.reshape(1, -1) if A.ndim == 1 else A
    B2 = B.reshape(-1, 1) if B.ndim == 1 else B
    batch = np.broadcast_shapes(A2.shape[:-2], B2.shape[:-2])
    return A2, B2, g.reshape(*batch, A2.shape[-2], B2.shape[-1])


def _swap_last(t: Operand) -> Operand:
    return t.transpose(*range(t.ndim - 2), t.ndim - 1, t.ndim - 2)


def matmul_grad_a(g: Operand, A: Operand, B: Operand) -> Operand:
    """A's share of the gradient of A @ B: g @ B^T, batch axes summed back."""
    if A.ndim == 2 and B.ndim == 2:
        return g @ B.T
    A2, B2, g2 = _as_matrices(g, A, B)
    return unbroadcast(g2 @ _swap_last(B2), A2.shape).reshape(A.shape)


def matmul_grad_b(g: Operand, A: Operand, B: Operand) -> Operand:
    """B's share of the gradient of A @ B: A^T @ g, batch axes summed back."""
    if A.ndim == 2 and B.ndim == 2:
        return A.T @ g
    A2, B2, g2 = _as_matrices(g, A, B)
    return unbroadcast(_swap_last(A2) @ g2, B2.shape).reshape(B.shape)


def class_labels(labels: object, shape: tuple[int, ...], op: str) -> np.ndarray:
    """One integer class label per row of scores of `shape` (M, k), each below k; else
    ValueError naming `op`."""
    labels = np.asarray(labels)
    if labels.shape != shape[:1] or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{op} needs {shape[0]} integer labels for scores {shape}, "
            f"got shape {labels.shape} of {labels.dtype}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= shape[1]):
        bad = labels[(labels < 0) | (labels >= shape[1])][0]
        raise ValueError(f"{op}: label {bad} is out of range for {shape[1]} classes")
    return labels


def onehot(labels: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Rows of `shape` (M, k) with a 1 at each row's label and 0 elsewhere."""
    out = np.zeros(shape, dtype=dtype)
    out[np.arange(len(labels)), labels] = 1.0
    return out
