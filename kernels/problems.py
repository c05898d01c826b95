"""Reactor right-hand sides, dispatched on an integer problem code.

Every integrator in ``kernels`` calls :func:`rhs` and :func:`jacobian` with a
problem code and a *system* tuple, so a single compilation of each integrator
serves every reactor type and every mechanism::

    system = (model, rate_params, kf, kr, params, work)

``model`` and ``rate_params`` are described in :mod:`kernels.kinetics`;
``kf`` and ``kr`` hold the rate constants at the reactor temperature
(isothermal problems fill them once per solve); ``params`` carries the
problem's own numbers; ``work`` is scratch of at least one entry per reaction.

Problem codes
-------------
BATCH (0)
    Constant-density liquid batch, or plug flow in residence time:
    dc/dt = S^T q(c). ``params`` is unused.
CSTR_TRANSIENT (1)
    Constant-density stirred tank: dc/dt = (c_in - c)/tau + S^T q(c).
    ``params = [1/tau, c_in[0], ..., c_in[n-1]]``.
"""

from numba import njit

from .kinetics import production_jacobian, production_rates

BATCH = 0
CSTR_TRANSIENT = 1


@njit(cache=True)
def rhs(code, t, y, system, out):
    """Fill ``out`` with dy/dt of problem ``code`` at (t, y)."""
    model, rate_params, kf, kr, params, work = system
    production_rates(y, model, kf, kr, work, out)
    if code == CSTR_TRANSIENT:
        inv_tau = params[0]
        for i in range(y.shape[0]):
            out[i] += (params[1 + i] - y[i]) * inv_tau


@njit(cache=True)
def jacobian(code, t, y, system, J):
    """Fill ``J`` with d(dy/dt)/dy of problem ``code`` at (t, y)."""
    model, rate_params, kf, kr, params, work = system
    production_jacobian(y, model, kf, kr, J)
    if code == CSTR_TRANSIENT:
        inv_tau = params[0]
        for i in range(y.shape[0]):
            J[i, i] -= inv_tau
