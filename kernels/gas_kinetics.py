"""Gas-phase kinetics as Cantera evaluates it, on flat arrays: rate constants
of elementary, three-body, falloff (Lindemann, Troe), chemically activated
and PLOG reactions, reverse rates from NASA-7 thermodynamics, rates of
progress, net production rates and their analytic Jacobian.

Data layout (built by ``flowchem.chemistry.gas_mechanism.GasKinetics``)
------------------------------------------------------------------------
A mechanism of ``n`` species and ``m`` reactions is the tuple ``gm`` of 26
C-contiguous arrays (int64 indices, float64 values), so one compilation
serves every mechanism::

     0  r_ptr, r_sp, r_ord        forward orders, CSR over reactions (explicit
                                  orders included; zero orders left out)
     3  p_ptr, p_sp, p_ord        reverse orders (product coefficients), CSR;
                                  empty rows for irreversible reactions
     6  s_ptr, s_sp, s_nu         net stoichiometry (products - reactants), CSR
     9  kind        int64[m]      ELEMENTARY, THREE_BODY, FALLOFF,
                                  CHEMICALLY_ACTIVATED, PLOG
    10  reversible  int64[m]      1 if k_r = k_f / K_c, else 0
    11  dn          float[m]      sum of product minus reactant coefficients
    12  high        float[m, 4]   (ln|A|, b, Ea/R, sign A): the rate of an
                                  elementary or three-body reaction, k_inf of
                                  a falloff or chemically activated one
    13  low         float[m, 4]   k_0 of a falloff or chemically activated one
    14  troe        float[m, 4]   Troe (a, T3, T1, T2); T2 = 0: no T2 term
    15  fform       int64[m]      LINDEMANN (F = 1) or TROE
    16  eff_ptr, eff_sp, eff_val  CSR of (species, efficiency - default) of
                                  the non-default collision efficiencies
    19  eff_default float[m]      default efficiency (0 for an explicit collider)
    20  plog_ptr    int64[m+1]    PLOG levels of reaction j: plog_ptr[j]:plog_ptr[j+1]
    21  plog_lnP    float[L]      ln P (Pa) of each level, increasing
    22  plog_rptr   int64[L+1]    Arrhenius terms of level l: plog_rptr[l]:plog_rptr[l+1]
    23  plog_rates  float[R, 4]   (ln|A|, b, Ea/R, sign A), summed at one pressure
    24  nasa        float[n, 15]  NASA-7 data (see :mod:`kernels.thermo`)
    25  p_ref       float[1]      reference pressure of the thermodynamic data (Pa)

derived from the above by ``flowchem.chemistry.gas_mechanism.fast_path_arrays``
(branch-free forms of the same data for the right-hand side; ``n`` pads a
slot and points at a concentration of 1; a first slot of -1 sends the
reaction to the general path)::

    26  fslot       int64[m, 3]   forward orders as repeated species (whole
                                  orders 1-3, at most 3 in all)
    27  rslot       int64[m, 3]   reverse orders likewise (reversible reactions)
    28  kslot       int64[m, 6]   net stoichiometry likewise: 3 product slots,
                                  then 3 reactant slots (for K_c)
    29  sp_ptr, sp_rx, sp_nu      net stoichiometry as CSR over species
                                  (reactions in increasing order)
    32  arrhenius_rows int64[]    elementary and three-body reactions with
                                  b or Ea non-zero (k_f recomputed with T)
    33  falloff_rows   int64[]    falloff and chemically activated reactions

Work arrays: ``work = (ws, wsn, tp)`` from :func:`gas_workspace`: ``ws`` of
shape ``(NW_M, m)`` (rows ``KF``, ``KR``, ``QF``, ``QR``, ``Q``, ``MC``, ...)
and ``wsn`` of shape ``(NW_N, n + 1)`` (rows ``CP_R``, ``H_RT``, ``S_R``,
``JM``, ``G_RT``, ``EXP_G`` = exp(g/RT), ``EXP_MG`` = exp(-g/RT) and ``CE``,
the concentrations; column n is the pad of the slot forms); after
:func:`gas_production_rates` they hold the rate constants, rates of
progress, third-body concentrations and species thermodynamics at the state
evaluated. ``tp`` caches the (T, P) of the temperature-dependent part
(NaN: nothing computed yet; the T-independent rate constants, b = 0 and
Ea = 0, are set only then).

Conventions (those of Cantera >= 3 with ``use_legacy_rate_constants`` off):
``KF`` of a three-body reaction excludes [M], which multiplies its forward
and reverse rates of progress; ``KF`` of a falloff reaction includes its
pressure dependence through Pr = k_0 [M] / k_inf. [M] = default * sum(c) +
sum_i (eff_i - default) c_i. PLOG interpolates ln k linearly in ln P between
the bracketing pressures and holds the end values outside the table. All SI:
mol/m^3, s, K, Pa. Derivatives: d/dc at fixed T and P, d/dT at fixed c and P
(a PLOG rate depends on P only, so it is a constant in d/dc). Nothing here
raises: non-finite input gives non-finite output for the caller to test.
"""

import numpy as np

from .jit import njit
from .thermo import (BIG_NUMBER, GAS_CONSTANT, log_equilibrium_constants_dT,
                     species_thermo)

ELEMENTARY, THREE_BODY, FALLOFF, CHEMICALLY_ACTIVATED, PLOG = 0, 1, 2, 3, 4
LINDEMANN, TROE = 0, 1

# rows of the per-reaction work array
(KF, KR, QF, QR, Q, MC, DKF_DM, DLNKF_DT, LNKC, DLNKC_DT, RKCN,
 KHIGH, DHIGH, KLOW, DLOW, LGFC, DLNFC_DT, MFAC, VX, VE, VT) = range(21)
NW_M = 21    # MFAC: the factor of both rates of progress ([M] or 1); VX, VE,
#              VT: arguments, values and scratch of the batched exponentials
# rows of the per-species work array
CP_R, H_RT, S_R, JM, G_RT, EXP_G, EXP_MG, CE, VTN = range(9)   # JM: Jacobian scratch
NW_N = 9
# 1/K_c as a product of per-species exp(g/RT) (53 exponentials for GRI-Mech's
# 309 reversible reactions instead of one each) while no product of six such
# factors can overflow: max |g/RT| below this; else the exponential of the sum
_PRODUCT_KC_G_MAX = 115.0

SMALL_NUMBER = 1.0e-300   # Cantera's SmallNumber: floors in Pr, F_cent, PLOG sums
_LN10 = np.log(10.0)
_LOG10_E = 1.0 / _LN10
_LOG10_SMALL = np.log10(SMALL_NUMBER)


@njit
def gas_workspace(n, m):
    """Work arrays ``work = (ws, wsn, tp)`` for ``n`` species and ``m`` reactions.

    ``ws`` (NW_M, m) and ``wsn`` (NW_N, n) receive the per-reaction and
    per-species quantities; ``tp`` holds the (T, P) at which the
    temperature-dependent part of ``ws`` was last computed, so that calls at
    an unchanged T and P (an isothermal reactor, a Jacobian after its
    right-hand side) skip it. Call :func:`invalidate` after changing the
    arrays of the mechanism in place.
    """
    tp = np.empty(2)
    tp[:] = np.nan
    wsn = np.zeros((NW_N, n + 1))
    wsn[EXP_G, n] = 1.0
    wsn[EXP_MG, n] = 1.0
    wsn[CE, n] = 1.0
    return np.zeros((NW_M, m)), wsn, tp


@njit
def invalidate(work):
    """Forget the cached temperature-dependent rate constants of ``work``."""
    work[2][0] = np.nan
    work[2][1] = np.nan


@njit(inline="always")
def _arrhenius(row, lnT, invT):
    """(k, d ln k / dT) of an (ln|A|, b, Ea/R, sign) row."""
    k = row[3] * np.exp(row[0] + row[1] * lnT - row[2] * invT)
    return k, (row[1] + row[2] * invT) * invT


@njit(inline="always")
def _troe_center(T, troe):
    """(log10 F_cent floored at 1e-300 as Cantera does, d ln F_cent / dT)."""
    a = troe[0]
    fcent = 0.0
    dfcent = 0.0
    if abs(troe[1]) >= SMALL_NUMBER:
        rt3 = 1.0 / troe[1]
        e3 = np.exp(-T * rt3)
        fcent += (1.0 - a) * e3
        dfcent -= (1.0 - a) * rt3 * e3
    if abs(troe[2]) >= SMALL_NUMBER:
        rt1 = 1.0 / troe[2]
        e1 = np.exp(-T * rt1)
        fcent += a * e1
        dfcent -= a * rt1 * e1
    if troe[3] != 0.0:
        e2 = np.exp(-troe[3] / T)
        fcent += e2
        dfcent += troe[3] / (T * T) * e2
    if fcent > SMALL_NUMBER:
        return np.log10(fcent), dfcent / fcent
    return np.log10(SMALL_NUMBER), 0.0


@njit(inline="always")
def _troe(pr, lgfc):
    """Troe broadening at Pr: (F, d ln F / d ln Pr, d lg F / d lg F_cent)."""
    if pr > SMALL_NUMBER:
        lpr = np.log(pr) * _LOG10_E
        pr_free = 1.0
    else:
        lpr = _LOG10_SMALL
        pr_free = 0.0
    cc = -0.4 - 0.67 * lgfc
    nn = 0.75 - 1.27 * lgfc
    u = lpr + cc
    d = nn - 0.14 * u
    f1 = u / d
    w = 1.0 + f1 * f1
    lgf = lgfc / w
    F = np.exp(lgf * _LN10)      # exp and log: a third of the cost of pow and log10
    dlgf_df1 = -2.0 * lgfc * f1 / (w * w)
    g = pr_free * dlgf_df1 * nn / (d * d)                    # d lg F / d lg Pr
    # d f1 / d lg F_cent at fixed Pr: du = -0.67, dd = -1.27 + 0.14 * 0.67
    df1 = (-0.67 * d - u * (-1.27 + 0.14 * 0.67)) / (d * d)
    return F, g, 1.0 / w + dlgf_df1 * df1


@njit(inline="always")
def _power(c, order):
    """c**order as Cantera forms it: products for orders 1, 2, 3 (defined for
    negative c), else pow for c > 0 and 0 otherwise."""
    if order == 1.0:
        return c
    if order == 2.0:
        return c * c
    if order == 3.0:
        return c * c * c
    if c > 0.0:
        return c ** order
    return 0.0


@njit(inline="always")
def _power_derivative(c, order):
    """d(c**order)/dc consistent with :func:`_power`."""
    if order == 1.0:
        return 1.0
    if order == 2.0:
        return 2.0 * c
    if order == 3.0:
        return 3.0 * c * c
    if c > 0.0:
        return order * c ** (order - 1.0)
    return 0.0


@njit(inline="always")
def _product(c, ptr, sp, order, j):
    out = 1.0
    for a in range(ptr[j], ptr[j + 1]):
        out *= _power(c[sp[a]], order[a])
    return out


@njit(inline="always")
def _plog_level(plog_rptr, plog_rates, lev, lnT, invT):
    """(ln k, d ln k / dT) at one PLOG pressure: its Arrhenius terms summed
    (plus Cantera's 1e-300 that keeps the logarithm finite)."""
    ksum = SMALL_NUMBER
    dsum = 0.0
    for a in range(plog_rptr[lev], plog_rptr[lev + 1]):
        ka, da = _arrhenius(plog_rates[a], lnT, invT)
        ksum += ka
        dsum += ka * da
    return np.log(ksum), dsum / ksum


@njit(inline="always")
def third_body_concentrations(c, gm, mc):
    """[M] of every reaction with a third body (0 for the others)."""
    kind = gm[9]
    eff_ptr, eff_sp, eff_val, eff_default = gm[16], gm[17], gm[18], gm[19]
    ctot = 0.0
    for i in range(c.shape[0]):
        ctot += c[i]
    for j in range(kind.shape[0]):
        k = kind[j]
        if k == THREE_BODY or k == FALLOFF or k == CHEMICALLY_ACTIVATED:
            s = 0.0
            for a in range(eff_ptr[j], eff_ptr[j + 1]):
                s += eff_val[a] * c[eff_sp[a]]
            mc[j] = eff_default[j] * ctot + s
        else:
            mc[j] = 0.0


# exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 (Cody and Waite's
# two-part ln 2), exp(r) by its Taylor series to r^13 (|r| <= 0.347: truncation
# 4e-18); 2^k built in the exponent bits. Written as three plain loops that
# LLVM vectorises (libm's exp is scalar: ~5 ns against ~1.5 ns here); within
# 1 ulp of libm's (tests/test_gas_kinetics.py).
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_ROUND_MAGIC = 6755399441055744.0               # 1.5 * 2^52: adding it rounds to an integer
_EXP_BIAS = 1023 - 0x4338000000000000            # bits of (k + magic) -> exponent field of 2^k
_EXP_ARG_MIN, _EXP_ARG_MAX = -708.0, 709.0      # normal results; libm's exp outside


@njit
def batched_exp(x, out, scratch, count):
    """``out[:count] = exp(x[:count])`` (``scratch``: a float64 work array of
    at least ``count``); NaN, infinite and out-of-range arguments by libm."""
    for j in range(count):
        xj = min(max(x[j], _EXP_ARG_MIN), _EXP_ARG_MAX)
        t = xj * _LOG2E + _ROUND_MAGIC
        k = t - _ROUND_MAGIC
        r = (xj - k * _LN2_HI) - k * _LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        out[j] = p * r + 1.0
        scratch[j] = t
    bits = scratch.view(np.int64)
    for j in range(count):
        bits[j] = (bits[j] + _EXP_BIAS) << 52
    for j in range(count):
        out[j] *= scratch[j]
    for j in range(count):
        xj = x[j]
        if not (xj >= _EXP_ARG_MIN and xj <= _EXP_ARG_MAX):
            out[j] = np.exp(xj)


@njit
def _temperature_part(T, P, gm, ws, wsn, fresh):
    """Everything that depends on T and P only: species thermodynamics, K_c,
    k_f of elementary, three-body and PLOG reactions, the limits and F_cent
    of falloff reactions. ``fresh``: nothing is cached yet, so the
    T-independent rate constants (b = 0, Ea = 0: 95 of GRI-Mech's 325) are
    set too; otherwise they are kept.

    Called, not inlined: inlined into every gas right-hand side (the BDF's
    Newton loop among them) it made the first gas solve compile in 250 s
    instead of 150 s; the call costs h2o2 ignition 3-9 % and GRI-Mech nothing
    measurable."""
    s_ptr, s_sp, s_nu = gm[6], gm[7], gm[8]
    kind, rev, dn = gm[9], gm[10], gm[11]
    high, low, troe, fform = gm[12], gm[13], gm[14], gm[15]
    plog_ptr, plog_lnP, plog_rptr, plog_rates = gm[20], gm[21], gm[22], gm[23]
    nasa, p_ref = gm[24], gm[25][0]
    kslot = gm[28]
    n = nasa.shape[0]
    species_thermo(T, nasa, wsn[CP_R], wsn[H_RT], wsn[S_R])
    g_max = 0.0
    for i in range(n):
        g = wsn[H_RT, i] - wsn[S_R, i]
        wsn[G_RT, i] = g
        g_max = max(g_max, abs(g))
    # ln K_c = -sum_i nu_ij g_i/RT + dn_j ln c0 and 1/K_c, on the slot form of
    # the stoichiometry where it has one; products of exp(+-g/RT) while they
    # cannot overflow (g_max is NaN for a NaN T: the general path then)
    products = g_max < _PRODUCT_KC_G_MAX
    if products:
        batched_exp(wsn[G_RT], wsn[EXP_G], wsn[VTN], n)
        for i in range(n):
            wsn[EXP_MG, i] = 1.0 / wsn[EXP_G, i]
    ln_c0 = np.log(p_ref / (GAS_CONSTANT * T))
    c0 = np.exp(ln_c0)
    inv_c0 = 1.0 / c0
    g_rt, eg, emg = wsn[G_RT], wsn[EXP_G], wsn[EXP_MG]
    for j in range(kind.shape[0]):
        p0 = kslot[j, 0]
        if p0 >= 0:
            p1, p2 = kslot[j, 1], kslot[j, 2]
            r0, r1, r2 = kslot[j, 3], kslot[j, 4], kslot[j, 5]
            ws[LNKC, j] = (-((g_rt[p0] + g_rt[p1] + g_rt[p2]) - (g_rt[r0] + g_rt[r1] + g_rt[r2]))
                           + dn[j] * ln_c0)
            if rev[j] != 0:
                d = dn[j]
                if products and (d == 0.0 or d == 1.0 or d == -1.0):
                    rkcn = eg[p0] * eg[p1] * eg[p2] * (emg[r0] * emg[r1] * emg[r2])
                    if d == 1.0:
                        rkcn *= inv_c0
                    elif d == -1.0:
                        rkcn *= c0
                else:
                    rkcn = np.exp(-ws[LNKC, j])
                ws[RKCN, j] = rkcn if rkcn < BIG_NUMBER else BIG_NUMBER
            else:
                ws[RKCN, j] = 0.0
        else:
            dg = 0.0
            for a in range(s_ptr[j], s_ptr[j + 1]):
                dg += s_nu[a] * g_rt[s_sp[a]]
            ws[LNKC, j] = -dg + dn[j] * ln_c0
            if rev[j] != 0:
                rkcn = np.exp(-ws[LNKC, j])
                ws[RKCN, j] = rkcn if rkcn < BIG_NUMBER else BIG_NUMBER
            else:
                ws[RKCN, j] = 0.0
    lnT = np.log(T)
    invT = 1.0 / T
    lnP = np.log(P)
    # Arrhenius terms, their exponentials batched: k_f of the T-dependent
    # elementary and three-body reactions, then k_inf and k_0 of falloff ones
    arrhenius_rows, falloff_rows = gm[32], gm[33]
    vx, ve, vt = ws[VX], ws[VE], ws[VT]
    count = arrhenius_rows.shape[0]
    for a in range(count):
        j = arrhenius_rows[a]
        vx[a] = high[j, 0] + high[j, 1] * lnT - high[j, 2] * invT
    batched_exp(vx, ve, vt, count)
    for a in range(count):
        j = arrhenius_rows[a]
        ws[KF, j] = high[j, 3] * ve[a]
        ws[DLNKF_DT, j] = (high[j, 1] + high[j, 2] * invT) * invT
        ws[DKF_DM, j] = 0.0
    for lim in range(2):
        rows = high if lim == 0 else low
        count = falloff_rows.shape[0]
        for a in range(count):
            j = falloff_rows[a]
            vx[a] = rows[j, 0] + rows[j, 1] * lnT - rows[j, 2] * invT
        batched_exp(vx, ve, vt, count)
        kr_, dr_ = (KHIGH, DHIGH) if lim == 0 else (KLOW, DLOW)
        for a in range(count):
            j = falloff_rows[a]
            ws[kr_, j] = rows[j, 3] * ve[a]
            ws[dr_, j] = (rows[j, 1] + rows[j, 2] * invT) * invT
    for j in range(kind.shape[0]):
        k = kind[j]
        if k == ELEMENTARY or k == THREE_BODY:
            if fresh and high[j, 1] == 0.0 and high[j, 2] == 0.0:
                kf, dlnk = _arrhenius(high[j], lnT, invT)
                ws[KF, j] = kf
                ws[DLNKF_DT, j] = dlnk
                ws[DKF_DM, j] = 0.0
        elif k == FALLOFF or k == CHEMICALLY_ACTIVATED:
            if fform[j] == TROE:
                lgfc, dlnfc = _troe_center(T, troe[j])
                ws[LGFC, j] = lgfc
                ws[DLNFC_DT, j] = dlnfc
        else:  # PLOG: bracket ln P (end levels held outside the table, as Cantera)
            l0 = plog_ptr[j]
            l1 = plog_ptr[j + 1]
            lo = l0
            while lo + 1 < l1 and plog_lnP[lo + 1] <= lnP:
                lo += 1
            hi = lo
            if lo + 1 < l1 and lnP >= plog_lnP[l0]:
                hi = lo + 1
            logk0, dlogk0 = _plog_level(plog_rptr, plog_rates, lo, lnT, invT)
            if hi == lo:
                kf = np.exp(logk0)
                dlnk = dlogk0
            else:
                logk1, dlogk1 = _plog_level(plog_rptr, plog_rates, hi, lnT, invT)
                w = (lnP - plog_lnP[lo]) * (1.0 / (plog_lnP[hi] - plog_lnP[lo]))
                kf = np.exp(logk0 + (logk1 - logk0) * w)
                dlnk = dlogk0 + (dlogk1 - dlogk0) * w
            ws[KF, j] = kf
            ws[DLNKF_DT, j] = dlnk
            ws[DKF_DM, j] = 0.0


@njit(inline="always")
def gas_rate_constants(T, P, c, gm, work):
    """Forward and reverse rate constants at ``T`` (K), ``P`` (Pa) and ``c`` (mol/m^3).

    Fills the rows KF, KR, MC, DKF_DM (d k_f / d[M] at fixed T), DLNKF_DT
    (d ln k_f / dT at fixed [M] and P), LNKC, RKCN (1/K_c, capped
    at 1e300 as Cantera does; 0 if irreversible) of ``ws = work[0]`` and the
    species thermodynamics rows of ``wsn = work[1]``. The temperature part is
    recomputed only when T or P differ from the last call (``work[2]``).
    """
    ws, wsn, tp = work
    kind, fform = gm[9], gm[15]
    if T != tp[0] or P != tp[1]:
        _temperature_part(T, P, gm, ws, wsn, np.isnan(tp[0]))
        tp[0] = T
        tp[1] = P
    third_body_concentrations(c, gm, ws[MC])
    for j in range(kind.shape[0]):
        k = kind[j]
        ws[MFAC, j] = ws[MC, j] if k == THREE_BODY else 1.0
        if k == FALLOFF or k == CHEMICALLY_ACTIVATED:
            klow = ws[KLOW, j]
            khigh = ws[KHIGH, j]
            dlow = ws[DLOW, j]
            dhigh = ws[DHIGH, j]
            ratio = klow / (khigh + SMALL_NUMBER)
            pr = ws[MC, j] * ratio
            if fform[j] == TROE:
                F, g, dlgf_dlgfc = _troe(pr, ws[LGFC, j])
                dlnF_dT = dlgf_dlgfc * ws[DLNFC_DT, j]
            else:
                F, g, dlnF_dT = 1.0, 0.0, 0.0
            opr = 1.0 + pr
            if k == FALLOFF:
                kf = pr * (F / opr) * khigh
                dkdpr = khigh * F * (g / opr + 1.0 / (opr * opr))
                dlnk = dhigh + (dlow - dhigh) * (1.0 / opr + g) + dlnF_dT
            else:
                kf = (F / opr) * klow
                if pr > SMALL_NUMBER:
                    dkdpr = klow * F * (g / pr - 1.0 / opr) / opr
                else:
                    dkdpr = -klow * F / (opr * opr)
                dlnk = dlow + (dlow - dhigh) * (g - pr / opr) + dlnF_dT
            ws[KF, j] = kf
            ws[DKF_DM, j] = dkdpr * ratio
            ws[DLNKF_DT, j] = dlnk
        ws[KR, j] = ws[KF, j] * ws[RKCN, j]


@njit(inline="always")
def gas_production_rates(T, P, c, gm, work, wdot):
    """Net molar production rates ``wdot`` (mol/m^3/s) at ``T``, ``P``, ``c``.

    Also fills ``work[0]`` (rate constants, forward/reverse/net rates of
    progress in rows QF, QR, Q) and ``work[1]`` (species thermodynamics).
    """
    ws, wsn = work[0], work[1]
    r_ptr, r_sp, r_ord = gm[0], gm[1], gm[2]
    p_ptr, p_sp, p_ord = gm[3], gm[4], gm[5]
    kind = gm[9]
    fslot, rslot, sp_ptr, sp_rx, sp_nu = gm[26], gm[27], gm[29], gm[30], gm[31]
    gas_rate_constants(T, P, c, gm, work)
    ce = wsn[CE]                 # c with ce[n] = 1, the pad of the slots
    for i in range(c.shape[0]):
        ce[i] = c[i]
    kf, kr, mf, qfs, qrs, qs = ws[KF], ws[KR], ws[MFAC], ws[QF], ws[QR], ws[Q]
    for j in range(kind.shape[0]):
        if (fslot[j, 0] | rslot[j, 0]) >= 0:
            # branch-free: an irreversible reaction's reverse slots are pads
            # (product 1) and its k_r is 0
            qf = kf[j] * mf[j] * (ce[fslot[j, 0]] * ce[fslot[j, 1]] * ce[fslot[j, 2]])
            qr = kr[j] * mf[j] * (ce[rslot[j, 0]] * ce[rslot[j, 1]] * ce[rslot[j, 2]])
        else:
            qf = kf[j] * mf[j] * _product(c, r_ptr, r_sp, r_ord, j)
            qr = 0.0
            if kr[j] != 0.0:
                qr = kr[j] * mf[j] * _product(c, p_ptr, p_sp, p_ord, j)
        qfs[j] = qf
        qrs[j] = qr
        qs[j] = qf - qr
    q = ws[Q]
    for i in range(wdot.shape[0]):
        acc = 0.0
        for a in range(sp_ptr[i], sp_ptr[i + 1]):
            acc += sp_nu[a] * q[sp_rx[a]]
        wdot[i] = acc


@njit(inline="always")
def _add_concentration_derivative(c, coef, ptr, sp, order, j, s_ptr, s_sp, s_nu, J):
    """J[i, l] += nu_ij * coef * d(prod c^o)/dc_l over the factors l of row j."""
    start = ptr[j]
    stop = ptr[j + 1]
    for a in range(start, stop):
        d = coef * _power_derivative(c[sp[a]], order[a])
        if d == 0.0:
            continue
        for b in range(start, stop):
            if b != a:
                d *= _power(c[sp[b]], order[b])
        col = sp[a]
        for s in range(s_ptr[j], s_ptr[j + 1]):
            J[s_sp[s], col] += s_nu[s] * d


@njit
def gas_jacobian(T, P, c, gm, work, wdot, J, dwdT):
    """Analytic ``J = d wdot / d c`` (fixed T, P) and ``dwdT = d wdot / dT``
    (fixed c, P), with ``wdot`` and the work arrays filled as by
    :func:`gas_production_rates` (which this calls) and the row DLNKC_DT.

    The third-body concentration enters through d[M]/dc_l = eff_l for
    three-body rates ([M] multiplies the rate) and falloff rates (through
    Pr); d ln k_r / dT = d ln k_f / dT - d ln K_c / dT with K_c from the
    species' NASA-7 h at T.
    """
    r_ptr, r_sp, r_ord = gm[0], gm[1], gm[2]
    p_ptr, p_sp, p_ord = gm[3], gm[4], gm[5]
    s_ptr, s_sp, s_nu = gm[6], gm[7], gm[8]
    kind = gm[9]
    eff_ptr, eff_sp, eff_val, eff_default = gm[16], gm[17], gm[18], gm[19]
    n = c.shape[0]
    ws = work[0]
    # sum_j nu_ij dq_j/d[M] default_j: the part of d wdot_i / dc_l that is
    # the same in every column l, added once at the end
    row_m = work[1][JM]
    gas_production_rates(T, P, c, gm, work, wdot)
    # d ln K_c / dT only here, not in every right-hand side (1.7 of gri30's
    # 20 us); the species' h at T are current after the call above
    log_equilibrium_constants_dT(T, work[1][H_RT], s_ptr, s_sp, s_nu, gm[11], ws[DLNKC_DT])
    for i in range(n):
        dwdT[i] = 0.0
        row_m[i] = 0.0
        for l in range(n):
            J[i, l] = 0.0
    for j in range(kind.shape[0]):
        k = kind[j]
        kf = ws[KF, j]
        kr = ws[KR, j]
        mfac = ws[MC, j] if k == THREE_BODY else 1.0
        if kf != 0.0:
            _add_concentration_derivative(c, kf * mfac, r_ptr, r_sp, r_ord, j, s_ptr, s_sp, s_nu, J)
        if kr != 0.0:
            _add_concentration_derivative(c, -kr * mfac, p_ptr, p_sp, p_ord, j, s_ptr, s_sp, s_nu, J)
        # through [M]
        dqdm = 0.0
        if k == THREE_BODY:
            pf = kf * _product(c, r_ptr, r_sp, r_ord, j)
            pr = kr * _product(c, p_ptr, p_sp, p_ord, j) if kr != 0.0 else 0.0
            dqdm = pf - pr
        elif k == FALLOFF or k == CHEMICALLY_ACTIVATED:
            pf = _product(c, r_ptr, r_sp, r_ord, j)
            pr = ws[RKCN, j] * _product(c, p_ptr, p_sp, p_ord, j) if kr != 0.0 else 0.0
            dqdm = ws[DKF_DM, j] * (pf - pr)
        if dqdm != 0.0:
            base = dqdm * eff_default[j]
            for s in range(s_ptr[j], s_ptr[j + 1]):
                row = s_sp[s]
                nu = s_nu[s]
                row_m[row] += nu * base
                for a in range(eff_ptr[j], eff_ptr[j + 1]):
                    J[row, eff_sp[a]] += nu * dqdm * eff_val[a]
        # temperature
        dlnkf = ws[DLNKF_DT, j]
        dqdt = ws[QF, j] * dlnkf - ws[QR, j] * (dlnkf - ws[DLNKC_DT, j])
        if dqdt != 0.0:
            for s in range(s_ptr[j], s_ptr[j + 1]):
                dwdT[s_sp[s]] += s_nu[s] * dqdt
    for i in range(n):
        r = row_m[i]
        if r != 0.0:
            for l in range(n):
                J[i, l] += r
