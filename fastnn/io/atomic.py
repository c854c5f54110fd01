"""Atomic file writes: the old file or the new one, never half of one, and no litter.

Models (:mod:`fastnn.io.model_file`), charts (:mod:`fastnn.plot`) and benchmark tables
all write through :func:`atomic_write`. The data go to a temporary file in the target's
directory, are flushed to disk, and are renamed over the target in one step.

What a crash (even ``kill -9``) during a write leaves behind:

- On Linux, the temporary file is created with ``O_TMPFILE``: it has no name while it
  is written, so the kernel frees it if the process dies. It gets a name only for the
  moment between ``linkat`` and the rename.
- Elsewhere (or on file systems without ``O_TMPFILE``) it is a hidden
  ``.NAME.<pid>-<host>.<random>.tmp`` file. Every later write to the same target
  removes such files whose writer is provably gone: same host and PID namespace (the
  ``<host>`` tag), and no process with that PID. Another process's file that may still
  be in use is never touched.
"""

import contextlib
import hashlib
import os
import re
import shutil
import socket
import stat
import uuid
from collections.abc import Iterator
from typing import BinaryIO, TypeAlias

PathLike: TypeAlias = str | bytes | os.PathLike[str] | os.PathLike[bytes]

# False forces the portable named temporary file (the tests exercise both paths).
USE_O_TMPFILE = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")

# Longer target names are hashed in the temporary name, which must stay under
# the usual 255-byte limit of a file name.
_LONGEST_STEM = 150


def path_text(path: PathLike, name: str = "path") -> str:
    """Return a file path given as str, bytes or ``os.PathLike`` as a str.

    Bytes (and path objects whose ``__fspath__`` returns bytes) are decoded as
    the operating system does (``os.fsdecode``), so ``b"m.npz"`` names the same
    file as ``"m.npz"``.

    Raises
    ------
    TypeError
        Naming ``name`` for anything else (``None``, a number, an open file).
    """
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(
            f"{name} must be a str, bytes or os.PathLike file name, got {type(path).__name__}"
        ) from None


def file_kind(mode: int) -> str:
    """Describe a file that is not a regular one, from its ``st_mode``: "a directory"..."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    for test, kind in kinds:
        if test(mode):
            return kind
    return "not a regular file"


def _writer_tag():
    """Eight hex digits naming this host and PID namespace.

    A PID says whether a writer is alive only where it was issued: on another
    host sharing the directory, or in another container, the same number is
    another process.
    """
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return hashlib.sha1(f"{socket.gethostname()}|{namespace}".encode()).hexdigest()[:8]


def _stem(name):
    if len(name.encode("utf-8", "surrogateescape")) <= _LONGEST_STEM:
        return name
    return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()


def _temporary_name(name):
    return f".{_stem(name)}.{os.getpid()}-{_writer_tag()}.{uuid.uuid4().hex}.tmp"


def _writer_is_gone(pid):
    """True only if no process with ``pid`` exists (POSIX); never guesses."""
    if os.name != "posix" or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: an existence check, nothing is sent
    except ProcessLookupError:
        return True
    except (OSError, OverflowError, ValueError):  # alive but not ours, or no valid PID
        return False
    return False


def remove_abandoned_temporaries(path: PathLike) -> list[str]:
    """Delete temporary files of earlier writes to ``path`` whose writer is gone.

    Only files named as :func:`atomic_write` names them, tagged with this host
    and PID namespace, whose writer PID no longer exists, are removed.

    Parameters
    ----------
    path : str or os.PathLike
        The target (after resolving symbolic links).

    Returns
    -------
    list of str
        The files removed.
    """
    directory, name = os.path.split(path_text(path))
    pattern = re.compile(
        rf"\.{re.escape(_stem(name))}\.(\d{{1,10}})-{_writer_tag()}\.[0-9a-f]{{32}}\.tmp"
    )
    removed: list[str] = []
    try:
        entries = os.scandir(directory or ".")
    except OSError:
        return removed
    with entries:
        for entry in entries:
            match = pattern.fullmatch(entry.name)
            if match is None or not _writer_is_gone(int(match[1])):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
                    removed.append(entry.path)
    return removed


def _named(error, path):
    """``error`` again, naming the user's ``path`` rather than a temporary file."""
    if error.errno is None:
        return OSError(f"cannot write {path}: {error}")
    return OSError(error.errno, error.strerror, os.fspath(path))


def _open_unnamed(directory):
    """An ``O_TMPFILE`` descriptor in ``directory``, or None where that is unsupported."""
    if not USE_O_TMPFILE:
        return None
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o666)
    except OSError:  # EOPNOTSUPP, EISDIR (old kernels), ...: use a named file
        return None


def _open_named(directory, name):
    temporary = os.path.join(directory, _temporary_name(name))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    # 0o666 and the umask, as open() gives; tempfile.mkstemp would give 0600.
    return os.open(temporary, flags, 0o666), temporary


def _name_unnamed(descriptor, directory, name):
    """Give the ``O_TMPFILE`` file a (temporary) name; copy it if linking fails."""
    temporary_name = _temporary_name(name)
    try:
        # linkat(AT_SYMLINK_FOLLOW) through /proc, as open(2) documents. A
        # directory descriptor makes Python call linkat rather than link, which
        # would try to link the /proc symbolic link itself.
        directory_descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.link(
                f"/proc/self/fd/{descriptor}",
                temporary_name,
                dst_dir_fd=directory_descriptor,
                follow_symlinks=True,
            )
        finally:
            os.close(directory_descriptor)
        return os.path.join(directory, temporary_name)
    except OSError:
        pass
    named, temporary = _open_named(directory, name)
    try:
        with open(descriptor, "rb", closefd=False) as source, open(named, "wb") as copy:
            os.fchmod(named, stat.S_IMODE(os.fstat(descriptor).st_mode))
            source.seek(0)
            shutil.copyfileobj(source, copy)
            copy.flush()
            os.fsync(copy.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    return temporary


def _sync_directory(directory):
    """Make the rename itself durable (POSIX); harmless to skip where unsupported."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _resolve(path: PathLike) -> tuple[str, str, os.stat_result | None]:
    """Return (path as given, the file it names through links, its stat or None)."""
    shown = path_text(path)
    target = os.path.realpath(shown)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as error:
        raise _named(error, shown) from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise ValueError(
            f"{shown} is {file_kind(existing.st_mode)}, not a regular file; fastnn "
            "writes only regular files (choose a file name)"
        )
    return shown, target, existing


def check_writable(path: PathLike) -> None:
    """Raise now what :func:`atomic_write` would raise for ``path`` itself.

    For commands that write their results at the end: a bad output path is
    found before the work, not after it. Creates nothing: the probe is a
    temporary file, removed at once.

    Parameters
    ----------
    path : str or os.PathLike

    Raises
    ------
    ValueError
        If ``path`` exists and is not a regular file.
    OSError
        If no file can be created beside it (missing folder, no permission,
        read-only file system); it names ``path``.
    """
    shown, target, _ = _resolve(path)
    directory, name = os.path.split(target)
    temporary = None
    try:
        descriptor = _open_unnamed(directory)
        if descriptor is None:
            descriptor, temporary = _open_named(directory, name)
        os.close(descriptor)
    except OSError as error:
        raise _named(error, shown) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.remove(temporary)


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[BinaryIO]:
    """Yield a binary stream whose contents replace ``path`` only if the block succeeds.

    - On any error, or a crash, an existing ``path`` is left as it was, and no
      temporary file is left behind (see the module's docstring for ``kill -9``).
    - A symbolic link is followed: its target gets the new contents and the
      link stays a link.
    - An existing file keeps its permission bits; a new one gets the usual
      ``0o666`` minus the umask. (Its owner becomes the writing user.)
    - Errors of the write itself name ``path``, never the temporary file.

    Parameters
    ----------
    path : str, bytes or os.PathLike

    Raises
    ------
    TypeError
        If ``path`` is not a file name.
    ValueError
        If ``path`` exists and is not a regular file (a directory, a FIFO, a
        device such as ``/dev/null``, a socket): it is never replaced.
    OSError
        If the file cannot be written; it names ``path``.
    """
    shown, target, existing = _resolve(path)
    directory, name = os.path.split(target)
    remove_abandoned_temporaries(target)

    temporary = None
    try:
        descriptor = _open_unnamed(directory)
        if descriptor is None:
            descriptor, temporary = _open_named(directory, name)
        stream = os.fdopen(descriptor, "wb")
    except OSError as error:
        raise _named(error, shown) from None
    try:
        try:
            if existing is not None and hasattr(os, "fchmod"):
                os.fchmod(stream.fileno(), stat.S_IMODE(existing.st_mode))
        except OSError as error:
            raise _named(error, shown) from None
        yield stream
        try:
            stream.flush()
            os.fsync(stream.fileno())
            if temporary is None:
                temporary = _name_unnamed(stream.fileno(), directory, name)
            os.replace(temporary, target)
            temporary = None
        except OSError as error:
            raise _named(error, shown) from None
    finally:
        # After a failed flush, close() would retry it and raise again, without
        # the path; the error that matters is already on its way.
        with contextlib.suppress(OSError):
            stream.close()
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.remove(temporary)
    _sync_directory(directory)
