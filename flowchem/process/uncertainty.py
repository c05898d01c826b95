"""Monte Carlo probability of success over a design space: kinetic
parameters drawn from their uncertainty, every point of a sweep evaluated
for every draw.

A sweep file with ``uncertainty:`` (DESIGN.md "Study files") adds table
columns ``probability_of_success`` (with a ``spec:``) and ``COLUMN.p05``,
``COLUMN.p95`` for every KPI column::

    uncertainty: {fit_report: report.json}      # flowchem fit --json
    uncertainty:
      parameters: {r1.k_ref: 10 %, r1.Ea: 3 kJ/mol}
      level: 0.9                                 # contour drawn on the map (default 0.9)
    samples: 500
    seed: 1

Distributions
-------------
* ``fit_report:``: a multivariate normal in the report's scaled parameters
  θ (``covariance_scaled`` of the report: the linearised covariance of the
  fit, in the fitting coordinates at the report's centre temperature), centred
  on the fitted values;
* ``parameters:``: independent standard errors in the user's parameters. A
  percentage on a positive parameter (k, A, k_ref, K_ref) means a log-normal
  with that relative standard deviation (coefficient of variation ``cv``:
  ln k normal with median the mechanism's value and ``σ = sqrt(ln(1 + cv²))``);
  a number on a positive parameter is an absolute standard deviation (SI),
  read as ``cv = std / value``; ``Ea`` and ``dH`` take an energy per mole
  (``3 kJ/mol``) or a percentage of their value; ``b`` and orders a plain
  number. Those are normal.

All points share the same draws (common random numbers: the map is smooth),
seeded by ``seed:``. The points x samples rows are evaluated as one ensemble
(the study's points repeated, θ tiled) in chunks of whole points, never one
call per sample. A draw whose point fails counts as a failure of the
specification; percentiles are over the draws that solved.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np

from ..core.errors import InputError, Location
from ..core.units import GAS_CONSTANT, parse_quantity
from .study_table import OK

__all__ = ["KineticUncertainty", "parse_uncertainty", "monte_carlo_columns",
           "write_uncertainty_figures", "UNCERTAINTY_KEYS", "DEFAULT_LEVEL"]

UNCERTAINTY_KEYS = ("fit_report", "parameters", "level")
DEFAULT_LEVEL = 0.9
# rows per ensemble call (whole points per chunk)
CHUNK_ROWS = 200_000
_PERCENT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*%\s*$")


class KineticUncertainty:
    """The distribution of a mechanism's kinetic parameters in scaled θ.

    Attributes
    ----------
    pmap : ParameterMap
    mean : ndarray (p,)
        θ at the centre of the distribution.
    factor : ndarray (p, p)
        ``θ = mean + factor @ z`` with z standard normal.
    level : float
        Probability contour drawn on the map.
    """

    def __init__(self, pmap, mean, factor, level=DEFAULT_LEVEL):
        self.pmap = pmap
        self.mean = np.asarray(mean, dtype=float)
        self.factor = np.asarray(factor, dtype=float)
        self.level = float(level)

    @property
    def names(self):
        return list(self.pmap.names)

    def sample(self, n, seed):
        """(n, p) draws of θ, reproducible for a given seed."""
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((int(n), len(self.mean)))
        return self.mean + z @ self.factor.T


def _covariance_factor(C, where):
    """A square root of a covariance matrix (Cholesky, or eigenvalues clipped at 0)."""
    C = np.asarray(C, dtype=float)
    if not np.all(np.isfinite(C)):
        raise where.error("the covariance has non-finite entries (a parameter the data "
                          "do not determine); fix or drop that parameter and fit again")
    C = 0.5 * (C + C.T)
    try:
        return np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        w, Q = np.linalg.eigh(C)
        if w.min() < -1e-8 * max(abs(w.max()), 1e-300):
            raise where.error("the covariance is not positive semi-definite") from None
        return Q * np.sqrt(np.clip(w, 0.0, None))


def _parameter_map(mechanism, names, T_center, where):
    from ..chemistry.parameters import ParameterMap

    try:
        return ParameterMap(mechanism, list(names), T_center)
    except InputError as exc:
        raise where.error(exc.problem if hasattr(exc, "problem") else str(exc)) from None


def _from_fit_report(spec, mechanism, where, base_dir):
    if not isinstance(spec, str) or not spec.strip():
        raise where.error(f"expected the file name of a 'flowchem fit --json' report, got {spec!r}")
    path = Path(spec) if Path(spec).is_absolute() else Path(base_dir) / spec
    if not path.is_file():
        raise where.error(f"fit report {spec!r} not found (relative to the study file)")
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise where.error(f"cannot read the fit report {spec!r}: {exc}") from None
    cov = report.get("covariance_scaled") if isinstance(report, dict) else None
    params = report.get("parameters") if isinstance(report, dict) else None
    if not isinstance(cov, dict) or not isinstance(params, dict) or "T_center_K" not in report:
        raise where.error(f"{spec!r} has no 'covariance_scaled' and 'T_center_K': write it with "
                          "'flowchem fit --json' of this version")
    names = cov.get("names")
    matrix = cov.get("matrix")
    if not isinstance(names, list) or not names or any(n not in params for n in names):
        raise where.error(f"{spec!r}: 'covariance_scaled.names' does not match 'parameters'")
    C = np.array([[math.nan if x is None else x for x in row] for row in matrix], dtype=float)
    if C.shape != (len(names), len(names)):
        raise where.error(f"{spec!r}: 'covariance_scaled.matrix' is not {len(names)} x {len(names)}")
    pmap = _parameter_map(mechanism, names, float(report["T_center_K"]), where)
    values = [params[n]["value"] for n in names]
    try:
        mean = pmap.theta_from_user(values)
    except InputError as exc:
        raise where.error(str(exc)) from None
    return pmap, mean, _covariance_factor(C, where)


def _from_standard_errors(spec, mechanism, where):
    from ..core.yamlio import check_mapping

    check_mapping(spec, where, "a mapping PARAMETER: STANDARD ERROR (e.g. r1.k_ref: 10 %)")
    if not spec:
        raise where.error("no parameters: give e.g. {r1.k_ref: 10 %}")
    names = list(spec)
    pmap = _parameter_map(mechanism, names, 298.15, where)
    theta0 = pmap.theta0
    user0 = pmap.user_values(theta0)
    sd_natural = np.empty(len(names))
    for i, (name, p) in enumerate(zip(names, pmap.params)):
        loc = where.key(name)
        text = spec[name]
        positive = p.positive and p.target != "order" and p.key not in ("b",)
        pct = _PERCENT.match(text) if isinstance(text, str) else None
        if pct:
            rel = float(pct.group(1)) / 100.0
            if not rel >= 0:
                raise loc.error(f"expected a non-negative standard error, got {text!r}")
            if positive:
                sd = math.sqrt(math.log1p(rel * rel))           # log-normal, cv = rel
            else:
                sd = rel * abs(user0[i]) * _user_to_natural(pmap, p)
        else:
            if p.key in ("Ea", "dH"):
                sd_user = parse_quantity(text, "energy", None, loc, nonnegative=True)
            else:
                if isinstance(text, bool) or not isinstance(text, (int, float)) \
                        or not math.isfinite(text) or text < 0:
                    raise loc.error(f"expected a standard error (a number >= 0 or a percentage "
                                    f"such as '10 %'), got {text!r}")
                sd_user = float(text)
            if positive:
                sd = math.sqrt(math.log1p((sd_user / user0[i]) ** 2))
            else:
                sd = sd_user * _user_to_natural(pmap, p)
        sd_natural[i] = sd
    # independent in the natural coordinates (natural = N θ + n0)
    factor = np.linalg.solve(pmap.N, np.diag(sd_natural))
    return pmap, theta0, factor


def _user_to_natural(pmap, p):
    """d natural / d user for a parameter that is not in logarithms."""
    if p.key in ("Ea", "dH"):
        return 1.0 / (GAS_CONSTANT * pmap.T_center)
    return 1.0


def parse_uncertainty(spec, mechanism, where, base_dir="."):
    """A :class:`KineticUncertainty` from the ``uncertainty:`` mapping of a study file."""
    from ..core.yamlio import check_keys, check_mapping

    where = Location.coerce(where)
    check_mapping(spec, where, "{fit_report: FILE} or {parameters: {NAME: STD ERROR}}")
    check_keys(spec, UNCERTAINTY_KEYS, where)
    if ("fit_report" in spec) == ("parameters" in spec):
        raise where.error("give either 'fit_report:' or 'parameters:'")
    level = spec.get("level", DEFAULT_LEVEL)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise where.key("level").error(f"expected a probability between 0 and 1, got {level!r}")
    if "fit_report" in spec:
        pmap, mean, factor = _from_fit_report(spec["fit_report"], mechanism,
                                              where.key("fit_report"), base_dir)
    else:
        pmap, mean, factor = _from_standard_errors(spec["parameters"], mechanism,
                                                   where.key("parameters"))
    return KineticUncertainty(pmap, mean, factor, level)


def _column_values(study, X, values, column):
    names = [f.name for f in study.factors]
    if column in names:
        return X[:, names.index(column)]
    return values[:, list(study.columns).index(column)]


def monte_carlo_columns(study, X, spec, settings, workers=1, scheduler=None, progress=None):
    """The Monte Carlo columns of a study table.

    Parameters
    ----------
    study : Study
    X : array (n_points, n_factors)
        SI points.
    spec : list of Constraint
        The specification (may be empty: no ``probability_of_success``).
    settings : dict
        ``uncertainty`` (the file's mapping), ``samples``, ``seed``, and
        optionally ``where`` (Location) and ``base_dir``.
    workers, scheduler, progress
        As :meth:`Study.evaluate`.

    Returns
    -------
    dict
        ``probability_of_success`` (with a spec), then ``COLUMN.p05`` and
        ``COLUMN.p95`` per KPI column: float arrays of n_points (NaN where
        no draw solved).
    """
    where = settings.get("where") or Location(getattr(study, "source", "<study>"), "uncertainty")
    unc = parse_uncertainty(settings["uncertainty"], study.route.mechanism, where,
                            settings.get("base_dir", getattr(study, "study_dir", ".")))
    samples = int(settings.get("samples", 200))
    thetas = unc.sample(samples, int(settings.get("seed", 0)))
    mc = study.with_kinetic(unc.pmap)
    X = np.asarray(X, dtype=float)
    n, S = X.shape[0], samples
    names = [f.name for f in study.factors]
    columns = list(study.columns)
    out = {}
    if spec:
        out["probability_of_success"] = np.full(n, np.nan)
    for c in columns:
        out[f"{c}.p05"] = np.full(n, np.nan)
        out[f"{c}.p95"] = np.full(n, np.nan)
    # statistics per chunk of whole points: memory stays at one chunk of draws
    per_chunk = max(1, CHUNK_ROWS // S)
    for start in range(0, n, per_chunk):
        stop = min(n, start + per_chunk)
        m = stop - start
        Xc = np.repeat(X[start:stop], S, axis=0)
        v, status = mc.evaluate(Xc, np.tile(thetas, (m, 1)), workers=workers, scheduler=scheduler)
        values = np.asarray(v, dtype=float).reshape(m, S, len(columns))
        ok = np.array([s == OK for s in status], dtype=bool).reshape(m, S)
        # empty impurity cells of solved draws: the species is not formed (0 mol %)
        for j, c in enumerate(columns):
            if c.startswith("product.impurity."):
                col = values[:, :, j]
                col[ok & np.isnan(col)] = 0.0
        values[~ok] = np.nan
        if spec:
            holds = ok.copy()
            for c in spec:
                if c.column in names:
                    cv = np.repeat(X[start:stop, names.index(c.column)][:, None], S, axis=1)
                else:
                    cv = values[:, :, columns.index(c.column)]
                holds &= c.holds(cv)
            out["probability_of_success"][start:stop] = holds.mean(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN rows: no draw solved
            for j, c in enumerate(columns):
                p05, p95 = np.nanpercentile(values[:, :, j], [5.0, 95.0], axis=1)
                out[f"{c}.p05"][start:stop] = p05
                out[f"{c}.p95"][start:stop] = p95
        if progress is not None:
            progress(stop, n)
    return out


def write_uncertainty_figures(result, out_dir):
    """The probability-of-success map of a Monte Carlo sweep (the design
    space): ``probability_of_success.png``; the file names written."""
    from ..reporting.study_plots import plot_probability_of_success

    if "probability_of_success" not in result.table:
        return []
    level = DEFAULT_LEVEL
    settings = getattr(result.study, "settings", None) or {}
    if isinstance(settings.get("uncertainty"), dict):
        level = settings["uncertainty"].get("level", DEFAULT_LEVEL)
    path = Path(out_dir) / "probability_of_success.png"
    plot_probability_of_success(result, path, level=level)
    return [path]
