"""Unit parsing at the input boundary (pint); everything returned is an SI float.

A quantity in an input file is either a string ``"<number> <unit>"`` such as
``"0.5 mL/min"``, ``"60 degC"``, ``"45 kJ/mol"``, or a plain number. A plain number
is in the unit the file's ``units:`` block gives for that kind, and in SI where
the block names none (or for kinds the block cannot name, such as ``molar_mass``).

SI units returned per kind
--------------------------
=================== ==========  ==================  ====================
kind                SI unit     ``units:`` key      example string
=================== ==========  ==================  ====================
concentration       mol/m^3     concentration       ``"1.1 mol/L"``
time                s           time                ``"2 min"``
volume              m^3         volume              ``"2 mL"``
flow                m^3/s       flow                ``"0.5 mL/min"``
length              m           length              ``"30 cm"``
pressure            Pa          pressure            ``"3 bar"``
temperature         K           temperature         ``"60 degC"``
activation-energy   J/mol       activation-energy   ``"45 kJ/mol"``
energy              J/mol       energy              ``"-85 kJ/mol"`` (reaction enthalpy)
molar_mass          kg/mol      --                  ``"105.5 g/mol"``
mass                kg          --                  ``"500 g"``
mass_flow           kg/s        --                  ``"2 g/min"``
density             kg/m^3      --                  ``"0.9 g/mL"``
heat_capacity       J/(kg K)    --                  ``"2.1 kJ/kg/K"``
viscosity           Pa s        --                  ``"1 cP"``
dimensionless       1           --                  ``"5 percent"``
=================== ==========  ==================  ====================

Kind names accept ``-`` or ``_`` interchangeably. Temperatures are absolute:
``"60 degC"`` is 333.15 K, and a plain number under ``units: {temperature: degC}``
is in degC. In every other kind ``degC``/``degF`` inside a compound unit mean a
temperature *difference* (``"4.2 kJ/kg/degC"`` = 4200 J/(kg K)).

The unit registry is created on first use, so ``import flowchem.units`` is cheap.
"""

from __future__ import annotations

import math
import numbers
import re

from .errors import InputError, Location

__all__ = [
    "KINDS",
    "UNITS_BLOCK_KEYS",
    "GAS_CONSTANT",
    "get_registry",
    "parse_quantity",
    "parse_rate_constant",
    "parse_equilibrium_constant",
    "parse_units_block",
]

#: Molar gas constant, J/(mol K) (exact since the 2019 SI).
GAS_CONSTANT = 8.314462618

# kind -> (SI unit for pint, description used in messages, units-block key or None)
KINDS: dict[str, tuple[str, str, str | None]] = {
    "concentration": ("mol/m^3", "a concentration", "concentration"),
    "time": ("s", "a time", "time"),
    "volume": ("m^3", "a volume", "volume"),
    "flow": ("m^3/s", "a volumetric flow", "flow"),
    "length": ("m", "a length", "length"),
    "pressure": ("Pa", "a pressure", "pressure"),
    "temperature": ("K", "a temperature", "temperature"),
    "activation-energy": ("J/mol", "an activation energy (energy per mole)", "activation-energy"),
    "energy": ("J/mol", "an energy per mole", "energy"),
    "molar_mass": ("kg/mol", "a molar mass", None),
    "mass": ("kg", "a mass", None),
    "mass_flow": ("kg/s", "a mass flow", None),
    "density": ("kg/m^3", "a density", None),
    "heat_capacity": ("J/kg/K", "a specific heat capacity", None),
    "viscosity": ("Pa*s", "a dynamic viscosity", None),
    "dimensionless": ("dimensionless", "a dimensionless number", None),
    "heat_transfer_coefficient": ("W/m^2/K", "a heat-transfer coefficient", None),
    "thermal_conductivity": ("W/m/K", "a thermal conductivity", None),
    "diffusivity": ("m^2/s", "a diffusivity", None),
    "area": ("m^2", "an area", None),
    "power": ("W", "a power", None),
    "temperature_difference": ("K", "a temperature difference", None),
}

#: Keys allowed in a ``units:`` block, each naming the kind it sets.
UNITS_BLOCK_KEYS = tuple(k for k, (_, _, key) in KINDS.items() if key is not None)

_ALIASES = {k.replace("-", "_"): k for k in KINDS}
_ALIASES.update({k.replace("_", "-"): k for k in KINDS})
_ALIASES.update({k: k for k in KINDS})

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")
_OFFSET = re.compile(r"(?<![A-Za-z_])(?:deg(?:ree)?_?(?:C|F|celsius|fahrenheit)|°[CF])(?![A-Za-z_])")

_registry = None


def get_registry():
    """The module's single pint ``UnitRegistry`` (created on first call)."""
    global _registry
    if _registry is None:
        import pint

        _registry = pint.UnitRegistry()
    return _registry


def _kind(kind: str) -> str:
    try:
        return _ALIASES[kind]
    except KeyError:
        raise ValueError(f"unknown quantity kind {kind!r}; known: {', '.join(KINDS)}") from None


def _fmt(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _delta_offsets(unit: str) -> str:
    """degC/degF inside a compound unit are differences (delta_degC)."""
    return _OFFSET.sub(lambda m: "delta_degC" if m.group(0).endswith(("C", "celsius")) else "delta_degF", unit)


def _make_unit(unit: str, kind: str):
    """pint Unit from a unit string, offset units made into deltas except for temperature."""
    ureg = get_registry()
    text = unit.strip()
    if kind != "temperature":
        text = _delta_offsets(text)
    return ureg.Unit(text)


def _check_number(value, where: Location, show):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise where.error(f"expected a number or a '<number> <unit>' string, got {_fmt(show)}")
    x = float(value)
    if not math.isfinite(x):
        raise where.error(f"expected a finite number, got {_fmt(show)}")
    return x


def _split(value, where: Location, what: str):
    """(number, unit string or None) from a user value; refuses junk."""
    if isinstance(value, str):
        m = _NUMBER.match(value)
        if not m:
            raise where.error(f"expected {what}, got {value!r} (write '<number> <unit>')")
        number = float(m.group(1))
        unit = m.group(2) or None
        if unit is not None and unit.startswith("*"):
            unit = unit[1:].strip() or None
        return number, unit
    return _check_number(value, where, value), None


def _dims_equal(a, b) -> bool:
    keys = set(a) | set(b)
    return all(abs(float(a.get(k, 0)) - float(b.get(k, 0))) < 1e-9 for k in keys)


def _check_range(x: float, number: float, value, where: Location, underflow: bool = True):
    """Refuse a value that left the range of doubles in the conversion to SI:
    overflow to inf, or (``underflow``) a non-zero number that became exactly zero."""
    if not math.isfinite(x):
        raise where.error(f"expected a finite value, got {_fmt(value)} (beyond the range of "
                          "floating-point numbers in SI units)" if math.isfinite(number) else
                          f"expected a finite value, got {_fmt(value)}")
    if underflow and x == 0.0 and number != 0.0:
        raise where.error(f"{_fmt(value)} underflows to zero in SI units; give 0 to mean zero")


def _sign_check(x: float, value, where: Location, nonnegative: bool, positive: bool):
    if positive and not x > 0:
        raise where.error(f"must be positive, got {_fmt(value)}")
    if nonnegative and x < 0:
        raise where.error(f"must not be negative, got {_fmt(value)}")


def _pint_quantity(number: float, unit: str, kind: str, where: Location, value, what: str):
    ureg = get_registry()
    import pint

    try:
        u = _make_unit(unit, kind)
        return ureg.Quantity(number, u)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError,
            TypeError, ValueError, SyntaxError, AssertionError) as exc:
        detail = f"unknown unit {exc.unit_names[0]!r}" if isinstance(exc, pint.errors.UndefinedUnitError) and getattr(exc, "unit_names", None) else f"cannot read unit {unit!r}"
        raise where.error(f"expected {what}, got {_fmt(value)} ({detail})") from None
    except Exception:  # pint raises a variety of tokenizer errors
        raise where.error(f"expected {what}, got {_fmt(value)} (cannot read unit {unit!r})") from None


def parse_quantity(value, kind: str, units: dict | None = None, where=None, *,
                   source: str | None = None, nonnegative: bool = False, positive: bool = False) -> float:
    """Return ``value`` as an SI float of ``kind`` (see the module table).

    ``value``: a number (in ``units[kind]`` if the units block names one, else SI),
    or a string ``"<number> <unit>"``, or a number-only string (treated as a number).
    ``where``: a :class:`~flowchem.errors.Location` or an entry-path string, used in
    error messages. ``nonnegative`` / ``positive`` refuse values below / at zero
    (for temperatures the check is on kelvin).

    Raises :class:`InputError` for a wrong dimension, an unreadable string, NaN,
    infinity, booleans and anything that is not a number or a string.
    """
    kind = _kind(kind)
    where = Location.coerce(where, source)
    si, what, block_key = KINDS[kind]
    number, unit = _split(value, where, what)
    if unit is None:
        block_unit = (units or {}).get(block_key) if block_key else None
        x = number if block_unit is None else _convert(number, str(block_unit), kind, where,
                                                       value, what)
    else:
        x = _convert(number, unit, kind, where, value, what)
    # an offset unit maps non-zero numbers to 0 K legitimately (refused below as such)
    _check_range(x, number, value, where, underflow=kind != "temperature")
    if kind == "temperature" and x <= 0:
        raise where.error(f"temperature must be above absolute zero, got {_fmt(value)}")
    _sign_check(x, value, where, nonnegative, positive)
    return x


# (unit text, kind) -> (scale, offset) of the affine map to SI, filled from pint
# on first use: parsing a unit string with pint costs ~0.1 ms, and a route
# file repeats the same few units many times (and sweeps reload it per point).
_AFFINE: dict = {}


def _convert(number: float, unit: str, kind: str, where: Location, value, what: str) -> float:
    """``number`` in ``unit`` as an SI float of ``kind`` (pint on first use of a
    unit, then its cached affine map; errors always come from pint's path)."""
    key = (unit, kind)
    affine = _AFFINE.get(key)
    if affine is not None:
        return affine[0] * number + affine[1]
    q = _pint_quantity(number, unit, kind, where, value, what)
    x = _to_si(q, kind, where, value, what)
    try:
        zero, one, ten = (_to_si(_pint_quantity(v, unit, kind, where, v, what), kind, where, v, what)
                          for v in (0.0, 1.0, 10.0))
    except InputError:
        return x
    # cache only maps that are affine (not pint's logarithmic units) and
    # reproduce pint's own answer for this value
    scale = one - zero
    tol = 1e-12 * max(abs(x), abs(zero), abs(ten), 1e-300)
    if all(math.isfinite(v) for v in (zero, one, ten)) and \
            abs(10.0 * scale + zero - ten) <= tol and abs(scale * number + zero - x) <= tol:
        _AFFINE[key] = (scale, zero)
    return x


def _to_si(q, kind, where, value, what) -> float:
    ureg = get_registry()
    target = ureg.Unit(KINDS[kind][0])
    if not _dims_equal(dict(q.dimensionality), dict(target.dimensionality)):
        raise where.error(f"expected {what}, got {_fmt(value)}")
    try:
        return float(q.to(target).magnitude)
    except Exception as exc:  # offset-unit calculus and the like
        raise where.error(f"expected {what}, got {_fmt(value)} ({exc})") from None


def _order_text(order: float) -> str:
    return f"{order:g}"


def _parse_compound(value, conc_power: float, time_power: float, units, where: Location,
                    what: str, nonnegative: bool, positive: bool) -> float:
    """value in concentration^conc_power * time^time_power, returned in SI."""
    ureg = get_registry()
    number, unit = _split(value, where, what)
    if unit is None:
        cu = (units or {}).get("concentration")
        tu = (units or {}).get("time")
        factor = 1.0
        if cu is not None and conc_power != 0:
            factor *= ureg.Quantity(1.0, _make_unit(str(cu), "concentration")).to("mol/m^3").magnitude ** conc_power
        if tu is not None and time_power != 0:
            factor *= ureg.Quantity(1.0, _make_unit(str(tu), "time")).to("s").magnitude ** time_power
        x = number * factor
    else:
        q = _pint_quantity(number, unit, "", where, value, what)
        target = {"[substance]": conc_power, "[length]": -3.0 * conc_power, "[time]": time_power}
        target = {k: v for k, v in target.items() if v != 0}
        if not _dims_equal(dict(q.dimensionality), target):
            raise where.error(f"expected {what}, got {_fmt(value)}")
        base = q.to_base_units()
        x = float(base.magnitude)
    _check_range(x, number, value, where)
    _sign_check(x, value, where, nonnegative, positive)
    return x


def _conc_text(power: float) -> str:
    if power == 0:
        return ""
    if power == 1:
        return "concentration"
    return f"concentration^{_order_text(power)}"


def parse_rate_constant(value, order: float, units: dict | None = None, where=None, *,
                        source: str | None = None, nonnegative: bool = True,
                        positive: bool = False) -> float:
    """A rate constant of overall ``order`` in SI, (mol/m^3)^(1-order)/s.

    Plain numbers are in the units block's concentration and time units
    (SI where it names none); strings must have dimension
    concentration^(1-order)/time, e.g. ``"0.5 L/mol/s"`` for order 2 (5e-4 m^3/(mol s)).
    The temperature factor T^b of a modified Arrhenius pre-exponential factor is
    not part of the unit check (as in Cantera).
    """
    where = Location.coerce(where, source)
    order = float(order)
    p = 1.0 - order
    dims = "/".join(x for x in (_conc_text(p) or "", "time") if x) if p != 0 else "1/time"
    si = "1/s" if p == 0 else (f"(mol/m^3)^{_order_text(p)}/s" if p != 1 else "mol/m^3/s")
    what = f"a rate constant in {dims} ({si}) for an order-{_order_text(order)} reaction"
    return _parse_compound(value, p, -1.0, units, where, what, nonnegative, positive)


def parse_equilibrium_constant(value, delta_order: float, units: dict | None = None, where=None, *,
                               source: str | None = None, positive: bool = True) -> float:
    """An equilibrium constant in SI, (mol/m^3)^delta_order.

    ``delta_order`` is the reverse (product-side) order minus the forward order, so
    that ``k_r = k_f / K``. Plain numbers are in the block's concentration unit.
    """
    where = Location.coerce(where, source)
    d = float(delta_order)
    what = ("a dimensionless equilibrium constant" if d == 0 else
            f"an equilibrium constant in {_conc_text(d)} ((mol/m^3)^{_order_text(d)})")
    return _parse_compound(value, d, 0.0, units, where, what, False, positive)


def parse_units_block(mapping, source: str = "<inline>", where=None) -> dict[str, str]:
    """Validate a ``units:`` block and return ``{kind: unit string}``.

    Keys must be among :data:`UNITS_BLOCK_KEYS`; every unit must parse and have the
    dimension of its kind. ``None`` gives an empty block.
    """
    where = Location.coerce(where if where is not None else "units", source)
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise where.error(f"expected a mapping of kind: unit, got {_fmt(mapping)}")
    out = {}
    ureg = get_registry()
    for key, unit in mapping.items():
        loc = where.key(key)
        if key not in UNITS_BLOCK_KEYS:
            raise loc.error(f"unknown key {key!r} in units (expected one of: {', '.join(UNITS_BLOCK_KEYS)})")
        kind = _kind(key)
        si, what, _ = KINDS[kind]
        if not isinstance(unit, str) or not unit.strip():
            raise loc.error(f"expected a unit name for {what}, got {_fmt(unit)}")
        q = _pint_quantity(1.0, unit, kind, loc, unit, what)
        if not _dims_equal(dict(q.dimensionality), dict(ureg.Unit(si).dimensionality)):
            raise loc.error(f"expected a unit of {what.split(' ', 1)[1]}, got {unit!r}")
        out[key] = unit.strip()
    return out
