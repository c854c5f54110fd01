"""Property-based tests of training control: schedules and callbacks.

From any schedule (any parameters, any base rate, either dtype, any number of epochs)
and any callback return value, ``fit`` either refuses before training, with a message
naming what is wrong, or trains: a schedule never aborts a run, a rate is always one
the dtype can train with, and a callback stops training exactly when its value says so.

Example counts scale with the hypothesis profile of tests/conftest.py ("ci" is small
and derandomized; ``--hypothesis-profile=long`` tries many more).
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from fastnn import MLP, History, TrainingDivergedError, optimizers, schedules


def examples(weight):
    """Settings for ``weight`` times the profile's example count (at least 2)."""
    return settings(max_examples=max(2, round(weight * settings.default.max_examples)))


DTYPES = st.sampled_from(["float32", "float64"])
# Numbers across the whole float64 range: tiny, huge, and beyond float32's.
MAGNITUDES = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False)
FACTORS = st.floats(min_value=1e-12, max_value=1.0, exclude_min=False)


@st.composite
def any_schedule(draw):
    kind = draw(st.sampled_from(["step", "exponential", "cosine", "plateau", "inverse_time"]))
    if kind == "step":
        return schedules.StepDecay(draw(st.integers(1, 20)), draw(FACTORS))
    if kind == "exponential":
        return schedules.ExponentialDecay(draw(FACTORS))
    if kind == "cosine":
        min_lr = draw(st.one_of(st.just(0.0), MAGNITUDES))
        return schedules.CosineDecay(draw(st.integers(1, 20)), min_lr=min_lr)
    if kind == "plateau":
        return schedules.ReduceOnPlateau(
            monitor="loss",
            factor=draw(st.floats(1e-6, 0.99)),
            patience=draw(st.integers(0, 3)),
            min_lr=draw(st.one_of(st.just(0.0), MAGNITUDES)),
        )
    return schedules.InverseTimeDecay(draw(st.one_of(st.just(0.0), MAGNITUDES)))


@examples(3)
@given(
    schedule=any_schedule(),
    dtype=DTYPES,
    base=MAGNITUDES,
    epochs=st.integers(1, 80),
    losses=st.lists(st.floats(0, 10), min_size=80, max_size=80),
)
def test_a_schedule_is_refused_up_front_or_sets_a_rate_the_dtype_trains_with(
    schedule, dtype, base, epochs, losses
):
    optimizer = optimizers.SGD(lr=base)
    try:
        optimizer.hyper_vector(dtype)
    except ValueError:
        assume(False)  # a base rate the dtype cannot hold is the optimizer's to refuse
    note(repr(schedule))
    try:
        schedule.check(dtype, has_validation=False, is_classifier=True)
    except ValueError as error:
        # Refused before training, naming the schedule and the value.
        assert type(schedule).__name__ in str(error) and dtype in str(error)
        return
    history = History()
    tiny = float(np.finfo(dtype).tiny)
    ceiling = max(base, getattr(schedule, "min_lr", 0.0))
    for epoch in range(epochs):
        schedule.start_epoch(optimizer, dtype)
        rate = optimizer.lr
        optimizer.hyper_vector(dtype)  # the kernels take it: never "lr must be > 0"
        assert tiny <= rate <= ceiling * (1 + 1e-12) or rate == tiny, (epoch, rate)
        history.loss.append(losses[epoch])
        schedule.end_epoch(history)
        if isinstance(schedule, schedules.CosineDecay) and epoch >= schedule.epochs:
            # Past its end: held at min_lr (raised to the smallest normal number).
            assert rate == max(schedule.min_lr, tiny)


@examples(0.3)
@given(
    schedule=any_schedule(),
    dtype=DTYPES,
    lr=st.floats(1e-4, 0.1),
    epochs=st.integers(1, 6),
    batch_size=st.sampled_from([1, 4, None]),
    optimizer=st.sampled_from(["sgd", "momentum", "adam", "rmsprop"]),
)
def test_fit_with_any_schedule_trains_every_epoch_or_refuses_before_the_first(
    schedule, dtype, lr, epochs, batch_size, optimizer
):
    rng = np.random.default_rng(0)
    X, labels = rng.standard_normal((12, 3)), rng.integers(0, 2, 12)
    net = MLP([3, 4, 2], dtype=dtype, seed=0)
    before = net.theta.copy()
    try:
        history = net.fit(
            X,
            labels,
            optimizer=optimizers.get(optimizer, lr=lr),
            epochs=epochs,
            batch_size=batch_size,
            schedule=schedule,
        )
    except ValueError as error:
        assert "schedule" in str(error)
        np.testing.assert_array_equal(net.theta, before)  # nothing trained
        return
    except TrainingDivergedError as error:  # documented; the epochs before it are kept
        assert len(error.history.loss) == error.epoch - 1
        return
    assert len(history.loss) == epochs
    assert all(math.isfinite(rate) and rate > 0 for rate in history.lr)
    assert np.all(np.isfinite(net.theta))


# ---------------------------------------------------------------- callbacks

STOPPING = [True, np.True_, np.array(True)]
GOING_ON = [None, False, np.False_, np.array(False)]
NOT_A_VERDICT = [1, 0, 1.0, "yes", "", [True], np.array([True]), np.int64(1), object()]


@examples(0.3)
@given(
    returns=st.lists(st.sampled_from(STOPPING + GOING_ON + NOT_A_VERDICT), min_size=1, max_size=5),
    keras_stop=st.one_of(st.none(), st.integers(0, 4)),
)
def test_a_callback_stops_training_exactly_when_its_value_says_so(returns, keras_stop):
    rng = np.random.default_rng(1)
    X, labels = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
    epochs = len(returns)

    def callback(epoch, history, net):
        return returns[epoch - 1]

    class KerasStyle:
        def on_epoch_end(self, epoch, logs=None):
            assert set(logs) >= {"loss", "accuracy", "learning_rate"}
            if epoch == keras_stop:
                self.model.stop_training = True

        def set_model(self, model):
            self.model = model

    # What the rule says: the first epoch whose value is not None/bool-like raises,
    # the first true one (or Keras's stop_training) stops after that epoch.
    expected_epochs, expected_error = epochs, None
    for epoch, value in enumerate(returns, start=1):
        bool_like = isinstance(value, (bool, np.bool_)) or (
            isinstance(value, np.ndarray) and value.shape == () and value.dtype == np.bool_
        )
        if value is not None and not bool_like:
            expected_epochs, expected_error = epoch, TypeError
            break
        if (value is not None and bool(value)) or keras_stop == epoch - 1:
            expected_epochs = epoch
            break
    net = MLP([3, 4, 2], seed=0)
    if expected_error is not None:
        with pytest.raises(expected_error, match=r"callbacks\[0\] returned") as caught:
            net.fit(X, labels, epochs=epochs, callbacks=[callback, KerasStyle()])
        assert len(caught.value.history.loss) == expected_epochs
        return
    history = net.fit(X, labels, epochs=epochs, callbacks=[callback, KerasStyle()])
    assert len(history.loss) == expected_epochs
    stopped = expected_epochs < epochs or (
        expected_epochs == epochs and _stops_at_last(returns, keras_stop, epochs)
    )
    assert (history.stopped_epoch == expected_epochs) == stopped


def _stops_at_last(returns, keras_stop, epochs):
    value = returns[epochs - 1]
    return (value is not None and bool(value)) or keras_stop == epochs - 1
