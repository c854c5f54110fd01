"""A network as users hold it: its attributes, pickling, files, exports and summary.

:class:`NetworkModel` wraps a :class:`~fastnn.network.state.NetworkState` and gives it
the public face every fastnn network has; :class:`fastnn.MLP` adds what a network
computes and how it learns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fastnn import codegen
from fastnn.network.architecture import Architecture
from fastnn.network.guard import UseGuard
from fastnn.network.state import NetworkState, check_backend, check_specialise

if TYPE_CHECKING:
    import onnx
    from typing_extensions import Self

    from fastnn.optimizers import Optimizer

__all__ = ["NetworkModel"]


class NetworkModel:
    """A network whose parameters live in one flat vector (the base of :class:`fastnn.MLP`).

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first: ``[784, 40, 10]``.
    hidden : str or sequence of str, default "relu"
        Hidden activation, one name or one per hidden layer: "relu", "sigmoid",
        "tanh", "step", "identity", "leaky_relu".
    output : {"softmax", "sigmoid", "identity"}, default "softmax"
        Output activation; it fixes the loss: cross-entropy, binary
        cross-entropy, mean squared error.
    init : "he", "xavier" or float, default "he"
        Weight initialisation: std ``sqrt(2/fan_in)``, ``sqrt(1/fan_in)``, or
        the given std (the course's ``weight_init_std``). Biases start at 0.
    dtype : {"float32", "float64"}, default "float32"
    seed : int or None
        Seeds initialisation and shuffling: same seed, same data, same weights.
    backend : {"numba", "numpy"}, default "numba"
        "numpy" runs the plain NumPy reference (:mod:`fastnn.kernels.reference`).
    specialise : "auto", True or False, default "auto"
        Per-sample fits (``batch_size=1``) can run a loop generated and compiled
        for this network's widths (up to several times faster per sample;
        compiled once per layout, dtype and optimizer, a few seconds, then cached
        on disk). True always uses it, False never, "auto" when the fit's
        samples (rows times epochs of one call) reach the layout's break-even,
        where the time saved pays for the compile
        (``fastnn.codegen.break_even_samples``). Both loops compute the same
        formulas; results agree to float rounding.
    dropout : float or sequence of float, default 0.0
        Dropout rate of the hidden layers' outputs, one for all or one per hidden
        layer, each in [0, 1). Inverted dropout, during training only; the masks
        come from a key derived from ``seed`` and the optimizer's step count, the
        same on both backends. Per-sample fits with dropout run the generic loop.

    Notes
    -----
    Thread safety: any number of threads may call ``predict``, ``loss``,
    ``accuracy`` or ``save`` at once; ``fit`` and ``partial_fit`` need the
    network to themselves. A call that conflicts with one running in another
    thread raises :class:`ConcurrentUseError` at once.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        hidden: str | Sequence[str] = "relu",
        output: str = "softmax",
        init: str | float = "he",
        dtype: DTypeLike = "float32",
        seed: int | None = None,
        backend: str = "numba",
        specialise: bool | Literal["auto"] = "auto",
        dropout: float | Sequence[float] = 0.0,
    ) -> None:
        architecture = Architecture.checked(sizes, hidden, output, init, dtype, dropout)
        self._attach(NetworkState.create(architecture, seed, backend, specialise))

    def _attach(self, state: NetworkState) -> None:
        self._state = state
        self._guard = UseGuard()
        self.params: dict[str, NDArray[np.floating[Any]]] = state.architecture.views(state.theta)

    @classmethod
    def from_state(cls, state: NetworkState) -> Self:
        """Return an MLP wrapping ``state`` (not a copy): how fastnn's rooms hand back networks."""
        if not isinstance(state, NetworkState):
            raise TypeError(f"state must be a NetworkState, got {type(state).__name__}")
        net = cls.__new__(cls)
        net._attach(state)
        return net

    # ------------------------------------------------------------ properties

    @property
    def theta(self) -> NDArray[np.floating[Any]]:
        """ndarray: all parameters, one flat vector; ``params`` holds views into it."""
        return self._state.theta

    @property
    def sizes(self) -> list[int]:
        """list of int: units per layer, inputs first (a copy)."""
        return list(self._state.architecture.sizes)

    @property
    def hidden(self) -> list[str]:
        """list of str: the activation of each hidden layer (a copy)."""
        return list(self._state.architecture.hidden)

    @property
    def output(self) -> str:
        """str: the output activation ("softmax", "sigmoid" or "identity")."""
        return self._state.architecture.output

    @property
    def init(self) -> str | float:
        """ "he", "xavier" or float: how the initial weights were drawn."""
        return self._state.architecture.init

    @property
    def loss_code(self) -> int:
        """int: the output/loss pair's code (:mod:`fastnn.kernels.codes`)."""
        return self._state.architecture.loss_code

    @property
    def dtype(self) -> np.dtype[Any]:
        """numpy.dtype: float32 or float64, of the weights and of all arithmetic."""
        return self._state.architecture.dtype

    @property
    def n_params(self) -> int:
        """int: the number of parameters (the length of ``theta``)."""
        return self._state.architecture.n_params

    @property
    def layout(self) -> NDArray[np.int64]:
        """ndarray: the layer table the kernels read (:mod:`fastnn.kernels.codes`), read-only."""
        return self._state.architecture.layout

    @property
    def dropout(self) -> list[float]:
        """list of float: the dropout rate of each hidden layer (a copy)."""
        return list(self._state.architecture.dropout)

    @property
    def seed(self) -> int | None:
        """int or None: the seed the network was made with."""
        return self._state.seed

    @property
    def rng(self) -> np.random.Generator:
        """numpy.random.Generator: drew the initial weights; draws each epoch's shuffle."""
        return self._state.rng

    @property
    def optimizer_(self) -> Optimizer | None:
        """Optimizer or None: the optimizer of the last fit, with its state."""
        return self._state.optimizer

    @optimizer_.setter
    def optimizer_(self, optimizer: Optimizer | None) -> None:
        self._state.optimizer = optimizer

    @property
    def backend(self) -> str:
        """str: "numba" (compiled kernels) or "numpy" (the reference)."""
        return self._state.backend

    @backend.setter
    def backend(self, backend: str) -> None:
        self._state.backend = check_backend(backend)

    @property
    def specialise(self) -> bool | Literal["auto"]:
        """ "auto", True or False: when per-sample fits use the loop generated for the layout."""
        return self._state.specialise

    @specialise.setter
    def specialise(self, value: bool | Literal["auto"]) -> None:
        self._state.specialise = check_specialise(value)

    @property
    def is_classifier(self) -> bool:
        """bool: True for softmax and sigmoid outputs."""
        return self._state.architecture.is_classifier

    def __repr__(self) -> str:
        dropout = f", dropout={self.dropout!r}" if any(self.dropout) else ""
        return (
            f"MLP({self.sizes}, hidden={self.hidden!r}, output={self.output!r}, "
            f"dtype={self.dtype.name!r}, backend={self.backend!r}{dropout})"
        )

    # ------------------------------------------------------------ persistence

    def __getstate__(self) -> dict[str, Any]:
        # The views in `params` would pickle as copies, and a lock not at all;
        # both are rebuilt instead.
        with self._guard.reading("pickle"):
            return {"state": self._state}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._attach(state["state"])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network to one ``.npz`` file, atomically.

        The file holds the format version, the architecture, ``theta``, the
        shuffling generator's state and the optimizer (name, hyper-parameters,
        step count, state vectors), as plain arrays: loading never unpickles
        anything. A failed save leaves any old file intact.
        """
        from fastnn.io.model_file import save_model

        with self._guard.reading("save"):
            save_model(self._state, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a network written by :meth:`save`; predictions are identical.

        Raises
        ------
        ValueError
            If the file is not a fastnn model, is truncated or corrupt, or its
            contents do not fit together.
        """
        from fastnn.io.model_file import load_model

        return cls.from_state(load_model(path))

    def to_onnx(
        self, path: str | os.PathLike[str] | None = None, *, opset: int | None = None
    ) -> onnx.ModelProto:
        """Export the forward pass as an ONNX model; write it to ``path`` if given.

        Needs the ``onnx`` package (``pip install "fastnn[onnx]"``). The graph takes
        ``X`` of shape (batch, inputs) in the network's dtype and returns ``Y``, what
        :meth:`predict` returns (see :mod:`fastnn.io.onnx`; ``opset`` defaults to
        ``fastnn.io.onnx.DEFAULT_OPSET``).
        """
        from fastnn.io.onnx import to_onnx

        with self._guard.reading("to_onnx"):  # one consistent copy of the weights
            theta = self.theta.copy()
        return to_onnx(self._state.architecture, theta, path, opset=opset)

    def kernel_source(self, optimizer: Optimizer | str = "sgd") -> str | None:
        """Return the Python source of the per-sample loop generated for this network.

        That loop trains per-sample fits with ``specialise`` (see the class
        docstring); this is the text compiled and cached for this layout, dtype and
        ``optimizer``. None when the generator does not cover the network.
        """
        from fastnn import optimizers

        opt = optimizers.get(optimizer)
        architecture = self._state.architecture
        hyper = opt.hyper_vector(architecture.dtype)
        return codegen.loop_source(
            architecture.sizes, architecture.layout, architecture.loss_code,
            architecture.dtype, opt.code, hyper,
        )  # fmt: skip

    def summary(self, print_fn: Callable[[str], object] | None = print) -> str | None:
        """Print a table of the layers, their activations and parameter counts, as Keras does.

        ``print_fn`` is called once with the whole table; with None nothing is
        printed and the table is returned instead.
        """
        from fastnn.network.summary import summary_table

        if print_fn is not None and not callable(print_fn):
            raise TypeError(f"print_fn must be callable or None, got {type(print_fn).__name__}")
        text = summary_table(self._state)
        if print_fn is None:
            return text
        print_fn(text)
        return None
