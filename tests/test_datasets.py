"""Data sets: the regression sample, IDX files (written by the tests), digits, .npz files."""

import contextlib
import gzip
import os
import struct
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

from fastnn import datasets


def write_idx(path, array, *, compress=False, magic_type=0x08, truncate=0):
    header = struct.pack(">BBBB", 0, 0, magic_type, array.ndim)
    header += b"".join(struct.pack(">I", size) for size in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if truncate:
        data = data[:-truncate]
    if compress:
        with gzip.open(path, "wb") as stream:
            stream.write(data)
    else:
        path.write_bytes(data)


def make_mnist_dir(directory, *, compress=True, n_train=6, n_test=4):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    images = {
        "train": rng.integers(0, 256, (n_train, 28, 28)),
        "t10k": rng.integers(0, 256, (n_test, 28, 28)),
    }
    labels = {"train": rng.integers(0, 10, n_train), "t10k": rng.integers(0, 10, n_test)}
    for split in ("train", "t10k"):
        write_idx(
            directory / f"{split}-images-idx3-ubyte{suffix}", images[split], compress=compress
        )
        write_idx(
            directory / f"{split}-labels-idx1-ubyte{suffix}", labels[split], compress=compress
        )
    return images, labels


def test_make_regression():
    X, y = datasets.make_regression(100, seed=1)
    assert X.shape == (100, 2) and X.min() >= 0 and X.max() < 1
    np.testing.assert_allclose(y, 3 * X[:, 0] + 2 * X[:, 1])
    assert np.array_equal(datasets.make_regression(100, seed=1)[0], X)


@pytest.mark.parametrize("compress", [True, False])
def test_load_mnist_from_idx_files(tmp_path, compress):
    images, labels = make_mnist_dir(tmp_path, compress=compress)
    (x, t), (x_test, t_test) = datasets.load_mnist(tmp_path)
    assert x.shape == (6, 784) and x.dtype == np.float32 and x_test.shape == (4, 784)
    np.testing.assert_allclose(x, images["train"].reshape(6, -1) / 255.0, rtol=1e-6)
    assert np.array_equal(t, labels["train"]) and np.array_equal(t_test, labels["t10k"])
    (x, t), _ = datasets.load_mnist(
        tmp_path, normalize=False, flatten=False, one_hot_label=True, dtype="float64"
    )
    assert x.shape == (6, 1, 28, 28) and x.max() > 1
    assert t.shape == (6, 10) and np.array_equal(t.argmax(axis=1), labels["train"])


def test_search_order_uses_fastnn_data(tmp_path, monkeypatch):
    make_mnist_dir(tmp_path)
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path))
    (x, _), _ = datasets.load_mnist()
    assert x.shape == (6, 784)


def test_nothing_found_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        datasets.load_mnist(tmp_path / "empty")
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and str(tmp_path / "empty") in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_corrupt_magic_number(tmp_path):
    path = tmp_path / "bad-idx"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="bad magic number 12340801"):
        datasets.read_idx(path)


def test_truncated_idx_file(tmp_path):
    path = tmp_path / "short-idx.gz"
    write_idx(path, np.zeros((3, 4, 4)), compress=True, truncate=5)
    with pytest.raises(
        ValueError,
        match=r"shape \(3, 4, 4\) \(48 bytes of data\), the file has "
        r"43 bytes: truncated or corrupt",
    ):
        datasets.read_idx(path)


def test_broken_gzip(tmp_path):
    path = tmp_path / "broken.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match="cannot read IDX data"):
        datasets.read_idx(path)


def test_images_and_labels_must_match(tmp_path):
    make_mnist_dir(tmp_path, compress=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5))
    with pytest.raises(ValueError, match=r"train images \(6, 28, 28\) and labels \(5,\)"):
        datasets.load_mnist(tmp_path)


@pytest.mark.skipif(
    not os.path.isdir(datasets.DEBIAN_FASHION_MNIST),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_fashion_mnist_from_debian():
    (x, t), (x_test, t_test) = datasets.load_fashion_mnist()
    assert x.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert set(np.unique(t)) == set(range(10)) and 0 <= x.min() and x.max() <= 1


def test_load_digits():
    pytest.importorskip("sklearn")
    (x, t), (x_test, t_test) = datasets.load_digits()
    assert x.shape == (1437, 64) and x_test.shape == (360, 64)
    assert x.max() == 1.0 and set(np.unique(t)) == set(range(10))
    (_, t1), _ = datasets.load_digits(one_hot_label=True)
    assert t1.shape == (1437, 10)


def test_load_npz(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x_train=np.ones((3, 2)), t_train=np.zeros(3))
    (x, t), (x_test, t_test) = datasets.load_npz(path)
    assert x.shape == (3, 2) and x_test is None and t_test is None
    np.savez(path, features=np.ones(3))
    with pytest.raises(ValueError, match=r"missing arrays \['x_train', 't_train'\]"):
        datasets.load_npz(path)


# ------------------------------------------------------------------ hardening (issue 9)


def gzip_bytes(data):
    return gzip.compress(data, mtime=0)


def idx_bytes(array, magic_type=0x08):
    header = struct.pack(">BBBB", 0, 0, magic_type, array.ndim)
    header += b"".join(struct.pack(">I", size) for size in array.shape)
    return header + array.tobytes()


def call_with_deadline(function, *args, seconds=20):
    """Run ``function(*args)`` in a thread; return ("returned", value), ("raised", error)
    or ("hung", None) if it is still blocked after ``seconds``."""
    outcome = []

    def target():
        try:
            outcome.append(("returned", function(*args)))
        except BaseException as error:  # noqa: BLE001 - the test inspects whatever came out
            outcome.append(("raised", error))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return outcome[0] if outcome else ("hung", None)


def unblock_fifo_reader(path):
    """Open ``path`` for writing and close it, so a reader blocked in open() gets EOF."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def test_corrupt_deflate_stream_is_a_value_error_naming_the_file(tmp_path):
    packed = bytearray(gzip_bytes(idx_bytes(np.arange(4000, dtype=np.uint8).reshape(40, 100))))
    # Bytes 10.. are the deflate stream; overwrite a run in its middle.
    packed[30:60] = b"\xff" * 30
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(ValueError, match=r"labels-idx1-ubyte\.gz: cannot read IDX data"):
        datasets.read_idx(path)


def test_every_truncation_and_byte_flip_gives_the_data_or_a_value_error(tmp_path):
    values = np.arange(300, dtype=np.uint8).reshape(3, 10, 10)
    original = gzip_bytes(idx_bytes(values))
    rng = np.random.default_rng(1)
    variants = [original[:cut] for cut in range(len(original))]
    for _ in range(300):
        flipped = bytearray(original)
        flipped[rng.integers(len(flipped))] ^= 1 << int(rng.integers(8))
        variants.append(bytes(flipped))
    path = tmp_path / "fuzz.gz"
    for data in variants:
        path.write_bytes(data)
        try:
            array = datasets.read_idx(path)
        except ValueError as error:
            assert str(path) in str(error)
        else:  # only bytes the gzip header does not check (mtime, OS) may change
            assert np.array_equal(array, values)


@pytest.mark.parametrize("one_hot_label", [False, True])
def test_label_out_of_range_names_file_value_and_position(tmp_path, one_hot_label):
    make_mnist_dir(tmp_path, compress=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 2, 3, 200]))
    with pytest.raises(
        ValueError, match=r"t10k-labels-idx1-ubyte: label 200 at position 3 is out of range"
    ):
        datasets.load_mnist(tmp_path, one_hot_label=one_hot_label)


def test_labels_must_be_integers_and_images_bytes(tmp_path):
    make_mnist_dir(tmp_path, compress=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.full(6, 1.5, dtype=">f4"), magic_type=0x0D))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte: labels must be integers"):
        datasets.load_mnist(tmp_path)
    make_mnist_dir(tmp_path, compress=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.full((6, 28, 28), 300, dtype=">i2"), magic_type=0x0B))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: images must be bytes"):
        datasets.load_mnist(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("reader", [datasets.read_idx, datasets.load_npz, datasets.load_npy])
def test_a_fifo_is_refused_at_once_instead_of_hanging(tmp_path, reader):
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    try:
        outcome, error = call_with_deadline(reader, path)
    finally:
        unblock_fifo_reader(path)
    assert outcome == "raised", f"{reader.__name__} on a FIFO: {outcome}"
    assert isinstance(error, ValueError)
    assert "pipe.npz: not a regular file (a FIFO" in str(error)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a regular file \\(a directory"):
        datasets.read_idx(tmp_path)


def test_gzip_header_is_checked_before_the_stream_is_read(tmp_path):
    # The header declares 10 bytes; 50 MB of zeros follow (50 kB compressed). The old
    # reader decompressed all of it before looking at the header.
    path = tmp_path / "bomb-idx.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(idx_bytes(np.zeros(10, dtype=np.uint8)))
        for _ in range(50):
            stream.write(bytes(1 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"more than the 10 bytes of data its header"):
            datasets.read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 << 20, f"read_idx allocated {peak:,} bytes for a 10-byte array"


def test_gzip_declaring_more_than_it_can_hold_is_refused_before_reading(tmp_path):
    path = tmp_path / "liar-idx.gz"
    # Deflate expands at most 1032:1, so a file this small cannot hold 10**9 bytes.
    header = struct.pack(">BBBBII", 0, 0, 0x08, 2, 10**5, 10**4)
    path.write_bytes(gzip_bytes(header + bytes(100)))
    with pytest.raises(ValueError, match=r"more than a \d+-byte gzip file can hold"):
        datasets.read_idx(path)


def test_absurd_declared_sizes_are_refused_before_allocating(tmp_path):
    path = tmp_path / "huge-idx"
    path.write_bytes(struct.pack(">BBBBIII", 0, 0, 0x0E, 3, 2**32 - 1, 2**32 - 1, 2**32 - 1))
    with pytest.raises(ValueError, match=r"more than max_bytes="):
        datasets.read_idx(path)
    small = tmp_path / "small-idx"
    small.write_bytes(idx_bytes(np.zeros(100, dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"\(100 bytes of data\), more than max_bytes=99"):
        datasets.read_idx(small, max_bytes=99)
    assert datasets.read_idx(small, max_bytes=100).shape == (100,)


@pytest.mark.parametrize("compress", [False, True])
def test_trailing_data_is_refused(tmp_path, compress):
    data = idx_bytes(np.arange(12, dtype=np.uint8)) + b"\x07"
    path = tmp_path / "trailing-idx"
    path.write_bytes(gzip_bytes(data) if compress else data)
    with pytest.raises(ValueError, match="trailing data"):
        datasets.read_idx(path)


@pytest.mark.parametrize(
    "header, message",
    [
        (b"\x00\x00\x08", "bad magic number 000008"),
        (b"\x00\x00\x07\x01" + bytes(4), "bad magic number 00000701"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "header truncated"),
    ],
)
def test_bad_headers(tmp_path, header, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(header)
    with pytest.raises(ValueError, match=message):
        datasets.read_idx(path)


def test_big_endian_types_round_trip(tmp_path):
    values = np.arange(-6, 6, dtype=">i4").reshape(3, 4)
    path = tmp_path / "ints-idx.gz"
    path.write_bytes(gzip_bytes(idx_bytes(values, magic_type=0x0C)))
    assert np.array_equal(datasets.read_idx(path), values)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x_train": np.ones(4), "t_train": np.zeros(4)}, r"x_train must be 2-D"),
        ({"x_train": np.ones((4, 2, 2)), "t_train": np.zeros(4)}, r"x_train must be 2-D"),
        ({"x_train": np.ones((4, 2)), "t_train": np.zeros(3)}, r"t_train has 3 rows, x_train 4"),
        ({"x_train": np.ones((0, 2)), "t_train": np.zeros(0)}, r"x_train has no samples"),
        ({"x_train": np.ones((4, 0)), "t_train": np.zeros(4)}, r"x_train has no features"),
        ({"x_train": np.ones((4, 2)), "t_train": np.array(list("abab"))}, r"t_train must hold"),
        ({"x_train": np.ones((4, 2)) + 1j, "t_train": np.zeros(4)}, r"x_train must hold real"),
        (
            {"x_train": np.ones((4, 2)), "t_train": np.zeros((4, 1, 1))},
            r"t_train must be 1-D \(labels or targets\) or 2-D",
        ),
        (
            {"x_train": np.ones((4, 2)), "t_train": np.zeros(4), "x_test": np.ones((2, 2))},
            r"x_test without t_test",
        ),
        (
            {"x_train": np.ones((4, 2)), "t_train": np.zeros(4), "t_test": np.ones(2)},
            r"t_test without x_test",
        ),
        (
            {
                "x_train": np.ones((4, 2)),
                "t_train": np.zeros(4),
                "x_test": np.ones((2, 3)),
                "t_test": np.zeros(2),
            },
            r"x_test has 3 columns, x_train 2",
        ),
        (
            {
                "x_train": np.ones((4, 2)),
                "t_train": np.zeros((4, 3)),
                "x_test": np.ones((2, 2)),
                "t_test": np.zeros((2, 2)),
            },
            r"t_test has shape \(2, 2\), which does not fit t_train's \(4, 3\)",
        ),
    ],
)
def test_load_npz_refuses_malformed_data_naming_file_and_array(tmp_path, arrays, message):
    path = tmp_path / "bad-data.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="bad-data.npz: " + message):
        datasets.load_npz(path)


def test_load_npz_reads_only_the_four_arrays(tmp_path):
    path = tmp_path / "extra.npz"
    np.savez_compressed(
        path, x_train=np.ones((3, 2)), t_train=np.zeros(3), padding=np.zeros(50 << 20, np.uint8)
    )
    tracemalloc.start()
    try:
        (x, t), (x_test, t_test) = datasets.load_npz(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert x.shape == (3, 2) and t.shape == (3,) and x_test is None and t_test is None
    assert peak < 5 << 20, f"load_npz allocated {peak:,} bytes for two tiny arrays"


def npz_member(header_dict_text, payload):
    """The bytes of one .npy member with a hand-written header (format 1.0)."""
    header = header_dict_text.encode("latin1")
    padding = 64 - (10 + len(header) + 1) % 64
    header += b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


@pytest.mark.parametrize(
    "n_values, message",
    [(100_000_000, "its member holds 8 bytes of data: corrupt"), (10**12, "more than max_bytes")],
)
def test_load_npz_refuses_a_declared_shape_the_member_cannot_hold(tmp_path, n_values, message):
    # Before, NumPy allocated the declared 800 MB (or 8 TB: MemoryError) for an 8-byte member.
    path = tmp_path / "liar.npz"
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", npz_member(header % n_values, bytes(8)))
        archive.writestr("t_train.npy", npz_member(header % 1, bytes(8)))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"liar.npz: x_train declares shape .*" + message):
            datasets.load_npz(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 << 20


def test_load_npz_refuses_corrupt_members_with_a_value_error(tmp_path):
    path = tmp_path / "data.npz"
    np.savez_compressed(path, x_train=np.arange(3000.0).reshape(1000, 3), t_train=np.zeros(1000))
    packed = bytearray(path.read_bytes())
    start = packed.index(b"x_train.npy") + 200
    packed[start : start + 40] = b"\xff" * 40
    path.write_bytes(bytes(packed))
    with pytest.raises(ValueError, match=r"data.npz: not a readable .npz data file"):
        datasets.load_npz(path)


# ---------------------------------------------------------------- load by name, load_npy


def test_load_by_name_is_each_loader(tmp_path, monkeypatch):
    (X, T), (X_test, T_test) = datasets.load("regression", dtype="float64", seed=3)
    assert X.shape == (100_000, 2) and X_test.shape == (2_000, 2) and X.dtype == np.float64
    np.testing.assert_array_equal(X, datasets.make_regression(100_000, seed=3)[0])
    np.testing.assert_array_equal(X_test, datasets.make_regression(2_000, seed=4)[0])
    np.testing.assert_allclose(T, 3 * X[:, 0] + 2 * X[:, 1])
    for got, expected in zip(
        [*datasets.load("digits")[0]], [*datasets.load_digits()[0]], strict=True
    ):
        np.testing.assert_array_equal(got, expected)
    make_mnist_dir(tmp_path)
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path))
    (X, T), _ = datasets.load("mnist", dtype="float64")
    assert X.shape == (6, 784) and X.dtype == np.float64
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=np.ones((4, 3)), t_train=np.arange(4))
    (X, T), (X_test, T_test) = datasets.load(path)
    assert X.shape == (4, 3) and X_test is None and T_test is None
    assert set(datasets.NAMED_DATA_SETS) == {"regression", "digits", "mnist", "fashion-mnist"}


def test_load_by_an_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="name must be one of regression, digits, mnist"):
        datasets.load("fashion_mnist")
    with pytest.raises(FileNotFoundError, match="no such data file"):
        datasets.load("missing.npz")
    with pytest.raises(ValueError, match="seed must be >= 0"):
        datasets.load("regression", seed=-1)


def test_load_npy_reads_arrays_and_refuses_bad_files(tmp_path):
    path = tmp_path / "x.npy"
    array = np.arange(12.0).reshape(4, 3)
    np.save(path, array)
    np.testing.assert_array_equal(datasets.load_npy(path), array)
    with pytest.raises(ValueError, match="more than max_bytes=95"):
        datasets.load_npy(path, max_bytes=95)
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="Python objects, which are never unpickled"):
        datasets.load_npy(path)
    np.save(path, array)
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ValueError, match="x.npy: not a readable .npy array .*truncated or corrupt"):
        datasets.load_npy(path)
    path.write_bytes(b"not an array")
    with pytest.raises(ValueError, match="x.npy: not a readable .npy array"):
        datasets.load_npy(path)
    with pytest.raises(FileNotFoundError, match="no such data file"):
        datasets.load_npy(tmp_path / "missing.npy")
    with pytest.raises(ValueError, match="cannot read the data file .*a directory"):
        datasets.load_npy(tmp_path)
