"""The constructor arguments' checks: scikit-learn's constraints, fastnn's extras.

``fit`` and ``partial_fit`` call :func:`check_params` before any work, as
scikit-learn validates its parameters at fit time; a bad value raises
:class:`InvalidParameterError` naming the argument, what it got and what it needs.
"""

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastnn.estimators.errors import InvalidParameterError
from fastnn.kernels import codes

# scikit-learn's activation names -> fastnn's (MLP's ``hidden``).
ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
# scikit-learn's solvers, then fastnn's other optimizers (torch.optim's formulas).
SKLEARN_SOLVERS = ("adam", "lbfgs", "sgd")
EXTRA_SOLVERS = ("adadelta", "adagrad", "adamw", "rmsprop")
SCHEDULES = ("adaptive", "constant", "invscaling")
REGRESSION_LOSSES = ("poisson", "squared_error")
DTYPES = ("float32", "float64")
BACKENDS = ("numba", "numpy")


@dataclass(frozen=True)
class Settings:
    """The checked arguments in the form the training needs."""

    hidden_sizes: list[int]
    dtype: np.dtype[Any] | None  # None: the dtype of X (float32 stays float32)
    n_iter_no_change: float


def _fail(estimator, name, need, value):
    raise InvalidParameterError(
        f"The {name!r} parameter of {type(estimator).__name__} must be {need}. "
        f"Got {value!r} instead."
    )


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_real(estimator, name, low, high, low_closed, high_closed):
    value = getattr(estimator, name)
    low_text = "[" if low_closed else "("
    high_text = "]" if high_closed else ")"
    need = f"a float in the range {low_text}{low}, {high}{high_text}"
    if not _is_real(value) or math.isnan(value):
        _fail(estimator, name, need, value)
    below = value < low or (value == low and not low_closed)
    above = value > high or (value == high and not high_closed)
    if below or above:
        _fail(estimator, name, need, value)


def _check_int(estimator, name, low):
    value = getattr(estimator, name)
    if not _is_int(value) or value < low:
        _fail(estimator, name, f"an int in the range [{low}, inf)", value)


def _check_options(estimator, name, options):
    value = getattr(estimator, name)
    if not isinstance(value, str) or value not in options:
        choices = ", ".join(repr(option) for option in sorted(options))
        _fail(estimator, name, f"a str among {{{choices}}}", value)


def _check_bool(estimator, name):
    value = getattr(estimator, name)
    if not isinstance(value, (bool, np.bool_)):
        _fail(estimator, name, "an instance of 'bool' or 'numpy.bool'", value)


def _hidden_sizes(estimator):
    value = estimator.hidden_layer_sizes
    need = "an int >= 1 or an array-like of ints >= 1"
    if _is_int(value):
        sizes = [value]
    elif isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        _fail(estimator, "hidden_layer_sizes", need, value)
    else:
        sizes = list(value)
    for size in sizes:
        if not _is_int(size):
            _fail(estimator, "hidden_layer_sizes", need, value)
    if any(size <= 0 for size in sizes):
        raise InvalidParameterError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return [int(size) for size in sizes]


def _random_state(estimator):
    value = estimator.random_state
    if value is None or isinstance(value, np.random.RandomState):
        return
    if not _is_int(value) or not 0 <= value < 2**32:
        _fail(
            estimator,
            "random_state",
            "an int in the range [0, 4294967295], an instance of 'numpy.random.RandomState' "
            "or None",
            value,
        )


def _dtype(estimator):
    value = estimator.dtype
    if value is None:
        return None
    try:
        resolved = np.dtype(value) if not isinstance(value, str) or value in DTYPES else None
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in DTYPES:
        _fail(estimator, "dtype", "None (the dtype of X), 'float32' or 'float64'", value)
    return resolved


def check_params(estimator):
    """Check every constructor argument of ``estimator``; return the :class:`Settings`."""
    hidden = _hidden_sizes(estimator)
    _check_options(estimator, "activation", ACTIVATIONS)
    _check_options(estimator, "solver", SKLEARN_SOLVERS + EXTRA_SOLVERS)
    _check_real(estimator, "alpha", 0, math.inf, True, False)
    if not (isinstance(estimator.batch_size, str) and estimator.batch_size == "auto"):
        if not _is_int(estimator.batch_size) or estimator.batch_size < 1:
            _fail(estimator, "batch_size", "'auto' or an int in the range [1, inf)",
                  estimator.batch_size)  # fmt: skip
    _check_options(estimator, "learning_rate", SCHEDULES)
    _check_real(estimator, "learning_rate_init", 0, math.inf, False, False)
    _check_real(estimator, "power_t", 0, math.inf, True, False)
    _check_int(estimator, "max_iter", 1)
    _check_bool(estimator, "shuffle")
    _random_state(estimator)
    _check_real(estimator, "tol", 0, math.inf, True, False)
    verbose = estimator.verbose
    if not isinstance(verbose, (bool, np.bool_)) and (not _is_int(verbose) or verbose < 0):
        _fail(estimator, "verbose", "a bool or an int in the range [0, inf)", verbose)
    _check_bool(estimator, "warm_start")
    _check_real(estimator, "momentum", 0, 1, True, True)
    _check_bool(estimator, "nesterovs_momentum")
    _check_bool(estimator, "early_stopping")
    _check_real(estimator, "validation_fraction", 0, 1, True, False)
    _check_real(estimator, "beta_1", 0, 1, True, False)
    _check_real(estimator, "beta_2", 0, 1, True, False)
    _check_real(estimator, "epsilon", 0, math.inf, False, False)
    patience = estimator.n_iter_no_change
    if not (_is_real(patience) and patience == math.inf) and (
        not _is_int(patience) or patience < 1
    ):
        _fail(estimator, "n_iter_no_change", "an int in the range [1, inf) or inf", patience)
    _check_int(estimator, "max_fun", 1)
    if hasattr(type(estimator), "_loss_choices"):
        _check_options(estimator, "loss", type(estimator)._loss_choices)
    _check_options(estimator, "backend", BACKENDS)
    return Settings(hidden, _dtype(estimator), float(patience))


def loss_code(out_activation):
    """The kernels' output/loss code of scikit-learn's output activation name."""
    return {
        "identity": codes.MSE,
        "softmax": codes.SOFTMAX_CE,
        "logistic": codes.SIGMOID_BCE,
        "exp": codes.EXP_POISSON,
    }[out_activation]
