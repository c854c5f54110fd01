"""``fastnn bench``: the self-benchmark that needs only fastnn (fastnn.selfbench).

End to end on tiny sizes (files, tables, the hint to the peer comparison), and the
fresh-process timing of a first fit, whose arguments must never become code.
No timing assertions.
"""

import json
import os
import subprocess
import sys

import pytest

from fastnn import selfbench

THROUGHPUT = "| benchmark | dtype | fastnn samples/s | NumPy ref samples/s | fastnn/NumPy |"


def crafted_dtype(marker):
    """A dtype string that, pasted into Python source, writes ``marker`` and still reads as
    "float32" both where the old program pasted it (``.astype("...")``, ``dtype="..."``)."""
    return f'float32" if not open({str(marker)!r}, "w").write("ran") else "float32'


def test_a_crafted_dtype_never_runs_as_code(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        selfbench.first_fit_seconds((3, 4, 2), dtype=crafted_dtype(marker))
    assert not marker.exists()


def test_the_fresh_process_checks_what_it_is_given(tmp_path):
    # Straight to the child's fixed program, past first_fit_seconds's own checks: the
    # description is data, checked there too, and nothing in it is executed.
    marker = tmp_path / "ran"
    spec = {"sizes": [3, 4, 2], "dtype": crafted_dtype(marker), "batch_size": 1}
    spec["specialise"] = "auto"
    result = subprocess.run(
        [sys.executable, "-c", selfbench.FIRST_FIT_PROGRAM, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "dtype must be 'float32' or 'float64'" in result.stderr
    assert not marker.exists()


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"sizes": "3,4,2"}, TypeError, "sizes must be a sequence"),
        ({"sizes": [3]}, TypeError, "sizes must be a sequence"),
        ({"sizes": [3, "4); import os; (2", 2]}, TypeError, r"sizes\[1\] must be an integer"),
        ({"sizes": [3, 0, 2]}, ValueError, r"sizes\[1\] must be >= 1"),
        ({"batch_size": "1"}, TypeError, "batch_size must be an integer"),
        ({"specialise": "True"}, ValueError, "specialise must be 'auto', True or False"),
        ({"threads": 0}, ValueError, "threads must be >= 1"),
        ({"warm_runs": 1.5}, TypeError, "warm_runs must be an integer"),
    ],
)
def test_first_fit_arguments_are_checked_before_any_process_starts(
    arguments, error, message, monkeypatch
):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("a process started"))
    given = {"sizes": (3, 4, 2), **arguments}
    with pytest.raises(error, match=message):
        selfbench.first_fit_seconds(**given)


def test_time_first_fit_refuses_what_is_not_a_description():
    for spec in ("not json", "[3, 4, 2]", json.dumps({"sizes": [3, 2]})):
        with pytest.raises(ValueError, match="spec must be"):
            selfbench.time_first_fit(spec)


# Run first in the child interpreter: importing a peer (or scikit-learn) fails there, as
# in an environment that has only fastnn and its dependencies.
HIDE_PEERS = """
import sys

class HidePeers:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "jax", "jaxlib", "optax", "sklearn"):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")
        return None

sys.meta_path.insert(0, HidePeers())
"""


def test_bench_quick_measures_fastnn_against_its_reference_with_fastnn_alone(tmp_path):
    out = tmp_path / "bench"
    code = (
        f"from fastnn.cli import main\nsys.exit(main(['bench', '--quick', '--out', {str(out)!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", HIDE_PEERS + code],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout
    text = (out / "results.md").read_text()
    assert text in printed  # the tables are printed too
    assert not list(out.glob("*.tmp"))
    for section in ("## Per-sample training (batch 1)", "## Mini-batch training"):
        assert section in text
    assert text.count(THROUGHPUT) == 2
    lines = [line for line in text.splitlines() if line.startswith("| ") and "x |" in line]
    names = [line.split(" | ")[0].removeprefix("| ") for line in lines]
    assert names[:4] == [
        "2-10-1 MSE, SGD lr 0.07, per-sample",
        "2-10-1 MSE, Adam lr 0.001, per-sample",
        "784-40-10 softmax-CE, SGD lr 0.01, per-sample",
        "784-40-10 softmax-CE, Adam lr 0.001, per-sample",
    ]
    assert [name.rsplit(", ", 1)[1] for name in names[4:]] == ["batch 10", "batch 100"] * 2
    for line in lines:  # both systems measured, and their ratio
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[2] != "-" and cells[3] != "-" and cells[4].endswith("x")
    compile_rows = text.split("## Compile time", 1)[1].split("## Peers", 1)[0]
    assert "| batch 1 | cold |" in compile_rows and "| batch 1 | warm |" in compile_rows
    # The peer comparison is not in the package: the output says where it is.
    assert "python bench/bench_peers.py" in printed and "## Peers" in text
