"""Local sensitivities of a whole route's KPIs to kinetics and operating conditions.

:func:`sensitivity` returns normalised local sensitivity coefficients
``S = d ln KPI / d ln p`` of the route KPIs (product yield, selectivity,
conversion, each impurity's mol % of the product, the T_max of every reactor
with an energy balance) with respect to

* kinetic parameters (DESIGN.md names; by default every rate magnitude
  ``k``/``A``/``k_ref``, forward and reverse, every ``K_ref`` and every
  ``Ea`` with a non-zero value), each varied alone, the other parameters of
  its rate law held fixed;
* operating conditions: each feed's flow (``FEED.flow``), each non-zero feed
  concentration (``FEED.conc.SPECIES``), each isothermal reactor's
  temperature (``REACTOR.T``) and each reactor's volume (``REACTOR.volume``).

Method
------
Each coefficient carries the method that produced it:

``forward``
    Kinetic parameters, when every operation upstream of the product stream
    is a mixer, splitter, heat exchanger or an *isothermal* PFR, CSTR or
    cascade, and no reactor of the route has an energy balance (whose T_max
    would be a KPI). The molar flows of every stream and their derivatives with
    respect to all kinetic parameters are carried operation by operation in
    route order: mixers add, splitters scale, heat exchangers pass them on
    (flows and temperatures do not depend on the kinetics there); a PFR
    integrates the augmented system ``[c, dc/dθ]`` from the inlet's
    sensitivities (:func:`~flowchem.reactors.sensitivity.batch_sensitivities`
    with ``s0``), a CSTR or cascade solves the linear sensitivity system of
    its steady states with the inlet's sensitivities as the feed term
    (:func:`~flowchem.reactors.sensitivity.cstr_sensitivities`). Exact up to
    the integrator's tolerance.
``finite-difference``
    Everything else: operating conditions, routes with other operations
    (separators, quenches, non-ideal reactors) or energy balances upstream
    of the product. Central differences of :meth:`Route.run` with the
    parameter multiplied by ``1 +- relative_step`` (default 1e-4), two route
    runs per parameter; the error is the solver tolerance divided by the step
    (about 1e-4 relative with the default rtol of 1e-8) plus O(step^2).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import InputError
from ..core.units import GAS_CONSTANT

__all__ = ["SensitivityEntry", "SensitivityResult", "sensitivity", "default_parameters"]

DEFAULT_RELATIVE_STEP = 1e-4
_KINETIC_KEYS = {"k", "A", "k_ref", "K_ref", "Ea"}
_T_CENTER = 298.15          # any positive value: each map holds one parameter


@dataclass(frozen=True)
class SensitivityEntry:
    """One coefficient ``d ln kpi / d ln parameter`` and how it was computed."""

    kpi: str
    parameter: str
    kind: str            # "kinetic" or "operating"
    coefficient: float
    method: str          # "forward" or "finite-difference"

    def to_dict(self):
        return {"kpi": self.kpi, "parameter": self.parameter, "kind": self.kind,
                "coefficient": self.coefficient, "method": self.method}


class SensitivityResult:
    """Normalised local sensitivity coefficients of a route.

    Attributes
    ----------
    kpis : dict
        KPI name -> value at the nominal point.
    parameters : dict
        Parameter name -> nominal value (SI).
    entries : list of SensitivityEntry
    base : RouteResult
        The nominal run.
    relative_step : float
        Step of the finite differences.
    """

    def __init__(self, route_name, kpis, parameters, entries, base, relative_step):
        self.route_name = route_name
        self.kpis = kpis
        self.parameters = parameters
        self.entries = entries
        self.base = base
        self.relative_step = relative_step

    def ranked(self, kpi):
        """Entries of one KPI, largest |S| first."""
        rows = [e for e in self.entries if e.kpi == kpi]
        return sorted(rows, key=lambda e: -abs(e.coefficient))

    def coefficient(self, kpi, parameter):
        """``d ln kpi / d ln parameter``; KeyError when not computed."""
        for e in self.entries:
            if e.kpi == kpi and e.parameter == parameter:
                return e.coefficient
        raise KeyError((kpi, parameter))

    def table(self, top=None):
        """Ranked text table per KPI (``top`` rows each, all by default)."""
        from ..reporting.numbers import significant

        lines = [f"normalised sensitivities S = d ln KPI / d ln p of route {self.route_name}"]
        for kpi, value in self.kpis.items():
            lines.append(f"  {kpi} = {significant(value)}")
            rows = self.ranked(kpi)
            for e in rows[:top] if top else rows:
                lines.append(f"    {e.parameter:<28s} {e.coefficient:+11.4e}  {e.method}")
        return "\n".join(lines)

    def rate_of_production(self):
        """Reactor name -> :class:`RateOfProduction` of the nominal run."""
        from ..reactors.ideal import CSTRResult, PFRResult
        from ..reactors.rate_of_production import rate_of_production

        return {name: rate_of_production(res) for name, res in self.base.operations.items()
                if isinstance(res, (PFRResult, CSTRResult))}

    def to_dict(self):
        return {"route": self.route_name, "relative_step": self.relative_step,
                "kpis": dict(self.kpis), "parameters": dict(self.parameters),
                "coefficients": {k: [e.to_dict() for e in self.ranked(k)] for k in self.kpis}}


# -- parameters -----------------------------------------------------------------
def default_parameters(route):
    """Every kinetic rate magnitude and non-zero activation energy, each
    feed's flow and non-zero concentrations, each isothermal reactor's T and
    each reactor's volume."""
    from ..chemistry.parameters import parameter_names, parse_parameter_name

    mech = route.mechanism
    names = []
    for name in parameter_names(mech):
        q = parse_parameter_name(mech, name)
        if q.target != "order" and q.key in _KINETIC_KEYS and _kinetic_value(mech, q) != 0.0:
            names.append(name)
    for fname, feed in route.feeds.items():
        names.append(f"{fname}.flow")
        names += [f"{fname}.conc.{sp}" for sp, c in zip(mech.species_names, feed.conc) if c > 0]
    for oname in route.order:
        op = route.operations[oname]
        if _is_reactor(op):
            if op.T is not None:
                names.append(f"{oname}.T")
            names.append(f"{oname}.volume")
    return names


def _is_reactor(op):
    return isinstance(getattr(op, "volume", None), float) and hasattr(op, "energy")


def _kinetic_value(mech, q):
    """The user's value (SI) of a kinetic parameter (k, not ln k)."""
    r = mech.reactions[q.reaction]
    if q.target == "order":
        return float(r.orders[q.key])
    if q.target == "dH":
        return float(r.dH or 0.0)
    if q.target == "equilibrium":
        return math.exp(r.equilibrium.lnK_ref)
    law = r.rate if q.target == "rate" else r.reverse
    if q.key == "Ea":
        return law.Ea_over_R * GAS_CONSTANT
    if q.key == "b":
        return law.b
    lnk = law.lnA if q.key in ("A", "k") else law.lnA - law.Ea_over_R / law.T_ref
    return math.exp(lnk) if lnk > -745.0 else 0.0


class _Operating:
    """An operating condition: where it lives and how to set it on a copy."""

    def __init__(self, route, name):
        self.name = name
        head, _, rest = name.partition(".")
        self.feed = self.op = self.species = None
        if head in route.feeds and (rest == "flow" or rest.startswith("conc.")):
            self.feed, self.attr = head, rest if rest == "flow" else "conc"
            if rest.startswith("conc."):
                sp = rest[len("conc."):]
                if sp not in route.mechanism.species_names:
                    raise InputError(f"unknown species {sp!r} in parameter {name!r}",
                                     route.source, name)
                self.species = route.mechanism.species_names.index(sp)
                self.value = float(route.feeds[head].conc[self.species])
            else:
                self.value = float(route.feeds[head].flow)
        elif head in route.operations and rest in ("T", "volume") \
                and _is_reactor(route.operations[head]):
            self.op, self.attr = head, rest
            self.value = getattr(route.operations[head], rest)
            if self.value is None:
                raise InputError(f"parameter {name!r}: {head} has no fixed T (its temperature "
                                 "follows an energy balance)", route.source, name)
            self.value = float(self.value)
        else:
            raise KeyError(name)
        if not self.value > 0.0:
            raise InputError(f"parameter {name!r} is zero; a logarithmic sensitivity needs a "
                             "positive nominal value", route.source, name)

    def variant(self, route, factor):
        feeds, ops = dict(route.feeds), dict(route.operations)
        if self.feed is not None:
            s = copy.copy(route.feeds[self.feed])
            if self.attr == "flow":
                s.flow = s.flow * factor
            else:
                s.conc = s.conc.copy()
                s.conc[self.species] *= factor
            feeds[self.feed] = s
        else:
            o = copy.copy(route.operations[self.op])
            setattr(o, self.attr, getattr(o, self.attr) * factor)
            ops[self.op] = o
        return _rebuilt(route, route.mechanism, feeds, ops)


class _Kinetic:
    """A kinetic parameter as a one-column ParameterMap (θ = ln p for a
    positive magnitude, θ = p / scale otherwise)."""

    def __init__(self, route, name):
        from ..chemistry.parameters import ParameterMap

        self.name = name
        self.map = ParameterMap(route.mechanism, [name], _T_CENTER)
        q = self.map.params[0]
        self.positive = q.positive
        self.theta0 = float(self.map.theta0[0])
        self.value = float(self.map.user_values(self.map.theta0)[0])
        # d θ / d ln p: 1 in logarithms, θ itself for a linear coordinate
        self.dtheta_dlnp = 1.0 if self.positive else self.theta0

    def variant(self, route, factor):
        theta = self.theta0 + math.log(factor) if self.positive else self.theta0 * factor
        mech = self.map.mechanism_with(np.array([theta]))
        feeds = {}
        for fname, s in route.feeds.items():
            s2 = copy.copy(s)
            s2.mechanism = mech
            feeds[fname] = s2
        return _rebuilt(route, mech, feeds, dict(route.operations))


def _rebuilt(route, mechanism, feeds, operations):
    from .route import Route

    r = Route(route.name, mechanism, feeds, operations, route.links, route.product,
              route.options, route.source, route.hazardous)
    r.reference = route.reference
    return r


def _resolve(route, names):
    out = []
    for name in names:
        if not isinstance(name, str):
            raise InputError(f"expected a parameter name, got {name!r}", route.source, "parameters")
        try:
            out.append(_Operating(route, name))
        except KeyError:
            out.append(_Kinetic(route, name))   # InputError naming the valid names otherwise
    return out


# -- KPIs -----------------------------------------------------------------------
def _kpi_layout(route, base):
    """Names of the KPIs with a positive nominal value (a log needs one)."""
    p = base.product
    names = [k for k in ("yield", "selectivity", "conversion") if p.get(k) and p[k] > 0]
    names += [f"impurity {sp} mol %" for sp, v in p["impurity_profile_mol_percent"].items() if v > 0]
    for name in route.order:
        res = base.operations[name]
        energy = getattr(res, "thermal", {}).get("energy")
        if energy is not None and energy != "isothermal" and "T_max_K" in res.thermal:
            names.append(f"T_max {name}")
    return names


def _kpi_values(result, names):
    p = result.product
    spec = result.route.product
    mech = result.route.mechanism
    F = result.streams[spec["from"]].molar_flows
    ip = mech.species_names.index(spec["species"])
    out = {}
    for k in names:
        if k.startswith("impurity "):
            sp = k[len("impurity "):-len(" mol %")]
            out[k] = 100.0 * F[mech.species_names.index(sp)] / F[ip]
        elif k.startswith("T_max "):
            out[k] = float(result.operations[k[len("T_max "):]].thermal["T_max_K"])
        else:
            out[k] = float(p[k]) if p[k] is not None else math.nan
    return out


# -- forward kinetic sensitivities ------------------------------------------------
def _forward_supported(route, base, upstream):
    from ..reactors.ideal import PFR, CSTRCascade
    from .operations import HeatExchanger, Mixer, Splitter

    for name in route.order:
        if name not in upstream:
            continue
        op = route.operations[name]
        if type(op) in (Mixer, Splitter, HeatExchanger):
            continue
        if (type(op) is PFR or isinstance(op, CSTRCascade)) and op.energy.isothermal:
            continue
        return False
    return True


def _forward_flows(route, base, kinetic, upstream):
    """d F / d θ (n x p) of every stream upstream of the product, route order."""
    from ..reactors.ideal import PFR
    from ..reactors.sensitivity import batch_sensitivities, cstr_sensitivities, kernel_arrays
    from .operations import HeatExchanger, Mixer, Splitter

    n = route.mechanism.n_species
    p = len(kinetic)
    M = np.column_stack([k.map.M[:, 0] for k in kinetic])
    model, rate_params = kernel_arrays(kinetic[0].map, kinetic[0].map.theta0)
    dF = {f: np.zeros((n, p)) for f in route.feeds}
    for name in route.order:
        if name not in upstream:
            continue
        op = route.operations[name]
        inlets = route.links[name]
        if isinstance(op, Mixer):
            dF[name] = sum(dF[s] for s in inlets)
        elif isinstance(op, Splitter):
            for key, frac in op.fractions.items():
                dF[f"{name}.{key}"] = frac * dF[inlets[0]]
        elif isinstance(op, HeatExchanger):
            dF[name] = dF[inlets[0]].copy()
        else:
            feed = base.streams[inlets[0]]
            Q = feed.flow
            T = op._temperature(feed)
            tau = op.volume / Q
            label = f"{name} (sensitivities)"
            if type(op) is PFR:
                _, dy = batch_sensitivities(model, rate_params, T, feed.conc, np.array([tau]), M,
                                            options=op.options, s0=dF[inlets[0]] / Q,
                                            operation=label)
                dF[name] = dy[-1] * Q
            else:
                _, ds = cstr_sensitivities(model, rate_params, T, feed.conc, tau, M,
                                           n_tanks=op.n, dc_in=dF[inlets[0]] / Q,
                                           options=op.options, operation=label)
                dF[name] = ds[-1] * Q
    return dF


def _forward_kpi_derivatives(route, base, dF_out, kpi_names):
    """d KPI / d θ of the product KPIs from the product stream's d F / d θ
    (feeds do not depend on the kinetics)."""
    spec = route.product
    p = base.product
    names = route.mechanism.species_names
    ip, ib = names.index(spec["species"]), names.index(spec["basis"])
    up = route.upstream(spec["from"])
    basis_in = sum(route.feeds[f].molar_flows for f in route.feeds if f in up)[ib]
    F = base.streams[spec["from"]].molar_flows
    factor = p["stoichiometric_factor"]
    dY = dF_out[ip] * factor / basis_in
    dX = -dF_out[ib] / basis_in
    out = {}
    for k in kpi_names:
        if k == "yield":
            out[k] = dY
        elif k == "conversion":
            out[k] = dX
        elif k == "selectivity":
            X, Y = p["conversion"], p["yield"]
            out[k] = (dY * X - Y * dX) / X ** 2
        elif k.startswith("impurity "):
            i = names.index(k[len("impurity "):-len(" mol %")])
            out[k] = 100.0 * (dF_out[i] * F[ip] - F[i] * dF_out[ip]) / F[ip] ** 2
    return out


# -- driver ------------------------------------------------------------------------
def sensitivity(route, parameters=None, kpis=None, relative_step=None, method="auto"):
    """Normalised local sensitivities ``d ln KPI / d ln p`` of a route.

    Parameters
    ----------
    route : Route
        A route with a ``product`` entry.
    parameters : list of str, optional
        Kinetic names (``r1.k``, ``r2.Ea``, DESIGN.md) and operating
        conditions (``FEED.flow``, ``FEED.conc.A``, ``REACTOR.T``,
        ``REACTOR.volume``); default :func:`default_parameters`.
    kpis : list of str, optional
        KPI names to keep (``yield``, ``selectivity``, ``conversion``,
        ``impurity X mol %``, ``T_max REACTOR``); default all with a
        positive nominal value.
    relative_step : float, optional
        Relative step of the central finite differences (default 1e-4).
    method : {"auto", "finite-difference"}
        ``auto``: forward sensitivities for the kinetic parameters where the
        route allows them; ``finite-difference``: differences for every
        parameter (a check of the forward path).

    Returns
    -------
    SensitivityResult

    Raises
    ------
    InputError
        No product, an unknown parameter or KPI, a zero nominal value.
    SolverError
        A route run or sensitivity solve failed.

    Notes
    -----
    Kinetic coefficients are ``forward`` (exact) when every operation
    upstream of the product is a mixer, splitter, heat exchanger or an
    isothermal PFR/CSTR/cascade and no reactor has an energy balance, else
    ``finite-difference``; operating
    conditions are always ``finite-difference`` (see the module docstring).
    """
    from .route import Route

    if not isinstance(route, Route):
        raise InputError(f"expected a Route, got {type(route).__name__}", "<python>", "route")
    if route.product is None:
        raise InputError("sensitivities are of the product KPIs: give the route a 'product'",
                         route.source, "product")
    h = DEFAULT_RELATIVE_STEP if relative_step is None else relative_step
    if isinstance(h, bool) or not isinstance(h, (int, float)) or not (0.0 < h < 0.1):
        raise InputError(f"expected a relative step in (0, 0.1), got {relative_step!r}",
                         route.source, "relative_step")
    if method not in ("auto", "finite-difference"):
        raise InputError(f"expected method 'auto' or 'finite-difference', got {method!r}",
                         route.source, "method")
    base = route.run()
    kpi_names = _kpi_layout(route, base)
    if kpis is not None:
        unknown = [k for k in kpis if k not in kpi_names]
        if unknown:
            raise InputError(f"unknown or zero KPI {unknown[0]!r} (available: "
                             f"{', '.join(kpi_names)})", route.source, "kpis")
        kpi_names = [k for k in kpi_names if k in kpis]
    params = _resolve(route, default_parameters(route) if parameters is None else parameters)
    K0 = _kpi_values(base, kpi_names)
    entries = []

    kinetic = [q for q in params if isinstance(q, _Kinetic)]
    up = route.upstream(route.product["from"])
    # T_max exists only for energy-balance reactors, whose kinetic
    # derivatives the forward path does not carry: differences for all then
    forward = (method == "auto" and bool(kinetic) and _forward_supported(route, base, up)
               and not any(k.startswith("T_max ") for k in kpi_names))
    if forward:
        dF = _forward_flows(route, base, kinetic, up)
        dK = _forward_kpi_derivatives(route, base, dF[route.product["from"]], kpi_names)
        for j, q in enumerate(kinetic):
            for k in kpi_names:
                entries.append(SensitivityEntry(k, q.name, "kinetic",
                                                float(dK[k][j] * q.dtheta_dlnp / K0[k]), "forward"))
    dlnp = math.log1p(h) - math.log1p(-h)
    for q in params:
        if forward and isinstance(q, _Kinetic):
            continue
        plus = _kpi_values(q.variant(route, 1.0 + h).run(), kpi_names)
        minus = _kpi_values(q.variant(route, 1.0 - h).run(), kpi_names)
        kind = "kinetic" if isinstance(q, _Kinetic) else "operating"
        for k in kpi_names:
            s = (math.log(plus[k]) - math.log(minus[k])) / dlnp \
                if plus[k] > 0 and minus[k] > 0 else (plus[k] - minus[k]) / (dlnp * K0[k])
            entries.append(SensitivityEntry(k, q.name, kind, float(s), "finite-difference"))
    return SensitivityResult(route.name, K0, {q.name: q.value for q in params}, entries, base, h)


def sensitivity_command(args):
    """``flowchem sensitivity ROUTE [--json FILE] [--top N]``: the ranked
    coefficients of each KPI, then each reactor's rate-of-production
    breakdown of the nominal run."""
    import json

    from ..core.files import write_text_atomic
    from .route import load_route

    if args.top is not None and args.top < 1:
        raise InputError(f"expected a positive number of rows, got {args.top}", "command line",
                         "--top")
    route = load_route(args.route)
    result = sensitivity(route)
    if args.json:
        write_text_atomic(args.json, json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")
    print(result.table(top=args.top))
    for rop in result.rate_of_production().values():
        print()
        print(rop.table())
    return 0
