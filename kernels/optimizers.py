"""One elementwise step per optimizer over the flat parameter vector.

Formulas and defaults follow ``torch.optim`` (docs/design.md, section 3). Each optimizer is
described by three arrays the caller owns:

- ``hyper``: hyper-parameters in the named slots of :mod:`.codes` (``LR``,
  ``SGD_MOMENTUM``, ``ADAM_BETA1``, ...), in the dtype of ``theta``;
- ``state``: shape ``(STATE_ROWS, n_params)``, the state vectors, zero at start (which
  row holds what: :mod:`.codes`);
- ``step``: int64 array of length 1, the number of steps taken so far.
"""

import numpy as np

from ._jit import jit
from .codes import (
    ADADELTA,
    ADADELTA_EPS,
    ADADELTA_RHO,
    ADAGRAD,
    ADAGRAD_EPS,
    ADAGRAD_LR_DECAY,
    ADAM,
    ADAM_AMSGRAD,
    ADAM_BETA1,
    ADAM_BETA2,
    ADAM_EPS,
    ADAMW_DECAY,
    LR,
    RMSPROP,
    RMSPROP_ALPHA,
    RMSPROP_CENTERED,
    RMSPROP_EPS,
    RMSPROP_MOMENTUM,
    SGD,
    SGD_DAMPENING,
    SGD_MOMENTUM,
    SGD_NESTEROV,
    STEP_DECAY,
    WEIGHT_DECAY,
)

# Decaying state (momentum buffers, running averages) of a parameter whose
# gradient stays zero (a blank pixel's weights) shrinks geometrically until it
# reaches the smallest subnormal number, where rounding keeps it for ever
# (0.9 * 1e-45 rounds back to 1e-45 in float32). Arithmetic on subnormals is
# 10-100x slower on x86, and per-sample Adam on MNIST-like data slowed down
# several-fold from it. So stored state below the smallest normal number is
# flushed to zero, as the CPU's flush-to-zero mode would do; it changes values
# only below 1e-38 (float32) or 1e-308 (float64).


@jit
def step_lr(hyper, t):
    """The learning rate of step ``t`` (from 1): ``lr / (1 + decay * (t - 1))``.

    ``decay`` is slot ``STEP_DECAY``, the per-step inverse-time decay of
    :class:`fastnn.schedules.InverseTimeDecay`; with 0 this is ``lr`` exactly.
    Computed in float64 and rounded once to the parameters' dtype.
    """
    return hyper.dtype.type(np.float64(hyper[LR]) / (1.0 + np.float64(hyper[STEP_DECAY]) * (t - 1)))


@jit
def smallest_normal(values):
    """Return the smallest positive normal number of ``values``' dtype."""
    if values.itemsize == 4:
        return values.dtype.type(1.1754943508222875e-38)
    return values.dtype.type(2.2250738585072014e-308)


@jit
def flush(value, tiny):
    """Return ``value``, or 0 if it is subnormal (``|value| < tiny``); branch-free."""
    return value if abs(value) >= tiny else tiny - tiny


# Each step keeps its inner loops free of branches: a test on a hyper-parameter
# inside the loop (amsgrad? nesterov?) stops LLVM from vectorising it, which
# costs 5-10x on these memory-light, arithmetic-heavy loops. So the choices
# are made once, outside, and weight decay is added unconditionally
# (g + 0 * theta == g for finite theta).


@jit
def sgd_step(theta, grad, state, hyper, t):
    """SGD with optional momentum, dampening, Nesterov and weight decay (step ``t``)."""
    dt = theta.dtype.type
    lr = step_lr(hyper, t)
    momentum, dampening = hyper[SGD_MOMENTUM], hyper[SGD_DAMPENING]
    nesterov, decay = hyper[SGD_NESTEROV], hyper[WEIGHT_DECAY]
    n = theta.shape[0]
    if momentum == 0:
        for k in range(n):
            theta[k] -= lr * (grad[k] + decay * theta[k])
        return
    keep = dt(1) - dampening
    tiny = smallest_normal(theta)
    buf = state[0]
    if t == 1:
        for k in range(n):
            buf[k] = grad[k] + decay * theta[k]
    else:
        for k in range(n):
            buf[k] = flush(momentum * buf[k] + keep * (grad[k] + decay * theta[k]), tiny)
    if nesterov != 0:
        for k in range(n):
            theta[k] -= lr * (grad[k] + decay * theta[k] + momentum * buf[k])
    else:
        for k in range(n):
            theta[k] -= lr * buf[k]


@jit
def adagrad_step(theta, grad, state, hyper, t):
    """AdaGrad: ``s += g**2; theta -= lr / (1 + (t-1)*lr_decay) * g / (sqrt(s) + eps)``."""
    dt = theta.dtype.type
    lr, lr_decay = step_lr(hyper, t), hyper[ADAGRAD_LR_DECAY]
    eps, decay = hyper[ADAGRAD_EPS], hyper[WEIGHT_DECAY]
    clr = dt(lr / (1.0 + (t - 1) * lr_decay))
    total = state[0]
    for k in range(theta.shape[0]):
        g = grad[k] + decay * theta[k]
        s = total[k] + g * g
        total[k] = s
        theta[k] -= clr * g / (np.sqrt(s) + eps)


@jit
def rmsprop_step(theta, grad, state, hyper, t):
    """RMSProp, optionally centered and with momentum, as ``torch.optim.RMSprop``."""
    dt = theta.dtype.type
    lr, alpha, eps = step_lr(hyper, t), hyper[RMSPROP_ALPHA], hyper[RMSPROP_EPS]
    momentum, centered = hyper[RMSPROP_MOMENTUM], hyper[RMSPROP_CENTERED]
    decay = hyper[WEIGHT_DECAY]
    keep = dt(1) - alpha
    tiny = smallest_normal(theta)
    square_avg, grad_avg, buf = state[0], state[1], state[2]
    n = theta.shape[0]
    if centered != 0:
        for k in range(n):
            g = grad[k] + decay * theta[k]
            v = flush(alpha * square_avg[k] + keep * g * g, tiny)
            square_avg[k] = v
            mean = flush(alpha * grad_avg[k] + keep * g, tiny)
            grad_avg[k] = mean
            # v and mean are flushed separately, so v - mean**2 can fall below
            # 0 by rounding; clamp it (NaN stays NaN: NaN < 0 is false).
            variance = v - mean * mean
            variance = dt(0) if variance < 0 else variance
            denom = np.sqrt(variance) + eps
            if momentum > 0:
                b = flush(momentum * buf[k] + g / denom, tiny)
                buf[k] = b
                theta[k] -= lr * b
            else:
                theta[k] -= lr * g / denom
    elif momentum > 0:
        for k in range(n):
            g = grad[k] + decay * theta[k]
            v = flush(alpha * square_avg[k] + keep * g * g, tiny)
            square_avg[k] = v
            b = flush(momentum * buf[k] + g / (np.sqrt(v) + eps), tiny)
            buf[k] = b
            theta[k] -= lr * b
    else:
        # The common case, kept free of branches so that it vectorises.
        for k in range(n):
            g = grad[k] + decay * theta[k]
            v = flush(alpha * square_avg[k] + keep * g * g, tiny)
            square_avg[k] = v
            theta[k] -= lr * g / (np.sqrt(v) + eps)


@jit
def adadelta_step(theta, grad, state, hyper, t):
    """Adadelta: ``v = rho v + (1-rho) g**2; d = sqrt(u+eps)/sqrt(v+eps) g``, then
    ``u = rho u + (1-rho) d**2`` and ``theta -= lr d``."""
    dt = theta.dtype.type
    lr, rho = step_lr(hyper, t), hyper[ADADELTA_RHO]
    eps, decay = hyper[ADADELTA_EPS], hyper[WEIGHT_DECAY]
    keep = dt(1) - rho
    tiny = smallest_normal(theta)
    square_avg, acc_delta = state[0], state[1]
    for k in range(theta.shape[0]):
        g = grad[k] + decay * theta[k]
        v = flush(rho * square_avg[k] + keep * g * g, tiny)
        square_avg[k] = v
        d = np.sqrt(acc_delta[k] + eps) / np.sqrt(v + eps) * g
        acc_delta[k] = flush(rho * acc_delta[k] + keep * d * d, tiny)
        theta[k] -= lr * d


@jit
def adam_step(theta, grad, state, hyper, t):
    """Adam / AdamW (decoupled decay in slot ``ADAMW_DECAY``), optionally AMSGrad."""
    dt = theta.dtype.type
    lr, beta1, beta2 = step_lr(hyper, t), hyper[ADAM_BETA1], hyper[ADAM_BETA2]
    eps, decay = hyper[ADAM_EPS], hyper[WEIGHT_DECAY]
    amsgrad, decoupled = hyper[ADAM_AMSGRAD], hyper[ADAMW_DECAY]
    step_size = dt(lr / (1.0 - float(beta1) ** t))
    correction2_sqrt = dt(np.sqrt(1.0 - float(beta2) ** t))
    keep1 = dt(1) - beta1
    keep2 = dt(1) - beta2
    tiny = smallest_normal(theta)
    exp_avg, exp_avg_sq, max_exp_avg_sq = state[0], state[1], state[2]
    n = theta.shape[0]
    if decoupled != 0:
        shrink = dt(1) - lr * decoupled
        for k in range(n):
            theta[k] *= shrink
    if amsgrad != 0:
        for k in range(n):
            g = grad[k] + decay * theta[k]
            m = flush(beta1 * exp_avg[k] + keep1 * g, tiny)
            exp_avg[k] = m
            v = flush(beta2 * exp_avg_sq[k] + keep2 * g * g, tiny)
            exp_avg_sq[k] = v
            v_max = max(max_exp_avg_sq[k], v)
            max_exp_avg_sq[k] = v_max
            theta[k] -= step_size * m / (np.sqrt(v_max) / correction2_sqrt + eps)
    else:
        for k in range(n):
            g = grad[k] + decay * theta[k]
            m = flush(beta1 * exp_avg[k] + keep1 * g, tiny)
            exp_avg[k] = m
            v = flush(beta2 * exp_avg_sq[k] + keep2 * g * g, tiny)
            exp_avg_sq[k] = v
            theta[k] -= step_size * m / (np.sqrt(v) / correction2_sqrt + eps)


@jit
def optimizer_step(code, theta, grad, state, hyper, step):
    """Take one step of optimizer ``code``: ``step[0] += 1``, then update in place.

    Parameters
    ----------
    code : int
        SGD, ADAGRAD, RMSPROP, ADADELTA or ADAM (:mod:`fastnn.kernels.codes`).
    theta, grad : ndarray, shape (n_params,)
    state : ndarray, shape (STATE_ROWS, n_params)
    hyper : ndarray, shape (HYPER_SIZE,)
    step : ndarray of int64, shape (1,)
    """
    step[0] += 1
    t = step[0]
    if code == SGD:
        sgd_step(theta, grad, state, hyper, t)
    elif code == ADAGRAD:
        adagrad_step(theta, grad, state, hyper, t)
    elif code == RMSPROP:
        rmsprop_step(theta, grad, state, hyper, t)
    elif code == ADADELTA:
        adadelta_step(theta, grad, state, hyper, t)
    elif code == ADAM:
        adam_step(theta, grad, state, hyper, t)
