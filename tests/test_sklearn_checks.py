"""scikit-learn's own estimator checks (``parametrize_with_checks``) on both estimators.

Every check passes with the default constructor: none is declared as an expected
failure. Skipped when scikit-learn (>= 1.6, which reads ``__sklearn_tags__``) is absent.
"""

import warnings

import pytest

pytest.importorskip("sklearn", minversion="1.6")
estimator_checks = pytest.importorskip("sklearn.utils.estimator_checks")

from fastnn import MLPClassifier, MLPRegressor  # noqa: E402

with warnings.catch_warnings():
    # fastnn does not depend on scikit-learn, so its estimators follow the protocol
    # without inheriting sklearn.base.BaseEstimator; collection warns about that.
    warnings.filterwarnings("ignore", "Estimator .* does not inherit from", UserWarning)
    sklearn_checks = estimator_checks.parametrize_with_checks([MLPClassifier(), MLPRegressor()])


@sklearn_checks
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
