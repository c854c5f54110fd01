"""Shared test helpers."""

import numpy as np
import pytest

# assert_allclose tolerances for kernel-vs-reference comparisons, per dtype.
RTOL = {np.float32: 2e-5, np.float64: 1e-11}
ATOL = {np.float32: 1e-6, np.float64: 1e-13}


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def one_hot(labels, classes, dtype=np.float64):
    out = np.zeros((len(labels), classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out
