"""fastnn against JAX, hand-written C and its NumPy reference: issue 8's measuring stick.

Four cases, each trained by every system that applies, from the same initial
weights (fastnn's ``MLP(sizes, seed=0)``), on the same rows in the same order
(one fixed permutation of the data, no shuffling), with the same loss
conventions and learning rate, float32, one thread each:

(a) 784-40-10 ReLU, softmax cross-entropy, plain SGD lr 0.01, batch 1, Fashion-MNIST rows
(b) 2-10-1 ReLU, mean squared error, plain SGD lr 0.07, batch 1, the course's regression
(c) 784-40-10 as (a) with Adam lr 1e-3 (torch's formulas)
(d) 784-256-128-10 ReLU, softmax cross-entropy, plain SGD lr 0.05, batch 100

Systems: ``fastnn`` (``MLP.fit(shuffle=False)``), ``jax`` (bench/peers/jax_peer.py:
``jit`` of a ``lax.scan`` over the epoch, donated buffers, tuned ``unroll``),
``c`` (bench/c/per_sample.c through bench/peers/c_peer.py, compiled now; cases a-c)
and ``numpy``
(``MLP(backend="numpy")``, on fewer rows).

Method: first every system pays its one-off cost (Numba compile or cache load,
XLA compile, C compile), reported apart; then one untimed epoch each; then
``--repeats`` rounds, each running every system once in turn (the order
rotates from round to round), and the median samples/s per system. Before
timing, each system trains 1,000 steps (100 for (d), see ``Case.check_steps``)
from the same start and its weights are compared with fastnn's
(``rtol=1e-4, atol=1e-5``), next to fastnn's own float32-vs-float64 difference.
Per case it also times the float64 -> float32 cast that ``fit`` does for
float64 input (issue 8, item 5): the cast alone and a ``fit`` given float64
rows, interleaved with the rest.

Usage::

    python bench/bench_peers.py                   # everything; writes bench/results/peers.md
    python bench/bench_peers.py --quick           # seconds: a smoke test, prints only
    python bench/bench_peers.py --cases a,b --systems fastnn,jax,c --repeats 5

From Python (e.g. to measure a kernel change)::

    import sys; sys.path.insert(0, "bench")
    import bench_peers
    report = bench_peers.run(cases="a,b", systems="fastnn,jax,c", repeats=5)
    print(report.rates["a"]["fastnn"], report.ratio("a", "jax"))
"""

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _common, peers
# _common first: one BLAS thread, set before NumPy loads, and this checkout's fastnn.
import _common  # noqa: E402
import numpy as np  # noqa: E402
from _common import atomic_write, rate, ratio, row  # noqa: E402
from peers import MISSING, initial_network  # noqa: E402

from fastnn import MLP, datasets, optimizers  # noqa: E402

__all__ = ["CASES", "SYSTEMS", "Case", "Report", "run", "main", "check_weights"]

RESULTS = Path(__file__).parent / "results" / "peers.md"
SYSTEMS = ("fastnn", "jax", "c", "numpy")
LABELS = {"fastnn": "fastnn", "jax": "JAX", "c": "C", "numpy": "NumPy ref"}
# Extra columns timed with the systems when fastnn runs: fit on float64 rows, the cast alone.
CAST_SYSTEMS = ("fastnn_f64", "cast")
RTOL, ATOL = 1e-4, 1e-5
UNROLLS = (1, 2, 4, 8)


@dataclass(frozen=True)
class Case:
    """One benchmark case of issue 8."""

    key: str
    title: str
    sizes: tuple
    output: str  # "softmax" (cross-entropy) or "identity" (MSE)
    optimizer: str  # "sgd" or "adam"
    lr: float
    batch: int
    rows: int  # rows per timed epoch for fastnn, JAX and C
    numpy_rows: int  # rows per timed epoch for the NumPy reference
    data: str  # "images" or "regression"
    # Steps of the weights check. (d) checks 100: at lr 0.05 and batch 100 the
    # trajectory amplifies float32 rounding, and after 1,000 steps fastnn's own
    # float32 and float64 runs differ by about 1e-2 (so would any two systems).
    check_steps: int = 1000

    def rows_for(self, system):
        return self.numpy_rows if system == "numpy" else self.rows


CASES = {
    "a": Case(
        "a", "784-40-10 ReLU, softmax-CE, SGD lr 0.01, batch 1",
        (784, 40, 10), "softmax", "sgd", 0.01, 1, 60_000, 3_000, "images",
    ),
    "b": Case(
        "b", "2-10-1 ReLU, MSE, SGD lr 0.07, batch 1",
        (2, 10, 1), "identity", "sgd", 0.07, 1, 1_000_000, 5_000, "regression",
    ),
    "c": Case(
        "c", "784-40-10 ReLU, softmax-CE, Adam lr 0.001, batch 1",
        (784, 40, 10), "softmax", "adam", 1e-3, 1, 20_000, 1_500, "images",
    ),
    "d": Case(
        "d", "784-256-128-10 ReLU, softmax-CE, SGD lr 0.05, batch 100",
        (784, 256, 128, 10), "softmax", "sgd", 0.05, 100, 30_000, 30_000, "images", 100,
    ),
}  # fmt: skip
QUICK_SCALE = {"rows": 20, "numpy_rows": 20}


def _quick(case):
    scaled = {
        name: max(case.batch * 10, getattr(case, name) // factor // case.batch * case.batch)
        for name, factor in QUICK_SCALE.items()
    }
    return replace(case, **scaled)


# --------------------------------------------------------------------------- data


class Data:
    """The rows every system trains on, in one fixed order (a seeded permutation)."""

    def __init__(self):
        self._images = None
        self.source = None

    def _load_images(self):
        if self._images is None:
            X, labels, self.source = _common.fashion_rows(60_000, "float32")
            order = np.random.default_rng(0).permutation(len(X))
            self._images = (np.ascontiguousarray(X[order]), labels[order].astype(np.int32))
        return self._images

    def rows(self, case, n):
        """Return ``(X, T, labels_or_targets)`` for the first ``n`` rows of ``case``'s data.

        ``T`` is what fastnn and JAX take (one-hot rows, or a column of
        targets); the last item is what the C loops take (int32 labels, or the
        1-D targets). Image rows repeat from the start past the data set's end.
        """
        if case.data == "images":
            X_all, labels_all = self._load_images()
            index = np.arange(n) % len(X_all)
            X = np.ascontiguousarray(X_all[index]) if n > len(X_all) else X_all[:n]
            labels = np.ascontiguousarray(labels_all[index])
            T = np.eye(case.sizes[-1], dtype=np.float32)[labels]
            return X, T, labels
        X, y = datasets.make_regression(n, seed=0, dtype="float32")
        order = np.random.default_rng(0).permutation(n)
        X, y = np.ascontiguousarray(X[order]), np.ascontiguousarray(y[order], dtype=np.float32)
        return X, y.reshape(-1, 1), y


def initial_params(case, backend="numba"):
    """A fresh network with fastnn's initial weights for ``case``: ``MLP(sizes, seed=0)``."""
    return initial_network(case.sizes, case.output, "float32", backend)


# --------------------------------------------------------------------------- systems
#
# Each system object trains its own copy of the network on its rows: `setup`
# (the one-off cost, timed apart), then `run()` is one timed epoch; `params()`
# returns the weights under fastnn's names.


class FastnnSystem:
    def __init__(self, case, X, T, backend="numba"):
        self.net = initial_params(case, backend)
        # Per sample, the loop generated for the layout: what specialise="auto" takes for
        # a fit long enough to pay for its compile (each timed run here is one epoch).
        specialise = case.batch == 1 and backend == "numba"
        self.net.specialise = specialise
        self.optimizer = optimizers.get(case.optimizer, lr=case.lr)
        self.case, self.X, self.T = case, X, T
        # The first fit of a throwaway network pays Numba's compile or cache load.
        start = time.perf_counter()
        warm = initial_params(case, backend)
        warm.specialise = specialise
        warm.fit(
            X[: 2 * case.batch],
            T[: 2 * case.batch],
            optimizer=optimizers.get(case.optimizer, lr=case.lr),
            batch_size=case.batch,
            shuffle=False,
        )
        self.setup_seconds = time.perf_counter() - start
        self.note = ""

    def run(self):
        self.net.fit(
            self.X, self.T, optimizer=self.optimizer, batch_size=self.case.batch, shuffle=False
        )

    def params(self):
        return {name: view.copy() for name, view in self.net.params.items()}


class CastSystem:
    """Times ``np.ascontiguousarray(X64, dtype=np.float32)``: the cast ``fit`` does."""

    def __init__(self, X64):
        self.X64 = X64
        self.setup_seconds, self.note = 0.0, ""

    def run(self):
        np.ascontiguousarray(self.X64, dtype=np.float32)

    def params(self):
        return None


class JaxSystem:
    def __init__(self, case, X, T, unroll):
        from peers.jax_peer import JaxTrainer

        self.trainer = JaxTrainer(
            initial_params(case).params, case.output, case.optimizer, case.lr, case.batch, unroll
        )
        self.staged = self.trainer.stage(X, T)
        self.setup_seconds = self.trainer.compile(self.staged)
        self.note = f"unroll {self.trainer.unroll}"

    def run(self):
        self.trainer.run(self.staged)

    def params(self):
        return self.trainer.params()


class CSystem:
    def __init__(self, case, X, targets, peer):
        self.case, self.X, self.targets, self.peer = case, X, targets, peer
        self.net = initial_params(case)
        self.theta = self.net.theta.copy()
        self.m, self.v = np.zeros_like(self.theta), np.zeros_like(self.theta)
        self.t = np.zeros(1, dtype=np.int64)
        self.setup_seconds = 0.0  # the compiler run is reported once, for the file
        self.note = ""

    def run(self):
        case = self.case
        if case.sizes == (2, 10, 1):
            steps, _ = self.peer.sgd_2_10_1(self.theta, self.X, self.targets, case.lr)
        elif case.optimizer == "adam":
            steps, _ = self.peer.adam_784_40_10(
                self.theta, self.m, self.v, self.t, self.X, self.targets, case.lr
            )
        else:
            steps, _ = self.peer.sgd_784_40_10(self.theta, self.X, self.targets, case.lr)
        if steps != len(self.X):
            raise RuntimeError(
                f"case ({case.key}): the C loop stopped at step {steps} of {len(self.X)} "
                "(non-finite loss, or out of memory if -1)"
            )

    def params(self):
        self.net.theta[...] = self.theta
        return {name: view.copy() for name, view in self.net.params.items()}


def c_applies(case):
    """Whether bench/c/per_sample.c has a loop for ``case``."""
    return case.batch == 1 and case.sizes in ((784, 40, 10), (2, 10, 1))


def _make(system, case, data, rows, unroll, peer):
    X, T, targets = data.rows(case, rows)
    if system == "fastnn":
        return FastnnSystem(case, X, T)
    if system == "numpy":
        return FastnnSystem(case, X, T, backend="numpy")
    if system == "fastnn_f64":
        return FastnnSystem(case, X.astype(np.float64), T)
    if system == "cast":
        return CastSystem(X.astype(np.float64))
    if system == "jax":
        return JaxSystem(case, X, T, unroll)
    if system == "c":
        return CSystem(case, X, targets, peer)
    raise ValueError(f"unknown system {system!r}")


# --------------------------------------------------------------------------- checks


@dataclass
class Check:
    """How far one system's weights are from fastnn's after ``steps`` steps."""

    system: str
    steps: int
    max_abs: float
    max_rel: float  # max |a - b| / (|b| + atol)
    ok: bool
    # The yardstick: how far fastnn's float32 run is from its float64 run from
    # the same start, i.e. how much float32 rounding this trajectory amplifies.
    float32_vs_float64: float = float("nan")


def _float32_drift(case, X, T, theta32):
    """Max |fastnn float32 - fastnn float64| weights after one epoch over ``X``."""
    net = MLP(case.sizes, output=case.output, dtype="float64", seed=0)
    net.theta[...] = theta32  # the float32 start, exactly
    net.fit(
        X.astype(np.float64),
        T,
        optimizer=optimizers.get(case.optimizer, lr=case.lr),
        batch_size=case.batch,
        shuffle=False,
    )
    return net.theta


def check_weights(case, systems, data, steps, unroll=None, peer=None):
    """Train each system ``steps`` steps from the same start; compare with fastnn.

    Returns a list of :class:`Check`, one per system other than fastnn.
    """
    reference = _make("fastnn", case, data, steps * case.batch, unroll, peer)
    start = reference.net.theta.copy()
    reference.run()
    expected = reference.params()
    drift = float(
        np.max(np.abs(_float32_drift(case, reference.X, reference.T, start) - reference.net.theta))
    )
    checks = []
    for system in systems:
        if system == "fastnn":
            continue
        trainer = _make(system, case, data, steps * case.batch, unroll, peer)
        trainer.run()
        got = trainer.params()
        max_abs = max(float(np.max(np.abs(got[k] - expected[k]))) for k in expected)
        max_rel = max(
            float(np.max(np.abs(got[k] - expected[k]) / (np.abs(expected[k]) + ATOL)))
            for k in expected
        )
        ok = all(np.allclose(got[k], expected[k], rtol=RTOL, atol=ATOL) for k in expected)
        checks.append(Check(system, steps, max_abs, max_rel, ok, drift))
    return checks


# --------------------------------------------------------------------------- timing


def tune_unroll(case, data, candidates, repeats=3):
    """Time JAX's epoch for each ``unroll`` on the timed rows (``case.rows``).

    The same rows as the timed epochs, because the rate depends on them: in
    one run JAX did 326k samples/s on the first 10,000 rows of (a) (31 MB,
    about the size of the L3 cache here) and 246k/s on all 60,000.

    Returns ``(best unroll, {unroll: (median samples/s, compile seconds)})``.
    """
    X, T, _ = data.rows(case, case.rows)
    table = {}
    for unroll in candidates:
        system = JaxSystem(case, X, T, unroll)
        system.run()  # warm-up
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            system.run()
            rates.append(len(X) / (time.perf_counter() - start))
        table[unroll] = (statistics.median(rates), system.setup_seconds)
    best = max(table, key=lambda unroll: table[unroll][0])
    return best, table


def _interleaved(trainers, rows, repeats):
    """Run every trainer once per round, ``repeats`` rounds; return per-system timings."""
    names = list(trainers)
    walls = {name: [] for name in names}
    cpus = {name: [] for name in names}
    for name in names:  # one untimed epoch each: caches, branch predictors, page faults
        trainers[name].run()
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            cpu = time.process_time()
            start = time.perf_counter()
            trainers[name].run()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - cpu)
    return walls, cpus


# --------------------------------------------------------------------------- the run


@dataclass
class Report:
    """Everything one run measured; :meth:`markdown` formats it."""

    command: str
    cases: list
    systems: list
    repeats: int
    quick: bool
    machine: str = ""
    threads: str = ""
    blas: str = ""
    versions: dict = field(default_factory=dict)
    data_source: str = ""
    skipped: dict = field(default_factory=dict)  # system -> why
    c_command: str = ""
    c_compile_seconds: float | None = None
    rates: dict = field(default_factory=dict)  # case -> system -> median samples/s
    spread: dict = field(default_factory=dict)  # case -> system -> (min, max) samples/s
    cpu_share: dict = field(default_factory=dict)  # case -> system -> median CPU s / wall s
    rows: dict = field(default_factory=dict)  # case -> system -> rows per epoch
    setup: dict = field(default_factory=dict)  # case -> system -> one-off seconds
    notes: dict = field(default_factory=dict)  # case -> system -> note
    seconds: dict = field(default_factory=dict)  # case -> system -> median seconds per epoch
    unroll: dict = field(default_factory=dict)  # case -> (best, {unroll: (rate, compile s)}, rows)
    checks: dict = field(default_factory=dict)  # case -> [Check]

    def ratio(self, case, system):
        """fastnn's samples/s over ``system``'s for ``case``, or None."""
        rates = self.rates.get(case, {})
        if "fastnn" not in rates or system not in rates:
            return None
        return rates["fastnn"] / rates[system]

    @property
    def checks_ok(self):
        return all(check.ok for checks in self.checks.values() for check in checks)

    def table(self):
        """The main table as a list of Markdown lines."""
        peers = [s for s in SYSTEMS if s != "fastnn" and s in self.systems]
        header = ["case", *(f"{LABELS[s]} samples/s" for s in self.systems)]
        header += [f"fastnn/{LABELS[s]}" for s in peers]
        header += [f"rows ({'/'.join(LABELS[s] for s in self.systems)})"]
        lines = [row(header), "|" + "---|" * len(header)]
        for key in self.cases:
            case = CASES[key]
            rates = self.rates.get(key, {})
            cells = [f"({key}) {case.title}"]
            cells += [rate(rates.get(s)) for s in self.systems]
            cells += [ratio(self.ratio(key, s)) for s in peers]
            cells.append("/".join(str(self.rows[key].get(s, "-")) for s in self.systems))
            lines.append(row(cells))
        return lines

    def markdown(self):
        lines = [
            "# fastnn against JAX, hand-written C and the NumPy reference (issue 8)",
            "",
            f"- Command: `{self.command}`",
            f"- Machine: {self.machine}.",
            "- Versions: " + ", ".join(f"{k} {v}" for k, v in self.versions.items()) + ".",
            f"- Threads: one per system. {self.threads}",
            f"- BLAS (fastnn's mini-batch `np.dot`, the NumPy reference): {self.blas}.",
            f"- Data: {self.data_source}; the regression is the course's y = 3x0 + 2x1 "
            "(`fastnn.datasets.make_regression`); every system trains on the same rows in the "
            "same order (one seeded permutation, no shuffling), float32.",
            "- Method: same initial weights (`MLP(sizes, seed=0)`), loss conventions, optimizer "
            "and learning rate everywhere. One-off costs first (reported below), one untimed "
            f"epoch per system, then {self.repeats} rounds in which every system runs one epoch "
            "in turn (the order rotates each round); the table gives the median samples/s. "
            "fastnn: `MLP.fit(X, T_one_hot, batch_size, shuffle=False)` per epoch, input checks "
            "included. JAX: `jax.jit` of a `lax.scan` over the epoch, update inside "
            "(`jax.value_and_grad`, `optax.sgd`/`optax.adam`), parameters and optimizer state "
            "donated, data on the device beforehand. C: bench/c/per_sample.c, called once per "
            "epoch through ctypes. NumPy ref: `MLP(backend='numpy').fit` on fewer rows.",
        ]
        for system, why in self.skipped.items():
            lines.append(f"- {LABELS.get(system, system)}: {why}")
        if self.quick:
            lines.append("- `--quick`: few rows and repeats; a smoke test, not a measurement.")
        lines += ["", "## Samples per second (median)", "", *self.table()]
        lines += ["", "Spread (slowest and fastest epoch) and CPU seconds per wall second:", ""]
        header = ["case", "system", "median", "min", "max", "CPU/wall"]
        lines += [row(header), "|" + "---|" * len(header)]
        for key in self.cases:
            for system in [*self.systems, *CAST_SYSTEMS]:
                if system not in self.spread.get(key, {}) or system == "cast":
                    continue
                low, high = self.spread[key][system]
                label = "fastnn, float64 X" if system == "fastnn_f64" else LABELS[system]
                lines.append(
                    row(
                        [
                            f"({key})",
                            label,
                            rate(self.rates[key][system]),
                            rate(low),
                            rate(high),
                            f"{self.cpu_share[key][system]:.2f}",
                        ]
                    )
                )
        lines += ["", "## One-off costs (seconds)", ""]
        lines.append(
            "fastnn: first `fit` of a new network in this process (Numba compile, or loading "
            "the compiled kernels from its cache). JAX: `lower` + `compile` of the epoch for "
            "the timed row count. C: the compiler run for the whole file"
            + (f" (`{self.c_command}`)" if self.c_command else "")
            + "."
        )
        lines.append("")
        header = ["case", *(LABELS[s] for s in self.systems)]
        lines += [row(header), "|" + "---|" * len(header)]
        for key in self.cases:
            cells = [f"({key})"]
            for system in self.systems:
                if system == "c" and system in self.setup.get(key, {}):
                    cells.append(f"{self.c_compile_seconds:.2f} (once)")
                elif system in self.setup.get(key, {}):
                    note = self.notes[key].get(system, "")
                    cells.append(f"{self.setup[key][system]:.2f}" + (f" ({note})" if note else ""))
                else:
                    cells.append("-")
            lines.append(row(cells))
        if self.unroll:
            lines += [
                "",
                "## JAX: the scan's unroll",
                "",
                "Each candidate compiled and timed (median of 3 epochs, after a warm-up) on the "
                "timed rows, before the rounds above; the fastest is used there.",
                "",
            ]
            candidates = sorted({u for _, table, _ in self.unroll.values() for u in table})
            header = ["case", "rows", *(f"unroll {u}" for u in candidates), "chosen"]
            lines += [row(header), "|" + "---|" * len(header)]
            for key, (best, table, tune_rows) in self.unroll.items():
                cells = [f"({key})", str(tune_rows)]
                cells += [
                    f"{rate(table[u][0])} (compile {table[u][1]:.2f} s)" if u in table else "-"
                    for u in candidates
                ]
                cells.append(str(best))
                lines.append(row(cells))
        if self.checks:
            lines += [
                "",
                "## Same weights as fastnn",
                "",
                "Each system trained from the same start on the same rows; its weights against "
                f"fastnn's: `numpy.allclose(rtol={RTOL:g}, atol={ATOL:g})` on every array. The "
                "last column is the yardstick: fastnn in float32 against fastnn in float64 from "
                "the same start, how much float32 rounding the trajectory itself amplifies.",
                "",
            ]
            header = [
                "case",
                "system",
                "steps",
                "max abs difference",
                "max relative",
                "close",
                "fastnn float32 vs float64",
            ]
            lines += [row(header), "|" + "---|" * len(header)]
            for key, checks in self.checks.items():
                for check in checks:
                    lines.append(
                        row(
                            [
                                f"({key})",
                                LABELS[check.system],
                                str(check.steps),
                                f"{check.max_abs:.2e}",
                                f"{check.max_rel:.2e}",
                                "yes" if check.ok else "NO",
                                f"{check.float32_vs_float64:.2e}",
                            ]
                        )
                    )
        cast_cases = [k for k in self.cases if "cast" in self.rates.get(k, {})]
        if cast_cases:
            lines += [
                "",
                "## The float64 -> float32 cast of `fit` (issue 8, item 5)",
                "",
                "A float32 network given float64 rows casts them "
                "(`np.ascontiguousarray(X, dtype=np.float32)`) once per `fit` call. Per epoch of "
                "the timed rows, interleaved with the systems above (medians):",
                "",
            ]
            header = [
                "case",
                "rows",
                "cast alone (ms)",
                "fit, float32 X (ms)",
                "fit, float64 X (ms)",
                "cast / fit(float64 X)",
            ]
            lines += [row(header), "|" + "---|" * len(header)]
            for key in cast_cases:
                sec = self.seconds[key]
                lines.append(
                    row(
                        [
                            f"({key})",
                            str(self.rows[key]["fastnn"]),
                            f"{1e3 * sec['cast']:.1f}",
                            f"{1e3 * sec['fastnn']:.1f}",
                            f"{1e3 * sec['fastnn_f64']:.1f}",
                            f"{sec['cast'] / sec['fastnn_f64']:.0%}",
                        ]
                    )
                )
        return "\n".join(lines) + "\n"


def _parse_list(text, allowed, what):
    items = [item.strip() for item in text.split(",") if item.strip()] if text else []
    unknown = [item for item in items if item not in allowed]
    if unknown or not items:
        raise ValueError(
            f"{what} must be a comma-separated list of {', '.join(allowed)}; got {text!r}"
        )
    return [item for item in allowed if item in items]  # canonical order, no repeats


def _blas():
    """Which OpenBLAS kernels run fastnn's ``np.dot`` and the NumPy reference, and why."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed: unknown"
    kernels = sorted(
        {
            f"{Path(pool['filepath']).name} uses its {pool.get('architecture')} kernels"
            for pool in threadpool_info()
            if pool.get("internal_api") == "openblas"
        }
    )
    settings = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")]
    return "; ".join(kernels) + (
        f" (environment: {', '.join(settings)})" if settings else " (detected at load)"
    )


def _versions():
    versions = {}
    try:
        import jax
        import jaxlib
        import optax

        versions.update(jax=jax.__version__, jaxlib=jaxlib.__version__, optax=optax.__version__)
    except ImportError:
        pass
    return versions


def run(
    cases="a,b,c,d",
    systems="fastnn,jax,c,numpy",
    repeats=9,
    quick=False,
    unrolls=UNROLLS,
    check_steps=None,
    cast=True,
    log=print,
    command=None,
):
    """Measure ``cases`` for ``systems``; return a :class:`Report`.

    Parameters
    ----------
    cases, systems : str or sequence of str
        Comma-separated keys (``"a,b"``) or a list: cases of :data:`CASES`,
        systems of :data:`SYSTEMS`.
    repeats : int, default 9
        Timed rounds; each runs every system once.
    quick : bool, default False
        A twentieth of the rows (a smoke test).
    unrolls : sequence of int, default (1, 2, 4, 8)
        JAX ``unroll`` candidates; the fastest on the tuning rows is used. One
        value: no tuning.
    check_steps : int, optional
        Steps of the weights check against fastnn (default: each case's
        ``check_steps``, 1,000 for a-c, 100 for d); 0 skips it.
    cast : bool, default True
        Also time the float64 -> float32 cast and ``fit`` on float64 rows.
    log : callable
        Progress messages (``print``; ``lambda *a: None`` for silence).
    """
    case_keys = _parse_list(cases if isinstance(cases, str) else ",".join(cases), CASES, "cases")
    wanted = _parse_list(
        systems if isinstance(systems, str) else ",".join(systems), SYSTEMS, "systems"
    )
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    unrolls = tuple(int(u) for u in unrolls)
    if not unrolls or min(unrolls) < 1:
        raise ValueError(f"unrolls must be positive integers, got {unrolls}")
    began = time.perf_counter()

    def say(text):
        log(f"[{time.perf_counter() - began:6.1f} s] {text}")

    report = Report(
        command=command or "bench_peers.run(...)",
        cases=case_keys,
        systems=list(wanted),
        repeats=repeats,
        quick=quick,
    )
    jax_how = ""
    if "jax" in wanted:
        try:
            from peers.jax_peer import load_jax

            _, jax_how = load_jax()
        except ImportError:
            report.skipped["jax"] = MISSING
    peer = None
    if "c" in wanted:
        from peers.c_peer import CompilerNotFoundError, CPeer

        try:
            peer = CPeer()
            report.c_command = peer.command.replace(
                str(Path(peer.library).parent), "$TMPDIR"
            ).replace(str(Path(__file__).resolve().parent), "bench")
            report.c_compile_seconds = peer.compile_seconds
            report.versions["C compiler"] = peer.version
            say(f"C peer compiled in {peer.compile_seconds:.2f} s: {report.c_command}")
        except CompilerNotFoundError as error:
            report.skipped["c"] = str(error)
    report.systems = [s for s in wanted if s not in report.skipped]
    report.versions = {**_versions(), **report.versions}
    report.machine = _common.machine()
    data = Data()
    import fastnn

    report.versions = {
        "fastnn": f"{fastnn.__version__} ({Path(fastnn.__file__).parent})",
        **report.versions,
    }

    with _common.limit_threads(1) as threads_how:
        report.threads = f"NumPy/SciPy BLAS: {threads_how}." + (
            f" JAX: {jax_how}." if jax_how else ""
        )
        report.threads += " C: single-threaded code."
        report.blas = _blas()
        for key in case_keys:
            case = _quick(CASES[key]) if quick else CASES[key]
            systems = [s for s in report.systems if s != "c" or c_applies(case)]
            unroll = unrolls[0]
            if "jax" in systems and len(unrolls) > 1:
                unroll, table = tune_unroll(case, data, unrolls)
                report.unroll[key] = (unroll, table, case.rows)
                say(
                    f"({key}) JAX unroll: "
                    + ", ".join(f"{u}: {rate:,.0f}/s" for u, (rate, _) in table.items())
                    + f" -> {unroll}"
                )
            steps = case.check_steps if check_steps is None else check_steps
            if steps:
                steps = min(steps, 100) if quick else steps
                report.checks[key] = check_weights(case, systems, data, steps, unroll, peer)
                for check in report.checks[key]:
                    say(
                        f"({key}) {LABELS[check.system]} after {check.steps} steps: max |diff| "
                        f"{check.max_abs:.2e} -> {'close' if check.ok else 'NOT CLOSE'}"
                    )
            timed = list(systems)
            if cast and "fastnn" in systems:
                timed += list(CAST_SYSTEMS)
            trainers, rows = {}, {}
            for system in timed:
                rows[system] = case.rows_for(system)
                trainers[system] = _make(system, case, data, rows[system], unroll, peer)
            walls, cpus = _interleaved(trainers, rows, repeats)
            report.rows[key] = {s: rows[s] for s in systems}
            report.setup[key] = {s: trainers[s].setup_seconds for s in systems}
            report.notes[key] = {s: trainers[s].note for s in systems}
            report.seconds[key] = {s: statistics.median(walls[s]) for s in timed}
            report.rates[key] = {s: rows[s] / report.seconds[key][s] for s in timed}
            report.spread[key] = {
                s: (rows[s] / max(walls[s]), rows[s] / min(walls[s])) for s in timed
            }
            report.cpu_share[key] = {
                s: statistics.median(c / w for c, w in zip(cpus[s], walls[s], strict=True))
                for s in timed
            }
            say(
                f"({key}) "
                + ", ".join(f"{LABELS[s]} {rate(report.rates[key][s])}/s" for s in systems)
            )
            del trainers
    report.data_source = data.source or "no image case run"
    return report


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python bench/bench_peers.py",
        description="fastnn against JAX, hand-written C and the NumPy reference (issue 8).",
    )
    parser.add_argument("--cases", default="a,b,c,d", help="comma-separated, of a,b,c,d")
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {','.join(SYSTEMS)}"
    )
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds (default 9)")
    parser.add_argument("--quick", action="store_true", help="a twentieth of the rows")
    parser.add_argument(
        "--unroll",
        default=",".join(map(str, UNROLLS)),
        help="JAX scan unroll candidates, comma-separated (one value: no tuning)",
    )
    parser.add_argument(
        "--check-steps",
        type=int,
        default=None,
        help="steps of the weights check (default: 1000, 100 for d; 0: skip)",
    )
    parser.add_argument("--no-cast", action="store_true", help="skip the float64 cast timing")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="Markdown file to write (default: bench/results/peers.md; none with --quick)",
    )
    return parser


def main(argv=None):
    """Run from the command line; return the exit code (1 if a weights check failed)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        _parse_list(args.cases, CASES, "--cases")
        _parse_list(args.systems, SYSTEMS, "--systems")
        unrolls = [int(u) for u in args.unroll.split(",") if u.strip()]
        if not unrolls or min(unrolls) < 1 or args.repeats < 1 or (args.check_steps or 0) < 0:
            raise ValueError(
                "--unroll needs positive integers, --repeats >= 1 and --check-steps >= 0; got "
                f"{args.unroll!r}, {args.repeats}, {args.check_steps}"
            )
    except ValueError as error:
        parser.error(str(error))
    report = run(
        cases=args.cases,
        systems=args.systems,
        repeats=args.repeats,
        quick=args.quick,
        unrolls=unrolls,
        check_steps=args.check_steps,
        cast=not args.no_cast,
        command=" ".join(["python bench/bench_peers.py", *argv]),
    )
    text = report.markdown()
    print()
    print(text)
    out = args.out if args.out is not None else (None if args.quick else RESULTS)
    if out is not None:
        with atomic_write(out) as stream:
            stream.write(text.encode())
        print(f"wrote {out}")
    return 0 if report.checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
