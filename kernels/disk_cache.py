"""Numba's on-disk cache of compiled kernels, used only where it can be trusted, never fatal.

Numba's own ``cache=True`` picks a directory at import time and raises when it
finds none (a read-only install with no usable home directory: "no locator
available"), loads whatever pickles it finds there (a ``.nbi``/``.nbc`` file is
a pickle: loading one runs code), and lets a truncated file or a full disk fail
the call that compiles. :class:`KernelCache` replaces it for every kernel of
fastnn (:func:`fastnn.kernels._jit.jit` installs it):

- the directory is chosen at the first compile, not at import: ``NUMBA_CACHE_DIR``
  if set, else the ``__pycache__`` beside the source file, else
  ``$XDG_CACHE_HOME/fastnn/numba`` (``~/.cache/fastnn/numba``);
- a directory is used only if it is trusted: a real directory (not a symbolic
  link), owned by this user or by root, that no other user can write; one this
  module creates is private (0700);
- if none is usable, compiled code stays in memory for the session, and one
  :class:`KernelCacheWarning` says which directories could not be used and why;
- a cache entry that cannot be read (truncated, corrupt, from another build) is
  removed and the kernel compiled again, with one warning;
- a failure to write (read-only directory, full disk) keeps the compiled code in
  memory, with one warning;
- the source stamp of an entry is a hash of the source files, not their
  modification time: for the package's kernels, of every file of the package,
  so that editing any kernel invalidates every entry built with the old one.

Nothing here is imported by user code; :func:`cache_location` says where
compiled code goes, for messages.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import stat
import sys
import threading
import warnings

__all__ = ["KernelCache", "KernelCacheWarning", "cache_location", "trusted_directory"]


class KernelCacheWarning(RuntimeWarning):
    """A kernel cache directory or entry could not be used; fastnn went on without it."""


_warned = set()
_warn_lock = threading.Lock()
_registered_sources = {}


def warn_once(key, message):
    """Issue ``message`` as a :class:`KernelCacheWarning`, once per ``key`` per process."""
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, KernelCacheWarning, stacklevel=3)


def register_source(path, text):
    """Tell the cache the exact text executed for the module at ``path``.

    Generated modules are run from the text fastnn holds, not from the file:
    their entries are stamped with a hash of that text.
    """
    _registered_sources[os.path.abspath(path)] = hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------- trust


def trusted_directory(path):
    """Return None if ``path`` is a directory fastnn may trust with compiled code, else why not.

    Trusted: a real directory (not a symbolic link), owned by this user or by
    root, not writable by its group or by others.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "does not exist"
    except OSError as error:
        return error.strerror or str(error)
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if hasattr(os, "getuid"):
        if info.st_uid not in (os.getuid(), 0):
            return f"belongs to another user (uid {info.st_uid})"
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return "can be written by other users"
    return None


def private_directory(path):
    """Create ``path`` (and missing parents) private to this user; return why not, or None."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as error:
        return error.strerror or str(error)
    return trusted_directory(path)


def _writable(path):
    return os.access(path, os.W_OK | os.X_OK)


def home_directory():
    """This user's home directory, or None when it cannot be found (no HOME, no passwd entry)."""
    home = os.environ.get("HOME")
    if home:
        return home
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir or None
    except (ImportError, KeyError, OSError, AttributeError):
        return None


def user_cache_root():
    """``$XDG_CACHE_HOME/fastnn`` or ``~/.cache/fastnn``; None without a home directory."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = home_directory()
        if home is None:
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "fastnn")


# ------------------------------------------------------------------------- locations


def _mirror_name(directory):
    # As Numba names a source directory's entries under NUMBA_CACHE_DIR.
    digest = hashlib.sha1(directory.encode()).hexdigest()
    return f"{os.path.basename(directory)}_{digest}"


def _numba_cache_dir():
    try:
        from numba.core import config

        return config.CACHE_DIR or None
    except Exception:  # noqa: BLE001 - no configuration: no user-provided directory
        return os.environ.get("NUMBA_CACHE_DIR") or None


@functools.cache
def _location(directory, numba_dir, cache_root):
    """``(path, writable, problems)`` for the entries of the sources in ``directory``.

    ``path`` is None when no directory is usable; ``problems`` lists the
    candidates that were not, with why.
    """
    candidates = []
    if numba_dir:
        candidates.append((numba_dir, os.path.join(numba_dir, _mirror_name(directory))))
    candidates.append((directory, os.path.join(directory, "__pycache__")))
    if cache_root is not None:
        root = os.path.join(cache_root, "numba")
        candidates.append((root, os.path.join(root, _mirror_name(directory))))
    problems = []
    readable = None
    for index, (base, path) in enumerate(candidates):
        if base != directory:
            reason = private_directory(base)
        else:
            reason = trusted_directory(base)
        if reason is None and not os.path.isdir(path) and _writable(base):
            try:
                os.mkdir(path, 0o700 if base != directory else 0o755)
            except OSError as error:
                reason = error.strerror or str(error)
        if reason is None:
            reason = trusted_directory(path)
        if reason is not None:
            problems.append(f"{path}: {reason}")
            continue
        if _writable(path):
            return path, True, tuple(problems)
        if numba_dir and index == 0:
            # NUMBA_CACHE_DIR is what the user asked for: read from it even if it is
            # read-only (filled in advance), rather than compile into another.
            return path, False, tuple(problems)
        problems.append(f"{path}: not writable")
        if readable is None:
            readable = path
    if readable is not None:
        return readable, False, tuple(problems)
    return None, False, tuple(problems)


def location_for(source_path):
    """``(path, writable, problems)`` of the cache entries of the functions in ``source_path``."""
    directory = os.path.dirname(os.path.abspath(source_path))
    return _location(directory, _numba_cache_dir(), user_cache_root())


def cache_location(source_path):
    """A phrase for messages: where the compiled code of ``source_path`` is cached."""
    path, writable, problems = location_for(source_path)
    if path is None:
        return "kept in memory for this session (no usable cache directory)"
    return f"cached in {path}" + ("" if writable else " (read-only)")


# ------------------------------------------------------------------------- stamps


@functools.cache
def _package_stamp(directory):
    # Every .py file of the kernels' package: a kernel inlines or calls others,
    # and Numba's entry of one function does not notice a change in another.
    digest = hashlib.sha256()
    try:
        import numba

        digest.update(numba.__version__.encode())
    except ImportError:  # pragma: no cover - numba is a dependency
        pass
    for path in sorted(glob.glob(os.path.join(directory, "*.py"))):
        digest.update(os.path.basename(path).encode())
        with open(path, "rb") as stream:
            digest.update(stream.read())
    return digest.hexdigest()


def source_stamp(source_path):
    """The stamp entries of ``source_path`` carry: a hash of what was compiled."""
    path = os.path.abspath(source_path)
    registered = _registered_sources.get(path)
    if registered is not None:
        return registered
    directory = os.path.dirname(path)
    if os.path.abspath(os.path.dirname(__file__)) == directory:
        return _package_stamp(directory)
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


# ------------------------------------------------------------------------- the cache


class KernelCache:
    """Numba's per-function disk cache, with fastnn's choice of directory and its fallbacks.

    Installed as a dispatcher's ``_cache``: Numba calls :meth:`load_overload`
    before compiling a signature and :meth:`save_overload` after. The directory
    is found at the first of those calls; failures become warnings.
    """

    def __init__(self, py_func):
        self._py_func = py_func
        self._enabled = True
        self._file = None
        self._resolved = False
        self._path = None
        self._writable = False
        self._lock = threading.Lock()

    def __repr__(self):
        return f"<KernelCache {self._py_func.__qualname__}>"

    # Numba's cache interface --------------------------------------------------

    @property
    def cache_path(self):
        self._resolve()
        return self._path

    def enable(self):
        self._enabled = True

    def disable(self):
        self._enabled = False

    def flush(self):
        if self._resolve() is not None and self._writable:
            self._guarded("write", lambda: self._file.flush())

    def load_overload(self, sig, target_context):
        """The compiled code of ``sig`` from disk, or None (then Numba compiles it)."""
        target_context.refresh()
        if not self._enabled or self._resolve() is None:
            return None
        try:
            key = self._index_key(sig, target_context.codegen())
            data = self._file.load(key)
            if data is None:
                return None
            from numba.core.compiler import CompileResult

            return CompileResult._rebuild(target_context, *data)
        except Exception as error:  # noqa: BLE001 - any unreadable entry is discarded
            self._discard(error)
            return None

    def save_overload(self, sig, data):
        """Write the compiled code of ``sig`` to disk, if it can be; never raises."""
        if not self._enabled or self._resolve() is None:
            return
        if any(not lifted.can_cache for lifted in data.lifted):
            return
        if data.library.has_dynamic_globals:
            return
        if not self._writable:
            warn_once(
                ("read-only",),
                f"fastnn: the kernel cache {self._path} is read-only: newly compiled "
                "kernels are kept in memory for this session only",
            )
            return

        def save():
            key = self._index_key(sig, data.codegen)
            reduced = data._reduce()
            try:
                self._file.save(key, reduced)
            except OSError:
                raise
            except Exception as error:  # noqa: BLE001 - an unreadable index: start it again
                self._discard(error)
                self._file.save(key, reduced)

        self._guarded("write", save)

    # fastnn's part ---------------------------------------------------------------

    def _resolve(self):
        """The cache file of this function, found at first use; None: memory only."""
        if self._resolved:
            return self._file
        with self._lock:
            if self._resolved:
                return self._file
            try:
                self._file = self._open()
            except Exception as error:  # noqa: BLE001 - never fatal: compile in memory
                warn_once(
                    ("open", type(error).__name__),
                    f"fastnn: compiled kernels cannot be cached on disk ({error}); "
                    "they are compiled again in each new process",
                )
                self._file = None
            self._resolved = True
        return self._file

    def _open(self):
        import inspect

        from numba.core.caching import IndexDataCacheFile

        source_path = inspect.getfile(self._py_func)
        path, writable, problems = location_for(source_path)
        if path is None:
            warn_once(
                ("nowhere", os.path.dirname(os.path.abspath(source_path))),
                "fastnn: no directory can hold compiled kernels ("
                + "; ".join(problems)
                + "); they are kept in memory and compiled again in each new process. "
                "Set NUMBA_CACHE_DIR to a directory you own to keep them.",
            )
            return None
        self._path, self._writable = path, writable
        qualname = getattr(self._py_func, "__qualname__", self._py_func.__name__)
        module = os.path.splitext(os.path.basename(source_path))[0]
        fullname = f"{module}.{qualname}".replace("<", "").replace(">", "")
        line = self._py_func.__code__.co_firstlineno
        abiflags = getattr(sys, "abiflags", "")
        version = sys.version_info
        base = f"{fullname}-{line}.py{version[0]}{version[1]}{abiflags}"
        self._base = base
        return IndexDataCacheFile(path, base, source_stamp(source_path))

    def _index_key(self, sig, codegen):
        # As Numba's: the signature, the target machine, and hashes of the
        # bytecode and of the closure's values (the constants of a kernel made
        # by a factory, such as kernels.train.sample_epoch_kernel).
        from numba.core.serialize import dumps

        code = self._py_func.__code__.co_code
        closure = self._py_func.__closure__
        cells = dumps(tuple(cell.cell_contents for cell in closure)) if closure else b""
        return (
            sig,
            codegen.magic_tuple(),
            (hashlib.sha256(code).hexdigest(), hashlib.sha256(cells).hexdigest()),
        )

    def _discard(self, error):
        """Remove this function's entries after ``error`` reading them; warn once."""
        removed = []
        for pattern in (f"{glob.escape(self._base)}.nbi", f"{glob.escape(self._base)}.*.nbc"):
            for path in glob.glob(os.path.join(glob.escape(self._path), pattern)):
                try:
                    os.remove(path)
                    removed.append(path)
                except OSError:
                    pass
        warn_once(
            ("corrupt", self._path, self._base),
            f"fastnn: an unreadable entry of the kernel cache ({self._base} in {self._path}: "
            f"{type(error).__name__}: {error}) was removed; the kernel is compiled again",
        )

    def _guarded(self, what, action):
        try:
            action()
        except Exception as error:  # noqa: BLE001 - a cache that cannot be written is optional
            warn_once(
                (what, type(error).__name__, getattr(error, "errno", None)),
                f"fastnn: could not {what} the kernel cache in {self._path} "
                f"({type(error).__name__}: {error}); the compiled code is kept in memory "
                "for this session",
            )
