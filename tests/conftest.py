"""Shared test helpers, and the hypothesis profiles of tests/test_properties.py."""

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# assert_allclose tolerances for kernel-vs-reference comparisons, per dtype.
RTOL = {np.float32: 2e-5, np.float64: 1e-11}
ATOL = {np.float32: 1e-6, np.float64: 1e-13}

# Property tests scale their example counts from the profile's max_examples
# (tests/test_properties.py, `examples`). "ci", the default, is small and
# derandomized, so every run tries the same examples; `--hypothesis-profile=long`
# tries thousands per test with fresh random examples each run. No example
# database: CI reproduces by derandomizing, and a long run prints the failing
# example and a @reproduce_failure blob.
_COMMON = dict(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("ci", max_examples=100, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=3000, **_COMMON)
settings.load_profile("ci")


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
