"""save/load, pickling, and the progress bar."""

import pickle
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import MLP, optimizers


@pytest.fixture
def trained():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    y = rng.integers(0, 3, 50)
    net = MLP([4, 6, 5, 3], hidden=["relu", "tanh"], init=0.1, dtype="float64", seed=3)
    net.fit(X, y, optimizer=optimizers.Adam(lr=0.01, amsgrad=True), epochs=2)
    return net, X, y


def test_save_and_load_restore_predictions_and_training_exactly(trained, tmp_path):
    net, X, y = trained
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = MLP.load(path)
    assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.sizes == net.sizes and loaded.hidden == net.hidden
    assert loaded.init == 0.1 and loaded.dtype == np.float64 and loaded.seed == 3
    assert loaded.optimizer_.get_params() == net.optimizer_.get_params()
    assert loaded.optimizer_.step_[0] == 100
    # Training on after loading is the same as training on without saving.
    net.fit(X, y, epochs=1)
    loaded.fit(X, y, epochs=1)
    assert_array_equal(loaded.theta, net.theta)
    assert np.shares_memory(loaded.params["W2"], loaded.theta)


def test_save_without_optimizer_and_to_any_suffix(tmp_path):
    net = MLP([2, 3, 1], output="identity", seed=1)
    path = tmp_path / "weights.bin"
    net.save(str(path))
    assert path.exists() and not (tmp_path / "weights.bin.npz").exists()
    loaded = MLP.load(path)
    assert loaded.optimizer_ is None
    assert_array_equal(loaded.theta, net.theta)


def test_failed_save_leaves_the_old_file_intact(trained, tmp_path, monkeypatch):
    net, _, _ = trained
    path = tmp_path / "model.npz"
    net.save(path)
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    net.params["W1"][...] = 0
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temporary left


def test_truncated_file(trained, tmp_path):
    net, _, _ = trained
    path = tmp_path / "model.npz"
    net.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        MLP.load(path)


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        MLP.load(text)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.ones(3))
    with pytest.raises(ValueError, match=r"missing fields \['format'"):
        MLP.load(other)
    with pytest.raises(FileNotFoundError, match="no such model file"):
        MLP.load(tmp_path / "absent.npz")


def _edit(path, **changes):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays.update(changes)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"theta": np.ones(5)}, r"'theta' has float64 \(5,\), the architecture needs"),
        ({"sizes": np.array([4, 0, 5, 3])}, r"sizes\[1\] must be >= 1"),
        ({"hidden": np.array(["relu", "swish"])}, "unknown activation 'swish'"),
        ({"format": np.array("something.else")}, "format is 'something.else'"),
        ({"format_version": np.array(99)}, "format version 99 is newer"),
        ({"dtype": np.array("int8")}, "dtype must be"),
    ],
)
def test_edited_files(trained, tmp_path, changes, match):
    net, _, _ = trained
    path = tmp_path / "model.npz"
    net.save(path)
    _edit(path, **changes)
    with pytest.raises(ValueError, match=match):
        MLP.load(path)


def test_edited_theta_with_nan(trained, tmp_path):
    net, _, _ = trained
    path = tmp_path / "model.npz"
    net.save(path)
    theta = net.theta.copy()
    theta[3] = np.nan
    _edit(path, theta=theta)
    with pytest.raises(ValueError, match="'theta' contains NaN or inf"):
        MLP.load(path)


def test_loading_never_unpickles(trained, tmp_path):
    net, _, _ = trained
    path = tmp_path / "model.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["theta"] = np.array([object()], dtype=object)
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            with archive.open(key + ".npy", "w") as stream:
                np.lib.format.write_array(stream, value, allow_pickle=True)
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        MLP.load(path)


def test_pickle_round_trip_keeps_views(trained):
    net, X, _ = trained
    clone = pickle.loads(pickle.dumps(net))
    assert_array_equal(clone.predict(X), net.predict(X))
    clone.params["W1"][0, 0] = 123.0
    assert clone.theta[0] == 123.0 and net.theta[0] != 123.0


def test_progress_bar_trains_exactly_like_without(capsys):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 4))
    y = rng.integers(0, 3, 300)
    thetas = []
    for progress in (False, True):
        for batch_size in (1, 7):
            net = MLP([4, 20, 3], dtype="float64", seed=0)
            history = net.fit(
                X,
                y,
                optimizer=optimizers.Momentum(lr=0.01),
                epochs=2,
                batch_size=batch_size,
                progress=progress,
            )
            thetas.append((net.theta.copy(), history.loss))
    for (theta_plain, loss_plain), (theta_bar, loss_bar) in zip(
        thetas[:2], thetas[2:], strict=True
    ):
        assert_array_equal(theta_plain, theta_bar)
        assert loss_plain == loss_bar
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "sample/s" in err and "loss=" in err
