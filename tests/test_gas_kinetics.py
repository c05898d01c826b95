"""kernels.gas_kinetics and kernels.thermo against Cantera 3 itself.

References: Cantera's own rate constants, equilibrium constants, rates of
progress, production rates and species/mixture thermodynamics at the same
(T, P, composition), converted from kmol to mol; the analytic Jacobian
against central finite differences of the kernel's own production rates.

Tolerances: rates and K_c 1e-10 relative (measured: about 3e-14); a net
quantity (q = q_f - q_r, wdot = sum nu q) is compared relative to the sum of
the magnitudes of its terms, since Cantera and flowchem add the same terms in
a different order and a net value near equilibrium keeps only their round-off.
Thermodynamics 1e-12 relative (measured: exact or 1 ulp). Jacobian 1e-6 of
the largest entry of its row (measured about 1e-8, the finite-difference
truncation error).
"""

import math

import numpy as np
import pytest

ct = pytest.importorskip("cantera")

from flowchem.chemistry.gas_mechanism import GasKinetics  # noqa: E402
from flowchem.core.errors import InputError  # noqa: E402
from kernels import gas_kinetics as gk  # noqa: E402
from kernels import thermo  # noqa: E402

KMOL = 1000.0
STATES = [(T, P) for T in (800.0, 1200.0, 2000.0) for P in (0.1, 1.0, 10.0)]  # K, atm

# Every supported rate form outside gri30/h2o2: PLOG (two Arrhenius terms at
# one pressure, a negative A in the sum at another), chemically activated
# (Troe and Lindemann), 4-parameter Troe with an explicit collider, Lindemann
# with efficiencies, explicit fractional and negative (non-reactant) orders,
# duplicates.
EXTRA_REACTIONS = [
    """
equation: H2O2 <=> 2 OH
type: pressure-dependent-Arrhenius
rate-constants:
- {P: 0.01 atm, A: 1.2e+13, b: 0.0, Ea: 48000 cal/mol}
- {P: 1.0 atm, A: 3.0e+14, b: -0.3, Ea: 48500 cal/mol}
- {P: 1.0 atm, A: 2.0e+12, b: 0.4, Ea: 47000 cal/mol}
- {P: 10.0 atm, A: 5.0e+15, b: -0.6, Ea: 49000 cal/mol}
- {P: 10.0 atm, A: -1.0e+14, b: -0.5, Ea: 49200 cal/mol}
- {P: 100.0 atm, A: 2.0e+16, b: -0.8, Ea: 49500 cal/mol}
""",
    """
equation: H + HO2 (+M) <=> H2 + O2 (+M)
type: chemically-activated
low-P-rate-constant: {A: 2.0e+13, b: 0.1, Ea: 1000 cal/mol}
high-P-rate-constant: {A: 5.0e+10, b: 0.3, Ea: 800 cal/mol}
Troe: {A: 0.6, T3: 300.0, T1: 2500.0, T2: 5000.0}
efficiencies: {H2O: 6.0, AR: 0.5}
""",
    """
equation: O + OH (+M) <=> HO2 (+M)
type: chemically-activated
low-P-rate-constant: {A: 1.0e+13, b: 0.0, Ea: 0.0}
high-P-rate-constant: {A: 3.0e+10, b: 0.2, Ea: 500 cal/mol}
""",
    """
equation: H + OH (+AR) <=> H2O (+AR)
type: falloff
low-P-rate-constant: {A: 2.3e+18, b: -0.9, Ea: -1700 cal/mol}
high-P-rate-constant: {A: 7.4e+13, b: -0.37, Ea: 0.0}
Troe: {A: 0.7346, T3: 94.0, T1: 1756.0, T2: 5182.0}
""",
    """
equation: H + O2 (+M) <=> HO2 (+M)
type: falloff
low-P-rate-constant: {A: 6.4e+20, b: -1.72, Ea: 525 cal/mol}
high-P-rate-constant: {A: 4.65e+12, b: 0.44, Ea: 0.0}
efficiencies: {H2: 2.0, H2O: 14.0, O2: 0.78, AR: 0.67}
""",
    """
equation: H2 + O2 => 2 OH
rate-constant: {A: 1.7e+13, b: 0.0, Ea: 47780 cal/mol}
orders: {H2: 0.8, O2: 1.2, H2O: -0.3}
nonreactant-orders: true
negative-orders: true
""",
    """
equation: H2 + O <=> H + OH
rate-constant: {A: 3.87e+04, b: 2.7, Ea: 6260 cal/mol}
duplicate: true
""",
    """
equation: H2 + O <=> H + OH
rate-constant: {A: 1.0e+05, b: 2.5, Ea: 6000 cal/mol}
duplicate: true
""",
]

CHEBYSHEV = """
equation: HO2 <=> OH + O
type: Chebyshev
temperature-range: [290.0, 3000.0]
pressure-range: [9.869232667160128e-03 atm, 98.69232667160128 atm]
data:
- [8.2883, -1.1397, -0.12059, 0.016034]
- [1.9764, 1.0037, 7.2865e-03, -0.030432]
- [0.3177, 0.26889, 0.094806, -7.6385e-03]
"""


@pytest.fixture(scope="module")
def solutions():
    base = ct.Solution("h2o2.yaml")
    extra = [ct.Reaction.from_yaml(text, base) for text in EXTRA_REACTIONS]
    mixed = ct.Solution(thermo="ideal-gas", kinetics="gas", species=base.species(),
                        reactions=base.reactions() + extra)
    return {"h2o2": ct.Solution("h2o2.yaml"), "gri30": ct.Solution("gri30.yaml"), "mixed": mixed}


def _orders(sol):
    """Concentration order multiplying each Cantera forward rate constant
    (reactant orders, plus one for the [M] of a three-body reaction)."""
    out = []
    for r in sol.reactions():
        o = sum({**r.reactants, **r.orders}.values())
        out.append(o + (1.0 if r.reaction_type.startswith("three-body") else 0.0))
    return np.array(out)


def _states(sol, seed):
    rng = np.random.default_rng(seed)
    for T, P in STATES:
        X = rng.uniform(0.01, 1.0, sol.n_species)
        yield T, P * ct.one_atm, X / X.sum()


def _evaluate(g, T, P, c):
    work = gk.gas_workspace(g.n_species, g.n_reactions)
    wdot = np.zeros(g.n_species)
    gk.gas_production_rates(T, P, c, g.model, work, wdot)
    return work[0], work[1], wdot


def _assert_net(got, expected, scale, rtol, what):
    err = np.abs(got - expected) / np.where(scale > 0, scale, 1.0)
    assert err.max() <= rtol, f"{what}: worst {err.max():.3g} at {int(err.argmax())}"


@pytest.mark.parametrize("name", ["h2o2", "gri30", "mixed"])
def test_rates_against_cantera(solutions, name):
    """k_f, K_c, forward/reverse/net rates of progress and net production
    rates of every reaction and species agree with Cantera to 1e-10 relative
    at 9 (T, P) points with random compositions."""
    sol = solutions[name]
    g = GasKinetics.from_solution(sol)
    assert g.n_reactions == sol.n_reactions and not g.skipped
    conv = KMOL ** (1.0 - _orders(sol))
    dn = np.array([sum(r.products.values()) - sum(r.reactants.values()) for r in sol.reactions()])
    nu = (sol.product_stoich_coeffs - sol.reactant_stoich_coeffs)
    rtol = 1e-10
    for T, P, X in _states(sol, seed=12):
        sol.TPX = T, P, X
        c = sol.concentrations * KMOL
        ws, wsn, wdot = _evaluate(g, T, P, c)
        np.testing.assert_allclose(ws[gk.KF], sol.forward_rate_constants * conv, rtol=rtol, atol=0)
        np.testing.assert_allclose(np.exp(ws[gk.LNKC]), sol.equilibrium_constants * KMOL ** dn,
                                   rtol=rtol, atol=0)
        np.testing.assert_allclose(ws[gk.KR], sol.reverse_rate_constants * KMOL ** (1.0 - _orders(sol) - dn),
                                   rtol=rtol, atol=0)
        np.testing.assert_allclose(ws[gk.QF], sol.forward_rates_of_progress * KMOL, rtol=rtol, atol=0)
        np.testing.assert_allclose(ws[gk.QR], sol.reverse_rates_of_progress * KMOL, rtol=rtol, atol=0)
        _assert_net(ws[gk.Q], sol.net_rates_of_progress * KMOL, ws[gk.QF] + ws[gk.QR], rtol,
                    f"q at {T} K, {P} Pa")
        _assert_net(wdot, sol.net_production_rates * KMOL, np.abs(nu) @ np.abs(ws[gk.Q]), rtol,
                    f"wdot at {T} K, {P} Pa")
        third = sol.third_body_concentrations * KMOL
        has_m = ~np.isnan(third)
        np.testing.assert_allclose(ws[gk.MC][has_m], third[has_m], rtol=1e-12)


def test_mixed_mechanism_exercises_every_kind(solutions):
    g = GasKinetics.from_solution(solutions["mixed"])
    assert set(g.reaction_types) == {
        "elementary", "three-body", "falloff-Troe", "falloff-Lindemann",
        "chemically-activated-Troe", "chemically-activated-Lindemann",
        "pressure-dependent-Arrhenius"}
    # the PLOG table is bracketed inside and held outside: 9 states span
    # 0.1 to 10 atm, below and above the 0.01..100 atm table test both ends
    sol = solutions["mixed"]
    j = g.reaction_types.index("pressure-dependent-Arrhenius")
    sol.TPX = 1500.0, ct.one_atm, "H2O2:1, AR:4"
    c = sol.concentrations * KMOL
    for P in (1e-4 * ct.one_atm, 0.01 * ct.one_atm, 3.0 * ct.one_atm, 100 * ct.one_atm,
              1e3 * ct.one_atm):
        sol.TP = 1500.0, P
        c = sol.concentrations * KMOL
        ws, _, _ = _evaluate(g, 1500.0, P, c)
        assert ws[gk.KF, j] == pytest.approx(sol.forward_rate_constants[j], rel=1e-12)  # first order: same in kmol


def test_one_compilation_serves_every_mechanism(solutions):
    """The kernels' argument tuple has the same Numba type for every mechanism
    (with and without third bodies, falloff or PLOG), so one compilation serves all."""
    import numba

    types = {numba.typeof(GasKinetics.from_solution(sol).model) for sol in solutions.values()}
    elementary = ct.Solution(thermo="ideal-gas", kinetics="gas", species=solutions["h2o2"].species(),
                             reactions=solutions["h2o2"].reactions()[2:4])
    types.add(numba.typeof(GasKinetics.from_solution(elementary).model))
    assert len(types) == 1


@pytest.mark.parametrize("name", ["h2o2", "gri30"])
def test_species_and_mixture_thermo_against_cantera(solutions, name):
    """cp/R, h/RT, s/R of every species (both NASA-7 ranges, 300-3000 K) and
    the ideal-gas mixture cp, h and mean molar mass agree with Cantera to 1e-12."""
    sol = solutions[name]
    g = GasKinetics.from_solution(sol)
    n = sol.n_species
    cp, h, s = np.zeros(n), np.zeros(n), np.zeros(n)
    out = np.zeros(5)
    rng = np.random.default_rng(3)
    for T in (300.0, 800.0, 1000.0, 1200.0, 2000.0, 3000.0):
        X = rng.uniform(0.01, 1.0, n)
        X /= X.sum()
        sol.TPX = T, sol.reference_pressure, X
        thermo.species_thermo(T, g.nasa, cp, h, s)
        np.testing.assert_allclose(cp, sol.standard_cp_R, rtol=1e-12, atol=0)
        np.testing.assert_allclose(h, sol.standard_enthalpies_RT, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s, sol.standard_entropies_R, rtol=1e-12, atol=0)
        thermo.mixture_properties(T, sol.X, g.nasa, g.molar_masses, cp, h, s, out)
        assert out[0] == pytest.approx(sol.cp_mole / KMOL, rel=1e-12)
        assert out[1] == pytest.approx(sol.enthalpy_mole / KMOL, rel=1e-12, abs=1e-9)
        assert out[2] == pytest.approx(sol.mean_molecular_weight / KMOL, rel=1e-12)
        assert out[3] == pytest.approx(sol.cp_mass, rel=1e-12)
        dH = np.zeros(sol.n_reactions)
        thermo.reaction_enthalpies(T, h, *g.model[6:9], dH)
        _assert_net(dH, sol.delta_standard_enthalpy / KMOL,
                    np.abs(sol.product_stoich_coeffs - sol.reactant_stoich_coeffs).T
                    @ np.abs(h * thermo.GAS_CONSTANT * T), 1e-12, f"dH at {T} K")


def _fd_jacobian(g, T, P, c):
    n = c.size
    Jfd = np.zeros((n, n))
    for l in range(n):
        h = 1e-6 * c[l]
        cp, cm = c.copy(), c.copy()
        cp[l] += h
        cm[l] -= h
        Jfd[:, l] = (_evaluate(g, T, P, cp)[2] - _evaluate(g, T, P, cm)[2]) / (2 * h)
    hT = 1e-5 * T
    dT = (_evaluate(g, T + hT, P, c)[2] - _evaluate(g, T - hT, P, c)[2]) / (2 * hT)
    return Jfd, dT


@pytest.mark.parametrize("name", ["gri30", "mixed"])
def test_jacobian_against_finite_differences(solutions, name):
    """d wdot/dc and d wdot/dT (three-body [M], falloff Pr, Troe F_cent(T),
    PLOG, K_c(T)) against central differences: within 1e-6 of the largest
    entry of each row."""
    sol = solutions[name]
    g = GasKinetics.from_solution(sol)
    n, m = g.n_species, g.n_reactions
    work = gk.gas_workspace(n, m)
    ws = work[0]
    wdot, J, dwdT = np.zeros(n), np.zeros((n, n)), np.zeros(n)
    worst = worst_T = 0.0
    for T, P, X in list(_states(sol, seed=5))[::2]:
        sol.TPX = T, P, X
        c = sol.concentrations * KMOL
        gk.gas_jacobian(T, P, c, g.model, work, wdot, J, dwdT)
        Jfd, dTfd = _fd_jacobian(g, T, P, c)
        row_scale = np.abs(Jfd).max(axis=1, keepdims=True)
        worst = max(worst, (np.abs(J - Jfd) / np.where(row_scale > 0, row_scale, 1.0)).max())
        assert (np.abs(J - Jfd) <= 1e-6 * row_scale).all(), (np.abs(J - Jfd) / row_scale).max()
        t_scale = np.abs(dTfd).max()
        assert (np.abs(dwdT - dTfd) <= 1e-6 * t_scale).all(), (np.abs(dwdT - dTfd) / t_scale).max()
        worst_T = max(worst_T, (np.abs(dwdT - dTfd) / t_scale).max())
    print(f"worst Jacobian error: d/dc {worst:.2e}, d/dT {worst_T:.2e}")


@pytest.mark.parametrize("name", ["gri30", "mixed"])
def test_element_conservation(solutions, name):
    """sum_i a_ei wdot_i = 0 to 1e-10 of the largest term of the sum."""
    sol = solutions[name]
    g = GasKinetics.from_solution(sol)
    for T, P, X in _states(sol, seed=7):
        sol.TPX = T, P, X
        _, _, wdot = _evaluate(g, T, P, sol.concentrations * KMOL)
        terms = g.element_matrix * wdot
        scale = np.abs(terms).max()
        assert scale > 0
        assert np.abs(terms.sum(axis=1)).max() <= 1e-10 * scale


@pytest.mark.parametrize("name", ["gri30", "mixed"])
def test_pure_feeds_and_empty_gas_are_finite(solutions, name):
    """A feed without radicals (most concentrations exactly zero, [M] of an
    explicit collider zero, Pr = 0) and an all-zero state: rates as Cantera's
    (1e-10 of the largest term), Jacobian finite; the kernel never raises."""
    sol = solutions[name]
    g = GasKinetics.from_solution(sol)
    n, m = g.n_species, g.n_reactions
    work = gk.gas_workspace(n, m)
    ws = work[0]
    wdot, J, dwdT = np.zeros(n), np.zeros((n, n)), np.zeros(n)
    sol.TPX = 1000.0, ct.one_atm, "H2:2, O2:1, N2:3.76"
    for c in (sol.concentrations * KMOL, np.zeros(n)):
        gk.gas_jacobian(1000.0, ct.one_atm, c, g.model, work, wdot, J, dwdT)
        assert np.isfinite(J).all() and np.isfinite(dwdT).all() and np.isfinite(ws).all()
    gk.gas_production_rates(1000.0, ct.one_atm, sol.concentrations * KMOL, g.model, work, wdot)
    scale = np.abs(sol.net_production_rates * KMOL).max()
    assert scale > 0
    np.testing.assert_allclose(wdot, sol.net_production_rates * KMOL, rtol=0, atol=1e-10 * scale)


def test_cached_temperature_part_equals_fresh_evaluation(solutions):
    """A workspace reused at the same T and P (new concentrations), at a new
    T, at a new P (PLOG), and after ``invalidate`` following an in-place change
    of the mechanism's arrays gives bit-for-bit what a fresh workspace gives."""
    sol = solutions["mixed"]
    g = GasKinetics.from_solution(sol)
    n, m = g.n_species, g.n_reactions
    work = gk.gas_workspace(n, m)
    wdot, J, dwdT = np.zeros(n), np.zeros((n, n)), np.zeros(n)
    states = list(_states(sol, seed=9))
    calls = [(1200.0, ct.one_atm, states[0][2]), (1200.0, ct.one_atm, states[1][2]),
             (1500.0, ct.one_atm, states[1][2]), (1500.0, 20 * ct.one_atm, states[1][2])]
    for T, P, X in calls:
        c = P / (8.31446261815324 * T) * X
        gk.gas_jacobian(T, P, c, g.model, work, wdot, J, dwdT)
        fresh = gk.gas_workspace(n, m)
        wdot1, J1, dwdT1 = np.zeros(n), np.zeros((n, n)), np.zeros(n)
        gk.gas_jacobian(T, P, c, g.model, fresh, wdot1, J1, dwdT1)
        np.testing.assert_array_equal(work[0][gk.KF], fresh[0][gk.KF])
        np.testing.assert_array_equal(wdot, wdot1)
        np.testing.assert_array_equal(J, J1)
        np.testing.assert_array_equal(dwdT, dwdT1)
    model = tuple(a.copy() for a in g.model)
    gk.gas_production_rates(T, P, c, model, work, wdot)
    model[12][:, 0] += math.log(2.0)           # every k_inf and elementary A doubled in place
    gk.invalidate(work)
    gk.gas_production_rates(T, P, c, model, work, wdot)
    fresh = gk.gas_workspace(n, m)
    gk.gas_production_rates(T, P, c, model, fresh, wdot1)
    np.testing.assert_array_equal(wdot, wdot1)
    elementary = np.array(g.reaction_types) == "elementary"
    np.testing.assert_allclose(work[0][gk.KF][elementary],
                               2 * _evaluate(g, T, P, c)[0][gk.KF][elementary], rtol=1e-14)


def test_unsupported_reaction_refused_by_name_or_skipped(solutions):
    base = solutions["h2o2"]
    cheb = ct.Reaction.from_yaml(CHEBYSHEV, base)
    sol = ct.Solution(thermo="ideal-gas", kinetics="gas", species=base.species(),
                      reactions=base.reactions() + [cheb])
    with pytest.raises(InputError) as err:
        GasKinetics.from_solution(sol, source="cheb.yaml")
    assert "HO2 <=> O + OH" in err.value.problem and "Chebyshev" in err.value.problem
    assert err.value.location == f"reactions[{base.n_reactions}]"
    g = GasKinetics.from_solution(sol, skip_unsupported=True)
    assert g.skipped == ("HO2 <=> O + OH (Chebyshev)",)
    assert g.n_reactions == base.n_reactions
    assert list(g.reaction_indices) == list(range(base.n_reactions))


# ----------------------------------------------------------------- Mechanism.from_cantera
def _write(sol, path):
    sol.write_yaml(str(path))
    return path


def test_from_cantera_reads_full_h2o2_mechanism(solutions):
    """h2o2.yaml is read whole: names, equations and elements as Cantera's;
    its gas kinetics gives Cantera's rates; the liquid compile refuses it by
    reaction and type."""
    import flowchem as fc

    sol = solutions["h2o2"]
    mech = fc.Mechanism.from_cantera("h2o2.yaml")
    assert mech.species_names == sol.species_names
    assert [r.equation for r in mech.reactions] == sol.reaction_equations()
    assert mech.elements == sorted(sol.element_names)
    O = mech.elements.index("O")
    np.testing.assert_array_equal(mech.element_matrix[O],
                                  [sol.n_atoms(k, "O") for k in range(sol.n_species)])
    g = mech.gas_kinetics
    assert g.n_reactions == 29 and g.reaction_types.count("three-body") == 11
    sol.TPX = 1100.0, 2.0 * ct.one_atm, "H2:2, O2:1, H:0.01, O:0.01, OH:0.01, HO2:0.001, AR:5"
    _, _, wdot = _evaluate(g, 1100.0, 2.0 * ct.one_atm, sol.concentrations * KMOL)
    nu = sol.product_stoich_coeffs - sol.reactant_stoich_coeffs
    _assert_net(wdot, sol.net_production_rates * KMOL,
                np.abs(nu) @ np.abs(sol.net_rates_of_progress * KMOL), 1e-10, "wdot")
    with pytest.raises(InputError) as err:
        mech.compile()
    assert err.value.location == "reactions[0]" and "'2 O + M <=> O2 + M'" in err.value.problem
    assert "three-body" in err.value.problem
    same = fc.Mechanism.from_dict({"cantera": "h2o2.yaml"}, source="route.yaml", where="mechanism")
    assert same.gas_kinetics.equations == g.equations


def test_from_cantera_elementary_file_keeps_liquid_path(tmp_path, solutions):
    """A file of elementary reactions still compiles for the liquid kernel and
    carries gas kinetics whose rates are Cantera's."""
    import flowchem as fc

    base = solutions["h2o2"]
    keep = [r for r in base.reactions() if r.reaction_type == "Arrhenius"]
    sol = ct.Solution(thermo="ideal-gas", kinetics="gas", species=base.species(), reactions=keep)
    mech = fc.Mechanism.from_cantera(_write(sol, tmp_path / "elem.yaml"))
    c = mech.compile()
    assert c.n_reactions == len(keep) == mech.gas_kinetics.n_reactions
    sol.TPX = 1500.0, ct.one_atm, "H2:2, O2:1, H:0.1, O:0.1, OH:0.1, AR:5"
    ws, _, _ = _evaluate(mech.gas_kinetics, 1500.0, ct.one_atm, sol.concentrations * KMOL)
    np.testing.assert_allclose(ws[gk.QF], sol.forward_rates_of_progress * KMOL, rtol=1e-10)


def test_from_cantera_refuses_unsupported_type_by_name(tmp_path, solutions):
    """A Cantera file with a Chebyshev reaction: InputError naming the file,
    the reaction, its equation and type; skip_unsupported leaves it out with
    the list printed (warning) and in gas_kinetics.skipped."""
    import flowchem as fc

    base = solutions["mixed"]
    sol = ct.Solution(thermo="ideal-gas", kinetics="gas", species=base.species(),
                      reactions=base.reactions() + [ct.Reaction.from_yaml(CHEBYSHEV, base)])
    path = _write(sol, tmp_path / "cheb.yaml")
    with pytest.raises(InputError) as err:
        fc.Mechanism.from_cantera(path)
    assert err.value.source == str(path)
    assert err.value.location == f"reactions[{base.n_reactions}]"
    assert "'HO2 <=> O + OH'" in err.value.problem and "Chebyshev" in err.value.problem
    with pytest.warns(UserWarning, match=r"left out \d+ reactions"):
        mech = fc.Mechanism.from_cantera(path, skip_unsupported=True)
    assert mech.gas_kinetics.skipped == ("HO2 <=> O + OH (Chebyshev)",)
    assert mech.gas_kinetics.n_reactions == base.n_reactions
    assert all(r.equation in base.reaction_equations() for r in mech.reactions)
    mech.compile()   # the elementary subset, for the liquid kernel


def test_from_cantera_negative_orders_are_gas_only(solutions, tmp_path):
    """An elementary reaction with a negative order is read (the gas kernel
    takes it); the liquid compile refuses it by name."""
    import flowchem as fc

    base = solutions["h2o2"]
    text = [t for t in EXTRA_REACTIONS if "negative-orders" in t][0]
    sol = ct.Solution(thermo="ideal-gas", kinetics="gas", species=base.species(),
                      reactions=[ct.Reaction.from_yaml(text, base)])
    mech = fc.Mechanism.from_cantera(_write(sol, tmp_path / "neg.yaml"))
    assert mech.gas_kinetics.model[2].min() == pytest.approx(-0.3)
    with pytest.raises(InputError, match="negative or non-reactant orders"):
        mech.compile()


@pytest.mark.parametrize("T", [300.0, 450.0, 1500.0])
def test_both_forms_of_the_equilibrium_constant_against_cantera(solutions, T):
    """1/K_c is a product of per-species exp(g/RT) factors while max |g/RT|
    is below the overflow guard (GRI-Mech 3.0 above ~550 K) and the
    exponential of the stoichiometric sum below it (300 K and 450 K: max
    |g/RT| = 268 and about 170); both give K_c and k_r within 1e-10 of
    Cantera."""
    sol = solutions["gri30"]
    g = GasKinetics.from_solution(sol)
    sol.TPX = T, ct.one_atm, "CH4:1, O2:2, N2:7.52, H:0.01, OH:0.01, CO:0.02"
    c = sol.concentrations * KMOL
    ws, wsn, _ = _evaluate(g, T, ct.one_atm, c)
    g_max = np.abs(wsn[gk.G_RT, :g.n_species]).max()
    assert (g_max < gk._PRODUCT_KC_G_MAX) == (T > 550.0)
    dn = np.array([sum(r.products.values()) - sum(r.reactants.values()) for r in sol.reactions()])
    np.testing.assert_allclose(np.exp(ws[gk.LNKC]), sol.equilibrium_constants * KMOL ** dn,
                               rtol=1e-10, atol=0)
    rev = ws[gk.KR] != 0.0
    expected = sol.reverse_rate_constants * KMOL ** (1.0 - _orders(sol) - dn)
    np.testing.assert_allclose(ws[gk.KR][rev], expected[rev], rtol=1e-10, atol=0)


def test_batched_exponential_within_one_ulp_of_libm():
    """kernels.gas_kinetics.batched_exp (the vectorised exponential of the
    rate constants) against numpy's exp: within 2 ulp (measured 1) over
    [-700, 700] and on the arguments of rate constants (|x| < 60), exactly
    libm's value outside the normal range, NaN for NaN, 0 and inf at the ends."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-700.0, 700.0, 4000), rng.uniform(-60.0, 60.0, 4000),
                        [0.0, -0.0, 1e-300, -1e-300, 708.9, -707.9]])
    out = np.empty_like(x)
    gk.batched_exp(x, out, np.empty_like(x), x.size)
    ulps = np.abs(out / np.exp(x) - 1.0) / np.finfo(float).eps
    assert ulps.max() <= 2.0, ulps.max()
    edge = np.array([np.nan, np.inf, -np.inf, 709.5, -720.0, -745.5, 1000.0])
    out = np.empty_like(edge)
    gk.batched_exp(edge, out, np.empty_like(edge), edge.size)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(out, np.exp(edge))
