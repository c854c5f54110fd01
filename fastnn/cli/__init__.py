"""The ``fastnn`` command line: ``demo``, ``train``, ``predict``, ``evaluate``,
``compare-optimizers``, ``sweep``, ``bench``.

Each command is a module of this package holding its options beside its handler:
``add_parser(commands)`` adds the command and its options to the ``fastnn``
parser, ``run(args)`` does the work and returns the exit code. Shared argparse
types and options are in :mod:`fastnn.cli.arguments`, output-path checks in
:mod:`fastnn.cli.paths`, the data sets in :mod:`fastnn.cli.data`.

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
import os
import sys
from collections.abc import Sequence

from fastnn import TrainingDivergedError
from fastnn.cli import bench, compare, demo, evaluate, predict, sweep, train
from fastnn.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    CommandError,
    OptionError,
)

__all__ = ["main", "build_parser"]

# In the order `fastnn --help` lists them.
COMMANDS = (demo, train, predict, evaluate, compare, sweep, bench)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``fastnn`` command, with every command's options."""
    from fastnn import __version__

    parser = argparse.ArgumentParser(
        prog="fastnn",
        description="Small neural networks from scratch, compiled by Numba.",
        epilog="Exit codes: 0 done; 2 bad arguments or data, an output path that cannot be "
        "written, or training that diverged (one line on stderr); 130 interrupted (Ctrl-C).",
    )
    parser.add_argument("--version", action="version", version=f"fastnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit's flush cannot fail."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (see the module's docstring).

    A user error exits (``SystemExit``) with code 2 and one line on stderr, as
    argparse does for bad arguments.
    """
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    # The command's own parser reports its errors, with its usage (argparse would
    # report unknown options with the top-level usage).
    command_parser: argparse.ArgumentParser = getattr(args, "parser", parser)
    if unknown:
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        code: int = args.run(args)
        return code
    except OptionError as error:
        command_parser.error(str(error))
    except (CommandError, TrainingDivergedError) as error:
        parser.exit(EXIT_ERROR, f"fastnn {args.command}: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(EXIT_INTERRUPTED, f"fastnn {args.command}: interrupted\n")
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
