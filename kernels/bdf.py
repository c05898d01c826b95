"""Stiff integrator for tight tolerances: variable-order BDF (NDF), compiled
once with Numba.

The method is the quasi-constant step size family of numerical
differentiation formulas of Shampine and Reichelt (The MATLAB ODE Suite,
SIAM J. Sci. Comput. 18, 1997), orders 1 to 5, as in MATLAB's ode15s and
scipy's ``BDF``: the solution history is held as backward differences
``D[0..order+2]`` at a constant spacing h; a change of h re-expresses them at
the new spacing. Each step predicts ``y_pred = sum_{j<=order} D[j]`` and
solves the implicit formula by a simplified Newton iteration with the matrix
``I - c J`` (c = h / alpha_order).

Where it saves work over the one-step Rosenbrock method
(:mod:`kernels.rosenbrock`), which needs a Jacobian, an LU and eight stage
evaluations per step:

* the Jacobian is kept from step to step and re-evaluated when the Newton
  iteration fails to converge with it, or after :data:`JAC_MAX_AGE`
  accepted steps (CVODE's MSBJ): a fresher Jacobian lets most steps converge
  in one iteration, and an analytic Jacobian costs about three right-hand
  sides (gri30: 48 us against 17.6 us);
* the LU of the iteration matrix is kept while h and the order stay
  unchanged (h changes only after ``order + 1`` equal steps, or on a
  rejection);
* the Newton iteration may stop after one correction when the contraction
  rate measured in earlier steps shows the remaining error is below the
  tolerance (the convergence test of CVODE, Hindmarsh et al., ACM TOMS 31,
  2005), so most steps cost one right-hand side and triangular solve. The
  measured rate is carried across a new factorization (scaled up by the
  growth of c, see :func:`solve_bdf`) and re-measured by a second iteration
  after :data:`RATE_PROBE_STEPS` steps that converged in one.

At tolerances tighter than about 1e-7 this needs fewer right-hand sides and
factorizations than Rodas5P (see benchmarks/); at engineering tolerances
Rodas5P is usually faster, which is why ``flowchem`` picks by tolerance.

Error control: the local error is ``error_const[order] * d`` with ``d`` the
Newton correction from the prediction, in the RMS norm with the scale
``atol_i + rtol |y_new_i|``; after ``order + 1`` equal steps the order moves
by at most one to whichever of ``order - 1, order, order + 1`` allows the
largest step. The same non-negativity rule as the Rosenbrock method applies:
a step whose result falls below ``-(atol_i + rtol |y_i|)`` is rejected, never
clipped. Dense output is the BDF interpolating polynomial through the last
``order + 1`` points (backward-difference form, :data:`DENSE_BDF`).

Same calling convention and return values as
:func:`kernels.rosenbrock.solve_rodas`, so the Python layer can switch
between them.
"""

import numpy as np
from numba.extending import overload

from ._common import (
    DENSE_BDF,
    N_DENSE_BDF,
    all_finite,
    finish_records,
    initial_step,
    interpolate,
    jacobian_finite,
    needs_dense,
    start_solve,
    store_dense,
)
from .jit import njit
from .kinetics import N_SLOTS, rate_constants, slot_jacobian, slot_plan
from .linalg import (SPARSE_MAX_N, factor_w_dense, factor_w_sparse, inverse_w_sparse,
                     solve_w_dense)
from .sparse_ordering import sparse_lu_plan_ordered
from .gas_reactors import gas_rhs
from .problems import (BATCH_ENERGY, CSTR_ENERGY, CSTR_TRANSIENT, _gas_problem_jacobian,
                       _is_gas_system, jacobian, rhs, slot_rhs, temperature_column)
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

MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
# step-size changes smaller than this (upwards) are not made: keeping h keeps
# the LU factors and the difference table as they are
MIN_GROWTH = 1.2
CRATE_DECAY = 0.3  # a measured contraction rate fades by this factor per iteration
MAX_CONSECUTIVE_FAILURES = 40
# Newton stops when the estimated remaining correction is below NEWTON_TOL in
# the error norm's units (the error test allows about 1/error_const there).
# CVODE's test is looser (0.1 / error_const[order], its tq[4]); measured here
# on gas ignition (h2o2), that saves Newton iterations (1.55 instead of 1.7
# right-hand sides per step) but costs 1.5x the steps at the same tolerance
NEWTON_TOL = 0.1
# accepted steps after which the Jacobian is re-evaluated (at the next step's
# prediction), as CVODE's MSBJ. Measured on gas ignition (gri30, h2o2) and the
# liquid IVP test set (ROBER, HIRES, POLLU; isothermal and with energy
# balance) against 20, 30, 100, 200 and never: 30-50 give the fewest
# right-hand sides plus Jacobians (gri30 at rtol 1e-10: 1.03 right-hand sides
# per step with 50, 1.34 with 200, 1.78 never); 50 is the cheaper of the two
# in Jacobians at tight tolerances
JAC_MAX_AGE = 50
# a step that converges in one iteration measures no contraction rate, so the
# carried one may be stale by the time the Jacobian ages; after this many
# such steps in a row the next step makes a second iteration to measure it
# (CVODE re-measures after each setup, at most every 20 steps, MSBP). With it
# the share of one-iteration steps whose next correction would exceed
# NEWTON_TOL is that of the old policy (gri30 rtol 1e-7 / 1e-9: 7 % / 5 %,
# old 5 % / 3 %; 12 % / 13 % without the probe) for 2-4 % more right-hand sides
RATE_PROBE_STEPS = 20

# NDF coefficients (Shampine and Reichelt 1997, table 1): kappa_k; kappa = 0
# gives the BDF of order k
_KAPPA = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
_GAMMA = np.zeros(MAX_ORDER + 1)
for _k in range(1, MAX_ORDER + 1):
    _GAMMA[_k] = _GAMMA[_k - 1] + 1.0 / _k
_ALPHA = (1.0 - _KAPPA) * _GAMMA
_ERROR_CONST = _KAPPA * _GAMMA + 1.0 / np.arange(1, MAX_ORDER + 2)

_EPS = np.finfo(np.float64).eps


# the gas right-hand side inlined into the Newton loop: a call to it takes the
# whole system tuple (~45 arrays, each reference-counted per call), which cost
# ~0.5 us of h2o2's 1.7 us evaluation. Built from gas_rhs's own source, so
# the two cannot differ.
_gas_rhs_inlined = njit(inline="always")(gas_rhs.py_func)


def _gas_newton_rhs(code, y, system, out):
    """Typing stub (overloaded below): fills ``out`` with the gas right-hand
    side and returns True for a gas system; False (nothing done) otherwise."""
    raise NotImplementedError


@overload(_gas_newton_rhs, inline="always", jit_options={"error_model": "numpy"})
def _gas_newton_rhs_for(code, y, system, out):
    if _is_gas_system(system):
        def gas(code, y, system, out):
            _gas_rhs_inlined(code, y, system, out)
            return True
        return gas
    return lambda code, y, system, out: False


@njit
def _change_spacing(D, order, factor, R, U, RU, tmp):
    """Re-express the differences D[0..order] at spacing ``factor * h``.

    R(order, factor) maps differences at spacing h to differences of the same
    interpolating polynomial at spacing factor h (Shampine and Reichelt,
    eq. 2.6); the product with R(order, 1) is the change of basis."""
    for which in range(2):
        M = R if which == 0 else U
        f = factor if which == 0 else 1.0
        for j in range(order + 1):
            M[0, j] = 1.0
        for i in range(1, order + 1):
            M[i, 0] = 0.0
            for j in range(1, order + 1):
                M[i, j] = M[i - 1, j] * (i - 1.0 - f * j) / i
    for i in range(order + 1):
        for j in range(order + 1):
            s = 0.0
            for k in range(order + 1):
                s += R[i, k] * U[k, j]
            RU[i, j] = s
    n = D.shape[1]
    for i in range(order + 1):
        for c in range(n):
            s = 0.0
            for k in range(order + 1):
                s += RU[k, i] * D[k, c]
            tmp[i, c] = s
    for i in range(order + 1):
        for c in range(n):
            D[i, c] = tmp[i, c]


@njit
def interpolate_bdf(t_steps, y_steps, dense, t_query):
    """States at ``t_query`` from the recorded steps of :func:`solve_bdf`."""
    return interpolate(DENSE_BDF, t_steps, y_steps, dense, t_query)


@njit
def solve_bdf(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps, record):
    """Integrate dy/dt = f(y) of problem ``code`` from t0 to t_end with the
    variable-order NDF/BDF method.

    Returns ``(status, t_steps, y_steps, dense, y_eval, stats, min_value)``
    exactly as :func:`kernels.rosenbrock.solve_rodas` (``stats``: steps
    attempted, accepted, rejected, f evaluations, Jacobian evaluations, LU
    factorizations); ``dense`` holds :data:`N_DENSE_BDF` vectors per step for
    :func:`interpolate_bdf`. A negative ``atol[i]`` marks a component allowed
    to change sign.
    """
    n = y0.shape[0]
    ok, free, atol, stats, y_eval, t_buf, y_buf, d_buf, min_value, ie = start_solve(
        y0, t0, t_end, t_eval, rtol, atol, record, N_DENSE_BDF)
    if not ok:
        return (INVALID_INPUT, t_buf[:1].copy(), y_buf[:1].copy(), d_buf[:0].copy(),
                y_eval, stats, np.nan)

    # ---- work arrays, once per solve
    y = y0.copy()
    f = np.empty(n)
    ynew = np.empty(n)
    ypred = np.empty(n)
    psi = np.empty(n)
    scale = np.empty(n)
    d = np.empty(n)
    dy = np.empty(n)
    xs = np.empty(n)
    u = np.empty(n)
    fu = np.empty(n)
    D = np.zeros((MAX_ORDER + 3, n))
    R = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    U = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    RU = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    tmp = np.empty((MAX_ORDER + 1, n))
    dcoef = np.zeros((N_DENSE_BDF, n))
    w = np.empty((n, n))
    piv = np.zeros(n, dtype=np.int64)
    dinv = np.empty(n)
    cols = np.empty(n, dtype=np.int64)

    # isothermal and energy-balance mass action: slot form (see rosenbrock)
    kf, kr, params, work = system[2], system[3], system[4], system[5]
    energy = code == BATCH_ENERGY or code == CSTR_ENERGY
    rate_params = system[1]
    model = system[0]
    fast, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(model, n)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    ext = np.empty(n + 1)
    jx = np.empty((n, n + 1)) if fast else np.empty((n, n))
    use_sparse = fast and n <= SPARSE_MAX_N
    (perm, lr_ptr, lr_idx, lc_ptr, lc_idx, ur_ptr, ur_idx, iu_r, iu_c, il_r, il_c,
     mt) = sparse_lu_plan_ordered(n, use_sparse, energy, any_rev, fslot, rslot, s_ptr, s_sp)
    q = work
    m = kf.shape[0]
    nT = n - 1
    cstr = code == CSTR_TRANSIENT or code == CSTR_ENERGY
    cheap_f = fast and not energy

    t = t0
    n_acc = 0
    status = SUCCESS
    rhs(code, t, y, system, f)
    stats[STAT_RHS_EVALS] += 1
    if not all_finite(f):
        status = NON_FINITE
    elif t_end > t0:
        if h0 > 0.0:
            h = min(h0, t_end - t0)
        else:
            h = initial_step(code, system, t0, y0, f, t_end, rtol, atol, 2.0, u, fu)
            stats[STAT_RHS_EVALS] += 1
        newton_tol = max(10.0 * _EPS / rtol, NEWTON_TOL)
        for i in range(n):
            D[0, i] = y[i]
            D[1, i] = h * f[i]
        order = 1
        n_equal = 0
        have_jac = False
        lu_ok = False        # factors of W = gh_lu I - J are current
        sparse_lu = False
        gh_lu = 0.0
        crate = 1.0          # Newton contraction rate, carried between steps
        reset_crate = True   # no trusted rate: measure afresh with the next matrix
        jac_age = 0          # accepted steps since J was evaluated
        n_unmeasured = 0     # accepted steps in a row that converged in one iteration
        n_fail = 0
        jac_fresh = False    # J evaluated during the current step
        bad_value = False    # the last Newton attempt met an inf or NaN
        while True:
            if stats[STAT_STEPS] >= max_steps:
                status = MAX_STEPS
                break
            if not (h > 16.0 * _EPS * max(abs(t), 1e-300)):
                status = STEP_TOO_SMALL
                break
            last = False
            if t + 1.01 * h >= t_end:
                factor = (t_end - t) / h
                if factor != 1.0:
                    _change_spacing(D, order, factor, R, U, RU, tmp)
                    n_equal = 0
                h = t_end - t
                last = True
            stats[STAT_STEPS] += 1
            alpha = _ALPHA[order]
            c = h / alpha
            if have_jac and jac_age >= JAC_MAX_AGE:
                have_jac = False  # re-evaluated at this step's prediction
            for i in range(n):
                s = D[0, i]
                p = 0.0
                for j in range(1, order + 1):
                    s += D[j, i]
                    p += _GAMMA[j] * D[j, i]
                ypred[i] = s
                psi[i] = p / alpha
                scale[i] = atol[i] + rtol * abs(s)

            # ---- simplified Newton on y - c f(y) = y_pred - psi
            converged = False
            n_iter = 0
            while True:
                if not have_jac:
                    # at the prediction (the first time: at y0)
                    if fast:
                        if energy:
                            rate_constants(ypred[n - 1], rate_params, kf, kr)
                        slot_jacobian(ypred, kf, kr, any_rev, fslot, rslot, s_ptr, s_sp,
                                      s_nu, ext, jx)
                        if energy:
                            temperature_column(ypred, system, jx)
                        if code == CSTR_TRANSIENT or code == CSTR_ENERGY:
                            inv_tau = params[0]
                            for i in range(n):
                                jx[i, i] -= inv_tau
                    elif not _gas_problem_jacobian(code, ypred, system, jx):
                        jacobian(code, t + h, ypred, system, jx)
                    stats[STAT_JAC_EVALS] += 1
                    have_jac = True
                    jac_fresh = True
                    jac_age = 0
                    lu_ok = False
                if not lu_ok:
                    if reset_crate:
                        crate = 1.0  # measure the new matrix's contraction afresh
                    else:
                        # the contraction of the chord iteration comes from
                        # c (J(y) - J_used) and the nonlinearity: it carries to
                        # new factors (or a fresher J), times the growth of c
                        crate = min(1.0, crate * max(1.0, c * gh_lu))
                    reset_crate = False
                    gh_lu = 1.0 / c
                    stats[STAT_LU_FACTORS] += 1
                    sparse_lu = use_sparse and factor_w_sparse(
                        jx, gh_lu, w, dinv, perm, lr_ptr, lr_idx, lc_ptr, lc_idx,
                        ur_ptr, ur_idx)
                    if sparse_lu:
                        inverse_w_sparse(w, dinv, iu_r, iu_c, il_r, il_c, mt)
                        lu_ok = True
                    elif factor_w_dense(jx, gh_lu, w, piv, dinv, cols):
                        lu_ok = True
                if lu_ok:
                    # (I - c J) dy = c f - psi - d, solved as W dy = gh_lu (c f - psi - d)
                    # with W = gh_lu I - J: exact for gh_lu = 1/c, a chord
                    # approximation for factors kept from another step size.
                    # Written out here, not called: calls with many array
                    # arguments cost atomic reference counts per iteration.
                    for i in range(n):
                        ynew[i] = ypred[i]
                        d[i] = 0.0
                    dy_norm_old = -1.0
                    bad_value = False
                    for k in range(NEWTON_MAXITER):
                        n_iter = k + 1
                        stats[STAT_RHS_EVALS] += 1
                        if sparse_lu:
                            # slot-form rates inline (kinetics.slot_rates by hand, plus
                            # the energy and tank terms of problems.rhs);
                            # tests/test_kernel_inlined_paths.py checks them against rhs
                            for i in range(n):
                                ext[i] = ynew[i]
                            ext[n] = 1.0
                            if energy:
                                rate_constants(ext[nT], rate_params, kf, kr)
                            if any_rev:
                                for j in range(m):
                                    b = N_SLOTS * j
                                    q[j] = (kf[j] * ext[fslot[b]] * ext[fslot[b + 1]]
                                            * ext[fslot[b + 2]]
                                            - kr[j] * ext[rslot[b]] * ext[rslot[b + 1]]
                                            * ext[rslot[b + 2]])
                            else:
                                for j in range(m):
                                    b = N_SLOTS * j
                                    q[j] = (kf[j] * ext[fslot[b]] * ext[fslot[b + 1]]
                                            * ext[fslot[b + 2]])
                            chk = 0.0
                            for i in range(n):
                                acc = 0.0
                                for a in range(g_ptr[i], g_ptr[i + 1]):
                                    acc += g_nu[a] * q[g_rx[a]]
                                if energy and i == nT:
                                    acc -= params[nT + 2] * (ext[nT] - params[nT + 3])
                                if cstr:
                                    acc += (params[1 + i] - ext[i]) * params[0]
                                chk += acc * 0.0  # NaN when a rate is inf or NaN
                                xs[i] = gh_lu * (c * acc - psi[i] - d[i])
                            if chk != 0.0:
                                bad_value = True
                                break
                            # dy = W^-1 xs from the explicit inverse (permuted space)
                            for i in range(n):
                                fu[i] = 0.0
                            for j in range(n):
                                bj = xs[perm[j]]
                                if bj != 0.0:
                                    for i in range(n):
                                        fu[i] += bj * mt[j, i]
                            for i in range(n):
                                dy[perm[i]] = fu[i]
                        else:
                            if cheap_f:
                                slot_rhs(code, ynew, kf, kr, params, work, any_rev, fslot,
                                         rslot, g_ptr, g_rx, g_nu, ext, fu)
                            elif not _gas_newton_rhs(code, ynew, system, fu):
                                # a gas system is served by the line above (resolved
                                # at compile time): calling rhs() for it costs a
                                # call level that takes the whole system tuple,
                                # ~0.7 us of h2o2's 3.4 us right-hand side
                                rhs(code, t + h, ynew, system, fu)
                            if not all_finite(fu):
                                bad_value = True
                                break
                            for i in range(n):
                                dy[i] = gh_lu * (c * fu[i] - psi[i] - d[i])
                            solve_w_dense(w, piv, dinv, dy)
                        s2 = 0.0
                        for i in range(n):
                            r = dy[i] / scale[i]
                            s2 += r * r
                        dy_norm = np.sqrt(s2 / max(n, 1))
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
                        # (a first correction within the carried rate's test
                        # is taken unless the rate is due to be measured again)
                        if dy_norm == 0.0 or (dy_norm * min(1.0, crate) <= newton_tol and (
                                k > 0 or n_unmeasured < RATE_PROBE_STEPS)):
                            converged = True
                            break
                        dy_norm_old = dy_norm
                if converged or jac_fresh:
                    break
                have_jac = False  # retry the step with a fresh Jacobian
                reset_crate = True

            if not converged:
                reset_crate = True
                stats[STAT_REJECTED] += 1
                n_fail += 1
                if n_fail > MAX_CONSECUTIVE_FAILURES:
                    if not lu_ok:
                        status = SINGULAR_MATRIX if jacobian_finite(jx) else NON_FINITE
                    elif bad_value:
                        status = NON_FINITE
                    else:
                        status = NEWTON_FAILED
                    break
                h *= 0.5
                _change_spacing(D, order, 0.5, R, U, RU, tmp)
                n_equal = 0
                lu_ok = False
                continue

            # ---- local error and the non-negativity rule
            # (scipy's factor; a one-iteration step is counted as two: with the
            # Jacobian kept fresh most steps take one, and rewarding that with
            # 11 % longer steps made the error at the same rtol grow, gri30
            # ignition delay at 1e-10 by 1.5x)
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + max(n_iter, 2))
            s2 = 0.0
            chk = 0.0
            negative = False
            for i in range(n):
                sc = atol[i] + rtol * abs(ynew[i])
                scale[i] = sc
                r = d[i] / sc
                s2 += r * r
                chk += ynew[i] * 0.0  # NaN when ynew is inf or NaN
                if ynew[i] < -(atol[i] + rtol * abs(y[i])) and not free[i]:
                    negative = True
            err = _ERROR_CONST[order] * np.sqrt(s2 / max(n, 1))
            if not (chk == 0.0 and np.isfinite(err)):
                # converged to an overflowed state (the difference table or the
                # scale reached inf): never accepted; a shorter step, as a failure
                stats[STAT_REJECTED] += 1
                n_fail += 1
                if n_fail > MAX_CONSECUTIVE_FAILURES:
                    status = NON_FINITE
                    break
                h *= 0.25
                _change_spacing(D, order, 0.25, R, U, RU, tmp)
                n_equal = 0
                lu_ok = False
                continue
            if err > 1.0 or negative:
                stats[STAT_REJECTED] += 1
                factor = max(MIN_FACTOR, safety * err ** (-1.0 / (order + 1))) \
                    if err > 1.0 else 1.0
                if negative:
                    factor = min(factor, 0.5)
                h *= factor
                _change_spacing(D, order, factor, R, U, RU, tmp)
                n_equal = 0
                lu_ok = False
                continue

            # ---- accept
            n_fail = 0
            jac_fresh = False
            jac_age += 1
            n_unmeasured = n_unmeasured + 1 if n_iter == 1 else 0
            t_new = t_end if last else t + h
            for i in range(n):
                D[order + 2, i] = d[i] - D[order + 1, i]
                D[order + 1, i] = d[i]
            for j in range(order, -1, -1):
                for i in range(n):
                    D[j, i] += D[j + 1, i]
            if needs_dense(record, t_eval, ie, t_new):
                for j in range(N_DENSE_BDF):
                    for i in range(n):
                        dcoef[j, i] = D[j + 1, i] if j < order else 0.0
                ie, t_buf, y_buf, d_buf = store_dense(DENSE_BDF, record, t_eval, ie, t, h,
                                                      t_new, y, ynew, dcoef, y_eval, t_buf,
                                                      y_buf, d_buf, n_acc)
            for i in range(n):
                if ynew[i] < min_value and not free[i]:
                    min_value = ynew[i]
                y[i] = ynew[i]
            t = t_new
            n_acc += 1
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
                err_m = _ERROR_CONST[order - 1] * np.sqrt(s2 / max(n, 1))
                fac_m = err_m ** (-1.0 / order) if err_m > 0.0 else MAX_FACTOR
            else:
                fac_m = 0.0
            if order < MAX_ORDER:
                s2 = 0.0
                for i in range(n):
                    r = D[order + 2, i] / scale[i]
                    s2 += r * r
                err_p = _ERROR_CONST[order + 1] * np.sqrt(s2 / max(n, 1))
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
            _change_spacing(D, order, factor, R, U, RU, tmp)
            n_equal = 0
            lu_ok = False

    t_out, y_out, d_out = finish_records(record, t_buf, y_buf, d_buf, n_acc, t0, t, y0, y)
    return status, t_out, y_out, d_out, y_eval, stats, min_value
