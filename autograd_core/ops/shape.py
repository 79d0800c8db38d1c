"""The batch path's ops that move numbers without computing with them: the gradient is moved back
the same way (reshaped, transposed, sliced, scattered, summed over repeats), never scaled."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..graph import Operand, Saved, Shares
from .arrays import Indexer, scattered, unbroadcast
from .kinds import ArrayOp
from .reduce import listed


class Concatenate(ArrayOp):
    """Tensors joined along an existing axis, as one node.  Each input gets its slice of the
    upstream gradient."""

    name = "concatenate"
    arity = None
    gate = "shape"
    meaning = "concatenate: each input gets its own slice of the gradient"
    vjp_texts = ("dL/d{0} = its slice of dL/d{out}",)

    @staticmethod
    def value(inputs: tuple[np.ndarray, ...], axis: int) -> tuple[np.ndarray, tuple[object, ...]]:
        out = np.concatenate(inputs, axis=axis)
        ends = np.cumsum([x.shape[axis] for x in inputs])
        return out, (axis % out.ndim, list(zip([0, *ends[:-1]], ends)))

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        axis, bounds = saved
        slices = [(*(slice(None),) * axis, slice(start, stop)) for start, stop in bounds]
        return tuple(g[at] if wanted else None for at, wanted in zip(slices, needed))

    @classmethod
    def local_grad_texts(cls, inputs: Sequence[str], out: str, op: str = "") -> list[str]:
        return ["1"] * len(inputs)

    @classmethod
    def vjp_text_list(cls, inputs: Sequence[str], out: str, root: str, op: str = "") -> list[str]:
        return [f"d{root}/d{name} = its slice of d{root}/d{out}" for name in inputs]

    @classmethod
    def formula_text(cls, inputs: Sequence[str], op: str = "") -> str:
        return f"{cls.name}({listed(inputs, ', ')})"


class Stack(Concatenate):
    """Tensors of one shape stacked along a new axis, as one node.  Each input gets its layer of
    the upstream gradient."""

    name = "stack"
    meaning = "stack: each input gets its own layer of the gradient"

    @staticmethod
    def value(inputs: tuple[np.ndarray, ...], axis: int) -> tuple[np.ndarray, tuple[object, ...]]:
        out = np.stack(inputs, axis=axis)
        return out, (axis % out.ndim,)

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        layers = [(*(slice(None),) * saved[0], k) for k in range(len(needed))]
        return tuple(g[at] if wanted else None for at, wanted in zip(layers, needed))

    @classmethod
    def vjp_text_list(cls, inputs: Sequence[str], out: str, root: str, op: str = "") -> list[str]:
        return [f"d{root}/d{name} = its layer of d{root}/d{out}" for name in inputs]


class Reshape(ArrayOp):
    """The same data in a new shape; the gradient is reshaped back."""

    name = method = "reshape"
    gate = "shape"
    meaning = "reshape: the gradient is reshaped back"
    local_texts = ("1",)
    vjp_texts = ("dL/d{0} = dL/d{out} reshaped to {0}'s shape",)

    @staticmethod
    def value(
        inputs: tuple[np.ndarray, ...], shape: tuple[int, ...]
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        return inputs[0].reshape(shape), ()

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        return (g.reshape(inputs[0].shape),)


class Astype(ArrayOp):
    """The data in another float dtype; the gradient comes back in the input's."""

    name = method = "astype"
    gate = "shape"
    meaning = "astype: the gradient is cast back to the input's dtype"
    local_texts = ("1",)
    vjp_texts = ("dL/d{0} = dL/d{out} in {0}'s dtype",)

    @staticmethod
    def value(
        inputs: tuple[np.ndarray, ...], dtype: np.dtype
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        return inputs[0].astype(dtype), ()

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        return (g.astype(inputs[0].dtype),)


class Transpose(ArrayOp):
    """Axes permuted; the gradient is permuted back."""

    name = method = "transpose"
    gate = "shape"
    meaning = "transpose: the gradient is transposed back"
    local_texts = ("1",)
    formula = "{0}^T"
    vjp_texts = ("dL/d{0} = dL/d{out} with its axes put back",)

    @staticmethod
    def value(
        inputs: tuple[np.ndarray, ...], order: tuple[int, ...]
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        return inputs[0].transpose(order), (tuple(int(a) for a in np.argsort(order)),)

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        return (g.transpose(*saved[0]),)


class Index(ArrayOp):
    """Indexing, integer arrays included.  The gradient is scattered back; an element picked
    twice gets both contributions."""

    name = "index"
    method = "__getitem__"
    gate = "shape"
    meaning = (
        "index: the gradient goes back to the picked elements (summed where picked twice), 0 "
        "elsewhere"
    )
    local_texts = ("1 where picked",)
    formula = "{0}[...]"
    vjp_texts = ("dL/d{0} = dL/d{out} scattered back into {0}'s shape",)

    @staticmethod
    def value(
        inputs: tuple[np.ndarray, ...], index: Indexer
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        return np.asarray(inputs[0][index]), (index,)

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        return (scattered(g, inputs[0].shape, saved[0]),)


class BroadcastTo(ArrayOp):
    """The input repeated along new leading axes and axes of size 1 to make a shape (NumPy's
    broadcasting, as an op).  The gradient is summed back over the repeats."""

    name = method = "broadcast_to"
    gate = "shape"
    meaning = "broadcast_to: the gradient is summed back over the axes the input was repeated along"
    local_texts = ("1",)
    vjp_texts = ("dL/d{0} = dL/d{out} summed back to {0}'s shape",)

    @staticmethod
    def value(
        inputs: tuple[np.ndarray, ...], shape: tuple[int, ...]
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        return np.broadcast_to(inputs[0], shape).copy(), ()  # a broadcast view is read-only

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        return (unbroadcast(g, inputs[0].shape),)


class ScatterInto(ArrayOp):
    """Zeros of a shape with the input added at an index (twice where it picks an element
    twice): what indexing does to a gradient, as an op, so that it can be differentiated again.
    d/dx = upstream[index]."""

    name = method = "scatter_into"
    gate = "shape"
    meaning = (
        "scatter_into (indexing's gradient as an op): the gradient of the picked places goes back"
    )
    local_texts = ("1 at the picked places",)
    formula = "scatter({0})"
    vjp_texts = ("dL/d{0} = dL/d{out} at the picked places",)

    @staticmethod
    def value(
        inputs: tuple[np.ndarray, ...], shape: tuple[int, ...], index: Indexer
    ) -> tuple[np.ndarray, tuple[object, ...]]:
        return scattered(inputs[0], shape, index), (shape, index)

    @staticmethod
    def vjp(
        g: Operand, inputs: tuple[Operand, ...], out: Operand, saved: Saved, needed: Sequence[bool]
    ) -> Shares:
        return (g[saved[1]],)
