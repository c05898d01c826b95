"""Design-space sweeps against closed forms, failures kept per point."""

import csv
import math

import pytest

from flowchem.cli import main
from flowchem.process.sweep import Parameter, sweep

ROUTE = """
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions: [{equation: A => B, rate: {k: 0.01}}]
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations: [{name: R1, type: pfr, from: f, volume: 1 mL}]
product: {from: R1, species: B, basis: A}
"""


def test_one_parameter_sweep_matches_closed_form(tmp_path):
    p = tmp_path / "route.yaml"
    p.write_text(ROUTE)
    res = sweep(p, [Parameter.parse("R1.volume=1..5 mL:5")])
    for row in res.rows:
        tau = row["R1.volume"] * 60.0          # mL at 1 mL/min -> s
        assert row["yield"] == pytest.approx(1 - math.exp(-0.01 * tau), rel=1e-7)
    assert len(res.rows) == 5 and not res.failures


def test_two_parameter_sweep_and_failures(tmp_path, capsys):
    p = tmp_path / "route.yaml"
    p.write_text(ROUTE)
    out = tmp_path / "out"
    # a negative feed flow is invalid at one grid point: recorded, not fatal
    assert main(["sweep", str(p), "--vary", "R1.volume=1..2 mL:2", "--vary", "f.flow=-1..1 mL/min:3",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert len(rows) == 6
    bad = [r for r in rows if r["status"] != "ok"]
    assert len(bad) == 4 and all("must be positive" in r["status"] for r in bad)   # flows -1 and 0
    good = [r for r in rows if r["status"] == "ok"]
    assert [(r["R1.volume"], r["f.flow"]) for r in good] == [("1.0", "1.0"), ("2.0", "1.0")]
    for r in good:
        tau = float(r["R1.volume"]) / float(r["f.flow"]) * 60.0
        assert float(r["yield"]) == pytest.approx(1 - math.exp(-0.01 * tau), rel=1e-7)
        assert float(r["residence_time_s"]) == pytest.approx(tau, rel=1e-12)
    assert (out / "sweep_yield.png").stat().st_size > 5_000
    capsys.readouterr()
    assert main(["sweep", str(p), "--vary", "R9.volume=1..2 mL:2"]) == 2
    assert capsys.readouterr().err == f"flowchem: {p}: --vary R9.volume: no feed or operation named 'R9'\n"
    assert main(["sweep", str(p), "--vary", "volume=1..2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("flowchem: command line: --vary: expected ENTRY.KEY=START..STOP")
    assert err.endswith("got 'volume=1..2'\n")


def test_not_computed_is_empty_not_zero(tmp_path):
    """A tube given by its volume alone has no diameter, so its pressure drop
    is not computed: the sweep table leaves it empty (never 0 Pa, issue 8);
    with a length and a diameter it is Hagen-Poiseuille, 128 mu L Q/(pi d^4)
    at the default viscosity 0.6 mPa s."""
    p = tmp_path / "route.yaml"
    p.write_text(ROUTE)
    out = tmp_path / "out"
    assert main(["sweep", str(p), "--vary", "R1.volume=1..2 mL:2", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert [r["pressure_drop_Pa"] for r in rows] == ["", ""]
    p.write_text(ROUTE.replace("volume: 1 mL}", "length: 1 m, diameter: 1 mm}"))
    res = sweep(p, [Parameter.parse("f.flow=1..2 mL/min:2")])
    for row in res.rows:
        Q = row["f.flow"] * 1e-6 / 60
        assert row["pressure_drop_Pa"] == pytest.approx(128 * 0.6e-3 * 1.0 * Q / (math.pi * 1e-3 ** 4),
                                                        rel=1e-10)


def test_t_max_not_computed_is_empty_not_zero(tmp_path):
    """A route of a heat exchanger alone computes neither a maximum reactor
    temperature nor a pressure drop: both columns are empty in the CSV and
    None in Python, never 0 K or 0 Pa; the exchanger's outlet temperature is
    the swept value."""
    p = tmp_path / "route.yaml"
    p.write_text("""
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions: [{equation: A => B, rate: {k: 0.01}}]
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations: [{name: H1, type: heat_exchanger, from: f, T: 40 degC}]
""")
    res = sweep(p, [Parameter.parse("H1.T=30..50 degC:3")])
    assert [r["status"] for r in res.rows] == ["ok"] * 3
    assert [r["T_max_K"] for r in res.rows] == [None] * 3
    assert [r["pressure_drop_Pa"] for r in res.rows] == [None] * 3
    out = tmp_path / "out"
    assert main(["sweep", str(p), "--vary", "H1.T=30..50 degC:3", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert [r["T_max_K"] for r in rows] == ["", "", ""]
    assert [r["pressure_drop_Pa"] for r in rows] == ["", "", ""]
    assert [float(r["H1.T"]) for r in rows] == [30.0, 40.0, 50.0]


def test_t_max_and_pressure_drop_over_the_reactors_that_computed_them(tmp_path):
    """With a heat exchanger (no T_max) and an isothermal tube (T_max = its
    T) the column is the tube's temperature, not the larger of it and 0."""
    p = tmp_path / "route.yaml"
    p.write_text(ROUTE.replace("operations: [{name: R1, type: pfr, from: f, volume: 1 mL}]",
                               "operations: [{name: H1, type: heat_exchanger, from: f, T: 40 degC},\n"
                               "             {name: R1, type: pfr, from: H1, volume: 1 mL}]"))
    res = sweep(p, [Parameter.parse("H1.T=30..50 degC:3")])
    assert [r["T_max_K"] for r in res.rows] == pytest.approx([303.15, 313.15, 323.15], rel=1e-12)
    assert [r["pressure_drop_Pa"] for r in res.rows] == [None] * 3
