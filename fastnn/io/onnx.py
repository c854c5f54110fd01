"""Export a network's forward pass to ONNX, so that it runs wherever ONNX does.

``net.to_onnx("m.onnx")`` calls :func:`to_onnx` with the network's architecture and a
consistent copy of its weights. It needs the ``onnx`` package
(``pip install "fastnn[onnx]"``, which also installs ``onnxruntime`` to run the
file); ``import fastnn`` never imports it.

The graph is the forward pass of :meth:`MLP.predict`, layer by layer: one ``Gemm``
(``X @ W + b``, with the weights ``W1``, ``b1``, ... as initializers of the network's
dtype) and the layer's activation:

========== ==========================================
fastnn     ONNX
========== ==========================================
relu       ``Relu``
sigmoid    ``Sigmoid``
tanh       ``Tanh``
leaky_relu ``Max(u, 0.01 u)``
step       ``Greater(u, 0)`` then ``Cast`` to the dtype
identity   nothing
softmax    ``Softmax`` over the last axis (output only)
========== ==========================================

Its input is ``X``, shape ``(batch, inputs)`` with a free batch dimension, and its
output ``Y``, shape ``(batch, outputs)``: float32 or float64 as the network.
Running it::

    import onnxruntime
    session = onnxruntime.InferenceSession("m.onnx")
    (Y,) = session.run(None, {"X": X.astype(np.float32)})  # Y == net.predict(X)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn.kernels import codes
from fastnn.network.architecture import Architecture

__all__ = ["to_onnx", "DEFAULT_OPSET", "INPUT_NAME", "OUTPUT_NAME"]

#: ONNX operator set of the exported graph: every operator it uses has had its
#: current meaning since opset 13 (Softmax over one axis), which ONNX Runtime
#: runs since version 1.6.
DEFAULT_OPSET = 13
#: The names of the graph's input and output.
INPUT_NAME = "X"
OUTPUT_NAME = "Y"

# Protocol buffers cannot serialise a message of 2 GiB or more.
_PROTOBUF_LIMIT = 2**31 - 1


def _import_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            "to_onnx needs the onnx package, which fastnn does not install by default: "
            "pip install 'fastnn[onnx]' (onnx, and onnxruntime to run the file)"
        ) from error
    return onnx


def _check_opset(opset, onnx):
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an integer or None, got {opset!r}")
    newest = onnx.defs.onnx_opset_version()
    if not DEFAULT_OPSET <= opset <= newest:
        raise ValueError(
            f"opset must be from {DEFAULT_OPSET} to {newest} (this onnx package's newest), "
            f"got {opset}"
        )
    return int(opset)


def _activation(helper, code, name, dtype_code, nodes):
    """Append the nodes of hidden activation ``code`` applied to ``name``; return the output."""
    out = f"{name}_act"
    if code == codes.IDENTITY:
        return name
    if code == codes.RELU:
        nodes.append(helper.make_node("Relu", [name], [out]))
    elif code == codes.SIGMOID:
        nodes.append(helper.make_node("Sigmoid", [name], [out]))
    elif code == codes.TANH:
        nodes.append(helper.make_node("Tanh", [name], [out]))
    elif code == codes.LEAKY_RELU:
        # max(u, 0.01 u) rather than LeakyRelu, which ONNX Runtime has only for float32.
        nodes.append(helper.make_node("Mul", [name, "leaky_slope"], [f"{name}_scaled"]))
        nodes.append(helper.make_node("Max", [name, f"{name}_scaled"], [out]))
    elif code == codes.STEP:
        # fastnn's step is 1 where u > 0, else 0 (0 at u == 0).
        nodes.append(helper.make_node("Greater", [name, "zero"], [f"{name}_positive"]))
        nodes.append(helper.make_node("Cast", [f"{name}_positive"], [out], to=dtype_code))
    else:  # a code added to kernels.codes without an ONNX form
        raise ValueError(f"to_onnx: no ONNX form for activation code {code}")
    return out


def build_model(architecture: Architecture, theta: NDArray[Any], opset: int | None = None) -> Any:
    """Return the ONNX model (an ``onnx.ModelProto``) of a network's forward pass, checked.

    Parameters
    ----------
    architecture : Architecture
    theta : ndarray
        The network's parameters (not modified).
    opset : int, optional
        Default :data:`DEFAULT_OPSET`.
    """
    onnx = _import_onnx()
    from onnx import helper, numpy_helper

    from fastnn.version import __version__

    opset = _check_opset(opset, onnx)
    n_params, dtype = architecture.n_params, architecture.dtype
    if n_params * dtype.itemsize >= _PROTOBUF_LIMIT - 2**20:
        raise ValueError(
            f"to_onnx: the network's {n_params:,} parameters take "
            f"{n_params * dtype.itemsize / 2**30:.1f} GiB, more than the 2 GiB an "
            "ONNX file can hold"
        )
    dtype_code = helper.np_dtype_to_tensor_dtype(dtype)
    params = {name: np.array(view, copy=True) for name, view in architecture.views(theta).items()}
    layout = architecture.layout
    output = architecture.output
    initializers = [numpy_helper.from_array(value, name) for name, value in params.items()]
    constants = {"zero": 0.0, "leaky_slope": codes.LEAKY_RELU_SLOPE}
    nodes = []
    current = INPUT_NAME
    last = len(layout) - 1
    for index, row in enumerate(layout):
        layer = index + 1
        u = OUTPUT_NAME if index == last and output == "identity" else f"u{layer}"
        nodes.append(helper.make_node("Gemm", [current, f"W{layer}", f"b{layer}"], [u]))
        if index < last:
            current = _activation(helper, int(row[codes.ACTIVATION]), u, dtype_code, nodes)
        elif output == "softmax":
            nodes.append(helper.make_node("Softmax", [u], [OUTPUT_NAME], axis=-1))
        elif output == "sigmoid":
            nodes.append(helper.make_node("Sigmoid", [u], [OUTPUT_NAME]))
    # The scalars the step and leaky_relu activations use, if any layer has them.
    used = {name for node in nodes for name in node.input}
    for name, value in constants.items():
        if name in used:
            initializers.append(numpy_helper.from_array(np.array(value, dtype=dtype), name))
    sizes = architecture.sizes
    graph = helper.make_graph(
        nodes,
        "fastnn_mlp",
        [helper.make_tensor_value_info(INPUT_NAME, dtype_code, ["batch", sizes[0]])],
        [helper.make_tensor_value_info(OUTPUT_NAME, dtype_code, ["batch", sizes[-1]])],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        # The oldest file format that can hold this opset, for older runtimes.
        ir_version=helper.find_min_ir_version_for(opsets),
        producer_name="fastnn",
        producer_version=__version__,
        doc_string=(
            f"MLP({list(sizes)}, hidden={list(architecture.hidden)!r}, output={output!r}, "
            f"dtype={dtype.name!r})"
        ),
    )
    helper.set_model_props(
        model,
        {
            "sizes": ",".join(str(size) for size in sizes),
            "hidden": ",".join(architecture.hidden),
            "output": output,
        },
    )
    onnx.checker.check_model(model)
    return model


def to_onnx(
    architecture: Architecture,
    theta: NDArray[Any],
    path: str | bytes | os.PathLike[str] | None = None,
    *,
    opset: int | None = None,
) -> Any:
    """Export a network's forward pass as an ONNX model; write it to ``path`` if given.

    Parameters
    ----------
    architecture : Architecture
    theta : ndarray
        The network's parameters (a consistent copy: not modified during the export).
    path : str, bytes or os.PathLike, optional
        Written atomically (a temporary file renamed over it), so a failed
        export leaves any old file intact. None: only return the model.
    opset : int, optional
        The ONNX operator set, from :data:`DEFAULT_OPSET` (13) to the newest
        the installed ``onnx`` knows.

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    ImportError
        If the ``onnx`` package is not installed.
    TypeError, ValueError
        For a bad ``path`` or ``opset``, or a network too large for one file.
    """
    if path is not None:
        from fastnn.io.atomic import path_text

        path = path_text(path)
    model = build_model(architecture, theta, opset)
    if path is not None:
        from fastnn.io.atomic import atomic_write

        with atomic_write(path) as stream:
            stream.write(model.SerializeToString())
    return model
