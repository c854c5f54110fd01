"""Optimizer objects: hyper-parameters plus flat state vectors.

Each class mirrors its ``torch.optim`` namesake (formulas, defaults, argument
names), so a run can be checked step by step against PyTorch. The arithmetic
lives in :mod:`fastnn.kernels.optimizers`; an object only validates, stores the
hyper-parameters, and owns its state (``state_``, shape ``(3, n_params)``,
and ``step_``, the number of steps taken), so that ``partial_fit`` continues
exactly where it stopped.
"""

import inspect
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fastnn.kernels import codes, first_non_finite
from fastnn.kernels.codes import STATE_ROWS

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSProp",
    "Adadelta",
    "Adam",
    "AdamW",
    "available",
    "get",
]


# The largest step count an optimizer accepts. Adam computes beta**t and the
# kernels add 1 to an int64 counter: far below 2**63, so a fit can never wrap
# it round, and a float64 holds every count up to it exactly. At ten million
# steps a second it is 28 years of training.
MAX_STEPS = 2**53


def _check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    low_inclusive: bool = True,
    high: float | None = None,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # a Python int beyond the float range
        raise ValueError(f"{name} must be finite, got {_shown(value)}") from None
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


def _shown(value, limit=60):
    """``repr(value)``, cut short (a 400-digit integer makes an unreadable message)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class Optimizer:
    """Base class: validated hyper-parameters, state vectors and a step counter."""

    code = -1
    name = "optimizer"

    def __init__(self, lr: float) -> None:
        self.lr = _check_number("lr", lr, low=0.0, low_inclusive=False)
        self.state_: NDArray[np.floating[Any]] | None = None
        self.step_: NDArray[np.int64] = np.zeros(1, dtype=np.int64)

    def hyper_vector(self, dtype: DTypeLike) -> NDArray[np.floating[Any]]:
        """Return the hyper-parameters in the kernel's slot order, as ``dtype``.

        The hyper-parameters are checked again first (they are plain attributes
        a user may have set after construction), and once more as they will be
        in the kernel, rounded to ``dtype``: ``lr=1e39`` is a valid float64 but
        ``inf`` in float32.

        Raises
        ------
        TypeError, ValueError
            If a hyper-parameter is invalid, or invalid once rounded to ``dtype``.
        """
        dtype = np.dtype(dtype)
        params = self._check_hyper_parameters()
        try:
            type(self)(**{name: _round_to(value, dtype) for name, value in params.items()})
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"optimizer: {type(self).__name__}({_format(params)}) cannot train a "
                f"{dtype.name} network: rounded to {dtype.name}, {error}; choose values "
                f"{dtype.name} can hold"
            ) from None
        hyper = np.zeros(codes.HYPER_SIZE, dtype=dtype)
        for slot, value in self._slots().items():
            hyper[slot] = value
        return hyper

    def _check_hyper_parameters(self):
        """Re-run the constructor's checks on the current attributes; return the params.

        Valid values are stored back in the constructor's normal form (floats, a
        tuple of betas, bools). An attribute the class fixes (``Momentum``'s
        ``weight_decay``, say) that was changed is an error, not silently used.
        """
        params = self.get_params()
        try:
            fresh = type(self)(**params)
        except (TypeError, ValueError) as error:
            # The constructor's messages start with the argument's name.
            raise type(error)(f"optimizer.{error} (set after construction?)") from None
        for name, value in vars(fresh).items():
            if name in ("state_", "step_"):
                continue
            if name not in params and not _same(getattr(self, name, None), value):
                raise ValueError(
                    f"optimizer.{name} is {getattr(self, name, None)!r}, but "
                    f"{type(self).__name__} fixes it at {value!r} (its arguments are "
                    f"{', '.join(params)}); use optimizers.SGD or the class that takes "
                    f"{name} instead"
                )
            setattr(self, name, value)
        # The normal form: amsgrad=10**400 is True here, and rounds as a flag.
        return self.get_params()

    def _slots(self) -> dict[int, float]:
        """The hyper-parameters by their slot in the kernels' vector (``codes.LR``, ...)."""
        raise NotImplementedError

    def get_params(self) -> dict[str, Any]:
        """Return the hyper-parameters as a dict of constructor arguments.

        Read from the constructor's signature, so that every class reports
        exactly the arguments it takes (Momentum: lr and momentum only).
        """
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def bind(self, n_params: int, dtype: DTypeLike) -> NDArray[np.floating[Any]]:
        """Check everything the kernels will receive from this optimizer; return ``state_``.

        This is the one check between the optimizer's public attributes and the
        compiled kernels, which trust their arguments:

        - the hyper-parameters are valid, also once rounded to ``dtype``
          (see :meth:`hyper_vector`);
        - ``state_`` is a finite float array of shape ``(STATE_ROWS, n_params)``.
          It is allocated (zeros) the first time. One of another dtype or memory
          layout is replaced by a C-contiguous, writeable copy of ``dtype``;
        - ``step_`` is an integer array of shape ``(1,)`` holding a count in
          ``[0, MAX_STEPS)``, made a fresh int64 array if it is another integer type.

        Parameters
        ----------
        n_params : int
            The network's parameter count.
        dtype : {"float32", "float64"} or numpy dtype
            The network's dtype.

        Returns
        -------
        ndarray, shape (STATE_ROWS, n_params)
            ``state_``.

        Raises
        ------
        TypeError, ValueError
            Naming the attribute (``optimizer.state_``, ``optimizer.step_``, a
            hyper-parameter) and what it needs; ``optimizer.reset()`` clears the
            state and step.
        """
        dtype = np.dtype(dtype)
        self.hyper_vector(dtype)
        self.step_ = _checked_step(self.step_)
        if self.state_ is None:
            state = np.zeros((STATE_ROWS, n_params), dtype=dtype)
        else:
            state = _checked_state(self.state_, n_params, dtype)
        self.state_ = state
        return state

    def checked(
        self, n_params: int, dtype: DTypeLike
    ) -> tuple[int, NDArray[np.floating[Any]] | None]:
        """Check this optimizer for a network, as :meth:`bind` does, without binding it.

        Returns
        -------
        (int, ndarray or None)
            The step count, and the state (a checked copy where :meth:`bind` would
            have replaced it; None if there is none yet).
        """
        dtype = np.dtype(dtype)
        self.hyper_vector(dtype)
        step = int(_checked_step(self.step_)[0])
        state = None if self.state_ is None else _checked_state(self.state_, n_params, dtype)
        return step, state

    def reset(self) -> None:
        """Forget the state vectors and the step count."""
        self.state_ = None
        self.step_ = np.zeros(1, dtype=np.int64)

    def state_dict(self) -> dict[str, Any]:
        """Return everything needed to resume: name, hyper-parameters, step, state.

        Returns
        -------
        dict
            ``{"name": str, "params": dict, "step": int, "state": ndarray or None}``;
            the arrays are copies.
        """
        return {
            "name": self.name,
            "params": self.get_params(),
            "step": int(self.step_[0]),
            "state": None if self.state_ is None else self.state_.copy(),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyper-parameters, step count and state from :meth:`state_dict`.

        Raises
        ------
        ValueError
            If the dict belongs to another optimizer or its state is malformed.
        """
        if state_dict.get("name") != self.name:
            raise ValueError(
                f"state_dict: made by optimizer {state_dict.get('name')!r}, cannot load into "
                f"{self.name!r}"
            )
        fresh = type(self)(**state_dict["params"])
        state = state_dict["state"]
        if state is not None:
            state = np.asarray(state)
            if state.ndim != 2 or state.dtype.kind != "f":
                raise ValueError(
                    f"state_dict: state must be a float array of shape ({STATE_ROWS}, "
                    f"n_params), got {state.dtype} {state.shape}"
                )
            # Checked (and copied) in the float width it has; bind() casts it later.
            dtype = np.float32 if state.dtype.itemsize <= 4 else np.float64
            state = _checked_state(state, state.shape[1], dtype, "state_dict['state']").copy()
        step = state_dict["step"]
        if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral):
            raise TypeError(f"state_dict: step must be an integer, got {step!r}")
        _check_step_count(int(step), "state_dict['step']")
        self.__dict__.update(fresh.__dict__)
        self.state_ = state
        self.step_ = np.array([int(step)], dtype=np.int64)

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _round_to(value, dtype):
    """``value`` as the kernel will see it in ``dtype`` (numbers only; tuples inside)."""
    if isinstance(value, (tuple, list)):
        return tuple(_round_to(item, dtype) for item in value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return value
    with np.errstate(over="ignore", under="ignore"):
        return float(dtype.type(value))


def _same(current, fixed):
    try:
        return bool(current == fixed)
    except (TypeError, ValueError):  # an array, say, where a number belongs
        return False


def _format(params):
    return ", ".join(f"{name}={value!r}" for name, value in params.items())


_RESET = "call optimizer.reset() to start from fresh state"


def _checked_state(
    state: Any, n_params: int, dtype: DTypeLike, name: str = "optimizer.state_"
) -> NDArray[np.floating[Any]]:
    """Return ``state`` as a finite C-contiguous writeable ``(STATE_ROWS, n_params)`` array.

    A float array of another dtype or memory layout is copied; anything else raises.
    """
    if not isinstance(state, np.ndarray):
        raise TypeError(
            f"{name} must be a NumPy float array of shape ({STATE_ROWS}, {n_params}), got "
            f"{type(state).__name__}; {_RESET}"
        )
    if state.dtype.kind != "f":
        raise TypeError(
            f"{name} must hold floats, got dtype {state.dtype} (shape {state.shape}); {_RESET}"
        )
    if state.shape != (STATE_ROWS, n_params):
        if state.ndim == 2 and state.shape[0] == STATE_ROWS:
            raise ValueError(
                f"optimizer: its state was made for a network with {state.shape[1]} "
                f"parameters, this one has {n_params} ({name} has shape {state.shape}); "
                "call optimizer.reset() or use a new optimizer for each network"
            )
        raise ValueError(
            f"{name} must have shape ({STATE_ROWS}, {n_params}) (state rows, the network's "
            f"parameters), got {state.shape}; {_RESET}"
        )
    if (
        type(state) is not np.ndarray
        or state.dtype != dtype
        or not state.flags.c_contiguous
        or not state.flags.writeable
        or not state.flags.aligned
    ):
        source = state
        with np.errstate(over="ignore"):  # reported below, naming the value
            state = np.array(state, dtype=dtype, order="C", subok=False)
    else:
        source = state
    bad = first_non_finite(state)
    if bad >= 0:
        row, column = divmod(bad, n_params)
        if np.isfinite(source[row, column]):  # finite, but not in the network's dtype
            raise ValueError(
                f"{name}[{row}, {column}] is {source[row, column]}, beyond the range of "
                f"{np.dtype(dtype).name}, the network's dtype; {_RESET}"
            )
        raise ValueError(
            f"{name} contains NaN or inf (first at row {row}, column {column}); {_RESET}"
        )
    return state


def _check_step_count(count, name):
    if not 0 <= count < MAX_STEPS:
        raise ValueError(f"{name} must count steps in [0, 2**53), got {count}; {_RESET}")


def _checked_step(step):
    """Return ``optimizer.step_`` as an int64 array of shape (1,) in ``[0, MAX_STEPS)``.

    An integer array of shape (1,) of another dtype is copied; anything else raises.
    """
    if not isinstance(step, np.ndarray) or step.shape != (1,) or step.dtype.kind not in "iu":
        shown = f"{step.dtype} {step.shape}" if isinstance(step, np.ndarray) else repr(step)
        raise TypeError(
            "optimizer.step_ must be an int64 NumPy array of shape (1,) holding the step "
            f"count, got {shown}; {_RESET}"
        )
    count = int(step[0])
    _check_step_count(count, "optimizer.step_")
    if (
        type(step) is not np.ndarray
        or step.dtype != np.int64
        or not step.flags.writeable
        or not step.flags.aligned
    ):
        step = np.array([count], dtype=np.int64)
    return step


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

    def __init__(
        self,
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
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
        return {
            codes.LR: self.lr,
            codes.SGD_MOMENTUM: self.momentum,
            codes.SGD_DAMPENING: self.dampening,
            codes.SGD_NESTEROV: float(self.nesterov),
            codes.WEIGHT_DECAY: self.weight_decay,
        }


class Momentum(SGD):
    """SGD with classical momentum: ``SGD(lr, momentum=0.9)``."""

    name = "momentum"

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr=lr, momentum=momentum)
        if self.momentum <= 0:
            raise ValueError(f"momentum must be > 0 for Momentum, got {momentum!r}")


class Nesterov(SGD):
    """SGD with Nesterov momentum: ``SGD(lr, momentum=0.9, nesterov=True)``."""

    name = "nesterov"

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr=lr, momentum=momentum, nesterov=True)


class AdaGrad(Optimizer):
    """AdaGrad, as ``torch.optim.Adagrad``.

    ``s += g**2; theta -= lr / (1 + (t-1)*lr_decay) * g / (sqrt(s) + eps)``.

    Parameters
    ----------
    lr : float, default 0.01
    lr_decay : float, default 0
    eps : float, default 1e-10
    weight_decay : float, default 0
    """

    code = codes.ADAGRAD
    name = "adagrad"

    def __init__(
        self, lr: float = 0.01, lr_decay: float = 0.0, eps: float = 1e-10, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr)
        self.lr_decay = _check_number("lr_decay", lr_decay, low=0.0)
        self.eps = _check_number("eps", eps, low=0.0)
        self.weight_decay = _check_number("weight_decay", weight_decay, low=0.0)

    def _slots(self):
        return {
            codes.LR: self.lr,
            codes.ADAGRAD_LR_DECAY: self.lr_decay,
            codes.ADAGRAD_EPS: self.eps,
            codes.WEIGHT_DECAY: self.weight_decay,
        }


class RMSProp(Optimizer):
    """RMSProp, as ``torch.optim.RMSprop``.

    ``v = alpha v + (1-alpha) g**2``; centered: ``a = sqrt(v - mean(g)**2) + eps``,
    else ``a = sqrt(v) + eps``; with momentum ``b = momentum b + g/a,
    theta -= lr b``, else ``theta -= lr g/a``.

    Parameters
    ----------
    lr : float, default 0.01
    alpha : float, default 0.99
    eps : float, default 1e-8
    momentum : float, default 0
    centered : bool, default False
    weight_decay : float, default 0
    """

    code = codes.RMSPROP
    name = "rmsprop"

    def __init__(
        self,
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        self.alpha = _check_number("alpha", alpha, low=0.0)
        if self.alpha > 1:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        self.eps = _check_number("eps", eps, low=0.0)
        self.momentum = _check_number("momentum", momentum, low=0.0)
        self.centered = bool(centered)
        self.weight_decay = _check_number("weight_decay", weight_decay, low=0.0)

    def _slots(self):
        return {
            codes.LR: self.lr,
            codes.RMSPROP_ALPHA: self.alpha,
            codes.RMSPROP_EPS: self.eps,
            codes.RMSPROP_MOMENTUM: self.momentum,
            codes.WEIGHT_DECAY: self.weight_decay,
            codes.RMSPROP_CENTERED: float(self.centered),
        }


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    ``v = rho v + (1-rho) g**2; d = sqrt(u + eps) / sqrt(v + eps) * g;
    u = rho u + (1-rho) d**2; theta -= lr d``.

    Parameters
    ----------
    lr : float, default 1.0
    rho : float, default 0.9
    eps : float, default 1e-6
    weight_decay : float, default 0
    """

    code = codes.ADADELTA
    name = "adadelta"

    def __init__(
        self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr)
        self.rho = _check_number("rho", rho, low=0.0)
        if self.rho > 1:
            raise ValueError(f"rho must be in [0, 1], got {rho!r}")
        self.eps = _check_number("eps", eps, low=0.0)
        self.weight_decay = _check_number("weight_decay", weight_decay, low=0.0)

    def _slots(self):
        return {
            codes.LR: self.lr,
            codes.ADADELTA_RHO: self.rho,
            codes.ADADELTA_EPS: self.eps,
            codes.WEIGHT_DECAY: self.weight_decay,
        }


def _check_betas(betas: Any) -> tuple[float, float]:
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return (
        _check_number("betas[0]", beta1, low=0.0, high=1.0),
        _check_number("betas[1]", beta2, low=0.0, high=1.0),
    )


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``.

    ``m = b1 m + (1-b1) g; v = b2 v + (1-b2) g**2`` (AMSGrad: ``v = max`` of all
    ``v`` so far), ``theta -= lr/(1-b1**t) * m / (sqrt(v)/sqrt(1-b2**t) + eps)``.

    Parameters
    ----------
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Each in [0, 1).
    eps : float, default 1e-8
    weight_decay : float, default 0
        L2 penalty added to the gradient (see :class:`AdamW` for decoupled decay).
    amsgrad : bool, default False
    """

    code = codes.ADAM
    name = "adam"
    _decoupled = False

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(lr)
        self.betas = _check_betas(betas)
        self.eps = _check_number("eps", eps, low=0.0)
        self.weight_decay = _check_number("weight_decay", weight_decay, low=0.0)
        self.amsgrad = bool(amsgrad)

    def _slots(self):
        coupled, decoupled = (
            (0.0, self.weight_decay) if self._decoupled else (self.weight_decay, 0.0)
        )
        return {
            codes.LR: self.lr,
            codes.ADAM_BETA1: self.betas[0],
            codes.ADAM_BETA2: self.betas[1],
            codes.ADAM_EPS: self.eps,
            codes.WEIGHT_DECAY: coupled,
            codes.ADAM_AMSGRAD: float(self.amsgrad),
            codes.ADAMW_DECAY: decoupled,
        }


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: ``theta *= 1 - lr*weight_decay``, then Adam.

    Parameters are those of :class:`Adam`, with ``weight_decay=1e-2`` by default.
    """

    name = "adamw"
    _decoupled = True

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


_FAMILY: tuple[type[Optimizer], ...] = (
    SGD,
    Momentum,
    Nesterov,
    AdaGrad,
    RMSProp,
    Adadelta,
    Adam,
    AdamW,
)
_REGISTRY = {cls.name: cls for cls in _FAMILY}


def available() -> dict[str, type[Optimizer]]:
    """Return the optimizer classes by name (``{"sgd": SGD, ..., "adamw": AdamW}``), a copy."""
    return dict(_REGISTRY)


def get(name: str | Optimizer, **hyper: Any) -> Optimizer:
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
