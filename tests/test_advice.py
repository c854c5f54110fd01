"""What a fit tells a new user: unscaled inputs, a loss stuck at chance, BLAS threads."""

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import fastnn
from fastnn import MLP, optimizers
from fastnn.training.advice import TrainingWarning


def pixels(scale=255.0):
    """The shipped 8x8 digits as unscaled bytes (0..255) would be, or scaled."""
    (X, y), _ = fastnn.datasets.load_digits()
    return X * scale, y


def test_unscaled_inputs_and_a_loss_at_chance_are_named():
    X, y = pixels()
    net = MLP([64, 32, 10], seed=0)
    with pytest.warns(TrainingWarning) as caught:
        history = net.fit(X, y, optimizer=optimizers.SGD(lr=0.01), epochs=2)
    messages = [str(warning.message) for warning in caught]
    assert any("values are large" in m and "X / 255" in m for m in messages), messages
    assert history.train_acc[-1] <= 0.125
    assert any("about chance for 10 classes" in m for m in messages), messages


def test_scaled_inputs_train_without_a_word():
    X, y = pixels(scale=1.0)
    net = MLP([64, 32, 10], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        history = net.fit(X, y, optimizer=optimizers.SGD(lr=0.01), epochs=2)
    assert history.train_acc[-1] > 0.5


def test_a_sweep_reports_a_configuration_at_chance():
    X, y = pixels()
    results = fastnn.sweep(X, y, {"sizes": [[64, 32, 10]], "lr": [0.01]}, epochs=2)
    assert results[0].at_chance
    assert results.to_rows()[0]["status"] == "ok, at chance"
    scaled = fastnn.sweep(X / 255, y, {"sizes": [[64, 32, 10]], "lr": [0.01]}, epochs=2)
    assert not scaled[0].at_chance and scaled.to_rows()[0]["status"] == "ok"


def _blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


@pytest.mark.parametrize("threads", [1, None])
def test_fit_runs_blas_on_the_threads_it_is_given(threads):
    X, y = pixels(scale=1.0)
    seen = []
    before = _blas_threads()
    net = MLP([64, 32, 10], seed=0)
    net.fit(
        X, y, batch_size=32, blas_threads=threads,
        callbacks=[lambda epoch, history, net: seen.extend(_blas_threads())],
    )  # fmt: skip
    assert seen == (before if threads is None else [1] * len(before))
    assert _blas_threads() == before  # put back after the fit


@pytest.mark.parametrize("bad, error", [(0, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_a_bad_blas_threads_is_refused(bad, error):
    with pytest.raises(error, match="blas_threads"):
        MLP([3, 2], seed=0).fit(np.ones((4, 3)), [0, 1, 0, 1], blas_threads=bad)
