"""Datasets and batching."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from .files import open_regular_file


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


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits scikit-learn ships (1,797 images, no download).

    Returns X of shape (1797, 64), pixel intensities scaled from 0..16 to [0, 1], and y of shape
    (1797,) with the digit 0..9.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn: pip install 'autograd-core[data]'"
        ) from None
    digits = sklearn_digits()
    return digits.data.astype(np.float64) / 16.0, digits.target.astype(np.int64)


def train_test_split(
    X: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded shuffle, then the last `test_fraction` of it as the test set.

    Returns X_train, X_test, y_train, y_test.
    """
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} rows but y has {len(y)}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = max(1, round(len(X) * test_fraction))
    train, test = order[:-n_test], order[-n_test:]
    return X[train], X[test], y[train], y[test]


def batches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (X_batch, y_batch) pairs that cover the data once; the last batch may be smaller.

    With `shuffle`, the order comes from `rng` (pass one seeded generator and reuse it across
    epochs for a different, reproducible order each epoch).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if len(X) != len(y):
        raise ValueError(f"batches: X has {len(X)} rows but y has {len(y)}")
    order = (rng or np.random.default_rng()).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        chosen = order[start : start + batch_size]
        yield X[chosen], y[chosen]


# IDX type codes (the third byte of the magic number) and the big-endian dtypes they stand for.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# Deflate cannot expand data more than 1032-fold, so a gzip file of n bytes holds at most this
# many times n: a header declaring more is a lie we can refuse before inflating anything.
_GZIP_MAX_RATIO = 1032
_CHUNK = 1 << 20  # bytes read at a time, so memory follows the data present, not the claim


def load_idx(path: str | os.PathLike[str], max_bytes: int = 1 << 30) -> np.ndarray:
    """Read an IDX file (the MNIST format), raw or gzip-compressed, into an array.

    Layout: two zero bytes, a type code, the number of dimensions, each dimension as a big-endian
    uint32, then the data. The header is read first, and the declared size (computed in Python
    integers, so it never overflows) is refused before any data is read when it is more than
    `max_bytes` (1 GiB by default; MNIST's largest file is 47 MB) or more than the file can hold.

    Raises FileNotFoundError, PermissionError or IsADirectoryError as opening the path does, and
    ValueError naming the path for anything else: a device, a bad magic number, a short header,
    too little or too much data, corrupted gzip data.
    """
    expected = "an IDX file (raw or gzip)"
    with open_regular_file(path, "load_idx", expected) as file:
        size = os.fstat(file.fileno()).st_size
        compressed = file.read(2) == b"\x1f\x8b"
        file.seek(0)
        try:
            if compressed:
                with gzip.GzipFile(fileobj=file, mode="rb") as stream:
                    return _read_idx(stream, _GZIP_MAX_RATIO * size, exact=False, limit=max_bytes)
            return _read_idx(file, size, exact=True, limit=max_bytes)
        except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
            raise ValueError(f"load_idx: {os.fspath(path)}: corrupted gzip data: {error}") from None
        except ValueError as error:
            raise ValueError(f"load_idx: {os.fspath(path)}: {error}") from None


def _read_idx(
    stream: gzip.GzipFile | BinaryIO, capacity: int, exact: bool, limit: int
) -> np.ndarray:
    """An IDX array from `stream`, which holds at most `capacity` bytes (exactly, if `exact`)."""
    magic = stream.read(4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in _IDX_TYPES:
        raise ValueError(
            f"not an IDX file (bad magic number {magic.hex() or 'none'}); "
            "expected 0000 then a type code and a dimension count"
        )
    ndim = magic[3]
    if ndim == 0:
        raise ValueError("IDX header declares 0 dimensions; expected at least 1")
    dimensions = stream.read(4 * ndim)
    if len(dimensions) < 4 * ndim:
        raise ValueError(
            f"IDX header is truncated: {ndim} dimensions need {4 * ndim} bytes, the file has "
            f"{len(dimensions)}"
        )
    shape = tuple(int.from_bytes(dimensions[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = np.dtype(_IDX_TYPES[magic[2]])
    needed = math.prod(shape) * dtype.itemsize  # Python ints: (2**16)**4 stays 2**64
    header = 4 + 4 * ndim
    if needed > limit:
        raise ValueError(
            f"IDX shape {shape} declares {needed} bytes of data; the limit is max_bytes={limit}"
        )
    if exact and needed != capacity - header:
        raise ValueError(
            f"IDX shape {shape} needs {needed} bytes of data, the file has {capacity - header}"
        )
    if needed > capacity:
        raise ValueError(
            f"IDX shape {shape} needs {needed} bytes of data; a gzip file of "
            f"{capacity // _GZIP_MAX_RATIO} bytes holds at most {capacity}"
        )
    data = bytearray()
    while len(data) < needed:
        chunk = stream.read(min(_CHUNK, needed - len(data)))
        if not chunk:
            raise ValueError(
                f"IDX shape {shape} needs {needed} bytes of data, the file has {len(data)}"
            )
        data += chunk
    if stream.read(1):
        raise ValueError(f"IDX shape {shape} needs {needed} bytes of data, the file has more")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
