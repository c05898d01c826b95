"""Steady axial-dispersion tubular reactor, isothermal, any kinetics.

Equations (dimensionless length x = z/L in [0, 1], residence time tau)::

    (1/Pe) c'' - c' + tau r(c) = 0
    c(0) - (1/Pe) c'(0) = c_in          (Danckwerts inlet)
    c'(1) = 0                           (Danckwerts outlet)

with r(c) the net production rates of :func:`kernels.kinetics.production_rates`.
Written with the total (convective + dispersive) flux F = c - c'/Pe the
equations are the conservation law F' = tau r(c) with F(0) = c_in and F(1) = c(1).

Discretisation: vertex-centred finite volumes
----------------------------------------------
Nodes ``0 = x_0 < ... < x_{M-1} = 1`` (``M = n_cells``); node j owns the control
volume between the midpoints of its neighbouring intervals (half volumes at the
two ends), so ``sum V_j = 1``. The balance of volume j is

    R_j = F_{j+1/2} - F_{j-1/2} - tau V_j r(c_j) = 0,

with ``F_{-1/2} = c_in`` (the Danckwerts inlet is a flux condition) and
``F_{M-1/2} = c_{M-1}`` (at x = 1, c' = 0 makes the total flux equal to the
concentration). Summing the balances telescopes exactly:

    c_in - c_out + tau sum_j V_j r(c_j) = -sum_j R_j,

so the species balance closes to the Newton residual (round-off), whatever the
kinetics, and the outlet concentration is the node value c(1) used in that
last flux: it satisfies the exit condition by construction.

Interval flux: the *complete flux* scheme (ten Thije Boonkkamp and
Anthonissen, J. Sci. Comput. 46 (2011) 47-70). On the interval
[x_k, x_{k+1}] of width h, with cell Peclet number P = Pe h and the source
s = F' taken constant (trapezoidal mean tau (r_k + r_{k+1})/2), the local
two-point problem c - c'/Pe = F(x) is solved exactly; the flux at the midpoint
is

    F = c_k - B(P) (c_{k+1} - c_k) + G(P) h s,
    B(P) = 1/(e^P - 1),   G(P) = 1/2 + B(P) - 1/P.

For P -> 0 this is central differencing (B ~ 1/P - 1/2, G ~ P/12); for
P -> oo it is upwind with a second-order source correction (F -> c_k + h s/2),
so the scheme is free of oscillations at any Pe and second order uniformly in
P where the solution is smooth; the unresolved exit layer of width 1/Pe is
represented by the exact exponential of the homogeneous problem. A grid
graded towards both ends (``grading`` > 0; the default grid is uniform, best
for smooth profiles) helps at moderate Pe.

Solver
------
One nonlinear system of M n unknowns with a block-tridiagonal Jacobian
(blocks n x n, analytic kinetics Jacobian), solved by damped Newton:
the linear systems by block Thomas elimination with the partial-pivoting LU
of :mod:`kernels.linalg` on the diagonal blocks. A trial point never lets
a concentration fall below 1/100 of its current value (iterates stay
non-negative), and the step is halved until the scaled residual decreases.
Initial guess: the plug-flow profile (Rodas5P on the BATCH problem, sampled
at the nodes). If Newton fails: continuation in Pe, starting from the
stirred-tank state (the Pe -> 0 limit, reached by pseudo-transient integration
of the CSTR_TRANSIENT problem; ``system[4]`` is overwritten) at a small Pe
and raising Pe geometrically, each solution the next guess.

Returned ``stats``: float64, :data:`kernels.status.N_DISP_STATS` entries at
the ``DISP_STAT_*`` positions of :mod:`kernels.status` (iterations and
evaluations, the Pe reached, the relative conservation error
max_i |c_in - c_out + tau sum V r|_i / max(max c_in, atol), the scaled norm
of the last Newton step).
"""

import math

import numpy as np

from .jit import njit
from .kinetics import production_jacobian, production_rates
from .linalg import lu_factor, lu_solve
from .problems import BATCH, CSTR_TRANSIENT
from .rosenbrock import solve_rodas
from .status import (
    DISP_INVALID,
    DISP_NEGATIVE,
    DISP_NONFINITE,
    DISP_NOT_CONVERGED,
    DISP_SINGULAR,
    DISP_STAT_BLOCK_LU_FACTORS,
    DISP_STAT_CONSERVATION_ERROR,
    DISP_STAT_CONTINUATION_SOLVES,
    DISP_STAT_INTEGRATOR_STEPS,
    DISP_STAT_JAC_ASSEMBLIES,
    DISP_STAT_LAST_STEP_NORM,
    DISP_STAT_NEWTON_ITERS,
    DISP_STAT_PE_REACHED,
    DISP_STAT_RESIDUAL_EVALS,
    N_DISP_STATS,
    STAT_ACCEPTED,
    SUCCESS,
)
from .steady import integrate_to_steady

_MAX_DECREASE = 1.0e-2   # a Newton trial keeps at least this fraction of each concentration
_MAX_NEWTON = 60
_MAX_GUESS_STEPS = 100000  # step budget of the plug-flow initial guess
_PE_START = 1.0e-2       # continuation starts at min(Pe, this)


# ---------------------------------------------------------------------------
# grid and flux coefficients
# ---------------------------------------------------------------------------
@njit
def graded_grid(n_cells, grading):
    """Nodes x_j = xi - g sin(2 pi xi)/(2 pi) on uniform xi in [0, 1].

    Spacing at both ends is (1 - g) times the mean, (1 + g) times it in the
    middle; ``grading`` = 0 gives a uniform grid. Smooth, so the scheme keeps
    its second order.
    """
    x = np.empty(n_cells)
    for j in range(n_cells):
        xi = j / (n_cells - 1.0)
        x[j] = xi - grading * math.sin(2.0 * math.pi * xi) / (2.0 * math.pi)
    x[0] = 0.0
    x[n_cells - 1] = 1.0
    return x


@njit
def flux_coefficients(P):
    """(B, G) of the complete-flux scheme for cell Peclet number P > 0.

    B = 1/(e^P - 1), G = 1/2 + B - 1/P, evaluated without overflow or
    cancellation (series for small P).
    """
    if P < 0.05:
        P2 = P * P
        B = 1.0 / math.expm1(P)
        G = P / 12.0 * (1.0 - P2 / 60.0 + P2 * P2 / 2520.0)
        return B, G
    if P > 1.0:
        e = math.exp(-P)
        B = e / (1.0 - e)
    else:
        B = 1.0 / math.expm1(P)
    return B, 0.5 + B - 1.0 / P


@njit
def _interval_data(x, Pe, h, V, Bc, Gc):
    M = x.shape[0]
    for k in range(M - 1):
        h[k] = x[k + 1] - x[k]
        Bc[k], Gc[k] = flux_coefficients(Pe * h[k])
    for j in range(M):
        V[j] = 0.0
    for k in range(M - 1):
        V[k] += 0.5 * h[k]
        V[k + 1] += 0.5 * h[k]


# ---------------------------------------------------------------------------
# residual and Jacobian
# ---------------------------------------------------------------------------
@njit
def _residual(system, c, c_in, tau, h, V, Bc, Gc, r, R):
    """R_j = F_{j+1/2} - F_{j-1/2} - tau V_j r(c_j); fills r (rates) too."""
    model, rate_params, kf, kr, params, work = system
    M, n = c.shape
    q = np.empty(kf.shape[0])
    for j in range(M):
        production_rates(c[j], model, kf, kr, q, r[j])
        for i in range(n):
            R[j, i] = -tau * V[j] * r[j, i]
    for k in range(M - 1):
        b = Bc[k]
        g = 0.5 * tau * h[k] * Gc[k]
        for i in range(n):
            F = c[k, i] - b * (c[k + 1, i] - c[k, i]) + g * (r[k, i] + r[k + 1, i])
            R[k, i] += F
            R[k + 1, i] -= F
    for i in range(n):
        R[0, i] -= c_in[i]
        R[M - 1, i] += c[M - 1, i]


@njit
def _assemble(system, c, tau, h, V, Bc, Gc, Jr, L, D, U):
    """Blocks of dR/dc: L[j] = dR_j/dc_{j-1}, D[j] = dR_j/dc_j, U[j] = dR_j/dc_{j+1}."""
    model, rate_params, kf, kr, params, work = system
    M, n = c.shape
    for j in range(M):
        production_jacobian(c[j], model, kf, kr, Jr[j])
        for a in range(n):
            for b in range(n):
                D[j, a, b] = -tau * V[j] * Jr[j, a, b]
                L[j, a, b] = 0.0
                U[j, a, b] = 0.0
    for k in range(M - 1):
        bk = Bc[k]
        g = 0.5 * tau * h[k] * Gc[k]
        for a in range(n):
            for b in range(n):
                dFk = g * Jr[k, a, b]        # dF/dc_k (kinetics part)
                dFk1 = g * Jr[k + 1, a, b]   # dF/dc_{k+1}
                if a == b:
                    dFk += 1.0 + bk
                    dFk1 -= bk
                D[k, a, b] += dFk
                U[k, a, b] += dFk1
                L[k + 1, a, b] -= dFk
                D[k + 1, a, b] -= dFk1
    for a in range(n):
        D[M - 1, a, a] += 1.0


# ---------------------------------------------------------------------------
# block-tridiagonal solver (block Thomas)
# ---------------------------------------------------------------------------
@njit
def block_tridiag_factor(L, D, U, piv, col):
    """Factor the block-tridiagonal matrix (L, D, U) in place.

    After the call D[j] holds the LU factors (pivots ``piv[j]``) of the
    Schur complement D_j - L_j D'_{j-1}^{-1} U_{j-1}, and U[j] holds
    D'_j^{-1} U_j. ``col`` is scratch of length n. Returns False when a
    diagonal block is singular. No pivoting across blocks: suitable for the
    block diagonally dominant matrices of convection-dispersion-reaction.
    """
    M = D.shape[0]
    n = D.shape[1]
    for j in range(M):
        if j > 0:
            # D_j -= L_j X_{j-1}, X_{j-1} = D'_{j-1}^{-1} U_{j-1} (stored in U[j-1])
            for a in range(n):
                for m in range(n):
                    l_am = L[j, a, m]
                    if l_am != 0.0:
                        for b in range(n):
                            D[j, a, b] -= l_am * U[j - 1, m, b]
        if not lu_factor(D[j], piv[j]):
            return False
        if j < M - 1:
            for b in range(n):
                for a in range(n):
                    col[a] = U[j, a, b]
                lu_solve(D[j], piv[j], col)
                for a in range(n):
                    U[j, a, b] = col[a]
    return True


@njit
def block_tridiag_solve(L, D, U, piv, rhs):
    """Solve in place (rhs[M, n]) with the factors of :func:`block_tridiag_factor`."""
    M = D.shape[0]
    n = D.shape[1]
    for j in range(M):
        if j > 0:
            for a in range(n):
                s = rhs[j, a]
                for m in range(n):
                    s -= L[j, a, m] * rhs[j - 1, m]
                rhs[j, a] = s
        lu_solve(D[j], piv[j], rhs[j])
    for j in range(M - 2, -1, -1):
        for a in range(n):
            s = rhs[j, a]
            for m in range(n):
                s -= U[j, a, m] * rhs[j + 1, m]
            rhs[j, a] = s


# ---------------------------------------------------------------------------
# Newton
# ---------------------------------------------------------------------------
@njit
def _weighted_rms(v, w):
    M, n = v.shape
    s = 0.0
    for j in range(M):
        for i in range(n):
            e = v[j, i] / w[j, i]
            s += e * e
    return math.sqrt(s / (M * n))


@njit
def _newton(system, c, c_in, tau, x, Pe, rtol, atol, max_iter, stats):
    """Damped Newton from and into ``c`` at Peclet number Pe; returns status.

    Converged when a full Newton step is below 1 in the norm
    RMS(dc / (atol + rtol |c|)).
    """
    M, n = c.shape
    h = np.empty(M - 1)
    V = np.empty(M)
    Bc = np.empty(M - 1)
    Gc = np.empty(M - 1)
    _interval_data(x, Pe, h, V, Bc, Gc)
    r = np.empty((M, n))
    R = np.empty((M, n))
    Rt = np.empty((M, n))
    trial = np.empty((M, n))
    dx = np.empty((M, n))
    w = np.empty((M, n))
    wres = np.empty((M, n))
    Jr = np.empty((M, n, n))
    L = np.empty((M, n, n))
    D = np.empty((M, n, n))
    U = np.empty((M, n, n))
    piv = np.zeros((M, n), dtype=np.int64)
    col = np.empty(n)
    cscale = 0.0
    for i in range(n):
        cscale = max(cscale, abs(c_in[i]))
    # residual weights: a balance of volume V_j is an O(V_j) flux difference
    for j in range(M):
        for i in range(n):
            wres[j, i] = (atol[i] + rtol * cscale) * max(V[j], 1e-300)

    _residual(system, c, c_in, tau, h, V, Bc, Gc, r, R)
    stats[DISP_STAT_RESIDUAL_EVALS] += 1
    fnorm = _weighted_rms(R, wres)
    for _ in range(max_iter):
        if not np.isfinite(fnorm):
            return DISP_NONFINITE
        stats[DISP_STAT_NEWTON_ITERS] += 1
        _assemble(system, c, tau, h, V, Bc, Gc, Jr, L, D, U)
        stats[DISP_STAT_JAC_ASSEMBLIES] += 1
        if not block_tridiag_factor(L, D, U, piv, col):
            return DISP_SINGULAR
        stats[DISP_STAT_BLOCK_LU_FACTORS] += 1
        for j in range(M):
            for i in range(n):
                dx[j, i] = -R[j, i]
                w[j, i] = atol[i] + rtol * abs(c[j, i])
        block_tridiag_solve(L, D, U, piv, dx)
        step_norm = _weighted_rms(dx, w)
        stats[DISP_STAT_LAST_STEP_NORM] = step_norm
        if not np.isfinite(step_norm):
            return DISP_NONFINITE
        alpha = 1.0
        accepted = False
        tnorm = fnorm
        for _ls in range(30):
            for j in range(M):
                for i in range(n):
                    t = c[j, i] + alpha * dx[j, i]
                    floor = _MAX_DECREASE * c[j, i]
                    trial[j, i] = t if t > floor else floor
            _residual(system, trial, c_in, tau, h, V, Bc, Gc, r, Rt)
            stats[DISP_STAT_RESIDUAL_EVALS] += 1
            tnorm = _weighted_rms(Rt, wres)
            if np.isfinite(tnorm) and (tnorm <= (1.0 - 1.0e-4 * alpha) * fnorm
                                       or step_norm * alpha < 1.0):
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            return DISP_NOT_CONVERGED
        for j in range(M):
            for i in range(n):
                c[j, i] = trial[j, i]
                R[j, i] = Rt[j, i]
        fnorm = tnorm
        if step_norm < 1.0 and alpha == 1.0:
            return SUCCESS
    return DISP_NOT_CONVERGED


@njit
def _check_inputs(c_in, tau, Pe, x):
    if not (Pe > 0.0) or not np.isfinite(Pe) or not (tau > 0.0) or not np.isfinite(tau):
        return False
    M = x.shape[0]
    if M < 3 or x[0] != 0.0 or x[M - 1] != 1.0:
        return False
    for k in range(M - 1):
        if not (x[k + 1] > x[k]):
            return False
    for i in range(c_in.shape[0]):
        if not (c_in[i] >= 0.0) or not np.isfinite(c_in[i]):
            return False
    return True


@njit
def conservation_error(system, profile, c_in, tau, x):
    """Per-species c_in - c_out + tau sum_j V_j r(c_j) (mol/m^3 of throughput).

    Inlet molar flux minus outlet minus the integrated net production, per unit
    volumetric flow; zero up to round-off and the Newton residual for the
    conservative scheme, independent of the stoichiometry.
    """
    model, rate_params, kf, kr, params, work = system
    M, n = profile.shape
    out = np.empty(n)
    rj = np.empty(n)
    q = np.empty(kf.shape[0])
    for i in range(n):
        out[i] = c_in[i] - profile[M - 1, i]
    for j in range(M):
        if j == 0:
            Vj = 0.5 * (x[1] - x[0])
        elif j == M - 1:
            Vj = 0.5 * (x[M - 1] - x[M - 2])
        else:
            Vj = 0.5 * (x[j + 1] - x[j - 1])
        production_rates(profile[j], model, kf, kr, q, rj)
        for i in range(n):
            out[i] += tau * Vj * rj[i]
    return out


@njit
def solve_dispersion(system, c_in, tau, Pe, x, rtol, atol):
    """Steady axial-dispersion reactor on the nodes ``x`` (0 = x_0 < ... < x_{M-1} = 1).

    ``system`` as in :mod:`kernels.problems` (rate constants filled), ``c_in``
    inlet concentrations (mol/m^3), ``tau`` residence time (s), ``Pe`` = uL/D,
    ``rtol``/``atol`` (atol per species) the Newton and guess tolerances.

    Returns ``(status, x, profile[M, n], outlet[n], stats)``; ``outlet`` is the
    node value at x = 1 (see the module docstring), ``stats`` as documented there.
    """
    n = c_in.shape[0]
    M = x.shape[0]
    stats = np.zeros(N_DISP_STATS)
    profile = np.zeros((M, n))
    if not _check_inputs(c_in, tau, Pe, x) or atol.shape[0] != n:
        return DISP_INVALID, x.copy(), profile, c_in.copy(), stats

    # ---- initial guess: plug flow sampled at the nodes
    t_eval = np.empty(M)
    for j in range(M):
        t_eval[j] = tau * x[j]
    t_eval[M - 1] = tau
    # np.int64 / np.bool_: run-time (not literal) arguments, so this call reuses
    # the compilation of solve_rodas that flowchem's own calls made (kernels.jit)
    g_status, t_s, y_s, d_s, y_eval, g_stats, g_min = solve_rodas(
        np.int64(BATCH), system, c_in.copy(), 0.0, tau, t_eval, rtol, atol, 0.0,
        np.int64(_MAX_GUESS_STEPS), np.bool_(False))
    stats[DISP_STAT_INTEGRATOR_STEPS] = g_stats[STAT_ACCEPTED]
    good_guess = g_status == 0
    if good_guess:
        for j in range(M):
            for i in range(n):
                v = y_eval[j, i]
                if not np.isfinite(v):
                    good_guess = False
                profile[j, i] = v if v > 0.0 else 0.0
    status = DISP_NOT_CONVERGED
    if good_guess:
        status = _newton(system, profile, c_in, tau, x, Pe, rtol, atol, _MAX_NEWTON, stats)

    if status != SUCCESS:
        # ---- continuation in Pe from the stirred-tank limit
        # the Pe -> 0 limit is a stirred tank: integrate its transient from
        # the feed towards the steady state (pseudo-transient continuation)
        params = system[4]
        params[0] = 1.0 / tau
        for i in range(n):
            params[1 + i] = c_in[i]
        cs_status, c_tank, t_reached, st = integrate_to_steady(
            np.int64(CSTR_TRANSIENT), system, c_in.copy(), rtol, atol, 1.0e4 * tau, 1.0e-3)
        stats[DISP_STAT_INTEGRATOR_STEPS] += st[STAT_ACCEPTED]
        for j in range(M):
            for i in range(n):
                profile[j, i] = c_tank[i] if cs_status == 0 else c_in[i]
                if profile[j, i] < 0.0:
                    profile[j, i] = 0.0
        pe_now = min(Pe, _PE_START)
        stats[DISP_STAT_CONTINUATION_SOLVES] += 1
        status = _newton(system, profile, c_in, tau, x, pe_now, rtol, atol, _MAX_NEWTON, stats)
        if status == SUCCESS:
            stats[DISP_STAT_PE_REACHED] = pe_now
            factor = 4.0
            saved = profile.copy()
            while pe_now < Pe:
                pe_try = min(Pe, pe_now * factor)
                stats[DISP_STAT_CONTINUATION_SOLVES] += 1
                s2 = _newton(system, profile, c_in, tau, x, pe_try, rtol, atol, _MAX_NEWTON, stats)
                if s2 == SUCCESS:
                    pe_now = pe_try
                    stats[DISP_STAT_PE_REACHED] = pe_now
                    saved[:, :] = profile
                    factor = min(factor * 2.0, 100.0)
                else:
                    profile[:, :] = saved
                    factor = math.sqrt(factor)
                    if factor < 1.01:
                        status = s2
                        break
    else:
        stats[DISP_STAT_PE_REACHED] = Pe
    outlet = profile[M - 1].copy()
    if status == SUCCESS:
        for j in range(M):
            for i in range(n):
                if not np.isfinite(profile[j, i]):
                    status = DISP_NONFINITE
                elif profile[j, i] < -atol[i]:
                    status = DISP_NEGATIVE
        cons = conservation_error(system, profile, c_in, tau, x)
        scale = 0.0
        for i in range(n):
            scale = max(scale, abs(c_in[i]), atol[i])
        e = 0.0
        for i in range(n):
            e = max(e, abs(cons[i]))
        stats[DISP_STAT_CONSERVATION_ERROR] = e / scale
    return status, x, profile, outlet, stats
