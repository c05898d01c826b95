"""Reaction enthalpies of a native mechanism from a Cantera file (``thermo: {cantera: FILE}``).

References: Cantera's own standard enthalpies of the same species (gri30.yaml,
h2o2.yaml), a hand calculation from NASA-7 coefficients written here, and the
adiabatic closed form T - T0 = -dH c0 X / (rho cp) of a single reaction.
"""

import json
import math
import textwrap

import numpy as np
import pytest

import flowchem as fc
from flowchem.chemistry.properties import LiquidProperties

ct = pytest.importorskip("cantera")

R = 8.31446261815324          # J/(mol K), exact (SI 2019), as Cantera uses
# Two isomers with constant cp: h/RT = a0 + a5/T, so h = R (a0 T + a5) and
# dH(A => B) = R (a5_B - a5_A) at every T (same a0).
A5_A, A5_B = -1000.0, -11000.0
DH_AB = R * (A5_B - A5_A)            # -83144.6 J/mol


def _nasa_species(name, a5):
    row = f"[3.5, 0.0, 0.0, 0.0, 0.0, {a5}, 1.0]"
    return textwrap.dedent(f"""\
        - name: {name}
          composition: {{C: 1, H: 2}}
          thermo:
            model: NASA7
            temperature-ranges: [200.0, 1000.0, 3000.0]
            data:
            - {row}
            - {row}
        """)


@pytest.fixture
def isomer_thermo(tmp_path):
    path = tmp_path / "isomers.yaml"
    path.write_text("species:\n" + _nasa_species("A", A5_A) + _nasa_species("B", A5_B))
    return path


def _cantera_h(sol, names, T):
    sol.TP = T, ct.one_atm
    h = sol.standard_enthalpies_RT * ct.gas_constant * T / 1000.0   # J/mol
    return {n: h[sol.species_index(n)] for n in names}


def test_methane_combustion_dH_matches_cantera_gri30():
    mech = fc.Mechanism.from_dict({
        "thermo": {"cantera": "gri30.yaml"},
        "species": [{"name": n} for n in ("CH4", "O2", "CO2", "H2O", "N2")],
        "reactions": [{"equation": "CH4 + 2 O2 => CO2 + 2 H2O", "rate": {"k": 1.0}},
                      {"equation": "CH4 => N2", "rate": {"k": 0.0}, "dH": "-5 kJ/mol"}]})
    h = _cantera_h(ct.Solution("gri30.yaml"), ("CH4", "O2", "CO2", "H2O"), 298.15)
    ref = h["CO2"] + 2 * h["H2O"] - h["CH4"] - 2 * h["O2"]
    dH = mech.compile().delta_H
    assert dH[0] == pytest.approx(ref, rel=1e-10)
    assert dH[0] == pytest.approx(-802.5e3, rel=1e-3)      # published lower heating value, per mol CH4
    assert dH[1] == -5000.0                                 # an explicit dH wins (N2 is in gri30 too)


def test_hydrogen_oxidation_dH_at_given_T_and_phase():
    mech = fc.Mechanism.from_dict({
        "units": {"activation-energy": "kcal/mol"},
        "thermo": {"cantera": "h2o2.yaml", "phase": "ohmech", "T": "500 K"},
        "species": [{"name": "H2", "formula": "H2"}, {"name": "O2", "formula": "O2"},
                    {"name": "H2O", "formula": "H2O"}],
        "reactions": [{"equation": "H2 + 0.5 O2 => H2O", "rate": {"A": 1.0, "Ea": 1.0}}]})
    gas = ct.Solution("h2o2.yaml", "ohmech")
    gas.TP = 500.0, ct.one_atm
    # Cantera's own reaction enthalpy of an H2 + 0.5 O2 => H2O written with the same species
    h = _cantera_h(gas, ("H2", "O2", "H2O"), 500.0)
    ref = h["H2O"] - h["H2"] - 0.5 * h["O2"]
    assert mech.compile().delta_H[0] == pytest.approx(ref, rel=1e-10)
    assert mech.reactions[0].dH == pytest.approx(ref, rel=1e-10)


def test_equilibrium_takes_cantera_dH_unless_it_has_its_own(isomer_thermo):
    mech = fc.Mechanism.from_dict({
        "thermo": {"cantera": isomer_thermo.name},
        "species": [{"name": "A"}, {"name": "B"}],
        "reactions": [
            {"equation": "A <=> B", "rate": {"k": 1.0},
             "equilibrium": {"K_ref": 2.0, "T_ref": "300 K"}},
            {"equation": "B <=> A", "rate": {"k": 1.0},
             "equilibrium": {"K_ref": 2.0, "T_ref": "300 K", "dH": "10 kJ/mol"}}]},
        base_dir=isomer_thermo.parent)
    r1, r2 = mech.reactions
    assert r1.dH == pytest.approx(DH_AB, rel=1e-12)                   # hand calculation
    assert r1.equilibrium.dH_over_R == pytest.approx(DH_AB / R, rel=1e-9)   # van 't Hoff uses it
    assert r2.dH == pytest.approx(10e3, rel=1e-12)                    # the equilibrium's dH wins


def test_adiabatic_batch_rise_from_cantera_enthalpies(isomer_thermo):
    mech_file = isomer_thermo.parent / "mech.yaml"
    mech_file.write_text(textwrap.dedent(f"""\
        thermo: {{cantera: {isomer_thermo.name}}}
        species: [{{name: A}}, {{name: B}}]
        reactions:
          - {{equation: A => B, rate: {{k: 0.5}}}}
        """))
    mech = fc.load_mechanism(mech_file)
    assert mech.compile().delta_H[0] == pytest.approx(DH_AB, rel=1e-12)
    rho, cp, c0 = 900.0, 2000.0, 1000.0
    props = LiquidProperties(density=rho, cp=cp, viscosity=6e-4, thermal_conductivity=0.15,
                             diffusivity=1e-9)
    res = fc.BatchReactor(mech, T="300 K", energy="adiabatic", properties=props,
                          options=fc.SolverOptions(rtol=1e-11, atol=1e-12)).run(
        {"A": "1 mol/L"}, time="120 s")
    X = 1.0 - res["A"][-1] / c0
    assert X == pytest.approx(1.0 - math.exp(-0.5 * 120.0), abs=1e-9)   # Ea = 0: k independent of T
    rise = -DH_AB * c0 / (rho * cp)                     # 46.19 K
    assert res.T_profile[-1] - 300.0 == pytest.approx(rise * X, rel=1e-8)
    assert res.T_profile[-1] - 300.0 == pytest.approx(rise, rel=1e-8)


def _refusal(tmp_path, mapping):
    with pytest.raises(fc.InputError) as info:
        fc.Mechanism.from_dict(mapping, source="mech.yaml", base_dir=tmp_path)
    return str(info.value)


def test_refusals_name_file_and_entry(tmp_path, isomer_thermo):
    species = [{"name": "A"}, {"name": "B"}, {"name": "C"}]
    base = {"species": species, "reactions": [{"equation": "A => C", "rate": {"k": 1.0}}]}
    msg = _refusal(tmp_path, {**base, "thermo": {"cantera": "no_such_file.yaml"}})
    assert msg.startswith("mech.yaml: thermo.cantera:") and "no_such_file.yaml" in msg and "not found" in msg
    msg = _refusal(tmp_path, {**base, "thermo": {"cantera": isomer_thermo.name}})
    assert msg.startswith("mech.yaml: reactions[0]:")
    assert "'A => C'" in msg and "'C'" in msg and "isomers.yaml" in msg
    msg = _refusal(tmp_path, {**base, "thermo": {"cantera": isomer_thermo.name, "Tref": 300}})
    assert msg.startswith("mech.yaml: thermo") and "Tref" in msg
    msg = _refusal(tmp_path, {**base, "thermo": {"cantera": "gri30.yaml", "phase": "nope"}})
    assert msg.startswith("mech.yaml: thermo.cantera:") and "'nope'" in msg
    # a reaction with its own dH does not need its species in the Cantera file
    ok = fc.Mechanism.from_dict({"species": species, "thermo": {"cantera": isomer_thermo.name},
                                 "reactions": [{"equation": "A => C", "rate": {"k": 1.0}, "dH": -1000}]},
                                base_dir=tmp_path)
    assert ok.compile().delta_H[0] == -1000.0
    assert np.all(np.isfinite(ok.compile().delta_H))


def _route(tmp_path, isomer_thermo, species_c=False):
    (tmp_path / "mech.yaml").write_text(textwrap.dedent(f"""\
        thermo: {{cantera: {isomer_thermo.name}, T: 350 K}}
        species: [{{name: A}}, {{name: B}}{', {name: C}' if species_c else ''}]
        reactions:
          - {{equation: A => {'C' if species_c else 'B'}, rate: {{k: 0.5 1/s}}}}
        """))
    route = tmp_path / "route.yaml"
    route.write_text(textwrap.dedent("""\
        name: isomerisation with Cantera enthalpies
        mechanism: mech.yaml
        properties: {density: 900 kg/m^3, cp: 2.0 kJ/kg/K, viscosity: 0.6 mPa*s}
        feeds:
          - {name: feed, flow: 1 mL/min, T: 300 K, conc: {A: 1 mol/L}}
        operations:
          - {name: R1, type: pfr, from: feed, volume: 2 mL, energy: adiabatic}
        product: {from: R1, species: B, basis: A}
        """))
    return route


def test_route_cli_adiabatic_pfr_uses_cantera_dH(tmp_path, capsys, isomer_thermo):
    from flowchem.cli import main

    route = _route(tmp_path, isomer_thermo)
    out = tmp_path / "result.json"
    assert main(["run", str(route), "--json", str(out)]) == 0, capsys.readouterr().err
    d = json.loads(out.read_text())
    r1 = d["operations"]["R1"]
    c_out = d["streams"]["R1"]["conc_mol_per_m3"]["A"]
    X = 1.0 - c_out / 1000.0
    assert X == pytest.approx(1.0 - math.exp(-0.5 * 120.0), abs=1e-6)   # tau = 120 s, Ea = 0
    assert r1["T_out_K"] - 300.0 == pytest.approx(-DH_AB * 1000.0 * X / (900.0 * 2000.0), rel=1e-7)


def test_cli_refusal_is_exit_2_one_line(tmp_path, capsys, isomer_thermo):
    from flowchem.cli import main

    route = _route(tmp_path, isomer_thermo, species_c=True)
    assert main(["run", str(route), "--json", str(tmp_path / "result.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "mech.yaml: reactions[0]:" in err and "'C'" in err and "isomers.yaml" in err
    assert not (tmp_path / "result.json").exists()
