"""Data sets: the course's regression sample, the 8x8 digits and MNIST-format image files."""

import gzip
import importlib.resources
import math
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fastnn.validation import check_int

__all__ = [
    "make_regression",
    "load",
    "load_mnist",
    "load_fashion_mnist",
    "load_digits",
    "load_npz",
    "load_npy",
    "read_idx",
    "NAMED_DATA_SETS",
]

#: ``(x_train, t_train), (x_test, t_test)``, as the loaders return them.
DataSplit: TypeAlias = tuple[tuple[NDArray[Any], NDArray[Any]], tuple[NDArray[Any], NDArray[Any]]]
PathLike: TypeAlias = str | os.PathLike[str]

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# The largest array a loader reads: MNIST's largest file holds 47 MB.
MAX_ARRAY_BYTES = 1 << 32
_MAX_IDX_DIMS = 32  # NumPy 1.x's limit
# Deflate expands data at most 1032:1 (a 258-byte match costs at least 2 bits), so
# a gzip file cannot hold more than this many times its own size.
_DEFLATE_MAX_RATIO = 1032
_GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK = 1 << 20
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
N_CLASSES = 10  # MNIST and Fashion-MNIST
# The 8x8 digits ship inside the package (fastnn/data/README says where they come from).
DIGITS_FILE = "digits.npz"
DIGITS_ROWS = 1797
_NPZ_ARRAYS = ("x_train", "t_train", "x_test", "t_test")
#: The data sets :func:`load` knows by name, each with how messages and chart titles call it.
NAMED_DATA_SETS = {
    "regression": "y = 3*x0 + 2*x1, 100,000 samples",
    "digits": "8x8 digits (UCI)",
    "mnist": "MNIST",
    "fashion-mnist": "Fashion-MNIST",
}
# Training and test rows of load("regression").
REGRESSION_ROWS = (100_000, 2_000)
_FILES = {
    "train_img": "train-images-idx3-ubyte",
    "train_label": "train-labels-idx1-ubyte",
    "test_img": "t10k-images-idx3-ubyte",
    "test_label": "t10k-labels-idx1-ubyte",
}


def make_regression(
    n: int, seed: int | None = None, dtype: DTypeLike = "float64"
) -> tuple[NDArray[np.floating[Any]], NDArray[np.floating[Any]]]:
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


def load(
    name: PathLike, *, dtype: DTypeLike = "float32", seed: int = 0
) -> tuple[tuple[NDArray[Any], NDArray[Any]], tuple[NDArray[Any] | None, NDArray[Any] | None]]:
    """Load a data set by its name, or from a ``.npz`` file, as the command line's ``--data``.

    Parameters
    ----------
    name : str or os.PathLike
        One of :data:`NAMED_DATA_SETS`:

        - ``"regression"``: the course's y = 3x0 + 2x1 (:func:`make_regression`),
          100,000 training rows drawn with ``seed`` and 2,000 test rows with ``seed + 1``;
        - ``"digits"``: :func:`load_digits`;
        - ``"mnist"``: :func:`load_mnist`;
        - ``"fashion-mnist"``: :func:`load_fashion_mnist`;

        or the path of a ``.npz`` file with ``x_train``, ``t_train`` and optionally
        ``x_test``, ``t_test`` (:func:`load_npz`).
    dtype : str, default "float32"
        The inputs' dtype for a named data set; a file's arrays come as stored.
    seed : int, default 0
        Draws the regression's rows; the other data sets ignore it.

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        The test pair is ``(None, None)`` when a file has none. Labels are as each
        loader gives them (integer class labels for the image sets).

    Raises
    ------
    ValueError
        If ``name`` is a string that names no data set and does not end with
        ``.npz``, or the file is not a readable data set (see :func:`load_npz`).
    FileNotFoundError
        If MNIST's or Fashion-MNIST's files, or the ``.npz`` file, are not found.
    """
    seed = check_int("seed", seed, minimum=0)
    if isinstance(name, str) and name not in NAMED_DATA_SETS:
        if not name.lower().endswith(".npz"):
            raise ValueError(
                f"name must be one of {', '.join(NAMED_DATA_SETS)} or the path of a .npz "
                f"file, got {name!r}"
            )
    if name == "regression":
        train_rows, test_rows = REGRESSION_ROWS
        X, T = make_regression(train_rows, seed=seed, dtype=dtype)
        X_test, T_test = make_regression(test_rows, seed=seed + 1, dtype=dtype)
        return (X, T), (X_test, T_test)
    if name == "digits":
        return load_digits(dtype=dtype)
    if name == "mnist":
        return load_mnist(dtype=dtype)
    if name == "fashion-mnist":
        return load_fashion_mnist(dtype=dtype)
    return load_npz(name)


def _open_regular_file(path):
    """Open ``path`` for binary reading if it is a regular file, else raise ValueError.

    The file is opened without blocking and checked with ``fstat`` on the open
    descriptor, so a FIFO cannot hang the caller (a blocking open waits for a
    writer) and cannot be swapped in between a check and the open.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a file")
            raise ValueError(f"{path}: not a regular file ({kind})")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_idx(path: PathLike, *, max_bytes: int = MAX_ARRAY_BYTES) -> NDArray[Any]:
    """Read one IDX file (gzip-compressed or not) into an array, checking its header.

    The header (magic number, data type, dimensions) is read and checked first;
    then exactly the number of bytes it declares, in bounded chunks, into one
    array of that size. gzip is recognised by its magic bytes, whatever the
    file's name.

    Parameters
    ----------
    path : str or os.PathLike
    max_bytes : int, default ``MAX_ARRAY_BYTES`` (4 GiB)
        Refuse files whose header declares more data than this.

    Returns
    -------
    ndarray
        With the shape and (big-endian) data type the header declares.

    Raises
    ------
    ValueError
        If ``path`` is not a regular file (a directory, FIFO or device) or cannot be
        read; if the magic number, data type code or dimensions are wrong; if the
        declared size is larger than ``max_bytes`` or than the file can hold; if the
        data are shorter than declared (truncated), longer (trailing data), or the
        compressed stream is corrupt.
    """
    path = Path(path)
    max_bytes = check_int("max_bytes", max_bytes, minimum=0)
    try:
        with _open_regular_file(path) as raw:
            file_size = os.fstat(raw.fileno()).st_size
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not compressed:
                return _read_idx_stream(raw, path, file_size, False, max_bytes)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_idx_stream(stream, path, file_size, True, max_bytes)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: cannot read IDX data ({error})") from None


def _read_idx_stream(stream, path, file_size, compressed, max_bytes):
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {magic.hex()})")
    n_dims = magic[3]
    if not 1 <= n_dims <= _MAX_IDX_DIMS:
        raise ValueError(
            f"{path}: IDX header declares {n_dims} dimensions, expected 1 to {_MAX_IDX_DIMS}"
        )
    dims = stream.read(4 * n_dims)
    if len(dims) < 4 * n_dims:
        raise ValueError(
            f"{path}: IDX header truncated: {n_dims} dimensions need {4 * n_dims} bytes, "
            f"found {len(dims)}"
        )
    shape = struct.unpack(f">{n_dims}I", dims)
    dtype = np.dtype(_IDX_TYPES[magic[2]])
    n_bytes = math.prod(shape) * dtype.itemsize
    declared = f"{path}: IDX header says shape {shape} ({n_bytes} bytes of data)"
    if n_bytes > max_bytes:
        raise ValueError(f"{declared}, more than max_bytes={max_bytes}")
    if compressed and n_bytes > _DEFLATE_MAX_RATIO * file_size:
        raise ValueError(
            f"{declared}, more than a {file_size}-byte gzip file can hold "
            f"(deflate expands at most {_DEFLATE_MAX_RATIO}:1): corrupt"
        )
    if not compressed and file_size - 4 - 4 * n_dims > n_bytes:
        raise ValueError(
            f"{declared}, the file has {file_size - 4 - 4 * n_dims} bytes: trailing data "
            "or a corrupt header"
        )
    # A plain file is now known to hold at most n_bytes; a gzip stream is read in
    # bounded chunks into a buffer of exactly the declared size.
    buffer = np.empty(n_bytes, dtype=np.uint8)
    view = memoryview(buffer)
    filled = 0
    while filled < n_bytes:
        count = stream.readinto(view[filled : filled + _READ_CHUNK])
        if not count:
            raise ValueError(f"{declared}, the file has {filled} bytes: truncated or corrupt")
        filled += count
    if stream.read(1):
        raise ValueError(
            f"{path}: the stream holds more than the {n_bytes} bytes of data its header "
            f"declares (shape {shape}): trailing data or a corrupt header"
        )
    try:
        return buffer.view(dtype).reshape(shape)
    except ValueError:  # 0 bytes, but the other dimensions multiply beyond 2**63
        raise ValueError(f"{declared}, a shape NumPy cannot hold: corrupt") from None


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
        labels = read_idx(found[f"{split}_label"])
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{what}: {split} images {images.shape} and labels {labels.shape} do not match"
            )
        if images.dtype != np.uint8:
            raise ValueError(
                f"{found[f'{split}_img']}: images must be bytes (IDX type 0x08, values 0..255), "
                f"got {images.dtype}"
            )
        labels = _checked_labels(labels, found[f"{split}_label"], what)
        images = images.astype(dtype)
        if normalize:
            images /= 255.0
        images = images.reshape(len(images), -1) if flatten else images[:, None, :, :]
        if one_hot_label:
            labels = np.eye(N_CLASSES, dtype=dtype)[labels]
        data[split] = (images, labels)
    return data["train"], data["test"]


def _checked_labels(labels, path, what):
    """Return ``labels`` as int64 if each is a class 0..9, else raise naming the first bad one."""
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{path}: labels must be integers, got IDX data of type {labels.dtype}")
    labels = labels.astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= N_CLASSES))
    if bad.size:
        raise ValueError(
            f"{path}: label {labels[bad[0]]} at position {bad[0]} is out of range; {what} "
            f"has {N_CLASSES} classes, labelled 0 to {N_CLASSES - 1}"
        )
    return labels


def load_mnist(
    path: PathLike | None = None,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    dtype: DTypeLike = "float32",
) -> DataSplit:
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
    path: PathLike | None = None,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    dtype: DTypeLike = "float32",
) -> DataSplit:
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


def load_digits(
    normalize: bool = True,
    one_hot_label: bool = False,
    dtype: DTypeLike = "float32",
    test_size: int = 360,
    seed: int | None = 0,
) -> DataSplit:
    """Load the 8x8 digits shipped with fastnn (1,797 images, 10 classes), split like MNIST.

    These are the arrays of scikit-learn's ``sklearn.datasets.load_digits()``, in
    the same order, stored in ``fastnn/data/digits.npz``, so scikit-learn is not
    needed. They are the test set of the UCI "Optical Recognition of Handwritten
    Digits" data set (E. Alpaydin and C. Kaynak, 1998,
    https://doi.org/10.24432/C50P49), which the UCI Machine Learning Repository
    distributes under the Creative Commons Attribution 4.0 licence (CC BY 4.0);
    ``fastnn/data/README`` gives the details.

    Parameters
    ----------
    normalize : bool, default True
        Scale the pixel values 0..16 to [0, 1].
    one_hot_label : bool, default False
    dtype : str, default "float32"
    test_size : int, default 360
        Rows held out for the test split (a seeded shuffle decides which), from 0
        to 1,796.
    seed : int, default 0

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        Images as ``(n, 64)`` rows; labels as int64 (or one-hot rows of ``dtype``).

    Raises
    ------
    TypeError
        If ``test_size`` is not an integer.
    ValueError
        If ``test_size`` would leave no training rows.
    """
    pixels, digits = _packaged_digits()
    test_size = check_int("test_size", test_size, minimum=0)
    if test_size >= len(pixels):
        raise ValueError(
            f"test_size must leave training rows: the digits have {len(pixels)} rows, "
            f"so test_size must be at most {len(pixels) - 1}, got {test_size}"
        )
    images: NDArray[Any] = pixels.astype(dtype)
    if normalize:
        images /= 16.0
    labels: NDArray[Any] = digits.astype(np.int64)
    if one_hot_label:
        labels = np.eye(10, dtype=dtype)[labels]
    order = np.random.default_rng(seed).permutation(len(images))
    test, train = order[:test_size], order[test_size:]
    return (images[train], labels[train]), (images[test], labels[test])


def _packaged_digits() -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Return the shipped digits as ``(images, labels)``: uint8 ``(1797, 64)`` and ``(1797,)``.

    Raises OSError if the file is missing or not what fastnn ships (a broken install).
    """
    resource = importlib.resources.files("fastnn") / "data" / DIGITS_FILE
    try:
        with resource.open("rb") as stream, np.load(stream, allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise OSError(
            f"fastnn's copy of the 8x8 digits ({resource}) cannot be read ({error}); "
            "reinstall fastnn"
        ) from None
    if (
        images.shape != (DIGITS_ROWS, 64)
        or labels.shape != (DIGITS_ROWS,)
        or images.dtype != np.uint8
        or labels.dtype != np.uint8
        or images.max() > 16
        or labels.max() >= 10
    ):
        raise OSError(f"fastnn's copy of the 8x8 digits ({resource}) is damaged; reinstall fastnn")
    return images, labels


def load_npz(
    path: PathLike, *, max_bytes: int = MAX_ARRAY_BYTES
) -> tuple[tuple[NDArray[Any], NDArray[Any]], tuple[NDArray[Any] | None, NDArray[Any] | None]]:
    """Load a data set saved as ``.npz`` with arrays ``x_train``, ``t_train`` and
    optionally ``x_test``, ``t_test`` (the course's names); never unpickles.

    Only those four arrays are read (other members are ignored unread), and each
    one's header is checked against the size of its member before any memory is
    allocated for it.

    Parameters
    ----------
    path : str or os.PathLike
    max_bytes : int, default ``MAX_ARRAY_BYTES`` (4 GiB)
        Refuse arrays larger than this.

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        The test pair is ``(None, None)`` when the file has none.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If ``path`` is not a regular file or not a readable ``.npz`` archive, an
        array is missing, too large, holds Python objects or corrupt data, or the
        arrays do not form a data set: ``x_*`` must be 2-D (samples, features) with
        at least one of each; ``t_*`` 1-D (labels or targets) or 2-D, with as many
        rows as its ``x``; all of real numbers; ``x_test`` and ``t_test`` come
        together and have the columns of ``x_train`` and ``t_train``.
    """
    path = Path(path)
    max_bytes = check_int("max_bytes", max_bytes, minimum=0)
    try:
        stream = _open_regular_file(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such data file") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read the data file ({error})") from None
    with stream:
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise ValueError(f"{path}: not a readable .npz data file ({error})") from None
        with archive:
            names = {name[: -len(".npy")] for name in archive.namelist() if name.endswith(".npy")}
            missing = [key for key in ("x_train", "t_train") if key not in names]
            if missing:
                raise ValueError(
                    f"{path}: missing arrays {missing}; a data file holds x_train, t_train and "
                    f"optionally x_test, t_test (it has {sorted(names)})"
                )
            arrays = {
                key: _read_npz_array(archive, key, path, max_bytes)
                for key in _NPZ_ARRAYS
                if key in names
            }
    _check_data_set(arrays, path)
    return (arrays["x_train"], arrays["t_train"]), (arrays.get("x_test"), arrays.get("t_test"))


def _read_npz_array(archive, key, path, max_bytes):
    """Read member ``key.npy`` of ``archive`` after checking its header against its size."""
    member = archive.getinfo(f"{key}.npy")
    try:
        with archive.open(member) as stream:
            shape, dtype = _npy_header(stream)
            header_size = stream.tell()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as error:
        raise ValueError(f"{path}: not a readable .npz data file ({key}: {error})") from None
    except (NotImplementedError, ValueError, SyntaxError, TypeError) as error:
        raise ValueError(f"{path}: not a readable .npz data file ({key}: {error})") from None
    if dtype.hasobject:
        raise ValueError(f"{path}: {key} holds Python objects, which are never unpickled")
    n_bytes = math.prod(shape) * dtype.itemsize
    if n_bytes > max_bytes:
        raise ValueError(
            f"{path}: {key} declares shape {shape} ({n_bytes} bytes), more than "
            f"max_bytes={max_bytes}"
        )
    if header_size + n_bytes != member.file_size:
        raise ValueError(
            f"{path}: {key} declares shape {shape} and type {dtype} ({n_bytes} bytes), its "
            f"member holds {member.file_size - header_size} bytes of data: corrupt"
        )
    try:
        with archive.open(member) as stream:
            return np.lib.format.read_array(stream, allow_pickle=False)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, ValueError) as error:
        raise ValueError(f"{path}: not a readable .npz data file ({key}: {error})") from None


def _npy_header(stream):
    """Read a ``.npy`` header (format 1.0 or 2.0) from ``stream``; return ``(shape, dtype)``."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return shape, dtype


def _check_data_set(arrays, path):
    """Raise ValueError naming ``path`` and the array unless ``arrays`` form a data set."""
    if ("x_test" in arrays) != ("t_test" in arrays):
        given, absent = ("x_test", "t_test") if "x_test" in arrays else ("t_test", "x_test")
        raise ValueError(
            f"{path}: {given} without {absent}; a test split needs both (or leave both out)"
        )
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{path}: {key} must hold real numbers, got dtype {array.dtype}")
    for split in ("train", "test"):
        if f"x_{split}" not in arrays:
            continue
        x, t = arrays[f"x_{split}"], arrays[f"t_{split}"]
        if x.ndim != 2:
            raise ValueError(
                f"{path}: x_{split} must be 2-D (samples, features), got shape {x.shape}; "
                "store one feature as shape (n, 1) and images flattened to (n, pixels)"
            )
        if x.shape[0] == 0:
            raise ValueError(f"{path}: x_{split} has no samples (shape {x.shape})")
        if x.shape[1] == 0:
            raise ValueError(f"{path}: x_{split} has no features (shape {x.shape})")
        if t.ndim not in (1, 2):
            raise ValueError(
                f"{path}: t_{split} must be 1-D (labels or targets) or 2-D (one-hot rows or "
                f"several targets), got shape {t.shape}"
            )
        if t.shape[0] != x.shape[0]:
            raise ValueError(
                f"{path}: t_{split} has {t.shape[0]} rows, x_{split} {x.shape[0]}: they must match"
            )
    if "x_test" in arrays:
        x_train, x_test = arrays["x_train"], arrays["x_test"]
        if x_test.shape[1] != x_train.shape[1]:
            raise ValueError(
                f"{path}: x_test has {x_test.shape[1]} columns, x_train {x_train.shape[1]}: "
                "they must match"
            )
        t_train, t_test = arrays["t_train"], arrays["t_test"]
        if t_test.shape[1:] != t_train.shape[1:]:
            raise ValueError(
                f"{path}: t_test has shape {t_test.shape}, which does not fit t_train's "
                f"{t_train.shape}"
            )


def load_npy(path: PathLike, *, max_bytes: int = MAX_ARRAY_BYTES) -> NDArray[Any]:
    """Load one array saved by ``np.save`` (a ``.npy`` file); never unpickles.

    The header is read first, and the size it declares checked against the bytes
    the file holds, so that a crafted header cannot ask for a huge array.

    Parameters
    ----------
    path : str or os.PathLike
    max_bytes : int, default ``MAX_ARRAY_BYTES`` (4 GiB)
        Refuse arrays larger than this.

    Returns
    -------
    ndarray

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If ``path`` is not a regular file or cannot be read, its header is not a
        ``.npy`` header, it holds Python objects, or it declares more data than the
        file holds (truncated or corrupt) or than ``max_bytes``.
    """
    max_bytes = check_int("max_bytes", max_bytes, minimum=0)
    try:
        stream = _open_regular_file(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such data file") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the data file ({error})") from None
    with stream:
        try:
            shape, dtype = _npy_header(stream)
            available = os.fstat(stream.fileno()).st_size - stream.tell()
            if dtype.hasobject:
                raise ValueError("it holds Python objects, which are never unpickled")
            declared = math.prod(shape) * dtype.itemsize
            if declared > available:
                raise ValueError(
                    f"its header declares {shape} {dtype} ({declared:,} bytes) but only "
                    f"{available:,} bytes follow: truncated or corrupt"
                )
            if declared > max_bytes:
                raise ValueError(
                    f"its header declares {shape} {dtype} ({declared:,} bytes), more than "
                    f"max_bytes={max_bytes:,}"
                )
            stream.seek(0)
            array: NDArray[Any] = np.load(stream, allow_pickle=False)
            return array
        except (ValueError, OSError, EOFError, SyntaxError, TypeError) as error:
            raise ValueError(f"{path}: not a readable .npy array ({error})") from None
