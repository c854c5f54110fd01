"""Experiments the course runs: the optimizer comparison."""

from fastnn import optimizers as optimizers_module
from fastnn.model import MLP

__all__ = ["compare_optimizers", "COURSE_OPTIMIZERS"]


def COURSE_OPTIMIZERS():  # noqa: N802 - a factory that reads like the constant it makes
    """Return the course's optimizer family with its usual settings, new each call."""
    return {
        "SGD": optimizers_module.SGD(lr=0.01),
        "Momentum": optimizers_module.Momentum(lr=0.01, momentum=0.9),
        "Nesterov": optimizers_module.Nesterov(lr=0.01, momentum=0.9),
        "AdaGrad": optimizers_module.AdaGrad(lr=0.01),
        "RMSProp": optimizers_module.RMSProp(lr=0.001),
        "Adadelta": optimizers_module.Adadelta(lr=1.0),
        "Adam": optimizers_module.Adam(lr=0.001),
    }


def compare_optimizers(
    X,
    T,
    sizes,
    optimizers=None,
    *,
    hidden="relu",
    output="softmax",
    init="he",
    dtype="float32",
    seed=0,
    epochs=5,
    batch_size=1,
    validation_data=None,
    backend="numba",
):
    """Train one architecture from one seed with each optimizer; return the histories.

    Every optimizer starts from the same initial weights and sees the samples
    in the same order, so the curves differ only by the optimizer.

    Parameters
    ----------
    X, T : array-like
        Training data, as for :meth:`MLP.fit`.
    sizes : sequence of int
        The architecture, as for :class:`MLP`.
    optimizers : dict of str to Optimizer or str, or sequence of names, optional
        Default: :func:`COURSE_OPTIMIZERS` (SGD, Momentum, Nesterov, AdaGrad,
        RMSProp, Adadelta, Adam).
    hidden, output, init, dtype, seed, backend
        As for :class:`MLP`.
    epochs, batch_size, validation_data
        As for :meth:`MLP.fit`.

    Returns
    -------
    dict of str to History
        In the order given.
    """
    if optimizers is None:
        optimizers = COURSE_OPTIMIZERS()
    elif not isinstance(optimizers, dict):
        optimizers = {str(name): name for name in optimizers}
    histories = {}
    for name, optimizer in optimizers.items():
        optimizer = optimizers_module.get(optimizer)
        net = MLP(
            sizes, hidden=hidden, output=output, init=init, dtype=dtype, seed=seed, backend=backend
        )
        histories[name] = net.fit(
            X,
            T,
            optimizer=optimizer,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=validation_data,
        )
    return histories
