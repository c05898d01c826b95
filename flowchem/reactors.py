"""Isothermal, constant-density liquid reactors: batch, plug flow, stirred
tank and a cascade of equal stirred tanks.

Each reactor is a model defined once (geometry and temperature) and run on a
feed; the run returns a result object that holds named species profiles, the
outlet stream, solver statistics and a ``plot`` method::

    feed = fc.Stream(mech, flow="1 mL/min", T="50 degC", conc={"A": "1 mol/L"})
    res = fc.PFR(volume="2 mL").run(feed)
    res.outlet["B"], res["A"], res.plot()
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .solver import SolverOptions, integrate, make_system, steady_cstr_cascade
from .stream import Stream
from .units import parse_quantity

PROFILE_POINTS = 201


def _options(options):
    if options is None:
        return SolverOptions()
    if isinstance(options, dict):
        return SolverOptions(**options)
    return options


class _Result:
    """Shared behaviour of reactor results: species lookup and JSON entry."""

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
    """Concentrations against time of a batch run.

    Attributes: ``t`` (s), ``conc`` (len(t) x n, mol/m^3), ``solution``
    (interpolating :class:`~flowchem.solver.Solution`), ``stats``.
    ``result["A"]`` is the concentration of A at every ``t``;
    ``result.at(t)`` interpolates all species.
    """

    kind = "batch"

    def __init__(self, mechanism, T, t, conc, solution):
        self.mechanism = mechanism
        self.T = T
        self.t = t
        self.conc = conc
        self.solution = solution
        self.stats = solution.stats

    def __getitem__(self, species):
        return self.conc[:, self._index(species)]

    def at(self, t):
        """Concentrations (mol/m^3) at time(s) t (s), by the method's dense output."""
        return self.solution(t)

    @property
    def final(self):
        return {n: float(c) for n, c in zip(self.species_names, self.conc[-1])}

    def plot(self, ax=None, species=None, time_unit="min", conc_unit="mol/L"):
        from .plots import plot_profiles

        return plot_profiles(self.t, self.conc, self.species_names, ax=ax, species=species,
                             x_label="time", x_unit=time_unit, conc_unit=conc_unit,
                             title=f"Batch at {self.T - 273.15:.1f} °C")


class BatchReactor:
    """Well-mixed, constant-volume, isothermal liquid batch reactor."""

    def __init__(self, mechanism, T, options=None):
        self.mechanism = mechanism
        self.T = parse_quantity(T, "temperature", where="BatchReactor.T", positive=True)
        self.options = _options(options)

    def run(self, conc, time, t_eval=None):
        """Integrate from initial concentrations ``conc`` for ``time``.

        ``conc`` is a mapping (species to concentration, with units or
        mol/m^3), an array, or a :class:`Stream`. ``t_eval`` (s) chooses the
        reported times; by default 201 evenly spaced points.
        """
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
                raise InputError("expected increasing times within [0, time]", "<python>", "BatchReactor.run.t_eval")
        system = make_system(self.mechanism, self.T)
        sol, y_eval = integrate(system, _batch_code(), c0, t_end, self.options, t_eval=t_eval,
                                operation="batch")
        sol.names = self.mechanism.species_names
        return BatchResult(self.mechanism, self.T, t_eval, y_eval, sol)


def _batch_code():
    from kernels.problems import BATCH

    return BATCH


class FlowResult(_Result):
    """Common part of flow-reactor results: inlet, outlet and JSON entry."""

    def __init__(self, name, mechanism, inlet, outlet, volume, T, stats):
        self.name = name
        self.mechanism = mechanism
        self.inlet = inlet
        self.outlet = outlet
        self.volume = volume
        self.T = T
        self.stats = stats

    @property
    def residence_time(self):
        return self.volume / self.inlet.flow

    def conversion(self, species):
        """Fractional conversion of ``species`` between inlet and outlet."""
        i = self._index(species)
        fin = self.inlet.molar_flows[i]
        if fin <= 0:
            raise ValueError(f"{species} is not fed to {self.name}")
        return 1.0 - self.outlet.molar_flows[i] / fin

    def to_dict(self):
        return {"type": self.kind, "volume_m3": self.volume,
                "residence_time_s": self.residence_time, "T_out_K": self.outlet.T,
                "solver": dict(self.stats)}


class PFRResult(FlowResult):
    """Plug-flow profile along residence time ``tau`` (s), reactor volume
    ``volume_coordinate`` (m^3) and, when the length is known, position ``z`` (m)."""

    kind = "pfr"

    def __init__(self, name, mechanism, inlet, outlet, volume, T, stats, tau, conc, solution,
                 length=None, diameter=None):
        super().__init__(name, mechanism, inlet, outlet, volume, T, stats)
        self.tau = tau
        self.conc = conc
        self.solution = solution
        self.length = length
        self.diameter = diameter
        self.volume_coordinate = tau * inlet.flow
        self.z = tau / tau[-1] * length if length is not None else None

    def __getitem__(self, species):
        return self.conc[:, self._index(species)]

    def at(self, tau):
        """Concentrations at residence time(s) ``tau`` (s), by dense output."""
        return self.solution(tau)

    def to_dict(self):
        d = super().to_dict()
        if self.length is not None:
            d["length_m"] = self.length
            d["diameter_m"] = self.diameter
            d["mean_velocity_m_per_s"] = self.length / self.residence_time
        return d

    def plot(self, ax=None, species=None, x="tau", time_unit="min", conc_unit="mol/L"):
        from .plots import plot_profiles

        if x == "z" and self.z is not None:
            return plot_profiles(self.z, self.conc, self.species_names, ax=ax, species=species,
                                 x_label="position", x_unit="m", conc_unit=conc_unit,
                                 title=f"PFR {self.name}")
        return plot_profiles(self.tau, self.conc, self.species_names, ax=ax, species=species,
                             x_label="residence time", x_unit=time_unit, conc_unit=conc_unit,
                             title=f"PFR {self.name}")


class CSTRResult(FlowResult):
    """Steady state of a stirred tank, or of each tank of a cascade
    (``tanks``: n x species, mol/m^3; the last row is the outlet)."""

    kind = "cstr"

    def __init__(self, name, mechanism, inlet, outlet, volume, T, stats, tanks):
        super().__init__(name, mechanism, inlet, outlet, volume, T, stats)
        self.tanks = tanks

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
        return d

    def plot(self, ax=None, species=None, conc_unit="mol/L"):
        from .plots import plot_tanks

        return plot_tanks(self.tanks, self.inlet.conc, self.species_names, ax=ax, species=species,
                          conc_unit=conc_unit,
                          title=(f"CSTR cascade {self.name} ({self.n_tanks} tanks)"
                                 if self.kind == "cstr_cascade" else f"CSTR {self.name}"))


class _FlowReactor:
    """Shared parsing of reactor geometry, temperature and options."""

    kind = "reactor"

    def __init__(self, volume=None, T=None, name=None, options=None, *, units=None,
                 source="<python>", where=None):
        self.name = name or self.kind.upper()
        self.where = where or self.name
        self.source = source
        self.volume = None if volume is None else parse_quantity(
            volume, "volume", units, source=source, where=f"{self.where}.volume", positive=True)
        self.T = None if T is None else parse_quantity(
            T, "temperature", units, source=source, where=f"{self.where}.T", positive=True)
        self.options = _options(options)

    def _temperature(self, feed):
        return feed.T if self.T is None else self.T

    def _check_feed(self, feed):
        if not isinstance(feed, Stream):
            raise InputError(f"expected a Stream as feed, got {type(feed).__name__}", self.source, self.where)
        if feed.flow <= 0:
            raise InputError("the feed has no flow", self.source, self.where)


class PFR(_FlowReactor):
    """Isothermal plug-flow tube: give ``volume``, or ``length`` and ``diameter``.

    Constant density: the batch equations in residence time tau = V/Q, with
    position z = tau * u.
    """

    kind = "pfr"

    def __init__(self, volume=None, T=None, name=None, options=None, *, length=None,
                 diameter=None, units=None, source="<python>", where=None):
        super().__init__(volume, T, name, options, units=units, source=source, where=where)
        self.length = None if length is None else parse_quantity(
            length, "length", units, source=source, where=f"{self.where}.length", positive=True)
        self.diameter = None if diameter is None else parse_quantity(
            diameter, "length", units, source=source, where=f"{self.where}.diameter", positive=True)
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

    def run(self, feed, n_points=PROFILE_POINTS):
        self._check_feed(feed)
        T = self._temperature(feed)
        tau = self.volume / feed.flow
        system = make_system(feed.mechanism, T)
        t_eval = np.linspace(0.0, tau, n_points)
        sol, y_eval = integrate(system, _batch_code(), feed.conc, tau, self.options,
                                t_eval=t_eval, operation=self.name)
        sol.names = feed.mechanism.species_names
        # The last accepted step lands exactly on tau: report it, not an interpolant.
        y_eval[-1] = sol.y[-1]
        outlet = Stream.from_si(feed.mechanism, feed.flow, T, sol.y[-1], feed.P, self.name)
        return PFRResult(self.name, feed.mechanism, feed, outlet, self.volume, T, sol.stats,
                         t_eval, y_eval, sol, self.length, self.diameter)


class CSTRCascade(_FlowReactor):
    """``n`` equal isothermal stirred tanks in series; ``volume`` is their total."""

    kind = "cstr_cascade"

    def __init__(self, n, volume, T=None, name=None, options=None, *, units=None,
                 source="<python>", where=None):
        super().__init__(volume, T, name, options, units=units, source=source, where=where)
        if self.volume is None:
            raise InputError(f"a {self.kind} needs a 'volume'", source, self.where)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"expected a whole number of tanks >= 1, got {n!r}", source, f"{self.where}.n")
        self.n = int(n)

    def run(self, feed):
        self._check_feed(feed)
        T = self._temperature(feed)
        tau_each = self.volume / self.n / feed.flow
        system = make_system(feed.mechanism, T)
        tanks, stats = steady_cstr_cascade(system, feed.conc, tau_each, self.n, self.options,
                                           operation=self.name)
        outlet = Stream.from_si(feed.mechanism, feed.flow, T, tanks[-1], feed.P, self.name)
        result = CSTRResult(self.name, feed.mechanism, feed, outlet, self.volume, T, stats, tanks)
        result.kind = self.kind
        return result


class CSTR(CSTRCascade):
    """Isothermal continuous stirred-tank reactor at steady state."""

    kind = "cstr"

    def __init__(self, volume, T=None, name=None, options=None, *, units=None,
                 source="<python>", where=None):
        super().__init__(1, volume, T, name, options, units=units, source=source, where=where)
