"""What MLPClassifier and MLPRegressor share: the estimator protocol and ``_fit``.

``__init__`` only stores its arguments; ``fit`` checks them and the data, then
runs scikit-learn's ``_fit`` (first pass or warm start, initialisation, the
solver, the final finiteness check) on fastnn's kernels. ``get_params`` and
``set_params`` make ``sklearn.base.clone`` and grid searches work without
scikit-learn being a dependency.

Unlike scikit-learn, a fit that fails (bad input, divergence) leaves the
estimator as it was before the call.
"""

import copy
import inspect
import math
import types
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastnn.estimators import network, training
from fastnn.estimators.errors import NotFittedError, raised
from fastnn.estimators.inputs import check_inputs, check_sample_weight
from fastnn.estimators.params import check_params, loss_code
from fastnn.kernels import first_non_finite

_EstimatorT = TypeVar("_EstimatorT", bound="BaseMLP")


class stochastic_only:  # noqa: N801 (a decorator, named as scikit-learn's available_if)
    """Make a method exist only for stochastic solvers, as scikit-learn's ``partial_fit``.

    ``hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")`` is False, as with
    scikit-learn; with any other solver the method is there.
    """

    def __init__(self, method: Any) -> None:
        self.method = method
        self.__doc__ = method.__doc__
        self.__name__ = method.__name__

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self.method
        if instance.solver == "lbfgs":
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. lbfgs is not stochastic."
            )
        return types.MethodType(self.method, instance)


class BaseMLP:
    """The shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _estimator_type: str = ""
    # Constructor arguments (the subclasses' __init__ sets them; declared here for
    # the shared code and type checkers).
    activation: str
    backend: str
    early_stopping: bool
    hidden_layer_sizes: Any
    random_state: Any
    solver: str
    warm_start: bool
    # Fitted attributes (set by fit; declared for type checkers).
    net_: Any
    coefs_: list[NDArray[Any]]
    intercepts_: list[NDArray[Any]]
    n_outputs_: int
    n_layers_: int
    n_iter_: int
    t_: int
    out_activation_: str
    loss_: float
    n_features_in_: int

    # ------------------------------------------------------------ estimator protocol

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor arguments (scikit-learn's estimator protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: _EstimatorT, **params: Any) -> _EstimatorT:
        """Set constructor arguments; an unknown name raises ``ValueError``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. Valid "
                    f"parameters are: {sorted(valid)!r}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = []
        for name, value in self.get_params().items():
            default = defaults[name].default
            same = type(value) is type(default) and bool(np.all(value == default))
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        # scikit-learn >= 1.6 asks estimators for tags; built here, lazily, so that
        # importing fastnn never imports scikit-learn. The same tags as its MLPs.
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        classifier = self._estimator_type == "classifier"
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True),
            input_tags=InputTags(sparse=True),
            classifier_tags=ClassifierTags(multi_label=True) if classifier else None,
            regressor_tags=None if classifier else RegressorTags(),
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "coefs_")

    def __getstate__(self) -> dict[str, Any]:
        # coefs_ and intercepts_ are views of net_'s theta; pickled as they are they
        # would come back as copies. Rebuilt as views instead when they are views.
        state = self.__dict__.copy()
        net = state.get("net_")
        if net is not None and "coefs_" in state and network.is_attached(self, net):
            del state["coefs_"], state["intercepts_"]
            state["_attached"] = True
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        attached = state.pop("_attached", False)
        self.__dict__.update(state)
        if attached:
            network.attach(self, self.net_)

    # ------------------------------------------------------------ fitting

    def _check_fitted(self) -> None:
        if not hasattr(self, "coefs_"):
            raise raised(
                NotFittedError,
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.",
            )

    def _snapshot(self):
        """What a failed fit must put back: attributes, weights, optimizer state."""
        state = dict(vars(self))
        for key in ("loss_curve_", "validation_scores_", "coefs_", "intercepts_"):
            if isinstance(state.get(key), list):
                state[key] = list(state[key])
        net = state.get("net_")
        theta = None if net is None else net.theta.copy()
        optimizer = copy.deepcopy(state.get("_optimizer"))
        return state, theta, optimizer

    def _restore(self, snapshot) -> None:
        state, theta, optimizer = snapshot
        vars(self).clear()
        vars(self).update(state)
        if theta is not None:
            self.net_.theta[...] = theta
        if optimizer is not None:
            self._optimizer = optimizer

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool, before=None) -> Any:
        """Check the arguments, then fit; on any error put the estimator back as it was.

        ``before``, if given, runs first inside that guarantee (the classifier's
        first ``partial_fit`` records its classes there).
        """
        settings = check_params(self)
        snapshot = self._snapshot()
        try:
            if before is not None:
                before()
            self._fit_checked(X, y, sample_weight, incremental, settings)
        except BaseException:
            self._restore(snapshot)
            raise
        return self

    def _fit_checked(self, X, y, sample_weight, incremental, settings):
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        net = None if first_pass else network.synced_network(self)
        dtype = settings.dtype if net is None else net.dtype
        X, T = self._validate_input(X, y, incremental, reset=first_pass, dtype=dtype)
        w = check_sample_weight(sample_weight, X.shape[0], T.dtype)
        self.n_outputs_ = T.shape[1]
        layer_units = [X.shape[1], *settings.hidden_sizes, T.shape[1]]
        rng = network.random_state(self.random_state)
        if first_pass:
            net = self._initialize(layer_units, T.dtype, rng)
        elif net.sizes != layer_units:
            raise ValueError(
                f"warm_start or partial_fit continues a network of layer sizes {net.sizes}, "
                f"but the data and hidden_layer_sizes={self.hidden_layer_sizes!r} need "
                f"{layer_units}; fit anew (warm_start=False)"
            )
        if self.solver != "lbfgs" and not hasattr(self, "loss_curve_"):
            self._reset_progress()
        code = loss_code(self.out_activation_)
        if self.solver == "lbfgs":
            training.fit_lbfgs(self, net, code, X, T, w)
        else:
            training.fit_stochastic(self, net, code, X, T, w, settings, rng, incremental)
        if first_non_finite(net.theta) >= 0:
            raise ValueError(training.NON_FINITE)

    def _initialize(self, layer_units, dtype, rng):
        """scikit-learn's ``_initialize``: a new network and fresh fitted attributes."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        parameters = network.initial_parameters(rng, layer_units, self.activation, dtype)
        net = network.new_network(
            layer_units, self.activation, self.out_activation_, dtype, self.backend, parameters
        )
        network.attach(self, net)
        self._best_theta = net.theta.copy()
        if self.solver != "lbfgs":
            self._reset_progress()
        return net

    def _reset_progress(self) -> None:
        # The record of a stochastic fit, kept across warm starts and partial_fit.
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -math.inf
            self.best_loss_: float | None = None
        else:
            self.best_loss_ = math.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    # ------------------------------------------------------------ predicting

    def _raw_outputs(self, X: Any) -> NDArray[Any]:
        """The network's outputs for an X already checked."""
        return network.network_outputs(network.synced_network(self), X, self.out_activation_)

    def _outputs(self, X: ArrayLike) -> NDArray[Any]:
        """Check ``X`` against the fit, then return the network's outputs."""
        self._check_fitted()
        net = network.synced_network(self)
        X = check_inputs(self, X, reset=False, dtype=net.dtype)
        return network.network_outputs(net, X, self.out_activation_)

    def _output_activation(self) -> str:
        raise NotImplementedError

    def _default_output(self) -> str:
        """The output activation of a network built from assigned ``coefs_``."""
        return self._output_activation()

    def _validate_input(self, X, y, incremental, *, reset, dtype):
        raise NotImplementedError

    def _score_outputs(self, outputs, targets, sample_weight) -> float:
        raise NotImplementedError
