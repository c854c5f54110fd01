"""``fastnn evaluate``: a saved model's loss and accuracy (or R^2) on a data set."""

import argparse
from typing import Any

from fastnn.cli.arguments import add_model_options
from fastnn.cli.common import CommandError
from fastnn.cli.data import load_model, model_data


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``evaluate`` and its options to the ``fastnn`` command's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "evaluate",
        help="loss and accuracy of a saved model on a data set",
        description=" ".join((run.__doc__ or "").split()),
    )
    add_model_options(parser, also="")
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the loss and accuracy (for a regression, the loss and R^2) of a model saved
    by fastnn train --save (or MLP.save) on a data set: as for train, its test split
    unless --split train."""
    net = load_model(args.model)
    X, T, description = model_data(args, net, need_targets=True)
    try:
        loss, accuracy = net.evaluate(X, T)
        r2 = net.score(X, T) if accuracy is None and len(X) >= 2 else None
    except (TypeError, ValueError) as error:
        raise CommandError(f"{description}: {error}") from None
    print(f"fastnn evaluate: {net} on {description}, {len(X):,} rows")
    line = f"loss {loss:.4g}"
    if accuracy is not None:
        line += f"  accuracy {accuracy:.4f}"
    elif r2 is not None:
        line += f"  R^2 {r2:.4g}"
    print(line)
    return 0
