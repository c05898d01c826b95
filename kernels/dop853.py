"""Non-stiff integrator for tight tolerances: Dormand-Prince 8(5,3).

The explicit Runge-Kutta method of order 8 of Dormand and Prince (1981) as
Hairer's DOP853 runs it (Solving ODEs I, II.10): 12 stages, f at the new
state (the first stage of the next step), the error estimate that blends the
embedded order-5 and order-3 solutions (``h e5^2 / sqrt(e5^2 + 0.01 e3^2)``,
RMS norms weighted by atol + rtol max(|y|, |y_new|)), step factor
``0.9 err^(-1/8)`` within [1/3, 6], and Hairer's order-7 continuous
extension (three more stages, only on steps whose interpolation is needed:
recorded solves and output times). The coefficients are the published ones,
taken from scipy's copy of Hairer's table (``scipy.integrate._ivp.
dop853_coefficients``); tests/test_dop853.py checks their order conditions.

Stiffness detection as in DOP853: ``h |lambda| ~ h ||f(y_new) - f(y_12)|| /
||y_new - y_12||`` (stage 12 sits at t + h) above 6.1 on 15 accepted steps
without 6 non-stiff ones in between stops with ``STIFF_DETECTED``.

Same signature, statuses, non-negativity rule and return tuple as
:func:`kernels.explicit.solve_dopri5`; mass-action mechanisms in slot form
evaluate f inside the stage loop (:func:`kernels.explicit.explicit_model_plan`
serves both methods). Pays off below rtol of about 1e-7, where DOPRI5's
order 5 needs many more steps (``method: auto-switch`` picks it there).
"""

import numpy as np
from scipy.integrate._ivp import dop853_coefficients as _table

from ._common import (
    DENSE_DOP853,
    MAX_CONSECUTIVE_FAILURES,
    N_DENSE_DOP853,
    all_finite,
    finish_records,
    initial_step,
    interpolate,
    needs_dense,
    start_solve,
    start_step,
    store_dense,
)
from .explicit import _slot_stage, count_stiff_steps, explicit_slot_plan, h_lambda
from .jit import njit
from .problems import _liquid_view, rhs
from .status import (
    INVALID_INPUT,
    NON_FINITE,
    STAT_ACCEPTED,
    STAT_REJECTED,
    STAT_RHS_EVALS,
    STAT_STEPS,
    STIFF_DETECTED,
    SUCCESS,
)

N_STAGES = 12
# (16, 16) stage matrix (rows 12..15: f(y_new) and the three extension stages),
# (16,) nodes, (12,) weights, (13,) error weights, (4, 16) extension weights
A = np.ascontiguousarray(_table.A, dtype=np.float64)
C = np.ascontiguousarray(_table.C, dtype=np.float64)
B = np.ascontiguousarray(_table.B, dtype=np.float64)
E3 = np.ascontiguousarray(_table.E3, dtype=np.float64)
E5 = np.ascontiguousarray(_table.E5, dtype=np.float64)
D = np.ascontiguousarray(_table.D, dtype=np.float64)

SAFETY = 0.9
FAC_MIN = 1.0 / 3.0
FAC_MAX = 6.0
STIFF_HLAMBDA = 6.1


@njit
def interpolate_dop853(t_steps, y_steps, dense, t_query):
    """States at ``t_query`` from the recorded steps of :func:`solve_dop853`."""
    return interpolate(DENSE_DOP853, t_steps, y_steps, dense, t_query)


@njit(inline="always")
def _stage_input(y, h, k, s, out):
    """out = y + h sum_{j<s} A[s, j] k[j], as row updates that skip the zero
    entries of A (a third of them)."""
    n = y.shape[0]
    for i in range(n):
        out[i] = y[i]
    for j in range(s):
        a = h * A[s, j]
        if a != 0.0:
            for i in range(n):
                out[i] += a * k[j, i]


@njit
def solve_dop853(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps, record):
    """Integrate dy/dt = f(y) of problem ``code`` with DOP853.

    Returns ``(status, t_steps, y_steps, dense, y_eval, stats, min_value)`` as
    :func:`kernels.explicit.solve_dopri5` (``status`` may be
    ``STIFF_DETECTED``).
    """
    plan = explicit_slot_plan(code, system, y0.shape[0])
    return integrate_dop853_planned(code, system, y0, t0, t_end, t_eval, rtol, atol, h0,
                                    max_steps, record, plan)


@njit
def integrate_dop853_planned(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps,
                             record, plan):
    """:func:`solve_dop853` with the slot-form ``plan`` of
    :func:`kernels.explicit.explicit_model_plan` built by the caller."""
    n = y0.shape[0]
    ok, free, atol, stats, y_eval, t_buf, y_buf, d_buf, min_value, ie = start_solve(
        y0, t0, t_end, t_eval, rtol, atol, record, N_DENSE_DOP853)
    if not ok:
        return (INVALID_INPUT, t_buf[:1].copy(), y_buf[:1].copy(), d_buf[:0].copy(),
                y_eval, stats, np.nan)

    y = y0.copy()
    ynew = np.empty(n)
    u = np.empty(n)
    u12 = np.empty(n)
    k = np.empty((16, n))      # stages 0..11, f(y_new) at 12, extension 13..15
    dcoef = np.empty((N_DENSE_DOP853, n))
    fast, any_rev, fslot, rslot, nu_t = plan
    liquid = _liquid_view(system)
    kf, kr, params = liquid[2], liquid[3], liquid[4]
    q = np.empty(kf.shape[0])
    ext = np.empty(n + 1)
    ext[n] = 1.0
    f_tmp = np.empty(n)
    err5 = np.empty(n)
    err3 = np.empty(n)

    t = t0
    n_acc = 0
    status = SUCCESS
    rhs(code, t, y, system, f_tmp)
    for i in range(n):
        k[0, i] = f_tmp[i]
    stats[STAT_RHS_EVALS] += 1
    if not all_finite(f_tmp):
        status = NON_FINITE
    elif t_end > t0:
        if h0 > 0.0:
            h = min(h0, t_end - t0)
        else:
            h = initial_step(code, system, t0, y0, f_tmp, t_end, rtol, atol, 8.0, u, ynew, True)
            stats[STAT_RHS_EVALS] += 1
        last_rejected = False
        n_fail = 0
        n_stiff = 0
        n_nonstiff = 0
        while True:
            status, h, last = start_step(stats, max_steps, h, t, t_end)
            if status != SUCCESS:
                break
            stats[STAT_STEPS] += 1
            # stages 1..11, then y_new and f(y_new) as stage 12
            for s in range(1, N_STAGES + 1):
                if s < N_STAGES:
                    _stage_input(y, h, k, s, u)
                    if s == N_STAGES - 1:
                        for i in range(n):
                            u12[i] = u[i]
                else:
                    for i in range(n):
                        u[i] = y[i]
                    for j in range(N_STAGES):
                        b = h * B[j]
                        if b != 0.0:
                            for i in range(n):
                                u[i] += b * k[j, i]
                    for i in range(n):
                        ynew[i] = u[i]
                # written out here and for the extension stages below: as one
                # shared inline helper the step measured twice as slow
                if fast:
                    for i in range(n):
                        ext[i] = u[i]
                    _slot_stage(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, ext, k, s)
                else:
                    rhs(code, t + C[s] * h, u, system, f_tmp)
                    for i in range(n):
                        k[s, i] = f_tmp[i]
            stats[STAT_RHS_EVALS] += N_STAGES
            for i in range(n):
                err5[i] = 0.0
                err3[i] = 0.0
            for j in range(N_STAGES + 1):
                w5 = E5[j]
                w3 = E3[j]
                if w5 != 0.0:
                    for i in range(n):
                        err5[i] += w5 * k[j, i]
                if w3 != 0.0:
                    for i in range(n):
                        err3[i] += w3 * k[j, i]
            e5 = 0.0
            e3 = 0.0
            finite = True
            for i in range(n):
                sc = atol[i] + rtol * max(abs(y[i]), abs(ynew[i]))
                e5 += (err5[i] / sc) ** 2
                e3 += (err3[i] / sc) ** 2
                if not (np.isfinite(ynew[i]) and np.isfinite(k[N_STAGES, i])):
                    finite = False
            denom = e5 + 0.01 * e3
            err = abs(h) * e5 / np.sqrt(denom * n) if denom > 0.0 else 0.0
            if not (finite and np.isfinite(err)):
                stats[STAT_REJECTED] += 1
                n_fail += 1
                if n_fail > MAX_CONSECUTIVE_FAILURES:
                    status = NON_FINITE
                    break
                h *= 0.25
                last_rejected = True
                continue
            negative = False
            for i in range(n):
                if ynew[i] < -(atol[i] + rtol * abs(y[i])) and not free[i]:
                    negative = True
                    break
            if err <= 1.0 and not negative:
                n_fail = 0
                # Hairer's stiffness test: f(y_new) against stage 12, both at t + h
                hl = h_lambda(h, k, N_STAGES, N_STAGES - 1, ynew, u12)
                t_new = t_end if last else t + h
                if needs_dense(record, t_eval, ie, t_new):
                    for s in range(N_STAGES + 1, 16):
                        _stage_input(y, h, k, s, u)
                        if fast:
                            for i in range(n):
                                ext[i] = u[i]
                            _slot_stage(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t,
                                        ext, k, s)
                        else:
                            rhs(code, t + C[s] * h, u, system, f_tmp)
                            for i in range(n):
                                k[s, i] = f_tmp[i]
                    stats[STAT_RHS_EVALS] += 3
                    for i in range(n):
                        dy = ynew[i] - y[i]
                        dcoef[0, i] = dy
                        dcoef[1, i] = h * k[0, i] - dy
                        dcoef[2, i] = 2.0 * dy - h * (k[N_STAGES, i] + k[0, i])
                        for r in range(4):
                            acc = 0.0
                            for j in range(16):
                                acc += D[r, j] * k[j, i]
                            dcoef[3 + r, i] = h * acc
                    ie, t_buf, y_buf, d_buf = store_dense(DENSE_DOP853, record, t_eval, ie, t, h,
                                                          t_new, y, ynew, dcoef, y_eval, t_buf,
                                                          y_buf, d_buf, n_acc)
                for i in range(n):
                    if ynew[i] < min_value and not free[i]:
                        min_value = ynew[i]
                    y[i] = ynew[i]
                    k[0, i] = k[N_STAGES, i]  # FSAL
                t = t_new
                n_acc += 1
                stats[STAT_ACCEPTED] += 1
                if last:
                    break
                n_stiff, n_nonstiff, stiff = count_stiff_steps(hl > STIFF_HLAMBDA, n_stiff,
                                                               n_nonstiff)
                if stiff:
                    status = STIFF_DETECTED
                    break
                fac = min(FAC_MAX, max(FAC_MIN, SAFETY * max(err, 1e-10) ** (-0.125)))
                if last_rejected:
                    fac = min(fac, 1.0)
                h *= fac
                last_rejected = False
            else:
                stats[STAT_REJECTED] += 1
                fac = max(FAC_MIN, SAFETY * err ** (-0.125)) if err > 1.0 else 1.0
                if negative:
                    fac = min(fac, 0.5)
                h *= fac
                last_rejected = True

    t_out, y_out, d_out = finish_records(record, t_buf, y_buf, d_buf, n_acc, t0, t, y0, y)
    return status, t_out, y_out, d_out, y_eval, stats, min_value
