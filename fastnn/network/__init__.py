"""A network's parts, apart from the user's class: architecture, state, forward passes.

- :mod:`~fastnn.network.architecture`: widths, activations, output, dtype, dropout and
  init, checked once; the kernels' layer table.
- :mod:`~fastnn.network.state`: :class:`NetworkState`, a network as plain values (what
  :class:`fastnn.MLP` wraps, the training engine trains and model files hold).
- :mod:`~fastnn.network.inference`: predictions, losses and gradients over prepared arrays.
- :mod:`~fastnn.network.guard`: many readers or one trainer at a time.
"""

from fastnn.network.architecture import Architecture
from fastnn.network.state import NetworkState

__all__ = ["Architecture", "NetworkState"]
