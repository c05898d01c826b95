"""Energy balances: the worst-case adiabatic temperature rise, steady states
of a stirred tank with an energy balance (several may exist), and the heat
generation and removal lines that show them.

Everything here works on SI floats and calls the kernels; the reactor
classes in :mod:`flowchem.reactors` use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.errors import SolverError
from .solver import (compiled_mechanism, make_energy_system, make_system, newton_steady_state,
                     steady_tank)

#: Screening limit of the adiabatic temperature rise, K. Stoessel's severity
#: classes (Thermal Safety of Chemical Processes, 2008) put the boundary
#: between "low" and "medium" severity at 50 K.
DEFAULT_MAX_ADIABATIC_RISE = 50.0

#: dT_max/dT_coolant (K per K) above which a tube is flagged as parametrically
#: sensitive: a perturbation of the coolant is amplified in the hot spot
#: (Morbidelli and Varma's criterion looks for where this gain peaks).
SENSITIVITY_LIMIT = 2.0


def stoichiometric_matrix(mechanism):
    """Dense net stoichiometry S (reactions x species)."""
    compiled = compiled_mechanism(mechanism)
    S = np.zeros((compiled.n_reactions, compiled.n_species))
    _, _, _, _, _, _, s_ptr, s_sp, s_nu = compiled.model
    for j in range(compiled.n_reactions):
        for a in range(s_ptr[j], s_ptr[j + 1]):
            S[j, s_sp[a]] = s_nu[a]
    return S


def _extreme_heat(mechanism, c_in, sign):
    """max of sign * sum_j (-dH_j) xi_j subject to c_in + S^T xi >= 0 and
    xi_j >= 0 for irreversible reactions; None when unbounded."""
    from scipy.optimize import linprog

    compiled = compiled_mechanism(mechanism)
    dH = compiled.delta_H
    if compiled.n_reactions == 0 or not np.any(sign * -dH > 0.0):
        return 0.0
    S = stoichiometric_matrix(mechanism)
    bounds = [(None, None) if r.reversible else (0.0, None) for r in mechanism.reactions]
    res = linprog(c=sign * dH, A_ub=-S.T, b_ub=np.asarray(c_in, dtype=float), bounds=bounds,
                  method="highs")
    return float(-res.fun) if res.status == 0 else None


def max_heat_release(mechanism, c_in):
    """Largest heat release per volume (J/m^3) that stoichiometry allows.

    Solves max sum_j (-dH_j) xi_j subject to c_in + S^T xi >= 0 (no species
    can be consumed below zero), xi_j >= 0 for irreversible reactions: a
    linear programme, so parallel and consecutive reactions are counted once,
    not added up. Returns ``None`` when unbounded (a source reaction).
    """
    return _extreme_heat(mechanism, c_in, 1.0)


def max_heat_absorption(mechanism, c_in):
    """Largest heat absorbed per volume (J/m^3) by endothermic reactions."""
    return _extreme_heat(mechanism, c_in, -1.0)


def adiabatic_temperature_rise(mechanism, c_in, rho_cp):
    """Worst-case adiabatic temperature rise (K) of a liquid of composition
    ``c_in`` (mol/m^3) and volumetric heat capacity ``rho_cp`` (J/m^3/K)."""
    q = max_heat_release(mechanism, c_in)
    return None if q is None else q / rho_cp


@dataclass
class SteadyState:
    """One steady state of a stirred tank with an energy balance."""

    T: float
    conc: np.ndarray
    heat_release: float      # J/m^3 of throughput (tau * sum(-dH q))
    stable: bool
    eigenvalues: np.ndarray = field(repr=False)

    def to_dict(self, names):
        return {"T_K": float(self.T), "stable": bool(self.stable),
                "conc_mol_per_m3": {n: float(c) for n, c in zip(names, self.conc)}}


@dataclass
class HeatBalanceCurve:
    """Heat generation and removal per volume (W/m^3) against tank temperature."""

    T: np.ndarray
    generation: np.ndarray
    removal: np.ndarray

    def plot(self, ax=None, steady_states=(), title=None):
        from ..reporting.plots import _axes

        fig, ax = _axes(ax)
        ax.plot(self.T - 273.15, self.generation / 1e3, label="heat generation")
        ax.plot(self.T - 273.15, self.removal / 1e3, label="heat removal")
        for s in steady_states:
            gen = np.interp(s.T, self.T, self.generation) / 1e3
            ax.plot(s.T - 273.15, gen, "o", color="k" if s.stable else "w", markeredgecolor="k",
                    label=None)
        ax.set_xlabel("tank temperature [degC]")
        ax.set_ylabel("heat per volume [kW/m3]")
        ax.set_title(title or "CSTR heat balance (filled: stable, open: unstable)")
        ax.legend(loc="best", fontsize="small")
        ax.grid(alpha=0.3)
        return ax


def _isothermal_tank(mechanism, c_in, tau, T, guess, options):
    """Steady concentrations of an isothermal tank at T (Newton, continuation
    from ``guess``); None when it fails."""
    system = make_system(mechanism, T)
    try:
        return steady_tank(system, c_in, tau, guess, options), system
    except SolverError:
        return None, system


def _heat_generation(mechanism, c, system):
    from kernels.kinetics import rates_of_progress

    compiled = compiled_mechanism(mechanism)
    q = np.zeros(compiled.n_reactions)
    rates_of_progress(c, compiled.model, system[2], system[3], q)
    return float(np.dot(-compiled.delta_H, q))


def cstr_steady_states(mechanism, c_in, T_in, tau, rho_cp, ua_per_volume, coolant_T, options,
                       n_grid=300):
    """All steady states of a tank with an energy balance, by scanning T.

    For each temperature on a grid the isothermal species balances give
    c(T); the energy residual G(T) = generation - removal changes sign at
    each steady state, which is refined by bisection (Brent) and polished by
    Newton on the full coupled system. Stability from the eigenvalues of the
    coupled Jacobian. Returns (states sorted by T, HeatBalanceCurve).
    """
    from scipy.optimize import brentq

    from kernels.problems import CSTR_ENERGY, jacobian

    c_in = np.asarray(c_in, dtype=float)
    n = c_in.size
    q_max = max_heat_release(mechanism, c_in) or 0.0
    q_min = -(max_heat_absorption(mechanism, c_in) or 0.0)
    lo = min(T_in, coolant_T if ua_per_volume > 0 else T_in) + q_min / rho_cp - 1.0
    hi = max(T_in, coolant_T if ua_per_volume > 0 else T_in) + q_max / rho_cp + 1.0
    lo = max(lo, 1.0)
    grid = np.linspace(lo, hi, n_grid)

    def removal(T):
        return rho_cp * (T - T_in) / tau + ua_per_volume * (T - coolant_T)

    gen = np.full(n_grid, np.nan)
    conc = np.full((n_grid, n), np.nan)
    guess = c_in.copy()
    for k, T in enumerate(grid):
        c, system = _isothermal_tank(mechanism, c_in, tau, T, guess, options)
        if c is None:
            c, system = _isothermal_tank(mechanism, c_in, tau, T, c_in.copy(), options)
        if c is None:
            continue
        guess = c
        conc[k] = c
        gen[k] = _heat_generation(mechanism, c, system)
    rem = removal(grid)
    curve = HeatBalanceCurve(grid, gen, rem)

    def G(T):
        c, system = _isothermal_tank(mechanism, c_in, tau, T, c_in.copy(), options)
        if c is None:
            raise ValueError("isothermal tank failed")
        return _heat_generation(mechanism, c, system) - removal(T)

    states = []
    resid = gen - rem
    ok = np.isfinite(resid)
    energy_system = make_energy_system(mechanism, rho_cp, ua_per_volume / rho_cp, coolant_T)
    params = energy_system[4]
    params[0] = 1.0 / tau
    y_in = np.concatenate([c_in, [0.0, T_in]])
    params[1:1 + n + 2] = y_in
    atol = np.concatenate([options.atol_vector(c_in), [-1e-9 * max(q_max, 1.0), 1e-9]])  # heat row signed
    for k in range(n_grid - 1):
        if not (ok[k] and ok[k + 1]):
            continue
        if resid[k] == 0.0 or resid[k] * resid[k + 1] < 0.0:
            try:
                T_star = grid[k] if resid[k] == 0.0 else brentq(G, grid[k], grid[k + 1], xtol=1e-10)
            except ValueError:
                continue
            c_star, system = _isothermal_tank(mechanism, c_in, tau, T_star, conc[k].copy(), options)
            if c_star is None:
                continue
            h = tau * _heat_generation(mechanism, c_star, system)
            y = np.concatenate([c_star, [h, T_star]])
            try:
                newton_steady_state(energy_system, CSTR_ENERGY, y, options, atol)
            except SolverError:
                continue
            J = np.zeros((n + 2, n + 2))
            jacobian(CSTR_ENERGY, 0.0, y, energy_system, J)
            # the heat-release row is a passive integral (eigenvalue -1/tau): leave it out
            keep = [i for i in range(n + 2) if i != n]
            eig = np.linalg.eigvals(J[np.ix_(keep, keep)])
            states.append(SteadyState(float(y[n + 1]), y[:n].copy(), float(y[n]),
                                      bool(np.all(eig.real < 0.0)), eig))
    states.sort(key=lambda s: s.T)
    unique = []
    for s in states:
        if not unique or abs(s.T - unique[-1].T) > 1e-6 * s.T:
            unique.append(s)
    return unique, curve
