"""Shared helpers of the benchmark scripts: one thread, data, timing, Markdown output."""

import os

# One thread for every BLAS, set before NumPy loads: the comparison is per core.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from fastnn import datasets, optimizers  # noqa: E402
from fastnn.io.atomic import atomic_write  # noqa: E402


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
    import numba

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, Numba {numba.__version__}, one BLAS thread"
    )


def write_markdown(path, title, notes, header, rows):
    """Write a Markdown table atomically (temporary file, then rename)."""
    lines = [
        f"# {title}",
        "",
        *notes,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as stream:
        stream.write(("\n".join(lines) + "\n").encode())
