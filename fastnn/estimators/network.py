"""The fitted network: one :class:`fastnn.MLP` whose flat ``theta`` holds all weights.

``coefs_[k]`` and ``intercepts_[k]`` are views of ``net_.params["W{k+1}"]`` and
``net_.params["b{k+1}"]``, so the kernels train the very arrays scikit-learn's
attributes show. scikit-learn users may also assign those attributes (whole
arrays or the lists): :func:`synced_network` notices and copies them into a
network before the next use, so the attributes stay the source of truth.
"""

from typing import Any

import numpy as np

from fastnn.estimators.inputs import is_sparse
from fastnn.estimators.params import ACTIVATIONS
from fastnn.model import MLP

# Rows predicted per call when a sparse X is densified for the network.
SPARSE_CHUNK = 4096
# scikit-learn's output activation names -> MLP's output (an exponential output is
# the identity network followed by exp: MLP has no exp output).
OUTPUTS = {"identity": "identity", "exp": "identity", "softmax": "softmax", "logistic": "sigmoid"}


def random_state(seed: Any) -> np.random.RandomState:
    """scikit-learn's ``check_random_state``: None is NumPy's global generator."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, np.random.RandomState):
        return seed
    return np.random.RandomState(seed)


def initial_parameters(rng, layer_units, activation, dtype):
    """scikit-learn's initialisation: Glorot-uniform weights and biases, layer by layer.

    Each layer draws ``uniform(-b, b, (fan_in, fan_out))`` then ``uniform(-b, b,
    fan_out)`` with ``b = sqrt(6 / (fan_in + fan_out))`` (2 instead of 6 for the
    logistic activation), in float64, then casts to ``dtype``: the same numbers
    scikit-learn's MLP starts from for the same ``random_state``.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    parameters = []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:], strict=True):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
        intercept = rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
        parameters.append((coef, intercept))
    return parameters


def new_network(layer_units, activation, out_activation, dtype, backend, parameters):
    """Return an MLP of these widths holding ``parameters`` [(coef, intercept), ...]."""
    net = MLP(
        layer_units,
        hidden=ACTIVATIONS[activation],
        output=OUTPUTS[out_activation],
        dtype=dtype,
        backend=backend,
        seed=0,  # the weights are overwritten just below; the seed only saves entropy
    )
    for layer, (coef, intercept) in enumerate(parameters, start=1):
        net.params[f"W{layer}"][...] = coef
        net.params[f"b{layer}"][...] = intercept
    return net


def attach(estimator: Any, net: MLP) -> None:
    """Make ``net`` the estimator's network, ``coefs_``/``intercepts_`` views of it."""
    layers = len(net.sizes) - 1
    estimator.net_ = net
    estimator.coefs_ = [net.params[f"W{layer}"] for layer in range(1, layers + 1)]
    estimator.intercepts_ = [net.params[f"b{layer}"] for layer in range(1, layers + 1)]


def is_attached(estimator: Any, net: MLP) -> bool:
    """True if ``coefs_`` and ``intercepts_`` are the views of ``net``'s parameters."""
    coefs, intercepts = estimator.coefs_, estimator.intercepts_
    layers = len(net.sizes) - 1
    if not isinstance(coefs, list) or not isinstance(intercepts, list):
        return False
    if len(coefs) != layers or len(intercepts) != layers:
        return False
    return all(
        coefs[k] is net.params[f"W{k + 1}"] and intercepts[k] is net.params[f"b{k + 1}"]
        for k in range(layers)
    )


def synced_network(estimator: Any) -> MLP:
    """Return the estimator's network, holding exactly ``coefs_`` and ``intercepts_``.

    If those attributes were assigned (whole arrays or lists), a network is
    built from them; otherwise ``net_`` is returned as it is.
    """
    net = getattr(estimator, "net_", None)
    if net is not None and is_attached(estimator, net):
        return net
    coefs = [np.asarray(coef) for coef in estimator.coefs_]
    intercepts = [np.asarray(intercept).reshape(-1) for intercept in estimator.intercepts_]
    if not coefs or len(coefs) != len(intercepts):
        raise ValueError(
            f"coefs_ and intercepts_ must be lists of equal length, one entry per layer; "
            f"got {len(coefs)} and {len(intercepts)}"
        )
    layer_units = [coefs[0].shape[0]] + [coef.shape[1] for coef in coefs]
    for k, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
        if coef.ndim != 2 or coef.shape[0] != layer_units[k] or intercept.shape != coef.shape[1:]:
            raise ValueError(
                f"coefs_[{k}] has shape {coef.shape} and intercepts_[{k}] {intercept.shape}: "
                f"layer {k} needs ({layer_units[k]}, n) and (n,)"
            )
    dtype = coefs[0].dtype if coefs[0].dtype in (np.float32, np.float64) else np.float64
    out_activation = getattr(estimator, "out_activation_", None) or estimator._default_output()
    net = new_network(
        layer_units,
        estimator.activation,
        out_activation,
        dtype,
        estimator.backend,
        list(zip(coefs, intercepts, strict=True)),
    )
    attach(estimator, net)
    return net


def network_outputs(net: MLP, X: Any, out_activation: str) -> Any:
    """The network's output activations for checked ``X`` (dense, or CSR in chunks)."""
    if is_sparse(X):
        out = np.empty((X.shape[0], net.sizes[-1]), dtype=net.dtype)
        for start in range(0, X.shape[0], SPARSE_CHUNK):
            rows = slice(start, start + SPARSE_CHUNK)
            out[rows] = net.predict(X[rows].toarray())
    else:
        out = net.predict(X)
    if out_activation == "exp":
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
    return out
