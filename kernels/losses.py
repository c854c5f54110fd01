"""Output activations, losses and output deltas, all from the logits ``z``.

Conventions (docs/design.md, section 3), with ``batch`` rows:

- MSE (identity output): ``0.5 * sum((y - t)**2) / batch``;
- softmax cross-entropy: ``sum(t * (logsumexp(z) - z)) / batch``, no ``+1e-7``;
- sigmoid binary cross-entropy:
  ``sum(max(z, 0) - z*t + log1p(exp(-|z|))) / batch``;

and in all three cases the delta with respect to ``z`` is ``(y - t) / batch``.
Loss values are accumulated and returned in float64 whatever the dtype.
"""

import numpy as np

from ._jit import jit
from .activations import _sigmoid_scalar, softmax
from .codes import SIGMOID_BCE, SOFTMAX_CE


@jit
def output_activation(loss_code, z, out):
    """Write the output activation of the logits ``z`` into ``out``.

    Parameters
    ----------
    loss_code : int
        MSE (identity), SOFTMAX_CE (softmax) or SIGMOID_BCE (sigmoid).
    z, out : ndarray, shape (batch, outputs)
    """
    rows, cols = z.shape
    if loss_code == SOFTMAX_CE:
        softmax(z, out)
    elif loss_code == SIGMOID_BCE:
        for r in range(rows):
            for j in range(cols):
                out[r, j] = _sigmoid_scalar(z[r, j])
    else:
        for r in range(rows):
            for j in range(cols):
                out[r, j] = z[r, j]


@jit
def _row_loss(loss_code, z, t, r):
    # float64 accumulation keeps float32 epoch losses comparable to float64 ones.
    cols = z.shape[1]
    total = 0.0
    if loss_code == SOFTMAX_CE:
        top = z[r, 0]
        for j in range(1, cols):
            if z[r, j] > top:
                top = z[r, j]
        exp_sum = 0.0
        for j in range(cols):
            exp_sum += np.exp(np.float64(z[r, j]) - top)
        log_sum_exp = top + np.log(exp_sum)
        for j in range(cols):
            total += t[r, j] * (log_sum_exp - z[r, j])
    elif loss_code == SIGMOID_BCE:
        for j in range(cols):
            v = np.float64(z[r, j])
            total += max(v, 0.0) - v * t[r, j] + np.log1p(np.exp(-abs(v)))
    else:
        for j in range(cols):
            diff = np.float64(z[r, j]) - t[r, j]
            total += 0.5 * diff * diff
    return total


@jit
def loss_value(loss_code, z, t):
    """Return the mean loss over the batch, computed from the logits.

    Parameters
    ----------
    loss_code : int
    z : ndarray, shape (batch, outputs)
        Logits (the last layer's ``x @ W + b``).
    t : ndarray, shape (batch, outputs)
        Targets (one-hot for SOFTMAX_CE).

    Returns
    -------
    float
    """
    rows = z.shape[0]
    total = 0.0
    for r in range(rows):
        total += _row_loss(loss_code, z, t, r)
    return total / rows


@jit
def loss_delta(y, t, out):
    """Write the output delta ``(y - t) / batch`` into ``out``.

    It is the same for the three output/loss pairs.

    Parameters
    ----------
    y, t, out : ndarray, shape (batch, outputs)
    """
    rows, cols = y.shape
    scale = y.dtype.type(1.0 / rows)
    for r in range(rows):
        for j in range(cols):
            out[r, j] = (y[r, j] - t[r, j]) * scale


@jit
def loss_and_delta(loss_code, z, t, y, delta):
    """Fill the output ``y`` and the delta, and return the mean loss.

    Parameters
    ----------
    loss_code : int
    z, t : ndarray, shape (batch, outputs)
        Logits and targets.
    y, delta : ndarray, shape (batch, outputs)
        Written in place: output activation and ``(y - t) / batch``.

    Returns
    -------
    float
    """
    output_activation(loss_code, z, y)
    loss_delta(y, t, delta)
    return loss_value(loss_code, z, t)


@jit
def count_correct(loss_code, y, t):
    """Return how many rows the outputs ``y`` classify correctly.

    Softmax: the arg-max matches. Sigmoid: the fraction of outputs on the right
    side of 0.5, summed over rows. MSE (regression): 0.

    Parameters
    ----------
    loss_code : int
    y, t : ndarray, shape (batch, outputs)

    Returns
    -------
    float
    """
    rows, cols = y.shape
    correct = 0.0
    if loss_code == SOFTMAX_CE:
        for r in range(rows):
            best_y = 0
            best_t = 0
            for j in range(1, cols):
                if y[r, j] > y[r, best_y]:
                    best_y = j
                if t[r, j] > t[r, best_t]:
                    best_t = j
            if best_y == best_t:
                correct += 1.0
    elif loss_code == SIGMOID_BCE:
        for r in range(rows):
            hits = 0
            for j in range(cols):
                if (y[r, j] >= 0.5) == (t[r, j] >= 0.5):
                    hits += 1
            correct += hits / cols
    return correct
