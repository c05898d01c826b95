"""Parameter names and the affine map between scaled fitting coordinates and
rate constants: checked against the rate laws evaluated by hand."""

import math

import numpy as np
import pytest

import flowchem as fc
from flowchem.chemistry.parameters import ParameterMap, parameter_names
from flowchem.core.errors import InputError

R = 8.314462618


def _mech():
    return fc.Mechanism.from_dict({
        "species": [{"name": "A"}, {"name": "B"}, {"name": "C"}],
        "reactions": [
            {"equation": "A => B", "rate": {"k_ref": 0.5, "T_ref": 320.0, "Ea": 60e3}},
            {"equation": "B => C", "id": "step2", "rate": {"A": 1e7, "b": 0.5, "Ea": 50e3}},
            {"equation": "A => C", "rate": {"k": 0.1}, "orders": {"A": 1.5}},
            {"equation": "B <=> C", "rate": {"k": 0.2},
             "equilibrium": {"K_ref": 3.0, "T_ref": 300.0, "dH": -20e3}}]})


def test_names_follow_the_written_form():
    names = parameter_names(_mech())
    assert names[:3] == ["r1.k_ref", "r1.Ea", "r1.dH"]
    assert "step2.A" in names and "step2.b" in names and "r3.order.A" in names
    assert "r4.K_ref" in names and "r1.A" not in names


@pytest.mark.parametrize("bad, message", [
    ("r1.A", "parameters of 'A => B'"),
    ("r9.k", "no reaction with id 'r9'"),
    ("r1.order.C", "'C' is not a reactant"),
    ("r3.K_ref", "has no equilibrium constant"),
    ("k_ref", "expected a parameter name"),
])
def test_unknown_names_are_refused(bad, message):
    with pytest.raises(InputError) as info:
        ParameterMap(_mech(), [bad], 330.0)
    assert message in str(info.value)


def test_round_trip_and_rate_constants_by_hand():
    mech = _mech()
    names = ["r1.k_ref", "r1.Ea", "step2.A", "step2.Ea", "step2.b", "r3.k", "r3.order.A",
             "r4.K_ref", "r4.dH"]
    pm = ParameterMap(mech, names, 330.0)
    assert np.allclose(pm.raw(pm.theta0), pm.raw_base, rtol=0, atol=1e-12)
    new = np.array([1.0, 66e3, 3e7, 45e3, 0.25, 0.05, 1.8, 5.0, -30e3])
    theta = pm.theta_from_user(new)
    assert np.allclose(pm.user_values(theta), new, rtol=1e-12)
    m2 = pm.mechanism_with(theta)
    T = 355.0
    r1, r2, r3, r4 = m2.reactions
    assert r1.rate.k(T) == pytest.approx(1.0 * math.exp(-66e3 / R * (1 / T - 1 / 320.0)), rel=1e-12)
    assert r2.rate.k(T) == pytest.approx(3e7 * T ** 0.25 * math.exp(-45e3 / (R * T)), rel=1e-12)
    assert r3.rate.k(T) == pytest.approx(0.05, rel=1e-12)
    assert r3.orders["A"] == pytest.approx(1.8)
    assert r4.equilibrium.K(T) == pytest.approx(5.0 * math.exp(30e3 / R * (1 / T - 1 / 300.0)), rel=1e-12)
    assert r4.dH == pytest.approx(-30e3)


def test_scaled_coordinates_decouple_k_and_Ea_at_the_centre():
    # with k_ref and Ea both fitted, the first coordinate is ln k(T_c): moving
    # the Ea coordinate leaves k(T_c) unchanged
    pm = ParameterMap(_mech(), ["r1.k_ref", "r1.Ea"], 340.0)
    theta = pm.theta0.copy()
    k_before = pm.mechanism_with(theta).reactions[0].rate.k(340.0)
    theta[1] += 3.0
    k_after = pm.mechanism_with(theta).reactions[0].rate.k(340.0)
    assert k_after == pytest.approx(k_before, rel=1e-12)
    assert pm.theta0[0] == pytest.approx(math.log(0.5) - 60e3 / R * (1 / 340.0 - 1 / 320.0), rel=1e-12)


def test_user_gradient_matches_finite_differences():
    pm = ParameterMap(_mech(), ["r1.k_ref", "r1.Ea", "step2.A", "step2.Ea", "step2.b"], 330.0)
    th = pm.theta0 + 0.1
    G = pm.user_gradient(th)
    for i in range(th.size):
        d = np.zeros(th.size)
        d[i] = 1e-6
        fd = (pm.user_values(th + d) - pm.user_values(th - d)) / 2e-6
        assert np.allclose(fd, G[:, i], rtol=1e-6, atol=1e-9 * np.abs(pm.user_values(th)).max())
