"""What every chart shares: axes, titles, limits, line styles, checked paths, atomic saves."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator

from fastnn.io.atomic import atomic_write

if TYPE_CHECKING:
    pass

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
        ax.set_title(wrap_title(title, _title_width(figure, ax)))
    if path is not None:
        _save(figure, path)
    return figure


def _title_width(figure: Figure | SubFigure, ax: Axes) -> int:
    """About how many characters of a title fit across ``ax``."""
    root = figure if isinstance(figure, Figure) else figure.figure  # a SubFigure's Figure
    inches = ax.get_position().width * root.get_figwidth()
    points = float(matplotlib.rcParams["font.size"]) * 1.2  # titles are "large"
    return max(20, int(inches * 72 / (0.55 * points)))


def wrap_title(title: str, width: int) -> str:
    """Break each line of ``title`` at its phrases (", ", "; ") into lines of ``width``.

    A title such as describe_training's "64-64-10 relu/softmax, SGD lr=0.05, per
    sample, 8x8 digits, 1,437 training rows" then wraps between phrases, never
    inside one ("1,437 / training rows").
    """
    lines = []
    for line in title.split("\n"):
        phrases = re.split(r"(?<=[,;]) ", line)
        current = ""
        for phrase in phrases:
            if current and len(current) + 1 + len(phrase) > width:
                lines.append(current)
                current = phrase
            else:
                current = f"{current} {phrase}" if current else phrase
        lines.append(current)
    return "\n".join(lines)


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
