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
__version__ = "0.1.0"
