"""Study points on a Dask cluster (the optional ``distributed`` extra).

The points are split into chunks (about eight per worker); each chunk is one
:meth:`Study.evaluate` call on a worker, which unpickles the study once per
process and keeps it (and its compiled route) for the chunks that follow.
The results are gathered in the order of the points, so the table equals
the local run's.
"""

from __future__ import annotations

import logging
import pickle

import numpy as np

from ..core.errors import InputError

__all__ = ["connect", "evaluate_on_dask", "CONNECT_TIMEOUT_S"]

#: seconds to wait for a scheduler before refusing its address
CONNECT_TIMEOUT_S = 5
CHUNKS_PER_WORKER = 8


def _client_class():
    from .study import DISTRIBUTED_HINT

    try:
        from dask.distributed import Client
    except ImportError:
        raise InputError(f"a Dask scheduler needs dask.distributed: {DISTRIBUTED_HINT}",
                         "command line", "--scheduler") from None
    return Client


def connect(scheduler):
    """``(client, owned)``: a client of ``scheduler`` (an address or a
    client); ``owned`` when it was opened here and is to be closed by the
    caller. InputError (within :data:`CONNECT_TIMEOUT_S`) when nothing answers."""
    Client = _client_class()
    if isinstance(scheduler, Client):
        return scheduler, False
    if not isinstance(scheduler, str) or "://" not in scheduler:
        raise InputError(f"expected a scheduler address such as tcp://HOST:PORT, got {scheduler!r}",
                         "command line", "--scheduler")
    _probe(scheduler)
    # the client logs its retries; the refusal below is the one line the user sees
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client",
                                            "distributed.comm", "distributed.core")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.CRITICAL)
    try:
        client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
    except (OSError, ValueError) as exc:  # timeouts and closed comms are OSErrors; a bad address a ValueError
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if len(reason) > 160:
            reason = reason[:157] + "..."
        raise InputError(f"cannot reach a Dask scheduler at {scheduler} ({reason})",
                         "command line", "--scheduler") from None
    finally:
        for log, level in zip(quiet, levels):
            log.setLevel(level)
    return client, True


def _probe(address):
    """Refuse at once a tcp address where nothing listens (the client would
    retry until its timeout)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme != "tcp":
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        port = None
    if not host or port is None:
        raise InputError(f"expected a scheduler address such as tcp://HOST:PORT, got {address!r}",
                         "command line", "--scheduler")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"cannot reach a Dask scheduler at {address} ({reason})",
                         "command line", "--scheduler") from None


def _evaluate_chunk(token, payload, X, theta):
    """One chunk on a worker: the study from this process's cache, or unpickled once."""
    from .study import _WORKER_STUDIES

    study = _WORKER_STUDIES.get(token)
    if study is None:
        study = _WORKER_STUDIES[token] = pickle.loads(payload)
    # one thread per task: Dask runs the chunks side by side
    return study._evaluate_here(X, theta, 1)


def evaluate_on_dask(study, X, theta, scheduler, progress=None):
    """``(values, status)`` of the points ``X`` evaluated on a Dask cluster."""
    client, owned = connect(scheduler)
    try:
        n = X.shape[0]
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        n_chunks = max(1, min(n, CHUNKS_PER_WORKER * n_workers))
        bounds = np.linspace(0, n, n_chunks + 1).astype(int)
        token = study.token()
        payload = pickle.dumps(study, protocol=4)
        futures = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            futures.append(client.submit(_evaluate_chunk, token, payload, X[a:b],
                                         None if theta is None else theta[a:b], pure=False))
        results = []
        for k, fut in enumerate(futures):      # in order: the table is the local run's
            results.append(fut.result())
            if progress is not None:
                progress(int(bounds[k + 1]), n)
    finally:
        if owned:
            client.close()
    values = np.vstack([r[0] for r in results])
    status = [s for r in results for s in r[1]]
    return values, status
