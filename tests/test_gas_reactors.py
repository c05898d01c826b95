"""Gas-phase batch reactors and the gas plug-flow reactor against Cantera.

References: Cantera 3's ``IdealGasConstPressureReactor`` / ``IdealGasReactor``
in a ``ReactorNet`` at rtol 1e-10, atol 1e-20; ``equilibrate("HP")``. The
ignition delay of a Cantera run is the time of its largest dT/dt, computed
from Cantera's own rates at each of its (small) steps and located by a
parabola through the largest value and its neighbours.
"""

import json

import numpy as np
import pytest

ct = pytest.importorskip("cantera")

import flowchem as fc  # noqa: E402
from flowchem.reactors.gas import GasBatchReactor, GasPFR, ignition_delay  # noqa: E402

H2O2_X = "H2:2, O2:1, AR:7"
P_ATM = 101325.0
CT_RTOL, CT_ATOL = 1e-10, 1e-20


@pytest.fixture(scope="module")
def h2o2():
    return fc.Mechanism.from_cantera("h2o2.yaml")


def _cantera_run(mech_file, T0, X, t_end, constant="pressure", times=()):
    """Cantera batch from (T0, 1 atm, X): its steps (t, T, dT/dt) and T at ``times``."""
    gas = ct.Solution(mech_file)
    gas.TPX = T0, P_ATM, X
    cls = ct.IdealGasConstPressureReactor if constant == "pressure" else ct.IdealGasReactor
    r = cls(gas, clone=False)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = CT_RTOL, CT_ATOL

    def heating():
        wdot = gas.net_production_rates
        if constant == "pressure":
            return -np.dot(gas.partial_molar_enthalpies, wdot) / (gas.density * gas.cp_mass)
        return -np.dot(gas.partial_molar_int_energies, wdot) / (gas.density * gas.cv_mass)

    ts, Ts, dT = [0.0], [gas.T], [heating()]
    while net.time < t_end:
        net.step()
        ts.append(net.time)
        Ts.append(r.T)
        dT.append(heating())
    ts, Ts, dT = map(np.array, (ts, Ts, dT))
    # T at the requested times from a second, fresh run (advance stops exactly there)
    gas.TPX = T0, P_ATM, X
    r2 = cls(gas, clone=False)
    net2 = ct.ReactorNet([r2])
    net2.rtol, net2.atol = CT_RTOL, CT_ATOL
    T_at = []
    for t in times:
        net2.advance(t)
        T_at.append(r2.T)
    return ts, Ts, dT, np.array(T_at)


def _cantera_ignition(ts, dT):
    i = int(np.argmax(dT))
    a, b, _ = np.polyfit(ts[i - 1:i + 2] - ts[i], dT[i - 1:i + 2], 2)
    return ts[i] - b / (2 * a)


@pytest.mark.parametrize("T0, t_end", [(1000.0, 2e-3), (1200.0, 5e-4), (1500.0, 2e-4)])
def test_constant_pressure_batch_matches_cantera(h2o2, T0, t_end):
    times = np.linspace(0.0, t_end, 41)
    res = GasBatchReactor(h2o2, T=T0, P="1 atm", X=H2O2_X).run(t_end, times=times)
    ts, Ts, dT, T_ref = _cantera_run("h2o2.yaml", T0, H2O2_X, t_end, "pressure", times)
    tau_ref = _cantera_ignition(ts, dT)
    tau = ignition_delay(res)
    # ignition delay within 0.5 % (the bound); measured agreement ~1e-6
    assert tau == pytest.approx(tau_ref, rel=5e-3)
    assert tau == pytest.approx(tau_ref, rel=1e-4)
    # temperature within 1e-4 relative away from the ignition front (|t - tau| > 5 % tau)
    away = np.abs(times - tau_ref) > 0.05 * tau_ref
    assert np.max(np.abs(res.T[away] - T_ref[away]) / T_ref[away]) < 1e-4
    assert np.all(res.P == P_ATM)
    assert res.element_error() < 1e-10


def test_constant_volume_batch_matches_cantera(h2o2):
    T0, t_end = 1200.0, 5e-4
    times = np.linspace(0.0, t_end, 41)
    res = GasBatchReactor(h2o2, T=T0, P="1 atm", X=H2O2_X, constant="volume").run(t_end, times=times)
    ts, Ts, dT, T_ref = _cantera_run("h2o2.yaml", T0, H2O2_X, t_end, "volume", times)
    tau_ref = _cantera_ignition(ts, dT)
    assert ignition_delay(res) == pytest.approx(tau_ref, rel=5e-3)
    away = np.abs(times - tau_ref) > 0.05 * tau_ref
    assert np.max(np.abs(res.T[away] - T_ref[away]) / T_ref[away]) < 1e-4
    # the pressure rises with T and moles: the ideal-gas law at Cantera's final state
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = T0, P_ATM, H2O2_X
    r = ct.IdealGasReactor(gas, clone=False)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = CT_RTOL, CT_ATOL
    net.advance(t_end)
    assert res.P[-1] == pytest.approx(gas.P, rel=1e-4)
    assert res.density[-1] == pytest.approx(r.density, rel=1e-12)
    assert res.element_error() < 1e-10


def _cantera_pfr_in_time(T0, X, mdot, area, t_end):
    """Cantera's constant-pressure reactor followed in time, with the distance
    z = int u dt (u = mdot / (rho A), trapezoid over its steps)."""
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = T0, P_ATM, X
    r = ct.IdealGasConstPressureReactor(gas, clone=False)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = CT_RTOL, CT_ATOL
    ts, us, Ts, dT = [0.0], [mdot / (gas.density * area)], [gas.T], [0.0]
    while net.time < t_end:
        net.step()
        ts.append(net.time)
        us.append(mdot / (gas.density * area))
        Ts.append(gas.T)
        dT.append(-np.dot(gas.partial_molar_enthalpies, gas.net_production_rates)
                  / (gas.density * gas.cp_mass))
    ts, us, Ts, dT = map(np.array, (ts, us, Ts, dT))
    z = np.concatenate([[0.0], np.cumsum(0.5 * (us[1:] + us[:-1]) * np.diff(ts))])
    return ts, z, Ts, dT


def test_adiabatic_pfr_matches_cantera_reactor_followed_in_time(h2o2):
    T0, mdot, d, L = 1200.0, 5e-3, 0.01, 0.1
    res = GasPFR(h2o2, length=L, diameter=d).run(
        {"mass_flow": mdot, "T": T0, "P": "1 atm", "X": H2O2_X})
    area = np.pi * d * d / 4
    ts, z_ref, T_steps, dT = _cantera_pfr_in_time(T0, H2O2_X, mdot, area, res.residence_time[-1])
    tau_ign = _cantera_ignition(ts, dT)
    # the same states at the same residence time: T(z) of the tube against
    # Cantera's T(t) at t = tau(z), away from the ignition front
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = T0, P_ATM, H2O2_X
    r = ct.IdealGasConstPressureReactor(gas, clone=False)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = CT_RTOL, CT_ATOL
    T_ref, X_ref = [], []
    for tau in res.residence_time:
        net.advance(max(tau, 0.0)) if tau > 0 else None
        T_ref.append(gas.T)
        X_ref.append(gas.X)
    T_ref, X_ref = np.array(T_ref), np.array(X_ref)
    away = np.abs(res.residence_time - tau_ign) > 0.05 * tau_ign
    assert away.sum() > 150
    assert np.max(np.abs(res.T[away] - T_ref[away]) / T_ref[away]) < 1e-4
    assert np.max(np.abs(res.X[away] - X_ref[away])) < 1e-5
    # distance: the tube's z at each residence time against Cantera's z = int u dt
    # (trapezoid over Cantera's steps: accurate to ~1e-7 of L here)
    z_of_tau = np.interp(res.residence_time, ts, z_ref)
    assert np.max(np.abs(z_of_tau - res.z)) < 1e-5 * L
    # the tube ignites inside: the front's position is z(tau_ign) of Cantera's run
    z_ign = float(np.interp(tau_ign, ts, z_ref))
    assert 0.1 * L < z_ign < 0.9 * L
    assert res.element_error() < 1e-10
    # mass flow is constant; molar flows follow the moles per mass
    assert np.allclose(res.density * res.velocity * area, mdot, rtol=1e-12)


def test_long_adiabatic_pfr_reaches_hp_equilibrium(h2o2):
    res = GasPFR(h2o2, length="1 m", diameter="1 cm").run(
        {"mass_flow": "5e-5 kg/s", "T": 1200, "P": "1 atm", "X": H2O2_X})
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = 1200.0, P_ATM, H2O2_X
    gas.equilibrate("HP")
    assert res.T[-1] == pytest.approx(gas.T, rel=1e-6)
    assert np.max(np.abs(res.X[-1] - gas.X)) < 1e-6
    assert res.element_error() < 1e-10
    # the JSON form carries the same outlet
    out = json.loads(json.dumps(res.to_dict()))["outlet"]
    assert out["T"] == pytest.approx(gas.T, rel=1e-6)
    assert out["X"]["H2O"] == pytest.approx(gas["H2O"].X[0], abs=1e-6)


def test_isothermal_and_cooled_pfr(h2o2):
    inlet = {"mass_flow": 5e-3, "T": 1200, "P": "1 atm", "X": H2O2_X}
    iso = GasPFR(h2o2, length=0.1, diameter=0.01, energy="isothermal").run(inlet)
    assert np.max(np.abs(iso.T - 1200.0)) < 1e-9   # dT/dz = 0 (dense-output round-off)
    # isothermal plug flow = Cantera's isothermal constant-pressure reactor in time
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = 1200.0, P_ATM, H2O2_X
    r = ct.IdealGasConstPressureReactor(gas, clone=False, energy="off")
    net = ct.ReactorNet([r])
    net.rtol, net.atol = CT_RTOL, CT_ATOL
    net.advance(iso.residence_time[-1])
    assert np.max(np.abs(iso.X[-1] - gas.X)) < 1e-6


def test_cooled_pfr_matches_scipy_on_cantera_rates(h2o2):
    """The wall term U (4/d) (T_c - T): against the same plug-flow equations
    in distance integrated by scipy (Radau, rtol 1e-10) with Cantera's rates,
    enthalpies and cp (Cantera's own flow reactor has no wall term)."""
    from scipy.integrate import solve_ivp

    T0, mdot, d, L, U, Tc = 1200.0, 5e-3, 0.01, 0.1, 2000.0, 1000.0
    res = GasPFR(h2o2, length=L, diameter=d, energy={"U": f"{U} W/m^2/K", "coolant_T": Tc}).run(
        {"mass_flow": mdot, "T": T0, "P": "1 atm", "X": H2O2_X})
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = T0, P_ATM, H2O2_X
    G = mdot / (np.pi * d * d / 4)
    W = gas.molecular_weights

    def f(z, y):
        gas.TPY = y[-1], P_ATM, np.maximum(y[:-1], 0.0)
        wdot = gas.net_production_rates
        dT = (-np.dot(gas.partial_molar_enthalpies, wdot) + U * 4 / d * (Tc - y[-1])) / (G * gas.cp_mass)
        return np.append(wdot * W / G, dT)

    ref = solve_ivp(f, (0.0, L), np.append(gas.Y, T0), method="Radau", rtol=1e-10, atol=1e-14,
                    t_eval=res.z)
    assert ref.success
    # the wall matters here: the outlet is 100s of K below the adiabatic one
    adiabatic = GasPFR(h2o2, length=L, diameter=d).run(
        {"mass_flow": mdot, "T": T0, "P": "1 atm", "X": H2O2_X})
    assert adiabatic.T[-1] - res.T[-1] > 100.0
    assert np.max(np.abs(res.T - ref.y[-1]) / ref.y[-1]) < 1e-4
    assert np.max(np.abs(res.Y - ref.y[:-1].T)) < 1e-5


def test_gri30_methane_air_ignition_matches_cantera():
    X = "CH4:1, O2:2, N2:7.52"
    gri = fc.Mechanism.from_cantera("gri30.yaml")
    times = np.linspace(0.0, 2e-3, 21)
    res = GasBatchReactor(gri, T=1500, P="1 atm", X=X, options={"method": "bdf"}).run(
        2e-3, times=times)
    ts, Ts, dT, T_ref = _cantera_run("gri30.yaml", 1500.0, X, 2e-3, "pressure", times)
    tau_ref = _cantera_ignition(ts, dT)
    # looser than h2o2 (53 species, BDF at rtol 1e-8): 0.1 % on the delay,
    # 1e-4 on T away from the front; measured 3e-9 and 1e-6
    assert ignition_delay(res) == pytest.approx(tau_ref, rel=1e-3)
    away = np.abs(times - tau_ref) > 0.05 * tau_ref
    assert np.max(np.abs(res.T[away] - T_ref[away]) / T_ref[away]) < 1e-4
    assert res.element_error() < 1e-10


@pytest.mark.parametrize("kwargs, match", [
    ({"X": H2O2_X, "Y": H2O2_X}, "exactly one of X"),
    ({}, "exactly one of X"),
    ({"X": {"H2": 1, "XE": 1}}, "'XE' is not in the mechanism"),
    ({"X": {"H2": -1, "O2": 1}}, "non-negative"),
])
def test_bad_gas_composition_is_refused(h2o2, kwargs, match):
    with pytest.raises(fc.InputError, match=match):
        GasBatchReactor(h2o2, T=1000, P="1 atm", **kwargs)
    inlet = {"mass_flow": 1e-3, "T": 1000, "P": "1 atm", **kwargs}
    with pytest.raises(fc.InputError, match=match):
        GasPFR(h2o2, length=1, diameter=0.01).run(inlet)


def test_negative_pressure_and_no_ignition_are_refused(h2o2):
    with pytest.raises(fc.InputError, match="P"):
        GasBatchReactor(h2o2, T=1000, P="-1 atm", X=H2O2_X)
    with pytest.raises(fc.InputError, match="P"):
        GasPFR(h2o2, length=1, diameter=0.01).run(
            {"mass_flow": 1e-3, "T": 1000, "P": -5.0, "X": H2O2_X})
    short = GasBatchReactor(h2o2, T=1000, P="1 atm", X=H2O2_X).run(1e-5)
    with pytest.raises(fc.InputError, match="no ignition"):
        ignition_delay(short)


def test_mass_fractions_give_the_same_mixture(h2o2):
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = 1000.0, P_ATM, H2O2_X
    Y = dict(zip(gas.species_names, gas.Y))
    a = GasBatchReactor(h2o2, T=1000, P="1 atm", Y=Y)
    assert np.allclose(a.X, gas.X, atol=1e-15)


def test_auto_method_is_the_bdf_for_gas(h2o2):
    """method='auto' on a gas reactor runs the BDF (the liquid rule would pick
    Rodas5P for 11 states at rtol 1e-6): the same delay as method='bdf',
    bit for bit, within 0.5 % of Cantera's 1200 K delay."""
    kw = dict(T=1200.0, P="1 atm", X={"H2": 2, "O2": 1, "AR": 7})
    auto = fc.GasBatchReactor(h2o2, options={"method": "auto", "rtol": 1e-6}, **kw).run("0.5 ms")
    bdf = fc.GasBatchReactor(h2o2, options={"method": "bdf", "rtol": 1e-6}, **kw).run("0.5 ms")
    assert auto.method == "bdf"
    assert fc.ignition_delay(auto) == fc.ignition_delay(bdf)
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = 1200.0, ct.one_atm, "H2:2, O2:1, AR:7"
    r = ct.IdealGasConstPressureReactor(gas, clone=False)
    net = ct.ReactorNet([r])
    t, T = [0.0], [r.T]
    while net.time < 5e-4:
        net.step()
        t.append(net.time)
        T.append(r.T)
    t, T = np.array(t), np.array(T)
    tau_ct = t[np.argmax(np.diff(T) / np.diff(t))]
    assert fc.ignition_delay(auto) == pytest.approx(tau_ct, rel=5e-3)
