"""scikit-learn-style estimators around :class:`fastnn.MLP`.

``__init__`` only stores its arguments, ``fit`` validates and trains, fitted
attributes end in ``_``; ``get_params``/``set_params`` make ``sklearn.base.clone``
and grid searches work without scikit-learn being a dependency.
"""

import inspect

import numpy as np

from fastnn import optimizers as optimizers_module
from fastnn.model import MLP

__all__ = ["MLPClassifier", "MLPRegressor"]


class _BaseMLP:
    _output = "identity"
    _estimator_type = None  # "classifier" / "regressor": older scikit-learn reads this

    def __sklearn_tags__(self):
        # scikit-learn >= 1.6 asks estimators for tags; built here, lazily, so that
        # importing fastnn never imports scikit-learn.
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        is_classifier = self._estimator_type == "classifier"
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags() if is_classifier else None,
            regressor_tags=None if is_classifier else RegressorTags(),
        )

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        optimizer="sgd",
        learning_rate=0.01,
        batch_size=1,
        epochs=10,
        init="he",
        dtype="float32",
        shuffle=True,
        random_state=None,
        backend="numba",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.init = init
        self.dtype = dtype
        self.shuffle = shuffle
        self.random_state = random_state
        self.backend = backend

    @classmethod
    def _param_names(cls):
        return [name for name in inspect.signature(_BaseMLP.__init__).parameters if name != "self"]

    def get_params(self, deep=True):
        """Return the constructor arguments (scikit-learn's estimator protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments; unknown names raise ``ValueError``."""
        for name, value in params.items():
            if name not in self._param_names():
                raise ValueError(
                    f"{type(self).__name__}.set_params: unknown parameter {name!r}; valid "
                    f"ones are {self._param_names()}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self):
        changed = {
            key: value
            for key, value in self.get_params().items()
            if value != inspect.signature(_BaseMLP.__init__).parameters[key].default
        }
        args = ", ".join(f"{key}={value!r}" for key, value in changed.items())
        return f"{type(self).__name__}({args})"

    def _new_optimizer(self):
        return optimizers_module.get(self.optimizer, lr=self.learning_rate)

    def _build(self, n_features, n_outputs):
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
        self.net_ = MLP(
            [n_features, *hidden, n_outputs],
            hidden=self.activation,
            output=self._output,
            init=self.init,
            dtype=self.dtype,
            seed=self.random_state,
            backend=self.backend,
        )
        self.n_features_in_ = n_features

    def _check_fitted(self):
        if not hasattr(self, "net_"):
            raise AttributeError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y) first"
            )

    def _train(self, X, T, epochs):
        self.history_ = self.net_.fit(
            X,
            T,
            optimizer=self.optimizer_,
            epochs=epochs,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
        )
        self.loss_ = self.history_.loss[-1]
        return self


class MLPClassifier(_BaseMLP):
    """A softmax MLP classifier with scikit-learn's interface.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
    activation : str, default "relu"
        Hidden activation, as for :class:`fastnn.MLP`.
    optimizer : str, default "sgd"
        An optimizer name (:func:`fastnn.optimizers.get`).
    learning_rate : float, default 0.01
    batch_size : int or None, default 1
        1 is per-sample SGD, None is full batch.
    epochs : int, default 10
    init, dtype, backend
        As for :class:`fastnn.MLP`.
    shuffle : bool, default True
    random_state : int or None

    Attributes
    ----------
    classes_ : ndarray
        The class labels seen by ``fit``.
    net_ : MLP
    history_ : History
    loss_ : float
        The last epoch's training loss.
    """

    _output = "softmax"
    _estimator_type = "classifier"

    def _encode(self, y):
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D class labels, got shape {y.shape}")
        positions = np.searchsorted(self.classes_, y)
        positions = np.clip(positions, 0, len(self.classes_) - 1)
        unknown = self.classes_[positions] != y
        if np.any(unknown):
            raise ValueError(
                f"y contains labels not seen by fit: {np.unique(y[unknown])[:5].tolist()}"
            )
        return positions

    def fit(self, X, y):
        """Train a new network on ``(X, y)`` for ``epochs`` epochs; return ``self``."""
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (samples, features), got shape {X.shape}")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y needs at least 2 classes, got {self.classes_.tolist()}")
        self._build(X.shape[1], len(self.classes_))
        self.optimizer_ = self._new_optimizer()
        return self._train(X, self._encode(y), self.epochs)

    def partial_fit(self, X, y, classes=None):
        """Train one epoch, creating the network on the first call (``classes`` needed)."""
        X = np.asarray(X)
        if not hasattr(self, "net_"):
            if classes is None:
                raise ValueError("the first call to partial_fit needs classes=")
            self.classes_ = np.unique(classes)
            self._build(X.shape[1], len(self.classes_))
            self.optimizer_ = self._new_optimizer()
        return self._train(X, self._encode(np.asarray(y)), 1)

    def predict_proba(self, X):
        """Return class probabilities, columns in the order of ``classes_``."""
        self._check_fitted()
        return self.net_.predict(np.asarray(X))

    def predict(self, X):
        """Return the most probable class label of each row."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X, y):
        """Return the accuracy on ``(X, y)``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


class MLPRegressor(_BaseMLP):
    """An MLP regressor (identity output, mean squared error) with scikit-learn's interface.

    Parameters are those of :class:`MLPClassifier`. A 1-D ``y`` gives 1-D predictions.
    """

    _output = "identity"
    _estimator_type = "regressor"

    def fit(self, X, y):
        """Train a new network on ``(X, y)`` for ``epochs`` epochs; return ``self``."""
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (samples, features), got shape {X.shape}")
        self._one_target = y.ndim == 1
        self._build(X.shape[1], 1 if y.ndim == 1 else y.shape[1])
        self.optimizer_ = self._new_optimizer()
        return self._train(X, y, self.epochs)

    def partial_fit(self, X, y):
        """Train one epoch, creating the network on the first call."""
        X = np.asarray(X)
        y = np.asarray(y)
        if not hasattr(self, "net_"):
            self._one_target = y.ndim == 1
            self._build(X.shape[1], 1 if y.ndim == 1 else y.shape[1])
            self.optimizer_ = self._new_optimizer()
        return self._train(X, y, 1)

    def predict(self, X):
        """Return the predictions, 1-D when ``fit`` saw a 1-D target."""
        self._check_fitted()
        out = self.net_.predict(np.asarray(X))
        return out[:, 0] if self._one_target else out

    def score(self, X, y):
        """Return the coefficient of determination R² on ``(X, y)``."""
        y = np.asarray(y, dtype=np.float64)
        residual = np.sum((y - self.predict(X)) ** 2)
        total = np.sum((y - y.mean(axis=0)) ** 2)
        return float(1 - residual / total)
