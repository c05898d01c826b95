"""Unit operations (splitter, separator, heat exchanger, quench), multi-outlet
stream names, and KPIs (impurity profile, PMI, E-factor, per-reactor
figures, comparison with published values) against hand calculations."""

import json
import math

import numpy as np
import pytest

import flowchem as fc
from flowchem.cli import main

MECH = """
species:
  - {name: A, formula: C6H13N}
  - {name: B, formula: C3H4ClNO}
  - {name: C, formula: C9H17ClN2O}
  - {name: D, formula: C9H17ClN2O}
  - {name: W, formula: H2O}
reactions:
  - {equation: A + B => C, rate: {k: 2.0e-3}}
  - {equation: C => D, rate: {k: 1.0e-3}}
"""

ROUTE = """
name: ops
mechanism: mech.yaml
feeds:
  - {name: fa, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}, solvent: {name: THF, density: 0.889 g/mL}}
  - {name: fb, flow: 1 mL/min, T: 25 degC, conc: {B: 1.2 mol/L}, solvent: {name: THF, density: 0.889 g/mL}}
  - {name: wash, flow: 0.5 mL/min, T: 15 degC, conc: {W: 55 mol/L}, solvent: {name: water, density: 1.0 g/mL}}
operations:
  - {name: M1, type: mixer, from: [fa, fb]}
  - {name: SP, type: splitter, from: M1, fractions: {main: 0.75, bleed: 0.25}}
  - {name: R1, type: pfr, from: SP.main, volume: 3 mL, T: 40 degC}
  - {name: HX, type: heat_exchanger, from: R1, T: 10 degC}
  - {name: S1, type: separator, from: [HX, wash], aqueous: wash,
     partition: {C: 9.0, D: 4.0, A: 0.5}, split: {W: 0.0}, default: organic}
product: {from: S1.organic, species: C, basis: A, impurities: [D]}
reference: {source: a made-up paper, yield: 0.5, production_rate: 40 mg/h}
"""


@pytest.fixture()
def result(tmp_path):
    (tmp_path / "mech.yaml").write_text(MECH)
    p = tmp_path / "route.yaml"
    p.write_text(ROUTE)
    out = tmp_path / "r.json"
    assert main(["run", str(p), "--json", str(out), "--quiet"]) == 0
    return json.loads(out.read_text()), fc.load_route(p).run()


def test_stream_names_and_conservation(result):
    d, res = result
    assert {"SP.main", "SP.bleed", "S1.organic", "S1.aqueous"} <= set(d["streams"])
    m1, main_, bleed = (d["streams"][k] for k in ("M1", "SP.main", "SP.bleed"))
    assert main_["flow_m3_per_s"] == pytest.approx(0.75 * m1["flow_m3_per_s"], rel=1e-14)
    assert bleed["conc_mol_per_m3"] == pytest.approx(m1["conc_mol_per_m3"], rel=1e-14)
    # every species conserved across the separator
    hx, wash = d["streams"]["HX"], d["streams"]["wash"]
    org, aq = d["streams"]["S1.organic"], d["streams"]["S1.aqueous"]
    for sp in ("A", "B", "C", "D", "W"):
        fin = hx["molar_flow_mol_per_s"][sp] + wash["molar_flow_mol_per_s"][sp]
        assert org["molar_flow_mol_per_s"][sp] + aq["molar_flow_mol_per_s"][sp] == pytest.approx(fin, rel=1e-12, abs=1e-20)
    assert d["balance"]["mass_closure_rel"] < 1e-12
    assert set(d["balance"]["outlets"]) == {"SP.bleed", "S1.organic", "S1.aqueous"}


def test_separator_partition_by_hand(result):
    d, _ = result
    hx, wash = d["streams"]["HX"], d["streams"]["wash"]
    org = d["streams"]["S1.organic"]
    r = hx["flow_m3_per_s"] / wash["flow_m3_per_s"]            # organic : aqueous volume
    assert org["flow_m3_per_s"] == pytest.approx(hx["flow_m3_per_s"], rel=1e-14)
    for sp, K in (("C", 9.0), ("D", 4.0), ("A", 0.5)):
        f = K * r / (1 + K * r)
        assert org["molar_flow_mol_per_s"][sp] == pytest.approx(f * hx["molar_flow_mol_per_s"][sp], rel=1e-12)
    assert org["molar_flow_mol_per_s"]["W"] == 0.0                       # split 0 -> all aqueous
    assert org["molar_flow_mol_per_s"]["B"] == pytest.approx(hx["molar_flow_mol_per_s"]["B"], rel=1e-14)


def test_heat_exchanger_duty(result):
    d, _ = result
    hx = d["operations"]["HX"]
    q = 0.75 * 2e-6 / 60                     # the splitter's main branch of 2 mL/min
    assert d["streams"]["R1"]["flow_m3_per_s"] == pytest.approx(q, rel=1e-12)
    assert d["streams"]["HX"]["T_K"] == pytest.approx(283.15)
    # the documented default liquid: 900 kg/m^3, 2000 J/(kg K); 40 -> 10 degC
    assert hx["duty_W"] == pytest.approx(900.0 * 2000.0 * q * (283.15 - 313.15), rel=1e-12)


def test_kpis_by_hand(result):
    d, res = result
    p = d["product"]
    F = {k: v for k, v in d["streams"]["S1.organic"]["molar_flow_mol_per_s"].items()}
    A_fed = 1000.0 * 1e-6 / 60
    assert p["yield"] == pytest.approx(F["C"] / A_fed, rel=1e-12)
    assert p["conversion"] == pytest.approx(1 - F["A"] / A_fed, rel=1e-12)
    assert p["impurity_profile_mol_percent"] == {"D": pytest.approx(100 * F["D"] / F["C"], rel=1e-12)}
    # PMI: solvent mass (density x flow) plus solute masses, per product mass;
    # molar masses summed here from the formulas (IUPAC conventional weights)
    C_, H_, N_, O_, Cl_ = 12.011, 1.008, 14.007, 15.999, 35.45
    M = {"A": (6 * C_ + 13 * H_ + N_) * 1e-3, "B": (3 * C_ + 4 * H_ + Cl_ + N_ + O_) * 1e-3,
         "C": (9 * C_ + 17 * H_ + Cl_ + 2 * N_ + O_) * 1e-3, "W": (2 * H_ + O_) * 1e-3}
    mass_in = (0.889e3 * 2e-6 / 60 + 1.0e3 * 0.5e-6 / 60
               + A_fed * M["A"] + 1.2 * A_fed * M["B"] + 55.0 * 0.5 * A_fed * M["W"])
    product = F["C"] * M["C"]
    assert p["pmi"] == pytest.approx(mass_in / product, rel=1e-10)
    assert p["e_factor"] == pytest.approx(mass_in / product - 1, rel=1e-10)
    # per reactor: R1 converts A and B; its residence time
    r1 = p["per_reactor"]["R1"]
    q = 0.75 * 2e-6 / 60
    assert r1["residence_time_s"] == pytest.approx(3e-6 / q, rel=1e-12)
    # second order A + B => C with unequal feeds (0.5 and 0.6 mol/L after the
    # mixer), then C => D; C at the outlet by quadrature of the formation rate
    # k1 A B, decayed by exp(-k2 (tau - s))
    from scipy.integrate import quad

    k1, k2, tau, a0, b0 = 2.0e-3, 1.0e-3, 120.0, 500.0, 600.0
    A = lambda s: (b0 - a0) / (b0 / a0 * math.exp((b0 - a0) * k1 * s) - 1.0)
    c_R1 = quad(lambda s: k1 * A(s) * (A(s) + b0 - a0) * math.exp(-k2 * (tau - s)), 0.0, tau,
                epsabs=0.0, epsrel=1e-12, points=[1.0, 10.0], limit=200)[0]
    assert d["streams"]["R1"]["conc_mol_per_m3"]["C"] == pytest.approx(c_R1, rel=1e-6)
    assert r1["conversion"] == {"A": pytest.approx(1 - A(tau) / a0, abs=1e-12),
                                "B": pytest.approx(1 - (b0 - a0 + A(tau)) / b0, rel=1e-9)}
    assert r1["selectivity"] == pytest.approx(c_R1 / (a0 - A(tau)), rel=1e-6)
    assert r1["yield_contribution"] == pytest.approx(c_R1 * q / A_fed, rel=1e-6)
    # comparison with the (made-up) reference
    cmp_ = d["reference_comparison"]["values"]
    assert cmp_["yield"]["relative_difference"] == pytest.approx((p["yield"] - 0.5) / 0.5, rel=1e-12)
    assert cmp_["production_rate"]["reference"] == pytest.approx(40e-6, rel=1e-12)   # kg/h


def test_quench_completes_fast_reaction(tmp_path):
    (tmp_path / "route.yaml").write_text("""
mechanism:
  species: [{name: A}, {name: Q}, {name: P}]
  reactions: [{equation: A + Q => P, rate: {k: 1.0e-2}}]
feeds:
  - {name: f, flow: 1 mL/min, T: 30 degC, conc: {A: 0.2 mol/L}}
  - {name: q, flow: 1 mL/min, T: 10 degC, conc: {Q: 1.0 mol/L}}
operations:
  - {name: Q1, type: quench, from: [f, q], time: 30 s}
""")
    d = fc.load_route(tmp_path / "route.yaml").run().to_dict()
    a0, q0, k, t = 100.0, 500.0, 1.0e-2, 30.0
    dlt = q0 - a0
    a = dlt / (q0 / a0 * math.exp(dlt * k * t) - 1.0)   # second order, unequal
    out = d["streams"]["Q1"]
    assert out["conc_mol_per_m3"]["A"] == pytest.approx(a, rel=1e-6)
    assert out["T_K"] == pytest.approx(293.15, rel=1e-12)   # enthalpy balance, equal cp
    assert d["operations"]["Q1"]["hold_time_s"] == 30.0


@pytest.mark.parametrize("old,new,message", [
    ("fractions: {main: 0.75, bleed: 0.25}", "fractions: {main: 0.75, bleed: 0.35}", "add up to 1"),
    ("from: SP.main", "from: SP.side", "unknown stream 'SP.side'"),
    ("aqueous: wash,", "", "'aqueous'"),
    ("partition: {C: 9.0", "partition: {Z: 9.0", "unknown species"),
    ("split: {W: 0.0}", "split: {W: 1.5}", "between 0 and 1"),
    ("{name: HX, type: heat_exchanger, from: R1, T: 10 degC}", "{name: HX, type: heat_exchanger, from: R1}",
     "missing 'T'"),
])
def test_unit_operation_errors(tmp_path, capsys, old, new, message):
    (tmp_path / "mech.yaml").write_text(MECH)
    assert old in ROUTE
    p = tmp_path / "route.yaml"
    p.write_text(ROUTE.replace(old, new))
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err
    assert message in err and "route.yaml" in err


def test_python_unit_operations():
    mech = fc.Mechanism(species=[fc.Species("A"), fc.Species("B")], reactions=[])
    s = fc.Stream(mech, flow="2 mL/min", T="30 degC", conc={"A": "1 mol/L", "B": "0.5 mol/L"})
    res = fc.Splitter([0.5, 0.3, 0.2]).run([s])
    assert [o.flow for o in res.outlets.values()] == pytest.approx([x * s.flow for x in (0.5, 0.3, 0.2)])
    sep = fc.Separator(mech, partition={"A": 3.0}, phase_ratio=2.0, default="aqueous").run([s])
    f = 3.0 * 2.0 / (1 + 3.0 * 2.0)
    assert sep.outlets["organic"].molar_flows[0] == pytest.approx(f * s.molar_flows[0], rel=1e-14)
    assert sep.outlets["organic"].molar_flows[1] == 0.0
    assert np.allclose(sep.outlets["organic"].molar_flows + sep.outlets["aqueous"].molar_flows, s.molar_flows)


@pytest.mark.parametrize("K,expected", [(0.0, 0.0), (1e12, 1.0), (1.0, 0.5)])
def test_separator_limits(K, expected):
    """K = 0 sends everything to water, a huge K everything to the organic
    phase, K = 1 at equal volumes splits evenly."""
    mech = fc.Mechanism(species=[fc.Species("A")], reactions=[])
    s = fc.Stream(mech, flow="1 mL/min", T=300.0, conc={"A": 2.0})
    res = fc.Separator(mech, partition={"A": K}, phase_ratio=1.0).run([s])
    assert res.outlets["organic"].molar_flows[0] == pytest.approx(expected * s.molar_flows[0], abs=1e-15)
    assert res.outlets["organic"].flow == pytest.approx(0.5 * s.flow, rel=1e-14)


def test_splitter_keeps_temperature_pressure_and_properties():
    mech = fc.Mechanism(species=[fc.Species("A")], reactions=[])
    props = fc.LiquidProperties(density=1100.0, cp=3000.0, viscosity=1e-3)
    s = fc.Stream(mech, flow="1 mL/min", T=310.0, conc={"A": 2.0}, P="2 bar", properties=props)
    for out in fc.Splitter({"a": 0.2, "b": 0.8}).run(s).outlets.values():
        assert (out.T, out.P, out.properties) == (310.0, 2e5, props)
