"""Memory that stays bounded: a sweep's buffers grow with n_jobs, not with its
configurations; a History's step record is bounded and its long charts downsampled; a
network is initialised without temporaries the size of its weights.

Peaks are measured with tracemalloc, which sees every NumPy allocation; the sizes are
small enough for CI and large enough that the old code's growth is far beyond the slack.
"""

import tracemalloc

import numpy as np
import pytest

from fastnn import MLP, History, optimizers, plot, sweep
from fastnn.network.architecture import INIT_CHUNK


def traced(function):
    """Run ``function``; return ``(result, peak bytes, bytes still held after it)``."""
    tracemalloc.start()
    try:
        result = function()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak, current


# ---------------------------------------------------------------- sweeps


def test_a_sweep_holds_the_buffers_of_its_running_networks_not_of_every_configuration():
    rng = np.random.default_rng(0)
    X = rng.random((400, 100)).astype(np.float32)
    labels = rng.integers(0, 10, 400)
    sizes = [100, 200, 10]
    n_params = 100 * 200 + 200 + 200 * 10 + 10

    def run(n_configs):
        configs = [{"sizes": sizes, "lr": 0.01, "seed": seed} for seed in range(n_configs)]
        return sweep(X, labels, configs, epochs=1, n_jobs=2)

    run(2)  # compile first: the compiler's own memory is no sweep's
    few, few_peak, few_held = traced(lambda: run(2))
    many, many_peak, many_held = traced(lambda: run(12))
    assert [result.status for result in many] == ["ok"] * 12
    # What training needs beyond its results: the same for 12 configurations as for 2
    # (two running networks either way). Before, every configuration's network, optimizer
    # state, order and step losses were made up front: about 0.5 MB more per configuration.
    overhead_few, overhead_many = few_peak - few_held, many_peak - many_held
    assert overhead_many < overhead_few + 300_000, (overhead_few, overhead_many)
    # What the results hold per configuration: its weights, the optimizer state rows it
    # uses (none for plain SGD) and a bounded step record; before, three state rows too.
    assert many_held / 12 < 1.5 * 4 * n_params, many_held / 12
    # The state comes back, whole, when the network is asked for.
    net = many[3].model()
    assert net.optimizer_.state_.shape == (3, n_params)
    twin = MLP(sizes, seed=3)
    twin.fit(X, labels, optimizer=optimizers.SGD(lr=0.01))
    np.testing.assert_array_equal(net.theta, twin.theta)
    np.testing.assert_array_equal(net.optimizer_.state_, twin.optimizer_.state_)


def test_an_adam_sweep_gives_back_the_exact_optimizer_state():
    rng = np.random.default_rng(1)
    X, labels = rng.random((60, 5)), rng.integers(0, 3, 60)
    configs = [{"sizes": [5, 7, 3], "optimizer": "adam", "lr": 0.01, "seed": s} for s in (0, 1, 2)]
    results = sweep(X, labels, configs, epochs=2, n_jobs=2)
    for result in results:
        twin = MLP([5, 7, 3], seed=result.config["seed"])
        twin.fit(X, labels, optimizer=optimizers.Adam(lr=0.01), epochs=2)
        net = result.model()
        np.testing.assert_array_equal(net.optimizer_.state_, twin.optimizer_.state_)
        assert (
            result.model() is not None and net.optimizer_.state_ is result.model().optimizer_.state_
        )


# ---------------------------------------------------------------- the step record


def test_the_step_record_is_bounded_and_holds_the_means_of_its_steps(monkeypatch):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    full = MLP([3, 4, 1], output="identity", dtype="float64", seed=0)
    every_step = full.fit(X, y, optimizer=optimizers.SGD(lr=0.01), epochs=5)
    assert every_step.step_stride == 1 and len(every_step.step_loss) == 1500

    monkeypatch.setattr(History, "STEP_RECORD_LIMIT", 100)
    bounded_net = MLP([3, 4, 1], output="identity", dtype="float64", seed=0)
    bounded = bounded_net.fit(X, y, optimizer=optimizers.SGD(lr=0.01), epochs=5)
    np.testing.assert_array_equal(bounded_net.theta, full.theta)  # training is the same
    assert bounded.loss == every_step.loss  # per-epoch figures are exact
    assert bounded.epoch_steps == [300] * 5
    assert len(bounded.step_loss) <= 100 and bounded.step_stride == 16
    for points, steps in zip(bounded.step_losses, every_step.step_losses, strict=True):
        expected = [steps[i : i + 16].mean() for i in range(0, 300, 16)]
        np.testing.assert_allclose(points, expected, rtol=1e-12)
    # Each point sits at the middle of its steps.
    assert bounded.step_positions[:2].tolist() == [8.5, 24.5]
    assert bounded.step_positions[19] == 300 + 8.5

    monkeypatch.setattr(History, "STEP_RECORD_LIMIT", 0)  # the opt-out
    none = MLP([3, 4, 1], output="identity", seed=0).fit(X, y, epochs=2)
    assert none.step_losses == [] and len(none.loss) == 2


def test_a_long_step_record_is_plotted_downsampled():
    rng = np.random.default_rng(3)
    steps = rng.exponential(1.0, 300_000)
    history = History(loss=[steps.mean()], step_losses=[steps])
    ax = plot.plot_step_loss(history).axes[0]
    band = ax.collections[0]
    # A band over 2,000 runs of steps instead of 300,000 scattered points.
    vertices = band.get_paths()[0].vertices
    assert len(vertices) <= 2 * plot.STEP_PLOT_BINS + 10
    assert vertices[:, 1].max() == steps.max() and vertices[:, 1].min() == steps.min()
    assert len(ax.get_lines()[0].get_xdata()) == plot.STEP_PLOT_BINS
    assert "downsampled" in ax.get_legend().get_texts()[0].get_text()


def test_a_downsampled_history_is_plotted_at_its_step_numbers(monkeypatch):
    monkeypatch.setattr(History, "STEP_RECORD_LIMIT", 64)
    history = History()
    for epoch in range(3):
        history.loss.append(1.0)
        history.record_steps(np.linspace(2.0, 1.0, 100) / (epoch + 1))
    ax = plot.plot_step_loss(history).axes[0]
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(offsets[:, 0], history.step_positions)
    np.testing.assert_array_equal(offsets[:, 1], history.step_loss)
    assert offsets[-1, 0] == 300 - 1.5  # the last point averages steps 297-300
    assert "mean of each 8 steps" in ax.get_legend().get_texts()[0].get_text()


# ---------------------------------------------------------------- initialisation


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_initialising_a_large_network_needs_no_temporary_of_its_size(dtype):
    # 16 million weights: 64 MB in float32, 128 MB in float64. Drawing a layer's weights
    # as one float64 matrix and scaling it, as before, took two more of its size in float64
    # (256 MB here); chunk by chunk, the draws of one chunk are the only temporary.
    sizes = [4000, 4000, 10]
    net, peak, held = traced(lambda: MLP(sizes, dtype=dtype, seed=0))
    weights = net.theta.nbytes
    assert held >= weights
    assert peak - weights <= 2 * INIT_CHUNK * 8 + 1_000_000, (peak - weights) / 2**20
    # The same numbers as one draw of the whole layer.
    rng = np.random.default_rng(0)
    first = rng.standard_normal(5) * np.sqrt(2 / 4000)
    np.testing.assert_array_equal(net.params["W1"].ravel()[:5], first.astype(dtype))
