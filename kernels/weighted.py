"""Training as scikit-learn's MLP defines it: sample weights, an L2 penalty on the
weights only, and scikit-learn's SGD and Adam.

For a batch of rows ``r`` with sample weights ``w_r`` (``w_sum = sum(w_r)``):

- the batch loss is ``sum(w_r * l_r) / w_sum + 0.5 * alpha * sum(W**2) / w_sum``, the
  sum running over every weight matrix (never the biases), with the row loss ``l_r``:

  - MSE (identity output): ``0.5 * mean_j (y_j - t_j)**2``, a mean over the outputs;
  - softmax cross-entropy: ``-sum_j t_j log(p_j)``;
  - sigmoid binary cross-entropy: ``-sum_j t_j log(p_j) + (1 - t_j) log(1 - p_j)``;
  - Poisson deviance (exponential output ``y = exp(z)``):
    ``sum_j t_j log(t_j / y_j) - t_j + y_j`` (``0 log 0 = 0``);

  where ``p = clip(y, eps, 1 - eps)`` and ``eps`` is the machine epsilon of the
  network's dtype, as scikit-learn clips probabilities;
- the output delta is ``(y - t) * w_r / w_sum`` for all four (canonical links), and
  each weight matrix's gradient gets ``alpha * W / w_sum`` added.

These are scikit-learn's definitions, kept where they look odd so that losses and
trajectories match its own: the MSE loss averages over the outputs but its delta is
not divided by their number, and with one row per batch the sample weight cancels
out of the data term and divides only the penalty. A batch whose weights sum to zero
is skipped (no step; its loss counts as 0), where scikit-learn divides by zero.

Optimizers: ``SKLEARN_SGD`` and ``SKLEARN_ADAM`` are scikit-learn's formulas
(:mod:`.codes`); the codes of :mod:`.optimizers` (torch.optim's formulas) run through
:func:`.optimizers.optimizer_step`, with the penalty already in the gradient.

One row at a time (batches of one) trains in :mod:`.weighted_sample`. Like
:mod:`.train`, the epoch kernels take the sample order as an index array, write
each step's loss (before its update), and stop at the first non-finite loss,
returning the number of steps completed (the failing step's update is not applied).
"""

import numpy as np

from ._jit import jit
from .activations import _sigmoid_scalar, softmax
from .codes import (
    ADAM_BETA1,
    ADAM_BETA2,
    ADAM_EPS,
    EXP_POISSON,
    FAN_IN,
    FAN_OUT,
    LR,
    SGD_MOMENTUM,
    SGD_NESTEROV,
    SIGMOID_BCE,
    SKLEARN_ADAM,
    SKLEARN_SGD,
    SOFTMAX_CE,
    W_OFFSET,
)
from .network import backward, forward, layer_block
from .optimizers import flush, optimizer_step, smallest_normal

__all__ = [
    "is_finite",
    "output_loss_delta",
    "weight_sumsq",
    "add_weight_penalty",
    "weighted_gradient",
    "sklearn_sgd_step",
    "sklearn_adam_step",
    "weighted_step",
    "weighted_epoch_batch",
]


# ---------------------------------------------------------------- loss and delta


@jit(inline=True)
def is_finite(value):
    """True unless the float64 ``value`` is NaN or inf.

    Written as a comparison with the largest float64: LLVM, allowed to reassociate
    (the project's fastmath flags), folded ``np.isfinite(total * c + d)`` to True
    for an infinite ``total``, and a diverging loss went unnoticed. NaN fails
    every comparison, inf this one.
    """
    return abs(value) <= 1.7976931348623157e308


@jit(inline=True)
def _clipped_log(value, eps):
    # log(clip(value, eps, 1 - eps)) in float64, as scikit-learn's log losses.
    p = np.float64(value)
    if p < eps:
        p = eps
    elif p > 1.0 - eps:
        p = 1.0 - eps
    return np.log(p)


@jit(inline=True)
def row_loss(loss_code, y, yr, t, tr, eps):
    """The loss of one row (float64) from its output activations ``y[yr]`` and
    targets ``t[tr]``."""
    cols = y.shape[1]
    total = 0.0
    if loss_code == SOFTMAX_CE:
        for j in range(cols):
            target = np.float64(t[tr, j])
            if target != 0:
                total -= target * _clipped_log(y[yr, j], eps)
    elif loss_code == SIGMOID_BCE:
        for j in range(cols):
            target = np.float64(t[tr, j])
            if target != 0:
                total -= target * _clipped_log(y[yr, j], eps)
            if target != 1:
                total -= (1.0 - target) * _clipped_log(1.0 - np.float64(y[yr, j]), eps)
    elif loss_code == EXP_POISSON:
        for j in range(cols):
            target = np.float64(t[tr, j])
            mean = np.float64(y[yr, j])
            if target != 0:
                total += target * np.log(target / mean)
            total += mean - target
    else:
        for j in range(cols):
            diff = np.float64(y[yr, j]) - t[tr, j]
            total += diff * diff
        total *= 0.5 / cols
    return total


@jit
def output_loss_delta(loss_code, z, t, w, scale, eps, y, delta):
    """Fill the outputs and the weighted delta; return the weighted loss sum.

    Parameters
    ----------
    loss_code : int
        MSE, SOFTMAX_CE, SIGMOID_BCE or EXP_POISSON (:mod:`.codes`).
    z, t : ndarray, shape (batch, outputs)
        Logits and targets.
    w : ndarray, shape (batch,)
        Sample weights.
    scale : float
        Multiplies every delta: ``1 / w_sum`` for a batch's mean gradient.
    eps : float
        Probabilities are clipped to ``[eps, 1 - eps]`` inside the log losses.
    y, delta : ndarray, shape (batch, outputs)
        Written: the output activation, and ``(y - t) * w_r * scale``.

    Returns
    -------
    float
        ``sum_r w_r * l_r`` in float64 (not divided by anything).
    """
    rows, cols = z.shape
    if loss_code == SOFTMAX_CE:
        softmax(z, y)
    elif loss_code == SIGMOID_BCE:
        for r in range(rows):
            for j in range(cols):
                y[r, j] = _sigmoid_scalar(z[r, j])
    elif loss_code == EXP_POISSON:
        for r in range(rows):
            for j in range(cols):
                y[r, j] = np.exp(z[r, j])
    else:
        for r in range(rows):
            for j in range(cols):
                y[r, j] = z[r, j]
    total = 0.0
    for r in range(rows):
        total += np.float64(w[r]) * row_loss(loss_code, y, r, t, r, eps)
        factor = y.dtype.type(np.float64(w[r]) * scale)
        for j in range(cols):
            delta[r, j] = (y[r, j] - t[r, j]) * factor
    return total


# ---------------------------------------------------------------- the penalty


@jit
def weight_sumsq(theta, layout):
    """Return the sum of the squares of every weight matrix (not the biases), in float64.

    Parameters
    ----------
    theta : ndarray, shape (n_params,)
    layout : ndarray of int64, shape (layers, 6)
    """
    total = 0.0
    for layer in range(layout.shape[0]):
        start = layout[layer, W_OFFSET]
        block = theta[start : start + layout[layer, FAN_IN] * layout[layer, FAN_OUT]]
        for k in range(block.shape[0]):
            value = np.float64(block[k])
            total += value * value
    return total


@jit
def add_weight_penalty(theta, layout, coef, grad):
    """Add ``coef * W`` to the gradient of every weight matrix (not the biases).

    Parameters
    ----------
    theta, grad : ndarray, shape (n_params,)
        ``grad`` is updated in place.
    layout : ndarray of int64, shape (layers, 6)
    coef : float
        ``alpha / w_sum`` for scikit-learn's penalty.
    """
    c = theta.dtype.type(coef)
    for layer in range(layout.shape[0]):
        start = layout[layer, W_OFFSET]
        stop = start + layout[layer, FAN_IN] * layout[layer, FAN_OUT]
        block = theta[start:stop]
        g = grad[start:stop]
        for k in range(block.shape[0]):
            g[k] += c * block[k]


@jit
def weighted_gradient(theta, layout, loss_code, x, t, w, scale, eps, acts, deltas, y, grad):
    """Backpropagate a weighted batch: fill ``grad``, return the weighted loss sum.

    The penalty is not included (:func:`add_weight_penalty`, :func:`weight_sumsq`).

    Parameters
    ----------
    theta, layout, x, acts, deltas, y
        As in :func:`fastnn.kernels.network.gradient`.
    loss_code : int
        MSE, SOFTMAX_CE, SIGMOID_BCE or EXP_POISSON.
    t : ndarray, shape (batch, outputs)
    w : ndarray, shape (batch,)
    scale, eps : float
        As in :func:`output_loss_delta`.
    grad : ndarray, shape (n_params,)
        Written with ``scale * sum_r w_r * d l_r / d theta``.

    Returns
    -------
    float
        ``sum_r w_r * l_r`` (float64).
    """
    batch = x.shape[0]
    last = layout.shape[0] - 1
    forward(theta, layout, x, acts)
    z = layer_block(acts, layout, last, batch)
    delta = layer_block(deltas, layout, last, batch)
    total = output_loss_delta(loss_code, z, t, w, scale, eps, y, delta)
    backward(theta, layout, x, acts, deltas, grad)
    return total


# ---------------------------------------------------------------- optimizers


@jit
def sklearn_sgd_step(theta, grad, state, hyper, t):
    """scikit-learn's SGD: ``v = momentum*v - lr*g``, then ``theta += v`` (or, with
    Nesterov, ``theta += momentum*v - lr*g``); ``state[0]`` is ``v``, zero at start."""
    dt = theta.dtype.type
    lr, momentum = hyper[LR], hyper[SGD_MOMENTUM]
    # theta += keep_v * v - keep_g * g covers both forms without a branch in the loop.
    keep_v = momentum if hyper[SGD_NESTEROV] != 0 else dt(1)
    keep_g = lr if hyper[SGD_NESTEROV] != 0 else dt(0)
    tiny = smallest_normal(theta)
    velocity = state[0]
    for k in range(theta.shape[0]):
        g = grad[k]
        v = flush(momentum * velocity[k] - lr * g, tiny)
        velocity[k] = v
        theta[k] += keep_v * v - keep_g * g


@jit
def adam_rate(hyper, t):
    """scikit-learn's Adam rate ``lr * sqrt(1 - beta2**t) / (1 - beta1**t)`` (float64)."""
    beta1 = np.float64(hyper[ADAM_BETA1])
    beta2 = np.float64(hyper[ADAM_BETA2])
    return np.float64(hyper[LR]) * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)


@jit
def sklearn_adam_step(theta, grad, state, hyper, t):
    """scikit-learn's Adam at step ``t`` (from 1): ``m = b1*m + (1-b1)*g``,
    ``v = b2*v + (1-b2)*g**2``, ``theta -= lr_t * m / (sqrt(v) + eps)`` with
    ``lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)``; ``state[0]``, ``state[1]`` are m, v."""
    dt = theta.dtype.type
    beta1, beta2, eps = hyper[ADAM_BETA1], hyper[ADAM_BETA2], hyper[ADAM_EPS]
    keep1 = dt(1) - beta1
    keep2 = dt(1) - beta2
    rate = dt(adam_rate(hyper, t))
    tiny = smallest_normal(theta)
    first, second = state[0], state[1]
    for k in range(theta.shape[0]):
        g = grad[k]
        m = flush(beta1 * first[k] + keep1 * g, tiny)
        first[k] = m
        v = flush(beta2 * second[k] + keep2 * g * g, tiny)
        second[k] = v
        theta[k] -= rate * m / (np.sqrt(v) + eps)


@jit
def weighted_step(code, theta, grad, state, hyper, step):
    """Take one step of optimizer ``code``: ``step[0] += 1``, then update in place.

    Parameters
    ----------
    code : int
        SKLEARN_SGD, SKLEARN_ADAM, or a code of :func:`.optimizers.optimizer_step`.
    theta, grad, state, hyper, step
        As in :func:`.optimizers.optimizer_step`.
    """
    if code == SKLEARN_SGD:
        step[0] += 1
        sklearn_sgd_step(theta, grad, state, hyper, step[0])
    elif code == SKLEARN_ADAM:
        step[0] += 1
        sklearn_adam_step(theta, grad, state, hyper, step[0])
    else:
        optimizer_step(code, theta, grad, state, hyper, step)


# ---------------------------------------------------------------- mini-batches


@jit
def weighted_epoch_batch(group, member, w, w_batch, alpha, eps):
    """Train one epoch of weighted mini-batches in the given order.

    The last batch holds the remainder when ``batch_size`` does not divide
    ``len(order)``.

    Parameters
    ----------
    group, member
        The bundles of :mod:`.bundles`: the layout, loss, optimizer (scikit-learn's
        SGD or Adam, or one of :func:`weighted_step`'s) and data; the network's
        arrays (``theta``, ``state`` and ``step`` updated; ``losses`` gets each
        batch's loss, penalty included, before its update; ``x``, ``t`` hold a batch).
    w : ndarray, shape (n_samples,)
        Sample weights.
    w_batch : ndarray, shape (batch_size,)
        Work buffer: a batch's weights.
    alpha : float
        The L2 penalty's strength.
    eps : float
        As in :func:`output_loss_delta`.

    Returns
    -------
    int
        Batches completed.
    """
    layout, loss_code, opt_code, batch_size, X, T = group
    theta, order, batch_losses = member.theta, member.order, member.losses
    state, hyper, step, grad = member.state, member.hyper, member.step, member.grad
    x_batch, t_batch, acts, deltas, y = member.x, member.t, member.acts, member.deltas, member.y
    n_rows = order.shape[0]
    n_batches = (n_rows + batch_size - 1) // batch_size
    last = layout.shape[0] - 1
    for bi in range(n_batches):
        start = bi * batch_size
        m = min(batch_size, n_rows - start)
        xb = x_batch[:m]
        tb = t_batch[:m]
        wb = w_batch[:m]
        w_sum = 0.0
        for r in range(m):
            row = order[start + r]
            xb[r, :] = X[row]
            tb[r, :] = T[row]
            wb[r] = w[row]
            w_sum += np.float64(w[row])
        if w_sum == 0:
            batch_losses[bi] = 0.0
            continue
        scale = 1.0 / w_sum
        forward(theta, layout, xb, acts)
        z = layer_block(acts, layout, last, m)
        delta = layer_block(deltas, layout, last, m)
        loss = output_loss_delta(loss_code, z, tb, wb, scale, eps, y[:m], delta) * scale
        if alpha != 0:
            loss += 0.5 * alpha * weight_sumsq(theta, layout) * scale
        batch_losses[bi] = loss
        if not is_finite(loss):
            return bi
        backward(theta, layout, xb, acts, deltas, grad)
        if alpha != 0:
            add_weight_penalty(theta, layout, alpha * scale, grad)
        weighted_step(opt_code, theta, grad, state, hyper, step)
    return n_batches
