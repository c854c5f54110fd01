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

What a schedule does past its end, and in a network's dtype
-----------------------------------------------------------
A schedule never stops a run by itself:

- Past its end a schedule holds its last rate: :class:`CosineDecay` stays at
  ``min_lr`` after ``epochs`` epochs; :class:`StepDecay` and
  :class:`ExponentialDecay` go on decaying.
- The rate is computed in float64 and rounded to the network's dtype when the
  kernels take it, as any learning rate is. An epoch rate that would round to
  less than the dtype's smallest normal number (``numpy.finfo(dtype).tiny``:
  about 1.2e-38 in float32, 2.2e-308 in float64), 0 included, is raised to
  that number: ``CosineDecay(epochs, min_lr=0)`` past its end, or an
  ``ExponentialDecay`` that underflows, trains on with updates too small to
  change a weight, rather than failing with ``lr must be > 0``.
- :class:`InverseTimeDecay`'s per-step rate, ``lr / (1 + decay (t - 1))``, is
  computed in float64 and rounded to the dtype at each step; once it rounds to
  0 the steps leave the weights as they are.
- A schedule that the network's dtype cannot represent (``InverseTimeDecay(1e39)``
  or a ``min_lr`` of 1e39 for a float32 network) is refused by ``fit`` before
  training starts, with the schedule's name and value.

String forms
------------
``fit(schedule=...)`` and :func:`parse` take a name, optionally followed by
numbers after colons (``fastnn train --schedule`` takes the same):

- ``"step:STEP_SIZE[:GAMMA]"``: :class:`StepDecay`;
- ``"exponential:GAMMA"`` (or ``"exp:GAMMA"``): :class:`ExponentialDecay`;
- ``"cosine[:EPOCHS[:MIN_LR]]"``: :class:`CosineDecay`, over the fit's epochs
  unless ``EPOCHS`` is given;
- ``"plateau[:FACTOR[:PATIENCE]]"``: :class:`ReduceOnPlateau` on ``"val_loss"``
  when the fit has validation data, else on the training ``"loss"``;
- ``"inverse_time:DECAY"`` (or ``"inverse-time:DECAY"``): :class:`InverseTimeDecay`.

A string makes a new schedule for each ``fit`` call; to carry one schedule
across ``partial_fit`` calls, pass the object.
"""

import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "Schedule",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "ReduceOnPlateau",
    "InverseTimeDecay",
    "SCHEDULE_FORMS",
    "get",
    "parse",
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

    def start_epoch(self, optimizer, dtype=None):
        """Set ``optimizer.lr`` for the epoch about to run (fit calls this).

        ``dtype`` is the network's (float64 if None): a rate below its smallest
        normal number is raised to it (see the module's docstring).

        Raises
        ------
        ValueError
            If the rate is not a finite number >= 0 (a subclass's ``rate``), or
            rounds to inf in ``dtype``.
        """
        if self.base_lr_ is None:
            self.base_lr_ = optimizer.lr
        optimizer.lr = self.representable(self.rate(self.epoch_, self.base_lr_), dtype)

    def representable(self, rate, dtype=None):
        """Return ``rate`` as a learning rate ``dtype`` can train with.

        A finite rate >= 0 whose rounding to ``dtype`` is below the dtype's
        smallest normal number (0 included) becomes that number; anything else
        that is not a positive finite number in ``dtype`` is an error naming the
        schedule.
        """
        dtype = np.dtype(np.float64 if dtype is None else dtype)
        try:
            value = float(rate)
        except (TypeError, ValueError, OverflowError):
            value = math.nan
        if isinstance(rate, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(
                f"schedule {self!r} gave the learning rate {rate!r} for epoch "
                f"{self.epoch_ + 1}; a rate must be a finite number >= 0"
            )
        with np.errstate(over="ignore", under="ignore"):
            rounded = dtype.type(value)
        if not np.isfinite(rounded):
            raise ValueError(
                f"schedule {self!r} gave the learning rate {value!r} for epoch "
                f"{self.epoch_ + 1}, beyond the range of {dtype.name}"
            )
        tiny = float(np.finfo(dtype).tiny)
        return tiny if rounded < tiny else value

    def check(self, dtype, *, has_validation=True, is_classifier=True):
        """Refuse, before training, a schedule that a network of ``dtype`` cannot run.

        ``fit`` calls this with what the fit has: validation data or not, a
        classifier or a regression.

        Raises
        ------
        ValueError
            Naming the schedule and the value that cannot be represented, or the
            figure it watches that the fit does not compute.
        """
        dtype = np.dtype(dtype)
        for name, value in self._representable_arguments().items():
            with np.errstate(over="ignore"):
                rounded = dtype.type(value)
            if not np.isfinite(rounded):
                raise ValueError(
                    f"schedule {self!r} cannot train a {dtype.name} network: {name}={value!r} "
                    f"is beyond the range of {dtype.name} (largest "
                    f"{float(np.finfo(dtype).max):.3g}); use a smaller {name} or "
                    "dtype='float64'"
                )

    def _representable_arguments(self):
        """Arguments that the kernels or the rates take as numbers of the network's dtype."""
        return {}

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

    def _representable_arguments(self):
        return {"min_lr": self.min_lr}


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

    def start_epoch(self, optimizer, dtype=None):
        if self.base_lr_ is None:
            self.base_lr_ = optimizer.lr
        if self.lr_ is None:
            self.lr_ = self.base_lr_
        optimizer.lr = self.representable(self.lr_, dtype)

    def check(self, dtype, *, has_validation=True, is_classifier=True):
        super().check(dtype, has_validation=has_validation, is_classifier=is_classifier)
        if self.monitor.startswith("val") and not has_validation:
            raise ValueError(
                f"schedule {self!r} monitors {self.monitor!r}, which this fit does not "
                "compute: give validation_data or validation_split, or monitor='loss'"
            )
        if "acc" in self.monitor and not is_classifier:
            raise ValueError(
                f"schedule {self!r} monitors {self.monitor!r}; a regression has no "
                "accuracy: monitor 'loss' or 'val_loss'"
            )

    def _representable_arguments(self):
        return {"min_lr": self.min_lr}

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

    def _representable_arguments(self):
        # The kernels read the decay from the hyper-parameter vector, in the dtype.
        return {"decay": self.step_decay}


_NAMES = {
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "cosine": CosineDecay,
    "plateau": ReduceOnPlateau,
    "inverse_time": InverseTimeDecay,
}
_ALIASES = {"exp": "exponential", "inverse": "inverse_time"}

#: The string forms :func:`parse` (and ``fit(schedule=...)``) takes: a name, then
#: up to two numbers after colons.
SCHEDULE_FORMS = (
    "step:STEP_SIZE[:GAMMA]",
    "exponential:GAMMA",
    "cosine[:EPOCHS[:MIN_LR]]",
    "plateau[:FACTOR[:PATIENCE]]",
    "inverse_time:DECAY",
)
# The numbers of each form, in order, and how many of them are required.
_FORM_ARGUMENTS = {
    "step": (("step_size", "gamma"), 1),
    "exponential": (("gamma",), 1),
    "cosine": (("epochs", "min_lr"), 0),
    "plateau": (("factor", "patience"), 0),
    "inverse_time": (("decay",), 1),
}
_WHOLE = {"step_size", "epochs", "patience"}


def _key(name):
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def _form(key):
    return next(form for form in SCHEDULE_FORMS if form.split(":")[0].split("[")[0] == key)


def get(name: Any, **arguments: Any) -> Schedule:
    """Return a new schedule by name: "step", "exponential", "cosine", "plateau", "inverse_time".

    ``arguments`` go to the class (``get("step", step_size=10)``). A
    :class:`Schedule` object is returned as is (without arguments). A string with
    colons is one of the forms of :func:`parse`.

    Raises
    ------
    TypeError, ValueError
        For an unknown name, or a schedule without the arguments it needs, saying
        which and how to give them.
    """
    if isinstance(name, Schedule):
        if arguments:
            raise TypeError("schedule: arguments given with a schedule object")
        return name
    if not isinstance(name, str):
        raise TypeError(f"schedule must be a name or a Schedule, got {name!r}")
    if ":" in name:
        if arguments:
            raise TypeError(f"schedule {name!r}: give the numbers after colons or as arguments")
        return parse(name)
    key = _key(name)
    if key not in _NAMES:
        raise ValueError(
            f"schedule: unknown name {name!r}; choose one of {sorted(_NAMES)} "
            f"(forms: {', '.join(SCHEDULE_FORMS)})"
        )
    names, required = _FORM_ARGUMENTS[key]
    if key == "cosine":
        required = 1  # parse() and fit() know the epochs; a bare get() does not
    missing = [argument for argument in names[:required] if argument not in arguments]
    if missing:
        raise ValueError(_needs(name, key, missing))
    return _NAMES[key](**arguments)


def _needs(spec, key, missing):
    """The message for a schedule named without the numbers it needs."""
    names, required = _FORM_ARGUMENTS[key]
    cosine = " (fit(schedule='cosine') decays over the fit's epochs)" if key == "cosine" else ""
    return (
        f"schedule {spec!r}: needs {' and '.join(missing)}; give the string {_form(key)!r} or "
        f"{_NAMES[key].__name__}({', '.join(names[: max(required, 1)])}, ...){cosine}"
    )


def parse(spec: Any, epochs: int | None = None, *, has_validation: bool = False) -> Schedule:
    """Return the schedule a string form names (see the module's docstring).

    Parameters
    ----------
    spec : str or Schedule
        ``"cosine"``, ``"step:10:0.5"``, ...; a :class:`Schedule` is returned as is.
    epochs : int, optional
        The fit's epochs: what ``"cosine"`` without a number decays over.
    has_validation : bool, default False
        Whether the fit has validation data: ``"plateau"`` then watches
        ``"val_loss"``, else the training ``"loss"``.

    Raises
    ------
    TypeError, ValueError
        Naming the string and the forms it may take.
    """
    if isinstance(spec, Schedule):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"schedule must be a name or a Schedule, got {spec!r}")
    name, *texts = spec.split(":")
    key = _key(name)
    forms = ", ".join(SCHEDULE_FORMS)
    if key not in _NAMES:
        raise ValueError(f"schedule {spec!r}: unknown name {name!r}; give one of {forms}")
    names, required = _FORM_ARGUMENTS[key]
    if key == "cosine" and not texts and epochs is None:
        required = 1
    if len(texts) < required:
        raise ValueError(_needs(spec, key, names[len(texts) : required]))
    if len(texts) > len(names):
        raise ValueError(f"schedule {spec!r}: {key} takes the form {_form(key)!r} (all: {forms})")
    arguments: dict[str, Any] = {}
    for argument, text in zip(names, texts, strict=False):
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                f"schedule {spec!r}: {argument} must be a number, got {text!r}; "
                f"the form is {_form(key)!r}"
            ) from None
        if argument in _WHOLE:
            if not value.is_integer():
                raise ValueError(
                    f"schedule {spec!r}: {argument} must be a whole number, got {text!r}"
                )
            value = int(value)
        arguments[argument] = value
    if key == "cosine":
        arguments.setdefault("epochs", epochs)
    if key == "plateau":
        arguments["monitor"] = "val_loss" if has_validation else "loss"
    try:
        return _NAMES[key](**arguments)
    except (TypeError, ValueError) as error:
        raise type(error)(f"schedule {spec!r}: {error}") from None
