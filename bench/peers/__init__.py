"""The systems fastnn is measured against: PyTorch, scikit-learn, JAX and hand-written C.

Each peer trains fastnn's network: the same initial weights (fastnn's
``MLP(sizes, seed=0)``, copied in), loss, optimizer, learning rate and rows in the
same order, so that a speed ratio compares the same work (tests/test_peers.py checks
that they reach fastnn's weights).

- :mod:`peers.torch_peer`: ``torch.nn.Sequential`` and ``torch.optim``;
- :mod:`peers.sklearn_peer`: ``MLPClassifier``/``MLPRegressor``;
- :mod:`peers.jax_peer`: one ``jax.jit`` of a ``lax.scan`` over the epoch;
- :mod:`peers.c_peer`: bench/c/per_sample.c, compiled at bench time.

For the suite (bench/bench_suite.py) a peer's ``trainer(case, X, T)`` returns
``train(n)``, one pass over the first n rows, as :func:`fastnn.selfbench.fastnn_trainer`
does for fastnn; building the model and converting the data are not part of it.
"""

from fastnn import MLP

PEERS = ("torch", "sklearn", "jax")  # the optional Python peers
MISSING = 'not installed (pip install -e ".[bench]")'


def initial_network(sizes, output, dtype, backend="numba"):
    """fastnn's network every system starts from: ``MLP(sizes, seed=0)`` with ReLU."""
    return MLP(list(sizes), hidden="relu", output=output, dtype=dtype, seed=0, backend=backend)


def initial_params(case):
    """The initial weights of ``case``'s network, as ``net.params`` (``W1``, ``b1``, ...)."""
    return initial_network(case.sizes, case.output, case.dtype).params


def find_peers(skip, threads=1):
    """Return ``({peer: version}, {peer: why it is missing}, how JAX's threads are set)``.

    JAX is loaded here, before anything else can import it, so that its CPU thread
    pool gets ``threads`` threads (:func:`peers.jax_peer.load_jax`), with float64
    enabled for the float64 benchmarks.
    """
    found, missing = {}, {}
    if skip:
        return found, {peer: "skipped (--skip-peers)" for peer in PEERS}, ""
    try:
        import torch

        found["torch"] = torch.__version__
    except ImportError:
        missing["torch"] = MISSING
    try:
        import sklearn
        import sklearn.neural_network  # noqa: F401  (loads its libraries before the limits)

        found["sklearn"] = sklearn.__version__
    except ImportError:
        missing["sklearn"] = MISSING
    jax_how = ""
    try:
        from peers.jax_peer import load_jax

        jax, jax_how = load_jax(threads, x64=True)
        found["jax"] = jax.__version__
    except ImportError:
        missing["jax"] = MISSING
    return found, missing, jax_how
