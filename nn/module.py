"""`Module`: parameters with stable dotted names, gradients reset, and state saved as `.npz`."""

from __future__ import annotations

import contextlib
import io
import math
import os
import secrets
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
from numpy.lib import format as npy_format

from autograd_core import Tensor, Value
from autograd_core.graph import GRAPH_WALK

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
        if mismatch := _names_mismatch([name for name, _ in named], state):
            raise ValueError(
                f"load_state_dict: the state does not match {type(self).__name__}: {mismatch}"
            )
        converted = {name: converted_value(name, state[name], p.data) for name, p in named}
        for name, p in named:
            p.set_data(converted[name])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state to a NumPy `.npz` file, atomically (see `write_atomically`): through a
        symlink to its target, never over a directory or a device, with the umask's mode for a
        new file and the old mode for a file saved over."""
        state: dict[str, Any] = self.state_dict()
        write_atomically(path, lambda file: np.savez(file, **state), f"{type(self).__name__}.save")

    def load(self, path: str | os.PathLike[str]) -> None:
        """Read a state written by `save`, all or nothing (see `read_npz_state`).

        Raises FileNotFoundError, PermissionError or IsADirectoryError as opening the path does,
        and ValueError for anything else wrong (a device, a `.npy`, a truncated, corrupted,
        oversized or mismatched archive); the message names the path and the reason, and the
        model is left bit-for-bit unchanged.
        """
        who = f"{type(self).__name__}.load"
        named = self.named_parameters()
        state = read_npz_state(path, {name: np.shape(p.data) for name, p in named}, who)
        try:
            self.load_state_dict(state)
        except ValueError as error:
            raise ValueError(f"{who}: {os.fspath(path)}: {error}") from None


def converted_value(name: str, value: Any, current: Any) -> np.ndarray:
    """`value` as a new array of `current`'s shape and dtype (float64 for a Value's float), or
    ValueError naming the parameter: a state must hold real numbers that fit the dtype."""
    array = np.asarray(value)
    expected = np.shape(current)
    if array.shape != expected:
        raise ValueError(
            f"shape mismatch for {name}: the model has {expected}, the state has {array.shape}"
        )
    if array.dtype.kind not in _REAL_KINDS:
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


# ---- Files: reading what we do not trust, writing atomically -----------------------------------
#
# A model file may come from anywhere, so `read_npz_state` believes nothing it has not checked,
# and checks everything it can from headers before it inflates a byte of data:
#
#   1. the path opens as a regular file (not a directory, device or FIFO);
#   2. the file starts as a zip archive does (as numpy.load requires) and is no bigger than an
#      archive of this model's parameters can be;
#   3. the zip directory lists exactly one `<name>.npy` per parameter, none encrypted, none
#      compressed other than as `numpy.savez` does, none declaring more bytes than its
#      parameter needs (the directory is read without inflating anything);
#   4. each member's `.npy` header (a few bytes inflated) declares that parameter's shape and a
#      real dtype of at most 8 bytes, and a size that matches the member's;
#
# and only then reads the data, each member exactly its declared size (the zip CRC is checked
# as its last byte is read). So the memory a hostile file can cost is bounded by the model.

_REAL_KINDS = "iuf"  # signed and unsigned integers, floats: what converts to a float parameter
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")  # a first member, or the end of an empty archive
_NPY_HEADER_LIMIT = 4096  # bytes; numpy writes about 128 for a parameter's shape
_NPY_PREAMBLE = 12  # magic (6) + version (2) + header length (at most 4)
_ZIP_OVERHEAD = 1024  # per member, beyond its name: local and central zip headers, zip64 fields
_ZIP_COMMENT_LIMIT = 65_557  # the end-of-archive record (22) and its longest comment (65535)


def open_regular_file(path: str | os.PathLike[str], who: str, expected: str) -> BinaryIO:
    """Open `path` for reading if it is a regular file; otherwise raise the error opening it gave
    (FileNotFoundError, PermissionError, ...), IsADirectoryError for a directory, or ValueError
    for a device, FIFO or socket (reading /dev/zero never ends; a FIFO waits for a writer).
    Messages start with `who` and say what was `expected`."""
    try:
        # O_NONBLOCK so that opening a FIFO does not wait for a writer; files ignore it.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise _reworded(
            error, f"{who}: cannot open {os.fspath(path)}: {error.strerror}; expected {expected}"
        ) from None
    mode = os.fstat(descriptor).st_mode  # of what was opened, so a swapped path cannot fool it
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        message = f"{who}: {os.fspath(path)} is a {_kind(mode)}; expected {expected}"
        raise IsADirectoryError(message) if stat.S_ISDIR(mode) else ValueError(message)
    file = os.fdopen(descriptor, "rb")
    return file


def read_npz_state(
    path: str | os.PathLike[str], shapes: dict[str, tuple[int, ...]], who: str = "read_npz_state"
) -> dict[str, np.ndarray]:
    """The arrays of a `.npz` archive that must hold exactly one array per name in `shapes`, with
    that shape and a real dtype, checked from its headers first (see the steps above).

    Raises the errors of `open_regular_file`, and ValueError naming `who`, the path and the reason
    for anything else.
    """
    expected = f"a .npz archive written by save() with {len(shapes)} arrays"
    with open_regular_file(path, who, expected) as file:
        try:
            return _read_npz(file, shapes)
        # zipfile says NotImplementedError for zip features it lacks (a newer version, patches)
        except (EOFError, OSError, NotImplementedError, zipfile.BadZipFile, zlib.error) as error:
            raise ValueError(
                f"{who}: {os.fspath(path)} is not a readable .npz archive: {error}"
            ) from None
        except ValueError as error:
            raise ValueError(f"{who}: {os.fspath(path)}: {error}") from None


def _read_npz(file: BinaryIO, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    budgets = {
        name: _NPY_PREAMBLE + _NPY_HEADER_LIMIT + 8 * math.prod(shape)
        for name, shape in shapes.items()
    }
    start = file.read(len(_NPY_MAGIC))
    if start == _NPY_MAGIC:
        raise ValueError("this is a .npy file (one array); expected a .npz archive")
    if not start.startswith(_ZIP_STARTS):  # zipfile alone would accept junk before the archive
        raise zipfile.BadZipFile(
            f"it starts with {start.hex() or 'nothing'}; expected a zip archive's "
            f"{_ZIP_STARTS[0].hex()}"
        )
    size = os.fstat(file.fileno()).st_size
    largest = sum(b + _ZIP_OVERHEAD + 2 * len(n) for n, b in budgets.items()) + _ZIP_COMMENT_LIMIT
    if size > largest:
        raise ValueError(
            f"the file has {size} bytes; an archive of these arrays has at most {largest}"
        )
    file.seek(0)
    with zipfile.ZipFile(file) as archive:
        members = _members(archive, budgets)
        layouts = {name: _npy_header(archive, info, shapes[name]) for name, info in members.items()}
        return {name: _npy_data(archive, members[name], layouts[name]) for name in members}


def _members(archive: zipfile.ZipFile, budgets: dict[str, int]) -> dict[str, zipfile.ZipInfo]:
    """The zip directory's entries by array name, each checked without inflating anything."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if name in members:
            raise ValueError(f"the archive holds {name!r} twice")
        if info.flag_bits & 0x1:
            raise ValueError(f"{name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(
                f"{name!r} uses zip compression method {info.compress_type}; "
                "expected stored or deflated, as numpy.savez writes"
            )
        members[name] = info
    if mismatch := _names_mismatch(budgets, members):
        raise ValueError(f"the archive does not match the model: {mismatch}")
    for name, info in members.items():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"member {info.filename!r} is not a .npy array")
        if info.file_size > budgets[name]:
            raise ValueError(
                f"{name!r} declares {info.file_size} bytes; its parameter needs at "
                f"most {budgets[name]}"
            )
    return members


class _NpyLayout(NamedTuple):
    """What a member's `.npy` header declares, once checked."""

    start: int  # where the data begins
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool


def _npy_header(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...]
) -> _NpyLayout:
    """A member's `.npy` header, which must declare `shape`, a real dtype and exactly the member's
    size; only the header is inflated."""
    name = info.filename.removesuffix(".npy")
    with archive.open(info) as member:
        try:
            version = npy_format.read_magic(member)
        except ValueError as error:  # numpy's message does not say which member
            raise ValueError(f"{name!r} is not a .npy array: {error}") from None
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"{name!r} is .npy format {version}; expected (1, 0) or (2, 0)")
        length_field = member.read(2 if version == (1, 0) else 4)
        length = int.from_bytes(length_field, "little")
        if length > _NPY_HEADER_LIMIT:
            raise ValueError(
                f"{name!r} declares a {length}-byte .npy header; expected at most "
                f"{_NPY_HEADER_LIMIT}"
            )
        header = io.BytesIO(length_field + member.read(length))
    try:
        if version == (1, 0):
            declared, fortran_order, dtype = npy_format.read_array_header_1_0(header)
        else:
            declared, fortran_order, dtype = npy_format.read_array_header_2_0(header)
    except ValueError as error:
        raise ValueError(f"{name!r} has a broken .npy header: {error}") from None
    if declared != shape:
        raise ValueError(
            f"shape mismatch for {name}: the model has {shape}, the file has {declared}"
        )
    if dtype.kind not in _REAL_KINDS or dtype.itemsize > 8:
        raise ValueError(f"{name} holds {dtype} data; expected real numbers of at most 8 bytes")
    start = 8 + len(length_field) + length
    needed = start + math.prod(shape) * dtype.itemsize
    if info.file_size != needed:
        raise ValueError(
            f"{name!r} has {info.file_size} bytes; its header and a {dtype} array of shape "
            f"{shape} take {needed}"
        )
    return _NpyLayout(start, shape, dtype, fortran_order)


def _npy_data(archive: zipfile.ZipFile, info: zipfile.ZipInfo, layout: _NpyLayout) -> np.ndarray:
    """The array of a member whose header `_npy_header` checked: exactly its declared bytes."""
    count = info.file_size - layout.start
    with archive.open(info) as member:
        member.read(layout.start)
        data = member.read(count)  # reading the member's last byte checks its CRC
    if len(data) != count:
        raise ValueError(f"{info.filename!r} is truncated: {len(data)} of {count} bytes of data")
    flat = np.frombuffer(data, dtype=layout.dtype, count=math.prod(layout.shape))
    return flat.reshape(layout.shape, order="F" if layout.fortran_order else "C")


def write_atomically(
    path: str | os.PathLike[str], write: Callable[[BinaryIO], object], who: str
) -> None:
    """Call `write(file)` on a temporary file next to `path`, then rename it over `path`, so a
    reader sees the old file or the new one, never half of one.

    `path` may be a new name, a regular file, or a symlink to either (the link's target is
    written, the link kept); a directory raises IsADirectoryError and a device, FIFO or socket
    ValueError, before anything is written. A new file gets the mode `open()` would give it (0666
    less the umask), a file saved over keeps its mode. The temporary is named
    `<name>.<pid>.<8 hex digits>.tmp`; one whose process no longer runs was left by a killed save
    and is deleted by the next save to the same path.
    """
    if not os.fspath(path):  # realpath("") is the working directory: say what is wrong
        raise ValueError(f"{who}: the path is empty; give a file name such as model.npz")
    target = Path(os.path.realpath(path))  # through symlinks to the file they name
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as error:
        raise _reworded(error, f"{who}: cannot write {os.fspath(path)}: {error.strerror}") from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        message = (
            f"{who}: {os.fspath(path)} is a {_kind(existing.st_mode)}; expected a regular file "
            "or a new path"
        )
        raise IsADirectoryError(message) if stat.S_ISDIR(existing.st_mode) else ValueError(message)
    _remove_stale_temporaries(target)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        # 0o666 as open() uses, so the kernel applies the umask (mkstemp would force 0o600)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _reworded(error, f"{who}: cannot write {os.fspath(path)}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            if existing is not None:
                os.chmod(file.fileno(), stat.S_IMODE(existing.st_mode))
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the data is on disk before the name points at it
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _remove_stale_temporaries(target: Path) -> None:
    """Delete `<target name>.<pid>.<8 hex>.tmp` files whose process has gone: a killed save's."""
    prefix = target.name + "."
    try:
        names = [e.name for e in os.scandir(target.parent) if e.is_file(follow_symlinks=False)]
    except OSError:
        return  # an unreadable or missing folder: the save itself will say what is wrong
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid, _, token = name[len(prefix) : -len(".tmp")].partition(".")
        ours = pid.isdigit() and len(token) == 8 and all(c in "0123456789abcdef" for c in token)
        if ours and not _running(int(pid)):
            with contextlib.suppress(OSError):  # cleaning up must not stop the save
                (target.parent / name).unlink()


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix" or pid <= 0:
        return True  # no safe probe (os.kill would terminate a Windows process): keep the file
    try:
        os.kill(pid, 0)  # signal 0: asks whether the process exists, sends nothing
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def _names_mismatch(expected: Iterable[str], present: Iterable[str]) -> str:
    """'' when `present` holds exactly the `expected` names, else what is missing and what is
    not expected, in words."""
    expected, present = list(expected), list(present)
    known, given = set(expected), set(present)
    missing = [n for n in expected if n not in given]
    unexpected = [n for n in present if n not in known]
    if not (missing or unexpected):
        return ""
    return f"missing {_listed(missing)}, unexpected {_listed(unexpected)}"


def _listed(names: list[str], shown: int = 5) -> str:
    if not names:
        return "nothing"
    if len(names) <= shown:
        return repr(names)
    return repr(names[:shown])[:-1] + f", ... ({len(names)} in all)]"


def _kind(mode: int) -> str:
    kinds = {
        stat.S_IFDIR: "directory",
        stat.S_IFCHR: "character device",
        stat.S_IFBLK: "block device",
        stat.S_IFIFO: "FIFO",
        stat.S_IFSOCK: "socket",
    }
    return kinds.get(stat.S_IFMT(mode), "special file")


def _reworded(error: OSError, message: str) -> OSError:
    """The same kind of OSError (so `except FileNotFoundError` still works), saying `message`."""
    new = type(error)(message)
    new.errno = error.errno
    return new
