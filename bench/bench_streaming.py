"""Learning from a stream, one event at a time: fastnn against River and Vowpal Wabbit.

Three tables, all measured in one run, one thread, the systems interleaved:

1. Per-call times of learn and predict, one event at a time, on the same rows in
   the same order: fastnn's ``MLP.learn_one``/``predict_one`` on NumPy rows;
   ``fastnn.river.MLPClassifier``/``MLPRegressor`` on dicts; River's
   ``LogisticRegression``/``LinearRegression`` on dicts; Vowpal Wabbit's Python API
   (``Workspace.learn``/``predict`` on its text format, formatted beforehand) when it
   is installed. Phishing (9 features, 2 classes) and TrumpApproval (6 features,
   regression) from River's embedded data sets; 784-40-10 float32 on Fashion-MNIST.
2. Test-then-train events per second (predict the row, score it, learn from it) and
   the progressive metric: fastnn's ``progressive_val_score`` (one compiled loop over
   the array), the same as a Python loop of ``predict_one`` + ``learn_one``, the
   River adapter, River's linear model, Vowpal Wabbit, each on the same rows; and
   ``river.evaluate.progressive_val_score`` with a ``StandardScaler`` pipeline.
3. Fashion-MNIST 784-40-10: one pass of per-sample ``fit`` against
   ``progressive_val_score`` (the same loop) and the ``learn_one`` loop.

Method: every timing is the median of ``--repeats`` rounds; within a round the
systems run one after the other in an order that rotates from round to round, so
that the load of this shared machine falls on all of them alike. Each system runs
once untimed first (Numba compiles, or loads its cache: reported apart as "first
call"). Phishing and TrumpApproval features are standardised once beforehand by
River's online ``StandardScaler`` (as a pipeline would), so every system learns
from the same numbers; "model only" times exclude that scaler.

Usage::

    python bench/bench_streaming.py            # writes bench/results/streaming.md
    python bench/bench_streaming.py --quick    # a smoke run: small, not written
"""

import argparse
import importlib.metadata
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402  (one BLAS thread, this checkout's fastnn first on the path)
import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn import MLP, optimizers  # noqa: E402
from fastnn.io.atomic import atomic_write  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "streaming.md")


def version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------- data


def river_stream(name, rows):
    """(dicts, labels, X, y): the data set's rows scaled online by River's StandardScaler."""
    from river import datasets, preprocessing

    data = {"Phishing": datasets.Phishing, "TrumpApproval": datasets.TrumpApproval}[name]()
    scaler = preprocessing.StandardScaler()
    dicts, labels = [], []
    for x, y in itertools.islice(data, rows):
        scaler.learn_one(x)
        dicts.append(scaler.transform_one(x))
        labels.append(y)
    names = sorted(dicts[0])
    X = np.array([[x[k] for k in names] for x in dicts])
    y = np.array(labels, dtype=np.float64 if name == "TrumpApproval" else np.int64)
    return dicts, labels, X, y


def vw_lines(dicts, labels, classification):
    """Vowpal Wabbit's text format of the rows: ("label | f:v ...", "| f:v ...")."""
    learn, predict = [], []
    for x, y in zip(dicts, labels, strict=True):
        features = " ".join(f"{k}:{v:.6g}" for k, v in x.items() if v != 0)
        label = (1 if y else -1) if classification else y
        learn.append(f"{label} | {features}")
        predict.append(f"| {features}")
    return learn, predict


# ---------------------------------------------------------------- systems


class System:
    """One learner: make() gives a fresh one; learn(i)/predict(i) handle event i."""

    def __init__(self, name, make, learn, predict):
        self.name, self.make, self.learn, self.predict = name, make, learn, predict


def systems_for(task, dicts, labels, X, y, network):
    """The systems of one data set, each as (name, make, learn, predict) over event i."""
    from river import linear_model

    from fastnn.river import MLPClassifier, MLPRegressor

    classification = task == "classification"
    rows = list(X)
    targets = [int(v) for v in y] if classification else [float(v) for v in y]
    out = []

    def fastnn_numpy():
        # Plain SGD, as River's linear models learn (their default: SGD(lr=0.01)).
        net = MLP(network, output="softmax" if classification else "identity", dtype="float64",
                  seed=0, specialise=False)  # fmt: skip
        net.optimizer_ = optimizers.SGD(lr=0.05 if classification else 0.01)
        return net

    out.append(
        System(
            "fastnn MLP.learn_one/predict_one, NumPy row, SGD",
            fastnn_numpy,
            lambda m, i: m.learn_one(rows[i], targets[i]),
            lambda m, i: m.predict_one(rows[i]),
        )
    )
    adapter = MLPClassifier if classification else MLPRegressor
    out.append(
        System(
            f"fastnn.river.{adapter.__name__}, dict",
            lambda: adapter(hidden_layer_sizes=tuple(network[1:-1]), seed=0),
            lambda m, i: m.learn_one(dicts[i], labels[i]),
            lambda m, i: m.predict_one(dicts[i]),
        )
    )
    linear = linear_model.LogisticRegression if classification else linear_model.LinearRegression
    out.append(
        System(
            f"River {linear.__name__}, dict",
            linear,
            lambda m, i: m.learn_one(dicts[i], labels[i]),
            lambda m, i: m.predict_one(dicts[i]),
        )
    )
    if version("vowpalwabbit"):
        from vowpalwabbit import Workspace

        learn_lines, predict_lines = vw_lines(dicts, labels, classification)
        flags = "--loss_function logistic --link logistic" if classification else ""
        out.append(
            System(
                "Vowpal Wabbit (linear), text line",
                lambda: Workspace(f"{flags} --quiet"),
                lambda m, i: m.learn(learn_lines[i]),
                lambda m, i: m.predict(predict_lines[i]),
            )
        )
    return out


def per_call(systems, n, repeats):
    """Median microseconds per learn and per predict call of each system, interleaved."""
    learn = {s.name: [] for s in systems}
    predict = {s.name: [] for s in systems}
    first = {}
    for s in systems:  # untimed: compiles, or loads Numba's cache
        model = s.make()
        started = time.perf_counter()
        s.learn(model, 0)
        s.predict(model, 0)
        first[s.name] = time.perf_counter() - started
    for round_ in range(repeats):
        order = systems[round_ % len(systems) :] + systems[: round_ % len(systems)]
        for s in order:
            model = s.make()
            started = time.perf_counter()
            for i in range(n):
                s.learn(model, i)
            learn[s.name].append((time.perf_counter() - started) / n * 1e6)
            started = time.perf_counter()
            for i in range(n):
                s.predict(model, i)
            predict[s.name].append((time.perf_counter() - started) / n * 1e6)
    return (
        {k: statistics.median(v) for k, v in learn.items()},
        {k: statistics.median(v) for k, v in predict.items()},
        first,
    )


def test_then_train(systems, task, y, n, repeats, X, network):
    """Events/s and the progressive metric of each system (and of progressive_val_score)."""
    classification = task == "classification"
    targets = y[:n]

    def score(predictions):
        p = np.array(predictions, dtype=np.float64)
        if classification:
            return float(np.mean(p == targets))
        return float(np.mean(np.abs(p - targets)))

    def loop(s):
        def run():
            model = s.make()
            predictions = []
            for i in range(n):
                predictions.append(s.predict(model, i))
                s.learn(model, i)
            return predictions

        return run

    def as_label(s, value):
        if s.name.startswith("fastnn MLP"):
            return int(np.argmax(value)) if classification else float(value[0])
        if s.name.startswith("Vowpal"):
            return int(value >= 0.5) if classification else value
        return (1 if value else 0) if classification else value

    runs = {}
    for s in systems:
        run = loop(s)
        runs[s.name] = (run, lambda predictions, s=s: score([as_label(s, v) for v in predictions]))

    def progressive():
        net = systems[0].make()
        return fastnn.progressive_val_score(
            net, X[:n], y[:n], "accuracy" if classification else "mae"
        )

    runs["fastnn progressive_val_score, NumPy array"] = (progressive, lambda r: r.value)
    rates = {name: [] for name in runs}
    metric = {}
    names = list(runs)
    for name in names:
        runs[name][0]()  # untimed
    for round_ in range(repeats):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            run, scorer = runs[name]
            started = time.perf_counter()
            result = run()
            rates[name].append(n / (time.perf_counter() - started))
            metric[name] = scorer(result)
    return {name: statistics.median(v) for name, v in rates.items()}, metric


def river_pipelines(name, n, repeats):
    """river.evaluate.progressive_val_score with StandardScaler | model: events/s, metric."""
    from river import datasets, evaluate, linear_model, metrics, preprocessing

    from fastnn.river import MLPClassifier, MLPRegressor

    classification = name == "Phishing"
    data = list(
        itertools.islice((datasets.Phishing if classification else datasets.TrumpApproval)(), n)
    )
    if classification:
        models = {
            "StandardScaler | fastnn.river.MLPClassifier": lambda: (
                preprocessing.StandardScaler() | MLPClassifier(seed=0)
            ),
            "StandardScaler | River LogisticRegression": lambda: (
                preprocessing.StandardScaler() | linear_model.LogisticRegression()
            ),
        }
        metric = metrics.Accuracy
    else:
        models = {
            "StandardScaler | TargetStandardScaler(fastnn.river.MLPRegressor)": lambda: (
                preprocessing.StandardScaler()
                | preprocessing.TargetStandardScaler(MLPRegressor(seed=0, optimizer="sgd", lr=0.01))
            ),
            "StandardScaler | TargetStandardScaler(River LinearRegression)": lambda: (
                preprocessing.StandardScaler()
                | preprocessing.TargetStandardScaler(linear_model.LinearRegression())
            ),
        }
        metric = metrics.MAE
    rates = {k: [] for k in models}
    values = {}
    for round_ in range(repeats):
        keys = list(models)
        for key in keys[round_ % 2 :] + keys[: round_ % 2]:
            started = time.perf_counter()
            result = evaluate.progressive_val_score(data, models[key](), metric())
            rates[key].append(n / (time.perf_counter() - started))
            values[key] = result.get()
    return {k: statistics.median(v) for k, v in rates.items()}, values


def progressive_rates(X, y, repeats):
    """progressive_val_score rows/s on a Phishing-sized network, by optimizer, dtype, loop."""
    configs = []
    for dtype in ("float64", "float32"):
        for name, make in (("SGD(lr=0.05)", lambda: optimizers.SGD(lr=0.05)),
                           ("Adam(lr=0.005)", lambda: optimizers.Adam(lr=0.005))):  # fmt: skip
            for specialise in ("auto", True):
                configs.append((dtype, name, make, specialise))
    rates = {}
    for dtype, name, make, specialise in configs:
        net = MLP([X.shape[1], 32, 2], dtype=dtype, seed=0, specialise=specialise)
        net.optimizer_ = make()
        fastnn.progressive_val_score(net, X, y)  # untimed: compiles or loads the cache
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            fastnn.progressive_val_score(net, X, y)
            times.append(time.perf_counter() - started)
        rates[(dtype, name, specialise)] = len(X) / statistics.median(times)
    return rates


def fashion(n_rows, repeats, vw_rows):
    """784-40-10 float32 on Fashion-MNIST: per-call times, one pass, test accuracy."""
    X, t, source = _common.fashion_rows(n_rows, np.float32)
    (_, _), (X_test, t_test) = fastnn.datasets.load_fashion_mnist(dtype=np.float32)
    rows = list(X)
    labels = [int(v) for v in t]

    def net(specialise="auto"):
        return MLP([784, 40, 10], seed=0, dtype="float32", specialise=specialise)

    out = {"source": source}
    # Per-call times of learn_one and predict_one, medians over rounds, with the default
    # specialise="auto" (a one-row fit: the generic loop) and with True (the generated one).
    calls = min(5000, n_rows)
    settings = ("auto", True)
    learn = {key: [] for key in settings}
    predict = {key: [] for key in settings}
    for key in settings:  # untimed: compiles or loads the loops
        warm = net(key)
        warm.learn_one(rows[0], labels[0])
        warm.predict_one(rows[0])
    for round_ in range(repeats):
        for key in settings[round_ % 2 :] + settings[: round_ % 2]:
            model = net(key)
            started = time.perf_counter()
            for i in range(calls):
                model.learn_one(rows[i], labels[i])
            learn[key].append((time.perf_counter() - started) / calls * 1e6)
            started = time.perf_counter()
            for i in range(calls):
                model.predict_one(rows[i])
            predict[key].append((time.perf_counter() - started) / calls * 1e6)
    out["calls"] = {
        key: (statistics.median(learn[key]), statistics.median(predict[key])) for key in settings
    }
    # One pass: fit (per sample, in order) against progressive_val_score and the loop.
    runs = {
        "fit(batch_size=1, shuffle=False)": lambda m: m.fit(X, t, batch_size=1, shuffle=False),
        "progressive_val_score": lambda m: fastnn.progressive_val_score(m, X, t),
    }
    for key in runs:  # untimed: compiles or loads the generated loop
        runs[key](net())
    rates = {k: [] for k in runs}
    accuracy = {}
    for round_ in range(repeats):
        keys = list(runs)
        for key in keys[round_ % 2 :] + keys[: round_ % 2]:
            model = net()
            started = time.perf_counter()
            runs[key](model)
            rates[key].append(n_rows / (time.perf_counter() - started))
            accuracy[key] = model.accuracy(X_test, t_test)
    out["rates"] = {k: statistics.median(v) for k, v in rates.items()}
    out["accuracy"] = accuracy
    looped = net()
    started = time.perf_counter()
    for i in range(n_rows):
        looped.learn_one(rows[i], labels[i])
    out["loop_rate"] = n_rows / (time.perf_counter() - started)
    out["loop_accuracy"] = looped.accuracy(X_test, t_test)
    if version("vowpalwabbit"):
        from vowpalwabbit import Workspace

        lines = [
            f"{labels[i] + 1} | " + " ".join(f"p{j}:{X[i, j]:.4g}" for j in np.flatnonzero(X[i]))
            for i in range(vw_rows)
        ]
        vw = Workspace("--oaa 10 --nn 40 --quiet")
        started = time.perf_counter()
        for line in lines:
            vw.learn(line)
        out["vw_rate"] = vw_rows / (time.perf_counter() - started)
        out["vw_rows"] = vw_rows
    return out


# ---------------------------------------------------------------- report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run, not written")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    quick = args.quick
    repeats = 2 if quick else args.repeats
    load_before = os.getloadavg()[0]
    lines = []
    with _common.limit_threads(1):
        results = {}
        for name, task, network in (
            ("Phishing", "classification", [9, 32, 2]),
            ("TrumpApproval", "regression", [6, 32, 1]),
        ):
            n = 300 if quick else {"Phishing": 1250, "TrumpApproval": 1001}[name]
            dicts, labels, X, y = river_stream(name, n)
            systems = systems_for(task, dicts, labels, X, y, network)
            learn, predict, first = per_call(systems, n, repeats)
            rates, metric = test_then_train(systems, task, y, n, repeats, X, network)
            pipes = river_pipelines(name, n, repeats)
            results[name] = (n, network, systems, learn, predict, first, rates, metric, pipes)
            if name == "Phishing":
                phishing_rates = progressive_rates(X, y, 3 if quick else 7)
        fm = fashion(3000 if quick else 60000, 2 if quick else 3, 300 if quick else 3000)
    load_after = os.getloadavg()[0]

    lines += [
        "# Streaming: one event at a time",
        "",
        "Command: `python bench/bench_streaming.py`",
        "",
        f"Machine: {_common.machine()}; load average {load_before:.2f} before and {load_after:.2f} "
        f"after the run (2 cores, shared). River {version('river')}, Vowpal Wabbit "
        f"{version('vowpalwabbit') or 'not installed'}; one BLAS thread, one Numba thread.",
        "",
        "Medians of rounds in which the systems take turns (the order rotates), after one "
        "untimed call each ('first call': Numba compiling or loading its cache). Features "
        "standardised once beforehand by River's online StandardScaler, the same numbers for "
        "every system; fastnn's networks: 9-32-2 softmax (Phishing) and 6-32-1 identity "
        "(TrumpApproval), ReLU, float64; on NumPy rows with plain SGD (lr 0.05 and 0.01), as "
        "River's linear models learn; the River adapter with its defaults (Adam, lr=0.005).",
        "",
    ]
    for name, (n, network, systems, learn, predict, first, rates, metric, pipes) in results.items():
        metric_name = "accuracy" if name == "Phishing" else "MAE"
        river_linear = systems[2].name
        lines += [
            f"## {name}: {n} events, {network[0]} features",
            "",
            "| system | learn µs/event | predict µs/event | learn + predict µs | ratio to River "
            "| first call s |",
            "|---|---|---|---|---|---|",
        ]
        base = learn[river_linear] + predict[river_linear]
        for s in systems:
            both = learn[s.name] + predict[s.name]
            lines.append(
                f"| {s.name} | {learn[s.name]:.2f} | {predict[s.name]:.2f} | {both:.2f} | "
                f"{both / base:.2f} | {first[s.name]:.3f} |"
            )
        lines += [
            "",
            f"Test-then-train (predict, score, learn) over the {n} events, model only:",
            "",
            f"| system | events/s | progressive {metric_name} |",
            "|---|---|---|",
        ]
        for key, rate in sorted(rates.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {key} | {rate:,.0f} | {metric[key]:.4f} |")
        pipe_rates, pipe_values = pipes
        lines += ["", "`river.evaluate.progressive_val_score` with the scaler in the pipeline:", ""]
        lines += [f"| pipeline | events/s | {metric_name} |", "|---|---|---|"]
        for key, rate in pipe_rates.items():
            shown = key.replace("|", "\\|")
            lines.append(f"| {shown} | {rate:,.0f} | {pipe_values[key]:.4f} |")
        lines.append("")
        if name == "Phishing":
            lines += [
                f"`fastnn.progressive_val_score` over the {n} Phishing rows, 9-32-2 networks "
                "(one compiled loop; 'auto' runs the generic loop on so few rows, True the "
                "loop generated for the layout):",
                "",
                "| dtype | optimizer | specialise | rows/s |",
                "|---|---|---|---|",
            ]
            for (dtype, opt, specialise), rate in phishing_rates.items():
                lines.append(f"| {dtype} | {opt} | {specialise} | {rate:,.0f} |")
            lines.append("")
    lines += [
        "## Fashion-MNIST, 784-40-10 float32",
        "",
        f"Rows: {fm['source']}; per-call times over the first 5,000 rows; one pass in row "
        "order, test accuracy on the 10,000 test rows.",
        "",
        "| network | learn_one µs/event | predict_one µs/event |",
        "|---|---|---|",
        *(
            f"| MLP([784, 40, 10], specialise={key!r}) | {learn:.2f} | {predict:.2f} |"
            for key, (learn, predict) in fm["calls"].items()
        ),
        "",
        "Targets: learn_one <= 10 µs, predict_one <= 5 µs. For scale, in the same run one "
        "row of the per-sample fit below took "
        f"{1e6 / fm['rates']['fit(batch_size=1, shuffle=False)']:.2f} µs.",
        "",
        "| one pass | rows/s | test accuracy |",
        "|---|---|---|",
    ]
    for key, rate in fm["rates"].items():
        lines.append(f"| {key} | {rate:,.0f} | {fm['accuracy'][key]:.4f} |")
    lines.append(
        f"| Python loop of learn_one | {fm['loop_rate']:,.0f} | {fm['loop_accuracy']:.4f} |"
    )
    if "vw_rate" in fm:
        lines.append(
            f"| Vowpal Wabbit --oaa 10 --nn 40, learn(str) ({fm['vw_rows']:,} rows) | "
            f"{fm['vw_rate']:,.0f} | - |"
        )
    ratio = fm["rates"]["progressive_val_score"] / fm["rates"]["fit(batch_size=1, shuffle=False)"]
    lines += ["", f"progressive_val_score / fit: {ratio:.2f} (target >= 0.8)", ""]
    text = "\n".join(lines)
    print(text)
    if not quick:
        with atomic_write(OUT) as stream:
            stream.write((text + "\n").encode())


if __name__ == "__main__":
    main()
