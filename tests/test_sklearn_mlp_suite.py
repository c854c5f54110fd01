"""scikit-learn's own tests of its MLP, run on fastnn's MLPClassifier and MLPRegressor.

The installed scikit-learn ships ``sklearn/neural_network/tests/test_mlp.py``. This
copies it, swaps its one import of ``MLPClassifier, MLPRegressor`` for fastnn's,
and runs it with pytest in a subprocess, beside a conftest giving the
``global_random_seed`` fixture as scikit-learn's conftest does (42, or
``$SKLEARN_TESTS_GLOBAL_RANDOM_SEED``). Every test must pass but those in
``DESELECTED``, which call scikit-learn's private functions rather than test the
estimators' behaviour; docs/estimators.md lists them with the same reasons.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
FASTNN_IMPORT = "from fastnn import MLPClassifier, MLPRegressor"

# scikit-learn's conftest needs a newer pytest than fastnn's floor; this is the one
# fixture test_mlp.py takes from it.
CONFTEST = """
import os

import pytest


def pytest_generate_tests(metafunc):
    if "global_random_seed" in metafunc.fixturenames:
        seeds = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", "42")
        metafunc.parametrize("global_random_seed", [int(seed) for seed in seeds.split("-")])
"""

DESELECTED = {
    "test_gradient": (
        "calls MLPClassifier._loss_grad_lbfgs, scikit-learn's private loss-and-gradient "
        "function, with its private lists of activations and deltas; fastnn's gradient is "
        "checked against central differences in tests/test_kernels_weighted.py"
    ),
}


# Tests of older scikit-learn releases that expect an older wording of a message,
# where fastnn words it as the newer releases do: deselected only when the installed
# file holds that expectation (scikit-learn 1.6's test_mlp.py does).
OLD_WORDINGS = {
    "test_early_stopping_stratified": (
        'match="The least populated class in y has only 1 member"',
        "expects the message of scikit-learn 1.6's train_test_split ('The least populated "
        "class in y has only 1 member'); fastnn's says, as scikit-learn 1.9's, 'The least "
        "populated classes in y have only 1 member ... Classes with too few members are: [...]'",
    ),
}


def test_scikit_learns_mlp_tests_pass_on_fastnn(tmp_path):
    source = pathlib.Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    if not source.exists():
        pytest.skip(f"this scikit-learn ships no {source}")
    text = source.read_text()
    assert text.count(IMPORT) == 1, f"{source} no longer has the line {IMPORT!r}"
    copy = tmp_path / "test_mlp_on_fastnn.py"
    copy.write_text(text.replace(IMPORT, FASTNN_IMPORT))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["--rootdir", str(tmp_path), copy.name]
    deselected = list(DESELECTED)
    deselected += [name for name, (expected, _) in OLD_WORDINGS.items() if expected in text]
    for name in deselected:
        command += ["--deselect", f"{copy.name}::{name}"]
    root = pathlib.Path(__file__).resolve().parents[1]  # this checkout's fastnn
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    report = result.stdout[-6000:] + result.stderr[-3000:]
    assert result.returncode == 0, report
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b{len(deselected)} deselected\b", summary), summary
    assert not re.search(r"\b(failed|error|errors)\b", summary), summary
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 50, summary  # 59 cases in scikit-learn 1.9, some need pandas
