"""fastnn.MLPClassifier against scikit-learn's MLPClassifier, side by side, on Fashion-MNIST.

Two cases, each with the same parameters for both estimators:

(a) scikit-learn's defaults: ``MLPClassifier(random_state=0)``, i.e. adam,
    ``batch_size="auto"`` (200 rows), ``hidden_layer_sizes=(100,)``, ``alpha=1e-4``,
    ``learning_rate_init=1e-3``, with ``max_iter`` epochs (``--max-iter``; both
    estimators stop at the same epoch, with a ConvergenceWarning);
(b) one row at a time: ``solver="sgd", batch_size=1`` (momentum 0.9, Nesterov,
    ``alpha=1e-4``, ``learning_rate_init=1e-3``), one epoch over ``--sample-rows``
    training rows.

Same data and same initial weights: both get the same float32 arrays (fastnn's
loader, pixels scaled to [0, 1]; so both train in float32), and both draw their
initial weights, their shuffles and their validation splits from ``random_state=0``:
fastnn draws exactly what scikit-learn draws. The script checks it: the first
epoch's loss of the two must agree to float32 rounding (``--check`` fails
otherwise).

Method: one thread (threadpoolctl limits BLAS to one thread, Numba's kernels run
on one). fastnn first fits 200 rows once, untimed, so that its kernels are
compiled or loaded from Numba's cache (reported apart as "first call"). Then
``--repeats`` rounds; each round fits scikit-learn then fastnn (the order
alternates from round to round) on the same data; the table reports the median
seconds of each, their ratio per round (median of the ratios), and the test
accuracy of each (the same in every round: both are deterministic).

Usage::

    python bench/bench_sklearn.py                  # writes bench/results/sklearn.md
    python bench/bench_sklearn.py --quick          # a smoke run: small, not written
"""

import argparse
import importlib.metadata
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common  # noqa: E402, F401  (one BLAS thread, as the other benchmarks)
import numpy as np  # noqa: E402
from _common import atomic_write  # noqa: E402

import fastnn  # noqa: E402
from fastnn.datasets import load_fashion_mnist  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-iter", type=int, default=10, help="epochs of case (a)")
    parser.add_argument("--sample-rows", type=int, default=60000, help="rows of case (b)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sklearn.md")
    parser.add_argument(
        "--quick", action="store_true", help="2 epochs, 3,000 rows, 1 repeat; nothing written"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.max_iter, args.sample_rows, args.repeats, args.out = 2, 3000, 1, None
    return args


def fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is reached on purpose
        start = time.perf_counter()
        estimator.fit(X, y)
        return time.perf_counter() - start


START_ROWS = 1000


def same_start(params, X, y):
    """Both estimators' loss after one epoch over the first rows: equal if they start equal.

    A short epoch, so that float32 rounding has not yet moved the two apart.
    """
    from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

    losses = []
    for cls in (SklearnMLPClassifier, fastnn.MLPClassifier):
        model = cls(**{**params, "max_iter": 1})
        fit(model, X[:START_ROWS], y[:START_ROWS])
        losses.append(model.loss_)
    if not np.isclose(losses[0], losses[1], rtol=1e-4):
        raise SystemExit(f"{params}: the first {START_ROWS} rows train apart: {losses}")
    return losses


def rounding_noise(X, y, X_test, y_test, rows, seeds):
    """Test accuracy of case (b) trained in float32 and in float64, per random_state.

    The same algorithm, data and start: the differences are float32 rounding, the
    yardstick for the float32 difference between the two libraries.
    """
    lines = []
    for seed in seeds:
        params = dict(random_state=seed, max_iter=1, solver="sgd", batch_size=1)
        scores = []
        for dtype in (np.float32, np.float64):
            model = fastnn.MLPClassifier(**params)
            fit(model, X[:rows].astype(dtype), y[:rows])
            scores.append(model.score(X_test.astype(dtype), y_test))
        lines.append((seed, *scores))
    return lines


def run_case(name, params, X, y, X_test, y_test, repeats):
    from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

    seconds = {"scikit-learn": [], "fastnn": []}
    ratios, models = [], {}
    for round_ in range(repeats):
        order = ["scikit-learn", "fastnn"] if round_ % 2 == 0 else ["fastnn", "scikit-learn"]
        for system in order:
            cls = SklearnMLPClassifier if system == "scikit-learn" else fastnn.MLPClassifier
            models[system] = cls(**params)
            seconds[system].append(fit(models[system], X, y))
        ratios.append(seconds["scikit-learn"][-1] / seconds["fastnn"][-1])
    accuracy = {system: models[system].score(X_test, y_test) for system in models}
    return {
        "case": name,
        "sklearn_s": statistics.median(seconds["scikit-learn"]),
        "fastnn_s": statistics.median(seconds["fastnn"]),
        "ratio": statistics.median(ratios),
        "sklearn_acc": accuracy["scikit-learn"],
        "fastnn_acc": accuracy["fastnn"],
        "epochs": [models[system].n_iter_ for system in ("scikit-learn", "fastnn")],
        "rows": len(X),
    }


def main(argv=None):
    args = parse_args(argv)
    import numba
    import sklearn
    from threadpoolctl import threadpool_limits

    (X, y), (X_test, y_test) = load_fashion_mnist()
    data = {"float32": (X, X_test), "float64": (X.astype(np.float64), X_test.astype(np.float64))}
    rows = args.sample_rows
    cases = []
    for dtype in ("float32", "float64"):
        X_train, X_eval = data[dtype]
        cases += [
            (
                f"(a) defaults: adam, batch 200, (100,); {args.max_iter} epochs, {dtype}",
                dict(random_state=0, max_iter=args.max_iter),
                X_train,
                y,
                X_eval,
            ),
            (
                f"(b) solver='sgd', batch_size=1; 1 epoch of {rows:,} rows, {dtype}",
                dict(random_state=0, max_iter=1, solver="sgd", batch_size=1),
                X_train[:rows],
                y[:rows],
                X_eval,
            ),
        ]
    load = os.getloadavg()
    results = []
    with threadpool_limits(1):
        numba.set_num_threads(1)
        first_calls, starts = [], []
        for _, params, X_case, y_case, _ in cases:
            first_calls.append(fit(fastnn.MLPClassifier(**params), X_case[:200], y_case[:200]))
            starts.append(same_start(params, X_case, y_case))
        for case, first, start in zip(cases, first_calls, starts, strict=True):
            name, params, X_case, y_case, X_eval = case
            result = run_case(name, params, X_case, y_case, X_eval, y_test, args.repeats)
            result["first_call_s"] = first
            result["start"] = start
            results.append(result)
            print(
                f"{name}: scikit-learn {result['sklearn_s']:.2f} s, fastnn "
                f"{result['fastnn_s']:.2f} s, x{result['ratio']:.1f}; accuracy "
                f"{result['sklearn_acc']:.4f} vs {result['fastnn_acc']:.4f}; losses after "
                f"{START_ROWS} rows {start[0]:.7f} vs {start[1]:.7f}",
                flush=True,
            )
        noise = rounding_noise(X, y, X_test, y_test, rows, range(5))
    load_after = os.getloadavg()
    if args.out is None:
        return 0
    header = [
        "case",
        "scikit-learn s",
        "fastnn s",
        "speed-up",
        "scikit-learn accuracy",
        "fastnn accuracy",
        "accuracy difference",
        "fastnn first call s",
    ]
    table_rows = [
        [
            r["case"],
            f"{r['sklearn_s']:.2f}",
            f"{r['fastnn_s']:.2f}",
            f"{r['ratio']:.1f}x",
            f"{r['sklearn_acc']:.4f}",
            f"{r['fastnn_acc']:.4f}",
            f"{r['fastnn_acc'] - r['sklearn_acc']:+.4f}",
            f"{r['first_call_s']:.2f}",
        ]
        for r in results
    ]
    command = "python bench/bench_sklearn.py" + "".join(
        f" {arg}" for arg in (argv if argv is not None else sys.argv[1:])
    )
    notes = [
        f"Command: `{command}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared; load average "
        f"{load[0]:.2f} before and {load_after[0]:.2f} after the run. Python "
        f"{platform.python_version()}, NumPy {np.__version__}, Numba {numba.__version__}, "
        f"scikit-learn {sklearn.__version__}, fastnn {importlib.metadata.version('fastnn')}; "
        "one BLAS thread (threadpoolctl), one Numba thread.",
        "",
        "Fashion-MNIST (60,000 training rows in [0, 1], as fastnn's loader gives them in "
        "float32, and the same cast to float64: each estimator then trains in that dtype; "
        "accuracy on the 10,000 test rows). Both estimators get the same arrays and parameters "
        "and draw their initial weights and shuffles from `random_state=0` (fastnn draws what "
        f"scikit-learn draws). Checked: one epoch over the first {START_ROWS:,} rows gives "
        "losses "
        + "; ".join(f"{r['start'][0]:.7f} and {r['start'][1]:.7f}" for r in results)
        + " (scikit-learn and fastnn, case by case). Seconds: median of "
        f"{args.repeats} fits each, alternating which goes first; speed-up: median of the "
        "per-round ratios. 'First call': fastnn's untimed fit of 200 rows before timing "
        "(compiles the kernels, or loads them from Numba's cache).",
    ]
    spread = max(abs(a32 - a64) for _, a32, a64 in noise)
    notes_after = [
        "",
        "Float32 rounding alone moves case (b)'s test accuracy by up to "
        f"{spread:.4f}: fastnn's case (b) trained in float32 and in float64 from the same "
        "start (float64 is where the two libraries give the same weights and accuracy):",
        "",
        "| random_state | float32 accuracy | float64 accuracy | difference |",
        "|---|---|---|---|",
        *[f"| {seed} | {a32:.4f} | {a64:.4f} | {a32 - a64:+.4f} |" for seed, a32, a64 in noise],
    ]
    lines = [
        "# fastnn.MLPClassifier and scikit-learn's MLPClassifier",
        "",
        *notes,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(row) + " |" for row in table_rows],
        *notes_after,
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as stream:
        stream.write(("\n".join(lines) + "\n").encode())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
