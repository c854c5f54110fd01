"""save/load, pickling, and the progress bar."""

import io
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import MLP, optimizers
from fastnn.io import atomic as _atomic

REPO = Path(__file__).resolve().parents[1]


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
    with pytest.raises(ValueError, match="'theta' holds Python objects; loading never unpickles"):
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


# --- load: a model file is complete and consistent, or it is refused with a ValueError ---


def _arrays(path):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def _write_members(path, members, compression=zipfile.ZIP_STORED):
    """Write a zip of ``{name: array or raw bytes}``, as np.savez would (or could not)."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data if isinstance(data, bytes) else _npy(data))


def _central_entry(data, member):
    """Offset of ``member``'s entry in the zip's central directory."""
    start = data.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_length] == member.encode():
            return start
        start = data.index(b"PK\x01\x02", start + 4)


def _patch_central_entry(path, member, offset, fmt, value):
    """Overwrite a field of ``member``'s entry in the zip's central directory."""
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, _central_entry(data, member) + offset, value)
    path.write_bytes(bytes(data))


def _hide_the_optimizer_entries(path):
    """Damage one length field so zipfile reads the entries after rng_state as its comment."""
    data = path.read_bytes()
    start = _central_entry(data, "rng_state.npy")
    assert data.index(b"optimizer_name.npy", start) > start  # the optimizer comes after it
    name_length, extra_length = struct.unpack_from("<HH", data, start + 28)
    directory_end = len(data) - 22  # the end record: no archive comment
    rest = directory_end - (start + 46 + name_length + extra_length)
    _patch_central_entry(path, "rng_state.npy", 32, "<H", rest)  # its comment length


def _nested(depth):
    return np.array("[" * depth + "]" * depth)


def _rng_state(**changes):
    state = np.random.default_rng(0).bit_generator.state
    state.update(changes)
    return np.array(json.dumps(state))


@pytest.fixture
def saved(trained, tmp_path):
    net, _, _ = trained
    path = tmp_path / "model.npz"
    net.save(path)
    return path


def _craft_npy_file(path):
    np.save(path.with_suffix(".npy"), np.ones(3))
    path.with_suffix(".npy").rename(path)


def _craft_encrypted(path):
    _patch_central_entry(path, "theta.npy", 8, "<H", 0x1)  # general-purpose flags


def _craft_version_needed(path):
    _patch_central_entry(path, "theta.npy", 6, "<H", 99)  # "version needed": 9.9


def _craft_compression(path):
    _patch_central_entry(path, "theta.npy", 10, "<H", 99)


def _craft_lying_size(path):
    _patch_central_entry(path, "theta.npy", 24, "<I", 0xFFFF_FFF0)  # 4 GiB uncompressed


def _craft_huge_shape(path):
    arrays = _arrays(path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    members = {f"{key}.npy": value for key, value in arrays.items()}
    members["theta.npy"] = header.getvalue() + bytes(64)
    _write_members(path, members)


def _edit_with(**changes):
    def craft(path):
        arrays = _arrays(path)
        arrays.update(changes)
        np.savez(path, **arrays)

    return craft


@pytest.mark.parametrize(
    "craft, match",
    [
        (_craft_npy_file, "a single .npy array, not a fastnn model file"),
        (_craft_encrypted, "member 'theta.npy' is encrypted"),
        (_craft_version_needed, "not a readable fastnn model file .*zip file version 9.9"),
        (_craft_compression, "compression method 99"),
        (_craft_lying_size, "'theta.npy' declares 4294967280 bytes from"),
        (_craft_huge_shape, r"'theta' declares float64 \(1000000000000,\)"),
        (
            _edit_with(sizes=np.array([4, 2**64 - 1, 5, 3], dtype=np.uint64)),
            r"sizes\[1\] must be <= 2,147,483,647, got 18446744073709551615",
        ),
        (_edit_with(sizes=np.array([4, 10**9, 5, 3])), r"the architecture needs float64"),
        (_edit_with(sizes=np.array([4.0, 6.0, 5.0, 3.0])), "'sizes' must be a 1-D integer"),
        (_edit_with(theta=np.ones((83, 1))), r"'theta' has float64 \(83, 1\)"),
        (_edit_with(theta=np.ones(83, np.float32)), r"'theta' has float32 \(83,\)"),
        (_edit_with(format_version=np.array(2**64 - 1, np.uint64)), "format version 1844"),
        (_edit_with(format_version=np.array(0)), "format version must be >= 1"),
        (_edit_with(format_version=np.array("1")), "'format_version' must be an integer"),
        (_edit_with(init=_nested(50_000)), "'init' is JSON nested too deeply"),
        (_edit_with(seed=_nested(50_000)), "'seed' is JSON nested too deeply"),
        (_edit_with(rng_state=_nested(50_000)), "'rng_state' is JSON nested too deeply"),
        (_edit_with(optimizer_params=_nested(50_000)), "'optimizer_params' is JSON nested"),
        (_edit_with(rng_state=np.array("x" * 300_000)), "'rng_state' takes 1200128 bytes"),
        (_edit_with(seed=np.array("1.5")), "seed must be an integer or None"),
        (_edit_with(dtype=np.array("9" * 5000)), "dtype must be 'float32' or 'float64', got '999"),
    ],
)
def test_load_refuses_broken_or_crafted_files_with_a_value_error(saved, craft, match):
    craft(saved)
    with pytest.raises(ValueError, match=match):
        MLP.load(saved)


def test_load_names_a_directory_or_fifo_and_never_waits_on_one(tmp_path):
    with pytest.raises(ValueError, match="is a directory, not a model file"):
        MLP.load(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.npz"
        os.mkfifo(fifo)
        with pytest.raises(ValueError, match=r"is a FIFO \(named pipe\), not a model file"):
            MLP.load(fifo)
    with pytest.raises(FileNotFoundError, match="no such model file"):
        MLP.load(tmp_path / "absent.npz")


def _delete(*fields):
    def craft(path):
        arrays = _arrays(path)
        for field in fields:
            del arrays[field]
        np.savez(path, **arrays)

    return craft


def _flip_a_bit_in_the_state_name(path):
    data = path.read_bytes()
    assert data.count(b"optimizer_state.npy") == 2  # local header and central directory
    path.write_bytes(data.replace(b"optimizer_state.npy", b"optimizer_statd.npy"))


def _add_member(path):
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.npy", _npy(np.array("hello")))


NAN_STATE = np.zeros((3, 83))
NAN_STATE[1, 7] = np.nan


@pytest.mark.parametrize(
    "craft, match",
    [
        (_delete("optimizer_state"), "taken 100 steps but its state 'optimizer_state' is missing"),
        (_flip_a_bit_in_the_state_name, r"unknown members \['optimizer_statd.npy'\]"),
        (_hide_the_optimizer_entries, "directory declares 17 members but 11 could be read"),
        (_delete("optimizer_step"), r"optimizer is incomplete: \['optimizer_step'\] missing"),
        (_delete("optimizer_name"), r"optimizer is incomplete: \['optimizer_name'\] missing"),
        (_delete("seed"), r"missing fields \['seed'\]"),
        (_delete("backend"), r"missing fields \['backend'\]"),
        (_add_member, r"unknown members \['notes.npy'\]"),
        (_edit_with(optimizer_state=NAN_STATE), "'optimizer_state' contains NaN or inf"),
        (_edit_with(optimizer_state=np.zeros((1, 83))), r"'optimizer_state' has float64 \(1, 83"),
        (_edit_with(optimizer_step=np.array(2**63 - 1)), "must count steps in"),
        (_edit_with(optimizer_step=np.array(-1)), "must count steps in .*got -1"),
        (_edit_with(optimizer_step=np.array(1.5)), "'optimizer_step' must be an integer"),
        (_edit_with(optimizer_name=np.array("lion")), "unknown optimizer 'lion'"),
        (_edit_with(optimizer_params=np.array('{"lr": 0.01}')), "must give exactly"),
        (
            _edit_with(
                optimizer_params=np.array(json.dumps(optimizers.Adam().get_params() | {"lr": -1}))
            ),
            "lr must be > 0.0, got -1",
        ),
        (_edit_with(rng_state=np.array("[1, 2]")), "'rng_state' is not a PCG64 state"),
        (_edit_with(rng_state=_rng_state(bit_generator="MT19937")), "not a PCG64 state"),
        (_edit_with(rng_state=_rng_state(has_uint32=2)), "values a PCG64 cannot have"),
        (_edit_with(rng_state=_rng_state(uinteger=-1)), "not a PCG64 state"),
        (_edit_with(rng_state=_rng_state(state={"state": 2**130, "inc": 1})), "rng_state"),
        (_edit_with(rng_state=_rng_state(state={"state": 5, "inc": 8})), "cannot have"),
    ],
)
def test_partial_or_inconsistent_files_are_refused(saved, craft, match):
    craft(saved)
    with pytest.raises(ValueError, match=match):
        MLP.load(saved)


def test_a_stateless_optimizer_loads_and_hyper_parameters_must_fit_the_dtype(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
    net = MLP([3, 4, 2], seed=0)  # float32
    net.fit(X, y, optimizer=optimizers.Adam())
    net.optimizer_.reset()  # no state, step 0: a complete file
    path = tmp_path / "model.npz"
    net.save(path)
    assert MLP.load(path).optimizer_.step_[0] == 0
    arrays = _arrays(path)
    arrays["optimizer_params"] = np.array(json.dumps(net.optimizer_.get_params() | {"lr": 1e39}))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="rounded to float32, lr must be finite, got inf"):
        MLP.load(path)


# --- load reads only the members the format defines, each checked before it is read ---


def _peak_bytes_while(action):
    tracemalloc.start()
    try:
        action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _zip_bomb(name, n_values):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (n_values,)}
    )
    return name, header.getvalue() + bytes(8 * n_values)


@pytest.mark.parametrize(
    "bomb, match",
    [
        (_zip_bomb("theta.npy", 4 << 20), r"'theta' has float64 \(4194304,\), the architecture"),
        (_zip_bomb("bomb.npy", 4 << 20), r"unknown members \['bomb.npy'\]"),
    ],
)
def test_a_zip_bomb_member_is_refused_before_it_is_decompressed(saved, bomb, match):
    members = {f"{key}.npy": value for key, value in _arrays(saved).items()}
    members.update([bomb])  # 32 MiB of zeros, about 32 KiB deflated
    _write_members(saved, members, compression=zipfile.ZIP_DEFLATED)
    assert saved.stat().st_size < 100_000

    def load():
        with pytest.raises(ValueError, match=match):
            MLP.load(saved)

    assert _peak_bytes_while(load) < 4 << 20


# --- save: a crash leaves the old file, and no temporary file piles up ---

KILLED_WRITER = """
import sys
import numpy as np
from fastnn import MLP
from fastnn.io import atomic as _atomic

_atomic.USE_O_TMPFILE = sys.argv[2] == "unnamed"
real_savez = np.savez


def savez_then_wait(stream, **arrays):
    real_savez(stream, **arrays)  # the whole model is written...
    stream.flush()
    print("written", flush=True)
    sys.stdin.read()  # ...and the writer waits, before the rename, to be killed


np.savez = savez_then_wait
MLP([1000, 1000, 10], seed=1).save(sys.argv[1])  # 1 million parameters, 4 MB
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("kind", ["unnamed", "named"])
def test_kill_9_during_save_leaves_the_old_file_and_no_temporary_file(tmp_path, kind):
    if kind == "unnamed" and not _atomic.USE_O_TMPFILE:
        pytest.skip("no O_TMPFILE here")
    path = tmp_path / "model.npz"
    old = MLP([4, 3, 2], seed=0)
    old.save(path)
    before = path.read_bytes()
    environment = dict(os.environ, PYTHONPATH=str(REPO))
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path), kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO,
        env=environment,
    )
    try:
        assert writer.stdout.readline() == b"written\n"
        hidden = [name for name in os.listdir(tmp_path) if name != "model.npz"]
        # A named temporary file holds the new model now; an unnamed one has no name.
        assert len(hidden) == (1 if kind == "named" else 0)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        writer.stdin.close()
    assert writer.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert_array_equal(MLP.load(path).theta, old.theta)
    MLP([4, 3, 2], seed=5).save(path)  # the next save clears what the killed one left
    assert os.listdir(tmp_path) == ["model.npz"]
    assert_array_equal(MLP.load(path).theta, MLP([4, 3, 2], seed=5).theta)


def test_save_through_a_symlink_keeps_the_link_and_refuses_a_directory(trained, tmp_path):
    net, X, _ = trained
    target = tmp_path / "model-v1.npz"
    MLP([4, 6, 5, 3], seed=9).save(target)
    link = tmp_path / "model.npz"
    link.symlink_to(target.name)
    net.save(link)
    assert link.is_symlink()
    assert_array_equal(MLP.load(target).predict(X), net.predict(X))
    with pytest.raises(ValueError, match="is a directory, not a regular file"):
        net.save(tmp_path)
