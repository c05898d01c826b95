"""Figures of a design-space study (``flowchem sweep SWEEP.yaml --out DIR``).

* one factor: ``sweep_FACTOR.png``, a line plot of every KPI column;
* two factors or more, full factorial: ``map_F1__F2.png`` for each pair of
  factors, a filled contour map of every KPI column over the pair, the other
  factors held at their middle level (the level ``n // 2`` of each, named in
  the title);
* a Latin hypercube of two factors: ``map_F1__F2.png``, a triangulated
  contour map through the scattered points; of three or more, for each pair
  the points coloured by each KPI (the other factors vary from point to
  point, so a map over the pair would mix them).

With a ``spec:`` the boundary of the in-spec region is drawn as a thick
black line on every map: the zero contour of the smallest scaled slack of
the constraints (interpolated between points); on scatter plots the in-spec
points are circled, on line plots marked. Failed points are holes in the
maps and grey crosses on the scatter.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["write_study_figures"]


# factor kinds shown in laboratory units: kind -> (scale, offset, unit)
_DISPLAY = {
    "temperature": (1.0, -273.15, "degC"),
    "flow": (6e7, 0.0, "mL/min"),
    "volume": (1e6, 0.0, "mL"),
    "concentration": (1e-3, 0.0, "mol/L"),
    "pressure": (1e-5, 0.0, "bar"),
}


def _shown(factor, x):
    """``(values, axis label)`` of a factor in laboratory units."""
    scale, offset, unit = _DISPLAY.get(factor.kind, (1.0, 0.0, factor.unit))
    x = np.asarray(x, dtype=float) * scale + offset
    return x, (f"{factor.name} [{unit}]" if unit else factor.name)


def _kpis(result):
    study = result.study
    return [c for c in study.columns if np.isfinite(result.column(c)).any()]


def _safe(name):
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)


def _grid(n):
    ncols = min(3, n)
    return int(math.ceil(n / ncols)), ncols


def _figure(n_panels):
    from .plots import pyplot

    plt = pyplot(headless=True)
    nrows, ncols = _grid(max(n_panels, 1))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols, 3.5 * nrows), squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat[:n_panels])


_DPI = 90


def _layout(fig):
    # fixed margins: tight_layout measures every tick label and costs more than drawing
    nrows, ncols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    fig.subplots_adjust(left=0.55 / (4.4 * ncols), right=1 - 0.1 / (4.4 * ncols),
                        bottom=0.5 / (3.5 * nrows), top=1 - 0.45 / (3.5 * nrows),
                        wspace=0.55, hspace=0.5)


def _in_spec(result):
    if "in_spec" not in result.table:
        return None
    return np.array([np.nan if v is None else float(v) for v in result.table["in_spec"]])


def _margin(result):
    """The smallest scaled slack of the spec's constraints per point (>= 0
    in spec, NaN where a point failed): its zero contour is the boundary of
    the in-spec region, interpolated between the points."""
    if not result.spec:
        return None
    margins = []
    for con in result.spec:
        values = result.column(con.column)
        scale = abs(con.bound) if con.bound != 0 else max(np.nanmax(np.abs(values)), 1e-300)
        margins.append(con.slack(values) / scale)
    return np.min(np.vstack(margins), axis=0)


def _line_plots(result, out_dir, kpis):
    f = result.factors[0]
    x, xlabel = _shown(f, result.column(f.name))
    order = np.argsort(x, kind="stable")
    spec = _in_spec(result)
    plt, fig, axes = _figure(len(kpis))
    for ax, c in zip(axes, kpis):
        z = result.column(c)
        ax.plot(x[order], z[order], marker="o", ms=3)
        if spec is not None:
            inside = spec[order] == 1.0
            ax.plot(x[order][inside], z[order][inside], "o", ms=5, mfc="none", mec="k",
                    label="in spec")
            for con in result.spec:
                if con.column == c:
                    ax.axhline(con.bound, color="k", ls="--", lw=1)
            ax.legend(fontsize=7)
        ax.set_xlabel(xlabel)
        ax.set_title(c, fontsize=9)
        ax.grid(alpha=0.3)
    _layout(fig)
    path = Path(out_dir) / f"sweep_{_safe(f.name)}.png"
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return [path]


def _factorial_slice(result, i, j):
    """``(xi levels, xj levels, row index grid (nj, ni), held text)`` of the
    pair (i, j) with the other factors at their middle level."""
    factors = result.factors
    X = np.column_stack([result.column(f.name) for f in factors])
    mask = np.ones(X.shape[0], dtype=bool)
    held = []
    for k, f in enumerate(factors):
        if k in (i, j):
            continue
        level = f.values[len(f.values) // 2]
        mask &= X[:, k] == level
        value = _shown(f, [level])[0][0]
        unit = _DISPLAY.get(f.kind, (1.0, 0.0, f.unit))[2]
        held.append(f"{f.name} = {value:.4g} {unit}".strip())
    xi, xj = factors[i].values, factors[j].values
    index = np.full((len(xj), len(xi)), -1, dtype=int)
    for r in np.flatnonzero(mask):
        a = int(np.flatnonzero(xi == X[r, i])[0])
        b = int(np.flatnonzero(xj == X[r, j])[0])
        index[b, a] = r
    return xi, xj, index, held


def _pair_map(result, out_dir, kpis, i, j, factorial):
    fi, fj = result.factors[i], result.factors[j]
    margin = _margin(result)
    plt, fig, axes = _figure(len(kpis))
    if factorial:
        xi, xj, index, held = _factorial_slice(result, i, j)
        order_i, order_j = np.argsort(xi), np.argsort(xj)
        index = index[np.ix_(order_j, order_i)]
        xi, xj = _shown(fi, xi[order_i])[0], _shown(fj, xj[order_j])[0]
        note = ("; ".join(held)) if held else ""
    else:
        x, y = _shown(fi, result.column(fi.name))[0], _shown(fj, result.column(fj.name))[0]
        note = ("Latin hypercube, other factors vary: points" if len(result.factors) > 2
                else "Latin hypercube")
    for ax, c in zip(axes, kpis):
        z = result.column(c)
        if factorial:
            Z = np.where(index >= 0, z[np.maximum(index, 0)], np.nan)
            finite = np.isfinite(Z)
            # a KPI the two factors do not move (up to round-off): say its value
            # rather than contour the round-off
            constant = finite.any() and np.nanmax(Z) - np.nanmin(Z) <= \
                1e-9 * max(np.nanmax(np.abs(Z)), 1e-300)
            if constant:
                ax.text(0.5, 0.5, f"{np.nanmean(Z):.6g} everywhere", ha="center", va="center",
                        transform=ax.transAxes, fontsize=9, zorder=5,
                        bbox={"facecolor": "white", "edgecolor": "none"})
                ax.set_xlim(np.min(xi), np.max(xi))
                ax.set_ylim(np.min(xj), np.max(xj))
            elif finite.any():
                cs = ax.contourf(xi, xj, np.ma.masked_invalid(Z), levels=12)
                fig.colorbar(cs, ax=ax)
            if margin is not None:
                S = np.where(index >= 0, margin[np.maximum(index, 0)], np.nan)
                if np.isfinite(S).any() and np.nanmin(S) < 0.0 < np.nanmax(S):
                    ax.contour(xi, xj, np.ma.masked_invalid(S), levels=[0.0], colors="k",
                               linewidths=2)
                    # the out-of-spec side hatched
                    ax.contourf(xi, xj, np.ma.masked_invalid(S), levels=[np.nanmin(S) - 1.0, 0.0],
                                colors="none", hatches=["//"])
        elif len(result.factors) > 2:
            # other factors vary from point to point: a map would mix them; show the points
            good = np.isfinite(z)
            cs = ax.scatter(x[good], y[good], c=z[good], s=14)
            fig.colorbar(cs, ax=ax)
            ax.plot(x[~good], y[~good], "x", color="0.4", ms=4)
            if margin is not None:
                inside = np.isfinite(margin) & (margin >= 0)
                ax.plot(x[inside], y[inside], "o", ms=6, mfc="none", mec="k", mew=0.8)
        else:
            good = np.isfinite(z)
            if good.sum() >= 3 and np.ptp(z[good]) > 0:
                try:
                    cs = ax.tricontourf(x[good], y[good], z[good], levels=12)
                    fig.colorbar(cs, ax=ax)
                except (ValueError, RuntimeError):   # degenerate triangulation
                    cs = ax.scatter(x[good], y[good], c=z[good], s=12)
                    fig.colorbar(cs, ax=ax)
            ax.plot(x[~good], y[~good], "x", color="0.4", ms=4)
            if margin is not None:
                ok = np.isfinite(margin)
                if ok.sum() >= 3 and np.min(margin[ok]) < 0.0 < np.max(margin[ok]):
                    try:
                        ax.tricontour(x[ok], y[ok], margin[ok], levels=[0.0], colors="k",
                                      linewidths=2)
                    except (ValueError, RuntimeError):
                        pass
        ax.set_xlabel(_shown(fi, [])[1], fontsize=8)
        ax.set_ylabel(_shown(fj, [])[1], fontsize=8)
        ax.set_title(c, fontsize=9)
    title = f"{fj.name} vs {fi.name}"
    if note:
        title += f" ({note})"
    if margin is not None:
        title += ("; black circles: in spec" if not factorial and len(result.factors) > 2
                  else "; black line: spec boundary, hatched: out of spec")
    fig.suptitle(title, fontsize=9)
    _layout(fig)
    path = Path(out_dir) / f"map_{_safe(fi.name)}__{_safe(fj.name)}.png"
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return [path]


def write_study_figures(result, out_dir):
    """Write the figures of a :class:`~flowchem.process.study.StudyResult` to
    ``out_dir``; returns the paths written."""
    out_dir = Path(out_dir)
    kpis = _kpis(result)
    if not kpis:
        return []
    factors = result.factors
    if len(factors) == 1:
        return _line_plots(result, out_dir, kpis)
    factorial = result.study.design == "full-factorial"
    paths = []
    for i in range(len(factors)):
        for j in range(i + 1, len(factors)):
            if factorial and (len(factors[i].values) < 2 or len(factors[j].values) < 2):
                continue
            paths += _pair_map(result, out_dir, kpis, i, j, factorial)
    return paths
