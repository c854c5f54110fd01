"""Saving and loading networks as plain ``.npz`` archives (never pickles).

A model file is a zip archive of ``.npy`` members, as :func:`numpy.savez` writes
it. :func:`load_model` trusts nothing in it. A file is complete and consistent,
or it is refused with a ``ValueError`` that says what is wrong:

- Only regular files are opened, without blocking: a directory, FIFO or device
  is named as such.
- The zip's table of members is checked before any member is read. Every member
  must be one the format defines: no unknown, duplicate, encrypted or
  exotically compressed ones. Each member's declared size must be one its
  compressed bytes can hold.
- Each member's ``.npy`` header (read with :mod:`numpy.lib.format`) must declare
  the dtype and shape its field needs. The network's size comes from ``sizes``,
  and ``theta`` and ``optimizer_state`` must have exactly that size. So nothing
  is allocated that the file does not hold.
- Values are then checked: versions, JSON fields, finiteness, the optimizer's
  hyper-parameters, step and state, and the random generator's state.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import struct
import zipfile
import zlib
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from fastnn import optimizers as optimizers_module
from fastnn.io.atomic import atomic_write, file_kind, path_text
from fastnn.kernels.codes import STATE_ROWS
from fastnn.network.architecture import Architecture, check_sizes
from fastnn.network.state import NetworkState
from fastnn.validation import DTYPES, check_dtype

FORMAT = "fastnn.MLP"
FORMAT_VERSION = 2

# Every model file has these members (as NAME.npy)...
_NETWORK_FIELDS_V1 = (
    "format",
    "format_version",
    "sizes",
    "hidden",
    "output",
    "init",
    "dtype",
    "backend",
    "seed",
    "theta",
    "rng_state",
)
# ...and from version 2 on, the dropout rates and key (version 1 had none).
_NETWORK_FIELDS = (*_NETWORK_FIELDS_V1, "dropout", "dropout_key")
# ...and a network saved after training has these too. optimizer_state is
# absent only for an optimizer that holds no state (reset, step 0).
_OPTIMIZER_FIELDS = ("optimizer_name", "optimizer_params", "optimizer_step", "optimizer_state")
_FIELDS = _NETWORK_FIELDS + _OPTIMIZER_FIELDS
# theta and optimizer_state are as large as the network; every other member is
# small (sizes and hidden take about 50 bytes per layer, the JSON fields a few
# hundred), so a larger one is refused before it is read.
_LARGE_FIELDS = ("theta", "optimizer_state")
_SMALL_MEMBER_BYTES = 1 << 20
# numpy's own limit for parsing a .npy header safely.
_HEADER_BYTES = 10_000
# Deflate cannot expand data by more than 1032:1 (RFC 1951's longest match per
# shortest code); a member declaring more than that is corrupt or crafted.
_DEFLATE_RATIO = 1032
_ENCRYPTED_FLAGS = 0x1 | 0x40  # traditional and strong encryption
_PATCHED_DATA_FLAG = 0x20


class _RefusedError(ValueError):
    """A model file that is readable but not a complete, consistent fastnn model."""


class _UnreadableError(ValueError):
    """A model file whose zip or .npy structure is broken (truncated, corrupt, foreign)."""


# What zipfile, zlib and numpy.lib.format raise for broken input.
_BROKEN = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    NotImplementedError,  # zip version, compression method
    RuntimeError,  # encrypted member
    zlib.error,
    struct.error,
    OverflowError,
    ValueError,  # .npy headers
)


def save_model(net: NetworkState, path: str | bytes | os.PathLike[str]) -> None:
    """Write the network ``net`` to ``path`` atomically (see :meth:`fastnn.MLP.save`)."""
    architecture = net.architecture
    # Any: mypy checks **arrays against savez's own keyword arguments otherwise.
    arrays: dict[str, Any] = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "sizes": np.array(architecture.sizes, dtype=np.int64),
        "hidden": np.array(architecture.hidden, dtype=str).reshape(-1),
        "output": np.array(architecture.output),
        "init": np.array(json.dumps(architecture.init)),
        "dtype": np.array(architecture.dtype.name),
        "backend": np.array(net.backend),
        "seed": np.array(json.dumps(net.seed)),
        "theta": net.theta,
        "rng_state": np.array(json.dumps(net.rng.bit_generator.state)),
        "dropout": np.array(json.dumps(list(architecture.dropout))),
        "dropout_key": np.array(net.dropout_key, dtype=np.uint64),
    }
    optimizer = net.optimizer
    if optimizer is not None:
        step, state = _savable_optimizer(optimizer, net)
        arrays["optimizer_name"] = np.array(optimizer.name)
        arrays["optimizer_params"] = np.array(json.dumps(optimizer.get_params()))
        arrays["optimizer_step"] = np.array(step, dtype=np.int64)
        if state is not None:
            arrays["optimizer_state"] = state
    with atomic_write(path) as stream:
        np.savez(stream, **arrays)


def _savable_optimizer(optimizer, net):
    """Return the step count and state to save, checked as :func:`load_model` checks them.

    ``net.optimizer_`` is a public object a user may have edited after ``fit``;
    writing it unchecked gave files that save wrote and load refused.
    """
    architecture = net.architecture
    try:
        step, state = optimizer.checked(architecture.n_params, architecture.dtype)
        if state is None and step != 0:
            raise ValueError(
                f"optimizer.state_ is None after {step} steps; call optimizer.reset() to "
                "start from fresh state"
            )
    except (TypeError, ValueError) as error:
        raise type(error)(f"save: the network's optimizer cannot be saved: {error}") from None
    return step, state


def load_model(path: str | bytes | os.PathLike[str]) -> NetworkState:
    """Read a network written by :func:`save_model` (see :meth:`fastnn.MLP.load`)."""
    shown = path_text(path)
    with _open_regular_file(shown) as stream:
        if stream.read(len(npy_format.MAGIC_PREFIX)) == npy_format.MAGIC_PREFIX:
            raise ValueError(
                f"{shown}: a single .npy array, not a fastnn model file (an .npz archive "
                "written by MLP.save)"
            )
        stream.seek(0)
        try:
            archive = zipfile.ZipFile(stream)
        except _BROKEN as error:
            raise _unreadable(shown, error) from None
        except OSError as error:
            if error.errno != errno.EINVAL:  # a seek to an offset no file has
                raise
            raise _unreadable(shown, error) from None
        with archive:
            try:
                return _build(_Members(archive, stream))
            except _UnreadableError as error:
                raise _unreadable(shown, error) from None
            except (ValueError, TypeError) as error:  # also from MLP and optimizer checks
                message = error.args[0] if error.args else repr(error)
                raise ValueError(f"{shown}: not a valid fastnn model file: {message}") from None


def _unreadable(shown, error):
    return ValueError(
        f"{shown}: not a readable fastnn model file (truncated, corrupt or not an .npz "
        f"archive: {error})"
    )


def _open_regular_file(shown):
    """Open ``shown`` for reading if it is a regular file; never block on a FIFO."""
    try:
        info = os.stat(shown)
    except FileNotFoundError:
        raise FileNotFoundError(f"{shown}: no such model file") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{shown} is {file_kind(info.st_mode)}, not a model file")
    # O_NONBLOCK: should the path become a FIFO after the stat, opening it
    # returns at once instead of waiting for a writer; the fstat then refuses it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(shown, flags)
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise ValueError(f"{shown} is {file_kind(mode)}, not a model file")
    return os.fdopen(descriptor, "rb")


def _check_entry_count(stream, archive_bytes, comment, n_read):
    """Refuse a zip whose directory lists more members than zipfile could read.

    zipfile stops reading the central directory where its declared size ends,
    so one damaged length field there can hide the members after it (a model
    would load without its optimizer). The end record, which zipfile has
    already found, still states how many there are.
    """
    stream.seek(archive_bytes - zipfile.sizeEndCentDir - len(comment))
    record = stream.read(zipfile.sizeEndCentDir)
    if len(record) != zipfile.sizeEndCentDir:
        raise _UnreadableError("the zip's end record is truncated")
    fields = struct.unpack(zipfile.structEndArchive, record)
    declared = fields[4]  # total entries; 0xFFFF means "see the zip64 record"
    if fields[0] != zipfile.stringEndArchive or declared != min(n_read, 0xFFFF):
        raise _RefusedError(
            f"the zip's directory declares {declared} members but {n_read} could be read "
            "(a damaged directory)"
        )


class _Members:
    """The archive's members, checked from the zip's table before any is read."""

    def __init__(self, archive, stream):
        self.archive = archive
        self.infos = {}
        archive_bytes = os.fstat(stream.fileno()).st_size
        infos = archive.infolist()
        _check_entry_count(stream, archive_bytes, archive.comment, len(infos))
        unknown = []
        for info in infos:
            name = info.filename
            field = name[: -len(".npy")] if name.endswith(".npy") else None
            if field not in _FIELDS:
                unknown.append(name)
                continue
            if field in self.infos:
                raise _RefusedError(f"member {name!r} appears twice")
            self._check_entry(name, info, archive_bytes)
            self.infos[field] = info
        self.unknown = unknown

    @staticmethod
    def _check_entry(name, info, archive_bytes):
        if info.flag_bits & _ENCRYPTED_FLAGS:
            raise _RefusedError(f"member {name!r} is encrypted; fastnn model files never are")
        if info.flag_bits & _PATCHED_DATA_FLAG:
            raise _RefusedError(
                f"member {name!r} holds zip 'patched data', which fastnn never writes"
            )
        if info.compress_type == zipfile.ZIP_STORED:
            most = info.compress_size
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            most = info.compress_size * _DEFLATE_RATIO + 1024
        else:
            raise _RefusedError(
                f"member {name!r} uses zip compression method {info.compress_type}; fastnn "
                "reads stored (np.savez) or deflated (np.savez_compressed) members"
            )
        if not 0 <= info.header_offset < archive_bytes:
            raise _RefusedError(
                f"member {name!r} starts at byte {info.header_offset} of a "
                f"{archive_bytes}-byte file"
            )
        if info.compress_size > archive_bytes or info.file_size > most:
            raise _RefusedError(
                f"member {name!r} declares {info.file_size} bytes from {info.compress_size} "
                f"stored bytes in a {archive_bytes}-byte file, which cannot be"
            )

    def __contains__(self, field):
        return field in self.infos

    def header(self, field):
        """Return ``(shape, dtype)`` from the member's ``.npy`` header, checked against its size."""
        info = self.infos[field]
        if field not in _LARGE_FIELDS and info.file_size > _SMALL_MEMBER_BYTES:
            raise _RefusedError(
                f"'{field}' takes {info.file_size} bytes; a fastnn model's {field} takes at "
                f"most {_SMALL_MEMBER_BYTES}"
            )
        try:
            with self.archive.open(info) as member:
                version = npy_format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = npy_format.read_array_header_1_0(member, _HEADER_BYTES)
                elif version == (2, 0):
                    shape, _, dtype = npy_format.read_array_header_2_0(member, _HEADER_BYTES)
                else:
                    shape = dtype = None
                header_bytes = member.tell()
        except _BROKEN as error:
            raise _UnreadableError(f"'{field}': {error}") from None
        if shape is None:
            raise _RefusedError(f"'{field}' is in .npy format {version}, which fastnn never writes")
        if dtype.hasobject:
            raise _RefusedError(f"'{field}' holds Python objects; loading never unpickles")
        if any(size < 0 for size in shape):
            raise _RefusedError(f"'{field}' declares the shape {shape}")
        data_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if header_bytes + data_bytes != info.file_size:
            raise _RefusedError(
                f"'{field}' declares {dtype} {shape} ({data_bytes} bytes of data), but its "
                f"zip entry holds {info.file_size - header_bytes}"
            )
        return shape, dtype

    def read(self, field, shape, dtype):
        """Read a member whose header was checked to be ``shape`` and ``dtype``."""
        try:
            with self.archive.open(self.infos[field]) as member:
                array = npy_format.read_array(
                    member, allow_pickle=False, max_header_size=_HEADER_BYTES
                )
                trailing = member.read(1)
        except _BROKEN as error:
            raise _UnreadableError(f"'{field}': {error}") from None
        if trailing:
            raise _RefusedError(f"'{field}' has bytes after its array")
        if array.shape != shape or array.dtype != dtype:
            raise _RefusedError(f"'{field}' changed while it was read")
        return array

    def array(self, field, kinds, ndim, what):
        """Read ``field`` if its dtype kind is in ``kinds`` and it has ``ndim`` dimensions."""
        shape, dtype = self.header(field)
        if dtype.kind not in kinds or len(shape) != ndim or dtype.fields is not None:
            raise _RefusedError(f"'{field}' must be {what}, got {dtype} {shape}")
        return self.read(field, shape, dtype)

    def text(self, field):
        return str(self.array(field, "U", 0, "a text field")[()])

    def integer(self, field):
        return int(self.array(field, "iu", 0, "an integer")[()])

    def json(self, field):
        text = self.text(field)
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise _RefusedError(f"'{field}' is not valid JSON ({error})") from None
        except RecursionError:
            raise _RefusedError(f"'{field}' is JSON nested too deeply for a fastnn model") from None


def _build(members):
    if "format" in members and members.text("format") != FORMAT:
        raise _RefusedError(f"format is {_shown(members.text('format'))}, expected {FORMAT!r}")
    if "format_version" in members:
        version = members.integer("format_version")
        if version > FORMAT_VERSION:
            raise _RefusedError(
                f"format version {version} is newer than this fastnn reads "
                f"({FORMAT_VERSION}); upgrade fastnn"
            )
        if version < 1:
            raise _RefusedError(f"format version must be >= 1, got {version}")
    else:
        version = FORMAT_VERSION  # its absence is reported with the other missing fields
    _check_member_set(members, version)

    sizes = members.array("sizes", "iu", 1, "a 1-D integer array").tolist()
    sizes = check_sizes(sizes)
    dtype_name = members.text("dtype")
    if dtype_name not in DTYPES:  # np.dtype() would parse any text, "9" * 5000 included
        raise _RefusedError(f"dtype must be 'float32' or 'float64', got {_shown(dtype_name)}")
    dtype = check_dtype(dtype_name)
    n_params = sum(
        (fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)
    )
    # Checked before the network exists: its constructor allocates theta.
    theta_shape, theta_dtype = members.header("theta")
    # Either byte order: a file written on a big-endian machine is as good.
    if theta_shape != (n_params,) or theta_dtype.newbyteorder("=") != dtype:
        raise _RefusedError(
            f"'theta' has {theta_dtype} {theta_shape}, the architecture needs {dtype} ({n_params},)"
        )
    architecture = Architecture.checked(
        sizes,
        hidden=[str(name) for name in members.array("hidden", "U", 1, "a list of names")],
        output=members.text("output"),
        init=members.json("init"),
        dtype=dtype,
        dropout=members.json("dropout") if version >= 2 else 0.0,
    )
    net = NetworkState.create(
        architecture,
        seed=members.json("seed"),
        backend=members.text("backend"),
        initialise=False,
    )
    if version >= 2:
        key = members.array("dropout_key", "u", 1, "a uint64 array of one key")
        if key.shape != (1,) or key.dtype.itemsize != 8:
            raise _RefusedError(f"'dropout_key' must be one uint64, got {key.dtype} {key.shape}")
        net.dropout_key[...] = key
    theta = members.read("theta", theta_shape, theta_dtype)
    if not np.all(np.isfinite(theta)):
        raise _RefusedError("'theta' contains NaN or inf")
    net.theta[...] = theta
    _restore_generator(net.rng.bit_generator, members.json("rng_state"))
    if "optimizer_name" in members:
        net.optimizer = _optimizer(members, architecture)
    return net


def _shown(value, limit=200):
    """``repr(value)``, cut short: error messages echo what a file holds."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _check_member_set(members, version):
    required = _NETWORK_FIELDS if version >= 2 else _NETWORK_FIELDS_V1
    missing = [field for field in required if field not in members]
    if missing or members.unknown:
        parts = [f"missing fields {missing}"] if missing else []
        if members.unknown:
            parts.append(f"unknown members {_shown(members.unknown)}")
        raise _RefusedError(
            f"{'; '.join(parts)} (fastnn writes exactly {[f + '.npy' for f in _FIELDS]}; "
            "a file from another program, or edited?)"
        )
    present = {field for field in _OPTIMIZER_FIELDS if field in members}
    # All of the optimizer or none of it; only a stateless one has no state.
    if present and not present >= set(_OPTIMIZER_FIELDS) - {"optimizer_state"}:
        missing = [field for field in _OPTIMIZER_FIELDS if field not in members]
        raise _RefusedError(f"the optimizer is incomplete: {missing} missing")


def _optimizer(members, architecture):
    name = members.text("optimizer_name")
    params = members.json("optimizer_params")
    family = optimizers_module.available()
    if name not in family:
        raise _RefusedError(f"unknown optimizer {_shown(name)}; fastnn has {sorted(family)}")
    expected = list(family[name]().get_params())
    if not isinstance(params, dict) or sorted(params) != sorted(expected):
        raise _RefusedError(
            f"'optimizer_params' must give exactly {expected}, got {_shown(params)}"
        )
    optimizer = optimizers_module.get(name, **params)
    step = members.integer("optimizer_step")
    state = None
    if "optimizer_state" in members:
        shape, dtype = members.header("optimizer_state")
        n_params, net_dtype = architecture.n_params, architecture.dtype
        if shape != (STATE_ROWS, n_params) or dtype.newbyteorder("=") != net_dtype:
            raise _RefusedError(
                f"'optimizer_state' has {dtype} {shape}, the network needs {net_dtype} "
                f"({STATE_ROWS}, {n_params})"
            )
        state = members.read("optimizer_state", shape, dtype)
        if not np.all(np.isfinite(state)):
            raise _RefusedError("'optimizer_state' contains NaN or inf")
    elif step != 0:
        raise _RefusedError(
            f"the optimizer has taken {step} steps but its state 'optimizer_state' is missing"
        )
    try:
        optimizer.load_state_dict(
            {"name": optimizer.name, "params": params, "step": step, "state": state}
        )
        if state is None:
            optimizer.hyper_vector(architecture.dtype)
        else:
            optimizer.bind(architecture.n_params, architecture.dtype)
    except (TypeError, ValueError) as error:
        raise _RefusedError(f"the optimizer: {error}") from None
    return optimizer


def _restore_generator(bit_generator, state):
    """Set ``bit_generator.state`` to ``state`` if it is a state that generator can have."""
    fresh = bit_generator.state
    if not _same_structure(state, fresh):
        raise _RefusedError(
            f"'rng_state' is not a {fresh.get('bit_generator')} state (it needs the keys and "
            f"types of {json.dumps(fresh)})"
        )
    try:
        bit_generator.state = state
    except (TypeError, ValueError, OverflowError, KeyError) as error:
        bit_generator.state = fresh
        raise _RefusedError(f"'rng_state' is not a valid generator state: {error}") from None
    # numpy may keep a value out of range (has_uint32=2) or wrap it silently.
    wrapped = bit_generator.state != state
    if wrapped or (state["bit_generator"] == "PCG64" and not _pcg64_reachable(state)):
        bit_generator.state = fresh
        raise _RefusedError(f"'rng_state' holds values a {state['bit_generator']} cannot have")


def _pcg64_reachable(state):
    """PCG64 keeps 128-bit state and increment (always odd) and a buffered 32-bit half."""
    return (
        state["state"]["state"] < 2**128
        and state["state"]["inc"] < 2**128
        and state["state"]["inc"] % 2 == 1
        and state["has_uint32"] in (0, 1)
        and state["uinteger"] < 2**32
    )


def _same_structure(value, template):
    if isinstance(template, dict):
        return (
            isinstance(value, dict)
            and value.keys() == template.keys()
            and all(_same_structure(value[key], template[key]) for key in template)
        )
    if isinstance(template, str):
        return value == template
    if isinstance(template, int):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return False
