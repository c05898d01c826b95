"""Monte Carlo probability of success (sweep files with ``uncertainty:``):
the probability and percentile columns against the closed form of a
first-order PFR with a normally distributed ln k, the covariance of a fit
report in the scaled parameters, reproducibility, the map, refusals."""

import csv
import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from flowchem.cli import main
from flowchem.process.study import load_sweep, sweep
from flowchem.process import uncertainty
from flowchem.process.uncertainty import monte_carlo_columns

# A -> B, first order, isothermal PFR of 5 mL
ROUTE = """
mechanism:
  species: [{name: A, formula: C2H4O}, {name: B, formula: C2H4O}]
  reactions:
    - {equation: A => B, rate: RATE}
feeds: [{name: f, flow: 1 mL/min, T: 25 degC, conc: {A: 1 mol/L}}]
operations:
  - {name: R1, type: pfr, from: f, volume: 5 mL, T: 25 degC}
product: {from: R1, species: B, basis: A}
"""
K0 = 0.01
VOLUME = 5e-6
Z999 = norm.ppf(1 - 0.0005)       # two-sided 99.9 % binomial (normal approximation) limits


def _write(tmp_path, study, rate="{k: 0.01 1/s}"):
    (tmp_path / "route.yaml").write_text(ROUTE.replace("RATE", rate))
    path = tmp_path / "sweep.yaml"
    path.write_text(study)
    return path


def _p_success(flow, x_star, mu, sigma):
    """P(X >= x*) = 1 - Phi((ln k* - mu)/sigma), k* = -ln(1 - x*)/tau."""
    k_star = -math.log(1.0 - x_star) / (VOLUME / flow)
    return 1.0 - norm.cdf((math.log(k_star) - mu) / sigma)


def _binomial_ok(p_hat, p, n):
    return abs(p_hat - p) <= Z999 * math.sqrt(p * (1 - p) / n) + 0.5 / n


SWEEP = """
route: route.yaml
vary:
  f.flow: {values: [1 mL/min, 1.3 mL/min]}
spec: [product.conversion >= 0.9]
uncertainty: {parameters: {r1.k: 30 %}}
samples: 300
seed: 4
"""


def test_probability_of_success_against_the_closed_form(tmp_path):
    """k log-normal with a 30 % coefficient of variation: ln k ~ N(ln k0, ln 1.09)."""
    result = sweep(_write(tmp_path, SWEEP))
    n = 300
    sigma = math.sqrt(math.log(1.09))
    flows = result.table["f.flow"]
    p_hat = result.table["probability_of_success"]
    for q, p in zip(flows, p_hat):
        assert _binomial_ok(p, _p_success(q, 0.9, math.log(K0), sigma), n)
    # the 5th and 95th percentiles of the conversion lie between the true quantiles at
    # q -/+ the 99.9 % limits of the order statistic
    for q, lo5, hi95 in zip(flows, result.table["product.conversion.p05"],
                            result.table["product.conversion.p95"]):
        tau = VOLUME / q
        for value, level in ((lo5, 0.05), (hi95, 0.95)):
            spread = Z999 * math.sqrt(level * (1 - level) / n)
            bounds = [1 - math.exp(-K0 * math.exp(sigma * norm.ppf(a)) * tau)
                      for a in (level - spread, level + spread)]
            assert bounds[0] <= value <= bounds[1]
    # nominal columns unchanged; the band contains the nominal conversion
    nominal = result.table["product.conversion"]
    assert np.all(result.table["product.conversion.p05"] < nominal)
    assert np.all(nominal < result.table["product.conversion.p95"])


def test_seeded_draws_are_reproducible(tmp_path, monkeypatch):
    study = load_sweep(_write(tmp_path, SWEEP.replace("samples: 300", "samples: 40")))
    a = monte_carlo_columns(study, study.X, study.spec, study.settings)
    # one point per ensemble call: the same table
    monkeypatch.setattr(uncertainty, "CHUNK_ROWS", 40)
    b = monte_carlo_columns(study, study.X, study.spec, study.settings)
    other = dict(study.settings, seed=5)
    c = monte_carlo_columns(study, study.X, study.spec, other)
    assert list(a) == ["probability_of_success"] + [
        f"{col}.{p}" for col in study.columns for p in ("p05", "p95")]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["product.conversion.p05"], c["product.conversion.p05"])


MECH_MIN = """\
units: {concentration: mol/L, time: min}
species: [{name: A}, {name: B}]
reactions:
  - {equation: A => B, rate: {k: 0.05}}
"""
DATA = """\
experiment,kind,T_degC,time_min,A_mol_per_L,B_mol_per_L
E1,batch,30,0,1.0,0
E1,batch,30,10,0.6,0.4
E1,batch,30,20,0.37,0.63
E1,batch,30,40,0.14,0.86
"""


def test_fit_report_covariance_drives_the_draws(tmp_path, capsys):
    """``flowchem fit --json`` writes the covariance in the scaled θ (here ln k:
    var(ln k) = (se(k)/k)^2 by the delta method); a sweep drawing from it gives
    the closed-form probability with mu = ln k_hat, sigma = sqrt(var(ln k))."""
    (tmp_path / "mech.yaml").write_text(MECH_MIN)
    (tmp_path / "data.csv").write_text(DATA)
    report = tmp_path / "report.json"
    assert main(["fit", str(tmp_path / "mech.yaml"), str(tmp_path / "data.csv"), "--fit", "r1.k",
                 "--json", str(report)]) == 0, capsys.readouterr().err
    rep = json.loads(report.read_text())
    k_hat, se = rep["parameters"]["r1.k"]["value"], rep["parameters"]["r1.k"]["std_error"]
    cov = rep["covariance_scaled"]
    assert cov["names"] == ["r1.k"]
    assert cov["matrix"][0][0] == pytest.approx((se / k_hat) ** 2, rel=1e-10)
    assert cov["theta"][0] == pytest.approx(math.log(k_hat), rel=1e-12)
    sigma = math.sqrt(cov["matrix"][0][0])
    # the flow where k* = k_hat e^(sigma/2): P = 1 - Phi(1/2)
    flow = VOLUME * k_hat * math.exp(0.5 * sigma) / math.log(10.0)
    path = _write(tmp_path, f"""
route: route.yaml
vary:
  f.flow: {{values: ["{flow * 6e7!r} mL/min"]}}
spec: [product.conversion >= 0.9]
uncertainty: {{fit_report: report.json}}
samples: 400
seed: 2
""", rate="{k: 0.001 1/s}")
    result = sweep(path)
    (p,) = result.table["probability_of_success"]
    assert _binomial_ok(p, 1 - norm.cdf(0.5), 400)
    assert _p_success(flow, 0.9, math.log(k_hat), sigma) == pytest.approx(1 - norm.cdf(0.5), rel=1e-9)


def test_correlated_covariance_in_scaled_coordinates(tmp_path):
    """k_ref and Ea with T_ref = T_center = the reactor temperature: θ_1 = ln k(T_c),
    so only var(θ_1) = 0.09 matters, whatever Ea's variance and the covariance."""
    report = {"parameters": {"r1.k_ref": {"value": K0}, "r1.Ea": {"value": 60000.0}},
              "T_center_K": 298.15,
              "covariance_scaled": {"names": ["r1.k_ref", "r1.Ea"],
                                    "matrix": [[0.09, 0.1], [0.1, 0.25]]}}
    (tmp_path / "report.json").write_text(json.dumps(report))
    path = _write(tmp_path, """
route: route.yaml
vary:
  f.flow: {values: [1 mL/min, 1.4 mL/min]}
spec: [product.conversion >= 0.9]
uncertainty: {fit_report: report.json}
samples: 300
seed: 7
""", rate="{k_ref: 0.005 1/s, T_ref: 25 degC, Ea: 50 kJ/mol}")
    result = sweep(path)
    for q, p in zip(result.table["f.flow"], result.table["probability_of_success"]):
        assert _binomial_ok(p, _p_success(q, 0.9, math.log(K0), 0.3), 300)


def test_sweep_command_writes_the_probability_map(tmp_path, capsys):
    path = _write(tmp_path, """
route: route.yaml
vary:
  f.flow: {from: 0.8 mL/min, to: 1.6 mL/min, n: 3}
  R1.volume: {from: 4 mL, to: 6 mL, n: 3}
spec: [product.conversion >= 0.9]
uncertainty: {parameters: {r1.k: 20 %}, level: 0.8}
samples: 20
seed: 1
""")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 0, capsys.readouterr().err
    with open(out / "sweep.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 9
    p = np.array([float(r["probability_of_success"]) for r in rows])
    assert np.all((p >= 0) & (p <= 1)) and p.max() == 1.0 and p.min() < 0.5
    assert (out / "probability_of_success.png").stat().st_size > 1000


@pytest.mark.parametrize("uncertainty, message", [
    ("{parameters: {r7.k: 10 %}}", "r7"),
    ("{parameters: {r1.k: lots}}", "uncertainty.parameters.r1.k"),
    ("{fit_report: missing.json}", "not found"),
    ("{fit_report: a.json, parameters: {r1.k: 10 %}}", "either"),
    ("{parameters: {r1.k: 10 %}, level: 2}", "level"),
])
def test_bad_uncertainty_exit_2_and_write_nothing(tmp_path, capsys, uncertainty, message):
    path = _write(tmp_path, f"""
route: route.yaml
vary:
  f.flow: {{values: [1 mL/min]}}
spec: [product.conversion >= 0.9]
uncertainty: {uncertainty}
samples: 5
""")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "sweep.yaml" in err, err
    assert not out.exists()
