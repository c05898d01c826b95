"""``flowchem fit`` on the command line: a published data set fitted to its
published optimum, bad input refused in one line with nothing written, and
multi-start finding the global optimum reproducibly. References are computed
here with scipy on closed forms, or are published values."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import least_squares

import flowchem as fc
from fit_reference import write_csv
from flowchem.cli import main
from flowchem.process import estimation

DATA = Path(__file__).parent / "data"


def one_line(err):
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    return err


# ----------------------------------------------------------------------------- 7. published data

# Box, Hunter, MacGregor and Erjavec, Technometrics 15 (1973) 33, Table 3 (x 1e-5 /min)
BOX_1973_K_PER_MIN = np.array([5.93, 2.96, 2.05, 27.5, 4.00]) * 1e-5
# COPS 3.0 (Dolan, More and Munson, ANL/MCS-TM-246, 2004), problem "pinene": optimal S
COPS_S = 19.872


def test_alpha_pinene_published_optimum(tmp_path, capsys):
    """Fitted from k = 1e-4 /min for all five (a factor of up to 5 off): S to 1e-4
    relative of the COPS optimum, each k to 1 % of Box et al.'s estimate."""
    report, fitted = tmp_path / "report.json", tmp_path / "fitted.yaml"
    status = main(["fit", str(DATA / "alpha_pinene.yaml"), str(DATA / "alpha_pinene.csv"),
                   "--fit", "r1.k,r2.k,r3.k,r4.k,r5.k", "--json", str(report), "--out", str(fitted)])
    assert status == 0, capsys.readouterr().err
    rep = json.loads(report.read_text())
    assert rep["sum_of_squares"] == pytest.approx(COPS_S, rel=1e-4)
    k_per_min = np.array([rep["parameters"][f"r{i}.k"]["value"] for i in range(1, 6)]) * 60.0
    assert k_per_min == pytest.approx(BOX_1973_K_PER_MIN, rel=0.01)
    assert rep["n_observations"] == 40 and rep["degrees_of_freedom"] == 35
    # the written mechanism holds the estimates in its own units (/min), comments kept
    text = fitted.read_text()
    assert "# dimer" in text and "# Box, Hunter, MacGregor and Erjavec" in text
    back = fc.load_mechanism(fitted)
    assert [r.rate.k(462.65) * 60 for r in back.reactions] == pytest.approx(BOX_1973_K_PER_MIN, rel=0.01)


# ----------------------------------------------------------------------------- 9. bad input

MECH = """\
units: {concentration: mol/L, time: min}
species: [{name: A}, {name: B}]
reactions:
  - {equation: A => B, rate: {k: 0.05}}
"""
GOOD = """\
experiment,kind,T_degC,time_min,A_mol_per_L,B_mol_per_L
E1,batch,30,0,1.0,0
E1,batch,30,10,0.6,0.4
E1,batch,30,20,0.37,0.63
E1,batch,30,40,0.14,0.86
"""
OVERFLOW_MECH = """\
species: [{name: A}, {name: B}]
reactions:
  - {equation: A => B, rate: {A: 1.0e10, b: 200, Ea: 0}}   # T^200 overflows at any A
"""


def _edit(text, row, old, new):
    lines = text.splitlines()
    assert old in lines[row - 1]
    lines[row - 1] = lines[row - 1].replace(old, new)
    return "\n".join(lines) + "\n"


BAD_INPUTS = [
    # (data text, mechanism text, --fit, expected exit, expected stderr after "flowchem: ")
    pytest.param(GOOD.replace("\n", ",0.1\n").replace("_L,0.1", "_L,Q_mol_per_L"), MECH, "r1.k", 2,
                 "data.csv: column 'Q_mol_per_L': names no species of the mechanism (A, B)",
                 id="unknown species column"),
    pytest.param(GOOD.replace("A_mol_per_L", "A_kg"), MECH, "r1.k", 2,
                 "data.csv: column 'A_kg': unit 'kg' is not a concentration", id="wrong dimension"),
    pytest.param(GOOD.replace("time_min", "time_mol"), MECH, "r1.k", 2,
                 "data.csv: column 'time_mol': unit 'mol' is not a time", id="time unit"),
    pytest.param(GOOD, MECH, "r1.k,r1.kk", 2,
                 "mech.yaml: --fit r1.kk: unknown parameter 'r1.kk' (parameters of 'A => B': "
                 "r1.k, r1.dH, r1.order.A)", id="unknown parameter"),
    pytest.param(GOOD, MECH, "r2.k", 2,
                 "mech.yaml: --fit r2.k: unknown parameter 'r2.k': no reaction with id 'r2'",
                 id="unknown reaction id"),
    pytest.param(GOOD.replace("E1,batch,30,0,1.0,0\n", ""), MECH, "r1.k", 2,
                 "data.csv: row 2, column 'time_min': batch experiment 'E1' has no row at time 0",
                 id="no time-0 row"),
    pytest.param(_edit(GOOD, 4, "0.37", "-0.37"), MECH, "r1.k", 2,
                 "data.csv: row 4, column 'A_mol_per_L': concentration must not be negative, got -0.37",
                 id="negative concentration"),
    pytest.param(_edit(GOOD, 4, "0.37", "n/a"), MECH, "r1.k", 2,
                 "data.csv: row 4, column 'A_mol_per_L': expected a number, got 'n/a'",
                 id="text in a number cell"),
    pytest.param(GOOD + "F1,pfr,30,5,,0.2\n", MECH, "r1.k", 2,
                 "data.csv: row 6: flow sample of experiment 'F1' gives no inlet concentrations",
                 id="flow sample without inlet"),
    pytest.param(GOOD, OVERFLOW_MECH, "r1.A", 1,
                 "data.csv: solver failed: fit: no parameter set tried could be solved",
                 id="every solve fails"),
]


@pytest.mark.parametrize("data, mech, params, status, message", BAD_INPUTS)
def test_bad_input_one_line_and_nothing_written(tmp_path, capsys, monkeypatch, data, mech, params,
                                                status, message):
    monkeypatch.chdir(tmp_path)
    Path("mech.yaml").write_text(mech)
    Path("data.csv").write_text(data)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["fit", "mech.yaml", "data.csv", "--fit", params, "--json", "report.json",
                 "--out", "fitted.yaml"])
    captured = capsys.readouterr()
    assert code == status
    err = one_line(captured.err)
    assert err.startswith(f"flowchem: {message}"), err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before      # nothing written


def test_fit_that_does_not_converge_is_exit_1(tmp_path, capsys, monkeypatch):
    """The optimiser stopped by its evaluation limit (here 3) is a numerical
    failure: exit 1, one line, nothing written."""
    monkeypatch.chdir(tmp_path)
    Path("mech.yaml").write_text(MECH.replace("k: 0.05", "k: 1.0e-4"))
    Path("data.csv").write_text(GOOD)
    solve = estimation._solve
    monkeypatch.setattr(estimation, "_solve", lambda problem, theta, max_nfev=None:
                        solve(problem, theta, max_nfev=3))
    code = main(["fit", "mech.yaml", "data.csv", "--fit", "r1.k", "--json", "report.json",
                 "--out", "fitted.yaml"])
    err = one_line(capsys.readouterr().err)
    assert code == 1
    assert err.startswith("flowchem: data.csv: solver failed: fit: the optimiser did not converge ("), err
    assert "after 3 evaluations" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "mech.yaml"]


# ----------------------------------------------------------------------------- 10. multi-start

MULTI_MECH = """\
# A -> X -> P: the product alone cannot tell the fast step from the slow one
units: {concentration: mol/m^3, time: s}
species: [{name: A}, {name: X}, {name: P}]
reactions:
  - {equation: A => X, rate: {k: 1.0e-4}}     # start in the wrong basin (k1 < k2)
  - {equation: X => P, rate: {k: 5.0e-3}}
"""
K_TRUE = (2e-3, 2e-4)
T_MULTI = np.linspace(300.0, 14400.0, 16)


def product(k1, k2, t=T_MULTI, a0=1000.0):
    """P of A -> X -> P from A alone (symmetric in k1 and k2)."""
    return a0 * (1 - (k2 * np.exp(-k1 * t) - k1 * np.exp(-k2 * t)) / (k2 - k1))


def multi_start_case(tmp_path):
    """P at 16 times, A only in the last sample (not detected: 0), noise sd 5 mol/m3.
    The symmetric P alone has two equal optima (k1, k2) and (k2, k1); the single A
    value breaks the tie, leaving a local optimum in the swapped basin."""
    P = product(*K_TRUE) + np.random.default_rng(0).normal(0, 5.0, T_MULTI.size)
    rows = [["E1", "batch", 25.0, 0.0, 1000.0, 0.0, 0.0]]
    rows += [["E1", "batch", 25.0, t, None, None, p] for t, p in zip(T_MULTI, P)]
    rows[-1][4] = 0.0
    write_csv(tmp_path / "data.csv", ["experiment", "kind", "T_degC", "time_s", "A_mol_per_m3",
                                      "X_mol_per_m3", "P_mol_per_m3"], rows)
    (tmp_path / "mech.yaml").write_text(MULTI_MECH)

    def residual(lk):
        k1, k2 = np.exp(lk)
        return np.r_[product(k1, k2) - P, 1000.0 * math.exp(-k1 * T_MULTI[-1]) - 0.0]

    return residual


def _fit_json(tmp_path, name, *extra):
    out = tmp_path / name
    assert main(["fit", str(tmp_path / "mech.yaml"), str(tmp_path / "data.csv"), "--fit", "r1.k,r2.k",
                 "--json", str(out), *extra]) == 0
    return json.loads(out.read_text())


def test_multi_start_finds_the_global_optimum_reproducibly(tmp_path, capsys):
    residual = multi_start_case(tmp_path)
    # scipy on the closed form: the local optimum from the mechanism's start, the
    # global one from the truth
    local = least_squares(residual, np.log([1e-4, 5e-3]), xtol=1e-14, ftol=1e-14, gtol=1e-14)
    best = least_squares(residual, np.log(K_TRUE), xtol=1e-14, ftol=1e-14, gtol=1e-14)
    S_local, S_best = 2 * local.cost, 2 * best.cost
    assert np.exp(local.x)[0] < np.exp(local.x)[1] and S_local > 5 * S_best   # a worse optimum

    single = _fit_json(tmp_path, "single.json")
    assert single["sum_of_squares"] == pytest.approx(S_local, rel=1e-6)

    multi = _fit_json(tmp_path, "multi.json", "--starts", "8", "--seed", "1")
    assert multi["sum_of_squares"] == pytest.approx(S_best, rel=1e-6)
    values = [multi["parameters"][n]["value"] for n in ("r1.k", "r2.k")]
    assert values == pytest.approx(np.exp(best.x), rel=1e-4)
    assert multi["optimizer"]["starts"] == 8

    again = _fit_json(tmp_path, "again.json", "--starts", "8", "--seed", "1")
    assert again["parameters"] == multi["parameters"]                # same seed, same numbers
    assert again["sum_of_squares"] == multi["sum_of_squares"]
    capsys.readouterr()

    # the seed is what draws the starts: the same seed gives the same Latin-hypercube
    # points, another seed other points (the first start is the mechanism's)
    mech = fc.load_mechanism(tmp_path / "mech.yaml")
    data = str(tmp_path / "data.csv")
    a = estimation.fit(mech, data, ["r1.k", "r2.k"], starts=3, seed=1).starts
    b = estimation.fit(mech, data, ["r1.k", "r2.k"], starts=3, seed=1).starts
    c = estimation.fit(mech, data, ["r1.k", "r2.k"], starts=3, seed=2).starts
    assert [s["start"] for s in a] == [s["start"] for s in b]
    assert a[0]["start"] == c[0]["start"] == pytest.approx([1e-4, 5e-3], rel=1e-12)
    assert a[1]["start"] != c[1]["start"]
    # every start lies in the box of two decades around the mechanism's values
    for s in a[1:] + c[1:]:
        assert 1e-6 <= s["start"][0] <= 1e-2 and 5e-5 <= s["start"][1] <= 0.5
