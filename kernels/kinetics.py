"""Mass-action kinetics on flat arrays: rate constants, rates of progress,
net production rates and their analytic Jacobian.

Data layout (the contract between ``flowchem`` and ``kernels``)
----------------------------------------------------------------
A mechanism of ``n`` species and ``m`` reactions is compiled into a *model*
tuple of nine arrays, all C-contiguous, int64 for indices and float64 for
values, so that one Numba compilation serves every mechanism::

    model = (r_ptr, r_sp, r_ord,   # forward rate orders, CSR over reactions
             p_ptr, p_sp, p_ord,   # reverse rate orders, CSR (empty rows if irreversible)
             s_ptr, s_sp, s_nu)    # net stoichiometry nu_ij (products minus reactants), CSR

Row ``j`` of a CSR triple is ``ptr[j]:ptr[j+1]``; a species appears at most
once per row. Rate parameters are a second tuple::

    rate_params = (rev_kind, fwd, rev)

``fwd`` is an ``(m, 3)`` array of ``(ln A, b, Ea/R)`` so that
``k_f = exp(ln A + b ln T - (Ea/R)/T)`` (the reference-temperature and
constant forms map onto these three numbers). ``rev_kind[j]`` is 0 for an
irreversible reaction, 1 when ``rev[j]`` holds reverse Arrhenius parameters of
the same form, and 2 when ``rev[j]`` holds ``(ln K_ref, 1/T_ref, dH/R)`` of a
van 't Hoff equilibrium constant ``K = K_ref exp(-dH/R (1/T - 1/T_ref))``,
with ``k_r = k_f / K``.

All quantities are SI: mol/m^3, s, K.
"""

import numpy as np
from .jit import njit

# Fractional orders below one have an infinite derivative at zero
# concentration; the Jacobian is evaluated at this floor instead.
JACOBIAN_FLOOR = 1.0e-12

IRREVERSIBLE = 0
REVERSE_ARRHENIUS = 1
EQUILIBRIUM_VANT_HOFF = 2


@njit
def rate_constants(T, rate_params, kf, kr):
    """Fill forward and reverse rate constants at temperature ``T`` (K)."""
    rev_kind, fwd, rev = rate_params
    # ln T only when some exponent b is not zero (or T is not a positive finite
    # number, where 0 * ln T is NaN): b * ln T is exactly 0.0 otherwise, so the
    # results are bitwise those of always taking the log
    need_log = not (0.0 < T < np.inf)
    for j in range(kf.shape[0]):
        if fwd[j, 1] != 0.0 or (rev_kind[j] == REVERSE_ARRHENIUS and rev[j, 1] != 0.0):
            need_log = True
            break
    lnT = np.log(T) if need_log else 0.0
    invT = 1.0 / T
    for j in range(kf.shape[0]):
        kf[j] = np.exp(fwd[j, 0] + fwd[j, 1] * lnT - fwd[j, 2] * invT)
        kind = rev_kind[j]
        if kind == REVERSE_ARRHENIUS:
            kr[j] = np.exp(rev[j, 0] + rev[j, 1] * lnT - rev[j, 2] * invT)
        elif kind == EQUILIBRIUM_VANT_HOFF:
            lnK = rev[j, 0] - rev[j, 2] * (invT - rev[j, 1])
            kr[j] = kf[j] * np.exp(-lnK)
        else:
            kr[j] = 0.0


@njit(inline="always")
def _power(c, order):
    """c**order, by multiplication for small integer orders.

    Integer orders keep the polynomial (defined for the slightly negative
    values an integrator may visit); fractional orders are zero for c <= 0.
    """
    if order == 1.0:
        return c
    if order == 0.0:
        return 1.0
    if order == 2.0:
        return c * c
    if order == 3.0:
        return c * c * c
    whole = int(order)
    if whole == order and whole < 8:
        out = 1.0
        for _ in range(whole):
            out *= c
        return out
    if c <= 0.0:
        return 0.0
    return c ** order


@njit(inline="always")
def _power_derivative(c, order):
    """d(c**order)/dc, finite at c = 0 for orders below one (floored)."""
    if order == 1.0:
        return 1.0
    if order == 0.0:
        return 0.0
    if order == 2.0:
        return 2.0 * c
    whole = int(order)
    if whole == order and whole < 8:
        out = order
        for _ in range(whole - 1):
            out *= c
        return out
    if order < 1.0:
        ceff = c if c > JACOBIAN_FLOOR else JACOBIAN_FLOOR
    else:
        ceff = c if c > 0.0 else 0.0
    return order * ceff ** (order - 1.0)


@njit
def _product(c, ptr, sp, order, j):
    out = 1.0
    for a in range(ptr[j], ptr[j + 1]):
        out *= _power(c[sp[a]], order[a])
    return out


@njit
def rates_of_progress(c, model, kf, kr, q):
    """Net rate of progress q_j = kf_j prod c^o - kr_j prod c^p (mol/m^3/s)."""
    r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord = model[0], model[1], model[2], model[3], model[4], model[5]
    for j in range(kf.shape[0]):
        qf = kf[j] * _product(c, r_ptr, r_sp, r_ord, j)
        if kr[j] != 0.0:
            qf -= kr[j] * _product(c, p_ptr, p_sp, p_ord, j)
        q[j] = qf


@njit
def production_rates(c, model, kf, kr, q, wdot):
    """Net molar production rates wdot_i = sum_j nu_ij q_j; ``q`` is filled too."""
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    rates_of_progress(c, model, kf, kr, q)
    wdot[:] = 0.0
    for j in range(kf.shape[0]):
        qj = q[j]
        if qj == 0.0:
            continue
        for a in range(s_ptr[j], s_ptr[j + 1]):
            wdot[s_sp[a]] += s_nu[a] * qj


@njit
def _add_rate_derivative(c, k, ptr, sp, order, j, sign, s_ptr, s_sp, s_nu, J):
    """Add sign * nu_ij * d(k prod c^o)/dc_l to J[i, l] for every factor l of row j.

    The derivative with respect to c_l is the product over the other factors
    times the derivative of its own factor; it is never formed as q/c_l,
    which fails at c_l = 0.
    """
    start = ptr[j]
    stop = ptr[j + 1]
    for a in range(start, stop):
        d = sign * k * _power_derivative(c[sp[a]], order[a])
        if d == 0.0:
            continue
        for b in range(start, stop):
            if b != a:
                d *= _power(c[sp[b]], order[b])
        if d == 0.0:
            continue
        col = sp[a]
        for s in range(s_ptr[j], s_ptr[j + 1]):
            J[s_sp[s], col] += s_nu[s] * d


@njit
def production_jacobian(c, model, kf, kr, J):
    """Analytic Jacobian d wdot_i / d c_l of the net production rates."""
    r_ptr, r_sp, r_ord = model[0], model[1], model[2]
    p_ptr, p_sp, p_ord = model[3], model[4], model[5]
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    J[:, :] = 0.0
    for j in range(kf.shape[0]):
        if kf[j] != 0.0:
            _add_rate_derivative(c, kf[j], r_ptr, r_sp, r_ord, j, 1.0, s_ptr, s_sp, s_nu, J)
        if kr[j] != 0.0:
            _add_rate_derivative(c, kr[j], p_ptr, p_sp, p_ord, j, -1.0, s_ptr, s_sp, s_nu, J)


@njit
def rate_temperature_derivative(c, model, rate_params, kf, kr, T, dqdT):
    """d q_j / d T at fixed concentrations, from the rate constants' T-dependence.

    d ln kf/dT = b/T + (Ea/R)/T^2; for a van 't Hoff reverse rate
    k_r = k_f/K, d ln k_r/dT = d ln k_f/dT - (dH/R)/T^2.
    """
    rev_kind, fwd, rev = rate_params
    r_ptr, r_sp, r_ord = model[0], model[1], model[2]
    p_ptr, p_sp, p_ord = model[3], model[4], model[5]
    invT = 1.0 / T
    invT2 = invT * invT
    for j in range(kf.shape[0]):
        dlnkf = fwd[j, 1] * invT + fwd[j, 2] * invT2
        d = kf[j] * _product(c, r_ptr, r_sp, r_ord, j) * dlnkf
        if kr[j] != 0.0:
            kind = rev_kind[j]
            if kind == REVERSE_ARRHENIUS:
                dlnkr = rev[j, 1] * invT + rev[j, 2] * invT2
            else:
                dlnkr = dlnkf - rev[j, 2] * invT2
            d -= kr[j] * _product(c, p_ptr, p_sp, p_ord, j) * dlnkr
        dqdT[j] = d


# ---------------------------------------------------------------------------
# Fast internal path for the integrators: "slot" form of mass action
# ---------------------------------------------------------------------------
# A mechanism whose reactant (and reverse) orders are the integers 0..3 with a
# total order of at most 3 per direction is rewritten once per solve as three
# species "slots" per reaction and direction, a repeated species appearing in
# as many slots as its order and empty slots pointing at an extra state entry
# fixed at 1.0 (index n). Then q_j = kf_j e[a] e[b] e[c] - kr_j e[d] e[e] e[f]
# has no branches and no inner loops, and d q_j / d e[a] = kf_j e[b] e[c]
# (a species in two slots gets both terms: d(c^2)/dc = 2c). Production rates
# are gathered per species (rows of S^T in CSR form) instead of scattered per
# reaction. Results agree with production_rates / production_jacobian to
# round-off (products are formed in a different order). Mechanisms outside
# this form (fractional or high orders) keep the general functions above.
N_SLOTS = 3


@njit
def slot_plan(model, n):
    """Slot form of ``model`` for states of length ``n``.

    Returns ``(ok, any_rev, fslot, rslot, g_ptr, g_rx, g_nu)``: ``fslot`` and
    ``rslot`` hold N_SLOTS species indices per reaction (n for an empty slot);
    ``g_ptr, g_rx, g_nu`` are S^T in CSR form (per species: reaction, nu).
    ``ok`` is False when the mechanism does not fit (then only the general
    functions may be used).
    """
    r_ptr, r_sp, r_ord = model[0], model[1], model[2]
    p_ptr, p_sp, p_ord = model[3], model[4], model[5]
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    m = r_ptr.shape[0] - 1
    fslot = np.full(N_SLOTS * max(m, 0), n, dtype=np.int64)
    rslot = np.full(N_SLOTS * max(m, 0), n, dtype=np.int64)
    g_ptr = np.zeros(n + 1, dtype=np.int64)
    ok = True
    any_rev = False
    for d in range(2):
        ptr = r_ptr if d == 0 else p_ptr
        sp = r_sp if d == 0 else p_sp
        order = r_ord if d == 0 else p_ord
        slot = fslot if d == 0 else rslot
        if ptr.shape[0] != m + 1:
            ok = False
            break
        for j in range(m):
            used = 0
            for a in range(ptr[j], ptr[j + 1]):
                o = order[a]
                i = sp[a]
                if not (o == 0.0 or o == 1.0 or o == 2.0 or o == 3.0) or i < 0 or i >= n:
                    ok = False
                    break
                if d == 1:
                    any_rev = True
                w = int(o)
                if used + w > N_SLOTS:
                    ok = False
                    break
                for _ in range(w):
                    slot[N_SLOTS * j + used] = i
                    used += 1
            if not ok:
                break
        if not ok:
            break
    if ok and s_ptr.shape[0] == m + 1:
        for a in range(s_ptr[m]):
            i = s_sp[a]
            if i < 0 or i >= n:
                ok = False
                break
            g_ptr[i + 1] += 1
    else:
        ok = False
    if not ok:
        return (False, any_rev, fslot, rslot, g_ptr, np.zeros(0, dtype=np.int64),
                np.zeros(0))
    for i in range(n):
        g_ptr[i + 1] += g_ptr[i]
    nnz = g_ptr[n]
    g_rx = np.empty(nnz, dtype=np.int64)
    g_nu = np.empty(nnz)
    fill = g_ptr[:n].copy()
    for j in range(m):  # reactions in increasing order within each species row
        for a in range(s_ptr[j], s_ptr[j + 1]):
            i = s_sp[a]
            g_rx[fill[i]] = j
            g_nu[fill[i]] = s_nu[a]
            fill[i] += 1
    return True, any_rev, fslot, rslot, g_ptr, g_rx, g_nu


@njit
def slot_rates(c, kf, kr, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e, q, wdot):
    """Production rates from the slot form; ``e`` is scratch of length n + 1,
    ``q`` receives the net rates of progress."""
    n = wdot.shape[0]
    for i in range(n):
        e[i] = c[i]
    e[n] = 1.0
    m = kf.shape[0]
    # rosenbrock's _stages_fast / _stages_inv and the BDF's Newton loop carry
    # hand-inlined copies of these loops: as a shared inline helper they measured
    # ~10 % (Rodas5P, HIRES) to 40 % (BDF, ROBER) slower per step;
    # tests/test_kernel_inlined_paths.py keeps the copies equal to rhs
    if any_rev:
        for j in range(m):
            b = N_SLOTS * j
            q[j] = (kf[j] * e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]
                    - kr[j] * e[rslot[b]] * e[rslot[b + 1]] * e[rslot[b + 2]])
    else:
        for j in range(m):
            b = N_SLOTS * j
            q[j] = kf[j] * e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]
    for i in range(n):
        acc = 0.0
        for a in range(g_ptr[i], g_ptr[i + 1]):
            acc += g_nu[a] * q[g_rx[a]]
        wdot[i] = acc


# slot_rates inlined into callers that evaluate it in their step or cell loop
# (kernels.network's right-hand side, once per cell; Rodas5P's accepted
# state): as a call with twelve array arguments it cost a quarter of the
# network rhs and about 10 % of a 6-species Rodas5P step
slot_rates_inline = njit(inline="always")(slot_rates.py_func)


@njit(inline="always")
def slot_jacobian(c, kf, kr, any_rev, fslot, rslot, s_ptr, s_sp, s_nu, e, jx):
    """d wdot / d c from the slot form into ``jx`` of shape (n, n + 1); column n
    is scratch (the derivatives with respect to the constant empty slot)."""
    n = jx.shape[0]
    for i in range(n):
        e[i] = c[i]
    e[n] = 1.0
    for i in range(n):
        for l in range(n + 1):
            jx[i, l] = 0.0
    m = kf.shape[0]
    for d in range(2 if any_rev else 1):
        slot = fslot if d == 0 else rslot
        for j in range(m):
            k = kf[j] if d == 0 else -kr[j]
            if k == 0.0:
                continue
            b = N_SLOTS * j
            a0 = slot[b]
            a1 = slot[b + 1]
            a2 = slot[b + 2]
            e0 = e[a0]
            e1 = e[a1]
            e2 = e[a2]
            d0 = k * e1 * e2
            d1 = k * e0 * e2
            d2 = k * e0 * e1
            for s in range(s_ptr[j], s_ptr[j + 1]):
                row = s_sp[s]
                nu = s_nu[s]
                jx[row, a0] += nu * d0
                jx[row, a1] += nu * d1
                jx[row, a2] += nu * d2
