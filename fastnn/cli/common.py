"""What every command shares: its errors, its exit codes, and whether to draw progress bars."""

import argparse
import sys

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class CommandError(Exception):
    """A user error: reported on one line with exit code 2, without a traceback."""


class OptionError(CommandError):
    """A bad option value found after parsing: reported after the command's usage, as
    argparse reports the values it checks itself."""


def _stderr_is_terminal() -> bool:
    """True if stderr is a terminal, where a progress bar can redraw itself in place."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False


def show_progress(args: argparse.Namespace) -> bool:
    """Draw progress bars: unless ``--quiet``, and only on a terminal (a log file gets the
    plain line printed per epoch instead of a bar redrawn with carriage returns)."""
    return not getattr(args, "quiet", False) and _stderr_is_terminal()
