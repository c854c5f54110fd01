"""The exceptions fastnn raises beyond Python's own (TypeError, ValueError, ...)."""

from __future__ import annotations

__all__ = ["TrainingDivergedError", "ConcurrentUseError"]


class TrainingDivergedError(FloatingPointError):
    """Training produced a non-finite loss or weights; the network keeps its last good ones.

    Attributes
    ----------
    epoch : int
        The epoch (from 1) in which it happened; the weights are those at the
        end of the epoch before.
    step : int
        The step (from 1) within that epoch.
    loss : float
        The loss at that step (NaN or inf), or the last finite one when the
        loss was finite but an update made the weights non-finite.
    """

    def __init__(
        self,
        message: str,
        epoch: int | None = None,
        step: int | None = None,
        loss: float | None = None,
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.loss = loss


class ConcurrentUseError(RuntimeError):
    """A network was trained in one thread while another thread used it."""
