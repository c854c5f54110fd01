"""MLPClassifier: scikit-learn's multilayer perceptron classifier on fastnn's kernels."""

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from fastnn.estimators.base import BaseMLP, stochastic_only
from fastnn.estimators.inputs import (
    LabelCoder,
    as_labels,
    check_inputs,
    check_n_rows,
    check_sample_weight,
    type_of_target,
)
from fastnn.estimators.scores import accuracy

_SHARED_PARAMETERS = """
    hidden_layer_sizes : int or array-like of int, default (100,)
        The width of each hidden layer; ``()`` for none.
    activation : {"identity", "logistic", "tanh", "relu"}, default "relu"
        The hidden layers' activation.
    solver : {"adam", "sgd", "lbfgs", "adagrad", "rmsprop", "adadelta", "adamw"}, default "adam"
        "adam" and "sgd" are scikit-learn's stochastic optimizers (its formulas),
        "lbfgs" is scipy's L-BFGS-B on the full-batch loss. fastnn adds
        "adagrad", "rmsprop", "adadelta" and "adamw", stochastic too, with the
        formulas and defaults of ``torch.optim`` (:mod:`fastnn.optimizers`) and
        ``learning_rate_init`` as their learning rate ("adamw" also takes
        ``beta_1``, ``beta_2`` and ``epsilon``, and decays every parameter by its
        own ``weight_decay=0.01`` on top of ``alpha``).
    alpha : float, default 1e-4
        Strength of the L2 penalty ``0.5 * alpha * sum(W**2)`` on the weight
        matrices (not the biases), divided, as the loss, by the batch's sample
        count (or its sum of sample weights).
    batch_size : int or "auto", default "auto"
        Rows per step of the stochastic solvers; "auto" is ``min(200, n_samples)``.
        1 trains one row at a time in one compiled loop per epoch.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        The schedule of solver "sgd": constant; ``learning_rate_init / (t + 1)**power_t``
        after each epoch (``t`` the samples seen); or divided by 5 each time
        ``n_iter_no_change`` epochs pass without improvement by ``tol``.
    learning_rate_init : float, default 1e-3
    power_t : float, default 0.5
    max_iter : int, default 200
        Epochs of the stochastic solvers; iterations of "lbfgs".
    shuffle : bool, default True
        Visit the rows in a new random order each epoch.
    random_state : int, numpy.random.RandomState or None, default None
        Seeds the initial weights, the shuffles and the validation split: the
        same draws as scikit-learn's MLP makes, so the same ``random_state`` starts
        from the same weights.
    tol : float, default 1e-4
        Training stops when the loss (or the validation score, with early
        stopping) has not improved by ``tol`` for ``n_iter_no_change`` epochs;
        for "lbfgs" it is the gradient tolerance (``gtol``).
    verbose : bool or int, default False
        Print the loss of each epoch.
    warm_start : bool, default False
        ``fit`` continues from the current weights instead of starting anew.
    momentum : float, default 0.9
        Momentum of solver "sgd", in [0, 1].
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows (stratified for a binary
        target), stop when their score has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the weights of the best score.
    validation_fraction : float, default 0.1
    beta_1, beta_2 : float, default 0.9, 0.999
        Adam's decay rates, in [0, 1).
    epsilon : float, default 1e-8
        Adam's ``epsilon``.
    n_iter_no_change : int or inf, default 10
    max_fun : int, default 15000
        "lbfgs" only: the most loss evaluations.
    dtype : {None, "float32", "float64"}, default None
        fastnn's: the dtype of the weights and of all arithmetic. None follows
        scikit-learn: float32 for float32 X, float64 otherwise.
    backend : {"numba", "numpy"}, default "numba"
        fastnn's: "numpy" trains on the plain NumPy twins of the kernels
        (:mod:`fastnn.kernels.reference`), slowly: a reference to check against."""

_SHARED_ATTRIBUTES = """
    loss_ : float
        The loss (penalty included) of the last epoch, or of the "lbfgs" solution.
    best_loss_ : float or None
        The lowest ``loss_`` so far (None with early stopping). Stochastic solvers.
    loss_curve_ : list of float
        ``loss_`` of every epoch, across warm starts and ``partial_fit`` calls.
    validation_scores_ : list of float or None
        The validation score of every epoch with early stopping, else None.
    best_validation_score_ : float or None
    t_ : int
        Training samples seen by the stochastic solver.
    coefs_ : list of ndarray
        ``coefs_[k]`` is the weight matrix of layer ``k``, shape (fan_in, fan_out).
    intercepts_ : list of ndarray
        ``intercepts_[k]`` is the bias vector of layer ``k``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The column names of a data frame ``X`` whose names are all strings.
    n_iter_ : int
        Epochs (or "lbfgs" iterations) of the last ``fit``.
    n_layers_ : int
        Layers, the input layer included.
    n_outputs_ : int
    out_activation_ : str
    net_ : fastnn.MLP
        fastnn's: the network; ``coefs_`` and ``intercepts_`` are views of its
        parameters, so it can be saved, summarised or exported to ONNX."""


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
    ----------{_SHARED_PARAMETERS}

    Attributes
    ----------
    classes_ : ndarray
        The class labels (label positions for multilabel targets).{_SHARED_ATTRIBUTES}

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
