"""Install the lowest versions pyproject.toml allows in a fresh venv, and run the tests.

Every runtime and test dependency in pyproject.toml declares a floor (``NAME>=X``);
this script pins each one at exactly ``X`` (``NAME==X``), lets pip choose the rest,
installs ``.[test]`` into a new virtual environment made with the lowest Python the
project supports (3.10) when this machine has it, and runs pytest there. A floor
that no longer works fails here instead of on a user's machine.

    python .ci/floors.py          # what CI runs (without CI_SKIPS)
    python .ci/floors.py --all    # also CI_SKIPS
    python .ci/floors.py -- -k digits   # anything after -- goes to pytest

The venv is .venv-floors/ (made anew each run). Numba's caches go there too, so the
checkout's kernels/__pycache__ keeps the main environment's compiled kernels.
Needs Python 3.11+ to run (tomllib); the venv's Python may be older.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-floors"

# Left out of the CI run to keep CI's total time down: they exercise the same
# library code as the rest, through slow paths (a benchmark run, the example
# scripts, the README's blocks), or need peers that CI does not install in this
# venv (PyTorch, JAX). `--all` runs them too.
CI_SKIPS = [
    "tests/test_benchmark.py",
    "tests/test_docs.py",
    "tests/test_examples.py",
    "tests/test_house_rules.py",
    "tests/test_packaging.py",  # builds a wheel and a venv of its own
    "tests/test_peers.py",
    # Hypothesis over the whole API: compiles many kernel variants, version-independent
    # (the main run has them; the floors run keeps the plain tests of the same code).
    "tests/test_properties.py",
    "tests/test_properties_training.py",
    "tests/test_readme.py",
    "tests/test_selfbench.py",
    "tests/test_sklearn_mlp_suite.py",  # scikit-learn's own file, at its own version
    "tests/test_sweep_robust.py",
]
# Never run here: the type hints are checked against the current stubs of NumPy and
# matplotlib (NumPy 1.24's stubs differ, matplotlib ships none before 3.8), which is
# what users' type checkers see; the main run checks them.
ALWAYS_SKIPS = ["tests/test_typing.py"]

FLOOR = re.compile(r"([A-Za-z0-9_.-]+)(\[[^\]]+\])?\s*>=\s*([0-9][0-9A-Za-z.]*)")


def floors(pyproject):
    """Return ``{name: version}``: the floor of every runtime and test dependency."""
    project = pyproject["project"]
    pinned = {}
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        match = FLOOR.fullmatch(requirement.strip())
        if match is None:
            sys.exit(f"floors: {requirement!r} in pyproject.toml has no single floor (NAME>=X)")
        pinned[match[1]] = match[3]
    return pinned


def lowest_python(requires_python):
    """A Python of the lowest version ``requires_python`` allows, else this one."""
    match = re.fullmatch(r">=\s*(\d+)\.(\d+)", requires_python.strip())
    if match is None:
        sys.exit(f"floors: cannot read requires-python {requires_python!r}")
    wanted = (int(match[1]), int(match[2]))
    name = f"python{wanted[0]}.{wanted[1]}"
    candidates = [shutil.which(name)]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{wanted[0]}.{wanted[1]}*/bin/{name}"))
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and tuple(map(int, probe.stdout.split())) == wanted:
            return candidate
    print(
        f"floors: no {name} on this machine; using {sys.executable} "
        f"(Python {sys.version_info[0]}.{sys.version_info[1]})",
        flush=True,
    )
    return sys.executable


def _normal(name):
    """A distribution name as pip compares them: "Scikit_Learn" is "scikit-learn"."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _release(version):
    """``"3.1.0"`` and ``"3.1"`` as the same tuple, ``(3, 1)``."""
    parts = [int(part) if part.isdigit() else part for part in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="run the whole test suite")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pinned = floors(pyproject)
    python = lowest_python(pyproject["project"]["requires-python"])

    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    venv_python = str(VENV / "bin" / "python")
    constraints = VENV / "floors.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in pinned.items()))
    print("floors: " + ", ".join(f"{name}=={version}" for name, version in pinned.items()))
    quiet = ["--quiet", "--disable-pip-version-check"]
    subprocess.run([venv_python, "-m", "pip", "install", *quiet, "--upgrade", "pip"], check=True)
    subprocess.run(
        [venv_python, "-m", "pip", "install", *quiet, "-c", str(constraints), f"{ROOT}[test]"],
        check=True,
    )
    # The install must hold the floors themselves, not something pip chose instead.
    listed = subprocess.run(
        [venv_python, "-m", "pip", "list", "--format=freeze"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    installed = {_normal(line.split("==")[0]): line.split("==")[1] for line in listed}
    for name, version in pinned.items():
        got = installed.get(_normal(name))
        if got is None or _release(got) != _release(version):
            sys.exit(f"floors: {name} is {got}, not its floor {version}")
    probe = "import sys, numpy, numba, scipy, matplotlib; print(sys.version.split()[0], end=' ')"
    subprocess.run([venv_python, "-c", probe + "; print(numpy.__version__, numba.__version__)"])

    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(VENV / "numba-cache"),
        FASTNN_KERNEL_CACHE=str(VENV / "fastnn-kernels"),
    )
    command = [venv_python, "-m", "pytest", "-q", "-n", "auto", "-p", "no:cacheprovider"]
    skipped = ALWAYS_SKIPS if args.all else ALWAYS_SKIPS + CI_SKIPS
    command += [f"--ignore={path}" for path in skipped]
    command += args.pytest_args
    print("floors: " + " ".join(command[1:]), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
