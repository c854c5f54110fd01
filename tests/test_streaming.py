"""Per-event learning: MLP.learn_one/predict_one and progressive_val_score (docs/streaming.md)."""

import copy
import pickle
import threading

import numpy as np
import pytest
from conftest import ATOL, RTOL
from numpy.testing import assert_allclose, assert_array_equal

import fastnn
from fastnn import MLP, kernels, optimizers
from fastnn.errors import ConcurrentUseError, TrainingDivergedError
from fastnn.kernels import codes, reference


def data(rows=60, inputs=5, outputs=3, seed=0, zeros=True):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, inputs))
    if zeros:
        X[:, ::2] *= rng.random((rows, X[:, ::2].shape[1])) < 0.5  # zero inputs
    return X, rng.integers(0, outputs, rows)


def stream(net, X, T, **kwargs):
    for x, t in zip(X, T, strict=True):
        net.learn_one(x, t, **kwargs)


# ---------------------------------------------------------------- learn_one == fit


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop", "adagrad"])
@pytest.mark.parametrize("sizes", [[5, 16, 3], [5, 4, 3], [70, 6, 2]])
def test_learn_one_gives_the_weights_of_fit(optimizer, sizes, dtype):
    # [5, 16, 3] and [70, 6, 2] take the pipelined plain-SGD path, [5, 4, 3] the other.
    X, y = data(inputs=sizes[0], outputs=sizes[-1])
    fitted = MLP(sizes, seed=3, dtype=dtype, specialise=False)
    fitted.fit(X, y, optimizer=optimizers.get(optimizer), batch_size=1, shuffle=False)
    streamed = MLP(sizes, seed=3, dtype=dtype, specialise=False)
    streamed.optimizer_ = optimizers.get(optimizer)
    stream(streamed, X, y)
    assert_array_equal(streamed.theta, fitted.theta)
    assert_array_equal(streamed.optimizer_.state_, fitted.optimizer_.state_)
    assert streamed.optimizer_.step_[0] == fitted.optimizer_.step_[0] == len(X)


def test_learn_one_with_the_default_auto_equals_a_fit_of_few_rows():
    X, y = data()
    fitted = MLP([5, 8, 3], seed=1)
    fitted.fit(X, y, batch_size=1, shuffle=False)  # default optimizer: SGD(lr=0.01)
    streamed = MLP([5, 8, 3], seed=1)
    stream(streamed, X, y)
    assert_array_equal(streamed.theta, fitted.theta)
    assert isinstance(streamed.optimizer_, optimizers.SGD) and streamed.optimizer_.lr == 0.01


def test_learn_one_on_the_generated_loop_equals_fit_on_it():
    X, y = data(rows=40)
    opt = dict(lr=0.05)
    fitted = MLP([5, 16, 3], seed=2, specialise=True)
    fitted.fit(X, y, optimizer=optimizers.SGD(**opt), batch_size=1, shuffle=False)
    streamed = MLP([5, 16, 3], seed=2, specialise=True)
    stream(streamed, X, y, optimizer=optimizers.SGD(**opt))
    assert_array_equal(streamed.theta, fitted.theta)


@pytest.mark.parametrize(
    "kwargs", [dict(dropout=0.3), dict(backend="numpy"), dict(output="sigmoid", sizes=[5, 6, 1])]
)
def test_learn_one_equals_fit_on_the_epoch_paths(kwargs):
    kwargs = dict(kwargs)
    sizes = kwargs.pop("sizes", [5, 6, 3])
    X, y = data(outputs=sizes[-1] if sizes[-1] > 1 else 2)
    fitted = MLP(sizes, seed=4, specialise=False, **kwargs)
    fitted.fit(X, y[:, None] if sizes[-1] == 1 else y, optimizer=optimizers.Adam(), shuffle=False)
    streamed = MLP(sizes, seed=4, specialise=False, **kwargs)
    stream(streamed, X, y, optimizer=streamed.optimizer_ or optimizers.Adam())
    assert_array_equal(streamed.theta, fitted.theta)


def test_regression_targets_scalar_and_vector():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 4))
    T = rng.standard_normal((30, 2))
    fitted = MLP([4, 6, 2], output="identity", seed=0)
    fitted.fit(X, T, batch_size=1, shuffle=False)
    streamed = MLP([4, 6, 2], output="identity", seed=0)
    for x, t in zip(X, T, strict=True):
        streamed.learn_one(list(x), list(t))  # lists take the slow path, to the same result
    assert_array_equal(streamed.theta, fitted.theta)
    single = MLP([4, 3, 1], output="identity", seed=0)
    single_fit = MLP([4, 3, 1], output="identity", seed=0)
    single_fit.fit(X, T[:, 0], batch_size=1, shuffle=False)
    for x, t in zip(X, T[:, 0], strict=True):
        single.learn_one(x, float(t))
    assert_array_equal(single.theta, single_fit.theta)


def test_rows_of_any_float_dtype_and_stride_learn_the_same():
    X, y = data()
    reference_net = MLP([5, 8, 3], seed=1, dtype="float32")
    stream(reference_net, X.astype(np.float32), y)
    wide = np.zeros((len(X), 10))
    wide[:, ::2] = X  # strided rows
    other = MLP([5, 8, 3], seed=1, dtype="float32")
    for x, t in zip(wide, y, strict=True):
        other.learn_one(x[::2], np.int64(t))  # float64, not contiguous: cast in the kernel
    assert_array_equal(other.theta, reference_net.theta)


# ---------------------------------------------------------------- the optimizer's binding


def test_changed_hyper_parameters_are_seen_at_once():
    X, y = data(rows=40)
    opt = optimizers.Momentum(lr=0.05)
    streamed = MLP([5, 8, 3], seed=1, specialise=False)
    stream(streamed, X[:20], y[:20], optimizer=opt)
    opt.lr = 0.01  # an attribute set between events
    opt.momentum = 0.5
    stream(streamed, X[20:], y[20:])
    fitted = MLP([5, 8, 3], seed=1, specialise=False)
    fit_opt = optimizers.Momentum(lr=0.05)
    fitted.fit(X[:20], y[:20], optimizer=fit_opt, shuffle=False)
    fit_opt.lr, fit_opt.momentum = 0.01, 0.5
    fitted.fit(X[20:], y[20:], optimizer=fit_opt, shuffle=False)
    assert_array_equal(streamed.theta, fitted.theta)


def test_reset_and_a_new_optimizer_rebind():
    X, y = data(rows=20)
    net = MLP([5, 8, 3], seed=1)
    opt = optimizers.Adam()
    stream(net, X[:10], y[:10], optimizer=opt)
    opt.reset()  # new state and step arrays
    stream(net, X[10:], y[10:])
    assert opt.step_[0] == 10
    other = optimizers.SGD(lr=0.1)
    net.optimizer_ = other
    net.learn_one(X[0], y[0])
    assert other.step_[0] == 1 and opt.step_[0] == 10


def test_invalid_hyper_parameters_set_between_events_are_refused():
    X, y = data(rows=3)
    net = MLP([5, 8, 3], seed=1)
    opt = optimizers.SGD(lr=0.1)
    net.learn_one(X[0], y[0], optimizer=opt)
    opt.lr = -1.0
    with pytest.raises(ValueError, match="lr"):
        net.learn_one(X[1], y[1])
    opt.lr = np.array([0.1, 0.2])  # an array where a number belongs
    with pytest.raises((TypeError, ValueError), match="lr"):
        net.learn_one(X[1], y[1])


def test_an_optimizer_name_is_refused_by_learn_one():
    net = MLP([5, 8, 3], seed=1)
    with pytest.raises(TypeError, match="optimizer object"):
        net.learn_one(np.zeros(5), 1, optimizer="adam")


# ---------------------------------------------------------------- predictions


def test_predict_one_matches_predict(dtype):
    X, y = data(rows=20, inputs=7, outputs=4)
    net = MLP([7, 9, 5, 4], hidden=["tanh", "relu"], seed=2, dtype=dtype)
    stream(net, X, y)
    batch = net.predict(X)
    for row, expected in zip(X, batch, strict=True):
        assert_allclose(net.predict_one(row), expected, rtol=RTOL[dtype], atol=ATOL[dtype])
        assert_allclose(net.predict_proba_one(row), expected, rtol=RTOL[dtype], atol=ATOL[dtype])
    classes = [net.predict_class_one(row) for row in X]
    assert classes == list(net.predict_classes(X))
    assert all(type(c) is int for c in classes)


def test_predict_one_returns_a_new_array_each_call():
    net = MLP([3, 4, 2], seed=0)
    first = net.predict_one([1.0, 2.0, 3.0])
    second = net.predict_one([0.0, 0.0, 0.0])
    assert not np.shares_memory(first, second)
    assert_allclose(first, net.predict(np.array([[1.0, 2.0, 3.0]]))[0], rtol=1e-6)


def test_sigmoid_and_regression_classes():
    net = MLP([3, 4, 1], output="sigmoid", seed=0)
    x = np.array([0.5, -1.0, 2.0])
    assert net.predict_class_one(x) == int(net.predict(x[None])[0, 0] >= 0.5)
    labels = MLP([3, 4, 2], output="sigmoid", seed=0)
    assert_array_equal(labels.predict_class_one(x), labels.predict_classes(x[None])[0])
    regression = MLP([3, 4, 1], output="identity", seed=0)
    with pytest.raises(ValueError, match="classifier"):
        regression.predict_class_one(x)
    with pytest.raises(ValueError, match="classifier"):
        regression.predict_proba_one(x)


def test_non_finite_weights_show_in_predict_one():
    net = MLP([20, 4, 2], seed=0)
    net.params["W1"][3, :] = np.nan  # the weights of input 3, which is 0 below
    out = net.predict_one(np.zeros(20))
    assert np.all(np.isnan(out))


# ---------------------------------------------------------------- progressive validation


@pytest.mark.parametrize("specialise", [False, "auto"])
def test_progressive_val_score_is_the_loop_of_predict_one_and_learn_one(specialise):
    X, y = data(rows=80, outputs=3, seed=7)
    looped = MLP([5, 16, 3], seed=1, specialise=specialise)
    hits, losses = [], []
    for x, t in zip(X, y, strict=True):
        p = looped.predict_one(x)
        hits.append(int(np.argmax(p)) == t)
        losses.append(-np.log(p[t]))
        looped.learn_one(x, t)
    scored = MLP([5, 16, 3], seed=1, specialise=specialise)
    result = fastnn.progressive_val_score(scored, X, y, every=20)
    assert_array_equal(scored.theta, looped.theta)
    assert result.metric == "accuracy"
    assert result.value == pytest.approx(np.mean(hits), abs=1e-12)
    assert_array_equal(result.steps, [20, 40, 60, 80])
    assert_allclose(result.curve, [np.mean(hits[:n]) for n in (20, 40, 60, 80)])
    again = MLP([5, 16, 3], seed=1, specialise=specialise)
    entropy = fastnn.progressive_val_score(again, X, y, "cross_entropy")
    assert entropy.value == pytest.approx(np.mean(losses), rel=1e-5)
    # And the stream goes on from where it stopped.
    looped.learn_one(X[0], y[0])
    scored.learn_one(X[0], y[0])
    assert_array_equal(scored.theta, looped.theta)


def test_progressive_regression_metrics():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((50, 3))
    t = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(50)
    errors = []
    looped = MLP([3, 8, 1], output="identity", seed=0, dtype="float64")
    for x, target in zip(X, t, strict=True):
        errors.append(looped.predict_one(x)[0] - target)
        looped.learn_one(x, target)
    errors = np.array(errors)
    spread = np.sum((t - t.mean()) ** 2)
    expected = {
        "mae": np.mean(np.abs(errors)),
        "mse": np.mean(errors**2),
        "rmse": np.sqrt(np.mean(errors**2)),
        "r2": 1 - np.sum(errors**2) / spread,
    }
    for metric, value in expected.items():
        net = MLP([3, 8, 1], output="identity", seed=0, dtype="float64")
        result = fastnn.progressive_val_score(net, X, t, metric)
        assert result.value == pytest.approx(value, rel=1e-9), metric
        assert_array_equal(net.theta, looped.theta)
    assert fastnn.progressive_val_score(MLP([3, 2, 1], output="identity"), X, t).metric == "mae"


def test_progressive_val_score_refuses_unsuited_metrics():
    X, y = data(rows=10)
    with pytest.raises(ValueError, match="one of"):
        fastnn.progressive_val_score(MLP([5, 4, 3]), X, y, "auc")
    with pytest.raises(ValueError, match="regression"):
        fastnn.progressive_val_score(MLP([5, 4, 3]), X, y, "mae")
    with pytest.raises(ValueError, match="cross_entropy"):
        fastnn.progressive_val_score(MLP([5, 4, 3]), X, y, "log_loss")
    with pytest.raises(ValueError, match="every"):
        fastnn.progressive_val_score(MLP([5, 4, 3]), X, y, every=0)


def test_progressive_val_score_stops_at_a_non_finite_loss():
    X, y = data(rows=30)
    X *= 1e3
    net = MLP([5, 8, 3], seed=0, dtype="float32")
    with pytest.raises(TrainingDivergedError, match="row"):
        fastnn.progressive_val_score(net, X, y, optimizer=optimizers.SGD(lr=1e30))


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "x, error, words",
    [
        (np.zeros(4), ValueError, "4 values, the network takes 5"),
        ([0.0, np.nan, 0.0, 0.0, 0.0], ValueError, r"x\[1\] is nan"),
        ([0.0, 0.0, np.inf, 0.0, 0.0], ValueError, r"x\[2\] is inf"),
        (
            [0.0, 0.0, 0.0, 1e300, 0.0],
            ValueError,
            r"x\[3\] is 1e\+300, beyond the range of float32",
        ),
        ([0.0, "a", 0.0, 0.0, 0.0], TypeError, r"'a' at x\[1\]"),
        ("abcde", TypeError, "string"),
        ({"a": 1.0}, TypeError, "dict"),
        (np.zeros((2, 5)), ValueError, "one row"),
    ],
)
def test_bad_rows_are_named(x, error, words):
    net = MLP([5, 4, 3], seed=0)
    before = net.theta.copy()
    with pytest.raises(error, match=words):
        net.learn_one(x, 1)
    with pytest.raises(error, match=words):
        net.predict_one(x)
    assert_array_equal(net.theta, before)


@pytest.mark.parametrize(
    "output, y, error, words",
    [
        ("softmax", 3, ValueError, r"class label 3 is not one of the network's 3 classes 0\.\.2"),
        ("softmax", -1, ValueError, "class label -1"),
        ("softmax", 1.5, ValueError, "whole number"),
        ("softmax", True, TypeError, "boolean"),
        ("softmax", [0.5, 0.2, 0.2], ValueError, "sum"),
        ("softmax", [1, 0], ValueError, "3 target value"),
        ("softmax", "cat", TypeError, "string"),
        ("sigmoid", 1.5, ValueError, r"\[0, 1\]"),
        ("identity", np.nan, ValueError, "finite"),
        ("identity", [1.0, 2.0], ValueError, "1 target value"),
    ],
)
def test_bad_targets_are_named(output, y, error, words):
    net = MLP([5, 4, 3 if output == "softmax" else 1], output=output, seed=0)
    before = net.theta.copy()
    with pytest.raises(error, match=words):
        net.learn_one(np.ones(5), y)
    assert_array_equal(net.theta, before)


def test_a_non_finite_loss_is_refused_and_the_update_not_applied():
    net = MLP([2, 3, 2], seed=0, dtype="float32")
    opt = optimizers.SGD(lr=1e30)
    net.learn_one(np.array([1e10, 1e10]), 0, optimizer=opt)
    before = net.theta.copy()
    with pytest.raises(TrainingDivergedError, match="not applied"):
        for _ in range(20):
            before = net.theta.copy()
            net.learn_one(np.array([1e10, 1e10]), 1)
    assert_array_equal(net.theta, before)


def test_weights_edited_to_nan_are_refused_before_learning():
    net = MLP([3, 4, 2], seed=0)
    net.params["b1"][0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        net.learn_one(np.ones(3), 0)


def test_a_network_being_trained_elsewhere_is_refused():
    net = MLP([3, 4, 2], seed=0)
    guard = net.event_path().guard
    started, release = threading.Event(), threading.Event()

    def hold():
        guard.begin_training("test")
        started.set()
        release.wait(10)
        guard.end_training()

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait(10)
    try:
        with pytest.raises(ConcurrentUseError):
            net.learn_one(np.ones(3), 0)
        with pytest.raises(ConcurrentUseError):
            net.predict_one(np.ones(3))
    finally:
        release.set()
        thread.join()
    net.learn_one(np.ones(3), 0)  # and free again


def test_copies_and_pickles_go_on_learning_identically():
    X, y = data(rows=10)
    net = MLP([5, 8, 3], seed=0)
    stream(net, X[:5], y[:5], optimizer=optimizers.Adam())
    copies = [copy.deepcopy(net), pickle.loads(pickle.dumps(net))]
    stream(net, X[5:], y[5:])
    for other in copies:
        stream(other, X[5:], y[5:])
        assert_array_equal(other.theta, net.theta)


# ---------------------------------------------------------------- kernels vs their twins


def _work(layout, n_params, dtype):
    size = kernels.event_work_size(layout, n_params)
    assert size == reference.event_work_size(layout, n_params)
    return np.zeros(size, dtype=dtype)


@pytest.mark.parametrize(
    "opt_code, hyper", [(codes.SGD, {}), (codes.ADAM, {1: 0.9, 2: 0.999, 3: 1e-8})]
)
@pytest.mark.parametrize("sizes", [[3, 2], [6, 16, 2], [70, 5, 4]])
def test_learn_row_matches_reference(opt_code, hyper, sizes, dtype):
    net = MLP(sizes, seed=1, dtype=dtype)
    layout = net.layout.astype(np.uint64)
    rng = np.random.default_rng(0)
    results = {}
    for module in (kernels, reference):
        theta = net.theta.copy()
        state = np.zeros((codes.STATE_ROWS, net.n_params), dtype=dtype)
        vector = np.zeros(codes.HYPER_SIZE, dtype=dtype)
        vector[codes.LR] = 0.05
        for slot, value in hyper.items():
            vector[slot] = value
        step = np.zeros(1, dtype=np.int64)
        work = _work(net.layout, net.n_params, dtype)
        target = np.zeros(sizes[-1])
        rng = np.random.default_rng(0)
        statuses = []
        for _ in range(5):
            x = rng.standard_normal(sizes[0])
            label = int(rng.integers(0, sizes[-1]))
            statuses.append(
                module.learn_row(
                    x,
                    target,
                    label,
                    codes.SOFTMAX_CE,
                    opt_code,
                    layout,
                    theta,
                    state,
                    vector,
                    step,
                    work,
                )  # fmt: skip
            )
        results[module] = (theta, state, step, statuses, work[-1])
    got, want = results[kernels], results[reference]
    assert_allclose(got[0], want[0], rtol=RTOL[dtype], atol=ATOL[dtype])
    assert_allclose(got[1], want[1], rtol=RTOL[dtype], atol=ATOL[dtype])
    assert got[2][0] == want[2][0] == 5
    assert got[3] == want[3] == [codes.EVENT_OK] * 5
    assert got[4] == pytest.approx(want[4], rel=1e-4)


@pytest.mark.parametrize("loss_code", [codes.MSE, codes.SOFTMAX_CE, codes.SIGMOID_BCE])
@pytest.mark.parametrize("sizes", [[1, 2], [7, 3, 2], [9, 13, 5, 1]])
def test_predict_row_matches_reference(loss_code, sizes, dtype):
    if loss_code == codes.SOFTMAX_CE and sizes[-1] < 2:
        sizes = [*sizes[:-1], 2]
    net = MLP(
        sizes, seed=2, dtype=dtype, output={0: "identity", 1: "softmax", 2: "sigmoid"}[loss_code]
    )
    rng = np.random.default_rng(1)
    for x in (
        rng.standard_normal(sizes[0]),
        np.zeros(sizes[0]),
        rng.standard_normal(2 * sizes[0])[::2],
    ):
        outs = {}
        for module in (kernels, reference):
            acts = np.zeros(sum(sizes[1:]), dtype=dtype)
            out = np.full(sizes[-1], np.nan, dtype=dtype)
            status = module.predict_row(net.theta, net.layout, loss_code, x, acts, out)
            outs[module] = (status, out)
        assert outs[kernels][0] == outs[reference][0] == codes.EVENT_OK
        assert_allclose(outs[kernels][1], outs[reference][1], rtol=RTOL[dtype], atol=ATOL[dtype])


@pytest.mark.parametrize(
    "x, target, label, loss_code, status",
    [
        ([1.0, 2.0], [0.0, 0.0, 0.0], 1, codes.SOFTMAX_CE, codes.EVENT_ROW_WIDTH),
        ([1.0, np.nan, 3.0], [0.0, 0.0, 0.0], 1, codes.SOFTMAX_CE, codes.EVENT_ROW_NOT_FINITE),
        ([1.0, 1e300, 3.0], [0.0, 0.0, 0.0], 1, codes.SOFTMAX_CE, codes.EVENT_ROW_NOT_FINITE),
        ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 3, codes.SOFTMAX_CE, codes.EVENT_LABEL_RANGE),
        ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 1, codes.MSE, codes.EVENT_LABEL_RANGE),
        ([1.0, 2.0, 3.0], [0.0, 0.0], -1, codes.MSE, codes.EVENT_TARGET_WIDTH),
        ([1.0, 2.0, 3.0], [0.0, np.inf, 0.0], -1, codes.MSE, codes.EVENT_TARGET_NOT_FINITE),
        ([1.0, 2.0, 3.0], [0.0, 2.0, 0.0], -1, codes.SIGMOID_BCE, codes.EVENT_TARGET_RANGE),
        ([1.0, 2.0, 3.0], [0.5, 0.2, 0.2], -1, codes.SOFTMAX_CE, codes.EVENT_TARGET_RANGE),
        ([1.0, 2.0, 3.0], [0.5, 0.3, 0.2], -1, codes.SOFTMAX_CE, codes.EVENT_OK),
        ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 2, codes.SOFTMAX_CE, codes.EVENT_OK),
        ([1.0, 2.0, 3.0], [-4.0, 0.5, 9.0], -1, codes.MSE, codes.EVENT_OK),
    ],
)
def test_stage_event_matches_reference(x, target, label, loss_code, status):
    results = []
    for module in (kernels, reference):
        X = np.zeros((1, 3), dtype=np.float32)
        T = np.zeros((1, 3), dtype=np.float32)
        got = module.stage_event(
            np.array(x, dtype=np.float64), np.array(target), label, loss_code, X, T
        )
        results.append((got, X.copy(), T.copy()))
    assert results[0][0] == results[1][0] == status
    if status == codes.EVENT_OK:
        assert_array_equal(results[0][1], results[1][1])
        assert_array_equal(results[0][2], results[1][2])
        assert_array_equal(results[0][1][0], np.float32(x))
