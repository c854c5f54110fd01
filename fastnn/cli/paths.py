"""Output paths, checked before any training: a run never ends unable to write its result."""

import os
import tempfile
from pathlib import Path

from fastnn.cli.arguments import DATA_NAMES
from fastnn.cli.common import CommandError, OptionError


def data_file(data: str) -> str | None:
    """The file ``--data`` reads (which no output may overwrite), or None for a named set."""
    return None if data in DATA_NAMES else data


def chart_suffixes() -> tuple[str, ...]:
    """The suffixes ``--plot`` accepts: each names the format written."""
    from fastnn import plot

    return tuple(plot.SAVE_FORMATS)


def _check_writable(option: str, text: str, folder: Path) -> None:
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


def _either(suffixes: tuple[str, ...]) -> str:
    """ ".png, .jpg or .svg": the suffixes as a message lists them."""
    return suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"


def check_output_file(
    option: str,
    path: str | os.PathLike[str],
    suffix: str | tuple[str, ...],
    kind: str,
    data_path: str | None = None,
) -> None:
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


def prepare_output_dir(option: str, path: str | os.PathLike[str]) -> Path:
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
