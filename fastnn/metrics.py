"""Scores of a trained network: what :meth:`MLP.evaluate` returns, and R² for regression."""

from typing import NamedTuple

import numpy as np

__all__ = ["Evaluation", "r2_score"]


class Evaluation(NamedTuple):
    """What :meth:`fastnn.MLP.evaluate` returns: ``loss, accuracy = net.evaluate(X, T)``.

    A tuple, so it unpacks as Keras's ``model.evaluate`` list does, with names.

    Attributes
    ----------
    loss : float
        The mean loss over the rows, as :meth:`MLP.loss` computes it.
    accuracy : float or None
        The fraction of rows classified correctly, as :meth:`MLP.accuracy`;
        None for a regression network (identity output), which has no accuracy.
    """

    loss: float
    accuracy: float | None


def r2_score(T, Y):
    """Return the coefficient of determination R² of predictions ``Y`` for targets ``T``.

    The same as scikit-learn's ``r2_score(T, Y)`` with its defaults: per output
    column ``1 - sum((t - y)**2) / sum((t - mean(t))**2)``, then the plain mean
    over the columns; a column whose targets are all equal scores 1.0 if it is
    predicted exactly and 0.0 otherwise. 1.0 is a perfect fit; predicting the
    mean of the targets scores 0.0; worse fits score below 0.

    Parameters
    ----------
    T, Y : array-like, shape (n_samples,) or (n_samples, outputs)
        Targets and predictions, of the same shape; computed in float64.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ or there are fewer than two rows (R² is not
        defined for one sample).
    """
    targets = np.asarray(T, dtype=np.float64)
    predictions = np.asarray(Y, dtype=np.float64)
    if targets.shape != predictions.shape:
        raise ValueError(
            f"r2_score: T has shape {targets.shape} and Y has shape {predictions.shape}; "
            "they must be the same"
        )
    if targets.ndim == 1:
        targets, predictions = targets[:, None], predictions[:, None]
    if targets.ndim != 2 or targets.shape[0] < 2:
        raise ValueError(
            f"r2_score needs at least two rows of targets (R² is not defined for fewer), "
            f"got shape {np.shape(T)}"
        )
    residual = np.sum((targets - predictions) ** 2, axis=0)
    total = np.sum((targets - targets.mean(axis=0)) ** 2, axis=0)
    constant = total == 0
    scores = np.where(constant, 0.0, 1.0)  # scikit-learn's force_finite for constant targets
    scores[constant & (residual == 0)] = 1.0
    varying = ~constant
    scores[varying] = 1.0 - residual[varying] / total[varying]
    return float(scores.mean())
