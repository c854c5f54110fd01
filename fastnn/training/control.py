"""Training control: the checked arguments of ``fit``, early stopping, epoch lines, progress."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastnn import schedules as schedules_module
from fastnn.schedules import Schedule
from fastnn.validation import check_int, is_finite_number

__all__ = ["MONITORS", "Control", "EarlyStopping", "epoch_line", "progress_bar"]

MONITORS = {"val_loss": "min", "loss": "min", "val_acc": "max", "train_acc": "max"}


@dataclass(frozen=True)
class Control:
    """The training-control arguments of :meth:`MLP.fit`, checked."""

    validation_split: float
    early_stopping: bool
    patience: int
    min_delta: float
    monitor: str
    restore_best: bool
    callbacks: tuple[Any, ...]
    verbose: int
    schedule: Schedule | None

    @property
    def monitor_needs_validation(self):
        return self.early_stopping and self.monitor.startswith("val")

    @classmethod
    def check(
        cls,
        validation_split,
        validation_data,
        early_stopping,
        patience,
        min_delta,
        monitor,
        restore_best,
        callbacks,
        verbose,
        schedule,
        is_classifier,
    ):
        if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real):
            raise TypeError(f"validation_split must be a fraction, got {validation_split!r}")
        if not is_finite_number(validation_split) or not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        if validation_split and validation_data is not None:
            raise ValueError("give validation_data or validation_split, not both")
        for name, value in (("early_stopping", early_stopping), ("restore_best", restore_best)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        patience = check_int("patience", patience, minimum=0)
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real):
            raise TypeError(f"min_delta must be a number, got {min_delta!r}")
        if not is_finite_number(min_delta) or min_delta < 0:
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}")
        if not isinstance(monitor, str) or monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {sorted(MONITORS)}, got {monitor!r}")
        if "acc" in monitor and not is_classifier:
            raise ValueError(
                f"monitor={monitor!r} needs a classifier; a regression has no accuracy"
            )
        if callbacks is None:
            callbacks = ()
        elif callable(callbacks):
            raise TypeError("callbacks must be a list of callables, got a single callable")
        else:
            try:
                callbacks = tuple(callbacks)
            except TypeError:
                raise TypeError(
                    f"callbacks must be a list of callables, got {callbacks!r}"
                ) from None
            for position, callback in enumerate(callbacks):
                if not callable(callback):
                    raise TypeError(f"callbacks[{position}] is not callable: {callback!r}")
        if isinstance(verbose, bool):
            verbose = int(verbose)
        if not isinstance(verbose, numbers.Integral) or verbose not in (0, 1):
            raise ValueError(f"verbose must be 0 or 1, got {verbose!r}")
        if schedule is not None:
            schedule = schedules_module.get(schedule)
        return cls(
            float(validation_split),
            bool(early_stopping),
            patience,
            float(min_delta),
            monitor,
            bool(restore_best),
            callbacks,
            int(verbose),
            schedule,
        )


class EarlyStopping:
    """Watches one history figure; keeps the best epoch's weights and optimizer state."""

    def __init__(self, control, network, optimizer):
        self.control, self.network, self.optimizer = control, network, optimizer
        self.lower_is_better = MONITORS[control.monitor] == "min"
        self.best = None
        self.best_epoch = None
        self.waited = 0
        self.saved = None

    def update(self, epoch, history):
        """Take the epoch's figure; return True when patience has run out."""
        value = getattr(history, self.control.monitor)[-1]
        delta = self.control.min_delta
        if self.best is None:
            improved = True
        elif self.lower_is_better:
            improved = value < self.best - delta
        else:
            improved = value > self.best + delta
        if improved:
            self.best, self.best_epoch, self.waited = value, epoch, 0
            if self.control.restore_best:
                opt = self.optimizer
                self.saved = (self.network.theta.copy(), opt.state_.copy(), opt.step_.copy())
        else:
            self.waited += 1
        return self.waited > self.control.patience

    def finish(self, history):
        """Record the best epoch; put back its weights if asked to."""
        history.best_epoch = self.best_epoch
        if self.saved is not None:
            theta, state, step = self.saved
            self.network.theta[...] = theta
            self.optimizer.state_[...] = state
            self.optimizer.step_[...] = step


def epoch_line(epoch, epochs, history, samples_per_second):
    """One line about a finished epoch, as ``verbose=1`` prints it (Keras style)."""
    parts = [f"epoch {epoch}/{epochs}", f"loss {history.loss[-1]:.4g}"]
    if history.train_acc:
        parts.append(f"acc {history.train_acc[-1]:.4f}")
    if history.val_loss:
        parts.append(f"val_loss {history.val_loss[-1]:.4g}")
    if history.val_acc:
        parts.append(f"val_acc {history.val_acc[-1]:.4f}")
    parts.append(f"lr {history.lr[-1]:.3g}")
    parts.append(f"{samples_per_second:,.0f} samples/s")
    return " - ".join(parts)


def progress_bar(n_rows, epoch, epochs):
    from tqdm.auto import tqdm

    return tqdm(
        total=n_rows,
        desc=f"epoch {epoch}/{epochs}",
        unit="sample",
        unit_scale=True,
        leave=True,
        dynamic_ncols=True,
    )
