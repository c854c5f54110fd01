"""Schedules past their end and in a network's dtype, string forms, callbacks (plain and
Keras-shaped), what survives a run that stops, and Keras's get_weights/set_weights."""

import numpy as np
import pytest

from fastnn import MLP, TrainingDivergedError, optimizers, schedules
from fastnn.cli import main


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((40, 4))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    return X, labels


def net_of(dtype="float32", **arguments):
    return MLP([4, 6, 3], dtype=dtype, seed=1, **arguments)


# ---------------------------------------------------------------- past the end, in the dtype


def test_cosine_past_its_end_trains_on_at_the_smallest_rate(data):
    X, T = data
    net = net_of()
    history = net.fit(
        X, T, optimizer=optimizers.SGD(lr=0.1), epochs=4, schedule=schedules.CosineDecay(2)
    )
    tiny = float(np.finfo(np.float32).tiny)
    assert history.lr[:2] == [0.1, pytest.approx(0.05)]
    assert history.lr[2:] == [tiny, tiny]  # min_lr=0, raised to float32's smallest normal
    assert len(history.loss) == 4 and np.all(np.isfinite(net.theta))


def test_an_underflowing_exponential_decay_keeps_training(data):
    X, T = data
    net = net_of()
    history = net.fit(
        X,
        T,
        optimizer=optimizers.Adam(lr=0.01),
        epochs=30,
        batch_size=8,
        schedule=schedules.ExponentialDecay(0.01),
    )
    assert len(history.loss) == 30
    assert history.lr[-1] == float(np.finfo(np.float32).tiny)
    # A float64 network keeps the decayed rate itself until it, too, underflows.
    history64 = net_of("float64").fit(
        X, T, optimizer=optimizers.SGD(lr=0.1), epochs=30, schedule=schedules.ExponentialDecay(0.01)
    )
    assert history64.lr[25] == pytest.approx(0.1 * 0.01**25)


@pytest.mark.parametrize(
    "schedule, match",
    [
        (schedules.InverseTimeDecay(1e39), r"InverseTimeDecay\(decay=1e\+39\).*decay=1e\+39"),
        (schedules.CosineDecay(3, min_lr=1e39), r"CosineDecay.*min_lr=1e\+39.*float32"),
        (schedules.ReduceOnPlateau("loss", min_lr=1e39), r"ReduceOnPlateau.*min_lr"),
    ],
)
def test_a_schedule_the_dtype_cannot_hold_is_refused_before_training(data, schedule, match):
    X, T = data
    net = net_of()
    before = net.theta.copy()
    with pytest.raises(ValueError, match=match):
        net.fit(X, T, optimizer=optimizers.SGD(lr=0.1), epochs=2, schedule=schedule)
    np.testing.assert_array_equal(net.theta, before)
    assert net.optimizer_ is None  # nothing of the fit was kept
    # float64 holds the same value: trains.
    net_of("float64").fit(X, T, optimizer=optimizers.SGD(lr=0.01), epochs=1, schedule=schedule)


def test_a_huge_but_representable_decay_stops_the_steps_instead_of_diverging(data):
    X, T = data
    net = net_of()
    history = net.fit(
        X, T, optimizer=optimizers.SGD(lr=0.1), epochs=2, schedule=schedules.InverseTimeDecay(1e38)
    )
    assert len(history.loss) == 2 and np.all(np.isfinite(net.theta))


def test_a_subclass_rate_that_is_not_a_rate_is_named(data):
    class Broken(schedules.Schedule):
        def rate(self, epoch, base_lr):
            return float("nan") if epoch == 1 else base_lr

    X, T = data
    with pytest.raises(
        ValueError, match=r"Broken\(\) gave the learning rate nan for epoch 2"
    ) as caught:
        net_of().fit(X, T, epochs=3, schedule=Broken())
    assert len(caught.value.history.loss) == 1  # the epoch that ran is not lost


def test_plateau_without_its_figure_is_refused_before_training(data):
    X, T = data
    net = net_of()
    before = net.theta.copy()
    with pytest.raises(ValueError, match="monitors 'val_loss'.*give validation_data"):
        net.fit(X, T, epochs=2, schedule=schedules.ReduceOnPlateau())
    np.testing.assert_array_equal(net.theta, before)  # before: it raised after epoch 1
    regression = MLP([4, 3, 1], output="identity", seed=0)
    with pytest.raises(ValueError, match="a regression has no accuracy"):
        regression.fit(X, X[:, 0], schedule=schedules.ReduceOnPlateau("train_acc"))


# ---------------------------------------------------------------- string forms


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("cosine", schedules.CosineDecay(5)),
        ("cosine:2", schedules.CosineDecay(2)),
        ("cosine:2:0.001", schedules.CosineDecay(2, 0.001)),
        ("step:2", schedules.StepDecay(2)),
        ("step:2:0.5", schedules.StepDecay(2, 0.5)),
        ("exponential:0.9", schedules.ExponentialDecay(0.9)),
        ("exp:0.9", schedules.ExponentialDecay(0.9)),
        ("inverse_time:0.01", schedules.InverseTimeDecay(0.01)),
        ("inverse-time:0.01", schedules.InverseTimeDecay(0.01)),
        ("plateau", schedules.ReduceOnPlateau("loss")),
        ("plateau:0.5:3", schedules.ReduceOnPlateau("loss", factor=0.5, patience=3)),
    ],
)
def test_every_documented_string_form_works_in_fit(data, spec, expected):
    X, T = data
    assert repr(schedules.parse(spec, epochs=5)) == repr(expected)
    history = net_of().fit(X, T, optimizer=optimizers.SGD(lr=0.1), epochs=5, schedule=spec)
    twin = net_of().fit(X, T, optimizer=optimizers.SGD(lr=0.1), epochs=5, schedule=expected)
    assert history.lr == twin.lr


def test_plateau_as_a_string_watches_the_validation_loss_when_there_is_one():
    assert schedules.parse("plateau", has_validation=True).monitor == "val_loss"
    assert schedules.parse("plateau").monitor == "loss"


@pytest.mark.parametrize(
    "spec, match",
    [
        (
            "step",
            r"schedule 'step': needs step_size; give the string 'step:STEP_SIZE\[:GAMMA\]' or "
            r"StepDecay\(step_size, \.\.\.\)",
        ),
        ("exponential", r"needs gamma.*'exponential:GAMMA'"),
        ("inverse_time", r"needs decay.*'inverse_time:DECAY'"),
        ("step:x", r"step_size must be a number, got 'x'"),
        ("step:1.5", r"step_size must be a whole number"),
        ("step:1:2:3", r"step takes the form 'step:STEP_SIZE\[:GAMMA\]'"),
        ("exp:1.5", r"schedule 'exp:1.5': gamma must be <= 1"),
        ("linear", r"unknown name 'linear'"),
    ],
)
def test_a_string_form_without_what_it_needs_says_what_is_needed(data, spec, match):
    X, T = data
    net = net_of()
    with pytest.raises(ValueError, match=match):
        net.fit(X, T, epochs=2, schedule=spec)
    assert net.optimizer_ is None


def test_get_names_what_a_bare_cosine_needs():
    with pytest.raises(ValueError, match=r"'cosine': needs epochs.*'cosine\[:EPOCHS\[:MIN_LR\]\]'"):
        schedules.get("cosine")
    assert repr(schedules.get("cosine", epochs=3)) == repr(schedules.CosineDecay(3))
    assert repr(schedules.get("step:3")) == repr(schedules.StepDecay(3))


# ---------------------------------------------------------------- callbacks


def test_a_callback_returning_a_numpy_true_stops_training(data):
    X, T = data
    history = net_of().fit(
        X, T, epochs=5, callbacks=[lambda epoch, history, net: np.isfinite(history.loss[-1])]
    )
    assert len(history.loss) == 1 and history.stopped_epoch == 1
    # np.False_, a 0-d boolean array, None and False go on / stop by their truth.
    for value, epochs_run in ((np.False_, 3), (None, 3), (False, 3), (np.array(True), 1)):
        ran = net_of().fit(X, T, epochs=3, callbacks=[lambda e, h, n, v=value: v])
        assert len(ran.loss) == epochs_run, value


@pytest.mark.parametrize("value", [1, 0.5, "stop", np.array([True, False]), [True]])
def test_a_callback_returning_something_else_is_an_error_naming_it(data, value):
    X, T = data
    with pytest.raises(TypeError, match=r"callbacks\[1\] returned .* to stop training") as caught:
        net_of().fit(X, T, epochs=3, callbacks=[lambda e, h, n: None, lambda e, h, n: value])
    assert len(caught.value.history.loss) == 1


def test_a_callback_resetting_the_optimizer_leaves_early_stopping_working(data):
    X, T = data

    def reset_in_the_last_epoch(epoch, history, net):
        if epoch == 6:
            net.optimizer_.reset()

    net = net_of()
    optimizer = optimizers.Adam(lr=0.05)
    history = net.fit(
        X,
        T,
        optimizer=optimizer,
        epochs=6,
        validation_data=(X, T),
        early_stopping=True,
        patience=10,
        callbacks=[reset_in_the_last_epoch],
    )
    best = history.best_epoch
    assert best is not None and len(history.loss) == 6
    twin, twin_optimizer = net_of(), optimizers.Adam(lr=0.05)
    twin.fit(X, T, optimizer=twin_optimizer, epochs=best)
    np.testing.assert_array_equal(net.theta, twin.theta)
    np.testing.assert_array_equal(optimizer.state_, twin_optimizer.state_)
    assert optimizer.step_[0] == twin_optimizer.step_[0]


class KerasShaped:
    """The shape of ``keras.callbacks.Callback``: hooks with ``(epoch, logs)``, ``self.model``."""

    def __init__(self, stop_at=None):
        self.calls = []
        self.stop_at = stop_at
        self.model = None
        self.params = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", logs))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs)))
        if epoch == self.stop_at:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.calls.append(("train_end", logs))


def test_keras_shaped_callback_objects_are_driven_as_keras_drives_them(data):
    X, T = data
    callback = KerasShaped(stop_at=1)
    net = net_of()
    history = net.fit(X, T, epochs=5, batch_size=8, validation_data=(X, T), callbacks=[callback])
    assert callback.model is net
    assert callback.params == {"epochs": 5, "verbose": 0, "steps": 5}
    assert [call[:2] for call in callback.calls] == [
        ("train_begin", {}),
        ("epoch_begin", 0),
        ("epoch_end", 0),
        ("epoch_begin", 1),
        ("epoch_end", 1),
        ("train_end", callback.calls[-1][1]),
    ]
    logs = callback.calls[2][2]
    assert logs == {
        "loss": history.loss[0],
        "accuracy": history.train_acc[0],
        "val_loss": history.val_loss[0],
        "val_accuracy": history.val_acc[0],
        "learning_rate": history.lr[0],
    }
    assert history.stopped_epoch == 2  # epoch 1 in Keras's count from 0
    # The next fit starts again: fit resets stop_training, as Keras's does.
    assert len(net.fit(X, T, epochs=2, callbacks=[KerasShaped()]).loss) == 2


class RestoreBest(KerasShaped):
    """Keras's EarlyStopping(restore_best_weights=True), in the few lines that matter."""

    def on_train_begin(self, logs=None):
        self.best, self.best_weights, self.best_epoch = np.inf, None, None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_loss"] < self.best:
            self.best, self.best_epoch = logs["val_loss"], epoch
            self.best_weights = self.model.get_weights()
        elif epoch - self.best_epoch >= 1:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.model.set_weights(self.best_weights)  # inside fit, from its own thread


def test_a_keras_style_callback_restores_weights_with_set_weights_inside_fit(data):
    X, T = data
    net = net_of("float64")
    callback = RestoreBest()
    history = net.fit(
        X, T, optimizer=optimizers.SGD(lr=2.0), epochs=30, validation_data=(X[:20], T[:20]),
        callbacks=[callback],
    )  # fmt: skip
    assert history.stopped_epoch is not None and history.stopped_epoch < 30
    assert net.loss(X[:20], T[:20]) == min(history.val_loss) == callback.best


def test_real_keras_callbacks_drive_a_fit():
    keras = pytest.importorskip("keras")
    X, T = np.random.default_rng(0).standard_normal((60, 4)), np.arange(60) % 3
    net = net_of("float64")
    stop = keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    recorded = keras.callbacks.History()
    history = net.fit(
        X, T, optimizer=optimizers.SGD(lr=1.0), epochs=50, validation_split=0.3,
        callbacks=[stop, recorded],
    )  # fmt: skip
    assert recorded.history["val_loss"] == history.val_loss
    assert history.stopped_epoch is not None
    assert min(history.val_loss) == pytest.approx(stop.best)


def test_an_object_with_only_on_epoch_end_is_enough(data):
    X, T = data

    class Minimal:
        def __init__(self):
            self.epochs = []

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(epoch)

    minimal = Minimal()
    net_of().fit(X, T, epochs=3, callbacks=[minimal, lambda e, h, n: None])
    assert minimal.epochs == [0, 1, 2]


def test_callbacks_that_are_not_callbacks_are_named(data):
    X, T = data
    with pytest.raises(TypeError, match=r"callbacks\[0\] is not callable, nor .*on_epoch_end"):
        net_of().fit(X, T, callbacks=[object()])
    with pytest.raises(TypeError, match=r"got a single callback object: pass \[it\]"):
        net_of().fit(X, T, callbacks=KerasShaped())


# ---------------------------------------------------------------- what survives a stop


def test_a_divergence_carries_the_history_of_the_epochs_before_it(data):
    X, T = data
    # Adam at a huge rate: fine for a few epochs, then NaN.
    net = net_of("float64")

    def explode(epoch, history, net):
        if epoch == 3:
            net.theta[0] = 1e308

    with pytest.raises(TrainingDivergedError) as caught:
        net.fit(X, T, optimizer=optimizers.SGD(lr=1e10), epochs=6, callbacks=[explode])
    assert len(caught.value.history.loss) == caught.value.epoch - 1 >= 3


def test_ctrl_c_in_a_callback_carries_the_history(data):
    X, T = data

    def interrupt(epoch, history, net):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as caught:
        net_of().fit(X, T, epochs=5, callbacks=[interrupt])
    assert len(caught.value.history.loss) == 2


def test_train_command_whose_run_fails_midway_still_saves_the_last_good_network(tmp_path, capsys):
    # The reported case: a cosine schedule shorter than the run. It trains now; a run that
    # stops with an error after some epochs (here a schedule whose rate breaks at epoch 3)
    # still writes --save from the last complete epoch.
    pytest.importorskip("sklearn")
    model = tmp_path / "m.npz"
    argv = ["train", "--data", "digits", "--sizes", "8", "--epochs", "4", "--quiet"]
    assert main([*argv, "--schedule", "cosine:2", "--save", str(model)]) == 0
    assert model.exists()
    assert "epoch   4" in capsys.readouterr().out
    model.unlink()

    original = schedules.CosineDecay.rate

    def broken(self, epoch, base_lr):
        return float("nan") if epoch == 2 else original(self, epoch, base_lr)

    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as exit_:
        patch.setattr(schedules.CosineDecay, "rate", broken)
        main([*argv, "--schedule", "cosine:2", "--save", str(model)])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "gave the learning rate nan for epoch 3" in error
    assert f"saved the model to {model} from the end of epoch 2" in error
    assert MLP.load(model).sizes == [64, 8, 10]


# ---------------------------------------------------------------- Keras's weights


def test_get_weights_and_set_weights_as_keras_has_them():
    net = MLP([3, 4, 2], seed=0)
    weights = net.get_weights()
    assert [w.shape for w in weights] == [(3, 4), (4,), (4, 2), (2,)]
    assert all(w.dtype == np.float32 for w in weights)
    weights[0][...] = 7  # copies: the network is unchanged
    assert not np.any(net.params["W1"] == 7)
    other = MLP([3, 4, 2], seed=5)
    other.set_weights(net.get_weights())
    np.testing.assert_array_equal(other.theta, net.theta)
    other.set_weights([np.ones((3, 4)), np.zeros(4), np.ones((4, 2)), np.zeros(2)])
    assert other.params["W2"].dtype == np.float32 and np.all(other.params["W2"] == 1)


@pytest.mark.parametrize(
    "weights, error, match",
    [
        ([np.ones((3, 4))], ValueError, r"weights has 1 arrays; this network takes 4: W1, b1"),
        (
            [np.ones((3, 4)), np.zeros(4), np.ones((2, 4)), np.zeros(2)],
            ValueError,
            r"weights\[2\] \(W2\) has shape \(2, 4\), the network needs \(4, 2\)",
        ),
        (
            [np.ones((3, 4)), np.full(4, 1e39), np.ones((4, 2)), np.zeros(2)],
            ValueError,
            r"weights\[1\] \(b1\) holds NaN or inf \(in float32\)",
        ),
        (
            [np.ones((3, 4)), np.array(["a"] * 4), np.ones((4, 2)), np.zeros(2)],
            TypeError,
            r"weights\[1\] \(b1\) must hold real numbers",
        ),
        (3, TypeError, "weights must be a list of arrays"),
    ],
)
def test_set_weights_refuses_what_does_not_fit_and_changes_nothing(weights, error, match):
    net = MLP([3, 4, 2], seed=0)
    before = net.theta.copy()
    with pytest.raises(error, match=match):
        net.set_weights(weights)
    np.testing.assert_array_equal(net.theta, before)
