"""flowchem's numeric core: Numba-compiled functions on plain float arrays.

Nothing here knows about units, names or files, and nothing imports
``flowchem``. See :mod:`kernels.kinetics` for the array layout of a compiled
mechanism and :mod:`kernels.problems` for the reactor right-hand sides.
"""
