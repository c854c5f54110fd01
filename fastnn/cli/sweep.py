"""``fastnn sweep``: a grid of configurations trained at once, on this machine or on Dask."""

import argparse
import contextlib
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from fastnn.cli.arguments import (
    DTYPES,
    data_argument,
    fraction_argument,
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
        "--validation-split",
        type=fraction_argument,
        default=0.1,
        metavar="FRACTION",
        help="hold out this fraction of the training rows to compare the configurations on; "
        "the test set is used only for the selected one (default: 0.1)",
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
    sizes) at once, on this machine's cores or a Dask cluster; compare them on held-out
    validation rows, report the test accuracy of the one selected, and write the results
    table (CSV and Markdown) and the comparison chart."""
    out = Path(args.out)
    created = _missing_folders(out)
    try:
        return _run(args)
    except BaseException:
        # Nothing was written: leave no empty --out folder behind (only those this run made).
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # fails, as it should, on a folder that holds anything
        raise


def _missing_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _run(args: argparse.Namespace) -> int:
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
    split = args.validation_split
    n_validation = int(round(split * len(X)))
    if split and not 1 <= n_validation < len(X):
        raise OptionError(
            f"--validation-split {split:g} of {len(X)} rows holds out {n_validation}; it needs "
            "to leave at least one row on each side"
        )
    test = held_out(task)
    where = "this machine" if client is None else f"Dask ({args.scheduler})"
    rows = (
        f"{len(X) - n_validation:,} training and {n_validation:,} validation rows"
        if split
        else f"{len(X):,} rows"
    )
    print(
        f"fastnn sweep: {task.source}, {rows}, {len(configs)} configurations, "
        f"{args.epochs} epochs, on {where}",
        flush=True,
    )
    try:
        results = sweep(
            X,
            T,
            configs,
            validation_split=split,
            epochs=args.epochs,
            n_jobs=args.jobs,
            client=client,
            progress=show_progress(args),
        )
    except (TypeError, ValueError, ImportError) as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        if args.scheduler is None:
            raise CommandError(str(error)) from None
        raise CommandError(f"--scheduler {args.scheduler}: {error}") from None
    except RuntimeError as error:  # the Dask cluster went away during the sweep
        if args.scheduler is None:
            raise
        raise CommandError(f"--scheduler {args.scheduler}: {error}") from None
    _print_table(results, task.is_regression, bool(split))
    print(
        f"{len(results)} configurations in {results.seconds:.1f} s ({results.n_groups} groups); "
        "seconds: each configuration's share of the training time"
    )
    try:
        results.to_csv(out / SWEEP_FILES["csv"])
        results.to_markdown(out / SWEEP_FILES["markdown"])
    except OSError as error:
        raise CommandError(f"--out {args.out!r}: could not write the table ({error})") from None
    if not split:
        metric = "loss"  # without validation rows, only the training loss compares them
    else:
        metric = "val_loss" if task.is_regression else "val_acc"
    finished = [result for result in results if result.status == "ok"]
    best = results.best(metric) if finished else None
    if best is not None:
        _report_selection(best, metric, test, task.is_regression)
    written = [out / SWEEP_FILES["csv"], out / SWEEP_FILES["markdown"]]
    if results.histories():  # unless no configuration completed an epoch
        chart = out / SWEEP_FILES["chart"]
        try:
            from fastnn import plot

            plot.plot_comparison(
                results.histories(),
                metric=metric,
                path=chart,
                title=_title(results, configs, task, metric, best, len(X), split),
                highlight=None if best is None else best.name,
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


_FIGURES = {
    "val_acc": ("validation accuracy", ".4f"),
    "val_loss": ("validation loss", ".4g"),
    "loss": ("training loss", ".4g"),
}


def _report_selection(best: Any, metric: str, test: Any, is_regression: bool) -> None:
    """Say which configuration the validation rows select, and its test figures, apart."""
    what, style = _FIGURES[metric]
    print(f"selected by {what}: #{best.index} {best.name} ({what} {getattr(best, metric):{style}})")
    if test is None:
        print("the data set has no test rows: no test figures")
        return
    loss, accuracy = best.model().evaluate(*test)
    figures = f"test loss {loss:.4g}" + (
        "" if accuracy is None else f", test accuracy {accuracy:.4f}"
    )
    print(
        f"the selected configuration on the {len(test[0]):,} test rows "
        f"(used for it alone): {figures}"
    )


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


def _print_table(results: Any, is_regression: bool, has_validation: bool) -> None:
    """Print the results as a fixed-width table, one line per configuration."""
    # (title, key in to_rows, width, format); names and status are left-aligned.
    rows = results.to_rows()
    name_width = max(len("configuration"), *(len(row["name"]) for row in rows))
    columns = [("#", "config", 3, "d"), ("configuration", "name", name_width, "s")]
    columns += [("epochs", "epochs", 6, "d"), ("loss", "loss", 9, ".4g")]
    if has_validation:
        columns += [("val loss", "val_loss", 9, ".4g")]
        if not is_regression:
            columns += [("val acc", "val_acc", 8, ".4f")]
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
    results: Any,
    configs: list[dict[str, Any]],
    task: TrainingData,
    metric: str,
    best: Any,
    n_rows: int,
    split: float,
) -> str:
    """The chart's title: what is drawn, of how many configurations, of which networks, on
    which data, and which one the validation rows selected."""
    layouts = dict.fromkeys(
        "-".join(str(size) for size in config["sizes"]) + f" {config['hidden']}/{config['output']}"
        for config in configs
    )
    what = _FIGURES[metric][0]
    rows = f"{n_rows:,} rows" + (f", {split:.0%} held out for validation" if split else "")
    selected = "" if best is None else f"; selected: #{best.index}"
    # Three short lines rather than two that matplotlib would wrap mid-phrase.
    return (
        f"{what} per epoch of {len(results)} configurations{selected}\n"
        f"{', '.join(layouts)}\n{task.source}, {rows}"
    )
