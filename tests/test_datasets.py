"""Data sets: the regression sample, IDX files (written by the tests), digits, .npz files."""

import gzip
import os
import struct

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
