"""Figures of a dynamic run (``flowchem dynamic SCENARIO.yaml --out DIR``).

* ``dynamic_product.png``: the product stream against time, one panel for
  the concentrations of chosen species and one per ``spec:`` entry (purity,
  impurities, concentrations, yield), the allowed band shaded green with its
  limits dashed, the diversion windows shaded red, the events as vertical
  lines labelled at the top;
* ``lot_funnel.png``: for each lot change, the fraction of the feed's
  material at the product that comes from the new lot, with the 1/50/99 %
  levels and the times they are reached;
* ``dynamic_temperature.png``: the outlet temperature of the reactors with an
  energy balance (of every stream whose temperature moves when the route is
  not at hand);
* ``route_rtd.png`` (:func:`write_rtd_comparison_figure`): the F-curve of a
  dynamic run against the convolution of the unit RTDs, and their difference.

Drawn on pyplot-free Agg figures (nothing left open, no display needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_dynamic_figures", "write_rtd_comparison_figure", "time_axis", "FIGURE_TITLES"]

FIGURE_TITLES = {
    "dynamic_product": "Product stream against time: specification band, diversion windows, events",
    "lot_funnel": "Lot funnel: fraction of the new lot in the product's feed material",
    "dynamic_temperature": "Reactor outlet temperatures against time",
    "route_rtd": "Route F-curve: dynamic model against the convolution of the unit RTDs",
}

_DPI = 110
_DIVERT = dict(color="#d62728", alpha=0.13, lw=0)
_BAND = dict(color="#2ca02c", alpha=0.10, lw=0)


def time_axis(time_s):
    """``(scale, unit)`` that shows a run's times in s, min or h."""
    span = float(np.max(time_s) - np.min(time_s)) if np.size(time_s) else 0.0
    if span <= 300.0:
        return 1.0, "s"
    if span <= 5 * 3600.0:
        return 1.0 / 60.0, "min"
    return 1.0 / 3600.0, "h"


def _figure(size):
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def _product_stream(result):
    p = result.product or {}
    return p.get("stream") or p.get("from")


def _shade_windows(ax, tracking, scale, t_end):
    for w in tracking.get("diversion") or []:
        end = t_end if w["end_s"] is None else w["end_s"]
        ax.axvspan(w["start_s"] * scale, end * scale, **_DIVERT)


def _event_text(e):
    return (e.get("text") or f"{e.get('feed') or e.get('operation', '')} {e.get('what', '')}").strip()


def _events(ax, result, scale, label=False):
    """Events as dotted vertical lines; with ``label``, their texts above the
    axes, those closer than 3 % of the axis joined in one label."""
    events = sorted(getattr(result, "events", None) or [], key=lambda e: float(e["time_s"]))
    for e in events:
        ax.axvline(float(e["time_s"]) * scale, color="0.35", lw=0.8, ls=":")
    if not label or not events:
        return
    x0, x1 = ax.get_xlim()
    groups = []
    for e in events:
        x = float(e["time_s"]) * scale
        if groups and x - groups[-1][0] < 0.03 * (x1 - x0):
            groups[-1][1].append(_event_text(e))
        else:
            groups.append((x, [_event_text(e)]))
    for x, texts in groups:
        ax.annotate(" / ".join(texts), (x, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2, 2), textcoords="offset points", rotation=45, fontsize=7,
                    ha="left", va="bottom", annotation_clip=False)


def _band(ax, bounds, scale=1.0):
    """Shade the allowed band of ``bounds`` [(op, value)] and dash its limits."""
    lo = max((v for op, v in bounds if op == ">="), default=None)
    hi = min((v for op, v in bounds if op == "<="), default=None)
    y0, y1 = ax.get_ylim()
    for v in (lo, hi):
        if v is not None:
            ax.axhline(v * scale, color="#2ca02c", ls="--", lw=1)
    a = y0 if lo is None else lo * scale
    b = y1 if hi is None else hi * scale
    lo_y, hi_y = min(y0, a), max(y1, b)
    ax.axhspan(a, b, **_BAND)
    ax.set_ylim(lo_y, hi_y)


def _robust_ylim(ax, values, bounds):
    """y range of the 1st-99th percentiles and the limits, padded: a
    start-up spike (0/0 -> huge impurity ratios) does not flatten the rest."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return
    lo, hi = np.percentile(finite, [1.0, 99.0])
    lo, hi = min([lo] + bounds), max([hi] + bounds)
    pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.1
    ax.set_ylim(lo - pad, hi + pad)


# criterion column -> (label, factor to the shown unit, unit)
def _criterion_axis(column, product_species):
    if column == "product.purity_mol_percent":
        return f"purity of {product_species}", 1.0, "mol %"
    if column.startswith("product.impurity."):
        return f"{column.rsplit('.', 1)[1]}", 1.0, f"mol % of {product_species}"
    if column.startswith("product.conc."):
        return f"{column.rsplit('.', 1)[1]}", 1e-3, "mol/L"
    if column == "product.yield":
        return "yield", 100.0, "%"
    return column, 1.0, ""


def _default_species(result, tracking):
    p = result.product or {}
    chosen = []
    if p.get("species"):
        chosen.append(p["species"])
    for sp in p.get("impurities") or []:
        chosen.append(sp)
    for c in (tracking.get("criteria") or {}).values():
        col = c["column"]
        if col.startswith("product.conc.") or col.startswith("product.impurity."):
            chosen.append(col.rsplit(".", 1)[1])
    seen = []
    for sp in chosen:
        if sp in result.species and sp not in seen:
            seen.append(sp)
    return seen


def plot_product_trace(result, tracking, species=None):
    """The product-stream figure (a matplotlib Figure)."""
    t = np.asarray(result.time_s, dtype=float)
    scale, unit = time_axis(t)
    x = t * scale
    stream = _product_stream(result)
    trace = result.streams[stream]
    names = list(result.species)
    species = _default_species(result, tracking) if species is None else list(species)
    criteria = tracking.get("criteria") or {}
    n = 1 + len(criteria)
    fig = _figure((8.0, 1.2 + 2.1 * n))
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    conc = np.asarray(trace.conc_mol_per_m3, dtype=float)
    ax = axes[0]
    for sp in species:
        ax.plot(x, conc[:, names.index(sp)] / 1000.0, lw=1.2, label=sp)
    ax.set_ylabel("concentration [mol/L]")
    if species:
        ax.legend(fontsize=7, loc="best", title=f"product stream {stream}", title_fontsize=7,
                  ncol=min(3, len(species)), framealpha=0.85)
    psp = (result.product or {}).get("species", "product")
    for ax, (key, c) in zip(axes[1:], criteria.items()):
        label, factor, cunit = _criterion_axis(c["column"], psp)
        values = np.asarray(c["values"], dtype=float) * factor
        ax.plot(x, values, lw=1.2, color="#1f77b4")
        _robust_ylim(ax, values, [v * factor for _, v in c["bounds"]])
        _band(ax, c["bounds"], factor)
        ax.set_ylabel(f"{label} [{cunit}]" if cunit else label, fontsize=8)
        ax.set_title(f"spec: {c['text']}", fontsize=8, loc="left")
    for i, ax in enumerate(axes):
        ax.set_xlim(x[0], x[-1])
        _shade_windows(ax, tracking, scale, t[-1])
        _events(ax, result, scale, label=(i == 0))
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(f"time [{unit}]")
    return fig


def plot_lot_funnel(result, tracking):
    """The lot-funnel figure, or None without lot changes."""
    from ..process.material_tracking import lot_fraction

    lots = tracking.get("lots") or {}
    if not lots:
        return None
    t = np.asarray(result.time_s, dtype=float)
    scale, unit = time_axis(t)
    fig = _figure((8.0, 4.0))
    ax = fig.add_subplot()
    for level in (0.01, 0.5, 0.99):
        ax.axhline(100 * level, color="0.6", lw=0.8, ls="--")
    for key, item in lots.items():
        feed, lot = key.split(":", 1)
        frac = lot_fraction(result, feed, lot)
        line, = ax.plot(t * scale, 100 * frac, lw=1.4, label=f"{feed}: lot {lot}")
        ax.axvline(item["time_s"] * scale, color=line.get_color(), lw=0.8, ls=":")
        for name, level in (("t01_s", 1), ("t50_s", 50), ("t99_s", 99)):
            tx = item.get(name)
            if tx is not None:
                ax.plot(tx * scale, level, "o", color=line.get_color(), ms=4)
                ax.annotate(f"{level} %: {tx * scale:.4g} {unit}", (tx * scale, level),
                            xytext=(4, -10 if level > 50 else 4), textcoords="offset points",
                            fontsize=7)
    _shade_windows(ax, tracking, scale, t[-1])
    ax.set_xlabel(f"time [{unit}]")
    ax.set_ylabel("new lot in the feed's material at the product [%]")
    ax.set_ylim(-3, 103)
    # zoom on the funnels: from the first change to the last 99 % time, padded
    start = min(item["time_s"] for item in lots.values())
    stop = max((item["t99_s"] if item["t99_s"] is not None else t[-1]) for item in lots.values())
    pad = 0.25 * (stop - start)
    ax.set_xlim(max(t[0], start - pad) * scale, min(t[-1], stop + pad) * scale)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return fig


def _energy_streams(result):
    route = getattr(result, "route", None)
    if route is not None:
        names = []
        for name, op in route.operations.items():
            energy = getattr(op, "energy", None)
            if energy is not None and not getattr(energy, "isothermal", True) and name in result.streams:
                names.append(name)
        return names
    feeds = set(getattr(result, "feeds", None) or [])
    return [n for n, s in result.streams.items() if n not in feeds
            and np.ptp(np.asarray(s.T_K, dtype=float)) > 1e-6]


def plot_temperatures(result, tracking):
    """Outlet temperatures of the reactors with an energy balance, or None."""
    names = _energy_streams(result)
    if not names:
        return None
    t = np.asarray(result.time_s, dtype=float)
    scale, unit = time_axis(t)
    fig = _figure((8.0, 3.4))
    ax = fig.add_subplot()
    for n in names:
        ax.plot(t * scale, np.asarray(result.streams[n].T_K, dtype=float) - 273.15, lw=1.2,
                label=n)
    ax.set_xlim(t[0] * scale, t[-1] * scale)
    _shade_windows(ax, tracking, scale, t[-1])
    _events(ax, result, scale, label=True)
    ax.set_xlabel(f"time [{unit}]")
    ax.set_ylabel("outlet temperature [°C]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return fig


def write_dynamic_figures(result, tracking, out_dir, species=None, dpi=_DPI):
    """Draw the figures of a dynamic run into ``out_dir`` as PNG files.

    Parameters
    ----------
    result : DynamicResult
    tracking : dict
        From :func:`flowchem.process.material_tracking.evaluate_tracking`.
    out_dir : path
        Created when missing.
    species : list of str, optional
        Species on the concentration panel (default: the product, its named
        impurities and the species of the spec).

    Returns
    -------
    dict
        name -> path of the figures written (``dynamic_product``, and
        ``lot_funnel`` / ``dynamic_temperature`` when there is something to show).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    figures = {"dynamic_product": plot_product_trace(result, tracking, species)
               if _product_stream(result) else None,
               "lot_funnel": plot_lot_funnel(result, tracking),
               "dynamic_temperature": plot_temperatures(result, tracking)}
    for name, fig in figures.items():
        if fig is None:
            continue
        paths[name] = out / f"{name}.png"
        fig.savefig(paths[name], dpi=dpi, facecolor="white")
    return paths


def write_rtd_comparison_figure(comparison, path, dpi=_DPI):
    """Draw the output of
    :func:`flowchem.process.route_rtd.route_rtd_from_dynamic` (simulated and
    convolved F against time, and their difference) to ``path`` (PNG)."""
    t = np.asarray(comparison["time_s"], dtype=float)
    sim = np.asarray(comparison["F_simulated"], dtype=float)
    conv = np.asarray(comparison["F_convolved"], dtype=float)
    scale, unit = time_axis(t)
    fig = _figure((8.0, 5.0))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    rtd = comparison.get("rtd")
    label = f" ({rtd.feed} -> {rtd.stream})" if rtd is not None else ""
    top.plot(t * scale, sim, lw=1.6, label="dynamic model" + label)
    top.plot(t * scale, conv, lw=1.0, ls="--", color="k", label="convolution of the unit RTDs")
    top.set_ylabel("F(t)")
    top.legend(fontsize=7, loc="lower right")
    top.grid(alpha=0.3)
    bottom.plot(t * scale, sim - conv, lw=1.0, color="#d62728")
    bottom.set_ylabel("difference")
    bottom.set_xlabel(f"time since the step [{unit}]")
    bottom.grid(alpha=0.3)
    cmp = comparison.get("comparison")
    if cmp:
        bottom.set_title(f"max |dF| = {cmp['max_abs']:.2e}, L1 = {cmp['l1_s']:.3g} s", fontsize=8,
                         loc="left")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="white")
    return path
