"""Non-stiff integrator: Dormand-Prince 5(4) with its order-4 continuous extension.

Explicit Runge-Kutta pair of Dormand and Prince (1980), FSAL (the last stage
is f at the new state and serves as the first stage of the next step), with
Hairer's order-4 dense output (Solving ODEs I, II.6 and the DOPRI5 code).
Same error norm, initial step and non-negativity rule as
:mod:`kernels.rosenbrock`, Gustafsson's PI step control (the usual choice for
explicit methods; Rodas5P uses the predictive controller), and the same
signature and return tuple as
:func:`kernels.rosenbrock.solve_rodas`; the Jacobian and LU counters of
``stats`` are 0.

Stiffness detection (Hairer's test): after each accepted step,
``h |lambda| ~ h ||k7 - k6|| / ||y_new - y_stage6||``; when it exceeds 3.25
(the border of the stability region) on 15 accepted steps without 6
consecutive non-stiff steps in between, the solve stops with status
``STIFF_DETECTED`` so the caller can switch to a stiff method (Rodas5P or the
BDF) instead of grinding through millions of stability-limited steps.
"""

import numpy as np

from ._common import (
    DENSE_DOPRI5,
    MAX_CONSECUTIVE_FAILURES,
    N_DENSE,
    accept_factor,
    all_finite,
    error_norm,
    finish_records,
    initial_step,
    interpolate,
    needs_dense,
    reject_factor,
    start_solve,
    start_step,
    store_dense,
)
from .jit import njit
from .problems import rhs
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

STIFF_HLAMBDA = 3.25
STIFF_COUNT = 15
NONSTIFF_RESET = 6

# Dormand-Prince 5(4) coefficients
A21 = 1.0 / 5.0
A31 = 3.0 / 40.0
A32 = 9.0 / 40.0
A41 = 44.0 / 45.0
A42 = -56.0 / 15.0
A43 = 32.0 / 9.0
A51 = 19372.0 / 6561.0
A52 = -25360.0 / 2187.0
A53 = 64448.0 / 6561.0
A54 = -212.0 / 729.0
A61 = 9017.0 / 3168.0
A62 = -355.0 / 33.0
A63 = 46732.0 / 5247.0
A64 = 49.0 / 176.0
A65 = -5103.0 / 18656.0
B1 = 35.0 / 384.0
B3 = 500.0 / 1113.0
B4 = 125.0 / 192.0
B5 = -2187.0 / 6784.0
B6 = 11.0 / 84.0
# error coefficients: b - b_hat
E1 = 71.0 / 57600.0
E3 = -71.0 / 16695.0
E4 = 71.0 / 1920.0
E5 = -17253.0 / 339200.0
E6 = 22.0 / 525.0
E7 = -1.0 / 40.0
# dense output (Hairer, DOPRI5 contd5)
D1 = -12715105075.0 / 11282082432.0
D3 = 87487479700.0 / 32700410799.0
D4 = -10690763975.0 / 1880347072.0
D5 = 701980252875.0 / 199316789632.0
D6 = -1453857185.0 / 822651844.0
D7 = 69997945.0 / 29380423.0


@njit
def interpolate_dopri5(t_steps, y_steps, dense, t_query):
    """States at ``t_query`` from the recorded steps of :func:`solve_dopri5`."""
    return interpolate(DENSE_DOPRI5, t_steps, y_steps, dense, t_query)


@njit
def _dp_stages(code, system, t, y, h, k, u, ynew, err):
    """Stages 2..7 of one DP5 step; k[0] must hold f(y). Fills ynew, k[6]=f(ynew)
    and the error vector; leaves the stage-6 input in u."""
    n = y.shape[0]
    for i in range(n):
        u[i] = y[i] + h * A21 * k[0, i]
    rhs(code, t, u, system, k[1])
    for i in range(n):
        u[i] = y[i] + h * (A31 * k[0, i] + A32 * k[1, i])
    rhs(code, t, u, system, k[2])
    for i in range(n):
        u[i] = y[i] + h * (A41 * k[0, i] + A42 * k[1, i] + A43 * k[2, i])
    rhs(code, t, u, system, k[3])
    for i in range(n):
        u[i] = y[i] + h * (A51 * k[0, i] + A52 * k[1, i] + A53 * k[2, i] + A54 * k[3, i])
    rhs(code, t, u, system, k[4])
    for i in range(n):
        u[i] = y[i] + h * (A61 * k[0, i] + A62 * k[1, i] + A63 * k[2, i] + A64 * k[3, i]
                           + A65 * k[4, i])
    rhs(code, t, u, system, k[5])
    for i in range(n):
        ynew[i] = y[i] + h * (B1 * k[0, i] + B3 * k[2, i] + B4 * k[3, i] + B5 * k[4, i]
                              + B6 * k[5, i])
    rhs(code, t + h, ynew, system, k[6])
    for i in range(n):
        err[i] = h * (E1 * k[0, i] + E3 * k[2, i] + E4 * k[3, i] + E5 * k[4, i]
                      + E6 * k[5, i] + E7 * k[6, i])


@njit
def _dp_dense(y, ynew, h, k, out):
    for i in range(y.shape[0]):
        dy = ynew[i] - y[i]
        bspl = h * k[0, i] - dy
        out[0, i] = bspl
        out[1, i] = dy - h * k[6, i] - bspl
        out[2, i] = h * (D1 * k[0, i] + D3 * k[2, i] + D4 * k[3, i] + D5 * k[4, i]
                         + D6 * k[5, i] + D7 * k[6, i])


@njit
def solve_dopri5(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps, record):
    """Integrate dy/dt = f(y) of problem ``code`` with Dormand-Prince 5(4).

    Returns ``(status, t_steps, y_steps, dense, y_eval, stats, min_value)`` as
    :func:`kernels.rosenbrock.solve_rodas`; ``status`` may also be
    ``STIFF_DETECTED``.
    """
    n = y0.shape[0]
    # negative atol_i: a component that may change sign (see _common.start_solve)
    ok, free, atol, stats, y_eval, t_buf, y_buf, d_buf, min_value, ie = start_solve(
        y0, t0, t_end, t_eval, rtol, atol, record, N_DENSE)
    if not ok:
        return (INVALID_INPUT, t_buf[:1].copy(), y_buf[:1].copy(), d_buf[:0].copy(),
                y_eval, stats, np.nan)

    y = y0.copy()
    ynew = np.empty(n)
    u = np.empty(n)
    err_v = np.empty(n)
    k = np.empty((7, n))
    dcoef = np.empty((N_DENSE, n))

    t = t0
    n_acc = 0
    status = SUCCESS
    rhs(code, t, y, system, k[0])
    stats[STAT_RHS_EVALS] += 1
    if not all_finite(k[0]):
        status = NON_FINITE
    elif t_end > t0:
        if h0 > 0.0:
            h = min(h0, t_end - t0)
        else:
            h = initial_step(code, system, t0, y0, k[0], t_end, rtol, atol, 5.0, u, ynew)
            stats[STAT_RHS_EVALS] += 1
        lerr_prev = 0.0  # log of the previous accepted step's error (floored at 1e-4)
        last_rejected = False
        n_fail = 0
        n_stiff = 0
        n_nonstiff = 0
        while True:
            status, h, last = start_step(stats, max_steps, h, t, t_end)
            if status != SUCCESS:
                break
            stats[STAT_STEPS] += 1
            _dp_stages(code, system, t, y, h, k, u, ynew, err_v)
            stats[STAT_RHS_EVALS] += 6
            err = error_norm(err_v, y, ynew, rtol, atol)
            if not (np.isfinite(err) and all_finite(ynew) and all_finite(k[6])):
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
                # Hairer's stiffness test: h*|lambda| from the last two stages,
                # both evaluated at "time" t + h
                stnum = 0.0
                stden = 0.0
                for i in range(n):
                    a = k[6, i] - k[5, i]
                    b = ynew[i] - u[i]
                    stnum += a * a
                    stden += b * b
                t_new = t_end if last else t + h
                if needs_dense(record, t_eval, ie, t_new):
                    _dp_dense(y, ynew, h, k, dcoef)
                    ie, t_buf, y_buf, d_buf = store_dense(DENSE_DOPRI5, record, t_eval, ie, t, h, t_new,
                                                          y, ynew, dcoef, y_eval, t_buf, y_buf,
                                                          d_buf, n_acc)
                for i in range(n):
                    if ynew[i] < min_value and not free[i]:
                        min_value = ynew[i]
                    y[i] = ynew[i]
                    k[0, i] = k[6, i]  # FSAL
                t = t_new
                n_acc += 1
                stats[STAT_ACCEPTED] += 1
                if last:
                    break
                if stden > 0.0 and h * np.sqrt(stnum / stden) > STIFF_HLAMBDA:
                    n_nonstiff = 0
                    n_stiff += 1
                    if n_stiff >= STIFF_COUNT:
                        status = STIFF_DETECTED
                        break
                else:
                    n_nonstiff += 1
                    if n_nonstiff >= NONSTIFF_RESET:
                        n_stiff = 0
                fac, lerr_prev = accept_factor(err, lerr_prev, last_rejected)
                h *= fac
                last_rejected = False
            else:
                stats[STAT_REJECTED] += 1
                h *= reject_factor(err, negative)
                last_rejected = True

    t_out, y_out, d_out = finish_records(record, t_buf, y_buf, d_buf, n_acc, t0, t, y0, y)
    return status, t_out, y_out, d_out, y_eval, stats, min_value
