"""What bounds mini-batch training: the matrix products alone against a whole epoch.

Issue 8's case (d), 784-256-128-10 ReLU/softmax at batch 100, float32, one thread: one
epoch of ``MLP.fit`` against the eight matrix products of the same epoch called alone
(forward x W for three layers, dW = a^T delta for three, delta W^T for two) through the
very BLAS the kernels use (``np.dot`` inside Numba, SciPy's OpenBLAS). The difference is
everything fastnn does besides BLAS (bias, activations, loss, delta, the SGD step, the
gathering of rows). Also reports which OpenBLAS kernels ran (``OPENBLAS_CORETYPE``).

Usage::

    python bench/bench_batch_bound.py
    OPENBLAS_CORETYPE=SkylakeX python bench/bench_batch_bound.py
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# _common first: one BLAS thread, set before NumPy loads, and this checkout's fastnn.
from _common import fashion_rows, machine  # noqa: E402, I001

import numba  # noqa: E402
import numpy as np  # noqa: E402

from fastnn import MLP, optimizers  # noqa: E402

SIZES = (784, 256, 128, 10)
BATCH = 100


@numba.njit(cache=True)
def _products(X, W1, W2, W3, a1, a2, z, g1, g2, g3, n_batches):
    for index in range(n_batches):
        x = X[index * BATCH : (index + 1) * BATCH]
        np.dot(x, W1, a1)
        np.dot(a1, W2, a2)
        np.dot(a2, W3, z)
        np.dot(a2.T, z, g3)
        np.dot(z, W3.T, a2)
        np.dot(a1.T, a2, g2)
        np.dot(a2, W2.T, a1)
        np.dot(x.T, a1, g1)


def flops_per_batch():
    """Multiply-adds x 2 of the eight products of one batch."""
    forward = sum(BATCH * a * b for a, b in zip(SIZES[:-1], SIZES[1:], strict=True))
    weights = forward  # dW of every layer
    inputs = sum(BATCH * a * b for a, b in zip(SIZES[1:-1], SIZES[2:], strict=True))
    return 2 * (forward + weights + inputs)


def main(rows=30_000, repeats=7):
    X, labels, source = fashion_rows(rows, "float32")
    T = np.eye(10, dtype=np.float32)[labels]
    net = MLP(list(SIZES), seed=0)
    optimizer = optimizers.SGD(lr=0.05)
    net.fit(X[: BATCH * 2], T[: BATCH * 2], optimizer=optimizer, batch_size=BATCH)
    rng = np.random.default_rng(0)
    shapes = zip(SIZES[:-1], SIZES[1:], strict=True)
    W = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    buffers = [np.empty((BATCH, width), np.float32) for width in SIZES[1:]]
    grads = [np.empty(w.shape, np.float32) for w in W]
    n_batches = rows // BATCH
    _products(X, *W, *buffers, *grads, 1)
    fit_seconds, blas_seconds = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        net.fit(X, T, optimizer=optimizer, batch_size=BATCH, shuffle=False)
        fit_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        _products(X, *W, *buffers, *grads, n_batches)
        blas_seconds.append(time.perf_counter() - start)
    fit, blas = statistics.median(fit_seconds), statistics.median(blas_seconds)
    gflops = flops_per_batch() * n_batches / blas / 1e9
    try:
        from threadpoolctl import threadpool_info

        kernels_used = ", ".join(
            f"{info['filepath'].rsplit('/', 1)[-1]}: {info.get('architecture')}"
            for info in threadpool_info()
        )
    except ImportError:
        kernels_used = "threadpoolctl not installed"
    print(f"{machine()}; data: {source}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; {kernels_used}")
    print(f"784-256-128-10, batch {BATCH}, float32, {rows:,} rows, median of {repeats}:")
    print(f"  MLP.fit epoch:         {rows / fit:10,.0f} samples/s")
    print(f"  the products alone:    {rows / blas:10,.0f} samples/s ({gflops:.0f} GFLOP/s)")
    print(f"  time outside BLAS:     {(fit - blas) / fit:10.0%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000, help="rows per epoch (default 30000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs (default 7)")
    arguments = parser.parse_args()
    sys.exit(main(arguments.rows, arguments.repeats))
