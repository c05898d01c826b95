"""The compile options every kernel shares, in one decorator.

``error_model="numpy"``: a float division by zero gives inf or NaN instead of
raising ``ZeroDivisionError`` (Numba's default error model follows Python),
so no kernel raises on extreme input; the drivers test what they compute for
finiteness and return a status code from :mod:`kernels.status`. It also
drops the zero test Numba otherwise puts before every division.

``cache=True``: machine code is kept on disk next to the sources (see
:func:`kernels._drop_stale_numba_cache` for the stamp that keeps it fresh).

Numba types a module constant passed as an argument (``BATCH``, ``False``,
``100000``) as a literal and compiles the callee once more for it; kernels
calling the big drivers wrap such arguments in ``np.int64`` / ``np.bool_`` so
that every caller shares one compilation (about 30 s each for Rodas5P).
"""

from numba import njit as _numba_njit


def njit(*args, **options):
    """``numba.njit`` with ``cache=True`` and ``error_model="numpy"``; used as
    ``@njit`` or ``@njit(inline="always")``."""
    options.setdefault("cache", True)
    options.setdefault("error_model", "numpy")
    return _numba_njit(*args, **options)


def njit_parallel(*args, **options):
    """:func:`njit` with ``parallel=True``, for ensemble drivers whose outer
    loop is a ``numba.prange`` over independent points."""
    options.setdefault("parallel", True)
    return njit(*args, **options)
