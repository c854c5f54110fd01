"""fastnn: small neural networks from scratch, with every hot loop compiled by Numba."""

from fastnn import datasets, functions, optimizers, schedules
from fastnn.estimators import DataConversionWarning, MLPClassifier, MLPRegressor, NotFittedError
from fastnn.experiments import compare_optimizers
from fastnn.metrics import Evaluation
from fastnn.model import MLP, ConcurrentUseError, History, TrainingDivergedError
from fastnn.sweep import SweepResult, SweepResults, sweep
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
    "sweep",
    "SweepResults",
    "SweepResult",
    "datasets",
    "functions",
    "optimizers",
    "schedules",
    "warmup",
]


def _version() -> str:
    """The installed distribution's version, else the source tree's ``pyproject.toml``'s.

    The version is written once, in ``pyproject.toml``. An installed fastnn (also an
    editable one) reads it from the installation's metadata; a source tree put on the
    path without installing reads the file itself (Python 3.11+, which has ``tomllib``).
    """
    import sys
    from importlib import metadata

    try:
        return metadata.version("fastnn")
    except metadata.PackageNotFoundError:
        pass
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if sys.version_info < (3, 11):  # no tomllib to read it with
        return "0+unknown"
    import tomllib

    try:
        with pyproject.open("rb") as stream:
            project = tomllib.load(stream)["project"]
        if project["name"] == "fastnn":
            return str(project["version"])
    except (OSError, KeyError, ValueError):
        pass
    return "0+unknown"


__version__ = _version()
