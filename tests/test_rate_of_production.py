"""Rate-of-production analysis against closed forms of consecutive first-order reactions."""

import math

import pytest

import flowchem as fc
from flowchem.reactors.rate_of_production import rate_of_production

K1, K2 = 0.01, 0.004          # 1/s
C0 = 1000.0                    # mol/m^3


def _mech():
    return fc.Mechanism.from_dict({
        "species": [{"name": "A"}, {"name": "B"}, {"name": "C"}],
        "reactions": [{"equation": "A => B", "rate": {"k": K1}},
                      {"equation": "B => C", "id": "second", "rate": {"k": K2}}]})


def test_pfr_contributions_closed_form():
    mech = _mech()
    feed = fc.Stream(mech, flow=1e-6 / 60, T=323.15, conc={"A": C0})
    tau = 300.0
    res = fc.PFR(volume=tau * 1e-6 / 60).run(feed)
    rop = rate_of_production(res)
    made_B = C0 * (1 - math.exp(-K1 * tau))                       # all A converted went to B
    c_B = C0 * K1 / (K2 - K1) * (math.exp(-K1 * tau) - math.exp(-K2 * tau))
    iA, iB, iC = 0, 1, 2
    assert rop.integrated[iB, 0] == pytest.approx(made_B, rel=1e-6)
    assert rop.integrated[iA, 0] == pytest.approx(-made_B, rel=1e-6)
    assert rop.integrated[iB, 1] == pytest.approx(-(made_B - c_B), rel=1e-6)
    assert rop.integrated[iC, 1] == pytest.approx(made_B - c_B, rel=1e-6)
    assert rop.integrated[iA, 1] == 0.0
    assert rop.closure < 1e-7
    rows = rop.breakdown("B")
    assert [r[0] for r in rows] == ["r1", "second"]
    assert rows[0][3] == pytest.approx(1.0)
    assert rows[1][3] == pytest.approx((made_B - c_B) / made_B, rel=1e-6)


def test_cstr_cascade_contributions_closed_form():
    mech = _mech()
    feed = fc.Stream(mech, flow=1e-6 / 60, T=323.15, conc={"A": C0})
    tau_each = 100.0
    res = fc.CSTRCascade(n=2, volume=2 * tau_each * 1e-6 / 60).run(feed)
    rop = rate_of_production(res)
    a1 = C0 / (1 + K1 * tau_each)
    a2 = a1 / (1 + K1 * tau_each)
    b1 = K1 * tau_each * a1 / (1 + K2 * tau_each)
    b2 = (b1 + K1 * tau_each * a2) / (1 + K2 * tau_each)
    assert rop.integrated[1, 0] == pytest.approx(K1 * tau_each * (a1 + a2), rel=1e-9)
    assert rop.integrated[1, 1] == pytest.approx(-K2 * tau_each * (b1 + b2), rel=1e-9)
    assert rop.closure < 1e-9


def test_isothermal_pfr_with_reaction_enthalpy():
    # an isothermal tube with dH carries a heat row after the species: not a temperature
    mech = fc.Mechanism.from_dict({
        "species": [{"name": "A"}, {"name": "B"}],
        "reactions": [{"equation": "A => B", "rate": {"k": K1}, "dH": -80e3}]})
    feed = fc.Stream(mech, flow=1e-6 / 60, T=323.15, conc={"A": C0})
    tau = 200.0
    rop = rate_of_production(fc.PFR(volume=tau * 1e-6 / 60).run(feed))
    assert rop.integrated[1, 0] == pytest.approx(C0 * (1 - math.exp(-K1 * tau)), rel=1e-6)
    assert rop.closure < 1e-7
