"""fastnn: small neural networks from scratch, with every hot loop compiled by Numba."""

from fastnn import datasets, functions, optimizers
from fastnn.experiments import compare_optimizers
from fastnn.model import MLP, History, TrainingDivergedError

__all__ = [
    "MLP",
    "History",
    "TrainingDivergedError",
    "compare_optimizers",
    "datasets",
    "functions",
    "optimizers",
]
__version__ = "0.1.0"
