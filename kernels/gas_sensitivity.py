"""Forward sensitivities of the gas reactors to every reaction's rate
constant, ``s_j = dy / d ln k_j``, by a staggered direct pass over the steps
of a BDF solve of the states.

Parameters and their right-hand-side columns
--------------------------------------------
Scaling ``k_j`` scales the forward and the reverse rate of reaction j
together (K_c fixed), so its net rate of progress ``q_j`` by the same factor;
``d f / d ln k_j`` is ``q_j`` times the reaction's stoichiometry mapped
through the reactor equations of :mod:`kernels.gas_reactors`: ``nu_ij q_j /
rho`` (batch) or ``nu_ij q_j / G`` (plug flow) in the species rows, the
matching heat release in the T row, 0 in the residence-time row
(:func:`rate_sensitivity_columns`).

The staggered direct pass
-------------------------
The sensitivities obey the linear system ``s_j' = J(y) s_j + g_j(y)``. They
do not act on the states, so the states can be integrated first (the NDF/BDF
of :mod:`kernels.bdf` with error control on the states only, CVODES'
``errconS = false``) and the sensitivities afterwards on the recorded steps:
:func:`bdf_sensitivity_replay` repeats, step by step, the operations the BDF
applied to its difference table (changes of spacing, the order of each step,
the prediction and the corrector formula ``s - c (J s + g) = s_pred - psi``),
on a difference table of all ``p`` sensitivity columns. The corrector is
linear in ``s``: it is solved exactly by one factorization of ``I - c J`` with
the analytic Jacobian at the accepted state, then one product with the
inverse for all columns (CVODES' staggered direct method). The result is the
BDF solution of the augmented system on the states' own steps and orders.
Cost per step: one Jacobian, an ``O(N^3)`` inverse and an ``O(p N^2)``
product, against one reactor run per parameter and direction for finite
differences.

The order of each step is read from the recorded dense output (the BDF
stores its differences ``D_1 .. D_order`` and zeros above); the pass replays
the states' own difference table alongside and returns the largest mismatch
with the recorded one (round-off when the replay followed the solver, order
one when it did not), which the caller checks.

Nothing here raises: failures return a status from :mod:`kernels.status`.
"""

import numpy as np

from ._common import DENSE_BDF, N_DENSE_BDF, dense_eval
from .bdf import _ALPHA, _GAMMA, MAX_ORDER, _change_spacing
from .gas_kinetics import CP_R, H_RT, Q
from .gas_reactors import (ENERGY, GAS_CONST_V, GAS_PFR, MASS_FLUX, _state_density, gas_jac,
                           gas_rhs)
from .jit import njit
from .linalg import factor_w_dense, solve_w_dense
from .status import INVALID_INPUT, NON_FINITE, SINGULAR_MATRIX, SUCCESS

# relative change of the step below which the replay treats h as unchanged:
# recorded times carry round-off, and a re-spacing this small changes nothing
SAME_STEP = 1.0e-12


@njit
def rate_sensitivity_columns(code, y, system, f, g):
    """``f`` = the right-hand side of gas problem ``code`` at ``y`` and
    ``g[j, :] = d f / d ln k_j`` for every reaction j (rows of ``g``)."""
    gas_rhs(code, y, system, f)      # fills the rates of progress and thermo rows
    params, gm, gwork = system[4], system[6], system[7]
    ws, wsn = gwork[0], gwork[1]
    s_ptr, s_sp, s_nu = gm[6], gm[7], gm[8]
    n = gm[24].shape[0]
    m = s_ptr.shape[0] - 1
    T = y[n]
    rho, P, S = _state_density(code, y, n, params)
    scale = 1.0 / params[MASS_FLUX] if code == GAS_PFR else 1.0 / rho
    energy = params[ENERGY] != 0.0
    shift = 1.0 if code == GAS_CONST_V else 0.0
    den = 0.0
    for k in range(n):
        den += y[k] * (wsn[CP_R, k] - shift)
    g[:, :] = 0.0
    for j in range(m):
        qs = ws[Q, j] * scale
        heat = 0.0
        for a in range(s_ptr[j], s_ptr[j + 1]):
            i = s_sp[a]
            v = s_nu[a] * qs
            g[j, i] += v
            heat -= (wsn[H_RT, i] - shift) * v
        if energy:
            g[j, n] = T * heat / den   # as dT/dt of gas_rhs, without the wall term


@njit
def _times_rows(b, a, out):
    """``out = b a`` as updates of contiguous rows, so that the inner loop
    vectorises. Not ``np.dot``: its BLAS threads stall when the cores are
    shared (measured 5-10x slower than this loop on a loaded 2-core machine)."""
    m, N = b.shape
    for r in range(m):
        row = out[r]
        for i in range(N):
            row[i] = 0.0
        for l in range(N):
            brl = b[r, l]
            if brl != 0.0:      # sensitivities start at zero: skip the empty ones
                al = a[l]
                for i in range(N):
                    row[i] += brl * al[i]


@njit
def _order_of(dense_step):
    """Order of a recorded BDF step: its number of non-zero differences."""
    order = 0
    for j in range(dense_step.shape[0]):
        for i in range(dense_step.shape[1]):
            if dense_step[j, i] != 0.0:
                order = j + 1
                break
    return order


@njit
def _accept(D, order, d):
    """The BDF's update of its difference table after an accepted step with
    correction ``d`` (:func:`kernels.bdf.solve_bdf`)."""
    for i in range(D.shape[1]):
        D[order + 2, i] = d[i] - D[order + 1, i]
        D[order + 1, i] = d[i]
    for j in range(order, -1, -1):
        for i in range(D.shape[1]):
            D[j, i] += D[j + 1, i]


@njit
def bdf_sensitivity_replay(code, system, t_steps, y_steps, dense, t_query):
    """Sensitivities ``dy/d ln k_j`` of every reaction along a recorded BDF
    solve of gas problem ``code`` (see the module docstring).

    Parameters
    ----------
    code : int
        GAS_CONST_P, GAS_CONST_V or GAS_PFR.
    system : tuple
        The gas system tuple the states were solved with.
    t_steps, y_steps, dense : ndarray
        The recorded steps of :func:`kernels.bdf.solve_bdf` (``record=True``).
    t_query : ndarray
        Sorted times inside the solve at which to return the sensitivities
        and their time derivatives.

    Returns
    -------
    (status, s_end, s_query, sdot_query, mismatch)
        ``s_end[j]``: dy/d ln k_j at the last step, shape (m, N);
        ``s_query[q, j]`` and ``sdot_query[q, j] = J s_j + g_j`` at
        ``t_query[q]`` (the states interpolated as the solver's dense output
        does), shape (n_query, m, N); ``mismatch``: largest difference between
        the replayed and the recorded difference table of the states,
        relative to the size of each component's values and differences.
    """
    N = y_steps.shape[1]
    m = system[6][9].shape[0]
    P = m * N
    nq = t_query.shape[0]
    n_acc = dense.shape[0]
    s_end = np.zeros((m, N))
    s_query = np.zeros((nq, m, N))
    sdot_query = np.zeros((nq, m, N))
    mismatch = 0.0
    if (dense.ndim != 3 or t_steps.shape[0] != n_acc + 1 or y_steps.shape[0] != n_acc + 1
            or (n_acc > 0 and (dense.shape[1] != N_DENSE_BDF or dense.shape[2] != N))):
        return INVALID_INPUT, s_end, s_query, sdot_query, np.inf
    DS = np.zeros((MAX_ORDER + 3, P))
    DX = np.zeros((MAX_ORDER + 3, N))
    R = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    U = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    RU = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    tmp_s = np.empty((MAX_ORDER + 1, P))
    tmp_x = np.empty((MAX_ORDER + 1, N))
    f = np.empty(N)
    g = np.empty((m, N))
    J = np.empty((N, N))
    w = np.empty((N, N))
    piv = np.zeros(N, dtype=np.int64)
    dinv = np.empty(N)
    cols = np.empty(N, dtype=np.int64)
    winv_t = np.empty((N, N))
    x = np.empty(N)
    b = np.empty((m, N))
    ds = np.empty(P)
    dx = np.empty(N)
    xq = np.empty(N)
    s_rows = np.empty((m, N))
    b_flat = b.reshape(P)
    g_flat = g.reshape(P)

    rate_sensitivity_columns(code, y_steps[0], system, f, g)
    iq = 0
    while iq < nq and t_query[iq] <= t_steps[0]:
        sdot_query[iq, :, :] = g    # s = 0 at the start
        iq += 1
    if n_acc == 0:
        return SUCCESS, s_end, s_query, sdot_query, 0.0
    # D_1 = h f at the first step's spacing (a line: any spacing re-expresses it)
    h_prev = t_steps[1] - t_steps[0]
    for i in range(N):
        DX[0, i] = y_steps[0, i]
        DX[1, i] = h_prev * f[i]
    for a in range(P):
        DS[1, a] = h_prev * g_flat[a]
    for k in range(n_acc):
        h = t_steps[k + 1] - t_steps[k]
        order = _order_of(dense[k])
        if order == 0:          # nothing moved: any order predicts the same
            order = 1
        if abs(h - h_prev) > SAME_STEP * h_prev:
            _change_spacing(DX, order, h / h_prev, R, U, RU, tmp_x)
            _change_spacing(DS, order, h / h_prev, R, U, RU, tmp_s)
        alpha = _ALPHA[order]
        c = h / alpha
        ynew = y_steps[k + 1]
        gas_jac(code, ynew, system, J)
        rate_sensitivity_columns(code, ynew, system, f, g)
        if not factor_w_dense(J, 1.0 / c, w, piv, dinv, cols):
            return SINGULAR_MATRIX, s_end, s_query, sdot_query, mismatch
        # rows of the inverse's transpose: S_new = B W^-T in one product
        for col in range(N):
            for i in range(N):
                x[i] = 0.0
            x[col] = 1.0
            solve_w_dense(w, piv, dinv, x)
            for i in range(N):
                winv_t[col, i] = x[i]
        # (I - c J) s = s_pred - psi + c g  <=>  (I/c - J) s = (s_pred - psi)/c + g
        inv_c = 1.0 / c
        inv_alpha = 1.0 / alpha
        for a in range(P):
            sp = DS[0, a]
            ps = 0.0
            for j in range(1, order + 1):
                sp += DS[j, a]
                ps += _GAMMA[j] * DS[j, a]
            ds[a] = sp        # the prediction, until the correction below
            b_flat[a] = (sp - ps * inv_alpha) * inv_c + g_flat[a]
        _times_rows(b, winv_t, s_rows)
        s_new = s_rows.reshape(P)
        chk = 0.0
        for a in range(P):
            ds[a] = s_new[a] - ds[a]
            chk += ds[a] * 0.0
        if chk != 0.0:
            return NON_FINITE, s_end, s_query, sdot_query, mismatch
        for i in range(N):
            xp = DX[0, i]
            for j in range(1, order + 1):
                xp += DX[j, i]
            dx[i] = ynew[i] - xp
        _accept(DX, order, dx)
        _accept(DS, order, ds)
        # the replayed differences of the states against the recorded ones, on
        # the scale of the component's values and differences at this step
        for i in range(N):
            size = max(abs(ynew[i]), abs(y_steps[k, i]))
            for j in range(order):
                size = max(size, abs(dense[k, j, i]))
            if size > 0.0:
                for j in range(order):
                    e = abs(DX[j + 1, i] - dense[k, j, i]) / size
                    if e > mismatch:
                        mismatch = e
        # outputs inside this step, from the sensitivities' interpolating polynomial
        while iq < nq and t_query[iq] <= t_steps[k + 1]:
            theta = (t_query[iq] - t_steps[k]) / h
            dense_eval(DENSE_BDF, theta, y_steps[k], ynew, dense[k], xq)
            sq = s_query[iq].reshape(P)
            sv = theta - 1.0
            for a in range(P):
                sq[a] = DS[0, a]
            pj = 1.0
            for j in range(1, order + 1):
                pj *= (sv + j - 1) / j
                for a in range(P):
                    sq[a] += pj * DS[j, a]
            gas_jac(code, xq, system, J)
            rate_sensitivity_columns(code, xq, system, f, g)
            out = sdot_query[iq]
            for r in range(m):
                for i in range(N):
                    acc = g[r, i]
                    for l in range(N):
                        acc += J[i, l] * s_query[iq, r, l]
                    out[r, i] = acc
            iq += 1
        h_prev = h
    s_flat = s_end.reshape(P)
    for a in range(P):
        s_flat[a] = DS[0, a]
    return SUCCESS, s_end, s_query, sdot_query, mismatch
