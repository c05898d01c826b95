"""Sizing against closed forms: first-order PFR, CSTR and N tanks; the
yield maximum of A -> B -> C (PFR and CSTR) and an equilibrium limit as
refusals; the command line."""

import json
import math

import pytest

import flowchem as fc
from flowchem.cli import main
from flowchem.process.sizing import TargetUnreachableError, size_reactor

K1, K2 = 0.01, 0.002


@pytest.fixture(scope="module")
def consecutive():
    mech = fc.Mechanism(species=[fc.Species(s) for s in "ABC"],
                        reactions=[fc.Reaction.from_equation("A => B", rate={"k": K1}),
                                   fc.Reaction.from_equation("B => C", rate={"k": K2})])
    return fc.Stream(mech, flow="1 mL/min", T=300.0, conc={"A": "1 mol/L"})


def test_first_order_sizes(consecutive):
    feed = consecutive
    Q = 1e-6 / 60
    pfr = size_reactor(feed, "pfr", conversion=("A", 0.95), diameter="1 mm")
    assert pfr.residence_time == pytest.approx(-math.log(0.05) / K1, rel=1e-8)
    assert pfr.volume == pytest.approx(pfr.residence_time * Q, rel=1e-12)
    assert pfr.length == pytest.approx(pfr.volume / (math.pi * 0.25e-6), rel=1e-12)
    assert pfr.achieved == pytest.approx(0.95, abs=1e-9)
    # Hagen-Poiseuille over the sized length at the default viscosity 0.6 mPa s
    assert pfr.to_dict()["pressure_drop_Pa"] == pytest.approx(
        128 * 0.6e-3 * pfr.length * Q / (math.pi * 1e-3 ** 4), rel=1e-10)
    cstr = size_reactor(feed, "cstr", conversion=("A", 0.95))
    assert cstr.residence_time == pytest.approx(0.95 / (0.05 * K1), rel=1e-8)   # X/(k(1-X))
    cascade = size_reactor(feed, "cstr_cascade", n=3, conversion=("A", 0.95))
    assert cascade.residence_time == pytest.approx(3 * (0.05 ** (-1 / 3) - 1) / K1, rel=1e-8)


def test_yield_target_and_refusals(consecutive):
    feed = consecutive
    res = size_reactor(feed, "pfr", yield_=("B", 0.6), basis="A")
    t = res.residence_time
    assert K1 / (K2 - K1) * (math.exp(-K1 * t) - math.exp(-K2 * t)) == pytest.approx(0.6, abs=1e-9)
    # PFR: B peaks at t* = ln(k2/k1)/(k2-k1) at (k1/k2)^(k2/(k2-k1))
    with pytest.raises(TargetUnreachableError) as err:
        size_reactor(feed, "pfr", yield_=("B", 0.9), basis="A")
    best = (K1 / K2) ** (K2 / (K2 - K1))
    assert f"{best:.4g}" in str(err.value) and f"{math.log(K2 / K1) / (K2 - K1):.4g}" in str(err.value)
    # CSTR: B peaks at tau* = 1/sqrt(k1 k2)
    with pytest.raises(TargetUnreachableError) as err:
        size_reactor(feed, "cstr", yield_=("B", 0.9), basis="A")
    tau = 1 / math.sqrt(K1 * K2)
    best = K1 * tau / ((1 + K1 * tau) * (1 + K2 * tau))
    assert f"{best:.4g}" in str(err.value)


def test_equilibrium_limit_refused():
    mech = fc.Mechanism(species=[fc.Species("A"), fc.Species("B")],
                        reactions=[fc.Reaction.from_equation("A <=> B", rate={"k": 0.01},
                                                             equilibrium={"K_ref": 3.0})])
    feed = fc.Stream(mech, flow="1 mL/min", T=300.0, conc={"A": "1 mol/L"})
    for kind in ("pfr", "cstr"):
        with pytest.raises(TargetUnreachableError, match="the best is 0.75 "):
            size_reactor(feed, kind, conversion=("A", 0.8))   # X_eq = K/(1+K)


def test_size_command(tmp_path, capsys):
    route = tmp_path / "route.yaml"
    route.write_text("""
mechanism:
  species: [{name: A}, {name: B}]
  reactions: [{equation: A => B, rate: {k: 0.01}}]
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations: [{name: R1, type: pfr, from: f, length: 1 m, diameter: 1 mm}]
""")
    out = tmp_path / "size.json"
    assert main(["size", str(route), "-o", "R1", "--conversion", "A=0.9", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["residence_time_s"] == pytest.approx(-math.log(0.1) / 0.01, rel=1e-8)
    assert d["length_m"] == pytest.approx(d["volume_m3"] / (math.pi * 0.25e-6), rel=1e-12)
    capsys.readouterr()
    assert main(["size", str(route), "-o", "R1", "--conversion", "A=1.5"]) == 2
    assert capsys.readouterr().err == (f"flowchem: {route}: operation R1: the target must lie between "
                                       "0 and 1, got 1.5\n")
    assert main(["size", str(route), "-o", "R9", "--conversion", "A=0.5"]) == 2
    assert capsys.readouterr().err == f"flowchem: {route}: --operation: 'R9' is not a reactor of this route\n"
