"""A first fit from nothing: fastnn with empty caches against JAX's jit + first epoch.

Every measurement runs in a fresh process. "Cold" processes get a new, empty
``FASTNN_KERNEL_CACHE`` and ``NUMBA_CACHE_DIR`` (everything fastnn runs compiles);
"filled" processes reuse the directories a cold one left (everything loads). Each
trains one epoch of Fashion-MNIST per sample (60,000 rows, one thread), the
network built and trained in the timed part, the data loaded and the imports
done before it (their times are reported apart). JAX's time is ``jax.jit`` of its
``lax.scan`` epoch (bench/peers/jax_peer.py) compiled and run once, in a fresh
process too (JAX keeps no compilation cache between processes by default).

Rows per layout:

- fastnn cold, as a user meets it (``specialise="auto"``: for one epoch, the
  generic loop on every layout here, since no generated loop pays for its
  compile in 60,000 samples);
- fastnn cold with ``specialise=True``: the loop generated for the layout, the
  smallest code that keeps fastnn's speed, and so the floor Numba's compiler
  sets for a first fit that is fast from its first sample;
- fastnn with the caches filled;
- JAX cold.

And two floors: Numba compiling an empty function in a fresh process, and
``fastnn demo`` from a fresh install (empty caches, the whole command).

    python bench/bench_cold_start.py              # writes bench/results/cold_start.md
    python bench/bench_cold_start.py --quick      # 6,000 rows, one repeat, no file
    python bench/bench_cold_start.py --calibrate  # the constants of specialise="auto"

``--calibrate`` measures, per layout, the generated loop's compile (CPU seconds,
generic kernels already compiled) and both loops' CPU time per sample, and prints
them beside the estimates :mod:`fastnn.codegen.policy` makes: the estimated
compile should be at least the measured one, the estimated saving at most the
measured one.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402  (one BLAS thread; this checkout's fastnn first on the path)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "results" / "cold_start.md"

# The table: (sizes, dtype, optimizer).
LAYOUTS = [
    ((784, 40, 10), "float32", "sgd"),
    ((784, 100, 10), "float64", "sgd"),
    ((784, 64, 32, 10), "float32", "adam"),
    ((784, 256, 128, 10), "float32", "sgd"),
    ((784, 256, 128, 10), "float64", "sgd"),
    ((784, 1024, 10), "float32", "sgd"),
]
CALIBRATION_LAYOUTS = [
    ((2, 10, 1), "float64", "sgd", 100_000),
    ((10, 20, 3), "float32", "sgd", 50_000),
    ((64, 64, 10), "float32", "sgd", 20_000),
    ((64, 64, 10), "float64", "adam", 10_000),
    ((784, 40, 10), "float32", "sgd", 10_000),
    ((784, 40, 10), "float32", "adam", 5_000),
    ((784, 100, 10), "float64", "sgd", 5_000),
    ((784, 64, 32, 10), "float32", "adam", 5_000),
    ((784, 256, 128, 10), "float32", "sgd", 3_000),
    ((784, 256, 128, 10), "float64", "sgd", 2_000),
    ((784, 1024, 10), "float32", "sgd", 2_000),
]
LR = {"sgd": 0.01, "adam": 1e-3}


# --------------------------------------------------------------------------- children


def child_fastnn(spec):
    """Load the rows, then time building and fitting the network (fastnn is imported)."""
    from numba.core import event

    import fastnn
    from fastnn import MLP, optimizers
    from fastnn.training.engine import sample_loop

    X, labels, source = _common.fashion_rows(spec["rows"], spec["dtype"])
    specialise = {"auto": "auto", "true": True}[spec["specialise"]]
    with event.install_recorder("numba:compile") as recorder:
        start = time.perf_counter()
        net = MLP(list(spec["sizes"]), dtype=spec["dtype"], seed=0, specialise=specialise)
        optimizer = optimizers.get(spec["optimizer"], lr=LR[spec["optimizer"]])
        net.fit(X, labels, optimizer=optimizer, epochs=1, batch_size=1)
        fit = time.perf_counter() - start
    loop = sample_loop(net._state, optimizer.code, optimizer.hyper_vector(net.dtype), len(X), 1)
    return {
        "fit": fit,
        "compiled": any(record.is_start for _, record in recorder.buffer),
        "loop": "generated" if loop.spec is not None else "generic",
        "version": fastnn.__version__,
        "source": source,
    }


def child_jax(spec):
    """Import JAX, stage the rows, then time jit-compiling the epoch and running it."""
    from peers.jax_peer import JaxTrainer, load_jax

    jax, _ = load_jax(threads=1, x64=spec["dtype"] == "float64")
    import numpy as np

    X, labels, _ = _common.fashion_rows(spec["rows"], spec["dtype"])
    from fastnn import MLP

    params = MLP(list(spec["sizes"]), dtype=spec["dtype"], seed=0).params
    targets = np.eye(spec["sizes"][-1], dtype=spec["dtype"])[np.asarray(labels, dtype=np.int64)]
    trainer = JaxTrainer(params, "softmax", spec["optimizer"], LR[spec["optimizer"]])
    staged = trainer.stage(X, targets)
    start = time.perf_counter()
    compile_seconds = trainer.compile(staged)
    trainer.run(staged)
    fit = time.perf_counter() - start
    return {"fit": fit, "compile": compile_seconds, "version": jax.__version__}


def child_numba_floor(_spec):
    """Numba's own floor: compile (and run) an empty loop, the first compile of a process."""
    import numba
    import numpy as np

    def total(values):
        result = 0.0
        for value in values:
            result += value
        return result

    start = time.perf_counter()
    numba.njit(total)(np.ones(4))
    return {"fit": time.perf_counter() - start}


def child_calibrate(spec):
    """One layout's generated-loop compile (CPU s) and both loops' CPU time per sample."""
    import numpy as np

    from fastnn import MLP, codegen, kernels, optimizers
    from fastnn.codegen import policy
    from fastnn.training.engine import group_for, member_for, sample_loop

    sizes, dtype, name, rows = spec["sizes"], spec["dtype"], spec["optimizer"], spec["rows"]
    output = "identity" if sizes[-1] == 1 else "softmax"
    if sizes[0] == 784:
        X, labels, _ = _common.fashion_rows(rows, dtype)
    else:
        rng = np.random.default_rng(0)
        X, labels = rng.random((rows, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], rows)
    T = X.sum(axis=1) if output == "identity" else labels
    net = MLP(list(sizes), dtype=dtype, seed=0, output=output)
    optimizer = optimizers.get(name, lr=LR[name])
    optimizer.bind(net.n_params, net.dtype)
    state = net._state
    group = group_for(
        state, optimizer, 1, state.architecture.inputs(X), state.architecture.targets(T, rows)
    )
    order = np.random.default_rng(0).permutation(rows)
    kernels.train_epoch_sample(group, member_for(state, optimizer, 1, order[:2]))  # compiled
    state.specialise = True
    start = time.process_time()
    loop = sample_loop(state, optimizer.code, optimizer.hyper_vector(net.dtype), rows)
    loop.train_epoch(group, member_for(state, optimizer, 1, order[:2]))
    compile_cpu = time.process_time() - start
    theta = state.theta.copy()
    per_sample = {"generic": [], "generated": []}
    for _ in range(5):
        for kind, kernel in (
            ("generic", kernels.train_epoch_sample),
            ("generated", loop.train_epoch),
        ):
            state.theta[...] = theta
            optimizer.reset()
            optimizer.bind(net.n_params, net.dtype)
            member = member_for(state, optimizer, 1, order)
            start = time.thread_time()
            kernel(group, member)
            per_sample[kind].append((time.thread_time() - start) / rows)
    spec_ = loop.spec
    return {
        "lines": codegen.loop_source(
            net.sizes, net.layout, net.loss_code, net.dtype, optimizer.code,
            optimizer.hyper_vector(net.dtype),
        ).count("\n"),
        "compile": compile_cpu,
        "compile_estimate": policy.compile_seconds_estimate(spec_),
        "generic": statistics.median(per_sample["generic"]),
        "generated": statistics.median(per_sample["generated"]),
        "saved_estimate": policy.saved_seconds_per_sample(spec_),
        "break_even": policy.break_even_samples(spec_),
    }  # fmt: skip


CHILDREN = {
    "fastnn": child_fastnn,
    "jax": child_jax,
    "numba": child_numba_floor,
    "calibrate": child_calibrate,
}


# --------------------------------------------------------------------------- parent


def run_child(kind, spec, env):
    """Run this script as ``--child kind`` in a fresh process; return its JSON result."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"{kind} child failed: {last}")
    return json.loads(result.stdout.strip().splitlines()[-1])


IMPORTS = {
    "`import fastnn`": "import fastnn",
    "`import jax` and its CPU client": "import jax; jax.devices()",
}


def import_seconds(statement, env):
    """Wall seconds of ``statement`` (an import) in a fresh interpreter."""
    code = f"import time; s = time.perf_counter(); {statement}; print(time.perf_counter() - s)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if result.returncode != 0:
        return None
    return float(result.stdout.strip().splitlines()[-1])


def fresh_env(directory):
    """An environment whose caches are empty directories under ``directory``."""
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(Path(directory) / "numba")
    env["FASTNN_KERNEL_CACHE"] = str(Path(directory) / "kernels")
    for variable in _common.THREAD_VARIABLES:
        env[variable] = "1"
    return env


def time_demo(directory):
    """Wall seconds of ``fastnn demo`` in a fresh process with the caches in ``directory``."""
    env = fresh_env(directory)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "fastnn", "demo", "--out", str(Path(directory) / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"fastnn demo failed: {result.stderr.strip()[-500:]}")
    return seconds


def load():
    """The machine's load averages, from /proc/loadavg (or os.getloadavg)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure_layout(sizes, dtype, optimizer, rows, repeats, with_jax):
    """Medians over ``repeats`` of each row of the table for one layout."""
    spec = {"sizes": list(sizes), "dtype": dtype, "optimizer": optimizer, "rows": rows}
    runs = {"cold": [], "generated": [], "filled": [], "jax": []}
    details = {}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="fastnn-cold-") as directory:
            env = fresh_env(directory)
            cold = run_child("fastnn", {**spec, "specialise": "auto"}, env)
            filled = run_child("fastnn", {**spec, "specialise": "auto"}, env)
            runs["cold"].append(cold["fit"])
            runs["filled"].append(filled["fit"])
            details.update(loop=cold["loop"], source=cold["source"])
            details["version"] = cold["version"]
        with tempfile.TemporaryDirectory(prefix="fastnn-cold-") as directory:
            generated = run_child("fastnn", {**spec, "specialise": "true"}, fresh_env(directory))
            runs["generated"].append(generated["fit"])
        if with_jax:
            jax = run_child("jax", spec, fresh_env(tempfile.gettempdir()))
            runs["jax"].append(jax["fit"])
            details.update(jax_version=jax["version"])
    medians = {key: statistics.median(values) for key, values in runs.items() if values}
    return medians, details


def table(results, floors, rows, repeats, loads, versions, demo):
    """The Markdown report."""
    lines = [
        "# A first fit from nothing: fastnn against JAX",
        "",
        "`python bench/bench_cold_start.py` (this file is what it writes). Each figure is the",
        f"median of {repeats} fresh process(es): one epoch of {rows:,} rows per sample,",
        "one thread, the network built and trained in the timed part, imports and data loading",
        "before it. *Cold*: empty `FASTNN_KERNEL_CACHE` and `NUMBA_CACHE_DIR`; *filled*: the",
        "directories a cold run left. JAX: `jax.jit` of its `lax.scan` epoch, compiled and run",
        "once in a fresh process (bench/peers/jax_peer.py).",
        "",
        f"Machine load (1, 5, 15 min) before and after: {loads[0]}; {loads[1]} (2 cores, shared).",
        f"Versions: {versions}.",
        "",
        "| network | auto takes | fastnn cold | fastnn cold, generated loop | fastnn filled "
        "| JAX cold | cold / JAX | generated / JAX | filled / JAX |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (sizes, dtype, optimizer), (medians, details) in results.items():
        label = optimizer.upper() if optimizer == "sgd" else optimizer.title()
        name = f"{'-'.join(map(str, sizes))} {dtype} {label}"
        jax = medians.get("jax")

        def ratio(key, jax=jax, medians=medians):
            return f"{medians[key] / jax:.2f}×" if jax else "–"

        lines.append(
            f"| {name} | {details['loop']} loop | {medians['cold']:.2f} s "
            f"| {medians['generated']:.2f} s | {medians['filled']:.2f} s "
            f"| {jax:.2f} s | {ratio('cold')} | {ratio('generated')} | {ratio('filled')} |"
            if jax
            else f"| {name} | {details['loop']} loop | {medians['cold']:.2f} s "
            f"| {medians['generated']:.2f} s | {medians['filled']:.2f} s | – | – | – | – |"
        )
    lines += [
        "",
        "Floors, each in a fresh process (median):",
        "",
        "| what | seconds |",
        "|---|---|",
    ]
    for what, seconds in floors.items():
        lines.append(f"| {what} | {seconds:.2f} |")
    if demo is not None:
        lines += [
            "",
            f"`fastnn demo` from a fresh install (empty caches, the whole command, wall time): "
            f"{demo[0]:.1f} s; again with the caches it filled: {demo[1]:.1f} s.",
        ]
    lines.append("")
    return "\n".join(lines)


def calibrate(layouts):
    """Print measured and estimated compile and saving per layout (see the module docstring)."""
    print(
        f"{'layout':26} {'lines':>5} {'compile':>8} {'est.':>6} {'generic':>9} "
        f"{'generated':>9} {'saved':>8} {'est.':>8} {'break-even':>11}"
    )
    for sizes, dtype, optimizer, rows in layouts:
        spec = {"sizes": list(sizes), "dtype": dtype, "optimizer": optimizer, "rows": rows}
        with tempfile.TemporaryDirectory(prefix="fastnn-calibrate-") as directory:
            env = fresh_env(directory)
            env["NUMBA_CACHE_DIR"] = os.environ.get("NUMBA_CACHE_DIR", env["NUMBA_CACHE_DIR"])
            found = run_child("calibrate", spec, env)
        name = f"{'-'.join(map(str, sizes))} {dtype} {optimizer}"
        saved = found["generic"] - found["generated"]
        print(
            f"{name:26} {found['lines']:5d} {found['compile']:7.2f}s "
            f"{found['compile_estimate']:5.2f}s "
            f"{found['generic'] * 1e6:7.3f}us {found['generated'] * 1e6:7.3f}us "
            f"{saved * 1e9:6.0f}ns {found['saved_estimate'] * 1e9:6.0f}ns "
            f"{found['break_even']:11,d}",
            flush=True,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="6,000 rows, one repeat, no file")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per figure")
    parser.add_argument("--skip-jax", action="store_true", help="no JAX rows")
    parser.add_argument("--skip-demo", action="store_true", help="no fastnn demo row")
    parser.add_argument("--calibrate", action="store_true", help="measure auto's constants")
    parser.add_argument("--out", default=None, help=f"Markdown file (default: {OUT})")
    args = parser.parse_args(argv)
    if args.child:
        kind, spec = args.child
        print(json.dumps(CHILDREN[kind](json.loads(spec))))
        return 0
    if args.calibrate:
        calibrate(CALIBRATION_LAYOUTS)
        return 0
    rows = 6_000 if args.quick else 60_000
    repeats = 1 if args.quick else args.repeats
    before = load()
    results = {}
    for sizes, dtype, optimizer in LAYOUTS:
        results[sizes, dtype, optimizer] = measure_layout(
            sizes, dtype, optimizer, rows, repeats, not args.skip_jax
        )
        medians, details = results[sizes, dtype, optimizer]
        print(sizes, dtype, optimizer, {key: round(value, 2) for key, value in medians.items()},
              details["loop"], flush=True)  # fmt: skip
    floors = {}
    numba_runs = []
    imports = {what: [] for what in IMPORTS}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="fastnn-cold-") as directory:
            env = fresh_env(directory)
            numba_runs.append(run_child("numba", {}, env)["fit"])
            for what, statement in IMPORTS.items():
                seconds = import_seconds(statement, env)
                if seconds is not None and (args.skip_jax is False or "jax" not in statement):
                    imports[what].append(seconds)
    floors["Numba: compile an empty loop (the first compile of a process)"] = statistics.median(
        numba_runs
    )
    for what, runs in imports.items():
        if runs:
            floors[what] = statistics.median(runs)
    demo = None
    if not args.skip_demo:
        with tempfile.TemporaryDirectory(prefix="fastnn-demo-") as directory:
            demo = (time_demo(directory), time_demo(directory))
    after = load()
    first = next(iter(results.values()))[1]
    versions = f"fastnn {first['version']}"
    if "jax_version" in first:
        versions += f", JAX {first['jax_version']}"
    import numba

    versions += f", Numba {numba.__version__}; data: {first['source']}"
    report = table(results, floors, rows, repeats, (before, after), versions, demo)
    print(report)
    if not args.quick:
        out = Path(args.out) if args.out else OUT
        out.write_text(report)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
