"""Sweep files (DESIGN.md "Study files"): parsing and refusals, rows equal to
single route runs, identical tables with 1 and 2 workers and on Dask,
failed points kept per point."""

import csv
import math
import socket

import numpy as np
import pytest

from flowchem.cli import main
from flowchem.process.route import load_route
from flowchem.process.study import load_sweep, sweep
from flowchem.process.study_table import row_from_result

# A -> B -> C, Arrhenius; a cooled PFR given by length and diameter (pressure drop
# column) and a heat of reaction (T_max above the wall temperature)
ROUTE = """
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}, {name: C, formula: C2H4O}]
  reactions:
    - {equation: A => B, rate: {k_ref: 0.02 1/s, T_ref: 50 degC, Ea: 60 kJ/mol}, dH: -60 kJ/mol}
    - {equation: B => C, rate: {k_ref: 0.002 1/s, T_ref: 50 degC, Ea: 80 kJ/mol}}
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations:
  - {name: R1, type: pfr, from: f, length: 2 m, diameter: 1 mm,
     energy: {U: 300 W/m^2/K, coolant_T: 50 degC}}
product: {from: R1, species: B, basis: A}
"""

ROUTE_ISO = ROUTE.replace("energy: {U: 300 W/m^2/K, coolant_T: 50 degC}", "T: 50 degC")

SWEEP = """
route: route.yaml
vary:
  R1.energy.coolant_T: {from: 40 degC, to: 70 degC, n: 3}
  f.flow: {values: [0.5 mL/min, 2 mL/min]}
  f.conc.A: {from: 0.5 mol/L, to: 1 mol/L, n: 2}
spec:
  - product.yield >= 30 %
"""


def _write(tmp_path, sweep_text=SWEEP, route_text=ROUTE):
    (tmp_path / "route.yaml").write_text(route_text)
    path = tmp_path / "sweep.yaml"
    path.write_text(sweep_text)
    return path


def test_sweep_file_parsing(tmp_path):
    study = load_sweep(_write(tmp_path))
    names = [f.name for f in study.factors]
    assert names == ["R1.energy.coolant_T", "f.flow", "f.conc.A"]
    assert study.factors[0].values == pytest.approx([313.15, 328.15, 343.15], rel=1e-14)
    assert study.factors[1].values == pytest.approx([0.5e-6 / 60, 2e-6 / 60], rel=1e-14)
    assert study.factors[2].values == pytest.approx([500.0, 1000.0], rel=1e-14)
    assert study.X.shape == (12, 3) and study.shape == (3, 2, 2)
    # full factorial, first factor slowest
    assert study.X[:4, 0] == pytest.approx([313.15] * 4) and study.X[4, 0] == pytest.approx(328.15)
    assert study.columns == ["product.conversion", "product.yield", "product.selectivity",
                             "product.production_rate_kg_per_h",
                             "product.space_time_yield_kg_per_m3_h", "product.impurity.C",
                             "operations.R1.T_max_K", "operations.R1.pressure_drop_Pa"]
    assert [str(c) for c in study.spec] == ["product.yield >= 30 %"]
    assert study.spec[0].bound == pytest.approx(0.30)


def test_latin_hypercube_design(tmp_path):
    text = """
route: route.yaml
vary:
  R1.T: {from: 40 degC, to: 80 degC}
  f.flow: {from: 0.5 mL/min, to: 2 mL/min}
design: {latin-hypercube: 40, seed: 7}
"""
    path = _write(tmp_path, text, ROUTE_ISO)
    a, b = load_sweep(path), load_sweep(path)
    assert a.X.shape == (40, 2) and np.array_equal(a.X, b.X)        # seeded
    for j, (lo, hi) in enumerate([(313.15, 353.15), (0.5e-6 / 60, 2e-6 / 60)]):
        u = (a.X[:, j] - lo) / (hi - lo)
        # one point in each of the 40 equal strata of every factor
        assert sorted(np.floor(u * 40).astype(int)) == list(range(40))


def _table_equal(r1, r2):
    assert list(r1.table) == list(r2.table)
    for c in r1.table:
        if isinstance(r1.table[c], np.ndarray):
            assert np.array_equal(r1.table[c], r2.table[c], equal_nan=True), c
        else:
            assert r1.table[c] == r2.table[c], c


def test_rows_equal_single_route_runs_and_workers(tmp_path):
    path = _write(tmp_path)
    res = sweep(path)
    assert res.evaluator in ("compiled", "python")
    assert all(s == "ok" for s in res.table["status"]) and res.n_points == 12
    for i in range(res.n_points):
        T, flow, cA = (res.table[n][i] for n in ("R1.energy.coolant_T", "f.flow", "f.conc.A"))
        # the route file itself with the three entries rewritten
        text = (ROUTE.replace("coolant_T: 50 degC", f"coolant_T: {float(T)!r} K")
                .replace("flow: 1 mL/min", f"flow: {float(flow)!r} m^3/s")
                .replace("{A: 1 mol/L}", f"{{A: {float(cA)!r} mol/m^3}}"))
        (tmp_path / "point.yaml").write_text(text)
        row = row_from_result(res.study.columns, load_route(tmp_path / "point.yaml").run())
        for c in res.study.columns:
            if row[c] is None:
                assert math.isnan(res.table[c][i]), c
            else:
                assert res.table[c][i] == pytest.approx(row[c], rel=1e-10, abs=1e-300), c
        holds = row["product.yield"] >= 0.30
        assert res.table["in_spec"][i] is holds
    # the heat of reaction lifts T_max above the wall somewhere, and the pressure
    # drop of laminar flow is Hagen-Poiseuille: 128 mu L Q / (pi d^4), mu of water
    assert np.nanmax(res.table["operations.R1.T_max_K"] - res.table["R1.energy.coolant_T"]) > 0.01
    two = sweep(path, workers=2)
    _table_equal(res, two)


def test_closed_form_first_order_pfr(tmp_path):
    route = """
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions: [{equation: A => B, rate: {k: 0.01 1/s}}]
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations: [{name: R1, type: pfr, from: f, volume: 1 mL}]
product: {from: R1, species: B, basis: A}
"""
    text = """
route: route.yaml
vary:
  R1.volume: {from: 1 mL, to: 5 mL, n: 5}
"""
    res = sweep(_write(tmp_path, text, route))
    tau = res.table["R1.volume"] / (1e-6 / 60)
    assert res.table["product.yield"] == pytest.approx(1 - np.exp(-0.01 * tau), rel=1e-7)
    out = tmp_path / "out"
    assert main(["sweep", str(tmp_path / "sweep.yaml"), "--out", str(out)]) == 0
    assert (out / "sweep_R1.volume.png").stat().st_size > 5_000
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert float(rows[2]["R1.volume"]) == pytest.approx(3e-6, rel=1e-14)
    # a tube given by volume alone has no pressure drop: no column at all
    assert "operations.R1.pressure_drop_Pa" not in rows[0]


def test_failed_points_reported_others_right(tmp_path, capsys):
    text = """
route: route.yaml
vary:
  R1.T: {from: 40 degC, to: 60 degC, n: 2}
  f.flow: {from: -1 mL/min, to: 1 mL/min, n: 3}
spec: [operations.R1.T_max_K <= 80 degC]
"""
    path = _write(tmp_path, text, ROUTE.replace("energy: {U: 300 W/m^2/K, coolant_T: 50 degC}",
                                                "T: 50 degC"))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "6 points: 2 ok, 4 failed" in printed
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    bad = [r for r in rows if r["status"] != "ok"]
    assert len(bad) == 4 and all("must be positive" in r["status"] for r in bad)
    # empty cells, never 0, for the failed points
    assert all(r["product.yield"] == "" and r["in_spec"] == "" for r in bad)
    good = [r for r in rows if r["status"] == "ok"]
    for r in good:
        T = float(r["R1.T"])
        k = 0.02 * math.exp(-60e3 / 8.31446261815324 * (1 / T - 1 / 323.15))
        k2 = 0.002 * math.exp(-80e3 / 8.31446261815324 * (1 / T - 1 / 323.15))
        tau = math.pi * 0.25e-6 * 2.0 / float(r["f.flow"])
        yield_b = k / (k2 - k) * (math.exp(-k * tau) - math.exp(-k2 * tau))   # A -> B -> C
        assert float(r["product.yield"]) == pytest.approx(yield_b, rel=1e-6)
        assert r["in_spec"] == "true"
    assert sorted(p.name for p in out.glob("*.png")) == ["map_R1.T__f.flow.png"]


@pytest.mark.parametrize("vary, message", [
    ("R9.T: {from: 40 degC, to: 60 degC, n: 2}", "vary.R9.T: no feed or operation named 'R9'"),
    ("R1.flow: {from: 1 mL/min, to: 2 mL/min, n: 2}", "vary.R1.flow: pfr 'R1' has no key 'flow'"),
    ("f.conc.Z: {from: 1 mol/L, to: 2 mol/L, n: 2}", "vary.f.conc.Z: unknown species 'Z'"),
    ("R1.T: {from: 40 mL, to: 60 degC, n: 2}", "vary.R1.T.from: "),
    ("R1.T: {from: 40, to: 60, n: 2}", "vary.R1.T.from: give a unit with 40"),
    ("R1.T: {from: 40 degC, to: 60 degC, n: 0}", "vary.R1.T.n: expected a whole number of levels"),
    ("R1.T: {from: 40 degC, to: 40 degC, n: 3}", "vary.R1.T: empty range"),
    ("R1.T: {values: []}", "vary.R1.T.values: expected a non-empty list"),
    ("R1.T: {from: 40 degC, n: 3}", "vary.R1.T: missing required key 'to'"),
    ("R1.energy.U: {from: 100 W/m^2/K, to: 200 W/m^2/K, n: 2}",
     "vary.R1.energy.U: pfr 'R1' is not cooled"),
])
def test_bad_factors_refused(tmp_path, capsys, vary, message):
    path = _write(tmp_path, f"route: route.yaml\nvary:\n  {vary}\n", ROUTE_ISO)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"flowchem: {path}: {message}"), err
    assert not out.exists()


@pytest.mark.parametrize("extra, message", [
    ("spec: [product.purity >= 0.5]", "spec[0]: unknown column 'product.purity'"),
    ("spec: [product.yield about 0.5]", "spec[0]: cannot read 'product.yield about 0.5'"),
    ("spec: [operations.R1.T_max_K <= 3 bar]", "spec[0]: "),
    ("design: {latin-hypercube: 0}", "design.latin-hypercube: expected a number of points"),
    ("design: central-composite", "design: expected 'full-factorial'"),
    ("bogus: 1", "bogus: unknown key 'bogus'"),
])
def test_bad_spec_and_design_refused(tmp_path, capsys, extra, message):
    path = _write(tmp_path, "route: route.yaml\nvary:\n  R1.T: {from: 40 degC, to: 60 degC, n: 2}\n"
                  + extra + "\n", ROUTE_ISO)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"flowchem: {path}: {message}"), err
    assert not out.exists()


def test_scheduler_nothing_listening(tmp_path, capsys):
    path = _write(tmp_path)
    with socket.socket() as s:        # a free port, closed again: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--scheduler", f"tcp://127.0.0.1:{port}",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"flowchem: command line: --scheduler: cannot reach a Dask scheduler "
                          f"at tcp://127.0.0.1:{port}")
    assert not out.exists()


def test_dask_local_cluster_identical(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    path = _write(tmp_path)
    local = sweep(path)
    one = tmp_path / "one.yaml"     # through the command line: one factor, one quick figure
    one.write_text("route: route.yaml\nvary:\n  f.flow: {from: 0.5 mL/min, to: 2 mL/min, n: 4}\n")
    sweep(one).write_csv(tmp_path / "local.csv")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        with distributed.Client(cluster) as client:
            on_dask = sweep(path, scheduler=client)
        out = tmp_path / "out"
        assert main(["sweep", str(one), "--scheduler", cluster.scheduler_address,
                     "--out", str(out)]) == 0
    _table_equal(local, on_dask)
    assert (out / "sweep.csv").read_text() == (tmp_path / "local.csv").read_text()


def test_kinetic_theta_per_point(tmp_path):
    """With theta, a point runs the mechanism of ParameterMap.mechanism_with."""
    from flowchem.chemistry.parameters import ParameterMap

    study = load_sweep(_write(tmp_path))
    pm = ParameterMap(study.route.mechanism, ["r1.k_ref"], 323.15)
    kin = study.with_kinetic(pm)
    X = study.X[:2]
    theta = np.array([pm.theta0, pm.theta0 + 0.5])
    values, status = kin.evaluate(X, theta)
    assert status == ["ok", "ok"]
    base, _ = study.evaluate(X)
    assert values[0] == pytest.approx(base[0], rel=1e-10)
    # theta + 0.5 is k_ref * e^0.5 (log coordinates): the route with that k_ref
    route_text = ROUTE.replace("k_ref: 0.02 1/s", f"k_ref: {0.02 * math.exp(0.5)!r} 1/s")
    (tmp_path / "route.yaml").write_text(route_text)
    ref = load_sweep(tmp_path / "sweep.yaml").evaluate(X[1:])[0][0]
    assert values[1] == pytest.approx(ref, rel=1e-8)


def test_old_vary_form_rejects_new_flags(tmp_path, capsys):
    (tmp_path / "route.yaml").write_text(ROUTE_ISO)
    assert main(["sweep", str(tmp_path / "route.yaml"), "--vary", "R1.T=40..60 degC:2",
                 "--workers", "2"]) == 2
    assert "--workers applies to a sweep file" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "route.yaml")]) == 2
    assert capsys.readouterr().err == (f"flowchem: {tmp_path / 'route.yaml'}: this is a route file, "
                                       "not a study file: give a sweep file (route:, vary:, ...) "
                                       "or --vary ENTRY.KEY=START..STOP UNIT:N\n")


def test_fixed_T_of_cooled_reactor_and_samples_refused(tmp_path, capsys):
    path = _write(tmp_path, "route: route.yaml\nvary:\n  R1.T: {from: 40 degC, to: 60 degC, n: 2}\n")
    assert main(["sweep", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"flowchem: {path}: vary.R1.T: pfr 'R1' is cooled: it has no fixed T") \
        and err.count("\n") == 1
    path = _write(tmp_path, "route: route.yaml\nvary:\n  R1.T: {from: 40 degC, to: 60 degC, n: 2}\n",
                  ROUTE_ISO)
    assert main(["sweep", str(path), "--samples", "10"]) == 2
    assert capsys.readouterr().err == ("flowchem: command line: --samples: --samples needs an "
                                       "'uncertainty:' section in the sweep file\n")


def test_scheduler_without_dask_says_how_to_install(tmp_path, capsys, monkeypatch):
    import sys

    path = _write(tmp_path)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)     # import fails
    assert main(["sweep", str(path), "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert capsys.readouterr().err == ('flowchem: command line: --scheduler: a Dask scheduler needs '
                                       'dask.distributed: pip install "flowchem-sim[distributed]"\n')


def test_cascade_tank_number_factor_closed_form(tmp_path):
    """n of a cascade is a whole-number factor: conversion of a first-order
    reaction in N equal tanks, 1 - (1 + k tau / N)^-N."""
    route = """
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions: [{equation: A => B, rate: {k: 0.01 1/s}}]
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations: [{name: K, type: cstr_cascade, from: f, n: 2, volume: 2 mL}]
product: {from: K, species: B, basis: A}
"""
    text = "route: route.yaml\nvary:\n  K.n: {values: [1, 3, 6]}\n  K.volume: {from: 1 mL, to: 2 mL, n: 2}\n"
    res = sweep(_write(tmp_path, text, route))
    assert res.table["status"] == ["ok"] * 6
    N, V = res.table["K.n"], res.table["K.volume"]
    expected = 1 - (1 + 0.01 * V / (1e-6 / 60) / N) ** -N
    assert res.table["product.conversion"] == pytest.approx(expected, rel=1e-7)
    bad = _write(tmp_path, "route: route.yaml\nvary:\n  K.n: {values: [1.5]}\n", route)
    with pytest.raises(Exception, match=r"vary.K.n.values\[0\]: expected a whole number >= 1"):
        load_sweep(bad)


def test_splitter_fraction_factor(tmp_path):
    """A splitter's fraction to one outlet; the other outlet takes the rest.
    Yield on the whole feed: f (1 - exp(-k V / (f Q))); f = 1 leaves the other
    outlet no flow, which the route refuses: a failed point."""
    route = """
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions: [{equation: A => B, rate: {k: 0.01 1/s}}]
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations:
  - {name: S, type: splitter, from: f, fractions: [0.5, 0.5]}
  - {name: R1, type: pfr, from: S.1, volume: 1 mL}
product: {from: R1, species: B, basis: A}
"""
    text = "route: route.yaml\nvary:\n  S.fractions.1: {values: [0.2, 0.6, 1.0]}\n"
    res = sweep(_write(tmp_path, text, route))
    f = res.table["S.fractions.1"][:2]
    assert res.table["product.yield"][:2] == pytest.approx(f * (1 - np.exp(-0.01 * 60 / f)),
                                                           rel=1e-7)
    assert res.table["status"][:2] == ["ok", "ok"]
    assert "fractions.2: must be positive" in res.table["status"][2]
