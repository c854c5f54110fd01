"""Input and output of networks, on their plain state (:class:`fastnn.network.NetworkState`).

- :mod:`~fastnn.io.model_file`: model files (``.npz``, never pickled), saved atomically;
- :mod:`~fastnn.io.onnx`: the forward pass as an ONNX model (needs the ``onnx`` extra);
- :mod:`~fastnn.io.atomic`: writing any file atomically (a temporary file, then a rename).
"""
