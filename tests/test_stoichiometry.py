"""The stoichiometric factor along the reaction network (moles of basis per
mole of product) against hand values, and the yields it gives on routes
against closed forms: 2 A => B (first order in A), B => C in a PFR and a
CSTR, a reversible first step, a product that is also fed; the refusals when
no path exists (InputError, exit 2 with one line); `flowchem size --yield`
on the two-step route against the closed form."""

import copy
import json
import math
import re

import pytest
from scipy.optimize import brentq

import flowchem as fc
from flowchem.chemistry.stoichiometry import reagents, stoichiometric_factor, stoichiometric_matrix
from flowchem.cli import main
from flowchem.core.errors import InputError, Location


def mechanism(species, equations):
    """A mechanism of first-order-ish reactions (rates do not matter here);
    a reversible one gets a reverse rate constant."""
    reactions = [fc.Reaction.from_equation(eq, rate={"k": 1.0},
                                           reverse={"k": 0.5} if "<=>" in eq else None)
                 for eq in equations]
    return fc.Mechanism(species=list(species), reactions=reactions)


# (species, equations, basis, product, supplied, hand value and why)
FACTORS = [
    ("AIP", ["A => I", "2 I => P"], "A", "P", (), 2.0),                      # chain: 2 I, each from one A
    ("ABC", ["2 A => B", "B => C"], "A", "C", (), 2.0),                      # the case
    ("AP", ["A => P", "2 A => P"], "A", "P", (), 1.0),                       # parallel: cheapest path
    ("ABP", ["3 A => 2 P", "2 A + B => P"], "A", "P", "AB", 1.5),            # parallel, 3/2 against 2
    ("ABIP", ["A + B => I", "I + B => P"], "A", "P", "AB", 1.0),             # co-reactant B
    ("ABIP", ["A + B => I", "I + B => P"], "B", "P", "AB", 2.0),             # ... and on B: two B
    ("AIP", ["A <=> I", "I => P"], "A", "P", (), 1.0),                       # reversible step
    ("ABDP", ["2 A <=> D", "D + B => P"], "A", "P", "AB", 2.0),              # reversible dimerisation
    ("ABIP", ["I <=> A + B", "I => P"], "A", "P", "AB", 1.0),                # reversible, written backwards
    ("APR", ["2 A => P + R", "R + A => P"], "A", "P", (), 1.5),              # P from two reactions: 3 A -> 2 P
    ("AIP", ["A => 0.5 I", "I => 1.5 P"], "A", "P", (), 4.0 / 3.0),          # fractional: 1 A -> 0.75 P
    ("ABP", ["A + 0.5 B => P"], "B", "P", "AB", 0.5),                        # fractional co-reactant
    ("ABP", ["A + B => P", "P => A + B"], "A", "P", "AB", 1.0),              # B also formed: by the feeds
    ("AKCP", ["A + K => C", "C => P + K"], "A", "P", (), 1.0),               # catalyst K, not fed
    ("ABCPX", ["2 A => B", "B => C", "C => P", "A => X"], "A", "P", (), 2.0),  # a side reaction
]


@pytest.mark.parametrize("species,equations,basis,product,supplied,expected", FACTORS)
def test_factor_by_hand(species, equations, basis, product, supplied, expected):
    mech = mechanism(species, equations)
    factor = stoichiometric_factor(mech, basis, product, supplied=list(supplied))
    assert factor == pytest.approx(expected, rel=1e-12)


def test_factor_is_not_a_single_reaction_ratio():
    """The combination beats every single reaction: 2 A => P + R alone costs 2 A,
    R + A => P recovers R, so 3 A make 2 P (1.5). Independent reference: A
    is the only carbon fed, so the factor is carbon in P over carbon in A."""
    mech = fc.Mechanism(species=[fc.Species("A", formula="C2H4"), fc.Species("P", formula="C3H6"),
                                 fc.Species("R", formula="CH2")],
                        reactions=[fc.Reaction.from_equation("2 A => P + R", rate={"k": 1.0}),
                                   fc.Reaction.from_equation("R + A => P", rate={"k": 1.0})])
    carbon = mech.element_matrix[mech.elements.index("C")]
    names = mech.species_names
    by_carbon = carbon[names.index("P")] / carbon[names.index("A")]
    assert stoichiometric_factor(mech, "A", "P") == pytest.approx(by_carbon, rel=1e-12)
    assert by_carbon == 1.5


def test_stoichiometric_matrix_and_reagents():
    mech = mechanism("ABIP", ["A + B => I", "I + 2 B => P", "I <=> A + B"])
    S = stoichiometric_matrix(mech)
    assert S.tolist() == [[-1, -1, 1, 0], [0, -2, -1, 1], [1, 1, -1, 0]]
    assert reagents(mech) == []                        # A and B are written as products of r3
    assert reagents(mechanism("ABIP", ["A + B => I", "I + B => P"])) == ["A", "B"]
    # the energy module's name is the same function (kept importable there)
    from flowchem.reactors import energy
    assert energy.stoichiometric_matrix is stoichiometric_matrix


@pytest.mark.parametrize("species,equations,problem", [
    ("ABCP", ["A => B", "B => C"], "no combination of the mechanism's reactions makes 'P' from the basis 'A'"),
    ("ACP", ["A => P", "C => P"], "the mechanism makes 'P' without consuming the basis 'A' (from C)"),
    ("AXP", ["A + X => 2 A", "A => P"], "the mechanism makes 'P' without consuming the basis 'A' (from X)"),
    ("ABP", ["A + B => P", "P => A + B"], "no combination"),     # B formed and not fed: no path
    ("AP", [], "no combination"),
])
def test_no_path_refused(species, equations, problem):
    mech = fc.Mechanism(species=list(species),
                        reactions=[fc.Reaction.from_equation(e, rate={"k": 1.0}) for e in equations])
    with pytest.raises(InputError) as err:
        stoichiometric_factor(mech, "A", "P", where=Location("r.yaml", "product"))
    assert str(err.value).startswith("r.yaml: product.")
    assert problem in str(err.value)


def test_basis_equal_to_product_refused():
    with pytest.raises(InputError, match="basis must differ"):
        stoichiometric_factor(mechanism("AB", ["A => B"]), "B", "B")


# -- routes against closed forms ---------------------------------------------

K1, K2 = 0.005, 0.012        # 1/s
TAU = 150.0                  # s: 2.5 mL at 1 mL/min
CA0 = 1000.0                 # mol/m^3


def two_step_route(reactor="pfr", feed_C=0.0, equations=None):
    """2 A => B with rate k1 c_A (first order in A), then B => C."""
    reactions = equations or [{"equation": "2 A => B", "rate": {"k": K1}, "orders": {"A": 1}},
                              {"equation": "B => C", "rate": {"k": K2}}]
    return {
        "name": "two-step",
        "mechanism": {"species": [{"name": s} for s in "ABCI"], "reactions": reactions},
        "feeds": [{"name": "f", "flow": "1 mL/min", "T": "25 degC",
                   "conc": {"A": "1 mol/L", "C": f"{feed_C} mol/L"}}],
        "operations": [{"name": "R1", "type": reactor, "from": "f", "volume": "2.5 mL"}],
        "product": {"from": "R1", "species": "C", "basis": "A"},
        "solver": {"rtol": 1e-10, "atol": 1e-12},
    }


def pfr_closed_form(tau):
    """Per reaction event r1 = k1 c_A takes 2 A: dc_A/dt = -2 k1 c_A,
    dc_B/dt = k1 c_A - k2 c_B; C from the A balance c_A + 2 c_B + 2 c_C = c_A0."""
    a = CA0 * math.exp(-2 * K1 * tau)
    b = K1 * CA0 / (K2 - 2 * K1) * (math.exp(-2 * K1 * tau) - math.exp(-K2 * tau))
    return a, b, (CA0 - a) / 2 - b


def cstr_closed_form(tau):
    a = CA0 / (1 + 2 * K1 * tau)
    b = K1 * tau * a / (1 + K2 * tau)
    return a, b, K2 * tau * b


def test_pfr_two_step_yield():
    d = fc.Route.from_dict(two_step_route()).run().to_dict()
    a, b, c = pfr_closed_form(TAU)
    conc = d["streams"]["R1"]["conc_mol_per_m3"]
    assert conc["A"] == pytest.approx(a, rel=1e-7)         # the rate counts reaction events
    assert conc["C"] == pytest.approx(c, rel=1e-7)
    p = d["product"]
    assert p["stoichiometric_factor"] == 2.0
    assert p["yield"] == pytest.approx(2 * c / CA0, rel=1e-6)
    assert p["conversion"] == pytest.approx(1 - a / CA0, rel=1e-7)
    assert p["selectivity"] == pytest.approx(2 * c / (CA0 - a), rel=1e-6)
    r1 = p["per_reactor"]["R1"]
    assert r1["yield_contribution"] == pytest.approx(2 * c / CA0, rel=1e-6)
    assert r1["selectivity"] == pytest.approx(2 * c / (CA0 - a), rel=1e-6)


def test_pfr_two_step_yield_through_the_command_line(tmp_path):
    path = tmp_path / "route.yaml"
    path.write_text(json.dumps(two_step_route()))
    out = tmp_path / "res.json"
    assert main(["run", str(path), "--json", str(out), "--quiet"]) == 0
    p = json.loads(out.read_text())["product"]
    assert p["yield"] == pytest.approx(2 * pfr_closed_form(TAU)[2] / CA0, rel=1e-6)


def test_cstr_two_step_yield():
    d = fc.Route.from_dict(two_step_route("cstr")).run().to_dict()
    a, b, c = cstr_closed_form(TAU)
    assert d["streams"]["R1"]["conc_mol_per_m3"]["C"] == pytest.approx(c, rel=1e-8)
    assert d["product"]["yield"] == pytest.approx(2 * c / CA0, rel=1e-8)
    assert d["product"]["per_reactor"]["R1"]["yield_contribution"] == pytest.approx(2 * c / CA0, rel=1e-8)


def test_product_also_fed():
    """C fed at 0.1 mol/L is inert here: the yield counts only what is made,
    (F_C,out - F_C,in) * 2 / F_A,in."""
    d = fc.Route.from_dict(two_step_route(feed_C=0.1)).run().to_dict()
    a, b, c = pfr_closed_form(TAU)
    assert d["streams"]["R1"]["conc_mol_per_m3"]["C"] == pytest.approx(100.0 + c, rel=1e-7)
    assert d["product"]["yield"] == pytest.approx(2 * c / CA0, rel=1e-6)


def test_reversible_first_step_in_a_cstr():
    """2 A <=> I (forward k1 c_A, reverse kr c_I), I => C: linear steady state
    a0 - a - 2 tau (k1 a - kr i) = 0, i (1 + tau (kr + k2)) = tau k1 a, c = tau k2 i."""
    kr = 0.003
    route = two_step_route("cstr", equations=[
        {"equation": "2 A <=> I", "rate": {"k": K1}, "orders": {"A": 1}, "reverse": {"k": kr}},
        {"equation": "I => C", "rate": {"k": K2}}])
    d = fc.Route.from_dict(route).run().to_dict()
    g = TAU * K1 / (1 + TAU * (kr + K2))
    a = CA0 / (1 + 2 * TAU * K1 - 2 * TAU * kr * g)
    c = TAU * K2 * g * a
    assert d["product"]["stoichiometric_factor"] == 2.0
    assert d["product"]["yield"] == pytest.approx(2 * c / CA0, rel=1e-8)


def test_factor_computed_once_per_load(monkeypatch):
    """The factor is fixed when the route is loaded: runs do not solve the
    linear programme again."""
    route = fc.Route.from_dict(two_step_route("cstr"))
    assert route.product["stoichiometric_factor"] == 2.0

    def fail(*args, **kwargs):
        raise AssertionError("the factor was recomputed")

    monkeypatch.setattr("flowchem.process.kpis.stoichiometric_factor", fail)
    assert route.run().product["stoichiometric_factor"] == 2.0


def test_lomustine_factor_is_one():
    """CHA + CEI => UREA, UREA + TBN <=> ADDUCT, ADDUCT => CCNU + TBUOH: one
    amine per lomustine, as the old direct-link rule also happened to give
    (it fell back to 1)."""
    from pathlib import Path

    route = fc.load_route(Path(__file__).parents[1] / "examples" / "lomustine" / "route.yaml")
    assert route.product["stoichiometric_factor"] == pytest.approx(1.0, rel=1e-12)


# -- refusals through the route and the command line -------------------------

NO_PATH = [
    ([{"equation": "A => B", "rate": {"k": 0.01}}, {"equation": "B => I", "rate": {"k": 0.01}}],
     "product.species", "no combination of the mechanism's reactions makes 'C' from the basis 'A'"),
    ([{"equation": "A => C", "rate": {"k": 0.01}}, {"equation": "B => C", "rate": {"k": 0.01}}],
     "product.basis", "the mechanism makes 'C' without consuming the basis 'A' (from B)"),
]


@pytest.mark.parametrize("equations,location,problem", NO_PATH)
def test_no_path_route_refused(tmp_path, capsys, equations, location, problem):
    route = two_step_route(equations=equations)
    with pytest.raises(InputError) as err:
        fc.Route.from_dict(copy.deepcopy(route), source="r.yaml")
    assert (err.value.source, err.value.location) == ("r.yaml", location)
    assert err.value.problem.startswith(problem)
    path = tmp_path / "route.yaml"
    path.write_text(json.dumps(route))
    assert main(["run", str(path), "--json", str(tmp_path / "out.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"flowchem: {path}: {location}: {problem}"), err
    assert not (tmp_path / "out.json").exists()


# -- sizing ------------------------------------------------------------------

def test_size_yield_two_step_pfr_command(tmp_path, capsys):
    """`flowchem size --yield C=0.5 --basis A`: the residence time where
    2 c_C(tau)/c_A0 = 0.5 in the closed form."""
    path = tmp_path / "route.yaml"
    path.write_text(json.dumps(two_step_route()))
    out = tmp_path / "size.json"
    assert main(["size", str(path), "-o", "R1", "--yield", "C=0.5", "--basis", "A",
                 "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    tau = brentq(lambda t: 2 * pfr_closed_form(t)[2] / CA0 - 0.5, 1.0, 1e4, xtol=1e-12, rtol=1e-14)
    assert d["residence_time_s"] == pytest.approx(tau, rel=1e-6)
    assert d["volume_m3"] == pytest.approx(tau * 1e-6 / 60, rel=1e-6)
    assert d["achieved"] == pytest.approx(0.5, abs=1e-7)


def test_size_yield_two_step_cstr_python():
    feed_route = fc.Route.from_dict(two_step_route("cstr"))
    feed = feed_route.feeds["f"]
    res = fc.size_reactor(feed, "cstr", yield_=("C", 0.4), basis="A",
                          options=fc.SolverOptions(rtol=1e-10, atol=1e-12))
    tau = brentq(lambda t: 2 * cstr_closed_form(t)[2] / CA0 - 0.4, 1.0, 1e4, xtol=1e-12, rtol=1e-14)
    assert res.residence_time == pytest.approx(tau, rel=1e-6)


def test_size_yield_without_path_refused():
    mech = mechanism("ABC", ["A => B"])
    feed = fc.Stream(mech, flow="1 mL/min", T=300.0, conc={"A": "1 mol/L"})
    with pytest.raises(InputError, match="no combination of the mechanism's reactions makes 'C'"):
        fc.size_reactor(feed, "pfr", yield_=("C", 0.5), basis="A")


@pytest.mark.parametrize("equation,shown", [("1e300 A => P", "-1e+300"), ("A => 1e-12 P", "1e-12")])
def test_unresolvable_coefficients_refused(equation, shown):
    """Coefficients the linear programme cannot resolve are refused by name,
    not reported as a missing path or a wrong factor."""
    mech = fc.Mechanism(species=["A", "P"], reactions=[fc.Reaction.from_equation(equation, rate={"k": 1.0})])
    with pytest.raises(InputError, match=f"coefficient {re.escape(shown)} of '(A|P)' in '{re.escape(equation)}' is outside"):
        stoichiometric_factor(mech, "A", "P")


def test_large_but_resolvable_coefficients():
    """1e5 A make one P through an intermediate: the factor is 1e5 * 2."""
    mech = mechanism("AIP", ["1e5 A => I", "I => 0.5 P"])
    assert stoichiometric_factor(mech, "A", "P") == pytest.approx(2e5, rel=1e-9)
