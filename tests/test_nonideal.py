"""Non-ideal tubular reactors against independent references.

References
----------
* Wehner and Wilhelm, Chem. Eng. Sci. 6 (1956) 89: first-order reaction in the
  axial-dispersion model with Danckwerts conditions (Levenspiel, ch. 13):
  c/c0 = 4a exp(Pe/2) / [(1+a)^2 exp(aPe/2) - (1-a)^2 exp(-aPe/2)], a = sqrt(1 + 4 Da/Pe).
* Limits: plug flow exp(-Da) (Pe -> oo, correction +Da^2/Pe relative) and the
  stirred tank 1/(1+Da) (Pe -> 0, correction O(Pe)).
* scipy.integrate.solve_bvp on the same equations for a second-order reaction.
* Segregated laminar flow, first order: c/c0 = int_{tau/2}^oo e^{-kt} tau^2/(2t^3) dt
  = 2 E_3(Da/2) = (1 - Da/2) e^{-Da/2} + (Da/2)^2 E_1(Da/2)
  (s = kt: 2a^2 int_a^oo e^{-s} s^{-3} ds = 2 E_3(a), a = Da/2, and
  E_3(a) = [e^{-a}(1 - a) + a^2 E_1(a)]/2).
* Segregated laminar flow, second order: scipy.integrate.quad of the closed-form
  batch solution against E(t).
Grid sizes and tolerances are stated in each test; the scheme is second order,
so the tolerances hold with margins of 5x or more at the stated grids.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad, solve_bvp
from scipy.special import exp1

import flowchem as fc
from flowchem.reactors.nonideal import (DispersionPFR, LaminarPFR, peclet,
                               taylor_aris_dispersion)


def wehner_wilhelm(Da, Pe):
    a = math.sqrt(1.0 + 4.0 * Da / Pe)
    # divided through by exp(a Pe/2) so that large Pe does not overflow
    return 4.0 * a * math.exp(0.5 * Pe * (1.0 - a)) / ((1.0 + a) ** 2 - (1.0 - a) ** 2 * math.exp(-a * Pe))


def laminar_first_order(Da):
    a = 0.5 * Da
    return (1.0 - a) * math.exp(-a) + a * a * exp1(a)


@pytest.fixture(scope="module")
def first_order():
    mech = fc.Mechanism(species=[fc.Species("A"), fc.Species("B"), fc.Species("I")],
                        reactions=[fc.Reaction.from_equation("A => B", rate={"k": 0.02})])
    return mech, 0.02


@pytest.fixture(scope="module")
def bimolecular():
    mech = fc.Mechanism(species=[fc.Species(s) for s in "ABC"],
                        reactions=[fc.Reaction.from_equation("A + B => C", rate={"k": 1.0e-3})])
    return mech, 1.0e-3  # m^3/mol/s


def feed_for(mech, conc, flow=1.0e-6):
    return fc.Stream(mech, flow=flow, T=300.0, conc=conc)


# --------------------------------------------------------------------------- dispersion
@pytest.mark.parametrize("Pe", [0.1, 1.0, 10.0, 100.0])
def test_wehner_wilhelm_first_order(first_order, Pe):
    mech, k = first_order
    feed = feed_for(mech, {"A": 1000.0})
    tau = 100.0  # V = 1e-4 m^3 at 1e-6 m^3/s: Da = k tau = 2
    res = DispersionPFR(volume=1.0e-4, Pe=Pe, n_cells=201).run(feed)
    assert res.residence_time == pytest.approx(tau, rel=1e-14)
    ref = 1000.0 * wehner_wilhelm(k * tau, Pe)
    # 201 uniform nodes: measured |error| <= 7.2e-6 relative over these Pe
    assert res.outlet["A"] == pytest.approx(ref, rel=1e-4)
    assert res.outlet["B"] == pytest.approx(1000.0 - ref, rel=1e-4)
    assert res.stats["conservation_error_rel"] < 1e-12
    d = res.to_dict()
    assert d["type"] == "pfr" and d["flow_model"] == "dispersion" and d["Pe"] == Pe
    assert d["residence_time_s"] == pytest.approx(tau) and d["T_out_K"] == 300.0


def test_plug_flow_limit(first_order):
    mech, k = first_order
    feed = feed_for(mech, {"A": 1000.0})
    Pe, Da = 1.0e4, 1.0
    res = DispersionPFR(volume=5.0e-5, Pe=Pe, n_cells=401).run(feed)
    rel = res.outlet["A"] / (1000.0 * math.exp(-Da)) - 1.0
    # c/c_PFR = 1 + Da^2/Pe + O(Pe^-2); the scheme adds <= 1e-5 at 401 nodes
    assert abs(rel - Da * Da / Pe) < 0.2 * Da * Da / Pe
    assert res.outlet["A"] == pytest.approx(1000.0 * wehner_wilhelm(Da, Pe), rel=2e-5)


def test_stirred_tank_limit(first_order):
    mech, k = first_order
    feed = feed_for(mech, {"A": 1000.0})
    Pe, Da = 1.0e-3, 2.0
    res = DispersionPFR(volume=1.0e-4, Pe=Pe, n_cells=101).run(feed)
    rel = res.outlet["A"] / (1000.0 / (1.0 + Da)) - 1.0
    # the correction is O(Pe): -Pe Da/(1+Da)^2 to first order, |.| <= Pe/4
    assert abs(rel) < 0.3 * Pe
    assert res.outlet["A"] == pytest.approx(1000.0 * wehner_wilhelm(Da, Pe), rel=1e-6)


def test_grid_convergence_second_order(first_order):
    mech, k = first_order
    feed = feed_for(mech, {"A": 1000.0})
    ref = 1000.0 * wehner_wilhelm(2.0, 10.0)
    errors = [abs(DispersionPFR(volume=1.0e-4, Pe=10.0, n_cells=n).run(feed).outlet["A"] - ref)
              for n in (26, 51, 101, 201)]
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(3)]
    # interval width halves from n to 2n-1 nodes; the complete-flux scheme is second order
    for p in orders:
        assert 1.9 < p < 2.1, orders


def test_high_peclet_no_oscillation(first_order):
    """Cell Peclet numbers far above 2 (Pe = 1e6, h = 1/100): monotone and bounded."""
    mech, k = first_order
    res = DispersionPFR(volume=1.0e-4, Pe=1.0e6, n_cells=101).run(feed_for(mech, {"A": 1000.0}))
    a = res["A"]
    assert np.all(np.diff(a) < 0.0) and np.all(a > 0.0)
    # plug flow to within the O(1/Pe) correction and the O(h^2) scheme error (measured 2e-5)
    np.testing.assert_allclose(a, 1000.0 * np.exp(-2.0 * res.x), rtol=2e-4)


def test_no_reaction_conserves_exactly(first_order):
    mech, _ = first_order
    # only B and the inert I are fed: every rate is zero
    feed = feed_for(mech, {"B": 700.0, "I": 300.0})
    for Pe in (0.01, 3.0, 1.0e5):
        res = DispersionPFR(volume=1.0e-4, Pe=Pe, n_cells=57, grading=0.5).run(feed)
        np.testing.assert_allclose(res.outlet.conc, feed.conc, rtol=1e-12, atol=1e-12 * 1000.0)
        np.testing.assert_allclose(res.conc, np.tile(feed.conc, (57, 1)), rtol=1e-12, atol=1e-9)
        assert res.stats["conservation_error_rel"] < 1e-13


def test_second_order_against_solve_bvp(bimolecular):
    mech, k = bimolecular
    cA0, cB0, tau, Pe = 1000.0, 1500.0, 2.0, 5.0
    feed = feed_for(mech, {"A": cA0, "B": cB0}, flow=1.0e-6)

    def f(x, y):
        r = k * y[0] * y[1]
        return np.vstack([y[2], y[3], Pe * (y[2] + tau * r), Pe * (y[3] + tau * r)])

    def bc(ya, yb):
        return np.array([ya[0] - ya[2] / Pe - cA0, ya[1] - ya[3] / Pe - cB0, yb[2], yb[3]])

    x = np.linspace(0.0, 1.0, 101)
    y0 = np.vstack([np.full_like(x, 500.0), np.full_like(x, 1000.0), np.zeros_like(x), np.zeros_like(x)])
    ref = solve_bvp(f, bc, x, y0, tol=1e-8, max_nodes=100000)
    assert ref.status == 0
    res = DispersionPFR(volume=tau * 1.0e-6, Pe=Pe, n_cells=401).run(feed)
    # 401 nodes: measured 2.4e-7 relative in A
    assert res.outlet["A"] == pytest.approx(ref.y[0, -1], rel=1e-5)
    assert res.outlet["B"] == pytest.approx(ref.y[1, -1], rel=1e-5)
    np.testing.assert_allclose(res["A"], ref.sol(res.x)[0], rtol=1e-5)
    # stoichiometry and the conservative scheme: C formed = A consumed, exactly
    assert res.outlet["C"] == pytest.approx(cA0 - res.outlet["A"], rel=1e-12)
    assert res.stats["conservation_error_rel"] < 1e-12
    assert np.max(np.abs(res.conservation_error)) < 1e-12 * cA0 * feed.flow


def test_taylor_aris_and_peclet(first_order):
    # D = D_m + u^2 d^2 / (192 D_m): 1e-9 + (1e-2)^2 (1e-3)^2 / 1.92e-7
    D = taylor_aris_dispersion(1.0e-9, 1.0e-2, 1.0e-3)
    assert D == pytest.approx(1.0e-9 + 1.0e-10 / 1.92e-7, rel=1e-14)
    assert D == pytest.approx(5.208343333e-4, rel=1e-9)
    assert peclet(1.0e-2, 2.0, D) == pytest.approx(2.0e-2 / D, rel=1e-14)
    mech, _ = first_order
    feed = feed_for(mech, {"A": 1000.0}, flow="1 mL/min")
    r = DispersionPFR(length="10 m", diameter="0.5 mm", diffusivity="1e-5 cm^2/s",
                      n_cells=51).run(feed)
    u = (1.0e-6 / 60.0) / (math.pi * 0.25e-3 ** 2)
    D = 1.0e-9 + u * u * 0.5e-3 ** 2 / 192e-9
    assert r.D == pytest.approx(D, rel=1e-12)
    assert r.Pe == pytest.approx(u * 10.0 / D, rel=1e-12)
    assert r.D_source == "Taylor-Aris"
    assert r.to_dict()["D_axial_m2_per_s"] == pytest.approx(D, rel=1e-12)
    # D given directly: Pe = u L / D with u = L / tau
    r2 = DispersionPFR(volume="2 mL", length="1 m", D="1e-4 m^2/s", n_cells=51).run(feed)
    assert r2.Pe == pytest.approx((1.0 / r2.residence_time) * 1.0 / 1.0e-4, rel=1e-12)


@pytest.mark.parametrize("kwargs, location, problem", [
    (dict(volume="2 mL"), "PFR", "give exactly one of 'Pe', 'D' or 'diffusivity' (got none)"),
    (dict(volume="2 mL", Pe=10, D=1e-6, length="1 m"), "PFR",
     "give exactly one of 'Pe', 'D' or 'diffusivity' (got Pe and D)"),
    (dict(Pe=10, diffusivity=1e-9, length=1.0, diameter=1e-3), "PFR",
     "give exactly one of 'Pe', 'D' or 'diffusivity' (got Pe and diffusivity)"),
    (dict(volume="2 mL", length=1.0, diameter=1e-3, Pe=10), "PFR",
     "give either 'volume' or 'length' and 'diameter', not both"),
    (dict(volume="2 mL", D="1e-6 m^2/s"), "PFR", "an axial dispersion coefficient 'D' needs the reactor 'length'"),
    (dict(volume="2 mL", diffusivity="1e-9 m^2/s"), "PFR",
     "Taylor-Aris dispersion from 'diffusivity' needs 'length' and 'diameter'"),
    (dict(volume="2 mL", D="1e-6 m", length="1 m"), "PFR.D", "expected a diffusivity"),
    (dict(volume="2 mL", Pe=-1.0), "PFR.Pe", "must be positive, got -1.0"),
    (dict(volume="2 mL", Pe="lots"), "PFR.Pe", "expected a dimensionless number, got 'lots'"),
    (dict(volume="2 mL", Pe=10, n_cells=2), "PFR.n_cells", "expected a whole number of cells >= 3, got 2"),
    (dict(volume="2 mL", Pe=10, grading=1.0), "PFR.grading", "expected a grading in [0, 1), got 1.0"),
    (dict(Pe=10), "PFR", "a PFR needs 'volume', or 'length' and 'diameter'"),   # no geometry
])
def test_bad_arguments(kwargs, location, problem):
    with pytest.raises(fc.InputError) as err:
        DispersionPFR(**kwargs)
    assert err.value.location == location
    assert err.value.problem.startswith(problem), err.value.problem


# --------------------------------------------------------------------------- laminar
@pytest.mark.parametrize("Da", [0.1, 1.0, 5.0])
def test_laminar_first_order_closed_form(first_order, Da):
    mech, k = first_order
    feed = feed_for(mech, {"A": 1000.0})
    res = LaminarPFR(volume=Da / k * 1.0e-6).run(feed)
    assert res.outlet["A"] == pytest.approx(1000.0 * laminar_first_order(Da), rel=1e-6)
    assert res.outlet["A"] + res.outlet["B"] == pytest.approx(1000.0, rel=1e-9)
    d = res.to_dict()
    assert d["flow_model"] == "laminar" and d["type"] == "pfr"
    assert d["tail_truncation_bound_rel"] <= 1.0e-8 * (1 + 1e-9)  # u_min^2, u_min = 1e-4
    # Jensen: e^{-kt} is convex, so any RTD of mean tau converts less than plug flow
    assert res.outlet["A"] / 1000.0 > math.exp(-Da)


def test_laminar_second_order_quadrature(bimolecular):
    mech, k = bimolecular
    c0, tau = 800.0, 3.0
    feed = feed_for(mech, {"A": c0, "B": c0})
    res = LaminarPFR(volume=tau * 1.0e-6).run(feed)

    def batch(t):  # equal feeds: dA/dt = -k A^2
        return c0 / (1.0 + k * c0 * t)

    ref, err = quad(lambda t: batch(t) * tau ** 2 / (2.0 * t ** 3), tau / 2.0, np.inf,
                    epsabs=0.0, epsrel=1e-12, limit=200)
    assert res.outlet["A"] == pytest.approx(ref, rel=1e-6)
    assert res.outlet["C"] == pytest.approx(c0 - ref, rel=1e-6)
    # the cup-mixing profile starts at the feed and ends at the outlet
    assert res["A"][0] == pytest.approx(c0, rel=1e-12)
    assert res["A"][-1] == res.outlet["A"]
