"""Energy balances against closed forms and independent calculations.

With a temperature-independent rate constant (Ea = 0) the concentrations
decouple from the temperature and the energy equation becomes linear, so the
temperature along a cooled tube and in a cooled tank have closed forms.
The adiabatic invariant T - T0 = dT_ad * conversion holds for any kinetics
of a single reaction. Multiple CSTR steady states are checked against roots
found here independently with scipy.
"""

import json
import math

import numpy as np
import pytest
from scipy.optimize import brentq

import flowchem as fc
from flowchem.chemistry.properties import LiquidProperties

R = 8.314462618
PROPS = LiquidProperties(density=900.0, cp=2000.0, viscosity=6e-4, thermal_conductivity=0.15,
                         diffusivity=1e-9)
RHO_CP = 900.0 * 2000.0


def first_order(A, Ea, dH):
    return fc.Mechanism(
        species=[fc.Species("A"), fc.Species("B")],
        reactions=[fc.Reaction.from_equation("A => B", rate={"A": A, "Ea": Ea}, dH=dH)])


def test_adiabatic_pfr_invariant_and_closure():
    mech = first_order(1.0e8, "60 kJ/mol", "-40 kJ/mol")
    feed = fc.Stream(mech, flow="1 mL/min", T="40 degC", conc={"A": "1.5 mol/L"}, properties=PROPS)
    res = fc.PFR(volume="2 mL", energy={"mode": "adiabatic", "max_adiabatic_rise": "20 K"}).run(feed)
    dT_ad = 40e3 * 1500.0 / RHO_CP          # 33.3 K
    X = res.conversion("A")
    assert 0.2 < X < 0.999                    # the case is neither trivial nor complete
    # T - T0 = dT_ad * X along the whole tube (energy and species integrated independently)
    X_profile = 1 - res["A"] / 1500.0
    np.testing.assert_allclose(res.T_profile - feed.T, dT_ad * X_profile, rtol=1e-6, atol=1e-6)
    d = res.to_dict()
    assert d["T_out_K"] == pytest.approx(feed.T + dT_ad * X, rel=1e-8)
    assert d["T_max_K"] == pytest.approx(d["T_out_K"], rel=1e-9)   # monotone rise: max at the exit
    assert d["energy_closure_rel"] < 1e-7
    assert d["adiabatic_temperature_rise_K"] == pytest.approx(dT_ad, rel=1e-9)
    assert any("adiabatic temperature rise" in w for w in d["warnings"])   # 33 K > the 20 K limit
    assert d["heat_released_W"] == pytest.approx(40e3 * 1500.0 * X * 1e-6 / 60, rel=1e-6)


def test_adiabatic_batch_invariant():
    mech = first_order(1.0e8, "60 kJ/mol", "-80 kJ/mol")
    batch = fc.BatchReactor(mech, T="30 degC", energy="adiabatic", properties=PROPS).run(
        {"A": "1 mol/L"}, time="30 min")
    dT_ad = 80e3 * 1000.0 / RHO_CP
    X = 1 - batch["A"] / 1000.0
    np.testing.assert_allclose(batch.T_profile - 303.15, dT_ad * X, rtol=1e-6, atol=1e-6)
    assert batch.T_max == pytest.approx(303.15 + dT_ad * X[-1], rel=1e-8)


@pytest.mark.parametrize("method", [None, "bdf", "auto"])
def test_cooled_pfr_temperature_closed_form(method):
    """Ea = 0: c = c0 exp(-k tau) and dT/dtau = b k c - a (T - Tc), with
    b = -dH/(rho cp) and a = U (4/d)/(rho cp), so
    T - Tc = (T0 - Tc) e^{-a tau} + b k c0 (e^{-k tau} - e^{-a tau})/(a - k).
    With the default solver, and with the variable-order BDF at rtol 1e-10
    (``auto`` picks it there), whose dense output finds the hot spot."""
    k = 0.05
    mech = first_order(k, 0.0, "-150 kJ/mol")
    U, d = 200.0, 2e-3
    feed = fc.Stream(mech, flow="2 mL/min", T="20 degC", conc={"A": "1 mol/L"}, properties=PROPS)
    options = None if method is None else fc.SolverOptions(rtol=1e-10, method=method)
    reactor = fc.PFR(length="10 m", diameter=d, energy={"U": U, "coolant_T": "25 degC"},
                     options=options)
    res = reactor.run(feed)
    assert res.solution.method == ("rodas" if method is None else "bdf")
    a = U * 4 / d / RHO_CP
    b = 150e3 / RHO_CP
    c0, T0, Tc = 1000.0, 293.15, 298.15
    tau = res.tau
    T_exact = Tc + (T0 - Tc) * np.exp(-a * tau) + b * k * c0 * (np.exp(-k * tau) - np.exp(-a * tau)) / (a - k)
    np.testing.assert_allclose(res.T_profile, T_exact, rtol=0, atol=1e-6)
    np.testing.assert_allclose(res["A"], c0 * np.exp(-k * tau), rtol=1e-6, atol=1e-6)
    # hot spot: where dT/dtau = 0, from the closed form by root finding
    dT = lambda t: (-a * (T0 - Tc) * math.exp(-a * t)
                    + b * k * c0 * (-k * math.exp(-k * t) + a * math.exp(-a * t)) / (a - k))
    t_star = brentq(dT, 1e-6, tau[-1])
    T_star = Tc + (T0 - Tc) * math.exp(-a * t_star) + b * k * c0 * (
        math.exp(-k * t_star) - math.exp(-a * t_star)) / (a - k)
    out = res.to_dict()
    assert out["T_max_K"] == pytest.approx(T_star, abs=1e-6)
    assert out["T_max_position_m"] == pytest.approx(t_star / tau[-1] * 10.0, rel=1e-4)
    # energy closure: released = through the wall + sensible heat of the stream
    assert out["energy_closure_rel"] < 1e-6
    # Hagen-Poiseuille in the same entry: 128 mu L Q / (pi d^4)
    Q = 2e-6 / 60
    assert out["pressure_drop_Pa"] == pytest.approx(128 * 6e-4 * 10.0 * Q / (math.pi * d ** 4), rel=1e-10)
    # heat rows: released -dH c0 (1 - e^{-k tau}) Q; through the wall
    # U (4/d) Q int_0^tau (T - Tc) dt with the integral of the closed form
    t_end = tau[-1]
    Q_c = 2e-6 / 60
    assert out["heat_released_W"] == pytest.approx(150e3 * c0 * (1 - math.exp(-k * t_end)) * Q_c, rel=1e-6)
    wall_integral = ((T0 - Tc) * (1 - math.exp(-a * t_end)) / a + b * k * c0 / (a - k)
                     * ((1 - math.exp(-k * t_end)) / k - (1 - math.exp(-a * t_end)) / a))
    assert out["heat_removed_W"] == pytest.approx(U * 4 / d * Q_c * wall_integral, rel=1e-6)
    # the hot spot's gain on the coolant temperature: central difference of
    # +-0.5 K (as documented) of the closed-form T_max(Tc); by the envelope
    # theorem that is 1 - e^{-a t*} to O(0.5^2): 0.88548 against 0.88549
    def T_max_closed(coolant):
        def slope(t):
            return (-a * (T0 - coolant) * math.exp(-a * t)
                    + b * k * c0 * (-k * math.exp(-k * t) + a * math.exp(-a * t)) / (a - k))
        t = brentq(slope, 1e-6, t_end, xtol=1e-14)
        return coolant + (T0 - coolant) * math.exp(-a * t) + b * k * c0 * (
            math.exp(-k * t) - math.exp(-a * t)) / (a - k)
    gain = T_max_closed(Tc + 0.5) - T_max_closed(Tc - 0.5)
    assert gain == pytest.approx(1 - math.exp(-a * t_star), rel=1e-4)
    assert out["hot_spot_sensitivity"] == pytest.approx(gain, rel=1e-5)
    assert out["hot_spot_sensitivity_to"] == "coolant_T"
    # below the sensitivity limit: no warning other than the adiabatic-rise screen
    assert out["warnings"] == [w for w in out["warnings"] if "adiabatic" in w]


def test_cooled_and_adiabatic_cstr_closed_form():
    k = 0.02
    mech = first_order(k, 0.0, "-100 kJ/mol")
    feed = fc.Stream(mech, flow="1 mL/min", T="20 degC", conc={"A": "2 mol/L"}, properties=PROPS)
    V, tau = 50e-6, 3000.0
    c = 2000.0 / (1 + k * tau)
    adiabatic = fc.CSTR(volume="50 mL", energy="adiabatic").run(feed)
    assert adiabatic.outlet["A"] == pytest.approx(c, rel=1e-9)
    dT_ad = 100e3 * 2000.0 / RHO_CP
    assert adiabatic.outlet.T == pytest.approx(293.15 + dT_ad * (1 - c / 2000.0), rel=1e-10)
    assert adiabatic.to_dict()["energy_closure_rel"] < 1e-8
    U, area, Tc = 300.0, 0.01, 288.15
    cooled = fc.CSTR(volume="50 mL", energy={"U": U, "coolant_T": Tc, "area": area}).run(feed)
    # 0 = rho cp (T0 - T)/tau + (-dH) k c - (U A / V)(T - Tc)
    T = (RHO_CP * 293.15 / tau + 100e3 * k * c + U * area / V * Tc) / (RHO_CP / tau + U * area / V)
    assert cooled.outlet.T == pytest.approx(T, rel=1e-10)
    d = cooled.to_dict()
    assert d["heat_removed_W"] == pytest.approx(U * area * (T - Tc), rel=1e-8)
    assert d["energy_closure_rel"] < 1e-8
    assert d["n_steady_states"] == 1


def classic_cstr():
    """An exothermic first-order tank with three steady states (a textbook
    ignition/extinction case): Ea = 75 kJ/mol, dH = -200 kJ/mol."""
    mech = first_order(4.0e9, "75 kJ/mol", "-200 kJ/mol")
    feed = fc.Stream(mech, flow="10 mL/min", T="25 degC", conc={"A": "1.0 mol/L"}, properties=PROPS)
    return mech, feed


def independent_roots(tau, Ua_per_V, Tc, T0=298.15, c0=1000.0):
    k = lambda T: 4.0e9 * math.exp(-75e3 / (R * T))
    G = lambda T: 200e3 * k(T) * c0 / (1 + k(T) * tau) - RHO_CP * (T - T0) / tau - Ua_per_V * (T - Tc)
    grid = np.linspace(280.0, 420.0, 20001)
    vals = np.array([G(T) for T in grid])
    return [brentq(G, grid[i], grid[i + 1], xtol=1e-12)
            for i in range(len(grid) - 1) if vals[i] * vals[i + 1] < 0]


def test_cstr_multiple_steady_states_against_independent_roots():
    mech, feed = classic_cstr()
    V = 10e-6 / 60 * 60.0         # 10 mL/min for tau = 60 s
    tau = 60.0
    U, area, Tc = 500.0, 1.0e-4, 298.15    # U a = 5000 W/m3/K
    res = fc.CSTR(volume=V, energy={"U": U, "coolant_T": Tc, "area": area}).run(feed)
    roots = independent_roots(tau, U * area / V, Tc)
    assert len(roots) == 3
    found = [s.T for s in res.steady_states]
    np.testing.assert_allclose(found, roots, rtol=0, atol=1e-6)
    # outer states stable, middle unstable (slope of removal vs generation)
    assert [s.stable for s in res.steady_states] == [True, False, True]
    # start-up from the cold feed settles on the lower (extinguished) branch
    assert res.outlet.T == pytest.approx(roots[0], abs=1e-6)
    assert any("3 steady states" in w for w in res.warnings)
    ax = res.plot_heat_balance()
    assert len(ax.lines) >= 2


def test_route_energy_keys_and_mixer_enthalpy_balance(tmp_path):
    mech = tmp_path / "mech.yaml"
    mech.write_text("""
species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
reactions:
  - {equation: A => B, rate: {A: 1.0e8, Ea: 60 kJ/mol}, dH: -120 kJ/mol}
""")
    route = tmp_path / "route.yaml"
    route.write_text("""
name: energy route
mechanism: mech.yaml
properties: {density: 900 kg/m^3, cp: 2.0 kJ/kg/K, viscosity: 0.6 mPa*s, thermal_conductivity: 0.15 W/m/K}
feeds:
  - {name: hot,  flow: 1 mL/min, T: 60 degC, conc: {A: 3 mol/L}, properties: {cp: 3.0 kJ/kg/K}}
  - {name: cold, flow: 1 mL/min, T: 20 degC}
operations:
  - {name: M1, type: mixer, from: [hot, cold]}
  - {name: R1, type: pfr, from: M1, length: 5 m, diameter: 1 mm, coil_diameter: 3 cm,
     energy: {U: 100 W/m^2/K, coolant_T: 45 degC}}
product: {from: R1, species: B, basis: A}
""")
    d = fc.load_route(route).run().to_dict()
    # enthalpy balance with cp 3.0 and 2.0 kJ/kg/K at equal mass flows
    T_mix = (3.0 * 333.15 + 2.0 * 293.15) / 5.0
    assert d["streams"]["M1"]["T_K"] == pytest.approx(T_mix, rel=1e-12)
    r1 = d["operations"]["R1"]
    ref = cooled_coil_reference(T_in=T_mix, coolant_T=318.15)
    # concentrations and temperatures against scipy's Radau on the same balances
    assert d["streams"]["R1"]["conc_mol_per_m3"]["A"] == pytest.approx(ref["c_out"], rel=1e-6)
    assert r1["T_out_K"] == pytest.approx(ref["T_out"], abs=1e-6)
    assert r1["T_max_K"] == pytest.approx(ref["T_max"], abs=1e-6)
    assert r1["T_max_position_m"] == pytest.approx(ref["z_max"], rel=1e-4)
    assert ref["T_max"] > T_mix + 5.0 and 0.5 < ref["z_max"] < 1.0   # a real hot spot, 325.6 K at 0.75 m
    # heat: released -dH (c0 - c) Q; through the wall U (4/d) Q int (T - Tc) dt
    assert r1["heat_released_W"] == pytest.approx(ref["released"], rel=1e-6)
    assert r1["heat_removed_W"] == pytest.approx(ref["removed"], rel=1e-6)
    assert r1["energy_closure_rel"] < 1e-6
    # the hot spot's gain on the coolant temperature, central differences of +-0.5 K
    gain = (cooled_coil_reference(T_mix, 318.65)["T_max"] - cooled_coil_reference(T_mix, 317.65)["T_max"])
    assert r1["hot_spot_sensitivity"] == pytest.approx(gain, rel=1e-4)
    # hydraulics: u = Q/(pi d^2/4), Re = rho u d/mu, De = Re sqrt(d/Dc), and
    # Hagen-Poiseuille times Mishra-Gupta's 1 + 0.033 (log10 De)^4
    Q, d_t, L, Dc = 2e-6 / 60, 1e-3, 5.0, 0.03
    u = Q / (math.pi * d_t ** 2 / 4)
    Re = 900.0 * u * d_t / 0.6e-3
    De = Re * math.sqrt(d_t / Dc)
    assert r1["reynolds"] == pytest.approx(Re, rel=1e-12)               # 63.66
    assert r1["dean"] == pytest.approx(De, rel=1e-12)                   # 11.62
    dp = 128 * 0.6e-3 * L * Q / (math.pi * d_t ** 4) * (1 + 0.033 * math.log10(De) ** 4)
    assert r1["pressure_drop_Pa"] == pytest.approx(dp, rel=1e-12)
    assert r1["flow_regime"] == "laminar"
    json.dumps(d)   # serialisable


def cooled_coil_reference(T_in, coolant_T):
    """The cooled coil of the route test solved here with scipy: the mixed
    stream (2 mL/min, 1.5 mol/L A, rho 900 kg/m3 and the mass-weighted
    cp 2.5 kJ/kg/K of equal masses at 3.0 and 2.0) through 5 m x 1 mm at
    U = 100 W/m2/K. In residence time: dc/dt = -k(T) c,
    rho cp dT/dt = (-dH) k(T) c - U (4/d) (T - Tc), plus the wall-heat integral."""
    from scipy.integrate import solve_ivp
    from scipy.optimize import minimize_scalar

    rho_cp, Q, d_t, L, U, dH = 900.0 * 2500.0, 2e-6 / 60, 1e-3, 5.0, 100.0, -120e3
    tau = math.pi * d_t ** 2 / 4 * L / Q
    a = U * 4 / d_t

    def k(T):
        return 1.0e8 * math.exp(-60e3 / (R * T))

    def f(t, y):
        c, T, _ = y
        return [-k(T) * c, (-dH * k(T) * c - a * (T - coolant_T)) / rho_cp, T - coolant_T]

    sol = solve_ivp(f, (0.0, tau), [1500.0, T_in, 0.0], method="Radau", rtol=1e-12,
                    atol=[1e-9, 1e-10, 1e-10], dense_output=True)
    assert sol.success
    grid = np.linspace(0.0, tau, 2001)
    T_grid = sol.sol(grid)[1]
    i = int(np.argmax(T_grid))
    best = minimize_scalar(lambda t: -sol.sol(t)[1], bounds=(grid[max(i - 1, 0)], grid[min(i + 1, 2000)]),
                           method="bounded", options={"xatol": 1e-10 * tau})
    c_out, T_out, wall = sol.y[:, -1]
    return {"c_out": c_out, "T_out": T_out, "T_max": -best.fun, "z_max": best.x / tau * L,
            "released": -dH * (1500.0 - c_out) * Q, "removed": a * wall * Q}


def test_energy_input_errors(tmp_path):
    mech = first_order(1.0, 0.0, -1.0)
    with pytest.raises(fc.InputError, match="coolant_T"):
        fc.PFR(length="1 m", diameter="1 mm", energy={"U": 100})
    with pytest.raises(fc.InputError, match="diameter"):
        fc.PFR(volume="1 mL", energy={"U": 100, "coolant_T": 300})
    with pytest.raises(fc.InputError, match="area"):
        fc.CSTR(volume="1 mL", energy={"U": 100, "coolant_T": 300})
    with pytest.raises(fc.InputError, match="isothermal"):
        fc.PFR(volume="1 mL", T=300, energy="adiabatic")
    with pytest.raises(fc.InputError, match="energy.U"):
        fc.PFR(length="1 m", diameter="1 mm", energy={"U": "5 parsecs", "coolant_T": 300})
    del mech


def test_U_auto_laminar_estimate():
    """U: auto in a straight tube of known length: Hausen's entrance-region
    Nusselt number, Nu = 3.66 + 0.0668 Gz/(1 + 0.04 Gz^(2/3)), Gz = Re Pr d/L,
    and U = h = Nu k/d without wall or outside resistance."""
    mech = first_order(0.01, 0.0, "-50 kJ/mol")
    feed = fc.Stream(mech, flow="1 mL/min", T="20 degC", conc={"A": "1 mol/L"}, properties=PROPS)
    d, L = 1e-3, 3.0
    res = fc.PFR(length=L, diameter=d, energy={"U": "auto", "coolant_T": "30 degC"}).run(feed)
    Q = 1e-6 / 60
    u = Q / (math.pi * d * d / 4)
    Re = 900.0 * u * d / 6e-4
    Pr = 2000.0 * 6e-4 / 0.15
    Gz = Re * Pr * d / L
    Nu = 3.66 + 0.0668 * Gz / (1 + 0.04 * Gz ** (2 / 3))
    out = res.to_dict()
    assert out["U_W_per_m2_K"] == pytest.approx(Nu * 0.15 / d, rel=1e-9)
    assert "laminar" in out["U_source"]


def test_endothermic_and_reversing_heat_rows():
    """The heat released may be negative (endothermic steps, or a reversible
    reaction running backwards): it is exempt from the non-negativity rule.
    A <=> B with dH = +30 kJ/mol fed as pure A: heat released = -dH * B formed."""
    mech = fc.Mechanism(species=[fc.Species("A"), fc.Species("B")], reactions=[
        fc.Reaction.from_equation("A <=> B", rate={"k": 0.05}, equilibrium={"K_ref": 2.0, "T_ref": "25 degC"},
                                  dH="30 kJ/mol")])
    feed = fc.Stream(mech, flow="1 mL/min", T="25 degC", conc={"A": "1 mol/L"}, properties=PROPS)
    Q = 1e-6 / 60
    pfr = fc.PFR(volume="3 mL").run(feed)
    assert pfr.to_dict()["heat_released_W"] == pytest.approx(-30e3 * pfr.outlet["B"] * Q, rel=1e-7)
    cstr = fc.CSTR(volume="3 mL").run(feed)
    assert cstr.to_dict()["heat_released_W"] == pytest.approx(-30e3 * cstr.outlet["B"] * Q, rel=1e-8)
    # adiabatic: the tank cools by dH * B / (rho cp)
    cold = fc.CSTR(volume="3 mL", energy="adiabatic").run(feed)
    assert cold.outlet.T == pytest.approx(298.15 - 30e3 * cold.outlet["B"] / RHO_CP, rel=1e-10)
    # fed as pure B the reaction runs backwards and releases heat
    back = fc.PFR(volume="3 mL").run(fc.Stream(mech, flow="1 mL/min", T="25 degC",
                                               conc={"B": "1 mol/L"}, properties=PROPS))
    assert back.to_dict()["heat_released_W"] == pytest.approx(30e3 * back.outlet["A"] * Q, rel=1e-7)



# --------------------------------------------------------------------------- scan gaps and the runaway screen

def _scan_grid(res, n_grid):
    lo, hi = res.to_dict()["steady_state_scan"]["T_range_K"]
    return np.linspace(lo, hi, n_grid)


def _default_n_grid():
    import inspect

    from flowchem.reactors.energy import cstr_steady_states

    return inspect.signature(cstr_steady_states).parameters["n_grid"].default


def classic_tank_and_roots():
    mech, feed = classic_cstr()
    V, tau = 10e-6, 60.0
    U, area, Tc = 500.0, 1.0e-4, 298.15
    reactor = fc.CSTR(volume=V, energy={"U": U, "coolant_T": Tc, "area": area})
    return reactor, feed, independent_roots(tau, U * area / V, Tc)


def failing_tank(monkeypatch, fails):
    """Make the scan's isothermal tank fail wherever ``fails(T)`` is true."""
    from flowchem.reactors import energy

    real = energy._isothermal_tank

    def tank(mechanism, c_in, tau, T, guess, options):
        if fails(T):
            return None, energy.make_system(mechanism, T)
        return real(mechanism, c_in, tau, T, guess, options)

    monkeypatch.setattr(energy, "_isothermal_tank", tank)


def test_scan_refines_around_failed_grid_points(monkeypatch):
    """Grid points that cannot be solved (here: ten consecutive ones around
    the middle steady state, exactly at the grid temperatures) are approached
    from both neighbours in smaller steps; the curve stays as dense as the
    grid, so all three steady states of the independent root finding are
    found and nothing is reported missing."""
    reactor, feed, roots = classic_tank_and_roots()
    grid = _scan_grid(reactor.run(feed), _default_n_grid())
    k = int(np.argmin(np.abs(grid - roots[1])))
    bad = grid[k - 5:k + 5]
    failing_tank(monkeypatch, lambda T: np.any(np.abs(bad - T) < 1e-9))
    res = reactor.run(feed)
    np.testing.assert_allclose([s.T for s in res.steady_states], roots, rtol=0, atol=1e-6)
    d = res.to_dict()
    assert d["n_steady_states"] == 3
    assert d["steady_state_scan"]["complete"] is True and d["steady_state_scan"]["gaps"] == []
    assert not any("did not cover" in w for w in d["warnings"])


def test_scan_reports_the_interval_it_could_not_solve(monkeypatch):
    """Where the tank cannot be solved over a whole band (here 6 K around the
    middle steady state) the state there is lost: the scan says so in a
    warning naming the interval, and in the JSON, and the interval is
    narrowed by continuation to within 1/16 of a grid step of the band."""
    reactor, feed, roots = classic_tank_and_roots()
    spacing = np.diff(_scan_grid(reactor.run(feed), _default_n_grid()))[0]
    band = (roots[1] - 3.0, roots[1] + 3.0)
    failing_tank(monkeypatch, lambda T: band[0] <= T <= band[1])
    res = reactor.run(feed)
    np.testing.assert_allclose([s.T for s in res.steady_states], [roots[0], roots[2]], rtol=0, atol=1e-6)
    d = res.to_dict()
    assert d["n_steady_states"] == 2
    scan = d["steady_state_scan"]
    assert scan["complete"] is False and len(scan["gaps"]) == 1
    gap = scan["gaps"][0]
    assert band[0] - spacing / 16 < gap["T_low_K"] < band[0]
    assert band[1] < gap["T_high_K"] < band[1] + spacing / 16
    assert gap["T_low_K"] < roots[1] < gap["T_high_K"]      # the lost state lies in it
    assert gap["reason"] == ("the isothermal tank could not be solved; the heat balance changes "
                             "sign across it: a steady state lies there")
    text = f"{gap['T_low_K'] - 273.15:.1f} to {gap['T_high_K'] - 273.15:.1f} degC"
    assert [w for w in d["warnings"] if "did not cover" in w] == [
        f"CSTR: the steady-state scan did not cover {text} ({gap['reason']}); steady states there "
        "may be missing (2 found)"]
    json.dumps(d, allow_nan=False)


def test_runaway_screen_unbounded_is_a_warning_of_its_own():
    """A source reaction (=> B, zero order, k = 2 mol/m3/s, dH = -50 kJ/mol)
    releases heat without consuming anything fed: the screen cannot bound the
    adiabatic rise and says so; the tube itself is the closed form B = k tau."""
    mech = fc.Mechanism(species=[fc.Species("A"), fc.Species("B")], reactions=[
        fc.Reaction({}, {"B": 1.0}, False, {"k": 2.0}, dH="-50 kJ/mol")])
    feed = fc.Stream(mech, flow="1 mL/min", T="25 degC", conc={"A": "1 mol/L"}, properties=PROPS)
    res = fc.PFR(volume="1 mL").run(feed)
    assert res.outlet["B"] == pytest.approx(2.0 * 60.0, rel=1e-10)
    d = res.to_dict()
    assert d["heat_released_W"] == pytest.approx(50e3 * 120.0 * 1e-6 / 60, rel=1e-8)
    assert d["adiabatic_temperature_rise_K"] is None
    assert d["runaway_screen"] == {
        "status": "unbounded", "adiabatic_temperature_rise_K": None, "limit_K": 50.0,
        "reason": "stoichiometry does not limit the heat released (reactions without reactants: r1)"}
    assert d["warnings"] == [
        "PFR: the worst-case adiabatic temperature rise is unbounded: stoichiometry does not limit "
        "the heat released (reactions without reactants: r1); the runaway screen cannot bound it"]


def test_runaway_screen_that_fails_is_a_warning_and_widens_nothing(monkeypatch):
    """A linear programme that does not finish (HiGHS status 4, forced here)
    is reported as a failed screen, and the steady-state scan of a tank,
    which takes its range from the same bound, scans at most 2000 K above the
    inlet and reports the rest as not scanned; the tank itself is the
    closed form c = c0/(1 + k tau), T = T0 + dT_ad (1 - c/c0)."""
    import scipy.optimize
    from scipy.optimize import OptimizeResult

    monkeypatch.setattr(scipy.optimize, "linprog", lambda *a, **k: OptimizeResult(
        status=4, message="Numerical difficulties encountered.", fun=None, x=None))
    k = 0.02
    mech = first_order(k, 0.0, "-100 kJ/mol")
    feed = fc.Stream(mech, flow="1 mL/min", T="20 degC", conc={"A": "2 mol/L"}, properties=PROPS)
    res = fc.CSTR(volume="50 mL", energy="adiabatic").run(feed)
    c = 2000.0 / (1 + k * 3000.0)
    assert res.outlet["A"] == pytest.approx(c, rel=1e-9)
    assert res.outlet.T == pytest.approx(293.15 + 100e3 * (2000.0 - c) / RHO_CP, rel=1e-10)
    d = res.to_dict()
    assert d["runaway_screen"]["status"] == "failed"
    reason = "linear programme did not finish: Numerical difficulties encountered."
    assert d["runaway_screen"]["reason"] == reason
    assert f"CSTR: the runaway screen failed ({reason}); the worst-case adiabatic temperature " \
           "rise was not checked" in d["warnings"]
    assert d["n_steady_states"] == 1
    assert [s.T for s in res.steady_states] == pytest.approx([res.outlet.T], abs=1e-6)
    gaps = d["steady_state_scan"]["gaps"]
    assert gaps == [{"T_low_K": pytest.approx(293.15 + 2001.0, rel=1e-12), "T_high_K": None,
                     "reason": f"not scanned: more than 2000 K above the inlet and coolant ({reason})"}]


def test_adiabatic_rise_extremes_and_switched_off_reactions():
    """The worst case is -dH c / (rho cp) for one reaction at any scale of
    concentration and enthalpy (the programme is solved in scaled units); a
    reaction whose rate constant is zero cannot release heat, nor can a
    switched-off reverse direction."""
    from flowchem.reactors.energy import adiabatic_temperature_rise, heat_release_bound

    for c0, dH in ((1e-300, -1e9), (1e4, -2e6), (1e4, -1e9), (1e-3, -1.0)):
        mech = first_order(1.0, 0.0, dH)
        assert adiabatic_temperature_rise(mech, [c0, 0.0], RHO_CP) == pytest.approx(
            -dH * c0 / RHO_CP, rel=1e-9)
    parallel = fc.Mechanism(species=[fc.Species(s) for s in "ABC"], reactions=[
        fc.Reaction.from_equation("A => B", rate={"k": 0}, dH="-100 kJ/mol"),
        fc.Reaction.from_equation("A => C", rate={"k": 1}, dH="-10 kJ/mol")])
    assert adiabatic_temperature_rise(parallel, [1000.0, 0, 0], RHO_CP) == pytest.approx(
        10e3 * 1000.0 / RHO_CP, rel=1e-12)

    def reversible(**kw):
        return fc.Mechanism(species=[fc.Species("A"), fc.Species("B")], reactions=[
            fc.Reaction.from_equation("A <=> B", rate={"k": 1}, dH="50 kJ/mol", **kw)])

    # fed B, only the reverse (exothermic) direction releases heat: 50 kJ/mol of B
    on = heat_release_bound(reversible(equilibrium={"K_ref": 2.0, "T_ref": 300.0}), [0.0, 1000.0])
    assert on.status == "ok" and on.value == pytest.approx(50e3 * 1000.0, rel=1e-12)
    off = heat_release_bound(reversible(reverse={"k": 0}), [0.0, 1000.0])
    assert off.status == "ok" and off.value == 0.0


def test_U_auto_is_refused_for_stirred_vessels():
    """U: auto is a laminar tube correlation; a batch vessel or a tank needs
    agitation data flowchem does not model: refused up front, saying why."""
    mech = first_order(1.0, 0.0, -1.0)
    why = ("U: auto is a laminar-flow estimate for tubes (from the diameter and the liquid's "
           "properties); a stirred vessel's U depends on its agitation (impeller, speed, baffles, "
           "jacket side), which flowchem does not model: give U in W/m^2/K (a jacketed lab or "
           "pilot vessel is typically 100-500)")
    with pytest.raises(fc.InputError) as err:
        fc.BatchReactor(mech, 300.0, energy={"U": "auto", "coolant_T": 290.0, "area": 0.5}, volume=0.1)
    assert str(err.value) == f"<python>: BatchReactor.energy.U: {why}"
    with pytest.raises(fc.InputError) as err:
        fc.CSTRCascade(3, "1 L", energy={"U": "auto", "coolant_T": 290.0, "area": 0.1}, name="R2",
                       source="route.yaml", where="operations[1]")
    assert str(err.value) == f"route.yaml: operations[1].energy.U: {why}"
    # with a number it runs: 300 W/m2/K on 0.5 m2 of a 0.1 m3 batch, Ea = 0:
    # T - Tc decays as exp(-U A t/(V rho cp)) while the heat release is zero
    batch = fc.BatchReactor(mech, 300.0, energy={"U": 300.0, "coolant_T": 290.0, "area": 0.5},
                            volume=0.1, properties=PROPS)
    res = batch.run({"A": 0.0}, "1 h")
    assert res.T_profile[-1] == pytest.approx(290.0 + 10.0 * math.exp(-300 * 0.5 * 3600 / (0.1 * RHO_CP)),
                                              abs=1e-6)
