"""Per-sample epoch loops generated for one network layout, compiled once and cached.

:mod:`fastnn.codegen.generator` writes the loop of one layout as Python source;
:mod:`fastnn.codegen.cache` writes that source to the kernel cache, imports it and
keeps the compiled kernels for the life of the process. :func:`sample_loop` is what
the training engine asks: which per-sample loop trains this network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from fastnn.codegen import cache
from fastnn.codegen.generator import Spec

__all__ = [
    "SPECIALISE_MIN_ROWS",
    "SampleLoop",
    "Spec",
    "loop_source",
    "sample_loop",
    "uses_generated_loop",
]

#: With ``specialise="auto"``, per-sample fits on at least this many rows use the
#: loop generated for the network's layout (compiled once per layout, a few
#: seconds, then cached on disk); smaller ones use the generic loop, which is
#: already compiled and finishes before a new layout would have compiled.
SPECIALISE_MIN_ROWS = 10_000


@dataclass(frozen=True)
class SampleLoop:
    """The per-sample loop that trains a network: one network, or many of one layout.

    Attributes
    ----------
    train_epoch : callable
        One epoch of one network (the signature of
        :func:`fastnn.kernels.train.train_epoch_sample`).
    train_models : callable
        One epoch of each of many networks of the same layout, one per thread
        (:func:`fastnn.kernels.parallel.train_models_sample`'s signature).
    spec : Spec or None
        The generated loop's spec; None for the generic loop.
    """

    train_epoch: Callable[..., Any]
    train_models: Callable[..., Any]
    spec: Spec | None


def uses_generated_loop(
    specialise: bool | Literal["auto"], backend: str, n_rows: int, dropout: Sequence[float]
) -> bool:
    """Whether a per-sample fit of ``n_rows`` rows would ask for the generated loop.

    The NumPy reference backend never does, nor does a network with dropout (the
    generated loops have none); ``specialise`` True always does, False never, and
    "auto" for fits of at least :data:`SPECIALISE_MIN_ROWS` rows.
    """
    if backend != "numba" or specialise is False or any(dropout):
        return False
    return specialise is True or n_rows >= SPECIALISE_MIN_ROWS


def sample_loop(
    backend_kernels: Any,
    sizes: Sequence[int],
    layout: np.ndarray,
    loss_code: int,
    dtype: np.dtype[Any],
    opt_code: int,
    hyper: np.ndarray,
    *,
    specialise: bool | Literal["auto"],
    backend: str,
    n_rows: int,
    dropout: Sequence[float],
) -> SampleLoop:
    """Return the per-sample loop for a network, an optimizer and a fit of ``n_rows`` rows.

    Parameters
    ----------
    backend_kernels : module
        :mod:`fastnn.kernels` or :mod:`fastnn.kernels.reference`: the generic loops.
    sizes, layout, loss_code, dtype
        The network (:class:`fastnn.MLP`'s attributes of those names).
    opt_code, hyper
        The optimizer's code and hyper-parameter vector.
    specialise, backend, dropout
        The network's settings.
    n_rows : int
        Rows per epoch of the fit.
    """
    generic = SampleLoop(
        backend_kernels.train_epoch_sample, backend_kernels.train_models_sample, None
    )
    if not uses_generated_loop(specialise, backend, n_rows, dropout):
        return generic
    spec = cache.spec_for(sizes, layout, loss_code, dtype, opt_code, hyper)
    if spec is None:  # a layout the generator does not cover
        return generic
    module = cache.module_for(spec)
    return SampleLoop(module.train_epoch, module.train_models, spec)


def loop_source(
    sizes: Sequence[int],
    layout: np.ndarray,
    loss_code: int,
    dtype: np.dtype[Any],
    opt_code: int,
    hyper: np.ndarray,
) -> str | None:
    """Return the Python source generated for a network and optimizer, or None.

    The text that is written to the kernel cache and compiled (None when the
    generator does not cover the network: the generic loop trains it).
    """
    spec = cache.spec_for(sizes, layout, loss_code, dtype, opt_code, hyper)
    return None if spec is None else cache.source_text(spec)
