"""Many networks in one call: each trains exactly as it would alone, bit for bit."""

import sys

import numpy as np
import pytest

from fastnn import MLP, kernels, optimizers
from fastnn.codegen import cache as loop_cache
from fastnn.kernels import reference
from fastnn.model import _Workspace

N_ROWS, MODELS = 120, 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((N_ROWS, 30))
    X[X < 0.5] = 0
    T = np.eye(4)[rng.integers(0, 4, N_ROWS)]
    return X, T


def networks(optimizer):
    nets = [MLP([30, 17, 4], dtype="float64", seed=m) for m in range(MODELS)]
    opts = [optimizers.get(optimizer, lr=0.01 * (m + 1)) for m in range(MODELS)]
    for net, opt in zip(nets, opts, strict=True):
        opt.bind(net.n_params, net.dtype)
    orders = np.stack([np.random.default_rng(10 + m).permutation(N_ROWS) for m in range(MODELS)])
    return nets, opts, orders


def alone(kernel, nets, opts, orders, X, T, batch):
    results = []
    for net, opt, order in zip(nets, opts, orders, strict=True):
        theta, state, step = net.theta.copy(), opt.state_.copy(), opt.step_.copy()
        work = _Workspace(net, batch)
        n_steps = N_ROWS if batch == 1 else -(-N_ROWS // batch)
        losses, correct = np.zeros(n_steps), np.zeros(n_steps)
        hyper = opt.hyper_vector(net.dtype)
        if batch == 1:
            kernel(
                theta,
                net._layout,
                net.loss_code,
                X,
                T,
                order,
                opt.code,
                state,
                hyper,
                step,
                work.grad,
                work.acts,
                work.deltas,
                work.y,
                losses,
                correct,
                net._dropout_rates,
                net._dropout_key,
            )
        else:
            kernel(
                theta,
                net._layout,
                net.loss_code,
                X,
                T,
                order,
                batch,
                opt.code,
                state,
                hyper,
                step,
                work.grad,
                work.x,
                work.t,
                work.acts,
                work.deltas,
                work.y,
                losses,
                correct,
                net._dropout_rates,
                net._dropout_key,
            )
        results.append((theta, state, step, losses, correct))
    return results


def together(kernel, nets, opts, orders, X, T, batch):
    net = nets[0]
    works = [_Workspace(net, batch) for _ in nets]
    stack = lambda name: np.stack([getattr(work, name) for work in works])  # noqa: E731
    thetas = np.stack([n.theta for n in nets])
    states = np.stack([o.state_ for o in opts])
    steps = np.stack([o.step_ for o in opts])
    hypers = np.stack([o.hyper_vector(net.dtype) for o in opts])
    n_steps = N_ROWS if batch == 1 else -(-N_ROWS // batch)
    losses, correct = np.zeros((MODELS, n_steps)), np.zeros((MODELS, n_steps))
    done = np.zeros(MODELS, dtype=np.int64)
    if batch == 1:
        kernel(
            thetas,
            net._layout,
            net.loss_code,
            X,
            T,
            orders,
            opts[0].code,
            states,
            hypers,
            steps,
            stack("grad"),
            stack("acts"),
            stack("deltas"),
            stack("y"),
            losses,
            correct,
            done,
            np.stack([n._dropout_rates for n in nets]),
            np.stack([n._dropout_key for n in nets]),
        )
    else:
        kernel(
            thetas,
            net._layout,
            net.loss_code,
            X,
            T,
            orders,
            batch,
            opts[0].code,
            states,
            hypers,
            steps,
            stack("grad"),
            stack("x"),
            stack("t"),
            stack("acts"),
            stack("deltas"),
            stack("y"),
            losses,
            correct,
            done,
            np.stack([n._dropout_rates for n in nets]),
            np.stack([n._dropout_key for n in nets]),
        )
    assert done.tolist() == [n_steps] * MODELS
    return [(thetas[m], states[m], steps[m], losses[m], correct[m]) for m in range(MODELS)]


def assert_identical(first, second):
    for one, other in zip(first, second, strict=True):
        for a, b in zip(one, other, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_generic_per_sample_kernel(data, optimizer):
    nets, opts, orders = networks(optimizer)
    single = alone(kernels.train_epoch_sample, nets, opts, orders, *data, 1)
    assert_identical(single, together(kernels.train_models_sample, nets, opts, orders, *data, 1))
    expected = together(reference.train_models_sample, nets, opts, orders, *data, 1)
    for one, other in zip(single, expected, strict=True):
        np.testing.assert_allclose(one[0], other[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_generic_mini_batch_kernel(data, optimizer):
    nets, opts, orders = networks(optimizer)
    single = alone(kernels.train_epoch_batch, nets, opts, orders, *data, 16)
    assert_identical(single, together(kernels.train_models_batch, nets, opts, orders, *data, 16))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_generated_per_sample_kernel(data, optimizer):
    nets, opts, orders = networks(optimizer)
    net, opt = nets[0], opts[0]
    spec = loop_cache.spec_for(
        net.sizes, net.layout, net.loss_code, net.dtype, opt.code, opt.hyper_vector(net.dtype)
    )
    one = loop_cache.kernel_for(spec)
    many = sys.modules[one.py_func.__module__].train_models
    single = alone(one, nets, opts, orders, *data, 1)
    assert_identical(single, together(many, nets, opts, orders, *data, 1))
