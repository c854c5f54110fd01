"""The exceptions and warnings of the estimators, twins of scikit-learn's.

fastnn does not depend on scikit-learn, so it defines its own classes with the
bases scikit-learn's have. When scikit-learn is installed, the instance raised
or warned is also an instance of scikit-learn's class (a subclass of both is
made on first use), so code written for scikit-learn, ``except
sklearn.exceptions.NotFittedError`` or ``pytest.warns(ConvergenceWarning)``,
catches fastnn's too. That is done only when scikit-learn is already imported
(code that names its classes has imported it): fastnn itself never imports it,
except to unpickle such a combined error.
"""

import functools
import os
import sys
import warnings
from types import FrameType

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``.

    It has the bases of ``sklearn.exceptions.NotFittedError`` (``ValueError`` and
    ``AttributeError``); when scikit-learn is installed, the error raised is an
    instance of both classes.
    """


class DataConversionWarning(UserWarning):
    """Input data was converted to the shape the estimator needs.

    Warned for a column-vector ``y`` (shape ``(n, 1)``) where a 1-D ``y`` is
    expected. When scikit-learn is installed, the warning is also a
    ``sklearn.exceptions.DataConversionWarning``.
    """


class ConvergenceWarning(UserWarning):
    """Training stopped before it converged (``max_iter`` or ``max_fun`` reached).

    When scikit-learn is installed, the warning is also a
    ``sklearn.exceptions.ConvergenceWarning``.
    """


class UndefinedMetricWarning(UserWarning):
    """A score is not defined for the data given (R² of fewer than two samples).

    When scikit-learn is installed, the warning is also a
    ``sklearn.exceptions.UndefinedMetricWarning``.
    """


class InvalidParameterError(ValueError, TypeError):
    """A constructor argument has a value or type the estimator cannot use.

    Both a ``ValueError`` and a ``TypeError``, as scikit-learn's error of the same
    name, so that either ``except`` clause catches it.
    """


# Qualified name of each combined class -> (fastnn's class, scikit-learn's name).
_SKLEARN_TWINS = {
    "_SklearnNotFittedError": (NotFittedError, "NotFittedError"),
    "_SklearnDataConversionWarning": (DataConversionWarning, "DataConversionWarning"),
    "_SklearnConvergenceWarning": (ConvergenceWarning, "ConvergenceWarning"),
    "_SklearnUndefinedMetricWarning": (UndefinedMetricWarning, "UndefinedMetricWarning"),
}
_TWIN_OF = {own: qualname for qualname, (own, _) in _SKLEARN_TWINS.items()}


def _sklearn_twin(qualname):
    """Return a subclass of fastnn's class and scikit-learn's if scikit-learn is
    imported, else fastnn's class."""
    if "sklearn" not in sys.modules:
        return _SKLEARN_TWINS[qualname][0]
    return _combined(qualname)


@functools.cache
def _combined(qualname):
    """A subclass of fastnn's class and scikit-learn's, or fastnn's without scikit-learn."""
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


def raised(error_class, message):
    """Return an instance of ``error_class`` (or of its scikit-learn twin) to raise."""
    return _sklearn_twin(_TWIN_OF[error_class])(message)


def user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside this package.

    For ``warnings.warn`` called by the function that calls this one.
    """
    frame: FrameType | None = sys._getframe(2)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def warn(warning_class, message):
    """Warn ``message`` as ``warning_class`` (or its scikit-learn twin), at the user's line."""
    warnings.warn(_sklearn_twin(_TWIN_OF[warning_class])(message), stacklevel=user_stacklevel())


def __getattr__(name):
    # pickle looks the combined classes up by qualified name (an error pickled by
    # joblib in a worker must unpickle in the parent).
    if name in _SKLEARN_TWINS and _combined(name) is not _SKLEARN_TWINS[name][0]:
        return _combined(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
