"""One row at a time: :mod:`.weighted`'s training with batches of one, fused.

:func:`weighted_epoch_sample` trains exactly what ``weighted_epoch_batch`` with
``batch_size=1`` trains (same loss, penalty, optimizers), in one loop that fuses
each layer's backward pass with the optimizer's update: every weight row is read
once, its delta propagated with the old weights, then updated (with its velocity
or moments) in the same pass.

scikit-learn's SGD with uniform sample weights goes further. A weight whose input
is 0 gets only the penalty's gradient ``coef * W``, so one step maps its value and
velocity ``(W, v)`` linearly: ``(W, v) <- A (W, v)`` with a 2x2 matrix ``A`` that
is the same for every such weight while the learning rate stays (a whole epoch).
So the rows of the first layer whose input is 0 (blank pixels) are not touched:
each row remembers the step it is valid at, and is brought up to date with
``A**k`` (a table of powers made once per epoch) when its input is next non-zero,
and at the end of the call. The penalty's share of each step's loss needs
``sum(W**2)`` over every weight, stale rows included: it is kept exactly, from
``(sum W**2, sum W*v, sum v**2)`` of the first layer, which ``A`` maps linearly
too. The arithmetic is that of the step-by-step loop up to rounding (``A**k`` is
computed in float64 and applied once), and flushing of subnormal velocities is
left out there (a weight left alone never decays through them).

The indices are unsigned so that Numba adds no negative-index wraparound, which
would stop LLVM vectorising, as in :mod:`.train`.
"""

import numpy as np

from ._jit import jit
from .activations import _sigmoid_scalar, derivative_scalar
from .codes import (
    ACTIVATION,
    ADAM_BETA1,
    ADAM_BETA2,
    ADAM_EPS,
    B_OFFSET,
    EXP_POISSON,
    FAN_IN,
    FAN_OUT,
    IDENTITY,
    LR,
    SGD_MOMENTUM,
    SGD_NESTEROV,
    SIGMOID_BCE,
    SKLEARN_ADAM,
    SKLEARN_SGD,
    SOFTMAX_CE,
    UNIT_OFFSET,
    W_OFFSET,
)
from .optimizers import flush, smallest_normal
from .train import activate_flat, sample_forward
from .weighted import adam_rate, is_finite, row_loss, weight_sumsq, weighted_step

__all__ = ["weighted_epoch_sample"]


# ---------------------------------------------------------------- forward, loss


@jit(inline=True)
def _sample_loss_delta(loss_code, acts, start, T, row, eps, y, deltas):
    # Output activation of the logits acts[start:], the row's loss (float64), and
    # the delta y - t into deltas[start:] (the weight cancels in a batch of one).
    n_out = y.shape[1]
    if loss_code == SOFTMAX_CE:
        top = acts[start]
        for j in range(1, n_out):
            if acts[start + j] > top:
                top = acts[start + j]
        total = y.dtype.type(0)
        for j in range(n_out):
            e = np.exp(acts[start + j] - top)
            y[0, j] = e
            total += e
        for j in range(n_out):
            y[0, j] = y[0, j] / total
    elif loss_code == SIGMOID_BCE:
        for j in range(n_out):
            y[0, j] = _sigmoid_scalar(acts[start + j])
    elif loss_code == EXP_POISSON:
        for j in range(n_out):
            y[0, j] = np.exp(acts[start + j])
    else:
        for j in range(n_out):
            y[0, j] = acts[start + j]
    for j in range(n_out):
        deltas[start + j] = y[0, j] - T[row, j]
    return row_loss(loss_code, y, 0, T, row, eps)


@jit(inline=True)
def _propagate(theta, base, deltas, out, fan_out, code, a):
    # The delta of input unit i of a layer: f'(a_i) * sum_j W_ij delta_j, with the
    # weights as they are before this step's update.
    total = theta.dtype.type(0)
    for j in range(fan_out):
        total += theta[base + j] * deltas[out + j]
    return total * derivative_scalar(code, a)


# ---------------------------------------------------------------- fused steps


@jit
def _sample_backward_sgd(theta, layout, X, row, acts, deltas, velocity, hyper, coef, last_layer):
    # Backward pass of the layers down to last_layer fused with scikit-learn's SGD
    # step (g = a_i * delta_j + coef * W_ij on weights, delta_j on biases); the
    # deltas of last_layer's inputs are written too. Returns the change of sum(W**2).
    dt = theta.dtype.type
    lr, momentum, c = hyper[LR], hyper[SGD_MOMENTUM], dt(coef)
    keep_v = momentum if hyper[SGD_NESTEROV] != 0 else dt(1)
    keep_g = lr if hyper[SGD_NESTEROV] != 0 else dt(0)
    # Without momentum and penalty a zero input leaves its weight row as it is.
    skip_zeros = momentum == 0 and c == 0
    tiny = smallest_normal(theta)
    change = 0.0
    for layer in range(layout.shape[0] - 1, last_layer - 1, -1):
        fan_in = layout[layer, FAN_IN]
        fan_out = layout[layer, FAN_OUT]
        w_start = layout[layer, W_OFFSET]
        b_start = layout[layer, B_OFFSET]
        out = layout[layer, UNIT_OFFSET]
        inp = layout[layer - 1, UNIT_OFFSET] if layer > 0 else np.uint64(0)
        code = layout[layer - 1, ACTIVATION] if layer > 0 else np.uint64(IDENTITY)
        for i in range(fan_in):
            a = X[row, i] if layer == 0 else acts[inp + i]
            base = w_start + i * fan_out
            if layer > 0:
                deltas[inp + i] = _propagate(theta, base, deltas, out, fan_out, code, a)
            if a == 0 and skip_zeros:
                continue
            row_change = dt(0)
            for j in range(fan_out):
                old = theta[base + j]
                g = a * deltas[out + j] + c * old
                v = flush(momentum * velocity[base + j] - lr * g, tiny)
                velocity[base + j] = v
                new = old + (keep_v * v - keep_g * g)
                theta[base + j] = new
                row_change += (new - old) * (new + old)
            change += row_change
        _bias_sgd(theta, velocity, deltas, b_start, out, fan_out, lr, momentum, keep_v, keep_g)
    return change


@jit(inline=True)
def _bias_sgd(theta, velocity, deltas, b_start, out, fan_out, lr, momentum, keep_v, keep_g):
    for j in range(fan_out):
        g = deltas[out + j]
        v = momentum * velocity[b_start + j] - lr * g
        velocity[b_start + j] = v
        theta[b_start + j] += keep_v * v - keep_g * g


@jit
def _sample_backward_adam(theta, layout, X, row, acts, deltas, state, hyper, t, coef):
    # Backward pass fused with scikit-learn's Adam step t. Returns the change of
    # sum(W**2).
    dt = theta.dtype.type
    beta1, beta2, eps = hyper[ADAM_BETA1], hyper[ADAM_BETA2], hyper[ADAM_EPS]
    keep1 = dt(1) - beta1
    keep2 = dt(1) - beta2
    rate = dt(adam_rate(hyper, t))
    c = dt(coef)
    tiny = smallest_normal(theta)
    first, second = state[0], state[1]
    change = 0.0
    for layer in range(layout.shape[0] - 1, -1, -1):
        fan_in = layout[layer, FAN_IN]
        fan_out = layout[layer, FAN_OUT]
        w_start = layout[layer, W_OFFSET]
        b_start = layout[layer, B_OFFSET]
        out = layout[layer, UNIT_OFFSET]
        inp = layout[layer - 1, UNIT_OFFSET] if layer > 0 else np.uint64(0)
        code = layout[layer - 1, ACTIVATION] if layer > 0 else np.uint64(IDENTITY)
        for i in range(fan_in):
            a = X[row, i] if layer == 0 else acts[inp + i]
            base = w_start + i * fan_out
            if layer > 0:
                deltas[inp + i] = _propagate(theta, base, deltas, out, fan_out, code, a)
            row_change = dt(0)
            for j in range(fan_out):
                k = base + j
                old = theta[k]
                g = a * deltas[out + j] + c * old
                m = flush(beta1 * first[k] + keep1 * g, tiny)
                first[k] = m
                v = flush(beta2 * second[k] + keep2 * g * g, tiny)
                second[k] = v
                new = old - rate * m / (np.sqrt(v) + eps)
                theta[k] = new
                row_change += (new - old) * (new + old)
            change += row_change
        for j in range(fan_out):
            k = b_start + j
            g = deltas[out + j]
            m = flush(beta1 * first[k] + keep1 * g, tiny)
            first[k] = m
            v = flush(beta2 * second[k] + keep2 * g * g, tiny)
            second[k] = v
            theta[k] -= rate * m / (np.sqrt(v) + eps)
    return change


@jit
def _sample_gradient(theta, layout, X, row, acts, deltas, grad, coef):
    # Backward pass into grad (for the optimizers not fused above).
    c = theta.dtype.type(coef)
    for layer in range(layout.shape[0] - 1, -1, -1):
        fan_in = layout[layer, FAN_IN]
        fan_out = layout[layer, FAN_OUT]
        w_start = layout[layer, W_OFFSET]
        b_start = layout[layer, B_OFFSET]
        out = layout[layer, UNIT_OFFSET]
        inp = layout[layer - 1, UNIT_OFFSET] if layer > 0 else np.uint64(0)
        code = layout[layer - 1, ACTIVATION] if layer > 0 else np.uint64(IDENTITY)
        for i in range(fan_in):
            a = X[row, i] if layer == 0 else acts[inp + i]
            base = w_start + i * fan_out
            if layer > 0:
                deltas[inp + i] = _propagate(theta, base, deltas, out, fan_out, code, a)
            for j in range(fan_out):
                grad[base + j] = a * deltas[out + j] + c * theta[base + j]
        for j in range(fan_out):
            grad[b_start + j] = deltas[out + j]


# ---------------------------------------------------------------- lazy first layer


@jit
def _zero_input_powers(hyper, coef, n_steps):
    """``A**k`` for k = 0..n_steps, rows ``(a, b, e, f)`` of ``[[a, b], [e, f]]``, float64.

    ``A`` maps a weight and its velocity over one SGD step with zero input:
    ``v' = mu v - lr coef W`` and ``W' = W + kv v' - kg coef W``, with
    ``(kv, kg) = (mu, lr)`` for Nesterov's form and ``(1, 0)`` otherwise.
    """
    lr = np.float64(hyper[LR])
    mu = np.float64(hyper[SGD_MOMENTUM])
    nesterov = hyper[SGD_NESTEROV] != 0
    keep_v = mu if nesterov else 1.0
    keep_g = lr if nesterov else 0.0
    a = 1.0 - keep_v * lr * coef - keep_g * coef
    b = keep_v * mu
    e = -lr * coef
    f = mu
    powers = np.empty((n_steps + 1, 4))
    powers[0, 0], powers[0, 1], powers[0, 2], powers[0, 3] = 1.0, 0.0, 0.0, 1.0
    for k in range(1, n_steps + 1):
        p = powers[k - 1]
        powers[k, 0] = a * p[0] + b * p[2]
        powers[k, 1] = a * p[1] + b * p[3]
        powers[k, 2] = e * p[0] + f * p[2]
        powers[k, 3] = e * p[1] + f * p[3]
    return powers


@jit(inline=True)
def _map_sums(powers, k, sums, i):
    # The row's (sum W**2, sum W v, sum v**2) after (W, v) <- A**k (W, v). (Powers
    # are read by index: a view per row would cost reference counting.)
    a, b, e, f = powers[k, 0], powers[k, 1], powers[k, 2], powers[k, 3]
    ww, wv, vv = sums[i, 0], sums[i, 1], sums[i, 2]
    sums[i, 0] = a * a * ww + 2.0 * a * b * wv + b * b * vv
    sums[i, 1] = a * e * ww + (a * f + b * e) * wv + b * f * vv
    sums[i, 2] = e * e * ww + 2.0 * e * f * wv + f * f * vv


@jit(inline=True)
def _catch_up(theta, velocity, base, width, powers, k):
    # (W, v) <- A**k (W, v) for the `width` weights of one row.
    dt = theta.dtype.type
    a, b, e, f = dt(powers[k, 0]), dt(powers[k, 1]), dt(powers[k, 2]), dt(powers[k, 3])
    for j in range(width):
        weight = theta[base + j]
        speed = velocity[base + j]
        theta[base + j] = a * weight + b * speed
        velocity[base + j] = e * weight + f * speed


@jit
def _catch_up_all(theta, velocity, layout, last, sums, powers, step):
    # Bring every first-layer row up to `step`.
    width = layout[0, FAN_OUT]
    for i in range(layout[0, FAN_IN]):
        k = step - last[i]
        if k > 0:
            _catch_up(theta, velocity, layout[0, W_OFFSET] + i * width, width, powers, k)
            _map_sums(powers, k, sums, i)
            last[i] = step


@jit
def _lazy_sgd_epoch(
    theta, layout, loss_code, X, T, coef, order, eps, velocity, hyper, step, acts, deltas, y,
    step_losses,
):  # fmt: skip
    # The epoch of weighted_epoch_sample for scikit-learn's SGD with one
    # penalty coefficient for every row: the first layer's zero-input rows lazily.
    n_steps = order.shape[0]
    flat = layout.astype(np.uint64)
    layers = flat.shape[0]
    last_units = flat[layers - 1, UNIT_OFFSET]
    n_in = flat[0, FAN_IN]
    width = flat[0, FAN_OUT]
    w_start = flat[0, W_OFFSET]
    b_start = flat[0, B_OFFSET]
    dt = theta.dtype.type
    lr, momentum, c = hyper[LR], hyper[SGD_MOMENTUM], dt(coef)
    keep_v = momentum if hyper[SGD_NESTEROV] != 0 else dt(1)
    keep_g = lr if hyper[SGD_NESTEROV] != 0 else dt(0)
    powers = _zero_input_powers(hyper, coef, n_steps)
    last = np.zeros(n_in, dtype=np.int64)
    sums = np.zeros((n_in, 3))
    for i in range(n_in):
        base = w_start + i * width
        for j in range(width):
            weight = np.float64(theta[base + j])
            speed = np.float64(velocity[base + j])
            sums[i, 0] += weight * weight
            sums[i, 1] += weight * speed
            sums[i, 2] += speed * speed
    # (sum W**2, sum W v, sum v**2) over the first layer's rows, each as it is
    # at the current step (stale rows included), and sum W**2 of the others.
    total_ww, total_wv, total_vv = sums[:, 0].sum(), sums[:, 1].sum(), sums[:, 2].sum()
    other_ww = 0.0
    for layer in range(1, layers):
        start = flat[layer, W_OFFSET]
        for k in range(start, start + flat[layer, FAN_IN] * flat[layer, FAN_OUT]):
            other_ww += np.float64(theta[k]) * np.float64(theta[k])
    nonzero = np.empty(n_in, dtype=np.uint64)
    for s in range(n_steps):
        row = np.uint64(order[s])
        count = 0
        for i in range(n_in):
            nonzero[count] = i
            count += X[row, i] != 0
        # First layer: bring each row with a non-zero input up to date, add it in.
        for j in range(width):
            acts[j] = theta[b_start + j]
        for q in range(count):
            i = nonzero[q]
            base = w_start + i * width
            k = s - last[i]
            if k > 0:
                _catch_up(theta, velocity, base, width, powers, k)
                _map_sums(powers, k, sums, i)
                last[i] = s
            a = X[row, i]
            for j in range(width):
                acts[j] += a * theta[base + j]
        if layers > 1:
            activate_flat(flat[0, ACTIVATION], acts, 0, width)
        sample_forward(theta, flat, X, row, acts, 1, acts, False)
        loss = _sample_loss_delta(loss_code, acts, last_units, T, row, eps, y, deltas)
        loss += 0.5 * coef * (total_ww + other_ww)
        step_losses[s] = loss
        if not is_finite(loss):
            _catch_up_all(theta, velocity, flat, last, sums, powers, s)
            return s
        step[0] += 1
        other_ww += _sample_backward_sgd(
            theta, flat, X, row, acts, deltas, velocity, hyper, coef, 1
        )
        # First layer: the rows with a non-zero input take their step; the others
        # are left for later, and only their sums are stepped on, through A.
        removed_ww = removed_wv = removed_vv = 0.0
        added_ww = added_wv = added_vv = 0.0
        for q in range(count):
            i = nonzero[q]
            base = w_start + i * width
            a = X[row, i]
            removed_ww += sums[i, 0]
            removed_wv += sums[i, 1]
            removed_vv += sums[i, 2]
            new_ww = new_wv = new_vv = dt(0)
            for j in range(width):
                old = theta[base + j]
                g = a * deltas[j] + c * old
                v = momentum * velocity[base + j] - lr * g
                velocity[base + j] = v
                new = old + (keep_v * v - keep_g * g)
                theta[base + j] = new
                new_ww += new * new
                new_wv += new * v
                new_vv += v * v
            sums[i, 0], sums[i, 1], sums[i, 2] = new_ww, new_wv, new_vv
            added_ww += new_ww
            added_wv += new_wv
            added_vv += new_vv
            last[i] = s + 1
        _bias_sgd(theta, velocity, deltas, b_start, np.uint64(0), width, lr, momentum, keep_v,
                  keep_g)  # fmt: skip
        ww, wv, vv = total_ww - removed_ww, total_wv - removed_wv, total_vv - removed_vv
        a, b, e, f = powers[1, 0], powers[1, 1], powers[1, 2], powers[1, 3]
        total_ww = a * a * ww + 2.0 * a * b * wv + b * b * vv + added_ww
        total_wv = a * e * ww + (a * f + b * e) * wv + b * f * vv + added_wv
        total_vv = e * e * ww + 2.0 * e * f * wv + f * f * vv + added_vv
    _catch_up_all(theta, velocity, flat, last, sums, powers, n_steps)
    return n_steps


# ---------------------------------------------------------------- the epoch


@jit
def _uniform(w, order):
    # True if every row the epoch visits has the same sample weight.
    first = w[order[0]]
    for s in range(order.shape[0]):
        if w[order[s]] != first:
            return False
    return True


@jit
def weighted_epoch_sample(group, member, w, alpha, eps):
    """Train one epoch one row at a time (batches of one) in the given order.

    The same training as :func:`.weighted.weighted_epoch_batch` with
    ``batch_size=1``.

    Parameters
    ----------
    group, member, w, alpha, eps
        As in :func:`.weighted.weighted_epoch_batch` (``member.grad`` is used only by
        the optimizers that are not fused; ``member.x`` and ``member.t`` not at all).

    Returns
    -------
    int
        Steps completed.
    """
    layout, loss_code, opt_code, _, X, T = group
    theta, order, step_losses = member.theta, member.order, member.losses
    state, hyper, step, grad = member.state, member.hyper, member.step, member.grad
    acts, deltas, y = member.acts, member.deltas, member.y
    n_steps = order.shape[0]
    if n_steps == 0:
        return 0
    if opt_code == SKLEARN_SGD and w[order[0]] != 0 and _uniform(w, order):
        coef = alpha / np.float64(w[order[0]])
        return _lazy_sgd_epoch(
            theta, layout, loss_code, X, T, coef, order, eps, state[0], hyper, step, acts,
            deltas, y, step_losses,
        )  # fmt: skip
    flat = layout.astype(np.uint64)
    last_units = flat[flat.shape[0] - 1, UNIT_OFFSET]
    # sum(W**2) for the penalty's share of each loss, kept up to date by the
    # fused steps rather than recomputed over every weight at every row.
    sumsq = weight_sumsq(theta, layout) if alpha != 0 else 0.0
    for s in range(n_steps):
        row = np.uint64(order[s])
        weight = np.float64(w[row])
        if weight == 0:
            step_losses[s] = 0.0
            continue
        sample_forward(theta, flat, X, row, acts, 0, acts, False)
        loss = _sample_loss_delta(loss_code, acts, last_units, T, row, eps, y, deltas)
        coef = alpha / weight
        loss += 0.5 * coef * sumsq
        step_losses[s] = loss
        if not is_finite(loss):
            return s
        if opt_code == SKLEARN_SGD:
            step[0] += 1
            sumsq += _sample_backward_sgd(
                theta, flat, X, row, acts, deltas, state[0], hyper, coef, 0
            )
        elif opt_code == SKLEARN_ADAM:
            step[0] += 1
            sumsq += _sample_backward_adam(
                theta, flat, X, row, acts, deltas, state, hyper, step[0], coef
            )
        else:
            _sample_gradient(theta, flat, X, row, acts, deltas, grad, coef)
            weighted_step(opt_code, theta, grad, state, hyper, step)
            if alpha != 0:
                sumsq = weight_sumsq(theta, layout)
    return n_steps
