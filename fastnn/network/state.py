"""A network as plain values: its architecture, its weights, its random streams, its settings.

:class:`NetworkState` is what :class:`fastnn.MLP` wraps, what the training engine
trains, what model files hold and what an ONNX export reads. It imports nothing of
``MLP``, so the rooms that use it (training, input/output, sweeps) need not either.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from fastnn import kernels
from fastnn.kernels import reference
from fastnn.network.architecture import Architecture

if TYPE_CHECKING:
    from fastnn.optimizers import Optimizer

__all__ = ["BACKENDS", "NetworkState", "check_backend", "check_specialise", "check_seed"]

#: The kernels of each backend: compiled, or the plain NumPy reference.
BACKENDS: dict[str, ModuleType] = {"numba": kernels, "numpy": reference}

#: Entropy tags of the seeded streams derived from a network's seed, so that each
#: (shuffling, dropout, validation split) is independent of the others.
DROPOUT_STREAM = 0xD0
SPLIT_STREAM = 0x5B


@dataclass(eq=False)
class NetworkState:
    """Everything a network is, as plain values and arrays.

    Attributes
    ----------
    architecture : Architecture
        Widths, activations, output, dtype, dropout, init (immutable).
    theta : ndarray
        All parameters in one flat vector of ``architecture.dtype``.
    seed : int or None
        The seed the network was made with.
    rng : numpy.random.Generator
        Draws the initial weights, then each epoch's shuffle.
    dropout_key : ndarray of uint64, shape (1,)
        The key of the dropout masks (derived from ``seed``).
    backend : {"numba", "numpy"}
    specialise : "auto", True or False
        When per-sample fits use a loop generated for the layout.
    optimizer : Optimizer or None
        The optimizer of the last fit, with its state.
    """

    architecture: Architecture
    theta: NDArray[Any]
    seed: int | None
    rng: np.random.Generator
    dropout_key: NDArray[np.uint64]
    backend: str = "numba"
    specialise: bool | Literal["auto"] = "auto"
    optimizer: Optimizer | None = None

    @classmethod
    def create(
        cls,
        architecture: Architecture,
        seed: int | None = None,
        backend: str = "numba",
        specialise: bool | Literal["auto"] = "auto",
        initialise: bool = True,
    ) -> NetworkState:
        """Return a new network of ``architecture``, its weights drawn from ``seed``.

        With ``initialise=False`` the weights are left at zero (a file's are read
        into them next).
        """
        seed = check_seed(seed)
        rng = np.random.default_rng(seed)
        # A key of its own, so that adding dropout changes neither the initial
        # weights nor the shuffles drawn from `rng`.
        entropy = [seed, DROPOUT_STREAM] if seed is not None else None
        key = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)
        state = cls(
            architecture=architecture,
            theta=np.zeros(architecture.n_params, dtype=architecture.dtype),
            seed=seed,
            rng=rng,
            dropout_key=np.asarray(key, dtype=np.uint64),
            backend=check_backend(backend),
            specialise=check_specialise(specialise),
        )
        if initialise:
            architecture.initialise(state.theta, rng)
        return state

    @property
    def kernels(self) -> ModuleType:
        """module: the kernels of this network's backend."""
        return BACKENDS[self.backend]

    def split_rng(self) -> np.random.Generator:
        """A generator for ``validation_split``, independent of the shuffling one.

        The same rows are held out for the same seed and row count, whatever has
        been drawn from :attr:`rng`.
        """
        entropy = [self.seed, SPLIT_STREAM] if self.seed is not None else None
        return np.random.default_rng(np.random.SeedSequence(entropy))


def check_seed(seed: Any) -> int | None:
    """Return ``seed`` if it is None or a non-negative integer, else raise naming it."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return None if seed is None else int(seed)


def check_backend(backend: Any) -> str:
    """Return ``backend`` if it is "numba" or "numpy", else raise naming it."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend must be 'numba' or 'numpy', got {backend!r}")
    return backend


def check_specialise(value: Any) -> bool | Literal["auto"]:
    """Return ``value`` if it is "auto", True or False, else raise naming ``specialise``."""
    if isinstance(value, bool):
        return value
    if value == "auto" and isinstance(value, str):
        return "auto"
    raise ValueError(f"specialise must be 'auto', True or False, got {value!r}")
