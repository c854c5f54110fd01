"""``fastnn train``: train a network on a data set, with a line (or a bar) per epoch.

Ctrl-C (exit code 130), a diverging loss or any other error after the first epoch
(exit code 2) stops the run; ``--save`` and ``--plot`` are still written, from the end
of the last complete epoch.
"""

import argparse
import copy
import sys
import time
from typing import Any

from fastnn import TrainingDivergedError, codegen
from fastnn.cli.arguments import (
    OPTIMIZER_NAMES,
    OUTPUTS,
    add_training_options,
    fraction_argument,
    init_argument,
    non_negative_float_argument,
    non_negative_int_argument,
    positive_float_argument,
    rates_argument,
)
from fastnn.cli.common import EXIT_INTERRUPTED, CommandError, OptionError, show_progress
from fastnn.cli.data import load_task
from fastnn.cli.network import (
    SCHEDULE_FORMS,
    build_network,
    make_optimizer,
    make_schedule,
    parse_sizes,
)
from fastnn.cli.paths import chart_suffixes, check_output_file, data_file
from fastnn.validation import TrainingData


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``train`` and its options to the ``fastnn`` command's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "train",
        help="train a network on a data set",
        description=" ".join((run.__doc__ or "").split()),
    )
    add_training_options(parser, default_sizes="100")
    parser.add_argument(
        "--output",
        choices=OUTPUTS,
        default=None,
        help="output layer: softmax (classes), sigmoid (0/1 labels, one column each) or "
        "identity (regression); default: from the targets, as MLP.fit reads them (integer "
        "labels, or whole numbers stored as floats, are classes)",
    )
    parser.add_argument(
        "--init",
        type=init_argument,
        default="he",
        help="weight initialisation: he, xavier or a standard deviation (default: he)",
    )
    parser.add_argument(
        "--optimizer", default="sgd", help=f"{', '.join(OPTIMIZER_NAMES)} (default: sgd)"
    )
    parser.add_argument(
        "--lr",
        type=positive_float_argument,
        default=None,
        help="learning rate (default: the optimizer's)",
    )
    parser.add_argument(
        "--momentum",
        type=non_negative_float_argument,
        default=None,
        help="momentum of sgd, momentum, nesterov or rmsprop (default: the optimizer's)",
    )
    parser.add_argument(
        "--weight-decay",
        type=non_negative_float_argument,
        default=None,
        help="L2 weight decay (decoupled for adamw; default: the optimizer's)",
    )
    parser.add_argument(
        "--dropout",
        type=rates_argument,
        default=0.0,
        metavar="RATE[,RATE...]",
        help="dropout rate of the hidden layers, one or one per layer (default: 0)",
    )
    parser.add_argument(
        "--validation-split",
        type=fraction_argument,
        default=0.0,
        metavar="FRACTION",
        help="hold out this fraction of the training rows to validate on (default: 0)",
    )
    parser.add_argument(
        "--early-stopping",
        type=non_negative_int_argument,
        default=None,
        metavar="PATIENCE",
        help="stop when the validation loss (or --monitor) has not improved for PATIENCE "
        "epochs, keeping the best epoch's weights (needs --validation-split)",
    )
    parser.add_argument(
        "--monitor",
        choices=("val_loss", "val_acc"),
        default="val_loss",
        help="what --early-stopping watches: the validation loss, or the validation "
        "accuracy of a classifier (default: val_loss)",
    )
    parser.add_argument(
        "--schedule",
        default=None,
        metavar="SPEC",
        help=f"learning-rate schedule: {', '.join(SCHEDULE_FORMS)}",
    )
    parser.add_argument("--save", metavar="MODEL.npz", help="save the trained model")
    parser.add_argument(
        "--plot",
        metavar="OUT.png",
        help="write the accuracy (or loss) chart: .png, .jpg, .svg or .pdf",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars (never drawn when stderr is a file)"
    )
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Train an MLP on a data set, with a progress bar per epoch.

    Ctrl-C (exit code 130) or a diverging loss (exit code 2) stops the run; --save
    and --plot are still written, from the end of the last complete epoch.
    """
    data_path = data_file(args.data)
    if args.save is not None:
        check_output_file("--save", args.save, ".npz", "a NumPy .npz archive", data_path)
    if args.plot is not None:
        check_output_file("--plot", args.plot, chart_suffixes(), "a chart", data_path)
    optimizer = make_optimizer(
        args.optimizer, args.lr, args.dtype, args.momentum, args.weight_decay
    )
    task = load_task(args)
    sizes = parse_sizes(args.sizes, task.X.shape[1], task.n_outputs)
    net = build_network(
        sizes, args.hidden, task.output, args.dtype, args.seed, args.init, args.dropout
    )
    # A bad --schedule before the data is used.
    make_schedule(args.schedule, args.epochs, bool(args.validation_split))
    _check_training_control(args, task)
    print(
        f"fastnn train: {task.source}, {len(task.X):,} training rows; {net}; {optimizer}; "
        f"batch size {args.batch_size}, {args.epochs} epochs",
        flush=True,
    )
    if task.note:
        print(f"note: {task.note}", flush=True)
    start = time.perf_counter()
    compiled = []  # the "compiling ..." line, printed as it happens

    def say_compiling(line: str) -> None:
        compiled.append(line)
        print(f"fastnn train: {line}", flush=True)

    with codegen.compile_notices(say_compiling):
        epochs_done, good_net, history, stop = _train_epochs(net, optimizer, task, args)
    seconds = max(time.perf_counter() - start, 1e-9)
    if stop is not None:
        kept = _what_was_kept(epochs_done, good_net, history, args, task)
        during = f"during epoch {epochs_done + 1} of {args.epochs}"
        if stop == "interrupted":
            print(f"fastnn train: interrupted {during}; {kept}", file=sys.stderr)
            return EXIT_INTERRUPTED
        if stop == "diverged":
            raise CommandError(
                f"training diverged {during} (the loss or the weights became NaN or inf); try "
                f"a smaller --lr than {optimizer.lr:g}; {kept}"
            )
        raise CommandError(f"training stopped {during}: {stop}; {kept}")
    print(
        f"trained in {seconds:.3g} s ({epochs_done * len(task.X) / seconds:,.0f} samples/s"
        f"{', including compilation' if compiled else ''})"
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


def _check_training_control(args: argparse.Namespace, task: TrainingData) -> None:
    """Refuse --early-stopping and --monitor combinations that cannot work."""
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


def _epoch_line(epoch: int, history: Any, validation_name: str) -> str:
    # .4g: a regression's loss of 3e-06 must not print as 0.0000.
    line = f"epoch {epoch:3d}  loss {history.loss[-1]:.4g}"
    if history.val_loss:
        line += f"  {validation_name} loss {history.val_loss[-1]:.4g}"
    if history.val_acc:
        line += f"  {validation_name} accuracy {history.val_acc[-1]:.4f}"
    if len(history.lr) > 1 and history.lr[-1] != history.lr[0]:
        line += f"  lr {history.lr[-1]:.3g}"
    return line


def _train_epochs(
    net: Any, optimizer: Any, task: TrainingData, args: argparse.Namespace
) -> tuple[int, Any, Any, str | None]:
    """Train with one ``fit`` call whose callback keeps a copy of the network at the end
    of every complete epoch and prints the epoch's line as it ends.

    Returns ``(epochs_done, network_then, history, stop)``, where ``stop`` is None,
    "interrupted" (Ctrl-C), "diverged" or the message of the error that stopped the
    run after its first epoch; the copy is None before the first epoch.
    """
    split = args.validation_split or 0.0
    validation = None
    if not split and task.X_test is not None:
        validation = (task.X_test, task.T_test)
    validation_name = "validation" if split else "test"
    # One tuple, assigned at once, so that Ctrl-C anywhere leaves a consistent one.
    last_good: tuple[int, Any, Any] = (0, None, None)

    def keep(epoch: int, history: Any, network: Any) -> None:
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
            progress=show_progress(args),
            validation_split=split,
            early_stopping=args.early_stopping is not None,
            patience=args.early_stopping or 0,
            monitor=args.monitor,
            schedule=make_schedule(args.schedule, args.epochs, bool(split)),
            callbacks=[keep],
        )
    except KeyboardInterrupt:
        return (*last_good, "interrupted")
    except TrainingDivergedError:
        return (*last_good, "diverged")
    except (TypeError, ValueError) as error:
        # Data the checks above let through (before any epoch), or an error that
        # stopped the run midway: either way the last complete epoch is kept.
        if last_good[1] is None:
            raise CommandError(str(error)) from None
        return (*last_good, str(error))
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


def _write_outputs(
    net: Any, history: Any, args: argparse.Namespace, task: TrainingData
) -> list[tuple[str, str]]:
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


def _what_was_kept(
    epoch: int, net: Any, history: Any, args: argparse.Namespace, task: TrainingData
) -> str:
    """Write the outputs of an interrupted or diverged run; say what happened to them."""
    asked = " and ".join(path for path in (args.save, args.plot) if path is not None)
    if not asked:
        return "nothing saved (no --save given)"
    if net is None:
        return f"no epoch completed, so nothing was written to {asked}"
    written = _write_outputs(net, history, args, task)
    what = " and ".join(f"the {kind} to {path}" for kind, path in written)
    return f"saved {what} from the end of epoch {epoch}, the last complete one"


def _plot_history(
    history: Any, path: str, net: Any, task: TrainingData, args: argparse.Namespace
) -> None:
    """The accuracy chart (the loss chart of a regression), titled with what was trained."""
    from fastnn import plot

    optimizer = net.optimizer_
    if args.schedule is not None and history.lr:
        # A schedule leaves the optimizer at its last epoch's rate (as torch's schedulers
        # do); the title gives the rate the run started from, and the schedule.
        optimizer = copy.copy(optimizer)
        optimizer.lr = history.lr[0]
        optimizer = f"{plot.describe_optimizer(optimizer)} ({args.schedule} schedule)"
    trained = plot.describe_training(net, optimizer, batch_size=args.batch_size, data=task.source)
    # The second curve is the held-out rows with --validation-split, else the test set.
    held_out = "validation" if args.validation_split else "test"
    if task.is_regression:
        title = f"loss per epoch\n{trained}"
        # A regression's loss falls by decades: a linear axis would show one drop to 0.
        plot.plot_loss(history, path=path, title=title, validation_label=held_out, log=True)
    else:
        title = f"accuracy per epoch\n{trained}"
        plot.plot_accuracy(history, path=path, title=title, validation_label=held_out)
