"""Study-table columns (DESIGN.md "Study files") and constraint parsing."""

import math

import numpy as np
import pytest

import flowchem as fc
from flowchem.core.errors import InputError, Location
from flowchem.process.constraints import parse_constraint, parse_constraints
from flowchem.process.study_table import by_products, kpi_columns, row_from_result

LOMUSTINE = "examples/lomustine/route.yaml"


def _route(impurities=None):
    product = {"from": "R1", "species": "B", "basis": "A"}
    if impurities is not None:
        product["impurities"] = impurities
    return fc.Route.from_dict({
        "mechanism": {"species": [{"name": s} for s in "ABCD"],
                      "reactions": [{"equation": "A => B", "rate": {"k": "0.01 1/s"}},
                                    {"equation": "B => C", "rate": {"k": "0.002 1/s"}},
                                    {"equation": "A <=> D", "rate": {"k": "0.001 1/s"},
                                     "equilibrium": {"K_ref": 2.0, "T_ref": "298.15 K"}}]},
        "feeds": [{"name": "f", "flow": "1 mL/min", "T": "25 degC", "conc": {"A": "1 mol/L"}}],
        "operations": [{"name": "R1", "type": "pfr", "from": "f", "length": "2 m",
                        "diameter": "1 mm"},
                       {"name": "R2", "type": "cstr", "from": "R1", "volume": "1 mL"}],
        "product": product})


def test_columns_follow_the_route_structure():
    route = _route()
    # C is formed, D by a reversible step, A by running A <=> D backwards
    assert by_products(route) == ["A", "C", "D"]
    assert kpi_columns(route) == [
        "product.conversion", "product.yield", "product.selectivity",
        "product.production_rate_kg_per_h", "product.space_time_yield_kg_per_m3_h",
        "product.impurity.A", "product.impurity.C", "product.impurity.D",
        "operations.R1.T_max_K", "operations.R2.T_max_K", "operations.R1.pressure_drop_Pa"]
    assert by_products(_route(impurities=["C"])) == ["C"]


def test_row_equals_the_route_result():
    route = _route(impurities=["C", "D"])
    result = route.run()
    row = row_from_result(kpi_columns(route), result)
    d = result.to_dict()
    tau = 2.0 * math.pi * 0.0005 ** 2 / (1e-6 / 60)       # V/Q of the 2 m, 1 mm tube
    assert d["operations"]["R1"]["residence_time_s"] == pytest.approx(tau, rel=1e-12)
    assert row["product.yield"] == d["product"]["yield"]
    assert row["product.impurity.C"] == d["product"]["impurity_profile_mol_percent"]["C"]
    assert row["operations.R2.T_max_K"] == pytest.approx(298.15, rel=1e-15)
    # laminar pressure drop, Hagen-Poiseuille with the default liquid viscosity
    mu = d["streams"]["f"].get("viscosity_Pa_s") or fc.LiquidProperties.default().viscosity
    dp = 128 * mu * 2.0 * (1e-6 / 60) / (math.pi * 0.001 ** 4)
    assert row["operations.R1.pressure_drop_Pa"] == pytest.approx(dp, rel=1e-9)


def test_lomustine_columns_match_its_json():
    route = fc.load_route(LOMUSTINE)
    cols = kpi_columns(route)
    assert [c for c in cols if c.startswith("product.impurity.")] == [
        "product.impurity.ISO", "product.impurity.UREA", "product.impurity.CHI",
        "product.impurity.CEDH"]
    row = row_from_result(cols, route.run())
    assert row["product.yield"] == pytest.approx(0.6365, abs=5e-5)
    assert "operations.Q1.T_max_K" not in row            # a quench is not a reactor column


COLUMNS = ["product.yield", "product.impurity.ISO", "operations.R2.T_max_K", "R2.T",
           "amine.conc.CHA", "nitrite.flow", "operations.R1.pressure_drop_Pa"]


@pytest.mark.parametrize("text, bound, upper", [
    ("product.impurity.ISO <= 0.5", 0.5, True),
    ("product.impurity.ISO < 0.5 %", 0.5, True),
    ("operations.R2.T_max_K <= 70 degC", 343.15, True),
    ("product.yield >= 85 %", 0.85, False),
    ("product.yield>=0.85", 0.85, False),
    ("nitrite.flow <= 0.2 mL/min", 0.2e-6 / 60, True),
    ("amine.conc.CHA >= 0.1 mol/L", 100.0, False),
    ("operations.R1.pressure_drop_Pa <= 2 bar", 2e5, True),
])
def test_constraints_convert_to_the_column_unit(text, bound, upper):
    c = parse_constraint(text, COLUMNS, Location("opt.yaml", "subject_to[0]"))
    assert c.bound == pytest.approx(bound, rel=1e-12)
    assert c.upper is upper


def test_constraint_holds_and_slack():
    c = parse_constraint("product.yield >= 0.8", COLUMNS, Location("s.yaml"))
    values = np.array([0.9, 0.8, 0.7, np.nan])
    assert c.holds(values).tolist() == [True, True, False, False]
    assert c.slack(values)[:3] == pytest.approx([0.1, 0.0, -0.1], abs=1e-15)


@pytest.mark.parametrize("text, message", [
    ("foo <= 1", "unknown column 'foo'"),
    ("yield >= 0.8", "did you mean product.yield"),
    ("product.yield ~ 3", "cannot read"),
    ("product.yield >= lots", "expected a number"),
    ("operations.R2.T_max_K <= 5 m", "expected a temperature"),
    ("R2.T <= 5 %", "not a fraction or a percentage"),
    ("product.yield <= nan", "finite"),
])
def test_bad_constraints_are_refused_with_the_entry(text, message):
    with pytest.raises(InputError, match=message) as err:
        parse_constraints(["product.yield >= 0.1", text], COLUMNS, Location("opt.yaml", "subject_to"))
    assert "opt.yaml: subject_to[1]" in str(err.value)


def test_empty_impurity_cell_of_a_solved_point_reads_as_not_formed():
    c = parse_constraint("product.impurity.ISO <= 0.5", COLUMNS, Location("s.yaml"))
    cells = np.array([0.2, np.nan, np.nan, 0.7])
    ok = np.array([True, True, False, True])
    # solved and empty: not formed, 0 mol %; failed: stays empty and fails
    assert c.holds(c.cell_values(cells, ok)).tolist() == [True, True, False, False]
    y = parse_constraint("product.yield >= 0.5", COLUMNS, Location("s.yaml"))
    assert y.holds(y.cell_values(np.array([np.nan]), np.array([True]))).tolist() == [False]
