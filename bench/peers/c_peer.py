"""The hand-written C peer (bench/c/per_sample.c): compiled at bench time, loaded with ctypes.

The C file is compiled with the system's C compiler (``$CC``, else ``cc``,
``gcc`` or ``clang``) into a temporary directory:

    cc -O3 -march=native -ffp-contract=fast -fno-math-errno -fPIC -shared

``-ffp-contract=fast`` lets the compiler fuse multiply-adds (fastnn's kernels
are compiled with the same "contract" flag); ``-fno-math-errno`` only stops
``sqrtf``/``expf`` from setting ``errno``, so they can be inlined and
vectorised. There is no ``-ffast-math``: the loops stop at the first
non-finite loss, as fastnn does, and that check must keep working.

Usage::

    peer = CPeer()                 # raises CompilerNotFoundError without a compiler
    steps, loss_sum = peer.sgd_784_40_10(theta, X, labels, lr=0.01)
"""

import ctypes
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from numpy.ctypeslib import ndpointer

SOURCE = Path(__file__).resolve().parent.parent / "c" / "per_sample.c"
FLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-fno-math-errno", "-fPIC", "-shared")
N_PARAMS_784_40_10 = 784 * 40 + 40 + 40 * 10 + 10
N_PARAMS_2_10_1 = 2 * 10 + 10 + 10 + 1


class CompilerNotFoundError(RuntimeError):
    """No C compiler on this machine: the C peer is skipped."""


def find_compiler():
    """Return the path of a C compiler (``$CC`` first), or None."""
    candidates = [os.environ["CC"]] if os.environ.get("CC") else []
    for name in [*candidates, "cc", "gcc", "clang"]:
        path = shutil.which(name)
        if path:
            return path
    return None


def _floats(ndim):
    return ndpointer(dtype=np.float32, ndim=ndim, flags="C_CONTIGUOUS")


class CPeer:
    """The compiled C loops, ready to call.

    Parameters
    ----------
    compiler : str, optional
        Default: :func:`find_compiler`.
    extra_flags : sequence of str, optional
        Appended to :data:`FLAGS` (e.g. ``["-DHIDDEN_ZMM"]`` for the 16-lane
        variant of the 784-40-10 loops).

    Attributes
    ----------
    compile_seconds : float
        Wall time of the compiler run.
    command : str
        The command line that built the library.
    version : str
        The compiler's first ``--version`` line.

    Raises
    ------
    CompilerNotFoundError
        When no C compiler is found.
    subprocess.CalledProcessError
        When the compiler fails (its messages are in ``stderr``).
    """

    def __init__(self, compiler=None, extra_flags=()):
        compiler = compiler or find_compiler()
        if compiler is None:
            raise CompilerNotFoundError(
                "no C compiler found (set CC, or install gcc or clang): the C peer is skipped"
            )
        self._directory = tempfile.TemporaryDirectory(prefix="fastnn-c-peer-")
        library = self.library = Path(self._directory.name) / "libper_sample.so"
        command = [compiler, *FLAGS, *extra_flags, "-o", str(library), str(SOURCE), "-lm"]
        self.command = " ".join([Path(compiler).name, *command[1:]])
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, text=True)
        self.compile_seconds = time.perf_counter() - start
        self.version = subprocess.run(
            [compiler, "--version"], capture_output=True, text=True
        ).stdout.splitlines()[0]
        self._lib = ctypes.CDLL(str(library))
        long_, float_, double_p = ctypes.c_long, ctypes.c_float, ctypes.POINTER(ctypes.c_double)
        labels = ndpointer(dtype=np.int32, ndim=1, flags="C_CONTIGUOUS")
        steps = ndpointer(dtype=np.int64, ndim=1, flags="C_CONTIGUOUS")
        self._lib.sgd_784_40_10.argtypes = [_floats(1), _floats(2), labels, long_, float_, double_p]
        self._lib.adam_784_40_10.argtypes = [
            *(_floats(1),) * 3,
            steps,
            _floats(2),
            labels,
            long_,
            *(float_,) * 4,
            double_p,
        ]
        self._lib.sgd_2_10_1.argtypes = [
            _floats(1),
            _floats(2),
            _floats(1),
            long_,
            float_,
            double_p,
        ]
        for function in (self._lib.sgd_784_40_10, self._lib.adam_784_40_10, self._lib.sgd_2_10_1):
            function.restype = long_

    @staticmethod
    def _check(name, array, shape=None, dtype=np.float32):
        if not isinstance(array, np.ndarray) or array.dtype != dtype:
            raise TypeError(f"{name} must be a NumPy array of {np.dtype(dtype).name}")
        if not array.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
        if shape is not None and array.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {array.shape}")

    def _images(self, theta, X, labels):
        self._check("theta", theta, (N_PARAMS_784_40_10,))
        self._check("X", X)
        if X.ndim != 2 or X.shape[1] != 784:
            raise ValueError(f"X must have shape (n, 784), got {X.shape}")
        self._check("labels", labels, (X.shape[0],), np.int32)
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise ValueError("labels must lie in 0..9")

    def sgd_784_40_10(self, theta, X, labels, lr):
        """Per-sample plain SGD on 784-40-10 over the rows of ``X`` in order.

        Parameters
        ----------
        theta : ndarray of float32, shape (31810,)
            fastnn's flat parameters of ``MLP([784, 40, 10])``, updated in place.
        X : ndarray of float32, shape (n, 784)
        labels : ndarray of int32, shape (n,)
        lr : float

        Returns
        -------
        steps : int
            Steps completed: n, or the first step whose loss was not finite.
        loss_sum : float
            Sum of the step losses, each before its update.
        """
        self._images(theta, X, labels)
        total = ctypes.c_double()
        steps = self._lib.sgd_784_40_10(theta, X, labels, X.shape[0], lr, ctypes.byref(total))
        return steps, total.value

    def adam_784_40_10(self, theta, m, v, t, X, labels, lr, betas=(0.9, 0.999), eps=1e-8):
        """Per-sample Adam (torch's formulas) on 784-40-10; ``m``, ``v``, ``t`` updated.

        ``m`` and ``v`` have ``theta``'s layout; ``t`` (int64, shape (1,)) counts
        the steps taken so far. Returns ``(steps, loss_sum)`` as
        :meth:`sgd_784_40_10`.
        """
        self._images(theta, X, labels)
        self._check("m", m, theta.shape)
        self._check("v", v, theta.shape)
        self._check("t", t, (1,), np.int64)
        total = ctypes.c_double()
        steps = self._lib.adam_784_40_10(
            theta, m, v, t, X, labels, X.shape[0], lr, *betas, eps, ctypes.byref(total)
        )
        return steps, total.value

    def sgd_2_10_1(self, theta, X, y, lr):
        """Per-sample plain SGD on 2-10-1 ReLU with MSE; returns ``(steps, loss_sum)``."""
        self._check("theta", theta, (N_PARAMS_2_10_1,))
        self._check("X", X)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"X must have shape (n, 2), got {X.shape}")
        self._check("y", y, (X.shape[0],))
        total = ctypes.c_double()
        steps = self._lib.sgd_2_10_1(theta, X, y, X.shape[0], lr, ctypes.byref(total))
        return steps, total.value
