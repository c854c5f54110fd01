"""The two argument bundles of the epoch kernels: what a group shares, what a network owns.

An epoch kernel takes ``(group, member)``; the kernels that train many networks at once
take ``(group, members, done)``, where every array of ``members`` has one more leading
axis (network ``m``'s arrays are ``member_row(members, m)``). Both are named tuples,
which Numba passes as typed values, so the argument list of an epoch is written here
once, not at every call.

Shapes, for a network of ``n_params`` parameters, ``units`` units (all layers'
outputs), ``inputs`` and ``outputs`` wide, trained on ``n_steps`` steps:

``Group`` (shared, read-only)
    ``layout`` int64 ``(layers, LAYOUT_COLUMNS)`` (:mod:`.codes`); ``loss_code``,
    ``opt_code`` and ``batch_size`` ints; ``X`` ``(rows, inputs)`` and ``T``
    ``(rows, outputs)`` in the network's dtype.
``Member`` (one network's own; written by the kernel)
    ``theta`` ``(n_params,)``; ``dropout`` float64 ``(layers,)``, each layer's
    dropout rate (the last is unused); ``dropout_key`` uint64 ``(1,)``; ``state``
    ``(STATE_ROWS, n_params)``; ``hyper`` ``(HYPER_SIZE,)``; ``step`` int64 ``(1,)``,
    the optimizer's step count; ``order`` int64 ``(n_rows,)``, the row of ``X`` each
    sample of the epoch uses; work buffers ``grad`` ``(n_params,)``, ``acts`` and
    ``deltas`` ``(batch_size * units,)``, ``y`` ``(batch_size, outputs)``, ``x``
    ``(batch_size, inputs)`` and ``t`` ``(batch_size, outputs)`` (mini-batches only;
    any size per sample); and the record ``losses``, ``correct`` float64
    ``(n_steps,)``: each step's loss (before its update) and correct count.
"""

from typing import NamedTuple

import numpy as np

from ._jit import jit


class Group(NamedTuple):
    """What the networks trained in one kernel call share (see the module's docstring)."""

    layout: np.ndarray
    loss_code: int
    opt_code: int
    batch_size: int
    X: np.ndarray
    T: np.ndarray


class Member(NamedTuple):
    """One network's own arrays in an epoch kernel (see the module's docstring)."""

    theta: np.ndarray
    dropout: np.ndarray
    dropout_key: np.ndarray
    state: np.ndarray
    hyper: np.ndarray
    step: np.ndarray
    order: np.ndarray
    grad: np.ndarray
    acts: np.ndarray
    deltas: np.ndarray
    y: np.ndarray
    x: np.ndarray
    t: np.ndarray
    losses: np.ndarray
    correct: np.ndarray


@jit(inline=True)
def member_row(members, m):
    """Network ``m``'s :class:`Member` of stacked ``members`` (views, no copies)."""
    return Member(
        members.theta[m],
        members.dropout[m],
        members.dropout_key[m],
        members.state[m],
        members.hyper[m],
        members.step[m],
        members.order[m],
        members.grad[m],
        members.acts[m],
        members.deltas[m],
        members.y[m],
        members.x[m],
        members.t[m],
        members.losses[m],
        members.correct[m],
    )
