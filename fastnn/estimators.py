"""scikit-learn-style estimators around :class:`fastnn.MLP`.

``__init__`` only stores its arguments, ``fit`` validates and trains, fitted
attributes end in ``_``; ``get_params``/``set_params`` make ``sklearn.base.clone``
and grid searches work without scikit-learn being a dependency.

Input handling follows scikit-learn's conventions (``check_array``/``validate_data``)
so that ``sklearn.utils.estimator_checks`` passes, but is written here: importing
fastnn never imports scikit-learn. Where scikit-learn defines an exception or a
warning class (``NotFittedError``, ``DataConversionWarning``), fastnn has its own
with the same bases, and when scikit-learn is installed the instance raised is
also an instance of scikit-learn's class, so either ``except`` clause catches it.

By default (``standardize=True``) both estimators standardize the features, and
the regressor its targets, with statistics of the data given to ``fit`` (or to the
first ``partial_fit``). Per-sample SGD, the library's default and the reason it
exists, diverges on unscaled data with any fixed learning rate that suits scaled
data; standardizing keeps it stable without giving up per-sample SGD.
"""

import functools
import inspect
import numbers
import warnings
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from fastnn import optimizers as optimizers_module
from fastnn.kernels import first_non_finite
from fastnn.kernels.codes import ACTIVATION_CODES
from fastnn.model import MLP, History, TrainingDivergedError
from fastnn.validation import check_dtype, check_int

__all__ = ["DataConversionWarning", "MLPClassifier", "MLPRegressor", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``.

    It has the bases of ``sklearn.exceptions.NotFittedError`` (``ValueError`` and
    ``AttributeError``); when scikit-learn is installed, the error raised is an
    instance of both classes.
    """


class DataConversionWarning(UserWarning):
    """Input data was converted to the shape the estimator needs.

    Raised for a column-vector ``y`` given to a classifier. When scikit-learn is
    installed, the warning is also a ``sklearn.exceptions.DataConversionWarning``.
    """


# Qualified name of each combined class -> (fastnn's class, scikit-learn's name).
_SKLEARN_TWINS = {
    "_SklearnNotFittedError": (NotFittedError, "NotFittedError"),
    "_SklearnDataConversionWarning": (DataConversionWarning, "DataConversionWarning"),
}


@functools.cache
def _sklearn_twin(qualname):
    """Return a subclass of fastnn's class and scikit-learn's, or fastnn's alone.

    scikit-learn is imported here, on the error path only, never by ``import fastnn``.
    """
    own_class, sklearn_name = _SKLEARN_TWINS[qualname]
    try:
        import sklearn.exceptions
    except ImportError:
        return own_class
    sklearn_class = getattr(sklearn.exceptions, sklearn_name)
    # Same __name__ as fastnn's class (messages read "NotFittedError(...)"); the
    # qualified name differs so that pickle finds the class through __getattr__ below.
    return type(
        own_class.__name__,
        (own_class, sklearn_class),
        {"__module__": __name__, "__qualname__": qualname, "__doc__": own_class.__doc__},
    )


def __getattr__(name):
    # pickle looks the combined classes up by qualified name (an error pickled by
    # joblib in a worker must unpickle in the parent).
    if name in _SKLEARN_TWINS and _sklearn_twin(name) is not _SKLEARN_TWINS[name][0]:
        return _sklearn_twin(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _is_sparse(values):
    # Without importing scipy.sparse: its matrices and arrays live in that package.
    return type(values).__module__.startswith("scipy.sparse")


def _as_numeric_array(name, values, estimator_name):
    """Return ``np.asarray(values)`` if it holds real numbers (or objects that are), else raise."""
    if values is None:
        raise ValueError(f"{estimator_name} requires {name} to be passed, but {name} is None")
    if _is_sparse(values):
        raise TypeError(
            f"{name} is a sparse {type(values).__name__}; {estimator_name} needs dense data: "
            f"pass {name}.toarray()"
        )
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a rectangular array of numbers: {error}") from None
    if array.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} has dtype {array.dtype}; pass real numbers"
        )
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError, OverflowError) as error:  # 10**400 fits no float
            raise TypeError(
                f"{name} must hold numbers; converting it to float failed: {error}"
            ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got dtype {array.dtype}; encode text or "
            "categories as numbers first"
        )
    return array


def _check_finite(name, array):
    bad = first_non_finite(np.ascontiguousarray(array))
    if bad >= 0:
        position = np.unravel_index(bad, array.shape)
        axes = ("row", "column")[: array.ndim]
        where = ", ".join(f"{axis} {index}" for axis, index in zip(axes, position, strict=True))
        raise ValueError(
            f"{name} contains NaN or inf (first at {where}); clean or impute the data first"
        )


def _mean_and_scale(name, values):
    """Return per-column mean and standard deviation in float64; 1 where a column is constant."""
    with np.errstate(over="ignore"):
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))):
        column = int(np.argmin(np.isfinite(mean) & np.isfinite(scale)))
        raise ValueError(
            f"{name} column {column} is too large to standardize (its variance overflows "
            "float64); rescale it first"
        )
    # A constant column has a std of rounding noise, not 0: treat it as constant.
    constant = scale <= 10 * np.finfo(np.float64).eps * np.abs(mean)
    scale[constant] = 1.0
    return mean, scale


def _r2_score(y_true, y_pred):
    """R² as ``sklearn.metrics.r2_score`` gives it (``force_finite=True``, uniform average).

    An output whose target is constant scores 1.0 when predicted exactly, else 0.0.
    """
    residual = np.sum((y_true - y_pred) ** 2, axis=0)
    total = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    defined = total != 0
    scores = np.where(residual == 0, 1.0, 0.0)
    scores[defined] = 1 - residual[defined] / total[defined]
    return float(np.mean(scores))


_EstimatorT = TypeVar("_EstimatorT", bound="_BaseMLP")


class _BaseMLP:
    _output = "identity"
    # "classifier" / "regressor": older scikit-learn reads this
    _estimator_type: str | None = None

    # Fitted attributes, set by fit (declared for type checkers: no value until then).
    net_: MLP
    optimizer_: optimizers_module.Optimizer
    history_: History
    loss_: float
    n_features_in_: int
    x_mean_: NDArray[np.float64] | None
    x_scale_: NDArray[np.float64] | None

    def __sklearn_tags__(self) -> Any:
        # scikit-learn >= 1.6 asks estimators for tags; built here, lazily, so that
        # importing fastnn never imports scikit-learn.
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        is_classifier = self._estimator_type == "classifier"
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(
                required=True, multi_output=not is_classifier, single_output=True
            ),
            input_tags=InputTags(two_d_array=True, sparse=False, allow_nan=False),
            classifier_tags=ClassifierTags(multi_label=False) if is_classifier else None,
            regressor_tags=None if is_classifier else RegressorTags(),
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "net_")

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        optimizer: str | optimizers_module.Optimizer = "sgd",
        learning_rate: float = 0.01,
        batch_size: int | None = 1,
        epochs: int = 10,
        init: str | float = "he",
        dtype: DTypeLike = "float32",
        shuffle: bool = True,
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
        backend: str = "numba",
        standardize: bool = True,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.init = init
        self.dtype = dtype
        self.shuffle = shuffle
        self.random_state = random_state
        self.backend = backend
        self.standardize = standardize

    @classmethod
    def _param_names(cls):
        return [name for name in inspect.signature(_BaseMLP.__init__).parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor arguments (scikit-learn's estimator protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: _EstimatorT, **params: Any) -> _EstimatorT:
        """Set constructor arguments; unknown names raise ``ValueError``."""
        for name, value in params.items():
            if name not in self._param_names():
                raise ValueError(
                    f"{type(self).__name__}.set_params: unknown parameter {name!r}; valid "
                    f"ones are {self._param_names()}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = inspect.signature(_BaseMLP.__init__).parameters
        changed = {}
        for key, value in self.get_params().items():
            default = defaults[key].default
            # An array-valued parameter compares elementwise: count it as changed.
            if type(value) is not type(default) or not bool(np.all(value == default)):
                changed[key] = value
        args = ", ".join(f"{key}={value!r}" for key, value in changed.items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------ validation

    def _hidden_sizes(self):
        hidden = self.hidden_layer_sizes
        sizes = [hidden] if isinstance(hidden, numbers.Integral) else hidden
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(
                f"hidden_layer_sizes must be an int or a sequence of ints, got {hidden!r}"
            ) from None
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, numbers.Integral):
                raise TypeError(f"hidden_layer_sizes must hold integers, got {hidden!r}")
            if size < 1:
                raise ValueError(f"hidden_layer_sizes must hold positive integers, got {hidden!r}")
        return [int(size) for size in sizes]

    def _check_params(self):
        """Validate the constructor arguments before any work; errors name the argument."""
        hidden = self._hidden_sizes()
        names = [self.activation] if isinstance(self.activation, str) else self.activation
        try:
            names = list(names)
        except TypeError:
            raise TypeError(
                f"activation must be a name or one name per hidden layer, got {self.activation!r}"
            ) from None
        if not isinstance(self.activation, str) and len(names) != len(hidden):
            raise ValueError(
                f"activation has {len(names)} names for {len(hidden)} hidden layers "
                f"(hidden_layer_sizes={self.hidden_layer_sizes!r})"
            )
        for name in names:
            if name not in ACTIVATION_CODES:
                raise ValueError(
                    f"activation: unknown name {name!r}; choose one of {sorted(ACTIVATION_CODES)}"
                )
        if not isinstance(self.optimizer, str):
            raise TypeError(
                f"optimizer must be an optimizer name such as 'sgd' or 'adam', got "
                f"{self.optimizer!r} (the estimator makes a new optimizer on each fit)"
            )
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise TypeError(f"learning_rate must be a real number, got {lr!r}")
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"learning_rate must be a positive finite number, got {lr!r}")
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, minimum=1)
        check_int("epochs", self.epochs, minimum=1)
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {self.standardize!r}")
        self._check_random_state()
        return hidden, check_dtype(self.dtype)

    def _check_random_state(self):
        state = self.random_state
        if state is None or isinstance(state, (np.random.RandomState, np.random.Generator)):
            return
        if isinstance(state, bool) or not isinstance(state, numbers.Integral):
            raise TypeError(
                f"random_state must be None, an int or a numpy random generator, got {state!r}"
            )
        if state < 0:
            raise ValueError(f"random_state must be >= 0, got {state!r}")

    def _seed(self):
        """Return the network's seed; a numpy generator is drawn from (once per new network)."""
        state = self.random_state
        if isinstance(state, np.random.RandomState):
            return int(state.randint(np.iinfo(np.int32).max))
        if isinstance(state, np.random.Generator):
            return int(state.integers(np.iinfo(np.int32).max))
        return None if state is None else int(state)

    def _validate_inputs(self, X: ArrayLike, *, reset: bool) -> NDArray[np.float64]:
        """Return ``X`` as a finite float64 ``(n_samples, n_features)`` array."""
        name = type(self).__name__
        array = _as_numeric_array("X", X, name)
        if array.ndim != 2:
            got = "a scalar" if array.ndim == 0 else f"a {array.ndim}-D array"
            raise ValueError(
                f"{name} expects 2-D X (n_samples, n_features), got {got} of shape "
                f"{array.shape}. Reshape your data: X.reshape(-1, 1) if it has a single "
                "feature, X.reshape(1, -1) if it is a single sample"
            )
        for count, what in zip(array.shape, ("sample", "feature"), strict=True):
            if count == 0:
                raise ValueError(
                    f"X has 0 {what}(s) (shape={array.shape}) while a minimum of 1 is "
                    f"required by {name}."
                )
        if not reset and array.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {array.shape[1]} features, but {name} is expecting "
                f"{self.n_features_in_} features as input."
            )
        array = array.astype(np.float64, copy=False)
        _check_finite("X", array)
        return array

    @staticmethod
    def _check_n_rows(n_rows, y):
        if y.shape[0] != n_rows:
            raise ValueError(f"X has {n_rows} samples but y has {y.shape[0]}: they must match")

    @staticmethod
    def _scaled_inputs(X, mean, scale, dtype):
        """Return finite ``X`` standardized (unless ``mean`` is None) as C-contiguous ``dtype``."""
        # X is finite, but a value far outside the range of fit's data can overflow
        # once standardized, or when cast to float32: reported below, not warned.
        with np.errstate(over="ignore"):
            scaled = X if mean is None else (X - mean) / scale
            scaled = np.ascontiguousarray(scaled, dtype=dtype)
        bad = first_non_finite(scaled)
        if bad >= 0:
            row, column = divmod(bad, scaled.shape[1])
            how = "as it is" if mean is None else "once standardized"
            raise ValueError(
                f"X[{row}, {column}] = {float(X[row, column])!r} is out of range for {dtype.name} "
                f"{how}; rescale X, or use dtype='float64'"
            )
        return scaled

    def _check_fitted(self):
        if not hasattr(self, "net_"):
            raise _sklearn_twin("_SklearnNotFittedError")(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y) first"
            )

    # ------------------------------------------------------------ training

    def _new_network(self, hidden, dtype, n_features, n_outputs):
        return MLP(
            [n_features, *hidden, n_outputs],
            hidden=self.activation,
            output=self._output,
            init=self.init,
            dtype=dtype,
            seed=self._seed(),
            backend=self.backend,
        )

    def _train(self, net, optimizer, X, T, epochs):
        """Train ``net`` and return its History; a divergence says what to change."""
        try:
            return net.fit(
                X,
                T,
                optimizer=optimizer,
                epochs=epochs,
                batch_size=self.batch_size,
                shuffle=self.shuffle,
            )
        except TrainingDivergedError as error:
            name = type(self).__name__
            kept = (
                "The estimator keeps its previous fit."
                if hasattr(self, "net_")
                else "The estimator is not fitted."
            )
            scaling = (
                ""
                if self.standardize
                else " Or set standardize=True, or scale X (and a regressor's y) yourself."
            )
            # MLP's message goes on about the weights of a network that is discarded
            # here: keep its first clause (the loss and where it went non-finite).
            what = str(error).split(";")[0]
            raise TrainingDivergedError(
                f"{name}: training diverged ({what}). {kept} Lower learning_rate (now "
                f"{optimizer.lr:g}), e.g. {name}(learning_rate={optimizer.lr / 10:g}), or use "
                f"optimizer='adam'.{scaling}"
            ) from error

    def _fit_network(self, params, X, T, n_outputs, epochs, fitted):
        """Build and train a new network aside; return the fitted attributes.

        ``params`` is what :meth:`_check_params` returned. Nothing on ``self``
        changes here: the caller swaps the attributes in only after training
        succeeded, so a failed refit keeps the previous model.
        """
        hidden, dtype = params
        if self.standardize:
            fitted["x_mean_"], fitted["x_scale_"] = _mean_and_scale("X", X)
        else:
            fitted["x_mean_"] = fitted["x_scale_"] = None
        inputs = self._scaled_inputs(X, fitted["x_mean_"], fitted["x_scale_"], np.dtype(dtype))
        net = self._new_network(hidden, dtype, X.shape[1], n_outputs)
        optimizer = optimizers_module.get(self.optimizer, lr=self.learning_rate)
        history = self._train(net, optimizer, inputs, T, epochs)
        fitted.update(
            net_=net,
            optimizer_=optimizer,
            history_=history,
            loss_=history.loss[-1],
            n_features_in_=X.shape[1],
        )
        return fitted

    def _partial_fit_network(self, X, T):
        """Train the fitted network one more epoch (MLP.fit rolls back a divergence)."""
        inputs = self._scaled_inputs(X, self.x_mean_, self.x_scale_, self.net_.dtype)
        history = self._train(self.net_, self.optimizer_, inputs, T, 1)
        self.history_ = history
        self.loss_ = history.loss[-1]
        return self

    def _network_outputs(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        self._check_fitted()
        X = self._validate_inputs(X, reset=False)
        return self.net_.predict(
            self._scaled_inputs(X, self.x_mean_, self.x_scale_, self.net_.dtype)
        )


class MLPClassifier(_BaseMLP):
    """A softmax MLP classifier with scikit-learn's interface.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
    activation : str or sequence of str, default "relu"
        Hidden activation, as for :class:`fastnn.MLP`.
    optimizer : str, default "sgd"
        An optimizer name (:func:`fastnn.optimizers.get`).
    learning_rate : float, default 0.01
    batch_size : int or None, default 1
        1 is per-sample SGD, None is full batch.
    epochs : int, default 10
    init, dtype, backend
        As for :class:`fastnn.MLP`.
    shuffle : bool, default True
    random_state : int, numpy random generator or None
        Seeds initialisation and shuffling; a generator is drawn from once per fit.
    standardize : bool, default True
        Center and scale each feature with the mean and standard deviation of the
        data given to ``fit`` (or to the first ``partial_fit``), so that per-sample
        SGD stays stable on unscaled data. ``net_`` then works on standardized
        inputs: ``(X - x_mean_) / x_scale_``.

    Attributes
    ----------
    classes_ : ndarray
        The class labels seen by ``fit``.
    n_features_in_ : int
    x_mean_, x_scale_ : ndarray or None
        The standardization of the features (None with ``standardize=False``).
    net_ : MLP
    optimizer_ : Optimizer
    history_ : History
        Of the last ``fit`` or ``partial_fit`` call.
    loss_ : float
        The last epoch's training loss.

    Raises
    ------
    NotFittedError
        From ``predict``, ``predict_proba`` and ``score`` before ``fit``.
    TrainingDivergedError
        When the training loss becomes NaN or inf; the estimator keeps its previous fit.
    """

    _output = "softmax"
    _estimator_type = "classifier"
    classes_: NDArray[Any]

    def _validate_labels(self, y: ArrayLike, n_rows: int) -> NDArray[Any]:
        """Return ``y`` as a 1-D array of ``n_rows`` class labels."""
        name = type(self).__name__
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None")
        if _is_sparse(y):
            raise TypeError(f"y is a sparse {type(y).__name__}; pass dense class labels")
        try:
            labels = np.asarray(y)
        except (TypeError, ValueError) as error:
            raise ValueError(f"y must be a 1-D array of class labels: {error}") from None
        if labels.dtype.kind == "c":
            raise ValueError(f"Complex data not supported: y has dtype {labels.dtype}")
        if labels.ndim == 2 and labels.shape[1] == 1:
            warnings.warn(
                _sklearn_twin("_SklearnDataConversionWarning")(
                    "A column-vector y was passed when a 1d array was expected. Please "
                    "change the shape of y to (n_samples,), for example using ravel()."
                ),
                stacklevel=3,
            )
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise ValueError(
                f"y must be 1-D class labels, got shape {labels.shape}; {name} does not "
                "support multi-output or multilabel targets (for one-hot rows pass "
                "y.argmax(axis=1))"
            )
        self._check_n_rows(n_rows, labels)
        if labels.dtype.kind == "O" and all(
            isinstance(label, numbers.Real) and not isinstance(label, bool) for label in labels
        ):
            values = labels.astype(np.float64)
        else:
            values = labels
        if values.dtype.kind == "f":
            if not np.all(np.isfinite(values)):
                raise ValueError("y contains NaN or inf; class labels must be finite")
            if np.any(values != np.round(values)):
                example = values[values != np.round(values)][0]
                raise ValueError(
                    f"Unknown label type: continuous. {name} needs class labels, but y has "
                    f"non-integer values such as {example!r}; use MLPRegressor for a "
                    "continuous target"
                )
        return labels

    def _unique_labels(self, name: str, labels: NDArray[Any]) -> NDArray[Any]:
        try:
            return np.unique(labels)
        except TypeError as error:
            raise TypeError(
                f"{name} mixes label types that cannot be sorted ({error}); use all numbers "
                "or all strings"
            ) from None

    def _encode(self, labels, classes):
        """Return the position of each label in ``classes``; unknown labels raise."""
        try:
            positions = np.clip(np.searchsorted(classes, labels), 0, len(classes) - 1)
            unknown = classes[positions] != labels
        except TypeError:  # labels of another type than the classes
            unknown = np.ones(len(labels), dtype=bool)
            positions = None
        if np.any(unknown):
            examples = list(dict.fromkeys(labels[unknown].tolist()))[:5]
            raise ValueError(
                f"y contains labels not seen by fit: {examples} (classes_ is "
                f"{classes[:10].tolist()})"
            )
        return positions

    def fit(self, X: ArrayLike, y: ArrayLike) -> "MLPClassifier":
        """Train a new network on ``(X, y)`` for ``epochs`` epochs.

        The network is built and trained aside: if anything fails (bad input,
        divergence, Ctrl-C), a previous fit is kept as it was.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            Class labels: numbers, strings or booleans. A column vector is
            accepted with a :class:`DataConversionWarning`.

        Returns
        -------
        self
        """
        params = self._check_params()
        X = self._validate_inputs(X, reset=True)
        labels = self._validate_labels(y, X.shape[0])
        classes = self._unique_labels("y", labels)
        if len(classes) < 2:
            raise ValueError(
                f"y has 1 class ({classes.tolist()}) in {X.shape[0]} sample(s); a classifier "
                "needs at least 2 classes"
            )
        T = self._encode(labels, classes)
        fitted = self._fit_network(params, X, T, len(classes), self.epochs, {"classes_": classes})
        vars(self).update(fitted)
        return self

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None
    ) -> "MLPClassifier":
        """Train one epoch; the first call creates the network and needs ``classes``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        classes : array-like, optional
            Every class label, needed on the first call (later calls may repeat it).

        Returns
        -------
        self
        """
        first_call = not hasattr(self, "net_")
        params = self._check_params()
        X = self._validate_inputs(X, reset=first_call)
        labels = self._validate_labels(y, X.shape[0])
        if classes is not None:
            classes = self._unique_labels("classes", np.ravel(np.asarray(classes)))
        if first_call:
            if classes is None:
                raise ValueError("the first call to partial_fit needs classes= (every label)")
            if len(classes) < 2:
                raise ValueError(f"classes has 1 class ({classes.tolist()}); it needs 2 or more")
            T = self._encode(labels, classes)
            fitted = self._fit_network(params, X, T, len(classes), 1, {"classes_": classes})
            vars(self).update(fitted)
            return self
        if classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"classes={classes.tolist()} differs from classes_={self.classes_.tolist()} "
                "of the first partial_fit call"
            )
        return self._partial_fit_network(X, self._encode(labels, self.classes_))

    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Return class probabilities.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples, n_classes)
            Columns in the order of ``classes_``, in the network's dtype.
        """
        return self._network_outputs(X)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Return the most probable class label of each row of ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples,)
        """
        # predict_proba first: it raises NotFittedError before classes_ exists.
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Return the accuracy on ``(X, y)``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)

        Returns
        -------
        float
        """
        predicted = self.predict(X)
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.shape != predicted.shape:
            raise ValueError(
                f"y must be {predicted.shape[0]} class labels (one per row of X), got shape "
                f"{labels.shape}"
            )
        return float(np.mean(predicted == labels))


class MLPRegressor(_BaseMLP):
    """An MLP regressor (identity output, mean squared error) with scikit-learn's interface.

    Parameters are those of :class:`MLPClassifier`. With ``standardize=True`` (the
    default) the targets are standardized as well, so ``loss_`` and ``history_``
    are in units of the targets' standard deviation. A 1-D ``y`` gives 1-D
    predictions, a 2-D ``y`` (several outputs, or one column) 2-D predictions.

    Attributes
    ----------
    n_features_in_, x_mean_, x_scale_, net_, optimizer_, history_, loss_
        As for :class:`MLPClassifier`.
    n_outputs_ : int
    y_mean_, y_scale_ : ndarray or None
        The standardization of the targets (None with ``standardize=False``).
    """

    _output = "identity"
    _estimator_type = "regressor"
    n_outputs_: int
    y_mean_: NDArray[np.float64] | None
    y_scale_: NDArray[np.float64] | None
    _one_target: bool

    def _validate_targets(self, y: ArrayLike, n_rows: int) -> NDArray[np.float64]:
        """Return ``y`` as a finite float64 array (1-D or 2-D) of ``n_rows`` rows."""
        name = type(self).__name__
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None")
        targets = _as_numeric_array("y", y, name)
        if targets.ndim not in (1, 2):
            got = "a scalar" if targets.ndim == 0 else f"shape {targets.shape}"
            raise ValueError(f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), got {got}")
        if targets.ndim == 2 and targets.shape[1] == 0:
            raise ValueError(f"y has 0 outputs (shape {targets.shape}); it needs at least 1")
        self._check_n_rows(n_rows, targets)
        targets = targets.astype(np.float64, copy=False)
        _check_finite("y", targets)
        return targets

    def _scaled_targets(self, targets, mean, scale):
        column = targets.reshape(targets.shape[0], -1)
        return column if mean is None else (column - mean) / scale

    def fit(self, X: ArrayLike, y: ArrayLike) -> "MLPRegressor":
        """Train a new network on ``(X, y)`` for ``epochs`` epochs.

        The network is built and trained aside: if anything fails (bad input,
        divergence, Ctrl-C), a previous fit is kept as it was.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        params = self._check_params()
        X = self._validate_inputs(X, reset=True)
        return self._fit_new(params, X, self._validate_targets(y, X.shape[0]), self.epochs)

    def _fit_new(self, params, X, targets, epochs):
        fitted = {"n_outputs_": 1 if targets.ndim == 1 else targets.shape[1]}
        fitted["_one_target"] = targets.ndim == 1
        column = targets.reshape(targets.shape[0], -1)
        if self.standardize:
            fitted["y_mean_"], fitted["y_scale_"] = _mean_and_scale("y", column)
        else:
            fitted["y_mean_"] = fitted["y_scale_"] = None
        T = self._scaled_targets(column, fitted["y_mean_"], fitted["y_scale_"])
        vars(self).update(self._fit_network(params, X, T, fitted["n_outputs_"], epochs, fitted))
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> "MLPRegressor":
        """Train one epoch, creating the network on the first call.

        The first call also fixes the standardization (from its data) and the
        number of outputs. The optimizer, with its state, carries over between
        calls; a divergence leaves the network as it was before the call.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        params = self._check_params()
        first_call = not hasattr(self, "net_")
        X = self._validate_inputs(X, reset=first_call)
        targets = self._validate_targets(y, X.shape[0])
        if first_call:
            return self._fit_new(params, X, targets, 1)
        n_outputs = 1 if targets.ndim == 1 else targets.shape[1]
        if n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} outputs (shape {targets.shape}), the first partial_fit "
                f"call had {self.n_outputs_}"
            )
        return self._partial_fit_network(
            X, self._scaled_targets(targets, self.y_mean_, self.y_scale_)
        )

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Return the predictions, in float64.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples,) when ``fit`` saw a 1-D ``y``, else (n_samples, n_outputs)
        """
        # float64 whatever the network's dtype, as scikit-learn's regressors give.
        out = self._network_outputs(X).astype(np.float64)
        if self.y_mean_ is not None and self.y_scale_ is not None:  # set together
            out = out * self.y_scale_ + self.y_mean_
        return out[:, 0] if self._one_target else out

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Return the coefficient of determination R² on ``(X, y)``.

        As ``sklearn.metrics.r2_score`` with its defaults: outputs are averaged
        uniformly, and an output whose ``y`` is constant scores 1.0 if predicted
        exactly and 0.0 otherwise. Fewer than two samples give NaN with a warning.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        float
        """
        predicted = self.predict(X)
        targets = self._validate_targets(y, predicted.shape[0])
        if targets.size != predicted.size:
            raise ValueError(
                f"y has shape {targets.shape}, the predictions {predicted.shape}: they must match"
            )
        if targets.shape[0] < 2:
            warnings.warn(
                "R^2 score is not well-defined with less than two samples.",
                UserWarning,
                stacklevel=2,
            )
            return float("nan")
        column = targets.reshape(targets.shape[0], -1)
        return _r2_score(column, predicted.reshape(column.shape).astype(np.float64))
