"""The argparse types of the options, and the options several commands share.

Each type turns an option's text into its value, or raises
``argparse.ArgumentTypeError`` with a message that argparse prints after the
command's usage (exit code 2).
"""

import argparse
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from fastnn.datasets import NAMED_DATA_SETS

DATA_NAMES = tuple(NAMED_DATA_SETS)
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw")
OUTPUTS = ("softmax", "sigmoid", "identity")
DTYPES = ("float32", "float64")


# ------------------------------------------------------------------ numbers


def _number(
    text: str, convert: type[int] | type[float], what: str, accept: Callable[[Any], bool]
) -> Any:
    """``text`` as ``convert`` (int or float, finite) if ``accept`` takes it, else an
    ArgumentTypeError saying ``what`` it must be."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if (convert is float and not math.isfinite(value)) or not accept(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int_argument(text: str) -> int:
    """An integer >= 1 (epochs, a batch size, rows)."""
    return int(_number(text, int, "a positive integer", lambda value: value >= 1))


def non_negative_int_argument(text: str) -> int:
    """An integer >= 0 (a seed, a patience)."""
    return int(_number(text, int, "an integer >= 0", lambda value: value >= 0))


def positive_float_argument(text: str) -> float:
    """A finite number > 0 (a learning rate)."""
    return float(_number(text, float, "a positive number", lambda value: value > 0))


def non_negative_float_argument(text: str) -> float:
    """A finite number >= 0 (a momentum, a weight decay)."""
    return float(_number(text, float, "a number >= 0", lambda value: value >= 0))


def fraction_argument(text: str) -> float:
    """A fraction in [0, 1) (of the training rows)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text!r}")
    return value


def rates_argument(text: str) -> list[float]:
    """One dropout rate or a comma-separated list of them, each in [0, 1)."""
    try:
        rates = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a rate in [0, 1) or comma-separated rates, got {text!r}"
        ) from None
    if not all(0 <= rate < 1 for rate in rates):
        raise argparse.ArgumentTypeError(f"rates must be in [0, 1), got {text!r}")
    return rates


def init_argument(text: str) -> str | float:
    """A weight initialisation: he, xavier, or a positive standard deviation."""
    if text in ("he", "xavier"):
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"must be he, xavier or a positive standard deviation such as 0.01, got {text!r}"
        )
    return value


def jobs_argument(text: str) -> int:
    """-1 (all cores) or a number of jobs >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be -1 (all cores) or >= 1, got {text!r}") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be -1 (all cores) or >= 1, got {text!r}")
    return value


# ------------------------------------------------------------------ data


def data_argument(text: str) -> str:
    """A data set to train on: one of :data:`DATA_NAMES`, or a PATH.npz."""
    if text in DATA_NAMES or text.endswith(".npz"):
        return text
    raise argparse.ArgumentTypeError(
        f"must be one of {', '.join(DATA_NAMES)} or a PATH.npz file, got {text!r}"
    )


def model_data_argument(text: str) -> str:
    """Data for a saved model: a data set as :func:`data_argument`, or a PATH.npy of inputs."""
    if text in DATA_NAMES or text.endswith((".npz", ".npy")):
        return text
    raise argparse.ArgumentTypeError(
        f"must be one of {', '.join(DATA_NAMES)}, a PATH.npz or a PATH.npy file, got {text!r}"
    )


# ------------------------------------------------------------------ shared options


def add_training_options(parser: argparse.ArgumentParser, default_sizes: str) -> None:
    """The options of ``train`` and ``compare-optimizers``: the data, the network's
    widths and hidden activation, epochs, batch size, seed and dtype."""
    parser.add_argument(
        "--data",
        type=data_argument,
        default="digits",
        help="regression, digits, mnist, fashion-mnist, or a PATH.npz with "
        "x_train, t_train[, x_test, t_test] (default: digits)",
    )
    parser.add_argument(
        "--sizes",
        default=default_sizes,
        help=f"layer widths, e.g. 784,100,10, or only the hidden widths (default: {default_sizes})",
    )
    parser.add_argument("--hidden", default="relu", help="hidden activation (default: relu)")
    parser.add_argument(
        "--epochs", type=positive_int_argument, default=5, help="epochs (default: 5)"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int_argument,
        default=1,
        help="1 is per-sample SGD (default: 1)",
    )
    parser.add_argument(
        "--seed", type=non_negative_int_argument, default=0, help="random seed (default: 0)"
    )
    parser.add_argument("--dtype", choices=DTYPES, default="float32")


def add_model_options(parser: argparse.ArgumentParser, also: str) -> None:
    """The options of ``predict`` and ``evaluate``: the saved model, the data and its split.

    ``also`` names the extra kinds of ``--data`` the command takes (``"PATH.npy, "``).
    """
    parser.add_argument(
        "--model", required=True, metavar="MODEL.npz", help="a model saved by train --save"
    )
    parser.add_argument(
        "--data",
        type=model_data_argument,
        required=True,
        help=f"{', '.join(DATA_NAMES)}, {also}or a PATH.npz with x_train, t_train[, x_test, "
        "t_test]",
    )
    parser.add_argument(
        "--split",
        choices=("test", "train"),
        default=None,
        help="which split of --data (default: test, or train when there is no test split)",
    )
