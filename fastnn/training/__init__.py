"""The training engine, used alike by ``MLP.fit``, ``MLP.partial_fit`` and ``fastnn.sweep``.

- :mod:`~fastnn.training.engine`: the kernels' argument bundles, one network's epochs
  (:class:`~fastnn.training.engine.EpochRunner`) and the per-epoch rules a sweep shares
  with ``fit`` (sample order, divergence, recording);
- :mod:`~fastnn.training.control`: the checked training-control arguments, early
  stopping, epoch lines and progress bars;
- :mod:`~fastnn.training.fitting`: the epochs of one fit;
- :mod:`~fastnn.training.history`: :class:`History`, what a fit measured.
"""

from fastnn.training.control import Control
from fastnn.training.fitting import fit
from fastnn.training.history import History

__all__ = ["Control", "History", "fit"]
