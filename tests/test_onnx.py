"""net.to_onnx: the exported file, run by ONNX Runtime, predicts what net.predict does."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import MLP, optimizers
from fastnn.kernels import codes

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

HIDDEN = sorted(codes.ACTIVATION_CODES)
OUTPUTS = sorted(codes.OUTPUT_CODES)
# float32: the tolerance the issue asks for; float64: what exact formulas give.
RTOL = {"float32": 1e-5, "float64": 1e-12}


def run_onnx(source, X):
    """Run an exported model (a path or a ModelProto) on ``X`` with ONNX Runtime."""
    if not isinstance(source, (str, bytes)) and hasattr(source, "SerializeToString"):
        source = source.SerializeToString()
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    (inputs,), (outputs,) = session.get_inputs(), session.get_outputs()
    assert (inputs.name, outputs.name) == ("X", "Y")
    return session.run(None, {"X": X})[0]


def trained(sizes, hidden, output, dtype, seed=0):
    """A network trained a little, so that its weights are no longer the initial ones."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, sizes[0])).astype(dtype)
    net = MLP(sizes, hidden=hidden, output=output, dtype=dtype, seed=seed)
    if output == "softmax":
        T = rng.integers(0, sizes[-1], 64)
    elif output == "sigmoid":
        T = (rng.random((64, sizes[-1])) > 0.5).astype(dtype)
    else:
        T = rng.standard_normal((64, sizes[-1])).astype(dtype)
    net.fit(X, T, optimizer=optimizers.Adam(lr=0.01), epochs=3, batch_size=16)
    return net, X


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnx_runtime_predicts_what_predict_does(tmp_path, hidden, output, dtype):
    net, X = trained([5, 7, 6, 3], hidden, output, dtype)
    path = tmp_path / "m.onnx"
    model = net.to_onnx(path)
    onnx.checker.check_model(str(path))
    assert path.read_bytes() == model.SerializeToString()
    predicted = run_onnx(str(path), X)
    assert predicted.dtype == np.dtype(dtype)
    assert predicted.shape == (64, 3)
    expected = net.predict(X)
    if hidden == "step":
        # u == 0 exactly is where fastnn's step and ONNX's Greater could only differ,
        # and rounding could put u on either side of 0 on the two paths; none here.
        assert np.all(net.params["W1"] != 0)
    # An identity output can cancel to near 0, where a relative tolerance means
    # nothing (the two sum in different orders): there, the tolerance is relative
    # to the largest output. Probabilities do not cancel.
    scale = np.abs(expected).max() if output == "identity" else 0.0
    assert_allclose(predicted, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


def test_mixed_activations_deep_network_and_any_batch_size():
    net, _ = trained([4, 9, 8, 7, 2], ["tanh", "leaky_relu", "sigmoid"], "softmax", "float32")
    model = net.to_onnx()
    rng = np.random.default_rng(5)
    for rows in (1, 3, 1000):
        X = rng.standard_normal((rows, 4)).astype(np.float32)
        assert_allclose(run_onnx(model, X), net.predict(X), rtol=1e-5, atol=0)


def test_a_network_trained_with_dropout_exports_its_predict():
    # Inverted dropout is off at predict time: the graph is the plain forward pass.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((64, 6)).astype(np.float32)
    net = MLP([6, 16, 16, 3], dropout=[0.3, 0.1], seed=3)
    net.fit(X, rng.integers(0, 3, 64), optimizer=optimizers.Adam(lr=0.01), epochs=3)
    assert_allclose(run_onnx(net.to_onnx(), X), net.predict(X), rtol=1e-5, atol=0)


def test_the_model_records_what_was_exported():
    net = MLP([3, 5, 2], hidden="tanh", output="sigmoid", dtype="float64", seed=0)
    model = net.to_onnx(opset=17)
    assert model.opset_import[0].version == 17
    assert model.producer_name == "fastnn"
    properties = {entry.key: entry.value for entry in model.metadata_props}
    assert properties == {"sizes": "3,5,2", "hidden": "tanh", "output": "sigmoid"}
    names = {tensor.name for tensor in model.graph.initializer}
    assert {"W1", "b1", "W2", "b2"} <= names
    W1 = next(t for t in model.graph.initializer if t.name == "W1")
    assert_allclose(onnx.numpy_helper.to_array(W1), net.params["W1"], rtol=0)


def test_a_failed_export_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"the previous model")
    net = MLP([2, 3, 2], seed=0)

    def broken(self):
        raise OSError("disk full")

    monkeypatch.setattr(onnx.ModelProto, "SerializeToString", broken)
    with pytest.raises(OSError, match="disk full"):
        net.to_onnx(path)
    assert path.read_bytes() == b"the previous model"
    assert [entry.name for entry in tmp_path.iterdir()] == ["m.onnx"]


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({"opset": 7}, ValueError, "opset must be from 13 to"),
        ({"opset": 10**6}, ValueError, "opset must be from 13 to"),
        ({"opset": "13"}, TypeError, "opset must be an integer or None"),
        ({"path": 3.5}, TypeError, "path must be a str, bytes or os.PathLike file name"),
    ],
)
def test_bad_arguments(arguments, error, match):
    with pytest.raises(error, match=match):
        MLP([2, 3, 2], seed=0).to_onnx(**arguments)


def test_without_onnx_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'fastnn\[onnx\]'"):
        MLP([2, 3, 2], seed=0).to_onnx()


def test_importing_fastnn_does_not_import_onnx():
    code = "import fastnn, sys; fastnn.MLP([2, 2]); assert 'onnx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
