"""Input checks of the estimators, as scikit-learn's ``validate_data`` does them.

Written here rather than imported from scikit-learn, so that fastnn never needs
it: ``X`` dense or sparse (any scipy.sparse format, trained as CSR), its feature
names (``feature_names_in_``), class labels through :class:`LabelCoder` (what
scikit-learn's ``LabelBinarizer`` does for its MLP), regression targets, and
sample weights. Every error names the argument, what it got and what it needs.
"""

import numbers
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn.estimators.errors import DataConversionWarning, user_stacklevel, warn
from fastnn.validation import as_matrix


def is_sparse(values: Any) -> bool:
    """True for a scipy.sparse matrix or array (checked without importing scipy.sparse)."""
    return type(values).__module__.startswith("scipy.sparse")


def _feature_names(X):
    """The column names of a data frame if all are strings, else None (scikit-learn's rule)."""
    if isinstance(X, np.ndarray) or is_sparse(X) or not hasattr(X, "columns"):
        return None
    names = np.asarray(list(X.columns), dtype=object)
    if len(names) == 0:
        return None
    types = sorted(t.__qualname__ for t in {type(name) for name in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. If you want "
            "feature names to be stored and validated, you must convert them all to "
            "strings, by using X.columns = X.columns.astype(str) for example. Otherwise you "
            "can remove feature / column names from your input data, or convert them all "
            "to a non-string data type."
        )
    return names if types == ["str"] else None


def _name_list(names):
    lines = [f"- {name}\n" for name in names[:5]]
    return "".join(lines) + ("- ...\n" if len(names) > 5 else "")


def check_feature_names(estimator: Any, X: Any, *, reset: bool) -> None:
    """Set ``feature_names_in_`` (``reset``) or check ``X``'s names against it."""
    names = _feature_names(X)
    if reset:
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    name = type(estimator).__name__
    if names is None and fitted is None:
        return
    if fitted is None:
        warnings.warn(
            f"X has feature names, but {name} was fitted without feature names",
            stacklevel=user_stacklevel(),
        )
        return
    if names is None:
        warnings.warn(
            f"X does not have valid feature names, but {name} was fitted with feature names",
            stacklevel=user_stacklevel(),
        )
        return
    if len(fitted) == len(names) and np.all(fitted == names):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(names) - set(fitted))
    missing = sorted(set(fitted) - set(names))
    if unexpected:
        message += "Feature names unseen at fit time:\n" + _name_list(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + _name_list(missing)
    if not unexpected and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def _numeric_array(name, values, estimator_name):
    """``np.asarray(values)`` if it holds real numbers (or objects that are), else raise."""
    if values is None:
        target = "the target y" if name == "y" else name
        raise ValueError(f"{estimator_name} requires {name} to be passed, but {target} is None")
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a rectangular array of numbers: {error}") from None
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}")
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError, OverflowError) as error:  # 10**400 fits no float
            raise TypeError(
                f"{name} must hold numbers; converting it to float failed: {error}"
            ) from None
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must hold real numbers, got dtype {array.dtype}; encode text or "
            "categories as numbers first"
        )
    return array


def network_dtype(X_dtype: np.dtype[Any], requested: np.dtype[Any] | None) -> np.dtype[Any]:
    """The network's dtype: the one requested, else float32 for float32 X, else float64."""
    if requested is not None:
        return requested
    return np.dtype(np.float32) if X_dtype == np.float32 else np.dtype(np.float64)


def check_inputs(estimator: Any, X: Any, *, reset: bool, dtype: np.dtype[Any] | None) -> Any:
    """Return ``X`` as a finite C-contiguous array, or a CSR matrix, of the network's dtype.

    Parameters
    ----------
    estimator
        Its ``n_features_in_`` and ``feature_names_in_`` are set (``reset``) or
        checked, as scikit-learn does.
    X : array-like, data frame or scipy.sparse matrix, shape (n_samples, n_features)
    reset : bool
        True in ``fit`` and the first ``partial_fit``.
    dtype : numpy.dtype or None
        The dtype to cast to; None picks :func:`network_dtype` of ``X``.
    """
    name = type(estimator).__name__
    if X is None:
        raise ValueError(f"{name} requires X to be passed, but X is None")
    check_feature_names(estimator, X, reset=reset)
    if is_sparse(X):
        matrix = X.tocsr()
        if matrix.dtype.kind not in "biuf":
            raise ValueError(f"X must hold real numbers, got a sparse matrix of {matrix.dtype}")
        shape = matrix.shape
    else:
        array = _numeric_array("X", X, name)
        if array.ndim != 2:
            raise ValueError(
                f"Expected a 2-dimensional container but got {type(X).__name__} of shape "
                f"{array.shape} instead: {name} expects 2-D X (n_samples, n_features). "
                "Reshape your data either using X.reshape(-1, 1) if it has a single feature "
                "or X.reshape(1, -1) if it contains a single sample."
            )
        shape = array.shape
    for count, what in zip(shape, ("sample", "feature"), strict=True):
        if count == 0:
            raise ValueError(
                f"Found array with 0 {what}(s) (shape={shape}) while a minimum of 1 is "
                f"required by {name}."
            )
    if reset:
        estimator.n_features_in_ = shape[1]
    elif shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {shape[1]} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    source_dtype = matrix.dtype if is_sparse(X) else array.dtype
    dtype = network_dtype(source_dtype, dtype)
    if is_sparse(X):
        matrix = matrix.astype(dtype, copy=matrix.dtype != dtype)
        if not np.all(np.isfinite(matrix.data)):
            raise ValueError("X contains NaN or inf; clean or impute the data first")
        return matrix
    return as_matrix("X", array, shape[1], dtype)


def check_n_rows(X_rows: int, name: str, values: NDArray[Any]) -> None:
    """Raise unless ``values`` has one entry per row of X."""
    if values.shape[0] != X_rows:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{X_rows}, {values.shape[0]}] (X has {X_rows} rows, {name} {values.shape[0]})"
        )


def column_or_1d(y: NDArray[Any], warn_column: bool = True) -> NDArray[Any]:
    """``y`` of shape (n, 1) as (n,), with scikit-learn's DataConversionWarning."""
    if y.ndim == 2 and y.shape[1] == 1:
        if not warn_column:
            return y[:, 0]
        warn(
            DataConversionWarning,
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples, ), for example using ravel().",
        )
        return y[:, 0]
    return y


def check_regression_targets(
    y: Any, n_rows: int, estimator_name: str, warn_column: bool = True
) -> NDArray[np.float64]:
    """Return ``y`` as finite float64, 1-D (one output) or 2-D (several outputs).

    A column ``(n, 1)`` becomes 1-D, with a DataConversionWarning if ``warn_column``
    (``fit`` warns as scikit-learn does, ``score`` does not).
    """
    if is_sparse(y):
        y = y.toarray()
    targets = _numeric_array("y", y, estimator_name)
    if targets.ndim not in (1, 2):
        raise ValueError(
            f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), got shape {targets.shape}"
        )
    if targets.ndim == 2 and targets.shape[1] == 0:
        raise ValueError(f"y has 0 outputs (shape {targets.shape}); it needs at least 1")
    check_n_rows(n_rows, "y", targets)
    targets = column_or_1d(targets.astype(np.float64, copy=False), warn_column)
    if not np.all(np.isfinite(targets)):
        raise ValueError("Input y contains NaN or infinity; clean the targets first")
    return targets


def check_sample_weight(sample_weight: Any, n_rows: int, dtype: np.dtype[Any]) -> NDArray[Any]:
    """Return the sample weights as a finite ``(n_rows,)`` array of ``dtype`` (ones if None)."""
    if sample_weight is None:
        return np.ones(n_rows, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        return np.full(n_rows, sample_weight, dtype=dtype)
    weights = _numeric_array("sample_weight", sample_weight, "sample_weight")
    if weights.ndim != 1:
        raise ValueError(f"Sample weights must be 1D array or scalar, got shape {weights.shape}")
    if weights.shape[0] != n_rows:
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected ({n_rows},)!")
    weights = np.ascontiguousarray(weights, dtype=dtype)
    if not np.all(np.isfinite(weights)):
        raise ValueError("Input sample_weight contains NaN or infinity")
    if not np.any(weights):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


# ---------------------------------------------------------------- class labels


def _is_integral(values):
    return values.dtype.kind in "biu" or bool(np.all(values == np.round(values)))


def type_of_target(y: NDArray[Any]) -> str:
    """scikit-learn's ``type_of_target`` for the cases a classifier meets."""
    if y.ndim > 2 or y.dtype.kind == "c":
        return "unknown"
    if y.ndim == 2 and y.shape[1] > 1:
        if y.dtype.kind in "biuf" and np.unique(y).shape[0] < 3 and _is_integral(y):
            return "multilabel-indicator"
        if y.dtype.kind == "f" and not _is_integral(y):
            return "continuous-multioutput"
        return "multiclass-multioutput"
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity")
        if not _is_integral(y):
            return "continuous"
    return "multiclass" if _unique(y).shape[0] > 2 else "binary"


def _unique(labels):
    if labels.dtype.kind == "O":
        kinds = {isinstance(label, str) for label in labels.ravel()}
        if len(kinds) > 1:
            raise ValueError("Mix of label input types (string and number)")
    return np.unique(labels)


def as_labels(y: Any, estimator_name: str, warn_column: bool = True) -> NDArray[Any]:
    """``y`` as an array of class labels: 1-D, or 2-D indicator rows (see
    :func:`check_regression_targets` for ``warn_column``)."""
    if y is None:
        raise ValueError(f"{estimator_name} requires y to be passed, but the target y is None")
    if is_sparse(y):
        y = y.toarray()
    try:
        labels = np.asarray(y)
    except (TypeError, ValueError) as error:
        raise ValueError(f"y must be an array of class labels: {error}") from None
    if labels.ndim == 0:
        raise ValueError(f"y must be an array of class labels, got the scalar {labels!r}")
    return column_or_1d(labels, warn_column)


class LabelCoder:
    """Class labels <-> the network's target columns, as scikit-learn's LabelBinarizer.

    Two classes: one column (1 for ``classes_[1]``), a logistic output; three or
    more: one-hot rows, a softmax output; indicator rows (multilabel): as they
    are, one logistic output per label.
    """

    def __init__(self, y_type: str, classes: NDArray[Any]) -> None:
        self.y_type = y_type
        self.classes = classes

    @classmethod
    def fit(cls, y: NDArray[Any]) -> "LabelCoder":
        """Learn the label type and classes of ``y``; raise for targets a classifier cannot use."""
        y_type = type_of_target(y)
        if "multioutput" in y_type:
            raise ValueError("Multioutput target data is not supported with label binarization")
        if y_type in ("continuous", "unknown"):
            raise ValueError(
                f"Unknown label type: {y_type}. Maybe you are trying to fit a classifier, "
                "which expects discrete classes on a regression target with continuous values."
            )
        if y_type == "multilabel-indicator":
            return cls(y_type, np.arange(y.shape[1]))
        try:
            classes = _unique(y)
        except TypeError as error:
            raise ValueError(f"y mixes label types that cannot be sorted: {error}") from None
        return cls(y_type, classes)

    @property
    def out_activation(self) -> str:
        """scikit-learn's output activation name for these labels."""
        return "softmax" if self.y_type == "multiclass" else "logistic"

    def labels_of(self, y: NDArray[Any]) -> NDArray[Any]:
        """The distinct labels of ``y`` (label positions for indicator rows)."""
        if y.ndim == 2:
            return np.arange(y.shape[1])
        return _unique(y)

    def encode(self, y: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
        """Return the target columns of labels ``y`` as a C-contiguous array of ``dtype``."""
        if self.y_type == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != len(self.classes):
                raise ValueError(
                    f"y must be indicator rows of {len(self.classes)} labels, got shape {y.shape}"
                )
            return np.ascontiguousarray(y != 0, dtype=dtype)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D class labels, got shape {y.shape}")
        positions = np.searchsorted(self.classes, y)
        positions = np.clip(positions, 0, len(self.classes) - 1)
        known = self.classes[positions] == y
        if self.y_type == "multiclass":
            columns = np.zeros((len(y), len(self.classes)), dtype=dtype)
            columns[np.flatnonzero(known), positions[known]] = 1
            return columns
        positive = known & (positions == 1) if len(self.classes) > 1 else np.zeros(len(y), bool)
        return np.ascontiguousarray(positive[:, None], dtype=dtype)

    def decode(self, outputs: NDArray[Any]) -> NDArray[Any]:
        """Return the labels predicted by the network's ``outputs`` (threshold 0.5, arg-max)."""
        if self.y_type == "multilabel-indicator":
            return (outputs > 0.5).astype(int)
        if self.y_type == "multiclass":
            return self.classes[np.argmax(outputs, axis=1)]
        if len(self.classes) == 1:
            return np.repeat(self.classes[0], outputs.shape[0])
        return self.classes[(outputs[:, 0] > 0.5).astype(np.intp)]
