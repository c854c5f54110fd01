"""Data sets: the course's regression sample and MNIST-format image files."""

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = [
    "make_regression",
    "load_mnist",
    "load_fashion_mnist",
    "load_digits",
    "load_npz",
    "read_idx",
]

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_FILES = {
    "train_img": "train-images-idx3-ubyte",
    "train_label": "train-labels-idx1-ubyte",
    "test_img": "t10k-images-idx3-ubyte",
    "test_label": "t10k-labels-idx1-ubyte",
}


def make_regression(n, seed=None, dtype="float64"):
    """Return the course's regression sample: ``x`` uniform in [0, 1)², ``y = 3x₀ + 2x₁``.

    Parameters
    ----------
    n : int
        Number of samples.
    seed : int, optional
    dtype : str, default "float64"

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n,)
    """
    X = np.random.default_rng(seed).random((n, 2)).astype(dtype)
    return X, 3 * X[:, 0] + 2 * X[:, 1]


def read_idx(path):
    """Read one IDX file (gzip-compressed or not) into an array, checking its header.

    Raises
    ------
    ValueError
        If the magic number, the dimensions or the data size are wrong.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path}: cannot read IDX data ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    n_dims = raw[3]
    header = 4 + 4 * n_dims
    if n_dims == 0 or len(raw) < header:
        raise ValueError(f"{path}: IDX header truncated or with {n_dims} dimensions")
    shape = tuple(int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(n_dims))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header says shape {shape} ({expected} bytes of data), the file has "
            f"{len(raw) - header} bytes: truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find_files(path, default_dirs):
    candidates = []
    if path is not None:
        candidates.append(Path(path))
    if os.environ.get("FASTNN_DATA"):
        candidates.append(Path(os.environ["FASTNN_DATA"]))
    candidates.extend(default_dirs)
    for directory in candidates:
        found = {}
        for key, stem in _FILES.items():
            for name in (stem, stem + ".gz"):
                if (directory / name).is_file():
                    found[key] = directory / name
                    break
        if len(found) == len(_FILES):
            return found
    return None, candidates


def _load(path, default_dirs, what, normalize, flatten, one_hot_label, dtype):
    found = _find_files(path, default_dirs)
    if isinstance(found, tuple):
        searched = ", ".join(str(c) for c in found[1])
        raise FileNotFoundError(
            f"{what}: the four IDX files ({', '.join(_FILES.values())}, optionally .gz) were "
            f"not found in any of: {searched}. Put them in one of these folders or pass "
            "path=...; on Debian, `apt-get install dataset-fashion-mnist` provides "
            f"Fashion-MNIST in {DEBIAN_FASHION_MNIST}."
        )
    data = {}
    for split in ("train", "test"):
        images = read_idx(found[f"{split}_img"])
        labels = read_idx(found[f"{split}_label"]).astype(np.int64)
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{what}: {split} images {images.shape} and labels {labels.shape} do not match"
            )
        images = images.astype(dtype)
        if normalize:
            images /= 255.0
        images = images.reshape(len(images), -1) if flatten else images[:, None, :, :]
        if one_hot_label:
            labels = np.eye(10, dtype=dtype)[labels]
        data[split] = (images, labels)
    return data["train"], data["test"]


def load_mnist(path=None, normalize=True, flatten=True, one_hot_label=False, dtype="float32"):
    """Load MNIST-format IDX files as the textbook's ``load_mnist`` does.

    Searched in order: ``path``, ``$FASTNN_DATA``, ``~/.fastnn/data``.

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        Images as ``(n, 784)`` (or ``(n, 1, 28, 28)`` with ``flatten=False``),
        scaled to [0, 1] with ``normalize``; labels as integers or one-hot rows.
    """
    return _load(
        path,
        [Path.home() / ".fastnn" / "data"],
        "load_mnist",
        normalize,
        flatten,
        one_hot_label,
        dtype,
    )


def load_fashion_mnist(
    path=None, normalize=True, flatten=True, one_hot_label=False, dtype="float32"
):
    """Load Fashion-MNIST, by default from Debian's ``dataset-fashion-mnist`` package.

    Searched in order: ``path``, ``$FASTNN_DATA``, ``~/.fastnn/data``,
    ``/usr/share/datasets/fashion-mnist``. Same options and return value as
    :func:`load_mnist`.
    """
    return _load(
        path,
        [Path.home() / ".fastnn" / "data", DEBIAN_FASHION_MNIST],
        "load_fashion_mnist",
        normalize,
        flatten,
        one_hot_label,
        dtype,
    )


def load_digits(normalize=True, one_hot_label=False, dtype="float32", test_size=360, seed=0):
    """Load scikit-learn's 8x8 digits (1,797 images, 10 classes), split like MNIST.

    Parameters
    ----------
    normalize : bool, default True
        Scale the pixel values 0..16 to [0, 1].
    one_hot_label : bool, default False
    dtype : str, default "float32"
    test_size : int, default 360
        Rows held out for the test split (a seeded shuffle decides which).
    seed : int, default 0

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        Images as ``(n, 64)`` rows.

    Raises
    ------
    ImportError
        If scikit-learn is not installed (``pip install scikit-learn``).
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the 8x8 digits: "
            "pip install scikit-learn (or pip install 'fastnn[test]')"
        ) from None
    digits = sklearn_digits()
    images = digits.data.astype(dtype)
    if normalize:
        images /= 16.0
    labels = digits.target.astype(np.int64)
    if one_hot_label:
        labels = np.eye(10, dtype=dtype)[labels]
    order = np.random.default_rng(seed).permutation(len(images))
    test, train = order[:test_size], order[test_size:]
    return (images[train], labels[train]), (images[test], labels[test])


def load_npz(path):
    """Load a data set saved as ``.npz`` with arrays ``x_train``, ``t_train`` and
    optionally ``x_test``, ``t_test`` (the course's names); never unpickles.

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        The test pair is ``(None, None)`` when the file has none.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such data file") from None
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"{path}: not a readable .npz data file ({error})") from None
    missing = [key for key in ("x_train", "t_train") if key not in arrays]
    if missing:
        raise ValueError(
            f"{path}: missing arrays {missing}; a data file holds x_train, t_train and "
            f"optionally x_test, t_test (it has {sorted(arrays)})"
        )
    return (arrays["x_train"], arrays["t_train"]), (arrays.get("x_test"), arrays.get("t_test"))
