"""What Keras and scikit-learn users expect of a model: predict_proba, predict_classes,
score, evaluate, summary, and History.history / History.epoch."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import MLP, optimizers
from fastnn.metrics import Evaluation, r2_score
from fastnn.model import History

RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 4))
LABELS = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)  # three classes
BINARY = (X[:, 0] > 0).astype(int)
TARGETS = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3


def classifier(**kwargs):
    return MLP([4, 8, 3], hidden="tanh", output="softmax", dtype="float64", seed=0, **kwargs)


def binary_classifier(outputs=1):
    return MLP([4, 8, outputs], hidden="relu", output="sigmoid", dtype="float64", seed=1)


def regressor(outputs=1):
    return MLP([4, 8, outputs], hidden="relu", output="identity", dtype="float64", seed=2)


# --------------------------------------------------------------------------- predict_proba


def test_predict_proba_is_the_output_activation_of_a_classifier():
    net = classifier()
    probabilities = net.predict_proba(X)
    assert probabilities.shape == (50, 3)
    assert_array_equal(probabilities, net.predict(X))
    assert_allclose(probabilities.sum(axis=1), 1.0)
    binary = binary_classifier()
    assert_array_equal(binary.predict_proba(X), binary.predict(X))
    assert binary.predict_proba(X).shape == (50, 1)
    assert net.predict_proba(X[0]).shape == (3,)


@pytest.mark.parametrize("method", ["predict_proba", "predict_classes"])
def test_probabilities_and_classes_of_a_regression_are_a_clear_error(method):
    with pytest.raises(ValueError, match=f"{method} needs a classifier .* use predict"):
        getattr(regressor(), method)(X)


# --------------------------------------------------------------------------- predict_classes


def test_predict_classes_of_a_softmax_is_the_arg_max():
    net = classifier()
    net.fit(X, LABELS, optimizer="adam", epochs=20, batch_size=8)
    classes = net.predict_classes(X)
    assert classes.shape == (50,) and classes.dtype == np.int64
    assert_array_equal(classes, np.argmax(net.predict(X), axis=1))
    assert np.mean(classes == LABELS) == pytest.approx(net.accuracy(X, LABELS))
    single = net.predict_classes(X[3])
    assert np.ndim(single) == 0 and single == classes[3]


def test_predict_classes_of_a_sigmoid_thresholds_at_one_half():
    net = binary_classifier()
    net.fit(X, BINARY, optimizer="adam", epochs=20, batch_size=8)
    classes = net.predict_classes(X)
    assert classes.shape == (50,) and classes.dtype == np.int64
    assert_array_equal(classes, (net.predict(X)[:, 0] >= 0.5).astype(int))
    assert set(np.unique(classes)) <= {0, 1}
    # The same threshold as accuracy, so the two always agree.
    assert np.mean(classes == BINARY) == pytest.approx(net.accuracy(X, BINARY))


def test_predict_classes_of_several_sigmoid_labels_keeps_one_column_each():
    net = binary_classifier(outputs=2)
    classes = net.predict_classes(X)
    assert classes.shape == (50, 2)
    assert_array_equal(classes, (net.predict(X) >= 0.5).astype(int))


# --------------------------------------------------------------------------- score


def test_score_of_a_classifier_is_its_accuracy():
    net = classifier()
    assert net.score(X, LABELS) == net.accuracy(X, LABELS)


@pytest.mark.parametrize("outputs", [1, 2])
def test_score_of_a_regression_is_scikit_learns_r2(outputs):
    metrics = pytest.importorskip("sklearn.metrics")
    net = regressor(outputs)
    targets = TARGETS if outputs == 1 else np.c_[TARGETS, -0.5 * TARGETS + X[:, 3]]
    net.fit(X, targets, optimizer=optimizers.Adam(lr=0.01), epochs=60, batch_size=8)
    predictions = net.predict(X)
    expected = metrics.r2_score(targets, predictions[:, 0] if outputs == 1 else predictions)
    assert net.score(X, targets) == pytest.approx(expected, rel=1e-12)
    assert 0.5 < net.score(X, targets) < 1.0  # it learned, and is not perfect


@pytest.mark.parametrize(
    "targets, predictions",
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),  # perfect
        ([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]),  # the mean: 0
        ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]),  # worse than the mean: negative
        ([5.0, 5.0, 5.0], [5.0, 5.0, 5.0]),  # constant targets, exact: 1
        ([5.0, 5.0, 5.0], [5.0, 4.0, 5.0]),  # constant targets, missed: 0
        ([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]], [[1.5, 5.0], [2.0, 5.0], [3.0, 4.0]]),
    ],
)
def test_r2_score_agrees_with_scikit_learn_on_edge_cases(targets, predictions):
    metrics = pytest.importorskip("sklearn.metrics")
    assert r2_score(targets, predictions) == pytest.approx(
        metrics.r2_score(targets, predictions), abs=1e-15
    )


@pytest.mark.parametrize(
    "targets, predictions, match",
    [
        ([1.0], [1.0], "at least two rows"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], "must be the same"),
    ],
)
def test_r2_score_bad_input(targets, predictions, match):
    with pytest.raises(ValueError, match=match):
        r2_score(targets, predictions)


def test_score_of_a_regression_checks_its_targets():
    with pytest.raises(ValueError, match="T has 3 rows, X has 50"):
        regressor().score(X, TARGETS[:3])


# --------------------------------------------------------------------------- evaluate


def test_evaluate_returns_loss_and_accuracy_in_one_named_tuple():
    net = classifier()
    result = net.evaluate(X, LABELS)
    assert isinstance(result, Evaluation)
    loss, accuracy = result
    assert loss == pytest.approx(net.loss(X, LABELS), rel=1e-12)
    assert accuracy == net.accuracy(X, LABELS)
    assert result.loss == loss and result.accuracy == accuracy


def test_evaluate_of_a_regression_has_no_accuracy():
    net = regressor()
    loss, accuracy = net.evaluate(X, TARGETS)
    assert loss == pytest.approx(net.loss(X, TARGETS), rel=1e-12)
    assert accuracy is None


def test_evaluate_checks_its_arguments():
    with pytest.raises(ValueError, match="class labels must be in"):
        classifier().evaluate(X, LABELS + 5)


# --------------------------------------------------------------------------- summary


def test_summary_prints_layers_activations_counts_and_dtype(capsys):
    net = MLP([64, 32, 16, 10], hidden=["relu", "tanh"], output="softmax", seed=0)
    assert net.summary() is None
    printed = capsys.readouterr().out
    assert printed.count("\n") == printed.rstrip("\n").count("\n") + 1  # printed once
    text = net.summary(print_fn=None)
    assert printed == text + "\n"
    lines = text.splitlines()
    assert "float32" in lines[0]
    layer_lines = [line for line in lines if line.startswith("dense")]
    assert [line.split()[3] for line in layer_lines] == ["relu", "tanh", "softmax"]
    counts = [int(line.split()[-1].replace(",", "")) for line in layer_lines]
    assert counts == [65 * 32, 33 * 16, 17 * 10]
    assert f"total parameters: {net.n_params:,}" in text
    assert "cross-entropy" in text


def test_summary_shows_dropout_only_where_there_is_some():
    text = MLP([8, 6, 4, 2], dropout=[0.25, 0.0], seed=0).summary(print_fn=None)
    lines = text.splitlines()
    assert lines[1].split()[-1] == "dropout"
    assert lines[3].split()[-1] == "0.25"  # dense 1
    assert lines[4].split()[-1] == "28" and lines[5].split()[-1] == "10"  # 0: no rate shown
    assert "dropout" not in MLP([8, 6, 2], seed=0).summary(print_fn=None)


def test_summary_names_the_optimizer_after_a_fit_and_accepts_a_print_function():
    net = regressor()
    net.fit(X, TARGETS, optimizer="adam")
    collected = []
    net.summary(print_fn=collected.append)
    assert len(collected) == 1 and "Adam(lr=0.001" in collected[0]
    assert "mean squared error" in collected[0] and "float64" in collected[0]
    with pytest.raises(TypeError, match="print_fn must be callable or None"):
        net.summary(print_fn="stdout")


# --------------------------------------------------------------------------- History


def test_history_under_keras_names_and_epoch_indices():
    net = classifier()
    history = net.fit(X, LABELS, epochs=4, batch_size=10, validation_data=(X, LABELS))
    assert history.epoch == [0, 1, 2, 3]
    figures = history.history
    assert list(figures) == ["loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]
    assert figures["loss"] == history.loss and figures["accuracy"] == history.train_acc
    assert figures["val_loss"] == history.val_loss
    assert figures["val_accuracy"] == history.val_acc
    assert figures["learning_rate"] == history.lr == [0.01] * 4  # SGD's default, every epoch
    figures["loss"].append(99.0)  # a copy: the History is unchanged
    assert len(history.loss) == 4


def test_history_of_a_regression_without_validation_has_no_accuracy_or_val():
    history = regressor().fit(X, TARGETS, epochs=2)
    assert history.history == {"loss": history.loss, "learning_rate": history.lr}
    assert history.epoch == [0, 1]
    assert History().history == {"loss": []} and History().epoch == []
