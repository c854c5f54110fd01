"""What the network options ask for: layer widths, the network, its optimizer and schedule.

Each function turns options into a fastnn object, or raises :class:`OptionError`
naming the option, before any data is trained on.
"""

import inspect
import os
from typing import Any

import numpy as np

from fastnn.cli.arguments import OPTIMIZER_NAMES
from fastnn.cli.common import CommandError, OptionError

# The forms --schedule takes: name, then up to two numbers after colons.
SCHEDULE_FORMS = (
    "step:EPOCHS[:GAMMA]",
    "exp:GAMMA",
    "cosine[:EPOCHS[:MIN_LR]]",
    "plateau[:FACTOR[:PATIENCE]]",
    "inverse-time:DECAY",
)


def parse_sizes(text: str, n_inputs: int, n_outputs: int) -> list[int]:
    """Layer widths from ``--sizes``: all of them (``"784,100,10"``, which must fit the
    data) or, with fewer than three entries, only the hidden ones (``"100"``)."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise OptionError(f"--sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise OptionError(f"--sizes must be positive integers, got {text!r}")
    if len(sizes) >= 2 and sizes[0] == n_inputs and sizes[-1] == n_outputs:
        return sizes
    if len(sizes) >= 3:
        raise OptionError(
            f"--sizes {text!r} does not fit the data, which has {n_inputs} inputs and "
            f"{n_outputs} outputs: give e.g. {n_inputs},100,{n_outputs}, or only the hidden "
            "widths"
        )
    return [n_inputs, *sizes, n_outputs]


def _physical_memory() -> int | None:
    """Bytes of RAM on this machine, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def check_network_size(sizes: list[int], dtype: str) -> None:
    """Refuse a network whose training would not fit in this machine's memory."""
    n_params = sum(
        (fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False)
    )
    # The weights, their gradient and up to two optimizer state vectors.
    needed = 4 * n_params * np.dtype(dtype).itemsize
    memory = _physical_memory()
    if memory is not None and needed > memory:
        raise OptionError(
            f"--sizes: the network {sizes} has {n_params:,} parameters and needs about "
            f"{needed / 1e9:,.1f} GB to train, more than this machine's {memory / 1e9:.1f} GB"
        )


def build_network(
    sizes: list[int],
    hidden: str,
    output: str,
    dtype: str,
    seed: int,
    init: str | float = "he",
    dropout: float | list[float] = 0.0,
) -> Any:
    """Return the MLP to train, or raise OptionError for a bad or oversized one."""
    from fastnn import MLP

    check_network_size(sizes, dtype)
    try:
        if isinstance(dropout, list) and len(dropout) == 1:
            dropout = dropout[0]  # one rate for every hidden layer
        return MLP(
            sizes,
            hidden=hidden,
            output=output,
            init=init,
            dtype=dtype,
            seed=seed,
            dropout=dropout,
        )
    except (TypeError, ValueError) as error:
        raise OptionError(str(error)) from None
    except MemoryError:
        raise CommandError(f"--sizes: not enough memory for the network {sizes}") from None


def _takes(name: str, parameter: str) -> bool:
    """True if the optimizer called ``name`` has the hyper-parameter ``parameter``."""
    from fastnn import optimizers

    return parameter in inspect.signature(type(optimizers.get(name)).__init__).parameters


def make_optimizer(
    name: str,
    lr: float | None,
    dtype: str,
    momentum: float | None = None,
    weight_decay: float | None = None,
) -> Any:
    """Return the optimizer ``--optimizer``, ``--lr``, ``--momentum`` and ``--weight-decay``
    ask for (None: the optimizer's default), or raise OptionError."""
    from fastnn import optimizers

    if lr is not None:
        with np.errstate(over="ignore", under="ignore"):
            in_dtype = np.dtype(dtype).type(lr)
        if not (np.isfinite(in_dtype) and in_dtype > 0):
            raise OptionError(
                f"--lr {lr:g} is not a positive finite {dtype} (it becomes {in_dtype}); "
                f"give a learning rate such as 0.01"
            )
    hyper = {} if lr is None else {"lr": lr}
    try:
        optimizers.get(name)  # an unknown name first, with the list of known ones
        for option, parameter, value in (
            ("--momentum", "momentum", momentum),
            ("--weight-decay", "weight_decay", weight_decay),
        ):
            if value is None:
                continue
            if not _takes(name, parameter):
                having = [other for other in OPTIMIZER_NAMES if _takes(other, parameter)]
                raise OptionError(
                    f"{option}: the optimizer {name!r} has no {parameter}; these have: "
                    f"{', '.join(having)}"
                )
            hyper[parameter] = value
        return optimizers.get(name, **hyper)
    except (TypeError, ValueError) as error:
        raise OptionError(str(error)) from None


def make_schedule(text: str | None, epochs: int, has_validation: bool = False) -> Any:
    """The schedule ``--schedule`` names (see :data:`SCHEDULE_FORMS`), or None.

    ``plateau`` watches the validation loss with ``--validation-split``, else the
    training loss (never the test set's).
    """
    from fastnn import schedules

    if text is None:
        return None
    try:
        return schedules.parse(text, epochs, has_validation=has_validation)
    except (TypeError, ValueError) as error:
        # parse() names the string as "schedule 'SPEC': ...": the option's name.
        message = str(error)
        prefix = f"schedule {text!r}: "
        detail = message[len(prefix) :] if message.startswith(prefix) else message
        raise OptionError(f"--schedule {text!r}: {detail}") from None
