"""Non-ideal flow and hydraulics through route files (flowchem run --json):
axial dispersion against Wehner-Wilhelm, segregated laminar flow against
its exponential-integral closed form, Taylor-Aris, Hagen-Poiseuille."""

import json
import math

import pytest
from scipy.special import expn

from flowchem.cli import main

ROUTE = """
name: physics
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions: [{equation: A => B, rate: {k: 0.01}}]
properties: {viscosity: 1.0 mPa*s, diffusivity: 1.0e-9 m^2/s}
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations:
  - {name: R1, type: pfr, from: f, OPTIONS}
"""


def run(tmp_path, options):
    p = tmp_path / "route.yaml"
    p.write_text(ROUTE.replace("OPTIONS", options))
    out = tmp_path / "out.json"
    assert main(["run", str(p), "--json", str(out), "--quiet"]) == 0
    return json.loads(out.read_text())


def wehner_wilhelm(Da, Pe):
    a = math.sqrt(1 + 4 * Da / Pe)
    return 4 * a * math.exp(Pe / 2) / ((1 + a) ** 2 * math.exp(a * Pe / 2) - (1 - a) ** 2 * math.exp(-a * Pe / 2))


@pytest.mark.parametrize("Pe", [1.0, 10.0, 100.0])
def test_dispersion_route_wehner_wilhelm(tmp_path, Pe):
    d = run(tmp_path, f"volume: 2 mL, flow_model: dispersion, Pe: {Pe}")
    Da = 0.01 * 120.0
    assert d["streams"]["R1"]["conc_mol_per_m3"]["A"] == pytest.approx(1000 * wehner_wilhelm(Da, Pe), rel=1e-4)
    assert d["operations"]["R1"]["flow_model"] == "dispersion"
    assert d["balance"]["mass_closure_rel"] < 1e-12


def test_dispersion_route_taylor_aris(tmp_path):
    d = run(tmp_path, "length: 10 m, diameter: 0.5 mm, flow_model: dispersion")
    op = d["operations"]["R1"]
    Q = 1e-6 / 60
    area = math.pi * 0.25e-3 ** 2
    u = Q / area
    D = 1e-9 + u ** 2 * 0.5e-3 ** 2 / (192 * 1e-9)       # Taylor-Aris
    assert op["D_axial_m2_per_s"] == pytest.approx(D, rel=1e-12)
    assert op["Pe"] == pytest.approx(u * 10.0 / D, rel=1e-12)
    tau = 10.0 * area / Q
    assert d["streams"]["R1"]["conc_mol_per_m3"]["A"] == pytest.approx(
        1000 * wehner_wilhelm(0.01 * tau, op["Pe"]), rel=1e-4)


def test_laminar_route_closed_form(tmp_path):
    d = run(tmp_path, "volume: 2 mL, flow_model: laminar")
    Da = 0.01 * 120.0
    # c/c0 = int_{tau/2}^inf exp(-k t) tau^2/(2 t^3) dt = 2 E3(Da/2)
    assert d["streams"]["R1"]["conc_mol_per_m3"]["A"] == pytest.approx(2000 * expn(3, Da / 2), rel=1e-6)


def test_pressure_drop_hagen_poiseuille(tmp_path):
    d = run(tmp_path, "length: 5 m, diameter: 0.8 mm")
    Q = 1e-6 / 60
    dp = 128 * 1e-3 * 5.0 * Q / (math.pi * 0.8e-3 ** 4)
    assert d["operations"]["R1"]["pressure_drop_Pa"] == pytest.approx(dp, rel=1e-10)
    assert d["streams"]["R1"]["P_Pa"] == pytest.approx(101325.0 - dp, rel=1e-12)


def test_bad_flow_model_options(tmp_path, capsys):
    p = tmp_path / "route.yaml"
    for options, location, message in [
            ("volume: 2 mL, flow_model: turbulent", "flow_model", "unknown flow model 'turbulent'"),
            ("volume: 2 mL, Pe: 5", "Pe", "'Pe' needs flow_model: dispersion"),
            ("volume: 2 mL, flow_model: laminar, Pe: 5", "Pe", "'Pe' has no meaning for flow_model: laminar"),
            ("volume: 2 mL, flow_model: dispersion, Pe: 5, energy: adiabatic", "energy",
             "flow_model: dispersion is isothermal for now")]:
        p.write_text(ROUTE.replace("OPTIONS", options))
        assert main(["check", str(p)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith(f"flowchem: {p}: operations[0].{location}: {message}"), err


def test_rtd_fit_command(tmp_path, capsys):
    """The tracer file holds an exact 4-tank Erlang curve with tau = 3 min,
    written by the test from the closed form (tests/rtd_reference.py): the
    fit recovers both."""
    from pathlib import Path

    from rtd_reference import erlang_tracer_csv

    csv = erlang_tracer_csv(tmp_path / "tracer_tanks_min.csv", n=4, tau_min=3.0)
    out = tmp_path / "fit.json"
    png = tmp_path / "fit.png"
    assert main(["rtd-fit", str(csv), "--json", str(out), "--plot", str(png)]) == 0
    fit = json.loads(out.read_text())["tanks_in_series"]["params"]
    assert fit["n"] == pytest.approx(4.0, rel=1e-6)
    assert fit["tau"] == pytest.approx(180.0, rel=1e-6)
    assert png.stat().st_size > 10_000
    capsys.readouterr()
    bad = Path(__file__).parent / "data" / "tracer_bad_value.csv"
    assert main(["rtd-fit", str(bad)]) == 2
    assert capsys.readouterr().err == (f"flowchem: {bad}: line 4: column 2 (concentration): "
                                       "expected a number, got 'abc'\n")
