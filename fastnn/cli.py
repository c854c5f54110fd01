"""The ``fastnn`` command line."""

import argparse
import sys
import time

import numpy as np

__all__ = ["main"]


def demo(args):
    """Train the course's regression y = 3x0 + 2x1 per sample and print the loss falling."""
    from fastnn import MLP, datasets, optimizers

    X, y = datasets.make_regression(args.samples, seed=0)
    X_test, y_test = datasets.make_regression(2000, seed=1)
    net = MLP([2, 10, 1], hidden="relu", output="identity", dtype="float64", seed=0)
    print(
        f"fastnn demo: {net}, per-sample SGD (lr={args.lr}) on {args.samples:,} samples "
        "of y = 3*x0 + 2*x1"
    )
    start = time.perf_counter()
    net.fit(X[:1], y[:1], optimizer=optimizers.SGD(lr=args.lr))  # compile (or load cache)
    compile_seconds = time.perf_counter() - start
    net = MLP([2, 10, 1], hidden="relu", output="identity", dtype="float64", seed=0)
    start = time.perf_counter()
    history = net.fit(X, y, optimizer=optimizers.SGD(lr=args.lr), epochs=1, batch_size=1)
    train_seconds = time.perf_counter() - start
    chunks = np.array_split(history.step_loss, 10)
    done = 0
    print("   steps   mean loss of the last steps (0.5 * squared error)")
    for chunk in chunks:
        done += len(chunk)
        print(f"{done:8,d}   {chunk.mean():.3e}")
    mse = float(np.mean((net.predict(X_test)[:, 0] - y_test) ** 2))
    print(f"mean squared error on 2,000 fresh samples: {mse:.2e}")
    print(
        f"trained in {train_seconds:.3f} s ({args.samples / train_seconds:,.0f} samples/s); "
        f"JIT compile or cache load before that: {compile_seconds:.2f} s"
    )
    return 0


def build_parser():
    """Return the argument parser of the ``fastnn`` command."""
    parser = argparse.ArgumentParser(
        prog="fastnn", description="Small neural networks from scratch, compiled by Numba."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_parser = commands.add_parser(
        "demo",
        help="train the course's regression per sample and print the loss falling",
        description=demo.__doc__,
    )
    demo_parser.add_argument(
        "--samples",
        type=int,
        default=100_000,
        help="training samples, one SGD step each (default 100000)",
    )
    demo_parser.add_argument("--lr", type=float, default=0.07, help="learning rate (0.07)")
    demo_parser.set_defaults(run=demo)
    return parser


def main(argv=None):
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "samples", 1) < 1:
        build_parser().error(f"--samples must be >= 1, got {args.samples}")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
