"""flowchem.chemistry.mechanism / formula / yamlio against hand computations and Cantera."""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from flowchem.core.errors import InputError
from flowchem.core.formula import molar_mass, parse_formula, parse_formula_charge
from flowchem.chemistry.mechanism import (
    Equilibrium,
    MassBalanceWarning,
    Mechanism,
    RateLaw,
    Reaction,
    Species,
    load_mechanism,
    parse_equation,
)
from flowchem.core.yamlio import load_yaml_text, read_yaml
from kernels.kinetics import production_rates, rate_constants, rates_of_progress

DATA = Path(__file__).parent / "data"
R = 8.314462618  # J/(mol K), CODATA 2018 exact
REL = 1e-12


def mech_from_text(text, source="t.yaml"):
    return Mechanism.from_dict(load_yaml_text(text, source), source=source)


def error_of(text, source="t.yaml"):
    with pytest.raises(InputError) as err:
        mech_from_text(text, source)
    return err.value


# --------------------------------------------------------------------------- formula

def test_lomustine_molar_mass():
    # C9H16ClN3O2, 233.70 g/mol (PubChem 233.69)
    assert molar_mass(parse_formula("C9H16ClN3O2")) * 1e3 == pytest.approx(233.70, abs=0.01)
    # hand sum of IUPAC conventional weights
    hand = 9 * 12.011 + 16 * 1.008 + 35.45 + 3 * 14.007 + 2 * 15.999
    assert molar_mass(parse_formula("C9H16ClN3O2")) == pytest.approx(hand * 1e-3, rel=1e-14)


@pytest.mark.parametrize(
    "text, counts",
    [
        ("C6H13N", {"C": 6, "H": 13, "N": 1}),
        ("Ca(OH)2", {"Ca": 1, "O": 2, "H": 2}),
        ("CH3(CH2)4CH3", {"C": 6, "H": 14}),
        ("CuSO4.5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
        ("[Pd(PPh3)2]", None),
        ("Pd(P(C6H5)3)4", {"Pd": 1, "P": 4, "C": 72, "H": 60}),
        ("CO", {"C": 1, "O": 1}),
        ("Co", {"Co": 1}),
    ],
)
def test_parse_formula(text, counts):
    if counts is None:
        with pytest.raises(InputError, match="unknown element 'Ph'"):
            parse_formula(text)
    else:
        assert parse_formula(text) == counts


def test_formula_masses_of_reference_compounds():
    assert molar_mass(parse_formula("H2O")) * 1e3 == pytest.approx(18.015, abs=1e-3)
    assert molar_mass(parse_formula("Ca(OH)2")) * 1e3 == pytest.approx(74.092, abs=1e-3)
    assert molar_mass(parse_formula("C6H13N")) * 1e3 == pytest.approx(99.177, abs=1e-3)  # cyclohexylamine


def test_charged_formulas():
    assert parse_formula_charge("NO+") == ({"N": 1, "O": 1}, 1)
    assert parse_formula_charge("SO4^2-") == ({"S": 1, "O": 4}, -2)
    assert parse_formula_charge("[Cu(NH3)4]2+") == ({"Cu": 1, "N": 4, "H": 12}, 2)
    with pytest.raises(InputError, match="charged"):
        parse_formula("NO+")
    with pytest.raises(InputError, match="ambiguous"):
        parse_formula_charge("Fe3+")


@pytest.mark.parametrize("bad, msg", [
    ("C6H13n", "unexpected 'n'"), ("Xx2", "unknown element 'Xx'"), ("Ca(OH2", "missing ')'"),
    ("CaOH)2", "unbalanced ')'"), ("C 6", "spaces"), ("C0", "zero element count"), ("", "expected a chemical formula"),
])
def test_bad_formulas(bad, msg):
    with pytest.raises(InputError, match=re_escape(msg)):
        parse_formula(bad)


def re_escape(s):
    import re
    return re.escape(s)


# --------------------------------------------------------------------------- yaml 1.2

def test_yaml_12_norway_and_floats(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("species:\n  - {name: NO, formula: NO}\n  - {name: ON, formula: NO}\n  - {name: yes}\n"
                 "  - {name: N2O2, formula: N2O2}\n"
                 "reactions:\n  - {equation: NO + ON => N2O2, rate: {k: 2.0e6}}\n")
    mech = Mechanism.from_yaml(p)
    assert mech.species_names == ["NO", "ON", "yes", "N2O2"]
    assert math.exp(mech.reactions[0].rate.lnA) == pytest.approx(2.0e6, rel=1e-14)
    data, source = read_yaml(p)
    assert source == str(p)
    assert isinstance(data["reactions"][0]["rate"]["k"], float)


def test_yaml_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("species:\n  - {name: A\nreactions: []\n")
    with pytest.raises(InputError) as err:
        read_yaml(p)
    assert err.value.source == str(p) and err.value.location.startswith("line ")
    with pytest.raises(InputError) as err:
        read_yaml(tmp_path / "missing.yaml")
    assert str(err.value) == f"{tmp_path / 'missing.yaml'}: file not found"
    p.write_text("species: [{name: A, name: B}]\n")
    with pytest.raises(InputError, match="duplicate key"):
        read_yaml(p)


# --------------------------------------------------------------------------- DESIGN example

@pytest.fixture
def design():
    return load_mechanism(DATA / "design_mechanism.yaml")


def test_design_example_parses(design):
    m = design
    assert m.species_names == ["A", "B", "S", "C", "D", "E"]
    assert m.source == str(DATA / "design_mechanism.yaml")
    mm = m.molar_masses
    assert mm[0] == pytest.approx((6 * 12.011 + 13 * 1.008 + 14.007) * 1e-3, rel=1e-14)
    assert mm[1] == pytest.approx(0.1055, rel=1e-14)
    assert np.isnan(mm[2:]).all()
    r0, r1, r2 = m.reactions
    # A + B => C: A = 2.0e6 L/(mol min) = 2e6 * 1e-3 / 60 m^3/(mol s); Ea 45 kJ/mol
    assert math.exp(r0.rate.lnA) == pytest.approx(2.0e6 * 1e-3 / 60, rel=REL)
    assert r0.rate.b == 0 and r0.rate.Ea_over_R == pytest.approx(45000 / R, rel=REL)
    assert r0.dH == pytest.approx(-85000.0, rel=REL) and not r0.reversible
    # C <=> D: k(T) = 0.02/min * exp(-70e3/R (1/T - 1/333.15))
    for T in (300.0, 333.15, 350.0):
        k_hand = 0.02 / 60 * math.exp(-70e3 / R * (1 / T - 1 / 333.15))
        assert r1.kf(T) == pytest.approx(k_hand, rel=REL)
        K_hand = 4.0 * math.exp(20e3 / R * (1 / T - 1 / 333.15))  # dimensionless (delta order 0)
        assert r1.equilibrium.K(T) == pytest.approx(K_hand, rel=REL)
        assert r1.kr(T) == pytest.approx(k_hand / K_hand, rel=REL)
    assert r1.dH == pytest.approx(-20000.0)  # taken from the equilibrium
    # 2 A => E, order 1.5: k = 0.5 (L/mol)^0.5 / min
    assert r2.orders == {"A": 1.5}
    assert r2.kf(400.0) == pytest.approx(0.5 * 1e-3 ** 0.5 / 60, rel=REL)
    assert r2.net_stoichiometry() == {"A": -2.0, "E": 1.0}


def test_compile_matches_hand_built_arrays(design):
    c = design.compile()
    # species order A B S C D E = 0 1 2 3 4 5
    expected_model = [
        [0, 2, 3, 4], [0, 1, 3, 0], [1.0, 1.0, 1.0, 1.5],          # forward orders
        [0, 0, 1, 1], [4], [1.0],                                  # reverse orders (C <=> D only)
        [0, 3, 5, 7], [0, 1, 3, 3, 4, 0, 5], [-1, -1, 1, -1, 1, -2, 1],  # net stoichiometry
    ]
    assert len(c.model) == 9
    for arr, exp in zip(c.model, expected_model):
        assert arr.flags.c_contiguous
        np.testing.assert_array_equal(arr, exp)
    for i in (0, 1, 3, 4, 6, 7):
        assert c.model[i].dtype == np.int64
    for i in (2, 5, 8):
        assert c.model[i].dtype == np.float64
    rev_kind, fwd, rev = c.rate_params
    assert rev_kind.dtype == np.int64 and fwd.dtype == rev.dtype == np.float64
    np.testing.assert_array_equal(rev_kind, [0, 2, 0])
    np.testing.assert_allclose(fwd[0], [math.log(2e6 * 1e-3 / 60), 0, 45000 / R], rtol=REL)
    np.testing.assert_allclose(fwd[1], [math.log(0.02 / 60) + 70e3 / R / 333.15, 0, 70e3 / R], rtol=REL)
    np.testing.assert_allclose(fwd[2], [math.log(0.5 * 1e-3 ** 0.5 / 60), 0, 0], rtol=REL)
    np.testing.assert_allclose(rev[1], [math.log(4.0), 1 / 333.15, -20e3 / R], rtol=REL)
    np.testing.assert_array_equal(rev[[0, 2]], 0.0)
    np.testing.assert_array_equal(c.delta_H, [-85000.0, -20000.0, 0.0])
    assert (c.n_species, c.n_reactions) == (6, 3)
    assert c.species_names == ("A", "B", "S", "C", "D", "E")


def test_compiled_rates_against_hand_rates(design):
    c = design.compile()
    T = 320.0
    conc = np.array([800.0, 900.0, 5.0, 300.0, 50.0, 1.0])
    kf = np.zeros(3); kr = np.zeros(3); q = np.zeros(3); wdot = np.zeros(6)
    rate_constants(T, c.rate_params, kf, kr)
    production_rates(conc, c.model, kf, kr, q, wdot)
    r = design.reactions
    q_hand = [r[0].kf(T) * 800 * 900,
              r[1].kf(T) * 300 - r[1].kr(T) * 50,
              r[2].kf(T) * 800 ** 1.5]
    np.testing.assert_allclose(q, q_hand, rtol=1e-13)
    w_hand = [-q_hand[0] - 2 * q_hand[2], -q_hand[0], 0.0, q_hand[0] - q_hand[1], q_hand[1], q_hand[2]]
    np.testing.assert_allclose(wdot, w_hand, rtol=1e-13, atol=0)


# --------------------------------------------------------------------------- python API

def test_python_construction_equals_yaml():
    mech = Mechanism(
        species=[Species("A", formula="C6H13N"), Species("B", molar_mass="105.5 g/mol"), Species("C")],
        reactions=[Reaction.from_equation("A + B => C", rate={"A": 2e6 * 1e-3 / 60, "Ea": "45 kJ/mol"},
                                          dH="-85 kJ/mol")],
    )
    r = mech.reactions[0]
    assert math.exp(r.rate.lnA) == pytest.approx(2e6 * 1e-3 / 60, rel=REL)
    assert r.rate.Ea_over_R == pytest.approx(45000 / R, rel=REL)
    assert r.dH == -85000.0
    assert mech.species_index("B") == 1
    with pytest.raises(InputError, match="unknown species 'Z'"):
        mech.species_index("Z")
    # units argument and objects
    r2 = Reaction.from_equation("A => C", rate={"k": 3}, units={"time": "min"})
    assert r2.kf(300) == pytest.approx(0.05, rel=REL)
    r3 = Reaction({"A": 1}, {"C": 1}, False, RateLaw.arrhenius(10.0, 0.5, 1000.0))
    assert r3.kf(400.0) == pytest.approx(10 * 400 ** 0.5 * math.exp(-1000 / (R * 400)), rel=REL)
    assert r3.equation == "A => C"


def test_python_errors_locate_in_python():
    with pytest.raises(InputError) as err:
        Mechanism([Species("A"), Species("A")], [])
    assert str(err.value) == "<python>: species[1].name: duplicate species name 'A' (also species[0])"
    with pytest.raises(InputError) as err:
        Reaction.from_equation("A => B", rate={"k": -1})
    assert err.value.location == "Reaction('A => B').rate.k"


def test_equilibrium_units_follow_delta_order():
    # A <=> B + C: forward order 1, reverse order 2: K in concentration^1
    mech = mech_from_text("""
units: {concentration: mol/L}
species: [{name: A}, {name: B}, {name: C}]
reactions:
  - equation: A <=> B + C
    rate: {k: 0.1}
    equilibrium: {K_ref: 0.5, T_ref: 300 K, dH: 10 kJ/mol}
  - equation: B + C <=> A
    rate: {k: 0.1}
    equilibrium: {K_ref: 2 L/mol}
  - equation: A = B + C
    rate: {k: 1}
    reverse: {k: 3}
""")
    e0 = mech.reactions[0].equilibrium
    assert math.exp(e0.lnK_ref) == pytest.approx(500.0, rel=REL)  # 0.5 mol/L
    assert e0.dH_over_R == pytest.approx(10e3 / R, rel=REL)
    e1 = mech.reactions[1].equilibrium
    assert math.exp(e1.lnK_ref) == pytest.approx(2e-3, rel=REL) and e1.T_ref == 298.15
    # reverse rate of 'A = B + C' has order 2: 3 L/(mol s) in block units
    r2 = mech.reactions[2]
    assert r2.reversible and r2.kr(300.0) == pytest.approx(3e-3, rel=REL)
    c = mech.compile()
    np.testing.assert_array_equal(c.rate_params[0], [2, 2, 1])


def test_catalyst_both_sides_and_repeated_species():
    mech = mech_from_text("""
species: [{name: A, formula: C2H4}, {name: Cat, formula: Pd}, {name: B, formula: C4H8}]
reactions:
  - {equation: A + A + Cat => B + Cat, rate: {k: 1.0}}
""")
    r = mech.reactions[0]
    assert r.reactants == {"A": 2.0, "Cat": 1.0}
    assert r.orders == {"A": 2.0, "Cat": 1.0}
    assert r.net_stoichiometry() == {"A": -2.0, "B": 1.0}
    c = mech.compile()
    np.testing.assert_array_equal(c.model[7], [0, 2])  # Cat has no net entry
    np.testing.assert_array_equal(c.model[8], [-2.0, 1.0])


def test_orders_override_and_zero_order():
    mech = mech_from_text("""
species: [{name: A}, {name: B}, {name: C}]
reactions:
  - {equation: A + B => C, rate: {k: 1.0}, orders: {A: 0.5, B: 0}}
""")
    assert mech.reactions[0].orders == {"A": 0.5, "B": 0.0}
    c = mech.compile()
    np.testing.assert_array_equal(c.model[1], [0])   # zero order dropped from the row
    np.testing.assert_array_equal(c.model[2], [0.5])


def test_element_balance_refused():
    e = error_of("""
species: [{name: A, formula: C6H13N}, {name: B, formula: CH4}, {name: C, formula: C8H17N}]
reactions:
  - {equation: A => B, rate: {k: 1}}
  - {equation: A + B => A, rate: {k: 1}}
  - {equation: A + B => C, rate: {k: 1}}
""")
    assert e.source == "t.yaml"
    assert e.location == "reactions[0]"
    assert e.problem == "elements do not balance in 'A => B': C: 6 -> 1, H: 13 -> 4, N: 1 -> 0"


def test_element_balance_mismatch_one_element():
    e = error_of("""
species: [{name: A, formula: C6H13N}, {name: C, formula: C7H13N}]
reactions: [{equation: A => C, rate: {k: 1}}]
""")
    assert str(e) == "t.yaml: reactions[0]: elements do not balance in 'A => C': C: 6 -> 7"


def test_charge_balance():
    mech = mech_from_text("""
species: [{name: HNO2, formula: HNO2}, {name: H+, formula: H+}, {name: NO+, formula: NO+}, {name: H2O, formula: H2O}]
reactions: [{equation: HNO2 + H+ => NO+ + H2O, rate: {k: 1}}]
""")
    assert mech.species[2].charge == 1
    e = error_of("""
species: [{name: HNO2, formula: HNO2}, {name: H, formula: H}, {name: NO+, formula: NO+}, {name: H2O, formula: H2O}]
reactions: [{equation: HNO2 + H => NO+ + H2O, rate: {k: 1}}]
""")
    assert "charge: 0 -> 1" in e.problem


def test_species_without_formula_not_checked_and_mass_warning():
    mech = mech_from_text("""
species: [{name: A, formula: C6H13N}, {name: S}]
reactions: [{equation: A => S, rate: {k: 1}}]
""")
    assert mech.n_reactions == 1
    with pytest.warns(MassBalanceWarning, match="mass does not balance"):
        mech_from_text("""
species: [{name: A, formula: C6H13N}, {name: P, molar_mass: 120 g/mol}]
reactions: [{equation: A => P, rate: {k: 1}}]
""")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mech_from_text("""
species: [{name: A, formula: C6H13N}, {name: P, molar_mass: 99.18 g/mol}]
reactions: [{equation: A => P, rate: {k: 1}}]
""")


def test_element_matrix():
    mech = Mechanism([Species("A", formula="C2H6O"), Species("S"), Species("B", formula="H2O")])
    assert mech.elements == ["C", "H", "O"]
    M = mech.element_matrix
    np.testing.assert_array_equal(M[:, 0], [2, 6, 1])
    assert np.isnan(M[:, 1]).all()
    np.testing.assert_array_equal(M[:, 2], [0, 2, 1])


@pytest.mark.parametrize("eq, reactants, products, rev", [
    ("A + B => C", {"A": 1, "B": 1}, {"C": 1}, False),
    ("2 A <=> B", {"A": 2}, {"B": 1}, True),
    ("0.5 O2 + H2 = H2O", {"O2": 0.5, "H2": 1}, {"H2O": 1}, True),
    ("NO+ + Cl- => NOCl", {"NO+": 1, "Cl-": 1}, {"NOCl": 1}, False),
    ("CH2(S) + 1,3-diene=>P", {"CH2(S)": 1, "1,3-diene": 1}, {"P": 1}, False),
])
def test_parse_equation(eq, reactants, products, rev):
    assert parse_equation(eq) == (reactants, products, rev)


# --------------------------------------------------------------------------- bad inputs

BASE_SPECIES = "species: [{name: A, formula: C2H4}, {name: B, formula: C4H8}, {name: S}]\n"

BAD = [
    # (yaml after species, location, fragment of problem)
    ("reactions: [{equation: A => X, rate: {k: 1}}]", "reactions[0].equation", "unknown species 'X'"),
    ("reactions: [{equation: 2 A => B, rate: {k: 1}}, {equation: A => B, rate: {k: 1}}]",
     "reactions[1]", "elements do not balance"),
    ("reactions: [{equation: 2 A => B, rate: {A: 1, Ea: -5}}]", "reactions[0].rate.Ea", "must not be negative"),
    ("reactions: [{equation: 2 A => B, rate: {A: -1}}]", "reactions[0].rate.A", "must not be negative"),
    ("reactions: [{equation: 2 A => B, rate: {k: -1e-300}}]", "reactions[0].rate.k", "must not be negative"),
    ("reactions: [{equation: 2 A => B, rate: {k_ref: -2, T_ref: 300}}]", "reactions[0].rate.k_ref",
     "must not be negative"),
    ("reactions: [{equation: 2 A <=> B, rate: {k: 1}, reverse: {A: -0.5}}]", "reactions[0].reverse.A",
     "must not be negative"),
    ("reactions: [{equation: 2 A => B, rate: {b: 1, Ea: 5}}]", "reactions[0].rate", "missing rate constant"),
    ("reactions: [{equation: 2 A => B, rate: {A: 1, k: 2}}]", "reactions[0].rate", "exactly one of A, k_ref or k"),
    ("reactions: [{equation: 2 A => B, rate: {k: 1, Ea: 2}}]", "reactions[0].rate.Ea", "does not belong"),
    ("reactions: [{equation: 2 A => B, rate: {A: 1, Eа: 2}}]", "reactions[0].rate.Eа", "unknown key"),
    ("reactions: [{equation: 2 A => B, rate: {k_ref: 1, Ea: 2}}]", "reactions[0].rate", "missing T_ref"),
    ("reactions: [{equation: 2 A => B, rate: {k: 1 1/s}}]", "reactions[0].rate.k", "expected a rate constant"),
    ("reactions: [{equation: 2 A => B, rate: {k: 1}, orders: {B: 1}}]", "reactions[0].orders.B", "not a reactant"),
    ("reactions: [{equation: 2 A => B, rate: {k: 1}, orders: {A: -1}}]", "reactions[0].orders.A", "must not be negative"),
    ("reactions: [{equation: 2 A <=> B, rate: {k: 1}}]", "reactions[0]", "needs 'equilibrium' or 'reverse'"),
    ("reactions: [{equation: 2 A => B, rate: {k: 1}, reverse: {k: 1}}]", "reactions[0].reverse", "takes no 'reverse'"),
    ("reactions: [{equation: 2 A <=> B, rate: {k: 1}, reverse: {k: 1}, equilibrium: {K_ref: 1}}]",
     "reactions[0]", "either 'equilibrium' or 'reverse'"),
    ("reactions: [{equation: 2 A <=> B, rate: {k: 1}, equilibrium: {K_ref: 1, dH: -5 kJ/mol}}]",
     "reactions[0].equilibrium", "missing T_ref"),
    ("reactions: [{equation: 2 A <=> B, rate: {k: 1}, equilibrium: {K_ref: 0}}]",
     "reactions[0].equilibrium.K_ref", "must be positive"),
    ("reactions: [{equation: 2 A <=> B, rate: {k: 1}, equilibrium: {K: 1}}]", "reactions[0].equilibrium.K", "unknown key"),
    ("reactions: [{equation: 2 A => B, rat: {k: 1}}]", "reactions[0].rat", "did you mean 'rate'"),
    ("reactions: [{equation: 2 A => B}]", "reactions[0]", "missing required key 'rate'"),
    ("reactions: [{equation: 2 A => B, rate: {k: 1}, dH: 5 kJ}]", "reactions[0].dH", "expected an energy per mole"),
    ("reactions: [A => B]", "reactions[0]", "expected a reaction mapping"),
    ("reactions: {equation: A => B}", "reactions", "expected a list of reactions"),
    ("reactions: [{equation: A <= B, rate: {k: 1}}]", "reactions[0].equation", "'<=' is not supported"),
    ("reactions: [{equation: A + => B, rate: {k: 1}}]", "reactions[0].equation", "missing species"),
    ("reactions: [{equation: A B, rate: {k: 1}}]", "reactions[0].equation", "exactly one of"),
    ("reactions: [{equation: 2A => B, rate: {k: 1}}]", "reactions[0].equation", "unknown species '2A' in '2A => B'; write '2 A'"),
    ("reactions: [{equation: A + 0 B => B, rate: {k: 1}}]", "reactions[0].equation", "must be positive"),
    ("reactions: [{equation: A => S, rate: {k: .nan}}]", "reactions[0].rate.k", "finite"),
    ("reactions: [{equation: A => S, rate: {k: true}}]", "reactions[0].rate.k", "expected a number"),
    ("reaction: []", "reaction", "did you mean 'reactions'"),
]


@pytest.mark.parametrize("tail, location, fragment", BAD)
def test_bad_reaction_inputs(tail, location, fragment):
    e = error_of(BASE_SPECIES + tail)
    assert e.source == "t.yaml"
    assert e.location == location, str(e)
    assert fragment in e.problem, str(e)


BAD_SPECIES = [
    ("species: [{name: A}, {name: A}]", "species[1].name", "duplicate species name 'A'"),
    ("species: [A]", "species[0]", "expected a species mapping"),
    ("species: [{formula: CH4}]", "species[0]", "missing required key 'name'"),
    ("species: [{name: 1}]", "species[0].name", "must be a string"),
    ("species: [{name: A B}]", "species[0].name", "invalid species name"),
    ("species: [{name: A, formula: C6H13n}]", "species[0].formula", "unexpected 'n'"),
    ("species: [{name: A, formula: CH4, molar_mass: 20 g/mol}]", "species[0].molar_mass", "disagrees"),
    ("species: [{name: A, molar_mass: 5 m}]", "species[0].molar_mass", "expected a molar mass"),
    ("species: [{name: A, molar_mass: -5 g/mol}]", "species[0].molar_mass", "must be positive"),
    ("species: [{name: A, formla: CH4}]", "species[0].formla", "did you mean 'formula'"),
    ("species: []", "species", "at least one species"),
    ("units: {concentration: mol/s}\nspecies: [{name: A}]", "units.concentration", "expected a unit of"),
    ("units: {conc: mol/L}\nspecies: [{name: A}]", "units.conc", "unknown key"),
    ("reactions: []", "", "missing required key 'species'"),
]


@pytest.mark.parametrize("text, location, fragment", BAD_SPECIES)
def test_bad_species_inputs(text, location, fragment):
    e = error_of(text)
    assert e.source == "t.yaml"
    assert e.location == location, str(e)
    assert fragment in e.problem, str(e)


def test_non_mapping_file():
    with pytest.raises(InputError) as err:
        Mechanism.from_dict([1, 2], source="m.yaml")
    assert str(err.value).startswith("m.yaml: expected a mechanism mapping")


def test_inline_prefix():
    with pytest.raises(InputError) as err:
        Mechanism.from_dict(load_yaml_text("species: [{name: A}]\nreactions: [{equation: A => Q, rate: {k: 1}}]"),
                            source="route.yaml", where="mechanism")
    assert err.value.location == "mechanism.reactions[0].equation"


def test_molar_mass_plain_number_is_si_with_warning():
    with pytest.warns(UserWarning, match="did you mean '105.5 g/mol'"):
        mech = mech_from_text("species: [{name: B, molar_mass: 105.5}]")
    assert mech.molar_masses[0] == 105.5
    mech = mech_from_text("species: [{name: B, molar_mass: 0.1055}]")
    assert mech.molar_masses[0] == 0.1055


# --------------------------------------------------------------------------- Cantera

CANTERA_YAML = """
phases:
- name: gas
  thermo: ideal-gas
  elements: [H, O]
  species: [A, B, C, D, E]
  kinetics: gas
  state: {T: 300.0, P: 1 atm}
species:
- name: A
  composition: {H: 2}
  thermo: {model: constant-cp, T0: 298.15 K, h0: 0.0 kJ/mol, s0: 130.7 J/mol/K, cp0: 28.8 J/mol/K}
- name: B
  composition: {O: 1}
  thermo: {model: constant-cp, T0: 298.15 K, h0: 249.2 kJ/mol, s0: 161.1 J/mol/K, cp0: 21.9 J/mol/K}
- name: C
  composition: {H: 2, O: 1}
  thermo: {model: constant-cp, T0: 298.15 K, h0: -241.8 kJ/mol, s0: 188.8 J/mol/K, cp0: 33.6 J/mol/K}
- name: D
  composition: {H: 4, O: 2}
  thermo: {model: constant-cp, T0: 298.15 K, h0: -500.0 kJ/mol, s0: 300.0 J/mol/K, cp0: 60.0 J/mol/K}
- name: E
  composition: {O: 2}
  thermo: {model: constant-cp, T0: 298.15 K, h0: 0.0 kJ/mol, s0: 205.1 J/mol/K, cp0: 29.4 J/mol/K}
reactions:
- equation: A + B => C
  rate-constant: {A: 3.0e10, b: 0.7, Ea: 25 kJ/mol}
- equation: D => A + B + C
  rate-constant: {A: 2.0e7, b: 0.0, Ea: 40 kJ/mol}
  orders: {D: 1.5}
- equation: 2 B => E
  rate-constant: {A: 5.0e8, b: -0.3, Ea: 5 kJ/mol}
- equation: 2 C <=> D
  rate-constant: {A: 1.0e9, b: 0.2, Ea: 10 kJ/mol}
"""


@pytest.fixture(scope="module")
def cantera_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("ct") / "small.yaml"
    p.write_text(CANTERA_YAML)
    return p


def _our_rates(c, T, conc):
    m = c.n_reactions
    kf, kr, q = np.zeros(m), np.zeros(m), np.zeros(m)
    rate_constants(T, c.rate_params, kf, kr)
    rates_of_progress(conc, c.model, kf, kr, q)
    return kf, kr, q


def test_from_cantera_species(cantera_file):
    import cantera as ct
    gas = ct.Solution(str(cantera_file))
    mech = Mechanism.from_cantera(cantera_file)
    assert mech.species_names == gas.species_names
    np.testing.assert_allclose(mech.molar_masses, gas.molecular_weights * 1e-3, rtol=1e-14)
    assert mech.species[3].elements == {"H": 4.0, "O": 2.0}
    assert mech.reactions[1].orders == {"D": 1.5}


@pytest.mark.parametrize("T", [298.15, 340.0, 500.0])
def test_from_cantera_irreversible_rates_match(cantera_file, T):
    import cantera as ct
    gas = ct.Solution(str(cantera_file))
    c = Mechanism.from_cantera(cantera_file).compile()
    gas.TPX = T, 2.0e5, "A:0.3, B:0.2, C:0.3, D:0.1, E:0.1"
    kf, kr, q = _our_rates(c, T, gas.concentrations * 1e3)   # kmol/m^3 -> mol/m^3
    q_ct = gas.net_rates_of_progress * 1e3                    # kmol -> mol
    np.testing.assert_allclose(q[:3], q_ct[:3], rtol=1e-10, atol=0)
    np.testing.assert_allclose(kf, gas.forward_rate_constants * 1e3 ** (1 - np.array([2, 1.5, 2, 2])), rtol=1e-10)


def test_from_cantera_reversible_exact_at_T_ref(cantera_file):
    import cantera as ct
    gas = ct.Solution(str(cantera_file))
    T_ref = 320.0
    c = Mechanism.from_cantera(cantera_file, T_ref=T_ref).compile()
    gas.TPX = T_ref, 1.0e5, "A:0.3, B:0.2, C:0.3, D:0.1, E:0.1"
    kf, kr, q = _our_rates(c, T_ref, gas.concentrations * 1e3)
    # reverse order 1 for D: kr in 1/s, same in kmol and mol units
    assert kr[3] == pytest.approx(gas.reverse_rate_constants[3], rel=1e-10)
    assert abs(gas.net_rates_of_progress[3]) > 1e-3 * gas.forward_rates_of_progress[3]  # reverse matters
    np.testing.assert_allclose(q, gas.net_rates_of_progress * 1e3, rtol=1e-10, atol=0)
    # away from T_ref the van 't Hoff approximation drifts by O(dCp (dT)^2 / R T^2) (documented):
    T = T_ref + 10
    gas.TP = T, 1.0e5
    kf, kr, q = _our_rates(c, T, gas.concentrations * 1e3)
    assert kr[3] == pytest.approx(gas.reverse_rate_constants[3], rel=2e-3)
    # dH is Cantera's standard reaction enthalpy at T_ref
    gas.TP = T_ref, 1.0e5
    np.testing.assert_allclose(c.delta_H, gas.delta_standard_enthalpy * 1e-3, rtol=1e-12)


def test_from_cantera_refuses_three_body_and_bad_files(tmp_path):
    with pytest.raises(InputError) as err:
        Mechanism.from_cantera("h2o2.yaml").compile()  # read in full; the liquid kernel refuses it
    assert err.value.source == "h2o2.yaml"
    assert err.value.location == "reactions[0]"
    assert "three-body" in err.value.problem
    with pytest.raises(InputError) as err:
        Mechanism.from_cantera(tmp_path / "nope.yaml")
    assert err.value.source == str(tmp_path / "nope.yaml")


def test_load_mechanism_dispatches_cantera_files(cantera_file):
    mech = load_mechanism(cantera_file)
    assert mech.n_reactions == 4 and mech.source == str(cantera_file)


def test_from_dict_cantera_reference(cantera_file):
    mech = Mechanism.from_dict({"cantera": cantera_file.name}, source="route.yaml", base_dir=cantera_file.parent)
    assert mech.species_names == ["A", "B", "C", "D", "E"]


def test_rate_law_forms_are_equivalent():
    # k_ref form maps exactly onto (lnA, b, Ea/R)
    a = RateLaw.reference(0.02, 333.15, 70e3)
    b = RateLaw.arrhenius(0.02 * math.exp(70e3 / (R * 333.15)), 0.0, 70e3)
    for T in (280.0, 333.15, 400.0):
        assert a.k(T) == pytest.approx(b.k(T), rel=1e-13)
    assert a.k(333.15) == pytest.approx(0.02, rel=1e-14)
    assert Equilibrium(math.log(4.0), 333.15, -20e3 / R).K(333.15) == pytest.approx(4.0, rel=1e-14)


def test_zero_rate_constants_switch_reactions_off():
    """k = 0, A = 0, k_ref = 0 and a zero reverse rate are accepted (a
    chemist switches a reaction off; a fit bound may reach zero): the
    compiled kernel gives exactly zero for them at every temperature, and
    the other reactions keep their hand-computed constants."""
    mech = Mechanism.from_dict(load_yaml_text("""
species: [{name: A}, {name: B}, {name: C}]
reactions:
  - {equation: A => B, rate: {k: 0}}
  - {equation: A => C, rate: {A: 0, b: 1.5, Ea: 2000 kJ/mol}}
  - {equation: B => C, rate: {k_ref: 0, T_ref: 300 K, Ea: 50 kJ/mol}}
  - {equation: A <=> C, rate: {A: 2.0e3, Ea: 10 kJ/mol}, reverse: {k: 0}}
  - {equation: B <=> C, rate: {k: 0}, equilibrium: {K_ref: 1.0e-300}}
"""), source="t.yaml")
    for T in (1.0, 300.0, 1.0e4):
        kf, kr = np.zeros(5), np.zeros(5)
        rate_constants(T, mech.compile().rate_params, kf, kr)
        np.testing.assert_allclose(kf, [0, 0, 0, 2.0e3 * math.exp(-10e3 / (R * T)), 0], rtol=1e-13)
        np.testing.assert_array_equal(kr, np.zeros(5))
        assert [r.kf(T) for r in mech.reactions] == pytest.approx(list(kf), rel=1e-13)
        assert [r.kr(T) for r in mech.reactions] == [0.0] * 5
    assert [r.rate.is_zero for r in mech.reactions] == [True, True, True, False, True]
    assert RateLaw.constant(0.0).k(300.0) == 0.0 and RateLaw.arrhenius(0.0, 2.0, 1e5).k(1.0) == 0.0
    with pytest.raises(InputError, match="must be a finite number >= 0, got -1"):
        RateLaw.constant(-1.0)


def test_rate_and_equilibrium_constants_overflow_to_inf_not_an_exception():
    """exp beyond the largest double: inf (the reactors refuse it with an
    input error naming the reaction), never Python's OverflowError."""
    law = RateLaw.reference(1e300, 250.0, 2e6)
    assert law.k(250.0) == pytest.approx(1e300, rel=1e-12)
    assert law.k(450.0) == math.inf        # ln k = 690.8 + 2e6/R (1/250 - 1/450) = 1118
    # ln K = ln 1e300 - 2e6/R (1/1000 - 1/300) = 690.8 + 561.3
    assert Equilibrium(math.log(1e300), 300.0, 2e6 / R).K(1000.0) == math.inf
    r = Reaction.from_equation("A <=> B", rate={"k": 1.0},
                               equilibrium={"K_ref": 1e300, "T_ref": 300.0, "dH": "2000 kJ/mol"})
    assert r.kr(1000.0) == 0.0             # k_f / K with K = inf
    assert r.kr(300.0) == pytest.approx(1e-300, rel=1e-12)
