"""Compile the kernels ahead of time."""

import numpy as np

__all__ = ["warmup"]


def warmup(dtypes=("float32", "float64"), optimizers=("sgd", "adam")):
    """Compile (or load from Numba's cache) the kernels a typical session uses.

    Kernels compile lazily on first use, a few seconds each time a new
    combination of dtype, training mode and optimizer first runs. Calling this
    once, say at the start of a notebook, moves that wait up front: it trains
    throwaway networks on a few random rows for every output kind, per sample
    and in mini-batches, with each optimizer given.

    Parameters
    ----------
    dtypes : sequence of str, default ("float32", "float64")
    optimizers : sequence of str, default ("sgd", "adam")
        Optimizer names (:func:`fastnn.optimizers.get`).

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
        for output, T in (
            ("softmax", np.array([0, 1, 0, 1])),
            ("sigmoid", X[:, :1] > 0.5),
            ("identity", X[:, 0]),
        ):
            for name in optimizers:
                for batch_size in (1, 2):
                    net = MLP(
                        [3, 4, 1 if output != "softmax" else 2], output=output, dtype=dtype, seed=0
                    )
                    net.fit(
                        X,
                        T.astype(float),
                        optimizer=optimizers_module.get(name),
                        batch_size=batch_size,
                    )
                    net.predict(X)
                    fits += 1
    return fits
