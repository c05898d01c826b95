"""Compiled route ensembles against the per-point Python route.

Every row of ``CompiledRoute.evaluate`` must equal
``row_from_result(columns, Route.from_dict(point).run())`` to 1e-10
relative, where ``point`` is the route file with each factor set to the
point's value (the reference is the Python route, which shares no code with
the ensemble's driver loop, its mixing, its geometry or its KPI arithmetic).
"""

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from flowchem.chemistry.parameters import ParameterMap
from flowchem.core.errors import InputError, SolverError
from flowchem.core.yamlio import read_yaml
from flowchem.process.compiled_route import CompiledRoute, NotCompilable
from flowchem.process.route import Route
from flowchem.process.study_table import row_from_result

ROOT = Path(__file__).resolve().parents[1]
REL = 1e-10

SI_UNIT = {"T": "K", "coolant_T": "K", "flow": "m^3/s", "volume": "m^3", "length": "m",
           "diameter": "m", "U": "W/m^2/K", "time": "s", "area": "m^2", "P": "Pa"}

SNAR_MECHANISM = {
    "units": {"concentration": "mol/L", "time": "min", "activation-energy": "kJ/mol"},
    "species": [{"name": "DFNB", "formula": "C6H3F2NO2"}, {"name": "MOR", "formula": "C4H9NO"},
                {"name": "P", "formula": "C10H11FN2O3"}, {"name": "Q", "formula": "C10H11FN2O3"},
                {"name": "BIS", "formula": "C14H19N3O4"}, {"name": "HF", "formula": "HF"}],
    "reactions": [
        {"equation": "DFNB + MOR => P + HF", "id": "sub1",
         "rate": {"k_ref": 0.6, "T_ref": "60 degC", "Ea": 55}, "dH": "-110 kJ/mol"},
        {"equation": "DFNB + MOR => Q + HF", "id": "sub2",
         "rate": {"k_ref": 0.05, "T_ref": "60 degC", "Ea": 65}, "dH": "-105 kJ/mol"},
        {"equation": "P + MOR => BIS + HF", "id": "sub3",
         "rate": {"k_ref": 0.02, "T_ref": "60 degC", "Ea": 70}, "dH": "-90 kJ/mol"},
        {"equation": "Q + MOR => BIS + HF", "id": "sub4",
         "rate": {"k_ref": 0.1, "T_ref": "60 degC", "Ea": 60}},
    ],
}


def snar_route():
    return {
        "name": "snar",
        "mechanism": copy.deepcopy(SNAR_MECHANISM),
        "properties": {"density": "0.95 g/mL", "cp": "1.9 kJ/kg/K", "viscosity": "0.7 mPa*s"},
        "feeds": [{"name": "dfnb", "flow": "0.5 mL/min", "T": "25 degC", "conc": {"DFNB": "0.5 mol/L"}},
                  {"name": "mor", "flow": "0.5 mL/min", "T": "25 degC", "conc": {"MOR": "1.2 mol/L"}}],
        "operations": [{"name": "M1", "type": "mixer", "from": ["dfnb", "mor"]},
                       {"name": "R1", "type": "pfr", "from": "M1", "volume": "5 mL", "T": "60 degC"}],
        "product": {"from": "R1", "species": "P", "basis": "DFNB"},
    }


def set_factor(data, factor, value):
    """The route mapping with ENTRY.KEY[.SUBKEY] set to ``value`` in SI."""
    entry, key = factor.split(".", 1)
    items = {d["name"]: d for d in data["feeds"] + data["operations"]}
    target = items[entry]
    parts = key.split(".")
    for p in parts[:-1]:
        target = target.setdefault(p, {})
    unit = "mol/m^3" if parts[0] == "conc" else SI_UNIT.get(parts[-1], "")
    target[parts[-1]] = f"{float(value)!r} {unit}".strip()


def reference(data, factors, x, source, base_dir, mechanism=None):
    """(row or None, error text or None) of the Python route at one point."""
    point = copy.deepcopy(data)
    if mechanism is not None:
        point["mechanism"] = mechanism
    for f, v in zip(factors, x):
        set_factor(point, f, v)
    try:
        route = Route.from_dict(point, source=source, base_dir=base_dir)
        return route, route.run(), None
    except (InputError, SolverError) as exc:
        return None, None, str(exc)


def assert_rows_equal(cr, values, status, data, factors, X, source="route.yaml", base_dir=None,
                      mechanisms=None):
    base_dir = base_dir or ROOT
    for i, x in enumerate(X):
        route, result, error = reference(data, factors, x, source, base_dir,
                                         None if mechanisms is None else mechanisms[i])
        if error is not None:
            assert status[i] == error
            assert np.all(np.isnan(values[i]))
            continue
        assert status[i] == "ok", status[i]
        row = row_from_result(cr.columns, result)
        for j, col in enumerate(cr.columns):
            if row[col] is None:
                assert math.isnan(values[i, j]), (i, col, values[i, j])
            else:
                assert values[i, j] == pytest.approx(row[col], rel=REL, abs=1e-300), (i, col)


def test_lomustine_cooled_coil_and_nitrite_flow():
    data, source = read_yaml(ROOT / "examples/lomustine/route.yaml")
    base_dir = ROOT / "examples/lomustine"
    route = Route.from_dict(data, source=source, base_dir=base_dir)
    factors = ["R2.energy.coolant_T", "nitrite.flow"]
    cr = CompiledRoute(route, factors)
    assert "operations.R2.T_max_K" in cr.columns and "operations.R1.pressure_drop_Pa" in cr.columns
    # M1 and R1 see no factor: solved once on the base point, reused by every point
    assert dict(zip(route.order, cr._invariant)) == {"M1": 1, "R1": 1, "M2": 0, "R2": 0, "Q1": 0,
                                                     "S1": 0}
    X = np.array([[323.15, 0.125e-6 / 60], [343.15, 0.1e-6 / 60], [303.15, 0.2e-6 / 60],
                  [353.15, 0.15e-6 / 60]])
    values, status = cr.evaluate(X)
    assert status == ["ok"] * 4
    # the coil runs hotter than its coolant: a real hot spot is refined
    assert values[1, cr.columns.index("operations.R2.T_max_K")] > 343.15
    assert_rows_equal(cr, values, status, data, factors, X, source, base_dir)


def test_snar_pfr_temperature_volume_flow_concentration():
    data = snar_route()
    route = Route.from_dict(data, source="snar.yaml")
    factors = ["R1.T", "R1.volume", "mor.flow", "dfnb.conc.DFNB"]
    cr = CompiledRoute(route, factors)
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.uniform(313, 373, 6), rng.uniform(1e-6, 1e-5, 6),
                         rng.uniform(0.3, 1.0, 6) / 6e7, rng.uniform(200, 800, 6)])
    values, status = cr.evaluate(X)
    assert_rows_equal(cr, values, status, data, factors, X, "snar.yaml")
    # the same points on 1 and 2 threads: identical numbers
    v1, _ = cr.evaluate(X, threads=1)
    v2, _ = cr.evaluate(X, threads=2)
    np.testing.assert_array_equal(v1, v2)


def test_cooled_cstr_and_cascade_with_energy_balance():
    data = snar_route()
    data["operations"] = [
        {"name": "M1", "type": "mixer", "from": ["dfnb", "mor"]},
        {"name": "C1", "type": "cstr", "from": "M1", "volume": "10 mL",
         "energy": {"U": "300 W/m^2/K", "coolant_T": "70 degC", "area": "40 cm^2"}},
        {"name": "C2", "type": "cstr_cascade", "from": "C1", "n": 3, "volume": "15 mL",
         "energy": {"U": "200 W/m^2/K", "coolant_T": "60 degC", "area": "60 cm^2"}},
    ]
    data["product"]["from"] = "C2"
    route = Route.from_dict(data, source="tanks.yaml")
    factors = ["C1.energy.coolant_T", "C2.volume", "dfnb.flow", "C2.energy.area"]
    cr = CompiledRoute(route, factors)
    X = np.array([[343.15, 15e-6, 0.5 / 6e7, 60e-4], [363.15, 30e-6, 0.8 / 6e7, 30e-4],
                  [323.15, 8e-6, 0.3 / 6e7, 90e-4]])
    values, status = cr.evaluate(X)
    # the energy balance is live: the first tank sits between feed and coolant
    assert 340.0 < values[1, cr.columns.index("operations.C1.T_max_K")] < 363.15
    assert_rows_equal(cr, values, status, data, factors, X, "tanks.yaml")


def test_splitter_heat_exchanger_adiabatic_tube_and_inherited_temperature():
    data = snar_route()
    data["operations"] = [
        {"name": "M1", "type": "mixer", "from": ["dfnb", "mor"]},
        {"name": "SP", "type": "splitter", "from": "M1", "fractions": [0.4, 0.6]},
        {"name": "HX", "type": "heat_exchanger", "from": "SP.1", "T": "70 degC"},
        {"name": "R1", "type": "pfr", "from": "HX", "length": "3 m", "diameter": "1 mm",
         "coil_diameter": "4 cm", "energy": "adiabatic"},
        {"name": "M2", "type": "mixer", "from": ["R1", "SP.2"]},
        {"name": "R2", "type": "pfr", "from": "M2", "volume": "4 mL", "diameter": "2 mm"},
    ]
    data["product"]["from"] = "R2"
    route = Route.from_dict(data, source="split.yaml")
    factors = ["HX.T", "R1.length", "mor.flow"]
    cr = CompiledRoute(route, factors)
    assert "operations.R1.pressure_drop_Pa" in cr.columns
    assert "operations.R2.pressure_drop_Pa" in cr.columns   # diameter given, length derived
    X = np.array([[343.15, 3.0, 0.5 / 6e7], [363.15, 5.0, 0.7 / 6e7], [333.15, 1.5, 0.3 / 6e7]])
    values, status = cr.evaluate(X)
    assert_rows_equal(cr, values, status, data, factors, X, "split.yaml")


def test_failed_points_are_reported_and_others_still_right():
    data = {
        "mechanism": {"species": [{"name": "A", "formula": "C2H4O"}, {"name": "B", "formula": "C2H4O"}],
                      "reactions": [{"equation": "A => B", "id": "r1",
                                     "rate": {"A": 1e-252, "b": 100, "Ea": 0}}]},
        "feeds": [{"name": "f", "flow": "1 mL/min", "T": "25 degC", "conc": {"A": "1 mol/L"}}],
        "operations": [{"name": "R1", "type": "pfr", "from": "f", "volume": "1 mL", "T": "300 K"}],
        "product": {"from": "R1", "species": "B", "basis": "A"},
    }
    route = Route.from_dict(data, source="fail.yaml")
    factors = ["R1.T", "R1.volume"]
    cr = CompiledRoute(route, factors)
    # k = A T^100 overflows at 1e6 K; a negative volume is refused
    X = np.array([[300.0, 1e-6], [1e6, 1e-6], [300.0, -1e-6], [310.0, 2e-6]])
    values, status = cr.evaluate(X)
    assert status[0] == "ok" and status[3] == "ok"
    assert "rate constant of reaction r1" in status[1] and "T = 1e+06 K" in status[1]
    assert status[2].startswith("fail.yaml: operations[0].volume:")
    assert_rows_equal(cr, values, status, data, factors, X, "fail.yaml")
    # closed form at the good points: y = 1 - exp(-k tau)
    for i in (0, 3):
        T, V = X[i]
        k = math.exp(math.log(1e-252) + 100 * math.log(T))
        y = 1 - math.exp(-k * V / (1e-6 / 60))
        assert values[i, cr.columns.index("product.yield")] == pytest.approx(y, rel=1e-6)


def test_dispersion_and_uncovered_factors_are_not_compilable():
    data = snar_route()
    data["operations"][1].update({"flow_model": "dispersion", "Pe": 50})
    with pytest.raises(NotCompilable, match="R1: flow model"):
        CompiledRoute(Route.from_dict(data, source="d.yaml"), ["R1.T"])
    route = Route.from_dict(snar_route(), source="s.yaml")
    with pytest.raises(NotCompilable, match="R1.length"):
        CompiledRoute(route, ["R1.length"])     # the tube is given by its volume alone
    with pytest.raises(NotCompilable, match="no feed or operation"):
        CompiledRoute(route, ["R9.T"])


def test_kinetic_parameters_per_point_equal_routes_with_those_parameters():
    data = snar_route()
    route = Route.from_dict(data, source="snar.yaml")
    kinetic = ParameterMap(route.mechanism, ["sub1.k_ref", "sub1.Ea", "sub3.k_ref"], 333.15)
    factors = ["R1.T"]
    cr = CompiledRoute(route, factors, kinetic)
    rng = np.random.default_rng(7)
    theta = kinetic.theta0 + rng.normal(0.0, 0.3, (4, kinetic.n))
    X = np.array([[323.15], [343.15], [353.15], [333.15]])
    values, status = cr.evaluate(X, theta)
    mechanisms = [kinetic.mechanism_with(t) for t in theta]
    assert_rows_equal(cr, values, status, data, factors, X, "snar.yaml", mechanisms=mechanisms)
    # theta changes the answer (the test can fail)
    base, _ = cr.evaluate(X, np.tile(kinetic.theta0, (4, 1)))
    assert np.max(np.abs(base[:, 1] - values[:, 1])) > 1e-3


def test_isothermal_cascade_without_heat_rows_matches_closed_form():
    data = {
        "mechanism": {"species": [{"name": "A", "formula": "C2H4O"}, {"name": "B", "formula": "C2H4O"}],
                      "reactions": [{"equation": "A => B", "id": "r1",
                                     "rate": {"k_ref": "0.01 1/s", "T_ref": "300 K", "Ea": "50 kJ/mol"}}]},
        "feeds": [{"name": "f", "flow": "1 mL/min", "T": "25 degC", "conc": {"A": "1 mol/L"}}],
        "operations": [{"name": "C1", "type": "cstr_cascade", "from": "f", "n": 3, "volume": "6 mL",
                        "T": "300 K"}],
        "product": {"from": "C1", "species": "B", "basis": "A"},
    }
    route = Route.from_dict(data, source="cascade.yaml")
    factors = ["C1.T", "C1.volume"]
    cr = CompiledRoute(route, factors)
    X = np.array([[300.0, 6e-6], [320.0, 3e-6], [290.0, 12e-6]])
    values, status = cr.evaluate(X)
    assert_rows_equal(cr, values, status, data, factors, X, "cascade.yaml")
    R = 8.314462618
    for (T, V), y in zip(X, values[:, cr.columns.index("product.yield")]):
        k = 0.01 * math.exp(-50e3 / R * (1 / T - 1 / 300.0))
        tau_each = V / 3 / (1e-6 / 60)
        assert y == pytest.approx(1 - (1 + k * tau_each) ** -3, rel=1e-8)


def test_reaction_enthalpy_per_point_in_a_cooled_tube():
    data = snar_route()
    data["operations"][1] = {"name": "R1", "type": "pfr", "from": "M1", "length": "4 m",
                             "diameter": "1.5 mm",
                             "energy": {"U": "150 W/m^2/K", "coolant_T": "60 degC"}}
    route = Route.from_dict(data, source="dh.yaml")
    kinetic = ParameterMap(route.mechanism, ["sub1.dH", "sub1.k_ref"], 333.15)
    cr = CompiledRoute(route, ["R1.energy.coolant_T"], kinetic)
    theta = np.tile(kinetic.theta0, (3, 1))
    theta[:, 0] *= np.array([0.5, 1.0, 2.0])        # half, as given and twice the heat release
    X = np.array([[333.15], [333.15], [343.15]])
    values, status = cr.evaluate(X, theta)
    T_max = values[:, cr.columns.index("operations.R1.T_max_K")]
    assert T_max[0] < T_max[1]                      # more heat released, hotter coil
    assert_rows_equal(cr, values, status, data, ["R1.energy.coolant_T"], X, "dh.yaml",
                      mechanisms=[kinetic.mechanism_with(t) for t in theta])


def test_a_point_that_feeds_no_basis_fails_as_the_python_route_does():
    data = snar_route()
    route = Route.from_dict(data, source="snar.yaml")
    factors = ["dfnb.conc.DFNB"]
    cr = CompiledRoute(route, factors)
    X = np.array([[500.0], [0.0], [250.0]])
    values, status = cr.evaluate(X)
    assert status[1] == "snar.yaml: product.basis: 'DFNB' is not fed upstream of 'R1'"
    assert np.all(np.isnan(values[1]))
    assert_rows_equal(cr, values, status, data, factors, X, "snar.yaml")
