"""Reactors against closed-form solutions of textbook kinetics.

References: Levenspiel, Chemical Reaction Engineering (3rd ed.), ch. 3-6;
Fogler, Elements of Chemical Reaction Engineering, ch. 4-5. Tolerances are
relative unless stated; defaults must give 1e-6 relative accuracy.
"""

import math

import numpy as np
import pytest

import flowchem as fc

R = 8.314462618


def mech_from(equations, species, **kw):
    reactions = [fc.Reaction.from_equation(eq, **spec) for eq, spec in equations]
    return fc.Mechanism(species=[fc.Species(s) for s in species], reactions=reactions, **kw)


@pytest.fixture(scope="module")
def first_order():
    # k(50 degC) = A exp(-Ea/RT) with A = 1e6 1/s, Ea = 45 kJ/mol
    return mech_from([("A => B", {"rate": {"A": 1.0e6, "Ea": "45 kJ/mol"}})], ["A", "B"])


def k_arrhenius(A, Ea, T):
    return A * math.exp(-Ea / (R * T))


def test_pfr_first_order_closed_form(first_order):
    T = 323.15
    k = k_arrhenius(1e6, 45e3, T)
    feed = fc.Stream(first_order, flow="0.5 mL/min", T="50 degC", conc={"A": "1 mol/L"})
    res = fc.PFR(volume="2 mL").run(feed)
    tau = 2e-6 / (0.5e-6 / 60)
    assert res.residence_time == pytest.approx(tau, rel=1e-12)
    expected = 1000.0 * math.exp(-k * tau)
    assert res.outlet["A"] == pytest.approx(expected, rel=1e-6)
    assert res.outlet["B"] == pytest.approx(1000.0 - expected, rel=1e-6)
    # the whole profile, not only the outlet (dense output)
    np.testing.assert_allclose(res["A"], 1000.0 * np.exp(-k * res.tau), rtol=1e-6)


def test_cstr_first_order_and_cascade(first_order):
    T = 323.15
    k = k_arrhenius(1e6, 45e3, T)
    feed = fc.Stream(first_order, flow="0.5 mL/min", T=T, conc={"A": 1000.0})
    tau = 2e-6 / (0.5e-6 / 60)
    cstr = fc.CSTR(volume="2 mL").run(feed)
    assert cstr.outlet["A"] == pytest.approx(1000.0 / (1 + k * tau), rel=1e-9)
    for n in (1, 2, 5, 20):
        res = fc.CSTRCascade(n=n, volume="2 mL").run(feed)
        # tanks in series: c_N = c0 / (1 + k tau/N)^N
        assert res.outlet["A"] == pytest.approx(1000.0 / (1 + k * tau / n) ** n, rel=1e-9)
        tanks = res["A"]
        np.testing.assert_allclose(tanks, 1000.0 / (1 + k * tau / n) ** np.arange(1, n + 1), rtol=1e-9)


@pytest.fixture(scope="module")
def bimolecular():
    return mech_from([("A + B => C", {"rate": {"k": "0.5 L/mol/s"}})], ["A", "B", "C"])


def test_pfr_second_order_unequal_feeds(bimolecular):
    # Two feeds mixed 1:1 -> cA0 = 0.5, cB0 = 0.8 mol/L.
    k = 0.5e-3  # m3/mol/s
    a = fc.Stream(bimolecular, flow="1 mL/min", T="25 degC", conc={"A": "1.0 mol/L"})
    b = fc.Stream(bimolecular, flow="1 mL/min", T="25 degC", conc={"B": "1.6 mol/L"})
    mixed = fc.mix([a, b])
    cA0, cB0 = 500.0, 800.0
    assert mixed["A"] == pytest.approx(cA0, rel=1e-14)
    res = fc.PFR(volume="3 mL").run(mixed)
    tau = 90.0
    # ln(cB cA0 / (cA cB0)) = (cB0 - cA0) k tau
    d = cB0 - cA0
    cA = d / (cB0 / cA0 * math.exp(d * k * tau) - 1.0)
    assert res.outlet["A"] == pytest.approx(cA, rel=1e-6)
    assert res.outlet["C"] == pytest.approx(cA0 - cA, rel=1e-6)


def test_cstr_second_order_unequal_feeds(bimolecular):
    k = 0.5e-3
    feed = fc.Stream(bimolecular, flow="2 mL/min", T="25 degC",
                     conc={"A": "0.5 mol/L", "B": "0.8 mol/L"})
    tau = 90.0
    res = fc.CSTR(volume="3 mL").run(feed)
    # cA0 - cA = k tau cA (cA + cB0 - cA0): positive root of the quadratic
    a, b, c = k * tau, 1.0 + k * tau * (800.0 - 500.0), -500.0
    cA = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    assert res.outlet["A"] == pytest.approx(cA, rel=1e-9)
    assert res.outlet["B"] == pytest.approx(800.0 - (500.0 - cA), rel=1e-9)


def test_second_order_same_species_pfr_and_cstr():
    mech = mech_from([("2 A => B", {"rate": {"k": 1.0e-3}})], ["A", "B"])
    feed = fc.Stream(mech, flow=1e-8, T=300.0, conc={"A": 1000.0})
    tau = 100.0
    k = 1.0e-3
    pfr = fc.PFR(volume=1e-6).run(feed)
    # dcA/dt = -2 k cA^2  ->  1/cA = 1/cA0 + 2 k t
    assert pfr.outlet["A"] == pytest.approx(1.0 / (1 / 1000.0 + 2 * k * tau), rel=1e-6)
    assert pfr.outlet["B"] == pytest.approx((1000.0 - pfr.outlet["A"]) / 2, rel=1e-6)
    cstr = fc.CSTR(volume=1e-6).run(feed)
    # cA0 - cA = 2 k tau cA^2
    cA = (-1 + math.sqrt(1 + 8 * k * tau * 1000.0)) / (4 * k * tau)
    assert cstr.outlet["A"] == pytest.approx(cA, rel=1e-9)


def test_reversible_approach_to_equilibrium_batch():
    # A <=> B, kf = 0.02 1/s at T_ref, K = 4 -> kr = 0.005 1/s
    mech = mech_from([("A <=> B", {"rate": {"k_ref": 0.02, "T_ref": "60 degC", "Ea": "70 kJ/mol"},
                                   "equilibrium": {"K_ref": 4.0, "T_ref": "60 degC", "dH": "-20 kJ/mol"}})],
                     ["A", "B"])
    batch = fc.BatchReactor(mech, T="60 degC").run({"A": "1 mol/L"}, time="5 min")
    kf, kr = 0.02, 0.005
    a_eq = 1000.0 * kr / (kf + kr)
    expected = a_eq + (1000.0 - a_eq) * np.exp(-(kf + kr) * batch.t)
    np.testing.assert_allclose(batch["A"], expected, rtol=1e-6)
    # long run: equilibrium ratio B/A = K
    late = fc.BatchReactor(mech, T="60 degC").run({"A": "1 mol/L"}, time="10 h")
    assert late.final["B"] / late.final["A"] == pytest.approx(4.0, rel=1e-6)
    # at another temperature, van 't Hoff: K(T) = K_ref exp(-dH/R (1/T - 1/Tref))
    T = 353.15
    K = 4.0 * math.exp(20e3 / R * (1 / T - 1 / 333.15))
    hot = fc.BatchReactor(mech, T=T).run({"A": "1 mol/L"}, time="10 h")
    assert hot.final["B"] / hot.final["A"] == pytest.approx(K, rel=1e-6)


def test_consecutive_reactions_batch_and_interpolation():
    k1, k2 = 0.1, 0.03
    mech = mech_from([("A => B", {"rate": {"k": k1}}), ("B => C", {"rate": {"k": k2}})], ["A", "B", "C"])
    res = fc.BatchReactor(mech, T=300.0).run({"A": 2.0}, time=100.0)
    t = res.t
    b = 2.0 * k1 / (k2 - k1) * (np.exp(-k1 * t) - np.exp(-k2 * t))
    np.testing.assert_allclose(res["B"], b, rtol=1e-6, atol=1e-12)
    # maximum of B at t* = ln(k2/k1)/(k2-k1); dense output between steps
    t_star = math.log(k2 / k1) / (k2 - k1)
    b_star = 2.0 * (k1 / k2) ** (k2 / (k2 - k1))
    assert res.at(t_star)[1] == pytest.approx(b_star, rel=1e-6)
    np.testing.assert_allclose(res["A"] + res["B"] + res["C"], 2.0, rtol=1e-10)


def test_fractional_order_to_depletion():
    # dcA/dt = -k cA^0.5  ->  cA = (sqrt(cA0) - k t / 2)^2 until t_d = 2 sqrt(cA0)/k
    k = 0.05
    mech = mech_from([("A => B", {"rate": {"k": k}, "orders": {"A": 0.5}})], ["A", "B"])
    c0 = 4.0
    t_d = 2 * math.sqrt(c0) / k  # 80 s
    res = fc.BatchReactor(mech, T=300.0).run({"A": c0}, time=120.0, t_eval=np.linspace(0, 120, 241))
    before = res.t <= 0.95 * t_d
    expected = (math.sqrt(c0) - k * res.t[before] / 2) ** 2
    np.testing.assert_allclose(res["A"][before], expected, rtol=1e-6)
    # after depletion A stays at zero (within atol) and B = c0: no negative
    # concentrations and no loss of mass
    assert res.final["A"] == pytest.approx(0.0, abs=1e-8)
    assert res.final["B"] == pytest.approx(c0, rel=1e-8)
    assert res.solution.min_value > -1e-8


def test_fractional_order_cstr():
    k = 0.05
    mech = mech_from([("A => B", {"rate": {"k": k}, "orders": {"A": 0.5}})], ["A", "B"])
    feed = fc.Stream(mech, flow=1e-6, T=300.0, conc={"A": 4.0})
    tau = 30.0
    res = fc.CSTR(volume=3e-5).run(feed)
    # c0 - c = k tau sqrt(c): quadratic in x = sqrt(c)
    x = (-k * tau + math.sqrt((k * tau) ** 2 + 16.0)) / 2
    assert res.outlet["A"] == pytest.approx(x * x, rel=1e-9)


def test_pfr_length_and_diameter(first_order):
    feed = fc.Stream(first_order, flow="0.5 mL/min", T="50 degC", conc={"A": "1 mol/L"})
    res = fc.PFR(length="2.5465 m", diameter="1 mm").run(feed)
    volume = 2.5465 * math.pi * 1e-3 ** 2 / 4
    assert res.volume == pytest.approx(volume, rel=1e-12)
    assert res.z[-1] == pytest.approx(2.5465, rel=1e-12)
    u = (0.5e-6 / 60) / (math.pi * 1e-3 ** 2 / 4)
    assert res.to_dict()["mean_velocity_m_per_s"] == pytest.approx(u, rel=1e-12)


def test_batch_reports_solver_statistics(first_order):
    res = fc.BatchReactor(first_order, T=330.0).run({"A": 1.0}, time=60.0)
    st = res.stats
    assert res.solution.method == "rodas"
    # Rodas5P's bookkeeping, each counter in its named slot: every attempt is
    # accepted or rejected; one factorization of W per attempt; one Jacobian
    # per accepted step (reused when a step is retried); 8 right-hand sides per
    # attempt (7 stages and the new state) plus at most 2 to start
    assert 10 <= st["accepted_steps"] <= 1000
    assert st["steps"] == st["accepted_steps"] + st["rejected_steps"]
    assert st["lu_factorizations"] == st["steps"]
    assert st["jacobian_evaluations"] == st["accepted_steps"]
    assert 8 * st["steps"] <= st["rhs_evaluations"] <= 8 * st["steps"] + 2


def test_failed_solve_raises_solver_error(first_order):
    opts = fc.SolverOptions(max_steps=10)
    # names the operation and the reason (max_steps = 10 cannot cover 1e9 s)
    with pytest.raises(fc.SolverError, match=r"^R9: .*maximum number of steps"):
        fc.PFR(volume=1.0, name="R9", options=opts).run(
            fc.Stream(first_order, flow=1e-9, T=400.0, conc={"A": 1.0}))


def test_catalytic_cycle_with_weak_diagonal():
    """A + Cat => B + Cat: the catalyst's own Jacobian column has a zero
    diagonal and large off-diagonal entries, which defeats diagonal pivoting
    in the sparse LU of W (the kernel must fall back to partial pivoting).
    Closed form: A = A0 exp(-k Cat0 t)."""
    k, cat0, a0 = 50.0, 2.0, 1.0
    mech = mech_from([("A + Cat => B + Cat", {"rate": {"k": k}})], ["A", "Cat", "B"])
    res = fc.BatchReactor(mech, T=300.0).run({"A": a0, "Cat": cat0}, time=0.2)
    # atol: the solver's default absolute tolerance, 1e-10 of the largest concentration
    np.testing.assert_allclose(res["A"], a0 * np.exp(-k * cat0 * res.t), rtol=1e-6, atol=2e-10)
    np.testing.assert_allclose(res["Cat"], cat0, rtol=1e-12)


def test_switched_off_reactions_leave_the_closed_forms():
    """A zero rate constant (k, A, k_ref or a reverse rate) switches its
    reaction off: A => B (k = 0.01 1/s) with A => C and B <=> C off gives
    the first-order closed forms, and no C at all."""
    mech = mech_from([("A => B", {"rate": {"k": 0.01}}),
                      ("A => C", {"rate": {"A": 0.0, "Ea": "2000 kJ/mol"}}),
                      ("B <=> C", {"rate": {"k_ref": 0.0, "T_ref": 300.0}, "reverse": {"k": 0}})],
                     ["A", "B", "C"])
    feed = fc.Stream(mech, flow="1 mL/min", T="50 degC", conc={"A": "1 mol/L"})
    tau = 100.0
    pfr = fc.PFR(volume=tau * 1e-6 / 60).run(feed)
    assert pfr.outlet["A"] == pytest.approx(1000.0 * math.exp(-1.0), rel=1e-7)
    assert pfr.outlet["B"] == pytest.approx(1000.0 * (1 - math.exp(-1.0)), rel=1e-7)
    assert pfr.outlet["C"] == 0.0
    cstr = fc.CSTRCascade(n=4, volume=tau * 1e-6 / 60).run(feed)
    assert cstr.outlet["A"] == pytest.approx(1000.0 / (1 + 0.01 * tau / 4) ** 4, rel=1e-9)
    assert cstr.outlet["C"] == 0.0
    batch = fc.BatchReactor(mech, "50 degC").run({"A": "1 mol/L"}, time=tau)
    assert batch.final["A"] == pytest.approx(1000.0 * math.exp(-1.0), rel=1e-7)
    assert batch.final["C"] == 0.0


def test_rate_constant_overflowing_at_the_operating_temperature_is_refused():
    """k_ref = 1e300 at 250 K with Ea = 2 MJ/mol is finite at 250 K but
    exp(690.8 + 2e6/R (1/250 - 1/450)) overflows at 450 K: an input error
    naming the reaction and the temperature, before any integration."""
    mech = mech_from([("A => B", {"rate": {"k_ref": 1e300, "T_ref": 250.0, "Ea": 2e6}})], ["A", "B"])
    feed = fc.Stream(mech, flow="1 mL/min", T=450.0, conc={"A": "1 mol/L"})
    why = ("the forward rate constant of reaction r1 (A => B) is not a finite number at T = 450 K "
           "(it overflows 1.8e308 in SI units): its rate parameters describe no usable rate at "
           "this temperature")
    for reactor in (fc.PFR(volume="1 mL"), fc.CSTRCascade(3, "1 mL", name="R2"),
                    fc.PFR(volume="1 mL", energy="adiabatic")):
        with pytest.raises(fc.InputError) as err:
            reactor.run(feed)
        assert str(err.value) == f"<python>: {reactor.name}: {why}"
    with pytest.raises(fc.InputError) as err:
        fc.BatchReactor(mech, 450.0).run({"A": 1.0}, "1 s")
    assert str(err.value) == f"<python>: BatchReactor: {why}"
    # at 145 K the same parameters give k = 0.0025 1/s: the first-order closed form
    k = 1e300 * math.exp(-2e6 / R * (1 / 145.0 - 1 / 250.0))
    assert 1e-3 < k < 1e-2
    cold = fc.PFR(volume="1 mL").run(fc.Stream(mech, flow="1 mL/min", T=145.0, conc={"A": "1 mol/L"}))
    assert cold.outlet["A"] == pytest.approx(1000.0 * math.exp(-k * 60.0), rel=1e-7)


def test_round_off_negatives_are_zero_and_larger_ones_a_solver_error():
    from flowchem.reactors.ideal import clip_roundoff

    atol = np.array([1e-12, 1e-9])
    out = clip_roundoff([[-1e-9, 5.0], [3.0, -1e-6]], atol, "R1")
    np.testing.assert_array_equal(out, [[0.0, 5.0], [3.0, 0.0]])
    with pytest.raises(fc.SolverError) as err:
        clip_roundoff([2.0, -1.1e-6], atol, "R1")
    assert str(err.value) == ("R1: the solution has a negative concentration (-1.1e-06 mol/m^3, "
                              "below 1000 times the absolute tolerance)")
