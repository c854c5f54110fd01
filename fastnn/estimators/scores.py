"""The scores of ``score`` and of early stopping, as scikit-learn's metrics define them."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn.estimators.errors import UndefinedMetricWarning, warn


def accuracy(
    y_true: NDArray[Any], y_pred: NDArray[Any], sample_weight: NDArray[Any] | None = None
) -> float:
    """The (weighted) fraction of rows predicted exactly: ``accuracy_score``.

    For indicator rows (multilabel) a row counts only if every label is right.
    """
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y must have the shape of the predictions {y_pred.shape} (one label per row of "
            f"X, or one indicator row), got shape {y_true.shape}"
        )
    hits = y_true == y_pred
    if hits.ndim == 2:
        hits = np.all(hits, axis=1)
    return float(np.average(hits, weights=sample_weight))


def r2(
    y_true: NDArray[Any], y_pred: NDArray[Any], sample_weight: NDArray[Any] | None = None
) -> float:
    """The coefficient of determination R², as ``r2_score`` with its defaults.

    Outputs are averaged uniformly; an output whose ``y`` is constant scores 1.0 if
    predicted exactly and 0.0 otherwise (``force_finite=True``). Fewer than two
    samples give NaN with an :class:`UndefinedMetricWarning`.
    """
    true = np.asarray(y_true, dtype=np.float64).reshape(y_true.shape[0], -1)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(y_pred.shape[0], -1)
    if true.shape != pred.shape:
        raise ValueError(
            f"y has shape {y_true.shape}, the predictions {y_pred.shape}: they must match"
        )
    if true.shape[0] < 2:
        warn(UndefinedMetricWarning, "R^2 score is not well-defined with less than two samples.")
        return float("nan")
    weight = 1.0 if sample_weight is None else np.asarray(sample_weight, np.float64)[:, None]
    residual = np.sum(weight * (true - pred) ** 2, axis=0)
    mean = np.average(true, axis=0, weights=sample_weight)
    total = np.sum(weight * (true - mean) ** 2, axis=0)
    scores = np.ones(true.shape[1])
    defined = (total != 0) & (residual != 0)
    scores[defined] = 1 - residual[defined] / total[defined]
    scores[(residual != 0) & (total == 0)] = 0.0
    return float(np.mean(scores))
