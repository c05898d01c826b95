"""The columns of a study table (DESIGN.md, "Study files") and one row of it
from a solved route.

Sweeps, optimisation and Monte Carlo studies all report the same table: one
row per point, a column per factor (its SI value), then the KPI columns
below, then ``status``. The set of KPI columns depends only on the route's
structure, never on the numbers of one point, so every point of a study (and
every evaluator: the per-point Python route or the compiled ensemble) fills
the same columns. A cell that a point does not define is ``None`` (an empty
CSV cell), never 0.

KPI columns, in this order:

* ``product.conversion``, ``product.yield``, ``product.selectivity``,
  ``product.production_rate_kg_per_h``, ``product.space_time_yield_kg_per_m3_h``
  (only when the route names a ``product``);
* ``product.impurity.SPECIES`` in mol % of the product, one per by-product:
  the product's ``impurities`` list when given, else every species other
  than the product that some reaction can form; a cell is the value the
  route result reports (empty where that species is not formed at that
  point);
* ``operations.NAME.T_max_K`` for every reactor (plug-flow tubes, tanks and
  cascades);
* ``operations.NAME.pressure_drop_Pa`` for every tube of known length and
  diameter.
"""

from __future__ import annotations

__all__ = ["PRODUCT_COLUMNS", "kpi_columns", "by_products", "row_from_result", "OK"]

#: status of a point that solved
OK = "ok"

#: product KPI columns: column -> key of the ``product`` entry of the JSON result
PRODUCT_COLUMNS = {
    "product.conversion": "conversion",
    "product.yield": "yield",
    "product.selectivity": "selectivity",
    "product.production_rate_kg_per_h": "production_rate_kg_per_h",
    "product.space_time_yield_kg_per_m3_h": "space_time_yield_kg_per_m3_h",
}

REACTOR_TYPES = ("pfr", "cstr", "cstr_cascade")


def by_products(route):
    """Species reported as ``product.impurity.SPECIES`` columns, in mechanism order."""
    spec = route.product
    if spec is None:
        return []
    if spec.get("impurities") is not None:
        return list(spec["impurities"])
    mech = route.mechanism
    formed = set()
    for reaction in mech.reactions:
        # a reversible reaction can run backwards and form its reactants
        for species, nu in reaction.net_stoichiometry().items():
            if nu > 0 or (nu < 0 and reaction.reversible):
                formed.add(species)
    return [name for name in mech.species_names if name in formed and name != spec["species"]]


def _operation_type(route, name):
    op = route.operations[name]
    return getattr(op, "kind", type(op).__name__.lower())


def kpi_columns(route):
    """The KPI columns of a study table of ``route`` (factor columns and
    ``status`` excluded), in table order."""
    cols = []
    if route.product is not None:
        cols += list(PRODUCT_COLUMNS)
        cols += [f"product.impurity.{sp}" for sp in by_products(route)]
    for name in route.operations:
        if _operation_type(route, name) in REACTOR_TYPES:
            cols.append(f"operations.{name}.T_max_K")
    for name in route.operations:
        op = route.operations[name]
        if _operation_type(route, name) == "pfr" and getattr(op, "length", None) is not None \
                and getattr(op, "diameter", None) is not None:
            cols.append(f"operations.{name}.pressure_drop_Pa")
    return cols


def _float_or_none(value):
    return None if value is None else float(value)


def row_from_result(columns, result):
    """The KPI cells of ``columns`` (from :func:`kpi_columns`) for a
    :class:`~flowchem.process.route.RouteResult`, as a dict; ``None`` where
    the result does not define a cell."""
    product = result.product or {}
    impurities = product.get("impurity_profile_mol_percent") or {}
    row = {}
    for col in columns:
        if col in PRODUCT_COLUMNS:
            row[col] = _float_or_none(product.get(PRODUCT_COLUMNS[col]))
        elif col.startswith("product.impurity."):
            row[col] = _float_or_none(impurities.get(col[len("product.impurity."):]))
        elif col.startswith("operations."):
            name, key = col[len("operations."):].rsplit(".", 1)
            row[col] = _float_or_none(result.operations[name].to_dict().get(key))
        else:
            raise KeyError(col)
    return row
