"""MLPClassifier: scikit-learn's multilayer perceptron classifier on fastnn's kernels."""

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from fastnn.estimators.base import BaseMLP, stochastic_only
from fastnn.estimators.docstrings import SHARED_ATTRIBUTES, SHARED_PARAMETERS
from fastnn.estimators.inputs import (
    LabelCoder,
    as_labels,
    check_inputs,
    check_n_rows,
    check_sample_weight,
    type_of_target,
)
from fastnn.estimators.scores import accuracy


class MLPClassifier(BaseMLP):
    __doc__ = f"""A multilayer perceptron classifier: scikit-learn's, trained by compiled kernels.

    A drop-in for ``sklearn.neural_network.MLPClassifier``: the same parameters,
    defaults, fitted attributes, loss, penalty, solvers, initialisation and
    random draws, convergence rules and warnings, with every epoch (or every
    L-BFGS evaluation) run by fastnn's compiled kernels. Targets may be class
    labels (numbers, strings, booleans) or indicator rows for multilabel
    classification; ``X`` may be a scipy.sparse matrix; ``fit`` and
    ``partial_fit`` take ``sample_weight``.

    Parameters
    ----------{SHARED_PARAMETERS}

    Attributes
    ----------
    classes_ : ndarray
        The class labels (label positions for multilabel targets).{SHARED_ATTRIBUTES}

    Raises
    ------
    NotFittedError
        From ``predict``, ``predict_proba`` and ``score`` before ``fit``.
    ValueError
        From ``fit`` when training produces NaN or inf; the estimator is then
        left as it was before the call.
    """

    _estimator_type = "classifier"
    classes_: NDArray[Any]

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        dtype: DTypeLike | None = None,
        backend: str = "numba",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.backend = backend

    # ------------------------------------------------------------ targets

    def _coder(self) -> LabelCoder:
        coder = getattr(self, "_label_coder", None)
        if coder is None:  # classes_ assigned by hand
            classes = np.asarray(self.classes_)
            coder = LabelCoder("multiclass" if len(classes) > 2 else "binary", classes)
            self._label_coder = coder
        return coder

    def _validate_input(self, X, y, incremental, *, reset, dtype):
        X = check_inputs(self, X, reset=reset, dtype=dtype)
        labels = as_labels(y, type(self).__name__)
        check_n_rows(X.shape[0], "y", labels)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_coder = LabelCoder.fit(labels)
            self.classes_ = self._label_coder.classes
        else:
            coder = self._coder()
            classes = coder.labels_of(labels)
            if self.warm_start:
                if set(classes.tolist()) != set(np.asarray(self.classes_).tolist()):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}"
                    )
            elif not set(classes.tolist()) <= set(np.asarray(self.classes_).tolist()):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return X, self._coder().encode(labels, X.dtype)

    def _output_activation(self) -> str:
        return self._coder().out_activation

    def _default_output(self) -> str:
        return "logistic" if np.shape(self.coefs_[-1])[-1] == 1 else "softmax"

    def _score_outputs(self, outputs, targets, sample_weight) -> float:
        coder = self._coder()
        return accuracy(coder.decode(targets), coder.decode(outputs), sample_weight)

    # ------------------------------------------------------------ public API

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Any:
        """Fit the network to ``(X, y)``.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_labels)
            Class labels, or indicator rows (0/1) for multilabel classification.
        sample_weight : array-like, shape (n_samples,), optional
            Each row's weight in the loss (and in the early-stopping score).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @stochastic_only
    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ) -> Any:
        """Train one epoch over ``(X, y)``, continuing from the current weights.

        Only for the stochastic solvers (not "lbfgs", as in scikit-learn).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like, shape (n_samples,), optional
        classes : array-like, optional
            Every class label; needed on the first call (``y`` need not hold them all).

        Returns
        -------
        self
        """
        return self._fit(
            X, y, sample_weight, incremental=True, before=lambda: self._first_call(y, classes)
        )

    def _first_call(self, y, classes):
        """scikit-learn's ``_check_partial_fit_first_call``, then the label coder."""
        fitted_classes = getattr(self, "classes_", None)
        if fitted_classes is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is None:
            return
        unique = np.unique(np.asarray(classes))
        if fitted_classes is not None:
            if not np.array_equal(fitted_classes, unique):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                    f"was: {fitted_classes!r}"
                )
            return
        labels = as_labels(y, type(self).__name__)
        if type_of_target(labels).startswith("multilabel"):
            self._label_coder = LabelCoder.fit(labels)
        else:
            self._label_coder = LabelCoder.fit(unique)
        self.classes_ = self._label_coder.classes

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Return the predicted class labels (indicator rows for multilabel targets).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples,) or (n_samples, n_labels)
        """
        outputs = self._outputs(X)  # first: it raises NotFittedError before fit
        return self._coder().decode(outputs)

    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Return the class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples, n_classes)
            In the network's dtype. Multilabel rows need not sum to 1.
        """
        outputs = self._outputs(X)
        if outputs.shape[1] == 1:
            return np.column_stack([1 - outputs[:, 0], outputs[:, 0]])
        return outputs

    def predict_log_proba(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Return the log of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples, n_classes)
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Return the (weighted) accuracy on ``(X, y)``; subset accuracy for multilabel.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like, shape (n_samples,), optional

        Returns
        -------
        float
        """
        predicted = self.predict(X)
        labels = as_labels(y, type(self).__name__, warn_column=False)
        weights = None
        if sample_weight is not None:
            weights = check_sample_weight(sample_weight, predicted.shape[0], np.dtype(np.float64))
        return accuracy(labels, predicted, weights)
