"""Per-event kernels: one row in, checked in compiled code, one call each.

A stream arrives one event at a time, so what costs microseconds here is the call,
not the arithmetic. These kernels take flat arrays (cheap to pass) and check the
row themselves, so the Python side does not scan it again:

- :func:`stage_event` checks one row and its target and writes them into the
  one-row buffers that the per-sample epoch loop (:mod:`.train`, or the loop
  generated for the layout) then trains on: a one-row epoch is one ``learn_one``.
- :func:`learn_row` is one whole ``learn_one`` of the generic per-sample loop: the
  row staged as above, then one step of
  :func:`fastnn.kernels.train.train_epoch_sample`, through the same inline helpers
  in the same order, so the weights are bit for bit those of a one-row epoch. It
  takes a dozen flat arrays instead of the epoch's two bundles, whose unboxing
  alone costs about 2 microseconds a call.
- :func:`predict_row` is the forward pass of one row, straight from the row.

Both return a status of :mod:`.codes` (``EVENT_OK``, ``EVENT_ROW_WIDTH``, ...)
instead of raising, so that the caller can name what was wrong in its own words.
"""

import numpy as np

from ._jit import jit
from .activations import activation_scalar
from .checks import _largest
from .codes import (
    ACTIVATION,
    EVENT_DIVERGED,
    EVENT_LABEL_RANGE,
    EVENT_OK,
    EVENT_ROW_NOT_FINITE,
    EVENT_ROW_WIDTH,
    EVENT_TARGET_NOT_FINITE,
    EVENT_TARGET_RANGE,
    EVENT_TARGET_WIDTH,
    FAN_IN,
    FAN_OUT,
    IDENTITY,
    SGD,
    SGD_MOMENTUM,
    SIGMOID,
    SIGMOID_BCE,
    SOFTMAX_CE,
    UNIT_OFFSET,
    WEIGHT_DECAY,
)
from .network import layer_block, layer_weights
from .optimizers import optimizer_step, step_lr
from .train import (
    _sample_backward,
    _sgd_input_layer,
    activate_flat,
    sample_forward,
    sample_loss_delta,
)
from .tuning import SKIP_ZEROS_MIN_WIDTH, WIDE_INPUT

# How far a softmax target row's sum may be from 1 (as fastnn.validation.targets allows).
SOFTMAX_SUM_TOLERANCE = 1e-3


@jit
def stage_event(x, target, label, loss_code, X, T):
    """Check one row and its target; copy them into the one-row buffers ``X`` and ``T``.

    Parameters
    ----------
    x : ndarray, shape (inputs,), float32 or float64, any strides
        The row; cast to ``X``'s dtype (a value that becomes inf there is refused).
    target : ndarray of float64, shape (outputs,)
        The target vector, used when ``label < 0``.
    label : int
        A class label for a softmax output (one-hot in ``T``), or -1 to use ``target``.
    loss_code : int
        The output/loss pair (:mod:`.codes`): what a valid target is.
    X : ndarray, shape (1, inputs)
    T : ndarray, shape (1, outputs)
        The buffers, in the network's dtype; what they hold is unspecified unless the
        status is ``EVENT_OK``.

    Returns
    -------
    int
        ``EVENT_OK``, or the first problem found (:mod:`.codes`, ``EVENT_*``).
    """
    n_inputs = X.shape[1]
    n_outputs = T.shape[1]
    if x.shape[0] != n_inputs:
        return EVENT_ROW_WIDTH
    largest = _largest(X)
    finite = True
    for i in range(n_inputs):
        value = X.dtype.type(x[i])
        X[0, i] = value
        finite &= abs(value) <= largest  # False for NaN
    if not finite:
        return EVENT_ROW_NOT_FINITE
    if label >= 0:
        if loss_code != SOFTMAX_CE or label >= n_outputs:
            return EVENT_LABEL_RANGE
        for j in range(n_outputs):
            T[0, j] = 0
        T[0, label] = 1
        return EVENT_OK
    if target.shape[0] != n_outputs:
        return EVENT_TARGET_WIDTH
    total = 0.0
    low = np.inf
    high = -np.inf
    for j in range(n_outputs):
        value = T.dtype.type(target[j])
        if not abs(value) <= largest:
            return EVENT_TARGET_NOT_FINITE
        T[0, j] = value
        total += value
        low = min(low, value)
        high = max(high, value)
    if loss_code == SIGMOID_BCE and (low < 0 or high > 1):
        return EVENT_TARGET_RANGE
    if loss_code == SOFTMAX_CE and (low < 0 or abs(total - 1.0) > SOFTMAX_SUM_TOLERANCE):
        return EVENT_TARGET_RANGE
    return EVENT_OK


@jit(inline=True)
def _accumulate(a, W, u):
    # u += a @ W, four rows of W at a time (contiguous, vectorised over the outputs):
    # a quarter of the loads and stores of the running sums. Every input is used,
    # zero or not, and cast to W's dtype first.
    dt = W.dtype.type
    fan_in = W.shape[0]
    i = 0
    while i + 4 <= fan_in:
        a0, a1, a2, a3 = dt(a[i]), dt(a[i + 1]), dt(a[i + 2]), dt(a[i + 3])
        w0, w1, w2, w3 = W[i], W[i + 1], W[i + 2], W[i + 3]
        for j in range(u.shape[0]):
            u[j] += (a0 * w0[j] + a1 * w1[j]) + (a2 * w2[j] + a3 * w3[j])
        i += 4
    while i < fan_in:
        ai = dt(a[i])
        w_row = W[i]
        for j in range(u.shape[0]):
            u[j] += ai * w_row[j]
        i += 1


@jit
def predict_row(theta, layout, loss_code, x, acts, out):
    """The network's output for one row ``x``, as :func:`.network.predict` gives for a batch.

    Every input is used, zero or not, so non-finite weights show in the output as
    they do in :mod:`.reference`.

    Parameters
    ----------
    theta : ndarray, shape (n_params,)
    layout : ndarray of int64, shape (layers, LAYOUT_COLUMNS)
    loss_code : int
    x : ndarray, shape (inputs,), float32 or float64, any strides
        Cast value by value to ``theta``'s dtype, as :func:`fastnn.validation.as_matrix`
        casts a batch.
    acts : ndarray, shape (units,)
        Work buffer: each layer's outputs (the last layer's before the output activation).
    out : ndarray, shape (outputs,)
        The output activations.

    Returns
    -------
    int
        ``EVENT_OK``, ``EVENT_ROW_WIDTH`` or ``EVENT_ROW_NOT_FINITE`` (``out`` untouched).
    """
    dt = theta.dtype.type
    n_inputs = layout[0, FAN_IN]
    if x.shape[0] != n_inputs:
        return EVENT_ROW_WIDTH
    largest = _largest(theta)
    layers = layout.shape[0]
    for layer in range(layers):
        W, b = layer_weights(theta, layout, layer)
        u = layer_block(acts, layout, layer, 1)[0]
        for j in range(u.shape[0]):
            u[j] = b[j]
        if layer == 0:
            _accumulate(x, W, u)
            # Every input is used, so a NaN or inf in x (or one that x's cast makes)
            # shows in every output of this layer: x is scanned only then (the
            # weights may be the culprit instead, and then propagate as they are).
            finite = True
            for j in range(u.shape[0]):
                finite &= abs(u[j]) <= largest
            if not finite:
                for i in range(n_inputs):
                    if not abs(dt(x[i])) <= largest:
                        return EVENT_ROW_NOT_FINITE
        else:
            _accumulate(layer_block(acts, layout, layer - 1, 1)[0], W, u)
        if layer < layers - 1:
            activate_flat(layout[layer, ACTIVATION], acts, layout[layer, UNIT_OFFSET], u.shape[0])
    last = np.uint64(layout[layers - 1, UNIT_OFFSET])
    n_outputs = out.shape[0]
    if loss_code == SOFTMAX_CE:
        top = acts[last]
        for j in range(1, n_outputs):
            top = max(top, acts[last + j])
        total = 0.0
        for j in range(n_outputs):
            total += np.exp(np.float64(acts[last + j]) - top)
        for j in range(n_outputs):
            out[j] = np.exp(np.float64(acts[last + j]) - top) / total
    else:
        code = SIGMOID if loss_code == SIGMOID_BCE else IDENTITY
        for j in range(n_outputs):
            out[j] = activation_scalar(code, acts[last + j])
    return EVENT_OK


@jit
def event_work_size(layout, n_params):
    """The length of :func:`learn_row`'s ``work`` buffer for a network of ``layout``."""
    last = layout.shape[0] - 1
    n_inputs = layout[0, FAN_IN]
    n_outputs = layout[last, FAN_OUT]
    units = layout[last, UNIT_OFFSET] + n_outputs
    return n_inputs + 2 * n_outputs + n_params + 3 * units + 1


@jit
def learn_row(x, target, label, loss_code, opt_code, layout, theta, state, hyper, step, work):
    """Learn from one row: :func:`stage_event`, then one step of the generic per-sample loop.

    Parameters
    ----------
    x, target, label, loss_code
        The row and its target, as :func:`stage_event` takes them.
    opt_code : int
        The optimizer (:mod:`.codes`).
    layout : ndarray of uint64, shape (layers, LAYOUT_COLUMNS)
        The layer table, unsigned (as the per-sample loop indexes with it).
    theta : ndarray, shape (n_params,)
    state : ndarray, shape (STATE_ROWS, n_params)
    hyper : ndarray, shape (HYPER_SIZE,)
    step : ndarray of int64, shape (1,)
        The optimizer's arrays, trained in place as by the epoch loop.
    work : ndarray, shape (event_work_size(layout, n_params),)
        In ``theta``'s dtype: the staged row and target, the gradient, activations,
        deltas and output of the step; the last element receives the loss.

    Returns
    -------
    int
        ``EVENT_OK``; a :func:`stage_event` status (nothing learnt); or
        ``EVENT_DIVERGED`` when the loss is not finite (the update is not applied).

    Notes
    -----
    No dropout: a network with dropout learns through the epoch loop.
    """
    n_params = theta.shape[0]
    last_layer = layout.shape[0] - 1
    n_inputs = np.int64(layout[0, FAN_IN])
    n_outputs = np.int64(layout[last_layer, FAN_OUT])
    units = np.int64(layout[last_layer, UNIT_OFFSET]) + n_outputs
    at = 0
    X = work[at : at + n_inputs].reshape((1, n_inputs))
    at += n_inputs
    T = work[at : at + n_outputs].reshape((1, n_outputs))
    at += n_outputs
    grad = work[at : at + n_params]
    at += n_params
    acts = work[at : at + units]
    at += units
    deltas = work[at : at + units]
    at += units
    keep = work[at : at + units]
    at += units
    y_row = work[at : at + n_outputs]
    status = stage_event(x, target, label, loss_code, X, T)
    if status != EVENT_OK:
        return status
    # One step of train_epoch_sample, order [0] (see there for the why of each part).
    row = np.uint64(0)
    last_units = layout[last_layer, UNIT_OFFSET]
    plain_sgd = opt_code == SGD and hyper[SGD_MOMENTUM] == 0 and hyper[WEIGHT_DECAY] == 0
    pipelined = plain_sgd and (
        layout[0, FAN_OUT] >= SKIP_ZEROS_MIN_WIDTH or layout[0, FAN_IN] >= WIDE_INPUT
    )
    first_layer = 1 if pipelined else 0
    if pipelined:
        sample_forward(theta, layout, X, row, acts, 0, keep, False)
    sample_forward(theta, layout, X, row, acts, first_layer, keep, False)
    loss = sample_loss_delta(loss_code, acts, last_units, T, row, y_row, deltas)
    work[work.shape[0] - 1] = loss
    if not np.isfinite(loss):
        return EVENT_DIVERGED
    lr = step_lr(hyper, step[0] + 1)
    _sample_backward(
        theta, layout, X, row, acts, deltas, grad, lr, plain_sgd, first_layer, keep, False
    )
    if pipelined:
        _sgd_input_layer(theta, layout, X, row, row, False, acts, deltas, lr)
    if plain_sgd:
        step[0] += 1
    else:
        optimizer_step(opt_code, theta, grad, state, hyper, step)
    return EVENT_OK
