"""Benchmark suite: fastnn against its NumPy reference, PyTorch, scikit-learn and JAX.

One run measures, side by side, training throughput (samples per second) of

- fastnn (the Numba kernels),
- the NumPy reference (``MLP(backend="numpy")``, always available),
- PyTorch CPU, scikit-learn and JAX, each only when installed (``pip install
  "fastnn[bench]"``) and not turned off with ``--skip-peers``; JAX trains with
  a ``jax.jit`` of a ``lax.scan`` over the epoch (:mod:`fastnn._peers_jax`),

on per-sample SGD and Adam (batch 1), mini-batches of 10 and 100, and networks
of growing width and depth; then the compile time of a first fit in a fresh
process (empty and warm Numba cache) and, on Fashion-MNIST, the wall time each
system needs to reach a test accuracy of 0.85 and 0.88.

Every figure is the median of several timed passes over the same rows in the
same order, after an untimed warm-up pass; each system trains the same network
from the same initial weights with the same loss, optimizer and learning rate.
Slow systems time fewer rows: a short probe sizes each pass to take about
``epoch_seconds``. Everything runs in one process with ``--threads`` threads per
system (one by default), so the ratios compare one core with one core.

It writes ``results.md`` (tables, ratios to fastnn, targets) and PNG plots into
``--out`` and prints the tables::

    fastnn bench                       # about 5 minutes on a 2-core machine
    fastnn bench --quick --out /tmp/b  # tiny sizes, well under a minute
    python -m fastnn.benchmark --dtype float64 --skip-peers
"""

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fastnn.io.atomic import atomic_write
from fastnn.validation import positive_int_argument

__all__ = ["main", "build_parser", "add_arguments", "run", "first_fit_seconds"]

# System keys, in table order, and their column labels.
SYSTEMS = ("fastnn", "numpy", "torch", "sklearn", "jax")
LABELS = {
    "fastnn": "fastnn",
    "numpy": "NumPy ref",
    "torch": "PyTorch",
    "sklearn": "scikit-learn",
    "jax": "JAX",
}
SHORT = {"numpy": "NumPy", "torch": "PyTorch", "sklearn": "sklearn", "jax": "JAX"}
HEADER = [
    "benchmark",
    "dtype",
    "fastnn samples/s",
    "NumPy ref",
    "PyTorch",
    "scikit-learn",
    "JAX",
    "fastnn/NumPy",
    "fastnn/PyTorch",
    "fastnn/sklearn",
    "fastnn/JAX",
    "rows timed (fastnn/NumPy/PyTorch/sklearn/JAX)",
]
PEERS = ("torch", "sklearn", "jax")  # the optional systems
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
ACCURACY_THRESHOLDS = (0.85, 0.88)
GENERATED = "per sample, generated loop"
PNG_NAMES = ("scaling_width.png", "scaling_depth.png", "per_sample_ratios.png")


@dataclass(frozen=True)
class Settings:
    """Sizes and repeat counts of one run (:data:`FULL` or :data:`QUICK`)."""

    epoch_seconds: float  # target length of one timed pass; fixes the rows per system
    repeats: int  # timed passes per system for the main tables
    scaling_repeats: int  # timed passes per system for the scaling curves
    image_rows: int  # most image rows a pass may use
    regression_rows: int  # most rows of the 2-10-1 regression a pass may use
    min_rows: int  # fewest rows a pass may use, however slow the system
    big: tuple  # the larger mini-batch network
    widths: tuple  # hidden widths of the width-scaling curve
    depths: tuple  # hidden-layer counts of the depth-scaling curve
    depth_width: int  # width of each hidden layer in the depth-scaling curve
    compile_batches: tuple  # batch sizes of the first-fit-in-a-fresh-process timing
    compile_generated: bool  # also time the first fit of a layout's generated loop
    warm_runs: int  # fresh processes timed with a warm cache (the median is reported)
    other_dtype: bool  # also time per-sample 784-40-10 SGD in the other dtype
    accuracy_budget: float  # seconds of training per system in time-to-accuracy; 0 skips it


FULL = Settings(
    epoch_seconds=0.4,
    repeats=7,
    scaling_repeats=3,
    image_rows=60_000,
    regression_rows=1_000_000,
    min_rows=50,
    big=(784, 256, 128, 10),
    widths=(10, 32, 64, 128, 256, 512, 1024),
    depths=(1, 2, 3, 4),
    depth_width=100,
    compile_batches=(1, 100),
    compile_generated=True,
    warm_runs=3,
    other_dtype=True,
    accuracy_budget=120.0,
)
QUICK = Settings(
    epoch_seconds=0.01,
    repeats=2,
    scaling_repeats=2,
    image_rows=300,
    regression_rows=500,
    min_rows=20,
    big=(784, 64, 32, 10),
    widths=(8, 16, 32, 64),
    depths=(1, 2),
    depth_width=32,
    compile_batches=(1,),
    compile_generated=False,
    warm_runs=1,
    other_dtype=False,
    accuracy_budget=0.0,
)


@dataclass(frozen=True)
class Case:
    """One throughput measurement: a network, a loss, an optimizer, a batch size, a dtype."""

    sizes: tuple
    output: str  # "softmax" (cross-entropy) or "identity" (mean squared error)
    optimizer: str  # "sgd" or "adam"
    lr: float
    batch: int
    dtype: str

    @property
    def label(self):
        loss = "softmax-CE" if self.output == "softmax" else "MSE"
        mode = "per-sample" if self.batch == 1 else f"batch {self.batch}"
        name = "SGD" if self.optimizer == "sgd" else "Adam"
        return f"{'-'.join(map(str, self.sizes))} {loss}, {name} lr {self.lr:g}, {mode}"


@dataclass
class Result:
    """Median samples/s and rows timed per system (``None``: not measured)."""

    case: Case
    rates: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)

    def ratio(self, system):
        """fastnn's samples/s over ``system``'s, or ``None``."""
        fast, other = self.rates.get("fastnn"), self.rates.get(system)
        return None if fast is None or other is None else fast / other


# --------------------------------------------------------------------------- data


class _Data:
    """Training rows per dtype: Fashion-MNIST (else random rows) and the 2-10-1 regression."""

    def __init__(self, settings, dtype):
        from fastnn import datasets

        self.settings = settings
        try:
            (X, y), (X_test, y_test) = datasets.load_fashion_mnist(dtype=dtype)
            self.source = "Fashion-MNIST"
        except FileNotFoundError:
            # Random rows about as sparse as the real images keep the work per row alike.
            rng = np.random.default_rng(0)
            X = rng.random((max(settings.image_rows, 1000), 784)).astype(dtype)
            X[X < 0.5] = 0
            y = rng.integers(0, 10, len(X))
            X_test = y_test = None
            self.source = "random rows of Fashion-MNIST's shape (Fashion-MNIST not found)"
        self._full = (X, y, X_test, y_test)
        self._cache = {}

    @property
    def has_fashion(self):
        return self._full[2] is not None

    def images(self, dtype):
        """Return ``(X, labels)``: at most ``image_rows`` training rows as ``dtype``."""
        key = ("images", dtype)
        if key not in self._cache:
            X, y = (
                self._full[0][: self.settings.image_rows],
                self._full[1][: self.settings.image_rows],
            )
            # One row of each class first, so that every pass (at least min_rows rows)
            # holds all classes: scikit-learn's fit(warm_start=True) insists on it.
            first = np.array([np.flatnonzero(y == label)[0] for label in np.unique(y)])
            order = np.concatenate([first, np.setdiff1d(np.arange(len(y)), first)])
            self._cache[key] = (np.ascontiguousarray(X[order], dtype=dtype), y[order])
        return self._cache[key]

    def regression(self, dtype):
        """Return ``(X, y)`` of the course's regression y = 3x0 + 2x1 as ``dtype``."""
        from fastnn import datasets

        key = ("regression", dtype)
        if key not in self._cache:
            X, y = datasets.make_regression(self.settings.regression_rows, seed=0, dtype=dtype)
            self._cache[key] = (X, y.astype(dtype))
        return self._cache[key]

    def fashion(self):
        """Return the whole of Fashion-MNIST, in the run's dtype: ``X, y, X_test, y_test``."""
        return self._full

    def rows_for(self, case):
        return self.regression(case.dtype) if case.output == "identity" else self.images(case.dtype)


# --------------------------------------------------------------------------- peers


def _find_peers(skip, threads=1):
    """Return ``({system: version}, {system: why it is missing}, how JAX's threads are set)``.

    The peers are PyTorch, scikit-learn and JAX. JAX is loaded here, before
    anything else can import it, so that its CPU thread pool gets ``threads``
    threads (:func:`fastnn._peers_jax.load_jax`), with float64 enabled for the
    float64 benchmarks.
    """
    found, missing = {}, {}
    if skip:
        return found, {peer: "skipped (--skip-peers)" for peer in PEERS}, ""
    try:
        import torch

        found["torch"] = torch.__version__
    except ImportError:
        missing["torch"] = 'not installed (pip install "fastnn[bench]")'
    try:
        import sklearn
        import sklearn.neural_network  # noqa: F401  (loads its libraries before the limits)

        found["sklearn"] = sklearn.__version__
    except ImportError:
        missing["sklearn"] = 'not installed (pip install "fastnn[bench]")'
    jax_how = ""
    try:
        from fastnn._peers_jax import load_jax

        jax, jax_how = load_jax(threads, x64=True)
        found["jax"] = jax.__version__
    except ImportError:
        missing["jax"] = 'not installed (pip install "fastnn[bench]")'
    return found, missing, jax_how


@contextlib.contextmanager
def _limit_threads(threads, with_torch):
    """Hold every BLAS/OpenMP pool (and PyTorch) to ``threads`` threads; yield how.

    The environment variables only work when set before NumPy loads, which is
    too late here (``import fastnn`` loaded it), so threadpoolctl (it comes with
    scikit-learn) limits the pools at run time. It only sees libraries already
    loaded, hence SciPy's BLAS (Numba's ``np.dot`` calls it), PyTorch and
    scikit-learn are imported first.
    """
    import scipy.linalg  # noqa: F401

    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        threadpool_limits = None
    with contextlib.ExitStack() as stack:
        if threadpool_limits is not None:
            stack.enter_context(threadpool_limits(limits=threads))
            pools = sorted(
                {f"{Path(p['filepath']).name} ({p['num_threads']})" for p in threadpool_info()}
            )
            how = f"threadpoolctl.threadpool_limits({threads}) on " + ", ".join(pools)
        else:
            values = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in THREAD_VARIABLES)
            how = (
                "threadpoolctl not installed: only the environment variables, which count "
                f"only if set before NumPy loaded ({values})"
            )
        if all(os.environ.get(variable) == str(threads) for variable in THREAD_VARIABLES):
            how += f"; {'/'.join(THREAD_VARIABLES)}={threads} in the environment"
        if with_torch:
            import torch

            previous = torch.get_num_threads()
            torch.set_num_threads(threads)
            stack.callback(torch.set_num_threads, previous)
            how += f"; torch.set_num_threads({threads})"
        yield how


# --------------------------------------------------------------------------- trainers
#
# A trainer factory builds one system's model for a case, with the initial
# weights of MLP(case.sizes, seed=0), and returns ``train(n)``: one pass over
# the first n rows, in order. Building the model and converting the data are
# not timed; ``train`` is.


def _fastnn_trainer(case, X, T, backend):
    from fastnn import optimizers
    from fastnn.model import MLP

    net = MLP(
        case.sizes, hidden="relu", output=case.output, dtype=case.dtype, seed=0, backend=backend
    )
    optimizer = optimizers.get(case.optimizer, lr=case.lr)

    def train(n):
        net.fit(X[:n], T[:n], optimizer=optimizer, batch_size=case.batch, shuffle=False)

    return train


def _initial_params(case):
    from fastnn.model import MLP

    net = MLP(case.sizes, hidden="relu", output=case.output, dtype=case.dtype, seed=0)
    return net.params


def _torch_model(sizes, params, dtype):
    """``nn.Sequential`` of Linear+ReLU layers holding fastnn's weights (W transposed)."""
    import torch

    layers = []
    for layer in range(1, len(sizes)):
        linear = torch.nn.Linear(sizes[layer - 1], sizes[layer], dtype=getattr(torch, dtype))
        with torch.no_grad():
            # torch stores (fan_out, fan_in) and computes x @ weight.T + bias.
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(params[f"W{layer}"].T)))
            linear.bias.copy_(torch.from_numpy(params[f"b{layer}"].copy()))
        layers.append(linear)
        if layer < len(sizes) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _torch_optimizer(model, name, lr):
    import torch

    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr)
    return torch.optim.Adam(model.parameters(), lr=lr)


def _torch_trainer(case, X, T):
    import torch
    import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

    model = _torch_model(case.sizes, _initial_params(case), case.dtype)
    optimizer = _torch_optimizer(model, case.optimizer, case.lr)
    X_t = torch.from_numpy(np.ascontiguousarray(X))
    if case.output == "softmax":
        T_t = torch.from_numpy(np.asarray(T, dtype=np.int64))

        def loss_of(y, t):
            return F.cross_entropy(y, t)  # mean over the batch, as fastnn
    else:
        T_t = torch.from_numpy(np.ascontiguousarray(T).reshape(-1, 1))

        def loss_of(y, t):
            return 0.5 * ((y - t) ** 2).sum() / t.shape[0]  # fastnn's MSE convention

    batch = case.batch

    def train(n):
        for start in range(0, n, batch):
            loss = loss_of(model(X_t[start : start + batch]), T_t[start : start + batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return train


def _sklearn_estimator(case, **overrides):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    settings = dict(
        hidden_layer_sizes=tuple(case.sizes[1:-1]),
        activation="relu",
        solver=case.optimizer,
        learning_rate_init=case.lr,
        batch_size=case.batch,
        alpha=0.0,
        shuffle=False,
        random_state=0,
    )
    if case.optimizer == "sgd":
        settings.update(learning_rate="constant", momentum=0.0, nesterovs_momentum=False)
    settings.update(overrides)
    kind = MLPClassifier if case.output == "softmax" else MLPRegressor
    return kind(**settings)


def _copy_into_sklearn(estimator, params):
    # In place: the optimizer of partial_fit keeps references to these arrays.
    for layer, (coef, intercept) in enumerate(
        zip(estimator.coefs_, estimator.intercepts_, strict=True), start=1
    ):
        coef[...] = params[f"W{layer}"]
        intercept[...] = params[f"b{layer}"]


def _sklearn_trainer(case, X, T, per_sample_fit=False):
    """partial_fit row by row for batch 1, else ``fit(max_iter=1)`` (or both, see below).

    ``per_sample_fit`` times scikit-learn's own per-sample loop instead:
    ``fit(batch_size=1, max_iter=1)``, far faster than one partial_fit call per row.
    """
    from sklearn.exceptions import ConvergenceWarning

    classes = np.arange(case.sizes[-1]) if case.output == "softmax" else None
    extra = {"classes": classes} if classes is not None else {}
    online = case.batch == 1 and not per_sample_fit
    estimator = _sklearn_estimator(case, max_iter=1)
    # One partial_fit step creates the weights; then they are overwritten with fastnn's,
    # and warm_start makes each fit(max_iter=1) continue from them.
    estimator.partial_fit(X[: case.batch], T[: case.batch], **extra)
    _copy_into_sklearn(estimator, _initial_params(case))
    estimator.set_params(warm_start=not online)

    if online:

        def train(n):
            for row in range(n):
                estimator.partial_fit(X[row : row + 1], T[row : row + 1])

    else:

        def train(n):
            with warnings.catch_warnings():
                # max_iter=1 is one epoch on purpose, not a failure to converge.
                warnings.simplefilter("ignore", ConvergenceWarning)
                estimator.fit(X[:n], T[:n])

    return train


def _jax_trainer(case, X, T):
    """JAX's epoch (:class:`fastnn._peers_jax.JaxTrainer`) on the first n rows.

    ``train.prepare(n)`` copies the rows to the device and compiles the epoch
    for n rows; :func:`_measure` calls it before each timed pass, so that no
    timed pass includes a compile (each row count is a new XLA program).
    """
    from fastnn._peers_jax import JaxTrainer

    trainer = JaxTrainer(_initial_params(case), case.output, case.optimizer, case.lr, case.batch)
    if case.output == "softmax":
        targets = np.eye(case.sizes[-1], dtype=case.dtype)[np.asarray(T, dtype=np.int64)]
    else:
        targets = np.asarray(T, dtype=case.dtype).reshape(-1, 1)
    staged = {}

    def prepare(n):
        if n not in staged:
            staged.clear()  # one row count on the device at a time
            staged[n] = trainer.stage(X[:n], targets[:n])
        trainer.compile(staged[n])

    def train(n):
        prepare(n)
        trainer.run(staged[n])

    train.prepare = prepare
    return train


def _trainer(system, case, X, T):
    if system == "fastnn":
        return _fastnn_trainer(case, X, T, "numba")
    if system == "numpy":
        return _fastnn_trainer(case, X, T, "numpy")
    if system == "torch":
        return _torch_trainer(case, X, T)
    if system == "sklearn":
        return _sklearn_trainer(case, X, T)
    if system == "sklearn_fit":
        return _sklearn_trainer(case, X, T, per_sample_fit=True)
    if system == "jax":
        return _jax_trainer(case, X, T)
    raise ValueError(system)


# --------------------------------------------------------------------------- timing


def _measure(train, n_available, batch, settings, repeats):
    """Return (median samples/s, rows per pass) of ``train``.

    A first pass on a few rows pays one-off costs (JIT or cache loading,
    allocations, lazy imports). Passes then grow until one takes about
    ``settings.epoch_seconds`` (fixed costs per call make short passes
    underestimate the speed); the last of them is the untimed warm-up at the
    final size, and ``repeats`` timed passes follow.
    """

    def rows_for(rate):
        n = int(min(n_available, max(settings.min_rows, rate * settings.epoch_seconds)))
        return max(batch, n - n % batch)

    # A system may need work per row count before its timed passes (JAX compiles).
    prepare = getattr(train, "prepare", lambda n: None)
    n = min(n_available, max(settings.min_rows, 2 * batch))
    train(n)
    for _ in range(6):
        prepare(n)
        start = time.perf_counter()
        train(n)
        wanted = rows_for(n / max(time.perf_counter() - start, 1e-9))
        if wanted <= 1.5 * n:
            break
        n = wanted
    prepare(n)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        train(n)
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates), n


def _bench_case(case, data, systems, settings, repeats):
    X, T = data.rows_for(case)
    result = Result(case)
    for system in systems:
        train = _trainer(system, case, X, T)
        result.rates[system], result.rows[system] = _measure(
            train, len(X), case.batch, settings, repeats
        )
    return result


# --------------------------------------------------------------------------- compile time

_FIRST_FIT = """
import time
start = time.perf_counter()
import numpy as np
import fastnn
imported = time.perf_counter()
rng = np.random.default_rng(0)
X = rng.random((64, {inputs})).astype("{dtype}")
T = rng.integers(0, {outputs}, 64)
net = fastnn.MLP({sizes}, dtype="{dtype}", seed=0, specialise={specialise})
net.fit(X, T, batch_size={batch_size})
done = time.perf_counter()
print(imported - start, done - imported)
"""


def first_fit_seconds(
    sizes, dtype="float32", batch_size=1, threads=1, warm_runs=1, specialise="auto"
):
    """Time ``import fastnn`` plus a first small fit in fresh processes.

    Parameters
    ----------
    sizes : sequence of int
    dtype : str, default "float32"
    batch_size : int, default 1
    threads : int, default 1
        BLAS/OpenMP threads of the child processes (environment variables).
    warm_runs : int, default 1
        Processes timed with the warm cache; the one with the median total is kept.
    specialise : "auto", True or False, default "auto"
        Passed to :class:`fastnn.MLP`; True times the loop generated for the
        layout (on 64 rows, "auto" takes the generic loop).

    Returns
    -------
    dict
        ``{"cold": (import s, fit s), "warm": (import s, fit s)}``: cold with an
        empty Numba cache directory and an empty cache of generated kernels
        (everything compiles), warm with those directories as the cold run left
        them (compiled code loads from disk).
    """
    code = _FIRST_FIT.format(
        inputs=sizes[0],
        outputs=sizes[-1],
        sizes=list(sizes),
        dtype=dtype,
        batch_size=batch_size,
        specialise=repr(specialise),
    )

    def once(env):
        output = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        ).stdout.split()
        return float(output[-2]), float(output[-1])

    with tempfile.TemporaryDirectory() as cache:
        env = dict(
            os.environ,
            NUMBA_CACHE_DIR=cache,
            FASTNN_KERNEL_CACHE=os.path.join(cache, "fastnn-kernels"),
        )
        env.update({variable: str(threads) for variable in THREAD_VARIABLES})
        cold = once(env)
        warm = sorted((once(env) for _ in range(warm_runs)), key=sum)
    return {"cold": cold, "warm": warm[len(warm) // 2]}


# --------------------------------------------------------------------------- time to accuracy


@dataclass
class _Curve:
    """Test accuracy against training seconds (evaluation excluded) for one system."""

    name: str
    settings: str
    points: list = field(default_factory=list)  # (seconds, accuracy)
    epochs: float = 0.0

    def first_time(self, threshold):
        return next((t for t, acc in self.points if acc >= threshold), None)

    @property
    def best(self):
        return max((acc for _, acc in self.points), default=float("nan"))


class _FastnnLearner:
    def __init__(self, sizes, dtype, optimizer, lr, batch):
        from fastnn import optimizers
        from fastnn.model import MLP

        self.net = MLP(sizes, dtype=dtype, seed=0)
        self.optimizer = optimizers.get(optimizer, lr=lr)
        self.batch = batch

    def train(self, X, y):
        self.net.fit(X, y, optimizer=self.optimizer, batch_size=self.batch, shuffle=False)

    def accuracy(self, X, y):
        return self.net.accuracy(X, y)


class _TorchLearner:
    def __init__(self, sizes, dtype, optimizer, lr, batch):
        from fastnn.model import MLP

        params = MLP(sizes, dtype=dtype, seed=0).params
        self.model = _torch_model(sizes, params, dtype)
        self.optimizer = _torch_optimizer(self.model, optimizer, lr)
        self.batch = batch

    def train(self, X, y):
        import torch
        import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
        for start in range(0, len(X), self.batch):
            stop = start + self.batch
            loss = F.cross_entropy(self.model(X_t[start:stop]), y_t[start:stop])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()

    def accuracy(self, X, y):
        import torch

        with torch.no_grad():
            predicted = self.model(torch.from_numpy(X)).argmax(dim=1).numpy()
        return float(np.mean(predicted == y))


class _SklearnLearner:
    def __init__(self, sizes, dtype, optimizer, lr, batch):
        case = Case(tuple(sizes), "softmax", optimizer, lr, batch, dtype)
        self.estimator = _sklearn_estimator(case)
        self.classes = np.arange(sizes[-1])

    def train(self, X, y):
        # partial_fit keeps Adam's state between chunks; fit(warm_start=True) would reset it.
        self.estimator.partial_fit(X, y, classes=self.classes)

    def accuracy(self, X, y):
        return self.estimator.score(X, y)


ACCURACY_SIZES = (784, 100, 10)
# name, learner, optimizer, lr, batch: each system's best simple settings we found.
ACCURACY_SYSTEMS = (
    ("fastnn per-sample", "fastnn", _FastnnLearner, "sgd", 0.005, 1),
    ("fastnn mini-batch", "fastnn", _FastnnLearner, "adam", 1e-3, 100),
    ("PyTorch", "torch", _TorchLearner, "adam", 1e-3, 100),
    ("scikit-learn MLPClassifier", "sklearn", _SklearnLearner, "adam", 1e-3, 100),
)
CHUNKS_PER_EPOCH = 4


def _time_to_accuracy(data, dtype, budget, systems, log):
    """Train each system on Fashion-MNIST until 0.88 test accuracy or ``budget`` seconds.

    All systems see the same rows in the same order (one seeded permutation per
    epoch) and are evaluated on the 10,000 test images after every quarter
    epoch. Only training counts towards the time: gathering the shuffled rows
    and evaluating are outside the clock. A warm-up on 200 rows with a
    throwaway model first pays any one-off compile cost.
    """
    X, y, X_test, y_test = data.fashion()
    curves = []
    for name, system, learner_type, optimizer, lr, batch in ACCURACY_SYSTEMS:
        if system not in systems:
            continue
        learner_type(ACCURACY_SIZES, dtype, optimizer, lr, batch).train(X[:200], y[:200])
        learner = learner_type(ACCURACY_SIZES, dtype, optimizer, lr, batch)
        label = "SGD" if optimizer == "sgd" else "Adam"
        curve = _Curve(name, f"{label} lr {lr:g}, batch {batch}")
        rng = np.random.default_rng(0)
        clock = 0.0
        while clock < budget and curve.first_time(ACCURACY_THRESHOLDS[-1]) is None:
            order = rng.permutation(len(X))
            for chunk in np.array_split(order, CHUNKS_PER_EPOCH):
                X_chunk, y_chunk = X[chunk], y[chunk]
                start = time.perf_counter()
                learner.train(X_chunk, y_chunk)
                clock += time.perf_counter() - start
                curve.points.append((clock, learner.accuracy(X_test, y_test)))
                curve.epochs += 1 / CHUNKS_PER_EPOCH
                if clock >= budget or curve.best >= ACCURACY_THRESHOLDS[-1]:
                    break
        curves.append(curve)
        log(
            f"time to accuracy, {name}: "
            + ", ".join(
                f"{threshold}: {_seconds(curve.first_time(threshold), budget)}"
                for threshold in ACCURACY_THRESHOLDS
            )
            + f" (best {curve.best:.4f} after {curve.epochs:g} epochs)"
        )
    return curves


# --------------------------------------------------------------------------- formatting


def _rate(value):
    return "-" if value is None else f"{value:,.0f}"


def _ratio(value):
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}x"
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def _compact(value):
    """1,500 -> "1.5k", 2e6 -> "2M": short tick labels."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def _seconds(value, budget=None):
    if value is None:
        return f"not reached within {budget:g} s" if budget else "-"
    return f"{value:.1f}"


def _row(result):
    rates, rows = result.rates, result.rows
    return [
        result.case.label,
        result.case.dtype,
        *(_rate(rates.get(system)) for system in SYSTEMS),
        *(_ratio(result.ratio(system)) for system in SYSTEMS[1:]),
        "/".join(str(rows[s]) if s in rows else "-" for s in SYSTEMS),
    ]


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _machine():
    import numba

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; Python "
        f"{platform.python_version()}, NumPy {np.__version__}, Numba {numba.__version__}"
    )


def _write_text(path, text):
    with atomic_write(path) as stream:
        stream.write(text.encode())


# --------------------------------------------------------------------------- plots


def _save(figure, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    with atomic_write(path) as stream:
        figure.savefig(stream, format="png", dpi=110)


def _plot_scaling(path, curves, xlabel, xs):
    """Log-log samples/s against ``xs``, one panel per mode, one line per system."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    figure = Figure(figsize=(11, 4.3), layout="constrained")
    axes = figure.subplots(1, len(curves))
    for ax, (title, results) in zip(np.atleast_1d(axes), curves.items(), strict=True):
        for system in SYSTEMS:
            points = [(x, r.rates.get(system)) for x, r in zip(xs, results, strict=True)]
            points = [(x, rate) for x, rate in points if rate is not None]
            if points:
                ax.loglog(*zip(*points, strict=True), marker="o", label=LABELS[system])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("samples/s (median)")
        ax.set_title(title)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.xaxis.set_minor_formatter(NullFormatter())  # only the measured x values
        # Labels at 1, 2 and 5 per decade: a panel may span less than one decade.
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _compact(value)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
    # One legend for both panels, outside them, so it never hides a line.
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper")
    _save(figure, path)


def _plot_ratios(path, results):
    """Bar chart: how many times faster fastnn is per sample, per case and peer."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.8), layout="constrained")
    ax = figure.subplots()
    peers = [s for s in SYSTEMS[1:] if any(r.ratio(s) is not None for r in results)]
    width = 0.8 / max(len(peers), 1)
    for k, system in enumerate(peers):
        values = [r.ratio(system) or 0.0 for r in results]
        positions = np.arange(len(results)) + (k - (len(peers) - 1) / 2) * width
        bars = ax.bar(positions, values, width, label=f"fastnn / {LABELS[system]}")
        ax.bar_label(bars, labels=[_ratio(v) if v else "" for v in values], fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(
        np.arange(len(results)),
        [f"{r.case.label.replace(', per-sample', '')}\n{r.case.dtype}" for r in results],
        fontsize=7,
    )
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel("speed-up of fastnn (samples/s ratio)")
    ax.set_title("Per-sample training: fastnn against each system")
    ax.legend()
    _save(figure, path)


def _plot_accuracy(path, curves):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = figure.subplots()
    for curve in curves:
        points = curve.points
        if points:
            ax.plot(
                *zip(*points, strict=True), marker=".", label=f"{curve.name} ({curve.settings})"
            )
    for threshold in ACCURACY_THRESHOLDS:
        ax.axhline(threshold, color="gray", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("training seconds (evaluation excluded)")
    ax.set_ylabel("Fashion-MNIST test accuracy")
    ax.set_ylim(0.75, 0.92)
    ax.set_title("Time to accuracy, 784-100-10 ReLU/softmax")
    ax.legend(fontsize=8)
    _save(figure, path)


# --------------------------------------------------------------------------- targets


def _find(results, sizes, optimizer, batch, dtype):
    for result in results:
        case = result.case
        if (case.sizes, case.optimizer, case.batch, case.dtype) == (sizes, optimizer, batch, dtype):
            return result
    return None


def _targets(results, compile_times, curves, quick):
    """Rows ``[target, measured, met]`` for the issue's targets."""
    rows = []

    def ratio_target(text, result, system, goal):
        value = None if result is None else result.ratio(system)
        if value is None:
            rows.append([text, "not measured", "-"])
        else:
            rows.append([text, _ratio(value), "yes" if value >= goal else "NO"])

    for dtype, torch_goal, numpy_goal in (("float32", 80, 18), ("float64", 40, 12)):
        result = _find(results, (784, 40, 10), "sgd", 1, dtype)
        prefix = f"Per-sample 784-40-10 {dtype} SGD"
        ratio_target(f"{prefix}: >= {torch_goal}x PyTorch", result, "torch", torch_goal)
        ratio_target(f"{prefix}: >= {numpy_goal}x NumPy ref", result, "numpy", numpy_goal)
    for dtype in ("float32", "float64"):
        result = _find(results, (2, 10, 1), "sgd", 1, dtype)
        if result is not None:
            ratio_target(f"Per-sample 2-10-1 {dtype} SGD: >= 5,000x PyTorch", result, "torch", 5000)
    result = _find(results, (784, 256, 128, 10), "sgd", 100, "float32")
    prefix = "Batch 100, 784-256-128-10 float32 SGD"
    ratio_target(f"{prefix}: >= 1.0x NumPy ref", result, "numpy", 1.0)
    ratio_target(f"{prefix}: >= 1.2x PyTorch", result, "torch", 1.2)
    # Issue 8: per-sample kernels against JAX's jit + lax.scan loop.
    for sizes, optimizer, batch, goal, text in (
        ((784, 40, 10), "sgd", 1, 1.5, "Per-sample 784-40-10 float32 SGD"),
        ((2, 10, 1), "sgd", 1, 10.0, "Per-sample 2-10-1 float32 SGD"),
        ((784, 40, 10), "adam", 1, 1.5, "Per-sample 784-40-10 float32 Adam"),
        ((784, 256, 128, 10), "sgd", 100, 1.0, "Batch 100, 784-256-128-10 float32 SGD"),
    ):
        result = _find(results, sizes, optimizer, batch, "float32")
        ratio_target(f"{text}: >= {goal:g}x JAX", result, "jax", goal)

    for label, limit in (("warm", 2.0), ("cold", 20.0)):
        times = {kind: sum(t[label]) for kind, t in compile_times.items()}
        measured = ", ".join(f"{s:.2f} s ({kind})" for kind, s in times.items())
        met = "yes" if max(times.values()) < limit else "NO"
        rows.append(
            [f"Import + first fit of 784-40-10, {label} cache: < {limit:g} s", measured, met]
        )
    # Issue 8: a new layout's generated loop, the fit alone.
    generated = compile_times.get(GENERATED)
    for label, limit in (("cold", 10.0), ("warm", 0.5)):
        if generated is None:
            rows.append([f"First fit, new layout, {label}: <= {limit:g} s", "not measured", "-"])
            continue
        seconds = generated[label][1]
        rows.append(
            [
                f"First fit of a new layout ({GENERATED}), {label} cache: <= {limit:g} s",
                f"{seconds:.2f} s",
                "yes" if seconds <= limit else "NO",
            ]
        )

    text = "Time to 0.88 test accuracy: fastnn <= 1/5 of scikit-learn's"
    by_name = {curve.name: curve.first_time(0.88) for curve in curves or []}
    fast = [by_name[n] for n in ("fastnn per-sample", "fastnn mini-batch") if by_name.get(n)]
    slow = by_name.get("scikit-learn MLPClassifier")
    if quick or not curves:
        rows.append([text, "not measured" + (" (--quick)" if quick else ""), "-"])
    elif not fast:
        rows.append([text, "fastnn did not reach 0.88", "NO"])
    elif slow is None:
        reason = "not run" if "scikit-learn MLPClassifier" not in by_name else "did not reach 0.88"
        rows.append([text, f"fastnn {min(fast):.1f} s, scikit-learn {reason}", "-"])
    else:
        share = min(fast) / slow
        rows.append(
            [
                text,
                f"fastnn {min(fast):.1f} s vs {slow:.1f} s: 1/{1 / share:.1f}",
                "yes" if share <= 0.2 else "NO",
            ]
        )
    return rows


# --------------------------------------------------------------------------- the run


def _cases(dtype, settings):
    per_sample = []
    for sizes, output, sgd_lr in (((2, 10, 1), "identity", 0.07), ((784, 40, 10), "softmax", 0.01)):
        for optimizer, lr in (("sgd", sgd_lr), ("adam", 1e-3)):
            per_sample.append(Case(sizes, output, optimizer, lr, 1, dtype))
    if settings.other_dtype:
        other = "float64" if dtype == "float32" else "float32"
        per_sample.append(Case((784, 40, 10), "softmax", "sgd", 0.01, 1, other))
    batched = [
        Case(sizes, "softmax", "sgd", 0.05, batch, dtype)
        for sizes in ((784, 40, 10), settings.big)
        for batch in (10, 100)
    ]
    return per_sample, batched


def _scaling_cases(dtype, settings):
    modes = {"per-sample SGD": 1, "batch 100 SGD": 100}
    lrs = {1: 0.01, 100: 0.05}
    width = {
        title: [Case((784, w, 10), "softmax", "sgd", lrs[b], b, dtype) for w in settings.widths]
        for title, b in modes.items()
    }
    depth = {
        title: [
            Case((784, *[settings.depth_width] * d, 10), "softmax", "sgd", lrs[b], b, dtype)
            for d in settings.depths
        ]
        for title, b in modes.items()
    }
    return width, depth


def add_arguments(parser):
    """Add the benchmark's options to ``parser`` (for mounting as ``fastnn bench``)."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and few rows, no time-to-accuracy: a smoke test of well under a minute",
    )
    parser.add_argument(
        "--dtype", choices=("float32", "float64"), default="float32", help="default: float32"
    )
    parser.add_argument(
        "--threads",
        type=positive_int_argument,
        default=1,
        help="threads per system (BLAS, OpenMP, PyTorch); default: 1",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results"),
        help="folder for results.md and the PNG plots; default: bench-results",
    )
    parser.add_argument(
        "--skip-peers",
        action="store_true",
        help="time only fastnn and its NumPy reference, even if PyTorch, scikit-learn or JAX "
        "are here",
    )
    return parser


def build_parser(prog="fastnn bench"):
    """Return the argument parser of ``fastnn bench``."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Training speed of fastnn against its NumPy reference, PyTorch, "
        "scikit-learn and JAX; writes results.md and PNG plots.",
    )
    return add_arguments(parser)


def _command(prog, args):
    parts = [prog]
    if args.quick:
        parts.append("--quick")
    parts += ["--dtype", args.dtype, "--threads", str(args.threads), "--out", str(args.out)]
    if args.skip_peers:
        parts.append("--skip-peers")
    return " ".join(parts)


def _first_fit_text(times):
    """'cold 5.83 s (import 0.33 s), warm 0.17 s (import 0.23 s)': first_fit_seconds's dict."""
    return ", ".join(
        f"{when} {fit:.2f} s (import {imported:.2f} s)" for when, (imported, fit) in times.items()
    )


def run(args, prog="fastnn bench"):
    """Run the benchmarks for parsed ``args`` and write the results; return 0.

    Parameters
    ----------
    args : argparse.Namespace
        With ``quick``, ``dtype``, ``threads``, ``out`` and ``skip_peers``.
    prog : str
        The command to show in results.md.
    """
    settings = QUICK if args.quick else FULL
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()

    def log(text):
        print(f"[{time.perf_counter() - began:6.1f} s] {text}", flush=True)

    peers, missing, jax_how = _find_peers(args.skip_peers, args.threads)
    systems = ["fastnn", "numpy", *peers]
    data = _Data(settings, args.dtype)
    per_sample_cases, batched_cases = _cases(args.dtype, settings)
    width_cases, depth_cases = _scaling_cases(args.dtype, settings)

    def bench(case, repeats, which=None):
        result = _bench_case(case, data, which or systems, settings, repeats)
        log(" | ".join(_row(result)))
        return result

    with _limit_threads(args.threads, "torch" in peers) as threads_how:
        if jax_how:
            threads_how += f"; JAX: {jax_how}"
        log(f"threads: {threads_how}")
        per_sample = [bench(case, settings.repeats) for case in per_sample_cases]
        sklearn_fit = []
        if "sklearn" in peers:
            # scikit-learn's own per-sample loop, fit(batch_size=1): a fairer second figure.
            for case in per_sample_cases:
                result = _bench_case(case, data, ["sklearn_fit"], settings, settings.repeats)
                fastnn = _find(per_sample, case.sizes, case.optimizer, 1, case.dtype)
                result.rates["fastnn"] = fastnn.rates["fastnn"]
                sklearn_fit.append(result)
        batched = [bench(case, settings.repeats) for case in batched_cases]
        # JAX compiles a new XLA program per network and row count (a second or so
        # each): it stays out of the scaling curves, which would take minutes longer.
        scaling_systems = [system for system in systems if system != "jax"]
        width = {
            t: [bench(c, settings.scaling_repeats, scaling_systems) for c in cs]
            for t, cs in width_cases.items()
        }
        depth = {
            t: [bench(c, settings.scaling_repeats, scaling_systems) for c in cs]
            for t, cs in depth_cases.items()
        }
        curves = None
        if settings.accuracy_budget and data.has_fashion:
            curves = _time_to_accuracy(data, args.dtype, settings.accuracy_budget, systems, log)

    compile_times = {}
    for batch in settings.compile_batches:
        compile_times[f"batch {batch}"] = first_fit_seconds(
            (784, 40, 10), args.dtype, batch, args.threads, settings.warm_runs
        )
        log(f"first fit, batch {batch}: {_first_fit_text(compile_times[f'batch {batch}'])}")
    if settings.compile_generated:
        # The loop generated for the layout (per-sample fits of 10,000 rows or more).
        compile_times[GENERATED] = first_fit_seconds(
            (784, 40, 10), args.dtype, 1, args.threads, settings.warm_runs, specialise=True
        )
        log(f"first fit, {GENERATED}: {_first_fit_text(compile_times[GENERATED])}")

    _plot_scaling(
        out / "scaling_width.png", width, "hidden width (784-W-10)", list(settings.widths)
    )
    _plot_scaling(
        out / "scaling_depth.png",
        depth,
        f"hidden layers of {settings.depth_width} units",
        list(settings.depths),
    )
    _plot_ratios(out / "per_sample_ratios.png", per_sample)
    if curves:
        _plot_accuracy(out / "time_to_accuracy.png", curves)

    report = _Report(
        args=args,
        prog=prog,
        settings=settings,
        data_source=data.source,
        peers=peers,
        missing=missing,
        threads_how=threads_how,
        per_sample=per_sample,
        sklearn_fit=sklearn_fit,
        batched=batched,
        width=width,
        depth=depth,
        compile_times=compile_times,
        curves=curves,
    )
    text = _markdown(report)
    _write_text(out / "results.md", text)
    print(text)
    log(f"wrote {out / 'results.md'} and the plots")
    return 0


@dataclass
class _Report:
    """Everything one run measured, for :func:`_markdown`."""

    args: argparse.Namespace
    prog: str
    settings: Settings
    data_source: str
    peers: dict
    missing: dict
    threads_how: str
    per_sample: list
    sklearn_fit: list
    batched: list
    width: dict
    depth: dict
    compile_times: dict
    curves: list | None


def _markdown(report):
    """Return results.md: set-up, one table per benchmark, the targets."""
    args, settings, peers, missing = report.args, report.settings, report.peers, report.missing
    versions = ", ".join(
        f"{LABELS[peer]} {peers[peer]}" if peer in peers else f"{LABELS[peer]} {missing[peer]}"
        for peer in PEERS
    )
    lines = [
        "# fastnn benchmarks: fastnn against the NumPy reference, PyTorch, scikit-learn and JAX",
        "",
        f"- Machine: {_machine()}; {versions}.",
        f"- Threads: {args.threads} per system, set by {report.threads_how}.",
        f"- Command: `{_command(report.prog, args)}`",
        f"- Data: {report.data_source}; the per-sample regression is the course's y = 3x0 + 2x1.",
        "- Method: every system trains the same network from the same initial weights "
        "(fastnn's `MLP(sizes, seed=0)`, copied into PyTorch as `weight = W.T`, into "
        "scikit-learn's `coefs_` and into JAX arrays) with the same loss, optimizer, learning "
        "rate and row order (no shuffling). One untimed warm-up pass, then the median of "
        f"{settings.repeats} timed passes ({settings.scaling_repeats} for the scaling curves); "
        "each pass is sized to take about "
        f"{settings.epoch_seconds:g} s, so slow systems time fewer rows (last column). "
        "fastnn: one `fit(epochs=1, shuffle=False)` call per pass, input checks included. "
        "PyTorch: a plain loop over row (or batch) slices of tensors converted once, "
        "`loss.backward(); optimizer.step()`, `F.cross_entropy` or `0.5*((y-t)**2).sum()/batch`. "
        "scikit-learn: `MLPClassifier`/`MLPRegressor(activation='relu', alpha=0, "
        "shuffle=False)`, SGD with `momentum=0`; per-sample is one `partial_fit` call per row, "
        "mini-batch is `fit(max_iter=1, warm_start=True)`. JAX: one `jax.jit` of a `lax.scan` "
        "over the pass, the update inside (`jax.value_and_grad`, `optax.sgd`/`optax.adam`), "
        "parameters and optimizer state donated, rows on the device beforehand, the scan's "
        "`unroll` from `fastnn._peers_jax.default_unroll`; each row count is compiled before "
        "its timed passes; JAX is left out of the scaling curves (a compile per network and "
        "row count). Compile time is measured apart.",
        "- All rates are training samples per second; ratios are fastnn's rate over the peer's.",
    ]
    if args.quick:
        lines.append(
            "- `--quick`: tiny sizes and a few hundred rows at most; a smoke test of the "
            "suite, not a measurement. Time-to-accuracy is skipped."
        )
    lines += [
        "",
        "## Per-sample training (batch 1)",
        "",
        *_table(HEADER, map(_row, report.per_sample)),
    ]
    if report.sklearn_fit:
        lines += [
            "",
            "scikit-learn has a faster per-sample path than `partial_fit` per row: its own "
            "loop, `fit(batch_size=1, max_iter=1)`, on the same rows:",
            "",
            *_table(
                [
                    "benchmark",
                    "dtype",
                    "fastnn samples/s",
                    "scikit-learn fit(batch_size=1)",
                    "fastnn/sklearn",
                    "rows timed (sklearn)",
                ],
                [
                    [
                        result.case.label,
                        result.case.dtype,
                        _rate(result.rates["fastnn"]),
                        _rate(result.rates["sklearn_fit"]),
                        _ratio(result.rates["fastnn"] / result.rates["sklearn_fit"]),
                        result.rows["sklearn_fit"],
                    ]
                    for result in report.sklearn_fit
                ],
            ),
        ]
    lines += ["", "## Mini-batch training", "", *_table(HEADER, map(_row, report.batched))]
    lines += [
        "",
        "## Scaling with hidden width",
        "",
        "![samples/s against hidden width](scaling_width.png)",
        "",
        *_table(HEADER, [_row(one) for results in report.width.values() for one in results]),
        "",
        "## Scaling with depth",
        "",
        "![samples/s against depth](scaling_depth.png)",
        "",
        *_table(HEADER, [_row(one) for results in report.depth.values() for one in results]),
        "",
        "![per-sample speed-ups](per_sample_ratios.png)",
        "",
        "## Compile time",
        "",
        f"`import fastnn` plus a first `fit` of a 784-40-10 {args.dtype} network on 64 random "
        "rows, each in a fresh Python process: *cold* with empty Numba and generated-kernel "
        "cache directories (every kernel compiles), *warm* with the caches that run left "
        f"(compiled code loads from disk; median of {settings.warm_runs} processes). The "
        f"{GENERATED} row forces `MLP(specialise=True)`, which fits of 10,000 rows or more "
        "use by default: its loop is generated and compiled for the layout.",
        "",
    ]
    compile_rows = [
        [
            kind,
            label,
            f"{t[label][0]:.2f}",
            f"{t[label][1]:.2f}",
            f"{sum(t[label]):.2f}",
        ]
        for kind, t in report.compile_times.items()
        for label in ("cold", "warm")
    ]
    lines += _table(
        ["fit", "cache", "import fastnn (s)", "first fit (s)", "total (s)"], compile_rows
    )
    lines += ["", "## Time to accuracy on Fashion-MNIST", ""]
    if report.curves:
        lines += [
            f"784-100-10 ReLU/softmax, {args.dtype}; test accuracy on the 10,000 test "
            "images after every quarter epoch; time is training only (gathering each chunk's "
            "shuffled rows and evaluating are outside the clock); all systems see the same rows "
            "in the same order; a system stops at 0.88 or after "
            f"{settings.accuracy_budget:g} s of training. fastnn and PyTorch start from the same "
            "He-initialised weights; scikit-learn from its own (it has no public way to set "
            "them before training) and trains by `partial_fit` on each chunk, which keeps "
            "Adam's state.",
            "",
            "![time to accuracy](time_to_accuracy.png)",
            "",
        ]
        lines += _table(
            [
                "system",
                "settings",
                "time to 0.85 (s)",
                "time to 0.88 (s)",
                "best accuracy",
                "epochs run",
            ],
            [
                [
                    c.name,
                    c.settings,
                    *(
                        _seconds(c.first_time(t), settings.accuracy_budget)
                        for t in ACCURACY_THRESHOLDS
                    ),
                    f"{c.best:.4f}",
                    f"{c.epochs:g}",
                ]
                for c in report.curves
            ],
        )
    elif args.quick:
        lines.append("Skipped in `--quick` mode.")
    else:
        lines.append("Skipped: Fashion-MNIST was not found.")
    lines += [
        "",
        "## Targets",
        "",
        *_table(
            ["target", "measured", "met"],
            _targets(
                report.per_sample + report.batched, report.compile_times, report.curves, args.quick
            ),
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None, prog="fastnn bench"):
    """Run ``fastnn bench`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = build_parser(prog).parse_args(argv)
    return run(args, prog)


if __name__ == "__main__":
    sys.exit(main(prog="python -m fastnn.benchmark"))
