"""Bad input gets a clear error that names the argument; divergence keeps finite weights."""

import numpy as np
import pytest

from fastnn import MLP, TrainingDivergedError, optimizers


@pytest.fixture
def net():
    return MLP([3, 4, 2], seed=0)


X = np.ones((5, 3))
LABELS = np.array([0, 1, 0, 1, 1])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"sizes": [3]}, ValueError, "sizes needs at least 2"),
        ({"sizes": [3, 0, 2]}, ValueError, r"sizes\[1\] must be >= 1, got 0"),
        ({"sizes": [3, -4, 2]}, ValueError, r"sizes\[1\] must be >= 1"),
        ({"sizes": [3, 2.5, 2]}, TypeError, r"sizes\[1\] must be an integer"),
        ({"sizes": 5}, TypeError, "sizes must be a sequence"),
        ({"sizes": "784,10"}, TypeError, "sizes must be a list of layer widths .* the string"),
        ({"hidden": "swish"}, ValueError, "hidden: unknown activation 'swish'"),
        ({"hidden": ["relu", "relu"]}, ValueError, "hidden has 2 names"),
        ({"output": "tanh"}, ValueError, "output must be one of"),
        ({"init": "glorot"}, ValueError, "init must be 'he', 'xavier'"),
        ({"init": -0.1}, ValueError, "init as a std must be a positive"),
        ({"dtype": "float16"}, ValueError, "dtype must be 'float32' or 'float64'"),
        ({"dtype": "double-ish"}, ValueError, "dtype must be"),
        ({"backend": "torch"}, ValueError, "backend must be 'numba' or 'numpy'"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"sizes": [3, 4, 1], "output": "softmax"}, ValueError, "at least 2 output units"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, match):
    arguments = {"sizes": [3, 4, 2]} | kwargs
    with pytest.raises(error, match=match):
        MLP(**arguments)


def test_rows_of_inputs_and_targets_differ(net):
    with pytest.raises(ValueError, match="T has 4 rows, X has 5"):
        net.fit(X, LABELS[:4])


def test_wrong_feature_count(net):
    message = r"X has 2 columns \(shape \(5, 2\)\), the network needs 3"
    with pytest.raises(ValueError, match=message):
        net.predict(np.ones((5, 2)))


def test_wrong_target_width(net):
    with pytest.raises(ValueError, match="T has 3 columns"):
        net.fit(X, np.ones((5, 3)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs(net, bad):
    Xb = X.copy()
    Xb[2, 1] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at row 2, column 1\)"):
        net.fit(Xb, LABELS)
    T = np.eye(2)[LABELS]
    T[3, 0] = bad
    with pytest.raises(ValueError, match="T contains NaN or inf"):
        net.fit(X, T)


def test_labels_out_of_range(net):
    with pytest.raises(ValueError, match=r"class labels must be in \[0, 1\] for 2 outputs"):
        net.fit(X, [0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="class labels must be in"):
        net.fit(X, [0, -1, 1, 0, 1])
    with pytest.raises(ValueError, match="whole numbers"):
        net.fit(X, [0, 0.5, 1, 0, 1])


def test_sigmoid_targets_outside_unit_interval():
    net = MLP([3, 2, 1], output="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        net.fit(X, [0, 1, 2, 0, 1])


def test_text_data(net):
    with pytest.raises(TypeError, match="X must hold real numbers"):
        net.predict(np.array([["a", "b", "c"]]))


def test_empty_data(net):
    with pytest.raises(ValueError, match="X has no samples"):
        net.predict(np.zeros((0, 3)))


@pytest.mark.parametrize("lr", [0, -0.1])
def test_non_positive_learning_rate(lr):
    with pytest.raises(ValueError, match=f"lr must be > 0.0, got {float(lr)!r}"):
        optimizers.SGD(lr=lr)


def test_unknown_optimizer(net):
    with pytest.raises(ValueError, match="optimizer: unknown name 'adamax'"):
        net.fit(X, LABELS, optimizer="adamax")


@pytest.mark.parametrize("epochs, error", [(0, ValueError), (-3, ValueError), (1.5, TypeError)])
def test_bad_epochs(net, epochs, error):
    with pytest.raises(error, match="epochs must be"):
        net.fit(X, LABELS, epochs=epochs)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), ("10", TypeError)])
def test_bad_batch_size(net, batch_size, error):
    with pytest.raises(error, match="batch_size must be"):
        net.fit(X, LABELS, batch_size=batch_size)


def test_bad_validation_data(net):
    with pytest.raises(TypeError, match="validation_data must be a tuple"):
        net.fit(X, LABELS, validation_data=X)
    with pytest.raises(ValueError, match=r"validation_data\[0\] has 2 columns"):
        net.fit(X, LABELS, validation_data=(np.ones((2, 2)), [0, 1]))


def test_optimizer_state_from_another_network(net):
    opt = optimizers.SGD(lr=0.1, momentum=0.9)
    MLP([3, 5, 2], seed=0).fit(X, LABELS, optimizer=opt)
    message = "optimizer: its state was made for a network with 32 parameters, this one has 26"
    with pytest.raises(ValueError, match=message):
        net.fit(X, LABELS, optimizer=opt)


# The NumPy reference overflows on the way to the non-finite loss, as it should.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_divergence_stops_with_epoch_and_keeps_last_finite_weights(backend, batch_size):
    rng = np.random.default_rng(0)
    Xr = rng.random((64, 2)) * 10
    y = 3 * Xr[:, 0] + 2 * Xr[:, 1]
    net = MLP([2, 10, 1], output="identity", dtype="float64", seed=0, backend=backend)
    with pytest.raises(
        TrainingDivergedError,
        match=r"at epoch \d+, step \d+; the weights are "
        r"those at the end of epoch \d+. Try a smaller learning rate than lr=1000",
    ):
        net.fit(Xr, y, optimizer=optimizers.SGD(lr=1000.0), epochs=50, batch_size=batch_size)
    assert np.all(np.isfinite(net.theta))
    # Epoch by epoch: the failing epoch leaves the weights exactly as it found them.
    net = MLP([2, 10, 1], output="identity", dtype="float64", seed=0, backend=backend)
    opt = optimizers.SGD(lr=1000.0)
    for _ in range(50):
        before = net.theta.copy()
        try:
            net.fit(Xr, y, optimizer=opt, epochs=1, batch_size=batch_size)
        except TrainingDivergedError as error:
            assert "at epoch 1," in str(error)
            assert np.array_equal(net.theta, before)
            break
    else:
        pytest.fail("lr=1000 never diverged")
