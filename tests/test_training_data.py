"""fastnn.validation.training_data: a data set checked for training, its task read from the
targets as MLP.fit reads them (the command line's --data goes through it; tests/test_cli.py
checks its messages end to end)."""

import numpy as np
import pytest

from fastnn import MLP
from fastnn.validation import (
    MAX_CLASSES,
    OutputMismatchError,
    class_labels,
    finite_values,
    training_data,
)

RNG = np.random.default_rng(0)
X = RNG.random((12, 3))
LABELS = np.arange(12) % 3


@pytest.mark.parametrize(
    "T, output, n_outputs",
    [
        (LABELS, "softmax", 3),  # integer labels
        (LABELS[:, None], "softmax", 3),  # one column of them
        (LABELS.astype(float), "softmax", 3),  # whole numbers stored as floats
        (np.eye(3)[LABELS], "softmax", 3),  # one-hot rows
        (X[:, 0], "identity", 1),  # real targets
        (X[:, :2], "identity", 2),  # several of them
        (np.full(12, 0.0), "identity", 1),  # a single "class" of floats is a regression
    ],
)
def test_the_targets_decide_the_task_as_fit_reads_them(T, output, n_outputs):
    data = training_data(X, T, dtype="float32")
    assert (data.output, data.n_outputs) == (output, n_outputs)
    assert data.X.dtype == np.float32 and data.X.flags.c_contiguous
    assert data.is_regression == (output == "identity")
    # What it decided trains: MLP.fit takes the targets in that form.
    MLP([3, 4, data.n_outputs], output=output, dtype="float32", seed=0).fit(data.X, data.T)


def test_whole_floats_read_as_labels_say_so():
    data = training_data(X, LABELS.astype(float), X[:4], LABELS[:4].astype(float))
    assert data.T.dtype == np.int64 and data.T_test.dtype == np.int64
    assert "read as class labels" in data.note and "output='identity'" in data.note
    data = training_data(X, LABELS.astype(float), output="identity", output_name="--output")
    assert (data.output, data.note) == ("identity", "")


def test_output_on_request_and_targets_that_do_not_suit_it():
    assert training_data(X, LABELS % 2, output="sigmoid").output == "sigmoid"
    with pytest.raises(OutputMismatchError, match=r"output='sigmoid' needs targets in \[0, 1\]"):
        training_data(X, LABELS, output="sigmoid")
    with pytest.raises(OutputMismatchError, match="output='softmax' needs class labels"):
        training_data(X, X[:, 0], output="softmax")
    with pytest.raises(OutputMismatchError, match="--output softmax needs class labels"):
        training_data(X, X[:, :2], output="softmax", output_name="--output", source="d.npz")
    assert issubclass(OutputMismatchError, ValueError)


@pytest.mark.parametrize(
    "arrays, error, message",
    [
        ({"T": np.r_[-1, LABELS[1:]]}, ValueError, "data.npz: t_train has label -1 at row 0"),
        ({"T": np.r_[MAX_CLASSES, LABELS[1:]]}, ValueError, "would need 10,001 output units"),
        ({"T": np.zeros(12, int)}, ValueError, "t_train has only one class"),
        ({"T": LABELS.astype(bool)}, TypeError, "store labels as integers"),
        ({"T": LABELS[:5]}, ValueError, "t_train has shape (5,); it needs one row per row"),
        ({"X": X[:, 0]}, ValueError, "the inputs must be 2-D"),
        ({"X": np.where(X > 0.9, np.nan, X)}, ValueError, "x_train contains nan at row"),
        ({"X": X * 1e300}, ValueError, "x_train has a value too large for float32 at row 0"),
        ({"X_test": X[:, :2], "T_test": LABELS}, ValueError, "x_test has 2 columns, x_train 3"),
        ({"X_test": X}, ValueError, "X_test and T_test come together"),
        ({"T": np.eye(3)[LABELS], "X_test": X, "T_test": X}, ValueError, "t_test does not"),
    ],
)
def test_bad_data_sets_name_the_source_the_array_and_the_row(arrays, error, message):
    given = {"X": X, "T": LABELS, **arrays}
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        training_data(**given, source="data.npz")


def test_the_building_blocks():
    assert finite_values("x", [[1, 2]], "float64").dtype == np.float64
    with pytest.raises(ValueError, match="x contains inf at row 1; clean or impute"):
        finite_values("x", [0.0, np.inf], "float32")
    assert class_labels("t", np.array([0, 2], np.int8)).dtype == np.int64
    with pytest.raises(TypeError, match="t must hold integer class labels"):
        class_labels("t", np.array([0.5]))
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        training_data(X, LABELS, dtype="float16")
    with pytest.raises(ValueError, match="output must be None, 'softmax'"):
        training_data(X, LABELS, output="tanh")
