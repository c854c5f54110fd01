"""Learning from a stream, one event at a time.

- :mod:`~fastnn.streaming.events`: the per-event fast path of a network behind
  :meth:`fastnn.MLP.learn_one` and :meth:`fastnn.MLP.predict_one`.
- :mod:`~fastnn.streaming.progressive`: :func:`progressive_val_score`, test-then-train
  over a whole array in one compiled loop, scored with River's metric names
  (:mod:`~fastnn.streaming.metrics`).
"""

from fastnn.streaming.events import EventPath
from fastnn.streaming.metrics import METRICS
from fastnn.streaming.progressive import ProgressiveScore, progressive_val_score

__all__ = ["EventPath", "METRICS", "ProgressiveScore", "progressive_val_score"]
