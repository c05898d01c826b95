"""Route sensitivities (flowchem.process.sensitivity): forward kinetic
coefficients against central finite differences of Route.run(), closed forms
for first-order A -> B in a PFR (yield and adiabatic T_max), and the CLI."""

import json
import math

import pytest

import flowchem as fc
from flowchem.cli import main
from flowchem.core.errors import InputError
from flowchem.core.yamlio import load_yaml_text
from flowchem.process.route import Route

CONSECUTIVE = """
name: consecutive
mechanism:
  species: [{name: A}, {name: B}, {name: C}]
  reactions:
    - {equation: A => B, rate: {A: 2.0e4, Ea: 40 kJ/mol}}
    - {equation: B => C, rate: {k_ref: 0.004, T_ref: 323.15 K, Ea: 55 kJ/mol}}
solver: {rtol: 1.0e-10}
feeds: [{name: f, flow: 1 mL/min, T: 50 degC, conc: {A: 1 mol/L}}]
operations:
  - {name: P1, type: pfr, from: f, volume: 1 mL, T: 50 degC}
  - {name: C1, type: cstr, from: P1, volume: 2 mL, T: 40 degC}
product: {species: B, basis: A, from: C1}
"""

MIXED = """
name: mixed
mechanism:
  species: [{name: A}, {name: B}, {name: C}]
  reactions:
    - {equation: A => B, rate: {A: 2.0e4, Ea: 40 kJ/mol}}
    - {equation: B => C, rate: {k: 0.003}}
solver: {rtol: 1.0e-10}
feeds:
  - {name: f, flow: 1 mL/min, T: 50 degC, conc: {A: 1 mol/L}}
  - {name: g, flow: 0.5 mL/min, T: 25 degC, conc: {A: 0.5 mol/L, B: 0.1 mol/L}}
operations:
  - {name: P1, type: pfr, from: f, volume: 0.5 mL, T: 50 degC}
  - {name: M1, type: mixer, from: [P1, g]}
  - {name: S1, type: splitter, from: M1, fractions: [0.7, 0.3]}
  - {name: H1, type: heat_exchanger, from: S1.1, T: 45 degC}
  - {name: C1, type: cstr_cascade, n: 3, from: H1, volume: 3 mL, T: 45 degC}
product: {species: B, basis: A, from: C1}
"""

# CSTR then PFR: the PFR starts from the tank's sensitivities (s0)
CSTR_PFR = CONSECUTIVE.replace(
    """  - {name: P1, type: pfr, from: f, volume: 1 mL, T: 50 degC}
  - {name: C1, type: cstr, from: P1, volume: 2 mL, T: 40 degC}
product: {species: B, basis: A, from: C1}""",
    """  - {name: C1, type: cstr, from: f, volume: 2 mL, T: 40 degC}
  - {name: P1, type: pfr, from: C1, volume: 1 mL, T: 50 degC}
product: {species: B, basis: A, from: P1}""")

# reversible (equilibrium and reverse Arrhenius), second order, PFR -> cascade -> PFR
REVERSIBLE = """
name: rev
mechanism:
  species: [{name: A}, {name: B}, {name: C}]
  reactions:
    - {equation: A <=> B, rate: {k_ref: 0.01, T_ref: 300 K, Ea: 30 kJ/mol}, equilibrium: {K_ref: 3.0, T_ref: 300 K, dH: -20 kJ/mol}}
    - {equation: 2 B => C, rate: {k: 2.0e-6}}
    - {equation: A + C <=> B, rate: {A: 1.0e-3, Ea: 10 kJ/mol}, reverse: {k: 1.0e-4}}
solver: {rtol: 1.0e-10}
feeds: [{name: f, flow: 1 mL/min, T: 30 degC, conc: {A: 1 mol/L}}]
operations:
  - {name: P1, type: pfr, from: f, volume: 1 mL, T: 50 degC}
  - {name: C1, type: cstr_cascade, n: 2, from: P1, volume: 2 mL, T: 40 degC}
  - {name: P2, type: pfr, from: C1, volume: 1 mL, T: 60 degC}
product: {species: B, basis: A, from: P2}
"""

FIRST_ORDER = """
name: first_order
mechanism:
  species: [{name: A}, {name: B}]
  reactions: [{equation: A => B, rate: {k: 0.01}}]
solver: {rtol: 1.0e-10}
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations:
  - {name: R1, type: pfr, from: f, volume: 2 mL, T: 25 degC}
product: {species: B, basis: A, from: R1}
"""


def route_of(text):
    return Route.from_dict(load_yaml_text(text))


def kinetic_names(result):
    return sorted({e.parameter for e in result.entries if e.kind == "kinetic"})


@pytest.mark.parametrize("text, expected", [
    (CONSECUTIVE, ["r1.A", "r1.Ea", "r2.Ea", "r2.k_ref"]),
    (CSTR_PFR, ["r1.A", "r1.Ea", "r2.Ea", "r2.k_ref"]),
    (MIXED, ["r1.A", "r1.Ea", "r2.k"]),
    (REVERSIBLE, ["r1.Ea", "r1.K_ref", "r1.k_ref", "r2.k", "r3.A", "r3.Ea", "r3.reverse.k"]),
], ids=["pfr-cstr", "cstr-pfr", "mixer-splitter", "reversible"])
def test_forward_coefficients_match_finite_differences(text, expected):
    route = route_of(text)
    assert route.order[-1] == route.product["from"]
    fwd = fc.sensitivity(route)
    names = kinetic_names(fwd)
    # every rate magnitude and activation energy, nothing else of the kinetics
    assert sorted(names) == expected
    fd = fc.sensitivity(route, parameters=names, method="finite-difference")
    checked = 0
    fd_operating = fc.sensitivity(route, parameters=[e.parameter for e in fwd.entries
                                                     if e.kind == "operating"],
                                  method="finite-difference")
    for e in fwd.entries:
        if e.kind != "kinetic":
            # feed concentrations, reactor T and volumes forward, feed flows differences
            forward = not e.parameter.endswith(".flow")
            assert e.method == ("forward" if forward else "finite-difference")
            if forward:
                ref = fd_operating.coefficient(e.kpi, e.parameter)
                assert e.coefficient == pytest.approx(ref, rel=1e-4, abs=1e-7), (e.kpi, e.parameter)
            continue
        assert e.method == "forward"
        ref = fd.coefficient(e.kpi, e.parameter)
        # 1e-4 relative; an absolute floor for coefficients that vanish
        assert e.coefficient == pytest.approx(ref, rel=1e-4, abs=1e-7), (e.kpi, e.parameter)
        checked += abs(ref) > 1e-3
    assert checked >= 3 * len(names)


def test_first_order_pfr_closed_form():
    route = route_of(FIRST_ORDER)
    res = fc.sensitivity(route)
    ktau = 0.01 * 120.0
    X = 1.0 - math.exp(-ktau)
    s = ktau * math.exp(-ktau) / X          # d ln X / d ln k = d ln X / d ln tau
    assert res.kpis["yield"] == pytest.approx(X, rel=1e-8)
    assert res.coefficient("yield", "r1.k") == pytest.approx(s, rel=1e-9)
    assert res.coefficient("conversion", "r1.k") == pytest.approx(s, rel=1e-9)
    # volume forward, flow by finite differences (step 1e-4): tau = V/Q
    assert res.coefficient("yield", "R1.volume") == pytest.approx(s, rel=1e-6)
    assert res.coefficient("yield", "f.flow") == pytest.approx(-s, rel=1e-6)
    # first order: yield independent of the feed concentration; k has no T dependence
    assert res.coefficient("yield", "f.conc.A") == pytest.approx(0.0, abs=1e-6)
    assert res.coefficient("yield", "R1.T") == pytest.approx(0.0, abs=1e-6)
    labels = {(e.parameter, e.method) for e in res.entries if e.kpi == "yield"}
    assert labels == {("r1.k", "forward"), ("R1.volume", "forward"),
                      ("f.flow", "finite-difference"), ("f.conc.A", "forward"),
                      ("R1.T", "forward")}
    ranked = res.ranked("yield")
    assert [abs(e.coefficient) for e in ranked] == sorted((abs(e.coefficient) for e in ranked),
                                                          reverse=True)


ADIABATIC = """
name: adiabatic
mechanism:
  species: [{name: A}, {name: B}]
  reactions: [{equation: A => B, rate: {k: 1.0}, dH: -100 kJ/mol}]
properties: {density: 1000 kg/m^3, cp: 4.0 kJ/kg/K}
solver: {rtol: 1.0e-10}
feeds: [{name: f, flow: 1 mL/min, T: 300 K, conc: {A: 0.5 mol/L}}]
operations:
  - {name: R1, type: pfr, from: f, volume: 2 mL, energy: adiabatic}
product: {species: B, basis: A, from: R1}
"""


def test_adiabatic_reactor_is_forward_with_closed_form_t_max():
    route = route_of(ADIABATIC)
    res = fc.sensitivity(route, parameters=["r1.k", "f.conc.A"])
    # k tau = 120: complete conversion, T_max = T0 + dT_ad, dT_ad = -dH c0 / (rho cp)
    dT_ad = 100e3 * 500.0 / (1000.0 * 4000.0)
    assert res.kpis["T_max R1"] == pytest.approx(300.0 + dT_ad, rel=1e-7)
    assert res.coefficient("T_max R1", "f.conc.A") == pytest.approx(dT_ad / (300.0 + dT_ad), rel=1e-5)
    assert res.coefficient("T_max R1", "r1.k") == pytest.approx(0.0, abs=1e-6)
    assert {e.method for e in res.entries} == {"forward"}


def test_bad_input_is_refused():
    route = route_of(FIRST_ORDER)
    with pytest.raises(InputError, match="r9"):
        fc.sensitivity(route, parameters=["r9.k"])
    with pytest.raises(InputError, match="purity"):
        fc.sensitivity(route, kpis=["purity"])
    route.product = None
    with pytest.raises(InputError, match="product"):
        fc.sensitivity(route)


def test_cli_prints_ranked_table_and_rate_of_production(tmp_path, capsys):
    path = tmp_path / "route.yaml"
    path.write_text(FIRST_ORDER)
    out = tmp_path / "s.json"
    assert main(["sensitivity", str(path), "--json", str(out), "--top", "2"]) == 0
    text = capsys.readouterr().out
    assert "rate of production in R1" in text
    d = json.loads(out.read_text())
    rows = d["coefficients"]["yield"]
    ktau = 1.2
    s = ktau * math.exp(-ktau) / (1.0 - math.exp(-ktau))
    # |S| = s for k, volume and flow (tau = V/Q), zero for T and concentration
    assert [abs(r["coefficient"]) for r in rows[:3]] == pytest.approx([s] * 3, rel=1e-6)
    assert {r["parameter"] for r in rows[:3]} == {"r1.k", "R1.volume", "f.flow"}
    assert d["kpis"]["yield"] == pytest.approx(1.0 - math.exp(-ktau), rel=1e-8)
    # --top 2: two coefficient rows under the yield heading
    yield_block = text.split("  yield = ")[1].split("\n  selectivity = ")[0]
    assert len([ln for ln in yield_block.splitlines() if ln.startswith("    ")]) == 2
    assert main(["sensitivity", str(tmp_path / "missing.yaml")]) == 2


R_GAS = 8.314462618
T_RUN = 323.15


@pytest.mark.parametrize("rate, k, dlnk_dlnEa", [
    ("{A: 1.0e4, Ea: 40 kJ/mol}", 1.0e4 * math.exp(-40e3 / (R_GAS * T_RUN)),
     -40e3 / (R_GAS * T_RUN)),
    ("{k_ref: 0.002, T_ref: 298.15 K, Ea: 40 kJ/mol}",
     0.002 * math.exp(-40e3 / R_GAS * (1 / T_RUN - 1 / 298.15)),
     -40e3 / R_GAS * (1 / T_RUN - 1 / 298.15)),
], ids=["arrhenius", "k_ref"])
def test_activation_energy_and_temperature_closed_form(rate, k, dlnk_dlnEa):
    """First order A -> B at 50 degC: d ln X / d ln p = s d ln k / d ln p with
    s = k tau exp(-k tau) / X; d ln k / d ln T = Ea / (R T) in both forms,
    d ln k / d ln Ea = -Ea/(R T) (A fixed) or -Ea/R (1/T - 1/T_ref) (k_ref fixed)."""
    route = route_of(FIRST_ORDER.replace("{k: 0.01}", rate).replace("T: 25 degC", "T: 50 degC"))
    res = fc.sensitivity(route)
    ktau = k * 120.0
    X = 1.0 - math.exp(-ktau)
    s = ktau * math.exp(-ktau) / X
    assert res.kpis["yield"] == pytest.approx(X, rel=1e-8)
    assert res.coefficient("yield", "r1.Ea") == pytest.approx(s * dlnk_dlnEa, rel=1e-8)
    magnitude = "r1.A" if "A:" in rate else "r1.k_ref"
    assert res.coefficient("yield", magnitude) == pytest.approx(s, rel=1e-8)
    assert res.coefficient("yield", "R1.T") == pytest.approx(s * 40e3 / (R_GAS * T_RUN), rel=1e-6)
