"""The solvers: scikit-learn's training loop, each epoch one call of a compiled kernel.

:func:`fit_stochastic` is scikit-learn's ``_fit_stochastic`` (shuffling drawn
from the same generator, the learning-rate schedules, ``tol`` and
``n_iter_no_change``, early stopping on a validation split, the
ConvergenceWarning), with each epoch trained by :func:`fastnn.kernels.weighted.
weighted_epoch_batch` (or ``weighted_epoch_sample`` for ``batch_size=1``).
:func:`fit_lbfgs` hands scipy's L-BFGS-B the compiled full-batch loss and
gradient of the flat parameter vector.
"""

import warnings
from typing import Any

import numpy as np

from fastnn import optimizers as optimizers_module
from fastnn.estimators.errors import ConvergenceWarning, user_stacklevel, warn
from fastnn.estimators.inputs import is_sparse
from fastnn.estimators.split import validation_split
from fastnn.kernels import codes, first_non_finite, reference, weighted, weighted_sample
from fastnn.kernels.bundles import Group
from fastnn.network.architecture import Architecture
from fastnn.training.engine import allocate_member

# Rows densified per kernel call when X is sparse (rounded to whole batches), and
# rows per call of the full-batch gradient (bounds its work buffers).
SPARSE_CHUNK = 4096
GRADIENT_CHUNK = 8192

NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)


class _Compiled:
    """The compiled kernels of :mod:`fastnn.kernels.weighted` and ``weighted_sample``."""

    weighted_gradient = staticmethod(weighted.weighted_gradient)
    weight_sumsq = staticmethod(weighted.weight_sumsq)
    add_weight_penalty = staticmethod(weighted.add_weight_penalty)
    weighted_epoch_batch = staticmethod(weighted.weighted_epoch_batch)
    weighted_epoch_sample = staticmethod(weighted_sample.weighted_epoch_sample)


def kernels_of(backend: str) -> Any:
    """The compiled kernels, or their NumPy twins for ``backend="numpy"``."""
    return _Compiled if backend == "numba" else reference


class Optimizer:
    """The optimizer of a stochastic fit (scikit-learn's ``_optimizer``).

    It holds what the kernels update (state vectors, step count) and the
    learning-rate schedule scikit-learn applies between epochs. ``learning_rate``
    is the current rate, as scikit-learn's optimizers expose it.
    """

    def __init__(self, estimator: Any, n_params: int, dtype: np.dtype[Any]) -> None:
        solver = estimator.solver
        self.solver = solver
        self.learning_rate_init = float(estimator.learning_rate_init)
        self._rate = self.learning_rate_init
        self.lr_schedule = estimator.learning_rate
        self.power_t = float(estimator.power_t)
        self.state = np.zeros((codes.STATE_ROWS, n_params), dtype=dtype)
        self.step = np.zeros(1, dtype=np.int64)
        if solver == "sgd":
            self.code = codes.SKLEARN_SGD
            self.hyper = np.zeros(codes.HYPER_SIZE, dtype=dtype)
            self.hyper[codes.SGD_MOMENTUM] = estimator.momentum
            self.hyper[codes.SGD_NESTEROV] = float(bool(estimator.nesterovs_momentum))
        elif solver == "adam":
            self.code = codes.SKLEARN_ADAM
            self.hyper = np.zeros(codes.HYPER_SIZE, dtype=dtype)
            self.hyper[codes.ADAM_BETA1] = estimator.beta_1
            self.hyper[codes.ADAM_BETA2] = estimator.beta_2
            self.hyper[codes.ADAM_EPS] = estimator.epsilon
        else:
            extra = {}
            if solver == "adamw":
                extra = {"betas": (estimator.beta_1, estimator.beta_2), "eps": estimator.epsilon}
            chosen = optimizers_module.get(solver, lr=self.learning_rate_init, **extra)
            self.code = chosen.code
            self.hyper = chosen.hyper_vector(dtype)

    @property
    def learning_rate(self) -> float:
        """The current learning rate (Adam's: the bias-corrected rate of its last step)."""
        if self.solver == "adam" and self.step[0] > 0:
            t = int(self.step[0])
            beta1, beta2 = float(self.hyper[codes.ADAM_BETA1]), float(self.hyper[codes.ADAM_BETA2])
            return self.learning_rate_init * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        return self._rate

    def hyper_vector(self) -> Any:
        """The kernels' hyper-parameters, with this epoch's learning rate."""
        self.hyper[codes.LR] = self._rate
        return self.hyper

    def iteration_ends(self, time_step: int) -> None:
        """scikit-learn's 'invscaling' (SGD only): ``lr_init / (time_step + 1)**power_t``."""
        if self.solver == "sgd" and self.lr_schedule == "invscaling":
            self._rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, message: str, verbose: Any) -> bool:
        """Stop, or (SGD with 'adaptive') divide the learning rate by 5 and go on."""
        if self.solver != "sgd" or self.lr_schedule != "adaptive":
            if verbose:
                print(message + " Stopping.")
            return True
        if self._rate <= 1e-6:
            if verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self._rate /= 5.0
        if verbose:
            print(message + f" Setting learning rate to {self._rate:f}")
        return False


class EpochRunner:
    """Trains epochs of one fit through the kernels, with work buffers made once.

    A sparse X is densified a few thousand rows at a time (whole batches), in the
    epoch's order, so memory stays bounded and the kernels see dense rows.
    """

    def __init__(self, net, loss_code, X, T, w, batch_size, alpha, optimizer):
        self.net, self.loss_code = net, loss_code
        self.X, self.T, self.w = X, T, w
        self.batch_size = batch_size
        self.alpha = float(alpha)
        self.optimizer = optimizer
        self.kernels = kernels_of(net.backend)
        self.layout = np.array(net.layout)
        self.eps = float(np.finfo(net.dtype).eps)
        architecture = Architecture.checked(
            net.sizes, net.hidden, net.output, net.init, net.dtype, net.dropout
        )
        # The kernels' bundles (fastnn.kernels.bundles): work buffers made once.
        self.member = allocate_member(architecture, batch_size, X.shape[0])
        self.w_batch = np.zeros(batch_size, dtype=net.dtype)
        n_rows = X.shape[0]
        self.n_steps = -(-n_rows // batch_size)
        self.sizes = np.full(self.n_steps, batch_size, dtype=np.float64)
        self.sizes[-1] = n_rows - batch_size * (self.n_steps - 1)

    def _call(self, X, T, w, order, losses):
        opt = self.optimizer
        group = Group(self.layout, self.loss_code, opt.code, self.batch_size, X, T)
        member = self.member._replace(
            theta=self.net.theta,
            state=opt.state,
            hyper=opt.hyper_vector(),
            step=opt.step,
            order=order,
            losses=losses,
        )
        if self.batch_size == 1:
            return self.kernels.weighted_epoch_sample(group, member, w, self.alpha, self.eps)
        return self.kernels.weighted_epoch_batch(
            group, member, w, self.w_batch, self.alpha, self.eps
        )

    def epoch(self, order: Any) -> tuple[float, bool]:
        """Train one epoch in ``order``; return (its mean loss, whether it stayed finite)."""
        losses = np.zeros(self.n_steps)
        if not is_sparse(self.X):
            done = self._call(self.X, self.T, self.w, order, losses)
        else:
            chunk = self.batch_size * max(1, SPARSE_CHUNK // self.batch_size)
            done = 0
            for start in range(0, len(order), chunk):
                rows = order[start : start + chunk]
                dense = np.ascontiguousarray(self.X[rows].toarray())
                first = start // self.batch_size
                steps = -(-len(rows) // self.batch_size)
                ran = self._call(
                    dense, self.T[rows], self.w[rows], np.arange(len(rows)),
                    losses[first : first + steps],
                )  # fmt: skip
                done += ran
                if ran < steps:
                    break
        finite = done == self.n_steps and first_non_finite(self.net.theta) < 0
        return float(np.dot(losses, self.sizes) / self.sizes.sum()), finite


def _score(estimator, X, targets, sample_weight):
    """The validation score of early stopping (NaN if the predictions are not finite)."""
    outputs = estimator._raw_outputs(X)
    if not np.all(np.isfinite(outputs)):
        return float("nan")
    return estimator._score_outputs(outputs, targets, sample_weight)


def _update_no_improvement_count(est, early_stopping, X_val, T_val, w_val):
    # scikit-learn's rule: no improvement by more than tol, on the validation
    # score with early stopping, else on the training loss.
    if early_stopping:
        score = _score(est, X_val, T_val, w_val)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_theta = est.net_.theta.copy()
        return
    if est.loss_curve_[-1] > est.best_loss_ - est.tol:
        est._no_improvement_count += 1
    else:
        est._no_improvement_count = 0
    if est.loss_curve_[-1] < est.best_loss_:
        est.best_loss_ = est.loss_curve_[-1]


def _batch_size(estimator, n_samples):
    if estimator.batch_size == "auto":
        return min(200, n_samples)
    if estimator.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            stacklevel=user_stacklevel(),
        )
    return int(np.clip(estimator.batch_size, 1, n_samples))


def _split(est, X, T, w, rng):
    """Hold out the validation rows of early stopping, as scikit-learn draws them."""
    # Stratified on the binary target only (scikit-learn does not stratify
    # multiclass or multilabel targets), with its labels' text as the strata.
    strata = None
    if est._estimator_type == "classifier" and est.n_outputs_ == 1:
        strata = np.where(T[:, 0] != 0, "True", "False")
    train, held_out = validation_split(X.shape[0], est.validation_fraction, rng, strata)
    if len(held_out) < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the size "
            "of your dataset."
        )
    return (X[train], T[train], w[train]), (X[held_out], T[held_out], w[held_out])


def fit_stochastic(est, net, loss_code, X, T, w, settings, rng, incremental):
    """scikit-learn's ``_fit_stochastic`` on the compiled epoch kernels."""
    if not incremental or not hasattr(est, "_optimizer"):
        est._optimizer = Optimizer(est, net.n_params, net.dtype)
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    early_stopping = est.early_stopping
    if early_stopping:
        (X, T, w), validation = _split(est, X, T, w, rng)
    else:
        validation = (None, None, None)
    n_samples = X.shape[0]
    order = np.arange(n_samples)
    runner = EpochRunner(
        net, loss_code, X, T, w, _batch_size(est, n_samples), est.alpha, est._optimizer
    )
    try:
        est.n_iter_ = 0
        for _ in range(est.max_iter):
            if est.shuffle:
                permutation = np.arange(n_samples)
                rng.shuffle(permutation)
                order = order[permutation]
            loss, finite = runner.epoch(order)
            if not finite:
                _diverged(est, loss, early_stopping)
                break
            est.n_iter_ += 1
            est.loss_ = loss
            est.t_ += n_samples
            est.loss_curve_.append(loss)
            if est.verbose:
                print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
            _update_no_improvement_count(est, early_stopping, *validation)
            est._optimizer.iteration_ends(est.t_)
            if est._no_improvement_count > settings.n_iter_no_change:
                if early_stopping:
                    message = (
                        f"Validation score did not improve more than tol={est.tol:f} for "
                        f"{est.n_iter_no_change} consecutive epochs."
                    )
                else:
                    message = (
                        f"Training loss did not improve more than tol={est.tol:f} for "
                        f"{est.n_iter_no_change} consecutive epochs."
                    )
                if est._optimizer.trigger_stopping(message, est.verbose):
                    break
                est._no_improvement_count = 0
            if incremental:
                break
            if est.n_iter_ == est.max_iter:
                warn(
                    ConvergenceWarning,
                    f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and "
                    "the optimization hasn't converged yet.",
                )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=user_stacklevel())
    if early_stopping:
        net.theta[...] = est._best_theta


def _diverged(est, loss, early_stopping):
    """An epoch's loss or weights became NaN or inf: stop, as scikit-learn would end.

    Without early stopping scikit-learn trains on to non-finite weights and raises
    ValueError; so does this (and the estimator's ``_fit`` puts back the previous
    fit). With early stopping it keeps the best validation epoch's weights: so does
    this (``fit_stochastic`` restores them), and warns.
    """
    if not early_stopping:
        raise ValueError(
            f"{NON_FINITE} (The training loss became {loss} in iteration "
            f"{est.n_iter_ + 1}; lower learning_rate_init, or scale X.)"
        )
    est.n_iter_ += 1
    est.loss_ = loss
    est.loss_curve_.append(loss)
    est.validation_scores_.append(float("nan"))
    warn(
        ConvergenceWarning,
        f"Training diverged in iteration {est.n_iter_} (the loss became {loss}); "
        "stopped, keeping the weights of the best validation score.",
    )


def full_batch_loss(net, loss_code, X, T, w, alpha, grad):
    """scikit-learn's full-batch loss of the network, its gradient written to ``grad``."""
    k = kernels_of(net.backend)
    layout = np.array(net.layout)
    theta = net.theta
    eps = float(np.finfo(net.dtype).eps)
    scale = 1.0 / float(np.sum(w, dtype=np.float64))
    units = int(layout[:, codes.FAN_OUT].sum())
    rows = min(GRADIENT_CHUNK, X.shape[0])
    acts = np.empty(rows * units, dtype=net.dtype)
    deltas = np.empty_like(acts)
    y = np.empty((rows, net.sizes[-1]), dtype=net.dtype)
    part = np.empty_like(grad) if X.shape[0] > rows else grad
    total = 0.0
    for start in range(0, X.shape[0], rows):
        block = slice(start, start + rows)
        x = X[block]
        x = np.ascontiguousarray(x.toarray()) if is_sparse(x) else x
        m = x.shape[0]
        total += k.weighted_gradient(
            theta, layout, loss_code, x, T[block], w[block], scale, eps, acts, deltas, y[:m],
            part,
        )  # fmt: skip
        if part is not grad:
            if start == 0:
                grad[...] = part
            else:
                grad += part
    loss = total * scale
    if alpha != 0:
        loss += 0.5 * alpha * k.weight_sumsq(theta, layout) * scale
        k.add_weight_penalty(theta, layout, alpha * scale, grad)
    return loss


def fit_lbfgs(est, net, loss_code, X, T, w):
    """scikit-learn's ``_fit_lbfgs``: scipy's L-BFGS-B on the compiled loss and gradient."""
    import scipy
    import scipy.optimize

    grad = np.zeros(net.n_params, dtype=net.dtype)

    def loss_and_gradient(x):
        net.theta[...] = x
        loss = full_batch_loss(net, loss_code, X, T, w, est.alpha, grad)
        return loss, grad.astype(np.float64)

    options = {"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol}
    if tuple(int(part) for part in scipy.__version__.split(".")[:2]) < (1, 15):
        options["iprint"] = 1 if est.verbose is True or est.verbose >= 1 else -1
    result = scipy.optimize.minimize(
        loss_and_gradient,
        net.theta.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        options=options,
    )
    est.n_iter_ = min(result.nit, est.max_iter)
    if result.status != 0:
        message = (
            f"lbfgs failed to converge after {est.n_iter_} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if est.n_iter_ == est.max_iter:
            message += (
                "\nIncrease the number of iterations to improve the convergence "
                f"(max_iter={est.max_iter})."
            )
        message += (
            "\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html"
        )
        warn(ConvergenceWarning, message)
    est.loss_ = float(result.fun)
    net.theta[...] = result.x
