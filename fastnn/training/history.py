"""What a fit measured, epoch by epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

__all__ = ["History", "bucket_means", "merge_groups"]


def bucket_means(values: NDArray[np.float64], stride: int) -> NDArray[np.float64]:
    """Means of consecutive runs of ``stride`` values (the last run may be shorter)."""
    values = np.asarray(values, dtype=np.float64)
    if stride == 1:
        return values
    full = len(values) // stride
    means = values[: full * stride].reshape(full, stride).mean(axis=1)
    if full * stride < len(values):
        means = np.append(means, values[full * stride :].mean())
    return means


def merge_groups(
    points: NDArray[np.float64], n_steps: int, stride: int, factor: int
) -> NDArray[np.float64]:
    """Merge the points of an epoch of ``n_steps`` steps, ``factor`` points to one.

    Each point is the mean of ``stride`` steps but the last, which holds the rest;
    a merged point is the mean of the steps its ``factor`` points held (weighted by
    how many each held), so it averages ``factor * stride`` steps.
    """
    counts = np.full(len(points), float(stride))
    counts[-1] = n_steps - stride * (len(points) - 1)
    sums = points * counts
    padding = -len(points) % factor
    if padding:
        sums = np.append(sums, np.zeros(padding))
        counts = np.append(counts, np.zeros(padding))
    return sums.reshape(-1, factor).sum(axis=1) / counts.reshape(-1, factor).sum(axis=1)


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
        batch), while the run has at most ``step_limit`` steps; :attr:`step_loss`
        joins them. Longer runs keep a downsampled record: each point is then the
        mean loss of ``step_stride`` consecutive steps of one epoch (the last
        point of an epoch, of the steps left), and the record stays within
        ``step_limit`` points (or one per epoch, if there are more epochs).
    lr : list of float
        The learning rate of each epoch (with a per-step schedule, its base).
    stopped_epoch : int or None
        The epoch after which early stopping or a callback stopped training.
    best_epoch : int or None
        With early stopping, the epoch with the best monitored figure.
    kept_epoch : int or None
        The epoch whose weights the network holds after ``fit``: ``best_epoch``
        when early stopping restored them, else the last epoch run.
    epoch_steps : list of int
        The number of steps of each epoch.
    step_stride : int
        Steps per point of ``step_losses``: 1 (every step) until a run passes
        ``step_limit`` steps, then doubled as often as needed.
    step_limit : int
        The most points ``step_losses`` keeps; ``History.STEP_RECORD_LIMIT``
        (131,072: 1 MiB) unless set. 0 keeps no step record at all: set
        ``fastnn.History.STEP_RECORD_LIMIT = 0`` before ``fit`` to opt out.
    """

    #: The default ``step_limit`` of new histories (points of float64).
    STEP_RECORD_LIMIT: ClassVar[int] = 1 << 17

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    step_losses: list[NDArray[np.float64]] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stopped_epoch: int | None = None
    best_epoch: int | None = None
    kept_epoch: int | None = None
    epoch_steps: list[int] = field(default_factory=list)
    step_stride: int = 1
    step_limit: int = field(default_factory=lambda: History.STEP_RECORD_LIMIT)

    def record_steps(self, step_losses: NDArray[np.float64]) -> None:
        """Add the losses of one epoch's steps to the (bounded) step record.

        The array is kept as it is while every step fits (no copy); past
        ``step_limit`` points the whole record is merged in pairs, epoch by epoch,
        until it fits again.
        """
        n_steps = len(step_losses)
        self.epoch_steps.append(n_steps)
        if self.step_limit <= 0:
            return
        steps = self.epoch_steps[-len(self.step_losses) - 1 : -1] if self.step_losses else []
        # A History built by hand may hold points without their epochs' counts.
        missing = len(self.step_losses) - len(steps)
        steps = [len(points) * self.step_stride for points in self.step_losses[:missing]] + steps
        # The smallest stride (the current one doubled as often as needed) at which the
        # record and this epoch fit, found first, so that each point is averaged once:
        # halving a million-step record three times over cost more than the epoch.
        stride, longest = self.step_stride, max(self.epoch_steps)

        def points_at(stride: int) -> int:
            return sum(-(-count // stride) for count in [*steps, n_steps])

        while points_at(stride) > self.step_limit and stride < longest:
            stride *= 2
        if stride != self.step_stride:
            factor = stride // self.step_stride
            self.step_losses = [
                merge_groups(points, count, self.step_stride, factor)
                for points, count in zip(self.step_losses, steps, strict=True)
            ]
        self.step_losses.append(bucket_means(step_losses, stride))
        self.step_stride = stride

    @property
    def step_positions(self) -> NDArray[np.float64]:
        """ndarray: the step number (from 1) at the middle of each point of :attr:`step_loss`.

        ``1, 2, 3, ...`` while every step is kept; for a downsampled record, the
        middle of the steps each point averages (charts put the points there).
        """
        counts = self.epoch_steps[-len(self.step_losses) :] if self.step_losses else []
        offset = sum(self.epoch_steps) - sum(counts)
        if len(counts) != len(self.step_losses):  # a History built by hand
            counts = [len(points) * self.step_stride for points in self.step_losses]
            offset = 0
        positions = []
        for points, n_steps in zip(self.step_losses, counts, strict=True):
            firsts = offset + 1 + self.step_stride * np.arange(len(points))
            lasts = np.minimum(firsts + self.step_stride - 1, offset + n_steps)
            positions.append((firsts + lasts) / 2)
            offset += n_steps
        return np.concatenate(positions) if positions else np.zeros(0)

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
