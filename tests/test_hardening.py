"""No silent wrong result: non-finite values, the last update, shared models, odd arguments."""

import copy
import pickle
import threading

import numpy as np
import pytest

from fastnn import MLP, ConcurrentUseError, TrainingDivergedError, functions, kernels, optimizers
from fastnn.kernels import codes, reference

# ---------------------------------------------------------------- NaN propagates


def test_compiled_relu_keeps_nan_as_the_reference_does():
    u = np.array([[np.nan, -1.0, 0.0, 2.0, -np.inf, np.inf]])
    compiled, expected = np.empty_like(u), np.empty_like(u)
    kernels.activation_forward(codes.RELU, u, compiled)
    reference.activation_forward(codes.RELU, u, expected)
    np.testing.assert_array_equal(compiled, expected)  # NaN == NaN for this function
    assert np.isnan(compiled[0, 0])
    assert np.isnan(functions.relu(np.array([np.nan, 1.0]))[0])


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_predict_and_loss_with_nan_weights_give_nan_like_the_reference(backend):
    # Zero inputs are skipped by the compiled forward pass; a NaN weight in
    # their row must still make the output NaN, as 0 * NaN does in NumPy.
    net = MLP([3, 4, 2], seed=0, backend=backend)
    net.params["W1"][0, :] = np.nan  # the row of input 0, which is 0 below
    X = np.array([[0.0, 1.0, 2.0]])
    assert np.all(np.isnan(net.predict(X)))
    assert np.isnan(net.loss(X, [1]))


def test_mini_batch_fit_does_not_hide_nan_weights_behind_relu():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5))
    T = rng.integers(0, 3, 64)
    net = MLP([5, 8, 3], seed=0, dtype="float64")
    before = net.theta.copy()
    with pytest.raises(TrainingDivergedError):
        net.fit(X, T, optimizer=optimizers.SGD(lr=1e200), batch_size=8, epochs=3)
    np.testing.assert_array_equal(net.theta, before)


# ---------------------------------------------------------------- the last update


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_an_overflowing_last_update_is_divergence_not_a_result(batch_size):
    net = MLP([1, 1], output="identity", dtype="float64", seed=0)
    before = net.theta.copy()
    with pytest.raises(TrainingDivergedError, match="became NaN or inf") as caught:
        net.fit([[1e5]], [[0.0]], optimizer=optimizers.SGD(lr=1e300), batch_size=batch_size)
    assert caught.value.epoch == 1
    np.testing.assert_array_equal(net.theta, before)  # restored: save/load still work


def test_diverged_error_carries_epoch_step_and_loss():
    X = np.array([[1.0], [2.0], [3.0]])
    net = MLP([1, 1], output="identity", dtype="float64", seed=0)
    with pytest.raises(TrainingDivergedError) as caught:
        net.fit(X, X[:, 0] * 3, optimizer=optimizers.SGD(lr=10.0), epochs=200, shuffle=False)
    error = caught.value
    assert error.epoch >= 1 and error.step >= 1
    assert error.loss is not None


def test_fit_refuses_weights_made_non_finite_by_hand():
    net = MLP([2, 3, 2], seed=0)
    net.params["b1"][0] = np.inf
    with pytest.raises(ValueError, match="weights contain NaN or inf"):
        net.fit(np.ones((4, 2)), [0, 1, 0, 1])


# ---------------------------------------------------------------- what the kernels rely on


def test_the_layout_and_widths_cannot_be_changed_from_outside():
    net = MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match="read-only"):
        net.layout[0, codes.FAN_OUT] = 400
    with pytest.raises(AttributeError):
        net.sizes = [3, 400, 2]
    with pytest.raises(AttributeError):
        net.dtype = np.float64
    net.sizes.append(7)  # a copy: the network is unchanged
    assert net.sizes == [3, 4, 2]
    net.fit(np.ones((4, 3)), [0, 1, 0, 1])


def test_backend_and_specialise_are_checked_when_set():
    net = MLP([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match="backend must be"):
        net.backend = "jax"
    with pytest.raises(ValueError, match="specialise must be"):
        net.specialise = "yes"
    net.backend = "numpy"
    assert net.backend == "numpy"


# ---------------------------------------------------------------- threads


def _train_in_background(net, started, release):
    X = np.random.default_rng(0).random((2000, 3))
    T = np.arange(2000) % 2

    class Gate:
        # A progress bar stand-in: the fit pauses inside its first epoch until released.
        def __init__(self, *args, **kwargs):
            pass

        def update(self, n):
            started.set()
            release.wait(10)

        def set_postfix(self, **kwargs):
            pass

        def close(self):
            pass

    from fastnn.training import fitting as fit_module

    original = fit_module.progress_bar
    fit_module.progress_bar = lambda *args: Gate()
    try:
        net.fit(X, T, progress=True)
    finally:
        fit_module.progress_bar = original


def test_using_a_network_while_another_thread_trains_it_is_a_clear_error():
    net = MLP([3, 4, 2], seed=0)
    started, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=_train_in_background, args=(net, started, release))
    thread.start()
    try:
        assert started.wait(10)
        with pytest.raises(ConcurrentUseError, match="another thread is training"):
            net.predict(np.ones((1, 3)))
        with pytest.raises(ConcurrentUseError, match="already being trained by another"):
            net.fit(np.ones((2, 3)), [0, 1])
        with pytest.raises(ConcurrentUseError):
            net.save("never-written.npz")
    finally:
        release.set()
        thread.join()
    net.predict(np.ones((1, 3)))  # free again once the fit returned


def test_threads_may_predict_at_once_and_copies_train_independently():
    net = MLP([3, 4, 2], seed=0)
    X = np.random.default_rng(1).random((500, 3))
    expected = net.predict(X)
    results = []

    def predict():
        results.append(net.predict(X))

    threads = [threading.Thread(target=predict) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)
    twin = copy.deepcopy(net)
    twin.fit(X, np.arange(500) % 2)
    np.testing.assert_array_equal(net.predict(X), expected)
    assert isinstance(pickle.loads(pickle.dumps(twin)), MLP)


# ---------------------------------------------------------------- smaller ones (item 13)


@pytest.mark.parametrize(
    "h, error",
    [(0, ValueError), (-1e-4, ValueError), (float("nan"), ValueError), ("1e-4", TypeError)],
)
def test_numerical_gradient_step_must_be_positive_and_finite(h, error):
    net = MLP([2, 2], seed=0)
    with pytest.raises(error, match="h must be a positive"):
        net.numerical_gradient(np.ones((1, 2)), [1], h=h)


def test_a_value_beyond_float32_is_named_as_such():
    net = MLP([2, 2], seed=0, dtype="float32")
    with pytest.raises(ValueError, match=r"X\[0, 1\] is 1e\+300, beyond the range of float32"):
        net.predict(np.array([[1.0, 1e300]]))


def test_negative_seed_is_named():
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        MLP([2, 2], seed=-1)


def test_dtype_none_is_refused_rather_than_meaning_float64():
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64', got None"):
        MLP([2, 2], dtype=None)


def test_boolean_labels_are_refused_for_softmax():
    net = MLP([2, 2], seed=0)
    with pytest.raises(TypeError, match="boolean labels are ambiguous"):
        net.fit(np.ones((2, 2)), np.array([True, False]))


@pytest.mark.parametrize(
    "targets, match",
    [([[1.0, 0.0], [-1.0, 2.0]], "must be >= 0"), ([[1.0, 1.0], [0.0, 1.0]], "must sum to 1")],
)
def test_softmax_targets_must_be_distributions(targets, match):
    net = MLP([2, 2], seed=0)
    with pytest.raises(ValueError, match=match):
        net.fit(np.ones((2, 2)), np.array(targets))


def test_soft_labels_that_sum_to_one_are_accepted():
    net = MLP([2, 3], seed=0)
    net.fit(np.ones((2, 2)), np.array([[0.1, 0.8, 0.1], [1 / 3, 1 / 3, 1 / 3]]))
