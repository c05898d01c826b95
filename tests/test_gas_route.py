"""Gas routes through ``flowchem run --json`` against Cantera (issue 12).

References: Cantera 3's ``IdealGasConstPressureReactor`` followed in time at
rtol 1e-10, atol 1e-20, carrying the distance z = int u dt (u = mdot/(rho A))
as an extra state of an ``ExtensibleIdealGasConstPressureReactor``, so the
outlet of a tube of length L is Cantera's state at the time where z = L
(found by Newton on z(t)); adiabatic mixing by ``cantera.Quantity`` addition
(mass, enthalpy and pressure conserved); enthalpy differences from Cantera.
"""

import json
import math

import numpy as np
import pytest

ct = pytest.importorskip("cantera")
pytestmark = pytest.mark.filterwarnings("ignore:ReactorBase:DeprecationWarning")

from flowchem.cli import main  # noqa: E402

P_ATM = 101325.0
CT_RTOL, CT_ATOL = 1e-10, 1e-20
T0, MDOT, DIAM = 1100.0, 1e-3, 0.02
AREA = math.pi * DIAM ** 2 / 4
X_FEED = {"H2": 2.0, "O2": 1.0, "AR": 7.0}


class _Tube(ct.ExtensibleIdealGasConstPressureReactor):
    """Cantera's constant-pressure reactor with z = int u dt as an extra state."""

    def __init__(self, gas, mdot, area):
        super().__init__(gas, clone=False)
        self.gas, self.mdot, self.area, self.z = gas, mdot, area, 0.0

    def after_initialize(self, t0):
        self.n_vars += 1
        self.i_z = self.n_vars - 1

    def after_get_state(self, y):
        y[self.i_z] = self.z

    def after_update_state(self, y):
        self.z = y[self.i_z]

    def after_eval(self, t, LHS, RHS):
        RHS[self.i_z] = self.mdot / (self.gas.density * self.area)


def _cantera_state_at(t):
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = T0, P_ATM, X_FEED
    r = _Tube(gas, MDOT, AREA)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = CT_RTOL, CT_ATOL
    if t > 0:
        net.advance(t)
    return r.z, gas.T, gas.X.copy(), MDOT / (gas.density * AREA)


def _cantera_tube_outlet(L):
    """(T, X, t) of Cantera's reactor where its z reaches L (Newton on z(t) - L)."""
    z, T, X, u = _cantera_state_at(0.0)
    t = L / u
    for _ in range(8):
        z, T, X, u = _cantera_state_at(t)
        dt = (L - z) / u
        t += dt
        if abs(L - z) < 1e-13 * L:
            break
    return T, X, t


@pytest.fixture(scope="module")
def ignition_z():
    """Where Cantera's tube is hottest-rising: z at the largest dT/dt."""
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = T0, P_ATM, X_FEED
    r = _Tube(gas, MDOT, AREA)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = CT_RTOL, CT_ATOL
    zs, rates = [], []
    while gas.T < 2500:
        net.step()
        zs.append(r.z)
        rates.append(-np.dot(gas.partial_molar_enthalpies, gas.net_production_rates)
                     / (gas.density * gas.cp_mass))
    return zs[int(np.argmax(rates))]


def _write(tmp_path, text, name="route.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _run(tmp_path, route_text, capsys=None):
    route = _write(tmp_path, route_text)
    out = tmp_path / "out.json"
    status = main(["run", str(route), "--json", str(out), "--quiet"])
    assert status == 0
    return json.loads(out.read_text())


def _feed(n=1):
    return ("  - {name: fuel, mass_flow: %r, T: %r, P: 1 atm, X: {H2: 2, O2: 1, AR: 7}}\n"
            % (n * MDOT, T0))


def test_adiabatic_gas_pfrs_through_ignition_match_cantera(tmp_path, ignition_z):
    # before, at, just after and well after the ignition front
    lengths = [0.5 * ignition_z, ignition_z, 1.02 * ignition_z, 1.5 * ignition_z]
    # one feed split four ways, each branch at MDOT
    ops = "".join(f"  - {{name: R{i}, type: pfr, from: S.{i + 1}, length: {L!r}, diameter: 2 cm}}\n"
                  for i, L in enumerate(lengths))
    d = _run(tmp_path, "name: h2 tubes\nmechanism: {cantera: h2o2.yaml}\nfeeds:\n" + _feed(4)
             + "operations:\n  - {name: S, type: splitter, from: fuel, fractions: [0.25, 0.25, "
             "0.25, 0.25]}\n" + ops + "solver: {rtol: 1.0e-10}\n")
    species = list(d["streams"]["fuel"]["conc_mol_per_m3"])
    worst_T = 0.0
    for i, L in enumerate(lengths):
        T_ref, X_ref, t_ref = _cantera_tube_outlet(L)
        s = d["streams"][f"R{i}"]
        op = d["operations"][f"R{i}"]
        F = np.array([s["molar_flow_mol_per_s"][k] for k in species])
        X = F / F.sum()
        rel_T = abs(s["T_K"] - T_ref) / T_ref
        worst_T = max(worst_T, rel_T)
        # measured (rtol 1e-10 both): 1.6e-9 at the front, 3e-13 before it, 2e-11 after
        assert rel_T < 1e-5, (L, s["T_K"], T_ref)
        assert np.max(np.abs(X - X_ref)) < 1e-6, (L, np.max(np.abs(X - X_ref)))
        assert op["residence_time_s"] == pytest.approx(t_ref, rel=1e-6)
        # the stream's keys are those of a liquid stream, from the ideal-gas law
        assert s["P_Pa"] == pytest.approx(P_ATM, rel=1e-15)
        assert s["mass_flow_kg_per_s"] == pytest.approx(MDOT, rel=1e-12)
        c = np.array([s["conc_mol_per_m3"][k] for k in species])
        assert c.sum() == pytest.approx(P_ATM / (8.31446261815324 * s["T_K"]), rel=1e-12)
        assert s["flow_m3_per_s"] == pytest.approx(F.sum() / c.sum(), rel=1e-12)
        assert op["volume_m3"] == pytest.approx(AREA * L, rel=1e-12)
        assert op["T_max_K"] >= s["T_K"] - 1e-9
        assert op["element_error"] < 1e-10
    assert worst_T < 1e-5
    # the front sits between the first and the last tube
    assert d["streams"]["R0"]["T_K"] < 1200 and d["streams"]["R3"]["T_K"] > 1900
    for e, v in d["balance"]["element_closure_rel"].items():
        assert v < 1e-10, e


def test_gas_mixer_matches_cantera_quantity_mixing(tmp_path):
    text = ("name: mixing\nmechanism: {cantera: h2o2.yaml}\nfeeds:\n"
            "  - {name: h2, mass_flow: 0.2 g/s, T: 300 K, P: 1 atm, X: {H2: 1}}\n"
            "  - {name: air, flow: 20 L/min, T: 1200 K, P: 1 atm, X: {O2: 0.21, AR: 0.79}}\n"
            "operations:\n  - {name: M1, type: mixer, from: [h2, air]}\n"
            "  - {name: H1, type: heat_exchanger, from: M1, T: 1000 K}\n"
            "  - {name: R1, type: pfr, from: H1, length: 5 cm, diameter: 1 cm}\n")
    d = _run(tmp_path, text)
    g1, g2 = ct.Solution("h2o2.yaml"), ct.Solution("h2o2.yaml")
    g1.TPX = 300.0, P_ATM, "H2:1"
    g2.TPX = 1200.0, P_ATM, "O2:0.21, AR:0.79"
    m_air = 20e-3 / 60 * g2.density
    # constant="HP": adiabatic mixing at constant pressure (Quantity's default conserves U and V)
    mixed = ct.Quantity(g1, mass=0.2e-3, constant="HP") + ct.Quantity(g2, mass=m_air,
                                                                       constant="HP")
    M1 = d["streams"]["M1"]
    # Newton on h(T) to 1e-14; Cantera's HP solve; measured 2e-16
    assert abs(M1["T_K"] - mixed.T) / mixed.T < 1e-8
    species = list(M1["mole_fractions"])
    X = np.array([M1["mole_fractions"][k] for k in species])
    assert np.max(np.abs(X - mixed.X)) < 1e-14
    assert M1["mass_flow_kg_per_s"] == pytest.approx(0.2e-3 + m_air, rel=1e-12)
    assert M1["P_Pa"] == pytest.approx(P_ATM, rel=1e-15)
    # heat exchanger: duty = H(1000 K) - H(T_mix) at constant P from Cantera's enthalpy
    g = ct.Solution("h2o2.yaml")
    g.TPX = mixed.T, P_ATM, mixed.X
    h_mix = g.enthalpy_mass
    g.TPX = 1000.0, P_ATM, mixed.X
    duty = (g.enthalpy_mass - h_mix) * (0.2e-3 + m_air)
    assert d["operations"]["H1"]["duty_W"] == pytest.approx(duty, rel=1e-9)
    assert d["streams"]["H1"]["T_K"] == 1000.0
    # element balance of the whole route
    for e, v in d["balance"]["element_closure_rel"].items():
        assert v < 1e-10, e
    assert d["balance"]["mass_closure_rel"] < 1e-12


BAD_FEEDS = [   # (the feed's composition and pressure, what the message names)
    ("X: {H2: 1}, Y: {H2: 1}", "exactly one of X"),
    ("P: 1 atm", "exactly one of X"),
    ("P: 1 atm, X: {H2: 1, CH4: 1}", "feeds[0].X.CH4"),
    ("P: 1 atm, Y: {H2: 1, CH4: 1}", "feeds[0].Y.CH4"),
    ("P: -1 atm, X: {H2: 1}", "feeds[0].P"),
    ("P: 0 Pa, X: {H2: 1}", "feeds[0].P"),
    ("P: 1 atm, X: {H2: 1}, conc: {H2: 1 mol/L}", "feeds[0].conc"),
]


@pytest.mark.parametrize("feed, needle", BAD_FEEDS)
def test_bad_gas_feeds_exit_2_with_one_line(tmp_path, capsys, feed, needle):
    route = _write(tmp_path, "mechanism: {cantera: h2o2.yaml}\nfeeds:\n"
                   f"  - {{name: f, mass_flow: 1 g/s, T: 1000 K, {feed}}}\n"
                   "operations:\n  - {name: R1, type: pfr, from: f, length: 1 m, diameter: 1 cm}\n")
    out = tmp_path / "out.json"
    assert main(["run", str(route), "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "route.yaml: feeds[0]" in err and needle in err, err
    assert not out.exists()


def test_refusals_name_the_entry(tmp_path, capsys):
    cases = [
        # negative flow
        ("mechanism: {cantera: h2o2.yaml}\nfeeds:\n"
         "  - {name: f, mass_flow: -1 g/s, T: 1000 K, X: {H2: 1}}\n"
         "operations:\n  - {name: M, type: mixer, from: [f]}\n", "feeds[0].mass_flow"),
        # a liquid feed on a gas mechanism
        ("mechanism: {cantera: h2o2.yaml}\nfeeds:\n"
         "  - {name: f, flow: 1 mL/min, T: 1000 K, conc: {H2: 1 mol/L}}\n"
         "operations:\n  - {name: M, type: mixer, from: [f]}\n", "feeds[0].conc"),
        # a gas feed on a liquid mechanism
        ("mechanism: {species: [{name: A}, {name: B}], reactions: "
         "[{equation: A => B, rate: {k: 1}}]}\nfeeds:\n"
         "  - {name: f, mass_flow: 1 g/s, T: 300 K, X: {A: 1}}\n"
         "operations:\n  - {name: M, type: mixer, from: [f]}\n", "feeds[0].X"),
        # an operation gas streams do not support yet
        ("mechanism: {cantera: h2o2.yaml}\nfeeds:\n"
         "  - {name: f, mass_flow: 1 g/s, T: 1000 K, X: {H2: 1}}\n"
         "operations:\n  - {name: C, type: quench, from: f}\n", "operations[0].type"),
        # an energy mode a gas tank does not have
        ("mechanism: {cantera: h2o2.yaml}\nfeeds:\n"
         "  - {name: f, mass_flow: 1 g/s, T: 1000 K, X: {H2: 1}}\n"
         "operations:\n  - {name: C, type: cstr, from: f, volume: 1 L, energy: cooled}\n",
         "operations[0].energy"),
        # T with an adiabatic gas PFR
        ("mechanism: {cantera: h2o2.yaml}\nfeeds:\n"
         "  - {name: f, mass_flow: 1 g/s, T: 1000 K, X: {H2: 1}}\n"
         "operations:\n  - {name: R, type: pfr, from: f, length: 1 m, diameter: 1 cm, T: 900 K, "
         "energy: adiabatic}\n", "operations[0].energy"),
    ]
    for text, where in cases:
        route = _write(tmp_path, text)
        out = tmp_path / "out.json"
        assert main(["run", str(route), "--json", str(out)]) == 2, where
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and where in err, (where, err)
        assert not out.exists()


def test_isothermal_gas_pfr_keeps_its_temperature_and_liquid_routes_are_unchanged(tmp_path):
    d = _run(tmp_path, "mechanism: {cantera: h2o2.yaml}\nfeeds:\n" + _feed()
             + "operations:\n  - {name: R, type: pfr, from: fuel, volume: 10 mL, diameter: 1 cm, "
             "T: 900 K, solver: {rtol: 1.0e-9}}\n")
    assert d["streams"]["R"]["T_K"] == 900.0
    assert d["operations"]["R"]["energy"] == "isothermal"
    assert d["operations"]["R"]["length_m"] == pytest.approx(10e-6 / (math.pi * 0.01 ** 2 / 4),
                                                             rel=1e-12)
    # an isothermal liquid PFR, first order: C_B = C_A0 (1 - exp(-k tau)) (closed form)
    d = _run(tmp_path, "mechanism: {species: [{name: A}, {name: B}], reactions: "
             "[{equation: A => B, rate: {k: 0.01}}]}\nfeeds:\n"
             "  - {name: f, flow: 1 mL/min, T: 300 K, conc: {A: 1 mol/L}}\n"
             "operations:\n  - {name: R, type: pfr, from: f, volume: 2 mL}\n")
    s = d["streams"]["R"]
    assert s["conc_mol_per_m3"]["B"] == pytest.approx(1000 * (1 - math.exp(-0.01 * 120)),
                                                      rel=1e-6)
    assert "phase" not in s and s["flow_m3_per_s"] == pytest.approx(1e-6 / 60, rel=1e-12)


def test_cooled_gas_pfr_heat_removed_is_the_wall_integral(tmp_path):
    """H_in - H_out of a cooled tube (NASA-7 enthalpies) against the heat
    through the wall, int U pi d (T - T_c) dz by Simpson on its profile."""
    import flowchem as fc

    route = _write(tmp_path, "mechanism: {cantera: h2o2.yaml}\nfeeds:\n" + _feed()
                   + "operations:\n  - {name: R, type: pfr, from: fuel, length: 30 cm, diameter: "
                   "1 cm, energy: {U: 50 W/m^2/K, coolant_T: 300 K}}\n")
    from scipy.integrate import simpson

    res = fc.load_route(route).run()
    op = res.operations["R"]
    z = np.linspace(0.0, 0.3, 20001)          # the integrator's dense output: the front is sharp
    T = op.solution(z)[:, -2]                  # state [moles per kg..., T, tau]
    wall = simpson(50.0 * math.pi * 0.01 * (T - 300.0), x=z)
    d = op.to_dict()
    assert d["energy"] == "cooled" and d["T_max_K"] > 2000   # it ignites, then cools
    # Simpson on 20001 points of the dense output; measured 1.1e-9
    assert d["heat_removed_W"] == pytest.approx(wall, rel=1e-6)
    assert d["T_out_K"] < d["T_max_K"] - 100


def test_gas_cstr_in_a_route_matches_cantera_steady_reactor(tmp_path):
    """A `type: cstr` on a gas stream through `flowchem run --json` against
    Cantera's IdealGasReactor fed by a MassFlowController and drained by a
    PressureController, advanced to steady state (rtol 1e-12)."""
    V, mdot, T_in = 1e-6, 1e-4, 1100.0
    gas = ct.Solution("h2o2.yaml")
    gas.TPX = T_in, P_ATM, X_FEED
    inlet, exhaust = ct.Reservoir(gas, clone=True), ct.Reservoir(gas, clone=True)
    r = ct.IdealGasReactor(gas, volume=V, clone=True)
    mfc = ct.MassFlowController(inlet, r, mdot=mdot)
    ct.PressureController(r, exhaust, primary=mfc, K=1e-2)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = 1e-12, 1e-20
    net.advance_to_steady_state()
    net.advance(net.time + 200 * r.mass / mdot)
    T_ref, X_ref, tau_ref = r.T, r.phase.X.copy(), r.mass / mdot
    d = _run(tmp_path, "mechanism: {cantera: h2o2.yaml}\nfeeds:\n"
             f"  - {{name: fuel, mass_flow: {mdot!r}, T: {T_in!r}, P: 1 atm, X: {{H2: 2, O2: 1, AR: 7}}}}\n"
             "operations:\n  - {name: C, type: cstr, from: fuel, volume: 1 mL, initial: inlet}\n")
    out = d["streams"]["C"]
    assert T_ref > 2000.0                                    # the tank burns
    assert out["T_K"] == pytest.approx(T_ref, rel=1e-6)
    names = gas.species_names
    X = np.array([out["mole_fractions"][n] for n in names])
    assert np.max(np.abs(X - X_ref)) < 1e-8
    assert d["operations"]["C"]["residence_time_s"] == pytest.approx(tau_ref, rel=1e-6)
    assert max(d["balance"]["element_closure_rel"].values()) < 1e-10


def test_example_route_terminal_table_and_time_axis(tmp_path, capsys):
    """examples/hydrogen/route.yaml: the terminal table of a gas route shows P
    and mole fractions; the mixer's equal the hand mixing of the two feeds
    (Cantera's molar masses); the route profile's time axis is in ms."""
    from pathlib import Path

    import flowchem as fc
    from flowchem.reporting.route_figures import plot_route_profile

    route = Path(__file__).resolve().parents[1] / "examples" / "hydrogen" / "route.yaml"
    assert main(["run", str(route), "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    col = header.index("mixer")          # "stream" heads the label column
    rows = {ln.split("[")[0].strip(): ln.split("]")[1].split() for ln in lines[2:] if "]" in ln}
    gas = ct.Solution("h2o2.yaml")
    mw = dict(zip(gas.species_names, gas.molecular_weights))
    fuel = 0.2e-3 / ((mw["H2"] + 3 * mw["AR"]) / 4e3)         # mol/s, X = H2:1, AR:3
    oxid = 0.8e-3 / ((mw["O2"] + 4 * mw["AR"]) / 5e3)         # X = O2:1, AR:4
    total = fuel + oxid
    expected = {"H2": fuel / 4 / total, "O2": oxid / 5 / total,
                "AR": (0.75 * fuel + 0.8 * oxid) / total}
    for sp, x in expected.items():
        shown = float(rows[f"x {sp}"][col - 1])
        assert shown == pytest.approx(x, rel=2e-3), sp          # printed to 4 figures
    assert float(rows["P"][col - 1]) == pytest.approx(P_ATM / 1e5, rel=1e-4)
    result = fc.load_route(str(route)).run()
    ax = plot_route_profile(result)
    assert ax.get_xlabel() == "cumulative residence time [ms]"
    # the total on the axis is the sum of the two tubes' residence times
    total_ms = sum(result.operations[n].residence_time for n in ("burner", "cooler")) * 1e3
    assert ax.get_xlim()[1] == pytest.approx(1.01 * total_ms, rel=1e-9)
