"""Backprop against central differences, for every hidden activation and output pair."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import MLP

HIDDEN = ["relu", "sigmoid", "tanh", "identity", "leaky_relu"]  # step: derivative is 0
OUTPUTS = ["softmax", "sigmoid", "identity"]


def targets(output, rng, n, k):
    if output == "softmax":
        return rng.integers(0, k, n)
    if output == "sigmoid":
        return (rng.random((n, k)) > 0.5).astype(float)
    return rng.standard_normal((n, k))


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradient_matches_numerical_gradient(hidden, output, backend):
    rng = np.random.default_rng(7)
    net = MLP(
        [4, 6, 5, 3],
        hidden=hidden,
        output=output,
        init="xavier",
        dtype="float64",
        seed=3,
        backend=backend,
    )
    X = rng.standard_normal((8, 4))
    T = targets(output, rng, 8, 3)
    analytic = net.gradient(X, T)
    numeric = net.numerical_gradient(X, T)
    assert analytic.keys() == numeric.keys() == net.params.keys()
    for name in analytic:
        # ReLU kinks make a central difference off by O(h) near zero inputs.
        assert_allclose(analytic[name], numeric[name], rtol=1e-4, atol=1e-6, err_msg=name)
    assert any(np.abs(g).max() > 1e-3 for g in analytic.values())


def test_step_activation_has_zero_hidden_gradient():
    rng = np.random.default_rng(0)
    net = MLP([3, 4, 2], hidden="step", output="softmax", dtype="float64", seed=0)
    grad = net.gradient(rng.standard_normal((5, 3)), rng.integers(0, 2, 5))
    assert np.all(grad["W1"] == 0) and np.all(grad["b1"] == 0)
    assert np.any(grad["W2"] != 0)


def test_numerical_gradient_restores_parameters():
    net = MLP([3, 4, 2], dtype="float64", seed=0)
    before = net.theta.copy()
    net.numerical_gradient(np.ones((2, 3)), [0, 1])
    assert np.array_equal(net.theta, before)
