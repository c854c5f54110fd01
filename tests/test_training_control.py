"""Training control (validation split, early stopping, callbacks, verbose), schedules, dropout."""

import numpy as np
import pytest

from fastnn import MLP, kernels, optimizers, schedules
from fastnn.kernels import reference
from fastnn.model import History
from fastnn.training.fitting import split_rows


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 6))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return X, labels


def net_of(**arguments):
    return MLP([6, 9, 3], **{"dtype": "float64", "seed": 2, **arguments})


# ---------------------------------------------------------------- validation split


def test_validation_split_holds_out_the_same_rows_and_trains_on_the_others(data):
    X, T = data
    net = net_of()
    history = net.fit(X, T, optimizer=optimizers.SGD(lr=0.05), epochs=3, validation_split=0.25)
    train, held = split_rows(net_of()._state, len(X), 0.25)
    assert len(held) == 30 and not set(train) & set(held) and len(train) + len(held) == 120
    twin = net_of()
    twin_history = twin.fit(X[train], T[train], optimizer=optimizers.SGD(lr=0.05), epochs=3)
    np.testing.assert_array_equal(net.theta, twin.theta)  # the same run, bit for bit
    assert history.loss == twin_history.loss
    assert history.val_loss[-1] == twin.loss(X[held], T[held])
    assert np.array_equal(
        split_rows(net_of(seed=5)._state, 120, 0.25)[1],
        split_rows(net_of(seed=5)._state, 120, 0.25)[1],
    )
    assert not np.array_equal(split_rows(net_of(seed=5)._state, 120, 0.25)[1], held)


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({"validation_split": 1.0}, ValueError, r"validation_split must be in \[0, 1\)"),
        ({"validation_split": "0.1"}, TypeError, "validation_split must be a fraction"),
        ({"validation_split": 0.001}, ValueError, "holds out 0"),
        ({"validation_split": 0.1, "validation_data": ([[0] * 6], [0])}, ValueError, "not both"),
        ({"early_stopping": True}, ValueError, "give validation_data or validation_split"),
        ({"early_stopping": 1}, TypeError, "early_stopping must be True or False"),
        ({"patience": -1}, ValueError, "patience must be >= 0"),
        ({"min_delta": -0.1}, ValueError, "min_delta must be"),
        ({"monitor": "accuracy"}, ValueError, "monitor must be one of"),
        ({"callbacks": print}, TypeError, "a single callable"),
        ({"callbacks": [1]}, TypeError, r"callbacks\[0\] is not callable"),
        ({"verbose": 2}, ValueError, "verbose must be 0 or 1"),
        ({"schedule": "linear"}, ValueError, "unknown name 'linear'"),
    ],
)
def test_bad_training_control_is_named(data, arguments, error, match):
    X, T = data
    net = net_of()
    before = net.theta.copy()
    with pytest.raises(error, match=match):
        net.fit(X, T, **arguments)
    np.testing.assert_array_equal(net.theta, before)


def test_accuracy_monitor_needs_a_classifier():
    net = MLP([2, 3, 1], output="identity", seed=0)
    with pytest.raises(ValueError, match="needs a classifier"):
        net.fit(np.ones((4, 2)), np.ones(4), early_stopping=True, monitor="val_acc")


# ---------------------------------------------------------------- early stopping, callbacks


def test_early_stopping_ends_with_the_best_epochs_weights(data):
    X, T = data
    net = net_of()
    optimizer = optimizers.SGD(lr=0.3)
    history = net.fit(
        X,
        T,
        optimizer=optimizer,
        epochs=60,
        validation_split=0.25,
        early_stopping=True,
        patience=2,
    )
    assert history.stopped_epoch is not None and history.stopped_epoch < 60
    best = history.best_epoch
    assert history.val_loss[best - 1] == min(history.val_loss)
    assert history.stopped_epoch == best + 3  # patience 2: three epochs without improvement
    # The best epoch's weights and optimizer state: those of a fit that ran that long.
    twin, twin_optimizer = net_of(), optimizers.SGD(lr=0.3)
    twin.fit(X, T, optimizer=twin_optimizer, epochs=best, validation_split=0.25)
    np.testing.assert_array_equal(net.theta, twin.theta)
    assert optimizer.step_[0] == twin_optimizer.step_[0]


def test_early_stopping_without_restoring_keeps_the_last_weights(data):
    X, T = data
    net = net_of()
    history = net.fit(
        X,
        T,
        optimizer=optimizers.SGD(lr=0.3),
        epochs=60,
        validation_split=0.25,
        early_stopping=True,
        patience=2,
        restore_best=False,
    )
    twin = net_of()
    twin.fit(
        X, T, optimizer=optimizers.SGD(lr=0.3), epochs=history.stopped_epoch, validation_split=0.25
    )
    np.testing.assert_array_equal(net.theta, twin.theta)


def test_callbacks_see_every_epoch_and_can_stop(data):
    X, T = data
    seen = []

    def record(epoch, history, net):
        seen.append((epoch, len(history.loss), isinstance(net, MLP)))

    def stop_after_third(epoch, history, net):
        return epoch == 3

    history = net_of().fit(X, T, epochs=10, callbacks=[record, stop_after_third])
    assert seen == [(1, 1, True), (2, 2, True), (3, 3, True)]
    assert len(history.loss) == 3 and history.stopped_epoch == 3


def test_verbose_prints_one_line_per_epoch(data, capsys):
    X, T = data
    net_of().fit(X, T, epochs=2, verbose=1, validation_split=0.2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2 - loss ") and "val_acc" in lines[1]
    assert lines[1].endswith("samples/s")


# ---------------------------------------------------------------- schedules


def test_epoch_schedules_set_the_documented_rates():
    rates = lambda schedule: [schedule.rate(epoch, 0.1) for epoch in range(6)]  # noqa: E731
    np.testing.assert_allclose(
        rates(schedules.StepDecay(2, 0.5)), [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    )
    np.testing.assert_allclose(rates(schedules.ExponentialDecay(0.9)), 0.1 * 0.9 ** np.arange(6))
    cosine = rates(schedules.CosineDecay(4, min_lr=0.01))
    np.testing.assert_allclose(cosine[0], 0.1)
    np.testing.assert_allclose(cosine[2], 0.055)
    np.testing.assert_allclose(cosine[4:], [0.01, 0.01])


def test_a_schedule_drives_the_optimizers_rate_and_history_records_it(data):
    X, T = data
    optimizer = optimizers.Momentum(lr=0.1)
    history = net_of().fit(X, T, optimizer=optimizer, epochs=5, schedule=schedules.StepDecay(2))
    np.testing.assert_allclose(history.lr, [0.1, 0.1, 0.01, 0.01, 0.001])


def test_reduce_on_plateau_lowers_the_rate_when_the_figure_stalls():
    schedule = schedules.ReduceOnPlateau(monitor="loss", factor=0.5, patience=1)
    optimizer = optimizers.SGD(lr=0.2)
    history = History()
    rates = []
    for loss in (1.0, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7):
        schedule.start_epoch(optimizer)
        rates.append(optimizer.lr)
        history.loss.append(loss)
        schedule.end_epoch(history)
    assert rates == [0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1]
    schedule.start_epoch(optimizer)
    assert optimizer.lr == 0.05


def test_plateau_on_validation_figures_needs_validation(data):
    X, T = data
    with pytest.raises(ValueError, match="give validation_data or validation_split"):
        net_of().fit(X, T, epochs=2, schedule=schedules.ReduceOnPlateau())


def test_fit_with_a_schedule_equals_partial_fits_with_it(data):
    X, T = data
    one = net_of()
    one.fit(X, T, optimizer=optimizers.SGD(lr=0.1), epochs=4, schedule=schedules.StepDecay(1, 0.5))
    other = net_of()
    schedule, optimizer = schedules.StepDecay(1, 0.5), optimizers.SGD(lr=0.1)
    for _ in range(4):
        other.partial_fit(X, T, optimizer=optimizer, schedule=schedule)
    np.testing.assert_array_equal(one.theta, other.theta)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw"])
@pytest.mark.parametrize("batch_size", [1, 16])
def test_per_step_decay_agrees_between_backends(data, optimizer, batch_size):
    X, T = data
    runs = {}
    for backend in ("numba", "numpy"):
        net = net_of(backend=backend)
        net.fit(
            X,
            T,
            optimizer=optimizers.get(optimizer, lr=0.02),
            epochs=2,
            batch_size=batch_size,
            schedule=schedules.InverseTimeDecay(0.01),
        )
        runs[backend] = net.theta
    np.testing.assert_allclose(runs["numba"], runs["numpy"], rtol=1e-9, atol=1e-12)
    plain = net_of()
    plain.fit(X, T, optimizer=optimizers.get(optimizer, lr=0.02), epochs=2, batch_size=batch_size)
    assert not np.allclose(plain.theta, runs["numba"])  # the decay did something


def test_per_step_decay_is_the_documented_formula():
    # One weight, one input, per-sample SGD on 0.5 * (w - 1)^2: w -= lr_t * (w - 1).
    net = MLP([1, 1], output="identity", dtype="float64", seed=0)
    net.params["W1"][...] = 0.0
    net.fit(
        np.ones((5, 1)),
        np.ones(5),
        optimizer=optimizers.SGD(lr=0.5),
        shuffle=False,
        schedule=schedules.InverseTimeDecay(0.25),
    )
    w = b = 0.0
    for t in range(1, 6):
        lr_t = 0.5 / (1 + 0.25 * (t - 1))
        error = w + b - 1
        w, b = w - lr_t * error, b - lr_t * error
    np.testing.assert_allclose([net.params["W1"][0, 0], net.params["b1"][0]], [w, b], rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_generated_loops_apply_the_per_step_decay_too(data, optimizer):
    X, T = data
    runs = {}
    for specialise in (True, False):
        net = net_of(specialise=specialise)
        net.fit(
            X,
            T,
            optimizer=optimizers.get(optimizer, lr=0.05),
            epochs=2,
            schedule=schedules.InverseTimeDecay(0.05),
        )
        runs[specialise] = net.theta
    np.testing.assert_allclose(runs[True], runs[False], rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- dropout


def test_the_dropout_stream_is_the_same_in_the_kernels_and_the_reference():
    key = np.uint64(0xDEADBEEF12345678)
    units = np.arange(0, 300)
    expected = reference.dropout_uniforms(key, 17, [3], units)[0]
    got = [kernels.train.dropout_uniform(key, 17, 3, unit) for unit in units]
    np.testing.assert_array_equal(got, expected)
    draws = reference.dropout_uniforms(key, 5, np.arange(100), np.arange(100))
    assert 0 <= draws.min() and draws.max() < 1
    assert abs(np.mean(draws < 0.3) - 0.3) < 0.02  # about the rate, over 10,000 draws


@pytest.mark.parametrize("hidden", ["relu", "sigmoid", "tanh", "leaky_relu"])
@pytest.mark.parametrize("batch_size", [1, 10])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dropout_agrees_between_backends(data, hidden, batch_size, dtype):
    X, T = data
    runs = {}
    for backend in ("numba", "numpy"):
        net = MLP(
            [6, 9, 7, 3], hidden=hidden, dropout=[0.3, 0.5], dtype=dtype, seed=4, backend=backend
        )
        history = net.fit(X, T, optimizer=optimizers.Adam(lr=0.01), epochs=2, batch_size=batch_size)
        runs[backend] = (net.theta.copy(), history.step_loss)
    tolerance = (
        {"rtol": 1e-9, "atol": 1e-12} if dtype == "float64" else {"rtol": 2e-4, "atol": 2e-5}
    )
    np.testing.assert_allclose(runs["numba"][0], runs["numpy"][0], **tolerance)
    np.testing.assert_allclose(runs["numba"][1], runs["numpy"][1], **tolerance)


def test_dropout_is_seeded_changes_training_and_is_off_at_predict_time(data):
    X, T = data
    runs = []
    for seed in (4, 4, 5):
        net = MLP([6, 9, 3], dropout=0.5, dtype="float64", seed=seed)
        net.fit(X, T, epochs=2)
        runs.append(net)
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)  # same seed, same masks
    plain = MLP([6, 9, 3], dtype="float64", seed=4)
    plain.fit(X, T, epochs=2)
    assert not np.allclose(plain.theta, runs[0].theta)  # the masks changed the training
    twin = MLP([6, 9, 3], dtype="float64", seed=4)
    twin.theta[...] = runs[0].theta
    np.testing.assert_array_equal(runs[0].predict(X), twin.predict(X))  # no dropout there
    assert runs[0].loss(X, T) == twin.loss(X, T)


def test_dropout_fit_equals_partial_fits_and_survives_save_and_load(data, tmp_path):
    X, T = data
    one = MLP([6, 9, 3], dropout=0.4, dtype="float64", seed=4)
    one.fit(X, T, optimizer=optimizers.SGD(lr=0.05), epochs=3)
    other = MLP([6, 9, 3], dropout=0.4, dtype="float64", seed=4)
    other.partial_fit(X, T, optimizer=optimizers.SGD(lr=0.05))
    other.save(tmp_path / "m.npz")
    loaded = MLP.load(tmp_path / "m.npz")
    assert loaded.dropout == [0.4]
    for _ in range(2):
        loaded.partial_fit(X, T)
    np.testing.assert_array_equal(one.theta, loaded.theta)


def test_dropout_with_specialise_runs_the_generic_loop(data):
    X, T = data
    runs = []
    for specialise in (True, False):
        net = MLP([6, 9, 3], dropout=0.3, dtype="float64", seed=4, specialise=specialise)
        net.fit(X, T, epochs=2)
        runs.append(net.theta)
    np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize(
    "dropout, error, match",
    [
        (1.0, ValueError, r"dropout\[0\] must be in \[0, 1\)"),
        (-0.1, ValueError, r"dropout\[0\] must be in"),
        ([0.1, 0.2], ValueError, "dropout has 2 rates, the network has 1 hidden layers"),
        ("0.5", TypeError, "dropout must be a rate or a list"),
        ([None], TypeError, r"dropout\[0\] must be a number"),
    ],
)
def test_bad_dropout_is_named(dropout, error, match):
    with pytest.raises(error, match=match):
        MLP([6, 9, 3], dropout=dropout)


def test_a_sweep_trains_dropout_networks_as_fit_does(data):
    import fastnn

    X, T = data
    configs = [
        {"sizes": [6, 9, 3], "dropout": rate, "seed": 4, "dtype": "float64"} for rate in (0.2, 0.5)
    ]
    results = fastnn.sweep(X, T, configs, epochs=2, n_jobs=2)
    for config, result in zip(configs, results, strict=True):
        alone = MLP(**config)
        alone.fit(X, T, epochs=2, optimizer=optimizers.SGD(lr=0.01))
        np.testing.assert_array_equal(result.model().theta, alone.theta)


def test_a_version_1_model_file_without_dropout_still_loads(tmp_path):
    import zipfile

    net = MLP([3, 4, 2], dtype="float64", seed=1)
    net.save(tmp_path / "v2.npz")
    with (
        zipfile.ZipFile(tmp_path / "v2.npz") as source,
        zipfile.ZipFile(tmp_path / "v1.npz", "w") as target,
    ):
        for item in source.infolist():
            if item.filename in ("dropout.npy", "dropout_key.npy"):
                continue
            payload = source.read(item.filename)
            if item.filename == "format_version.npy":
                import io

                buffer = io.BytesIO()
                np.save(buffer, np.array(1))
                payload = buffer.getvalue()
            target.writestr(item.filename, payload)
    loaded = MLP.load(tmp_path / "v1.npz")
    assert loaded.dropout == [0.0]
    np.testing.assert_array_equal(loaded.theta, net.theta)
