"""Reading Cantera mechanisms into flowchem's :class:`~flowchem.chemistry.mechanism.Mechanism`.

Cantera is the reference open-source kinetics library and its YAML files are the
common language of detailed kinetics. This module turns a ``cantera.Solution``
into flowchem species and reactions in SI (mol, m^3), so the compiled kernel
solves them like a native mechanism.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..core.errors import InputError, Location
from .gas_mechanism import GasKinetics, GasPhaseMechanism
from .mechanism import (_DEFAULT_T_REF, Equilibrium, Mechanism, RateLaw, Reaction, Species,
                        _located)

__all__ = ["read_cantera"]


def read_cantera(path_or_name, phase: str | None = None, *, T_ref: float = _DEFAULT_T_REF,
                 skip_unsupported: bool = False) -> Mechanism:
    """Read a Cantera mechanism (file path, a name in Cantera's data path, or a
    ``cantera.Solution``).

    Every reaction the gas-phase kernels represent (elementary, three-body,
    Lindemann/Troe falloff, chemically activated, PLOG; see
    :mod:`flowchem.chemistry.gas_mechanism`) is read; any other type
    (Chebyshev, Blowers-Masel, surface, ...) is refused with an InputError
    naming the reaction and its type. The result carries ``gas_kinetics``, a
    :class:`~flowchem.chemistry.gas_mechanism.GasKinetics` of the whole file
    (None when the phase is not an ideal gas with NASA-7 species data):

    * only elementary Arrhenius reactions: a plain :class:`Mechanism` whose
      :meth:`~Mechanism.compile` gives the liquid-phase mass-action arrays, as
      below;
    * three-body, falloff or PLOG reactions: a
      :class:`~flowchem.chemistry.gas_mechanism.GasPhaseMechanism`, which lists
      every species and reaction but refuses ``compile()`` (the liquid-phase
      kernel cannot represent them);
    * ``skip_unsupported=True``: the elementary Arrhenius reactions only, for the
      liquid-phase kernel, the others left out with a warning naming them;
      ``gas_kinetics`` then holds every reaction of the file the gas kernels
      represent (``gas_kinetics.equations``; others in ``gas_kinetics.skipped``).

    Cantera's kmol-based units are converted: A_mol = A_kmol * 1000^(1 - n) for forward order n.
    Reversible reactions: Cantera computes k_r from thermochemistry; flowchem
    stores a van 't Hoff equilibrium fitted at ``T_ref`` (K exactly Cantera's
    K_c at T_ref, d ln K / d(1/T) from a central difference there), so k_r agrees
    with Cantera at T_ref and to first order in (1/T - 1/T_ref) near it
    (exactly only where the heat capacity of reaction vanishes and, for gases,
    the mole number does not change). ``dH`` is Cantera's standard reaction
    enthalpy at T_ref for every reaction.
    """
    import cantera as ct

    if isinstance(path_or_name, ct.Solution):
        sol = path_or_name
        source = getattr(sol, "source", None) or "<cantera>"
    else:
        source = os.fspath(path_or_name)
        try:
            sol = ct.Solution(source, phase or "")
        except ct.CanteraError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not set(ln.strip()) <= set("*-")]
            detail = next((ln for ln in lines if not ln.startswith(("CanteraError", "***"))), lines[0] if lines else "")
            raise InputError(f"Cantera could not read it: {detail}", source) from None
    if not hasattr(sol, "reactions"):
        raise InputError("the Cantera phase has no kinetics", source)
    gas = None
    gas_only = {j: why for j, r in enumerate(sol.reactions()) if (why := _not_liquid(r))}
    if gas_only and not skip_unsupported:
        gas = GasKinetics.from_solution(sol, source=source)   # refuses Chebyshev & co. by name
    else:
        try:
            gas = GasKinetics.from_solution(sol, skip_unsupported=True, source=source)
        except InputError:  # not an ideal gas with NASA-7 data: liquid-phase use only
            gas = None
    species = []
    mw = sol.molecular_weights
    for k, sp in enumerate(sol.species()):
        comp = {el: float(n) for el, n in sp.composition.items() if n and el != "E"}
        species.append(Species(sp.name, molar_mass=float(mw[k]) * 1e-3, elements=comp or None,
                               charge=int(round(sp.charge)),
                               where=Location(source, f"species[{k}]")))
    saved = sol.TPY
    reactions = []
    try:
        sol.TP = T_ref, sol.P
        dH_all = sol.delta_standard_enthalpy * 1e-3
        lnK = np.log(sol.equilibrium_constants)
        eps = 1e-4
        sol.TP = T_ref * (1 - eps), sol.P
        lnK1 = np.log(sol.equilibrium_constants)
        sol.TP = T_ref * (1 + eps), sol.P
        lnK2 = np.log(sol.equilibrium_constants)
        slope = (lnK2 - lnK1) / (1.0 / (T_ref * (1 + eps)) - 1.0 / (T_ref * (1 - eps)))  # = -dH_eff/R
        skipped = []
        for j, r in enumerate(sol.reactions()):
            loc = Location(source, f"reactions[{j}]")
            rate = r.rate
            note = None
            orders = dict(r.reactants)
            orders.update(r.orders)
            n_fwd = sum(orders.values())
            n_rev = sum(r.products.values())
            if j in gas_only:
                if skip_unsupported:
                    skipped.append(r.equation)
                    continue
                # listed for names and balances; the rate lives in gas_kinetics
                fwd, note = _representative_rate(gas, j, gas_only[j])
            else:
                A_kmol = rate.pre_exponential_factor
                if A_kmol < 0 or not math.isfinite(A_kmol):
                    raise loc.error(f"reaction {r.equation!r} has a negative or infinite pre-exponential factor")
                # A = 0 switches a reaction off (ln A = -inf, as for native mechanisms)
                lnA = math.log(A_kmol) if A_kmol > 0 else -math.inf
                fwd = RateLaw(lnA + (1.0 - n_fwd) * math.log(1000.0),
                              float(rate.temperature_exponent),
                              float(rate.activation_energy) / ct.gas_constant)
            equilibrium = None
            if r.reversible:
                if not np.isfinite(lnK[j]) or not np.isfinite(slope[j]):
                    raise loc.error(f"no finite equilibrium constant for {r.equation!r} at {T_ref} K")
                equilibrium = Equilibrium(float(lnK[j] + (n_rev - n_fwd) * math.log(1000.0)),
                                          float(T_ref), float(-slope[j]))
            reactions.append(Reaction(dict(r.reactants), dict(r.products), bool(r.reversible), fwd,
                                      orders=(dict(r.orders) or None) if note is None else None,
                                      equilibrium=equilibrium,
                                      dH=float(dH_all[j]), equation=r.equation, note=note,
                                      where=loc))
    finally:
        sol.TPY = saved
    if skipped:
        import warnings

        warnings.warn(f"{source}: left out {len(skipped)} reactions that flowchem's liquid-phase "
                      f"kinetics cannot represent: {', '.join(skipped[:5])}"
                      + (" ..." if len(skipped) > 5 else ""), stacklevel=3)
    cls = GasPhaseMechanism if gas_only and not skip_unsupported else Mechanism
    mech = _located(cls, species, reactions, sol.name or None, source, Location(source))
    mech.gas_kinetics = gas
    if cls is GasPhaseMechanism:
        mech.gas_only_reactions = gas_only
    return mech


def _not_liquid(r) -> str:
    """Why the liquid-phase kernel cannot represent reaction ``r`` ('' if it can):
    only elementary Arrhenius reactions with non-negative orders of reactants."""
    if (r.third_body is not None or getattr(r.rate, "type", None) != "Arrhenius"
            or r.reaction_type != "Arrhenius"):
        return r.reaction_type
    if any(o < 0 or name not in r.reactants for name, o in r.orders.items()):
        return "elementary with negative or non-reactant orders"
    return ""


def _representative_rate(gas: GasKinetics, j: int, kind: str) -> tuple[RateLaw, str]:
    """An Arrhenius term standing for reaction ``j``'s rate in the reaction list
    (never used for kinetics: GasPhaseMechanism refuses compile), and a note
    saying which term it is."""
    gm = gas.model
    if kind.startswith("pressure-dependent"):  # Cantera's type name of PLOG
        levels = range(gm[20][j], gm[20][j + 1])
        lev = min(levels, key=lambda lv: abs(gm[21][lv] - math.log(101325.0)))
        row = gm[23][gm[22][lev]]
        what = f"the first Arrhenius term at {math.exp(gm[21][lev]):.6g} Pa"
    elif kind.startswith("chemically-activated"):
        row, what = gm[13][j], "its low-pressure limit"
    elif kind.startswith("falloff"):
        row, what = gm[12][j], "its high-pressure limit"
    elif kind.startswith("three-body"):
        row, what = gm[12][j], "its Arrhenius term without [M]"
    else:
        row, what = gm[12][j], "its Arrhenius term (orders as in the file)"
    lnA = row[0] if row[3] > 0 else -math.inf
    return (RateLaw(float(lnA), float(row[1]), float(row[2])),
            f"{kind}: rate shown is {what}; the full rate is in mechanism.gas_kinetics")

