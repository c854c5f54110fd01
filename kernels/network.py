"""Whole-network forward and backward passes over a batch.

A network is a flat parameter vector ``theta`` plus an integer ``layout`` table,
one row per dense layer with the columns of :mod:`fastnn.kernels.codes` (FAN_IN,
FAN_OUT, W_OFFSET, B_OFFSET, ACTIVATION, UNIT_OFFSET). Layer ``l`` holds
``W = theta[W_OFFSET : W_OFFSET + FAN_IN*FAN_OUT].reshape(FAN_IN, FAN_OUT)`` and
``b = theta[B_OFFSET : B_OFFSET + FAN_OUT]``.

Work buffers ``acts`` and ``deltas`` are flat, of length at least
``batch * units`` (``units`` = the sum of all FAN_OUT); layer ``l`` uses the
block starting at ``batch * UNIT_OFFSET``. The output layer's block of ``acts``
holds the logits; the output activation goes to a separate ``y``.
"""

from ._jit import jit
from .activations import activation_backward, activation_forward
from .codes import ACTIVATION, B_OFFSET, FAN_IN, FAN_OUT, UNIT_OFFSET, W_OFFSET
from .dense import dense_backward_input, dense_backward_params, dense_forward
from .losses import loss_and_delta, output_activation


@jit
def layer_weights(theta, layout, layer):
    """Return views ``(W, b)`` of layer ``layer`` inside ``theta``."""
    fan_in = layout[layer, FAN_IN]
    fan_out = layout[layer, FAN_OUT]
    w_start = layout[layer, W_OFFSET]
    b_start = layout[layer, B_OFFSET]
    W = theta[w_start : w_start + fan_in * fan_out].reshape((fan_in, fan_out))
    return W, theta[b_start : b_start + fan_out]


@jit
def layer_block(buffer, layout, layer, batch):
    """Return the ``(batch, FAN_OUT)`` view of layer ``layer`` in a flat work buffer."""
    fan_out = layout[layer, FAN_OUT]
    start = batch * layout[layer, UNIT_OFFSET]
    return buffer[start : start + batch * fan_out].reshape((batch, fan_out))


@jit
def forward(theta, layout, x, acts):
    """Run the layers on ``x``: hidden activations, then the output logits.

    Parameters
    ----------
    theta : ndarray, shape (n_params,)
    layout : ndarray of int64, shape (layers, 6)
    x : ndarray, shape (batch, inputs)
    acts : ndarray, shape (>= batch * units,)
        Written in place; the last layer's block holds the logits.
    """
    batch = x.shape[0]
    layers = layout.shape[0]
    a_prev = x
    for layer in range(layers):
        W, b = layer_weights(theta, layout, layer)
        u = layer_block(acts, layout, layer, batch)
        dense_forward(a_prev, W, b, u)
        if layer < layers - 1:
            activation_forward(layout[layer, ACTIVATION], u, u)
        a_prev = u


@jit
def predict(theta, layout, loss_code, x, acts, out):
    """Write the network's output activations for ``x`` into ``out``.

    Parameters
    ----------
    theta, layout, x, acts
        As in :func:`forward`.
    loss_code : int
        Selects the output activation (identity, softmax, sigmoid).
    out : ndarray, shape (batch, outputs)
    """
    forward(theta, layout, x, acts)
    z = layer_block(acts, layout, layout.shape[0] - 1, x.shape[0])
    output_activation(loss_code, z, out)


@jit
def gradient(theta, layout, loss_code, x, t, acts, deltas, y, grad):
    """Backpropagate the batch ``(x, t)``: fill ``grad`` and return the mean loss.

    Parameters
    ----------
    theta, layout, x, acts
        As in :func:`forward`.
    loss_code : int
    t : ndarray, shape (batch, outputs)
    deltas : ndarray, shape like ``acts``
        Work buffer for the per-layer deltas.
    y : ndarray, shape (batch, outputs)
        Written with the output activations.
    grad : ndarray, shape (n_params,)
        Written with the gradient of the mean loss, in ``theta``'s layout.

    Returns
    -------
    float
        The mean loss before any update.
    """
    batch = x.shape[0]
    last = layout.shape[0] - 1
    forward(theta, layout, x, acts)
    z = layer_block(acts, layout, last, batch)
    delta = layer_block(deltas, layout, last, batch)
    loss = loss_and_delta(loss_code, z, t, y, delta)
    backward(theta, layout, x, acts, deltas, grad)
    return loss


@jit
def backward(theta, layout, x, acts, deltas, grad):
    """Backpropagate from the output delta already in ``deltas``: fill ``grad``.

    Parameters
    ----------
    theta, layout, x, acts
        As after :func:`forward` on ``x``.
    deltas : ndarray
        The last layer's block holds the output delta on entry; the other
        blocks are overwritten with the hidden deltas.
    grad : ndarray, shape (n_params,)
        Written with the gradient, in ``theta``'s layout.
    """
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
            activation_backward(layout[layer - 1, ACTIVATION], a_prev, delta_prev)
