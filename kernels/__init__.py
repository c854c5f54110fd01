"""Compiled Numba kernels of fastnn: arrays in, arrays out, no Python objects.

This package never imports :mod:`fastnn`. :mod:`fastnn.kernels.reference` holds a plain
NumPy twin of every name in :data:`KERNEL_NAMES`, with the same signature.
"""

from .activations import (
    activation_backward,
    activation_derivative,
    activation_forward,
    softmax,
)
from .checks import cast_first_non_finite, first_non_finite
from .dense import dense_backward_input, dense_backward_params, dense_forward
from .losses import count_correct, loss_and_delta, loss_delta, loss_value, output_activation
from .network import backward, forward, gradient, layer_block, layer_weights, predict
from .optimizers import (
    adadelta_step,
    adagrad_step,
    adam_step,
    optimizer_step,
    rmsprop_step,
    sgd_step,
)
from .parallel import train_models_batch, train_models_sample
from .streaming import event_work_size, learn_row, predict_row, stage_event
from .train import train_epoch_batch, train_epoch_sample

__all__ = [
    "dense_forward",
    "dense_backward_params",
    "dense_backward_input",
    "activation_forward",
    "activation_derivative",
    "activation_backward",
    "softmax",
    "output_activation",
    "loss_value",
    "loss_delta",
    "loss_and_delta",
    "count_correct",
    "sgd_step",
    "adagrad_step",
    "rmsprop_step",
    "adadelta_step",
    "adam_step",
    "optimizer_step",
    "layer_weights",
    "layer_block",
    "forward",
    "predict",
    "backward",
    "gradient",
    "train_epoch_sample",
    "train_epoch_batch",
    "train_models_sample",
    "train_models_batch",
    "first_non_finite",
    "cast_first_non_finite",
    "stage_event",
    "learn_row",
    "event_work_size",
    "predict_row",
]

#: Every public kernel; kernels.reference defines each of them too.
KERNEL_NAMES = tuple(__all__)
