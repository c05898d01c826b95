"""Atomic file output: a file flowchem writes is either complete or absent.

Results are written to a temporary file in the target directory and moved
into place with :func:`os.replace` (atomic on POSIX and Windows), so an
interrupted run or a failed solve never leaves a half-written JSON, CSV or
HTML file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_open", "write_text_atomic"]


@contextlib.contextmanager
def atomic_open(path, newline=None, encoding="utf-8"):
    """Open ``path`` for writing text; the file appears only when the block ends
    without an exception. Parent directories are created."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".flowchem-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", newline=newline, encoding=encoding) as fh:
            yield fh
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)
