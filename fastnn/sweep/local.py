"""Training a sweep's groups on this machine's cores: one compiled call per epoch of a group.

Between epochs, in Python, each network goes through exactly the bookkeeping of
:meth:`fastnn.MLP.fit` (:mod:`fastnn.training.engine` shares it): its own generator
shuffles its order, the optimizer is checked, a non-finite loss or non-finite weights
roll *that* network back to the start of the epoch and mark it diverged while the
others go on, and its History gets the epoch.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np

from fastnn.kernels.bundles import Group, Member
from fastnn.network.state import BACKENDS, NetworkState
from fastnn.sweep.plan import Data, Outcome, Trial
from fastnn.training.engine import (
    allocate_member,
    divergence,
    epoch_order,
    optimizer_arrays,
    record_epoch,
    sample_loop,
)

__all__ = ["CancelledError", "cores", "run_local", "single_threaded_blas", "train_group"]


def cores() -> int:
    """The threads Numba's parallel loops may use (``NUMBA_NUM_THREADS``: all cores)."""
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


# One parallel kernel call at a time per process (sweeps started from several threads):
# Numba's workqueue threading layer, used where neither TBB nor OpenMP is, must not be
# entered concurrently.
_PARALLEL_CALL_LOCK = threading.Lock()


@contextlib.contextmanager
def _numba_threads(n_threads: int) -> Iterator[None]:
    """Run Numba's parallel loops of this thread on ``n_threads`` threads."""
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n_threads, cores())))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS (mini-batch steps, validation) on one thread while a sweep trains.

    OpenBLAS's products change in the last bits with its number of threads, so a
    network's results would depend on how many BLAS threads it happened to get:
    alone or with others, on this machine or on a Dask worker (Dask starts its
    workers with ``OPENBLAS_NUM_THREADS=1``). With one BLAS thread everywhere, a
    sweep gives the same bits for any ``n_jobs`` and on any cluster, and each
    training thread keeps its core rather than sharing it with BLAS threads.
    Uses threadpoolctl, a dependency of fastnn.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


class CancelledError(Exception):
    """Another part of the sweep failed or was interrupted: stop between epochs."""


def train_group(
    trials: list[Trial],
    data: Data,
    n_threads: int,
    on_done: Callable[[int], object] | None = None,
    cancel: threading.Event | None = None,
    on_outcome: Callable[[Outcome], object] | None = None,
) -> list[Outcome]:
    """Train ``trials`` (one group) to their epochs; return their outcomes.

    Every epoch of the networks in training is one kernel call: the parallel kernel
    over up to ``n_threads`` threads, or, for one network, the very kernel ``fit``
    calls. At most ``n_threads`` networks train at once, each in a *slot* of the
    stacked arrays; a network is made when it takes a slot, and a finished one
    leaves its slot to the next at the following epoch. So a group holds the work
    buffers, orders and step losses of ``n_threads`` networks, however many it
    has. ``on_outcome`` receives each outcome as its network finishes.
    """
    first = trials[0]
    batch = first.batch_size
    assert batch is not None  # plan() resolved full batches to the row count
    architecture = first.architecture
    X, T, validation = data.arrays(architecture)
    n_rows = X.shape[0]
    if batch == 1:
        hyper = first.optimizer.hyper_vector(architecture.dtype)
        loop = sample_loop(_template(first), first.optimizer.code, hyper, n_rows, first.epochs)
        single, many = loop.train_epoch, loop.train_models
    else:
        kernels = BACKENDS[first.backend]
        single, many = kernels.train_epoch_batch, kernels.train_models_batch
    group = Group(architecture.layout, architecture.loss_code, first.optimizer.code, batch, X, T)
    capacity = max(1, min(n_threads, len(trials)))
    # One row of these stacked arrays per slot (kernels.bundles).
    stacked = allocate_member(architecture, batch, n_rows, models=capacity)
    identity = np.arange(n_rows)
    done = np.zeros(capacity, np.int64)

    pending = list(reversed(trials))  # popped from the end: in the group's order
    active: list[Trial] = []
    outcomes: list[Outcome] = []
    while active or pending:
        if cancel is not None and cancel.is_set():
            raise CancelledError
        while pending and len(active) < capacity:
            trial = pending.pop()
            trial.start()
            active.append(trial)
        k = len(active)
        for slot, trial in enumerate(active):
            started = time.perf_counter()
            own = trial.network
            assert own is not None
            epoch_order(own.rng, identity, stacked.order[slot], trial.shuffle)
            state, hyper, step = optimizer_arrays(trial.optimizer, own)
            stacked.state[slot], stacked.hyper[slot], stacked.step[slot] = state, hyper, step
            stacked.theta[slot] = own.theta
            stacked.dropout[slot] = own.architecture.dropout_rates
            stacked.dropout_key[slot] = own.dropout_key
            trial.seconds += time.perf_counter() - started
        stacked.losses[:k] = 0
        stacked.correct[:k] = 0
        started = time.perf_counter()
        if k == 1:
            done[0] = single(group, Member(*(array[0] for array in stacked)))
        else:
            with _PARALLEL_CALL_LOCK, _numba_threads(min(n_threads, k)):
                many(group, Member(*(array[:k] for array in stacked)), done)
        share = (time.perf_counter() - started) / k  # the call's time, shared evenly
        records = []
        for slot, trial in enumerate(active):
            trial.seconds += share
            own, opt = trial.network, trial.optimizer
            assert own is not None
            epoch = len(trial.history.loss) + 1
            # Until here the network's own arrays hold the epoch's start: a network
            # that diverged simply keeps them, as fit's rollback does.
            losses, theta, state = stacked.losses[slot], stacked.theta[slot], stacked.state[slot]
            error = divergence(epoch, losses, done[slot], theta, state, opt.lr)
            if error is not None:
                trial.diverged = (error.epoch, error.step, error.loss, str(error))
                continue
            own.theta[...] = theta
            bound = opt.state_  # the state optimizer_arrays bound (never None here)
            assert bound is not None
            bound[...] = state
            opt.step_[...] = stacked.step[slot]
            own.optimizer = opt
            records.append((trial, losses.copy(), float(stacked.correct[slot].sum())))

        def record(entry: tuple[Trial, Any, float]) -> None:
            trial, step_losses, n_correct = entry
            started = time.perf_counter()
            assert trial.network is not None
            record_epoch(
                trial.history, trial.network, step_losses, batch, n_rows, n_correct, validation
            )
            trial.seconds += time.perf_counter() - started

        if validation is not None and len(records) > 1 and n_threads > 1:
            # The validation passes (compiled, without the GIL) of the networks at once.
            with ThreadPoolExecutor(max_workers=min(n_threads, len(records))) as pool:
                list(pool.map(record, records))
        else:
            for entry in records:
                record(entry)
        still = []
        for trial in active:
            if trial.diverged is None and len(trial.history.loss) < trial.epochs:
                still.append(trial)
                continue
            outcome = trial.outcome()
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
            if on_done is not None:
                on_done(1)
        active = still
    return outcomes


def _template(trial: Trial) -> NetworkState:
    """A network of the trial's kind without weights, to pick its compiled loop."""
    return NetworkState(
        trial.architecture,
        np.zeros(0, trial.architecture.dtype),
        trial.seed,
        np.random.default_rng(0),
        np.zeros(1, np.uint64),
        trial.backend,
        trial.specialise,
    )


def run_local(
    groups: list[list[Trial]], data: Data, n_jobs: int, on_done: Callable[[int], object]
) -> list[Outcome]:
    """Several-network groups one after another on ``n_jobs`` threads; lone ones side by side."""
    outcomes = []
    n_jobs = min(n_jobs, cores())
    lone = [group for group in groups if len(group) == 1]
    for group in groups:
        if len(group) > 1:
            outcomes.extend(train_group(group, data, n_jobs, on_done))
    if n_jobs == 1 or len(lone) <= 1:
        for group in lone:
            outcomes.extend(train_group(group, data, 1, on_done))
        return outcomes
    cancel = threading.Event()
    lock = threading.Lock()

    def locked_on_done(count):
        with lock:
            on_done(count)

    pool = ThreadPoolExecutor(max_workers=min(n_jobs, len(lone)))
    try:
        futures = [
            pool.submit(train_group, group, data, 1, locked_on_done, cancel) for group in lone
        ]
        for future in futures:
            outcomes.extend(future.result())
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return outcomes
