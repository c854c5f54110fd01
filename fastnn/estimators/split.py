"""The validation split of early stopping, drawn as scikit-learn's ``train_test_split``.

The same sizes, the same draws from the same ``RandomState`` and the same
errors as ``train_test_split(..., test_size=validation_fraction,
random_state=rng, stratify=...)``, so that a fit with ``random_state=0`` holds
out the rows scikit-learn's MLP would.
"""

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray


def _sizes(n_samples, test_size):
    if test_size <= 0 or test_size >= 1:
        raise ValueError(
            f"validation_fraction={test_size} must be in the range (0, 1) with "
            f"early_stopping=True (test_size={test_size} should be either positive and "
            f"smaller than the number of samples {n_samples} or a float in the (0, 1) range)"
        )
    n_test = math.ceil(test_size * n_samples)
    n_train = n_samples - n_test
    if n_train == 0:
        raise ValueError(
            f"With n_samples={n_samples}, test_size={test_size} and train_size=None, the "
            "resulting train set will be empty. Adjust any of the aforementioned parameters."
        )
    return n_train, n_test


def _approximate_mode(class_counts, n_draws, rng):
    # scikit-learn's sklearn.utils.extmath._approximate_mode: ties broken by rng.
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (indices,) = np.where(remainder == value)
            add_now = min(len(indices), need_to_add)
            indices = rng.choice(indices, size=add_now, replace=False)
            floored[indices] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def _stratified(strata, n_train, n_test, rng):
    classes, y_indices, class_counts = np.unique(strata, return_inverse=True, return_counts=True)
    if np.min(class_counts) < 2:
        too_few = classes[class_counts < 2].tolist()
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too few. The "
            "minimum number of groups for any class cannot be less than 2. Classes with "
            f"too few members are: {too_few}"
        )
    if n_train < len(classes):
        raise ValueError(
            f"The train_size = {n_train} should be greater or equal to the number of "
            f"classes = {len(classes)}"
        )
    if n_test < len(classes):
        raise ValueError(
            f"The test_size = {n_test} should be greater or equal to the number of "
            f"classes = {len(classes)}"
        )
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i in range(len(classes)):
        permutation = rng.permutation(class_counts[i])
        members = class_indices[i].take(permutation, mode="clip")
        train.extend(members[: n_i[i]])
        test.extend(members[n_i[i] : n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def validation_split(
    n_samples: int,
    fraction: float,
    rng: np.random.RandomState,
    strata: NDArray[Any] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Return (training rows, validation rows) as ``train_test_split`` would draw them.

    Parameters
    ----------
    n_samples : int
    fraction : float
        The validation fraction, in (0, 1).
    rng : numpy.random.RandomState
        Drawn from (the estimator's generator, as scikit-learn's is).
    strata : ndarray of str, optional
        One stratum per row: the split keeps their proportions
        (``StratifiedShuffleSplit``); None shuffles plainly (``ShuffleSplit``).
    """
    n_train, n_test = _sizes(n_samples, fraction)
    if strata is not None:
        return _stratified(strata, n_train, n_test, rng)
    permutation = rng.permutation(n_samples)
    return permutation[n_test : n_test + n_train], permutation[:n_test]
