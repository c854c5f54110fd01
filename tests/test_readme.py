"""Every ```python block of README.md runs as written.

Each block runs in a fresh interpreter, in an empty temporary folder (what it writes
lands there), with this checkout's fastnn on the path. The block is written to a file
padded with blank lines, so that a traceback's line numbers are README.md's.

A block that needs a module of an optional extra (onnx, dask, ...) that is not
installed is skipped. Blocks run unchanged, with one exception for time: a block that loads MNIST or
Fashion-MNIST gets the first ``TRAIN_ROWS`` training and ``TEST_ROWS`` test rows
(``SHRINK_IMAGE_DATA`` wraps the loaders before the block runs), and is skipped when
the data are not on this machine.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

TRAIN_ROWS = 3_000
TEST_ROWS = 1_000
IMAGE_LOADERS = ("load_mnist", "load_fashion_mnist")
SHRINK_IMAGE_DATA = f"""
from fastnn import datasets as _datasets


def _first_rows(load):
    def load_first_rows(*args, **kwargs):
        (x, t), (x_test, t_test) = load(*args, **kwargs)
        return (x[:{TRAIN_ROWS}], t[:{TRAIN_ROWS}]), (x_test[:{TEST_ROWS}], t_test[:{TEST_ROWS}])

    return load_first_rows


for _name in {IMAGE_LOADERS!r}:
    setattr(_datasets, _name, _first_rows(getattr(_datasets, _name)))
"""
# Run before the block: the shrinking above where needed, then the block's own file.
RUNNER = """
import runpy, sys
exec(sys.argv[2])
runpy.run_path(sys.argv[1], run_name="__main__")
"""
# Files a block names as a string ending in one of these must exist after it ran.
WRITTEN = re.compile(r"""["']([\w./-]+\.(?:png|csv|npz|md))["']""")


def python_blocks(text):
    """Return ``(first line number, code)`` of every ```python block in ``text``."""
    blocks = []
    lines = text.splitlines(keepends=True)
    start = None
    for number, line in enumerate(lines, start=1):
        if start is None and line.strip() == "```python":
            start = number + 1
        elif start is not None and line.strip() == "```":
            blocks.append((start, "".join(lines[start - 1 : number - 1])))
            start = None
    assert start is None, f"README.md: the ```python block opened at line {start - 1} never ends"
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 3


def test_python_blocks_finds_every_block_and_its_line():
    text = "intro\n```python\na = 1\n```\n```bash\nls\n```\n```python\nb = 2\nc = 3\n```\n"
    assert python_blocks(text) == [(3, "a = 1\n"), (9, "b = 2\nc = 3\n")]


# Modules of fastnn's optional extras (and the peers): a block that needs one that is
# not installed is skipped, as the tests of those extras are. Any other missing module
# fails the block. `to_onnx(` needs onnx without the block importing it.
OPTIONAL_MODULES = (
    "onnx",
    "onnxruntime",
    "dask",
    "distributed",
    "torch",
    "jax",
    "optax",
    "sklearn",
)
IMPORTED = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.MULTILINE)


def missing_optional_modules(code):
    """The optional modules ``code`` needs that this environment cannot import."""
    import importlib.util

    needed = set(IMPORTED.findall(code))
    if "to_onnx(" in code:
        needed.add("onnx")
    return sorted(
        name for name in needed & set(OPTIONAL_MODULES) if importlib.util.find_spec(name) is None
    )


def test_missing_optional_modules_reads_imports_and_to_onnx(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    code = "import numpy as np\nimport onnxruntime\nfrom dask import array\nnet.to_onnx('m')\n"
    assert missing_optional_modules(code) == ["dask", "onnx", "onnxruntime"]
    assert missing_optional_modules("import numpy\nfrom fastnn import MLP\n") == []


def _installed(loader):
    from fastnn import datasets

    try:
        getattr(datasets, loader)()
    except FileNotFoundError:
        return False
    return True


@pytest.mark.parametrize(
    "first_line, code", BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS]
)
def test_readme_block_runs_as_written(first_line, code, tmp_path):
    missing = missing_optional_modules(code)
    if missing:
        pytest.skip(f"the block needs {', '.join(missing)} (an optional extra), not installed")
    preamble = ""
    for loader in IMAGE_LOADERS:
        if re.search(rf"\b{loader}\(", code):
            if not _installed(loader):
                pytest.skip(f"the block calls {loader}, and its data are not on this machine")
            preamble = SHRINK_IMAGE_DATA
    script = tmp_path / "readme_block.py"
    script.write_text("\n" * (first_line - 1) + code, encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(script), preamble],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"the block at README.md line {first_line} failed:\n{result.stderr}"
    )
    for name in WRITTEN.findall(code):
        assert (tmp_path / name).is_file(), f"README.md line {first_line}: {name} not written"
