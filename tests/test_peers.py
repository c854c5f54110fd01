"""The benchmark peers train the very same thing as fastnn: same weights after the same steps.

JAX (bench/peers/jax_peer.py, used by bench/bench_suite.py and bench/bench_peers.py)
and the hand-written C loops (bench/c/per_sample.c, bench/peers/c_peer.py) start
from fastnn's initial weights and must end, after the same rows in the same order,
where fastnn ends (float32 tolerance). Otherwise a speed ratio would compare
different work.
No timing here.
"""

import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from fastnn import MLP, datasets, optimizers

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
try:
    import bench_peers
    from peers.c_peer import CompilerNotFoundError, CPeer
    from peers.jax_peer import JaxTrainer, load_jax
finally:
    sys.path.remove(str(BENCH))
RTOL, ATOL = 1e-4, 1e-5
HAS_JAX = importlib.util.find_spec("jax") is not None and importlib.util.find_spec("optax")
needs_jax = pytest.mark.skipif(not HAS_JAX, reason="JAX and optax are not installed")


def sparse_images(steps, seed=0):
    """Random rows shaped like Fashion-MNIST, about half zeros, with labels and one-hot T."""
    rng = np.random.default_rng(seed)
    X = rng.random((steps, 784), dtype=np.float32)
    X[X < 0.5] = 0
    labels = rng.integers(0, 10, steps).astype(np.int32)
    return X, labels, np.eye(10, dtype=np.float32)[labels]


def regression(steps):
    X, y = datasets.make_regression(steps, seed=0, dtype="float32")
    return X, y.astype(np.float32)


def fastnn_after(sizes, output, optimizer, X, T):
    """The weights of MLP(sizes, seed=0) after one fit over X in order, and the start."""
    net = MLP(sizes, output=output, dtype="float32", seed=0)
    start = {name: view.copy() for name, view in net.params.items()}
    net.fit(X, T, optimizer=optimizer, shuffle=False)
    return net.params, start


def assert_same_weights(got, expected, start):
    assert set(got) == set(expected)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=RTOL, atol=ATOL, err_msg=name)
    # The comparison means something only if training moved the weights.
    assert any(not np.allclose(expected[name], start[name]) for name in expected)


# --------------------------------------------------------------------------- JAX


@needs_jax
def test_jax_regression_matches_fastnn_after_1000_steps():
    X, y = regression(1000)
    expected, start = fastnn_after([2, 10, 1], "identity", optimizers.SGD(lr=0.07), X, y)
    trainer = JaxTrainer(start, "identity", "sgd", 0.07)
    losses = trainer.train(X, y.reshape(-1, 1))
    assert_same_weights(trainer.params(), expected, start)
    assert losses.shape == (1000,) and np.all(np.isfinite(losses))


@needs_jax
@pytest.mark.parametrize(
    "name, optimizer", [("sgd", optimizers.SGD(lr=0.01)), ("adam", optimizers.Adam(lr=1e-3))]
)
def test_jax_images_match_fastnn_after_200_steps(name, optimizer):
    X, _, T = sparse_images(200)
    expected, start = fastnn_after([784, 40, 10], "softmax", optimizer, X, T)
    trainer = JaxTrainer(start, "softmax", name, optimizer.lr, unroll=2)
    trainer.train(X, T)
    assert_same_weights(trainer.params(), expected, start)


@needs_jax
def test_jax_mini_batches_match_fastnn():
    X, _, T = sparse_images(400)
    net = MLP([784, 16, 8, 10], dtype="float32", seed=0)
    start = {name: view.copy() for name, view in net.params.items()}
    net.fit(X, T, optimizer=optimizers.SGD(lr=0.05), batch_size=20, shuffle=False)
    trainer = JaxTrainer(start, "softmax", "sgd", 0.05, batch=20)
    trainer.train(X, T)
    assert_same_weights(trainer.params(), net.params, start)


@needs_jax
def test_jax_keeps_float32_arithmetic_with_float64_enabled():
    # fastnn bench turns float64 on for its float64 rows; the float32 epochs must
    # still compute in float32, or the comparison would not be like for like.
    load_jax(x64=True)
    X, _, T = sparse_images(8)
    start = MLP([784, 40, 10], dtype="float32", seed=0).params
    for optimizer in ("sgd", "adam"):
        trainer = JaxTrainer(start, "softmax", optimizer, 0.01)
        staged = trainer.stage(X, T)
        program = trainer._epoch.lower(trainer._state, *staged).as_text()
        assert "xf32>" in program
        # Scalars may be float64 (optax's Adam takes 1 - beta**t in float64, as
        # fastnn does); no array is.
        assert not re.findall(r"tensor<[^>]*xf64>", program)


@needs_jax
def test_jax_trainer_rejects_what_it_cannot_train():
    params = MLP([4, 3, 2], dtype="float32", seed=0).params
    with pytest.raises(ValueError, match="output"):
        JaxTrainer(params, "sigmoid", "sgd", 0.1)
    with pytest.raises(ValueError, match="optimizer"):
        JaxTrainer(params, "softmax", "rmsprop", 0.1)
    trainer = JaxTrainer(params, "softmax", "sgd", 0.1, batch=4)
    with pytest.raises(ValueError, match="multiple of batch"):
        trainer.stage(np.zeros((6, 4), np.float32), np.zeros((6, 2), np.float32))


@needs_jax
@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity here")
def test_load_jax_leaves_the_process_free_to_use_every_cpu():
    # load_jax narrows the CPU affinity while JAX's thread pool is made; the
    # process (and every thread made meanwhile) must get its CPUs back.
    before = os.sched_getaffinity(0)
    load_jax()
    assert os.sched_getaffinity(0) == before
    for task in os.listdir("/proc/self/task"):
        try:
            assert os.sched_getaffinity(int(task)) == before
        except ProcessLookupError:  # the thread ended meanwhile
            pass


# --------------------------------------------------------------------------- C


@pytest.fixture(scope="module")
def c_peer():
    try:
        return CPeer()
    except CompilerNotFoundError as error:
        pytest.skip(str(error))


def test_c_regression_matches_fastnn_after_1000_steps(c_peer):
    X, y = regression(1000)
    expected, start = fastnn_after([2, 10, 1], "identity", optimizers.SGD(lr=0.07), X, y)
    net = MLP([2, 10, 1], output="identity", dtype="float32", seed=0)
    steps, loss_sum = c_peer.sgd_2_10_1(net.theta, X, y, 0.07)
    assert steps == 1000 and np.isfinite(loss_sum)
    assert_same_weights(net.params, expected, start)


def test_c_images_match_fastnn_after_200_steps(c_peer):
    X, labels, T = sparse_images(200)
    expected, start = fastnn_after([784, 40, 10], "softmax", optimizers.SGD(lr=0.01), X, T)
    net = MLP([784, 40, 10], dtype="float32", seed=0)
    assert c_peer.sgd_784_40_10(net.theta, X, labels, 0.01)[0] == 200
    assert_same_weights(net.params, expected, start)


def test_c_adam_matches_fastnn_after_200_steps(c_peer):
    X, labels, T = sparse_images(200)
    optimizer = optimizers.Adam(lr=1e-3)
    expected, start = fastnn_after([784, 40, 10], "softmax", optimizer, X, T)
    net = MLP([784, 40, 10], dtype="float32", seed=0)
    m, v, t = np.zeros_like(net.theta), np.zeros_like(net.theta), np.zeros(1, np.int64)
    # Two calls of 100 rows train as one of 200: the state carries over.
    for rows in (slice(0, 100), slice(100, 200)):
        assert c_peer.adam_784_40_10(net.theta, m, v, t, X[rows], labels[rows], 1e-3)[0] == 100
    assert t[0] == 200 == optimizer.step_[0]
    assert_same_weights(net.params, expected, start)
    np.testing.assert_allclose(m, optimizer.state_[0], rtol=1e-3, atol=1e-7)


def test_c_stops_at_the_first_non_finite_loss(c_peer):
    # Compiled without -ffast-math: the NaN check works, as in fastnn.
    X, labels, _ = sparse_images(10)
    X[6] = 3e38  # finite input, but the logits overflow at step 6
    net = MLP([784, 40, 10], dtype="float32", seed=0)
    steps, _ = c_peer.sgd_784_40_10(net.theta, X, labels, 0.01)
    assert steps == 6
    Xr, y = regression(10)
    y[3] = np.inf
    theta = MLP([2, 10, 1], output="identity", dtype="float32", seed=0).theta
    assert c_peer.sgd_2_10_1(theta, Xr, y, 0.07)[0] == 3


def test_c_peer_rejects_wrong_arrays(c_peer):
    theta = MLP([784, 40, 10], dtype="float32", seed=0).theta
    X, labels, _ = sparse_images(4)
    with pytest.raises(TypeError, match="X"):
        c_peer.sgd_784_40_10(theta, X.astype(np.float64), labels, 0.01)
    with pytest.raises(ValueError, match="labels"):
        c_peer.sgd_784_40_10(theta, X, labels + 10, 0.01)
    with pytest.raises(ValueError, match="theta"):
        c_peer.sgd_784_40_10(theta[:-1].copy(), X, labels, 0.01)


# --------------------------------------------------------------------------- bench_peers


def test_bench_peers_quick_run_checks_and_reports(tmp_path, capsys):
    systems = ["fastnn", "c", "numpy"] + (["jax"] if HAS_JAX else [])
    out = tmp_path / "peers.md"
    argv = ["--quick", "--cases", "b", "--systems", ",".join(systems), "--repeats", "1"]
    code = bench_peers.main([*argv, "--unroll", "2", "--check-steps", "50", "--out", str(out)])
    text = out.read_text()
    assert code == 0  # every weights check passed
    assert "## Samples per second (median)" in text and "## Same weights as fastnn" in text
    assert text.count("| yes |") == len(systems) - 1  # one check per peer of fastnn
    assert "## The float64 -> float32 cast" in text
    with pytest.raises(SystemExit) as exit_:
        bench_peers.main(["--cases", "e"])
    assert exit_.value.code == 2
    assert "cases" in capsys.readouterr().err
