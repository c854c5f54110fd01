"""The scikit-learn-style estimators."""

import numpy as np
import pytest

from fastnn import MLPClassifier, MLPRegressor, datasets


def test_classifier_on_digits_with_string_labels():
    pytest.importorskip("sklearn")
    (x, t), (x_test, t_test) = datasets.load_digits()
    names = np.array([f"digit-{k}" for k in range(10)])
    clf = MLPClassifier(hidden_layer_sizes=64, learning_rate=0.05, epochs=10, random_state=0)
    assert clf.fit(x, names[t]) is clf
    assert list(clf.classes_) == sorted(names)
    assert clf.score(x_test, names[t_test]) >= 0.93
    proba = clf.predict_proba(x_test[:5])
    assert proba.shape == (5, 10) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert len(clf.history_.loss) == 10


def test_regressor_learns_the_course_regression():
    X, y = datasets.make_regression(20_000, seed=0)
    reg = MLPRegressor(
        hidden_layer_sizes=(10,), learning_rate=0.07, epochs=2, dtype="float64", random_state=0
    )
    reg.fit(X, y)
    X_test, y_test = datasets.make_regression(500, seed=1)
    assert reg.predict(X_test).shape == (500,)
    assert reg.score(X_test, y_test) > 0.999


def test_partial_fit_and_params():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(8, 4), epochs=1, random_state=1)
    with pytest.raises(ValueError, match="needs classes="):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert clf.optimizer_.step_[0] == 120
    assert clf.get_params()["hidden_layer_sizes"] == (8, 4)
    assert clf.set_params(epochs=3).epochs == 3
    with pytest.raises(ValueError, match="unknown parameter 'epoch'"):
        clf.set_params(epoch=3)
    with pytest.raises(ValueError, match="labels not seen by fit"):
        clf.partial_fit(X, y + 5)


def test_unfitted_estimator_says_so():
    with pytest.raises(AttributeError, match="not fitted yet; call fit"):
        MLPRegressor().predict(np.ones((2, 2)))


def test_sklearn_clone_and_cross_validation():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    assert sklearn is not None
    clf = MLPClassifier(hidden_layer_sizes=16, epochs=3, random_state=0)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and copy is not clf
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7
