"""The benchmark suite (bench/bench_suite.py) end to end on tiny sizes: files, tables,
exit code; and every bench/ script still starts.

No timing assertions: only that the run completes and writes what it promises.
"""

import builtins
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
try:
    import bench_suite as benchmark
finally:
    sys.path.remove(str(BENCH))

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEADER = (
    "| benchmark | dtype | fastnn samples/s | NumPy ref | PyTorch | scikit-learn | JAX "
    "| fastnn/NumPy | fastnn/PyTorch | fastnn/sklearn | fastnn/JAX | rows timed"
)
SECTIONS = (
    "## Per-sample training (batch 1)",
    "## Mini-batch training",
    "## Scaling with hidden width",
    "## Scaling with depth",
    "## Compile time",
    "## Time to accuracy on Fashion-MNIST",
    "## Targets",
)


def section_table(text, heading):
    """The rows (lists of cells) of the first table after ``heading``, header included."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return [rows[0], *rows[2:]]  # without the |---| line


def check_outputs(out, capsys):
    text = (out / "results.md").read_text()
    printed = capsys.readouterr().out
    assert HEADER in printed and "## Targets" in printed  # the tables are printed too
    for section in SECTIONS:
        assert section in text
    assert text.count(HEADER) == 4  # per-sample, mini-batch, width, depth
    assert "Skipped in `--quick` mode." in text
    assert "| target | measured | met |" in text
    for name in benchmark.PNG_NAMES:
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    assert not list(out.glob("*.tmp"))
    per_sample = section_table(text, "## Per-sample training (batch 1)")
    assert per_sample[0] == benchmark.HEADER
    names = [row[0] for row in per_sample[1:]]
    assert names == [
        "2-10-1 MSE, SGD lr 0.07, per-sample",
        "2-10-1 MSE, Adam lr 0.001, per-sample",
        "784-40-10 softmax-CE, SGD lr 0.01, per-sample",
        "784-40-10 softmax-CE, Adam lr 0.001, per-sample",
    ]
    batched = section_table(text, "## Mini-batch training")
    assert [row[0].rsplit(", ", 1)[1] for row in batched[1:]] == ["batch 10", "batch 100"] * 2
    width = section_table(text, "## Scaling with hidden width")
    assert len(width) == 1 + 2 * len(benchmark.QUICK.widths)  # per-sample and batch 100
    depth = section_table(text, "## Scaling with depth")
    assert len(depth) == 1 + 2 * len(benchmark.QUICK.depths)
    compile_time = section_table(text, "## Compile time")
    assert [row[:2] for row in compile_time[1:]] == [["batch 1", "cold"], ["batch 1", "warm"]]
    for table in (per_sample, batched, width, depth):
        assert all(len(row) == len(benchmark.HEADER) for row in table)
    per_sample = per_sample[1:]
    return text, per_sample


def test_quick_without_peers(tmp_path, capsys):
    out = tmp_path / "bench"
    code = benchmark.main(["--quick", "--skip-peers", "--out", str(out)])
    assert code == 0
    text, per_sample = check_outputs(out, capsys)
    assert "skipped (--skip-peers)" in text
    for row in per_sample:
        assert row[2] != "-" and row[3] != "-"  # fastnn and the NumPy reference ran
        assert row[4] == row[5] == row[6] == "-"  # PyTorch, scikit-learn and JAX did not
        assert row[7].endswith("x") and row[8] == row[9] == row[10] == "-"


def test_quick_with_peers(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    pytest.importorskip("jax")
    out = tmp_path / "bench"
    code = benchmark.main(["--quick", "--out", str(out), "--dtype", "float64"])
    assert code == 0
    text, per_sample = check_outputs(out, capsys)
    assert "torch.set_num_threads(1)" in text
    assert "fit(batch_size=1)" in text
    assert "; JAX: " in text  # how JAX's threads were limited
    for row in per_sample:
        assert row[1] == "float64"
        assert all(cell != "-" for cell in row)
        assert all(cell.endswith("x") for cell in row[7:11])
    targets = section_table(text, "## Targets")
    jax_targets = [row for row in targets[1:] if row[0].endswith("x JAX")]
    assert len(jax_targets) == 4  # issue 8's four cases (float32 only: not measured here)
    assert all(row[1] == "not measured" for row in jax_targets)


def test_jax_column_says_why_when_jax_is_missing(tmp_path, capsys, monkeypatch):
    # As without the bench extra: importing JAX fails. The JAX column stays empty,
    # the set-up line says why, and the run completes.
    real_import = builtins.__import__

    def import_without_jax(name, *args, **kwargs):
        if name.split(".")[0] == "jax" or name == "peers.jax_peer":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    real_find_peers = benchmark.find_peers

    def find_only_jax(skip, threads=1):
        # PyTorch and scikit-learn are left out only to keep the test short.
        found, missing, how = real_find_peers(skip, threads)
        found = {name: version for name, version in found.items() if name == "jax"}
        missing.update(torch="left out (test)", sklearn="left out (test)")
        return found, missing, how

    monkeypatch.setattr(builtins, "__import__", import_without_jax)
    monkeypatch.setattr(benchmark, "find_peers", find_only_jax)
    out = tmp_path / "bench"
    assert benchmark.main(["--quick", "--out", str(out)]) == 0
    text, per_sample = check_outputs(out, capsys)
    assert 'JAX not installed (pip install -e ".[bench]")' in text
    for row in per_sample:
        assert row[6] == row[10] == "-"  # JAX and fastnn/JAX


def test_bad_arguments_exit_with_usage_errors(capsys):
    for argv in (["--threads", "0"], ["--dtype", "float16"], ["--no-such-option"]):
        with pytest.raises(SystemExit) as exit_:
            benchmark.main(argv)
        assert exit_.value.code == 2
    assert "--threads" in capsys.readouterr().err


def test_parser_has_the_documented_options():
    args = benchmark.build_parser().parse_args([])
    assert (args.quick, args.dtype, args.threads, args.skip_peers) == (
        False,
        "float32",
        1,
        False,
    )
    assert args.out == BENCH / "results" / "suite"


@pytest.mark.parametrize("script", sorted(path.name for path in BENCH.glob("bench_*.py")))
def test_every_bench_script_starts(script):
    # Each script imports what it needs (bench/_common.py, bench/peers/, fastnn's public
    # API) and answers --help, from any working directory.
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCH.parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
