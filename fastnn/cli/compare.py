"""``fastnn compare-optimizers``: the optimizer family on one task, in one chart."""

import argparse
import sys
import types
from typing import Any

from fastnn.cli.arguments import (
    OPTIMIZER_NAMES,
    add_training_options,
    jobs_argument,
    positive_int_argument,
)
from fastnn.cli.common import CommandError, OptionError
from fastnn.cli.data import held_out, load_task
from fastnn.cli.network import check_network_size, make_optimizer, parse_sizes
from fastnn.cli.paths import chart_suffixes, check_output_file, data_file


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``compare-optimizers`` and its options to the ``fastnn`` command's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "compare-optimizers",
        help="train the optimizer family on one task and plot it",
        description=run.__doc__,
    )
    add_training_options(parser, default_sizes="50")
    parser.add_argument(
        "--optimizers",
        default=",".join(OPTIMIZER_NAMES),
        help=f"comma-separated names (default: the whole family, {','.join(OPTIMIZER_NAMES)})",
    )
    parser.add_argument(
        "--rows",
        type=positive_int_argument,
        default=None,
        help="use only the first ROWS training rows",
    )
    parser.add_argument(
        "--plot",
        metavar="OUT.png",
        default="optimizers.png",
        help="where to write the chart: .png, .jpg, .svg or .pdf (default: optimizers.png)",
    )
    parser.add_argument(
        "--jobs",
        type=jobs_argument,
        default=1,
        help="optimizers trained at once, one core each; -1 for all cores (default: 1)",
    )
    parser.set_defaults(run=run, parser=parser)
    return parser


def _optimizer_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise OptionError(
            f"--optimizers {text!r} names no optimizer; give comma-separated names such as sgd,adam"
        )
    return names


def run(args: argparse.Namespace) -> int:
    """Train one network with each optimizer of the family and plot the curves."""
    from fastnn import plot, sweep

    names = _optimizer_names(args.optimizers)
    family = {name: make_optimizer(name, None, args.dtype) for name in names}
    check_output_file("--plot", args.plot, chart_suffixes(), "a chart", data_file(args.data))
    task = load_task(args)
    X, T = task.X, task.T
    if args.rows:
        X, T = X[: args.rows], T[: args.rows]
    sizes = parse_sizes(args.sizes, X.shape[1], task.n_outputs)
    check_network_size(sizes, args.dtype)
    print(
        f"fastnn compare-optimizers: {task.source}, {len(X):,} rows, sizes {sizes}, "
        f"batch size {args.batch_size}, {args.epochs} epochs"
    )
    network = {"sizes": sizes, "hidden": args.hidden, "dtype": args.dtype, "seed": args.seed}
    network["output"] = task.output
    configs = [{"name": name, **network, "optimizer": opt} for name, opt in family.items()]
    try:
        # One sweep: each optimizer starts from the same seeded network, and one
        # that diverges is reported while the others' curves are kept.
        results = sweep(
            X,
            T,
            configs,
            validation_data=held_out(task),
            epochs=args.epochs,
            batch_size=args.batch_size,
            n_jobs=args.jobs,
        )
    except (TypeError, ValueError) as error:
        raise CommandError(str(error)) from None
    histories = {}
    for result in results:
        if result.status == "diverged":
            print(
                f"fastnn compare-optimizers: {result.name} diverged and is left out of the chart "
                f"({(result.message or '').split(';')[0]})",
                file=sys.stderr,
            )
        else:
            histories[result.name] = result.history
    if not histories:
        raise CommandError(
            f"every optimizer diverged ({', '.join(family)}); rescale the data or try others"
        )
    for name, history in histories.items():
        line = f"{name:>10s}  final loss {history.loss[-1]:.4g}"
        if history.val_acc:
            line += f"  test accuracy {history.val_acc[-1]:.4f}"
        print(line)
    hidden = [args.hidden] * (len(sizes) - 2)
    shape = types.SimpleNamespace(sizes=sizes, hidden=hidden, output=task.output)
    trained = plot.describe_training(
        shape,  # type: ignore[arg-type]
        batch_size=args.batch_size,
        data=f"{task.source}, {len(X):,} rows",
    )
    try:
        plot.plot_comparison(
            histories,
            metric="loss",
            path=args.plot,
            title=f"training loss per epoch, each optimizer from the same start\n{trained}",
            log=task.is_regression,
        )
    except OSError as error:
        raise CommandError(f"--plot {args.plot!r}: could not write the chart ({error})") from None
    print(f"wrote {args.plot}")
    return 0
