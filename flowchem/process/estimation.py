"""Kinetic parameter estimation: weighted nonlinear least squares over every
experiment at once, with honest uncertainty.

The model of a data set (:mod:`flowchem.process.experiments`) is one compiled
solve per run: an isothermal batch or plug-flow integration, or a steady
stirred tank, at the run's temperature. Parameters are estimated in the
well-scaled coordinates θ of :class:`~flowchem.chemistry.parameters.ParameterMap`
with scipy's trust-region-reflective ``least_squares``; the residual Jacobian
comes from forward sensitivities integrated in the kernel where available,
else from finite differences. With Rodas5P (the default) every run of the data
set is solved in one compiled call per evaluation
(:mod:`kernels.fit_ensemble`: the runs packed once, the raw parameters in,
predictions and their θ-sensitivities out), and each evaluation integrates the
sensitivities with the states (block Rodas5P, :mod:`kernels.rosenbrock_sens`),
so the optimiser's Jacobian costs no further solve; other integrators go run
by run through :mod:`flowchem.reactors.sensitivity`.

Weights
-------
``"absolute"`` (default): every concentration has the same, unknown error,
so residuals are plain differences (mol/m^3) and the error variance is
estimated from the fit. This is the assumption of ordinary least squares
and the right default for HPLC assay data of similar magnitude; it never
divides by a measured value, so zeros and traces cannot dominate the fit.
``"relative"``: errors proportional to the value, σ = max(|y|, 1e-3 max_s)
per species s (for data spanning orders of magnitude). A mapping
``{species: sd}`` (with units or mol/m^3) gives each species its own standard
deviation (unmeasured species in the mapping are ignored). In every case the
covariance is scaled by the residual variance s² = S/(n - p).
"""

from __future__ import annotations

import copy
import math
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ..chemistry.parameters import ParameterMap
from ..core.errors import InputError, SolverError
from ..core.units import GAS_CONSTANT, parse_quantity
from ..reactors.solver import SolverOptions
from . import fit_statistics as fs
from .experiments import ExperimentalData, read_experiments

__all__ = ["FitProblem", "FitResult", "fit", "compare_models", "rank_candidates", "Weights"]

# Residual given to the optimiser for a parameter set whose solve fails: large,
# finite, so the trust region shrinks back instead of the fit stopping.
FAILED_RESIDUAL = 1.0e6
# Relative tolerance of the optimiser on S and on θ (least_squares ftol, xtol).
# The solves are accurate to about rtol = 1e-8, which leaves S resolved to about
# 1e-10 relative near the optimum; a tighter stop only adds trial evaluations
# that differ from the optimum in round-off (measured on examples/fitting: from
# 9 to 13-19 evaluations, S equal to 1e-13).
OPTIMIZER_TOL = 1e-10
# A parameter takes part in an unidentified direction when that null vector
# moves it by more than this fraction of its largest component (the null vectors
# of a rank-deficient J are exact to round-off).
NULL_MEMBER_TOL = 1e-6


# ----------------------------------------------------------------------------- weights

class Weights:
    """Standard deviation of each observation (see the module docstring)."""

    def __init__(self, spec="absolute", species=None, where="weights"):
        self.spec = spec
        self.sd = None
        if isinstance(spec, str) and spec in ("absolute", "relative"):
            self.mode = spec
            return
        if isinstance(spec, str):
            spec = _parse_weight_text(spec, where)
        if not isinstance(spec, dict) or not spec:
            raise InputError(f"weights must be 'absolute', 'relative' or a mapping species: sd, "
                             f"got {spec!r}", "<fit>", where)
        self.mode = "species"
        self.sd = {}
        for name, value in spec.items():
            if species is not None and name not in species:
                raise InputError(f"weights name {name!r}, which is no species of the mechanism",
                                 "<fit>", f"{where}.{name}")
            self.sd[name] = parse_quantity(value, "concentration", None, f"{where}.{name}",
                                           positive=True)

    def sigma(self, data: ExperimentalData):
        """Per run, an array like ``observed`` with the standard deviation of each value."""
        out = []
        n = len(data.species)
        if self.mode == "relative":
            top = np.zeros(n)
            for r in data.runs:
                with np.errstate(invalid="ignore"):
                    top = np.fmax(top, np.nanmax(np.where(np.isfinite(r.observed), r.observed, np.nan),
                                                 axis=0, initial=0.0))
            floor = np.where(top > 0, 1e-3 * top, 1.0)
        for r in data.runs:
            if self.mode == "absolute":
                s = np.ones_like(r.observed)
            elif self.mode == "relative":
                s = np.maximum(np.abs(np.nan_to_num(r.observed)), floor)
            else:
                sd = np.array([self.sd.get(sp, np.nan) for sp in data.species])
                s = np.broadcast_to(sd, r.observed.shape).copy()
            out.append(s)
        if self.mode == "species":
            missing = [sp for sp in data.measured if sp not in self.sd]
            if missing:
                raise InputError(f"weights give no standard deviation for measured species "
                                 f"{', '.join(missing)}", "<fit>", "weights")
        return out


def _parse_weight_text(text, where):
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise InputError(f"expected SPECIES=SD pairs such as 'A=0.01 mol/L', got {part.strip()!r}",
                             "<fit>", where)
        out[name.strip()] = value.strip()
    return out


# ----------------------------------------------------------------------------- model

class FitProblem:
    """The residuals of a mechanism against a data set, as a function of θ.

    Parameters
    ----------
    mechanism : Mechanism
    data : ExperimentalData
    names : list of str
        Parameters to estimate.
    weights : str or mapping
    options : SolverOptions, optional
        Integrator settings (default rtol 1e-8: the fit's own resolution is far
        coarser, but tight solves keep finite-difference checks and profiles
        smooth).
    bounds : mapping name -> (lo, hi), optional
        In the user's form (SI); None for no bound on a side.

    Counters ``n_evaluations`` (residual vectors), ``n_jacobians``,
    ``n_solves`` (kernel solves) and ``n_failed`` (evaluations whose solve
    failed) are kept.
    """

    # Error control of the sensitivity solves (kernels.rosenbrock_sens): the states
    # only. The states then take the steps of the plain solve, the sensitivities
    # of (ln k, Ea) pairs can be integrated as one direction per reaction and
    # combined exactly, and the measured Jacobian error against finite
    # differences is that of the BDF path with the sensitivities under control
    # (tests/test_fit_kernel.py).
    SENS_ERROR_CONTROL = False
    # Residual evaluations also integrate the sensitivities, so that the
    # optimiser's Jacobian (requested at accepted, hence already evaluated, θ) is
    # free: a sensitivity solve costs about two plain ones (slot form, one
    # direction per reaction), against a plain solve plus a sensitivity solve
    # per accepted step when they are apart.
    JOINT_EVALUATION = True

    def __init__(self, mechanism, data, names, weights="absolute", options=None, bounds=None,
                 jacobian="auto"):
        self.mechanism = mechanism
        self.data = data
        temps = data.temperatures
        # centre of the data's temperatures on the 1/T scale, where ln k and Ea decouple
        T_center = float(1.0 / np.mean(1.0 / temps))
        self.pmap = ParameterMap(mechanism, names, T_center)
        self.names = self.pmap.names
        self.weights = weights if isinstance(weights, Weights) else Weights(weights, data.species)
        self.sigma = self.weights.sigma(data)
        self.options = options or SolverOptions(rtol=1e-8)
        self.masks = [np.isfinite(r.observed) for r in data.runs]
        # fixed per run, so computed once: output times without repeats (replicates
        # share a solve) and the arrays of every solve
        self._times = [np.unique(r.times, return_inverse=True) for r in data.runs]
        self.n_obs = int(sum(m.sum() for m in self.masks))
        if self.n_obs <= self.pmap.n:
            raise InputError(f"{self.n_obs} measurements cannot determine {self.pmap.n} parameters",
                             data.source)
        self.lower, self.upper = self._bounds(bounds or {})
        if jacobian not in ("auto", "sensitivity", "fd"):
            raise InputError(f"jacobian must be 'auto', 'sensitivity' or 'fd', got {jacobian!r}",
                             "<fit>", "jacobian")
        self.jacobian_method = jacobian
        # the BDF solves the augmented sensitivity system at about half Rodas5P's
        # cost, and its error (about rtol) is ample for a Jacobian
        self.sensitivity_options = SolverOptions(rtol=self.options.rtol, atol=self.options.atol,
                                                 method="bdf", max_steps=self.options.max_steps)
        self.n_evaluations = 0
        self.n_jacobians = 0
        self.n_solves = 0
        self.n_failed = 0
        self.time_in_model = 0.0
        self._sens = None
        # every run in one compiled call per evaluation (kernels.fit_ensemble) when
        # the integrator is Rodas5P; other methods keep the per-run bridge calls
        self.ensemble = self.options.integrator(len(data.species)) == "rodas"
        self._M = np.ascontiguousarray(self.pmap.M, dtype=np.float64)
        self._pack_runs()

    def for_data(self, data):
        """The same model and parameters on other data (candidate experiments):
        the per-run arrays derived from the data are rebuilt, ``sigma`` is left
        for the caller to set."""
        other = copy.copy(self)
        other.data = data
        other.masks = [np.isfinite(r.observed) for r in data.runs]
        other._times = [np.unique(r.times, return_inverse=True) for r in data.runs]
        other.n_obs = int(sum(m.sum() for m in other.masks))
        other._pack_runs()
        return other

    def _pack_runs(self):
        """The runs as the flat arrays of :mod:`kernels.fit_ensemble`, once per
        data set, and where each observation sits in the kernel's output rows
        (``_obs_index`` into ``pred.ravel()``, in the residuals' order: run by
        run, sample, species)."""
        data = self.data
        n = len(data.species)
        times, index, row_run = [], [], []
        lo = 0
        for k, r in enumerate(data.runs):
            if r.kind == "cstr":
                t, inverse = r.times[:1], np.zeros(len(r.times), dtype=np.int64)
            else:
                t, inverse = self._times[k]
            rows = lo + np.asarray(inverse, dtype=np.int64)
            flat = rows[:, None] * n + np.arange(n)[None, :]
            index.append(flat[self.masks[k]])
            times.append(np.asarray(t, dtype=np.float64))
            row_run.append(np.full(t.size, k, dtype=np.int64))
            lo += t.size
        kinds = np.array([1 if r.kind == "cstr" else 0 for r in data.runs], dtype=np.int64)
        row_run = np.concatenate(row_run) if row_run else np.zeros(0, dtype=np.int64)
        compiled = self.pmap.compiled
        self._runs = {
            "model": compiled.model,
            "rev_kind": np.ascontiguousarray(compiled.rate_params[0], dtype=np.int64),
            "kinds": kinds,
            "temps": np.array([r.T for r in data.runs], dtype=np.float64),
            "inlets": np.array([r.initial for r in data.runs], dtype=np.float64).reshape(-1, n),
            "t_ptr": np.concatenate([[0], np.cumsum([t.size for t in times])]).astype(np.int64),
            "times": np.concatenate(times) if times else np.zeros(0),
            # the uniform per-run absolute tolerance of SolverOptions.atol_vector
            "atols": np.array([self.options.atol_vector(r.initial)[0] for r in data.runs],
                              dtype=np.float64),
            "cstr_rows": np.flatnonzero(kinds[row_run] == 1),
            "row_run": row_run,
        }
        self._obs_index = np.concatenate(index) if index else np.zeros(0, dtype=np.int64)
        self._obs_value = (np.concatenate([r.observed[m] for r, m in zip(data.runs, self.masks)])
                           if data.runs else np.zeros(0))
        self._sigma_of = None          # the sigma list _sigma_flat was made from
        self._sigma_flat = None
        self._last_sens = None         # (θ, pred, sens) of the last sensitivity solve

    def _observation_sigma(self):
        """σ of every observation in residual order (rebuilt when ``sigma`` is
        replaced, as experiment_design does for candidate experiments)."""
        if self._sigma_of is not self.sigma:
            self._sigma_flat = (np.concatenate([s[m] for s, m in zip(self.sigma, self.masks)])
                                if self.masks else np.zeros(0))
            self._sigma_of = self.sigma
        return self._sigma_flat

    def _solve_runs(self, theta, sensitivities=False):
        """Kernel output rows of every run at θ (and d/dθ): one compiled call;
        SolverError naming the first run that failed."""
        from ..reactors.solver import solve_runs

        theta = np.asarray(theta, dtype=np.float64)
        t0 = _time.perf_counter()
        try:
            pred, sens, failures = solve_runs(self._runs, self.pmap.raw(theta), self._M,
                                              self.options, sensitivities=sensitivities,
                                              sens_error=self.SENS_ERROR_CONTROL)
        finally:
            self.time_in_model += _time.perf_counter() - t0
        self.n_solves += len(self.data.runs)
        if failures:
            k, why = failures[0]
            raise SolverError(_run_name(self.data.runs[k]), why)
        if sensitivities:
            self._last_sens = (theta.copy(), pred, sens)
        return pred, sens

    def counters(self):
        """Snapshot of the evaluation counters and the time spent in solves."""
        return {"evaluations": self.n_evaluations, "jacobians": self.n_jacobians,
                "solves": self.n_solves, "failed_evaluations": self.n_failed,
                "model_time_per_solve_s": self.time_in_model / max(self.n_solves, 1)}

    # -- bounds in θ ----------------------------------------------------------
    def _bounds(self, user_bounds):
        p = self.pmap
        lo = np.full(p.n, -np.inf)
        hi = np.full(p.n, np.inf)
        for name in user_bounds:
            if name not in p.names:
                raise InputError(f"bounds name {name!r}, which is not a fitted parameter "
                                 f"({', '.join(p.names)})", "<fit>", "bounds")
        for i, q in enumerate(p.params):
            unit_row = np.count_nonzero(p.N[i]) == 1
            default = (0.0, None) if (q.key == "Ea" or q.target == "order") else (None, None)
            b_lo, b_hi = user_bounds.get(q.name, default)
            if not unit_row:
                # a ln k(T_c) coordinate: user bounds on k_ref/A are not bounds on θ
                continue
            scale = p.N[i, i]
            for value, arr, fn in ((b_lo, lo, max), (b_hi, hi, min)):
                if value is None:
                    continue
                value = float(value)
                if q.positive:
                    if value <= 0:
                        continue  # no lower bound in logs
                    nat = math.log(value)
                elif q.key in ("Ea", "dH"):
                    nat = value / (GAS_CONSTANT * p.T_center)
                else:
                    nat = value
                arr[i] = (nat - p.natural_offset[i]) / scale
        if np.any(lo >= hi):
            bad = p.names[int(np.argmax(lo >= hi))]
            raise InputError(f"bounds of {bad!r} leave no room", "<fit>", f"bounds.{bad}")
        return lo, hi

    # -- evaluation -----------------------------------------------------------
    def predict(self, theta):
        """Predicted concentrations per run (arrays like ``observed``);
        raises SolverError naming the run when a solve fails."""
        if self.ensemble:
            pred, _ = self._solve_runs(theta)
            out, lo = [], 0
            for k, r in enumerate(self.data.runs):
                if r.kind == "cstr":
                    out.append(pred[lo:lo + 1].copy())
                    lo += 1
                    continue
                times, inverse = self._times[k]
                out.append(pred[lo:lo + times.size][inverse])
                lo += times.size
            return out
        return self.predict_per_run(theta)

    def predict_per_run(self, theta):
        """:meth:`predict` through one bridge call per run (the path of other
        integrators than Rodas5P, and the reference of the compiled ensemble)."""
        from ..reactors.solver import integrate, steady_cstr_cascade
        from kernels.kinetics import rate_constants
        from kernels.problems import BATCH

        rate_params, orders, _ = self.pmap.arrays(theta)
        base = self.pmap.compiled.model
        model = (base[0], base[1], orders) + tuple(base[3:])
        m = self.pmap.compiled.n_reactions
        out = []
        t0 = _time.perf_counter()
        try:
            for k, r in enumerate(self.data.runs):
                kf, kr = np.zeros(m), np.zeros(m)
                rate_constants(r.T, rate_params, kf, kr)
                if not (np.all(np.isfinite(kf)) and np.all(np.isfinite(kr))):
                    raise SolverError(_run_name(r), "rate constants overflow at these parameters")
                system = (model, rate_params, kf, kr, np.zeros(1 + len(r.initial)),
                          np.zeros(max(2 * m, 1)))
                self.n_solves += 1
                if r.kind == "cstr":
                    states, _ = steady_cstr_cascade(system, r.initial, float(r.times[0]), 1,
                                                    self.options, operation=_run_name(r))
                    out.append(states[-1][None, :].copy())
                    continue
                times, inverse = self._times[k]
                _, y = integrate(system, BATCH, r.initial, float(times[-1]), self.options,
                                 t_eval=times, record=False, operation=_run_name(r))
                out.append(y[inverse])
        finally:
            self.time_in_model += _time.perf_counter() - t0
        return out

    def residuals(self, theta):
        """Weighted residuals (prediction - observation)/σ over every measured value."""
        self.n_evaluations += 1
        if not self.ensemble:
            try:
                pred = self.predict(theta)
            except SolverError:
                self.n_failed += 1
                return np.full(self.n_obs, FAILED_RESIDUAL)
            return self._stack(pred)
        joint = self.JOINT_EVALUATION and self.jacobian_method != "fd"
        try:
            try:
                pred, _ = self._solve_runs(theta, sensitivities=joint)
            except SolverError:
                if not joint:
                    raise
                # the states alone may still solve where their sensitivities do not
                # (the Jacobian then falls back to differences)
                pred, _ = self._solve_runs(theta)
        except SolverError:
            self.n_failed += 1
            return np.full(self.n_obs, FAILED_RESIDUAL)
        res = (pred.ravel()[self._obs_index] - self._obs_value) / self._observation_sigma()
        if not np.all(np.isfinite(res)):
            self.n_failed += 1
            return np.full(self.n_obs, FAILED_RESIDUAL)
        return res

    def _stack(self, pred):
        parts = [((p - r.observed) / s)[mask]
                 for p, r, s, mask in zip(pred, self.data.runs, self.sigma, self.masks)]
        res = np.concatenate(parts)
        if not np.all(np.isfinite(res)):
            self.n_failed += 1
            return np.full(self.n_obs, FAILED_RESIDUAL)
        return res

    def jacobian(self, theta):
        """d residuals / d θ (n_obs x p): forward sensitivities from the kernel
        when available, else central finite differences."""
        self.n_jacobians += 1
        sens = self._sensitivity_jacobian(theta)
        if sens is not None:
            return sens
        return self.fd_jacobian(theta)

    def fd_jacobian(self, theta, step=1e-6):
        """Central finite differences of the residuals (the check of the sensitivities)."""
        theta = np.asarray(theta, float)
        J = np.empty((self.n_obs, theta.size))
        for k in range(theta.size):
            h = step * max(1.0, abs(theta[k]))
            tp, tm = theta.copy(), theta.copy()
            tp[k] += h
            tm[k] -= h
            try:
                if self.ensemble:
                    rp = self._flat_residuals(tp)
                    rm = self._flat_residuals(tm)
                else:
                    rp = self._stack(self.predict(tp))
                    rm = self._stack(self.predict(tm))
            except SolverError:
                self.n_failed += 1
                J[:, k] = 0.0
                continue
            J[:, k] = (rp - rm) / (2 * h)
        return J

    def _flat_residuals(self, theta):
        pred, _ = self._solve_runs(theta)
        res = (pred.ravel()[self._obs_index] - self._obs_value) / self._observation_sigma()
        if not np.all(np.isfinite(res)):
            self.n_failed += 1
            return np.full(self.n_obs, FAILED_RESIDUAL)
        return res

    def _sensitivity_jacobian(self, theta):
        """Residual Jacobian from forward sensitivities integrated in the kernel:
        every run in one compiled call (:mod:`kernels.fit_ensemble`, block
        Rodas5P of :mod:`kernels.rosenbrock_sens`), reusing the sensitivities of
        the last residual evaluation when it was at the same θ."""
        if self.jacobian_method == "fd":
            return None
        if not self.ensemble:
            return self._sensitivity_jacobian_per_run(theta)
        theta = np.asarray(theta, dtype=np.float64)
        last = self._last_sens
        if last is not None and np.array_equal(last[0], theta):
            sens = last[2]
        else:
            try:
                _, sens = self._solve_runs(theta, sensitivities=True)
            except (SolverError, InputError):
                self.n_failed += 1
                return None
        p = sens.shape[2]
        J = sens.reshape(-1, p)[self._obs_index] / self._observation_sigma()[:, None]
        return J if np.all(np.isfinite(J)) else None

    def _sensitivity_jacobian_per_run(self, theta):
        """The residual Jacobian through :mod:`flowchem.reactors.sensitivity`:
        one augmented solve (BDF) per run (other integrators than Rodas5P, and
        the reference of the compiled ensemble)."""
        from ..reactors.sensitivity import batch_sensitivities, cstr_sensitivities, kernel_arrays

        model, rate_params = kernel_arrays(self.pmap, theta)
        M = self.pmap.M
        parts = []
        t0 = _time.perf_counter()
        try:
            for k, (r, s, mask) in enumerate(zip(self.data.runs, self.sigma, self.masks)):
                self.n_solves += 1
                if r.kind == "cstr":
                    _, d = cstr_sensitivities(model, rate_params, r.T, r.initial, float(r.times[0]), M,
                                              options=self.sensitivity_options,
                                              operation=_run_name(r))
                    dy = d[-1][None, :, :]
                else:
                    times, inverse = self._times[k]
                    _, dy = batch_sensitivities(model, rate_params, r.T, r.initial, times, M,
                                                options=self.sensitivity_options,
                                                operation=_run_name(r))
                    dy = dy[inverse]
                parts.append((dy / s[:, :, None])[mask])
        except (SolverError, InputError):
            # a parameter set the sensitivity solve cannot handle: fall back to differences
            self.n_failed += 1
            return None
        finally:
            self.time_in_model += _time.perf_counter() - t0
        J = np.concatenate(parts, axis=0)
        return J if np.all(np.isfinite(J)) else None


def _run_name(run):
    rows = f"rows {run.rows[0]}-{run.rows[-1]}" if len(run.rows) > 1 else f"row {run.rows[0]}"
    return f"experiment {run.experiment} ({run.kind}, {rows})"


# ----------------------------------------------------------------------------- result

@dataclass
class FitResult:
    """Estimates, their uncertainty and diagnostics of a kinetic fit."""

    problem: FitProblem
    theta: np.ndarray
    cost: float                      # S = sum of squared weighted residuals
    residuals: np.ndarray
    jacobian: np.ndarray
    success: bool
    message: str
    starts: list = field(default_factory=list)   # (start θ, final S, status) per start
    elapsed_s: float = 0.0
    profiles: dict = field(default_factory=dict)

    def __post_init__(self):
        p = self.problem.pmap
        self.names = list(p.names)
        self.values = p.user_values(self.theta)
        cov, s2, dof, rank = fs.linearised_covariance(self.jacobian, self.residuals)
        self.covariance_theta = cov
        self.s2, self.dof, self.rank = s2, dof, rank
        G = p.user_gradient(self.theta)
        # a non-identifiable direction has an infinite variance (inf x 0 terms)
        with np.errstate(invalid="ignore"):
            self.covariance = G @ cov @ G.T
            # natural coordinates (logs of positive parameters) for intervals and correlation
            Nc = p.N @ cov @ p.N.T
        self.covariance_natural = Nc
        self.correlation = fs.correlation_from_covariance(Nc)
        self.unidentified = self._null_directions(cov)
        nat = p.natural(self.theta)
        self.std_errors = np.sqrt(np.clip(np.diag(self.covariance), 0, None))
        se_nat = np.sqrt(np.clip(np.diag(Nc), 0, None))
        self.ci95 = []
        # the t quantile once (fs.t_interval of a unit interval): scipy's ppf costs
        # a quarter of a millisecond per call, a tenth of a small fit
        _, t_quantile = fs.t_interval(0.0, 1.0, dof)
        for q, x, se, v in zip(p.params, nat, se_nat, self.values):
            lo, hi = x - t_quantile * se, x + t_quantile * se
            if q.positive:
                self.ci95.append((_exp(lo), _exp(hi)))
            else:
                scale = p._user_slope(q, x)
                self.ci95.append((lo * scale, hi * scale))
        self.n_observations = self.problem.n_obs
        self.n_parameters = p.n
        self.information = fs.information_criteria(self.cost, self.n_observations, p.n, weighted=False)
        self.warnings = self._warnings()

    # -- diagnostics ---------------------------------------------------------
    def _null_directions(self, cov):
        """Groups of parameters that move together along directions the data
        do not see (the null space of J, in the user's coordinates); on those
        pairs the correlation is ±1 (the limit of a nearly singular J)."""
        if self.rank >= len(self.names):
            return []
        _, sv, Vt = np.linalg.svd(self.jacobian, full_matrices=False)
        groups = []
        for v in Vt[self.rank:]:
            w = self.problem.pmap.N @ v
            w = w / np.max(np.abs(w))
            # every parameter the unseen direction moves above round-off: along
            # k1 + k2 = const with k1 << k2, ln k2 moves only by k1/k2 of ln k1
            members = [i for i in range(w.size) if abs(w[i]) > NULL_MEMBER_TOL]
            groups.append([self.names[i] for i in members])
            for a in members:
                for b in members:
                    if a != b:
                        self.correlation[a, b] = float(np.sign(w[a] * w[b]))
        return groups

    def _warnings(self):
        out = []
        names = self.names
        if self.rank < len(names):
            seen = ", ".join(" with ".join(g) for g in self.unidentified if len(g) > 1)
            out.append(f"the data determine only {self.rank} of {len(names)} parameter directions: "
                       "some parameters are not identifiable from these data"
                       + (f" ({seen} move together unseen)" if seen else ""))
        C = self.correlation
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if np.isfinite(C[i, j]) and abs(C[i, j]) > 0.95:
                    out.append(f"{names[i]} and {names[j]} are correlated ({C[i, j]:+.3f}): the data "
                               "hardly separate them")
        for q, (lo, hi), v in zip(self.problem.pmap.params, self.ci95, self.values):
            if q.positive:
                wide = not (lo > 0 and hi / lo <= 100.0)  # interval spans more than x10 either way
            else:
                wide = not (np.isfinite(lo) and np.isfinite(hi)) or (
                    v != 0 and (hi - lo) > 10.0 * abs(v))
            if wide:
                out.append(f"{q.name}: the 95 % interval spans more than a factor of ten: not "
                           "identifiable from these data")
        if not self.success:
            out.append(f"the optimiser did not report convergence: {self.message}")
        return out

    def predictions(self):
        return self.problem.predict(self.theta)

    def rmse(self):
        """RMSE of the (unweighted) concentration residuals, mol/m^3, per species
        and per experiment."""
        pred = self.predictions()
        data = self.problem.data
        per_species, per_experiment = {}, {}
        for k, sp in enumerate(data.species):
            d = np.concatenate([(p[:, k] - r.observed[:, k])[np.isfinite(r.observed[:, k])]
                                for p, r in zip(pred, data.runs)])
            if d.size:
                per_species[sp] = float(np.sqrt(np.mean(d ** 2)))
        for name in data.experiments():
            d = np.concatenate([(p - r.observed)[np.isfinite(r.observed)]
                                for p, r in zip(pred, data.runs) if r.experiment == name])
            if d.size:
                per_experiment[name] = float(np.sqrt(np.mean(d ** 2)))
        return per_species, per_experiment

    def lack_of_fit(self):
        """F-test of lack of fit from replicates (samples of one run at one time),
        or None without replicates (Draper and Smith, Applied Regression
        Analysis, 3rd ed., sec. 2.1)."""
        pure, dof_pure = 0.0, 0
        for r, s in zip(self.problem.data.runs, self.problem.sigma):
            for t in np.unique(r.times):
                rows = np.flatnonzero(r.times == t)
                if rows.size < 2:
                    continue
                block = r.observed[rows] / s[rows]
                for k in range(block.shape[1]):
                    col = block[:, k][np.isfinite(block[:, k])]
                    if col.size > 1:
                        pure += float(np.sum((col - col.mean()) ** 2))
                        dof_pure += col.size - 1
        if dof_pure == 0:
            return None
        dof_lof = self.dof - dof_pure
        if dof_lof <= 0 or pure <= 0:
            return None
        F = ((self.cost - pure) / dof_lof) / (pure / dof_pure)
        from scipy import stats

        return {"F": float(F), "dof": [int(dof_lof), int(dof_pure)],
                "p_value": float(stats.f.sf(F, dof_lof, dof_pure))}

    # -- output --------------------------------------------------------------
    def to_dict(self):
        """The JSON fit report of DESIGN.md (SI values)."""
        per_species, per_experiment = self.rmse()
        params = {}
        for i, name in enumerate(self.names):
            entry = {"value": float(self.values[i]), "std_error": _num(self.std_errors[i]),
                     "ci95": [_num(self.ci95[i][0]), _num(self.ci95[i][1])]}
            if name in self.profiles:
                entry["profile_ci95"] = [_num(x) for x in self.profiles[name]["interval"]]
            params[name] = entry
        info = self.information
        prob = self.problem
        return {
            "parameters": params,
            "rmse": per_species,
            "rmse_by_experiment": per_experiment,
            "aic": _num(info["aic"]), "aicc": _num(info["aicc"]), "bic": _num(info["bic"]),
            "correlation": {"names": self.names,
                            "matrix": [[_num(x) for x in row] for row in self.correlation]},
            "sum_of_squares": float(self.cost),
            "residual_variance": _num(self.s2),
            "n_observations": int(self.n_observations),
            "n_parameters": int(self.n_parameters),
            "degrees_of_freedom": int(self.dof),
            "weights": prob.weights.mode,
            "T_center_K": prob.pmap.T_center,
            # linearised covariance in the scaled fitting coordinates θ at T_center_K
            # (ln k(T_c), Ea/(R T_c), ...: flowchem.chemistry.parameters); Monte Carlo
            # studies draw θ from it (uncertainty: {fit_report: ...})
            "covariance_scaled": {"names": self.names,
                                  "theta": [_num(x) for x in self.theta],
                                  "matrix": [[_num(x) for x in row]
                                             for row in self.covariance_theta]},
            "lack_of_fit": self.lack_of_fit(),
            "warnings": list(self.warnings),
            "converged": bool(self.success),
            # counts of the estimation itself; profiles and reports add their own solves
            "optimizer": {"method": "trf", "message": self.message, "starts": len(self.starts) or 1,
                          **(getattr(self, "counts", None) or prob.counters()),
                          "time_s": self.elapsed_s},
        }

    def table(self):
        """Plain-text table of the estimates."""
        from ..reporting.fit_report import parameter_unit
        from ..reporting.numbers import significant

        lines = [f"{'parameter':<22s} {'estimate':>12s} {'std. error':>12s}   95 % interval"]
        for i, name in enumerate(self.names):
            lo, hi = self.ci95[i]
            unit = parameter_unit(self, i)
            interval = f"[{significant(lo)}, {significant(hi)}]"
            if name in self.profiles:
                plo, phi = self.profiles[name]["interval"]
                interval += f"  profile [{significant(plo)}, {significant(phi)}]"
            lines.append(f"{name:<22s} {significant(self.values[i]):>12s} "
                         f"{significant(self.std_errors[i]):>12s}   {interval} {unit}".rstrip())
        per_species, _ = self.rmse()
        lines.append("")
        lines.append(f"S = {significant(self.cost)} over {self.n_observations} values, "
                     f"{self.dof} degrees of freedom; AICc {significant(self.information['aicc'])}, "
                     f"BIC {significant(self.information['bic'])}")
        lines.append("RMSE (mol/m3): " + ", ".join(f"{k} {significant(v, 3)}"
                                                  for k, v in per_species.items()))
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def mechanism(self):
        """The mechanism with the fitted values."""
        return self.problem.pmap.mechanism_with(self.theta)


def _exp(x):
    return math.exp(x) if x < 709.0 else math.inf


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


# ----------------------------------------------------------------------------- fitting

def _start_box(pmap, theta0, lower, upper):
    """A box around θ0 in which multi-start draws: two decades either way for
    log parameters, ±10 in Ea/(R T_c), ±1 for orders and b, clipped to bounds."""
    lo, hi = theta0.copy(), theta0.copy()
    for i, q in enumerate(pmap.params):
        if q.positive or (q.target in ("rate", "reverse") and q.key in ("A", "k", "k_ref")):
            w = math.log(100.0)
        elif q.key in ("Ea", "dH"):
            w = 10.0
        else:
            w = 1.0
        lo[i] -= w
        hi[i] += w
    lo = np.maximum(lo, np.where(np.isfinite(lower), lower, -np.inf))
    hi = np.minimum(hi, np.where(np.isfinite(upper), upper, np.inf))
    return lo, hi


def _solve(problem, theta_start, max_nfev=None):
    from scipy.optimize import least_squares

    # strictly inside the bounds, as the trust-region-reflective method requires
    with np.errstate(invalid="ignore"):
        lo = np.where(np.isfinite(problem.lower), problem.lower + 1e-10 * (1 + np.abs(problem.lower)),
                      -np.inf)
        hi = np.where(np.isfinite(problem.upper), problem.upper - 1e-10 * (1 + np.abs(problem.upper)),
                      np.inf)
    x0 = np.clip(theta_start, lo, hi)
    res = least_squares(problem.residuals, x0, jac=problem.jacobian,
                        bounds=(problem.lower, problem.upper), method="trf",
                        x_scale=1.0, xtol=OPTIMIZER_TOL, ftol=OPTIMIZER_TOL, gtol=1e-12,
                        max_nfev=max_nfev or 200 * (len(x0) + 1))
    return res


def fit(mechanism, data, params, *, weights="absolute", starts=1, bounds=None, start=None,
        options=None, profile=False, seed=1, progress=None, jacobian="auto"):
    """Fit kinetic parameters of ``mechanism`` to ``data``.

    Parameters
    ----------
    mechanism : Mechanism or path
    data : ExperimentalData or path to the tidy CSV of DESIGN.md
    params : list of str or comma-separated str
        Parameters to estimate (``r1.k_ref``, ``r1.Ea``, ...); the others stay
        as the mechanism has them.
    weights : "absolute", "relative" or mapping species -> standard deviation
    starts : int
        Number of starts: the mechanism's values, then Latin-hypercube draws
        in the scaled space; the best optimum is kept.
    bounds : mapping name -> (lo, hi), optional (user form, SI)
    start : mapping name -> value, optional
        Starting values instead of the mechanism's (user form, SI).
    profile : bool or list of str
        Profile-likelihood intervals for all (True) or the named parameters.
    progress : callable, optional
        ``progress(i, n, best_S)`` after each start.

    Returns
    -------
    FitResult
    """
    from ..chemistry.mechanism import Mechanism, load_mechanism

    if not isinstance(mechanism, Mechanism):
        mechanism = load_mechanism(mechanism)
    if not isinstance(data, ExperimentalData):
        data = read_experiments(data, mechanism.species_names)
    t_start = _time.perf_counter()
    problem = FitProblem(mechanism, data, params, weights, options, bounds, jacobian)
    pmap = problem.pmap
    theta0 = pmap.theta0.copy()
    if start:
        values = pmap.user_values(theta0)
        for name, v in start.items():
            if name not in pmap.names:
                raise InputError(f"start names {name!r}, which is not a fitted parameter", "<fit>",
                                 "start")
            values[pmap.names.index(name)] = float(v)
        theta0 = pmap.theta_from_user(values)
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
        raise InputError(f"starts must be a whole number of at least 1, got {starts!r}", "<fit>",
                         "starts")
    candidates = [theta0]
    if starts > 1:
        from scipy.stats import qmc

        lo, hi = _start_box(pmap, theta0, problem.lower, problem.upper)
        draws = qmc.LatinHypercube(d=pmap.n, seed=seed).random(starts - 1)
        candidates += list(qmc.scale(draws, lo, hi))
    best, record = None, []
    for i, th in enumerate(candidates):
        res = _solve(problem, th)
        cost = float(2.0 * res.cost)
        record.append({"start": pmap.user_values(th).tolist(), "S": cost, "status": res.message})
        if best is None or cost < 2.0 * best.cost:
            best = res
        if progress is not None:
            progress(i + 1, len(candidates), 2.0 * best.cost)
    if np.all(best.fun == FAILED_RESIDUAL):
        raise SolverError("fit", "no parameter set tried could be solved; check the mechanism "
                                 "and the starting values")
    J = problem.jacobian(best.x)
    result = FitResult(problem, best.x.copy(), float(best.fun @ best.fun), best.fun.copy(), J,
                       bool(best.success), str(best.message), record,
                       _time.perf_counter() - t_start)
    result.counts = problem.counters()
    if profile:
        names = pmap.names if profile is True else list(profile)
        for name in names:
            result.profiles[name] = profile_parameter(result, name)
        result.warnings = result._warnings() + _profile_warnings(result)
    result.elapsed_s = _time.perf_counter() - t_start
    return result


# ----------------------------------------------------------------------------- profiles

def profile_parameter(result, name, level=0.95, max_steps=40):
    """Profile-likelihood interval of one parameter: the values where the sum of
    squares, re-minimised over the other parameters, reaches the F-test
    threshold S_min (1 + F(level; 1, n - p)/(n - p)).

    Returns ``{"interval": (lo, hi), "values": [...], "S": [...], "threshold"}``
    in the user's form; a side that never reaches the threshold is ±inf
    (0 for a positive parameter's lower side).
    """
    from scipy.optimize import least_squares

    problem = result.problem
    pmap = problem.pmap
    if name not in pmap.names:
        raise InputError(f"cannot profile {name!r}: not a fitted parameter", "<fit>", "profile")
    i = pmap.names.index(name)
    q = pmap.params[i]
    p = pmap.n
    threshold = fs.profile_threshold(result.cost, result.n_observations, p, level)
    nat_hat = pmap.natural(result.theta)
    Ninv = np.linalg.inv(pmap.N)
    others = [k for k in range(p) if k != i]
    se = math.sqrt(result.covariance_natural[i, i]) if np.isfinite(result.covariance_natural[i, i]) else 0.0
    # at most one unit of the natural coordinate (a factor e in k): a near-singular
    # covariance gives huge standard errors, and a first step of that size lands on
    # a plateau (k -> 0 or overflow) where the other parameters cannot be re-fitted
    step0 = min(se, 1.0) if se > 0 else max(0.05 * abs(nat_hat[i]), 0.05)

    def theta_of(v, rest):
        nat = nat_hat.copy()
        nat[i] = v
        nat[others] = rest
        return Ninv @ (nat - pmap.natural_offset)

    dtheta_drest = Ninv[:, others]

    def refit(v, rest0):
        if not others:
            th = theta_of(v, np.zeros(0))
            r = problem.residuals(th)
            return float(r @ r), np.zeros(0)
        fun = lambda rest: problem.residuals(theta_of(v, rest))  # noqa: E731
        # the sensitivity Jacobian in the profiled coordinates (each evaluation
        # already integrates it, JOINT_EVALUATION), not differences of solves
        jac = lambda rest: problem.jacobian(theta_of(v, rest)) @ dtheta_drest  # noqa: E731
        sol = least_squares(fun, rest0, jac=jac, method="trf", xtol=1e-10, ftol=1e-10,
                            max_nfev=100 * (len(rest0) + 1))
        return float(2.0 * sol.cost), sol.x

    failed_cost = problem.n_obs * FAILED_RESIDUAL ** 2
    values, costs = [nat_hat[i]], [result.cost]
    ends = []
    for direction in (-1.0, 1.0):
        rest = nat_hat[others].copy()
        v_prev, s_prev = nat_hat[i], result.cost
        step = step0
        end = direction * math.inf
        for _ in range(max_steps):
            v = v_prev + direction * step
            if q.target == "order" and v < 0 or q.key == "Ea" and v < 0:
                end = 0.0 if direction < 0 else end
                break
            s, rest_new = refit(v, rest)
            values.append(v)
            costs.append(s)
            # (a failed solve has every residual at FAILED_RESIDUAL: S = n FAILED_RESIDUAL^2;
            # a large S is not a failure)
            if s >= threshold and s < failed_cost:
                # bisect between the last point inside and this one
                a, b, sa, sb = v_prev, v, s_prev, s
                for _ in range(12):
                    mid = 0.5 * (a + b)
                    sm, rm = refit(mid, rest)
                    values.append(mid)
                    costs.append(sm)
                    if sm >= threshold:
                        b, sb = mid, sm
                    else:
                        a, sa, rest = mid, sm, rm
                    if abs(b - a) < 1e-4 * max(step0, 1e-12):
                        break
                # linear interpolation of the crossing
                end = a + (threshold - sa) * (b - a) / (sb - sa) if sb > sa else b
                break
            v_prev, s_prev, rest = v, s, rest_new
            step *= 1.5
        ends.append(end)
    order = np.argsort(values)
    to_user = lambda x: pmap._to_user(q, x) if np.isfinite(x) else (  # noqa: E731
        (0.0 if q.positive else -math.inf) if x < 0 else math.inf)
    interval = (to_user(ends[0]), to_user(ends[1]))
    return {"interval": interval,
            "values": [pmap._to_user(q, values[k]) for k in order],
            "S": [costs[k] for k in order],
            "threshold": threshold}


def _profile_warnings(result):
    out = []
    for name, prof in result.profiles.items():
        lo, hi = prof["interval"]
        if not (np.isfinite(lo) and np.isfinite(hi)) or (lo <= 0 < hi and
                                                            result.problem.pmap.params[result.names.index(name)].positive):
            out.append(f"{name}: the profile likelihood does not close on both sides: not "
                       "identifiable from these data")
    return out


# ----------------------------------------------------------------------------- discrimination

def candidate_row(label, res):
    """One row of the model-discrimination table."""
    return {"label": label, "n_parameters": res.n_parameters, "S": res.cost,
            "aicc": res.information["aicc"], "bic": res.information["bic"],
            "n_observations": res.n_observations}


def compare_models(candidates, data, **kwargs):
    """Fit several candidate mechanisms to the same data and rank them.

    ``candidates`` is a list of ``(label, mechanism, params)``. Returns
    ``(table, fits)``: rows sorted by AICc with ``label``, ``n_parameters``,
    ``S``, ``aicc``, ``delta_aicc``, ``akaike_weight``, ``bic``, and the
    :class:`FitResult` of each (a candidate whose fit fails has its error
    message in ``error``).
    """
    from ..chemistry.mechanism import Mechanism, load_mechanism

    fits, rows = {}, []
    for label, mech, params in candidates:
        if not isinstance(mech, Mechanism):
            mech = load_mechanism(mech)
        d = data if isinstance(data, ExperimentalData) else read_experiments(data, mech.species_names)
        try:
            res = fit(mech, d, params, **kwargs)
        except SolverError as exc:
            rows.append({"label": label, "error": str(exc)})
            continue
        fits[label] = res
        rows.append(candidate_row(label, res))
    return rank_candidates(rows), fits


def rank_candidates(rows):
    """Sort candidate rows by AICc and add ``delta_aicc`` and ``akaike_weight``;
    refuses candidates fitted to different numbers of measurements."""
    ok = [r for r in rows if "error" not in r]
    if len({r["n_observations"] for r in ok}) > 1:
        raise InputError("the candidates see different numbers of measurements, so their AICc "
                         "cannot be compared (the data must name the same species in each)", "<fit>")
    weights = fs.akaike_weights([r["aicc"] for r in ok])
    best = min((r["aicc"] for r in ok), default=math.nan)
    for r, w in zip(ok, weights):
        r["delta_aicc"] = r["aicc"] - best
        r["akaike_weight"] = float(w)
    return sorted(rows, key=lambda r: r.get("aicc", math.inf))
