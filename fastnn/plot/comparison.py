"""Several training runs in one chart (optimizers, sweeps)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

if TYPE_CHECKING:
    from fastnn.model import History
from fastnn.plot.common import (
    LEGEND_INSIDE_MAX,
    METRICS,
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
    _line_style,
)


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
