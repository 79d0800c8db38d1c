"""`Module`: parameters with stable dotted names, gradients reset, and state saved as `.npz`."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autograd_core import Tensor, Value

Parameter = Value | Tensor


def is_parameter(obj: object) -> bool:
    """A trainable node: one that says `requires_grad` (every Value does; a Tensor when asked)."""
    return getattr(obj, "requires_grad", False) is True


def zero_grad(parameters: Iterable[Parameter]) -> None:
    """Forget accumulated gradients (each node type knows its empty gradient)."""
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

    def __call__(self, x: Any) -> Any:
        return self.forward(x)

    def forward(self, x: Any) -> Any:
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
        """Set every parameter from `state`; all checks come first, so a bad state changes nothing.

        Raises ValueError when names are missing or unexpected, or a shape differs.
        """
        named = self.named_parameters()
        names = [name for name, _ in named]
        missing = [n for n in names if n not in state]
        unexpected = [n for n in state if n not in set(names)]
        if missing or unexpected:
            raise ValueError(
                f"state does not match {type(self).__name__}: "
                f"missing {missing or 'nothing'}, unexpected {unexpected or 'nothing'}"
            )
        arrays = {}
        for name, p in named:
            array = np.asarray(state[name])
            expected = np.shape(p.data)
            if array.shape != expected:
                raise ValueError(
                    f"shape mismatch for {name}: the model has {expected}, the state has "
                    f"{array.shape}"
                )
            if not np.issubdtype(array.dtype, np.number):
                raise ValueError(f"{name} holds {array.dtype} data, not numbers")
            arrays[name] = array
        for name, p in named:
            p.set_data(arrays[name])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state to a NumPy `.npz` file (atomically: a failed write leaves no file)."""
        path = Path(path)
        handle, temporary = tempfile.mkstemp(dir=path.parent or ".", suffix=".npz.tmp")
        try:
            state: dict[str, Any] = self.state_dict()
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **state)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def load(self, path: str | os.PathLike[str]) -> None:
        """Read a state written by `save`. A missing file raises FileNotFoundError; a truncated,
        corrupted or mismatched one raises ValueError; either way the model is left unchanged."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model file at {path}")
        try:
            with np.load(path, allow_pickle=False) as archive:
                state = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
            raise ValueError(f"{path} is not a readable .npz model file: {error}") from None
        self.load_state_dict(state)


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
