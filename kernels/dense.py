"""Dense layer ``u = x @ W + b`` and its backward pass, for a batch of rows.

Batches of one row (the per-sample path) and tiny products use plain loops that
skip zero inputs (pixels, ReLU outputs), because a BLAS call costs more than
the work; larger products call BLAS through ``np.dot`` and fuse the bias
around it.
"""

import numpy as np

from ._jit import jit

# Below this many multiply-adds a hand loop beats the cost of calling BLAS.
BLAS_MIN_WORK = 16384


@jit
def dense_forward(x, W, b, out):
    """Write ``x @ W + b`` into ``out``.

    Parameters
    ----------
    x : ndarray, shape (batch, fan_in)
    W : ndarray, shape (fan_in, fan_out)
    b : ndarray, shape (fan_out,)
    out : ndarray, shape (batch, fan_out)
        Written in place.
    """
    batch, fan_in = x.shape
    fan_out = W.shape[1]
    if batch > 1 and batch * fan_in * fan_out >= BLAS_MIN_WORK:
        np.dot(x, W, out)
        for r in range(batch):
            for j in range(fan_out):
                out[r, j] += b[j]
        return
    for r in range(batch):
        for j in range(fan_out):
            out[r, j] = b[j]
        for i in range(fan_in):
            xi = x[r, i]
            if xi != 0:
                for j in range(fan_out):
                    out[r, j] += xi * W[i, j]


@jit
def dense_backward_params(x, delta, dW, db):
    """Write the parameter gradients ``dW = x.T @ delta`` and ``db = sum(delta)``.

    Parameters
    ----------
    x : ndarray, shape (batch, fan_in)
        The layer's input.
    delta : ndarray, shape (batch, fan_out)
        Gradient of the loss with respect to the layer's output ``u``.
    dW : ndarray, shape (fan_in, fan_out)
        Written in place.
    db : ndarray, shape (fan_out,)
        Written in place.
    """
    batch, fan_in = x.shape
    fan_out = delta.shape[1]
    for j in range(fan_out):
        db[j] = 0
    for r in range(batch):
        for j in range(fan_out):
            db[j] += delta[r, j]
    if batch > 1 and batch * fan_in * fan_out >= BLAS_MIN_WORK:
        np.dot(x.T, delta, dW)
        return
    for i in range(fan_in):
        for j in range(fan_out):
            dW[i, j] = 0
    for r in range(batch):
        for i in range(fan_in):
            xi = x[r, i]
            if xi != 0:
                for j in range(fan_out):
                    dW[i, j] += xi * delta[r, j]


@jit
def dense_backward_input(delta, W, dx):
    """Write the input gradient ``dx = delta @ W.T``.

    Parameters
    ----------
    delta : ndarray, shape (batch, fan_out)
    W : ndarray, shape (fan_in, fan_out)
    dx : ndarray, shape (batch, fan_in)
        Written in place.
    """
    batch, fan_out = delta.shape
    fan_in = W.shape[0]
    if batch > 1 and batch * fan_in * fan_out >= BLAS_MIN_WORK:
        np.dot(delta, W.T, dx)
        return
    for r in range(batch):
        for i in range(fan_in):
            total = W[i, 0] * delta[r, 0]
            for j in range(1, fan_out):
                total += W[i, j] * delta[r, j]
            dx[r, i] = total
