"""Input validation shared by the whole library: clear errors that name the argument.

One dialect for every room (the network, the training engine, sweeps, the estimators
and the command line): each check names the argument, says what it got and what it
needs, and returns the value in the form the kernels take.
"""

import dataclasses
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
    elif array.ndim == 1 and n_outputs > 1 and not (n_rows == 1 and array.size == n_outputs):
        # A 1-D target is one sample's row here (as a 1-D X is one sample): for
        # several rows it is most likely one label per row, which these outputs
        # cannot take. Say so, rather than "has 10 columns".
        kind = "sigmoid" if loss_code == codes.SIGMOID_BCE else "identity"
        needs = (
            "0/1 labels, one column per output" if kind == "sigmoid" else "one column per output"
        )
        raise ValueError(
            f"{name} is 1-D with {array.size} values (shape {array.shape}), for {n_rows} "
            f"rows; the network has {n_outputs} {kind} outputs, so it needs {name} of shape "
            f"({n_rows}, {n_outputs}): {needs}"
            + (". For one class label per row, use output='softmax'" if kind == "sigmoid" else "")
        )
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


# ------------------------------------------------------------------ data sets to train on
# What the command line asks of a data set before training: which task its targets make
# (classes, labels or a regression), and every array checked, naming the array and row.

#: Integer labels name classes 0..K-1 and K is the output layer's width: a stray label of
#: 10**9 would otherwise ask for a network of billions of weights.
MAX_CLASSES = 10_000

_OUTPUTS = ("softmax", "sigmoid", "identity")


class OutputMismatchError(ValueError):
    """The targets do not suit the output layer asked for (:func:`training_data`'s ``output``)."""


@dataclasses.dataclass
class TrainingData:
    """A checked data set, ready for ``MLP.fit``, and the output layer its targets need.

    ``X`` and ``X_test`` are finite C-contiguous arrays of the dtype asked for; ``T`` and
    ``T_test`` are int64 class labels for a softmax output made from labels, else finite
    arrays of that dtype (one-hot rows, 0/1 labels, or regression targets).
    """

    X: NDArray[Any]
    T: NDArray[Any]
    X_test: NDArray[Any] | None
    T_test: NDArray[Any] | None
    output: str  # "softmax", "sigmoid" or "identity"
    n_outputs: int
    source: str = ""  # where the data came from, as messages and titles name it
    note: str = ""  # how the targets were read, when that was a choice

    @property
    def is_regression(self) -> bool:
        """True for an identity output (mean squared error)."""
        return self.output == "identity"


def finite_values(name: str, values: ArrayLike, dtype: DTypeLike, source: str = "") -> NDArray[Any]:
    """Return ``values`` (any shape) as a C-contiguous array of ``dtype``; raise at the first
    NaN or inf, or at a value too large for ``dtype``, naming its row (and column).

    ``source`` (a file or data set) starts the message when given.
    """
    dtype = check_dtype(dtype)
    prefix = f"{source}: " if source else ""
    with np.errstate(over="ignore", invalid="ignore"):
        cast = np.ascontiguousarray(values, dtype=dtype)
    bad = first_non_finite(cast.reshape(-1))
    if bad < 0:
        return cast
    position = np.unravel_index(bad, cast.shape)
    where = f"row {position[0]}" + (f", column {position[1]}" if cast.ndim == 2 else "")
    original = np.asarray(values)[position]
    if is_finite_number(original):
        raise ValueError(
            f"{prefix}{name} has a value too large for {dtype.name} at {where} ({original:g}); "
            "rescale the data or use float64"
        )
    raise ValueError(
        f"{prefix}{name} contains {original} at {where}; clean or impute the data first"
    )


def class_labels(name: str, labels: NDArray[Any], source: str = "") -> NDArray[np.int64]:
    """Return integer class labels ``0, 1, 2, ...`` (below :data:`MAX_CLASSES`) as int64."""
    prefix = f"{source}: " if source else ""
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{prefix}{name} must hold integer class labels like t_train, got dtype {labels.dtype}"
        )
    negative = np.flatnonzero(labels < 0)
    if negative.size:
        row = negative[0]
        raise ValueError(
            f"{prefix}{name} has label {labels[row]} at row {row}; class labels are 0, 1, 2, ..."
        )
    row = int(np.argmax(labels)) if labels.size else 0
    if labels.size and labels[row] >= MAX_CLASSES:
        raise ValueError(
            f"{prefix}{name} has label {labels[row]} at row {row}, which would need "
            f"{int(labels[row]) + 1:,} output units; class labels go from 0 to at most "
            f"{MAX_CLASSES - 1}"
        )
    return labels.astype(np.int64)


def training_data(
    X: ArrayLike,
    T: ArrayLike,
    X_test: ArrayLike | None = None,
    T_test: ArrayLike | None = None,
    *,
    dtype: DTypeLike = "float32",
    output: str | None = None,
    source: str = "",
    output_name: str = "output",
) -> TrainingData:
    """Check a data set for training and decide its task, as ``MLP.fit`` reads targets.

    With ``output`` None the targets decide: 1-D integer labels (or one column of
    them), or float labels that are all whole numbers from 0 to ``MAX_CLASSES - 1``
    (at least two classes), make a softmax classifier with one output per class;
    2-D rows that are one-hot (or probabilities) make a softmax classifier too;
    other float targets make a regression with one output per column. ``output``
    ("softmax", "sigmoid" or "identity") imposes the output layer, and the targets
    must suit it.

    Parameters
    ----------
    X, T : array-like
        The training inputs (2-D) and targets; messages call them x_train and t_train.
    X_test, T_test : array-like, optional
        A test split (both or neither); messages call them x_test and t_test.
    dtype : str, default "float32"
        The network's dtype: inputs and float targets are cast to it.
    output : {"softmax", "sigmoid", "identity"}, optional
    source : str, optional
        Where the data came from (a file, a data set's name): it starts every message.
    output_name : str, default "output"
        How messages name the choice of ``output`` (the command line says "--output").

    Returns
    -------
    TrainingData

    Raises
    ------
    TypeError
        If an array holds something other than real numbers, or labels are not integers.
    ValueError
        Naming the array and the row of the first bad value: NaN or inf, a value too
        large for ``dtype``, a negative or too large class label, a single class, or
        arrays of the wrong shape.
    OutputMismatchError
        If the targets do not suit ``output`` (a ``ValueError`` too).
    """
    dtype = check_dtype(dtype).name
    if output is not None and output not in _OUTPUTS:
        raise ValueError(f"output must be None, 'softmax', 'sigmoid' or 'identity', got {output!r}")
    if (X_test is None) != (T_test is None):
        raise ValueError("X_test and T_test come together: give both or neither")
    x_train, x_test, t_train, t_test = _data_set_arrays(X, X_test, T, T_test, dtype, source)
    data = TrainingData(x_train, t_train, x_test, t_test, "identity", 1, source)
    return _read_targets(data, dtype, output, output_name)


def _data_set_arrays(
    X: ArrayLike,
    X_test: ArrayLike | None,
    T: ArrayLike,
    T_test: ArrayLike | None,
    dtype: str,
    source: str,
) -> tuple[NDArray[Any], NDArray[Any] | None, NDArray[Any], NDArray[Any] | None]:
    """The inputs checked and cast to ``dtype``; the targets' kind and shape checked."""
    prefix = f"{source}: " if source else ""
    x_train, t_train = np.asarray(X), np.asarray(T)
    x_test = None if X_test is None else np.asarray(X_test)
    t_test = None if T_test is None else np.asarray(T_test)
    for name, values in (("x_train", x_train), ("x_test", x_test)):
        if values is not None and values.dtype.kind not in "biuf":
            raise TypeError(f"{prefix}{name} must hold real numbers, got {values.dtype}")
    for values in (x_train, x_test):
        if values is not None and values.ndim != 2:
            raise ValueError(
                f"{prefix}the inputs must be 2-D (samples, features), got {values.shape}"
            )
    for x, t, split in ((x_train, t_train, "train"), (x_test, t_test, "test")):
        if x is None or t is None:
            continue
        if x.shape[0] == 0:
            raise ValueError(f"{prefix}x_{split} has no samples (shape {x.shape})")
        if t.ndim not in (1, 2) or t.shape[0] != x.shape[0]:
            raise ValueError(
                f"{prefix}t_{split} has shape {t.shape}; it needs one row per row of x_{split} "
                f"({x.shape[0]}) and 1 or 2 dimensions"
            )
    if x_test is not None and x_test.shape[1] != x_train.shape[1]:
        raise ValueError(
            f"{prefix}x_test has {x_test.shape[1]} columns, x_train {x_train.shape[1]}: "
            "they must match"
        )
    if t_train.dtype.kind not in "iuf":
        raise TypeError(
            f"{prefix}t_train must hold integer class labels or float targets, got dtype "
            f"{t_train.dtype}"
            + ("; store labels as integers (t.astype(int))" if t_train.dtype == bool else "")
        )
    if t_train.ndim == 2 and t_train.shape[1] == 1:  # one column: the same as 1-D
        t_train = t_train[:, 0]
        t_test = t_test[:, 0] if t_test is not None and t_test.ndim == 2 else t_test
    x_train = finite_values("x_train", x_train, dtype, source)
    x_test = None if x_test is None else finite_values("x_test", x_test, dtype, source)
    return x_train, x_test, t_train, t_test


def _read_targets(
    data: TrainingData, dtype: str, output: str | None, output_name: str
) -> TrainingData:
    """Decide ``data``'s output layer and width from its targets (or check them against
    ``output``), and check them: the rules of :func:`training_data`."""
    source = data.source
    prefix = f"{source}: " if source else ""
    whose = f"{source}'s t_train" if source else "t_train"

    def finite(data: TrainingData) -> None:
        data.T = finite_values("t_train", data.T, dtype, source)
        if data.T_test is not None:
            data.T_test = finite_values("t_test", data.T_test, dtype, source)

    def as_labels(data: TrainingData) -> None:
        data.T = data.T.astype(np.int64)
        data.T_test = None if data.T_test is None else data.T_test.astype(np.int64)

    def whole_labels(data: TrainingData) -> bool:
        return _whole_labels(data.T) and (data.T_test is None or _whole_labels(data.T_test))

    def task(output: str, n_outputs: int = 0) -> TrainingData:
        # One output per class for labels, else one per column of targets.
        data.output = output
        data.n_outputs = n_outputs or (1 if data.T.ndim == 1 else data.T.shape[1])
        return data

    integer = data.T.ndim == 1 and data.T.dtype.kind in "iu"
    if output == "identity" or (output is None and not integer and data.T.ndim == 1):
        finite(data)
        largest = max(data.T.max(), 0 if data.T_test is None else data.T_test.max())
        if output is not None or not whole_labels(data) or largest < 1:  # two classes at least
            return task("identity")
        integer = True
        data.note = (
            "t_train holds whole numbers stored as floats: read as class labels, as MLP.fit "
            f"reads them ({_choice(output_name, 'identity')} trains a regression on them)"
        )
        as_labels(data)
    elif output == "softmax" and data.T.ndim == 1 and not integer:  # float labels, as fit takes
        finite(data)
        if not whole_labels(data):
            raise OutputMismatchError(
                f"{_choice(output_name, 'softmax')} needs class labels (0, 1, 2, ...) or "
                f"one-hot rows; {whose} holds other values: use "
                f"{_choice(output_name, 'identity')} (regression)"
            )
        integer = True
        as_labels(data)
    if integer and output in (None, "softmax"):
        data.T = class_labels("t_train", data.T, source)
        if data.T_test is not None:
            data.T_test = class_labels("t_test", data.T_test, source)
        n_classes = int(max(data.T.max(), 0 if data.T_test is None else data.T_test.max())) + 1
        if n_classes < 2:
            raise ValueError(
                f"{prefix}t_train has only one class (label 0); a classifier needs at least two"
            )
        return task("softmax", n_classes)
    finite(data)
    if output == "sigmoid":
        if not (
            _suits(data.T, codes.SIGMOID_BCE, dtype)
            and _suits(data.T_test, codes.SIGMOID_BCE, dtype)
        ):
            raise OutputMismatchError(
                f"{_choice(output_name, 'sigmoid')} needs targets in [0, 1] (0/1 labels, or "
                f"one column per label); {whose} has values from {data.T.min():g} to "
                f"{data.T.max():g}"
                + (
                    f"; use {_choice(output_name, 'softmax')} for more than two classes"
                    if integer
                    else ""
                )
            )
        return task("sigmoid")
    if data.T.ndim == 2 and _suits(data.T, codes.SOFTMAX_CE, dtype):
        if not _suits(data.T_test, codes.SOFTMAX_CE, dtype):
            raise ValueError(
                f"{prefix}t_train holds one-hot rows but t_test does not; give t_test the same form"
            )
        return task("softmax")
    if output == "softmax":
        raise OutputMismatchError(
            f"{_choice(output_name, 'softmax')} needs class labels (0, 1, 2, ...) or one-hot "
            f"rows; {whose} holds other targets: use {_choice(output_name, 'identity')} "
            "(regression) or sigmoid"
        )
    return task("identity")


def _choice(option: str, value: str) -> str:
    """ "--output softmax" for a command-line option, "output='softmax'" for an argument."""
    return f"{option} {value}" if option.startswith("-") else f"{option}={value!r}"


def _whole_labels(values: NDArray[Any]) -> bool:
    """True if float ``values`` could be class labels: whole numbers from 0 to MAX_CLASSES - 1."""
    return bool(
        values.size
        and np.all(np.isfinite(values))
        and np.all(values == np.round(values))
        and values.min() >= 0
        and values.max() < MAX_CLASSES
    )


def _suits(values: NDArray[Any] | None, loss_code: int, dtype: str) -> bool:
    """True if finite ``values`` (or no values) pass :func:`targets`'s check for ``loss_code``:
    one-hot or probability rows for a softmax output, values in [0, 1] for a sigmoid one."""
    if values is None:
        return True
    try:
        targets(
            "targets",
            values,
            len(values),
            1 if values.ndim == 1 else values.shape[1],
            loss_code,
            dtype,
        )
    except ValueError:
        return False
    return True
