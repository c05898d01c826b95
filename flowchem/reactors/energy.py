"""Energy balances of the ideal reactors, in one place: how a reactor
exchanges heat (:class:`EnergyBalance`, parsed from ``energy:``), the
resolved numbers of one run (:class:`ThermalSetup`), the kernel systems that
carry the heat released, the heat through a wall, the runaway screen (the
worst-case adiabatic temperature rise, :func:`runaway_screen`), steady states
of a stirred tank with an energy balance (several may exist,
:func:`cstr_steady_states`) and the heat generation and removal lines that
show them.

Everything here works on SI floats and calls the kernels through
:mod:`flowchem.reactors.solver`; the reactor classes in
:mod:`flowchem.reactors.ideal` use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..chemistry.stoichiometry import stoichiometric_matrix  # noqa: F401  (re-exported: batchflow)
from ..core.errors import Location, SolverError
from ..core.units import parse_quantity
from ..core.yamlio import check_keys
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

#: Widest span (K) the steady-state scan of a tank covers beyond its inlet and
#: coolant temperatures: a larger worst-case rise would spread the grid too
#: thin where the chemistry happens; the rest is reported as not scanned.
MAX_SCAN_SPAN = 2000.0

#: The scan's continuation around a failed grid point halves its temperature
#: step down to 1/2**SCAN_REFINE_DEPTH of the grid spacing before giving up.
SCAN_REFINE_DEPTH = 6


@dataclass(frozen=True)
class HeatBound:
    """Outcome of the worst-case heat linear programme.

    ``status`` is ``"ok"`` (``value`` in J/m^3 is the bound), ``"unbounded"``
    (a reaction releases heat without using up anything fed: a source
    reaction) or ``"failed"`` (the solver did not finish; ``reason`` says
    why). ``value`` is None unless the status is ``"ok"``.
    """

    status: str
    value: float | None = None
    reason: str = ""


def _extent_bounds(reaction):
    """Sign constraints on a reaction's extent: a switched-off direction
    (rate constant zero) cannot run, so it adds no heat to the worst case."""
    forward = not reaction.rate.is_zero
    if not reaction.reversible:
        backward = False
    elif reaction.reverse is not None:
        backward = not reaction.reverse.is_zero
    else:
        backward = forward          # k_r = k_f / K
    return (None if backward else 0.0, None if forward else 0.0)


def heat_release_bound(mechanism, c_in, sign=1.0):
    """Largest heat released (``sign=1``) or absorbed (``sign=-1``) per volume,
    as a :class:`HeatBound`.

    Solves max sign * sum_j (-dH_j) xi_j subject to c_in + S^T xi >= 0 with
    each extent's sign fixed by the directions that can run. The programme is
    solved in units of the largest inlet concentration and the largest |dH|,
    so concentrations of 1e-300 or enthalpies of GJ/mol do not upset HiGHS.
    """
    from scipy.optimize import linprog

    compiled = compiled_mechanism(mechanism)
    dH = compiled.delta_H
    c_in = np.asarray(c_in, dtype=float)
    bounds = [_extent_bounds(r) for r in mechanism.reactions]
    # heat flows the asked way only through a direction that can run (a
    # reversible endothermic reaction releases heat when it runs backwards)
    if not any((sign * -h > 0.0 and hi is None) or (sign * -h < 0.0 and lo is None)
               for h, (lo, hi) in zip(dH, bounds)):
        return HeatBound("ok", 0.0)
    S = stoichiometric_matrix(mechanism)
    c_scale = float(np.max(c_in)) if c_in.size and np.max(c_in) > 0.0 else 1.0
    h_scale = float(np.max(np.abs(dH)))
    res = linprog(c=sign * dH / h_scale, A_ub=-S.T, b_ub=c_in / c_scale, bounds=bounds,
                  method="highs")
    if res.status == 0:
        value = float(-res.fun) * c_scale * h_scale
        return HeatBound("ok", value if value > 0.0 else 0.0)     # never -0.0
    if res.status == 3:
        source = [mechanism.reaction_ids[j] for j in range(compiled.n_reactions)
                  if sign * -dH[j] > 0.0 and not np.any(S[j] < 0.0)]
        which = f" (reactions without reactants: {', '.join(source)})" if source else ""
        return HeatBound("unbounded", None, "stoichiometry does not limit the heat "
                                            f"{'released' if sign > 0 else 'absorbed'}{which}")
    return HeatBound("failed", None, f"linear programme did not finish: {res.message}")


def _extreme_heat(mechanism, c_in, sign):
    """The bound of :func:`heat_release_bound`; None when there is none."""
    bound = heat_release_bound(mechanism, c_in, sign)
    return bound.value if bound.status == "ok" else None


def max_heat_release(mechanism, c_in):
    """Largest heat release per volume (J/m^3) that stoichiometry allows.

    Solves max sum_j (-dH_j) xi_j subject to c_in + S^T xi >= 0 (no species
    can be consumed below zero), xi_j >= 0 for irreversible reactions: a
    linear programme, so parallel and consecutive reactions are counted once,
    not added up. Returns ``None`` when unbounded (a source reaction) or when
    the programme fails; :func:`heat_release_bound` says which.
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
            # generation = removal at a steady state; removal has no gaps (NaN)
            gen = np.interp(s.T, self.T, self.removal) / 1e3
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
    coupled Jacobian.

    The grid spans the temperatures stoichiometry allows (inlet and coolant
    temperatures widened by the worst-case adiabatic rise and fall, at most
    :data:`MAX_SCAN_SPAN` beyond them). Where the isothermal tank cannot be
    solved at a grid point, the scan approaches it by continuation in smaller
    temperature steps from both neighbours; a temperature interval that stays
    unsolved, a bracketed steady state that cannot be polished and the part of
    the range beyond the scan are returned as :class:`ScanGap`, so a missing
    steady state is reported, not silently dropped.

    Returns
    -------
    SteadyStateScan
        ``states`` (sorted by T), ``curve`` (:class:`HeatBalanceCurve`, NaN
        where unsolved) and ``gaps``.
    """
    from scipy.optimize import brentq

    from kernels.problems import CSTR_ENERGY, jacobian

    c_in = np.asarray(c_in, dtype=float)
    n = c_in.size
    gaps = []
    release = heat_release_bound(mechanism, c_in, 1.0)
    absorption = heat_release_bound(mechanism, c_in, -1.0)
    T_cold = min(T_in, coolant_T if ua_per_volume > 0 else T_in)
    T_hot = max(T_in, coolant_T if ua_per_volume > 0 else T_in)
    rise = release.value / rho_cp if release.status == "ok" else math.inf
    fall = absorption.value / rho_cp if absorption.status == "ok" else math.inf
    lo = max(T_cold - min(fall, MAX_SCAN_SPAN) - 1.0, 1.0)
    hi = T_hot + min(rise, MAX_SCAN_SPAN) + 1.0
    if lo > 1.0 and fall > MAX_SCAN_SPAN:
        gaps.append(ScanGap(None, lo, f"not scanned: more than {MAX_SCAN_SPAN:g} K below the inlet "
                                      f"and coolant ({_bound_text(absorption, fall)})"))
    if rise > MAX_SCAN_SPAN:
        gaps.append(ScanGap(hi, None, f"not scanned: more than {MAX_SCAN_SPAN:g} K above the inlet "
                                      f"and coolant ({_bound_text(release, rise)})"))
    q_max = release.value if release.status == "ok" else 0.0
    # grid: the solved temperatures (the plain grid refined around failures)
    grid, conc, gen, unsolved = _scan_isothermal_tanks(mechanism, c_in, tau,
                                                       np.linspace(lo, hi, n_grid), options)
    for T_low, T_high in _unsolved_intervals(grid, unsolved, lo, hi, (hi - lo) / (n_grid - 1)):
        gaps.append(ScanGap(T_low, T_high, "the isothermal tank could not be solved"))

    def removal(T):
        return rho_cp * (T - T_in) / tau + ua_per_volume * (T - coolant_T)

    rem = removal(grid)
    curve = _curve_with_breaks(grid, gen, removal, unsolved)

    def G(T):
        # continuation from the nearest solved temperature, else from the feed
        near = int(np.argmin(np.abs(grid - T)))
        c, system = _isothermal_tank(mechanism, c_in, tau, T, conc[near].copy(), options)
        if c is None:
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
    for k in range(len(grid) - 1):
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
    # a sign change of the heat balance whose steady state was not resolved is a gap too
    for k in range(len(grid) - 1):
        if ok[k] and ok[k + 1] and (resid[k] == 0.0 or resid[k] * resid[k + 1] < 0.0):
            tol = 1e-6 * grid[k + 1]
            if not any(grid[k] - tol <= s.T <= grid[k + 1] + tol for s in unique):
                bounds = (float(grid[k]), float(grid[k + 1]))
                same = [i for i, g in enumerate(gaps) if (g.T_low, g.T_high) == bounds]
                if same:    # an unsolved interval across which a steady state must lie
                    gaps[same[0]] = ScanGap(*bounds, f"{gaps[same[0]].reason}; the heat balance "
                                                     "changes sign across it: a steady state lies there")
                else:
                    gaps.append(ScanGap(*bounds, "the heat balance changes sign here, but the "
                                                 "steady state could not be solved"))
    gaps.sort(key=lambda g: -math.inf if g.T_low is None else g.T_low)
    return SteadyStateScan(unique, curve, gaps, (float(lo), float(hi)))


def _bound_text(bound, span):
    if bound.status != "ok":
        return bound.reason
    return f"the worst-case adiabatic change is {span:.3g} K"


@dataclass(frozen=True)
class ScanGap:
    """A temperature interval (K) where the steady-state scan found no answer:
    a steady state there may be missing. ``None`` is an open end."""

    T_low: float | None
    T_high: float | None
    reason: str

    def to_dict(self):
        return {"T_low_K": self.T_low, "T_high_K": self.T_high, "reason": self.reason}

    def text(self):
        def degc(T):
            return f"{T - 273.15:.1f}"

        if self.T_low is None:
            return f"below {degc(self.T_high)} degC"
        if self.T_high is None:
            return f"above {degc(self.T_low)} degC"
        return f"{degc(self.T_low)} to {degc(self.T_high)} degC"


@dataclass
class SteadyStateScan:
    """Result of :func:`cstr_steady_states`: the steady states found, the
    heat-balance curve and the temperature intervals not covered."""

    states: list
    curve: HeatBalanceCurve
    gaps: list
    T_range: tuple

    @property
    def complete(self):
        """True when every temperature of the scanned range was solved."""
        return not self.gaps

    def to_dict(self):
        return {"T_range_K": [float(t) for t in self.T_range], "complete": self.complete,
                "gaps": [g.to_dict() for g in self.gaps]}


def _rate_constants_check(mechanism):
    """A function of T: False where some rate constant overflows (so no
    solver is handed inf); the kernel's own rate constants, in reused arrays."""
    from kernels.kinetics import rate_constants

    compiled = compiled_mechanism(mechanism)
    kf, kr = np.zeros(compiled.n_reactions), np.zeros(compiled.n_reactions)

    def finite(T):
        rate_constants(float(T), compiled.rate_params, kf, kr)
        return bool(np.isfinite(kf).all() and np.isfinite(kr).all())
    return finite


def _scan_isothermal_tanks(mechanism, c_in, tau, grid, options, depth=SCAN_REFINE_DEPTH):
    """Isothermal tank solutions over ``grid``, refined around failures.

    A grid point that fails from its neighbour's solution and from the feed
    is approached by continuation from the last solved temperature below
    (forward pass) and then above (backward pass), the step halved down to
    1/2**depth of the remaining interval; solutions on the way join the curve.

    Returns ``(T, conc, generation, unsolved)``: the solved temperatures,
    sorted, with their concentrations and heat generation (W/m^3), and the
    sorted temperatures where no solution was found.
    """
    solved = {}           # T -> (concentrations, heat generation)
    failed = set()
    rates_finite = _rate_constants_check(mechanism)

    def solve(T, guess):
        if not rates_finite(T):
            c, system = None, None
        else:
            c, system = _isothermal_tank(mechanism, c_in, tau, T, guess.copy(), options)
        gen = _heat_generation(mechanism, c, system) if c is not None else math.nan
        if c is None or not math.isfinite(gen):
            failed.add(T)
            return None
        solved[T] = (c, gen)
        return c

    def approach(T_from, c_from, T_to):
        """Continuation from the solution (T_from, c_from) to T_to; True if reached."""
        span = T_to - T_from
        step, T_now, c_now = span / 2.0, T_from, c_from
        while abs(step) >= abs(span) / 2.0 ** depth:
            T_try = T_to if abs(T_to - T_now) <= abs(step) else T_now + step
            c = solve(T_try, c_now)
            if c is None:
                step /= 2.0
            elif T_try == T_to:
                return True
            else:
                T_now, c_now = T_try, c
        return False

    last = None
    for T in grid:
        T = float(T)
        # from the neighbour's solution, then from the feed, then by continuation
        c = solve(T, c_in if last is None else last[1])
        if c is None and last is not None:
            c = solve(T, c_in)
            if c is None and approach(last[0], last[1], T):
                c = solved[T][0]
        if c is not None:
            last = (T, c)
    for T in sorted((float(t) for t in grid if float(t) not in solved), reverse=True):
        above = [t for t in solved if t > T]
        if above:
            T_above = min(above)
            approach(T_above, solved[T_above][0], T)
    temps = np.array(sorted(solved), dtype=float)
    conc = np.array([solved[T][0] for T in temps]).reshape(temps.size, len(c_in))
    gen = np.array([solved[T][1] for T in temps], dtype=float)
    return temps, conc, gen, np.array(sorted(failed - set(solved)), dtype=float)


def _unsolved_intervals(temps, unsolved, lo, hi, spacing):
    """Intervals (T_low, T_high) around unsolved temperatures that the solved
    ones ``temps`` do not cover at the grid's ``spacing`` (an unsolved point
    between solutions closer than the plain grid costs no resolution)."""
    edges = np.concatenate([[lo], temps, [hi]]) if temps.size else np.array([lo, hi])
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        inside = unsolved[(unsolved >= a) & (unsolved <= b)]
        if inside.size and (b - a > spacing * (1.0 + 1e-9) or not temps.size):
            out.append((float(a), float(b)))
    return out


def _curve_with_breaks(temps, gen, removal, unsolved):
    """The heat-balance curve over solved and unsolved temperatures (NaN at
    the unsolved, so a plot breaks there instead of bridging the gap)."""
    T = np.concatenate([temps, unsolved])
    g = np.concatenate([gen, np.full(unsolved.size, np.nan)])
    order = np.argsort(T, kind="stable")
    return HeatBalanceCurve(T[order], g[order], removal(T[order]))


# --------------------------------------------------------------------------- reactor energy balances

#: Keys of an ``energy:`` mapping besides ``mode``.
ENERGY_KEYS = ("U", "coolant_T", "area", "max_adiabatic_rise", "wall_thickness",
               "wall_conductivity", "h_outer")


class EnergyBalance:
    """How a reactor exchanges heat.

    ``mode`` is ``"isothermal"``, ``"adiabatic"`` or ``"cooled"`` (wall heat
    transfer with coefficient ``U`` (W/m^2/K, or ``"auto"`` for a laminar
    estimate in tubes) to a coolant at ``coolant_T`` (K); ``area`` (m^2) is a
    tank's jacket area). ``max_adiabatic_rise`` (K) is the screening limit
    for warnings (default 50 K).
    """

    def __init__(self, mode="isothermal", U=None, coolant_T=None, area=None,
                 max_adiabatic_rise=None, wall_thickness=0.0, wall_conductivity=None, h_outer=None):
        self.mode = mode
        self.U = U
        self.coolant_T = coolant_T
        self.area = area
        self.max_adiabatic_rise = DEFAULT_MAX_ADIABATIC_RISE if max_adiabatic_rise is None \
            else max_adiabatic_rise
        self.wall_thickness = wall_thickness
        self.wall_conductivity = wall_conductivity
        self.h_outer = h_outer

    @property
    def isothermal(self):
        return self.mode == "isothermal"

    @classmethod
    def parse(cls, spec, units=None, source="<python>", where=""):
        """From ``None``, ``"isothermal"``, ``"adiabatic"``, an EnergyBalance
        or a mapping ``{U, coolant_T[, area, max_adiabatic_rise, ...]}``
        (a mapping may also name ``mode``)."""
        loc = Location.coerce(where, source)
        if spec is None or isinstance(spec, EnergyBalance):
            return spec or cls()
        if isinstance(spec, str):
            if spec in ("isothermal", "adiabatic"):
                return cls(spec)
            raise loc.error(f"expected 'isothermal', 'adiabatic' or a mapping with U and coolant_T, got {spec!r}")
        if not isinstance(spec, dict):
            raise loc.error(f"expected 'isothermal', 'adiabatic' or a mapping, got {type(spec).__name__}")
        check_keys(spec, ("mode",) + ENERGY_KEYS, loc)

        def q(key, kind, **kw):
            if key not in spec or spec[key] is None:
                return None
            return parse_quantity(spec[key], kind, units, loc.key(key), source=source, **kw)

        mode = spec.get("mode")
        if mode is None:
            mode = "cooled" if ("U" in spec or "coolant_T" in spec) else "isothermal"
        if mode not in ("isothermal", "adiabatic", "cooled"):
            raise loc.key("mode").error(f"expected isothermal, adiabatic or cooled, got {mode!r}")
        U = spec.get("U")
        if mode == "cooled":
            for key in ("U", "coolant_T"):
                if key not in spec:
                    raise loc.error(f"a cooled reactor needs '{key}'")
            if U != "auto":
                U = q("U", "heat_transfer_coefficient", nonnegative=True)
        elif U is not None:
            raise loc.key("U").error(f"U has no meaning for an {mode} reactor")
        return cls(mode, U, q("coolant_T", "temperature", positive=True),
                   q("area", "area", positive=True),
                   q("max_adiabatic_rise", "temperature_difference", positive=True),
                   q("wall_thickness", "length", nonnegative=True) or 0.0,
                   q("wall_conductivity", "thermal_conductivity", positive=True),
                   q("h_outer", "heat_transfer_coefficient", positive=True))


#: Why ``U: auto`` is refused for stirred vessels, and what to give instead.
U_AUTO_TANKS_ONLY = ("U: auto is a laminar-flow estimate for tubes (from the diameter and the "
                     "liquid's properties); a stirred vessel's U depends on its agitation "
                     "(impeller, speed, baffles, jacket side), which flowchem does not model: "
                     "give U in W/m^2/K (a jacketed lab or pilot vessel is typically 100-500)")


class ThermalSetup:
    """Resolved numbers of one reactor run's energy balance (SI): mode,
    liquid properties, rho*cp, wall U*a per volume, coolant temperature and
    where U came from."""

    def __init__(self, mode, props, ua_per_volume=0.0, coolant_T=None, U=None, U_source=None):
        self.mode = mode
        self.props = props
        self.rho_cp = props.density * props.cp
        self.ua_per_volume = ua_per_volume
        self.coolant_T = coolant_T
        self.U = U
        self.U_source = U_source


def heat_row_needed(mechanism):
    """True when some reaction has a reaction enthalpy (the heat is tracked)."""
    return bool(np.any(compiled_mechanism(mechanism).delta_H != 0.0))


def isothermal_system_with_heat(mechanism, T):
    """Isothermal system whose state carries, after the species, the heat
    released per volume (J/m^3) when any reaction has a dH; returns
    ``(system, has_heat_row)``."""
    from .solver import energy_model

    system = make_system(mechanism, T)
    if not heat_row_needed(mechanism):
        return system, False
    compiled = compiled_mechanism(mechanism)
    model = mechanism.__dict__.get("_flowchem_heat_model")
    if model is None:
        model = energy_model(compiled, None)
        mechanism._flowchem_heat_model = model
    params = np.zeros(1 + compiled.n_species + 1)
    return (model, system[1], system[2], system[3], params, system[5]), True


#: Largest heat scale (J/m^3) used for the heat row's absolute tolerance; it
#: keeps 1e-10 * scale finite for enthalpies and concentrations near the
#: limits of doubles.
_MAX_HEAT_SCALE = 1e290


def heat_scale(mechanism, c):
    """A heat per volume (J/m^3) typical of the reactions: max |dH| * max c,
    at least 1 and finite (the scale of the heat row's tolerance)."""
    dH = compiled_mechanism(mechanism).delta_H
    if not dH.size or not len(c):
        return 1.0
    # a float product overflows to inf, which the cap turns back into a number
    return min(max(float(np.max(np.abs(dH))) * float(np.max(np.abs(c))), 1.0), _MAX_HEAT_SCALE)


def wall_heat(sol, thermal):
    """Integral over residence time of Ua (T - T_c), J/m^3 of throughput."""
    from .quadrature import integrate_dense

    return thermal.ua_per_volume * integrate_dense(sol, lambda y: y[:, -1] - thermal.coolant_T)


def runaway_screen(name, mechanism, c_in, rho_cp, limit):
    """The worst-case adiabatic temperature rise of a feed against ``limit``.

    Returns ``(entries, warnings)``: ``entries`` go into the operation's
    JSON result: ``adiabatic_temperature_rise_K`` (None unless the screen
    ended) and ``runaway_screen`` with its ``status`` (``"ok"``: within the
    limit, ``"exceeds_limit"``, ``"unbounded"``: stoichiometry does not bound
    the heat, ``"failed"``: the linear programme did not finish), the rise,
    the limit and the reason. Every status but ``"ok"`` gives a warning, so
    no outcome of the screen goes unsaid.
    """
    bound = heat_release_bound(mechanism, c_in, 1.0)
    rise = bound.value / rho_cp if bound.status == "ok" else None
    status, warning = bound.status, None
    if bound.status == "unbounded":
        warning = (f"{name}: the worst-case adiabatic temperature rise is unbounded: "
                   f"{bound.reason}; the runaway screen cannot bound it")
    elif bound.status == "failed":
        warning = (f"{name}: the runaway screen failed ({bound.reason}); the worst-case adiabatic "
                   "temperature rise was not checked")
    elif rise > limit:
        status = "exceeds_limit"
        warning = (f"{name}: worst-case adiabatic temperature rise {rise:.1f} K exceeds "
                   f"{limit:.0f} K: a cooling failure could lead to a runaway")
    entries = {"adiabatic_temperature_rise_K": rise,
               "runaway_screen": {"status": status, "adiabatic_temperature_rise_K": rise,
                                  "limit_K": float(limit), "reason": bound.reason}}
    return entries, [warning] if warning else []


def tank_steady_states(name, mechanism, feed, thermal, tau_each, states, options):
    """Every steady state of each tank of a cascade with an energy balance.

    ``states`` are the operating states (species, heat released, T) of the
    tanks as solved from the feed. Returns ``(per_tank, curve, warnings,
    scans)``: the steady states of each tank, the heat-balance curve of the
    first, warnings for multiplicity and for temperature intervals the scan
    did not cover, and each tank's :class:`SteadyStateScan`.
    """
    n = mechanism.n_species
    n_tanks = states.shape[0]
    inlet_c, inlet_T = feed.conc, feed.T
    per_tank, scans, warnings, curve = [], [], [], None
    for k in range(n_tanks):
        label = name if n_tanks == 1 else f"{name} tank {k + 1}"
        scan = cstr_steady_states(mechanism, inlet_c, inlet_T, tau_each, thermal.rho_cp,
                                  thermal.ua_per_volume, thermal.coolant_T or 0.0, options)
        found = scan.states
        T_op = states[k, n + 1]
        if len(found) > 1:
            temps = ", ".join(f"{s.T - 273.15:.1f}" for s in found)
            warnings.append(f"{label}: {len(found)} steady states at {temps} degC; start-up from "
                            f"the feed reaches {T_op - 273.15:.1f} degC")
        if scan.gaps:
            where = "; ".join(f"{g.text()} ({g.reason})" for g in scan.gaps)
            warnings.append(f"{label}: the steady-state scan did not cover {where}; steady states "
                            f"there may be missing ({len(found)} found)")
        if k == 0:
            curve = scan.curve
        per_tank.append(found)
        scans.append(scan)
        inlet_c, inlet_T = states[k, :n], states[k, n + 1]
    return per_tank, curve, warnings, scans

