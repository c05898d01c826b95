"""Dynamic operation of a route (flowchem.process.dynamic): the cell network
against closed forms (CSTR, Erlang, first order after a feed step, the
upwind tube's delay), against ``flowchem run`` (long-time limits), mass
conservation, bad scenarios on the command line and the lomustine scenario
end to end."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate as sint
from scipy import stats

from flowchem.cli import main
from flowchem.core.errors import InputError
from flowchem.core.yamlio import read_yaml
from flowchem.process.dynamic import load_scenario, scenario_from_dict, simulate_dynamic
from flowchem.process.route import Route

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "lomustine"
K = 0.01          # 1/s, A => B
C_IN = 1000.0     # mol/m^3
Q = 1e-6 / 60     # 1 mL/min
MECH = {"species": [{"name": "A", "formula": "C4H8O"}, {"name": "B", "formula": "C4H8O"},
                    {"name": "S", "formula": "C2H6O"}],
        "reactions": [{"equation": "A => B", "rate": {"k": K}, "dH": "-50 kJ/mol"}]}


def _route(operations, feeds=None, product=True, properties=None):
    data = {"mechanism": MECH,
            "feeds": feeds or [{"name": "f", "flow": "1 mL/min", "T": 300,
                                "conc": {"A": "1 mol/L"}}],
            "operations": operations}
    if product:
        data["product"] = {"from": operations[-1]["name"] if product is True else product,
                           "species": "B", "basis": "A"}
    if properties:
        data["properties"] = properties
    return Route.from_dict(data)


def _run(route, **scenario):
    scenario.setdefault("rtol", 1e-10)
    scenario.setdefault("atol", 1e-9)
    return simulate_dynamic(route, scenario)


# ------------------------------------------------------------------ closed forms
def test_cstr_tracer_step_and_first_order_after_a_feed_step():
    """CSTR (tau = 600 s) filled with solvent: tracer 1 - exp(-t/tau); A
    after the start and after a step of the feed concentration at 1800 s
    follows dA/dt = (c_in - A)/tau - k A exactly (closed form below)."""
    tau = 600.0
    route = _route([{"name": "R", "type": "cstr", "from": "f", "volume": "10 mL", "T": 300}])
    res = _run(route, duration="1 h", output={"interval": "20 s"},
               events=[{"at": "30 min", "feed": "f", "conc.A": "2 mol/L"}])
    t = res.time_s
    tracer = res.streams["R"].tracers["feed:f"]
    assert np.max(np.abs(tracer - (1 - np.exp(-t / tau)))) < 1e-7
    lam = 1 / tau + K
    t_e = 1800.0
    # the event time is output twice: the left limit, then the value after it
    assert np.count_nonzero(t == t_e) == 2
    before = np.arange(t.size) <= np.flatnonzero(t == t_e)[0]
    A1 = C_IN / tau / lam * (1 - np.exp(-lam * t))
    A_e = C_IN / tau / lam * (1 - np.exp(-lam * t_e))
    A2 = 2 * C_IN / tau / lam + (A_e - 2 * C_IN / tau / lam) * np.exp(-lam * (t - t_e))
    ref = np.where(before, A1, A2)
    A = res.conc("R", "A")
    assert np.max(np.abs(A - ref)) / C_IN < 1e-7
    # A + B is a tracer of the feed's A: c_in (1 - e^(-t/tau)), then the step
    total = np.where(before, C_IN * (1 - np.exp(-t / tau)),
                     2 * C_IN + (C_IN * (1 - np.exp(-t_e / tau)) - 2 * C_IN)
                     * np.exp(-(t - t_e) / tau))
    assert np.max(np.abs(A + res.conc("R", "B") - total)) / C_IN < 1e-7


@pytest.mark.parametrize("backend", ["kernel", "scipy"])
def test_ramp_of_a_dilute_solute_in_solvent_follows_the_closed_form_at_tight_rtol(backend):
    """Regression (issue 11): the default atol was 1e-9 times the largest feed
    concentration (the solvent, 17 mol/L here), 1.7e-5 mol/m^3 whatever the
    rtol, so a dilute solute's error stalled near 1e-6 relative (kernel 3e-6,
    scipy BDF 9e-6 here at rtol 1e-10) and every ramp comparison against a
    tight reference disagreed. CSTR (tau = 600 s) at steady state, feed A
    ramped 2 -> 3 mmol/L over 10 min at 20 min: dA/dt = c_in(t)/tau - lam A
    (lam = 1/tau + k) has the closed form below (linear particular solution
    during the ramp, exponential relaxation after it)."""
    tau, a, c1, t_e, ramp = 600.0, 2.0, 3.0, 1200.0, 600.0
    route = _route([{"name": "R", "type": "cstr", "from": "f", "volume": "10 mL", "T": 300}],
                   feeds=[{"name": "f", "flow": "1 mL/min", "T": 300,
                           "conc": {"A": "2 mmol/L", "S": "17 mol/L"}}])
    res = simulate_dynamic(route, {"duration": "1 h", "start": "steady-state", "rtol": 1e-10,
                                   "output": {"interval": "20 s"},
                                   "events": [{"at": "20 min", "feed": "f", "conc.A": "3 mmol/L",
                                               "ramp": "10 min"}]}, backend=backend)
    lam = 1 / tau + K
    beta = (c1 - a) / ramp / (tau * lam)
    alpha = (a / tau - beta) / lam
    c0, c_end = a / (tau * lam), c1 / (tau * lam)
    t = res.time_s
    s = np.clip(t - t_e, 0.0, ramp)
    during = alpha + beta * s + (c0 - alpha) * np.exp(-lam * s)
    after = c_end + (during - c_end) * np.exp(-lam * np.maximum(t - t_e - ramp, 0.0))
    ref = np.where(t <= t_e, c0, after)
    assert np.max(np.abs(res.conc("R", "A") - ref)) / c1 < 1e-8


def test_cascade_of_three_tanks_is_erlang():
    """Tracer step through 3 equal tanks (600 s each): the Erlang-3 CDF."""
    route = _route([{"name": "R", "type": "cstr_cascade", "from": "f", "n": 3,
                     "volume": "30 mL", "T": 300}])
    res = _run(route, duration="1 h", output={"interval": "30 s"})
    F = stats.gamma.cdf(res.time_s, 3, scale=600.0)
    assert np.max(np.abs(res.streams["R"].tracers["feed:f"] - F)) < 1e-7


def test_upwind_tube_step_response_tends_to_a_delay_at_order_one_half():
    """A plug-flow tube of N upwind cells answers a step with the Erlang-N
    CDF; its L1 distance to the pure delay at tau falls as N^-1/2."""
    tau = 600.0
    route = _route([{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300}])
    l1 = {}
    for N in (50, 200, 800):
        res = _run(route, duration=f"{2 * tau} s", output={"interval": f"{tau / 1000} s"},
                   discretisation={"scheme": "upwind", "cells": N}, rtol=1e-8, atol=1e-8)
        t = res.time_s
        F = res.streams["R"].tracers["feed:f"]
        assert np.max(np.abs(F - stats.gamma.cdf(t, N, scale=tau / N))) < 1e-5
        l1[N] = sint.trapezoid(np.abs(F - (t >= tau)), t)
        # E|X - tau| of X ~ Gamma(N, tau/N), independently by quadrature
        ref = sint.quad(lambda s: stats.gamma.cdf(s, N, scale=tau / N), 0, tau, limit=200)[0] + \
            sint.quad(lambda s: stats.gamma.sf(s, N, scale=tau / N), tau, 4 * tau, limit=200)[0]
        assert l1[N] == pytest.approx(ref, rel=2e-3)
    order = math.log(l1[50] / l1[800]) / math.log(16)
    assert 0.45 < order < 0.55
    assert l1[800] < 0.03 * tau


def test_tube_long_time_limit_is_the_cascade_and_converges_to_plug_flow_at_order_one():
    """The tube's steady state equals ``flowchem run`` of the same route with
    a cascade of N tanks (to 1e-6) and differs from the ideal PFR by O(1/N)."""
    tube = [{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300}]
    pfr = _route(tube).run().streams["R"]["A"]
    assert pfr == pytest.approx(C_IN * math.exp(-K * 600.0), rel=1e-6)
    diff = {}
    for N in (50, 100, 200):
        res = _run(_route(tube), duration="10 s", start="steady-state",
                   discretisation={"scheme": "upwind", "cells": N}, output={"interval": "5 s"},
                   rtol=1e-10, atol=1e-10)
        A = res.conc("R", "A")[-1]
        if N == 50:
            cascade = _route([{"name": "R", "type": "cstr_cascade", "from": "f", "n": N,
                               "volume": "10 mL", "T": 300}]).run().streams["R"]
            for sp in ("A", "B"):
                assert res.conc("R", sp)[-1] == pytest.approx(cascade[sp], rel=1e-6)
        diff[N] = abs(A - pfr)
    for a, b in ((50, 100), (100, 200)):
        assert 0.9 < math.log(diff[a] / diff[b]) / math.log(2) < 1.1


def test_default_grid_follows_the_state_budget():
    """Without ``cells`` a small route gets the finest default grid
    (A, B, S, one feed tracer and T: 5 states per cell; 8000 // 5 > 1000, so
    1000 cells), and the tube's long-time limit is then that of 1000 tanks:
    A_in / (1 + k tau / 1000)^1000, by hand."""
    from flowchem.process.dynamic import default_tube_cells

    assert default_tube_cells(1, 5) == 1000
    assert default_tube_cells(2, 21) == 200          # the lomustine route: 8000 // 42 = 190
    assert default_tube_cells(3, 8) == 333
    # collocation elements hold two nodes: 8000 // 10 = 800 -> 500 elements at most
    assert default_tube_cells(1, 5, "collocation") == 500
    assert default_tube_cells(2, 21, "collocation") == 100
    assert default_tube_cells(3, 8, "collocation") == 166
    tube = [{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300}]
    res = _run(_route(tube), duration="10 s", start="steady-state", output={"interval": "5 s"},
               discretisation={"scheme": "upwind"})
    assert res.stats["cells_per_tube"] == 1000 and res.stats["cells"] == 1000
    tanks = C_IN / (1.0 + K * 600.0 / 1000) ** 1000
    assert res.conc("R", "A")[-1] == pytest.approx(tanks, rel=1e-6)
    # five times closer to plug flow than the old fixed 200 cells (error ~ 1/N)
    pfr = C_IN * math.exp(-K * 600.0)
    tanks_200 = C_IN / (1.0 + K * 600.0 / 200) ** 200
    assert (tanks_200 - pfr) / (res.conc("R", "A")[-1] - pfr) == pytest.approx(5.0, rel=0.02)


def test_collocation_tube_long_time_limit_is_flowchem_run_at_third_order():
    """Two-node Radau collocation elements (the default scheme): the tube's
    steady state is Radau IIA on the steady plug-flow equations, so its
    outlet differs from ``flowchem run`` (exp(-k tau)) at third order in the
    element length, and the default grid reaches it to 1e-6 of the stream."""
    tube = [{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300}]
    pfr = C_IN * math.exp(-K * 600.0)
    diff = {}
    for N in (25, 50, 100):
        res = _run(_route(tube), duration="10 s", start="steady-state",
                   discretisation={"cells": N, "grading": 1}, output={"interval": "5 s"},
                   rtol=1e-10, atol=1e-10)
        assert res.stats["discretisation"]["R"] == {"scheme": "collocation", "elements": N,
                                                    "nodes": 2 * N}
        diff[N] = abs(res.conc("R", "A")[-1] - pfr)
    for a, b in ((25, 50), (50, 100)):
        assert 2.9 < math.log(diff[a] / diff[b]) / math.log(2) < 3.1
    # Radau IIA's stability function (1 + z/3)/(1 - 2z/3 + z^2/6) = e^z - z^4/72 + ...
    # (z = -k h): relative error z^4/72 per element, N of them: (k tau)^4 / (72 N^3)
    assert diff[100] / pfr == pytest.approx((K * 600.0) ** 4 / (72 * 100 ** 3), rel=0.05)
    res = _run(_route(tube), duration="10 s", start="steady-state", output={"interval": "5 s"})
    assert res.stats["cells_per_tube"] == 500            # 5 states per node: 8000 // 10
    assert res.steady_state["max_rel_difference"] < 1e-6


def test_collocation_cooled_tube_with_reaction_heat_reaches_flowchem_run():
    """A cooled tube with reaction heat: concentrations and temperature of
    the long-time limit against ``flowchem run``, third order in the
    element length (T carried by the same collocation operator)."""
    feeds = [{"name": "f", "flow": "1 mL/min", "T": 330, "conc": {"A": "1 mol/L"}}]
    ops = [{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "diameter": "2 mm",
            "energy": {"U": "50 W/m^2/K", "coolant_T": 300}}]
    route = _route(ops, feeds, properties={"density": "0.8 g/mL", "cp": "2.0 kJ/kg/K",
                                           "viscosity": "1 mPa*s"})
    steady = route.run().streams["R"]
    dT, dA = {}, {}
    for N in (25, 50):
        res = _run(route, duration="10 s", start="steady-state", output={"interval": "5 s"},
                   discretisation={"cells": N, "grading": 1})
        dT[N] = abs(res.streams["R"].T_K[-1] - steady.T)
        dA[N] = abs(res.conc("R", "A")[-1] / steady["A"] - 1)
    assert 2.8 < math.log(dA[25] / dA[50]) / math.log(2) < 3.2
    assert 2.8 < math.log(dT[25] / dT[50]) / math.log(2) < 3.2
    # the default grid: 500 elements graded from the steady profile
    res = _run(route, duration="10 s", start="steady-state", output={"interval": "5 s"})
    assert res.stats["discretisation"]["R"]["elements"] == 500
    assert res.steady_state["max_rel_difference"] < 1e-6
    assert abs(res.streams["R"].T_K[-1] - steady.T) < 1e-6


def test_plug_flow_tube_time_course_after_a_feed_step_is_the_delayed_closed_form():
    """A first-order reaction in a plug-flow tube (tau = 600 s) at steady
    state, feed A doubled at 10 min: the outlet is A_in exp(-k tau) until
    10 min + tau and twice that after (closed form). On the default grid
    (500 elements) the time course is within 1e-3 of it outside 5 % of tau
    around the front and within 1e-5 outside 10 % (upwind cells: 8 % and
    3.6 %)."""
    tube = [{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300}]
    tau = 600.0
    res = _run(_route(tube), duration="60 min", start="steady-state", output={"interval": "2 s"},
               events=[{"at": "10 min", "feed": "f", "conc.A": "2 mol/L"}], rtol=1e-8, atol=1e-8)
    t = res.time_s
    scale = C_IN * math.exp(-K * tau)
    exact = np.where(t < 600.0 + tau, 1.0, 2.0) * scale
    error = np.abs(res.conc("R", "A") - exact) / scale
    distance = np.abs(t - (600.0 + tau))
    assert np.max(error[distance > 0.05 * tau]) < 1e-3
    assert np.max(error[distance > 0.10 * tau]) < 1e-5


def test_graded_elements_follow_a_fast_second_order_reaction():
    """A + B => P at equal feed concentrations, k A0 tau = 300: A = A0/(1 + k A0 t)
    along the tube (closed form) falls by 300x, most of it in the first
    percent. Elements graded from the steady profile (``grading: auto``, the
    default) reach the closed form at third order and 250 times closer than
    uniform elements at 100 elements."""
    from flowchem.process.dynamic import profile_element_fractions

    k, A0, tau = 1e-3, 500.0, 600.0
    mech = {"species": [{"name": "A", "formula": "C2H4O"}, {"name": "B", "formula": "C2H4O"},
                        {"name": "P", "formula": "C4H8O2"}],
            "reactions": [{"equation": "A + B => P", "rate": {"k": k}}]}
    route = Route.from_dict({
        "mechanism": mech,
        "feeds": [{"name": "f", "flow": "1 mL/min", "T": 300,
                   "conc": {"A": "0.5 mol/L", "B": "0.5 mol/L"}}],
        "operations": [{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300}],
        "product": {"from": "R", "species": "P", "basis": "A"}})
    exact = A0 / (1 + k * A0 * tau)
    err = {}
    for grading, N in (("auto", 50), ("auto", 100), (1, 100)):
        res = _run(route, duration="10 s", start="steady-state", output={"interval": "5 s"},
                   discretisation={"cells": N, "grading": grading})
        err[grading, N] = abs(res.conc("R", "A")[-1] - exact) / A0
    assert 2.8 < math.log(err["auto", 50] / err["auto", 100]) / math.log(2) < 3.2
    assert err["auto", 100] < 1e-7
    assert err[1, 100] > 100 * err["auto", 100]
    # the density: half uniform, half where the profile changes: the first
    # element is far shorter than 1/N, none is longer than 2/N
    x = np.linspace(0.0, 1.0, 4001) ** 2
    A = A0 / (1 + k * A0 * tau * x)
    f = profile_element_fractions(x, np.column_stack([A, A, A0 - A]), 100)
    assert f.sum() == pytest.approx(1.0, rel=1e-12)
    assert f[0] < 0.1 / 100 and f.max() < 2.0 / 100


def test_collocation_step_response_tends_to_a_delay_faster_than_upwind():
    """Tracer step into a plug-flow tube of N collocation elements: the L1
    distance of the F-curve to the delay at tau falls at order 3/4 (the
    rate of linear discontinuous elements at a discontinuity), against 1/2
    for upwind cells; on the same 200 states it is more than 4 times smaller
    than the upwind cells' (Erlang-200, computed independently by quadrature).
    The price: the front over- and undershoots (Gibbs), by under 8 %."""
    tau = 600.0
    route = _route([{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300}])
    l1 = {}
    for N in (25, 100, 400):
        res = _run(route, duration=f"{2 * tau} s", output={"interval": f"{tau / 2000} s"},
                   discretisation={"cells": N, "grading": 1}, rtol=1e-8, atol=1e-8)
        t = res.time_s
        F = res.streams["R"].tracers["feed:f"]
        l1[N] = sint.trapezoid(np.abs(F - (t >= tau)), t)
        assert -0.08 < F.min() and F.max() < 1.05
    for a, b in ((25, 100), (100, 400)):
        assert 0.7 < math.log(l1[a] / l1[b]) / math.log(4) < 0.8
    erlang_200 = sint.quad(lambda s: stats.gamma.cdf(s, 200, scale=tau / 200), 0, tau,
                           limit=200)[0] + \
        sint.quad(lambda s: stats.gamma.sf(s, 200, scale=tau / 200), tau, 4 * tau, limit=200)[0]
    assert erlang_200 / l1[100] > 4.0


def test_dispersion_tube_long_time_limit_is_wehner_wilhelm_at_second_order():
    """Cells with the upwind link u/dz and the exchange D/dz^2 - u/(2 dz) are
    the conservative central scheme with Danckwerts' closed-vessel
    boundaries: the long-time first-order conversion tends to the
    Wehner-Wilhelm closed form at the tube's own Pe (no grid dispersion), at
    second order (the scheme's error constant is large here, k tau = 6 at
    Pe = 20: 7e-3 at 50 cells, 4.6e-4 at 200; the old exchange D/dz^2
    converged to Pe_eff = 1/(1/Pe + 1/(2N)) instead, 1.2 % off at 200)."""
    ops = [{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300,
            "flow_model": "dispersion", "Pe": 20}]
    Pe, Da = 20.0, K * 600.0
    a = math.sqrt(1 + 4 * Da / Pe)
    ww = 4 * a * math.exp(Pe / 2) / ((1 + a) ** 2 * math.exp(a * Pe / 2)
                                     - (1 - a) ** 2 * math.exp(-a * Pe / 2))
    err = {}
    for N in (50, 100, 200):
        res = _run(_route(ops), duration="10 s", start="steady-state",
                   discretisation={"cells": N}, output={"interval": "5 s"})
        err[N] = abs(res.conc("R", "A")[-1] / C_IN / ww - 1)
    assert err[200] < 5e-4
    for a_, b_ in ((50, 100), (100, 200)):
        assert 1.9 < math.log(err[a_] / err[b_]) / math.log(2) < 2.1
    steady = _route(ops).run().streams["R"]
    # flowchem run (the steady dispersion solver on its own grid) for scale
    assert steady["A"] / C_IN == pytest.approx(ww, rel=5e-5)


def test_dispersion_tube_tracer_step_is_the_closed_vessel_f_curve():
    """A tracer step into a dispersion tube (Pe = 20, tau = 600 s) from
    solvent: the outlet follows the closed-vessel F(t) of the dispersion
    model (flowchem.rtd.DispersionRTD, its own series / Fourier inversion of
    the Danckwerts transfer function) at second order in the cells, to 1e-5
    on the default grid."""
    from flowchem.rtd import DispersionRTD

    ops = [{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300,
            "flow_model": "dispersion", "Pe": 20}]
    ref = DispersionRTD(600.0, 20.0)
    err = {}
    for N in (100, 200, None):
        res = _run(_route(ops), duration="40 min", output={"interval": "2 s"},
                   discretisation={"cells": N} if N else {}, rtol=1e-8, atol=1e-8)
        t = res.time_s
        err[N] = np.max(np.abs(res.streams["R"].tracers["feed:f"] - ref.F(t)))
    assert 1.9 < math.log(err[100] / err[200]) / math.log(2) < 2.1
    assert err[None] < 1e-5


def test_dispersion_tube_above_cell_peclet_two_falls_back_to_upwind():
    """Pe = 400 on 50 cells (cell Peclet 8): the central exchange would be
    negative, so the cells are upwind without exchange: exactly 50 tanks in
    series (the numerical dispersion u dz/2 replaces D). Without ``cells``
    the default grid (1,000 cells for this small route, at least Pe/2) keeps
    the cell Peclet number below 2 and the physical Pe."""
    ops = [{"name": "R", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300,
            "flow_model": "dispersion", "Pe": 400}]
    Da = K * 600.0

    def ww(Pe):
        a = math.sqrt(1 + 4 * Da / Pe)
        return 4 * a * math.exp(Pe / 2) / ((1 + a) ** 2 * math.exp(a * Pe / 2)
                                           - (1 - a) ** 2 * math.exp(-a * Pe / 2))

    res = _run(_route(ops), duration="10 s", start="steady-state",
               discretisation={"cells": 50}, output={"interval": "5 s"})
    tanks = C_IN / (1.0 + Da / 50) ** 50            # upwind cells without exchange: 50 tanks
    assert res.conc("R", "A")[-1] == pytest.approx(tanks, rel=1e-6)
    res = _run(_route(ops), duration="10 s", start="steady-state", output={"interval": "5 s"})
    assert res.stats["discretisation"]["R"] == {"scheme": "central", "cells": 1000}
    assert res.conc("R", "A")[-1] / C_IN == pytest.approx(ww(400.0), rel=2e-4)


def test_mixer_cooled_tank_and_separator_reach_flowchem_run():
    """Mixer (two liquids of different rho*cp), a cooled CSTR with reaction
    heat and a separator: the long-time limit is the steady route (tanks
    only: no discretisation error) to 1e-6."""
    feeds = [{"name": "f", "flow": "1 mL/min", "T": 310, "conc": {"A": "1 mol/L"}},
             {"name": "w", "flow": "0.5 mL/min", "T": 290, "conc": {"S": "2 mol/L"},
              "properties": {"density": "1.0 g/mL", "cp": "4.18 kJ/kg/K", "viscosity": "1 mPa*s"}}]
    ops = [{"name": "M", "type": "mixer", "from": ["f", "w"]},
           {"name": "R", "type": "cstr", "from": "M", "volume": "10 mL",
            "energy": {"U": "200 W/m^2/K", "coolant_T": 300, "area": "10 cm^2"}},
           {"name": "S1", "type": "separator", "from": ["R"], "phase_ratio": 1.0,
            "partition": {"A": 3.0, "B": 0.5, "S": 0.1}}]
    route = _route(ops, feeds, product="S1.organic",
                   properties={"density": "0.8 g/mL", "cp": "2.0 kJ/kg/K", "viscosity": "1 mPa*s"})
    steady = route.run()
    res = _run(route, duration="10 s", start="steady-state", output={"interval": "5 s"},
               rtol=1e-11, atol=1e-10)
    for name in ("M", "R", "S1.organic", "S1.aqueous"):
        s = steady.streams[name]
        c = res.streams[name].conc_mol_per_m3[-1]
        assert np.max(np.abs(c - s.conc)) / np.max(s.conc) < 1e-6, name
        assert abs(res.streams[name].T_K[-1] - s.T) < 1e-5, name
        assert res.streams[name].flow_m3_per_s[-1] == pytest.approx(s.flow, rel=1e-12)
    assert res.steady_state["max_rel_difference"] < 1e-6
    assert steady.streams["R"].T > 301.0          # the reaction heat shows


def test_splitter_heat_exchanger_and_quench_long_time_limits():
    """Splitter, heat exchanger, a tank keeping its inlet T, a mixer and a
    quench hold: tanks reach ``flowchem run`` to 1e-6; the quench hold of
    N_q cells gives A_in/(1 + k t_hold/N_q)^N_q after its mixing."""
    feeds = [{"name": "f", "flow": "1 mL/min", "T": 300, "conc": {"A": "1 mol/L"}},
             {"name": "w", "flow": "0.5 mL/min", "T": 300, "conc": {"S": "1 mol/L"}}]
    ops = [{"name": "SP", "type": "splitter", "from": "f", "fractions": [0.3, 0.7]},
           {"name": "HX", "type": "heat_exchanger", "from": "SP.1", "T": 320},
           {"name": "R1", "type": "cstr", "from": "HX", "volume": "2 mL"},
           {"name": "R2", "type": "cstr", "from": "SP.2", "volume": "4 mL", "T": 300},
           {"name": "M", "type": "mixer", "from": ["R1", "R2"]},
           {"name": "Q", "type": "quench", "from": ["M", "w"], "time": "60 s", "T": 300}]
    route = _route(ops, feeds)
    steady = route.run()
    res = _run(route, duration="10 s", start="steady-state", output={"interval": "5 s"},
               discretisation={"scheme": "upwind", "quench_cells": 8})
    for name in ("SP.1", "SP.2", "HX", "R1", "R2", "M"):
        s = steady.streams[name]
        assert np.max(np.abs(res.streams[name].conc_mol_per_m3[-1] - s.conc)) / C_IN < 1e-6, name
        assert res.streams[name].T_K[-1] == pytest.approx(s.T, abs=1e-6), name
    assert res.streams["R1"].T_K[-1] == pytest.approx(320.0, abs=1e-9)
    M = steady.streams["M"]
    dilution = M.flow / (M.flow + Q / 2)
    for sp, ref in (("A", M["A"] * dilution / (1 + K * 60 / 8) ** 8),
                    ("S", C_IN * 0.5 / 1.5)):
        assert res.conc("Q", sp)[-1] == pytest.approx(ref, rel=1e-6), sp
    assert res.streams["Q"].tracers["feed:w"][-1] == pytest.approx(1 / 3, rel=1e-9)
    # collocation elements (the default scheme): the hold reaches flowchem run too
    res = _run(route, duration="10 s", start="steady-state", output={"interval": "5 s"},
               discretisation={"quench_cells": 25})
    s = steady.streams["Q"]
    assert np.max(np.abs(res.streams["Q"].conc_mol_per_m3[-1] - s.conc)) / C_IN < 1e-6


def test_kernel_and_scipy_bdf_agree_through_events_with_energy():
    """The Rodas5P network kernel against scipy's BDF on the same equations:
    mixer, adiabatic tube, cooled tank and separator through a flow step, a
    feed temperature step and a coolant ramp."""
    feeds = [{"name": "f", "flow": "1 mL/min", "T": 310, "conc": {"A": "1 mol/L"}},
             {"name": "w", "flow": "0.5 mL/min", "T": 290, "conc": {"S": "2 mol/L"}}]
    ops = [{"name": "M", "type": "mixer", "from": ["f", "w"]},
           {"name": "T1", "type": "pfr", "from": "M", "volume": "3 mL", "energy": "adiabatic"},
           {"name": "R", "type": "cstr", "from": "T1", "volume": "5 mL",
            "energy": {"U": "200 W/m^2/K", "coolant_T": 300, "area": "10 cm^2"}},
           {"name": "S1", "type": "separator", "from": ["R"], "phase_ratio": 1.0,
            "partition": {"A": 3.0, "B": 0.5, "S": 0.1}}]
    route = _route(ops, feeds, product="S1.organic",
                   properties={"density": "0.8 g/mL", "cp": "2.0 kJ/kg/K", "viscosity": "1 mPa*s"})
    scenario = dict(duration="30 min", output={"interval": "20 s"}, discretisation={"cells": 10},
                    events=[{"at": "5 min", "feed": "w", "flow": "1 mL/min"},
                            {"at": "10 min", "feed": "f", "T": 330},
                            {"at": "15 min", "operation": "R", "coolant_T": 280, "ramp": "5 min"}],
                    rtol=1e-9, atol=1e-9)
    a = simulate_dynamic(route, scenario)
    b = simulate_dynamic(route, scenario, backend="scipy")
    assert a.stats["backend"] != b.stats["backend"]
    for name in ("T1", "R", "S1.organic"):
        ca, cb = a.streams[name].conc_mol_per_m3, b.streams[name].conc_mol_per_m3
        assert np.max(np.abs(ca - cb)) / C_IN < 1e-6, name
        assert np.max(np.abs(a.streams[name].T_K - b.streams[name].T_K)) < 1e-4, name
    assert np.ptp(a.streams["R"].T_K) > 5.0       # the events move the temperatures


def test_conservation_of_elements_through_events():
    """in - out - accumulation of every element over a run with a tube, a
    tank, a flow step and a concentration ramp closes to 1e-8."""
    feeds = [{"name": "f", "flow": "1 mL/min", "T": 300, "conc": {"A": "1 mol/L"}},
             {"name": "g", "flow": "1 mL/min", "T": 300, "conc": {"S": "0.5 mol/L"}}]
    ops = [{"name": "M", "type": "mixer", "from": ["f", "g"]},
           {"name": "T1", "type": "pfr", "from": "M", "volume": "5 mL", "T": 300},
           {"name": "R", "type": "cstr", "from": "T1", "volume": "5 mL", "T": 320}]
    route = _route(ops, feeds)
    res = _run(route, duration="40 min", output={"interval": "4 s"},
               discretisation={"cells": 20},
               events=[{"at": "10 min", "feed": "g", "flow": "2 mL/min"},
                       {"at": "15 min", "feed": "f", "conc.A": "0.5 mol/L", "ramp": "5 min"},
                       {"at": "25 min", "operation": "R", "T": 330}])
    closure = res.conservation["element_closure_rel"]
    assert set(closure) == {"C", "H", "O"}
    assert max(closure.values()) < 1e-8
    assert res.conservation["inert_species_closure_rel"]["S"] < 1e-8


def test_conservation_with_a_sharp_front_leaving_between_output_times():
    """A collocation tube at the route's outlet passes a front in a few of
    its 3 s elements, well inside one 30 s output interval: the balance
    integrals sample the outlet on a refined grid (the outlet node's 1/kappa
    is 1 s: ceil(30 s x 0.25 / 1 s) = 8 subdivisions) and close to 1e-8; the
    outputs stay on the 30 s grid."""
    ops = [{"name": "T1", "type": "pfr", "from": "f", "volume": "10 mL", "T": 300}]
    res = _run(_route(ops), duration="30 min", output={"interval": "30 s"},
               discretisation={"cells": 200, "grading": 1},
               events=[{"at": "15 min", "feed": "f", "conc.A": "2 mol/L"}])
    assert res.conservation["grid_refinement"] == 8
    assert max(res.conservation["element_closure_rel"].values()) < 1e-8
    assert np.allclose(np.diff(np.unique(res.time_s)), 30.0)


# ------------------------------------------------------------------ scenario files and CLI
def _write_route(tmp_path):
    (tmp_path / "route.yaml").write_text(
        "mechanism:\n"
        "  species: [{name: A, formula: C4H8O}, {name: B, formula: C4H8O}]\n"
        "  reactions: [{equation: A => B, rate: {k: 0.01}}]\n"
        "feeds: [{name: f, flow: 1 mL/min, T: 300, conc: {A: 1 mol/L}}]\n"
        "operations: [{name: R, type: cstr, from: f, volume: 10 mL, T: 300}]\n"
        "product: {from: R, species: B, basis: A}\n")


BAD = [
    ("events: [{at: 10 min, feed: nope, flow: 1 mL/min}]", "unknown feed 'nope'"),
    ("events: [{at: 2 h, feed: f, flow: 1 mL/min}]", "after the end of the run"),
    ("events: [{at: 10 min, feed: f, flow: -1 mL/min}]", "events[0].flow"),
    ("events: [{at: 50 min, feed: f, conc.A: 2 mol/L, ramp: 20 min}]", "after the end of the run"),
    ("events: [{at: 10 min, feed: f, lot: B, ramp: 1 min}]", "takes no ramp"),
    ("events: [{at: 10 min, feed: f, conc.Z: 1 mol/L}]", "unknown species 'Z'"),
    ("spec: {impurity.Z: '<= 1'}", "spec.impurity.Z"),
    ("colour: blue", "unknown key 'colour'"),
    ("discretisation: {scheme: spectral}", "discretisation.scheme: expected one of collocation, upwind"),
    ("discretisation: {grading: 0.5}", "discretisation.grading: expected 'auto' or the ratio"),
]


@pytest.mark.parametrize("extra, expected", BAD)
def test_bad_scenarios_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, extra, expected):
    _write_route(tmp_path)
    sc = tmp_path / "scenario.yaml"
    sc.write_text(f"route: route.yaml\nduration: 1 h\n{extra}\n")
    out, js = tmp_path / "out", tmp_path / "r.json"
    status = main(["dynamic", str(sc), "--out", str(out), "--json", str(js)])
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and expected in err and "scenario.yaml" in err
    assert not out.exists() and not js.exists()


def test_scenario_file_and_unsorted_events(tmp_path):
    _write_route(tmp_path)
    sc = tmp_path / "scenario.yaml"
    sc.write_text("route: route.yaml\nduration: 1 h\nevents:\n"
                  "  - {at: 40 min, feed: f, lot: C}\n  - {at: 20 min, feed: f, lot: B}\n")
    scenario = load_scenario(sc)
    assert [e.time_s for e in scenario.events] == [1200.0, 2400.0]
    with pytest.raises(InputError, match="laminar"):
        scenario_from_dict({"duration": 10}, route=Route.from_dict({
            "mechanism": MECH,
            "feeds": [{"name": "f", "flow": "1 mL/min", "T": 300, "conc": {"A": 1000}}],
            "operations": [{"name": "R", "type": "pfr", "from": "f", "volume": "1 mL",
                            "flow_model": "laminar"}]}))


def test_lomustine_scenario_end_to_end(tmp_path, capsys):
    """The example's events (pump stall, amine drift, lot change) through the
    CLI on a coarse grid: JSON keys of DESIGN.md, the lot funnel of the new
    amine lot ordered in time, element balances closed."""
    text = (EXAMPLES / "scenario.yaml").read_text()
    text = text.replace("route: route.yaml", f"route: {EXAMPLES / 'route.yaml'}")
    text = text.replace("discretisation: {scheme: collocation, cells: 100, quench_cells: 25}",
                        "discretisation: {scheme: collocation, cells: 12, quench_cells: 4}")
    text = text.replace("output: {interval: 10 s}", "output: {interval: 30 s}")
    sc = tmp_path / "scenario.yaml"
    sc.write_text(text)
    out, js = tmp_path / "out", tmp_path / "run.json"
    assert main(["dynamic", str(sc), "--out", str(out), "--json", str(js)]) == 0
    d = json.loads(js.read_text())
    for key in ("time_s", "streams", "product", "diversion", "startup", "lots"):
        assert key in d
    assert d["product"]["stream"] == "S1.organic"
    assert len(d["product"]["in_spec"]) == len(d["time_s"])
    lot = d["lots"]["amine:B"]
    assert 3 * 3600 < lot["t01_s"] < lot["t50_s"] < lot["t99_s"] < 4 * 3600
    assert d["startup"]["first_in_spec_s"] > 0
    # the coarse 30 s output grid limits the quadrature of the flows (1e-8 on a fine one)
    assert max(d["conservation"]["element_closure_rel"].values()) < 1e-4
    assert (out / "dynamic.csv").is_file() and (out / "dynamic.json").is_file()
    # the route report at the final steady state, extended with the dynamic section
    page = (out / "dynamic.html").read_text()
    assert page.index("Key performance indicators") < page.index("<section id='dynamic'>")
    assert "windows)</h3>" in page and page.count("data:image/png;base64,") >= 4
    stall = [w for w in d["diversion"] if w["start_s"] is not None and 1700 < w["start_s"] < 2400]
    assert stall, "the nitrite stall makes off-spec product"


def test_an_undershoot_is_judged_against_the_front_that_makes_it():
    """Start-up of the lomustine route sampled every second. Ahead of the
    quench's water front (27,500 mol/m^3) the collocation elements undershoot
    by about 1 % of it at the hold's outlet; the organic phase (partition
    0.01, 272 mol/m^3 at the steady state) then carries about -3.7 mol/m^3 of
    water at 38 s, while its own largest value so far is 10.6. That is the
    scheme's allowance of the water front (20 %, or 54 mol/m^3 here), not a
    failed solution: the run must complete (it raised a SolverError when the
    undershoot was judged against the reported streams alone). Before the
    water reaches the hold's outlet (60 s of plug flow) the exact stream has
    no water; what it shows is the precursor of the front, within the
    allowance (reported concentrations are clipped at zero) and below 1 % of
    the steady value."""
    raw, src = read_yaml(EXAMPLES / "scenario.yaml")
    raw = dict(raw, duration="40 s", events=[], output={"interval": "1 s"})
    res = simulate_dynamic(scenario_from_dict(raw, source=src, base_dir=EXAMPLES))
    water = res.conc("S1.organic", "H2O")
    assert water.min() == 0.0 and water.max() < 0.01 * 272.0      # 0.21 measured
    assert res.time_s[-1] == pytest.approx(40.0, abs=1e-12)


@pytest.mark.parametrize("method", ["rodas5p", "bdf"])
def test_a_unit_at_rest_upstream_of_the_events_is_held_and_the_run_agrees_with_scipy(method):
    """A tube at rest upstream of every event (a flow step and a
    concentration ramp of a feed that joins after it, a coolant step of the
    tank behind it) is held at its state instead of being integrated, and so
    are tracers at rest after a lot change; the time courses (concentrations,
    T, tracer fractions) still agree with scipy's BDF, which integrates every
    cell and every tracer, to the tolerance of the run."""
    feeds = [{"name": "f", "flow": "1 mL/min", "T": 300, "conc": {"A": "1 mol/L"}},
             {"name": "w", "flow": "0.5 mL/min", "T": 300, "conc": {"S": "2 mol/L"}}]
    ops = [{"name": "T1", "type": "pfr", "from": "f", "volume": "2 mL", "T": 300},
           {"name": "M", "type": "mixer", "from": ["T1", "w"]},
           {"name": "R", "type": "cstr", "from": "M", "volume": "5 mL",
            "energy": {"U": "200 W/m^2/K", "coolant_T": 300, "area": "10 cm^2"}}]
    route = _route(ops, feeds, properties={"density": "0.8 g/mL", "cp": "2.0 kJ/kg/K",
                                           "viscosity": "1 mPa*s"})
    scenario = dict(duration="40 min", output={"interval": "20 s"}, discretisation={"cells": 20},
                    events=[{"at": "10 min", "feed": "w", "flow": "1 mL/min"},
                            {"at": "20 min", "feed": "w", "conc.A": "0.5 mol/L", "ramp": "2 min"},
                            {"at": "30 min", "operation": "R", "coolant_T": 320},
                            {"at": "35 min", "feed": "f", "lot": "B"}],
                    rtol=1e-9, atol=1e-9, method=method)
    a = simulate_dynamic(route, scenario)
    b = simulate_dynamic(route, scenario, backend="scipy")
    # Rodas5P (L-stable) leaves T1 at its equilibrium to well within the
    # tolerance: held in each of the four segments after the first (the
    # ramp's end opens one). BDF's state sits about one error weight off it
    # at 10 min, so T1 is held only in later segments.
    held = a.stats["units_held_at_rest"]
    assert held == 5 if method == "rodas5p" else 1 <= held < 5
    # after the lot change only the two lot tracers of f move: the feed
    # fractions are held (in the tracer network, a tracer is held on its own)
    assert a.stats["tracer_columns_held_at_rest"] >= 2
    for name in ("T1", "R"):
        for tracer in ("feed:f", "feed:w", "lot:f:A", "lot:f:B"):
            ta, tb = a.streams[name].tracers[tracer], b.streams[name].tracers[tracer]
            assert np.max(np.abs(ta - tb)) < 1e-6, (name, tracer)
    assert "units_held_at_rest" not in b.stats
    for name in ("T1", "R"):
        ca, cb = a.streams[name].conc_mol_per_m3, b.streams[name].conc_mol_per_m3
        assert np.max(np.abs(ca - cb)) / C_IN < 1e-6, name
        assert np.max(np.abs(a.streams[name].T_K - b.streams[name].T_K)) < 1e-4, name
    assert np.ptp(a.streams["R"].conc_mol_per_m3[:, 0]) > 50.0    # the events move R
