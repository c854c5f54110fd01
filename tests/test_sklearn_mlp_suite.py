"""scikit-learn's own tests of its MLP, run on fastnn's MLPClassifier and MLPRegressor.

The installed scikit-learn ships ``sklearn/neural_network/tests/test_mlp.py``. This
copies it, swaps its one import of ``MLPClassifier, MLPRegressor`` for fastnn's,
and runs it with pytest in a subprocess, with scikit-learn's own conftest as a
plugin (its ``global_random_seed`` fixture). Every test must pass but those in
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

DESELECTED = {
    "test_gradient": (
        "calls MLPClassifier._loss_grad_lbfgs, scikit-learn's private loss-and-gradient "
        "function, with its private lists of activations and deltas; fastnn's gradient is "
        "checked against central differences in tests/test_kernels_weighted.py"
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
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "sklearn.conftest", "--rootdir", str(tmp_path), copy.name]
    for name in DESELECTED:
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
    assert re.search(rf"\b{len(DESELECTED)} deselected\b", summary), summary
    assert not re.search(r"\b(failed|error|errors)\b", summary), summary
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 50, summary  # 59 cases in scikit-learn 1.9, some need pandas
