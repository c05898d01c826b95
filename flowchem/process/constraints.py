"""Inequalities on study-table columns: the ``subject_to:`` of an optimisation
file and the ``spec:`` of a sweep (DESIGN.md, "Study files").

A constraint is written ``COLUMN OP VALUE [UNIT]`` with OP one of ``<=``,
``>=``, ``<``, ``>``::

    product.impurity.ISO <= 0.5          # mol % of product
    operations.R2.T_max_K <= 70 degC     # a unit is converted to the column's SI unit
    product.yield >= 85 %

The column must be one of the table's (a KPI column or a factor); a value
without a unit is in the column's own unit (SI, or mol % for impurities, or
a fraction for yield, conversion and selectivity). ``<`` and ``<=`` mean the
same on continuous KPIs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..core.errors import Location
from ..core.units import parse_quantity

__all__ = ["Constraint", "parse_constraint", "parse_constraints", "parse_condition", "column_kind"]

_CONSTRAINT = re.compile(r"^\s*(?P<column>[^<>=\s]+)\s*(?P<op><=|>=|<|>|=<|=>)\s*(?P<value>\S.*?)\s*$")
_BETWEEN = re.compile(r"^\s*between\s+(?P<low>\S.*?)\s+and\s+(?P<high>\S.*?)\s*$", re.IGNORECASE)
_NUMBER_UNIT = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*(?P<unit>\S.*)?$")
_PERCENT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*%\s*$")

# column suffix -> (unit kind for parse_quantity, factor from its SI unit to the column's unit)
_SUFFIX_KINDS = (
    ("_K", ("temperature", 1.0)),
    ("_Pa", ("pressure", 1.0)),
    ("_kg_per_h", ("mass_flow", 3600.0)),
    ("_s", ("time", 1.0)),
)
# factor keys -> unit kind (the factor columns hold SI values)
FACTOR_KEY_KINDS = {
    "T": "temperature", "coolant_T": "temperature", "flow": "flow", "volume": "volume",
    "length": "length", "diameter": "length", "coil_diameter": "length", "P": "pressure",
    "U": "heat_transfer_coefficient", "time": "time",
}
_FRACTIONS = ("product.conversion", "product.yield", "product.selectivity")


def column_kind(column):
    """``(unit kind, factor from SI to the column's unit)`` for a value with
    a unit; ``None`` for columns without a physical unit."""
    if column in _FRACTIONS:
        return ("percent", 0.01)
    if column.startswith("product.impurity.") or column.endswith("_mol_percent"):
        return ("percent", 1.0)       # mol % of product: "0.5 %" and "0.5" agree
    for suffix, kind in _SUFFIX_KINDS:
        if column.endswith(suffix):
            return kind
    parts = column.split(".")
    if len(parts) >= 3 and parts[-2] == "conc":
        return ("concentration", 1.0)
    if parts[-1] in FACTOR_KEY_KINDS:
        return (FACTOR_KEY_KINDS[parts[-1]], 1.0)
    return None


@dataclass(frozen=True)
class Constraint:
    """``column <= bound`` (``upper``) or ``column >= bound``."""

    column: str
    upper: bool
    bound: float
    text: str

    def slack(self, values):
        """Signed distance to the bound, positive where the constraint holds
        (NaN where the cell is empty: a point that did not solve)."""
        values = np.asarray(values, dtype=float)
        return self.bound - values if self.upper else values - self.bound

    def cell_values(self, values, ok):
        """The column's cells as the constraint reads them: on a solved point
        (``ok``), an empty impurity cell means the species is not formed, so
        it reads as 0 mol %; other empty cells stay NaN (never hold)."""
        values = np.array(values, dtype=float)
        if self.column.startswith("product.impurity."):
            values[np.asarray(ok, dtype=bool) & np.isnan(values)] = 0.0
        return values

    def holds(self, values):
        """True where the constraint holds; False where it fails or the cell is empty."""
        slack = self.slack(values)
        return np.where(np.isnan(slack), False, slack >= 0.0)

    def __str__(self):
        return self.text


def parse_constraint(text, columns, where: Location):
    """One :class:`Constraint` from ``text``; ``columns`` are the table's
    columns (KPIs and factors). InputError at ``where`` naming the problem."""
    if not isinstance(text, str):
        raise where.error(f"expected a constraint such as 'product.yield >= 0.8', got {text!r}")
    m = _CONSTRAINT.match(text)
    if not m:
        raise where.error(f"cannot read {text!r}: expected COLUMN <= VALUE or COLUMN >= VALUE "
                          "(for example 'operations.R1.T_max_K <= 350 K')")
    column, op, value = m.group("column"), m.group("op"), m.group("value")
    if column not in columns:
        near = [c for c in columns if c.split(".")[-1] == column.split(".")[-1]]
        hint = f" (did you mean {', '.join(near)}?)" if near else \
            f" (columns: {', '.join(columns)})"
        raise where.error(f"unknown column {column!r}{hint}")
    kind = column_kind(column)
    percent = _PERCENT.match(value)
    if percent:
        if kind is None or kind[0] != "percent":
            raise where.error(f"{column} is not a fraction or a percentage; give {value!r} "
                              "without '%'")
        bound = float(percent.group(1)) * kind[1]
    else:
        try:
            bound = float(value)
        except ValueError:
            if kind is None or kind[0] == "percent":
                raise where.error(f"expected a number for {column}, got {value!r}") from None
            bound = parse_quantity(value, kind[0], None, where) * kind[1]
    if not np.isfinite(bound):
        raise where.error(f"expected a finite bound, got {value!r}")
    upper = op in ("<=", "<", "=<")
    return Constraint(column, upper, float(bound), f"{column} {'<=' if upper else '>='} {value}")


def parse_constraints(items, columns, where: Location):
    """A list of :class:`Constraint` from a YAML list (``subject_to:`` or ``spec:``)."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        raise where.error("expected a list of constraints such as 'product.yield >= 0.8'")
    return [parse_constraint(item, columns, where.item(i)) for i, item in enumerate(items)]


def parse_condition(column, condition, columns, where: Location):
    """The constraints of one condition on ``column``, written without the
    column: ``">= 70"``, ``"<= 0.5 mmol/L"``, a band ``"between 0.1 and 0.2
    mol/L"`` (a unit after the upper value also applies to a bare lower
    one) or a list of such conditions (the scenario ``spec:`` of DESIGN.md).
    Returns a list of :class:`Constraint`; InputError at ``where``."""
    if isinstance(condition, (list, tuple)):
        if not condition:
            raise where.error("expected at least one condition such as '>= 0.1 mol/L'")
        found = []
        for i, item in enumerate(condition):
            found += parse_condition(column, item, columns, where.item(i))
        return found
    if not isinstance(condition, str):
        raise where.error(f"expected a condition such as '>= 70' or 'between 0.1 and 0.2 mol/L', "
                          f"got {condition!r}")
    band = _BETWEEN.match(condition)
    if not band:
        return [parse_constraint(f"{column} {condition.strip()}", columns, where)]
    low, high = band.group("low"), band.group("high")
    low_unit, high_unit = _NUMBER_UNIT.match(low), _NUMBER_UNIT.match(high)
    if low_unit and high_unit and low_unit.group("unit") is None and high_unit.group("unit"):
        low = f"{low} {high_unit.group('unit')}"
    lower = parse_constraint(f"{column} >= {low}", columns, where)
    upper = parse_constraint(f"{column} <= {high}", columns, where)
    if lower.bound > upper.bound:
        raise where.error(f"empty band {condition!r}: the lower value exceeds the upper one")
    return [lower, upper]
