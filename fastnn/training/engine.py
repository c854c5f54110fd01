"""The training engine: epochs through the kernels, and what every epoch must check.

One epoch is one kernel call (:mod:`fastnn.kernels.train`, the loops generated per
layout, or :mod:`fastnn.kernels.parallel` for many networks). The kernels take two
bundles (:mod:`fastnn.kernels.bundles`): a :class:`Group` (layout, loss, optimizer
code, batch size and data: what the networks of one call share) and a
:class:`Member` (one network's weights, optimizer state, sample order, work buffers
and record). This module makes them and holds the per-epoch rules that
:meth:`fastnn.MLP.fit` and :func:`fastnn.sweep` share, so that a network in a sweep
ends bit for bit where ``fit`` would have left it:

- :func:`epoch_order`: each epoch's sample order, from the network's own generator;
- :func:`divergence`: a non-finite loss or weights roll the epoch back;
- :func:`record_epoch`: the epoch's loss, accuracy and validation figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn import codegen, kernels
from fastnn.errors import TrainingDivergedError
from fastnn.kernels import codes
from fastnn.kernels.bundles import Group, Member
from fastnn.network import inference
from fastnn.network.architecture import Architecture
from fastnn.network.state import NetworkState
from fastnn.optimizers import Optimizer
from fastnn.training.history import History

__all__ = [
    "EpochRunner",
    "allocate_member",
    "divergence",
    "epoch_order",
    "group_for",
    "member_for",
    "mean_loss",
    "record_epoch",
    "sample_loop",
    "steps_per_epoch",
]


def steps_per_epoch(n_rows: int, batch_size: int) -> int:
    """Kernel steps in an epoch of ``n_rows`` rows: one per sample, or per batch."""
    return n_rows if batch_size == 1 else -(-n_rows // batch_size)


def allocate_member(
    architecture: Architecture, batch_size: int, n_rows: int, models: int | None = None
) -> Member:
    """Return zeroed :class:`Member` arrays for epochs of ``n_rows`` rows in ``batch_size``.

    With ``models``, every array has a leading axis of that length: the stacked
    members of the kernels that train many networks at once.
    """
    lead = () if models is None else (models,)
    dtype, n_params, units = architecture.dtype, architecture.n_params, architecture.units
    n_steps = steps_per_epoch(n_rows, batch_size)
    return Member(
        theta=np.zeros((*lead, n_params), dtype),
        dropout=np.zeros((*lead, len(architecture.sizes) - 1), np.float64),
        dropout_key=np.zeros((*lead, 1), np.uint64),
        state=np.zeros((*lead, codes.STATE_ROWS, n_params), dtype),
        hyper=np.zeros((*lead, codes.HYPER_SIZE), dtype),
        step=np.zeros((*lead, 1), np.int64),
        order=np.zeros((*lead, n_rows), np.int64),
        grad=np.zeros((*lead, n_params), dtype),
        acts=np.zeros((*lead, batch_size * units), dtype),
        deltas=np.zeros((*lead, batch_size * units), dtype),
        y=np.zeros((*lead, batch_size, architecture.sizes[-1]), dtype),
        x=np.zeros((*lead, batch_size, architecture.sizes[0]), dtype),
        t=np.zeros((*lead, batch_size, architecture.sizes[-1]), dtype),
        losses=np.zeros((*lead, n_steps)),
        correct=np.zeros((*lead, n_steps)),
    )


def sample_loop(
    network: NetworkState, opt_code: int, hyper: NDArray[Any], n_rows: int, epochs: int = 1
) -> codegen.SampleLoop:
    """Return the per-sample loop (generic or generated) of a fit of ``n_rows`` x ``epochs``."""
    architecture = network.architecture
    return codegen.sample_loop(
        network.kernels,
        architecture.sizes,
        architecture.layout,
        architecture.loss_code,
        architecture.dtype,
        opt_code,
        hyper,
        specialise=network.specialise,
        backend=network.backend,
        n_rows=n_rows,
        dropout=architecture.dropout,
        epochs=epochs,
    )


def optimizer_arrays(
    optimizer: Optimizer, network: NetworkState, schedule: Any = None
) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.int64]]:
    """Check the optimizer as the kernels will take it; return ``(state, hyper, step)``.

    Its public attributes (state, step count, hyper-parameters) may have changed
    since the last epoch: :meth:`~fastnn.optimizers.Optimizer.bind` checks them all.
    A schedule's per-step decay goes into its slot of ``hyper``.
    """
    architecture = network.architecture
    state = optimizer.bind(architecture.n_params, architecture.dtype)
    hyper = optimizer.hyper_vector(architecture.dtype)
    if schedule is not None:
        hyper[codes.STEP_DECAY] = schedule.step_decay
    return state, hyper, optimizer.step_


def member_for(
    network: NetworkState,
    optimizer: Optimizer,
    batch_size: int,
    order: NDArray[Any],
    schedule: Any = None,
) -> Member:
    """Return the :class:`Member` of ``network`` for epochs in ``order`` with ``optimizer``.

    Its ``theta`` is the network's own vector, its ``state`` and ``step`` the
    optimizer's own arrays (checked by :func:`optimizer_arrays`): the kernel trains
    them in place. Work buffers and the record are fresh.
    """
    architecture = network.architecture
    state, hyper, step = optimizer_arrays(optimizer, network, schedule)
    return allocate_member(architecture, batch_size, len(order))._replace(
        theta=network.theta,
        dropout=architecture.dropout_rates,
        dropout_key=network.dropout_key,
        state=state,
        hyper=hyper,
        step=step,
        order=order,
    )


def group_for(
    network: NetworkState, optimizer: Optimizer, batch_size: int, X: Any, T: Any
) -> Group:
    """Return the :class:`Group` of ``network`` trained with ``optimizer`` on ``(X, T)``."""
    architecture = network.architecture
    return Group(architecture.layout, architecture.loss_code, optimizer.code, batch_size, X, T)


class EpochRunner:
    """Runs the epochs of one network's fit, with buffers allocated once per fit."""

    # With a progress bar an epoch runs in about this many kernel calls.
    PROGRESS_UPDATES = 50

    def __init__(
        self,
        network: NetworkState,
        X: NDArray[Any],
        T: NDArray[Any],
        batch_size: int,
        optimizer: Optimizer,
        n_rows: int,
        schedule: Any = None,
        epochs: int = 1,
    ) -> None:
        self.network, self.optimizer, self.schedule = network, optimizer, schedule
        self.batch_size, self.n_rows, self.epochs = batch_size, n_rows, epochs
        self.group = group_for(network, optimizer, batch_size, X, T)
        self.n_steps = steps_per_epoch(n_rows, batch_size)
        # Work buffers once per fit; the optimizer's arrays are bound anew each epoch.
        self.member = member_for(network, optimizer, batch_size, np.arange(n_rows), schedule)

    def _loop(self, hyper: NDArray[Any]) -> tuple[Any, str]:
        """The kernel of this fit's epochs, and what it is (for a message)."""
        if self.batch_size == 1:
            loop = sample_loop(self.network, self.optimizer.code, hyper, self.n_rows, self.epochs)
            return loop.train_epoch, loop.description
        dtype = self.network.architecture.dtype.name
        return self.network.kernels.train_epoch_batch, f"fastnn's mini-batch loop for {dtype}"

    def _prepare(self, order: NDArray[Any]) -> tuple[Any, Member]:
        """The kernel and the member of this epoch, checked at the one boundary before it runs."""
        state, hyper, step = optimizer_arrays(self.optimizer, self.network, self.schedule)
        member = self.member._replace(state=state, hyper=hyper, step=step, order=order)
        return self._loop(member.hyper)[0], member

    def compile_ahead(self, watch: codegen.CompileWatch) -> None:
        """Compile (or load) this fit's loop now, under ``watch``, before the epochs' clock."""
        if self.network.backend != "numba":
            return
        kernel, member = self._prepare(self.member.order)
        description = self._loop(member.hyper)[1]
        empty = member._replace(
            order=member.order[:0], losses=member.losses[:0], correct=member.correct[:0]
        )
        watch.run(description, kernel, lambda: kernel(self.group, empty))

    def epoch(self, order: NDArray[Any], epoch: int, bar: Any = None) -> tuple[NDArray[Any], float]:
        """Train one epoch in ``order``; return (per-step losses, correct count).

        Raises
        ------
        TrainingDivergedError
            With the weights and optimizer state put back to the epoch's start.
        """
        kernel, member = self._prepare(order)
        saved = (member.theta.copy(), member.state.copy(), member.step.copy())
        step_losses = np.zeros(self.n_steps)
        correct = np.zeros(self.n_steps)
        if bar is None:
            done = kernel(self.group, member._replace(losses=step_losses, correct=correct))
        else:
            # Several kernel calls over consecutive slices of the order train
            # exactly as one call does; between them the bar moves.
            chunk = max(1, -(-self.n_steps // self.PROGRESS_UPDATES))
            done = 0
            while done < self.n_steps:
                stop = min(done + chunk, self.n_steps)
                rows = order[done * self.batch_size : stop * self.batch_size]
                part = member._replace(
                    order=rows, losses=step_losses[done:stop], correct=correct[done:stop]
                )
                ran = kernel(self.group, part)
                done += ran
                bar.update(min(len(rows), ran * self.batch_size))
                bar.set_postfix(loss=f"{self.mean_loss(step_losses[:done]):.4g}")
                if done < stop:  # the loss became non-finite inside this slice
                    break
        error = divergence(epoch, step_losses, done, member.theta, member.state, self.optimizer.lr)
        if error is not None:
            member.theta[...], member.state[...], member.step[...] = saved
            raise error
        return step_losses, float(correct.sum())

    def mean_loss(self, step_losses: NDArray[Any]) -> float:
        """Mean loss per sample over the first ``len(step_losses)`` steps."""
        return mean_loss(step_losses, self.batch_size, self.n_rows)


def epoch_order(
    rng: np.random.Generator, identity: NDArray[Any], order: NDArray[Any], shuffle: bool
) -> None:
    """Set ``order`` to this epoch's sample order, drawing from ``rng`` if shuffling.

    Each epoch shuffles 0..n-1 (as rng.permutation(n) would), so that fit(epochs=k)
    and k calls of partial_fit see the same orders; in place, because a fresh array
    per epoch costs page faults worth a sizeable part of a small network's
    per-sample epoch.
    """
    order[...] = identity
    if shuffle:
        rng.shuffle(order)


def divergence(
    epoch: int,
    step_losses: NDArray[Any],
    done: int,
    theta: NDArray[Any],
    state: NDArray[Any],
    lr: float,
) -> TrainingDivergedError | None:
    """Return the :class:`TrainingDivergedError` of an epoch that went wrong, or None.

    ``done`` is the kernel's count of completed steps (it stops at a non-finite
    loss); ``theta`` and ``state`` are the weights and optimizer state after it.
    """
    n_steps = len(step_losses)
    if done < n_steps:
        loss = step_losses[done]
        return TrainingDivergedError(
            f"the training loss became {loss} at epoch {epoch}, step "
            f"{done + 1}; the weights are those at the end of epoch {epoch - 1}. "
            f"Try a smaller learning rate than lr={lr}.",
            epoch=epoch,
            step=done + 1,
            loss=float(loss),
        )
    # A loss is checked before its update, so the last update of the epoch
    # (or one that overflowed the optimizer state) is checked here.
    theta_bad = kernels.first_non_finite(theta) >= 0
    if theta_bad or kernels.first_non_finite(state) >= 0:
        what = "weights" if theta_bad else "state"
        return TrainingDivergedError(
            f"the {what} became NaN or inf in the updates of epoch {epoch} (the losses "
            f"were still finite); the weights are those at the end of epoch {epoch - 1}. "
            f"Try a smaller learning rate than lr={lr}.",
            epoch=epoch,
            step=n_steps,
            loss=float(step_losses[-1]),
        )
    return None


def mean_loss(step_losses: NDArray[Any], batch_size: int, n_rows: int) -> float:
    """Mean loss per sample over the first ``len(step_losses)`` steps of an epoch."""
    if len(step_losses) == 0:
        return float("nan")
    if batch_size == 1:
        return float(step_losses.mean())
    n_steps = -(-n_rows // batch_size)
    sizes = np.full(len(step_losses), batch_size, dtype=np.float64)
    if len(step_losses) == n_steps:
        sizes[-1] = n_rows - batch_size * (n_steps - 1)
    return float(np.dot(step_losses, sizes) / sizes.sum())


def record_epoch(
    history: History,
    network: NetworkState,
    step_losses: NDArray[Any],
    batch_size: int,
    n_rows: int,
    correct: float,
    validation: tuple[NDArray[Any], NDArray[Any]] | None,
) -> None:
    """Append a completed epoch to ``history``, with the validation metrics of ``network``.

    ``correct`` counts the training samples classified correctly during the epoch;
    ``validation`` is ``(X_val, T_val)`` as the kernels take them, or None.
    """
    history.loss.append(mean_loss(step_losses, batch_size, n_rows))
    history.record_steps(step_losses)
    is_classifier = network.architecture.is_classifier
    if is_classifier:
        history.train_acc.append(correct / n_rows)
    if validation is not None:
        val_loss, val_acc = inference.loss_and_correct(network, *validation)
        history.val_loss.append(val_loss)
        if is_classifier:
            history.val_acc.append(val_acc)
