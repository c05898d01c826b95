"""Routes and the command line: JSON schema, KPIs against hand calculations,
unit handling, and a catalogue of bad inputs (exit status 2, one line)."""

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flowchem as fc
from flowchem.cli import main

R = 8.314462618
EXAMPLE = Path(__file__).parents[1] / "examples" / "lomustine" / "route.yaml"

MECH = """\
units: {concentration: mol/L, time: min, activation-energy: kJ/mol}
species:
  - {name: A, formula: C6H13N}
  - {name: B, formula: C3H4ClNO}
  - {name: C, formula: C9H17ClN2O}
  - {name: S}
reactions:
  - equation: A + B => C
    rate: {A: 2.0e6, b: 0, Ea: 45}
    dH: -85 kJ/mol
"""

ROUTE = """\
name: unit test route
mechanism: mech.yaml
feeds:
  - {name: amine, flow: 0.5 mL/min, T: 25 degC, conc: {A: 1.0 mol/L}}
  - {name: iso,   flow: 0.5 mL/min, T: 25 degC, conc: {B: 1.1 mol/L}}
operations:
  - {name: M1, type: mixer, from: [amine, iso]}
  - {name: R1, type: pfr, from: M1, volume: 2 mL, T: 50 degC}
product: {from: R1, species: C, basis: A}
"""


def write(tmp_path, route=ROUTE, mech=MECH):
    (tmp_path / "mech.yaml").write_text(mech)
    p = tmp_path / "route.yaml"
    p.write_text(route)
    return p


def k_second_order(T):
    # A = 2e6 (L/mol)/min -> m3/mol/s
    return 2.0e6 * 1e-3 / 60.0 * math.exp(-45e3 / (R * T))


def expected_pfr_outlet(tau, T=323.15, cA0=500.0, cB0=550.0):
    k = k_second_order(T)
    d = cB0 - cA0
    return d / (cB0 / cA0 * math.exp(d * k * tau) - 1.0)


def test_route_json_schema_and_kpis(tmp_path):
    path = write(tmp_path)
    out = tmp_path / "res.json"
    assert main(["run", str(path), "--json", str(out), "--quiet"]) == 0
    d = json.loads(out.read_text())
    assert d["route"] == "unit test route"
    assert set(d["streams"]) == {"amine", "iso", "M1", "R1"}
    amine = d["streams"]["amine"]
    assert amine["flow_m3_per_s"] == pytest.approx(0.5e-6 / 60, rel=1e-12)
    assert amine["T_K"] == pytest.approx(298.15, abs=1e-12)
    assert amine["P_Pa"] == pytest.approx(101325.0)
    assert amine["conc_mol_per_m3"]["A"] == pytest.approx(1000.0)
    assert amine["molar_flow_mol_per_s"]["A"] == pytest.approx(1000.0 * 0.5e-6 / 60, rel=1e-12)
    M_A = (6 * 12.011 + 13 * 1.008 + 14.007) * 1e-3
    assert amine["mass_flow_kg_per_s"] == pytest.approx(M_A * 1000.0 * 0.5e-6 / 60, rel=1e-4)
    r1 = d["operations"]["R1"]
    tau = 2e-6 / (1e-6 / 60)
    assert r1["type"] == "pfr"
    assert r1["volume_m3"] == pytest.approx(2e-6)
    assert r1["residence_time_s"] == pytest.approx(tau, rel=1e-12)
    assert r1["T_out_K"] == pytest.approx(323.15)
    cA = expected_pfr_outlet(tau)
    assert d["streams"]["R1"]["conc_mol_per_m3"]["A"] == pytest.approx(cA, rel=1e-6)
    p = d["product"]
    assert p["species"] == "C"
    assert p["conversion"] == pytest.approx(1 - cA / 500.0, rel=1e-6)
    assert p["yield"] == pytest.approx(1 - cA / 500.0, rel=1e-6)
    assert p["selectivity"] == pytest.approx(1.0, rel=1e-9)
    M_C = (9 * 12.011 + 17 * 1.008 + 35.45 + 2 * 14.007 + 15.999) * 1e-3
    rate = (500.0 - cA) * 1e-6 / 60 * M_C * 3600
    assert p["production_rate_kg_per_h"] == pytest.approx(rate, rel=1e-4)
    assert p["space_time_yield_kg_per_m3_h"] == pytest.approx(rate / 2e-6, rel=1e-4)
    assert d["balance"]["mass_closure_rel"] < 1e-12
    assert max(d["balance"]["element_closure_rel"].values()) < 1e-12


def test_units_block_plain_numbers_match_strings(tmp_path):
    """Plain numbers in the units of the route's units block give the same result
    as explicit unit strings: mL/min, degC, mol/L, mL, min."""
    route = ROUTE.replace("name: unit test route", "name: plain\nunits: {flow: mL/min, temperature: degC, "
                          "concentration: mol/L, volume: mL}")
    route = (route.replace("0.5 mL/min", "0.5").replace("25 degC", "25").replace("50 degC", "50")
             .replace("1.0 mol/L", "1.0").replace("1.1 mol/L", "1.1").replace("2 mL", "2"))
    a = fc.load_route(write(tmp_path, route)).run().to_dict()
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    b = fc.load_route(write(b_dir)).run().to_dict()
    assert a["streams"]["R1"]["conc_mol_per_m3"]["C"] == pytest.approx(
        b["streams"]["R1"]["conc_mol_per_m3"]["C"], rel=1e-12)
    assert a["operations"]["R1"]["T_out_K"] == pytest.approx(323.15, abs=1e-12)


def test_cascade_and_cstr_route(tmp_path):
    route = ROUTE.replace("- {name: R1, type: pfr, from: M1, volume: 2 mL, T: 50 degC}",
                          "- {name: R1, type: cstr_cascade, from: M1, n: 3, volume: 6 mL, T: 50 degC}\n"
                          "  - {name: R2, type: cstr, from: R1, volume: 1 mL, T: 40 degC}")
    route = route.replace("product: {from: R1,", "product: {from: R2,")
    d = fc.load_route(write(tmp_path, route)).run().to_dict()
    k50, k40 = k_second_order(323.15), k_second_order(313.15)
    flow = 1e-6 / 60
    cA, cB = 500.0, 550.0
    for _ in range(3):          # each tank: cA0 - cA = k tau cA (cA + cB0 - cA0)
        tau = 2e-6 / flow
        a, b, c = k50 * tau, 1 + k50 * tau * (cB - cA), -cA
        new = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
        cB -= cA - new
        cA = new
    tanks = d["operations"]["R1"]["tanks_conc_mol_per_m3"]
    assert len(tanks) == 3 and d["operations"]["R1"]["n"] == 3
    assert tanks[-1]["A"] == pytest.approx(cA, rel=1e-8)
    tau = 1e-6 / flow
    a, b, c = k40 * tau, 1 + k40 * tau * (cB - cA), -cA
    cA = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    assert d["streams"]["R2"]["conc_mol_per_m3"]["A"] == pytest.approx(cA, rel=1e-8)
    assert d["streams"]["R2"]["T_K"] == pytest.approx(313.15)
    assert d["product"]["residence_time_s"] == pytest.approx(7e-6 / flow, rel=1e-12)


def test_mixer_flow_weighted_temperature(tmp_path):
    route = ROUTE.replace("{name: iso,   flow: 0.5 mL/min, T: 25 degC",
                          "{name: iso,   flow: 1.5 mL/min, T: 65 degC")
    d = fc.load_route(write(tmp_path, route)).run().to_dict()
    m1 = d["streams"]["M1"]
    assert m1["flow_m3_per_s"] == pytest.approx(2e-6 / 60, rel=1e-12)
    assert m1["T_K"] == pytest.approx(273.15 + (0.5 * 25 + 1.5 * 65) / 2.0, rel=1e-12)
    assert m1["conc_mol_per_m3"]["A"] == pytest.approx(1000.0 * 0.5 / 2.0, rel=1e-12)


def test_inline_mechanism_and_solver_block(tmp_path):
    inline = "mechanism:\n" + textwrap.indent(MECH, "  ")
    route = ROUTE.replace("mechanism: mech.yaml\n", inline) + "solver: {rtol: 1.0e-10, atol: 1.0e-12}\n"
    p = tmp_path / "route.yaml"
    p.write_text(route)
    d = fc.load_route(p).run().to_dict()
    tau = 120.0
    assert d["streams"]["R1"]["conc_mol_per_m3"]["A"] == pytest.approx(expected_pfr_outlet(tau), rel=1e-8)


@pytest.mark.parametrize("method", ["bdf", "auto"])
def test_solver_method_in_route_file(tmp_path, method):
    """solver: {rtol: 1e-10, method: bdf | auto} through the command line: the
    outlet matches the second-order closed form to 1e-8, and the JSON names the
    integrator that ran."""
    route = ROUTE + f"solver: {{rtol: 1.0e-10, method: {method}}}\n"
    path = write(tmp_path, route)
    out = tmp_path / "res.json"
    assert main(["run", str(path), "--json", str(out), "--quiet"]) == 0
    d = json.loads(out.read_text())
    assert d["streams"]["R1"]["conc_mol_per_m3"]["A"] == pytest.approx(expected_pfr_outlet(120.0), rel=1e-8)
    assert d["operations"]["R1"]["solver"]["method"] == "bdf"


def test_unknown_solver_method_is_input_error(tmp_path, capsys):
    path = write(tmp_path, ROUTE + "solver: {method: lsoda}\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "solver.method" in err and "bdf" in err and "Traceback" not in err


def test_out_dir_writes_files(tmp_path):
    path = write(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    d = json.loads((out / "result.json").read_text())
    assert d["route"] == "unit test route"
    csv_lines = (out / "streams.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 4
    assert (out / "R1.png").stat().st_size > 1000
    for name in ("block_flow.png", "route_profile.png", "route_temperature.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "unit test route" in html


def test_check_command(tmp_path, capsys):
    assert main(["check", str(write(tmp_path))]) == 0
    assert "OK" in capsys.readouterr().out


def test_stream_table_printed(tmp_path, capsys):
    assert main(["run", str(write(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "R1" in out and "conversion" in out and "mass balance closure" in out


# -- bad inputs: exit status 2, one line on stderr naming file and problem ----

BAD = [
    ("volume: 2 mL", "volume: 5 parsecs", "operations[1].volume", "expected a volume"),
    ("conc: {A: 1.0 mol/L}", "conc: {Q: 1.0 mol/L}", "feeds[0].conc.Q", "unknown species"),
    ("flow: 0.5 mL/min, T: 25 degC, conc: {A",
     "flow: -0.5 mL/min, T: 25 degC, conc: {A", "feeds[0].flow", ""),
    ("type: pfr", "type: plug", "operations[1].type", "unknown operation type"),
    ("from: M1, volume", "from: M9, volume", "operations[1].from", "unknown stream"),
    ("{name: R1, type: pfr, from: M1, volume: 2 mL, T: 50 degC}",
     "{name: R1, type: pfr, from: M1, volume: 2 mL, T: 50 degC, colour: red}", "operations[1].colour",
     "unknown key"),
    ("name: R1", "name: M1", "operations[1].name", "duplicate"),
    ("mechanism: mech.yaml", "mechanism: missing.yaml", "mechanism", "not found"),
    ("T: 50 degC}", "T: -300 degC}", "operations[1].T", "absolute zero"),
    ("species: C, basis: A", "species: Z, basis: A", "product.species", "unknown species"),
    ("{name: M1, type: mixer, from: [amine, iso]}", "{name: M1, type: mixer, from: [amine, iso, R1]}",
     "operations", "cycle"),
    ("{name: R1, type: pfr, from: M1, volume: 2 mL, T: 50 degC}", "{name: R1, type: pfr, from: M1, T: 50 degC}",
     "operations[1]", "volume"),
]


@pytest.mark.parametrize("old,new,location,problem", BAD)
def test_bad_route_inputs(tmp_path, capsys, old, new, location, problem):
    assert old in ROUTE
    path = write(tmp_path, ROUTE.replace(old, new))
    code = main(["run", str(path), "--json", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "route.yaml" in err and location in err and problem in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.json").exists()


BAD_MECH = [
    ("rate: {A: 2.0e6, b: 0, Ea: 45}", "rate: {A: -2.0e6, b: 0, Ea: 45}", "reactions[0].rate.A"),
    ("A + B => C", "A + B => C + S2", "reactions[0]"),
    ("formula: C9H17ClN2O", "formula: C9H18ClN2O", "reactions[0]"),
    ("- {name: S}", "- {name: A}", "species[3]"),
    ("Ea: 45}", "Ea: 45 parsecs}", "reactions[0].rate.Ea"),
]


@pytest.mark.parametrize("old,new,location", BAD_MECH)
def test_bad_mechanism_inputs(tmp_path, capsys, old, new, location):
    assert old in MECH
    path = write(tmp_path, mech=MECH.replace(old, new))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "mech.yaml" in err and location in err


def test_yaml_syntax_error_and_missing_file(tmp_path, capsys):
    p = tmp_path / "route.yaml"
    p.write_text("name: x\nfeeds: [\n")
    assert main(["run", str(p)]) == 2
    assert "route.yaml" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_subprocess_exit_status_and_no_traceback(tmp_path):
    path = write(tmp_path, ROUTE.replace("volume: 2 mL", "volume: 5 parsecs"))
    proc = subprocess.run([sys.executable, "-m", "flowchem", "run", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "operations[1].volume: expected a volume, got '5 parsecs'" in proc.stderr


def test_solver_failure_exit_status_1(tmp_path, capsys):
    route = ROUTE + "solver: {max_steps: 10}\n"
    route = route.replace("volume: 2 mL", "volume: 2000 L")
    assert main(["run", str(write(tmp_path, route))]) == 1
    err = capsys.readouterr().err
    assert "R1" in err and "Traceback" not in err


def test_example_route_runs():
    result = fc.load_route(EXAMPLE).run()
    d = result.to_dict()
    assert d["balance"]["mass_closure_rel"] < 1e-9
    assert 0.0 < d["product"]["yield"] < 1.0
    assert max(d["balance"]["element_closure_rel"].values()) < 1e-9
    # the lomustine route telescopes two reactors: 9 min in total
    assert d["product"]["residence_time_s"] == pytest.approx(9 * 60, rel=0.02)


def test_compare_batch_command(tmp_path, capsys):
    """First-order A -> B in a PFR: the batch reaches the same conversion in
    exactly the residence time; the command writes JSON and a chart."""
    path = tmp_path / "route.yaml"
    path.write_text("""
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions: [{equation: A => B, rate: {k: 0.01}, dH: -50 kJ/mol}]
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations: [{name: R1, type: pfr, from: f, volume: 5 mL}]
product: {from: R1, species: B, basis: A}
hazardous: [A]
""")
    out = tmp_path / "out"
    js = tmp_path / "cmp.json"
    assert main(["compare-batch", str(path), "--out", str(out), "--json", str(js)]) == 0
    assert "Batch against flow" in capsys.readouterr().out
    d = json.loads(js.read_text())
    step = d["steps"][0] if isinstance(d["steps"], list) else d["steps"]["R1"]
    assert step["kinetic_time_s"] == pytest.approx(300.0, rel=1e-6)
    assert (out / "batch_vs_flow.png").stat().st_size > 10_000
    path.write_text(path.read_text().replace("hazardous: [A]", "hazardous: [Q]"))
    assert main(["compare-batch", str(path)]) == 2
