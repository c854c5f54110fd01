"""Compile the kernels ahead of time."""

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["warmup"]


def warmup(
    dtypes: Sequence[DTypeLike] = ("float32", "float64"),
    optimizers: Sequence[str] = ("sgd", "adam"),
    sizes: Sequence[int] | Sequence[Sequence[int]] | None = None,
    hidden: str | Sequence[str] = "relu",
    output: str = "softmax",
) -> int:
    """Compile (or load from Numba's cache) the kernels a typical session uses.

    Kernels compile lazily on first use, a few seconds each time a new
    combination of dtype, training mode and optimizer first runs. Calling this
    once, say at the start of a notebook, moves that wait up front: it trains
    throwaway networks on a few random rows for every output kind, per sample
    and in mini-batches, with each optimizer given.

    With ``sizes``, it also builds the per-sample loops generated for those
    layouts (see ``MLP(specialise=...)``), so that the first large per-sample
    fit of such a network does not pause to compile.

    Parameters
    ----------
    dtypes : sequence of str, default ("float32", "float64")
    optimizers : sequence of str, default ("sgd", "adam")
        Optimizer names (:func:`fastnn.optimizers.get`).
    sizes : sequence of int, or sequence of such sequences, optional
        One layout (``[784, 40, 10]``) or several.
    hidden, output : str
        The activations of the networks given by ``sizes``, as for :class:`fastnn.MLP`.

    Returns
    -------
    int
        The number of throwaway fits run.
    """
    from fastnn import optimizers as optimizers_module
    from fastnn.model import MLP

    rng = np.random.default_rng(0)
    fits = 0
    for dtype in dtypes:
        X = rng.random((4, 3))
        for kind, T in (
            ("softmax", np.array([0, 1, 0, 1])),
            ("sigmoid", X[:, :1] > 0.5),
            ("identity", X[:, 0]),
        ):
            for name in optimizers:
                for batch_size in (1, 2):
                    net = MLP(
                        [3, 4, 1 if kind != "softmax" else 2], output=kind, dtype=dtype, seed=0
                    )
                    net.fit(
                        X,
                        T.astype(float),
                        optimizer=optimizers_module.get(name),
                        batch_size=batch_size,
                    )
                    net.predict(X)
                    fits += 1
    for layout in _layouts(sizes):
        for dtype in dtypes:
            for name in optimizers:
                net = MLP(
                    layout, hidden=hidden, output=output, dtype=dtype, seed=0, specialise=True
                )
                X = rng.random((4, layout[0]))
                if output == "softmax":
                    T = np.arange(4) % layout[-1]
                else:
                    T = (rng.random((4, layout[-1])) > 0.5).astype(float)
                net.fit(X, T, optimizer=optimizers_module.get(name))
                fits += 1
    return fits


def _layouts(sizes):
    if sizes is None:
        return []
    sizes = list(sizes)
    if sizes and all(np.ndim(entry) == 0 for entry in sizes):
        return [sizes]
    return [list(entry) for entry in sizes]
