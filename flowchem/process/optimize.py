"""Constrained optimisation and Pareto fronts over a study's factors
(``flowchem optimize OPTIMIZE.yaml``, DESIGN.md "Study files").

::

    result = fc.optimize("optimize.yaml", workers=2)
    result.optimum            # {factor: SI value}
    result.kpis               # every KPI column at the optimum
    result = fc.optimize("optimize.yaml", pareto="product.yield,product.space_time_yield_kg_per_m3_h")
    result.pareto.points      # the non-dominated points

Method
------
The factors are scaled to the unit box. A global stage runs scipy's
``differential_evolution`` with ``vectorized=True`` and
``updating="deferred"``: each generation is one ensemble evaluation of the
whole population (one :meth:`Study.evaluate` call). Every point gets a
*merit* that ranks by feasibility first (Deb's rules in a fixed scale):

* a feasible point: ``s(f)`` in (-1, 1), with ``f`` the objective (negated
  for ``maximize``) and ``s(f) = f / (1 + |f|)`` monotone;
* a point that solved but violates a constraint: ``1 + s(v)`` in (1, 2),
  with ``v`` the sum of the violations, each relative to ``|bound|``
  (1 for a zero bound); a relative violation below 1e-9 counts as none;
* a failed point (status not ``ok``, or no objective value): 3.

So a feasible point always ranks above an infeasible one and a failed point
is the worst, never an exception. A local polish follows from the best
point: SLSQP on the scaled factors, the objective and constraint gradients
by central differences, the 2d + 1 points of one gradient in one ensemble
call. The result is the best point evaluated at a population or polish
centre (finite-difference neighbours are never reported).

An empty cell of a ``product.impurity.SPECIES`` column on a point that
solved means the species is not formed: 0 mol % for constraints.

The Pareto front of two objectives is traced by the epsilon-constraint
method: both single-objective optima, then the first objective optimised
with the second bounded at ``levels`` values evenly spaced between them;
every sub-problem's population starts from the best points of one
Latin-hypercube cloud evaluated once; dominated points are dropped.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import InputError, Location, SolverError
from .constraints import Constraint
from .study_table import OK

__all__ = ["OptimizationResult", "ParetoFront", "OptimizationProblem", "optimize",
           "optimize_problem", "pareto_front", "load_optimize", "OPTIMIZE_KEYS",
           "OPTION_KEYS", "default_sense"]

#: top-level keys of an optimisation file
OPTIMIZE_KEYS = ("route", "vary", "maximize", "minimize", "subject_to", "seed", "options", "pareto")
#: keys of ``options:`` and their defaults
OPTION_KEYS = {"population": 15, "generations": 100, "tolerance": 1e-3, "polish": True,
               "levels": 15, "cloud": 256}

_FAILED = 3.0
# per-point Python route: a batch smaller than this runs in this process (no pool)
POOL_MIN_POINTS = 1000
# relative slack below which a constraint is reported active (of max(|bound|, 1))
ACTIVE_TOLERANCE = 1e-5
# a constraint holds down to a slack of -FEASIBILITY_TOLERANCE * scale (scale |bound|, or 1
# for a zero bound): the polish converges onto an active bound from either side
FEASIBILITY_TOLERANCE = 1e-9
# central-difference step on the unit box
_FD_STEP = 1e-5
_MAXIMIZED_BY_DEFAULT = ("product.conversion", "product.yield", "product.selectivity",
                         "product.production_rate_kg_per_h",
                         "product.space_time_yield_kg_per_m3_h")


def default_sense(column):
    """``True`` (maximize) for the product's conversion, yield, selectivity,
    production rate and space-time yield; ``False`` (minimize) for the rest
    (impurities, temperatures, pressure drops, factors)."""
    return column in _MAXIMIZED_BY_DEFAULT


def _squash(x):
    return x / (1.0 + np.abs(x))


# ---------------------------------------------------------------------------- problem
@dataclass
class OptimizationProblem:
    """An optimisation over bounded factors.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(X) -> (values (n, len(columns)), status list)``, X in SI.
    columns : list of str
        KPI columns of ``values``.
    factor_names : list of str
    lower, upper : array
        SI bounds of the factors.
    objective : str
        A KPI or factor column.
    maximize : bool
    constraints : list of Constraint
    seed : int
    options : dict
        :data:`OPTION_KEYS`.
    integer : array of bool, optional
        Factors rounded to whole numbers before evaluation.
    """

    evaluate: object
    columns: list
    factor_names: list
    lower: np.ndarray
    upper: np.ndarray
    objective: str
    maximize: bool = True
    constraints: list = field(default_factory=list)
    seed: int = 1
    options: dict = field(default_factory=lambda: dict(OPTION_KEYS))
    integer: np.ndarray | None = None
    factors: list | None = None       # Factor objects (units for display), optional

    def __post_init__(self):
        self.lower = np.asarray(self.lower, dtype=float)
        self.upper = np.asarray(self.upper, dtype=float)
        self.options = {**OPTION_KEYS, **(self.options or {})}
        if self.integer is None:
            self.integer = np.zeros(len(self.factor_names), dtype=bool)
        self.all_columns = list(self.factor_names) + list(self.columns)
        for c in [self.objective] + [k.column for k in self.constraints]:
            if c not in self.all_columns:
                raise KeyError(c)
        self.n_evaluations = 0
        self.n_calls = 0

    @property
    def d(self):
        return len(self.factor_names)

    def to_si(self, U):
        X = self.lower + np.clip(U, 0.0, 1.0) * (self.upper - self.lower)
        if self.integer.any():
            X[:, self.integer] = np.round(X[:, self.integer])
        return X

    def run(self, U):
        """``(V, ok)``: the table rows (factors then KPIs) at the unit-box points ``U``."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        X = self.to_si(U)
        values, status = self.evaluate(X)
        self.n_evaluations += X.shape[0]
        self.n_calls += 1
        if getattr(self, "progress", None) is not None:
            self.progress(self.n_evaluations, self.n_calls)
        V = np.hstack([X, np.asarray(values, dtype=float).reshape(X.shape[0], -1)])
        ok = np.array([s == OK for s in status], dtype=bool)
        return V, ok, list(status)


class _Goal:
    """Objective, sense and constraints: the merit of table rows."""

    def __init__(self, problem, objective, maximize, constraints):
        cols = problem.all_columns
        self.problem = problem
        self.objective = objective
        self.maximize = maximize
        self.constraints = list(constraints)
        self.i_obj = cols.index(objective)
        self.i_con = [cols.index(c.column) for c in self.constraints]
        self.impurity = [c.column.startswith("product.impurity.") for c in self.constraints]
        self.scale = np.array([abs(c.bound) if c.bound != 0 else 1.0 for c in self.constraints])

    def signed(self, V):
        z = V[:, self.i_obj]
        return -z if self.maximize else z

    def slacks(self, V, ok):
        """(n, m) slacks, impurity cells of solved points that are empty read as 0."""
        S = np.empty((V.shape[0], len(self.constraints)))
        for j, (c, i, imp) in enumerate(zip(self.constraints, self.i_con, self.impurity)):
            v = V[:, i].copy()
            if imp:
                v[ok & np.isnan(v)] = 0.0
            S[:, j] = c.slack(v)
        return S

    def merit(self, V, ok):
        f = self.signed(V)
        S = self.slacks(V, ok)
        viol = (np.sum(np.maximum(-S / self.scale - FEASIBILITY_TOLERANCE, 0.0), axis=1)
                if S.shape[1] else np.zeros(len(f)))
        good = ok & np.isfinite(f) & np.all(np.isfinite(S), axis=1)
        m = np.full(len(f), _FAILED)
        feasible = good & (viol <= 0.0)
        m[feasible] = _squash(f[feasible])
        bad = good & ~feasible
        m[bad] = 1.0 + _squash(viol[bad])
        return m


@dataclass
class _Best:
    merit: float = math.inf
    u: np.ndarray | None = None
    V: np.ndarray | None = None
    ok: bool = False
    status: str = ""

    def offer(self, U, V, ok, status, merit):
        k = int(np.argmin(merit))
        if merit[k] < self.merit:
            self.merit, self.u, self.V = float(merit[k]), np.array(U[k]), np.array(V[k])
            self.ok, self.status = bool(ok[k]), status[k]


# ---------------------------------------------------------------------------- result
class OptimizationResult:
    """The optimum of a study (or the best feasible-most point).

    Attributes
    ----------
    objective : str
    maximize : bool
    value : float
        The objective at the optimum (NaN when no point solved).
    optimum : dict
        Factor -> SI value.
    kpis : dict
        KPI column -> value (None for an empty cell).
    feasible : bool
        Every constraint holds at the optimum.
    constraints : list of dict
        ``constraint`` (text), ``column``, ``bound``, ``value``, ``slack``
        (positive where it holds), ``holds``, ``active``.
    at_bounds : list of str
        Factors at a bound of their range.
    evaluations, ensemble_calls, generations : int
    time_s : float
    pareto : ParetoFront or None
    """

    def __init__(self, problem, goal, best, generations, time_s, message=""):
        self.problem = problem
        self.objective = goal.objective
        self.maximize = goal.maximize
        self.generations = generations
        self.time_s = time_s
        self.message = message
        self.evaluations = problem.n_evaluations
        self.ensemble_calls = problem.n_calls
        self.seed = problem.seed
        self.evaluator = None
        self.pareto = None
        self.status = best.status
        d = problem.d
        if best.V is None:
            V = np.full(len(problem.all_columns), np.nan)
        else:
            V = best.V
        self.optimum = {n: float(V[i]) for i, n in enumerate(problem.factor_names)}
        self.kpis = {c: (None if not np.isfinite(V[d + j]) else float(V[d + j]))
                     for j, c in enumerate(problem.columns)}
        self.value = float(V[goal.i_obj])
        self.solved = best.ok
        S = goal.slacks(V[None, :], np.array([best.ok]))[0] if goal.constraints else np.zeros(0)
        self.constraints = []
        for c, s, i, scale in zip(goal.constraints, S, goal.i_con, goal.scale):
            value = V[i]
            if c.column.startswith("product.impurity.") and best.ok and not np.isfinite(value):
                value = 0.0
            tol = ACTIVE_TOLERANCE * max(abs(c.bound), 1.0)
            self.constraints.append({
                "constraint": c.text, "column": c.column, "bound": c.bound,
                "value": None if not np.isfinite(value) else float(value),
                "slack": None if not np.isfinite(s) else float(s),
                "holds": bool(np.isfinite(s) and s >= -FEASIBILITY_TOLERANCE * scale),
                "active": bool(np.isfinite(s) and abs(s) <= tol)})
        self.feasible = bool(best.ok and np.isfinite(self.value)
                             and all(c["holds"] for c in self.constraints))
        self.at_bounds = []
        if best.u is not None:
            for i, n in enumerate(problem.factor_names):
                if best.u[i] <= 1e-6 or best.u[i] >= 1.0 - 1e-6:
                    self.at_bounds.append(n)

    @property
    def active(self):
        return [c["constraint"] for c in self.constraints if c["active"]]

    @property
    def violations(self):
        return [c for c in self.constraints if not c["holds"]]

    def to_dict(self):
        """The JSON of ``flowchem optimize --json`` (SI values; README)."""
        units = {}
        for i, n in enumerate(self.problem.factor_names):
            f = self.problem.factors[i] if self.problem.factors else None
            units[n] = f.unit if f is not None else ""
        out = {
            "objective": {"column": self.objective,
                          "sense": "maximize" if self.maximize else "minimize",
                          "value": _num(self.value)},
            "feasible": self.feasible,
            "status": self.status,
            "optimum": {n: _num(v) for n, v in self.optimum.items()},
            "factor_units": units,
            "at_bounds": list(self.at_bounds),
            "kpis": dict(self.kpis),
            "constraints": [dict(c) for c in self.constraints],
            "active_constraints": self.active,
            "violations": [c["constraint"] for c in self.violations],
            "evaluations": int(self.evaluations),
            "ensemble_calls": int(self.ensemble_calls),
            "generations": int(self.generations),
            "seed": self.seed,
            "evaluator": self.evaluator,
            "time_s": float(self.time_s),
        }
        if self.pareto is not None:
            out["pareto"] = self.pareto.to_dict()
        return out

    def table(self):
        """Plain-text report: optimum, KPIs, constraints."""
        sense = "maximize" if self.maximize else "minimize"
        lines = []
        if self.feasible:
            lines.append(f"optimum: {sense} {self.objective} = {self.value:.6g}")
        elif not self.solved:
            lines.append(f"no point solved: {self.status}")
        else:
            lines.append(f"no point satisfies every constraint; best feasible-most point: "
                         f"{self.objective} = {self.value:.6g}")
        lines.append(f"{'factor':<32s} {'value':>18s}")
        for i, (n, v) in enumerate(self.optimum.items()):
            f = self.problem.factors[i] if self.problem.factors else None
            shown = _show(v, f) if f is not None else f"{v:.6g}"
            flag = "  (at bound)" if n in self.at_bounds else ""
            lines.append(f"{n:<32s} {shown:>18s}{flag}")
        lines.append(f"{'KPI':<42s} {'value':>14s}")
        for c, v in self.kpis.items():
            lines.append(f"{c:<42s} {'' if v is None else f'{v:.6g}':>14s}")
        if self.constraints:
            lines.append(f"{'constraint':<48s} {'value':>12s} {'slack':>12s}")
            for c in self.constraints:
                state = "active" if c["active"] else ("holds" if c["holds"] else "VIOLATED")
                val = "" if c["value"] is None else f"{c['value']:.6g}"
                slack = "" if c["slack"] is None else f"{c['slack']:.3g}"
                lines.append(f"{c['constraint']:<48s} {val:>12s} {slack:>12s}  {state}")
        lines.append(f"{self.evaluations} evaluations in {self.ensemble_calls} ensemble calls "
                     f"({self.generations} generations), {self.time_s:.3g} s"
                     + (f", {self.evaluator} evaluator" if self.evaluator else ""))
        if self.pareto is not None:
            lines.append("")
            lines.append(self.pareto.table())
        return "\n".join(lines)


def _num(x):
    return None if x is None or not np.isfinite(x) else float(x)


def _show(value, factor):
    from .study import _show as show

    return show(value, factor) if np.isfinite(value) else "nan"


# ---------------------------------------------------------------------------- algorithm
def _de_stage(problem, goal, best, init=None, maxiter=None, popsize=None):
    from scipy.optimize import differential_evolution

    opts = problem.options
    d = problem.d

    def merit(U_T):
        U = np.asarray(U_T, dtype=float).T          # (S, d)
        V, ok, status = problem.run(U)
        m = goal.merit(V, ok)
        best.offer(U, V, ok, status, m)
        return m

    res = differential_evolution(
        merit, [(0.0, 1.0)] * d, vectorized=True, updating="deferred",
        seed=problem.seed, popsize=popsize or opts["population"],
        maxiter=maxiter or opts["generations"], tol=opts["tolerance"], polish=False,
        init="latinhypercube" if init is None else init)
    return res.nit


def _polish(problem, goal, best):
    """SLSQP from the best point on the unit box; gradients by central
    differences, one ensemble call per gradient."""
    from scipy.optimize import minimize

    if best.u is None or best.merit >= _FAILED:
        return
    d = problem.d
    cache = {}
    f0 = goal.signed(best.V[None, :])[0]
    fscale = max(abs(f0), 1e-12)
    m = len(goal.constraints)

    def at(u):
        key = np.asarray(u, dtype=float).tobytes()
        if key in cache:
            return cache[key]
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        h = _FD_STEP
        P = [u]
        for i in range(d):
            for s in (+1.0, -1.0):
                p = u.copy()
                p[i] = np.clip(u[i] + s * h, 0.0, 1.0)
                P.append(p)
        P = np.array(P)
        V, ok, status = problem.run(P)
        fv = goal.signed(V) / fscale
        S = goal.slacks(V, ok) / goal.scale if m else np.zeros((len(P), 0))
        best.offer(P[:1], V[:1], ok[:1], status[:1], goal.merit(V[:1], ok[:1]))
        good = ok & np.isfinite(fv) & np.all(np.isfinite(S), axis=1)
        if not good[0]:
            out = None
        else:
            g = np.zeros(d)
            J = np.zeros((m, d))
            for i in range(d):
                a, b = 1 + 2 * i, 2 + 2 * i
                ia, ib = (a if good[a] else 0), (b if good[b] else 0)
                dx = P[ia, i] - P[ib, i]
                if dx != 0.0:
                    g[i] = (fv[ia] - fv[ib]) / dx
                    J[:, i] = (S[ia] - S[ib]) / dx
            out = (fv[0], g, S[0], J)
        cache[key] = out
        return out

    class _Stop(Exception):
        pass

    def fun(u):
        r = at(u)
        if r is None:
            raise _Stop
        return r[0]

    def jac(u):
        r = at(u)
        if r is None:
            raise _Stop
        return r[1]

    cons = []
    if m:
        cons = [{"type": "ineq", "fun": lambda u: at(u)[2] if at(u) is not None else -np.ones(m),
                 "jac": lambda u: at(u)[3] if at(u) is not None else np.zeros((m, d))}]
    try:
        minimize(fun, best.u.copy(), jac=jac, method="SLSQP", bounds=[(0.0, 1.0)] * d,
                 constraints=cons, options={"maxiter": 100, "ftol": 1e-12})
    except (_Stop, ValueError, np.linalg.LinAlgError):
        # the polish is an improvement, never a failure: the best point so far stands
        pass


def optimize_problem(problem, objective=None, maximize=None, constraints=None):
    """Optimise ``problem`` (or the given objective/sense/constraints over
    its factors): differential evolution, then the SLSQP polish.

    Returns
    -------
    OptimizationResult
    """
    start = time.perf_counter()
    n0, c0 = problem.n_evaluations, problem.n_calls
    goal = _Goal(problem, objective or problem.objective,
                 problem.maximize if maximize is None else maximize,
                 problem.constraints if constraints is None else constraints)
    best = _Best()
    nit = _de_stage(problem, goal, best)
    if best.V is None or best.merit >= _FAILED:
        raise SolverError("optimize", f"no point solved in {problem.n_evaluations - n0} "
                          f"evaluations; first failure: {best.status or 'no objective value'}")
    if problem.options["polish"]:
        _polish(problem, goal, best)
    result = OptimizationResult(problem, goal, best, nit, time.perf_counter() - start)
    result.evaluations = problem.n_evaluations - n0
    result.ensemble_calls = problem.n_calls - c0
    return result


# ---------------------------------------------------------------------------- pareto
class ParetoFront:
    """Non-dominated points of two objectives under the constraints.

    Attributes
    ----------
    objectives : (str, str)
    maximize : (bool, bool)
    points : list of OptimizationResult
        Sorted by the first objective.
    cloud : ndarray (n, 2)
        The two objectives on the feasible points of the sampled cloud.
    """

    def __init__(self, objectives, maximize, points, cloud, evaluations, time_s):
        self.objectives = tuple(objectives)
        self.maximize = tuple(maximize)
        self.points = points
        self.cloud = cloud
        self.evaluations = evaluations
        self.time_s = time_s

    def values(self):
        """(n, 2) objective values of the front."""
        return np.array([[p.kpis.get(c, p.optimum.get(c)) for c in self.objectives]
                         for p in self.points], dtype=float).reshape(-1, 2)

    def to_dict(self):
        return {"objectives": list(self.objectives),
                "senses": ["maximize" if m else "minimize" for m in self.maximize],
                "points": [{"factors": {n: _num(v) for n, v in p.optimum.items()},
                            "kpis": dict(p.kpis)} for p in self.points],
                "cloud_points": int(len(self.cloud)),
                "evaluations": int(self.evaluations), "time_s": float(self.time_s)}

    def table(self):
        a, b = self.objectives
        names = list(self.points[0].optimum) if self.points else []
        lines = [f"Pareto front, {len(self.points)} points ({self.evaluations} evaluations, "
                 f"{self.time_s:.3g} s)",
                 "  ".join([f"{a:>24s}", f"{b:>24s}"] + [f"{n:>16s}" for n in names])]
        for p, (x, y) in zip(self.points, self.values()):
            lines.append("  ".join([f"{x:>24.6g}", f"{y:>24.6g}"]
                                   + [f"{v:>16.6g}" for v in p.optimum.values()]))
        return "\n".join(lines)


def _non_dominated(F):
    """Mask of non-dominated rows of F (both columns minimised)."""
    n = len(F)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = np.all(F <= F[i], axis=1) & np.any(F < F[i], axis=1)
        if dominated.any():
            keep[i] = False
    # of exact duplicates keep the first
    for i in range(n):
        if keep[i]:
            dup = np.all(F == F[i], axis=1)
            dup[: i + 1] = False
            keep[dup] = False
    return keep


def pareto_front(problem, objectives, senses=None, levels=None):
    """The Pareto front of two columns under ``problem.constraints`` by the
    epsilon-constraint method (module docstring).

    Parameters
    ----------
    problem : OptimizationProblem
    objectives : (str, str)
    senses : (bool, bool), optional
        Maximize each; default :func:`default_sense` (the file's sense for
        the problem's own objective).
    levels : int, optional
        Epsilon levels between the two single-objective optima.
    """
    start = time.perf_counter()
    n0 = problem.n_evaluations
    a, b = objectives
    if senses is None:
        senses = tuple(problem.maximize if c == problem.objective else default_sense(c)
                       for c in objectives)
    levels = int(levels or problem.options["levels"])
    opts = problem.options
    d = problem.d
    # one Latin-hypercube cloud: the background of the plot and every sub-problem's start
    from scipy.stats import qmc

    U = qmc.LatinHypercube(d=d, rng=np.random.default_rng(problem.seed)).random(int(opts["cloud"]))
    V, ok, status = problem.run(U)
    popsize = max(5, int(opts["population"]) * d)

    def start_population(goal):
        m = goal.merit(V, ok)
        order = np.argsort(m, kind="stable")[:popsize]
        return U[order]

    def solve(objective, maximize, constraints):
        goal = _Goal(problem, objective, maximize, constraints)
        init = start_population(goal)
        best = _Best()
        best.offer(U, V, ok, status, goal.merit(V, ok))
        nit = _de_stage(problem, goal, best, init=init)
        if opts["polish"]:
            _polish(problem, goal, best)
        return OptimizationResult(problem, goal, best, nit, 0.0)

    ga = _Goal(problem, a, senses[0], problem.constraints)
    gb = _Goal(problem, b, senses[1], problem.constraints)
    feasible_cloud = (ga.merit(V, ok) < 1.0)
    cloud = V[feasible_cloud][:, [ga.i_obj, gb.i_obj]]
    anchor_a = solve(a, senses[0], problem.constraints)
    anchor_b = solve(b, senses[1], problem.constraints)
    points = [p for p in (anchor_a, anchor_b) if p.feasible]
    if anchor_a.feasible and anchor_b.feasible:
        lo, hi = _col(anchor_a, b), _col(anchor_b, b)
        for eps in np.linspace(lo, hi, levels + 2)[1:-1]:
            bound = Constraint(b, not senses[1], float(eps),
                               f"{b} {'>=' if senses[1] else '<='} {eps:.6g}")
            p = solve(a, senses[0], list(problem.constraints) + [bound])
            if p.feasible:
                points.append(p)
    if points:
        F = np.array([[_col(p, a), _col(p, b)] for p in points])
        F[:, 0] *= -1.0 if senses[0] else 1.0
        F[:, 1] *= -1.0 if senses[1] else 1.0
        keep = _non_dominated(F)
        points = [p for p, k in zip(points, keep) if k]
        points.sort(key=lambda p: _col(p, a))
    return ParetoFront((a, b), senses, points, cloud, problem.n_evaluations - n0,
                       time.perf_counter() - start)


def _col(result, column):
    v = result.kpis.get(column, result.optimum.get(column))
    return math.nan if v is None else float(v)


# ---------------------------------------------------------------------------- files
def _option_value(key, value, where):
    default = OPTION_KEYS[key]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise where.error(f"expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key != "cloud" else 8):
            raise where.error(f"expected a whole number >= {1 if key != 'cloud' else 8}, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise where.error(f"expected a number between 0 and 1, got {value!r}")
    return float(value)


def parse_pareto(text, columns, where):
    """``"COL1,COL2"`` (or a list of two) -> (COL1, COL2), both table columns."""
    where = Location.coerce(where)
    items = text if isinstance(text, list) else str(text).split(",")
    items = [str(s).strip() for s in items if str(s).strip()]
    if len(items) != 2 or items[0] == items[1]:
        raise where.error(f"expected two different columns COL1,COL2, got {text!r}")
    for c in items:
        if c not in columns:
            raise where.error(f"unknown column {c!r} (columns: {', '.join(columns)})")
    return tuple(items)


def load_optimize(path, pareto=None):
    """An optimisation file as ``(study, problem, pareto columns or None)``;
    everything checked before any point runs (InputError naming the entry)."""
    from .study import open_study, study_constraints

    study, data, root = open_study(path, OPTIMIZE_KEYS, bounds_only=True)
    columns = [f.name for f in study.factors] + list(study.columns)
    has_max, has_min = "maximize" in data, "minimize" in data
    if has_max and has_min:
        raise root.error("give either 'maximize:' or 'minimize:', not both")
    if not (has_max or has_min):
        raise root.error("no objective: give 'maximize: COLUMN' or 'minimize: COLUMN'")
    key = "maximize" if has_max else "minimize"
    objective = data[key]
    if not isinstance(objective, str) or objective not in columns:
        near = [c for c in columns if isinstance(objective, str)
                and c.split(".")[-1] == objective.split(".")[-1]]
        hint = f" (did you mean {', '.join(near)}?)" if near else f" (columns: {', '.join(columns)})"
        raise root.key(key).error(f"unknown column {objective!r}{hint}")
    constraints = study_constraints(data.get("subject_to"), study, root.key("subject_to"))
    seed = data.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise root.key("seed").error(f"expected a whole number >= 0, got {seed!r}")
    options = dict(OPTION_KEYS)
    if data.get("options") is not None:
        from ..core.yamlio import check_keys, check_mapping

        where = root.key("options")
        check_mapping(data["options"], where, "a mapping of optimiser options")
        check_keys(data["options"], tuple(OPTION_KEYS), where)
        for k, v in data["options"].items():
            options[k] = _option_value(k, v, where.key(k))
    if pareto is not None:
        pareto_cols = parse_pareto(pareto, columns, Location("command line", "--pareto"))
    elif data.get("pareto") is not None:
        pareto_cols = parse_pareto(data["pareto"], columns, root.key("pareto"))
    else:
        pareto_cols = None

    # where the points run: set by run_optimize (kept off the study, which is pickled
    # for Dask workers)
    context = {"workers": 1, "scheduler": None}

    def evaluate(X):
        workers = context["workers"]
        if study.evaluator_name() != "compiled" and len(X) < POOL_MIN_POINTS:
            # a process pool per generation costs more than the per-point route saves
            workers = 1
        return study.evaluate(X, workers=workers, scheduler=context["scheduler"])

    problem = OptimizationProblem(
        evaluate, list(study.columns), [f.name for f in study.factors],
        [f.lower for f in study.factors], [f.upper for f in study.factors],
        objective, has_max, constraints, seed, options,
        integer=np.array([f.integer for f in study.factors], dtype=bool),
        factors=list(study.factors))
    problem.context = context
    return study, problem, pareto_cols


def optimize(path, workers=1, scheduler=None, pareto=None):
    """Run the optimisation file at ``path`` (DESIGN.md "Study files").

    Parameters
    ----------
    path : str or Path
    workers : int
        Numba threads (compiled route) or processes (per-point route).
    scheduler : str or dask.distributed.Client, optional
    pareto : str, optional
        ``"COL1,COL2"``: also trace the Pareto front of these two columns.

    Returns
    -------
    OptimizationResult
        With ``.pareto`` (a :class:`ParetoFront`) when asked for.

    Raises
    ------
    InputError
        A bad file (before any point runs).
    SolverError
        No point solved at all.
    """
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise InputError(f"expected a number of workers >= 1, got {workers!r}", "<python>", "workers")
    study, problem, pareto_cols = load_optimize(path, pareto)
    return run_optimize(study, problem, pareto_cols, workers, scheduler)


def run_optimize(study, problem, pareto_cols=None, workers=1, scheduler=None):
    """The :class:`OptimizationResult` of a loaded optimisation study."""
    client, owned = None, False
    if scheduler is not None:
        from .distributed import connect

        client, owned = connect(scheduler)
    context = getattr(problem, "context", {})
    context.update(workers=workers, scheduler=client)
    try:
        result = optimize_problem(problem)
        if pareto_cols is not None:
            result.pareto = pareto_front(problem, pareto_cols)
    finally:
        context.update(workers=1, scheduler=None)
        if owned:
            client.close()
    result.evaluator = study.evaluator or study.evaluator_name()
    result.study = study
    return result


def _terminal_progress(delay_s=1.0):
    """``progress(evaluations, calls)`` on stderr at a terminal once a run has
    taken a second; ``progress(None, None)`` clears the line."""
    import sys

    stream = sys.stderr
    enabled = bool(getattr(stream, "isatty", lambda: False)())
    start = time.perf_counter()
    shown = []

    def progress(evaluations, calls):
        if not enabled:
            return
        if evaluations is None:
            if shown:
                print("\r" + " " * 79 + "\r", end="", file=stream, flush=True)
            return
        elapsed = time.perf_counter() - start
        if elapsed < delay_s:
            return
        shown.append(True)
        print(f"\roptimize: {evaluations} evaluations in {calls} ensemble calls "
              f"({elapsed:.3g} s)", end="", file=stream, flush=True)
    return progress


def optimize_command(args):
    """``flowchem optimize OPTIMIZE.yaml [--json FILE] [--workers N]
    [--scheduler ADDRESS] [--pareto COL1,COL2] [--out DIR]``; exit status."""
    import json
    from pathlib import Path

    from ..core.files import write_text_atomic

    if args.workers is None or args.workers < 1:
        raise InputError(f"expected a number of workers >= 1, got {args.workers}",
                         "command line", "--workers")
    study, problem, pareto_cols = load_optimize(args.file, args.pareto)
    problem.progress = _terminal_progress()
    scheduler = None
    owned = False
    if args.scheduler is not None:
        from .distributed import connect

        scheduler, owned = connect(args.scheduler)
    try:
        from ..cli import _announce_compilation

        _announce_compilation()
        result = run_optimize(study, problem, pareto_cols, args.workers, scheduler)
    finally:
        problem.progress(None, None)
        if owned:
            scheduler.close()
    print(result.table())
    if args.json:
        write_text_atomic(args.json, json.dumps(result.to_dict(), indent=2) + "\n")
    if args.out:
        from ..reporting.plots import pyplot
        from ..reporting.study_plots import write_optimize_figures

        pyplot(headless=True)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = write_optimize_figures(result, out)
        print(f"wrote {len(written)} figure{'s' if len(written) != 1 else ''} to {out}")
    return 0
