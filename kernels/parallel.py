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

from numba import prange

from ._jit import jit
from .bundles import member_row
from .train import train_epoch_batch, train_epoch_sample


@jit(parallel=True)
def train_models_sample(group, members, done):
    """One per-sample epoch of each network (see :func:`.train.train_epoch_sample`)."""
    for m in prange(members.theta.shape[0]):
        done[m] = train_epoch_sample(group, member_row(members, m))


@jit(parallel=True)
def train_models_batch(group, members, done):
    """One mini-batch epoch of each network (see :func:`.train.train_epoch_batch`)."""
    for m in prange(members.theta.shape[0]):
        done[m] = train_epoch_batch(group, member_row(members, m))
