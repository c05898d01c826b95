"""Batch against flow (flowchem.process.batchflow), checked against hand calculations.

Reference chemistry: A => B, first order, k = 0.01 1/s (constant), c0 = 1 mol/L,
1 mL/min. Closed forms: PFR X = 1 - exp(-k tau), CSTR X = k tau/(1 + k tau),
batch time to conversion X: -ln(1 - X)/k, PFR holdup of A:
Q c0 (1 - exp(-k tau))/k, CSTR holdup c0/(1 + k tau) V.
"""

import json
import math
from pathlib import Path

import pytest

import flowchem as fc
from flowchem.process import batchflow
from flowchem.process.batchflow import compare_batch, compare_batch_command

K = 0.01            # 1/s
C0 = 1000.0         # mol/m^3
FLOW = 1e-6 / 60    # 1 mL/min in m^3/s
M_B = 0.1           # kg/mol
LOMUSTINE = Path(__file__).resolve().parents[1] / "examples" / "lomustine" / "route.yaml"


def first_order_route(op, dH=None, reaction=None):
    reaction = dict(reaction or {"equation": "A => B", "rate": {"k": K}})
    if dH is not None:
        reaction["dH"] = dH
    data = {
        "name": "A to B",
        "mechanism": {"species": [{"name": "A", "molar_mass": "100 g/mol"},
                                  {"name": "B", "molar_mass": "100 g/mol"}],
                      "reactions": [reaction]},
        "feeds": [{"name": "feed", "flow": "1 mL/min", "T": "50 degC", "conc": {"A": C0}}],
        "operations": [dict(op, name="R1", **{"from": "feed"})],
        "product": {"from": "R1", "species": "B", "basis": "A"},
        "solver": {"rtol": 1e-10},
    }
    return fc.Route.from_dict(data).run()


PFR = {"type": "pfr", "volume": "2 mL", "T": "50 degC"}
CSTR = {"type": "cstr", "volume": "2 mL", "T": "50 degC"}


@pytest.fixture(scope="module")
def pfr_result():
    return first_order_route(PFR)


@pytest.fixture(scope="module")
def cstr_result():
    return first_order_route(CSTR)


def test_pfr_batch_time_is_first_order_closed_form(pfr_result):
    cmp = compare_batch(pfr_result)
    step = cmp["R1"]
    X = pfr_result.operations["R1"].conversion("A")
    tau = 2e-6 / FLOW
    assert X == pytest.approx(1 - math.exp(-K * tau), rel=1e-7)
    assert step.key_species == "A"
    assert step.conversion == pytest.approx(X, rel=1e-14)
    assert step.reachable
    assert step.kinetic_time == pytest.approx(-math.log(1 - X) / K, rel=1e-6)
    # an isothermal PFR is a batch in residence time
    assert step.kinetic_time == pytest.approx(tau, rel=1e-6)
    assert step.flow_residence_time == pytest.approx(tau, rel=1e-12)
    assert step.heat == 0.0 and step.dosing_time == 0.0
    assert step.limited_by == "kinetics"


def test_cstr_batch_time_is_first_order_closed_form(cstr_result):
    cmp = compare_batch(cstr_result)
    step = cmp["R1"]
    tau = 2e-6 / FLOW
    X = cstr_result.operations["R1"].conversion("A")
    assert X == pytest.approx(K * tau / (1 + K * tau), rel=1e-7)
    assert step.kinetic_time == pytest.approx(-math.log(1 - X) / K, rel=1e-6)
    assert step.kinetic_time == pytest.approx(math.log(1 + K * tau) / K, rel=1e-6)
    assert step.kinetic_time < tau      # a batch beats a single stirred tank


def test_dosing_time_when_cooling_limits_by_hand():
    res = first_order_route(PFR, dH="-100 kJ/mol")
    kw = dict(vessel_volume="1000 L", fill_fraction=0.8, U="300 W/m^2/K", jacket_area_ref="1.0 m^2",
              vessel_volume_ref="100 L", coolant_dT="20 K", charge_time="20 min",
              discharge_time="25 min", cleaning_time="15 min")
    cmp = compare_batch(res, **kw)
    step = cmp["R1"]
    X = res.operations["R1"].conversion("A")
    V_w = 1.0 * 0.8
    Q = 100e3 * C0 * X * V_w                       # J per batch
    A = 1.0 * (1000.0 / 100.0) ** (2.0 / 3.0)      # m^2
    t_dose = Q / (300.0 * A * 20.0)
    assert cmp.settings["jacket_area_m2"] == pytest.approx(A, rel=1e-12)
    assert cmp.settings["cooling_capacity_W"] == pytest.approx(300.0 * A * 20.0, rel=1e-12)
    assert step.heat == pytest.approx(Q, rel=1e-9)
    assert step.dosing_time == pytest.approx(t_dose, rel=1e-9)
    assert t_dose > step.kinetic_time            # ~2000 s against 120 s
    assert step.limited_by == "cooling"
    assert step.step_time == pytest.approx(t_dose, rel=1e-9)
    # cycle = charge + step + discharge + cleaning
    assert cmp.cycle_time == pytest.approx((20 + 25 + 15) * 60 + t_dose, rel=1e-12)
    assert cmp.totals["reaction_time_s"] == pytest.approx(t_dose, rel=1e-12)
    # all-in batch peak heat release: k c0 (-dH) V at t = 0
    assert step.peak_heat_rate == pytest.approx(K * C0 * 100e3 * V_w, rel=1e-9)


def test_kinetics_limited_when_heat_is_small():
    res = first_order_route(PFR, dH="-1 kJ/mol")
    step = compare_batch(res)["R1"]
    X = res.operations["R1"].conversion("A")
    Q = 1e3 * C0 * X * 0.08
    assert step.dosing_time == pytest.approx(Q / (300.0 * 1.0 * 20.0), rel=1e-9)
    assert step.limited_by == "kinetics"
    assert step.step_time == step.kinetic_time


def test_throughput_per_volume_by_hand(pfr_result):
    cmp = compare_batch(pfr_result, vessel_volume="250 L", fill_fraction=0.6,
                        charge_time="10 min", discharge_time="5 min", cleaning_time="1 h")
    X = pfr_result.operations["R1"].conversion("A")
    t_kin = -math.log(1 - X) / K
    cycle = 10 * 60 + t_kin + 5 * 60 + 3600
    V_w = 0.25 * 0.6
    n_B = C0 * X * V_w                           # the batch reaches the same conversion
    kg_h = n_B * M_B / cycle * 3600
    t = cmp.totals
    assert cmp.cycle_time == pytest.approx(cycle, rel=1e-9)
    assert t["product_per_batch_mol"] == pytest.approx(n_B, rel=1e-8)
    assert t["product_per_batch_kg"] == pytest.approx(n_B * M_B, rel=1e-8)
    assert t["batch_throughput_kg_per_h"] == pytest.approx(kg_h, rel=1e-8)
    assert t["batch_throughput_kg_per_h_m3"] == pytest.approx(kg_h / 0.25, rel=1e-8)
    flow_kg_h = C0 * X * FLOW * M_B * 3600
    assert t["flow_throughput_kg_per_h"] == pytest.approx(flow_kg_h, rel=1e-8)
    assert t["flow_reactor_volume_m3"] == pytest.approx(2e-6, rel=1e-12)
    assert t["flow_throughput_kg_per_h_m3"] == pytest.approx(flow_kg_h / 2e-6, rel=1e-8)
    assert t["batch_vessels_to_match_flow"] == pytest.approx(flow_kg_h / kg_h, rel=1e-8)


def test_hazardous_inventory_pfr_by_hand(pfr_result):
    cmp = compare_batch(pfr_result, hazardous=["A", "B"])
    tau = 2e-6 / FLOW
    hA = cmp.hazard("A")
    assert hA.flow_mol == pytest.approx(FLOW * C0 * (1 - math.exp(-K * tau)) / K, rel=1e-6)
    assert hA.batch_mol == pytest.approx(C0 * 0.08, rel=1e-12)
    assert hA.batch_kg == pytest.approx(C0 * 0.08 * 0.1, rel=1e-12)
    assert hA.batch_time == 0.0
    # B: most at the end of the step, c0 X V_w; flow holdup Q c0 (tau - (1 - e^-k tau)/k)
    X = 1 - math.exp(-K * tau)
    hB = cmp.hazard("B")
    assert hB.batch_mol == pytest.approx(C0 * X * 0.08, rel=1e-8)
    assert hB.flow_mol == pytest.approx(FLOW * C0 * (tau - X / K), rel=1e-6)


def test_hazardous_inventory_cstr_by_hand(cstr_result):
    cmp = compare_batch(cstr_result, hazardous=["A"])
    tau = 2e-6 / FLOW
    h = cmp.hazard("A")
    assert h.flow_mol == pytest.approx(C0 / (1 + K * tau) * 2e-6, rel=1e-8)
    assert h.batch_mol == pytest.approx(C0 * 0.08, rel=1e-12)


def test_bad_input_is_refused(pfr_result):
    with pytest.raises(fc.InputError, match="unknown species 'Z'"):
        compare_batch(pfr_result, hazardous=["Z"])
    with pytest.raises(fc.InputError, match="unknown species 'Z'"):
        compare_batch(pfr_result, conversion_species={"R1": "Z"})
    with pytest.raises(fc.InputError, match="not a reacting step"):
        compare_batch(pfr_result, conversion_species={"R9": "A"})
    with pytest.raises(fc.InputError, match="not fed to R1"):
        compare_batch(pfr_result, conversion_species={"R1": "B"})
    with pytest.raises(fc.InputError, match="fill_fraction"):
        compare_batch(pfr_result, fill_fraction=1.5)
    with pytest.raises(fc.InputError, match="vessel_volume"):
        compare_batch(pfr_result, vessel_volume="5 parsecs")
    with pytest.raises(fc.InputError, match="coolant_dT"):
        compare_batch(pfr_result, coolant_dT="-3 K")


def test_unreachable_conversion_is_reported():
    # Constructed: the equilibrium constant rises with T while the reaction
    # releases heat, so the adiabatic tube runs past the equilibrium
    # conversion K/(1 + K) of a batch held at the inlet temperature.
    reaction = {"equation": "A <=> B", "rate": {"k": 0.05},
                "equilibrium": {"K_ref": 1.0, "T_ref": "300 K", "dH": "60 kJ/mol"}}
    data_op = {"type": "pfr", "volume": "10 mL", "energy": "adiabatic"}
    res = first_order_route(data_op, dH="-60 kJ/mol", reaction=reaction)
    X = res.operations["R1"].conversion("A")
    assert X > 0.55
    cmp = compare_batch(res)
    step = cmp["R1"]
    assert not step.reachable and step.kinetic_time is None and step.step_time is None
    K_in = math.exp(60e3 / 8.314462618 * (1 / 300.0 - 1 / 323.15))
    assert step.best_conversion == pytest.approx(K_in / (1 + K_in), abs=1e-6)
    assert cmp.cycle_time is None and cmp.totals["batch_throughput_kg_per_h"] is None
    assert any("cannot reach" in n for n in step.notes)
    json.dumps(cmp.to_dict(), allow_nan=False)
    assert "unreachable" in cmp.table()


def test_unreachable_beyond_the_longest_batch(pfr_result, monkeypatch):
    monkeypatch.setattr(batchflow, "MAX_BATCH_TIME", 50.0)
    step = compare_batch(pfr_result)["R1"]
    assert step.kinetic_time is None
    assert step.best_conversion == pytest.approx(1 - math.exp(-K * 50.0), rel=1e-6)


@pytest.fixture(scope="module")
def lomustine():
    result = fc.load_route(LOMUSTINE).run()
    return result, compare_batch(result, hazardous=["CEI", "CCNU"])


def _finite(x):
    if isinstance(x, dict):
        return all(_finite(v) for v in x.values())
    if isinstance(x, list):
        return all(_finite(v) for v in x)
    if isinstance(x, float):
        return math.isfinite(x)
    return True


def test_lomustine_comparison_is_finite(lomustine):
    result, cmp = lomustine
    d = cmp.to_dict()
    json.dumps(d, allow_nan=False)
    assert _finite(d)
    reactors = [n for n in result.route.order
                if result.route.operations[n].kind in ("pfr", "cstr", "cstr_cascade")]
    assert [s.name for s in cmp.steps][:len(reactors)] == reactors
    for s in cmp.steps:
        assert s.reachable and s.step_time > 0 and math.isfinite(s.heat)
    # the trace of amine carried into the nitrosation is not its key reactant
    assert cmp["R1"].key_species == "CHA"
    assert cmp["R2"].key_species == "UREA"
    # isothermal coil R1: the batch takes the residence time
    assert cmp["R1"].kinetic_time == pytest.approx(cmp["R1"].flow_residence_time, rel=1e-5)
    s = cmp.settings
    assert cmp.cycle_time == pytest.approx(
        s["charge_time_s"] + sum(r.step_time for r in cmp.steps) + s["discharge_time_s"]
        + s["cleaning_time_s"], rel=1e-12)
    t = cmp.totals
    # the route file's numbers, by hand: feeds 0.0625 + 0.0625 + 0.125 + 0.25 =
    # 0.5 mL/min fill the 80 L working volume of a 100 L vessel in proportion;
    # the flow equipment is coil R1 (1 m x 0.4 mm), coil R2 (2.5 m x 1 mm) and
    # the quench hold (1 min at 0.5 mL/min)
    assert s["working_volume_m3"] == pytest.approx(0.08, rel=1e-12)
    assert [r.batch_volume for r in cmp.steps] == pytest.approx([0.02, 0.04, 0.08], rel=1e-12)
    V_flow = math.pi / 4 * (0.4e-3 ** 2 * 1.0 + 1e-3 ** 2 * 2.5) + 0.5e-6
    assert t["flow_reactor_volume_m3"] == pytest.approx(V_flow, rel=1e-12)
    assert t["flow_throughput_kg_per_h"] == pytest.approx(result.product["production_rate_kg_per_h"],
                                                          rel=1e-14)
    assert t["flow_throughput_kg_per_h_m3"] == pytest.approx(t["flow_throughput_kg_per_h"] / V_flow,
                                                             rel=1e-12)
    assert t["batch_throughput_kg_per_h"] == pytest.approx(
        t["product_per_batch_kg"] / cmp.cycle_time * 3600.0, rel=1e-12)
    assert t["batch_throughput_kg_per_h_m3"] == pytest.approx(t["batch_throughput_kg_per_h"] / 0.1,
                                                              rel=1e-12)
    # the batch makes what the flow makes per volume of liquid, to within the
    # slightly different CCNU yield of the batch's own conversions (1e-3)
    M_CCNU = (9 * 12.011 + 16 * 1.008 + 35.45 + 3 * 14.007 + 2 * 15.999) * 1e-3
    assert t["product_per_batch_kg"] == pytest.approx(
        t["flow_throughput_kg_per_h"] / 3600 / (0.5e-6 / 60) * 0.08, rel=1e-3)
    assert t["product_per_batch_kg"] == pytest.approx(t["product_per_batch_mol"] * M_CCNU, rel=1e-12)
    assert [h.species for h in cmp.hazards] == ["CEI", "CCNU"]
    # CEI: all of it is charged at the start of the first step: 0.22 mol/L in
    # 0.0625/0.5 of the working volume; the tube holds a few microlitres of it
    assert cmp.hazard("CEI").batch_mol == pytest.approx(220.0 * 0.08 * 0.0625 / 0.5, rel=1e-12)
    for h in cmp.hazards:
        assert h.batch_mol > 1e4 * h.flow_mol


def test_lomustine_hazardous_default_from_route(lomustine):
    """The example route file flags ``hazardous: [CEI, CCNU]`` (read here with
    ruamel.yaml): the route parses that list, and compare_batch without a
    ``hazardous`` argument reports exactly those species, with the same
    inventories as when they are passed explicitly."""
    from ruamel.yaml import YAML

    flagged = YAML(typ="safe").load(LOMUSTINE.read_text())["hazardous"]
    assert flagged == ["CEI", "CCNU"]
    result, explicit = lomustine
    assert list(result.route.hazardous) == flagged
    cmp = compare_batch(result)
    assert [h.species for h in cmp.hazards] == flagged
    for h, e in zip(cmp.hazards, explicit.hazards):
        assert h.batch_mol == pytest.approx(e.batch_mol, rel=1e-14)
        assert h.flow_mol == pytest.approx(e.flow_mol, rel=1e-14)


def test_table_plot_and_command(lomustine, tmp_path, capsys):
    import matplotlib

    matplotlib.use("Agg")
    _, cmp = lomustine
    text = cmp.table()
    assert "cycle time" in text and "CEI" in text and "R2" in text
    axes = cmp.plot()
    assert len(axes) == 3
    assert axes[0].get_yscale() == "log"          # seconds to an hour
    import matplotlib.pyplot as plt

    plt.close(axes[0].figure)
    fig, ax = plt.subplots()
    assert len(cmp.plot(ax=ax)) == 3
    plt.close(fig)

    status = compare_batch_command(LOMUSTINE, out=tmp_path / "out", json_path=tmp_path / "bvf.json",
                                   hazardous=["CEI"], vessel_volume="250 L")
    assert status == 0
    assert "Batch against flow" in capsys.readouterr().out
    assert (tmp_path / "out" / "batch_vs_flow.png").stat().st_size > 1000
    d = json.loads((tmp_path / "bvf.json").read_text())
    assert d["settings"]["vessel_volume_m3"] == pytest.approx(0.25)
    assert d["hazardous"][0]["species"] == "CEI"
    with pytest.raises(fc.InputError, match=r"compare_batch.hazardous: unknown species 'NOPE'"):
        compare_batch_command(LOMUSTINE, hazardous=["NOPE"])
