"""Ideal-gas reactors on a full Cantera mechanism: the adiabatic batch at
constant pressure or constant volume (Cantera's ``IdealGasConstPressureReactor``
and ``IdealGasReactor``), its ignition delay, and the steady plug-flow reactor
in distance with ``energy: isothermal | adiabatic | {U, coolant_T}``.

The kernel problems are :data:`kernels.gas_reactors.GAS_CONST_P`,
``GAS_CONST_V`` and ``GAS_PFR`` (state: moles per kilogram of mixture and the
temperature, see :mod:`kernels.gas_reactors`), integrated by the same Rodas5P
and BDF drivers as the liquid reactors through :func:`.solver.integrate`.

>>> import flowchem as fc
>>> r = fc.GasBatchReactor("h2o2.yaml", T=1200, P="1 atm", X={"H2": 2, "O2": 1, "AR": 7})
>>> res = r.run(1e-3)                                    # doctest: +SKIP
>>> fc.ignition_delay(res)                               # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..core.errors import InputError, Location, SolverError
from ..core.units import parse_quantity
from .solver import SolverOptions, integrate

__all__ = ["GasBatchReactor", "GasBatchResult", "GasPFR", "GasPFRResult", "GasInlet",
           "gas_kinetics_of", "gas_composition", "ignition_delay"]

# R in J/(mol K) as the kernels use it (kernels.thermo, Cantera's value)
R_GAS = 8.31446261815324
PROFILE_POINTS = 201
# absolute tolerance on mass fractions when SolverOptions.atol is None (the
# induction of an ignition runs on radical pools far below Cantera's default
# 1e-15: a looser one moves the ignition delay by 1e-4 relative); K; s
ATOL_MASS_FRACTION = 1.0e-20
ATOL_T = 1.0e-9
ATOL_TAU = 1.0e-15
ATOL_PRESSURE_RATIO = 1.0e-12   # on P / P_in, the state of a tube with friction
# the ignition delay is refined on this many points of the dense output
# between the steps around the largest dT/dt
IGNITION_REFINE_POINTS = 201


def gas_kinetics_of(mechanism, where="mechanism"):
    """The :class:`~flowchem.chemistry.gas_mechanism.GasKinetics` of
    ``mechanism``: a GasKinetics, a Mechanism from ``Mechanism.from_cantera``,
    a ``cantera.Solution`` or a Cantera file name."""
    from ..chemistry.gas_mechanism import GasKinetics

    if isinstance(mechanism, GasKinetics):
        return mechanism
    gk = getattr(mechanism, "gas_kinetics", None)
    if isinstance(gk, GasKinetics):
        return gk
    if isinstance(mechanism, (str, os.PathLike)) or type(mechanism).__name__ == "Solution":
        return GasKinetics.from_solution(mechanism)
    raise InputError("a gas reactor needs a Cantera mechanism (Mechanism.from_cantera, a "
                     f"cantera.Solution or a file name), got {type(mechanism).__name__}",
                     "<python>", where)


def gas_composition(gk, X=None, Y=None, where="composition"):
    """Normalised mole fractions (array over the mechanism's species) from
    ``X`` or ``Y``: a mapping species -> fraction (relative amounts; they are
    normalised) or a Cantera-style string ``"H2:2, O2:1"``.

    Raises
    ------
    InputError
        Both ``X`` and ``Y``, or neither; a species the mechanism lacks; a
        negative, non-finite or all-zero fraction.
    """
    where = Location.coerce(where)
    if (X is None) == (Y is None):
        raise where.error("give the composition as exactly one of X (mole fractions) or "
                          "Y (mass fractions)" + (", not both" if X is not None else ""))
    key = "X" if X is not None else "Y"
    spec = X if X is not None else Y
    if isinstance(spec, str):
        items = {}
        for part in spec.split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition(":")
            if not sep:
                raise where.key(key).error(f"expected 'SPECIES: fraction' entries, got {part.strip()!r}")
            items[name.strip()] = value.strip()
        spec = items
    if not isinstance(spec, dict) or not spec:
        raise where.key(key).error("expected a mapping of species to fractions")
    names = list(gk.species_names)
    frac = np.zeros(len(names))
    for name, value in spec.items():
        loc = where.key(key).key(name)
        if str(name) not in names:
            raise loc.error(f"species {name!r} is not in the mechanism ({gk.source})")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise loc.error(f"expected a number, got {value!r}") from None
        if isinstance(value, bool) or not np.isfinite(v) or v < 0.0:
            raise loc.error(f"expected a non-negative finite fraction, got {value!r}")
        frac[names.index(str(name))] += v
    total = frac.sum()
    if not total > 0.0:
        raise where.key(key).error("the fractions sum to zero")
    frac /= total
    if key == "Y":
        moles = frac / gk.molar_masses
        frac = moles / moles.sum()
    return frac


def _moles_per_mass(gk, X):
    """phi_k = X_k / (sum_j X_j W_j), mol/kg."""
    return X / float(np.dot(X, gk.molar_masses))


def _system(gk, params):
    """The gas system tuple of :mod:`kernels.gas_reactors`."""
    from kernels.gas_kinetics import gas_workspace
    from kernels.gas_reactors import gas_placeholders

    n, m = gk.n_species, gk.n_reactions
    model0, rate_params0, kf0, kr0 = gas_placeholders()
    return (model0, rate_params0, kf0, kr0, np.ascontiguousarray(params, dtype=np.float64),
            np.zeros(6 * n), gk.model, gas_workspace(n, m), np.zeros((n, n)))


def _atol(gk, n_extra, options):
    """Absolute tolerances of the state: moles per kg from the tolerance on
    mass fractions (``options.atol``, as Cantera's ReactorNet takes it, or
    :data:`ATOL_MASS_FRACTION`), then T and the residence time."""
    atol_y = ATOL_MASS_FRACTION if options.atol is None else options.atol
    a = atol_y / gk.molar_masses
    tail = [ATOL_T, ATOL_TAU][:n_extra]
    return np.concatenate([a, tail])


# the default integrator of the gas reactors: the BDF's Jacobian and LU reuse
# beat Rodas5P's Jacobian per step on ignition at every tolerance measured
# (benchmarks/gas_ignition.py: h2o2 2-4x, gri30 6-12x fewer seconds)
DEFAULT_METHOD = "bdf"


def _options(options):
    """SolverOptions for a gas reactor; ``method="auto"`` is the BDF here (the
    liquid rule would pick Rodas5P for small mechanisms at loose tolerances,
    which is 2-10x slower on gas ignition)."""
    if options is None:
        return SolverOptions(method=DEFAULT_METHOD)
    if isinstance(options, dict):
        options = SolverOptions(**{"method": DEFAULT_METHOD, **options})
    if options.method == "auto":
        options = dataclasses.replace(options, method=DEFAULT_METHOD)
    return options


class _GasProfiles:
    """Mole fractions, mass fractions and concentrations of a gas profile
    (``phi`` moles per kg, ``rho`` kg/m^3 per point)."""

    def _fill(self, gk, phi, T, rho, P):
        self.species = list(gk.species_names)
        self._gk = gk
        S = phi.sum(axis=1)
        self.T = T
        self.P = P
        self.density = rho
        self.X = phi / S[:, None]
        self.Y = phi * gk.molar_masses[None, :]
        self.concentrations = phi * rho[:, None]
        self._phi = phi

    def __getitem__(self, species):
        """Mole-fraction profile of one species."""
        if species not in self.species:
            raise KeyError(f"no species {species!r} in the mechanism")
        return self.X[:, self.species.index(species)]

    def element_error(self):
        """Largest relative change of any element's moles per kg along the
        profile (conservation check; round-off level when all is well)."""
        E = self._gk.element_matrix            # (n_elements, n_species)
        b = self._phi @ E.T                     # mol of element per kg
        scale = np.maximum(np.abs(b[0]), 1e-300)
        keep = np.abs(b[0]) > 0
        return float(np.max(np.abs(b[:, keep] - b[0, keep]) / scale[keep])) if keep.any() else 0.0


class GasBatchResult(_GasProfiles):
    """An adiabatic gas batch in time: ``time`` (s), ``T`` (K), ``P`` (Pa),
    ``X``, ``Y``, ``concentrations`` (mol/m^3), ``density`` (kg/m^3), each a
    row per time; ``stats`` of the integrator; ``solution`` the dense output
    of the state [moles per kg, T]."""

    def __init__(self, gk, constant, time, phi, T, rho, P, solution, system, code, method):
        self._fill(gk, phi, T, rho, P)
        self.time = time
        self.constant = constant
        self.solution = solution
        self.stats = dict(solution.stats)
        self.method = method
        self._system = system
        self._code = code

    def heating_rates(self, states):
        """dT/dt (K/s) at the rows of ``states`` ([moles per kg, T])."""
        from kernels.gas_reactors import gas_rhs_rows

        states = np.ascontiguousarray(states, dtype=np.float64)
        out = np.empty_like(states)
        gas_rhs_rows(np.int64(self._code), states, self._system, out)
        return out[:, -1]

    @property
    def ignition_delay(self):
        """Time of the largest dT/dt (s); see :func:`ignition_delay`."""
        return ignition_delay(self)

    def to_dict(self):
        return {"kind": "gas_batch", "constant": self.constant,
                "species": self.species, "time": self.time.tolist(), "T": self.T.tolist(),
                "P": self.P.tolist(), "X": self.X.tolist(), "stats": self.stats,
                "method": self.method, "element_error": self.element_error()}


def ignition_delay(result):
    """Ignition delay of a gas batch: the time of the largest dT/dt, as in
    Cantera's examples.

    dT/dt is evaluated from the kernel's right-hand side at every accepted
    step, then on :data:`IGNITION_REFINE_POINTS` points of the integrator's
    dense output between the steps either side of the largest, and the
    maximum located by a parabola through the largest value and its two
    neighbours.

    Raises
    ------
    InputError
        When dT/dt is largest at the start or the end of the run (no ignition
        inside it: run longer, or the mixture does not ignite).
    """
    sol = result.solution
    t = sol.t
    rates = result.heating_rates(sol.y)
    i = int(np.argmax(rates))
    if i == 0 or i == len(t) - 1 or not rates[i] > 0.0:
        raise InputError(f"no ignition inside the run (dT/dt is largest at t = {t[i]:.6g} s of "
                         f"{t[-1]:.6g} s): run for longer", "<python>", "ignition_delay")
    grid = np.linspace(t[i - 1], t[i + 1], IGNITION_REFINE_POINTS)
    d = result.heating_rates(sol(grid))
    j = int(np.argmax(d))
    if j == 0 or j == len(grid) - 1:
        return float(grid[j])
    y0, y1, y2 = d[j - 1], d[j], d[j + 1]
    h = grid[1] - grid[0]
    den = y0 - 2.0 * y1 + y2
    shift = 0.5 * (y0 - y2) / den if den < 0.0 else 0.0
    return float(grid[j] + shift * h)


class GasBatchReactor:
    """Adiabatic ideal-gas batch reactor on a full Cantera mechanism.

    Parameters
    ----------
    mechanism
        ``Mechanism.from_cantera(...)``, a GasKinetics, a ``cantera.Solution``
        or a Cantera file name.
    T, P
        Initial temperature and pressure (quantities or SI numbers).
    X, Y
        Initial composition: exactly one of mole or mass fractions
        (normalised), a mapping or ``"H2:2, O2:1"``.
    constant : {"pressure", "volume"}
        Constant pressure (Cantera's ``IdealGasConstPressureReactor``) or
        constant volume (``IdealGasReactor``). The volume itself does not
        enter the intensive results; ``volume`` is accepted for the record.
    options : SolverOptions or dict, optional
        Tolerances and the integrator (default ``"bdf"``, see
        :data:`DEFAULT_METHOD`); for gas reactors ``atol`` is the absolute
        tolerance on mass fractions (as Cantera's ReactorNet takes it;
        default 1e-20).
    """

    def __init__(self, mechanism, T, P, X=None, Y=None, *, constant="pressure", volume=None,
                 options=None):
        where = Location("<python>", "GasBatchReactor")
        self.gas = gas_kinetics_of(mechanism, "GasBatchReactor.mechanism")
        self.T = parse_quantity(T, "temperature", where=where.key("T"), positive=True)
        self.P = parse_quantity(P, "pressure", where=where.key("P"), positive=True)
        if constant not in ("pressure", "volume"):
            raise where.key("constant").error(f"expected 'pressure' or 'volume', got {constant!r}")
        self.constant = constant
        self.volume = None if volume is None else parse_quantity(
            volume, "volume", where=where.key("volume"), positive=True)
        self.X = gas_composition(self.gas, X, Y, where)
        self.options = _options(options)

    def run(self, t_end, times=None):
        """Integrate from the initial state for ``t_end`` (a time quantity or s).

        ``times`` (s) chooses the reported times (default 201 evenly spaced
        from 0 to ``t_end``); the dense output covers every time in between.
        Returns a :class:`GasBatchResult`.
        """
        from kernels.gas_reactors import GAS_CONST_P, GAS_CONST_V

        t_end = parse_quantity(t_end, "time", where="GasBatchReactor.run.t_end", positive=True)
        times = (np.linspace(0.0, t_end, PROFILE_POINTS) if times is None
                 else np.asarray(times, dtype=float))
        if times.ndim != 1 or np.any(np.diff(times) < 0) or (times.size and (
                times[0] < 0 or times[-1] > t_end)):
            raise InputError("times must be sorted inside [0, t_end]", "<python>",
                             "GasBatchReactor.run.times")
        gk = self.gas
        phi0 = _moles_per_mass(gk, self.X)
        rho0 = self.P / (R_GAS * self.T * phi0.sum())
        if self.constant == "pressure":
            code, params = GAS_CONST_P, [self.P, 0.0, 1.0, 0.0, 0.0]
        else:
            code, params = GAS_CONST_V, [rho0, 0.0, 1.0, 0.0, 0.0]
        system = _system(gk, params)
        y0 = np.append(phi0, self.T)
        sol, y_eval = integrate(system, np.int64(code), y0, t_end, self.options, t_eval=times,
                                record=True, atol=_atol(gk, 1, self.options),
                                operation=f"gas batch at constant {self.constant}")
        phi = y_eval[:, :-1]
        T = y_eval[:, -1]
        S = phi.sum(axis=1)
        if self.constant == "pressure":
            P = np.full(T.shape, self.P)
            rho = self.P / (R_GAS * T * S)
        else:
            rho = np.full(T.shape, rho0)
            P = rho0 * S * R_GAS * T
        return GasBatchResult(gk, self.constant, times, phi, T, rho, P, sol, system, code,
                              sol.method)


class GasInlet:
    """A gas feed: ``mass_flow`` (kg/s) or ``flow`` (m^3/s at its T and P),
    ``T``, ``P`` and exactly one of ``X`` / ``Y`` (DESIGN.md, "Gas feeds")."""

    def __init__(self, gk, mass_flow=None, T=None, P=None, X=None, Y=None, flow=None,
                 where="inlet"):
        where = Location.coerce(where)
        if T is None or P is None:
            raise where.error("a gas feed needs T and P")
        self.T = parse_quantity(T, "temperature", where=where.key("T"), positive=True)
        self.P = parse_quantity(P, "pressure", where=where.key("P"), positive=True)
        self.X = gas_composition(gk, X, Y, where)
        self.mean_molar_mass = float(np.dot(self.X, gk.molar_masses))
        self.density = self.P * self.mean_molar_mass / (R_GAS * self.T)
        if (mass_flow is None) == (flow is None):
            raise where.error("give exactly one of mass_flow or flow")
        if mass_flow is not None:
            self.mass_flow = parse_quantity(mass_flow, "mass_flow", where=where.key("mass_flow"),
                                            positive=True)
        else:
            self.mass_flow = self.density * parse_quantity(flow, "flow", where=where.key("flow"),
                                                           positive=True)

    @classmethod
    def parse(cls, gk, inlet, where="inlet"):
        if isinstance(inlet, GasInlet):
            return inlet
        if not isinstance(inlet, dict):
            raise InputError("expected a gas feed mapping {mass_flow, T, P, X or Y}",
                             "<python>", str(where))
        allowed = {"mass_flow", "flow", "T", "P", "X", "Y", "name"}
        unknown = sorted(set(inlet) - allowed)
        if unknown:
            raise Location.coerce(where).key(unknown[0]).error(
                f"unknown key; a gas feed takes {', '.join(sorted(allowed))}")
        args = {k: v for k, v in inlet.items() if k != "name"}
        return cls(gk, where=where, **args)


class GasPFRResult(_GasProfiles):
    """A gas plug-flow reactor along its length: ``z`` (m), ``T``, ``P``,
    ``X``, ``Y``, ``concentrations``, ``density``, ``velocity`` (m/s),
    ``residence_time`` (s from the inlet), ``molar_flows`` (mol/s), each a row
    per point; ``outlet`` (a dict of the last point); ``stats``."""

    def __init__(self, gk, z, phi, T, tau, rho, P, area, mass_flow, solution, hydraulics=None):
        self._fill(gk, phi, T, rho, P)
        #: with friction: {"pressure_drop_Pa", "reynolds", "friction_factor",
        #: "flow_regime", "viscosity_Pa_s", "roughness_m"}; None at constant P
        self.hydraulics = hydraulics
        self.z = z
        self.residence_time = tau
        self.area = area
        self.mass_flow = mass_flow
        self.velocity = mass_flow / (rho * area)
        self.molar_flows = phi * mass_flow
        self.solution = solution
        self.stats = dict(solution.stats)
        self.method = solution.method

    @property
    def pressure_drop(self):
        """Inlet minus outlet pressure (Pa); 0 at constant pressure."""
        return float(self.P[0] - self.P[-1])

    @property
    def outlet(self):
        return {"T": float(self.T[-1]), "P": float(self.P[-1]),
                "X": dict(zip(self.species, self.X[-1].tolist())),
                "residence_time": float(self.residence_time[-1])}

    def to_dict(self):
        d = {"kind": "gas_pfr", "species": self.species, "z": self.z.tolist(),
             "T": self.T.tolist(), "P": self.P.tolist(), "X": self.X.tolist(),
             "residence_time": self.residence_time.tolist(), "outlet": self.outlet,
             "stats": self.stats, "method": self.method, "element_error": self.element_error()}
        if self.hydraulics is not None:
            d.update(self.hydraulics)
        return d


class GasPFR:
    """Steady ideal-gas plug-flow reactor in distance, at constant pressure or
    with frictional pressure drop.

    Parameters
    ----------
    mechanism
        As :class:`GasBatchReactor`.
    length, diameter
        Tube length and inner diameter.
    energy : "adiabatic" (default), "isothermal" or {U, coolant_T}
        With a wall, the heat U (4/d) (T_c - T) per volume enters the energy
        balance (adiabatic is U = 0).
    options : SolverOptions or dict, optional
    points : int
        Number of evenly spaced profile points (default 201).
    friction : bool
        False (default): constant pressure. True: P is a state along the
        tube, from the momentum balance with Darcy-Weisbach friction and the
        gas's acceleration, ``G du/dz + dP/dz = -f_D rho u^2 / (2 d)``
        (:data:`kernels.gas_reactors.GAS_PFR_FRICTION`); concentrations and
        density follow the local P.
    viscosity
        Dynamic viscosity of the gas (e.g. ``"1.8e-5 Pa*s"``), required with
        friction. It is taken as constant, so Re = G d / mu and the Darcy
        factor (:func:`flowchem.reactors.hydraulics.darcy_friction_factor`:
        64/Re laminar, Colebrook-White turbulent) are constant along the tube;
        give the value at a representative temperature.
    roughness
        Absolute wall roughness (default 0, hydraulically smooth).
    """

    def __init__(self, mechanism, length, diameter, energy="adiabatic", options=None, *,
                 points=PROFILE_POINTS, friction=False, viscosity=None, roughness=None):
        where = Location("<python>", "GasPFR")
        self.gas = gas_kinetics_of(mechanism, "GasPFR.mechanism")
        self.length = parse_quantity(length, "length", where=where.key("length"), positive=True)
        self.diameter = parse_quantity(diameter, "length", where=where.key("diameter"),
                                       positive=True)
        self.area = np.pi * self.diameter ** 2 / 4.0
        self.energy_mode, self.U, self.coolant_T = self._energy(energy, where.key("energy"))
        self.options = _options(options)
        self.points = int(points)
        self.friction, self.viscosity, self.roughness = self._friction(
            friction, viscosity, roughness, where)

    @staticmethod
    def _friction(friction, viscosity, roughness, where):
        """(friction, viscosity Pa s or None, roughness m), validated."""
        if not isinstance(friction, bool):
            raise where.key("friction").error(f"expected true or false, got {friction!r}")
        if not friction:
            for key, value in (("viscosity", viscosity), ("roughness", roughness)):
                if value is not None:
                    raise where.key(key).error("applies only with friction=True")
            return False, None, 0.0
        rough = 0.0 if roughness is None else parse_quantity(
            roughness, "length", where=where.key("roughness"), nonnegative=True)
        if viscosity is None:
            raise where.key("viscosity").error(
                "friction needs the gas's dynamic viscosity (e.g. '1.8e-5 Pa*s')")
        mu = parse_quantity(viscosity, "viscosity", where=where.key("viscosity"), positive=True)
        return True, mu, rough

    def friction_factor(self, mass_flow):
        """(Re, Darcy f_D, regime) of ``mass_flow`` (kg/s) in this tube at
        the constant viscosity (Re = G d / mu, G = mass_flow / area)."""
        from .hydraulics import LAMINAR_RE, TURBULENT_RE, darcy_friction_factor

        Re = mass_flow / self.area * self.diameter / self.viscosity
        f = darcy_friction_factor(Re, self.roughness / self.diameter)
        regime = ("laminar" if Re <= LAMINAR_RE else
                  "turbulent" if Re >= TURBULENT_RE else "transitional")
        return Re, f, regime

    @staticmethod
    def _energy(energy, where):
        if energy in ("adiabatic", None):
            return "adiabatic", 0.0, 0.0
        if energy == "isothermal":
            return "isothermal", 0.0, 0.0
        if isinstance(energy, dict):
            unknown = sorted(set(energy) - {"U", "coolant_T"})
            if unknown or "U" not in energy or "coolant_T" not in energy:
                raise where.error("expected 'isothermal', 'adiabatic' or {U, coolant_T}")
            U = parse_quantity(energy["U"], "heat_transfer_coefficient", where=where.key("U"),
                               nonnegative=True)
            Tc = parse_quantity(energy["coolant_T"], "temperature", where=where.key("coolant_T"),
                                positive=True)
            return "wall", U, Tc
        raise where.error(f"expected 'isothermal', 'adiabatic' or {{U, coolant_T}}, got {energy!r}")

    def run(self, inlet):
        """Integrate from the inlet (a :class:`GasInlet` or a mapping
        ``{mass_flow or flow, T, P, X or Y}``) to the outlet; returns a
        :class:`GasPFRResult`."""
        from kernels.gas_reactors import GAS_PFR

        gk = self.gas
        feed = GasInlet.parse(gk, inlet, Location("<python>", "GasPFR.run.inlet"))
        G = feed.mass_flow / self.area
        phi0 = _moles_per_mass(gk, feed.X)
        params = [feed.P, G, 0.0 if self.energy_mode == "isothermal" else 1.0,
                  self.U * 4.0 / self.diameter, self.coolant_T]
        if self.friction:
            return self._run_with_friction(feed, phi0, params)
        system = _system(gk, params)
        y0 = np.concatenate([phi0, [feed.T, 0.0]])
        z = np.linspace(0.0, self.length, max(self.points, 2))
        sol, y_eval = integrate(system, np.int64(GAS_PFR), y0, self.length, self.options,
                                t_eval=z, record=True, atol=_atol(gk, 2, self.options),
                                operation="gas plug-flow reactor")
        n = gk.n_species
        phi = y_eval[:, :n]
        T = y_eval[:, n]
        tau = y_eval[:, n + 1]
        rho = feed.P / (R_GAS * T * phi.sum(axis=1))
        if not np.all(np.isfinite(rho)):
            raise SolverError("gas plug-flow reactor", "non-finite density along the tube")
        result = GasPFRResult(gk, z, phi, T, tau, rho, np.full(T.shape, feed.P), self.area,
                              feed.mass_flow, sol)
        result._system, result._code = system, GAS_PFR      # for forward sensitivities
        return result

    def _run_with_friction(self, feed, phi0, params):
        """:meth:`run` with P a state (``GAS_PFR_FRICTION``)."""
        from kernels.gas_reactors import GAS_PFR_FRICTION

        operation = "gas plug-flow reactor"
        gk = self.gas
        G = params[1]
        Re, f, regime = self.friction_factor(feed.mass_flow)
        # squared isothermal Mach number at the inlet: u^2 rho / P
        mach2 = G * G / (feed.density * feed.P)
        if not mach2 < 1.0:
            raise SolverError(operation, f"the inlet flow is choked (u = {G / feed.density:.4g} "
                              "m/s reaches the isothermal speed of sound sqrt(P/rho)) at z = 0 m: "
                              "widen the tube or lower the mass flow")
        system = _system(gk, params + [f / (2.0 * self.diameter)])
        y0 = np.concatenate([phi0, [feed.T, 0.0, 1.0]])
        z = np.linspace(0.0, self.length, max(self.points, 2))
        atol = np.append(_atol(gk, 2, self.options), ATOL_PRESSURE_RATIO)
        try:
            sol, y_eval = integrate(system, np.int64(GAS_PFR_FRICTION), y0, self.length,
                                    self.options, t_eval=z, record=True, atol=atol,
                                    operation=operation)
        except SolverError as exc:
            raise SolverError(operation, _friction_failure(exc, self.length)) from None
        n = gk.n_species
        phi = y_eval[:, :n]
        T = y_eval[:, n]
        tau = y_eval[:, n + 1]
        P = y_eval[:, n + 2] * feed.P
        rho = P / (R_GAS * T * phi.sum(axis=1))
        if not (np.all(np.isfinite(rho)) and np.all(P > 0.0)):
            raise SolverError(operation, "the pressure falls to zero before the outlet "
                              f"(L = {self.length:.6g} m): shorten or widen the tube")
        hydraulics = {"pressure_drop_Pa": float(P[0] - P[-1]), "reynolds": float(Re),
                      "friction_factor": float(f), "flow_regime": regime,
                      "viscosity_Pa_s": self.viscosity, "roughness_m": self.roughness}
        result = GasPFRResult(gk, z, phi, T, tau, rho, P, self.area, feed.mass_flow, sol,
                              hydraulics)
        result._system, result._code = system, GAS_PFR_FRICTION
        return result


def _friction_failure(error, length):
    """The reason of a failed integration with pressure drop, with the length
    reached (the integrator's ``t_fail``: the tube is integrated in z)."""
    where = (f"at z = {error.t_fail:.6g} m of {length:.6g} m" if error.t_fail is not None
             else f"before z = {length:.6g} m")
    return (f"the integration with pressure drop stopped {where}; the usual cause is the "
            f"pressure falling toward zero or the flow choking (u reaching the isothermal "
            f"speed of sound): shorten or widen the tube or lower the mass flow "
            f"(integrator: {error.reason})")
