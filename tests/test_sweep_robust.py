"""What a sweep's results and its command promise: validation rows to select on, the test
set apart, per-configuration seconds, tables no spreadsheet or Markdown page can be
tricked by, charts whose lines stay apart, and no empty folder after an interrupted run."""

import csv
import io
import math

import numpy as np
import pytest

import fastnn
from fastnn import MLP, optimizers, plot, sweep
from fastnn.cli import main

N_ROWS = 90


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(4)
    X = rng.random((N_ROWS, 6))
    labels = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.7)
    return X, labels


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- selection on validation rows


def test_validation_split_holds_out_the_rows_fit_holds_out(data):
    X, labels = data
    configs = [{"sizes": [6, 5, 3], "lr": lr, "dtype": "float64"} for lr in (0.05, 0.2)]
    results = sweep(X, labels, configs, epochs=3, validation_split=0.2, seed=7)
    for result in results:
        net = MLP([6, 5, 3], dtype="float64", seed=7)
        history = net.fit(
            X, labels, optimizer=optimizers.SGD(lr=result.config["lr"]), epochs=3,
            validation_split=0.2,
        )  # fmt: skip
        np.testing.assert_array_equal(result.model().theta, net.theta)
        assert result.history.val_acc == history.val_acc
        assert result.history.val_loss == history.val_loss


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({"validation_split": 1.0}, ValueError, r"validation_split must be in \[0, 1\)"),
        ({"validation_split": "0.2"}, TypeError, "validation_split must be a fraction"),
        ({"validation_split": 0.001}, ValueError, "holds out 0"),
        ({"validation_split": 0.2, "validation_data": ([[0.0] * 6], [0])}, ValueError, "not both"),
    ],
)
def test_bad_validation_split_is_named(data, arguments, error, match):
    X, labels = data
    with pytest.raises(error, match=match):
        sweep(X, labels, [{"sizes": [6, 5, 3]}], **arguments)


def test_the_sweep_command_selects_on_validation_rows_and_reports_the_test_set_apart(
    tmp_path, capsys
):
    pytest.importorskip("sklearn")  # the digits data set
    out = tmp_path / "out"
    argv = ["sweep", "--data", "digits", "--rows", "200", "--sizes", "8", "--epochs", "2"]
    argv += ["--lr", "0.01,0.05", "--quiet", "--out", str(out)]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    header = stdout.splitlines()[1]
    assert "val acc" in header and "test" not in header
    assert "180 training and 20 validation rows" in stdout
    assert "selected by validation accuracy: #" in stdout
    assert "on the 360 test rows (used for it alone): test loss" in stdout
    assert "seconds: each configuration's share of the training time" in stdout
    # Without validation rows the command compares training losses, and still never
    # puts the test set in the table.
    code, stdout, _ = run([*argv, "--validation-split", "0"], capsys)
    assert code == 0 and "selected by training loss" in stdout
    assert "val acc" not in stdout.splitlines()[1]


def test_a_configurations_seconds_are_its_share_not_its_groups(data):
    X, labels = data
    configs = [{"sizes": [6, 5, 3], "lr": 0.01 * (seed + 1), "seed": seed} for seed in range(4)]
    results = sweep(X, labels, configs, epochs=3, n_jobs=2, validation_split=0.2)
    assert results.n_groups == 1
    seconds = [result.seconds for result in results]
    assert all(value > 0 for value in seconds)
    # Before, each held its group's wall time, so that they added up to about four
    # times the sweep's time.
    assert sum(seconds) <= results.seconds


# ---------------------------------------------------------------- tables


def results_named(names, data):
    X, labels = data
    configs = [{"sizes": [6, 4, 3], "name": name, "seed": seed} for seed, name in enumerate(names)]
    return sweep(X, labels, configs)


def test_csv_cells_never_start_a_spreadsheet_formula(data, tmp_path):
    names = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "plain", "-3.5e-2"]
    results = results_named(names, data)
    text = results.to_csv(tmp_path / "r.csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    written = [row["name"] for row in rows]
    assert written == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "-2", "'@SUM(A1)", "'\tTAB",
                       "plain", "-3.5e-2"]  # fmt: skip
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())
    assert (tmp_path / "r.csv").read_text() == text


def test_markdown_cells_keep_the_table_whole(data):
    results = results_named(["two\nlines", "a|b", "<img src=x onerror=alert(1)>"], data)
    lines = results.to_markdown().splitlines()
    assert len(lines) == 2 + 3
    assert all(line.count(" | ") == lines[0].count(" | ") for line in lines[2:])
    assert "two<br>lines" in lines[2] and "a\\|b" in lines[3]
    assert "<img" not in lines[4] and "&lt;img src=x onerror=alert(1)&gt;" in lines[4]


def test_to_dataframe_is_the_table(data):
    pandas = pytest.importorskip("pandas")
    X, labels = data
    grid = {"sizes": [[6, 4, 3]], "lr": [0.01, 0.1]}
    results = sweep(X, labels, grid, epochs=2, validation_data=(X, labels))
    frame = results.to_dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == list(results.to_rows()[0])
    assert frame["val_acc"].tolist() == [result.val_acc for result in results]
    assert frame.loc[1, "lr"] == "0.1" and frame.loc[0, "status"] == "ok"


# ---------------------------------------------------------------- charts


def test_a_plot_of_a_sweep_whose_every_configuration_diverged_says_so():
    rng = np.random.default_rng(1)
    X = rng.uniform(0.5, 1.5, (40, 3))
    y = 1e30 * X.sum(axis=1)
    configs = [{"sizes": [3, 1], "output": "identity", "lr": lr} for lr in (1.0, 2.0)]
    results = sweep(X, y, configs)
    assert [result.status for result in results] == ["diverged", "diverged"]
    with pytest.raises(ValueError, match=r"every configuration \(2\) diverged in its first epoch"):
        results.plot("loss")


def test_many_lines_each_have_a_look_of_their_own_and_the_selected_one_stands_out():
    histories = {f"config {i}": fastnn.History(loss=[1.0 / (i + 1), 0.5]) for i in range(45)}
    figure = plot.plot_comparison(histories, highlight="config 12", title="t")
    lines = figure.axes[0].get_lines()
    looks = {(line.get_color(), line.get_linestyle(), line.get_marker()) for line in lines}
    assert len(looks) == 45  # before: 10 colours repeating, all solid with round markers
    selected = [line for line in lines if line.get_label() == "config 12 (selected)"]
    assert len(selected) == 1 and selected[0].get_linewidth() > lines[0].get_linewidth()
    with pytest.raises(ValueError, match="highlight 'nope' is not one of"):
        plot.plot_comparison(histories, highlight="nope")


def test_the_sweep_chart_title_says_what_is_shown(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    drawn = {}
    original = plot.plot_comparison

    def spy(histories, **kwargs):
        drawn.update(kwargs)
        return original(histories, **kwargs)

    monkeypatch.setattr(plot, "plot_comparison", spy)
    argv = ["sweep", "--data", "digits", "--rows", "200", "--sizes", "8", "16", "--epochs", "2"]
    code, _, stderr = run([*argv, "--quiet", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, stderr
    title = drawn["title"].splitlines()
    assert title[0].startswith("validation accuracy per epoch of 2 configurations; selected: #")
    assert title[1] == "64-8-10 relu/softmax, 64-16-10 relu/softmax"
    assert "200 rows, 10% held out for validation" in title[2]
    assert drawn["metric"] == "val_acc" and drawn["highlight"] is not None


# ---------------------------------------------------------------- an interrupted command


def test_an_interrupted_sweep_command_leaves_no_empty_out_folder(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fastnn, "sweep", interrupted)
    out = tmp_path / "new" / "deeper"
    argv = ["sweep", "--data", "digits", "--rows", "100", "--epochs", "1", "--quiet"]
    code, _, stderr = run([*argv, "--out", str(out)], capsys)
    assert code == 130 and "interrupted" in stderr
    assert not (tmp_path / "new").exists()
    # A folder that was there before is left, and so is anything in it.
    existing = tmp_path / "kept"
    existing.mkdir()
    code, _, _ = run([*argv, "--out", str(existing)], capsys)
    assert code == 130 and existing.is_dir()


def test_nan_metrics_are_empty_cells_in_markdown_not_nan(data):
    results = results_named(["a"], data)
    row = results.to_markdown().splitlines()[2]
    assert "nan" not in row.lower() and math.isnan(results[0].val_acc)
