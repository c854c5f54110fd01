"""The epochs of one network's fit: data, optimizer, control, history."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastnn import codegen, kernels
from fastnn import optimizers as optimizers_module
from fastnn.network import inference
from fastnn.network.state import NetworkState
from fastnn.training.advice import blas_threads, warn_if_at_chance, warn_if_unscaled
from fastnn.training.control import Callbacks, Control, EarlyStopping, epoch_line, progress_bar
from fastnn.training.engine import EpochRunner, epoch_order, record_epoch, steps_per_epoch
from fastnn.training.history import History
from fastnn.validation import check_int

__all__ = ["attach_history", "fit", "split_rows"]


def fit(
    network: NetworkState,
    X: ArrayLike,
    T: ArrayLike,
    optimizer: Any,
    epochs: int,
    batch_size: int | None,
    shuffle: bool,
    validation_data: Any,
    progress: bool,
    control: Control,
    owner: Any = None,
) -> History:
    """Train ``network`` from its current weights (see :meth:`fastnn.MLP.fit`).

    ``owner`` is what the callbacks receive as their network (the user's
    :class:`fastnn.MLP`); ``network`` itself if None.
    """
    epochs = check_int("epochs", epochs, minimum=1)
    architecture = network.architecture
    if kernels.first_non_finite(network.theta) >= 0:
        raise ValueError(
            "the network's weights contain NaN or inf (edited by hand?); training cannot "
            "start from them: make a new MLP or load a saved one"
        )
    X = architecture.inputs(X)
    T = architecture.targets(T, X.shape[0])
    warn_if_unscaled(X)
    identity = np.arange(X.shape[0])
    validation = None
    if control.validation_split:
        identity, held_out = split_rows(network, X.shape[0], control.validation_split)
        validation = (X[held_out], T[held_out])
    n_rows = len(identity)
    if batch_size is None:
        batch_size = n_rows
    batch_size = min(check_int("batch_size", batch_size, minimum=1), n_rows)
    if validation_data is not None:
        validation = checked_validation_data(network, validation_data)
    if optimizer is None:
        optimizer = network.optimizer or optimizers_module.SGD(lr=0.01)
    optimizer = optimizers_module.get(optimizer)
    optimizer.bind(architecture.n_params, architecture.dtype)
    if control.monitor_needs_validation and validation is None:
        raise ValueError(
            f"early stopping monitors {control.monitor!r}: give validation_data or validation_split"
        )
    schedule = control.resolved_schedule(
        epochs, architecture.dtype, validation is not None, architecture.is_classifier
    )
    network.optimizer = optimizer
    owner = network if owner is None else owner
    callbacks = Callbacks(
        control.callbacks,
        owner,
        {
            "epochs": epochs,
            "verbose": control.verbose,
            "steps": steps_per_epoch(n_rows, batch_size),
        },
    )
    history = History()
    order = identity.copy()
    try:
        # One BLAS thread by default: the same bits everywhere, and no collapse when
        # BLAS threads and other work share the cores (docs/training.md).
        with blas_threads(control.blas_threads):
            run = EpochRunner(network, X, T, batch_size, optimizer, n_rows, schedule, epochs)
            # Compile (or load) what the epochs run before the first one starts its clock,
            # saying so when that is a compile: epoch times and samples/s count training.
            with codegen.CompileWatch(_compile_notice(control.verbose, progress)) as compiling:
                run.compile_ahead(compiling)
                if validation is not None and network.backend == "numba":
                    compiling.run(
                        f"fastnn's validation pass for {architecture.dtype.name}",
                        kernels.predict,
                        lambda: inference.loss_and_correct(
                            network, validation[0][:1], validation[1][:1]
                        ),
                    )
            watch = EarlyStopping(control, network, optimizer) if control.early_stopping else None
            callbacks.train_begin()
            for epoch in range(1, epochs + 1):
                callbacks.epoch_begin(epoch)
                if schedule is not None:
                    schedule.start_epoch(optimizer, architecture.dtype)
                epoch_order(network.rng, identity, order, shuffle)
                bar = progress_bar(n_rows, epoch, epochs) if progress else None
                started = time.perf_counter()
                try:
                    step_losses, correct = run.epoch(order, epoch, bar)
                finally:
                    if bar is not None:
                        bar.close()
                seconds = time.perf_counter() - started
                record_epoch(history, network, step_losses, batch_size, n_rows, correct, validation)
                history.lr.append(float(optimizer.lr))
                if schedule is not None:
                    schedule.end_epoch(history)
                if control.verbose:
                    print(epoch_line(epoch, epochs, history, n_rows / seconds), flush=True)
                stop = watch is not None and watch.update(epoch, history)
                stop = callbacks.epoch_end(epoch, history) or stop
                if stop:
                    history.stopped_epoch = epoch
                    break
            if watch is not None:
                watch.finish(history)
            if history.kept_epoch is None:
                history.kept_epoch = len(history.loss)
            callbacks.train_end(history)
    except BaseException as error:
        # Whatever stops a run (a divergence, a callback's error, Ctrl-C), the
        # epochs that completed are not lost: they travel with the exception.
        attach_history(error, history)
        raise
    warn_if_at_chance(history, architecture, n_rows)
    return history


def attach_history(error: BaseException, history: History) -> None:
    """Set ``error.history`` to the History of the epochs completed before ``error``."""
    with contextlib.suppress(AttributeError, TypeError):
        error.history = history  # type: ignore[attr-defined]


def _compile_notice(verbose: Any, progress: bool) -> Any:
    """Where the "compiling ..." line goes: stdout with ``verbose``, stderr with a bar."""
    if verbose:
        return lambda line: print(line, flush=True)
    if progress:
        return lambda line: print(line, file=sys.stderr, flush=True)
    return None


def checked_validation_data(
    network: NetworkState, validation_data: Any
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Return ``(X_val, T_val)`` checked and cast as the kernels take them."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError("validation_data must be a tuple (X_val, T_val)")
    architecture = network.architecture
    X_val = architecture.inputs(validation_data[0], "validation_data[0]")
    T_val = architecture.targets(validation_data[1], X_val.shape[0], "validation_data[1]")
    return X_val, T_val


def split_rows(
    network: NetworkState, n_rows: int, fraction: float
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Training and held-out row indices (sorted) for ``validation_split``."""
    held = int(round(fraction * n_rows))
    if held < 1 or held >= n_rows:
        raise ValueError(
            f"validation_split={fraction} of {n_rows} rows holds out {held}; it needs to "
            "leave at least one row on each side"
        )
    rows = network.split_rng().permutation(n_rows)
    return np.sort(rows[held:]), np.sort(rows[:held])
