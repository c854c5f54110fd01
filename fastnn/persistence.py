"""Saving and loading networks as plain ``.npz`` archives (never pickles)."""

import json
import zipfile
from pathlib import Path

import numpy as np

from fastnn import optimizers as optimizers_module
from fastnn._atomic import atomic_write

FORMAT = "fastnn.MLP"
FORMAT_VERSION = 1
_REQUIRED = (
    "format",
    "format_version",
    "sizes",
    "hidden",
    "output",
    "init",
    "dtype",
    "theta",
    "rng_state",
)


def save_model(net, path):
    """Write ``net`` to ``path`` atomically (see :meth:`fastnn.MLP.save`)."""
    path = Path(path)
    arrays = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "sizes": np.array(net.sizes, dtype=np.int64),
        "hidden": np.array(net.hidden, dtype=str).reshape(-1),
        "output": np.array(net.output),
        "init": np.array(json.dumps(net.init)),
        "dtype": np.array(net.dtype.name),
        "backend": np.array(net.backend),
        "seed": np.array(json.dumps(net.seed)),
        "theta": net.theta,
        "rng_state": np.array(json.dumps(net.rng.bit_generator.state)),
    }
    optimizer = net.optimizer_
    if optimizer is not None:
        arrays["optimizer_name"] = np.array(optimizer.name)
        arrays["optimizer_params"] = np.array(json.dumps(optimizer.get_params()))
        arrays["optimizer_step"] = np.array(int(optimizer.step_[0]), dtype=np.int64)
        if optimizer.state_ is not None:
            arrays["optimizer_state"] = optimizer.state_
    with atomic_write(path) as stream:
        np.savez(stream, **arrays)


def _text(arrays, key):
    value = arrays[key]
    if value.dtype.kind != "U" or value.ndim != 0:
        raise ValueError(f"'{key}' should be a text field, got {value.dtype} {value.shape}")
    return str(value[()])


def _json(arrays, key):
    try:
        return json.loads(_text(arrays, key))
    except json.JSONDecodeError as error:
        raise ValueError(f"'{key}' is not valid JSON ({error})") from None


def load_model(cls, path):
    """Read a network written by :func:`save_model` (see :meth:`fastnn.MLP.load`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ValueError(
            f"{path}: not a readable fastnn model file (truncated, corrupt or not an .npz "
            f"archive: {error})"
        ) from None
    try:
        return _build(cls, arrays)
    except (KeyError, TypeError, ValueError) as error:
        message = error.args[0] if error.args else repr(error)
        if isinstance(error, KeyError):
            message = f"missing field {message!r}"
        raise ValueError(f"{path}: not a valid fastnn model file: {message}") from None


def _build(cls, arrays):
    missing = [key for key in _REQUIRED if key not in arrays]
    if missing:
        raise ValueError(f"missing fields {missing} (a file from another program?)")
    if _text(arrays, "format") != FORMAT:
        raise ValueError(f"format is {_text(arrays, 'format')!r}, expected {FORMAT!r}")
    version = int(arrays["format_version"])
    if version > FORMAT_VERSION:
        raise ValueError(
            f"format version {version} is newer than this fastnn reads ({FORMAT_VERSION}); "
            "upgrade fastnn"
        )
    sizes = arrays["sizes"]
    if sizes.dtype.kind not in "iu" or sizes.ndim != 1:
        raise ValueError(f"'sizes' must be a 1-D integer array, got {sizes.dtype} {sizes.shape}")
    hidden = [str(name) for name in arrays["hidden"]]
    net = cls(
        [int(size) for size in sizes],
        hidden=hidden,
        output=_text(arrays, "output"),
        init=_json(arrays, "init"),
        dtype=_text(arrays, "dtype"),
        seed=_json(arrays, "seed") if "seed" in arrays else None,
        backend=_text(arrays, "backend") if "backend" in arrays else "numba",
    )
    theta = arrays["theta"]
    if theta.shape != net.theta.shape or theta.dtype != net.dtype:
        raise ValueError(
            f"'theta' has {theta.dtype} {theta.shape}, the architecture needs "
            f"{net.dtype} {net.theta.shape}"
        )
    if not np.all(np.isfinite(theta)):
        raise ValueError("'theta' contains NaN or inf")
    net.theta[...] = theta
    net.rng.bit_generator.state = _json(arrays, "rng_state")
    if "optimizer_name" in arrays:
        optimizer = optimizers_module.get(
            _text(arrays, "optimizer_name"), **_json(arrays, "optimizer_params")
        )
        state = arrays.get("optimizer_state")
        optimizer.load_state_dict(
            {
                "name": optimizer.name,
                "params": optimizer.get_params(),
                "step": int(arrays["optimizer_step"]),
                "state": state,
            }
        )
        if state is not None:
            optimizer.bind(net.n_params, net.dtype)
        net.optimizer_ = optimizer
    return net
