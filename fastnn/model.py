"""The multilayer perceptron users build: a network and its public methods.

:class:`MLP` wraps a :class:`~fastnn.network.NetworkState` (the architecture, one flat
parameter vector, the random streams, the optimizer of the last fit). The work is
done elsewhere: forward passes in :mod:`fastnn.network.inference`, training in
:mod:`fastnn.training`, files in :mod:`fastnn.io`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastnn import training
from fastnn.errors import ConcurrentUseError, TrainingDivergedError
from fastnn.kernels import codes
from fastnn.network import inference
from fastnn.network.base import NetworkModel
from fastnn.streaming.events import EventPath
from fastnn.training import History
from fastnn.validation import is_finite_number

if TYPE_CHECKING:
    from fastnn.metrics import Evaluation
    from fastnn.optimizers import Optimizer
    from fastnn.schedules import Schedule

__all__ = ["MLP", "History", "TrainingDivergedError", "ConcurrentUseError"]


class MLP(NetworkModel):
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
        Per-sample fits (``batch_size=1``) can run a loop generated and compiled
        for this network's widths (up to several times faster per sample;
        compiled once per layout, dtype and optimizer, a few seconds, then cached
        on disk). True always uses it, False never, "auto" when the fit's
        samples (rows times epochs of one call) reach the layout's break-even,
        where the time saved pays for the compile
        (``fastnn.codegen.break_even_samples``). Both loops compute the same
        formulas; results agree to float rounding.
    dropout : float or sequence of float, default 0.0
        Dropout rate of the hidden layers' outputs, one for all or one per hidden
        layer, each in [0, 1). Inverted dropout, during training only; the masks
        come from a key derived from ``seed`` and the optimizer's step count, the
        same on both backends. Per-sample fits with dropout run the generic loop.

    Notes
    -----
    Thread safety: any number of threads may call ``predict``, ``loss``,
    ``accuracy`` or ``save`` at once; ``fit`` and ``partial_fit`` need the
    network to themselves. A call that conflicts with one running in another
    thread raises :class:`ConcurrentUseError` at once.
    """

    # ------------------------------------------------------------ inference

    def _data(self, X: ArrayLike, T: ArrayLike) -> tuple[NDArray[Any], NDArray[Any]]:
        X = self._state.architecture.inputs(X)
        return X, self._state.architecture.targets(T, X.shape[0])

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
            matrix = self._state.architecture.inputs(X)  # first: it names a ragged or bad X
            single = np.ndim(X) == 1 and self.sizes[0] > 1
            out = inference.predict(self._state, matrix)
            return out[0] if single else out

    def loss(self, X: ArrayLike, T: ArrayLike) -> float:
        """Return the mean loss over the rows of ``(X, T)`` (docs/design.md, section 3).

        ``T`` may be one-hot rows or integer labels for a softmax output.
        """
        with self._guard.reading("loss"):
            return inference.loss_and_correct(self._state, *self._data(X, T))[0]

    def accuracy(self, X: ArrayLike, T: ArrayLike) -> float:
        """Return the fraction of rows classified correctly (classifiers only)."""
        if not self.is_classifier:
            raise ValueError("accuracy needs a classifier (output 'softmax' or 'sigmoid')")
        with self._guard.reading("accuracy"):
            return inference.loss_and_correct(self._state, *self._data(X, T))[1]

    def gradient(self, X: ArrayLike, T: ArrayLike) -> dict[str, NDArray[np.floating[Any]]]:
        """Return the gradient of :meth:`loss` by backpropagation, shaped like ``params``."""
        with self._guard.reading("gradient"):
            grad = inference.gradient(self._state, *self._data(X, T))
            return self._state.architecture.views(grad)

    def numerical_gradient(
        self, X: ArrayLike, T: ArrayLike, h: float = 1e-4
    ) -> dict[str, NDArray[np.floating[Any]]]:
        """Return the gradient of :meth:`loss` by central differences, like ``params``.

        Slow by design (two losses per parameter): it checks :meth:`gradient`.
        ``h`` is the step, a positive finite number.
        """
        if isinstance(h, bool) or not isinstance(h, numbers.Real):
            raise TypeError(f"h must be a positive number, got {h!r}")
        if not is_finite_number(h) or h <= 0:
            raise ValueError(f"h must be a positive finite number, got {h!r}")
        with self._guard.training("numerical_gradient"):  # it nudges the weights
            grad = inference.numerical_gradient(self._state, *self._data(X, T), h)
            return self._state.architecture.views(grad)

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
        blas_threads: int | None = 1,
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
        callbacks : sequence, optional
            Functions ``callback(epoch, history, net)`` called after every epoch
            (``epoch`` from 1): True (or a NumPy true) stops training, None or False
            goes on, anything else is a TypeError; and Keras-style objects with
            ``on_epoch_end`` (see docs/training.md).
        verbose : int, default 0
            1 prints one line per epoch as it ends: loss, accuracy, validation
            figures, learning rate and samples/s.
        schedule : fastnn.schedules.Schedule or str, optional
            Sets the learning rate per epoch (or per step); see
            :mod:`fastnn.schedules`. Pass the same object to every call of one
            training run.
        blas_threads : int or None, default 1
            BLAS threads for mini-batch products during this fit; None leaves
            BLAS's own setting. One thread gives the same bits on every machine and
            in a sweep, and does not collapse on a busy machine (docs/training.md).

        Returns
        -------
        History

        Raises
        ------
        TrainingDivergedError
            When the loss or the weights become NaN or inf; the weights and
            optimizer state are those at the end of the last complete epoch.
            Whatever stops a fit, ``error.history`` holds its completed epochs.
        ConcurrentUseError
            When another thread is using the network.
        """
        control = training.Control.check(
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
            blas_threads,
        )
        with self._guard.training("fit"):
            return training.fit(
                self._state,
                X,
                T,
                optimizer,
                epochs,
                batch_size,
                shuffle,
                validation_data,
                progress,
                control,
                owner=self,
            )

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
            X, T, optimizer=optimizer, batch_size=batch_size, shuffle=shuffle, schedule=schedule
        )
        return self

    # ------------------------------------------------------------ one event at a time

    _event_path: EventPath | None = None

    def event_path(self) -> EventPath:
        """The per-event fast path (internal API of :mod:`fastnn.streaming`), made once."""
        path, state = self._event_path, self._state
        if (
            path is None
            or path.state is not state
            or path.backend != state.backend
            or path.specialise != state.specialise
        ):
            path = self._event_path = EventPath(state, self._guard)
        return path

    def learn_one(self, x: ArrayLike, y: Any, optimizer: Optimizer | None = None) -> None:
        """Learn from one row: one per-sample step, a one-row ``fit`` (docs/streaming.md).

        Over rows, the weights of ``fit(X, y, batch_size=1, shuffle=False)`` bit for
        bit, when that fit runs the same loop (always with ``specialise`` True or
        False; "auto" switches fits whose rows times epochs reach the layout's
        break-even, ``fastnn.codegen.break_even_samples``, to the generated loop,
        equal to float rounding). ``y``: a class
        label or one-hot row (softmax), values in [0, 1] (sigmoid), values
        (identity). ``optimizer``: an optimizer object, else ``optimizer_``, else
        ``SGD(lr=0.01)``; bound once, checked again only when it changes.
        """
        self.event_path().learn_one(x, y, optimizer)

    def predict_one(self, x: ArrayLike) -> NDArray[np.floating[Any]]:
        """Return the output activations of one row, shape ``(outputs,)``, as :meth:`predict`."""
        return self.event_path().predict_one(x)

    def predict_proba_one(self, x: ArrayLike) -> NDArray[np.floating[Any]]:
        """Return the class probabilities of one row (classifiers only), like ``predict_proba``."""
        self._need_classifier("predict_proba_one")
        return self.event_path().predict_one(x, "predict_proba_one")

    def predict_class_one(self, x: ArrayLike) -> int | NDArray[np.int64]:
        """Return the class of one row, like ``predict_classes``: an int, or a row of labels."""
        self._need_classifier("predict_class_one")
        return self.event_path().predict_class_one(x)

    # ------------------------------------------------------------ Keras and scikit-learn habits

    def _need_classifier(self, action: str) -> None:
        if not self.is_classifier:
            raise ValueError(
                f"{action} needs a classifier (output 'softmax' or 'sigmoid'); this network's "
                f"output is {self.output!r} (regression): use predict"
            )

    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating[Any]]:
        """Return the class probabilities of the rows of ``X`` (classifiers only).

        The output activations, as :meth:`predict` returns them: for a softmax
        output one probability per class; for a sigmoid output the probability of
        each label being 1 (one column for a binary classifier, not scikit-learn's
        two). A regression network raises ValueError.
        """
        self._need_classifier("predict_proba")
        return self.predict(X)

    def predict_classes(self, X: ArrayLike) -> NDArray[np.int64]:
        """Return the predicted class of each row of ``X`` as integers (classifiers only).

        Softmax output: the index of the largest probability, shape ``(n_samples,)``.
        Sigmoid output: 1 where the probability is >= 0.5, else 0 (the threshold
        :meth:`accuracy` uses), shape ``(n_samples,)`` for one output unit and
        ``(n_samples, outputs)`` for several labels. A 1-D sample gives one integer
        (a NumPy ``int64`` scalar) or one row of labels. A regression network raises
        ValueError.
        """
        self._need_classifier("predict_classes")
        probabilities = self.predict(X)
        if self.loss_code == codes.SOFTMAX_CE:
            return np.argmax(probabilities, axis=-1).astype(np.int64)[()]
        labels = (probabilities >= 0.5).astype(np.int64)
        return labels[..., 0][()] if self.sizes[-1] == 1 else labels

    def score(self, X: ArrayLike, T: ArrayLike) -> float:
        """Return the accuracy (classifiers) or R² (regression) on ``(X, T)``.

        As scikit-learn's ``score``: :meth:`accuracy` for a softmax or sigmoid
        output, else R² as ``sklearn.metrics.r2_score`` computes it (averaged over
        the outputs; :func:`fastnn.metrics.r2_score`).
        """
        if self.is_classifier:
            return self.accuracy(X, T)
        from fastnn.metrics import r2_score

        with self._guard.reading("score"):
            X, T = self._data(X, T)
            return r2_score(T, inference.predict(self._state, X))

    def evaluate(self, X: ArrayLike, T: ArrayLike) -> Evaluation:
        """Return ``(loss, accuracy)`` on ``(X, T)`` in one pass, as Keras's ``evaluate``.

        A named tuple (:class:`fastnn.metrics.Evaluation`): ``loss, acc =
        net.evaluate(X, T)`` or ``net.evaluate(X, T).accuracy``; ``accuracy`` is None
        for a regression network.
        """
        from fastnn.metrics import Evaluation

        with self._guard.reading("evaluate"):
            loss, accuracy = inference.loss_and_correct(self._state, *self._data(X, T))
        return Evaluation(float(loss), float(accuracy) if self.is_classifier else None)
