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
from numba import njit

# Fractional orders below one have an infinite derivative at zero
# concentration; the Jacobian is evaluated at this floor instead.
JACOBIAN_FLOOR = 1.0e-12

IRREVERSIBLE = 0
REVERSE_ARRHENIUS = 1
EQUILIBRIUM_VANT_HOFF = 2


@njit(cache=True)
def rate_constants(T, rate_params, kf, kr):
    """Fill forward and reverse rate constants at temperature ``T`` (K)."""
    rev_kind, fwd, rev = rate_params
    lnT = np.log(T)
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True)
def _product(c, ptr, sp, order, j):
    out = 1.0
    for a in range(ptr[j], ptr[j + 1]):
        out *= _power(c[sp[a]], order[a])
    return out


@njit(cache=True)
def rates_of_progress(c, model, kf, kr, q):
    """Net rate of progress q_j = kf_j prod c^o - kr_j prod c^p (mol/m^3/s)."""
    r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord = model[0], model[1], model[2], model[3], model[4], model[5]
    for j in range(kf.shape[0]):
        qf = kf[j] * _product(c, r_ptr, r_sp, r_ord, j)
        if kr[j] != 0.0:
            qf -= kr[j] * _product(c, p_ptr, p_sp, p_ord, j)
        q[j] = qf


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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
