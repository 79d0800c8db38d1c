"""`Module`: parameters with stable dotted names, gradients reset, state saved as `.npz` or as
`.safetensors` under PyTorch's names and layouts, and batch models exported to ONNX."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from autograd_core import Tensor, Value
from autograd_core.graph import GRAPH_WALK

from . import onnx_export
from .files import (
    REAL_KINDS,
    names_mismatch,
    read_npz_state,
    read_safetensors_state,
    safetensors_bytes,
    write_atomically,
)

Parameter = Value | Tensor


def is_parameter(obj: object) -> bool:
    """A trainable node: one that says `requires_grad` (every Value does; a Tensor when asked)."""
    return getattr(obj, "requires_grad", False) is True


def zero_grad(parameters: Iterable[Parameter]) -> None:
    """Forget accumulated gradients (each node type knows its empty gradient). Holds
    `GRAPH_WALK`, so that a backward pass in another thread does not put them back."""
    with GRAPH_WALK:
        for p in parameters:
            p.zero_grad()


class Module:
    """Base class of everything with parameters, on either path.

    Parameters are found by walking the instance's attributes in definition order: a parameter
    is named by its attribute, a list of them by attribute and index, and submodules (alone or in
    lists) add their own names after a dot, e.g. `layers.0.neurons.3.w.1`.

    A subclass defines `forward(x)` and is called as `model(x)`, as in PyTorch (or defines
    `__call__` itself, as in micrograd).

    Parameters are labelled with their dotted names as they are attached (`w.0` in a neuron,
    `layers.0.neurons.3.w.0` once the neuron is in an MLP), so pictures and the step-through can
    tell weights from inputs. A label you gave a parameter yourself is kept.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        for dotted, parameter in _named(value, name):
            old = parameter.label
            if not old or dotted.endswith("." + old):  # unlabelled, or labelled by a submodule
                parameter.label = dotted

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines neither forward nor __call__")

    def named_parameters(self) -> list[tuple[str, Any]]:
        return list(_walk(self, ""))

    def parameters(self) -> list[Any]:
        return [p for _, p in _walk(self, "")]

    def zero_grad(self) -> None:
        zero_grad(self.parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data as a NumPy array, by name."""
        return {name: np.array(p.data, copy=True) for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set every parameter from `state`, all or nothing: names are checked and every value is
        converted to its parameter's dtype before the first one is assigned, so a bad state
        (a missing or unexpected name, a wrong shape, complex or non-numeric data, a value that
        overflows the dtype) raises ValueError and leaves the model exactly as it was."""
        named = self.named_parameters()
        if mismatch := names_mismatch([name for name, _ in named], state):
            raise ValueError(
                f"load_state_dict: the state does not match {type(self).__name__}: {mismatch}"
            )
        converted = {name: converted_value(name, state[name], p.data) for name, p in named}
        for name, p in named:
            p.set_data(converted[name])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state to `path`, atomically (see `write_atomically`): through a symlink to
        its target, never over a directory or a device, with the umask's mode for a new file and
        the old mode for a file saved over.

        A name ending in `.safetensors` gets the safetensors format under PyTorch's names and
        layouts (`torch_state_dict`), which `torch_model.load_state_dict(
        safetensors.torch.load_file(path))` reads; any other name a NumPy `.npz` archive of
        `state_dict` (our names).
        """
        who = f"{type(self).__name__}.save"
        if _is_safetensors(path):
            data = safetensors_bytes(self.torch_state_dict())
            write_atomically(path, lambda file: file.write(data), who)
        else:
            state: dict[str, Any] = self.state_dict()
            write_atomically(path, lambda file: np.savez(file, **state), who)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Read a state written by `save` (or, for `.safetensors`, by PyTorch for the same
        layers), all or nothing (see `read_npz_state` and `read_safetensors_state`).

        Raises FileNotFoundError, PermissionError or IsADirectoryError as opening the path does,
        and ValueError for anything else wrong (a device, a `.npy`, a truncated, corrupted,
        oversized or mismatched file); the message names the path and the reason, and the model
        is left bit-for-bit unchanged.
        """
        who = f"{type(self).__name__}.load"
        try:
            if _is_safetensors(path):
                layout = self.checked_torch_layout()
                shapes = {entry.name: entry.shape for entry in layout}
                self.load_torch_state_dict(read_safetensors_state(path, shapes, who))
            else:
                named = self.named_parameters()
                shapes = {name: np.shape(p.data) for name, p in named}
                self.load_state_dict(read_npz_state(path, shapes, who))
        except ValueError as error:
            message = str(error)
            if not message.startswith(who):  # the reader's own errors already say who and where
                message = f"{who}: {os.fspath(path)}: {message}"
            raise ValueError(message) from None

    # ---- PyTorch's names and layouts ---------------------------------------------------------

    def torch_layout(self, prefix: str = "", torch_prefix: str = "") -> list[TorchTensor]:
        """Where each of PyTorch's tensors for the same architecture comes from: by default
        PyTorch's names are ours (a parameter is named by its attribute, a list's items by index,
        as `nn.ParameterList` / `nn.ModuleList` name them); `Linear`, `Sequential` and the scalar
        `Neuron`, `Layer` and `MLP` say how they differ."""
        return [
            entry
            for attribute, value in vars(self).items()
            for entry in _torch_named(value, prefix + attribute, torch_prefix + attribute)
        ]

    def checked_torch_layout(self) -> list[TorchTensor]:
        """`torch_layout()`, checked to hold every parameter exactly once."""
        layout = self.torch_layout()
        used = [part for entry in layout for part in entry.parts]
        if mismatch := names_mismatch([name for name, _ in self.named_parameters()], used):
            raise TypeError(
                f"{type(self).__name__}.torch_layout does not cover the parameters "
                f"once each: {mismatch}"
            )
        return layout

    def torch_state_dict(self) -> dict[str, np.ndarray]:
        """PyTorch's `state_dict()` of the same architecture, as NumPy arrays: for
        `Sequential(Linear(2, 16), ReLU(), Linear(16, 1))`, `0.weight` of shape (16, 2) (PyTorch
        stores (out, in); our `Linear` (in, out)), `0.bias`, `2.weight`, `2.bias`. A scalar or
        batch MLP is named as the `torch.nn.Sequential` of its layers and activations."""
        state = self.state_dict()
        return {entry.name: entry.gather(state) for entry in self.checked_torch_layout()}

    def load_torch_state_dict(self, state: dict[str, Any]) -> None:
        """Set every parameter from a mapping under PyTorch's names and layouts (what
        `torch_state_dict` gives, or a torch model's `state_dict()` converted with
        `.numpy()`), all or nothing as `load_state_dict`."""
        layout = self.checked_torch_layout()
        if mismatch := names_mismatch([entry.name for entry in layout], state):
            raise ValueError(
                f"load_torch_state_dict: the state does not match {type(self).__name__}: {mismatch}"
            )
        ours: dict[str, Any] = {}
        for entry in layout:
            value = np.asarray(state[entry.name])
            if value.shape != entry.shape:
                raise ValueError(
                    f"shape mismatch for {entry.name}: PyTorch's layout of this model has "
                    f"{entry.shape}, the state has {value.shape}"
                )
            ours.update(entry.scatter(value))
        self.load_state_dict(ours)

    # ---- ONNX --------------------------------------------------------------------------------

    def to_onnx(self, path: str | os.PathLike[str], example: Any, *, opset: int = 17) -> None:
        """Write the model as an ONNX file (checked by `onnx.checker`), for a batch of inputs
        like `example`, an (M, nin) array; the batch size stays free. The [export] extra (onnx).

        Exports `Linear`, `Sequential`, `nn.batch.MLP`, the activation modules and `Softmax` /
        `LogSoftmax` heads; anything else is refused with a TypeError naming it.
        """
        who = f"{type(self).__name__}.to_onnx"
        data = onnx_export.onnx_model_bytes(self, example, opset, who)
        write_atomically(path, lambda file: file.write(data), who)

    def onnx_graph(self, graph: onnx_export.OnnxGraph, x: str, name: str = "") -> str:
        """Add this module's ONNX nodes to `graph`, reading the tensor named `x`; the name of
        its output. Modules that have an ONNX form override it."""
        raise TypeError(
            f"to_onnx: {type(self).__name__} has no ONNX form; exportable modules: "
            f"{onnx_export.EXPORTABLE}"
        )


class TorchTensor(NamedTuple):
    """One tensor of PyTorch's `state_dict` for the same architecture, made of our parameters
    `parts` (each of shape `part_shape`): one array, maybe `transposed`, or one per element in
    PyTorch's row-major order (a scalar layer's weight is its neurons' Values)."""

    name: str
    shape: tuple[int, ...]
    parts: tuple[str, ...]
    part_shape: tuple[int, ...]
    transposed: bool = False

    def gather(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """The tensor in PyTorch's layout, from our `state_dict`."""
        if self.transposed:
            return np.ascontiguousarray(state[self.parts[0]].T)
        return np.array([state[part] for part in self.parts]).reshape(self.shape)

    def scatter(self, value: np.ndarray) -> dict[str, np.ndarray]:
        """Our parameters' arrays (by name) from the tensor in PyTorch's layout."""
        if self.transposed:
            return {self.parts[0]: value.T}
        pieces = value.reshape((len(self.parts), *self.part_shape))
        return dict(zip(self.parts, pieces))


def converted_value(name: str, value: Any, current: Any) -> np.ndarray:
    """`value` as a new array of `current`'s shape and dtype (float64 for a Value's float), or
    ValueError naming the parameter: a state must hold real numbers that fit the dtype."""
    array = np.asarray(value)
    expected = np.shape(current)
    if array.shape != expected:
        raise ValueError(
            f"shape mismatch for {name}: the model has {expected}, the state has {array.shape}"
        )
    if array.dtype.kind not in REAL_KINDS:
        raise ValueError(f"{name} holds {array.dtype} data; expected real numbers (int or float)")
    dtype = np.asarray(current).dtype
    with np.errstate(over="ignore"):  # an overflow is reported below, naming the parameter
        out = array.astype(dtype)
    if np.any(np.isfinite(array) & ~np.isfinite(out)):
        raise ValueError(f"{name}: a value of {array.dtype} data overflows {dtype}")
    return out


def _walk(obj: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    for attribute, value in vars(obj).items():
        yield from _named(value, prefix + attribute)


def _named(value: Any, name: str) -> Iterator[tuple[str, Any]]:
    if is_parameter(value):
        yield name, value
    elif isinstance(value, Module):
        yield from _walk(value, name + ".")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _named(item, f"{name}.{index}")


def _torch_named(value: Any, name: str, torch_name: str) -> list[TorchTensor]:
    """`_named`'s walk, naming as PyTorch does where we do the same."""
    if is_parameter(value):
        shape = np.shape(value.data)
        return [TorchTensor(torch_name, shape, (name,), shape)]
    if isinstance(value, Module):
        return value.torch_layout(name + ".", torch_name + ".")
    if isinstance(value, (list, tuple)):
        return [
            entry
            for index, item in enumerate(value)
            for entry in _torch_named(item, f"{name}.{index}", f"{torch_name}.{index}")
        ]
    return []


def _is_safetensors(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() == ".safetensors"
