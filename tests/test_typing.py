"""The type hints: mypy passes on the package, the public API is annotated, and mypy
catches a wrong call in a user's code.

mypy's settings are pyproject.toml's ``[tool.mypy]``. The runs share this checkout's
``.mypy_cache`` (git ignores it), so only the first one is slow (about 30 s).
"""

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fastnn import (
    cli,
    datasets,
    estimators,
    experiments,
    functions,
    model,
    optimizers,
    plot,
    selfbench,
    warm,
)

# `fastnn.sweep` is the function the package exports, so the module is looked up by name.
sweep_module = importlib.import_module("fastnn.sweep")

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parent.parent

# Modules whose public functions and classes must be fully annotated.
ANNOTATED_MODULES = [
    functions,
    datasets,
    optimizers,
    plot,
    estimators,
    experiments,
    warm,
    model,
    sweep_module,
    cli,
    selfbench,
]


def run_mypy(*args, cwd=ROOT):
    env = dict(os.environ, MYPYPATH=str(ROOT))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_mypy_passes_on_the_package():
    result = run_mypy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def _public_callables(module):
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value):
            # Its methods written in this module, inherited ones included (an exception's
            # __init__ comes from Python and is not a function here).
            for method_name, method in inspect.getmembers(value, inspect.isfunction):
                public = method_name == "__init__" or not method_name.startswith("_")
                if public and method.__module__ == module.__name__:
                    yield f"{module.__name__}.{name}.{method_name}", method
        elif inspect.isfunction(value) and value.__module__ == module.__name__:
            yield f"{module.__name__}.{name}", value


def _missing_annotations(function):
    signature = inspect.signature(function)
    missing = [
        name
        for index, (name, parameter) in enumerate(signature.parameters.items())
        if parameter.annotation is inspect.Parameter.empty
        and not (index == 0 and name in ("self", "cls"))
    ]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


@pytest.mark.parametrize("module", ANNOTATED_MODULES, ids=lambda module: module.__name__)
def test_public_api_is_annotated(module):
    unannotated = {
        name: missing
        for name, function in _public_callables(module)
        if (missing := _missing_annotations(function))
    }
    assert not unannotated, f"parameters or returns without a type hint: {unannotated}"


def test_missing_annotations_are_found():
    def half(x, y: int) -> int:
        return y

    def whole(x: int, y: int) -> int:
        return x

    def no_return(x: int):
        return x

    assert _missing_annotations(half) == ["x"]
    assert _missing_annotations(whole) == []
    assert _missing_annotations(no_return) == ["return"]


USER_CODE = """\
import numpy as np

from fastnn import MLP, datasets, functions, optimizers, plot, sweep

adam = optimizers.Adam(lr=1e-3, betas=(0.9, 0.999))
adam_again = optimizers.get("adam", lr=1e-3)
(x, t), (x_test, t_test) = datasets.load_digits(dtype="float64")
probabilities = functions.softmax(np.zeros((2, 3)))
loss = functions.cross_entropy_error(np.array([0, 1]), probabilities)
point, history = functions.gradient_descent(lambda v: float(v @ v), np.ones(2), lr=0.1)
figure = plot.plot_gradient_descent(lambda v: float(v @ v), history)
net = MLP([64, 16, 10], hidden="relu", dropout=0.1, seed=0)
run = net.fit(x, t, adam, epochs=2, batch_size=32, validation_data=(x_test, t_test))
best_epoch = int(np.argmin(run.val_loss)) + 1
classes = net.predict_classes(x_test)
results = sweep(x, t, {"sizes": [[64, 10]], "lr": [0.01, 0.1]}, epochs=1, n_jobs=1)
best = results.best("loss").model().predict(x_test)
reveal_type(adam_again)
reveal_type(run)
reveal_type(results[0])
slow = optimizers.SGD(lr="fast")  # wrong: a string
digits = datasets.load_digits(test_size="ten")  # wrong: a string
wide = MLP("784,10")  # wrong: a string, not a list of widths
longer = net.fit(x, t, epochs="5")  # wrong: a string
"""


def test_mypy_checks_users_calls_against_the_hints(tmp_path):
    script = tmp_path / "user_code.py"
    script.write_text(USER_CODE)
    result = run_mypy(str(script), cwd=tmp_path)
    lines = USER_CODE.splitlines()
    reported = {}
    for line in result.stdout.splitlines():
        match = re.match(r".*user_code\.py:(\d+): (error|note): (.*)", line)
        if match:
            reported.setdefault(lines[int(match[1]) - 1].split("=")[0].strip(), []).append(match[3])
    revealed = {
        name: reported.pop(f"reveal_type({name})") for name in ("adam_again", "run", "results[0]")
    }
    assert revealed == {
        "adam_again": ['Revealed type is "fastnn.optimizers.Optimizer"'],
        "run": ['Revealed type is "fastnn.training.history.History"'],
        "results[0]": ['Revealed type is "fastnn.sweep.results.SweepResult"'],
    }, result.stdout
    wrong = {"slow", "digits", "wide", "longer"}
    assert set(reported) == wrong, result.stdout
    assert all("[arg-type]" in message for name in wrong for message in reported[name])
