"""Gas routes: gas feeds, gas streams, their adiabatic mixing and the unit
operations a route runs on them (issue 12).

A route is a gas route when its mechanism is a gas mechanism (a
:class:`~flowchem.chemistry.gas_mechanism.GasPhaseMechanism`, or any mechanism
read from a Cantera ideal-gas file whose feeds are gas feeds). Its feeds are
read as in DESIGN.md ("Gas feeds")::

    - {name: fuel, mass_flow: 1 g/s, T: 1100 K, P: 1 atm, X: {H2: 2, O2: 1, AR: 7}}
    - {name: air,  flow: 10 L/min, T: 300 K, P: 1 atm, Y: {O2: 0.233, N2: 0.767}}

``flow`` is the volumetric flow at the feed's own T and P; ``P`` defaults to
1 atm as for liquid feeds; ``X`` (mole) or ``Y`` (mass fractions) are
normalised. A :class:`GasStream` carries T, P and the molar flows; its
volumetric flow and concentrations follow from the ideal-gas law at its T and
P, so its JSON entry has the keys of a liquid stream.

Operations on gas streams:

* ``mixer``: adiabatic, by total enthalpy (NASA-7 h of the species); the
  outlet T solves sum_k F_k h_k(T) = H_in by Newton, at the lowest inlet P.
* ``pfr``: the ideal-gas plug-flow reactor :class:`~flowchem.reactors.gas.GasPFR`
  at constant pressure, ``length`` and ``diameter`` (or ``volume`` and one of
  them), ``energy: adiabatic`` (the default for gas, as Cantera's flow
  reactor), ``isothermal`` (at ``T``, or the inlet T without one; a ``T``
  without ``energy`` means isothermal at T) or ``{U, coolant_T}``, and
  ``solver: {rtol, atol, method, max_steps}`` (over the route's ``solver:``;
  for gas reactors ``atol`` is on mass fractions, default 1e-20, and the
  method defaults to ``bdf``). ``friction: true`` adds the frictional
  pressure drop (P a state along the tube: Darcy-Weisbach with the gas's
  acceleration, see :class:`~flowchem.reactors.gas.GasPFR`); it needs
  ``diameter`` and the gas's ``viscosity`` (constant, e.g. ``1.8e-5 Pa*s``)
  and takes ``roughness`` (default 0); the outlet stream leaves at the
  outlet pressure and the result reports ``pressure_drop_Pa``.
* ``heat_exchanger``: brings the stream to ``T`` at constant P; the duty is
  the change of its total enthalpy.
* ``splitter``: as for liquids.

CSTRs, cascades, quenches and separators are refused for gas streams (an
InputError naming the operation) in this first version.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError, Location, SolverError
from ..core.units import parse_quantity
from ..core.yamlio import check_keys, check_mapping
from ..reactors.ideal import FlowResult
from .operations import OperationResult, Splitter, _Operation
from .stream import ATMOSPHERIC_PRESSURE, Stream

__all__ = ["GasStream", "is_gas_mechanism", "is_gas_route", "gas_feed", "mix_gas",
           "gas_operation_keys", "build_gas_operation", "GasMixer", "GasHeatExchanger",
           "GasPFROperation", "GasPFROperationResult"]

# J/(mol K), the value of kernels.thermo and Cantera
R_GAS = 8.31446261815324
GAS_FEED_KEYS = ("name", "mass_flow", "flow", "T", "P", "X", "Y")
# keys that mark a feed as a gas feed
GAS_ONLY_FEED_KEYS = ("X", "Y", "mass_flow")
GAS_OPERATION_KEYS = {
    "mixer": (),
    "splitter": ("fractions",),
    "heat_exchanger": ("T",),
    "pfr": ("volume", "length", "diameter", "T", "energy", "solver", "friction", "viscosity",
            "roughness"),
    "cstr": ("volume", "T", "energy", "initial", "solver"),
}
GAS_SOLVER_KEYS = ("rtol", "atol", "method", "max_steps")
# Newton on the mixture enthalpy: relative tolerance on T, iteration cap
NEWTON_RTOL = 1e-14
NEWTON_MAX_ITER = 50


# --------------------------------------------------------------------------- thermo


def _gas_kinetics(mechanism):
    return getattr(mechanism, "gas_kinetics", None)


def _species_h_cp(gk, T):
    """Molar enthalpies h_k (J/mol) and heat capacities cp_k (J/(mol K)) at ``T``."""
    from kernels.thermo import species_thermo

    n = gk.n_species
    cp_R, h_RT, s_R = np.empty(n), np.empty(n), np.empty(n)
    species_thermo(float(T), gk.nasa, cp_R, h_RT, s_R)
    return h_RT * (R_GAS * T), cp_R * R_GAS


def _temperature_of_enthalpy(gk, F, H, T_guess, where):
    """T with sum_k F_k h_k(T) = H (Newton on h(T); cp > 0 makes it monotone)."""
    T = float(T_guess)
    for _ in range(NEWTON_MAX_ITER):
        h, cp = _species_h_cp(gk, T)
        f = float(F @ h) - H
        dfdT = float(F @ cp)
        if not dfdT > 0.0:
            break
        step = f / dfdT
        T_new = T - step
        if T_new <= 0.0:
            T_new = 0.5 * T
        if abs(T_new - T) <= NEWTON_RTOL * T:
            return T_new
        T = T_new
    raise SolverError(where, f"no temperature found for the mixed enthalpy (last T = {T:.6g} K)")


# --------------------------------------------------------------------------- streams


class GasStream(Stream):
    """An ideal-gas stream: temperature ``T`` (K), pressure ``P`` (Pa) and the
    molar flow of every species (``molar_flows``, mol/s).

    Its volumetric flow ``flow`` (m^3/s at its T and P) and concentrations
    ``conc`` (mol/m^3) follow from the ideal-gas law; setting ``flow`` scales
    the molar flows at the same T and P (a splitter's outlets).
    """

    phase = "gas"

    def __init__(self, mechanism, molar_flows, T, P, name=None):
        gk = _gas_kinetics(mechanism)
        if gk is None:
            raise InputError("a gas stream needs a gas mechanism (a Cantera ideal-gas file)",
                             getattr(mechanism, "source", "<python>"), name or "stream")
        self.mechanism = mechanism
        self.gas = gk
        self.name = name
        self.properties = None
        self.solvent = None
        self.T = float(T)
        self.P = float(P)
        self._F = np.asarray(molar_flows, dtype=np.float64).copy()

    @classmethod
    def from_si(cls, mechanism, molar_flows, T, P, name=None):
        return cls(mechanism, molar_flows, T, P, name)

    def copy(self, name=None):
        return GasStream(self.mechanism, self._F, self.T, self.P,
                         name if name is not None else self.name)

    @property
    def molar_flows(self):
        """Molar flow of each species, mol/s."""
        return self._F

    @property
    def total_molar_flow(self):
        return float(self._F.sum())

    @property
    def flow(self):
        """Volumetric flow at the stream's T and P, m^3/s (ideal gas)."""
        return self.total_molar_flow * R_GAS * self.T / self.P

    @flow.setter
    def flow(self, value):
        self._F = self._F * (float(value) / self.flow)

    @property
    def conc(self):
        """Concentrations at T and P, mol/m^3: X_k P / (R T)."""
        return self._F * (self.P / (R_GAS * self.T * self.total_molar_flow))

    @property
    def X(self):
        return self._F / self.total_molar_flow

    @property
    def Y(self):
        m = self._F * self.gas.molar_masses
        return m / m.sum()

    @property
    def mass_flow(self):
        """kg/s (every species of a Cantera mechanism has a molar mass)."""
        return float(self._F @ self.gas.molar_masses)

    @property
    def density(self):
        """kg/m^3 at T and P."""
        return self.mass_flow / self.flow

    def enthalpy_flow(self, T=None):
        """Total enthalpy flow sum_k F_k h_k (W) at ``T`` (default: the stream's)."""
        h, _ = _species_h_cp(self.gas, self.T if T is None else T)
        return float(self._F @ h)

    def at_temperature(self, T, name=None):
        """The same molar flows at temperature ``T`` and the same pressure."""
        return GasStream(self.mechanism, self._F, T, self.P, name if name is not None else self.name)

    def to_dict(self):
        d = super().to_dict()
        d["phase"] = "gas"
        d["mole_fractions"] = {n: float(x) for n, x in zip(self.species_names, self.X)}
        return d

    def __repr__(self):
        parts = ", ".join(f"{n}={x:.4g}" for n, x in zip(self.species_names, self.X) if x)
        label = f"{self.name!r}, " if self.name else ""
        return (f"GasStream({label}{self.mass_flow:.4g} kg/s, T={self.T:.2f} K, "
                f"P={self.P:.6g} Pa, X: {parts or 'empty'})")


def mix_gas(streams, name=None, where="mixer"):
    """Adiabatic mixing of gas streams at the lowest inlet pressure: molar
    flows add and the outlet T conserves the total enthalpy (NASA-7)."""
    loc = Location.coerce(where)
    if not all(isinstance(s, GasStream) for s in streams):
        raise loc.error("cannot mix gas and liquid streams")
    gk = streams[0].gas
    F = sum(s.molar_flows for s in streams)
    H = sum(s.enthalpy_flow() for s in streams)
    # the molar-cp-weighted mean T is the exact answer at constant cp: a close start
    T0 = sum(s.total_molar_flow * s.T for s in streams) / float(F.sum())
    T = _temperature_of_enthalpy(gk, F, H, T0, f"mixer {name or ''}".strip())
    return GasStream(streams[0].mechanism, F, T, min(s.P for s in streams), name)


# --------------------------------------------------------------------------- route loading


def is_gas_mechanism(mechanism):
    """True when the mechanism carries gas kinetics (a Cantera ideal gas)."""
    return _gas_kinetics(mechanism) is not None


def is_gas_route(mechanism, feeds_data, where: Location):
    """Whether a route's feeds are gas feeds.

    A GasPhaseMechanism (reactions only the gas kernels represent) makes every
    feed a gas feed; a mechanism with gas kinetics that the liquid kernel also
    takes is a gas route when any feed gives X, Y or mass_flow. A gas feed on
    a mechanism without gas kinetics is refused here.
    """
    from ..chemistry.gas_mechanism import GasPhaseMechanism

    if isinstance(mechanism, GasPhaseMechanism):
        return True
    flagged = [i for i, fd in enumerate(feeds_data)
               if isinstance(fd, dict) and any(k in fd for k in GAS_ONLY_FEED_KEYS)]
    if not flagged:
        return False
    if not is_gas_mechanism(mechanism):
        i = flagged[0]
        key = next(k for k in GAS_ONLY_FEED_KEYS if k in feeds_data[i])
        raise where.key("feeds").item(i).key(key).error(
            "a gas feed needs a gas mechanism ('mechanism: {cantera: FILE}' of an ideal gas); "
            "this mechanism is liquid-phase: give 'conc:'")
    return True


def gas_feed(fd, mechanism, units, where: Location):
    """A :class:`GasStream` from a route's gas-feed mapping (validated)."""
    check_mapping(fd, where, "a mapping for a gas feed")
    if "conc" in fd:
        raise where.key("conc").error("a gas feed gives its composition as X (mole fractions) or "
                                      "Y (mass fractions), not 'conc' (a liquid feed on a gas "
                                      "mechanism)")
    check_keys(fd, GAS_FEED_KEYS, where)
    gk = _gas_kinetics(mechanism)
    from ..reactors.gas import gas_composition

    for key in ("name", "T"):
        if key not in fd:
            raise where.error(f"missing '{key}'")
    T = parse_quantity(fd["T"], "temperature", units, where.key("T"), positive=True)
    P = parse_quantity(fd.get("P", ATMOSPHERIC_PRESSURE), "pressure", units, where.key("P"),
                       positive=True)
    X = gas_composition(gk, fd.get("X"), fd.get("Y"), where)
    if ("mass_flow" in fd) == ("flow" in fd):
        raise where.error("give exactly one of 'mass_flow' or 'flow' (at the feed's T and P)")
    if "mass_flow" in fd:
        mass_flow = parse_quantity(fd["mass_flow"], "mass_flow", units, where.key("mass_flow"),
                                   positive=True)
        total = mass_flow / float(X @ gk.molar_masses)
    else:
        flow = parse_quantity(fd["flow"], "flow", units, where.key("flow"), positive=True)
        total = flow * P / (R_GAS * T)
    return GasStream(mechanism, X * total, T, P, fd.get("name"))


def gas_operation_keys(otype, where: Location):
    """Keys a gas-route operation of type ``otype`` takes; InputError for the
    types gas streams do not support yet."""
    if otype not in GAS_OPERATION_KEYS:
        raise where.key("type").error(
            f"a {otype} is not supported for gas streams yet (gas routes take "
            f"{', '.join(GAS_OPERATION_KEYS)})")
    return GAS_OPERATION_KEYS[otype]


def _merged_solver(route_solver, op_solver, where: Location):
    from ..reactors.gas import DEFAULT_METHOD
    from ..reactors.solver import SolverOptions

    spec = {"method": DEFAULT_METHOD}
    for raw, loc in ((route_solver, Location(where.source, "solver")),
                     (op_solver, where.key("solver"))):
        if raw is None:
            continue
        check_mapping(raw, loc, "a mapping of solver options")
        check_keys(raw, GAS_SOLVER_KEYS, loc)
        spec.update(raw)
    return SolverOptions(source=where.source, **spec)


def build_gas_operation(otype, name, od, units, source, where: Location, route_solver):
    """The operation object of a gas route (keys already checked)."""
    simple = dict(source=source, where=where.path)
    if otype == "mixer":
        return GasMixer(name, **simple)
    if otype == "splitter":
        if "fractions" not in od:
            raise where.error("missing 'fractions'")
        return Splitter(od["fractions"], name, **simple)
    if otype == "heat_exchanger":
        if "T" not in od:
            raise where.error("missing 'T' (the outlet temperature)")
        return GasHeatExchanger(od["T"], name, units=units, **simple)
    if otype == "pfr":
        options = _merged_solver(route_solver, od.get("solver"), where)
        return GasPFROperation(name, od, units, options, where)
    if otype == "cstr":
        options = _merged_solver(route_solver, od.get("solver"), where)
        return GasCSTROperation(name, od, units, options, where)
    raise AssertionError(otype)


# --------------------------------------------------------------------------- operations


def _reactor_inlet(stream):
    """The :class:`~flowchem.reactors.gas.GasInlet` of a gas stream (its T, P,
    composition and mass flow), without re-parsing quantities."""
    from ..reactors.gas import GasInlet

    inlet = GasInlet.__new__(GasInlet)
    inlet.T, inlet.P, inlet.X = stream.T, stream.P, stream.X
    inlet.mean_molar_mass = float(inlet.X @ stream.gas.molar_masses)
    inlet.density = stream.density
    inlet.mass_flow = stream.mass_flow
    return inlet


def _gas_inlets(op, inlets):
    inlets = [inlets] if isinstance(inlets, Stream) else list(inlets)
    if not inlets:
        raise op._loc().error("needs at least one inlet")
    for s in inlets:
        if not isinstance(s, GasStream):
            raise op._loc().error(f"{op.kind} {op.name}: expected gas streams, got "
                                  f"{type(s).__name__}")
    return inlets


class GasMixer(_Operation):
    """Adiabatic mixer of gas streams (see :func:`mix_gas`)."""

    kind = "mixer"
    multiple_inlets = True

    def run(self, inlets):
        inlets = _gas_inlets(self, inlets)
        out = mix_gas(inlets, name=self.name, where=self._loc())
        return OperationResult(self.kind, self.name, inlets, {"": out},
                               {"P_Pa": out.P, "mass_flow_kg_per_s": out.mass_flow})


class GasHeatExchanger(_Operation):
    """Brings a gas stream to ``T`` at constant pressure; the duty (W,
    positive for heating) is the change of its total enthalpy (NASA-7)."""

    kind = "heat_exchanger"

    def __init__(self, T, name=None, *, units=None, source="<python>", where=None):
        super().__init__(name, source=source, where=where)
        self.T = parse_quantity(T, "temperature", units, self._loc("T"), source=source, positive=True)

    def run(self, inlets):
        (feed,) = _gas_inlets(self, inlets)
        out = feed.at_temperature(self.T, self.name)
        duty = out.enthalpy_flow() - feed.enthalpy_flow()
        return OperationResult(self.kind, self.name, [feed], {"": out},
                               {"T_in_K": feed.T, "duty_W": duty})


class GasPFROperationResult(FlowResult):
    """A gas plug-flow reactor in a route: inlet and outlet gas streams, the
    profile (``z`` m, ``tau`` s, ``conc`` mol/m^3, ``T_profile`` K, ``X``)
    and the :class:`~flowchem.reactors.gas.GasPFRResult` as ``profile``."""

    kind = "pfr"

    def __init__(self, name, mechanism, inlet, outlet, volume, profile, thermal):
        super().__init__(name, mechanism, inlet, outlet, volume, outlet.T, profile.stats, thermal)
        self.profile = profile
        self.solution = profile.solution
        self.z = profile.z
        self.tau = profile.residence_time
        self.conc = profile.concentrations
        self.T_profile = profile.T

    @property
    def residence_time(self):
        """∫ dz / u along the tube (s); the gas expands or contracts as it reacts."""
        return float(self.profile.residence_time[-1])

    def plot(self, ax=None, species=None):
        """Mole fractions and temperature along the tube. Mole fractions, not
        concentrations: a gas's concentrations all fall as it heats up, which
        hides the chemistry. ``species`` defaults to those that reach 1 % of
        the largest mole fraction."""
        from ..reporting.plots import plot_profiles, plot_temperature

        X = self.conc / self.conc.sum(axis=1)[:, None]
        if species is None:
            peak = X.max(axis=0)
            species = [n for n, p in zip(self.species_names, peak) if p >= 0.01 * peak.max()]
        ax = plot_profiles(self.z, X, self.species_names, ax=ax, species=species,
                           x_label="position", x_unit="m", conc_unit=None,
                           title=f"gas PFR {self.name}")
        if np.ptp(self.T_profile) > 1e-6:
            plot_temperature(ax, self.z, self.T_profile, "position", "m")
        return ax


class GasPFROperation(_Operation):
    """A route's ``type: pfr`` on a gas stream: :class:`~flowchem.reactors.gas.GasPFR`."""

    kind = "pfr"

    def __init__(self, name, od, units, options, where: Location):
        super().__init__(name, source=where.source, where=where.path)
        given = {k: parse_quantity(od[k], "volume" if k == "volume" else "length", units,
                                   where.key(k), positive=True)
                 for k in ("volume", "length", "diameter") if k in od}
        if len(given) != 2:
            raise where.error("a gas PFR takes two of 'length', 'diameter' and 'volume' "
                              f"(got {', '.join(given) or 'none'})")
        if "volume" not in given:
            L, d = given["length"], given["diameter"]
        elif "length" in given:
            L = given["length"]
            d = float(np.sqrt(4.0 * given["volume"] / (np.pi * L)))
        else:
            d = given["diameter"]
            L = given["volume"] / (np.pi * d * d / 4.0)
        self.length, self.diameter = float(L), float(d)
        self.volume = np.pi * d * d / 4.0 * L
        self.T = None if od.get("T") is None else parse_quantity(
            od["T"], "temperature", units, where.key("T"), positive=True)
        self.energy_mode, self.U, self.coolant_T = self._energy(od.get("energy"), units,
                                                                where.key("energy"))
        self.options = options
        self.friction, self.viscosity, self.roughness = self._friction(od, units, where)

    @staticmethod
    def _friction(od, units, where):
        """(friction, viscosity Pa s, roughness m) of the operation's keys."""
        friction = od.get("friction", False)
        if not isinstance(friction, bool):
            raise where.key("friction").error(f"expected true or false, got {friction!r}")
        if not friction:
            extra = [k for k in ("viscosity", "roughness") if k in od]
            if extra:
                raise where.key(extra[0]).error("applies only with 'friction: true'")
            return False, None, None
        if "diameter" not in od:
            raise where.key("friction").error(
                "the pressure drop depends on the tube's diameter: give 'diameter' (with "
                "'length' or 'volume')")
        if "viscosity" not in od:
            raise where.key("friction").error(
                "the pressure drop needs the gas's dynamic 'viscosity' (e.g. 1.8e-5 Pa*s)")
        mu = parse_quantity(od["viscosity"], "viscosity", units, where.key("viscosity"),
                            positive=True)
        rough = parse_quantity(od.get("roughness", 0.0), "length", units,
                               where.key("roughness"), nonnegative=True)
        return True, mu, rough

    def _energy(self, energy, units, where):
        if energy is None:
            energy = "isothermal" if self.T is not None else "adiabatic"
        if energy in ("adiabatic", "isothermal"):
            mode, U, Tc = energy, 0.0, 0.0
        elif isinstance(energy, dict):
            check_keys(energy, ("U", "coolant_T"), where)
            for key in ("U", "coolant_T"):
                if key not in energy:
                    raise where.error(f"missing '{key}'")
            U = parse_quantity(energy["U"], "heat_transfer_coefficient", units, where.key("U"),
                               nonnegative=True)
            Tc = parse_quantity(energy["coolant_T"], "temperature", units, where.key("coolant_T"),
                                positive=True)
            mode = "cooled"
        else:
            raise where.error(f"expected 'isothermal', 'adiabatic' or {{U, coolant_T}}, got {energy!r}")
        if self.T is not None and mode != "isothermal":
            raise where.error(f"'T' fixes the temperature of an isothermal gas PFR; an {mode} "
                              "one starts at its inlet temperature (put a heat_exchanger in front)")
        return mode, U, Tc

    def run(self, inlets):
        from ..reactors.gas import GasPFR

        (feed,) = _gas_inlets(self, inlets)
        start = feed if self.T is None else feed.at_temperature(self.T)
        gk = feed.gas
        inlet = _reactor_inlet(start)
        energy = ({"U": self.U, "coolant_T": self.coolant_T} if self.energy_mode == "cooled"
                  else self.energy_mode)
        reactor = GasPFR(gk, self.length, self.diameter, energy=energy, options=self.options,
                         friction=self.friction, viscosity=self.viscosity,
                         roughness=self.roughness)
        try:
            prof = reactor.run(inlet)
        except SolverError as exc:
            raise SolverError(f"gas PFR {self.name}", getattr(exc, "reason", str(exc))) from None
        out = GasStream(feed.mechanism, prof.molar_flows[-1], prof.T[-1], prof.P[-1], self.name)
        k = int(np.argmax(prof.T))
        thermal = {
            "phase": "gas", "length_m": self.length, "diameter_m": self.diameter,
            "energy": self.energy_mode, "T_in_K": start.T, "P_Pa": start.P,
            "T_max_K": float(prof.T[k]), "z_T_max_m": float(prof.z[k]),
            "mass_flow_kg_per_s": start.mass_flow,
            # ideal-gas h does not depend on P: heat through the wall = H_in - H_out
            # (with friction too; the kinetic energy is left out)
            "heat_removed_W": start.enthalpy_flow() - out.enthalpy_flow(),
            "element_error": prof.element_error(),
        }
        if prof.hydraulics is not None:
            thermal.update(prof.hydraulics)
            thermal["P_out_Pa"] = out.P
        if self.energy_mode == "cooled":
            thermal.update({"U_W_per_m2_K": self.U, "coolant_T_K": self.coolant_T})
        if self.T is not None:
            thermal["preheat_duty_W"] = start.enthalpy_flow() - feed.enthalpy_flow()
        return GasPFROperationResult(self.name, feed.mechanism, start, out, self.volume, prof,
                                     thermal)


class GasCSTROperation(_Operation):
    """A route's ``type: cstr`` on a gas stream: the steady
    :class:`~flowchem.reactors.gas_cstr.GasCSTR` at the inlet's pressure.

    Keys: ``volume``; ``energy`` ``adiabatic`` (default) or ``isothermal``
    (at ``T`` if given, else at the inlet temperature); ``initial`` ``burnt``
    (default: start the steady-state search on the ignited branch) or
    ``inlet``; ``solver: {rtol, atol}``.
    """

    kind = "cstr"

    def __init__(self, name, od, units, options, where: Location):
        super().__init__(name, source=where.source, where=where.path)
        if "volume" not in od:
            raise where.error("missing 'volume'")
        self.volume = parse_quantity(od["volume"], "volume", units, where.key("volume"), positive=True)
        self.T = None if od.get("T") is None else parse_quantity(
            od["T"], "temperature", units, where.key("T"), positive=True)
        energy = od.get("energy", "isothermal" if self.T is not None else "adiabatic")
        if energy not in ("adiabatic", "isothermal"):
            raise where.key("energy").error(
                f"a gas CSTR is 'adiabatic' or 'isothermal', got {energy!r}")
        if self.T is not None and energy != "isothermal":
            raise where.key("T").error("'T' fixes the temperature of an isothermal gas CSTR; "
                                       "an adiabatic one starts from its inlet")
        initial = od.get("initial", "burnt")
        if initial not in ("burnt", "inlet"):
            raise where.key("initial").error(f"expected 'burnt' or 'inlet', got {initial!r}")
        self.energy_mode, self.initial, self.options = energy, initial, options

    def run(self, inlets):
        from ..reactors.gas_cstr import GasCSTR

        (feed,) = _gas_inlets(self, inlets)
        start = feed if self.T is None else feed.at_temperature(self.T)
        gk = feed.gas
        inlet = _reactor_inlet(start)
        tank = GasCSTR(gk, self.volume, energy=self.energy_mode, initial=self.initial,
                       options=self.options)
        try:
            res = tank.run(inlet)
        except SolverError as exc:
            raise SolverError(f"gas CSTR {self.name}", getattr(exc, "reason", str(exc))) from None
        X = np.asarray(res.X[0], dtype=float)
        molar_flows = X * (start.mass_flow / float(X @ gk.molar_masses))
        out = GasStream(feed.mechanism, molar_flows, float(res.T[0]), float(res.P[0]), self.name)
        thermal = {"phase": "gas", "energy": self.energy_mode, "T_in_K": start.T, "P_Pa": start.P,
                   "T_max_K": out.T, "mass_flow_kg_per_s": start.mass_flow,
                   "heat_removed_W": start.enthalpy_flow() - out.enthalpy_flow()}
        if self.T is not None:
            thermal["preheat_duty_W"] = start.enthalpy_flow() - feed.enthalpy_flow()
        stats = {"iterations": int(res.iterations), "residual": float(res.residual)}
        return GasCSTROperationResult(self.name, feed.mechanism, start, out, self.volume, res,
                                      stats, thermal)


class GasCSTROperationResult(FlowResult):
    """A steady gas CSTR in a route: inlet and outlet gas streams and the
    :class:`~flowchem.reactors.gas_cstr.GasCSTRResult` as ``tank``."""

    kind = "cstr"

    def __init__(self, name, mechanism, inlet, outlet, volume, tank, stats, thermal):
        super().__init__(name, mechanism, inlet, outlet, volume, outlet.T, stats, thermal)
        self.tank = tank

    @property
    def residence_time(self):
        """rho V / mass flow at the tank's own state (s)."""
        return float(self.tank.residence_time)
