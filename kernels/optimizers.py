"""One elementwise step per optimizer over the flat parameter vector.

Formulas and defaults follow ``torch.optim`` (DESIGN.md §4). Each optimizer is
described by three arrays the caller owns:

- ``hyper``: hyper-parameters in the slots below (same dtype as ``theta``);
- ``state``: shape ``(STATE_ROWS, n_params)``, the state vectors, zero at start;
- ``step``: int64 array of length 1, the number of steps taken so far.

Hyper-parameter slots (index into ``hyper``):

====  ========  =========  =========  ========  ============  ========  =========
slot  SGD       AdaGrad    RMSProp    Adadelta  Adam / AdamW
====  ========  =========  =========  ========  ============  ========  =========
0     lr        lr         lr         lr        lr
1     momentum  lr_decay   alpha      rho       beta1
2     dampening eps        eps        eps       beta2
3     nesterov  (unused)   momentum   (unused)  eps
4     wd        wd         wd         wd        wd (added to g)
5                          centered             amsgrad
6                                               wd (decoupled, AdamW)
====  ========  =========  =========  ========  ============  ========  =========

State rows: SGD ``[momentum_buffer]``; AdaGrad ``[sum]``; RMSProp
``[square_avg, grad_avg, momentum_buffer]``; Adadelta ``[square_avg,
acc_delta]``; Adam ``[exp_avg, exp_avg_sq, max_exp_avg_sq]``.
"""

import numpy as np

from kernels._jit import jit
from kernels.codes import ADADELTA, ADAGRAD, ADAM, RMSPROP, SGD

HYPER_SIZE = 8
STATE_ROWS = 3


@jit
def sgd_step(theta, grad, state, hyper, t):
    """SGD with optional momentum, dampening, Nesterov and weight decay (step ``t``)."""
    dt = theta.dtype.type
    lr, momentum, dampening, nesterov, decay = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4]
    keep = dt(1) - dampening
    buf = state[0]
    for k in range(theta.shape[0]):
        g = grad[k]
        if decay != 0:
            g += decay * theta[k]
        if momentum != 0:
            if t == 1:
                b = g
            else:
                b = momentum * buf[k] + keep * g
            buf[k] = b
            if nesterov != 0:
                g = g + momentum * b
            else:
                g = b
        theta[k] -= lr * g


@jit
def adagrad_step(theta, grad, state, hyper, t):
    """AdaGrad: ``s += g**2; theta -= lr / (1 + (t-1)*lr_decay) * g / (sqrt(s) + eps)``."""
    dt = theta.dtype.type
    lr, lr_decay, eps, decay = hyper[0], hyper[1], hyper[2], hyper[4]
    clr = dt(lr / (1.0 + (t - 1) * lr_decay))
    total = state[0]
    for k in range(theta.shape[0]):
        g = grad[k]
        if decay != 0:
            g += decay * theta[k]
        s = total[k] + g * g
        total[k] = s
        theta[k] -= clr * g / (np.sqrt(s) + eps)


@jit
def rmsprop_step(theta, grad, state, hyper, t):
    """RMSProp, optionally centered and with momentum, as ``torch.optim.RMSprop``."""
    dt = theta.dtype.type
    lr, alpha, eps, momentum, decay, centered = (
        hyper[0],
        hyper[1],
        hyper[2],
        hyper[3],
        hyper[4],
        hyper[5],
    )
    keep = dt(1) - alpha
    square_avg, grad_avg, buf = state[0], state[1], state[2]
    for k in range(theta.shape[0]):
        g = grad[k]
        if decay != 0:
            g += decay * theta[k]
        v = alpha * square_avg[k] + keep * g * g
        square_avg[k] = v
        if centered != 0:
            mean = alpha * grad_avg[k] + keep * g
            grad_avg[k] = mean
            denom = np.sqrt(v - mean * mean) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum > 0:
            b = momentum * buf[k] + g / denom
            buf[k] = b
            theta[k] -= lr * b
        else:
            theta[k] -= lr * g / denom


@jit
def adadelta_step(theta, grad, state, hyper, t):
    """Adadelta: ``v = rho v + (1-rho) g**2; d = sqrt(u+eps)/sqrt(v+eps) g``, then
    ``u = rho u + (1-rho) d**2`` and ``theta -= lr d``."""
    dt = theta.dtype.type
    lr, rho, eps, decay = hyper[0], hyper[1], hyper[2], hyper[4]
    keep = dt(1) - rho
    square_avg, acc_delta = state[0], state[1]
    for k in range(theta.shape[0]):
        g = grad[k]
        if decay != 0:
            g += decay * theta[k]
        v = rho * square_avg[k] + keep * g * g
        square_avg[k] = v
        d = np.sqrt(acc_delta[k] + eps) / np.sqrt(v + eps) * g
        acc_delta[k] = rho * acc_delta[k] + keep * d * d
        theta[k] -= lr * d


@jit
def adam_step(theta, grad, state, hyper, t):
    """Adam / AdamW (decoupled decay in slot 6), optionally AMSGrad."""
    dt = theta.dtype.type
    lr, beta1, beta2, eps = hyper[0], hyper[1], hyper[2], hyper[3]
    decay, amsgrad, decoupled = hyper[4], hyper[5], hyper[6]
    step_size = dt(lr / (1.0 - float(beta1) ** t))
    correction2_sqrt = dt(np.sqrt(1.0 - float(beta2) ** t))
    shrink = dt(1) - lr * decoupled
    keep1 = dt(1) - beta1
    keep2 = dt(1) - beta2
    exp_avg, exp_avg_sq, max_exp_avg_sq = state[0], state[1], state[2]
    for k in range(theta.shape[0]):
        g = grad[k]
        if decoupled != 0:
            theta[k] *= shrink
        if decay != 0:
            g += decay * theta[k]
        m = beta1 * exp_avg[k] + keep1 * g
        exp_avg[k] = m
        v = beta2 * exp_avg_sq[k] + keep2 * g * g
        exp_avg_sq[k] = v
        if amsgrad != 0:
            if v > max_exp_avg_sq[k]:
                max_exp_avg_sq[k] = v
            v = max_exp_avg_sq[k]
        theta[k] -= step_size * m / (np.sqrt(v) / correction2_sqrt + eps)


@jit
def optimizer_step(code, theta, grad, state, hyper, step):
    """Take one step of optimizer ``code``: ``step[0] += 1``, then update in place.

    Parameters
    ----------
    code : int
        SGD, ADAGRAD, RMSPROP, ADADELTA or ADAM (:mod:`kernels.codes`).
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
