"""`Module`: parameters with stable dotted names, gradients reset, and state saved as `.npz`."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autograd_core import Value


def is_parameter(obj: object) -> bool:
    """A trainable leaf: a `Value`, or any array node that says `requires_grad`."""
    return isinstance(obj, Value) or getattr(obj, "requires_grad", False) is True


def zero_grad(parameters: Iterable[Any]) -> None:
    """Forget accumulated gradients: 0.0 for a Value, None for an array parameter (as PyTorch)."""
    for p in parameters:
        p.grad = 0.0 if isinstance(p, Value) else None


def _as_array(p: Any) -> np.ndarray:
    return np.array(p.data, dtype=np.float64 if isinstance(p, Value) else None, copy=True)


class Module:
    """Base class of everything with parameters.

    Parameters are found by walking the instance's attributes in definition order: a parameter
    is named by its attribute, a list of them by attribute and index, and submodules (alone or in
    lists) add their own names after a dot, e.g. `layers.0.neurons.3.w.1`.
    """

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    def named_parameters(self) -> list[tuple[str, Any]]:
        return list(_walk(self, ""))

    def parameters(self) -> list[Any]:
        return [p for _, p in _walk(self, "")]

    def zero_grad(self) -> None:
        zero_grad(self.parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data as a NumPy array, by name."""
        return {name: _as_array(p) for name, p in self.named_parameters()}

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
            if isinstance(p, Value):
                p.data = float(arrays[name])
            else:
                p.data = arrays[name].astype(p.data.dtype, copy=True)

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
