"""Figures of optimisation and Monte Carlo studies.

* ``pareto.png`` (``flowchem optimize --pareto A,B --out DIR``): the
  Pareto front of two columns, the sampled feasible cloud in the background,
  the single-objective optimum marked;
* ``probability_of_success.png`` (a sweep with ``uncertainty:`` and
  ``spec:``): the probability that the specification holds over two factors,
  a filled contour from 0 to 1 with the chosen level (default 0.9) drawn in
  black: the design space. Over one factor, a line plot with the level
  marked. A full factorial with more than two factors is shown as the slice
  through the middle level of the others (as the sweep's maps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_pareto", "plot_probability_of_success", "write_optimize_figures"]


def plot_pareto(result, path):
    """Write the Pareto front of an :class:`~flowchem.process.optimize.OptimizationResult`."""
    from .plots import pyplot

    plt = pyplot(headless=True)
    front = result.pareto
    a, b = front.objectives
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    if len(front.cloud):
        ax.plot(front.cloud[:, 0], front.cloud[:, 1], ".", color="0.75", ms=4,
                label=f"feasible sampled points ({len(front.cloud)})")
    F = front.values()
    if len(F):
        ax.plot(F[:, 0], F[:, 1], "o-", color="C0", ms=5, label=f"Pareto front ({len(F)} points)")
    if result.feasible and result.objective in (a, b):
        x = result.kpis.get(a, result.optimum.get(a))
        y = result.kpis.get(b, result.optimum.get(b))
        if x is not None and y is not None:
            ax.plot([x], [y], "*", color="C3", ms=12, label=f"optimum of {result.objective}")
    ax.set_xlabel(f"{a} ({'max' if front.maximize[0] else 'min'})", fontsize=8)
    ax.set_ylabel(f"{b} ({'max' if front.maximize[1] else 'min'})", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def write_optimize_figures(result, out_dir):
    """Figures of an optimisation (``pareto.png`` with a front); paths written."""
    written = []
    if result.pareto is not None:
        written.append(plot_pareto(result, Path(out_dir) / "pareto.png"))
    return written


def plot_probability_of_success(result, path, level=0.9):
    """Write the probability-of-success map of a Monte Carlo
    :class:`~flowchem.process.study.StudyResult` (module docstring)."""
    from .plots import pyplot
    from .study_figures import _factorial_slice, _shown

    plt = pyplot(headless=True)
    p = result.column("probability_of_success")
    factors = result.factors
    spec = "; ".join(str(c) for c in (result.spec or []))
    fig, ax = plt.subplots(figsize=(5.8, 4.4))
    if len(factors) == 1:
        f = factors[0]
        x, label = _shown(f, result.column(f.name))
        order = np.argsort(x, kind="stable")
        ax.plot(x[order], p[order], "o-", ms=3)
        ax.axhline(level, color="k", ls="--", lw=1, label=f"P = {level:g}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("probability of success")
        ax.legend(fontsize=7)
    else:
        fi, fj = factors[0], factors[1]
        levels = np.linspace(0.0, 1.0, 11)
        note = ""
        if getattr(result.study, "shape", None) is not None:
            xi, xj, index, held = _factorial_slice(result, 0, 1)
            oi, oj = np.argsort(xi), np.argsort(xj)
            index = index[np.ix_(oj, oi)]
            X, Y = _shown(fi, xi[oi])[0], _shown(fj, xj[oj])[0]
            Z = np.where(index >= 0, p[np.maximum(index, 0)], np.nan)
            cs = ax.contourf(X, Y, np.ma.masked_invalid(Z), levels=levels, vmin=0, vmax=1,
                             cmap="RdYlGn")
            if np.nanmin(Z) < level < np.nanmax(Z):
                ax.contour(X, Y, np.ma.masked_invalid(Z), levels=[level], colors="k", linewidths=2)
            note = "; ".join(held)
        else:
            x, y = _shown(fi, result.column(fi.name))[0], _shown(fj, result.column(fj.name))[0]
            good = np.isfinite(p)
            cs = ax.tricontourf(x[good], y[good], p[good], levels=levels, vmin=0, vmax=1,
                                cmap="RdYlGn")
            if np.min(p[good]) < level < np.max(p[good]):
                ax.tricontour(x[good], y[good], p[good], levels=[level], colors="k", linewidths=2)
            if len(factors) > 2:
                note = "Latin hypercube: other factors vary (a projection)"
        fig.colorbar(cs, ax=ax, label="probability of success")
        ax.set_xlabel(_shown(fi, [])[1], fontsize=8)
        ax.set_ylabel(_shown(fj, [])[1], fontsize=8)
        if note:
            ax.text(0.01, 0.99, note, transform=ax.transAxes, fontsize=7, va="top")
    ax.set_title(f"P({spec}); black: P = {level:g}" if spec else "probability of success",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
