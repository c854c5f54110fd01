"""fastnn networks as River estimators: ``learn_one(x: dict, y)``, ``predict_one``, ...

The network is made at the first ``learn_one``: one input per feature seen, in a
fixed order (sorted, so that the order of a dict's keys never matters), and for a
classifier one output per class seen (at least two). As River's linear models do,

- a feature missing from a dict counts as 0;
- a feature seen for the first time gets an input whose weights start at 0 (the
  network is widened; its weights and optimizer state are kept);
- a class seen for the first time gets an output whose weights start at 0.

``features=(...)`` and ``classes=(...)`` fix them instead: then a dict missing a
feature, a feature not in the list, or a label not in the list is an error that
names it.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from river import base

from fastnn import optimizers
from fastnn.kernels import codes
from fastnn.model import MLP
from fastnn.streaming.progressive import learn_rows

__all__ = ["MLPClassifier", "MLPRegressor"]


def _feature_order(name: Hashable) -> tuple[str, str]:
    # Sortable whatever the names' types (strings, ints, tuples side by side).
    return type(name).__name__, repr(name)


def _resized(net: MLP, n_inputs: int, n_outputs: int) -> MLP:
    """A copy of ``net`` with more inputs and outputs, whose new weights are 0.

    The optimizer (``net.optimizer_``) moves to the copy, its state vectors laid
    out again the same way (0 for the new weights); its step count is kept.
    """
    sizes = net.sizes
    grown = MLP(
        [n_inputs, *sizes[1:-1], n_outputs],
        hidden=net.hidden,
        output=net.output,
        init=net.init,
        dtype=net.dtype,
        seed=net.seed,
        specialise=net.specialise,
        dropout=net.dropout,
    )
    grown.rng.bit_generator.state = net.rng.bit_generator.state
    _copy_layers(net.layout, net.theta, grown.layout, grown.theta)
    optimizer = net.optimizer_
    if optimizer is not None and optimizer.state_ is not None:
        state = np.zeros((codes.STATE_ROWS, grown.n_params), dtype=grown.dtype)
        for row in range(codes.STATE_ROWS):
            _copy_layers(net.layout, optimizer.state_[row], grown.layout, state[row])
        optimizer.state_ = state
    grown.optimizer_ = optimizer
    return grown


def _copy_layers(
    layout: NDArray[Any], vector: NDArray[Any], new_layout: NDArray[Any], new: NDArray[Any]
) -> None:
    # Each layer's W and b into the top-left corner of the wider layer's; 0 elsewhere.
    new[...] = 0
    for old_row, new_row in zip(layout, new_layout, strict=True):
        fan_in, fan_out, w, b = (int(v) for v in old_row[:4])
        new_in, new_out, new_w, new_b = (int(v) for v in new_row[:4])
        weights = new[new_w : new_w + new_in * new_out].reshape(new_in, new_out)
        weights[:fan_in, :fan_out] = vector[w : w + fan_in * fan_out].reshape(fan_in, fan_out)
        new[new_b : new_b + fan_out] = vector[b : b + fan_out]


class _Network:
    """What the classifier and the regressor share: parameters, features, the network."""

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (32,),
        activation: str = "relu",
        optimizer: str = "adam",
        lr: float = 0.005,
        dtype: str = "float64",
        seed: int | None = None,
        features: tuple[Hashable, ...] | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.dtype = dtype
        self.seed = seed
        self.features = features
        self._check_parameters()
        self.net: MLP | None = None
        self.feature_index: dict[Hashable, int] = {}
        self._getter: Any = None
        self._row = np.zeros(0)
        if features is not None:
            self._add_features(list(features), sort=False)

    # ------------------------------------------------------------ parameters

    def _check_parameters(self) -> None:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (int(sizes),)
        if not isinstance(sizes, Sequence) or isinstance(sizes, str):
            raise TypeError(
                "hidden_layer_sizes must be a tuple of layer widths, got "
                f"{self.hidden_layer_sizes!r}"
            )
        self._hidden = tuple(sizes)
        if not isinstance(self.optimizer, str):
            raise TypeError(
                f"optimizer must be an optimizer's name ('sgd', 'adam', ...), got "
                f"{self.optimizer!r}: River clones estimators from their parameters, so a "
                "parameter cannot be an object with state"
            )
        optimizers.get(self.optimizer, lr=self.lr)  # names and lr checked here, not later
        if self.features is not None:
            if isinstance(self.features, str) or not isinstance(self.features, Sequence):
                raise TypeError(f"features must be a tuple of feature names, got {self.features!r}")
            if len(set(self.features)) != len(self.features) or not self.features:
                raise ValueError(f"features must name each feature once, got {self.features!r}")

    def _make_network(self, n_outputs: int, output: str) -> MLP:
        net = MLP(
            [len(self.feature_index), *self._hidden, n_outputs],
            hidden=self.activation,
            output=output,
            dtype=self.dtype,
            seed=self.seed,
            specialise=False,  # learn_many == learn_one, and no compiling per layout
        )
        net.optimizer_ = optimizers.get(self.optimizer, lr=self.lr)
        return net

    # ------------------------------------------------------------ features

    def _add_features(self, names: list[Hashable], sort: bool = True) -> None:
        for name in sorted(names, key=_feature_order) if sort else names:
            self.feature_index[name] = len(self.feature_index)
        keys = list(self.feature_index)
        self._getter = operator.itemgetter(*keys) if len(keys) > 1 else None
        self._row = np.zeros(len(keys))

    def _new_features(self, x: dict[Hashable, Any]) -> list[Hashable]:
        if len(x) <= len(self.feature_index) and self._getter is not None:
            try:
                self._getter(x)
                return []
            except KeyError:
                pass
        return [name for name in x if name not in self.feature_index]

    def _row_of(self, x: Any, learning: bool) -> NDArray[np.float64]:
        """The row of dict ``x`` in input order (missing features 0); grows the inputs."""
        if not isinstance(x, dict):
            raise TypeError(f"x must be a dict of features, got {type(x).__name__}")
        row = self._row
        if self._getter is not None and len(x) == len(self.feature_index):
            try:
                row[:] = self._getter(x)
                return row
            except KeyError:  # another set of features of the same size
                pass
            except (TypeError, ValueError):
                self._refuse_values(x)
        new = self._new_features(x)
        if new:
            if self.features is not None:
                raise ValueError(
                    f"x has feature(s) {sorted(new, key=_feature_order)!r} that are not in "
                    f"features={self.features!r}"
                )
            if learning:
                self._grow(new)
                row = self._row
        if self.features is not None:
            missing = [name for name in self.feature_index if name not in x]
            if missing:
                raise ValueError(
                    f"x is missing feature(s) {missing!r} (features={self.features!r} fixes "
                    "them all)"
                )
        try:
            row[:] = [x.get(name, 0.0) for name in self.feature_index]
        except (TypeError, ValueError):
            self._refuse_values(x)
        return row

    def _refuse_values(self, x: dict[Hashable, Any]) -> None:
        for name, value in x.items():
            if isinstance(value, (str, bytes)) or not isinstance(value, (numbers.Real, np.bool_)):
                raise TypeError(
                    f"x[{name!r}] is {value!r}: features must be numbers (encode text first, "
                    "e.g. with river.preprocessing.OneHotEncoder)"
                )
        raise TypeError("x: features must be numbers")

    def _grow(self, new: list[Hashable]) -> None:
        self._add_features(new)
        if self.net is not None:
            self.net = _resized(self.net, len(self.feature_index), self.net.sizes[-1])

    def _frame(self, X: Any, learning: bool) -> NDArray[np.float64]:
        """The rows of a pandas DataFrame in input order (missing columns 0)."""
        columns = list(X.columns)
        new = [name for name in columns if name not in self.feature_index]
        if new and self.features is not None:
            raise ValueError(f"X has column(s) {new!r} that are not in features={self.features!r}")
        if new and learning:
            self._grow(new)
        if self.features is not None:
            missing = [name for name in self.feature_index if name not in columns]
            if missing:
                raise ValueError(
                    f"X is missing column(s) {missing!r} of features={self.features!r}"
                )
        rows = np.zeros((len(X), len(self.feature_index)))
        for name in columns:
            if name in self.feature_index:
                values = X[name].to_numpy()
                if values.dtype.kind not in "biuf":
                    raise TypeError(f"X[{name!r}] must hold numbers, got dtype {values.dtype}")
                rows[:, self.feature_index[name]] = values
        return rows


class MLPClassifier(_Network, base.MiniBatchClassifier):
    """A fastnn network (softmax output) as a River classifier.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (32,)
        Units of each hidden layer.
    activation : str, default "relu"
        Hidden activation ("relu", "tanh", "sigmoid", "leaky_relu", "identity").
    optimizer : str, default "adam"
        A fastnn optimizer's name ("sgd", "momentum", "adam", ...).
    lr : float, default 0.005
        Its learning rate.
    dtype : {"float64", "float32"}, default "float64"
    seed : int, optional
        Seeds the initial weights.
    features : tuple, optional
        Fix the features and their order; by default they are learnt from the stream.
    classes : tuple, optional
        Fix the classes; by default one output is added per class seen.

    Examples
    --------
    >>> from river import datasets, evaluate, metrics, preprocessing
    >>> from fastnn.river import MLPClassifier
    >>> model = preprocessing.StandardScaler() | MLPClassifier(seed=0)
    >>> evaluate.progressive_val_score(datasets.Phishing(), model, metrics.Accuracy())
    Accuracy: ...
    """

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (32,),
        activation: str = "relu",
        optimizer: str = "adam",
        lr: float = 0.005,
        dtype: str = "float64",
        seed: int | None = None,
        features: tuple[Hashable, ...] | None = None,
        classes: tuple[Hashable, ...] | None = None,
    ) -> None:
        self.classes = classes
        if classes is not None and (isinstance(classes, str) or len(set(classes)) < 2):
            raise ValueError(f"classes must be a tuple of at least 2 labels, got {classes!r}")
        super().__init__(hidden_layer_sizes, activation, optimizer, lr, dtype, seed, features)
        self.class_index: dict[Hashable, int] = {}
        self.labels: list[Hashable] = []
        for label in classes or ():
            self._add_class(label)

    @property
    def _multiclass(self) -> bool:
        return True

    def _add_class(self, label: Hashable) -> int:
        self.class_index[label] = len(self.labels)
        self.labels.append(label)
        return len(self.labels) - 1

    def _class_of(self, y: Hashable) -> int:
        index = self.class_index.get(y)
        if index is not None:
            return index
        if self.classes is not None:
            raise ValueError(f"y={y!r} is not one of classes={self.classes!r}")
        index = self._add_class(y)
        if self.net is not None and index >= self.net.sizes[-1]:
            self.net = _resized(self.net, len(self.feature_index), index + 1)
        return index

    def learn_one(self, x: dict[Hashable, Any], y: Hashable) -> None:
        row = self._row_of(x, learning=True)  # first: it may widen the network
        net, label = self.net, self.class_index.get(y)
        if net is not None and label is not None:  # the common case, kept short
            net.learn_one(row, label)
        else:
            self._learn_row(row, y)

    def _learn_row(self, row: NDArray[np.float64], y: Hashable) -> None:
        label = self._class_of(y)
        if self.net is None:
            self.net = self._make_network(max(2, len(self.labels)), "softmax")
        self.net.learn_one(row, label)

    def predict_proba_one(self, x: dict[Hashable, Any], **kwargs: Any) -> dict[Any, float]:
        if self.net is None:
            return {}
        probabilities = self.net.predict_one(self._row_of(x, learning=False)).tolist()
        if len(probabilities) > len(self.labels):  # one class seen: it takes them all
            return {self.labels[0]: 1.0}
        return dict(zip(self.labels, probabilities, strict=True))

    def predict_one(self, x: dict[Hashable, Any], **kwargs: Any) -> Any:
        if self.net is None:
            return None
        if len(self.labels) == 1:
            return self.labels[0]
        return self.labels[self.net.predict_class_one(self._row_of(x, learning=False))]

    def learn_many(self, X: Any, y: Any) -> None:
        rows = self._frame(X, learning=True)
        targets = list(y)
        start = 0
        # Rows before a new class's first row train in one call; that row one by one,
        # as learn_one would meet them.
        for position, label in enumerate(targets):
            if self.net is None or label not in self.class_index:
                self._learn_block(rows[start:position], targets[start:position])
                self._learn_row(rows[position], label)
                start = position + 1
        self._learn_block(rows[start:], targets[start:])

    def _learn_block(self, rows: NDArray[Any], targets: list[Hashable]) -> None:
        if len(targets) and self.net is not None:
            learn_rows(self.net, rows, np.array([self.class_index[t] for t in targets]))

    def predict_proba_many(self, X: Any) -> Any:
        import pandas as pd

        if self.net is None:
            return pd.DataFrame(index=X.index)
        out = self.net.predict(self._frame(X, learning=False))
        if out.shape[1] > len(self.labels):  # one class seen: it takes them all
            out = np.ones((len(X), 1))
        return pd.DataFrame(out, columns=list(self.labels), index=X.index)

    def predict_many(self, X: Any) -> Any:
        import pandas as pd

        if self.net is None:
            return pd.Series([None] * len(X), index=X.index, dtype=object)
        out = self.net.predict(self._frame(X, learning=False))[:, : len(self.labels)]
        labels = [self.labels[i] for i in np.argmax(out, axis=1).tolist()]
        return pd.Series(labels, index=X.index)


class MLPRegressor(_Network, base.MiniBatchRegressor):
    """A fastnn network (one identity output, squared error) as a River regressor.

    Parameters are those of :class:`MLPClassifier` but ``classes``.
    """

    def learn_one(self, x: dict[Hashable, Any], y: float) -> None:
        row = self._row_of(x, learning=True)
        if self.net is None:
            self.net = self._make_network(1, "identity")
        self.net.learn_one(row, y)

    def predict_one(self, x: dict[Hashable, Any]) -> float:
        if self.net is None:
            return 0.0
        return float(self.net.predict_one(self._row_of(x, learning=False))[0])

    def learn_many(self, X: Any, y: Any) -> None:
        rows = self._frame(X, learning=True)
        targets = np.asarray(y, dtype=np.float64)
        if len(targets):
            if self.net is None:
                self.net = self._make_network(1, "identity")
            learn_rows(self.net, rows, targets)

    def predict_many(self, X: Any) -> Any:
        import pandas as pd

        if self.net is None:
            return pd.Series(np.zeros(len(X)), index=X.index)
        return pd.Series(self.net.predict(self._frame(X, learning=False))[:, 0], index=X.index)
