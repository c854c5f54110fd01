"""``fastnn demo``: the course's regression per sample, then a digits classifier; charts."""

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from fastnn import TrainingDivergedError
from fastnn.cli.arguments import positive_float_argument, positive_int_argument
from fastnn.cli.common import CommandError
from fastnn.cli.paths import prepare_output_dir


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``demo`` and its options to the ``fastnn`` command's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="train the course's regression and a digits classifier, write charts",
        description=run.__doc__,
    )
    parser.add_argument(
        "--samples",
        type=positive_int_argument,
        default=100_000,
        help="regression samples, one SGD step each (default: 100000)",
    )
    parser.add_argument(
        "--lr",
        type=positive_float_argument,
        default=0.07,
        help="learning rate of the regression (default: 0.07)",
    )
    parser.add_argument(
        "--epochs", type=positive_int_argument, default=15, help="digits epochs (default: 15)"
    )
    parser.add_argument(
        "--out", default="fastnn-demo", help="folder for the PNG charts (default: ./fastnn-demo)"
    )
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Train the course's regression per sample and a digits classifier; write charts."""
    out = prepare_output_dir("--out", args.out)
    try:
        _regression(args, out)
    except TrainingDivergedError:
        raise CommandError(
            f"the regression diverged with --lr {args.lr:g}; try a smaller one (default 0.07)"
        ) from None
    _digits(args, out)
    print(f"charts written to {out.resolve()}/")
    return 0


def _regression(args: argparse.Namespace, out: Path) -> None:
    from fastnn import MLP, datasets, optimizers, plot

    X, y = datasets.make_regression(args.samples, seed=0)
    X_test, y_test = datasets.make_regression(2000, seed=1)
    print(
        f"1. The course's regression y = 3*x0 + 2*x1: 2-10-1 ReLU network, per-sample "
        f"SGD (lr={args.lr}) over {args.samples:,} samples"
    )
    start = time.perf_counter()
    # Compile (or load) the loop generated for this layout: the demo shows the fast loop
    # (specialise=True), where "auto" would keep a fit this short on the generic one.
    warm = MLP([2, 10, 1], output="identity", dtype="float64", specialise=True)
    warm.fit(X[:2], y[:2], optimizer=optimizers.SGD(lr=args.lr))
    compile_seconds = time.perf_counter() - start
    net = MLP([2, 10, 1], output="identity", dtype="float64", seed=0, specialise=True)
    sgd = optimizers.SGD(lr=args.lr)
    start = time.perf_counter()
    history = net.fit(X, y, optimizer=sgd, epochs=1, batch_size=1)
    seconds = time.perf_counter() - start
    print("      steps   mean loss of those steps (0.5 * squared error)")
    done = 0
    for chunk in np.array_split(history.step_loss, min(10, args.samples)):
        done += len(chunk)
        print(f"   {done:8,d}   {chunk.mean():.3e}")
    mse = float(np.mean((net.predict(X_test)[:, 0] - y_test) ** 2))
    print(f"   mean squared error on 2,000 fresh samples: {mse:.2e}")
    print(
        f"   trained in {seconds:.3f} s ({args.samples / seconds:,.0f} samples/s); compiling "
        f"(or loading the compiled code) took {compile_seconds:.2f} s before that"
    )
    trained = plot.describe_training(
        net, sgd, batch_size=1, data=f"y = 3x0 + 2x1, {args.samples:,} samples"
    )
    plot.plot_step_loss(
        history,
        path=out / "regression_step_loss.png",
        log=True,
        title=f"loss of each step\n{trained}",
    )


def _digits(args: argparse.Namespace, out: Path) -> None:
    from fastnn import MLP, datasets, optimizers, plot

    print("2. Digits (8x8, UCI, shipped with fastnn): 64-64-10 ReLU/softmax, per-sample SGD")
    (Xd, yd), (Xd_test, yd_test) = datasets.load_digits()
    sgd = optimizers.SGD(lr=0.05)
    start = time.perf_counter()
    # Compile (or load) what the fit below runs: the loop generated for this layout and
    # the validation pass, in float64 as the regression above, so that the two parts
    # share their compiled prediction kernels.
    warm = MLP([64, 64, 10], output="softmax", dtype="float64", specialise=True)
    warm.fit(Xd[:2], yd[:2], optimizer=optimizers.SGD(lr=0.05), validation_data=(Xd[:2], yd[:2]))
    compile_seconds = time.perf_counter() - start
    clf = MLP([64, 64, 10], output="softmax", dtype="float64", seed=0, specialise=True)
    start = time.perf_counter()
    history = clf.fit(Xd, yd, optimizer=sgd, epochs=args.epochs, validation_data=(Xd_test, yd_test))
    seconds = time.perf_counter() - start
    for epoch in range(0, args.epochs, max(1, args.epochs // 5)):
        print(
            f"   epoch {epoch + 1:3d}  train accuracy {history.train_acc[epoch]:.3f}  "
            f"test accuracy {history.val_acc[epoch]:.3f}"
        )
    print(f"   final test accuracy {history.val_acc[-1]:.3f} after {args.epochs} epochs")
    print(
        f"   trained in {seconds:.2f} s ({args.epochs * len(Xd) / seconds:,.0f} samples/s, "
        f"the test set measured after each epoch); compiling (or loading the compiled "
        f"code) took {compile_seconds:.2f} s before that"
    )
    trained = plot.describe_training(
        clf, sgd, batch_size=1, data=f"8x8 digits, {len(Xd):,} training rows"
    )
    plot.plot_accuracy(
        history,
        path=out / "digits_accuracy.png",
        title=f"accuracy per epoch\n{trained}",
        validation_label="test",
    )
    plot.plot_loss(
        history,
        path=out / "digits_loss.png",
        title=f"loss per epoch\n{trained}",
        validation_label="test",
    )
