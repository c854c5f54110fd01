"""What a sweep holds in memory: its peak while it trains, and what its results keep.

784-256-10 networks (203,530 parameters, 0.8 MB of float32 weights each) trained per
sample for one epoch on random rows, on 2 threads, for several numbers of
configurations. tracemalloc counts every NumPy allocation, so the peak is the sweep's
own memory (the compiled code, loaded before, is not in it); "held by the results" is
what is still allocated when ``fastnn.sweep`` has returned: the trained networks.

Usage::

    python bench/bench_sweep_memory.py                      # sgd and adam, 2/20/100 configs
    python bench/bench_sweep_memory.py --optimizer sgd --configs 2,100 --rows 2000
"""

import argparse
import time
import tracemalloc

import numpy as np

import fastnn


def measure(X, y, n_configs, optimizer):
    """Return (peak MiB, MiB held by the results, seconds) of one sweep."""
    configs = [
        {"sizes": [784, 256, 10], "lr": 0.001 * (i + 1), "seed": i, "optimizer": optimizer}
        for i in range(n_configs)
    ]
    fastnn.sweep(X[:5], y[:5], configs[:2], epochs=1, n_jobs=2)  # compile first
    tracemalloc.start()
    started = time.perf_counter()
    results = fastnn.sweep(X, y, configs, epochs=1, n_jobs=2)
    seconds = time.perf_counter() - started
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(results) == n_configs
    return peak / 2**20, current / 2**20, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--optimizer", default="sgd,adam")
    parser.add_argument("--configs", default="2,20,100")
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((args.rows, 784)).astype(np.float32)
    y = rng.integers(0, 10, args.rows)
    print("| optimizer | configurations | peak (MiB) | held by the results (MiB) | per config |")
    print("|---|---|---|---|---|")
    for optimizer in args.optimizer.split(","):
        for n_configs in map(int, args.configs.split(",")):
            peak, held, _ = measure(X, y, n_configs, optimizer)
            print(
                f"| {optimizer} | {n_configs} | {peak:.1f} | {held:.1f} | {held / n_configs:.2f} |"
            )


if __name__ == "__main__":
    main()
