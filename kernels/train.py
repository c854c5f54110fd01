"""Fused epoch loops: one call trains one whole epoch.

The sample order comes in as an index array (shuffling stays in Python with a
seeded generator). Every buffer is allocated once by the caller and passed in;
nothing is allocated per sample or per batch.

Both loops record, per step, the loss before the update and the number of
correctly classified rows, and stop at the first non-finite loss, returning the
number of steps completed (the update of the failing step is not applied).

Dropout (inverted): with rate ``p`` for a hidden layer, each of its outputs is kept
with probability ``1 - p`` and scaled by ``1 / (1 - p)`` during training. Which
units are kept comes from :func:`dropout_uniform`, a hash of the network's dropout
key, the global step count, the row within the batch and the unit: the same
stream in every kernel and in :mod:`fastnn.kernels.reference`, whatever order or
chunks the epoch runs in.
"""

import functools

import numpy as np

from ._intrinsics import prefetch_row
from ._jit import jit
from .activations import activation_forward, activation_scalar, derivative_scalar
from .codes import (
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
    SGD_MOMENTUM,
    SIGMOID,
    SIGMOID_BCE,
    SOFTMAX_CE,
    UNIT_OFFSET,
    W_OFFSET,
    WEIGHT_DECAY,
)
from .dense import dense_backward_input, dense_backward_params, dense_forward
from .losses import count_correct, loss_and_delta
from .network import backward, forward, layer_block, layer_weights
from .optimizers import optimizer_step, step_lr
from .tuning import SKIP_ZEROS_MIN_WIDTH, WIDE_INPUT

# The per-sample loop works on flat indices into theta, X and the work buffers
# rather than on array views: at a few dozen nanoseconds per sample, creating
# views (and their reference counts) would cost more than the arithmetic. The
# indices are unsigned (`layout` arrives as uint64) because Numba wraps negative
# signed indices around, and that per-access check stops LLVM vectorising.

# Multipliers of the dropout hash (splitmix64's, and two odd constants).
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ROW = np.uint64(0xC2B2AE3D27D4EB4F)
_UNIT = np.uint64(0x165667B19E3779F9)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


# The per-sample loop's helpers below are compiled once each and called (LLVM still
# inlines them into the loop), not inlined at Numba's IR level: IR inlining typed each
# body again at every call site of the four loop variants, and a cold first fit of
# 784-40-10 spent 10.7 s compiling instead of about 6.5 s, for no speed.
@jit
def dropout_uniform(key, step, row, unit):
    """A uniform number in [0, 1) for dropout: a hash of its four integer arguments.

    splitmix64's finaliser over ``key ^ step*c1 ^ row*c2 ^ unit*c3`` (unsigned,
    wrapping), the top 53 bits as a float64.
    """
    z = (
        np.uint64(key)
        ^ (np.uint64(step) * _GOLDEN)
        ^ (np.uint64(row) * _ROW)
        ^ (np.uint64(unit) * _UNIT)
    )
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit
def dropout_keep(layout, dropout, key, step, row, keep, start):
    """Write each hidden unit's dropout factor (0 or 1/(1-p); 1 without dropout).

    ``keep[start + UNIT_OFFSET + j]`` for unit ``j`` of every hidden layer.
    """
    for layer in range(layout.shape[0] - 1):
        rate = dropout[layer]
        out = np.uint64(layout[layer, UNIT_OFFSET])
        fan_out = np.uint64(layout[layer, FAN_OUT])
        if rate > 0:
            scale = keep.dtype.type(1.0 / (1.0 - rate))
            zero = keep.dtype.type(0)
            for j in range(fan_out):
                unit = out + j
                drawn = dropout_uniform(key, step, row, unit)
                keep[start + unit] = scale if drawn >= rate else zero
        else:
            for j in range(fan_out):
                keep[start + out + j] = 1


@jit
def sample_forward(theta, layout, X, row, acts, first_layer, keep, dropping):
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
            if dropping and layer < layers - 1:
                acts[out] *= keep[out]
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
        activate_flat(code, acts, out, fan_out)
        if dropping and layer < layers - 1:
            for j in range(fan_out):
                acts[out + j] *= keep[out + j]


@jit
def activate_flat(code, acts, start, count):
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


@jit
def sample_loss_delta(loss_code, acts, start, T, row, y, delta):
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


@jit
def sample_correct(loss_code, y, T, row):
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


@jit
def _slope(code, ai, keep, unit, dropping):
    # f'(u) of a hidden unit from its stored output ai, times its dropout
    # factor k: the stored output is f(u) * k, so f' is taken at ai / k (k is 0
    # for a dropped unit, whose delta is then 0).
    if not dropping:
        return derivative_scalar(code, ai)
    k = keep[unit]
    if k == 0:
        return 0.0
    return derivative_scalar(code, ai / k) * k


@jit
def _sample_backward(
    theta, layout, X, row, acts, deltas, grad, lr, plain_sgd, last_layer, keep, dropping
):
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
            if plain_sgd and code == RELU and not dropping:
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
                    deltas[inp + i] = w * d * _slope(code, ai, keep, inp + i, dropping)
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
                slope = _slope(code, ai, keep, inp + i, dropping)
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


@jit
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
        activate_flat(layout[0, ACTIVATION], acts, out, fan_out)


def sample_variant(group, member):
    """The kind of per-sample loop a network and optimizer take: ``(plain_sgd, dropping)``.

    ``plain_sgd`` is SGD without momentum or weight decay (it updates ``theta``
    inside backprop, with no optimizer step), ``dropping`` is dropout in any layer.
    Computed in Python, from the values the compiled loop reads.
    """
    hyper = member.hyper
    plain_sgd = group.opt_code == SGD and hyper[SGD_MOMENTUM] == 0 and hyper[WEIGHT_DECAY] == 0
    return bool(plain_sgd), bool(np.any(member.dropout[:-1] > 0))


def train_epoch_sample(group, member):
    """Train one epoch of per-sample SGD (batch size 1) in ``member.order``.

    The compiled loop is :func:`sample_epoch_kernel` of this network's
    :func:`sample_variant`, compiled on first use for that kind of network only.

    Parameters
    ----------
    group : Group
        The layout, loss, optimizer code and data (:mod:`.bundles`).
    member : Member
        The network's arrays (:mod:`.bundles`): ``theta``, the optimizer's ``state``
        and ``step``, and the record ``losses``/``correct`` are written; ``grad`` is
        unused by plain SGD, which updates ``theta`` directly; ``x`` and ``t`` are
        not used. Dropout masks come from :func:`dropout_uniform`.

    Returns
    -------
    int
        Steps completed: ``len(order)``, or the index of the first non-finite loss.
    """
    return sample_epoch_kernel(*sample_variant(group, member))(group, member)


@functools.cache
def sample_epoch_kernel(plain_sgd, dropping):
    """The compiled per-sample epoch ``(group, member) -> steps`` of one :func:`sample_variant`.

    ``plain_sgd`` and ``dropping`` are constants of the compiled code (free
    variables of this closure), so Numba drops the branches the network never
    takes before it compiles: plain SGD has no optimizer step and a network
    without dropout no dropout code. Each of the four loops compiles in about
    half the time one loop for every case took; Numba's disk cache keys each on
    its constants.
    """

    @jit
    def train_epoch(group, member):
        layout, loss_code, X, T = group.layout, group.loss_code, group.X, group.T
        theta, state, hyper, step, order = (
            member.theta,
            member.state,
            member.hyper,
            member.step,
            member.order,
        )
        grad, acts, deltas, y = member.grad, member.acts, member.deltas, member.y
        step_losses, step_correct = member.losses, member.correct
        dropout, dropout_key = member.dropout, member.dropout_key
        n_steps = order.shape[0]
        last_units = np.uint64(layout[layout.shape[0] - 1, UNIT_OFFSET])
        y_row = y[0]
        unsigned_layout = layout.astype(np.uint64)
        # The dropout factors; without dropout never read (any array of that type will
        # do, and allocating one would compile np.ones into the loop for nothing).
        keep = np.ones(acts.shape[0], dtype=acts.dtype) if dropping else acts
        key = dropout_key[0]
        # Plain SGD on a wide first layer pipelines it: its forward pass for step
        # s + 1 runs inside step s's update (_sgd_input_layer), so each step starts
        # at layer 1. A narrow first layer is cheaper to run the plain way. (With
        # dropout the next sample's mask is not drawn yet: no pipelining.)
        pipelined = (
            plain_sgd
            and not dropping
            and (layout[0, FAN_OUT] >= SKIP_ZEROS_MIN_WIDTH or layout[0, FAN_IN] >= WIDE_INPUT)
        )
        # Variables, not literals, at every call below: a literal argument would
        # compile a helper once more for its value.
        first_layer = np.int64(1) if pipelined else np.int64(0)
        if pipelined and n_steps > 0:
            # (no dropout when pipelined: `dropping` is False here)
            zero = first_layer - first_layer
            sample_forward(
                theta, unsigned_layout, X, np.uint64(order[0]), acts, zero, keep, dropping
            )
        for s in range(n_steps):
            row = np.uint64(order[s])
            has_next = s + 1 < n_steps
            next_row = np.uint64(order[s + 1]) if has_next else row
            if has_next:
                prefetch_row(X, next_row)
                prefetch_row(T, next_row)
            if dropping:
                dropout_keep(unsigned_layout, dropout, key, step[0], 0, keep, 0)
            sample_forward(theta, unsigned_layout, X, row, acts, first_layer, keep, dropping)
            loss = sample_loss_delta(loss_code, acts, last_units, T, row, y_row, deltas)
            step_losses[s] = loss
            if loss_code != MSE:  # regression leaves the (untouched, zero) counts alone
                step_correct[s] = sample_correct(loss_code, y_row, T, row)
            if not np.isfinite(loss):
                return s
            lr = step_lr(hyper, step[0] + 1)
            _sample_backward(
                theta,
                unsigned_layout,
                X,
                row,
                acts,
                deltas,
                grad,
                lr,
                plain_sgd,
                first_layer,
                keep,
                dropping,
            )
            if pipelined:
                _sgd_input_layer(
                    theta, unsigned_layout, X, row, next_row, has_next, acts, deltas, lr
                )
            if plain_sgd:
                step[0] += 1
            else:
                optimizer_step(group.opt_code, theta, grad, state, hyper, step)
        return n_steps

    return train_epoch


# The four loops by name, for the kernels that call them (kernels.parallel): Numba
# caches a function that calls a module-level kernel, not one that closes over it.
epoch_sample_sgd = sample_epoch_kernel(True, False)
epoch_sample_sgd_dropout = sample_epoch_kernel(True, True)
epoch_sample_stateful = sample_epoch_kernel(False, False)
epoch_sample_stateful_dropout = sample_epoch_kernel(False, True)


@jit
def train_epoch_batch(group, member):
    """Train one epoch of mini-batch gradient descent in ``member.order``.

    The last batch holds the remainder when ``group.batch_size`` does not divide
    ``len(order)``; ``batch_size >= len(order)`` is full-batch descent.

    Parameters
    ----------
    group, member
        As in :func:`train_epoch_sample`; ``x`` and ``t`` hold a batch's rows, and
        row ``r`` of a batch draws its dropout mask with ``row=r``.

    Returns
    -------
    int
        Batches completed.
    """
    layout, loss_code, opt_code, batch_size, X, T = group
    theta, order, state, hyper = member.theta, member.order, member.state, member.hyper
    step, grad, x_batch, t_batch = member.step, member.grad, member.x, member.t
    acts, deltas, y, batch_losses = member.acts, member.deltas, member.y, member.losses
    batch_correct, dropout, dropout_key = member.correct, member.dropout, member.dropout_key
    n_rows = order.shape[0]
    n_batches = (n_rows + batch_size - 1) // batch_size
    last = layout.shape[0] - 1
    dropping = False
    for layer in range(last):
        dropping = dropping or dropout[layer] > 0
    keep = np.ones(acts.shape[0], dtype=acts.dtype)
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
        if dropping:
            _batch_keep(layout, dropout, dropout_key[0], step[0], m, keep)
            _forward_dropout(theta, layout, xb, acts, keep)
        else:
            forward(theta, layout, xb, acts)
        z = layer_block(acts, layout, last, m)
        delta = layer_block(deltas, layout, last, m)
        loss = loss_and_delta(loss_code, z, tb, yb, delta)
        batch_losses[bi] = loss
        batch_correct[bi] = count_correct(loss_code, yb, tb)
        if not np.isfinite(loss):
            return bi
        if dropping:
            _backward_dropout(theta, layout, xb, acts, deltas, grad, keep)
        else:
            backward(theta, layout, xb, acts, deltas, grad)
        optimizer_step(opt_code, theta, grad, state, hyper, step)
    return n_batches


@jit
def _batch_keep(layout, dropout, key, step, batch, keep):
    # Each hidden unit's dropout factor for each row of the batch, laid out as
    # the batch's activations (layer blocks of batch x fan_out).
    for layer in range(layout.shape[0] - 1):
        block = layer_block(keep, layout, layer, batch)
        rate = dropout[layer]
        out = layout[layer, UNIT_OFFSET]
        if rate > 0:
            scale = keep.dtype.type(1.0 / (1.0 - rate))
            zero = keep.dtype.type(0)
            for r in range(batch):
                for j in range(block.shape[1]):
                    drawn = dropout_uniform(key, step, r, out + j)
                    block[r, j] = scale if drawn >= rate else zero
        else:
            block[:, :] = 1


@jit
def _forward_dropout(theta, layout, x, acts, keep):
    # network.forward with each hidden layer's outputs multiplied by their
    # dropout factors.
    batch = x.shape[0]
    layers = layout.shape[0]
    a_prev = x
    for layer in range(layers):
        W, b = layer_weights(theta, layout, layer)
        u = layer_block(acts, layout, layer, batch)
        dense_forward(a_prev, W, b, u)
        if layer < layers - 1:
            activation_forward(layout[layer, ACTIVATION], u, u)
            k = layer_block(keep, layout, layer, batch)
            for r in range(batch):
                for j in range(u.shape[1]):
                    u[r, j] *= k[r, j]
        a_prev = u


@jit
def _backward_dropout(theta, layout, x, acts, deltas, grad, keep):
    # network.backward through dropped-out hidden outputs: the stored output
    # is f(u) * k, so the delta below is (delta W^T) * k * f'(u), with f' taken
    # at the output / k (0 for a dropped unit).
    batch = x.shape[0]
    for layer in range(layout.shape[0] - 1, -1, -1):
        delta = layer_block(deltas, layout, layer, batch)
        dW, db = layer_weights(grad, layout, layer)
        if layer == 0:
            dense_backward_params(x, delta, dW, db)
        else:
            a_prev = layer_block(acts, layout, layer - 1, batch)
            dense_backward_params(a_prev, delta, dW, db)
            W, _ = layer_weights(theta, layout, layer)
            delta_prev = layer_block(deltas, layout, layer - 1, batch)
            dense_backward_input(delta, W, delta_prev)
            code = layout[layer - 1, ACTIVATION]
            k = layer_block(keep, layout, layer - 1, batch)
            for r in range(batch):
                for j in range(delta_prev.shape[1]):
                    factor = k[r, j]
                    if factor == 0:
                        delta_prev[r, j] = 0
                    else:
                        slope = derivative_scalar(code, a_prev[r, j] / factor) * factor
                        delta_prev[r, j] *= slope
