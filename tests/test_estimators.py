"""The scikit-learn-style estimators."""

import pathlib
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

from fastnn import MLPClassifier, MLPRegressor, TrainingDivergedError, datasets, estimators
from fastnn.estimators import DataConversionWarning, NotFittedError


def test_classifier_on_digits_with_string_labels():
    pytest.importorskip("sklearn")
    (x, t), (x_test, t_test) = datasets.load_digits()
    names = np.array([f"digit-{k}" for k in range(10)])
    # The default learning rate: the features are standardized (lr=0.05 suited raw pixels).
    clf = MLPClassifier(hidden_layer_sizes=64, epochs=10, random_state=0)
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


# ---------------------------------------------------------------- hardening (issue 9)


def _blobs_regression(scale=1.0, offset=0.0):
    """make_blobs features (unscaled, |x| up to about 12) and a continuous target."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, blob = sklearn_datasets.make_blobs(n_samples=300, n_features=5, random_state=0)
    weights = np.random.default_rng(0).standard_normal(5)
    return X, scale * (X @ weights + blob) + offset


@pytest.mark.parametrize(
    "estimator_class, method",
    [
        (MLPClassifier, "predict"),
        (MLPClassifier, "predict_proba"),
        (MLPClassifier, "score"),
        (MLPRegressor, "predict"),
        (MLPRegressor, "score"),
    ],
)
def test_unfitted_estimator_raises_not_fitted_error(estimator_class, method):
    estimator = estimator_class()
    arguments = (np.ones((2, 2)), [0, 1]) if method == "score" else (np.ones((2, 2)),)
    with pytest.raises(NotFittedError, match="not fitted yet; call fit") as caught:
        getattr(estimator, method)(*arguments)
    # scikit-learn's NotFittedError has these two bases; code written for it works.
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, AttributeError)


def test_not_fitted_error_is_also_sklearns_and_pickles():
    sklearn_exceptions = pytest.importorskip("sklearn.exceptions")
    with pytest.raises(sklearn_exceptions.NotFittedError) as caught:
        MLPClassifier().predict(np.ones((2, 2)))
    assert isinstance(caught.value, NotFittedError)
    # joblib sends a worker's error to the parent by pickle.
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is type(caught.value) and str(copy) == str(caught.value)


def test_not_fitted_error_without_sklearn(monkeypatch):
    # As if scikit-learn were not installed: importing it raises ImportError.
    monkeypatch.setitem(sys.modules, "sklearn.exceptions", None)
    estimators._sklearn_twin.cache_clear()
    try:
        with pytest.raises(NotFittedError) as caught:
            MLPRegressor().predict(np.ones((2, 2)))
        assert type(caught.value) is NotFittedError
    finally:
        estimators._sklearn_twin.cache_clear()


def test_import_and_use_without_importing_sklearn():
    code = (
        "import sys, numpy as np, fastnn\n"
        "X = np.random.default_rng(0).standard_normal((20, 3))\n"
        "fastnn.MLPRegressor(epochs=1).fit(X, X[:, 0]).score(X, X[:, 0])\n"
        "fastnn.MLPClassifier(epochs=1).fit(X, X[:, 0] > 0).predict(X)\n"
        "assert 'sklearn' not in sys.modules, 'sklearn was imported'\n"
    )
    root = pathlib.Path(__file__).resolve().parents[1]  # this checkout's fastnn
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


@pytest.mark.parametrize(
    "call",
    [
        lambda: MLPRegressor().partial_fit(np.zeros(5), np.zeros(5)),
        lambda: MLPClassifier().partial_fit(np.zeros(4), [0, 1, 0, 1], classes=[0, 1]),
        lambda: MLPRegressor(epochs=1).fit(np.zeros(5), np.zeros(5)),
        lambda: MLPRegressor(epochs=1).fit(np.zeros((5, 2)), np.zeros(5)).predict(np.zeros(2)),
        lambda: MLPClassifier(epochs=1).fit(np.eye(4), [0, 1, 0, 1]).predict(np.zeros(4)),
    ],
    ids=[
        "regressor-partial_fit",
        "classifier-partial_fit",
        "fit",
        "regressor-predict",
        "classifier-predict",
    ],
)
def test_one_dimensional_inputs_are_refused_with_reshape_advice(call):
    with pytest.raises(ValueError, match=r"2-D X .*got a 1-D array.*Reshape your data"):
        call()


def test_scalar_target_is_refused():
    with pytest.raises(ValueError, match=r"y must be 1-D .* or 2-D .*, got a scalar"):
        MLPRegressor(epochs=1).fit(np.zeros((5, 2)), 3.0)


class _SparseLike:
    """Stands in for a scipy.sparse matrix: only its module name is looked at."""

    __module__ = "scipy.sparse._csr"


X4 = np.arange(12.0).reshape(4, 3)
Y4 = [0, 1, 0, 1]


@pytest.mark.parametrize("estimator_class", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(
    "X, y, error, match",
    [
        (_SparseLike(), Y4, TypeError, "X is a sparse _SparseLike; .* needs dense data"),
        (X4 + 1j, Y4, ValueError, "Complex data not supported"),
        (X4.astype(str), Y4, TypeError, "X must hold real numbers, got dtype <U"),
        (np.array([[1, {}]], dtype=object), [0], TypeError, "X must hold numbers; converting"),
        ([[1, 2], [3]], [0, 1], ValueError, "X must be a rectangular array"),
        (np.zeros((0, 3)), [], ValueError, r"X has 0 sample\(s\) \(shape=\(0, 3\)\)"),
        (np.zeros((4, 0)), Y4, ValueError, r"X has 0 feature\(s\) \(shape=\(4, 0\)\)"),
        (np.zeros((4, 3, 1)), Y4, ValueError, "got a 3-D array"),
        (np.where(X4 > 5, np.nan, X4), Y4, ValueError, "X contains NaN or inf .*row 2, column 0"),
        (X4 * [1, 1e300, 1], Y4, ValueError, "X column 1 is too large to standardize"),
        (X4, None, ValueError, "requires y to be passed, but the target y is None"),
        (X4, [0, 1, 0], ValueError, "X has 4 samples but y has 3"),
        (X4, np.array(Y4) + 0j, ValueError, "Complex data not supported"),
    ],
    ids=[
        "sparse",
        "complex",
        "strings",
        "object",
        "ragged",
        "no-samples",
        "no-features",
        "3-D",
        "nan",
        "huge",
        "y-None",
        "rows",
        "complex-y",
    ],
)
def test_bad_data_gets_a_clear_error(estimator_class, X, y, error, match):
    with pytest.raises(error, match=match):
        estimator_class(epochs=1).fit(X, y)


def test_inputs_out_of_range_for_float32():
    with pytest.raises(ValueError, match=r"X\[1, 0\] = 1e\+39 is out of range for float32 as"):
        MLPRegressor(standardize=False).fit([[1.0], [1e39]], [0.0, 1.0])
    fitted = MLPRegressor(epochs=1).fit(X4, Y4)  # fit's data is about 1 to 10
    with pytest.raises(ValueError, match="out of range for float32 once standardized"):
        fitted.predict([[0.0, 1e40, 0.0]])
    assert MLPRegressor(dtype="float64", epochs=1).fit(X4, Y4).predict([[0, 1e40, 0]]).shape


def test_object_arrays_of_numbers_are_numbers():
    X = X4.astype(object)
    classifier = MLPClassifier(epochs=1, random_state=0).fit(X, Y4)
    assert classifier.predict(X).shape == (4,)
    regressor = MLPRegressor(epochs=1, random_state=0).fit(X, np.array(Y4, dtype=object))
    assert regressor.predict(X).dtype == np.float64


@pytest.mark.parametrize("estimator_class", [MLPClassifier, MLPRegressor])
def test_wrong_number_of_features_after_fit(estimator_class):
    estimator = estimator_class(epochs=1).fit(X4, Y4)
    message = f"X has 2 features, but {estimator_class.__name__} is expecting 3 features"
    for method in ("predict", "score", "partial_fit"):
        with pytest.raises(ValueError, match=message):
            getattr(estimator, method)(X4[:, :2], Y4) if method != "predict" else (
                estimator.predict(X4[:, :2])
            )


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"learning_rate": -1.0}, ValueError, "learning_rate must be a positive finite"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate must be a real number"),
        ({"hidden_layer_sizes": (8, 0)}, ValueError, "hidden_layer_sizes must hold positive"),
        ({"hidden_layer_sizes": 2.5}, TypeError, "hidden_layer_sizes must be an int"),
        ({"hidden_layer_sizes": (8, 2.5)}, TypeError, "hidden_layer_sizes must hold integers"),
        ({"activation": "swish"}, ValueError, "activation: unknown name 'swish'"),
        ({"activation": ["relu", "tanh"]}, ValueError, "activation has 2 names for 1 hidden"),
        ({"optimizer": object()}, TypeError, "optimizer must be an optimizer name"),
        ({"optimizer": "adamax"}, ValueError, "optimizer: unknown name 'adamax'"),
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"batch_size": 1.5}, TypeError, "batch_size must be an integer"),
        ({"random_state": -1}, ValueError, "random_state must be >= 0"),
        ({"random_state": "seed"}, TypeError, "random_state must be None, an int"),
        ({"standardize": "yes"}, TypeError, "standardize must be True or False"),
        ({"dtype": "float16"}, ValueError, "dtype must be 'float32' or 'float64'"),
    ],
)
def test_bad_parameters_name_the_parameter(params, error, match):
    with pytest.raises(error, match=match):
        MLPClassifier(**params).fit(X4, Y4)


def test_numpy_random_state_is_accepted():
    fitted = MLPRegressor(epochs=1, random_state=np.random.RandomState(0)).fit(X4, Y4)
    assert np.all(np.isfinite(fitted.predict(X4)))
    fitted = MLPRegressor(epochs=1, random_state=np.random.default_rng(0)).fit(X4, Y4)
    assert np.all(np.isfinite(fitted.predict(X4)))


def test_classifier_refuses_a_continuous_target():
    y = np.linspace(0, 1, 4)
    with pytest.raises(ValueError, match="Unknown label type: continuous.*MLPRegressor"):
        MLPClassifier(epochs=1).fit(X4, y)
    # Whole-number floats are class labels.
    assert MLPClassifier(epochs=1).fit(X4, [0.0, 1.0, 0.0, 1.0]).classes_.tolist() == [0, 1]


def test_classifier_with_one_class_says_so():
    with pytest.raises(ValueError, match="y has 1 class"):
        MLPClassifier(epochs=1).fit(X4, [3, 3, 3, 3])


def test_classifier_column_vector_y_warns_and_fits_as_1d():
    y = np.array([0, 1, 2, 0, 1, 2])
    X = np.arange(18.0).reshape(6, 3)
    expected = MLPClassifier(epochs=2, random_state=0).fit(X, y).predict_proba(X)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        fitted = MLPClassifier(epochs=2, random_state=0).fit(X, y[:, None])
    np.testing.assert_array_equal(fitted.predict_proba(X), expected)
    with pytest.raises(ValueError, match="does not support multi-output or multilabel"):
        MLPClassifier(epochs=1).fit(X, np.eye(3)[y])


def test_partial_fit_keeps_classes_and_outputs():
    classifier = MLPClassifier(epochs=1).partial_fit(X4, Y4, classes=[0, 1, 2])
    classifier.partial_fit(X4, Y4, classes=[2, 1, 0])  # the same classes: fine
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] differs from classes_"):
        classifier.partial_fit(X4, Y4, classes=[0, 1])
    with pytest.raises(ValueError, match="classes has 1 class"):
        MLPClassifier().partial_fit(X4, [0, 0, 0, 0], classes=[0])
    regressor = MLPRegressor().partial_fit(X4, np.ones((4, 2)))
    with pytest.raises(ValueError, match="y has 1 outputs .* the first partial_fit call had 2"):
        regressor.partial_fit(X4, np.ones(4))


def test_regressor_output_shapes_and_dtype():
    one = MLPRegressor(epochs=1, random_state=0).fit(X4, np.arange(4.0))
    column = MLPRegressor(epochs=1, random_state=0).fit(X4, np.arange(4.0)[:, None])
    two = MLPRegressor(epochs=1, random_state=0).fit(X4, np.ones((4, 2)))
    assert one.predict(X4).shape == (4,) and column.predict(X4).shape == (4, 1)
    assert two.predict(X4).shape == (4, 2) and two.n_outputs_ == 2
    # float64 predictions (scikit-learn's convention) from a float32 network.
    assert one.net_.dtype == np.float32 and one.predict(X4).dtype == np.float64
    np.testing.assert_allclose(one.predict(X4), column.predict(X4)[:, 0])


@pytest.mark.parametrize("estimator_class", [MLPClassifier, MLPRegressor])
def test_failed_refit_keeps_the_previous_model(estimator_class):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    estimator = estimator_class(hidden_layer_sizes=16, epochs=5, random_state=0).fit(X, y)
    before = estimator.predict(X)
    score = estimator.score(X, y)
    net = estimator.net_

    X_nan = X.copy()
    X_nan[-1, -1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        estimator.fit(X_nan, y)
    estimator.set_params(learning_rate=1e30)
    with pytest.raises(TrainingDivergedError, match="keeps its previous fit"):
        estimator.fit(X, y)
    estimator.set_params(hidden_layer_sizes=(0,))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        estimator.fit(X, y)

    assert estimator.net_ is net
    np.testing.assert_array_equal(estimator.predict(X), before)
    assert estimator.score(X, y) == score


def test_failed_partial_fit_keeps_the_model():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    regressor = MLPRegressor(random_state=0).partial_fit(X, y)
    before = regressor.predict(X)
    regressor.optimizer_.lr = 1e30  # partial_fit keeps the optimizer of the first call
    with pytest.raises(TrainingDivergedError, match="keeps its previous fit.*now 1e"):
        regressor.partial_fit(X, y)
    np.testing.assert_array_equal(regressor.predict(X), before)


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (100.0, 1000.0)])
def test_default_regressor_fits_unscaled_data(scale, offset):
    # make_blobs features and a linear target: per-sample SGD diverged here
    # before the estimators standardized their data.
    X, y = _blobs_regression(scale, offset)
    regressor = MLPRegressor(random_state=0).fit(X, y)
    assert regressor.score(X, y) > 0.95  # a linear target: an MLP should explain most of it
    np.testing.assert_allclose(regressor.x_mean_, X.mean(axis=0))


def test_default_classifier_fits_unscaled_data():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = sklearn_datasets.make_blobs(n_samples=300, n_features=5, random_state=0)
    X = 100 * X  # blobs that a linear model separates, on a large scale
    assert MLPClassifier(random_state=0).fit(X, y).score(X, y) > 0.95


def test_unstandardized_divergence_says_what_to_do():
    X, y = _blobs_regression()
    regressor = MLPRegressor(standardize=False, random_state=0)
    with pytest.raises(TrainingDivergedError) as caught:
        regressor.fit(X, y)
    message = str(caught.value)
    assert "is not fitted" in message
    assert "MLPRegressor(learning_rate=0.001)" in message and "standardize=True" in message
    with pytest.raises(NotFittedError):
        regressor.predict(X)


def test_regressor_score_on_a_constant_target():
    X = np.arange(20.0).reshape(10, 2)
    regressor = MLPRegressor(epochs=1, random_state=0).fit(X, np.full(10, 4.0))
    # r2_score (force_finite=True): a constant y scores 1.0 if predicted exactly, else 0.0.
    regressor.net_.theta[:] = 0  # the network now outputs 0: the prediction is y_mean_
    np.testing.assert_array_equal(regressor.predict(X), 4.0)
    assert regressor.score(X, np.full(10, 4.0)) == 1.0
    assert regressor.score(X, np.full(10, 5.0)) == 0.0


def test_regressor_score_matches_sklearn_r2_score():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    targets = np.column_stack([X[:, 0], np.full(30, 2.0)])  # the second is constant
    regressor = MLPRegressor(epochs=3, random_state=0).fit(X, targets)
    predicted = regressor.predict(X)
    assert regressor.score(X, targets) == pytest.approx(metrics.r2_score(targets, predicted))
    for column in range(2):
        one = MLPRegressor(epochs=3, random_state=0).fit(X, targets[:, column])
        expected = metrics.r2_score(targets[:, column], one.predict(X))
        assert one.score(X, targets[:, column]) == pytest.approx(expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn that one sample is not enough
        assert np.isnan(one.score(X[:1], targets[:1, 1]))
        assert np.isnan(metrics.r2_score(targets[:1, 1], one.predict(X[:1])))
