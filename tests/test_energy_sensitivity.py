"""Forward sensitivities with an energy balance (BATCH_ENERGY_SENS of
kernels.sensitivity, energy_cascade_sensitivity of kernels.steady_sensitivity,
the wrappers of flowchem.reactors.sensitivity and the route path of
flowchem.process.sensitivity).

References: a closed form (adiabatic first order with a temperature-free
rate constant); central finite differences of the kernels' own right-hand
side for the augmented Jacobian; central finite differences, step h = 1e-4
in θ (ln A, Ea/(R T_c)) and 1e-3 K in temperatures, of the plain reactors of
flowchem.reactors.ideal (BatchReactor, PFR, CSTR, CSTRCascade) at rtol 1e-10;
and central differences of Route.run() for the lomustine route. The
difference error (rtol / h plus h^2 terms) stays below 1e-7 of each
column's scale (observed agreement 2e-9 to 4e-8), so the tolerance below
(1e-6 of the column's scale) tests the forward sensitivities, not the
differences.
"""

import numpy as np
import pytest

import flowchem as fc
from flowchem.chemistry.mechanism import Mechanism
from flowchem.chemistry.parameters import ParameterMap
from flowchem.core.errors import InputError
from flowchem.process.route import load_route
from flowchem.process.stream import Stream
from flowchem.reactors.ideal import CSTR, PFR, BatchReactor, CSTRCascade
from flowchem.reactors.sensitivity import (batch_energy_sensitivities, cstr_energy_sensitivities,
                                           energy_sensitivity_system, kernel_arrays)
from flowchem.reactors.solver import SolverOptions
from kernels.sensitivity import energy_sensitivity_jacobian, energy_sensitivity_rhs

TIGHT = SolverOptions(rtol=1e-10)
H_THETA = 1e-4          # central-difference step in θ
H_T = 1e-3              # K, central-difference step in a temperature
RTOL_FD = 1e-6             # of each column's scale (observed: 2e-9 to 4e-8)
T_C = 320.0             # centre temperature of the parameter maps, K

# A + B => C (Arrhenius in A form: θ = ln A, Ea/(R T_c)), C <=> D through a
# van 't Hoff equilibrium, and a fractional-order side reaction; all exothermic
REACTIONS = [
    {"equation": "A + B => C", "rate": {"A": 1.25e5, "Ea": 60.0e3}, "dH": -60.0e3},
    {"equation": "C <=> D", "rate": {"k_ref": 1.0e-3, "T_ref": 320.0, "Ea": 90.0e3},
     "equilibrium": {"K_ref": 2.0, "T_ref": 320.0, "dH": -20.0e3}, "dH": -20.0e3},
    {"equation": "A => E", "rate": {"A": 2.0e8, "b": 0.5, "Ea": 80.0e3}, "orders": {"A": 1.5},
     "dH": -40.0e3},
]
NAMES = ["r1.A", "r1.Ea", "r2.k_ref", "r2.K_ref", "r3.A", "r1.dH"]
C0 = np.array([500.0, 600.0, 0.0, 0.0, 0.0])
RHO_CP = 900.0 * 2000.0            # the default liquid's, J/m^3/K


def _mechanism(reactions=REACTIONS, species="ABCDE"):
    return Mechanism.from_dict({"species": [{"name": s} for s in species],
                                "reactions": reactions})


def _arrays(pm, theta):
    model, rate_params = kernel_arrays(pm, theta)
    return model, rate_params, np.asarray(pm.arrays(theta)[2], dtype=float)


def _close(forward, fd, what, n_conc=5):
    """|forward - fd| within RTOL_FD of the scale of its parameter and kind:
    arrays (points, rows, parameters) with the concentrations in the first
    ``n_conc`` rows (scale: their largest |fd| for that parameter) and
    temperatures after (scale: the largest |dT/dθ| for that parameter)."""
    forward = np.asarray(forward).reshape(-1, *np.shape(forward)[-2:])
    fd = np.asarray(fd).reshape(forward.shape)
    for rows in (slice(0, n_conc), slice(n_conc, None)):
        scale = np.abs(fd[:, rows, :]).max(axis=(0, 1)) + 1e-300
        err = np.abs(forward[:, rows, :] - fd[:, rows, :]) / scale
        assert err.max() <= RTOL_FD, (what, rows, err.max(),
                                      np.unravel_index(err.argmax(), err.shape))


# ------------------------------------------------------------------ kernel
def test_augmented_jacobian_is_exact():
    """The Jacobian of BATCH_ENERGY_SENS against central differences of its
    right-hand side (step 1e-6 relative) at a random augmented state, with
    every kind of parameter: ln A, b, Ea, k_ref, K_ref (van 't Hoff), a
    fractional order, an enthalpy, the coolant temperature and Ua/(rho cp);
    to 1e-7 of each row's largest entry."""
    mech = _mechanism()
    names = NAMES + ["r3.b", "r3.order.A", "r2.dH", "r2.Ea"]
    pm = ParameterMap(mech, names, T_C)
    model, rate_params, dH = _arrays(pm, pm.theta0)
    p = len(names)
    system = energy_sensitivity_system(model, rate_params, dH, 5, pm.M, rho_cp=RHO_CP,
                                       ua_over_rho_cp=0.02, coolant_T=315.0,
                                       d_coolant_T=np.linspace(0.0, 1.0, p),
                                       d_ua_over_rho_cp=np.linspace(0.01, 0.0, p))
    rng = np.random.default_rng(7)
    N = 7
    y = np.concatenate([[300.0, 200.0, 50.0, 20.0, 5.0, 1.0e5, 335.0], rng.normal(size=N * p)])
    J = np.zeros((y.size, y.size))
    energy_sensitivity_jacobian(y, system, J)
    J_fd = np.zeros_like(J)
    fp, fm = np.zeros(y.size), np.zeros(y.size)
    for i in range(y.size):
        h = 1e-6 * max(abs(y[i]), 1.0)
        yp, ym = y.copy(), y.copy()
        yp[i] += h
        ym[i] -= h
        energy_sensitivity_rhs(yp, system, fp)
        energy_sensitivity_rhs(ym, system, fm)
        J_fd[:, i] = (fp - fm) / (2 * h)
    row_scale = np.abs(J_fd).max(axis=1, keepdims=True) + 1e-300
    assert np.max(np.abs(J - J_fd) / row_scale) < 1e-7


def test_adiabatic_first_order_closed_form():
    """A -> B, k without T dependence, adiabatic: T = T0 + dT_ad (1 - e^{-kt}),
    so dT/d ln k = dT_ad k t e^{-kt}, dc_A/d ln k = -c0 k t e^{-kt}, and the
    enthalpy: dT/d dH = -(c0/(rho cp)) (1 - e^{-kt}); to 1e-8 relative."""
    k, c0, dH, T0 = 0.05, 400.0, -80.0e3, 300.0
    mech = _mechanism([{"equation": "A => B", "rate": {"k": k}, "dH": dH}], "AB")
    pm = ParameterMap(mech, ["r1.k", "r1.dH"], T_C)
    model, rate_params, delta_H = _arrays(pm, pm.theta0)
    t = np.linspace(0.0, 60.0, 7)
    y, dy = batch_energy_sensitivities(model, rate_params, delta_H, [c0, 0.0], T0, t, pm.M,
                                       rho_cp=RHO_CP, options=TIGHT)
    dT_ad = -dH * c0 / RHO_CP
    e = np.exp(-k * t)
    np.testing.assert_allclose(y[:, 3], T0 + dT_ad * (1 - e), rtol=1e-10)
    np.testing.assert_allclose(dy[:, 3, 0], dT_ad * k * t * e, rtol=0, atol=1e-8 * dT_ad)
    np.testing.assert_allclose(dy[:, 0, 0], -c0 * k * t * e, rtol=0, atol=1e-8 * c0)
    # θ of dH is dH/(R T_c): d dH/dθ = R T_c
    d_dH = pm.M[-1, 1]
    np.testing.assert_allclose(dy[:, 3, 1], -c0 / RHO_CP * (1 - e) * d_dH, rtol=0,
                               atol=1e-8 * c0 / RHO_CP * abs(d_dH))


# ------------------------------------------------------------------ batch, adiabatic
def test_batch_adiabatic_against_finite_differences():
    """Adiabatic batch: the sensitivities of [c, heat, T] to ln A, Ea, k_ref,
    K_ref and dH against central differences of BatchReactor.run at θ ± h,
    and to the initial temperature (s0) against T0 ± 1e-3 K."""
    mech = _mechanism()
    pm = ParameterMap(mech, NAMES, T_C)
    model, rate_params, dH = _arrays(pm, pm.theta0)
    times = np.linspace(0.0, 400.0, 5)
    T0 = 318.0
    p = len(NAMES)
    s0 = np.zeros((7, p + 1))
    s0[6, p] = 1.0                      # the last column: d/d T0
    M = np.column_stack([pm.M, np.zeros(pm.M.shape[0])])
    y, dy = batch_energy_sensitivities(model, rate_params, dH, C0, T0, times, M, rho_cp=RHO_CP,
                                       s0=s0, options=TIGHT)

    def plain(theta, T=T0):
        res = BatchReactor(pm.mechanism_with(theta), T, TIGHT, energy="adiabatic").run(
            C0, float(times[-1]), t_eval=times)
        return np.column_stack([res.conc, res.T_profile])

    base = plain(pm.theta0)
    assert base[-1, 5] > T0 + 5.0                                   # it heats up
    np.testing.assert_allclose(y[:, [0, 1, 2, 3, 4, 6]], base, rtol=1e-8, atol=1e-9 * C0.max())
    fd = np.zeros((times.size, 6, p + 1))
    for k in range(p):
        e = np.zeros(p)
        e[k] = H_THETA
        fd[:, :, k] = (plain(pm.theta0 + e) - plain(pm.theta0 - e)) / (2 * H_THETA)
    fd[:, :, p] = (plain(pm.theta0, T0 + H_T) - plain(pm.theta0, T0 - H_T)) / (2 * H_T)
    _close(dy[:, [0, 1, 2, 3, 4, 6], :], fd, "batch adiabatic")


# ------------------------------------------------------------------ PFR, cooled
def _feed(mech, T, conc=C0, flow=1e-6):
    return Stream(mech, flow, T, conc)


def test_cooled_pfr_and_hot_spot_against_finite_differences():
    """Cooled PFR with a hot spot inside the tube: outlet [c, T] and T_max
    sensitivities to ln A, Ea (θ) and the coolant temperature against central
    differences of PFR.run. d T_max/dθ is the sensitivity of T at the hot
    spot (dT/dt = 0 there)."""
    mech = _mechanism()
    names = ["r1.A", "r1.Ea", "r2.k_ref"]
    pm = ParameterMap(mech, names, T_C)
    p = len(names)
    Tc, T_in, U, d = 325.0, 325.0, 20.0, 2e-3

    def reactor(coolant=Tc):
        return PFR(volume=1e-4, diameter=d, options=TIGHT, energy={"U": U, "coolant_T": coolant})

    def plain(theta, coolant=Tc):
        res = reactor(coolant).run(_feed(pm.mechanism_with(theta), T_in))
        return np.r_[res.outlet.conc, res.outlet.T, res.thermal["T_max_K"]], res

    base, res = plain(pm.theta0)
    t_hot = res.thermal["T_max_residence_time_s"]
    tau = res.residence_time
    assert 0.05 * tau < t_hot < 0.95 * tau and base[-1] > T_in + 3.0     # an inner hot spot
    thermal = reactor()._thermal(_feed(mech, T_in))
    model, rate_params, dH = _arrays(pm, pm.theta0)
    M = np.column_stack([pm.M, np.zeros(pm.M.shape[0])])
    y, dy = batch_energy_sensitivities(model, rate_params, dH, C0, T_in, [t_hot, tau], M,
                                       rho_cp=thermal.rho_cp,
                                       ua_over_rho_cp=thermal.ua_per_volume / thermal.rho_cp,
                                       coolant_T=Tc, d_coolant_T=np.r_[np.zeros(p), 1.0],
                                       options=TIGHT)
    np.testing.assert_allclose(y[-1, [0, 1, 2, 3, 4, 6]], base[:6], rtol=1e-8, atol=1e-6)
    forward = np.concatenate([dy[-1, [0, 1, 2, 3, 4, 6], :], dy[0, 6:7, :]])
    fd = np.zeros((7, p + 1))
    for k in range(p):
        e = np.zeros(p)
        e[k] = H_THETA
        fd[:, k] = (plain(pm.theta0 + e)[0] - plain(pm.theta0 - e)[0]) / (2 * H_THETA)
    fd[:, p] = (plain(pm.theta0, Tc + H_T)[0] - plain(pm.theta0, Tc - H_T)[0]) / (2 * H_T)
    _close(forward, fd, "cooled PFR")


def test_block_rodas_equals_the_full_matrix_path_and_keeps_the_plain_steps():
    """The block Rodas5P (default with Rodas5P: only the (n + 2) square block
    factorised, step size controlled on the states) on a cooled PFR with an
    inner hot spot, six kinetic and enthalpy parameters and the coolant
    temperature. References: (a) PFR.run at the same default options: the
    states take the plain solve's steps, so the outlet equals it to
    round-off (1e-12 relative); (b) the full-matrix Rodas5P on the whole
    augmented system (``full_matrix=True``, sensitivities under error
    control) at rtol 1e-10: the two differ by the integration error only,
    within 1e-8 of each column's scale (observed 1e-10 to 1e-9); at the
    default rtol 1e-8 within 1e-7 (observed 1e-9 to 4e-8). The same for an
    isothermal batch (BATCH_SENS) against BatchReactor.run and the
    full-matrix path."""
    from flowchem.reactors.sensitivity import batch_sensitivities

    mech = _mechanism()
    names = ["r1.A", "r1.Ea", "r2.k_ref", "r2.K_ref", "r3.A", "r1.dH"]
    pm = ParameterMap(mech, names, T_C)
    p = len(names)
    Tc, T_in = 325.0, 325.0
    model, rate_params, dH = _arrays(pm, pm.theta0)
    M = np.column_stack([pm.M, np.zeros(pm.M.shape[0])])
    for options, tol in ((SolverOptions(), 1e-7), (TIGHT, 1e-8)):
        reactor = PFR(volume=1e-4, diameter=2e-3, options=options,
                      energy={"U": 20.0, "coolant_T": Tc})
        res = reactor.run(_feed(mech, T_in))
        thermal = reactor._thermal(_feed(mech, T_in))
        t_hot, tau = res.thermal["T_max_residence_time_s"], res.residence_time
        assert 0.05 * tau < t_hot < 0.95 * tau
        kw = dict(rho_cp=thermal.rho_cp, ua_over_rho_cp=thermal.ua_per_volume / thermal.rho_cp,
                  coolant_T=Tc, d_coolant_T=np.r_[np.zeros(p), 1.0], options=options)
        y, dy = batch_energy_sensitivities(model, rate_params, dH, C0, T_in, [t_hot, tau], M,
                                           **kw)
        yf, dyf = batch_energy_sensitivities(model, rate_params, dH, C0, T_in, [t_hot, tau], M,
                                             full_matrix=True, **kw)
        np.testing.assert_allclose(y[-1, [0, 1, 2, 3, 4, 6]],
                                   np.r_[res.outlet.conc, res.outlet.T], rtol=1e-12, atol=1e-9)
        for rows in (slice(0, 5), slice(5, 6), slice(6, 7)):      # c, heat, T
            scale = np.abs(dyf[:, rows]).max(axis=(0, 1)) + 1e-300
            err = np.abs(dy[:, rows] - dyf[:, rows]).max(axis=(0, 1)) / scale
            assert err.max() <= tol, (options.rtol, rows, err)

    # isothermal (BATCH_SENS), through the same block integrator; the plain
    # reference is the isothermal BatchReactor (BATCH, no heat row: PFR.run
    # carries the heat released under error control, other steps)
    T, t_end = 330.0, 900.0
    times = np.array([0.3 * t_end, t_end])
    batch = BatchReactor(mech, T, options=SolverOptions()).run(_feed(mech, T), t_end)
    y, dy = batch_sensitivities(model, rate_params, T, C0, times, pm.M)
    np.testing.assert_allclose(y[-1], batch.conc[-1], rtol=1e-12, atol=1e-9)
    _, dyf = batch_sensitivities(model, rate_params, T, C0, times, pm.M, options=TIGHT,
                                 full_matrix=True)
    _, dyt = batch_sensitivities(model, rate_params, T, C0, times, pm.M, options=TIGHT)
    scale = np.abs(dyf).max(axis=(0, 1)) + 1e-300
    assert np.max(np.abs(dyt - dyf).max(axis=(0, 1)) / scale) <= 1e-8
    assert np.max(np.abs(dy - dyf).max(axis=(0, 1)) / scale) <= 1e-7


# ------------------------------------------------------------------ tanks
def test_cooled_cstr_against_finite_differences():
    """One cooled CSTR: steady [c, T] sensitivities to ln A, Ea and the
    coolant temperature against central differences of CSTR.run."""
    mech = _mechanism()
    names = ["r1.A", "r1.Ea", "r2.K_ref"]
    pm = ParameterMap(mech, names, T_C)
    p = len(names)
    Tc, T_in, V, area = 330.0, 310.0, 5e-4, 0.05

    def reactor(coolant=Tc):
        return CSTR(V, options=TIGHT, energy={"U": 400.0, "coolant_T": coolant, "area": area},
                    find_all_steady_states=False)

    def plain(theta, coolant=Tc):
        res = reactor(coolant).run(_feed(pm.mechanism_with(theta), T_in))
        return np.r_[res.outlet.conc, res.outlet.T]

    feed = _feed(mech, T_in)
    thermal = reactor()._thermal(feed)
    model, rate_params, dH = _arrays(pm, pm.theta0)
    M = np.column_stack([pm.M, np.zeros(pm.M.shape[0])])
    states, ds = cstr_energy_sensitivities(
        model, rate_params, dH, C0, T_in, V / feed.flow, M, rho_cp=thermal.rho_cp,
        ua_over_rho_cp=thermal.ua_per_volume / thermal.rho_cp, coolant_T=Tc,
        d_coolant_T=np.r_[np.zeros(p), 1.0], options=TIGHT)
    base = plain(pm.theta0)
    np.testing.assert_allclose(states[-1, [0, 1, 2, 3, 4, 6]], base, rtol=1e-8, atol=1e-6)
    fd = np.zeros((6, p + 1))
    for k in range(p):
        e = np.zeros(p)
        e[k] = H_THETA
        fd[:, k] = (plain(pm.theta0 + e) - plain(pm.theta0 - e)) / (2 * H_THETA)
    fd[:, p] = (plain(pm.theta0, Tc + H_T) - plain(pm.theta0, Tc - H_T)) / (2 * H_T)
    _close(ds[-1, [0, 1, 2, 3, 4, 6], :], fd, "cooled CSTR")


def test_adiabatic_three_tank_cascade_against_finite_differences():
    """Three adiabatic tanks in series: every tank's [c, T] sensitivities to
    ln A, Ea and the feed temperature (dy_in) against central differences of
    CSTRCascade.run (each tank's inlet sensitivity is the previous tank's)."""
    mech = _mechanism()
    names = ["r1.A", "r1.Ea", "r3.A"]
    pm = ParameterMap(mech, names, T_C)
    p = len(names)
    T_in, V = 318.0, 6e-4

    def plain(theta, T=T_in):
        res = CSTRCascade(3, V, options=TIGHT, energy="adiabatic",
                          find_all_steady_states=False).run(_feed(pm.mechanism_with(theta), T))
        return np.column_stack([res.tanks, res.tank_T])

    model, rate_params, dH = _arrays(pm, pm.theta0)
    M = np.column_stack([pm.M, np.zeros(pm.M.shape[0])])
    dy_in = np.zeros((7, p + 1))
    dy_in[6, p] = 1.0
    states, ds = cstr_energy_sensitivities(model, rate_params, dH, C0, T_in, V / 1e-6, M,
                                           rho_cp=RHO_CP, n_tanks=3, dy_in=dy_in, options=TIGHT)
    base = plain(pm.theta0)
    assert base[-1, 5] > base[0, 5] > T_in + 1.0
    np.testing.assert_allclose(states[:, [0, 1, 2, 3, 4, 6]], base, rtol=1e-8, atol=1e-6)
    fd = np.zeros((3, 6, p + 1))
    for k in range(p):
        e = np.zeros(p)
        e[k] = H_THETA
        fd[:, :, k] = (plain(pm.theta0 + e) - plain(pm.theta0 - e)) / (2 * H_THETA)
    fd[:, :, p] = (plain(pm.theta0, T_in + H_T) - plain(pm.theta0, T_in - H_T)) / (2 * H_T)
    _close(ds[:, [0, 1, 2, 3, 4, 6], :], fd, "adiabatic cascade")


def test_bad_input_is_refused():
    mech = _mechanism()
    pm = ParameterMap(mech, ["r1.A"], T_C)
    model, rate_params, dH = _arrays(pm, pm.theta0)
    with pytest.raises(InputError, match="initial sensitivities"):
        batch_energy_sensitivities(model, rate_params, dH, C0, 300.0, [1.0], pm.M,
                                   rho_cp=RHO_CP, s0=np.zeros((5, 1)))
    with pytest.raises(InputError, match="enthalpies"):
        batch_energy_sensitivities(model, rate_params, dH[:2], C0, 300.0, [1.0], pm.M,
                                   rho_cp=RHO_CP)
    with pytest.raises(InputError, match="temperature"):
        cstr_energy_sensitivities(model, rate_params, dH, C0, -3.0, 10.0, pm.M, rho_cp=RHO_CP)


# ------------------------------------------------------------------ route
def test_lomustine_route_is_forward_and_matches_route_differences():
    """The lomustine route (its R2 a cooled PFR, then a quench and a
    separator): every kinetic coefficient, the feed concentrations, R1.T
    and the volumes are forward, and match central differences of Route.run() (relative
    step 1e-4) to 1e-4 relative or 1e-6 absolute; d T_max(R2)/d ln p to
    1e-3 relative or 1e-5 K (the route runs at rtol 1e-8, and the hot spot
    is refined on the dense output: the differences are that good)."""
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "lomustine" / "route.yaml"
    route = load_route(str(path))
    res = fc.sensitivity(route)
    fd = fc.sensitivity(route, method="finite-difference")
    forward = [e for e in res.entries if e.method == "forward"]
    kinetic = {e.parameter for e in res.entries if e.kind == "kinetic"}
    assert kinetic and kinetic <= {e.parameter for e in forward}
    assert {e.parameter for e in res.entries if e.method == "finite-difference"} == \
        {q for q in res.parameters if q.endswith(".flow")}
    assert "T_max R2" in res.kpis
    checked = 0
    for e in forward:
        ref = fd.coefficient(e.kpi, e.parameter)
        if e.kpi.startswith("T_max "):
            T = res.kpis[e.kpi]
            assert e.coefficient * T == pytest.approx(ref * T, rel=1e-3, abs=1e-5), \
                (e.kpi, e.parameter)
        else:
            assert e.coefficient == pytest.approx(ref, rel=1e-4, abs=1e-6), (e.kpi, e.parameter)
        checked += abs(ref) > 1e-3
    assert checked > 30


ENERGY_ROUTE = """
name: energy
mechanism:
  species: [{name: A}, {name: B}, {name: C}, {name: D}]
  reactions:
    - {equation: A + B => C, rate: {A: 1.0e5, Ea: 58 kJ/mol}, dH: -90 kJ/mol}
    - {equation: C => D, rate: {k_ref: 2.0e-4, T_ref: 330 K, Ea: 85 kJ/mol}, dH: -40 kJ/mol}
properties: {density: 900 kg/m^3, cp: 2.0 kJ/kg/K, viscosity: 0.6 mPa*s}
solver: {rtol: 1.0e-10}
feeds:
  - {name: a, flow: 1 mL/min, T: 35 degC, conc: {A: 0.8 mol/L}}
  - {name: b, flow: 1 mL/min, T: 25 degC, conc: {B: 1.0 mol/L}}
operations:
  - {name: M1, type: mixer, from: [a, b]}
  - {name: C1, type: cstr_cascade, n: 2, from: M1, volume: 20 mL,
     energy: {U: 300 W/m^2/K, coolant_T: 40 degC, area: 0.002 m^2}}
  - {name: P1, type: pfr, from: C1, volume: 10 mL, energy: adiabatic}
product: {species: C, basis: A, from: P1}
"""


def test_energy_route_cascade_and_tube_against_route_differences():
    """Mixer -> cooled two-tank cascade (jacket of fixed area) -> adiabatic
    tube: every coefficient but the feed flows forward (the volumes move
    the residence times and, in the cascade, Ua per volume), all of them
    against central differences of Route.run() (relative step h = 1e-4, rtol
    1e-10): 3e-5 relative or 1e-7 absolute, the same for T_max in K per unit
    ln p (the differences' truncation error, about (Ea/RT)^2 h^2 / 6 ~ 1e-6
    relative for an activation energy, and their rounding, set the margin)."""
    from flowchem.core.yamlio import load_yaml_text
    from flowchem.process.route import Route

    route = Route.from_dict(load_yaml_text(ENERGY_ROUTE))
    res = fc.sensitivity(route)
    assert {"T_max C1", "T_max P1"} <= set(res.kpis)
    assert res.kpis["T_max C1"] > 313.15 + 0.5            # above the coolant: heat released
    fd = fc.sensitivity(route, method="finite-difference")
    checked = 0
    for e in res.entries:
        assert e.method == ("finite-difference" if e.parameter.endswith(".flow") else "forward")
        if e.method != "forward":
            continue
        ref = fd.coefficient(e.kpi, e.parameter)
        if e.kpi.startswith("T_max "):
            T = res.kpis[e.kpi]
            assert e.coefficient * T == pytest.approx(ref * T, rel=3e-5, abs=1e-7), \
                (e.kpi, e.parameter)
        else:
            assert e.coefficient == pytest.approx(ref, rel=3e-5, abs=1e-7), (e.kpi, e.parameter)
        checked += abs(ref) > 1e-3
    assert checked > 20
    # operating conditions alone (no kinetic column) take the same path
    alone = fc.sensitivity(route, parameters=["C1.volume", "b.conc.B"])
    for e in alone.entries:
        assert e.method == "forward"
        assert e.coefficient == pytest.approx(res.coefficient(e.kpi, e.parameter), rel=1e-9,
                                              abs=1e-12)


def test_dispersion_model_falls_back_to_labelled_differences():
    """A route through an axial-dispersion tube has no forward path: every
    coefficient is labelled finite-difference and equals the differences."""
    from flowchem.core.yamlio import load_yaml_text
    from flowchem.process.route import Route

    text = ENERGY_ROUTE.replace(
        "  - {name: P1, type: pfr, from: C1, volume: 10 mL, energy: adiabatic}",
        "  - {name: P1, type: pfr, from: C1, volume: 10 mL, flow_model: dispersion, Pe: 50}")
    route = Route.from_dict(load_yaml_text(text))
    params = ["r1.A", "C1.volume"]
    res = fc.sensitivity(route, parameters=params)
    assert {e.method for e in res.entries} == {"finite-difference"}
    fd = fc.sensitivity(route, parameters=params, method="finite-difference")
    for e in res.entries:
        assert e.coefficient == fd.coefficient(e.kpi, e.parameter)
