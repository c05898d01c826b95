"""``solver: {method: auto-switch}``: an explicit method (DOP853, or DOPRI5
from rtol 5e-5 up) while the problem is not stiff, Rodas5P from the start
again when it stops.

References: closed forms (consecutive first-order reactions), the Bari IVP
test set (ROBER, stiff), the pure Rodas5P solve (a switched solve must be
exactly it), and the per-point Python route for the compiled ensemble (rows
to 1e-10, as every compiled-route test).
"""

import copy
import math

import numpy as np
import pytest

from flowchem.process.compiled_route import CompiledRoute
from flowchem.process.route import Route
from flowchem.reactors.solver import SolverOptions, integrate
from kernel_models import load_ivp_reference, make_system, rober_system
from kernels.problems import BATCH
from kernels.rosenbrock import solve_rodas
from test_compiled_route import assert_rows_equal, snar_route


def consecutive(k1=2.0, k2=0.5):
    """A -> B -> C, first order: B(t) = k1/(k2 - k1) (e^-k1 t - e^-k2 t)."""
    return make_system([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k1},
                        {"reactants": {1: 1}, "net": {1: -1, 2: 1}, "k": k2}], 3)


@pytest.mark.parametrize("rtol, method, tol", [(1e-4, "dopri5", 1e-3), (1e-9, "dop853", 1e-8)])
def test_non_stiff_problem_runs_the_explicit_method_to_the_closed_form(rtol, method, tol):
    k1, k2, t_end = 2.0, 0.5, 3.0
    sol, _ = integrate(consecutive(k1, k2), BATCH, np.array([1.0, 0.0, 0.0]), t_end,
                       SolverOptions(rtol=rtol, method="auto-switch"), atol=np.full(3, 1e-14))
    assert sol.method == method
    assert sol.stats["jacobian_evaluations"] == 0 and sol.stats["lu_factorizations"] == 0
    A = math.exp(-k1 * t_end)
    B = k1 / (k2 - k1) * (math.exp(-k1 * t_end) - math.exp(-k2 * t_end))
    np.testing.assert_allclose(sol.y[-1], [A, B, 1.0 - A - B], rtol=tol)
    # the dense output is the method's own: a midway value on the closed form too
    t = 1.234
    B_t = k1 / (k2 - k1) * (math.exp(-k1 * t) - math.exp(-k2 * t))
    assert sol(t)[1] == pytest.approx(B_t, rel=tol)


def test_stiff_problem_switches_to_rodas_and_returns_its_solve():
    ref = load_ivp_reference()["rober"]
    atol = np.array([1e-12, 1e-16, 1e-12])
    y0 = np.array(ref["y0"], dtype=float)
    options = SolverOptions(rtol=1e-8, method="auto-switch")
    sol, _ = integrate(rober_system(), BATCH, y0, ref["t_end"], options, atol=atol)
    assert sol.method == "rodas"
    alone = solve_rodas(BATCH, rober_system(), y0, 0.0, ref["t_end"], np.zeros(0), 1e-8, atol,
                        0.0, 200_000, True)
    # exactly the Rodas5P solve (it starts again from t = 0) ...
    np.testing.assert_array_equal(sol.t, alone[1])
    np.testing.assert_array_equal(sol.y, alone[2])
    # ... on the test set's reference, and the counters hold the DOPRI5 attempt too
    np.testing.assert_allclose(sol.y[-1], ref["y_end"], rtol=1e-5)
    assert sol.stats["steps"] > int(alone[5][0]) and sol.stats["jacobian_evaluations"] > 0


def _route(method, rtol=1e-8):
    data = snar_route()
    data["solver"] = {"rtol": rtol, "method": method}
    return data


@pytest.mark.parametrize("rtol", [1e-4, 1e-8], ids=["dopri5", "dop853"])
def test_compiled_snar_rows_equal_the_python_route(rtol):
    """Isothermal tube with a heat row (the SNAr reactions carry dH): the
    slot-form path with the heat plan (DOPRI5 at rtol 1e-4, DOP853 at 1e-8),
    against route.run() per point; and against Rodas5P's rows, which solve
    the same equations to the tolerance."""
    factors = ["R1.T", "R1.volume", "mor.flow", "dfnb.conc.DFNB"]
    rng = np.random.default_rng(11)
    X = np.column_stack([rng.uniform(313, 373, 5), rng.uniform(1e-6, 1e-5, 5),
                         rng.uniform(0.3, 1.0, 5) / 6e7, rng.uniform(200, 800, 5)])
    data = _route("auto-switch", rtol)
    cr = CompiledRoute(Route.from_dict(data, source="snar.yaml"), factors)
    values, status = cr.evaluate(X)
    assert status == ["ok"] * 5
    assert_rows_equal(cr, values, status, data, factors, X, "snar.yaml")
    rodas = CompiledRoute(Route.from_dict(_route("rodas", 1e-10), source="snar.yaml"), factors)
    values_rodas, _ = rodas.evaluate(X)
    y = cr.columns.index("product.yield")
    np.testing.assert_allclose(values[:, y], values_rodas[:, y], rtol=10 * rtol)
    # 1 and 2 threads: identical numbers
    np.testing.assert_array_equal(cr.evaluate(X, threads=1)[0], cr.evaluate(X, threads=2)[0])


@pytest.mark.parametrize("rtol", [1e-4, 1e-8], ids=["dopri5", "dop853"])
def test_compiled_cooled_tube_and_hot_spot_equal_the_python_route(rtol):
    """Energy balance (feeds at 70 degC, coolant 60-90 degC): the explicit
    method on the general rhs, the hot spot refined on its dense output."""
    data = _route("auto-switch", rtol)
    for feed in data["feeds"]:
        feed["T"] = "70 degC"
    data["operations"][1] = {"name": "R1", "type": "pfr", "from": "M1", "volume": "5 mL",
                             "diameter": "3 mm",
                             "energy": {"U": "150 W/m^2/K", "coolant_T": "75 degC"}}
    factors = ["R1.energy.coolant_T", "dfnb.conc.DFNB"]
    X = np.array([[348.15, 500.0], [363.15, 800.0], [333.15, 300.0]])
    cr = CompiledRoute(Route.from_dict(data, source="cooled.yaml"), factors)
    values, status = cr.evaluate(X)
    assert status == ["ok"] * 3
    # the reaction heat lifts the stream above its coolant: a hot spot inside the tube
    assert values[1, cr.columns.index("operations.R1.T_max_K")] > 363.15 + 1.0
    assert_rows_equal(cr, values, status, data, factors, X, "cooled.yaml")


@pytest.mark.parametrize("rtol", [1e-4, 1e-8], ids=["dopri5", "dop853"])
def test_compiled_stiff_route_switches_as_the_python_route_does(rtol):
    """A fast equilibrium A <=> B (k 1e4 /s both ways) feeding a slow B -> C:
    DOPRI5 detects the stiffness and the tube is solved by Rodas5P; the rows
    equal route.run() per point and the pure Rodas5P route's rows exactly."""
    data = {
        "mechanism": {"species": [{"name": "A", "formula": "C2H4O"},
                                  {"name": "B", "formula": "C2H4O"},
                                  {"name": "C", "formula": "C2H4O"}],
                      "reactions": [{"equation": "A <=> B", "id": "eq",
                                     "rate": {"A": 1e4, "Ea": 0}, "reverse": {"A": 1e4, "Ea": 0}},
                                    {"equation": "B => C", "id": "slow",
                                     "rate": {"A": 0.01, "Ea": 0}}]},
        "feeds": [{"name": "f", "flow": "1 mL/min", "T": "25 degC", "conc": {"A": "1 mol/L"}}],
        "operations": [{"name": "R1", "type": "pfr", "from": "f", "volume": "2 mL",
                        "T": "300 K"}],
        "product": {"from": "R1", "species": "C", "basis": "A"},
        "solver": {"rtol": rtol, "method": "auto-switch"},
    }
    factors = ["R1.volume", "f.flow"]
    X = np.array([[2e-6, 1e-6 / 60], [5e-6, 2e-6 / 60]])
    route = Route.from_dict(data, source="stiff.yaml")
    cr = CompiledRoute(route, factors)
    values, status = cr.evaluate(X)
    assert status == ["ok"] * 2
    assert_rows_equal(cr, values, status, data, factors, X, "stiff.yaml")
    pure = copy.deepcopy(data)
    pure["solver"]["method"] = "rodas"
    values_rodas, _ = CompiledRoute(Route.from_dict(pure, source="stiff.yaml"), factors).evaluate(X)
    np.testing.assert_array_equal(values, values_rodas)
    # closed form: C = 1 - exp(-k tau / 2) once A and B share equally (fast equilibrium)
    tau = X[:, 0] / X[:, 1]
    y = cr.columns.index("product.yield")
    np.testing.assert_allclose(values[:, y], 1.0 - np.exp(-0.01 * tau / 2.0), rtol=1e-3)
