"""``fastnn sweep``: a grid of configurations trained at once, on this machine or on Dask."""

import argparse
import itertools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from fastnn.cli.arguments import (
    DTYPES,
    data_argument,
    jobs_argument,
    non_negative_int_argument,
    positive_float_argument,
    positive_int_argument,
)
from fastnn.cli.common import CommandError, OptionError, show_progress
from fastnn.cli.data import check_task, held_out, load_data
from fastnn.cli.network import check_network_size, make_optimizer, parse_sizes
from fastnn.cli.paths import check_output_file, data_file, prepare_output_dir
from fastnn.validation import TrainingData

SWEEP_FILES = {"csv": "results.csv", "markdown": "results.md", "chart": "comparison.png"}
_FILE_KINDS = {
    "csv": ("a CSV table", ".csv"),
    "markdown": ("a Markdown table", ".md"),
    "chart": ("a PNG image", ".png"),
}
Value = TypeVar("Value")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``sweep`` and its options to the ``fastnn`` command's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "sweep",
        help="train a grid of configurations at once, on all cores or a Dask cluster",
        description=" ".join((run.__doc__ or "").split()),
    )
    parser.add_argument(
        "--data",
        type=data_argument,
        default="digits",
        help="regression, digits, mnist, fashion-mnist, or a PATH.npz (default: digits)",
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["50"],
        metavar="SIZES",
        help="one or more layouts, each comma-separated widths (784,40,10) or only the hidden "
        "ones (40); e.g. --sizes 784,40,10 784,100,10 (default: 50)",
    )
    parser.add_argument("--hidden", default="relu", help="hidden activation (default: relu)")
    parser.add_argument(
        "--optimizer", default="sgd", help="comma-separated optimizer names (default: sgd)"
    )
    parser.add_argument(
        "--lr", default=None, help="comma-separated learning rates (default: each optimizer's)"
    )
    parser.add_argument(
        "--seeds", default="0", help="comma-separated seeds, one network each (default: 0)"
    )
    parser.add_argument(
        "--batch-size",
        default="1",
        help="comma-separated batch sizes; 1 is per-sample SGD (default: 1)",
    )
    parser.add_argument(
        "--epochs", type=positive_int_argument, default=5, help="epochs (default: 5)"
    )
    parser.add_argument("--dtype", choices=DTYPES, default="float32")
    parser.add_argument(
        "--rows", type=positive_int_argument, default=None, help="use only the first ROWS rows"
    )
    parser.add_argument(
        "--jobs",
        type=jobs_argument,
        default=-1,
        help="threads on this machine, or worker processes with --scheduler local; -1 for "
        "all cores (default: -1)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="local|ADDRESS",
        default=None,
        help="run on Dask: 'local' starts a cluster of --jobs processes, or give a scheduler "
        "address such as tcp://10.0.0.1:8786 (needs pip install 'fastnn[dask]')",
    )
    parser.add_argument(
        "--out",
        default="fastnn-sweep",
        help="folder for results.csv, results.md and comparison.png (default: ./fastnn-sweep)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Train a grid of configurations (layouts, optimizers, learning rates, seeds, batch
    sizes) at once, on this machine's cores or a Dask cluster; print and write the
    results table (CSV and Markdown) and the comparison chart."""
    from fastnn import sweep

    out = prepare_output_dir("--out", args.out)
    for kind, name in SWEEP_FILES.items():
        what, suffix = _FILE_KINDS[kind]
        check_output_file("--out", out / name, suffix, what, data_file(args.data))
    client = _client(args.scheduler)
    # The regression data set is drawn from seed 0: the seeds vary the networks.
    task = check_task(load_data(args.data, args.dtype, 0), args.dtype)
    X, T = task.X, task.T
    if args.rows:
        X, T = X[: args.rows], T[: args.rows]
    configs = _configs(args, task)
    validation = held_out(task)
    where = "this machine" if client is None else f"Dask ({args.scheduler})"
    print(
        f"fastnn sweep: {task.source}, {len(X):,} rows, {len(configs)} configurations, "
        f"{args.epochs} epochs, on {where}",
        flush=True,
    )
    try:
        results = sweep(
            X,
            T,
            configs,
            validation_data=validation,
            epochs=args.epochs,
            n_jobs=args.jobs,
            client=client,
            progress=show_progress(args),
        )
    except (TypeError, ValueError, ImportError) as error:
        raise CommandError(str(error)) from None
    except OSError as error:  # a scheduler address that does not answer
        raise CommandError(f"--scheduler {args.scheduler}: {error}") from None
    _print_table(results, task.is_regression)
    print(f"{len(results)} configurations in {results.seconds:.1f} s ({results.n_groups} groups)")
    try:
        results.to_csv(out / SWEEP_FILES["csv"])
        results.to_markdown(out / SWEEP_FILES["markdown"])
    except OSError as error:
        raise CommandError(f"--out {args.out!r}: could not write the table ({error})") from None
    metric = "loss" if validation is None else ("val_loss" if task.is_regression else "val_acc")
    finished = [result for result in results if result.status == "ok"]
    if finished:
        best = results.best(metric)
        style = ".4f" if metric.endswith("acc") else ".4g"
        print(f"best by {metric}: #{best.index} {best.name} ({getattr(best, metric):{style}})")
    written = [out / SWEEP_FILES["csv"], out / SWEEP_FILES["markdown"]]
    if results.histories():  # unless no configuration completed an epoch
        chart = out / SWEEP_FILES["chart"]
        try:
            from fastnn import plot

            plot.plot_comparison(
                results.histories(),
                metric=metric,
                path=chart,
                title=_title(results, configs, task, len(X), args.epochs),
                validation_label="test",
            )
        except OSError as error:
            raise CommandError(f"--out {args.out!r}: could not write the chart ({error})") from None
        written.append(chart)
    print(f"wrote {', '.join(str(path) for path in written)}")
    if not finished:
        raise CommandError(
            f"every configuration diverged; try smaller learning rates than --lr {args.lr}"
        )
    return 0


def _list_of(option: str, text: str, convert: Callable[[str], Value], what: str) -> list[Value]:
    """Comma-separated values of ``option``, each converted, or an OptionError."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise OptionError(f"{option} {text!r} names no value; give comma-separated {what}")
    values = []
    for part in parts:
        try:
            values.append(convert(part))
        except (argparse.ArgumentTypeError, ValueError) as error:
            raise OptionError(f"{option} {error}") from None
    return values


def _configs(args: argparse.Namespace, task: TrainingData) -> list[dict[str, Any]]:
    """The grid: layouts x optimizers x learning rates x seeds x batch sizes."""
    layouts = [parse_sizes(text, task.X.shape[1], task.n_outputs) for text in args.sizes]
    for sizes in layouts:
        check_network_size(sizes, args.dtype)
    names = _list_of("--optimizer", args.optimizer, str, "names such as sgd,adam")
    rates: list[float | None] = [None]
    if args.lr is not None:
        rates = [*_list_of("--lr", args.lr, positive_float_argument, "numbers")]
    for name in names:
        for lr in rates:
            make_optimizer(name, lr, args.dtype)  # a bad name or lr fails before any work
    seeds = _list_of("--seeds", args.seeds, non_negative_int_argument, "integers >= 0")
    batches = _list_of("--batch-size", args.batch_size, positive_int_argument, "positive integers")
    configs = []
    for sizes, name, lr, seed, batch in itertools.product(layouts, names, rates, seeds, batches):
        config: dict[str, Any] = {"sizes": sizes, "hidden": args.hidden, "output": task.output}
        config.update(dtype=args.dtype, optimizer=name)
        if lr is not None:
            config["lr"] = lr
        config.update(seed=seed, batch_size=batch)
        configs.append(config)
    return configs


def _client(scheduler: str | None) -> str | None:
    """``--scheduler``: None (this process), "local", or an address; checks Dask is there."""
    if scheduler is None:
        return None
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise CommandError(
            f"--scheduler {scheduler}: needs Dask; pip install 'fastnn[dask]'"
        ) from None
    return scheduler


def _print_table(results: Any, is_regression: bool) -> None:
    """Print the results as a fixed-width table, one line per configuration."""
    # (title, key in to_rows, width, format); names and status are left-aligned.
    rows = results.to_rows()
    name_width = max(len("configuration"), *(len(row["name"]) for row in rows))
    columns = [("#", "config", 3, "d"), ("configuration", "name", name_width, "s")]
    columns += [("epochs", "epochs", 6, "d"), ("loss", "loss", 9, ".4g")]
    columns += [("test loss", "val_loss", 9, ".4g")]
    if not is_regression:
        columns += [("test acc", "val_acc", 8, ".4f")]
    columns += [("seconds", "seconds", 8, ".2f"), ("status", "status", 0, "s")]
    print("  ".join(title.ljust(w) if f == "s" else title.rjust(w) for title, _, w, f in columns))
    for row in rows:
        cells = []
        for _, key, width, style in columns:
            value = row[key]
            if isinstance(value, float) and np.isnan(value):
                value, style = "-", "s"
            text = format(value, style)
            cells.append(text.ljust(width) if style == "s" else text.rjust(width))
        print("  ".join(cells).rstrip())


def _title(
    results: Any, configs: list[dict[str, Any]], task: TrainingData, n_rows: int, epochs: int
) -> str:
    """The chart's title: how many configurations, of which networks, on which data."""
    layouts = dict.fromkeys(
        "-".join(str(size) for size in config["sizes"]) + f" {config['hidden']}/{config['output']}"
        for config in configs
    )
    return (
        f"sweep of {len(results)} configurations, {epochs} epochs each\n"
        f"{', '.join(layouts)}, {task.source}, {n_rows:,} rows"
    )
