"""Chemical formulas: element counts and molar masses.

Grammar (whitespace not allowed inside a formula)::

    formula  := part (('.' | '·' | '*') part)* [charge]
    part     := [integer] group+          # leading integer multiplies the part (hydrates)
    group    := Element [count] | '(' group+ ')' [count] | '[' group+ ']' [count]
    Element  := an upper-case letter and an optional lower-case letter (C, Cl, Pd ...)
    count    := integer >= 1 (no fractions)
    charge   := '+' | '-' | '+n' | '-n' | '^n+' | '^n-' | repeated '+'/'-' ('++'),
                or 'n+' / 'n-' right after ')' or ']'; 'Fe3+' is refused as ambiguous
                (Fe3 with charge +1?) -- write 'Fe+3' or 'Fe^3+'

Examples: ``C6H13N``, ``C9H16ClN3O2``, ``Ca(OH)2``, ``CH3(CH2)4CH3``, ``CuSO4.5H2O``,
``NO+``, ``SO4^2-``.

:func:`parse_formula` refuses charged formulas; :func:`parse_formula_charge`
returns the charge separately (flowchem's mechanisms use it and check charge
balance like an element). The electron is not an element here.

Atomic weights are the IUPAC conventional/abridged standard atomic weights
(CIAAW 2021), in g/mol; :func:`molar_mass` returns kg/mol.
"""

from __future__ import annotations

import re

from .errors import InputError, Location

__all__ = ["ATOMIC_WEIGHTS", "ELECTRON_MOLAR_MASS", "parse_formula", "parse_formula_charge",
           "molar_mass", "format_formula"]

#: IUPAC (CIAAW 2021) standard atomic weights, conventional values where an interval is given, g/mol.
ATOMIC_WEIGHTS: dict[str, float] = {
    "H": 1.008, "He": 4.002602, "Li": 6.94, "Be": 9.0121831, "B": 10.81, "C": 12.011,
    "N": 14.007, "O": 15.999, "F": 18.998403162, "Ne": 20.1797, "Na": 22.98976928,
    "Mg": 24.305, "Al": 26.9815384, "Si": 28.085, "P": 30.973761998, "S": 32.06,
    "Cl": 35.45, "Ar": 39.95, "K": 39.0983, "Ca": 40.078, "Sc": 44.955907, "Ti": 47.867,
    "V": 50.9415, "Cr": 51.9961, "Mn": 54.938043, "Fe": 55.845, "Co": 58.933194,
    "Ni": 58.6934, "Cu": 63.546, "Zn": 65.38, "Ga": 69.723, "Ge": 72.630, "As": 74.921595,
    "Se": 78.971, "Br": 79.904, "Kr": 83.798, "Rb": 85.4678, "Sr": 87.62, "Y": 88.905838,
    "Zr": 91.222, "Nb": 92.90637, "Mo": 95.95, "Ru": 101.07, "Rh": 102.90549,
    "Pd": 106.42, "Ag": 107.8682, "Cd": 112.414, "In": 114.818, "Sn": 118.710,
    "Sb": 121.760, "Te": 127.60, "I": 126.90447, "Xe": 131.293, "Cs": 132.90545196,
    "Ba": 137.327, "La": 138.90547, "Ce": 140.116, "Hf": 178.486, "Ta": 180.94788,
    "W": 183.84, "Re": 186.207, "Os": 190.23, "Ir": 192.217, "Pt": 195.084,
    "Au": 196.966570, "Hg": 200.592, "Tl": 204.38, "Pb": 207.2, "Bi": 208.98040,
}

#: Molar mass of the electron, kg/mol (CODATA 2018), subtracted per positive charge.
ELECTRON_MOLAR_MASS = 5.48579909065e-7


def _split_charge(text: str, where: Location) -> tuple[str, int]:
    body = text
    m = re.search(r"(\^?\d*[+-]|\^?[+-]\d+|[+-]{2,})$", body)
    if not m:
        return body, 0
    tail = m.group(0).lstrip("^")
    body = body[: m.start()]
    if set(tail) <= {"+"}:
        charge = len(tail)
    elif set(tail) <= {"-"}:
        charge = -len(tail)
    elif tail[0] in "+-":
        charge = int(tail[1:]) * (1 if tail[0] == "+" else -1)
    else:
        charge = int(tail[:-1]) * (1 if tail[-1] == "+" else -1)
    if charge == 0:
        raise where.error(f"bad charge in formula {text!r}")
    if not body:
        raise where.error(f"formula {text!r} has no elements")
    # 'SO42-' is ambiguous (SO4 with 2- or SO42 with -): only accept n+/n- after ')' ']' or '^'
    if m.group(0)[0].isdigit() and not m.group(0).startswith("^") and body and body[-1] not in ")]":
        raise where.error(f"ambiguous charge in formula {text!r}: write e.g. 'SO4^2-' or 'SO4-2'")
    return body, charge


def _parse_groups(text: str, pos: int, where: Location, closing: str | None):
    counts: dict[str, int] = {}
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch in "([":
            inner, pos = _parse_groups(text, pos + 1, where, ")" if ch == "(" else "]")
            mult, pos = _count(text, pos)
            for el, c in inner.items():
                counts[el] = counts.get(el, 0) + c * mult
        elif ch in ")]":
            if closing != ch:
                raise where.error(f"unbalanced {ch!r} in formula {text!r}")
            return counts, pos + 1
        elif ch.isupper():
            el = ch
            if pos + 1 < n and text[pos + 1].islower():
                el += text[pos + 1]
            if el not in ATOMIC_WEIGHTS:
                raise where.error(f"unknown element {el!r} in formula {text!r}")
            mult, pos = _count(text, pos + len(el))
            counts[el] = counts.get(el, 0) + mult
        else:
            raise where.error(f"unexpected {ch!r} at position {pos + 1} of formula {text!r}")
    if closing is not None:
        raise where.error(f"missing {closing!r} in formula {text!r}")
    return counts, pos


def _count(text: str, pos: int) -> tuple[int, int]:
    start = pos
    while pos < len(text) and text[pos].isdigit():
        pos += 1
    if pos == start:
        return 1, pos
    value = int(text[start:pos])
    return value, pos


def parse_formula_charge(text, where=None) -> tuple[dict[str, int], int]:
    """``(element counts, charge)`` of a formula; see the module grammar.

    Raises :class:`InputError` for anything that is not a well-formed formula of known
    elements, and for zero counts.
    """
    where = Location.coerce(where)
    if not isinstance(text, str) or not text.strip():
        raise where.error(f"expected a chemical formula, got {text!r}")
    s = text.strip()
    if any(c.isspace() for c in s):
        raise where.error(f"formula {text!r} must not contain spaces")
    body, charge = _split_charge(s, where)
    total: dict[str, int] = {}
    for part in re.split(r"[.·*]", body):
        if not part:
            raise where.error(f"empty part in formula {text!r}")
        mult, pos = _count(part, 0)
        counts, _ = _parse_groups(part[pos:], 0, where, None) if pos < len(part) else ({}, 0)
        if not counts:
            raise where.error(f"formula part {part!r} of {text!r} has no elements")
        for el, c in counts.items():
            total[el] = total.get(el, 0) + c * mult
    if any(c == 0 for c in total.values()):
        raise where.error(f"zero element count in formula {text!r}")
    return total, charge


def parse_formula(text, where=None) -> dict[str, int]:
    """Element counts of a neutral formula, e.g. ``{'Ca': 1, 'O': 2, 'H': 2}`` for Ca(OH)2.

    Charged formulas are refused (use :func:`parse_formula_charge`).
    """
    where = Location.coerce(where)
    counts, charge = parse_formula_charge(text, where)
    if charge:
        raise where.error(f"formula {text!r} is charged; parse_formula takes neutral formulas")
    return counts


def molar_mass(elements: dict, charge: int = 0) -> float:
    """Molar mass in kg/mol of an element-count mapping (minus ``charge`` electrons)."""
    total = 0.0
    for el, c in elements.items():
        try:
            total += ATOMIC_WEIGHTS[el] * c
        except KeyError:
            raise InputError(f"no atomic weight for element {el!r}") from None
    return total * 1e-3 - charge * ELECTRON_MOLAR_MASS


def format_formula(elements: dict) -> str:
    """Hill-order formula text (C, H, then alphabetical; alphabetical without carbon)."""
    keys = sorted(elements)
    if "C" in elements:
        keys = ["C"] + (["H"] if "H" in elements else []) + [k for k in keys if k not in ("C", "H")]

    def fmt(c):
        return "" if c == 1 else (f"{c:g}" if isinstance(c, float) else str(c))

    return "".join(f"{k}{fmt(elements[k])}" for k in keys)
