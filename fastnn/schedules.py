"""Learning-rate schedules for :meth:`fastnn.MLP.fit`.

A schedule sets the optimizer's learning rate. Epoch schedules set it before
each epoch, from the learning rate the optimizer had when the schedule first
ran (``base_lr_``) and the number of epochs the schedule has run (``epoch_``),
like ``torch.optim.lr_scheduler``'s; :class:`ReduceOnPlateau` lowers it after
epochs whose monitored figure stopped improving. :class:`InverseTimeDecay`
changes it every step, inside the compiled loops:
``lr_t = lr / (1 + decay * (t - 1))`` with ``t`` the optimizer's step count.

A schedule keeps its own state, so pass the same object to every ``fit`` or
``partial_fit`` call of one training run: ``fit(epochs=k, schedule=s)`` and k
calls of ``partial_fit(schedule=s)`` set the same rates. Every schedule works
with every optimizer, per sample and in mini-batches, on both backends.

Examples
--------
>>> from fastnn import MLP, optimizers, schedules
>>> net = MLP([2, 8, 1], output="identity", seed=0)
>>> schedule = schedules.StepDecay(step_size=10, gamma=0.5)
>>> history = net.fit(X, y, optimizer=optimizers.SGD(lr=0.1), epochs=30,
...                   schedule=schedule)  # doctest: +SKIP
>>> history.lr  # doctest: +SKIP
[0.1, ..., 0.05, ..., 0.025, ...]
"""

import math
import numbers

__all__ = [
    "Schedule",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "ReduceOnPlateau",
    "InverseTimeDecay",
    "get",
]


def _number(name, value, *, low=None, low_open=False, high=None, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value >= high if high_open else value > high):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return value


def _count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


class Schedule:
    """Base class: a learning rate per epoch from ``base_lr_`` and ``epoch_``.

    Attributes
    ----------
    base_lr_ : float or None
        The optimizer's learning rate when the schedule first ran.
    epoch_ : int
        Epochs the schedule has set a rate for.
    """

    #: The per-step decay the compiled loops apply (0: none).
    step_decay = 0.0

    def __init__(self):
        self.base_lr_ = None
        self.epoch_ = 0

    def rate(self, epoch, base_lr):
        """The learning rate of epoch ``epoch`` (from 0) for a base rate ``base_lr``."""
        raise NotImplementedError

    def start_epoch(self, optimizer):
        """Set ``optimizer.lr`` for the epoch about to run (fit calls this)."""
        if self.base_lr_ is None:
            self.base_lr_ = optimizer.lr
        optimizer.lr = self.rate(self.epoch_, self.base_lr_)

    def end_epoch(self, history):
        """Count the epoch that ran; ``history`` holds its figures (fit calls this)."""
        self.epoch_ += 1

    def reset(self):
        """Forget the base rate and the epoch count."""
        self.base_lr_ = None
        self.epoch_ = 0

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self._arguments().items())
        return f"{type(self).__name__}({arguments})"

    def _arguments(self):
        return {}


class StepDecay(Schedule):
    """``lr = base_lr * gamma ** (epoch // step_size)``, as ``torch.optim.lr_scheduler.StepLR``.

    Parameters
    ----------
    step_size : int
        Epochs between two decays, >= 1.
    gamma : float, default 0.1
        The factor of each decay, in (0, 1].
    """

    def __init__(self, step_size, gamma=0.1):
        super().__init__()
        self.step_size = _count("step_size", step_size, 1)
        self.gamma = _number("gamma", gamma, low=0, low_open=True, high=1)

    def rate(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)

    def _arguments(self):
        return {"step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(Schedule):
    """``lr = base_lr * gamma ** epoch``, as ``torch.optim.lr_scheduler.ExponentialLR``.

    Parameters
    ----------
    gamma : float
        The factor per epoch, in (0, 1].
    """

    def __init__(self, gamma):
        super().__init__()
        self.gamma = _number("gamma", gamma, low=0, low_open=True, high=1)

    def rate(self, epoch, base_lr):
        return base_lr * self.gamma**epoch

    def _arguments(self):
        return {"gamma": self.gamma}


class CosineDecay(Schedule):
    """Half a cosine from ``base_lr`` down to ``min_lr`` over ``epochs``, then ``min_lr``.

    ``lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / epochs)) / 2``, as
    ``torch.optim.lr_scheduler.CosineAnnealingLR`` with ``T_max=epochs``, held
    at ``min_lr`` after ``epochs`` instead of rising again.

    Parameters
    ----------
    epochs : int
        Epochs of the decay, >= 1.
    min_lr : float, default 0.0
        The last rate, >= 0.
    """

    def __init__(self, epochs, min_lr=0.0):
        super().__init__()
        self.epochs = _count("epochs", epochs, 1)
        self.min_lr = _number("min_lr", min_lr, low=0)

    def rate(self, epoch, base_lr):
        progress = min(epoch, self.epochs) / self.epochs
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2

    def _arguments(self):
        return {"epochs": self.epochs, "min_lr": self.min_lr}


class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when ``monitor`` stops improving for ``patience`` epochs.

    As ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (mode "min" for losses,
    "max" for accuracies, relative threshold).

    Parameters
    ----------
    monitor : {"val_loss", "val_acc", "loss", "train_acc"}, default "val_loss"
        The history figure to watch (validation figures need validation data).
    factor : float, default 0.1
        In (0, 1).
    patience : int, default 10
        Epochs without improvement before a reduction, >= 0.
    min_delta : float, default 1e-4
        An improvement is better than the best by more than this fraction of it.
    cooldown : int, default 0
        Epochs to wait after a reduction before watching again.
    min_lr : float, default 0.0
        The rate never goes below this.
    """

    MONITORS = {"val_loss": "min", "loss": "min", "val_acc": "max", "train_acc": "max"}

    def __init__(
        self, monitor="val_loss", factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0.0
    ):
        super().__init__()
        if monitor not in self.MONITORS:
            raise ValueError(f"monitor must be one of {sorted(self.MONITORS)}, got {monitor!r}")
        self.monitor = monitor
        self.factor = _number("factor", factor, low=0, low_open=True, high=1, high_open=True)
        self.patience = _count("patience", patience, 0)
        self.min_delta = _number("min_delta", min_delta, low=0)
        self.cooldown = _count("cooldown", cooldown, 0)
        self.min_lr = _number("min_lr", min_lr, low=0)
        self.lr_ = None
        self.best_ = None
        self.bad_epochs_ = 0
        self.cooldown_left_ = 0

    def rate(self, epoch, base_lr):
        return base_lr if self.lr_ is None else self.lr_

    def start_epoch(self, optimizer):
        if self.base_lr_ is None:
            self.base_lr_ = optimizer.lr
        if self.lr_ is None:
            self.lr_ = self.base_lr_
        optimizer.lr = self.lr_

    def end_epoch(self, history):
        super().end_epoch(history)
        values = getattr(history, self.monitor)
        if not values:
            raise ValueError(
                f"ReduceOnPlateau monitors {self.monitor!r}, which this fit does not compute"
                + (" (give validation_data or validation_split)" if "val" in self.monitor else "")
            )
        value = values[-1]
        lower_is_better = self.MONITORS[self.monitor] == "min"
        if self.best_ is None:
            better = True
        elif lower_is_better:
            better = value < self.best_ * (1 - self.min_delta)
        else:
            better = value > self.best_ * (1 + self.min_delta)
        if better:
            self.best_, self.bad_epochs_ = value, 0
        else:
            self.bad_epochs_ += 1
        if self.cooldown_left_ > 0:
            self.cooldown_left_ -= 1
            self.bad_epochs_ = 0
        if self.bad_epochs_ > self.patience:
            self.lr_ = max(self.lr_ * self.factor, self.min_lr)
            self.cooldown_left_ = self.cooldown
            self.bad_epochs_ = 0

    def reset(self):
        super().reset()
        self.lr_ = None
        self.best_ = None
        self.bad_epochs_ = 0
        self.cooldown_left_ = 0

    def _arguments(self):
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "cooldown": self.cooldown,
            "min_lr": self.min_lr,
        }


class InverseTimeDecay(Schedule):
    """Every step: ``lr_t = lr / (1 + decay * (t - 1))``, inside the compiled loops.

    ``t`` is the optimizer's step count (from 1, kept between ``fit`` calls and
    saved with the model), so the rate falls sample by sample in per-sample
    training, as the course's discussion of step sizes suggests, and batch by
    batch in mini-batch training. The optimizer's ``lr`` stays the base rate.

    Parameters
    ----------
    decay : float
        >= 0; 0 keeps the rate constant.
    """

    def __init__(self, decay):
        super().__init__()
        self.step_decay = _number("decay", decay, low=0)

    def rate(self, epoch, base_lr):
        return base_lr

    def _arguments(self):
        return {"decay": self.step_decay}


_NAMES = {
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "cosine": CosineDecay,
    "plateau": ReduceOnPlateau,
    "inverse_time": InverseTimeDecay,
}


def get(name, **arguments):
    """Return a new schedule by name: "step", "exponential", "cosine", "plateau", "inverse_time".

    A :class:`Schedule` object is returned as is (without arguments).
    """
    if isinstance(name, Schedule):
        if arguments:
            raise TypeError("schedule: arguments given with a schedule object")
        return name
    if not isinstance(name, str):
        raise TypeError(f"schedule must be a name or a Schedule, got {name!r}")
    key = name.lower().replace("-", "_")
    if key not in _NAMES:
        raise ValueError(f"schedule: unknown name {name!r}; choose one of {sorted(_NAMES)}")
    return _NAMES[key](**arguments)
