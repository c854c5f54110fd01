"""The one decorator every compiled kernel goes through.

``cache=True`` stores machine code next to the source so a second process skips
compilation. When the package directory is read-only (a system-wide install),
Numba itself falls back to a per-user cache directory, and ``NUMBA_CACHE_DIR``
overrides both.

The fastmath flags let LLVM vectorise reductions and fuse multiply-adds, but
never assume that NaN or inf are absent: training must still see a non-finite
loss and stop.
"""

import numba

FASTMATH_FLAGS = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})


def jit(function=None, *, inline=False, parallel=False):
    """Compile ``function`` lazily in nopython mode with the project's settings.

    Parameters
    ----------
    function : callable
        A plain Python function using only NumPy arrays and scalars.
    inline : bool, default False
        Inline the function's body into its callers at Numba's IR level, for
        the small helpers of the per-sample loop where a call costs more than
        the work.
    parallel : bool, default False
        Run ``numba.prange`` loops on Numba's thread pool (the kernels that
        train many networks at once, one network per thread).

    Returns
    -------
    numba.core.registry.CPUDispatcher
        The dispatcher; it compiles one specialisation per argument types.
    """
    decorate = numba.njit(
        cache=True,
        fastmath=set(FASTMATH_FLAGS),
        nogil=True,
        error_model="numpy",
        inline="always" if inline else "never",
        parallel=parallel,
    )
    return decorate if function is None else decorate(function)
