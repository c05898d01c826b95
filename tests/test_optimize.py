"""Optimisation files (DESIGN.md "Study files"): known optima of route
studies (closed forms), constraints, infeasible problems, Pareto fronts,
refusals of bad files."""

import json
import math

import numpy as np
import pytest

from flowchem.cli import main
from flowchem.process.constraints import Constraint
from flowchem.process.optimize import OptimizationProblem, optimize, optimize_problem, pareto_front

# A -> B -> C, first order, isothermal PFR
CONSECUTIVE = """
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}, {name: C, formula: C2H4O}]
  reactions:
    - {equation: A => B, rate: {k: 0.02 1/s}}
    - {equation: B => C, rate: {k: 0.005 1/s}}
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations:
  - {name: R1, type: pfr, from: f, volume: 5 mL, T: 25 degC}
product: {from: R1, species: B, basis: A}
"""

# A -> B, first order, k = 0.01 1/s, isothermal PFR
FIRST_ORDER = """
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions:
    - {equation: A => B, rate: {k: 0.01 1/s}}
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations:
  - {name: R1, type: pfr, from: f, volume: VOLUME, T: 25 degC}
product: {from: R1, species: B, basis: A}
"""
K = 0.01
M_B = (2 * 12.011 + 4 * 1.008 + 15.999) * 1e-3    # kg/mol, C2H4O (IUPAC conventional masses)
C0 = 1000.0            # mol/m3


def _write(tmp_path, study, route):
    (tmp_path / "route.yaml").write_text(route)
    path = tmp_path / "optimize.yaml"
    path.write_text(study)
    return path


def test_best_residence_time_of_consecutive_reactions(tmp_path):
    """tau* = ln(k2/k1)/(k2 - k1); yield there k1/(k2-k1) (e^-k1 tau - e^-k2 tau)."""
    path = _write(tmp_path, """
route: route.yaml
maximize: product.yield
vary:
  R1.volume: {from: 0.5 mL, to: 5 mL}
options: {population: 10}
""", CONSECUTIVE)
    result = optimize(path)
    k1, k2 = 0.02, 0.005
    tau = math.log(k2 / k1) / (k2 - k1)
    flow = 1e-6 / 60
    y = k1 / (k2 - k1) * (math.exp(-k1 * tau) - math.exp(-k2 * tau))
    assert result.feasible and result.maximize
    # the yield is flat at the optimum: its argument to 1e-5, its value to 1e-8
    assert result.optimum["R1.volume"] / flow == pytest.approx(tau, rel=1e-5)
    assert result.value == pytest.approx(y, rel=1e-8)
    assert result.kpis["product.yield"] == result.value
    assert result.at_bounds == [] and result.constraints == []
    assert result.evaluations > 0 and result.ensemble_calls <= result.evaluations


def test_constrained_optimum_on_its_active_bound(tmp_path):
    """Production rate Q c0 M (1 - e^(-kV/Q)) rises with Q, conversion falls:
    under conversion >= 0.9 the optimum is Q* = k V / ln 10 (hand derivation)."""
    path = _write(tmp_path, """
route: route.yaml
maximize: product.production_rate_kg_per_h
vary:
  f.flow: {from: 0.1 mL/min, to: 5 mL/min}
subject_to:
  - product.conversion >= 90 %
  - operations.R1.T_max_K <= 350 K
options: {population: 8}
""", FIRST_ORDER.replace("VOLUME", "5 mL"))
    result = optimize(path)
    q_star = K * 5e-6 / math.log(10.0)
    assert result.feasible
    assert result.optimum["f.flow"] == pytest.approx(q_star, rel=1e-7)
    assert result.value == pytest.approx(q_star * C0 * M_B * 0.9 * 3600, rel=1e-6)
    assert result.active == ["product.conversion >= 90 %"]
    conv, tmax = result.constraints
    assert conv["holds"] and abs(conv["slack"]) < 1e-7
    assert tmax["holds"] and not tmax["active"] and tmax["slack"] == pytest.approx(350 - 298.15)


def test_infeasible_problem_reports_the_feasible_most_point(tmp_path):
    """V = 2 mL, Q >= 1 mL/min: conversion at most 1 - e^-1.2 < 0.9."""
    path = _write(tmp_path, """
route: route.yaml
maximize: product.production_rate_kg_per_h
vary:
  f.flow: {from: 1 mL/min, to: 5 mL/min}
subject_to: [product.conversion >= 0.9]
options: {population: 6}
""", FIRST_ORDER.replace("VOLUME", "2 mL"))
    out = tmp_path / "o.json"
    assert main(["optimize", str(path), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    best = 1.0 - math.exp(-K * 2e-6 / (1e-6 / 60))
    assert data["feasible"] is False
    assert data["optimum"]["f.flow"] == pytest.approx(1e-6 / 60, rel=1e-12)
    assert data["at_bounds"] == ["f.flow"]
    assert data["violations"] == ["product.conversion >= 0.9"]
    (c,) = data["constraints"]
    assert c["value"] == pytest.approx(best, rel=1e-7) and c["slack"] == pytest.approx(best - 0.9, rel=1e-6)


def _toy_pfr(failing=None):
    """Closed-form first-order PFR: factors (Q, V) -> (yield, production rate kg/h)."""
    calls = []

    def evaluate(X):
        calls.append(len(X))
        Q, V = X[:, 0], X[:, 1]
        y = 1.0 - np.exp(-K * V / Q)
        values = np.column_stack([y, Q * C0 * M_B * y * 3600.0])
        status = ["ok"] * len(X)
        if failing is not None:
            for i in np.flatnonzero(failing(X)):
                values[i] = np.nan
                status[i] = "solver failed: toy"
        return values, status
    return evaluate, calls


COLUMNS = ["product.yield", "product.production_rate_kg_per_h"]
LOWER, UPPER = [0.5e-6 / 60, 1e-6], [5e-6 / 60, 5e-6]


def test_population_is_one_ensemble_call_and_failures_rank_last():
    evaluate, calls = _toy_pfr(failing=lambda X: X[:, 0] > 4e-6 / 60)
    problem = OptimizationProblem(evaluate, COLUMNS, ["f.flow", "R1.volume"], LOWER, UPPER,
                                  "product.production_rate_kg_per_h", True,
                                  [Constraint("product.yield", False, 0.9, "product.yield >= 0.9")],
                                  seed=3, options={"population": 10})
    result = optimize_problem(problem)
    # the optimum: V at its upper bound, Q = k V / ln 10 (inside the solved region)
    assert result.optimum["R1.volume"] == pytest.approx(5e-6, rel=1e-9)
    assert result.optimum["f.flow"] == pytest.approx(K * 5e-6 / math.log(10), rel=1e-7)
    # DE generations: whole populations of 20 per call; polish: 2d + 1 = 5 per call
    assert calls[0] == 20 and set(calls) <= {20, 5}
    again = optimize_problem(OptimizationProblem(
        _toy_pfr(failing=lambda X: X[:, 0] > 4e-6 / 60)[0], COLUMNS, ["f.flow", "R1.volume"],
        LOWER, UPPER, "product.production_rate_kg_per_h", True,
        [Constraint("product.yield", False, 0.9, "product.yield >= 0.9")], seed=3,
        options={"population": 10}))
    assert again.optimum == result.optimum and again.evaluations == result.evaluations


def test_pareto_front_is_non_dominated_and_on_the_closed_form_front():
    """max yield and max production rate over (Q, V): the front is V = V_max,
    P = Q c0 M y with Q = -k V_max / ln(1 - y)."""
    evaluate, _ = _toy_pfr()
    problem = OptimizationProblem(evaluate, COLUMNS, ["f.flow", "R1.volume"], LOWER, UPPER,
                                  "product.yield", True, [], seed=1,
                                  options={"population": 8, "levels": 6, "cloud": 64})
    front = pareto_front(problem, COLUMNS)
    F = front.values()
    assert len(F) >= 6
    y, P = F[:, 0], F[:, 1]
    q = -K * 5e-6 / np.log1p(-y)
    np.testing.assert_allclose(P, q * C0 * M_B * y * 3600.0, rtol=1e-4)
    for i in range(len(F)):
        others = np.delete(F, i, axis=0)
        assert not np.any(np.all(others >= F[i], axis=1) & np.any(others > F[i], axis=1))
    # the ends: the single-objective optima (Q at its bounds, V = V_max)
    assert y.max() == pytest.approx(1 - math.exp(-K * 5e-6 / LOWER[0]), rel=1e-9)
    assert P.max() == pytest.approx(UPPER[0] * C0 * M_B * 3600 * (1 - math.exp(-K * 5e-6 / UPPER[0])),
                                    rel=1e-9)
    assert front.cloud.shape == (64, 2)


def test_pareto_on_the_command_line_writes_json_and_plot(tmp_path):
    path = _write(tmp_path, """
route: route.yaml
maximize: product.yield
vary:
  f.flow: {from: 1 mL/min, to: 5 mL/min}
options: {population: 5, levels: 2, cloud: 16}
""", FIRST_ORDER.replace("VOLUME", "5 mL"))
    out = tmp_path / "o.json"
    assert main(["optimize", str(path), "--json", str(out), "--out", str(tmp_path / "figs"),
                 "--pareto", "product.yield,product.production_rate_kg_per_h"]) == 0
    data = json.loads(out.read_text())
    pts = data["pareto"]["points"]
    assert data["pareto"]["senses"] == ["maximize", "maximize"] and len(pts) >= 3
    for p in pts:   # one factor: every front point lies on the curve of Q
        q = p["factors"]["f.flow"]
        assert p["kpis"]["product.yield"] == pytest.approx(1 - math.exp(-K * 5e-6 / q), rel=1e-7)
    assert (tmp_path / "figs" / "pareto.png").stat().st_size > 1000


@pytest.mark.parametrize("body, message", [
    ("maximize: product.yeld\nvary: {f.flow: {from: 1 mL/min, to: 5 mL/min}}", "unknown column"),
    ("maximize: product.yield\nminimize: product.yield\nvary: {f.flow: {from: 1 mL/min, to: 5 mL/min}}",
     "not both"),
    ("maximize: product.yield\nvary: {f.flow: {from: 1 degC, to: 5 mL/min}}", "from"),
    ("maximize: product.yield\nvary: {f.flow: {from: 5 mL/min, to: 1 mL/min}}", "empty range"),
    ("maximize: product.yield\nvary: {f.flow: {from: 1 mL/min, to: 5 mL/min}}\n"
     "subject_to: [product.conversion is high]", "cannot read"),
    ("maximize: product.yield\nvary: {f.flow: {from: 1 mL/min, to: 5 mL/min}}\n"
     "subject_to: [operations.R9.T_max_K <= 300 K]", "unknown column"),
    ("maximize: product.yield\nvary: {f.flow: {from: 1 mL/min, to: 5 mL/min}}\n"
     "options: {population: 0}", "options.population"),
])
def test_bad_files_exit_2_and_write_nothing(tmp_path, capsys, body, message):
    path = _write(tmp_path, "route: route.yaml\n" + body + "\n", FIRST_ORDER.replace("VOLUME", "5 mL"))
    out = tmp_path / "o.json"
    assert main(["optimize", str(path), "--json", str(out), "--out", str(tmp_path / "figs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "optimize.yaml" in err
    assert not out.exists() and not (tmp_path / "figs").exists()


def test_bad_pareto_columns_exit_2(tmp_path, capsys):
    path = _write(tmp_path, "route: route.yaml\nmaximize: product.yield\n"
                  "vary: {f.flow: {from: 1 mL/min, to: 5 mL/min}}\n",
                  FIRST_ORDER.replace("VOLUME", "5 mL"))
    assert main(["optimize", str(path), "--pareto", "product.yield,product.nothing"]) == 2
    assert "unknown column 'product.nothing'" in capsys.readouterr().err


def test_no_point_solved_is_a_solver_error():
    from flowchem.core.errors import SolverError

    def evaluate(X):
        return np.full((len(X), 2), np.nan), ["R1: stiff solver failed: toy"] * len(X)

    problem = OptimizationProblem(evaluate, COLUMNS, ["f.flow", "R1.volume"], LOWER, UPPER,
                                  "product.yield", True, [], options={"population": 5})
    with pytest.raises(SolverError, match=r"optimize: no point solved in \d+ evaluations; "
                                          "first failure: R1: stiff solver failed: toy"):
        optimize_problem(problem)


def test_optimum_on_a_dask_cluster_equals_the_local_run(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    path = _write(tmp_path, """
route: route.yaml
maximize: product.production_rate_kg_per_h
vary:
  f.flow: {from: 0.1 mL/min, to: 5 mL/min}
subject_to: [product.conversion >= 90 %]
options: {population: 5}
""", FIRST_ORDER.replace("VOLUME", "5 mL"))
    local = optimize(path)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        remote = optimize(path, scheduler=client)
    assert remote.optimum == local.optimum and remote.kpis == local.kpis
    assert remote.evaluations == local.evaluations
    assert remote.optimum["f.flow"] == pytest.approx(K * 5e-6 / math.log(10.0), rel=1e-7)
