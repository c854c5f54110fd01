"""Per-layout training loops: generate, write to the cache, import, keep.

:mod:`fastnn.codegen.generator` writes a per-sample epoch loop for one network layout
as Python source. This module turns that source into a compiled kernel that is
built once per layout and machine:

- the source is written (atomically) to a cache directory under a name that is
  the hash of its text, so a layout, generator version, dtype, optimizer
  variant and vector width each get their own file, and an unchanged file is
  never rewritten (Numba's cache keys on the file's modification time);
- the module is imported from there and its ``@jit`` function compiles lazily;
  Numba keeps the machine code in that directory's ``__pycache__`` (or under
  ``NUMBA_CACHE_DIR``), so a later process loads it instead of compiling;
- imported modules stay in memory for the life of the process.

The cache directory is ``$FASTNN_KERNEL_CACHE`` if set, else
``$XDG_CACHE_HOME/fastnn/kernels`` (``~/.cache/fastnn/kernels``), else a folder in
the system's temporary directory. Deleting it is always safe.
"""

import functools
import hashlib
import importlib.util
import os
import platform
import sys
import tempfile
import threading
from pathlib import Path

import llvmlite
import numba

from fastnn import kernels
from fastnn.codegen import generator
from fastnn.io.atomic import atomic_write
from fastnn.kernels import codes
from fastnn.kernels._simd import register_bits

__all__ = ["cache_directory", "kernel_for", "module_for", "spec_for"]

_loaded = {}
_lock = threading.Lock()


def cache_directory():
    """Return the directory that holds generated kernel modules (created if needed).

    Returns
    -------
    pathlib.Path
    """
    configured = os.environ.get("FASTNN_KERNEL_CACHE")
    if configured:
        candidates = [Path(configured)]
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
        candidates = [
            Path(base) / "fastnn" / "kernels",
            Path(tempfile.gettempdir()) / f"fastnn-kernels-{os.getuid()}"
            if hasattr(os, "getuid")
            else Path(tempfile.gettempdir()) / "fastnn-kernels",
        ]
    for candidate in candidates:
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    raise OSError(
        f"no writable directory for fastnn's compiled kernels (tried {candidates}); set "
        "FASTNN_KERNEL_CACHE to one"
    )


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
    """A hash of every kernel source file, and of the Numba and llvmlite versions.

    Numba's cache of a generated module is keyed on that file alone, not on the
    kernels it calls (``sample_loss_delta``, the intrinsics); putting this
    fingerprint into the module's text gives every version of them a file of
    its own, so an upgraded fastnn never loads machine code built from older
    kernels.
    """
    digest = hashlib.sha256(f"numba {numba.__version__} llvmlite {llvmlite.__version__}".encode())
    for path in [*sorted(Path(kernels.__file__).parent.glob("*.py")), Path(generator.__file__)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def source_text(spec):
    """The text of the module generated for ``spec``, headed by the kernels' fingerprint."""
    return f"# kernels fingerprint {_fingerprint()}\n" + generator.source(spec)


def _import(spec):
    text = source_text(spec)
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    module_name = f"fastnn_generated_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = cache_directory() / f"{module_name}.py"
    try:
        current = path.read_text() if path.is_file() else None
    except OSError:
        current = None
    if current != text:
        with atomic_write(path) as stream:
            stream.write(text.encode())
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


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
