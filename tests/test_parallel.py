"""Many networks in one call: each trains exactly as it would alone, bit for bit."""

import numpy as np
import pytest

from fastnn import kernels, optimizers
from fastnn.codegen import cache as loop_cache
from fastnn.kernels import reference
from fastnn.kernels.bundles import Member
from fastnn.network import Architecture, NetworkState
from fastnn.training.engine import group_for, member_for

N_ROWS, MODELS = 120, 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((N_ROWS, 30))
    X[X < 0.5] = 0
    T = np.eye(4)[rng.integers(0, 4, N_ROWS)]
    return X, T


def networks(optimizer):
    architecture = Architecture.checked([30, 17, 4], dtype="float64")
    nets = [NetworkState.create(architecture, seed=m) for m in range(MODELS)]
    opts = [optimizers.get(optimizer, lr=0.01 * (m + 1)) for m in range(MODELS)]
    for opt in opts:
        opt.bind(architecture.n_params, architecture.dtype)
    orders = np.stack([np.random.default_rng(10 + m).permutation(N_ROWS) for m in range(MODELS)])
    return nets, opts, orders


def member(net, opt, order, batch):
    """The kernels' Member of ``net`` on copies of its and its optimizer's arrays."""
    fresh = member_for(net, opt, batch, order)
    return fresh._replace(
        theta=fresh.theta.copy(), state=fresh.state.copy(), step=fresh.step.copy()
    )


def alone(kernel, nets, opts, orders, X, T, batch):
    results = []
    for net, opt, order in zip(nets, opts, orders, strict=True):
        own = member(net, opt, order, batch)
        kernel(group_for(net, opt, batch, X, T), own)
        results.append((own.theta, own.state, own.step, own.losses, own.correct))
    return results


def together(kernel, nets, opts, orders, X, T, batch):
    members = [
        member(net, opt, order, batch) for net, opt, order in zip(nets, opts, orders, strict=True)
    ]
    stacked = Member(*(np.stack(arrays) for arrays in zip(*members, strict=True)))
    done = np.zeros(MODELS, dtype=np.int64)
    kernel(group_for(nets[0], opts[0], batch, X, T), stacked, done)
    assert done.tolist() == [len(stacked.losses[0])] * MODELS
    return [
        (stacked.theta[m], stacked.state[m], stacked.step[m], stacked.losses[m], stacked.correct[m])
        for m in range(MODELS)
    ]


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
    architecture, opt = nets[0].architecture, opts[0]
    hyper = opt.hyper_vector(architecture.dtype)
    spec = loop_cache.spec_for(
        architecture.sizes, architecture.layout, architecture.loss_code, architecture.dtype,
        opt.code, hyper,
    )  # fmt: skip
    module = loop_cache.module_for(spec)
    one, many = module.train_epoch, module.train_models
    single = alone(one, nets, opts, orders, *data, 1)
    assert_identical(single, together(many, nets, opts, orders, *data, 1))


def test_networks_of_different_kinds_in_one_call(data):
    # Plain SGD and SGD with momentum compile different per-sample loops: one call
    # over both still trains each exactly as alone.
    nets, opts, orders = networks("sgd")
    opts[1] = optimizers.get("momentum", lr=0.02)
    opts[3] = optimizers.get("momentum", lr=0.04)
    for opt in opts:
        opt.bind(nets[0].architecture.n_params, nets[0].architecture.dtype)
    single = alone(kernels.train_epoch_sample, nets, opts, orders, *data, 1)
    assert_identical(single, together(kernels.train_models_sample, nets, opts, orders, *data, 1))
