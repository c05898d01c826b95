"""Constant-density liquid reactors: batch, plug flow, stirred tank and a
cascade of equal stirred tanks, isothermal or with an energy balance.

Each reactor is a model defined once (geometry, temperature, energy
balance) and run on a feed; the run returns a result object that holds named
species profiles, the outlet stream, solver statistics and a ``plot``
method::

    feed = fc.Stream(mech, flow="1 mL/min", T="50 degC", conc={"A": "1 mol/L"})
    res = fc.PFR(volume="2 mL").run(feed)
    res.outlet["B"], res["A"], res.plot()

    coil = fc.PFR(length="5 m", diameter="1 mm",
                  energy={"U": "300 W/m^2/K", "coolant_T": "20 degC"})
    coil.run(feed).T_max

Energy balances (``energy=``): ``"isothermal"`` (default; at ``T`` or the
inlet temperature), ``"adiabatic"``, or a mapping ``{U, coolant_T}`` for heat
transfer through the wall: a tube's area per volume is 4/d, a tank's is
``area``/``volume``. ``U: auto`` estimates U for laminar flow in a tube from
the liquid properties. The liquid's density and heat capacity come from
``properties=`` (a :class:`~flowchem.properties.LiquidProperties`), else
from the feed, else generic placeholders. The energy balances themselves
(parsing ``energy=``, heat rows, wall heat, the runaway screen and the
steady-state scan of tanks) live in :mod:`flowchem.reactors.energy`.

Every result reports finite, non-negative concentrations: a rate constant
that overflows at the reactor's temperature is refused as an input error, and
round-off negatives of the integrators are reported as zero
(:func:`clip_roundoff`).
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError, SolverError
from ..chemistry.properties import LiquidProperties
from .energy import (SENSITIVITY_LIMIT, U_AUTO_TANKS_ONLY, EnergyBalance, ThermalSetup,
                     heat_scale, isothermal_system_with_heat, runaway_screen, tank_steady_states,
                     wall_heat)
from .solver import (SolverOptions, integrate, make_energy_system, make_system,
                     steady_cstr_cascade)
from ..process.stream import Stream
from ..core.units import parse_quantity

PROFILE_POINTS = 201

#: Negative concentrations down to this many absolute tolerances are the
#: integrators' round-off and are reported as zero; below, the answer is wrong.
NEGATIVE_ROUNDOFF_ATOLS = 1.0e3


def clip_roundoff(conc, atol, operation):
    """Concentrations (mol/m^3, species on the last axis) with round-off
    negatives set to zero, so no result reports a negative concentration;
    :class:`SolverError` for a value below -NEGATIVE_ROUNDOFF_ATOLS * atol."""
    conc = np.asarray(conc, dtype=float)
    limit = -NEGATIVE_ROUNDOFF_ATOLS * np.asarray(atol, dtype=float)
    if np.any(conc < limit):
        raise SolverError(operation, "the solution has a negative concentration "
                                     f"({float(np.min(conc)):.3g} mol/m^3, below "
                                     f"{NEGATIVE_ROUNDOFF_ATOLS:g} times the absolute tolerance)")
    return np.maximum(conc, 0.0)


def refuse_overflowing_rate_constants(mechanism, T, source, where):
    """InputError (at ``source``/``where``) when a rate constant of the
    mechanism is not a finite number at temperature ``T`` (K): A, k_ref, Ea
    and b that overflow a double there describe no usable rate, and the
    integrators must not be handed inf."""
    system = make_system(mechanism, T)
    kf, kr = system[2], system[3]
    bad = np.flatnonzero(~(np.isfinite(kf) & np.isfinite(kr)))
    if bad.size:
        j = int(bad[0])
        which = "forward" if not np.isfinite(kf[j]) else "reverse"
        raise InputError(f"the {which} rate constant of reaction {mechanism.reaction_ids[j]} "
                         f"({mechanism.reactions[j].equation}) is not a finite number at "
                         f"T = {T:.6g} K (it overflows 1.8e308 in SI units): its rate parameters "
                         "describe no usable rate at this temperature", source, where)


def _options(options):
    if options is None:
        return SolverOptions()
    if isinstance(options, dict):
        return SolverOptions(**options)
    return options


class _Result:
    """Shared behaviour of reactor results: species lookup."""

    kind = "reactor"

    def _index(self, species):
        names = self.species_names
        if species not in names:
            raise KeyError(f"unknown species {species!r}; known: {', '.join(names)}")
        return names.index(species)

    @property
    def species_names(self):
        return self.mechanism.species_names


class BatchResult(_Result):
    """Concentrations (and temperature) against time of a batch run.

    Attributes: ``t`` (s), ``conc`` (len(t) x n, mol/m^3), ``T_profile`` (K),
    ``solution`` (interpolating :class:`~flowchem.solver.Solution` over the
    whole state), ``stats``. ``result["A"]`` is the concentration of A at
    every ``t``; ``result.at(t)`` interpolates the concentrations.
    """

    kind = "batch"

    def __init__(self, mechanism, T, t, conc, solution, T_profile=None):
        self.mechanism = mechanism
        self.T = T
        self.t = t
        self.conc = conc
        self.solution = solution
        self.stats = solution.stats
        self.T_profile = np.full(t.shape, T) if T_profile is None else T_profile

    def __getitem__(self, species):
        return self.conc[:, self._index(species)]

    def at(self, t):
        """Concentrations (mol/m^3) at time(s) t (s), by the method's dense output."""
        y = self.solution(t)
        return y[..., :self.mechanism.n_species]

    @property
    def final(self):
        return {n: float(c) for n, c in zip(self.species_names, self.conc[-1])}

    @property
    def T_max(self):
        return float(np.max(self.T_profile))

    def plot(self, ax=None, species=None, time_unit="min", conc_unit="mol/L"):
        from ..reporting.plots import plot_profiles, plot_temperature

        ax = plot_profiles(self.t, self.conc, self.species_names, ax=ax, species=species,
                           x_label="time", x_unit=time_unit, conc_unit=conc_unit,
                           title=f"Batch from {self.T - 273.15:.1f} °C")
        if np.ptp(self.T_profile) > 1e-6:
            plot_temperature(ax, self.t, self.T_profile, "time", time_unit)
        return ax


class FlowResult(_Result):
    """Common part of flow-reactor results: inlet, outlet, heat and JSON entry.

    ``thermal`` holds the energy-balance entries of the JSON result
    (``T_max_K``, ``heat_released_W``, ``heat_removed_W``, ...): heat
    released by the reactions = heat removed through the wall or jacket +
    rho cp Q (T_out - T_in). ``warnings`` lists safety and model warnings.
    """

    def __init__(self, name, mechanism, inlet, outlet, volume, T, stats, thermal=None):
        self.name = name
        self.mechanism = mechanism
        self.inlet = inlet
        self.outlet = outlet
        self.volume = volume
        self.T = T
        self.stats = stats
        self.thermal = thermal or {}
        self.warnings = []

    @property
    def residence_time(self):
        return self.volume / self.inlet.flow

    @property
    def T_max(self):
        return self.thermal.get("T_max_K", self.outlet.T)

    @property
    def outlets(self):
        """Outlet name -> stream, as for every unit operation (one outlet)."""
        return {"": self.outlet}

    def conversion(self, species):
        """Fractional conversion of ``species`` between inlet and outlet."""
        i = self._index(species)
        fin = self.inlet.molar_flows[i]
        if fin <= 0:
            raise ValueError(f"{species} is not fed to {self.name}")
        return 1.0 - self.outlet.molar_flows[i] / fin

    def to_dict(self):
        d = {"type": self.kind, "volume_m3": self.volume,
             "residence_time_s": self.residence_time, "T_out_K": self.outlet.T,
             "T_max_K": float(self.T_max)}
        d.update(self.thermal)
        d["warnings"] = list(self.warnings)
        d["solver"] = dict(self.stats)
        solution = getattr(self, "solution", None)
        if solution is not None:   # integrated profiles: which integrator ran
            d["solver"]["method"] = solution.method
        return d


class PFRResult(FlowResult):
    """Plug-flow profile along residence time ``tau`` (s), reactor volume
    ``volume_coordinate`` (m^3) and, when the length is known, position ``z``
    (m); ``T_profile`` (K) along the same points."""

    kind = "pfr"

    def __init__(self, name, mechanism, inlet, outlet, volume, T, stats, tau, conc, solution,
                 length=None, diameter=None, T_profile=None, thermal=None):
        super().__init__(name, mechanism, inlet, outlet, volume, T, stats, thermal)
        self.tau = tau
        self.conc = conc
        self.solution = solution
        self.length = length
        self.diameter = diameter
        self.volume_coordinate = tau * inlet.flow
        self.z = tau / tau[-1] * length if length is not None else None
        self.T_profile = np.full(tau.shape, outlet.T) if T_profile is None else T_profile

    def __getitem__(self, species):
        return self.conc[:, self._index(species)]

    def at(self, tau):
        """Concentrations at residence time(s) ``tau`` (s), by dense output."""
        y = self.solution(tau)
        return y[..., :self.mechanism.n_species]

    def to_dict(self):
        d = super().to_dict()
        if self.length is not None:
            d["length_m"] = self.length
            d["diameter_m"] = self.diameter
            d["mean_velocity_m_per_s"] = self.length / self.residence_time
        return d

    def plot(self, ax=None, species=None, x="tau", time_unit="min", conc_unit="mol/L",
             temperature=None):
        """Concentration profiles; with a temperature change (or
        ``temperature=True``) the temperature on a second axis."""
        from ..reporting.plots import plot_profiles, plot_temperature

        if x == "z" and self.z is not None:
            xs, label, unit = self.z, "position", "m"
        else:
            xs, label, unit = self.tau, "residence time", time_unit
        ax = plot_profiles(xs, self.conc, self.species_names, ax=ax, species=species,
                           x_label=label, x_unit=unit, conc_unit=conc_unit,
                           title=f"PFR {self.name}")
        if temperature or (temperature is None and np.ptp(self.T_profile) > 1e-6):
            plot_temperature(ax, xs, self.T_profile, label, unit)
        return ax


class CSTRResult(FlowResult):
    """Steady state of a stirred tank, or of each tank of a cascade
    (``tanks``: n x species, mol/m^3; the last row is the outlet;
    ``tank_T``: their temperatures). With an energy balance, a single tank
    also lists ``steady_states`` (every one found) and keeps the heat
    generation and removal curves (``plot_heat_balance``)."""

    kind = "cstr"

    def __init__(self, name, mechanism, inlet, outlet, volume, T, stats, tanks, tank_T=None,
                 thermal=None, steady_states=None, heat_curve=None):
        super().__init__(name, mechanism, inlet, outlet, volume, T, stats, thermal)
        self.tanks = tanks
        self.tank_T = np.full(tanks.shape[0], outlet.T) if tank_T is None else tank_T
        self.steady_states = steady_states or []
        self.heat_curve = heat_curve

    @property
    def n_tanks(self):
        return self.tanks.shape[0]

    @property
    def conc(self):
        return self.outlet.conc

    def __getitem__(self, species):
        """Concentration of ``species`` in each tank (array of length n)."""
        return self.tanks[:, self._index(species)]

    def to_dict(self):
        d = super().to_dict()
        if self.kind == "cstr_cascade":
            d["n"] = self.n_tanks
            d["tanks_conc_mol_per_m3"] = [
                {n: float(c) for n, c in zip(self.species_names, row)} for row in self.tanks]
            d["tanks_T_K"] = [float(t) for t in self.tank_T]
        if self.steady_states:
            d["steady_states"] = [s.to_dict(self.species_names) for s in self.steady_states]
        return d

    def plot(self, ax=None, species=None, conc_unit="mol/L"):
        from ..reporting.plots import plot_tanks

        return plot_tanks(self.tanks, self.inlet.conc, self.species_names, ax=ax, species=species,
                          conc_unit=conc_unit,
                          title=(f"CSTR cascade {self.name} ({self.n_tanks} tanks)"
                                 if self.kind == "cstr_cascade" else f"CSTR {self.name}"))

    def plot_heat_balance(self, ax=None):
        """Heat generation and removal against tank temperature, with the
        steady states marked (available with an energy balance)."""
        if self.heat_curve is None:
            raise ValueError(f"{self.name} has no energy balance: no heat-balance curve")
        return self.heat_curve.plot(ax=ax, steady_states=self.steady_states,
                                    title=f"CSTR {self.name}: heat generation and removal")


class _FlowReactor:
    """Shared parsing of reactor geometry, temperature, energy balance and options."""

    kind = "reactor"

    def __init__(self, volume=None, T=None, name=None, options=None, *, units=None,
                 source="<python>", where=None, energy=None, properties=None):
        self.name = name or self.kind.upper()
        self.where = where or self.name
        self.source = source
        self.volume = None if volume is None else parse_quantity(
            volume, "volume", units, source=source, where=f"{self.where}.volume", positive=True)
        self.T = None if T is None else parse_quantity(
            T, "temperature", units, source=source, where=f"{self.where}.T", positive=True)
        self.options = _options(options)
        self.energy = EnergyBalance.parse(energy, units, source, f"{self.where}.energy")
        if not self.energy.isothermal and self.T is not None:
            raise InputError(f"'T' fixes the temperature of an isothermal reactor; an {self.energy.mode} "
                             "reactor starts from its inlet temperature (give coolant_T for the wall)",
                             source, f"{self.where}.T")
        if properties is not None and not isinstance(properties, LiquidProperties):
            properties = LiquidProperties.from_mapping(properties, units, source, f"{self.where}.properties")
        self.properties = properties

    def _temperature(self, feed):
        return feed.T if self.T is None else self.T

    def _check_feed(self, feed):
        if not isinstance(feed, Stream):
            raise InputError(f"expected a Stream as feed, got {type(feed).__name__}", self.source, self.where)
        if feed.flow <= 0:
            raise InputError("the feed has no flow", self.source, self.where)

    def _liquid(self, feed):
        return self.properties or getattr(feed, "properties", None) or LiquidProperties.default()

    def _thermal(self, feed):
        props = self._liquid(feed)
        e = self.energy
        if e.mode != "cooled":
            return ThermalSetup(e.mode, props)
        U, source = self._heat_transfer_coefficient(feed, props)
        return ThermalSetup("cooled", props, U * self._area_per_volume(), e.coolant_T, U, source)

    def _heat_transfer_coefficient(self, feed, props):
        if self.energy.U != "auto":
            return self.energy.U, "given"
        raise InputError(U_AUTO_TANKS_ONLY, self.source, f"{self.where}.energy.U")

    def _area_per_volume(self):
        raise NotImplementedError

    def _check_rate_constants(self, mechanism, T):
        refuse_overflowing_rate_constants(mechanism, T, self.source, self.where)

    def _located(self, exc, key):
        """An InputError raised by a Python-level helper (hydraulics, heat
        transfer), moved to this reactor's entry of the input file."""
        if exc.source in ("", "<python>"):
            return InputError(f"{exc.location + ': ' if exc.location else ''}{exc.problem}",
                              self.source, f"{self.where}.{key}" if key else self.where)
        return exc

    def _screen(self, result, feed, thermal):
        """Worst-case adiabatic temperature rise against the stated limit."""
        entries, warnings = runaway_screen(self.name, feed.mechanism, feed.conc, thermal.rho_cp,
                                           self.energy.max_adiabatic_rise)
        result.thermal.update(entries)
        result.warnings.extend(warnings)


class PFR(_FlowReactor):
    """Plug-flow tube: give ``volume``, or ``length`` and ``diameter``
    (``coil_diameter`` for a coiled tube).

    Constant density: the batch equations in residence time tau = V/Q, with
    position z = tau * u; with an energy balance the temperature is integrated
    with the concentrations, and the hot spot and its parametric sensitivity
    to the coolant (or inlet) temperature are reported. Tubes of known
    length and diameter report velocity, Reynolds and Dean numbers and the
    pressure drop.
    """

    kind = "pfr"

    def __init__(self, volume=None, T=None, name=None, options=None, *, length=None,
                 diameter=None, coil_diameter=None, units=None, source="<python>", where=None,
                 energy=None, properties=None):
        super().__init__(volume, T, name, options, units=units, source=source, where=where,
                         energy=energy, properties=properties)
        self.length = None if length is None else parse_quantity(
            length, "length", units, source=source, where=f"{self.where}.length", positive=True)
        self.diameter = None if diameter is None else parse_quantity(
            diameter, "length", units, source=source, where=f"{self.where}.diameter", positive=True)
        self.coil_diameter = None if coil_diameter is None else parse_quantity(
            coil_diameter, "length", units, source=source, where=f"{self.where}.coil_diameter",
            positive=True)
        if self.volume is None:
            if self.length is None or self.diameter is None:
                raise InputError("a PFR needs 'volume', or 'length' and 'diameter'", source, self.where)
            self.volume = self.length * np.pi * self.diameter ** 2 / 4.0
        elif self.length is not None or self.diameter is not None:
            if self.length is not None and self.diameter is not None:
                raise InputError("give either 'volume' or 'length' and 'diameter', not both", source, self.where)
            # volume and one dimension: derive the other
            area = self.volume / self.length if self.length is not None else np.pi * self.diameter ** 2 / 4
            if self.length is None:
                self.length = self.volume / area
            else:
                self.diameter = float(np.sqrt(4.0 * area / np.pi))
        if self.energy.mode == "cooled" and self.diameter is None:
            raise InputError("wall heat transfer needs the tube 'diameter' (area per volume = 4/d)",
                             source, f"{self.where}.energy")

    def _area_per_volume(self):
        return 4.0 / self.diameter

    def _heat_transfer_coefficient(self, feed, props):
        if self.energy.U != "auto":
            return self.energy.U, "given"
        from .hydraulics import laminar_heat_transfer

        if props.thermal_conductivity is None:
            raise InputError("U: auto needs the liquid's thermal_conductivity in 'properties'",
                             self.source, f"{self.where}.energy.U")
        try:
            ht = laminar_heat_transfer(feed.flow, self.diameter, props.density, props.viscosity,
                                       props.cp, props.thermal_conductivity, length=self.length,
                                       coil_diameter=self.coil_diameter,
                                       wall_thickness=self.energy.wall_thickness,
                                       wall_conductivity=self.energy.wall_conductivity,
                                       h_outer=self.energy.h_outer)
        except InputError as exc:
            raise self._located(exc, "energy.U") from None
        return ht.U_W_per_m2_K, f"laminar estimate ({ht.correlation})"

    def hydraulics(self, feed):
        """Velocity, Reynolds and Dean numbers and pressure drop for the
        feed's flow; None without length and diameter."""
        from .hydraulics import pressure_drop

        if self.length is None or self.diameter is None:
            return None
        props = self._liquid(feed)
        try:
            return pressure_drop(feed.flow, self.length, self.diameter, props.density,
                                 props.viscosity, coil_diameter=self.coil_diameter)
        except InputError as exc:
            raise self._located(exc, "") from None

    def _solve(self, feed, thermal, T_in, coolant_T, n_points, record=True):
        """Integrate along the tube; returns (sol, y_eval, t_eval, has_heat_row)."""
        from kernels.problems import BATCH, BATCH_ENERGY

        mech = feed.mechanism
        n = mech.n_species
        tau = self.volume / feed.flow
        t_eval = np.linspace(0.0, tau, n_points)
        atol_c = self.options.atol_vector(feed.conc)
        heat_atol = -1e-10 * heat_scale(mech, feed.conc)   # negative: may change sign
        self._check_rate_constants(mech, T_in)
        if thermal.mode == "isothermal":
            system, has_heat = isothermal_system_with_heat(mech, T_in)
            y0 = np.concatenate([feed.conc, [0.0]]) if has_heat else feed.conc.copy()
            atol = np.concatenate([atol_c, [heat_atol]]) if has_heat else atol_c
            code = BATCH
        else:
            system = make_energy_system(mech, thermal.rho_cp, thermal.ua_per_volume / thermal.rho_cp,
                                        coolant_T if coolant_T is not None else 0.0)
            y0 = np.concatenate([feed.conc, [0.0, T_in]])
            atol = np.concatenate([atol_c, [heat_atol, 1e-9]])
            code = BATCH_ENERGY
        sol, y_eval = integrate(system, code, y0, tau, self.options, t_eval=t_eval, atol=atol,
                                operation=self.name, record=record)
        y_eval[-1] = sol.y[-1]
        return sol, y_eval, t_eval, y0.size > n

    @staticmethod
    def _hot_spot(sol):
        """Maximum temperature and the residence time where it sits, refined
        on the dense output."""
        from scipy.optimize import minimize_scalar

        T_col = sol.y[:, -1]
        k = int(np.argmax(T_col))
        t_best, T_best = float(sol.t[k]), float(T_col[k])
        lo, hi = sol.t[max(k - 1, 0)], sol.t[min(k + 1, len(sol.t) - 1)]
        if hi > lo:
            res = minimize_scalar(lambda t: -float(sol(t)[-1]), bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-9 * (hi - lo)})
            if -res.fun > T_best:
                t_best, T_best = float(res.x), float(-res.fun)
        return T_best, t_best

    def run(self, feed, n_points=PROFILE_POINTS):
        self._check_feed(feed)
        mech = feed.mechanism
        n = mech.n_species
        thermal = self._thermal(feed)
        T_in = self._temperature(feed) if thermal.mode == "isothermal" else feed.T
        sol, y_eval, t_eval, has_heat = self._solve(feed, thermal, T_in, thermal.coolant_T, n_points)
        sol.names = mech.species_names
        atol_c = self.options.atol_vector(feed.conc)
        c_out = clip_roundoff(sol.y[-1, :n], atol_c, self.name)
        tau = t_eval[-1]
        info = {"energy": thermal.mode}
        if thermal.mode == "isothermal":
            T_profile = np.full(t_eval.shape, T_in)
            T_out = T_in
            info["T_max_K"] = T_in
        else:
            T_profile = y_eval[:, n + 1]
            T_out = float(sol.y[-1, n + 1])
            T_max, t_max = self._hot_spot(sol)
            info["T_max_K"] = T_max
            info["T_max_residence_time_s"] = t_max
            if self.length is not None:
                info["T_max_position_m"] = t_max / tau * self.length
        released = float(sol.y[-1, n]) * feed.flow if has_heat else 0.0
        info["heat_released_W"] = released
        info["heat_removed_W"] = released - thermal.rho_cp * feed.flow * (T_out - feed.T)
        if thermal.mode == "cooled":
            # heat through the wall, integrated independently of the energy
            # equation (Gauss-Legendre on every step of the dense output)
            wall = wall_heat(sol, thermal) * feed.flow
            info["U_W_per_m2_K"] = thermal.U
            info["U_source"] = thermal.U_source
            info["coolant_T_K"] = thermal.coolant_T
            info["heat_removed_W"] = wall
            info["energy_closure_rel"] = abs(released - wall - thermal.rho_cp * feed.flow *
                                             (T_out - feed.T)) / max(abs(released), abs(wall), 1e-300)
        elif thermal.mode == "adiabatic":
            info["energy_closure_rel"] = abs(released - thermal.rho_cp * feed.flow * (T_out - feed.T)) \
                / max(abs(released), 1e-300)
        hyd = self.hydraulics(feed)
        if hyd is not None:
            info["pressure_drop_Pa"] = hyd.pressure_drop_Pa
            info["reynolds"] = hyd.Re
            info["dean"] = hyd.Dean
            info["flow_regime"] = hyd.regime
        outlet = Stream.from_si(mech, feed.flow, T_out, c_out,
                                feed.P - (hyd.pressure_drop_Pa if hyd is not None else 0.0), self.name)
        outlet.properties = thermal.props
        result = PFRResult(self.name, mech, feed, outlet, self.volume, T_in, sol.stats, t_eval,
                           clip_roundoff(y_eval[:, :n], atol_c, self.name), sol, self.length,
                           self.diameter, T_profile, info)
        if hyd is not None and hyd.pressure_drop_Pa >= feed.P:
            # the outlet pressure P_in - dP is kept (balances), but it is not a pressure
            result.warnings.append(
                f"{self.name}: the pressure drop {hyd.pressure_drop_Pa / 1e5:.4g} bar exceeds the "
                f"inlet pressure {feed.P / 1e5:.4g} bar: give the feed's P (what the pump must "
                "deliver), or a wider or shorter tube")
        if has_heat:
            self._screen(result, feed, thermal)
            if thermal.mode != "isothermal":
                self._sensitivity(result, feed, thermal)
        return result

    def _sensitivity(self, result, feed, thermal, delta=0.5):
        """Gain of the hot spot, dT_max/dT_coolant (or dT_max/dT_inlet for an
        adiabatic tube), by central differences."""
        # a perturbation smaller than the temperature itself (T - delta > 0)
        delta = min(delta, 0.25 * min(feed.T, thermal.coolant_T or feed.T))

        def t_max(T_in, coolant):
            sol = self._solve(feed, thermal, T_in, coolant, 2)[0]
            return self._hot_spot(sol)[0]

        if thermal.mode == "cooled":
            Tc = thermal.coolant_T
            gain = (t_max(feed.T, Tc + delta) - t_max(feed.T, Tc - delta)) / (2 * delta)
            what = "coolant"
        else:
            gain = (t_max(feed.T + delta, None) - t_max(feed.T - delta, None)) / (2 * delta)
            what = "inlet"
        result.thermal["hot_spot_sensitivity"] = gain
        result.thermal["hot_spot_sensitivity_to"] = f"{what}_T"
        if gain > SENSITIVITY_LIMIT:
            result.warnings.append(
                f"{self.name}: parametrically sensitive: the hot spot moves {gain:.1f} K per K of "
                f"{what} temperature (limit {SENSITIVITY_LIMIT:g}); near runaway")


class CSTRCascade(_FlowReactor):
    """``n`` equal stirred tanks in series; ``volume`` is their total (and so
    is a jacket ``area`` in the energy balance)."""

    kind = "cstr_cascade"

    def __init__(self, n, volume, T=None, name=None, options=None, *, units=None,
                 source="<python>", where=None, energy=None, properties=None,
                 find_all_steady_states=None):
        super().__init__(volume, T, name, options, units=units, source=source, where=where,
                         energy=energy, properties=properties)
        if self.volume is None:
            raise InputError(f"a {self.kind} needs a 'volume'", source, self.where)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"expected a whole number of tanks >= 1, got {n!r}", source, f"{self.where}.n")
        self.n = int(n)
        if self.energy.mode == "cooled" and self.energy.area is None:
            raise InputError("a cooled tank needs the jacket 'area'", source, f"{self.where}.energy")
        if self.energy.U == "auto":
            raise InputError(U_AUTO_TANKS_ONLY, source, f"{self.where}.energy.U")
        self.find_all_steady_states = (self.n == 1) if find_all_steady_states is None \
            else bool(find_all_steady_states)

    def _area_per_volume(self):
        return self.energy.area / self.volume

    def run(self, feed):
        self._check_feed(feed)
        mech = feed.mechanism
        n = mech.n_species
        thermal = self._thermal(feed)
        tau_each = self.volume / self.n / feed.flow
        self._check_rate_constants(mech, self._temperature(feed) if thermal.mode == "isothermal"
                                   else feed.T)
        atol_c = self.options.atol_vector(feed.conc)
        heat_atol = -1e-10 * heat_scale(mech, feed.conc)   # negative: may change sign
        if thermal.mode == "isothermal":
            from kernels.problems import CSTR_TRANSIENT

            T = self._temperature(feed)
            system, has_heat = isothermal_system_with_heat(mech, T)
            y_in = np.concatenate([feed.conc, [0.0]]) if has_heat else feed.conc
            atol = np.concatenate([atol_c, [heat_atol]]) if has_heat else atol_c
            states, stats = self._tanks(system, y_in, tau_each, atol, CSTR_TRANSIENT, has_heat, n)
            tank_T = np.full(self.n, T)
        else:
            from kernels.problems import CSTR_ENERGY

            has_heat = True
            system = make_energy_system(mech, thermal.rho_cp, thermal.ua_per_volume / thermal.rho_cp,
                                        thermal.coolant_T if thermal.coolant_T is not None else 0.0)
            y_in = np.concatenate([feed.conc, [0.0, feed.T]])
            atol = np.concatenate([atol_c, [heat_atol, 1e-9]])
            states, stats = self._tanks(system, y_in, tau_each, atol, CSTR_ENERGY, True, n)
            tank_T = states[:, n + 1]
            T = feed.T
        tanks = clip_roundoff(states[:, :n], atol_c, self.name)
        T_out = float(tank_T[-1])
        released = float(np.sum(states[:, n])) * feed.flow if has_heat else 0.0
        info = {"energy": thermal.mode, "T_max_K": float(np.max(tank_T)),
                "heat_released_W": released,
                "heat_removed_W": released - thermal.rho_cp * feed.flow * (T_out - feed.T)}
        if thermal.mode == "cooled":
            wall = float(np.sum(thermal.ua_per_volume * (tank_T - thermal.coolant_T))) * \
                self.volume / self.n
            info.update({"U_W_per_m2_K": thermal.U, "coolant_T_K": thermal.coolant_T,
                         "jacket_area_m2": self.energy.area, "heat_removed_W": wall,
                         "energy_closure_rel": abs(released - wall - thermal.rho_cp * feed.flow *
                                                   (T_out - feed.T)) / max(abs(released), abs(wall), 1e-300)})
        elif thermal.mode == "adiabatic":
            info["energy_closure_rel"] = abs(released - thermal.rho_cp * feed.flow * (T_out - feed.T)) \
                / max(abs(released), 1e-300)
        outlet = Stream.from_si(mech, feed.flow, T_out, tanks[-1], feed.P, self.name)
        outlet.properties = thermal.props
        result = CSTRResult(self.name, mech, feed, outlet, self.volume, T, stats, tanks, tank_T, info)
        result.kind = self.kind
        if has_heat:
            self._screen(result, feed, thermal)
        if thermal.mode != "isothermal" and self.find_all_steady_states:
            self._multiplicity(result, feed, thermal, tau_each, states)
        return result

    def _tanks(self, system, y_in, tau_each, atol, code, has_heat, heat_row):
        """Tank by tank. The heat row is per tank (each tank's inlet carries
        zero heat released), so tanks are chained here, not in the kernel,
        when it is present."""
        if not has_heat:
            return steady_cstr_cascade(system, y_in, tau_each, self.n, self.options,
                                       operation=self.name, code=code, atol=atol)
        states = np.zeros((self.n, y_in.size))
        total = None
        inlet = y_in.copy()
        for k in range(self.n):
            label = self.name if self.n == 1 else f"{self.name} tank {k + 1}"
            st, stats = steady_cstr_cascade(system, inlet, tau_each, 1, self.options,
                                            operation=label, code=code, atol=atol)
            states[k] = st[0]
            total = stats if total is None else {key: total[key] + v for key, v in stats.items()}
            inlet = st[0].copy()
            inlet[heat_row] = 0.0
        return states, total

    def _multiplicity(self, result, feed, thermal, tau_each, states):
        """Every steady state of each tank (scan in T), the operating one
        named, and the temperatures the scan could not cover."""
        per_tank, curve, warnings, scans = tank_steady_states(
            self.name, feed.mechanism, feed, thermal, tau_each, states, self.options)
        result.heat_curve = curve
        result.warnings.extend(warnings)
        result.steady_states = per_tank[0] if self.n == 1 else [s for tank in per_tank for s in tank]
        if self.n == 1:
            result.thermal["n_steady_states"] = len(per_tank[0])
            result.thermal["steady_state_scan"] = scans[0].to_dict()
        else:
            result.thermal["n_steady_states"] = [len(f) for f in per_tank]
            result.thermal["steady_state_scan"] = [scan.to_dict() for scan in scans]


class CSTR(CSTRCascade):
    """Continuous stirred-tank reactor at steady state."""

    kind = "cstr"

    def __init__(self, volume, T=None, name=None, options=None, *, units=None,
                 source="<python>", where=None, energy=None, properties=None,
                 find_all_steady_states=None):
        super().__init__(1, volume, T, name, options, units=units, source=source, where=where,
                         energy=energy, properties=properties,
                         find_all_steady_states=find_all_steady_states)


class BatchReactor:
    """Well-mixed, constant-volume liquid batch reactor.

    ``energy``: ``"isothermal"`` (default, at ``T``), ``"adiabatic"`` (from
    ``T``), or ``{U, coolant_T, area}`` with ``volume`` for a jacketed vessel;
    ``U`` is a number there (``U: auto`` is a tube correlation: a vessel's U
    depends on agitation that is not modelled).
    """

    def __init__(self, mechanism, T, options=None, *, energy=None, properties=None, volume=None):
        self.mechanism = mechanism
        self.T = parse_quantity(T, "temperature", where="BatchReactor.T", positive=True)
        self.options = _options(options)
        self.energy = EnergyBalance.parse(energy, where="BatchReactor.energy")
        self.volume = None if volume is None else parse_quantity(volume, "volume",
                                                                 where="BatchReactor.volume", positive=True)
        if properties is not None and not isinstance(properties, LiquidProperties):
            properties = LiquidProperties.from_mapping(properties, where="BatchReactor.properties")
        self.properties = properties or LiquidProperties.default()
        if self.energy.mode == "cooled" and (self.energy.area is None or self.volume is None):
            raise InputError("a cooled batch reactor needs the jacket 'area' and the 'volume'",
                             "<python>", "BatchReactor.energy")
        if self.energy.U == "auto":
            raise InputError(U_AUTO_TANKS_ONLY, "<python>", "BatchReactor.energy.U")

    def run(self, conc, time, t_eval=None):
        """Integrate from initial concentrations ``conc`` for ``time``.

        ``conc`` is a mapping (species to concentration, with units or
        mol/m^3), an array, or a :class:`Stream`. ``t_eval`` (s) chooses the
        reported times; by default 201 evenly spaced points.
        """
        from kernels.problems import BATCH, BATCH_ENERGY

        if isinstance(conc, Stream):
            c0 = conc.conc.copy()
        else:
            c0 = Stream(self.mechanism, 1.0, self.T, conc, where="BatchReactor.run").conc
        t_end = parse_quantity(time, "time", where="BatchReactor.run.time", positive=True)
        if t_eval is None:
            t_eval = np.linspace(0.0, t_end, PROFILE_POINTS)
        else:
            t_eval = np.asarray(t_eval, dtype=float)
            if t_eval.ndim != 1 or np.any(np.diff(t_eval) < 0) or t_eval[0] < 0 or t_eval[-1] > t_end:
                raise InputError("expected increasing times within [0, time]", "<python>",
                                 "BatchReactor.run.t_eval")
        n = self.mechanism.n_species
        refuse_overflowing_rate_constants(self.mechanism, self.T, "<python>", "BatchReactor")
        if self.energy.isothermal:
            system = make_system(self.mechanism, self.T)
            sol, y_eval = integrate(system, BATCH, c0, t_end, self.options, t_eval=t_eval,
                                    operation="batch")
            T_profile = None
        else:
            rho_cp = self.properties.density * self.properties.cp
            ua = 0.0 if self.energy.mode == "adiabatic" else \
                self.energy.U * self.energy.area / self.volume
            system = make_energy_system(self.mechanism, rho_cp, ua / rho_cp, self.energy.coolant_T or 0.0)
            y0 = np.concatenate([c0, [0.0, self.T]])
            atol = np.concatenate([self.options.atol_vector(c0),
                                   [-1e-10 * heat_scale(self.mechanism, c0), 1e-9]])
            sol, y_eval = integrate(system, BATCH_ENERGY, y0, t_end, self.options, t_eval=t_eval,
                                    atol=atol, operation="batch")
            T_profile = y_eval[:, n + 1]
        sol.names = self.mechanism.species_names
        conc = clip_roundoff(y_eval[:, :n], self.options.atol_vector(c0), "batch")
        return BatchResult(self.mechanism, self.T, t_eval, conc, sol, T_profile)
