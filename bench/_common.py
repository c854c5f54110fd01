"""Shared pieces of the benchmark scripts: threads, this checkout's fastnn, data, timing,
the machine, Markdown tables and files written whole.

Every script imports this first: it sets one BLAS thread before NumPy loads (the
comparisons are per core) and puts this checkout's fastnn first on the path, so that a
script measures the code beside it. The scripts use fastnn's public API only.
"""

import os
import sys
from pathlib import Path

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
# One thread for every BLAS, set before NumPy loads: the comparison is per core. Imported by
# a program that loaded NumPy already (a test), the environment is left alone: set now, it
# would reach only the libraries loaded later (SciPy's BLAS, which Numba's np.dot calls)
# and the child processes, a mix no run should have; limit_threads limits at run time.
if "numpy" not in sys.modules:
    for _variable in THREAD_VARIABLES:
        os.environ.setdefault(_variable, "1")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import contextlib  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from fastnn import datasets, optimizers, selfbench  # noqa: E402


def fashion_rows(n, dtype):
    """Return ``(X, labels, source)``: Fashion-MNIST training rows, else random ones."""
    try:
        (x, t), _ = datasets.load_fashion_mnist(dtype=dtype)
        return x[:n], t[:n], "Fashion-MNIST"
    except FileNotFoundError:
        rng = np.random.default_rng(0)
        x = rng.random((n, 784)).astype(dtype)
        x[x < 0.5] = 0  # about as sparse as the real images
        return x, rng.integers(0, 10, n), "random rows (Fashion-MNIST not installed)"


def time_fit(net, X, T, batch_size, repeats, optimizer=None):
    """Return (first-call seconds, median samples/s over ``repeats`` epochs).

    The first call, on five rows, includes JIT compilation (or loading it from
    the cache); one untimed epoch then warms caches and branch predictors.
    """
    optimizer = optimizer if optimizer is not None else optimizers.SGD(lr=0.01)
    start = time.perf_counter()
    net.fit(X[:5], T[:5], optimizer=optimizer, batch_size=batch_size)
    first = time.perf_counter() - start
    net.fit(X, T, optimizer=optimizer, batch_size=batch_size)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        net.fit(X, T, optimizer=optimizer, batch_size=batch_size)
        rates.append(len(X) / (time.perf_counter() - start))
    return first, statistics.median(rates)


def machine():
    """One line describing this machine and the software versions."""
    return selfbench.machine()


@contextlib.contextmanager
def limit_threads(threads, with_torch=False):
    """Hold every BLAS/OpenMP pool (and PyTorch's, ``with_torch``) to ``threads``; yield how.

    The pools are limited at run time (:func:`fastnn.selfbench.limit_threads`): NumPy
    is loaded by then. PyTorch is imported first, so that its pools are seen.
    """
    with contextlib.ExitStack() as stack:
        if with_torch:
            import torch

            previous = torch.get_num_threads()
            torch.set_num_threads(threads)
            stack.callback(torch.set_num_threads, previous)
        how = stack.enter_context(selfbench.limit_threads(threads))
        if with_torch:
            how += f"; torch.set_num_threads({threads})"
        yield how


# --------------------------------------------------------------------------- output


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary stream whose bytes replace ``path`` only once all are written.

    A temporary file in the same folder, then a rename: an interrupted run leaves the
    old file (or none), never half of a new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_text(path, text):
    """Write ``text`` to ``path`` whole (:func:`atomic_write`)."""
    with atomic_write(path) as stream:
        stream.write(text.encode())


def rate(value):
    """Samples per second as a table shows them: ``1,234`` (``-``: not measured)."""
    return "-" if value is None else f"{value:,.0f}"


def ratio(value):
    """A speed ratio: ``2.59x``, ``19.4x``, ``1,953x`` (``-``: not measured)."""
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}x"
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def row(cells):
    """One Markdown table row."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def table(header, rows):
    """A Markdown table: the header, its rule, then ``rows``, as a list of lines."""
    return [row(header), "|" + "---|" * len(header), *(row(cells) for cells in rows)]


def write_markdown(path, title, notes, header, rows):
    """Write a titled Markdown table with notes, whole (:func:`atomic_write`)."""
    lines = [f"# {title}", "", *notes, "", *table(header, rows)]
    write_text(path, "\n".join(lines) + "\n")
