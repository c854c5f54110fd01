"""One training run's charts: loss and accuracy per epoch, every step's loss."""

from __future__ import annotations

import numbers
import os
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

if TYPE_CHECKING:
    from fastnn.model import History
from fastnn.plot.common import (
    RUNNING_MEAN_FRACTION,
    STEP_PLOT_BINS,
    STEP_PLOT_POINTS,
    _accuracy_limits,
    _axes,
    _check_ax,
    _check_label,
    _check_limits,
    _check_log,
    _check_path,
    _check_title,
    _epochs,
    _finish,
    _history_field,
    _integer_epochs,
    _running_mean,
)

#: The legend's name of the training curves: the mean over the epoch's steps, each taken
#: before its update (what ``History`` records), not a pass over the data after the epoch,
#: which is why it can sit below the validation curve early on.
TRAIN_LABEL = "train (mean during the epoch)"


def _mark_kept_epoch(ax: Axes, history: History, epochs: int) -> None:
    """Mark the epoch whose weights the network kept, when it is not the last one."""
    kept = getattr(history, "kept_epoch", None)
    if kept is not None and 1 <= kept < epochs:
        ax.axvline(kept, color="0.4", linestyle="--", linewidth=1, label=f"kept: epoch {kept}")


def plot_loss(
    history: History,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    log: bool = False,
    validation_label: str = "validation",
) -> Figure | SubFigure:
    """Plot the training loss per epoch, and the validation loss if it was measured.

    Parameters
    ----------
    history : History
        What :meth:`MLP.fit` returned; ``history.loss`` must not be empty.
    path : str or os.PathLike, optional
        Save the figure there (atomically); the suffix picks the format
        (:data:`SAVE_FORMATS`).
    title : str, optional
        Default "loss"; ``""`` for none. Say what was trained
        (:func:`describe_training`).
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.
    log : bool, default False
        Logarithmic loss axis.
    validation_label : str, default "validation"
        The legend's name for ``validation_data``: "test" when it is the test set.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``.

    Examples
    --------
    >>> from fastnn import plot
    >>> history = net.fit(X, T, epochs=10, validation_data=(X_test, T_test))
    >>> plot.plot_loss(history, "loss.png", validation_label="test")  # doctest: +SKIP
    """
    loss = _history_field(history, "loss")
    val_loss = _history_field(history, "val_loss")
    if loss.size == 0:
        raise ValueError("history.loss is empty: fit for at least one epoch before plotting")
    log = _check_log(log)
    validation_label = _check_label("validation_label", validation_label)
    _check_ax(ax)
    title, path = _check_title(title, "loss"), _check_path(path)
    figure, ax = _axes(ax)
    ax.plot(_epochs(loss), loss, marker="o", markersize=3, label=TRAIN_LABEL)
    if val_loss.size:
        ax.plot(_epochs(val_loss), val_loss, marker="o", markersize=3, label=validation_label)
    _mark_kept_epoch(ax, history, len(loss))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    _integer_epochs(ax)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _finish(figure, ax, title, path)


def plot_accuracy(
    history: History,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    ylim: tuple[float, float] | None = None,
    validation_label: str = "validation",
) -> Figure | SubFigure:
    """Plot the training and validation accuracy per epoch (the course's 正答率 chart).

    Parameters
    ----------
    history : History
        What :meth:`MLP.fit` returned for a classifier (softmax or sigmoid
        output); regression histories have no accuracy.
    path : str or os.PathLike, optional
        Save the figure there (atomically); the suffix picks the format
        (:data:`SAVE_FORMATS`).
    title : str, optional
        Default "accuracy"; ``""`` for none. Say what was trained
        (:func:`describe_training`).
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.
    ylim : (float, float), optional
        The accuracy axis. Default: the span of the data with a margin (ticks
        only within 0-1), so that 0.85-0.95 is not flattened into a 0-1 axis;
        ``(0, 1)`` for the whole range.
    validation_label : str, default "validation"
        The legend's name for ``validation_data``: "test" when it is the test set.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``.

    Raises
    ------
    ValueError
        If the history holds no accuracy (a regression network's history).
    """
    train_acc = _history_field(history, "train_acc")
    val_acc = _history_field(history, "val_acc")
    if train_acc.size == 0 and val_acc.size == 0:
        raise ValueError(
            "history has no accuracy (train_acc and val_acc are empty): it comes from a "
            "regression network (identity output) or an unfinished fit; use plot_loss instead"
        )
    ylim = _check_limits("ylim", ylim)
    validation_label = _check_label("validation_label", validation_label)
    _check_ax(ax)
    title, path = _check_title(title, "accuracy"), _check_path(path)
    figure, ax = _axes(ax)
    if train_acc.size:
        ax.plot(_epochs(train_acc), train_acc, marker="o", markersize=3, label=TRAIN_LABEL)
    if val_acc.size:
        ax.plot(_epochs(val_acc), val_acc, marker="o", markersize=3, label=validation_label)
    _mark_kept_epoch(ax, history, max(train_acc.size, val_acc.size))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    _accuracy_limits(ax, [train_acc, val_acc], ylim)
    _integer_epochs(ax)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    return _finish(figure, ax, title, path)


def plot_step_loss(
    history: History,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    log: bool = False,
    window: int | None = None,
) -> Figure | SubFigure:
    """Scatter the loss of every training step, with its running mean as a line.

    The course's per-sample SGD chart. Steps are numbered from 1 across all
    epochs, as :attr:`History.step_loss` joins them; each step is one sample
    (``batch_size=1``) or one mini-batch. Single steps scatter widely (one
    sample's loss); the line is the mean of the last ``window`` steps, the
    trend the cloud hides.

    Long runs are drawn downsampled, so that a chart of millions of steps takes
    as long as one of thousands: a History that keeps the mean of each
    ``step_stride`` steps (see :class:`fastnn.History`) scatters those means,
    and more than :data:`STEP_PLOT_POINTS` points are drawn as the band from the
    lowest to the highest point of each of :data:`STEP_PLOT_BINS` runs of steps,
    instead of a scatter.

    Parameters
    ----------
    history : History
        What :meth:`MLP.fit` returned; it must hold step losses.
    path : str or os.PathLike, optional
        Save the figure there (atomically); the suffix picks the format
        (:data:`SAVE_FORMATS`).
    title : str, optional
        Default "loss per step"; ``""`` for none. Say what was trained
        (:func:`describe_training`).
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.
    log : bool, default False
        Logarithmic loss axis: per-sample losses span several decades.
    window : int, optional
        Steps averaged by the running mean; before the first ``window`` steps,
        all steps so far. Default: 1% of the steps (at least 1). 0 draws no line.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``. The scatter (or band) is
        ``ax.collections[0]``, the running mean ``ax.get_lines()[0]``.
    """
    if not hasattr(history, "step_losses"):
        raise TypeError(
            f"history must be a fastnn History (what MLP.fit returns), "
            f"got {type(history).__name__} without .step_losses"
        )
    try:
        parts = [np.asarray(part, dtype=np.float64).ravel() for part in history.step_losses]
    except (TypeError, ValueError) as error:
        raise TypeError(f"history.step_losses must be arrays of numbers: {error}") from None
    points = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0)
    if points.size == 0:
        raise ValueError("history.step_losses is empty: fit for at least one step before plotting")
    log = _check_log(log)
    stride = int(getattr(history, "step_stride", 1))
    if stride > 1 and hasattr(history, "step_positions"):
        n_steps, step_positions = sum(history.epoch_steps), history.step_positions

        def positions(indices):
            return step_positions[indices]
    else:
        n_steps = points.size

        def positions(indices):
            return np.asarray(indices) + 1.0

    if window is None:
        window = max(1, round(RUNNING_MEAN_FRACTION * n_steps))
    elif isinstance(window, bool) or not isinstance(window, numbers.Integral):
        raise TypeError(f"window must be a whole number of steps or None, got {window!r}")
    elif window < 0:
        raise ValueError(f"window must be >= 0 (0: no running mean), got {window}")
    _check_ax(ax)
    title, path = _check_title(title, "loss per step"), _check_path(path)
    figure, ax = _axes(ax)
    each = "each step" if stride == 1 else f"mean of each {stride:,} steps"
    if points.size <= STEP_PLOT_POINTS:
        shown = np.arange(points.size)
        ax.scatter(positions(shown), points, s=4, linewidths=0, alpha=0.5, label=each)
    else:
        edges = np.linspace(0, points.size, STEP_PLOT_BINS + 1).astype(np.int64)
        firsts, lasts = edges[:-1], edges[1:] - 1
        low = np.minimum.reduceat(points, firsts)
        high = np.maximum.reduceat(points, firsts)
        middle = (positions(firsts) + positions(lasts)) / 2
        ax.fill_between(
            middle, low, high, alpha=0.35, linewidth=0, label=f"range of {each} (downsampled)"
        )
        shown = (firsts + lasts) // 2
    if window:
        what = f"mean of the last {window:,} steps" if window > 1 else "each step"
        # The running mean over points that each average `stride` steps.
        mean = _running_mean(points, max(1, round(int(window) / stride)), shown)
        ax.plot(positions(shown), mean, color="C1", linewidth=1.5, label=what)
        ax.legend(loc="upper right", markerscale=3)
    ax.set_xlabel("step")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # 100,000, not 100000
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    return _finish(figure, ax, title, path)
