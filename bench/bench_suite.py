"""Benchmark suite: fastnn against its NumPy reference, PyTorch, scikit-learn and JAX.

One run measures, side by side, training throughput (samples per second) of

- fastnn (the Numba kernels),
- the NumPy reference (``MLP(backend="numpy")``, always available),
- PyTorch CPU, scikit-learn and JAX (bench/peers/), each only when installed
  (``pip install -e ".[bench]"``) and not turned off with ``--skip-peers``; JAX
  trains with a ``jax.jit`` of a ``lax.scan`` over the epoch,

on per-sample SGD and Adam (batch 1), mini-batches of 10 and 100, and networks
of growing width and depth; then the compile time of a first fit in a fresh
process (empty and warm kernel caches) and, on Fashion-MNIST, the wall time each
system needs to reach a test accuracy of 0.85 and 0.88.

It builds on fastnn's self-benchmark (:mod:`fastnn.selfbench`, what ``fastnn
bench`` runs): the same cases, rows, timing and compile-time measurement, with
the peers added. Every figure is the median of several timed passes over the same
rows in the same order, after an untimed warm-up pass; each system trains the
same network from the same initial weights with the same loss, optimizer and
learning rate. Slow systems time fewer rows: a short probe sizes each pass to
take about ``epoch_seconds``. Everything runs in one process with ``--threads``
threads per system (one by default), so the ratios compare one core with one core;
run as a script, the BLAS/OpenMP environment variables are set to ``--threads``
before NumPy loads, so every library starts with that many threads.

It writes ``results.md`` (tables, ratios to fastnn, targets) and PNG plots into
``--out`` and prints the tables::

    python bench/bench_suite.py                # about 6 minutes; writes bench/results/suite/
    python bench/bench_suite.py --quick --out /tmp/bench   # tiny sizes, under a minute
    python bench/bench_suite.py --dtype float64 --skip-peers
"""

import os
import sys


def _threads(argv):
    """The value of ``--threads`` in ``argv`` (default "1"), read before argparse runs."""
    for position, argument in enumerate(argv):
        if argument == "--threads" and position + 1 < len(argv):
            return argv[position + 1]
        if argument.startswith("--threads="):
            return argument.split("=", 1)[1]
    return "1"


if __name__ == "__main__":  # before NumPy loads (bench/_common.py would set one thread)
    for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[_variable] = _threads(sys.argv[1:])

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import _common  # noqa: E402
import numpy as np  # noqa: E402
from peers import find_peers  # noqa: E402
from suite_report import (  # noqa: E402
    ACCURACY_THRESHOLDS,
    GENERATED,
    HEADER,
    PNG_NAMES,
    Report,
    row_of,
    seconds,
    write_report,
)

from fastnn import MLP, optimizers, selfbench  # noqa: E402
from fastnn.cli.arguments import positive_int_argument  # noqa: E402

__all__ = ["main", "build_parser", "run", "FULL", "QUICK", "HEADER", "PNG_NAMES"]

RESULTS = Path(__file__).resolve().parent / "results" / "suite"


@dataclass(frozen=True)
class Settings(selfbench.Settings):
    """The self-benchmark's settings, and those of the scaling curves and time to accuracy."""

    scaling_repeats: int = 3  # timed passes per system for the scaling curves
    widths: tuple = ()  # hidden widths of the width-scaling curve
    depths: tuple = ()  # hidden-layer counts of the depth-scaling curve
    depth_width: int = 100  # width of each hidden layer in the depth-scaling curve
    other_dtype: bool = False  # also time per-sample 784-40-10 SGD in the other dtype
    accuracy_budget: float = 0.0  # seconds of training per system in time-to-accuracy; 0 skips


FULL = Settings(
    **vars(selfbench.FULL),
    scaling_repeats=3,
    widths=(10, 32, 64, 128, 256, 512, 1024),
    depths=(1, 2, 3, 4),
    depth_width=100,
    other_dtype=True,
    accuracy_budget=120.0,
)
QUICK = Settings(
    **vars(selfbench.QUICK),
    scaling_repeats=2,
    widths=(8, 16, 32, 64),
    depths=(1, 2),
    depth_width=32,
    other_dtype=False,
    accuracy_budget=0.0,
)


# --------------------------------------------------------------------------- throughput


def _trainer(system, case, X, T):
    """``train(n)`` of ``system`` for ``case`` (see bench/peers/__init__.py)."""
    if system in ("fastnn", "numpy"):
        backend = "numba" if system == "fastnn" else "numpy"
        return selfbench.fastnn_trainer(case, X, T, backend)
    if system == "torch":
        from peers import torch_peer

        return torch_peer.trainer(case, X, T)
    if system in ("sklearn", "sklearn_fit"):
        from peers import sklearn_peer

        return sklearn_peer.trainer(case, X, T, per_sample_fit=system == "sklearn_fit")
    if system == "jax":
        from peers import jax_peer

        return jax_peer.trainer(case, X, T)
    raise ValueError(f"unknown system {system!r}")


def _bench_case(case, data, systems, settings, repeats):
    X, T = data.rows_for(case)
    result = selfbench.Result(case)
    for system in systems:
        result.rates[system], result.rows[system] = selfbench.measure(
            _trainer(system, case, X, T),
            len(X),
            case.batch,
            seconds=settings.epoch_seconds,
            min_rows=settings.min_rows,
            repeats=repeats,
        )
    return result


def _scaling_cases(dtype, settings):
    modes = {"per-sample SGD": 1, "batch 100 SGD": 100}
    lrs = {1: 0.01, 100: 0.05}
    Case = selfbench.Case
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


# --------------------------------------------------------------------------- time to accuracy


@dataclass
class Curve:
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
        self.net = MLP(list(sizes), dtype=dtype, seed=0)
        self.optimizer = optimizers.get(optimizer, lr=lr)
        self.batch = batch

    def train(self, X, y):
        self.net.fit(X, y, optimizer=self.optimizer, batch_size=self.batch, shuffle=False)

    def accuracy(self, X, y):
        return self.net.accuracy(X, y)


def _learner(system):
    if system == "fastnn":
        return _FastnnLearner
    if system == "torch":
        from peers import torch_peer

        return torch_peer.Learner
    from peers import sklearn_peer

    return sklearn_peer.Learner


ACCURACY_SIZES = (784, 100, 10)
# name, system, optimizer, lr, batch: each system's best simple settings we found.
ACCURACY_SYSTEMS = (
    ("fastnn per-sample", "fastnn", "sgd", 0.005, 1),
    ("fastnn mini-batch", "fastnn", "adam", 1e-3, 100),
    ("PyTorch", "torch", "adam", 1e-3, 100),
    ("scikit-learn MLPClassifier", "sklearn", "adam", 1e-3, 100),
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
    for name, system, optimizer, lr, batch in ACCURACY_SYSTEMS:
        if system not in systems:
            continue
        learner_type = _learner(system)
        learner_type(ACCURACY_SIZES, dtype, optimizer, lr, batch).train(X[:200], y[:200])
        learner = learner_type(ACCURACY_SIZES, dtype, optimizer, lr, batch)
        label = "SGD" if optimizer == "sgd" else "Adam"
        curve = Curve(name, f"{label} lr {lr:g}, batch {batch}")
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
        reached = ", ".join(
            f"{threshold}: {seconds(curve.first_time(threshold), budget)}"
            for threshold in ACCURACY_THRESHOLDS
        )
        log(
            f"time to accuracy, {name}: {reached} "
            f"(best {curve.best:.4f} after {curve.epochs:g} epochs)"
        )
    return curves


# --------------------------------------------------------------------------- the run


def add_arguments(parser):
    """Add the suite's options to ``parser``."""
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
        default=RESULTS,
        help="folder for results.md and the PNG plots; default: bench/results/suite",
    )
    parser.add_argument(
        "--skip-peers",
        action="store_true",
        help="time only fastnn and its NumPy reference, even if PyTorch, scikit-learn or JAX "
        "are here",
    )
    return parser


def build_parser(prog="python bench/bench_suite.py"):
    """Return the argument parser of the suite."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Training speed of fastnn against its NumPy reference, PyTorch, "
        "scikit-learn and JAX; writes results.md and PNG plots.",
    )
    return add_arguments(parser)


def run(args, prog="python bench/bench_suite.py"):
    """Run the suite for parsed ``args`` and write the results; return 0.

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

    peers, missing, jax_how = find_peers(args.skip_peers, args.threads)
    systems = ["fastnn", "numpy", *peers]
    data = selfbench.TrainingRows(settings.image_rows, settings.regression_rows, args.dtype)
    per_sample_cases, batched_cases = selfbench.cases(
        args.dtype, settings.big, settings.other_dtype
    )
    width_cases, depth_cases = _scaling_cases(args.dtype, settings)

    def bench(case, repeats, which=None):
        result = _bench_case(case, data, which or systems, settings, repeats)
        log(" | ".join(row_of(result)))
        return result

    with _common.limit_threads(args.threads, "torch" in peers) as threads_how:
        if jax_how:
            threads_how += f"; JAX: {jax_how}"
        log(f"threads: {threads_how}")
        per_sample = [bench(case, settings.repeats) for case in per_sample_cases]
        sklearn_fit = []
        if "sklearn" in peers:
            # scikit-learn's own per-sample loop, fit(batch_size=1): a fairer second figure.
            for case, fastnn in zip(per_sample_cases, per_sample, strict=True):
                result = _bench_case(case, data, ["sklearn_fit"], settings, settings.repeats)
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
    kinds = [(f"batch {batch}", batch, "auto") for batch in settings.compile_batches]
    if settings.compile_generated:
        # The loop generated for the layout (per-sample fits of 10,000 rows or more).
        kinds.append((GENERATED, 1, True))
    for kind, batch, specialise in kinds:
        compile_times[kind] = selfbench.first_fit_seconds(
            (784, 40, 10), args.dtype, batch, args.threads, settings.warm_runs, specialise
        )
        times = compile_times[kind]
        log(
            f"first fit, {kind}: "
            + ", ".join(
                f"{when} {fit:.2f} s (import {imp:.2f} s)" for when, (imp, fit) in times.items()
            )
        )

    report = Report(
        args=args,
        prog=prog,
        settings=settings,
        machine=_common.machine(),
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
    text = write_report(report, out)
    print(text)
    log(f"wrote {out / 'results.md'} and the plots")
    return 0


def main(argv=None, prog="python bench/bench_suite.py"):
    """Run the suite with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = build_parser(prog).parse_args(argv)
    return run(args, prog)


if __name__ == "__main__":
    sys.exit(main())
