"""Ranked reaction sensitivities of gas reactors: the forward method (the
default) against the central differences of the same reactors (the
``finite-difference`` method) and against Cantera's brute force; the
finite differences against Cantera's brute force.

References: Cantera 3's ``IdealGasConstPressureReactor`` (rtol 1e-10, atol
1e-20) rerun with ``Kinetics.set_multiplier(exp(+-h), j)`` for every reaction
(ignition delay = time of the largest dT/dt, from Cantera's rates at its
steps and a parabola through the largest and its neighbours); Cantera's rates
of progress with a multiplier (the scaling of every rate form); the
adiabatic plug flow in distance integrated by scipy on Cantera's rates with
the same multipliers; Cantera's ``IdealGasReactor`` with a
``MassFlowController`` inlet and a ``PressureController`` outlet advanced to
steady state (the gas CSTR).

Tolerances: the ignition-delay sensitivities within 2e-3 of the largest
(measured: 5e-6 of the largest, forward and central differences alike, the
difference of the two integrators' ignition delays over the step); forward against central differences (step 1e-4, rtol 1e-11, so
that their truncation error, up to 6e-4 of the value at step 1e-3 inside a
front, stays near 6e-6) 1e-4 relative on the five leaders and 1e-4 of the
largest on every reaction (measured 4e-7 to 7e-6; gri30's five leaders
1.3e-7 against the default step 1e-3); rates of progress 1e-10 relative;
the PFR outlet T within 1e-4 of the largest sensitivity (measured 5e-8);
the steady CSTR's T within 1e-6 relative (measured 1e-13).
"""

import numpy as np
import pytest

ct = pytest.importorskip("cantera")

import flowchem as fc  # noqa: E402
from flowchem.chemistry.gas_mechanism import GasKinetics  # noqa: E402
from flowchem.core.errors import InputError  # noqa: E402
from flowchem.reactors.gas import GasBatchReactor, GasPFR  # noqa: E402
from flowchem.reactors.gas_sensitivity import (reaction_sensitivities,  # noqa: E402
                                               scale_reaction_rates)
from kernels import gas_kinetics as gkern  # noqa: E402

H2O2_X = "H2:2, O2:1, AR:7"
T_IGN = 1100.0
CT_STEP = 1e-2   # Cantera's ignition delay is located from its steps: a larger step
                 # keeps its location noise (~1e-7 relative) out of the difference


def _cantera_ignition(gas, t_end):
    gas.TPX = T_IGN, ct.one_atm, H2O2_X
    r = ct.IdealGasConstPressureReactor(gas, clone=False)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = 1e-10, 1e-20

    def heating():
        return -np.dot(gas.partial_molar_enthalpies, gas.net_production_rates) / (
            gas.density * gas.cp_mass)

    ts, dT = [0.0], [heating()]
    while net.time < t_end:
        net.step()
        ts.append(net.time)
        dT.append(heating())
    ts, dT = np.array(ts), np.array(dT)
    i = int(np.argmax(dT))
    a, b, _ = np.polyfit(ts[i - 1:i + 2] - ts[i], dT[i - 1:i + 2], 2)
    return ts[i] - b / (2 * a)


@pytest.fixture(scope="module")
def cantera_ignition_sensitivities():
    gas = ct.Solution("h2o2.yaml")
    tau0 = _cantera_ignition(gas, 2e-3)
    out = []
    for j in range(gas.n_reactions):
        gas.set_multiplier(np.exp(CT_STEP), j)
        plus = _cantera_ignition(gas, 1.5 * tau0)
        gas.set_multiplier(np.exp(-CT_STEP), j)
        minus = _cantera_ignition(gas, 1.5 * tau0)
        gas.set_multiplier(1.0, j)
        out.append((np.log(plus) - np.log(minus)) / (2 * CT_STEP))
    return tau0, np.array(out)


@pytest.fixture(scope="module")
def ignition_sens():
    """Forward sensitivities (the default method); the first test to use it
    compiles kernels.gas_sensitivity."""
    r = GasBatchReactor("h2o2.yaml", T=T_IGN, P="1 atm", X=H2O2_X)
    return reaction_sensitivities(r, "ignition_delay", t_end=2e-3)


@pytest.fixture(scope="module")
def ignition_fd():
    r = GasBatchReactor("h2o2.yaml", T=T_IGN, P="1 atm", X=H2O2_X)
    return reaction_sensitivities(r, "ignition_delay", t_end=2e-3, method="finite-difference")


def test_ignition_delay_sensitivities_match_cantera(ignition_sens, cantera_ignition_sensitivities):
    tau0, s_ref = cantera_ignition_sensitivities
    s = ignition_sens
    assert s.method == "forward" and s.runs == 1
    assert s.value == pytest.approx(tau0, rel=1e-4)
    tol = 2e-3 * np.max(np.abs(s_ref))
    # the same top five, in the same order, with the same values
    top_ref = list(np.argsort(-np.abs(s_ref))[:5])
    assert [row.cantera_index for row in s[:5]] == top_ref
    for row in s[:5]:
        assert row.sensitivity == pytest.approx(s_ref[row.cantera_index], abs=tol)
    # every reaction, not only the top
    got = np.array([s.by_reaction()[j] for j in range(len(s_ref))])
    assert np.max(np.abs(got - s_ref)) < tol
    # literature: chain branching H + O2 <=> O + OH dominates and shortens the
    # delay (negative); the recombination H + O2 + M <=> HO2 + M lengthens it
    assert s[0].equation == "H + O2 <=> O + OH"
    assert s[0].sensitivity < -0.5
    recombination = [r for r in s if r.equation == "H + O2 + M <=> HO2 + M"]
    assert len(recombination) == 1 and recombination[0].sensitivity > 0.0
    # ranked by magnitude, JSON-ready
    mags = [abs(r.sensitivity) for r in s]
    assert mags == sorted(mags, reverse=True)
    d = s.to_dict()
    assert d["quantity"] == "ignition_delay" and d["reactions"][0]["equation"] == s[0].equation
    assert len(d["reactions"]) == len(s_ref)


def test_screen_keeps_the_top_reactions(ignition_fd):
    r = GasBatchReactor("h2o2.yaml", T=T_IGN, P="1 atm", X=H2O2_X)
    top = reaction_sensitivities(r, "ignition_delay", t_end=2e-3, top=5,
                                 method="finite-difference")
    assert len(top) == 5 and len(top.screen) == len(ignition_fd)
    assert [row.reaction for row in top] == [row.reaction for row in ignition_fd[:5]]
    for a, b in zip(top, ignition_fd[:5]):
        assert a.sensitivity == pytest.approx(b.sensitivity, abs=1e-9)
    # the screen itself ranks: within 5 % of the refined values for the top
    for row in top:
        assert top.screen[row.reaction] == pytest.approx(row.sensitivity, rel=5e-2)


# the check: central differences at a step small enough for their truncation
# error inside an ignition front, on runs tight enough for that step
FD_CHECK = {"method": "finite-difference", "step": 1e-4, "rtol": 1e-11}
PFR_H2O2 = {"length": 0.022, "diameter": 0.01}      # the outlet inside the front
PFR_INLET = {"mass_flow": 5e-3, "T": T_IGN, "P": "1 atm", "X": H2O2_X}


def _assert_forward_matches(fwd, ref, rel=1e-4):
    """Forward against central differences: the reference's five leaders to
    ``rel`` relative and in the same order, every reaction to ``rel`` of the
    largest."""
    assert fwd.method == "forward" and ref.method == "finite-difference"
    f, d = fwd.by_reaction(), ref.by_reaction()
    assert sorted(f) == sorted(d)
    for row in ref[:5]:
        assert f[row.reaction] == pytest.approx(row.sensitivity, rel=rel)
    assert [row.reaction for row in fwd[:5]] == [row.reaction for row in ref[:5]]
    big = abs(ref[0].sensitivity)
    assert max(abs(f[j] - d[j]) for j in d) < rel * big


@pytest.mark.parametrize("kind, quantity", [
    ("pressure", "ignition_delay"), ("volume", "ignition_delay"),
    ("pressure", "T"), ("volume", "OH"),          # batch at 1.2e-4 s: inside the front
    ("pfr", "T"), ("pfr", "H2O"),
])
def test_forward_matches_central_differences(kind, quantity):
    if kind == "pfr":
        r, kw = GasPFR("h2o2.yaml", **PFR_H2O2), {"inlet": PFR_INLET}
    else:
        r = GasBatchReactor("h2o2.yaml", T=T_IGN, P="1 atm", X=H2O2_X, constant=kind)
        kw = {"t_end": 2e-3 if quantity == "ignition_delay" else 1.2e-4}
    fwd = reaction_sensitivities(r, quantity, **kw)
    ref = reaction_sensitivities(r, quantity, **kw, **FD_CHECK)
    assert len(fwd) == 29 and fwd.stats["replay_mismatch"] < 1e-9
    assert fwd.to_dict()["stats"]["accepted_steps"] == fwd.stats["accepted_steps"] > 0
    assert fwd.value == pytest.approx(ref.value, rel=1e-6)    # rtol 1e-9 against 1e-10
    _assert_forward_matches(fwd, ref)
    if quantity == "ignition_delay":
        # the delay is the one fc.ignition_delay reports for the same run
        run = GasBatchReactor("h2o2.yaml", T=T_IGN, P="1 atm", X=H2O2_X, constant=kind,
                              options={"rtol": 1e-9}).run(2e-3, times=np.array([0.0, 2e-3]))
        assert fwd.value == pytest.approx(fc.ignition_delay(run), rel=1e-14)


def test_gri30_top_five_match_central_differences():
    """All 325 reactions of GRI-Mech 3.0 forward; central differences only on
    the five leaders (measured 1.3e-7 relative)."""
    r = GasBatchReactor("gri30.yaml", T=1500.0, P="1 atm", X="CH4:1, O2:2, N2:7.52")
    fwd = reaction_sensitivities(r, "ignition_delay", t_end=2e-3)
    assert len(fwd) == 325
    top = [row.reaction for row in fwd[:5]]
    ref = reaction_sensitivities(r, "ignition_delay", t_end=2e-3, reactions=top,
                                 method="finite-difference")
    assert [row.reaction for row in ref] == top
    for row in fwd[:5]:
        assert row.sensitivity == pytest.approx(ref.by_reaction()[row.reaction], rel=1e-4)
    # methane ignition: chain branching shortens the delay, methyl recombination
    # (a chain termination) lengthens it
    eq = {row.equation: row.sensitivity for row in fwd[:5]}
    assert eq["H + O2 <=> O + OH"] < 0.0 and eq["2 CH3 (+M) <=> C2H6 (+M)"] > 0.0


MORE_FORMS = [
    """
equation: H2O2 <=> 2 OH
type: pressure-dependent-Arrhenius
rate-constants:
- {P: 0.01 atm, A: 1.2e+13, b: 0.0, Ea: 48000 cal/mol}
- {P: 1.0 atm, A: 3.0e+14, b: -0.3, Ea: 48500 cal/mol}
- {P: 1.0 atm, A: 2.0e+12, b: 0.4, Ea: 47000 cal/mol}
- {P: 10.0 atm, A: 5.0e+15, b: -0.6, Ea: 49000 cal/mol}
""",
    """
equation: H + HO2 (+M) <=> H2 + O2 (+M)
type: chemically-activated
low-P-rate-constant: {A: 2.0e+13, b: 0.1, Ea: 1000 cal/mol}
high-P-rate-constant: {A: 5.0e+10, b: 0.3, Ea: 800 cal/mol}
Troe: {A: 0.6, T3: 300.0, T1: 2500.0, T2: 5000.0}
efficiencies: {H2O: 6.0, AR: 0.5}
""",
]


@pytest.mark.parametrize("P_atm", [0.5, 3.0, 30.0])
def test_scaling_every_rate_form_matches_cantera_multiplier(P_atm):
    base = ct.Solution("h2o2.yaml")
    extra = [ct.Reaction.from_yaml(text, base) for text in MORE_FORMS]
    sol = ct.Solution(thermo="ideal-gas", kinetics="gas", species=base.species(),
                      reactions=base.reactions() + extra)
    g = GasKinetics.from_solution(sol)
    rng = np.random.default_rng(7)
    lnf = rng.uniform(-0.7, 0.7, g.n_reactions)
    scaled = scale_reaction_rates(g, lnf)
    for j, f in enumerate(np.exp(lnf)):
        sol.set_multiplier(f, j)
    X = rng.uniform(0.05, 1.0, sol.n_species)
    sol.TPX = 1300.0, P_atm * ct.one_atm, X / X.sum()
    work = gkern.gas_workspace(g.n_species, g.n_reactions)
    wdot = np.zeros(g.n_species)
    gkern.gas_production_rates(sol.T, sol.P, sol.concentrations * 1000.0, scaled.model, work, wdot)
    ref_f = sol.forward_rates_of_progress * 1000.0
    ref_r = sol.reverse_rates_of_progress * 1000.0
    assert np.allclose(work[0][gkern.QF], ref_f, rtol=1e-10, atol=0.0)
    assert np.allclose(work[0][gkern.QR], ref_r, rtol=1e-10, atol=0.0)
    # the original is untouched
    fresh = GasKinetics.from_solution(ct.Solution(thermo="ideal-gas", kinetics="gas",
                                                  species=base.species(),
                                                  reactions=base.reactions() + extra))
    for a, b in zip(g.model, fresh.model):
        assert np.array_equal(a, b, equal_nan=True)


def _scipy_pfr_outlet_T(gas, T0, mdot, d, L):
    """Outlet T of the adiabatic plug flow in distance integrated by scipy
    (LSODA, rtol 1e-11) on Cantera's rates, enthalpies and cp (with whatever
    multipliers ``gas`` carries)."""
    from scipy.integrate import solve_ivp

    gas.TPX = T0, ct.one_atm, H2O2_X
    G = mdot / (np.pi * d * d / 4)
    W = gas.molecular_weights

    def f(z, y):
        gas.TPY = y[-1], ct.one_atm, np.maximum(y[:-1], 0.0)
        wdot = gas.net_production_rates
        return np.append(wdot * W / G,
                         -np.dot(gas.partial_molar_enthalpies, wdot) / (G * gas.cp_mass))

    ref = solve_ivp(f, (0.0, L), np.append(gas.Y, T0), method="LSODA", rtol=1e-11, atol=1e-16)
    assert ref.success
    return ref.y[-1, -1]


def test_pfr_outlet_temperature_sensitivity_matches_scipy_on_cantera_rates():
    # mid-ignition at the outlet: T0 = 1100 K, the largest dT/dz near 2.3 cm
    T0, mdot, d, L = 1100.0, 5e-3, 0.01, 0.022
    inlet = {"mass_flow": mdot, "T": T0, "P": "1 atm", "X": H2O2_X}
    s = reaction_sensitivities(GasPFR("h2o2.yaml", length=L, diameter=d), "T", inlet=inlet,
                               method="finite-difference")
    gas = ct.Solution("h2o2.yaml")
    T_ref = _scipy_pfr_outlet_T(gas, T0, mdot, d, L)
    assert s.value == pytest.approx(T_ref, rel=1e-7)
    assert 1150.0 < T_ref < 1800.0        # inside the front: large sensitivities
    assert s[0].equation == "H + O2 <=> O + OH" and s[0].sensitivity > 1.0
    # central differences with Cantera multipliers at the same step (1e-3:
    # at 1e-2 the truncation error of the top one is 0.4 %); measured 5e-8
    h = s.step
    for row in s[:3]:
        j = row.cantera_index
        gas.set_multiplier(np.exp(h), j)
        plus = _scipy_pfr_outlet_T(gas, T0, mdot, d, L)
        gas.set_multiplier(np.exp(-h), j)
        minus = _scipy_pfr_outlet_T(gas, T0, mdot, d, L)
        gas.set_multiplier(1.0, j)
        ref = (np.log(plus) - np.log(minus)) / (2 * h)
        assert row.sensitivity == pytest.approx(ref, abs=1e-4 * abs(s[0].sensitivity))
    # a mole fraction at the outlet, ranked the same way
    oh = reaction_sensitivities(GasPFR("h2o2.yaml", length=L, diameter=d), "OH", inlet=inlet,
                                reactions=[row.reaction for row in s[:3]])
    assert oh.value == pytest.approx(
        fc.GasPFR("h2o2.yaml", length=L, diameter=d, options={"rtol": 1e-9}).run(inlet)["OH"][-1],
        rel=1e-9)
    assert len(oh) == 3 and oh.to_dict()["quantity"] == "OH"


def test_bad_input():
    r = GasBatchReactor("h2o2.yaml", T=T_IGN, P="1 atm", X=H2O2_X)
    with pytest.raises(InputError, match="t_end"):
        reaction_sensitivities(r, "ignition_delay")
    with pytest.raises(InputError, match="quantity"):
        reaction_sensitivities(r, "NOPE", t_end=1e-3)
    with pytest.raises(InputError, match="inlet"):
        reaction_sensitivities(GasPFR("h2o2.yaml", length=0.1, diameter=0.01), "T")
    with pytest.raises(InputError, match="reactions"):
        reaction_sensitivities(r, "T", t_end=1e-3, reactions=[999])
    with pytest.raises(InputError, match="method"):
        reaction_sensitivities(r, "T", t_end=1e-3, method="adjoint")
    # forward at constant volume needs dk/dP of PLOG rates, which the Jacobian leaves out
    base = ct.Solution("h2o2.yaml")
    plog = ct.Solution(thermo="ideal-gas", kinetics="gas", species=base.species(),
                       reactions=base.reactions() + [ct.Reaction.from_yaml(MORE_FORMS[0], base)])
    rv = GasBatchReactor(plog, T=T_IGN, P="1 atm", X=H2O2_X, constant="volume")
    with pytest.raises(InputError, match="PLOG"):
        reaction_sensitivities(rv, "T", t_end=1e-3)
    assert fc.reaction_sensitivities is reaction_sensitivities


# ---------------------------------------------------------------------------
# the steady gas CSTR against Cantera's well-stirred reactor
# ---------------------------------------------------------------------------

def _cantera_cstr(T_in, volume, mdot, energy="on", burnt=False, mech="h2o2.yaml", X=H2O2_X):
    """Cantera's IdealGasReactor fed by a MassFlowController, drained by a
    PressureController (at steady state its outflow equals the inflow, so the
    tank is at the downstream pressure exactly), advanced to steady state and
    200 residence times further."""
    gas = ct.Solution(mech)
    gas.TPX = T_in, ct.one_atm, X
    inlet = ct.Reservoir(gas, clone=True)
    exhaust = ct.Reservoir(gas, clone=True)
    if burnt:
        gas.equilibrate("HP")
    r = ct.IdealGasReactor(gas, energy=energy, volume=volume, clone=True)
    mfc = ct.MassFlowController(inlet, r, mdot=mdot)
    ct.PressureController(r, exhaust, primary=mfc, K=1e-2)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = 1e-12, 1e-20
    net.advance_to_steady_state()
    tau = r.mass / mdot
    net.advance(net.time + 200 * tau)
    return r.T, r.phase.X, tau


@pytest.mark.parametrize("T_in, volume, mdot, initial", [
    (1100.0, 1e-5, 1e-5, "burnt"),     # long residence time, near equilibrium
    (900.0, 1e-5, 1e-6, "burnt"),      # ignited from burnt gas below the feed's ignition
    (1100.0, 1e-6, 1e-4, "inlet"),     # ignites from the feed
    (1000.0, 1e-6, 1e-3, "inlet"),     # short residence time, far from equilibrium
    (700.0, 1e-6, 3e-2, "burnt"),      # blow-out: a burnt tank goes out
])
def test_gas_cstr_matches_cantera_steady_reactor(T_in, volume, mdot, initial):
    from flowchem.reactors.gas_cstr import GasCSTR

    T_ref, X_ref, tau_ref = _cantera_cstr(T_in, volume, mdot, burnt=initial == "burnt")
    res = GasCSTR("h2o2.yaml", volume, initial=initial).run(
        {"mass_flow": mdot, "T": T_in, "P": "1 atm", "X": H2O2_X})
    # measured: 1e-13 relative in T, 1e-13 in X
    assert res.T[0] == pytest.approx(T_ref, rel=1e-6, abs=0)
    assert np.max(np.abs(res.X[0] - X_ref)) < 1e-8
    assert res.residence_time == pytest.approx(tau_ref, rel=1e-6)
    # elements per kilogram leave as they enter
    g = GasKinetics.from_solution(ct.Solution("h2o2.yaml"))
    X_in = np.array([{"H2": 0.2, "O2": 0.1, "AR": 0.7}.get(k, 0.0) for k in g.species_names])
    b_in = g.element_matrix @ (X_in / np.dot(X_in, g.molar_masses))
    b_out = g.element_matrix @ (res.X[0] / np.dot(res.X[0], g.molar_masses))
    assert np.allclose(b_out, b_in, rtol=1e-10, atol=1e-12)
    out = res.to_dict()["outlet"]
    assert out["T"] == res.T[0] and out["X"]["H2O"] == pytest.approx(X_ref[5], abs=1e-8)


def test_gri30_methane_air_cstr_from_a_cold_feed_matches_cantera():
    """A 300 K feed ignites only from a burnt tank (the feed's own batch never
    ignites): the burning branch, as Cantera's combustor example starts it
    from the equilibrium of the feed."""
    from flowchem.reactors.gas_cstr import GasCSTR

    X = "CH4:1, O2:2, N2:7.52"
    T_ref, X_ref, _ = _cantera_cstr(300.0, 1e-5, 1e-3, burnt=True, mech="gri30.yaml", X=X)
    res = GasCSTR("gri30.yaml", 1e-5).run({"mass_flow": 1e-3, "T": 300.0, "P": "1 atm", "X": X})
    assert T_ref > 2000.0
    assert res.T[0] == pytest.approx(T_ref, rel=1e-6, abs=0)    # measured 2e-16
    assert np.max(np.abs(res.X[0] - X_ref)) < 1e-8


def test_isothermal_gas_cstr_matches_cantera():
    from flowchem.reactors.gas_cstr import GasCSTR

    T_ref, X_ref, _ = _cantera_cstr(1100.0, 1e-5, 1e-5, energy="off")
    res = GasCSTR("h2o2.yaml", "10 mL", energy="isothermal").run(
        {"mass_flow": "1e-5 kg/s", "T": 1100.0, "P": "1 atm", "X": H2O2_X})
    assert res.T[0] == 1100.0 and T_ref == pytest.approx(1100.0, abs=1e-9)
    assert np.max(np.abs(res.X[0] - X_ref)) < 1e-8


def test_gas_cstr_bad_input():
    from flowchem.reactors.gas_cstr import GasCSTR

    with pytest.raises(InputError, match="energy"):
        GasCSTR("h2o2.yaml", 1e-5, energy="cooled")
    with pytest.raises(InputError, match="volume"):
        GasCSTR("h2o2.yaml", -1.0)
    with pytest.raises(InputError, match="X"):
        GasCSTR("h2o2.yaml", 1e-5).run({"mass_flow": 1e-5, "T": 1000.0, "P": "1 atm",
                                        "X": {"XE": 1.0}})
    assert fc.GasCSTR is GasCSTR
