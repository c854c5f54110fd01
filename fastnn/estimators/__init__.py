"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained on fastnn's compiled kernels.

Drop-ins for ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``: the same
parameters, defaults, fitted attributes and behaviour (docs/estimators.md lists
what differs), without scikit-learn being a dependency: importing fastnn never
imports it. Where scikit-learn defines an exception or a warning
(``NotFittedError``, ``ConvergenceWarning``, ...), fastnn has its own with the
same bases, and when scikit-learn is installed the instance raised is also an
instance of scikit-learn's class, so either ``except`` clause catches it.
"""

from fastnn.estimators.classifier import MLPClassifier
from fastnn.estimators.errors import (
    ConvergenceWarning,
    DataConversionWarning,
    InvalidParameterError,
    NotFittedError,
    UndefinedMetricWarning,
)
from fastnn.estimators.regressor import MLPRegressor

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "InvalidParameterError",
    "MLPClassifier",
    "MLPRegressor",
    "NotFittedError",
    "UndefinedMetricWarning",
]
