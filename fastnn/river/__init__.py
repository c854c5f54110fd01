"""fastnn networks as River estimators (``pip install "fastnn[river]"``).

:class:`MLPClassifier` and :class:`MLPRegressor` follow River's protocol
(``learn_one(x: dict, y)``, ``predict_one``, ``predict_proba_one``, and
``learn_many``/``predict_many`` on pandas frames), pass River's
``river.checks.check_estimator``, and work in River pipelines and in
``river.evaluate.progressive_val_score``. Each event is one
:meth:`fastnn.MLP.learn_one` (docs/streaming.md).
"""

try:
    import river  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        'fastnn.river needs River: pip install "fastnn[river]" (or pip install river)'
    ) from error

from fastnn.river.models import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
