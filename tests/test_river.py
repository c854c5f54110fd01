"""fastnn.river: River's protocol, River's own checks, pipelines and bad input."""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_array_equal

river = pytest.importorskip("river")
pd = pytest.importorskip("pandas")

from river import checks, datasets, evaluate, metrics, preprocessing  # noqa: E402

from fastnn.river import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.mark.parametrize("model", [MLPClassifier(seed=1), MLPRegressor(seed=1)])
def test_river_check_estimator(model):
    checks.check_estimator(model)


def test_pipeline_and_river_progressive_val_score():
    model = preprocessing.StandardScaler() | MLPClassifier(seed=0)
    accuracy = evaluate.progressive_val_score(
        itertools.islice(datasets.Phishing(), 600), model, metrics.Accuracy()
    )
    assert accuracy.get() > 0.8  # River's LogisticRegression: 0.87 on these rows
    regression = preprocessing.StandardScaler() | preprocessing.TargetStandardScaler(
        MLPRegressor(seed=0, optimizer="sgd", lr=0.01)
    )
    mae = evaluate.progressive_val_score(datasets.TrumpApproval(), regression, metrics.MAE())
    assert mae.get() < 1.0  # predicting the mean: 4.7


def test_each_event_is_one_learn_one_of_the_network():
    from fastnn import MLP, optimizers

    rows = list(itertools.islice(datasets.Phishing(), 50))
    model = MLPClassifier(seed=3, hidden_layer_sizes=(8,), optimizer="sgd", lr=0.1)
    for x, y in rows:
        model.learn_one(x, y)
    names = sorted(rows[0][0])
    X = np.array([[x[name] for name in names] for x, _ in rows])
    labels = {rows[0][1]: 0, not rows[0][1]: 1}
    net = MLP([len(names), 8, 2], seed=3, dtype="float64", specialise=False)
    net.fit(X, [labels[y] for _, y in rows], optimizer=optimizers.SGD(lr=0.1), shuffle=False)
    assert_array_equal(model.net.theta, net.theta)
    assert model.predict_proba_one(rows[0][0])[rows[0][1]] == pytest.approx(
        net.predict_one(X[0])[0]
    )


def test_new_features_and_classes_start_with_zero_weights():
    model = MLPClassifier(seed=0)
    model.learn_one({"a": 1.0, "b": 2.0}, "cat")
    model.learn_one({"a": 0.5, "b": 1.0}, "dog")
    before = model.predict_proba_one({"a": 1.0, "b": 2.0})
    model.learn_one({"a": 1.0, "b": 2.0, "c": 3.0}, "cat")  # grows, then learns
    assert model.net.sizes[0] == 3
    model.learn_one({"a": 1.0}, "bird")  # a third class: a third output
    assert model.net.sizes[-1] == 3
    proba = model.predict_proba_one({"a": 1.0, "b": 2.0, "c": 3.0})
    assert set(proba) == {"cat", "dog", "bird"} and sum(proba.values()) == pytest.approx(1.0)
    assert set(before) == {"cat", "dog"}


def test_growing_keeps_what_was_learnt():
    model = MLPClassifier(seed=0)
    for _ in range(5):
        model.learn_one({"a": 1.0, "b": -1.0}, True)
        model.learn_one({"a": -1.0, "b": 1.0}, False)
    before = model.predict_proba_one({"a": 1.0, "b": -1.0})
    model._grow(["c"])  # what the first dict with feature "c" does before learning
    after = model.predict_proba_one({"a": 1.0, "b": -1.0, "c": 5.0})
    assert after == pytest.approx(before)
    assert_array_equal(model.net.params["W1"][2], np.zeros(model.net.sizes[1]))


def test_fixed_features_and_classes_name_what_is_wrong():
    model = MLPClassifier(features=("a", "b", "c"), classes=("yes", "no"))
    with pytest.raises(ValueError, match=r"missing feature\(s\) \['b'\]"):
        model.learn_one({"a": 1.0, "c": 2.0}, "yes")
    with pytest.raises(ValueError, match=r"\['z'\] that are not in features"):
        model.learn_one({"a": 1.0, "b": 1.0, "c": 2.0, "z": 0.0}, "yes")
    with pytest.raises(ValueError, match="y='maybe' is not one of classes"):
        model.learn_one({"a": 1.0, "b": 1.0, "c": 2.0}, "maybe")
    model.learn_one({"a": 1.0, "b": 1.0, "c": 2.0}, "no")
    assert set(model.predict_proba_one({"a": 1.0, "b": 1.0, "c": 2.0})) == {"yes", "no"}


def test_bad_values_are_named():
    model = MLPClassifier(seed=0)
    with pytest.raises(TypeError, match=r"x\['b'\] is 'red'"):
        model.learn_one({"a": 1.0, "b": "red"}, True)
    model.learn_one({"a": 1.0, "b": 2.0}, True)
    with pytest.raises(TypeError, match=r"x\['b'\] is 'red'"):
        model.learn_one({"a": 1.0, "b": "red"}, True)
    with pytest.raises(ValueError, match=r"x\[\d\] is nan"):
        model.learn_one({"a": 1.0, "b": float("nan")}, True)
    with pytest.raises(TypeError, match="dict"):
        model.learn_one([1.0, 2.0], True)
    with pytest.raises(TypeError, match="optimizer"):
        MLPClassifier(optimizer=object())
    with pytest.raises(ValueError, match="lr"):
        MLPRegressor(lr=-1.0)


def test_learn_many_and_predict_many():
    rows = list(itertools.islice(datasets.Phishing(), 80))
    one, many = MLPClassifier(seed=2), MLPClassifier(seed=2)
    for x, y in rows:
        one.learn_one(x, y)
    frame = pd.DataFrame([x for x, _ in rows])
    many.learn_many(frame, pd.Series([y for _, y in rows]))
    assert_array_equal(one.net.theta, many.net.theta)
    predicted = many.predict_many(frame)
    assert list(predicted) == [many.predict_one(x) for x, _ in rows]
    proba = many.predict_proba_many(frame)
    assert proba.shape == (80, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
