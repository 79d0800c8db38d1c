"""Model files: reading what we do not trust (`.npz`, `.safetensors`), and the one writer of every
file the project writes (`write_atomically`).

A model file may come from anywhere, so the readers believe nothing they have not checked, and
check everything they can from headers before they read a byte of data. For `.npz`
(`read_npz_state`):
  1. the path opens as a regular file (not a directory, device or FIFO);
  2. the file starts as a zip archive does (as numpy.load requires) and is no bigger than an
     archive of this model's parameters can be;
  3. the zip directory lists exactly one `<name>.npy` per parameter, none encrypted, none
     compressed other than as `numpy.savez` does, none declaring more bytes than its
     parameter needs (the directory is read without inflating anything);
  4. each member's `.npy` header (a few bytes inflated) declares that parameter's shape and a
     real dtype of at most 8 bytes, and a size that matches the member's;

and only then reads the data, each member exactly its declared size (the zip CRC is checked
as its last byte is read). So the memory a hostile file can cost is bounded by the model.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import secrets
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
from numpy.lib import format as npy_format

REAL_KINDS = "iuf"  # signed and unsigned integers, floats: what converts to a float parameter
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
    if mismatch := names_mismatch(budgets, members):
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
    if dtype.kind not in REAL_KINDS or dtype.itemsize > 8:
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


# ---- safetensors: the weights file PyTorch's world reads ----------------------------------------
#
# The format: an 8-byte little-endian length N, N bytes of JSON, {name: {"dtype", "shape",
# "data_offsets": [begin, end]}} (and an optional "__metadata__" of strings), then the data. As for
# `.npz`, the header is checked against the model (names, shapes, dtypes, sizes, the file's total)
# before any data is read, so a hostile file costs at most the model's size; then the safetensors
# package parses the whole file with its own checks (offsets in order, no gaps, no overlaps).

SAFETENSORS_DTYPES: dict[str, type[np.generic]] = {  # the real dtypes NumPy reads
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U64": np.uint64,
    "U32": np.uint32,
    "U16": np.uint16,
    "U8": np.uint8,
}
_SAFETENSORS_HEADER_PER_TENSOR = 256  # bytes of JSON for a tensor's dtype, shape and offsets
_SAFETENSORS_METADATA_LIMIT = 65_536  # bytes of "__metadata__" strings accepted
_METADATA = "__metadata__"


def safetensors_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    """The `.safetensors` file holding `tensors`, tagged `{"format": "pt"}` (the tag Hugging
    Face's loaders look for in files meant for PyTorch)."""
    contiguous = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
    numpy_api, _ = _safetensors()
    data: bytes = numpy_api.save(contiguous, metadata={"format": "pt"})
    return data


def read_safetensors_state(
    path: str | os.PathLike[str], shapes: dict[str, tuple[int, ...]], who: str
) -> dict[str, np.ndarray]:
    """The tensors of a `.safetensors` file that must hold exactly one tensor per name in
    `shapes`, with that shape and a real dtype, its header checked first.

    Raises ImportError without the safetensors package, the errors of `open_regular_file`, and
    ValueError naming `who`, the path and the reason for anything else.
    """
    numpy_api, package_error = _safetensors()
    expected = f"a .safetensors file with {len(shapes)} tensors"
    with open_regular_file(path, who, expected) as file:
        try:
            _check_safetensors_header(file, shapes)
            file.seek(0)
            tensors: dict[str, np.ndarray] = numpy_api.load(file.read())
            return tensors
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, package_error) as error:
            raise ValueError(
                f"{who}: {os.fspath(path)} is not a readable .safetensors file: {error}"
            ) from None
        except ValueError as error:
            raise ValueError(f"{who}: {os.fspath(path)}: {error}") from None


def _safetensors() -> tuple[Any, type[Exception]]:
    """The safetensors package's NumPy API and the error it raises for a broken file."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as missing:  # safetensors is the [export] extra
        raise ImportError(
            ".safetensors files need the safetensors package: pip install "
            "'autograd-core[export]' (or pip install safetensors); .npz needs nothing more"
        ) from missing
    return safetensors.numpy, safetensors.SafetensorError


def _check_safetensors_header(file: BinaryIO, shapes: dict[str, tuple[int, ...]]) -> None:
    size = os.fstat(file.fileno()).st_size
    if size < 8:
        raise ValueError(f"it has {size} bytes; a .safetensors file starts with an 8-byte length")
    length = int.from_bytes(file.read(8), "little")
    limit = _SAFETENSORS_METADATA_LIMIT + sum(
        _SAFETENSORS_HEADER_PER_TENSOR + len(name) for name in shapes
    )
    if length > limit:
        raise ValueError(
            f"its header declares {length} bytes; a header of these tensors has at most {limit}"
        )
    header = json.loads(file.read(length).decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"its header is a JSON {type(header).__name__}; expected an object")
    header.pop(_METADATA, None)
    if mismatch := names_mismatch(shapes, header):
        raise ValueError(f"the file does not match the model: {mismatch}")
    end = 0
    for name, entry in header.items():
        end = max(end, _safetensors_entry(name, entry, shapes[name]))
    if size != 8 + length + end:
        raise ValueError(
            f"the file has {size} bytes; its header declares {8 + length + end} (truncated, or "
            "data after the last tensor)"
        )


def _safetensors_entry(name: str, entry: Any, shape: tuple[int, ...]) -> int:
    """Check one header entry against the model's `shape`; the end of its data."""
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise ValueError(f"{name!r}: expected dtype, shape and data_offsets, got {entry!r:.200}")
    dtype = SAFETENSORS_DTYPES.get(entry["dtype"])
    if dtype is None:
        raise ValueError(
            f"{name} holds {entry['dtype']!r:.20} data; expected one of "
            f"{', '.join(SAFETENSORS_DTYPES)} (from PyTorch, save bfloat16 weights as "
            "model.float())"
        )
    declared = entry["shape"]
    if not (isinstance(declared, list) and all(type(n) is int for n in declared)):
        raise ValueError(f"{name!r}: its shape {declared!r:.100} is not a list of integers")
    if tuple(declared) != shape:
        raise ValueError(
            f"shape mismatch for {name}: the model has {shape}, the file has {tuple(declared)}"
        )
    offsets = entry["data_offsets"]
    if not (
        isinstance(offsets, list) and len(offsets) == 2 and all(type(n) is int for n in offsets)
    ):
        raise ValueError(f"{name!r}: data_offsets {offsets!r:.100} are not two integers")
    begin, end = offsets
    needed = math.prod(shape) * np.dtype(dtype).itemsize
    if not 0 <= begin <= end or end - begin != needed:
        raise ValueError(
            f"{name!r} declares bytes {begin} to {end}; a {entry['dtype']} tensor of shape "
            f"{shape} takes {needed}"
        )
    return int(end)


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


def names_mismatch(expected: Iterable[str], present: Iterable[str]) -> str:
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
