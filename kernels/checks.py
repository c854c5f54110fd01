"""Input checks that run over whole data sets, compiled so validation stays cheap."""

import numpy as np

from kernels._jit import jit

# Elements summed per block before the sum is tested; a bad block is rescanned.
_BLOCK = 4096
_LARGEST = np.finfo(np.float64).max


@jit
def first_non_finite(values):
    """Return the flat index of the first NaN or inf in ``values``, or -1 if none.

    Parameters
    ----------
    values : ndarray, C-contiguous, any shape
    """
    flat = values.reshape(-1)
    n = flat.shape[0]
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        # Count the finite values branch-free so the loop vectorises, and look
        # for the culprit only in a block that falls short. (Arithmetic tricks
        # such as summing x - x are folded away under fastmath.)
        finite = 0
        for k in range(start, stop):
            finite += 1 if abs(np.float64(flat[k])) <= _LARGEST else 0
        if finite != stop - start:
            for k in range(start, stop):
                if not np.isfinite(flat[k]):
                    return k
    return -1
