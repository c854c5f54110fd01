"""``fastnn bench``: fastnn against its own NumPy reference, and compile times.

The self-benchmark needs nothing but fastnn (:mod:`fastnn.selfbench` measures); it
prints its tables and writes them to ``results.md`` in ``--out``. The comparison with
PyTorch, JAX, scikit-learn and hand-written C runs from a clone of the repository
(:data:`PEERS_HINT`).
"""

import argparse
from pathlib import Path
from typing import Any

from fastnn.cli.arguments import DTYPES, positive_int_argument
from fastnn.cli.common import CommandError
from fastnn.cli.paths import prepare_output_dir

PEERS_HINT = (
    "PyTorch, JAX, scikit-learn and hand-written C are compared in the repository's "
    'bench/ folder: from a clone, pip install -e ".[bench]", then python '
    "bench/bench_peers.py (or python bench/bench_suite.py)"
)
RESULTS = "results.md"


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``bench`` and its options to the ``fastnn`` command's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "bench",
        help="measure fastnn against its NumPy reference, and its compile times",
        description=" ".join((run.__doc__ or "").split()),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and few rows: a smoke test of well under a minute",
    )
    parser.add_argument("--dtype", choices=DTYPES, default="float32", help="default: float32")
    parser.add_argument(
        "--threads",
        type=positive_int_argument,
        default=1,
        help="BLAS threads of each system; default: 1",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results"),
        help=f"folder for {RESULTS}; default: bench-results",
    )
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Measure fastnn's training speed against its own NumPy reference
    (MLP(backend="numpy")), per sample and in mini-batches, and the compile time of a
    first fit in a fresh process (empty, then filled kernel caches); print the tables
    and write them to results.md."""
    from fastnn import selfbench

    out = prepare_output_dir("--out", args.out)
    report = selfbench.run(
        selfbench.QUICK if args.quick else selfbench.FULL,
        args.dtype,
        args.threads,
        log=lambda line: print(line, flush=True),
    )
    text = markdown(report, _command(args))
    try:
        from fastnn.io.atomic import atomic_write

        with atomic_write(out / RESULTS) as stream:
            stream.write(text.encode())
    except OSError as error:
        raise CommandError(
            f"--out {str(args.out)!r}: could not write {RESULTS} ({error})"
        ) from None
    print()
    print(text, end="")
    print(f"wrote {out / RESULTS}")  # the last section says how to compare with the peers
    return 0


def _command(args: argparse.Namespace) -> str:
    parts = ["fastnn bench", *(["--quick"] if args.quick else [])]
    parts += ["--dtype", args.dtype, "--threads", str(args.threads), "--out", str(args.out)]
    return " ".join(parts)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}x"
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


THROUGHPUT_HEADER = [
    "benchmark",
    "dtype",
    "fastnn samples/s",
    "NumPy ref samples/s",
    "fastnn/NumPy",
    "rows timed (fastnn/NumPy)",
]


def _throughput(results: list[Any]) -> list[str]:
    rows = [
        [
            result.case.label,
            result.case.dtype,
            _rate(result.rates.get("fastnn")),
            _rate(result.rates.get("numpy")),
            _ratio(result.ratio("numpy")),
            f"{result.rows.get('fastnn', '-')}/{result.rows.get('numpy', '-')}",
        ]
        for result in results
    ]
    return _table(THROUGHPUT_HEADER, rows)


def markdown(report: Any, command: str) -> str:
    """Return ``results.md``: the set-up, the throughput tables, the compile times."""
    from fastnn import selfbench

    settings = report.settings
    lines = [
        "# fastnn bench: fastnn against its NumPy reference",
        "",
        f"- Machine: {report.machine}.",
        f"- Threads: {report.threads} per system, set by {report.threads_how}.",
        f"- Command: `{command}`",
        f"- Data: {report.data_source}; the per-sample regression is the course's y = 3x0 + 2x1.",
        "- Method: fastnn (`MLP`, the Numba kernels) and its NumPy reference "
        '(`MLP(backend="numpy")`, the textbook loop) train the same network from the same '
        "initial weights (`seed=0`), with the same loss, optimizer, learning rate and rows "
        "in the same order (`fit(epochs=1, shuffle=False)` per pass, input checks included). "
        f"One untimed warm-up pass, then the median of {settings.repeats} timed passes, each "
        f"sized to take about {settings.epoch_seconds:g} s, so the reference times fewer "
        "rows (last column). Compile time is measured apart, in fresh processes.",
        "- Rates are training samples per second; the ratio is fastnn's over the reference's.",
    ]
    if settings == selfbench.QUICK:
        lines.append(
            "- `--quick`: tiny sizes and a few hundred rows; a smoke test, not a measurement."
        )
    lines += ["", "## Per-sample training (batch 1)", "", *_throughput(report.per_sample)]
    lines += ["", "## Mini-batch training", "", *_throughput(report.batched)]
    lines += [
        "",
        "## Compile time",
        "",
        f"`import fastnn` plus a first `fit` of a 784-40-10 {report.dtype} network on 64 "
        "random rows, each in a fresh Python process: *cold* with empty Numba and "
        "generated-kernel cache directories (every kernel compiles), *warm* with the caches "
        f"that run left (compiled code loads from disk; median of {settings.warm_runs} "
        "processes). The generated-loop row forces `MLP(specialise=True)`, which large "
        "per-sample fits use by default: its loop is generated and compiled for the layout.",
        "",
    ]
    compile_rows = [
        [kind, when, f"{times[when][0]:.2f}", f"{times[when][1]:.2f}", f"{sum(times[when]):.2f}"]
        for kind, times in report.compile_times.items()
        for when in ("cold", "warm")
    ]
    lines += _table(
        ["fit", "cache", "import fastnn (s)", "first fit (s)", "total (s)"], compile_rows
    )
    lines += ["", "## Peers", "", PEERS_HINT + "."]
    return "\n".join(lines) + "\n"
