"""fastnn: small neural networks from scratch, with every hot loop compiled by Numba."""

from fastnn import optimizers
from fastnn.model import MLP, History, TrainingDivergedError

__all__ = ["MLP", "History", "TrainingDivergedError", "optimizers"]
__version__ = "0.1.0"
