"""The sample-weighted kernels (scikit-learn's training) against their NumPy twins.

kernels/weighted.py and kernels/weighted_sample.py against kernels/reference.py,
plus the full-batch gradient against central differences of the loss (what
scikit-learn's own test_gradient checks through a private function).
"""

import numpy as np
import pytest
from conftest import ATOL, RTOL
from numpy.testing import assert_allclose

from fastnn import MLP
from fastnn.kernels import codes, reference, weighted, weighted_sample
from fastnn.kernels.bundles import Group
from fastnn.network import Architecture
from fastnn.training.engine import allocate_member

LOSSES = {
    "squared_error": (codes.MSE, "identity"),
    "log_loss": (codes.SOFTMAX_CE, "softmax"),
    "binary_log_loss": (codes.SIGMOID_BCE, "sigmoid"),
    "poisson": (codes.EXP_POISSON, "identity"),
}
# Optimizers with the hyper-parameters set in their slots.
OPTIMIZERS = {
    "sgd": (codes.SKLEARN_SGD, {codes.LR: 0.05, codes.SGD_MOMENTUM: 0.9, codes.SGD_NESTEROV: 1}),
    "sgd-plain-momentum": (codes.SKLEARN_SGD, {codes.LR: 0.05, codes.SGD_MOMENTUM: 0.5}),
    "sgd-no-momentum": (codes.SKLEARN_SGD, {codes.LR: 0.05}),
    "adam": (
        codes.SKLEARN_ADAM,
        {codes.LR: 0.01, codes.ADAM_BETA1: 0.9, codes.ADAM_BETA2: 0.999, codes.ADAM_EPS: 1e-8},
    ),
    "rmsprop": (
        codes.RMSPROP,
        {codes.LR: 0.01, codes.RMSPROP_ALPHA: 0.99, codes.RMSPROP_EPS: 1e-8},
    ),
}


def close(actual, desired, dtype, scale=1):
    assert_allclose(actual, desired, rtol=RTOL[dtype] * scale, atol=ATOL[dtype] * scale)


def test_every_weighted_kernel_has_a_reference_twin():
    for module in (weighted, weighted_sample):
        for name in module.__all__:
            assert callable(getattr(module, name)), name
            assert callable(getattr(reference, name)), name


def targets(loss_code, rng, rows, outputs, dtype):
    if loss_code == codes.SOFTMAX_CE:
        return np.eye(outputs, dtype=dtype)[rng.integers(0, outputs, rows)]
    if loss_code == codes.SIGMOID_BCE:
        return (rng.random((rows, outputs)) < 0.4).astype(dtype)
    if loss_code == codes.EXP_POISSON:
        return rng.poisson(2.0, (rows, outputs)).astype(dtype)
    return rng.standard_normal((rows, outputs)).astype(dtype)


@pytest.mark.parametrize("loss", LOSSES)
def test_output_loss_delta(loss, dtype, rng):
    loss_code = LOSSES[loss][0]
    z = (rng.standard_normal((7, 3)) * 3).astype(dtype)
    z[0, :] = [40.0, -40.0, 0.0]  # probabilities clipped at eps
    t = targets(loss_code, rng, 7, 3, dtype)
    w = rng.random(7).astype(dtype)
    eps = float(np.finfo(dtype).eps)
    got = {}
    for module in (weighted, reference):
        y = np.empty_like(z)
        delta = np.empty_like(z)
        total = module.output_loss_delta(loss_code, z, t, w, 0.25, eps, y, delta)
        got[module] = (total, y, delta)
    close(got[weighted][0], got[reference][0], dtype)
    close(got[weighted][1], got[reference][1], dtype)
    close(got[weighted][2], got[reference][2], dtype)


def test_loss_values_are_scikit_learns():
    # The row losses scikit-learn's sklearn/neural_network/_base.py defines.
    y = np.array([[0.2, 0.7, 0.1]])
    t = np.array([[0.0, 1.0, 0.0]])
    z = np.log(y)  # softmax(log y) = y
    out, delta = np.empty_like(z), np.empty_like(z)
    w = np.ones(1)
    eps = np.finfo(np.float64).eps
    log_loss = weighted.output_loss_delta(codes.SOFTMAX_CE, z, t, w, 1.0, eps, out, delta)
    assert_allclose(log_loss, -np.log(0.7))
    mse = weighted.output_loss_delta(codes.MSE, y, t, w, 1.0, eps, out, delta)
    assert_allclose(mse, 0.5 * np.mean((y - t) ** 2))
    counts = np.array([[0.0, 3.0, 1.0]])
    poisson = weighted.output_loss_delta(codes.EXP_POISSON, z, counts, w, 1.0, eps, out, delta)
    log_ratio = [0.0, 3.0 * np.log(3.0 / 0.7), 1.0 * np.log(1.0 / 0.1)]
    assert_allclose(poisson, np.sum(log_ratio - counts + y))
    assert_allclose(delta, y - counts)


def network(sizes, output, dtype, seed=0, hidden="tanh"):
    net = MLP(sizes, hidden=hidden, output=output, dtype=dtype, seed=seed)
    return net, np.array(net.layout)


def test_penalty_kernels(dtype, rng):
    net, layout = network([5, 4, 3], "softmax", dtype)
    grad = rng.standard_normal(net.n_params).astype(dtype)
    got = {}
    for module in (weighted, reference):
        g = grad.copy()
        module.add_weight_penalty(net.theta, layout, 0.3, g)
        got[module] = (module.weight_sumsq(net.theta, layout), g)
    close(got[weighted][0], got[reference][0], dtype)
    close(got[weighted][1], got[reference][1], dtype)
    weights = np.concatenate([net.params["W1"].ravel(), net.params["W2"].ravel()])
    close(got[weighted][0], np.sum(weights.astype(np.float64) ** 2), dtype)
    bias = net.params["b1"]
    offset = int(layout[0, codes.B_OFFSET])
    close(got[weighted][1][offset : offset + len(bias)], grad[offset : offset + len(bias)], dtype)


def full_loss(module, net, layout, loss_code, X, T, w, alpha, grad):
    scale = 1.0 / w.sum()
    units = int(layout[:, codes.FAN_OUT].sum())
    acts = np.empty(X.shape[0] * units, dtype=net.dtype)
    deltas = np.empty_like(acts)
    y = np.empty(T.shape, dtype=net.dtype)
    eps = float(np.finfo(net.dtype).eps)
    total = module.weighted_gradient(
        net.theta, layout, loss_code, X, T, w, scale, eps, acts, deltas, y, grad
    )
    module.add_weight_penalty(net.theta, layout, alpha * scale, grad)
    return total * scale + 0.5 * alpha * module.weight_sumsq(net.theta, layout) * scale


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("hidden", ["identity", "logistic", "tanh", "relu"])
def test_weighted_gradient_is_the_gradient_of_the_loss(loss, hidden, rng):
    loss_code, output = LOSSES[loss]
    names = {"logistic": "sigmoid"}
    net, layout = network([4, 5, 3], output, np.float64, hidden=names.get(hidden, hidden))
    X = rng.random((6, 4))
    T = targets(loss_code, rng, 6, 3, np.float64)
    w = rng.random(6) + 0.5
    alpha = 0.1
    grads = {}
    for module in (weighted, reference):
        grads[module] = np.empty(net.n_params)
        full_loss(module, net, layout, loss_code, X, T, w, alpha, grads[module])
    assert_allclose(grads[weighted], grads[reference], rtol=1e-10, atol=1e-12)
    # Central differences. The softmax loss is compared where no probability is
    # clipped (scikit-learn's loss is flat there, its gradient is not).
    numeric = np.empty(net.n_params)
    scratch = np.empty(net.n_params)
    for k in range(net.n_params):
        saved = net.theta[k]
        net.theta[k] = saved + 1e-6
        up = full_loss(weighted, net, layout, loss_code, X, T, w, alpha, scratch)
        net.theta[k] = saved - 1e-6
        down = full_loss(weighted, net, layout, loss_code, X, T, w, alpha, scratch)
        net.theta[k] = saved
        numeric[k] = (up - down) / 2e-6
    if loss_code == codes.MSE:
        # scikit-learn's squared loss averages over the outputs, its gradient
        # does not: the data term's gradient is n_outputs times the loss's.
        penalty = np.zeros(net.n_params)
        weighted.add_weight_penalty(net.theta, layout, alpha / w.sum(), penalty)
        numeric = (numeric - penalty) * 3 + penalty
    assert_allclose(grads[weighted], numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_steps(name, dtype, rng):
    code, slots = OPTIMIZERS[name]
    hyper = np.zeros(codes.HYPER_SIZE, dtype=dtype)
    for slot, value in slots.items():
        hyper[slot] = value
    theta0 = rng.standard_normal(9).astype(dtype)
    got = {}
    for module in (weighted, reference):
        theta = theta0.copy()
        state = np.zeros((codes.STATE_ROWS, 9), dtype=dtype)
        step = np.zeros(1, dtype=np.int64)
        for _ in range(4):
            grad = np.sin(theta * 3).astype(dtype)
            module.weighted_step(code, theta, grad, state, hyper, step)
        got[module] = (theta, state, step)
    for got_part, want_part in zip(got[weighted], got[reference], strict=True):
        close(got_part, want_part, dtype, scale=10)


def test_sklearn_sgd_step_is_the_velocity_form():
    # v = momentum v - lr g; theta += momentum v - lr g (Nesterov) or += v.
    theta, grad = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    for nesterov in (0.0, 1.0):
        hyper = np.zeros(codes.HYPER_SIZE)
        hyper[codes.LR], hyper[codes.SGD_MOMENTUM], hyper[codes.SGD_NESTEROV] = 0.1, 0.9, nesterov
        state = np.zeros((codes.STATE_ROWS, 2))
        state[0] = [0.3, -0.1]
        updated = theta.copy()
        weighted.sklearn_sgd_step(updated, grad, state, hyper, 2)
        velocity = 0.9 * np.array([0.3, -0.1]) - 0.1 * grad
        step = 0.9 * velocity - 0.1 * grad if nesterov else velocity
        assert_allclose(state[0], velocity)
        assert_allclose(updated, theta + step)


def epoch(module, kind, net, layout, loss_code, X, T, w, order, alpha, code, hyper, batch=3):
    dtype = net.dtype
    batch = 1 if kind == "sample" else batch
    architecture = Architecture.checked(net.sizes, net.hidden, net.output, dtype=dtype)
    member = allocate_member(architecture, batch, len(order))._replace(
        theta=net.theta.copy(), hyper=hyper, order=order
    )
    group = Group(layout, loss_code, code, batch, X, T)
    eps = float(np.finfo(dtype).eps)
    if kind == "sample":
        kernel = (module if module is reference else weighted_sample).weighted_epoch_sample
        done = kernel(group, member, w, alpha, eps)
    else:
        done = module.weighted_epoch_batch(group, member, w, np.zeros(batch, dtype), alpha, eps)
    return member.theta, member.state, member.step, member.losses, done


@pytest.mark.parametrize("kind", ["batch", "sample"])
@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform-weights", "weights"])
def test_epoch_kernels(kind, name, loss, uniform, dtype, rng):
    # Uniform weights with scikit-learn's SGD take the per-sample loop's lazy
    # first layer (zero inputs left alone until used): it must train the same.
    loss_code, output = LOSSES[loss]
    code, slots = OPTIMIZERS[name]
    hyper = np.zeros(codes.HYPER_SIZE, dtype=dtype)
    for slot, value in slots.items():
        hyper[slot] = value
    net, layout = network([6, 5, 4, 3], output, dtype, hidden="relu")
    X = rng.random((11, 6)).astype(dtype)
    X[rng.random(X.shape) < 0.5] = 0  # zero inputs: rows left alone, then caught up
    T = targets(loss_code, rng, 11, 3, dtype)
    w = np.full(11, 2.0, dtype) if uniform else (rng.random(11) + 0.5).astype(dtype)
    order = rng.permutation(11)
    results = [
        epoch(module, kind, net, layout, loss_code, X, T, w, order, 0.01, code, hyper)
        for module in (weighted, reference)
    ]
    for got, want in zip(results[0], results[1], strict=True):
        close(got, want, dtype, scale=100)
    assert results[0][4] == len(results[0][3])  # every step completed


def test_lazy_first_layer_over_many_steps(rng):
    # Rows left alone for hundreds of steps are caught up through A**k: the same
    # weights, velocities and losses as the step-by-step twin.
    code, slots = OPTIMIZERS["sgd"]
    hyper = np.zeros(codes.HYPER_SIZE)
    for slot, value in slots.items():
        hyper[slot] = value
    hyper[codes.LR] = 0.01
    net, layout = network([30, 8, 2], "softmax", np.float64, hidden="relu")
    X = rng.random((400, 30))
    X[:, :10] *= rng.random((400, 10)) < 0.01  # inputs that are almost always 0
    T = targets(codes.SOFTMAX_CE, rng, 400, 2, np.float64)
    w = np.ones(400)
    order = rng.permutation(400)
    results = [
        epoch(module, "sample", net, layout, codes.SOFTMAX_CE, X, T, w, order, 0.3, code, hyper)
        for module in (weighted, reference)
    ]
    for got, want in zip(results[0], results[1], strict=True):
        assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["batch", "sample"])
@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_epoch_kernels_stop_at_the_first_non_finite_loss(kind, name):
    code, slots = OPTIMIZERS[name]
    hyper = np.zeros(codes.HYPER_SIZE)
    for slot, value in slots.items():
        hyper[slot] = value
    net, layout = network([2, 3, 1], "identity", np.float64, hidden="identity")
    X = np.ones((6, 2))
    X[4] = 1e200  # its squared error overflows
    T = np.zeros((6, 1))
    w = np.ones(6)
    for module in (weighted, reference):
        theta, *_, losses, done = epoch(
            module, kind, net, layout, codes.MSE, X, T, w, np.arange(6), 0.01, code, hyper, 2
        )
        assert done == (4 if kind == "sample" else 2)
        assert not np.isfinite(losses[done])
        assert np.all(np.isfinite(theta))


def test_zero_weight_batches_are_skipped():
    code, slots = OPTIMIZERS["sgd"]
    hyper = np.zeros(codes.HYPER_SIZE)
    for slot, value in slots.items():
        hyper[slot] = value
    net, layout = network([2, 3, 1], "identity", np.float64)
    X, T = np.ones((4, 2)), np.ones((4, 1))
    w = np.array([0.0, 0.0, 1.0, 1.0])
    for module in (weighted, reference):
        for kind in ("batch", "sample"):
            theta, *_, losses, done = epoch(
                module, kind, net, layout, codes.MSE, X, T, w, np.arange(4), 0.0, code, hyper, 2
            )
            assert losses[0] == 0 and losses[-1] > 0
            assert not np.array_equal(theta, net.theta)
