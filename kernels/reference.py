"""The compiled kernels again, in plain textbook NumPy: the definition of correct.

Every public kernel of :mod:`fastnn.kernels` has a twin here with the same name and
signature, written the way the course writes it (``u = np.dot(x, W) + b``,
``delta = np.dot(delta, W.T) * f'(a)``, whole-vector optimizer formulas). The
tests compare each kernel to its twin, and ``MLP(backend="numpy")`` trains on
these functions: it is the NumPy baseline of every benchmark.
"""

import numpy as np

from . import codes as slot
from .bundles import Group, Member
from .codes import (
    ACTIVATION,
    ADADELTA,
    ADAGRAD,
    ADAM,
    B_OFFSET,
    FAN_IN,
    FAN_OUT,
    IDENTITY,
    LEAKY_RELU,
    LEAKY_RELU_SLOPE,
    RELU,
    RMSPROP,
    SGD,
    SIGMOID,
    SIGMOID_BCE,
    SOFTMAX_CE,
    STEP,
    TANH,
    UNIT_OFFSET,
    W_OFFSET,
)

# ---------------------------------------------------------------- dense layer


def dense_forward(x, W, b, out):
    out[...] = np.dot(x, W) + b


def dense_backward_params(x, delta, dW, db):
    dW[...] = np.dot(x.T, delta)
    db[...] = np.sum(delta, axis=0)


def dense_backward_input(delta, W, dx):
    dx[...] = np.dot(delta, W.T)


# ---------------------------------------------------------------- activations


def _sigmoid(x):
    # 1 / (1 + exp(-x)), written so that exp never overflows.
    return np.exp(-np.logaddexp(0, -x))


def activation_forward(code, u, out):
    if code == RELU:
        out[...] = np.maximum(0, u)
    elif code == SIGMOID:
        out[...] = _sigmoid(u)
    elif code == TANH:
        out[...] = np.tanh(u)
    elif code == STEP:
        out[...] = (u > 0).astype(u.dtype)
    elif code == LEAKY_RELU:
        out[...] = np.where(u > 0, u, LEAKY_RELU_SLOPE * u)
    elif code == IDENTITY:
        out[...] = u


def activation_derivative(code, a, out):
    if code == RELU:
        out[...] = (a > 0).astype(a.dtype)
    elif code == SIGMOID:
        out[...] = a * (1 - a)
    elif code == TANH:
        out[...] = 1 - a**2
    elif code == STEP:
        out[...] = 0
    elif code == LEAKY_RELU:
        out[...] = np.where(a > 0, 1, LEAKY_RELU_SLOPE)
    else:
        out[...] = 1


def activation_backward(code, a, delta):
    slope = np.empty_like(a)
    activation_derivative(code, a, slope)
    delta *= slope


def softmax(z, out):
    shifted = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(shifted)
    out[...] = e / np.sum(e, axis=1, keepdims=True)


# ---------------------------------------------------------------- losses


def output_activation(loss_code, z, out):
    if loss_code == SOFTMAX_CE:
        softmax(z, out)
    elif loss_code == SIGMOID_BCE:
        out[...] = _sigmoid(z)
    else:
        out[...] = z


def loss_value(loss_code, z, t):
    batch = z.shape[0]
    z = z.astype(np.float64)
    if loss_code == SOFTMAX_CE:
        top = np.max(z, axis=1, keepdims=True)
        log_sum_exp = top + np.log(np.sum(np.exp(z - top), axis=1, keepdims=True))
        return float(np.sum(t * (log_sum_exp - z)) / batch)
    if loss_code == SIGMOID_BCE:
        return float(np.sum(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))) / batch)
    return float(0.5 * np.sum((z - t) ** 2) / batch)


def loss_delta(y, t, out):
    out[...] = (y - t) / y.shape[0]


def loss_and_delta(loss_code, z, t, y, delta):
    output_activation(loss_code, z, y)
    loss_delta(y, t, delta)
    return loss_value(loss_code, z, t)


def count_correct(loss_code, y, t):
    if loss_code == SOFTMAX_CE:
        return float(np.sum(np.argmax(y, axis=1) == np.argmax(t, axis=1)))
    if loss_code == SIGMOID_BCE:
        return float(np.sum(np.mean((y >= 0.5) == (t >= 0.5), axis=1)))
    return 0.0


# ---------------------------------------------------------------- optimizers


def step_lr(hyper, t):
    # lr / (1 + decay * (t - 1)), in float64 (decay 0: lr itself).
    decay = float(hyper[slot.STEP_DECAY])
    return hyper.dtype.type(float(hyper[slot.LR]) / (1.0 + decay * (t - 1)))


def sgd_step(theta, grad, state, hyper, t):
    lr = step_lr(hyper, t)
    momentum, dampening = hyper[slot.SGD_MOMENTUM], hyper[slot.SGD_DAMPENING]
    nesterov, decay = hyper[slot.SGD_NESTEROV], hyper[slot.WEIGHT_DECAY]
    g = grad + decay * theta if decay != 0 else grad
    if momentum != 0:
        buf = state[0]
        if t == 1:
            buf[...] = g
        else:
            buf[...] = momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov != 0 else buf
    theta -= lr * g


def adagrad_step(theta, grad, state, hyper, t):
    lr, lr_decay = step_lr(hyper, t), hyper[slot.ADAGRAD_LR_DECAY]
    eps, decay = hyper[slot.ADAGRAD_EPS], hyper[slot.WEIGHT_DECAY]
    g = grad + decay * theta if decay != 0 else grad
    clr = lr / (1 + (t - 1) * lr_decay)
    state[0] += g * g
    theta -= clr * g / (np.sqrt(state[0]) + eps)


def rmsprop_step(theta, grad, state, hyper, t):
    lr, alpha, eps = step_lr(hyper, t), hyper[slot.RMSPROP_ALPHA], hyper[slot.RMSPROP_EPS]
    momentum, centered = hyper[slot.RMSPROP_MOMENTUM], hyper[slot.RMSPROP_CENTERED]
    decay = hyper[slot.WEIGHT_DECAY]
    g = grad + decay * theta if decay != 0 else grad
    square_avg, grad_avg, buf = state
    square_avg[...] = alpha * square_avg + (1 - alpha) * g * g
    if centered != 0:
        grad_avg[...] = alpha * grad_avg + (1 - alpha) * g
        # Clamped at 0 as the kernel does (rounding can make it negative).
        denom = np.sqrt(np.maximum(square_avg - grad_avg**2, 0)) + eps
    else:
        denom = np.sqrt(square_avg) + eps
    if momentum > 0:
        buf[...] = momentum * buf + g / denom
        theta -= lr * buf
    else:
        theta -= lr * g / denom


def adadelta_step(theta, grad, state, hyper, t):
    lr, rho = step_lr(hyper, t), hyper[slot.ADADELTA_RHO]
    eps, decay = hyper[slot.ADADELTA_EPS], hyper[slot.WEIGHT_DECAY]
    g = grad + decay * theta if decay != 0 else grad
    square_avg, acc_delta = state[0], state[1]
    square_avg[...] = rho * square_avg + (1 - rho) * g * g
    d = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
    acc_delta[...] = rho * acc_delta + (1 - rho) * d * d
    theta -= lr * d


def adam_step(theta, grad, state, hyper, t):
    lr, beta1, beta2 = step_lr(hyper, t), hyper[slot.ADAM_BETA1], hyper[slot.ADAM_BETA2]
    eps, decay = hyper[slot.ADAM_EPS], hyper[slot.WEIGHT_DECAY]
    amsgrad, decoupled = hyper[slot.ADAM_AMSGRAD], hyper[slot.ADAMW_DECAY]
    if decoupled != 0:
        theta *= 1 - lr * decoupled
    g = grad + decay * theta if decay != 0 else grad
    m, v, v_max = state
    m[...] = beta1 * m + (1 - beta1) * g
    v[...] = beta2 * v + (1 - beta2) * g * g
    if amsgrad != 0:
        np.maximum(v_max, v, out=v_max)
        v = v_max
    step_size = lr / (1 - float(beta1) ** t)
    correction2_sqrt = np.sqrt(1 - float(beta2) ** t)
    theta -= (step_size * m / (np.sqrt(v) / correction2_sqrt + eps)).astype(theta.dtype)


_STEPS = {
    SGD: sgd_step,
    ADAGRAD: adagrad_step,
    RMSPROP: rmsprop_step,
    ADADELTA: adadelta_step,
    ADAM: adam_step,
}


def optimizer_step(code, theta, grad, state, hyper, step):
    step[0] += 1
    _STEPS[code](theta, grad, state, hyper, int(step[0]))


# ---------------------------------------------------------------- network


def layer_weights(theta, layout, layer):
    fan_in, fan_out = layout[layer, FAN_IN], layout[layer, FAN_OUT]
    w_start, b_start = layout[layer, W_OFFSET], layout[layer, B_OFFSET]
    W = theta[w_start : w_start + fan_in * fan_out].reshape(fan_in, fan_out)
    return W, theta[b_start : b_start + fan_out]


def layer_block(buffer, layout, layer, batch):
    fan_out = layout[layer, FAN_OUT]
    start = batch * layout[layer, UNIT_OFFSET]
    return buffer[start : start + batch * fan_out].reshape(batch, fan_out)


def forward(theta, layout, x, acts):
    batch, layers = x.shape[0], layout.shape[0]
    a = x
    for layer in range(layers):
        W, b = layer_weights(theta, layout, layer)
        u = layer_block(acts, layout, layer, batch)
        dense_forward(a, W, b, u)
        if layer < layers - 1:
            activation_forward(layout[layer, ACTIVATION], u, u)
        a = u


def predict(theta, layout, loss_code, x, acts, out):
    forward(theta, layout, x, acts)
    output_activation(loss_code, layer_block(acts, layout, layout.shape[0] - 1, x.shape[0]), out)


def backward(theta, layout, x, acts, deltas, grad):
    batch = x.shape[0]
    for layer in range(layout.shape[0] - 1, -1, -1):
        delta = layer_block(deltas, layout, layer, batch)
        dW, db = layer_weights(grad, layout, layer)
        a_prev = x if layer == 0 else layer_block(acts, layout, layer - 1, batch)
        dense_backward_params(a_prev, delta, dW, db)
        if layer > 0:
            W, _ = layer_weights(theta, layout, layer)
            delta_prev = layer_block(deltas, layout, layer - 1, batch)
            dense_backward_input(delta, W, delta_prev)
            activation_backward(layout[layer - 1, ACTIVATION], a_prev, delta_prev)


def gradient(theta, layout, loss_code, x, t, acts, deltas, y, grad):
    batch, last = x.shape[0], layout.shape[0] - 1
    forward(theta, layout, x, acts)
    z = layer_block(acts, layout, last, batch)
    loss = loss_and_delta(loss_code, z, t, y, layer_block(deltas, layout, last, batch))
    backward(theta, layout, x, acts, deltas, grad)
    return loss


# ---------------------------------------------------------------- training


def train_epoch_sample(group, member):
    # Per-sample training is mini-batch training in batches of one row.
    return train_epoch_batch(group._replace(batch_size=1), member)


def train_epoch_batch(group, member):
    layout, loss_code, X, T = group.layout, group.loss_code, group.X, group.T
    theta, grad, y, step, dropout = member.theta, member.grad, member.y, member.step, member.dropout
    order, batch_size = member.order, group.batch_size
    batch_losses, batch_correct = member.losses, member.correct
    dropping = bool(np.any(dropout[:-1] > 0))
    n_batches = (len(order) + batch_size - 1) // batch_size
    for bi in range(n_batches):
        rows = order[bi * batch_size : (bi + 1) * batch_size]
        x, t = X[rows], T[rows]
        yb = y[: len(rows)]
        if dropping:
            keeps = dropout_factors(
                layout, dropout, member.dropout_key[0], step[0], len(rows), theta.dtype
            )
            batch_losses[bi] = _gradient_dropout(theta, layout, loss_code, x, t, yb, grad, keeps)
        else:
            acts, deltas = member.acts, member.deltas
            batch_losses[bi] = gradient(theta, layout, loss_code, x, t, acts, deltas, yb, grad)
        batch_correct[bi] = count_correct(loss_code, yb, t)
        if not np.isfinite(batch_losses[bi]):
            return bi
        optimizer_step(group.opt_code, theta, grad, member.state, member.hyper, step)
    return n_batches


# ---------------------------------------------------------------- dropout


_GOLDEN, _ROW, _UNIT = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def dropout_uniforms(key, step, rows, units):
    """The kernels' dropout_uniform for arrays of rows and units (wrapping uint64)."""
    u64 = np.uint64
    rows = np.asarray(rows, dtype=u64)[:, None]
    units = np.asarray(units, dtype=u64)[None, :]
    with np.errstate(over="ignore"):
        z = u64(key) ^ (u64(step) * u64(_GOLDEN)) ^ (rows * u64(_ROW)) ^ (units * u64(_UNIT))
        z = (z ^ (z >> u64(30))) * u64(_MIX1)
        z = (z ^ (z >> u64(27))) * u64(_MIX2)
    z = z ^ (z >> u64(31))
    return (z >> u64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def dropout_factors(layout, dropout, key, step, batch, dtype):
    """Per hidden layer, the (batch, fan_out) factors: 1/(1-p) where kept, else 0."""
    factors = []
    for layer in range(layout.shape[0] - 1):
        rate = float(dropout[layer])
        out, fan_out = int(layout[layer, UNIT_OFFSET]), int(layout[layer, FAN_OUT])
        if rate > 0:
            drawn = dropout_uniforms(key, step, np.arange(batch), np.arange(out, out + fan_out))
            scale = dtype.type(1.0 / (1.0 - rate))
            factors.append(np.where(drawn >= rate, scale, dtype.type(0)))
        else:
            factors.append(np.ones((batch, fan_out), dtype=dtype))
    return factors


def _gradient_dropout(theta, layout, loss_code, x, t, y, grad, keeps):
    # gradient() with inverted dropout on the hidden outputs, as the textbook
    # writes it: h = f(u), h_dropped = h * k; delta_h = (delta W^T) * k, then
    # times f'(u) taken from h.
    layers = layout.shape[0]
    a, inputs, outputs = x, [], []
    for layer in range(layers):
        W, b = layer_weights(theta, layout, layer)
        inputs.append(a)
        u = np.dot(a, W) + b
        if layer < layers - 1:
            h = np.empty_like(u)
            activation_forward(layout[layer, ACTIVATION], u, h)
            outputs.append(h)
            a = h * keeps[layer]
        else:
            z = u
    delta = np.empty_like(z)
    loss = loss_and_delta(loss_code, z, t, y, delta)
    for layer in range(layers - 1, -1, -1):
        dW, db = layer_weights(grad, layout, layer)
        dense_backward_params(inputs[layer], delta, dW, db)
        if layer > 0:
            W, _ = layer_weights(theta, layout, layer)
            below = np.dot(delta, W.T) * keeps[layer - 1]
            activation_backward(layout[layer - 1, ACTIVATION], outputs[layer - 1], below)
            delta = below
    return loss


# ---------------------------------------------------------------- checks


def first_non_finite(values):
    bad = np.flatnonzero(~np.isfinite(values))
    return int(bad[0]) if bad.size else -1


def cast_first_non_finite(source, out):
    with np.errstate(over="ignore", invalid="ignore"):
        out[...] = source
    return first_non_finite(out)


# ---------------------------------------------------------------- many networks


def _row(members, m):
    # Network m's Member of stacked members: every field is stacked.
    return type(members)(*(array[m] for array in members))


def train_models_sample(group, members, done):
    for m in range(members.theta.shape[0]):
        done[m] = train_epoch_sample(group, _row(members, m))


def train_models_batch(group, members, done):
    for m in range(members.theta.shape[0]):
        done[m] = train_epoch_batch(group, _row(members, m))


# ---------------------------------------------------------------- scikit-learn's training
# Twins of kernels.weighted: sample weights, the L2 penalty on the weights only,
# scikit-learn's SGD and Adam (see that module for the definitions).


def _weighted_row_losses(loss_code, y, t, eps):
    y, t = y.astype(np.float64), t.astype(np.float64)
    if loss_code == slot.SOFTMAX_CE:
        p = np.clip(y, eps, 1 - eps)
        return -np.sum(np.where(t != 0, t * np.log(p), 0.0), axis=1)
    if loss_code == slot.SIGMOID_BCE:
        p = np.clip(y, eps, 1 - eps)
        q = np.clip(1 - y, eps, 1 - eps)
        positive = np.where(t != 0, t * np.log(p), 0.0)
        negative = np.where(t != 1, (1 - t) * np.log(q), 0.0)
        return -np.sum(positive + negative, axis=1)
    if loss_code == slot.EXP_POISSON:
        with np.errstate(divide="ignore"):
            log_ratio = np.where(t != 0, t * np.log(np.where(t != 0, t, 1) / y), 0.0)
        return np.sum(log_ratio - t + y, axis=1)
    return 0.5 * np.mean((y - t) ** 2, axis=1)


def output_loss_delta(loss_code, z, t, w, scale, eps, y, delta):
    if loss_code == SOFTMAX_CE:
        softmax(z, y)
    elif loss_code == SIGMOID_BCE:
        y[...] = _sigmoid(z)
    elif loss_code == slot.EXP_POISSON:
        y[...] = np.exp(z)
    else:
        y[...] = z
    factors = (w.astype(np.float64) * scale).astype(y.dtype)
    delta[...] = (y - t) * factors[:, None]
    return float(np.sum(w.astype(np.float64) * _weighted_row_losses(loss_code, y, t, eps)))


def weight_sumsq(theta, layout):
    total = 0.0
    for layer in range(layout.shape[0]):
        W, _ = layer_weights(theta, layout, layer)
        total += float(np.sum(W.astype(np.float64) ** 2))
    return total


def add_weight_penalty(theta, layout, coef, grad):
    for layer in range(layout.shape[0]):
        W, _ = layer_weights(theta, layout, layer)
        dW, _ = layer_weights(grad, layout, layer)
        dW += theta.dtype.type(coef) * W


def weighted_gradient(theta, layout, loss_code, x, t, w, scale, eps, acts, deltas, y, grad):
    batch, last = x.shape[0], layout.shape[0] - 1
    forward(theta, layout, x, acts)
    z = layer_block(acts, layout, last, batch)
    delta = layer_block(deltas, layout, last, batch)
    total = output_loss_delta(loss_code, z, t, w, scale, eps, y, delta)
    backward(theta, layout, x, acts, deltas, grad)
    return total


def sklearn_sgd_step(theta, grad, state, hyper, t):
    lr, momentum = hyper[slot.LR], hyper[slot.SGD_MOMENTUM]
    velocity = state[0]
    velocity[...] = momentum * velocity - lr * grad
    if hyper[slot.SGD_NESTEROV] != 0:
        theta += momentum * velocity - lr * grad
    else:
        theta += velocity


def sklearn_adam_step(theta, grad, state, hyper, t):
    beta1, beta2 = float(hyper[slot.ADAM_BETA1]), float(hyper[slot.ADAM_BETA2])
    first, second = state[0], state[1]
    first[...] = hyper[slot.ADAM_BETA1] * first + (1 - hyper[slot.ADAM_BETA1]) * grad
    second[...] = hyper[slot.ADAM_BETA2] * second + (1 - hyper[slot.ADAM_BETA2]) * grad**2
    rate = float(hyper[slot.LR]) * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    theta -= theta.dtype.type(rate) * first / (np.sqrt(second) + hyper[slot.ADAM_EPS])


def weighted_step(code, theta, grad, state, hyper, step):
    if code == slot.SKLEARN_SGD:
        step[0] += 1
        sklearn_sgd_step(theta, grad, state, hyper, int(step[0]))
    elif code == slot.SKLEARN_ADAM:
        step[0] += 1
        sklearn_adam_step(theta, grad, state, hyper, int(step[0]))
    else:
        optimizer_step(code, theta, grad, state, hyper, step)


def _weighted_batch_step(group, member, rows, w, alpha, eps):
    # One batch (the rows of X given): its loss (penalty included, before the
    # update), then the step unless the loss is not finite. A batch whose
    # weights sum to 0 is skipped.
    theta, layout, grad = member.theta, group.layout, member.grad
    wb = w[rows]
    w_sum = float(np.sum(wb.astype(np.float64)))
    if w_sum == 0:
        return 0.0
    scale = 1.0 / w_sum
    xb, tb, yb = group.X[rows], group.T[rows], member.y[: len(rows)]
    loss = weighted_gradient(
        theta, layout, group.loss_code, xb, tb, wb, scale, eps, member.acts, member.deltas, yb, grad
    )
    loss = loss * scale + 0.5 * alpha * weight_sumsq(theta, layout) * scale
    if np.isfinite(loss):
        add_weight_penalty(theta, layout, alpha * scale, grad)
        weighted_step(group.opt_code, theta, grad, member.state, member.hyper, member.step)
    return loss


def weighted_epoch_batch(group, member, w, w_batch, alpha, eps):
    order, batch_size = member.order, group.batch_size
    n_batches = -(-order.shape[0] // batch_size)
    for bi in range(n_batches):
        rows = order[bi * batch_size : (bi + 1) * batch_size]
        member.losses[bi] = _weighted_batch_step(group, member, rows, w, alpha, eps)
        if not np.isfinite(member.losses[bi]):
            return bi
    return n_batches


def weighted_epoch_sample(group, member, w, alpha, eps):
    order = member.order
    for s in range(order.shape[0]):
        member.losses[s] = _weighted_batch_step(group, member, order[s : s + 1], w, alpha, eps)
        if not np.isfinite(member.losses[s]):
            return s
    return order.shape[0]


def is_finite(value):
    return bool(np.isfinite(value))


# ---------------------------------------------------------------- one event (kernels.streaming)


def stage_event(x, target, label, loss_code, X, T):
    n_inputs, n_outputs = X.shape[1], T.shape[1]
    if x.shape[0] != n_inputs:
        return slot.EVENT_ROW_WIDTH
    with np.errstate(over="ignore", invalid="ignore"):
        row = np.asarray(x).astype(X.dtype)
    if not np.all(np.isfinite(row)):
        return slot.EVENT_ROW_NOT_FINITE
    X[0] = row
    if label >= 0:
        if loss_code != SOFTMAX_CE or label >= n_outputs:
            return slot.EVENT_LABEL_RANGE
        T[0] = 0
        T[0, label] = 1
        return slot.EVENT_OK
    if target.shape[0] != n_outputs:
        return slot.EVENT_TARGET_WIDTH
    with np.errstate(over="ignore", invalid="ignore"):
        t = np.asarray(target).astype(T.dtype)
    if not np.all(np.isfinite(t)):
        return slot.EVENT_TARGET_NOT_FINITE
    T[0] = t
    if loss_code == SIGMOID_BCE and (t.min() < 0 or t.max() > 1):
        return slot.EVENT_TARGET_RANGE
    if loss_code == SOFTMAX_CE and (t.min() < 0 or abs(t.sum(dtype=np.float64) - 1) > 1e-3):
        return slot.EVENT_TARGET_RANGE
    return slot.EVENT_OK


def predict_row(theta, layout, loss_code, x, acts, out):
    if x.shape[0] != layout[0, FAN_IN]:
        return slot.EVENT_ROW_WIDTH
    with np.errstate(over="ignore", invalid="ignore"):
        row = np.asarray(x).astype(theta.dtype)[None, :]
    if not np.all(np.isfinite(row)):
        return slot.EVENT_ROW_NOT_FINITE
    y = np.empty((1, out.shape[0]), dtype=theta.dtype)
    predict(theta, layout, loss_code, row, acts, y)
    out[:] = y[0]
    return slot.EVENT_OK


def event_work_size(layout, n_params):
    last = layout.shape[0] - 1
    units = int(layout[last, UNIT_OFFSET] + layout[last, FAN_OUT])
    return int(layout[0, FAN_IN]) + 2 * int(layout[last, FAN_OUT]) + n_params + 3 * units + 1


def learn_row(x, target, label, loss_code, opt_code, layout, theta, state, hyper, step, work):
    # A one-row epoch of train_epoch_sample on the staged row.
    layout = layout.astype(np.int64)
    dtype, n_params = theta.dtype, theta.shape[0]
    last = layout.shape[0] - 1
    n_outputs = int(layout[last, FAN_OUT])
    units = int(layout[last, UNIT_OFFSET]) + n_outputs
    X = np.zeros((1, int(layout[0, FAN_IN])), dtype=dtype)
    T = np.zeros((1, n_outputs), dtype=dtype)
    status = stage_event(x, target, label, loss_code, X, T)
    if status != slot.EVENT_OK:
        return status
    group = Group(layout, loss_code, opt_code, 1, X, T)
    member = Member(
        theta=theta,
        dropout=np.zeros(layout.shape[0]),
        dropout_key=np.zeros(1, dtype=np.uint64),
        state=state,
        hyper=hyper,
        step=step,
        order=np.zeros(1, dtype=np.int64),
        grad=np.zeros(n_params, dtype=dtype),
        acts=np.zeros(units, dtype=dtype),
        deltas=np.zeros(units, dtype=dtype),
        y=np.zeros((1, n_outputs), dtype=dtype),
        x=X,
        t=T,
        losses=np.zeros(1),
        correct=np.zeros(1),
    )
    done = train_epoch_sample(group, member)
    work[-1] = member.losses[0]
    return slot.EVENT_OK if done == 1 else slot.EVENT_DIVERGED
