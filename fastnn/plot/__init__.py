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

from fastnn.plot.common import METRICS, SAVE_FORMATS, STEP_PLOT_BINS, STEP_PLOT_POINTS
from fastnn.plot.comparison import plot_comparison
from fastnn.plot.curves import plot_accuracy, plot_loss, plot_step_loss
from fastnn.plot.descent import plot_gradient_descent
from fastnn.plot.describe import describe_optimizer, describe_training

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
