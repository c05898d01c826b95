"""Design-space studies: the sweep file of DESIGN.md ("Study files"), its
factors, and the evaluation of a route over a matrix of points.

::

    study = load_sweep("sweep.yaml")          # route, factors, design, spec
    values, status = study.evaluate(study.X, workers=2)
    result = fc.sweep("sweep.yaml", workers=2)   # the study table, CSV and figures

A factor is ``ENTRY.KEY[.SUBKEY]`` of a feed or an operation of the route
(``R1.T``, ``amine.flow``, ``amine.conc.CHA``, ``R1.energy.U``). Its values
are ``{from, to, n}`` or ``{values: [...]}`` with a unit on every number;
the unit kind follows from the key (:data:`FACTOR_KEY_KINDS` of
:mod:`flowchem.process.constraints`). Inside, every factor value is SI.

Two evaluators give the same table:

* the compiled route ensemble (:mod:`flowchem.process.compiled_route`), one
  Numba call for a whole matrix of points, when it covers the route and the
  factors;
* else the per-point Python route: each point is the route mapping with the
  factors set to ``"{value!r} {SI unit}"``, loaded with
  :meth:`Route.from_dict` and run; an InputError or SolverError becomes that
  point's status, never fatal.

Workers: numba threads for the compiled path, a process pool for the
Python path. A Dask scheduler (``"tcp://HOST:PORT"`` or a
``dask.distributed.Client``) gets the points in chunks, each chunk one
:meth:`Study.evaluate` call on a worker; results are gathered in order.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import InputError, Location, SolverError
from ..core.units import KINDS, parse_quantity
from ..core.yamlio import check_keys, check_mapping, read_yaml
from .constraints import FACTOR_KEY_KINDS, parse_constraints
from .study_table import OK, kpi_columns, row_from_result

__all__ = ["Factor", "Study", "StudyResult", "parse_factors", "parse_design", "read_study",
           "open_study", "load_sweep", "sweep", "study_constraints", "SWEEP_KEYS",
           "DISTRIBUTED_HINT"]

#: top-level keys of a sweep file
SWEEP_KEYS = ("route", "vary", "design", "spec", "uncertainty", "samples", "seed")
#: what to install for ``--scheduler``
DISTRIBUTED_HINT = 'pip install "flowchem-sim[distributed]"'

FEED_FACTOR_KEYS = ("flow", "T", "P", "conc")
# keys whose values are plain numbers (no unit) and whole numbers
_DIMENSIONLESS_KEYS = ("phase_ratio", "partition", "split", "fractions")
_INTEGER_KEYS = ("n",)
_ENERGY_FACTOR_KEYS = ("U", "coolant_T", "area")


# ---------------------------------------------------------------------------- factors
@dataclass
class Factor:
    """One varied entry of a study.

    Attributes
    ----------
    name : str
        ``ENTRY.KEY[.SUBKEY]`` as written in the study file (the table column).
    entry, keys : str, tuple of str
        The feed or operation and the key path inside it.
    section : str
        ``"feeds"`` or ``"operations"``.
    kind : str or None
        Unit kind of :func:`parse_quantity`; ``None`` for a plain number.
    integer : bool
        A whole number (the number of tanks of a cascade).
    values : ndarray or None
        SI levels (``{from, to, n}`` or ``values:``); ``None`` with bounds only.
    lower, upper : float
        SI range of the factor (the smallest and largest level, or the bounds).
    """

    name: str
    entry: str
    keys: tuple
    section: str
    kind: str | None
    integer: bool = False
    values: np.ndarray | None = None
    lower: float = math.nan
    upper: float = math.nan
    discrete: bool = False      # given as ``values:`` (a list of levels)
    base: dict | None = None    # a splitter's fractions in the route (``fractions.OUTLET``)

    @property
    def unit(self):
        """The SI unit of the factor's column ("" for plain numbers)."""
        return KINDS[self.kind][0] if self.kind is not None else ""

    def text(self, value):
        """The value as route-file text: ``"{value!r} {SI unit}"``, or a plain number."""
        if self.integer:
            return int(round(float(value)))
        if self.kind is None:
            return float(value)
        return f"{float(value)!r} {self.unit}"

    def label(self):
        return f"{self.name} [{self.unit}]" if self.unit else self.name


def _route_entry_mapping(route_data, section, entry):
    for item in route_data.get(section) or []:
        if isinstance(item, dict) and item.get("name") == entry:
            return item
    return None


def _operation_type(route_data, entry):
    item = _route_entry_mapping(route_data, "operations", entry)
    return None if item is None else item.get("type")


def _factor_kind(name, route, route_data, where):
    """``(section, keys, kind, integer)`` of a factor name; InputError at
    ``where`` when it names no entry or a key the entry does not have."""
    from .route import OPERATION_KEYS

    parts = name.split(".") if isinstance(name, str) else []
    if len(parts) < 2 or not all(parts):
        raise where.error(f"expected a factor ENTRY.KEY[.SUBKEY] such as 'R1.T' or "
                          f"'amine.conc.CHA', got {name!r}")
    entry, keys = parts[0], tuple(parts[1:])
    if entry in route.feeds:
        section, allowed = "feeds", FEED_FACTOR_KEYS
        what = f"feed {entry!r}"
    elif entry in route.operations:
        section = "operations"
        otype = _operation_type(route_data, entry) or getattr(route.operations[entry], "kind", "")
        allowed = tuple(k for k in OPERATION_KEYS.get(otype, ())
                        if k not in ("flow_model", "n_cells", "properties"))
        what = f"{otype} {entry!r}"
    else:
        names = list(route.feeds) + list(route.operations)
        raise where.error(f"no feed or operation named {entry!r} in the route "
                          f"(entries: {', '.join(names)})")
    key = keys[0]
    if key not in allowed:
        raise where.error(f"{what} has no key {key!r} to vary (keys: {', '.join(allowed)})")
    if key in ("conc", "partition", "split"):
        if len(keys) != 2:
            raise where.error(f"expected {entry}.{key}.SPECIES, got {name!r}")
        if keys[1] not in route.mechanism.species_names:
            raise where.error(f"unknown species {keys[1]!r} in {name!r}")
        return section, keys, ("concentration" if key == "conc" else None), False
    if key == "energy":
        if len(keys) != 2 or keys[1] not in _ENERGY_FACTOR_KEYS:
            raise where.error(f"expected {entry}.energy.KEY with KEY one of "
                              f"{', '.join(_ENERGY_FACTOR_KEYS)}, got {name!r}")
        energy = getattr(route.operations[entry], "energy", None)
        if getattr(energy, "mode", None) != "cooled":
            raise where.error(f"{what} is not cooled through a wall in the route; give it "
                              "energy: {U: ..., coolant_T: ...} to vary its energy keys")
        kind = {"U": "heat_transfer_coefficient", "coolant_T": "temperature", "area": "area"}[keys[1]]
        return section, keys, kind, False
    if key == "fractions":
        outlets = list(getattr(route.operations[entry], "fractions", {}) or {})
        if len(keys) != 2 or keys[1] not in outlets:
            raise where.error(f"expected {entry}.fractions.OUTLET with OUTLET one of "
                              f"{', '.join(outlets)}, got {name!r}")
        return section, keys, None, False
    if len(keys) != 1:
        raise where.error(f"{what}: {key!r} has no sub-keys, got {name!r}")
    if key == "T" and section == "operations" and \
            getattr(getattr(route.operations[entry], "energy", None), "mode", "isothermal") != "isothermal":
        raise where.error(f"{what} is {route.operations[entry].energy.mode}: it has no fixed T "
                          "(it starts from its inlet temperature); vary its energy.coolant_T "
                          "or the feed T")
    if key in _INTEGER_KEYS:
        return section, keys, None, True
    if key in _DIMENSIONLESS_KEYS:
        return section, keys, None, False
    if key not in FACTOR_KEY_KINDS:
        raise where.error(f"{what}: {key!r} cannot be varied as a number")
    return section, keys, FACTOR_KEY_KINDS[key], False


def _factor_number(value, factor, where):
    """One SI number of a factor from the study file (a unit on every
    dimensional number)."""
    if factor.kind is None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise where.error(f"expected a number, got {value!r}")
        if factor.integer and (value != int(value) or value < 1):
            raise where.error(f"expected a whole number >= 1, got {value!r}")
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        example = {"temperature": "60 degC", "flow": "0.5 mL/min", "concentration": "0.2 mol/L",
                   "volume": "5 mL", "length": "1 m", "pressure": "3 bar", "time": "2 min",
                   "heat_transfer_coefficient": "300 W/m^2/K", "area": "0.01 m^2"}.get(
            factor.kind, "a number with its unit")
        raise where.error(f"give a unit with {value!r} (for example '{example}')")
    return parse_quantity(value, factor.kind, None, where)


def parse_factors(vary_mapping, route, where, bounds_only=False, route_data=None):
    """The factors of a ``vary:`` mapping.

    Parameters
    ----------
    vary_mapping : dict
        ``{ENTRY.KEY: {from, to, n} | {values: [...]}}`` (or ``{from, to}``
        bounds with ``bounds_only``).
    route : Route
        The loaded route (the factor must name one of its feeds or operations).
    where : Location
        Location of the ``vary:`` entry (errors name ``vary.FACTOR.KEY``).
    bounds_only : bool
        Factors are ``{from, to}`` bounds (the optimiser's), ``from < to``.
    route_data : dict, optional
        The route mapping (to check that a reactor has an ``energy`` mapping
        before its energy keys are varied).

    Returns
    -------
    list of Factor
    """
    where = Location.coerce(where)
    check_mapping(vary_mapping, where, "a mapping of factors ENTRY.KEY: {from, to, n}")
    if not vary_mapping:
        raise where.error("no factors: give at least one ENTRY.KEY: {from: ..., to: ..., n: ...}")
    route_data = route_data or {}
    factors = []
    for name, spec in vary_mapping.items():
        loc = where.key(name)
        section, keys, kind, integer = _factor_kind(name, route, route_data, loc)
        f = Factor(str(name), str(name).split(".")[0], keys, section, kind, integer)
        if keys[0] == "fractions":
            f.base = {str(k): float(v) for k, v in route.operations[f.entry].fractions.items()}
        check_mapping(spec, loc, "{from: ..., to: ...}" if bounds_only else
                      "{from: ..., to: ..., n: ...} or {values: [...]}")
        if bounds_only:
            check_keys(spec, ("from", "to"), loc, required=("from", "to"))
        elif "values" in spec:
            check_keys(spec, ("values",), loc)
        else:
            check_keys(spec, ("from", "to", "n"), loc, required=("from", "to"))
        if "values" in spec:
            items = spec["values"]
            if not isinstance(items, list) or not items:
                raise loc.key("values").error("expected a non-empty list of values")
            f.values = np.array([_factor_number(v, f, loc.key("values").item(i))
                                 for i, v in enumerate(items)], dtype=float)
            if len(set(f.values.tolist())) != len(f.values):
                raise loc.key("values").error("a value is listed twice")
            f.discrete = True
        else:
            lo = _factor_number(spec["from"], f, loc.key("from"))
            hi = _factor_number(spec["to"], f, loc.key("to"))
            if bounds_only:
                if not lo < hi:
                    raise loc.error(f"empty range: 'from' ({spec['from']}) must lie below "
                                    f"'to' ({spec['to']})")
                f.lower, f.upper = lo, hi
            elif "n" in spec:
                n = spec["n"]
                if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                    raise loc.key("n").error(f"expected a whole number of levels n >= 1, got {n!r}")
                if n == 1 and lo != hi:
                    raise loc.key("n").error("n: 1 gives one level but 'from' and 'to' differ; "
                                             "give n >= 2 or values: [one value]")
                if n > 1 and lo == hi:
                    raise loc.error(f"empty range: 'from' equals 'to' ({spec['from']}) with n = {n}")
                f.values = np.linspace(lo, hi, n)
                if f.integer:
                    if not np.allclose(f.values, np.round(f.values), rtol=0, atol=1e-9):
                        raise loc.key("n").error(f"{name} is a whole number: {n} levels from "
                                                 f"{lo:g} to {hi:g} are not whole numbers")
                    f.values = np.round(f.values)
            else:
                # no n: a range for a Latin hypercube (checked by the design)
                if lo == hi:
                    raise loc.error(f"empty range: 'from' equals 'to' ({spec['from']})")
                f.lower, f.upper = min(lo, hi), max(lo, hi)
        if f.values is not None:
            f.lower, f.upper = float(np.min(f.values)), float(np.max(f.values))
        factors.append(f)
    return factors


# ---------------------------------------------------------------------------- design
def parse_design(spec, factors, where):
    """``(design name, X, shape)``: the points of ``design:`` (SI, one row per
    point). ``shape`` is the levels per factor of a full factorial, else None."""
    where = Location.coerce(where)
    if spec is None or spec == "full-factorial":
        for f in factors:
            if f.values is None:
                raise where.error(f"a full-factorial design needs levels for {f.name}: "
                                  "give n: or values:")
        grids = [f.values for f in factors]
        X = np.array(list(itertools.product(*grids)), dtype=float).reshape(-1, len(factors))
        return "full-factorial", X, tuple(len(g) for g in grids)
    if isinstance(spec, dict) and "latin-hypercube" in spec:
        check_keys(spec, ("latin-hypercube", "seed"), where)
        n = spec["latin-hypercube"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise where.key("latin-hypercube").error(f"expected a number of points >= 1, got {n!r}")
        seed = spec.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise where.key("seed").error(f"expected a whole number >= 0, got {seed!r}")
        from scipy.stats import qmc

        U = qmc.LatinHypercube(d=len(factors), rng=np.random.default_rng(seed)).random(n)
        X = np.empty_like(U)
        for j, f in enumerate(factors):
            if f.discrete:     # equal strata of the listed levels
                idx = np.minimum((U[:, j] * len(f.values)).astype(int), len(f.values) - 1)
                X[:, j] = f.values[idx]
            elif f.integer:
                X[:, j] = np.floor(f.lower + U[:, j] * (f.upper - f.lower + 1.0))
                X[:, j] = np.minimum(X[:, j], f.upper)
            else:
                X[:, j] = f.lower + U[:, j] * (f.upper - f.lower)
        return "latin-hypercube", X, None
    raise where.error(f"expected 'full-factorial' or {{latin-hypercube: N, seed: S}}, got {spec!r}")


# ---------------------------------------------------------------------------- files
def read_study(path, allowed_keys, required=("route", "vary")):
    """``(data, source, study_dir)`` of a study file, its top-level keys checked."""
    data, source = read_yaml(path)
    root = Location(source)
    check_mapping(data, root, "a study file (route:, vary:, ...)")
    if "route" not in data and ("operations" in data or "feeds" in data):
        raise root.error("this is a route file, not a study file: give a sweep file "
                         "(route:, vary:, ...) or --vary ENTRY.KEY=START..STOP UNIT:N")
    check_keys(data, allowed_keys, root, required=required)
    return data, source, Path(path).resolve().parent


def _load_route_entry(data, source, study_dir):
    """The route of a study file: ``(route, route_data, route_source, route_dir)``.
    The route is validated here, once, before any point runs."""
    from .route import Route

    where = Location(source).key("route")
    spec = data["route"]
    if not isinstance(spec, str) or not spec.strip():
        raise where.error(f"expected the route file name, got {spec!r}")
    path = Path(spec) if Path(spec).is_absolute() else study_dir / spec
    if not path.is_file():
        raise where.error(f"route file {spec!r} not found (relative to the study file)")
    route_data, route_source = read_yaml(path)
    route_dir = path.resolve().parent
    check_mapping(route_data, Location(route_source), "a route")
    route = Route.from_dict(copy.deepcopy(route_data), source=route_source, base_dir=route_dir)
    return route, route_data, route_source, route_dir


def study_constraints(items, study, where):
    """Constraints (``spec:``/``subject_to:``) on the study table's columns.
    A mapping ``{COLUMN: "<= VALUE"}`` (the scenario file's form) is read
    as the list ``["COLUMN <= VALUE"]``."""
    if isinstance(items, dict):
        items = [f"{k} {v}" for k, v in items.items()]
    return parse_constraints(items, [f.name for f in study.factors] + list(study.columns), where)


def open_study(path, allowed_keys, bounds_only=False, required=("route", "vary")):
    """A study file opened and checked: ``(study, data, root Location)``.
    ``bounds_only``: the ``vary:`` factors are optimiser bounds ``{from, to}``."""
    data, source, study_dir = read_study(path, allowed_keys, required)
    root = Location(source)
    route, route_data, route_source, route_dir = _load_route_entry(data, source, study_dir)
    factors = parse_factors(data.get("vary"), route, root.key("vary"), bounds_only=bounds_only,
                            route_data=route_data)
    study = Study(route_data, route_source, route_dir, factors, route=route, source=source)
    study.study_dir = study_dir      # files named in the study file are relative to it
    return study, data, root


def load_sweep(path):
    """A sweep file (DESIGN.md, "Study files") as a :class:`Study` with its
    design points ``study.X``, ``study.design``, ``study.shape``,
    ``study.spec`` (constraints) and ``study.settings`` (Monte Carlo keys)."""
    study, data, root = open_study(path, SWEEP_KEYS)
    study.design, study.X, study.shape = parse_design(data.get("design"), study.factors,
                                                      root.key("design"))
    study.spec = study_constraints(data.get("spec"), study, root.key("spec"))
    study.settings = None
    if data.get("uncertainty") is not None:
        samples = data.get("samples", 200)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise root.key("samples").error(f"expected a whole number of samples >= 1, got {samples!r}")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise root.key("seed").error(f"expected a whole number >= 0, got {seed!r}")
        study.settings = {"uncertainty": data["uncertainty"], "samples": samples, "seed": seed,
                          "where": root.key("uncertainty"), "base_dir": study.study_dir}
        try:
            from .uncertainty import parse_uncertainty
        except ImportError:   # checked again, with its own message, when the study runs
            parse_uncertainty = None
        if parse_uncertainty is not None:
            # a bad uncertainty section fails before any point is solved
            parse_uncertainty(data["uncertainty"], study.route.mechanism, root.key("uncertainty"),
                              study.study_dir)
    else:
        for key in ("samples", "seed"):
            if key in data:
                raise root.key(key).error(f"'{key}' belongs to a Monte Carlo study: give "
                                          "'uncertainty:' too")
    return study


# ---------------------------------------------------------------------------- study
_WORKER_STUDIES: dict = {}   # token -> Study, one per worker process (Dask or pool)


def _set_entry(data, factor, value):
    """Put the factor's value into a route mapping (changed in place). A
    splitter's fraction to one outlet leaves the rest to the other outlets
    in their original proportions (the fractions sum to 1)."""
    target = _route_entry_mapping(data, factor.section, factor.entry)
    if factor.keys[0] == "fractions":
        given = factor.base
        outlet, x = factor.keys[1], float(value)
        rest = sum(v for k, v in given.items() if k != outlet)
        target["fractions"] = {k: (x if k == outlet else v / rest * (1.0 - x))
                               for k, v in given.items()}
        return
    for k in factor.keys[:-1]:
        if not isinstance(target.get(k), dict):
            target[k] = {}
        target = target[k]
    target[factor.keys[-1]] = factor.text(value)


class Study:
    """A route and the factors varied over it.

    Parameters
    ----------
    route_data : dict
        The route mapping as read from its file.
    route_source : str
        The route file name (errors name it).
    base_dir : Path
        Directory the route's relative file names are read from.
    factors : list of Factor
    kinetic : ParameterMap, optional
        Kinetic parameters that :meth:`evaluate` varies per point with ``theta``.
    route : Route, optional
        The route already loaded from ``route_data`` (else loaded here).
    source : str, optional
        The study file name.

    Attributes
    ----------
    columns : list of str
        The KPI columns (:func:`~flowchem.process.study_table.kpi_columns`).
    evaluator : str or None
        ``"compiled"`` or ``"python"`` after the first evaluation;
        ``fallback_reason`` says why the compiled path was not used.
    """

    def __init__(self, route_data, route_source, base_dir, factors, kinetic=None, route=None,
                 source="<python>"):
        from .route import Route

        self.route_data = route_data
        self.route_source = route_source
        self.base_dir = Path(base_dir)
        self.study_dir = self.base_dir     # open_study: the study file's directory
        self.factors = list(factors)
        self.kinetic = kinetic
        self.source = source
        if route is None:
            route = Route.from_dict(copy.deepcopy(route_data), source=route_source, base_dir=base_dir)
        self.route = route
        self.columns = kpi_columns(route)
        self.X = None
        self.design = None
        self.shape = None
        self.spec = []
        self.settings = None
        self._compiled = None
        self._compiled_tried = False
        self.fallback_reason = None
        self.evaluator = None
        self._token = None

    @property
    def factor_names(self):
        return [f.name for f in self.factors]

    def with_kinetic(self, kinetic):
        """A copy of this study whose ``theta`` moves the parameters of ``kinetic``
        (a :class:`~flowchem.chemistry.parameters.ParameterMap` of the route's mechanism)."""
        other = copy.copy(self)
        other.kinetic = kinetic
        other._compiled, other._compiled_tried, other._token = None, False, None
        other.fallback_reason = other.evaluator = None
        return other

    # -- pickling: the parts a worker rebuilds the study from ------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_compiled"], state["_compiled_tried"] = None, False
        # the route is rebuilt on the worker from the mapping and the parsed
        # mechanism (a remote worker need not see the mechanism file)
        state["route"] = None
        state["_mechanism"] = self.route.mechanism
        return state

    def __setstate__(self, state):
        from .route import Route

        mechanism = state.pop("_mechanism")
        self.__dict__.update(state)
        data = copy.deepcopy(self._base_mapping())
        data["mechanism"] = mechanism
        self.route = Route.from_dict(data, source=self.route_source, base_dir=self.base_dir)

    def token(self):
        """A digest of the study's parts: the key of the per-worker cache."""
        if self._token is None:
            self._token = hashlib.sha1(pickle.dumps(
                (self.route_data, self.route_source, str(self.base_dir), self.factors,
                 self.kinetic), protocol=4)).hexdigest()
        return self._token

    # -- evaluators ----------------------------------------------------------------------
    def compiled(self):
        """The compiled route ensemble, or None (``fallback_reason`` says why)."""
        if not self._compiled_tried:
            self._compiled_tried = True
            try:
                from .compiled_route import CompiledRoute, NotCompilable
            except ImportError:
                self.fallback_reason = "the compiled route ensemble is not installed"
                return None
            try:
                self._compiled = CompiledRoute(self.route, self.factor_names, self.kinetic)
            except NotCompilable as exc:
                self.fallback_reason = str(exc)
                self._compiled = None
        return self._compiled

    def evaluator_name(self):
        """``"compiled"`` or ``"python"`` (the evaluator :meth:`evaluate` uses)."""
        return "compiled" if self.compiled() is not None else "python"

    def _check_points(self, X, theta):
        X = np.asarray(X, dtype=float)
        if X.ndim == 1 and len(self.factors) == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != len(self.factors):
            raise ValueError(f"expected X of shape (n_points, {len(self.factors)}), got {X.shape}")
        if theta is not None:
            if self.kinetic is None:
                raise ValueError("theta given but the study has no kinetic parameters "
                                 "(Study.with_kinetic)")
            theta = np.asarray(theta, dtype=float)
            if theta.ndim == 1:
                theta = np.tile(theta, (X.shape[0], 1))
            if theta.shape != (X.shape[0], self.kinetic.n):
                raise ValueError(f"expected theta of shape ({X.shape[0]}, {self.kinetic.n}), "
                                 f"got {theta.shape}")
        return X, theta

    def point_route(self, x, theta_row=None):
        """The :class:`Route` at one point (InputError for a value the route refuses)."""
        from .route import Route

        data = copy.deepcopy(self._base_mapping())
        data["mechanism"] = (self.route.mechanism if theta_row is None
                             else self.kinetic.mechanism_with(theta_row))
        for f, v in zip(self.factors, x):
            _set_entry(data, f, v)
        return Route.from_dict(data, source=self.route_source, base_dir=self.base_dir)

    def _base_mapping(self):
        # the mechanism is loaded once: every point shares the parsed object
        if getattr(self, "_base", None) is None:
            self._base = {k: v for k, v in self.route_data.items() if k != "mechanism"}
        return self._base

    def evaluate_python(self, X, theta=None):
        """Rows of the per-point Python route: ``(values, status)``."""
        X, theta = self._check_points(X, theta)
        values = np.full((X.shape[0], len(self.columns)), np.nan)
        status = []
        for i, x in enumerate(X):
            try:
                result = self.point_route(x, None if theta is None else theta[i]).run()
                row = row_from_result(self.columns, result)
            except (InputError, SolverError) as exc:
                status.append(str(exc))
                continue
            values[i] = [np.nan if row[c] is None else row[c] for c in self.columns]
            status.append(OK)
        return values, status

    def _evaluate_here(self, X, theta, threads):
        compiled = self.compiled()
        if compiled is not None:
            self.evaluator = "compiled"
            import numba

            # numba starts at most NUMBA_NUM_THREADS threads (the cores, by default)
            threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
            values, status = compiled.evaluate(X, theta, threads=threads)
            return np.asarray(values, dtype=float), list(status)
        self.evaluator = "python"
        return self.evaluate_python(X, theta)

    def evaluate(self, X, theta=None, workers=1, scheduler=None, progress=None):
        """Study-table KPI rows for the points ``X``.

        Parameters
        ----------
        X : array (n_points, n_factors)
            SI values of the factors, in :attr:`factors` order.
        theta : array (n_points, kinetic.n), optional
            Kinetic parameters per point (fitting coordinates of :attr:`kinetic`).
        workers : int
            Numba threads (compiled path) or processes (per-point Python route).
        scheduler : str or dask.distributed.Client, optional
            ``"tcp://HOST:PORT"`` or a client: the points run on that Dask cluster.
        progress : callable, optional
            ``progress(done, total)`` after every chunk.

        Returns
        -------
        values : ndarray (n_points, len(columns))
            NaN where a cell is empty or the point failed.
        status : list of str
            ``"ok"`` or the reason the point failed.
        """
        X, theta = self._check_points(X, theta)
        workers = max(1, int(workers or 1))
        n = X.shape[0]
        if n == 0:
            return np.empty((0, len(self.columns))), []
        if scheduler is not None:
            from .distributed import evaluate_on_dask

            self.evaluator_name()
            return evaluate_on_dask(self, X, theta, scheduler, progress)
        if self.compiled() is not None:
            # chunks only to report progress: the points are independent
            size = n if progress is None else max(2000, -(-n // 20))
            chunks = []
            for start in range(0, n, size):
                chunks.append(self._evaluate_here(X[start:start + size],
                                                  None if theta is None else theta[start:start + size],
                                                  workers))
                if progress is not None:
                    progress(min(start + size, n), n)
            return _join(chunks)
        self.evaluator = "python"
        if workers == 1 or n == 1:
            size = n if progress is None else max(1, -(-n // 50))
            chunks = []
            for start in range(0, n, size):
                chunks.append(self.evaluate_python(X[start:start + size],
                                                   None if theta is None else theta[start:start + size]))
                if progress is not None:
                    progress(min(start + size, n), n)
            return _join(chunks)
        return self._evaluate_pool(X, theta, workers, progress)

    def _evaluate_pool(self, X, theta, workers, progress):
        import concurrent.futures as cf
        import multiprocessing as mp

        n = X.shape[0]
        n_chunks = min(n, 8 * workers)
        bounds = np.linspace(0, n, n_chunks + 1).astype(int)
        context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        results = [None] * n_chunks
        done = 0
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                    initializer=_init_pool_worker, initargs=(self,)) as pool:
            futures = {pool.submit(_pool_chunk, X[a:b], None if theta is None else theta[a:b]): k
                       for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))}
            for fut in cf.as_completed(futures):
                k = futures[fut]
                results[k] = fut.result()
                done += bounds[k + 1] - bounds[k]
                if progress is not None:
                    progress(int(done), n)
        return _join(results)


def _join(chunks):
    values = np.vstack([c[0] for c in chunks])
    status = [s for c in chunks for s in c[1]]
    return values, status


def _init_pool_worker(study):
    _WORKER_STUDIES["pool"] = study


def _pool_chunk(X, theta):
    return _WORKER_STUDIES["pool"].evaluate_python(X, theta)


# ---------------------------------------------------------------------------- sweep
class StudyResult:
    """The table of a study: factor columns (SI), KPI columns, optional
    ``in_spec`` and Monte Carlo columns, then ``status``.

    Attributes
    ----------
    table : dict
        Column -> numpy float array (NaN = empty cell), or a list (``status``,
        ``in_spec`` with None for failed points).
    study : Study
    evaluator : str
        ``"compiled"`` or ``"python"``; ``fallback_reason`` says why not compiled.
    elapsed_s : float
        Wall time of the evaluation.
    """

    def __init__(self, study, table, evaluator, fallback_reason, elapsed_s, workers=1,
                 scheduler=None):
        self.study = study
        self.table = table
        self.evaluator = evaluator
        self.fallback_reason = fallback_reason
        self.elapsed_s = elapsed_s
        self.workers = workers
        self.scheduler = scheduler
        self.figures = []

    @property
    def factors(self):
        return self.study.factors

    @property
    def spec(self):
        return self.study.spec

    @property
    def columns(self):
        return list(self.table)

    @property
    def n_points(self):
        return len(self.table["status"])

    @property
    def ok(self):
        return np.array([s == OK for s in self.table["status"]], dtype=bool)

    def column(self, name):
        """A column as a float array (NaN = empty)."""
        col = self.table[name]
        if isinstance(col, np.ndarray):
            return col
        return np.array([np.nan if v is None else float(v) for v in col], dtype=float)

    def rows(self):
        """The table as a list of dicts (None for empty cells)."""
        names = list(self.table)
        out = []
        for i in range(self.n_points):
            row = {}
            for c in names:
                v = self.table[c][i]
                if isinstance(v, (float, np.floating)) and math.isnan(v):
                    v = None
                row[c] = v.item() if isinstance(v, np.generic) else v
            out.append(row)
        return out

    def write_csv(self, path):
        """``sweep.csv``: one row per point; an empty cell where a value is not
        defined (never 0); floats written to round-trip exactly."""
        import csv

        from ..core.files import atomic_open

        names = list(self.table)
        with atomic_open(path, newline="") as fh:
            w = csv.writer(fh)
            w.writerow(names)
            for row in self.rows():
                w.writerow([_cell(row[c]) for c in names])

    def best(self, column="product.yield", maximize=True, feasible=True):
        """Index of the best ok point by ``column`` (within the spec when
        ``feasible`` and a spec is given), or None."""
        if column not in self.table:
            return None
        z = self.column(column).copy()
        mask = self.ok & np.isfinite(z)
        if feasible and "in_spec" in self.table:
            mask &= np.array([v is True for v in self.table["in_spec"]])
        if not mask.any():
            return None
        z[~mask] = -np.inf if maximize else np.inf
        return int(np.argmax(z) if maximize else np.argmin(z))

    def summary(self):
        """A few lines: points, ok/failed, evaluator, speed, best point for yield."""
        n, n_ok = self.n_points, int(self.ok.sum())
        rate = n / self.elapsed_s if self.elapsed_s > 0 else float("inf")
        if self.scheduler:
            where = f"Dask scheduler {self.scheduler}"
        elif self.evaluator == "compiled":
            import numba

            k = max(1, min(self.workers, numba.config.NUMBA_NUM_THREADS))
            where = f"{k} thread{'s' if k != 1 else ''}"
        else:
            where = f"{self.workers} process{'es' if self.workers != 1 else ''}"
        how = "compiled route ensemble" if self.evaluator == "compiled" else "per-point Python route"
        lines = [f"{n} points: {n_ok} ok, {n - n_ok} failed; {how} on {where}: "
                 f"{self.elapsed_s:.3g} s, {rate:.4g} points/s"]
        if self.evaluator != "compiled" and self.fallback_reason:
            lines.append(f"not compiled: {self.fallback_reason}")
        if "in_spec" in self.table:
            n_in = sum(v is True for v in self.table["in_spec"])
            lines.append(f"in spec ({'; '.join(str(c) for c in self.spec)}): {n_in} of {n} points")
        i = self.best()
        if i is not None:
            at = ", ".join(f"{f.name} = {_show(self.table[f.name][i], f)}" for f in self.factors)
            lines.append(f"best product.yield {self.table['product.yield'][i]:.4g}"
                         f"{' in spec' if 'in_spec' in self.table else ''} at {at}")
        settings = getattr(self.study, "settings", None)
        if settings is not None and "probability_of_success" in self.table:
            p = np.asarray(self.table["probability_of_success"], dtype=float)
            samples = settings["samples"]
            spent = getattr(self.study, "monte_carlo_s", None)
            line = f"Monte Carlo: {samples} kinetic draws per point ({n * samples} evaluations"
            line += f", {spent:.3g} s)" if spent else ")"
            if np.isfinite(p).any():
                k = int(np.nanargmax(p))
                at = ", ".join(f"{f.name} = {_show(self.table[f.name][k], f)}" for f in self.factors)
                line += f"; highest probability of success {p[k]:.3g} at {at}"
            lines.append(line)
        bad = [s for s in self.table["status"] if s != OK]
        if bad:
            lines.append(f"first failure: {bad[0]}")
        return "\n".join(lines)

    def write_figures(self, out_dir):
        """Contour maps (two factors and more) or line plots (one factor) of
        every KPI; the file names written."""
        from ..reporting.study_figures import write_study_figures

        self.figures = write_study_figures(self, out_dir)
        return self.figures


def _show(value, factor):
    if factor.kind == "temperature":
        return f"{value:.6g} K ({value - 273.15:.4g} degC)"
    if factor.kind == "flow":
        return f"{value * 6e7:.4g} mL/min"
    if factor.kind == "concentration":
        return f"{value / 1000:.4g} mol/L"
    if factor.kind == "volume":
        return f"{value * 1e6:.4g} mL"
    return f"{value:.6g} {factor.unit}".strip()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def build_table(study, X, values, status):
    """The ordered table of a study: factors, KPIs, ``in_spec`` (with a spec), ``status``."""
    table = {}
    for j, f in enumerate(study.factors):
        table[f.name] = np.asarray(X[:, j], dtype=float).copy()
    for j, c in enumerate(study.columns):
        table[c] = np.asarray(values[:, j], dtype=float).copy()
    if study.spec:
        ok = np.array([s == OK for s in status], dtype=bool)
        holds = np.ones(len(status), dtype=bool)
        for c in study.spec:
            holds &= c.holds(c.cell_values(table[c.column], ok))
        table["in_spec"] = [bool(h) if o else None for h, o in zip(holds, ok)]
    table["status"] = list(status)
    return table


def sweep(path, workers=1, scheduler=None, progress=None, samples=None):
    """Run the sweep file at ``path`` (DESIGN.md, "Study files").

    Parameters
    ----------
    path : str or Path
        The sweep file.
    workers : int
        Numba threads (compiled path) or processes (per-point Python route).
    scheduler : str or dask.distributed.Client, optional
        A Dask scheduler address ``"tcp://HOST:PORT"`` or a client.
    progress : callable, optional
        ``progress(done, total)``.
    samples : int, optional
        Monte Carlo samples (overrides ``samples:`` of the file; needs ``uncertainty:``).

    Returns
    -------
    StudyResult
    """
    study = load_sweep(path)
    if samples is not None:
        if study.settings is None:
            raise InputError("--samples needs an 'uncertainty:' section in the sweep file",
                             study.source, "samples")
        if isinstance(samples, bool) or int(samples) != samples or samples < 1:
            raise InputError(f"expected a whole number of samples >= 1, got {samples!r}",
                             "command line", "--samples")
        study.settings["samples"] = int(samples)
    return run_sweep(study, workers=workers, scheduler=scheduler, progress=progress)


def run_sweep(study, workers=1, scheduler=None, progress=None):
    """The :class:`StudyResult` of a loaded sweep study."""
    client, owned = None, False
    if scheduler is not None:
        from .distributed import connect

        client, owned = connect(scheduler)
    try:
        if client is None and len(study.X):
            # start-up (compiling the route, loading the kernels) is not part of the
            # points per second: one point first
            study.evaluate(study.X[:1])
        start = time.perf_counter()
        values, status = study.evaluate(study.X, workers=workers, scheduler=client,
                                        progress=progress)
        elapsed = time.perf_counter() - start
        table = build_table(study, study.X, values, status)
        if study.settings is not None:
            try:
                from .uncertainty import monte_carlo_columns
            except ImportError:
                raise InputError("Monte Carlo studies (uncertainty:) are not available in this "
                                 "installation", study.source, "uncertainty") from None
            mc_start = time.perf_counter()
            extra = monte_carlo_columns(study, study.X, study.spec, study.settings, workers,
                                        client, progress)
            study.monte_carlo_s = time.perf_counter() - mc_start
            statuses = table.pop("status")
            table.update(extra)
            table["status"] = statuses
    finally:
        if owned:
            client.close()
    address = scheduler if isinstance(scheduler, str) else (
        getattr(client, "scheduler", None) and client.scheduler.address if client else None)
    return StudyResult(study, table, study.evaluator or study.evaluator_name(),
                       study.fallback_reason, elapsed, workers=workers, scheduler=address)
