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


def test_train_shows_a_progress_bar(capsys):
    code, _, err = run(["train", "--data", "digits", "--epochs", "2"], capsys)
    assert code == 0
    assert "epoch 2/2" in err and "sample/s" in err


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
        (["train", "--plot", "{folder}/chart.pdf"], "the name must end with .png"),
        (["train", "--plot", "{missing}/chart.png"], "does not exist"),
        (["train", "--plot", "{folder}"], "is a folder"),
        (["train", "--save", "{data}"], "is the data file given to --data"),
        (["train", "--plot", "{folder}/chart.npz"], "the name must end with .png"),
        (["compare-optimizers", "--plot", "{folder}/x.svg"], "the name must end with .png"),
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
    """Make MLP.fit raise KeyboardInterrupt in its ``at_call``-th call, after damaging
    the weights as a Ctrl-C in the middle of an epoch would."""
    original = MLP.fit
    calls = []

    def fit(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == at_call:
            self.theta[...] = 123.0
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MLP, "fit", fit)


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
        assert process.returncode == 2 and "Traceback" not in err, err
        assert message in err and len(err.strip().splitlines()) == 1, err


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
