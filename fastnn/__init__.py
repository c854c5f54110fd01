"""fastnn: small neural networks from scratch, with every hot loop compiled by Numba."""


def _kernels_of_a_source_checkout() -> None:
    """Make ``fastnn.kernels`` importable when fastnn runs from its repository, uninstalled.

    The compiled kernels live in the repository's top-level ``kernels/`` folder and are
    installed as ``fastnn.kernels`` (``pyproject.toml``'s ``package-dir``). An installed
    fastnn has them in place and this does nothing. Run from a checkout (``python -m
    pytest`` in the repository puts it first on ``sys.path``), the package is loaded from
    ``../kernels`` under the name ``fastnn.kernels``, and only if that folder sits beside
    a ``pyproject.toml`` naming fastnn: never some other ``kernels`` folder.
    """
    import importlib.util
    import sys
    from pathlib import Path

    if "fastnn.kernels" in sys.modules:
        return
    here = Path(__file__).resolve().parent
    if (here / "kernels").is_dir():
        return  # installed: fastnn/kernels is a real package
    root = here.parent
    folder = root / "kernels"
    try:
        is_checkout = 'name = "fastnn"' in (root / "pyproject.toml").read_text()
    except OSError:
        is_checkout = False
    if not is_checkout or not (folder / "__init__.py").is_file():
        return  # let the import fail as it would
    spec = importlib.util.spec_from_file_location(
        "fastnn.kernels", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastnn.kernels"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["fastnn.kernels"]
        raise
    globals()["kernels"] = module  # as the import system sets a loaded submodule


_kernels_of_a_source_checkout()

from fastnn import datasets, functions, optimizers, schedules
from fastnn.estimators import DataConversionWarning, MLPClassifier, MLPRegressor, NotFittedError
from fastnn.experiments import compare_optimizers
from fastnn.metrics import Evaluation
from fastnn.model import MLP, ConcurrentUseError, History, TrainingDivergedError
from fastnn.streaming import ProgressiveScore, progressive_val_score
from fastnn.sweep import SweepResult, SweepResults, sweep
from fastnn.version import __version__ as __version__  # re-exported
from fastnn.warm import warmup

__all__ = [
    "MLP",
    "MLPClassifier",
    "MLPRegressor",
    "NotFittedError",
    "DataConversionWarning",
    "History",
    "Evaluation",
    "TrainingDivergedError",
    "ConcurrentUseError",
    "compare_optimizers",
    "progressive_val_score",
    "ProgressiveScore",
    "sweep",
    "SweepResults",
    "SweepResult",
    "datasets",
    "functions",
    "optimizers",
    "schedules",
    "warmup",
]
