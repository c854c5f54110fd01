"""Gradient descent over a function's contours, the course's chart."""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    pass
from fastnn.plot.common import (
    GRID_POINTS,
    _axes,
    _check_ax,
    _check_limits,
    _check_path,
    _check_title,
    _default_limits,
    _finish,
    _square_limits,
)


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
