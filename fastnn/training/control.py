"""Training control: the checked arguments of ``fit``, early stopping, epoch lines, progress."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from fastnn import schedules as schedules_module
from fastnn.schedules import Schedule
from fastnn.validation import check_int, is_finite_number

__all__ = [
    "MONITORS",
    "Callbacks",
    "Control",
    "EarlyStopping",
    "check_callbacks",
    "epoch_line",
    "progress_bar",
]

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
    schedule: Schedule | str | None
    blas_threads: int | None = 1

    @property
    def monitor_needs_validation(self):
        return self.early_stopping and self.monitor.startswith("val")

    def resolved_schedule(
        self, epochs: int, dtype: Any, has_validation: bool, is_classifier: bool
    ) -> Schedule | None:
        """The fit's schedule object (a string form made one), checked for this fit.

        Raises
        ------
        ValueError
            Before any training, for a schedule the network's dtype cannot
            represent or whose monitored figure the fit does not compute.
        """
        if self.schedule is None:
            return None
        schedule = schedules_module.parse(self.schedule, epochs, has_validation=has_validation)
        schedule.check(dtype, has_validation=has_validation, is_classifier=is_classifier)
        return schedule

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
        blas_threads=1,
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
        callbacks = check_callbacks(callbacks)
        if isinstance(verbose, bool):
            verbose = int(verbose)
        if not isinstance(verbose, numbers.Integral) or verbose not in (0, 1):
            raise ValueError(f"verbose must be 0 or 1, got {verbose!r}")
        if isinstance(schedule, str):
            # A string form is resolved by the fit, which knows its epochs and
            # validation data; a bad one is refused here, before any work.
            schedules_module.parse(schedule, epochs=1)
        elif schedule is not None:
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
            None if blas_threads is None else check_int("blas_threads", blas_threads, minimum=1),
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
        """Record the best epoch; put back its weights if asked to.

        The optimizer gets the saved copies of its state and step count as its
        own arrays: a callback may have reset it (``state_`` None) or replaced
        them since.
        """
        history.best_epoch = self.best_epoch
        if self.saved is not None:
            theta, state, step = self.saved
            self.network.theta[...] = theta
            self.optimizer.state_ = state
            self.optimizer.step_ = step
            self.saved = None
            history.kept_epoch = self.best_epoch


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


# ---------------------------------------------------------------- callbacks


def is_keras_callback(callback: Any) -> bool:
    """True for an object shaped like ``keras.callbacks.Callback`` (it has ``on_epoch_end``)."""
    return callable(getattr(callback, "on_epoch_end", None))


def check_callbacks(callbacks: Any) -> tuple[Any, ...]:
    """Return ``callbacks`` as a tuple of plain callables and Keras-style callback objects."""
    if callbacks is None:
        return ()
    if is_keras_callback(callbacks) or callable(callbacks):
        kind = "callback object" if is_keras_callback(callbacks) else "callable"
        raise TypeError(f"callbacks must be a list of callbacks, got a single {kind}: pass [it]")
    try:
        callbacks = tuple(callbacks)
    except TypeError:
        raise TypeError(f"callbacks must be a list of callbacks, got {callbacks!r}") from None
    for position, callback in enumerate(callbacks):
        if not (callable(callback) or is_keras_callback(callback)):
            raise TypeError(
                f"callbacks[{position}] is not callable, nor an object with an "
                f"on_epoch_end method (Keras's Callback): {callback!r}"
            )
    return callbacks


def stops(value: Any, where: str) -> bool:
    """Whether a plain callback's return value stops training (the documented rule).

    True, or a NumPy bool that is true (``np.isfinite(loss)`` returns ``np.True_``),
    stops; None or False goes on. Anything else is an error: a callback that
    returns a number or an array has most likely a bug.
    """
    if value is None:
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype == np.bool_:
        return bool(value)
    raise TypeError(
        f"{where} returned {value!r} ({type(value).__name__}); a callback returns True (or "
        "a NumPy bool such as np.True_) to stop training, and None or False to go on"
    )


class Callbacks:
    """A fit's callbacks: plain ``f(epoch, history, net)`` and Keras-style objects.

    Keras-style objects (anything with ``on_epoch_end``) are driven as Keras
    drives them: ``set_model(net)`` and ``set_params`` first if they have them,
    then ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)`` and ``on_train_end(logs)``, with ``epoch``
    counted from 0 and ``logs`` the epoch's figures under Keras's names
    (``History.history``). Such a callback stops training as in Keras, by setting
    ``net.stop_training = True``; its return value is ignored.
    """

    def __init__(self, callbacks: tuple[Any, ...], owner: Any, params: dict[str, Any]) -> None:
        self.callbacks = callbacks
        self.owner = owner
        self.params = params
        self.keras = [callback for callback in callbacks if is_keras_callback(callback)]

    def _call(self, callback: Any, hook: str, *arguments: Any) -> None:
        method = getattr(callback, hook, None)
        if callable(method):
            method(*arguments)

    def train_begin(self) -> None:
        """Before the first epoch: Keras's ``set_model``, ``set_params``, ``on_train_begin``."""
        if self.owner is not None and hasattr(self.owner, "stop_training"):
            self.owner.stop_training = False  # as Keras's fit resets model.stop_training
        for callback in self.keras:
            self._call(callback, "set_model", self.owner)
            self._call(callback, "set_params", dict(self.params))
            self._call(callback, "on_train_begin", {})

    def epoch_begin(self, epoch: int) -> None:
        """Before epoch ``epoch`` (from 1): Keras's ``on_epoch_begin(epoch - 1, logs)``."""
        for callback in self.keras:
            self._call(callback, "on_epoch_begin", epoch - 1, {})

    def epoch_end(self, epoch: int, history: Any) -> bool:
        """After epoch ``epoch`` (from 1): call every callback; return True to stop."""
        stop = False
        logs = {name: values[-1] for name, values in history.history.items()}
        for position, callback in enumerate(self.callbacks):
            if is_keras_callback(callback):
                callback.on_epoch_end(epoch - 1, dict(logs))
            else:
                value = callback(epoch, history, self.owner)
                stop = stops(value, f"callbacks[{position}]") or stop
        return stop or bool(getattr(self.owner, "stop_training", False))

    def train_end(self, history: Any) -> None:
        """After the last epoch: Keras's ``on_train_end(logs)``."""
        logs = {name: values[-1] for name, values in history.history.items() if values}
        for callback in self.keras:
            self._call(callback, "on_train_end", logs)
