"""Activations: forward, derivative written from the output, softmax.

Every function works on 2-D arrays ``(batch, units)`` and selects the
activation by its integer code (:mod:`fastnn.kernels.codes`). Derivatives take the
activation's *output* ``a``, as the course writes them (sigmoid' = a(1-a)), so
the forward pass need not keep pre-activations. ReLU'(0) is 0. NaN propagates
exactly as in :mod:`fastnn.kernels.reference` (ReLU of NaN is NaN, as ``np.maximum``).
"""

import numpy as np

from ._jit import jit
from .codes import IDENTITY, LEAKY_RELU, LEAKY_RELU_SLOPE, RELU, SIGMOID, STEP, TANH


@jit
def _sigmoid_scalar(u):
    # Two branches so that exp never overflows for large |u|. Scalars carry no
    # dtype in Numba, so scalar helpers compute in float64 and the caller's
    # store rounds to the array's dtype.
    if u >= 0:
        return 1.0 / (1.0 + np.exp(-np.float64(u)))
    e = np.exp(np.float64(u))
    return e / (1.0 + e)


@jit
def activation_scalar(code, u):
    """Activation ``code`` of one value ``u`` (float64)."""
    u = np.float64(u)
    if code == RELU:
        return 0.0 if u < 0 else u  # NaN stays NaN, as with np.maximum(0, u)
    if code == SIGMOID:
        return _sigmoid_scalar(u)
    if code == TANH:
        return np.tanh(u)
    if code == STEP:
        return 1.0 if u > 0 else 0.0
    if code == LEAKY_RELU:
        return u if u > 0 else LEAKY_RELU_SLOPE * u
    return u


@jit
def derivative_scalar(code, a):
    """Derivative of activation ``code`` at the point whose output is ``a`` (float64)."""
    a = np.float64(a)
    if code == RELU:
        return 1.0 if a > 0 else 0.0
    if code == SIGMOID:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == STEP:
        return 0.0
    if code == LEAKY_RELU:
        return 1.0 if a > 0 else LEAKY_RELU_SLOPE
    return 1.0


@jit
def activation_forward(code, u, out):
    """Write ``f(u)`` into ``out`` (which may be ``u`` itself).

    Parameters
    ----------
    code : int
        Activation code, not SOFTMAX (see :func:`softmax`).
    u, out : ndarray, shape (batch, units)
    """
    rows, cols = u.shape
    zero = u.dtype.type(0)
    one = u.dtype.type(1)
    slope = u.dtype.type(LEAKY_RELU_SLOPE)
    for r in range(rows):
        if code == RELU:
            for j in range(cols):
                v = u[r, j]
                out[r, j] = zero if v < 0 else v  # NaN stays NaN (np.maximum(0, v))
        elif code == SIGMOID:
            for j in range(cols):
                out[r, j] = _sigmoid_scalar(u[r, j])
        elif code == TANH:
            for j in range(cols):
                out[r, j] = np.tanh(u[r, j])
        elif code == STEP:
            for j in range(cols):
                out[r, j] = one if u[r, j] > 0 else zero
        elif code == LEAKY_RELU:
            for j in range(cols):
                v = u[r, j]
                out[r, j] = v if v > 0 else slope * v
        elif code == IDENTITY:
            for j in range(cols):
                out[r, j] = u[r, j]


@jit
def activation_derivative(code, a, out):
    """Write ``f'(u)`` into ``out``, computed from the output ``a = f(u)``.

    Parameters
    ----------
    code : int
        Activation code.
    a, out : ndarray, shape (batch, units)
    """
    rows, cols = a.shape
    for r in range(rows):
        for j in range(cols):
            out[r, j] = derivative_scalar(code, a[r, j])


@jit
def activation_backward(code, a, delta):
    """Multiply ``delta`` in place by ``f'(u)``, computed from the output ``a``.

    Parameters
    ----------
    code : int
        Activation code.
    a : ndarray, shape (batch, units)
        The activation's output.
    delta : ndarray, shape (batch, units)
        Gradient with respect to ``a`` on entry, with respect to ``u`` on exit.
    """
    rows, cols = a.shape
    for r in range(rows):
        for j in range(cols):
            delta[r, j] *= derivative_scalar(code, a[r, j])


@jit
def softmax(z, out):
    """Write the row-wise softmax of ``z`` into ``out``, shifted by the row max.

    Parameters
    ----------
    z, out : ndarray, shape (batch, classes)
    """
    rows, cols = z.shape
    for r in range(rows):
        top = z[r, 0]
        for j in range(1, cols):
            if z[r, j] > top:
                top = z[r, j]
        total = z.dtype.type(0)
        for j in range(cols):
            e = np.exp(z[r, j] - top)
            out[r, j] = e
            total += e
        scale = z.dtype.type(1) / total
        for j in range(cols):
            out[r, j] *= scale
