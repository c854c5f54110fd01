"""The one decorator every compiled kernel goes through.

Compiled code is cached on disk so that a second process skips compiling, by
:class:`fastnn.kernels.disk_cache.KernelCache` rather than Numba's own ``cache=True``:
the same files, but in a directory chosen at the first compile (never at import),
only where it can be trusted, and with every failure (no usable directory, a
corrupt entry, a full disk) turned into a warning and a compile in memory.

The fastmath flags let LLVM vectorise reductions and fuse multiply-adds, but
never assume that NaN or inf are absent: training must still see a non-finite
loss and stop.
"""

import numba

from .disk_cache import KernelCache

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
        fastmath=set(FASTMATH_FLAGS),
        nogil=True,
        error_model="numpy",
        inline="always" if inline else "never",
        parallel=parallel,
    )

    def compiled(py_function):
        dispatcher = decorate(py_function)
        # Numba's hook for a dispatcher's disk cache (what cache=True sets).
        dispatcher._cache = KernelCache(py_function)
        return dispatcher

    return compiled if function is None else compiled(function)
