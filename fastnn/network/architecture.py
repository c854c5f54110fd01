"""A network's architecture: widths, activations, output, dtype, dropout and init, checked.

An :class:`Architecture` is immutable and holds what the kernels need to know about
a network besides its weights: the layer table (``layout``), the output/loss code and
the parameter count. Everything is checked once, here, with errors that name the
argument.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fastnn.kernels import codes
from fastnn.validation import as_matrix, check_dtype, is_finite_number, targets

__all__ = ["Architecture", "MAX_WIDTH"]

#: The widest layer a network may have (a guard against typos such as 10**9).
MAX_WIDTH = 2**31 - 1

#: Weights drawn per chunk at initialisation: the float64 draws of one chunk are the
#: only temporary, whatever the network's size.
INIT_CHUNK = 1 << 20


@dataclass(frozen=True)
class Architecture:
    """The checked, immutable description of a multilayer perceptron.

    Build one with :meth:`checked`, which validates every argument as
    :class:`fastnn.MLP` documents them.

    Attributes
    ----------
    sizes : tuple of int
        Units per layer, inputs first.
    hidden : tuple of str
        The activation of each hidden layer.
    output : str
        "softmax", "sigmoid" or "identity".
    init : "he", "xavier" or float
    dtype : numpy.dtype
        float32 or float64.
    dropout : tuple of float
        The dropout rate of each hidden layer.
    """

    sizes: tuple[int, ...]
    hidden: tuple[str, ...]
    output: str
    init: str | float
    dtype: np.dtype[Any]
    dropout: tuple[float, ...]
    layout: NDArray[np.int64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        layout = _layout(self.sizes, self.hidden)
        layout.flags.writeable = False  # the kernels' layer table never changes
        object.__setattr__(self, "layout", layout)

    @classmethod
    def checked(
        cls,
        sizes: Sequence[int],
        hidden: str | Sequence[str] = "relu",
        output: str = "softmax",
        init: str | float = "he",
        dtype: DTypeLike = "float32",
        dropout: float | Sequence[float] = 0.0,
    ) -> Architecture:
        """Return the architecture of these :class:`fastnn.MLP` arguments, checked.

        Raises
        ------
        TypeError, ValueError
            Naming the argument, what it got and what it needs.
        """
        widths = check_sizes(sizes)
        n_hidden = len(widths) - 2
        names = _check_hidden(hidden, n_hidden)
        if not isinstance(output, str) or output not in codes.OUTPUT_CODES:
            raise ValueError(f"output must be one of {sorted(codes.OUTPUT_CODES)}, got {output!r}")
        if output == "softmax" and widths[-1] < 2:
            raise ValueError(
                f"output='softmax' needs at least 2 output units, got sizes={list(widths)}; "
                "use output='sigmoid' for one binary output"
            )
        return cls(
            sizes=widths,
            hidden=tuple(names),
            output=output,
            init=_check_init(init),
            dtype=check_dtype(dtype),
            dropout=tuple(_check_dropout(dropout, n_hidden)),
        )

    # ------------------------------------------------------------ derived

    @property
    def loss_code(self) -> int:
        """int: the output/loss pair's code (:mod:`fastnn.kernels.codes`)."""
        return codes.OUTPUT_CODES[self.output]

    @property
    def is_classifier(self) -> bool:
        """bool: True for softmax and sigmoid outputs."""
        return self.loss_code != codes.MSE

    @property
    def n_params(self) -> int:
        """int: the number of parameters (weights and biases)."""
        return int(self.layout[-1, codes.B_OFFSET] + self.sizes[-1])

    @property
    def units(self) -> int:
        """int: the units of all layers but the input (the kernels' activation buffer)."""
        return int(self.layout[:, codes.FAN_OUT].sum())

    @property
    def dropout_rates(self) -> NDArray[np.float64]:
        """ndarray of float64: the dropout rate of each layer, as the kernels take it."""
        return np.array([*self.dropout, 0.0], dtype=np.float64)

    def inputs(self, X: Any, name: str = "X") -> NDArray[Any]:
        """Return ``X`` checked and cast as the kernels take it (``validation.as_matrix``)."""
        return as_matrix(name, X, self.sizes[0], self.dtype)

    def targets(self, T: Any, n_rows: int, name: str = "T") -> NDArray[Any]:
        """Return targets for ``n_rows`` rows, checked for this output (``validation.targets``)."""
        return targets(name, T, n_rows, self.sizes[-1], self.loss_code, self.dtype)

    def views(self, vector: NDArray[Any]) -> dict[str, NDArray[Any]]:
        """Return ``{"W1": ..., "b1": ..., ...}``: views into a vector of the parameters' layout."""
        views = {}
        for layer, row in enumerate(self.layout, start=1):
            fan_in, fan_out, w_start, b_start = (int(v) for v in row[:4])
            views[f"W{layer}"] = vector[w_start : w_start + fan_in * fan_out].reshape(
                fan_in, fan_out
            )
            views[f"b{layer}"] = vector[b_start : b_start + fan_out]
        return views

    def initialise(self, theta: NDArray[Any], rng: np.random.Generator) -> None:
        """Draw the initial weights into ``theta`` in place; biases are set to 0.

        Weights are ``std * rng.standard_normal`` (std ``sqrt(2/fan_in)`` for "he",
        ``sqrt(1/fan_in)`` for "xavier", else ``init``), drawn in float64 chunk by
        chunk and rounded into ``theta``'s dtype, so that no temporary is larger
        than a chunk: the same numbers as one draw of the whole matrix.

        Raises
        ------
        ValueError
            If a weight is beyond the range of the dtype (a huge float ``init``).
        """
        from fastnn.kernels import first_non_finite

        for layer, row in enumerate(self.layout, start=1):
            fan_in, fan_out, w_start, b_start = (int(v) for v in row[:4])
            if self.init == "he":
                std = np.sqrt(2.0 / fan_in)
            elif self.init == "xavier":
                std = np.sqrt(1.0 / fan_in)
            else:
                std = float(self.init)
            weights = theta[w_start : w_start + fan_in * fan_out]
            for start in range(0, weights.shape[0], INIT_CHUNK):
                chunk = weights[start : start + INIT_CHUNK]
                draws = rng.standard_normal(chunk.shape[0])
                draws *= std
                with np.errstate(over="ignore"):
                    chunk[...] = draws
            theta[b_start : b_start + fan_out] = 0
            if first_non_finite(weights) >= 0:
                raise ValueError(
                    f"init={self.init!r} gives weights beyond the range of {self.dtype.name} "
                    f"(layer {layer}); use a smaller std or dtype='float64'"
                )


def _layout(sizes: Sequence[int], hidden: Sequence[str]) -> NDArray[np.int64]:
    """The kernels' layer table (columns: :mod:`fastnn.kernels.codes`)."""
    rows = []
    offset = 0
    unit_offset = 0
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        activation = codes.ACTIVATION_CODES[hidden[layer]] if layer < len(hidden) else 0
        rows.append([fan_in, fan_out, offset, offset + fan_in * fan_out, activation, unit_offset])
        offset += fan_in * fan_out + fan_out
        unit_offset += fan_out
    return np.array(rows, dtype=np.int64)


def check_sizes(sizes: Any) -> tuple[int, ...]:
    """Return layer widths as a tuple of ints if they are valid, else raise naming ``sizes``."""
    if isinstance(sizes, (str, bytes)):
        # A string is a sequence too, of characters: name the mistake, not sizes[0].
        raise TypeError(
            f"sizes must be a list of layer widths such as [784, 100, 10], got the string {sizes!r}"
        )
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a sequence of layer widths, got {sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least 2 entries (inputs, outputs), got {sizes!r}")
    for position, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"sizes[{position}] must be an integer, got {size!r}")
        if int(size) < 1:
            raise ValueError(f"sizes[{position}] must be >= 1, got {size!r}")
        if int(size) > MAX_WIDTH:
            raise ValueError(f"sizes[{position}] must be <= {MAX_WIDTH:,}, got {size!r}")
    return tuple(int(size) for size in sizes)


def _check_hidden(hidden: Any, n_hidden: int) -> list[str]:
    if isinstance(hidden, str):
        names = [hidden] * n_hidden
    else:
        try:
            names = list(hidden)
        except TypeError:
            raise TypeError(
                "hidden must be an activation name or a list of names, one per hidden "
                f"layer, got {hidden!r}"
            ) from None
    if len(names) != n_hidden:
        raise ValueError(f"hidden has {len(names)} names, the network has {n_hidden} hidden layers")
    for position, name in enumerate(names):
        if not isinstance(name, str):
            raise TypeError(f"hidden[{position}] must be an activation name, got {name!r}")
        if name not in codes.ACTIVATION_CODES:
            raise ValueError(
                f"hidden: unknown activation {name!r}; choose one of "
                f"{sorted(codes.ACTIVATION_CODES)}"
            )
    return names


def _check_dropout(dropout: Any, n_hidden: int) -> list[float]:
    rates = [dropout] * n_hidden if isinstance(dropout, numbers.Real) else dropout
    try:
        if isinstance(rates, (str, bytes)):
            raise TypeError
        rates = list(rates)
    except TypeError:
        raise TypeError(
            f"dropout must be a rate or a list of rates, one per hidden layer, got {dropout!r}"
        ) from None
    if len(rates) != n_hidden:
        raise ValueError(
            f"dropout has {len(rates)} rates, the network has {n_hidden} hidden layers"
        )
    for position, rate in enumerate(rates):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
            raise TypeError(f"dropout[{position}] must be a number, got {rate!r}")
        if not is_finite_number(rate) or not 0 <= float(rate) < 1:
            raise ValueError(f"dropout[{position}] must be in [0, 1), got {rate!r}")
    return [float(rate) for rate in rates]


def _check_init(init: Any) -> str | float:
    if isinstance(init, str):
        if init not in ("he", "xavier"):
            raise ValueError(f"init must be 'he', 'xavier' or a float std, got {init!r}")
        return init
    if isinstance(init, bool) or not isinstance(init, numbers.Real):
        raise TypeError(f"init must be 'he', 'xavier' or a float std, got {init!r}")
    if not is_finite_number(init) or init <= 0:
        raise ValueError(f"init as a std must be a positive finite number, got {init!r}")
    return float(init)
