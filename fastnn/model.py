"""The multilayer perceptron: a flat parameter vector and a thin layer over the kernels."""

from __future__ import annotations

import numbers
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from fastnn import codegen, kernels
from fastnn import optimizers as optimizers_module
from fastnn import schedules as schedules_module
from fastnn.kernels import codes, reference
from fastnn.validation import as_matrix, check_dtype, check_int, is_finite_number, targets

if TYPE_CHECKING:
    import onnx

    from fastnn.metrics import Evaluation
    from fastnn.optimizers import Optimizer
    from fastnn.schedules import Schedule

__all__ = ["MLP", "History", "TrainingDivergedError", "ConcurrentUseError"]

BACKENDS = {"numba": kernels, "numpy": reference}

# Rows per chunk in predict/loss/accuracy, so work buffers stay small on big data.
PREDICT_CHUNK = 4096


#: The widest layer a network may have (a guard against typos such as 10**9).
MAX_WIDTH = 2**31 - 1


class TrainingDivergedError(FloatingPointError):
    """Training produced a non-finite loss or weights; the network keeps its last good ones.

    Attributes
    ----------
    epoch : int
        The epoch (from 1) in which it happened; the weights are those at the
        end of the epoch before.
    step : int
        The step (from 1) within that epoch.
    loss : float
        The loss at that step (NaN or inf), or the last finite one when the
        loss was finite but an update made the weights non-finite.
    """

    def __init__(
        self,
        message: str,
        epoch: int | None = None,
        step: int | None = None,
        loss: float | None = None,
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.loss = loss


class ConcurrentUseError(RuntimeError):
    """A network was trained in one thread while another thread used it."""


class _UseGuard:
    """Many threads may read a network at once (predict, loss, save), or one may train it.

    A conflicting call raises :class:`ConcurrentUseError` at once, rather than
    waiting or reading half-updated weights. The training thread itself may
    read (validation, callbacks).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._readers = 0
        self._trainer = None

    @contextmanager
    def reading(self, action):
        me = threading.get_ident()
        with self._lock:
            if self._trainer is not None and self._trainer != me:
                raise ConcurrentUseError(
                    f"{action}: another thread is training this network; wait until its fit "
                    "returns, or use a copy (copy.deepcopy(net))"
                )
            self._readers += 1
        try:
            yield
        finally:
            with self._lock:
                self._readers -= 1

    @contextmanager
    def training(self, action):
        me = threading.get_ident()
        with self._lock:
            if self._trainer is not None:
                raise ConcurrentUseError(
                    f"{action}: this network is already being trained"
                    + (" by another thread" if self._trainer != me else "")
                    + "; train one copy per thread (copy.deepcopy(net))"
                )
            if self._readers:
                raise ConcurrentUseError(
                    f"{action}: another thread is using this network (predict, loss or save); "
                    "train it when that has returned, or train a copy (copy.deepcopy(net))"
                )
            self._trainer = me
        try:
            yield
        finally:
            with self._lock:
                self._trainer = None


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


class _Workspace:
    """Work buffers for one batch size, allocated once per fit."""

    def __init__(self, net, batch):
        dtype = net.dtype
        units = int(net.layout[:, codes.FAN_OUT].sum())
        self.grad = np.zeros(net.n_params, dtype=dtype)
        self.acts = np.zeros(batch * units, dtype=dtype)
        self.deltas = np.zeros(batch * units, dtype=dtype)
        self.x = np.zeros((batch, net.sizes[0]), dtype=dtype)
        self.t = np.zeros((batch, net.sizes[-1]), dtype=dtype)
        self.y = np.zeros((batch, net.sizes[-1]), dtype=dtype)


class MLP:
    """A multilayer perceptron whose parameters live in one flat vector.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first: ``[784, 40, 10]``.
    hidden : str or sequence of str, default "relu"
        Hidden activation, one name or one per hidden layer: "relu", "sigmoid",
        "tanh", "step", "identity", "leaky_relu".
    output : {"softmax", "sigmoid", "identity"}, default "softmax"
        Output activation; it fixes the loss: cross-entropy, binary
        cross-entropy, mean squared error.
    init : "he", "xavier" or float, default "he"
        Weight initialisation: std ``sqrt(2/fan_in)``, ``sqrt(1/fan_in)``, or
        the given std (the course's ``weight_init_std``). Biases start at 0.
    dtype : {"float32", "float64"}, default "float32"
    seed : int or None
        Seeds initialisation and shuffling: same seed, same data, same weights.
    backend : {"numba", "numpy"}, default "numba"
        "numpy" runs the plain NumPy reference (:mod:`fastnn.kernels.reference`).
    specialise : "auto", True or False, default "auto"
        Per-sample training (``batch_size=1``) can run a loop generated and
        compiled for this network's layer widths (several times faster than the
        generic loop on image-sized inputs; compiled once per layout, about
        2-10 s, then cached on disk). True always uses it, False never does,
        "auto" uses it for fits on at least
        ``fastnn.codegen.SPECIALISE_MIN_ROWS`` rows. Both
        loops compute the same formulas; results agree to float rounding.

    dropout : float or sequence of float, default 0.0
        Dropout rate of the hidden layers' outputs, one for all or one per
        hidden layer, each in [0, 1). Inverted dropout: during training each
        output is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``;
        ``predict``, ``loss`` and the other methods never drop. The masks are
        drawn from a key derived from ``seed`` and the optimizer's step count,
        the same on both backends. Per-sample fits with dropout run the generic
        loop, not one generated for the layout.

    Notes
    -----
    Thread safety: any number of threads may call ``predict``, ``loss``,
    ``accuracy`` or ``save`` at once; ``fit`` and ``partial_fit`` need the
    network to themselves. A call that conflicts with one running in another
    thread raises :class:`ConcurrentUseError` at once.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        hidden: str | Sequence[str] = "relu",
        output: str = "softmax",
        init: str | float = "he",
        dtype: DTypeLike = "float32",
        seed: int | None = None,
        backend: str = "numba",
        specialise: bool | Literal["auto"] = "auto",
        dropout: float | Sequence[float] = 0.0,
    ) -> None:
        # What the kernels rely on (widths, layout, dtype) is private and read
        # through properties, so that no assignment can make them disagree.
        self._sizes: list[int] = self._check_sizes(sizes)
        n_layers = len(self._sizes) - 1
        self._hidden = self._check_hidden(hidden, n_layers - 1)
        if not isinstance(output, str) or output not in codes.OUTPUT_CODES:
            raise ValueError(f"output must be one of {sorted(codes.OUTPUT_CODES)}, got {output!r}")
        if output == "softmax" and self._sizes[-1] < 2:
            raise ValueError(
                f"output='softmax' needs at least 2 output units, got sizes={self._sizes}; "
                "use output='sigmoid' for one binary output"
            )
        self._output = output
        self._loss_code = codes.OUTPUT_CODES[output]
        self.init: str | float = self._check_init(init)
        self._dtype = check_dtype(dtype)
        self.backend = backend
        self.specialise = specialise
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an integer or None, got {seed!r}")
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.seed: int | None = seed
        self.rng: np.random.Generator = np.random.default_rng(seed)
        self._dropout: list[float] = self._check_dropout(dropout, n_layers - 1)
        # Per layer (the output layer's is 0), as the kernels take it.
        self._dropout_rates = np.array([*self._dropout, 0.0], dtype=np.float64)
        # A key of its own, so that adding dropout changes neither the initial
        # weights nor the shuffles drawn from `rng`.
        entropy = [seed, 0xD0] if seed is not None else None
        key = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)
        self._dropout_key: NDArray[np.uint64] = np.asarray(key, dtype=np.uint64)
        self._layout = self._make_layout()
        self._n_params = int(self._layout[-1, codes.B_OFFSET] + self._sizes[-1])
        self._theta = np.zeros(self._n_params, dtype=self._dtype)
        self.params: dict[str, NDArray[np.floating[Any]]] = self._make_views(self._theta)
        self._initialise()
        self.optimizer_: Optimizer | None = None
        self._guard = _UseGuard()

    # ------------------------------------------------------------ construction

    @staticmethod
    def _check_sizes(sizes):
        if isinstance(sizes, (str, bytes)):
            # A string is a sequence too, of characters: name the mistake, not sizes[0].
            raise TypeError(
                f"sizes must be a list of layer widths such as [784, 100, 10], got the "
                f"string {sizes!r}"
            )
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(f"sizes must be a sequence of layer widths, got {sizes!r}") from None
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least 2 entries (inputs, outputs), got {sizes!r}")
        for position, size in enumerate(sizes):
            if isinstance(size, bool) or not isinstance(size, numbers.Integral):
                raise TypeError(f"sizes[{position}] must be an integer, got {size!r}")
            if size < 1:
                raise ValueError(f"sizes[{position}] must be >= 1, got {size!r}")
            if size > MAX_WIDTH:
                raise ValueError(f"sizes[{position}] must be <= {MAX_WIDTH:,}, got {size!r}")
        return [int(size) for size in sizes]

    @staticmethod
    def _check_hidden(hidden: Any, n_hidden: int) -> list[str]:
        if isinstance(hidden, str):
            names = [hidden] * n_hidden
        else:
            try:
                names = list(hidden)
            except TypeError:
                raise TypeError(
                    "hidden must be an activation name or a list of names, one per hidden "
                    f"layer, got {hidden!r}"
                ) from None
        if len(names) != n_hidden:
            raise ValueError(
                f"hidden has {len(names)} names, the network has {n_hidden} hidden layers"
            )
        for position, name in enumerate(names):
            if not isinstance(name, str):
                raise TypeError(f"hidden[{position}] must be an activation name, got {name!r}")
            if name not in codes.ACTIVATION_CODES:
                raise ValueError(
                    f"hidden: unknown activation {name!r}; choose one of "
                    f"{sorted(codes.ACTIVATION_CODES)}"
                )
        return names

    @staticmethod
    def _check_dropout(dropout, n_hidden):
        rates = [dropout] * n_hidden if isinstance(dropout, numbers.Real) else dropout
        try:
            if isinstance(rates, (str, bytes)):
                raise TypeError
            rates = list(rates)
        except TypeError:
            raise TypeError(
                f"dropout must be a rate or a list of rates, one per hidden layer, got {dropout!r}"
            ) from None
        if len(rates) != n_hidden:
            raise ValueError(
                f"dropout has {len(rates)} rates, the network has {n_hidden} hidden layers"
            )
        for position, rate in enumerate(rates):
            if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
                raise TypeError(f"dropout[{position}] must be a number, got {rate!r}")
            if not is_finite_number(rate) or not 0 <= rate < 1:
                raise ValueError(f"dropout[{position}] must be in [0, 1), got {rate!r}")
        return [float(rate) for rate in rates]

    @staticmethod
    def _check_init(init):
        if isinstance(init, str):
            if init not in ("he", "xavier"):
                raise ValueError(f"init must be 'he', 'xavier' or a float std, got {init!r}")
            return init
        if isinstance(init, bool) or not isinstance(init, numbers.Real):
            raise TypeError(f"init must be 'he', 'xavier' or a float std, got {init!r}")
        if not is_finite_number(init) or init <= 0:
            raise ValueError(f"init as a std must be a positive finite number, got {init!r}")
        return float(init)

    def _make_layout(self) -> NDArray[np.int64]:
        rows = []
        offset = 0
        unit_offset = 0
        widths = zip(self._sizes[:-1], self._sizes[1:], strict=True)
        for layer, (fan_in, fan_out) in enumerate(widths):
            is_hidden = layer < len(self._hidden)
            activation = codes.ACTIVATION_CODES[self._hidden[layer]] if is_hidden else 0
            rows.append(
                [fan_in, fan_out, offset, offset + fan_in * fan_out, activation, unit_offset]
            )
            offset += fan_in * fan_out + fan_out
            unit_offset += fan_out
        return np.array(rows, dtype=np.int64)

    def _make_views(self, vector: NDArray[Any]) -> dict[str, NDArray[Any]]:
        views = {}
        for layer, row in enumerate(self._layout, start=1):
            fan_in, fan_out, w_start, b_start = (int(v) for v in row[:4])
            views[f"W{layer}"] = vector[w_start : w_start + fan_in * fan_out].reshape(
                fan_in, fan_out
            )
            views[f"b{layer}"] = vector[b_start : b_start + fan_out]
        return views

    def _initialise(self):
        for layer, row in enumerate(self._layout, start=1):
            fan_in, fan_out = int(row[0]), int(row[1])
            if self.init == "he":
                std = np.sqrt(2.0 / fan_in)
            elif self.init == "xavier":
                std = np.sqrt(1.0 / fan_in)
            else:
                std = self.init
            weights = std * self.rng.standard_normal((fan_in, fan_out))
            with np.errstate(over="ignore"):
                self.params[f"W{layer}"][...] = weights
            if kernels.first_non_finite(self.params[f"W{layer}"]) >= 0:
                raise ValueError(
                    f"init={self.init!r} gives weights beyond the range of {self._dtype.name} "
                    f"(layer {layer}); use a smaller std or dtype='float64'"
                )

    # ------------------------------------------------------------ properties

    @property
    def theta(self) -> NDArray[np.floating[Any]]:
        """ndarray: all parameters, one flat vector; ``params`` holds views into it."""
        return self._theta

    @property
    def sizes(self) -> list[int]:
        """list of int: units per layer, inputs first (a copy)."""
        return list(self._sizes)

    @property
    def hidden(self) -> list[str]:
        """list of str: the activation of each hidden layer (a copy)."""
        return list(self._hidden)

    @property
    def output(self) -> str:
        """str: the output activation ("softmax", "sigmoid" or "identity")."""
        return self._output

    @property
    def loss_code(self) -> int:
        """int: the output/loss pair's code (:mod:`fastnn.kernels.codes`)."""
        return self._loss_code

    @property
    def dtype(self) -> np.dtype[Any]:
        """numpy.dtype: float32 or float64, of the weights and of all arithmetic."""
        return self._dtype

    @property
    def n_params(self) -> int:
        """int: the number of parameters (the length of ``theta``)."""
        return self._n_params

    @property
    def layout(self) -> NDArray[np.int64]:
        """ndarray: the layer table the kernels read (:mod:`fastnn.kernels.codes`), read-only."""
        view = self._layout.view()
        view.flags.writeable = False
        return view

    @property
    def dropout(self) -> list[float]:
        """list of float: the dropout rate of each hidden layer (a copy)."""
        return list(self._dropout)

    @property
    def backend(self) -> str:
        """str: "numba" (compiled kernels) or "numpy" (the reference)."""
        return self._backend

    @backend.setter
    def backend(self, backend: str) -> None:
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
        self._backend = backend

    @property
    def specialise(self) -> bool | Literal["auto"]:
        """ "auto", True or False: when per-sample fits use the loop generated for the layout."""
        return self._specialise

    @specialise.setter
    def specialise(self, value: bool | Literal["auto"]) -> None:
        if not (value == "auto" and isinstance(value, str)) and not isinstance(value, bool):
            raise ValueError(f"specialise must be 'auto', True or False, got {value!r}")
        self._specialise = value

    @property
    def _kernels(self):
        return BACKENDS[self.backend]

    @property
    def is_classifier(self) -> bool:
        """bool: True for softmax and sigmoid outputs."""
        return self._loss_code != codes.MSE

    def __repr__(self) -> str:
        dropout = f", dropout={self.dropout!r}" if any(self._dropout) else ""
        return (
            f"MLP({self.sizes}, hidden={self.hidden!r}, output={self.output!r}, "
            f"dtype={self.dtype.name!r}, backend={self.backend!r}{dropout})"
        )

    # ------------------------------------------------------------ data

    def _inputs(self, X: ArrayLike, name: str = "X") -> NDArray[Any]:
        return as_matrix(name, X, self._sizes[0], self._dtype)

    def _targets(self, T: ArrayLike, n_rows: int, name: str = "T") -> NDArray[Any]:
        return targets(name, T, n_rows, self._sizes[-1], self._loss_code, self._dtype)

    # ------------------------------------------------------------ inference

    def _forward_chunks(self, X):
        """Yield ``(rows, logits_block, outputs)`` chunk by chunk."""
        k = self._kernels
        if k is kernels and kernels.first_non_finite(self._theta) >= 0:
            # The compiled forward pass skips zero inputs, which would hide a NaN
            # weight (0 * NaN is NaN); non-finite weights get the reference's
            # exact propagation.
            k = reference
        units = int(self._layout[:, codes.FAN_OUT].sum())
        chunk = min(PREDICT_CHUNK, X.shape[0])
        acts = np.zeros(chunk * units, dtype=self._dtype)
        for start in range(0, X.shape[0], chunk):
            x = X[start : start + chunk]
            y = np.empty((x.shape[0], self._sizes[-1]), dtype=self._dtype)
            k.predict(self._theta, self._layout, self._loss_code, x, acts, y)
            logits = k.layer_block(acts, self._layout, len(self._layout) - 1, x.shape[0])
            yield slice(start, start + x.shape[0]), logits, y

    def predict(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Return the output activations for the rows of ``X``.

        Parameters
        ----------
        X : array-like, shape (n_samples, inputs) or (inputs,)

        Returns
        -------
        ndarray, shape (n_samples, outputs), or (outputs,) for a 1-D sample
        """
        with self._guard.reading("predict"):
            matrix = self._inputs(X)  # first: it names a ragged or bad X
            single = np.ndim(X) == 1 and self._sizes[0] > 1
            X = matrix
            out = np.empty((X.shape[0], self._sizes[-1]), dtype=self._dtype)
            for rows, _, y in self._forward_chunks(X):
                out[rows] = y
            return out[0] if single else out

    def _loss_and_correct(self, X, T):
        total = 0.0
        correct = 0.0
        k = self._kernels
        for rows, logits, y in self._forward_chunks(X):
            t = T[rows]
            total += k.loss_value(self._loss_code, logits, t) * (rows.stop - rows.start)
            correct += k.count_correct(self._loss_code, y, t)
        return total / X.shape[0], correct / X.shape[0]

    def loss(self, X: ArrayLike, T: ArrayLike) -> float:
        """Return the mean loss over the rows of ``(X, T)`` (docs/design.md, section 3).

        ``T`` may be one-hot rows or integer labels for a softmax output.
        """
        with self._guard.reading("loss"):
            X = self._inputs(X)
            return self._loss_and_correct(X, self._targets(T, X.shape[0]))[0]

    def accuracy(self, X: ArrayLike, T: ArrayLike) -> float:
        """Return the fraction of rows classified correctly (classifiers only)."""
        if not self.is_classifier:
            raise ValueError("accuracy needs a classifier (output 'softmax' or 'sigmoid')")
        with self._guard.reading("accuracy"):
            X = self._inputs(X)
            return self._loss_and_correct(X, self._targets(T, X.shape[0]))[1]

    # ------------------------------------------------------------ gradients

    def gradient(self, X: ArrayLike, T: ArrayLike) -> dict[str, NDArray[np.floating[Any]]]:
        """Return the gradient of :meth:`loss` by backpropagation, shaped like ``params``."""
        with self._guard.reading("gradient"):
            X = self._inputs(X)
            T = self._targets(T, X.shape[0])
            work = _Workspace(self, X.shape[0])
            self._kernels.gradient(
                self._theta,
                self._layout,
                self._loss_code,
                X,
                T,
                work.acts,
                work.deltas,
                work.y[: X.shape[0]],
                work.grad,
            )
            return self._make_views(work.grad)

    def numerical_gradient(
        self, X: ArrayLike, T: ArrayLike, h: float = 1e-4
    ) -> dict[str, NDArray[np.floating[Any]]]:
        """Return the gradient of :meth:`loss` by central differences, like ``params``.

        Slow by design (two losses per parameter): it checks :meth:`gradient`.

        Parameters
        ----------
        X, T
            As for :meth:`loss`.
        h : float, default 1e-4
            The step, a positive finite number.
        """
        if isinstance(h, bool) or not isinstance(h, numbers.Real):
            raise TypeError(f"h must be a positive number, got {h!r}")
        if not is_finite_number(h) or h <= 0:
            raise ValueError(f"h must be a positive finite number, got {h!r}")
        with self._guard.training("numerical_gradient"):  # it nudges the weights
            X = self._inputs(X)
            T = self._targets(T, X.shape[0])
            grad = np.zeros(self._n_params, dtype=self._dtype)
            theta = self._theta
            for index in range(self._n_params):
                saved = theta[index]
                theta[index] = saved + h
                loss_plus = self._loss_and_correct(X, T)[0]
                theta[index] = saved - h
                loss_minus = self._loss_and_correct(X, T)[0]
                theta[index] = saved
                grad[index] = (loss_plus - loss_minus) / (2 * h)
            return self._make_views(grad)

    # ------------------------------------------------------------ training

    def fit(
        self,
        X: ArrayLike,
        T: ArrayLike,
        optimizer: Optimizer | str | None = None,
        epochs: int = 1,
        batch_size: int | None = 1,
        shuffle: bool = True,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        progress: bool = False,
        *,
        validation_split: float = 0.0,
        early_stopping: bool = False,
        patience: int = 5,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
        restore_best: bool = True,
        callbacks: Iterable[Callable[[int, History, MLP], bool | None]] | None = None,
        verbose: int = 0,
        schedule: Schedule | str | None = None,
    ) -> History:
        """Train from the current weights and return the per-epoch :class:`History`.

        Parameters
        ----------
        X : array-like, shape (n_samples, inputs)
        T : array-like, shape (n_samples, outputs), or (n_samples,) labels/targets
        optimizer : Optimizer or str, optional
            Default: the optimizer of the previous fit, else ``SGD(lr=0.01)``. Its
            state carries over between calls.
        epochs : int, default 1
        batch_size : int or None, default 1
            1 is per-sample SGD; None (or >= n_samples) is full-batch descent.
        shuffle : bool, default True
            Visit the samples in a new seeded random order each epoch.
        validation_data : tuple (X_val, T_val), optional
        progress : bool, default False
            Show a progress bar per epoch (samples/s and running loss) on stderr.
        validation_split : float, default 0.0
            Hold out this fraction of the rows (at random, the same rows for the
            same ``seed`` and row count) as validation data, before any
            shuffling; train on the others. Not with ``validation_data``.
        early_stopping : bool, default False
            Stop when ``monitor`` has not improved by more than ``min_delta`` for
            ``patience`` epochs.
        patience : int, default 5
        min_delta : float, default 0.0
        monitor : {"val_loss", "val_acc", "loss", "train_acc"}, default "val_loss"
            What early stopping watches; the validation figures need
            ``validation_data`` or ``validation_split``.
        restore_best : bool, default True
            With early stopping, end with the weights and optimizer state of the
            best epoch.
        callbacks : sequence of callables, optional
            Each is called as ``callback(epoch, history, net)`` after every epoch
            (``epoch`` from 1, ``history`` the :class:`History` so far); one that
            returns True stops training after that epoch.
        verbose : int, default 0
            1 prints one line per epoch as it ends: loss, accuracy, validation
            figures, learning rate and samples/s.
        schedule : fastnn.schedules.Schedule or str, optional
            Sets the learning rate per epoch (or per step); see
            :mod:`fastnn.schedules`. Pass the same object to every call of one
            training run.

        Returns
        -------
        History

        Raises
        ------
        TrainingDivergedError
            When the loss or the weights become NaN or inf; the weights and
            optimizer state are those at the end of the last complete epoch.
        ConcurrentUseError
            When another thread is using the network.
        """
        control = _Control.check(
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
            self.is_classifier,
        )
        with self._guard.training("fit"):
            return self._fit(
                X, T, optimizer, epochs, batch_size, shuffle, validation_data, progress, control
            )

    def _fit(
        self, X, T, optimizer, epochs, batch_size, shuffle, validation_data, progress, control
    ):
        epochs = check_int("epochs", epochs, minimum=1)
        if kernels.first_non_finite(self._theta) >= 0:
            raise ValueError(
                "the network's weights contain NaN or inf (edited by hand?); training cannot "
                "start from them: make a new MLP or load a saved one"
            )
        X = self._inputs(X)
        T = self._targets(T, X.shape[0])
        identity = np.arange(X.shape[0])
        validation = None
        if control.validation_split:
            identity, held_out = self._split(X.shape[0], control.validation_split)
            validation = (X[held_out], T[held_out])
        n_rows = len(identity)
        if batch_size is None:
            batch_size = n_rows
        batch_size = min(check_int("batch_size", batch_size, minimum=1), n_rows)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data must be a tuple (X_val, T_val)")
            X_val = self._inputs(validation_data[0], "validation_data[0]")
            validation = (
                X_val,
                self._targets(validation_data[1], X_val.shape[0], "validation_data[1]"),
            )
        if optimizer is None:
            optimizer = (
                self.optimizer_ if self.optimizer_ is not None else (optimizers_module.SGD(lr=0.01))
            )
        optimizer = optimizers_module.get(optimizer)
        optimizer.bind(self._n_params, self._dtype)
        self.optimizer_ = optimizer
        if control.monitor_needs_validation and validation is None:
            raise ValueError(
                f"early stopping monitors {control.monitor!r}: give validation_data or "
                "validation_split"
            )

        history = History()
        order = identity.copy()
        run = _EpochRunner(self, X, T, batch_size, optimizer, n_rows, control.schedule)
        watch = _EarlyStopping(control, self, optimizer) if control.early_stopping else None
        for epoch in range(1, epochs + 1):
            if control.schedule is not None:
                control.schedule.start_epoch(optimizer)
            _epoch_order(self.rng, identity, order, shuffle)
            bar = _progress_bar(n_rows, epoch, epochs) if progress else None
            started = time.perf_counter()
            try:
                step_losses, correct = run.epoch(order, epoch, bar)
            finally:
                if bar is not None:
                    bar.close()
            seconds = time.perf_counter() - started
            _record_epoch(history, self, step_losses, batch_size, n_rows, correct, validation)
            history.lr.append(float(optimizer.lr))
            if control.schedule is not None:
                control.schedule.end_epoch(history)
            if control.verbose:
                print(_epoch_line(epoch, epochs, history, n_rows / seconds), flush=True)
            stop = watch is not None and watch.update(epoch, history)
            for callback in control.callbacks:
                stop = callback(epoch, history, self) is True or stop
            if stop:
                history.stopped_epoch = epoch
                break
        if watch is not None:
            watch.finish(history)
        return history

    def _split(self, n_rows, fraction):
        """Training and held-out row indices (sorted) for ``validation_split``."""
        held = int(round(fraction * n_rows))
        if held < 1 or held >= n_rows:
            raise ValueError(
                f"validation_split={fraction} of {n_rows} rows holds out {held}; it needs to "
                "leave at least one row on each side"
            )
        # A generator of its own, so that the split neither draws from nor depends
        # on the shuffling generator: the same rows for the same seed and count.
        entropy = [self.seed, 0x5B] if self.seed is not None else None
        rows = np.random.default_rng(np.random.SeedSequence(entropy)).permutation(n_rows)
        return np.sort(rows[held:]), np.sort(rows[:held])

    def partial_fit(
        self,
        X: ArrayLike,
        T: ArrayLike,
        optimizer: Optimizer | str | None = None,
        batch_size: int | None = 1,
        shuffle: bool = True,
        schedule: Schedule | str | None = None,
    ) -> MLP:
        """Train one epoch, keeping the optimizer's state; return ``self``.

        Parameters are as in :meth:`fit`.
        """
        self.fit(
            X,
            T,
            optimizer=optimizer,
            epochs=1,
            batch_size=batch_size,
            shuffle=shuffle,
            schedule=schedule,
        )
        return self

    # ------------------------------------------------------------ persistence

    def __getstate__(self) -> dict[str, Any]:
        # The views in `params` would pickle as copies, and a lock not at all;
        # both are rebuilt instead.
        with self._guard.reading("pickle"):
            state = self.__dict__.copy()
        del state["params"], state["_guard"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.params = self._make_views(self._theta)
        self._guard = _UseGuard()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network to one ``.npz`` file, atomically.

        The file holds the format version, the architecture (sizes, activations,
        output, init, dtype), ``theta``, the shuffling generator's state and the
        optimizer (name, hyper-parameters, step count, state vectors), as plain
        arrays: loading never unpickles anything. The file is written under a
        temporary name and renamed, so a failed save leaves any old file intact.

        Parameters
        ----------
        path : str or path-like
        """
        from fastnn.persistence import save_model

        with self._guard.reading("save"):
            save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MLP:
        """Read a network written by :meth:`save`; predictions are identical.

        Raises
        ------
        ValueError
            If the file is not a fastnn model, is truncated or corrupt, or its
            contents do not fit together.
        """
        from fastnn.persistence import load_model

        return load_model(cls, path)

    # ------------------------------------------------------------ Keras and scikit-learn habits

    def _need_classifier(self, action, instead):
        if not self.is_classifier:
            raise ValueError(
                f"{action} needs a classifier (output 'softmax' or 'sigmoid'); this network's "
                f"output is {self._output!r} (regression): use {instead}"
            )

    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Return the class probabilities of the rows of ``X`` (classifiers only).

        These are the output activations, as :meth:`predict` returns them: for a
        softmax output one probability per class, each row summing to 1; for a
        sigmoid output the probability of each label being 1 (one column for a
        binary classifier, not scikit-learn's two).

        Parameters
        ----------
        X : array-like, shape (n_samples, inputs) or (inputs,)

        Returns
        -------
        ndarray, shape (n_samples, outputs), or (outputs,) for a 1-D sample

        Raises
        ------
        ValueError
            For a regression network (identity output): use :meth:`predict`.
        """
        self._need_classifier("predict_proba", "predict")
        return self.predict(X)

    def predict_classes(self, X: ArrayLike) -> NDArray[np.int64]:
        """Return the predicted class of each row of ``X`` as integers (classifiers only).

        Softmax output: the index of the largest probability, shape
        ``(n_samples,)``. Sigmoid output: 1 where the probability is >= 0.5, else
        0 (the threshold :meth:`accuracy` uses), shape ``(n_samples,)`` for one
        output unit and ``(n_samples, outputs)`` for several independent labels.
        A 1-D sample gives one integer (or one row of labels).

        Parameters
        ----------
        X : array-like, shape (n_samples, inputs) or (inputs,)

        Returns
        -------
        ndarray of int64
            For a 1-D softmax sample (or a 1-D sample of a one-unit sigmoid output),
            a NumPy ``int64`` scalar. The type hint names the batched case, so that
            indexing the result type-checks.

        Raises
        ------
        ValueError
            For a regression network (identity output): use :meth:`predict`.
        """
        self._need_classifier("predict_classes", "predict")
        probabilities = self.predict(X)
        if self._loss_code == codes.SOFTMAX_CE:
            return np.argmax(probabilities, axis=-1).astype(np.int64)[()]
        labels = (probabilities >= 0.5).astype(np.int64)
        return labels[..., 0][()] if self._sizes[-1] == 1 else labels

    def score(self, X: ArrayLike, T: ArrayLike) -> float:
        """Return the accuracy (classifiers) or R² (regression) on ``(X, T)``.

        As scikit-learn's ``score``: :meth:`accuracy` for a softmax or sigmoid
        output; for an identity output the coefficient of determination R²,
        computed as ``sklearn.metrics.r2_score`` does (averaged over the outputs;
        see :func:`fastnn.metrics.r2_score`). Higher is better for both.

        Parameters
        ----------
        X : array-like, shape (n_samples, inputs)
        T : array-like
            As for :meth:`loss`.

        Returns
        -------
        float
        """
        if self.is_classifier:
            return self.accuracy(X, T)
        from fastnn.metrics import r2_score

        with self._guard.reading("score"):
            X = self._inputs(X)
            T = self._targets(T, X.shape[0])
            return r2_score(T, self.predict(X))

    def evaluate(self, X: ArrayLike, T: ArrayLike) -> Evaluation:
        """Return the loss and the accuracy on ``(X, T)`` in one pass over the data.

        Like Keras's ``model.evaluate``, which returns ``[loss, accuracy]``; here a
        named tuple, so both ``loss, acc = net.evaluate(X, T)`` and
        ``net.evaluate(X, T).accuracy`` work.

        Parameters
        ----------
        X : array-like, shape (n_samples, inputs)
        T : array-like
            As for :meth:`loss`.

        Returns
        -------
        fastnn.metrics.Evaluation
            ``(loss, accuracy)``; ``accuracy`` is None for a regression network.
        """
        from fastnn.metrics import Evaluation

        with self._guard.reading("evaluate"):
            X = self._inputs(X)
            loss, accuracy = self._loss_and_correct(X, self._targets(T, X.shape[0]))
        return Evaluation(float(loss), float(accuracy) if self.is_classifier else None)

    def summary(self, print_fn: Callable[[str], object] | None = print) -> str | None:
        """Print a table of the layers, their activations and parameter counts, as Keras does.

        Parameters
        ----------
        print_fn : callable or None, default print
            Called once with the whole table. None prints nothing and returns
            the table instead.

        Returns
        -------
        str or None
            The table when ``print_fn`` is None, else None (so that a notebook
            shows it once).

        Examples
        --------
        >>> MLP([64, 32, 10], seed=0).summary()  # doctest: +SKIP
        MLP: 64 inputs, 2 dense layers, float32, backend 'numba'
        layer    units  activation  weights      biases   parameters
        input       64
        dense 1     32  relu        W1 (64, 32)  b1 (32)       2,080
        dense 2     10  softmax     W2 (32, 10)  b2 (10)         330
        total parameters: 2,410 (9.4 KiB of float32)
        loss: cross-entropy of the softmax output
        """
        if print_fn is not None and not callable(print_fn):
            raise TypeError(f"print_fn must be callable or None, got {type(print_fn).__name__}")
        loss_names = {
            codes.SOFTMAX_CE: "cross-entropy of the softmax output",
            codes.SIGMOID_BCE: "binary cross-entropy of the sigmoid output",
            codes.MSE: "mean squared error of the identity output",
        }
        rows: list[tuple[str, ...]] = [
            ("layer", "units", "activation", "weights", "biases", "parameters")
        ]
        rows.append(("input", f"{self._sizes[0]:,}", "", "", "", ""))
        activations = [*self._hidden, self._output]
        for layer, row in enumerate(self._layout, start=1):
            fan_in, fan_out = int(row[codes.FAN_IN]), int(row[codes.FAN_OUT])
            rows.append(
                (
                    f"dense {layer}",
                    f"{fan_out:,}",
                    activations[layer - 1],
                    f"W{layer} ({fan_in}, {fan_out})",
                    f"b{layer} ({fan_out})",
                    f"{(fan_in + 1) * fan_out:,}",
                )
            )
        if any(self._dropout):  # a column only for networks that drop units
            rates = [f"{rate:g}" if rate else "" for rate in self._dropout]
            rows = [(*rows[0], "dropout"), (*rows[1], "")] + [
                (*row, rate) for row, rate in zip(rows[2:], [*rates, ""], strict=True)
            ]
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        right = (1, 5)  # numbers line up on the right
        lines = [
            f"MLP: {self._sizes[0]} inputs, {len(self._layout)} dense layers, "
            f"{self._dtype.name}, backend {self._backend!r}"
        ]
        for row in rows:
            cells = [
                cell.rjust(width) if column in right else cell.ljust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  ".join(cells).rstrip())
        size = self._n_params * self._dtype.itemsize
        lines.append(
            f"total parameters: {self._n_params:,} ({size / 1024:,.1f} KiB of {self._dtype.name})"
        )
        lines.append(f"loss: {loss_names[self._loss_code]}")
        if self.optimizer_ is not None:
            lines.append(f"optimizer of the last fit: {self.optimizer_!r}")
        text = "\n".join(lines)
        if print_fn is None:
            return text
        print_fn(text)
        return None

    def to_onnx(
        self, path: str | os.PathLike[str] | None = None, *, opset: int | None = None
    ) -> onnx.ModelProto:
        """Export the forward pass as an ONNX model; write it to ``path`` if given.

        Needs the ``onnx`` package (``pip install "fastnn[onnx]"``), imported only
        here. The graph takes ``X`` of shape (batch, inputs) in the network's
        dtype and returns ``Y``, what :meth:`predict` returns. See
        :func:`fastnn.onnx_export.to_onnx` for the details.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Where to write the model (atomically); None only returns it.
        opset : int, optional
            The ONNX operator set (default :data:`fastnn.onnx_export.DEFAULT_OPSET`).

        Returns
        -------
        onnx.ModelProto
        """
        from fastnn.onnx_export import to_onnx

        return to_onnx(self, path, opset=opset)


def _progress_bar(n_rows, epoch, epochs):
    from tqdm.auto import tqdm

    return tqdm(
        total=n_rows,
        desc=f"epoch {epoch}/{epochs}",
        unit="sample",
        unit_scale=True,
        leave=True,
        dynamic_ncols=True,
    )


class _EpochRunner:
    """Runs epochs through the kernels with buffers allocated once per fit."""

    # With a progress bar an epoch runs in about this many kernel calls.
    PROGRESS_UPDATES = 50

    def __init__(self, net, X, T, batch_size, optimizer, n_rows=None, schedule=None):
        self.net, self.X, self.T = net, X, T
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.schedule = schedule
        self.work = _Workspace(net, batch_size)
        n_rows = X.shape[0] if n_rows is None else n_rows  # rows the order visits
        self.n_rows = n_rows
        self.n_steps = n_rows if batch_size == 1 else -(-n_rows // batch_size)
        self.correct = np.zeros(self.n_steps)

    def _prepare(self):
        """Check what the kernels will get, at the one boundary before they run.

        The optimizer's public attributes (state, step count, hyper-parameters)
        may have changed since the last epoch; ``bind`` checks them all.
        """
        net, opt = self.net, self.optimizer
        self.state = opt.bind(net._n_params, net._dtype)
        self.hyper = opt.hyper_vector(net._dtype)
        if self.schedule is not None:
            self.hyper[codes.STEP_DECAY] = self.schedule.step_decay
        if self.batch_size == 1:
            self.kernel = _sample_loop(net, opt.code, self.hyper, self.n_rows).train_epoch

    def _run(self, order, step_losses, correct):
        net, work, opt = self.net, self.work, self.optimizer
        if self.batch_size == 1:
            return self.kernel(
                net._theta,
                net._layout,
                net._loss_code,
                self.X,
                self.T,
                order,
                opt.code,
                self.state,
                self.hyper,
                opt.step_,
                work.grad,
                work.acts,
                work.deltas,
                work.y,
                step_losses,
                correct,
                net._dropout_rates,
                net._dropout_key,
            )
        return net._kernels.train_epoch_batch(
            net._theta,
            net._layout,
            net._loss_code,
            self.X,
            self.T,
            order,
            self.batch_size,
            opt.code,
            self.state,
            self.hyper,
            opt.step_,
            work.grad,
            work.x,
            work.t,
            work.acts,
            work.deltas,
            work.y,
            step_losses,
            correct,
            net._dropout_rates,
            net._dropout_key,
        )

    def epoch(self, order, epoch, bar):
        """Train one epoch in ``order``; return (per-step losses, correct count)."""
        net, opt = self.net, self.optimizer
        self._prepare()
        saved = (net._theta.copy(), self.state.copy(), opt.step_.copy())
        step_losses = np.zeros(self.n_steps)
        self.correct[:] = 0
        if bar is None:
            done = self._run(order, step_losses, self.correct)
        else:
            # Several kernel calls over consecutive slices of the order train
            # exactly as one call does; between them the bar moves.
            chunk = max(1, -(-self.n_steps // self.PROGRESS_UPDATES))
            done = 0
            while done < self.n_steps:
                stop = min(done + chunk, self.n_steps)
                rows = order[done * self.batch_size : stop * self.batch_size]
                ran = self._run(rows, step_losses[done:stop], self.correct[done:stop])
                done += ran
                bar.update(min(len(rows), ran * self.batch_size))
                bar.set_postfix(loss=f"{self.mean_loss(step_losses[:done]):.4g}")
                if done < stop:  # the loss became non-finite inside this slice
                    break
        error = _divergence(epoch, step_losses, done, net._theta, self.state, opt.lr)
        if error is not None:
            self._restore(saved)
            raise error
        return step_losses, float(self.correct.sum())

    def _restore(self, saved):
        self.net._theta[...] = saved[0]
        self.state[...] = saved[1]
        self.optimizer.step_[...] = saved[2]

    def mean_loss(self, step_losses):
        """Mean loss per sample over the first ``len(step_losses)`` steps."""
        return _mean_loss(step_losses, self.batch_size, self.n_rows)


# The per-epoch semantics of ``fit``, shared with :mod:`fastnn.sweep`, which trains
# many networks in one kernel call and must give each exactly what ``fit`` would.


def _epoch_order(rng, identity, order, shuffle):
    """Set ``order`` to this epoch's sample order, drawing from ``rng`` if shuffling.

    Each epoch shuffles 0..n-1 (as rng.permutation(n) would), so that fit(epochs=k)
    and k calls of partial_fit see the same orders; in place, because a fresh array
    per epoch costs page faults worth a sizeable part of a small network's
    per-sample epoch.
    """
    order[...] = identity
    if shuffle:
        rng.shuffle(order)


def _sample_loop(net, opt_code, hyper, n_rows):
    """Return the :class:`fastnn.codegen.SampleLoop` of a per-sample fit of ``n_rows`` rows."""
    return codegen.sample_loop(
        net._kernels,
        net._sizes,
        net._layout,
        net._loss_code,
        net._dtype,
        opt_code,
        hyper,
        specialise=net._specialise,
        backend=net._backend,
        n_rows=n_rows,
        dropout=net._dropout,
    )


def _divergence(epoch, step_losses, done, theta, state, lr):
    """Return the :class:`TrainingDivergedError` of an epoch that went wrong, or None.

    ``done`` is the kernel's count of completed steps (it stops at a non-finite
    loss); ``theta`` and ``state`` are the weights and optimizer state after it.
    """
    n_steps = len(step_losses)
    if done < n_steps:
        loss = step_losses[done]
        return TrainingDivergedError(
            f"the training loss became {loss} at epoch {epoch}, step "
            f"{done + 1}; the weights are those at the end of epoch {epoch - 1}. "
            f"Try a smaller learning rate than lr={lr}.",
            epoch=epoch,
            step=done + 1,
            loss=float(loss),
        )
    # A loss is checked before its update, so the last update of the epoch
    # (or one that overflowed the optimizer state) is checked here.
    theta_bad = kernels.first_non_finite(theta) >= 0
    if theta_bad or kernels.first_non_finite(state) >= 0:
        what = "weights" if theta_bad else "state"
        return TrainingDivergedError(
            f"the {what} became NaN or inf in the updates of epoch {epoch} (the losses "
            f"were still finite); the weights are those at the end of epoch {epoch - 1}. "
            f"Try a smaller learning rate than lr={lr}.",
            epoch=epoch,
            step=n_steps,
            loss=float(step_losses[-1]),
        )
    return None


def _mean_loss(step_losses, batch_size, n_rows):
    """Mean loss per sample over the first ``len(step_losses)`` steps of an epoch."""
    if len(step_losses) == 0:
        return float("nan")
    if batch_size == 1:
        return float(step_losses.mean())
    n_steps = -(-n_rows // batch_size)
    sizes = np.full(len(step_losses), batch_size, dtype=np.float64)
    if len(step_losses) == n_steps:
        sizes[-1] = n_rows - batch_size * (n_steps - 1)
    return float(np.dot(step_losses, sizes) / sizes.sum())


def _record_epoch(history, net, step_losses, batch_size, n_rows, correct, validation):
    """Append a completed epoch to ``history``, with the validation metrics of ``net``.

    ``correct`` counts the training samples classified correctly during the epoch;
    ``validation`` is ``(X_val, T_val)`` as the kernels take them, or None.
    """
    history.step_losses.append(step_losses)
    history.loss.append(_mean_loss(step_losses, batch_size, n_rows))
    if net.is_classifier:
        history.train_acc.append(correct / n_rows)
    if validation is not None:
        val_loss, val_acc = net._loss_and_correct(*validation)
        history.val_loss.append(val_loss)
        if net.is_classifier:
            history.val_acc.append(val_acc)


# ---------------------------------------------------------------- training control

_MONITORS = {"val_loss": "min", "loss": "min", "val_acc": "max", "train_acc": "max"}


@dataclass(frozen=True)
class _Control:
    """The training-control arguments of :meth:`MLP.fit`, checked."""

    validation_split: float
    early_stopping: bool
    patience: int
    min_delta: float
    monitor: str
    restore_best: bool
    callbacks: tuple
    verbose: int
    schedule: object

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
        if not isinstance(monitor, str) or monitor not in _MONITORS:
            raise ValueError(f"monitor must be one of {sorted(_MONITORS)}, got {monitor!r}")
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


class _EarlyStopping:
    """Watches one history figure; keeps the best epoch's weights and optimizer state."""

    def __init__(self, control, net, optimizer):
        self.control, self.net, self.optimizer = control, net, optimizer
        self.lower_is_better = _MONITORS[control.monitor] == "min"
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
                self.saved = (self.net._theta.copy(), opt.state_.copy(), opt.step_.copy())
        else:
            self.waited += 1
        return self.waited > self.control.patience

    def finish(self, history):
        """Record the best epoch; put back its weights if asked to."""
        history.best_epoch = self.best_epoch
        if self.saved is not None:
            theta, state, step = self.saved
            self.net._theta[...] = theta
            self.optimizer.state_[...] = state
            self.optimizer.step_[...] = step


def _epoch_line(epoch, epochs, history, samples_per_second):
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
