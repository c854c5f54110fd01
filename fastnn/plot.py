"""The course's charts, drawn headless with matplotlib's object-oriented API.

Import it as ``from fastnn import plot`` (``import fastnn`` alone does not load
matplotlib). Every function draws one chart and returns its ``Figure``:

- :func:`plot_loss`: training (and validation) loss per epoch.
- :func:`plot_accuracy`: training and validation accuracy per epoch (正答率).
- :func:`plot_step_loss`: the loss of every step, as a scatter (per-sample SGD).
- :func:`plot_gradient_descent`: a 2-D descent trajectory over contours of f.
- :func:`plot_comparison`: one metric of several histories, one line each.

Figures are plain ``matplotlib.figure.Figure`` objects on an Agg canvas: no GUI
backend is needed and pyplot's global state is never touched, so they are safe
in scripts, tests, servers and threads. Pass ``ax=`` to draw into an Axes of
your own (a subplot of a larger figure, or a notebook's ``plt.gca()``); the
function then returns ``ax.figure``. Pass ``path=`` to save a PNG: it is written
to a temporary file beside ``path`` and renamed over it, so a reader never sees
a half-written image and a failed save leaves any old file intact.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from fastnn._atomic import atomic_write

if TYPE_CHECKING:
    from fastnn.model import History

__all__ = [
    "plot_loss",
    "plot_accuracy",
    "plot_step_loss",
    "plot_gradient_descent",
    "plot_comparison",
    "METRICS",
]

# History fields plot_comparison can draw, with their axis labels.
METRICS = {
    "loss": "training loss",
    "val_loss": "validation loss",
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
}

FIGSIZE = (6.4, 4.8)

# Contour grid points per axis in plot_gradient_descent: f is called once per point.
GRID_POINTS = 101


# --------------------------------------------------------------------------- helpers


def _check_ax(ax):
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")


def _axes(ax):
    """Return ``(figure, ax)``: the given Axes and its figure, or a new Agg figure."""
    if ax is None:
        figure = Figure(figsize=FIGSIZE, layout="constrained")
        FigureCanvasAgg(figure)
        return figure, figure.add_subplot()
    return ax.figure, ax


def _check_title(title, default):
    """Return the title to set: ``default`` for None, else ``title`` if it is a string."""
    if title is None:
        return default
    if not isinstance(title, str):
        raise TypeError(f"title must be a string or None, got {type(title).__name__}")
    return title


# More curves than this in one chart put the legend beside the axes.
LEGEND_INSIDE_MAX = 8


def _check_path(path):
    """Return ``path`` as an absolute str whose directory exists, or None."""
    if path is None:
        return None
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"path {path!r}: directory {directory!r} does not exist; create it first"
        )
    return os.path.abspath(path)


def _finish(figure, ax, title, path):
    """Set the checked title, save to the checked ``path`` if any, and return ``figure``."""
    if title:
        ax.set_title(title)
    if path is not None:
        _save_png(figure, path)
    return figure


def _save_png(figure, path):
    """Write ``figure`` as a PNG at ``path`` atomically: temporary file, then rename."""
    # A SubFigure cannot be saved on its own; save the figure that holds it.
    root = figure
    while getattr(root, "figure", root) is not root:
        root = root.figure
    with atomic_write(path) as stream:
        root.savefig(stream, format="png")


def _history_field(history, field, name="history"):
    """Return ``history.<field>`` as a 1-D float array, with errors naming the argument."""
    if not hasattr(history, field):
        raise TypeError(
            f"{name} must be a fastnn History (what MLP.fit returns), "
            f"got {type(history).__name__} without .{field}"
        )
    try:
        values = np.asarray(getattr(history, field), dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}.{field} must be a list of numbers: {error}") from None
    if values.ndim != 1:
        raise ValueError(f"{name}.{field} must be one number per epoch, got shape {values.shape}")
    return values


def _epochs(values):
    """Epoch numbers 1..n for ``values``."""
    return np.arange(1, len(values) + 1)


def _integer_epochs(ax):
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _check_log(log):
    if not isinstance(log, (bool, np.bool_)):
        raise TypeError(f"log must be True or False, got {log!r}")
    return bool(log)


def _check_limits(name: str, limits: Any) -> tuple[float, float] | None:
    """Return ``limits`` as a finite increasing pair of floats, or None."""
    if limits is None:
        return None
    try:
        low, high = (float(value) for value in limits)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got {limits!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"{name} must be finite with low < high, got {limits!r}")
    return low, high


def _default_limits(values: np.ndarray) -> tuple[float, float]:
    """The span of ``values`` widened by 10% on each side (by 1 if the span is 0)."""
    low, high = float(values.min()), float(values.max())
    margin = 0.1 * (high - low) if high > low else 1.0
    return low - margin, high + margin


# --------------------------------------------------------------------------- charts


def plot_loss(
    history: History,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    log: bool = False,
) -> Figure | SubFigure:
    """Plot the training loss per epoch, and the validation loss if it was measured.

    Parameters
    ----------
    history : History
        What :meth:`MLP.fit` returned; ``history.loss`` must not be empty.
    path : str or os.PathLike, optional
        Save the figure there as a PNG (atomically).
    title : str, optional
        Default "loss"; ``""`` for none.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.
    log : bool, default False
        Logarithmic loss axis.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``.

    Examples
    --------
    >>> from fastnn import plot
    >>> history = net.fit(X, T, epochs=10, validation_data=(X_test, T_test))
    >>> plot.plot_loss(history, "loss.png")  # doctest: +SKIP
    """
    loss = _history_field(history, "loss")
    val_loss = _history_field(history, "val_loss")
    if loss.size == 0:
        raise ValueError("history.loss is empty: fit for at least one epoch before plotting")
    log = _check_log(log)
    _check_ax(ax)
    title, path = _check_title(title, "loss"), _check_path(path)
    figure, ax = _axes(ax)
    ax.plot(_epochs(loss), loss, marker="o", markersize=3, label="train")
    if val_loss.size:
        ax.plot(_epochs(val_loss), val_loss, marker="o", markersize=3, label="validation")
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
) -> Figure | SubFigure:
    """Plot the training and validation accuracy per epoch (the course's 正答率 chart).

    Parameters
    ----------
    history : History
        What :meth:`MLP.fit` returned for a classifier (softmax or sigmoid
        output); regression histories have no accuracy.
    path : str or os.PathLike, optional
        Save the figure there as a PNG (atomically).
    title : str, optional
        Default "accuracy"; ``""`` for none.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``. The accuracy axis runs from 0 to 1.

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
    _check_ax(ax)
    title, path = _check_title(title, "accuracy"), _check_path(path)
    figure, ax = _axes(ax)
    if train_acc.size:
        ax.plot(_epochs(train_acc), train_acc, marker="o", markersize=3, label="train")
    if val_acc.size:
        ax.plot(_epochs(val_acc), val_acc, marker="o", markersize=3, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
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
) -> Figure | SubFigure:
    """Scatter the loss of every training step (the course's per-sample SGD chart).

    Steps are numbered from 1 across all epochs, as :attr:`History.step_loss`
    joins them; each step is one sample (``batch_size=1``) or one mini-batch.

    Parameters
    ----------
    history : History
        What :meth:`MLP.fit` returned; it must hold step losses.
    path : str or os.PathLike, optional
        Save the figure there as a PNG (atomically).
    title : str, optional
        Default "loss per step"; ``""`` for none.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.
    log : bool, default False
        Logarithmic loss axis: per-sample losses span several decades.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``.
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
    steps = np.concatenate(parts) if parts else np.zeros(0)
    if steps.size == 0:
        raise ValueError("history.step_losses is empty: fit for at least one step before plotting")
    log = _check_log(log)
    _check_ax(ax)
    title, path = _check_title(title, "loss per step"), _check_path(path)
    figure, ax = _axes(ax)
    ax.scatter(np.arange(1, steps.size + 1), steps, s=4, linewidths=0, alpha=0.6)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    return _finish(figure, ax, title, path)


def plot_gradient_descent(
    f: Callable[[Any], Any],
    history: ArrayLike,
    path: str | os.PathLike[str] | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    levels: int | ArrayLike = 20,
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure | SubFigure:
    """Draw a 2-D gradient-descent trajectory over a contour plot of ``f``.

    Parameters
    ----------
    f : callable
        ``f(x)`` takes a length-2 array and returns a scalar, e.g. the course's
        ``function_2 = lambda x: x[0]**2 + x[1]**2``. It is called once per
        grid point (101 x 101), each time with a fresh array.
    history : array-like, shape (steps, 2)
        The points visited, in order, e.g. from
        :func:`fastnn.functions.gradient_descent`.
    path : str or os.PathLike, optional
        Save the figure there as a PNG (atomically).
    xlim, ylim : (float, float), optional
        The area drawn. Default: the trajectory's span plus 10% on each side.
    levels : int or array-like, default 20
        Number of contour levels, or the levels themselves (increasing).
    title : str, optional
        Default "gradient descent"; ``""`` for none.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``. The trajectory is the Axes' only
        line (``ax.get_lines()[0]``); the contours are a collection.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable taking a length-2 array, got {type(f).__name__}")
    try:
        points = np.array(history, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"history must be an array of shape (steps, 2): {error}") from None
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise ValueError(
            f"history must have shape (steps, 2) with at least one step, got shape {points.shape}"
        )
    if not np.isfinite(points).all():
        raise ValueError("history contains NaN or inf: the descent diverged; lower lr")
    xlim = _check_limits("xlim", xlim) or _default_limits(points[:, 0])
    ylim = _check_limits("ylim", ylim) or _default_limits(points[:, 1])
    if isinstance(levels, numbers.Integral) and not isinstance(levels, bool):
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
    else:
        levels = np.asarray(levels, dtype=np.float64)
        if levels.ndim != 1 or levels.size == 0 or np.any(np.diff(levels) <= 0):
            raise ValueError(
                f"levels must be a positive int or an increasing sequence, got {levels!r}"
            )
    _check_ax(ax)
    title, path = _check_title(title, "gradient descent"), _check_path(path)

    grid_x, grid_y = np.meshgrid(np.linspace(*xlim, GRID_POINTS), np.linspace(*ylim, GRID_POINTS))
    values = np.empty_like(grid_x)
    for index in np.ndindex(grid_x.shape):
        value = f(np.array([grid_x[index], grid_y[index]]))
        if np.ndim(value) != 0 or not isinstance(np.asarray(value).item(), numbers.Real):
            raise TypeError(
                f"f must return a real scalar for a length-2 array, got "
                f"{type(value).__name__} of shape {np.shape(value)}"
            )
        values[index] = value
    finite = np.isfinite(values)
    if not finite.any():
        raise ValueError(f"f is NaN or inf everywhere on the grid xlim={xlim}, ylim={ylim}")

    figure, ax = _axes(ax)
    ax.contour(
        grid_x,
        grid_y,
        np.ma.masked_where(~finite, values),
        levels=levels,
        cmap="viridis",
        linewidths=0.8,
    )
    ax.plot(points[:, 0], points[:, 1], "o-", color="C3", markersize=3, linewidth=1)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    return _finish(figure, ax, title, path)


def plot_comparison(
    histories: Mapping[str, History],
    metric: str = "loss",
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    log: bool = False,
) -> Figure | SubFigure:
    """Plot one metric of several histories per epoch, one labelled line each.

    Parameters
    ----------
    histories : dict of str to History
        E.g. what :func:`fastnn.compare_optimizers` returns, or
        ``{"SGD": h1, "mini-batch": h2}``. Lines follow the dict's order.
    metric : {"loss", "val_loss", "train_acc", "val_acc"}, default "loss"
        The History field to draw; every history must hold it.
    path : str or os.PathLike, optional
        Save the figure there as a PNG (atomically).
    title : str, optional
        Default: the metric's name, e.g. "validation loss"; ``""`` for none.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.
    log : bool, default False
        Logarithmic y axis (loss metrics only make sense here).

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``. Accuracy metrics run from 0 to 1.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    if not isinstance(histories, Mapping):
        raise TypeError(
            f"histories must be a dict of name -> History, got {type(histories).__name__}"
        )
    if not histories:
        raise ValueError("histories is empty: pass at least one name -> History")
    log = _check_log(log)
    curves = {}
    for name, history in histories.items():
        values = _history_field(history, metric, f"histories[{name!r}]")
        if values.size == 0:
            hint = " (a regression history has no accuracy)" if "acc" in metric else ""
            raise ValueError(f"histories[{name!r}].{metric} is empty{hint}")
        curves[str(name)] = values
    _check_ax(ax)
    title, path = _check_title(title, METRICS[metric]), _check_path(path)

    figure, ax = _axes(ax)
    for name, values in curves.items():
        ax.plot(_epochs(values), values, marker="o", markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(METRICS[metric])
    if "acc" in metric:
        ax.set_ylim(0, 1)
    if log:
        ax.set_yscale("log")
    _integer_epochs(ax)
    ax.grid(True, alpha=0.3)
    if len(curves) > LEGEND_INSIDE_MAX:
        # A sweep's many curves: the legend goes beside the axes, not over the data.
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small", frameon=False)
        if figure is ax.figure and isinstance(figure, Figure):  # a SubFigure has no size
            width, height = figure.get_size_inches()
            figure.set_size_inches(width + 3.5, max(height, 0.22 * len(curves) + 1))
    else:
        ax.legend()
    return _finish(figure, ax, title, path)
