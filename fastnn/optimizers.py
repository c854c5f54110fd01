"""Optimizer objects: hyper-parameters plus flat state vectors.

Each class mirrors its ``torch.optim`` namesake (formulas, defaults, argument
names), so a run can be checked step by step against PyTorch. The arithmetic
lives in :mod:`kernels.optimizers`; an object only validates, stores the
hyper-parameters, and owns its state (``state_``, shape ``(3, n_params)``,
and ``step_``, the number of steps taken), so that ``partial_fit`` continues
exactly where it stopped.
"""

import numpy as np

from kernels import codes
from kernels.optimizers import HYPER_SIZE, STATE_ROWS

__all__ = ["Optimizer", "SGD", "get"]


def _check_number(name, value, *, low=None, low_inclusive=True, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None:
        if low_inclusive and value < low:
            raise ValueError(f"{name} must be >= {low}, got {value!r}")
        if not low_inclusive and value <= low:
            raise ValueError(f"{name} must be > {low}, got {value!r}")
    if high is not None and value >= high:
        raise ValueError(f"{name} must be < {high}, got {value!r}")
    return value


class Optimizer:
    """Base class: validated hyper-parameters, state vectors and a step counter."""

    code = -1
    name = "optimizer"

    def __init__(self, lr):
        self.lr = _check_number("lr", lr, low=0.0, low_inclusive=False)
        self.state_ = None
        self.step_ = np.zeros(1, dtype=np.int64)

    def hyper_vector(self, dtype):
        """Return the hyper-parameters in the kernel's slot order, as ``dtype``."""
        hyper = np.zeros(HYPER_SIZE, dtype=dtype)
        values = self._slots()
        hyper[: len(values)] = values
        return hyper

    def _slots(self):
        raise NotImplementedError

    def get_params(self):
        """Return the hyper-parameters as a dict of constructor arguments."""
        raise NotImplementedError

    def bind(self, n_params, dtype):
        """Make sure the state vectors fit a network of ``n_params`` parameters.

        Fresh state is allocated (zeros) the first time; a state made for a
        network of another size is an error, since it cannot be meant for this one.
        """
        dtype = np.dtype(dtype)
        if self.state_ is None:
            self.state_ = np.zeros((STATE_ROWS, n_params), dtype=dtype)
        elif self.state_.shape[1] != n_params:
            raise ValueError(
                f"optimizer: its state was made for a network with {self.state_.shape[1]} "
                f"parameters, this one has {n_params}; call optimizer.reset() or use a new "
                "optimizer for each network"
            )
        elif self.state_.dtype != dtype:
            self.state_ = self.state_.astype(dtype)
        return self.state_

    def reset(self):
        """Forget the state vectors and the step count."""
        self.state_ = None
        self.step_ = np.zeros(1, dtype=np.int64)

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float, default 0
    dampening : float, default 0
    nesterov : bool, default False
        Needs ``momentum > 0`` and ``dampening == 0``.
    weight_decay : float, default 0
        L2 penalty: ``g += weight_decay * theta`` before the step.
    """

    code = codes.SGD
    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        self.momentum = _check_number("momentum", momentum, low=0.0)
        self.dampening = _check_number("dampening", dampening)
        self.nesterov = bool(nesterov)
        self.weight_decay = _check_number("weight_decay", weight_decay, low=0.0)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening == 0, got "
                f"momentum={self.momentum}, dampening={self.dampening}"
            )

    def _slots(self):
        return [self.lr, self.momentum, self.dampening, float(self.nesterov), self.weight_decay]

    def get_params(self):
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "dampening": self.dampening,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }


_REGISTRY = {"sgd": SGD}


def get(name, **hyper):
    """Return a new optimizer by name, case-insensitively (``get("adam", lr=1e-3)``).

    Parameters
    ----------
    name : str or Optimizer
        An optimizer name, or an optimizer object (returned as is).
    **hyper
        Constructor arguments.
    """
    if isinstance(name, Optimizer):
        if hyper:
            raise TypeError("optimizer: hyper-parameters given with an optimizer object")
        return name
    if not isinstance(name, str):
        raise TypeError(f"optimizer must be a name or an Optimizer, got {name!r}")
    key = name.lower().replace("-", "").replace("_", "")
    if key not in _REGISTRY:
        raise ValueError(f"optimizer: unknown name {name!r}; choose one of {sorted(_REGISTRY)}")
    return _REGISTRY[key](**hyper)
