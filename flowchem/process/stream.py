"""Process streams: a liquid flow of known composition and temperature."""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError
from ..core.units import parse_quantity

ATMOSPHERIC_PRESSURE = 101325.0


class Stream:
    """A constant-density liquid stream.

    Parameters
    ----------
    mechanism : Mechanism
        Defines the species; concentrations of species not named are zero.
    flow : float or str
        Volumetric flow, m^3/s or a string with units (``"0.5 mL/min"``).
    T : float or str
        Temperature, K or with units (``"25 degC"``).
    conc : dict, optional
        Species name to concentration (mol/m^3 or ``"1.0 mol/L"``).
    P : float or str, optional
        Pressure (default 1 atm).
    name : str, optional
    properties : LiquidProperties, optional
        Density, heat capacity, viscosity... of the liquid, for energy
        balances, mixing and hydraulics; placeholders are used where None.

    Internally every number is SI: ``flow`` (m^3/s), ``T`` (K), ``P`` (Pa),
    ``conc`` (mol/m^3, an array ordered as ``mechanism.species_names``).
    """

    def __init__(self, mechanism, flow, T, conc=None, P=ATMOSPHERIC_PRESSURE, name=None,
                 *, properties=None, units=None, source="<python>", where=None):
        self.mechanism = mechanism
        self.name = name
        self.properties = properties
        where = where or (f"stream {name}" if name else "stream")
        self.flow = parse_quantity(flow, "flow", units, source=source, where=f"{where}.flow",
                                   positive=True)
        self.T = parse_quantity(T, "temperature", units, source=source, where=f"{where}.T",
                                positive=True)
        self.P = parse_quantity(P, "pressure", units, source=source, where=f"{where}.P",
                                positive=True)
        self.conc = np.zeros(mechanism.n_species)
        if conc is None:
            conc = {}
        if isinstance(conc, np.ndarray):
            if conc.shape != (mechanism.n_species,):
                raise InputError(f"expected {mechanism.n_species} concentrations, got shape {conc.shape}", source, f"{where}.conc")
            if not np.all(np.isfinite(conc)) or np.any(conc < 0):
                raise InputError("concentrations must be finite and non-negative", source, f"{where}.conc")
            self.conc = conc.astype(np.float64).copy()
        elif isinstance(conc, dict):
            names = mechanism.species_names
            for key, value in conc.items():
                if key not in names:
                    raise InputError(f"unknown species {key!r} (the mechanism has: {', '.join(names)})", source, f"{where}.conc.{key}")
                self.conc[names.index(key)] = parse_quantity(
                    value, "concentration", units, source=source, where=f"{where}.conc.{key}",
                    nonnegative=True)
        else:
            raise InputError(f"expected a mapping of species to concentrations, got {type(conc).__name__}", source, f"{where}.conc")

    @classmethod
    def from_si(cls, mechanism, flow, T, conc, P=ATMOSPHERIC_PRESSURE, name=None, properties=None):
        """Build from SI floats and a concentration array without re-parsing."""
        s = cls.__new__(cls)
        s.mechanism = mechanism
        s.name = name
        s.flow = float(flow)
        s.T = float(T)
        s.P = float(P)
        s.conc = np.asarray(conc, dtype=np.float64).copy()
        s.properties = properties
        return s

    def copy(self, name=None):
        return Stream.from_si(self.mechanism, self.flow, self.T, self.conc, self.P,
                              name if name is not None else self.name, self.properties)

    @property
    def species_names(self):
        return self.mechanism.species_names

    @property
    def molar_flows(self):
        """Molar flow of each species, mol/s."""
        return self.conc * self.flow

    @property
    def mass_flow(self):
        """Mass flow of the modelled species, kg/s; None if a species present lacks a molar mass."""
        masses = self.mechanism.molar_masses
        present = self.conc != 0.0
        if np.any(np.isnan(masses[present])):
            return None
        return float(np.sum(self.molar_flows[present] * masses[present]))

    def __getitem__(self, species):
        return float(self.conc[self.mechanism.species_index(species)])

    def to_dict(self):
        names = self.species_names
        return {
            "flow_m3_per_s": self.flow,
            "T_K": self.T,
            "P_Pa": self.P,
            "conc_mol_per_m3": {n: float(c) for n, c in zip(names, self.conc)},
            "molar_flow_mol_per_s": {n: float(f) for n, f in zip(names, self.molar_flows)},
            "mass_flow_kg_per_s": self.mass_flow,
        }

    def __repr__(self):
        parts = ", ".join(f"{n}={c:.4g}" for n, c in zip(self.species_names, self.conc) if c)
        label = f"{self.name!r}, " if self.name else ""
        return (f"Stream({label}flow={self.flow:.4g} m3/s, T={self.T:.2f} K, "
                f"conc[mol/m3]: {parts or 'empty'})")


def mix(streams, name=None):
    """Mix liquid streams adiabatically.

    Volumetric and molar flows add (ideal mixing). The outlet temperature
    solves the enthalpy balance sum m_i cp_i (T_i - T) = 0 with each inlet's
    liquid properties (placeholders where an inlet has none), and the
    mixture's properties follow the mixing rules of
    :func:`flowchem.properties.mix_properties`. The outlet pressure is the
    lowest inlet pressure.
    """
    from ..chemistry.properties import LiquidProperties, mix_properties, mixed_temperature

    if not streams:
        raise ValueError("a mixer needs at least one inlet stream")
    if any(getattr(s, "phase", None) == "gas" for s in streams):
        from .gas_route import mix_gas   # by total enthalpy (NASA-7), not liquid cp

        return mix_gas(streams, name)
    mech = streams[0].mechanism
    flow = sum(s.flow for s in streams)
    molar = sum(s.molar_flows for s in streams)
    default = LiquidProperties.default()
    props = [getattr(s, "properties", None) or default for s in streams]
    mass = [p.density * s.flow for p, s in zip(props, streams)]
    T = mixed_temperature([(p, m, s.T) for p, m, s in zip(props, mass, streams)])
    P = min(s.P for s in streams)
    out = Stream.from_si(mech, flow, T, molar / flow, P, name)
    out.properties = mix_properties(list(zip(props, mass)))
    return out
