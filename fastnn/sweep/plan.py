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

from fastnn import codegen
from fastnn import optimizers as optimizers_module
from fastnn.network.architecture import Architecture
from fastnn.network.state import (
    BACKENDS,
    NetworkState,
    check_backend,
    check_seed,
    check_specialise,
)
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
    "SWEEP_STEP_LIMIT",
    "as_config_list",
    "compact_state",
    "expand_state",
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


#: The step record a sweep keeps per configuration (points of float64: 64 KiB); see
#: :class:`fastnn.History`. Charts of a sweep show epochs; per-step detail is ``fit``'s.
SWEEP_STEP_LIMIT = 1 << 13


@dataclass
class Trial:
    """One configuration, ready to train: what its network will be, its optimizer, fit
    arguments and outcome.

    The network itself (weights, optimizer state) is made only when the trial starts
    training (:meth:`start`), so that a sweep holds the weights of the networks it is
    training, not of every configuration at once.
    """

    index: int
    architecture: Architecture
    seed: int | None
    backend: str
    specialise: Any
    optimizer: optimizers_module.Optimizer
    epochs: int
    batch_size: int | None  # None (full batch) until plan() knows the row count
    shuffle: bool
    network: NetworkState | None = None
    history: History = field(default_factory=lambda: History(step_limit=SWEEP_STEP_LIMIT))
    diverged: Divergence | None = None
    seconds: float = 0.0

    def start(self) -> NetworkState:
        """Make the network (as ``MLP(**config)`` would) and bind its optimizer, as fit does."""
        network = NetworkState.create(self.architecture, self.seed, self.backend, self.specialise)
        self.optimizer.bind(self.architecture.n_params, self.architecture.dtype)
        network.optimizer = self.optimizer  # as fit sets it, before its first epoch
        self.network = network
        return network

    def outcome(self) -> Outcome:
        """What a worker sends back for this configuration: the network kept compactly."""
        network = self.network
        if network is None:
            raise RuntimeError(f"configuration {self.index} has not started training")
        kept_state = compact_state(self.optimizer)
        return Outcome(self.index, network, self.history, self.diverged, self.seconds, kept_state)


@dataclass
class Outcome:
    """What a worker sends back for one configuration.

    ``network.optimizer.state_`` is None: ``kept_state`` holds its rows that are not
    all zero (an optimizer uses 0 to 3 of them), and :func:`expand_state` puts them
    back when the network is asked for.
    """

    index: int
    network: NetworkState
    history: History
    diverged: Divergence | None
    seconds: float
    kept_state: tuple[Any, ...] | None = None


def compact_state(optimizer: optimizers_module.Optimizer) -> tuple[Any, ...] | None:
    """Take the optimizer's state out of it; return ``(rows, values)`` of its non-zero rows.

    Plain SGD uses none of the state rows, Adam two: a finished configuration then
    keeps only what it has. None if the optimizer has no state.
    """
    state = optimizer.state_
    if state is None:
        return None
    rows = np.flatnonzero(np.any(state != 0, axis=1))
    kept = (state.shape, rows, np.ascontiguousarray(state[rows]))
    optimizer.state_ = None
    return kept


def expand_state(optimizer: optimizers_module.Optimizer, kept: Any) -> None:
    """Give ``optimizer`` back the full state :func:`compact_state` took from it."""
    if kept is None or optimizer.state_ is not None:
        return
    shape, rows, values = kept
    state = np.zeros(shape, dtype=values.dtype)
    state[rows] = values
    optimizer.state_ = state


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
    architecture, seed, backend, specialise = _network_arguments(**mlp_args)
    optimizer = _build_optimizer(config)
    # Checks the hyper-parameters in the network's dtype (without allocating state).
    optimizer.hyper_vector(architecture.dtype)
    epochs = check_int("epochs", config.get("epochs", defaults["epochs"]), minimum=1)
    batch_size = config.get("batch_size", defaults["batch_size"])
    if batch_size is not None:  # None: full batch, resolved once the data are cast
        batch_size = check_int("batch_size", batch_size, minimum=1)
    shuffle = config.get("shuffle", defaults["shuffle"])
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
    return Trial(
        index,
        architecture,
        seed,
        backend,
        specialise,
        optimizer,
        epochs,
        batch_size,
        bool(shuffle),
    )


def _network_arguments(
    sizes: Any,
    hidden: Any = "relu",
    output: Any = "softmax",
    init: Any = "he",
    dtype: Any = "float32",
    seed: Any = None,
    backend: Any = "numba",
    specialise: Any = "auto",
    dropout: Any = 0.0,
) -> tuple[Architecture, int | None, str, Any]:
    """What ``MLP(**mlp_args)`` would make a network of (same arguments, defaults, checks).

    A float ``init`` may draw weights beyond the dtype's range, which only drawing
    them shows: such a network is made once here, checked and dropped.
    """
    architecture = Architecture.checked(sizes, hidden, output, init, dtype, dropout)
    seed = check_seed(seed)
    backend, specialise = check_backend(backend), check_specialise(specialise)
    if not isinstance(architecture.init, str):
        NetworkState.create(architecture, seed, backend, specialise)
    return architecture, seed, backend, specialise


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

    def add(self, architecture: Architecture, X: Any, T: Any, validation_data: Any) -> None:
        """Cast ``(X, T)`` and the validation data for ``architecture``, unless done already."""
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

    def arrays(self, architecture: Architecture) -> tuple[Any, Any, Any]:
        """Return ``(X, T, validation)`` for ``architecture``, as ``fit`` would have cast them."""
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
    architecture, opt = trial.architecture, trial.optimizer
    loop_key = None
    if trial.batch_size == 1:
        hyper = opt.hyper_vector(architecture.dtype)
        loop_key = codegen.sample_loop(
            BACKENDS[trial.backend],
            architecture.sizes,
            architecture.layout,
            architecture.loss_code,
            architecture.dtype,
            opt.code,
            hyper,
            specialise=trial.specialise,
            backend=trial.backend,
            n_rows=n_rows,
            dropout=architecture.dropout,
            epochs=trial.epochs,
        ).key
    return (
        trial.backend,
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
            data.add(trial.architecture, X, T, validation_data)
        except (TypeError, ValueError) as error:
            raise type(error)(f"configs[{index}]: {error}") from None
        n_rows = data.arrays(trial.architecture)[0].shape[0]
        trial.batch_size = min(trial.batch_size or n_rows, n_rows)
        trials.append(trial)
        groups.setdefault(_group_key(trial, n_rows), []).append(trial)
    return trials, list(groups.values()), data
