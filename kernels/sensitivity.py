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

from .kinetics import JACOBIAN_FLOOR, _power, _power_derivative

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
