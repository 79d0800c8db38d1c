"""Loading and saving models and IDX files that cannot be trusted (issue 14, items 1 and 2).

Every hostile file here is small and built byte by byte; the bombs declare (or inflate to)
gigabytes, and tracemalloc checks that refusing them costs a few megabytes at most.
"""

from __future__ import annotations

import gzip
import io
import os
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nn
from nn.data import load_idx

ROOT = Path(__file__).resolve().parent.parent
GIB = 1 << 30
BOMB_LIMIT = 100 * (1 << 20)  # what refusing any bomb may cost, as the issue asks
LOAD_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, ValueError)

# ---- building archives by hand -------------------------------------------------------------------


class Member(NamedTuple):
    """One zip member as written: `payload` is what is stored (deflated or not); the sizes and CRC
    the headers declare default to the truth but can lie."""

    name: str
    payload: bytes
    method: int = 0  # 0 stored, 8 deflated
    file_size: int | None = None  # declared uncompressed size
    crc: int | None = None
    flags: int = 0
    version: int = 45  # zip version needed to extract: 4.5 (zip64)


def zip_archive(members: list[Member]) -> bytes:
    """A zip file from raw headers, so that every declared number can be chosen. A declared size
    of 2**32 or more is written as zip64, as zipfile would."""
    body, directory = b"", b""
    for m in members:
        size = len(m.payload) if m.file_size is None else m.file_size
        crc = zlib.crc32(m.payload) if m.crc is None else m.crc
        name = m.name.encode()
        extra = b""
        short_size = size
        if size >= 1 << 32:
            extra, short_size = struct.pack("<HHQ", 1, 8, size), 0xFFFFFFFF
        local = struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", m.version, m.flags, m.method, 0, 33, crc,
            len(m.payload), short_size, len(name), len(extra),
        )  # fmt: skip
        central = struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 45, m.version, m.flags, m.method, 0, 33, crc,
            len(m.payload), short_size, len(name), len(extra), 0, 0, 0, 0, len(body),
        )  # fmt: skip
        directory += central + name + extra
        body += local + name + extra + m.payload
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0
    )
    return body + directory + end


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f8", version: int = 1) -> bytes:
    """Just a .npy header declaring `shape` and `descr` (no data follows)."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (63 - (len(text) + 10) % 64) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text.encode("latin1")


def zeros_deflated(mebibytes: int) -> bytes:
    """A raw deflate stream of `mebibytes` MiB of zero bytes, about 1 KB per MiB: one flushed
    segment repeated (a full flush makes each segment decode on its own), then an empty final
    block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return segment * mebibytes + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def gzip_of_deflate(stream: bytes) -> bytes:
    """A gzip file around a raw deflate stream (the trailer's CRC and size are never reached)."""
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + stream + bytes(8)


def archive_of(state: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    return buffer.getvalue()


# ---- models and what "unchanged" means -----------------------------------------------------------


def scalar_model(seed: int = 9) -> nn.MLP:
    return nn.MLP(2, [3, 1], seed=seed)  # 13 parameters, each a Value


def batch_model(seed: int = 9) -> nn.batch.MLP:
    return nn.batch.MLP(2, [3, 1], seed=seed, dtype=np.float32)


def fingerprint(model: nn.Module) -> list[tuple[str, str, bytes]]:
    """Every parameter's name, dtype and bytes: equal fingerprints mean bit-for-bit equal."""
    return [
        (name, np.asarray(p.data).dtype.str, np.asarray(p.data).tobytes())
        for name, p in model.named_parameters()
    ]


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of Python-tracked allocations (NumPy's included) inside the block."""
    result: list[int] = []
    tracemalloc.start()
    try:
        yield result
    finally:
        result.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def refused(
    model: nn.Module, path: Path, error: type[Exception], message: str
) -> pytest.ExceptionInfo[Exception]:
    """Load `path`, expect `error` matching `message`, and the model bit-for-bit as it was."""
    before = fingerprint(model)
    with pytest.raises(error, match=message) as caught:
        model.load(path)
    assert fingerprint(model) == before
    return caught


SCALAR_NAMES = [name for name, _ in scalar_model().named_parameters()]

# ---- the findings of the issue, one by one -------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "reason"),
    [
        (np.complex128, "holds complex128 data; expected real numbers"),
        ("timedelta64[s]", "holds timedelta64.* data; expected real numbers"),
        (np.bool_, "holds bool data; expected real numbers"),
    ],
)
def test_a_bad_last_entry_leaves_a_scalar_model_bit_for_bit_unchanged(
    tmp_path: Path, dtype: Any, reason: str
) -> None:
    """The issue's finding: a complex last entry overwrote 12 of 17 parameters before failing."""
    state = scalar_model(seed=1).state_dict()
    last = SCALAR_NAMES[-1]
    state[last] = np.ones((), dtype=dtype)
    path = tmp_path / "bad_last.npz"
    path.write_bytes(archive_of(state))
    refused(scalar_model(), path, ValueError, rf"MLP\.load: .*bad_last\.npz: {last} {reason}")
    model = scalar_model()
    before = fingerprint(model)
    with pytest.raises(ValueError, match=rf"^{last} {reason}"):
        model.load_state_dict(state)
    assert fingerprint(model) == before


def test_a_value_that_overflows_the_dtype_is_refused_before_anything_changes() -> None:
    state = batch_model(seed=1).state_dict()
    state = {name: array.astype(np.float64) for name, array in state.items()}
    state["layers.2.bias"][0] = 1e300  # finite in float64, inf in float32
    model = batch_model()
    before = fingerprint(model)
    with pytest.raises(
        ValueError, match=r"layers\.2\.bias: a value of float64 data overflows float32"
    ):
        model.load_state_dict(state)
    assert fingerprint(model) == before
    state["layers.2.bias"][0] = np.inf  # saved as inf: loaded as inf, nothing invented
    model.load_state_dict(state)
    assert model.layers[2].bias.data[0] == np.inf


def test_a_state_is_copied_so_changing_it_later_leaves_the_model_alone() -> None:
    state = batch_model(seed=1).state_dict()
    model = batch_model()
    model.load_state_dict(state)
    state["layers.0.weight"][...] = 7.0
    assert not (model.layers[0].weight.data == 7.0).any()


def test_a_good_file_round_trips_bit_for_bit_on_both_paths(tmp_path: Path) -> None:
    for make in (scalar_model, batch_model):
        source, target = make(seed=1), make(seed=2)
        source.save(tmp_path / "model.npz")
        target.load(tmp_path / "model.npz")
        assert fingerprint(target) == fingerprint(source)


def test_fortran_order_big_endian_and_integer_arrays_load_as_numpy_reads_them(
    tmp_path: Path,
) -> None:
    state = batch_model(seed=1).state_dict()
    state["layers.0.weight"] = np.asfortranarray(state["layers.0.weight"].astype(">f8"))
    state["layers.0.bias"] = np.array([1, -2, 3], dtype=np.int16)
    (tmp_path / "mixed.npz").write_bytes(archive_of(state))
    model = batch_model()
    model.load(tmp_path / "mixed.npz")
    np.testing.assert_array_equal(model.layers[0].weight.data, state["layers.0.weight"])
    assert model.layers[0].weight.dtype == np.float32
    assert model.layers[0].bias.data.tolist() == [1.0, -2.0, 3.0]
    compressed = io.BytesIO()
    np.savez_compressed(compressed, **batch_model(seed=4).state_dict())
    (tmp_path / "compressed.npz").write_bytes(compressed.getvalue())
    model.load(tmp_path / "compressed.npz")
    assert fingerprint(model) == fingerprint(batch_model(seed=4))


def test_opening_errors_have_their_own_types_and_name_the_path(tmp_path: Path) -> None:
    model = scalar_model()
    refused(
        model,
        tmp_path / "nope.npz",
        FileNotFoundError,
        r"MLP\.load: cannot open .*nope\.npz: No such file or directory; expected a \.npz archive",
    )
    refused(model, tmp_path, IsADirectoryError, rf"MLP\.load: {tmp_path} is a directory")
    os.mkfifo(tmp_path / "fifo")  # opened without waiting for a writer, then refused
    refused(model, tmp_path / "fifo", ValueError, r"fifo is a FIFO; expected a \.npz archive")
    npy_file = tmp_path / "one.npy"
    npy_file.write_bytes(npy(np.zeros(3)))
    refused(model, npy_file, ValueError, r"one\.npy: this is a \.npy file \(one array\)")
    loop = tmp_path / "loop.npz"
    loop.symlink_to(loop)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        model.load(loop)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_as_a_device_without_reading_it() -> None:
    for load in (scalar_model().load, load_idx):
        with pytest.raises(ValueError, match=r"/dev/zero is a character device; expected"):
            load("/dev/zero")  # type: ignore[operator]


def permission_errors(loads: list[tuple[Callable[[str], object], Path]]) -> list[str]:
    """`type: message` of what each load raises, run as `nobody` when this is root (for whom
    permissions do not apply) in a forked child, which needs no new interpreter."""
    if os.geteuid() != 0:
        return [caught_as_text(load, path) for load, path in loads]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: drop to nobody, try each load, report, and never return
        try:
            os.setgid(65534)
            os.setuid(65534)
            report = "\n".join(caught_as_text(load, path) for load, path in loads)
            os.write(write, report.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = pipe.read()
    os.waitpid(child, 0)
    return report.splitlines()


def caught_as_text(load: Callable[[str], object], path: Path) -> str:
    try:
        load(str(path))
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "no error"


def test_an_unreadable_file_raises_permission_error(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp())  # outside tmp_path, whose parents only root may enter
    try:
        secret, secret_idx = folder / "secret.npz", folder / "secret.idx"
        scalar_model().save(secret)
        secret_idx.write_bytes(b"\0\0\x08\x01\0\0\0\0")
        folder.chmod(0o755)
        secret.chmod(0o000)
        secret_idx.chmod(0o000)
        assert permission_errors([(scalar_model().load, secret), (load_idx, secret_idx)]) == [
            f"PermissionError: MLP.load: cannot open {secret}: Permission denied; expected a "
            ".npz archive written by save() with 13 arrays",
            f"PermissionError: load_idx: cannot open {secret_idx}: Permission denied; expected "
            "an IDX file (raw or gzip)",
        ]
    finally:
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()


# ---- archives that lie in their headers ----------------------------------------------------------


def good_members(seed: int = 1) -> list[Member]:
    state = scalar_model(seed=seed).state_dict()
    return [Member(f"{name}.npy", npy(array)) for name, array in state.items()]


def with_last(member: Member) -> list[Member]:
    return [*good_members()[:-1], member]


LAST = SCALAR_NAMES[-1]
SCALAR_NPY = len(npy(np.zeros(())))  # bytes of a float64 scalar's .npy

LYING_ARCHIVES: dict[str, tuple[list[Member], str]] = {
    "a name twice": (
        [*good_members(), good_members()[0]],
        "the archive holds 'layers.0.neurons.0.w.0' twice",
    ),
    "an unexpected name": (
        [*good_members(), Member("extra.npy", npy(np.zeros(())))],
        r"missing nothing, unexpected \['extra'\]",
    ),
    "encrypted": (with_last(Member(f"{LAST}.npy", npy(np.zeros(())), flags=1)), "is encrypted"),
    "zip patch data": (
        with_last(Member(f"{LAST}.npy", npy(np.zeros(())), flags=0x20)),
        "is not a readable .npz archive: compressed patched data",
    ),
    "zip version 9.9": (
        with_last(Member(f"{LAST}.npy", npy(np.zeros(())), version=99)),
        "is not a readable .npz archive: zip file version 9.9",
    ),
    "bzip2": (
        with_last(Member(f"{LAST}.npy", npy(np.zeros(())), method=12)),
        "compression method 12; expected stored or deflated",
    ),
    "not .npy": (with_last(Member(LAST, npy(np.zeros(())))), "is not a .npy array"),
    "not npy inside": (with_last(Member(f"{LAST}.npy", b"PK" * 60)), "is not a .npy array"),
    "npy format 3": (
        with_last(Member(f"{LAST}.npy", npy_header((), version=3) + bytes(8))),
        r"is \.npy format \(3, 0\); expected \(1, 0\) or \(2, 0\)",
    ),
    "a huge .npy header": (
        with_last(Member(f"{LAST}.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 31))),
        "declares a 2147483648-byte .npy header; expected at most 4096",
    ),
    "a header that is not a dict": (
        with_last(Member(f"{LAST}.npy", b"\x93NUMPY\x01\x00\x04\x00[1]\n" + bytes(8))),
        "has a broken .npy header",
    ),
    "another shape": (
        with_last(Member(f"{LAST}.npy", npy(np.zeros(2)))),
        rf"shape mismatch for {LAST}: the model has \(\), the file has \(2,\)",
    ),
    "object dtype": (
        with_last(Member(f"{LAST}.npy", npy_header((), "|O") + bytes(8))),
        "holds object data; expected real numbers",
    ),
    "float128": (
        with_last(Member(f"{LAST}.npy", npy_header((), "<f16") + bytes(16))),
        "of at most 8 bytes",
    ),
    "size unlike the header's": (
        with_last(Member(f"{LAST}.npy", npy(np.zeros(())) + bytes(8))),
        rf"has {SCALAR_NPY + 8} bytes; its header and a float64 array of shape \(\) take "
        rf"{SCALAR_NPY}",
    ),
    "truncated data": (
        with_last(Member(f"{LAST}.npy", npy(np.zeros(()))[:-3], file_size=SCALAR_NPY)),
        "is truncated: 5 of 8 bytes of data",
    ),
    "a wrong CRC": (
        with_last(Member(f"{LAST}.npy", npy(np.zeros(())), crc=12345)),
        "is not a readable .npz archive: Bad CRC-32",
    ),
}


@pytest.mark.parametrize("case", LYING_ARCHIVES, ids=list(LYING_ARCHIVES))
def test_each_lying_archive_is_refused_naming_the_reason(tmp_path: Path, case: str) -> None:
    members, reason = LYING_ARCHIVES[case]
    path = tmp_path / "lying.npz"
    path.write_bytes(zip_archive(members))
    refused(scalar_model(), path, ValueError, rf"^MLP\.load: {path}.*{reason}")


def test_the_hand_built_archive_is_a_valid_one(tmp_path: Path) -> None:
    """So that each refusal above is due to its one lie, not to the builder."""
    path = tmp_path / "honest.npz"
    path.write_bytes(zip_archive(good_members(seed=3)))
    model = scalar_model()
    model.load(path)
    assert fingerprint(model) == fingerprint(scalar_model(seed=3))


# ---- bombs ---------------------------------------------------------------------------------------

BOMB_MIB = 2048  # a deflated bomb of 2 GiB, in a file of about 2.1 MB
# For the 13-parameter model any file over about 130 KB is refused by its size alone, so the
# bombs that test the later checks inflate to 120 MiB from 124 KB.
SMALL_BOMB_MIB = 120


def npz_bombs() -> dict[str, tuple[bytes, str]]:
    """Archives of a few MB that would cost gigabytes if inflated before checking."""
    zeros = zeros_deflated(SMALL_BOMB_MIB)
    inflated = SMALL_BOMB_MIB << 20
    header_of_huge = npy_header((inflated // 8 - 16,))  # a real .npy of 2 GiB of float64 zeros
    huge_stream = zlib.compressobj(9, zlib.DEFLATED, -15)
    huge_npy = huge_stream.compress(header_of_huge) + huge_stream.flush(zlib.Z_FULL_FLUSH) + zeros
    scalar_stream = zlib.compressobj(9, zlib.DEFLATED, -15)
    scalar_then_zeros = scalar_stream.compress(npy_header(())) + scalar_stream.flush(
        zlib.Z_FULL_FLUSH
    )
    scalar_then_zeros += zeros
    big_bomb = zip_archive([*good_members(), Member("bomb.npy", zeros_deflated(BOMB_MIB), 8)])
    return {
        # the 2.1 MB bomb: refused for a model this small by the file's size
        "2 GiB in a 2.1 MB file": (big_bomb, "the file has 21[0-9]{5} bytes; an archive of these"),
        # the first bomb: every member inflated before the unexpected name was seen
        "unexpected name": (
            zip_archive([*good_members(), Member("bomb.npy", huge_npy, 8, inflated)]),
            r"unexpected \['bomb'\]",
        ),
        "declared size": (
            zip_archive(with_last(Member(f"{LAST}.npy", huge_npy, 8, inflated))),
            rf"'{LAST}' declares {inflated} bytes; its parameter needs at most 4116",
        ),
        # the second bomb: a 1 KB member whose header declares 1 TiB
        "1 TiB declared in zip64": (
            zip_archive(with_last(Member(f"{LAST}.npy", bytes(1024), 0, 1 << 40))),
            f"declares {1 << 40} bytes",
        ),
        "1 TiB declared in the .npy header": (
            zip_archive(with_last(Member(f"{LAST}.npy", npy_header((1 << 37,))))),
            r"shape mismatch .* the file has \(137438953472,\)",
        ),
        # a valid header and directory, but the stream inflates far past the declared size
        "stream longer than declared": (
            zip_archive(with_last(Member(f"{LAST}.npy", scalar_then_zeros, 8, SCALAR_NPY, 0))),
            "Bad CRC-32",
        ),
    }


@pytest.mark.parametrize("case", list(npz_bombs()))
def test_npz_bombs_are_refused_from_their_headers_with_bounded_memory(
    tmp_path: Path, case: str
) -> None:
    content, reason = npz_bombs()[case]
    path = tmp_path / "bomb.npz"
    path.write_bytes(content)
    assert len(content) < 2_200_000
    model = scalar_model()
    with peak_memory() as peak:
        refused(model, path, ValueError, reason)
    assert peak[0] < 8 * (1 << 20), f"{case}: refusing cost {peak[0]} bytes"


def test_a_file_larger_than_any_archive_of_the_model_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    with open(path, "wb") as file:
        file.write(b"PK\x03\x04")  # starts as a zip archive does
        file.truncate(GIB)  # sparse: a gigabyte on paper, nothing on disk
    with peak_memory() as peak:
        refused(scalar_model(), path, ValueError, f"the file has {GIB} bytes; an archive of these ")
    assert peak[0] < 1 << 20


# ---- the property: nothing hostile gets through, and nothing changes -----------------------------


def corrupt(content: bytes, data: st.DataObject) -> bytes:
    """One of: cut short, bytes overwritten, bytes inserted, or a run of bytes zeroed."""
    kind = data.draw(st.sampled_from(["truncate", "overwrite", "insert", "zero"]))
    at = data.draw(st.integers(0, len(content)))
    if kind == "truncate":
        return content[:at]
    noise = data.draw(st.binary(min_size=1, max_size=16))
    if kind == "overwrite":
        return content[:at] + noise + content[at + len(noise) :]
    if kind == "insert":
        return content[:at] + noise + content[at:]
    return content[:at] + bytes(len(noise)) + content[at + len(noise) :]


HOSTILE_ARRAYS = st.sampled_from(
    [
        np.zeros(()),
        np.zeros(3),
        np.array(1 + 2j),
        np.array(5, dtype="timedelta64[s]"),
        np.array("text"),
        np.array(True),
        np.array(np.nan),
        np.array(1e300),
        np.array(-7, dtype=np.int8),
        np.zeros((), dtype=[("a", "<f8")]),
    ]
)


@st.composite
def hostile_archives(draw: st.DrawFn) -> bytes:
    state = scalar_model(seed=draw(st.integers(0, 3))).state_dict()
    change = draw(st.sampled_from(["none", "replace", "drop", "add", "bomb", "lie"]))
    name = draw(st.sampled_from(SCALAR_NAMES))
    if change == "replace":
        state[name] = draw(HOSTILE_ARRAYS)
    elif change == "drop":
        del state[name]
    elif change == "add":
        state[draw(st.sampled_from(["extra", name + "x", "w"]))] = draw(HOSTILE_ARRAYS)
    members = [Member(f"{n}.npy", npy(a)) for n, a in state.items()]
    if change == "bomb":
        size = draw(st.integers(101, 120))  # MiB of zeros: more than BOMB_LIMIT if inflated
        stream = zlib.compressobj(9, zlib.DEFLATED, -15)
        payload = stream.compress(npy_header(())) + stream.flush(zlib.Z_FULL_FLUSH)
        payload += zeros_deflated(size)
        declared = draw(st.sampled_from([128, size << 20, 1 << 40]))
        members[SCALAR_NAMES.index(name)] = Member(f"{name}.npy", payload, 8, declared)
    elif change == "lie":
        index = SCALAR_NAMES.index(name)
        members[index] = members[index]._replace(
            file_size=draw(st.integers(0, 1 << 33)),
            crc=draw(st.integers(0, (1 << 32) - 1)),
            flags=draw(st.sampled_from([0, 0x1, 0x8, 0x20, 0x40])),
            version=draw(st.sampled_from([20, 45, 63, 99])),
        )
    content = zip_archive(members)
    return corrupt(content, draw(st.data())) if draw(st.booleans()) else content


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=hostile_archives())
def test_any_hostile_archive_loads_correctly_or_is_refused_leaving_the_model_unchanged(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "hostile.npz"
    path.write_bytes(content)
    model = scalar_model()
    before = fingerprint(model)
    with peak_memory() as peak:
        try:
            model.load(path)
        except LOAD_ERRORS as error:
            assert str(error).startswith(f"MLP.load: {path}"), error
            assert fingerprint(model) == before
        else:  # whatever loads must be what NumPy reads, converted to float64, bit for bit
            with np.load(path, allow_pickle=False) as reference:
                expected = [np.asarray(reference[n]).astype(np.float64) for n in SCALAR_NAMES]
            assert fingerprint(model) == [
                (n, "<f8", array.tobytes()) for n, array in zip(SCALAR_NAMES, expected)
            ]
    assert peak[0] < BOMB_LIMIT


# ---- IDX files -----------------------------------------------------------------------------------


def idx_header(type_code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def test_idx_sizes_are_python_integers_never_wrapped_or_negative(tmp_path: Path) -> None:
    """The issue's findings: (2**16)**4 wrapped to 0 and a product reported -68719476728 bytes."""
    cases = {
        "wraps.idx": ((1 << 16, 1 << 16, 1 << 16, 1 << 16), 0x08, 1 << 64),
        "negative.idx": ((0xFFFFFFFF, 0xFFFFFFFF, 2), 0x0E, 0xFFFFFFFF**2 * 2 * 8),
    }
    for name, (shape, code, size) in cases.items():
        (tmp_path / name).write_bytes(idx_header(code, shape) + bytes(16))
        with pytest.raises(ValueError, match=rf"load_idx: .*{name}: IDX shape .* declares {size} "):
            load_idx(tmp_path / name)


def test_idx_gzip_bomb_is_refused_from_its_header_without_inflating(tmp_path: Path) -> None:
    """The issue's: a 2.1 MB .gz whose data inflates to 2 GiB peaked at 4.1 GB."""
    stream = zlib.compressobj(9, zlib.DEFLATED, -15)
    header = stream.compress(idx_header(0x08, (2048, 1024, 1024))) + stream.flush(zlib.Z_FULL_FLUSH)
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(gzip_of_deflate(header + zeros_deflated(BOMB_MIB)))
    with (
        peak_memory() as peak,
        pytest.raises(
            ValueError, match=rf"declares {2 * GIB} bytes of data; the limit is max_bytes={GIB}"
        ),
    ):
        load_idx(path)
    assert peak[0] < 1 << 20
    small = tmp_path / "small_bomb.idx.gz"  # within the limit the caller sets, and honest
    small_header = idx_header(0x08, (64, 1024, 1024))
    small.write_bytes(gzip.compress(small_header + bytes(64 << 20), compresslevel=1))
    with peak_memory() as peak, pytest.raises(ValueError, match="the limit is max_bytes=1048576"):
        load_idx(small, max_bytes=1 << 20)
    assert peak[0] < 1 << 20


def test_idx_sizes_a_file_cannot_hold_are_refused(tmp_path: Path) -> None:
    header = idx_header(0x08, (1 << 20, 64))  # 64 MiB declared in a file of a few bytes
    (tmp_path / "liar.idx.gz").write_bytes(gzip.compress(header))
    with pytest.raises(
        ValueError, match=r"needs 67108864 bytes of data; a gzip file of \d+ bytes holds at most"
    ):
        load_idx(tmp_path / "liar.idx.gz")
    (tmp_path / "liar.idx").write_bytes(header + bytes(10))
    with pytest.raises(ValueError, match="needs 67108864 bytes of data, the file has 10"):
        load_idx(tmp_path / "liar.idx")
    honest = idx_header(0x08, (1000,))
    (tmp_path / "short.idx.gz").write_bytes(gzip.compress(honest + bytes(999)))
    with pytest.raises(ValueError, match=r"needs 1000 bytes of data, the file has 999$"):
        load_idx(tmp_path / "short.idx.gz")
    (tmp_path / "long.idx.gz").write_bytes(gzip.compress(honest + bytes(1001)))
    with pytest.raises(ValueError, match="needs 1000 bytes of data, the file has more"):
        load_idx(tmp_path / "long.idx.gz")


def test_idx_opening_errors_have_their_own_types(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match=rf"load_idx: {tmp_path} is a directory"):
        load_idx(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ValueError, match="fifo is a FIFO; expected an IDX file"):
        load_idx(tmp_path / "fifo")


def idx_files() -> st.SearchStrategy[bytes]:
    """IDX files with any header and some data, raw or gzip, sometimes cut or with a bomb."""
    shapes = st.lists(st.integers(0, (1 << 32) - 1), min_size=0, max_size=5).map(tuple)
    small = st.lists(st.integers(0, 6), min_size=1, max_size=3).map(tuple)
    codes = st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x42])

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        shape = draw(st.one_of(shapes, small))
        code = draw(codes)
        itemsize = {0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}.get(code, 1)
        body = idx_header(code, shape) if len(shape) < 256 else b""
        fill = min(int(np.prod(shape, dtype=object)) * itemsize, 1 << 12) if shape else 0
        body += draw(st.binary(min_size=fill, max_size=fill)) + draw(st.binary(max_size=4))
        body = body[: draw(st.integers(0, len(body)))] if draw(st.booleans()) else body
        if draw(st.booleans()):
            return body
        if draw(st.booleans()):
            return gzip.compress(body)
        stream = zlib.compressobj(9, zlib.DEFLATED, -15)  # a header, then a bomb of zeros
        head = stream.compress(body) + stream.flush(zlib.Z_FULL_FLUSH)
        return gzip_of_deflate(head + zeros_deflated(draw(st.integers(101, 256))))

    return build()


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=idx_files())
def test_any_idx_file_loads_as_declared_or_is_refused_with_bounded_memory(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "any.idx"
    path.write_bytes(content)
    with peak_memory() as peak:
        try:
            array = load_idx(path, max_bytes=16 << 20)
        except ValueError as error:
            assert str(error).startswith(f"load_idx: {path}: "), error
        else:
            raw = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
            shape = tuple(struct.unpack(f">{raw[3]}I", raw[4 : 4 + 4 * raw[3]]))
            assert array.shape == shape and array.nbytes <= 16 << 20
            assert array.dtype.isnative
    assert peak[0] < BOMB_LIMIT


# ---- saving --------------------------------------------------------------------------------------


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def loads_as(path: Path, expected: nn.Module) -> bool:
    model = scalar_model(seed=77)
    model.load(path)
    return fingerprint(model) == fingerprint(expected)


def test_save_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    target, link = tmp_path / "real.npz", tmp_path / "link.npz"
    scalar_model(seed=1).save(target)
    link.symlink_to(target)
    model = scalar_model(seed=2)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert loads_as(target, model)
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "created.npz")
    model.save(dangling)
    assert dangling.is_symlink() and loads_as(tmp_path / "created.npz", model)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "created.npz", "dangling.npz", "link.npz", "real.npz"
    ]  # fmt: skip


def test_save_refuses_a_directory_and_a_fifo_and_leaves_them_as_they_were(tmp_path: Path) -> None:
    folder = tmp_path / "folder.npz"
    folder.mkdir()
    with pytest.raises(
        IsADirectoryError,
        match=rf"MLP\.save: {folder} is a directory; expected a regular file or a new path",
    ):
        scalar_model().save(folder)
    assert folder.is_dir() and list(folder.iterdir()) == []
    fifo = tmp_path / "device.npz"  # stands in for a device node: special, not a regular file
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=rf"MLP\.save: {fifo} is a FIFO; expected a regular file"):
        scalar_model().save(fifo)
    link = tmp_path / "link_to_fifo.npz"
    link.symlink_to(fifo)
    with pytest.raises(ValueError, match=r"link_to_fifo\.npz is a FIFO"):
        scalar_model().save(link)
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "device.npz", "folder.npz", "link_to_fifo.npz"
    ]  # fmt: skip


def test_save_into_a_missing_folder_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "model.npz"
    with pytest.raises(
        FileNotFoundError, match=rf"MLP\.save: cannot write {path}: No such file or directory"
    ):
        scalar_model().save(path)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o000])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path: Path, mask: int) -> None:
    with umask(mask):
        scalar_model().save(tmp_path / "new.npz")
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o666 & ~mask


def test_a_file_saved_over_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    scalar_model().save(path)
    path.chmod(0o640)
    with umask(0o000):
        scalar_model(seed=3).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and loads_as(path, scalar_model(seed=3))


def test_a_failed_save_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.npz"
    scalar_model(seed=1).save(path)
    old = path.read_bytes()

    def half_then_fail(file: Any, **arrays: Any) -> None:
        file.write(b"PK half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        scalar_model(seed=2).save(path)
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["model.npz"]


SAVE_AND_HANG = """
import sys, time
import numpy as np
import nn

def half_then_hang(file, **arrays):
    file.write(b"PK" + bytes(1000))
    file.flush()
    print("writing", flush=True)
    time.sleep(600)

np.savez = half_then_hang
nn.MLP(2, [3, 1]).save(sys.argv[1])
"""


def test_the_next_save_removes_the_temporary_of_a_killed_save(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    scalar_model(seed=1).save(path)
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVE_AND_HANG, str(path)], cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        assert saver.stdout is not None and saver.stdout.readline() == b"writing\n"
        # while it runs, its temporary is in use: another save must leave it alone
        scalar_model(seed=2).save(path)
        temporaries = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert [p.name.split(".")[2] for p in temporaries] == [str(saver.pid)]
    finally:
        saver.send_signal(signal.SIGKILL)
        saver.wait()
    assert loads_as(path, scalar_model(seed=2))  # the killed save never touched the file
    scalar_model(seed=3).save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert loads_as(path, scalar_model(seed=3))


def test_only_temporaries_of_this_path_and_this_pattern_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid no longer runs
    keep = [
        f"model.npz.{os.getpid()}.0123abcd.tmp",  # a live process's (this one's)
        f"other.npz.{dead.pid}.0123abcd.tmp",  # another path's
        f"model.npz.{dead.pid}.notmine.tmp",  # not the pattern
        f"model.npz.x{dead.pid}.0123abcd.tmp",
        "model.npz.tmp",
    ]
    stale = f"model.npz.{dead.pid}.0123abcd.tmp"
    for name in [*keep, stale]:
        (tmp_path / name).write_bytes(b"partial")
    scalar_model().save(tmp_path / "model.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, "model.npz"])


def test_save_is_atomic_a_reader_sees_old_or_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between two saves the path always holds a complete archive: the rename is the only change
    a reader can see (checked by looking at the folder at the moment `write` runs)."""
    path = tmp_path / "model.npz"
    scalar_model(seed=1).save(path)
    seen: list[bool] = []
    real_savez: Callable[..., None] = np.savez

    def look_then_write(file: Any, **arrays: Any) -> None:
        seen.append(loads_as(path, scalar_model(seed=1)))
        real_savez(file, **arrays)

    monkeypatch.setattr(np, "savez", look_then_write)
    scalar_model(seed=2).save(path)
    assert seen == [True] and loads_as(path, scalar_model(seed=2))


def test_saving_to_an_empty_path_says_the_path_is_empty(tmp_path: Path) -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match=r"MLP.save: the path is empty"):
        model.save("")


# ---- every file the project writes goes through the one writer (issue 25, H2) -----------------


def test_the_cli_never_writes_through_a_link_planted_at_its_temporary_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI once wrote `.<name>.<pid>.tmp` with a plain open: a symlink planted there made
    `-o out/g.svg` overwrite the link's target. Its temporary is now the writer's (a random
    name, opened exclusively), so links at the names it used to use are left alone."""
    from visualize.cli import main

    precious = tmp_path / "precious"
    precious.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    for name in (f".g.svg.{os.getpid()}.tmp", f"g.svg.{os.getpid()}.tmp"):
        (out / name).symlink_to(precious)
    assert main(["x*2", "x=1", "-o", str(out / "g.svg")]) == 0
    assert precious.read_text() == "keep me"
    assert "<svg" in (out / "g.svg").read_text()
    assert "wrote" in capsys.readouterr().out


def test_the_cli_and_save_follow_one_rule_for_links_and_fifos(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-o` through a symlink writes the link's target and keeps the link, as `Module.save`
    does; `-o` a FIFO is refused in one line and the FIFO stays."""
    from visualize.cli import main

    target = tmp_path / "real.svg"
    link = tmp_path / "link.svg"
    link.symlink_to(target)
    assert main(["x*2", "x=1", "-o", str(link)]) == 0
    assert link.is_symlink() and "<svg" in target.read_text()
    fifo = tmp_path / "pipe.svg"
    os.mkfifo(fifo)
    assert main(["x*2", "x=1", "-o", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {fifo} is a FIFO; expected a regular file or a new path\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_pages_and_plots_go_through_the_writer_too(tmp_path: Path) -> None:
    """A step-through page, a collapsed page and a plot written over a symlink write its
    target and keep the link (the writer's rule), and a FIFO is refused."""
    from autograd_core import Value
    from visualize import collapsed_page, trace_backward
    from visualize.plots import plot_history

    x = Value(2.0, "x")
    out = x * x
    for write in (
        lambda path: trace_backward(out).to_html(path),
        lambda path: collapsed_page(out, path),
        lambda path: plot_history({"loss": [1.0, 0.5]}, path),
    ):
        target = tmp_path / "target"
        link = tmp_path / "link.png"
        link.symlink_to(target)
        write(link)
        assert link.is_symlink() and target.stat().st_size > 100
        link.unlink()
        target.unlink()
        fifo = tmp_path / "pipe.png"
        os.mkfifo(fifo)
        with pytest.raises(ValueError, match="is a FIFO; expected a regular file"):
            write(fifo)
        fifo.unlink()
