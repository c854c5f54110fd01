"""Input validation shared by the whole library: clear errors that name the argument.

One dialect for every room (the network, the training engine, sweeps, the estimators
and the command line): each check names the argument, says what it got and what it
needs, and returns the value in the form the kernels take.
"""

import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from fastnn.kernels import cast_first_non_finite, codes, first_non_finite

DTYPES = {"float32": np.float32, "float64": np.float64}


def is_finite_number(value: Any) -> bool:
    """True if the real number ``value`` is finite as a float (``10**400`` is not)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def check_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    """Return ``np.dtype`` for "float32"/"float64" (or those types), else raise."""
    if dtype is None or (isinstance(dtype, str) and dtype not in DTYPES):
        # np.dtype(None) is float64, and some strings make NumPy raise SyntaxError.
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    try:
        resolved = np.dtype(dtype)
    except (TypeError, SyntaxError, ValueError):
        resolved = None
    if resolved is None or resolved.name not in DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return resolved


def check_int(name: str, value: Any, *, minimum: int) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def as_matrix(name: str, values: ArrayLike, n_columns: int, dtype: DTypeLike) -> NDArray[Any]:
    """Return ``values`` as a finite C-contiguous ``(n, n_columns)`` array of ``dtype``.

    A 1-D array is one sample when ``n_columns > 1``, and a column of samples
    when ``n_columns == 1``.
    """
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be array-like numbers: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array.reshape(-1, 1) if n_columns == 1 else array.reshape(1, -1)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} has no samples (shape {array.shape})")
    if array.shape[1] != n_columns:
        raise ValueError(
            f"{name} has {array.shape[1]} columns (shape {array.shape}), the network needs "
            f"{n_columns}"
        )
    dtype = np.dtype(dtype)
    source = array
    if array.dtype == dtype and array.flags.c_contiguous:
        bad = first_non_finite(array)  # already what the kernels take: no copy
    elif not _numba_types(array.dtype):
        # Numba cannot read float16, extended precision or a foreign byte order:
        # NumPy casts (rounding once, as the compiled pass would), then we scan.
        with np.errstate(over="ignore", invalid="ignore"):
            array = np.ascontiguousarray(source.astype(dtype))
        bad = first_non_finite(array)
    else:
        # One compiled pass casts and checks (a cast then a scan would be two).
        array = np.empty(source.shape, dtype=dtype)
        bad = cast_first_non_finite(source, array)
    if bad >= 0:
        row, column = divmod(bad, array.shape[1])
        original = source[row, column]
        if np.isfinite(original):
            raise ValueError(
                f"{name}[{row}, {column}] is {original}, beyond the range of {dtype.name} "
                f"(largest {np.finfo(dtype).max:.3g}); scale the data or use dtype='float64'"
            )
        raise ValueError(
            f"{name} contains NaN or inf (first at row {row}, column {column}); "
            "clean or impute the data first"
        )
    return array


def targets(
    name: str, values: ArrayLike, n_rows: int, n_outputs: int, loss_code: int, dtype: DTypeLike
) -> NDArray[Any]:
    """Return targets as a finite ``(n_rows, n_outputs)`` array of ``dtype`` for ``loss_code``.

    For a softmax output (``codes.SOFTMAX_CE``), 1-D integer class labels become
    one-hot rows, and rows must be one-hot or class probabilities (>= 0, summing
    to 1); for a sigmoid output values must lie in [0, 1]; an identity output
    takes any finite values. ``n_rows`` is the number of input rows they must match.
    """
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be array-like numbers: {error}") from None
    softmax = loss_code == codes.SOFTMAX_CE
    if softmax and array.ndim == 1:
        array = _one_hot(name, array, n_outputs, dtype)
    array = as_matrix(name, array, n_outputs, dtype)
    if array.shape[0] != n_rows:
        raise ValueError(f"{name} has {array.shape[0]} rows, X has {n_rows}: they must match")
    if softmax:
        low = array.min()
        if low < 0:
            raise ValueError(
                f"{name}: targets for a softmax output are one-hot rows or class "
                f"probabilities, so they must be >= 0; got {low}"
            )
        sums = array.sum(axis=1, dtype=np.float64)
        worst = int(np.argmax(np.abs(sums - 1)))
        if abs(sums[worst] - 1) > 1e-3:
            raise ValueError(
                f"{name}: each row of targets for a softmax output must sum to 1 (one-hot "
                f"or class probabilities); row {worst} sums to {sums[worst]:.6g}. For "
                "several independent labels per sample use output='sigmoid'"
            )
    if loss_code == codes.SIGMOID_BCE and (array.min() < 0 or array.max() > 1):
        raise ValueError(f"{name}: targets for a sigmoid output must lie in [0, 1]")
    return array


def _one_hot(name: str, labels: NDArray[Any], n_classes: int, dtype: DTypeLike) -> NDArray[Any]:
    """Integer class labels ``0..n_classes-1`` as one-hot rows of ``dtype``."""
    if labels.dtype.kind == "b":
        raise TypeError(
            f"{name}: boolean labels are ambiguous for a softmax output; pass integer "
            f"class labels ({name}.astype(int)) or one-hot rows"
        )
    if labels.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold class labels or one-hot rows, got dtype {labels.dtype}")
    if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
        raise ValueError(f"{name}: 1-D class labels must be whole numbers")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{name}: class labels must be in [0, {n_classes - 1}] for {n_classes} outputs, "
            f"got values from {labels.min()} to {labels.max()}"
        )
    one_hot = np.zeros((labels.shape[0], n_classes), dtype=dtype)
    one_hot[np.arange(labels.shape[0]), labels.astype(np.int64)] = 1
    return one_hot


def _numba_types(dtype: np.dtype[Any]) -> bool:
    """True if compiled kernels can read arrays of ``dtype`` (native bool, int, float32/64)."""
    return dtype.isnative and (dtype.kind in "biu" or dtype.itemsize in (4, 8))


def positive_int_argument(text: str) -> int:
    """argparse type: a positive integer, else a message argparse reports (exit code 2)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value
