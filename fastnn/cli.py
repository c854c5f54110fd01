"""The ``fastnn`` command line: ``demo``, ``train``, ``predict``, ``evaluate``,
``compare-optimizers``, ``sweep``, ``bench``.

Exit codes: 0 when the command did its work; 2 for a user error (bad arguments, bad
data, an output path that cannot be written, training that diverged), reported on
one line without a traceback (after the command's usage when an option's value is
wrong, as argparse does); 130 when interrupted with Ctrl-C; 141 when standard
output was closed early (``fastnn train | head``), as for a process killed by SIGPIPE.

Progress bars are drawn only when stderr is a terminal: a log file gets the plain
line printed per epoch instead of a bar redrawn with carriage returns.
"""

import argparse
import contextlib
import copy
import dataclasses
import inspect
import itertools
import os
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

from fastnn.model import TrainingDivergedError
from fastnn.validation import positive_int_argument

__all__ = ["main", "build_parser"]

DATA_NAMES = ("regression", "digits", "mnist", "fashion-mnist")
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw")
OUTPUTS = ("softmax", "sigmoid", "identity")
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
# Integer labels name classes 0..K-1 and K is the output layer's width: a stray label
# of 10**9 would otherwise ask for a network of billions of weights.
MAX_CLASSES = 10_000


class CommandError(Exception):
    """A user error: reported on one line with exit code 2, without a traceback."""


class OptionError(CommandError):
    """A bad option value found after parsing: reported after the command's usage, as
    argparse reports the values it checks itself."""


def _stderr_is_terminal():
    """True if stderr is a terminal, where a progress bar can redraw itself in place."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False


def _rates_argument(text):
    """argparse type: one dropout rate or a comma-separated list of them."""
    try:
        rates = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a rate in [0, 1) or comma-separated rates, got {text!r}"
        ) from None
    if not all(0 <= rate < 1 for rate in rates):
        raise argparse.ArgumentTypeError(f"rates must be in [0, 1), got {text!r}")
    return rates


def _fraction_argument(text):
    """argparse type: a fraction in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text!r}")
    return value


def _non_negative_int_argument(text):
    """argparse type: an integer >= 0 (a seed, a patience)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def _show_progress(args):
    return not getattr(args, "quiet", False) and _stderr_is_terminal()


# ------------------------------------------------------------------ output paths


def _check_writable(option, text, folder):
    """Create (and at once drop) a nameless file in ``folder``: the one sure test that
    a file can be written there, for root and read-only file systems alike."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CommandError(
            f"{option} {text!r}: cannot write in the folder {str(folder)!r} "
            f"({error.strerror or error})"
        ) from None


def _either(suffixes):
    """ ".png, .jpg or .svg": the suffixes as a message lists them."""
    return suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"


def check_output_file(option, path, suffix, kind, data_path=None):
    """Refuse, before any training, an output file that could not be written.

    Parameters
    ----------
    option : str
        The option that named the file, for the message (``"--save"``).
    path : str or os.PathLike
    suffix : str or tuple of str
        The suffix the writer produces (``".npz"``), or the suffixes it accepts,
        each naming the format it writes (``(".png", ".jpg")``).
    kind : str
        What the writer writes, for the message (``"a NumPy .npz archive"``).
    data_path : str, optional
        The data file being read, which the output must not overwrite.

    Raises
    ------
    OptionError
        If ``path`` is empty or does not end with one of ``suffix``.
    CommandError
        If ``path`` is a folder or another non-regular file, its folder does not
        exist or does not accept a new file, or it is the data file.
    """
    suffixes = (suffix,) if isinstance(suffix, str) else tuple(suffix)
    text = os.fspath(path)
    if not text:
        raise OptionError(f"{option} needs a file name ending with {_either(suffixes)}")
    target = Path(text)
    if text.endswith(("/", os.sep)) or target.is_dir():
        raise CommandError(
            f"{option} {text!r} is a folder; give a file name such as "
            f"{os.path.join(text, 'out' + suffixes[0])!r}"
        )
    if target.suffix.lower() not in suffixes:
        raise OptionError(f"{option} {text!r}: the name must end with {_either(suffixes)} ({kind})")
    if target.exists() and not target.is_file():
        raise CommandError(f"{option} {text!r} exists and is not a regular file")
    folder = target.parent
    if not folder.is_dir():
        state = "is a file, not a folder" if folder.exists() else "does not exist; create it first"
        raise CommandError(f"{option} {text!r}: {str(folder)!r} {state}")
    _check_writable(option, text, folder)
    if data_path is not None and target.exists() and os.path.samefile(target, data_path):
        raise CommandError(
            f"{option} {text!r} is the data file given to --data: writing it would destroy the data"
        )


def prepare_output_dir(option, path):
    """Create the output folder ``path`` if needed and check that it accepts files.

    Raises
    ------
    CommandError
        If ``path`` is a file, cannot be created or is not writable.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CommandError(f"{option} {os.fspath(path)!r} exists and is not a folder") from None
    except OSError as error:
        raise CommandError(
            f"{option} {os.fspath(path)!r}: cannot create the folder ({error.strerror or error})"
        ) from None
    _check_writable(option, os.fspath(path), folder)
    return folder


# ------------------------------------------------------------------ data


@dataclasses.dataclass
class Task:
    """A checked data set: arrays ready for ``MLP.fit`` and what to train on them."""

    X: np.ndarray
    T: np.ndarray
    X_test: np.ndarray
    T_test: np.ndarray
    is_regression: bool
    n_outputs: int
    description: str
    output: str = ""  # the output activation: "softmax", "sigmoid" or "identity"
    note: str = ""  # how the targets were read, when that was a choice

    def __post_init__(self):
        if not self.output:
            self.output = "identity" if self.is_regression else "softmax"


def load_data(name, dtype, seed=0):
    """Return ``(X, T, X_test, T_test, description)`` for ``--data``, unchecked."""
    from fastnn import datasets

    if name == "regression":
        X, T = datasets.make_regression(100_000, seed=seed, dtype=dtype)
        X_test, T_test = datasets.make_regression(2_000, seed=seed + 1, dtype=dtype)
        return X, T, X_test, T_test, "y = 3*x0 + 2*x1, 100,000 samples"
    try:
        if name == "digits":
            (X, T), (X_test, T_test) = datasets.load_digits(dtype=dtype)
            description = "8x8 digits (UCI)"
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
    return X, T, X_test, T_test, description


def _finite(name, values, dtype, source):
    """Return ``values`` as a C-contiguous array of ``dtype``; raise at the first NaN/inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        cast = np.ascontiguousarray(values, dtype=dtype)
    finite = np.isfinite(cast)
    if finite.all():
        return cast
    position = np.unravel_index(np.argmin(finite), cast.shape)
    where = f"row {position[0]}" + (f", column {position[1]}" if cast.ndim == 2 else "")
    original = np.asarray(values)[position]
    if np.isfinite(original):
        raise CommandError(
            f"{source}: {name} has a value too large for {dtype} at {where} ({original:g}); "
            "rescale the data or use --dtype float64"
        )
    raise CommandError(
        f"{source}: {name} contains {original} at {where}; clean or impute the data first"
    )


def _class_labels(name, labels, source):
    """Check integer class labels: 0, 1, 2, ... below ``MAX_CLASSES``."""
    if labels.dtype.kind not in "iu":
        raise CommandError(
            f"{source}: {name} must hold integer class labels like t_train, got dtype "
            f"{labels.dtype}"
        )
    negative = np.flatnonzero(labels < 0)
    if negative.size:
        row = negative[0]
        raise CommandError(
            f"{source}: {name} has label {labels[row]} at row {row}; class labels are 0, 1, 2, ..."
        )
    row = int(np.argmax(labels))
    if labels[row] >= MAX_CLASSES:
        raise CommandError(
            f"{source}: {name} has label {labels[row]} at row {row}, which would need "
            f"{int(labels[row]) + 1:,} output units; class labels go from 0 to at most "
            f"{MAX_CLASSES - 1}"
        )
    return labels.astype(np.int64)


def _is_distribution(rows):
    """True if every row is non-negative and sums to 1 (one-hot or probabilities)."""
    return bool(np.all(rows >= 0) and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3))


def _whole_labels(values):
    """True if float ``values`` could be class labels: whole numbers from 0 to MAX_CLASSES - 1."""
    return bool(
        values.size
        and np.all(np.isfinite(values))
        and np.all(values == np.round(values))
        and values.min() >= 0
        and values.max() < MAX_CLASSES
    )


def _in_unit_interval(*arrays):
    return all(array is None or bool(np.all((array >= 0) & (array <= 1))) for array in arrays)


def prepare_data(X, T, X_test, T_test, description, dtype, output=None):
    """Check a data set for training and decide the task; return a :class:`Task`.

    With ``output`` None the targets decide, as :meth:`MLP.fit` reads them: 1-D
    integer labels (or one column), or float labels that are all whole numbers
    from 0 to ``MAX_CLASSES - 1``, make a softmax classifier with one output per
    class; 2-D rows that are one-hot (or probabilities) make a softmax classifier
    too; other float targets make a regression with one output per column.
    ``output`` ("softmax", "sigmoid" or "identity", from ``--output``) imposes
    the output layer, and the targets must suit it.

    Raises
    ------
    CommandError
        Naming the data set, the array and the row of the first bad value.
    OptionError
        If the targets do not suit ``output``.
    """
    source = description
    X = np.asarray(X)
    T = np.asarray(T)
    has_test = X_test is not None
    if has_test:
        X_test, T_test = np.asarray(X_test), np.asarray(T_test)
    for name, values in (("x_train", X), ("x_test", X_test)):
        if values is not None and values.dtype.kind not in "biuf":
            raise CommandError(f"{source}: {name} must hold real numbers, got {values.dtype}")
    if X.ndim != 2 or (has_test and X_test.ndim != 2):
        shape = X.shape if X.ndim != 2 else X_test.shape
        raise CommandError(f"{source}: the inputs must be 2-D (samples, features), got {shape}")
    if T.dtype.kind not in "iuf":
        raise CommandError(
            f"{source}: t_train must hold integer class labels or float targets, got dtype "
            f"{T.dtype}" + ("; store labels as integers (t.astype(int))" if T.dtype == bool else "")
        )
    if T.ndim == 2 and T.shape[1] == 1:  # one column: the same as 1-D
        T = T[:, 0]
        T_test = T_test[:, 0] if has_test and T_test.ndim == 2 else T_test
    X = _finite("x_train", X, dtype, source)
    X_test = _finite("x_test", X_test, dtype, source) if has_test else None

    def task(T, T_test, output, n_outputs, note=""):
        return Task(
            X, T, X_test, T_test, output == "identity", n_outputs, description, output, note
        )

    integer = T.ndim == 1 and T.dtype.kind in "iu"
    if output == "identity" or (output is None and not integer and T.ndim == 1):
        T = _finite("t_train", T, dtype, source)
        T_test = _finite("t_test", T_test, dtype, source) if has_test else None
        floats_as_labels = (
            output is None
            and _whole_labels(T)
            and (not has_test or _whole_labels(T_test))
            and max(T.max(), T_test.max() if has_test else 0) >= 1  # at least two classes
        )
        if not floats_as_labels:
            return task(T, T_test, "identity", 1 if T.ndim == 1 else T.shape[1])
        integer = True
        note = (
            "t_train holds whole numbers stored as floats: read as class labels, as MLP.fit "
            "reads them (--output identity trains a regression on them)"
        )
        T, T_test = T.astype(np.int64), T_test.astype(np.int64) if has_test else None
    else:
        note = ""
        if output == "softmax" and T.ndim == 1 and not integer:  # float labels, as fit takes
            T = _finite("t_train", T, dtype, source)
            T_test = _finite("t_test", T_test, dtype, source) if has_test else None
            if not (_whole_labels(T) and (not has_test or _whole_labels(T_test))):
                raise OptionError(
                    f"--output softmax needs class labels (0, 1, 2, ...) or one-hot rows; "
                    f"{source}'s t_train holds other values: use --output identity (regression)"
                )
            integer = True
            T, T_test = T.astype(np.int64), T_test.astype(np.int64) if has_test else None
    if integer and output in (None, "softmax"):
        T = _class_labels("t_train", T, source)
        T_test = _class_labels("t_test", T_test, source) if has_test else None
        n_outputs = int(max(T.max(), T_test.max() if has_test else 0)) + 1
        if n_outputs < 2:
            raise CommandError(
                f"{source}: t_train has only one class (label 0); a classifier needs at least two"
            )
        return task(T, T_test, "softmax", n_outputs, note)
    T = _finite("t_train", T, dtype, source)
    T_test = _finite("t_test", T_test, dtype, source) if has_test else None
    if output == "sigmoid":
        if not _in_unit_interval(T, T_test):
            raise OptionError(
                f"--output sigmoid needs targets in [0, 1] (0/1 labels, or one column per "
                f"label); {source}'s t_train has values from {T.min():g} to {T.max():g}"
                + ("; use --output softmax for more than two classes" if integer else "")
            )
        return task(T, T_test, "sigmoid", 1 if T.ndim == 1 else T.shape[1])
    if T.ndim == 2 and _is_distribution(T):
        if has_test and not _is_distribution(T_test):
            raise CommandError(
                f"{source}: t_train holds one-hot rows but t_test does not; give t_test "
                "the same form"
            )
        return task(T, T_test, "softmax", T.shape[1])
    if output == "softmax":
        raise OptionError(
            f"--output softmax needs class labels (0, 1, 2, ...) or one-hot rows; {source}'s "
            "t_train holds other targets: use --output identity (regression) or sigmoid"
        )
    return task(T, T_test, "identity", 1 if T.ndim == 1 else T.shape[1])


def _load_task(args):
    X, T, X_test, T_test, description = load_data(args.data, args.dtype, args.seed)
    output = getattr(args, "output", None)
    return prepare_data(X, T, X_test, T_test, description, args.dtype, output)


def parse_sizes(text, n_inputs, n_outputs):
    """Layer widths from ``--sizes``: all of them (``"784,100,10"``, which must fit the
    data) or, with fewer than three entries, only the hidden ones (``"100"``)."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise OptionError(f"--sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise OptionError(f"--sizes must be positive integers, got {text!r}")
    if len(sizes) >= 2 and sizes[0] == n_inputs and sizes[-1] == n_outputs:
        return sizes
    if len(sizes) >= 3:
        raise OptionError(
            f"--sizes {text!r} does not fit the data, which has {n_inputs} inputs and "
            f"{n_outputs} outputs: give e.g. {n_inputs},100,{n_outputs}, or only the hidden "
            "widths"
        )
    return [n_inputs, *sizes, n_outputs]


def _physical_memory():
    """Bytes of RAM on this machine, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def _check_network_size(sizes, dtype):
    """Refuse a network whose training would not fit in this machine's memory."""
    n_params = sum(
        (fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False)
    )
    # The weights, their gradient and up to two optimizer state vectors.
    needed = 4 * n_params * np.dtype(dtype).itemsize
    memory = _physical_memory()
    if memory is not None and needed > memory:
        raise OptionError(
            f"--sizes: the network {sizes} has {n_params:,} parameters and needs about "
            f"{needed / 1e9:,.1f} GB to train, more than this machine's {memory / 1e9:.1f} GB"
        )


def _build_network(sizes, hidden, output, dtype, seed, init="he", dropout=0.0):
    """Return the MLP to train, or raise OptionError for a bad or oversized one."""
    from fastnn import MLP

    _check_network_size(sizes, dtype)
    try:
        if isinstance(dropout, list) and len(dropout) == 1:
            dropout = dropout[0]  # one rate for every hidden layer
        return MLP(
            sizes,
            hidden=hidden,
            output=output,
            init=init,
            dtype=dtype,
            seed=seed,
            dropout=dropout,
        )
    except (TypeError, ValueError) as error:
        raise OptionError(str(error)) from None
    except MemoryError:
        raise CommandError(f"--sizes: not enough memory for the network {sizes}") from None


# ------------------------------------------------------------------ commands


def _takes(name, parameter):
    """True if the optimizer called ``name`` has the hyper-parameter ``parameter``."""
    from fastnn import optimizers

    return parameter in inspect.signature(type(optimizers.get(name)).__init__).parameters


def _make_optimizer(name, lr, dtype, momentum=None, weight_decay=None):
    """Return the optimizer ``--optimizer``, ``--lr``, ``--momentum`` and ``--weight-decay``
    ask for (None: the optimizer's default), or raise OptionError."""
    from fastnn import optimizers

    if lr is not None:
        with np.errstate(over="ignore", under="ignore"):
            in_dtype = np.dtype(dtype).type(lr)
        if not (np.isfinite(in_dtype) and in_dtype > 0):
            raise OptionError(
                f"--lr {lr:g} is not a positive finite {dtype} (it becomes {in_dtype}); "
                f"give a learning rate such as 0.01"
            )
    hyper = {} if lr is None else {"lr": lr}
    try:
        optimizers.get(name)  # an unknown name first, with the list of known ones
        for option, parameter, value in (
            ("--momentum", "momentum", momentum),
            ("--weight-decay", "weight_decay", weight_decay),
        ):
            if value is None:
                continue
            if not _takes(name, parameter):
                having = [other for other in OPTIMIZER_NAMES if _takes(other, parameter)]
                raise OptionError(
                    f"{option}: the optimizer {name!r} has no {parameter}; these have: "
                    f"{', '.join(having)}"
                )
            hyper[parameter] = value
        return optimizers.get(name, **hyper)
    except (TypeError, ValueError) as error:
        raise OptionError(str(error)) from None


def _optimizer_names(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise OptionError(
            f"--optimizers {text!r} names no optimizer; give comma-separated names such as sgd,adam"
        )
    return names


def _epoch_line(epoch, history, validation_name):
    # .4g: a regression's loss of 3e-06 must not print as 0.0000.
    line = f"epoch {epoch:3d}  loss {history.loss[-1]:.4g}"
    if history.val_loss:
        line += f"  {validation_name} loss {history.val_loss[-1]:.4g}"
    if history.val_acc:
        line += f"  {validation_name} accuracy {history.val_acc[-1]:.4f}"
    if len(history.lr) > 1 and history.lr[-1] != history.lr[0]:
        line += f"  lr {history.lr[-1]:.3g}"
    return line


def _train_epochs(net, optimizer, task, args):
    """Train with one ``fit`` call whose callback keeps a copy of the network at the end
    of every complete epoch and prints the epoch's line as it ends.

    Returns ``(epochs_done, network_then, history, stop)``, where ``stop`` is None,
    "interrupted" (Ctrl-C) or "diverged"; the copy is None before the first epoch.
    """
    split = args.validation_split or 0.0
    validation = None
    if not split and task.X_test is not None:
        validation = (task.X_test, task.T_test)
    validation_name = "validation" if split else "test"
    # One tuple, assigned at once, so that Ctrl-C anywhere leaves a consistent one.
    last_good = (0, None, None)

    def keep(epoch, history, network):
        nonlocal last_good
        last_good = (epoch, copy.deepcopy(network), copy.deepcopy(history))
        print(_epoch_line(epoch, history, validation_name), flush=True)

    try:
        history = net.fit(
            task.X,
            task.T,
            optimizer=optimizer,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=validation,
            progress=_show_progress(args),
            validation_split=split,
            early_stopping=args.early_stopping is not None,
            patience=args.early_stopping or 0,
            monitor=args.monitor,
            schedule=_make_schedule(args.schedule, args.epochs),
            callbacks=[keep],
        )
    except KeyboardInterrupt:
        return (*last_good, "interrupted")
    except TrainingDivergedError:
        return (*last_good, "diverged")
    except (TypeError, ValueError) as error:  # data the checks above let through
        raise CommandError(str(error)) from None
    epochs_done = history.stopped_epoch or args.epochs
    if history.best_epoch is not None and history.best_epoch != epochs_done:
        # Without a stop, all epochs ran: early stopping only chose the weights kept.
        ran = (
            f"stopped early after epoch {epochs_done}"
            if history.stopped_epoch is not None
            else f"ran all {epochs_done} epochs"
        )
        print(
            f"{ran}; kept the weights of epoch {history.best_epoch}, "
            "the best on the validation rows",
            flush=True,
        )
    return epochs_done, net, history, None


# The forms --schedule takes: name, then up to two numbers after colons.
SCHEDULE_FORMS = (
    "step:EPOCHS[:GAMMA]",
    "exp:GAMMA",
    "cosine[:EPOCHS[:MIN_LR]]",
    "plateau[:FACTOR[:PATIENCE]]",
    "inverse-time:DECAY",
)


def _make_schedule(text, epochs):
    """The schedule ``--schedule`` names (see :data:`SCHEDULE_FORMS`), or None."""
    from fastnn import schedules

    if text is None:
        return None
    name, *numbers_given = text.split(":")
    forms = ", ".join(SCHEDULE_FORMS)
    try:
        values = [float(value) for value in numbers_given]
    except ValueError:
        raise OptionError(
            f"--schedule {text!r}: the numbers after ':' must be numbers; {forms}"
        ) from None
    whole = lambda value: int(value) if value == int(value) else value  # noqa: E731
    try:
        if name == "step" and 1 <= len(values) <= 2:
            return schedules.StepDecay(whole(values[0]), *values[1:])
        if name == "exp" and len(values) == 1:
            return schedules.ExponentialDecay(values[0])
        if name == "cosine" and len(values) <= 2:
            return schedules.CosineDecay(whole(values[0]) if values else epochs, *values[1:])
        if name == "plateau" and len(values) <= 2:
            arguments = dict(zip(("factor", "patience"), values, strict=False))
            if "patience" in arguments:
                arguments["patience"] = whole(arguments["patience"])
            return schedules.ReduceOnPlateau(monitor="loss", **arguments)
        if name == "inverse-time" and len(values) == 1:
            return schedules.InverseTimeDecay(values[0])
    except (TypeError, ValueError) as error:
        raise OptionError(f"--schedule {text!r}: {error}") from None
    raise OptionError(f"--schedule {text!r}: give one of {forms}")


def _write_outputs(net, history, args, task):
    """Write ``--save`` and ``--plot`` (paths checked before training); return what was."""
    written = []
    if args.save is not None:
        try:
            net.save(args.save)
        except OSError as error:
            raise CommandError(
                f"--save {args.save!r}: could not write the model ({error})"
            ) from None
        written.append(("model", args.save))
    if args.plot is not None:
        try:
            _plot_history(history, args.plot, net, task, args)
        except OSError as error:
            raise CommandError(
                f"--plot {args.plot!r}: could not write the chart ({error})"
            ) from None
        written.append(("chart", args.plot))
    return written


def _what_was_kept(epoch, net, history, args, task):
    """Write the outputs of an interrupted or diverged run; say what happened to them."""
    asked = " and ".join(path for path in (args.save, args.plot) if path is not None)
    if not asked:
        return "nothing saved (no --save given)"
    if net is None:
        return f"no epoch completed, so nothing was written to {asked}"
    written = _write_outputs(net, history, args, task)
    what = " and ".join(f"the {kind} to {path}" for kind, path in written)
    return f"saved {what} from the end of epoch {epoch}, the last complete one"


def train(args):
    """Train an MLP on a data set, with a progress bar per epoch.

    Ctrl-C (exit code 130) or a diverging loss (exit code 2) stops the run; --save
    and --plot are still written, from the end of the last complete epoch.
    """
    data_path = args.data if args.data not in DATA_NAMES else None
    if args.save is not None:
        check_output_file("--save", args.save, ".npz", "a NumPy .npz archive", data_path)
    if args.plot is not None:
        check_output_file("--plot", args.plot, _chart_suffixes(), "a chart", data_path)
    optimizer = _make_optimizer(
        args.optimizer, args.lr, args.dtype, args.momentum, args.weight_decay
    )
    task = _load_task(args)
    sizes = parse_sizes(args.sizes, task.X.shape[1], task.n_outputs)
    net = _build_network(
        sizes, args.hidden, task.output, args.dtype, args.seed, args.init, args.dropout
    )
    _make_schedule(args.schedule, args.epochs)  # a bad --schedule before the data is used
    if args.early_stopping is not None and not args.validation_split:
        raise OptionError(
            "--early-stopping watches the validation rows: give --validation-split too "
            "(stopping on the test set would tune to it)"
        )
    if args.monitor != "val_loss" and args.early_stopping is None:
        raise OptionError(
            f"--monitor {args.monitor} says what --early-stopping watches: give it too"
        )
    if args.monitor == "val_acc" and task.output == "identity":
        raise OptionError("--monitor val_acc needs classes; a regression has no accuracy")
    print(
        f"fastnn train: {task.description}, {len(task.X):,} training rows; {net}; {optimizer}; "
        f"batch size {args.batch_size}, {args.epochs} epochs",
        flush=True,
    )
    if task.note:
        print(f"note: {task.note}", flush=True)
    start = time.perf_counter()
    epochs_done, good_net, history, stop = _train_epochs(net, optimizer, task, args)
    seconds = max(time.perf_counter() - start, 1e-9)
    if stop is not None:
        kept = _what_was_kept(epochs_done, good_net, history, args, task)
        during = f"during epoch {epochs_done + 1} of {args.epochs}"
        if stop == "interrupted":
            print(f"fastnn train: interrupted {during}; {kept}", file=sys.stderr)
            return EXIT_INTERRUPTED
        raise CommandError(
            f"training diverged {during} (the loss or the weights became NaN or inf); try a "
            f"smaller --lr than {optimizer.lr:g}; {kept}"
        )
    print(
        f"trained in {seconds:.3g} s ({epochs_done * len(task.X) / seconds:,.0f} samples/s, "
        "including compilation on a first run)"
    )
    if args.validation_split and task.X_test is not None:
        loss, accuracy = net.evaluate(task.X_test, task.T_test)
        print(
            f"test loss {loss:.4g}"
            + ("" if accuracy is None else f"  test accuracy {accuracy:.4f}")
        )
    for kind, path in _write_outputs(net, history, args, task):
        print(f"saved the model to {path}" if kind == "model" else f"wrote {path}")
    return 0


def _chart_suffixes():
    """The suffixes ``--plot`` accepts: each names the format written."""
    from fastnn import plot

    return tuple(plot.SAVE_FORMATS)


def _plot_history(history, path, net, task, args):
    """The accuracy chart (the loss chart of a regression), titled with what was trained."""
    from fastnn import plot

    optimizer = net.optimizer_
    if args.schedule is not None and history.lr:
        # A schedule leaves the optimizer at its last epoch's rate (as torch's schedulers
        # do); the title gives the rate the run started from, and the schedule.
        optimizer = copy.copy(optimizer)
        optimizer.lr = history.lr[0]
        optimizer = f"{plot._describe_optimizer(optimizer)} ({args.schedule} schedule)"
    trained = plot.describe_training(
        net, optimizer, batch_size=args.batch_size, data=task.description
    )
    # The second curve is the held-out rows with --validation-split, else the test set.
    held_out = "validation" if args.validation_split else "test"
    if task.is_regression:
        title = f"loss per epoch\n{trained}"
        # A regression's loss falls by decades: a linear axis would show one drop to 0.
        plot.plot_loss(history, path=path, title=title, validation_label=held_out, log=True)
    else:
        title = f"accuracy per epoch\n{trained}"
        plot.plot_accuracy(history, path=path, title=title, validation_label=held_out)


def compare(args):
    """Train one network with each optimizer of the family and plot the curves."""
    from fastnn import plot

    names = _optimizer_names(args.optimizers)
    family = {name: _make_optimizer(name, None, args.dtype) for name in names}
    data_path = args.data if args.data not in DATA_NAMES else None
    check_output_file("--plot", args.plot, _chart_suffixes(), "a chart", data_path)
    task = _load_task(args)
    X, T = task.X, task.T
    if args.rows:
        X, T = X[: args.rows], T[: args.rows]
    sizes = parse_sizes(args.sizes, X.shape[1], task.n_outputs)
    _check_network_size(sizes, args.dtype)
    print(
        f"fastnn compare-optimizers: {task.description}, {len(X):,} rows, sizes {sizes}, "
        f"batch size {args.batch_size}, {args.epochs} epochs"
    )
    from fastnn import sweep

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
            validation_data=(task.X_test, task.T_test) if task.X_test is not None else None,
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
                f"({result.message.split(';')[0]})",
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
        shape, batch_size=args.batch_size, data=f"{task.description}, {len(X):,} rows"
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


# ------------------------------------------------------------------ predict, evaluate


def _load_model(path):
    """The model of ``--model``, or a CommandError saying what is wrong with the file."""
    from fastnn import MLP

    try:
        return MLP.load(path)
    except (FileNotFoundError, ValueError, OSError) as error:
        raise CommandError(f"--model {error}") from None


def _read_inputs_npy(path):
    """Read a ``.npy`` file of inputs; never unpickles, never allocates more than the file.

    The header is read first, and its declared size checked against the bytes the
    file holds, so that a crafted header cannot ask for a huge array.
    """
    from fastnn.datasets import _open_regular_file

    try:
        stream = _open_regular_file(path)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such data file") from None
    except (OSError, ValueError) as error:
        raise CommandError(f"{path}: cannot read the data file ({error})") from None
    with stream:
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            available = os.fstat(stream.fileno()).st_size - stream.tell()
            if dtype.hasobject:
                raise ValueError("it holds Python objects, which are never unpickled")
            declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if declared > available:
                raise ValueError(
                    f"its header declares {shape} {dtype} ({declared:,} bytes) but only "
                    f"{available:,} bytes follow: truncated or corrupt"
                )
            stream.seek(0)
            return np.load(stream, allow_pickle=False)
        except (ValueError, OSError, EOFError, SyntaxError, TypeError) as error:
            raise CommandError(f"{path}: not a readable .npy array ({error})") from None


def _model_data(args, net, need_targets):
    """Return ``(X, T, description)`` of ``--data`` and ``--split`` for ``net``.

    ``T`` is None for a ``.npy`` of inputs. Inputs are checked and cast to the
    network's dtype; the targets are left for the network to check, as ``fit``
    does (integer or whole-number float labels, one-hot rows, targets).
    """
    dtype = net.dtype.name
    if args.data.endswith(".npy"):
        if need_targets:
            raise OptionError(
                f"--data {args.data}: a .npy file holds inputs only, and evaluate needs "
                "targets: give a PATH.npz with x_test and t_test (or x_train and t_train)"
            )
        if args.split is not None:
            raise OptionError("--split picks a split of a data set; a .npy file has none")
        X, T, name, description = _read_inputs_npy(args.data), None, "the inputs", args.data
    else:
        X_train, T_train, X_test, T_test, source = load_data(args.data, dtype, seed=0)
        split = args.split or ("test" if X_test is not None else "train")
        if split == "test" and X_test is None:
            raise CommandError(
                f"{source}: no test split (x_test, t_test); give --split train to use x_train"
            )
        X, T = (X_test, T_test) if split == "test" else (X_train, T_train)
        name, description = f"x_{split}", f"the {split} split of {source}"
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise CommandError(f"{description}: {name} must hold real numbers, got {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0:
        raise CommandError(
            f"{description}: {name} must be 2-D (samples, features) with at least one row, "
            f"got shape {X.shape}"
        )
    X = _finite(name, X, dtype, description)
    if T is not None:
        T = np.asarray(T)
        if T.ndim == 2 and T.shape[1] == 1 and net.sizes[-1] != 1:  # a column of labels
            T = T[:, 0]
    return X, T, description


def _prediction_columns(net, X, Y):
    """The ``--out .csv`` table of predictions ``Y``: (header, columns, formats)."""
    digits = "%.9g" if net.dtype == np.float32 else "%.17g"  # enough to read back exactly
    k = Y.shape[1]
    numbered = (lambda stem: [stem]) if k == 1 else (lambda stem: [f"{stem}{j}" for j in range(k)])
    if net.output == "softmax":
        classes = net.predict_classes(X)[:, None]
        return ["class", *(f"p{j}" for j in range(k))], [classes, Y], ["%d"] + [digits] * k
    if net.output == "sigmoid":
        labels = net.predict_classes(X).reshape(len(X), k)
        header = [*numbered("label"), *numbered("p")]
        return header, [labels, Y], ["%d"] * k + [digits] * k
    return numbered("y"), [Y], [digits] * k


def _write_predictions(path, net, X, Y):
    from fastnn.io.atomic import atomic_write

    with atomic_write(path) as stream:
        if Path(path).suffix.lower() == ".npy":
            np.save(stream, Y, allow_pickle=False)
            return
        header, columns, formats = _prediction_columns(net, X, Y)
        table = np.hstack([np.asarray(column, dtype=np.float64) for column in columns])
        text = ",".join(header) + "\n"
        text += "".join(
            ",".join(f % v for f, v in zip(formats, row, strict=True)) + "\n" for row in table
        )
        stream.write(text.encode())


def _print_prediction_summary(net, X, Y):
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


def predict(args):
    """Predict with a model saved by fastnn train --save (or MLP.save): print a summary,
    or write every prediction with --out, as .npy (what MLP.predict returns: the class
    probabilities, or the regression outputs) or as .csv (a header row; a classifier's
    predicted class first, then the probabilities). --data is a data set as for train
    (its test split unless --split train), or a PATH.npy of inputs."""
    data_path = args.data if args.data not in DATA_NAMES else None
    if args.out is not None:
        check_output_file(
            "--out", args.out, (".npy", ".csv"), "a NumPy array or a CSV table", data_path
        )
    net = _load_model(args.model)
    X, _, description = _model_data(args, net, need_targets=False)
    try:
        Y = net.predict(X)
    except (TypeError, ValueError) as error:
        raise CommandError(f"{description}: {error}") from None
    print(f"fastnn predict: {net} on {description}, {len(X):,} rows", flush=True)
    if args.out is None:
        _print_prediction_summary(net, X, Y)
        return 0
    try:
        _write_predictions(args.out, net, X, Y)
    except OSError as error:
        raise CommandError(
            f"--out {args.out!r}: could not write the predictions ({error})"
        ) from None
    print(f"wrote {args.out} ({Y.shape[0]:,} rows)")
    return 0


def evaluate(args):
    """Print the loss and accuracy (for a regression, the loss and R^2) of a model saved
    by fastnn train --save (or MLP.save) on a data set: as for train, its test split
    unless --split train."""
    net = _load_model(args.model)
    X, T, description = _model_data(args, net, need_targets=True)
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


def _add_model_and_data(sub, also):
    sub.add_argument(
        "--model", required=True, metavar="MODEL.npz", help="a model saved by train --save"
    )
    sub.add_argument(
        "--data",
        type=_model_data_argument,
        required=True,
        help=f"{', '.join(DATA_NAMES)}, {also}or a PATH.npz with x_train, t_train[, x_test, "
        "t_test]",
    )
    sub.add_argument(
        "--split",
        choices=("test", "train"),
        default=None,
        help="which split of --data (default: test, or train when there is no test split)",
    )


def _list_of(option, text, convert, what):
    """Comma-separated values of ``option``, each converted, or a CommandError."""
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


SWEEP_FILES = {"csv": "results.csv", "markdown": "results.md", "chart": "comparison.png"}


def _sweep_configs(args, task):
    """The grid of ``fastnn sweep``: layouts x optimizers x learning rates x seeds x batches."""
    layouts = [parse_sizes(text, task.X.shape[1], task.n_outputs) for text in args.sizes]
    for sizes in layouts:
        _check_network_size(sizes, args.dtype)
    names = _list_of("--optimizer", args.optimizer, str, "names such as sgd,adam")
    rates = [None] if args.lr is None else _list_of("--lr", args.lr, _positive_float, "numbers")
    for name in names:
        for lr in rates:
            _make_optimizer(name, lr, args.dtype)  # a bad name or lr fails before any work
    seeds = _list_of("--seeds", args.seeds, _non_negative_int_argument, "integers >= 0")
    batches = _list_of("--batch-size", args.batch_size, positive_int_argument, "positive integers")
    output = task.output
    configs = []
    for sizes, name, lr, seed, batch in itertools.product(layouts, names, rates, seeds, batches):
        config = {"sizes": sizes, "hidden": args.hidden, "output": output, "dtype": args.dtype}
        config["optimizer"] = name
        if lr is not None:
            config["lr"] = lr
        config.update(seed=seed, batch_size=batch)
        configs.append(config)
    return configs


def _sweep_client(scheduler):
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


def _print_sweep_table(results, is_regression):
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


def _sweep_title(results, configs, task, n_rows, epochs):
    """The chart's title: how many configurations, of which networks, on which data."""
    layouts = dict.fromkeys(
        "-".join(str(size) for size in config["sizes"]) + f" {config['hidden']}/{config['output']}"
        for config in configs
    )
    return (
        f"sweep of {len(results)} configurations, {epochs} epochs each\n"
        f"{', '.join(layouts)}, {task.description}, {n_rows:,} rows"
    )


def sweep_command(args):
    """Train a grid of configurations (layouts, optimizers, learning rates, seeds, batch
    sizes) at once, on this machine's cores or a Dask cluster; print and write the
    results table (CSV and Markdown) and the comparison chart."""
    from fastnn import sweep

    data_path = args.data if args.data not in DATA_NAMES else None
    out = prepare_output_dir("--out", args.out)
    kinds = {"csv": ("a CSV table", ".csv"), "markdown": ("a Markdown table", ".md")}
    kinds["chart"] = ("a PNG image", ".png")
    for kind, name in SWEEP_FILES.items():
        what, suffix = kinds[kind]
        check_output_file("--out", out / name, suffix, what, data_path)
    client = _sweep_client(args.scheduler)
    # The regression data set is drawn from seed 0: the seeds vary the networks.
    task = prepare_data(*load_data(args.data, args.dtype, 0), args.dtype)
    X, T = task.X, task.T
    if args.rows:
        X, T = X[: args.rows], T[: args.rows]
    configs = _sweep_configs(args, task)
    validation = (task.X_test, task.T_test) if task.X_test is not None else None
    where = "this machine" if client is None else f"Dask ({args.scheduler})"
    print(
        f"fastnn sweep: {task.description}, {len(X):,} rows, {len(configs)} configurations, "
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
            progress=_show_progress(args),
        )
    except (TypeError, ValueError, ImportError) as error:
        raise CommandError(str(error)) from None
    except OSError as error:  # a scheduler address that does not answer
        raise CommandError(f"--scheduler {args.scheduler}: {error}") from None
    _print_sweep_table(results, task.is_regression)
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
                title=_sweep_title(results, configs, task, len(X), args.epochs),
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


def demo(args):
    """Train the course's regression per sample and a digits classifier; write charts."""
    out = prepare_output_dir("--out", args.out)
    try:
        return _demo(args, out)
    except TrainingDivergedError:
        raise CommandError(
            f"the regression diverged with --lr {args.lr:g}; try a smaller one (default 0.07)"
        ) from None


def _demo(args, out):
    from fastnn import MLP, datasets, optimizers, plot

    X, y = datasets.make_regression(args.samples, seed=0)
    X_test, y_test = datasets.make_regression(2000, seed=1)
    print(
        f"1. The course's regression y = 3*x0 + 2*x1: 2-10-1 ReLU network, per-sample "
        f"SGD (lr={args.lr}) over {args.samples:,} samples"
    )
    start = time.perf_counter()
    # Compile (or load) the loop generated for this layout, which fits of this size use.
    warm = MLP([2, 10, 1], output="identity", dtype="float64", specialise=True)
    warm.fit(X[:2], y[:2], optimizer=optimizers.SGD(lr=args.lr))
    compile_seconds = time.perf_counter() - start
    net = MLP([2, 10, 1], hidden="relu", output="identity", dtype="float64", seed=0)
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

    print("2. Digits (8x8, UCI, shipped with fastnn): 64-64-10 ReLU/softmax, per-sample SGD")
    (Xd, yd), (Xd_test, yd_test) = datasets.load_digits()
    sgd = optimizers.SGD(lr=0.05)
    start = time.perf_counter()
    # Compile (or load) what the fit below runs: the per-sample loop of this
    # dtype (under 10,000 rows: the generic one) and the validation pass.
    warm = MLP([64, 64, 10], hidden="relu", output="softmax")
    warm.fit(Xd[:2], yd[:2], optimizer=optimizers.SGD(lr=0.05), validation_data=(Xd[:2], yd[:2]))
    compile_seconds = time.perf_counter() - start
    clf = MLP([64, 64, 10], hidden="relu", output="softmax", seed=0)
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


def _non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}") from None
    if not value >= 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def _init_argument(text):
    if text in ("he", "xavier"):
        return text
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"must be he, xavier or a positive standard deviation such as 0.01, got {text!r}"
        )
    return value


def _model_data_argument(text):
    if text in DATA_NAMES or text.endswith((".npz", ".npy")):
        return text
    raise argparse.ArgumentTypeError(
        f"must be one of {', '.join(DATA_NAMES)}, a PATH.npz or a PATH.npy file, got {text!r}"
    )


def _jobs_argument(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be -1 (all cores) or >= 1, got {text!r}") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be -1 (all cores) or >= 1, got {text!r}")
    return value


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
    sub.add_argument(
        "--seed", type=_non_negative_int_argument, default=0, help="random seed (default: 0)"
    )
    sub.add_argument("--dtype", choices=("float32", "float64"), default="float32")


def build_parser():
    """Return the argument parser of the ``fastnn`` command."""
    parser = argparse.ArgumentParser(
        prog="fastnn",
        description="Small neural networks from scratch, compiled by Numba.",
        epilog="Exit codes: 0 done; 2 bad arguments or data, an output path that cannot be "
        "written, or training that diverged (one line on stderr); 130 interrupted (Ctrl-C).",
    )
    from fastnn import __version__

    parser.add_argument("--version", action="version", version=f"fastnn {__version__}")
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
    demo_parser.set_defaults(run=demo, parser=demo_parser)

    train_parser = commands.add_parser(
        "train",
        help="train a network on a data set",
        description=" ".join(train.__doc__.split()),
    )
    _add_common(train_parser, "100")
    train_parser.add_argument(
        "--output",
        choices=OUTPUTS,
        default=None,
        help="output layer: softmax (classes), sigmoid (0/1 labels, one column each) or "
        "identity (regression); default: from the targets, as MLP.fit reads them (integer "
        "labels, or whole numbers stored as floats, are classes)",
    )
    train_parser.add_argument(
        "--init",
        type=_init_argument,
        default="he",
        help="weight initialisation: he, xavier or a standard deviation (default: he)",
    )
    train_parser.add_argument(
        "--optimizer",
        default="sgd",
        help=f"{', '.join(OPTIMIZER_NAMES)} (default: sgd)",
    )
    train_parser.add_argument(
        "--lr", type=_positive_float, default=None, help="learning rate (default: the optimizer's)"
    )
    train_parser.add_argument(
        "--momentum",
        type=_non_negative_float,
        default=None,
        help="momentum of sgd, momentum, nesterov or rmsprop (default: the optimizer's)",
    )
    train_parser.add_argument(
        "--weight-decay",
        type=_non_negative_float,
        default=None,
        help="L2 weight decay (decoupled for adamw; default: the optimizer's)",
    )
    train_parser.add_argument(
        "--dropout",
        type=_rates_argument,
        default=0.0,
        metavar="RATE[,RATE...]",
        help="dropout rate of the hidden layers, one or one per layer (default: 0)",
    )
    train_parser.add_argument(
        "--validation-split",
        type=_fraction_argument,
        default=0.0,
        metavar="FRACTION",
        help="hold out this fraction of the training rows to validate on (default: 0)",
    )
    train_parser.add_argument(
        "--early-stopping",
        type=_non_negative_int_argument,
        default=None,
        metavar="PATIENCE",
        help="stop when the validation loss (or --monitor) has not improved for PATIENCE "
        "epochs, keeping the best epoch's weights (needs --validation-split)",
    )
    train_parser.add_argument(
        "--monitor",
        choices=("val_loss", "val_acc"),
        default="val_loss",
        help="what --early-stopping watches: the validation loss, or the validation "
        "accuracy of a classifier (default: val_loss)",
    )
    train_parser.add_argument(
        "--schedule",
        default=None,
        metavar="SPEC",
        help=f"learning-rate schedule: {', '.join(SCHEDULE_FORMS)}",
    )
    train_parser.add_argument("--save", metavar="MODEL.npz", help="save the trained model")
    train_parser.add_argument(
        "--plot",
        metavar="OUT.png",
        help="write the accuracy (or loss) chart: .png, .jpg, .svg or .pdf",
    )
    train_parser.add_argument(
        "--quiet", action="store_true", help="no progress bars (never drawn when stderr is a file)"
    )
    train_parser.set_defaults(run=train, parser=train_parser)

    predict_parser = commands.add_parser(
        "predict",
        help="predict with a saved model",
        description=" ".join(predict.__doc__.split()),
    )
    _add_model_and_data(predict_parser, "PATH.npy, ")
    predict_parser.add_argument(
        "--out",
        metavar="OUT.npy|OUT.csv",
        default=None,
        help="write the predictions there (default: print a summary)",
    )
    predict_parser.set_defaults(run=predict, parser=predict_parser)

    evaluate_parser = commands.add_parser(
        "evaluate",
        help="loss and accuracy of a saved model on a data set",
        description=" ".join(evaluate.__doc__.split()),
    )
    _add_model_and_data(evaluate_parser, "")
    evaluate_parser.set_defaults(run=evaluate, parser=evaluate_parser)

    compare_parser = commands.add_parser(
        "compare-optimizers",
        help="train the optimizer family on one task and plot it",
        description=compare.__doc__,
    )
    _add_common(compare_parser, "50")
    compare_parser.add_argument(
        "--optimizers",
        default=",".join(OPTIMIZER_NAMES),
        help=f"comma-separated names (default: the whole family, {','.join(OPTIMIZER_NAMES)})",
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
        help="where to write the chart: .png, .jpg, .svg or .pdf (default: optimizers.png)",
    )
    compare_parser.add_argument(
        "--jobs",
        type=_jobs_argument,
        default=1,
        help="optimizers trained at once, one core each; -1 for all cores (default: 1)",
    )
    compare_parser.set_defaults(run=compare, parser=compare_parser)

    sweep_parser = commands.add_parser(
        "sweep",
        help="train a grid of configurations at once, on all cores or a Dask cluster",
        description=" ".join(sweep_command.__doc__.split()),
    )
    sweep_parser.add_argument(
        "--data",
        type=_data_argument,
        default="digits",
        help="regression, digits, mnist, fashion-mnist, or a PATH.npz (default: digits)",
    )
    sweep_parser.add_argument(
        "--sizes",
        nargs="+",
        default=["50"],
        metavar="SIZES",
        help="one or more layouts, each comma-separated widths (784,40,10) or only the hidden "
        "ones (40); e.g. --sizes 784,40,10 784,100,10 (default: 50)",
    )
    sweep_parser.add_argument("--hidden", default="relu", help="hidden activation (default: relu)")
    sweep_parser.add_argument(
        "--optimizer", default="sgd", help="comma-separated optimizer names (default: sgd)"
    )
    sweep_parser.add_argument(
        "--lr", default=None, help="comma-separated learning rates (default: each optimizer's)"
    )
    sweep_parser.add_argument(
        "--seeds", default="0", help="comma-separated seeds, one network each (default: 0)"
    )
    sweep_parser.add_argument(
        "--batch-size",
        default="1",
        help="comma-separated batch sizes; 1 is per-sample SGD (default: 1)",
    )
    sweep_parser.add_argument(
        "--epochs", type=positive_int_argument, default=5, help="epochs (default: 5)"
    )
    sweep_parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    sweep_parser.add_argument(
        "--rows", type=positive_int_argument, default=None, help="use only the first ROWS rows"
    )
    sweep_parser.add_argument(
        "--jobs",
        type=_jobs_argument,
        default=-1,
        help="threads on this machine, or worker processes with --scheduler local; -1 for "
        "all cores (default: -1)",
    )
    sweep_parser.add_argument(
        "--scheduler",
        metavar="local|ADDRESS",
        default=None,
        help="run on Dask: 'local' starts a cluster of --jobs processes, or give a scheduler "
        "address such as tcp://10.0.0.1:8786 (needs pip install 'fastnn[dask]')",
    )
    sweep_parser.add_argument(
        "--out",
        default="fastnn-sweep",
        help="folder for results.csv, results.md and comparison.png (default: ./fastnn-sweep)",
    )
    sweep_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep_parser.set_defaults(run=sweep_command, parser=sweep_parser)

    from fastnn import benchmark

    bench_parser = commands.add_parser(
        "bench",
        help="measure fastnn against its NumPy reference, PyTorch and scikit-learn",
        description=benchmark.__doc__.splitlines()[0],
    )
    benchmark.add_arguments(bench_parser)
    bench_parser.set_defaults(run=bench, parser=bench_parser)
    return parser


def bench(args):
    """Run ``fastnn bench`` once its output folder is known to accept files."""
    from fastnn import benchmark

    prepare_output_dir("--out", args.out)
    return benchmark.run(args, "fastnn bench")


def _silence_stdout():
    """After a broken pipe, point stdout at /dev/null so the exit's flush cannot fail."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv=None):
    """Run the command line; return the exit code (see the module's docstring).

    A user error exits (``SystemExit``) with code 2 and one line on stderr, as
    argparse does for bad arguments.
    """
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    # The command's own parser reports its errors, with its usage (argparse would
    # report unknown options with the top-level usage).
    command_parser = getattr(args, "parser", parser)
    if unknown:
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return args.run(args)
    except OptionError as error:
        command_parser.error(str(error))
    except (CommandError, TrainingDivergedError) as error:
        parser.exit(EXIT_ERROR, f"fastnn {args.command}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(EXIT_INTERRUPTED, f"fastnn {args.command}: interrupted\n")
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
