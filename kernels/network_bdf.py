"""A route's cell network (:mod:`kernels.network`) integrated in time by the
variable-order NDF/BDF method, with the network's block linear algebra
(issue 11, dynamic operation: the speed of long scenarios).

The method is :mod:`kernels.bdf`'s (Shampine and Reichelt's quasi-constant
step NDF of orders 1 to 5, as in MATLAB's ode15s and scipy's ``BDF``;
backward differences ``D`` at a constant spacing h, a simplified Newton
iteration on ``y - c f(t + h, y) = y_pred - psi`` with ``c = h / alpha``;
CVODE's convergence test on the measured contraction rate). Only the linear
algebra differs: the iteration matrix ``W = I/c - J`` is factored by
:func:`kernels.network._factor_blocks` (one LU of each cell's
(n_species + 1)-square [c, T] block, tracers diagonal, the exchange band by a
block sweep; O(n_cells (n_species + 1)^3), never a dense LU of the state) and
applied by :func:`kernels.network._solve_blocks`; the Jacobian comes in
blocks from :func:`kernels.network._jacobian_blocks`.

Where it saves work over the network's Rodas5P (eight right-hand sides,
a Jacobian, one factorisation and eight block solves per step):

* the Jacobian is kept across steps and re-evaluated only when the Newton
  iteration fails to converge with it;
* the factors are kept while h and the order stay unchanged (h changes
  only after ``order + 1`` equal steps, by at least MIN_GROWTH upwards,
  or on a rejection); a change of h refactors the kept Jacobian blocks
  (``_factor_blocks`` reads ``R`` and writes separate storage) without
  re-evaluating them;
* most steps cost one or two right-hand sides and block solves.

Time dependence: ramps are linear inputs inside a segment; the implicit
formula just evaluates the right-hand side at ``t + h`` (no df/dt term).
Events restart the integrator at their times (the driver's segments): each
call starts at order 1.

Error control, non-negativity rule (a step whose result falls below
``-(atol_i + rtol |y_i|)`` is rejected, never clipped) and the order
selection are :mod:`kernels.bdf`'s; dense output at ``t_out`` is the BDF
interpolating polynomial through the last ``order + 1`` points.

Entry point (Numba, never raises): :func:`integrate_network_bdf`, with the
calling convention and return values of
:func:`kernels.network.integrate_network`, so the domain layer switches
between them by name.
"""

import numpy as np

from ._common import DENSE_BDF, N_DENSE_BDF, dense_eval_at
from .bdf import (_ALPHA, _ERROR_CONST, _GAMMA, CRATE_DECAY, MAX_CONSECUTIVE_FAILURES,
                  MAX_FACTOR, MAX_ORDER, MIN_FACTOR, MIN_GROWTH, NEWTON_MAXITER, NEWTON_TOL,
                  _change_spacing)
from .jit import njit
from .network import (NET_STAT_BLOCK_LU, N_NET_STATS, _check_network_inputs, _factor_blocks,
                      _full_atol, _isothermal_rate_constants, _jacobian_blocks, _rhs,
                      _scaled_rms, _scratch, _solve_blocks, factor_storage)
from .status import (
    INVALID_INPUT,
    MAX_STEPS,
    NEWTON_FAILED,
    NON_FINITE,
    SINGULAR_MATRIX,
    STAT_ACCEPTED,
    STAT_JAC_EVALS,
    STAT_LU_FACTORS,
    STAT_REJECTED,
    STAT_RHS_EVALS,
    STAT_STEPS,
    STEP_TOO_SMALL,
    SUCCESS,
)

_EPS = np.finfo(np.float64).eps


@njit
def history_storage(net):
    """``(hist, hist_state)`` for :func:`integrate_network_bdf`'s warm
    continuation: the backward differences (float64[MAX_ORDER + 3, n]) and
    ``[order, h, t]`` (order 0: no history, the next call starts cold)."""
    n = net[5].shape[0] * (net[3] + net[4] + 1)
    return np.zeros((MAX_ORDER + 3, n)), np.zeros(3)


@njit(nogil=True)
def integrate_network_bdf(net, seg, y0, t0, t1, t_out, rtol, atol, h0, max_steps, hist,
                          hist_state, out_index):
    """Integrate the cell network over one segment [t0, t1] with the
    variable-order NDF/BDF method and block LU.

    Parameters and returns are those of
    :func:`kernels.network.integrate_network`: ``(status, y_out, y_end,
    h_last, stats)`` with ``stats`` the int64[N_NET_STATS] counters (step
    attempts, accepted, rejected, rhs evaluations, Jacobian evaluations,
    factorisations of W, cell-block LU factorisations). A cold start is at
    order 1 with the first step ``h0`` (<= 0: estimated from f and its
    change over a trial step). Statuses: SUCCESS, MAX_STEPS, STEP_TOO_SMALL,
    NON_FINITE, SINGULAR_MATRIX, NEWTON_FAILED, INVALID_INPUT.

    ``hist``, ``hist_state`` (from :func:`history_storage`, updated in
    place) carry the method's history between calls: when
    ``hist_state = [order, h, t]`` has ``order >= 1``, ``t == t0`` and
    ``hist[0] == y0`` exactly, the call continues the previous one (same
    order and step, no restart at order 1). The caller passes the history
    only where the equations continue unchanged (a chunk boundary inside a
    segment, or a segment boundary where the inputs are continuous) and
    sets ``hist_state[0] = 0`` at an event; on return it holds the history
    at the last accepted step (order 0 after a failure). ``out_index``: the
    state entries reported in ``y_out``, as in ``integrate_network``.
    """
    n_s, n_tr, cell_energy = net[3], net[4], net[5]
    n_cells = cell_energy.shape[0]
    n_links = net[7].shape[0]
    enforce_nonnegative = net[8] != 0
    m = net[2].shape[0]
    w = n_s + n_tr + 1
    wr = n_s + 1
    n = n_cells * w
    n_out = t_out.shape[0]
    stats = np.zeros(N_NET_STATS, dtype=np.int64)
    n_index = out_index.shape[0]
    y_out = np.full((n_out, n_index), np.nan)
    y = y0.copy()
    if not _check_network_inputs(net, seg, y0, t0, t1, t_out, rtol, atol, out_index):
        return INVALID_INPUT, y_out, y, 0.0, stats
    at = _full_atol(atol, n)
    ie = 0
    while ie < n_out and t_out[ie] <= t0:
        for j in range(n_index):
            y_out[ie, j] = y0[out_index[j]]
        ie += 1

    kf_iso, kr_iso = _isothermal_rate_constants(net, y0)
    work = _scratch(net)
    # work arrays, allocated once per call
    f = np.empty(n)
    fu = np.empty(n)
    u = np.empty(n)
    ynew = np.empty(n)
    ypred = np.empty(n)
    psi = np.empty(n)
    scale = np.empty(n)
    d = np.empty(n)
    dy = np.empty(n)
    keep = hist.shape[0] == MAX_ORDER + 3 and hist.shape[1] == n
    D = hist if keep else np.zeros((MAX_ORDER + 3, n))
    warm = keep and hist_state.shape[0] == 3 and hist_state[0] >= 1.0 \
        and hist_state[0] <= MAX_ORDER and hist_state[1] > 0.0 and hist_state[2] == t0
    if warm:
        for i in range(n):
            if D[0, i] != y0[i]:
                warm = False
                break
    warm_order = int(hist_state[0]) if warm else 1
    warm_h = hist_state[1] if warm else 0.0
    if hist_state.shape[0] > 0:
        hist_state[0] = 0.0  # no usable history unless this call succeeds
    Rs = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    Us = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    RU = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    tmp = np.empty((MAX_ORDER + 1, n))
    dcoef = np.zeros((N_DENSE_BDF, n_index))
    jr = np.zeros((wr, wr))
    dqdT = np.zeros(max(m, 1))
    R = np.zeros((n_cells, wr, wr))
    tdiag = np.zeros(n_cells)
    jl = np.zeros((n_links, w))
    je = np.zeros(n_cells)
    store = factor_storage(net)

    t = t0
    _rhs(t, y, net, seg, t0, t1, True, kf_iso, kr_iso, work, f)
    stats[STAT_RHS_EVALS] += 1
    for i in range(n):
        if not np.isfinite(f[i]):
            return NON_FINITE, y_out, y, 0.0, stats
    if not (t1 > t0):
        return SUCCESS, y_out, y, h0, stats
    span = t1 - t0
    if warm:
        order = warm_order
        h = warm_h
    elif h0 > 0.0:
        order = 1
        h = min(h0, span)
    else:
        order = 1
        h = _first_step(net, seg, y, f, t0, t1, rtol, at, kf_iso, kr_iso, work, u, fu)
        stats[STAT_RHS_EVALS] += 1
    if not warm:
        for i in range(n):
            D[0, i] = y[i]
            D[1, i] = h * f[i]
        for j in range(2, MAX_ORDER + 3):
            for i in range(n):
                D[j, i] = 0.0

    status = SUCCESS
    newton_tol = max(10.0 * _EPS / rtol, NEWTON_TOL)
    n_equal = 0
    have_jac = False
    lu_ok = False        # factors of W = gh_lu I - J are current
    gh_lu = 0.0
    crate = 1.0          # Newton contraction rate, carried between steps
    n_fail = 0
    jac_fresh = False    # J evaluated during the current step
    bad_value = False    # the last Newton attempt met an inf or NaN
    lu_failed = False    # the last factorisation was singular or non-finite
    while True:
        if stats[STAT_STEPS] >= max_steps:
            status = MAX_STEPS
            break
        if not (h > 16.0 * _EPS * max(abs(t), 1e-300)):
            status = STEP_TOO_SMALL
            break
        last = False
        if t + 1.01 * h >= t1:
            factor = (t1 - t) / h
            if factor != 1.0:
                _change_spacing(D, order, factor, Rs, Us, RU, tmp)
                n_equal = 0
                lu_ok = False
            h = t1 - t
            last = True
        stats[STAT_STEPS] += 1
        t_new = t1 if last else t + h
        alpha = _ALPHA[order]
        c = h / alpha
        for i in range(n):
            s = D[0, i]
            p = 0.0
            for j in range(1, order + 1):
                s += D[j, i]
                p += _GAMMA[j] * D[j, i]
            ypred[i] = s
            psi[i] = p / alpha
            scale[i] = at[i] + rtol * abs(s)

        # ---- simplified Newton on y - c f(t_new, y) = y_pred - psi
        converged = False
        n_iter = 0
        while True:
            if not have_jac:
                _jacobian_blocks(t_new, ypred, net, seg, t0, t1, True, kf_iso, kr_iso, work, jr,
                                 dqdT, R, tdiag, jl, je)
                stats[STAT_JAC_EVALS] += 1
                have_jac = True
                jac_fresh = True
                lu_ok = False
            if not lu_ok:
                gh_lu = 1.0 / c
                crate = 1.0  # a new matrix: measure its contraction afresh
                stats[STAT_LU_FACTORS] += 1
                stats[NET_STAT_BLOCK_LU] += n_cells
                lu_ok = _factor_blocks(net, gh_lu, R, tdiag, jl, je, store)
                lu_failed = not lu_ok
            if lu_ok:
                # W dy = gh_lu (c f - psi - d): exact Newton matrix for
                # gh_lu = 1/c (the factors are always refreshed when c changes)
                for i in range(n):
                    ynew[i] = ypred[i]
                    d[i] = 0.0
                dy_norm_old = -1.0
                bad_value = False
                for k in range(NEWTON_MAXITER):
                    n_iter = k + 1
                    _rhs(t_new, ynew, net, seg, t0, t1, True, kf_iso, kr_iso, work, fu)
                    stats[STAT_RHS_EVALS] += 1
                    chk = 0.0
                    for i in range(n):
                        v = gh_lu * (c * fu[i] - psi[i] - d[i])
                        chk += v * 0.0  # NaN when a rate is inf or NaN
                        dy[i] = v
                    if chk != 0.0:
                        bad_value = True
                        break
                    _solve_blocks(net, store, jl, je, dy)
                    s2 = 0.0
                    for i in range(n):
                        r = dy[i] / scale[i]
                        s2 += r * r
                    dy_norm = np.sqrt(s2 / n)
                    if not np.isfinite(dy_norm):
                        bad_value = True
                        break
                    if dy_norm_old >= 0.0:
                        rate = dy_norm / dy_norm_old
                        # predicted remaining correction after the iterations left
                        rate_pow = rate
                        for _ in range(NEWTON_MAXITER - k - 1):
                            rate_pow *= rate
                        if rate >= 1.0 or rate_pow / (1.0 - rate) * dy_norm > newton_tol:
                            crate = max(crate, min(rate, 1.0))
                            break
                        crate = max(CRATE_DECAY * crate, rate)
                    for i in range(n):
                        ynew[i] += dy[i]
                        d[i] += dy[i]
                    if dy_norm == 0.0 or dy_norm * min(1.0, crate) <= newton_tol:
                        converged = True
                        break
                    dy_norm_old = dy_norm
            if converged or jac_fresh:
                break
            have_jac = False  # retry the step with a fresh Jacobian

        if not converged:
            stats[STAT_REJECTED] += 1
            n_fail += 1
            if n_fail > MAX_CONSECUTIVE_FAILURES:
                if lu_failed:
                    status = SINGULAR_MATRIX
                    for i in range(n_cells):
                        for r_ in range(wr):
                            for c_ in range(wr):
                                if not np.isfinite(R[i, r_, c_]):
                                    status = NON_FINITE
                elif bad_value:
                    status = NON_FINITE
                else:
                    status = NEWTON_FAILED
                break
            h *= 0.5
            _change_spacing(D, order, 0.5, Rs, Us, RU, tmp)
            n_equal = 0
            lu_ok = False
            continue

        # ---- local error and the non-negativity rule
        safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
        s2 = 0.0
        chk = 0.0
        negative = False
        for i in range(n):
            sc = at[i] + rtol * abs(ynew[i])
            scale[i] = sc
            r = d[i] / sc
            s2 += r * r
            chk += ynew[i] * 0.0  # NaN when ynew is inf or NaN
            if enforce_nonnegative and ynew[i] < -(at[i] + rtol * abs(y[i])):
                negative = True
        err = _ERROR_CONST[order] * np.sqrt(s2 / n)
        if not (chk == 0.0 and np.isfinite(err)):
            stats[STAT_REJECTED] += 1
            n_fail += 1
            if n_fail > MAX_CONSECUTIVE_FAILURES:
                status = NON_FINITE
                break
            h *= 0.25
            _change_spacing(D, order, 0.25, Rs, Us, RU, tmp)
            n_equal = 0
            lu_ok = False
            continue
        if err > 1.0 or negative:
            stats[STAT_REJECTED] += 1
            factor = max(MIN_FACTOR, safety * err ** (-1.0 / (order + 1))) if err > 1.0 else 1.0
            if negative:
                factor = min(factor, 0.5)
            h *= factor
            _change_spacing(D, order, factor, Rs, Us, RU, tmp)
            n_equal = 0
            lu_ok = False
            continue

        # ---- accept
        n_fail = 0
        jac_fresh = False
        for i in range(n):
            D[order + 2, i] = d[i] - D[order + 1, i]
            D[order + 1, i] = d[i]
        for j in range(order, -1, -1):
            for i in range(n):
                D[j, i] += D[j + 1, i]
        if ie < n_out and t_out[ie] <= t_new:
            for j in range(N_DENSE_BDF):
                for i in range(n_index):
                    dcoef[j, i] = D[j + 1, out_index[i]] if j < order else 0.0
            while ie < n_out and t_out[ie] <= t_new:
                dense_eval_at(DENSE_BDF, (t_out[ie] - t) / h, y, ynew, dcoef, out_index,
                              y_out[ie])
                ie += 1
        for i in range(n):
            y[i] = ynew[i]
            D[0, i] = ynew[i]  # the sum of differences to round-off: exact, so a
            #                    warm continuation recognises y_end as its state
        t = t_new
        stats[STAT_ACCEPTED] += 1
        n_equal += 1
        if last:
            break
        if n_equal < order + 1:
            continue

        # ---- order and step size for the next steps
        if order > 1:
            s2 = 0.0
            for i in range(n):
                r = D[order, i] / scale[i]
                s2 += r * r
            err_m = _ERROR_CONST[order - 1] * np.sqrt(s2 / n)
            fac_m = err_m ** (-1.0 / order) if err_m > 0.0 else MAX_FACTOR
        else:
            fac_m = 0.0
        if order < MAX_ORDER:
            s2 = 0.0
            for i in range(n):
                r = D[order + 2, i] / scale[i]
                s2 += r * r
            err_p = _ERROR_CONST[order + 1] * np.sqrt(s2 / n)
            fac_p = err_p ** (-1.0 / (order + 2)) if err_p > 0.0 else MAX_FACTOR
        else:
            fac_p = 0.0
        fac_0 = err ** (-1.0 / (order + 1)) if err > 0.0 else MAX_FACTOR
        new_order = order
        best = fac_0
        if fac_m > best:
            best = fac_m
            new_order = order - 1
        if fac_p > best:
            best = fac_p
            new_order = order + 1
        factor = min(MAX_FACTOR, safety * best)
        if new_order == order and 1.0 <= factor < MIN_GROWTH:
            n_equal = 0  # not worth new factors: keep h and order, look again later
            continue
        order = new_order
        h *= factor
        _change_spacing(D, order, factor, Rs, Us, RU, tmp)
        n_equal = 0
        lu_ok = False
    if status == SUCCESS and hist_state.shape[0] == 3 and keep:
        hist_state[0] = order
        hist_state[1] = h
        hist_state[2] = t
    return status, y_out, y, h, stats


@njit
def _first_step(net, seg, y, f, t0, t1, rtol, at, kf_iso, kr_iso, work, u, fu):
    """First step of a cold start (order 1): Hairer's estimate (Solving
    ODEs I, II.4) from f and its change over a trial step (one rhs)."""
    span = t1 - t0
    dnf = _scaled_rms(f, y, rtol, at)
    dny = _scaled_rms(y, y, rtol, at)
    h = 1e-6 if (dnf <= 1e-10 or dny <= 1e-10) else 0.01 * dny / dnf
    h = min(h, span)
    n = y.shape[0]
    for i in range(n):
        u[i] = y[i] + h * f[i]
    _rhs(t0 + h, u, net, seg, t0, t1, True, kf_iso, kr_iso, work, fu)
    for i in range(n):
        fu[i] -= f[i]
    der2 = _scaled_rms(fu, y, rtol, at) / h
    der12 = max(abs(der2), dnf)
    if not np.isfinite(der12):
        h1 = h * 1e-3
    elif der12 <= 1e-15:
        h1 = max(1e-6, h * 1e-3)
    else:
        h1 = (0.01 / der12) ** 0.5
    h = min(100.0 * h, h1, span)
    if not (h > 0.0):
        h = max(span * 1e-6, 1e-300)
    return h
