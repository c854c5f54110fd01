"""The fastnn command line: each command end to end, and clear errors with exit code 2."""

import subprocess
import sys

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
