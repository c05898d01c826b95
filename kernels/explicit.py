"""Non-stiff integrator: Dormand-Prince 5(4) with its order-4 continuous extension.

Explicit Runge-Kutta pair of Dormand and Prince (1980), FSAL (the last stage
is f at the new state and serves as the first stage of the next step), with
Hairer's order-4 dense output (Solving ODEs I, II.6 and the DOPRI5 code).
Same error norm, initial step and non-negativity rule as
:mod:`kernels.rosenbrock`, a PI step control with the gains of Hairer's
DOPRI5 code (:func:`kernels._common.accept_factor`; Rodas5P uses the
predictive controller), and the same signature and return tuple as
:func:`kernels.rosenbrock.solve_rodas`; the Jacobian and LU counters of
``stats`` are 0.

Mass-action mechanisms in slot form (BATCH and CSTR_TRANSIENT) evaluate f
inside the stage loop from the slot form and a dense net stoichiometry
(:func:`explicit_model_plan`, built once per solve or once by a caller that
solves many problems of one mechanism: :func:`integrate_dopri5_planned`);
everything else goes through :func:`kernels.problems.rhs`. On a 6-species,
4-reaction tube a step costs about 0.5 us this way, against 1.3 us through
``rhs``.

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
from .kinetics import N_SLOTS, slot_plan
from .problems import BATCH, CSTR_TRANSIENT, _liquid_view, rhs
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

# the slot-form path keeps S^T dense: up to this many entries (n m); larger
# mechanisms take the general rhs
SLOT_DENSE_MAX = 40_000

STIFF_HLAMBDA = 3.25
STIFF_COUNT = 15
NONSTIFF_RESET = 6


@njit(inline="always")
def h_lambda(h, k, a, b, ynew, y_stage):
    """Hairer's estimate of h |lambda| after an accepted step: ``h ||k[a] -
    k[b]|| / ||ynew - y_stage||`` with ``k[a] = f(ynew)`` and ``k[b] =
    f(y_stage)``, two points at the same time t + h; 0 when they coincide."""
    num = 0.0
    den = 0.0
    for i in range(ynew.shape[0]):
        d = k[a, i] - k[b, i]
        e = ynew[i] - y_stage[i]
        num += d * d
        den += e * e
    return h * np.sqrt(num / den) if den > 0.0 else 0.0


@njit(inline="always")
def count_stiff_steps(stiff, n_stiff, n_nonstiff):
    """Hairer's stiffness bookkeeping: ``(n_stiff, n_nonstiff, detected)``
    after one more accepted step; detected at STIFF_COUNT stiff steps without
    NONSTIFF_RESET non-stiff ones in between."""
    if stiff:
        n_stiff += 1
        return n_stiff, 0, n_stiff >= STIFF_COUNT
    n_nonstiff += 1
    if n_nonstiff >= NONSTIFF_RESET:
        n_stiff = 0
    return n_stiff, n_nonstiff, False

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


@njit(inline="always")
def _slot_stage(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, e, k, s):
    """k[s] = f(e[:n]) of BATCH or CSTR_TRANSIENT from the slot form and the
    dense net stoichiometry ``nu_t`` (n, m); the caller has put the stage's
    state in ``e[:n]`` (e[n] = 1). Written out rather than through
    :func:`kernels.kinetics.slot_rates`: its sparse S^T gather (short loops of
    varying length) took three times as long on a 6-species, 4-reaction
    mechanism (512 against 175 ns for six stages)."""
    n = e.shape[0] - 1
    m = kf.shape[0]
    if any_rev:
        for j in range(m):
            b = 3 * j
            q[j] = (kf[j] * e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]
                    - kr[j] * e[rslot[b]] * e[rslot[b + 1]] * e[rslot[b + 2]])
    else:
        for j in range(m):
            b = 3 * j
            q[j] = kf[j] * e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]
    for i in range(n):
        acc = 0.0
        for j in range(m):
            acc += nu_t[i, j] * q[j]
        if code == CSTR_TRANSIENT:
            acc += (params[1 + i] - e[i]) * params[0]
        k[s, i] = acc


@njit(inline="always")
def _dp_stages_slot(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, e, y, h, k, u,
                    ynew, err):
    """:func:`_dp_stages` with f from the slot form (same arithmetic as
    :func:`kernels.problems.rhs` up to rounding); the stage states are built
    in ``e`` itself."""
    n = y.shape[0]
    e[n] = 1.0
    for i in range(n):
        e[i] = y[i] + h * A21 * k[0, i]
    _slot_stage(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, e, k, 1)
    for i in range(n):
        e[i] = y[i] + h * (A31 * k[0, i] + A32 * k[1, i])
    _slot_stage(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, e, k, 2)
    for i in range(n):
        e[i] = y[i] + h * (A41 * k[0, i] + A42 * k[1, i] + A43 * k[2, i])
    _slot_stage(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, e, k, 3)
    for i in range(n):
        e[i] = y[i] + h * (A51 * k[0, i] + A52 * k[1, i] + A53 * k[2, i] + A54 * k[3, i])
    _slot_stage(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, e, k, 4)
    for i in range(n):
        v = y[i] + h * (A61 * k[0, i] + A62 * k[1, i] + A63 * k[2, i] + A64 * k[3, i]
                        + A65 * k[4, i])
        u[i] = v
        e[i] = v
    _slot_stage(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, e, k, 5)
    for i in range(n):
        v = y[i] + h * (B1 * k[0, i] + B3 * k[2, i] + B4 * k[3, i] + B5 * k[4, i]
                        + B6 * k[5, i])
        ynew[i] = v
        e[i] = v
    _slot_stage(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, e, k, 6)
    for i in range(n):
        err[i] = h * (E1 * k[0, i] + E3 * k[2, i] + E4 * k[3, i] + E5 * k[4, i]
                      + E6 * k[5, i] + E7 * k[6, i])


@njit
def explicit_slot_plan(code, system, n):
    """The slot form (:func:`kernels.kinetics.slot_plan`) that the explicit
    methods (:func:`integrate_dopri5_planned`,
    :func:`kernels.dop853.integrate_dop853_planned`) evaluate f with, for
    problem ``code`` on states of length ``n``: :func:`explicit_model_plan`
    of the system's mechanism."""
    return explicit_model_plan(code, _liquid_view(system)[0], n)


@njit
def no_explicit_plan():
    """The plan of a problem that takes the general rhs (first entry False)."""
    return (False, False, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
            np.zeros((0, 0)))


@njit
def explicit_model_plan(code, model, n):
    """``(ok, any_rev, fslot, rslot, nu_t)`` for the mechanism ``model``
    (the 9-tuple of :mod:`kernels.kinetics`): its slot form and its net
    stoichiometry as a dense (n, m) matrix. ``ok`` is False where the general
    :func:`kernels.problems.rhs` must serve (energy balances, sensitivities,
    gas systems, fractional or high orders, n m above SLOT_DENSE_MAX). Holds
    the stoichiometric values, not only the pattern: a caller solving many
    problems with the same model builds it once."""
    if not (N_SLOTS == 3 and (code == BATCH or code == CSTR_TRANSIENT)):
        return no_explicit_plan()
    ok, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(model, n)
    m = fslot.shape[0] // N_SLOTS
    if not (ok and n * m <= SLOT_DENSE_MAX):
        return no_explicit_plan()
    nu_t = np.zeros((n, m))
    for i in range(n):
        for a in range(g_ptr[i], g_ptr[i + 1]):
            nu_t[i, g_rx[a]] += g_nu[a]
    return True, any_rev, fslot, rslot, nu_t


@njit
def solve_dopri5(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps, record):
    """Integrate dy/dt = f(y) of problem ``code`` with Dormand-Prince 5(4).

    Returns ``(status, t_steps, y_steps, dense, y_eval, stats, min_value)`` as
    :func:`kernels.rosenbrock.solve_rodas`; ``status`` may also be
    ``STIFF_DETECTED``.
    """
    plan = explicit_slot_plan(code, system, y0.shape[0])
    return integrate_dopri5_planned(code, system, y0, t0, t_end, t_eval, rtol, atol, h0,
                                    max_steps, record, plan)


@njit
def integrate_dopri5_planned(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps,
                             record, plan):
    """:func:`solve_dopri5` with the slot form ``plan`` of
    :func:`explicit_slot_plan` built by the caller (once for many solves of
    one pattern). Same steps, same results."""
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
    fast, any_rev, fslot, rslot, nu_t = plan
    liquid = _liquid_view(system)
    kf, kr, params = liquid[2], liquid[3], liquid[4]
    q = np.empty(kf.shape[0])
    ext = np.empty(n + 1)

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
            h = initial_step(code, system, t0, y0, k[0], t_end, rtol, atol, 5.0, u, ynew, True)
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
            if fast:
                _dp_stages_slot(code, kf, kr, params, q, any_rev, fslot, rslot, nu_t, ext, y,
                                h, k, u, ynew, err_v)
            else:
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
                # Hairer's stiffness test: f(y_new) against stage 6, both at t + h
                hl = h_lambda(h, k, 6, 5, ynew, u)
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
                n_stiff, n_nonstiff, stiff = count_stiff_steps(hl > STIFF_HLAMBDA, n_stiff,
                                                               n_nonstiff)
                if stiff:
                    status = STIFF_DETECTED
                    break
                fac, lerr_prev = accept_factor(err, lerr_prev, last_rejected)
                h *= fac
                last_rejected = False
            else:
                stats[STAT_REJECTED] += 1
                h *= reject_factor(err, negative)
                last_rejected = True

    t_out, y_out, d_out = finish_records(record, t_buf, y_buf, d_buf, n_acc, t0, t, y0, y)
    return status, t_out, y_out, d_out, y_eval, stats, min_value
