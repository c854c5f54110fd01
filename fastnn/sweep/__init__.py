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
  :meth:`MLP.fit` (:mod:`fastnn.training.engine` shares it): its own generator shuffles its
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

Dask is imported only when ``client`` is given (``pip install fastnn[dask]``). The
package's rooms: :mod:`~fastnn.sweep.plan` (configurations, networks, groups,
data), :mod:`~fastnn.sweep.local` (this machine's threads), :mod:`~fastnn.sweep.cluster`
(Dask) and :mod:`~fastnn.sweep.results`.
"""

from __future__ import annotations

import contextlib
import numbers
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from fastnn.network.state import SPLIT_STREAM
from fastnn.sweep.cluster import check_client, connect, run_dask
from fastnn.sweep.local import cores, run_local, single_threaded_blas
from fastnn.sweep.plan import (
    FIT_KEYS,
    HYPER_KEYS,
    KEYS,
    METRICS,
    MLP_KEYS,
    as_config_list,
    expand_grid,
    plan,
)
from fastnn.sweep.results import SweepResult, SweepResults
from fastnn.validation import is_finite_number

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "sweep",
    "expand_grid",
    "SweepResults",
    "SweepResult",
    "METRICS",
    "KEYS",
    "MLP_KEYS",
    "FIT_KEYS",
    "HYPER_KEYS",
]


def _check_n_jobs(n_jobs):
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be an integer (-1 for all cores), got {n_jobs!r}")
    if n_jobs == 0:
        raise ValueError("n_jobs must be -1 (all cores), -2 (all but one, ...) or >= 1, got 0")
    n_cores = cores()
    if n_jobs < 0:
        return max(1, n_cores + 1 + int(n_jobs))
    return int(n_jobs)


def sweep(
    X: ArrayLike,
    T: ArrayLike,
    configs: list[dict[str, Any]] | tuple[dict[str, Any], ...] | dict[str, Any],
    *,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    validation_split: float = 0.0,
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
    validation_split : float, default 0.0
        Hold out this fraction of the rows as validation data instead, the same
        rows for every configuration: those ``MLP(seed=seed).fit(...,
        validation_split=...)`` holds out (drawn from the sweep's ``seed``). Not
        with ``validation_data``. Select configurations on these rows, and keep a
        test set apart for the one selected.
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
    configs = as_config_list(configs)
    n_jobs = _check_n_jobs(n_jobs)
    check_client(client)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    if validation_split:
        X, T, validation_data = _split(X, T, validation_split, validation_data, seed)
    defaults = {"epochs": epochs, "batch_size": batch_size, "shuffle": shuffle, "seed": seed}
    trials, groups, data = plan(X, T, configs, validation_data, defaults)

    with contextlib.ExitStack() as stack:
        if client is not None:
            client = connect(client, n_jobs, stack)
        bar = stack.enter_context(_progress_bar(len(trials))) if progress else None
        on_done = bar.update if bar is not None else (lambda count: None)
        if client is None:
            with single_threaded_blas():
                outcomes = run_local(groups, data, n_jobs, on_done)
        else:
            outcomes = run_dask(groups, data, client, on_done)
    by_index = {outcome.index: outcome for outcome in outcomes}
    if sorted(by_index) != list(range(len(trials))) or len(outcomes) != len(trials):
        raise RuntimeError(
            f"the sweep returned {len(outcomes)} results for {len(trials)} configurations"
        )
    results = [
        SweepResult.of(index, config, by_index[index], trial)
        for index, (config, trial) in enumerate(zip(configs, trials, strict=True))
    ]
    return SweepResults(results, time.perf_counter() - started, len(groups))


def _split(X, T, fraction, validation_data, seed):
    """``(X_train, T_train, (X_val, T_val))``: the rows ``fit(validation_split=)`` holds out."""
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"validation_split must be a fraction, got {fraction!r}")
    if not is_finite_number(fraction) or not 0 <= fraction < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {fraction!r}")
    if validation_data is not None:
        raise ValueError("give validation_data or validation_split, not both")
    try:
        X, T = np.asarray(X), np.asarray(T)
    except (TypeError, ValueError) as error:
        raise TypeError(f"X and T must be array-like: {error}") from None
    if X.ndim == 0 or T.ndim == 0 or len(X) != len(T):
        raise ValueError(
            f"X and T must have the same number of rows for validation_split, got shapes "
            f"{X.shape} and {T.shape}"
        )
    held = int(round(fraction * len(X)))
    if held < 1 or held >= len(X):
        raise ValueError(
            f"validation_split={fraction} of {len(X)} rows holds out {held}; it needs to "
            "leave at least one row on each side"
        )
    entropy = [seed, SPLIT_STREAM] if seed is not None else None
    rows = np.random.default_rng(np.random.SeedSequence(entropy)).permutation(len(X))
    train, validation = np.sort(rows[held:]), np.sort(rows[:held])
    return X[train], T[train], (X[validation], T[validation])


def _progress_bar(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep", unit="config", leave=True, dynamic_ncols=True)
