"""Input checks that run over whole data sets, compiled so validation stays cheap."""

import numpy as np

from kernels._jit import jit


@jit
def first_non_finite(values):
    """Return the flat index of the first NaN or inf in ``values``, or -1 if none.

    Parameters
    ----------
    values : ndarray, C-contiguous, any shape
    """
    flat = values.reshape(-1)
    for k in range(flat.shape[0]):
        if not np.isfinite(flat[k]):
            return k
    return -1
