"""The next best experiment: D-optimal ranking of candidate experiments.

From a fit's Jacobian J (weighted residuals by θ) the Fisher information of
the data is F = JᵀJ / s². A candidate experiment x (a batch run at
temperature T, sampled once at time t, from given initial concentrations)
adds F_x = J_xᵀJ_x / s², with J_x the weighted sensitivities of the species
the data measure. The D-optimal choice maximises det(F + F_x), i.e. the gain
ln det(F + F_x) - ln det(F), which shrinks the volume of the joint
confidence region the most (Atkinson, Donev and Tobias, *Optimum
Experimental Designs*, 2007, ch. 10); for each candidate the predicted new
standard errors come from diag((F + F_x)⁻¹).
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np

from ..core.errors import InputError
from ..core.units import parse_quantity
from .experiments import ExperimentalData, Run

__all__ = ["parse_grid", "suggest_experiments"]

_NUM = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*(?P<key>[A-Za-z_][\w.]*)\s*=\s*(?P<lo>{_NUM})\s*(?:\.\.\s*(?P<hi>{_NUM}))?"
                    r"\s*(?P<unit>[^:]*?)\s*(?::\s*(?P<n>\d+))?\s*$")


def parse_grid(text, species):
    """``"T=20..80 degC:7, time=1..120 min:10, A=0.5..1 mol/L:3"`` -> {key: values (SI)}.

    Keys: ``T`` (temperature), ``time`` (sample time), and a species name for
    its initial concentration. A single value (``T=50 degC``) is a grid of one.
    """
    grid = {}
    for part in [p for p in re.split(r",(?![^\[]*\])", text) if p.strip()]:
        m = _RANGE.match(part)
        if m is None:
            raise InputError(f"expected KEY=FROM..TO UNIT:N, got {part.strip()!r}", "--suggest")
        key = m.group("key")
        if key == "T":
            kind = "temperature"
        elif key == "time":
            kind = "time"
        elif key in species:
            kind = "concentration"
        else:
            raise InputError(f"unknown grid key {key!r} (T, time or a species name)", "--suggest", key)
        unit = m.group("unit")
        lo = parse_quantity(f"{m.group('lo')} {unit}".strip(), kind, None, f"--suggest {key}")
        if m.group("hi") is None:
            values = [lo]
        else:
            hi = parse_quantity(f"{m.group('hi')} {unit}".strip(), kind, None, f"--suggest {key}")
            n = int(m.group("n") or 5)
            if n < 1 or hi < lo:
                raise InputError(f"empty range for {key!r}", "--suggest", key)
            values = list(np.linspace(lo, hi, n)) if n > 1 else [lo]
        if kind != "temperature" and min(values) < 0:
            raise InputError(f"{key} must not be negative", "--suggest", key)
        if key == "time" and min(values) <= 0:
            raise InputError("sample times must be positive", "--suggest", key)
        grid[key] = values
    if "T" not in grid or "time" not in grid:
        raise InputError("the grid needs T and time (e.g. \"T=20..80 degC:7, time=1..120 min:10\")",
                         "--suggest")
    return grid


def suggest_experiments(result, grid, top=5, focus=None):
    """Rank the candidate batch experiments of ``grid`` by the D-optimal gain.

    ``result`` is a :class:`~flowchem.process.estimation.FitResult`; initial
    concentrations default to those of the data's first batch experiment
    (or first run), overridden by species keys of the grid. ``focus`` names
    the parameters whose intervals matter (Ds-optimality on them); default all.

    Returns a list of dicts sorted best first: ``T_K``, ``time_s``, the
    initial concentrations, ``gain`` (ln det ratio), and
    ``std_error_ratio`` (predicted new / current standard error per parameter).
    """

    problem = result.problem
    data = problem.data
    species = data.species
    base = next((r for r in data.runs if r.kind == "batch"), data.runs[0])
    s2 = result.s2 if np.isfinite(result.s2) and result.s2 > 0 else 1.0
    J = result.jacobian
    F = J.T @ J / s2
    names = result.names
    idx = list(range(len(names))) if not focus else [names.index(f) for f in focus]
    Finv = _safe_inverse(F)
    se_now = np.sqrt(np.clip(np.diag(Finv), 0, None))
    conc_keys = [k for k in grid if k in species]
    combos = list(itertools.product(grid["T"], *[grid[k] for k in conc_keys]))
    times = np.array(sorted(grid["time"]))
    rows = []
    for combo in combos:
        T = combo[0]
        c0 = base.initial.copy()
        for k, v in zip(conc_keys, combo[1:]):
            c0[species.index(k)] = v
        obs = np.zeros((times.size, len(species)))
        obs[:, [species.index(s) for s in data.measured]] = 1.0  # mask: measured species
        obs[obs == 0] = np.nan
        run = Run("candidate", "batch", float(T), c0, times, obs, [0] * times.size)
        cand = ExperimentalData([run], species, "<candidate>", list(data.measured))
        sub = problem.for_data(cand)
        sub.sigma = _candidate_sigma(problem, cand, sub, result.theta)
        Jc = sub.jacobian(result.theta)          # (times x measured) rows, p columns
        per_time = Jc.reshape(times.size, -1, Jc.shape[1])
        for t, block in zip(times, per_time):
            Fx = block.T @ block / s2
            gain = _logdet_gain(F, Fx, idx)
            new_se = np.sqrt(np.clip(np.diag(_safe_inverse(F + Fx)), 0, None))
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(se_now > 0, new_se / se_now, np.nan)
            row = {"T_K": float(T), "time_s": float(t), "gain": float(gain),
                   "std_error_ratio": {n: _num(r) for n, r in zip(names, ratio)}}
            row["initial_mol_per_m3"] = {s: float(c) for s, c in zip(species, c0) if c > 0}
            rows.append(row)
    rows.sort(key=lambda r: -r["gain"])
    return rows[:top] if top else rows


def _candidate_sigma(problem, cand, sub, theta):
    """σ of the candidate's future measurements, on the scale the fit used."""
    w = problem.weights
    if w.mode == "species":
        return w.sigma(cand)
    if w.mode == "relative":
        # proportional to the value the model predicts there, with the fit's floor
        floor = np.full(len(cand.species), np.inf)
        for r, s in zip(problem.data.runs, problem.sigma):
            floor = np.fmin(floor, np.nanmin(np.where(np.isfinite(r.observed), s, np.nan), axis=0,
                                             initial=np.inf))
        floor = np.where(np.isfinite(floor), floor, 1.0)
        pred = sub.predict(theta)
        return [np.maximum(np.abs(p), floor) for p in pred]
    return [np.ones_like(r.observed) for r in cand.runs]


def _safe_inverse(F):
    try:
        return np.linalg.inv(F)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(F)


def _logdet_gain(F, Fx, idx):
    """ln det of the information on the parameters ``idx`` after / before;
    for a subset, the information of the subset is the inverse of the
    corresponding block of the covariance (Ds-optimality)."""
    if len(idx) == F.shape[0]:
        s0, l0 = np.linalg.slogdet(F)
        s1, l1 = np.linalg.slogdet(F + Fx)
        return (l1 - l0) if s0 > 0 and s1 > 0 else math.inf if s1 > 0 else -math.inf
    C0 = _safe_inverse(F)[np.ix_(idx, idx)]
    C1 = _safe_inverse(F + Fx)[np.ix_(idx, idx)]
    s0, l0 = np.linalg.slogdet(C0)
    s1, l1 = np.linalg.slogdet(C1)
    return float(l0 - l1)


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None
