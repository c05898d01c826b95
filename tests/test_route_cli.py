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
    # and both are the closed form, not merely equal to each other
    assert a["streams"]["R1"]["conc_mol_per_m3"]["C"] == pytest.approx(
        500.0 - expected_pfr_outlet(120.0), rel=1e-6)
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
    assert_one_line_error(err, path, "solver.method", "unknown method 'lsoda'")
    # the choices are named
    for method in ("rodas", "bdf", "auto"):
        assert f" {method}" in err.split("'lsoda'", 1)[1]


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
    path = write(tmp_path)
    assert main(["check", str(path)]) == 0
    # counted by hand from ROUTE and MECH
    assert capsys.readouterr().out == f"{path}: OK: 2 feeds, 2 operations, 4 species, 1 reactions\n"


def test_stream_table_printed(tmp_path, capsys):
    assert main(["run", str(write(tmp_path))]) == 0
    out = capsys.readouterr().out
    cA = expected_pfr_outlet(120.0) / 1000.0            # mol/L
    X = 1 - cA / 0.5
    # the stream table (columns amine, iso, M1, R1) to the printed 4 decimals, then the KPIs
    rows = {line[:line.index("]") + 1]: [float(v) for v in line[line.index("]") + 1:].split()]
            for line in out.splitlines() if line[:1] in "ABC" and "[mol/L]" in line}
    assert rows["A [mol/L]"] == pytest.approx([1.0, 0.0, 0.5, cA], abs=5e-5)
    assert rows["B [mol/L]"] == pytest.approx([0.0, 1.1, 0.55, 0.55 - (0.5 - cA)], abs=5e-5)
    assert rows["C [mol/L]"] == pytest.approx([0.0, 0.0, 0.0, 0.5 - cA], abs=5e-5)
    assert f"conversion of A: {100 * X:.2f} %" in out
    assert f"yield:                {100 * X:.2f} %" in out
    assert "total residence time: 2.000 min in 2 mL of reactor" in out
    closure = float(out.split("mass balance closure: ", 1)[1].split()[0])
    assert 0.0 <= closure < 1e-12


# -- bad inputs: exit status 2, one line on stderr naming file and problem ----

BAD = [
    # (text in ROUTE, replacement, location, the problem as it starts after "location: ")
    ("volume: 2 mL", "volume: 5 parsecs", "operations[1].volume", "expected a volume, got '5 parsecs'"),
    ("conc: {A: 1.0 mol/L}", "conc: {Q: 1.0 mol/L}", "feeds[0].conc.Q", "unknown species 'Q'"),
    ("flow: 0.5 mL/min, T: 25 degC, conc: {A",
     "flow: -0.5 mL/min, T: 25 degC, conc: {A", "feeds[0].flow", "must be positive, got '-0.5 mL/min'"),
    ("type: pfr", "type: plug", "operations[1].type", "unknown operation type 'plug'"),
    ("from: M1, volume", "from: M9, volume", "operations[1].from", "unknown stream 'M9'"),
    ("{name: R1, type: pfr, from: M1, volume: 2 mL, T: 50 degC}",
     "{name: R1, type: pfr, from: M1, volume: 2 mL, T: 50 degC, colour: red}", "operations[1].colour",
     "unknown key 'colour'"),
    ("name: R1", "name: M1", "operations[1].name", "duplicate name 'M1'"),
    ("mechanism: mech.yaml", "mechanism: missing.yaml", "mechanism", "mechanism file not found: missing.yaml"),
    ("T: 50 degC}", "T: -300 degC}", "operations[1].T", "temperature must be above absolute zero, got '-300 degC'"),
    ("species: C, basis: A", "species: Z, basis: A", "product.species", "unknown species 'Z'"),
    ("{name: M1, type: mixer, from: [amine, iso]}", "{name: M1, type: mixer, from: [amine, iso, R1]}",
     "operations", "the operations form a cycle: M1 -> R1 -> M1"),
    ("{name: R1, type: pfr, from: M1, volume: 2 mL, T: 50 degC}", "{name: R1, type: pfr, from: M1, T: 50 degC}",
     "operations[1]", "a PFR needs 'volume', or 'length' and 'diameter'"),
]


def assert_one_line_error(err, path, location, problem):
    """stderr is exactly one line 'flowchem: <file>: <location>: <problem>...':
    the location is matched whole (not as a prefix of a longer one) and the
    problem from its first word."""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"flowchem: {path}: {location}: {problem}"), err
    assert "Traceback" not in err


@pytest.mark.parametrize("old,new,location,problem", BAD)
def test_bad_route_inputs(tmp_path, capsys, old, new, location, problem):
    assert old in ROUTE
    path = write(tmp_path, ROUTE.replace(old, new))
    code = main(["run", str(path), "--json", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert_one_line_error(err, path, location, problem)
    assert not (tmp_path / "out.json").exists()


BAD_MECH = [
    # (text in MECH, replacement, location, start of the problem, end of the line)
    # A negative pre-exponential factor is refused whatever the wording used
    # for zero (issue 8 lets k = 0 and A = 0 through): "must ...", and the value echoed.
    ("rate: {A: 2.0e6, b: 0, Ea: 45}", "rate: {A: -2.0e6, b: 0, Ea: 45}", "reactions[0].rate.A", "must ",
     "got -2000000.0"),
    ("A + B => C", "A + B => C + S2", "reactions[0].equation", "unknown species 'S2' in 'A + B => C + S2'",
     "(species: A, B, C, S)"),
    ("formula: C9H17ClN2O", "formula: C9H18ClN2O", "reactions[0]",
     "elements do not balance in 'A + B => C': H: 17 -> 18", "H: 17 -> 18"),
    ("- {name: S}", "- {name: A}", "species[3].name", "duplicate species name 'A' (also species[0])",
     "(also species[0])"),
    ("Ea: 45}", "Ea: 45 parsecs}", "reactions[0].rate.Ea",
     "expected an activation energy (energy per mole), got '45 parsecs'", "got '45 parsecs'"),
]


@pytest.mark.parametrize("old,new,location,problem,ending", BAD_MECH)
def test_bad_mechanism_inputs(tmp_path, capsys, old, new, location, problem, ending):
    assert old in MECH
    write(tmp_path, mech=MECH.replace(old, new))
    assert main(["check", str(tmp_path / "route.yaml")]) == 2
    err = capsys.readouterr().err
    assert_one_line_error(err, tmp_path / "mech.yaml", location, problem)
    assert err.endswith(ending + "\n"), err


def test_yaml_syntax_error_and_missing_file(tmp_path, capsys):
    p = tmp_path / "route.yaml"
    p.write_text("name: x\nfeeds: [\n")
    assert main(["run", str(p)]) == 2
    # the flow sequence opened on line 2 is still open at the end of the file (line 3)
    assert_one_line_error(capsys.readouterr().err, p, "line 3", "invalid YAML")
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err == f"flowchem: {tmp_path / 'nope.yaml'}: file not found\n"


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
    path = write(tmp_path, route)
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    # names the file, the operation and the reason
    assert err.startswith(f"flowchem: {path}: solver failed: R1: ")
    assert "maximum number of steps" in err


# SI factors of the units the example route file writes, by hand (not flowchem's unit code)
HAND_UNITS = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "mL/min": 1e-6 / 60, "min": 60.0, "s": 1.0,
              "mol/L": 1e3}


def hand_si(text):
    number, unit = str(text).split(None, 1)
    return float(number) * HAND_UNITS[unit.strip()]


def test_example_route_runs():
    """The lomustine example: the residence time of each coil is pi d^2 L / (4 Q)
    from the route file's own numbers (the file read here with ruamel.yaml, the
    units converted by hand), Q the sum of the feeds upstream of the coil; the
    product yield is the CCNU leaving in the organic phase over the CHA fed
    (one CHA per CCNU along the route)."""
    from ruamel.yaml import YAML

    spec = YAML(typ="safe").load(EXAMPLE.read_text())
    feeds = {f["name"]: f for f in spec["feeds"]}
    ops = {o["name"]: o for o in spec["operations"]}
    # the flow through each operation: the sum of the feeds upstream of it
    # (the mixers add volumetric flows)
    def upstream_flow(name):
        if name in feeds:
            return hand_si(feeds[name]["flow"])
        sources = ops[name]["from"]
        return sum(upstream_flow(s) for s in ([sources] if isinstance(sources, str) else sources))

    coil_tau, coil_volume = {}, {}
    for name in ("R1", "R2"):
        L, d = hand_si(ops[name]["length"]), hand_si(ops[name]["diameter"])
        coil_volume[name] = math.pi * d * d / 4 * L
        coil_tau[name] = coil_volume[name] / upstream_flow(name)
    assert coil_tau["R1"] == pytest.approx(60.3185789, rel=1e-9)      # 0.1257 mL at 0.125 mL/min
    assert coil_tau["R2"] == pytest.approx(471.2388980, rel=1e-9)     # 1.963 mL at 0.25 mL/min
    hold = hand_si(ops["Q1"]["time"])

    result = fc.load_route(EXAMPLE).run()
    d = result.to_dict()
    p = d["product"]
    assert p["residence_time_s"] == pytest.approx(coil_tau["R1"] + coil_tau["R2"], rel=1e-12)
    assert p["residence_time_by_operation_s"] == pytest.approx(dict(coil_tau, Q1=hold), rel=1e-12)
    assert p["total_residence_time_s"] == pytest.approx(sum(coil_tau.values()) + hold, rel=1e-12)
    assert p["reactor_volume_m3"] == pytest.approx(sum(coil_volume.values()), rel=1e-12)
    for name in ("R1", "R2"):
        assert d["operations"][name]["volume_m3"] == pytest.approx(coil_volume[name], rel=1e-12)
        assert d["operations"][name]["residence_time_s"] == pytest.approx(coil_tau[name], rel=1e-12)
    # yield from the stream table: F_CCNU(organic outlet) / F_CHA(amine feed)
    cha_fed = hand_si(feeds["amine"]["conc"]["CHA"]) * hand_si(feeds["amine"]["flow"])
    ccnu_out = d["streams"]["S1.organic"]["molar_flow_mol_per_s"]["CCNU"]
    assert p["yield"] == pytest.approx(ccnu_out / cha_fed, rel=1e-12)
    assert 0.3 < p["yield"] < 1.0          # the illustrative kinetics make most of it
    assert d["balance"]["mass_closure_rel"] < 1e-9
    assert max(d["balance"]["element_closure_rel"].values()) < 1e-9


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
    # "steps" is a list of reacting steps in route order (BatchComparison.to_dict)
    assert isinstance(d["steps"], list) and [s["name"] for s in d["steps"]] == ["R1"]
    step = d["steps"][0]
    k, tau, c0 = 0.01, 300.0, 1000.0                    # 1/s; 5 mL at 1 mL/min; mol/m^3
    X = 1 - math.exp(-k * tau)
    # the documented defaults: 100 L vessel filled to 80 %, U 300 W/m2/K on 1 m2,
    # coolant 20 K below, charge and discharge 30 min each, no cleaning
    V_w, cooling = 0.1 * 0.8, 300.0 * 1.0 * 20.0
    heat = 50e3 * c0 * X * V_w                          # J per batch
    assert (step["type"], step["key_species"], step["reachable"]) == ("pfr", "A", True)
    assert step["T_K"] == pytest.approx(298.15, abs=1e-12)
    assert step["flow_conversion"] == pytest.approx(X, rel=1e-7)
    assert step["batch_conversion"] == pytest.approx(X, rel=1e-7)
    assert step["flow_residence_time_s"] == pytest.approx(tau, rel=1e-12)
    assert step["kinetic_time_s"] == pytest.approx(tau, rel=1e-6)    # isothermal PFR = batch
    assert step["batch_volume_m3"] == pytest.approx(V_w, rel=1e-12)
    assert step["heat_released_J"] == pytest.approx(heat, rel=1e-7)
    assert step["dosing_time_s"] == pytest.approx(heat / cooling, rel=1e-7)   # 633 s > 300 s
    assert step["step_time_s"] == pytest.approx(heat / cooling, rel=1e-7)
    assert step["limited_by"] == "cooling"
    assert step["peak_heat_release_all_in_W"] == pytest.approx(k * c0 * 50e3 * V_w, rel=1e-12)
    t = d["totals"]
    cycle = 1800.0 + heat / cooling + 1800.0
    M_B = (2 * 12.011 + 4 * 1.008 + 15.999) * 1e-3      # C2H4O, kg/mol
    assert t["cycle_time_s"] == pytest.approx(cycle, rel=1e-7)
    assert t["product_per_batch_mol"] == pytest.approx(c0 * X * V_w, rel=1e-7)
    assert t["batch_throughput_kg_per_h"] == pytest.approx(c0 * X * V_w * M_B / cycle * 3600, rel=1e-6)
    assert t["flow_throughput_kg_per_h"] == pytest.approx(c0 * X * 1e-6 / 60 * M_B * 3600, rel=1e-6)
    # hazardous: [A] from the route file: all A charged at once against the tube's holdup
    (h,) = d["hazardous"]
    assert h["species"] == "A"
    assert h["batch_max_mol"] == pytest.approx(c0 * V_w, rel=1e-12)
    assert h["flow_holdup_mol"] == pytest.approx(1e-6 / 60 * c0 * X / k, rel=1e-6)
    assert (out / "batch_vs_flow.png").stat().st_size > 10_000
    capsys.readouterr()
    path.write_text(path.read_text().replace("hazardous: [A]", "hazardous: [Q]"))
    assert main(["compare-batch", str(path)]) == 2
    assert_one_line_error(capsys.readouterr().err, path, "hazardous[0]", "unknown species 'Q'")
