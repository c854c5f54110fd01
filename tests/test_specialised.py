"""The per-layout loops of fastnn.codegen.generator against the generic loop and the reference.

Each generated loop computes the generic loop's formulas with other sums and
FMAs, so results agree to float tolerance, not bit for bit. Every case here
compiles one layout (a second or two each), so the cases are chosen to cover
each code path once: every optimizer variant, activation and loss, register
and memory mode, the pipelined first layer, skipped zero inputs, vector
pieces of every width, tiles wider than the register file, and both the
AVX-512 and the AVX2 shapes of the code whatever this machine has.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
import fastnn.kernels.reference
from fastnn import MLP, codegen, kernels, optimizers
from fastnn.codegen import cache as loop_cache
from fastnn.codegen import generator
from fastnn.kernels import codes
from fastnn.network import Architecture, NetworkState
from fastnn.training.engine import group_for, member_for

TOLERANCE = {"float64": {"rtol": 1e-9, "atol": 1e-11}, "float32": {"rtol": 2e-4, "atol": 2e-5}}

OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(lr=0.05),
    "sgd_decay": lambda: optimizers.SGD(lr=0.05, weight_decay=0.01),
    "sgd_momentum": lambda: optimizers.SGD(
        lr=0.02, momentum=0.9, dampening=0.2, weight_decay=0.001
    ),
    "sgd_nesterov": lambda: optimizers.Nesterov(lr=0.02),
    "adagrad": lambda: optimizers.AdaGrad(lr=0.05, lr_decay=0.01, weight_decay=0.001),
    "rmsprop": lambda: optimizers.RMSProp(lr=0.002),
    "rmsprop_centered": lambda: optimizers.RMSProp(lr=0.002, centered=True),
    "rmsprop_momentum": lambda: optimizers.RMSProp(lr=0.002, momentum=0.5),
    "rmsprop_centered_momentum": lambda: optimizers.RMSProp(
        lr=0.002, momentum=0.5, centered=True, weight_decay=0.01
    ),
    "adadelta": lambda: optimizers.Adadelta(weight_decay=0.001),
    "adam": lambda: optimizers.Adam(lr=0.005, weight_decay=0.001),
    "adam_amsgrad": lambda: optimizers.Adam(lr=0.005, amsgrad=True),
    "adamw": lambda: optimizers.AdamW(lr=0.005),
}


def data(sizes, output, dtype, n, seed=0, sparse=True):
    rng = np.random.default_rng(seed)
    X = rng.random((n, sizes[0]))
    if sparse:
        X[X < 0.5] = 0  # zero inputs, like blank pixels, are skipped
    if output == "softmax":
        T = rng.integers(0, sizes[-1], n)
    elif output == "sigmoid":
        T = (rng.random((n, sizes[-1])) > 0.5).astype(float)
    else:
        T = rng.standard_normal((n, sizes[-1]))
    return X.astype(dtype), T


def fit_three_ways(
    sizes, hidden="relu", output="softmax", dtype="float64", optimizer="sgd", n=48, epochs=2
):
    """Fit the same network with the generated loop, the generic loop and the reference."""
    X, T = data(sizes, output, dtype, n)
    nets = {
        "specialised": MLP(sizes, hidden, output, dtype=dtype, seed=1, specialise=True),
        "generic": MLP(sizes, hidden, output, dtype=dtype, seed=1, specialise=False),
        "reference": MLP(sizes, hidden, output, dtype=dtype, seed=1, backend="numpy"),
    }
    histories = {}
    for name, net in nets.items():
        histories[name] = net.fit(X, T, optimizer=OPTIMIZERS[optimizer](), epochs=epochs)
    return nets, histories


def assert_agree(nets, histories, dtype):
    tolerance = TOLERANCE[dtype]
    expected = nets["reference"]
    for name in ("specialised", "generic"):
        np.testing.assert_allclose(nets[name].theta, expected.theta, **tolerance, err_msg=name)
        np.testing.assert_allclose(
            histories[name].step_loss, histories["reference"].step_loss, **tolerance
        )
        np.testing.assert_allclose(
            nets[name].optimizer_.state_, expected.optimizer_.state_, **tolerance
        )
        assert histories[name].train_acc == histories["reference"].train_acc


# The optimizer's update is written by one method in both modes (only where the state
# lives differs): every variant runs in register mode, whose loops compile fastest, and
# the memory mode runs one of each number of state rows (0 to 3) and the stateless
# variants of plain SGD.
@pytest.mark.parametrize(
    "optimizer", ["sgd", "sgd_decay", "sgd_momentum", "adam", "rmsprop_centered_momentum"]
)
def test_optimizers_in_memory_mode_with_a_pipelined_first_layer(optimizer):
    # 70 inputs: wide enough to pipeline and to skip zeros; 17 = 16 + 1 lanes.
    nets, histories = fit_three_ways([70, 17, 3], optimizer=optimizer)
    assert_agree(nets, histories, "float64")


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_in_register_mode(optimizer):
    # An AVX-512-shaped spec on every machine (LLVM splits its vectors where
    # registers are narrower), so this path is tested wherever the tests run.
    check_kernel([1, 2, 1], "relu", "identity", "float64", optimizer, bits=512, register_mode=True)


# Three hidden layers, one activation each: every activation, below and above every
# other kind (vector or lane by lane, skipped zeros or not), in two loops per mode.
HIDDEN_TRIOS = [["relu", "sigmoid", "leaky_relu"], ["tanh", "step", "identity"]]


def test_hidden_trios_cover_every_activation():
    assert sorted(sum(HIDDEN_TRIOS, [])) == sorted(codes.ACTIVATION_CODES)


@pytest.mark.parametrize("hidden", HIDDEN_TRIOS, ids=["-".join(trio) for trio in HIDDEN_TRIOS])
def test_every_hidden_activation_in_memory_mode(hidden):
    nets, histories = fit_three_ways([20, 24, 18, 16, 3], hidden=hidden)
    assert_agree(nets, histories, "float64")


@pytest.mark.parametrize("hidden", HIDDEN_TRIOS, ids=["-".join(trio) for trio in HIDDEN_TRIOS])
def test_every_hidden_activation_in_register_mode(hidden):
    check_kernel([1, 2, 2, 2, 2], hidden, "softmax", "float64", "sgd", bits=512, register_mode=True)


@pytest.mark.parametrize(
    "sizes, output, optimizer",
    [
        ([70, 17, 1], "identity", "sgd"),  # one output: the dot-product form
        ([70, 17, 1], "sigmoid", "adam"),
        ([70, 17, 4], "sigmoid", "sgd"),
        ([9, 1, 3], "softmax", "sgd"),  # a one-unit hidden layer
        ([5, 1], "identity", "sgd_momentum"),  # a single layer, one output
        ([1, 1], "identity", "sgd"),
        ([2, 10, 1], "identity", "sgd"),  # the course's regression, in registers
        ([65, 33, 7], "softmax", "sgd"),  # pieces of 16, 16, 1 and 4, 2, 1 lanes
        ([100, 200, 2], "softmax", "sgd"),  # wider than the registers: tiles
        ([100, 200, 2], "softmax", "adam"),
    ],
)
def test_losses_and_widths(sizes, output, optimizer):
    nets, histories = fit_three_ways(sizes, output=output, optimizer=optimizer)
    assert_agree(nets, histories, "float64")


@pytest.mark.parametrize(
    "sizes, output, optimizer",
    [
        ([100, 40, 10], "softmax", "sgd"),
        ([100, 40, 10], "softmax", "adam"),
        ([2, 10, 1], "identity", "sgd"),
    ],
)
def test_float32(sizes, output, optimizer):
    nets, histories = fit_three_ways(sizes, output=output, dtype="float32", optimizer=optimizer)
    assert_agree(nets, histories, "float32")


def _spec_of(sizes, hidden, output, dtype, optimizer, bits=None):
    net = MLP(sizes, hidden, output, dtype=dtype, seed=0)
    opt = OPTIMIZERS[optimizer]()
    spec = loop_cache.spec_for(
        net.sizes, net.layout, net.loss_code, net.dtype, opt.code, opt.hyper_vector(dtype)
    )
    if bits is not None:
        lanes, registers = generator.lanes_for(dtype, bits), generator.registers_for(bits)
        spec = generator.Spec(**{**spec.__dict__, "lanes": lanes, "registers": registers})
    return spec


def _run_kernel(kernel, sizes, hidden, output, dtype, optimizer, X, T, order):
    architecture = Architecture.checked(sizes, hidden, output, dtype=dtype)
    net = NetworkState.create(architecture, seed=1)
    opt = OPTIMIZERS[optimizer]()
    T = architecture.targets(T, len(X))
    member = member_for(net, opt, 1, order)
    done = kernel(group_for(net, opt, 1, X, T), member)
    return done, net.theta, opt.state_, member.losses


@pytest.mark.parametrize("bits", [128, 256], ids=["sse-like", "avx2-like"])
@pytest.mark.parametrize(
    "sizes, optimizer", [([70, 17, 3], "sgd"), ([70, 17, 3], "adam"), ([2, 4, 2], "sgd")]
)
def test_narrower_machines_shape_of_the_code(bits, sizes, optimizer):
    # The code a machine with narrower vector registers would get.
    check_kernel(sizes, "relu", "softmax", "float64", optimizer, bits=bits)


def check_kernel(sizes, hidden, output, dtype, optimizer, bits, register_mode=None, n=40):
    """Run the loop generated for ``bits``-bit registers against the reference kernel."""
    spec = _spec_of(sizes, hidden, output, dtype, optimizer, bits)
    if register_mode is not None:
        assert generator.register_mode(spec) == register_mode
    X, T = data(sizes, output, dtype, n)
    order = np.random.default_rng(2).permutation(n)
    got = _run_kernel(
        loop_cache.kernel_for(spec), sizes, hidden, output, dtype, optimizer, X, T, order
    )
    want = _run_kernel(
        kernels.reference.train_epoch_sample, sizes, hidden, output, dtype, optimizer, X, T, order
    )
    assert got[0] == want[0] == n
    for a, b in zip(got[1:], want[1:], strict=True):
        np.testing.assert_allclose(a, b, **TOLERANCE[dtype])


@pytest.mark.parametrize("sizes", [[70, 17, 3], [3, 5, 2]], ids=["memory", "register"])
def test_a_non_finite_loss_stops_before_its_update(sizes):
    X, T = data(sizes, "softmax", "float64", 30)
    X[17, :] = np.inf  # makes the loss of step 17 non-finite
    order = np.arange(30)
    spec = _spec_of(sizes, "relu", "softmax", "float64", "sgd")
    got = _run_kernel(
        loop_cache.kernel_for(spec), sizes, "relu", "softmax", "float64", "sgd", X, T, order
    )
    want = _run_kernel(
        kernels.train_epoch_sample, sizes, "relu", "softmax", "float64", "sgd", X, T, order
    )
    assert got[0] == want[0] == 17
    np.testing.assert_allclose(got[1], want[1], **TOLERANCE["float64"])
    assert not np.isfinite(got[3][17])


def test_auto_uses_the_generated_loop_once_the_fit_pays_for_its_compile():
    spec = _spec_of([784, 40, 10], "relu", "softmax", "float32", "sgd")
    samples = codegen.break_even_samples(spec)
    # the estimated compile over the estimated time saved per sample
    saved = codegen.policy.saved_seconds_per_sample(spec)
    assert samples * saved >= codegen.compile_seconds_estimate(spec) > (samples - 1) * saved
    rows = 60_000
    epochs = -(-samples // rows)
    assert not codegen.uses_generated_loop("auto", "numba", rows, [0.0], epochs - 1, spec)
    assert codegen.uses_generated_loop("auto", "numba", rows, [0.0], epochs, spec)
    assert codegen.uses_generated_loop("auto", "numba", samples, [0.0], 1, spec)
    assert not codegen.uses_generated_loop("auto", "numba", samples - 1, [0.0], 1, spec)
    assert not codegen.uses_generated_loop(False, "numba", 10**9, [0.0], 1, spec)
    assert codegen.uses_generated_loop(True, "numba", 1, [0.0], 1, spec)
    assert not codegen.uses_generated_loop(True, "numpy", 10**9, [0.0], 1, spec)
    assert not codegen.uses_generated_loop(True, "numba", 10**9, [0.5], 1, spec)
    assert not codegen.uses_generated_loop(True, "numba", 10**9, [0.0], 1, None)


def test_auto_waits_longer_for_layouts_that_save_less_or_compile_longer():
    small = _spec_of([2, 10, 1], "relu", "identity", "float64", "sgd")
    mnist = _spec_of([784, 40, 10], "relu", "softmax", "float32", "sgd")
    adam = _spec_of([784, 40, 10], "relu", "softmax", "float32", "adam")
    # a tiny network saves little per sample: far more samples before it pays
    assert codegen.break_even_samples(small) > 10 * codegen.break_even_samples(mnist)
    # Adam's fused update saves more per sample than plain SGD's
    assert codegen.break_even_samples(adam) < codegen.break_even_samples(mnist)


def test_generated_source_is_cached_on_disk_and_reused(tmp_path):
    script = (
        "import numpy as np\n"
        "from fastnn import MLP\nfrom fastnn.codegen import cache as loop_cache\n"
        "net = MLP([6, 5, 2], seed=0, specialise=True)\n"
        "net.fit(np.ones((4, 6)), [0, 1, 0, 1])\n"
        "kernel = next(iter(loop_cache._loaded.values())).train_epoch\n"
        "print(sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values()))\n"
    )
    env = {**os.environ, "FASTNN_KERNEL_CACHE": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0] == ["0", "1"]  # compiled the first time
    assert runs[1] == ["1", "0"]  # loaded from the cache the second time
    files = sorted(path.name for path in tmp_path.glob("fastnn_*.py"))
    assert len(files) == 1
    assert files[0].startswith("fastnn_6-5-2_float32_sgd_relu_softmax_")  # says what it holds
    source = (tmp_path / files[0]).read_text()
    assert "Network 6-5-2" in source


def test_an_edited_cache_file_is_regenerated(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNN_KERNEL_CACHE", str(tmp_path))
    spec = _spec_of([4, 3, 2], "relu", "softmax", "float64", "sgd")
    text = loop_cache.source_text(spec)
    loop_cache._import(spec)
    (path,) = tmp_path.glob("fastnn_*.py")
    path.write_text("raise RuntimeError('tampered')\n")
    for name in [n for n in sys.modules if n.startswith("fastnn_generated_")]:
        monkeypatch.delitem(sys.modules, name)
    loop_cache._import(spec)
    assert path.read_text() == text


def test_warmup_builds_the_loops_of_the_layouts_it_is_given():
    spec = _spec_of([6, 3, 2], "relu", "softmax", "float64", "sgd")
    fastnn.warmup(dtypes=("float64",), optimizers=("sgd",), sizes=[6, 3, 2])
    assert spec in loop_cache._loaded
    fastnn.warmup(dtypes=("float64",), optimizers=("sgd",), sizes=[[6, 3, 2], [2, 3, 2]])
    assert _spec_of([2, 3, 2], "relu", "softmax", "float64", "sgd") in loop_cache._loaded


@pytest.mark.parametrize("sizes", [[70, 17, 3], [1, 2, 1]], ids=["memory", "register"])
def test_flush_to_zero_mode_is_switched_back_off(sizes):
    # Stateful optimizers run with the CPU's flush-to-zero mode on; it must be
    # off again after the call, also when the loss becomes non-finite.
    for poison in (False, True):
        X, T = data(sizes, "identity", "float64", 20)
        if poison:
            T[7] = 1e200  # finite data, an infinite loss: 0.5 * 1e400
        net = MLP(sizes, output="identity", dtype="float64", seed=0, specialise=True)
        try:
            net.fit(X, T, optimizer=optimizers.Adam())
        except fastnn.TrainingDivergedError:
            assert poison
        assert np.float64(1e-310) * np.float64(1.5) != 0  # subnormal results survive
        assert np.float32(2e-39) * np.float32(1.5) != 0


def test_a_change_in_any_kernel_file_gives_a_new_module(monkeypatch):
    # Numba caches a generated module's code by that file alone; the kernels it
    # calls are fingerprinted into its text, so editing them gives a new file.
    spec = _spec_of([4, 3, 2], "relu", "softmax", "float64", "sgd")
    before = loop_cache.source_text(spec)
    monkeypatch.setattr(loop_cache, "_fingerprint", lambda: "0123456789abcdef")
    after = loop_cache.source_text(spec)
    assert before != after and before.split("\n", 1)[1] == after.split("\n", 1)[1]


def test_layouts_the_generator_does_not_cover_fall_back_to_the_generic_loop():
    sizes = [3] + [2] * 9  # nine layers: more than generated loops are made for
    net = MLP(sizes, dtype="float64", seed=0, specialise=True)
    opt = optimizers.SGD(lr=0.05)
    assert (
        loop_cache.spec_for(
            net.sizes, net.layout, net.loss_code, net.dtype, opt.code, opt.hyper_vector("float64")
        )
        is None
    )
    X, T = data(sizes, "softmax", "float64", 30)
    twin = MLP(sizes, dtype="float64", seed=0, specialise=False)
    net.fit(X, T, optimizer=opt)
    twin.fit(X, T, optimizer=optimizers.SGD(lr=0.05))
    np.testing.assert_array_equal(net.theta, twin.theta)  # the very same (generic) loop
