"""Ideal-gas reactors with the energy equation on the gas kinetics of
:mod:`kernels.gas_kinetics`: constant-pressure and constant-volume adiabatic
batch, and the steady plug-flow reactor in distance.

State
-----
``y = [phi_0 .. phi_{n-1}, T]`` with ``phi_k = Y_k / W_k`` the moles of
species k per kilogram of mixture (mol/kg) and T in K; the plug-flow reactor
appends the residence time, ``y = [phi, T, tau]``. Mass is conserved in all
three reactors, so moles per mass change by reaction only (no dilution or
expansion term as concentrations would have at constant pressure), the
elements are linear invariants of the state (``sum_k a_ek phi_k`` stays
constant up to round-off), and the constant-pressure batch in time and the
plug flow in distance share one right-hand side up to a scale::

    batch, constant P or V:  dphi_k/dt = wdot_k(c, T) / rho
    plug flow in z:          dphi_k/dz = wdot_k(c, T) / G     (G = mdot / A)

with ``c_k = rho phi_k``; ``rho = P / (R T sum phi)`` at constant pressure,
a constant at constant volume. Energy (``e_k`` the molar enthalpy at constant
pressure, the molar internal energy at constant volume, ``cp_k``/``cv_k``
likewise)::

    dT/dt = -sum_k e_k dphi_k/dt / sum_k phi_k c_k
    dT/dz = (-sum_k h_k wdot_k + Uw (T_c - T)) / (G sum_k phi_k cp_k),  Uw = U 4/d
    dtau/dz = rho / G

Plug flow with pressure drop (``GAS_PFR_FRICTION``) appends the pressure
over the inlet pressure, ``y = [phi, T, tau, P / P_in]`` (order one, like
the other states: in pascals its Jacobian entries dwarf the species' and
LU pivoting on them spreads round-off into species held at 1e-20); rho and
c follow the local P, and P follows the
steady momentum balance with Darcy-Weisbach wall friction and the
acceleration of the gas (as in Cantera's FlowReactor, plus friction)::

    G du/dz + dP/dz = -f_D rho u^2 / (2 d),      u = G / rho, rho = P / (R T sum phi)

which, with d(ln rho)/dz = P'/P - T'/T - S'/S (S = sum phi), reads::

    dP/dz = -B (F + T'/T + S'/S) / (1 - B/P),   B = G^2 / rho,  F = f_D / (2 d)

B/P = u^2 rho / P is the squared isothermal Mach number: dP/dz falls without
bound as it approaches 1 (choking), and the right-hand side returns NaN at or
beyond it or at P <= 0, so the integrator stops there with a status. f_D is
a constant parameter (``params[FRICTION]`` = f_D / (2 d)): with a constant
viscosity Re = G d / mu does not change along a tube of constant section.
The energy equation keeps its form (ideal-gas h does not depend on P; the
kinetic energy u^2/2 is left out, as in Cantera's FlowReactor).

System tuple
------------
The integrators of :mod:`kernels.rosenbrock` and :mod:`kernels.bdf` read
positions 0-5 of every system as the liquid layout of
:mod:`kernels.problems`; a gas system fills them with empty placeholders of
the same types (for which :func:`kernels.kinetics.slot_plan` reports "no slot
form", so the drivers call :func:`kernels.problems.rhs` and
:func:`kernels.problems.jacobian`) and carries the gas data after them::

    system = (model0, rate_params0, kf0, kr0, params, scratch, gm, gwork, jscratch)

``params = [P (Pa) or rho (kg/m^3) at constant volume, G (kg/m^2/s), energy
(1.0 solves the energy equation, 0.0 holds T), Uw (W/m^3/K), T_c (K)]``
(``GAS_PFR_FRICTION``: P is P_in, and F = f_D / (2 d), 1/m, is appended);
``scratch`` float[6 n], ``jscratch`` float[n, n]; ``gm`` and ``gwork`` as in
:mod:`kernels.gas_kinetics`. Being nine entries long, this tuple is a Numba
type of its own: :mod:`kernels.problems` dispatches on it at compile time, so
one gas specialisation of each driver serves every gas mechanism.

The Jacobian is analytic (d/dc and d/dT of :func:`gas_jacobian` through the
density and energy terms). At constant volume the pressure follows T and c;
only PLOG rates depend on P directly and that dependence is left out of the
constant-volume Jacobian (the right-hand side is exact); likewise the
d/dP column of ``GAS_PFR_FRICTION``, whose other entries and the P row (built
from the species and energy rows) are exact.
"""

import numpy as np

from .gas_kinetics import CP_R, H_RT, gas_jacobian, gas_production_rates
from .jit import njit
from .thermo import GAS_CONSTANT

GAS_CONST_P = 10    # adiabatic batch at constant pressure, in time
GAS_CONST_V = 11    # adiabatic batch at constant volume, in time
GAS_PFR = 12        # steady plug flow at constant pressure, in distance
GAS_PFR_FRICTION = 13   # steady plug flow in distance with P a state (friction, acceleration)

# params positions
P_OR_RHO, MASS_FLUX, ENERGY, WALL_UA, COOLANT_T = 0, 1, 2, 3, 4
N_PARAMS = 5
# GAS_PFR_FRICTION only: f_D / (2 d) (1/m), the Darcy friction factor over twice
# the diameter; its params array is one longer and P_OR_RHO holds the inlet P
FRICTION = 5
N_PARAMS_FRICTION = 6


@njit
def gas_placeholders():
    """Positions 0-3 of a gas system: an empty liquid model (no slot form),
    empty rate parameters and rate-constant arrays, typed as the liquid ones."""
    ei = np.zeros(0, dtype=np.int64)
    ef = np.zeros(0)
    model0 = (np.zeros(1, dtype=np.int64), ei, ef, ei.copy(), ei.copy(), ef.copy(),
              ei.copy(), ei.copy(), ef.copy())
    rate_params0 = (ei.copy(), np.zeros((0, 3)), np.zeros((0, 3)))
    return model0, rate_params0, ef.copy(), ef.copy()


@njit(inline="always")
def _state_density(code, y, n, params):
    """(c-scale rho kg/m^3, P Pa, sum phi) of a gas state."""
    T = y[n]
    S = 0.0
    for k in range(n):
        S += y[k]
    if code == GAS_CONST_V:
        rho = params[P_OR_RHO]
        P = rho * S * GAS_CONSTANT * T
    elif code == GAS_PFR_FRICTION:
        P = params[P_OR_RHO] * y[n + 2]
        rho = P / (GAS_CONSTANT * T * S)
    else:
        P = params[P_OR_RHO]
        rho = P / (GAS_CONSTANT * T * S)
    return rho, P, S


@njit
def gas_rhs(code, y, system, out):
    """dy/dt (batch) or dy/dz (plug flow) of gas problem ``code`` at ``y``."""
    params, scratch, gm, gwork = system[4], system[5], system[6], system[7]
    nasa = gm[24]
    n = nasa.shape[0]
    c = scratch[0:n]
    wdot = scratch[n:2 * n]
    T = y[n]
    rho, P, S = _state_density(code, y, n, params)
    for k in range(n):
        c[k] = rho * y[k]
    gas_production_rates(T, P, c, gm, gwork, wdot)
    pfr = code == GAS_PFR or code == GAS_PFR_FRICTION
    scale = 1.0 / params[MASS_FLUX] if pfr else 1.0 / rho
    for k in range(n):
        out[k] = wdot[k] * scale
    if params[ENERGY] != 0.0:
        wsn = gwork[1]
        shift = 1.0 if code == GAS_CONST_V else 0.0   # u/RT = h/RT - 1, cv/R = cp/R - 1
        num = 0.0
        den = 0.0
        for k in range(n):
            num -= (wsn[H_RT, k] - shift) * out[k]
            den += y[k] * (wsn[CP_R, k] - shift)
        num *= T        # both sums carry R: (R T sum) / (R sum)
        if pfr:
            num += params[WALL_UA] * (params[COOLANT_T] - T) / (params[MASS_FLUX] * GAS_CONSTANT)
        out[n] = num / den
    else:
        out[n] = 0.0
    if pfr:
        out[n + 1] = rho / params[MASS_FLUX]
    if code == GAS_PFR_FRICTION:
        dS = 0.0
        for k in range(n):
            dS += out[k]
        B, D = _momentum_terms(y, n, params, S)
        if P > 0.0 and D > 0.0:
            out[n + 2] = -B * (params[FRICTION] + out[n] / T + dS / S) / (D * params[P_OR_RHO])
        else:   # no outlet pressure: the integrator rejects the step and stops
            out[n + 2] = np.nan


@njit(inline="always")
def _momentum_terms(y, n, params, S):
    """(B, D) of the momentum balance of :data:`GAS_PFR_FRICTION`:
    B = G^2 / rho = G^2 R T S / P (Pa) and D = 1 - B / P, one minus the
    squared isothermal Mach number u^2 rho / P (the flow chokes at D = 0)."""
    G = params[MASS_FLUX]
    P = params[P_OR_RHO] * y[n + 2]
    B = G * G * GAS_CONSTANT * y[n] * S / P
    return B, 1.0 - B / P


@njit
def cp_R_temperature_derivative(T, nasa, out):
    """d(cp/R)/dT (1/K) of every species from its NASA-7 polynomial."""
    for k in range(nasa.shape[0]):
        off = 1 if T <= nasa[k, 0] else 8
        out[k] = (nasa[k, off + 1] + T * (2.0 * nasa[k, off + 2]
                  + T * (3.0 * nasa[k, off + 3] + T * 4.0 * nasa[k, off + 4])))


@njit
def gas_jac(code, y, system, J):
    """Analytic d f / d y of gas problem ``code`` (see the module docstring)."""
    params, scratch, gm, gwork, Jc = system[4], system[5], system[6], system[7], system[8]
    nasa = gm[24]
    n = nasa.shape[0]
    N = y.shape[0]
    c = scratch[0:n]
    wdot = scratch[n:2 * n]
    dwdT = scratch[2 * n:3 * n]
    jcc = scratch[3 * n:4 * n]      # sum_m J_km c_m
    f = scratch[4 * n:5 * n]
    dcp = scratch[5 * n:6 * n]
    T = y[n]
    rho, P, S = _state_density(code, y, n, params)
    for k in range(n):
        c[k] = rho * y[k]
    gas_jacobian(T, P, c, gm, gwork, wdot, Jc, dwdT)
    for i in range(N):
        for l in range(N):
            J[i, l] = 0.0
    if code == GAS_CONST_V:
        inv_rho = 1.0 / rho
        for k in range(n):
            f[k] = wdot[k] * inv_rho
            for l in range(n):
                J[k, l] = Jc[k, l]
            J[k, n] = dwdT[k] * inv_rho
    else:
        pfr = code == GAS_PFR or code == GAS_PFR_FRICTION
        s = 1.0 / params[MASS_FLUX] if pfr else 1.0 / rho
        invS = 1.0 / S
        invT = 1.0 / T
        for k in range(n):
            acc = 0.0
            for m in range(n):
                acc += Jc[k, m] * c[m]
            jcc[k] = acc
        for k in range(n):
            f[k] = wdot[k] * s
            # d wdot_k/dphi_l = rho J_kl - jcc_k / S ; d wdot_k / dT = dwdT_k - jcc_k / T
            common = -jcc[k] * invS * s
            if not pfr:   # s = R T S / P: ds/dphi_l = s / S, ds/dT = s / T
                common += wdot[k] * s * invS
            rs = rho * s
            for l in range(n):
                J[k, l] = rs * Jc[k, l] + common
            dT = s * (dwdT[k] - jcc[k] * invT)
            if not pfr:
                dT += wdot[k] * s * invT
            J[k, n] = dT
        if pfr:
            G = params[MASS_FLUX]
            for l in range(n):
                J[n + 1, l] = -rho * invS / G
            J[n + 1, n] = -rho * invT / G
        if code == GAS_PFR_FRICTION:
            # c = rho phi with rho proportional to P: d wdot_k / dP = jcc_k / P
            # (PLOG's own dependence on P left out, as at constant volume);
            # the state is P / P_in: d/d(P / P_in) = P_in d/dP
            dP_dstate = params[P_OR_RHO]
            for k in range(n):
                J[k, n + 2] = s * jcc[k] / P * dP_dstate
            J[n + 1, n + 2] = rho / (P * params[MASS_FLUX]) * dP_dstate
    tdot = 0.0
    if params[ENERGY] != 0.0:
        wsn = gwork[1]
        shift = 1.0 if code == GAS_CONST_V else 0.0
        cp_R_temperature_derivative(T, nasa, dcp)
        num = 0.0
        den = 0.0
        dden = 0.0
        sum_cf = 0.0
        for k in range(n):
            ek = wsn[H_RT, k] - shift        # e_k / (R T)
            num -= ek * f[k]
            den += y[k] * (wsn[CP_R, k] - shift)
            dden += y[k] * dcp[k]
            sum_cf += (wsn[CP_R, k] - shift) * f[k]
        # all in units of R: Tdot = (T num + wall) / den
        wall = 0.0
        dwall = 0.0
        if code == GAS_PFR or code == GAS_PFR_FRICTION:
            g = params[WALL_UA] / (params[MASS_FLUX] * GAS_CONSTANT)
            wall = g * (params[COOLANT_T] - T)
            dwall = -g
        tdot = (T * num + wall) / den
        inv_den = 1.0 / den
        for l in range(n):
            acc = 0.0
            for k in range(n):
                acc -= (wsn[H_RT, k] - shift) * J[k, l]
            J[n, l] = (T * acc - tdot * (wsn[CP_R, l] - shift)) * inv_den
        acc = 0.0
        for k in range(n):
            acc -= (wsn[H_RT, k] - shift) * J[k, n]
        J[n, n] = (T * acc - sum_cf + dwall - tdot * dden) * inv_den
        if code == GAS_PFR_FRICTION:
            acc = 0.0
            for k in range(n):
                acc -= wsn[H_RT, k] * J[k, n + 2]
            J[n, n + 2] = T * acc * inv_den
    if code == GAS_PFR_FRICTION:
        _pressure_jacobian_row(y, n, params, S, f, tdot, J)


@njit(inline="always")
def _pressure_jacobian_row(y, n, params, S, f, tdot, J):
    """Row n + 2 of the Jacobian of :data:`GAS_PFR_FRICTION` from the rows
    above it: dP/dz = g = -B Q / D with Q = F + T'/T + S'/S (``tdot`` = T',
    0 when T is held; S' = sum_k phi_k' from ``f``), so
    dg = g dB/B - (B/D) dQ - g dD/D over the columns phi_l, T and P."""
    T = y[n]
    P0 = params[P_OR_RHO]
    P = P0 * y[n + 2]
    B, D = _momentum_terms(y, n, params, S)
    p = n + 2
    if not (P > 0.0 and D > 0.0):
        for l in range(p + 1):
            J[p, l] = np.nan
        return
    dS = 0.0
    for k in range(n):
        dS += f[k]
    Q = params[FRICTION] + tdot / T + dS / S
    g = -B * Q / D
    r = B / D
    inv_P0 = 1.0 / P0       # row of d(P / P_in)/dz
    for l in range(n):
        col = 0.0
        for k in range(n):
            col += J[k, l]
        dQ = J[n, l] / T + col / S - dS / (S * S)
        J[p, l] = (g / S - r * dQ + g * B / (S * P * D)) * inv_P0
    col = 0.0
    for k in range(n):
        col += J[k, n]
    dQ = J[n, n] / T - tdot / (T * T) + col / S
    J[p, n] = (g / T - r * dQ + g * B / (T * P * D)) * inv_P0
    # column p of the rows above is already d/d(P / P_in) = P_in d/dP
    col = 0.0
    for k in range(n):
        col += J[k, p]
    dQ = J[n, p] / T + col / S
    J[p, p] = -g / P - r * dQ * inv_P0 - 2.0 * g * B / (P * P * D)


@njit
def gas_rhs_rows(code, ys, system, out):
    """:func:`gas_rhs` of every row of ``ys`` into the rows of ``out`` (one
    compiled loop, e.g. dT/dt along a solution for the ignition delay)."""
    for r in range(ys.shape[0]):
        gas_rhs(code, ys[r], system, out[r])
