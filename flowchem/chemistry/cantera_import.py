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
from .mechanism import (_DEFAULT_T_REF, Equilibrium, Mechanism, RateLaw, Reaction, Species,
                        _located)

__all__ = ["read_cantera"]


def read_cantera(path_or_name, phase: str | None = None, *, T_ref: float = _DEFAULT_T_REF,
                 skip_unsupported: bool = False) -> Mechanism:
    """Read a Cantera mechanism (file path, a name in Cantera's data path, or a
    ``cantera.Solution``).

    Only elementary reactions with Arrhenius rates are taken; three-body,
    falloff, pressure-dependent, Chebyshev, Blowers-Masel and surface reactions
    are refused with an InputError naming the reaction (or, with
    ``skip_unsupported=True``, left out with a warning naming them). Cantera's kmol-based
    units are converted: A_mol = A_kmol * 1000^(1 - n) for forward order n.
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
            if r.third_body is not None or getattr(rate, "type", None) != "Arrhenius" \
                    or r.reaction_type != "Arrhenius":
                if skip_unsupported:
                    skipped.append(r.equation)
                    continue
                raise loc.error(f"reaction {r.equation!r} is of type '{r.reaction_type}'; only "
                                "elementary Arrhenius reactions are supported (to leave such "
                                "reactions out with a warning: skip_unsupported=True, or "
                                "'mechanism: {cantera: FILE, skip_unsupported: true}' in a route)")
            A_kmol = rate.pre_exponential_factor
            if A_kmol < 0 or not math.isfinite(A_kmol):
                raise loc.error(f"reaction {r.equation!r} has a negative or infinite pre-exponential factor")
            orders = dict(r.reactants)
            orders.update(r.orders)
            n_fwd = sum(orders.values())
            n_rev = sum(r.products.values())
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
                                      orders=dict(r.orders) or None, equilibrium=equilibrium,
                                      dH=float(dH_all[j]), equation=r.equation, where=loc))
    finally:
        sol.TPY = saved
    if skipped:
        import warnings

        warnings.warn(f"{source}: left out {len(skipped)} reactions that flowchem's liquid-phase "
                      f"kinetics cannot represent: {', '.join(skipped[:5])}"
                      + (" ..." if len(skipped) > 5 else ""), stacklevel=3)
    return _located(Mechanism, species, reactions, sol.name or None, source, Location(source))

