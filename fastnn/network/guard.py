"""Many threads may read a network at once, or one may train it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastnn.errors import ConcurrentUseError

__all__ = ["UseGuard"]


class UseGuard:
    """Many threads may read a network at once (predict, loss, save), or one may train it.

    A conflicting call raises :class:`ConcurrentUseError` at once, rather than
    waiting or reading half-updated weights. The training thread itself may
    read (validation, callbacks).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers = 0
        self._trainer: int | None = None

    @contextmanager
    def reading(self, action: str) -> Iterator[None]:
        """Let this thread read the network for ``action`` (a name for messages)."""
        self.begin_reading(action)
        try:
            yield
        finally:
            self.end_reading()

    @contextmanager
    def training(self, action: str) -> Iterator[None]:
        """Let this thread train the network for ``action`` (a name for messages)."""
        self.begin_training(action)
        try:
            yield
        finally:
            self.end_training()

    # The same without a context manager, for per-event calls (``learn_one``,
    # ``predict_one``), where a generator-based ``with`` costs about as much as the
    # event's arithmetic. Each begin_* is followed by its end_* in a ``finally``.

    def begin_reading(self, action: str) -> None:
        """Start reading the network for ``action``; raise if another thread trains it."""
        me = threading.get_ident()
        with self._lock:
            if self._trainer is not None and self._trainer != me:
                raise ConcurrentUseError(
                    f"{action}: another thread is training this network; wait until its fit "
                    "returns, or use a copy (copy.deepcopy(net))"
                )
            self._readers += 1

    def end_reading(self) -> None:
        """End what :meth:`begin_reading` started."""
        with self._lock:
            self._readers -= 1

    def begin_training(self, action: str) -> None:
        """Start training the network for ``action``; raise if anyone else uses it."""
        me = threading.get_ident()
        with self._lock:
            if self._trainer is not None:
                raise ConcurrentUseError(
                    f"{action}: this network is already being trained"
                    + (" by another thread" if self._trainer != me else "")
                    + "; train one copy per thread (copy.deepcopy(net))"
                )
            if self._readers:
                raise ConcurrentUseError(
                    f"{action}: another thread is using this network (predict, loss or save); "
                    "train it when that has returned, or train a copy (copy.deepcopy(net))"
                )
            self._trainer = me

    def end_training(self) -> None:
        """End what :meth:`begin_training` started."""
        with self._lock:
            self._trainer = None

    def claim(self, action: str) -> None:
        """Take the network for one per-event call, as :meth:`begin_training` does.

        Per-event calls (``learn_one``, and ``predict_one``, which shares their
        buffers) need the network to themselves. The uncontended case costs one
        lock taken without waiting; anything else goes through :meth:`begin_training`
        (which raises the right error). :meth:`unclaim` ends it.
        """
        lock = self._lock
        if lock.acquire(False):
            if self._trainer is None and not self._readers:
                self._trainer = threading.get_ident()
                lock.release()
                return
            lock.release()
        self.begin_training(action)

    def unclaim(self) -> None:
        """End what :meth:`claim` started (one assignment: atomic, no lock needed)."""
        self._trainer = None

    @contextmanager
    def writing(self, action: str) -> Iterator[None]:
        """Let this thread write the weights for ``action`` (``set_weights``).

        Between the epochs of its own fit (a callback, such as Keras's
        ``EarlyStopping`` restoring the best weights) the training thread may;
        otherwise the network must be free, as for :meth:`training`.
        """
        with self._lock:
            own_fit = self._trainer == threading.get_ident()
        if own_fit:
            yield
            return
        with self.training(action):
            yield
