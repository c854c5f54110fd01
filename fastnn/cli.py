"""The ``fastnn`` command line: ``demo``, ``train``, ``compare-optimizers`` and ``bench``."""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from fastnn._checks import positive_int_argument

__all__ = ["main", "build_parser"]

DATA_NAMES = ("regression", "digits", "mnist", "fashion-mnist")


class CommandError(Exception):
    """A user error: reported on one line with exit code 2, without a traceback."""


# ------------------------------------------------------------------ data


def load_data(name, dtype, seed=0):
    """Return ``(X, T, X_test, T_test, is_regression, description)`` for ``--data``."""
    from fastnn import datasets

    if name == "regression":
        X, T = datasets.make_regression(100_000, seed=seed, dtype=dtype)
        X_test, T_test = datasets.make_regression(2_000, seed=seed + 1, dtype=dtype)
        return X, T, X_test, T_test, True, "y = 3*x0 + 2*x1, 100,000 samples"
    try:
        if name == "digits":
            (X, T), (X_test, T_test) = datasets.load_digits(dtype=dtype)
            description = "scikit-learn's 8x8 digits"
        elif name == "mnist":
            (X, T), (X_test, T_test) = datasets.load_mnist(dtype=dtype)
            description = "MNIST"
        elif name == "fashion-mnist":
            (X, T), (X_test, T_test) = datasets.load_fashion_mnist(dtype=dtype)
            description = "Fashion-MNIST"
        else:
            (X, T), (X_test, T_test) = datasets.load_npz(name)
            description = str(name)
    except (FileNotFoundError, ImportError, ValueError) as error:
        raise CommandError(str(error)) from None
    is_regression = np.asarray(T).dtype.kind == "f" and not (
        np.asarray(T).ndim == 2 and np.asarray(T).shape[1] > 1
    )
    return X, T, X_test, T_test, is_regression, description


def parse_sizes(text, n_inputs, n_outputs):
    """Layer widths from ``--sizes``: all of them (``"784,100,10"``, which must fit the
    data) or, with fewer than three entries, only the hidden ones (``"100"``)."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise CommandError(f"--sizes must be positive integers, got {text!r}")
    if len(sizes) >= 2 and sizes[0] == n_inputs and sizes[-1] == n_outputs:
        return sizes
    if len(sizes) >= 3:
        raise CommandError(
            f"--sizes {text!r} does not fit the data, which has {n_inputs} inputs and "
            f"{n_outputs} outputs: give e.g. {n_inputs},100,{n_outputs}, or only the hidden "
            "widths"
        )
    return [n_inputs, *sizes, n_outputs]


def _n_outputs(T, is_regression):
    T = np.asarray(T)
    if T.ndim == 2:
        return T.shape[1]
    return 1 if is_regression else int(T.max()) + 1


# ------------------------------------------------------------------ commands


def _make_optimizer(name, lr):
    from fastnn import optimizers

    hyper = {} if lr is None else {"lr": lr}
    try:
        return optimizers.get(name, **hyper)
    except (TypeError, ValueError) as error:
        raise CommandError(str(error)) from None


def train(args):
    """Train an MLP on a data set, with a progress bar per epoch."""
    from fastnn import MLP

    X, T, X_test, T_test, is_regression, description = load_data(args.data, args.dtype, args.seed)
    sizes = parse_sizes(args.sizes, np.asarray(X).shape[1], _n_outputs(T, is_regression))
    output = "identity" if is_regression else "softmax"
    try:
        net = MLP(sizes, hidden=args.hidden, output=output, dtype=args.dtype, seed=args.seed)
    except (TypeError, ValueError) as error:
        raise CommandError(str(error)) from None
    optimizer = _make_optimizer(args.optimizer, args.lr)
    validation = (X_test, T_test) if X_test is not None else None
    print(
        f"fastnn train: {description}, {len(X):,} training rows; {net}; {optimizer}; "
        f"batch size {args.batch_size}, {args.epochs} epochs"
    )
    start = time.perf_counter()
    history = net.fit(
        X,
        T,
        optimizer=optimizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=validation,
        progress=not args.quiet,
    )
    seconds = time.perf_counter() - start
    for epoch in range(args.epochs):
        line = f"epoch {epoch + 1:3d}  loss {history.loss[epoch]:.4f}"
        if history.val_loss:
            line += f"  test loss {history.val_loss[epoch]:.4f}"
        if history.val_acc:
            line += f"  test accuracy {history.val_acc[epoch]:.4f}"
        print(line)
    print(
        f"trained in {seconds:.1f} s ({args.epochs * len(X) / seconds:,.0f} samples/s, "
        "including compilation on a first run)"
    )
    if args.save:
        net.save(args.save)
        print(f"saved the model to {args.save}")
    if args.plot:
        _plot_history(history, args.plot, is_regression)
        print(f"wrote {args.plot}")
    return 0


def _plot_history(history, path, is_regression):
    from fastnn import plot

    if is_regression:
        plot.plot_loss(history, path=path)
    else:
        plot.plot_accuracy(history, path=path)


def compare(args):
    """Train one network with each optimizer of the family and plot the curves."""
    from fastnn import compare_optimizers, plot

    X, T, X_test, T_test, is_regression, description = load_data(args.data, args.dtype, args.seed)
    sizes = parse_sizes(args.sizes, np.asarray(X).shape[1], _n_outputs(T, is_regression))
    names = [name.strip() for name in args.optimizers.split(",") if name.strip()]
    family = {name: _make_optimizer(name, None) for name in names}
    if args.rows:
        X, T = X[: args.rows], T[: args.rows]
    print(
        f"fastnn compare-optimizers: {description}, {len(X):,} rows, sizes {sizes}, "
        f"batch size {args.batch_size}, {args.epochs} epochs"
    )
    try:
        histories = compare_optimizers(
            X,
            T,
            sizes,
            family,
            hidden=args.hidden,
            output="identity" if is_regression else "softmax",
            dtype=args.dtype,
            seed=args.seed,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=(X_test, T_test) if X_test is not None else None,
        )
    except (TypeError, ValueError) as error:
        raise CommandError(str(error)) from None
    for name, history in histories.items():
        line = f"{name:>10s}  final loss {history.loss[-1]:.4f}"
        if history.val_acc:
            line += f"  test accuracy {history.val_acc[-1]:.4f}"
        print(line)
    plot.plot_comparison(
        histories, metric="loss", path=args.plot, title=f"optimizers on {description}"
    )
    print(f"wrote {args.plot}")
    return 0


def demo(args):
    """Train the course's regression per sample and a digits classifier; write charts."""
    from fastnn import MLP, datasets, optimizers, plot

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X, y = datasets.make_regression(args.samples, seed=0)
    X_test, y_test = datasets.make_regression(2000, seed=1)
    print(
        f"1. The course's regression y = 3*x0 + 2*x1: 2-10-1 ReLU network, per-sample "
        f"SGD (lr={args.lr}) over {args.samples:,} samples"
    )
    start = time.perf_counter()
    MLP([2, 10, 1], output="identity", dtype="float64").fit(X[:2], y[:2])  # compile
    compile_seconds = time.perf_counter() - start
    net = MLP([2, 10, 1], hidden="relu", output="identity", dtype="float64", seed=0)
    start = time.perf_counter()
    history = net.fit(X, y, optimizer=optimizers.SGD(lr=args.lr), epochs=1, batch_size=1)
    seconds = time.perf_counter() - start
    print("      steps   mean loss of those steps (0.5 * squared error)")
    done = 0
    for chunk in np.array_split(history.step_loss, 10):
        done += len(chunk)
        print(f"   {done:8,d}   {chunk.mean():.3e}")
    mse = float(np.mean((net.predict(X_test)[:, 0] - y_test) ** 2))
    print(f"   mean squared error on 2,000 fresh samples: {mse:.2e}")
    print(
        f"   trained in {seconds:.3f} s ({args.samples / seconds:,.0f} samples/s); compiling "
        f"(or loading the compiled code) took {compile_seconds:.2f} s before that"
    )
    plot.plot_step_loss(
        history,
        path=out / "regression_step_loss.png",
        log=True,
        title="per-sample SGD on y = 3x0 + 2x1",
    )

    print("2. Digits (8x8, scikit-learn): 64-64-10 ReLU/softmax network, per-sample SGD")
    try:
        (Xd, yd), (Xd_test, yd_test) = datasets.load_digits()
    except ImportError as error:
        print(f"   skipped: {error}")
    else:
        clf = MLP([64, 64, 10], hidden="relu", output="softmax", seed=0)
        start = time.perf_counter()
        history = clf.fit(
            Xd,
            yd,
            optimizer=optimizers.SGD(lr=0.05),
            epochs=args.epochs,
            validation_data=(Xd_test, yd_test),
        )
        seconds = time.perf_counter() - start
        for epoch in range(0, args.epochs, max(1, args.epochs // 5)):
            print(
                f"   epoch {epoch + 1:3d}  train accuracy {history.train_acc[epoch]:.3f}  "
                f"test accuracy {history.val_acc[epoch]:.3f}"
            )
        print(
            f"   final test accuracy {history.val_acc[-1]:.3f} after {args.epochs} epochs "
            f"({seconds:.2f} s)"
        )
        plot.plot_accuracy(
            history, path=out / "digits_accuracy.png", title="digits: accuracy per epoch"
        )
        plot.plot_loss(history, path=out / "digits_loss.png", title="digits: loss per epoch")
    print(f"charts written to {out.resolve()}/")
    return 0


# ------------------------------------------------------------------ parser


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _data_argument(text):
    if text in DATA_NAMES or text.endswith(".npz"):
        return text
    raise argparse.ArgumentTypeError(
        f"must be one of {', '.join(DATA_NAMES)} or a PATH.npz file, got {text!r}"
    )


def _add_common(sub, default_sizes):
    sub.add_argument(
        "--data",
        type=_data_argument,
        default="digits",
        help="regression, digits, mnist, fashion-mnist, or a PATH.npz with "
        "x_train, t_train[, x_test, t_test] (default: digits)",
    )
    sub.add_argument(
        "--sizes",
        default=default_sizes,
        help=f"layer widths, e.g. 784,100,10, or only the hidden widths (default: {default_sizes})",
    )
    sub.add_argument("--hidden", default="relu", help="hidden activation (default: relu)")
    sub.add_argument("--epochs", type=positive_int_argument, default=5, help="epochs (default: 5)")
    sub.add_argument(
        "--batch-size",
        type=positive_int_argument,
        default=1,
        help="1 is per-sample SGD (default: 1)",
    )
    sub.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    sub.add_argument("--dtype", choices=("float32", "float64"), default="float32")


def build_parser():
    """Return the argument parser of the ``fastnn`` command."""
    parser = argparse.ArgumentParser(
        prog="fastnn", description="Small neural networks from scratch, compiled by Numba."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_parser = commands.add_parser(
        "demo",
        help="train the course's regression and a digits classifier, write charts",
        description=demo.__doc__,
    )
    demo_parser.add_argument(
        "--samples",
        type=positive_int_argument,
        default=100_000,
        help="regression samples, one SGD step each (default: 100000)",
    )
    demo_parser.add_argument(
        "--lr",
        type=_positive_float,
        default=0.07,
        help="learning rate of the regression (default: 0.07)",
    )
    demo_parser.add_argument(
        "--epochs", type=positive_int_argument, default=15, help="digits epochs (default: 15)"
    )
    demo_parser.add_argument(
        "--out", default="fastnn-demo", help="folder for the PNG charts (default: ./fastnn-demo)"
    )
    demo_parser.set_defaults(run=demo)

    train_parser = commands.add_parser(
        "train", help="train a network on a data set", description=train.__doc__
    )
    _add_common(train_parser, "100")
    train_parser.add_argument(
        "--optimizer",
        default="sgd",
        help="sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw (default: sgd)",
    )
    train_parser.add_argument(
        "--lr", type=_positive_float, default=None, help="learning rate (default: the optimizer's)"
    )
    train_parser.add_argument("--save", metavar="MODEL.npz", help="save the trained model")
    train_parser.add_argument(
        "--plot", metavar="OUT.png", help="write the accuracy (or loss) chart"
    )
    train_parser.add_argument("--quiet", action="store_true", help="no progress bars")
    train_parser.set_defaults(run=train)

    compare_parser = commands.add_parser(
        "compare-optimizers",
        help="train the optimizer family on one task and plot it",
        description=compare.__doc__,
    )
    _add_common(compare_parser, "50")
    compare_parser.add_argument(
        "--optimizers",
        default="sgd,momentum,nesterov,adagrad,rmsprop,adadelta,adam",
        help="comma-separated names (default: the whole family)",
    )
    compare_parser.add_argument(
        "--rows",
        type=positive_int_argument,
        default=None,
        help="use only the first ROWS training rows",
    )
    compare_parser.add_argument(
        "--plot",
        metavar="OUT.png",
        default="optimizers.png",
        help="where to write the chart (default: optimizers.png)",
    )
    compare_parser.set_defaults(run=compare)

    from fastnn import benchmark

    bench_parser = commands.add_parser(
        "bench",
        help="measure fastnn against its NumPy reference, PyTorch and scikit-learn",
        description=benchmark.__doc__.splitlines()[0],
    )
    benchmark.add_arguments(bench_parser)
    bench_parser.set_defaults(run=lambda args: benchmark.run(args, "fastnn bench"))
    return parser


def main(argv=None):
    """Run the command line; return the exit code (2 for a user error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CommandError as error:
        parser.exit(2, f"fastnn {args.command}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(130, "interrupted\n")


if __name__ == "__main__":
    sys.exit(main())
