"""Whole training runs: backends agree, seeds reproduce, learning really happens."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import MLP, optimizers


def regression_data(n, seed):
    x = np.random.default_rng(seed).random((n, 2))
    return x, 3 * x[:, 0] + 2 * x[:, 1]


def classification_data(n, seed, features=6, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features))
    X[X < -1] = 0
    return X, rng.integers(0, classes, n)


@pytest.mark.parametrize("batch_size", [1, 8, None], ids=["per-sample", "mini-batch", "full"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
def test_numba_and_numpy_backends_end_with_the_same_weights(batch_size, output):
    X, labels = classification_data(60, 1)
    if output == "softmax":
        T = labels
    elif output == "sigmoid":
        T = np.eye(3)[labels]
    else:
        T = np.random.default_rng(2).standard_normal((60, 3))
    runs = {}
    for backend in ("numba", "numpy"):
        net = MLP(
            [6, 9, 7, 3],
            hidden=["relu", "tanh"],
            output=output,
            dtype="float64",
            seed=4,
            backend=backend,
        )
        history = net.fit(
            X,
            T,
            optimizer=optimizers.SGD(lr=0.05),
            epochs=3,
            batch_size=batch_size,
            validation_data=(X[:10], T[:10]),
        )
        runs[backend] = (net.theta.copy(), history)
    assert_allclose(runs["numba"][0], runs["numpy"][0], rtol=1e-6, atol=1e-12)
    for field in ("loss", "val_loss", "train_acc", "val_acc"):
        assert_allclose(
            getattr(runs["numba"][1], field), getattr(runs["numpy"][1], field), rtol=1e-6
        )


@pytest.mark.parametrize("batch_size", [1, 16])
def test_float32_backends_agree(batch_size):
    X, T = classification_data(80, 3)
    thetas = []
    for backend in ("numba", "numpy"):
        net = MLP([6, 12, 3], dtype="float32", seed=0, backend=backend)
        net.fit(X, T, optimizer=optimizers.SGD(lr=0.05), epochs=2, batch_size=batch_size)
        thetas.append(net.theta.copy())
    assert thetas[0].dtype == np.float32
    assert_allclose(thetas[0], thetas[1], rtol=1e-4, atol=1e-5)


def test_same_seed_gives_identical_weights():
    X, T = classification_data(50, 5)
    thetas = []
    for _ in range(2):
        net = MLP([6, 8, 3], seed=11)
        net.fit(X, T, epochs=2, batch_size=1)
        thetas.append(net.theta.copy())
    assert np.array_equal(thetas[0], thetas[1])
    other = MLP([6, 8, 3], seed=12)
    assert not np.array_equal(other.theta, MLP([6, 8, 3], seed=11).theta)


def test_course_regression_learns_per_sample():
    # The course's task: y = 3 x0 + 2 x1, 2-10-1 ReLU, lr 0.07, 100,000 per-sample steps.
    X, y = regression_data(100_000, seed=0)
    net = MLP([2, 10, 1], hidden="relu", output="identity", dtype="float64", seed=0)
    history = net.fit(X, y, optimizer=optimizers.SGD(lr=0.07), epochs=1, batch_size=1)
    assert len(history.step_loss) == 100_000
    X_new, y_new = regression_data(2000, seed=1)
    mse = np.mean((net.predict(X_new)[:, 0] - y_new) ** 2)
    assert mse < 1e-3


def test_digits_classifier_reaches_95_percent():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    X = digits.data / 16.0
    y = digits.target
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:1400], order[1400:]
    net = MLP([64, 64, 10], hidden="relu", output="softmax", seed=0)
    history = net.fit(
        X[train],
        y[train],
        optimizer=optimizers.SGD(lr=0.05),
        epochs=15,
        batch_size=1,
        validation_data=(X[test], y[test]),
    )
    assert net.accuracy(X[test], y[test]) >= 0.95
    assert history.val_acc[-1] == pytest.approx(net.accuracy(X[test], y[test]))
    assert history.loss[-1] < history.loss[0]


def test_partial_fit_continues_and_history_has_one_value_per_epoch():
    X, T = classification_data(40, 6)
    net = MLP([6, 5, 3], seed=0)
    history = net.fit(X, T, epochs=4, validation_data=(X, T))
    assert [
        len(history.loss),
        len(history.val_loss),
        len(history.train_acc),
        len(history.val_acc),
    ] == [4, 4, 4, 4]
    before = net.theta.copy()
    assert net.partial_fit(X, T) is net
    assert not np.array_equal(before, net.theta)
    assert net.optimizer_.step_[0] == 5 * 40


def test_regression_history_has_no_accuracy():
    X, y = regression_data(30, 0)
    net = MLP([2, 4, 1], output="identity", seed=0)
    history = net.fit(X, y, epochs=2, validation_data=(X, y))
    assert history.train_acc == [] and history.val_acc == []
    assert len(history.val_loss) == 2


def test_params_are_views_into_theta():
    net = MLP([3, 4, 2], seed=0)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]
    assert net.params["W1"].shape == (3, 4) and net.params["b2"].shape == (2,)
    net.params["W1"][0, 0] = 42.0
    assert net.theta[0] == 42.0
    assert np.all(net.params["b1"] == 0)
    assert net.theta.size == 3 * 4 + 4 + 4 * 2 + 2


@pytest.mark.parametrize(
    "init, std", [("he", np.sqrt(2 / 400)), ("xavier", np.sqrt(1 / 400)), (0.01, 0.01)]
)
def test_initialisation_scale(init, std):
    net = MLP([400, 300, 2], init=init, dtype="float64", seed=0)
    assert net.params["W1"].std() == pytest.approx(std, rel=0.02)


def test_predict_accepts_one_sample_and_keeps_dtype():
    net = MLP([3, 4, 2], seed=0, dtype="float32")
    single = net.predict([0.1, 0.2, 0.3])
    batch = net.predict([[0.1, 0.2, 0.3]])
    assert single.shape == (2,) and batch.shape == (1, 2)
    assert single.dtype == np.float32
    assert_allclose(single, batch[0])
    assert_allclose(batch.sum(), 1, rtol=1e-6)


def test_predict_in_chunks_matches_one_pass(monkeypatch):
    from fastnn.network import inference

    X = np.random.default_rng(0).standard_normal((50, 3))
    net = MLP([3, 4, 2], seed=0, dtype="float64")
    whole = net.predict(X)
    monkeypatch.setattr(inference, "PREDICT_CHUNK", 7)
    assert_allclose(net.predict(X), whole, rtol=1e-12)


def test_deeper_network_trains():
    X, T = classification_data(200, 8)
    net = MLP([6, 16, 16, 16, 3], hidden=["relu", "tanh", "leaky_relu"], seed=0)
    history = net.fit(X, T, epochs=20, batch_size=1)
    assert history.loss[-1] < 0.8 * history.loss[0]


def test_warmup_runs_every_kind_of_fit():
    import fastnn

    assert fastnn.warmup(dtypes=("float64",), optimizers=("sgd",)) == 6
