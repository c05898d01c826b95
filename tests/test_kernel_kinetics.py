"""kernels.kinetics: rate constants against hand values, analytic Jacobian against
central finite differences."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels.kinetics import (
    EQUILIBRIUM_VANT_HOFF,
    IRREVERSIBLE,
    JACOBIAN_FLOOR,
    REVERSE_ARRHENIUS,
    production_jacobian,
    production_rates,
    rate_constants,
)
from kernel_models import make_model, make_system

R = 8.314462618


# ----------------------------------------------------------------- rate constants
def test_arrhenius_and_vant_hoff_against_hand_values():
    """Rate constants match hand-computed values to 1e-13 relative."""
    T = 323.15
    A, b, Ea = 2.0e6, 0.5, 45.0e3
    Ar, br, Ear = 3.0e4, -0.25, 60.0e3
    K_ref, T_ref, dH = 4.0, 333.15, -20.0e3
    reactions = [
        {"reactants": {0: 1}, "net": {0: -1, 1: 1}, "fwd": (math.log(A), b, Ea / R)},
        {"reactants": {0: 1}, "net": {0: -1, 1: 1}, "fwd": (math.log(A), b, Ea / R),
         "rev_kind": REVERSE_ARRHENIUS, "rev": (math.log(Ar), br, Ear / R), "rev_orders": {1: 1}},
        {"reactants": {0: 1}, "net": {0: -1, 1: 1}, "fwd": (math.log(A), 0.0, Ea / R),
         "rev_kind": EQUILIBRIUM_VANT_HOFF, "rev": (math.log(K_ref), 1.0 / T_ref, dH / R),
         "rev_orders": {1: 1}},
    ]
    _, rate_params = make_model(reactions)
    kf = np.zeros(3)
    kr = np.zeros(3)
    rate_constants(T, rate_params, kf, kr)

    kf_hand = A * T**b * math.exp(-Ea / (R * T))
    kr_hand = Ar * T**br * math.exp(-Ear / (R * T))
    kf3_hand = A * math.exp(-Ea / (R * T))
    K_hand = K_ref * math.exp(-dH / R * (1.0 / T - 1.0 / T_ref))
    assert kf[0] == pytest.approx(kf_hand, rel=1e-13)
    assert kr[0] == 0.0
    assert kf[1] == pytest.approx(kf_hand, rel=1e-13)
    assert kr[1] == pytest.approx(kr_hand, rel=1e-13)
    assert kf[2] == pytest.approx(kf3_hand, rel=1e-13)
    assert kr[2] == pytest.approx(kf3_hand / K_hand, rel=1e-13)
    # exothermic equilibrium below T_ref: K is larger than K_ref (sign check, exact)
    assert kf[2] / kr[2] > K_ref


def test_production_rates_hand_value():
    """2A + B <=> C (K form) at a hand-chosen state: wdot to 1e-14 relative."""
    reactions = [{"reactants": {0: 2, 1: 1}, "net": {0: -2, 1: -1, 2: 1}, "k": 3.0,
                  "rev_kind": EQUILIBRIUM_VANT_HOFF, "rev": (math.log(2.0), 1.0 / 300.0, 0.0),
                  "rev_orders": {2: 1}}]
    system = make_system(reactions, 3, T=300.0)
    model, _, kf, kr, _, work = system
    c = np.array([0.5, 2.0, 0.3])
    wdot = np.zeros(3)
    production_rates(c, model, kf, kr, work, wdot)
    q = 3.0 * 0.5**2 * 2.0 - (3.0 / 2.0) * 0.3
    np.testing.assert_allclose(wdot, [-2 * q, -q, q], rtol=1e-14)


# ----------------------------------------------------------------- Jacobian vs FD
ORDERS_ANY = [1.0, 2.0, 3.0, 0.5, 1.5, 0.7, 2.5]
ORDERS_INT = [1.0, 2.0, 3.0]


def _random_mechanism(rng, n, m, orders):
    reactions = []
    for _ in range(m):
        n_r = int(rng.integers(1, min(3, n) + 1))
        sp = rng.choice(n, size=n_r, replace=False)
        reactants = {int(s): float(rng.choice(orders)) for s in sp}
        net = {int(s): float(rng.integers(-2, 3)) for s in rng.choice(n, size=min(n, 3), replace=False)}
        net = {s: v for s, v in net.items() if v != 0.0} or {0: 1.0}
        kind = int(rng.integers(0, 3))
        rx = {"reactants": reactants, "net": net,
              "fwd": (math.log(rng.uniform(0.1, 10.0)), rng.uniform(-1, 1), rng.uniform(0, 3000))}
        if kind != IRREVERSIBLE:
            sp2 = rng.choice(n, size=int(rng.integers(1, min(2, n) + 1)), replace=False)
            rx["rev_orders"] = {int(s): float(rng.choice(orders)) for s in sp2}
            rx["rev_kind"] = kind
            if kind == REVERSE_ARRHENIUS:
                rx["rev"] = (math.log(rng.uniform(0.1, 10.0)), rng.uniform(-1, 1), rng.uniform(0, 3000))
            else:
                rx["rev"] = (rng.uniform(-2, 2), 1.0 / 320.0, rng.uniform(-3000, 3000))
        reactions.append(rx)
    return reactions


def _fd_jacobian(c, system, step):
    model, _, kf, kr, _, work = system
    n = c.shape[0]
    J = np.zeros((n, n))
    fp = np.zeros(n)
    fm = np.zeros(n)
    for l in range(n):
        d = step * max(abs(c[l]), 1.0)
        cp = c.copy()
        cm = c.copy()
        cp[l] += d
        cm[l] -= d
        production_rates(cp, model, kf, kr, work, fp)
        production_rates(cm, model, kf, kr, work, fm)
        J[:, l] = (fp - fm) / (2 * d)
    return J


def _analytic(c, system):
    model, _, kf, kr, _, _ = system
    J = np.zeros((c.shape[0], c.shape[0]))
    production_jacobian(c, model, kf, kr, J)
    return J


def _assert_close_to_fd(J, Jfd, tol, system):
    # relative to the largest entry; plus the O(step^2 k) truncation floor of
    # central differences (1e-9 k_max), which matters where J is exactly 0
    kmax = max(np.max(system[2]), np.max(system[3]), 1.0)
    scale = np.max(np.abs(Jfd))
    np.testing.assert_allclose(J, Jfd, rtol=tol, atol=tol * scale + 1e-9 * kmax)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), m=st.integers(1, 6),
       T=st.floats(280.0, 420.0))
def test_jacobian_matches_central_fd_positive_states(seed, n, m, T):
    """All order kinds incl. fractional < 1, both reversible kinds, states in
    [0.05, 2] (far above the Jacobian floor): agreement to 1e-6 relative."""
    rng = np.random.default_rng(seed)
    system = make_system(_random_mechanism(rng, n, m, ORDERS_ANY), n, T=T)
    c = rng.uniform(0.05, 2.0, size=n)
    _assert_close_to_fd(_analytic(c, system), _fd_jacobian(c, system, 1e-6), 1e-6, system)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), m=st.integers(1, 6))
def test_jacobian_matches_central_fd_with_zero_concentrations(seed, n, m):
    """Integer orders (polynomial rates, smooth through zero) at states where
    about half the species are exactly 0: agreement to 1e-6 relative."""
    rng = np.random.default_rng(seed)
    system = make_system(_random_mechanism(rng, n, m, ORDERS_INT), n, T=300.0)
    c = rng.uniform(0.0, 2.0, size=n)
    c[rng.random(n) < 0.5] = 0.0
    _assert_close_to_fd(_analytic(c, system), _fd_jacobian(c, system, 1e-6), 1e-6, system)


def test_fractional_order_below_one_is_floored_at_zero():
    """A^0.5 -> B at c_A = 0: dq/dc_A = 0.5 k FLOOR^-0.5 (hand value, 1e-14 rel), finite;
    at c_A = 0.04 it is 0.5 k 0.04^-0.5 = 2.5 k exactly."""
    k = 2.0
    system = make_system([{"reactants": {0: 0.5}, "net": {0: -1, 1: 1}, "k": k}], 2)
    J = _analytic(np.array([0.0, 1.0]), system)
    expected = 0.5 * k * JACOBIAN_FLOOR ** -0.5
    assert np.isfinite(J).all()
    assert J[0, 0] == pytest.approx(-expected, rel=1e-14)
    assert J[1, 0] == pytest.approx(expected, rel=1e-14)
    J = _analytic(np.array([0.04, 1.0]), system)
    assert J[0, 0] == pytest.approx(-2.5 * k, rel=1e-14)


def test_product_rule_with_zero_and_fractional_factors():
    """A^1.5 B^2 -> C with c_B = 0: dq/dc_B = 2 k A^1.5 B = 0 and dq/dc_A = 1.5 k A^0.5 B^2 = 0
    (exact; the product excludes the factor, never q/c); at a positive state both
    entries equal the hand values to 1e-14 relative."""
    k = 1.7
    system = make_system([{"reactants": {0: 1.5, 1: 2}, "net": {0: -1, 1: -1, 2: 1}, "k": k}], 3)
    J = _analytic(np.array([0.8, 0.0, 0.1]), system)
    assert np.all(J == 0.0)
    J = _analytic(np.array([0.81, 0.6, 0.1]), system)
    assert J[2, 0] == pytest.approx(1.5 * k * 0.9 * 0.36, rel=1e-14)
    assert J[2, 1] == pytest.approx(2 * k * 0.81**1.5 * 0.6, rel=1e-14)


def test_fractional_order_above_one_has_zero_derivative_at_zero():
    """A^1.5 -> B at c_A = 0: d(k A^1.5)/dA = 1.5 k sqrt(0) = 0 exactly."""
    system = make_system([{"reactants": {0: 1.5}, "net": {0: -1, 1: 1}, "k": 1.7}], 2)
    J = _analytic(np.array([0.0, 0.6]), system)
    assert np.all(J == 0.0)
