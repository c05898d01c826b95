"""Extreme but valid input through the public API and the command line.

An optimiser or a Monte Carlo draw will try rate constants from 1e-300 to
1e300 (and 0), activation energies up to 2 MJ/mol, volumes from 1e-12 to
1e3 m^3 and cascades of 50 tanks. Whatever it tries, flowchem must answer
with a result whose concentrations are finite and non-negative and whose
mass and element closure is reported (and small), or refuse with an
InputError or a SolverError; the command line must exit with 0, 1 or 2 and,
on failure, say why in exactly one line, never "internal error".

The mechanisms are drawn from element-balanced templates (isomers C2H4O and
their dimers C4H8O2), so the independent reference for every result is
conservation itself: the mass and every element in the outlet equal what
was fed (computed here from the outlet concentrations and the formulas,
not from flowchem's own balance entry, which must agree).

Hypothesis runs derandomized (a fixed sequence of examples, the same in CI)
without deadlines and without an example database.
"""

import contextlib
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowchem as fc
from flowchem.cli import main

SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])

# isomers A, B (C2H4O) and their dimers C, D (C4H8O2): every template balances
SPECIES = [{"name": "A", "formula": "C2H4O"}, {"name": "B", "formula": "C2H4O"},
           {"name": "C", "formula": "C4H8O2"}, {"name": "D", "formula": "C4H8O2"}]
TEMPLATES = ["A => B", "A <=> B", "2 A => C", "2 B => D", "A + B => C", "C => D", "C <=> D",
             "2 A <=> C", "B => A"]
MOLAR_MASS = {"A": 44.05256e-3, "B": 44.05256e-3, "C": 88.10512e-3, "D": 88.10512e-3}
ATOMS = {"A": (2, 4, 1), "B": (2, 4, 1), "C": (4, 8, 2), "D": (4, 8, 2)}   # C, H, O

# magnitudes from underflow to overflow, and exactly zero (a reaction switched off)
magnitudes = st.one_of(st.sampled_from([0.0, 1e-300, 1e300, 1.0]),
                       st.floats(-300.0, 300.0).map(lambda e: 10.0 ** e))
activation_energies = st.one_of(st.sampled_from([0.0, 2e6]), st.floats(0.0, 2e6))


@st.composite
def rate_laws(draw):
    form = draw(st.sampled_from(["k", "A", "k_ref"]))
    value = draw(magnitudes)
    if form == "k":
        return {"k": value}
    if form == "A":
        return {"A": value, "b": draw(st.sampled_from([0.0, 1.5, -2.0])),
                "Ea": draw(activation_energies)}
    return {"k_ref": value, "T_ref": draw(st.floats(250.0, 450.0)), "Ea": draw(activation_energies)}


@st.composite
def mechanisms(draw):
    reactions = []
    for equation in draw(st.lists(st.sampled_from(TEMPLATES), min_size=1, max_size=3, unique=True)):
        r = {"equation": equation, "rate": draw(rate_laws())}
        if "<=>" in equation:
            if draw(st.booleans()):
                r["reverse"] = draw(rate_laws())
            else:
                r["equilibrium"] = {"K_ref": draw(st.floats(-300.0, 300.0).map(lambda e: 10.0 ** e)),
                                    "T_ref": 300.0, "dH": draw(st.sampled_from([0.0, -2e6, 1e5]))}
        if draw(st.booleans()):
            r["dH"] = draw(st.sampled_from([-1e5, -2e6, 5e4, -1e9]))
        reactions.append(r)
    return {"species": SPECIES, "reactions": reactions}


@st.composite
def reactors(draw):
    kind = draw(st.sampled_from(["pfr", "cstr", "cstr_cascade"]))
    op = {"name": "R1", "type": kind, "from": "F",
          "volume": 10.0 ** draw(st.floats(-12.0, 3.0))}
    if kind == "cstr_cascade":
        op["n"] = draw(st.sampled_from([1, 2, 7, 50]))
    energy = draw(st.sampled_from(["isothermal", "adiabatic", "cooled"]))
    if energy == "isothermal":
        op["T"] = draw(st.floats(250.0, 500.0))
    elif energy == "adiabatic":
        op["energy"] = "adiabatic"
    else:
        op["energy"] = {"U": draw(st.sampled_from([0.0, 10.0, 1000.0])),
                        "coolant_T": draw(st.floats(250.0, 450.0))}
        if kind == "pfr":
            del op["volume"]
            op["length"] = 10.0 ** draw(st.floats(-3.0, 3.0))
            op["diameter"] = 10.0 ** draw(st.floats(-4.0, -1.0))
        else:
            op["energy"]["area"] = 10.0 ** draw(st.floats(-6.0, 2.0))
    return op


@st.composite
def routes(draw):
    conc = {"A": draw(st.one_of(st.sampled_from([1e-300, 1e4]), st.floats(-3.0, 4.0).map(
        lambda e: 10.0 ** e)))}
    if draw(st.booleans()):
        conc["C"] = draw(st.floats(0.0, 1e3))
    feed = {"name": "F", "flow": 10.0 ** draw(st.floats(-12.0, -2.0)),
            "T": draw(st.floats(250.0, 450.0)), "conc": conc}
    return {"mechanism": draw(mechanisms()), "feeds": [feed], "operations": [draw(reactors())],
            "product": {"from": "R1", "species": "B", "basis": "A"}}


#: Concentrations far below the integrators' absolute tolerance (by default
#: 1e-12 of the largest feed concentration, at least 1e-22 mol/m^3) are not
#: resolved: conservation is checked to 1e-6 relative plus this (mol/m^3).
ABSOLUTE_FLOOR = 1e-15


def conservation(feed_conc, outlet_conc):
    """Mass (kg/m^3) and C, H, O (mol/m^3) in the feed and their change in
    the outlet, from the formulas of the templates (same flow in and out).
    Returns ``(fed, change)``, arrays of four."""
    c_in = np.array([feed_conc.get(s, 0.0) for s in "ABCD"])
    c_out = np.array([outlet_conc[s] for s in "ABCD"])
    weights = np.vstack([[MOLAR_MASS[s] for s in "ABCD"], np.array([ATOMS[s] for s in "ABCD"]).T])
    return weights @ c_in, np.abs(weights @ (c_out - c_in))


def assert_conserved(feed_conc, outlet_conc):
    fed, change = conservation(feed_conc, outlet_conc)
    scale = np.array([MOLAR_MASS["A"], 2.0, 4.0, 1.0])      # per mol/m^3 of A
    assert np.all(change <= 1e-6 * fed + ABSOLUTE_FLOOR * scale), (fed, change)
    return change / fed


def check_route_result(route_dict, result):
    d = result.to_dict()
    json.dumps(d, allow_nan=False)      # finite numbers or null only
    for name, stream in d["streams"].items():
        c = np.array(list(stream["conc_mol_per_m3"].values()))
        assert np.all(np.isfinite(c)) and np.all(c >= 0.0), (name, c)
        assert math.isfinite(stream["T_K"]) and stream["T_K"] > 0.0
    # conservation, independently: relative 1e-6 of what was fed (the
    # integrators' tolerance), and flowchem reports the same closures
    mine = assert_conserved(route_dict["feeds"][0]["conc"], d["streams"]["R1"]["conc_mol_per_m3"])
    balance = d["balance"]
    reported = [balance["mass_closure_rel"]] + [balance["element_closure_rel"][e] for e in "CHO"]
    np.testing.assert_allclose(reported, mine, rtol=1e-6, atol=1e-12)


@settings(max_examples=40, **SETTINGS)
@given(routes())
def test_extreme_routes_give_a_result_or_a_flowchem_error(route_dict):
    try:
        route = fc.Route.from_dict(route_dict)
        result = route.run()
    except (fc.InputError, fc.SolverError) as exc:
        assert "\n" not in str(exc)
        return
    check_route_result(route_dict, result)


@settings(max_examples=12, **SETTINGS)
@given(mechanisms(), st.sampled_from(["isothermal", "adiabatic", "cooled"]),
       st.floats(250.0, 500.0), st.floats(-9.0, 9.0), st.floats(-3.0, 4.0))
def test_extreme_batch_gives_a_result_or_a_flowchem_error(mech_dict, energy, T, log_time, log_c):
    energy_spec = energy if energy != "cooled" else {"U": 300.0, "coolant_T": 300.0, "area": 0.5}
    c0 = 10.0 ** log_c
    try:
        mech = fc.Mechanism.from_dict(mech_dict)
        batch = fc.BatchReactor(mech, T, energy=energy_spec, volume=1e-3)
        res = batch.run({"A": c0}, f"{10.0 ** log_time} s")
    except (fc.InputError, fc.SolverError) as exc:
        assert "\n" not in str(exc)
        return
    assert np.all(np.isfinite(res.conc)) and np.all(res.conc >= 0.0)
    assert np.all(np.isfinite(res.T_profile)) and np.all(res.T_profile > 0.0)
    # conservation at the end of the batch, independently of flowchem
    assert_conserved({"A": c0}, res.final)


def run_cli(argv):
    """Exit status and stderr of ``flowchem ARGV`` (in this process)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    return status, err.getvalue()


def assert_cli_contract(status, err):
    assert status in (0, 1, 2), (status, err)
    assert "internal error" not in err, err
    if status != 0:
        assert err.count("\n") == 1 and err.endswith("\n") and err.startswith("flowchem: "), err


def write_route(directory, route_dict, name="route.yaml"):
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = None
    path = Path(directory) / name
    with open(path, "w") as fh:
        yaml.dump(route_dict, fh)
    return path


@settings(max_examples=8, **SETTINGS)
@given(routes())
def test_extreme_routes_through_the_command_line(route_dict):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_route(tmp, route_dict)
        out = Path(tmp) / "result.json"
        status, err = run_cli(["run", str(path), "--json", str(out)])
        assert_cli_contract(status, err)
        if status == 0:
            d = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"JSON has {c}"))
            assert_conserved(route_dict["feeds"][0]["conc"], d["streams"]["R1"]["conc_mol_per_m3"])


# Cases from the issue and from the property runs, kept as examples.
ISSUE_CASES = [
    # 2 S0 => S1 with k = 1e300 (issue 8): internal error (ZeroDivisionError) inside
    # Rodas5P and the steady-state Newton before the kernels returned status codes
    ("2 A => C", {"k": 1e300}, None, "pfr", {"volume": 1e-6, "T": 300.0}),
    ("2 A => C", {"k": 1e300}, None, "cstr_cascade", {"volume": 1e-6, "n": 50, "T": 300.0}),
    ("2 A => C", {"k": 1e300}, -1e5, "pfr", {"volume": 1e-6, "T": 300.0}),
    # k_ref and Ea whose rate constant overflows at the operating temperature
    ("A => B", {"k_ref": 1e300, "T_ref": 250.0, "Ea": 2e6}, None, "pfr", {"volume": 1e-6, "T": 450.0}),
    # every rate constant zero: nothing happens
    ("A => B", {"A": 0.0, "Ea": 2e6}, -1e5, "cstr", {"volume": 1e3, "energy": "adiabatic"}),
    # a 1e-12 m^3 tube (1 mm long) at a high flow: a huge pressure drop
    ("A => B", {"k": 1.0}, None, "pfr", {"length": 1e-3, "diameter": 3.57e-5, "T": 300.0}),
]


@pytest.mark.parametrize("equation, rate, dH, kind, extra", ISSUE_CASES)
def test_issue_cases_through_the_command_line(tmp_path, equation, rate, dH, kind, extra):
    reaction = {"equation": equation, "rate": rate} if dH is None else \
        {"equation": equation, "rate": rate, "dH": dH}
    route = {"mechanism": {"species": SPECIES, "reactions": [reaction]},
             "feeds": [{"name": "F", "flow": 1e-3, "T": 300.0, "conc": {"A": 1000.0}}],
             "operations": [{"name": "R1", "type": kind, "from": "F", **extra}]}
    path = write_route(tmp_path, route)
    status, err = run_cli(["run", str(path), "--json", str(tmp_path / "r.json")])
    assert_cli_contract(status, err)
    if rate.get("k_ref") == 1e300:
        # refused up front, naming the file, the operation and the reaction
        assert status == 2
        assert err.startswith(f"flowchem: {path}: operations[0]: the forward rate constant of "
                              "reaction r1 (A => B) is not a finite number at T = 450 K")
    if rate.get("A") == 0.0:
        # a switched-off reaction: the outlet is the feed, no heat, no runaway
        assert status == 0
        d = json.loads((tmp_path / "r.json").read_text())
        assert d["streams"]["R1"]["conc_mol_per_m3"]["A"] == 1000.0
        assert d["operations"]["R1"]["T_out_K"] == 300.0
        assert d["operations"]["R1"]["runaway_screen"]["status"] == "ok"
        assert d["operations"]["R1"]["adiabatic_temperature_rise_K"] == 0.0
    if "length" in extra:
        # Hagen-Poiseuille, 128 mu L Q / (pi d^4) at the default 0.6 mPa s, is far
        # above the inlet's 1 atm: reported, and said in a warning
        assert status == 0
        d = json.loads((tmp_path / "r.json").read_text())
        dp = d["operations"]["R1"]["pressure_drop_Pa"]
        assert dp >= 128 * 0.6e-3 * 1e-3 * 1e-3 / (math.pi * 3.57e-5 ** 4)
        assert any("exceeds the inlet pressure" in w for w in d["operations"]["R1"]["warnings"])


# --------------------------------------------------------------------------- command line


ROUTE = """
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions: [{equation: A => B, rate: {k: 0.01}}]
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations: [{name: R1, type: pfr, from: f, volume: 1 mL}]
"""


@pytest.mark.parametrize("argv", [["run", "ROUTE", "--debug"], ["--debug", "run", "ROUTE"],
                                  ["check", "ROUTE", "--debug"]])
def test_debug_accepted_before_and_after_the_subcommand(tmp_path, monkeypatch, argv):
    """--debug re-raises an unexpected error wherever it is given; without it
    the error is one line that says to rerun with --debug."""
    path = tmp_path / "route.yaml"
    path.write_text(ROUTE)
    argv = [str(path) if a == "ROUTE" else a for a in argv]

    def broken(*args, **kwargs):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr("flowchem.process.route.load_route", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(argv)
    status, err = run_cli([a for a in argv if a != "--debug"])
    assert status == 1
    assert err == ("flowchem: internal error (RuntimeError: a bug over two lines); rerun with "
                   "--debug and report it\n")


def test_command_line_mistakes_are_one_line(tmp_path):
    status, err = run_cli(["run"])
    assert status == 2
    assert err == ("flowchem: command line: the following arguments are required: route "
                   "(see 'flowchem run --help')\n")
    status, err = run_cli(["frobnicate"])
    assert status == 2 and err.count("\n") == 1 and "invalid choice: 'frobnicate'" in err


def test_warnings_are_one_line_after_success(tmp_path):
    """A mechanism warning (the masses of A => B differ: 44.053 g/mol from
    C2H4O against the 44.5 g/mol given) is one line on stderr after a
    successful command, located in the route file's inline mechanism."""
    path = tmp_path / "route.yaml"
    path.write_text(ROUTE.replace("{name: B, formula: C2H4O}", "{name: B, molar_mass: 44.5 g/mol}"))
    status, err = run_cli(["check", str(path)])
    assert status == 0
    assert err == (f"flowchem: warning: {path}: mechanism.reactions[0]: mass does not balance in "
                   "'A => B': 44.053 g/mol -> 44.5 g/mol\n")


# --------------------------------------------------------------------------- files that are not inputs

SECRET = "root:x:0:0:hunter2:/root:/bin/bash\ndaemon:x:1:1:s3cr3t:/usr/sbin\n"


@pytest.mark.parametrize("content, found", [
    (SECRET, "plain text"),
    ("- hunter2\n- s3cr3t\n", "a list"),
    ("", "an empty document"),
])
def test_a_file_that_is_not_an_input_is_named_not_printed(tmp_path, content, found):
    path = tmp_path / "passwd"
    path.write_text(content)
    with pytest.raises(fc.InputError) as err:
        fc.load_mechanism(path)
    assert str(err.value) == (f"{path}: expected a mechanism mapping with 'species' and 'reactions', "
                              f"got {found} (is this the right file?)")
    status, err_text = run_cli(["run", str(path)])
    assert status == 2
    assert err_text == (f"flowchem: {path}: expected a mapping for a route, got {found} "
                        "(is this the right file?)\n")
    # a route naming it as its mechanism
    route = tmp_path / "route.yaml"
    route.write_text(f"mechanism: {path.name}\nfeeds:" + ROUTE.split("feeds:")[1])
    status, err_text = run_cli(["check", str(route)])
    assert status == 2
    assert "hunter2" not in err_text and "s3cr3t" not in err_text and str(path) in err_text


def test_foreign_mapping_and_duplicate_keys_are_not_echoed(tmp_path):
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  db: {password: hunter2}\n")
    with pytest.raises(fc.InputError) as err:
        fc.load_mechanism(path)
    assert str(err.value) == (f"{path}: none of the top-level keys is one of units, species, "
                              "reactions, name, description, thermo (is this the right file?)")
    path.write_text("species: [{name: A}]\npassword: hunter2\npassword: s3cr3t\n")
    with pytest.raises(fc.InputError) as err:
        fc.load_mechanism(path)
    assert str(err.value) == f"{path}: line 3: invalid YAML: duplicate key"
