"""The ``fastnn`` command line: ``demo``, ``train``, ``compare-optimizers``, ``sweep``, ``bench``.

Exit codes: 0 when the command did its work; 2 for a user error (bad arguments, bad
data, an output path that cannot be written, training that diverged), reported on
one line without a traceback; 130 when interrupted with Ctrl-C; 141 when standard
output was closed early (``fastnn train | head``), as for a process killed by SIGPIPE.
"""

import argparse
import contextlib
import copy
import dataclasses
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fastnn._checks import positive_int_argument
from fastnn.model import History, TrainingDivergedError

__all__ = ["main", "build_parser"]

DATA_NAMES = ("regression", "digits", "mnist", "fashion-mnist")
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
# Integer labels name classes 0..K-1 and K is the output layer's width: a stray label
# of 10**9 would otherwise ask for a network of billions of weights.
MAX_CLASSES = 10_000


class CommandError(Exception):
    """A user error: reported on one line with exit code 2, without a traceback."""


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


def check_output_file(option, path, suffix, kind, data_path=None):
    """Refuse, before any training, an output file that could not be written.

    Parameters
    ----------
    option : str
        The option that named the file, for the message (``"--save"``).
    path : str or os.PathLike
    suffix : str
        The suffix the writer produces (``".npz"``, ``".png"``).
    kind : str
        What the writer writes, for the message (``"a NumPy .npz archive"``).
    data_path : str, optional
        The data file being read, which the output must not overwrite.

    Raises
    ------
    CommandError
        If ``path`` is a folder or another non-regular file, does not end with
        ``suffix``, its folder does not exist or does not accept a new file, or it
        is the data file.
    """
    text = os.fspath(path)
    if not text:
        raise CommandError(f"{option} needs a file name ending with {suffix}")
    target = Path(text)
    if text.endswith(("/", os.sep)) or target.is_dir():
        raise CommandError(
            f"{option} {text!r} is a folder; give a file name such as "
            f"{os.path.join(text, 'out' + suffix)!r}"
        )
    if target.suffix.lower() != suffix:
        raise CommandError(f"{option} {text!r}: the name must end with {suffix} ({kind})")
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


def prepare_data(X, T, X_test, T_test, description, dtype):
    """Check a data set for training and decide the task; return a :class:`Task`.

    Integer 1-D labels (or one column) make a classifier with one output per class;
    2-D rows that are one-hot (or probabilities) make a classifier too; float
    targets make a regression with one output per column.

    Raises
    ------
    CommandError
        Naming the data set, the array and the row of the first bad value.
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
    if T.ndim == 1 and T.dtype.kind in "iu":
        T = _class_labels("t_train", T, source)
        T_test = _class_labels("t_test", T_test, source) if has_test else None
        n_outputs = int(max(T.max(), T_test.max() if has_test else 0)) + 1
        if n_outputs < 2:
            raise CommandError(
                f"{source}: t_train has only one class (label 0); a classifier needs at least two"
            )
        return Task(X, T, X_test, T_test, False, n_outputs, description)
    T = _finite("t_train", T, dtype, source)
    T_test = _finite("t_test", T_test, dtype, source) if has_test else None
    if T.ndim == 1:
        return Task(X, T, X_test, T_test, True, 1, description)
    if _is_distribution(T):
        if has_test and not _is_distribution(T_test):
            raise CommandError(
                f"{source}: t_train holds one-hot rows but t_test does not; give t_test "
                "the same form"
            )
        return Task(X, T, X_test, T_test, False, T.shape[1], description)
    return Task(X, T, X_test, T_test, True, T.shape[1], description)


def _load_task(args):
    X, T, X_test, T_test, description = load_data(args.data, args.dtype, args.seed)
    return prepare_data(X, T, X_test, T_test, description, args.dtype)


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
        raise CommandError(
            f"--sizes: the network {sizes} has {n_params:,} parameters and needs about "
            f"{needed / 1e9:,.1f} GB to train, more than this machine's {memory / 1e9:.1f} GB"
        )


def _build_network(sizes, hidden, is_regression, dtype, seed):
    """Return the MLP to train, or raise CommandError for a bad or oversized one."""
    from fastnn import MLP

    _check_network_size(sizes, dtype)
    output = "identity" if is_regression else "softmax"
    try:
        return MLP(sizes, hidden=hidden, output=output, dtype=dtype, seed=seed)
    except (TypeError, ValueError) as error:
        raise CommandError(str(error)) from None
    except MemoryError:
        raise CommandError(f"--sizes: not enough memory for the network {sizes}") from None


# ------------------------------------------------------------------ commands


def _make_optimizer(name, lr, dtype):
    from fastnn import optimizers

    if lr is not None:
        with np.errstate(over="ignore", under="ignore"):
            in_dtype = np.dtype(dtype).type(lr)
        if not (np.isfinite(in_dtype) and in_dtype > 0):
            raise CommandError(
                f"--lr {lr:g} is not a positive finite {dtype} (it becomes {in_dtype}); "
                f"give a learning rate such as 0.01"
            )
    hyper = {} if lr is None else {"lr": lr}
    try:
        return optimizers.get(name, **hyper)
    except (TypeError, ValueError) as error:
        raise CommandError(str(error)) from None


def _optimizer_names(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise CommandError(
            f"--optimizers {text!r} names no optimizer; give comma-separated names such as sgd,adam"
        )
    return names


@contextlib.contextmanager
def _epoch_label(epoch, epochs):
    """Label ``fit``'s progress bar with the run's epoch ("epoch 3/20"), not "epoch 1/1".

    ``train`` calls ``fit`` once per epoch, and ``fit`` numbers its bar by its own
    epochs; its bar factory is wrapped while the call runs.
    """
    from fastnn import model

    make_bar = getattr(model, "_progress_bar", None)
    if make_bar is None:
        yield
        return
    model._progress_bar = lambda n_rows, _epoch, _epochs: make_bar(n_rows, epoch, epochs)
    try:
        yield
    finally:
        model._progress_bar = make_bar


def _joined(histories):
    """One :class:`History` with the epochs of ``histories`` in order."""
    joined = History()
    for history in histories:
        for field in dataclasses.fields(History):
            value = getattr(history, field.name)
            if isinstance(value, list):  # per-epoch lists; not the epoch markers
                getattr(joined, field.name).extend(value)
    return joined


def _epoch_line(epoch, history):
    line = f"epoch {epoch:3d}  loss {history.loss[-1]:.4f}"
    if history.val_loss:
        line += f"  test loss {history.val_loss[-1]:.4f}"
    if history.val_acc:
        line += f"  test accuracy {history.val_acc[-1]:.4f}"
    return line


def _train_epochs(net, optimizer, task, args):
    """Train ``args.epochs`` epochs, one ``fit`` call each, keeping a copy of the
    network at the end of every complete epoch.

    ``fit(epochs=1)`` k times trains exactly as ``fit(epochs=k)`` does. Returns
    ``(epochs_done, network_then, histories, stop)``, where ``stop`` is None,
    "interrupted" (Ctrl-C) or "diverged"; the copy is None before the first epoch.
    """
    validation = (task.X_test, task.T_test) if task.X_test is not None else None
    # One tuple, assigned at once, so that Ctrl-C anywhere leaves a consistent one.
    last_good = (0, None, ())
    try:
        for epoch in range(1, args.epochs + 1):
            with _epoch_label(epoch, args.epochs):
                history = net.fit(
                    task.X,
                    task.T,
                    optimizer=optimizer,
                    epochs=1,
                    batch_size=args.batch_size,
                    validation_data=validation,
                    progress=not args.quiet,
                )
            last_good = (epoch, copy.deepcopy(net), (*last_good[2], history))
            print(_epoch_line(epoch, history), flush=True)
    except KeyboardInterrupt:
        return (*last_good, "interrupted")
    except TrainingDivergedError:
        return (*last_good, "diverged")
    except (TypeError, ValueError) as error:  # data the checks above let through
        raise CommandError(str(error)) from None
    return (*last_good, None)


def _write_outputs(net, history, args, is_regression):
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
            _plot_history(history, args.plot, is_regression)
        except OSError as error:
            raise CommandError(
                f"--plot {args.plot!r}: could not write the chart ({error})"
            ) from None
        written.append(("chart", args.plot))
    return written


def _what_was_kept(epoch, net, history, args, is_regression):
    """Write the outputs of an interrupted or diverged run; say what happened to them."""
    asked = " and ".join(path for path in (args.save, args.plot) if path is not None)
    if not asked:
        return "nothing saved (no --save given)"
    if net is None:
        return f"no epoch completed, so nothing was written to {asked}"
    written = _write_outputs(net, history, args, is_regression)
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
        check_output_file("--plot", args.plot, ".png", "a PNG image", data_path)
    task = _load_task(args)
    sizes = parse_sizes(args.sizes, task.X.shape[1], task.n_outputs)
    net = _build_network(sizes, args.hidden, task.is_regression, args.dtype, args.seed)
    optimizer = _make_optimizer(args.optimizer, args.lr, args.dtype)
    print(
        f"fastnn train: {task.description}, {len(task.X):,} training rows; {net}; {optimizer}; "
        f"batch size {args.batch_size}, {args.epochs} epochs",
        flush=True,
    )
    start = time.perf_counter()
    epochs_done, good_net, histories, stop = _train_epochs(net, optimizer, task, args)
    seconds = max(time.perf_counter() - start, 1e-9)
    history = _joined(histories)
    if stop is not None:
        kept = _what_was_kept(epochs_done, good_net, history, args, task.is_regression)
        during = f"during epoch {epochs_done + 1} of {args.epochs}"
        if stop == "interrupted":
            print(f"fastnn train: interrupted {during}; {kept}", file=sys.stderr)
            return EXIT_INTERRUPTED
        raise CommandError(
            f"training diverged {during} (the loss or the weights became NaN or inf); try a "
            f"smaller --lr than {optimizer.lr:g}; {kept}"
        )
    print(
        f"trained in {seconds:.1f} s ({epochs_done * len(task.X) / seconds:,.0f} samples/s, "
        "including compilation on a first run)"
    )
    for kind, path in _write_outputs(net, history, args, task.is_regression):
        print(f"saved the model to {path}" if kind == "model" else f"wrote {path}")
    return 0


def _plot_history(history, path, is_regression):
    from fastnn import plot

    if is_regression:
        plot.plot_loss(history, path=path)
    else:
        plot.plot_accuracy(history, path=path)


def compare(args):
    """Train one network with each optimizer of the family and plot the curves."""
    from fastnn import plot

    names = _optimizer_names(args.optimizers)
    family = {name: _make_optimizer(name, None, args.dtype) for name in names}
    data_path = args.data if args.data not in DATA_NAMES else None
    check_output_file("--plot", args.plot, ".png", "a PNG image", data_path)
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
    network["output"] = "identity" if task.is_regression else "softmax"
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
        line = f"{name:>10s}  final loss {history.loss[-1]:.4f}"
        if history.val_acc:
            line += f"  test accuracy {history.val_acc[-1]:.4f}"
        print(line)
    try:
        plot.plot_comparison(
            histories, metric="loss", path=args.plot, title=f"optimizers on {task.description}"
        )
    except OSError as error:
        raise CommandError(f"--plot {args.plot!r}: could not write the chart ({error})") from None
    print(f"wrote {args.plot}")
    return 0


def _list_of(option, text, convert, what):
    """Comma-separated values of ``option``, each converted, or a CommandError."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise CommandError(f"{option} {text!r} names no value; give comma-separated {what}")
    values = []
    for part in parts:
        try:
            values.append(convert(part))
        except (argparse.ArgumentTypeError, ValueError) as error:
            raise CommandError(f"{option} {error}") from None
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
    seeds = _list_of("--seeds", args.seeds, _seed_argument, "integers >= 0")
    batches = _list_of("--batch-size", args.batch_size, positive_int_argument, "positive integers")
    output = "identity" if task.is_regression else "softmax"
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
    columns += [("epochs", "epochs", 6, "d"), ("loss", "loss", 8, ".4f")]
    columns += [("test loss", "val_loss", 9, ".4f")]
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
            progress=not args.quiet,
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
        print(f"best by {metric}: #{best.index} {best.name} ({getattr(best, metric):.4f})")
    written = [out / SWEEP_FILES["csv"], out / SWEEP_FILES["markdown"]]
    if results.histories():  # unless no configuration completed an epoch
        chart = out / SWEEP_FILES["chart"]
        try:
            results.plot(metric, path=chart, title=f"sweep on {task.description}")
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
    start = time.perf_counter()
    history = net.fit(X, y, optimizer=optimizers.SGD(lr=args.lr), epochs=1, batch_size=1)
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


def _seed_argument(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


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
    sub.add_argument("--seed", type=_seed_argument, default=0, help="random seed (default: 0)")
    sub.add_argument("--dtype", choices=("float32", "float64"), default="float32")


def build_parser():
    """Return the argument parser of the ``fastnn`` command."""
    parser = argparse.ArgumentParser(
        prog="fastnn",
        description="Small neural networks from scratch, compiled by Numba.",
        epilog="Exit codes: 0 done; 2 bad arguments or data, an output path that cannot be "
        "written, or training that diverged (one line on stderr); 130 interrupted (Ctrl-C).",
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
        "train",
        help="train a network on a data set",
        description=" ".join(train.__doc__.split()),
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
    compare_parser.add_argument(
        "--jobs",
        type=_jobs_argument,
        default=1,
        help="optimizers trained at once, one core each; -1 for all cores (default: 1)",
    )
    compare_parser.set_defaults(run=compare)

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
    sweep_parser.set_defaults(run=sweep_command)

    from fastnn import benchmark

    bench_parser = commands.add_parser(
        "bench",
        help="measure fastnn against its NumPy reference, PyTorch and scikit-learn",
        description=benchmark.__doc__.splitlines()[0],
    )
    benchmark.add_arguments(bench_parser)
    bench_parser.set_defaults(run=bench)
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
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (CommandError, TrainingDivergedError) as error:
        parser.exit(EXIT_ERROR, f"fastnn {args.command}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(EXIT_INTERRUPTED, f"fastnn {args.command}: interrupted\n")
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
