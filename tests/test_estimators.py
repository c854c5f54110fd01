"""MLPClassifier and MLPRegressor: drop-ins for scikit-learn's, on fastnn's kernels.

The first half fits fastnn's and scikit-learn's estimators side by side from the
same ``random_state`` and checks that they end in the same place (weights, loss
curves, iteration counts, validation scores): the same initialisation, random
draws, loss, penalty, optimizers and stopping rules. The second half checks what
fastnn adds or does on its own: clear errors, a failed fit that changes nothing,
pickling, the extras (dtype, backend, more solvers, ``net_``).
"""

import pathlib
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import MLP, MLPClassifier, MLPRegressor
from fastnn.estimators import (
    ConvergenceWarning,
    DataConversionWarning,
    InvalidParameterError,
    NotFittedError,
    errors,
)

RNG = np.random.default_rng(0)
X_CLASSES = RNG.random((90, 6))
Y_THREE = (X_CLASSES[:, 0] * 3).astype(int)  # three classes
Y_TWO = np.where(X_CLASSES[:, 1] > 0.5, "yes", "no")
Y_LABELS = (X_CLASSES[:, :4] > 0.5).astype(int)  # multilabel indicator rows
X_REG = RNG.standard_normal((80, 5))
Y_REG = X_REG @ RNG.standard_normal((5, 2)) + 0.1 * RNG.standard_normal((80, 2))
Y_COUNTS = RNG.poisson(np.exp(0.3 * X_REG[:, 0] + 0.5)).astype(float)

SMALL = dict(hidden_layer_sizes=(7,), random_state=0, max_iter=6)
CASES = {
    "adam": {},
    "sgd": dict(solver="sgd", learning_rate_init=0.05),
    "sgd-one-row-at-a-time": dict(solver="sgd", batch_size=1),
    "sgd-plain-momentum": dict(solver="sgd", nesterovs_momentum=False, batch_size=1),
    "sgd-no-momentum": dict(solver="sgd", momentum=0.0, alpha=0.0, batch_size=1),
    "adam-one-row-at-a-time": dict(batch_size=1),
    "invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2),
    "adaptive": dict(
        solver="sgd", learning_rate="adaptive", tol=0.05, n_iter_no_change=1, max_iter=12
    ),
    "early-stopping": dict(early_stopping=True, validation_fraction=0.25, n_iter_no_change=2),
    "no-shuffle-odd-batches": dict(shuffle=False, batch_size=7, activation="tanh"),
    "logistic": dict(activation="logistic", alpha=0.01),
    "identity-two-layers": dict(activation="identity", hidden_layer_sizes=(5, 4)),
    "lbfgs": dict(solver="lbfgs", max_iter=15),
}


def both(kind, params):
    """fastnn's estimator and scikit-learn's, with the same parameters."""
    sklearn = pytest.importorskip("sklearn")
    neural_network = pytest.importorskip("sklearn.neural_network")
    name = "MLPClassifier" if kind == "classifier" else "MLPRegressor"
    try:
        theirs = getattr(neural_network, name)(**params)
    except TypeError as error:  # loss="poisson" came with scikit-learn 1.7
        pytest.skip(f"scikit-learn {sklearn.__version__} has no such parameter: {error}")
    return globals()[name](**params), theirs


def fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few iterations on purpose
        return estimator.fit(*args, **kwargs)


def fit_theirs(estimator, *args, **kwargs):
    """scikit-learn's fit; skip the comparison if this scikit-learn cannot do it.

    Older versions lack sample_weight (1.7) and failed on string labels with early
    stopping (fixed in 1.9): nothing to compare fastnn with there.
    """
    import sklearn

    try:
        return fit_quietly(estimator, *args, **kwargs)
    except (TypeError, ValueError) as error:
        pytest.skip(f"scikit-learn {sklearn.__version__} cannot fit this case: {error}")


def assert_same_fit(ours, theirs, X, rtol=1e-7):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_
    assert_allclose(ours.loss_, theirs.loss_, rtol=rtol)
    for name in ("t_", "loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
        if hasattr(theirs, name):
            mine, reference = getattr(ours, name), getattr(theirs, name)
            if reference is None:
                assert mine is None, name
            else:
                assert_allclose(mine, reference, rtol=rtol, err_msg=name)
    for got, want in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert got.dtype == want.dtype
        assert_allclose(got, want, rtol=rtol * 10, atol=rtol)
    if hasattr(theirs, "classes_"):
        assert_array_equal(ours.classes_, theirs.classes_)
        assert_array_equal(ours.predict(X), theirs.predict(X))
        assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=rtol, atol=rtol)
    else:
        assert_allclose(ours.predict(X), theirs.predict(X), rtol=rtol * 10, atol=rtol)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("target", ["three-classes", "two-string-classes", "multilabel"])
def test_classifier_fits_as_scikit_learns(case, target):
    y = {"three-classes": Y_THREE, "two-string-classes": Y_TWO, "multilabel": Y_LABELS}[target]
    ours, theirs = both("classifier", {**SMALL, **CASES[case]})
    fit_quietly(ours, X_CLASSES, y)
    fit_theirs(theirs, X_CLASSES, y)
    assert_same_fit(ours, theirs, X_CLASSES)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("target", ["two-outputs", "one-output", "poisson"])
def test_regressor_fits_as_scikit_learns(case, target):
    params = {**SMALL, **CASES[case]}
    y = Y_REG if target == "two-outputs" else Y_REG[:, 0]
    if target == "poisson":
        y, params = Y_COUNTS, {**params, "loss": "poisson"}
    ours, theirs = both("regressor", params)
    fit_quietly(ours, X_REG, y)
    fit_theirs(theirs, X_REG, y)
    assert_same_fit(ours, theirs, X_REG)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("batch_size", ["auto", 1])
def test_sample_weights_and_sparse_input_as_scikit_learns(kind, solver, batch_size):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = (X_CLASSES, Y_THREE) if kind == "classifier" else (X_REG, Y_REG[:, 0])
    X = np.where(np.abs(X) < 0.4, 0.0, X)
    weights = RNG.random(len(X)) + 0.5
    params = {**SMALL, "solver": solver, "batch_size": batch_size}
    for data in (X, sparse.csr_matrix(X)):
        ours, theirs = both(kind, params)
        fit_quietly(ours, data, y, sample_weight=weights)
        fit_theirs(theirs, data, y, sample_weight=weights)
        assert_same_fit(ours, theirs, X)
    assert_allclose(ours.score(X, y, weights), theirs.score(X, y, weights), rtol=1e-9)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_warm_start_as_scikit_learns(kind, solver):
    X, y = (X_CLASSES, Y_THREE) if kind == "classifier" else (X_REG, Y_REG)
    ours, theirs = both(kind, {**SMALL, "solver": solver, "warm_start": True})
    for estimator in (ours, theirs):
        fit_quietly(estimator, X, y)
        estimator.set_params(max_iter=3)
        fit_quietly(estimator, X, y)
    assert_same_fit(ours, theirs, X)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("batch_size", ["auto", 1, 16])
def test_partial_fit_as_scikit_learns(kind, batch_size):
    X, y = (X_CLASSES, Y_THREE) if kind == "classifier" else (X_REG, Y_REG)
    extra = {"classes": [0, 1, 2, 3]} if kind == "classifier" else {}  # class 3 never seen
    ours, theirs = both(kind, {**SMALL, "solver": "sgd", "batch_size": batch_size})
    for estimator in (ours, theirs):
        for start in (0, 30, 60):
            estimator.partial_fit(X[start : start + 30], y[start : start + 30], **extra)
    assert_same_fit(ours, theirs, X)


def test_float32_data_trains_in_float32_as_scikit_learns():
    X = X_CLASSES.astype(np.float32)
    ours, theirs = both("classifier", {**SMALL, "batch_size": 1, "solver": "sgd"})
    fit_quietly(ours, X, Y_THREE)
    fit_theirs(theirs, X, Y_THREE)
    assert ours.coefs_[0].dtype == np.float32
    assert_same_fit(ours, theirs, X, rtol=2e-4)


def test_verbose_and_convergence_messages_as_scikit_learns(capsys):
    neural_network = pytest.importorskip("sklearn.neural_network")
    exceptions = pytest.importorskip("sklearn.exceptions")
    outputs = []
    for cls in (MLPClassifier, neural_network.MLPClassifier):
        model = cls(**{**SMALL, "verbose": True, "solver": "sgd", "learning_rate": "adaptive"})
        with pytest.warns(exceptions.ConvergenceWarning, match="Maximum iterations"):
            model.fit(X_CLASSES, Y_THREE)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert "Iteration 6, loss = " in outputs[0]


# ---------------------------------------------------------------- fastnn's own behaviour


def test_learns_without_scikit_learn_being_imported():
    code = (
        "import sys, warnings, numpy as np, fastnn\n"
        "warnings.simplefilter('ignore')\n"
        "X = np.random.default_rng(0).standard_normal((40, 3))\n"
        "r = fastnn.MLPRegressor(hidden_layer_sizes=8, learning_rate_init=0.01,\n"
        "                        random_state=0)\n"
        "r.fit(X, X[:, 0])\n"
        "assert r.score(X, X[:, 0]) > 0.9, r.score(X, X[:, 0])\n"
        "c = fastnn.MLPClassifier(solver='lbfgs', random_state=0).fit(X, X[:, 0] > 0)\n"
        "assert c.score(X, X[:, 0] > 0) > 0.9\n"
        "assert 'sklearn' not in sys.modules, 'sklearn was imported'\n"
    )
    root = pathlib.Path(__file__).resolve().parents[1]  # this checkout's fastnn
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_classifier_learns_digits():
    from fastnn import datasets

    (x, t), (x_test, t_test) = datasets.load_digits()
    names = np.array([f"digit-{k}" for k in range(10)])
    clf = MLPClassifier(hidden_layer_sizes=32, max_iter=30, random_state=0)
    with pytest.warns(ConvergenceWarning):
        assert clf.fit(x, names[t]) is clf
    assert clf.score(x_test, names[t_test]) >= 0.9
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] / 4


@pytest.mark.parametrize("estimator_class", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("method", ["predict", "score"])
def test_unfitted_estimator_raises_not_fitted_error(estimator_class, method):
    arguments = (np.ones((2, 2)), [0, 1]) if method == "score" else (np.ones((2, 2)),)
    with pytest.raises(NotFittedError, match="is not fitted yet") as caught:
        getattr(estimator_class(), method)(*arguments)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, AttributeError)


def test_errors_are_scikit_learns_too_and_pickle():
    sklearn_exceptions = pytest.importorskip("sklearn.exceptions")
    with pytest.raises(sklearn_exceptions.NotFittedError) as caught:
        MLPClassifier().predict(np.ones((2, 2)))
    assert isinstance(caught.value, NotFittedError)
    copy = pickle.loads(pickle.dumps(caught.value))  # joblib's way back from a worker
    assert type(copy) is type(caught.value) and str(copy) == str(caught.value)
    with pytest.warns(sklearn_exceptions.DataConversionWarning):
        MLPRegressor(tol=10, n_iter_no_change=1).fit(X_REG, Y_REG[:, :1])  # stops at 3


def test_errors_without_scikit_learn(monkeypatch):
    monkeypatch.delitem(sys.modules, "sklearn", raising=False)
    with pytest.raises(NotFittedError) as caught:
        MLPRegressor().predict(np.ones((2, 2)))
    assert type(caught.value) is NotFittedError


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_layer_sizes": 0}, "hidden_layer_sizes must be > 0"),
        ({"hidden_layer_sizes": (4, 2.5)}, "'hidden_layer_sizes' parameter"),
        ({"activation": "softmax"}, "'activation' parameter .* Got 'softmax'"),
        ({"solver": "newton"}, "'solver' parameter of MLPClassifier must be a str among"),
        ({"alpha": -1.0}, r"'alpha' parameter .* range \[0, inf\)"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"learning_rate": 0.01}, "'learning_rate' parameter .* 'constant'"),
        ({"learning_rate_init": 0}, "'learning_rate_init' parameter"),
        ({"max_iter": 1.5}, "'max_iter' parameter"),
        ({"momentum": 1.5}, "'momentum' parameter"),
        ({"random_state": -1}, "'random_state' parameter"),
        ({"random_state": np.random.default_rng(0)}, "'random_state' parameter"),
        ({"n_iter_no_change": 0}, "'n_iter_no_change' parameter"),
        ({"shuffle": "yes"}, "'shuffle' parameter"),
        ({"dtype": "float16"}, "'dtype' parameter"),
        ({"backend": "torch"}, "'backend' parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(params, match):
    with pytest.raises(InvalidParameterError, match=match) as caught:
        MLPClassifier(**params).fit(X_CLASSES, Y_THREE)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)


@pytest.mark.parametrize(
    "X, y, error, match",
    [
        (np.ones(5), [0, 1] * 2 + [0], ValueError, "Expected a 2-dimensional container"),
        (np.ones((0, 2)), [], ValueError, "0 sample"),
        ([[1.0, np.nan], [0.0, 1.0]], [0, 1], ValueError, "NaN or inf"),
        ([[1.0, {}], [0.0, 1.0]], [0, 1], TypeError, "argument must be"),
        (np.ones((3, 2)), [0, 1], ValueError, r"inconsistent numbers of samples: \[3, 2\]"),
        (np.ones((2, 2)), [0.5, 1.5], ValueError, "Unknown label type: continuous"),
        (np.ones((2, 2)), [[0, 1, 2], [1, 0, 2]], ValueError, "Multioutput target"),
        (np.ones((2, 2)), None, ValueError, "requires y to be passed"),
    ],
)
def test_bad_data_gets_a_clear_error(X, y, error, match):
    with pytest.raises(error, match=match):
        MLPClassifier(max_iter=1).fit(X, y)


def test_wrong_features_after_fit_are_named():
    model = fit_quietly(MLPRegressor(**SMALL), X_REG, Y_REG)
    with pytest.raises(ValueError, match="X has 3 features, but MLPRegressor is expecting 5"):
        model.predict(X_REG[:, :3])


def test_poisson_refuses_negative_targets():
    with pytest.raises(ValueError, match="targets >= 0"):
        MLPRegressor(loss="poisson").fit(X_REG, Y_REG[:, 0])


def test_zero_sample_weights_are_refused():
    with pytest.raises(ValueError, match="at least one non-zero"):
        MLPRegressor().fit(X_REG, Y_REG, sample_weight=np.zeros(len(X_REG)))


def test_partial_fit_exists_for_stochastic_solvers_only():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPRegressor(solver="rmsprop"), "partial_fit")
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X_CLASSES, Y_THREE)


def test_a_failed_fit_leaves_the_estimator_as_it_was():
    model = fit_quietly(MLPRegressor(**SMALL, activation="identity"), X_REG, Y_REG)
    before = (model.predict(X_REG), list(model.loss_curve_), model.n_iter_)
    # Diverges: scikit-learn raises this error after training on to NaN weights.
    model.set_params(solver="sgd", learning_rate_init=1e6, warm_start=True)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        fit_quietly(model, X_REG, Y_REG * 1e10)
    assert_array_equal(model.predict(X_REG), before[0])
    assert model.loss_curve_ == before[1] and model.n_iter_ == before[2]
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X_REG[:, :2], Y_REG)
    assert_array_equal(model.predict(X_REG), before[0])


def test_divergence_with_early_stopping_keeps_the_best_weights():
    model = MLPRegressor(
        activation="identity", solver="sgd", learning_rate_init=1.0, early_stopping=True,
        random_state=0, max_iter=20,
    )  # fmt: skip
    with pytest.warns(ConvergenceWarning, match="diverged"):
        model.fit(X_REG * 100, Y_REG)
    assert np.isnan(model.validation_scores_[-1])
    assert np.all(np.isfinite(model.predict(X_REG)))


def test_pickle_keeps_the_weights_as_views_of_the_network():
    model = fit_quietly(MLPClassifier(**SMALL, solver="sgd"), X_CLASSES, Y_THREE)
    copy = pickle.loads(pickle.dumps(model))
    assert_array_equal(copy.predict_proba(X_CLASSES), model.predict_proba(X_CLASSES))
    assert np.shares_memory(copy.coefs_[0], copy.net_.theta)
    for estimator in (model, copy):
        estimator.partial_fit(X_CLASSES, Y_THREE)
    assert_array_equal(copy.coefs_[1], model.coefs_[1])


def test_assigned_weights_are_the_ones_used():
    model = fit_quietly(MLPRegressor(**SMALL), X_REG, Y_REG)
    model.coefs_[0][...] = 0  # in place: a view of net_.theta
    hidden = np.maximum(model.intercepts_[0], 0)
    constant = hidden @ model.coefs_[1] + model.intercepts_[1]
    assert_allclose(model.predict(X_REG), np.tile(constant, (80, 1)))
    model.intercepts_ = [np.zeros(7), np.full(2, 3.0)]  # new arrays: copied in on use
    assert_allclose(model.predict(X_REG), 3.0)
    assert np.shares_memory(model.intercepts_[1], model.net_.theta)


def test_net_is_a_fastnn_mlp_sharing_the_weights():
    model = fit_quietly(MLPClassifier(**SMALL), X_CLASSES, Y_THREE)
    assert isinstance(model.net_, MLP) and model.net_.sizes == [6, 7, 3]
    assert np.shares_memory(model.coefs_[0], model.net_.theta)
    assert_allclose(model.net_.predict(X_CLASSES), model.predict_proba(X_CLASSES))


def test_dtype_and_backend_extras():
    float32 = fit_quietly(MLPClassifier(**SMALL, dtype="float32"), X_CLASSES, Y_THREE)
    assert float32.coefs_[0].dtype == np.float32
    assert float32.predict_proba(X_CLASSES).dtype == np.float32
    for params in ({"solver": "sgd", "batch_size": 1}, {"solver": "adam"}, {"solver": "lbfgs"}):
        compiled, reference = (
            fit_quietly(MLPClassifier(**SMALL, **params, backend=backend), X_CLASSES, Y_THREE)
            for backend in ("numba", "numpy")
        )
        assert_allclose(compiled.coefs_[0], reference.coefs_[0], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("solver", ["adagrad", "rmsprop", "adadelta", "adamw"])
def test_fastnns_other_optimizers_train(solver):
    model = MLPClassifier(hidden_layer_sizes=16, solver=solver, random_state=0, max_iter=40)
    model.set_params(learning_rate_init=1.0 if solver == "adadelta" else 0.01)
    with pytest.warns(ConvergenceWarning):
        model.fit(X_CLASSES, Y_THREE)
    assert model.loss_curve_[-1] < 0.9 * model.loss_curve_[0]
    model.partial_fit(X_CLASSES, Y_THREE)
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 41


def test_sample_weights_count_as_repeated_rows_with_lbfgs():
    # Full-batch L-BFGS: weight k is k copies of the row, weight 0 no row at all.
    counts = RNG.integers(0, 3, len(X_REG))
    counts[0] = 1
    weighted = fit_quietly(MLPRegressor(**SMALL, solver="lbfgs"), X_REG, Y_REG, counts)
    repeated = fit_quietly(
        MLPRegressor(**SMALL, solver="lbfgs"),
        np.repeat(X_REG, counts, axis=0),
        np.repeat(Y_REG, counts, axis=0),
    )
    assert_allclose(weighted.coefs_[0], repeated.coefs_[0], rtol=1e-6, atol=1e-9)


class Frame:
    """The least of a data frame: string column names and an array."""

    def __init__(self, values, columns):
        self.values, self.columns = np.asarray(values), list(columns)
        self.shape = self.values.shape

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


def test_feature_names_are_recorded_and_checked():
    names = [f"f{k}" for k in range(5)]
    model = fit_quietly(MLPRegressor(**SMALL), Frame(X_REG, names), Y_REG)
    assert list(model.feature_names_in_) == names
    model.predict(Frame(X_REG, names))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict(X_REG)
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- g"):
        model.predict(Frame(X_REG, ["g", *names[1:]]))
    fit_quietly(model, X_REG, Y_REG)
    assert not hasattr(model, "feature_names_in_")


def test_pandas_frames_and_series():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_REG, columns=[f"f{k}" for k in range(5)])
    weights = pd.Series(np.linspace(0.5, 1.5, 80))
    model = fit_quietly(MLPRegressor(**SMALL), frame, pd.Series(Y_REG[:, 0]), weights)
    assert list(model.feature_names_in_) == list(frame.columns)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        plain = model.predict(X_REG)
    assert_allclose(model.predict(frame), plain)
    with pytest.raises(ValueError, match="must be in the same order as they were in fit"):
        model.predict(frame[frame.columns[::-1]])


def test_multilabel_and_binary_output_shapes():
    model = fit_quietly(MLPClassifier(**SMALL), X_CLASSES, Y_LABELS)
    assert model.predict(X_CLASSES).shape == Y_LABELS.shape
    assert model.predict_proba(X_CLASSES).shape == Y_LABELS.shape
    assert_array_equal(model.classes_, np.arange(4))
    binary = fit_quietly(MLPClassifier(**SMALL), X_CLASSES, Y_TWO)
    proba = binary.predict_proba(X_CLASSES)
    assert proba.shape == (90, 2)
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    assert set(binary.predict(X_CLASSES)) <= {"yes", "no"}


def test_column_vector_target_warns_and_is_one_output():
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        model = MLPRegressor(**SMALL, tol=10, n_iter_no_change=1).fit(X_REG, Y_REG[:, :1])
    assert model.predict(X_REG).shape == (80,)


def test_score_takes_a_column_target_without_a_warning():
    # As scikit-learn's metrics: only fit warns about a column y.
    regressor = fit_quietly(MLPRegressor(**SMALL), X_REG, Y_REG[:, 0])
    classifier = fit_quietly(MLPClassifier(**SMALL), X_CLASSES, Y_THREE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        regressor.score(X_REG, Y_REG[:, :1])
        classifier.score(X_CLASSES, Y_THREE[:, None])


def test_r2_of_one_sample_is_undefined():
    model = fit_quietly(MLPRegressor(**SMALL), X_REG, Y_REG)
    with pytest.warns(errors.UndefinedMetricWarning, match="less than two samples"):
        assert np.isnan(model.score(X_REG[:1], Y_REG[:1]))


def test_clone_and_grid_search():
    model_selection = pytest.importorskip("sklearn.model_selection")
    base = pytest.importorskip("sklearn.base")
    model = MLPClassifier(hidden_layer_sizes=8, max_iter=5, random_state=0)
    assert base.clone(model).get_params() == model.get_params()
    assert repr(model) == "MLPClassifier(hidden_layer_sizes=8, max_iter=5, random_state=0)"
    with pytest.raises(ValueError, match="Invalid parameter 'epochs'"):
        model.set_params(epochs=3)
    search = model_selection.GridSearchCV(model, {"alpha": [1e-4, 1e-1]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_CLASSES, Y_THREE)
    assert set(search.best_params_) == {"alpha"}
