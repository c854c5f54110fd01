"""fastnn.functions against the course's common/functions.py, written out here in plain NumPy."""

import warnings

import numpy as np
import pytest
from conftest import ATOL, RTOL, one_hot

from fastnn import functions

# ---------------------------------------------------------------- the course's definitions
# Copied from the course's common/functions.py (only the names differ), so that every test
# below compares fastnn against the textbook, not against itself.


def course_step_function(x):
    return np.where(x > 0, 1, 0)


def course_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def course_relu(x):
    return np.maximum(0, x)


def course_softmax(x):
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def course_mean_squared_error(d, y):
    return np.mean(np.square(d - y)) / 2


def course_cross_entropy_error(d, y):
    if y.ndim == 1:
        d = d.reshape(1, d.size)
        y = y.reshape(1, y.size)
    if d.size == y.size:
        d = d.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), d] + 1e-7)) / batch_size


def course_d_sigmoid(x):
    return (1.0 - course_sigmoid(x)) * course_sigmoid(x)


def course_d_relu(x):
    return np.where(x > 0, 1, 0)


def course_d_mean_squared_error(d, y):
    if type(d) == np.ndarray:  # noqa: E721 (the course's test, kept verbatim)
        batch_size = d.shape[0]
        dx = (y - d) / batch_size
    else:
        dx = y - d
    return dx


def course_d_softmax_with_loss(d, y):
    batch_size = d.shape[0]
    if d.size == y.size:
        dx = (y - d) / batch_size
    else:
        dx = y.copy()
        dx[np.arange(batch_size), d] -= 1
        dx = dx / batch_size
    return dx


def course_d_sigmoid_with_loss(d, y):
    return y - d


# ---------------------------------------------------------------- helpers

SHAPES = [(), (1,), (7,), (4, 5), (2, 3, 4)]
ELEMENTWISE = [
    (functions.step_function, course_step_function),
    (functions.sigmoid, course_sigmoid),
    (functions.relu, course_relu),
    (functions.d_sigmoid, course_d_sigmoid),
    (functions.d_relu, course_d_relu),
]
ELEMENTWISE_IDS = [fastnn.__name__ for fastnn, _ in ELEMENTWISE]


def textbook(function, *arrays):
    """The course's function on float64 copies, with its overflow warnings silenced."""
    with np.errstate(over="ignore"):
        return function(*(np.asarray(a, dtype=np.float64) for a in arrays))


def assert_close(actual, expected, dtype):
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=ATOL[dtype])


@pytest.fixture
def no_warnings():
    """Turn every warning into an error inside the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def values(shape, dtype, rng, scale=3.0):
    """Random values of ``shape``, with exact zeros and large values mixed in."""
    x = rng.normal(scale=scale, size=shape)
    if x.size >= 3:
        flat = x.reshape(-1)
        flat[0], flat[1], flat[2] = 0.0, 1000.0, -1000.0
    return np.asarray(x, dtype=dtype)


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("fastnn_function, course_function", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_elementwise_matches_course(fastnn_function, course_function, shape, dtype, rng):
    x = values(shape, dtype, rng)
    before = x.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fastnn_function(x)
    assert np.shape(result) == x.shape
    assert np.asarray(result).dtype == dtype
    assert_close(result, textbook(course_function, x), dtype)
    np.testing.assert_array_equal(x, before)  # the input is not modified


@pytest.mark.parametrize("fastnn_function, course_function", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_elementwise_edge_values(fastnn_function, course_function, no_warnings):
    x = np.array([0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0, 40.0, -40.0, 1000.0, -1000.0, 1e308])
    assert_close(fastnn_function(x), textbook(course_function, x), np.float64)


@pytest.mark.parametrize("fastnn_function, course_function", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_elementwise_nan_and_inf_like_numpy(fastnn_function, course_function):
    x = np.array([np.nan, np.inf, -np.inf, 2.0])
    expected = textbook(course_function, x)
    with np.errstate(invalid="ignore"):
        got = fastnn_function(x)
    # NaN where NumPy gives NaN and the same signed infinities (assert_allclose compares
    # those exactly); the finite value to 1e-13, since NumPy's own exp differs from libm's
    # by an ulp in some versions (1.24's SIMD exp at 2.0), and d_sigmoid's s * (1 - s)
    # turns that ulp of s = 0.88 into 1.6e-15 of the result.
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)


def test_sigmoid_extremes_exact_and_silent(no_warnings):
    out = functions.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(out, [0.0, 0.5, 1.0])
    out32 = functions.sigmoid(np.array([-1000.0, 1000.0], dtype=np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_array_equal(out32, [0.0, 1.0])
    np.testing.assert_array_equal(functions.d_sigmoid([-1000.0, 0.0, 1000.0]), [0.0, 0.25, 0.0])


@pytest.mark.parametrize(
    "x, expected",
    [
        (2, 1 / (1 + np.exp(-2.0))),
        (-0.5, 1 / (1 + np.exp(0.5))),
        (np.float32(1.5), 1 / (1 + np.exp(-1.5))),
        (np.array(3.0), 1 / (1 + np.exp(-3.0))),
    ],
)
def test_scalar_input_gives_numpy_scalar(x, expected):
    out = functions.sigmoid(x)
    assert isinstance(out, np.floating)
    assert out.dtype == (np.float32 if isinstance(x, np.float32) else np.float64)
    assert out == pytest.approx(expected, rel=1e-6)
    assert isinstance(functions.relu(-2), np.floating) and functions.relu(-2) == 0
    assert isinstance(functions.step_function(3), np.floating) and functions.step_function(3) == 1


def test_lists_and_ints_become_float64():
    out = functions.relu([[-2, 3], [4, -5]])
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0, 3], [4, 0]])
    np.testing.assert_array_equal(functions.step_function(np.array([-1, 0, 1])), [0, 0, 1])
    np.testing.assert_array_equal(functions.d_relu([-1, 0, 2]), [0, 0, 1])
    assert functions.sigmoid(np.array([True])).dtype == np.float64


def test_non_contiguous_input():
    x = np.arange(-12.0, 12.0).reshape(4, 6)[:, ::2].T  # a strided, transposed view
    np.testing.assert_array_equal(functions.relu(x), np.maximum(0, x))
    assert_close(functions.softmax(x), course_softmax(x), np.float64)


@pytest.mark.parametrize("shape", [(), (1,), (5,), (1, 4), (6, 3), (3, 1)], ids=str)
def test_softmax_matches_course(shape, dtype, rng):
    x = np.asarray(rng.normal(scale=4.0, size=shape), dtype=dtype)
    out = functions.softmax(x)
    assert np.shape(out) == shape
    assert np.asarray(out).dtype == dtype
    assert_close(out, course_softmax(x.astype(np.float64)), dtype)
    if x.ndim:
        np.testing.assert_allclose(np.sum(out, axis=-1), 1.0, rtol=RTOL[dtype] * 10)


def test_softmax_large_logits(dtype, no_warnings):
    np.testing.assert_allclose(functions.softmax(np.array([1000.0, 0.0], dtype=dtype)), [1.0, 0.0])
    x = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0], [5.0, 5.0, 1e4]])
    out = functions.softmax(x.astype(dtype))
    expected = [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]]
    np.testing.assert_allclose(out, expected, rtol=RTOL[dtype], atol=ATOL[dtype])
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=RTOL[dtype] * 10)


def test_softmax_rows_are_independent(rng):
    x = rng.normal(size=(5, 4))
    out = functions.softmax(x)
    for row in range(5):
        np.testing.assert_allclose(out[row], course_softmax(x[row]), rtol=1e-12)
    # A constant added to one row does not change it (the max shift is per row).
    shifted = x.copy()
    shifted[2] += 500.0
    np.testing.assert_allclose(functions.softmax(shifted), out, rtol=1e-10)


def test_softmax_3d_is_over_the_last_axis(rng):
    x = rng.normal(size=(2, 3, 4))
    np.testing.assert_allclose(
        functions.softmax(x), functions.softmax(x.reshape(6, 4)).reshape(2, 3, 4)
    )
    np.testing.assert_allclose(functions.softmax(x).sum(axis=-1), 1.0)


def test_softmax_of_a_scalar_and_of_nothing():
    assert functions.softmax(3.0) == 1.0
    assert functions.softmax(np.empty((2, 0))).shape == (2, 0)


def test_d_step_function_is_zero():
    np.testing.assert_array_equal(functions.d_step_function(np.array([-1.0, 0.0, 2.0])), [0, 0, 0])
    assert functions.d_step_function(1.0) == 0


# ---------------------------------------------------------------- losses


@pytest.mark.parametrize("shape", [(), (1,), (5,), (4, 3), (1, 1), (8, 1)], ids=str)
def test_mean_squared_error_matches_course(shape, dtype, rng):
    d = np.asarray(rng.normal(size=shape), dtype=dtype)
    y = np.asarray(rng.normal(size=shape), dtype=dtype)
    out = functions.mean_squared_error(d, y)
    assert np.ndim(out) == 0
    assert_close(out, course_mean_squared_error(d.astype(float), y.astype(float)), dtype)


def test_mean_squared_error_is_a_mean_over_all_elements():
    d = np.zeros((2, 3))
    y = np.ones((2, 3))
    assert functions.mean_squared_error(d, y) == 0.5  # mean(1) / 2, not 0.5 * 6 / 2
    assert functions.mean_squared_error(3, 1.0) == 2.0
    assert functions.mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]) == pytest.approx(
        4 / 3 / 2
    )
    # A scalar target broadcasts into a batch, as in the course.
    assert functions.mean_squared_error(1.0, np.array([[0.0], [2.0]])) == 0.5


def test_mean_squared_error_keeps_float32_with_integer_targets():
    out = functions.mean_squared_error(np.array([[1, 0]]), np.array([[0.5, 0.5]], dtype=np.float32))
    assert out.dtype == np.float32
    assert out == pytest.approx(0.125)


def test_mse_refuses_the_two_way_broadcast():
    with pytest.raises(ValueError, match=r"d \(5,\) and y \(5, 1\)"):
        functions.mean_squared_error(np.zeros(5), np.zeros((5, 1)))
    with pytest.raises(ValueError, match=r"d \(3,\) and y \(4,\)"):
        functions.mean_squared_error(np.zeros(3), np.zeros(4))


def probabilities(batch, classes, dtype, rng):
    return np.asarray(functions.softmax(rng.normal(scale=2.0, size=(batch, classes))), dtype=dtype)


@pytest.mark.parametrize("batch, classes", [(1, 2), (5, 3), (16, 10), (4, 1)])
def test_cross_entropy_one_hot_and_labels_agree_with_course(batch, classes, dtype, rng):
    y = probabilities(batch, classes, dtype, rng)
    labels = rng.integers(0, classes, size=batch)
    d = one_hot(labels, classes)
    expected = course_cross_entropy_error(d, y.astype(np.float64))
    from_one_hot = functions.cross_entropy_error(d, y)
    from_labels = functions.cross_entropy_error(labels, y)
    assert np.ndim(from_one_hot) == 0
    assert_close(from_one_hot, expected, dtype)
    assert_close(from_labels, expected, dtype)
    assert from_one_hot == from_labels
    assert from_one_hot.dtype == dtype


def test_cross_entropy_one_sample(rng):
    y = functions.softmax(rng.normal(size=4))
    d = np.array([0, 0, 1, 0])
    expected = -np.log(y[2] + 1e-7)
    assert functions.cross_entropy_error(d, y) == pytest.approx(expected, rel=1e-12)
    assert functions.cross_entropy_error(2, y) == pytest.approx(expected, rel=1e-12)
    assert functions.cross_entropy_error(np.array([2]), y) == pytest.approx(expected, rel=1e-12)
    assert functions.cross_entropy_error(d.tolist(), y.tolist()) == pytest.approx(
        expected, rel=1e-12
    )
    assert functions.cross_entropy_error(d, y) == course_cross_entropy_error(d, y)


def test_cross_entropy_keeps_the_course_epsilon(no_warnings):
    y = np.array([[1.0, 0.0], [0.5, 0.5]])
    out = functions.cross_entropy_error(np.array([1, 0]), y)
    assert out == pytest.approx(-(np.log(1e-7) + np.log(0.5 + 1e-7)) / 2, rel=1e-12)
    assert np.isfinite(out)


def test_float_labels_holding_whole_numbers_are_accepted(rng):
    y = probabilities(3, 4, np.float64, rng)
    assert functions.cross_entropy_error(
        np.array([0.0, 3.0, 1.0]), y
    ) == functions.cross_entropy_error(np.array([0, 3, 1]), y)


def test_softmax_with_loss(rng):
    x = rng.normal(size=(6, 5))
    labels = rng.integers(0, 5, size=6)
    expected = course_cross_entropy_error(labels, course_softmax(x))
    assert functions.softmax_with_loss(labels, x) == pytest.approx(expected, rel=1e-12)
    assert functions.softmax_with_loss(one_hot(labels, 5), x) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "d, match",
    [
        (np.array([0, 3]), r"class label 3, out of range: y has 3 classes.*\[0, 2\]"),
        (np.array([-1, 0]), r"d holds class label -1, out of range"),
        (np.array([0.5, 1.0]), r"d holds class labels that are not whole numbers"),
    ],
)
def test_cross_entropy_bad_labels(d, match):
    y = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=match):
        functions.cross_entropy_error(d, y)
    with pytest.raises(ValueError, match=match):
        functions.d_softmax_with_loss(d, y)


def test_cross_entropy_label_out_of_range_for_one_sample():
    with pytest.raises(ValueError, match=r"^d holds class label 5"):
        functions.cross_entropy_error(5, np.array([0.2, 0.3, 0.5]))


@pytest.mark.parametrize(
    "d_shape, y_shape",
    [((3,), (2, 3)), ((2, 1), (2, 3)), ((3, 2), (2, 3)), ((4,), (2, 3)), ((2, 3), (3, 2))],
)
def test_cross_entropy_mismatched_shapes(d_shape, y_shape):
    message = rf"d {d_shape!r} and y {y_shape!r}".replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=message):
        functions.cross_entropy_error(np.zeros(d_shape, dtype=int), np.full(y_shape, 0.5))


def test_cross_entropy_needs_1d_or_2d_y():
    with pytest.raises(ValueError, match=r"y must be one sample.*got shape \(2, 2, 2\)"):
        functions.cross_entropy_error(np.zeros(2, dtype=int), np.full((2, 2, 2), 0.5))


# ---------------------------------------------------------------- derivatives of losses


@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (4, 3), (6,)], ids=str)
def test_d_mean_squared_error_matches_course(shape, dtype, rng):
    d = np.asarray(rng.normal(size=shape), dtype=dtype)
    y = np.asarray(rng.normal(size=shape), dtype=dtype)
    out = functions.d_mean_squared_error(d, y)
    assert out.shape == shape and out.dtype == dtype
    assert_close(out, course_d_mean_squared_error(d.astype(float), y.astype(float)), dtype)
    np.testing.assert_allclose(out, (y - d) / shape[0], rtol=RTOL[dtype])


def test_d_mean_squared_error_scalar_target_is_not_divided():
    y = np.array([0.5, 2.0, 4.0])
    np.testing.assert_array_equal(functions.d_mean_squared_error(1.0, y), y - 1.0)
    np.testing.assert_array_equal(
        functions.d_mean_squared_error(1.0, y), course_d_mean_squared_error(1.0, y)
    )
    assert functions.d_mean_squared_error(2, 5) == 3
    # A list target is not an ndarray, so the course does not divide either.
    np.testing.assert_array_equal(
        functions.d_mean_squared_error([0.0, 1.0, 2.0], y),
        course_d_mean_squared_error([0.0, 1.0, 2.0], y),
    )


@pytest.mark.parametrize("batch, classes", [(1, 3), (5, 4), (7, 2)])
def test_d_softmax_with_loss_labels_and_one_hot_agree(batch, classes, dtype, rng):
    y = probabilities(batch, classes, dtype, rng)
    labels = rng.integers(0, classes, size=batch)
    d = one_hot(labels, classes, dtype=dtype)
    from_one_hot = functions.d_softmax_with_loss(d, y)
    from_labels = functions.d_softmax_with_loss(labels, y)
    assert from_one_hot.shape == from_labels.shape == (batch, classes)
    assert from_one_hot.dtype == from_labels.dtype == dtype
    expected = course_d_softmax_with_loss(d.astype(float), y.astype(float))
    assert_close(from_one_hot, expected, dtype)
    assert_close(from_labels, course_d_softmax_with_loss(labels, y.astype(float)), dtype)
    assert_close(from_labels, from_one_hot, dtype)
    # Each row of the delta sums to 0 (softmax rows sum to 1, one-hot rows to 1).
    np.testing.assert_allclose(from_labels.sum(axis=1), 0.0, atol=1e-6)


def test_d_softmax_with_loss_does_not_modify_y(rng):
    y = probabilities(3, 4, np.float64, rng)
    before = y.copy()
    functions.d_softmax_with_loss(np.array([0, 1, 3]), y)
    np.testing.assert_array_equal(y, before)


def test_d_softmax_with_loss_is_the_gradient_of_softmax_with_loss(rng):
    x = rng.normal(size=(3, 4))
    labels = np.array([1, 0, 3])
    analytic = functions.d_softmax_with_loss(labels, functions.softmax(x))
    # The +1e-7 inside the log shifts the numerical gradient by about 1e-7.
    numeric = functions.numerical_gradient(lambda z: functions.softmax_with_loss(labels, z), x)
    np.testing.assert_allclose(numeric, analytic, atol=1e-6)


@pytest.mark.parametrize(
    "d, y_shape",
    [(np.zeros((2, 4)), (4, 2)), (np.zeros((2, 1), dtype=int), (2, 3)), (np.zeros(3, int), (2, 3))],
)
def test_d_softmax_with_loss_mismatched_shapes(d, y_shape):
    pattern = rf"{d.shape!r}.*{y_shape!r}".replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=pattern):
        functions.d_softmax_with_loss(d, np.full(y_shape, 0.5))


@pytest.mark.parametrize("shape", [(), (3,), (4, 2)], ids=str)
def test_d_sigmoid_with_loss_matches_course(shape, dtype, rng):
    d = np.asarray(rng.integers(0, 2, size=shape), dtype=dtype)
    y = np.asarray(rng.uniform(size=shape), dtype=dtype)
    out = functions.d_sigmoid_with_loss(d, y)
    assert np.shape(out) == shape
    np.testing.assert_array_equal(out, course_d_sigmoid_with_loss(d, y))


def test_pair_functions_refuse_mismatched_shapes():
    for function in (functions.d_mean_squared_error, functions.d_sigmoid_with_loss):
        with pytest.raises(ValueError, match=r"d \(5,\) and y \(5, 1\)"):
            function(np.zeros(5), np.zeros((5, 1)))


# ---------------------------------------------------------------- numerical tools


@pytest.mark.parametrize(
    "f, gradient, x",
    [
        (lambda x: np.sum(x**2), lambda x: 2 * x, np.arange(6.0).reshape(2, 3) - 2.5),
        (lambda x: x[0] ** 2 + x[1] ** 2, lambda x: 2 * x, np.array([3.0, 4.0])),
        (lambda x: np.sum(np.sin(x)), np.cos, np.linspace(-2, 2, 24).reshape(2, 3, 4)),
        (lambda x: float(x) ** 3, lambda x: 3 * x**2, np.array(1.5)),
        (lambda x: np.prod(x), lambda x: np.prod(x) / x, np.array([[1.5, -2.0], [0.5, 3.0]])),
    ],
    ids=["sum_squares_2x3", "course_1d", "sin_3d", "cube_0d", "product"],
)
def test_numerical_gradient_matches_analytic(f, gradient, x):
    before = x.copy()
    grad = functions.numerical_gradient(f, x)
    assert np.shape(grad) == x.shape
    np.testing.assert_allclose(grad, gradient(before), rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, before)  # perturbed in place, then restored


def test_numerical_gradient_perturbs_the_caller_array_for_closures():
    # The course's pattern: f ignores its argument and reads the weights it closes over.
    W = np.array([[1.0, -2.0], [0.5, 4.0]])
    x = np.array([1.0, 3.0])

    def loss(_):
        return np.sum((x @ W) ** 2)

    grad = functions.numerical_gradient(loss, W)
    np.testing.assert_allclose(grad, 2 * np.outer(x, x @ W), rtol=1e-7)
    np.testing.assert_array_equal(W, [[1.0, -2.0], [0.5, 4.0]])


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(z):
        calls.append(z.copy())
        if len(calls) == 3:
            raise RuntimeError("boom")
        return np.sum(z)

    with pytest.raises(RuntimeError, match="boom"):
        functions.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(calls[2], [1.0, 2.0 + 1e-4, 3.0])


def test_numerical_gradient_of_integer_and_list_input():
    grad = functions.numerical_gradient(lambda z: np.sum(z**2), np.array([1, 2, 3]))
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [2.0, 4.0, 6.0], rtol=1e-7)
    np.testing.assert_allclose(
        functions.numerical_gradient(lambda z: z[0] * z[1], [2, 5]), [5.0, 2.0], rtol=1e-7
    )


def test_numerical_gradient_float32_stays_float32():
    x = np.array([1.0, -1.0], dtype=np.float32)
    grad = functions.numerical_gradient(lambda z: np.sum(z.astype(np.float64) ** 2), x)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, [2.0, -2.0], rtol=1e-3)


def test_numerical_gradient_checks_f_and_its_result():
    with pytest.raises(TypeError, match="f must be callable"):
        functions.numerical_gradient(3.0, np.zeros(2))
    with pytest.raises(ValueError, match=r"f must return one real number.*shape \(2,\)"):
        functions.numerical_gradient(lambda z: z * 2, np.zeros(2))


def test_gradient_descent_course_example():
    def f(x):
        return (x[0] - 1) ** 2 + (x[1] - 2) ** 2

    init_x = np.array([0.0, 0.0])
    x, history = functions.gradient_descent(f, init_x, lr=0.1, step_num=100)
    np.testing.assert_allclose(x, [1.0, 2.0], atol=1e-6)
    assert history.shape == (100, 2)
    np.testing.assert_array_equal(history[0], [0.0, 0.0])
    # Each recorded point is one exact step from the previous one: x - lr * 2 (x - target).
    steps = history[:-1] - 0.1 * 2 * (history[:-1] - [1.0, 2.0])
    np.testing.assert_allclose(history[1:], steps, atol=1e-9)
    np.testing.assert_array_equal(init_x, [0.0, 0.0])  # copied, not modified


def test_gradient_descent_any_shape_and_defaults():
    target = np.arange(6.0).reshape(2, 3)
    x, history = functions.gradient_descent(lambda z: np.sum((z - target) ** 2), np.zeros((2, 3)))
    assert history.shape == (100, 2, 3)
    # Default lr=0.01, 100 steps: the distance shrinks by (1 - 0.02) per step.
    np.testing.assert_allclose(x, target * (1 - 0.98**100), rtol=1e-6)
    x0, history0 = functions.gradient_descent(lambda z: np.sum(z**2), [1, 2], step_num=0)
    assert x0.dtype == np.float64
    np.testing.assert_array_equal(x0, [1.0, 2.0])
    assert history0.shape == (0, 2)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"lr": 0.0}, ValueError, "lr must be a finite number > 0, got 0.0"),
        ({"lr": -0.1}, ValueError, "lr must be a finite number > 0"),
        ({"lr": float("nan")}, ValueError, "lr must be a finite number > 0"),
        ({"lr": "0.1"}, TypeError, "lr must be a real number"),
        ({"step_num": -1}, ValueError, "step_num must be >= 0"),
        ({"step_num": 2.5}, TypeError, "step_num must be an integer"),
        ({"init_x": "abc"}, TypeError, "init_x must hold real numbers"),
        ({"f": None}, TypeError, "f must be callable"),
    ],
)
def test_gradient_descent_bad_arguments(kwargs, error, match):
    arguments = {"f": lambda z: np.sum(z**2), "init_x": np.zeros(2)} | kwargs
    with pytest.raises(error, match=match):
        functions.gradient_descent(**arguments)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", ["text", None, [1, "a"], np.array([1 + 2j]), [[1, 2], [3]]])
@pytest.mark.parametrize(
    "function",
    [
        functions.step_function,
        functions.sigmoid,
        functions.relu,
        functions.softmax,
        functions.d_sigmoid,
        functions.d_relu,
        functions.d_step_function,
    ],
    ids=lambda function: function.__name__,
)
def test_non_numeric_x(function, bad):
    with pytest.raises(TypeError, match=r"^x must"):
        function(bad)


@pytest.mark.parametrize(
    "function",
    [
        functions.mean_squared_error,
        functions.cross_entropy_error,
        functions.d_mean_squared_error,
        functions.d_softmax_with_loss,
        functions.d_sigmoid_with_loss,
    ],
    ids=lambda function: function.__name__,
)
def test_non_numeric_d_or_y(function):
    good = np.full((2, 2), 0.5)
    with pytest.raises(TypeError, match=r"^d must hold real numbers"):
        function(np.array(["a", "b"]), good)
    with pytest.raises(TypeError, match=r"^y must hold real numbers"):
        function(np.eye(2), [["a", "b"], ["c", "d"]])


def test_numerical_gradient_non_numeric_x():
    with pytest.raises(TypeError, match=r"^x must hold real numbers"):
        functions.numerical_gradient(lambda z: 0.0, ["a", "b"])


def test_boolean_labels_are_refused():
    with pytest.raises(TypeError, match="d holds booleans"):
        functions.cross_entropy_error(np.array([True, False]), np.full((2, 3), 1 / 3))


def test_public_names():
    import fastnn

    assert fastnn.functions is functions
    assert "functions" in fastnn.__all__
    for name in functions.__all__:
        assert callable(getattr(functions, name))
