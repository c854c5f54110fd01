"""fastnn.sweep on one machine: many networks per kernel call, each bit for bit what fit gives."""

import csv
import importlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastnn import MLP, TrainingDivergedError, compare_optimizers, optimizers, sweep
from fastnn.cli import main
from fastnn.sweep import HYPER_KEYS, MLP_KEYS, expand_grid
from fastnn.sweep.plan import plan

# `fastnn.sweep` is the function; the module is reached through sys.modules.
sweep_local = importlib.import_module("fastnn.sweep.local")

N_ROWS, N_INPUTS, N_CLASSES = 120, 30, 4
# The layout, dtype and optimizers of tests/test_parallel.py, so that both share
# the compiled (and generated) kernels.
SIZES = [N_INPUTS, 17, N_CLASSES]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((N_ROWS, N_INPUTS))
    X[X < 0.5] = 0
    labels = rng.integers(0, N_CLASSES, N_ROWS)
    return X, labels, (X[:40], labels[:40])


def fit_alone(config, X, T, validation=None, epochs=2, batch_size=1):
    """Train one configuration with MLP.fit: what the sweep must reproduce exactly.

    Returns ``(net, history, error)``; ``error`` is the TrainingDivergedError, if any.
    """
    mlp_args = {key: config[key] for key in MLP_KEYS if key in config}
    mlp_args.setdefault("seed", 0)
    net = MLP(**mlp_args)
    hyper = {key: config[key] for key in HYPER_KEYS if key in config}
    optimizer = optimizers.get(config.get("optimizer", "sgd"), **hyper)
    try:
        history = net.fit(
            X,
            T,
            optimizer=optimizer,
            epochs=config.get("epochs", epochs),
            batch_size=config.get("batch_size", batch_size),
            shuffle=config.get("shuffle", True),
            validation_data=validation,
        )
    except TrainingDivergedError as error:
        return net, None, error
    return net, history, None


def assert_same_network(trained, net):
    np.testing.assert_array_equal(trained.theta, net.theta)
    np.testing.assert_array_equal(trained.optimizer_.state_, net.optimizer_.state_)
    assert trained.optimizer_.step_[0] == net.optimizer_.step_[0]
    # The shuffling generator too: training on continues exactly as after fit.
    assert trained.rng.bit_generator.state == net.rng.bit_generator.state


def assert_same_history(history, expected):
    for name in ("loss", "train_acc", "val_loss", "val_acc"):
        assert getattr(history, name) == getattr(expected, name), name
    assert len(history.step_losses) == len(expected.step_losses)
    for mine, theirs in zip(history.step_losses, expected.step_losses, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def assert_equals_fit(results, X, T, validation, epochs=2):
    for result in results:
        net, history, error = fit_alone(result.config, X, T, validation, epochs)
        assert error is None and result.status == "ok"
        assert_same_network(result.model(), net)
        assert_same_history(result.history, history)


# (configuration keys, groups): networks whose optimizers share a kernel code (SGD and
# Momentum) train in one call of the generic loop; a generated loop is made for one
# optimizer kind.
CASES = {
    # The generic per-sample loop, and a group whose networks stop at different epochs.
    "per-sample": ({"specialise": False, "optimizer": ["sgd", "adam"]}, 2),
    "mini-batch": ({"optimizer": ["sgd", "momentum"], "batch_size": 16}, 1),
    # The loop generated for the layout (forced on small data to stay fast).
    "generated loop": ({"specialise": True, "optimizer": ["sgd", "adam"]}, 2),
}


@pytest.mark.parametrize("n_jobs", [2, 1])
@pytest.mark.parametrize("case", list(CASES))
def test_each_network_ends_where_fit_ends(data, case, n_jobs):
    X, labels, validation = data
    extra, n_groups = CASES[case]
    grid = {"sizes": [SIZES], "dtype": "float64", **extra, "lr": [0.01, 0.05], "seed": [0, 1]}
    configs = expand_grid(grid)
    configs[1]["epochs"] = 1  # leaves its group after one epoch; the others go on
    configs[2]["shuffle"] = False
    results = sweep(X, labels, configs, epochs=3, validation_data=validation, n_jobs=n_jobs)
    assert results.n_groups == n_groups
    assert [result.index for result in results] == list(range(8))
    assert [result.epochs_done for result in results] == [3, 1, 3, 3, 3, 3, 3, 3]
    assert_equals_fit(results, X, labels, validation, epochs=3)


def test_mini_batch_bits_do_not_depend_on_blas_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(2)
    # Products of these sizes are split over OpenBLAS's threads, which changes their
    # last bits; a sweep runs BLAS on one thread, whatever n_jobs or the grouping.
    X = rng.random((1000, 128))
    labels = rng.integers(0, 10, 1000)
    validation = (X[:500], labels[:500])
    configs = [
        {"sizes": [128, 64, 10], "dtype": "float64", "batch_size": 100, "optimizer": name}
        | {"seed": seed}
        for name, seed in (("sgd", 0), ("sgd", 1), ("adam", 2))
    ]
    for n_jobs in (1, 2):
        results = sweep(X, labels, configs, epochs=2, validation_data=validation, n_jobs=n_jobs)
        assert results.n_groups == 2  # two SGD networks together, Adam alone
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
            assert_equals_fit(results, X, labels, validation)


def test_lone_networks_train_side_by_side(data):
    X, labels, validation = data
    configs = [
        {"sizes": SIZES, "dtype": "float64", "optimizer": name, "seed": seed}
        for name, seed in (("sgd", 0), ("adam", 1), ("rmsprop", 2), ("adagrad", 3))
    ]
    results = sweep(X, labels, configs, epochs=2, validation_data=validation, n_jobs=2)
    assert results.n_groups == 4
    assert_equals_fit(results, X, labels, validation)


def test_the_numpy_reference_backend_sweeps_too(data):
    X, labels, validation = data
    X, labels = X[:30], labels[:30]
    configs = [
        {"sizes": SIZES, "dtype": "float64", "backend": "numpy", "seed": seed, "batch_size": batch}
        for seed, batch in ((0, 1), (1, 1), (2, 8))
    ]
    results = sweep(X, labels, configs, epochs=2, validation_data=validation)
    assert results.n_groups == 2
    assert_equals_fit(results, X, labels, validation)


def regression_data():
    # Unscaled targets: per-sample SGD with a large step overflows some epochs in.
    rng = np.random.default_rng(1)
    X = rng.uniform(0.5, 1.5, (40, 3))
    return X, 2 * X.sum(axis=1)


def test_a_diverging_configuration_is_reported_while_the_others_go_on():
    X, y = regression_data()
    base = {"sizes": [3, 1], "output": "identity", "dtype": "float64", "epochs": 30}
    configs = [{**base, "lr": lr} for lr in (0.01, 1.5, 0.02)]
    results = sweep(X, y, configs, n_jobs=2)
    assert results.n_groups == 1
    assert [result.status for result in results] == ["ok", "diverged", "ok"]
    diverged = results[1]
    net, history, error = fit_alone(configs[1], X, y)
    assert history is None and error.epoch > 1, "lr=1.5 should diverge after some epochs"
    assert diverged.diverged_epoch == error.epoch
    assert diverged.message == str(error)
    assert isinstance(diverged.error, TrainingDivergedError)
    assert (diverged.error.epoch, diverged.error.step) == (error.epoch, error.step)
    # As fit's rollback: the network as at the end of the epoch before.
    assert_same_network(diverged.model(), net)
    assert diverged.epochs_done == error.epoch - 1
    _, history, _ = fit_alone({**configs[1], "epochs": error.epoch - 1}, X, y)
    assert_same_history(diverged.history, history)
    assert_equals_fit([results[0], results[2]], X, y, None)
    assert results.best("loss").index in (0, 2)
    assert "diverged in epoch" in results.to_rows()[1]["status"]


def test_optimizer_objects_are_copied(data):
    X, labels, _ = data
    adam = optimizers.Adam(lr=0.01)
    configs = [{"sizes": SIZES, "optimizer": adam, "seed": seed} for seed in (0, 1)]
    results = sweep(X, labels, configs, epochs=2)
    assert adam.state_ is None and adam.step_[0] == 0  # the caller's object is untouched
    first, second = (result.model().optimizer_ for result in results)
    assert first is not second and first is not adam
    for result in results:
        net, _, _ = fit_alone({**result.config, "optimizer": "adam", "lr": 0.01}, X, labels)
        assert_same_network(result.model(), net)


DEFAULTS = {"epochs": 1, "batch_size": 1, "shuffle": True, "seed": 0}


def test_the_data_are_shared_not_copied(data):
    X, labels, _ = data
    configs = [{"sizes": SIZES, "dtype": "float64", "seed": seed} for seed in range(3)]
    _, groups, shared = plan(X, labels, configs, None, DEFAULTS)
    arrays = [shared.arrays(trial.architecture) for trial in groups[0]]
    assert all(inputs is X for inputs, _, _ in arrays)  # float64 C-contiguous: used as is
    assert all(targets is arrays[0][1] for _, targets, _ in arrays)  # one-hot made once


def test_expand_grid_is_every_combination_in_order():
    grid = {"sizes": [[2, 3, 1]], "optimizer": ["sgd", "adam"], "lr": [0.1, 0.2], "seed": 7}
    configs = expand_grid(grid)
    assert [(c["optimizer"], c["lr"]) for c in configs] == [
        ("sgd", 0.1),
        ("sgd", 0.2),
        ("adam", 0.1),
        ("adam", 0.2),
    ]
    assert all(c["seed"] == 7 and c["sizes"] == [2, 3, 1] for c in configs)
    with pytest.raises(ValueError, match=r"one layout is written \[\[2, 3, 1\]\]"):
        expand_grid({"sizes": [2, 3, 1]})


GOOD = {"sizes": SIZES}
BAD_CONFIGS = [
    ([], ValueError, "configs is empty"),
    ({"sizes": [SIZES], "lr": []}, ValueError, r"configs\['lr'\] is an empty list"),
    ("sizes", TypeError, "configs must be a list of dicts"),
    ([GOOD, "adam"], TypeError, r"configs\[1\] must be a dict"),
    (
        [GOOD, {**GOOD, "lrate": 0.1}],
        ValueError,
        r"configs\[1\]: unknown key 'lrate' \(did you mean 'lr'\?\)",
    ),
    ([GOOD, {"hidden": "relu"}], ValueError, r"configs\[1\]: missing 'sizes'"),
    ([GOOD, {"sizes": [31, 17, 4]}], ValueError, r"configs\[1\]: X has 30 columns"),
    ([GOOD, {"sizes": [30, 17, 3]}], ValueError, r"configs\[1\]: T: class labels must be in"),
    ([GOOD, {**GOOD, "lr": -1}], ValueError, r"configs\[1\]: lr must be > 0"),
    ([GOOD, {**GOOD, "epochs": 0}], ValueError, r"configs\[1\]: epochs must be >= 1"),
    ([GOOD, {**GOOD, "batch_size": 0}], ValueError, r"configs\[1\]: batch_size must be >= 1"),
    ([GOOD, {**GOOD, "hidden": "swish"}], ValueError, "unknown activation 'swish'"),
    ([GOOD, {**GOOD, "dtype": "float16"}], ValueError, "dtype must be 'float32' or 'float64'"),
    ([GOOD, {**GOOD, "optimizer": "adamax"}], ValueError, "unknown name 'adamax'"),
    (
        [GOOD, {**GOOD, "optimizer": "adam", "momentum": 0.9}],
        ValueError,
        "'momentum' is not a hyper-parameter of Adam",
    ),
    (
        [GOOD, {**GOOD, "optimizer": optimizers.SGD(), "lr": 0.1}],
        TypeError,
        "given with an optimizer object",
    ),
    ([GOOD, {**GOOD, "shuffle": "yes"}], TypeError, "shuffle must be True or False"),
    ([GOOD, {**GOOD, "name": 3}], TypeError, "'name' must be a string"),
]


@pytest.mark.parametrize("configs, error, match", BAD_CONFIGS)
def test_bad_configurations_are_rejected_before_any_training(
    data, monkeypatch, configs, error, match
):
    def no_training(*args, **kwargs):
        raise AssertionError("training started before every configuration was checked")

    monkeypatch.setattr(sweep_local, "train_group", no_training)
    X, labels, _ = data
    with pytest.raises(error, match=match):
        sweep(X, labels, configs)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_jobs": 0}, ValueError, "n_jobs must be -1"),
        ({"n_jobs": "2"}, TypeError, "n_jobs must be an integer"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"validation_data": [1]}, TypeError, r"validation_data must be a tuple"),
        ({"epochs": 0}, ValueError, r"configs\[0\]: epochs must be >= 1"),
        ({"client": ""}, ValueError, "client must be"),
    ],
)
def test_bad_arguments(data, kwargs, error, match):
    X, labels, _ = data
    with pytest.raises(error, match=match):
        sweep(X, labels, [GOOD], **kwargs)


def test_bad_validation_data_names_the_configuration(data):
    X, labels, _ = data
    with pytest.raises(ValueError, match=r"configs\[0\]: validation_data\[0\] has 29 columns"):
        sweep(X, labels, [GOOD], validation_data=(X[:, :29], labels))


@pytest.fixture(scope="module")
def results(data):
    X, labels, validation = data
    grid = {"sizes": [SIZES], "optimizer": ["sgd", "adam"], "lr": [0.01, 0.1]}
    return sweep(X, labels, grid, epochs=2, validation_data=validation)


def test_results_name_what_differs_and_pick_the_best(results):
    assert [result.name for result in results][:2] == [
        "optimizer=sgd, lr=0.01",
        "optimizer=sgd, lr=0.1",
    ]
    accuracies = [result.val_acc for result in results]
    losses = [result.val_loss for result in results]
    assert results.best("val_acc").val_acc == max(accuracies)
    assert results.best("val_loss").val_loss == min(losses)
    assert results.best("loss").loss == min(result.loss for result in results)
    with pytest.raises(ValueError, match="metric must be one of"):
        results.best("accuracy")
    assert "4 configurations" in repr(results)


def test_results_table_as_rows_csv_and_markdown(results, tmp_path):
    rows = results.to_rows()
    assert list(rows[0]) == [
        "config",
        "name",
        "sizes",
        "optimizer",
        "lr",
        "epochs",
        "loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "seconds",
        "status",
    ]
    assert rows[3]["optimizer"] == "adam" and rows[3]["sizes"] == "30-17-4"
    path = tmp_path / "results.csv"
    text = results.to_csv(path)
    assert path.read_text() == text
    read = list(csv.DictReader(io.StringIO(text)))
    assert [float(row["val_acc"]) for row in read] == [result.val_acc for result in results]
    markdown = results.to_markdown(tmp_path / "results.md")
    lines = markdown.splitlines()
    assert len(lines) == 2 + len(results) and lines[1].startswith("|---|")


def test_results_chart(results, tmp_path):
    path = tmp_path / "chart.png"
    figure = results.plot("val_acc", path=path)
    assert len(figure.axes[0].lines) == len(results)
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert {line.get_label() for line in figure.axes[0].lines} == set(results.histories())


def test_named_configurations_and_regression_metrics():
    X, y = regression_data()
    configs = [
        {"name": "small", "sizes": [3, 2, 1], "output": "identity", "lr": 0.01},
        {"name": "wide", "sizes": [3, 8, 1], "output": "identity", "lr": 0.01},
    ]
    results = sweep(X, y, configs, epochs=2, validation_data=(X, y))
    assert list(results.histories()) == ["small", "wide"]
    assert results.n_groups == 2  # different widths never share a kernel call
    with pytest.raises(ValueError, match="no configuration finished with a val_acc"):
        results.best("val_acc")


def test_compare_optimizers_in_parallel_gives_the_same_histories(data):
    X, labels, validation = data
    family = {"SGD": "sgd", "Adam": optimizers.Adam(lr=0.01), "AdaGrad": "adagrad"}
    kwargs = {"epochs": 2, "validation_data": validation, "dtype": "float64"}
    alone = compare_optimizers(X, labels, SIZES, family, n_jobs=1, **kwargs)
    together = compare_optimizers(X, labels, SIZES, family, n_jobs=2, **kwargs)
    assert list(together) == ["SGD", "Adam", "AdaGrad"]
    for name in family:
        assert_same_history(together[name], alone[name])
    assert family["Adam"].state_ is None


def test_compare_optimizers_raises_when_one_diverges():
    X, y = regression_data()
    with pytest.raises(TrainingDivergedError):
        compare_optimizers(
            X, y, [3, 1], {"big": optimizers.SGD(lr=1.5)}, output="identity", epochs=30
        )


def test_import_fastnn_does_not_import_dask(data):
    code = (
        "import sys, numpy as np, fastnn\n"
        "X = np.random.default_rng(0).random((20, 3))\n"
        "fastnn.sweep(X, X.sum(axis=1), [{'sizes': [3, 1], 'output': 'identity'}])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    root = Path(__file__).resolve().parent.parent
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


# ------------------------------------------------------------------ the command line


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sweep_command_writes_table_and_chart(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.setattr("fastnn.cli.common._stderr_is_terminal", lambda: True)  # bars only on a tty
    out = tmp_path / "sweep"
    argv = ["sweep", "--data", "digits", "--sizes", "64,16,10", "8", "--rows", "300"]
    argv += ["--optimizer", "sgd,adam", "--lr", "0.01,0.03", "--seeds", "0", "--epochs", "2"]
    code, stdout, stderr = run(argv + ["--out", str(out)], capsys)
    assert code == 0, stderr
    assert "8 configurations" in stdout and "selected by validation accuracy: #" in stdout
    assert "270 training and 30 validation rows" in stdout
    assert "sizes=64-16-10, optimizer=adam, lr=0.03" in stdout
    assert "config/s" in stderr  # the progress bar over configurations
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 8 and {row["status"] for row in rows} == {"ok"}
    assert (out / "results.md").read_text().count("\n") == 10
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    # The same configuration trained by MLP.fit on the same held-out rows: the table
    # holds its numbers. The test rows are never in the table.
    from fastnn.datasets import load_digits

    (X, y), test = load_digits()
    net = MLP([64, 16, 10], seed=0)
    history = net.fit(
        X[:300], y[:300], optimizer=optimizers.Adam(lr=0.03), epochs=2, validation_split=0.1
    )
    assert float(rows[3]["val_acc"]) == history.val_acc[-1]
    assert "test" not in (out / "results.csv").read_text().splitlines()[0]
    # The selected configuration, by validation accuracy, and its test accuracy apart.
    best = max(range(8), key=lambda index: (float(rows[index]["val_acc"]), -index))
    assert f"selected by validation accuracy: #{best} " in stdout
    selected = MLP([64, 16, 10] if best < 4 else [64, 8, 10], seed=0)
    optimizer = optimizers.get(("sgd", "adam")[best // 2 % 2], lr=(0.01, 0.03)[best % 2])
    selected.fit(X[:300], y[:300], optimizer=optimizer, epochs=2, validation_split=0.1)
    assert f"test accuracy {selected.accuracy(*test):.4f}" in stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr", "0.01,0"], "--lr must be a positive number, got '0'"),
        (["--optimizer", ","], "--optimizer ',' names no value"),
        (["--optimizer", "sgd,adamax"], "unknown name 'adamax'"),
        (["--seeds", "0,-1"], "--seeds must be an integer >= 0, got '-1'"),
        (["--batch-size", "1,x"], "--batch-size must be a positive integer, got 'x'"),
        (["--sizes", "65,10,10"], "--sizes '65,10,10' does not fit the data"),
        (["--out", "{file}"], "exists and is not a folder"),
        (["--out", "{chart_folder}"], "comparison.png' is a folder"),
    ],
)
def test_sweep_command_errors_are_one_line(tmp_path, capsys, args, message):
    pytest.importorskip("sklearn")
    file = tmp_path / "file.txt"
    file.write_text("x")
    (tmp_path / "out" / "comparison.png").mkdir(parents=True)
    places = {"file": file, "chart_folder": tmp_path / "out"}
    args = [arg.format(**places) for arg in args]
    argv = ["sweep", "--data", "digits", "--rows", "100", "--epochs", "1"]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "fresh")]
    code, _, stderr = run(argv + args, capsys)
    assert code == 2 and "Traceback" not in stderr
    # An option's bad value comes after the command's usage, as argparse reports its own.
    lines = [line for line in stderr.splitlines() if line.strip()]
    if lines[0].startswith("usage: fastnn sweep "):
        lines = [line for line in lines if not line.startswith(("usage:", " "))]
    assert message in stderr and len(lines) == 1, stderr
