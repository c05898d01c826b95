"""The residence time distribution of a route, from the unit RTDs of
:mod:`flowchem.rtd` and from a dynamic run, and their comparison.

The product stream's RTD for fluid that entered at one feed is the
flow-weighted sum, over the paths feed -> product, of the convolution of the
RTDs of the holdups on each path (recycle-free routes; mixers, splitters,
heat exchangers and separators are instantaneous):

=====================  ====================================  =================================
operation              ``model="ideal"``                     ``model="cells"`` (the dynamic model)
=====================  ====================================  =================================
plug-flow tube         :class:`PlugFlowRTD` (tau = V/Q)      :class:`TanksInSeriesRTD` (N cells)
dispersion tube        :class:`DispersionRTD` (closed, Pe)   same
laminar tube           :class:`LaminarRTD`                   same (refused by the dynamic model)
CSTR / cascade of n    :class:`CSTR_RTD` / n tanks           same
quench hold (time)     :class:`PlugFlowRTD` (time)           :class:`TanksInSeriesRTD` (N_q cells)
=====================  ====================================  =================================

A path's weight is the product of the flow fractions of its inlet at every
mixing point (a mixer, a quench, a multi-inlet separator): the fraction of
the product stream's fluid that came from the feed along that path, as the
``feed:NAME`` tracer of the dynamic model carries it. Splitters and
separators do not change the fraction. The convolution is numerical, on a
uniform grid, by :func:`flowchem.rtd.series` (exact probability mass per
cell, FFT convolution; plug-flow delays exact).

The simulated side: a raw-material lot change on the feed at t = 0 of a run
started from the steady state marks the fluid entering after 0; the ratio of
its tracer to the feed's tracer at the product is the route's normalised
F-curve (:func:`route_rtd_from_dynamic`). The ``"cells"`` model is the
dynamic model's ``upwind`` scheme (plug-flow tubes as N tanks), and
:func:`route_rtd_from_dynamic` runs that scheme so the two sides describe
the same equations; the dynamic model's default ``collocation`` scheme has a
sharper (and not monotone) response, closer to the ``"ideal"`` column.
"""

from __future__ import annotations

import numpy as np

from .. import rtd as _rtd
from ..core.errors import InputError, Location

__all__ = ["RouteRTD", "unit_rtd", "route_rtd", "compare_rtd", "route_rtd_from_dynamic"]

INSTANTANEOUS = ("mixer", "splitter", "heat_exchanger", "separator")
DEFAULT_CELLS = 200
DEFAULT_QUENCH_CELLS = 50


def _kind(op):
    return getattr(op, "kind", type(op).__name__.lower())


def _cells_for(cells, name):
    if isinstance(cells, dict):
        return int(cells.get(name, cells.get("default", DEFAULT_CELLS)))
    return int(cells)


def unit_rtd(op, flow, *, model="cells", cells=DEFAULT_CELLS, quench_cells=DEFAULT_QUENCH_CELLS):
    """The RTD of one operation at inlet flow ``flow`` (m^3/s); None for an
    instantaneous operation (mixer, splitter, heat exchanger, separator).

    ``cells`` is the number of finite-volume cells of a plug-flow tube in
    the ``"cells"`` model: an int, or a mapping operation name -> int (with
    an optional ``"default"``).
    """
    if model not in ("cells", "ideal"):
        raise Location("<python>", "model").error(f"expected 'cells' or 'ideal', got {model!r}")
    kind = _kind(op)
    name = getattr(op, "name", kind)
    if kind in INSTANTANEOUS:
        return None
    if kind == "quench":
        if model == "ideal":
            return _rtd.PlugFlowRTD(op.time)
        return _rtd.TanksInSeriesRTD(int(quench_cells), op.time)
    if not flow > 0:
        raise InputError(f"no flow through {name!r}: its residence time is undefined",
                         "<python>", name)
    tau = op.volume / flow
    if kind == "cstr_cascade" or kind == "cstr":
        n = int(getattr(op, "n", 1))
        return _rtd.CSTR_RTD(tau) if n == 1 else _rtd.TanksInSeriesRTD(n, tau)
    if kind == "pfr":
        if hasattr(op, "dispersion"):
            from types import SimpleNamespace

            # dispersion() reads only its feed's flow
            Pe = op.dispersion(SimpleNamespace(flow=flow))[0]
            return _rtd.DispersionRTD(tau, Pe, boundary="closed")
        if type(op).__name__ == "LaminarPFR":
            return _rtd.LaminarRTD(tau)
        if model == "ideal":
            return _rtd.PlugFlowRTD(tau)
        return _rtd.TanksInSeriesRTD(_cells_for(cells, name), tau)
    raise InputError(f"no residence time model for operation type {kind!r}", "<python>", name)


class RouteRTD:
    """The RTD of a route's stream for the fluid of one feed.

    Attributes
    ----------
    feed, stream : str
    paths : list of dict
        ``{weight, operations, rtd}`` for every path feed -> stream; ``rtd``
        is the path's convolved RTD (a :class:`flowchem.rtd.RTD`).
    fraction : float
        Sum of the path weights: the steady fraction of the stream's fluid
        that came from the feed (the long-time value of the ``feed:NAME``
        tracer).
    """

    def __init__(self, feed, stream, paths):
        self.feed = feed
        self.stream = stream
        self.paths = paths
        self.fraction = float(sum(p["weight"] for p in paths))

    def F(self, t):
        """Normalised cumulative distribution (0 -> 1) at times ``t`` (s)."""
        t = np.asarray(t, dtype=float)
        return sum(p["weight"] * np.asarray(p["rtd"].F(t), dtype=float)
                   for p in self.paths) / self.fraction

    def E(self, t):
        """Normalised density (1/s) at times ``t``; plug-flow atoms are not in E."""
        t = np.asarray(t, dtype=float)
        return sum(p["weight"] * np.asarray(p["rtd"].E(t), dtype=float)
                   for p in self.paths) / self.fraction

    def tracer(self, t):
        """The ``feed:NAME`` tracer at the stream after a step of the feed's
        tracer from 0 to 1 at t = 0: ``fraction * F(t)``."""
        return self.fraction * self.F(t)

    @property
    def mean(self):
        """Mean residence time (s) of the feed's fluid in the stream."""
        return sum(p["weight"] * p["rtd"].mean for p in self.paths) / self.fraction

    def quantile(self, p):
        """Time (s) at which F reaches ``p``."""
        from scipy.optimize import brentq

        hi = max(self.mean, 1e-9)
        while float(self.F(hi)) < p:
            hi *= 2.0
        return brentq(lambda x: float(self.F(x)) - p, 0.0, hi, xtol=1e-12 * hi)

    def __repr__(self):
        return (f"RouteRTD(feed={self.feed!r}, stream={self.stream!r}, paths={len(self.paths)}, "
                f"fraction={self.fraction:.6g}, mean={self.mean:.6g} s)")


def _stream_flows(route, result):
    if result is None:
        result = route.run()
    return {name: s.flow for name, s in result.streams.items()}


def route_rtd(route, feed, stream=None, *, result=None, model="cells", cells=DEFAULT_CELLS,
              quench_cells=DEFAULT_QUENCH_CELLS, points_per_width=200, tail_mass=1e-9):
    """The RTD of ``stream`` (default: the product stream) for fluid entering at ``feed``.

    Parameters
    ----------
    route : Route
    feed : str
        A feed of the route.
    stream : str, optional
        A stream of the route (an operation, ``OP.OUTLET``); default the
        product's stream.
    result : RouteResult, optional
        A steady run of the route for the flows (run when not given).
    model : {"cells", "ideal"}
        Plug-flow tubes and quench holds as the dynamic model's chains of
        cells, or as ideal plug flow (see the module docstring).
    cells, quench_cells : int or mapping
        Cells of a plug-flow tube (per operation with a mapping) and of a
        quench hold.
    points_per_width, tail_mass : float
        Grid of the numerical convolution (:func:`flowchem.rtd.series`):
        spacing = the narrowest unit's standard deviation / points_per_width,
        end where each unit has less than ``tail_mass`` left.

    Returns
    -------
    RouteRTD
    """
    where = Location(getattr(route, "source", "<python>"))
    if feed not in route.feeds:
        raise where.error(f"unknown feed {feed!r} (feeds: {', '.join(route.feeds)})")
    if stream is None:
        if route.product is None:
            raise where.error("the route names no product: give the stream")
        stream = route.product["from"]
    if stream not in route.producer:
        raise where.error(f"unknown stream {stream!r}")
    flows = _stream_flows(route, result)

    def paths_to(s):
        node = route.producer[s]
        if node in route.feeds:
            return [(1.0, [], [])] if node == feed else []
        inlets = route.links[node]
        q = np.array([flows[i] for i in inlets], dtype=float)
        unit = unit_rtd(route.operations[node], float(q.sum()), model=model, cells=cells,
                        quench_cells=quench_cells)
        found = []
        for inlet, qi in zip(inlets, q):
            for w, units, names in paths_to(inlet):
                found.append((w * qi / q.sum(), units + ([unit] if unit is not None else []),
                              names + [node]))
        return found

    paths = []
    for w, units, names in paths_to(stream):
        if w <= 0:
            continue
        if not units:
            conv = _rtd.PlugFlowRTD(1e-300)     # no holdup on the path: immediate
        elif all(isinstance(u, _rtd.PlugFlowRTD) for u in units):
            conv = _rtd.PlugFlowRTD(sum(u.tau for u in units))
        else:
            conv = _rtd.series(*units, analytic=False, points_per_width=points_per_width,
                               tail_mass=tail_mass)
        paths.append({"weight": float(w), "operations": names, "rtd": conv})
    if not paths:
        raise where.error(f"no fluid of feed {feed!r} reaches {stream!r}")
    return RouteRTD(feed, stream, paths)


def compare_rtd(simulated_F, time, convolved_F, mean_s=None):
    """Differences between a simulated and a convolved F-curve.

    Parameters
    ----------
    simulated_F : (n_t,) array
        Normalised F of the dynamic run at ``time``.
    time : (n_t,) array
        Times (s), non-decreasing.
    convolved_F : (n_t,) array, callable or RouteRTD
        The convolved F at ``time`` (or something whose ``F(t)`` or call gives it).
    mean_s : float, optional
        Mean residence time to scale the L1 difference (default: the
        RouteRTD's mean when one is given).

    Returns
    -------
    dict
        ``max_abs`` (max |dF|), ``t_max_abs_s`` (where), ``l1_s`` (integral
        of |dF| dt over the times given, s) and ``l1_rel`` (l1_s / mean_s,
        None without a mean).
    """
    t = np.asarray(time, dtype=float)
    sim = np.asarray(simulated_F, dtype=float)
    if hasattr(convolved_F, "F"):
        if mean_s is None and hasattr(convolved_F, "mean"):
            mean_s = convolved_F.mean
        conv = np.asarray(convolved_F.F(t), dtype=float)
    elif callable(convolved_F):
        conv = np.asarray(convolved_F(t), dtype=float)
    else:
        conv = np.asarray(convolved_F, dtype=float)
    if sim.shape != t.shape or conv.shape != t.shape:
        raise Location("<python>", "compare_rtd").error(
            f"shapes differ: time {t.shape}, simulated {sim.shape}, convolved {conv.shape}")
    diff = np.abs(sim - conv)
    i = int(np.argmax(diff))
    l1 = float(np.sum(0.5 * (diff[1:] + diff[:-1]) * np.diff(t)))
    return {"max_abs": float(diff[i]), "t_max_abs_s": float(t[i]), "l1_s": l1,
            "l1_rel": None if not mean_s else l1 / float(mean_s)}


def route_rtd_from_dynamic(route, feed, *, cells=DEFAULT_CELLS, duration_s=None, n_out=2000,
                           lot="rtd-step", compare=True):
    """The route's F-curve for ``feed`` from a dynamic run, and its
    comparison with the convolution of the unit RTDs.

    The run starts from the steady state; a lot change on ``feed`` one
    output interval after the start (a run from the steady state takes a
    lot given at t = 0 as its initial lot) marks the fluid entering
    afterwards, and its fraction of the feed's fluid at the product stream
    is F of the time since the change. Needs :mod:`flowchem.process.dynamic`.

    Returns
    -------
    dict
        ``time_s`` (time since the change, from 0), ``F_simulated``,
        ``F_convolved`` (the ``"cells"`` model with the same number of
        cells), ``rtd`` (the :class:`RouteRTD`), ``comparison``
        (:func:`compare_rtd`) and ``dynamic`` (the run).
    """
    from .dynamic import simulate_dynamic
    from .material_tracking import lot_fraction

    conv = route_rtd(route, feed, model="cells", cells=cells)
    if duration_s is None:
        duration_s = 1.5 * conv.quantile(1.0 - 1e-6)
    step = duration_s / n_out
    scenario = {"duration": f"{duration_s + step!r} s", "start": "steady-state",
                "events": [{"at": f"{step!r} s", "feed": feed, "lot": lot}],
                "output": {"interval": f"{step!r} s"},
                "discretisation": dict({"scheme": "upwind"},
                                       **({"cells": cells} if isinstance(cells, int)
                                          else dict(cells)))}
    run = simulate_dynamic(route, scenario)
    t = np.asarray(run.time_s, dtype=float)
    frac = lot_fraction(run, feed, lot, stream=conv.stream)
    # from the right limit of the change on (the change's time is listed twice)
    first = int(np.flatnonzero(t <= step * (1 + 1e-12))[-1])
    t, frac = t[first:] - t[first], frac[first:]
    out = {"time_s": t, "F_simulated": frac, "F_convolved": conv.F(t), "rtd": conv, "dynamic": run}
    if compare:
        out["comparison"] = compare_rtd(frac, t, out["F_convolved"], mean_s=conv.mean)
    return out
