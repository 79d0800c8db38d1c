"""Datasets, splitting, batching and the IDX reader."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from nn.data import batches, load_digits, load_idx, make_moons, train_test_split


def test_make_moons_shapes_labels_and_seed() -> None:
    X, y = make_moons(101, noise=0.1, seed=3)
    assert X.shape == (101, 2) and y.shape == (101,)
    assert sorted(set(y.tolist())) == [0, 1] and (y == 0).sum() == 50
    X2, y2 = make_moons(101, noise=0.1, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    clean, labels = make_moons(100, noise=0.0)
    upper = clean[labels == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)  # on the unit circle
    with pytest.raises(ValueError, match="n >= 2"):
        make_moons(1)


def test_load_digits_is_the_scikit_learn_set_scaled() -> None:
    X, y = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))


def test_train_test_split_is_a_seeded_partition() -> None:
    X = np.arange(50).reshape(25, 2)
    y = np.arange(25)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2, seed=1)
    assert len(X_test) == 5 and len(X_train) == 20
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(25))
    np.testing.assert_array_equal(X_train[:, 0] // 2, y_train)  # rows stay with their labels
    np.testing.assert_array_equal(train_test_split(X, y, seed=1)[1], X_test)
    with pytest.raises(ValueError, match="25 rows but y has 3"):
        train_test_split(X, y[:3])


def test_batches_cover_the_data_once_in_a_seeded_order() -> None:
    X, y = np.arange(10).reshape(10, 1), np.arange(10)
    got = list(batches(X, y, 4, rng=np.random.default_rng(0)))
    assert [len(b) for b, _ in got] == [4, 4, 2]
    assert sorted(np.concatenate([b[:, 0] for b, _ in got]).tolist()) == list(range(10))
    again = list(batches(X, y, 4, rng=np.random.default_rng(0)))
    assert all((a[1] == b[1]).all() for a, b in zip(got, again))
    ordered = list(batches(X, y, 3, shuffle=False))
    assert [b[1].tolist() for b in ordered] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    with pytest.raises(ValueError, match="batch_size"):
        list(batches(X, y, 0))


def idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_idx_reader_images_and_labels_raw_and_gzip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    (tmp_path / "images.idx").write_bytes(idx_bytes(images, 0x08))
    (tmp_path / "labels.idx.gz").write_bytes(gzip.compress(idx_bytes(labels, 0x08)))
    np.testing.assert_array_equal(load_idx(tmp_path / "images.idx"), images)
    np.testing.assert_array_equal(load_idx(tmp_path / "labels.idx.gz"), labels)
    floats = rng.normal(size=(3, 2)).astype(np.float32)
    (tmp_path / "floats.idx").write_bytes(idx_bytes(floats, 0x0D))
    np.testing.assert_array_equal(load_idx(tmp_path / "floats.idx"), floats)


def test_idx_reader_rejects_malformed_files(tmp_path: Path) -> None:
    good = idx_bytes(np.zeros((4, 3), dtype=np.uint8), 0x08)
    cases = {
        "magic.idx": (b"\x01\x02" + good[2:], "bad magic number"),
        "type.idx": (good[:2] + b"\x42" + good[3:], "bad magic number"),
        "short.idx": (good[:-2], "needs 12 bytes of data, the file has 10"),
        "long.idx": (good + b"\x00", "the file has 13"),
        "header.idx": (good[:6], "header is truncated: 2 dimensions need 8 bytes, the file has 2"),
        "no dimensions.idx": (good[:3] + b"\x00", "declares 0 dimensions; expected at least 1"),
        "empty.idx": (b"", "bad magic number"),
        "broken.idx.gz": (gzip.compress(good)[:-6], "corrupted gzip"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=message):
            load_idx(tmp_path / name)
    with pytest.raises(FileNotFoundError, match=r"load_idx: cannot open .*missing\.idx"):
        load_idx(tmp_path / "missing.idx")
