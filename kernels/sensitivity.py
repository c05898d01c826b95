"""Forward sensitivities of isothermal mass-action kinetics.

The BATCH_SENS problem
----------------------
Problem code ``BATCH_SENS`` of :mod:`kernels.problems` integrates, for ``p``
parameters θ_k, the state together with its first derivatives (the
simultaneous corrector approach: one augmented system, one error control)::

    y = [c (n), s_1 (n), ..., s_p (n)],   s_k = dc/dθ_k
    dc/dt   = f(c) = S^T q(c)
    ds_k/dt = J(c) s_k + g_k(c),          J = df/dc,  g_k = df/dθ_k

Parameters enter the rates of progress through the logarithms of the rate
constants and through the forward reaction orders. For an isothermal run
``d ln kf_j / dθ_k`` and ``d ln kr_j / dθ_k`` are constants (the Python layer
computes them from the affine parameter map and T), so with
``qf_j = kf_j prod_a c_a^o_a`` and ``qr_j = kr_j prod_b c_b^p_b``::

    dq_j/dθ_k = qf_j (d ln kf_j/dθ_k + sum_a (d o_a/dθ_k) ln c_a) - qr_j d ln kr_j/dθ_k

where ``c^o ln c`` is taken as its limit 0 at ``c <= 0``. Reverse orders are
not parameters.

The Jacobian of the augmented system is exact (a Rosenbrock method loses
order with an inexact one): the diagonal blocks are ``J(c)``, the upper
blocks zero, and the first block column holds ``d(J s_k + g_k)/dc``, which
needs the second derivatives of the mass-action products. Where
:mod:`kernels.kinetics` floors the first derivative of a fractional power
(orders below one, at ``JACOBIAN_FLOOR``), the second derivatives here are
the derivatives of that floored first derivative, so the block column is
the Jacobian of the right-hand side actually integrated; at and below the
floor every derivative stays finite.

Array layout
------------
The system tuple is the one of :mod:`kernels.problems`, ``(model,
rate_params, kf, kr, params, work)`` with ``kf``, ``kr`` filled once at the
run's temperature and::

    params = [p, n, F,                          # header (floats)
              dlnkf (m x p, row-major),         # d ln kf_j / dθ_k
              dlnkr (m x p),                    # d ln kr_j / dθ_k
              dord (nnz x p)]                   # d r_ord[a] / dθ_k, a over model[2]
    work   = scratch of at least 2 m + 6 F entries

with ``F`` the largest number of factors of a forward or reverse row.

The model's reverse pointer ``model[3]`` carries one extra trailing entry
(an empty row ``m``, see :func:`guard_model` of the Python bridge): the
kinetics functions loop over ``kf.shape[0]`` reactions and never read it,
while :func:`kernels.kinetics.slot_plan` refuses such a model, so an
integrator that builds its slot-form fast path without looking at the
problem code (that path integrates only the n species) falls back to the
generic path that calls :func:`kernels.problems.rhs`.

Nothing here raises: non-finite values propagate to the integrators, which
return a status.
"""

import numpy as np

from .kinetics import (JACOBIAN_FLOOR, _power, _power_derivative, production_jacobian,
                       rate_constants, rate_temperature_derivative)

from .jit import njit


SENS_HEADER = 3
N_SCRATCH_PER_FACTOR = 6


def params_size(m, nnz, p):
    """Length of the ``params`` array of a BATCH_SENS system."""
    return SENS_HEADER + 2 * m * p + nnz * p


def work_size(m, max_factors):
    """Length of the ``work`` array of a BATCH_SENS system."""
    return max(2 * m + N_SCRATCH_PER_FACTOR * max_factors, 1)


# ---------------------------------------------------------------------------
# scalar pieces: second derivative of c^o, and c^o ln c with its derivative
# ---------------------------------------------------------------------------
@njit(inline="always")
def _power_second(c, order):
    """d/dc of :func:`kernels.kinetics._power_derivative` (the floored one).

    Integer orders: the polynomial o (o-1) c^(o-2). Fractional orders: zero
    for c <= 0 (the first derivative is constant there); below one, also zero
    below the floor, where the first derivative is held at its floor value;
    between one and two, c^(o-2) is evaluated at max(c, floor) to stay finite.
    """
    if order == 1.0 or order == 0.0:
        return 0.0
    if order == 2.0:
        return 2.0
    whole = int(order)
    if whole == order and whole < 8:
        out = order * (order - 1.0)
        for _ in range(whole - 2):
            out *= c
        return out
    if c <= 0.0:
        return 0.0
    if order < 1.0:
        if c <= JACOBIAN_FLOOR:
            return 0.0
        return order * (order - 1.0) * c ** (order - 2.0)
    if order < 2.0:
        ceff = c if c > JACOBIAN_FLOOR else JACOBIAN_FLOOR
        return order * (order - 1.0) * ceff ** (order - 2.0)
    return order * (order - 1.0) * c ** (order - 2.0)


@njit(inline="always")
def _order_value(c, order):
    """d(c^o)/do = c^o ln c, with its limit 0 at c <= 0."""
    if c <= 0.0:
        return 0.0
    return _power(c, order) * np.log(c)


@njit(inline="always")
def _order_value_derivative(c, order):
    """d(c^o ln c)/dc = c^(o-1) (o ln c + 1).

    Unbounded at c -> 0 for orders up to one: evaluated at max(c, floor)
    there, as kinetics.py does for the first derivative of c^o.
    """
    if order <= 1.0:
        ceff = c if c > JACOBIAN_FLOOR else JACOBIAN_FLOOR
        return ceff ** (order - 1.0) * (order * np.log(ceff) + 1.0)
    if c <= 0.0:
        return 0.0
    return _power(c, order - 1.0) * (order * np.log(c) + 1.0)


# ---------------------------------------------------------------------------
# per-row factor tables
# ---------------------------------------------------------------------------
@njit(inline="always")
def _row_tables(c, ptr, sp, order, j, P, D1, O1, D2, H, H1, second, with_orders, params,
                o_ord, p):
    """Fill per-factor tables of row ``j``: P = c^o, D1 = dP/dc (floored as in
    kinetics.py), O1 = product of the other factors; with ``second`` also
    D2 = dD1/dc; with ``with_orders`` H = c^o ln c (and H1 = dH/dc with
    ``second``) for the factors whose order is a parameter (``params[o_ord:]``
    holds d order/dθ), zero for the others. Returns the number of factors."""
    start = ptr[j]
    f = ptr[j + 1] - start
    for t in range(f):
        cl = c[sp[start + t]]
        o = order[start + t]
        P[t] = _power(cl, o)
        D1[t] = _power_derivative(cl, o)
        if second:
            D2[t] = _power_second(cl, o)
        if with_orders:
            fitted = False
            for kk in range(p):
                if params[o_ord + (start + t) * p + kk] != 0.0:
                    fitted = True
                    break
            # the logarithms only where an order moves
            H[t] = _order_value(cl, o) if fitted else 0.0
            if second:
                H1[t] = _order_value_derivative(cl, o) if fitted else 0.0
    # products of the other factors, never P/P_t (which fails at c_t = 0)
    for t in range(f):
        acc = 1.0
        for u in range(f):
            if u != t:
                acc *= P[u]
        O1[t] = acc
    return f


@njit(inline="always")
def _others2(P, f, a, b):
    """Product of the factors other than a and b."""
    acc = 1.0
    for u in range(f):
        if u != a and u != b:
            acc *= P[u]
    return acc


@njit
def _scratch(work, m, F):
    base = 2 * m
    return (work[base:base + F], work[base + F:base + 2 * F], work[base + 2 * F:base + 3 * F],
            work[base + 3 * F:base + 4 * F], work[base + 4 * F:base + 5 * F],
            work[base + 5 * F:base + 6 * F])


# ---------------------------------------------------------------------------
# right-hand side, parameter Jacobian and augmented Jacobian
# ---------------------------------------------------------------------------
@njit
def sensitivity_rhs(y, system, out):
    """dy/dt of BATCH_SENS: [f(c), J s_1 + g_1, ..., J s_p + g_p]."""
    model, rate_params, kf, kr, params, work = system
    p = int(params[0])
    n = int(params[1])
    F = int(params[2])
    m = kf.shape[0]
    o_kf = SENS_HEADER
    o_kr = SENS_HEADER + m * p
    o_ord = SENS_HEADER + 2 * m * p
    n_state = y.shape[0]
    c = y[:n]
    # the species rates are formed here too, from the same factor tables
    for i in range(n_state):
        out[i] = 0.0
    P, D1, O1, D2, H, H1 = _scratch(work, m, F)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    # directions outermost: the row arrays are bound twice per call, not per
    # reaction (each binding of an array costs reference counting)
    for d in range(2):
        forward = d == 0
        if forward:
            k_row = kf
            ptr, sp, order = model[0], model[1], model[2]
            sign = 1.0
            o_ln = o_kf
        else:
            k_row = kr
            ptr, sp, order = model[3], model[4], model[5]
            sign = -1.0
            o_ln = o_kr
        for j in range(m):
            k = k_row[j]
            if k == 0.0:
                continue
            f = _row_tables(c, ptr, sp, order, j, P, D1, O1, D2, H, H1, False, forward,
                            params, o_ord, p)
            start = ptr[j]
            full = sign * k
            fitted_order = False
            for t in range(f):
                full *= P[t]
                D2[t] = sign * k * D1[t] * O1[t]       # d q_j / d c (signed), reused p times
                if forward and H[t] != 0.0:
                    H[t] *= sign * k * O1[t]           # d q_j / d o_t
                    fitted_order = True
            if full != 0.0:
                for s in range(s_ptr[j], s_ptr[j + 1]):
                    out[s_sp[s]] += s_nu[s] * full
            for kk in range(p):
                base = n * (1 + kk)
                dq = full * params[o_ln + j * p + kk]
                for t in range(f):
                    dq += D2[t] * y[base + sp[start + t]]
                if fitted_order:
                    for t in range(f):
                        dq += params[o_ord + (start + t) * p + kk] * H[t]
                if dq == 0.0:
                    continue
                for s in range(s_ptr[j], s_ptr[j + 1]):
                    out[base + s_sp[s]] += s_nu[s] * dq


@njit
def parameter_jacobian(c, system, G):
    """G[i, k] = d f_i / d θ_k at concentrations ``c`` (n x p), with the
    coefficient tables of a BATCH_SENS system."""
    model, rate_params, kf, kr, params, work = system
    p = int(params[0])
    F = int(params[2])
    m = kf.shape[0]
    o_kf = SENS_HEADER
    o_kr = SENS_HEADER + m * p
    o_ord = SENS_HEADER + 2 * m * p
    G[:, :] = 0.0
    P, D1, O1, D2, H, H1 = _scratch(work, m, F)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    # directions outermost: the row arrays are bound twice per call, not per
    # reaction (each binding of an array costs reference counting)
    for d in range(2):
        forward = d == 0
        if forward:
            k_row = kf
            ptr, sp, order = model[0], model[1], model[2]
            sign = 1.0
            o_ln = o_kf
        else:
            k_row = kr
            ptr, sp, order = model[3], model[4], model[5]
            sign = -1.0
            o_ln = o_kr
        for j in range(m):
            k = k_row[j]
            if k == 0.0:
                continue
            f = _row_tables(c, ptr, sp, order, j, P, D1, O1, D2, H, H1, False, forward,
                            params, o_ord, p)
            start = ptr[j]
            full = k
            for t in range(f):
                full *= P[t]
            for kk in range(p):
                dq = full * params[o_ln + j * p + kk]
                if forward:
                    for t in range(f):
                        w = params[o_ord + (start + t) * p + kk]
                        if w != 0.0:
                            dq += w * k * H[t] * O1[t]
                if dq == 0.0:
                    continue
                dq *= sign
                for s in range(s_ptr[j], s_ptr[j + 1]):
                    G[s_sp[s], kk] += s_nu[s] * dq


@njit
def sensitivity_jacobian(y, system, J):
    """Exact d(dy/dt)/dy of BATCH_SENS (N x N, N = n (p + 1)).

    Block (0, 0) and the diagonal blocks (k, k) are J(c); block (k, 0) is
    d(J s_k + g_k)/dc, from the second derivatives of the mass-action
    products; the blocks above the diagonal are zero.
    """
    model, rate_params, kf, kr, params, work = system
    p = int(params[0])
    n = int(params[1])
    F = int(params[2])
    m = kf.shape[0]
    o_kf = SENS_HEADER
    o_kr = SENS_HEADER + m * p
    o_ord = SENS_HEADER + 2 * m * p
    c = y[:n]
    J[:, :] = 0.0
    P, D1, O1, D2, H, H1 = _scratch(work, m, F)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    # directions outermost: the row arrays are bound twice per call, not per
    # reaction (each binding of an array costs reference counting)
    for d in range(2):
        forward = d == 0
        if forward:
            k_row = kf
            ptr, sp, order = model[0], model[1], model[2]
            sign = 1.0
            o_ln = o_kf
        else:
            k_row = kr
            ptr, sp, order = model[3], model[4], model[5]
            sign = -1.0
            o_ln = o_kr
        for j in range(m):
            k = k_row[j]
            if k == 0.0:
                continue
            f = _row_tables(c, ptr, sp, order, j, P, D1, O1, D2, H, H1, True, forward,
                            params, o_ord, p)
            start = ptr[j]
            for t in range(f):
                col = sp[start + t]
                first = sign * k * D1[t] * O1[t]        # d q_j / d c_col
                if first != 0.0:
                    for s in range(s_ptr[j], s_ptr[j + 1]):
                        row = s_sp[s]
                        v = s_nu[s] * first
                        J[row, col] += v
                        for kk in range(p):
                            J[n * (1 + kk) + row, n * (1 + kk) + col] += v
                # d/dc_col of dq_j/dθ_k = sum_a d2q/dc_a dc_col s_k[a] + dq/dc_col dln k
                #                         + sum_a w_a d(k H_a prod_{b != a} P_b)/dc_col
                for kk in range(p):
                    base = n * (1 + kk)
                    e = k * D1[t] * O1[t] * params[o_ln + j * p + kk]
                    for a in range(f):
                        sa = y[base + sp[start + a]]
                        if sa == 0.0:
                            continue
                        if a == t:
                            e += k * D2[t] * O1[t] * sa
                        else:
                            e += k * D1[a] * D1[t] * _others2(P, f, a, t) * sa
                    if forward:
                        for a in range(f):
                            w = params[o_ord + (start + a) * p + kk]
                            if w == 0.0:
                                continue
                            if a == t:
                                e += w * k * H1[t] * O1[t]
                            else:
                                e += w * k * H[a] * D1[t] * _others2(P, f, a, t)
                    if e == 0.0:
                        continue
                    e *= sign
                    for s in range(s_ptr[j], s_ptr[j + 1]):
                        J[base + s_sp[s], col] += s_nu[s] * e


# ---------------------------------------------------------------------------
# BATCH_ENERGY_SENS: forward sensitivities with an energy balance
# ---------------------------------------------------------------------------
# The state of BATCH_ENERGY (kernels.problems) is x = [c_0 .. c_{N-2}, T]
# (flowchem puts the heat released at N-2: an ordinary "species" here), with
# the heat release in the model's stoichiometry rows (heat: -dH_j, T:
# -dH_j/(rho cp)) and the wall term -(Ua/(rho cp)) (T - T_c) on the T row.
# Problem code BATCH_ENERGY_SENS integrates
#
#     y = [x (N), s_1 (N), ..., s_p (N)],     s_k = dx/dθ_k
#     ds_k/dt = J(x) s_k + g_k(x)
#
# with J including the temperature column, and, per reaction j and direction
# (rate constant k(T) = exp(L(T)), mass-action product P(c)):
#
#     tangent dq_jk = k [P (l_jk(T) + L'(T) s_k[T]) + sum_a dP/dc_a s_k[a]
#                        + sum_a (d o_a/dθ_k) c_a^o_a ln c_a prod_{b != a} P_b]
#
# where l_jk = d ln k_j / dθ_k at fixed T: for Arrhenius raw (ln A, b, Ea/R)
# l = M0 + M1 ln T - M2 / T; for a van 't Hoff reverse rate k_r = k_f / K,
# l_r = l_f - d ln K/dθ. The reaction enthalpies may be parameters too (raw dH
# in J/mol): they add -d dH_j/dθ_k q_j to the heat row and that over rho cp to
# the T row; the coolant temperature and Ua/(rho cp) may depend on θ (an
# operating condition), adding Ua/(rho cp) dT_c/dθ - (T - T_c) d(Ua/(rho cp))/dθ
# to the T row. Initial conditions (inlet T, concentrations) enter through s(0).
#
# The augmented Jacobian is exact (Rodas5P needs it): the diagonal blocks are
# J(x); block (k, 0) holds d(J s_k + g_k)/dx, whose T column is
#     d dq_jk/dT = L' dq_jk + k P (l'_jk + L'' s_k[T])
# plus the enthalpy-parameter and wall terms. Checked against differences
# of energy_sensitivity_rhs in tests/test_energy_sensitivity.py.
#
# params = [p, N, F, heat_row (-1: none), 1/(rho cp) (0: no T row), Ua/(rho cp), T_c,
#           Mf (m x 3 x p),     d fwd raw (ln A, b, Ea/R) / dθ
#           Mr (m x 3 x p),     d rev raw / dθ (Arrhenius or (ln K_ref, 1/T_ref, dH/R))
#           dord (nnz x p),     d forward order / dθ
#           ddH (m x p),        d dH_j (J/mol) / dθ
#           dTc (p), dua (p)]   d T_c / dθ, d (Ua/(rho cp)) / dθ
# work = scratch of at least 2 m + 6 F entries (work_size). kf and kr are
# refilled at T = x[N-1] on every call.

ESENS_HEADER = 7


def energy_params_size(m, nnz, p):
    """Length of the ``params`` array of a BATCH_ENERGY_SENS system."""
    return ESENS_HEADER + 7 * m * p + nnz * p + 2 * p


@njit(inline="always")
def _energy_offsets(m, nnz, p):
    o_mf = ESENS_HEADER
    o_mr = o_mf + 3 * m * p
    o_ord = o_mr + 3 * m * p
    o_dh = o_ord + nnz * p
    o_tc = o_dh + m * p
    o_ua = o_tc + p
    return o_mf, o_mr, o_ord, o_dh, o_tc, o_ua


@njit(inline="always")
def _log_k_slopes(rev_kind, fwd, rev, j, forward, invT):
    """(d ln k/dT, d^2 ln k/dT^2) of reaction j, forward or reverse."""
    invT2 = invT * invT
    invT3 = invT2 * invT
    a1 = fwd[j, 1] * invT + fwd[j, 2] * invT2
    a2 = -fwd[j, 1] * invT2 - 2.0 * fwd[j, 2] * invT3
    if forward:
        return a1, a2
    if rev_kind[j] == 1:
        return (rev[j, 1] * invT + rev[j, 2] * invT2,
                -rev[j, 1] * invT2 - 2.0 * rev[j, 2] * invT3)
    return a1 - rev[j, 2] * invT2, a2 + 2.0 * rev[j, 2] * invT3


@njit(inline="always")
def _log_k_parameter(params, o_mf, o_mr, rev_kind, rev, j, kk, p, forward, lnT, invT):
    """(d ln k_j/dθ_k at fixed T, its T-derivative), forward or reverse."""
    b = o_mf + 3 * j * p + kk
    m0 = params[b]
    m1 = params[b + p]
    m2 = params[b + 2 * p]
    lf = m0 + m1 * lnT - m2 * invT
    lf1 = m1 * invT + m2 * invT * invT
    if forward:
        return lf, lf1
    b = o_mr + 3 * j * p + kk
    r0 = params[b]
    r1 = params[b + p]
    r2 = params[b + 2 * p]
    if rev_kind[j] == 1:
        return r0 + r1 * lnT - r2 * invT, r1 * invT + r2 * invT * invT
    # ln K = rev0 - rev2 (1/T - rev1): d ln K/dθ = r0 - r2 (1/T - rev1) + rev2 r1
    dlnK = r0 - r2 * (invT - rev[j, 1]) + rev[j, 2] * r1
    return lf - dlnK, lf1 - r2 * invT * invT


@njit
def energy_sensitivity_rhs(y, system, out):
    """dy/dt of BATCH_ENERGY_SENS: [f(x), J s_1 + g_1, ..., J s_p + g_p]."""
    model, rate_params, kf, kr, params, work = system
    p = int(params[0])
    N = int(params[1])
    F = int(params[2])
    heat = int(params[3])
    inv_rcp = params[4]
    ua = params[5]
    Tc = params[6]
    m = kf.shape[0]
    nnz = model[2].shape[0]
    o_mf, o_mr, o_ord, o_dh, o_tc, o_ua = _energy_offsets(m, nnz, p)
    nT = N - 1
    T = y[nT]
    rate_constants(T, rate_params, kf, kr)
    rev_kind, fwd, rev = rate_params
    lnT = np.log(T)
    invT = 1.0 / T
    c = y[:N]
    for i in range(y.shape[0]):
        out[i] = 0.0
    P, D1, O1, D2, H, H1 = _scratch(work, m, F)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    for d in range(2):
        forward = d == 0
        if forward:
            k_row = kf
            ptr, sp, order = model[0], model[1], model[2]
            sign = 1.0
        else:
            k_row = kr
            ptr, sp, order = model[3], model[4], model[5]
            sign = -1.0
        for j in range(m):
            k = k_row[j]
            if k == 0.0:
                continue
            L1, _ = _log_k_slopes(rev_kind, fwd, rev, j, forward, invT)
            f = _row_tables(c, ptr, sp, order, j, P, D1, O1, D2, H, H1, False, forward,
                            params, o_ord, p)
            start = ptr[j]
            full = sign * k
            fitted_order = False
            for t in range(f):
                full *= P[t]
                D2[t] = sign * k * D1[t] * O1[t]
                if forward and H[t] != 0.0:
                    H[t] *= sign * k * O1[t]
                    fitted_order = True
            if full != 0.0:
                for s in range(s_ptr[j], s_ptr[j + 1]):
                    out[s_sp[s]] += s_nu[s] * full
            for kk in range(p):
                base = N * (1 + kk)
                l0, _ = _log_k_parameter(params, o_mf, o_mr, rev_kind, rev, j, kk, p, forward,
                                         lnT, invT)
                dq = full * (l0 + L1 * y[base + nT])
                for t in range(f):
                    dq += D2[t] * y[base + sp[start + t]]
                if fitted_order:
                    for t in range(f):
                        dq += params[o_ord + (start + t) * p + kk] * H[t]
                if dq != 0.0:
                    for s in range(s_ptr[j], s_ptr[j + 1]):
                        out[base + s_sp[s]] += s_nu[s] * dq
                w = params[o_dh + j * p + kk]
                if w != 0.0 and full != 0.0:
                    if heat >= 0:
                        out[base + heat] -= w * full
                    out[base + nT] -= w * full * inv_rcp
    out[nT] -= ua * (T - Tc)
    for kk in range(p):
        base = N * (1 + kk)
        out[base + nT] += (-ua * y[base + nT] + ua * params[o_tc + kk]
                           - (T - Tc) * params[o_ua + kk])


@njit
def energy_state_jacobian(x, system, J):
    """d f/dx (N x N) of the energy-balance state x = [c, (heat), T] with the
    coefficient tables of a BATCH_ENERGY_SENS system (the Jacobian of
    BATCH_ENERGY; used for steady tanks)."""
    model, rate_params, kf, kr, params, work = system
    N = x.shape[0]
    nT = N - 1
    T = x[nT]
    m = kf.shape[0]
    rate_constants(T, rate_params, kf, kr)
    production_jacobian(x, model, kf, kr, J)
    dqdT = work[m:2 * m]
    rate_temperature_derivative(x, model, rate_params, kf, kr, T, dqdT)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    for i in range(N):
        J[i, nT] = 0.0
    for j in range(m):
        for a in range(s_ptr[j], s_ptr[j + 1]):
            J[s_sp[a], nT] += s_nu[a] * dqdT[j]
    J[nT, nT] -= params[5]


@njit
def energy_sensitivity_jacobian(y, system, J):
    """Exact d(dy/dt)/dy of BATCH_ENERGY_SENS (N (p + 1) square); see the
    notes above :data:`ESENS_HEADER`."""
    model, rate_params, kf, kr, params, work = system
    p = int(params[0])
    N = int(params[1])
    F = int(params[2])
    heat = int(params[3])
    inv_rcp = params[4]
    ua = params[5]
    m = kf.shape[0]
    nnz = model[2].shape[0]
    o_mf, o_mr, o_ord, o_dh, o_tc, o_ua = _energy_offsets(m, nnz, p)
    nT = N - 1
    T = y[nT]
    rate_constants(T, rate_params, kf, kr)
    rev_kind, fwd, rev = rate_params
    lnT = np.log(T)
    invT = 1.0 / T
    c = y[:N]
    J[:, :] = 0.0
    P, D1, O1, D2, H, H1 = _scratch(work, m, F)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    for d in range(2):
        forward = d == 0
        if forward:
            k_row = kf
            ptr, sp, order = model[0], model[1], model[2]
            sign = 1.0
        else:
            k_row = kr
            ptr, sp, order = model[3], model[4], model[5]
            sign = -1.0
        for j in range(m):
            k = k_row[j]
            if k == 0.0:
                continue
            L1, L2 = _log_k_slopes(rev_kind, fwd, rev, j, forward, invT)
            f = _row_tables(c, ptr, sp, order, j, P, D1, O1, D2, H, H1, True, forward,
                            params, o_ord, p)
            start = ptr[j]
            prod = 1.0
            for t in range(f):
                prod *= P[t]
            full = sign * k * prod
            # state block: concentration columns and the temperature column
            for t in range(f):
                first = sign * k * D1[t] * O1[t]
                if first != 0.0:
                    col = sp[start + t]
                    for s in range(s_ptr[j], s_ptr[j + 1]):
                        J[s_sp[s], col] += s_nu[s] * first
            if full != 0.0:
                for s in range(s_ptr[j], s_ptr[j + 1]):
                    J[s_sp[s], nT] += s_nu[s] * full * L1
            for kk in range(p):
                base = N * (1 + kk)
                sT = y[base + nT]
                l0, l1 = _log_k_parameter(params, o_mf, o_mr, rev_kind, rev, j, kk, p, forward,
                                          lnT, invT)
                lt = l0 + L1 * sT
                w_dh = params[o_dh + j * p + kk]
                # the tangent rate dq_jk (unsigned), for its T derivative
                dq = k * prod * lt
                for t in range(f):
                    dq += k * D1[t] * O1[t] * y[base + sp[start + t]]
                if forward:
                    for t in range(f):
                        w = params[o_ord + (start + t) * p + kk]
                        if w != 0.0:
                            dq += w * k * H[t] * O1[t]
                # concentration columns of block (kk, 0)
                for t in range(f):
                    col = sp[start + t]
                    e = k * D1[t] * O1[t] * lt
                    for a in range(f):
                        sa = y[base + sp[start + a]]
                        if sa == 0.0:
                            continue
                        if a == t:
                            e += k * D2[t] * O1[t] * sa
                        else:
                            e += k * D1[a] * D1[t] * _others2(P, f, a, t) * sa
                    if forward:
                        for a in range(f):
                            w = params[o_ord + (start + a) * p + kk]
                            if w == 0.0:
                                continue
                            if a == t:
                                e += w * k * H1[t] * O1[t]
                            else:
                                e += w * k * H[a] * D1[t] * _others2(P, f, a, t)
                    e *= sign
                    if e != 0.0:
                        for s in range(s_ptr[j], s_ptr[j + 1]):
                            J[base + s_sp[s], col] += s_nu[s] * e
                    if w_dh != 0.0:
                        first = sign * k * D1[t] * O1[t]
                        if heat >= 0:
                            J[base + heat, col] -= w_dh * first
                        J[base + nT, col] -= w_dh * first * inv_rcp
                # temperature column of block (kk, 0)
                eT = sign * (L1 * dq + k * prod * (l1 + L2 * sT))
                if eT != 0.0:
                    for s in range(s_ptr[j], s_ptr[j + 1]):
                        J[base + s_sp[s], nT] += s_nu[s] * eT
                if w_dh != 0.0:
                    if heat >= 0:
                        J[base + heat, nT] -= w_dh * full * L1
                    J[base + nT, nT] -= w_dh * full * L1 * inv_rcp
    J[nT, nT] -= ua
    for kk in range(p):
        base = N * (1 + kk)
        J[base + nT, nT] -= params[o_ua + kk]
        for i in range(N):
            for l in range(N):
                J[base + i, base + l] = J[i, l]
