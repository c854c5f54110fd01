"""MLPRegressor: scikit-learn's multilayer perceptron regressor on fastnn's kernels."""

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from fastnn.estimators.base import BaseMLP, stochastic_only
from fastnn.estimators.docstrings import SHARED_ATTRIBUTES, SHARED_PARAMETERS
from fastnn.estimators.inputs import check_inputs, check_regression_targets, check_sample_weight
from fastnn.estimators.params import REGRESSION_LOSSES
from fastnn.estimators.scores import r2


class MLPRegressor(BaseMLP):
    __doc__ = f"""A multilayer perceptron regressor: scikit-learn's, trained by compiled kernels.

    A drop-in for ``sklearn.neural_network.MLPRegressor``: the same parameters,
    defaults, fitted attributes, losses, penalty, solvers, initialisation and
    random draws, convergence rules and warnings, with every epoch (or every
    L-BFGS evaluation) run by fastnn's compiled kernels. ``y`` may have several
    outputs; ``X`` may be a scipy.sparse matrix; ``fit`` and ``partial_fit`` take
    ``sample_weight``.

    Parameters
    ----------
    loss : {{"squared_error", "poisson"}}, default "squared_error"
        Half the squared error (averaged over the outputs), with an identity
        output; or half the Poisson deviance with an exponential output (the
        targets must then be >= 0).{SHARED_PARAMETERS}

    Attributes
    ----------{SHARED_ATTRIBUTES}
        With ``loss="poisson"`` its output is the log of the prediction.

    Raises
    ------
    NotFittedError
        From ``predict`` and ``score`` before ``fit``.
    ValueError
        From ``fit`` when training produces NaN or inf; the estimator is then
        left as it was before the call.
    """

    _estimator_type = "regressor"
    _loss_choices = REGRESSION_LOSSES

    def __init__(
        self,
        loss: str = "squared_error",
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
        self.loss = loss
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

    def _validate_input(self, X, y, incremental, *, reset, dtype):
        X = check_inputs(self, X, reset=reset, dtype=dtype)
        targets = check_regression_targets(y, X.shape[0], type(self).__name__)
        if self.loss == "poisson" and np.any(targets < 0):
            raise ValueError(
                f"loss='poisson' needs targets >= 0 (counts or rates); y has {np.min(targets)}"
            )
        columns = targets.reshape(targets.shape[0], -1)
        return X, np.ascontiguousarray(columns, dtype=X.dtype)

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _score_outputs(self, outputs, targets, sample_weight) -> float:
        return r2(targets, outputs, sample_weight)

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Any:
        """Fit the network to ``(X, y)``.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like, shape (n_samples,), optional
            Each row's weight in the loss (and in the early-stopping score).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @stochastic_only
    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Any:
        """Train one epoch over ``(X, y)``, continuing from the current weights.

        Only for the stochastic solvers (not "lbfgs", as in scikit-learn).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like, shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Return the predictions, in the network's dtype.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples,) for one output, else (n_samples, n_outputs)
        """
        outputs = self._outputs(X)
        return outputs[:, 0] if outputs.shape[1] == 1 else outputs

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Return the coefficient of determination R² on ``(X, y)``.

        As ``sklearn.metrics.r2_score`` with its defaults (uniform average over the
        outputs; a constant output scores 1.0 if predicted exactly, else 0.0).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like, shape (n_samples,), optional

        Returns
        -------
        float
        """
        predicted = self.predict(X)
        targets = check_regression_targets(
            y, predicted.shape[0], type(self).__name__, warn_column=False
        )
        weights = None
        if sample_weight is not None:
            weights = check_sample_weight(sample_weight, predicted.shape[0], np.dtype(np.float64))
        return r2(targets, predicted, weights)
