"""Shared helpers of the benchmark scripts: one thread, data, timing, Markdown output."""

import os

# One thread for every BLAS, set before NumPy loads: the comparison is per core.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from fastnn import datasets, optimizers  # noqa: E402


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
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n")
    temporary.replace(path)


_FIRST_FIT = """
import time
start = time.perf_counter()
import numpy as np
import fastnn
imported = time.perf_counter()
rng = np.random.default_rng(0)
X = rng.random((64, {inputs})).astype("{dtype}")
T = rng.integers(0, {outputs}, 64)
net = fastnn.MLP({sizes}, dtype="{dtype}", seed=0)
net.fit(X, T, batch_size={batch_size})
done = time.perf_counter()
print(imported - start, done - imported)
"""


def first_fit_seconds(sizes, dtype="float32", batch_size=1):
    """Time ``import fastnn`` plus a first small fit in fresh processes.

    Returns ``{"cold": (import s, fit s), "warm": (import s, fit s)}``: cold with an
    empty Numba cache directory (everything compiles), warm with that directory
    filled by the cold run (compiled code is loaded from disk).
    """
    import subprocess
    import sys
    import tempfile

    code = _FIRST_FIT.format(
        inputs=sizes[0], outputs=sizes[-1], sizes=list(sizes), dtype=dtype, batch_size=batch_size
    )
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            output = subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
            ).stdout.split()
            results[label] = (float(output[0]), float(output[1]))
    return results
