"""Per-sample and mini-batch training speed: fastnn (Numba) against its NumPy reference.

Both systems train the same network from the same seed on the same rows, side by
side in one process, one thread each. Each figure is the median samples/s over
``--repeats`` timed epochs, after a warm-up; the first call (JIT compile, or
loading the compiled code from Numba's cache) is timed and reported apart.

Usage::

    python bench/bench_foundation.py            # writes bench/results/foundation.md
    python bench/bench_foundation.py --quick    # smaller sizes, a smoke test
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import (  # noqa: E402
    fashion_rows,
    machine,
    time_fit,
    write_markdown,
)

import fastnn  # noqa: E402
from fastnn import datasets, optimizers  # noqa: E402
from fastnn.selfbench import first_fit_seconds  # noqa: E402

# name, sizes, output, batch size, dtype, target ratio, rows for fastnn, rows for NumPy, data
# fmt: off
CASES = [
    ("2-10-1 ReLU, MSE (regression)", [2, 10, 1], "identity", 1, "float64", 400,
     100_000, 20_000, "regression"),
    ("2-10-1 ReLU, MSE (regression)", [2, 10, 1], "identity", 1, "float32", 400,
     100_000, 20_000, "regression"),
    ("784-40-10 ReLU, softmax-CE", [784, 40, 10], "softmax", 1, "float64", 12,
     60_000, 4_000, "fashion"),
    ("784-40-10 ReLU, softmax-CE", [784, 40, 10], "softmax", 1, "float32", 18,
     60_000, 4_000, "fashion"),
    ("784-256-128-10 ReLU, softmax-CE", [784, 256, 128, 10], "softmax", 100, "float32", 1.0,
     30_000, 30_000, "fashion"),
]
# fmt: on


def cases(quick):
    """Yield the benchmark cases, with a tenth of the rows when ``quick``."""
    scale = 10 if quick else 1
    for *head, n_fast, n_ref, data in CASES:
        yield (*head, n_fast // scale, n_ref // scale, data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the samples")
    parser.add_argument("--repeats", type=int, default=7, help="timed epochs per system")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "foundation.md",
        help="Markdown file to write",
    )
    args = parser.parse_args(argv)

    rows = []
    source = "-"
    for name, sizes, output, batch, dtype, target, n_fast, n_ref, data in cases(args.quick):
        if data == "regression":
            X, T = datasets.make_regression(n_fast, seed=0, dtype=dtype)
            lr = 0.07
        else:
            X, T, source = fashion_rows(n_fast, dtype)
            lr = 0.05 if batch == 1 else 0.1
        result = {}
        for backend, n in (("numba", n_fast), ("numpy", n_ref)):
            net = fastnn.MLP(
                sizes, hidden="relu", output=output, dtype=dtype, seed=0, backend=backend
            )
            result[backend] = time_fit(
                net, X[:n], T[:n], batch, args.repeats, optimizers.SGD(lr=lr)
            )
        ratio = result["numba"][1] / result["numpy"][1]
        rows.append(
            [
                name,
                "per-sample" if batch == 1 else f"batch {batch}",
                dtype,
                f"{result['numba'][1]:,.0f}",
                f"{result['numpy'][1]:,.0f}",
                f"{ratio:,.1f}x",
                f"{target:g}x",
                "yes" if ratio >= target else "NO",
                f"{result['numba'][0]:.2f}",
            ]
        )
        print(" | ".join(rows[-1]), flush=True)

    header = [
        "network",
        "mode",
        "dtype",
        "fastnn samples/s",
        "NumPy ref samples/s",
        "fastnn / NumPy",
        "target",
        "met",
        "fastnn first call (s)",
    ]
    notes = [
        f"Machine: {machine()}. Image data: {source}.",
        f"Command: `python bench/bench_foundation.py{' --quick' if args.quick else ''}`; median "
        f"of {args.repeats} epochs per system after a warm-up, plain SGD. The first call "
        "includes JIT compilation, or loading it from Numba's cache when that is warm.",
    ]
    for batch in (1, 100):
        times = first_fit_seconds([784, 40, 10], "float32", batch)
        notes.append(
            f"Import plus first fit of a 784-40-10 float32 network (batch size {batch}) in a "
            f"fresh process: {sum(times['cold']):.1f} s with an empty Numba cache (import "
            f"{times['cold'][0]:.1f} s + compiling and fitting {times['cold'][1]:.1f} s), "
            f"{sum(times['warm']):.1f} s with the cache that run left (import "
            f"{times['warm'][0]:.1f} s + {times['warm'][1]:.1f} s)."
        )
        print(notes[-1], flush=True)
    write_markdown(
        args.out, "fastnn vs the NumPy reference: training throughput", notes, header, rows
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
