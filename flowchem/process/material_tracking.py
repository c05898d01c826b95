"""Material tracking of a dynamic run: specification, diversion, start-up,
lot funnel and lot-to-batch genealogy (DESIGN.md, "Scenario file: dynamic
operation"; ICH Q13).

Everything here is computed from a :class:`~flowchem.process.dynamic.DynamicResult`
(or any object with the same attributes: ``time_s``, ``streams`` of traces
with ``flow_m3_per_s``, ``T_K``, ``conc_mol_per_m3`` and ``tracers``,
``species``, ``product``, ``lots`` and optionally ``route``). Between output
times every trace is taken as linear in time: a criterion crosses its limit
where its linear interpolant does, and flows and mass flows are integrated
exactly as piecewise-linear functions (the trapezoid rule on the grid, with
the window edges inserted). With a grid of spacing h, an edge located this
way is off the true crossing by at most ``h**2 max|f''| / (8 |chord slope|)``.

Specification keys (the ``spec:`` of a scenario), each evaluated on the
product stream at every output time with the definitions of the steady
product KPIs (:mod:`flowchem.process.kpis`):

``product.purity_mol_percent``
    100 x (product) / (sum of every species), mol/mol.
``impurity.SPECIES`` (or ``product.impurity.SPECIES``)
    100 x (species) / (product), mol % of product.
``conc.SPECIES`` (or ``product.conc.SPECIES``)
    concentration of the species in the product stream (a unit converts; a
    bare number is mol/m^3).
``product.conc``
    concentration of the product species.
``product.yield``
    (F_P,out - F_P,fed) x factor / F_basis,fed with the molar flows of the
    feeds upstream of the product taken at the same time (so it equals the
    steady yield at steady state; during a transient it is the instantaneous
    ratio).

A condition is ``">= 70"``, ``"<= 0.5 mmol/L"``, ``"between 0.1 and 0.2
mol/L"`` or a list of conditions (all must hold). Where a criterion is
undefined (no product yet: 0/0) the material is out of specification.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import Location
from ..core.units import parse_quantity
from .constraints import parse_condition

__all__ = ["SpecEntry", "parse_tracking_spec", "evaluate_tracking", "criterion_values",
           "out_of_spec_intervals", "widen_and_merge", "first_crossing", "lot_fraction",
           "tracking_to_dict", "parse_batch", "product_molar_mass", "INITIAL_LOT"]

#: name of the lot a feed starts with when the scenario does not name it
INITIAL_LOT = "A"   # a feed's first lot (dynamic.py names it so too)

_LEVELS = (("t01_s", 0.01), ("t50_s", 0.50), ("t99_s", 0.99))


@dataclass(frozen=True)
class SpecEntry:
    """One ``spec:`` entry: its key as written, the column it is evaluated
    on (``product.purity_mol_percent``, ``product.impurity.X``,
    ``product.conc.X``, ``product.yield``) and its constraints."""

    key: str
    column: str
    constraints: tuple
    text: str

    def holds(self, values):
        """True where every constraint of the entry holds (False on NaN)."""
        ok = np.ones(np.shape(values), dtype=bool)
        for con in self.constraints:
            ok &= con.holds(values)
        return ok


def _product_stream(product):
    if product is None:
        return None
    return product.get("stream") or product.get("from")


def _column_of(key, species, product_species, where):
    """The canonical column of a spec key; InputError for anything unknown."""
    known = ("product.purity_mol_percent, product.yield, product.conc, impurity.SPECIES, "
             "conc.SPECIES")
    if not isinstance(key, str):
        raise where.error(f"expected a key such as 'impurity.ISO', got {key!r}")
    parts = key.split(".")
    if parts[0] == "product" and len(parts) >= 3 and parts[1] in ("impurity", "conc"):
        parts = parts[1:]
    if key in ("product.purity_mol_percent", "product.yield"):
        needs_product, column = True, key
    elif key == "product.conc":
        needs_product, column = True, f"product.conc.{product_species}"
    elif len(parts) == 2 and parts[0] in ("impurity", "conc"):
        sp = parts[1]
        if sp not in species:
            raise where.error(f"unknown species {sp!r} (species: {', '.join(species)})")
        if parts[0] == "impurity" and sp == product_species:
            raise where.error(f"{sp!r} is the product; its impurity level has no meaning "
                              "(use product.purity_mol_percent)")
        needs_product, column = parts[0] == "impurity", f"product.{parts[0]}.{sp}"
    else:
        raise where.error(f"unknown specification {key!r} (known: {known})")
    if needs_product and product_species is None:
        raise where.error(f"{key!r} needs the route's product (the route names no 'product')")
    return column


def parse_tracking_spec(spec, species, product_species=None, where=None):
    """The :class:`SpecEntry` list of a scenario's ``spec:`` mapping.

    Parameters
    ----------
    spec : dict or None
        Key -> condition (string or list of strings), as in DESIGN.md.
    species : sequence of str
        The mechanism's species.
    product_species : str or None
        The route's product species (None: no product).
    where : Location, optional
        Location of the ``spec`` entry (default ``<python>: spec``).

    Raises
    ------
    InputError
        Naming the entry: unknown key or species, unreadable condition, a
        unit of the wrong kind, an empty band.
    """
    where = Location("<python>", "spec") if where is None else where
    if spec is None:
        return []
    if isinstance(spec, (list, tuple)) and all(isinstance(e, SpecEntry) for e in spec):
        return list(spec)
    if not isinstance(spec, dict):
        raise where.error("expected a mapping such as {product.purity_mol_percent: '>= 70'}")
    species = list(species)
    entries = []
    for key, condition in spec.items():
        loc = where.key(key)
        column = _column_of(key, species, product_species, loc)
        cons = parse_condition(column, condition, [column], loc)
        text = f"{key} {condition}" if isinstance(condition, str) else \
            f"{key} " + " and ".join(str(c) for c in condition)
        entries.append(SpecEntry(str(key), column, tuple(cons), text))
    return entries


# --------------------------------------------------------------------------- criteria

def _feeds_upstream(result, stream):
    route = getattr(result, "route", None)
    if route is not None:
        up = route.upstream(stream)
        return [f for f in route.feeds if f in up]
    return list((result.product or {}).get("feeds", []))


def _stoichiometric_factor(result):
    product = result.product or {}
    if product.get("stoichiometric_factor") is not None:
        return float(product["stoichiometric_factor"])
    route = getattr(result, "route", None)
    if route is not None and (route.product or {}).get("stoichiometric_factor") is not None:
        return float(route.product["stoichiometric_factor"])
    if route is not None:
        from .kpis import product_factor

        return float(product_factor(route, dict(product, **{"from": _product_stream(product)})))
    return 1.0


def product_molar_mass(result):
    """Molar mass of the product species (kg/mol), NaN when unknown."""
    product = result.product or {}
    if product.get("molar_mass_kg_per_mol") is not None:
        return float(product["molar_mass_kg_per_mol"])
    route = getattr(result, "route", None)
    if route is not None and product.get("species") in route.mechanism.species_names:
        return float(route.mechanism.molar_masses[route.mechanism.species_names.index(
            product["species"])])
    return math.nan


def criterion_values(result, column):
    """Values per output time of a spec column on the product stream (NaN
    where undefined, e.g. purity of pure solvent or impurity without product)."""
    product = result.product or {}
    trace = result.streams[_product_stream(product)]
    conc = np.asarray(trace.conc_mol_per_m3, dtype=float)
    names = list(result.species)
    with np.errstate(divide="ignore", invalid="ignore"):
        if column == "product.purity_mol_percent":
            total = conc.sum(axis=1)
            return np.where(total > 0, 100.0 * conc[:, names.index(product["species"])] / total,
                            np.nan)
        kind, _, sp = column.partition(".")[2].partition(".")
        if column.startswith("product.conc."):
            return conc[:, names.index(sp)].copy()
        if column.startswith("product.impurity."):
            cp = conc[:, names.index(product["species"])]
            return np.where(cp > 0, 100.0 * conc[:, names.index(sp)] / cp, np.nan)
        if column == "product.yield":
            ip, ib = names.index(product["species"]), names.index(product["basis"])
            flow = np.asarray(trace.flow_m3_per_s, dtype=float)
            fed_p = np.zeros_like(flow)
            fed_b = np.zeros_like(flow)
            for f in _feeds_upstream(result, _product_stream(product)):
                ft = result.streams[f]
                q = np.asarray(ft.flow_m3_per_s, dtype=float)
                c = np.asarray(ft.conc_mol_per_m3, dtype=float)
                fed_p += q * c[:, ip]
                fed_b += q * c[:, ib]
            made = (flow * conc[:, ip] - fed_p) * _stoichiometric_factor(result)
            return np.where(fed_b > 0, made / fed_b, np.nan)
    raise KeyError(column)


# --------------------------------------------------------------------------- crossings

def _crossing(t0, t1, s0, s1):
    """Time where the line through (t0, s0), (t1, s1) is zero."""
    if t1 <= t0 or s0 == s1:
        return t0
    return t0 + (t1 - t0) * s0 / (s0 - s1)


def out_of_spec_intervals(time, slacks):
    """Intervals ``[start, end]`` (end None: still out at the last time) in
    which some slack is negative (or NaN), edges at the interpolated crossing.

    Parameters
    ----------
    time : (n_t,) array
        Non-decreasing output times (a repeated time is a jump).
    slacks : list of (n_t,) arrays
        Signed distance to each bound, >= 0 where it holds.

    Notes
    -----
    Leaving the spec between t_i (in) and t_i+1 (out) happens at the earliest
    crossing of the slacks that change sign there; coming back at the latest
    crossing of those that change sign back. Where a slack is NaN (undefined)
    at one end of the step the whole step counts as out.
    Two out-of-spec ends with a short in-spec stretch between them under
    linear interpolation (different constraints failing at each end) count
    as out (conservative).
    """
    t = np.asarray(time, dtype=float)
    S = np.vstack([np.asarray(s, dtype=float) for s in slacks]) if slacks else np.zeros((0, t.size))
    ok = np.all(S >= 0.0, axis=0) if S.shape[0] else np.ones(t.size, dtype=bool)
    windows = []
    start = None if ok[0] else float(t[0])
    for i in np.flatnonzero(ok[1:] != ok[:-1]):
        s0, s1 = S[:, i], S[:, i + 1]
        if ok[i]:       # leaving
            edges = [_crossing(t[i], t[i + 1], a, b) if np.isfinite(b) else t[i]
                     for a, b in zip(s0, s1) if not b >= 0.0]
            start = float(min(edges))
        else:           # coming back
            edges = [_crossing(t[i], t[i + 1], a, b) if np.isfinite(a) else t[i + 1]
                     for a, b in zip(s0, s1) if not a >= 0.0]
            windows.append([start, float(max(edges))])
            start = None
    if start is not None:
        windows.append([start, None])
    return windows


def widen_and_merge(windows, margin, t_start, t_end):
    """Windows widened by ``margin`` on both sides, clipped to the run and
    merged where they overlap or touch; an open end (None) stays open."""
    out = []
    for a, b in windows:
        a = max(t_start, a - margin)
        b = None if b is None else (b + margin if b + margin < t_end else None)
        if out and (out[-1][1] is None or a <= out[-1][1]):
            prev = out[-1]
            prev[1] = None if (prev[1] is None or b is None) else max(prev[1], b)
        else:
            out.append([a, b])
    return out


def first_crossing(time, values, level, after=None):
    """First time (>= ``after``) at which ``values`` reaches ``level`` from
    below, linearly interpolated between output times; None if never."""
    t = np.asarray(time, dtype=float)
    v = np.asarray(values, dtype=float)
    i0 = 0 if after is None else int(np.searchsorted(t, after, side="left"))
    if i0 >= t.size:
        return None
    if after is not None and i0 > 0 and t[i0] > after:
        # value at `after` itself, interpolated on its step
        va = v[i0 - 1] + (v[i0] - v[i0 - 1]) * (after - t[i0 - 1]) / (t[i0] - t[i0 - 1])
        if va >= level:
            return float(after)
    if v[i0] >= level:
        return float(t[i0])
    hit = np.flatnonzero(v[i0 + 1:] >= level)
    if hit.size == 0:
        return None
    j = i0 + 1 + int(hit[0])
    return float(_crossing(t[j - 1], t[j], v[j - 1] - level, v[j] - level))


# --------------------------------------------------------------------------- integrals

class _PiecewiseLinear:
    """Exact integrals of the piecewise-linear interpolant of y(t)."""

    def __init__(self, t, y):
        self.t = np.asarray(t, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.C = np.concatenate([[0.0], np.cumsum(0.5 * (self.y[1:] + self.y[:-1])
                                                  * np.diff(self.t))])

    def cumulative(self, x):
        t, y = self.t, self.y
        x = min(max(float(x), t[0]), t[-1])
        j = int(np.searchsorted(t, x, side="right")) - 1
        if j >= t.size - 1:
            return float(self.C[-1])
        h = t[j + 1] - t[j]
        d = x - t[j]
        return float(self.C[j] + d * (y[j] + 0.5 * (y[j + 1] - y[j]) * d / h))

    def integral(self, a, b):
        return self.cumulative(b) - self.cumulative(a)

    def collected(self, a, b, windows):
        """Integral over [a, b] outside the diversion ``windows``."""
        total = self.integral(a, b)
        for wa, wb in windows:
            wb = self.t[-1] if wb is None else wb
            lo, hi = max(a, wa), min(b, wb)
            if hi > lo:
                total -= self.integral(lo, hi)
        return total


def _product_flows(result):
    """(volume flow m^3/s, product mass flow kg/s, product molar flow mol/s) per time."""
    product = result.product or {}
    trace = result.streams[_product_stream(product)]
    flow = np.asarray(trace.flow_m3_per_s, dtype=float)
    ip = list(result.species).index(product["species"])
    mol = flow * np.asarray(trace.conc_mol_per_m3, dtype=float)[:, ip]
    return flow, mol * product_molar_mass(result), mol


def lot_fraction(result, feed, lot, stream=None):
    """Fraction of the ``feed`` material in ``stream`` (default the product)
    that comes from ``lot``: tracer ``lot:FEED:LOT`` / tracer ``feed:FEED``
    (0 where none of that feed is there)."""
    stream = stream or _product_stream(result.product)
    tracers = result.streams[stream].tracers
    lot_tr = np.asarray(tracers[f"lot:{feed}:{lot}"], dtype=float)
    feed_tr = np.asarray(tracers[f"feed:{feed}"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(feed_tr > 1e-300, lot_tr / feed_tr, 0.0)


# --------------------------------------------------------------------------- batches

def parse_batch(batch, where=None):
    """``(key, SI value)`` of a ``batch:`` entry: ``("run_time", s)`` or
    ``("amount", kg of product)``; InputError at ``where`` otherwise."""
    where = Location("<python>", "batch") if where is None else where
    if not isinstance(batch, dict) or len(batch) != 1 or \
            next(iter(batch)) not in ("run_time", "amount"):
        raise where.error("expected {run_time: DURATION} or {amount: MASS of product}")
    key, value = next(iter(batch.items()))
    if key == "run_time":
        return key, parse_quantity(value, "time", None, where.key(key), positive=True)
    return key, parse_quantity(value, "mass", None, where.key(key), positive=True)


def _batches(result, t, windows, batch, where):
    key, size = parse_batch(batch, where)
    flow, mass, _ = _product_flows(result)
    t_start, t_end = float(t[0]), float(t[-1])
    # production starts where the first diversion window (if it opens the run) ends
    first = t_start
    if windows and windows[0][0] <= t_start:
        first = t_end if windows[0][1] is None else windows[0][1]
    if first >= t_end:
        return []
    Vq = _PiecewiseLinear(t, flow)
    Mq = _PiecewiseLinear(t, mass)
    if key == "amount" and not np.all(np.isfinite(mass)):
        raise where.key("amount").error("a batch by amount needs the product's molar mass")
    cuts = [first]
    if key == "run_time":
        while cuts[-1] + size < t_end * (1 - 1e-12):
            cuts.append(cuts[-1] + size)
    else:
        from scipy.optimize import brentq

        total = Mq.collected(first, t_end, windows)
        k = 1
        while k * size < total * (1 - 1e-12):
            target = k * size
            cuts.append(brentq(lambda x: Mq.collected(first, x, windows) - target,
                               cuts[-1], t_end, xtol=1e-12 * max(t_end, 1.0)))
            k += 1
    cuts.append(t_end)
    feeds, lots_of = _feed_lots(result)
    stream = _product_stream(result.product)
    tracers = result.streams[stream].tracers
    feed_flow = {f: _PiecewiseLinear(t, flow * np.asarray(tracers[f"feed:{f}"], dtype=float))
                 for f in feeds}
    lot_flow = {(f, lot): _PiecewiseLinear(t, flow * np.asarray(tracers[f"lot:{f}:{lot}"],
                                                                 dtype=float))
                for f in feeds for lot in lots_of[f] if f"lot:{f}:{lot}" in tracers}
    out = []
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        entry = {"batch": k + 1, "start_s": float(a), "end_s": float(b),
                 "complete": bool(k < len(cuts) - 2),
                 "volume_m3": Vq.collected(a, b, windows),
                 "product_kg": Mq.collected(a, b, windows) if np.all(np.isfinite(mass)) else None,
                 "feeds": {}}
        for f in feeds:
            v_feed = feed_flow[f].collected(a, b, windows)
            fractions = {}
            named = 0.0
            for lot in lots_of[f]:
                if (f, lot) in lot_flow:
                    frac = lot_flow[(f, lot)].collected(a, b, windows) / v_feed if v_feed > 0 else 0.0
                    named += frac
                    fractions[lot] = frac
            if lots_of[f] and INITIAL_LOT not in lots_of[f]:
                rest = max(0.0, 1.0 - named) if v_feed > 0 else 0.0
                fractions = {INITIAL_LOT: rest, **fractions}
            elif not lots_of[f]:
                fractions = {INITIAL_LOT: 1.0 if v_feed > 0 else 0.0}
            entry["feeds"][f] = {"volume_m3": v_feed,
                                 "lots": {lot: float(x) for lot, x in fractions.items()
                                          if x > 1e-12}}
        out.append(entry)
    if key == "amount" and out:
        out[-1]["complete"] = bool(out[-1]["product_kg"] >= size * (1 - 1e-9))
    return out


def _feed_lots(result):
    """Feeds with a ``feed:NAME`` tracer at the product, and their tracked lots in order."""
    tracers = result.streams[_product_stream(result.product)].tracers
    feeds = [name[5:] for name in tracers if name.startswith("feed:")]
    lots_of = {f: [] for f in feeds}
    for entry in getattr(result, "lots", None) or []:
        f, lot = entry["feed"], str(entry["lot"])
        if f in lots_of and lot not in lots_of[f]:
            lots_of[f].append(lot)
    return feeds, lots_of


# --------------------------------------------------------------------------- main entry

def evaluate_tracking(result, spec, divert_margin_s=0.0, batch=None, where=None):
    """Specification, diversion, start-up, lot funnel and batches of a dynamic run.

    Parameters
    ----------
    result : DynamicResult
        The run (or an object with its attributes).
    spec : dict, list of SpecEntry or None
        The scenario's ``spec:`` (see the module docstring).
    divert_margin_s : float
        Widening of every diversion window on both sides (s), >= 0.
    batch : dict or None
        ``{run_time: "24 h"}`` or ``{amount: "1 kg"}`` (of product): batches
        of consecutive collected (not diverted) product, counted from the end
        of the start-up diversion.
    where : Location, optional
        Location of the scenario (for error messages); ``spec`` and ``batch``
        entries are named under it.

    Returns
    -------
    dict
        ``product`` {stream, in_spec, diverted (bool arrays per output
        time, before and after the margin)}; ``in_spec`` (the same array); ``criteria`` {key: {column, text, values, in_spec}};
        ``out_of_spec`` (intervals before the margin, [start_s, end_s]);
        ``diversion`` [{start_s, end_s (None if open at the end), volume_m3,
        product_kg, product_mol}]; ``startup`` {first_in_spec_s,
        first_collected_s, product_before_kg, volume_before_m3};
        ``lots`` {"FEED:LOT": {t01_s, t50_s, t99_s, time_s}};
        ``batches`` (with ``batch``) [{batch, start_s, end_s, complete,
        volume_m3, product_kg, feeds {FEED: {volume_m3, lots {LOT: fraction}}}}].
    """
    where = Location("<python>", "") if where is None else where
    product = result.product
    species = list(result.species)
    entries = parse_tracking_spec(spec, species,
                                  None if product is None else product.get("species"),
                                  where.key("spec"))
    if divert_margin_s is None:
        divert_margin_s = 0.0
    if not (isinstance(divert_margin_s, (int, float)) and math.isfinite(divert_margin_s)
            and divert_margin_s >= 0):
        raise where.key("divert").key("margin").error(
            f"expected a time >= 0, got {divert_margin_s!r}")
    t = np.asarray(result.time_s, dtype=float)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) < 0):
        raise where.error("the run's output times must be a non-decreasing array of >= 2 times")
    t_start, t_end = float(t[0]), float(t[-1])

    criteria, slacks = {}, []
    for entry in entries:
        values = criterion_values(result, entry.column)
        for con in entry.constraints:
            slacks.append(con.slack(values))
        criteria[entry.key] = {"column": entry.column, "text": entry.text, "values": values,
                               "in_spec": entry.holds(values),
                               "bounds": [(("<=" if c.upper else ">="), c.bound)
                                          for c in entry.constraints]}
    in_spec = np.ones(t.size, dtype=bool)
    for c in criteria.values():
        in_spec &= c["in_spec"]

    out = {"product": {"stream": _product_stream(product), "in_spec": in_spec},
           "in_spec": in_spec, "criteria": criteria, "out_of_spec": [], "diversion": [],
           "startup": None, "lots": {}, "margin_s": float(divert_margin_s)}

    if product is not None:
        raw = out_of_spec_intervals(t, slacks)
        windows = widen_and_merge(raw, float(divert_margin_s), t_start, t_end)
        flow, mass, mol = _product_flows(result)
        Vq, Mq, Nq = (_PiecewiseLinear(t, y) for y in (flow, mass, mol))
        known_mass = bool(np.all(np.isfinite(mass)))
        out["out_of_spec"] = [{"start_s": a, "end_s": b} for a, b in raw]
        diverted = np.zeros(t.size, dtype=bool)
        for a, b in windows:
            diverted |= (t >= a) & (t <= (t_end if b is None else b))
        out["product"]["diverted"] = diverted
        for a, b in windows:
            e = t_end if b is None else b
            out["diversion"].append({"start_s": a, "end_s": b, "volume_m3": Vq.integral(a, e),
                                     "product_kg": Mq.integral(a, e) if known_mass else None,
                                     "product_mol": Nq.integral(a, e)})
        # start-up: product first meets the spec (before the margin), and is first collected
        if raw and raw[0][0] <= t_start:
            first = raw[0][1]
            collected = windows[0][1]
        else:
            first = collected = t_start
        stop = t_end if first is None else first
        out["startup"] = {"first_in_spec_s": first, "first_collected_s": collected,
                          "product_before_kg": Mq.integral(t_start, stop) if known_mass else None,
                          "product_before_mol": Nq.integral(t_start, stop),
                          "volume_before_m3": Vq.integral(t_start, stop)}
        for entry in getattr(result, "lots", None) or []:
            if float(entry["time_s"]) <= t_start:
                continue            # a feed's first lot: nothing to track
            frac = lot_fraction(result, entry["feed"], entry["lot"])
            item = {"time_s": float(entry["time_s"])}
            for name, level in _LEVELS:
                item[name] = first_crossing(t, frac, level, after=float(entry["time_s"]))
            out["lots"][f"{entry['feed']}:{entry['lot']}"] = item
        if batch is not None:
            out["batches"] = _batches(result, t, windows, batch, where.key("batch"))
            out["batch"] = dict(batch)
    return out


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def tracking_to_dict(tracking):
    """The JSON keys of DESIGN.md's scenario result from :func:`evaluate_tracking`:
    ``product`` {stream, in_spec}, ``diversion``, ``startup``, ``lots``, plus
    ``out_of_spec``, ``criteria`` (values per time), ``margin_s`` and
    ``batches`` when defined. Arrays become lists; NaN criteria become None."""
    d = {"product": _plain(tracking["product"]), "diversion": _plain(tracking["diversion"]),
         "startup": _plain(tracking["startup"]), "lots": _plain(tracking["lots"]),
         "out_of_spec": _plain(tracking["out_of_spec"]), "margin_s": tracking["margin_s"]}
    d["criteria"] = {k: {"column": c["column"], "text": c["text"],
                         "values": [None if not np.isfinite(v) else float(v) for v in c["values"]],
                         "in_spec": _plain(c["in_spec"])}
                     for k, c in tracking["criteria"].items()}
    if "batches" in tracking:
        d["batch"] = _plain(tracking["batch"])
        d["batches"] = _plain(tracking["batches"])
    return d
