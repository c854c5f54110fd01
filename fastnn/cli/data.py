"""The data ``--data`` names, loaded and checked by the library, with its errors on one line.

Loading a data set by name is :func:`fastnn.datasets.load`; deciding the task from the
targets and checking every array is :func:`fastnn.validation.training_data`. Here their
errors become the command line's: a bad file or array is a :class:`CommandError`, targets
that do not suit ``--output`` an :class:`OptionError`.
"""

import argparse
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn import datasets
from fastnn.cli.common import CommandError, OptionError
from fastnn.validation import OutputMismatchError, TrainingData, finite_values, training_data

Arrays = tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None, NDArray[Any] | None, str]


def load_data(name: str, dtype: str, seed: int = 0) -> Arrays:
    """Return ``(X, T, X_test, T_test, description)`` for ``--data``, unchecked."""
    try:
        (X, T), (X_test, T_test) = datasets.load(name, dtype=dtype, seed=seed)
    except (FileNotFoundError, ImportError, ValueError) as error:
        raise CommandError(str(error)) from None
    return X, T, X_test, T_test, datasets.NAMED_DATA_SETS.get(name, str(name))


def check_task(arrays: Arrays, dtype: str, output: str | None = None) -> TrainingData:
    """Check loaded arrays for training and decide the task (see
    :func:`fastnn.validation.training_data`), naming the data set in every message."""
    X, T, X_test, T_test, description = arrays
    try:
        return training_data(
            X,
            T,
            X_test,
            T_test,
            dtype=dtype,
            output=output,
            source=description,
            output_name="--output",
        )
    except OutputMismatchError as error:
        raise OptionError(str(error)) from None
    except (TypeError, ValueError) as error:
        raise CommandError(str(error)) from None


def load_task(args: argparse.Namespace) -> TrainingData:
    """The checked data set of ``--data``, ``--dtype``, ``--seed`` (and ``--output``)."""
    arrays = load_data(args.data, args.dtype, args.seed)
    return check_task(arrays, args.dtype, getattr(args, "output", None))


def held_out(task: TrainingData) -> tuple[NDArray[Any], NDArray[Any]] | None:
    """The test split as ``validation_data``, or None when the data set has none."""
    if task.X_test is None or task.T_test is None:
        return None
    return task.X_test, task.T_test


# ------------------------------------------------------------------ saved models


def load_model(path: str) -> Any:
    """The model of ``--model``, or a CommandError saying what is wrong with the file."""
    from fastnn import MLP

    try:
        return MLP.load(path)
    except (FileNotFoundError, ValueError, OSError) as error:
        raise CommandError(f"--model {error}") from None


def model_data(
    args: argparse.Namespace, net: Any, need_targets: bool
) -> tuple[NDArray[Any], NDArray[Any] | None, str]:
    """Return ``(X, T, description)`` of ``--data`` and ``--split`` for ``net``.

    ``T`` is None for a ``.npy`` of inputs. Inputs are checked and cast to the
    network's dtype; the targets are left for the network to check, as ``fit``
    does (integer or whole-number float labels, one-hot rows, targets).
    """
    dtype = net.dtype.name
    T: NDArray[Any] | None
    if args.data.endswith(".npy"):
        if need_targets:
            raise OptionError(
                f"--data {args.data}: a .npy file holds inputs only, and evaluate needs "
                "targets: give a PATH.npz with x_test and t_test (or x_train and t_train)"
            )
        if args.split is not None:
            raise OptionError("--split picks a split of a data set; a .npy file has none")
        try:
            X = datasets.load_npy(args.data)
        except (FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from None
        T, name, description = None, "the inputs", args.data
    else:
        X_train, T_train, X_test, T_test, source = load_data(args.data, dtype, seed=0)
        split = args.split or ("test" if X_test is not None else "train")
        if split == "test" and X_test is None:
            raise CommandError(
                f"{source}: no test split (x_test, t_test); give --split train to use x_train"
            )
        X, T = (X_test, T_test) if split == "test" else (X_train, T_train)  # type: ignore[assignment]
        name, description = f"x_{split}", f"the {split} split of {source}"
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise CommandError(f"{description}: {name} must hold real numbers, got {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0:
        raise CommandError(
            f"{description}: {name} must be 2-D (samples, features) with at least one row, "
            f"got shape {X.shape}"
        )
    try:
        X = finite_values(name, X, dtype, description)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if T is not None:
        T = np.asarray(T)
        if T.ndim == 2 and T.shape[1] == 1 and net.sizes[-1] != 1:  # a column of labels
            T = T[:, 0]
    return X, T, description
