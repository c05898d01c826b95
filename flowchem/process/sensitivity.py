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
    Kinetic parameters, feed concentrations, isothermal reactors'
    temperatures and reactor volumes, when every operation upstream of the
    product (and of each reactor whose T_max is a KPI) is a mixer, splitter,
    heat exchanger, quench, separator or an ideal PFR, CSTR or cascade,
    isothermal or with an energy balance (adiabatic or cooled). The molar flows and the
    temperature of every stream and their derivatives with respect to all
    these parameters are carried operation by operation in route order:
    mixers add flows and mix temperatures by m cp (linear in the inlet
    temperatures), splitters scale, heat exchangers pass the flows on and
    fix T, separators split by fractions that depend on flows only. An
    isothermal PFR at a fixed temperature integrates ``[c, dc/dθ]`` from the
    inlet's sensitivities (:func:`~flowchem.reactors.sensitivity.batch_sensitivities`
    with ``s0``), a tank or cascade solves the linear sensitivity system of
    its steady states (:func:`~flowchem.reactors.sensitivity.cstr_sensitivities`).
    A reactor with an energy balance, or an isothermal one (or a quench's
    hold) whose temperature moves with θ (its inlet's, or its own ``T`` as a
    parameter), carries ``[c, heat, T]`` and their derivatives
    (:func:`~flowchem.reactors.sensitivity.batch_energy_sensitivities`,
    :func:`~flowchem.reactors.sensitivity.cstr_energy_sensitivities`). The
    T_max of a PFR is differentiated at its hot spot, where dT/dt = 0 (or at
    the tube's end), so ``d T_max/dθ = dT/dθ`` there; a cascade's is its
    hottest tank's. A volume moves the residence time: a tube's outlet by
    ``tau f(y(tau))`` on top of the integrated sensitivities, a tank's
    balance by ``-(x_in - x)/tau`` and, with a jacket of fixed area, Ua per
    volume by ``-Ua/V``. Exact up to the integrator's tolerance.
``finite-difference``
    Feed flows (they move every residence time downstream, mixing
    temperatures, phase ratios and heat-transfer estimates), and every
    parameter of routes with an operation that has no forward path (the
    dispersion and laminar models). Central differences of :meth:`Route.run` with the parameter
    multiplied by ``1 +- relative_step`` (default 1e-4), two route runs per
    parameter; the error is the solver tolerance divided by the step (about
    1e-4 relative with the default rtol of 1e-8) plus O(step^2).
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
def _forward_supported(route, needed):
    """True when every operation in ``needed`` has a forward path: mixers,
    splitters, heat exchangers, quenches, separators and ideal PFRs, CSTRs
    and cascades, isothermal or with an energy balance (not the dispersion
    or laminar models)."""
    from ..reactors.ideal import PFR, CSTRCascade
    from .operations import HeatExchanger, Mixer, Quench, Separator, Splitter

    for name in route.order:
        if name not in needed:
            continue
        op = route.operations[name]
        if type(op) in (Mixer, Splitter, HeatExchanger, Quench, Separator, PFR) \
                or isinstance(op, CSTRCascade):
            continue
        return False
    return True


def _mixed(base, inlets, dF, dT):
    """d F and d T of the adiabatic mix of ``inlets`` (T = sum m cp T / sum m cp,
    linear in the inlet temperatures; flows and properties do not move)."""
    from ..chemistry.properties import LiquidProperties

    default = LiquidProperties.default()
    weights = []
    for s in inlets:
        props = base.streams[s].properties or default
        weights.append(props.density * base.streams[s].flow * props.cp)
    total = math.fsum(weights)
    return sum(dF[s] for s in inlets), sum(w / total * dT[s] for w, s in zip(weights, inlets))


def _separator_fractions(op, base, inlets):
    """Fraction of each species to the organic phase (as Separator.run);
    it depends on the flows only."""
    Q = sum(base.streams[s].flow for s in inlets)
    if op.aqueous is not None:
        names = op.inlet_names or inlets
        Q_aq = sum(base.streams[s].flow for s, nm in zip(inlets, names) if nm in op.aqueous)
        Q_org = Q - Q_aq
    else:
        Q_org = Q * op.phase_ratio / (1.0 + op.phase_ratio)
        Q_aq = Q - Q_org
    r = Q_org / Q_aq
    return np.where(np.isnan(op.fraction_organic),
                    np.where(np.isnan(op.partition), 1.0 if op.default == "organic" else 0.0,
                             op.partition * r / (1.0 + op.partition * r)),
                    op.fraction_organic)


class _ForwardArrays:
    """Kernel arrays of the nominal mechanism and d raw/dθ of every column."""

    def __init__(self, route, kinetic, n_columns):
        from ..chemistry.parameters import ParameterMap, parameter_names
        from ..reactors.sensitivity import kernel_arrays

        # the nominal arrays are those of any map at its θ0 (operating columns only:
        # a map of the mechanism's first parameter name, its column unused)
        pm = kinetic[0].map if kinetic else ParameterMap(
            route.mechanism, parameter_names(route.mechanism)[:1], _T_CENTER)
        self.model, self.rate_params = kernel_arrays(pm, pm.theta0)
        self.delta_H = np.asarray(pm.arrays(pm.theta0)[2], dtype=np.float64)
        self.M = np.zeros((pm.M.shape[0], n_columns))
        for j, q in enumerate(kinetic):
            self.M[:, j] = q.map.M[:, 0]


def _reactor_forward(arrays, op, name, feed, dc_in, dT_in, dT_fixed, d_ln_V, thermal_result,
                     label):
    """(d c_out, d T_out, d T_max) of one ideal reactor (PFR or tank) whose
    feed moves by ``dc_in`` (n x p) and ``dT_in`` (p); ``dT_fixed`` (p) moves
    an isothermal reactor's fixed temperature, ``d_ln_V`` (p) its volume (the
    residence time; a tank's jacket keeps its area, so Ua per volume falls
    as 1/V; a tube's wall area grows with it)."""
    from ..reactors.ideal import PFR
    from ..reactors.sensitivity import (batch_energy_sensitivities, batch_sensitivities,
                                        cstr_energy_sensitivities, cstr_sensitivities)

    n = dc_in.shape[0]
    p = dc_in.shape[1]
    Q = feed.flow
    tau = op.volume / Q
    thermal = op._thermal(feed)
    pfr = type(op) is PFR
    if thermal.mode == "isothermal":
        T = op._temperature(feed)
        dT = dT_in if op.T is None else dT_fixed
        if not np.any(dT) and not np.any(d_ln_V):
            # constant temperature and volume: the isothermal kernels
            if pfr:
                _, dy = batch_sensitivities(arrays.model, arrays.rate_params, T, feed.conc,
                                            np.array([tau]), arrays.M, options=op.options,
                                            s0=dc_in, operation=label)
                return dy[-1], dT, None
            _, ds = cstr_sensitivities(arrays.model, arrays.rate_params, T, feed.conc, tau,
                                       arrays.M, n_tanks=op.n, dc_in=dc_in, options=op.options,
                                       operation=label)
            return ds[-1], dT, None
        rho_cp, ua, Tc = None, 0.0, 0.0            # a constant T that moves with θ
    else:
        T = feed.T
        dT = dT_in
        rho_cp, ua, Tc = thermal.rho_cp, thermal.ua_per_volume / thermal.rho_cp, \
            thermal.coolant_T or 0.0
    s0 = np.zeros((n + 2, p))
    s0[:n] = dc_in
    s0[n + 1] = dT
    moves = d_ln_V if np.any(d_ln_V) else None
    if pfr:
        t_hot = thermal_result.get("T_max_residence_time_s", tau)
        t_hot = min(max(float(t_hot), 0.0), tau)
        times = np.array([t_hot, tau]) if t_hot < tau else np.array([tau])
        _, dy = batch_energy_sensitivities(arrays.model, arrays.rate_params, arrays.delta_H,
                                           feed.conc, T, times, arrays.M, rho_cp=rho_cp,
                                           ua_over_rho_cp=ua, coolant_T=Tc, s0=s0,
                                           d_ln_time=moves, options=op.options, operation=label)
        # at an interior hot spot dT/dt = 0: d T_max/dθ = d T/dθ there (its
        # position moves with the volume, the temperature there does not)
        return dy[-1, :n], dy[-1, n + 1], dy[0, n + 1]
    states, ds = cstr_energy_sensitivities(arrays.model, arrays.rate_params, arrays.delta_H,
                                           feed.conc, T, tau, arrays.M, rho_cp=rho_cp,
                                           ua_over_rho_cp=ua, coolant_T=Tc, n_tanks=op.n,
                                           dy_in=s0, d_ln_residence_time=moves,
                                           d_ua_over_rho_cp=None if moves is None else -ua * moves,
                                           options=op.options, operation=label)
    hottest = int(np.argmax(states[:, n + 1]))
    return ds[-1, :n], ds[-1, n + 1], ds[hottest, n + 1]


def _forward_flows(route, base, arrays, needed, seeds):
    """d F / d θ (n x p) and d T / d θ (p) of every stream the operations in
    ``needed`` make, in route order, and d T_max / d θ of each reactor.

    ``seeds`` holds the operating-condition columns: ``dF`` and ``dT`` of
    the feeds, ``dT_reactor`` of isothermal reactors' fixed temperatures and
    ``dlnV`` of reactor volumes."""
    from ..reactors.ideal import PFR, CSTRCascade
    from .operations import HeatExchanger, Mixer, Quench, Separator, Splitter

    n = route.mechanism.n_species
    p = arrays.M.shape[1]
    dF = {f: seeds["dF"].get(f, np.zeros((n, p))) for f in route.feeds}
    dT = {f: seeds["dT"].get(f, np.zeros(p)) for f in route.feeds}
    dT_max = {}
    for name in route.order:
        if name not in needed:
            continue
        op = route.operations[name]
        inlets = route.links[name]
        label = f"{name} (sensitivities)"
        if isinstance(op, Mixer):
            dF[name], dT[name] = _mixed(base, inlets, dF, dT)
        elif isinstance(op, Splitter):
            for key, frac in op.fractions.items():
                dF[f"{name}.{key}"] = frac * dF[inlets[0]]
                dT[f"{name}.{key}"] = dT[inlets[0]].copy()
        elif isinstance(op, HeatExchanger):
            dF[name] = dF[inlets[0]].copy()
            dT[name] = np.zeros(p)
        elif isinstance(op, Separator):
            dF_mix, dT_mix = _mixed(base, inlets, dF, dT)
            f = _separator_fractions(op, base, inlets)
            dF[f"{name}.organic"] = f[:, None] * dF_mix
            dF[f"{name}.aqueous"] = (1.0 - f)[:, None] * dF_mix
            dT[f"{name}.organic"] = dT_mix
            dT[f"{name}.aqueous"] = dT_mix.copy()
        elif isinstance(op, Quench):
            # an isothermal hold of op.time at op.T or the mixed temperature
            dF_mix, dT_mix = _mixed(base, inlets, dF, dT)
            hold = base.operations[name].hold
            mixed = hold.inlet
            Q = mixed.flow
            holder = PFR(op.time * Q, T=op.T, name=name, options=op.options, source=op.source,
                         where=op.where)
            dc, dT_out, _ = _reactor_forward(arrays, holder, name, mixed, dF_mix / Q, dT_mix,
                                             np.zeros(p), np.zeros(p), hold.thermal, label)
            dF[name], dT[name] = dc * Q, dT_out
        elif type(op) is PFR or isinstance(op, CSTRCascade):
            feed = base.streams[inlets[0]]
            Q = feed.flow
            dc, dT_out, dT_hot = _reactor_forward(
                arrays, op, name, feed, dF[inlets[0]] / Q, dT[inlets[0]],
                seeds["dT_reactor"].get(name, np.zeros(p)),
                seeds["dlnV"].get(name, np.zeros(p)), base.operations[name].thermal, label)
            dF[name], dT[name] = dc * Q, dT_out
            if dT_hot is not None:
                dT_max[name] = dT_hot
        else:                       # _forward_supported excludes this
            raise AssertionError(name)
    return dF, dT, dT_max


def _forward_kpi_derivatives(route, base, dF_out, dT_max, d_fed, kpi_names):
    """d KPI / d θ of the KPIs from the product stream's d F / d θ, the
    reactors' d T_max / d θ and d F / d θ of what the feeds upstream of the
    product bring (n x p)."""
    spec = route.product
    p = base.product
    names = route.mechanism.species_names
    ip, ib = names.index(spec["species"]), names.index(spec["basis"])
    up = route.upstream(spec["from"])
    basis_in = sum(route.feeds[f].molar_flows for f in route.feeds if f in up)[ib]
    F = base.streams[spec["from"]].molar_flows
    factor = p["stoichiometric_factor"]
    # Y = factor (F_p - F_p,in) / B, X = 1 - F_b / B with B the basis fed (kpis.py)
    d_basis_in = d_fed[ib]
    dY = ((dF_out[ip] - d_fed[ip]) * factor - p["yield"] * d_basis_in) / basis_in
    dX = (-dF_out[ib] + F[ib] / basis_in * d_basis_in) / basis_in
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
        elif k.startswith("T_max "):
            out[k] = dT_max[k[len("T_max "):]]
    return out


def _forward_columns(route, params):
    """The parameters with a forward path: every kinetic one, each feed
    concentration, each isothermal reactor's fixed T and each reactor's
    volume (as d/d ln p seeds); feed flows (residence times, mixing
    temperatures, phase ratios and heat-transfer estimates all move) stay
    differences."""
    return [q for q in params if isinstance(q, _Kinetic)
            or (isinstance(q, _Operating) and (q.species is not None or q.op is not None))]


def _forward(route, base, columns, kpi_names):
    """d KPI / d ln p of ``columns`` through the route, or None when an
    operation on the way has no forward path."""
    kinetic = [q for q in columns if isinstance(q, _Kinetic)]
    needed = set(route.upstream(route.product["from"]))
    for k in kpi_names:
        if k.startswith("T_max "):
            needed |= set(route.upstream(k[len("T_max "):]))
    if not _forward_supported(route, needed):
        return None
    n = route.mechanism.n_species
    p = len(columns)
    arrays = _ForwardArrays(route, kinetic, p)
    for j, q in enumerate(columns):
        if isinstance(q, _Kinetic):
            arrays.M[:, j] = q.map.M[:, 0] * q.dtheta_dlnp
    seeds = {"dF": {}, "dT": {}, "dT_reactor": {}, "dlnV": {}}
    d_fed = np.zeros((n, p))
    for j, q in enumerate(columns):
        if isinstance(q, _Operating) and q.species is not None:
            feed = route.feeds[q.feed]
            dF = seeds["dF"].setdefault(q.feed, np.zeros((n, p)))
            dF[q.species, j] = feed.flow * q.value         # d F / d ln c
            if q.feed in route.upstream(route.product["from"]):
                d_fed[q.species, j] = feed.flow * q.value
        elif isinstance(q, _Operating) and q.attr == "T":
            seeds["dT_reactor"].setdefault(q.op, np.zeros(p))[j] = q.value   # d T / d ln T
        elif isinstance(q, _Operating):
            seeds["dlnV"].setdefault(q.op, np.zeros(p))[j] = 1.0
    dF, _, dT_max = _forward_flows(route, base, arrays, needed, seeds)
    return _forward_kpi_derivatives(route, base, dF[route.product["from"]], dT_max,
                                    d_fed, kpi_names)


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
        ``auto``: forward sensitivities where the route allows them;
        ``finite-difference``: differences for every parameter (a check of
        the forward path).

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
    Kinetic coefficients, feed concentrations, isothermal reactor
    temperatures and reactor volumes are ``forward`` (exact) when every
    operation on the way has a forward path (everything but the dispersion
    and laminar reactor models), else ``finite-difference``; feed flows are
    always ``finite-difference`` (see the module docstring).
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

    columns = _forward_columns(route, params) if method == "auto" else []
    dK = _forward(route, base, columns, kpi_names) if columns else None
    forward = set()
    if dK is not None:
        for j, q in enumerate(columns):
            kind = "kinetic" if isinstance(q, _Kinetic) else "operating"
            forward.add(q.name)
            for k in kpi_names:
                entries.append(SensitivityEntry(k, q.name, kind, float(dK[k][j] / K0[k]),
                                                "forward"))
    dlnp = math.log1p(h) - math.log1p(-h)
    for q in params:
        if q.name in forward:
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
