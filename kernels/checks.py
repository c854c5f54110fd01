"""Input checks that run over whole data sets, compiled so validation stays cheap."""

import numpy as np

from ._jit import jit

# Elements summed per block before the sum is tested; a bad block is rescanned.
_BLOCK = 4096


@jit
def _largest(values):
    # The largest finite value of the array's dtype, in that dtype, so the
    # comparison needs no conversion per element.
    if values.itemsize == 4:
        return values.dtype.type(3.4028234663852886e38)
    return values.dtype.type(1.7976931348623157e308)


def first_non_finite(values):
    """Return the flat index of the first NaN or inf in ``values``, or -1 if none.

    Parameters
    ----------
    values : ndarray of float32 or float64, C-contiguous, any shape
    """
    # Always 1-D to the compiled scan: one compile per dtype, whatever the shapes
    # checked (weights, optimizer state, data).
    return _first_non_finite_flat(np.ascontiguousarray(values).reshape(-1))


@jit
def _first_non_finite_flat(flat):
    # Block by block, each block a slice looped from 0: written so, LLVM
    # vectorises with plain loads; with indices running from `start` to `stop`
    # it used gathers and was 7x slower.
    largest = _largest(flat)
    for start in range(0, flat.shape[0], _BLOCK):
        block = flat[start : start + _BLOCK]
        # A branch-free test per block; the culprit is looked for only in a
        # block that fails it. (Tricks such as summing x - x are folded away
        # under fastmath.)
        finite = True
        for k in range(block.shape[0]):
            finite &= abs(block[k]) <= largest
        if not finite:
            for k in range(block.shape[0]):
                if not np.isfinite(block[k]):
                    return start + k
    return -1


@jit
def cast_first_non_finite(source, out):
    """Copy the 2-D ``source`` into ``out`` (another dtype); return the first bad flat index.

    One pass instead of a cast and then a scan: a value that is NaN or inf, or
    becomes inf in ``out``'s dtype (1e300 in float32), is reported by its flat
    index in ``out``, or -1 if every value fits.

    Parameters
    ----------
    source : ndarray, shape (rows, columns), any numeric dtype and memory layout
    out : ndarray, shape (rows, columns), float32 or float64, C-contiguous
    """
    rows, columns = source.shape
    largest = _largest(out)
    for r in range(rows):
        finite = 0
        for c in range(columns):
            value = out.dtype.type(source[r, c])
            out[r, c] = value
            finite += 1 if abs(value) <= largest else 0
        if finite != columns:
            for c in range(columns):
                if not np.isfinite(out[r, c]):
                    return r * columns + c
    return -1
