"""NASA-7 thermodynamics of ideal-gas species and mixtures on flat arrays.

``nasa`` is an ``(n, 15)`` array per species: ``T_mid``, the low-range
coefficients ``a0..a6`` (used for ``T <= T_mid``, as Cantera does) and the
high-range ``a0..a6``. With ``T`` in K::

    cp/R = a0 + a1 T + a2 T^2 + a3 T^3 + a4 T^4
    h/RT = a0 + a1 T/2 + a2 T^2/3 + a3 T^3/4 + a4 T^4/5 + a5/T
    s/R  = a0 ln T + a1 T + a2 T^2/2 + a3 T^3/3 + a4 T^4/4 + a6

at the reference pressure; the terms are summed in Cantera's order so the
values agree with Cantera's to round-off. Outside ``[T_min, T_max]`` the
polynomials are extrapolated (as Cantera does). Molar quantities are per mol
(SI), ``GAS_CONSTANT`` is the exact SI value Cantera uses.
"""

import numpy as np

from .jit import njit

#: J/(mol K): Avogadro's number times Boltzmann's constant (exact, SI 2019),
#: Cantera's ``gas_constant`` / 1000.
GAS_CONSTANT = 8.31446261815324

# Cantera caps 1/K_c at this value (BigNumber) before forming k_r = k_f / K_c
BIG_NUMBER = 1.0e300


@njit(inline="always")
def _species_row(nasa, k, T, T2, T3, T4, invT, lnT):
    """(cp/R, h/RT, s/R) of species ``k``."""
    off = 1 if T <= nasa[k, 0] else 8
    ct0 = nasa[k, off]
    ct1 = nasa[k, off + 1] * T
    ct2 = nasa[k, off + 2] * T2
    ct3 = nasa[k, off + 3] * T3
    ct4 = nasa[k, off + 4] * T4
    cp = ct0 + ct1 + ct2 + ct3 + ct4
    h = (ct0 + 0.5 * ct1 + (1.0 / 3.0) * ct2 + 0.25 * ct3 + 0.2 * ct4
         + nasa[k, off + 5] * invT)
    s = (ct0 * lnT + ct1 + 0.5 * ct2 + (1.0 / 3.0) * ct3 + 0.25 * ct4
         + nasa[k, off + 6])
    return cp, h, s


@njit
def species_thermo(T, nasa, cp_R, h_RT, s_R):
    """Fill dimensionless cp/R, h/(RT) and s/R (reference pressure) of every species."""
    T2 = T * T
    T3 = T2 * T
    T4 = T3 * T
    invT = 1.0 / T
    lnT = np.log(T)
    for k in range(nasa.shape[0]):
        cp, h, s = _species_row(nasa, k, T, T2, T3, T4, invT, lnT)
        cp_R[k] = cp
        h_RT[k] = h
        s_R[k] = s


@njit
def species_gibbs_RT(h_RT, s_R, g_RT):
    """Standard-state Gibbs energy g/(RT) = h/(RT) - s/R at the reference pressure."""
    for k in range(h_RT.shape[0]):
        g_RT[k] = h_RT[k] - s_R[k]


@njit
def log_equilibrium_constants(T, P_ref, h_RT, s_R, s_ptr, s_sp, s_nu, dn, ln_Kc):
    """ln K_c of every reaction (concentration units mol/m^3).

    ln K_c = -sum_i nu_ij g_i/(RT) + dn_j ln(P_ref / (R T)), with ``dn`` the
    change in mole number of the reaction's stoichiometric coefficients and
    ``h_RT``, ``s_R`` from :func:`species_thermo` at ``T``.
    """
    ln_c0 = np.log(P_ref / (GAS_CONSTANT * T))
    for j in range(ln_Kc.shape[0]):
        dg = 0.0
        for a in range(s_ptr[j], s_ptr[j + 1]):
            i = s_sp[a]
            dg += s_nu[a] * (h_RT[i] - s_R[i])
        ln_Kc[j] = -dg + dn[j] * ln_c0


@njit
def log_equilibrium_constants_dT(T, h_RT, s_ptr, s_sp, s_nu, dn, dlnKc_dT):
    """d ln K_c / dT = dH_j / (R T^2) - dn_j / T (van 't Hoff, with the h of
    the species at ``T``, so exact at every temperature)."""
    invT = 1.0 / T
    for j in range(dlnKc_dT.shape[0]):
        dh = 0.0
        for a in range(s_ptr[j], s_ptr[j + 1]):
            dh += s_nu[a] * h_RT[s_sp[a]]
        dlnKc_dT[j] = (dh - dn[j]) * invT


@njit
def reaction_enthalpies(T, h_RT, s_ptr, s_sp, s_nu, dH):
    """Reaction enthalpies dH_j = sum_i nu_ij h_i (J/mol) from h/(RT) at ``T``."""
    RT = GAS_CONSTANT * T
    for j in range(dH.shape[0]):
        acc = 0.0
        for a in range(s_ptr[j], s_ptr[j + 1]):
            acc += s_nu[a] * h_RT[s_sp[a]]
        dH[j] = acc * RT


@njit
def mixture_properties(T, X, nasa, molar_masses, cp_R, h_RT, s_R, out):
    """Ideal-gas mixture properties at ``T`` and mole fractions ``X``.

    Fills the species work arrays (``cp_R``, ``h_RT``, ``s_R``) and
    ``out = (cp J/(mol K), h J/mol, mean molar mass kg/mol, cp J/(kg K), h J/kg)``.
    """
    species_thermo(T, nasa, cp_R, h_RT, s_R)
    cp = 0.0
    h = 0.0
    mw = 0.0
    for k in range(X.shape[0]):
        cp += X[k] * cp_R[k]
        h += X[k] * h_RT[k]
        mw += X[k] * molar_masses[k]
    cp *= GAS_CONSTANT
    h *= GAS_CONSTANT * T
    out[0] = cp
    out[1] = h
    out[2] = mw
    out[3] = cp / mw
    out[4] = h / mw
