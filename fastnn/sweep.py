"""Many models at once: a sweep of configurations, on the cores of one machine or on Dask.

:func:`sweep` trains a list of configurations (``MLP`` arguments, an optimizer with
its hyper-parameters, a batch size, a number of epochs) on one data set and returns a
:class:`SweepResults`. How the work is divided:

- Configurations that can share a compiled loop (same layer widths, activations,
  output, dtype, batch size, optimizer kind, and the same per-sample loop, generic
  or generated for the layout) form a *group*. Each epoch of a group is one call of
  a parallel kernel (:mod:`fastnn.kernels.parallel`, or the generated module's
  ``train_models``): ``numba.prange`` over the networks, each thread owning its
  network's weights, optimizer state, sample order and work buffers. The data are
  shared, read-only; nothing is written by two threads.
- Between epochs, in Python, each network goes through exactly the bookkeeping of
  :meth:`MLP.fit` (:mod:`fastnn.model` shares it): its own generator shuffles its
  order, the optimizer is checked, a non-finite loss or non-finite weights roll
  *that* network back to the start of the epoch and mark it diverged while the
  others go on, and its :class:`~fastnn.History` gets the epoch. So every network
  ends bit for bit where ``MLP(**config).fit(X, T, ...)`` would have ended.
- Groups of several networks run one after another, each on up to ``n_jobs``
  threads; lone networks run side by side, one thread each.
- With ``client=`` (Dask), the data are scattered to every worker once, each group
  is cut into about one task per worker (at most ``TASK_THREAD_MULTIPLE`` networks
  per worker thread), and each task runs the same code on its worker's threads. A
  task holds only its own networks, so when a worker dies the scheduler runs its
  task again elsewhere from the same starting networks: nothing is lost or counted
  twice, and the results equal a local run.

Dask is imported only when ``client`` is given (``pip install fastnn[dask]``).
"""

from __future__ import annotations

import contextlib
import copy
import csv
import difflib
import inspect
import io
import itertools
import logging
import numbers
import os
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

import numba
import numpy as np
from numpy.typing import ArrayLike

from fastnn import optimizers as optimizers_module
from fastnn.kernels.codes import HYPER_SIZE, STATE_ROWS
from fastnn.model import (
    MLP,
    History,
    TrainingDivergedError,
    _divergence,
    _epoch_order,
    _record_epoch,
    _sample_loop,
    _Workspace,
)
from fastnn.validation import check_int

if TYPE_CHECKING:
    from distributed import Client
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["sweep", "expand_grid", "SweepResults", "SweepResult", "METRICS"]

#: Keys of a configuration that are :class:`MLP` arguments.
MLP_KEYS = (
    "sizes",
    "hidden",
    "output",
    "init",
    "dtype",
    "seed",
    "backend",
    "specialise",
    "dropout",
)
#: Keys of a configuration that are :meth:`MLP.fit` arguments.
FIT_KEYS = ("optimizer", "batch_size", "epochs", "shuffle")
#: Every hyper-parameter some optimizer takes (``lr``, ``momentum``, ``betas``, ...).
HYPER_KEYS = tuple(
    dict.fromkeys(
        name
        for cls in optimizers_module._REGISTRY.values()
        for name in inspect.signature(cls.__init__).parameters
        if name != "self"
    )
)
KEYS = ("name", *MLP_KEYS, *FIT_KEYS, *HYPER_KEYS)

#: Metrics of :meth:`SweepResults.best`: True where larger is better.
METRICS = {"loss": False, "val_loss": False, "train_acc": True, "val_acc": True}

#: How often a Dask task that raised is tried again. (A task on a worker that died
#: is always run again elsewhere: that is the scheduler's job, not a retry.)
DASK_RETRIES = 2
#: A Dask task trains at most this many networks per thread of its worker.
TASK_THREAD_MULTIPLE = 4
#: Seconds to wait for a Dask scheduler to answer, and for its cluster to have a worker.
DASK_CONNECT_TIMEOUT = 30
DASK_WORKER_TIMEOUT = 60

# One sweep task at a time per worker process: it uses all the worker's threads itself.
_TASK_LOCK = threading.Lock()
# One parallel kernel call at a time per process (sweeps started from several threads):
# Numba's workqueue threading layer, used where neither TBB nor OpenMP is, must not be
# entered concurrently.
_PARALLEL_CALL_LOCK = threading.Lock()


# ------------------------------------------------------------------ configurations


def expand_grid(grid: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every combination of a dict of lists, like scikit-learn's ``ParameterGrid``.

    Parameters
    ----------
    grid : dict
        Configuration keys to a **list** of choices; any other value (a string, a
        number, a tuple) is one fixed choice. ``sizes`` choices are lists of widths:
        ``{"sizes": [[784, 40, 10], [784, 100, 10]], "lr": [0.01, 0.1]}``.

    Returns
    -------
    list of dict
        One configuration per combination; the last key varies fastest.
    """
    if not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict of lists, got {type(grid).__name__}")
    choices = []
    for key, value in grid.items():
        if not isinstance(value, list):
            value = [value]
        elif not value:
            raise ValueError(f"configs[{key!r}] is an empty list of choices; give at least one")
        elif key == "sizes" and all(isinstance(item, numbers.Integral) for item in value):
            raise ValueError(
                f"configs['sizes'] is {value!r}: in a grid, each key holds a list of choices, "
                f"so one layout is written [{value!r}]"
            )
        choices.append(value)
    return [
        dict(zip(grid, combination, strict=True)) for combination in itertools.product(*choices)
    ]


def _as_config_list(configs):
    if isinstance(configs, dict):
        configs = expand_grid(configs)
    elif isinstance(configs, (list, tuple)):
        configs = list(configs)
    else:
        raise TypeError(
            f"configs must be a list of dicts (one per configuration) or a dict of lists (a "
            f"grid), got {type(configs).__name__}"
        )
    if not configs:
        raise ValueError("configs is empty: give at least one configuration")
    for index, config in enumerate(configs):
        if not isinstance(config, dict):
            raise TypeError(
                f"configs[{index}] must be a dict of MLP and fit arguments, got "
                f"{type(config).__name__}"
            )
    return configs


#: How a network's training diverged: (epoch, step, loss, message), as the
#: :class:`TrainingDivergedError` that ``fit`` would have raised says it.
_Divergence = tuple[int, int, float, str]


@dataclass
class _Member:
    """One configuration, ready to train: its network, optimizer and fit arguments."""

    index: int
    net: MLP
    optimizer: optimizers_module.Optimizer
    epochs: int
    batch_size: int | None  # None (full batch) until _plan knows the row count
    shuffle: bool
    history: History = field(default_factory=History)
    diverged: _Divergence | None = None
    seconds: float = 0.0

    def outcome(self):
        return _Outcome(self.index, self.net, self.history, self.diverged, self.seconds)


@dataclass
class _Outcome:
    """What a worker sends back for one configuration."""

    index: int
    net: MLP
    history: History
    diverged: _Divergence | None
    seconds: float


def _build_optimizer(config):
    name = config.get("optimizer", "sgd")
    hyper = {key: config[key] for key in HYPER_KEYS if key in config}
    if isinstance(name, optimizers_module.Optimizer):
        if hyper:
            raise TypeError(
                f"hyper-parameters {sorted(hyper)} given with an optimizer object "
                f"({name!r}); give the optimizer by name, or set them on the object"
            )
        # A copy: configurations never share optimizer state, and the caller's
        # object is left as it was.
        return copy.deepcopy(name)
    default = optimizers_module.get(name)
    accepted = [key for key in inspect.signature(type(default).__init__).parameters][1:]
    for key in hyper:
        if key not in accepted:
            raise ValueError(
                f"{key!r} is not a hyper-parameter of {type(default).__name__} (it takes "
                f"{', '.join(accepted)})"
            )
    return optimizers_module.get(name, **hyper)


def _member(index, config, defaults):
    unknown = [key for key in config if key not in KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), KEYS, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown key {unknown[0]!r}{hint}; a configuration takes {', '.join(MLP_KEYS)} "
            f"(MLP), {', '.join(FIT_KEYS)} (fit), the optimizer's hyper-parameters "
            f"({', '.join(HYPER_KEYS)}) and a display 'name'"
        )
    if "sizes" not in config:
        raise ValueError("missing 'sizes', the layer widths (e.g. [784, 40, 10])")
    if "name" in config and not isinstance(config["name"], str):
        raise TypeError(f"'name' must be a string, got {config['name']!r}")
    mlp_args = {key: config[key] for key in MLP_KEYS if key in config}
    mlp_args.setdefault("seed", defaults["seed"])
    net = MLP(**mlp_args)
    optimizer = _build_optimizer(config)
    optimizer.bind(net.n_params, net.dtype)  # checks the hyper-parameters in net's dtype
    net.optimizer_ = optimizer  # as fit sets it, before its first epoch
    epochs = check_int("epochs", config.get("epochs", defaults["epochs"]), minimum=1)
    batch_size = config.get("batch_size", defaults["batch_size"])
    if batch_size is not None:  # None: full batch, resolved once the data are cast
        batch_size = check_int("batch_size", batch_size, minimum=1)
    shuffle = config.get("shuffle", defaults["shuffle"])
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
    return _Member(index, net, optimizer, epochs, batch_size, bool(shuffle))


class _Data:
    """The training (and validation) arrays, cast once per dtype and target encoding.

    ``MLP`` takes integer labels or one-hot rows, float32 or float64; a sweep may mix
    networks of both dtypes or widths. Each form is made once and shared by every
    network that uses it (the kernels only read it).
    """

    def __init__(self):
        self.inputs = {}
        self.targets = {}
        self.has_validation = False

    def add(self, net, X, T, validation_data):
        dtype = net.dtype.name
        target_key = (dtype, net.sizes[-1], net.loss_code)
        for prefix, inputs, targets in (("", X, T), ("val", *(validation_data or (None, None)))):
            if inputs is None:
                continue
            names = ("X", "T") if not prefix else ("validation_data[0]", "validation_data[1]")
            if (prefix, dtype) not in self.inputs:
                self.inputs[prefix, dtype] = net._inputs(inputs, names[0])
            else:
                # Same dtype: only the width can differ, and the check is free.
                _check_width(names[0], self.inputs[prefix, dtype], net.sizes[0])
            if (prefix, *target_key) not in self.targets:
                n_rows = self.inputs[prefix, dtype].shape[0]
                self.targets[(prefix, *target_key)] = net._targets(targets, n_rows, names[1])
        self.has_validation = validation_data is not None

    def arrays(self, net):
        """Return ``(X, T, validation)`` for ``net``, as ``fit`` would have cast them."""
        dtype = net.dtype.name
        target_key = (dtype, net.sizes[-1], net.loss_code)
        X, T = self.inputs["", dtype], self.targets[("", *target_key)]
        validation = None
        if self.has_validation:
            validation = (self.inputs["val", dtype], self.targets[("val", *target_key)])
        return X, T, validation


def _check_width(name, array, n_inputs):
    if array.shape[1] != n_inputs:
        raise ValueError(
            f"{name} has {array.shape[1]} columns (shape {array.shape}), the network needs "
            f"{n_inputs}"
        )


def _group_key(member, n_rows):
    """What networks must share to train in one kernel call."""
    net, opt = member.net, member.optimizer
    spec = None
    if member.batch_size == 1:
        spec = _sample_loop(net, opt.code, opt.hyper_vector(net.dtype), n_rows).spec
    return (
        net.backend,
        net.layout.tobytes(),
        net.loss_code,
        net.dtype.name,
        member.batch_size,
        opt.code,
        spec,
    )


def _plan(X, T, configs, validation_data, defaults):
    """Check every configuration and the data before any training; group the networks.

    Returns ``(members, groups, data)``; ``groups`` is a list of lists of members.
    """
    if validation_data is not None and (
        not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2
    ):
        raise TypeError("validation_data must be a tuple (X_val, T_val)")
    data = _Data()
    members = []
    groups = {}
    for index, config in enumerate(configs):
        try:
            member = _member(index, config, defaults)
            data.add(member.net, X, T, validation_data)
        except (TypeError, ValueError) as error:
            raise type(error)(f"configs[{index}]: {error}") from None
        n_rows = data.arrays(member.net)[0].shape[0]
        member.batch_size = min(member.batch_size or n_rows, n_rows)
        members.append(member)
        groups.setdefault(_group_key(member, n_rows), []).append(member)
    return members, list(groups.values()), data


# ------------------------------------------------------------------ training


@contextlib.contextmanager
def _numba_threads(n_threads):
    """Run Numba's parallel loops of this thread on ``n_threads`` threads."""
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@contextlib.contextmanager
def _single_threaded_blas():
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


class _CancelledError(Exception):
    """Another part of the sweep failed or was interrupted: stop between epochs."""


def _train_group(members, data, n_threads, on_done=None, cancel=None):
    """Train ``members`` (one group) to their epochs; return their outcomes.

    Every epoch of the networks still training is one kernel call: the parallel
    kernel over up to ``n_threads`` threads, or, for one network, the very kernel
    ``fit`` calls.
    """
    started = time.perf_counter()
    first = members[0]
    net, batch = first.net, first.batch_size
    X, T, validation = data.arrays(net)
    n_rows, dtype, n_params = X.shape[0], net.dtype, net.n_params
    n_steps = n_rows if batch == 1 else -(-n_rows // batch)
    count = len(members)

    if batch == 1:
        hyper = first.optimizer.hyper_vector(dtype)
        loop = _sample_loop(net, first.optimizer.code, hyper, n_rows)
        single, many = loop.train_epoch, loop.train_models
    else:
        single, many = net._kernels.train_epoch_batch, net._kernels.train_models_batch

    work = _Workspace(net, batch)
    buffers = ("grad", "acts", "deltas", "y")
    buffers = buffers if batch == 1 else ("grad", "x", "t", "acts", "deltas", "y")
    stacked = {name: np.zeros((count, *getattr(work, name).shape), dtype) for name in buffers}
    thetas = np.empty((count, n_params), dtype)
    states = np.empty((count, STATE_ROWS, n_params), dtype)
    hypers = np.zeros((count, HYPER_SIZE), dtype)
    steps = np.empty((count, 1), np.int64)
    identity = np.arange(n_rows)
    orders = np.empty((count, n_rows), identity.dtype)
    losses = np.zeros((count, n_steps))
    correct = np.zeros((count, n_steps))
    done = np.zeros(count, np.int64)
    dropouts = np.empty((count, len(net._dropout_rates)), np.float64)
    dropout_keys = np.empty((count, 1), np.uint64)

    active = list(members)
    epoch = 0
    while active:
        if cancel is not None and cancel.is_set():
            raise _CancelledError
        epoch += 1
        k = len(active)
        for slot, member in enumerate(active):
            opt = member.optimizer
            _epoch_order(member.net.rng, identity, orders[slot], member.shuffle)
            states[slot] = opt.bind(n_params, dtype)
            hypers[slot] = opt.hyper_vector(dtype)
            thetas[slot] = member.net._theta
            steps[slot] = opt.step_
            dropouts[slot] = member.net._dropout_rates
            dropout_keys[slot] = member.net._dropout_key
        losses[:k] = 0
        correct[:k] = 0
        arrays = [thetas, orders, states, hypers, steps, *stacked.values(), losses, correct]
        arrays += [dropouts, dropout_keys]
        if k == 1:
            done[0] = _call(single, net, batch, first.optimizer.code, X, T, [a[0] for a in arrays])
        else:
            with _PARALLEL_CALL_LOCK, _numba_threads(min(n_threads, k)):
                _call(many, net, batch, first.optimizer.code, X, T, [a[:k] for a in arrays], done)
        records = []
        for slot, member in enumerate(active):
            net_m, opt = member.net, member.optimizer
            # Until here the network's own arrays hold the epoch's start: a network
            # that diverged simply keeps them, as fit's rollback does.
            error = _divergence(epoch, losses[slot], done[slot], thetas[slot], states[slot], opt.lr)
            if error is not None:
                member.diverged = (error.epoch, error.step, error.loss, str(error))
                continue
            net_m._theta[...] = thetas[slot]
            opt.state_[...] = states[slot]
            opt.step_[...] = steps[slot]
            net_m.optimizer_ = opt
            records.append((member, losses[slot].copy(), float(correct[slot].sum())))

        def record(entry):
            member, step_losses, n_correct = entry
            _record_epoch(
                member.history, member.net, step_losses, batch, n_rows, n_correct, validation
            )

        if validation is not None and len(records) > 1 and n_threads > 1:
            # The validation passes (compiled, without the GIL) of the networks at once.
            with ThreadPoolExecutor(max_workers=min(n_threads, len(records))) as pool:
                list(pool.map(record, records))
        else:
            for entry in records:
                record(entry)
        still = []
        for member in active:
            if member.diverged is None and epoch < member.epochs:
                still.append(member)
            else:
                member.seconds = time.perf_counter() - started
                if on_done is not None:
                    on_done(1)
        active = still
    return [member.outcome() for member in members]


def _call(kernel, net, batch, opt_code, X, T, arrays, done=None):
    """Call a single-network kernel (``done`` None) or its many-network twin."""
    thetas, orders, states, hypers, steps, *buffers, losses, correct, dropouts, keys = arrays
    head = (thetas, net._layout, net.loss_code, X, T, orders)
    if batch == 1:
        grads, acts, deltas, ys = buffers
        tail = (opt_code, states, hypers, steps, grads, acts, deltas, ys, losses, correct)
    else:
        grads, xs, ts, acts, deltas, ys = buffers
        tail = (batch, opt_code, states, hypers, steps, grads, xs, ts, acts, deltas, ys)
        tail = (*tail, losses, correct)
    if done is None:
        return kernel(*head, *tail, dropouts, keys)
    kernel(*head, *tail, done, dropouts, keys)
    return done


def _run_local(groups, data, n_jobs, on_done):
    """Several-network groups one after another on ``n_jobs`` threads; lone ones side by side."""
    outcomes = []
    n_jobs = min(n_jobs, numba.config.NUMBA_NUM_THREADS)
    lone = [group for group in groups if len(group) == 1]
    for group in groups:
        if len(group) > 1:
            outcomes.extend(_train_group(group, data, n_jobs, on_done))
    if n_jobs == 1 or len(lone) <= 1:
        for group in lone:
            outcomes.extend(_train_group(group, data, 1, on_done))
        return outcomes
    cancel = threading.Event()
    lock = threading.Lock()

    def locked_on_done(count):
        with lock:
            on_done(count)

    pool = ThreadPoolExecutor(max_workers=min(n_jobs, len(lone)))
    try:
        futures = [
            pool.submit(_train_group, group, data, 1, locked_on_done, cancel) for group in lone
        ]
        for future in futures:
            outcomes.extend(future.result())
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return outcomes


# ------------------------------------------------------------------ Dask


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "client= needs Dask's distributed scheduler: pip install 'fastnn[dask]' "
            "(or pip install 'dask[distributed]')"
        ) from None
    return distributed


def _connect(client, n_jobs, stack):
    """Return the Client to use; what the sweep opened is closed by ``stack``."""
    distributed = _import_distributed()
    if isinstance(client, distributed.Client):
        return client
    if client == "local":
        cluster = stack.enter_context(
            distributed.LocalCluster(
                n_workers=n_jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: never clashes with another cluster
                silence_logs=logging.ERROR,
            )
        )
        return stack.enter_context(distributed.Client(cluster))
    try:
        connected = distributed.Client(client, timeout=DASK_CONNECT_TIMEOUT)
    except OSError as error:
        raise OSError(f"client={client!r}: cannot reach a Dask scheduler there ({error})") from None
    return stack.enter_context(connected)


def _check_client(client):
    if client is None:
        return
    if isinstance(client, str) and not client:
        raise ValueError("client must be a dask.distributed.Client, 'local' or an address, got ''")
    distributed = _import_distributed()
    if not isinstance(client, (str, distributed.Client)):
        raise TypeError(
            f"client must be None, a dask.distributed.Client, 'local' or a scheduler address, "
            f"got {type(client).__name__}"
        )


def _train_task(members, data, n_threads):
    """One Dask task: train a slice of a group on this worker's threads."""
    # The task's arguments may be the very objects of an earlier attempt on this
    # worker; train copies so that a retry starts from the same networks.
    members = copy.deepcopy(members)
    with _TASK_LOCK, _single_threaded_blas():
        return _train_group(members, data, n_threads)


def _workers(client):
    """Return ``(worker addresses, fewest threads of a worker)``, once there is one."""
    try:
        client.wait_for_workers(1, timeout=DASK_WORKER_TIMEOUT)
    except TimeoutError:
        raise TimeoutError(
            f"the Dask cluster at {client.scheduler.address} has no worker after "
            f"{DASK_WORKER_TIMEOUT} s; start some (dask worker ADDRESS)"
        ) from None
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return list(workers), max(1, min(info["nthreads"] for info in workers.values()))


def _scatter_directly(client, workers):
    """Whether to send the data straight to the workers rather than through the scheduler.

    Straight is one network hop instead of two (measured: 0.04 s instead of 0.10 s for
    63 MB to two local workers), but needs the workers reachable from here. The
    client's own ``direct_to_workers`` decides if set; else workers on this host's
    loopback address certainly are.
    """
    if client.direct_to_workers is not None:
        return bool(client.direct_to_workers)
    hosts = {urllib.parse.urlparse(address).hostname for address in workers}
    return hosts <= {"127.0.0.1", "localhost", "::1"}


def _networks_per_task(group_size, n_workers, threads):
    """Cut a group into about one task per worker, of at most a few networks per thread.

    Few, large tasks keep the round trips few; the cap bounds the work a dying
    worker takes with it (its task is trained again from the start elsewhere).
    """
    per_worker = -(-group_size // n_workers)
    return max(1, min(per_worker, TASK_THREAD_MULTIPLE * threads))


def _run_dask(groups, data, client, on_done):
    distributed = _import_distributed()
    workers, threads = _workers(client)
    direct = _scatter_directly(client, workers)
    data_future = client.scatter(data, broadcast=True, hash=False, direct=direct)
    futures = []
    try:
        token = uuid.uuid4().hex[:12]
        for number, group in enumerate(groups):
            per_task = _networks_per_task(len(group), len(workers), threads)
            for start in range(0, len(group), per_task):
                futures.append(
                    client.submit(
                        _train_task,
                        group[start : start + per_task],
                        data_future,
                        threads,
                        key=f"fastnn-sweep-{token}-{number}-{start}",
                        retries=DASK_RETRIES,
                        pure=False,
                    )
                )
        outcomes = []
        for future in distributed.as_completed(futures):
            # Results come the same way as the data went: straight when possible.
            task_outcomes = client.gather(future, direct=direct)
            outcomes.extend(task_outcomes)
            on_done(len(task_outcomes))
        return outcomes
    finally:
        # Release the data and anything still running (after an error or Ctrl-C)
        # on a cluster that outlives the sweep.
        with contextlib.suppress(Exception):
            client.cancel([*futures, data_future])


# ------------------------------------------------------------------ the sweep


def _check_n_jobs(n_jobs):
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be an integer (-1 for all cores), got {n_jobs!r}")
    if n_jobs == 0:
        raise ValueError("n_jobs must be -1 (all cores), -2 (all but one, ...) or >= 1, got 0")
    cores = numba.config.NUMBA_NUM_THREADS
    if n_jobs < 0:
        return max(1, cores + 1 + int(n_jobs))
    return int(n_jobs)


def sweep(
    X: ArrayLike,
    T: ArrayLike,
    configs: list[dict[str, Any]] | tuple[dict[str, Any], ...] | dict[str, Any],
    *,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    epochs: int = 1,
    batch_size: int | None = 1,
    shuffle: bool = True,
    n_jobs: int = -1,
    client: Client | str | None = None,
    seed: int | None = 0,
    progress: bool = False,
) -> SweepResults:
    """Train many configurations on one data set, many networks per kernel call.

    Each network ends exactly (bit for bit) where ``MLP(...).fit(X, T, ...)`` with
    the same arguments would have ended. See the module's docstring for how the
    work is divided.

    Parameters
    ----------
    X, T : array-like
        Training data, as for :meth:`MLP.fit`; shared by every configuration and
        cast once per dtype (never copied per network).
    configs : list of dict, or dict of lists
        One dict per configuration, or a dict of lists of choices expanded as a
        grid (:func:`expand_grid`). Keys:

        - ``sizes`` (required), ``hidden``, ``output``, ``init``, ``dtype``,
          ``seed``, ``backend``, ``specialise``: :class:`MLP` arguments;
        - ``optimizer`` (a name or an Optimizer object, copied; default "sgd"),
          and the optimizer's hyper-parameters by name (``lr``, ``momentum``,
          ``betas``, ...) when it is given by name;
        - ``batch_size``, ``epochs``, ``shuffle``: :meth:`MLP.fit` arguments,
          overriding the defaults below;
        - ``name``: a label for tables and charts.
    validation_data : tuple (X_val, T_val), optional
        Evaluated after every epoch of every network, as in ``fit``.
    epochs, batch_size, shuffle
        Defaults for configurations that do not set them (``fit``'s meaning).
    n_jobs : int, default -1
        Threads on this machine: -1 all of Numba's threads, -2 all but one, ...
        With ``client="local"``, the number of worker processes. Ignored for
        another client, whose workers' threads are used.
    client : None, "local", str or dask.distributed.Client, optional
        None trains in this process. A Client (a ``LocalCluster``'s, dask-jobqueue's,
        Kubernetes') sends the work to its workers; "local" starts a
        ``LocalCluster`` of ``n_jobs`` single-threaded processes for the sweep; any
        other string is a scheduler address to connect to.
    seed : int or None, default 0
        The ``MLP`` seed of configurations that do not set ``seed``: by default all
        start from the same weights and sample order, so they differ only by what
        the configurations change.
    progress : bool, default False
        Show a progress bar over configurations on stderr.

    Returns
    -------
    SweepResults
        In the order of ``configs``.

    Raises
    ------
    TypeError, ValueError
        Before any training, for a bad configuration (naming ``configs[i]`` and the
        key), data that do not fit a configuration's widths, or bad arguments.
    ImportError
        If ``client`` is given and Dask is not installed.

    Notes
    -----
    A configuration whose training diverges is reported as such in the results
    (with the epoch, and the network as it was at the end of the epoch before);
    the others go on.

    While a sweep trains, BLAS runs on one thread in this process (threadpoolctl,
    when installed): OpenBLAS's products change in their last bits with its thread
    count, and one thread everywhere makes results independent of ``n_jobs``, the
    grouping and the cluster. A mini-batch network therefore equals ``fit`` run with
    one BLAS thread; per-sample training does not use BLAS.
    """
    started = time.perf_counter()
    configs = _as_config_list(configs)
    n_jobs = _check_n_jobs(n_jobs)
    _check_client(client)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    defaults = {"epochs": epochs, "batch_size": batch_size, "shuffle": shuffle, "seed": seed}
    members, groups, data = _plan(X, T, configs, validation_data, defaults)

    with contextlib.ExitStack() as stack:
        if client is not None:
            client = _connect(client, n_jobs, stack)
        bar = stack.enter_context(_progress_bar(len(members))) if progress else None
        on_done = bar.update if bar is not None else (lambda count: None)
        if client is None:
            with _single_threaded_blas():
                outcomes = _run_local(groups, data, n_jobs, on_done)
        else:
            outcomes = _run_dask(groups, data, client, on_done)
    by_index = {outcome.index: outcome for outcome in outcomes}
    if sorted(by_index) != list(range(len(members))) or len(outcomes) != len(members):
        raise RuntimeError(
            f"the sweep returned {len(outcomes)} results for {len(members)} configurations"
        )
    results = [
        SweepResult._from(index, config, by_index[index], member)
        for index, (config, member) in enumerate(zip(configs, members, strict=True))
    ]
    return SweepResults(results, time.perf_counter() - started, len(groups))


def _progress_bar(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep", unit="config", leave=True, dynamic_ncols=True)


# ------------------------------------------------------------------ results


class SweepResult:
    """One configuration's outcome.

    Attributes
    ----------
    index : int
        Its position in ``configs``.
    config : dict
        The configuration as given (after grid expansion).
    name : str
        A label: ``config["name"]``, else the keys in which configurations differ.
    history : History
        Per-epoch metrics of the completed epochs (as ``fit`` returns).
    status : {"ok", "diverged"}
    diverged_epoch : int or None
        The epoch in which training diverged.
    message : str or None
        What went non-finite, as ``TrainingDivergedError`` says it.
    seconds : float
        Wall time from the start of its group's training to its end. Networks
        trained together share this time.
    """

    def __init__(
        self,
        index: int,
        config: dict[str, Any],
        name: str,
        history: History,
        net: MLP,
        diverged: _Divergence | None,
        seconds: float,
        batch_size: int,
        epochs: int,
    ) -> None:
        self.index = index
        self.config = config
        self.name = name
        self.history = history
        self._net = net
        self._diverged = diverged
        self.status = "diverged" if diverged is not None else "ok"
        self.diverged_epoch = None if diverged is None else diverged[0]
        self.message = None if diverged is None else diverged[3]
        self.seconds = seconds
        self.batch_size = batch_size
        self.epochs = epochs

    @classmethod
    def _from(cls, index, config, outcome, member):
        return cls(
            index,
            config,
            config.get("name", f"config {index}"),
            outcome.history,
            outcome.net,
            outcome.diverged,
            outcome.seconds,
            member.batch_size,
            member.epochs,
        )

    @property
    def epochs_done(self) -> int:
        """int: the epochs completed (all of them unless it diverged)."""
        return len(self.history.loss)

    def _last(self, values: list[float]) -> float:
        return float(values[-1]) if values else float("nan")

    @property
    def loss(self) -> float:
        """float: the training loss of the last completed epoch (NaN if none)."""
        return self._last(self.history.loss)

    @property
    def train_acc(self) -> float:
        """float: the training accuracy of the last completed epoch (NaN if none)."""
        return self._last(self.history.train_acc)

    @property
    def val_loss(self) -> float:
        """float: the validation loss after the last completed epoch (NaN if none)."""
        return self._last(self.history.val_loss)

    @property
    def val_acc(self) -> float:
        """float: the validation accuracy after the last completed epoch (NaN if none)."""
        return self._last(self.history.val_acc)

    @property
    def error(self) -> TrainingDivergedError | None:
        """TrainingDivergedError or None: what ``fit`` would have raised."""
        if self._diverged is None:
            return None
        epoch, step, loss, message = self._diverged
        return TrainingDivergedError(message, epoch=epoch, step=step, loss=loss)

    def model(self) -> MLP:
        """Return the trained :class:`MLP` (its ``optimizer_`` holds the final state).

        After a divergence: the network at the end of its last complete epoch.
        """
        return self._net

    def __repr__(self) -> str:
        state = "ok" if self._diverged is None else f"diverged in epoch {self.diverged_epoch}"
        return f"SweepResult({self.name!r}, {state}, loss={self.loss:.4g})"


class SweepResults:
    """The outcomes of :func:`sweep`, in the order of the configurations.

    A sequence of :class:`SweepResult` (``len``, indexing, iteration).

    Attributes
    ----------
    seconds : float
        Wall time of the whole sweep (checks, scatter and gathering included).
    n_groups : int
        How many groups of networks trained together (one kernel call per epoch each).
    """

    def __init__(self, results: Iterable[SweepResult], seconds: float, n_groups: int) -> None:
        self._results = list(results)
        self.seconds = seconds
        self.n_groups = n_groups
        self._label()

    def _label(self):
        """Name unnamed results by the keys in which the configurations differ."""
        configs = [result.config for result in self._results]
        keys = list(dict.fromkeys(key for config in configs for key in config if key != "name"))
        varying = [
            key for key in keys if len({_shown(config.get(key, "")) for config in configs}) > 1
        ]
        seen = {}
        for result in self._results:
            if "name" not in result.config and varying:
                result.name = ", ".join(
                    f"{key}={_shown(result.config[key])}" for key in varying if key in result.config
                )
            if result.name in seen:
                result.name = f"{result.name} #{result.index}"
            seen[result.name] = True

    def __len__(self) -> int:
        return len(self._results)

    @overload
    def __getitem__(self, index: int) -> SweepResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[SweepResult]: ...

    def __getitem__(self, index: int | slice) -> SweepResult | list[SweepResult]:
        return self._results[index]

    def __iter__(self) -> Iterator[SweepResult]:
        return iter(self._results)

    def __repr__(self) -> str:
        diverged = sum(result.status == "diverged" for result in self._results)
        return (
            f"SweepResults({len(self)} configurations, {diverged} diverged, "
            f"{self.n_groups} groups, {self.seconds:.2f} s)"
        )

    def best(self, metric: str) -> SweepResult:
        """Return the result with the best final ``metric`` among those that finished.

        Parameters
        ----------
        metric : {"loss", "val_loss", "train_acc", "val_acc"}
            Accuracies are maximised, losses minimised.

        Raises
        ------
        ValueError
            For an unknown metric, or when no finished configuration has it.
        """
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
        candidates = [
            result
            for result in self._results
            if result.status == "ok" and np.isfinite(getattr(result, metric))
        ]
        if not candidates:
            raise ValueError(
                f"no configuration finished with a {metric} (diverged, no validation_data, "
                "or no accuracy for a regression)"
            )
        sign = -1.0 if METRICS[metric] else 1.0
        return min(candidates, key=lambda result: sign * getattr(result, metric))

    def histories(self) -> dict[str, History]:
        """Return ``{name: History}`` of the results with at least one epoch."""
        return {result.name: result.history for result in self._results if result.history.loss}

    def to_rows(self) -> list[dict[str, Any]]:
        """Return one dict per configuration: its keys, final metrics, time and status.

        Columns: ``config`` (the index), ``name``, every configuration key used by any
        configuration, ``epochs`` (completed), ``loss``, ``train_acc``, ``val_loss``,
        ``val_acc`` (NaN where there is none), ``seconds`` and ``status`` ("ok" or
        "diverged in epoch N").
        """
        keys = list(
            dict.fromkeys(key for result in self._results for key in result.config if key != "name")
        )
        rows = []
        for result in self._results:
            row = {"config": result.index, "name": result.name}
            for key in keys:
                row[key] = _shown(result.config[key]) if key in result.config else ""
            row.update(
                epochs=result.epochs_done,
                loss=result.loss,
                train_acc=result.train_acc,
                val_loss=result.val_loss,
                val_acc=result.val_acc,
                seconds=round(result.seconds, 3),
                status=(
                    "ok" if result.status == "ok" else f"diverged in epoch {result.diverged_epoch}"
                ),
            )
            rows.append(row)
        return rows

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """Return the table of :meth:`to_rows` as CSV text; write it (atomically) to ``path``."""
        rows = self.to_rows()
        stream = io.StringIO()
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return _write(stream.getvalue(), path)

    def to_markdown(self, path: str | os.PathLike[str] | None = None) -> str:
        """Return the table of :meth:`to_rows` as Markdown; write it (atomically) to ``path``."""
        rows = self.to_rows()
        columns = list(rows[0])
        lines = [
            "| " + " | ".join(columns) + " |",
            "|" + "|".join("---" for _ in columns) + "|",
        ]
        for row in rows:
            lines.append("| " + " | ".join(_cell(row[column]) for column in columns) + " |")
        return _write("\n".join(lines) + "\n", path)

    def plot(
        self,
        metric: str = "loss",
        path: str | os.PathLike[str] | None = None,
        *,
        title: str | None = None,
        ax: Axes | None = None,
        log: bool = False,
        validation_label: str = "validation",
    ) -> Figure | SubFigure:
        """Draw one metric of every configuration per epoch (:func:`fastnn.plot.plot_comparison`).

        Configurations without a completed epoch are left out. ``validation_label``
        names the validation data (say "test") in the axis label.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from fastnn import plot

        return plot.plot_comparison(
            self.histories(),
            metric=metric,
            path=path,
            title=title,
            ax=ax,
            log=log,
            validation_label=validation_label,
        )


def _shown(value):
    """A configuration value as a table shows it."""
    if isinstance(value, optimizers_module.Optimizer):
        return repr(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, numbers.Integral) for v in value):
        return "-".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _cell(value):
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.4f}"
    return str(value).replace("|", "\\|")


def _write(text, path):
    if path is not None:
        from fastnn._atomic import atomic_write

        with atomic_write(path) as stream:
            stream.write(text.encode())
    return text
