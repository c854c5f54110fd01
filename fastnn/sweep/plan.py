"""A sweep's plan: its configurations checked, their networks made, grouped, and the data cast.

Configurations that can share a compiled loop (same layer widths, activations, output,
dtype, batch size, optimizer kind, and the same per-sample loop, generic or generated
for the layout) form a *group*: each epoch of a group is one kernel call.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import itertools
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fastnn import optimizers as optimizers_module
from fastnn.network.architecture import Architecture
from fastnn.network.state import NetworkState
from fastnn.training.engine import sample_loop
from fastnn.training.history import History
from fastnn.validation import check_int

__all__ = [
    "FIT_KEYS",
    "HYPER_KEYS",
    "KEYS",
    "METRICS",
    "MLP_KEYS",
    "Data",
    "Divergence",
    "Trial",
    "Outcome",
    "as_config_list",
    "expand_grid",
    "plan",
]

#: Keys of a configuration that are :class:`MLP` arguments.
MLP_KEYS = (
    "sizes",
    "hidden",
    "output",
    "init",
    "dtype",
    "seed",
    "backend",
    "specialise",
    "dropout",
)
#: Keys of a configuration that are :meth:`MLP.fit` arguments.
FIT_KEYS = ("optimizer", "batch_size", "epochs", "shuffle")
#: Every hyper-parameter some optimizer takes (``lr``, ``momentum``, ``betas``, ...).
HYPER_KEYS = tuple(
    dict.fromkeys(
        name
        for cls in optimizers_module.available().values()
        for name in inspect.signature(cls.__init__).parameters
        if name != "self"
    )
)
KEYS = ("name", *MLP_KEYS, *FIT_KEYS, *HYPER_KEYS)

#: Metrics of :meth:`SweepResults.best`: True where larger is better.
METRICS = {"loss": False, "val_loss": False, "train_acc": True, "val_acc": True}


def expand_grid(grid: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every combination of a dict of lists, like scikit-learn's ``ParameterGrid``.

    Parameters
    ----------
    grid : dict
        Configuration keys to a **list** of choices; any other value (a string, a
        number, a tuple) is one fixed choice. ``sizes`` choices are lists of widths:
        ``{"sizes": [[784, 40, 10], [784, 100, 10]], "lr": [0.01, 0.1]}``.

    Returns
    -------
    list of dict
        One configuration per combination; the last key varies fastest.
    """
    if not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict of lists, got {type(grid).__name__}")
    choices = []
    for key, value in grid.items():
        if not isinstance(value, list):
            value = [value]
        elif not value:
            raise ValueError(f"configs[{key!r}] is an empty list of choices; give at least one")
        elif key == "sizes" and all(isinstance(item, numbers.Integral) for item in value):
            raise ValueError(
                f"configs['sizes'] is {value!r}: in a grid, each key holds a list of choices, "
                f"so one layout is written [{value!r}]"
            )
        choices.append(value)
    return [
        dict(zip(grid, combination, strict=True)) for combination in itertools.product(*choices)
    ]


def as_config_list(configs: Any) -> list[dict[str, Any]]:
    """Return ``configs`` as a list of configuration dicts (a grid expanded), checked."""
    if isinstance(configs, dict):
        configs = expand_grid(configs)
    elif isinstance(configs, (list, tuple)):
        configs = list(configs)
    else:
        raise TypeError(
            f"configs must be a list of dicts (one per configuration) or a dict of lists (a "
            f"grid), got {type(configs).__name__}"
        )
    if not configs:
        raise ValueError("configs is empty: give at least one configuration")
    for index, config in enumerate(configs):
        if not isinstance(config, dict):
            raise TypeError(
                f"configs[{index}] must be a dict of MLP and fit arguments, got "
                f"{type(config).__name__}"
            )
    return configs


#: How a network's training diverged: (epoch, step, loss, message), as the
#: :class:`TrainingDivergedError` that ``fit`` would have raised says it.
Divergence = tuple[int | None, int | None, float | None, str]


@dataclass
class Trial:
    """One configuration, ready to train: its network, optimizer, fit arguments and outcome."""

    index: int
    network: NetworkState
    optimizer: optimizers_module.Optimizer
    epochs: int
    batch_size: int | None  # None (full batch) until plan() knows the row count
    shuffle: bool
    history: History = field(default_factory=History)
    diverged: Divergence | None = None
    seconds: float = 0.0

    def outcome(self) -> Outcome:
        """What a worker sends back for this configuration."""
        return Outcome(self.index, self.network, self.history, self.diverged, self.seconds)


@dataclass
class Outcome:
    """What a worker sends back for one configuration."""

    index: int
    network: NetworkState
    history: History
    diverged: Divergence | None
    seconds: float


def _build_optimizer(config):
    name = config.get("optimizer", "sgd")
    hyper = {key: config[key] for key in HYPER_KEYS if key in config}
    if isinstance(name, optimizers_module.Optimizer):
        if hyper:
            raise TypeError(
                f"hyper-parameters {sorted(hyper)} given with an optimizer object "
                f"({name!r}); give the optimizer by name, or set them on the object"
            )
        # A copy: configurations never share optimizer state, and the caller's
        # object is left as it was.
        return copy.deepcopy(name)
    default = optimizers_module.get(name)
    accepted = [key for key in inspect.signature(type(default).__init__).parameters][1:]
    for key in hyper:
        if key not in accepted:
            raise ValueError(
                f"{key!r} is not a hyper-parameter of {type(default).__name__} (it takes "
                f"{', '.join(accepted)})"
            )
    return optimizers_module.get(name, **hyper)


def _trial(index: int, config: dict[str, Any], defaults: dict[str, Any]) -> Trial:
    unknown = [key for key in config if key not in KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), KEYS, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown key {unknown[0]!r}{hint}; a configuration takes {', '.join(MLP_KEYS)} "
            f"(MLP), {', '.join(FIT_KEYS)} (fit), the optimizer's hyper-parameters "
            f"({', '.join(HYPER_KEYS)}) and a display 'name'"
        )
    if "sizes" not in config:
        raise ValueError("missing 'sizes', the layer widths (e.g. [784, 40, 10])")
    if "name" in config and not isinstance(config["name"], str):
        raise TypeError(f"'name' must be a string, got {config['name']!r}")
    mlp_args = {key: config[key] for key in MLP_KEYS if key in config}
    mlp_args.setdefault("seed", defaults["seed"])
    network = _network(**mlp_args)
    optimizer = _build_optimizer(config)
    # Checks the hyper-parameters in the network's dtype.
    optimizer.bind(network.architecture.n_params, network.architecture.dtype)
    network.optimizer = optimizer  # as fit sets it, before its first epoch
    epochs = check_int("epochs", config.get("epochs", defaults["epochs"]), minimum=1)
    batch_size = config.get("batch_size", defaults["batch_size"])
    if batch_size is not None:  # None: full batch, resolved once the data are cast
        batch_size = check_int("batch_size", batch_size, minimum=1)
    shuffle = config.get("shuffle", defaults["shuffle"])
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
    return Trial(index, network, optimizer, epochs, batch_size, bool(shuffle))


def _network(
    sizes: Any,
    hidden: Any = "relu",
    output: Any = "softmax",
    init: Any = "he",
    dtype: Any = "float32",
    seed: Any = None,
    backend: Any = "numba",
    specialise: Any = "auto",
    dropout: Any = 0.0,
) -> NetworkState:
    """The network ``MLP(**mlp_args)`` would make (same arguments, defaults and checks)."""
    architecture = Architecture.checked(sizes, hidden, output, init, dtype, dropout)
    return NetworkState.create(architecture, seed, backend, specialise)


class Data:
    """The training (and validation) arrays, cast once per dtype and target encoding.

    ``MLP`` takes integer labels or one-hot rows, float32 or float64; a sweep may mix
    networks of both dtypes or widths. Each form is made once and shared by every
    network that uses it (the kernels only read it).
    """

    def __init__(self):
        self.inputs = {}
        self.targets = {}
        self.has_validation = False

    def add(self, network: NetworkState, X: Any, T: Any, validation_data: Any) -> None:
        """Cast ``(X, T)`` and the validation data for ``network``, unless done already."""
        architecture = network.architecture
        dtype = architecture.dtype.name
        target_key = (dtype, architecture.sizes[-1], architecture.loss_code)
        for prefix, inputs, targets in (("", X, T), ("val", *(validation_data or (None, None)))):
            if inputs is None:
                continue
            names = ("X", "T") if not prefix else ("validation_data[0]", "validation_data[1]")
            if (prefix, dtype) not in self.inputs:
                self.inputs[prefix, dtype] = architecture.inputs(inputs, names[0])
            else:
                # Same dtype: only the width can differ, and the check is free.
                _check_width(names[0], self.inputs[prefix, dtype], architecture.sizes[0])
            if (prefix, *target_key) not in self.targets:
                n_rows = self.inputs[prefix, dtype].shape[0]
                self.targets[(prefix, *target_key)] = architecture.targets(
                    targets, n_rows, names[1]
                )
        self.has_validation = validation_data is not None

    def arrays(self, network: NetworkState) -> tuple[Any, Any, Any]:
        """Return ``(X, T, validation)`` for ``network``, as ``fit`` would have cast them."""
        architecture = network.architecture
        dtype = architecture.dtype.name
        target_key = (dtype, architecture.sizes[-1], architecture.loss_code)
        X, T = self.inputs["", dtype], self.targets[("", *target_key)]
        validation = None
        if self.has_validation:
            validation = (self.inputs["val", dtype], self.targets[("val", *target_key)])
        return X, T, validation


def _check_width(name, array, n_inputs):
    if array.shape[1] != n_inputs:
        raise ValueError(
            f"{name} has {array.shape[1]} columns (shape {array.shape}), the network needs "
            f"{n_inputs}"
        )


def _group_key(trial: Trial, n_rows: int) -> tuple[Any, ...]:
    """What networks must share to train in one kernel call."""
    network, opt = trial.network, trial.optimizer
    architecture = network.architecture
    loop_key = None
    if trial.batch_size == 1:
        hyper = opt.hyper_vector(architecture.dtype)
        loop_key = sample_loop(network, opt.code, hyper, n_rows, trial.epochs).key
    return (
        network.backend,
        architecture.layout.tobytes(),
        architecture.loss_code,
        architecture.dtype.name,
        trial.batch_size,
        opt.code,
        loop_key,
    )


def plan(
    X: Any, T: Any, configs: list[dict[str, Any]], validation_data: Any, defaults: dict[str, Any]
) -> tuple[list[Trial], list[list[Trial]], Data]:
    """Check every configuration and the data before any training; group the networks.

    Returns ``(trials, groups, data)``; ``groups`` is a list of lists of trials.
    """
    if validation_data is not None and (
        not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2
    ):
        raise TypeError("validation_data must be a tuple (X_val, T_val)")
    data = Data()
    trials: list[Trial] = []
    groups: dict[tuple[Any, ...], list[Trial]] = {}
    for index, config in enumerate(configs):
        try:
            trial = _trial(index, config, defaults)
            data.add(trial.network, X, T, validation_data)
        except (TypeError, ValueError) as error:
            raise type(error)(f"configs[{index}]: {error}") from None
        n_rows = data.arrays(trial.network)[0].shape[0]
        trial.batch_size = min(trial.batch_size or n_rows, n_rows)
        trials.append(trial)
        groups.setdefault(_group_key(trial, n_rows), []).append(trial)
    return trials, list(groups.values()), data
