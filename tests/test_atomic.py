"""atomic_write: models, charts and benchmark tables are written through it."""

import os
import stat
import subprocess
import sys
import uuid

import pytest

from fastnn.io import atomic as _atomic
from fastnn.io.atomic import atomic_write

needs_posix = pytest.mark.skipif(os.name != "posix", reason="POSIX file types and modes")


@pytest.fixture(params=["unnamed", "named"])
def temporary_kind(request, monkeypatch):
    """Run a test with O_TMPFILE (where the system has it) and with the portable path."""
    if request.param == "unnamed" and not _atomic.USE_O_TMPFILE:
        pytest.skip("no O_TMPFILE here")
    monkeypatch.setattr(_atomic, "USE_O_TMPFILE", request.param == "unnamed")
    return request.param


def test_writes_replace_the_file_and_a_failed_write_changes_nothing(tmp_path, temporary_kind):
    path = tmp_path / "table.md"
    with atomic_write(path) as stream:
        stream.write(b"first")
        # While the write is on, the unnamed kind has no name in the directory,
        # which is why a crash cannot leave it behind.
        during = sorted(os.listdir(tmp_path))
    assert path.read_bytes() == b"first"
    assert during == [] if temporary_kind == "unnamed" else len(during) == 1
    with pytest.raises(ZeroDivisionError), atomic_write(path) as stream:
        stream.write(b"second")
        raise ZeroDivisionError
    assert path.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["table.md"]


@needs_posix
def test_a_symbolic_link_is_followed_and_stays_a_link(tmp_path, temporary_kind):
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "v1.npz"
    target.write_bytes(b"old")
    link = tmp_path / "current.npz"
    link.symlink_to(target)
    with atomic_write(link) as stream:
        stream.write(b"new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path / "models")) == ["v1.npz"]


@needs_posix
def test_targets_that_are_not_regular_files_are_refused_untouched(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    directory = tmp_path / "folder"
    directory.mkdir()
    for path, kind in ((fifo, "a FIFO"), (directory, "a directory")):
        with pytest.raises(ValueError, match=rf"{path} is {kind}.*not a regular file"):
            with atomic_write(path) as stream:
                stream.write(b"data")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and directory.is_dir()
    assert sorted(os.listdir(tmp_path)) == ["folder", "pipe"]


@needs_posix
def test_permission_bits_are_kept_and_new_files_get_the_umask(tmp_path, temporary_kind):
    private = tmp_path / "private.npz"
    private.write_bytes(b"old")
    private.chmod(0o600)
    with atomic_write(private) as stream:
        stream.write(b"new")
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    old_umask = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "fresh.npz") as stream:
            stream.write(b"new")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(tmp_path / "fresh.npz").st_mode) == 0o640


def test_errors_name_the_users_path_not_the_temporary_file(tmp_path, temporary_kind):
    path = tmp_path / "missing-folder" / "model.npz"
    with pytest.raises(FileNotFoundError) as raised:
        with atomic_write(path) as stream:
            stream.write(b"data")
    assert raised.value.filename == str(path)
    assert ".tmp" not in str(raised.value)


def _temporary(directory, target, pid, tag=None):
    tag = _atomic._writer_tag() if tag is None else tag
    path = directory / f".{target}.{pid}-{tag}.{uuid.uuid4().hex}.tmp"
    path.write_bytes(b"partial")
    return path.name


@needs_posix
def test_only_provably_abandoned_temporaries_are_removed(tmp_path):
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # reaped: no process has this PID now
    dead = finished.pid
    abandoned = _temporary(tmp_path, "model.npz", dead)
    kept = {
        _temporary(tmp_path, "model.npz", os.getpid()),  # a live writer (another thread)
        _temporary(tmp_path, "model.npz", os.getppid()),  # a live writer (another process)
        _temporary(tmp_path, "model.npz", dead, tag="0123abcd"),  # another host's PID
        _temporary(tmp_path, "other.npz", dead),  # another target
    }
    old_style = tmp_path / f".model.npz.{uuid.uuid4().hex}.tmp"  # no PID: cannot tell
    old_style.write_bytes(b"partial")
    kept.add(old_style.name)
    with atomic_write(tmp_path / "model.npz") as stream:
        stream.write(b"model")
    left = set(os.listdir(tmp_path))
    assert abandoned not in left
    assert left == kept | {"model.npz"}


@needs_posix
def test_an_unnamed_file_that_cannot_be_linked_is_copied_with_its_mode(tmp_path, monkeypatch):
    if not _atomic.USE_O_TMPFILE:
        pytest.skip("no O_TMPFILE here")

    def no_link(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    path.chmod(0o604)
    with atomic_write(path) as stream:
        stream.write(b"new" * 100_000)
    assert path.read_bytes() == b"new" * 100_000
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o604
    assert os.listdir(tmp_path) == ["model.npz"]


def test_check_writable_finds_a_bad_output_path_before_any_work(tmp_path, temporary_kind):
    good = tmp_path / "model.npz"
    _atomic.check_writable(good)
    assert os.listdir(tmp_path) == []  # it created nothing
    with pytest.raises(FileNotFoundError) as raised:
        _atomic.check_writable(tmp_path / "missing-folder" / "model.npz")
    assert raised.value.filename == str(tmp_path / "missing-folder" / "model.npz")
    with pytest.raises(ValueError, match="is a directory, not a regular file"):
        _atomic.check_writable(tmp_path)
