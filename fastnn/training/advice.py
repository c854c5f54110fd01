"""What a fit tells a user it cannot fix for them: unscaled inputs, a loss stuck at chance.

Both are warnings (:class:`TrainingWarning`), once per fit: the fit itself goes on.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn.kernels import codes
from fastnn.network.architecture import Architecture
from fastnn.training.history import History

__all__ = ["TrainingWarning", "blas_threads", "warn_if_at_chance", "warn_if_unscaled"]

#: Inputs whose root mean square passes this are far outside the unit scale the
#: He and Xavier initialisations assume (unscaled pixels: about 80; scaled: 0.3).
UNSCALED_RMS = 10.0
#: Rows sampled (evenly) for that check: cheap on any data set.
SCALE_SAMPLE_ROWS = 1024
#: A classifier's training accuracy within this factor of 1/classes, with a loss no
#: lower than this fraction of ln(classes) (guessing's cross-entropy), is "at chance"...
CHANCE_FACTOR = 1.25
CHANCE_LOSS_FRACTION = 0.9
#: ...judged only on epochs of at least this many rows (and ten per class): a handful
#: of rows says nothing.
CHANCE_MIN_ROWS = 100


class TrainingWarning(UserWarning):
    """A fit ran, but something about it will likely disappoint (see the message)."""


def warn_if_unscaled(X: NDArray[Any], name: str = "X") -> None:
    """Warn once if the inputs are far outside the scale the initialisation assumes."""
    if X.shape[0] == 0 or X.shape[1] == 0:
        return
    step = max(1, X.shape[0] // SCALE_SAMPLE_ROWS)
    sample = np.asarray(X[::step], dtype=np.float64)
    rms = float(np.sqrt(np.mean(sample * sample)))
    if rms > UNSCALED_RMS:
        largest = float(np.max(np.abs(sample)))
        warnings.warn(
            f"{name}'s values are large (root mean square {rms:.3g}, up to {largest:.3g}); "
            "the initialisation assumes inputs of about unit scale, and training may stay "
            "at chance: scale them first (pixels: X / 255; else (X - mean) / std, with the "
            "training rows' mean and std)",
            TrainingWarning,
            stacklevel=4,
        )


def at_chance(history: History, architecture: Architecture, n_rows: int) -> bool:
    """True if a softmax classifier's last epoch of ``n_rows`` rows did no better than guessing."""
    if architecture.loss_code != codes.SOFTMAX_CE or not history.train_acc:
        return False
    classes = architecture.sizes[-1]
    if n_rows < max(CHANCE_MIN_ROWS, 10 * classes):
        return False
    return history.train_acc[-1] <= CHANCE_FACTOR / classes and history.loss[
        -1
    ] >= CHANCE_LOSS_FRACTION * math.log(classes)


def warn_if_at_chance(history: History, architecture: Architecture, n_rows: int) -> None:
    """Warn once if training ended no better than guessing."""
    if not at_chance(history, architecture, n_rows):
        return
    classes = architecture.sizes[-1]
    loss = history.loss[-1]
    warnings.warn(
        f"training accuracy is {history.train_acc[-1]:.3f} after {len(history.loss)} "
        f"epoch(s), about chance for {classes} classes (1/{classes} = {1 / classes:.3f}; "
        f"loss {loss:.4g}, chance is ln {classes} = {math.log(classes):.3g}): check that "
        "the inputs are scaled, the labels match the rows, and try another learning rate",
        TrainingWarning,
        stacklevel=4,
    )


_CONTROLLER: Any = None


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Run BLAS on ``threads`` threads within the block (None: leave it as it is).

    One ThreadpoolController is made per process: making one reads every loaded
    library's state, which costs about a millisecond.
    """
    global _CONTROLLER
    if threads is None:
        yield
        return
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=threads, user_api="blas"):
        yield
