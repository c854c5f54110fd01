"""Many networks of one layout trained at once, one network per thread.

A sweep over learning rates, seeds or optimizers trains many networks of the
same layout on the same data. These kernels run one epoch of each of ``M``
networks in one call: ``numba.prange`` hands each network to a thread, and each
thread calls the very kernel a single network's ``fit`` calls, on that
network's own rows of the stacked arrays (:func:`.bundles.member_row`). No two
threads write the same memory, the group's data are shared read-only, and each
network's arithmetic is exactly that of training it alone.

``members`` is a :class:`.bundles.Member` whose every array has a leading axis of
length ``M``; ``done[m]`` receives network ``m``'s completed steps.
"""

import functools

import numpy as np
from numba import prange

from ._jit import jit
from .bundles import Member, member_row
from .train import (
    epoch_sample_sgd,
    epoch_sample_sgd_dropout,
    epoch_sample_stateful,
    epoch_sample_stateful_dropout,
    sample_variant,
    train_epoch_batch,
)


def train_models_sample(group, members, done):
    """One per-sample epoch of each network (see :func:`.train.train_epoch_sample`).

    Networks of one :func:`.train.sample_variant` run in one call of
    :func:`sample_models_kernel`; a mix of variants runs as one call per variant.
    """
    count = members.theta.shape[0]  # done may be longer: its first entries are written
    variants = [sample_variant(group, member_row_of(members, m)) for m in range(count)]
    kinds = sorted(set(variants))
    if len(kinds) == 1:
        sample_models_kernel(*kinds[0])(group, members, done)
        return
    for kind in kinds:
        rows = np.array([m for m, variant in enumerate(variants) if variant == kind])
        part = Member(*(np.ascontiguousarray(array[rows]) for array in members))
        part_done = np.zeros(len(rows), done.dtype)
        sample_models_kernel(*kind)(group, part, part_done)
        for array, trained in zip(members, part, strict=True):
            array[rows] = trained
        done[rows] = part_done


def member_row_of(members, m):
    """Network ``m``'s :class:`.bundles.Member` of stacked ``members``, in Python."""
    return Member(*(array[m] for array in members))


@functools.cache
def sample_models_kernel(plain_sgd, dropping):
    """The parallel kernel over :func:`.train.sample_epoch_kernel` ``(plain_sgd, dropping)``."""

    @jit(parallel=True)
    def train_models(group, members, done):
        for m in prange(members.theta.shape[0]):
            member = member_row(members, m)
            # Constants of the closure: all but one call go before compiling.
            if plain_sgd and dropping:
                done[m] = epoch_sample_sgd_dropout(group, member)
            elif plain_sgd:
                done[m] = epoch_sample_sgd(group, member)
            elif dropping:
                done[m] = epoch_sample_stateful_dropout(group, member)
            else:
                done[m] = epoch_sample_stateful(group, member)

    return train_models


@jit(parallel=True)
def train_models_batch(group, members, done):
    """One mini-batch epoch of each network (see :func:`.train.train_epoch_batch`)."""
    for m in prange(members.theta.shape[0]):
        done[m] = train_epoch_batch(group, member_row(members, m))
