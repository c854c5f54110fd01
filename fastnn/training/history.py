"""What a fit measured, epoch by epoch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["History"]


@dataclass
class History:
    """What ``fit`` measured, one value per epoch.

    Attributes
    ----------
    loss : list of float
        Mean training loss over the epoch's steps, each taken before its update
        (the running average Keras reports).
    val_loss : list of float
        Loss on ``validation_data`` after each epoch (empty without it).
    train_acc : list of float
        Fraction of training samples classified correctly during the epoch
        (classifiers only).
    val_acc : list of float
        Accuracy on ``validation_data`` after each epoch (classifiers only).
    step_losses : list of ndarray
        One array per epoch with the loss of every step (per sample or per
        batch); :attr:`step_loss` joins them.
    lr : list of float
        The learning rate of each epoch (with a per-step schedule, its base).
    stopped_epoch : int or None
        The epoch after which early stopping or a callback stopped training.
    best_epoch : int or None
        With early stopping, the epoch with the best monitored figure.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    step_losses: list[NDArray[np.float64]] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stopped_epoch: int | None = None
    best_epoch: int | None = None

    @property
    def step_loss(self) -> NDArray[np.float64]:
        """ndarray: the loss of every step of every epoch, in order (per-step charts)."""
        if not self.step_losses:
            return np.zeros(0)
        return np.concatenate(self.step_losses)

    @property
    def history(self) -> dict[str, list[float]]:
        """dict of str to list of float: the per-epoch figures under Keras's names.

        As ``keras.callbacks.History.history``: ``"loss"`` always, then
        ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"`` and ``"learning_rate"``
        for those that were measured (``train_acc``, ``val_loss``, ``val_acc``,
        ``lr``). The lists are copies:
        editing them leaves this History alone. ``pandas.DataFrame(h.history)``
        makes a table of one row per epoch.
        """
        figures = {"loss": list(self.loss)}
        # Keras's names for fastnn's fields, in the order Keras lists them.
        keras_names = (
            ("train_acc", "accuracy"),
            ("val_loss", "val_loss"),
            ("val_acc", "val_accuracy"),
            ("lr", "learning_rate"),
        )
        for field_name, keras_name in keras_names:
            values = getattr(self, field_name)
            if len(values):
                figures[keras_name] = list(values)
        return figures

    @property
    def epoch(self) -> list[int]:
        """list of int: the index of each recorded epoch, from 0 as in Keras (``[0, 1, ...]``).

        The charts and the command line number epochs from 1.
        """
        return list(range(len(self.loss)))
