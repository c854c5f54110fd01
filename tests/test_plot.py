"""fastnn.plot: each chart holds the data it was given, PNGs are written whole, bad input fails."""

import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import MLP, plot
from fastnn.model import History
from fastnn.plot.curves import TRAIN_LABEL

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def classifier_history():
    return History(
        loss=[0.9, 0.6, 0.45, 0.4],
        val_loss=[1.0, 0.7, 0.55, 0.5],
        train_acc=[0.5, 0.7, 0.8, 0.85],
        val_acc=[0.45, 0.65, 0.75, 0.8],
        step_losses=[np.array([1.2, 0.8, 0.7]), np.array([0.6, 0.5]), np.array([0.4])],
    )


def regression_history():
    return History(loss=[3.0, 1.5, 0.7], step_losses=[np.array([4.0, 2.0]), np.array([1.0])])


def assert_png(path):
    assert path.is_file()
    data = path.read_bytes()
    assert len(data) > len(PNG_SIGNATURE)
    assert data.startswith(PNG_SIGNATURE)
    leftovers = [entry.name for entry in path.parent.iterdir() if entry.name.endswith(".tmp")]
    assert leftovers == []


def legend_labels(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def descend(start, lr, steps):
    """Gradient descent on x0**2 + x1**2, recording every point visited."""
    x = np.array(start, dtype=float)
    points = [x.copy()]
    for _ in range(steps):
        x -= lr * 2 * x
        points.append(x.copy())
    return np.array(points)


def bowl(x):
    return x[0] ** 2 + x[1] ** 2


@pytest.fixture(scope="module")
def fitted_history():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 3))
    y = (X[:, 0] > 0).astype(int)
    return MLP([3, 4, 2], seed=0).fit(X, y, epochs=3, validation_data=(X, y))


# --------------------------------------------------------------------------- plot_loss


def test_loss_plot_holds_train_and_validation_loss(tmp_path):
    history = classifier_history()
    path = tmp_path / "loss.png"
    figure = plot.plot_loss(history, path)
    assert isinstance(figure, Figure)
    assert_png(path)
    ax = figure.axes[0]
    train, validation = ax.get_lines()
    assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
    assert_array_equal(train.get_ydata(), history.loss)
    assert_array_equal(validation.get_ydata(), history.val_loss)
    assert legend_labels(ax) == [TRAIN_LABEL, "validation"]
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel() == "loss"
    assert ax.get_title() == "loss"


def test_loss_plot_without_validation_has_one_line():
    history = regression_history()
    ax = plot.plot_loss(history, title="MSE").axes[0]
    assert len(ax.get_lines()) == 1
    assert_array_equal(ax.get_lines()[0].get_ydata(), history.loss)
    assert ax.get_title() == "MSE"


def test_loss_plot_log_scale_and_no_title():
    ax = plot.plot_loss(classifier_history(), log=True, title="").axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_title() == ""


def test_loss_plot_of_a_real_fit(tmp_path, fitted_history):
    assert len(fitted_history.loss) == 3
    path = tmp_path / "fit.png"
    ax = plot.plot_loss(fitted_history, path).axes[0]
    assert_png(path)
    assert_allclose(ax.get_lines()[0].get_ydata(), fitted_history.loss)
    assert_allclose(ax.get_lines()[1].get_ydata(), fitted_history.val_loss)


def test_drawing_into_a_given_axes_returns_its_figure(tmp_path):
    figure = Figure()
    left, right = figure.subplots(1, 2)
    path = tmp_path / "both.png"
    assert plot.plot_loss(classifier_history(), ax=left) is figure
    assert plot.plot_accuracy(classifier_history(), path, ax=right) is figure
    assert len(left.get_lines()) == 2
    assert right.get_ylabel() == "accuracy"
    assert_png(path)


# --------------------------------------------------------------------------- plot_accuracy


def test_accuracy_plot_holds_both_accuracies(tmp_path):
    history = classifier_history()
    path = tmp_path / "accuracy.png"
    ax = plot.plot_accuracy(history, path).axes[0]
    assert_png(path)
    train, validation = ax.get_lines()
    assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
    assert_array_equal(train.get_ydata(), history.train_acc)
    assert_array_equal(validation.get_ydata(), history.val_acc)
    low, high = ax.get_ylim()
    assert 0 < low < 0.45 and 0.85 < high < 1  # the data's span, with a margin
    assert ax.get_title() == "accuracy"
    assert legend_labels(ax) == [TRAIN_LABEL, "validation"]


def test_accuracy_plot_of_a_real_fit(tmp_path, fitted_history):
    path = tmp_path / "fit_accuracy.png"
    ax = plot.plot_accuracy(fitted_history, path).axes[0]
    assert_png(path)
    assert plot.plot_accuracy(fitted_history, title="正答率").axes[0].get_title() == "正答率"
    assert_allclose(ax.get_lines()[0].get_ydata(), fitted_history.train_acc)
    assert_allclose(ax.get_lines()[1].get_ydata(), fitted_history.val_acc)


def test_accuracy_of_a_regression_history_is_refused(tmp_path):
    path = tmp_path / "nothing.png"
    with pytest.raises(ValueError, match="history has no accuracy"):
        plot.plot_accuracy(regression_history(), path)
    assert not path.exists()


# --------------------------------------------------------------------------- plot_step_loss


def test_step_loss_scatter_holds_every_step(tmp_path):
    history = classifier_history()
    path = tmp_path / "steps.png"
    ax = plot.plot_step_loss(history, path).axes[0]
    assert_png(path)
    (points,) = ax.collections
    offsets = np.asarray(points.get_offsets())
    assert_array_equal(offsets[:, 0], np.arange(1, 7))
    assert_array_equal(offsets[:, 1], history.step_loss)
    assert ax.get_xlabel() == "step"
    assert ax.get_yscale() == "linear"
    assert len(ax.get_lines()) == 1  # the running mean (of 1 step: 1% of 6, at least 1)


def test_step_loss_of_a_real_fit_on_a_log_scale(fitted_history):
    ax = plot.plot_step_loss(fitted_history, log=True).axes[0]
    offsets = np.asarray(ax.collections[0].get_offsets())
    assert len(offsets) == 3 * 12
    assert_allclose(offsets[:, 1], fitted_history.step_loss)
    assert ax.get_yscale() == "log"


def test_step_loss_needs_steps():
    with pytest.raises(ValueError, match="history.step_losses is empty"):
        plot.plot_step_loss(History(loss=[1.0]))


# --------------------------------------------------------------------------- plot_gradient_descent


def test_gradient_descent_draws_the_trajectory_over_contours(tmp_path):
    points = descend([-3.0, 4.0], lr=0.1, steps=20)
    path = tmp_path / "descent.png"
    ax = plot.plot_gradient_descent(bowl, points, path).axes[0]
    assert_png(path)
    trajectory = ax.get_lines()[0]
    assert_array_equal(trajectory.get_xdata(), points[:, 0])
    assert_array_equal(trajectory.get_ydata(), points[:, 1])
    assert len(ax.collections) >= 1  # the contours
    low, high = ax.get_xlim()
    assert low < points[:, 0].min() and high > points[:, 0].max()
    low, high = ax.get_ylim()
    assert low < points[:, 1].min() and high > points[:, 1].max()
    assert ax.get_title() == "gradient descent"


def test_gradient_descent_keeps_given_limits_and_levels():
    points = descend([-3.0, 4.0], lr=0.1, steps=5)
    ax = plot.plot_gradient_descent(
        bowl, points, xlim=(-5, 5), ylim=(-6, 6), levels=[1, 4, 9, 16]
    ).axes[0]
    assert ax.get_xlim() == (-5, 5)
    assert ax.get_ylim() == (-6, 6)


def test_gradient_descent_of_a_single_point():
    ax = plot.plot_gradient_descent(bowl, [[1.0, 1.0]]).axes[0]
    low, high = ax.get_xlim()
    assert low < 1.0 < high


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({"f": 3}, TypeError, "f must be a callable"),
        ({"history": np.zeros((4, 3))}, ValueError, r"history must have shape \(steps, 2\)"),
        ({"history": np.zeros(4)}, ValueError, r"history must have shape \(steps, 2\)"),
        ({"history": np.zeros((0, 2))}, ValueError, "at least one step"),
        ({"history": [[0, 0], [np.nan, 1]]}, ValueError, "history contains NaN"),
        ({"xlim": (1, -1)}, ValueError, "xlim must be finite with low < high"),
        ({"ylim": 3}, ValueError, "ylim must be a pair"),
        ({"levels": 0}, ValueError, "levels must be >= 1"),
        ({"levels": [3, 1]}, ValueError, "levels must be a positive int or an increasing"),
        ({"f": lambda x: x}, TypeError, "f must return a real scalar"),
        ({"f": lambda x: np.nan}, ValueError, "f is NaN or inf everywhere"),
    ],
)
def test_gradient_descent_bad_input(arguments, error, match):
    call = {"f": bowl, "history": descend([1.0, 1.0], 0.1, 3)} | arguments
    with pytest.raises(error, match=match):
        plot.plot_gradient_descent(**call)


# --------------------------------------------------------------------------- plot_comparison


def test_comparison_has_one_labelled_line_per_history(tmp_path):
    histories = {
        "SGD": classifier_history(),
        "mini-batch": History(loss=[0.8, 0.5, 0.3], val_loss=[0.9, 0.6, 0.4]),
        "Adam": History(loss=[0.5, 0.2], val_loss=[0.6, 0.3]),
    }
    path = tmp_path / "compare.png"
    ax = plot.plot_comparison(histories, "val_loss", path).axes[0]
    assert_png(path)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["SGD", "mini-batch", "Adam"]
    assert legend_labels(ax) == ["SGD", "mini-batch", "Adam"]
    for line, history in zip(lines, histories.values(), strict=True):
        assert_array_equal(line.get_ydata(), history.val_loss)
        assert_array_equal(line.get_xdata(), np.arange(1, len(history.val_loss) + 1))
    assert ax.get_ylabel() == "validation loss"


def test_comparison_of_accuracy_shows_the_data(fitted_history):
    histories = {"real": fitted_history, "hand": classifier_history()}
    ax = plot.plot_comparison(histories, metric="train_acc").axes[0]
    assert_allclose(ax.get_lines()[0].get_ydata(), fitted_history.train_acc)
    values = np.concatenate([fitted_history.train_acc, classifier_history().train_acc])
    low, high = ax.get_ylim()
    assert low < values.min() and values.max() < high
    assert all(0 <= tick <= 1 for tick in ax.get_yticks())
    ax = plot.plot_comparison(histories, metric="train_acc", ylim=(0, 1)).axes[0]
    assert ax.get_ylim() == (0, 1)


@pytest.mark.parametrize(
    "histories, metric, error, match",
    [
        ({"a": classifier_history()}, "accuracy", ValueError, "metric must be one of"),
        ({}, "loss", ValueError, "histories is empty"),
        ([classifier_history()], "loss", TypeError, "histories must be a dict"),
        ({"a": "not a history"}, "loss", TypeError, r"histories\['a'\] must be a fastnn History"),
        (
            {"cls": classifier_history(), "reg": regression_history()},
            "val_acc",
            ValueError,
            r"histories\['reg'\]\.val_acc is empty",
        ),
    ],
)
def test_comparison_bad_input(histories, metric, error, match):
    with pytest.raises(error, match=match):
        plot.plot_comparison(histories, metric)


# --------------------------------------------------------------------------- shared arguments


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({"history": [0.5, 0.4]}, TypeError, "history must be a fastnn History"),
        ({"history": History()}, ValueError, "history.loss is empty"),
        ({"title": 3}, TypeError, "title must be a string"),
        ({"ax": "left"}, TypeError, "ax must be a matplotlib Axes"),
        ({"log": "yes"}, TypeError, "log must be True or False"),
        ({"path": 5}, TypeError, "path must be a str or os.PathLike"),
    ],
)
def test_bad_shared_arguments(arguments, error, match):
    call = {"history": classifier_history()} | arguments
    with pytest.raises(error, match=match):
        plot.plot_loss(**call)


def test_save_into_a_missing_directory_fails_before_drawing(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        plot.plot_loss(classifier_history(), tmp_path / "missing" / "loss.png")


def test_save_accepts_a_str_path_and_replaces_an_old_file(tmp_path):
    path = tmp_path / "loss.png"
    path.write_bytes(b"old")
    plot.plot_loss(classifier_history(), str(path))
    assert_png(path)


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "loss.png"
    path.write_bytes(b"old")

    def broken_savefig(self, handle, **kwargs):
        handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot.plot_loss(classifier_history(), path)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["loss.png"]


def test_importing_fastnn_does_not_import_matplotlib():
    code = "import fastnn, sys; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fastnn_plot_never_imports_pyplot():
    code = (
        "import sys; from fastnn import plot; from fastnn.model import History; "
        "plot.plot_loss(History(loss=[1.0, 0.5])); "
        "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_comparison_of_many_curves_puts_its_legend_beside_the_axes():
    from fastnn.model import History
    from fastnn.plot import plot_comparison
    from fastnn.plot.common import FIGSIZE, LEGEND_INSIDE_MAX

    histories = {f"run {k}": History(loss=[1.0, 0.5 + k / 100]) for k in range(12)}
    figure = plot_comparison(histories)
    legend = figure.axes[0].get_legend()
    assert len(legend.get_texts()) == 12 > LEGEND_INSIDE_MAX
    assert figure.get_size_inches()[0] > FIGSIZE[0]  # widened for the legend
    few = plot_comparison(dict(list(histories.items())[:3]))
    assert tuple(few.get_size_inches()) == tuple(FIGSIZE)


# ----------------------------------------------------------------- issue 11: honest charts


def accuracy_history(train, validation):
    return History(loss=[1.0] * len(train), train_acc=train, val_acc=validation)


def test_accuracy_limits_show_a_narrow_range_and_leave_room_for_markers_at_1():
    history = accuracy_history([0.86, 0.9, 0.93, 0.95], [0.85, 0.88, 0.9, 0.91])
    ax = plot.plot_accuracy(history).axes[0]
    low, high = ax.get_ylim()
    assert 0.8 < low < 0.85 and 0.95 < high < 1.0  # not flattened into 0-1
    perfect = accuracy_history([0.9, 1.0, 1.0], [0.8, 0.95, 1.0])
    ax = plot.plot_accuracy(perfect).axes[0]
    low, high = ax.get_ylim()
    assert high > 1.0  # a marker at 1.0 is drawn whole
    assert low < 0.8
    assert all(0 <= tick <= 1 for tick in ax.get_yticks())  # but no tick beyond 1
    ax = plot.plot_accuracy(perfect, ylim=(0, 1)).axes[0]
    assert ax.get_ylim() == (0, 1)
    flat = accuracy_history([0.5, 0.5], [0.5, 0.5])
    low, high = plot.plot_accuracy(flat).axes[0].get_ylim()
    assert low < 0.5 < high and high - low > 0.01


def test_the_caller_names_the_validation_data():
    history = classifier_history()
    ax = plot.plot_loss(history, validation_label="test").axes[0]
    assert legend_labels(ax) == [TRAIN_LABEL, "test"]
    ax = plot.plot_accuracy(history, validation_label="test").axes[0]
    assert legend_labels(ax) == [TRAIN_LABEL, "test"]
    ax = plot.plot_comparison({"a": history}, "val_acc", validation_label="test").axes[0]
    assert ax.get_ylabel() == "test accuracy" and ax.get_title() == "test accuracy"
    with pytest.raises(ValueError, match="validation_label must not be empty"):
        plot.plot_loss(history, validation_label=" ")
    with pytest.raises(TypeError, match="validation_label must be a string"):
        plot.plot_accuracy(history, validation_label=None)


def test_step_loss_draws_the_running_mean_over_the_cloud():
    rng = np.random.default_rng(0)
    steps = np.exp(-np.arange(1000) / 300) * rng.exponential(size=1000)
    history = History(loss=[steps.mean()], step_losses=[steps])
    ax = plot.plot_step_loss(history, log=True).axes[0]
    (line,) = ax.get_lines()
    window = 10  # 1% of 1,000 steps
    expected = [steps[max(0, end - window) : end].mean() for end in range(1, 1001)]
    assert_allclose(line.get_ydata(), expected, rtol=1e-12)
    assert_array_equal(line.get_xdata(), np.arange(1, 1001))
    assert legend_labels(ax) == ["each step", "mean of the last 10 steps"]
    ax = plot.plot_step_loss(history, window=100).axes[0]
    assert_allclose(ax.get_lines()[0].get_ydata()[-1], steps[-100:].mean(), rtol=1e-12)
    assert plot.plot_step_loss(history, window=0).axes[0].get_lines() == []


@pytest.mark.parametrize(
    "window, error, match",
    [(-1, ValueError, "window must be >= 0"), (2.5, TypeError, "window must be a whole number")],
)
def test_step_loss_bad_window(window, error, match):
    with pytest.raises(error, match=match):
        plot.plot_step_loss(classifier_history(), window=window)


def test_gradient_descent_has_equal_scales_a_colour_bar_and_the_minimum():
    def shifted(x):
        return (x[0] - 1) ** 2 + 10 * (x[1] - 2) ** 2

    points = np.array([[0.0, 0.0], [0.2, 2.5], [0.5, 1.8], [0.8, 2.05], [0.95, 1.99]])
    figure = plot.plot_gradient_descent(shifted, points)
    ax, bar = figure.axes
    assert ax.get_aspect() == 1.0
    low_x, high_x = ax.get_xlim()
    low_y, high_y = ax.get_ylim()
    assert high_x - low_x == pytest.approx(high_y - low_y)  # a square, as the scales are equal
    assert bar.get_ylabel() == "f(x)"
    trajectory, star = ax.get_lines()
    assert_allclose([star.get_xdata()[0], star.get_ydata()[0]], [1, 2], atol=1e-6)
    assert star.get_label() == "minimum (1, 2)"
    assert_array_equal(trajectory.get_xdata(), points[:, 0])


def test_gradient_descent_minimum_given_hidden_or_outside_the_view():
    points = descend([-3.0, 4.0], lr=0.1, steps=3)  # stops far from the minimum at 0
    ax = plot.plot_gradient_descent(bowl, points, xlim=(-4, -1), ylim=(1, 4)).axes[0]
    assert len(ax.get_lines()) == 1  # the minimum lies outside: no star on the edge
    ax = plot.plot_gradient_descent(bowl, points, minimum=(0, 0), colorbar=False).axes[0]
    assert [ax.get_lines()[1].get_xdata()[0], ax.get_lines()[1].get_ydata()[0]] == [0, 0]
    assert len(ax.figure.axes) == 1
    ax = plot.plot_gradient_descent(bowl, points, minimum=False).axes[0]
    assert len(ax.get_lines()) == 1
    with pytest.raises(ValueError, match="minimum must be None, False or a finite point"):
        plot.plot_gradient_descent(bowl, points, minimum=(0, np.nan))


MAGIC = {".png": b"\x89PNG", ".jpg": b"\xff\xd8\xff", ".JPEG": b"\xff\xd8\xff", ".pdf": b"%PDF"}


@pytest.mark.parametrize("suffix", [*MAGIC, ".svg"])
def test_the_suffix_picks_the_format(tmp_path, suffix):
    path = tmp_path / f"loss{suffix}"
    plot.plot_loss(classifier_history(), path)
    data = path.read_bytes()
    if suffix == ".svg":
        assert b"<svg" in data[:1000]
    else:
        assert data.startswith(MAGIC[suffix])


@pytest.mark.parametrize("name", ["loss.gif", "loss.npz", "loss.png.txt"])
def test_an_unknown_suffix_is_refused_before_drawing(tmp_path, name):
    with pytest.raises(ValueError, match=r"charts are saved as \.png, \.jpg, \.jpeg, \.svg, \.pdf"):
        plot.plot_accuracy(classifier_history(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_name_without_suffix_is_a_png(tmp_path):
    plot.plot_loss(classifier_history(), tmp_path / "loss")
    assert (tmp_path / "loss").read_bytes().startswith(PNG_SIGNATURE)


def test_describe_training_names_the_network_optimizer_batch_and_data():
    from fastnn import optimizers

    net = MLP([64, 64, 10], hidden="relu", output="softmax")
    text = plot.describe_training(net, optimizers.SGD(lr=0.05), batch_size=1, data="8x8 digits")
    assert text == "64-64-10 relu/softmax, SGD lr=0.05, per sample, 8x8 digits"
    deep = MLP([2, 8, 8, 1], hidden=["tanh", "tanh"], output="identity")
    assert plot.describe_training(deep) == "2-8-8-1 tanh/identity"
    sgd = optimizers.SGD(lr=0.1, momentum=0.9, weight_decay=1e-4)
    assert plot.describe_training(optimizer=sgd, batch_size=32) == (
        "SGD lr=0.1 momentum=0.9 weight_decay=0.0001, batch 32"
    )
    assert plot.describe_training(optimizer=optimizers.AdamW(), batch_size="full") == (
        "AdamW lr=0.001, full batch"
    )
    dropped = MLP([4, 8, 8, 2], dropout=0.2)
    assert plot.describe_training(dropped) == "4-8-8-2 relu/softmax, dropout 0.2"
    mixed = MLP([4, 8, 8, 2], dropout=[0.5, 0.1])
    assert plot.describe_training(mixed) == "4-8-8-2 relu/softmax, dropout 0.5/0.1"
    with pytest.raises(TypeError, match="batch_size must be an int, 'full' or None"):
        plot.describe_training(batch_size=2.5)


# ---------------------------------------------------------------- what a new user trips on


def test_a_long_title_wraps_between_phrases_never_inside_one():
    from fastnn.plot.common import wrap_title

    title = (
        "accuracy per epoch\n"
        "64-64-10 relu/softmax, SGD lr=0.05, per sample, 8x8 digits, 1,437 training rows"
    )
    lines = wrap_title(title, 56).split("\n")
    assert lines[0] == "accuracy per epoch"
    assert "1,437 training rows" in lines[-1]  # the phrase stays whole
    assert all(len(line) <= 56 for line in lines)
    assert wrap_title("short", 56) == "short"


def test_an_early_stopped_runs_charts_mark_the_kept_epoch():
    from fastnn import MLP, optimizers

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int)
    net = MLP([4, 6, 2], seed=0)
    history = net.fit(
        X, y, optimizer=optimizers.SGD(lr=0.5), epochs=30, validation_split=0.3,
        early_stopping=True, patience=2, monitor="val_acc",
    )  # fmt: skip
    assert history.kept_epoch == history.best_epoch < len(history.loss)
    for chart in (plot.plot_loss, plot.plot_accuracy):
        ax = chart(history).axes[0]
        labels = ax.get_legend_handles_labels()[1]
        assert f"kept: epoch {history.kept_epoch}" in labels
        assert "train (mean during the epoch)" in labels
    history.kept_epoch = len(history.loss)  # the last epoch kept: nothing to mark
    labels = plot.plot_loss(history).axes[0].get_legend_handles_labels()[1]
    assert not [label for label in labels if label.startswith("kept")]


def test_the_step_axis_has_thousands_separators():
    from fastnn import MLP, datasets

    X, y = datasets.make_regression(20_000, seed=0)
    net = MLP([2, 4, 1], output="identity", dtype="float64", seed=0)
    figure = plot.plot_step_loss(net.fit(X, y, batch_size=1))
    figure.canvas.draw()
    labels = [label.get_text() for label in figure.axes[0].get_xticklabels()]
    assert any("," in label for label in labels), labels
