"""Per-layout training loops: generate, write to the cache, run, keep.

:mod:`fastnn.codegen.generator` writes a per-sample epoch loop for one network layout
as Python source. This module turns that source into a compiled kernel that is
built once per layout and machine:

- the source is written to the kernel cache directory under a name that says
  what it is (layout, dtype, optimizer, activations, vector shape) and ends in
  a hash of its text, so every variant gets its own file; a file already there
  with the same text is left alone, anything else under that name (another
  text, a symbolic link) is replaced, never written through;
- the module is run from the text fastnn holds, never from the file or from a
  ``.pyc``: the file exists only so that Numba can key its disk cache on it
  (:mod:`fastnn.kernels.disk_cache`, which also decides where that cache goes);
- modules stay in memory for the life of the process.

The cache directory is ``$FASTNN_KERNEL_CACHE`` if set, else
``$XDG_CACHE_HOME/fastnn/kernels`` (``~/.cache/fastnn/kernels``). It is used only if
it is trusted: a directory (not a symbolic link) owned by this user (or root) that
no other user can write; fastnn creates it private (0700). Otherwise, or if it
cannot be written, modules go to a private temporary directory removed at exit, and
one :class:`~fastnn.kernels.disk_cache.KernelCacheWarning` says why. Deleting the cache
directory is always safe.
"""

import atexit
import functools
import hashlib
import inspect
import os
import platform
import shutil
import sys
import tempfile
import threading
import types
from pathlib import Path

import llvmlite
import numba

from fastnn import kernels
from fastnn.codegen import generator
from fastnn.kernels import codes, disk_cache
from fastnn.kernels._simd import register_bits

__all__ = ["cache_directory", "kernel_for", "location_of", "module_for", "spec_for"]

_loaded = {}
_lock = threading.Lock()
_session = {}
_session_lock = threading.Lock()

_ACTIVATION_NAMES = {code: name for name, code in codes.ACTIVATION_CODES.items()}
_OUTPUT_NAMES = {code: name for name, code in codes.OUTPUT_CODES.items()}


def _session_directory():
    """A private directory for this process only, removed at exit."""
    with _session_lock:
        if "path" not in _session:
            path = Path(tempfile.mkdtemp(prefix="fastnn-kernels-"))
            atexit.register(shutil.rmtree, path, True)
            _session["path"] = path
    return _session["path"]


def _configured_directory():
    """``(path, what)``: the directory asked for, and how to name it in a message."""
    configured = os.environ.get("FASTNN_KERNEL_CACHE")
    if configured:
        return Path(configured), f"FASTNN_KERNEL_CACHE={configured}"
    root = disk_cache.user_cache_root()
    if root is None:
        return None, "~/.cache (no home directory)"
    return Path(root) / "kernels", str(Path(root) / "kernels")


def cache_directory():
    """Return the directory that holds generated kernel modules (created if needed).

    Never raises: when the configured directory cannot be used, this is a private
    temporary directory for the session (and one warning says why).

    Returns
    -------
    pathlib.Path
    """
    path, what = _configured_directory()
    reason = "there is none" if path is None else disk_cache.private_directory(path)
    if reason is None and not os.access(path, os.W_OK | os.X_OK):
        reason = "not writable"
        if any(path.glob("fastnn_*.py")):
            return path  # a read-only cache filled in advance: _import uses what is there
    if reason is None:
        return path
    disk_cache.warn_once(
        ("kernel directory", what),
        f"fastnn: cannot keep generated kernels in {what} ({reason}); they go to a private "
        "temporary directory for this session and are compiled again in the next one",
    )
    return _session_directory()


def spec_for(sizes, layout, loss_code, dtype, opt_code, hyper):
    """Return the :class:`fastnn.codegen.generator.Spec` of a network and optimizer, or None.

    None means the generated loops do not cover this network (the generic loop
    runs instead).
    """
    sizes = tuple(int(size) for size in sizes)
    activations = tuple(int(code) for code in layout[:-1, codes.ACTIVATION])
    if not generator.covers(sizes, activations, loss_code):
        return None
    bits = register_bits()
    name = dtype.name if hasattr(dtype, "name") else str(dtype)
    x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
    return generator.Spec(
        sizes=sizes,
        activations=activations,
        loss_code=int(loss_code),
        dtype=name,
        optimizer=generator.optimizer_kind(int(opt_code), [float(v) for v in hyper]),
        lanes=generator.lanes_for(name, bits),
        registers=generator.registers_for(bits),
        flush_to_zero=x86,
    )


@functools.cache
def _fingerprint():
    """A hash of every kernel and generator source file, and of the Numba and llvmlite versions.

    Numba's cache of a generated module is keyed on that file alone, not on the
    kernels it calls (``sample_loss_delta``, the intrinsics); putting this
    fingerprint into the module's text gives every version of them a file of
    its own, so an upgraded fastnn never loads machine code built from older
    kernels.
    """
    digest = hashlib.sha256(f"numba {numba.__version__} llvmlite {llvmlite.__version__}".encode())
    for path in [*sorted(Path(kernels.__file__).parent.glob("*.py")), *generator.source_files()]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def source_text(spec):
    """The text of the module generated for ``spec``, headed by the kernels' fingerprint."""
    return f"# kernels fingerprint {_fingerprint()}\n" + _generated(spec)


@functools.lru_cache(maxsize=64)
def _generated(spec):
    return generator.source(spec)


def file_stem(spec):
    """A readable name for the module of ``spec``: what it trains, then its generator."""
    widths = "-".join(str(size) for size in spec.sizes)
    hidden = "-".join(_ACTIVATION_NAMES.get(code, str(code)) for code in spec.activations)
    output = _OUTPUT_NAMES.get(spec.loss_code, str(spec.loss_code))
    shape = f"x{spec.lanes}r{spec.registers}{'z' if spec.flush_to_zero else ''}"
    return (
        f"fastnn_{widths}_{spec.dtype}_{spec.optimizer}_{hidden}_{output}_{shape}"
        f"_v{generator.GENERATOR_VERSION}"
    )


def _holds(path, text):
    """Whether ``path`` is a regular file (not a link) holding exactly ``text``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return False
    with os.fdopen(descriptor, "rb") as stream:
        return stream.read() == text.encode()


def _write(path, text):
    """Write ``text`` to ``path`` by renaming a new private file over it (a link is replaced)."""
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(text.encode())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise


def _place(spec, text):
    """The path of the module of ``spec`` holding ``text``: found, written, or in the session."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    name = f"{file_stem(spec)}_{digest}.py"
    directory = cache_directory()
    path = directory / name
    if _holds(path, text):
        return path
    try:
        _write(path, text)
        return path
    except OSError as error:
        if directory == _session.get("path"):
            raise
        disk_cache.warn_once(
            ("write", str(directory), error.errno),
            f"fastnn: cannot write generated kernels to {directory} ({error.strerror or error}); "
            "they go to a private temporary directory for this session",
        )
    path = _session_directory() / name
    if not _holds(path, text):
        _write(path, text)
    return path


def _import(spec):
    text = source_text(spec)
    path = _place(spec, text)
    module_name = "fastnn_generated_" + path.stem.replace("-", "_").replace(".", "_")
    if module_name in sys.modules:
        return sys.modules[module_name]
    # Run the text held here, not what is on disk: no .pyc, no file swapped since.
    code = compile(text, str(path), "exec")
    disk_cache.register_source(str(path), text)
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def location_of(kernel):
    """Where the compiled code of ``kernel`` (a dispatcher or a function) is cached, in words."""
    function = getattr(kernel, "py_func", kernel)
    try:
        source = inspect.getfile(function)
    except TypeError:
        return "kept in memory"
    return disk_cache.cache_location(source)


def module_for(spec):
    """Return the compiled module generated for ``spec`` (generated and cached on first use).

    Its ``train_epoch`` has the signature of
    :func:`fastnn.kernels.train.train_epoch_sample`, its ``train_models`` that of
    :func:`fastnn.kernels.parallel.train_models_sample`.

    Parameters
    ----------
    spec : fastnn.codegen.generator.Spec

    Returns
    -------
    module
    """
    module = _loaded.get(spec)
    if module is None:
        with _lock:
            module = _loaded.get(spec)
            if module is None:
                module = _import(spec)
                _loaded[spec] = module
    return module


def kernel_for(spec):
    """Return the compiled ``train_epoch`` of :func:`module_for`'s module for ``spec``."""
    return module_for(spec).train_epoch
