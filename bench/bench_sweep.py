"""Many models at once: ``fastnn.sweep`` on threads and on Dask against one fit after another.

Issue 10's targets, on this project's 2-core machine: eight 784-40-10 per-sample
networks (plain SGD, four learning rates x two seeds) on Fashion-MNIST rows,

- one ``sweep`` call on 2 threads: >= 1.8x the speed of training them one after
  another with ``MLP.fit`` on one thread;
- the same eight on a ``LocalCluster`` of 2 single-threaded worker processes,
  scatter of the data included: >= 1.6x.

The three ways run interleaved, so that a change in the machine's load hits them
alike, on 20,000 rows x 2 epochs (the targets' workload), on all 60,000 rows x 2 and
on 20,000 x 8 (``--workloads``). During every run the script measures what the
machine's *other* processes used (in cores, from ``/proc/stat`` minus this process
tree's CPU time), and it repeats the runs until each way has ``--repeats`` quiet ones
(others < 0.1 core; at most ``--max-runs``). The table gives the median of all runs
and the median of the quiet runs, which decide the targets.
It also measures what bounds the speed-up (the parallel kernel alone on 1 and 2
threads; a pure arithmetic loop on 1 and 2 threads) and Dask's costs (cluster start,
scatter of these rows and of all of Fashion-MNIST, an empty task, a sweep on tiny
data). It checks that every run of every way gives the same weights, bit for bit.

Usage::

    python bench/bench_sweep.py               # writes bench/results/sweep.md
    python bench/bench_sweep.py --quick       # a smoke run: 2,000 rows, 2 runs
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
# _common first: one BLAS thread, set before NumPy loads, and this checkout's fastnn.
from _common import fashion_rows, machine, write_markdown  # noqa: E402, I001

import numba  # noqa: E402
import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn import MLP, optimizers  # noqa: E402

SIZES = [784, 40, 10]
RATES = (0.005, 0.01, 0.02, 0.04)
SEEDS = (0, 1)
WAYS = ("sequential", "sweep", "dask")
QUIET = 0.1  # cores used by other processes below which a run counts as quiet
TARGETS = {"sweep": 1.8, "dask": 1.6}


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
        with open("/proc/stat") as stream:
            fields = [float(value) for value in stream.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        self.start = (time.perf_counter(), self._busy(), self._ours())
        return self

    def __exit__(self, *exc):
        wall, busy, ours = time.perf_counter(), self._busy(), self._ours()
        used = (busy - self.start[1]) - (ours - self.start[2])
        self.others = max(0.0, used) / max(wall - self.start[0], 1e-9)


def sequential(X, labels, epochs):
    """Each configuration alone with MLP.fit, one after another, one thread."""
    nets = []
    for config in configs():
        net = MLP(config["sizes"], seed=config["seed"])
        net.fit(X, labels, optimizer=optimizers.SGD(lr=config["lr"]), epochs=epochs)
        nets.append(net)
    return nets


def group_alone(X, labels, n_models, n_threads, epochs):
    """One sweep group (the parallel kernel and fit's bookkeeping), without the checks."""
    from fastnn.sweep.local import train_group
    from fastnn.sweep.plan import plan

    defaults = {"epochs": epochs, "batch_size": 1, "shuffle": True, "seed": 0}
    _, groups, data = plan(X, labels, configs()[:n_models], None, defaults)
    start = time.perf_counter()
    train_group(groups[0], data, n_threads)
    return time.perf_counter() - start


@numba.njit(parallel=True, cache=True)
def spin(iterations, lanes):
    """Pure arithmetic, no memory traffic: what two threads give at best here."""
    out = np.zeros(lanes)
    for lane in numba.prange(lanes):
        value = 0.0
        for i in range(iterations):
            value = value * 0.999999 + i * 1e-9
        out[lane] = value
    return out


def spin_seconds(n_threads):
    numba.set_num_threads(n_threads)
    try:
        start = time.perf_counter()
        spin(100_000_000, 2)
        return time.perf_counter() - start
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def noop():
    return None


def dask_phases(client, X, labels, epochs, runs=5):
    """Where a Dask sweep's time goes: medians of the phases of ``runs`` sweeps."""
    from distributed import get_task_stream

    scatter = client.scatter
    marks = {}

    def timed_scatter(*args, **kwargs):
        start = time.perf_counter()
        future = scatter(*args, **kwargs)
        marks["scatter"] = (start, time.perf_counter())
        return future

    client.scatter = timed_scatter  # this client only, for the measurement
    phases = []
    try:
        for _ in range(runs):
            with get_task_stream(client) as stream:
                start_wall, start = time.time(), time.perf_counter()
                fastnn.sweep(X, labels, configs(), epochs=epochs, client=client)
                end = time.perf_counter()
            tasks = [task for task in stream.data if task["key"].startswith("fastnn-sweep")]
            begins = [task["startstops"][0]["start"] - start_wall for task in tasks]
            ends = [task["startstops"][-1]["stop"] - start_wall for task in tasks]
            scatter_start, scatter_end = (mark - start for mark in marks["scatter"])
            phases.append(
                {
                    "checks": scatter_start,
                    "scatter": scatter_end - scatter_start,
                    "to first task": min(begins) - scatter_end,
                    "task (slowest)": max(e - b for b, e in zip(begins, ends, strict=True)),
                    "results back": (end - start) - max(ends),
                    "total": end - start,
                    "tasks": len(tasks),
                }
            )
    finally:
        del client.scatter
    return {key: statistics.median(phase[key] for phase in phases) for key in phases[0]}


def timed(load, function):
    with load:
        start = time.perf_counter()
        value = function()
        seconds = time.perf_counter() - start
    return seconds, load.others, value


def quiet_enough(runs, wanted):
    """True once every way has ``wanted`` quiet runs."""
    return all(sum(others < QUIET for _, others in values) >= wanted for values in runs.values())


def compare_ways(X, labels, epochs, args, client, load):
    """Time the three ways, interleaved, until each has ``args.repeats`` quiet runs (or
    ``args.max_runs`` runs); check that they all give the same weights."""
    runs = {way: [] for way in WAYS}  # (seconds, others)
    ways = {
        "sequential": lambda: sequential(X, labels, epochs),
        "sweep": lambda: [
            result.model() for result in fastnn.sweep(X, labels, configs(), epochs=epochs)
        ],
        "dask": lambda: [
            result.model()
            for result in fastnn.sweep(X, labels, configs(), epochs=epochs, client=client)
        ],
    }
    reference = None
    repeat = 0
    while repeat < args.max_runs and not quiet_enough(runs, args.repeats):
        repeat += 1
        for way in WAYS:
            seconds, others, nets = timed(load, ways[way])
            runs[way].append((seconds, others))
            thetas = [net.theta for net in nets]
            reference = reference or thetas
            if not all(np.array_equal(a, b) for a, b in zip(reference, thetas, strict=True)):
                raise AssertionError(f"{way}: the weights differ from the first run's")
            print(f"  run {repeat}: {way:10s} {seconds:7.3f} s  (others {others:.2f} cores)")
    return runs


def measure(args):
    X_all, labels_all, source = fashion_rows(60_000, "float32")
    X_all = np.ascontiguousarray(X_all)
    load = Load()

    # Compile (or load from the cache) every kernel once: the generated loop of the
    # layout and its many-network twin, and the arithmetic loop.
    warm = [{**config, "specialise": True} for config in configs()[:2]]
    fastnn.sweep(X_all[:300], labels_all[:300], warm, n_jobs=2)
    MLP(SIZES, specialise=True).fit(X_all[:300], labels_all[:300])
    spin(10, 2)

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
    fastnn.sweep(X_all[:300], labels_all[:300], warm, client=client)  # workers load kernels
    # The first large scatters to fresh worker processes are several times slower (the
    # workers' memory is new to them); a user's long-lived cluster is past that.
    for _ in range(2):
        rows = args.workloads[0][0]
        fastnn.sweep(X_all[:rows], labels_all[:rows], configs(), client=client)

    workloads = {}
    for rows, epochs in args.workloads:
        X, labels = X_all[:rows], labels_all[:rows]
        print(f"{source}: {rows:,} rows x {epochs} epochs, 8 networks 784-40-10")
        workloads[rows, epochs] = compare_ways(X, labels, epochs, args, client, load)

    rows, epochs = args.workloads[0]
    X, labels = X_all[:rows], labels_all[:rows]
    bounds = {}
    for name, function in {
        "group, 8 networks, 1 thread": lambda: group_alone(X, labels, 8, 1, epochs),
        "group, 8 networks, 2 threads": lambda: group_alone(X, labels, 8, 2, epochs),
        "group, 2 networks, 1 thread": lambda: group_alone(X, labels, 2, 1, epochs),
        "group, 2 networks, 2 threads": lambda: group_alone(X, labels, 2, 2, epochs),
        "arithmetic loop, 2 lanes, 1 thread": lambda: spin_seconds(1),
        "arithmetic loop, 2 lanes, 2 threads": lambda: spin_seconds(2),
    }.items():
        runs = []
        while len(runs) < args.max_runs and sum(run[1] < QUIET for run in runs) < 3:
            runs.append(timed(load, function))
        quiet = [run for run in runs if run[1] < QUIET] or runs
        bounds[name] = (
            statistics.median(run[2] for run in quiet),
            statistics.median(run[1] for run in quiet),
        )

    def scatter_seconds(array, direct):
        values = []
        for _ in range(5):
            start = time.perf_counter()
            future = client.scatter(array, broadcast=True, hash=False, direct=direct)
            values.append(time.perf_counter() - start)
            client.cancel([future])
        return statistics.median(values)

    costs = {
        "cluster_start": cluster_start,
        "rows": rows,
        "rows_mb": X.nbytes / 1e6,
        "full_mb": X_all.nbytes / 1e6,
    }
    for direct in (True, False):
        costs["scatter_rows", direct] = scatter_seconds(X, direct)
        costs["scatter_full", direct] = scatter_seconds(X_all, direct)
    round_trips = []
    for _ in range(30):
        start = time.perf_counter()
        client.submit(noop, pure=False).result()
        round_trips.append(time.perf_counter() - start)
    costs["round_trip"] = statistics.median(round_trips)
    tiny = {"dask": [], "threads": []}
    for _ in range(7):
        for way, kwargs in (("dask", {"client": client}), ("threads", {"n_jobs": 2})):
            start = time.perf_counter()
            fastnn.sweep(X[:50], labels[:50], configs(), **kwargs)
            tiny[way].append(time.perf_counter() - start)
    costs["tiny"] = {way: statistics.median(values) for way, values in tiny.items()}
    costs["phases"] = dask_phases(client, X, labels, epochs)
    client.close()
    cluster.close()
    return {"source": source, "workloads": workloads, "bounds": bounds, "costs": costs}


def summary(runs, way, quiet_only):
    """Median seconds of a way's runs (the quiet ones only, if asked), and their count."""
    chosen = [seconds for seconds, others in runs[way] if not quiet_only or others < QUIET]
    return (statistics.median(chosen) if chosen else float("nan")), len(chosen)


def report(args, m):
    command = "python bench/bench_sweep.py" + (" --quick" if args.quick else "")
    header = ["rows x epochs", "way", "seconds (all runs)", "speed-up (all)"]
    header += ["seconds (quiet runs)"]
    header += ["speed-up (quiet)", "target", "met", "quiet runs", "others (cores, median)"]
    rows = []
    labels = {
        "sequential": "8 fits one after another (`MLP.fit`, 1 thread)",
        "sweep": "one `fastnn.sweep`, 2 threads",
        "dask": "`fastnn.sweep(client=)`, LocalCluster 2 x 1 thread, scatter included",
    }
    for (n_rows, epochs), runs in m["workloads"].items():
        base_all, _ = summary(runs, "sequential", False)
        base_quiet, _ = summary(runs, "sequential", True)
        for way in WAYS:
            all_s, _ = summary(runs, way, False)
            quiet_s, n_quiet = summary(runs, way, True)
            speed_quiet = base_quiet / quiet_s
            quiet = n_quiet and summary(runs, "sequential", True)[1]
            target = TARGETS.get(way)
            met = ""
            if target is not None:
                met = "yes" if quiet and speed_quiet >= target else "**no**"
            rows.append(
                [
                    f"{n_rows:,} x {epochs}",
                    labels[way],
                    f"{all_s:.3f}",
                    f"{base_all / all_s:.2f}x",
                    f"{quiet_s:.3f}" if quiet else "-",
                    f"{speed_quiet:.2f}x" if quiet else "-",
                    f">= {target}x" if target else "",
                    met,
                    f"{n_quiet}/{len(runs[way])}",
                    f"{statistics.median(others for _, others in runs[way]):.2f}",
                ]
            )
    all_runs = "; ".join(
        f"{n_rows:,} x {epochs}, {way}: "
        + ", ".join(f"{seconds:.3f} ({others:.2f})" for seconds, others in runs[way])
        for (n_rows, epochs), runs in m["workloads"].items()
        for way in WAYS
    )
    notes = [
        f"`{command}` on {machine().replace(', one BLAS thread', '')}; Numba threads "
        f"{numba.config.NUMBA_NUM_THREADS}, threading layer {numba.threading_layer()}. "
        f"{m['source']} rows x epochs x 8 networks (784-40-10 ReLU/softmax, "
        f"float32, per-sample SGD at learning rates {', '.join(map(str, RATES))} x seeds "
        f"{', '.join(map(str, SEEDS))}), the loop generated for the layout. "
        "The three ways run interleaved, repeated until each had "
        f"{args.repeats} quiet runs (at most {args.max_runs} runs); every run of every way "
        "gave the same weights, bit for bit.",
        "",
        "'others' is the CPU time the machine's other processes used during a run, in cores. "
        f"Quiet runs are those with others < {QUIET} core; the targets are judged on them. "
        f"Load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}.",
        "",
        f"All runs, seconds (others): {all_runs}.",
    ]
    bounds, costs = m["bounds"], m["costs"]
    extra = [
        "",
        "## What bounds the threads",
        "",
        "Medians of 3 quiet runs each (of all runs if fewer were quiet), on "
        f"{costs['rows']:,} rows x {args.workloads[0][1]} epochs.",
        "",
        "| measurement | seconds | speed-up of 2 threads | others (cores) |",
        "|---|---|---|---|",
    ]
    names = list(bounds)
    for one, two in zip(names[::2], names[1::2], strict=True):
        extra.append(f"| {one} | {bounds[one][0]:.3f} | 1.00x | {bounds[one][1]:.2f} |")
        extra.append(
            f"| {two} | {bounds[two][0]:.3f} | {bounds[one][0] / bounds[two][0]:.2f}x | "
            f"{bounds[two][1]:.2f} |"
        )
    tiny = costs["tiny"]
    extra += [
        "",
        "## Dask's costs",
        "",
        "| what | measured |",
        "|---|---|",
        f"| start a LocalCluster of 2 worker processes | {costs['cluster_start']:.2f} s |",
        f"| scatter {costs['rows']:,} rows ({costs['rows_mb']:.0f} MB float32) to both "
        f"workers, straight / through the scheduler | {costs['scatter_rows', True]:.3f} s / "
        f"{costs['scatter_rows', False]:.3f} s |",
        f"| scatter all of Fashion-MNIST's training rows ({costs['full_mb']:.0f} MB float32) "
        f"to both workers, straight / through the scheduler | "
        f"{costs['scatter_full', True]:.3f} s / {costs['scatter_full', False]:.3f} s |",
        f"| round trip of an empty task | {costs['round_trip'] * 1e3:.1f} ms |",
        f"| sweep of the 8 networks on 50 rows, Dask / threads (one task of 4 networks per "
        f"worker) | {tiny['dask'] * 1e3:.1f} ms / {tiny['threads'] * 1e3:.1f} ms |",
        f"| overhead per task: the difference (each worker runs one task) | "
        f"{(tiny['dask'] - tiny['threads']) * 1e3:.1f} ms |",
        "",
        f"Where a Dask sweep's time goes ({costs['rows']:,} rows x {args.workloads[0][1]} "
        f"epochs, {costs['phases']['tasks']:.0f} tasks of 4 networks; medians of 5 sweeps):",
        "",
        "| phase | ms |",
        "|---|---|",
    ]
    for phase, seconds in costs["phases"].items():
        if phase != "tasks":
            extra.append(f"| {phase} | {seconds * 1e3:.1f} |")
    path = Path(args.out)
    write_markdown(
        path, "Many models at once: fastnn.sweep on threads and on Dask", notes, header, rows
    )
    with path.open("a") as stream:
        stream.write("\n".join(extra) + "\n")
    print(path.read_text())


def workload(text):
    rows, _, epochs = text.partition("x")
    return int(rows), int(epochs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workloads",
        type=workload,
        nargs="+",
        default=[(20_000, 2), (60_000, 2), (20_000, 8)],
        metavar="ROWSxEPOCHS",
        help="the first decides the targets (default: 20000x2 60000x2 20000x8)",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="quiet runs wanted of each way (default: 5)"
    )
    parser.add_argument(
        "--max-runs", type=int, default=25, help="give up waiting for quiet runs after these"
    )
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 2 repeats")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "sweep.md"), help="Markdown file"
    )
    args = parser.parse_args()
    if args.quick:
        args.workloads, args.repeats, args.max_runs = [(2_000, 2)], 2, 2
        if args.out == parser.get_default("out"):
            args.out = str(Path(args.out).with_name("sweep_quick.md"))
    report(args, measure(args))


if __name__ == "__main__":
    main()
