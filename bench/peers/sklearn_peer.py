"""The scikit-learn peer: ``MLPClassifier``/``MLPRegressor(activation="relu", alpha=0,
shuffle=False)``, SGD with ``momentum=0`` or Adam, starting from fastnn's weights."""

import warnings

import numpy as np

from fastnn.selfbench import Case
from peers import initial_params


def estimator(case, **overrides):
    """The estimator that trains ``case`` as fastnn does (``overrides`` on top)."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    settings = dict(
        hidden_layer_sizes=tuple(case.sizes[1:-1]),
        activation="relu",
        solver=case.optimizer,
        learning_rate_init=case.lr,
        batch_size=case.batch,
        alpha=0.0,
        shuffle=False,
        random_state=0,
    )
    if case.optimizer == "sgd":
        settings.update(learning_rate="constant", momentum=0.0, nesterovs_momentum=False)
    settings.update(overrides)
    kind = MLPClassifier if case.output == "softmax" else MLPRegressor
    return kind(**settings)


def _copy_weights(fitted, params):
    # In place: the optimizer of partial_fit keeps references to these arrays.
    for layer, (coef, intercept) in enumerate(
        zip(fitted.coefs_, fitted.intercepts_, strict=True), start=1
    ):
        coef[...] = params[f"W{layer}"]
        intercept[...] = params[f"b{layer}"]


def trainer(case, X, T, per_sample_fit=False):
    """``train(n)``: partial_fit row by row for batch 1, else ``fit(max_iter=1)``.

    ``per_sample_fit`` times scikit-learn's own per-sample loop instead:
    ``fit(batch_size=1, max_iter=1)``, far faster than one partial_fit call per row.
    """
    from sklearn.exceptions import ConvergenceWarning

    classes = np.arange(case.sizes[-1]) if case.output == "softmax" else None
    extra = {"classes": classes} if classes is not None else {}
    online = case.batch == 1 and not per_sample_fit
    model = estimator(case, max_iter=1)
    # One partial_fit step creates the weights; then they are overwritten with fastnn's,
    # and warm_start makes each fit(max_iter=1) continue from them.
    model.partial_fit(X[: case.batch], T[: case.batch], **extra)
    _copy_weights(model, initial_params(case))
    model.set_params(warm_start=not online)

    if online:

        def train(n):
            for row in range(n):
                model.partial_fit(X[row : row + 1], T[row : row + 1])

    else:

        def train(n):
            with warnings.catch_warnings():
                # max_iter=1 is one epoch on purpose, not a failure to converge.
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X[:n], T[:n])

    return train


class Learner:
    """A softmax classifier trained chunk by chunk, for time to accuracy.

    It starts from scikit-learn's own weights: there is no public way to set them
    before training.
    """

    def __init__(self, sizes, dtype, optimizer, lr, batch):
        case = Case(tuple(sizes), "softmax", optimizer, lr, batch, dtype)
        self.estimator = estimator(case)
        self.classes = np.arange(sizes[-1])

    def train(self, X, y):
        # partial_fit keeps Adam's state between chunks; fit(warm_start=True) would reset it.
        self.estimator.partial_fit(X, y, classes=self.classes)

    def accuracy(self, X, y):
        return self.estimator.score(X, y)
