"""Kinetic parameters addressed by name, and their well-scaled form for fitting.

Names follow DESIGN.md: ``ID.k``, ``ID.A``, ``ID.b``, ``ID.k_ref``, ``ID.Ea``,
``ID.K_ref``, ``ID.dH``, ``ID.reverse.k_ref`` (and the other rate keys under
``reverse.``), ``ID.order.SPECIES``, where ``ID`` is a reaction's ``id``
(default ``r1``, ``r2``, ... by position). A rate parameter must belong to
the form its reaction was written in (``r1.k_ref`` for a ``{k_ref, T_ref,
Ea}`` rate).

Scaling
-------
Every parameter set maps *affinely* onto the kernel's raw arrays
``(ln A, b, Ea/R)`` per rate, ``(ln K_ref, 1/T_ref, dH/R)`` per equilibrium,
the reaction orders and the reaction enthalpies::

    raw = raw_0 + M θ

with θ the well-scaled fitting coordinates:

* rate magnitudes in logarithms (``ln k``, ``ln A``, ``ln k_ref``, ``ln K_ref``);
* ``Ea/(R T_c)`` and ``dH/(R T_c)``, dimensionless at the centre temperature
  ``T_c`` of the data;
* where both a rate magnitude and its activation energy are fitted, the
  magnitude is replaced by ``ln k(T_c)``, the log rate constant at the centre
  temperature, so that the two coordinates are nearly uncorrelated (the
  classical reparametrisation of Arrhenius fits; Schwaab and Pinto, Chem.
  Eng. Sci. 62 (2007) 2750);
* ``b`` and orders as they are.

Because the map is affine, sensitivities with respect to θ follow from those
with respect to the raw arrays by one constant matrix, and intervals found in
θ transform back exactly. The user's form (the *natural* coordinates: the
logarithm of each positive parameter, the others as they are) is another
affine image ``natural = N θ + n_0``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..core.errors import InputError
from ..core.units import GAS_CONSTANT as R

__all__ = ["Parameter", "ParameterMap", "parameter_names", "parse_parameter_name", "RawLayout"]

RATE_KEYS = {"A": ("A", "b", "Ea"), "k_ref": ("k_ref", "Ea"), "k": ("k",)}
_POSITIVE = {"A", "k", "k_ref", "K_ref"}
_NAME = re.compile(r"^(?P<rid>[A-Za-z_][A-Za-z0-9_\-]*)\.(?P<rest>.+)$")


@dataclass(frozen=True)
class Parameter:
    """One addressable parameter: reaction index, where it lives, its key."""

    name: str
    reaction: int
    target: str        # "rate", "reverse", "equilibrium", "dH", "order"
    key: str           # A, b, Ea, k_ref, k, K_ref, dH, or the species of an order
    positive: bool     # estimated in logarithms; reported as exp

    @property
    def unit(self):
        """SI unit text for reports ('' for dimensionless or order-dependent)."""
        return {"Ea": "J/mol", "dH": "J/mol"}.get(self.key, "") if self.target != "order" else ""


def _reaction_index(mechanism, rid, name):
    ids = mechanism.reaction_ids
    if rid not in ids:
        raise InputError(f"unknown parameter {name!r}: no reaction with id {rid!r} "
                         f"(ids: {', '.join(ids)})", "<parameters>", name)
    return ids.index(rid)


def parse_parameter_name(mechanism, name):
    """The :class:`Parameter` a name addresses; InputError naming the valid ones."""
    m = _NAME.match(name.strip()) if isinstance(name, str) else None
    if m is None:
        raise InputError(f"expected a parameter name such as 'r1.k_ref', got {name!r}", "<parameters>")
    j = _reaction_index(mechanism, m.group("rid"), name)
    r = mechanism.reactions[j]
    rest = m.group("rest")
    valid = parameter_names(mechanism, j)
    if rest.startswith("order."):
        sp = rest[len("order."):]
        if sp not in r.orders:
            raise InputError(f"unknown parameter {name!r}: {sp!r} is not a reactant of "
                             f"{r.equation!r}", "<parameters>", name)
        return Parameter(name, j, "order", sp, False)
    if rest == "dH":
        return Parameter(name, j, "dH", "dH", False)
    if rest == "K_ref":
        if r.equilibrium is None:
            raise InputError(f"unknown parameter {name!r}: {r.equation!r} has no equilibrium "
                             f"constant (its parameters: {', '.join(valid)})", "<parameters>", name)
        return Parameter(name, j, "equilibrium", "K_ref", True)
    target, key = ("reverse", rest[len("reverse."):]) if rest.startswith("reverse.") else ("rate", rest)
    law = r.rate if target == "rate" else r.reverse
    if law is None or key not in RATE_KEYS.get(law.form, ()):
        raise InputError(f"unknown parameter {name!r} (parameters of {r.equation!r}: "
                         f"{', '.join(valid)})", "<parameters>", name)
    return Parameter(name, j, target, key, key in _POSITIVE)


def parameter_names(mechanism, reaction=None):
    """Every addressable parameter name (of one reaction index, or all)."""
    out = []
    rids = mechanism.reaction_ids
    for j, r in enumerate(mechanism.reactions):
        if reaction is not None and j != reaction:
            continue
        rid = rids[j]
        out += [f"{rid}.{k}" for k in RATE_KEYS[r.rate.form]]
        if r.reverse is not None:
            out += [f"{rid}.reverse.{k}" for k in RATE_KEYS[r.reverse.form]]
        if r.equilibrium is not None:
            out.append(f"{rid}.K_ref")
        out.append(f"{rid}.dH")
        out += [f"{rid}.order.{s}" for s in r.orders]
    return out


class RawLayout:
    """Offsets of the raw parameter vector of a compiled mechanism:
    ``[fwd (m x 3), rev (m x 3), forward orders (nnz), dH (m)]``."""

    def __init__(self, compiled):
        self.m = compiled.n_reactions
        r_ptr, r_sp = compiled.model[0], compiled.model[1]
        self.order_ptr = r_ptr
        self.order_species = r_sp
        self.fwd = 0
        self.rev = 3 * self.m
        self.orders = 6 * self.m
        self.dH = 6 * self.m + len(r_sp)
        self.size = self.dH + self.m

    def pack(self, compiled):
        _, fwd, rev = compiled.rate_params
        return np.concatenate([fwd.ravel(), rev.ravel(), compiled.model[2], compiled.delta_H])

    def unpack(self, raw):
        """(fwd, rev, forward orders, dH) views/copies of a raw vector."""
        m = self.m
        fwd = np.ascontiguousarray(raw[:3 * m].reshape(m, 3))
        rev = np.ascontiguousarray(raw[3 * m:6 * m].reshape(m, 3))
        return fwd, rev, np.ascontiguousarray(raw[self.orders:self.dH]), np.ascontiguousarray(raw[self.dH:])

    def order_slot(self, j, species_index):
        for a in range(self.order_ptr[j], self.order_ptr[j + 1]):
            if self.order_species[a] == species_index:
                return self.orders + a
        return -1


class ParameterMap:
    """The affine map between fitting coordinates θ and a mechanism's raw arrays.

    Parameters
    ----------
    mechanism : Mechanism
    names : list of str
        Parameters to estimate (DESIGN.md names).
    T_center : float
        Centre temperature of the data, K (the reference for ``ln k(T_c)``
        and ``Ea/(R T_c)``).

    Attributes
    ----------
    params : list of Parameter
    theta0 : ndarray
        θ of the mechanism as given.
    M : ndarray (raw size, p)
        d raw / d θ.
    N : ndarray (p, p)
        d natural / d θ (natural: the user's parameters, positive ones in logs).
    """

    def __init__(self, mechanism, names, T_center):
        if isinstance(names, str):
            names = [n for n in names.split(",") if n.strip()]
        names = [n.strip() for n in names]
        if not names:
            raise InputError("no parameters to fit: give at least one name such as r1.k_ref",
                             "<parameters>")
        seen = set()
        for n in names:
            if n in seen:
                raise InputError(f"parameter {n!r} is named twice", "<parameters>", n)
            seen.add(n)
        if not (T_center > 0 and math.isfinite(T_center)):
            raise InputError(f"centre temperature must be positive, got {T_center}", "<parameters>")
        self.mechanism = mechanism
        self.params = [parse_parameter_name(mechanism, n) for n in names]
        self.names = names
        self.T_center = float(T_center)
        self.compiled = mechanism.compile()
        self.layout = RawLayout(self.compiled)
        self.raw_base = self.layout.pack(self.compiled)
        self._build()

    @property
    def n(self):
        return len(self.params)

    # -- construction of the affine maps ---------------------------------------
    def _natural_value(self, p):
        r = self.mechanism.reactions[p.reaction]
        if p.target == "order":
            return float(r.orders[p.key])
        if p.target == "dH":
            return float(r.dH or 0.0) / (R * self.T_center)
        if p.target == "equilibrium":
            return float(r.equilibrium.lnK_ref)
        law = r.rate if p.target == "rate" else r.reverse
        if p.key == "Ea":
            return law.Ea_over_R / self.T_center
        if p.key == "b":
            return law.b
        if p.key in ("A", "k"):
            return law.lnA
        return law.lnA - law.Ea_over_R / law.T_ref     # ln k_ref

    def _build(self):
        lay, Tc = self.layout, self.T_center
        p = self.n
        M = np.zeros((lay.size, p))
        N = np.eye(p)
        natural0 = np.array([self._natural_value(q) for q in self.params])
        if not np.all(np.isfinite(natural0)):
            bad = self.params[int(np.argmin(np.isfinite(natural0)))]
            raise InputError(f"parameter {bad.name!r} starts at zero; a fitted rate or equilibrium "
                             "constant needs a positive starting value", "<parameters>", bad.name)
        theta0 = natural0.copy()
        index = {(q.reaction, q.target, q.key): i for i, q in enumerate(self.params)}
        for i, q in enumerate(self.params):
            j = q.reaction
            r = self.mechanism.reactions[j]
            if q.target == "order":
                slot = lay.order_slot(j, self.mechanism.species_names.index(q.key))
                if slot < 0:  # a zero order is not stored in the kernel's sparse rows
                    raise InputError(f"parameter {q.name!r}: the order of {q.key!r} is zero in the "
                                     "mechanism; give it a non-zero starting order to fit it",
                                     "<parameters>", q.name)
                M[slot, i] = 1.0
                continue
            if q.target == "dH":
                M[lay.dH + j, i] = R * Tc
                if r.equilibrium is not None:
                    M[lay.rev + 3 * j + 2, i] = Tc           # van 't Hoff dH/R
                continue
            if q.target == "equilibrium":
                M[lay.rev + 3 * j + 0, i] = 1.0
                continue
            base = lay.fwd if q.target == "rate" else lay.rev
            law = r.rate if q.target == "rate" else r.reverse
            col_lnA, col_b, col_E = base + 3 * j, base + 3 * j + 1, base + 3 * j + 2
            magnitude = next((index.get((j, q.target, k)) for k in ("A", "k", "k_ref")
                              if (j, q.target, k) in index), None)
            energy = index.get((j, q.target, "Ea"))
            if q.key == "b":
                M[col_b, i] = 1.0
                if magnitude is not None and energy is not None:
                    # ln A = ln k(T_c) - b ln T_c + E/T_c
                    M[col_lnA, i] = -math.log(Tc)
                    N[magnitude, i] = -math.log(Tc)
            elif q.key == "Ea":
                M[col_E, i] = Tc
                if law.form == "k_ref":
                    # ln A = ln k_ref + E/T_ref: E moves ln A unless ln k(T_c) is the coordinate
                    M[col_lnA, i] = Tc / law.T_ref
                if magnitude is not None:
                    # magnitude coordinate is ln k(T_c) = ln A + b ln T_c - E/T_c
                    M[col_lnA, i] = 1.0
            else:  # A, k, k_ref
                M[col_lnA, i] = 1.0
                if energy is not None:
                    # θ_i = ln k(T_c): ln A = θ_i - b ln T_c + E/T_c
                    theta0[i] = law.lnA + law.b * math.log(Tc) - law.Ea_over_R / Tc
                    if law.form == "k_ref":
                        N[i, energy] = 1.0 - Tc / law.T_ref   # ln k_ref = θ_i + θ_E (1 - T_c/T_ref)
                    else:
                        N[i, energy] = 1.0                    # ln A = θ_i + θ_E (b fixed part in n0)
        self.M = M
        self.N = N
        self.theta0 = theta0
        self.natural_offset = natural0 - N @ theta0
        # raw_0 so that raw(θ0) reproduces the mechanism exactly
        self.raw0 = self.raw_base - M @ theta0

    # -- evaluation -----------------------------------------------------------
    def raw(self, theta):
        return self.raw0 + self.M @ np.asarray(theta, float)

    def arrays(self, theta):
        """(rate_params, forward orders, dH) for θ, as the kernel takes them."""
        fwd, rev, orders, dH = self.layout.unpack(self.raw(theta))
        rev_kind = self.compiled.rate_params[0]
        return (rev_kind, fwd, rev), orders, dH

    def natural(self, theta):
        return self.N @ np.asarray(theta, float) + self.natural_offset

    def user_values(self, theta):
        """Parameter values in the user's form, SI (k, not ln k; Ea in J/mol)."""
        nat = self.natural(theta)
        return np.array([self._to_user(q, x) for q, x in zip(self.params, nat)])

    def _to_user(self, q, x):
        if q.target == "order" or q.key == "b":
            return float(x)
        if q.key in ("Ea", "dH"):
            return float(x * R * self.T_center)
        return float(math.exp(x)) if x < 709.0 else math.inf

    def user_gradient(self, theta):
        """d user value / d θ (p x p), for the delta method."""
        nat = self.natural(theta)
        scale = np.array([self._user_slope(q, x) for q, x in zip(self.params, nat)])
        return scale[:, None] * self.N

    def _user_slope(self, q, x):
        if q.target == "order" or q.key == "b":
            return 1.0
        if q.key in ("Ea", "dH"):
            return R * self.T_center
        return math.exp(min(x, 709.0))

    def theta_from_user(self, values):
        """θ for parameter values in the user's form (SI), the inverse of user_values."""
        nat = np.array([self._from_user(q, v) for q, v in zip(self.params, values)])
        return np.linalg.solve(self.N, nat - self.natural_offset)

    def _from_user(self, q, v):
        if q.target == "order" or q.key == "b":
            return float(v)
        if q.key in ("Ea", "dH"):
            return float(v) / (R * self.T_center)
        if not v > 0:
            raise InputError(f"parameter {q.name!r} must be positive, got {v}", "<parameters>", q.name)
        return math.log(v)

    def mechanism_with(self, theta):
        """A copy of the mechanism with the parameters set to θ."""
        from .mechanism import Equilibrium, Mechanism, RateLaw

        import copy

        fwd, rev, orders, dH = self.layout.unpack(self.raw(theta))
        reactions = []
        changed = {q.reaction for q in self.params}
        for j, r in enumerate(self.mechanism.reactions):
            if j not in changed:
                reactions.append(r)
                continue
            r2 = copy.copy(r)
            r2.rate = RateLaw(float(fwd[j, 0]), float(fwd[j, 1]), float(fwd[j, 2]),
                              form=r.rate.form, T_ref=r.rate.T_ref)
            if r.reverse is not None:
                r2.reverse = RateLaw(float(rev[j, 0]), float(rev[j, 1]), float(rev[j, 2]),
                                     form=r.reverse.form, T_ref=r.reverse.T_ref)
            if r.equilibrium is not None:
                r2.equilibrium = Equilibrium(float(rev[j, 0]), r.equilibrium.T_ref, float(rev[j, 2]))
            if r.dH is not None or any(q.target == "dH" and q.reaction == j for q in self.params):
                r2.dH = float(dH[j])
            new_orders = dict(r.orders)
            for a in range(self.layout.order_ptr[j], self.layout.order_ptr[j + 1]):
                sp = self.mechanism.species_names[self.layout.order_species[a]]
                new_orders[sp] = float(orders[a])
            r2.orders = new_orders
            reactions.append(r2)
        mech = Mechanism(self.mechanism.species, reactions, name=self.mechanism.name,
                         source=self.mechanism.source)
        mech.units = self.mechanism.units
        mech.description = self.mechanism.description
        mech.base_dir = self.mechanism.base_dir
        return mech
