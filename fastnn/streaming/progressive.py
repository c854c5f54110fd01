"""Test-then-train over a whole array in one compiled loop: River's progressive validation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastnn import kernels
from fastnn.errors import TrainingDivergedError
from fastnn.streaming import metrics
from fastnn.training import engine
from fastnn.validation import check_int

if TYPE_CHECKING:
    from fastnn.model import MLP
    from fastnn.optimizers import Optimizer

__all__ = ["ProgressiveScore", "learn_rows", "progressive_val_score"]


class ProgressiveScore(NamedTuple):
    """What :func:`progressive_val_score` returns.

    Attributes
    ----------
    metric : str
        The metric's name (River's).
    value : float
        The metric over all rows.
    steps : ndarray of int64
        The row counts at which the curve was taken: ``every``, ``2 * every``, ...,
        and the last row.
    curve : ndarray of float64
        The running metric at each of ``steps``.
    """

    metric: str
    value: float
    steps: NDArray[np.int64]
    curve: NDArray[np.float64]


def progressive_val_score(
    net: MLP,
    X: ArrayLike,
    y: ArrayLike,
    metric: str | None = None,
    *,
    every: int | None = None,
    optimizer: Optimizer | None = None,
) -> ProgressiveScore:
    """Score each row before learning from it, in order, in one compiled loop.

    One epoch of ``fit(X, y, batch_size=1, shuffle=False)`` (the same loop, the
    same weights bit for bit), each row scored by the loop's forward pass before
    its update. So it equals a Python loop of ``net.predict_one(x)`` (scored) and
    ``net.learn_one(x, t)`` over the rows whenever ``learn_one`` runs the same
    loop (``specialise`` True or False, or fewer rows than the layout's break-even,
    ``fastnn.codegen.break_even_samples``), else to float rounding; the
    predictions are ``predict_one``'s to float rounding.

    Parameters
    ----------
    net : fastnn.MLP
        Trained in place, from its current weights and optimizer state.
    X : array-like, shape (n_samples, inputs)
    y : array-like
        Targets as :meth:`fastnn.MLP.fit` takes them (class labels, one-hot rows, values).
    metric : str, optional
        River's name: "accuracy", "error_rate", "log_loss" (binary), "cross_entropy"
        for classifiers (default "accuracy"); "mae", "mse", "rmse", "r2" for
        regression (default "mae"). See :mod:`fastnn.streaming.metrics`.
    every : int, optional
        Record the running metric every this many rows (the curve); by default
        only at the end.
    optimizer : Optimizer, optional
        As for :meth:`fastnn.MLP.learn_one`.

    Returns
    -------
    ProgressiveScore
        ``(metric, value, steps, curve)``.

    Raises
    ------
    TrainingDivergedError
        When a row's loss is not finite; the weights are those after the rows
        before it (its update is not applied).
    """
    architecture = net.event_path().state.architecture
    name = metrics.check_metric(metric, architecture.loss_code, architecture.sizes[-1])
    X = architecture.inputs(X)
    T = architecture.targets(y, X.shape[0], "y")
    n_rows = X.shape[0]
    step = n_rows if every is None else check_int("every", every, minimum=1)
    ends = np.unique(np.append(np.arange(step, n_rows + 1, step), n_rows)).astype(np.int64)
    losses, correct = _run(net, X, T, optimizer, "progressive_val_score")
    curve = metrics.running(name, losses, correct, T, ends)
    return ProgressiveScore(name, float(curve[-1]), ends, curve)


def learn_rows(
    net: MLP, X: ArrayLike, y: ArrayLike, optimizer: Optimizer | None = None
) -> NDArray[np.float64]:
    """Learn from the rows of ``X`` in order, as ``learn_one`` row by row; return the losses.

    One epoch of ``fit(X, y, batch_size=1, shuffle=False)`` (see
    :func:`progressive_val_score`, which this is without the scoring).
    """
    architecture = net.event_path().state.architecture
    X = architecture.inputs(X)
    T = architecture.targets(y, X.shape[0], "y")
    return _run(net, X, T, optimizer, "learn_many")[0]


def _run(
    net: MLP, X: NDArray[Any], T: NDArray[Any], optimizer: Optimizer | None, action: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One epoch over checked rows in order, from the bound optimizer; (losses, correct)."""
    path = net.event_path()
    state = path.state
    architecture = state.architecture
    n_rows = X.shape[0]
    path.guard.begin_training(action)
    try:
        optimizer = path.checked_optimizer(optimizer)
        if not path.bound(optimizer):
            path.bind(optimizer)
        # The loop of a fit of these rows, on the optimizer's arrays as bound.
        hyper = path.member.hyper
        loop = engine.sample_loop(state, optimizer.code, hyper, n_rows)
        group = path.group._replace(X=X, T=T)
        member = engine.allocate_member(architecture, 1, n_rows)._replace(
            theta=state.theta,
            dropout=architecture.dropout_rates,
            dropout_key=state.dropout_key,
            state=path.member.state,
            hyper=hyper,
            step=path.member.step,
            order=np.arange(n_rows, dtype=np.int64),
        )
        done = loop.train_epoch(group, member)
    finally:
        path.guard.end_training()
    if done < n_rows:
        loss = float(member.losses[done])
        raise TrainingDivergedError(
            f"the training loss became {loss} at row {done}; the weights are those after the "
            f"rows before it (its update was not applied). Try a smaller learning rate than "
            f"lr={optimizer.lr}.",
            epoch=1,
            step=done + 1,
            loss=loss,
        )
    if kernels.first_non_finite(state.theta) >= 0:
        raise TrainingDivergedError(
            "the weights became NaN or inf in the updates (the losses were still finite). "
            f"Try a smaller learning rate than lr={optimizer.lr}.",
            epoch=1,
            step=n_rows,
            loss=float(member.losses[-1]),
        )
    return member.losses, member.correct
