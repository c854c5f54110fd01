"""The "what was trained" line of every chart title."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from fastnn.model import MLP
    from fastnn.optimizers import Optimizer


def describe_optimizer(optimizer: Optimizer | str) -> str:
    """Return "SGD lr=0.05 momentum=0.9": the class, lr, and what differs from the defaults.

    Parameters
    ----------
    optimizer : Optimizer or str
        A string is returned as it is.

    Returns
    -------
    str
    """
    if isinstance(optimizer, str):
        return optimizer
    parts = [type(optimizer).__name__]
    parameters: Mapping[str, inspect.Parameter]
    try:
        parameters = inspect.signature(type(optimizer).__init__).parameters
    except (TypeError, ValueError):
        parameters = {}
    for name, parameter in parameters.items():
        if name == "self" or not hasattr(optimizer, name):
            continue
        value = getattr(optimizer, name)
        if name != "lr" and parameter.default is not inspect.Parameter.empty:
            try:
                if bool(np.all(np.asarray(value) == np.asarray(parameter.default))):
                    continue
            except (TypeError, ValueError):
                pass
        shown = f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)
        parts.append(f"{name}={shown}")
    return " ".join(parts)


def describe_training(
    net: MLP | None = None,
    optimizer: Optimizer | str | None = None,
    *,
    batch_size: int | Literal["full"] | None = None,
    data: str | None = None,
) -> str:
    """Return a one-line description of what was trained, for a chart's title.

    Parameters
    ----------
    net : MLP, optional
        Gives "64-64-10 relu/softmax": the widths, then the hidden and output
        activations; then "dropout 0.2" if it drops hidden units.
    optimizer : Optimizer or str, optional
        Gives "SGD lr=0.05", with any hyper-parameter that differs from its
        default ("momentum=0.9").
    batch_size : int or "full", optional
        1 gives "per sample", k "batch k", "full" "full batch".
    data : str, optional
        What the network was trained on, as it should read ("8x8 digits").

    Returns
    -------
    str
        The parts given, joined by ", ".

    Examples
    --------
    >>> net = MLP([64, 64, 10], hidden="relu", output="softmax")  # doctest: +SKIP
    >>> describe_training(net, SGD(lr=0.05), batch_size=1, data="8x8 digits")  # doctest: +SKIP
    '64-64-10 relu/softmax, SGD lr=0.05, per sample, 8x8 digits'
    """
    parts = []
    if net is not None:
        try:
            sizes, hidden, output = net.sizes, net.hidden, net.output
        except AttributeError:
            raise TypeError(f"net must be a fastnn MLP, got {type(net).__name__}") from None
        activations = [*dict.fromkeys(hidden), output]  # each hidden activation once
        parts.append("-".join(str(size) for size in sizes) + " " + "/".join(activations))
        rates = list(getattr(net, "dropout", None) or [])
        if any(rates):
            shown = f"{rates[0]:g}" if len(set(rates)) == 1 else "/".join(f"{r:g}" for r in rates)
            parts.append(f"dropout {shown}")
    if optimizer is not None:
        parts.append(describe_optimizer(optimizer))
    if batch_size is not None:
        if batch_size == "full":
            parts.append("full batch")
        elif isinstance(batch_size, numbers.Integral) and not isinstance(batch_size, bool):
            parts.append("per sample" if batch_size == 1 else f"batch {batch_size}")
        else:
            raise TypeError(f"batch_size must be an int, 'full' or None, got {batch_size!r}")
    if data is not None:
        parts.append(str(data))
    return ", ".join(parts)
