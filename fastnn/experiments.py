"""Experiments the course runs: the optimizer comparison."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from numpy.typing import ArrayLike, DTypeLike

from fastnn import optimizers as optimizers_module
from fastnn.sweep import sweep

if TYPE_CHECKING:
    from fastnn.model import History

__all__ = ["compare_optimizers", "COURSE_OPTIMIZERS"]


def COURSE_OPTIMIZERS() -> dict[str, optimizers_module.Optimizer]:  # noqa: N802 - a factory that reads like the constant it makes
    """Return the course's optimizer family with its usual settings, new each call."""
    return {
        "SGD": optimizers_module.SGD(lr=0.01),
        "Momentum": optimizers_module.Momentum(lr=0.01, momentum=0.9),
        "Nesterov": optimizers_module.Nesterov(lr=0.01, momentum=0.9),
        "AdaGrad": optimizers_module.AdaGrad(lr=0.01),
        "RMSProp": optimizers_module.RMSProp(lr=0.001),
        "Adadelta": optimizers_module.Adadelta(lr=1.0),
        "Adam": optimizers_module.Adam(lr=0.001),
        "AdamW": optimizers_module.AdamW(lr=0.001),
    }


def compare_optimizers(
    X: ArrayLike,
    T: ArrayLike,
    sizes: Sequence[int],
    optimizers: Mapping[str, optimizers_module.Optimizer | str]
    | Sequence[str | optimizers_module.Optimizer]
    | None = None,
    *,
    hidden: str | Sequence[str] = "relu",
    output: str = "softmax",
    init: str | float = "he",
    dtype: DTypeLike = "float32",
    seed: int | None = 0,
    epochs: int = 5,
    batch_size: int | None = 1,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    backend: str = "numba",
    n_jobs: int = 1,
) -> dict[str, History]:
    """Train one architecture from one seed with each optimizer; return the histories.

    Every optimizer starts from the same initial weights and sees the samples
    in the same order, so the curves differ only by the optimizer. This is a
    :func:`fastnn.sweep` of one configuration per optimizer.

    Parameters
    ----------
    X, T : array-like
        Training data, as for :meth:`MLP.fit`.
    sizes : sequence of int
        The architecture, as for :class:`MLP`.
    optimizers : dict of str to Optimizer or str, or sequence of names, optional
        Default: :func:`COURSE_OPTIMIZERS` (SGD, Momentum, Nesterov, AdaGrad,
        RMSProp, Adadelta, Adam). Optimizer objects are copied, not trained.
    hidden, output, init, dtype, seed, backend
        As for :class:`MLP`.
    epochs, batch_size, validation_data
        As for :meth:`MLP.fit`.
    n_jobs : int, default 1
        Optimizers trained at once, one thread each (-1: all cores). The histories
        are the same for any value.

    Returns
    -------
    dict of str to History
        In the order given.

    Raises
    ------
    TrainingDivergedError
        If an optimizer's training diverges (the first such, in order, once all
        have trained); :func:`fastnn.sweep` reports it without raising.
    """
    if optimizers is None:
        optimizers = COURSE_OPTIMIZERS()
    elif not isinstance(optimizers, Mapping):
        optimizers = {str(name): name for name in optimizers}
    network: dict[str, Any] = {"sizes": sizes, "hidden": hidden, "output": output, "init": init}
    network.update(dtype=dtype, seed=seed, backend=backend)
    configs = [
        {"name": str(name), **network, "optimizer": optimizers_module.get(optimizer)}
        for name, optimizer in optimizers.items()
    ]
    results = sweep(
        X,
        T,
        configs,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        n_jobs=n_jobs,
    )
    for result in results:
        if result.error is not None:
            raise result.error
    return {name: result.history for name, result in zip(optimizers, results, strict=True)}
