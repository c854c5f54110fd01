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
function then returns ``ax.figure``. Pass ``path=`` to save the chart: its suffix
picks the format (``.png``, ``.jpg``/``.jpeg``, ``.svg`` or ``.pdf``; PNG for a
name without one), and any other suffix is refused before anything is drawn, so
a file never holds another format than its name says. It is written to a
temporary file beside ``path`` and renamed over it, so a reader never sees a
half-written image and a failed save leaves any old file intact.

Title each chart with what was trained: :func:`describe_training` writes the
network, optimizer, batch size and data in one line, e.g.
``"64-64-10 relu/softmax, SGD lr=0.05, per sample, 8x8 digits"``.
"""

from __future__ import annotations

import inspect
import numbers
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from fastnn.io.atomic import atomic_write

if TYPE_CHECKING:
    from fastnn.model import MLP, History
    from fastnn.optimizers import Optimizer

__all__ = [
    "describe_training",
    "describe_optimizer",
    "plot_loss",
    "plot_accuracy",
    "plot_step_loss",
    "plot_gradient_descent",
    "plot_comparison",
    "METRICS",
    "SAVE_FORMATS",
    "STEP_PLOT_POINTS",
    "STEP_PLOT_BINS",
]

# History fields plot_comparison can draw, with their axis labels.
METRICS = {
    "loss": "training loss",
    "val_loss": "validation loss",
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
}

FIGSIZE = (6.4, 4.8)

#: The suffixes ``path=`` accepts, and the format each one saves (matplotlib's name).
SAVE_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg", ".pdf": "pdf"}

#: plot_step_loss's default running-mean window is this fraction of the steps.
RUNNING_MEAN_FRACTION = 0.01
#: plot_step_loss scatters up to this many points; more are drawn as a band of
#: STEP_PLOT_BINS runs (the lowest to the highest point of each): a chart of 20 million
#: steps then costs what one of 20 thousand does.
STEP_PLOT_POINTS = 20_000
STEP_PLOT_BINS = 2_000

# Contour grid points per axis in plot_gradient_descent: f is called once per point.
GRID_POINTS = 101


# --------------------------------------------------------------------------- helpers


def _check_ax(ax):
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")


def _axes(ax: Axes | None) -> tuple[Figure | SubFigure, Axes]:
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


def _save_format(path):
    """Return the format ``path``'s suffix asks for ("png", "jpeg", "svg", "pdf").

    A name without a suffix is saved as PNG.

    Raises
    ------
    ValueError
        If the suffix is not one of :data:`SAVE_FORMATS`.
    """
    suffix = os.path.splitext(os.fsdecode(os.fspath(path)))[1].lower()
    if not suffix:
        return "png"
    if suffix not in SAVE_FORMATS:
        raise ValueError(
            f"path {os.fspath(path)!r}: charts are saved as {', '.join(SAVE_FORMATS)}, chosen "
            f"by the name's suffix; got {suffix!r}"
        )
    return SAVE_FORMATS[suffix]


def _check_path(path):
    """Return ``path`` as an absolute str whose directory exists and suffix is known, or None."""
    if path is None:
        return None
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None
    _save_format(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"path {path!r}: directory {directory!r} does not exist; create it first"
        )
    return os.path.abspath(path)


def _finish(
    figure: Figure | SubFigure, ax: Axes, title: str | None, path: str | os.PathLike[str] | None
) -> Figure | SubFigure:
    """Set the checked title, save to the checked ``path`` if any, and return ``figure``."""
    if title:
        ax.set_title(title, wrap=True)
    if path is not None:
        _save(figure, path)
    return figure


def _save(figure, path):
    """Write ``figure`` at ``path`` in the format of its suffix, atomically."""
    # A SubFigure cannot be saved on its own; save the figure that holds it.
    root = figure
    while getattr(root, "figure", root) is not root:
        root = root.figure
    with atomic_write(path) as stream:
        root.savefig(stream, format=_save_format(path))


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


def _square_limits(points):
    """Limits around ``points`` with one span on both axes (equal scales), 10% margin."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    span = float((high - low).max())
    half = 0.6 * span if span > 0 else 1.0
    return (centre[0] - half, centre[0] + half), (centre[1] - half, centre[1] + half)


def _check_label(name, label):
    if not isinstance(label, str):
        raise TypeError(f"{name} must be a string, got {type(label).__name__}")
    if not label.strip():
        raise ValueError(f"{name} must not be empty; it names the validation data in the legend")
    return label


class _UnitIntervalLocator(MaxNLocator):
    """Ticks as MaxNLocator places them, but only within [0, 1]: accuracy lies there."""

    def tick_values(self, vmin, vmax):
        ticks = super().tick_values(vmin, vmax)
        return ticks[(ticks >= -1e-9) & (ticks <= 1 + 1e-9)]


def _accuracy_limits(ax, curves, ylim):
    """Set the y-limits of accuracy ``curves``: ``ylim``, or the data's span with a margin.

    Accuracies of 0.85-0.95 fill the axes instead of a tenth of a 0-1 axis, and a
    point at 1.0 or 0.0 keeps room for its whole marker.
    """
    if ylim is not None:
        ax.set_ylim(ylim)
        return
    values = np.concatenate([np.asarray(curve, dtype=np.float64) for curve in curves])
    values = values[np.isfinite(values)]
    if values.size == 0:
        ax.set_ylim(0, 1)
        return
    low, high = float(values.min()), float(values.max())
    span = max(high - low, 0.02)  # a flat curve still gets an axis two points wide
    centre = (low + high) / 2
    low, high = min(low, centre - span / 2), max(high, centre + span / 2)
    margin = 0.1 * (high - low)
    ax.set_ylim(max(low - margin, -margin), min(high + margin, 1 + margin))
    # The steps of matplotlib's AutoLocator: ticks at 0.825, 0.85, not 0.808, 0.816.
    ax.yaxis.set_major_locator(_UnitIntervalLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10]))


_LINE_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _line_style(position):
    """A look of its own for the ``position``-th line: 320 before one repeats."""
    return {
        "color": f"C{position % 10}",
        "linestyle": _LINE_STYLES[(position // 10) % len(_LINE_STYLES)],
        "marker": _MARKERS[(position // 40) % len(_MARKERS)],
        "markersize": 3,
    }


def _running_mean(values, window, at):
    """The mean of the last ``window`` values (of all of them before that) at indices ``at``."""
    sums = np.cumsum(values)
    ends = np.asarray(at) + 1
    starts = np.maximum(0, ends - window)
    before = np.where(starts > 0, sums[np.maximum(starts - 1, 0)], 0.0)
    return (sums[ends - 1] - before) / (ends - starts)


def describe_optimizer(optimizer: Optimizer | str) -> str:
    """Return "SGD lr=0.05 momentum=0.9": the class, lr, and what differs from the defaults.

    Parameters
    ----------
    optimizer : Optimizer or str
        A string is returned as it is.

    Returns
    -------
    str
    """
    if isinstance(optimizer, str):
        return optimizer
    parts = [type(optimizer).__name__]
    parameters: Mapping[str, inspect.Parameter]
    try:
        parameters = inspect.signature(type(optimizer).__init__).parameters
    except (TypeError, ValueError):
        parameters = {}
    for name, parameter in parameters.items():
        if name == "self" or not hasattr(optimizer, name):
            continue
        value = getattr(optimizer, name)
        if name != "lr" and parameter.default is not inspect.Parameter.empty:
            try:
                if bool(np.all(np.asarray(value) == np.asarray(parameter.default))):
                    continue
            except (TypeError, ValueError):
                pass
        shown = f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)
        parts.append(f"{name}={shown}")
    return " ".join(parts)


def describe_training(
    net: MLP | None = None,
    optimizer: Optimizer | str | None = None,
    *,
    batch_size: int | Literal["full"] | None = None,
    data: str | None = None,
) -> str:
    """Return a one-line description of what was trained, for a chart's title.

    Parameters
    ----------
    net : MLP, optional
        Gives "64-64-10 relu/softmax": the widths, then the hidden and output
        activations; then "dropout 0.2" if it drops hidden units.
    optimizer : Optimizer or str, optional
        Gives "SGD lr=0.05", with any hyper-parameter that differs from its
        default ("momentum=0.9").
    batch_size : int or "full", optional
        1 gives "per sample", k "batch k", "full" "full batch".
    data : str, optional
        What the network was trained on, as it should read ("8x8 digits").

    Returns
    -------
    str
        The parts given, joined by ", ".

    Examples
    --------
    >>> net = MLP([64, 64, 10], hidden="relu", output="softmax")  # doctest: +SKIP
    >>> describe_training(net, SGD(lr=0.05), batch_size=1, data="8x8 digits")  # doctest: +SKIP
    '64-64-10 relu/softmax, SGD lr=0.05, per sample, 8x8 digits'
    """
    parts = []
    if net is not None:
        try:
            sizes, hidden, output = net.sizes, net.hidden, net.output
        except AttributeError:
            raise TypeError(f"net must be a fastnn MLP, got {type(net).__name__}") from None
        activations = [*dict.fromkeys(hidden), output]  # each hidden activation once
        parts.append("-".join(str(size) for size in sizes) + " " + "/".join(activations))
        rates = list(getattr(net, "dropout", None) or [])
        if any(rates):
            shown = f"{rates[0]:g}" if len(set(rates)) == 1 else "/".join(f"{r:g}" for r in rates)
            parts.append(f"dropout {shown}")
    if optimizer is not None:
        parts.append(describe_optimizer(optimizer))
    if batch_size is not None:
        if batch_size == "full":
            parts.append("full batch")
        elif isinstance(batch_size, numbers.Integral) and not isinstance(batch_size, bool):
            parts.append("per sample" if batch_size == 1 else f"batch {batch_size}")
        else:
            raise TypeError(f"batch_size must be an int, 'full' or None, got {batch_size!r}")
    if data is not None:
        parts.append(str(data))
    return ", ".join(parts)


# --------------------------------------------------------------------------- charts


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
    ax.plot(_epochs(loss), loss, marker="o", markersize=3, label="train")
    if val_loss.size:
        ax.plot(_epochs(val_loss), val_loss, marker="o", markersize=3, label=validation_label)
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
        ax.plot(_epochs(train_acc), train_acc, marker="o", markersize=3, label="train")
    if val_acc.size:
        ax.plot(_epochs(val_acc), val_acc, marker="o", markersize=3, label=validation_label)
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
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    return _finish(figure, ax, title, path)


def _check_point(name, point):
    try:
        values = np.array(point, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != (2,) or not np.isfinite(values).all():
        raise ValueError(f"{name} must be None, False or a finite point (x0, x1), got {point!r}")
    return values


def _find_minimum(f, grid_x, grid_y, values, xlim, ylim):
    """Return the minimum of ``f`` inside the limits, or None when it lies outside them.

    The lowest grid point, refined by Nelder-Mead within the limits; one that
    ends on the edge of the view means the minimum is beyond it.
    """
    from scipy.optimize import minimize

    index = np.unravel_index(
        np.nanargmin(np.where(np.isfinite(values), values, np.nan)), values.shape
    )
    start = np.array([grid_x[index], grid_y[index]])
    span = max(xlim[1] - xlim[0], ylim[1] - ylim[0])
    point = start
    with np.errstate(all="ignore"):
        result = minimize(
            lambda x: float(f(np.array(x))),
            start,
            method="Nelder-Mead",
            bounds=[xlim, ylim],
            options={"xatol": 1e-9 * span, "fatol": 0.0, "maxiter": 2000},
        )
    if np.isfinite(result.fun) and result.fun <= values[index]:
        point = result.x
    edge = 1e-3 * span
    inside = (
        xlim[0] + edge < point[0] < xlim[1] - edge and ylim[0] + edge < point[1] < ylim[1] - edge
    )
    return point if inside else None


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
    minimum: tuple[float, float] | Literal[False] | None = None,
    colorbar: bool = True,
) -> Figure | SubFigure:
    """Draw a 2-D gradient-descent trajectory over a contour map of ``f``.

    Both axes have the same scale, so the contours keep their true shape and
    the descent its true direction; the minimum of ``f`` is marked with a star
    and a colour bar reads the values of ``f``.

    Parameters
    ----------
    f : callable
        ``f(x)`` takes a length-2 array and returns a scalar, e.g. the course's
        ``function_2 = lambda x: x[0]**2 + x[1]**2``. It is called once per
        grid point (101 x 101), each time with a fresh array, and some more
        times to find the minimum.
    history : array-like, shape (steps, 2)
        The points visited, in order, e.g. from
        :func:`fastnn.functions.gradient_descent`.
    path : str or os.PathLike, optional
        Save the figure there (atomically); the suffix picks the format
        (:data:`SAVE_FORMATS`).
    xlim, ylim : (float, float), optional
        The area drawn. Default: a square around the trajectory, 10% wider
        than its longer side.
    levels : int or array-like, default 20
        Number of contour levels, or the levels themselves (increasing).
    title : str, optional
        Default "gradient descent"; ``""`` for none.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.
    minimum : (float, float), None or False, default None
        Where to put the star. None finds it: the lowest point of the grid,
        refined by Nelder-Mead (``scipy.optimize.minimize``), unmarked if it
        lies on the edge of the area (the minimum is outside). False marks
        nothing.
    colorbar : bool, default True
        Draw a colour bar of ``f`` beside the axes.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``. The trajectory is the Axes' first
        line (``ax.get_lines()[0]``), the minimum its second; the contours are
        collections.
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
    xlim, ylim = _check_limits("xlim", xlim), _check_limits("ylim", ylim)
    square_x, square_y = _square_limits(points)
    if xlim is None and ylim is None:
        xlim, ylim = square_x, square_y
    xlim = xlim or _default_limits(points[:, 0])
    ylim = ylim or _default_limits(points[:, 1])
    if isinstance(levels, numbers.Integral) and not isinstance(levels, bool):
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
    else:
        levels = np.asarray(levels, dtype=np.float64)
        if levels.ndim != 1 or levels.size == 0 or np.any(np.diff(levels) <= 0):
            raise ValueError(
                f"levels must be a positive int or an increasing sequence, got {levels!r}"
            )
    if minimum is not None and minimum is not False:
        minimum = _check_point("minimum", minimum)
    if not isinstance(colorbar, (bool, np.bool_)):
        raise TypeError(f"colorbar must be True or False, got {colorbar!r}")
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
    if minimum is None:
        minimum = _find_minimum(f, grid_x, grid_y, values, xlim, ylim)

    figure, ax = _axes(ax)
    masked = np.ma.masked_where(~finite, values)
    filled = ax.contourf(grid_x, grid_y, masked, levels=levels, cmap="viridis", alpha=0.75)
    ax.contour(grid_x, grid_y, masked, levels=filled.levels, colors="white", linewidths=0.4)
    ax.plot(
        points[:, 0],
        points[:, 1],
        "o-",
        color="C3",
        markersize=3,
        linewidth=1,
        label=f"descent ({len(points):,} point{'s' if len(points) != 1 else ''})",
    )
    if minimum is not None and minimum is not False:
        ax.plot(
            [minimum[0]],
            [minimum[1]],
            linestyle="none",
            marker="*",
            markersize=15,
            markerfacecolor="white",
            markeredgecolor="black",
            label=f"minimum ({minimum[0]:.3g}, {minimum[1]:.3g})",
        )
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.legend(loc="best", framealpha=0.9)
    if colorbar:
        ax.figure.colorbar(filled, ax=ax, label="f(x)")
    return _finish(figure, ax, title, path)


def plot_comparison(
    histories: Mapping[str, History],
    metric: str = "loss",
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    log: bool = False,
    ylim: tuple[float, float] | None = None,
    validation_label: str = "validation",
    highlight: str | None = None,
) -> Figure | SubFigure:
    """Plot one metric of several histories per epoch, one labelled line each.

    Every line has its own look: ten colours, then the same colours dashed,
    dotted and dash-dotted, with markers of several shapes, so that a sweep's
    dozens of configurations stay apart in the legend.

    Parameters
    ----------
    histories : dict of str to History
        E.g. what :func:`fastnn.compare_optimizers` returns, or
        ``{"SGD": h1, "mini-batch": h2}``. Lines follow the dict's order.
    metric : {"loss", "val_loss", "train_acc", "val_acc"}, default "loss"
        The History field to draw; every history must hold it.
    path : str or os.PathLike, optional
        Save the figure there (atomically); the suffix picks the format
        (:data:`SAVE_FORMATS`).
    title : str, optional
        Default: the metric's name, e.g. "validation loss"; ``""`` for none.
        Say what was trained (:func:`describe_training`).
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes instead of a new figure.
    log : bool, default False
        Logarithmic y axis (loss metrics only make sense here).
    ylim : (float, float), optional
        The y axis. Default: matplotlib's for losses; for accuracies the span of
        the data with a margin, as in :func:`plot_accuracy`.
    validation_label : str, default "validation"
        How the axis label and default title name ``validation_data`` for
        "val_loss" and "val_acc": "test" when it is the test set.
    highlight : str, optional
        The name of one history to draw thicker, on top, labelled "(selected)":
        the configuration a sweep picked.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or ``ax.figure``.
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
    ylim = _check_limits("ylim", ylim)
    validation_label = _check_label("validation_label", validation_label)
    curves = {}
    for name, history in histories.items():
        values = _history_field(history, metric, f"histories[{name!r}]")
        if values.size == 0:
            hint = " (a regression history has no accuracy)" if "acc" in metric else ""
            raise ValueError(f"histories[{name!r}].{metric} is empty{hint}")
        curves[str(name)] = values
    axis_label = METRICS[metric]
    if metric.startswith("val_"):
        axis_label = axis_label.replace("validation", validation_label, 1)
    _check_ax(ax)
    title, path = _check_title(title, axis_label), _check_path(path)

    if highlight is not None and highlight not in curves:
        raise ValueError(f"highlight {highlight!r} is not one of the histories' names")
    figure, ax = _axes(ax)
    for position, (name, values) in enumerate(curves.items()):
        selected = name == highlight
        ax.plot(
            _epochs(values),
            values,
            label=f"{name} (selected)" if selected else name,
            linewidth=3.0 if selected else 1.5,
            zorder=3 if selected else 2,
            **_line_style(position),
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(axis_label)
    if "acc" in metric:
        _accuracy_limits(ax, list(curves.values()), ylim)
    elif ylim is not None:
        ax.set_ylim(ylim)
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
