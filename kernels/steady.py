"""Steady states of constant-density stirred tanks.

F(c) = (c_in - c)/tau + S^T q(c) = 0 is solved by a damped Newton method with
the analytic Jacobian -I/tau + S^T dq/dc. A trial point never lets a
concentration fall below a fixed fraction of its current value, so iterates
stay non-negative while a consumed reactant can still approach zero
geometrically. When Newton stalls, pseudo-transient continuation integrates
dc/dt = F(c) with the stiff integrator towards the attracting steady state
(:func:`integrate_to_steady`, also the stirred-tank start of
:mod:`kernels.dispersion`), and Newton polishes the result.

``stats`` counters: the ``STEADY_STAT_*`` positions of :mod:`kernels.status`.

The problem is the CSTR_TRANSIENT or CSTR_ENERGY code of
:mod:`kernels.problems` (``code``); ``system[4]`` (params) gets ``1/tau`` and
the inlet state ``y_in`` (concentrations, then the inlet temperature for
CSTR_ENERGY) written into its leading entries.
"""

import numpy as np

from .jit import njit
from .linalg import lu_factor, lu_solve
from .kinetics import rates_of_progress
from .problems import CSTR_ENERGY, CSTR_TRANSIENT, jacobian, rhs
from .rosenbrock import integrate_rodas
from .status import (
    MAX_STEPS,
    STAT_ACCEPTED,
    STAT_JAC_EVALS,
    STAT_LU_FACTORS,
    STAT_RHS_EVALS,
    STEADY_NONFINITE,
    STEADY_NOT_REACHED,
    STEADY_NOT_CONVERGED,
    STEADY_SINGULAR,
    STEADY_STAT_JAC_EVALS,
    STEADY_STAT_LU_FACTORS,
    STEADY_STAT_NEWTON_ITERS,
    STEADY_STAT_PT_FALLBACKS,
    STEADY_STAT_PT_STEPS,
    STEADY_STAT_RHS_EVALS,
    SUCCESS,
)

# step budget of the pseudo-transient continuation: every tank of the test suite
# settles within 2000 steps; a failing solve (a scan may make hundreds) costs all
STEADY_MAX_STEPS = 20000

NEWTON_MAX_ITER = 100  # room to close the balances of a species far below atol (see _balance_closed)

# Newton may divide a concentration by at most this factor per iteration.
_MAX_DECREASE = 1.0e-2


@njit
def _scaled_rms(v, c, scale, rtol, atol):
    s = 0.0
    n = v.shape[0]
    for i in range(n):
        w = abs(atol[i]) + rtol * abs(c[i])
        e = v[i] * scale / w
        s += e * e
    return np.sqrt(s / n)


@njit
def integrate_to_steady(code, system, y0, rtol, atol, t_max, residual_tol):
    """Pseudo-transient continuation: integrate from t = 0 with Rodas5P until
    the residual RMS_i( f_i(y) / (atol_i + rtol |y_i|) ) <= residual_tol
    (units 1/time); reaching t_max or using up STEADY_MAX_STEPS steps first
    is STEADY_NOT_REACHED, and a blow-up ends early (STEADY_DIVERGED, see
    :func:`kernels.rosenbrock.integrate_rodas`).

    Returns ``(status, y, t_reached, stats)`` with the integrator's ``stats``.
    """
    t_eval = np.empty(0)
    tol = residual_tol if residual_tol > 0.0 else 1e-300
    # np.int64 / np.bool_: run-time (not literal) arguments, so this call reuses
    # the compilation of integrate_rodas that solve_rodas made (kernels.jit)
    res = integrate_rodas(code, system, y0, 0.0, t_max, t_eval, rtol, atol, 0.0,
                          np.int64(STEADY_MAX_STEPS), np.bool_(False), tol)
    status = STEADY_NOT_REACHED if res[0] == MAX_STEPS else res[0]
    return status, res[7], res[8], res[5]


# Relative round-off allowed in a balance whose terms are large and cancel
# (fast forward and reverse reactions): multiples of the gross flux.
BALANCE_ROUNDOFF = 1.0e-12


@njit
def _balance_closed(c, system, tau, rtol, atol):
    """True when every species balance of an isothermal tank,
    c_in - c + tau * sum_j nu_ij q_j, closes within its tolerance
    (|atol| + rtol |c|, plus round-off of the gross terms). A Newton step
    below the tolerance is not enough on its own: a species far below atol
    can still carry a flux tau k c^2 that shifts the others (k = 1e24)."""
    model, rate_params, kf, kr, params, work = system
    n = c.shape[0]
    m = kf.shape[0]
    q = work[:m]
    rates_of_progress(c, model, kf, kr, q)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    net = np.empty(n)
    gross = np.empty(n)
    for i in range(n):
        net[i] = params[1 + i] - c[i]
        gross[i] = abs(params[1 + i]) + abs(c[i])
    for j in range(m):
        for a in range(s_ptr[j], s_ptr[j + 1]):
            flux = tau * s_nu[a] * q[j]
            net[s_sp[a]] += flux
            gross[s_sp[a]] += abs(flux)
    for i in range(n):
        if not abs(net[i]) <= abs(atol[i]) + rtol * abs(c[i]) + BALANCE_ROUNDOFF * gross[i]:
            return False
    return True


@njit
def newton_cstr(code, system, c, rtol, atol, max_iter, stats):
    """Damped Newton on the tank residual, starting from and updating ``c``.

    Converged when the full Newton step is below 1 in the scaled RMS norm
    (|atol| + rtol |c|) and, for an isothermal tank, every species balance
    closes within its tolerance (:func:`_balance_closed`). Components with a
    negative atol may change sign (no damping floor). Returns a status code.
    """
    n = c.shape[0]
    tau = 1.0 / system[4][0]
    F = np.empty(n)
    Ftrial = np.empty(n)
    trial = np.empty(n)
    dx = np.empty(n)
    A = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    rhs(code, 0.0, c, system, F)
    stats[STEADY_STAT_RHS_EVALS] += 1
    fnorm = _scaled_rms(F, c, tau, rtol, atol)
    for _ in range(max_iter):
        stats[STEADY_STAT_NEWTON_ITERS] += 1
        if not np.isfinite(fnorm):
            return STEADY_NONFINITE
        jacobian(code, 0.0, c, system, A)
        stats[STEADY_STAT_JAC_EVALS] += 1
        for i in range(n):
            for j in range(n):
                A[i, j] = -A[i, j]
        if not lu_factor(A, piv):
            return STEADY_SINGULAR
        stats[STEADY_STAT_LU_FACTORS] += 1
        for i in range(n):
            dx[i] = F[i]
        lu_solve(A, piv, dx)
        step_norm = _scaled_rms(dx, c, 1.0, rtol, atol)
        alpha = 1.0
        accepted = False
        for _ls in range(30):
            for i in range(n):
                t = c[i] + alpha * dx[i]
                if atol[i] < 0.0:       # a signed component (heat integral): no floor
                    trial[i] = t
                    continue
                floor = _MAX_DECREASE * c[i]
                trial[i] = t if t > floor else floor
            rhs(code, 0.0, trial, system, Ftrial)
            stats[STEADY_STAT_RHS_EVALS] += 1
            tnorm = _scaled_rms(Ftrial, trial, tau, rtol, atol)
            if np.isfinite(tnorm) and (tnorm <= (1.0 - 1.0e-4 * alpha) * fnorm or step_norm < 1.0):
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            return STEADY_NOT_CONVERGED
        for i in range(n):
            c[i] = trial[i]
            F[i] = Ftrial[i]
        fnorm = tnorm
        if step_norm < 1.0 and alpha == 1.0:
            if code != CSTR_TRANSIENT or _balance_closed(c, system, tau, rtol, atol):
                return SUCCESS
    return STEADY_NOT_CONVERGED


@njit
def solve_cstr(code, system, c_in, inv_tau, c_guess, rtol, atol, stats):
    """Steady state of one tank; returns (status, c).

    Newton from ``c_guess``; if it fails, pseudo-transient continuation from
    the feed composition (a physical initial state) and Newton again. With
    an energy balance (CSTR_ENERGY) the transient always comes first.
    """
    n = c_in.shape[0]
    params = system[4]
    params[0] = inv_tau
    for i in range(n):
        params[1 + i] = c_in[i]
    # Newton is converged to a tighter tolerance than the integrators so
    # that the tank result is not the weak link of a route.
    newton_rtol = min(rtol, 1.0e-10)
    c = c_guess.copy()
    if code != CSTR_ENERGY:
        status = newton_cstr(code, system, c, newton_rtol, atol, np.int64(NEWTON_MAX_ITER), stats)
        if status == SUCCESS:
            return status, c
    # With an energy balance a tank may have several steady states; the one
    # it reaches from start-up (filled with feed at the inlet temperature) is
    # found by following the transient, then polished by Newton.
    stats[STEADY_STAT_PT_FALLBACKS] += 1
    tau = 1.0 / inv_tau
    pt_status, c_pt, t_reached, pt_stats = integrate_to_steady(
        code, system, c_in.copy(), rtol, atol, 1.0e4 * tau, 1.0e-3)
    stats[STEADY_STAT_PT_STEPS] += pt_stats[STAT_ACCEPTED]
    stats[STEADY_STAT_RHS_EVALS] += pt_stats[STAT_RHS_EVALS]
    stats[STEADY_STAT_JAC_EVALS] += pt_stats[STAT_JAC_EVALS]
    stats[STEADY_STAT_LU_FACTORS] += pt_stats[STAT_LU_FACTORS]
    if pt_status != 0:
        return pt_status, c_pt
    c = c_pt.copy()
    status = newton_cstr(code, system, c, newton_rtol, atol, np.int64(NEWTON_MAX_ITER), stats)
    return status, c


@njit
def solve_cstr_cascade(code, system, c_in, inv_tau_each, n_tanks, rtol, atol, stats):
    """N equal tanks in series, solved tank by tank.

    Returns (status, states, n_solved) with ``states[k]`` the outlet of tank
    k; on failure ``n_solved`` is the index of the failing tank.
    """
    n = c_in.shape[0]
    states = np.zeros((n_tanks, n))
    feed = c_in.copy()
    for k in range(n_tanks):
        status, c = solve_cstr(code, system, feed, inv_tau_each, feed, rtol, atol, stats)
        if status != SUCCESS:
            return status, states, k
        for i in range(n):
            states[k, i] = c[i]
            feed[i] = c[i]
    return SUCCESS, states, n_tanks
