"""Dynamic operation of a route: start-up, disturbances, lot changes.

A scenario file (DESIGN.md, "Scenario file: dynamic operation") names a
route, a duration, a start (``filled-with-solvent`` or ``steady-state``) and
events on feeds and operations. :func:`simulate_dynamic` integrates the whole
route in time by the method of lines on a network of cells
(:mod:`kernels.network`):

* every holdup is a chain of cells: a CSTR one cell, a cascade of n tanks n
  cells; a plug-flow tube (and a quench's hold, plug flow in time) N
  two-node Radau collocation elements by default (``scheme: collocation``:
  third-order steady state, so the long-time limit meets ``flowchem run``;
  elements graded from the steady profile; sharp fronts that over- and
  undershoot by a few per cent), or N first-order upwind cells
  (``scheme: upwind``: exactly N tanks in series, monotone, step response
  tending to a delay with L1 error ~ N^-1/2, steady state O(1/N) off); an
  axial-dispersion tube N cells of the conservative central scheme
  (exchange D/dz^2 - u/(2 dz) between neighbours, Danckwerts boundaries;
  upwind where the cell Peclet number exceeds 2);
* mixers, splitters, heat exchangers, the quench's mixing and separators
  are instantaneous: the inlet of a cell is an affine combination of
  upstream cells' states and feed terms;
* the state of a cell is ``[c_0..c_{n-1}, tracers..., T]``; tracers are
  ``feed:NAME`` (fraction of the fluid from feed NAME) and
  ``lot:FEED:LOT`` (fraction from that lot of that feed);
* between two events everything is constant except ramps (linear in time
  inside a segment); each event ends a segment and the integrator restarts.

The network's equations are integrated by :func:`kernels.network.integrate_network`
(Rodas5P with a block-sparse Jacobian), or, with ``backend="scipy"``, by
scipy's ``solve_ivp`` (BDF) on the kernel's right-hand side and sparse
Jacobian (:func:`kernels.network.network_rhs`, ``network_jacobian_csr``).
The kernel integrates the tracers as a network of their own: they ride on
the flows and never act on the chemistry, so the two systems are exactly
independent, and a lot change (a tracer front) then costs steps of the
small tracer system only. The two run side by side when a second core is
available. The kernel reports only the states of the cells the streams are
made of; the holdups come from the whole state at each segment's ends.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time as _time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..chemistry.properties import LiquidProperties
from ..core.errors import InputError, Location, SolverError
from ..core.files import atomic_open, write_text_atomic
from ..core.units import parse_quantity
from ..core.yamlio import check_keys, check_mapping, read_yaml
from ..reactors.ideal import PFR, CSTRCascade
from .operations import HeatExchanger, Mixer, Quench, Separator, Splitter

__all__ = ["Scenario", "Event", "DynamicResult", "StreamTrace", "load_scenario",
           "scenario_from_dict", "simulate_dynamic"]

SCENARIO_KEYS = ("route", "name", "description", "duration", "start", "events", "spec", "divert",
                 "batch", "output", "discretisation", "rtol", "atol", "method")
# time integrators of the network (kernels.network Rodas5P, kernels.network_bdf NDF/BDF)
METHODS = ("bdf", "rodas5p")
DEFAULT_METHOD = "rodas5p"
START_MODES = ("filled-with-solvent", "steady-state")
FEED_EVENT_KEYS = ("at", "feed", "flow", "T", "lot", "ramp")      # plus conc.SPECIES
OPERATION_EVENT_KEYS = ("at", "operation", "T", "coolant_T", "ramp")
DISCRETISATION_KEYS = ("scheme", "cells", "quench_cells", "grading")   # plus operation names
#: spatial schemes of plug-flow tubes and quench holds: two-node Radau
#: collocation elements (the default; steady state of third order, so the
#: long-time limit reaches ``flowchem run``) or first-order upwind cells
#: (N tanks in series: monotone, diffusive fronts, steady state O(1/N))
SCHEMES = ("collocation", "upwind")
DEFAULT_SCHEME = "collocation"
DEFAULT_TUBE_CELLS = 200                   # the fewest cells a tube gets by default
MAX_DEFAULT_TUBE_CELLS = 1000
#: collocation elements hold two nodes each: the same budgets in elements
DEFAULT_TUBE_ELEMENTS = 100
MAX_DEFAULT_TUBE_ELEMENTS = 500
DEFAULT_QUENCH_ELEMENTS = 25
#: Radau IIA (two stages) on an element [0, 1]: nodes 1/3 and 1, quadrature
#: weights 3/4 and 1/4 (the nodes' shares of the element's volume: with
#: them the holdup is conserved exactly), and the collocation equations
#: u p'(z_j) = r_j written in the network's form (module docstring of
#: kernels.network): node 1 kappa 2 u/h, inlet weight 1; node 2 kappa 3 u/h,
#: weights 5/3 on node 1 and -2/3 on the element's inlet; a symmetric
#: exchange of -u/(2h) between the two nodes.
RADAU_NODE_VOLUME = (0.75, 0.25)
#: without ``discretisation.cells``, tubes share about this many states, so a
#: small route gets a fine grid (a sharper front, a long-time limit closer to
#: plug flow: both errors fall with N) where it costs little
DEFAULT_STATE_BUDGET = 8000
DEFAULT_QUENCH_CELLS = 50
DEFAULT_OUTPUT_POINTS = 2000
DEFAULT_RTOL = 1.0e-6
#: Volumetric heat capacity given to cells whose temperature is carried with
#: the fluid but no reaction heat is applied (a reactor without T keeps its
#: inlet temperature; a quench hold without T sits at the mixed temperature):
#: the kernel's heat term sum(-dH q)/rho_cp is then zero to round-off.
NO_HEAT_RHO_CP = 1.0e250
#: Output states are handed over in chunks of this many times (memory bound),
#: or, on a grid refined for the balance integrals, of this many values
OUTPUT_CHUNK = 256
OUTPUT_CHUNK_VALUES = 2_500_000
#: ... and of this many while an isothermal operation's T ramps.
RAMPED_T_CHUNK = 2


# =============================================================================== scenario
@dataclass
class Event:
    """One scheduled change: ``changes`` maps a quantity key to its new SI value."""

    time_s: float
    target: str
    kind: str                      # "feed" or "operation"
    changes: dict = field(default_factory=dict)
    ramp_s: float = 0.0
    lot: str | None = None
    text: str = ""
    where: str = ""

    def to_dict(self):
        d = {"time_s": self.time_s, self.kind: self.target,
             "what": ", ".join([k[-1] if k[-2] != "conc" else f"conc.{k[-1]}" for k in self.changes]
                               + (["lot"] if self.lot is not None else [])),
             "text": self.text}
        if self.ramp_s:
            d["ramp_s"] = self.ramp_s
        return d


@dataclass
class Scenario:
    """A validated scenario: the route, the run and its events (SI)."""

    route: object
    duration: float
    start: str = "filled-with-solvent"
    events: list = field(default_factory=list)
    spec: dict | None = None
    divert_margin_s: float = 0.0
    batch: dict | None = None
    output_interval: float | None = None
    cells: int | None = None          # None: default_tube_cells() of the route
    quench_cells: int | None = None   # None: the scheme's default
    scheme: str = DEFAULT_SCHEME
    grading: float | str = "auto"
    op_cells: dict = field(default_factory=dict)
    rtol: float = DEFAULT_RTOL
    atol: float | None = None
    method: str = DEFAULT_METHOD
    source: str = "<python>"
    name: str = ""
    raw: dict = field(default_factory=dict)

    def cells_of(self, op_name, default=None):
        return self.op_cells.get(op_name, self.cells if default is None else default)


def element_fractions(n_elements, grading=1.0):
    """Lengths of ``n_elements`` collocation elements as fractions of the
    tube (or of the hold time), growing geometrically from the inlet so
    that the last is ``grading`` times the first (1: uniform)."""
    if grading == 1.0 or n_elements == 1:
        return np.full(n_elements, 1.0 / n_elements)
    ratio = grading ** (1.0 / (n_elements - 1))
    f = ratio ** np.arange(n_elements)
    return f / f.sum()


#: ``grading: auto``: half of a tube's elements spread uniformly (fronts are
#: resolved everywhere at no less than half the uniform density), half in
#: proportion to the square root of the local rate of change of the steady
#: profile, concentrations and temperature (a cooled coil's thermal entry
#: region is a thin layer that moves every rate). Measured, 100 elements:
#: lomustine R1 1.6e-5 -> 2.5e-7 and R2 6.5e-6 -> 6.9e-8 (max concentration
#: difference from ``flowchem run`` over the stream's largest); power 1 put
#: more elements into the layers but left a first-order tail twice as coarse
#: (outlet A of a cooled tube 4x worse than uniform, 2x with 1/2).
PROFILE_UNIFORM_SHARE = 0.5
PROFILE_RATE_POWER = 0.5
PROFILE_SAMPLES = 4001


def profile_element_fractions(x, conc, n_elements, T=None):
    """Element fractions that equidistribute the density
    ``(1 - s) + s sigma(x)^p / mean(sigma^p)`` over ``x`` in [0, 1] (``s``
    :data:`PROFILE_UNIFORM_SHARE`, ``p`` :data:`PROFILE_RATE_POWER`), where
    ``sigma`` is the larger of the largest |dc_i/dx| over the largest change
    of any species along the profile ``conc`` (n_x, n_species) and |dT/dx|
    over the change of ``T`` (a wall's thermal entry region moves every rate);
    uniform where nothing changes."""
    conc = np.asarray(conc, dtype=float)
    change = float(np.max(np.ptp(conc, axis=0))) if conc.size else 0.0
    if not change > 0.0 or not np.all(np.isfinite(conc)):
        return element_fractions(n_elements)
    sigma = np.max(np.abs(np.gradient(conc, x, axis=0)), axis=1) / change
    if T is not None:
        T = np.asarray(T, dtype=float)
        T_change = float(np.ptp(T))
        if T_change > 1e-6 * float(np.max(T)) and np.all(np.isfinite(T)):
            sigma = np.maximum(sigma, np.abs(np.gradient(T, x)) / T_change)
    weight = sigma ** PROFILE_RATE_POWER
    mean = float(np.trapezoid(weight, x))
    if not mean > 0.0 or not np.isfinite(mean):
        return element_fractions(n_elements)
    density = (1.0 - PROFILE_UNIFORM_SHARE) + PROFILE_UNIFORM_SHARE * weight / mean
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1])
                                                  * np.diff(x))])
    edges = np.interp(np.linspace(0.0, cumulative[-1], n_elements + 1), cumulative, x)
    edges[0], edges[-1] = 0.0, 1.0
    return np.diff(edges)


def _is_dispersion_tube(op):
    """True for a tube with the axial-dispersion flow model."""
    return getattr(op, "flow_model", None) == "dispersion" or hasattr(op, "dispersion")


def default_tube_cells(n_tubes, width, scheme="upwind"):
    """Cells (upwind) or elements (collocation, two nodes each) per tube
    when the scenario gives none: the tubes share about
    :data:`DEFAULT_STATE_BUDGET` states (``width`` states per node: species,
    tracers, T), within [:data:`DEFAULT_TUBE_CELLS`,
    :data:`MAX_DEFAULT_TUBE_CELLS`] cells or [:data:`DEFAULT_TUBE_ELEMENTS`,
    :data:`MAX_DEFAULT_TUBE_ELEMENTS`] elements."""
    if scheme == "collocation":
        lo, hi, nodes = DEFAULT_TUBE_ELEMENTS, MAX_DEFAULT_TUBE_ELEMENTS, 2
    else:
        lo, hi, nodes = DEFAULT_TUBE_CELLS, MAX_DEFAULT_TUBE_CELLS, 1
    if n_tubes == 0:
        return lo
    share = DEFAULT_STATE_BUDGET // (n_tubes * width * nodes)
    return int(min(hi, max(lo, share)))


def load_scenario(path):
    """Read and validate a scenario file; returns a :class:`Scenario`.

    The route is loaded relative to the scenario file. Everything is checked
    before any numerics: unknown keys, feeds, operations and species, a
    negative flow, an event after the end, a ramp that outlasts the run or
    sits on a lot change.
    """
    data, source = read_yaml(path)
    return scenario_from_dict(data, source=source, base_dir=Path(path).resolve().parent)


def _q(value, kind, where, **kw):
    return parse_quantity(value, kind, None, where, **kw)


def scenario_from_dict(data, source="<inline>", base_dir=None, route=None):
    """A :class:`Scenario` from a mapping (the content of a scenario file).

    ``route`` (a :class:`~flowchem.process.route.Route`) replaces the
    mapping's ``route:`` entry when given.
    """
    from .route import Route, load_route

    root = Location(source)
    check_mapping(data, root, "a scenario mapping")
    check_keys(data, SCENARIO_KEYS, root)
    base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
    if route is None:
        if "route" not in data:
            raise root.error("missing 'route' (the route file)")
        spec = data["route"]
        if isinstance(spec, Route):
            route = spec
        elif isinstance(spec, str):
            p = Path(spec)
            if not p.is_absolute():
                p = base_dir / p
            if not p.is_file():
                raise root.key("route").error(f"route file not found: {spec}")
            route = load_route(p)
        elif isinstance(spec, dict):
            route = Route.from_dict(spec, source=source, base_dir=base_dir)
        else:
            raise root.key("route").error("expected a route file name or mapping")
    if "duration" not in data:
        raise root.error("missing 'duration'")
    duration = _q(data["duration"], "time", root.key("duration"), positive=True)
    start = data.get("start", "filled-with-solvent")
    if start not in START_MODES:
        raise root.key("start").error(f"expected one of {', '.join(START_MODES)}, got {start!r}")
    sc = Scenario(route=route, duration=duration, start=start, source=source,
                  name=str(data.get("name", route.name)), raw=dict(data))
    _check_route_supported(route)

    out = data.get("output")
    if out is not None:
        check_mapping(out, root.key("output"), "a mapping {interval: TIME}")
        check_keys(out, ("interval",), root.key("output"))
        if "interval" in out:
            sc.output_interval = _q(out["interval"], "time", root.key("output").key("interval"),
                                    positive=True)
            if sc.output_interval > duration:
                raise root.key("output").key("interval").error(
                    "the output interval is longer than the run")
    disc = data.get("discretisation")
    if disc is not None:
        where = root.key("discretisation")
        check_mapping(disc, where, "a mapping {scheme: collocation|upwind, cells: N, "
                                   "quench_cells: N, grading: auto|G, OPERATION: N}")
        for key, value in disc.items():
            loc = where.key(key)
            if key not in DISCRETISATION_KEYS and key not in route.operations:
                raise loc.error(f"unknown key {key!r} (scheme, cells, quench_cells, grading or "
                                f"an operation name: {', '.join(route.operations)})")
            if key == "scheme":
                if value not in SCHEMES:
                    raise loc.error(f"expected one of {', '.join(SCHEMES)}, got {value!r}")
                sc.scheme = value
                continue
            if key == "grading":
                if value == "auto":
                    sc.grading = value
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float)) \
                        or not math.isfinite(value) or not (1.0 <= value <= 1000.0):
                    raise loc.error("expected 'auto' or the ratio of the last collocation "
                                    "element's length to the first's, a number from 1 to 1000, "
                                    f"got {value!r}")
                sc.grading = float(value)
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise loc.error(f"expected a whole number of cells >= 1, got {value!r}")
            if key == "cells":
                sc.cells = value
            elif key == "quench_cells":
                sc.quench_cells = value
            else:
                op = route.operations[key]
                if not isinstance(op, (PFR, Quench)):
                    raise loc.error(f"{key} is a {getattr(op, 'kind', '')}: only tubes and quench "
                                    "holds are discretised (a cascade has its n tanks)")
                sc.op_cells[key] = value
    for key in ("rtol", "atol"):
        if key in data:
            v = data[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0) \
                    or not math.isfinite(v) or (key == "rtol" and v >= 1):
                raise root.key(key).error(f"expected a positive number{' below 1' if key == 'rtol' else ''}, "
                                          f"got {v!r}")
            setattr(sc, key, float(v))
    if "method" in data:
        if data["method"] not in METHODS:
            raise root.key("method").error(f"expected one of {', '.join(METHODS)}, "
                                           f"got {data['method']!r}")
        sc.method = data["method"]
    sc.events = _parse_events(data.get("events"), root.key("events"), route, duration)
    sc.spec = _parse_spec(data.get("spec"), root.key("spec"), route)
    divert = data.get("divert")
    if divert is not None:
        check_mapping(divert, root.key("divert"), "a mapping {margin: TIME}")
        check_keys(divert, ("margin",), root.key("divert"))
        if "margin" in divert:
            sc.divert_margin_s = _q(divert["margin"], "time", root.key("divert").key("margin"),
                                    nonnegative=True)
    batch = data.get("batch")
    if batch is not None:
        from .material_tracking import parse_batch

        key, value = parse_batch(batch, root.key("batch"))
        sc.batch = {"run_time_s": value} if key == "run_time" else {"amount_kg": value}
    return sc


def _check_route_supported(route):
    from ..reactors.nonideal import LaminarPFR

    for name, op in route.operations.items():
        if isinstance(op, LaminarPFR):
            raise InputError("a segregated laminar tube has no cell model: dynamic mode takes "
                             "flow_model plug or dispersion", route.source,
                             f"operations[{list(route.operations).index(name)}].flow_model")


def _parse_spec(spec, where, route):
    """Check the spec with the tracking's own parser (keys, species, limits);
    the mapping itself goes to the tracking."""
    from .material_tracking import parse_tracking_spec

    if spec is None:
        return None
    check_mapping(spec, where, "a mapping of product-stream quantities to limits")
    if route.product is None:
        raise where.error("a spec is on the route's product stream: the route has no 'product'")
    parse_tracking_spec(spec, route.mechanism.species_names, route.product["species"], where)
    return dict(spec)


def _parse_events(events, where, route, duration):
    if events is None:
        return []
    if not isinstance(events, list):
        raise where.error("expected a list of events")
    names = route.mechanism.species_names
    out = []
    for i, ev in enumerate(events):
        loc = where.item(i)
        check_mapping(ev, loc, "an event mapping")
        if "at" not in ev:
            raise loc.error("missing 'at' (the event time)")
        at = _q(ev["at"], "time", loc.key("at"), nonnegative=True)
        if at > duration:
            raise loc.key("at").error(f"the event at {at:g} s is after the end of the run "
                                      f"({duration:g} s)")
        if ("feed" in ev) == ("operation" in ev):
            raise loc.error("an event names one 'feed' or one 'operation'")
        ramp = _q(ev["ramp"], "time", loc.key("ramp"), nonnegative=True) if "ramp" in ev else 0.0
        if at + ramp > duration * (1 + 1e-12):
            raise loc.key("ramp").error(f"the ramp ends at {at + ramp:g} s, after the end of the run "
                                        f"({duration:g} s)")
        text_parts = []
        if "feed" in ev:
            feed = ev["feed"]
            if feed not in route.feeds:
                raise loc.key("feed").error(f"unknown feed {feed!r} (feeds: {', '.join(route.feeds)})")
            e = Event(at, feed, "feed", ramp_s=ramp, where=loc.path)
            for key, value in ev.items():
                k = loc.key(key)
                if key in ("at", "feed", "ramp"):
                    continue
                if key == "flow":
                    e.changes[("feed", feed, "flow")] = _q(value, "flow", k, nonnegative=True)
                elif key == "T":
                    e.changes[("feed", feed, "T")] = _q(value, "temperature", k, positive=True)
                elif key == "lot":
                    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
                        raise k.error(f"expected a lot name, got {value!r}")
                    if ":" in str(value):
                        raise k.error("a lot name cannot contain ':'")
                    e.lot = str(value)
                elif str(key).startswith("conc."):
                    sp = str(key)[5:]
                    if sp not in names:
                        raise k.error(f"unknown species {sp!r} (the mechanism has: {', '.join(names)})")
                    e.changes[("feed", feed, "conc", sp)] = _q(value, "concentration", k,
                                                               nonnegative=True)
                else:
                    raise k.error(f"unknown key {key!r} (a feed event takes flow, T, conc.SPECIES, "
                                  "lot and ramp)")
                text_parts.append(f"{key} {value}")
            if e.lot is not None and ramp:
                raise loc.key("ramp").error("a lot change is instantaneous: it takes no ramp")
            if e.lot is not None and e.changes:
                raise loc.key("lot").error("give a lot change as its own event")
        else:
            opn = ev["operation"]
            if opn not in route.operations:
                raise loc.key("operation").error(
                    f"unknown operation {opn!r} (operations: {', '.join(route.operations)})")
            op = route.operations[opn]
            e = Event(at, opn, "operation", ramp_s=ramp, where=loc.path)
            for key, value in ev.items():
                k = loc.key(key)
                if key in ("at", "operation", "ramp"):
                    continue
                if key == "T":
                    if not _has_own_temperature(op):
                        raise k.error(f"{opn} has no temperature of its own to change "
                                      f"(a {getattr(op, 'kind', '')} without 'T', or with an "
                                      "energy balance)")
                    e.changes[("op", opn, "T")] = _q(value, "temperature", k, positive=True)
                elif key == "coolant_T":
                    energy = getattr(op, "energy", None)
                    if energy is None or energy.mode != "cooled":
                        raise k.error(f"{opn} has no coolant (energy: {{U, coolant_T}})")
                    e.changes[("op", opn, "coolant_T")] = _q(value, "temperature", k, positive=True)
                else:
                    raise k.error(f"unknown key {key!r} (an operation event takes T, coolant_T "
                                  "and ramp)")
                text_parts.append(f"{key} {value}")
        if not e.changes and e.lot is None:
            raise loc.error("the event changes nothing (give flow, T, conc.SPECIES or lot)")
        if e.lot is not None:
            text_parts = [f"lot {e.lot}"]
        e.text = f"{e.target}: " + ", ".join(text_parts) + (f" (ramp {ramp:g} s)" if ramp else "")
        out.append(e)
    out.sort(key=lambda e: e.time_s)      # unsorted events are fine
    # a quantity cannot be changed while a ramp on it runs
    busy = {}
    for e in out:
        for key in e.changes:
            if key in busy and e.time_s < busy[key][0]:
                raise Location(where.source, e.where).error(
                    f"changes {key[-1]} of {e.target} while the ramp of {busy[key][1]} is "
                    "still running")
            busy[key] = (e.time_s + e.ramp_s, e.where)
    return out


def _has_own_temperature(op):
    if isinstance(op, (HeatExchanger,)):
        return True
    if isinstance(op, Quench):
        return op.T is not None
    if isinstance(op, (PFR, CSTRCascade)):
        return op.energy.isothermal and op.T is not None
    return False


# =============================================================================== schedule
class _Schedule:
    """Piecewise-linear values of every scheduled quantity and the active lots."""

    def __init__(self, scenario):
        route = scenario.route
        self.base = {}
        names = route.mechanism.species_names
        for fname, feed in route.feeds.items():
            self.base[("feed", fname, "flow")] = feed.flow
            self.base[("feed", fname, "T")] = feed.T
            for sp, c in zip(names, feed.conc):
                self.base[("feed", fname, "conc", sp)] = float(c)
        for opn, op in route.operations.items():
            if _has_own_temperature(op):
                self.base[("op", opn, "T")] = op.T
            energy = getattr(op, "energy", None)
            if energy is not None and energy.mode == "cooled":
                self.base[("op", opn, "coolant_T")] = energy.coolant_T
        self.pieces = {}
        self.lots = {}          # feed -> [(time, lot)]
        for e in scenario.events:
            for key, v in e.changes.items():
                v_a = self.value(key, e.time_s, "right")
                self.pieces.setdefault(key, []).append((e.time_s, e.time_s + e.ramp_s, v_a, v))
            if e.lot is not None:
                self.lots.setdefault(e.target, []).append((e.time_s, e.lot))
        self.initial_lot = {}
        for feed, changes in self.lots.items():
            first = changes[0]
            self.initial_lot[feed] = first[1] if first[0] == 0.0 else "A"

    def value(self, key, t, side="right"):
        v = self.base[key]
        for t_a, t_b, v_a, v_b in self.pieces.get(key, ()):
            if t < t_a or (t == t_a and side == "left"):
                break
            if t > t_b or (t == t_b and (side == "right" or t_a < t_b)):
                v = v_b
                continue
            v = v_a + (v_b - v_a) * (t - t_a) / (t_b - t_a)
            break
        return v

    def lot(self, feed, t, side="right"):
        if feed not in self.lots:
            return None
        lot = self.initial_lot[feed]
        for t_e, name in self.lots[feed]:
            if t > t_e or (t == t_e and side == "right"):
                lot = name
        return lot

    def tracer_names(self, feeds):
        names = [f"feed:{f}" for f in feeds]
        for feed in feeds:
            if feed in self.lots:
                seen = [self.initial_lot[feed]] + [lot for _, lot in self.lots[feed]]
                for lot in dict.fromkeys(seen):
                    names.append(f"lot:{feed}:{lot}")
        return names


# =============================================================================== network
class _Rep:
    """A stream as an affine function of cell states, with its flows:
    value = const + sum_cell W[cell] * y[cell] (component-wise, width w);
    ``Q`` volumetric flow, ``m`` mass flow, ``C`` heat-capacity flow (W/K)."""

    __slots__ = ("const", "W", "Q", "m", "C", "props")

    def __init__(self, const, W, Q, m, C):
        self.const = const
        self.W = W
        self.Q = Q
        self.m = m
        self.C = C

    @property
    def rho_cp(self):
        return self.C / self.Q if self.Q > 0 else np.nan


def _combine(reps, vecs, width):
    const = np.zeros(width)
    W = {}
    for rep, a in zip(reps, vecs):
        const += a * rep.const
        for cell, w in rep.W.items():
            if cell in W:
                W[cell] = W[cell] + a * w
            else:
                W[cell] = a * w
    return const, W


class _Network:
    """The route as cells in topological order, and the per-instant arrays
    of the network equations (kappa, feed terms, link weights, ...)."""

    def __init__(self, scenario, schedule):
        route = scenario.route
        self.route = route
        self.scenario = scenario
        self.schedule = schedule
        mech = route.mechanism
        self.n = mech.n_species
        self.species = list(mech.species_names)
        self.tracers = schedule.tracer_names(list(route.feeds))
        self.k = len(self.tracers)
        self.w = self.n + self.k + 1
        self.T_col = self.w - 1
        # -- cells, operation by operation in topological order ---------------------
        self.op_cells = {}
        self.scheme = scenario.scheme
        collocation = self.scheme == "collocation"
        tubes = [name for name in route.order if isinstance(route.operations[name], PFR)
                 and name not in scenario.op_cells]
        # plug-flow tubes: cells (upwind) or elements (collocation); dispersion
        # tubes are upwind cells with back-mixing in either scheme
        self.tube_cells = (scenario.cells if scenario.cells is not None
                           else default_tube_cells(len(tubes), self.w, self.scheme))
        self.dispersion_cells = (scenario.cells if scenario.cells is not None
                                 else default_tube_cells(len(tubes), self.w))
        quench_default = (scenario.quench_cells if scenario.quench_cells is not None
                          else DEFAULT_QUENCH_ELEMENTS if collocation else DEFAULT_QUENCH_CELLS)
        self.tube_cells_by_op = {}        # operation -> cells (upwind) or elements
        self.collocated = set()           # operations discretised by collocation elements
        self.fractions = {}               # operation -> share of each element (or cell)
        self.dispersion_ops = set()       # dispersion tubes (central cells)
        kinds, energy, volume, owner = [], [], [], []
        for name in route.order:
            op = route.operations[name]
            start = len(kinds)
            if isinstance(op, (PFR, CSTRCascade)):
                shares = (1.0,)
                if isinstance(op, CSTRCascade):
                    N = op.n
                elif _is_dispersion_tube(op):
                    N = scenario.cells_of(name, self._dispersion_default(name))
                    self.dispersion_ops.add(name)
                else:
                    N = scenario.cells_of(name, self.tube_cells)
                    if collocation:
                        shares = RADAU_NODE_VOLUME
                        self.collocated.add(name)
                if isinstance(op, PFR):
                    self.tube_cells_by_op[name] = N
                fractions = (self._tube_elements(name, N) if name in self.collocated
                             else np.full(N, 1.0 / N))
                self.fractions[name] = fractions
                mode = op.energy.mode
                e = 0 if (mode == "isothermal" and op.T is not None) else 1
                for f in fractions:
                    for share in shares:
                        kinds.append("reactor")
                        energy.append(e)
                        volume.append(op.volume * f * share)
                        owner.append(name)
            elif isinstance(op, Quench):
                N = scenario.cells_of(name, quench_default)
                nodes = len(RADAU_NODE_VOLUME) if collocation else 1
                if collocation:
                    self.collocated.add(name)
                self.tube_cells_by_op[name] = N
                self.fractions[name] = (element_fractions(N, 1.0 if scenario.grading == "auto"
                                                          else scenario.grading)
                                        if collocation else np.full(N, 1.0 / N))
                e = 0 if op.T is not None else 1
                for _ in range(N * nodes):
                    kinds.append("hold")
                    energy.append(e)
                    volume.append(np.nan)      # Q * time / N per element, per instant
                    owner.append(name)
            self.op_cells[name] = (start, len(kinds))
        self.n_cells = len(kinds)
        self.kinds = kinds
        self.owner = owner
        self.cell_energy = np.asarray(energy, dtype=np.int8)
        self.fixed_volume = np.asarray(volume, dtype=float)
        comp = route.mechanism
        from ..reactors.solver import compiled_mechanism

        self.compiled = compiled_mechanism(comp)
        self.link_ptr = None
        self.link_src = None
        # structure from the base conditions
        arrays = self.arrays(0.0, "right", structure=True)
        self._base = arrays

    # -- conditions at one instant --------------------------------------------------
    def _feed_rep(self, fname, t, side):
        route, sch = self.route, self.schedule
        feed = route.feeds[fname]
        props = feed.properties or LiquidProperties.default()
        Q = sch.value(("feed", fname, "flow"), t, side)
        const = np.zeros(self.w)
        for i, sp in enumerate(self.species):
            const[i] = sch.value(("feed", fname, "conc", sp), t, side)
        const[self.n + self.tracers.index(f"feed:{fname}")] = 1.0
        lot = sch.lot(fname, t, side)
        if lot is not None:
            const[self.n + self.tracers.index(f"lot:{fname}:{lot}")] = 1.0
        const[self.T_col] = sch.value(("feed", fname, "T"), t, side)
        m = props.density * Q
        return _Rep(const, {}, Q, m, m * props.cp)

    def _mix(self, reps):
        Q = sum(r.Q for r in reps)
        m = sum(r.m for r in reps)
        C = sum(r.C for r in reps)
        vecs = []
        for r in reps:
            a = np.full(self.w, r.Q / Q if Q > 0 else 1.0 / len(reps))
            a[self.T_col] = r.C / C if C > 0 else 1.0 / len(reps)
            vecs.append(a)
        const, W = _combine(reps, vecs, self.w)
        return _Rep(const, W, Q, m, C)

    def _scaled(self, rep, vec, Q, m, C):
        const, W = _combine([rep], [vec], self.w)
        return _Rep(const, W, Q, m, C)

    def arrays(self, t, side, structure=False):
        """Everything the network equations need at time ``t`` (``side`` of
        an event: "left" before it, "right" after), and every stream's rep."""
        route, sch = self.route, self.schedule
        w = self.w
        nc = self.n_cells
        kappa = np.zeros(nc)
        feed = np.zeros((nc, w))
        ua = np.zeros(nc)
        Tc = np.zeros(nc)
        rhocp = np.full(nc, NO_HEAT_RHO_CP)
        exchange = np.zeros(nc)
        volume = self.fixed_volume.copy()
        cell_links = [dict() for _ in range(nc)]
        cell_T = np.full(nc, np.nan)          # operating T of isothermal cells
        reps = {f: self._feed_rep(f, t, side) for f in route.feeds}
        ones = np.ones(w)
        for name in route.order:
            op = route.operations[name]
            ins = [reps[s] for s in route.links[name]]
            a, b = self.op_cells[name]
            if isinstance(op, Mixer):
                reps[name] = self._mix(ins)
            elif isinstance(op, Splitter):
                (r,) = ins
                for key, f in op.fractions.items():
                    reps[f"{name}.{key}"] = self._scaled(r, ones, r.Q * f, r.m * f, r.C * f)
            elif isinstance(op, HeatExchanger):
                (r,) = ins
                vec = ones.copy()
                vec[self.T_col] = 0.0
                out = self._scaled(r, vec, r.Q, r.m, r.C)
                out.const[self.T_col] = sch.value(("op", name, "T"), t, side)
                reps[name] = out
            elif isinstance(op, Separator):
                reps.update(self._separator(name, op, ins))
            elif isinstance(op, Quench):
                r = self._mix(ins)
                N = self.tube_cells_by_op[name]
                if name in self.collocated:
                    f = self.fractions[name]
                    self._collocation_chain(a, b, r, 1.0 / (op.time * f), feed, cell_links,
                                            kappa, exchange)
                    volume[a:b] = np.outer(f, RADAU_NODE_VOLUME).ravel() * (r.Q * op.time)
                else:
                    kappa[a:b] = N / op.time
                    volume[a:b] = r.Q * op.time / N
                    self._chain(a, b, r, feed, cell_links)
                if op.T is not None:
                    cell_T[a:b] = sch.value(("op", name, "T"), t, side)
                out = _Rep(np.zeros(w), {b - 1: ones.copy()}, r.Q, r.m, r.C)
                reps[name] = out
            elif isinstance(op, (PFR, CSTRCascade)):
                (r,) = ins
                N = b - a
                if name in self.collocated:
                    self._collocation_chain(a, b, r, r.Q / (op.volume * self.fractions[name]),
                                            feed, cell_links, kappa, exchange)
                else:
                    kappa[a:b] = r.Q / (op.volume / N)
                    self._chain(a, b, r, feed, cell_links)
                props = op.properties
                if props is not None:
                    m_out = props.density * r.Q
                    C_out = m_out * props.cp
                else:
                    m_out, C_out = r.m, r.C
                mode = op.energy.mode
                if mode == "isothermal":
                    if op.T is not None:
                        cell_T[a:b] = sch.value(("op", name, "T"), t, side)
                else:
                    rc = C_out / r.Q if r.Q > 0 else self._base_rho_cp(name)
                    rhocp[a:b] = rc
                    if mode == "cooled":
                        ua[a:b] = self._ua_per_volume(name) / rc
                        Tc[a:b] = sch.value(("op", name, "coolant_T"), t, side)
                if _is_dispersion_tube(op):
                    exchange[a:b - 1] = self._exchange(name, op, r, N)
                reps[name] = _Rep(np.zeros(w), {b - 1: ones.copy()}, r.Q, m_out, C_out)
            else:
                raise InputError(f"operation type {getattr(op, 'kind', type(op).__name__)!r} has "
                                 "no dynamic model", route.source, name)
        # links: CSR in cell order, structure fixed at the base conditions
        if structure:
            ptr, src = [0], []
            for i in range(nc):
                src.extend(sorted(cell_links[i]))
                ptr.append(len(src))
            self.link_ptr = np.asarray(ptr, dtype=np.int64)
            self.link_src = np.asarray(src, dtype=np.int64)
            self.link_dst = np.repeat(np.arange(nc), np.diff(self.link_ptr))
            if np.any(self.link_src >= self.link_dst):
                raise AssertionError("cells are not in topological order")
        weight = np.zeros((self.link_src.size, w))
        for i in range(nc):
            for k in range(self.link_ptr[i], self.link_ptr[i + 1]):
                wv = cell_links[i].get(int(self.link_src[k]))
                if wv is not None:
                    weight[k] = wv
            extra = set(cell_links[i]) - set(self.link_src[self.link_ptr[i]:self.link_ptr[i + 1]].tolist())
            if extra:
                raise AssertionError("the link structure changed between instants")
        return {"kappa": kappa, "feed": feed, "weight": weight, "ua": ua, "Tc": Tc,
                "rhocp": rhocp, "exchange": exchange, "volume": volume, "cell_T": cell_T,
                "reps": reps}

    def _chain(self, a, b, r, feed, cell_links):
        feed[a] = r.const
        cell_links[a] = dict(r.W)
        for i in range(a + 1, b):
            cell_links[i] = {i - 1: np.ones(self.w)}

    def _tube_elements(self, name, N):
        """Element fractions of a collocation tube: geometric for a numeric
        ``grading``; for ``auto``, from the tube's steady profile in the
        base ``flowchem run`` (:func:`profile_element_fractions`)."""
        grading = self.scenario.grading
        if grading != "auto":
            return element_fractions(N, grading)
        res = self.scenario._base_result.operations.get(name)
        solution = getattr(res, "solution", None)
        if solution is None or getattr(res, "tau", None) is None or not res.tau[-1] > 0:
            return element_fractions(N)
        tau = res.tau[-1] * np.linspace(0.0, 1.0, PROFILE_SAMPLES) ** 2
        states = np.asarray(solution(tau))
        # an energy tube's state is [c, heat released, T] (reactors.ideal.PFR)
        T = states[:, self.n + 1] if states.shape[1] >= self.n + 2 else None
        return profile_element_fractions(tau / tau[-1], states[:, :self.n], N, T)

    def _collocation_chain(self, a, b, r, rates, feed, cell_links, kappa, exchange):
        """Two-node Radau collocation elements on cells a..b-1 (node 1, node
        2 of each element in turn), ``rates[e]`` = u/h_e (1/s) of element e,
        the first element's inlet the rep ``r``; see :data:`RADAU_NODE_VOLUME`.
        Structure and weights do not depend on the conditions (only ``rate``
        does), so the link pattern is the same at every instant."""
        ones = np.ones(self.w)
        inlet_const, inlet_links = r.const, dict(r.W)
        for node1 in range(a, b, 2):
            node2 = node1 + 1
            rate = rates[(node1 - a) // 2]
            kappa[node1] = 2.0 * rate
            kappa[node2] = 3.0 * rate
            exchange[node1] = -0.5 * rate
            feed[node1] = inlet_const
            cell_links[node1] = dict(inlet_links)
            feed[node2] = -2.0 / 3.0 * inlet_const
            links = {src: -2.0 / 3.0 * wv for src, wv in inlet_links.items()}
            links[node1] = 5.0 / 3.0 * ones
            cell_links[node2] = links
            inlet_const, inlet_links = np.zeros(self.w), {node2: ones}

    def _separator(self, name, op, ins):
        r = self._mix(ins)
        Q = r.Q
        names = op.inlet_names or self.route.links[name]
        if op.aqueous is not None:
            Q_aq = sum(x.Q for x, nm in zip(ins, names) if nm in op.aqueous)
            Q_org = Q - Q_aq
        else:
            Q_org = Q * op.phase_ratio / (1.0 + op.phase_ratio)
            Q_aq = Q - Q_org
        if Q_org > 0 and Q_aq > 0:
            ratio = Q_org / Q_aq
            f = np.where(np.isnan(op.fraction_organic),
                         np.where(np.isnan(op.partition), 1.0 if op.default == "organic" else 0.0,
                                  op.partition * ratio / (1.0 + op.partition * ratio)),
                         op.fraction_organic)
        else:   # a phase without flow: nothing to split (the other takes all)
            f = np.full(self.n, 1.0 if Q_org > 0 else 0.0)
        rho = r.m / Q if Q > 0 else 0.0
        cp = r.C / r.m if r.m > 0 else 0.0
        out = {}
        for outlet, Qp, frac in (("organic", Q_org, f), ("aqueous", Q_aq, 1.0 - f)):
            vec = np.ones(self.w)
            vec[:self.n] = Q * frac / Qp if Qp > 0 else 0.0
            mp = rho * Qp
            out[f"{name}.{outlet}"] = self._scaled(r, vec, Qp, mp, mp * cp)
        return out

    def _steady_inlet(self, name):
        base = self.scenario._base_result
        return base.operations[name].inlet if hasattr(base.operations[name], "inlet") else None

    def _base_rho_cp(self, name):
        inlet = self._steady_inlet(name)
        op = self.route.operations[name]
        return op._thermal(inlet).rho_cp

    def _ua_per_volume(self, name):
        """U a (W/m^3/K) as the steady route resolves it at the base operating point."""
        cache = self.__dict__.setdefault("_ua_cache", {})
        if name not in cache:
            op = self.route.operations[name]
            cache[name] = op._thermal(self._steady_inlet(name)).ua_per_volume
        return cache[name]

    def _dispersion_default(self, name):
        """Cells of a dispersion tube without ``cells``: the default, raised
        to Pe/2 at the base flow (cell Peclet number <= 2, where the exchange
        of :meth:`_exchange` stays non-negative and the scheme is central),
        at most :data:`MAX_DEFAULT_TUBE_CELLS`."""
        if self.scenario.cells is not None:
            return self.dispersion_cells
        op = self.route.operations[name]
        inlet = self._steady_inlet(name)
        try:
            Pe = float(op.dispersion(inlet)[0]) if inlet is not None else 0.0
        except (InputError, SolverError, ValueError):
            Pe = 0.0
        want = math.ceil(Pe / 2.0) if math.isfinite(Pe) and Pe > 0 else 0
        return int(min(MAX_DEFAULT_TUBE_CELLS, max(self.dispersion_cells, want)))

    def _exchange(self, name, op, r, N):
        """Exchange between the cells of a dispersion tube at the flow of
        ``r``: D/dz^2 - u/(2 dz) = N^2/(tau Pe) - N/(2 tau). With the upwind
        link u/dz this is the conservative central scheme with Danckwerts'
        closed-vessel boundaries (second order, no grid dispersion); where
        the cell Peclet number Pe/N exceeds 2 that would be negative
        (oscillating), and the exchange is 0: upwind, whose grid dispersion
        u dz/2 then exceeds D (the tube is modelled at Pe_eff = 2N)."""
        from .stream import Stream

        if r.Q <= 0:
            return 0.0
        inlet = Stream.from_si(self.route.mechanism, r.Q, 300.0, np.zeros(self.n))
        Pe = op.dispersion(inlet)[0]
        tau = op.volume / r.Q
        return max(N * N / (tau * Pe) - N / (2.0 * tau), 0.0)


# =============================================================================== results
@dataclass
class StreamTrace:
    """One stream against time: flow (m^3/s), T (K), concentrations
    (n_t x n_species, mol/m^3, species order of the result) and tracers."""

    flow_m3_per_s: np.ndarray
    T_K: np.ndarray
    conc_mol_per_m3: np.ndarray
    tracers: dict


class DynamicResult:
    """Time courses of every stream of a route under a scenario.

    Attributes
    ----------
    time_s : ndarray
        Output times; an event time appears twice, first with the values just
        before the event (left limit), then with those after it.
    streams : dict of str -> StreamTrace
        Every feed and every operation outlet, named as in route results.
    species : list of str
    product : dict or None
        The route's product spec (stream ``from``, species, basis, impurities).
    events, lots : list of dict
    conservation : dict
        Element (and inert species) balances in - out - accumulation over the run.
    steady_state : dict
        The route's steady state at the final conditions and the difference
        of the long-time limit to it.
    tracking : dict or None
        Material tracking (in_spec, diversion, startup, lots, batch) when the
        scenario has a spec, lots or a batch.
    stats : dict
        Integrator statistics, summed over segments, and run time.
    """

    def __init__(self, scenario, time_s, streams, species, events, lots, stats):
        self.scenario = scenario
        self.route = scenario.route
        self.time_s = time_s
        self.streams = streams
        self.species = species
        self.product = None if self.route.product is None else {
            k: v for k, v in self.route.product.items() if k != "stoichiometric_factor"}
        self.events = events
        self.lots = lots
        self.stats = stats
        self.conservation = {}
        self.steady_state = None
        self.tracking = None
        self.final_steady = None       # RouteResult at the final conditions

    def __getitem__(self, name):
        return self.streams[name]

    def conc(self, stream, species):
        """Concentration of ``species`` in ``stream`` against time (mol/m^3)."""
        return self.streams[stream].conc_mol_per_m3[:, self.species.index(species)]

    def to_dict(self):
        def arr(a):
            return [float(x) for x in a]

        d = {"scenario": self.scenario.name, "route": self.route.name,
             "duration_s": self.scenario.duration, "start": self.scenario.start,
             "time_s": arr(self.time_s), "species": list(self.species), "streams": {}}
        for name, s in self.streams.items():
            d["streams"][name] = {
                "flow_m3_per_s": arr(s.flow_m3_per_s), "T_K": arr(s.T_K),
                "conc_mol_per_m3": {sp: arr(s.conc_mol_per_m3[:, i])
                                    for i, sp in enumerate(self.species)},
                "tracers": {k: arr(v) for k, v in s.tracers.items()}}
        product = None
        tracking = {}
        if self.product is not None:
            product = {"stream": self.product["from"], "species": self.product["species"],
                       "basis": self.product["basis"]}
        if self.tracking is not None:
            from .material_tracking import tracking_to_dict

            tracking = tracking_to_dict(self.tracking)
            product.update(tracking.pop("product"))
        d["product"] = product
        d.update(_jsonable(tracking))
        d["events"] = self.events
        d["lot_changes"] = self.lots
        d["conservation"] = _jsonable(self.conservation)
        d["steady_state"] = _jsonable(self.steady_state)
        d["stats"] = _jsonable(self.stats)
        return d

    def write_json(self, path):
        """Write :meth:`to_dict` as JSON atomically."""
        write_text_atomic(path, json.dumps(self.to_dict(), allow_nan=False) + "\n")

    def write_csv(self, path):
        """One row per output time: time, then per stream flow, T, the
        concentrations and the tracers."""
        import csv

        names = list(self.streams)
        header = ["time_s"]
        cols = []
        for nm in names:
            s = self.streams[nm]
            header += [f"{nm}.flow_m3_per_s", f"{nm}.T_K"]
            cols += [s.flow_m3_per_s, s.T_K]
            header += [f"{nm}.conc_{sp}_mol_per_m3" for sp in self.species]
            cols += [s.conc_mol_per_m3[:, i] for i in range(len(self.species))]
            header += [f"{nm}.tracer_{k}" for k in s.tracers]
            cols += list(s.tracers.values())
        table = np.column_stack([self.time_s] + cols)
        with atomic_open(path, newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for row in table:
                w.writerow([repr(float(x)) for x in row])

    def summary(self):
        lines = [f"dynamic run of {self.route.name}: {self.scenario.duration / 60:.4g} min, "
                 f"{len(self.time_s)} output times, {self.stats.get('segments', 0)} segments, "
                 f"{self.stats.get('steps', 0)} steps, {self.stats.get('run_time_s', 0.0):.3g} s"]
        disc = self.stats.get("discretisation") or {}
        if disc:
            parts = [f"{name} {d['elements']} collocation elements" if "elements" in d
                     else f"{name} {d['cells']} {d['scheme']} cells" for name, d in disc.items()]
            lines.append("  grid: " + ", ".join(parts))
        cons = self.conservation.get("element_closure_rel") or {}
        if cons:
            worst = max(cons.values())
            lines.append(f"  element balance closure (in - out - accumulation): {worst:.2e} relative")
        if self.steady_state:
            lines.append(f"  long-time limit vs flowchem run at the final conditions: "
                         f"{self.steady_state['max_rel_difference']:.2e} relative "
                         f"(at {self.steady_state['worst']})")
        tr = self.tracking or {}
        if "diversion" in tr:
            lines.append(f"  diversion windows: {len(tr['diversion'])}")
        return "\n".join(lines)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


# =============================================================================== numerics
#: A unit is held at rest when a backward Euler step to the end of the
#: inputs' segment would move none of its states by more than this fraction
#: of the state's error weight (atol + rtol |y|).
REST_DRIFT = 1e-2

#: the kernel counters summed over a run (the tracer network's with ``tracer_``)
COUNTED_STATS = ("steps", "accepted_steps", "rejected_steps", "rhs_evaluations",
                 "jacobian_evaluations", "lu_factorizations")


class _Integrator:
    """Integrates one segment with kernels.network (or, with ``backend="scipy"``,
    scipy's BDF on the kernel's right-hand side and sparse Jacobian)."""

    def __init__(self, net, rtol, atol, backend="auto", method=DEFAULT_METHOD):
        self.net = net
        self.rtol = rtol
        self.atol = atol
        from kernels import network

        self.kernel = network
        self.scipy = backend == "scipy"
        self.method = method
        self.max_steps = 1_000_000
        self.totals = dict.fromkeys(COUNTED_STATS, 0)
        self.backend = "scipy solve_ivp BDF on kernels.network.network_rhs" if self.scipy \
            else ("kernels.network_bdf.integrate_network_bdf" if method == "bdf"
                  else "kernels.network.integrate_network")
        # Passive tracers never act on the chemistry (they ride on the flows),
        # so the kernel integrates them as a network of their own: a front of
        # a lot change then sets the steps of the cheap tracer system only,
        # not of the whole route's (scipy gets the coupled system).
        self.split = not self.scipy and net.k > 0
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        self.threads = min(2, cpus)
        # each integrated system carries its step size (and BDF history)
        # between calls; "cols" are its columns of a cell's full state
        n, k, w = net.n, net.k, net.w
        self._parts = {"whole": {"h": 0.0, "cols": np.arange(w)},
                       "chemistry": {"h": 0.0, "cols": np.r_[np.arange(n), w - 1]},
                       "tracers": {"h": 0.0, "cols": np.r_[np.arange(n, n + k), w - 1]}}

    def start_tracers(self, jobs, y0):
        """Integrate the tracer network through ``jobs`` on a second thread,
        ahead of the chemistry: a list of ``(t0, t1, t_out, A0, A1, label,
        out_cells, horizon)``, the calls :meth:`run` will get in that order
        (with ``job=`` its index). The tracers depend on the flows alone,
        which the schedule fixes in advance, so they need not wait for the
        chemistry at each segment (the chemistry then finds each result
        ready, and a segment where only a lot moves costs the tracers' time
        beside the chemistry's instead of after it). Does nothing without
        the split networks or a second core."""
        if self.scipy or not self.split or self.threads < 2 or not jobs:
            return
        w, nc = self.net.w, self.net.n_cells
        cols = self._parts["tracers"]["cols"]
        index = ((np.arange(nc) * w)[:, None] + cols).ravel()
        net = self._split_networks()["tracers"]
        atol = self.atol[index]
        state = {"y": np.ascontiguousarray(y0[index])}

        def one(t0, t1, t_out, A0, A1, label, out_cells, horizon):
            out_cells = np.asarray(out_cells, dtype=np.int64)
            result = self._integrate_cells("tracers", net, self._part_segment("tracers", A0, A1),
                                           state["y"], atol, t0, t1, t_out, label, "tracer_",
                                           out_cells, A0, A1, max(horizon, t1))
            state["y"] = result[1]
            return result

        # one worker: the jobs run in order, each from the last one's end
        self._tracer_pool = ThreadPoolExecutor(max_workers=1)
        self._tracer_jobs = [self._tracer_pool.submit(one, *job) for job in jobs]

    def stop_tracers(self):
        """Drop the tracer jobs not started (after a failure or at the end)."""
        pool = getattr(self, "_tracer_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._tracer_pool = self._tracer_jobs = None

    def run(self, y0, t0, t1, t_out, A0, A1, label, out_cells=None, horizon=None, job=None):
        """States from t0 to t1: ``(y_out, y_end)``, ``y_out`` (n_out,
        len(out_cells) * w) the states of the cells ``out_cells`` (all when
        None) at ``t_out``, ``y_end`` the whole state at t1. ``horizon``
        (default t1): the end of the inputs' segment, over which a unit held
        at rest must stay at rest (see :meth:`_at_rest`). ``job``: the index
        of this call in the list given to :meth:`start_tracers`, whose
        result then supplies the tracers."""
        net = self.net
        if out_cells is None:
            out_cells = np.arange(net.n_cells)
        out_cells = np.asarray(out_cells, dtype=np.int64)
        if t1 <= t0:
            return (np.tile(y0.reshape(net.n_cells, net.w)[out_cells].ravel(), (len(t_out), 1)),
                    y0.copy())
        if not self.scipy:
            return self._run_kernel(y0, t0, t1, t_out, A0, A1, label, out_cells,
                                    t1 if horizon is None else max(horizon, t1), job)
        y_out, y_end = self._run_scipy(y0, t0, t1, t_out, A0, A1, label)
        return y_out.reshape(len(t_out), net.n_cells, net.w)[:, out_cells].reshape(
            len(t_out), -1), y_end

    def _run_scipy(self, y0, t0, t1, t_out, A0, A1, label):
        """scipy's BDF on the kernel's right-hand side and analytic sparse
        Jacobian: the same semi-discretised equations, another integrator."""
        from scipy.integrate import solve_ivp
        from scipy.sparse import csr_matrix

        km = self.kernel
        net, seg = self._network(), self._segment(A0, A1)
        n = y0.size

        def fun(t, y):
            out = np.empty(n)
            km.network_rhs(float(t), np.ascontiguousarray(y), net, seg, float(t0), float(t1), out)
            return out

        def jac(t, y):
            indptr, indices, data = km.network_jacobian_csr(t, y, net, seg, t0, t1)
            return csr_matrix((data, indices, indptr), shape=(n, n))

        sol = solve_ivp(fun, (t0, t1), y0, method="BDF", t_eval=np.asarray(t_out), rtol=self.rtol,
                        atol=self.atol, jac=jac)
        if sol.status != 0:
            raise SolverError(label, f"scipy BDF stopped: {sol.message}")
        # solve_ivp does not report its step count (sol.t holds the output times)
        self.totals["rhs_evaluations"] += int(sol.nfev)
        self.totals["jacobian_evaluations"] += int(sol.njev)
        self.totals["lu_factorizations"] += int(sol.nlu)
        # t_out always ends at t1 (the driver's chunks do)
        return sol.y.T.copy(), sol.y[:, -1].copy()

    def _network_args(self, part):
        """The keyword arguments of ``make_network`` for a part: "whole",
        "chemistry" (no tracers) or "tracers" (no reactions, isothermal)."""
        net, comp = self.net, self.net.compiled
        args = dict(model=comp.model, rate_params=comp.rate_params, dH=comp.delta_H,
                    n_species=net.n, n_tracers=net.k, cell_energy=net.cell_energy,
                    link_ptr=net.link_ptr, link_src=net.link_src, nonnegative=not net.collocated)
        if part == "chemistry":
            args["n_tracers"] = 0
        elif part == "tracers":
            i0, f0 = np.zeros(0, dtype=np.int64), np.zeros(0)
            args.update(model=(np.zeros(1, dtype=np.int64), i0, f0, np.zeros(1, dtype=np.int64), i0,
                               f0, np.zeros(1, dtype=np.int64), i0, f0),
                        rate_params=(i0, np.zeros((0, 3)), np.zeros((0, 3))), dH=f0,
                        n_species=0, cell_energy=np.zeros(net.n_cells, dtype=np.int8))
        return args

    def _network(self):
        if getattr(self, "_net_tuple", None) is None:
            self._net_tuple = self.kernel.make_network(**self._network_args("whole"))
        return self._net_tuple

    def _segment(self, A0, A1):
        return self.kernel.make_segment(
            self._network(), kappa_start=A0["kappa"], kappa_end=A1["kappa"],
            feed_start=A0["feed"], feed_end=A1["feed"], weight_start=A0["weight"],
            weight_end=A1["weight"], ua_start=A0["ua"], ua_end=A1["ua"],
            T_coolant_start=A0["Tc"], T_coolant_end=A1["Tc"], rho_cp_start=A0["rhocp"],
            rho_cp_end=A1["rhocp"], exchange_start=A0["exchange"], exchange_end=A1["exchange"])

    def steady(self, y0, A):
        """The network's steady state under the inputs ``A`` by the kernel's
        Newton / pseudo-transient solver; None when it fails."""
        from ..reactors.solver import succeeded

        status, y, _ = self.kernel.steady_network(
            self._network(), self._segment(A, A), np.ascontiguousarray(y0, dtype=np.float64),
            float(self.rtol), np.ascontiguousarray(self.atol, dtype=np.float64), 500)
        return y if succeeded(status) else None

    def _split_networks(self):
        """The chemistry network (species and T, no tracers) and the tracer
        network (tracers and an isothermal T column, no reactions)."""
        if getattr(self, "_split_tuples", None) is None:
            self._split_tuples = {part: self.kernel.make_network(**self._network_args(part))
                                  for part in ("chemistry", "tracers")}
        return self._split_tuples

    def _part_segment(self, part, A0, A1):
        cols = self._parts[part]["cols"]
        ua0, ua1 = (A0["ua"], A1["ua"]) if part == "chemistry" else (0.0, 0.0)
        return self.kernel.make_segment(
            self._split_networks()[part], kappa_start=A0["kappa"], kappa_end=A1["kappa"],
            feed_start=A0["feed"][:, cols], feed_end=A1["feed"][:, cols],
            weight_start=A0["weight"][:, cols], weight_end=A1["weight"][:, cols],
            ua_start=ua0, ua_end=ua1, T_coolant_start=A0["Tc"], T_coolant_end=A1["Tc"],
            rho_cp_start=A0["rhocp"], rho_cp_end=A1["rhocp"], exchange_start=A0["exchange"],
            exchange_end=A1["exchange"])

    def _run_kernel(self, y0, t0, t1, t_out, A0, A1, label, out_cells, horizon, job=None):
        w = self.net.w
        if not self.split:
            return self._integrate_cells("whole", self._network(), self._segment(A0, A1), y0,
                                         self.atol, t0, t1, t_out, label, "", out_cells, A0,
                                         A1, horizon)
        nets = self._split_networks()
        n_out, n_oc = len(t_out), out_cells.size
        cell_base = (np.arange(self.net.n_cells) * w)[:, None]
        y_out = np.empty((n_out, n_oc, w))
        y_end = np.empty(y0.size)
        calls = {}
        jobs = getattr(self, "_tracer_jobs", None)
        ahead = job is not None and bool(jobs)       # tracers from start_tracers
        for part in ("chemistry",) if ahead else ("chemistry", "tracers"):
            cols = self._parts[part]["cols"]
            index = (cell_base + cols).ravel()
            calls[part] = (part, nets[part], self._part_segment(part, A0, A1),
                           y0[index], self.atol[index], t0, t1, t_out, label,
                           "" if part == "chemistry" else "tracer_", out_cells, A0, A1, horizon)
        # the two integrations are independent and the kernel releases the GIL:
        # on a machine with a second core the tracers run beside the chemistry
        results = {}
        if ahead:
            results["chemistry"] = self._integrate_cells(*calls["chemistry"])
            results["tracers"] = jobs[job].result()
        elif self.threads > 1:
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = pool.submit(self._integrate_cells, *calls["tracers"])
                try:
                    results["chemistry"] = self._integrate_cells(*calls["chemistry"])
                finally:
                    results["tracers"] = pending.result()
        else:
            results = {part: self._integrate_cells(*args) for part, args in calls.items()}
        y_end_cells = y_end.reshape(self.net.n_cells, w)
        for part in ("chemistry", "tracers"):
            cols = self._parts[part]["cols"]
            out, end = results[part]
            out = out.reshape(n_out, n_oc, cols.size)
            end = end.reshape(self.net.n_cells, cols.size)
            if part == "tracers":  # the T column is the chemistry's
                cols, out, end = cols[:-1], out[:, :, :-1], end[:, :-1]
            y_out[:, :, cols] = out
            y_end_cells[:, cols] = end
        return y_out.reshape(n_out, n_oc * w), y_end

    def _at_rest(self, part, net, seg, y0, atol, t0, horizon, A0, A1):
        """What of a part is at rest and stays so until ``horizon``: ``(cells,
        columns)``, boolean per cell and per column of the part's state.

        A unit's cells are at rest when every input of its cells is the same
        at both ends of the call (no event or ramp reaches it), so is its
        operating T; its sources are at rest too; and one backward Euler
        step to ``horizon`` would move none of its states by more than
        :data:`REST_DRIFT` of its error weight (that step's displacement is
        the distance to equilibrium of the fast modes, the drift of the slow
        ones: :func:`kernels.network.backward_euler_displacement`). Such a
        unit is at a fixed point of its own equations under constant inputs,
        to within the tolerance (units upstream of a disturbance: R1 during
        a stall of a feed that joins after it). Tracers do not act on each
        other, so in the tracer network a tracer is at rest on its own by
        the same test over every cell (the feed fractions while a lot
        changes). The T column is never at rest; only the inputs of the
        columns not at rest count for the cells."""
        net_d = self.net
        nc = net_d.n_cells
        width = self._parts[part]["cols"].size
        none = np.zeros(nc, dtype=bool), np.zeros(width, dtype=bool)
        kap0, kap1, fd0, fd1, wt0, wt1, ua0, ua1, tc0, tc1, rc0, rc1, ex0, ex1 = seg

        def same(a, b):          # NaN (no operating T: an energy cell) equals NaN
            return (a == b) | (np.isnan(a) & np.isnan(b))

        common = (same(kap0, kap1) & same(ua0, ua1) & same(tc0, tc1) & same(rc0, rc1)
                  & same(ex0, ex1) & same(A0["cell_T"], A1["cell_T"]))
        fixed = same(fd0, fd1)                              # (cells, columns)
        if net_d.link_dst.size:
            moved = ~same(wt0, wt1)                         # (links, columns)
            changed = np.zeros((nc, width), dtype=bool)
            np.logical_or.at(changed, net_d.link_dst, moved)
            fixed &= ~changed
        fixed &= common[:, None]
        if not np.any(fixed):
            return none
        # inputs held at their t0 values: they are constant wherever it matters
        ok, move = self.kernel.backward_euler_displacement(
            net, seg, y0, float(t0), float(t0), float(horizon), float(horizon - t0))
        if not ok:
            return none
        still = fixed & (np.abs(move) <= REST_DRIFT * (atol + self.rtol * np.abs(y0))).reshape(
            nc, width)
        columns = np.zeros(width, dtype=bool)
        if part == "tracers":
            columns[:-1] = np.all(still[:, :-1], axis=0)
        cells_still = np.all(still | columns, axis=1)
        rest = np.zeros(nc, dtype=bool)
        for name in net_d.route.order:
            a, b = net_d.op_cells.get(name, (0, 0))
            if b <= a or not np.all(cells_still[a:b]):
                continue
            src = net_d.link_src[net_d.link_ptr[a]:net_d.link_ptr[b]]
            outside = src[(src < a) | (src >= b)]
            # exchange couples a cell with the next: none across the unit's ends
            ends = [a - 1, b - 1] if a > 0 else [b - 1]
            if np.all(rest[outside]) and not np.any(ex0[ends]) and not np.any(ex1[ends]):
                rest[a:b] = True
        return rest, columns

    def _integrate_cells(self, part, net, seg, y0, atol, t0, t1, t_out, label, prefix,
                         out_cells, A0, A1, horizon):
        """:meth:`_integrate` of a part, reporting the cells ``out_cells``;
        what is at rest (:meth:`_at_rest`) is held, and the rest of the
        network is integrated with the outlets of held units as constant
        feeds."""
        width = self._parts[part]["cols"].size
        rest, rest_cols = self._at_rest(part, net, seg, y0, atol, t0, horizon, A0, A1)
        if not np.any(rest) and not np.any(rest_cols):
            out_index = (out_cells[:, None] * width + np.arange(width)).ravel()
            return self._integrate(self._parts[part], net, seg, y0, atol, t0, t1, t_out,
                                   label, prefix, out_index)
        nc = self.net.n_cells
        Y0 = y0.reshape(nc, width)
        n_out, n_oc = len(t_out), out_cells.size
        for key, count in (("units_held_at_rest", sum(1 for a, b in self.net.op_cells.values()
                                                      if b > a and rest[a])),
                           ("columns_held_at_rest", int(np.sum(rest_cols)))):
            if count:
                self.totals[prefix + key] = self.totals.get(prefix + key, 0) + count
        active = ~rest
        keep = np.flatnonzero(~rest_cols)
        if np.all(rest) or keep.size == 1 and part == "tracers":
            return np.tile(Y0[out_cells].ravel(), (n_out, 1)), y0.copy()
        sub_net, keep_links, sub_of = self._sub_network(part, active, keep)
        kap0, kap1, fd0, fd1, wt0, wt1, ua0, ua1, tc0, tc1, rc0, rc1, ex0, ex1 = seg
        # a link from a held cell is a constant inflow: into the feed term
        dst = self.net.link_dst
        held = ~keep_links
        feed0, feed1 = fd0.copy(), fd1.copy()
        np.add.at(feed0, dst[held], wt0[held] * Y0[self.net.link_src[held]])
        np.add.at(feed1, dst[held], wt1[held] * Y0[self.net.link_src[held]])
        sub_seg = self.kernel.make_segment(
            sub_net, kappa_start=kap0[active], kappa_end=kap1[active],
            feed_start=feed0[active][:, keep], feed_end=feed1[active][:, keep],
            weight_start=wt0[keep_links][:, keep], weight_end=wt1[keep_links][:, keep],
            ua_start=ua0[active], ua_end=ua1[active],
            T_coolant_start=tc0[active], T_coolant_end=tc1[active],
            rho_cp_start=rc0[active], rho_cp_end=rc1[active], exchange_start=ex0[active],
            exchange_end=ex1[active])
        moving = active[out_cells]
        sub_out = sub_of[out_cells[moving]]
        out_index = (sub_out[:, None] * keep.size + np.arange(keep.size)).ravel()
        state = self._parts[part]
        layout = (active, keep)
        if state.get("_layout") is None or not all(
                np.array_equal(x, y) for x, y in zip(state["_layout"], layout)):
            # another network: the BDF history does not carry over
            state["_layout"] = layout
            state["_bdf_history"] = None
            state["_bdf_last_segment"] = None
        sub_y_out, sub_y_end = self._integrate(
            state, sub_net, sub_seg, Y0[active][:, keep].ravel(),
            atol.reshape(nc, width)[active][:, keep].ravel(), t0, t1, t_out, label, prefix,
            out_index)
        y_out = np.empty((n_out, n_oc, width))
        y_out[:] = Y0[out_cells]
        y_out[np.ix_(np.arange(n_out), np.flatnonzero(moving), keep)] = sub_y_out.reshape(
            n_out, -1, keep.size)
        y_end = Y0.copy()
        y_end[np.ix_(np.flatnonzero(active), keep)] = sub_y_end.reshape(-1, keep.size)
        return y_out.reshape(n_out, n_oc * width), y_end.ravel()

    def _sub_network(self, part, active, keep):
        """The part's network restricted to the cells ``active`` and the
        columns ``keep`` (tracers and T in the tracer network; all columns
        otherwise): ``(net, keep_links, sub_of)``, the links kept (both ends
        active) and the new index of each cell (cached per layout)."""
        cache = self.__dict__.setdefault("_sub_networks", {})   # shared by both threads
        key = (part, active.tobytes(), keep.tobytes())
        entry = cache.get(key)
        if entry is None:
            nc = self.net.n_cells
            src, dst = self.net.link_src, self.net.link_dst
            keep_links = active[dst] & active[src]
            sub_of = np.cumsum(active) - 1
            counts = np.bincount(dst[keep_links], minlength=nc)[active]
            args = self._network_args(part)
            args.update(cell_energy=np.asarray(args["cell_energy"])[active],
                        link_ptr=np.r_[0, np.cumsum(counts)].astype(np.int64),
                        link_src=sub_of[src[keep_links]].astype(np.int64))
            if part == "tracers":
                args["n_tracers"] = keep.size - 1
            entry = (self.kernel.make_network(**args), keep_links, sub_of)
            if len(cache) > 16:
                cache.clear()
            cache[key] = entry
        return entry

    def _integrate(self, part_state, net, seg, y0, atol, t0, t1, t_out, label, prefix,
                   out_index):
        """One kernel call on ``net``; ``part_state`` (of ``self._parts``)
        carries the step size (and the BDF history) over between calls; the
        counters go to ``self.totals`` under ``prefix``."""
        from ..reactors.solver import STAT_NAMES, check_status

        km = self.kernel
        args = (net, seg, np.ascontiguousarray(y0, dtype=np.float64), float(t0), float(t1),
                np.ascontiguousarray(t_out, dtype=np.float64), float(self.rtol),
                np.ascontiguousarray(atol, dtype=np.float64))
        out_index = np.ascontiguousarray(out_index, dtype=np.int64)
        if self.method == "bdf":
            from kernels import network_bdf

            if part_state.get("_bdf_history") is None:
                part_state["_bdf_history"] = network_bdf.history_storage(net)
            hist, hist_state = part_state["_bdf_history"]
            # the BDF history continues across a chunk boundary or a segment
            # boundary with continuous inputs (the kernel also checks t and y);
            # an event restarts it at order 1
            prev = part_state.get("_bdf_last_segment")
            if prev is None or any(not np.array_equal(seg[2 * k], prev[2 * k + 1])
                                   for k in range(len(seg) // 2)):
                hist_state[0] = 0.0
            part_state["_bdf_last_segment"] = seg
            status, y_out, y_end, h_last, stats = network_bdf.integrate_network_bdf(
                *args, 0.0, int(self.max_steps), hist, hist_state, out_index)
        else:
            status, y_out, y_end, h_last, stats = km.integrate_network(
                *args, float(part_state["h"]), int(self.max_steps), out_index)
        for i, name in STAT_NAMES.items():
            if name in COUNTED_STATS:
                self.totals[prefix + name] = self.totals.get(prefix + name, 0) + int(stats[i])
        key = prefix + "block_lu_factorizations"
        self.totals[key] = self.totals.get(key, 0) + int(stats[km.NET_STAT_BLOCK_LU])
        name = "NDF/BDF" if self.method == "bdf" else "Rodas5P"
        what = "the tracer network" if prefix else "the network"
        check_status(status, label, f"{what} integrator ({name})")
        part_state["h"] = float(h_last)
        return y_out, y_end


# =============================================================================== driver
def _boundaries(scenario):
    """Segment ends (sorted) and which of them are sharp (a step happens)."""
    pts = {0.0: False, scenario.duration: False}
    for e in scenario.events:
        sharp = e.ramp_s == 0.0 or e.lot is not None
        pts[e.time_s] = pts.get(e.time_s, False) or (sharp and 0.0 < e.time_s < scenario.duration)
        if e.ramp_s:
            pts.setdefault(e.time_s + e.ramp_s, False)
    times = sorted(pts)
    return times, [pts[t] for t in times]


#: The balance integrals sample the terminal streams at least this many times
#: per residence time of the cells that feed them, refining the output grid
#: by at most MAX_BALANCE_REFINEMENT. Collocation elements pass a front in a
#: few of those times: on the lomustine example (10 s outputs, 2.4 s
#: elements at the quench hold's outlet) the element closure was 3.0e-5
#: unrefined, 2.7e-10 with 4 subdivisions (this setting), 5.8e-10 with 13;
#: the subdivisions cost 5-15 % of the run. (2.4e-9 since every segment's
#: samples open at its start, which adds the 10 s after each of the two
#: ramp ends to both sides of the balance, and the tracers are integrated
#: apart; the chunk length does not change it. 2.1e-9 with units at rest
#: held.)
BALANCE_SAMPLES_PER_CELL = 0.25
MAX_BALANCE_REFINEMENT = 16


def _balance_refinement(sc, net, A, terminal):
    """Subdivisions of each output interval for the balance integrals: 1 for
    networks without collocation elements (upwind cells smear a front over
    sqrt(N) cells), else enough for :data:`BALANCE_SAMPLES_PER_CELL` samples
    per shortest residence time of a cell feeding a terminal stream."""
    if not net.collocated:
        return 1
    times = []
    for sname in terminal:
        for cell in A["reps"][sname].W:
            kap = A["kappa"][cell]
            if kap > 0:
                times.append(1.0 / kap)
    if not times:
        return 1
    interval = sc.output_interval or sc.duration / DEFAULT_OUTPUT_POINTS
    want = math.ceil(interval * BALANCE_SAMPLES_PER_CELL / min(times))
    return int(min(MAX_BALANCE_REFINEMENT, max(1, want)))


def _refined_grid(grid, t0, refine):
    """``grid`` with every interval (from t0) cut into ``refine`` equal parts,
    and the mask of the original points."""
    if refine <= 1:
        return grid, np.ones(len(grid), dtype=bool)
    out, keep = [], []
    prev = t0
    for t in grid:
        if t > prev:
            for j in range(1, refine):
                out.append(prev + (t - prev) * j / refine)
                keep.append(False)
        out.append(t)
        keep.append(True)
        prev = t
    return out, np.asarray(keep)


def _output_grid(scenario, t0, t1, include_start):
    dt = scenario.output_interval or scenario.duration / DEFAULT_OUTPUT_POINTS
    k0 = math.floor(t0 / dt) + 1
    k1 = math.ceil(t1 / dt) - 1
    inner = [k * dt for k in range(k0, k1 + 1) if t0 < k * dt < t1 * (1 - 1e-13)]
    return ([t0] if include_start else []) + inner + [t1]


def simulate_dynamic(route_or_scenario, scenario=None, progress=None, *, backend="auto",
                     method=None):
    """Integrate a route through a scenario; returns a :class:`DynamicResult`.

    Parameters
    ----------
    route_or_scenario : Route or Scenario or str
        A :class:`Scenario` (or a scenario file name), or a route with the
        scenario given as ``scenario`` (a mapping or a Scenario).
    scenario : dict or Scenario, optional
    progress : callable, optional
        ``progress(done_s, total_s)`` (simulated seconds) after each chunk.
    backend : {"auto", "kernel", "scipy"}
        ``"kernel"`` or ``"auto"``: :func:`kernels.network.integrate_network`
        (Rodas5P, block LU); ``"scipy"``: ``solve_ivp`` BDF on the kernel's
        right-hand side and sparse Jacobian (a reference, slower).
    method : {"bdf", "rodas5p"}, optional
        The kernel's time integrator, overriding the scenario's ``method:``
        (default ``"rodas5p"``: :func:`kernels.network.integrate_network`,
        the faster at matched accuracy on benchmarks/dynamic_vs_scipy.py;
        ``"bdf"``: :func:`kernels.network_bdf.integrate_network_bdf`,
        variable-order NDF/BDF reusing its Jacobian and block LU across
        steps, cheaper at loose accuracy).

    Raises
    ------
    InputError
        For a bad scenario (before any numerics).
    SolverError
        Naming the segment (its time span) and the integrator's reason.
    """
    from .route import Route

    if isinstance(route_or_scenario, Scenario):
        sc = route_or_scenario
    elif isinstance(route_or_scenario, (str, Path)):
        sc = load_scenario(route_or_scenario)
    elif isinstance(route_or_scenario, Route):
        if isinstance(scenario, Scenario):
            sc = scenario
            sc.route = route_or_scenario
        else:
            sc = scenario_from_dict(scenario or {}, route=route_or_scenario)
    else:
        raise InputError(f"expected a Route, Scenario or scenario file, got "
                         f"{type(route_or_scenario).__name__}", "<python>", "simulate_dynamic")
    t_start = _time.perf_counter()
    route = sc.route
    sc._base_result = route.run()             # resolves U: auto, the base operating point
    schedule = _Schedule(sc)
    net = _Network(sc, schedule)
    n, w, nc = net.n, net.w, net.n_cells
    # default atol: 1e-3 rtol of the largest feed concentration (often the
    # solvent), capped at 1e-8 of it; a fixed atol would dominate rtol for
    # every solute below atol/rtol, so tightening rtol would stop improving
    # the solution (issue 11: errors stalled near 1e-6 relative). The cap
    # keeps solutes far below the solvent resolved at loose rtol: on the
    # lomustine scenario at rtol 1e-4, 1e-7 would make the product trace's
    # error 3.8e-3, 1e-8 gives 7.1e-4 and 1e-9 6.8e-4 with 26 % more steps
    tol_scale = min(1e-8, 1e-3 * sc.rtol)
    atol = sc.atol if sc.atol is not None else tol_scale * max(
        1.0, max(float(np.max(f.conc)) if f.conc.size else 0.0 for f in route.feeds.values()))
    atol_vec = np.full(nc * w, atol)
    # tracers are fractions (0..1) whose only use is the 1/50/99 % lot times
    # and the RTD: 1e-2 rtol resolves those; a tighter floor made the
    # integrator follow the far tails of every front (30 % more steps)
    atol_vec.reshape(nc, w)[:, n:n + net.k] = min(1e-6, 1e-2 * sc.rtol)
    atol_vec.reshape(nc, w)[:, -1] = min(1e-6, sc.rtol)           # K
    if backend not in ("auto", "kernel", "scipy"):
        raise InputError(f"unknown backend {backend!r} (auto, kernel or scipy)", "<python>",
                         "simulate_dynamic.backend")
    if method is not None and method not in METHODS:
        raise InputError(f"unknown method {method!r} ({', '.join(METHODS)})", "<python>",
                         "simulate_dynamic.method")
    integ = _Integrator(net, sc.rtol, atol_vec, backend, method or sc.method)

    # -- initial state ---------------------------------------------------------------
    A_first = net.arrays(0.0, "right")
    y0 = _initial_state(sc, net, A_first)
    if sc.start == "steady-state":
        y0 = _long_time_state(sc, net, integ, y0, A_first)

    iso = net.cell_energy == 0
    bounds, sharp = _boundaries(sc)
    streams_out = list(A_first["reps"])
    terminal = route.graph.terminal_streams()
    refine = _balance_refinement(sc, net, A_first, terminal)
    # -- the plan: segments and their chunks of outputs (inputs only) -----------------
    plan = []
    for si in range(len(bounds) - 1):
        t0, t1 = bounds[si], bounds[si + 1]
        if t1 <= t0:
            continue
        A0 = net.arrays(t0, "right")
        A1 = net.arrays(t1, "left")
        include_start = si == 0 or sharp[si]
        # t0 always opens the segment's balance samples (its holdup is the
        # segment's start); it is an output row only after a sharp change
        grid, keep_all = _refined_grid(_output_grid(sc, t0, t1, True), t0, refine)
        keep_all[0] = include_start
        R0, R1 = A0["reps"], A1["reps"]
        # the kernel reports only the cells the streams are made of
        out_cells = sorted({c for sname in streams_out for R in (R0, R1) for c in R[sname].W})
        label = f"segment {len(plan) + 1} ({t0:g} s to {t1:g} s)"
        # chunks of outputs: bounded memory, the step size carried over; an
        # isothermal cell's T is held within a call, so a ramp of an operation
        # T is followed in short chunks (piecewise constant at their midpoints)
        # a refined grid gets longer chunks (each chunk end is a step end)
        step = max(OUTPUT_CHUNK, OUTPUT_CHUNK_VALUES // (max(len(out_cells), 1) * w))
        if np.any(A0["cell_T"][iso] != A1["cell_T"][iso]):
            step = RAMPED_T_CHUNK
        chunks = []
        t_from = t0
        for pos in range(0, len(grid), step):
            chunk, keep = grid[pos:pos + step], keep_all[pos:pos + step]
            t_to = chunk[-1]
            if t_to > t_from:
                inputs = (_interp_arrays(A0, A1, t0, t1, t_from),
                          _interp_arrays(A0, A1, t0, t1, t_to))
            else:
                inputs = None
            chunks.append((chunk, keep, t_from, t_to, inputs))
            t_from = t_to
        plan.append((t0, t1, A0, A1, out_cells, label, chunks))
    jobs = [(t_from, t_to, chunk, s0, s1, label, out_cells, t1)
            for t0, t1, A0, A1, out_cells, label, chunks in plan
            for chunk, keep, t_from, t_to, inputs in chunks if inputs is not None
            for s0, s1 in [inputs]]
    try:
        integ.start_tracers(jobs, y0)
        rows_t, rows_val, flows_in, flows_out, holdups, cons_t, cons_seg, y = _run_plan(
            plan, sc, net, integ, y0, atol, streams_out, terminal, iso, progress)
    finally:
        integ.stop_tracers()
    n_seg = len(plan)
    time_s = np.asarray(rows_t)
    streams = {}
    for sname in streams_out:
        vals = rows_val[sname]
        Q = np.concatenate([v[0] for v in vals])
        Yv = np.concatenate([v[1] for v in vals])
        streams[sname] = StreamTrace(Q, Yv[:, -1], np.maximum(Yv[:, :n], 0.0),
                                     {tn: Yv[:, n + j] for j, tn in enumerate(net.tracers)})
    events = [e.to_dict() for e in sc.events]
    lots = []
    for feed, changes in schedule.lots.items():
        first = schedule.initial_lot[feed]
        if first == "A" or changes[0][0] != 0.0:
            lots.append({"feed": feed, "lot": first, "time_s": 0.0, "tracer": f"lot:{feed}:{first}"})
        for t_e, lot in changes:
            lots.append({"feed": feed, "lot": lot, "time_s": t_e, "tracer": f"lot:{feed}:{lot}"})
    stats = dict(integ.totals)
    stats.update({"segments": n_seg, "cells": nc, "states": nc * w, "backend": integ.backend,
                  "rtol": sc.rtol, "atol": atol, "cells_per_tube": net.tube_cells,
                  "scheme": net.scheme,
                  "discretisation": {name: ({"scheme": "collocation", "elements": N, "nodes": 2 * N}
                                            if name in net.collocated else
                                            {"scheme": "central", "cells": N}
                                            if name in net.dispersion_ops else
                                            {"scheme": "upwind", "cells": N})
                                     for name, N in net.tube_cells_by_op.items()}})
    result = DynamicResult(sc, time_s, streams, list(net.species), events, lots, stats)
    result.conservation = _conservation(route, np.asarray(cons_t), np.concatenate(flows_in),
                                        np.concatenate(flows_out), np.concatenate(holdups),
                                        np.array(cons_seg))
    result.conservation["grid_refinement"] = refine
    result.final_state = y
    _compare_steady(result, sc, schedule)
    _track(result, sc)
    stats["run_time_s"] = _time.perf_counter() - t_start
    return result


def _run_plan(plan, sc, net, integ, y0, atol, streams_out, terminal, iso, progress):
    """Integrate the segments and chunks of ``plan`` in order; returns the
    output rows, stream values, the samples of the balance integrals and the
    final state."""
    route = sc.route
    n, w, nc = net.n, net.w, net.n_cells
    rows_t, rows_val = [], {s: [] for s in streams_out}
    flows_in, flows_out, holdups = [], [], []
    cons_t, cons_seg = [], []            # the (finer) grid of the balance integrals
    y = y0
    job = 0
    for n_seg, (t0, t1, A0, A1, out_cells, label, chunks) in enumerate(plan):
        R0, R1 = A0["reps"], A1["reps"]
        cell_pos = {c: j for j, c in enumerate(out_cells)}
        n_oc = len(out_cells)
        for chunk, keep, t_from, t_to, inputs in chunks:
            if inputs is not None:
                # isothermal cells hold the T of their state: set it to the
                # operating T of this chunk (an event or a ramp of an operation T)
                cT = _interp_arrays(A0, A1, t0, t1, 0.5 * (t_from + t_to))["cell_T"]
                y = y.copy()
                y.reshape(nc, w)[iso, -1] = cT[iso]
                y_out, y_end = integ.run(y, t_from, t_to, chunk, *inputs, label, out_cells,
                                         horizon=t1, job=job)
                job += 1
            else:
                y_out = np.tile(y.reshape(nc, w)[out_cells].ravel(), (len(chunk), 1))
                y_end = y
            Ych = y_out.reshape(len(chunk), n_oc, w)
            # each species' height in the route (feeds, every cell at the chunk's
            # ends): an undershoot is judged against the front that makes it,
            # which may lie in a cell no stream reports (a quench's water)
            scale = np.max(np.abs(np.vstack([A0["feed"][:, :n], A1["feed"][:, :n],
                                             y.reshape(nc, w)[:, :n],
                                             y_end.reshape(nc, w)[:, :n]])), axis=0)
            _check_states(Ych, net, label, atol, scale)
            _check_states(y_end.reshape(1, nc, w), net, label, atol, scale)
            # stream values are affine in the states with weights linear in t:
            # blend the values under the segment's two ends
            frac = np.clip((np.asarray(chunk) - t0) / (t1 - t0), 0.0, 1.0)[:, None]
            values = {}
            for sname in streams_out:
                # every sample for the terminal streams (balance), the output rows otherwise
                rows = slice(None) if sname in terminal else keep
                fr, Yr = frac[rows], Ych[rows]
                V = (1 - fr) * _rep_values(R0[sname], Yr, cell_pos) \
                    + fr * _rep_values(R1[sname], Yr, cell_pos)
                Qv = (1 - fr[:, 0]) * R0[sname].Q + fr[:, 0] * R1[sname].Q
                values[sname] = (Qv, V)
                rows_val[sname].append((Qv[keep], V[keep]) if sname in terminal else (Qv, V))
            fin = 0.0
            for f in route.feeds:
                Qf = (1 - frac) * R0[f].Q + frac * R1[f].Q
                fin = fin + Qf * ((1 - frac) * R0[f].const[:n] + frac * R1[f].const[:n])
            flows_in.append(np.broadcast_to(fin, (len(chunk), n)))
            flows_out.append(sum(values[sn][0][:, None] * values[sn][1][:, :n] for sn in terminal))
            # holdups: only a segment's first and last rows enter the balance
            vol = (1 - frac) * np.nan_to_num(A0["volume"]) + frac * np.nan_to_num(A1["volume"])
            hold = np.full((len(chunk), n), np.nan)
            if chunk[0] == t_from:  # a segment's first row is its start
                hold[0] = vol[0] @ y.reshape(nc, w)[:, :n]
            hold[-1] = vol[-1] @ y_end.reshape(nc, w)[:, :n]
            holdups.append(hold)
            cons_t.extend(chunk)
            cons_seg.extend([n_seg] * len(chunk))
            rows_t.extend(np.asarray(chunk)[keep].tolist())
            y = y_end
            if progress is not None:
                progress(t_to, sc.duration)
    return rows_t, rows_val, flows_in, flows_out, holdups, cons_t, cons_seg, y


def _interp_arrays(A0, A1, t0, t1, t):
    """The network arrays at ``t`` inside [t0, t1] (linear, as the kernel
    interpolates them); stream reps are left out."""
    s = 0.0 if t1 <= t0 else (t - t0) / (t1 - t0)
    if s <= 0.0:
        return A0
    if s >= 1.0:
        return A1
    return {key: (1 - s) * v + s * A1[key] for key, v in A0.items() if key != "reps"}


def _rep_values(rep, Ych, cell_pos):
    """Values (n_t, w) of a stream at the states Ych (n_t, cells, w) of the
    cells ``cell_pos`` maps (cell -> position along Ych's second axis)."""
    v = np.broadcast_to(rep.const, (Ych.shape[0], rep.const.size)).copy()
    for cell, wv in rep.W.items():
        v += wv * Ych[:, cell_pos[cell], :]
    return v


def _initial_state(sc, net, A):
    """Filled with solvent: no solutes, no tracers, each cell at its operating T."""
    Y = np.zeros((net.n_cells, net.w))
    base = sc._base_result
    for name, (a, b) in net.op_cells.items():
        op = sc.route.operations[name]
        if np.all(np.isfinite(A["cell_T"][a:b])):
            Y[a:b, -1] = A["cell_T"][a:b]
        elif getattr(op, "energy", None) is not None and op.energy.mode == "cooled":
            Y[a:b, -1] = A["Tc"][a:b]
        else:
            res = base.operations[name]
            inlet = getattr(res, "inlet", None)
            Y[a:b, -1] = inlet.T if inlet is not None else res.outlet.T
    return Y.ravel()


def _long_time_state(sc, net, integ, y0, A):
    """The network's steady state at t = 0 conditions: the kernel's steady
    solver, else (or when it fails) a long integration (50 times the sum of
    the cells' residence times), which reaches the state a start-up from
    the filled-with-solvent state would reach."""
    y = integ.steady(y0, A)
    if y is not None:
        return y
    with np.errstate(divide="ignore"):
        tau_total = float(np.sum(np.where(A["kappa"] > 0, 1.0 / A["kappa"], 0.0)))
    t_long = 50.0 * max(tau_total, 1e-9)
    _, y = integ.run(y0, 0.0, t_long, [t_long], A, A, "steady start (long integration)")
    return y


#: Collocation elements are not monotone: a sharp front (a feed switched on)
#: over- and undershoots by up to about 7 % of its height within a few
#: elements (measured on a step of a passive tracer). Concentrations below
#: this fraction of the largest one mean a failed solution, not that.
COLLOCATION_UNDERSHOOT = 0.2


def _check_states(Y, net, label, atol, scale):
    """States Y (n_t, cells, w): finite, and no concentration below the
    scheme's allowance: a fraction of the species' height ``scale`` (per
    species, mol/m^3) or of its largest value in Y."""
    if not np.all(np.isfinite(Y)):
        raise SolverError(label, "the integrator returned non-finite states")
    if not net.n:
        return
    conc = Y[:, :, :net.n].reshape(-1, net.n)
    height = np.maximum(scale, np.max(np.abs(conc), axis=0))
    allowed = (COLLOCATION_UNDERSHOOT if net.collocated else 1e-9) * height
    margin = conc + 1e3 * atol + allowed
    if np.min(margin) < 0.0:
        row, k = np.unravel_index(np.argmin(margin), margin.shape)
        raise SolverError(label, f"the solution has a negative concentration of "
                                 f"{net.species[k]} ({conc[row, k]:.3g} mol/m^3)")


def _segment_integral(t, f):
    """Integral of samples f (n_t, ...) over t: a cubic spline (4th order) with
    four or more distinct points, else the trapezoid rule."""
    if t.size < 2 or t[-1] <= t[0]:
        return np.zeros(f.shape[1:])
    keep = np.concatenate([[True], np.diff(t) > 0])
    t, f = t[keep], f[keep]
    if t.size >= 4:
        from scipy.interpolate import CubicSpline

        return CubicSpline(t, f, axis=0).integrate(t[0], t[-1])
    return np.trapezoid(f, t, axis=0)


def _conservation(route, t, fin, fout, hold, seg):
    """in - out - accumulation of each element and of each species no
    reaction touches, integrated segment by segment."""
    mech = route.mechanism
    n = mech.n_species
    total_in = np.zeros(n)
    total_out = np.zeros(n)
    accum = np.zeros(n)
    for s in np.unique(seg):
        idx = seg == s
        ts = t[idx]
        total_in += _segment_integral(ts, fin[idx])
        total_out += _segment_integral(ts, fout[idx])
        accum += hold[idx][-1] - hold[idx][0]
    elements = {}
    for e, row in zip(mech.elements, mech.element_matrix):
        ok = ~np.isnan(row)
        a_in = float(row[ok] @ total_in[ok])
        if a_in <= 0:
            continue
        a_out = float(row[ok] @ total_out[ok])
        a_acc = float(row[ok] @ accum[ok])
        elements[e] = abs(a_in - a_out - a_acc) / a_in
    reacting = set()
    for r in mech.reactions:
        reacting |= set(r.net_stoichiometry())
        reacting |= set(r.species)
    inert = {}
    for i, sp in enumerate(mech.species_names):
        if sp not in reacting and total_in[i] > 0:
            inert[sp] = abs(total_in[i] - total_out[i] - accum[i]) / total_in[i]
    return {"method": "in - out - (holdup(end) - holdup(start)) per segment; flows integrated "
                      "by cubic splines on the output grid (refined where collocation elements "
                      "carry fronts faster than it resolves: grid_refinement)",
            "moles_in": {sp: float(v) for sp, v in zip(mech.species_names, total_in)},
            "moles_out": {sp: float(v) for sp, v in zip(mech.species_names, total_out)},
            "accumulation_mol": {sp: float(v) for sp, v in zip(mech.species_names, accum)},
            "element_closure_rel": elements, "inert_species_closure_rel": inert}


def route_at(route, schedule, t, side="left"):
    """A copy of ``route`` with the scheduled feed and operation values at ``t``."""
    from .route import Route
    from .stream import Stream

    feeds = {}
    names = route.mechanism.species_names
    for fname, f in route.feeds.items():
        conc = np.array([schedule.value(("feed", fname, "conc", sp), t, side) for sp in names])
        s = Stream.from_si(route.mechanism, schedule.value(("feed", fname, "flow"), t, side),
                           schedule.value(("feed", fname, "T"), t, side), conc, f.P, fname,
                           f.properties)
        s.solvent = getattr(f, "solvent", None)
        feeds[fname] = s
    ops = {}
    for name, op in route.operations.items():
        key_T, key_c = ("op", name, "T"), ("op", name, "coolant_T")
        if key_T in schedule.pieces or key_c in schedule.pieces:
            op = copy.copy(op)
            if key_T in schedule.pieces:
                op.T = schedule.value(key_T, t, side)
            if key_c in schedule.pieces:
                op.energy = copy.copy(op.energy)
                op.energy.coolant_T = schedule.value(key_c, t, side)
        ops[name] = op
    r = Route(route.name, route.mechanism, feeds, ops, route.links, route.product, route.options,
              route.source, route.hazardous)
    return r


def _steady_note(sc):
    if sc.scheme == "collocation":
        return ("plug-flow tubes and quench holds are two-node Radau collocation elements: "
                "their long-time limit is third order in the element length (the steady "
                "route's plug flow to round-off as N grows); dispersion tubes are cells of "
                "the conservative central scheme (second order in the cell length)")
    return ("tubes are N upwind cells (N tanks in series); the steady route integrates "
            "plug flow, so they differ by O(1/N)")


def _compare_steady(result, sc, schedule):
    """``flowchem run`` at the final conditions against the long-time limit."""
    final_route = route_at(sc.route, schedule, sc.duration, "left")
    try:
        steady = final_route.run()
    except (InputError, SolverError) as exc:
        result.steady_state = {"error": str(exc)}
        return
    result.final_steady = steady
    worst, worst_at = 0.0, None
    per_stream = {}
    for name, trace in result.streams.items():
        s = steady.streams.get(name)
        if s is None:
            continue
        c_dyn = trace.conc_mol_per_m3[-1]
        scale = max(float(np.max(np.abs(s.conc))), 1e-300)
        d = float(np.max(np.abs(c_dyn - s.conc))) / scale
        dT = abs(float(trace.T_K[-1]) - s.T) / s.T
        per_stream[name] = {"conc_max_rel_difference": d, "T_rel_difference": dT}
        for v in (d, dT):
            if v > worst:
                worst, worst_at = v, name
    result.steady_state = {"max_rel_difference": worst, "worst": worst_at,
                           "streams": per_stream,
                           "note": _steady_note(sc),
                           "result": steady.to_dict()}


def _track(result, sc):
    """Material tracking (:func:`flowchem.process.material_tracking.evaluate_tracking`)
    on the product stream: spec, diversion, start-up, lot funnel, batches."""
    if result.product is None:
        return
    from .material_tracking import evaluate_tracking

    batch = sc.raw.get("batch") if sc.batch is not None else None
    result.tracking = evaluate_tracking(result, sc.spec, sc.divert_margin_s, batch,
                                        where=Location(sc.source))
