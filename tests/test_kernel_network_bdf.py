"""kernels.network_bdf: the cell network of dynamic operation integrated by
the variable-order NDF/BDF method with block LU (issue 11).

References: closed forms (CSTR and N-tank step responses, a first-order
reaction in a CSTR after a feed step, a linear feed ramp), scipy's Radau
on the same right-hand side at rtol 1e-10 (a mixer into a cooled
exothermic tube, a back-mixed chain), and a Simpson quadrature of the
outlet for the tracer's mole balance across a ramp and an event restart.
The networks are the small ones of tests/test_kernel_network.py.
"""

import math

import numpy as np
from test_kernel_network import _chain, _mixer_tube, _scipy

from kernels.network import NET_STAT_BLOCK_LU, make_segment, make_state, network_sizes
from kernels.network_bdf import history_storage, integrate_network_bdf
from kernels.status import (INVALID_INPUT, STAT_ACCEPTED, STAT_JAC_EVALS, STAT_LU_FACTORS,
                            STAT_RHS_EVALS, STAT_STEPS, SUCCESS)

NO_HISTORY = (np.zeros((0, 0)), np.zeros(0))


def _run(net, seg, y0, t0, t1, t_out, rtol=1e-8, atol=1e-10, history=NO_HISTORY):
    _, w, _ = network_sizes(net)
    status, y_out, y_end, h_last, stats = integrate_network_bdf(
        net, seg, np.asarray(y0, dtype=float), float(t0), float(t1),
        np.asarray(t_out, dtype=float), rtol, np.full(w, atol), 0.0, 200000, history[0],
        history[1], np.arange(len(y0), dtype=np.int64))
    assert status == SUCCESS
    return y_out, y_end, stats


def test_bdf_cstr_tracer_step_is_one_minus_exp():
    # first compiled here (warm-up list of tests/conftest.py)
    tau = 7.0
    net = _chain(1)
    seg = make_segment(net, kappa=1.0 / tau, feed=[[1.0, 300.0]])
    t = np.linspace(0.0, 60.0, 61)
    y_out, y_end, stats = _run(net, seg, make_state(net, [], 300.0), 0.0, 60.0, t)
    np.testing.assert_allclose(y_out[:, 0], 1.0 - np.exp(-t / tau), rtol=0, atol=1e-6)
    assert abs(y_end[0] - (1.0 - math.exp(-60.0 / tau))) < 1e-7
    assert y_end[1] == 300.0  # isothermal T held
    # the point of the method: few Jacobians and factorisations per step
    assert stats[STAT_JAC_EVALS] <= 3 and stats[STAT_LU_FACTORS] < stats[STAT_STEPS] / 3


def test_bdf_five_tanks_tracer_step_is_erlang_f_curve():
    n, tau = 5, 10.0
    net = _chain(n)
    feed = np.zeros((n, 2))
    feed[0, 0] = 1.0
    seg = make_segment(net, kappa=n / tau, feed=feed, weight=np.array([[1.0, 0.0]] * (n - 1)))
    t = np.linspace(0.0, 40.0, 81)
    y_out, _, stats = _run(net, seg, make_state(net, [], 300.0), 0.0, 40.0, t)
    x = t * n / tau
    erlang = 1.0 - np.exp(-x) * sum(x ** k / math.factorial(k) for k in range(n))
    np.testing.assert_allclose(y_out[:, (n - 1) * 2], erlang, rtol=0, atol=1e-6)
    assert stats[NET_STAT_BLOCK_LU] == n * stats[STAT_LU_FACTORS]


def test_bdf_first_order_reaction_in_cstr_after_feed_step():
    k, tau, c0 = 0.3, 12.0, 2.5
    net = _chain(1, n_species=2, n_tracers=0,
                 reactions=[{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k}])
    seg = make_segment(net, kappa=1.0 / tau, feed=[[c0, 0.0, 300.0]])
    t = np.linspace(0.0, 80.0, 41)
    y_out, _, _ = _run(net, seg, make_state(net, [0.0, 0.0], 300.0), 0.0, 80.0, t)
    a = 1.0 + k * tau
    c_a = c0 / a * (1.0 - np.exp(-a * t / tau))
    np.testing.assert_allclose(y_out[:, 0], c_a, rtol=0, atol=1e-6 * c0)
    np.testing.assert_allclose(y_out[:, 1], c0 * (1.0 - np.exp(-t / tau)) - c_a, rtol=0,
                               atol=1e-6 * c0)


def test_bdf_linear_feed_ramp_matches_closed_form():
    # y' = kappa (a + b t - y), y(0) = 0: y = a + b t - b/kappa + (b/kappa - a) e^(-kappa t)
    kappa, a, b, t1 = 0.5, 1.0, 0.2, 20.0
    net = _chain(1)
    seg = make_segment(net, kappa=kappa, feed_start=[[a, 300.0]], feed_end=[[a + b * t1, 300.0]])
    t = np.linspace(0.0, t1, 41)
    y_out, _, _ = _run(net, seg, make_state(net, [], 300.0), 0.0, t1, t)
    exact = a + b * t - b / kappa + (b / kappa - a) * np.exp(-kappa * t)
    np.testing.assert_allclose(y_out[:, 0], exact, rtol=0, atol=1e-6)


def test_bdf_mixer_into_cooled_exothermic_tube_matches_scipy_radau():
    net, seg, y0 = _mixer_tube()
    t = np.linspace(0.0, 20.0, 21)
    y_out, y_end, stats = _run(net, seg, y0, 0.0, 20.0, t, rtol=1e-9, atol=1e-9)
    ref = _scipy(net, seg, y0, 0.0, 20.0, t)
    scale = np.maximum(np.abs(ref), 1.0)
    assert np.max(np.abs(y_out - ref) / scale) < 1e-6
    T = y_end.reshape(52, 7)[:, 6]
    assert T[2:].max() > 308.0  # the reaction heats the tube above both feeds
    assert stats[STAT_ACCEPTED] > 10


def test_bdf_exchange_chain_matches_scipy_radau():
    n = 3
    net = _chain(n, n_species=1, n_tracers=1,
                 reactions=[{"reactants": {0: 1}, "net": {0: -1}, "k": 0.2}])
    feed = np.zeros((n, 3))
    feed[0] = [2.0, 1.0, 300.0]
    weight = np.tile([1.0, 1.0, 0.0], (n - 1, 1))
    seg = make_segment(net, kappa=0.9, feed=feed, weight=weight, exchange=[0.7, 0.4, 0.0])
    y0 = make_state(net, [0.0], 300.0)
    t = np.linspace(0.0, 15.0, 31)
    y_out, _, _ = _run(net, seg, y0, 0.0, 15.0, t)
    ref = _scipy(net, seg, y0, 0.0, 15.0, t)
    np.testing.assert_allclose(y_out, ref, rtol=0, atol=1e-6)


def test_bdf_tracer_mole_balance_event_restart_and_warm_continuation():
    """A tracer through a back-mixed chain: a ramped segment, then an event
    (feed and flow step, cold restart), the second segment in two chunks
    carried on by the history; in - out - accumulation closes to 1e-8, and
    the warm continuation agrees with one uninterrupted call."""
    n, v = 12, 1.0e-6
    net = _chain(n, n_species=0, n_tracers=1)
    feed0 = np.zeros((n, 2))
    feed1 = np.zeros((n, 2))
    feed0[0, 0], feed1[0, 0] = 1.0, 0.4
    weight = np.tile([1.0, 0.0], (n - 1, 1))
    ex = np.full(n, 0.25)
    ex[-1] = 0.0
    q0, q1, q2 = 2.0e-7, 3.0e-7, 1.5e-7
    seg1 = make_segment(net, kappa_start=q0 / v, kappa_end=q1 / v, feed_start=feed0,
                        feed_end=feed1, weight=weight, exchange=ex)
    seg2 = make_segment(net, kappa=q2 / v, feed=feed0, weight=weight, exchange=ex)
    y0 = make_state(net, [], 300.0)
    t_a = np.linspace(0.0, 30.0, 3001)
    t_b = np.linspace(30.0, 50.0, 2001)
    t_c = np.linspace(50.0, 70.0, 2001)
    hist = history_storage(net)
    tol = dict(rtol=1e-10, atol=1e-12, history=hist)
    out_a, y_mid, _ = _run(net, seg1, y0, 0.0, 30.0, t_a, **tol)
    hist[1][0] = 0.0  # the event at t = 30: restart
    out_b, y_b, st_b = _run(net, seg2, y_mid, 30.0, 50.0, t_b, **tol)
    assert hist[1][0] >= 2 and hist[1][2] == 50.0  # history kept for the chunk after
    cold = (hist[0].copy(), hist[1].copy())
    cold[1][0] = 0.0
    _, y_cold, st_cold = _run(net, seg2, y_b, 50.0, 70.0, t_c, rtol=1e-10, atol=1e-12,
                              history=cold)
    out_c, y_end, st_c = _run(net, seg2, y_b, 50.0, 70.0, t_c, **tol)
    # the warm chunk went on at the kept order and step: no starting-step
    # estimate and no climb from order 1
    assert st_c[STAT_RHS_EVALS] < st_cold[STAT_RHS_EVALS] - 10
    np.testing.assert_allclose(y_end, y_cold, rtol=0, atol=1e-8)
    np.testing.assert_allclose(out_b[0], y_mid, rtol=0, atol=0)

    def simpson(f, x):
        h = x[1] - x[0]
        return h / 3.0 * (f[0] + f[-1] + 4.0 * f[1:-1:2].sum() + 2.0 * f[2:-1:2].sum())

    q_a = q0 + (q1 - q0) * t_a / 30.0
    c_in_a = 1.0 + (0.4 - 1.0) * t_a / 30.0
    moles_in = simpson(q_a * c_in_a, t_a) + q2 * 1.0 * 40.0
    out = (n - 1) * 2
    moles_out = (simpson(q_a * out_a[:, out], t_a) + simpson(q2 * out_b[:, out], t_b)
                 + simpson(q2 * out_c[:, out], t_c))
    holdup = v * y_end[0::2].sum()
    assert abs(moles_in - moles_out - holdup) <= 1e-8 * moles_in
    # one call over [30, 70] from the same state: the same solution
    _, y_one, _ = _run(net, seg2, y_mid, 30.0, 70.0, t_c[-1:], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y_end, y_one, rtol=0, atol=1e-8)


def test_bdf_invalid_input_is_a_status():
    net = _chain(3)
    seg = make_segment(net, kappa=1.0, weight=1.0)
    y0 = make_state(net, [], 300.0)
    status, y_out, _, _, _ = integrate_network_bdf(
        net, seg, y0, 0.0, 1.0, np.array([2.0]), 1e-6, np.full(2, 1e-9), 0.0, 100,
        NO_HISTORY[0], NO_HISTORY[1], np.arange(2, dtype=np.int64))
    assert status == INVALID_INPUT and np.isnan(y_out).all()


def test_dynamic_route_method_bdf_agrees_with_rodas5p_through_events():
    """simulate_dynamic with ``method: bdf`` against the Rodas5P kernel at
    rtol 1e-9: mixer, adiabatic tube and cooled tank through a flow step and
    a coolant ramp (a segment boundary with continuous inputs, where the BDF
    history is carried on); an unknown method is an InputError."""
    import pytest
    from test_dynamic import C_IN, _route

    from flowchem.core.errors import InputError
    from flowchem.process.dynamic import simulate_dynamic

    feeds = [{"name": "f", "flow": "1 mL/min", "T": 310, "conc": {"A": "1 mol/L"}},
             {"name": "w", "flow": "0.5 mL/min", "T": 290, "conc": {"S": "2 mol/L"}}]
    ops = [{"name": "M", "type": "mixer", "from": ["f", "w"]},
           {"name": "T1", "type": "pfr", "from": "M", "volume": "3 mL", "energy": "adiabatic"},
           {"name": "R", "type": "cstr", "from": "T1", "volume": "5 mL",
            "energy": {"U": "200 W/m^2/K", "coolant_T": 300, "area": "10 cm^2"}}]
    route = _route(ops, feeds, properties={"density": "0.8 g/mL", "cp": "2.0 kJ/kg/K",
                                           "viscosity": "1 mPa*s"})
    scenario = dict(duration="30 min", output={"interval": "20 s"}, discretisation={"cells": 10},
                    events=[{"at": "5 min", "feed": "w", "flow": "1 mL/min"},
                            {"at": "15 min", "operation": "R", "coolant_T": 280, "ramp": "5 min"}],
                    rtol=1e-9, atol=1e-9)
    a = simulate_dynamic(route, dict(scenario, method="bdf"))
    b = simulate_dynamic(route, scenario, method="rodas5p")
    assert "network_bdf" in a.stats["backend"] and "network_bdf" not in b.stats["backend"]
    for name in ("T1", "R"):
        ca, cb = a.streams[name].conc_mol_per_m3, b.streams[name].conc_mol_per_m3
        assert np.max(np.abs(ca - cb)) / C_IN < 1e-6, name
        assert np.max(np.abs(a.streams[name].T_K - b.streams[name].T_K)) < 1e-4, name
    assert np.ptp(a.streams["R"].T_K) > 5.0
    with pytest.raises(InputError, match="method"):
        simulate_dynamic(route, dict(scenario, method="euler"))
