"""Reaction enthalpies of a native (liquid) mechanism from a Cantera file's species.

A native mechanism may carry ``thermo: {cantera: FILE, phase: NAME, T: 298.15 K}``
(DESIGN.md, "Mechanism file"). Every reaction without an explicit ``dH`` (in the
reaction or in its ``equilibrium:``) then takes dH = sum_k nu_k h_k(T), with h_k the
molar enthalpy of the Cantera species of the same name (whatever species
thermodynamics Cantera holds for it: NASA-7, NASA-9, Shomate, constant cp, ...).
The energy balances use it exactly like a given ``dH`` (``CompiledMechanism.delta_H``).

Decisions worth knowing
-----------------------
* ``T`` defaults to 298.15 K, the standard temperature at which reaction enthalpies
  are tabulated and given in mechanism files; it is one temperature for the whole
  mechanism, because a reaction's rate ``T_ref`` says where k was measured, not
  where its enthalpy was, and many reactions have none. The liquid energy balances
  take dH independent of T (as for a given ``dH``), so ``T`` should be near the
  process temperature when the heat capacity of reaction matters.
* FILE is relative to the mechanism file when it exists there, else passed to
  Cantera as is (a name in Cantera's data path, such as ``gri30.yaml``).
* Without ``phase`` the species are those of the file's ``species:`` section (no
  phase definition needed: a file with only species thermo is enough); with
  ``phase`` they are the species of that phase.
* A reaction without dH whose species the file lacks is refused by name; reactions
  with an explicit dH never need their species in the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import InputError, Location
from ..core.units import parse_quantity
from ..core.yamlio import check_keys, check_mapping

__all__ = ["THERMO_KEYS", "ThermoSource", "read_thermo_block"]

#: Keys allowed under a mechanism's ``thermo:`` mapping.
THERMO_KEYS = ("cantera", "phase", "T")
_DEFAULT_T = 298.15


class ThermoSource:
    """Molar enthalpies (J/mol) at one temperature of the species of a Cantera file.

    Parameters
    ----------
    enthalpies : dict
        Species name -> molar enthalpy h(T) in J/mol.
    T : float
        Temperature (K) at which the enthalpies are taken.
    path : str
        The Cantera file as read (for messages).
    where : Location
        The ``thermo`` entry of the mechanism (for messages).
    """

    def __init__(self, enthalpies: dict, T: float, path: str, where: Location):
        self.enthalpies = enthalpies
        self.T = T
        self.path = path
        self.where = where

    def reaction_enthalpy(self, net_stoichiometry: dict, equation: str, where: Location) -> float:
        """dH = sum_k nu_k h_k(T) in J/mol; InputError naming the reaction and the
        first species the Cantera file lacks."""
        missing = [name for name in net_stoichiometry if name not in self.enthalpies]
        if missing:
            raise where.error(
                f"reaction {equation!r} has no dH and species {missing[0]!r} is not in the "
                f"thermo file {self.path!r} (give dH, or add the species to that file)")
        return float(sum(nu * self.enthalpies[name] for name, nu in net_stoichiometry.items()))


def _cantera_message(exc) -> str:
    """The informative line of a multi-line CanteraError."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not set(ln.strip()) <= set("*-")]
    lines = [ln for ln in lines if not ln.startswith(("|", ">", "^"))]   # drop the quoted file excerpt
    if any("not found in directories" in ln for ln in lines):
        return "file not found (looked next to the mechanism file and in Cantera's data path)"
    detail = [ln for ln in lines if "thrown by" not in ln and not ln.startswith("Error on line")]
    return detail[0] if detail else (lines[0] if lines else "")


def read_thermo_block(spec, base_dir, units, where: Location) -> ThermoSource:
    """A :class:`ThermoSource` from a mechanism's ``thermo:`` mapping.

    Parameters
    ----------
    spec : mapping
        ``{cantera: FILE, phase: NAME (optional), T: temperature (optional)}``.
    base_dir : path or None
        Directory of the mechanism file (FILE is looked up there first).
    units : dict
        The mechanism's parsed units block (for a plain-number ``T``).
    where : Location
        Location of the ``thermo`` entry.

    Raises
    ------
    InputError
        Unknown keys, a missing or unreadable file, an unknown phase, a bad T.
    """
    check_mapping(spec, where, "a mapping {cantera: FILE, phase: NAME, T: 298.15 K}")
    check_keys(spec, THERMO_KEYS, where, required=("cantera",))
    ref = spec["cantera"]
    if not isinstance(ref, str) or not ref:
        raise where.key("cantera").error(f"expected a Cantera file name, got {ref!r}")
    phase = spec.get("phase")
    if phase is not None and not isinstance(phase, str):
        raise where.key("phase").error(f"expected a phase name, got {phase!r}")
    T = _DEFAULT_T
    if "T" in spec:
        T = parse_quantity(spec["T"], "temperature", units, where.key("T"), positive=True)
    path = ref
    if base_dir is not None and (Path(base_dir) / ref).exists():
        path = os.fspath(Path(base_dir) / ref)
    try:
        import cantera as ct
    except ImportError:  # pragma: no cover - cantera is a dependency of the Cantera readers
        raise where.key("cantera").error("reading thermo from a Cantera file needs the 'cantera' package") from None
    try:
        if phase is not None:
            species = ct.Solution(path, phase).species()
        else:
            try:
                species = ct.Species.list_from_file(path)
            except ct.CanteraError:
                species = ct.Solution(path).species()  # species defined elsewhere than 'species:'
    except ct.CanteraError as exc:
        raise where.key("cantera").error(f"Cantera could not read {ref!r}: {_cantera_message(exc)}") from None
    try:
        enthalpies = {sp.name: sp.thermo.h(T) / 1000.0 for sp in species}   # J/kmol -> J/mol
    except ct.CanteraError as exc:
        raise where.key("T").error(f"Cantera could not evaluate enthalpies at {T:g} K: "
                                   f"{_cantera_message(exc)}") from None
    return ThermoSource(enthalpies, T, path, where)
