"""Kinetic parameter estimation against independent references.

Data are simulated here from closed forms or scipy ``solve_ivp``
(tests/fit_reference.py), never with flowchem; optima, profiles,
Jacobians and design determinants are recomputed here with scipy and numpy
directly. Tolerances are stated at each assertion.
"""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, least_squares, minimize_scalar

import flowchem as fc
from fit_reference import (R, T0, arrhenius, binomial_band, consecutive, consecutive_cstr,
                           reference_jacobian, write_csv)
from flowchem.chemistry.mechanism_writer import write_fitted_mechanism
from flowchem.chemistry.parameters import ParameterMap
from flowchem.cli import main
from flowchem.process.estimation import FitProblem, compare_models, fit
from flowchem.process.experiment_design import parse_grid, suggest_experiments
from flowchem.process.experiments import ExperimentalData, Run, read_experiments

SPECIES = ["A", "B", "C"]


def chain_mechanism(k1, k2, T_ref=None, Ea1=None, Ea2=None):
    """A -> B -> C; k_ref/Ea rate laws when T_ref is given, else constants (SI)."""
    if T_ref is None:
        rates = [{"k": k1}, {"k": k2}]
    else:
        rates = [{"k_ref": k1, "T_ref": T_ref, "Ea": Ea1}, {"k_ref": k2, "T_ref": T_ref, "Ea": Ea2}]
    return fc.Mechanism.from_dict({
        "species": [{"name": s} for s in SPECIES],
        "reactions": [{"equation": "A => B", "rate": rates[0]},
                      {"equation": "B => C", "rate": rates[1]}]})


def batch_data(times, observed, T=300.0, initial=(1000.0, 0.0, 0.0), species=SPECIES, measured=None):
    run = Run("E1", "batch", T, np.array(initial, float), np.asarray(times, float),
              np.asarray(observed, float), list(range(3, 3 + len(times))))
    return ExperimentalData([run], list(species), "<simulated>", measured or list(species))


# ----------------------------------------------------------------------------- 1. recovery

# truth of the recovery problem: A -> B -> C, Arrhenius in both steps, T_ref = 60 degC
T_REF = T0 + 60.0
TRUTH = {"r1.k_ref": 0.05 / 60.0, "r1.Ea": 65e3, "r2.k_ref": 0.01 / 60.0, "r2.Ea": 80e3}
NOISE = 10.0    # mol/m^3 (0.01 mol/L on 1 mol/L of A)


def recovery_csv(path, seed=7):
    """Batch time courses at 40, 60 and 80 degC, PFR samples at 70 degC (A not
    assayed) and CSTR samples at 50 degC, from the closed forms plus Gaussian noise;
    a value that the noise makes negative is left empty (below detection)."""
    rng = np.random.default_rng(seed)
    k = lambda i, T: arrhenius(TRUTH[f"r{i}.k_ref"], TRUTH[f"r{i}.Ea"], T_REF, T)  # noqa: E731
    rows = []
    for name, T_C in (("B40", 40.0), ("B60", 60.0), ("B80", 80.0)):
        T = T0 + T_C
        rows.append([name, "batch", T_C, 0.0, 1.0, None, None, None])
        t_min = np.array([5, 10, 20, 30, 45, 60, 90, 120.0])
        y = consecutive(1000.0, k(1, T), k(2, T), 60 * t_min) + rng.normal(0, NOISE, (8, 3))
        rows += [[name, "batch", T_C, t, *_reported(y_i / 1000), None] for t, y_i in zip(t_min, y)]
    T = T0 + 70.0
    for tau in (2.0, 5.0, 10.0, 20.0):
        y = consecutive(1000.0, k(1, T), k(2, T), [60 * tau])[0] + rng.normal(0, NOISE, 3)
        rows.append(["F70", "pfr", 70.0, tau, None, *_reported(y[1:] / 1000), 1.0])
    T = T0 + 50.0
    for tau in (10.0, 30.0):
        y = consecutive_cstr(1000.0, k(1, T), k(2, T), 60 * tau) + rng.normal(0, NOISE, 3)
        rows.append([f"S{tau:.0f}", "cstr", 50.0, tau, *_reported(y / 1000), 1.0])
    header = ["experiment", "kind", "T_degC", "time_min", "A_mol_per_L", "B_mol_per_L",
              "C_mol_per_L", "A_in_mol_per_L"]
    return write_csv(path, header, rows)


def _reported(values):
    return [v if v >= 0 else None for v in values]


def recovery_model(values, data):
    """Predictions of the closed forms for every measured value, in the order
    of flowchem's residual vector (run by run, sample by sample, species)."""
    k1r, E1, k2r, E2 = values
    out = []
    for r in data.runs:
        k1, k2 = arrhenius(k1r, E1, T_REF, r.T), arrhenius(k2r, E2, T_REF, r.T)
        a0 = r.initial[0]
        if r.kind == "cstr":
            pred = consecutive_cstr(a0, k1, k2, r.times[0])[None, :]
        else:
            pred = consecutive(a0, k1, k2, r.times)
        out.append(pred[np.isfinite(r.observed)])
    return np.concatenate(out)


def test_recovery_of_known_parameters_from_a_poor_start(tmp_path):
    mech = chain_mechanism(0.1 * TRUTH["r1.k_ref"], 10 * TRUTH["r2.k_ref"], T_REF, 40e3, 40e3)
    names = list(TRUTH)
    data = read_experiments(recovery_csv(tmp_path / "data.csv"), mech.species_names)
    res = fit(mech, data, names)
    truth = np.array(list(TRUTH.values()))
    assert res.success
    # the estimates lie within 4 standard errors of the truth (each |z| < 4 has
    # probability 0.99994 for a correct estimator)
    z = (res.values - truth) / res.std_errors
    assert np.all(np.abs(z) < 4.0), z
    # the optimum is scipy's on the closed forms, started at the truth (S to 1e-7
    # relative, parameters to 1e-4 relative)
    y_obs = np.concatenate([r.observed[np.isfinite(r.observed)] for r in data.runs])
    scaled = np.array([1e-3, 1e5, 1e-4, 1e5])
    ref = least_squares(lambda x: recovery_model(x * scaled, data) - y_obs, truth / scaled,
                        x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14)
    S_ref = 2.0 * ref.cost
    assert res.cost == pytest.approx(S_ref, rel=1e-7)
    assert res.values == pytest.approx(ref.x * scaled, rel=1e-4)
    # the residual variance estimates the noise: (n - p) s^2/sigma^2 ~ chi2(n - p),
    # inside its two-sided 99.9 % band
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], res.dof)
    assert lo < res.dof * res.s2 / NOISE ** 2 < hi
    assert res.dof == y_obs.size - 4 > 70


def test_coverage_of_95_percent_intervals_over_many_seeds():
    """A -> B -> C at one temperature, 2 rate constants, 400 noisy data sets:
    the number of t-intervals (log scale) that contain the truth is
    Binomial(400, 0.95) if the intervals are right; accept it inside the two-sided
    99.9 % band [364, 393] (for each parameter). 90 % intervals would pass it
    with probability 0.28 each."""
    k1, k2, sd, n_sets = 2e-3, 5e-4, 10.0, 400
    t = np.linspace(120.0, 3600.0, 10)
    clean = consecutive(1000.0, k1, k2, t)
    mech = chain_mechanism(1e-4, 1e-4)
    hits = np.zeros(2, int)
    for seed in range(n_sets):
        y = clean + np.random.default_rng(seed).normal(0, sd, clean.shape)
        res = fit(mech, batch_data(t, y), ["r1.k", "r2.k"])
        hits += [lo <= k <= hi for (lo, hi), k in zip(res.ci95, (k1, k2))]
    lo, hi = binomial_band(n_sets, 0.95, 0.999)
    assert (lo, hi) == (364, 393)
    assert np.all((hits >= lo) & (hits <= hi)), hits


# ----------------------------------------------------------------------------- 2. profile

def test_profile_interval_against_a_brute_force_scan():
    """The profile-likelihood interval of each rate constant against the sum of
    squares re-minimised over the other one with scipy on the closed form,
    scanned on a grid and refined with brentq (ends to 1e-3 relative). Few,
    noisy data on the intermediate only, so that the profile is far from the
    linearised interval."""
    k1, k2 = 1.5e-3, 4e-4
    t = np.array([600, 1800, 3600, 7200.0])
    B = consecutive(1000.0, k1, k2, t)[:, 1] + np.random.default_rng(11).normal(0, 40.0, (t.size, 3))[:, 1]
    y = np.full((t.size, 3), np.nan)
    y[:, 1] = B
    res = fit(chain_mechanism(1e-4, 1e-4), batch_data(t, y, measured=["B"]), ["r1.k", "r2.k"],
              profile=True)
    residual = lambda lk: consecutive(1000.0, *np.exp(lk), t)[:, 1] - B  # noqa: E731  lk = ln k

    def S(lk):
        d = residual(lk)
        return float(d @ d)

    best = least_squares(residual, np.log([k1, k2]), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    S_min, n, p = 2 * best.cost, t.size, 2
    threshold = S_min * (1 + stats.f.ppf(0.95, 1, n - p) / (n - p))     # Bates & Watts eq. 6.5
    J = reference_jacobian(residual, best.x)
    se = np.sqrt(np.diag(np.linalg.inv(J.T @ J)) * S_min / (n - p))
    for i, name in enumerate(["r1.k", "r2.k"]):
        j = 1 - i
        at = lambda v, u: [v, u] if i == 0 else [u, v]  # noqa: E731

        def profile(v):
            # brute force: the best of a grid over the other ln k, then refined in its cell
            u_grid = best.x[j] + np.linspace(-3.0, 3.0, 241)
            lk1, lk2 = at(v, u_grid[:, None])
            k1_, k2_ = np.exp(lk1), np.exp(lk2)      # B of A -> B -> C, vectorised over the grid
            B_grid = 1000.0 * k1_ / (k2_ - k1_) * (np.exp(-k1_ * t) - np.exp(-k2_ * t))
            k = int(np.argmin(np.sum((B_grid - B) ** 2, axis=1)))
            other = minimize_scalar(lambda u: S(at(v, u)), method="bounded",
                                    bounds=(u_grid[max(k - 1, 0)], u_grid[min(k + 1, 240)]),
                                    options={"xatol": 1e-12})
            return other.fun - threshold

        grid = np.linspace(best.x[i] - 6 * se[i], best.x[i] + 6 * se[i], 121)
        values = np.array([profile(v) for v in grid])
        mid = int(np.argmin(values))
        lo_cross = np.flatnonzero((values[:mid] > 0) & (values[1:mid + 1] <= 0))[-1]
        hi_cross = mid + np.flatnonzero((values[mid:-1] <= 0) & (values[mid + 1:] > 0))[0]
        lo = brentq(profile, grid[lo_cross], grid[lo_cross + 1], xtol=1e-12)
        hi = brentq(profile, grid[hi_cross], grid[hi_cross + 1], xtol=1e-12)
        prof = res.profiles[name]
        assert prof["threshold"] == pytest.approx(threshold, rel=1e-7)
        assert prof["interval"][0] == pytest.approx(math.exp(lo), rel=1e-3)
        assert prof["interval"][1] == pytest.approx(math.exp(hi), rel=1e-3)
    # the profile is not the linearised interval (the model is nonlinear): the upper
    # end of k1 lies more than 10 % above it, far outside the tolerance above
    assert res.profiles["r1.k"]["interval"][1] > 1.1 * res.ci95[0][1]


# ----------------------------------------------------------------------------- 3. identifiability

def test_parallel_routes_to_one_product_are_flagged_not_identifiable():
    """A -> P (k1) and A -> P (k2), only P measured: P depends on k1 + k2 alone."""
    mech = fc.Mechanism.from_dict({
        "species": [{"name": "A"}, {"name": "P"}],
        "reactions": [{"equation": "A => P", "rate": {"k": 1e-4}},
                      {"equation": "A => P", "rate": {"k": 3e-4}}]})
    K, t = 1e-3, np.linspace(100.0, 4000.0, 12)
    P = 1000 * (1 - np.exp(-K * t)) + np.random.default_rng(3).normal(0, 5.0, t.size)
    obs = np.c_[np.full(t.size, np.nan), P]
    data = batch_data(t, obs, initial=(1000.0, 0.0), species=["A", "P"], measured=["P"])
    res = fit(mech, data, ["r1.k", "r2.k"], profile=True)
    text = "\n".join(res.warnings)
    # the pair is named in one warning, and each interval is flagged
    assert any("r1.k" in w and "r2.k" in w and "correlated" in w for w in res.warnings), text
    for name in ("r1.k", "r2.k"):
        assert f"{name}: the 95 % interval spans more than a factor of ten" in text
        assert f"{name}: the profile likelihood does not close on both sides" in text
    assert abs(res.correlation[0, 1]) > 0.999
    for lo, hi in res.ci95:
        assert not (lo > 0 and hi / lo <= 10.0)
    # what the data do determine: k1 + k2 is scipy's one-parameter optimum (1e-5 relative)
    S1 = lambda k: float(np.sum((1000 * (1 - np.exp(-k * t)) - P) ** 2))  # noqa: E731
    one = minimize_scalar(lambda lk: S1(math.exp(lk)), bracket=(-8.0, -6.0), tol=1e-12)
    assert res.values.sum() == pytest.approx(math.exp(one.x), rel=1e-5)
    # each profile is open at 0 and closes above where k1 alone (k2 -> 0) reaches
    # the F threshold of the two-parameter fit (1e-3 relative)
    threshold = one.fun * (1 + stats.f.ppf(0.95, 1, t.size - 2) / (t.size - 2))
    k_hi = brentq(lambda k: S1(k) - threshold, math.exp(one.x), 10 * math.exp(one.x), xtol=1e-16)
    for name in ("r1.k", "r2.k"):
        lo, hi = res.profiles[name]["interval"]
        assert lo == 0.0
        assert hi == pytest.approx(k_hi, rel=1e-3)


# ----------------------------------------------------------------------------- 4. AICc

RATE_LAW_MECH = """\
# candidate rate law: {label}
units: {{concentration: mol/L, time: min}}
species: [{{name: A}}, {{name: B}}, {{name: P}}]
reactions:
  - equation: A + B => P
    rate: {{k: {k}}}          # poor start
    orders: {{A: 1, B: {order}}}
"""


def rate_law_data(order_B, seed):
    """Two batch runs (B0 = 1.5 and 3 mol/L, A0 = 1 mol/L) at 25 degC, rate k cA cB^n,
    from solve_ivp; A and P measured with sd 0.01 mol/L. SI."""
    k = {1: 0.05e-3 / 60.0, 2: 0.02e-6 / 60.0}[order_B]      # L/(mol min), L2/(mol2 min) -> SI
    t = 60.0 * np.array([2, 5, 10, 20, 30, 45, 60, 90.0])
    rng = np.random.default_rng(seed)
    runs = []
    for B0 in (1500.0, 3000.0):
        sol = solve_ivp(lambda _, c: np.array([-1, -1, 1.0]) * k * c[0] * c[1] ** order_B,
                        (0, t[-1]), [1000.0, B0, 0.0], method="LSODA", t_eval=t,
                        rtol=1e-12, atol=1e-9)
        y = sol.y.T + rng.normal(0, 10.0, (t.size, 3))
        y[:, 1] = np.nan
        y[y < 0] = np.nan           # below detection: not reported
        runs.append((B0, y))
    return t, runs


def own_rate_law_fit(order_B, t, runs):
    """S of the least-squares fit of k for rate k cA cB^n, with scipy alone."""
    def resid(lk):
        out = []
        for B0, y in runs:
            sol = solve_ivp(lambda _, c: np.array([-1, -1, 1.0]) * math.exp(lk[0]) * c[0] * c[1] ** order_B,
                            (0, t[-1]), [1000.0, B0, 0.0], method="LSODA", t_eval=t,
                            rtol=1e-11, atol=1e-9)
            d = (sol.y.T - y)[:, [0, 2]].ravel()
            out.append(d[np.isfinite(d)])
        return np.concatenate(out)

    start = math.log({1: 0.05e-3 / 60.0, 2: 0.02e-6 / 60.0}[order_B])
    sol = least_squares(resid, [start], xtol=1e-13, ftol=1e-13, gtol=1e-13)
    return 2.0 * sol.cost


@pytest.mark.parametrize("true_order", [1, 2])
def test_aicc_chooses_the_true_order_in_B(tmp_path, true_order):
    t, runs = rate_law_data(true_order, seed=20 + true_order)
    rows = []
    for name, (B0, y) in zip(("E1", "E2"), runs):
        rows.append([name, "batch", 25.0, 0.0, 1.0, B0 / 1000, 0.0])
        rows += [[name, "batch", 25.0, ti / 60, *[None if np.isnan(v) else v / 1000 for v in yi]]
                 for ti, yi in zip(t, y)]
    csv = write_csv(tmp_path / "data.csv", ["experiment", "kind", "T_degC", "time_min",
                                            "A_mol_per_L", "B_mol_per_L", "P_mol_per_L"], rows)
    paths = {}
    for label, order, k in (("first", 1, 0.01), ("second", 2, 0.004)):
        paths[label] = tmp_path / f"{label}.yaml"
        paths[label].write_text(RATE_LAW_MECH.format(label=label, k=k, order=order))
    truth = {1: "first", 2: "second"}[true_order]
    other = {1: "second", 2: "first"}[true_order]

    table, fits = compare_models([(lab, str(p), ["r1.k"]) for lab, p in paths.items()], str(csv))
    assert [row["label"] for row in table] == [truth, other]
    S = {lab: own_rate_law_fit(order, t, runs) for lab, order in (("first", 1), ("second", 2))}
    for row in table:
        assert row["S"] == pytest.approx(S[row["label"]], rel=1e-5)
    # one parameter each on the same n values: dAICc = n ln(S_other/S_true)
    n = sum(int(np.isfinite(y).sum()) for _, y in runs)
    assert table[0]["n_observations"] == n > 25
    delta = n * math.log(S[other] / S[truth])
    assert table[1]["delta_aicc"] == pytest.approx(delta, rel=1e-5)
    assert delta > 10.0       # decisive, not a coin toss
    assert table[0]["akaike_weight"] == pytest.approx(1.0 / (1.0 + math.exp(-delta / 2)), rel=1e-9)
    assert table[0]["aicc"] == pytest.approx(n * math.log(S[truth] / n) + 4 + 12 / (n - 3), rel=1e-5)

    # the command line ranks them the same way
    report = tmp_path / "report.json"
    assert main(["fit", str(paths["first"]), str(paths["second"]), str(csv), "--fit", "r1.k",
                 "--json", str(report)]) == 0
    import json

    rep = json.loads(report.read_text())
    assert rep["best"] == truth
    assert [row["label"] for row in rep["candidates"]] == [truth, other]
    assert rep["candidates"][1]["delta_aicc"] == pytest.approx(delta, rel=1e-5)


# ----------------------------------------------------------------------------- 5. Jacobian

JAC_MECH = {
    "species": [{"name": s} for s in SPECIES],
    "reactions": [{"equation": "A => B", "rate": {"k_ref": 3e-3, "T_ref": 330.0, "Ea": 60e3},
                   "orders": {"A": 1.3}},
                  {"equation": "B => C", "rate": {"k": 4e-4}}]}
JAC_NAMES = ["r1.k_ref", "r1.Ea", "r1.order.A", "r2.k"]


def jacobian_runs(kind):
    """Two runs of one kind at 320 and 345 K (two temperatures so that Ea/(R T_c)
    moves the predictions); C not measured in the first."""
    runs = []
    for T, inlet in ((320.0, [800.0, 0.0, 0.0]), (345.0, [800.0, 50.0, 0.0])):
        times = {"batch": [60, 300, 900, 1800, 3600.0], "pfr": [120, 600, 1500.0],
                 "cstr": [900.0]}[kind]
        obs = np.ones((len(times), 3))
        if T == 320.0:
            obs[:, 2] = np.nan
        runs.append(Run(f"{kind}{T:.0f}", kind, T, np.array(inlet), np.array(times), obs,
                        list(range(len(times)))))
    return ExperimentalData(runs, SPECIES, "<jacobian>", SPECIES)


def jacobian_model(theta, data):
    """Residuals (prediction - observation, sigma = 1) of the mechanism above at
    θ = (ln k1(T_c), Ea/(R T_c), order, ln k2), with T_c = 1/mean(1/T): batch
    and PFR by solve_ivp (DOP853, rtol 1e-13), the CSTR by brentq on its balance."""
    Tc = 1.0 / np.mean([1.0 / r.T for r in data.runs])
    out = []
    for r in data.runs:
        k1 = math.exp(theta[0] - theta[1] * (Tc / r.T - 1.0))
        n, k2 = theta[2], math.exp(theta[3])
        a0, b0, _ = r.initial
        if r.kind == "cstr":
            tau = r.times[0]
            a = brentq(lambda c: a0 - c - tau * k1 * c ** n, 0.0, a0, xtol=1e-14, rtol=1e-15)
            b = (b0 + tau * k1 * a ** n) / (1 + tau * k2)
            pred = np.array([[a, b, a0 + b0 - a - b]])
        else:
            f = lambda _, c: [-k1 * max(c[0], 0) ** n, k1 * max(c[0], 0) ** n - k2 * c[1]]  # noqa: E731
            s = solve_ivp(f, (0, r.times[-1]), [a0, b0], method="DOP853", t_eval=r.times,
                          rtol=1e-13, atol=1e-10)
            pred = np.c_[s.y.T, a0 + b0 - s.y.sum(axis=0)]
        out.append((pred - r.observed)[np.isfinite(r.observed)])
    return np.concatenate(out)


@pytest.mark.parametrize("kind", ["batch", "pfr", "cstr"])
def test_residual_jacobian_against_central_differences(kind):
    """``FitProblem.jacobian`` (kernel sensitivities when present, else finite
    differences) and ``fd_jacobian`` against central differences of an
    independent model with a step study; to 1e-5 of each column's largest entry
    (the reference is good to about 1e-9, the kernel solves to rtol 1e-8)."""
    data = jacobian_runs(kind)
    problem = FitProblem(fc.Mechanism.from_dict(JAC_MECH), data, JAC_NAMES)
    theta = problem.pmap.theta0.copy()
    assert problem.pmap.T_center == pytest.approx(1 / np.mean([1 / 320.0, 1 / 345.0]), rel=1e-15)
    ref_res = jacobian_model(theta, data)
    assert np.max(np.abs(problem.residuals(theta) - ref_res)) < 1e-6 * 800.0
    J_ref = reference_jacobian(lambda th: jacobian_model(th, data), theta, h=1e-5, check=1e-6)
    scale = np.max(np.abs(J_ref), axis=0)
    assert np.all(scale > 1.0)        # every parameter moves the predictions
    for J in (problem.jacobian(theta), problem.fd_jacobian(theta)):
        err = np.max(np.abs(J - J_ref), axis=0) / scale
        assert np.all(err < 1e-5), err


# ----------------------------------------------------------------------------- 6. D-optimal

def test_d_optimal_suggestions_against_a_brute_force_determinant():
    """Gains ln det(JᵀJ + J_xᵀJ_x) - ln det(JᵀJ) and predicted standard-error
    ratios computed here with sensitivities of the closed form (central
    differences), for every candidate of a 3 x 4 grid; gains to 1e-4, same order."""
    T_ref, k1r, E1, k2 = 330.0, 1e-3, 70e3, 3e-4
    times = np.array([300, 900, 1800, 3600, 7200.0])
    rng = np.random.default_rng(5)
    runs = []
    for T in (320.0, 340.0):
        y = consecutive(1000.0, arrhenius(k1r, E1, T_ref, T), k2, times) + rng.normal(0, 10, (5, 3))
        runs.append(Run(f"B{T:.0f}", "batch", T, np.array([1000.0, 0, 0]), times, y, list(range(5))))
    data = ExperimentalData(runs, SPECIES, "<design>", SPECIES)
    mech = fc.Mechanism.from_dict({
        "species": [{"name": s} for s in SPECIES],
        "reactions": [{"equation": "A => B", "rate": {"k_ref": 2e-3, "T_ref": T_ref, "Ea": 60e3}},
                      {"equation": "B => C", "rate": {"k": 1e-4}}]})
    res = fit(mech, data, ["r1.k_ref", "r1.Ea", "r2.k"])
    grid = parse_grid("T=30..80 degC:3, time=5..60 min:4", SPECIES)
    rows = suggest_experiments(res, grid, top=0)
    assert len(rows) == 12

    # θ = (ln k1(T_c), Ea/(R T_c), ln k2) of the fitted values, T_c = 1/mean(1/T)
    Tc = 1.0 / np.mean([1 / 320.0, 1 / 340.0])
    k1_ref, Ea, k2_hat = res.values
    theta = np.array([math.log(arrhenius(k1_ref, Ea, T_ref, Tc)), Ea / (R * Tc), math.log(k2_hat)])

    def predict(th, T, t):
        return consecutive(1000.0, math.exp(th[0] - th[1] * (Tc / T - 1)), math.exp(th[2]), t).ravel()

    J = reference_jacobian(lambda th: np.concatenate([predict(th, r.T, r.times) for r in runs]), theta)
    F = J.T @ J
    F_inv = np.linalg.inv(F)
    _, logdet0 = np.linalg.slogdet(F)
    mine = {}
    for T in T0 + np.array([30.0, 55.0, 80.0]):
        for t in 60.0 * np.linspace(5, 60, 4):
            Jx = reference_jacobian(lambda th: predict(th, T, [t]), theta)
            G_inv = np.linalg.inv(F + Jx.T @ Jx)
            _, logdet1 = np.linalg.slogdet(F + Jx.T @ Jx)
            mine[(round(T, 6), round(t, 6))] = {
                "gain": logdet1 - logdet0,
                "ratio": np.sqrt(np.diag(G_inv) / np.diag(F_inv)),
                "gain_Ea": math.log(F_inv[1, 1] / G_inv[1, 1])}     # Ds-optimal on Ea alone
    assert {(round(r["T_K"], 6), round(r["time_s"], 6)) for r in rows} == set(mine)
    for row in rows:
        ref = mine[(round(row["T_K"], 6), round(row["time_s"], 6))]
        assert row["gain"] == pytest.approx(ref["gain"], abs=1e-4)
        assert list(row["std_error_ratio"].values()) == pytest.approx(ref["ratio"], rel=1e-4)
    ranked = sorted(mine, key=lambda key: -mine[key]["gain"])
    gains = [mine[key]["gain"] for key in ranked]
    assert gains[0] - gains[1] > 1e-3 and gains[0] - gains[-1] > 0.5   # a clear winner, no tie
    assert (round(rows[0]["T_K"], 6), round(rows[0]["time_s"], 6)) == ranked[0]

    # focus on Ea (Ds-optimality): the gain is ln(var before/var after) of Ea
    focus = suggest_experiments(res, grid, top=1, focus=["r1.Ea"])[0]
    ranked_Ea = sorted(mine, key=lambda key: -mine[key]["gain_Ea"])
    assert mine[ranked_Ea[0]]["gain_Ea"] - mine[ranked_Ea[1]]["gain_Ea"] > 1e-3
    assert (round(focus["T_K"], 6), round(focus["time_s"], 6)) == ranked_Ea[0]
    assert focus["gain"] == pytest.approx(mine[ranked_Ea[0]]["gain_Ea"], abs=1e-4)


# ----------------------------------------------------------------------------- 8. YAML round trip

ROUND_TRIP = """\
# Amide coupling: rate constants to be fitted from HPLC data
units: {concentration: mol/L, time: min, activation-energy: kJ/mol}

species:
  - {name: A, formula: C6H13N}      # amine
  - {name: B}                       # acid chloride
  - {name: P}
  - {name: I}                       # over-reaction impurity

reactions:
  - equation: A + B => P            # main step
    rate: {k_ref: 0.5, T_ref: 50 degC, Ea: 55}   # L/(mol min), kJ/mol
    dH: -85 kJ/mol
  - equation: P + B => I
    id: over
    rate: {k: "2.0e-3 L/(mol*s)"}   # carries its own unit
  - equation: A => I
    rate:
      k: 1.0e-4                     # 1/min
    orders: {A: 1}
"""


def _changed_lines(before, after):
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return {i for i, (x, y) in enumerate(zip(a, b)) if x != y}


def _comments(text):
    return [line[line.index("#"):] for line in text.splitlines() if "#" in line]


@pytest.mark.parametrize("case", ["block units and own units", "fitted order, block units",
                                  "fitted order, own units"])
def test_fitted_mechanism_round_trip(tmp_path, case):
    src = tmp_path / "mech.yaml"
    src.write_text(ROUND_TRIP)
    mech = fc.load_mechanism(src)
    if case == "block units and own units":
        fitted = {"r1.k_ref": 0.02, "r1.Ea": 61234.5, "over.k": 3.3e-6}
        # by hand: 0.02 m3/(mol s) = 0.02 * 1000 L/mol * 60 /min; 3.3e-6 m3/(mol s) = 3.3e-3 L/(mol s)
        written = {(11, "k_ref: 1200.0"), (11, "Ea: 61.2345"), (15, '"0.0033 L/(mol*s)"')}
        changed = {11, 15}
    elif case == "fitted order, block units":
        fitted = {"r3.k": 2e-6, "r3.order.A": 1.25}
        # (mol/m3)^-0.25/s -> (mol/L)^-0.25/min: x 1000^0.25 x 60
        written = {(18, f"k: {2e-6 * 1000 ** 0.25 * 60:.6g}"), (19, "orders: {A: 1.25}")}
        changed = {18, 19}
    else:
        fitted = {"over.k": 3e-6, "over.order.B": 1.4}
        # the string's L/(mol*s) cannot carry order 2.4: a plain number in the block's
        # units, (L/mol)^1.4/min = 1000^1.4 (m3/mol)^1.4 x 60 s
        written = {(15, f"rate: {{k: {3e-6 * 1000 ** 1.4 * 60:.6g}}}")}
        changed = {15}
    names = list(fitted)
    pm = ParameterMap(mech, names, 330.0)
    out = tmp_path / "fitted.yaml"
    text = write_fitted_mechanism(src, pm.mechanism_with(pm.theta_from_user(list(fitted.values()))), out)
    assert out.read_text() == text
    if case == "fitted order, own units":
        # an orders mapping is added under the entry: two new lines, the rest in place
        lines = text.splitlines()
        assert lines[16:18] == ["    orders:", "      B: 1.4"]
        text_cmp = "\n".join(lines[:16] + lines[18:]) + "\n"
    else:
        text_cmp = text
    assert _changed_lines(ROUND_TRIP, text_cmp) == changed       # everything else byte for byte
    lines = text.splitlines()
    for i, fragment in written:
        assert fragment in lines[i], lines[i]
    assert _comments(text) == _comments(ROUND_TRIP)               # every comment, in order
    back = fc.load_mechanism(out)
    pm_back = ParameterMap(back, names, 330.0)
    # six significant digits are written: values back to 5e-6 relative
    assert pm_back.user_values(pm_back.theta0) == pytest.approx(list(fitted.values()), rel=5e-6)
    # the parameters not fitted keep their SI values (e.g. dH, the other reactions)
    for r_old, r_new in zip(mech.reactions, back.reactions):
        assert (r_new.dH is None) == (r_old.dH is None)
        if r_old.dH is not None:
            assert r_new.dH == r_old.dH
