"""Atomic file writes: a temporary file beside the target, renamed over it at the end."""

import contextlib
import os
import uuid


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary stream whose contents replace ``path`` only if the block succeeds.

    The data go to a hidden temporary file in the same directory (so the final
    ``os.replace`` is a rename on one file system), are flushed to disk, and
    then replace ``path``. On any error the temporary file is removed and an
    existing ``path`` is left as it was. The file is opened with ``"xb"`` rather
    than ``tempfile.mkstemp`` so it gets the usual umask permissions.

    Parameters
    ----------
    path : str or os.PathLike
    """
    directory, name = os.path.split(os.fspath(path))
    temporary = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
