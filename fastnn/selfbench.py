"""fastnn's self-benchmark: the compiled kernels against fastnn's own NumPy reference.

It needs nothing but fastnn, and ``fastnn bench`` runs it. It measures, side by side in
one process and one thread each,

- training throughput (samples per second) of ``MLP`` (the Numba kernels) and of
  ``MLP(backend="numpy")`` (the same algorithm written as the textbook's NumPy loop),
  per sample and in mini-batches: the same network from the same initial weights, with
  the same loss, optimizer, learning rate and rows in the same order;
- compile time, apart from run time: ``import fastnn`` plus a first ``fit`` in a fresh
  Python process, once with empty kernel caches (everything compiles) and then with the
  caches that process filled (compiled code loads from disk).

Every throughput figure is the median of several timed passes after an untimed warm-up;
a short probe sizes each pass to take about ``Settings.epoch_seconds``, so the slower
system times fewer rows.

The comparison with PyTorch, JAX, scikit-learn and hand-written C is not part of the
package: it lives in the repository's ``bench/`` folder, which builds on this module.
From a clone: ``pip install -e ".[bench]"``, then ``python bench/bench_peers.py`` or
``python bench/bench_suite.py``.
"""

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastnn.validation import check_dtype, check_int

__all__ = [
    "Case",
    "Settings",
    "FULL",
    "QUICK",
    "Result",
    "TrainingRows",
    "cases",
    "fastnn_trainer",
    "measure",
    "first_fit_seconds",
    "time_first_fit",
    "FIRST_FIT_PROGRAM",
    "limit_threads",
    "machine",
    "Report",
    "run",
]

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
SYSTEMS = ("fastnn", "numpy")  # the compiled kernels, the NumPy reference
BIG_NETWORK = (784, 256, 128, 10)


@dataclass(frozen=True)
class Settings:
    """Sizes and repeat counts of one run (:data:`FULL` or :data:`QUICK`)."""

    epoch_seconds: float  # target length of one timed pass; fixes the rows per system
    repeats: int  # timed passes per system
    image_rows: int  # most image rows a pass may use
    regression_rows: int  # most rows of the 2-10-1 regression a pass may use
    min_rows: int  # fewest rows a pass may use, however slow the system
    big: tuple[int, ...]  # the larger mini-batch network
    compile_batches: tuple[int, ...]  # batch sizes of the first fit in a fresh process
    compile_generated: bool  # also time the first fit of a layout's generated loop
    warm_runs: int  # fresh processes timed with a warm cache (the median is reported)


FULL = Settings(
    epoch_seconds=0.4,
    repeats=7,
    image_rows=60_000,
    regression_rows=1_000_000,
    min_rows=50,
    big=BIG_NETWORK,
    compile_batches=(1, 100),
    compile_generated=True,
    warm_runs=3,
)
QUICK = Settings(
    epoch_seconds=0.01,
    repeats=2,
    image_rows=300,
    regression_rows=500,
    min_rows=20,
    big=(784, 64, 32, 10),
    compile_batches=(1,),
    compile_generated=False,
    warm_runs=1,
)


@dataclass(frozen=True)
class Case:
    """One throughput measurement: a network, a loss, an optimizer, a batch size, a dtype."""

    sizes: tuple[int, ...]
    output: str  # "softmax" (cross-entropy) or "identity" (mean squared error)
    optimizer: str  # "sgd" or "adam"
    lr: float
    batch: int
    dtype: str

    @property
    def label(self) -> str:
        """ "784-40-10 softmax-CE, SGD lr 0.01, per-sample": what the case trains."""
        loss = "softmax-CE" if self.output == "softmax" else "MSE"
        mode = "per-sample" if self.batch == 1 else f"batch {self.batch}"
        name = "SGD" if self.optimizer == "sgd" else "Adam"
        return f"{'-'.join(map(str, self.sizes))} {loss}, {name} lr {self.lr:g}, {mode}"


@dataclass
class Result:
    """Median samples/s and rows timed per system (absent: not measured)."""

    case: Case
    rates: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def ratio(self, system: str) -> float | None:
        """fastnn's samples/s over ``system``'s, or None."""
        fast, other = self.rates.get("fastnn"), self.rates.get(system)
        return None if fast is None or other is None else fast / other


def cases(
    dtype: str, big: tuple[int, ...] = BIG_NETWORK, other_dtype: bool = False
) -> tuple[list[Case], list[Case]]:
    """Return ``(per_sample, batched)``: the cases of one run.

    Per sample: the course's 2-10-1 regression and a 784-40-10 classifier, each with
    SGD and Adam (and, with ``other_dtype``, 784-40-10 SGD in the other float type).
    Mini-batch: 784-40-10 and ``big``, each with batches of 10 and 100, SGD.
    """
    per_sample = []
    for sizes, output, sgd_lr in (((2, 10, 1), "identity", 0.07), ((784, 40, 10), "softmax", 0.01)):
        for optimizer, lr in (("sgd", sgd_lr), ("adam", 1e-3)):
            per_sample.append(Case(sizes, output, optimizer, lr, 1, dtype))
    if other_dtype:
        other = "float64" if dtype == "float32" else "float32"
        per_sample.append(Case((784, 40, 10), "softmax", "sgd", 0.01, 1, other))
    batched = [
        Case(sizes, "softmax", "sgd", 0.05, batch, dtype)
        for sizes in ((784, 40, 10), big)
        for batch in (10, 100)
    ]
    return per_sample, batched


# --------------------------------------------------------------------------- data


class TrainingRows:
    """The rows every system trains on: Fashion-MNIST (else random rows of its shape) and
    the course's 2-10-1 regression, per dtype, in one fixed order.

    Parameters
    ----------
    image_rows, regression_rows : int
        The most rows of each a pass may use.
    dtype : str
        The dtype Fashion-MNIST is loaded in (:meth:`fashion`).
    """

    def __init__(self, image_rows: int, regression_rows: int, dtype: str) -> None:
        from fastnn import datasets

        self.image_rows, self.regression_rows = image_rows, regression_rows
        X_test: NDArray[Any] | None
        y_test: NDArray[Any] | None
        try:
            (X, y), (X_test, y_test) = datasets.load_fashion_mnist(dtype=dtype)
            self.source = "Fashion-MNIST"
        except FileNotFoundError:
            # Random rows about as sparse as the real images keep the work per row alike.
            rng = np.random.default_rng(0)
            X = rng.random((max(image_rows, 1000), 784)).astype(dtype)
            X[X < 0.5] = 0
            y = rng.integers(0, 10, len(X))
            X_test = y_test = None
            self.source = "random rows of Fashion-MNIST's shape (Fashion-MNIST not found)"
        self._full = (X, y, X_test, y_test)
        self._cache: dict[tuple[str, str], tuple[NDArray[Any], NDArray[Any]]] = {}

    @property
    def has_fashion(self) -> bool:
        """True if Fashion-MNIST was found (else the image rows are random)."""
        return self._full[2] is not None

    def images(self, dtype: str) -> tuple[NDArray[Any], NDArray[Any]]:
        """Return ``(X, labels)``: at most ``image_rows`` training rows as ``dtype``."""
        key = ("images", dtype)
        if key not in self._cache:
            X, y = self._full[0][: self.image_rows], self._full[1][: self.image_rows]
            # One row of each class first, so that every pass (at least min_rows rows)
            # holds all classes: scikit-learn's fit(warm_start=True) insists on it.
            first = np.array([np.flatnonzero(y == label)[0] for label in np.unique(y)])
            order = np.concatenate([first, np.setdiff1d(np.arange(len(y)), first)])
            self._cache[key] = (np.ascontiguousarray(X[order], dtype=dtype), y[order])
        return self._cache[key]

    def regression(self, dtype: str) -> tuple[NDArray[Any], NDArray[Any]]:
        """Return ``(X, y)`` of the course's regression y = 3x0 + 2x1 as ``dtype``."""
        from fastnn import datasets

        key = ("regression", dtype)
        if key not in self._cache:
            X, y = datasets.make_regression(self.regression_rows, seed=0, dtype=dtype)
            self._cache[key] = (X, y.astype(dtype))
        return self._cache[key]

    def fashion(self) -> tuple[NDArray[Any], NDArray[Any], Any, Any]:
        """Return the whole of Fashion-MNIST: ``X, y, X_test, y_test`` (tests None if absent)."""
        return self._full

    def rows_for(self, case: Case) -> tuple[NDArray[Any], NDArray[Any]]:
        """The rows ``case`` trains on: the regression's, or the images'."""
        return self.regression(case.dtype) if case.output == "identity" else self.images(case.dtype)


# --------------------------------------------------------------------------- timing


def fastnn_trainer(
    case: Case, X: NDArray[Any], T: NDArray[Any], backend: str = "numba"
) -> Callable[[int], None]:
    """Return ``train(n)``: one pass of ``MLP(case.sizes, seed=0)`` over the first n rows.

    ``backend="numpy"`` trains fastnn's NumPy reference. Building the network is not
    part of ``train``; the optimizer keeps its state from pass to pass. Per sample it
    trains on the loop generated for the layout (``specialise=True``): the passes are
    the epochs of one long training, which ``specialise="auto"`` would give that loop,
    though each pass alone is too short to pay for its compile.
    """
    from fastnn import MLP, optimizers

    net = MLP(
        list(case.sizes),
        hidden="relu",
        output=case.output,
        dtype=case.dtype,
        seed=0,
        backend=backend,
        specialise=True if case.batch == 1 else "auto",
    )
    optimizer = optimizers.get(case.optimizer, lr=case.lr)

    def train(n: int) -> None:
        net.fit(X[:n], T[:n], optimizer=optimizer, batch_size=case.batch, shuffle=False)

    return train


def measure(
    train: Callable[[int], Any],
    n_available: int,
    batch: int,
    *,
    seconds: float,
    min_rows: int,
    repeats: int,
) -> tuple[float, int]:
    """Return ``(median samples/s, rows per pass)`` of ``train(n)``.

    A first pass on a few rows pays one-off costs (JIT or cache loading,
    allocations, lazy imports). Passes then grow until one takes about
    ``seconds`` (fixed costs per call make short passes underestimate the speed);
    the last of them is the untimed warm-up at the final size, and ``repeats``
    timed passes follow. A ``train`` with a ``prepare(n)`` attribute gets it
    called before each pass of a new size, outside the clock (JAX compiles there).
    """

    def rows_for(rate: float) -> int:
        n = int(min(n_available, max(min_rows, rate * seconds)))
        return max(batch, n - n % batch)

    prepare = getattr(train, "prepare", lambda n: None)
    n = min(n_available, max(min_rows, 2 * batch))
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


# --------------------------------------------------------------------------- compile time

#: The program each fresh process of :func:`first_fit_seconds` runs, as it is: the
#: network comes as JSON in ``sys.argv[1]`` and is checked there (:func:`time_first_fit`),
#: so no argument is ever pasted into code. It prints ``{"import": s, "fit": s}``.
FIRST_FIT_PROGRAM = """\
import sys, time
start = time.perf_counter()
import fastnn
imported = time.perf_counter()
import json
from fastnn.selfbench import time_first_fit
print(json.dumps({"import": imported - start, "fit": time_first_fit(sys.argv[1])}))
"""
_FIRST_FIT_ROWS = 64


def _first_fit_spec(
    sizes: Sequence[int], dtype: Any, batch_size: Any, specialise: Any
) -> dict[str, Any]:
    """The checked description of a first fit: plain JSON values, or TypeError/ValueError."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise TypeError(f"sizes must be a sequence of at least two integers, got {sizes!r}")
    widths = [check_int(f"sizes[{k}]", size, minimum=1) for k, size in enumerate(sizes)]
    if not (specialise is True or specialise is False or specialise == "auto"):
        raise ValueError(f"specialise must be 'auto', True or False, got {specialise!r}")
    return {
        "sizes": widths,
        "dtype": check_dtype(dtype).name,
        "batch_size": check_int("batch_size", batch_size, minimum=1),
        "specialise": specialise,
    }


def time_first_fit(spec: str) -> float:
    """Fit the network ``spec`` describes once, on 64 random rows; return the seconds.

    What each fresh process of :func:`first_fit_seconds` runs (:data:`FIRST_FIT_PROGRAM`).

    Parameters
    ----------
    spec : str
        JSON: ``{"sizes": [...], "dtype": "float32", "batch_size": 1, "specialise": "auto"}``,
        checked as :func:`first_fit_seconds` checks its arguments.

    Raises
    ------
    TypeError, ValueError
        If ``spec`` is not such a description.
    """
    from fastnn import MLP

    try:
        given = json.loads(spec)
    except (TypeError, ValueError) as error:
        raise ValueError(f"spec must be a JSON description of the network: {error}") from None
    if not isinstance(given, dict) or set(given) != {"sizes", "dtype", "batch_size", "specialise"}:
        raise ValueError(
            "spec must be a JSON object with exactly sizes, dtype, batch_size and specialise, "
            f"got {spec!r}"
        )
    checked = _first_fit_spec(
        given["sizes"], given["dtype"], given["batch_size"], given["specialise"]
    )
    sizes, dtype = checked["sizes"], checked["dtype"]
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    X = rng.random((_FIRST_FIT_ROWS, sizes[0])).astype(dtype)
    T = rng.integers(0, sizes[-1], _FIRST_FIT_ROWS)
    net = MLP(sizes, dtype=dtype, seed=0, specialise=checked["specialise"])
    net.fit(X, T, batch_size=checked["batch_size"])
    return time.perf_counter() - start


def first_fit_seconds(
    sizes: Sequence[int],
    dtype: str = "float32",
    batch_size: int = 1,
    threads: int = 1,
    warm_runs: int = 1,
    specialise: str | bool = "auto",
) -> dict[str, tuple[float, float]]:
    """Time ``import fastnn`` plus a first small fit in fresh processes.

    Each process runs :data:`FIRST_FIT_PROGRAM`, a fixed program: the arguments,
    checked here, reach it as JSON data, never as code.

    Parameters
    ----------
    sizes : sequence of int
        The network's layer widths (softmax output, one class per output).
    dtype : {"float32", "float64"}, default "float32"
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

    Raises
    ------
    TypeError, ValueError
        For a bad argument, naming it.
    RuntimeError
        If a child process fails, with the last line it wrote to stderr.
    """
    spec = json.dumps(_first_fit_spec(sizes, dtype, batch_size, specialise))
    threads = check_int("threads", threads, minimum=1)
    warm_runs = check_int("warm_runs", warm_runs, minimum=1)

    def once(env: dict[str, str]) -> tuple[float, float]:
        result = subprocess.run(
            [sys.executable, "-c", FIRST_FIT_PROGRAM, spec],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"the first fit in a fresh process failed: {last}")
        times = json.loads(result.stdout.strip().splitlines()[-1])
        return float(times["import"]), float(times["fit"])

    with tempfile.TemporaryDirectory(prefix="fastnn-first-fit-") as cache:
        env = dict(
            os.environ,
            NUMBA_CACHE_DIR=cache,
            FASTNN_KERNEL_CACHE=os.path.join(cache, "fastnn-kernels"),
        )
        env.update({variable: str(threads) for variable in THREAD_VARIABLES})
        cold = once(env)
        warm = sorted((once(env) for _ in range(warm_runs)), key=sum)
    return {"cold": cold, "warm": warm[len(warm) // 2]}


# --------------------------------------------------------------------------- the machine


@contextlib.contextmanager
def limit_threads(threads: int) -> Iterator[str]:
    """Hold every BLAS/OpenMP pool to ``threads`` threads; yield how, for a report.

    The environment variables only work when set before NumPy loads, which is too
    late here (``import fastnn`` loaded it), so threadpoolctl limits the pools at
    run time. It only sees libraries already loaded, hence SciPy's BLAS (Numba's
    ``np.dot`` calls it) is imported first.
    """
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info, threadpool_limits

    threads = check_int("threads", threads, minimum=1)
    with threadpool_limits(limits=threads):
        pools = sorted(
            {f"{Path(p['filepath']).name} ({p['num_threads']})" for p in threadpool_info()}
        )
        how = f"threadpoolctl.threadpool_limits({threads}) on " + ", ".join(pools)
        if all(os.environ.get(variable) == str(threads) for variable in THREAD_VARIABLES):
            how += f"; {'/'.join(THREAD_VARIABLES)}={threads} in the environment"
        yield how


def machine() -> str:
    """One line: the CPU, cores and system; the versions of Python, NumPy and Numba."""
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


# --------------------------------------------------------------------------- one run


@dataclass
class Report:
    """What :func:`run` measured."""

    settings: Settings
    dtype: str
    threads: int
    machine: str
    data_source: str
    threads_how: str
    per_sample: list[Result]
    batched: list[Result]
    compile_times: dict[str, dict[str, tuple[float, float]]]


def run(
    settings: Settings, dtype: str = "float32", threads: int = 1, log: Callable[[str], Any] = print
) -> Report:
    """Measure fastnn against its NumPy reference, then compile times; return a :class:`Report`.

    Parameters
    ----------
    settings : Settings
        :data:`FULL` (about two minutes on a 2-core machine) or :data:`QUICK`.
    dtype : {"float32", "float64"}, default "float32"
    threads : int, default 1
        BLAS threads of each system.
    log : callable, default print
        Gets one line per measurement as it ends.
    """
    dtype = check_dtype(dtype).name
    threads = check_int("threads", threads, minimum=1)
    data = TrainingRows(settings.image_rows, settings.regression_rows, dtype)
    per_sample_cases, batched_cases = cases(dtype, settings.big)

    def bench(case: Case) -> Result:
        X, T = data.rows_for(case)
        result = Result(case)
        for system, backend in zip(SYSTEMS, ("numba", "numpy"), strict=True):
            result.rates[system], result.rows[system] = measure(
                fastnn_trainer(case, X, T, backend),
                len(X),
                case.batch,
                seconds=settings.epoch_seconds,
                min_rows=settings.min_rows,
                repeats=settings.repeats,
            )
        fast, reference = result.rates["fastnn"], result.rates["numpy"]
        log(
            f"{case.label} {case.dtype}: fastnn {fast:,.0f}/s, NumPy reference "
            f"{reference:,.0f}/s ({fast / reference:.1f}x)"
        )
        return result

    with limit_threads(threads) as threads_how:
        per_sample = [bench(case) for case in per_sample_cases]
        batched = [bench(case) for case in batched_cases]
    compile_times = {}
    kinds: list[tuple[str, int, str | bool]] = [
        (f"batch {batch}", batch, "auto") for batch in settings.compile_batches
    ]
    if settings.compile_generated:
        # The loop generated for the layout (large per-sample fits use it by default).
        kinds.append(("per sample, generated loop", 1, True))
    for kind, batch, specialise in kinds:
        times = first_fit_seconds(
            (784, 40, 10), dtype, batch, threads, settings.warm_runs, specialise=specialise
        )
        compile_times[kind] = times
        log(
            f"first fit, {kind}: "
            + ", ".join(
                f"{when} {fit:.2f} s (import {imp:.2f} s)" for when, (imp, fit) in times.items()
            )
        )
    return Report(
        settings,
        dtype,
        threads,
        machine(),
        data.source,
        threads_how,
        per_sample,
        batched,
        compile_times,
    )
