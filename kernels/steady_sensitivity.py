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
from .sensitivity import energy_sensitivity_rhs, energy_state_jacobian, parameter_jacobian
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


@njit
def energy_cascade_sensitivity(system, states, inv_tau_each, dy_in, out):
    """dx*/dθ of every tank of an equal-tank cascade with an energy balance
    (CSTR_ENERGY states x = [c, heat, T]) into ``out`` (n_tanks x N x p).

    At each steady state ``(x_in - x)/tau + f(x; θ) = 0``, so
    ``(J(x) - I/tau) dx/dθ = -(g(x) + (1/tau) dx_in/dθ)`` with J including the
    temperature column and g = df/dθ (the right-hand side of
    BATCH_ENERGY_SENS at zero sensitivities). Tank k's inlet sensitivity is
    tank k-1's, with the heat row (``system[4][3]``; each tank's inlet carries
    zero heat released, as flowchem chains the tanks) reset to zero.

    Parameters
    ----------
    system : tuple
        A BATCH_ENERGY_SENS system (:mod:`kernels.sensitivity`).
    states : ndarray (n_tanks, N)
    inv_tau_each : float
        1 / residence time of one tank, 1/s.
    dy_in : ndarray (N, p)
        Sensitivity of the first tank's feed (inlet concentrations and T).
    out : ndarray (n_tanks, N, p)

    Returns
    -------
    (status, tank) : (int, int)
        As :func:`cascade_sensitivity`.
    """
    params = system[4]
    heat = int(params[3])
    n_tanks = states.shape[0]
    N = states.shape[1]
    p = dy_in.shape[1]
    A = np.empty((N, N))
    b = np.empty(N)
    piv = np.zeros(N, dtype=np.int64)
    yaug = np.zeros(N * (p + 1))
    g = np.empty(N * (p + 1))
    for tank in range(n_tanks):
        x = states[tank]
        for i in range(N):
            yaug[i] = x[i]
        energy_sensitivity_rhs(yaug, system, g)
        energy_state_jacobian(x, system, A)
        for i in range(N):
            A[i, i] -= inv_tau_each
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(g))):
            return NON_FINITE, tank
        if not lu_factor(A, piv):
            return SINGULAR_MATRIX, tank
        for kk in range(p):
            for i in range(N):
                if tank == 0:
                    upstream = dy_in[i, kk]
                else:
                    upstream = 0.0 if i == heat else out[tank - 1, i, kk]
                b[i] = -(g[N * (1 + kk) + i] + inv_tau_each * upstream)
            lu_solve(A, piv, b)
            for i in range(N):
                if not np.isfinite(b[i]):
                    return NON_FINITE, tank
                out[tank, i, kk] = b[i]
    return SUCCESS, n_tanks
