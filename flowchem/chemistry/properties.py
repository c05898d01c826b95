"""Physical properties of the liquid phase: parsing, defaults and mixing rules.

flowchem's reactors treat the process liquid as a pseudo-pure solvent whose
physical properties do not depend on the (dilute) reacting species. A route file
may give them per feed or per route under a ``properties:`` mapping::

    properties:
      density: 0.89 g/mL               # kg/m^3
      cp: 1.9 kJ/kg/K                  # specific heat capacity, J/(kg K)
      viscosity: 0.6 cP                # dynamic viscosity, Pa s
      thermal_conductivity: 0.15 W/m/K # W/(m K), optional
      diffusivity: 1e-9 m^2/s          # molecular diffusivity of solutes, m^2/s, optional

Plain numbers are SI (the file's ``units:`` block names none of these kinds).
Keys left out keep the value of a base set, :meth:`LiquidProperties.default`
unless told otherwise.

Mixing rules (:func:`mix_properties`)
-------------------------------------
With mass fractions ``w_i = m_i / sum(m)`` of the inlet streams:

* density by ideal volume additivity, ``1/rho = sum(w_i / rho_i)`` -- so the
  mixed volumetric flow is the sum of the inlet volumetric flows, as
  :func:`flowchem.stream.mix` assumes;
* heat capacity mass-weighted, ``cp = sum(w_i cp_i)`` (ideal solution, no
  excess enthalpy: the enthalpy balance of :func:`mixed_temperature` is then
  exact);
* viscosity by the Arrhenius (1887) logarithmic rule, the Grunberg-Nissan (1949)
  equation with zero interaction parameter, written with *mass* fractions
  because the solvent molar masses are not known:
  ``ln(mu) = sum(w_i ln(mu_i))``;
* thermal conductivity and diffusivity mass-weighted (a first estimate; the
  Filippov or Li rules need data flowchem does not have). A mixture has a
  conductivity or diffusivity only if every inlet with a positive flow has one.

References
----------
Arrhenius, S. (1887). Z. Phys. Chem. 1, 285-298.
Grunberg, L., Nissan, A. H. (1949). Nature 164, 799-800.
Poling, B. E., Prausnitz, J. M., O'Connell, J. P. (2001). The Properties of Gases
and Liquids, 5th ed., McGraw-Hill, ch. 9 (liquid-mixture viscosity) and ch. 10
(liquid-mixture thermal conductivity).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace

from ..core.errors import InputError, Location
from ..core.units import KINDS, parse_quantity

__all__ = ["LiquidProperties", "PROPERTY_KEYS", "mix_properties", "mixed_temperature",
           "parse_property"]

# mapping key -> (dataclass field, units.py kind or local kind, SI unit, description)
_KEYS = {
    "density": ("density", "density", "kg/m^3", "a density"),
    "cp": ("cp", "heat_capacity", "J/kg/K", "a specific heat capacity"),
    "viscosity": ("viscosity", "viscosity", "Pa*s", "a dynamic viscosity"),
    "thermal_conductivity": ("thermal_conductivity", "thermal_conductivity", "W/m/K",
                             "a thermal conductivity"),
    "diffusivity": ("diffusivity", "diffusivity", "m^2/s", "a diffusivity"),
}

#: Keys accepted in a ``properties:`` mapping.
PROPERTY_KEYS = tuple(_KEYS)

def _fmt(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def parse_property(value, kind: str, units=None, where=None, *, source: str | None = None,
                   positive: bool = True) -> float:
    """One physical property as an SI float.

    ``kind`` is a :mod:`flowchem.units` kind (``density``, ``heat_capacity``,
    ``viscosity``, ``thermal_conductivity``, ``diffusivity``). Raises
    :class:`~flowchem.errors.InputError` naming ``where``.
    """
    where = Location.coerce(where, source)
    if kind not in KINDS:
        raise ValueError(f"unknown property kind {kind!r}")
    return parse_quantity(value, kind, units, where, positive=positive)


_REQUIRED = ("density", "cp", "viscosity")
_USE_DEFAULT = object()


@dataclass(frozen=True)
class LiquidProperties:
    """Physical properties of a liquid, SI.

    Parameters
    ----------
    density : float
        kg/m^3.
    cp : float
        Specific (mass) heat capacity at constant pressure, J/(kg K); taken as
        independent of temperature.
    viscosity : float
        Dynamic viscosity, Pa s.
    thermal_conductivity : float or None
        W/(m K); needed for heat-transfer estimates.
    diffusivity : float or None
        Molecular diffusivity of the solutes, m^2/s; needed for dispersion and
        mixing-time estimates.

    All values must be finite and positive; otherwise :class:`InputError`.
    """

    density: float
    cp: float
    viscosity: float
    thermal_conductivity: float | None = None
    diffusivity: float | None = None

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name not in _REQUIRED:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value) or not value > 0:
                raise InputError(f"must be a finite positive number, got {_fmt(value)}",
                                 "<python>", f"LiquidProperties.{f.name}")
            object.__setattr__(self, f.name, float(value))

    # ------------------------------------------------------------------ builders
    @classmethod
    def default(cls) -> "LiquidProperties":
        """Placeholder properties of a generic organic solvent.

        ``density`` 900 kg/m^3, ``cp`` 2000 J/(kg K), ``viscosity`` 0.6 mPa s,
        ``thermal_conductivity`` 0.15 W/(m K), ``diffusivity`` 1e-9 m^2/s.

        These are round numbers in the range of common solvents (toluene:
        867 kg/m^3, 1.7 kJ/(kg K), 0.56 mPa s, 0.13 W/(m K) at 25 degC; THF and
        ethyl acetate are similar), **placeholders** for when the user gives
        nothing, not data for any real liquid. Give measured values for sizing.
        """
        return cls(density=900.0, cp=2000.0, viscosity=0.6e-3,
                   thermal_conductivity=0.15, diffusivity=1e-9)

    @classmethod
    def from_mapping(cls, mapping, units=None, source: str = "<inline>", where="properties",
                     base=_USE_DEFAULT) -> "LiquidProperties":
        """Build from a route file's ``properties:`` mapping.

        Parameters
        ----------
        mapping : dict or None
            Keys among ``density``, ``cp``, ``viscosity``,
            ``thermal_conductivity``, ``diffusivity``; values numbers (SI) or
            strings with units (``"0.89 g/mL"``, ``"1.9 kJ/kg/K"``, ``"0.6 cP"``,
            ``"0.15 W/m/K"``, ``"1e-9 m^2/s"``).
        units : dict, optional
            The file's ``units:`` block (passed on to the unit parser; it names
            none of these kinds today, so plain numbers are SI).
        source : str
            File name for messages.
        where : Location or str
            Entry path of the mapping, e.g. ``feeds[0].properties``.
        base : LiquidProperties or None
            Values for the keys left out; :meth:`default` unless given. With
            ``None``, ``density``, ``cp`` and ``viscosity`` are required and the
            optional two are ``None`` when absent.

        Raises
        ------
        InputError
            For a mapping that is not a mapping, an unknown key, a value of the
            wrong dimension, unreadable, not finite or not positive, or a missing
            required key; the message names the file and entry.
        """
        if base is _USE_DEFAULT:
            base = cls.default()
        where = Location.coerce(where, source)
        if mapping is None:
            mapping = {}
        if not isinstance(mapping, dict):
            raise where.error(f"expected a mapping of property: value, got {_fmt(mapping)}")
        values = {}
        for key, value in mapping.items():
            loc = where.key(key)
            if key not in _KEYS:
                raise loc.error(f"unknown property {key!r} (expected one of: {', '.join(PROPERTY_KEYS)})")
            field, kind, _, _ = _KEYS[key]
            values[field] = parse_property(value, kind, units, loc)
        if base is not None:
            return replace(base, **values)
        missing = [k for k in _REQUIRED if k not in values]
        if missing:
            raise where.error(f"missing {', '.join(missing)} (required when no defaults apply)")
        return cls(**values)

    def merged(self, override_mapping, units=None, source: str = "<inline>",
               where="properties") -> "LiquidProperties":
        """A copy with the keys of ``override_mapping`` (a ``properties:``
        mapping, e.g. a feed's) replacing these values; ``None`` gives ``self``."""
        if override_mapping is None:
            return self
        return LiquidProperties.from_mapping(override_mapping, units, source, where, base=self)

    # ------------------------------------------------------------- derived values
    @property
    def kinematic_viscosity(self) -> float:
        """nu = mu / rho, m^2/s."""
        return self.viscosity / self.density

    @property
    def prandtl(self) -> float:
        """Pr = cp mu / k; InputError without a thermal conductivity."""
        if self.thermal_conductivity is None:
            raise InputError("the Prandtl number needs a thermal_conductivity", "<python>",
                             "LiquidProperties.thermal_conductivity")
        return self.cp * self.viscosity / self.thermal_conductivity

    @property
    def schmidt(self) -> float:
        """Sc = mu / (rho D); InputError without a diffusivity."""
        if self.diffusivity is None:
            raise InputError("the Schmidt number needs a diffusivity", "<python>",
                             "LiquidProperties.diffusivity")
        return self.viscosity / (self.density * self.diffusivity)

    def to_dict(self) -> dict:
        """SI values with the unit in the key (JSON-ready; None where absent)."""
        return {
            "density_kg_per_m3": self.density,
            "cp_J_per_kg_K": self.cp,
            "viscosity_Pa_s": self.viscosity,
            "thermal_conductivity_W_per_m_K": self.thermal_conductivity,
            "diffusivity_m2_per_s": self.diffusivity,
        }


def _mass_flows(pairs, what: str):
    pairs = list(pairs)
    if not pairs:
        raise InputError(f"{what} needs at least one inlet", "<python>", "")
    flows = []
    for i, pair in enumerate(pairs):
        m = pair[1]
        if isinstance(m, bool) or not isinstance(m, numbers.Real) or not math.isfinite(m) or m < 0:
            raise InputError(f"mass flow must be a finite non-negative number, got {_fmt(m)}",
                             "<python>", f"inlets[{i}]")
        flows.append(float(m))
    total = math.fsum(flows)
    if not total > 0:
        raise InputError("the total mass flow must be positive", "<python>", "inlets")
    return pairs, flows, total


def mix_properties(inlets) -> LiquidProperties:
    """Properties of the mixture of liquid streams.

    Parameters
    ----------
    inlets : iterable of (LiquidProperties, float)
        Each inlet's properties and mass flow, kg/s (non-negative, total positive).

    Returns
    -------
    LiquidProperties
        ``1/rho = sum(w_i/rho_i)``, ``cp = sum(w_i cp_i)``,
        ``ln mu = sum(w_i ln mu_i)`` (Arrhenius / Grunberg-Nissan with mass
        fractions), conductivity and diffusivity mass-weighted (``None`` if an
        inlet with positive flow lacks one). See the module notes.
    """
    pairs, flows, total = _mass_flows(inlets, "mixing")
    for i, (p, _) in enumerate(pairs):
        if not isinstance(p, LiquidProperties):
            raise InputError(f"expected LiquidProperties, got {type(p).__name__}", "<python>",
                             f"inlets[{i}]")
    live = [(p, m / total) for (p, _), m in zip(pairs, flows) if m > 0]
    if len(live) == 1:
        return live[0][0]
    inv_rho = math.fsum(w / p.density for p, w in live)
    cp = math.fsum(w * p.cp for p, w in live)
    mu = math.exp(math.fsum(w * math.log(p.viscosity) for p, w in live))

    def weighted(name):
        vals = [(getattr(p, name), w) for p, w in live]
        if any(v is None for v, _ in vals):
            return None
        return math.fsum(v * w for v, w in vals)

    return LiquidProperties(density=1.0 / inv_rho, cp=cp, viscosity=mu,
                            thermal_conductivity=weighted("thermal_conductivity"),
                            diffusivity=weighted("diffusivity"))


def mixed_temperature(inlets) -> float:
    """Adiabatic mixing temperature of liquid streams, K.

    Solves the enthalpy balance ``sum(m_i cp_i (T_i - T)) = 0`` with constant
    heat capacities and no heat of mixing:
    ``T = sum(m_i cp_i T_i) / sum(m_i cp_i)``.

    Parameters
    ----------
    inlets : iterable of (LiquidProperties or float, float, float)
        Each inlet's properties (or its cp in J/(kg K)), mass flow in kg/s and
        temperature in K.
    """
    pairs, flows, _ = _mass_flows(inlets, "mixing")
    num, den = [], []
    for i, (item, m) in enumerate(zip(pairs, flows)):
        if len(item) != 3:
            raise InputError("expected (properties or cp, mass_flow, T)", "<python>", f"inlets[{i}]")
        p, _, T = item
        cp = p.cp if isinstance(p, LiquidProperties) else p
        for name, v in (("cp", cp), ("T", T)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or not v > 0:
                raise InputError(f"{name} must be a finite positive number, got {_fmt(v)}",
                                 "<python>", f"inlets[{i}]")
        num.append(m * cp * T)
        den.append(m * cp)
    return math.fsum(num) / math.fsum(den)
