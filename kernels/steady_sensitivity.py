"""Parameter sensitivities of isothermal stirred-tank steady states.

At the steady state c* of one tank, F(c; θ) = (c_in - c)/tau + f(c; θ) = 0,
the implicit function theorem gives (one LU of the steady-state Jacobian per
tank, p right-hand sides)::

    (J(c*) - I/tau) dc*/dθ = -(g(c*) + (1/tau) dc_in/dθ)

with g = df/dθ from :func:`kernels.sensitivity.parameter_jacobian`. In a
cascade the inlet sensitivity of tank k is the outlet sensitivity of tank
k - 1. The coefficient tables are those of a BATCH_SENS system
(:mod:`kernels.sensitivity`); the steady states come from
:func:`kernels.steady.solve_cstr_cascade`.

(Kept apart from :mod:`kernels.sensitivity`, which :mod:`kernels.problems`
imports, so that the LU import cannot close an import cycle through the
integrators.)
"""

import numpy as np

from .kinetics import production_jacobian
from .jit import njit
from .linalg import lu_factor, lu_solve
from .sensitivity import parameter_jacobian
from .status import NON_FINITE, SINGULAR_MATRIX, SUCCESS


@njit
def cascade_sensitivity(system, states, inv_tau_each, dc_in, out):
    """dc*/dθ of every tank of an equal-tank cascade into ``out`` (n_tanks x n x p).

    Parameters
    ----------
    system : tuple
        A BATCH_SENS system (kf, kr at the tank temperature).
    states : ndarray (n_tanks, n)
        Steady states, tank by tank.
    inv_tau_each : float
        1 / residence time of one tank, 1/s.
    dc_in : ndarray (n, p)
        Sensitivity of the feed of the first tank (zeros for a fixed feed).
    out : ndarray (n_tanks, n, p)

    Returns
    -------
    (status, tank) : (int, int)
        ``SUCCESS`` and ``n_tanks``; or ``SINGULAR_MATRIX`` when J - I/tau is
        singular at a steady state (a turning point, where the steady state
        does not depend smoothly on θ), ``NON_FINITE`` for inf or NaN, with
        the index of the failing tank.
    """
    model, rate_params, kf, kr, params, work = system
    n_tanks = states.shape[0]
    n = states.shape[1]
    p = dc_in.shape[1]
    A = np.empty((n, n))
    G = np.empty((n, p))
    b = np.empty(n)
    piv = np.zeros(n, dtype=np.int64)
    for tank in range(n_tanks):
        c = states[tank]
        production_jacobian(c, model, kf, kr, A)
        for i in range(n):
            A[i, i] -= inv_tau_each
        parameter_jacobian(c, system, G)
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(G))):
            return NON_FINITE, tank
        if not lu_factor(A, piv):
            return SINGULAR_MATRIX, tank
        for kk in range(p):
            for i in range(n):
                upstream = dc_in[i, kk] if tank == 0 else out[tank - 1, i, kk]
                b[i] = -(G[i, kk] + inv_tau_each * upstream)
            lu_solve(A, piv, b)
            for i in range(n):
                if not np.isfinite(b[i]):
                    return NON_FINITE, tank
                out[tank, i, kk] = b[i]
    return SUCCESS, n_tanks
