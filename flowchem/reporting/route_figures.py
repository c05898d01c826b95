"""Route-level figures: the main path of a route, its concentration and
temperature profiles along cumulative residence time, and a block-flow diagram.

Everything here draws with matplotlib only and never needs a display: pass
an ``ax`` to draw into your own figure; without one a figure is made (Agg when
headless, as in :mod:`flowchem.plots`). :func:`flowchem.htmlreport.render_figures`
draws on pyplot-free :class:`matplotlib.figure.Figure` objects, so it is safe
in threads, servers and batch jobs.

Stream names
------------
A stream is named after its source: a feed, an operation (its single outlet),
or ``"OP.OUTLET"`` for one outlet of a multi-outlet operation (for example
``"S1.organic"`` of a separator). An operation result exposes either
``.outlets`` (outlet name -> Stream) or ``.outlet``.
"""

from __future__ import annotations

import numpy as np

from ..core.units import parse_quantity
from ..reactors import FLOW_REACTOR_KINDS
from ..process.flowsheet import stream_name
from .numbers import significant
from .plots import pyplot

__all__ = ["route_path", "route_profile", "plot_route_profile", "plot_route_temperature",
           "plot_block_flow", "block_flow_size"]


# --------------------------------------------------------------------------- graph helpers


def _split_route(route_or_result):
    """(route, result or None) from a Route or a RouteResult."""
    if hasattr(route_or_result, "streams") and hasattr(route_or_result, "route"):
        return route_or_result.route, route_or_result
    return route_or_result, None


def _outlets(op_result):
    """Outlet name -> Stream of an operation result ('' for a single outlet)."""
    outs = getattr(op_result, "outlets", None)
    if isinstance(outs, dict) and outs:
        return dict(outs)
    return {"": op_result.outlet}


def _stream(route, result, name):
    """The Stream called ``name``: from the run if there is one, else a feed."""
    if result is not None:
        if name in result.streams:
            return result.streams[name]
        node, outlet = route.graph.node(name)
        outs = _outlets(result.operations[node])
        if outlet in outs:
            return outs[outlet]
        if outlet is None and len(outs) == 1:
            return next(iter(outs.values()))
        raise KeyError(f"no stream {name!r} in the result")
    if name in route.feeds:
        return route.feeds[name]
    return None


def _op_kind(route, result, name):
    if name in route.feeds:
        return "feed"
    if result is not None and name in result.operations:
        return getattr(result.operations[name], "kind", None) or getattr(
            route.operations[name], "kind", "operation")
    return getattr(route.operations[name], "kind", "operation")


def _is_reactor(route, result, name):
    if name in route.feeds:
        return False
    if result is not None and name in result.operations:
        return hasattr(result.operations[name], "residence_time")
    return _op_kind(route, result, name) in FLOW_REACTOR_KINDS


# --------------------------------------------------------------------------- main path


def _path(route, result=None):
    """The main path as ``[(op, inlet_stream, outlet_stream), ...]`` from the
    feed side to the product stream (see :func:`route_path` for the rule)."""
    names = route.mechanism.species_names
    spec = route.product
    ib = names.index(spec["basis"]) if spec else None
    ip = names.index(spec["species"]) if spec else None

    def feed_basis(stream):
        if ib is None:
            return 0.0
        return float(sum(route.feeds[f].molar_flows[ib] for f in route.graph.upstream_feeds(stream)))

    def flow_of(stream, i):
        s = _stream(route, result, stream)
        return 0.0 if (s is None or i is None) else float(s.molar_flows[i])

    def has_reactor(stream):
        return any(_is_reactor(route, result, n) for n in route.graph.upstream(stream))

    # the end of the path: the product stream, or the last operation's main outlet
    end = spec["from"] if spec else route.order[-1]
    node, outlet = route.graph.node(end)
    if node in route.feeds:
        return []
    if outlet is None and result is not None and node in result.operations:
        outs = _outlets(result.operations[node])
        if len(outs) > 1:   # 'from: S1' on a multi-outlet operation: the outlet with most product
            key = ip if ip is not None else None
            outlet = max(outs, key=lambda k: (float(outs[k].molar_flows[key]) if key is not None
                                              else float(np.sum(outs[k].molar_flows))))
    path = []
    stream = stream_name(node, outlet)
    while node in route.operations:
        inlets = route.links[node]
        # max() keeps the first of equal keys: ties go to file order
        chosen = max(inlets, key=lambda s: (feed_basis(s), flow_of(s, ib), has_reactor(s)))
        path.append((node, chosen, stream))
        stream = chosen
        node, outlet = route.graph.node(chosen)
    path.reverse()
    return path


def route_path(route_or_result):
    """Names of the operations from the feeds to the product, in flow order.

    The path ends at the product stream (``route.product["from"]``), or at the
    last operation in dependency order when the route names no product. It is
    traced upstream; at an operation with several inlets it follows the inlet
    whose upstream feeds supply the most of the product's basis species
    (mol/s), then, on a tie, the inlet that still carries the most basis
    species, then the first inlet with a reactor upstream, then the first
    inlet in file order. Where the path ends on a multi-outlet operation
    named without an outlet, the outlet carrying the most product is taken.

    Accepts a :class:`~flowchem.route.RouteResult` or, using feed
    compositions only, a :class:`~flowchem.route.Route`.
    """
    route, result = _split_route(route_or_result)
    return [op for op, _, _ in _path(route, result)]


# --------------------------------------------------------------------------- profile along the path


def _append_operation(res, s_out, t0, add, markers):
    """Append one operation's points (see route_profile); returns its duration (s)."""
    rt = float(getattr(res, "residence_time", 0.0) or 0.0)
    tau = getattr(res, "tau", None)
    conc = getattr(res, "conc", None)
    tanks = getattr(res, "tanks", None)
    hold = getattr(res, "hold", None)
    if tau is not None and conc is not None and np.ndim(conc) == 2 and len(tau) == len(conc):
        tau = np.asarray(tau, float)
        T_prof = np.asarray(getattr(res, "T_profile", None) if getattr(res, "T_profile", None)
                            is not None else np.full(tau.shape, s_out.T), float)
        n = len(tau)
        for k in range(n):
            t = t0 + tau[k]
            if k == n - 1 and abs(tau[k] - rt) <= 1e-9 * max(rt, 1e-300):
                t = t0 + rt     # end exactly at the residence time
            add(t, conc[k], T_prof[k])
        last_t, last_c = add.last()
        if last_t != t0 + rt or np.any(last_c != s_out.conc):
            add(t0 + rt, s_out.conc, s_out.T)   # e.g. dispersion nodes end short of z = L
        return rt
    if tanks is not None and np.ndim(tanks) == 2:
        n = tanks.shape[0]
        tank_T = getattr(res, "tank_T", None)
        tank_T = np.full(n, s_out.T) if tank_T is None else np.asarray(tank_T, float)
        each = rt / n
        for i in range(n):
            end = t0 + rt if i == n - 1 else t0 + (i + 1) * each
            add(t0 + i * each, tanks[i], tank_T[i])
            add(end, tanks[i], tank_T[i])
            markers.append((end, np.asarray(tanks[i], float), float(tank_T[i])))
        return rt
    if hold is not None and getattr(hold, "inlet", None) is not None:
        # quench: mixing (a jump), then the hold as a tubular reactor
        add(t0, hold.inlet.conc, hold.inlet.T)
        return _append_operation(hold, s_out, t0, add, markers)
    if rt > 0:
        add(t0 + rt, s_out.conc, s_out.T)
        return rt
    add(t0, s_out.conc, s_out.T)
    return 0.0


def route_profile(result):
    """Concentrations and temperature along the main path against cumulative
    residence time.

    Returns a dict: ``t`` (s), ``conc`` (points x species, mol/m^3), ``T``
    (K), ``segments`` (one dict per operation on the path: ``name``,
    ``kind``, ``t_start``, ``t_end`` in s), ``markers`` (``(t, conc_row,
    T)`` at the outlet of each stirred tank) and ``path`` (operation names).

    The profile starts at the feed the path starts from. A tubular reactor
    contributes its profile (shifted by the time already spent); a stirred
    tank or cascade a step per tank of duration residence_time / n (each
    tank is uniform); a quench a jump (mixing) then its hold profile over the
    hold time; an operation with a residence time but no profile a straight
    line from inlet to outlet; an operation without one (mixer, splitter,
    separator, heat exchanger...) a jump at constant time. The last time is
    the sum of the residence times of the reactors on the path plus any
    quench hold times.
    """
    route = result.route
    path = _path(route, result)
    if not path:
        raise ValueError(f"route {route.name!r}: no operation leads to the product")
    s0 = _stream(route, result, path[0][1])
    ts, cs, Ts = [0.0], [np.asarray(s0.conc, float)], [float(s0.T)]
    segments, markers = [], []
    t0 = 0.0

    def add(t, c, T):
        ts.append(float(t))
        cs.append(np.asarray(c, float))
        Ts.append(float(T))

    add.last = lambda: (ts[-1], cs[-1])

    for op, inlet_name, outlet_name in path:
        res = result.operations[op]
        s_in = _stream(route, result, inlet_name)
        s_out = _stream(route, result, outlet_name)
        if np.any(cs[-1] != s_in.conc) or Ts[-1] != s_in.T:
            add(t0, s_in.conc, s_in.T)    # a different inlet than the last outlet (should not happen)
        duration = _append_operation(res, s_out, t0, add, markers)
        segments.append({"name": op, "kind": getattr(res, "kind", "operation"), "t_start": t0,
                         "t_end": t0 + duration, "flow_model": getattr(res, "flow_model", None)})
        t0 = t0 + duration
    return {"t": np.array(ts), "conc": np.vstack(cs), "T": np.array(Ts), "segments": segments,
            "markers": markers, "path": [p[0] for p in path]}


# --------------------------------------------------------------------------- figures


def _new_axes(figsize):
    """A fresh figure and axes through pyplot (Agg when there is no screen)."""
    fig, ax = pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _time_factor(unit):
    return parse_quantity(f"1 {unit}", "time")


def _time_unit(unit, total_s):
    """``unit`` itself, or for ``"auto"`` the unit that keeps the route's total
    residence time between about 1 and 120 on the axis (a gas tube lasts
    milliseconds, a liquid coil minutes, a cascade hours)."""
    if unit != "auto":
        return unit
    for name, size in (("h", 7200.0), ("min", 120.0), ("s", 1.0)):
        if total_s >= size:
            return name
    return "ms"


def _mark_segments(ax, segments, tf):
    """Shade reactors, draw their boundaries, label every operation on the path."""
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    total = segments[-1]["t_end"] / tf if segments else 0.0
    shade = 0
    for seg in segments:
        a, b = seg["t_start"] / tf, seg["t_end"] / tf
        if b > a:
            ax.axvspan(a, b, color=("#4c72b0" if shade % 2 == 0 else "#dd8452"), alpha=0.07, lw=0,
                       gid=f"span:{seg['name']}")
            shade += 1
            for x in (a, b):
                ax.axvline(x, color="0.35", lw=0.8, ls=":", zorder=1)
            ax.text((a + b) / 2, 1.01, seg["name"], transform=trans, ha="center", va="bottom",
                    fontsize=9, fontweight="bold", clip_on=False)
        else:
            ax.axvline(a, color="0.5", lw=0.9, ls="--", zorder=1)
            at_end = total > 0 and a >= 0.97 * total
            ax.text(a, 0.98, f" {seg['name']} ", transform=trans, ha="right" if at_end else "left",
                    va="top", fontsize=8, rotation=90, color="0.3", clip_on=False)


def _path_label(data):
    return " → ".join(data["path"])


def plot_route_profile(result, ax=None, species=None, conc_unit="mol/L", time_unit="auto"):
    """Concentrations along the main path (:func:`route_path`) against
    cumulative residence time (see :func:`route_profile` for how each kind of
    operation contributes). Tubular reactors are curves, tanks are steps with a
    marker at each tank outlet, mixers and other instantaneous operations
    vertical jumps (dilution); reactors are shaded and labelled. Each species
    is one line. ``time_unit="auto"`` picks ms, s, min or h from the total
    residence time. Returns the axes."""
    data = route_profile(result)
    time_unit = _time_unit(time_unit, data["t"][-1])
    if ax is None:
        ax = _new_axes((8.0, 4.6))
    names = list(result.route.mechanism.species_names)
    cf = parse_quantity(f"1 {conc_unit}", "concentration")
    tf = _time_factor(time_unit)
    conc = data["conc"]
    hidden = []
    if species is None:
        idx = [i for i in range(len(names)) if np.any(conc[:, i] != 0.0)]
        spec = result.route.product
        if spec:
            # leave out solvent-like species (water added in a quench...) that
            # would flatten everything else: peak > 10x the basis/product peak
            peak = conc.max(axis=0)
            ref = max(peak[names.index(spec["basis"])], peak[names.index(spec["species"])])
            hidden = [i for i in idx if ref > 0 and peak[i] > 10.0 * ref]
            idx = [i for i in idx if i not in hidden]
    else:
        unknown = [s for s in species if s not in names]
        if unknown:
            raise KeyError(f"unknown species {unknown[0]!r}; known: {', '.join(names)}")
        idx = [names.index(s) for s in species]
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    styles = ("-", "--", ":", "-.")
    t = data["t"] / tf
    _mark_segments(ax, data["segments"], tf)
    for j, i in enumerate(idx):
        color = cmap(j % 10)
        ax.plot(t, conc[:, i] / cf, color=color, ls=styles[(j // 10) % 4], lw=1.6, label=names[i],
                gid=f"species:{names[i]}")
        if data["markers"]:
            mt = [m[0] / tf for m in data["markers"]]
            mc = [m[1][i] / cf for m in data["markers"]]
            ax.plot(mt, mc, ls="none", marker="o", ms=4, color=color, gid=f"tanks:{names[i]}")
    total = data["t"][-1] / tf
    ax.set_xlim(-0.01 * max(total, 1e-12), total * 1.01 if total > 0 else 1.0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"cumulative residence time [{time_unit}]", fontsize=10)
    ax.set_ylabel(f"concentration [{conc_unit}]", fontsize=10)
    ax.set_title(f"{result.route.name}: {_path_label(data)}", fontsize=10, pad=16)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=9)
    if idx:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    if hidden:
        peak = conc.max(axis=0)
        note = "not shown (solvent-like): " + ", ".join(
            f"{names[i]} ≤ {_sig(peak[i] / cf)}" for i in hidden) + f" {conc_unit}"
        ax.text(0.99, 0.97, note, transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
                color="0.3", bbox=dict(fc="white", ec="0.8", alpha=0.9, pad=2))
    return ax


def plot_route_temperature(result, ax=None, time_unit="auto"):
    """Temperature (degC) along the main path, on the axis of
    :func:`plot_route_profile`. Returns the axes."""
    data = route_profile(result)
    time_unit = _time_unit(time_unit, data["t"][-1])
    if ax is None:
        ax = _new_axes((8.0, 3.4))
    tf = _time_factor(time_unit)
    t = data["t"] / tf
    T = data["T"] - 273.15
    _mark_segments(ax, data["segments"], tf)
    ax.plot(t, T, color="#c44e52", lw=1.8, label="T", gid="temperature")
    if data["markers"]:
        ax.plot([m[0] / tf for m in data["markers"]], [m[2] - 273.15 for m in data["markers"]],
                ls="none", marker="o", ms=4, color="#c44e52", gid="tanks:T")
    total = data["t"][-1] / tf
    ax.set_xlim(-0.01 * max(total, 1e-12), total * 1.01 if total > 0 else 1.0)
    span = float(np.ptp(T))
    if span < 1.0:     # isothermal: keep a readable band rather than noise
        mid = 0.5 * (T.max() + T.min())
        ax.set_ylim(mid - 2.5, mid + 2.5)
    ax.set_xlabel(f"cumulative residence time [{time_unit}]", fontsize=10)
    ax.set_ylabel("temperature [°C]", fontsize=10)
    ax.set_title(f"{result.route.name}: temperature, {_path_label(data)}", fontsize=10, pad=16)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=9)
    return ax


# --------------------------------------------------------------------------- block-flow diagram

BOX_W, BOX_H = 1.6, 0.8     # inches (the diagram is drawn 1 data unit = 1 inch)
DX, DY = 2.25, 1.1
EXIT = 0.75
TITLE = 0.45
KIND_COLOURS = {
    "feed": "#dbe9f6", "mixer": "#e6e6e6", "pfr": "#fde0c5", "cstr": "#d5f0d5",
    "cstr_cascade": "#d5f0d5", "splitter": "#e8dcf2", "separator": "#e8dcf2",
    "heat_exchanger": "#f8d3d3", "quench": "#d3eff0",
}
KIND_LABELS = {"pfr": "PFR", "cstr": "CSTR", "cstr_cascade": "CSTR cascade", "mixer": "mixer",
               "splitter": "splitter", "separator": "separator", "heat_exchanger": "heat exchanger",
               "quench": "quench", "feed": "feed"}


def _sig(x, n=3):
    return significant(x, n, trailing_zeros=False)


def _box_text(route, result, name):
    """Type line and detail lines of a box."""
    kind = _op_kind(route, result, name)
    label = KIND_LABELS.get(kind, kind.replace("_", " "))
    lines = []
    if name in route.feeds:
        s = result.streams.get(name, route.feeds[name]) if result is not None else route.feeds[name]
        lines.append(f"{_sig(s.flow * 6e7)} mL/min, {_sig(s.T - 273.15)} °C")
        conc = np.asarray(s.conc)
        if np.any(conc > 0):
            order = np.argsort(-conc)
            main = order[0]
            extra = int(np.sum(conc > 0)) - 1
            lines.append(f"{route.mechanism.species_names[main]} {_sig(conc[main] / 1000)} mol/L"
                         + (f" (+{extra})" if extra else ""))
        return label, lines
    op = route.operations[name]
    res = result.operations.get(name) if result is not None else None
    model = getattr(res, "flow_model", None) or getattr(op, "flow_model", None)
    if kind == "pfr" and model and model != "plug":
        label = f"PFR ({model})"
    n = getattr(res, "n_tanks", None) if res is not None else getattr(op, "n", None)
    if kind == "cstr_cascade" and n:
        label = f"CSTR cascade × {n}"
    volume = getattr(res, "volume", None) if res is not None else getattr(op, "volume", None)
    if res is not None:
        outs = _outlets(res)
        first = next(iter(outs.values()))
        rt = getattr(res, "residence_time", None)
        info = getattr(res, "info", None)
        info = info if isinstance(info, dict) else {}
        parts = []
        if rt is not None:      # a reactor
            if volume is not None:
                parts.append(f"V {_sig(volume * 1e6)} mL")
            parts.append(f"τ {_sig(rt / 60)} min")
        else:
            parts.append(f"{_sig(sum(s.flow for s in outs.values()) * 6e7)} mL/min")
            if info.get("hold_time_s") is not None:
                parts.append(f"hold {_sig(info['hold_time_s'] / 60)} min")
        lines.append(", ".join(parts))
        T_line = f"{_sig(first.T - 273.15)} °C out"
        T_max = getattr(res, "T_max", None)
        if T_max is not None and float(T_max) - first.T > 0.5:
            T_line += f", max {_sig(float(T_max) - 273.15)}"
        lines.append(T_line)
    else:
        if volume is not None:
            lines.append(f"V {_sig(volume * 1e6)} mL")
        T = getattr(op, "T", None)
        if kind in FLOW_REACTOR_KINDS:
            lines.append(f"{_sig(T - 273.15)} °C" if T is not None else "T of inlet")
    return label, lines


def _layout(route, result=None):
    """Columns and rows of every feed and operation (see plot_block_flow)."""
    consumers = route.graph.consumer
    depth = route.graph.depth()
    for f in route.feeds:   # a feed stands just left of the operation it feeds
        if f in consumers:
            depth[f] = depth[consumers[f]] - 1
    nodes = list(route.feeds) + list(route.order)
    index = {n: i for i, n in enumerate(nodes)}
    neighbours = {n: set() for n in nodes}
    for op, inlets in route.links.items():
        for s in inlets:
            p = route.graph.producer[s]
            neighbours[op].add(p)
            neighbours[p].add(op)
    path = _path(route, result)
    main = {op for op, _, _ in path}
    if path:
        main.add(route.graph.node(path[0][1])[0])
    columns = {}
    for n in nodes:
        columns.setdefault(depth[n], []).append(n)
    y = {n: 0.0 for n in main}
    for sweep in range(6):
        keys = sorted(columns, reverse=bool(sweep % 2))
        for c in keys:
            col = columns[c]
            pref = {}
            for n in col:
                if n in main:
                    pref[n] = 0.0
                    continue
                ys = [y[m] for m in neighbours[n] if m in y]
                pref[n] = float(np.mean(ys)) if ys else y.get(n, 0.0)
            ordered = sorted(col, key=lambda n: (-pref[n], n not in main, index[n]))
            slots = [-i * DY for i in range(len(ordered))]
            anchor = [i for i, n in enumerate(ordered) if n in main]
            if anchor:
                shift = -slots[anchor[0]]
            else:
                shift = float(np.mean([pref[n] for n in ordered]) - np.mean(slots))
            for n, s in zip(ordered, slots):
                y[n] = s + shift
    x = {n: depth[n] * DX for n in nodes}
    return x, y, depth


def block_flow_size(route_or_result):
    """(width, height) in inches of the block-flow diagram drawn at 1 unit = 1 inch."""
    route, result = _split_route(route_or_result)
    x, y, _ = _layout(route, result)
    width = (max(x.values()) - min(x.values())) + BOX_W + EXIT + 1.2 + 0.4
    height = (max(y.values()) - min(y.values())) + BOX_H + TITLE + 0.25
    return max(width, 4.0), max(height, 2.0)


def plot_block_flow(route_or_result, ax=None):
    """Block-flow diagram of a route, drawn with matplotlib patches.

    One box per feed and per operation (``FancyBboxPatch`` with gid
    ``"box:NAME"``), laid out left to right by dependency depth: an
    operation sits one column right of its deepest inlet, a feed one column
    left of the operation it feeds. The main path (:func:`route_path`) runs
    along one row; side feeds and branches are stacked above and below it by
    the mean height of their neighbours. Arrows are streams (labelled with the
    outlet name where an operation has several outlets); streams that leave
    the route end in an open arrow, the product stream marked. Each box names
    the feed or operation, its type, and with a result the key numbers
    (flow, volume, residence time, temperatures). Accepts a Route or a
    RouteResult; returns the axes.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    route, result = _split_route(route_or_result)
    x, y, depth = _layout(route, result)
    width, height = block_flow_size(route_or_result)
    if ax is None:
        ax = _new_axes((width, height))
        ax.figure.set_layout_engine("none")
        ax.set_position([0, 0, 1, 1])
    x0 = min(x.values()) - BOX_W / 2 - 0.2
    y_top = max(y.values()) + BOX_H / 2 + TITLE
    ax.set_xlim(x0, x0 + width)
    ax.set_ylim(y_top - height, y_top)
    ax.set_aspect("equal", adjustable="box")
    ax.axis("off")
    ax.text(x0 + 0.1, y_top - 0.12, f"{route.name}: block-flow diagram", ha="left", va="top",
            fontsize=10, fontweight="bold")

    product = route.product["from"] if route.product else None
    for n in list(route.feeds) + list(route.order):
        kind = _op_kind(route, result, n)
        box = FancyBboxPatch((x[n] - BOX_W / 2, y[n] - BOX_H / 2), BOX_W, BOX_H,
                             boxstyle="round,pad=0,rounding_size=0.08",
                             fc=KIND_COLOURS.get(kind, "#eeeeee"), ec="0.25", lw=1.0, zorder=2,
                             gid=f"box:{n}")
        ax.add_patch(box)
        label, lines = _box_text(route, result, n)
        ax.text(x[n], y[n] + BOX_H / 2 - 0.06, n, ha="center", va="top", fontsize=9,
                fontweight="bold", zorder=3, gid=f"name:{n}")
        detail = "\n".join([label] + lines)
        ax.text(x[n], y[n] + BOX_H / 2 - 0.24, detail, ha="center", va="top", fontsize=7,
                linespacing=1.25, zorder=3, color="0.15")

    def arrow(p, q, rad=0.0, style="-|>", ls="-"):
        a = FancyArrowPatch(p, q, arrowstyle=style, mutation_scale=10, lw=1.1, color="0.2",
                            connectionstyle=f"arc3,rad={rad}", linestyle=ls, zorder=1,
                            shrinkA=0, shrinkB=0)
        ax.add_patch(a)
        return a

    multi = {}
    if result is not None:
        multi = {op for op in route.order if len(_outlets(result.operations[op])) > 1}
    for op in route.order:
        inlets = route.links[op]
        for j, s in enumerate(inlets):
            p, outlet = route.graph.node(s)
            start = (x[p] + BOX_W / 2, y[p])
            # spread several inlets over the left edge of the box
            dy = 0.0 if len(inlets) == 1 else (0.5 - j / (len(inlets) - 1)) * BOX_H * 0.5
            end = (x[op] - BOX_W / 2, y[op] + dy)
            span = depth[op] - depth[p]
            arrow(start, end, rad=0.25 if span > 1 else 0.0)
            if outlet or p in multi:
                ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.07, outlet or "",
                        ha="center", va="bottom", fontsize=7, style="italic", zorder=4,
                        bbox=dict(fc="white", ec="none", pad=0.5))
    for s in route.graph.terminal_streams():
        op = route.graph.producer[s]
        outs = route.graph.outlets(op)
        k = outs.index(s)
        dy = 0.0 if len(outs) == 1 else (0.5 - k / (len(outs) - 1)) * BOX_H * 0.6
        start = (x[op] + BOX_W / 2, y[op] + dy)
        end = (start[0] + EXIT, start[1])
        arrow(start, end, style="-|>")
        is_product = product is not None and s in (product, f"{product}")
        label = s.rpartition(".")[2] if "." in s and s.rpartition(".")[0] == op else s
        if is_product:
            label = f"{label}\nproduct {route.product['species']}"
        ax.text(end[0] + 0.05, end[1], label, ha="left", va="center", fontsize=7.5,
                fontweight="bold" if is_product else "normal",
                color="#8c1c13" if is_product else "0.2", zorder=4)
    return ax
