"""A plain install works: the shipped digits, the command line without scikit-learn,
the version, the wheel's contents and metadata, and declared floors for every dependency."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import datasets

ROOT = Path(__file__).resolve().parent.parent


def pyproject():
    """pyproject.toml as a dict (Python 3.11+, which reads TOML)."""
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# Run first in a child interpreter: any import of scikit-learn fails there, as in an
# environment where it is not installed.
HIDE_SKLEARN = """
import sys

class HideScikitLearn:
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")
        return None

sys.meta_path.insert(0, HideScikitLearn())
"""


def run_without_sklearn(code, cwd):
    """Run ``code`` in a fresh interpreter that cannot import scikit-learn."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", HIDE_SKLEARN + code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


# ---------------------------------------------------------------- the shipped digits


def _digits_as_before(
    sklearn_digits, normalize=True, one_hot_label=False, dtype="float32", test_size=360, seed=0
):
    """``load_digits`` as it was written when it read scikit-learn's copy."""
    images = sklearn_digits.data.astype(dtype)
    if normalize:
        images /= 16.0
    labels = sklearn_digits.target.astype(np.int64)
    if one_hot_label:
        labels = np.eye(10, dtype=dtype)[labels]
    order = np.random.default_rng(seed).permutation(len(images))
    test, train = order[:test_size], order[test_size:]
    return (images[train], labels[train]), (images[test], labels[test])


def test_shipped_digits_are_scikit_learns_arrays():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    reference = sklearn_datasets.load_digits()
    images, labels = datasets._packaged_digits()
    np.testing.assert_array_equal(images, reference.data)
    np.testing.assert_array_equal(labels, reference.target)
    for options in (
        {},
        {"normalize": False},
        {"one_hot_label": True, "dtype": "float64"},
        {"test_size": 100, "seed": 7},
    ):
        expected = _digits_as_before(reference, **options)
        got = datasets.load_digits(**options)
        for got_array, expected_array in zip(
            (*got[0], *got[1]), (*expected[0], *expected[1]), strict=True
        ):
            assert got_array.dtype == expected_array.dtype
            np.testing.assert_array_equal(got_array, expected_array)


def test_digits_split_and_values():
    (x, t), (x_test, t_test) = datasets.load_digits()
    assert x.shape == (1437, 64) and x_test.shape == (360, 64)
    assert x.dtype == np.float32 and t.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # The class sizes UCI documents for this test set (optdigits.tes).
    counts = np.bincount(np.concatenate([t, t_test]), minlength=10)
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # The split is a seeded shuffle: the same every call, another with another seed.
    np.testing.assert_array_equal(datasets.load_digits()[0][0], x)
    assert not np.array_equal(datasets.load_digits(seed=1)[0][0], x)


@pytest.mark.parametrize(
    "test_size, error, message",
    [
        (1797, ValueError, "at most 1796, got 1797"),
        (-1, ValueError, "test_size must be >= 0"),
        (0.2, TypeError, "test_size must be an integer"),
    ],
)
def test_digits_bad_test_size_is_a_clear_error(test_size, error, message):
    with pytest.raises(error, match=message):
        datasets.load_digits(test_size=test_size)


def test_load_digits_does_not_need_scikit_learn(tmp_path):
    result = run_without_sklearn(
        "from fastnn import datasets\n"
        "(x, t), (x_test, t_test) = datasets.load_digits()\n"
        "assert 'sklearn' not in sys.modules\n"
        "print(x.shape, x_test.shape)\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(1437,", "64)", "(360,", "64)"]


def test_commands_with_default_data_work_without_scikit_learn(tmp_path):
    """``fastnn demo``, ``train`` and ``compare-optimizers`` after ``pip install .`` alone."""
    commands = [
        ["demo", "--samples", "2000", "--epochs", "2", "--out", "demo"],
        ["train", "--epochs", "1", "--quiet"],
        ["compare-optimizers", "--epochs", "1", "--optimizers", "sgd,adam", "--rows", "300"],
    ]
    for argv in commands:
        result = run_without_sklearn(
            f"from fastnn.cli import main\nsys.exit(main({argv!r}))\n", tmp_path
        )
        assert result.returncode == 0, f"fastnn {' '.join(argv)}:\n{result.stderr}"
        assert "skipped" not in result.stdout
    assert (tmp_path / "demo" / "digits_accuracy.png").is_file()
    assert (tmp_path / "optimizers.png").is_file()


# ---------------------------------------------------------------- version and metadata


def test_version_comes_from_pyproject():
    try:
        installed = importlib.metadata.version("fastnn")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed is not None:
        assert fastnn.__version__ == installed
    else:
        assert fastnn.__version__ == pyproject()["project"]["version"]


def test_version_from_a_source_tree_that_is_not_installed(tmp_path):
    """Without installed metadata, the source tree's pyproject.toml gives the version."""
    code = (
        "import importlib.metadata as metadata\n"
        "def missing(name):\n"
        "    raise metadata.PackageNotFoundError(name)\n"
        "metadata.version = missing\n"
        "import fastnn\n"
        "print(fastnn.__version__)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == pyproject()["project"]["version"]


def _floor(requirement):
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]+\])?\s*>=\s*([0-9][0-9A-Za-z.]*)", requirement)
    return match and (match.group(1), match.group(3))


def test_every_dependency_declares_the_floor_that_ci_installs():
    project = pyproject()["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert _floor(requirement), (
            f"{requirement!r}: give every runtime and test dependency one floor (NAME>=X), "
            "which .ci/floors.py installs and tests"
        )


def _build_wheel(out):
    """Build fastnn's wheel into ``out`` as ``pip install .`` would; return its path.

    It builds from a copy of the files a release is made of, so that the build's
    ``build/`` and ``*.egg-info`` folders are not left in the checkout.
    """
    source = out / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc")
    for name in ("fastnn", "kernels"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    try:
        import setuptools

        if int(setuptools.__version__.split(".")[0]) >= 77:
            command.append("--no-build-isolation")  # no download when it is already here
    except ImportError:
        pass
    result = subprocess.run(
        [*command, str(source)], capture_output=True, text=True, timeout=600, cwd=out
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = out.glob("fastnn-*.whl")
    return wheel


def test_wheel_ships_the_data_the_type_marker_and_the_licences(tmp_path):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
        shipped_digits = archive.read("fastnn/data/digits.npz")
    dist_info = metadata_name.rsplit("/", 1)[0]
    for name in (
        "fastnn/py.typed",
        "fastnn/data/README",
        "fastnn/kernels/__init__.py",
        "fastnn/kernels/reference.py",
        "fastnn/kernels/weighted.py",
        "fastnn/codegen/generator.py",
        "fastnn/estimators/classifier.py",
        f"{dist_info}/licenses/LICENSE",
        f"{dist_info}/licenses/fastnn/data/README",
    ):
        assert name in names, f"{name} is missing from {wheel.name}"
    assert shipped_digits == (ROOT / "fastnn" / "data" / "digits.npz").read_bytes()
    assert not [name for name in names if "__pycache__" in name or name.endswith((".nbi", ".nbc"))]
    # No top-level package but fastnn: a top-level `kernels` would clash with other
    # distributions and with a kernels/ folder in the user's working directory.
    top_level = {name.split("/", 1)[0] for name in names if not name.startswith(dist_info)}
    assert top_level == {"fastnn"}, top_level
    # The benchmark harness and its peers (PyTorch, JAX, scikit-learn, C) live in bench/
    # of the repository, not in what every user installs; fastnn bench's self-benchmark
    # (fastnn/selfbench.py) needs only fastnn.
    assert "fastnn/selfbench.py" in names and "fastnn/cli/bench.py" in names
    assert not [name for name in names if re.search(r"bench_|peer|benchmark\.py$", name)]
    with zipfile.ZipFile(wheel) as archive:
        peer_imports = [
            name
            for name in names
            if name.endswith(".py")
            and re.search(
                r"^\s*(import|from)\s+(torch|jax|jaxlib|optax|sklearn\.neural_network)\b",
                archive.read(name).decode(),
                re.MULTILINE,
            )
        ]
    assert not peer_imports, f"modules of the wheel that import a benchmark peer: {peer_imports}"

    assert metadata["Version"] == pyproject()["project"]["version"]
    assert metadata["License-Expression"] == "MIT AND CC-BY-4.0"
    assert metadata["Author"] == "fastnn developers"
    classifiers = metadata.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the expression says it
    assert "Programming Language :: Python :: 3.10" in classifiers
    required = metadata.get_all("Requires-Dist")
    assert "numpy>=1.24" in required
    assert not [r for r in required if r.startswith("scikit-learn") and "extra ==" not in r]
    assert metadata["Requires-Python"] == ">=3.10"


def test_the_installed_wheel_ignores_other_kernels_packages(tmp_path):
    """A fresh venv with the wheel, another top-level `kernels` package installed beside
    it and a kernels/ folder in the working directory: fastnn imports and trains."""
    import sysconfig
    import venv

    wheel = _build_wheel(tmp_path / "build")
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False)
    python = environment / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, wheel],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    # fastnn's dependencies come from this environment, after the venv's own packages.
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for folder in (Path(site) / "kernels", tmp_path / "work" / "kernels"):
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("raise ImportError('not the kernels fastnn needs')\n")
    code = (
        "import numpy as np, fastnn\n"
        "net = fastnn.MLP([3, 4, 2], seed=0)\n"
        "history = net.fit(np.random.default_rng(0).random((20, 3)), np.arange(20) % 2)\n"
        "print(fastnn.kernels.__file__, np.isfinite(history.loss[0]))\n"
    )
    result = subprocess.run(
        [str(python), "-c", code],
        cwd=tmp_path / "work",
        capture_output=True,
        text=True,
        timeout=600,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    )
    assert result.returncode == 0, result.stderr
    location, finite = result.stdout.split()
    assert Path(location).is_relative_to(Path(site) / "fastnn" / "kernels")
    assert finite == "True"
