"""The per-event fast path of one network: bound once, then one kernel call per event.

:class:`EventPath` holds what every ``learn_one``/``predict_one`` call of a network
needs: one-row buffers, the training bundles of a one-row epoch
(:mod:`fastnn.kernels.bundles`), and the compiled functions' entry points, taken
from the Numba dispatchers once so that no call pays for type dispatch.

Why this gives fit's weights: a ``learn_one`` is a one-row ``fit(batch_size=1)``.
It runs the per-sample loop ``fit`` would choose for one row
(:func:`fastnn.training.engine.sample_loop`): with ``specialise`` "auto" or False
the generic loop, whose one step is one flat kernel call
(:func:`fastnn.kernels.streaming.learn_row`, the loop's own inline helpers in the
loop's order); with ``specialise=True`` the loop generated for the layout, and with
dropout or the NumPy backend the epoch loop, each on a one-row epoch (the row staged
by :func:`fastnn.kernels.streaming.stage_event`). A loop trains consecutive slices of
rows exactly as one call over all of them, so ``learn_one`` over rows gives, bit for
bit, the weights of ``fit(X, y, batch_size=1, shuffle=False)`` on the same loop.

The optimizer is bound once (:meth:`fastnn.optimizers.Optimizer.bind` checks it,
its hyper-parameter vector is built, the loop chosen) and checked again only when
it changed. A change is seen without re-checking anything: the binding keeps the
optimizer object, its state and step arrays, and a copy of its attribute dict.
Each call compares identities (``net.optimizer_ is bound``, ``state_ is bound``,
``step_ is bound``) and the dict with the copy (``==``: the identical arrays compare
equal without being read, numbers by value). Setting any attribute to a new value
(``opt.lr = 1e-3``), ``opt.reset()``, ``load_state_dict``, a new optimizer, another
backend or ``specialise`` rebinds; editing ``state_``/``step_`` in place is seen by
the kernel (the arrays are shared) but not re-checked.
"""

from __future__ import annotations

import numbers
from typing import Any

import numba
import numpy as np
from numba.core import types
from numpy.typing import NDArray

from fastnn import kernels, optimizers
from fastnn.errors import TrainingDivergedError
from fastnn.kernels import codes, reference
from fastnn.network.guard import UseGuard
from fastnn.network.state import NetworkState
from fastnn.training import engine

__all__ = ["EventPath"]

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
_FLOATS = (F32, F64)


def entry_point(dispatcher: Any, *argument_types: Any) -> Any:
    """Return ``dispatcher``'s compiled function for these Numba types, without dispatch.

    Compiled (or loaded from Numba's cache) the first time. The returned function
    unboxes its arguments as those types: the caller must pass exactly them (an
    array of another ndim would be read wrongly), which is why the callers check
    ``type``, ``ndim`` and ``dtype`` first.
    """
    return dispatcher.compile(tuple(argument_types))


def _array_type(dtype: np.dtype[Any], ndim: int, layout: str = "C") -> Any:
    array: Any = types.Array  # (Numba's own hints do not know this call)
    return array(numba.from_dtype(dtype), ndim, layout)


class EventPath:
    """Buffers, bundles and entry points of one network's per-event calls.

    Parameters
    ----------
    state : NetworkState
        The network; its weights are trained in place.
    guard : UseGuard
        The network's guard: many readers or one trainer at a time.
    """

    def __init__(self, state: NetworkState, guard: UseGuard) -> None:
        architecture = state.architecture
        self.state = state
        self.guard = guard
        self.theta = state.theta
        self.backend = state.backend
        self.specialise = state.specialise
        self.dtype = architecture.dtype
        self.layout = architecture.layout
        self.loss_code = architecture.loss_code
        self.n_inputs, self.n_outputs = architecture.sizes[0], architecture.sizes[-1]
        self.X = np.zeros((1, self.n_inputs), dtype=self.dtype)
        self.T = np.zeros((1, self.n_outputs), dtype=self.dtype)
        self.target = np.zeros(self.n_outputs, dtype=np.float64)
        self.acts = np.zeros(architecture.units, dtype=self.dtype)
        self.out = np.zeros(self.n_outputs, dtype=self.dtype)
        self.unsigned_layout = self.layout.astype(np.uint64)
        self.work = np.zeros(
            reference.event_work_size(self.layout, architecture.n_params), dtype=self.dtype
        )
        self.labels = self.loss_code == codes.SOFTMAX_CE
        self.single_output = self.n_outputs == 1
        # Per row dtype (float32, float64): stage_event and predict_row, any strides.
        self.stage: dict[np.dtype[Any], Any] = {}
        self.predict: dict[np.dtype[Any], Any] = {}
        if self.backend == "numba":
            theta_type = _array_type(self.dtype, 1)
            matrix = _array_type(self.dtype, 2)
            for row_dtype in _FLOATS:
                row = _array_type(row_dtype, 1, "A")
                self.stage[row_dtype] = entry_point(
                    kernels.stage_event, row, _array_type(np.dtype(np.float64), 1),
                    types.int64, types.int64, matrix, matrix,
                )  # fmt: skip
                self.predict[row_dtype] = entry_point(
                    kernels.predict_row, theta_type, numba.typeof(self.layout),
                    types.int64, row, theta_type, theta_type,
                )  # fmt: skip
        self.predict64: Any = self.predict.get(F64)
        self.predict32: Any = self.predict.get(F32)
        # The optimizer's binding (see the module's docstring).
        self.optimizer: Any = None
        self.optimizer_state: Any = None
        self.optimizer_step: Any = None
        self.snapshot: dict[str, Any] = {}
        self.train: Any = None
        self.learn64: Any = None
        self.learn32: Any = None
        self.args: tuple[Any, ...] = ()
        self.opt_code = -1
        self.group: Any = None
        self.member: Any = None

    # ------------------------------------------------------------ the calls

    def learn_one(self, x: Any, y: Any, optimizer: Any = None) -> None:
        """One update from row ``x`` and target ``y`` (see :meth:`fastnn.MLP.learn_one`)."""
        if optimizer is None:
            optimizer = self.state.optimizer or self.checked_optimizer(None)
        # The fast path takes a 1-D float64/float32 array as it is (NumPy's own dtype
        # objects, compared by identity); anything else is converted first.
        if type(x) is not np.ndarray or x.ndim != 1 or (x.dtype is not F64 and x.dtype is not F32):
            x = self.row(x)
        self.guard.claim("learn_one")
        try:
            if self.labels and type(y) is int and y >= 0:  # a class label, as it comes
                label = y
            else:
                label = self.stage_target(y)
            try:  # bound(), inlined: one call less per event
                same = (
                    optimizer is self.optimizer
                    and optimizer.step_ is self.optimizer_step
                    and optimizer.state_ is self.optimizer_state
                    and optimizer.__dict__ == self.snapshot
                )
            except (TypeError, ValueError):  # an attribute set to an array, say
                same = False
            if not same:
                self.bind(self.checked_optimizer(optimizer))
            if self.learn64 is not None:
                kernel = self.learn64 if x.dtype is F64 else self.learn32
                status = kernel(x, self.target, label, self.loss_code, self.opt_code, *self.args)
            else:
                status = self.learn_epoch(x, label)
            if status != codes.EVENT_OK:
                if status == codes.EVENT_DIVERGED:
                    raise self.diverged(optimizer)
                if status <= codes.EVENT_ROW_NOT_FINITE:
                    raise self.row_error(status, x)
                raise self.target_error(status, y, label)
        finally:
            self.guard.unclaim()

    def learn_epoch(self, x: NDArray[Any], label: int) -> int:
        """``learn_one`` through a one-row epoch of the bound loop (generated, dropout, NumPy)."""
        if self.stage:
            kernel = self.stage[F64 if x.dtype is F64 else F32]
            status = kernel(x, self.target, label, self.loss_code, self.X, self.T)
        else:
            status = reference_stage(self, x, label)
        if status != codes.EVENT_OK:
            return int(status)
        if self.train(self.group, self.member) == 0:
            self.work[-1] = self.member.losses[0]
            return codes.EVENT_DIVERGED
        return codes.EVENT_OK

    def output(self, x: Any, action: str) -> NDArray[Any]:
        """The output activations of row ``x`` in the path's buffer (valid until the next call)."""
        if type(x) is not np.ndarray or x.ndim != 1 or (x.dtype is not F64 and x.dtype is not F32):
            x = self.row(x)
        self.guard.claim(action)  # exclusive: the calls share the buffers
        try:
            if self.predict64 is not None:
                kernel = self.predict64 if x.dtype is F64 else self.predict32
                status = kernel(self.theta, self.layout, self.loss_code, x, self.acts, self.out)
            else:
                status = reference_predict(self, x)
        finally:
            self.guard.unclaim()
        if status != codes.EVENT_OK:
            raise self.row_error(status, x)
        return self.out

    def predict_one(self, x: Any, action: str = "predict_one") -> NDArray[Any]:
        """The output activations of row ``x``, a new array of shape ``(outputs,)``."""
        # output()'s body again: one call less per event.
        if type(x) is not np.ndarray or x.ndim != 1 or (x.dtype is not F64 and x.dtype is not F32):
            x = self.row(x)
        self.guard.claim(action)
        try:
            if self.predict64 is not None:
                kernel = self.predict64 if x.dtype is F64 else self.predict32
                status = kernel(self.theta, self.layout, self.loss_code, x, self.acts, self.out)
            else:
                status = reference_predict(self, x)
        finally:
            self.guard.unclaim()
        if status != codes.EVENT_OK:
            raise self.row_error(status, x)
        return self.out.copy()

    def predict_class_one(self, x: Any) -> Any:
        """The class of row ``x``: an int (softmax, one sigmoid unit) or a row of 0/1 labels."""
        out = self.output(x, "predict_class_one")
        if self.loss_code == codes.SOFTMAX_CE:
            return int(out.argmax())
        if self.single_output:
            return int(out[0] >= 0.5)
        return (out >= 0.5).astype(np.int64)

    # ------------------------------------------------------------ the row

    def row(self, x: Any, name: str = "x") -> NDArray[Any]:
        """Return ``x`` as a 1-D float array the kernels take (float32/float64, any strides).

        The slow path of the per-event calls: anything but a 1-D float ndarray.
        Width and finiteness are left to the kernels.
        """
        if isinstance(x, dict):
            raise TypeError(
                f"{name} is a dict; a network takes a row of numbers in input order (a list "
                "or a 1-D array). For rows of named features use fastnn.river.MLPClassifier "
                "or MLPRegressor"
            )
        if isinstance(x, (str, bytes)):
            raise TypeError(f"{name} must be a row of numbers, got the string {x!r}")
        try:
            array = np.asarray(x)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be a row of numbers: {error}") from None
        if array.dtype.kind not in "biuf":
            bad = _first_non_number(x if isinstance(x, (list, tuple)) else array.reshape(-1))
            raise TypeError(
                f"{name} must hold real numbers, got "
                + (f"{bad[1]!r} at {name}[{bad[0]}]" if bad else f"dtype {array.dtype}")
            )
        if array.ndim == 2 and array.shape[0] == 1:
            array = array[0]
        if array.ndim == 0 and self.n_inputs == 1:
            array = array.reshape(1)
        if array.ndim != 1:
            raise ValueError(
                f"{name} must be one row of {self.n_inputs} values, got shape {array.shape}"
            )
        # NumPy's own dtype objects, which the fast paths compare by identity.
        if array.dtype == F64:
            return array.view(F64)
        if array.dtype == F32:
            return array.view(F32)
        return array.astype(F64)

    def row_error(self, status: int, x: NDArray[Any], name: str = "x") -> Exception:
        """The error of a row the kernels refused with ``status``."""
        if status == codes.EVENT_ROW_WIDTH:
            return ValueError(
                f"{name} has {x.shape[0]} values, the network takes {self.n_inputs} inputs"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            cast = x.astype(self.dtype)
        index = int(np.flatnonzero(~np.isfinite(cast))[0])
        if np.isfinite(x[index]):
            return ValueError(
                f"{name}[{index}] is {x[index]}, beyond the range of {self.dtype.name} "
                f"(largest {np.finfo(self.dtype).max:.3g}); scale the data or use "
                "dtype='float64'"
            )
        return ValueError(
            f"{name}[{index}] is {x[index]}: a row must be finite (clean or impute the data first)"
        )

    # ------------------------------------------------------------ the target

    def stage_target(self, y: Any) -> int:
        """Put ``y`` where :func:`~fastnn.kernels.streaming.stage_event` reads it.

        Returns the class label to one-hot (softmax), or -1 when the target is in
        ``self.target``.
        """
        if self.labels:
            if type(y) is int and y >= 0:
                return y
            return self._label(y)
        if self.single_output and isinstance(y, (numbers.Real, np.bool_)):
            self.target[0] = y
            return -1
        self._vector(y)
        return -1

    def _label(self, y: Any) -> int:
        if isinstance(y, (bool, np.bool_)):
            raise TypeError(
                f"y: a boolean is ambiguous as a class label of a softmax output; pass the "
                f"class index (0..{self.n_outputs - 1}) or a one-hot row"
            )
        if isinstance(y, numbers.Integral):
            if y < 0:
                raise ValueError(
                    f"y: class label {y} is not one of the network's classes "
                    f"0..{self.n_outputs - 1}"
                )
            return min(int(y), self.n_outputs)  # too large: the kernel names it
        if isinstance(y, numbers.Real):
            value = float(y)
            if not np.isfinite(value) or value != round(value):
                raise ValueError(
                    f"y: a class label must be a whole number 0..{self.n_outputs - 1}, got {y!r}"
                )
            return self._label(int(value))
        self._vector(y)
        return -1

    def _vector(self, y: Any) -> None:
        if isinstance(y, (str, bytes)):
            raise TypeError(f"y must be a number or a row of numbers, got the string {y!r}")
        try:
            array = np.asarray(y)
        except (TypeError, ValueError) as error:
            raise TypeError(f"y must be a number or a row of numbers: {error}") from None
        if array.dtype.kind not in "biuf":
            raise TypeError(f"y must hold real numbers, got {y!r}")
        array = array.reshape(-1) if array.ndim == 2 and array.shape[0] == 1 else array
        if array.ndim != 1 or array.shape[0] != self.n_outputs:
            what = "a class label or " if self.labels else ""
            raise ValueError(
                f"y must be {what}{self.n_outputs} target value(s) for the network's "
                f"{self.n_outputs} outputs, got shape {array.shape}"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            self.target[:] = array

    def target_error(self, status: int, y: Any, label: int) -> Exception:
        """The error of a target the kernels refused with ``status``."""
        if status == codes.EVENT_LABEL_RANGE:
            return ValueError(
                f"y: class label {y!r} is not one of the network's {self.n_outputs} classes "
                f"0..{self.n_outputs - 1}"
            )
        if status == codes.EVENT_TARGET_NOT_FINITE:
            return ValueError(
                f"y is {y!r}: targets must be finite numbers that {self.dtype.name} can hold"
            )
        if status == codes.EVENT_TARGET_RANGE and self.loss_code == codes.SIGMOID_BCE:
            return ValueError(f"y is {y!r}: targets of a sigmoid output must lie in [0, 1]")
        if status == codes.EVENT_TARGET_RANGE:
            return ValueError(
                f"y is {y!r}: a target row of a softmax output must be one-hot or class "
                "probabilities (>= 0, summing to 1); or pass the class label"
            )
        return ValueError(f"y has the wrong length for the network's {self.n_outputs} outputs")

    # ------------------------------------------------------------ the optimizer

    def checked_optimizer(self, optimizer: Any) -> Any:
        """The optimizer of a call: ``optimizer``, else the network's, else ``SGD(lr=0.01)``."""
        if optimizer is None:
            return self.state.optimizer or optimizers.SGD(lr=0.01)  # fit's default
        if not isinstance(optimizer, optimizers.Optimizer):
            raise TypeError(
                "optimizer must be an optimizer object (optimizers.Adam(), ...), got "
                f"{optimizer!r}; a name would start a fresh optimizer at every event"
            )
        return optimizer

    def bound(self, optimizer: Any) -> bool:
        """True if ``optimizer`` is the one bound and unchanged since (see the module)."""
        if (
            optimizer is not self.optimizer
            or optimizer.state_ is not self.optimizer_state
            or optimizer.step_ is not self.optimizer_step
        ):
            return False
        try:
            return bool(optimizer.__dict__ == self.snapshot)
        except (TypeError, ValueError):  # an attribute set to an array, say
            return False

    def bind(self, optimizer: Any) -> None:
        """Check ``optimizer`` as ``fit`` does and bind the one-row epoch to it.

        It becomes the network's optimizer (``net.optimizer_``), as with ``fit``.
        """
        state = self.state
        if kernels.first_non_finite(state.theta) >= 0:
            raise ValueError(
                "the network's weights contain NaN or inf (edited by hand?); training cannot "
                "start from them: make a new MLP or load a saved one"
            )
        member = engine.member_for(state, optimizer, 1, np.zeros(1, dtype=np.int64))
        self.group = engine.group_for(state, optimizer, 1, self.X, self.T)
        self.member = member
        self.opt_code = optimizer.code
        # A learn_one is a one-row fit: the loop fit chooses for one row.
        loop = engine.sample_loop(state, optimizer.code, member.hyper, 1)
        train = loop.train_epoch
        self.learn64 = self.learn32 = None
        if self.backend == "numba" and loop.spec is None and not any(state.architecture.dropout):
            # The generic compiled loop: its one step as one flat kernel call.
            self.args = (self.unsigned_layout, member.theta, member.state, member.hyper,
                         member.step, self.work)  # fmt: skip
            self.learn64, self.learn32 = (
                entry_point(
                    kernels.learn_row,
                    _array_type(row_dtype, 1, "A"),
                    _array_type(F64, 1),
                    types.int64,
                    types.int64,
                    types.int64,
                    *(numba.typeof(arg) for arg in self.args),
                )  # fmt: skip
                for row_dtype in (F64, F32)
            )
        elif hasattr(train, "compile"):  # the generated loop, or dropout
            train = entry_point(train, numba.typeof(self.group), numba.typeof(member))
        self.train = train
        self.optimizer = optimizer
        self.optimizer_state = optimizer.state_
        self.optimizer_step = optimizer.step_
        self.snapshot = dict(optimizer.__dict__)
        state.optimizer = optimizer

    def diverged(self, optimizer: Any) -> TrainingDivergedError:
        """The error of an event whose loss was not finite (its update was not applied)."""
        loss = float(self.work[-1])
        step = int(optimizer.step_[0]) + 1
        return TrainingDivergedError(
            f"the training loss became {loss} at this event (step {step}); its update was "
            f"not applied. Try a smaller learning rate than lr={optimizer.lr}.",
            epoch=1,
            step=step,
            loss=loss,
        )


def _first_non_number(values: Any) -> tuple[int, Any] | None:
    """The first (index, value) of a sequence that is not a real number."""
    for index, value in enumerate(values):
        if isinstance(value, (str, bytes)) or not isinstance(value, (numbers.Real, np.bool_)):
            return index, value
    return None


def reference_stage(path: EventPath, x: NDArray[Any], label: int) -> int:
    """:func:`~fastnn.kernels.streaming.stage_event` of the NumPy reference backend."""
    return int(reference.stage_event(x, path.target, label, path.loss_code, path.X, path.T))


def reference_predict(path: EventPath, x: NDArray[Any]) -> int:
    """:func:`~fastnn.kernels.streaming.predict_row` of the NumPy reference backend."""
    return int(
        reference.predict_row(path.theta, path.layout, path.loss_code, x, path.acts, path.out)
    )
