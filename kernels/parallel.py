"""Many networks of one layout trained at once, one network per thread.

A sweep over learning rates, seeds or optimizers trains many networks of the
same layout on the same data. These kernels run one epoch of each of ``M``
networks in one call: ``numba.prange`` hands each network to a thread, and each
thread calls the very kernel a single network's ``fit`` calls, on that
network's own rows of the stacked arrays (weights, optimizer state, work
buffers, sample order). No two threads write the same memory, the data ``X``
and ``T`` are shared read-only, and each network's arithmetic is exactly that of
training it alone.

Stacked arrays have the single-network kernel's arrays as rows: ``thetas`` is
``(M, n_params)``, ``states`` ``(M, STATE_ROWS, n_params)``, ``hypers``
``(M, HYPER_SIZE)``, ``steps`` ``(M, 1)``, ``orders``, ``step_losses`` and
``step_correct`` ``(M, n_steps)``, ``dropouts`` ``(M, layers)`` and
``dropout_keys`` ``(M, 1)``, and the work buffers ``(M, ...)``. ``done[m]``
receives network ``m``'s completed steps.
"""

from numba import prange

from ._jit import jit
from .train import train_epoch_batch, train_epoch_sample


@jit(parallel=True)
def train_models_sample(
    thetas,
    layout,
    loss_code,
    X,
    T,
    orders,
    opt_code,
    states,
    hypers,
    steps,
    grads,
    acts,
    deltas,
    ys,
    step_losses,
    step_correct,
    done,
    dropouts,
    dropout_keys,
):
    """One per-sample epoch of each network (see :func:`.train.train_epoch_sample`)."""
    for m in prange(thetas.shape[0]):
        done[m] = train_epoch_sample(
            thetas[m],
            layout,
            loss_code,
            X,
            T,
            orders[m],
            opt_code,
            states[m],
            hypers[m],
            steps[m],
            grads[m],
            acts[m],
            deltas[m],
            ys[m],
            step_losses[m],
            step_correct[m],
            dropouts[m],
            dropout_keys[m],
        )


@jit(parallel=True)
def train_models_batch(
    thetas,
    layout,
    loss_code,
    X,
    T,
    orders,
    batch_size,
    opt_code,
    states,
    hypers,
    steps,
    grads,
    x_batches,
    t_batches,
    acts,
    deltas,
    ys,
    batch_losses,
    batch_correct,
    done,
    dropouts,
    dropout_keys,
):
    """One mini-batch epoch of each network (see :func:`.train.train_epoch_batch`)."""
    for m in prange(thetas.shape[0]):
        done[m] = train_epoch_batch(
            thetas[m],
            layout,
            loss_code,
            X,
            T,
            orders[m],
            batch_size,
            opt_code,
            states[m],
            hypers[m],
            steps[m],
            grads[m],
            x_batches[m],
            t_batches[m],
            acts[m],
            deltas[m],
            ys[m],
            batch_losses[m],
            batch_correct[m],
            dropouts[m],
            dropout_keys[m],
        )
