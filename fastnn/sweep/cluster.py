"""Training a sweep's groups on a Dask cluster (``fastnn.sweep(client=...)``).

The data are scattered to every worker once, each group is cut into about one task
per worker (at most :data:`TASK_THREAD_MULTIPLE` networks per worker thread), and each
task runs :func:`fastnn.sweep.local.train_group` on its worker's threads. A task holds
only its own networks, so when a worker dies the scheduler runs its task again
elsewhere from the same starting networks: nothing is lost or counted twice, and the
results equal a local run. Dask is imported only here (``pip install fastnn[dask]``).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

from fastnn.sweep.local import single_threaded_blas, train_group
from fastnn.sweep.plan import Data, Outcome, Trial

__all__ = ["check_client", "connect", "run_dask"]

#: How often a Dask task that raised is tried again. (A task on a worker that died
#: is always run again elsewhere: that is the scheduler's job, not a retry.)
DASK_RETRIES = 2
#: A Dask task trains at most this many networks per thread of its worker.
TASK_THREAD_MULTIPLE = 4
#: Seconds to wait for a Dask scheduler to answer, and for its cluster to have a worker.
DASK_CONNECT_TIMEOUT = 30
DASK_WORKER_TIMEOUT = 60

#: How often a sweep scatters its data again after every worker holding them died,
#: before it gives up (each time, the unfinished tasks start again on the new copy).
DATA_RESCATTERS = 10
#: Client states in which it can no longer reach its cluster.
CLOSED = ("closing", "closed")

# One sweep task at a time per worker process: it uses all the worker's threads itself.
_TASK_LOCK = threading.Lock()


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "client= needs Dask's distributed scheduler: pip install 'fastnn[dask]' "
            "(or pip install 'dask[distributed]')"
        ) from None
    return distributed


def connect(client: Any, n_jobs: int, stack: contextlib.ExitStack) -> Any:
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


def check_client(client: Any) -> None:
    """Refuse a ``client`` that is not None, an open Client, "local" or an address."""
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
    if isinstance(client, distributed.Client) and client.status in CLOSED:
        raise ValueError(
            f"client is a closed dask.distributed.Client (status {client.status!r}); pass an "
            "open one, 'local' or a scheduler address"
        )


def _train_task(trials: list[Trial], data: Data, n_threads: int) -> list[Outcome]:
    """One Dask task: train a slice of a group on this worker's threads."""
    # The task's arguments may be the very objects of an earlier attempt on this
    # worker; train copies so that a retry starts from the same networks.
    trials = copy.deepcopy(trials)
    with _TASK_LOCK, single_threaded_blas():
        return train_group(trials, data, n_threads)


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


def _check_alive(client: Any, unfinished: int) -> None:
    """Raise a clear error if ``client`` has lost its cluster for good."""
    if client.status in CLOSED:
        raise RuntimeError(
            f"the Dask client was closed during the sweep (status {client.status!r}); "
            f"{unfinished} task(s) of it did not finish"
        )


def run_dask(
    groups: list[list[Trial]], data: Data, client: Any, on_done: Callable[[int], object]
) -> list[Outcome]:
    """Train the groups on the Dask cluster of ``client``; return every outcome.

    The data are scattered to every worker. Should every worker holding them die
    (the only worker, say), the tasks that needed them are cancelled by Dask; the
    data are then scattered again, to the workers there are now, and those tasks
    start again from their networks' starting point, up to :data:`DATA_RESCATTERS`
    times. A sweep is lost only when its client or cluster is gone, with an error
    saying so.
    """
    try:
        return _run_dask(groups, data, client, on_done)
    except Exception as error:
        if client.status not in CLOSED or isinstance(error, RuntimeError):
            raise
        # Whatever Dask raised from a client that is gone (ClosedClientError,
        # CommClosedError, ...): say so once, plainly.
        raise RuntimeError(
            f"the Dask client was closed during the sweep (status {client.status!r}); the "
            f"sweep did not finish ({type(error).__name__}: {error})"
        ) from None


def _run_dask(
    groups: list[list[Trial]], data: Data, client: Any, on_done: Callable[[int], object]
) -> list[Outcome]:
    distributed = _import_distributed()
    workers, threads = _workers(client)
    direct = _scatter_directly(client, workers)
    token = uuid.uuid4().hex[:12]
    remaining: dict[str, list[Trial]] = {}
    for number, group in enumerate(groups):
        per_task = _networks_per_task(len(group), len(workers), threads)
        for start in range(0, len(group), per_task):
            remaining[f"{number}-{start}"] = group[start : start + per_task]
    outcomes: list[Outcome] = []
    futures: dict[Any, str] = {}
    data_future = None
    try:
        for attempt in range(DATA_RESCATTERS + 1):
            if attempt:
                _check_alive(client, len(remaining))
                workers, _ = _workers(client)  # waits for a worker to come back
                direct = _scatter_directly(client, workers)
                with contextlib.suppress(Exception):
                    client.cancel([data_future])
            data_future = client.scatter(data, broadcast=True, hash=False, direct=direct)
            futures = {
                client.submit(
                    _train_task,
                    trials,
                    data_future,
                    threads,
                    key=f"fastnn-sweep-{token}-{attempt}-{name}",
                    retries=DASK_RETRIES,
                    pure=False,
                ): name
                for name, trials in remaining.items()
            }
            for future in distributed.as_completed(list(futures), with_results=False):
                if future.status == "cancelled":
                    # Its data were lost with the workers that held them (or the
                    # cluster is going): tried again below, from the start.
                    continue
                # Results come the same way as the data went: straight when possible.
                task_outcomes = client.gather(future, direct=direct)
                outcomes.extend(task_outcomes)
                on_done(len(task_outcomes))
                del remaining[futures[future]]
            if not remaining:
                return outcomes
        _check_alive(client, len(remaining))
        raise RuntimeError(
            f"the workers holding the sweep's data died {DATA_RESCATTERS + 1} times; "
            f"{len(remaining)} task(s) did not finish (are the workers running out of memory?)"
        )
    finally:
        # Release the data and anything still running (after an error or Ctrl-C)
        # on a cluster that outlives the sweep.
        with contextlib.suppress(Exception):
            client.cancel([future for future in (*futures, data_future) if future is not None])
