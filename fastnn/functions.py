"""The course's ``common/functions.py``, backed by fastnn's compiled kernels.

A notebook of the Japanese deep-learning course that starts with
``from common import functions`` runs unchanged after
``from fastnn import functions``: every name below keeps the course's
signature, argument order and values. The activations (:func:`step_function`,
:func:`sigmoid`, :func:`relu`, :func:`softmax`, :func:`d_sigmoid`,
:func:`d_relu`) call the Numba kernels of :mod:`fastnn.kernels.activations`; the
losses, their output deltas and the numerical tools are short NumPy code, as
in the course.

Mapping to the course
---------------------
================================  ===================================================
course (``common/functions.py``)  here
================================  ===================================================
``step_function(x)``              same values, returned as floats (course: ints)
``sigmoid(x)``                    same values, without overflow warnings
``relu(x)``                       same values (NaN stays NaN, as ``np.maximum``)
``softmax(x)``                    same for 1-D and 2-D; N-D: over the last axis
``mean_squared_error(d, y)``      same: ``mean(square(d - y)) / 2``
``cross_entropy_error(d, y)``     same, with the ``+ 1e-7``; labels are checked
``softmax_with_loss(d, x)``       same
``d_sigmoid(x)``                  same, from the pre-activation ``x``
``d_relu(x)``                     same values, returned as floats (course: ints)
``d_step_function(x)``            zeros shaped like ``x`` (course: the integer 0)
``d_mean_squared_error(d, y)``    same, including the course's ``type(d)`` rule
``d_softmax_with_loss(d, y)``     same; labels are checked
``d_sigmoid_with_loss(d, y)``     same: ``y - d``
``numerical_gradient(f, x)``      any shape of ``x`` (course: 1-D only)
``gradient_descent(f, init_x)``   from ゼロから作るDeep Learning, ch. 4
================================  ===================================================

The course's ``im2col`` and ``col2im`` (convolutions) are not provided.

Differences from deep-learning-from-scratch
--------------------------------------------
The book's ``common/functions.py`` writes the output first:
``cross_entropy_error(y, t)`` and ``mean_squared_error(y, t)``. The course, and
this module, put the target first: ``cross_entropy_error(d, y)``. Swapping the
arguments does not raise for one-hot targets of the same shape; it silently
gives a wrong value, so check the order when porting code from the book. The
book's ``mean_squared_error`` is ``0.5 * sum((y - t)**2)`` (a sum, not a mean),
and its ``sigmoid_grad(x)`` / ``relu_grad(x)`` are this module's
:func:`d_sigmoid` / :func:`d_relu`.

Differences from :class:`fastnn.MLP`
------------------------------------
``MLP.loss`` follows the conventions of docs/design.md (section 3), which are not the
course's loss functions: its mean squared error is ``0.5 * sum((y - t)**2) /
batch`` (this module's :func:`mean_squared_error` divides by the number of
*elements*, so the two agree only with one output unit), and its cross-entropy
is computed from the logits with log-sum-exp, without the ``+ 1e-7``.

Conventions
-----------
Inputs may be Python scalars, (nested) lists or arrays of any shape. Integers
and booleans become float64; float32 stays float32 and float64 stays float64
(other float types become float64). When two arrays are combined and only one
of them is floating point (say integer one-hot targets and float32 outputs),
the other is cast to its dtype, so float32 stays float32 end to end. Array
results have the input's shape; a 0-d input gives a NumPy scalar
(``np.float64`` or ``np.float32``), as NumPy's ufuncs do, and the losses always
return a NumPy scalar. No input array is modified, except that
:func:`numerical_gradient` perturbs ``x`` in place and puts every element back.
"""

import numbers
from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastnn import kernels
from fastnn.kernels import activation_derivative, activation_forward, first_non_finite
from fastnn.kernels.codes import RELU, SIGMOID, STEP
from fastnn.validation import check_int

__all__ = [
    "step_function",
    "sigmoid",
    "relu",
    "softmax",
    "mean_squared_error",
    "cross_entropy_error",
    "softmax_with_loss",
    "d_sigmoid",
    "d_relu",
    "d_step_function",
    "d_mean_squared_error",
    "d_softmax_with_loss",
    "d_sigmoid_with_loss",
    "numerical_gradient",
    "gradient_descent",
]

#: A float32 or float64 array.
FloatArray: TypeAlias = NDArray[np.floating[Any]]
#: What the elementwise functions return: an array shaped like the input, or a NumPy
#: scalar (``np.float64`` or ``np.float32``) for a 0-d input.
FloatResult: TypeAlias = NDArray[np.floating[Any]] | np.floating[Any]

# Central-difference step of the course and of the book.
_H = 1e-4
# Added inside the log by the course's cross_entropy_error, so log(0) never happens.
_LOG_EPS = 1e-7


# ---------------------------------------------------------------- input handling


def _as_numeric(name: str, values: ArrayLike) -> NDArray[Any]:
    """Return ``values`` as an ndarray of real numbers (any dtype), else raise TypeError."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be array-like numbers: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got dtype {array.dtype} (from {type(values).__name__})"
        )
    return array


def _float_dtype(*arrays: NDArray[Any]) -> np.dtype[Any]:
    """The float dtype that results from combining ``arrays``: float32 only if all floats are."""
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    # In either byte order: a big-endian float32 array (read from a file) is float32 too.
    if floats and all(dtype.newbyteorder("=") == np.float32 for dtype in floats):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _as_float(name: str, values: ArrayLike, dtype: np.dtype[Any] | None = None) -> FloatArray:
    """Return ``values`` as a C-contiguous float32/float64 array (a copy only if needed)."""
    array = _as_numeric(name, values)
    if dtype is None:
        dtype = _float_dtype(array)
    # np.asarray with order="C" keeps 0-d arrays 0-d (np.ascontiguousarray does not).
    return np.asarray(array, dtype=dtype, order="C")


def _as_float_pair(d: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return ``d`` and ``y`` as float arrays of one dtype (see the module's Conventions)."""
    d_raw, y_raw = _as_numeric("d", d), _as_numeric("y", y)
    dtype = _float_dtype(d_raw, y_raw)
    return _as_float("d", d_raw, dtype), _as_float("y", y_raw, dtype)


def _check_same_shape(d: NDArray[Any], y: NDArray[Any]) -> None:
    """Raise ValueError unless ``d - y`` is elementwise over the larger of the two shapes.

    Equal shapes pass, and so does a smaller operand that broadcasts into the
    larger one (a scalar target, or one target row for a whole batch). Shapes
    that would broadcast *both* ways, such as ``(5,)`` against ``(5, 1)``, are
    refused: NumPy would silently make a ``(5, 5)`` table of differences.
    """
    if d.shape == y.shape:
        return
    try:
        shape = np.broadcast_shapes(d.shape, y.shape)
    except ValueError:
        shape = None
    if shape not in (d.shape, y.shape):
        raise ValueError(
            f"the shapes of d {d.shape} and y {y.shape} do not match: d - y must be "
            "elementwise (same shape, or one broadcasts into the other)"
        )


def _result(array: FloatArray) -> FloatResult:
    """Return a 0-d array as a NumPy scalar and any other array as it is."""
    return array[()] if array.ndim == 0 else array


def _elementwise(kernel: Callable[..., Any], code: int, name: str, x: ArrayLike) -> FloatArray:
    """Run ``kernel(code, x, out)`` over ``x`` viewed as one row; return ``out`` shaped as ``x``."""
    u = _as_float(name, x)
    row = u.reshape(1, -1)
    out = np.empty_like(row)
    kernel(code, row, out)
    return out.reshape(u.shape)


def _labels(d: NDArray[Any], batch: int, classes: int) -> NDArray[np.intp]:
    """Return class labels ``d`` as a 1-D intp array of ``batch`` values in ``[0, classes)``."""
    if d.dtype.kind == "b":
        raise TypeError("d holds booleans; class labels must be integers")
    d = d.reshape(-1)
    if d.dtype.kind == "f":
        if not np.all(np.isfinite(d)) or np.any(d != np.round(d)):
            raise ValueError("d holds class labels that are not whole numbers")
    labels = d.astype(np.intp)
    if labels.shape[0] and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise ValueError(
            f"d holds class label {bad}, out of range: y has {classes} classes, so labels "
            f"must be in [0, {classes - 1}]"
        )
    return labels


# ---------------------------------------------------------------- activations


def step_function(x: ArrayLike) -> FloatResult:
    """Step function: 1 where ``x > 0``, else 0.

    The course's ``np.where(x > 0, 1, 0)``, computed by the compiled kernel.

    Parameters
    ----------
    x : array_like
        Real numbers, any shape.

    Returns
    -------
    ndarray or NumPy scalar
        Zeros and ones shaped like ``x``, as floats of ``x``'s float dtype
        (the course returns integers; the values are the same). NaN gives 0.
    """
    return _result(_elementwise(activation_forward, STEP, "x", x))


def sigmoid(x: ArrayLike) -> FloatResult:
    """Logistic sigmoid ``1 / (1 + exp(-x))``.

    The kernel branches on the sign of ``x`` so ``exp`` never overflows:
    ``sigmoid(-1000)`` is 0 and ``sigmoid(1000)`` is 1, with no warning.

    Parameters
    ----------
    x : array_like
        Real numbers, any shape.

    Returns
    -------
    ndarray or NumPy scalar
        Values in [0, 1] shaped like ``x``.
    """
    return _result(_elementwise(activation_forward, SIGMOID, "x", x))


def relu(x: ArrayLike) -> FloatResult:
    """Rectified linear unit ``np.maximum(0, x)``.

    Parameters
    ----------
    x : array_like
        Real numbers, any shape.

    Returns
    -------
    ndarray or NumPy scalar
        ``max(0, x)`` shaped like ``x``. NaN stays NaN, as with ``np.maximum``.
    """
    u = _as_float("x", x)
    row = u.reshape(1, -1)
    out = np.empty_like(row)
    activation_forward(RELU, row, out)
    # The kernel maps NaN to 0 (NaN > 0 is false); np.maximum propagates it, so
    # put NaN back, after a compiled scan that costs nothing on clean data.
    if first_non_finite(row) >= 0:
        nan = np.isnan(row)
        out[nan] = row[nan]
    return _result(out.reshape(u.shape))


def softmax(x: ArrayLike) -> FloatResult:
    """Softmax, shifted by the maximum so that large inputs do not overflow.

    Parameters
    ----------
    x : array_like
        A vector of scores (1-D), a batch with one row per sample (2-D), or
        more dimensions (softmax over the last axis).

    Returns
    -------
    ndarray or NumPy scalar
        Probabilities shaped like ``x``; each row (each vector along the last
        axis) sums to 1. ``softmax([1000, 0])`` is ``[1, 0]``.

    Notes
    -----
    For 1-D and 2-D input this is the course's definition (it transposes a 2-D
    batch and normalises over axis 0, which is the row-wise softmax). For 3-D
    and more the course normalises over all elements at once; here each vector
    along the last axis is normalised, as for a batch. A 0-d input gives 1.0.
    """
    z = _as_float("x", x)
    if z.size == 0:
        return z.copy()
    rows = z.reshape(-1, z.shape[-1]) if z.ndim else z.reshape(1, 1)
    out = np.empty_like(rows)
    kernels.softmax(rows, out)
    return _result(out.reshape(z.shape))


# ---------------------------------------------------------------- losses


def mean_squared_error(d: ArrayLike, y: ArrayLike) -> np.floating[Any]:
    """Mean squared error of the course: ``np.mean(np.square(d - y)) / 2``.

    Parameters
    ----------
    d : array_like
        Targets.
    y : array_like
        Network outputs, the same shape as ``d`` (or one of the two broadcasts
        into the other, e.g. a scalar target).

    Returns
    -------
    NumPy scalar
        The loss, in the float dtype of the inputs.

    Raises
    ------
    ValueError
        If ``d - y`` would broadcast both operands (e.g. shapes ``(5,)`` and
        ``(5, 1)``) or the shapes do not broadcast at all.

    Notes
    -----
    The mean runs over *all* elements, then is halved. ``fastnn.MLP.loss``
    (and deep-learning-from-scratch) use ``0.5 * sum((y - t)**2) / batch``
    instead, which is larger by the number of output units: the two agree only
    when the network has one output.
    """
    d, y = _as_float_pair(d, y)
    _check_same_shape(d, y)
    # Halve in the inputs' dtype: NumPy 1.x turns a float32 scalar divided by the Python
    # int 2 into float64 (value-based casting), NumPy 2 keeps float32.
    return np.mean(np.square(d - y)) / d.dtype.type(2)


def cross_entropy_error(d: ArrayLike, y: ArrayLike) -> np.floating[Any]:
    """Cross-entropy of the course: ``-sum(log(y[i, d_i] + 1e-7)) / batch``.

    Parameters
    ----------
    d : array_like
        Targets, **first** (the course's order): one-hot, shaped like ``y``, or
        integer class labels, one per sample.
    y : array_like
        Predicted probabilities (softmax outputs): one sample (1-D, classes) or
        a batch (2-D, batch x classes).

    Returns
    -------
    NumPy scalar
        The mean cross-entropy over the batch, in ``y``'s float dtype.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D or 2-D, if ``d`` has neither ``y``'s size (one-hot)
        nor one value per sample (labels), or if a label is not in
        ``[0, classes)``.

    Notes
    -----
    As in the course, a 1-D ``y`` is one sample, and a one-hot ``d`` (same size
    as ``y``) is turned into labels with ``argmax``. The ``+ 1e-7`` keeps
    ``log(0)`` away, so a confident wrong answer costs about 16.1, not inf.

    deep-learning-from-scratch names this ``cross_entropy_error(y, t)`` with the
    output first; here the target comes first. ``fastnn.MLP.loss`` computes the
    cross-entropy from the logits with log-sum-exp and no ``+ 1e-7``, so the
    two differ slightly, most when an output probability is near 0.
    """
    d = _as_numeric("d", d)
    y = _as_float("y", y)
    one_sample = y.ndim == 1
    if one_sample:
        d = d.reshape(1, d.size)
        y = y.reshape(1, y.size)
    if y.ndim != 2 or y.size == 0:
        raise ValueError(
            "y must be one sample (classes,) or a non-empty batch (batch, classes), "
            f"got shape {y.shape}"
        )
    batch, classes = y.shape
    if d.shape == y.shape:
        labels = d.argmax(axis=1)
    elif d.size == batch and (d.ndim <= 1 or one_sample):
        labels = _labels(d, batch, classes)
    else:
        raise ValueError(
            f"the shapes of d {d.shape} and y {y.shape} do not match: d must be one-hot "
            f"with y's shape, or hold {batch} class label(s) in a 1-D array"
        )
    picked = y[np.arange(batch), labels]
    return -np.sum(np.log(picked + y.dtype.type(_LOG_EPS))) / y.dtype.type(batch)


def softmax_with_loss(d: ArrayLike, x: ArrayLike) -> np.floating[Any]:
    """Softmax of the scores ``x``, then :func:`cross_entropy_error` against ``d``.

    Parameters
    ----------
    d : array_like
        Targets: one-hot shaped like ``x``, or class labels.
    x : array_like
        Scores (logits): 1-D for one sample, 2-D for a batch.

    Returns
    -------
    NumPy scalar
        ``cross_entropy_error(d, softmax(x))``.
    """
    return cross_entropy_error(d, softmax(_as_float("x", x)))


# ---------------------------------------------------------------- derivatives


def d_sigmoid(x: ArrayLike) -> FloatResult:
    """Derivative of the sigmoid at the pre-activation ``x``: ``(1 - s) * s``, ``s = sigmoid(x)``.

    Parameters
    ----------
    x : array_like
        Pre-activations (the sigmoid's *input*, as in the course), any shape.

    Returns
    -------
    ndarray or NumPy scalar
        Values in [0, 0.25] shaped like ``x``.

    Notes
    -----
    The compiled derivative kernels (and ``fastnn.MLP``) take the activation's
    *output*; this function computes that output first, so its argument is the
    course's.
    """
    s = _elementwise(activation_forward, SIGMOID, "x", x)
    row = s.reshape(1, -1)
    out = np.empty_like(row)
    activation_derivative(SIGMOID, row, out)
    return _result(out.reshape(s.shape))


def d_relu(x: ArrayLike) -> FloatResult:
    """Derivative of ReLU: 1 where ``x > 0``, else 0 (so ReLU'(0) = 0).

    Parameters
    ----------
    x : array_like
        Pre-activations, any shape.

    Returns
    -------
    ndarray or NumPy scalar
        Zeros and ones shaped like ``x``, as floats (the course returns
        integers; the values are the same). NaN gives 0.
    """
    # The kernel reads the ReLU output a, and a > 0 exactly where x > 0, so x
    # can go in directly, saving a forward pass.
    return _result(_elementwise(activation_derivative, RELU, "x", x))


def d_step_function(x: ArrayLike) -> FloatResult:
    """Derivative of the step function: 0 everywhere (at 0 it does not exist).

    Parameters
    ----------
    x : array_like
        Pre-activations, any shape.

    Returns
    -------
    ndarray or NumPy scalar
        Zeros shaped like ``x``. The course returns the integer 0, which
        broadcasts to the same values.
    """
    return _result(np.zeros_like(_as_float("x", x)))


def d_mean_squared_error(d: ArrayLike, y: ArrayLike) -> FloatResult:
    """Derivative of :func:`mean_squared_error` as the course writes it.

    Parameters
    ----------
    d : ndarray or scalar
        Targets. If ``d`` is a NumPy array with at least one axis, the result is
        divided by the batch size ``d.shape[0]``; otherwise (a Python or NumPy
        scalar, a 0-d array, or a list) it is not, exactly as the course's
        ``type(d) == np.ndarray`` test does.
    y : array_like
        Network outputs, shaped like ``d``.

    Returns
    -------
    ndarray or NumPy scalar
        ``(y - d) / d.shape[0]`` or ``y - d``.

    Raises
    ------
    ValueError
        If the shapes of ``d`` and ``y`` cannot be subtracted elementwise.

    Notes
    -----
    This is the course's delta, not the exact gradient of
    :func:`mean_squared_error` (which divides by the number of elements). With
    one output unit it equals ``fastnn.MLP``'s output delta ``(y - t) / batch``.
    """
    is_batch = isinstance(d, np.ndarray) and d.ndim >= 1
    d_arr, y_arr = _as_float_pair(d, y)
    _check_same_shape(d_arr, y_arr)
    dx = y_arr - d_arr
    if is_batch:
        dx = dx / dx.dtype.type(d_arr.shape[0])
    return _result(np.asarray(dx))


def d_softmax_with_loss(d: ArrayLike, y: ArrayLike) -> FloatArray:
    """Output delta of softmax + cross-entropy: ``(y - d) / batch``.

    Parameters
    ----------
    d : array_like
        Targets: one-hot with ``y``'s shape, or integer class labels of shape
        ``(batch,)``.
    y : array_like
        Softmax outputs, ``(batch, classes)``.

    Returns
    -------
    ndarray
        The gradient of the mean cross-entropy with respect to the scores,
        shaped like ``y``. Labels and the matching one-hot targets give the
        same result.

    Raises
    ------
    ValueError
        If the shapes do not match, a label is not in ``[0, classes)``, or
        labels come with a 1-D ``y``.

    Notes
    -----
    As in the course, ``batch`` is ``d.shape[0]``; for a 1-D one-hot ``d``
    (one sample without a batch axis) that is the number of classes.
    """
    d = _as_numeric("d", d)
    y_raw = _as_numeric("y", y)
    if d.ndim == 0:
        raise ValueError(
            "d must be an array: one-hot targets shaped like y, or one class label per row "
            f"of y (shape {y_raw.shape})"
        )
    # One-hot rows have y's shape; labels (one per row) may have y's size too
    # when there is one class, so the shape decides, not the size.
    if d.shape == y_raw.shape or (d.size == y_raw.size and d.ndim != 1):
        d, y = _as_float_pair(d, y_raw)
        if d.shape != y.shape:
            raise ValueError(
                f"one-hot targets d of shape {d.shape} do not match y of shape {y.shape}"
            )
        return (y - d) / y.dtype.type(d.shape[0])
    y = _as_float("y", y_raw)
    if y.ndim != 2 or d.ndim != 1 or d.shape[0] != y.shape[0]:
        raise ValueError(
            f"the shapes of d {d.shape} and y {y.shape} do not match: d must be one-hot "
            "with y's shape, or one class label per row of a 2-D y"
        )
    batch, classes = y.shape
    labels = _labels(d, batch, classes)
    dx = y.copy()
    dx[np.arange(batch), labels] -= 1
    return dx / y.dtype.type(batch)


def d_sigmoid_with_loss(d: ArrayLike, y: ArrayLike) -> FloatResult:
    """Output delta of sigmoid + binary cross-entropy: ``y - d``.

    Parameters
    ----------
    d : array_like
        Targets in {0, 1} (or probabilities).
    y : array_like
        Sigmoid outputs, shaped like ``d``.

    Returns
    -------
    ndarray or NumPy scalar
        ``y - d``. As in the course it is not divided by the batch size
        (``fastnn.MLP``'s delta is ``(y - t) / batch``).

    Raises
    ------
    ValueError
        If the shapes of ``d`` and ``y`` cannot be subtracted elementwise.
    """
    d, y = _as_float_pair(d, y)
    _check_same_shape(d, y)
    return _result(np.asarray(y - d))


# ---------------------------------------------------------------- numerical tools


def numerical_gradient(f: Callable[[Any], Any], x: ArrayLike) -> FloatResult:
    """Gradient of ``f`` at ``x`` by central differences with ``h = 1e-4``.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar (a number or a one-element array).
    x : array_like
        The point, any shape. A float32/float64 ndarray is perturbed **in
        place**, one element at a time, and every element is put back (also if
        ``f`` raises), so ``x`` is unchanged at the end; this is what lets
        ``f`` ignore its argument and read the array through a closure, as in
        ``numerical_gradient(lambda W: net.loss(x, t), net.params["W1"])``.
        Anything else (a list, a scalar, an integer or read-only array) is
        first copied to float64 (float32 stays float32), and ``f`` receives
        the copy.

    Returns
    -------
    ndarray or NumPy scalar
        ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every element ``i``, shaped
        like ``x``, in ``x``'s float dtype.

    Raises
    ------
    TypeError
        If ``f`` is not callable or ``x`` does not hold real numbers.
    ValueError
        If ``f`` returns something other than one number.

    Notes
    -----
    The course's version indexes ``x[idx]`` for ``idx in range(x.size)``, so it
    works only for 1-D ``x``; the book's loops over every index with
    ``np.nditer``, this one with ``np.ndindex``. With
    float32 the step ``h`` is coarse relative to the float32 resolution; use
    float64 for gradient checks.
    """
    if not callable(f):
        raise TypeError(f"f must be callable (x -> scalar), got {type(f).__name__}")
    if isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64) and x.flags.writeable:
        point = x
    else:
        point = np.array(_as_float("x", x), copy=True)
    grad = np.zeros(point.shape, dtype=point.dtype)
    for index in np.ndindex(point.shape):
        saved = point[index]
        try:
            point[index] = saved + _H
            above = _scalar_value(f(point))
            point[index] = saved - _H
            below = _scalar_value(f(point))
        finally:
            point[index] = saved
        grad[index] = (above - below) / (2 * _H)
    return _result(grad)


def _scalar_value(value: Any) -> float:
    """Return ``f``'s result as a Python float, or raise ValueError if it is not one number."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise ValueError(
            f"f must return one real number, got {type(value).__name__} "
            f"with shape {array.shape} and dtype {array.dtype}"
        )
    return float(array.reshape(()))


def gradient_descent(
    f: Callable[[Any], Any], init_x: ArrayLike, lr: float = 0.01, step_num: int = 100
) -> tuple[FloatResult, FloatArray]:
    """Minimise ``f`` by gradient descent on numerical gradients.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar.
    init_x : array_like
        Starting point, any shape; copied (as float64, or float32 if it is
        float32), never modified.
    lr : float, default 0.01
        Learning rate, > 0.
    step_num : int, default 100
        Number of steps, >= 0.

    Returns
    -------
    x : ndarray or NumPy scalar
        The final point, shaped like ``init_x``.
    history : ndarray, shape (step_num, *init_x.shape)
        The point *before* each step: ``history[0]`` is ``init_x`` and the final
        ``x`` is not included, as in deep-learning-from-scratch's
        ``gradient_method.py``.

    Raises
    ------
    TypeError
        If ``f`` is not callable, ``init_x`` is not numeric, ``lr`` is not a
        real number or ``step_num`` not an integer.
    ValueError
        If ``lr`` is not a finite number > 0 or ``step_num`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.functions import gradient_descent
    >>> x, history = gradient_descent(lambda x: (x[0] - 1) ** 2 + (x[1] - 2) ** 2,
    ...                               np.array([0.0, 0.0]), lr=0.1, step_num=100)
    >>> np.round(x, 6), history.shape
    (array([1., 2.]), (100, 2))
    """
    if not callable(f):
        raise TypeError(f"f must be callable (x -> scalar), got {type(f).__name__}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(f"lr must be a real number, got {lr!r}")
    try:
        finite = np.isfinite(float(lr))
    except OverflowError:  # a Python int beyond the float range
        finite = False
    if not (finite and lr > 0):
        shown = repr(lr) if len(repr(lr)) <= 60 else f"{repr(lr)[:60]}..."
        raise ValueError(f"lr must be a finite number > 0, got {shown}")
    step_num = check_int("step_num", step_num, minimum=0)
    x = np.array(_as_float("init_x", init_x), copy=True)
    rate = x.dtype.type(lr)
    history = np.empty((step_num, *x.shape), dtype=x.dtype)
    for step in range(step_num):
        history[step] = x
        x -= rate * np.asarray(numerical_gradient(f, x), dtype=x.dtype)
    return _result(x), history
