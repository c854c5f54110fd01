"""The fastnn command line: each command end to end, and clear errors with exit code 2."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastnn import MLP
from fastnn.cli import main

pytest.importorskip("sklearn")  # the digits data set comes with scikit-learn


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_of_each_command(capsys):
    for argv, needle in (
        [["--help"], "compare-optimizers"],
        [["train", "--help"], "--batch-size"],
        [["demo", "--help"], "--samples"],
        [["compare-optimizers", "--help"], "--optimizers"],
    ):
        code, out, _ = run(argv, capsys)
        assert code == 0 and needle in out


def test_demo_writes_its_charts(tmp_path, capsys):
    code, out, _ = run(
        ["demo", "--samples", "3000", "--epochs", "3", "--out", str(tmp_path / "charts")], capsys
    )
    assert code == 0
    assert "mean squared error on 2,000 fresh samples" in out
    assert "final test accuracy" in out
    for name in ("regression_step_loss.png", "digits_accuracy.png", "digits_loss.png"):
        png = tmp_path / "charts" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_saves_a_model_that_predicts(tmp_path, capsys):
    model, chart = tmp_path / "m.npz", tmp_path / "acc.png"
    code, out, _ = run(
        [
            "train",
            "--data",
            "digits",
            "--sizes",
            "64,32,10",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--save",
            str(model),
            "--plot",
            str(chart),
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, out
    assert "test accuracy" in out and chart.stat().st_size > 1000
    net = MLP.load(model)
    from fastnn.datasets import load_digits

    _, (X_test, y_test) = load_digits()
    assert net.sizes == [64, 32, 10]
    assert net.accuracy(X_test, y_test) > 0.8


def test_train_shows_a_progress_bar_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr("fastnn.cli.common._stderr_is_terminal", lambda: True)
    code, _, err = run(["train", "--data", "digits", "--epochs", "2"], capsys)
    assert code == 0
    assert "epoch 2/2" in err and "sample/s" in err


def test_a_redirected_log_gets_lines_not_progress_bars(tmp_path):
    # stderr to a file, as in `fastnn train > log 2>&1`: no bar redrawn with \r.
    log = tmp_path / "log"
    with log.open("w") as stream:
        result = subprocess.run(
            [sys.executable, "-m", "fastnn", "train", "--data", "digits", "--epochs", "2"],
            stdout=stream,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
    text = log.read_text()
    assert result.returncode == 0, text
    assert "\r" not in text and "sample/s" not in text
    assert "epoch   1  loss" in text and "epoch   2  loss" in text


def test_train_on_an_npz_file_and_regression(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.random((500, 3))
    path = tmp_path / "data.npz"
    np.savez(path, x_train=x, t_train=x.sum(axis=1))
    code, out, _ = run(
        ["train", "--data", str(path), "--sizes", "8", "--epochs", "2", "--quiet"], capsys
    )
    assert code == 0 and "MLP([3, 8, 1]" in out and "output='identity'" in out


def test_compare_optimizers_writes_the_chart(tmp_path, capsys):
    chart = tmp_path / "cmp.png"
    code, out, _ = run(
        [
            "compare-optimizers",
            "--data",
            "digits",
            "--optimizers",
            "sgd,adam",
            "--epochs",
            "2",
            "--rows",
            "400",
            "--plot",
            str(chart),
        ],
        capsys,
    )
    assert code == 0
    assert "sgd" in out and "adam" in out and chart.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "--epochs: must be a positive integer, got '0'"),
        (["train", "--lr", "-1"], "--lr: must be a positive number"),
        (["train", "--data", "cifar"], "--data: must be one of regression, digits"),
        (["train", "--optimizer", "adamax"], "unknown name 'adamax'"),
        (["train", "--sizes", "10,20,30"], "does not fit the data, which has 64 inputs"),
        (["train", "--sizes", "abc"], "--sizes must be comma-separated integers"),
        (["train", "--hidden", "swish"], "unknown activation 'swish'"),
        (["train", "--data", "missing.npz"], "missing.npz: no such data file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_without_traceback(argv, message, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_console_entry_point_reports_errors_cleanly():
    result = subprocess.run(
        [sys.executable, "-m", "fastnn", "train", "--epochs", "zero"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--epochs: must be a positive integer" in result.stderr
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ hardening (issue 9)


def save_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def one_line_error(code, err):
    """Assert the form of a user error: exit code 2, one line on stderr, no traceback.

    For errors argparse finds, its usage text comes first, as it always did."""
    lines = [line for line in err.splitlines() if line.strip()]
    if lines and lines[0].startswith("usage:"):
        lines = [line for line in lines if not line.startswith(("usage:", " "))]
    assert code == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


RNG = np.random.default_rng(0)
X20 = RNG.random((20, 3))
LABELS20 = RNG.integers(0, 3, 20)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"t_train": np.where(np.arange(20) == 3, np.nan, 1.0)}, "t_train contains nan at row 3"),
        ({"t_train": np.array(list("ab") * 10)}, "t_train must hold real numbers, got dtype <U1"),
        (
            {"t_train": LABELS20.astype(bool)},
            "t_train must hold integer class labels or float targets, got dtype bool",
        ),
        ({"x_train": X20[:, 0]}, "x_train must be 2-D (samples, features), got shape (20,)"),
        ({"x_test": X20}, "x_test without t_test"),
        ({"t_train": LABELS20[:19]}, "t_train has 19 rows, x_train 20"),
        ({"x_train": np.zeros((0, 3)), "t_train": np.zeros(0, int)}, "x_train has no samples"),
        ({"t_train": np.r_[-1, LABELS20[1:]]}, "t_train has label -1 at row 0"),
        (
            {"t_train": np.r_[LABELS20[:5], 10**9, LABELS20[6:]]},
            "t_train has label 1000000000 at row 5",
        ),
        ({"t_train": np.zeros(20, int)}, "t_train has only one class"),
        ({"t_train": LABELS20[:, None, None]}, "t_train must be 1-D"),
        ({"x_train": np.where(X20 > 0.9, np.nan, X20)}, "x_train contains nan at row 1, column 2"),
        ({"x_train": X20 * 1e300}, "x_train has a value too large for float32 at row 0"),
        ({"x_train": X20 + 1j}, "x_train must hold real numbers"),
        (
            {"x_test": X20[:, :2], "t_test": LABELS20},
            "x_test has 2 columns, x_train 3",
        ),
        ({"x_test": X20, "t_test": np.r_[-2, LABELS20[1:]]}, "t_test has label -2 at row 0"),
    ],
)
def test_bad_data_files_give_one_line_and_exit_2(tmp_path, capsys, arrays, message):
    arrays = {"x_train": X20, "t_train": LABELS20, **arrays}
    path = save_npz(tmp_path / "bad.npz", **arrays)
    code, _, err = run(["train", "--data", path, "--epochs", "1", "--quiet"], capsys)
    line = one_line_error(code, err)
    assert f"bad.npz: {message}" in line


@pytest.mark.parametrize("kind", ["directory", "not a zip"])
def test_data_paths_that_are_not_npz_files_give_one_line(tmp_path, capsys, kind):
    # A FIFO is refused by load_npz: test_datasets.py checks that with a deadline.
    path = tmp_path / "data.npz"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_text("x_train,t_train\n1,2\n")
    code, _, err = run(["train", "--data", str(path), "--quiet"], capsys)
    line = one_line_error(code, err)
    assert str(path) in line


def test_integer_label_column_and_multi_output_targets(tmp_path, capsys):
    # An (n, 1) integer column is labels; float rows that are not one-hot are
    # several regression targets (before, a softmax was fitted to them).
    path = save_npz(tmp_path / "labels.npz", x_train=X20, t_train=LABELS20[:, None])
    code, out, _ = run(
        ["train", "--data", path, "--sizes", "8", "--epochs", "1", "--quiet"], capsys
    )
    assert code == 0 and "MLP([3, 8, 3]" in out and "output='softmax'" in out
    path = save_npz(tmp_path / "targets.npz", x_train=X20, t_train=np.c_[X20.sum(1), -X20[:, 0]])
    code, out, _ = run(
        ["train", "--data", path, "--sizes", "8", "--epochs", "1", "--quiet"], capsys
    )
    assert code == 0 and "MLP([3, 8, 2]" in out and "output='identity'" in out


def bad_output_cases():
    cases = [
        (["train", "--save", "{missing}/m.npz"], "does not exist; create it first"),
        (["train", "--save", "{file}/m.npz"], "is a file, not a folder"),
        (["train", "--save", "{folder}"], "is a folder; give a file name"),
        (["train", "--save", ""], "--save needs a file name ending with .npz"),
        (["train", "--save", "{folder}/m.txt"], "the name must end with .npz"),
        (
            ["train", "--plot", "{folder}/chart.gif"],
            "must end with .png, .jpg, .jpeg, .svg or .pdf",
        ),
        (["train", "--plot", "{missing}/chart.png"], "does not exist"),
        (["train", "--plot", "{folder}"], "is a folder"),
        (["train", "--save", "{data}"], "is the data file given to --data"),
        (["train", "--plot", "{folder}/chart.npz"], "the name must end with .png, .jpg"),
        (["train", "--plot", "{folder}/chart"], "the name must end with .png, .jpg"),
        (["compare-optimizers", "--plot", "{folder}/x.txt"], "the name must end with .png"),
        (["compare-optimizers", "--plot", "{missing}/x.png"], "does not exist"),
    ]
    if sys.platform.startswith("linux"):  # a folder no one can create files in, even root
        cases.append((["train", "--save", "/proc/model.npz"], "cannot write in the folder"))
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        cases.append((["train", "--save", "{locked}/m.npz"], "cannot write in the folder"))
    return cases


@pytest.mark.parametrize("argv, message", bad_output_cases())
def test_bad_output_paths_are_refused_before_training(tmp_path, capsys, monkeypatch, argv, message):
    def no_training(*args, **kwargs):
        raise AssertionError("training started before the output paths were checked")

    monkeypatch.setattr(MLP, "fit", no_training)
    (tmp_path / "a-file").write_text("")
    (tmp_path / "folder").mkdir()
    (tmp_path / "locked").mkdir(mode=0o500)
    data = save_npz(tmp_path / "data.npz", x_train=X20, t_train=LABELS20)
    places = {
        "missing": tmp_path / "missing",
        "file": tmp_path / "a-file",
        "folder": tmp_path / "folder",
        "locked": tmp_path / "locked",
        "data": data,
    }
    argv = [part.format(**places) for part in argv] + ["--data", data, "--epochs", "1"]
    code, _, err = run(argv, capsys)
    assert message in one_line_error(code, err)
    assert Path(data).read_bytes()[:2] == b"PK"  # the data file is still the data


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--out", "{file}"], "--out '{file}' exists and is not a folder"),
        (["demo", "--out", "{file}/charts"], "cannot create the folder"),
        (["bench", "--quick", "--out", "{file}"], "exists and is not a folder"),
    ],
)
def test_bad_output_folders_are_refused_first(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.setattr(MLP, "fit", lambda *a, **k: pytest.fail("training started"))
    (tmp_path / "a-file").write_text("")
    places = {"file": tmp_path / "a-file"}
    code, _, err = run([part.format(**places) for part in argv], capsys)
    assert message.format(**places) in one_line_error(code, err)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare-optimizers", "--optimizers", ","], "--optimizers ',' names no optimizer"),
        (["train", "--lr", "1e39"], "--lr 1e+39 is not a positive finite float32"),
        (["train", "--lr", "1e-320"], "is not a positive finite float32 (it becomes 0.0)"),
        (["train", "--seed", "-1"], "--seed: must be an integer >= 0, got '-1'"),
        (["train", "--sizes", "100000000000"], "more than this machine's"),
    ],
)
def test_more_bad_arguments_give_one_line(capsys, argv, message):
    code, _, err = run(argv + ["--epochs", "1"], capsys)
    assert message in one_line_error(code, err)


def interrupting_fit(monkeypatch, at_call):
    """Make training raise KeyboardInterrupt in its ``at_call``-th epoch, after damaging
    the weights as a Ctrl-C in the middle of an epoch would."""
    from fastnn.training.engine import EpochRunner

    original = EpochRunner.epoch
    calls = []

    def epoch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == at_call:
            self.network.theta[...] = 123.0
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EpochRunner, "epoch", epoch)


REGRESSION_ARGS = ["--sizes", "4", "--lr", "0.05", "--seed", "3", "--quiet"]


def reference_network(x, t, epochs, lr, sizes, dtype="float32"):
    from fastnn import optimizers

    net = MLP(sizes, output="identity", dtype=dtype, seed=3)
    net.fit(x, t, optimizer=optimizers.SGD(lr=lr), epochs=epochs)
    return net


def test_ctrl_c_saves_the_last_complete_epoch(tmp_path, capsys, monkeypatch):
    data = save_npz(tmp_path / "reg.npz", x_train=X20, t_train=X20.sum(axis=1))
    model, chart = tmp_path / "m.npz", tmp_path / "loss.png"
    interrupting_fit(monkeypatch, at_call=3)
    argv = ["train", "--data", data, "--epochs", "10", "--save", str(model), "--plot", str(chart)]
    code, out, err = run(argv + REGRESSION_ARGS, capsys)
    assert code == 130 and "Traceback" not in err
    assert (
        f"interrupted during epoch 3 of 10; saved the model to {model} and the chart to "
        f"{chart} from the end of epoch 2, the last complete one"
    ) in err
    monkeypatch.undo()
    expected = reference_network(X20, X20.sum(axis=1), 2, 0.05, [3, 4, 1])
    assert np.array_equal(MLP.load(model).theta, expected.theta)
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_ctrl_c_before_the_first_epoch_leaves_an_old_model_alone(tmp_path, capsys, monkeypatch):
    data = save_npz(tmp_path / "reg.npz", x_train=X20, t_train=X20.sum(axis=1))
    model = tmp_path / "m.npz"
    model.write_bytes(b"the previous model")
    interrupting_fit(monkeypatch, at_call=1)
    code, _, err = run(["train", "--data", data, "--save", str(model)] + REGRESSION_ARGS, capsys)
    assert code == 130
    assert f"no epoch completed, so nothing was written to {model}" in err
    assert model.read_bytes() == b"the previous model"


def diverging_data(tmp_path):
    # A linear unit trained per sample with lr=2 on inputs near 1 grows its error at
    # every step, until the loss overflows some epochs in.
    x = np.random.default_rng(0).uniform(0.5, 1.5, (20, 1))
    return x, 2 * x[:, 0], save_npz(tmp_path / "linear.npz", x_train=x, t_train=2 * x[:, 0])


def test_divergence_exits_2_and_saves_the_last_good_epoch(tmp_path, capsys):
    x, t, data = diverging_data(tmp_path)
    model = tmp_path / "m.npz"
    argv = ["train", "--data", data, "--sizes", "1,1", "--lr", "2", "--epochs", "50"]
    code, _, err = run(argv + ["--save", str(model), "--seed", "3", "--quiet"], capsys)
    line = one_line_error(code, err)
    found = re.search(r"training diverged during epoch (\d+) of 50 .* smaller --lr than 2\b", line)
    assert found, line
    good_epoch = int(found.group(1)) - 1
    assert good_epoch >= 1, "the data should diverge after some complete epochs"
    assert f"saved the model to {model} from the end of epoch {good_epoch}," in line
    saved = MLP.load(model)
    assert np.all(np.isfinite(saved.theta))
    assert np.array_equal(saved.theta, reference_network(x, t, good_epoch, 2.0, [1, 1]).theta)


def test_compare_leaves_out_an_optimizer_that_diverges(tmp_path, capsys):
    # Unscaled data: plain SGD at its default lr=0.01 overflows in the first epoch.
    data = save_npz(tmp_path / "raw.npz", x_train=X20 * 1000, t_train=X20.sum(axis=1) * 1e6)
    chart = tmp_path / "cmp.png"
    argv = ["compare-optimizers", "--data", data, "--epochs", "2", "--plot", str(chart)]
    code, out, err = run(argv + ["--optimizers", "sgd,adam"], capsys)
    assert code == 0 and "Traceback" not in err
    assert "sgd diverged and is left out of the chart (the training loss became" in err
    assert "adam  final loss" in out and "sgd  final loss" not in out
    assert chart.read_bytes()[:4] == b"\x89PNG"
    code, _, err = run(argv + ["--optimizers", "sgd,momentum"], capsys)
    assert code == 2 and "every optimizer diverged (sgd, momentum)" in err


def test_demo_divergence_is_one_line(tmp_path, capsys):
    argv = ["demo", "--samples", "200", "--lr", "1000", "--epochs", "1", "--out", str(tmp_path)]
    code, _, err = run(argv, capsys)
    assert "the regression diverged with --lr 1000" in one_line_error(code, err)


# End to end, in a fresh process: exit codes and stderr exactly as a shell sees them.


def fastnn_process(argv, **kwargs):
    # A shell's background jobs ignore SIGINT, and children inherit that; restore the
    # default so that Python turns SIGINT into KeyboardInterrupt as in a terminal.
    def default_sigint():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    return subprocess.Popen(
        [sys.executable, "-m", "fastnn", *argv],
        text=True,
        preexec_fn=default_sigint if os.name == "posix" else None,
        **kwargs,
    )


def test_bad_command_lines_end_to_end(tmp_path):
    bad = save_npz(tmp_path / "bad.npz", x_train=X20, t_train=np.r_[np.nan, X20[1:, 0]])
    good = save_npz(tmp_path / "good.npz", x_train=X20, t_train=LABELS20)
    for argv, message in [
        (["train", "--data", bad], "bad.npz: t_train contains nan at row 0"),
        (["train", "--data", good, "--save", str(tmp_path / "no" / "m.npz")], "does not exist"),
        (["compare-optimizers", "--data", good, "--optimizers", ","], "names no optimizer"),
    ]:
        process = fastnn_process(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = process.communicate(timeout=120)
        assert message in one_line_error(process.returncode, err)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT, as Ctrl-C in a terminal does")
def test_sigint_end_to_end_keeps_the_last_complete_epoch(tmp_path):
    data = save_npz(tmp_path / "reg.npz", x_train=X20, t_train=X20.sum(axis=1))
    model = tmp_path / "m.npz"
    argv = ["train", "--data", data, "--epochs", "1000000", "--save", str(model)]
    process = fastnn_process(argv + REGRESSION_ARGS, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for line in process.stdout:
            if line.startswith("epoch   2"):
                process.send_signal(signal.SIGINT)
                break
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130 and "Traceback" not in err, err
    found = re.search(r"saved the model to .* from the end of epoch (\d+), the last complete", err)
    assert found, err
    epoch = int(found.group(1))
    expected = reference_network(X20, X20.sum(axis=1), epoch, 0.05, [3, 4, 1])
    assert np.array_equal(MLP.load(model).theta, expected.theta)


def test_closed_stdout_ends_quietly(tmp_path):
    data = save_npz(tmp_path / "reg.npz", x_train=X20, t_train=X20.sum(axis=1))
    argv = ["train", "--data", data, "--epochs", "100000"] + REGRESSION_ARGS
    process = fastnn_process(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()  # as `fastnn train | head -1` does
    err = process.stderr.read()
    process.wait(timeout=120)
    assert process.returncode == 141 and "Traceback" not in err and "Exception" not in err, err


# ------------------------------------------------------------------ issue 11: the command line


def usage_then_error(code, err, command):
    """Assert an option error as argparse reports it: the command's usage, then one line."""
    assert code == 2 and "Traceback" not in err, err
    assert err.startswith(f"usage: fastnn {command} "), err
    return one_line_error(code, err)


def test_version(capsys):
    from fastnn import __version__

    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"fastnn {__version__}"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--lr", "1e39"], "--lr 1e+39 is not a positive finite float32"),
        (["train", "--frobnicate", "3"], "unrecognized arguments: --frobnicate 3"),
        (["train", "--optimizer", "adamax"], "unknown name 'adamax'"),
        (["train", "--sizes", "abc"], "--sizes must be comma-separated integers"),
        (["train", "--hidden", "swish"], "unknown activation 'swish'"),
        (["train", "--optimizer", "adam", "--momentum", "0.9"], "'adam' has no momentum"),
        (["train", "--optimizer", "momentum", "--weight-decay", "0.1"], "has no weight_decay"),
        (["train", "--init", "zero"], "--init: must be he, xavier or a positive standard"),
        (["train", "--momentum", "-1"], "--momentum: must be a number >= 0"),
        (["train", "--plot", "chart.gif"], "must end with .png, .jpg, .jpeg, .svg or .pdf"),
        (["compare-optimizers", "--optimizers", ","], "names no optimizer"),
        (["sweep", "--lr", "x"], "--lr must be a positive number"),
        (["predict", "--model", "m.npz", "--data", "digits", "--out", "p.txt"], "end with .npy"),
    ],
)
def test_option_errors_come_with_the_commands_usage(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(MLP, "fit", lambda *a, **k: pytest.fail("training started"))
    code, _, err = run(argv + ["--epochs", "1"] if argv[0] == "train" else argv, capsys)
    assert message in usage_then_error(code, err, argv[0])


def test_train_flags_reach_the_network_and_the_optimizer(tmp_path, capsys):
    model = tmp_path / "m.npz"
    argv = ["train", "--sizes", "16", "--epochs", "1", "--optimizer", "sgd", "--lr", "0.02"]
    argv += ["--momentum", "0.8", "--weight-decay", "0.001", "--init", "0.05", "--quiet"]
    code, out, _ = run(argv + ["--save", str(model)], capsys)
    assert code == 0, out
    assert "SGD(lr=0.02, momentum=0.8, dampening=0.0, nesterov=False, weight_decay=0.001)" in out
    net = MLP.load(model)
    assert net.init == 0.05
    assert net.optimizer_.momentum == 0.8 and net.optimizer_.weight_decay == 0.001
    fresh = MLP([64, 16, 10], init=0.05, seed=0)  # what --init 0.05 --seed 0 starts from
    assert np.std(fresh.params["W1"]) == pytest.approx(0.05, rel=0.05)


def test_float_labels_in_an_npz_are_classes_as_fit_reads_them(tmp_path, capsys):
    path = save_npz(tmp_path / "floats.npz", x_train=X20, t_train=LABELS20.astype(np.float64))
    code, out, _ = run(
        ["train", "--data", path, "--sizes", "8", "--epochs", "1", "--quiet"], capsys
    )
    assert code == 0 and "MLP([3, 8, 3]" in out and "output='softmax'" in out
    assert "whole numbers stored as floats: read as class labels" in out
    argv = ["train", "--data", path, "--sizes", "8", "--epochs", "1", "--quiet"]
    code, out, _ = run(argv + ["--output", "identity"], capsys)
    assert code == 0 and "MLP([3, 8, 1]" in out and "output='identity'" in out


def test_output_sigmoid_and_softmax_on_request(tmp_path, capsys):
    binary = save_npz(tmp_path / "binary.npz", x_train=X20, t_train=(LABELS20 > 0).astype(int))
    argv = ["train", "--data", binary, "--sizes", "8", "--epochs", "1", "--quiet"]
    code, out, _ = run(argv + ["--output", "sigmoid"], capsys)
    assert code == 0 and "MLP([3, 8, 1]" in out and "output='sigmoid'" in out
    three = save_npz(tmp_path / "three.npz", x_train=X20, t_train=LABELS20)
    argv = ["train", "--data", three, "--sizes", "8", "--epochs", "1", "--quiet"]
    code, _, err = run(argv + ["--output", "sigmoid"], capsys)
    assert "use --output softmax for more than two classes" in usage_then_error(code, err, "train")
    targets = save_npz(tmp_path / "targets.npz", x_train=X20, t_train=X20.sum(axis=1))
    argv = ["train", "--data", targets, "--sizes", "8", "--epochs", "1", "--quiet"]
    code, _, err = run(argv + ["--output", "softmax"], capsys)
    assert "--output softmax needs class labels" in usage_then_error(code, err, "train")


def test_regression_losses_keep_their_digits(tmp_path, capsys):
    # Targets of size 1e-3: losses near 1e-7, which .4f printed as 0.0000.
    path = save_npz(tmp_path / "small.npz", x_train=X20, t_train=1e-3 * X20.sum(axis=1))
    argv = ["train", "--data", path, "--sizes", "4", "--epochs", "2", "--quiet"]
    code, out, _ = run(argv + ["--lr", "0.01", "--seed", "1"], capsys)
    assert code == 0
    losses = re.findall(r"epoch +\d+  loss (\S+)", out)
    assert len(losses) == 2 and all(float(loss) > 0 for loss in losses), out
    assert "0.0000" not in out


@pytest.fixture(scope="module")
def saved_classifier(tmp_path_factory):
    """A digits classifier saved as fastnn train --save writes it."""
    folder = tmp_path_factory.mktemp("model")
    model = folder / "m.npz"
    argv = ["train", "--sizes", "32", "--optimizer", "adam", "--lr", "0.01", "--epochs", "3"]
    assert main(argv + ["--batch-size", "16", "--quiet", "--save", str(model)]) == 0
    return model


def digits_test():
    from fastnn.datasets import load_digits

    return load_digits()[1]


def test_evaluate_prints_what_the_model_measures(saved_classifier, capsys):
    code, out, _ = run(["evaluate", "--model", str(saved_classifier), "--data", "digits"], capsys)
    assert code == 0
    net = MLP.load(saved_classifier)
    loss, accuracy = net.evaluate(*digits_test())
    assert "on the test split of 8x8 digits (UCI), 360 rows" in out
    assert f"loss {loss:.4g}  accuracy {accuracy:.4f}" in out


def test_evaluate_a_regression_reports_r2_and_takes_float_labels(tmp_path, capsys):
    data = save_npz(tmp_path / "reg.npz", x_train=X20, t_train=X20.sum(axis=1))
    model = tmp_path / "reg.npz.model.npz"
    argv = ["train", "--data", data, "--sizes", "8", "--epochs", "3", "--quiet"]
    assert run(argv + ["--save", str(model)], capsys)[0] == 0
    code, out, _ = run(["evaluate", "--model", str(model), "--data", data], capsys)
    assert code == 0 and "on the train split of" in out  # the file has no test split
    net = MLP.load(model)
    assert f"loss {net.loss(X20, X20.sum(axis=1)):.4g}  R^2 " in out
    assert f"R^2 {net.score(X20, X20.sum(axis=1)):.4g}" in out


def test_predict_prints_a_summary_or_writes_npy_and_csv(saved_classifier, tmp_path, capsys):
    net = MLP.load(saved_classifier)
    X_test, _ = digits_test()
    argv = ["predict", "--model", str(saved_classifier), "--data", "digits"]
    code, out, _ = run(argv, capsys)
    assert code == 0 and "predicted classes: 0: " in out
    counts = np.bincount(net.predict_classes(X_test), minlength=10)
    assert "predicted classes: " + ", ".join(f"{c}: {n}" for c, n in enumerate(counts)) in out
    npy, csv = tmp_path / "p.npy", tmp_path / "p.csv"
    assert run(argv + ["--out", str(npy)], capsys)[0] == 0
    assert np.array_equal(np.load(npy, allow_pickle=False), net.predict(X_test))
    assert run(argv + ["--out", str(csv)], capsys)[0] == 0
    lines = csv.read_text().splitlines()
    assert lines[0] == "class," + ",".join(f"p{j}" for j in range(10))
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert np.array_equal(table[:, 0], net.predict_classes(X_test))
    assert np.array_equal(table[:, 1:].astype(np.float32), net.predict(X_test))  # exact digits


def test_predict_reads_a_npy_of_inputs_and_refuses_bad_ones(saved_classifier, tmp_path, capsys):
    X_test, _ = digits_test()
    inputs = tmp_path / "inputs.npy"
    np.save(inputs, X_test[:7].astype(np.float64))
    argv = ["predict", "--model", str(saved_classifier), "--data", str(inputs)]
    code, out, _ = run(argv, capsys)
    assert code == 0 and "7 rows" in out
    np.save(inputs, X_test[:7, :10])
    code, _, err = run(argv, capsys)
    assert "X has 10 columns (shape (7, 10)), the network needs 64" in one_line_error(code, err)
    inputs.write_bytes(inputs.read_bytes()[:200])  # the header and part of the data
    code, _, err = run(argv, capsys)
    assert "truncated or corrupt" in one_line_error(code, err)
    with inputs.open("wb") as stream:  # a header asking for 512 TB, and nothing after it
        header = {"descr": "<f8", "fortran_order": False, "shape": (10**12, 64)}
        np.lib.format.write_array_header_1_0(stream, header)
    code, _, err = run(argv, capsys)
    assert "(512,000,000,000,000 bytes) but only 0 bytes follow" in one_line_error(code, err)
    code, _, err = run(
        ["evaluate", "--model", str(saved_classifier), "--data", str(inputs)], capsys
    )
    assert "evaluate needs targets" in usage_then_error(code, err, "evaluate")


def test_plot_jpeg_is_a_jpeg(tmp_path, capsys):
    chart = tmp_path / "accuracy.jpg"
    argv = ["train", "--sizes", "8", "--epochs", "1", "--quiet", "--plot", str(chart)]
    assert run(argv, capsys)[0] == 0
    assert chart.read_bytes()[:3] == b"\xff\xd8\xff"


def test_compare_optimizers_trains_the_whole_family_by_default(tmp_path, capsys):
    from fastnn.cli.arguments import OPTIMIZER_NAMES

    chart = tmp_path / "family.png"
    argv = ["compare-optimizers", "--epochs", "1", "--rows", "100", "--plot", str(chart)]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert "adamw" in OPTIMIZER_NAMES and len(OPTIMIZER_NAMES) == 8
    for name in OPTIMIZER_NAMES:
        assert re.search(rf"^ +{name}  final loss", out, re.MULTILINE), out


def test_demo_reports_compile_time_for_both_parts(tmp_path, capsys):
    argv = ["demo", "--samples", "1000", "--epochs", "1", "--out", str(tmp_path)]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert out.count("compiling (or loading the compiled code) took") == 2, out


def test_train_with_dropout_a_validation_split_early_stopping_and_a_schedule(tmp_path, capsys):
    model = tmp_path / "m.npz"
    argv = [
        "train",
        "--data",
        "digits",
        "--sizes",
        "32",
        "--epochs",
        "6",
        "--dropout",
        "0.2",
        "--validation-split",
        "0.1",
        "--early-stopping",
        "1",
        "--schedule",
        "cosine",
        "--optimizer",
        "adam",
        "--save",
        str(model),
        "--quiet",
    ]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert lines and all("validation loss" in line for line in lines)
    assert "test accuracy" in out.splitlines()[-2] or "test accuracy" in out
    saved = MLP.load(model)
    assert saved.dropout == [0.2]


@pytest.mark.parametrize("monitor", ["val_loss", "val_acc"])
def test_early_stopping_keeps_the_best_epoch_of_what_monitor_names(monitor, capsys):
    # Adam at lr 0.01 overfits the digits within 8 epochs, so the best epoch is not the
    # last; patience 20 never stops the run, and the message must say all epochs ran.
    argv = ["train", "--data", "digits", "--sizes", "64,200,10", "--optimizer", "adam"]
    argv += ["--lr", "0.01", "--epochs", "8", "--validation-split", "0.3"]
    argv += ["--early-stopping", "20", "--monitor", monitor, "--quiet"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    figures = {}
    for line in out.splitlines():
        words = line.split()
        if words and words[0] == "epoch":
            figures[int(words[1])] = (float(words[words.index("loss", 3) + 1]), words)
    val_loss = {epoch: float(w[w.index("validation") + 2]) for epoch, (_, w) in figures.items()}
    val_acc = {epoch: float(w[-3] if w[-2] == "lr" else w[-1]) for epoch, (_, w) in figures.items()}
    assert sorted(figures) == list(range(1, 9))
    if monitor == "val_loss":
        best = min(val_loss, key=lambda epoch: (val_loss[epoch], epoch))
    else:
        best = max(val_acc, key=lambda epoch: (val_acc[epoch], -epoch))
    assert best != 8, "the case no longer overfits: the test needs a new setting"
    assert f"ran all 8 epochs; kept the weights of epoch {best}," in out
    assert "stopped early" not in out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--monitor", "val_acc"], "give it too"),
        (["--monitor", "val_f1"], "invalid choice: 'val_f1'"),
        (["--dropout", "1.5"], "--dropout"),
        (["--validation-split", "1"], "--validation-split"),
        (["--early-stopping", "-1"], "--early-stopping"),
        (["--schedule", "linear"], "--schedule 'linear': unknown name 'linear'; give one of"),
        (["--schedule", "step:x"], "step_size must be a number, got 'x'"),
        (["--schedule", "exp:2"], "gamma must be <= 1"),
        (["--early-stopping", "2"], "give --validation-split too"),
    ],
)
def test_bad_training_control_options_are_one_line(extra, message, capsys):
    code, _, err = run(["train", "--data", "digits", "--epochs", "1", *extra], capsys)
    assert code == 2 and "Traceback" not in err
    assert message in err


def test_monitor_val_acc_on_a_regression_is_one_line(capsys):
    argv = ["train", "--data", "regression", "--epochs", "1", "--validation-split", "0.2"]
    code, _, err = run([*argv, "--early-stopping", "1", "--monitor", "val_acc"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "--monitor val_acc needs classes" in err


@pytest.mark.parametrize("split", [False, True])
def test_train_chart_names_its_held_out_rows_and_the_starting_rate(split, tmp_path, monkeypatch):
    from fastnn import plot

    drawn = {}

    def record(history, **kwargs):
        drawn.update(kwargs)

    monkeypatch.setattr(plot, "plot_accuracy", record)
    argv = ["train", "--data", "digits", "--epochs", "3", "--optimizer", "adam", "--lr", "0.002"]
    argv += ["--schedule", "cosine", "--plot", str(tmp_path / "a.png"), "--quiet"]
    argv += ["--validation-split", "0.2"] if split else []
    assert main(argv) == 0
    # The curve is of the validation rows when some were held out, else of the test set.
    assert drawn["validation_label"] == ("validation" if split else "test")
    # Cosine over 3 epochs ends far below 0.002: the title gives the rate the run began with.
    assert "Adam lr=0.002 (cosine schedule)" in drawn["title"], drawn["title"]
