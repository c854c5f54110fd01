"""Every script in examples/ runs to the end (small sizes) and writes its chart."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("[0-9]*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("script", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_runs(script, tmp_path):
    if "digits" in script.read_text() or "optimizer" in script.name:
        pytest.importorskip("sklearn")
    env = dict(
        os.environ,
        FASTNN_EXAMPLE_SMALL="1",
        MPLBACKEND="Agg",
        PYTHONPATH=str(script.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    for line in result.stdout.splitlines():
        if line.startswith("wrote "):
            png = tmp_path / line.split()[1]
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
