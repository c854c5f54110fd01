"""fastnn.sweep on a real Dask cluster: the same results as on one machine, a worker lost
mid-sweep survived, bad configurations refused before any task, and scikit-learn's grid
search under joblib's Dask backend."""

import importlib
import logging
import os
import signal
import threading
import time

import numpy as np
import pytest

import fastnn
from fastnn import MLPClassifier, sweep
from fastnn.cli import main
from fastnn.sweep import expand_grid

distributed = pytest.importorskip("distributed")

sweep_module = importlib.import_module("fastnn.sweep")

N_WORKERS = 2


@pytest.fixture(scope="module")
def client():
    """A cluster of two single-threaded worker processes, for this module's tests."""
    with (
        distributed.LocalCluster(
            n_workers=N_WORKERS,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def both_workers(client):
    """The client, once both workers are up (a test before may have killed one)."""
    client.wait_for_workers(N_WORKERS, timeout=60)
    return client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((150, 20)).astype(np.float32)
    X[X < 0.4] = 0
    return X, rng.integers(0, 3, 150)


def test_workers_run_this_fastnn(both_workers):
    # Otherwise the tests below would check another copy of the code.
    files = both_workers.run(lambda: __import__("fastnn").__file__)
    assert set(files.values()) == {fastnn.__file__}


def assert_identical(results, others):
    assert len(results) == len(others)
    for result, other in zip(results, others, strict=True):
        assert result.index == other.index and result.status == other.status
        np.testing.assert_array_equal(result.model().theta, other.model().theta)
        np.testing.assert_array_equal(
            result.model().optimizer_.state_, other.model().optimizer_.state_
        )
        for name in ("loss", "train_acc", "val_loss", "val_acc"):
            assert getattr(result.history, name) == getattr(other.history, name)


def test_dask_sweep_equals_the_local_and_sequential_runs(both_workers, data):
    X, labels = data
    validation = (X[:50], labels[:50])
    grid = {
        "sizes": [[20, 12, 3]],
        "optimizer": ["sgd", "adam"],
        "lr": [0.01, 0.05],
        "batch_size": [1, 8],
        "seed": 3,
    }
    assert len(expand_grid(grid)) == 8
    kwargs = {"epochs": 3, "validation_data": validation}
    on_dask = sweep(X, labels, grid, client=both_workers, **kwargs)
    assert_identical(on_dask, sweep(X, labels, grid, n_jobs=2, **kwargs))
    assert_identical(on_dask, sweep(X, labels, grid, n_jobs=1, **kwargs))
    for result in on_dask:
        net = fastnn.MLP([20, 12, 3], seed=3)
        history = net.fit(
            X,
            labels,
            optimizer=fastnn.optimizers.get(result.config["optimizer"], lr=result.config["lr"]),
            epochs=3,
            batch_size=result.config["batch_size"],
            validation_data=validation,
        )
        np.testing.assert_array_equal(result.model().theta, net.theta)
        assert result.history.val_acc == history.val_acc


def executing_sweep_task(client):
    """Return ``(worker address, task key)`` of a sweep task running now, or None."""
    running = client.run(lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing])
    for address, keys in running.items():
        for key in keys:
            if key.startswith("fastnn-sweep-"):
                return address, key
    return None


def test_a_worker_killed_mid_sweep_loses_nothing(both_workers):
    client = both_workers
    rng = np.random.default_rng(1)
    X = rng.random((3000, 32)).astype(np.float32)
    labels = rng.integers(0, 4, 3000)
    # Three tasks (one network each, as each worker has one thread) of a few tenths of
    # a second, against milliseconds from seeing one run to killing its worker.
    configs = [
        {"sizes": [32, 32, 4], "lr": 0.01 * (seed + 1), "seed": seed, "epochs": 150}
        for seed in range(3)
    ]
    local = sweep(X, labels, configs, n_jobs=2)
    pids = client.run(os.getpid)
    outcome = {}

    def run_sweep():
        try:
            outcome["results"] = sweep(X, labels, configs, client=client)
        except BaseException as error:  # reported by the assertion below
            outcome["error"] = error

    runner = threading.Thread(target=run_sweep)
    runner.start()
    try:
        deadline = time.monotonic() + 60
        victim = None
        while victim is None and time.monotonic() < deadline and runner.is_alive():
            victim = executing_sweep_task(client)
        assert victim is not None, "no sweep task was seen running"
        address, key = victim
        os.kill(pids[address], signal.SIGKILL)
    finally:
        runner.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    # The task was running on the killed worker and was run again elsewhere.
    story = [event for event in client.story(key) if event[0] == "scheduler"]
    moves = [(event[2], event[3]) for event in story]
    assert moves.index(("processing", "released")) < moves.index(("processing", "memory"))
    results = outcome["results"]
    assert [result.index for result in results] == [0, 1, 2]
    assert_identical(results, local)


def test_losing_every_worker_that_holds_the_data_costs_a_rescatter_not_the_sweep(
    both_workers, data, monkeypatch
):
    client = both_workers
    X, labels = data
    configs = {"sizes": [[20, 8, 3]], "lr": [0.01, 0.05], "seed": [0, 1]}
    local = sweep(X, labels, configs, n_jobs=1, epochs=2)
    scattered = []
    original = client.scatter

    def scatter_then_kill_every_worker(*args, **kwargs):
        future = original(*args, **kwargs)
        scattered.append(future)
        if len(scattered) == 1:
            # Every worker holding the data dies before the tasks that need it run;
            # their nannies start new, empty ones. Before, the sweep failed with
            # "FutureCancelledError: ... already forgotten".
            for pid in client.run(os.getpid).values():
                os.kill(pid, signal.SIGKILL)
        return future

    monkeypatch.setattr(client, "scatter", scatter_then_kill_every_worker)
    results = sweep(X, labels, configs, client=client, epochs=2)
    assert len(scattered) == 2
    assert_identical(results, local)


def test_a_client_closed_mid_sweep_is_a_clear_error(both_workers, data, monkeypatch):
    X, labels = data
    own = distributed.Client(both_workers.scheduler.address)
    original = own.scatter

    def scatter_then_close(*args, **kwargs):
        future = original(*args, **kwargs)
        own.close()
        return future

    monkeypatch.setattr(own, "scatter", scatter_then_close)
    with pytest.raises(RuntimeError, match="the Dask client was closed during the sweep"):
        sweep(X, labels, [{"sizes": [20, 8, 3]}], client=own)


def test_a_closed_client_is_refused_clearly(both_workers, data):
    X, labels = data
    closed = distributed.Client(both_workers.scheduler.address)
    closed.close()
    with pytest.raises(ValueError, match="client is a closed dask.distributed.Client"):
        sweep(X, labels, [{"sizes": [20, 8, 3]}], client=closed)


def test_bad_configurations_start_no_dask_work(both_workers, data, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("Dask work started before every configuration was checked")

    monkeypatch.setattr(sweep_module, "connect", no_work)
    X, labels = data
    good = {"sizes": [20, 8, 3]}
    for configs, match in [
        ([], "configs is empty"),
        ([good, {**good, "momentum": 0.9, "optimizer": "adam"}], r"configs\[1\]: 'momentum'"),
        ([good, {"sizes": [21, 8, 3]}], r"configs\[1\]: X has 20 columns"),
        ([good, {**good, "unknown": 1}], r"configs\[1\]: unknown key 'unknown'"),
    ]:
        for client in (both_workers, "local"):
            with pytest.raises(ValueError, match=match):
                sweep(X, labels, configs, client=client)


def test_client_must_be_a_client_or_an_address(data):
    X, labels = data
    with pytest.raises(TypeError, match="client must be None, a dask.distributed.Client"):
        sweep(X, labels, [{"sizes": [20, 8, 3]}], client=3)


def test_client_local_starts_and_closes_a_cluster(data):
    X, labels = data
    configs = {"sizes": [[20, 8, 3]], "lr": [0.01, 0.1]}
    results = sweep(X, labels, configs, client="local", n_jobs=2, epochs=2)
    assert_identical(results, sweep(X, labels, configs, n_jobs=1, epochs=2))


def test_sweep_command_on_a_scheduler_address(both_workers, tmp_path, capsys):
    pytest.importorskip("sklearn")  # the digits data set
    address = both_workers.scheduler.address
    argv = ["sweep", "--data", "digits", "--rows", "200", "--sizes", "16", "--epochs", "2"]
    argv += ["--lr", "0.01,0.05", "--quiet"]
    assert main(argv + ["--out", str(tmp_path / "local")]) == 0
    assert main(argv + ["--out", str(tmp_path / "dask"), "--scheduler", address]) == 0
    assert f"on Dask ({address})" in capsys.readouterr().out

    def table(folder):
        # Everything but the wall times.
        return [line.rsplit("|", 3)[0] for line in (folder / "results.md").read_text().split("\n")]

    assert table(tmp_path / "dask") == table(tmp_path / "local")


def test_grid_search_under_joblib_dask_finds_the_same_best(both_workers):
    sklearn_model_selection = pytest.importorskip("sklearn.model_selection")
    import joblib

    from fastnn.datasets import load_digits

    (X, y), _ = load_digits()
    X, y = X[:450], y[:450]
    grid = {"learning_rate_init": [0.003, 0.03], "hidden_layer_sizes": [(8,), (24,)]}
    estimator = MLPClassifier(max_iter=3, random_state=0)
    local = sklearn_model_selection.GridSearchCV(estimator, grid, cv=3, n_jobs=1).fit(X, y)
    with (
        distributed.get_task_stream(both_workers) as tasks,
        joblib.parallel_backend("dask"),
    ):
        search = sklearn_model_selection.GridSearchCV(estimator, grid, cv=3, n_jobs=-1)
        on_dask = search.fit(X, y)
    assert len(tasks.data) > 0  # the fits really ran on the cluster
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
