"""kernels.network: the cell network of dynamic operation (issue 11).

References: closed forms (CSTR and N-tank step responses, first-order
reaction in a CSTR, a linear feed ramp), scipy's Radau on the same
right-hand side at rtol 1e-10, central finite differences for the
Jacobian and df/dt, numpy's dense solve for the block factorisation, and a
Simpson quadrature of the outlet for the mole balance.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from kernel_models import make_model
from kernels.network import (
    NET_STAT_BLOCK_LU,
    _factor_blocks,
    _solve_blocks,
    backward_euler_displacement,
    factor_storage,
    integrate_network,
    make_network,
    make_segment,
    make_state,
    network_dfdt,
    network_jacobian_blocks,
    network_jacobian_csr,
    network_rhs,
    network_sizes,
    steady_network,
)
from kernels.status import INVALID_INPUT, STAT_ACCEPTED, SUCCESS

RTOL = 1e-10


def _run(net, seg, y0, t0, t1, t_out, rtol=RTOL, atol=1e-12, h0=0.0, max_steps=200000):
    n_cells, w, _ = network_sizes(net)
    status, y_out, y_end, h_last, stats = integrate_network(
        net, seg, np.asarray(y0, dtype=float), float(t0), float(t1),
        np.asarray(t_out, dtype=float), rtol, np.full(w, atol), h0, max_steps,
        np.arange(len(y0), dtype=np.int64))
    assert status == SUCCESS
    return y_out, y_end, h_last, stats


def _chain(n_cells, n_species=0, n_tracers=1, reactions=(), dH=None, energy=0, first=0):
    """Cells first..n_cells-1 in series (cell i fed by i-1), cells below
    ``first`` unlinked."""
    if reactions:
        model, rp = make_model(list(reactions))
    else:
        model, rp = make_model([])
    m = len(reactions)
    ptr = [0] * (first + 1)
    src = []
    for i in range(first, n_cells):
        if i > first:
            src.append(i - 1)
        ptr.append(len(src))
    return make_network(model=model, rate_params=rp, dH=np.zeros(m) if dH is None else dH,
                        n_species=n_species, n_tracers=n_tracers,
                        cell_energy=np.full(n_cells, energy), link_ptr=ptr, link_src=src)


def _scipy(net, seg, y0, t0, t1, t_out, method="Radau"):
    n = len(y0)

    def f(t, y):
        out = np.empty(n)
        network_rhs(t, y, net, seg, t0, t1, out)
        return out

    def jac(t, y):
        indptr, indices, data = network_jacobian_csr(t, y, net, seg, t0, t1)
        return sp.csr_matrix((data, indices, indptr), shape=(n, n))

    sol = solve_ivp(f, (t0, t1), y0, method=method, t_eval=t_out, rtol=1e-10, atol=1e-12,
                    jac=jac)
    assert sol.success
    return sol.y.T


# ---------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------
def test_cstr_tracer_step_is_one_minus_exp():
    tau = 7.0
    net = _chain(1)
    seg = make_segment(net, kappa=1.0 / tau, feed=[[1.0, 300.0]])
    t = np.linspace(0.0, 60.0, 61)
    y_out, y_end, _, _ = _run(net, seg, make_state(net, [], 300.0), 0.0, 60.0, t)
    np.testing.assert_allclose(y_out[:, 0], 1.0 - np.exp(-t / tau), rtol=0, atol=1e-7)
    assert y_end[0] == pytest.approx(1.0 - math.exp(-60.0 / tau), abs=1e-9)
    # isothermal: T is held exactly (the dense output to round-off)
    assert y_end[1] == 300.0
    np.testing.assert_allclose(y_out[:, 1], 300.0, rtol=1e-14)


def test_five_tanks_tracer_step_is_erlang_f_curve():
    n, tau = 5, 10.0  # tau: total mean residence time
    net = _chain(n)
    feed = np.zeros((n, 2))
    feed[0, 0] = 1.0
    weight = np.array([[1.0, 0.0]] * (n - 1))
    seg = make_segment(net, kappa=n / tau, feed=feed, weight=weight)
    t = np.linspace(0.0, 40.0, 81)
    y_out, _, _, stats = _run(net, seg, make_state(net, [], 300.0), 0.0, 40.0, t)
    x = t * n / tau
    erlang = 1.0 - np.exp(-x) * sum(x ** k / math.factorial(k) for k in range(n))
    np.testing.assert_allclose(y_out[:, (n - 1) * 2], erlang, rtol=0, atol=1e-7)
    assert stats[NET_STAT_BLOCK_LU] == n * stats[5]


def test_first_order_reaction_in_cstr_after_feed_step():
    k, tau, c0 = 0.3, 12.0, 2.5
    net = _chain(1, n_species=2, n_tracers=0,
                 reactions=[{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k}])
    seg = make_segment(net, kappa=1.0 / tau, feed=[[c0, 0.0, 300.0]])
    t = np.linspace(0.0, 80.0, 41)
    y_out, _, _, _ = _run(net, seg, make_state(net, [0.0, 0.0], 300.0), 0.0, 80.0, t)
    a = 1.0 + k * tau
    c_a = c0 / a * (1.0 - np.exp(-a * t / tau))
    np.testing.assert_allclose(y_out[:, 0], c_a, rtol=0, atol=1e-7)
    # B: c0 - c_A - (moles of A still to wash in), from the closed form of A + B
    c_b = c0 * (1.0 - np.exp(-t / tau)) - c_a
    np.testing.assert_allclose(y_out[:, 1], c_b, rtol=0, atol=1e-7)


def test_backward_euler_displacement_of_a_reacting_tank_is_the_closed_form():
    """One cell, A -> B first order: f = kappa (c_in - c) - k c is linear, so
    the backward Euler step over H is d = f / (1/H + kappa + k) exactly; as H
    grows it tends to the distance to the steady state c_in kappa/(kappa + k)
    - c, for a short H to H f (the drift)."""
    k, tau, c_in, c = 0.3, 12.0, 2.5, 0.4
    net = _chain(1, n_species=2, n_tracers=0,
                 reactions=[{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k}])
    seg = make_segment(net, kappa=1.0 / tau, feed=[[c_in, 0.0, 300.0]])
    y = np.array([c, 0.1, 300.0])
    f_a = (c_in - c) / tau - k * c
    f_b = (0.0 - 0.1) / tau + k * c
    for H in (1e-3, 5.0, 1e9):
        ok, d = backward_euler_displacement(net, seg, y, 0.0, 0.0, 1.0, H)
        assert ok
        # B's row: (1/H + kappa) d_B - k d_A = f_B
        d_a = f_a / (1.0 / H + 1.0 / tau + k)
        d_b = (f_b + k * d_a) / (1.0 / H + 1.0 / tau)
        np.testing.assert_allclose(d[:2], [d_a, d_b], rtol=1e-12)
        assert d[2] == 0.0                        # isothermal T does not move
    c_ss = c_in / (1.0 + k * tau)
    assert d[0] == pytest.approx(c_ss - c, rel=1e-8)
    ok, d = backward_euler_displacement(net, seg, y, 0.0, 0.0, 1.0, 1e-6)
    assert d[0] == pytest.approx(1e-6 * f_a, rel=1e-6)


def test_linear_feed_ramp_matches_closed_form_and_scipy():
    # y' = kappa (a + b t - y), y(0) = 0: y = a + b t - b/kappa + (b/kappa - a) e^(-kappa t)
    kappa, a, b, t1 = 0.5, 1.0, 0.2, 20.0
    net = _chain(1)
    seg = make_segment(net, kappa=kappa, feed_start=[[a, 300.0]], feed_end=[[a + b * t1, 300.0]])
    t = np.linspace(0.0, t1, 41)
    y_out, _, _, _ = _run(net, seg, make_state(net, [], 300.0), 0.0, t1, t)
    exact = a + b * t - b / kappa + (b / kappa - a) * np.exp(-kappa * t)
    np.testing.assert_allclose(y_out[:, 0], exact, rtol=0, atol=1e-8)
    # the h d_i df/dt terms of the stages keep Rodas5P's order on the ramp:
    # at rtol 1e-6 it takes 15 steps (without them 868, the error O(h^2))
    status, _, y_end, _, stats = integrate_network(
        net, seg, make_state(net, [], 300.0), 0.0, t1, t[:0], 1e-6, np.full(2, 1e-8), 0.0, 10000,
        np.arange(2, dtype=np.int64))
    assert status == SUCCESS and stats[0] < 40
    assert abs(y_end[0] - exact[-1]) < 1e-7


def test_ramp_of_flow_and_feed_in_reacting_chain_matches_scipy():
    n = 6
    net = _chain(n, n_species=2, n_tracers=1,
                 reactions=[{"reactants": {0: 2}, "net": {0: -2, 1: 1}, "k": 0.05}])
    w = 4
    feed0 = np.zeros((n, w))
    feed1 = np.zeros((n, w))
    feed0[0] = [1.0, 0.0, 1.0, 0.0]
    feed1[0] = [3.0, 0.0, 0.0, 0.0]
    weight = np.tile([1.0, 1.0, 1.0, 0.0], (n - 1, 1))
    seg = make_segment(net, kappa_start=0.4, kappa_end=1.5, feed_start=feed0, feed_end=feed1,
                       weight_start=weight, weight_end=0.8 * weight)
    y0 = make_state(net, [0.5, 0.1], 330.0, tracers=0.2)
    t = np.linspace(5.0, 15.0, 21)
    y_out, _, _, _ = _run(net, seg, y0, 5.0, 15.0, t)
    ref = _scipy(net, seg, y0, 5.0, 15.0, t)
    np.testing.assert_allclose(y_out, ref, rtol=0, atol=1e-7)
    # df/dt of the ramp against a central difference in t (f is quadratic in t)
    y = ref[7]
    out = np.empty(len(y))
    network_dfdt(8.0, y, net, seg, 5.0, 15.0, out)
    fp, fm = np.empty(len(y)), np.empty(len(y))
    network_rhs(8.5, y, net, seg, 5.0, 15.0, fp)
    network_rhs(7.5, y, net, seg, 5.0, 15.0, fm)
    np.testing.assert_allclose(out, (fp - fm) / 1.0, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# a mixer of two feeds into a cooled exothermic tube
# ---------------------------------------------------------------------------
def _mixer_tube(n_tube=50, exchange=0.0, rho_cp=2.0e6):
    """Cells 0 and 1: stirred feed tanks of A and of B (isothermal); cell 2..:
    a tube with A + B -> C (second order, Arrhenius, exothermic) and
    cooling. Tracers: fraction from feed 1 and from feed 2."""
    reactions = [{"reactants": {0: 1, 1: 1}, "net": {0: -1, 1: -1, 2: 1},
                  "fwd": (math.log(2.0e4), 0.0, 5000.0)},
                 {"reactants": {2: 1}, "net": {2: -1, 3: 1},
                  "fwd": (math.log(5.0e3), 0.0, 5500.0)}]
    model, rp = make_model(reactions)
    n_cells = 2 + n_tube
    ptr = [0, 0, 0, 2] + list(range(3, 3 + n_tube - 1))
    src = [0, 1] + list(range(2, 2 + n_tube - 1))
    energy = np.ones(n_cells, dtype=int)
    energy[:2] = 0
    net = make_network(model=model, rate_params=rp, dH=[-2.0e5, -4.0e4], n_species=4,
                       n_tracers=2, cell_energy=energy, link_ptr=ptr, link_src=src)
    _, w, n_links = network_sizes(net)
    q1, q2 = 1.0e-6, 2.0e-6
    v_tank, v_tube = 2.0e-6, 4.0e-6
    kappa = np.full(n_cells, (q1 + q2) / (v_tube / n_tube))
    kappa[0] = q1 / v_tank
    kappa[1] = q2 / v_tank
    feed = np.zeros((n_cells, w))
    feed[0] = [800.0, 0.0, 0.0, 0.0, 1.0, 0.0, 295.0]
    feed[1] = [0.0, 500.0, 0.0, 0.0, 0.0, 1.0, 300.0]
    weight = np.ones((n_links, w))
    weight[0] = q1 / (q1 + q2)  # the mixer (same rho cp: flow-weighted T too)
    weight[1] = q2 / (q1 + q2)
    ex = np.zeros(n_cells)
    if np.ndim(exchange):
        ex[2:2 + len(exchange)] = exchange
    elif exchange:
        ex[2:n_cells - 1] = exchange
    seg = make_segment(net, kappa=kappa, feed=feed, weight=weight, ua=0.05,
                       T_coolant=290.0, rho_cp=rho_cp, exchange=ex)
    y0 = make_state(net, 0.0, 300.0)
    return net, seg, y0


def test_mixer_into_cooled_exothermic_tube_matches_scipy_radau():
    net, seg, y0 = _mixer_tube()
    t = np.linspace(0.0, 20.0, 21)
    y_out, y_end, _, stats = _run(net, seg, y0, 0.0, 20.0, t)
    ref = _scipy(net, seg, y0, 0.0, 20.0, t)
    scale = np.maximum(np.abs(ref), 1.0)
    assert np.max(np.abs(y_out - ref) / scale) < 1e-6
    # the case is not trivial: the reaction heats the tube above both feeds
    T = y_end.reshape(52, 7)[:, 6]
    assert T[2:].max() > 308.0
    assert stats[STAT_ACCEPTED] > 10


def _fd_jacobian(net, seg, y, t, t0, t1):
    n = len(y)
    jac = np.empty((n, n))
    fp, fm = np.empty(n), np.empty(n)
    for j in range(n):
        d = 1e-6 * max(abs(y[j]), 1.0)
        yp, ym = y.copy(), y.copy()
        yp[j] += d
        ym[j] -= d
        network_rhs(t, yp, net, seg, t0, t1, fp)
        network_rhs(t, ym, net, seg, t0, t1, fm)
        jac[:, j] = (fp - fm) / (2 * d)
    return jac


@pytest.mark.parametrize("exchange", [0.0, 0.3])
def test_block_jacobian_matches_central_differences(exchange):
    net, seg, y0 = _mixer_tube(n_tube=8, exchange=exchange)
    t = np.linspace(0.0, 6.0, 3)
    y_out, _, _, _ = _run(net, seg, y0, 0.0, 6.0, t)
    y = y_out[-1]
    indptr, indices, data = network_jacobian_csr(6.0, y, net, seg, 0.0, 6.0)
    n = len(y)
    jac = sp.csr_matrix((data, indices, indptr), shape=(n, n)).toarray()
    ref = _fd_jacobian(net, seg, y, 6.0, 0.0, 6.0)
    scale = np.max(np.abs(ref), axis=1, keepdims=True) + 1e-300
    assert np.max(np.abs(jac - ref) / scale) < 1e-6
    # every finite-difference entry lies in the static pattern
    pattern = jac != 0.0
    outside = (np.abs(ref) > 1e-9 * scale) & ~sp.csr_matrix(
        (np.ones_like(data), indices, indptr), shape=(n, n)).toarray().astype(bool)
    assert not outside.any() and pattern.sum() > n


# an exchange band; two-node collocation elements (pairs that exchange only
# with each other, negative exchange: the joint sparse LU); pairs then a band
_EXCHANGES = {"band": 0.8, "pairs": [-0.6, 0.0, -0.6, 0.0, -0.6, 0.0],
              "pairs_then_band": [-0.6, 0.0, -0.6, 0.0, 0.8, 0.8]}


@pytest.mark.parametrize("exchange", sorted(_EXCHANGES))
@pytest.mark.parametrize("gh", [0.0, 3.7])
def test_block_factorisation_solves_like_dense_lu(gh, exchange):
    # links, exchange band, energy and isothermal cells, several tracers
    net, seg, y0 = _mixer_tube(n_tube=7, exchange=_EXCHANGES[exchange])
    t = np.array([4.0])
    y = _run(net, seg, y0, 0.0, 4.0, t)[0][0]
    n_cells, w, n_links = network_sizes(net)
    n = len(y)
    R, tdiag, jl, je = network_jacobian_blocks(4.0, y, net, seg, 0.0, 4.0)
    indptr, indices, data = network_jacobian_csr(4.0, y, net, seg, 0.0, 4.0)
    J = sp.csr_matrix((data, indices, indptr), shape=(n, n)).toarray()
    W = gh * np.eye(n) - J
    isothermal_T = [i * w + w - 1 for i in range(n_cells) if net[5][i] == 0]
    # isothermal T rows of J are zero: with gh = 0 pin them so W is regular
    for r in isothermal_T:
        W[r, r] = 1.0 if gh == 0.0 else W[r, r]
    b = np.sin(np.arange(n) + 1.0)
    b[isothermal_T] = 0.0
    wr = net[3] + 1
    store = factor_storage(net)
    if gh == 0.0:
        R = R.copy()
        for i in range(n_cells):
            if net[5][i] == 0:
                R[i, wr - 1, wr - 1] = -1.0  # the same pin in the block form
    assert _factor_blocks(net, gh, R, tdiag, jl, je, store)
    x = b.copy()
    _solve_blocks(net, store, jl, je, x)
    ref = np.linalg.solve(W, b)
    np.testing.assert_allclose(x, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))
    # the pairs went through the joint factorisation, the band did not
    pair_heads = np.flatnonzero(store[8][3] >= 0)
    expected = {"band": [], "pairs": [2, 4, 6], "pairs_then_band": [2, 4]}[exchange]
    assert list(pair_heads) == expected


# ---------------------------------------------------------------------------
# back-mixing (exchange) chain and the mole balance
# ---------------------------------------------------------------------------
def test_three_cell_exchange_chain_matches_scipy():
    n = 3
    net = _chain(n, n_species=1, n_tracers=1,
                 reactions=[{"reactants": {0: 1}, "net": {0: -1}, "k": 0.2}])
    feed = np.zeros((n, 3))
    feed[0] = [2.0, 1.0, 300.0]
    weight = np.tile([1.0, 1.0, 0.0], (n - 1, 1))
    seg = make_segment(net, kappa=0.9, feed=feed, weight=weight, exchange=[0.7, 0.4, 0.0])
    y0 = make_state(net, [0.0], 300.0)
    t = np.linspace(0.0, 15.0, 31)
    y_out, _, _, _ = _run(net, seg, y0, 0.0, 15.0, t)
    ref = _scipy(net, seg, y0, 0.0, 15.0, t)
    np.testing.assert_allclose(y_out, ref, rtol=0, atol=1e-8)
    # the back-mixing matters: without it the outlet differs
    seg0 = make_segment(net, kappa=0.9, feed=feed, weight=weight)
    plain = _run(net, seg0, y0, 0.0, 15.0, t)[0]
    assert np.max(np.abs(plain[:, 6] - y_out[:, 6])) > 1e-2


def test_tracer_mole_balance_over_ramp_and_event():
    """in - out - accumulation of a tracer through a back-mixed chain, over a
    ramped segment and a restarted constant one, closes to 1e-8."""
    n, v = 12, 1.0e-6  # cells of equal volume (m^3)
    net = _chain(n, n_species=0, n_tracers=1)
    feed0 = np.zeros((n, 2))
    feed1 = np.zeros((n, 2))
    feed0[0, 0], feed1[0, 0] = 1.0, 0.4
    weight = np.tile([1.0, 0.0], (n - 1, 1))
    ex = np.full(n, 0.25)
    ex[-1] = 0.0
    q0, q1 = 2.0e-7, 3.0e-7  # flow ramps from q0 to q1 over the first segment
    seg1 = make_segment(net, kappa_start=q0 / v, kappa_end=q1 / v, feed_start=feed0,
                        feed_end=feed1, weight=weight, exchange=ex)
    seg2 = make_segment(net, kappa=q1 / v, feed=feed1, weight=weight, exchange=ex)
    y0 = make_state(net, [], 300.0)
    t_a = np.linspace(0.0, 30.0, 6001)
    t_b = np.linspace(30.0, 70.0, 8001)
    out_a, y_mid, h_last, _ = _run(net, seg1, y0, 0.0, 30.0, t_a)
    out_b, y_end, _, _ = _run(net, seg2, y_mid, 30.0, 70.0, t_b, h0=h_last)
    np.testing.assert_allclose(out_b[0], y_mid, rtol=0, atol=0)

    def simpson(f, x):
        h = x[1] - x[0]
        return h / 3.0 * (f[0] + f[-1] + 4.0 * f[1:-1:2].sum() + 2.0 * f[2:-1:2].sum())

    q_a = q0 + (q1 - q0) * t_a / 30.0
    c_in_a = 1.0 + (0.4 - 1.0) * t_a / 30.0
    moles_in = simpson(q_a * c_in_a, t_a) + q1 * 0.4 * 40.0
    moles_out = simpson(q_a * out_a[:, (n - 1) * 2], t_a) + simpson(q1 * out_b[:, (n - 1) * 2], t_b)
    holdup = v * y_end[0::2].sum()
    assert abs(moles_in - moles_out - holdup) <= 1e-8 * moles_in


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_invalid_inputs_return_a_status_or_raise_in_the_builders():
    net = _chain(3)
    seg = make_segment(net, kappa=1.0, weight=1.0)
    y0 = make_state(net, [], 300.0)
    status, y_out, _, _, _ = integrate_network(net, seg, y0, 0.0, 1.0, np.array([2.0]), 1e-6,
                                               np.full(2, 1e-9), 0.0, 100,
                                               np.arange(2, dtype=np.int64))
    assert status == INVALID_INPUT and np.isnan(y_out).all()
    with pytest.raises(ValueError, match="below its own cell"):
        make_network(model=make_model([])[0], rate_params=make_model([])[1], dH=[],
                     n_species=0, n_tracers=1, cell_energy=[0, 0], link_ptr=[0, 1, 1],
                     link_src=[1])
    with pytest.raises(ValueError, match="kappa must be non-negative"):
        make_segment(net, kappa=-1.0, weight=1.0)
    with pytest.raises(ValueError, match="exchange must be 0 at the last cell"):
        make_segment(net, kappa=1.0, weight=1.0, exchange=0.1)
    with pytest.raises(ValueError, match="rho_cp"):
        make_segment(_chain(2, energy=1), kappa=1.0, weight=1.0)


# ---------------------------------------------------------------------------
# steady state
# ---------------------------------------------------------------------------
def test_steady_chain_second_order_matches_tank_by_tank_closed_form():
    # 2A -> B, rate k c_A^2 per reaction: kappa (c_in - c) - 2 k c^2 = 0 in every tank
    n, kappa, k, c0 = 5, 0.2, 0.03, 4.0
    net = _chain(n, n_species=2, n_tracers=1,
                 reactions=[{"reactants": {0: 2}, "net": {0: -2, 1: 1}, "k": k}])
    feed = np.zeros((n, 4))
    feed[0] = [c0, 0.0, 1.0, 0.0]
    seg = make_segment(net, kappa=kappa, feed=feed, weight=np.tile([1.0, 1.0, 1.0, 0.0], (n - 1, 1)))
    status, y, stats = steady_network(net, seg, make_state(net, [0.0, 0.0], 300.0), 1e-10,
                                      np.full(4, 1e-12), 200)
    assert status == SUCCESS
    c = c0
    for i in range(n):
        c = (-kappa + math.sqrt(kappa ** 2 + 8.0 * k * kappa * c)) / (4.0 * k)
        assert y[i * 4] == pytest.approx(c, rel=1e-10)
        assert y[i * 4 + 1] == pytest.approx((c0 - c) / 2.0, rel=1e-10)  # A balance
        assert y[i * 4 + 2] == pytest.approx(1.0, rel=1e-12)  # tracer
        assert y[i * 4 + 3] == 300.0


@pytest.mark.parametrize("exchange", [0.0, 0.5])
def test_steady_mixer_tube_with_energy_is_the_long_time_limit(exchange):
    net, seg, y0 = _mixer_tube(n_tube=20, exchange=exchange)
    status, y_ss, stats = steady_network(net, seg, y0, 1e-10, np.full(7, 1e-10), 500)
    assert status == SUCCESS
    out = np.empty(len(y_ss))
    network_rhs(0.0, y_ss, net, seg, 0.0, 0.0, out)
    assert np.max(np.abs(out) / (1e-10 + 1e-10 * np.abs(y_ss))) < 1.0
    _, y_end, _, _ = _run(net, seg, y0, 0.0, 400.0, [])
    np.testing.assert_allclose(y_ss, y_end, rtol=1e-7, atol=1e-9)


def test_dispersion_cells_inside_a_long_tube_give_the_open_vessel_e_curve():
    """The cells of a dispersion tube (upwind link u/dz, exchange
    D/dz^2 - u/(2 dz): flowchem.process.dynamic's central scheme) with the
    tube continued 1.5 L upstream and 2 L downstream of the measured length
    L: a unit pulse in one cell, read one length downstream, is the
    open-open vessel's E(theta) = sqrt(Pe/(4 pi theta)) exp(-Pe (1-theta)^2
    / (4 theta)) (flowchem.rtd.DispersionRTD(boundary="open"), Levenspiel),
    at second order in the cells; Pe = 20."""
    from flowchem.rtd import DispersionRTD

    Pe, tau = 20.0, 1.0
    ref = DispersionRTD(tau, Pe, boundary="open")
    t = np.linspace(0.05, 3.0, 60)
    err = {}
    for n_length in (40, 80, 160):
        up, down = int(1.5 * n_length), 2 * n_length
        n = up + n_length + down + 1
        net = _chain(n, n_species=0, n_tracers=1)
        kappa = n_length / tau                      # u/dz
        exchange = np.full(n, n_length ** 2 / (tau * Pe) - n_length / (2 * tau))
        exchange[-1] = 0.0
        seg = make_segment(net, kappa=kappa, weight=1.0, exchange=exchange)
        y0 = make_state(net, [], 300.0)
        y0[2 * up] = n_length                       # unit mass in cell `up` (width 2)
        y_out, _, _, _ = _run(net, seg, y0, 0.0, t[-1], t, rtol=1e-9, atol=1e-12)
        c = y_out[:, 2 * (up + n_length)]
        err[n_length] = float(np.max(np.abs(c - ref.E(t))))
    peak = float(np.max(ref.E(t)))
    # measured 7.6e-3, 1.9e-3, 4.8e-4 (peak 1.28); the closed vessel's E differs by 0.33
    assert err[160] < 5e-4 * peak
    for a, b in ((40, 80), (80, 160)):
        assert 1.8 < math.log(err[a] / err[b]) / math.log(2) < 2.2
