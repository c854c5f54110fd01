"""``fastnn predict``: a saved model's predictions, summarised or written as .npy or .csv."""

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn.cli.arguments import add_model_options
from fastnn.cli.common import CommandError
from fastnn.cli.data import load_model, model_data
from fastnn.cli.paths import check_output_file, data_file


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``predict`` and its options to the ``fastnn`` command's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "predict",
        help="predict with a saved model",
        description=" ".join((run.__doc__ or "").split()),
    )
    add_model_options(parser, also="PATH.npy, ")
    parser.add_argument(
        "--out",
        metavar="OUT.npy|OUT.csv",
        default=None,
        help="write the predictions there (default: print a summary)",
    )
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Predict with a model saved by fastnn train --save (or MLP.save): print a summary,
    or write every prediction with --out, as .npy (what MLP.predict returns: the class
    probabilities, or the regression outputs) or as .csv (a header row; a classifier's
    predicted class first, then the probabilities). --data is a data set as for train
    (its test split unless --split train), or a PATH.npy of inputs."""
    if args.out is not None:
        check_output_file(
            "--out",
            args.out,
            (".npy", ".csv"),
            "a NumPy array or a CSV table",
            data_file(args.data),
        )
    net = load_model(args.model)
    X, _, description = model_data(args, net, need_targets=False)
    try:
        Y = net.predict(X)
    except (TypeError, ValueError) as error:
        raise CommandError(f"{description}: {error}") from None
    print(f"fastnn predict: {net} on {description}, {len(X):,} rows", flush=True)
    if args.out is None:
        _print_summary(net, X, Y)
        return 0
    try:
        _write_predictions(args.out, net, X, Y)
    except OSError as error:
        raise CommandError(
            f"--out {args.out!r}: could not write the predictions ({error})"
        ) from None
    print(f"wrote {args.out} ({Y.shape[0]:,} rows)")
    return 0


def _columns(net: Any, X: NDArray[Any], Y: NDArray[Any]) -> tuple[list[str], list[Any], list[str]]:
    """The ``--out .csv`` table of predictions ``Y``: (header, columns, formats)."""
    digits = "%.9g" if net.dtype == np.float32 else "%.17g"  # enough to read back exactly
    k = Y.shape[1]

    def numbered(stem: str) -> list[str]:
        return [stem] if k == 1 else [f"{stem}{j}" for j in range(k)]

    if net.output == "softmax":
        classes = net.predict_classes(X)[:, None]
        return ["class", *(f"p{j}" for j in range(k))], [classes, Y], ["%d"] + [digits] * k
    if net.output == "sigmoid":
        labels = net.predict_classes(X).reshape(len(X), k)
        header = [*numbered("label"), *numbered("p")]
        return header, [labels, Y], ["%d"] * k + [digits] * k
    return numbered("y"), [Y], [digits] * k


def _write_predictions(path: str, net: Any, X: NDArray[Any], Y: NDArray[Any]) -> None:
    from fastnn.io.atomic import atomic_write

    with atomic_write(path) as stream:
        if Path(path).suffix.lower() == ".npy":
            np.save(stream, Y, allow_pickle=False)
            return
        header, columns, formats = _columns(net, X, Y)
        table = np.hstack([np.asarray(column, dtype=np.float64) for column in columns])
        text = ",".join(header) + "\n"
        text += "".join(
            ",".join(f % v for f, v in zip(formats, row, strict=True)) + "\n" for row in table
        )
        stream.write(text.encode())


def _print_summary(net: Any, X: NDArray[Any], Y: NDArray[Any]) -> None:
    shown = min(5, len(X))
    if net.output == "softmax":
        classes = net.predict_classes(X)
        counts = np.bincount(classes, minlength=Y.shape[1])
        print("predicted classes: " + ", ".join(f"{c}: {n:,}" for c, n in enumerate(counts)))
        first = ", ".join(f"{classes[r]} ({Y[r, classes[r]]:.3f})" for r in range(shown))
        print(f"first {shown} rows, class (probability): {first}")
    elif net.output == "sigmoid":
        labels = net.predict_classes(X).reshape(len(X), Y.shape[1])
        for j in range(Y.shape[1]):
            name = "label" if Y.shape[1] == 1 else f"label {j}"
            print(f"{name}: 1 (probability >= 0.5) in {labels[:, j].sum():,} of {len(X):,} rows")
    else:
        for j in range(Y.shape[1]):
            name = "y" if Y.shape[1] == 1 else f"y{j}"
            column = Y[:, j].astype(np.float64)
            print(
                f"{name}: mean {column.mean():.4g}, std {column.std():.4g}, from "
                f"{column.min():.4g} to {column.max():.4g}"
            )
        which = " of y0" if Y.shape[1] > 1 else ""
        print(f"first {shown} rows{which}: " + ", ".join(f"{Y[r, 0]:.4g}" for r in range(shown)))
    print("give --out FILE.npy or FILE.csv to write every prediction")
