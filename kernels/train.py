"""Fused epoch loops: one call trains one whole epoch.

The sample order comes in as an index array (shuffling stays in Python with a
seeded generator). Every buffer is allocated once by the caller and passed in;
nothing is allocated per sample or per batch.

Both loops record, per step, the loss before the update and the number of
correctly classified rows, and stop at the first non-finite loss, returning the
number of steps completed (the update of the failing step is not applied).
"""

import numpy as np

from kernels._intrinsics import prefetch_row
from kernels._jit import jit
from kernels.activations import activation_scalar, derivative_scalar
from kernels.codes import (
    ACTIVATION,
    B_OFFSET,
    FAN_IN,
    FAN_OUT,
    IDENTITY,
    LEAKY_RELU,
    LEAKY_RELU_SLOPE,
    MSE,
    RELU,
    SGD,
    SIGMOID,
    SIGMOID_BCE,
    SOFTMAX_CE,
    UNIT_OFFSET,
    W_OFFSET,
)
from kernels.losses import count_correct, loss_and_delta
from kernels.network import backward, forward, layer_block
from kernels.optimizers import optimizer_step

# The per-sample loop works on flat indices into theta, X and the work buffers
# rather than on array views: at a few dozen nanoseconds per sample, creating
# views (and their reference counts) would cost more than the arithmetic. The
# indices are unsigned (`layout` arrives as uint64) because Numba wraps negative
# signed indices around, and that per-access check stops LLVM vectorising.

# Skipping a zero input (a blank pixel, an inactive ReLU) saves a row of work
# but costs a branch that mispredicts often; it pays only for wide rows.
SKIP_ZEROS_MIN_WIDTH = 16
# Inputs this wide (images) have long runs of zeros in the same places, so
# skipping them branches predictably even when the layer's rows are narrow.
WIDE_INPUT = 64


@jit(inline=True)
def _sample_forward(theta, layout, X, row, acts, first_layer):
    # acts[UNIT_OFFSET + j] = f(b[j] + sum_i a_prev[i] * W[i, j]) for the layers
    # from `first_layer` on; zero inputs skipped in wide layers.
    layers = layout.shape[0]
    for layer in range(first_layer, layers):
        fan_in = layout[layer, FAN_IN]
        fan_out = layout[layer, FAN_OUT]
        w_start = layout[layer, W_OFFSET]
        b_start = layout[layer, B_OFFSET]
        out = layout[layer, UNIT_OFFSET]
        inp = layout[layer - 1, UNIT_OFFSET] if layer > 0 else np.uint64(0)
        code = layout[layer, ACTIVATION] if layer < layers - 1 else np.uint64(IDENTITY)
        if fan_out == 1:
            # One output unit: a contiguous dot product.
            total = theta[b_start]
            for i in range(fan_in):
                ai = X[row, i] if layer == 0 else acts[inp + i]
                total += ai * theta[w_start + i]
            acts[out] = activation_scalar(code, total)
            continue
        # Accumulate row by row (contiguous, vectorised over the outputs); in
        # wide layers, skip zero inputs.
        skip_zeros = fan_out >= SKIP_ZEROS_MIN_WIDTH
        for j in range(fan_out):
            acts[out + j] = theta[b_start + j]
        for i in range(fan_in):
            ai = X[row, i] if layer == 0 else acts[inp + i]
            if ai != 0 or not skip_zeros:
                base = w_start + i * fan_out
                for j in range(fan_out):
                    acts[out + j] += ai * theta[base + j]
        _activate_flat(code, acts, out, fan_out)


@jit(inline=True)
def _activate_flat(code, acts, start, count):
    slope = acts.dtype.type(LEAKY_RELU_SLOPE)
    if code == RELU:
        for j in range(start, start + count):
            if acts[j] < 0:
                acts[j] = 0
    elif code == LEAKY_RELU:
        for j in range(start, start + count):
            if acts[j] < 0:
                acts[j] *= slope
    elif code != IDENTITY:
        for j in range(start, start + count):
            acts[j] = activation_scalar(code, acts[j])


@jit(inline=True)
def _sample_loss_delta(loss_code, acts, start, T, row, y, delta):
    # Output activation, loss and delta (y - t) for one sample; returns the loss.
    n_out = y.shape[0]
    loss = 0.0
    if loss_code == SOFTMAX_CE:
        top = acts[start]
        for j in range(1, n_out):
            if acts[start + j] > top:
                top = acts[start + j]
        total = 0.0
        for j in range(n_out):
            e = np.exp(np.float64(acts[start + j]) - top)
            y[j] = e
            total += e
        log_sum_exp = top + np.log(total)
        for j in range(n_out):
            y[j] = y[j] / total
            loss += T[row, j] * (log_sum_exp - acts[start + j])
    elif loss_code == SIGMOID_BCE:
        for j in range(n_out):
            v = np.float64(acts[start + j])
            y[j] = activation_scalar(SIGMOID, v)
            loss += max(v, 0.0) - v * T[row, j] + np.log1p(np.exp(-abs(v)))
    else:
        for j in range(n_out):
            y[j] = acts[start + j]
            diff = np.float64(y[j]) - T[row, j]
            loss += 0.5 * diff * diff
    for j in range(n_out):
        delta[start + j] = y[j] - T[row, j]
    return loss


@jit(inline=True)
def _sample_correct(loss_code, y, T, row):
    n_out = y.shape[0]
    if loss_code == SOFTMAX_CE:
        best_y = 0
        best_t = 0
        for j in range(1, n_out):
            if y[j] > y[best_y]:
                best_y = j
            if T[row, j] > T[row, best_t]:
                best_t = j
        return 1.0 if best_y == best_t else 0.0
    if loss_code == SIGMOID_BCE:
        hits = 0
        for j in range(n_out):
            if (y[j] >= 0.5) == (T[row, j] >= 0.5):
                hits += 1
        return hits / n_out
    return 0.0


@jit(inline=True)
def _sample_backward(theta, layout, X, row, acts, deltas, grad, lr, plain_sgd, last_layer):
    # Walk down the layers with the output delta already in `deltas`. Each
    # weight row is read once: the delta is propagated with the *old* weights
    # and, for plain SGD, the row is updated in the same pass (no gradient
    # buffer); otherwise the gradient row is written to `grad`. In wide layers
    # zero inputs (pixels, ReLU outputs) and units whose derivative is zero
    # are skipped: they change nothing.
    # Layers below `last_layer` are left alone (see _sgd_input_layer).
    dt = theta.dtype.type
    for layer in range(layout.shape[0] - 1, last_layer - 1, -1):
        fan_in = layout[layer, FAN_IN]
        fan_out = layout[layer, FAN_OUT]
        w_start = layout[layer, W_OFFSET]
        b_start = layout[layer, B_OFFSET]
        out = layout[layer, UNIT_OFFSET]
        inp = layout[layer - 1, UNIT_OFFSET] if layer > 0 else np.uint64(0)
        code = layout[layer - 1, ACTIVATION] if layer > 0 else np.uint64(IDENTITY)
        skip_zeros = fan_out >= SKIP_ZEROS_MIN_WIDTH
        if fan_out == 1 and layer > 0:
            # One output unit (regression, binary): one pass, no inner loops.
            d = deltas[out]
            if plain_sgd and code == RELU:
                # The course's regression network: branch-free, so it vectorises.
                zero = dt(0)
                for i in range(fan_in):
                    ai = acts[inp + i]
                    w = theta[w_start + i]
                    deltas[inp + i] = w * d if ai > 0 else zero
                    theta[w_start + i] = w - lr * ai * d
            else:
                for i in range(fan_in):
                    ai = acts[inp + i]
                    w = theta[w_start + i]
                    deltas[inp + i] = w * d * derivative_scalar(code, ai)
                    if plain_sgd:
                        theta[w_start + i] = w - lr * ai * d
                    else:
                        grad[w_start + i] = ai * d
            if plain_sgd:
                theta[b_start] -= lr * d
            else:
                grad[b_start] = d
            continue
        for i in range(fan_in):
            ai = X[row, i] if layer == 0 else acts[inp + i]
            base = w_start + i * fan_out
            if layer > 0:
                slope = derivative_scalar(code, ai)
                if slope != 0 or not skip_zeros:
                    total = dt(0)
                    for j in range(fan_out):
                        total += theta[base + j] * deltas[out + j]
                    deltas[inp + i] = total * slope
                else:
                    deltas[inp + i] = 0
            if plain_sgd:
                if ai != 0 or not skip_zeros:
                    rate = lr * ai
                    for j in range(fan_out):
                        theta[base + j] -= rate * deltas[out + j]
            else:
                for j in range(fan_out):
                    grad[base + j] = ai * deltas[out + j]
        if plain_sgd:
            for j in range(fan_out):
                theta[b_start + j] -= lr * deltas[out + j]
        else:
            for j in range(fan_out):
                grad[b_start + j] = deltas[out + j]


@jit(inline=True)
def _sgd_input_layer(theta, layout, X, row, next_row, has_next, acts, deltas, lr):
    # Plain SGD's update of the first layer for sample `row`, fused with the
    # first layer's forward pass for the next sample: W changes by
    # -lr * outer(x, delta) and the next sample needs x_next @ W with the new
    # W, so one pass over W does both. W is the largest array of a per-sample
    # network (784 x 40) and streaming it once per sample instead of twice is
    # what makes this loop fast. The arithmetic is the same as doing the two
    # one after the other.
    fan_in = layout[0, FAN_IN]
    fan_out = layout[0, FAN_OUT]
    w_start = layout[0, W_OFFSET]
    b_start = layout[0, B_OFFSET]
    out = layout[0, UNIT_OFFSET]
    # Only pipelined layers come here, wide ones, where zero inputs are skipped.
    for j in range(fan_out):
        theta[b_start + j] -= lr * deltas[out + j]
    if not has_next:
        for i in range(fan_in):
            xi = X[row, i]
            if xi != 0:
                base = w_start + i * fan_out
                rate = lr * xi
                for j in range(fan_out):
                    theta[base + j] -= rate * deltas[out + j]
        return
    # `acts` accumulates the next sample's pre-activations, starting from the
    # bias just updated.
    for j in range(fan_out):
        acts[out + j] = theta[b_start + j]
    for i in range(fan_in):
        xi = X[row, i]
        xn = X[next_row, i]
        base = w_start + i * fan_out
        if xi != 0 or xn != 0:
            rate = lr * xi
            for j in range(fan_out):
                w = theta[base + j] - rate * deltas[out + j]
                theta[base + j] = w
                acts[out + j] += xn * w
    if layout.shape[0] > 1:
        _activate_flat(layout[0, ACTIVATION], acts, out, fan_out)


@jit
def train_epoch_sample(
    theta,
    layout,
    loss_code,
    X,
    T,
    order,
    opt_code,
    state,
    hyper,
    step,
    grad,
    acts,
    deltas,
    y,
    step_losses,
    step_correct,
):
    """Train one epoch of per-sample SGD (batch size 1) in the given order.

    Parameters
    ----------
    theta : ndarray, shape (n_params,)
        Updated in place.
    layout : ndarray of int64, shape (layers, 6)
    loss_code : int
    X : ndarray, shape (n_samples, inputs)
    T : ndarray, shape (n_samples, outputs)
    order : ndarray of int64, shape (n_steps,)
        Row of ``X`` used at each step.
    opt_code, state, hyper, step
        The optimizer (:mod:`kernels.optimizers`); ``state`` and ``step`` are
        updated in place.
    grad : ndarray, shape (n_params,)
        Work buffer (unused by plain SGD, which updates ``theta`` directly).
    acts, deltas : ndarray, shape (>= units,)
        Work buffers (:mod:`kernels.network`).
    y : ndarray, shape (1, outputs)
        Work buffer.
    step_losses, step_correct : ndarray of float64, shape (n_steps,)
        Written with each step's loss (before its update) and correct count.

    Returns
    -------
    int
        Steps completed: ``n_steps``, or the index of the first non-finite loss.
    """
    n_steps = order.shape[0]
    last_units = np.uint64(layout[layout.shape[0] - 1, UNIT_OFFSET])
    plain_sgd = opt_code == SGD and hyper[1] == 0 and hyper[4] == 0
    lr = hyper[0]
    y_row = y[0]
    unsigned_layout = layout.astype(np.uint64)
    # Plain SGD on a wide first layer pipelines it: its forward pass for step
    # s + 1 runs inside step s's update (_sgd_input_layer), so each step starts
    # at layer 1. A narrow first layer is cheaper to run the plain way.
    pipelined = plain_sgd and (
        layout[0, FAN_OUT] >= SKIP_ZEROS_MIN_WIDTH or layout[0, FAN_IN] >= WIDE_INPUT
    )
    first_layer = 1 if pipelined else 0
    if pipelined and n_steps > 0:
        _sample_forward(theta, unsigned_layout, X, np.uint64(order[0]), acts, 0)
    for s in range(n_steps):
        row = np.uint64(order[s])
        has_next = s + 1 < n_steps
        next_row = np.uint64(order[s + 1]) if has_next else row
        if has_next:
            prefetch_row(X, next_row)
            prefetch_row(T, next_row)
        _sample_forward(theta, unsigned_layout, X, row, acts, first_layer)
        loss = _sample_loss_delta(loss_code, acts, last_units, T, row, y_row, deltas)
        step_losses[s] = loss
        if loss_code != MSE:  # regression leaves the (untouched, zero) counts alone
            step_correct[s] = _sample_correct(loss_code, y_row, T, row)
        if not np.isfinite(loss):
            return s
        _sample_backward(
            theta, unsigned_layout, X, row, acts, deltas, grad, lr, plain_sgd, first_layer
        )
        if pipelined:
            _sgd_input_layer(theta, unsigned_layout, X, row, next_row, has_next, acts, deltas, lr)
        if plain_sgd:
            step[0] += 1
        else:
            optimizer_step(opt_code, theta, grad, state, hyper, step)
    return n_steps


@jit
def train_epoch_batch(
    theta,
    layout,
    loss_code,
    X,
    T,
    order,
    batch_size,
    opt_code,
    state,
    hyper,
    step,
    grad,
    x_batch,
    t_batch,
    acts,
    deltas,
    y,
    batch_losses,
    batch_correct,
):
    """Train one epoch of mini-batch gradient descent in the given order.

    The last batch holds the remainder when ``batch_size`` does not divide
    ``len(order)``; ``batch_size >= len(order)`` is full-batch descent.

    Parameters
    ----------
    theta, layout, loss_code, X, T, order, opt_code, state, hyper, step, grad
        As in :func:`train_epoch_sample`.
    batch_size : int
    x_batch : ndarray, shape (batch_size, inputs)
    t_batch, y : ndarray, shape (batch_size, outputs)
    acts, deltas : ndarray, shape (>= batch_size * units,)
        Work buffers.
    batch_losses, batch_correct : ndarray of float64, shape (n_batches,)
        Written with each batch's mean loss and correct count.

    Returns
    -------
    int
        Batches completed.
    """
    n_rows = order.shape[0]
    n_batches = (n_rows + batch_size - 1) // batch_size
    last = layout.shape[0] - 1
    for bi in range(n_batches):
        start = bi * batch_size
        m = min(batch_size, n_rows - start)
        xb = x_batch[:m]
        tb = t_batch[:m]
        yb = y[:m]
        for r in range(m):
            row = order[start + r]
            xb[r, :] = X[row]
            tb[r, :] = T[row]
        forward(theta, layout, xb, acts)
        z = layer_block(acts, layout, last, m)
        delta = layer_block(deltas, layout, last, m)
        loss = loss_and_delta(loss_code, z, tb, yb, delta)
        batch_losses[bi] = loss
        batch_correct[bi] = count_correct(loss_code, yb, tb)
        if not np.isfinite(loss):
            return bi
        backward(theta, layout, xb, acts, deltas, grad)
        optimizer_step(opt_code, theta, grad, state, hyper, step)
    return n_batches
