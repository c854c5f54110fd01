"""Per-sample training speed of each optimizer: fastnn against its NumPy reference.

784-40-10 ReLU softmax network, float32, Fashion-MNIST rows (random rows of the
same shape when the data set is not installed), batch size 1, one thread. For
each optimizer: median samples/s of fastnn and of ``backend="numpy"``, their
ratio, and fastnn's cost per sample relative to plain SGD.

Usage::

    python bench/bench_optimizers.py          # writes bench/results/optimizers.md
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import fashion_rows, machine, time_fit, write_markdown  # noqa: E402

import fastnn  # noqa: E402
from fastnn import optimizers  # noqa: E402

FAMILY = {
    "SGD": lambda: optimizers.SGD(lr=0.01),
    "Momentum": lambda: optimizers.Momentum(lr=0.01),
    "Nesterov": lambda: optimizers.Nesterov(lr=0.01),
    "AdaGrad": lambda: optimizers.AdaGrad(lr=0.01),
    "RMSProp": lambda: optimizers.RMSProp(lr=0.001),
    "Adadelta": lambda: optimizers.Adadelta(),
    "Adam": lambda: optimizers.Adam(lr=0.001),
    "AdamW": lambda: optimizers.AdamW(lr=0.001),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="fastnn rows per epoch")
    parser.add_argument(
        "--reference-rows", type=int, default=2_000, help="NumPy reference rows per epoch"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per system")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "optimizers.md"
    )
    args = parser.parse_args(argv)

    X, T, source = fashion_rows(args.rows, "float32")
    rows = []
    sgd_rate = None
    for name, make in FAMILY.items():
        rates = {}
        for backend, n in (("numba", args.rows), ("numpy", args.reference_rows)):
            net = fastnn.MLP([784, 40, 10], dtype="float32", seed=0, backend=backend)
            rates[backend] = time_fit(net, X[:n], T[:n], 1, args.repeats, make())[1]
        if sgd_rate is None:
            sgd_rate = rates["numba"]
        rows.append(
            [
                name,
                f"{rates['numba']:,.0f}",
                f"{rates['numpy']:,.0f}",
                f"{rates['numba'] / rates['numpy']:.1f}x",
                f"{sgd_rate / rates['numba']:.2f}x",
            ]
        )
        print(" | ".join(rows[-1]), flush=True)
    write_markdown(
        args.out,
        "Per-sample optimizers: fastnn vs the NumPy reference",
        [
            f"Machine: {machine()}. Data: {source}.",
            "Command: `python bench/bench_optimizers.py`; 784-40-10 ReLU/softmax, float32, batch "
            f"size 1; median of {args.repeats} epochs after a warm-up (compile excluded).",
        ],
        [
            "optimizer",
            "fastnn samples/s",
            "NumPy ref samples/s",
            "fastnn / NumPy",
            "fastnn cost vs SGD",
        ],
        rows,
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
