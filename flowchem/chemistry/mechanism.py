"""Species, reactions and mechanisms: validated, in SI, compiled to kernel arrays.

A :class:`Mechanism` is built from Python objects, from a native YAML file
(format fixed in DESIGN.md, "Mechanism file") or from a Cantera mechanism, and
:meth:`Mechanism.compile` turns it into the flat arrays of :mod:`kernels.kinetics`.

Decisions worth knowing
-----------------------
* Equations: ``=>`` irreversible, ``<=>`` or ``=`` reversible (as in Cantera); ``<=``
  is refused. Terms are separated by ``" + "`` *with spaces*, so species names may
  contain ``+``, digits, parentheses, commas and dashes (``NO+``, ``CH2(S)``,
  ``1,3-diene``). A stoichiometric coefficient is a number separated from the name
  by a space (``2 A``, ``0.5 O2``); ``2A`` is read as a species named ``2A``.
  A species repeated on one side is summed (``A + A`` is ``2 A``).
* A species on both sides (a catalyst, ``A + Cat => B + Cat``) is allowed: its
  forward order is its reactant coefficient, its net stoichiometry is
  products minus reactants (zero entries are left out of the arrays).
* ``orders:`` overrides forward orders of reactants only; zero orders are allowed
  and left out of the compiled rows. Reverse orders are the product coefficients.
* Rate forms (exactly one): ``{A, b, Ea}`` (b, Ea default 0),
  ``{k_ref, T_ref, Ea}`` (Ea defaults to 0, T_ref required), ``{k}``. A, k_ref and
  k must not be negative; zero switches the reaction (or its reverse) off, as a
  chemist does in a study or a fit bound may reach (stored as ln A = -inf, so
  k(T) is exactly 0 at every T). Ea must not be negative, b may have either sign. Rate constants are
  in concentration^(1-n)/time with n the overall forward order (sum of orders;
  for ``reverse:`` the sum of product coefficients). The T^b factor is not part
  of the unit check.
* ``equilibrium: {K_ref, T_ref, dH}``: K in concentration^(n_reverse - n_forward),
  ``k_r = k_f / K``. ``dH`` defaults to the reaction's ``dH`` (else 0: K independent
  of T); ``T_ref`` is required whenever that dH is non-zero (else 298.15 K).
  A reaction without ``dH`` takes the equilibrium's explicit ``dH``.
* Species: ``formula`` gives elements and molar mass (IUPAC weights, electron mass
  subtracted for cations); ``molar_mass`` alone gives the mass only; ``composition``
  (element counts, as in Cantera) gives elements. If both a formula and a molar
  mass are given they must agree within 1 %; the given molar mass is used.
  A plain-number molar mass is in kg/mol (SI; the units block has no key for it);
  values above 1 kg/mol draw a warning suggesting 'g/mol'.
* Balances: a reaction whose species all have elements must balance every element
  and the charge within 1e-9, else :class:`InputError`. Where some species have only
  a molar mass but all have one, the mass balance is checked and an imbalance above
  1e-3 relative draws a :class:`MassBalanceWarning` (user molar masses are often
  rounded and lumped pseudo-species are legitimate), not an error. Reactions with a
  species of unknown mass are not checked.
* ``element_matrix`` has a column of NaN for a species without elements; charge is
  in ``charges``, not in the matrix.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import warnings
from dataclasses import InitVar, dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import InputError, Location
from ..core.formula import ATOMIC_WEIGHTS, molar_mass as _formula_mass, parse_formula_charge
from ..core.units import (
    GAS_CONSTANT,
    parse_equilibrium_constant,
    parse_quantity,
    parse_rate_constant,
    parse_units_block,
)
from ..core.yamlio import check_keys, check_mapping, read_yaml, require_list

__all__ = [
    "Species",
    "RateLaw",
    "Equilibrium",
    "Reaction",
    "Mechanism",
    "CompiledMechanism",
    "MassBalanceWarning",
    "parse_equation",
    "load_mechanism",
]

R = GAS_CONSTANT
BALANCE_TOL = 1e-9
MASS_BALANCE_RTOL = 1e-3
_DEFAULT_T_REF = 298.15

_IRREVERSIBLE, _REVERSE_ARRHENIUS, _EQUILIBRIUM = 0, 1, 2


class MassBalanceWarning(UserWarning):
    """A reaction's species masses (from ``molar_mass:``) do not balance."""


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _ln(x: float) -> float:
    """ln x for x >= 0, with ln 0 = -inf (a rate constant of zero)."""
    return math.log(x) if x > 0.0 else -math.inf


def _exp(x: float) -> float:
    """exp x without OverflowError: inf beyond the largest double."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _finite_number(value, where: Location, what: str = "a number") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise where.error(f"expected {what}, got {_show(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise where.error(f"expected a finite number, got {_show(value)}")
    return x


# --------------------------------------------------------------------------- species

_BAD_NAME = re.compile(r"\s|=|<|>")
_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _check_name(name, where: Location) -> str:
    if not isinstance(name, str):
        raise where.error(f"species name must be a string, got {_show(name)} (quote it in YAML)")
    if not name or _BAD_NAME.search(name) or name == "+" or _NUMERIC.match(name):
        raise where.error(f"invalid species name {name!r} (no spaces, '=', '<', '>'; not a number)")
    return name


@dataclass
class Species:
    """A species. ``molar_mass`` in kg/mol (a string with units is accepted).

    ``formula`` fills ``elements``, ``charge`` and (unless given) ``molar_mass``.
    ``elements`` may be given directly (as Cantera's ``composition``).
    """

    name: str
    formula: str | None = None
    molar_mass: float | None = None
    elements: dict | None = None
    note: str | None = None
    charge: int = 0
    where: InitVar[Location | None] = None

    def __post_init__(self, where):
        where = where if where is not None else Location("<python>", f"Species({self.name!r})")
        _check_name(self.name, where.key("name"))
        if self.note is not None and not isinstance(self.note, str):
            raise where.key("note").error(f"expected text, got {_show(self.note)}")
        mm_given = None
        if self.molar_mass is not None:
            mloc = where.key("molar_mass")
            mm_given = parse_quantity(self.molar_mass, "molar_mass", None, mloc, positive=True)
            if not isinstance(self.molar_mass, str) and mm_given > 1.0:
                warnings.warn(f"{mloc}: molar mass {mm_given:g} kg/mol is unusually large; "
                              f"did you mean '{self.molar_mass} g/mol'?", UserWarning, stacklevel=3)
        if self.formula is not None:
            floc = where.key("formula")
            elements, charge = parse_formula_charge(self.formula, floc)
            if self.elements is not None:
                raise where.error("give either formula or elements/composition, not both")
            self.elements = {k: int(v) for k, v in elements.items()}
            self.charge = int(charge)
            mm_formula = _formula_mass(self.elements, self.charge)
            if mm_given is not None and abs(mm_given - mm_formula) > 0.01 * mm_formula:
                raise where.key("molar_mass").error(
                    f"molar mass {mm_given * 1e3:.6g} g/mol disagrees with formula "
                    f"{self.formula} ({mm_formula * 1e3:.6g} g/mol)")
            self.molar_mass = mm_given if mm_given is not None else mm_formula
        else:
            self.molar_mass = mm_given
            if self.elements is not None:
                eloc = where.key("composition")
                if not isinstance(self.elements, dict) or not self.elements:
                    raise eloc.error(f"expected a mapping of element: count, got {_show(self.elements)}")
                elements = {}
                for el, n in self.elements.items():
                    if not isinstance(el, str) or not el:
                        raise eloc.error(f"invalid element {_show(el)}")
                    x = _finite_number(n, eloc.key(el), "an element count")
                    if x < 0:
                        raise eloc.key(el).error(f"element count must not be negative, got {n}")
                    if x:
                        elements[el] = x
                self.elements = elements
                if self.molar_mass is None and all(el in ATOMIC_WEIGHTS for el in elements):
                    self.molar_mass = _formula_mass(elements, self.charge)
        if isinstance(self.charge, bool) or not isinstance(self.charge, numbers.Real) or self.charge != int(self.charge):
            raise where.key("charge").error(f"charge must be an integer, got {_show(self.charge)}")
        self.charge = int(self.charge)


# --------------------------------------------------------------------------- rate laws


@dataclass(frozen=True)
class RateLaw:
    """k(T) = exp(lnA + b ln T - Ea_over_R / T), SI units; ``lnA = -inf`` is a
    rate constant of zero (the reaction switched off).

    ``form`` records how the user wrote it (``"A"``: A, b, Ea; ``"k_ref"``:
    k_ref at ``T_ref`` with Ea; ``"k"``: a constant), so parameters can be
    addressed and written back in that form (see :mod:`flowchem.chemistry.parameters`).
    """

    lnA: float
    b: float = 0.0
    Ea_over_R: float = 0.0
    form: str = field(default="A", compare=False)
    T_ref: float | None = field(default=None, compare=False)

    def __post_init__(self):
        for name in ("lnA", "b", "Ea_over_R"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(v) \
                    or (math.isinf(v) and not (name == "lnA" and v < 0)):
                raise InputError(f"RateLaw.{name} must be a finite number"
                                 f"{' (or -inf: k = 0)' if name == 'lnA' else ''}, got {_show(v)}",
                                 "<python>")

    @property
    def is_zero(self) -> bool:
        """True when the rate constant is zero at every temperature."""
        return self.lnA == -math.inf

    def k(self, T: float) -> float:
        """k at T (K); 0 for a switched-off reaction, inf beyond the largest double."""
        if self.is_zero:
            return 0.0
        return _exp(self.lnA + self.b * math.log(T) - self.Ea_over_R / T)

    @staticmethod
    def _check_magnitude(value: float, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 \
                or not math.isfinite(value):
            raise InputError(f"RateLaw: {name} must be a finite number >= 0, got {_show(value)}",
                             "<python>", name)
        return float(value)

    @classmethod
    def arrhenius(cls, A: float, b: float = 0.0, Ea: float = 0.0) -> "RateLaw":
        """k = A T^b exp(-Ea/RT); A in SI (0 switches the reaction off), Ea in J/mol."""
        return cls(_ln(cls._check_magnitude(A, "A")), float(b), float(Ea) / R)

    @classmethod
    def constant(cls, k: float) -> "RateLaw":
        return cls(_ln(cls._check_magnitude(k, "k")), 0.0, 0.0, form="k")

    @classmethod
    def reference(cls, k_ref: float, T_ref: float, Ea: float = 0.0) -> "RateLaw":
        """k = k_ref exp(-Ea/R (1/T - 1/T_ref))."""
        return cls(_ln(cls._check_magnitude(k_ref, "k_ref")) + Ea / R / T_ref, 0.0, Ea / R,
                   form="k_ref", T_ref=float(T_ref))

    @classmethod
    def from_spec(cls, spec, order: float, units=None, where=None) -> "RateLaw":
        """A RateLaw from a rate mapping of the file format (strings with units or numbers)."""
        where = Location.coerce(where)
        if isinstance(spec, RateLaw):
            return spec
        check_mapping(spec, where, "a rate mapping such as {A: ..., b: ..., Ea: ...}")
        forms = [k for k in ("A", "k_ref", "k") if k in spec]
        if not forms:
            check_keys(spec, ("A", "b", "Ea", "k_ref", "T_ref", "k"), where)
            raise where.error("missing rate constant: give A (with b, Ea), k_ref (with T_ref, Ea) or k")
        if len(forms) > 1:
            raise where.error(f"give exactly one of A, k_ref or k (got {' and '.join(forms)})")
        form = forms[0]
        allowed = {"A": ("A", "b", "Ea"), "k_ref": ("k_ref", "T_ref", "Ea"), "k": ("k",)}[form]
        for key in spec:
            if key not in allowed:
                if key in ("A", "b", "Ea", "k_ref", "T_ref", "k"):
                    raise where.key(key).error(
                        f"key {key!r} does not belong to the {{{', '.join(allowed)}}} rate form")
        check_keys(spec, allowed, where)
        Ea = 0.0
        if "Ea" in spec:
            Ea = parse_quantity(spec["Ea"], "activation-energy", units, where.key("Ea"), nonnegative=True)
        if form == "A":
            A = parse_rate_constant(spec["A"], order, units, where.key("A"), nonnegative=True)
            b = 0.0
            if "b" in spec:
                b = parse_quantity(spec["b"], "dimensionless", None, where.key("b"))
            return cls(_ln(A), b, Ea / R)
        if form == "k_ref":
            if "T_ref" not in spec:
                raise where.error("missing T_ref (the temperature at which k_ref is given)")
            k_ref = parse_rate_constant(spec["k_ref"], order, units, where.key("k_ref"), nonnegative=True)
            T_ref = parse_quantity(spec["T_ref"], "temperature", units, where.key("T_ref"), positive=True)
            return cls.reference(k_ref, T_ref, Ea)
        k = parse_rate_constant(spec["k"], order, units, where.key("k"), nonnegative=True)
        return cls.constant(k)


@dataclass(frozen=True)
class Equilibrium:
    """K(T) = exp(lnK_ref - dH_over_R (1/T - 1/T_ref)), K in (mol/m^3)^(n_rev - n_fwd)."""

    lnK_ref: float
    T_ref: float = _DEFAULT_T_REF
    dH_over_R: float = 0.0

    def __post_init__(self):
        for name in ("lnK_ref", "T_ref", "dH_over_R"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise InputError(f"Equilibrium.{name} must be a finite number, got {_show(v)}", "<python>")
        if self.T_ref <= 0:
            raise InputError(f"Equilibrium.T_ref must be positive, got {self.T_ref}", "<python>")

    def K(self, T: float) -> float:
        """K at T (K); inf or 0 beyond the range of doubles, never OverflowError."""
        return _exp(self.lnK_ref - self.dH_over_R * (1.0 / T - 1.0 / self.T_ref))

    @classmethod
    def from_spec(cls, spec, delta_order: float, units=None, where=None,
                  default_dH: float | None = None) -> tuple["Equilibrium", float | None]:
        """(Equilibrium, explicit dH in J/mol or None) from an ``equilibrium:`` mapping."""
        where = Location.coerce(where)
        if isinstance(spec, Equilibrium):
            return spec, None
        check_mapping(spec, where, "a mapping {K_ref, T_ref, dH}")
        check_keys(spec, ("K_ref", "T_ref", "dH"), where, required=("K_ref",))
        K = parse_equilibrium_constant(spec["K_ref"], delta_order, units, where.key("K_ref"))
        dH_explicit = None
        if "dH" in spec:
            dH_explicit = parse_quantity(spec["dH"], "energy", units, where.key("dH"))
        dH = dH_explicit if dH_explicit is not None else (default_dH or 0.0)
        if "T_ref" in spec:
            T_ref = parse_quantity(spec["T_ref"], "temperature", units, where.key("T_ref"), positive=True)
        elif dH != 0.0:
            raise where.error("missing T_ref (the temperature at which K_ref is given)")
        else:
            T_ref = _DEFAULT_T_REF
        return cls(math.log(K), T_ref, dH / R), dH_explicit


# --------------------------------------------------------------------------- equations

_ARROWS = re.compile(r"<=>|=>|<=|=")


def _parse_side(text: str, where: Location, side: str) -> dict[str, float]:
    tokens = text.split()
    if not tokens:
        raise where.error(f"no {side} in equation")
    out: dict[str, float] = {}
    i = 0
    expect_term = True
    while i < len(tokens):
        tok = tokens[i]
        if not expect_term:
            if tok != "+":
                raise where.error(f"expected ' + ' between {side}, got {tok!r} "
                                  "(write '2 A' for a coefficient; '+' needs spaces around it)")
            expect_term = True
            i += 1
            continue
        if tok == "+":
            raise where.error(f"missing species before/after '+' in {side}")
        coef = 1.0
        if _NUMERIC.match(tok):
            coef = float(tok)
            i += 1
            if i >= len(tokens) or tokens[i] == "+":
                raise where.error(f"coefficient {tok!r} without a species in {side}")
            tok = tokens[i]
            if not coef > 0 or not math.isfinite(coef):
                raise where.error(f"stoichiometric coefficient must be positive, got {coef:g}")
        _check_name(tok, where)
        out[tok] = out.get(tok, 0.0) + coef
        expect_term = False
        i += 1
    if expect_term:
        raise where.error(f"missing species after '+' in {side}")
    return out


def parse_equation(equation, where=None) -> tuple[dict[str, float], dict[str, float], bool]:
    """``(reactants, products, reversible)`` of an equation like ``'2 A + B <=> C'``."""
    where = Location.coerce(where)
    if not isinstance(equation, str) or not equation.strip():
        raise where.error(f"expected an equation such as 'A + B => C', got {_show(equation)}")
    arrows = _ARROWS.findall(equation)
    if len(arrows) != 1:
        raise where.error(f"equation {equation!r} needs exactly one of '=>', '<=>' or '='")
    arrow = arrows[0]
    if arrow == "<=":
        raise where.error(f"equation {equation!r}: '<=' is not supported; write products on the right of '=>'")
    left, right = _ARROWS.split(equation)
    reactants = _parse_side(left, where, "reactants")
    products = _parse_side(right, where, "products")
    return reactants, products, arrow in ("<=>", "=")


def _format_side(side: dict[str, float]) -> str:
    return " + ".join(name if c == 1 else f"{c:g} {name}" for name, c in side.items())


# --------------------------------------------------------------------------- reactions


@dataclass
class Reaction:
    """A reaction in SI. ``rate``, ``reverse`` and ``equilibrium`` may be given as
    mappings of the file format (converted with ``units``, SI if None), ``dH`` as a
    string with units or J/mol; ``orders`` may name only some reactants (others keep
    their stoichiometric coefficient)."""

    reactants: dict
    products: dict
    reversible: bool
    rate: RateLaw
    orders: dict | None = None
    reverse: RateLaw | None = None
    equilibrium: Equilibrium | None = None
    dH: float | None = None
    equation: str = ""
    note: str | None = None
    id: str | None = None
    units: InitVar[dict | None] = None
    where: InitVar[Location | None] = None

    def __post_init__(self, units, where):
        where = where if where is not None else Location("<python>", f"Reaction({self.equation!r})" if self.equation else "Reaction")
        eq_loc = where.key("equation")
        for side_name in ("reactants", "products"):
            side = getattr(self, side_name)
            # An empty side (a source or a sink, as in test problems such as
            # HIRES) is allowed from Python; equations in files need both sides.
            if not isinstance(side, dict):
                raise eq_loc.error(f"{side_name} must be a mapping of species: coefficient")
            clean = {}
            for name, c in side.items():
                _check_name(name, eq_loc)
                x = _finite_number(c, eq_loc, "a stoichiometric coefficient")
                if x <= 0:
                    raise eq_loc.error(f"stoichiometric coefficient of {name!r} must be positive, got {c}")
                clean[name] = x
            setattr(self, side_name, clean)
        if not isinstance(self.reversible, bool):
            raise where.error(f"reversible must be True or False, got {_show(self.reversible)}")
        if not self.equation:
            self.equation = f"{_format_side(self.reactants)} {'<=>' if self.reversible else '=>'} {_format_side(self.products)}"
        if self.note is not None and not isinstance(self.note, str):
            raise where.key("note").error(f"expected text, got {_show(self.note)}")
        if self.id is not None and (not isinstance(self.id, str) or not _ID.match(self.id)):
            raise where.key("id").error(f"expected an identifier (letters, digits, '_' or '-', not "
                                        f"starting with a digit), got {_show(self.id)}")

        # orders
        orders = dict(self.reactants)
        if self.orders is not None:
            oloc = where.key("orders")
            check_mapping(self.orders, oloc, "a mapping of reactant: order")
            for name, o in self.orders.items():
                if name not in self.reactants:
                    raise oloc.key(name).error(
                        f"{name!r} is not a reactant of this reaction (reactants: {', '.join(self.reactants)})")
                x = _finite_number(o, oloc.key(name), "a reaction order")
                if x < 0:
                    raise oloc.key(name).error(f"order must not be negative, got {o}")
                orders[name] = x
        self.orders = orders
        n_fwd = sum(orders.values())
        n_rev = sum(self.products.values())

        if self.dH is not None:
            self.dH = parse_quantity(self.dH, "energy", units, where.key("dH"))
        if self.rate is None:
            raise where.error("missing rate")
        self.rate = RateLaw.from_spec(self.rate, n_fwd, units, where.key("rate"))

        if self.reversible:
            if self.reverse is None and self.equilibrium is None:
                raise where.error(f"reversible reaction {self.equation!r} needs 'equilibrium' or 'reverse' "
                                  "(or write '=>' for an irreversible one)")
            if self.reverse is not None and self.equilibrium is not None:
                raise where.error("give either 'equilibrium' or 'reverse', not both")
        else:
            for key in ("reverse", "equilibrium"):
                if getattr(self, key) is not None:
                    raise where.key(key).error(
                        f"irreversible reaction {self.equation!r} takes no {key!r} (write '<=>' to make it reversible)")
        if self.reverse is not None:
            self.reverse = RateLaw.from_spec(self.reverse, n_rev, units, where.key("reverse"))
        if self.equilibrium is not None:
            self.equilibrium, dH_eq = Equilibrium.from_spec(self.equilibrium, n_rev - n_fwd, units,
                                                            where.key("equilibrium"), default_dH=self.dH)
            if self.dH is None and dH_eq is not None:
                self.dH = dH_eq

    @property
    def species(self) -> list[str]:
        """Names involved, reactants first, each once."""
        return list(dict.fromkeys([*self.reactants, *self.products]))

    def net_stoichiometry(self) -> dict[str, float]:
        net = {}
        for name in self.species:
            nu = self.products.get(name, 0.0) - self.reactants.get(name, 0.0)
            if nu != 0.0:
                net[name] = nu
        return net

    def kf(self, T: float) -> float:
        return self.rate.k(T)

    def kr(self, T: float) -> float:
        if self.reverse is not None:
            return self.reverse.k(T)
        if self.equilibrium is not None:
            kf = self.rate.k(T)
            if kf == 0.0:      # switched off: no reverse either (not 0/0 or 0/inf)
                return 0.0
            K = self.equilibrium.K(T)
            return kf / K if K > 0.0 else math.inf
        return 0.0

    @classmethod
    def from_equation(cls, equation: str, rate, *, orders=None, reverse=None, equilibrium=None,
                      dH=None, units=None, note=None, where=None) -> "Reaction":
        """A reaction from an equation string and file-format values.

        >>> Reaction.from_equation("A + B => C", rate={"A": 2e6, "Ea": "45 kJ/mol"}, dH="-85 kJ/mol")
        ... # doctest: +SKIP
        """
        where = Location.coerce(where) if where is not None else Location("<python>", f"Reaction({equation!r})")
        if units is not None:
            units = parse_units_block(units, where.source, Location(where.source, "units"))
        reactants, products, reversible = parse_equation(equation, where.key("equation"))
        return cls(reactants, products, reversible, rate, orders=orders, reverse=reverse,
                   equilibrium=equilibrium, dH=dH, equation=" ".join(equation.split()), note=note,
                   units=units, where=where)


# --------------------------------------------------------------------------- compiled


@dataclass(frozen=True)
class CompiledMechanism:
    """The arrays the kernels take (see :mod:`kernels.kinetics`), plus names.

    ``model`` is the 9-tuple ``(r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, s_ptr, s_sp, s_nu)``;
    ``rate_params`` is ``(rev_kind int64[m], fwd float64[m, 3], rev float64[m, 3])``;
    ``delta_H`` is J/mol per reaction (0 where unknown); ``molar_masses`` kg/mol (NaN unknown).
    """

    model: tuple
    rate_params: tuple
    n_species: int
    n_reactions: int
    species_names: tuple
    delta_H: np.ndarray
    molar_masses: np.ndarray
    equations: tuple = field(default=())


def _csr(rows: list[list[tuple[int, float]]]):
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    sp, val = [], []
    for j, row in enumerate(rows):
        row = sorted(row)
        sp.extend(i for i, _ in row)
        val.extend(v for _, v in row)
        ptr[j + 1] = ptr[j] + len(row)
    return (np.ascontiguousarray(ptr), np.ascontiguousarray(np.array(sp, dtype=np.int64)),
            np.ascontiguousarray(np.array(val, dtype=np.float64)))


# --------------------------------------------------------------------------- mechanism

_TOP_KEYS = ("units", "species", "reactions", "name", "description", "thermo")
_SPECIES_KEYS = ("name", "formula", "molar_mass", "composition", "charge", "note")
_REACTION_KEYS = ("equation", "id", "rate", "orders", "reverse", "equilibrium", "dH", "note")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class Mechanism:
    """Species and reactions, validated; :meth:`compile` gives the kernel arrays."""

    def __init__(self, species, reactions=(), name: str | None = None, source: str = "<python>"):
        self.name = name
        self.source = source
        self.description = None
        self.units: dict = {}
        self.base_dir = None
        species = list(species)
        reactions = list(reactions)
        if not species:
            raise InputError("a mechanism needs at least one species", source, "species")
        self.species: list[Species] = []
        index: dict[str, int] = {}
        for i, sp in enumerate(species):
            loc = Location(source, f"species[{i}]")
            if isinstance(sp, str):
                sp = Species(sp, where=loc)
            if not isinstance(sp, Species):
                raise loc.error(f"expected a Species, got {_show(sp)}")
            if sp.name in index:
                raise loc.key("name").error(f"duplicate species name {sp.name!r} (also species[{index[sp.name]}])")
            index[sp.name] = i
            self.species.append(sp)
        self._index = index
        self.reactions: list[Reaction] = []
        for j, r in enumerate(reactions):
            loc = Location(source, f"reactions[{j}]")
            if not isinstance(r, Reaction):
                raise loc.error(f"expected a Reaction, got {_show(r)}")
            for name in r.species:
                if name not in index:
                    m = re.match(r"^(\d+(?:\.\d*)?)(\S+)$", name)
                    hint = (f"; write '{m.group(1)} {m.group(2)}' for a coefficient"
                            if m and m.group(2) in index else f" (species: {', '.join(index)})")
                    raise loc.key("equation").error(f"unknown species {name!r} in {r.equation!r}{hint}")
            self._check_balance(r, loc)
            self.reactions.append(r)
        # reaction ids name parameters (r1.k_ref, dimer.Ea): default r1, r2, ... by position
        ids: dict[str, int] = {}
        for j, r in enumerate(self.reactions):
            rid = r.id if r.id is not None else f"r{j + 1}"
            if rid in ids:
                raise Location(source, f"reactions[{j}]").key("id").error(
                    f"duplicate reaction id {rid!r} (also reactions[{ids[rid]}])")
            ids[rid] = j
        #: Reaction ids in order (a reaction's ``id``, else r1, r2, ... by position).
        self.reaction_ids: list[str] = list(ids)

    # ---- balances
    def _check_balance(self, r: Reaction, loc: Location) -> None:
        sps = [self.species[self._index[n]] for n in r.species]
        if all(s.elements is not None for s in sps):
            left: dict[str, float] = {}
            right: dict[str, float] = {}
            for side, acc in ((r.reactants, left), (r.products, right)):
                for name, c in side.items():
                    s = self.species[self._index[name]]
                    for el, n in s.elements.items():
                        acc[el] = acc.get(el, 0.0) + c * n
                    if s.charge:
                        acc["charge"] = acc.get("charge", 0.0) + c * s.charge
            bad = [f"{el}: {left.get(el, 0.0):g} -> {right.get(el, 0.0):g}"
                   for el in sorted(set(left) | set(right), key=lambda e: (e == "charge", e))
                   if abs(left.get(el, 0.0) - right.get(el, 0.0)) > BALANCE_TOL]
            if bad:
                raise loc.error(f"elements do not balance in {r.equation!r}: {', '.join(bad)}")
            return
        if all(s.molar_mass is not None for s in sps):
            m_in = sum(c * self.species[self._index[n]].molar_mass for n, c in r.reactants.items())
            m_out = sum(c * self.species[self._index[n]].molar_mass for n, c in r.products.items())
            if abs(m_in - m_out) > MASS_BALANCE_RTOL * max(m_in, m_out):
                warnings.warn(f"{loc}: mass does not balance in {r.equation!r}: "
                              f"{m_in * 1e3:.6g} g/mol -> {m_out * 1e3:.6g} g/mol",
                              MassBalanceWarning, stacklevel=3)

    # ---- views
    @property
    def species_names(self) -> list[str]:
        return [s.name for s in self.species]

    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def n_reactions(self) -> int:
        return len(self.reactions)

    def species_index(self, name: str, where=None) -> int:
        """Index of species ``name``; InputError (at ``where``) if unknown."""
        try:
            return self._index[name]
        except (KeyError, TypeError):
            raise Location.coerce(where, self.source if where is None else None).error(
                f"unknown species {name!r} (species: {', '.join(self._index)})") from None

    def __contains__(self, name) -> bool:
        return name in self._index

    @property
    def molar_masses(self) -> np.ndarray:
        return np.array([np.nan if s.molar_mass is None else s.molar_mass for s in self.species], dtype=float)

    @property
    def charges(self) -> np.ndarray:
        return np.array([s.charge for s in self.species], dtype=float)

    @property
    def elements(self) -> list[str]:
        return sorted({el for s in self.species if s.elements for el in s.elements})

    @property
    def element_matrix(self) -> np.ndarray:
        """(n_elements, n_species) counts, rows in :attr:`elements` order; NaN column
        for a species without elements."""
        els = self.elements
        M = np.zeros((len(els), self.n_species))
        for i, s in enumerate(self.species):
            if s.elements is None:
                M[:, i] = np.nan
            else:
                for e, el in enumerate(els):
                    M[e, i] = s.elements.get(el, 0.0)
        return M

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Mechanism{label}: {self.n_species} species, {self.n_reactions} reactions, from {self.source}>"

    # ---- compile
    def compile(self) -> CompiledMechanism:
        idx = self._index
        fwd_rows, rev_rows, net_rows = [], [], []
        m = self.n_reactions
        rev_kind = np.zeros(m, dtype=np.int64)
        fwd = np.zeros((m, 3), dtype=np.float64)
        rev = np.zeros((m, 3), dtype=np.float64)
        dH = np.zeros(m, dtype=np.float64)
        for j, r in enumerate(self.reactions):
            fwd_rows.append([(idx[n], o) for n, o in r.orders.items() if o != 0.0])
            rev_rows.append([(idx[n], c) for n, c in r.products.items()] if r.reversible else [])
            net_rows.append([(idx[n], nu) for n, nu in r.net_stoichiometry().items()])
            fwd[j] = (r.rate.lnA, r.rate.b, r.rate.Ea_over_R)
            if r.reverse is not None:
                rev_kind[j] = _REVERSE_ARRHENIUS
                rev[j] = (r.reverse.lnA, r.reverse.b, r.reverse.Ea_over_R)
            elif r.equilibrium is not None:
                rev_kind[j] = _EQUILIBRIUM
                e = r.equilibrium
                rev[j] = (e.lnK_ref, 1.0 / e.T_ref, e.dH_over_R)
            if r.dH is not None:
                dH[j] = r.dH
        model = (*_csr(fwd_rows), *_csr(rev_rows), *_csr(net_rows))
        return CompiledMechanism(
            model=model,
            rate_params=(rev_kind, np.ascontiguousarray(fwd), np.ascontiguousarray(rev)),
            n_species=self.n_species,
            n_reactions=m,
            species_names=tuple(self.species_names),
            delta_H=dH,
            molar_masses=self.molar_masses,
            equations=tuple(r.equation for r in self.reactions),
        )

    # ---- readers
    @classmethod
    def from_dict(cls, mapping, source: str = "<inline>", base_dir=None, *, where=None) -> "Mechanism":
        """A mechanism from a mapping of the native format (DESIGN.md, "Mechanism file").

        A mapping ``{cantera: FILE, phase: NAME}`` reads a Cantera file instead (FILE
        relative to ``base_dir`` when it exists there). A native mapping may carry
        ``thermo: {cantera: FILE, phase: NAME, T: 298.15 K}``: reactions without a
        ``dH`` take theirs from that file's species enthalpies
        (:mod:`flowchem.chemistry.cantera_thermo`). ``where`` prefixes entry paths,
        e.g. ``"mechanism"`` for a mechanism inlined in a route file.
        """
        top = Location.coerce(where, source)
        check_mapping(mapping, top, "a mechanism mapping with 'species' and 'reactions'")
        if "cantera" in mapping:
            check_keys(mapping, ("cantera", "phase", "T_ref", "skip_unsupported"), top)
            skip = mapping.get("skip_unsupported", False)
            if not isinstance(skip, bool):
                raise top.key("skip_unsupported").error(f"expected true or false, got {skip!r}")
            ref = mapping["cantera"]
            if not isinstance(ref, str):
                raise top.key("cantera").error(f"expected a Cantera file name, got {_show(ref)}")
            path = ref
            if base_dir is not None and (Path(base_dir) / ref).exists():
                path = str(Path(base_dir) / ref)
            T_ref = _DEFAULT_T_REF
            if "T_ref" in mapping:
                T_ref = parse_quantity(mapping["T_ref"], "temperature", None, top.key("T_ref"))
            return cls.from_cantera(path, mapping.get("phase"), T_ref=T_ref, skip_unsupported=skip)
        if "phases" in mapping:
            raise top.error("this looks like a Cantera mechanism; read it with Mechanism.from_cantera")
        check_keys(mapping, _TOP_KEYS, top, required=("species",))
        units = parse_units_block(mapping.get("units"), source, top.key("units"))
        name = mapping.get("name")
        if name is not None and not isinstance(name, str):
            raise top.key("name").error(f"expected text, got {_show(name)}")
        desc = mapping.get("description")
        if desc is not None and not isinstance(desc, str):
            raise top.key("description").error(f"expected text, got {_show(desc)}")

        sloc = top.key("species")
        species = []
        for i, entry in enumerate(require_list(mapping["species"], sloc, "a list of species")):
            loc = sloc.item(i)
            check_mapping(entry, loc, "a species mapping such as {name: A, formula: C6H13N}")
            check_keys(entry, _SPECIES_KEYS, loc, required=("name",))
            if "formula" in entry and "composition" in entry:
                raise loc.error("give either formula or composition, not both")
            if "formula" in entry and "charge" in entry:
                raise loc.key("charge").error("the charge is part of the formula (e.g. 'NO+')")
            mm = entry.get("molar_mass")
            if mm is not None:
                mm = parse_quantity(mm, "molar_mass", units, loc.key("molar_mass"), positive=True)
                if not isinstance(entry["molar_mass"], str) and mm > 1.0:
                    warnings.warn(f"{loc.key('molar_mass')}: a plain number is in kg/mol; "
                                  f"{mm:g} kg/mol is unusually large -- did you mean "
                                  f"'{entry['molar_mass']} g/mol'?", UserWarning, stacklevel=2)
            formula = entry.get("formula")
            if formula is not None and not isinstance(formula, str):
                raise loc.key("formula").error(f"expected a formula string, got {_show(formula)}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # warned above with the file location
                species.append(Species(entry["name"], formula=formula, molar_mass=mm,
                                       elements=entry.get("composition"), note=entry.get("note"),
                                       charge=entry.get("charge", 0), where=loc))

        thermo = None
        if mapping.get("thermo") is not None:
            from .cantera_thermo import read_thermo_block   # dH of reactions from Cantera species

            thermo = read_thermo_block(mapping["thermo"], base_dir, units, top.key("thermo"))

        rloc = top.key("reactions")
        reactions = []
        raw_reactions = mapping.get("reactions")
        if raw_reactions is None:
            raw_reactions = []
        for j, entry in enumerate(require_list(raw_reactions, rloc, "a list of reactions")):
            loc = rloc.item(j)
            check_mapping(entry, loc, "a reaction mapping such as {equation: A => B, rate: {k: 0.1}}")
            check_keys(entry, _REACTION_KEYS, loc, required=("equation", "rate"))
            reactants, products, reversible = parse_equation(entry["equation"], loc.key("equation"))
            dH = entry.get("dH")
            eq = entry.get("equilibrium")
            if thermo is not None and dH is None and not (isinstance(eq, dict) and "dH" in eq):
                net = {n: products.get(n, 0.0) - reactants.get(n, 0.0) for n in {**reactants, **products}}
                net = {n: nu for n, nu in net.items() if nu != 0.0}
                dH_J = thermo.reaction_enthalpy(net, " ".join(entry["equation"].split()), loc)
                dH = f"{dH_J!r} J/mol"   # explicit unit: independent of the units block
            reactions.append(Reaction(reactants, products, reversible, entry["rate"],
                                      orders=entry.get("orders"), reverse=entry.get("reverse"),
                                      equilibrium=eq, dH=dH,
                                      equation=" ".join(entry["equation"].split()),
                                      note=entry.get("note"), id=entry.get("id"), units=units,
                                      where=loc))
        mech = _located(cls, species, reactions, name, source, top)
        mech.description = desc
        mech.units = units
        mech.base_dir = None if base_dir is None else os.fspath(base_dir)
        return mech

    @classmethod
    def from_yaml(cls, path) -> "Mechanism":
        """Read a native flowchem mechanism file (YAML 1.2)."""
        data, source = read_yaml(path)
        return cls.from_dict(data, source=source, base_dir=Path(source).parent)

    @classmethod
    def from_cantera(cls, path_or_name, phase: str | None = None, *, T_ref: float = _DEFAULT_T_REF,
                     skip_unsupported: bool = False) -> "Mechanism":
        """Read a Cantera mechanism (file path, a name in Cantera's data path, or a
        ``cantera.Solution``); see :func:`flowchem.chemistry.cantera_import.read_cantera`."""
        from .cantera_import import read_cantera

        return read_cantera(path_or_name, phase, T_ref=T_ref, skip_unsupported=skip_unsupported)


def _located(cls, species, reactions, name, source, top: Location) -> Mechanism:
    """Build the Mechanism, prefixing entry paths with ``top.path`` (inline
    mechanisms), in its errors and in its mass-balance warnings."""
    if not top.path:
        return cls(species, reactions, name=name, source=source)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MassBalanceWarning)
            mech = cls(species, reactions, name=name, source=source)
    except InputError as exc:
        if exc.source == source:
            raise InputError(exc.problem, source, f"{top.path}.{exc.location}" if exc.location else top.path) from None
        raise
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, MassBalanceWarning) and text.startswith(f"{source}: reactions["):
            text = f"{source}: {top.path}.{text[len(source) + 2:]}"
        warnings.warn(text, w.category, stacklevel=3)
    return mech


def load_mechanism(path) -> Mechanism:
    """Read a mechanism file: native flowchem YAML, or a Cantera YAML file (which has a
    ``phases:`` section) through :meth:`Mechanism.from_cantera`."""
    data, source = read_yaml(path)
    if isinstance(data, dict) and "phases" in data:
        return Mechanism.from_cantera(source)
    return Mechanism.from_dict(data, source=source, base_dir=Path(source).parent)
