"""flowchem's numeric core: Numba-compiled functions on plain float arrays.

Nothing here knows about units, names or files, and nothing imports
``flowchem``. See :mod:`kernels.kinetics` for the array layout of a compiled
mechanism and :mod:`kernels.problems` for the reactor right-hand sides.
"""


def _drop_stale_numba_cache():
    """Numba's on-disk cache checks each function's own source file only, so
    a change in kinetics.py would leave the cached integrators (which inline
    it) stale, and stale machine code can crash. Stamp the cache with a hash
    of every kernel source and clear it when the sources change."""
    import hashlib
    from pathlib import Path

    here = Path(__file__).resolve().parent
    cache = here / "__pycache__"
    try:
        digest = hashlib.sha256()
        for path in sorted(here.glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        stamp = cache / "flowchem-kernels.stamp"
        current = digest.hexdigest()
        if stamp.is_file() and stamp.read_text() == current:
            return
        if cache.is_dir():
            for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
                f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(current)
    except OSError:  # read-only install: numba falls back to its user cache
        pass


_drop_stale_numba_cache()
