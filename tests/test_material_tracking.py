"""Material tracking of dynamic runs (flowchem.process.material_tracking),
the route RTD from the unit RTDs (flowchem.process.route_rtd), and the
dynamic figures and HTML.

The tracking tests run on closed-form time series in a small stand-in of
DynamicResult (same attributes), so they do not depend on the dynamic
solver: diversion edges against the exact crossing times of
c(t) = c0 (1 - exp(-t/tau)) and against the linear-interpolation error
bound on a coarse grid, margins and merging on piecewise-linear traces
(exact by hand), the lot funnel against the quantiles of the Erlang
F-curve (scipy.stats.gamma.ppf), the lot-to-batch genealogy on a hand case,
and the route RTD of tank + tube + tank against its closed form.
"""

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy.stats import gamma

from flowchem.core.errors import InputError, Location
from flowchem.process.material_tracking import (evaluate_tracking, first_crossing,
                                                out_of_spec_intervals, parse_tracking_spec,
                                                tracking_to_dict, widen_and_merge)

SPECIES = ["A", "P", "I"]
Q = 1e-8            # m^3/s
M_P = 0.1           # kg/mol


@dataclass
class Trace:
    flow_m3_per_s: np.ndarray
    T_K: np.ndarray
    conc_mol_per_m3: np.ndarray
    tracers: dict = field(default_factory=dict)


@dataclass
class FakeRun:
    """Stand-in of DynamicResult: the attributes tracking reads."""
    time_s: np.ndarray
    streams: dict
    species: list = field(default_factory=lambda: list(SPECIES))
    product: dict = field(default_factory=lambda: {"stream": "OUT", "species": "P", "basis": "A",
                                                   "impurities": ["I"], "molar_mass_kg_per_mol": M_P,
                                                   "stoichiometric_factor": 1.0, "feeds": ["fa"]})
    events: list = field(default_factory=list)
    lots: list = field(default_factory=list)
    route: object = None


def make_run(t, cP, cA=None, cI=None, flow=None, tracers=None, **kw):
    t = np.asarray(t, dtype=float)
    n = t.size
    conc = np.zeros((n, 3))
    conc[:, 0] = 0.0 if cA is None else cA
    conc[:, 1] = cP
    conc[:, 2] = 0.0 if cI is None else cI
    q = np.full(n, Q) if flow is None else np.asarray(flow, dtype=float)
    out = Trace(q, np.full(n, 300.0), conc, tracers or {})
    feed = Trace(np.full(n, Q), np.full(n, 300.0), np.tile([1000.0, 0.0, 0.0], (n, 1)),
                 {"feed:fa": np.ones(n)})
    return FakeRun(t, {"OUT": out, "fa": feed}, **kw)


# --------------------------------------------------------------------------- diversion edges

TAU = 60.0
C0 = 1000.0         # mol/m^3 (1 mol/L)
LOW, HIGH = 0.6, 0.95   # mol/L band on the product concentration


def exact_crossing(level):
    return -TAU * math.log(1.0 - level)


def rising_run(h, t_end=400.0):
    t = np.arange(0.0, t_end + 0.5 * h, h)
    return make_run(t, C0 * (1.0 - np.exp(-t / TAU)))


def test_diversion_edges_fine_grid_against_exact_crossings():
    run = rising_run(TAU / 5000)
    tr = evaluate_tracking(run, {"product.conc": f"between {LOW} and {HIGH} mol/L"})
    t1, t2 = exact_crossing(LOW), exact_crossing(HIGH)
    (w1, w2) = tr["diversion"]
    assert w1["start_s"] == 0.0
    assert w1["end_s"] == pytest.approx(t1, rel=1e-6)
    assert w2["start_s"] == pytest.approx(t2, rel=1e-6)
    assert w2["end_s"] is None                       # still out at the end of the run
    # diverted volume and product: Q t and Q M c0 (t - tau (1 - e^-t/tau)) over [0, t1]
    assert w1["volume_m3"] == pytest.approx(Q * t1, rel=1e-6)
    exact_mol = Q * C0 * (t1 - TAU * (1 - math.exp(-t1 / TAU)))
    assert w1["product_mol"] == pytest.approx(exact_mol, rel=1e-6)
    assert w1["product_kg"] == pytest.approx(exact_mol * M_P, rel=1e-6)
    assert w2["volume_m3"] == pytest.approx(Q * (run.time_s[-1] - t2), rel=1e-6)
    s = tr["startup"]
    assert s["first_in_spec_s"] == pytest.approx(t1, rel=1e-6)
    assert s["first_collected_s"] == pytest.approx(t1, rel=1e-6)
    assert s["product_before_kg"] == pytest.approx(exact_mol * M_P, rel=1e-6)
    # in_spec per time agrees with the exact band
    t = run.time_s
    inside = (t > t1 * (1 + 1e-9)) & (t < t2 * (1 - 1e-9))
    assert np.array_equal(tr["in_spec"][inside | (t < t1 * (1 - 1e-9)) | (t > t2 * (1 + 1e-9))],
                          inside[inside | (t < t1 * (1 - 1e-9)) | (t > t2 * (1 + 1e-9))])


@pytest.mark.parametrize("h", [7.0, 13.0])
def test_diversion_edges_coarse_grid_within_interpolation_bound(h):
    """Linear interpolation puts the edge within (h^2/8) max|f''| / |chord
    slope| of the exact crossing, and not exactly on it (the grid is coarse)."""
    run = rising_run(h)
    tr = evaluate_tracking(run, {"product.conc": f"between {LOW} and {HIGH} mol/L"})
    t = run.time_s
    for level, edge in ((LOW, tr["diversion"][0]["end_s"]), (HIGH, tr["diversion"][1]["start_s"])):
        exact = exact_crossing(level)
        i = int(np.searchsorted(t, exact)) - 1
        a, b = t[i], t[i + 1]
        f2max = C0 / TAU ** 2 * math.exp(-a / TAU)          # |f''| is largest at the cell's left end
        chord = C0 * (math.exp(-a / TAU) - math.exp(-b / TAU)) / (b - a)
        bound = (b - a) ** 2 / 8.0 * f2max / chord
        assert abs(edge - exact) <= bound
        assert abs(edge - exact) > 1e-3 * bound              # a real interpolation, not the exact value
        assert edge > exact                                  # the chord lies below a concave curve


def dips_run(t_end=100.0):
    """c_P = 1 mol/L with two V-shaped dips to 0 at t = 30 s and 42 s
    (half-width 5 s): with '>= 0.5 mol/L' out of spec in [27.5, 32.5] and
    [39.5, 44.5], exactly (the trace is piecewise linear on the grid)."""
    t = np.arange(0.0, t_end + 0.5, 1.0)
    dip = np.maximum(0, 1 - np.abs(t - 30) / 5) + np.maximum(0, 1 - np.abs(t - 42) / 5)
    return make_run(t, C0 * (1.0 - dip))


def test_margin_widening_and_merging():
    spec = {"conc.P": ">= 0.5 mol/L"}
    tr = evaluate_tracking(dips_run(), spec)
    assert [(w["start_s"], w["end_s"]) for w in tr["out_of_spec"]] == \
        [pytest.approx((27.5, 32.5)), pytest.approx((39.5, 44.5))]
    tr = evaluate_tracking(dips_run(), spec, divert_margin_s=3.0)     # gap 7 s > 2 x 3 s
    assert [(w["start_s"], w["end_s"]) for w in tr["diversion"]] == \
        [pytest.approx((24.5, 35.5)), pytest.approx((36.5, 47.5))]
    tr = evaluate_tracking(dips_run(), spec, divert_margin_s=4.0)     # overlap: one window
    (w,) = tr["diversion"]
    assert (w["start_s"], w["end_s"]) == pytest.approx((23.5, 48.5))
    t = np.arange(0.0, 100.5, 1.0)
    assert np.array_equal(tr["product"]["diverted"], (t >= 23.5) & (t <= 48.5))
    assert w["volume_m3"] == pytest.approx(Q * 25.0, rel=1e-12)
    # product over [23.5, 48.5]: 25 s at 1 mol/L minus the two dips (area 5 s x 1 mol/L each)
    assert w["product_mol"] == pytest.approx(Q * C0 * (25.0 - 10.0), rel=1e-12)
    # a margin reaching past both ends: clipped at the start, open at the end
    tr = evaluate_tracking(dips_run(t_end=50.0), spec, divert_margin_s=30.0)
    (w,) = tr["diversion"]
    assert w["start_s"] == 0.0 and w["end_s"] is None
    assert tr["startup"]["first_in_spec_s"] == 0.0
    assert tr["product"]["diverted"].all() and not tr["in_spec"][30]


def test_widen_and_merge_by_hand():
    assert widen_and_merge([[10.0, 20.0], [25.0, 30.0], [50.0, None]], 2.0, 0.0, 100.0) == \
        [[8.0, 22.0], [23.0, 32.0], [48.0, None]]
    assert widen_and_merge([[10.0, 20.0], [25.0, 30.0]], 2.5, 0.0, 100.0) == [[7.5, 32.5]]
    assert widen_and_merge([[1.0, 20.0]], 2.0, 0.0, 21.0) == [[0.0, None]]


def test_several_criteria_edges_are_the_first_to_fail_and_last_to_recover():
    """Two linear slacks on one step: leaving at the earlier crossing,
    coming back at the later one."""
    t = np.array([0.0, 10.0, 20.0])
    s1 = np.array([1.0, -1.0, 3.0])      # crosses at 5 (down) and 12.5 (up)
    s2 = np.array([3.0, -1.0, 1.0])      # crosses at 7.5 (down) and 15 (up)
    assert out_of_spec_intervals(t, [s1, s2]) == [[5.0, 15.0]]
    s3 = np.array([1.0, np.nan, 1.0])    # undefined in the middle: the whole steps are out
    assert out_of_spec_intervals(t, [s3]) == [[0.0, 20.0]]


def test_purity_and_impurity_definitions_per_time():
    """Purity = 100 P / sum, impurity = 100 I / P (mol %), as the steady KPIs."""
    t = np.linspace(0.0, 10.0, 11)
    cP = np.linspace(100.0, 200.0, 11)
    cI = np.full(11, 10.0)
    cA = np.full(11, 40.0)
    run = make_run(t, cP, cA=cA, cI=cI)
    tr = evaluate_tracking(run, {"product.purity_mol_percent": ">= 70",
                                 "impurity.I": "<= 8 %"})
    purity = tr["criteria"]["product.purity_mol_percent"]["values"]
    imp = tr["criteria"]["impurity.I"]["values"]
    np.testing.assert_allclose(purity, 100 * cP / (cP + cI + cA), rtol=1e-14)
    np.testing.assert_allclose(imp, 100 * cI / cP, rtol=1e-14)
    # purity reaches 70 % on [1, 2] (P = 116.7), the impurity 8 % only on [2, 3]
    # (P = 125): the later recovery ends the window, at the crossing of the
    # impurity's linear interpolant between its values at 2 s and 3 s
    (w,) = tr["diversion"]
    assert w["start_s"] == 0.0
    i2, i3 = 100 * 10 / 120, 100 * 10 / 130
    assert w["end_s"] == pytest.approx(2.0 + (i2 - 8.0) / (i2 - i3), rel=1e-12)


def test_yield_criterion_uses_feed_flows_at_the_same_time():
    t = np.linspace(0.0, 10.0, 11)
    cP = np.linspace(0.0, 1000.0, 11)    # basis fed 1000 mol/m^3 at Q: yield = cP / 1000
    run = make_run(t, cP)
    tr = evaluate_tracking(run, {"product.yield": ">= 75 %"})
    np.testing.assert_allclose(tr["criteria"]["product.yield"]["values"], cP / 1000.0, rtol=1e-14)
    assert tr["diversion"][0]["end_s"] == pytest.approx(7.5, rel=1e-12)


# --------------------------------------------------------------------------- lot funnel

@pytest.mark.parametrize("n", [1, 3, 10])
def test_lot_funnel_against_erlang_quantiles(n):
    """After a lot change at t_lot the new lot's fraction of the feed's
    material at the product is the Erlang F(t - t_lot) of n tanks; t01, t50
    and t99 are its quantiles (gamma.ppf)."""
    tau, t_lot, h = 120.0, 300.0, 0.05
    t = np.arange(0.0, 2000.0 + h / 2, h)
    F = gamma.cdf(np.maximum(t - t_lot, 0.0), n, scale=tau / n)
    share = 0.4                                    # the feed is 40 % of the product stream
    tracers = {"feed:fa": np.full(t.size, share), "lot:fa:B": share * F}
    run = make_run(t, np.full(t.size, 500.0), tracers=tracers,
                   lots=[{"feed": "fa", "lot": "B", "time_s": t_lot, "tracer": "lot:fa:B"}])
    lots = evaluate_tracking(run, None)["lots"]
    item = lots["fa:B"]
    for key, p in (("t01_s", 0.01), ("t50_s", 0.50), ("t99_s", 0.99)):
        exact = t_lot + gamma.ppf(p, n, scale=tau / n)
        assert item[key] == pytest.approx(exact, abs=1e-6 * tau), key


def test_first_crossing_never_and_immediate():
    t = np.array([0.0, 1.0, 2.0])
    assert first_crossing(t, [0.0, 0.2, 0.4], 0.5) is None
    assert first_crossing(t, [0.0, 0.6, 1.0], 0.5, after=1.5) == 1.5
    assert first_crossing(t, [0.0, 0.2, 0.6], 0.5, after=0.5) == pytest.approx(1.75)


# --------------------------------------------------------------------------- batches

def genealogy_run():
    """Constant flow; the product at 1 mol/m^3 dips to 0 on [12.5, 13.5]
    and is out of spec ('>= 0.5') on exactly [12, 14]; lot B of feed fa
    ramps in linearly from 10 s to 20 s; fa is half the product stream."""
    t = np.arange(0.0, 30.0 + 0.25, 0.5)
    cP = np.ones(t.size)
    for tt, v in ((12.0, 0.5), (12.5, 0.0), (13.0, 0.0), (13.5, 0.0), (14.0, 0.5)):
        cP[np.isclose(t, tt)] = v
    r = np.clip((t - 10.0) / 10.0, 0.0, 1.0)
    tracers = {"feed:fa": np.full(t.size, 0.5), "lot:fa:B": 0.5 * r,
               "feed:fb": np.full(t.size, 0.5)}
    return make_run(t, cP, tracers=tracers,
                    lots=[{"feed": "fa", "lot": "B", "time_s": 10.0, "tracer": "lot:fa:B"}])


def test_batch_genealogy_by_run_time_hand_case():
    tr = evaluate_tracking(genealogy_run(), {"conc.P": ">= 0.5"}, batch={"run_time": "10 s"})
    assert [(w["start_s"], w["end_s"]) for w in tr["diversion"]] == [pytest.approx((12.0, 14.0))]
    b1, b2, b3 = tr["batches"]
    assert (b1["start_s"], b1["end_s"], b2["end_s"], b3["end_s"]) == (0.0, 10.0, 20.0, 30.0)
    assert b1["feeds"]["fa"]["lots"] == {"A": pytest.approx(1.0)}
    # batch 2 collects [10, 12] and [14, 20]: lot B = (0.2 + 4.2) / 8 of fa's material
    assert b2["feeds"]["fa"]["lots"]["B"] == pytest.approx(0.55, rel=1e-12)
    assert b2["feeds"]["fa"]["lots"]["A"] == pytest.approx(0.45, rel=1e-12)
    assert b2["volume_m3"] == pytest.approx(8 * Q, rel=1e-12)
    assert b2["feeds"]["fa"]["volume_m3"] == pytest.approx(4 * Q, rel=1e-12)
    assert b3["feeds"]["fa"]["lots"] == {"B": pytest.approx(1.0)}
    assert b3["feeds"]["fb"]["lots"] == {"A": 1.0}
    assert b1["complete"] and b2["complete"] and not b3["complete"]


def test_batch_by_amount_hand_case():
    """Mass flow m0 = Q x 1 mol/m^3 x M; the dip's flanks [11.5, 12] and
    [14, 14.5] carry 0.375 m0 s each: cuts at 10 s, at 22.25 s, and a
    partial last batch of 7.75 m0 s."""
    m0 = Q * 1.0 * M_P
    tr = evaluate_tracking(genealogy_run(), {"conc.P": ">= 0.5"}, batch={"amount": 10 * m0})
    cuts = [(b["start_s"], b["end_s"]) for b in tr["batches"]]
    assert cuts == [pytest.approx((0.0, 10.0)), pytest.approx((10.0, 22.25)),
                    pytest.approx((22.25, 30.0))]
    assert [b["product_kg"] for b in tr["batches"]] == \
        [pytest.approx(10 * m0), pytest.approx(10 * m0), pytest.approx(7.75 * m0)]
    assert [b["complete"] for b in tr["batches"]] == [True, True, False]


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("spec, entry, words", [
    ({"product.purityy": ">= 70"}, "spec.product.purityy", "unknown specification"),
    ({"conc.XYZ": "<= 1 mol/L"}, "spec.conc.XYZ", "unknown species 'XYZ'"),
    ({"impurity.P": "<= 1"}, "spec.impurity.P", "is the product"),
    ({"conc.I": "<= 5 K"}, "spec.conc.I", "concentration"),
    ({"conc.I": "between 0.3 and 0.2 mol/L"}, "spec.conc.I", "empty band"),
    ({"conc.I": 5}, "spec.conc.I", "expected a condition"),
    ({"conc.I": ["<= 1 mol/L", "about 2"]}, "spec.conc.I[1]", "cannot read"),
    ({"product.purity_mol_percent": ">= 70 mol/L"}, "spec.product.purity_mol_percent",
     "expected a number"),
])
def test_bad_spec_names_the_entry(spec, entry, words):
    run = rising_run(10.0)
    with pytest.raises(InputError) as err:
        evaluate_tracking(run, spec, where=Location("scenario.yaml"))
    assert err.value.source == "scenario.yaml"
    assert err.value.location == entry
    assert words in err.value.problem


def test_bad_batch_and_margin_and_missing_product():
    run = rising_run(10.0)
    with pytest.raises(InputError, match="batch"):
        evaluate_tracking(run, {"conc.P": ">= 0.5"}, batch={"weeks": 2})
    with pytest.raises(InputError, match="batch.amount"):
        evaluate_tracking(run, {"conc.P": ">= 0.5"}, batch={"amount": "2 parsecs"})
    with pytest.raises(InputError, match="divert.margin"):
        evaluate_tracking(run, {"conc.P": ">= 0.5"}, divert_margin_s=-1.0)
    with pytest.raises(InputError, match="needs the route's product"):
        parse_tracking_spec({"product.purity_mol_percent": ">= 70"}, SPECIES, None)


def test_json_keys_as_design():
    tr = evaluate_tracking(dips_run(), {"conc.P": ">= 0.5 mol/L"}, divert_margin_s=1.0)
    d = json.loads(json.dumps(tracking_to_dict(tr)))
    assert set(d) >= {"product", "diversion", "startup", "lots"}
    assert d["product"]["stream"] == "OUT"
    assert len(d["product"]["in_spec"]) == 101
    assert d["diversion"][0]["start_s"] == pytest.approx(26.5)
    assert set(d["diversion"][0]) >= {"start_s", "end_s", "volume_m3", "product_kg"}
    assert set(d["startup"]) >= {"first_in_spec_s", "product_before_kg"}


# --------------------------------------------------------------------------- route RTD

TANK_TUBE_TANK = """
name: rtd
mechanism:
  species: [{name: A}, {name: B}]
  reactions: [{equation: A => B, rate: {k: 0.0}}]
feeds:
  - {name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}
  - {name: g, flow: 3 mL/min, T: 25 degC, conc: {B: 1 mol/L}}
operations:
  - {name: T1, type: cstr, from: f, volume: 1 mL}
  - {name: M1, type: mixer, from: [T1, g]}
  - {name: P1, type: pfr, from: M1, volume: 8 mL}
  - {name: T2, type: cstr, from: P1, volume: 12 mL}
product: {from: T2, species: B, basis: A}
"""


@pytest.fixture(scope="module")
def tank_tube_tank():
    import yaml

    from flowchem.process.route import Route

    return Route.from_dict(yaml.safe_load(TANK_TUBE_TANK))


def test_route_rtd_tank_tube_tank_against_closed_form(tank_tube_tank):
    """f: tank 60 s, then (at 4 mL/min) a plug-flow delay of 120 s and a
    tank of 180 s: F(t) = 1 - (t1 e^-s/t1 - t2 e^-s/t2)/(t1 - t2), s = t - 120 s.
    The numerical convolution agrees to 2e-5 in F; f is 1/4 of the product."""
    from flowchem.process.route_rtd import compare_rtd, route_rtd

    r = route_rtd(tank_tube_tank, "f", model="ideal")
    assert r.fraction == pytest.approx(0.25, rel=1e-12)
    assert [p["operations"] for p in r.paths] == [["T1", "M1", "P1", "T2"]]
    t1, td, t2 = 60.0, 120.0, 180.0
    t = np.linspace(0.0, 3000.0, 6001)
    s = np.maximum(t - td, 0.0)
    exact = np.where(t > td, 1 - (t1 * np.exp(-s / t1) - t2 * np.exp(-s / t2)) / (t1 - t2), 0.0)
    cmp = compare_rtd(r.F(t), t, exact, mean_s=t1 + td + t2)
    assert cmp["max_abs"] < 2e-5
    assert cmp["l1_rel"] < 1e-5
    assert r.mean == pytest.approx(t1 + td + t2, rel=1e-5)
    np.testing.assert_allclose(r.tracer(t), 0.25 * r.F(t), rtol=1e-15)
    # the dynamic model's tube of N cells is N tanks: feed g sees Erlang(N) * tank
    g = route_rtd(tank_tube_tank, "g", model="cells", cells=50)
    assert g.fraction == pytest.approx(0.75, rel=1e-12)
    assert g.mean == pytest.approx(td + t2, rel=1e-5)
    # variance of the path: 120^2/50 + 180^2 (tanks in series add variances)
    assert g.paths[0]["rtd"].variance == pytest.approx(td ** 2 / 50 + t2 ** 2, rel=1e-4)


def test_route_rtd_bad_feed(tank_tube_tank):
    from flowchem.process.route_rtd import route_rtd

    with pytest.raises(InputError, match="unknown feed 'h'"):
        route_rtd(tank_tube_tank, "h")


# --------------------------------------------------------------------------- figures and HTML

def test_figures_and_html(tmp_path):
    from flowchem.reporting.dynamic_figures import write_dynamic_figures
    from flowchem.reporting.dynamic_html import write_dynamic_html
    from flowchem.reporting.html import PNG_SIGNATURE

    run = genealogy_run()
    run.events = [{"time_s": 12.0, "feed": "fa", "what": "flow", "text": "pump stall"}]
    tr = evaluate_tracking(run, {"conc.P": ">= 0.5", "impurity.I": "<= 1"},
                           divert_margin_s=0.5, batch={"run_time": "10 s"})
    figs = write_dynamic_figures(run, tr, tmp_path)
    assert set(figs) == {"dynamic_product", "lot_funnel"}     # no energy balance: no T figure
    for p in figs.values():
        assert p.read_bytes().startswith(PNG_SIGNATURE)
    page = write_dynamic_html(run, tr, tmp_path / "dyn.html", figures=figs).read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "pump stall" in page and "Lot-to-batch genealogy" in page
    # window [11.5, 14.5] s in min, and the lot's 50 % time (15 s in min) in the tables
    assert "0.1917" in page and "0.2417" in page and "0.25" in page
    assert tr["lots"]["fa:B"]["t50_s"] == pytest.approx(15.0, rel=1e-12)


# --------------------------------------------------------------------------- with the dynamic model

def test_dynamic_run_against_the_route_rtd(tank_tube_tank, tmp_path):
    """The network model (tubes as 50 cells) against the convolution of the
    unit RTDs of the same model: the F-curve of a step after a lot change
    from the steady state, the start-up diversion edge of a run from solvent
    (B comes only with feed g: c_B = 0.75 x 1 mol/L x F_g(t)) and the lot
    funnel of the same run (fraction F_f(t - t_lot) / F_f(t))."""
    pytest.importorskip("flowchem.process.dynamic")
    from scipy.optimize import brentq

    from flowchem.process.dynamic import simulate_dynamic
    from flowchem.process.route_rtd import route_rtd, route_rtd_from_dynamic

    out = route_rtd_from_dynamic(tank_tube_tank, "f", cells=50, n_out=1000)
    assert out["comparison"]["max_abs"] < 2e-5
    assert out["comparison"]["l1_rel"] < 2e-5
    from flowchem.reporting.dynamic_figures import write_rtd_comparison_figure
    from flowchem.reporting.html import PNG_SIGNATURE

    assert write_rtd_comparison_figure(out, tmp_path / "rtd.png").read_bytes().startswith(
        PNG_SIGNATURE)

    t_lot = 600.0
    run = simulate_dynamic(tank_tube_tank, {
        "duration": "1800 s", "start": "filled-with-solvent", "output": {"interval": "1 s"},
        "discretisation": {"scheme": "upwind", "cells": 50}, "events": [{"at": f"{t_lot} s", "feed": "f", "lot": "B"}]})
    tr = evaluate_tracking(run, {"conc.B": ">= 0.5 mol/L"}, batch={"run_time": "10 min"})
    Fg = route_rtd(tank_tube_tank, "g", model="cells", cells=50)
    Ff = route_rtd(tank_tube_tank, "f", model="cells", cells=50)
    edge = tr["diversion"][0]["end_s"]
    assert tr["diversion"][0]["start_s"] == 0.0
    assert edge == pytest.approx(Fg.quantile(0.5 / 0.75), rel=1e-4)
    assert tr["startup"]["first_in_spec_s"] == edge
    for key, p in (("t01_s", 0.01), ("t50_s", 0.5), ("t99_s", 0.99)):
        exact = brentq(lambda x: float(Ff.F(x - t_lot)) / float(Ff.F(x)) - p,
                       t_lot + 1e-6, 1800.0, xtol=1e-9)
        assert tr["lots"]["f:B"][key] == pytest.approx(exact, abs=0.05), key
    # batch 1 (10 min from the edge): lot B's share of f's material is
    # int F_f(t - t_lot) dt / int F_f(t) dt over the batch (constant flow)
    from scipy.integrate import quad

    first = tr["batches"][0]
    a, b = first["start_s"], first["end_s"]
    assert (a, b) == (edge, pytest.approx(edge + 600.0))
    share = quad(lambda x: float(Ff.F(x - t_lot)), a, b, points=[t_lot], limit=200)[0] / \
        quad(lambda x: float(Ff.F(x)), a, b, limit=200)[0]
    assert first["feeds"]["f"]["lots"]["B"] == pytest.approx(share, abs=1e-4)
    for b in tr["batches"]:
        assert sum(b["feeds"]["f"]["lots"].values()) == pytest.approx(1.0, abs=1e-9)


def test_bands_and_units_of_spec_conditions():
    """A unit after the upper value applies to a bare lower one; percent
    and mol % read alike; a list is the conjunction of its conditions."""
    entries = parse_tracking_spec({"product.conc": "between 0.1 and 0.2 mol/L",
                                   "product.purity_mol_percent": "between 50 and 80 %",
                                   "conc.I": ["<= 2 mmol/L", ">= 0.5 mmol/L"],
                                   "product.yield": ">= 85 %"}, SPECIES, "P")
    bounds = {e.key: [(c.upper, c.bound) for c in e.constraints] for e in entries}
    assert bounds["product.conc"] == [(False, pytest.approx(100.0)), (True, pytest.approx(200.0))]
    assert entries[0].column == "product.conc.P"
    assert bounds["product.purity_mol_percent"] == [(False, 50.0), (True, 80.0)]
    assert bounds["conc.I"] == [(True, pytest.approx(2.0)), (False, pytest.approx(0.5))]
    assert bounds["product.yield"] == [(False, pytest.approx(0.85))]
