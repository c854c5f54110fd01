"""Running metrics of test-then-train, under River's names, from the per-sample loop's record.

The per-sample epoch loop records, for every row before its update, the loss and
whether the row was classified correctly (:mod:`fastnn.kernels.bundles`). Those
are the row's test scores: test-then-train is one epoch over the rows in order,
and each metric below is a running mean (or ratio) of them, computed afterwards
in one vectorised pass.

=================  ===============================  ====================================
name               River                            per row, from the record
=================  ===============================  ====================================
``accuracy``       ``metrics.Accuracy``             correct (argmax, or p >= 0.5)
``error_rate``     ``1 - Accuracy``                 1 - correct
``log_loss``       ``metrics.LogLoss`` (binary)     the loss: -log p(true class)
``cross_entropy``  ``metrics.CrossEntropy``         the loss: -log p(true class)
``mse``            ``metrics.MSE``                  2 * loss / outputs: mean (y - t)**2
``rmse``           ``metrics.RMSE``                 sqrt of the running mse
``mae``            ``metrics.MAE`` (one output)     sqrt(2 * loss) = abs(y - t)
``r2``             ``metrics.R2`` (one output)      1 - sum (y - t)**2 / sum (t - mean t)**2
=================  ===============================  ====================================

The log-losses come from the logits by log-sum-exp, without River's clipping of
probabilities to [1e-15, 1 - 1e-15]: they agree with River's except where a
probability rounds to 0 or 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn.kernels import codes

__all__ = ["METRICS", "check_metric", "default_metric", "running"]

#: The metric names :func:`fastnn.progressive_val_score` knows, River's names.
METRICS = ("accuracy", "error_rate", "log_loss", "cross_entropy", "mse", "rmse", "mae", "r2")

_CLASSIFIER = ("accuracy", "error_rate", "log_loss", "cross_entropy")
_REGRESSION = ("mse", "rmse", "mae", "r2")


def default_metric(loss_code: int) -> str:
    """``accuracy`` for a classifier, ``mae`` for a regression network."""
    return "mae" if loss_code == codes.MSE else "accuracy"


def check_metric(metric: Any, loss_code: int, n_outputs: int) -> str:
    """Return the metric's name if it suits the network, else raise naming ``metric``."""
    if metric is None:
        return default_metric(loss_code)
    if not isinstance(metric, str) or metric.lower() not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    metric = metric.lower()
    regression = loss_code == codes.MSE
    if regression and metric in _CLASSIFIER:
        raise ValueError(
            f"metric={metric!r} needs a classifier; this network's output is identity "
            f"(regression): use one of {list(_REGRESSION)}"
        )
    if not regression and metric in _REGRESSION:
        raise ValueError(
            f"metric={metric!r} scores a regression; this network is a classifier: use one of "
            f"{list(_CLASSIFIER)}"
        )
    binary = (loss_code == codes.SIGMOID_BCE and n_outputs == 1) or (
        loss_code == codes.SOFTMAX_CE and n_outputs == 2
    )
    if metric == "log_loss" and not binary:
        raise ValueError(
            f"metric='log_loss' is River's binary log-loss; this network has {n_outputs} "
            "outputs: use 'cross_entropy'"
        )
    if metric == "cross_entropy" and loss_code == codes.SIGMOID_BCE and n_outputs > 1:
        raise ValueError(
            "metric='cross_entropy' needs one class per row; this network has several "
            "sigmoid outputs (labels): use 'accuracy'"
        )
    if metric in ("mae", "r2") and n_outputs > 1:
        raise ValueError(
            f"metric={metric!r} scores one target, as River's does; this network has "
            f"{n_outputs} outputs: use 'mse' or 'rmse' (averaged over the outputs)"
        )
    return metric


def running(
    metric: str,
    losses: NDArray[np.float64],
    correct: NDArray[np.float64],
    T: NDArray[Any],
    ends: NDArray[np.int64],
) -> NDArray[np.float64]:
    """The metric over the first ``end`` rows, for each ``end`` in ``ends`` (>= 1 each).

    ``losses`` and ``correct`` are the per-row record of the loop; ``T`` the targets.
    """
    n_outputs = T.shape[1]
    if metric in ("accuracy", "error_rate"):
        value = _running_mean(correct, ends)
        return 1.0 - value if metric == "error_rate" else value
    if metric in ("log_loss", "cross_entropy"):
        return _running_mean(losses, ends)
    squared = 2.0 * losses / n_outputs  # mean over the outputs of (y - t)**2
    if metric == "mse":
        return _running_mean(squared, ends)
    if metric == "rmse":
        return np.sqrt(_running_mean(squared, ends))
    if metric == "mae":
        return _running_mean(np.sqrt(squared), ends)
    # r2: 1 - RSS / TSS over the rows so far, 0 while TSS is 0 (River's convention).
    t = T[:, 0].astype(np.float64)
    t -= t.mean()  # the spread does not change; the cancellation below shrinks
    residual = np.cumsum(squared)[ends - 1]
    count = ends.astype(np.float64)
    total = np.cumsum(t)[ends - 1]
    total_sq = np.cumsum(t * t)[ends - 1]
    spread = np.maximum(total_sq - total * total / count, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(spread > 0, 1.0 - residual / spread, 0.0)


def _running_mean(values: NDArray[np.float64], ends: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.cumsum(values, dtype=np.float64)[ends - 1] / ends
