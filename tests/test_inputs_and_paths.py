"""File names given as bytes or path objects, and targets that do not fit the outputs: each
either works or says what it needs."""

import os
import pathlib

import numpy as np
import pytest

from fastnn import MLP, sweep


class BytesPath:
    """An os.PathLike whose __fspath__ returns bytes, as os.fspath allows."""

    def __init__(self, path):
        self.path = os.fsencode(path)

    def __fspath__(self):
        return self.path


@pytest.mark.parametrize("kind", [bytes, pathlib.Path, BytesPath, str])
def test_save_and_load_take_bytes_and_path_objects(tmp_path, kind):
    net = MLP([3, 4, 2], seed=0)
    where = str(tmp_path / "m.npz")
    path = os.fsencode(where) if kind is bytes else kind(where)
    net.save(path)
    assert os.path.exists(where)
    np.testing.assert_array_equal(MLP.load(path).theta, net.theta)


@pytest.mark.parametrize("kind", [bytes, pathlib.Path, BytesPath])
def test_sweep_tables_take_bytes_and_path_objects(tmp_path, kind):
    rng = np.random.default_rng(0)
    results = sweep(rng.random((20, 3)), rng.integers(0, 2, 20), [{"sizes": [3, 2, 2]}])
    for name, write in (("r.csv", results.to_csv), ("r.md", results.to_markdown)):
        where = str(tmp_path / name)
        text = write(os.fsencode(where) if kind is bytes else kind(where))
        assert pathlib.Path(where).read_text() == text


def test_to_onnx_takes_a_bytes_path(tmp_path):
    pytest.importorskip("onnx")
    where = tmp_path / "m.onnx"
    MLP([3, 4, 2], seed=0).to_onnx(os.fsencode(str(where)))
    assert where.stat().st_size > 0


@pytest.mark.parametrize("path", [3, None, 1.5, object()])
def test_a_path_that_is_no_file_name_is_named(path):
    net = MLP([3, 4, 2], seed=0)
    with pytest.raises(TypeError, match=r"path must be a str, bytes or os.PathLike file name"):
        net.save(path)
    with pytest.raises(TypeError, match=r"path must be a str, bytes or os.PathLike file name"):
        MLP.load(path)


# ---------------------------------------------------------------- targets


@pytest.mark.parametrize(
    "output, match",
    [
        (
            "sigmoid",
            r"T is 1-D with 10 values \(shape \(10,\)\), for 10 rows; the network has 3 sigmoid "
            r"outputs, so it needs T of shape \(10, 3\): 0/1 labels, one column per output. "
            r"For one class label per row, use output='softmax'",
        ),
        ("identity", r"T is 1-D with 10 values .* 3 identity outputs, so it needs T of shape"),
    ],
)
def test_1d_targets_for_several_outputs_say_what_the_network_needs(output, match):
    X = np.random.default_rng(0).random((10, 4))
    net = MLP([4, 5, 3], output=output, seed=0)
    with pytest.raises(ValueError, match=match):
        net.fit(X, np.arange(10) % 2)
    with pytest.raises(ValueError, match=match):
        net.loss(X, np.arange(10) % 2)


def test_a_1d_target_is_still_one_samples_row():
    net = MLP([4, 5, 3], output="sigmoid", seed=0)
    net.fit(np.ones(4), np.array([0, 1, 1]))  # one sample: its input row and target row
    assert np.isfinite(net.loss(np.ones(4), np.array([0, 1, 1])))
