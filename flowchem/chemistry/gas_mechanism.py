"""Cantera gas-phase kinetics and NASA-7 thermodynamics packed into flat arrays.

:meth:`GasKinetics.from_solution` reads a ``cantera.Solution`` (ideal gas,
gas kinetics) into SI arrays (mol, m^3, J, K) that :mod:`kernels.gas_kinetics`
and :mod:`kernels.thermo` evaluate; :attr:`GasKinetics.model` is the tuple
those kernels take (layout in :mod:`kernels.gas_kinetics`).

Supported: elementary Arrhenius, three-body with collision efficiencies
(``M`` or an explicit collider), Lindemann and Troe (3- and 4-parameter)
falloff, chemically activated (Lindemann or Troe), pressure-dependent
Arrhenius (PLOG, several Arrhenius terms per pressure summed), explicit
orders (negative where Cantera allows them), duplicates (separate
reactions); species thermodynamics as NASA-7 polynomials in two ranges.
Anything else (Chebyshev, Blowers-Masel, SRI or Tsang falloff, surface,
electrochemical, plasma, custom rates; non-NASA-7 thermodynamics) is refused
with an :class:`InputError` naming the reaction and its type, or, with
``skip_unsupported=True`` (reactions only), left out and listed in
:attr:`GasKinetics.skipped`.

Units: Cantera works in kmol. A rate coefficient multiplying concentrations
of total order ``n`` (the reactant orders, plus one for the third body of a
three-body reaction) converts as ``A_mol = A_kmol * 1000**(1 - n)``; the low-
and high-pressure limits of falloff reactions take ``n + 1`` and ``n``,
those of chemically activated reactions ``n`` and ``n - 1`` (so that
``Pr = k0 [M] / k_inf`` is dimensionless).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import InputError, Location
from .mechanism import Mechanism

__all__ = ["GasKinetics", "GasPhaseMechanism", "UNSUPPORTED_HINT"]

# reaction kinds (kernels.gas_kinetics mirrors these numbers)
ELEMENTARY, THREE_BODY, FALLOFF, CHEMICALLY_ACTIVATED, PLOG = 0, 1, 2, 3, 4
KIND_NAMES = ("elementary", "three-body", "falloff", "chemically-activated",
              "pressure-dependent-Arrhenius")
LINDEMANN, TROE = 0, 1

UNSUPPORTED_HINT = ("supported: elementary, three-body, Lindemann/Troe falloff, chemically "
                    "activated and PLOG reactions")

_KMOL = 1000.0


def _csr(rows):
    """CSR triple (ptr int64, index int64, value float64) of rows of (index, value)."""
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    idx, val = [], []
    for j, row in enumerate(rows):
        row = sorted(row)
        idx.extend(i for i, _ in row)
        val.extend(v for _, v in row)
        ptr[j + 1] = ptr[j] + len(row)
    return (ptr, np.array(idx, dtype=np.int64), np.array(val, dtype=np.float64))


def _slots(entries, n, width=3):
    """Species indices of ``entries`` ((index, value) pairs), each repeated by
    its (small whole-number) value, padded with ``n`` to ``width``; None when a
    value is not a whole number in 1..3 or the entries need more slots."""
    out = []
    for i, v in entries:
        if v != round(v) or not 1 <= v <= 3:
            return None
        out.extend([int(i)] * int(v))
    if len(out) > width:
        return None
    return out + [n] * (width - len(out))


def _row(ptr, idx, val, j):
    """Row ``j`` of a CSR as (index, value) pairs."""
    return [(idx[a], val[a]) for a in range(ptr[j], ptr[j + 1])]


def fast_path_arrays(model, n: int) -> tuple:
    """The derived arrays 26-33 of the kernel tuple (see
    :mod:`kernels.gas_kinetics`): slot forms of the forward and reverse
    orders and of the net stoichiometry, the stoichiometry by species, and
    the reactions whose Arrhenius terms change with T."""
    r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, s_ptr, s_sp, s_nu = model[:9]
    reversible = model[10]
    m = r_ptr.shape[0] - 1
    fslot = np.full((m, 3), n, dtype=np.int64)
    rslot = np.full((m, 3), n, dtype=np.int64)
    kslot = np.full((m, 6), n, dtype=np.int64)
    for j in range(m):
        fs = _slots(_row(r_ptr, r_sp, r_ord, j), n)
        fslot[j] = fs if fs is not None else [-1, n, n]
        if reversible[j]:
            rs = _slots(_row(p_ptr, p_sp, p_ord, j), n)
            rslot[j] = rs if rs is not None else [-1, n, n]
        net = _row(s_ptr, s_sp, s_nu, j)
        kp = _slots([(i, v) for i, v in net if v > 0], n)
        kn = _slots([(i, -v) for i, v in net if v < 0], n)
        kslot[j] = kp + kn if kp is not None and kn is not None else [-1] + [n] * 5
    order = np.lexsort((np.repeat(np.arange(m), np.diff(s_ptr)), s_sp))   # by species, then reaction
    rx = np.repeat(np.arange(m), np.diff(s_ptr))[order]
    sp_ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(sp_ptr, s_sp + 1, 1)
    sp_ptr = np.cumsum(sp_ptr)
    kind, high = model[9], model[12]
    elementary = (kind == ELEMENTARY) | (kind == THREE_BODY)
    arrhenius_rows = np.nonzero(elementary & ((high[:, 1] != 0.0) | (high[:, 2] != 0.0)))[0]
    falloff_rows = np.nonzero((kind == FALLOFF) | (kind == CHEMICALLY_ACTIVATED))[0]
    return (fslot, rslot, kslot, sp_ptr, np.ascontiguousarray(rx, dtype=np.int64),
            np.ascontiguousarray(s_nu[order], dtype=np.float64),
            arrhenius_rows.astype(np.int64), falloff_rows.astype(np.int64))


def _arrhenius_row(rate, order: float) -> tuple[float, float, float, float]:
    """(ln|A|, b, Ea/R, sign A) in SI for an Arrhenius rate multiplying
    concentrations of total order ``order``."""
    import cantera as ct

    A = float(rate.pre_exponential_factor) * _KMOL ** (1.0 - order)
    sign = 1.0 if A > 0 else (-1.0 if A < 0 else 0.0)
    lnA = math.log(abs(A)) if A != 0.0 else -math.inf
    return (lnA, float(rate.temperature_exponent),
            float(rate.activation_energy) / ct.gas_constant, sign)


def _nasa7(sp, where: Location) -> np.ndarray:
    """(T_mid, low a0..a6, high a0..a6) of a NASA-7 species, else InputError."""
    import cantera as ct

    thermo = sp.thermo
    if not isinstance(thermo, ct.NasaPoly2):
        raise where.error(f"species {sp.name!r} has {type(thermo).__name__} thermodynamics; "
                          "only NASA-7 polynomials are supported")
    c = np.asarray(thermo.coeffs, dtype=float)   # [T_mid, high a0..a6, low a0..a6]
    return np.concatenate(([c[0]], c[8:15], c[1:8]))


@dataclass(frozen=True, eq=False)
class GasKinetics:
    """A gas mechanism as flat SI arrays (see :mod:`kernels.gas_kinetics`).

    Attributes
    ----------
    species_names, equations, reaction_types : tuple of str
        Names, Cantera equation strings and flowchem kind names (``KIND_NAMES``,
        with ``-Troe`` / ``-Lindemann`` for falloff) of the kept reactions.
    reaction_indices : numpy.ndarray
        Index in the Cantera Solution of each kept reaction.
    skipped : tuple of str
        ``"equation (type)"`` of reactions left out with ``skip_unsupported``.
    molar_masses : numpy.ndarray
        kg/mol.
    reference_pressure : float
        Pa, the standard-state pressure of the thermodynamic data.
    model : tuple
        The arrays the kernels take, in the order documented in
        :mod:`kernels.gas_kinetics`.
    """

    species_names: tuple
    equations: tuple
    reaction_types: tuple
    reaction_indices: np.ndarray
    skipped: tuple
    molar_masses: np.ndarray
    element_names: tuple
    element_matrix: np.ndarray
    reference_pressure: float
    model: tuple = field(repr=False)
    source: str = "<cantera>"

    @property
    def n_species(self) -> int:
        return len(self.species_names)

    @property
    def n_reactions(self) -> int:
        return len(self.equations)

    @property
    def nasa(self) -> np.ndarray:
        """(n, 15) NASA-7 coefficients: T_mid, low-range a0..a6, high-range a0..a6."""
        return self.model[24]

    def __repr__(self) -> str:
        return (f"<GasKinetics: {self.n_species} species, {self.n_reactions} reactions"
                f"{f', {len(self.skipped)} skipped' if self.skipped else ''}, from {self.source}>")

    @classmethod
    def from_solution(cls, sol, *, skip_unsupported: bool = False, source: str | None = None
                      ) -> "GasKinetics":
        """Pack a ``cantera.Solution`` (or a file name Cantera can read).

        Parameters
        ----------
        sol : cantera.Solution or str or os.PathLike
            An ideal-gas phase with gas kinetics.
        skip_unsupported : bool
            Leave out reactions of unsupported types (listed in ``skipped``)
            instead of refusing them.
        source : str, optional
            File name for messages (default: the Solution's source).

        Raises
        ------
        InputError
            An unsupported reaction type (naming the equation and its type),
            species thermodynamics other than NASA-7, or a phase that is not an
            ideal gas with kinetics.
        """
        import cantera as ct

        if not isinstance(sol, ct.Solution):
            source = source or os.fspath(sol)
            try:
                sol = ct.Solution(os.fspath(sol))
            except ct.CanteraError as exc:
                lines = [ln.strip() for ln in str(exc).splitlines()
                         if ln.strip() and not set(ln.strip()) <= set("*-")]
                raise InputError(f"Cantera could not read it: {lines[-1] if lines else exc}",
                                 source) from None
        source = source or getattr(sol, "source", None) or "<cantera>"
        top = Location(source)
        if not hasattr(sol, "reactions"):
            raise top.error(f"phase {sol.name!r} has no kinetics")
        n = sol.n_species

        r_rows, p_rows, s_rows, eff_rows = [], [], [], []
        kind, reversible, dn, fform = [], [], [], []
        high, low, troe, eff_default = [], [], [], []
        plog_levels, plog_lnP, plog_rate_rows = [], [], []
        equations, types, kept, skipped = [], [], [], []
        nan4 = (math.nan,) * 4
        for j, r in enumerate(sol.reactions()):
            loc = top.key("reactions").item(j)
            rate = r.rate
            rtype = rate.type
            tb = r.third_body
            sub = getattr(rate, "sub_type", "") if rtype in ("falloff", "chemically-activated") else ""
            if rtype == "Arrhenius":
                k = THREE_BODY if tb is not None and tb.mass_action else ELEMENTARY
                ok = tb is None or tb.mass_action
            elif rtype in ("falloff", "chemically-activated"):
                k = FALLOFF if rtype == "falloff" else CHEMICALLY_ACTIVATED
                ok = sub in ("Lindemann", "Troe") and tb is not None
            elif rtype == "pressure-dependent-Arrhenius":
                k = PLOG
                ok = tb is None
            else:
                ok = False
            if not ok:
                label = r.reaction_type + (f" ({sub})" if sub and sub not in r.reaction_type else "")
                if skip_unsupported:
                    skipped.append(f"{r.equation} ({label})")
                    continue
                raise loc.error(f"reaction {r.equation!r} is of type '{label}', which flowchem cannot "
                                f"represent ({UNSUPPORTED_HINT}; to leave such reactions out: "
                                "skip_unsupported=True)")
            orders = {name: float(o) for name, o in r.reactants.items()}
            orders.update({name: float(o) for name, o in r.orders.items()})
            n_fwd = sum(orders.values())
            r_rows.append([(sol.species_index(s), o) for s, o in orders.items() if o != 0.0])
            p_rows.append([(sol.species_index(s), float(c)) for s, c in r.products.items()]
                          if r.reversible else [])
            net = {}
            for s, c in r.reactants.items():
                net[s] = net.get(s, 0.0) - float(c)
            for s, c in r.products.items():
                net[s] = net.get(s, 0.0) + float(c)
            s_rows.append([(sol.species_index(s), v) for s, v in net.items() if v != 0.0])
            dn.append(sum(float(c) for c in r.products.values())
                      - sum(float(c) for c in r.reactants.values()))
            reversible.append(1 if r.reversible else 0)
            kind.append(k)
            if tb is not None:
                d = float(tb.default_efficiency)
                eff_default.append(d)
                row = []
                for s, e in tb.efficiencies.items():
                    if s in sol.species_names and float(e) != d:
                        row.append((sol.species_index(s), float(e) - d))
                eff_rows.append(row)
            else:
                eff_default.append(0.0)
                eff_rows.append([])
            levels = []
            if k in (ELEMENTARY, THREE_BODY):
                high.append(_arrhenius_row(rate, n_fwd + (1.0 if k == THREE_BODY else 0.0)))
                low.append(nan4)
                troe.append(nan4)
                fform.append(LINDEMANN)
            elif k in (FALLOFF, CHEMICALLY_ACTIVATED):
                shift = 0.0 if k == FALLOFF else -1.0
                high.append(_arrhenius_row(rate.high_rate, n_fwd + shift))
                low.append(_arrhenius_row(rate.low_rate, n_fwd + 1.0 + shift))
                if sub == "Troe":
                    coeffs = list(rate.falloff_coeffs) + [0.0] * (4 - len(rate.falloff_coeffs))
                    troe.append(tuple(float(x) for x in coeffs[:4]))
                    fform.append(TROE)
                else:
                    troe.append(nan4)
                    fform.append(LINDEMANN)
            else:  # PLOG: one level per distinct pressure, its Arrhenius terms summed
                high.append(nan4)
                low.append(nan4)
                troe.append(nan4)
                fform.append(LINDEMANN)
                by_p: dict[float, list] = {}
                for P, arr in rate.rates:
                    by_p.setdefault(float(P), []).append(_arrhenius_row(arr, n_fwd))
                for P in sorted(by_p):
                    levels.append((math.log(P), by_p[P]))
            plog_levels.append(len(levels))
            for lnP, rows in levels:
                plog_lnP.append(lnP)
                plog_rate_rows.append(rows)
            equations.append(r.equation)
            types.append(KIND_NAMES[k] + (f"-{sub}" if sub else ""))
            kept.append(j)

        # the phase after the reactions, so that a surface or electrochemical
        # mechanism is refused by its first unsupported reaction
        if sol.thermo_model != "ideal-gas" or sol.kinetics_model not in ("gas", "bulk"):
            raise top.error(f"phase {sol.name!r} is '{sol.thermo_model}' with '{sol.kinetics_model}' "
                            "kinetics; the gas kernels need an ideal gas with gas-phase kinetics")
        nasa = np.array([_nasa7(sp, top.key("species").item(k)) for k, sp in enumerate(sol.species())])
        m = len(kept)
        plog_ptr = np.zeros(m + 1, dtype=np.int64)
        plog_ptr[1:] = np.cumsum(plog_levels)
        plog_rptr = np.zeros(len(plog_rate_rows) + 1, dtype=np.int64)
        plog_rptr[1:] = np.cumsum([len(rows) for rows in plog_rate_rows])
        plog_rates = np.array([row for rows in plog_rate_rows for row in rows],
                              dtype=float).reshape(-1, 4)

        def arr2(rows):
            return np.ascontiguousarray(np.array(rows, dtype=float).reshape(-1, 4))

        model = (*_csr(r_rows), *_csr(p_rows), *_csr(s_rows),
                 np.array(kind, dtype=np.int64), np.array(reversible, dtype=np.int64),
                 np.array(dn, dtype=float), arr2(high), arr2(low), arr2(troe),
                 np.array(fform, dtype=np.int64), *_csr(eff_rows),
                 np.array(eff_default, dtype=float),
                 plog_ptr, np.array(plog_lnP, dtype=float), plog_rptr,
                 np.ascontiguousarray(plog_rates),
                 np.ascontiguousarray(nasa.reshape(n, 15)),
                 np.array([float(sol.reference_pressure)]))
        model = model + fast_path_arrays(model, n)
        model = tuple(np.ascontiguousarray(a) for a in model)
        element_matrix = np.array([[sol.n_atoms(k, e) for k in range(n)]
                                   for e in range(sol.n_elements)], dtype=float)
        return cls(species_names=tuple(sol.species_names), equations=tuple(equations),
                   reaction_types=tuple(types), reaction_indices=np.array(kept, dtype=np.int64),
                   skipped=tuple(skipped), molar_masses=np.asarray(sol.molecular_weights) * 1e-3,
                   element_names=tuple(sol.element_names), element_matrix=element_matrix,
                   reference_pressure=float(sol.reference_pressure), model=model, source=source)


class GasPhaseMechanism(Mechanism):
    """A Cantera mechanism with reactions beyond elementary Arrhenius
    (three-body, falloff, chemically activated, PLOG).

    It lists species and reactions like any :class:`Mechanism` (names,
    elements, element balance, equation strings; the ``rate`` of such a
    reaction is only a representative Arrhenius term, stated in its ``note``),
    and carries the full kinetics and thermodynamics in :attr:`gas_kinetics`
    for the gas-phase kernels. :meth:`compile` (the liquid-phase mass-action
    arrays) refuses it, since those arrays cannot represent these rate forms.
    """

    gas_kinetics: GasKinetics
    #: reaction index -> what the liquid-phase kernel cannot represent (Cantera's
    #: reaction type, e.g. 'three-body-Arrhenius', or the negative orders)
    gas_only_reactions: dict

    def compile(self):
        j, why = next(iter(self.gas_only_reactions.items()))
        where = Location(self.source, f"reactions[{j}]")
        raise where.error(
            f"reaction {self.reactions[j].equation!r} is {why}; flowchem's liquid-phase (mass-action) "
            "kinetics takes only elementary Arrhenius reactions (a gas-phase reactor runs the "
            "whole mechanism; to keep only the elementary reactions: skip_unsupported=True, or "
            "'mechanism: {cantera: FILE, skip_unsupported: true}' in a route)")
