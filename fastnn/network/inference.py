"""Forward and backward passes of a whole network over prepared arrays.

The functions take a :class:`~fastnn.network.state.NetworkState` and arrays already
checked and cast (:mod:`fastnn.validation`): ``X`` of shape ``(rows, inputs)`` and
targets ``T`` of shape ``(rows, outputs)``, both in the network's dtype.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn import kernels
from fastnn.kernels import reference
from fastnn.network.state import NetworkState

__all__ = ["PREDICT_CHUNK", "forward_chunks", "predict", "loss_and_correct", "gradient"]

#: Rows per chunk in predict/loss/accuracy, so work buffers stay small on big data.
PREDICT_CHUNK = 4096


def forward_chunks(
    network: NetworkState, X: NDArray[Any]
) -> Iterator[tuple[slice, NDArray[Any], NDArray[Any]]]:
    """Yield ``(rows, logits, outputs)`` chunk by chunk over the rows of ``X``."""
    architecture = network.architecture
    backend = network.kernels
    if backend is kernels and kernels.first_non_finite(network.theta) >= 0:
        # The compiled forward pass skips zero inputs, which would hide a NaN
        # weight (0 * NaN is NaN); non-finite weights get the reference's
        # exact propagation.
        backend = reference
    layout, loss_code = architecture.layout, architecture.loss_code
    chunk = min(PREDICT_CHUNK, X.shape[0])
    acts = np.zeros(chunk * architecture.units, dtype=architecture.dtype)
    for start in range(0, X.shape[0], chunk):
        x = X[start : start + chunk]
        y = np.empty((x.shape[0], architecture.sizes[-1]), dtype=architecture.dtype)
        backend.predict(network.theta, layout, loss_code, x, acts, y)
        logits = backend.layer_block(acts, layout, len(layout) - 1, x.shape[0])
        yield slice(start, start + x.shape[0]), logits, y


def predict(network: NetworkState, X: NDArray[Any]) -> NDArray[Any]:
    """Return the output activations of the rows of ``X``, shape ``(rows, outputs)``."""
    out = np.empty((X.shape[0], network.architecture.sizes[-1]), dtype=network.theta.dtype)
    for rows, _, y in forward_chunks(network, X):
        out[rows] = y
    return out


def loss_and_correct(
    network: NetworkState, X: NDArray[Any], T: NDArray[Any]
) -> tuple[float, float]:
    """Return the mean loss and the fraction classified correctly over ``(X, T)``.

    The fraction is 0 for a regression network (identity output).
    """
    total = 0.0
    correct = 0.0
    backend = network.kernels
    loss_code = network.architecture.loss_code
    for rows, logits, y in forward_chunks(network, X):
        t = T[rows]
        total += backend.loss_value(loss_code, logits, t) * (rows.stop - rows.start)
        correct += backend.count_correct(loss_code, y, t)
    return total / X.shape[0], correct / X.shape[0]


def gradient(network: NetworkState, X: NDArray[Any], T: NDArray[Any]) -> NDArray[Any]:
    """Return the gradient of the mean loss over ``(X, T)`` by backpropagation, flat."""
    architecture = network.architecture
    rows, dtype = X.shape[0], architecture.dtype
    grad = np.zeros(architecture.n_params, dtype=dtype)
    network.kernels.gradient(
        network.theta,
        architecture.layout,
        architecture.loss_code,
        X,
        T,
        np.zeros(rows * architecture.units, dtype=dtype),
        np.zeros(rows * architecture.units, dtype=dtype),
        np.zeros((rows, architecture.sizes[-1]), dtype=dtype),
        grad,
    )
    return grad


def numerical_gradient(
    network: NetworkState, X: NDArray[Any], T: NDArray[Any], h: float
) -> NDArray[Any]:
    """Return the gradient of the mean loss by central differences (two losses a parameter)."""
    theta = network.theta
    grad = np.zeros_like(theta)
    for index in range(theta.shape[0]):
        saved = theta[index]
        theta[index] = saved + h
        loss_plus = loss_and_correct(network, X, T)[0]
        theta[index] = saved - h
        loss_minus = loss_and_correct(network, X, T)[0]
        theta[index] = saved
        grad[index] = (loss_plus - loss_minus) / (2 * h)
    return grad
