"""Many models at once: ``fastnn.sweep`` on threads and on Dask against one fit after another.

Issue 10's targets, on this project's 2-core machine: eight 784-40-10 per-sample
networks (plain SGD, four learning rates x two seeds) on Fashion-MNIST rows,

- one ``sweep`` call on 2 threads: >= 1.8x the speed of training them one after
  another with ``MLP.fit`` on one thread;
- the same eight on a ``LocalCluster`` of 2 single-threaded worker processes,
  scatter of the data included: >= 1.6x.

Every timing is the median of ``--repeats`` runs, the three ways interleaved so
that a change in the machine's load hits them alike. The script also measures what
bounds the speed-up: the parallel kernel alone on 1 and 2 threads, one network per
thread, and what the machine's other processes used meanwhile (in cores). For Dask:
cluster start, the scatter of the data (these rows and all of Fashion-MNIST), the
round trip of an empty task, and a sweep on tiny data (the cost per task). It checks
that all three ways give the same weights, bit for bit.

Usage::

    python bench/bench_sweep.py               # writes bench/results/sweep.md
    python bench/bench_sweep.py --quick       # a smoke run: few rows, 2 repeats
"""

import os

# Numba's thread pool must hold every core (bench/_common.py would make it one).
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, str(os.cpu_count() or 1))

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
import numba  # noqa: E402
import numpy as np  # noqa: E402
from _common import fashion_rows, machine, write_markdown  # noqa: E402

import fastnn  # noqa: E402
from fastnn import MLP, optimizers  # noqa: E402

SIZES = [784, 40, 10]
RATES = (0.005, 0.01, 0.02, 0.04)
SEEDS = (0, 1)


def configs():
    return [{"sizes": SIZES, "lr": lr, "seed": seed} for lr in RATES for seed in SEEDS]


class Load:
    """CPU time the machine's *other* processes used during a measurement, in cores."""

    def __init__(self):
        import psutil  # comes with dask.distributed

        self.psutil = psutil

    def _ours(self):
        me = self.psutil.Process()
        total = 0.0
        for process in [me, *me.children(recursive=True)]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except self.psutil.Error:
                pass
        return total

    @staticmethod
    def _busy():
        fields = [float(v) for v in open("/proc/stat").readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        self.start = (time.perf_counter(), self._busy(), self._ours())
        return self

    def __exit__(self, *exc):
        wall, busy, ours = time.perf_counter(), self._busy(), self._ours()
        self.others = max(0.0, (busy - self.start[1]) - (ours - self.start[2])) / max(
            wall - self.start[0], 1e-9
        )


def sequential(X, labels, epochs):
    """Each configuration alone with MLP.fit, one after another, one thread."""
    nets = []
    for config in configs():
        net = MLP(config["sizes"], seed=config["seed"])
        net.fit(X, labels, optimizer=optimizers.SGD(lr=config["lr"]), epochs=epochs)
        nets.append(net)
    return nets


def parallel_kernel_alone(X, labels, n_models, n_threads, epochs):
    """The generated many-network kernel of one sweep group, timed without the sweep."""
    sweep_module = sys.modules["fastnn.sweep"]
    members, groups, data = sweep_module._plan(
        X,
        labels,
        configs()[:n_models],
        None,
        {"epochs": epochs, "batch_size": 1, "shuffle": True, "seed": 0},
    )
    start = time.perf_counter()
    sweep_module._train_group(groups[0], data, n_threads)
    return time.perf_counter() - start


def noop():
    return None


def measure(args):
    X, labels, source = fashion_rows(args.rows, "float32")
    X = np.ascontiguousarray(X)
    load = Load()
    cores = numba.config.NUMBA_NUM_THREADS

    print(f"{source}: {len(X):,} rows; 8 networks {'-'.join(map(str, SIZES))}, per-sample SGD")
    # Compile (or load from the cache) every kernel once: the generated loop of the
    # layout and its many-network twin.
    warm = [{**config, "specialise": True} for config in configs()[:2]]
    fastnn.sweep(X[:300], labels[:300], warm, n_jobs=2)
    net = MLP(SIZES, specialise=True)
    net.fit(X[:300], labels[:300], optimizer=optimizers.SGD(lr=0.01))

    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    cluster_start = time.perf_counter() - start
    fastnn.sweep(X[:300], labels[:300], warm, client=client)  # workers load the kernels

    times = {"sequential": [], "sweep": [], "dask": []}
    others = {key: [] for key in times}
    reference = None
    for repeat in range(args.repeats):
        for key in times:
            with load:
                start = time.perf_counter()
                if key == "sequential":
                    nets = sequential(X, labels, args.epochs)
                elif key == "sweep":
                    results = fastnn.sweep(X, labels, configs(), epochs=args.epochs, n_jobs=2)
                    nets = [result.model() for result in results]
                else:
                    results = fastnn.sweep(X, labels, configs(), epochs=args.epochs, client=client)
                    nets = [result.model() for result in results]
                seconds = time.perf_counter() - start
            times[key].append(seconds)
            others[key].append(load.others)
            thetas = [net.theta for net in nets]
            if reference is None:
                reference = thetas
            identical = all(np.array_equal(a, b) for a, b in zip(reference, thetas, strict=True))
            if not identical:
                raise AssertionError(f"{key}: weights differ from the first run")
            print(
                f"  run {repeat + 1}: {key:10s} {seconds:7.3f} s  (others {load.others:.2f} cores)"
            )

    # What bounds the threads: the kernel alone; two networks on one thread vs one each.
    kernel = {}
    for n_threads in (1, 2):
        kernel[n_threads] = statistics.median(
            parallel_kernel_alone(X, labels, 8, n_threads, args.epochs) for _ in range(3)
        )
    pair = {}
    for n_threads in (1, 2):
        pair[n_threads] = statistics.median(
            parallel_kernel_alone(X, labels, 2, n_threads, args.epochs) for _ in range(3)
        )

    # Dask's costs: scatter, an empty task, a sweep on tiny data.
    def scatter_seconds(array):
        values = []
        for _ in range(3):
            start = time.perf_counter()
            future = client.scatter(array, broadcast=True, hash=False)
            client.cancel([future])
            values.append(time.perf_counter() - start)
        return statistics.median(values)

    scatter_rows = scatter_seconds(X)
    try:
        (full, _), _ = fastnn.datasets.load_fashion_mnist(dtype="float32")
        scatter_full = scatter_seconds(full)
        full_mb = full.nbytes / 1e6
    except FileNotFoundError:
        scatter_full, full_mb = float("nan"), float("nan")
    round_trips = []
    for _ in range(30):
        start = time.perf_counter()
        client.submit(noop, pure=False).result()
        round_trips.append(time.perf_counter() - start)
    tiny_dask, tiny_local = [], []
    for _ in range(5):
        start = time.perf_counter()
        fastnn.sweep(X[:50], labels[:50], configs(), client=client)
        tiny_dask.append(time.perf_counter() - start)
        start = time.perf_counter()
        fastnn.sweep(X[:50], labels[:50], configs(), n_jobs=2)
        tiny_local.append(time.perf_counter() - start)
    client.close()
    cluster.close()

    median = {key: statistics.median(values) for key, values in times.items()}
    return {
        "source": source,
        "cores": cores,
        "median": median,
        "times": times,
        "others": others,
        "kernel": kernel,
        "pair": pair,
        "cluster_start": cluster_start,
        "scatter_rows": scatter_rows,
        "rows_mb": X.nbytes / 1e6,
        "scatter_full": scatter_full,
        "full_mb": full_mb,
        "round_trip": statistics.median(round_trips),
        "tiny_dask": statistics.median(tiny_dask),
        "tiny_local": statistics.median(tiny_local),
        "loadavg": os.getloadavg(),
    }


def report(args, m):
    sequential_s = m["median"]["sequential"]
    speed = {key: sequential_s / m["median"][key] for key in m["median"]}
    steps = 8 * args.rows * args.epochs
    command = "python bench/bench_sweep.py" + (" --quick" if args.quick else "")
    others = {key: statistics.median(values) for key, values in m["others"].items()}
    rows = [
        [
            "8 fits one after another (`MLP.fit`, 1 thread)",
            f"{sequential_s:.3f}",
            f"{steps / sequential_s:,.0f}",
            "1.00x",
            "",
            "",
            f"{others['sequential']:.2f}",
        ],
        [
            "one `fastnn.sweep`, `n_jobs=2` (2 threads)",
            f"{m['median']['sweep']:.3f}",
            f"{steps / m['median']['sweep']:,.0f}",
            f"{speed['sweep']:.2f}x",
            ">= 1.8x",
            "yes" if speed["sweep"] >= 1.8 else "**no**",
            f"{others['sweep']:.2f}",
        ],
        [
            "`fastnn.sweep(client=...)`, LocalCluster 2 processes x 1 thread, scatter included",
            f"{m['median']['dask']:.3f}",
            f"{steps / m['median']['dask']:,.0f}",
            f"{speed['dask']:.2f}x",
            ">= 1.6x",
            "yes" if speed["dask"] >= 1.6 else "**no**",
            f"{others['dask']:.2f}",
        ],
    ]
    kernel, pair = m["kernel"], m["pair"]
    tasks = 8  # one network per task: each worker has one thread
    per_task = (m["tiny_dask"] - m["tiny_local"]) * 2 / tasks
    notes = [
        f"`{command}` on {machine().replace(', one BLAS thread', '')}, Numba threads: "
        f"{m['cores']}. {m['source']}: {args.rows:,} rows x {args.epochs} epochs x 8 networks "
        f"(784-40-10 ReLU/softmax, float32, per-sample SGD at learning rates "
        f"{', '.join(map(str, RATES))} x seeds {', '.join(map(str, SEEDS))}); the generated "
        "per-sample loop of the layout. Median of "
        f"{args.repeats} runs, the three ways interleaved; every run gave the same weights "
        "bit for bit.",
        "",
        "Load: 'others' is the CPU time the machine's other processes used during the "
        "measurement, in cores (median over the runs); load average after the runs "
        f"{m['loadavg'][0]:.2f} / {m['loadavg'][1]:.2f} / {m['loadavg'][2]:.2f}. Runs, in "
        "seconds: "
        + "; ".join(
            f"{key} {', '.join(f'{value:.3f}' for value in values)}"
            for key, values in m["times"].items()
        )
        + ".",
    ]
    extra = [
        "",
        "## What bounds it",
        "",
        "| measurement | seconds | speed-up |",
        "|---|---|---|",
        f"| the many-network kernel alone, 8 networks, 1 thread | {kernel[1]:.3f} | 1.00x |",
        f"| the many-network kernel alone, 8 networks, 2 threads | {kernel[2]:.3f} | "
        f"{kernel[1] / kernel[2]:.2f}x |",
        f"| 2 networks on 1 thread | {pair[1]:.3f} | 1.00x |",
        f"| 2 networks on 2 threads (one each) | {pair[2]:.3f} | {pair[1] / pair[2]:.2f}x |",
        "",
        "## Dask's costs",
        "",
        "| what | measured |",
        "|---|---|",
        f"| start a LocalCluster of 2 worker processes | {m['cluster_start']:.2f} s |",
        f"| scatter these {args.rows:,} rows ({m['rows_mb']:.0f} MB float32) to both workers | "
        f"{m['scatter_rows']:.3f} s |",
        f"| scatter all of Fashion-MNIST's training set ({m['full_mb']:.0f} MB float32) to "
        f"both workers | {m['scatter_full']:.3f} s |",
        f"| round trip of an empty task | {m['round_trip'] * 1e3:.1f} ms |",
        f"| sweep of the 8 networks on 50 rows: Dask / threads | {m['tiny_dask']:.3f} s / "
        f"{m['tiny_local']:.3f} s |",
        f"| overhead per task (one network each; (Dask - threads) x 2 workers / 8 tasks) | "
        f"{per_task * 1e3:.1f} ms |",
    ]
    path = Path(args.out)
    write_markdown(
        path,
        "Many models at once: fastnn.sweep on threads and on Dask",
        notes,
        ["way", "seconds", "steps/s", "speed-up", "target", "met", "others (cores)"],
        rows,
    )
    with path.open("a") as stream:
        stream.write("\n".join(extra) + "\n")
    print(path.read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 2 repeats")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "sweep.md"), help="Markdown file"
    )
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeats = 2_000, 2
        if args.out == parser.get_default("out"):
            args.out = str(Path(args.out).with_name("sweep_quick.md"))
    report(args, measure(args))


if __name__ == "__main__":
    main()
