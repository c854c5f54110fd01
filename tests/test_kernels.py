"""Every compiled kernel against its plain-NumPy twin in kernels/reference.py."""

import numpy as np
import pytest
from conftest import ATOL, RTOL, one_hot
from numpy.testing import assert_allclose

from fastnn import kernels
from fastnn.kernels import codes, reference
from fastnn.kernels.bundles import Group, Member

SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 4), (3, 4, 1), (17, 13, 9), (64, 300, 40)]
ACTIVATIONS = list(codes.ACTIVATION_CODES.values())
LOSSES = [codes.MSE, codes.SOFTMAX_CE, codes.SIGMOID_BCE]


def close(actual, desired, dtype):
    assert_allclose(actual, desired, rtol=RTOL[dtype], atol=ATOL[dtype])


def test_every_kernel_has_a_reference_twin():
    for name in kernels.KERNEL_NAMES:
        assert callable(getattr(kernels, name)), name
        assert callable(getattr(reference, name)), name


@pytest.mark.parametrize("batch, fan_in, fan_out", SHAPES)
def test_dense(batch, fan_in, fan_out, dtype, rng):
    x = rng.standard_normal((batch, fan_in)).astype(dtype)
    x[:, ::3] = 0  # zero inputs take the skipping path
    W = rng.standard_normal((fan_in, fan_out)).astype(dtype)
    b = rng.standard_normal(fan_out).astype(dtype)
    delta = rng.standard_normal((batch, fan_out)).astype(dtype)
    out = {}
    for module in (kernels, reference):
        u = np.full((batch, fan_out), np.nan, dtype=dtype)
        dW = np.full((fan_in, fan_out), np.nan, dtype=dtype)
        db = np.full(fan_out, np.nan, dtype=dtype)
        dx = np.full((batch, fan_in), np.nan, dtype=dtype)
        module.dense_forward(x, W, b, u)
        module.dense_backward_params(x, delta, dW, db)
        module.dense_backward_input(delta, W, dx)
        out[module] = (u, dW, db, dx)
    for got, want in zip(out[kernels], out[reference], strict=True):
        close(got, want, dtype)
    close(out[reference][0], x @ W + b, dtype)


def test_dense_all_zero_input(dtype):
    x = np.zeros((3, 5), dtype=dtype)
    W = np.ones((5, 2), dtype=dtype)
    b = np.array([1.5, -2.0], dtype=dtype)
    u = np.empty((3, 2), dtype=dtype)
    kernels.dense_forward(x, W, b, u)
    assert_allclose(u, np.tile(b, (3, 1)))


@pytest.mark.parametrize("code", ACTIVATIONS, ids=list(codes.ACTIVATION_CODES))
@pytest.mark.parametrize("shape", [(1, 1), (4, 7), (33, 65)])
def test_activations(code, shape, dtype, rng):
    u = (rng.standard_normal(shape) * 3).astype(dtype)
    u.flat[0] = 0.0
    if u.size > 2:
        u.flat[1], u.flat[2] = 1000.0, -1000.0
    results = {}
    for module in (kernels, reference):
        a = np.empty_like(u)
        d = np.empty_like(u)
        delta = np.ones_like(u) * 0.5
        module.activation_forward(code, u, a)
        module.activation_derivative(code, a, d)
        module.activation_backward(code, a, delta)
        results[module] = (a, d, delta)
    for got, want in zip(results[kernels], results[reference], strict=True):
        close(got, want, dtype)
    assert np.all(np.isfinite(results[kernels][0]))


def test_activation_values():
    u = np.array([[-2.0, 0.0, 3.0]])
    a = np.empty_like(u)
    kernels.activation_forward(codes.RELU, u, a)
    assert_allclose(a, [[0, 0, 3]])
    kernels.activation_forward(codes.STEP, u, a)
    assert_allclose(a, [[0, 0, 1]])
    kernels.activation_forward(codes.LEAKY_RELU, u, a)
    assert_allclose(a, [[-0.02, 0, 3]])
    kernels.activation_forward(codes.SIGMOID, u, a)
    assert_allclose(a, 1 / (1 + np.exp(-u)))
    d = np.empty_like(u)
    kernels.activation_derivative(codes.RELU, np.array([[0.0, 0.0, 3.0]]), d)
    assert_allclose(d, [[0, 0, 1]])  # ReLU'(0) = 0


@pytest.mark.parametrize("shape", [(1, 2), (5, 10), (3, 1)])
def test_softmax(shape, dtype, rng):
    z = (rng.standard_normal(shape) * 5).astype(dtype)
    z[0, 0] = 1000.0
    got, want = np.empty_like(z), np.empty_like(z)
    kernels.softmax(z, got)
    reference.softmax(z, want)
    close(got, want, dtype)
    assert_allclose(got.sum(axis=1), 1, rtol=1e-5)


LOSS_SHAPES = [
    (loss_code, batch, outputs)
    for loss_code in LOSSES
    for batch, outputs in [(1, 1), (1, 10), (7, 3), (50, 10)]
    if not (loss_code == codes.SOFTMAX_CE and outputs == 1)  # softmax needs two outputs
]


@pytest.mark.parametrize("loss_code, batch, outputs", LOSS_SHAPES)
def test_losses(loss_code, batch, outputs, dtype, rng):
    z = (rng.standard_normal((batch, outputs)) * 4).astype(dtype)
    z[0, 0] = 1000.0
    if outputs > 1:
        z[0, 1] = -1000.0
    if loss_code == codes.SOFTMAX_CE:
        t = one_hot(rng.integers(0, outputs, batch), outputs, dtype)
    elif loss_code == codes.SIGMOID_BCE:
        t = (rng.random((batch, outputs)) > 0.5).astype(dtype)
    else:
        t = rng.standard_normal((batch, outputs)).astype(dtype)
    results = {}
    for module in (kernels, reference):
        y = np.empty_like(z)
        delta = np.empty_like(z)
        loss = module.loss_and_delta(loss_code, z, t, y, delta)
        y2 = np.empty_like(z)
        module.output_activation(loss_code, z, y2)
        results[module] = (
            loss,
            module.loss_value(loss_code, z, t),
            y,
            delta,
            y2,
            module.count_correct(loss_code, y, t),
        )
    for got, want in zip(results[kernels], results[reference], strict=True):
        # float32 y - t cancels near 1: one ulp of 1.0 is the absolute scale.
        assert_allclose(
            got,
            want,
            rtol=1e-5 if dtype == np.float32 else 1e-11,
            atol=1e-7 if dtype == np.float32 else 1e-13,
        )
    assert np.isfinite(results[kernels][0])


def test_loss_values_match_the_textbook():
    # Moderate logits, where the course's formulas with +1e-7 are accurate.
    z = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, 0.3]])
    t = one_hot([2, 0], 3)
    y = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert kernels.loss_value(codes.SOFTMAX_CE, z, t) == pytest.approx(-np.sum(t * np.log(y)) / 2)
    assert kernels.loss_value(codes.MSE, z, t) == pytest.approx(0.5 * np.sum((z - t) ** 2) / 2)
    p = 1 / (1 + np.exp(-z))
    assert kernels.loss_value(codes.SIGMOID_BCE, z, t) == pytest.approx(
        -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)) / 2
    )


def _network(rng, sizes, hidden, dtype):
    rows, offset, units = [], 0, 0
    for fan_in, fan_out, code in zip(sizes[:-1], sizes[1:], hidden + [0], strict=True):
        rows.append([fan_in, fan_out, offset, offset + fan_in * fan_out, code, units])
        offset += fan_in * fan_out + fan_out
        units += fan_out
    layout = np.array(rows, dtype=np.int64)
    theta = (rng.standard_normal(offset) * 0.5).astype(dtype)
    return theta, layout, units


NETWORKS = [
    ([2, 10, 1], [codes.RELU]),
    ([5, 1, 3], [codes.TANH]),
    ([30, 20, 16, 4], [codes.SIGMOID, codes.LEAKY_RELU]),
    ([64, 40, 10], [codes.RELU]),
    ([4, 3, 1, 2], [codes.RELU, codes.SIGMOID]),
    ([70, 5, 3], [codes.TANH]),  # wide input, narrow first layer: pipelined
]


@pytest.mark.parametrize("sizes, hidden", NETWORKS)
@pytest.mark.parametrize("loss_code", LOSSES, ids=["mse", "softmax_ce", "sigmoid_bce"])
@pytest.mark.parametrize("batch", [1, 6, 50])
def test_network_forward_and_gradient(sizes, hidden, loss_code, batch, dtype, rng):
    theta, layout, units = _network(rng, sizes, hidden, dtype)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    t = rng.random((batch, sizes[-1])).astype(dtype)
    results = {}
    for module in (kernels, reference):
        acts = np.zeros(batch * units, dtype=dtype)
        deltas = np.zeros(batch * units, dtype=dtype)
        y = np.zeros((batch, sizes[-1]), dtype=dtype)
        out = np.zeros((batch, sizes[-1]), dtype=dtype)
        grad = np.zeros_like(theta)
        module.predict(theta, layout, loss_code, x, acts, out)
        loss = module.gradient(theta, layout, loss_code, x, t, acts, deltas, y, grad)
        results[module] = (out, loss, y, grad)
    for got, want in zip(results[kernels], results[reference], strict=True):
        assert_allclose(
            got,
            want,
            rtol=1e-4 if dtype == np.float32 else 1e-10,
            atol=1e-6 if dtype == np.float32 else 1e-12,
        )


def _member(theta, sizes, units, batch_size, order, hyper):
    """A Member of fresh float64 arrays for an epoch in ``order`` (plain SGD, no dropout)."""
    layers = len(sizes) - 1
    n_steps = len(order) if batch_size == 1 else -(-len(order) // batch_size)
    return Member(
        theta=theta,
        dropout=np.zeros(layers),
        dropout_key=np.zeros(1, np.uint64),
        state=np.zeros((codes.STATE_ROWS, theta.size)),
        hyper=hyper,
        step=np.zeros(1, np.int64),
        order=order,
        grad=np.zeros_like(theta),
        acts=np.zeros(batch_size * units),
        deltas=np.zeros(batch_size * units),
        y=np.zeros((batch_size, sizes[-1])),
        x=np.zeros((batch_size, sizes[0])),
        t=np.zeros((batch_size, sizes[-1])),
        losses=np.zeros(n_steps),
        correct=np.zeros(n_steps),
    )


@pytest.mark.parametrize("sizes, hidden", NETWORKS)
@pytest.mark.parametrize("loss_code", LOSSES, ids=["mse", "softmax_ce", "sigmoid_bce"])
@pytest.mark.parametrize("batch_size", [1, 7, 40])
def test_train_epoch_kernels(sizes, hidden, loss_code, batch_size, rng):
    dtype = np.float64
    theta0, layout, units = _network(rng, sizes, hidden, dtype)
    theta0 *= 0.5
    n = 40
    X = rng.standard_normal((n, sizes[0]))
    X[X < 0] = 0  # zero inputs take the skipping path
    T = rng.random((n, sizes[-1]))
    order = rng.permutation(n)
    hyper = np.zeros(codes.HYPER_SIZE)
    hyper[codes.LR] = 0.05
    results = {}
    for module in (kernels, reference):
        group = Group(layout, loss_code, codes.SGD, batch_size, X, T)
        member = _member(theta0.copy(), sizes, units, batch_size, order, hyper)
        train = module.train_epoch_sample if batch_size == 1 else module.train_epoch_batch
        done = train(group, member)
        theta, step, losses, correct = member.theta, member.step, member.losses, member.correct
        results[module] = (done, step[0], theta, losses, correct)
    for got, want in zip(results[kernels], results[reference], strict=True):
        assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert not np.allclose(results[kernels][2], theta0)  # training changed something


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_train_epoch_stops_at_first_non_finite_loss():
    rng = np.random.default_rng(0)
    theta, layout, units = _network(rng, [3, 4, 2], [codes.RELU], np.float64)
    X = rng.standard_normal((10, 3))
    X[6, 1] = np.inf
    T = rng.random((10, 2))
    hyper = np.zeros(codes.HYPER_SIZE)
    hyper[codes.LR] = 0.01
    for module in (kernels, reference):
        group = Group(layout, codes.MSE, codes.SGD, 1, X, T)
        member = _member(theta.copy(), [3, 4, 2], units, 1, np.arange(10), hyper)
        done = module.train_epoch_sample(group, member)
        losses = member.losses
        assert done == 6
        assert np.all(np.isfinite(losses[:6])) and not np.isfinite(losses[6])


@pytest.mark.parametrize("bad", [None, np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, 7, 59])
def test_first_non_finite(bad, where, dtype):
    values = np.arange(60, dtype=dtype).reshape(6, 10)
    if bad is not None:
        values.flat[where] = bad
        values.flat[-1] = np.nan  # only the first one counts
    got = kernels.first_non_finite(values)
    assert got == reference.first_non_finite(values)
    assert got == (-1 if bad is None else where)
