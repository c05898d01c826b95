"""Rodas5P for forward-sensitivity systems, with the block structure of
their Jacobian: the simultaneous corrector approach.

A forward-sensitivity system (problem code BATCH_SENS of
:mod:`kernels.problems`, or any later one laid out the same way) integrates
``y = [x (n), s_1 (n), ..., s_p (n)]`` with ``ds_k/dt = J(x) s_k + g_k(x)``.
Its Jacobian is block lower triangular with identical diagonal blocks::

    J_aug = [[J,   0, ..., 0],
             [B_1, J, ..., 0],
             ...
             [B_p, 0, ..., J]]        B_k = d(J s_k + g_k)/dx

so the Rosenbrock iteration matrix ``W_aug = I/(gamma h) - J_aug`` needs only
the LU of the n x n block ``W = I/(gamma h) - J``: a stage solve
``W_aug z = b`` is ``z_0 = W^-1 b_0`` followed by
``z_k = W^-1 (b_k + B_k z_0)``, that is ``p + 1`` forward and back
substitutions and ``p`` products with the off-diagonal blocks. This is the
exact Rodas5P step of the augmented system (same stages, same numbers up to
round-off as :func:`kernels.rosenbrock.integrate_rodas` on it, which factors
the whole ``n (p + 1)`` square matrix): the simultaneous corrector method of
Maly and Petzold (Appl. Numer. Math. 20, 1996, 57-79) and of CVODES'
``CV_SIMULTANEOUS`` mode, in Rosenbrock form. The work per step falls from
``O((n (p + 1))^3)`` to ``O(n^3 + p n^2)`` plus the right-hand sides.

Error control
-------------
``sens_error`` chooses what the step-size control sees:

* ``True``: every component, states and sensitivities, with the tolerances
  given (the sensitivities' absolute tolerance is the caller's, conventionally
  ``atol_x / |scale_k|``); the behaviour of the plain integrators on the
  augmented system;
* ``False``: the states only (CVODES' ``errconS = false``); the
  sensitivities ride on the states' steps. The states then take exactly the
  steps of a plain solve, so predictions and their derivatives come from one
  trajectory; the sensitivities' error is not controlled but, integrated by
  the same order-5 method on the same steps as a linear system driven by the
  states, it stays of the states' order (measured in tests/test_fit_kernel.py).

The initial step (Hairer's algorithm) and the non-negativity rule look at the
components under error control; sensitivity components are given a negative
``atol`` (free sign) by the caller, as for :mod:`kernels.sensitivity`.

Nothing here raises: failures return a status from :mod:`kernels.status`.
"""

import numpy as np

from ._common import (
    DENSE_RODAS,
    MAX_CONSECUTIVE_FAILURES,
    N_DENSE,
    all_finite,
    finish_records,
    jacobian_finite,
    needs_dense,
    reject_factor,
    start_solve,
    start_step,
    store_dense,
)
from .jit import njit
from .kinetics import N_SLOTS, slot_jacobian, slot_plan
from .linalg import factor_w_dense, solve_w_dense
from .problems import BATCH_SENS, jacobian, rhs
from .sensitivity import SENS_HEADER
from .rosenbrock import (_A, _C, GAMMA, N_STAGES, _dense_coeffs, _stage_input, _stage_rhs,
                         predictive_factor)
from .status import (
    INVALID_INPUT,
    NON_FINITE,
    SINGULAR_MATRIX,
    STAT_ACCEPTED,
    STAT_JAC_EVALS,
    STAT_LU_FACTORS,
    STAT_REJECTED,
    STAT_RHS_EVALS,
    STAT_STEPS,
    SUCCESS,
)


@njit(inline="always")
def block_solve(jx, n, p, w, piv, dinv, b):
    """Solve ``W_aug z = b`` in place for the block lower-triangular
    iteration matrix: ``b[:n] <- W^-1 b[:n]``, then for each k
    ``b_k <- W^-1 (b_k + B_k b[:n])`` with ``B_k = jx[k n:(k+1) n, :n]``."""
    solve_w_dense(w, piv, dinv, b[0:n])
    for kk in range(1, p + 1):
        base = kk * n
        for i in range(n):
            acc = b[base + i]
            for j in range(n):
                acc += jx[base + i, j] * b[j]
            b[base + i] = acc
        solve_w_dense(w, piv, dinv, b[base:base + n])


@njit(inline="always")
def slot_sensitivity_rhs(y, n, pd, kf, kr, params, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e,
                         v, q, dq, out):
    """dy/dt of BATCH_SENS (:func:`kernels.sensitivity.sensitivity_rhs`) from
    the slot form of the mechanism (:func:`kernels.kinetics.slot_plan`), for
    coefficient tables without order terms: per direction d,
    ``dq_j = grad q_j . s_d + qf_j d ln kf_j/dθ_d - qr_j d ln kr_j/dθ_d`` with
    the product rule over the three slots, gathered by the rows of S^T.
    ``e``, ``v``: scratch of n + 1; ``q``: 2 m; ``dq``: m."""
    m = kf.shape[0]
    o_kf = SENS_HEADER
    o_kr = SENS_HEADER + m * pd
    for i in range(n):
        e[i] = y[i]
    e[n] = 1.0
    for j in range(m):
        b = N_SLOTS * j
        q[j] = kf[j] * e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]
        q[m + j] = kr[j] * e[rslot[b]] * e[rslot[b + 1]] * e[rslot[b + 2]] if any_rev else 0.0
    for i in range(n):
        acc = 0.0
        for t in range(g_ptr[i], g_ptr[i + 1]):
            jr = g_rx[t]
            acc += g_nu[t] * (q[jr] - q[m + jr])
        out[i] = acc
    v[n] = 0.0
    for d in range(pd):
        base = n * (1 + d)
        for i in range(n):
            v[i] = y[base + i]
        for j in range(m):
            b = N_SLOTS * j
            a0 = fslot[b]
            a1 = fslot[b + 1]
            a2 = fslot[b + 2]
            acc = kf[j] * (v[a0] * e[a1] * e[a2] + e[a0] * v[a1] * e[a2]
                           + e[a0] * e[a1] * v[a2]) + params[o_kf + j * pd + d] * q[j]
            if any_rev:
                a0 = rslot[b]
                a1 = rslot[b + 1]
                a2 = rslot[b + 2]
                acc -= (kr[j] * (v[a0] * e[a1] * e[a2] + e[a0] * v[a1] * e[a2]
                                 + e[a0] * e[a1] * v[a2]) + params[o_kr + j * pd + d] * q[m + j])
            dq[j] = acc
        for i in range(n):
            acc = 0.0
            for t in range(g_ptr[i], g_ptr[i + 1]):
                acc += g_nu[t] * dq[g_rx[t]]
            out[base + i] = acc


@njit(inline="always")
def slot_sensitivity_blocks(y, n, pd, kf, kr, params, any_rev, fslot, rslot, s_ptr, s_sp, s_nu,
                            e, v, B):
    """The off-diagonal blocks ``B_d = d(J s_d + g_d)/dx`` of the BATCH_SENS
    Jacobian (:func:`kernels.sensitivity.sensitivity_jacobian`) from the slot
    form, for coefficient tables without order terms, into ``B[d, :, :n]``
    (column n is scratch). With ``q = k e_a0 e_a1 e_a2``, d/de_a0 of
    ``grad q . v + c q`` is ``k (v_a1 e_a2 + e_a1 v_a2 + c e_a1 e_a2)``, and
    likewise for the other slots."""
    m = kf.shape[0]
    o_kf = SENS_HEADER
    o_kr = SENS_HEADER + m * pd
    for i in range(n):
        e[i] = y[i]
    e[n] = 1.0
    v[n] = 0.0
    for d in range(pd):
        for i in range(n):
            for c in range(n + 1):
                B[d, i, c] = 0.0
    for d in range(pd):
        base = n * (1 + d)
        for i in range(n):
            v[i] = y[base + i]
        for way in range(2 if any_rev else 1):
            slot = fslot if way == 0 else rslot
            for j in range(m):
                k = kf[j] if way == 0 else -kr[j]
                if k == 0.0:
                    continue
                coef = params[o_kf + j * pd + d] if way == 0 else params[o_kr + j * pd + d]
                b = N_SLOTS * j
                a0 = slot[b]
                a1 = slot[b + 1]
                a2 = slot[b + 2]
                e0 = e[a0]
                e1 = e[a1]
                e2 = e[a2]
                v0 = v[a0]
                v1 = v[a1]
                v2 = v[a2]
                d0 = k * (v1 * e2 + e1 * v2 + coef * e1 * e2)
                d1 = k * (v0 * e2 + e0 * v2 + coef * e0 * e2)
                d2 = k * (v0 * e1 + e0 * v1 + coef * e0 * e1)
                for t in range(s_ptr[j], s_ptr[j + 1]):
                    row = s_sp[t]
                    nu = s_nu[t]
                    B[d, row, a0] += nu * d0
                    B[d, row, a1] += nu * d1
                    B[d, row, a2] += nu * d2


@njit(inline="always")
def block_solve_slot(B, n, p, w, piv, dinv, b):
    """:func:`block_solve` with the off-diagonal blocks in ``B[k - 1]``
    (:func:`slot_sensitivity_blocks`)."""
    solve_w_dense(w, piv, dinv, b[0:n])
    for kk in range(1, p + 1):
        base = kk * n
        for i in range(n):
            acc = b[base + i]
            for j in range(n):
                acc += B[kk - 1, i, j] * b[j]
            b[base + i] = acc
        solve_w_dense(w, piv, dinv, b[base:base + n])


@njit(inline="always")
def _invert_w(w, piv, dinv, n, winv, x):
    """Explicit W^-1 (n x n, row-major) from the LU of :func:`factor_w_dense`:
    each block solve of a step is then a product with it."""
    for c in range(n):
        for i in range(n):
            x[i] = 0.0
        x[c] = 1.0
        solve_w_dense(w, piv, dinv, x)
        for i in range(n):
            winv[i, c] = x[i]


@njit(inline="always")
def _block_solve_inverse(B, winv, n, p, b, x):
    """:func:`block_solve_slot` with the explicit inverse of W: z_0 = W^-1 b_0,
    z_k = W^-1 (b_k + B_k z_0)."""
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += winv[i, j] * b[j]
        x[i] = acc
    for i in range(n):
        b[i] = x[i]
    for kk in range(1, p + 1):
        base = kk * n
        for i in range(n):
            acc = b[base + i]
            for j in range(n):
                acc += B[kk - 1, i, j] * b[j]
            x[i] = acc
        for i in range(n):
            acc = 0.0
            for j in range(n):
                acc += winv[i, j] * x[j]
            b[base + i] = acc


@njit
def _initial_step(code, system, t0, y0, f0, t_end, rtol, atol, n_err, y1, f1):
    """Hairer's starting step (Solving ODEs I, II.4) with the norms over the
    first ``n_err`` components (those under error control); one evaluation
    of the full right-hand side. Same formulae as
    :func:`kernels._common.initial_step` with order 5."""
    N = y0.shape[0]
    dnf = 0.0
    dny = 0.0
    for i in range(n_err):
        sk = atol[i] + rtol * abs(y0[i])
        dnf += (f0[i] / sk) ** 2
        dny += (y0[i] / sk) ** 2
    dnf = np.sqrt(dnf / max(n_err, 1))
    dny = np.sqrt(dny / max(n_err, 1))
    hmax = t_end - t0
    if dnf <= 1e-10 or dny <= 1e-10:
        h = 1e-6
    else:
        h = 0.01 * dny / dnf
    h = min(h, hmax)
    for i in range(N):
        y1[i] = y0[i] + h * f0[i]
    rhs(code, t0 + h, y1, system, f1)
    der2 = 0.0
    for i in range(n_err):
        sk = atol[i] + rtol * abs(y0[i])
        der2 += ((f1[i] - f0[i]) / sk) ** 2
    der2 = np.sqrt(der2 / max(n_err, 1)) / h
    der12 = max(abs(der2), np.sqrt(dnf))
    if not np.isfinite(der12):
        h1 = h * 1e-3
    elif der12 <= 1e-15:
        h1 = max(1e-6, h * 1e-3)
    else:
        h1 = (0.01 / der12) ** (1.0 / 5.0)
    h = min(100.0 * h, h1, hmax)
    if not (h > 0.0):
        h = max(hmax * 1e-6, 1e-300)
    return h


@njit
def integrate_rodas_sens(code, system, y0, n, t0, t_end, t_eval, rtol, atol, h0, max_steps,
                         record, sens_error, allow_slot):
    """Rodas5P on the sensitivity system ``code`` with the block solves of
    :func:`block_solve` (see the module docstring).

    Parameters
    ----------
    code : int
        A problem code of :mod:`kernels.problems` whose state is
        ``[x (n), s_1 (n), ..., s_p (n)]`` and whose Jacobian has the block
        structure above (BATCH_SENS).
    system : tuple
        Its system tuple.
    y0 : ndarray (n (p + 1),)
        Initial states and sensitivities.
    n : int
        Length of the state block ``x``.
    t0, t_end, t_eval, rtol, atol, h0, max_steps, record
        As :func:`kernels.rosenbrock.solve_rodas` (``atol`` over all
        ``n (p + 1)`` components; negative entries are sign-free).
    sens_error : bool
        Sensitivities in the error control (True) or the states only (False).
    allow_slot : bool
        Evaluate the right-hand side of BATCH_SENS in slot form
        (:func:`slot_sensitivity_rhs`) when the mechanism has one and no
        reaction order is a parameter; same values to round-off.

    Returns
    -------
    (status, t_steps, y_steps, dense, y_eval, stats, min_value)
        As :func:`kernels.rosenbrock.solve_rodas`; ``stats`` counts one LU per
        n x n factorization.
    """
    N = y0.shape[0]
    p = N // n - 1
    n_err = N if sens_error else n
    ok, free, atol, stats, y_eval, t_buf, y_buf, d_buf, min_value, ie = start_solve(
        y0, t0, t_end, t_eval, rtol, atol, record, N_DENSE)
    if not ok or n < 1 or p < 0 or n * (p + 1) != N:
        return (INVALID_INPUT, t_buf[:1].copy(), y_buf[:1].copy(), d_buf[:0].copy(),
                y_eval, stats, np.nan)

    y = y0.copy()
    ynew = np.empty(N)
    f0 = np.empty(N)
    fnew = np.empty(N)
    u = np.empty(N)
    fu = np.empty(N)
    k = np.empty((N_STAGES, N))
    w = np.empty((n, n))
    piv = np.zeros(n, dtype=np.int64)
    dinv = np.empty(n)
    cols = np.empty(n, dtype=np.int64)
    dcoef = np.empty((N_DENSE, N))
    model, rate_params, kf, kr, params, work = system
    fast, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(model, n)
    fast = fast and allow_slot and code == BATCH_SENS and N > n
    if fast:
        m = kf.shape[0]
        for a in range(SENS_HEADER + 2 * m * p, params.shape[0]):
            if params[a] != 0.0:   # a fitted order: the general right-hand side
                fast = False
    e = np.empty(n + 1)
    v = np.empty(n + 1)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    # the Jacobian: blocks in slot form (J in jx[:, :n], B_k), else the whole
    # augmented matrix, whose leading n x n block is J
    jx = np.empty((n, n + 1)) if fast else np.empty((N, N))
    B = np.empty((p if fast else 0, n, n + 1))
    winv = np.empty((n, n))
    xs = np.empty(n)
    xN = np.empty(N)
    q = np.empty(2 * kf.shape[0])
    dq = np.empty(kf.shape[0])

    t = t0
    n_acc = 0
    status = SUCCESS
    rhs(code, t, y, system, f0)
    stats[STAT_RHS_EVALS] += 1
    if not all_finite(f0):
        status = NON_FINITE
    elif t_end > t0:
        if h0 > 0.0:
            h = min(h0, t_end - t0)
        else:
            h = _initial_step(code, system, t0, y0, f0, t_end, rtol, atol, n_err, u, fu)
            stats[STAT_RHS_EVALS] += 1
        h_acc = 0.0
        err_acc = 1.0
        last_rejected = False
        jac_current = False
        n_fail = 0
        while True:
            status, h, last = start_step(stats, max_steps, h, t, t_end)
            if status != SUCCESS:
                break
            if not jac_current:
                if fast:
                    slot_jacobian(y, kf, kr, any_rev, fslot, rslot, s_ptr, s_sp, s_nu, e, jx)
                    slot_sensitivity_blocks(y, n, p, kf, kr, params, any_rev, fslot, rslot,
                                            s_ptr, s_sp, s_nu, e, v, B)
                else:
                    jacobian(code, t, y, system, jx)
                stats[STAT_JAC_EVALS] += 1
                jac_current = True
            gh = 1.0 / (GAMMA * h)
            stats[STAT_STEPS] += 1
            stats[STAT_LU_FACTORS] += 1
            # factor_w_dense reads the leading n x n block of jx: the diagonal block J
            if not factor_w_dense(jx, gh, w, piv, dinv, cols):
                stats[STAT_REJECTED] += 1
                n_fail += 1
                if n_fail > MAX_CONSECUTIVE_FAILURES:
                    status = SINGULAR_MATRIX if jacobian_finite(jx) else NON_FINITE
                    break
                h *= 0.5
                last_rejected = True
                continue
            inv_h = 1.0 / h
            for i in range(N):
                k[0, i] = f0[i]
            if fast:
                # slot form: W^-1 once per step, stage sums in one pass per stage
                _invert_w(w, piv, dinv, n, winv, xs)
                _block_solve_inverse(B, winv, n, p, k[0], xs)
                for s in range(1, N_STAGES):
                    if s <= 5:
                        for i in range(N):
                            ua = y[i]
                            xa = 0.0
                            for j in range(s):
                                ua += _A[s, j] * k[j, i]
                                xa += (_C[s, j] * inv_h) * k[j, i]
                            u[i] = ua
                            xN[i] = xa
                    else:  # stiffly accurate tail: u_6 = u_5 + k_5, u_7 = u_6 + k_6
                        for i in range(N):
                            u[i] += k[s - 1, i]
                            xa = 0.0
                            for j in range(s):
                                xa += (_C[s, j] * inv_h) * k[j, i]
                            xN[i] = xa
                    slot_sensitivity_rhs(u, n, p, kf, kr, params, any_rev, fslot, rslot, g_ptr,
                                         g_rx, g_nu, e, v, q, dq, fu)
                    for i in range(N):
                        k[s, i] = fu[i] + xN[i]
                    _block_solve_inverse(B, winv, n, p, k[s], xs)
            else:
                block_solve(jx, n, p, w, piv, dinv, k[0])
                for s in range(1, N_STAGES):
                    _stage_input(s, y, k, u)
                    rhs(code, t, u, system, fu)
                    _stage_rhs(s, inv_h, fu, k)
                    block_solve(jx, n, p, w, piv, dinv, k[s])
            for i in range(N):
                ynew[i] = u[i] + k[7, i]
            stats[STAT_RHS_EVALS] += 7
            s2 = 0.0
            chk = 0.0
            negative = False
            for i in range(N):
                yn = ynew[i]
                chk += yn * 0.0  # NaN when any ynew is inf or NaN
                if i < n_err:
                    yi = y[i]
                    ayi = abs(yi)
                    sc = atol[i] + rtol * max(ayi, abs(yn))
                    r = k[7, i] / sc
                    s2 += r * r
                    if yn < -(atol[i] + rtol * ayi) and not free[i]:
                        negative = True
            err = np.sqrt(s2 / max(n_err, 1))
            finite = np.isfinite(err) and chk == 0.0
            if finite:
                if fast:
                    slot_sensitivity_rhs(ynew, n, p, kf, kr, params, any_rev, fslot, rslot,
                                         g_ptr, g_rx, g_nu, e, v, q, dq, fnew)
                else:
                    rhs(code, t + h, ynew, system, fnew)
                stats[STAT_RHS_EVALS] += 1
                finite = all_finite(fnew)
            if not finite:
                stats[STAT_REJECTED] += 1
                n_fail += 1
                if n_fail > MAX_CONSECUTIVE_FAILURES:
                    status = NON_FINITE
                    break
                h *= 0.25
                last_rejected = True
                continue
            if err <= 1.0 and not negative:
                n_fail = 0
                t_new = t_end if last else t + h
                if needs_dense(record, t_eval, ie, t_new):
                    _dense_coeffs(k, dcoef)
                    ie, t_buf, y_buf, d_buf = store_dense(DENSE_RODAS, record, t_eval, ie, t, h,
                                                          t_new, y, ynew, dcoef, y_eval, t_buf,
                                                          y_buf, d_buf, n_acc)
                for i in range(N):
                    if i < n_err and ynew[i] < min_value and not free[i]:
                        min_value = ynew[i]
                    y[i] = ynew[i]
                    f0[i] = fnew[i]
                t = t_new
                n_acc += 1
                stats[STAT_ACCEPTED] += 1
                jac_current = False
                if last:
                    break
                fac = predictive_factor(err, h, h_acc, err_acc, last_rejected)
                h_acc = h
                err_acc = max(err, 1e-2)
                h *= fac
                last_rejected = False
            else:
                stats[STAT_REJECTED] += 1
                h *= reject_factor(err, negative)
                last_rejected = True

    t_out, y_out, d_out = finish_records(record, t_buf, y_buf, d_buf, n_acc, t0, t, y0, y)
    return status, t_out, y_out, d_out, y_eval, stats, min_value
