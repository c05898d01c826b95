"""Figures and a self-contained HTML report of kinetic fits (``flowchem fit --out DIR``).

:func:`write_fit_report` draws, for each fitted candidate,

* the data with the fitted curves, one panel per experiment (markers: data;
  lines: the fitted mechanism re-solved on a fine grid of time or residence
  time, so the curve is the model and not a line through its predictions);
* a parity plot (fitted against observed);
* the residuals against time and against the fitted value, with ±2 s;
* the correlation matrix of the estimates as a heat map with the values;
* the profile likelihood of each profiled parameter: S against the
  parameter, the F-test threshold, the interval and, dashed, the quadratic
  S of the linearised analysis (where the two differ, trust the profile);

and writes ONE ``fit_report.html`` in the style of the route report
(:mod:`flowchem.reporting.html`): inline CSS, figures as base64 data URIs, no
links outside the file, no JavaScript. It holds the candidates' AICc
ranking, the suggested next experiments, and per candidate the estimates
with their intervals, the warnings, the RMSE per species and per experiment,
the lack-of-fit test and the figures.

Values in tables are as :class:`~flowchem.process.estimation.FitResult` has
them (SI, four significant figures); concentrations on the plots are in
mol/L. Figures are drawn on pyplot-free :class:`matplotlib.figure.Figure`
objects, so nothing is left open and no display is needed;
:func:`plot_fit` is the interactive convenience on pyplot.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..core.errors import InputError, SolverError
from ..core.files import write_text_atomic
from .numbers import significant as sig

__all__ = ["write_fit_report", "fit_report_html", "render_fit_figures", "fitted_curves",
           "plot_fit", "FIGURE_TITLES"]

FIGURE_TITLES = {
    "data_fit": "Data (markers) and fitted model (lines)",
    "parity": "Fitted against observed",
    "residuals": "Residuals against time and against the fitted value",
    "correlation": "Correlation of the estimates",
    "profiles": "Profile likelihood",
}
MOL_PER_L = 1000.0          # mol/m^3 in one mol/L
CURVE_POINTS = 201          # points of a batch or PFR curve
CSTR_CURVE_POINTS = 41      # steady tanks along a CSTR curve (one solve each)
MARKERS = "osD^vP*Xh<>p"


# --------------------------------------------------------------------------- model curves


def _groups(data):
    """Runs that share one curve: same experiment, kind, temperature and
    initial or inlet concentrations (a CSTR row is a run of its own; its
    siblings lie on one curve of outlet against residence time)."""
    groups = {}
    for k, r in enumerate(data.runs):
        key = (r.experiment, r.kind, float(r.T), tuple(np.round(r.initial, 12)))
        groups.setdefault(key, []).append(k)
    return [{"experiment": key[0], "kind": key[1], "T": key[2],
             "initial": data.runs[idx[0]].initial.copy(), "runs": idx}
            for key, idx in groups.items()]


def fitted_curves(result, n_points=CURVE_POINTS):
    """The fitted mechanism re-solved on a fine grid for every experiment.

    Batch runs and PFR samples are integrated with
    :class:`~flowchem.BatchReactor` from time 0 to the last sample (an
    isothermal liquid PFR is the batch reactor in residence time, the model
    the fit uses); CSTR samples are steady tanks (:class:`~flowchem.CSTR`)
    over a grid of residence times.

    Returns a list of dicts, one per curve: ``experiment``, ``kind``, ``T``
    (K), ``initial`` (mol/m^3), ``runs`` (indices into ``data.runs``), ``x``
    (time or residence time, s), ``conc`` (len(x) x n_species, mol/m^3) and
    ``error`` (None, or why the curve could not be solved; then ``x`` and
    ``conc`` are None).
    """
    from ..process.stream import Stream
    from ..reactors.ideal import CSTR, BatchReactor

    problem = result.problem
    data = problem.data
    mech = result.mechanism()
    options = problem.options
    curves = []
    for g in _groups(data):
        t_end = max(float(np.max(data.runs[k].times)) for k in g["runs"])
        g = dict(g, x=None, conc=None, error=None)
        try:
            if g["kind"] == "cstr":
                volume = 1e-6  # any volume: the residence time alone sets the steady state
                tau = np.linspace(0.0, 1.1 * t_end, CSTR_CURVE_POINTS)
                conc = [g["initial"]]
                tank = CSTR(volume, T=g["T"], options=options, find_all_steady_states=False)
                for t in tau[1:]:
                    feed = Stream(mech, volume / t, g["T"], g["initial"])
                    conc.append(tank.run(feed).outlet.conc)
                g["x"], g["conc"] = tau, np.array(conc)
            else:
                t = np.linspace(0.0, t_end, n_points)
                res = BatchReactor(mech, g["T"], options).run(g["initial"], t_end, t_eval=t)
                g["x"], g["conc"] = t, np.asarray(res.conc)
        except SolverError as exc:
            g["error"] = str(exc)
        curves.append(g)
    return curves


def _time_unit(t_max_s):
    """(name, seconds per unit) that shows ``t_max_s`` in readable numbers."""
    if t_max_s <= 180.0:
        return "s", 1.0
    if t_max_s <= 600.0 * 60.0:
        return "min", 60.0
    return "h", 3600.0


def _species_colors(species):
    return {s: f"C{i % 10}" for i, s in enumerate(species)}


def _curve_title(curve, several_in_experiment):
    kind = {"batch": "batch", "pfr": "PFR", "cstr": "CSTR"}[curve["kind"]]
    title = f"{curve['experiment']} ({kind}, {curve['T'] - 273.15:.4g} °C)"
    if several_in_experiment:
        fed = ", ".join(f"{s} {sig(c / MOL_PER_L, 3)}" for s, c in
                        zip(curve["species"], curve["initial"]) if c > 0)
        title += f"\nin: {fed} mol/L"
    return title


def _draw_curve(ax, result, curve, predictions, species=None, title=True):
    """Data markers and the model curve of one experiment on ``ax``."""
    data = result.problem.data
    names = data.species
    shown = list(species) if species is not None else list(data.measured)
    colors = _species_colors(data.measured)
    t_max = max(float(np.max(data.runs[k].times)) for k in curve["runs"])
    unit, per = _time_unit(t_max)
    for s in shown:
        i = names.index(s)
        color = colors.get(s, "k")
        if curve["conc"] is not None:
            ax.plot(curve["x"] / per, curve["conc"][:, i] / MOL_PER_L, color=color, lw=1.6,
                    label=s)
        for k in curve["runs"]:
            r = data.runs[k]
            ok = np.isfinite(r.observed[:, i])
            ax.plot(r.times[ok] / per, r.observed[ok, i] / MOL_PER_L, linestyle="none",
                    marker="o", ms=4.5, mfc="white", mec=color, mew=1.4,
                    label=None if curve["conc"] is not None else s)
    if curve["error"]:
        ax.text(0.02, 0.98, "model curve not solved:\n" + curve["error"], transform=ax.transAxes,
                va="top", fontsize=7, color="#8c1c13", wrap=True)
    x_name = "time" if curve["kind"] == "batch" else "residence time"
    ax.set_xlabel(f"{x_name} [{unit}]")
    ax.set_ylabel("concentration [mol/L]")
    ax.set_xlim(left=0.0)
    ax.set_ylim(bottom=0.0)
    ax.grid(alpha=0.3)
    if title:
        several = sum(1 for c in predictions if c["experiment"] == curve["experiment"]) > 1
        ax.set_title(_curve_title(dict(curve, species=names), several), fontsize=10)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_fit(result, experiment=None, ax=None, species=None):
    """Data and fitted curves of a :class:`~flowchem.process.estimation.FitResult`.

    Parameters
    ----------
    result : FitResult
    experiment : str, optional
        The experiment to draw; default all, one panel each.
    ax : matplotlib Axes, optional
        Draw into these axes (then name the experiment, unless the data hold
        only one curve).
    species : list of str, optional
        Species to draw; default the measured ones.

    Returns
    -------
    The axes (one experiment) or an array of axes.
    """
    curves = fitted_curves(result)
    chosen = curves if experiment is None else [c for c in curves if c["experiment"] == experiment]
    if not chosen:
        raise InputError(f"no experiment {experiment!r} in the data (experiments: "
                         f"{', '.join(result.problem.data.experiments())})", "plot_fit", "experiment")
    names = result.problem.data.species
    for s in species or ():
        if s not in names:
            raise InputError(f"unknown species {s!r}", "plot_fit", "species")
    if ax is not None:
        if len(chosen) > 1:
            raise InputError("several curves for one set of axes: name the experiment, or leave "
                             "ax out for one panel per experiment", "plot_fit", "ax")
        return _draw_curve(ax, result, chosen[0], curves, species)
    from .plots import pyplot

    fig, axes = _panel_grid(pyplot().figure, len(chosen))
    for a, c in zip(axes, chosen):
        _draw_curve(a, result, c, curves, species)
    return axes[0] if len(chosen) == 1 else np.array(axes)


def _panel_grid(make_figure, n, width=4.3, height=3.3):
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = make_figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, k + 1) for k in range(n)]
    return fig, axes


# --------------------------------------------------------------------------- figures


def _observed_and_fitted(result):
    """Flat arrays over every measured value: species name, experiment, time
    (s), observed and fitted (mol/m^3), and the weight σ of the fit."""
    data = result.problem.data
    pred = result.predictions()
    rows = {"species": [], "experiment": [], "time": [], "observed": [], "fitted": [], "sigma": []}
    for p, r, s in zip(pred, data.runs, result.problem.sigma):
        for i, sp in enumerate(data.species):
            ok = np.isfinite(r.observed[:, i])
            n = int(ok.sum())
            rows["species"] += [sp] * n
            rows["experiment"] += [r.experiment] * n
            rows["time"].append(r.times[ok])
            rows["observed"].append(r.observed[ok, i])
            rows["fitted"].append(p[ok, i])
            rows["sigma"].append(s[ok, i])
    for key in ("time", "observed", "fitted", "sigma"):
        rows[key] = np.concatenate(rows[key]) if rows[key] else np.zeros(0)
    rows["species"] = np.array(rows["species"])
    rows["experiment"] = np.array(rows["experiment"])
    return rows


def _draw_parity(fig, result, flat):
    ax = fig.add_subplot()
    data = result.problem.data
    colors = _species_colors(data.measured)
    markers = {e: MARKERS[k % len(MARKERS)] for k, e in enumerate(data.experiments())}
    obs, fit = flat["observed"] / MOL_PER_L, flat["fitted"] / MOL_PER_L
    for s in data.measured:
        for e in data.experiments():
            sel = (flat["species"] == s) & (flat["experiment"] == e)
            if sel.any():
                ax.plot(obs[sel], fit[sel], linestyle="none", marker=markers[e], ms=5,
                        mfc="none", mec=colors[s], mew=1.3)
    top = max(float(np.max(obs, initial=0.0)), float(np.max(fit, initial=0.0))) * 1.05 or 1.0
    ax.plot([0, top], [0, top], color="k", lw=0.8, label="1:1")
    handles = [ax.plot([], [], linestyle="none", marker="s", color=colors[s], label=s)[0]
               for s in data.measured]
    handles += [ax.plot([], [], linestyle="none", marker=markers[e], mfc="none", mec="0.3",
                        color="0.3", label=e)[0] for e in data.experiments()]
    ax.legend(handles=handles, fontsize="small", loc="upper left", ncol=2)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel("observed [mol/L]")
    ax.set_ylabel("fitted [mol/L]")
    ax.grid(alpha=0.3)


def _residual_scale(result):
    """(factor, label, s): residuals are shown as (observed - fitted)·factor;
    s is the residual standard deviation of the fit on that scale."""
    s = math.sqrt(result.s2) if np.isfinite(result.s2) and result.s2 > 0 else math.nan
    if result.problem.weights.mode == "absolute":
        return 1.0 / MOL_PER_L, "observed − fitted [mol/L]", s / MOL_PER_L
    return None, "weighted residual (observed − fitted)/σ", s


def _draw_residuals(fig, result, flat):
    data = result.problem.data
    colors = _species_colors(data.measured)
    factor, label, s = _residual_scale(result)
    diff = flat["observed"] - flat["fitted"]
    res = diff * factor if factor is not None else diff / flat["sigma"]
    unit, per = _time_unit(float(np.max(flat["time"], initial=0.0)))
    ax_t, ax_f = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for ax, x, xlabel in ((ax_t, flat["time"] / per, f"time or residence time [{unit}]"),
                          (ax_f, flat["fitted"] / MOL_PER_L, "fitted [mol/L]")):
        for sp in data.measured:
            sel = flat["species"] == sp
            ax.plot(x[sel], res[sel], linestyle="none", marker="o", ms=4, mfc="none",
                    mec=colors[sp], mew=1.2, label=sp)
        ax.axhline(0.0, color="k", lw=0.8)
        if np.isfinite(s):
            for sign in (-2.0, 2.0):
                ax.axhline(sign * s, color="0.45", lw=0.8, ls="--")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    ax_t.set_ylabel(label)
    ax_t.legend(fontsize="small", loc="best", title="dashed: ±2 s", title_fontsize="small")


def _draw_correlation(fig, result):
    ax = fig.add_subplot()
    C = np.asarray(result.correlation, float)
    p = len(result.names)
    shown = np.where(np.isfinite(C), C, 0.0)
    image = ax.imshow(shown, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
    for i in range(p):
        for j in range(p):
            c = C[i, j]
            text = f"{c:+.2f}" if np.isfinite(c) else "–"
            ax.text(j, i, text, ha="center", va="center", fontsize=9 if p <= 8 else 7,
                    color="white" if np.isfinite(c) and abs(c) > 0.6 else "black")
    ax.set_xticks(range(p), result.names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(p), result.names, fontsize=8)
    fig.colorbar(image, ax=ax, shrink=0.8, label="correlation (positive parameters on log scale)")


def _draw_profiles(fig, result):
    pmap = result.problem.pmap
    names = [n for n in result.names if n in result.profiles]
    cols = min(len(names), 3)
    rows = math.ceil(len(names) / cols)
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        prof = result.profiles[name]
        i = result.names.index(name)
        q = pmap.params[i]
        x = np.asarray(prof["values"], float)
        S = np.asarray(prof["S"], float)
        ok = np.isfinite(x) & np.isfinite(S) & (S < 1e30)
        ax.plot(x[ok], S[ok], marker="o", ms=3.5, color="C0", lw=1.4, label="profile")
        # the linearised analysis: S = S_min + s² ((z - ẑ)/se)² in the natural
        # coordinate z of the parameter (ln k, Ea/(R T_c), ...), where the
        # covariance is computed
        var = result.covariance_natural[i, i]
        se = math.sqrt(var) if np.isfinite(var) else math.nan
        if np.isfinite(se) and se > 0 and np.isfinite(result.s2) and ok.sum() > 1:
            xs = np.linspace(x[ok].min(), x[ok].max(), 200)
            if q.positive:
                xs = xs[xs > 0]
            z = np.array([pmap._from_user(q, v) for v in xs])
            z0 = pmap._from_user(q, result.values[i])
            ax.plot(xs, result.cost + result.s2 * ((z - z0) / se) ** 2, color="0.4", ls="--",
                    lw=1.0, label="linearised")
        ax.axhline(prof["threshold"], color="#c0392b", lw=1.0, label="95 % threshold")
        for end in prof["interval"]:
            if np.isfinite(end) and end != 0.0:
                ax.axvline(end, color="#c0392b", lw=0.8, ls=":")
        ax.axvline(result.values[i], color="k", lw=0.8)
        lo, hi = prof["interval"]
        ax.set_title(f"{name}: [{sig(lo)}, {sig(hi)}]", fontsize=9)
        ax.set_xlabel(f"{name} [{parameter_unit(result, i) or '–'}]")
        ax.set_ylabel("S (weighted sum of squares)")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize="small", loc="best")


def _save(fig, path, dpi, tight=False):
    # tight where constrained layout cuts long tick labels (the heat map's names)
    fig.savefig(path, dpi=dpi, facecolor="white",
                **({"bbox_inches": "tight", "pad_inches": 0.1} if tight else {}))
    return path


def render_fit_figures(result, directory, prefix="", dpi=110):
    """Draw the figures of one fit into ``directory`` as PNG files.

    Returns a dict name -> path (``data_fit``, ``parity``, ``residuals``,
    ``correlation``, and ``profiles`` when profiles exist), files named
    ``PREFIX + name + '.png'``.
    """
    from matplotlib.figure import Figure

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    curves = fitted_curves(result)
    fig, axes = _panel_grid(Figure, len(curves))
    for ax, c in zip(axes, curves):
        _draw_curve(ax, result, c, curves)
    paths["data_fit"] = _save(fig, out / f"{prefix}data_fit.png", dpi)

    flat = _observed_and_fitted(result)
    fig = Figure(figsize=(5.2, 5.0), layout="constrained")
    _draw_parity(fig, result, flat)
    paths["parity"] = _save(fig, out / f"{prefix}parity.png", dpi)

    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    _draw_residuals(fig, result, flat)
    paths["residuals"] = _save(fig, out / f"{prefix}residuals.png", dpi)

    p = len(result.names)
    side = min(3.0 + 0.75 * p, 10.0)
    fig = Figure(figsize=(side + 1.2, side))
    _draw_correlation(fig, result)
    paths["correlation"] = _save(fig, out / f"{prefix}correlation.png", dpi, tight=True)

    n_prof = sum(1 for n in result.names if n in result.profiles)
    if n_prof:
        cols = min(n_prof, 3)
        fig = Figure(figsize=(4.2 * cols, 3.4 * math.ceil(n_prof / cols)), layout="constrained")
        _draw_profiles(fig, result)
        paths["profiles"] = _save(fig, out / f"{prefix}profiles.png", dpi)
    return paths


# --------------------------------------------------------------------------- HTML


def _e(text):
    return html.escape(str(text), quote=True)


def _slug(label):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(label)).strip("._") or "fit"


def _table(head, rows, css="grid"):
    return (f"<div class='scroll'><table class='{css}'><thead><tr>"
            + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


def _power(symbol, n):
    n = float(n)
    if n == 1:
        return symbol
    text = f"{n:g}"
    return symbol + ("".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in text) if text.isdigit() else f"^{text}")


def parameter_unit(result, i):
    """SI unit of parameter ``i`` as the table shows it: J/mol for energies,
    m^(3(n-1)) mol^(1-n) /s for a rate constant of overall order n, '' for
    orders; 'SI' where it depends on more (equilibrium constants)."""
    q = result.problem.pmap.params[i]
    if q.unit or q.target == "order" or q.key == "b":
        return q.unit
    if q.target in ("rate", "reverse") and q.key in ("k", "k_ref", "A"):
        r = result.problem.mechanism.reactions[q.reaction]
        if q.target == "rate":
            n = sum((r.orders or r.reactants).values())
        else:
            n = sum(r.products.values())
        unit = "1/s" if n == 1 else f"{_power('m', 3 * (n - 1))}/({_power('mol', n - 1)}·s)"
        law = r.rate if q.target == "rate" else r.reverse
        b = getattr(law, "b", 0.0) or 0.0
        if q.key == "A" and b != 0:   # k = A T^b: A carries K^-b
            unit += f"·K^{-b:g}"
        return unit
    return "SI"


def _estimates_table(result):
    rows = []
    has_profiles = any(n in result.profiles for n in result.names)
    for i, name in enumerate(result.names):
        lo, hi = result.ci95[i]
        cells = [f"<td class='num'>{_e(sig(result.values[i]))}</td>",
                 f"<td class='num'>{_e(sig(result.std_errors[i]))}</td>",
                 f"<td class='num'>{_e(sig(lo))} – {_e(sig(hi))}</td>"]
        if has_profiles:
            if name in result.profiles:
                plo, phi = result.profiles[name]["interval"]
                cells.append(f"<td class='num'>{_e(sig(plo))} – {_e(sig(phi))}</td>")
            else:
                cells.append("<td class='num'>–</td>")
        unit = parameter_unit(result, i)
        rows.append(f"<tr data-parameter='{_e(name)}' data-value='{float(result.values[i])!r}'>"
                    f"<th>{_e(name)}</th>" + "".join(cells) + f"<td>{_e(unit)}</td></tr>")
    head = ["parameter", "estimate", "std. error", "95 % interval (linearised)"]
    if has_profiles:
        head.append("95 % interval (profile)")
    head.append("unit")
    return _table(head, rows)


def _warnings_html(result):
    if not result.warnings:
        return "<p class='ok-text'>No warnings.</p>"
    items = "".join(f"<li>{_e(w)}</li>" for w in result.warnings)
    return f"<div class='warnings'><ul>{items}</ul></div>"


def _rmse_html(result):
    per_species, per_experiment = result.rmse()

    def small(title, mapping):
        rows = [f"<tr><th>{_e(k)}</th><td class='num'>{_e(sig(v / MOL_PER_L, 3))}</td></tr>"
                for k, v in mapping.items()]
        return _table([_e(title), "RMSE [mol/L]"], rows, "grid small")

    return ("<div class='pair'>" + small("species", per_species)
            + small("experiment", per_experiment) + "</div>")


def _lack_of_fit_html(result):
    lof = result.lack_of_fit()
    if lof is None:
        return ("<p class='muted'>No replicates (two samples of one run at one time), so lack of "
                "fit cannot be told apart from measurement error.</p>")
    verdict = ("the model misses systematic behaviour: the residuals are larger than the "
               "replicate scatter explains" if lof["p_value"] < 0.05 else
               "the residuals are consistent with the scatter between replicates")
    return (f"<p>F = {_e(sig(lof['F']))} on ({lof['dof'][0]}, {lof['dof'][1]}) degrees of "
            f"freedom, p = {_e(sig(lof['p_value'], 3))}: {_e(verdict)}.</p>")


def _correlation_table(result):
    names = result.names
    rows = []
    for i, n in enumerate(names):
        cells = "".join(
            f"<td class='num'>{'–' if not np.isfinite(c) else f'{c:+.3f}'}</td>"
            for c in result.correlation[i])
        rows.append(f"<tr><th>{_e(n)}</th>{cells}</tr>")
    return _table([""] + [_e(n) for n in names], rows, "grid small")


def _summary_html(result):
    prob = result.problem
    info = result.information
    s = math.sqrt(result.s2) if np.isfinite(result.s2) else math.nan
    s_text = (f"{sig(s / MOL_PER_L, 3)} mol/L" if prob.weights.mode == "absolute"
              else f"{sig(s, 3)} (in units of σ)")
    items = [
        ("sum of squares S", sig(result.cost)),
        ("measured values / parameters / degrees of freedom",
         f"{result.n_observations} / {result.n_parameters} / {result.dof}"),
        ("residual standard deviation s", s_text),
        ("AICc / BIC", f"{sig(info['aicc'])} / {sig(info['bic'])}"),
        ("weights", prob.weights.mode),
        ("centre temperature T_c", f"{sig(prob.pmap.T_center - 273.15)} °C"),
        ("converged", "yes" if result.success else f"no ({result.message})"),
        ("starts / residual evaluations / solves",
         f"{len(result.starts) or 1} / {prob.n_evaluations} / {prob.n_solves}"),
        ("time", f"{sig(result.elapsed_s, 3)} s"),
    ]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items)
    return f"<table class='kv'><tbody>{rows}</tbody></table>"


def _ranking_html(ranking):
    rows = []
    for r in ranking:
        if "error" in r:
            rows.append(f"<tr data-candidate='{_e(r['label'])}'><th>{_e(r['label'])}</th>"
                        f"<td colspan='6'>fit failed: {_e(r['error'])}</td></tr>")
            continue
        rows.append(f"<tr data-candidate='{_e(r['label'])}'><th>{_e(r['label'])}</th>"
                    f"<td class='num'>{r['n_parameters']}</td>"
                    f"<td class='num'>{_e(sig(r['S']))}</td>"
                    f"<td class='num'>{_e(sig(r['aicc']))}</td>"
                    f"<td class='num'>{_e(sig(r['delta_aicc'], 3))}</td>"
                    f"<td class='num'>{_e(sig(r['akaike_weight'], 3))}</td>"
                    f"<td class='num'>{_e(sig(r['bic']))}</td></tr>")
    note = ("<p class='muted'>Ranked by AICc (small-sample Akaike information criterion); "
            "ΔAICc above about 10 leaves the lower candidate essentially no support. The "
            "Akaike weight is the probability, among these candidates, that a model is the "
            "best approximation of the data.</p>")
    return _table(["candidate", "p", "S", "AICc", "ΔAICc", "Akaike weight", "BIC"], rows) + note


def _suggestions_html(suggestions):
    if not suggestions:
        return "<p class='muted'>No candidate experiments were ranked.</p>"
    names = list(suggestions[0]["std_error_ratio"])
    rows = []
    for s in suggestions:
        init = ", ".join(f"{k} {sig(v / MOL_PER_L, 3)}" for k, v in s["initial_mol_per_m3"].items())
        ratios = "".join(f"<td class='num'>{_e(sig(s['std_error_ratio'][n], 3))}</td>"
                         for n in names)
        rows.append(f"<tr><td class='num'>{_e(sig(s['T_K'] - 273.15))}</td>"
                    f"<td class='num'>{_e(sig(s['time_s'] / 60.0))}</td>"
                    f"<td>{_e(init)}</td><td class='num'>{_e(sig(s['gain'], 3))}</td>{ratios}</tr>")
    head = ["T [°C]", "sample at [min]", "initial [mol/L]", "gain ln det"] + [
        f"{_e(n)}<br><span class='u'>new/now s.e.</span>" for n in names]
    note = ("<p class='muted'>Batch experiments ranked by the D-optimal gain ln det(F + F<sub>x</sub>)"
            " − ln det F of one sample of the measured species; the last columns are the predicted "
            "standard errors after that experiment relative to the current ones.</p>")
    return _table(head, rows) + note


def _figures_html(figures, slug):
    from .html import embedded_figure

    parts = [embedded_figure(path, FIGURE_TITLES.get(name, name.replace("_", " ")),
                             f"fig-{slug}-{name}") for name, path in figures.items()]
    return "".join(parts) or "<p class='muted'>No figures.</p>"


def _fit_section(label, result, figures, best):
    slug = _slug(label)
    title = f"Fit: {label}" + (" (best candidate)" if best else "")
    body = [
        "<h3>Estimates</h3>", _estimates_table(result),
        f"<h3>Warnings ({len(result.warnings)})</h3>", _warnings_html(result),
        "<h3>Summary</h3>", _summary_html(result),
        "<h3>Root-mean-square error</h3>", _rmse_html(result),
        "<h3>Lack of fit</h3>", _lack_of_fit_html(result),
        "<h3>Correlation of the estimates</h3>", _correlation_table(result),
        "<h3>Figures</h3>", _figures_html(figures, slug),
    ]
    return slug, title, "".join(body)


CSS_EXTRA = """
h3{font-size:1.02em;margin:1.2em 0 .3em}.pair{display:flex;gap:2em;flex-wrap:wrap}
table.small{font-size:.85em}
"""


def _order(fits, ranking):
    labels = list(fits)
    if ranking:
        ranked = [r["label"] for r in ranking if r.get("label") in fits]
        labels = ranked + [lab for lab in labels if lab not in ranked]
    return labels


def fit_report_html(fits, figures=None, ranking=None, suggestions=None):
    """The fit report as an HTML string.

    ``fits`` maps labels to FitResult; ``figures`` maps the same labels to
    dicts name -> PNG path (as from :func:`render_fit_figures`).
    """
    from .. import __version__
    from .html import CSS

    figures = figures or {}
    labels = _order(fits, ranking)
    first = fits[labels[0]]
    data = first.problem.data
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    temps = ", ".join(sig(T - 273.15, 3) for T in sorted(set(float(T) for T in data.temperatures)))
    meta = (f"data file {_e(data.source)} · {len(data.experiments())} experiments "
            f"({len(data.runs)} model runs) at {_e(temps)} °C · {data.n_observations} measured values "
            f"of {_e(', '.join(data.measured))} · {len(fits)} "
            f"candidate{'s' if len(fits) > 1 else ''} · flowchem {_e(__version__)} · {_e(now)}")
    sections = []
    if ranking and len(ranking) > 1:
        sections.append(("candidates", "Candidate mechanisms", _ranking_html(ranking)))
    if suggestions is not None:
        sections.append(("next", "Suggested next experiments", _suggestions_html(suggestions)))
    for k, lab in enumerate(labels):
        slug, title, content = _fit_section(lab, fits[lab], figures.get(lab, {}),
                                            best=(k == 0 and len(labels) > 1))
        sections.append((f"fit-{slug}", title, content))
    sections.append(("method", "How to read this report", METHOD_NOTES))
    nav = "".join(f"<a href='#{_e(sid)}'>{_e(t)}</a>" for sid, t, _ in sections)
    body = "".join(f"<section id='{_e(sid)}'><h2>{_e(t)}</h2>{c}</section>" for sid, t, c in sections)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Kinetic fit · flowchem report</title><style>{CSS}{CSS_EXTRA}</style></head>"
            f"<body><header><h1>Kinetic fit</h1><p class='meta'>flowchem fit report · {meta}</p>"
            f"<nav>{nav}</nav></header>{body}</body></html>\n")


METHOD_NOTES = (
    "<ul>"
    "<li>Estimates minimise S, the sum of squared (weighted) residuals over every measured "
    "value of every experiment; values are SI (rate constants in m³, mol and s as the "
    "reaction's orders require, energies in J/mol).</li>"
    "<li>The linearised 95 % interval is a t interval with n − p degrees of freedom, on the "
    "logarithm of a positive parameter (so it stays positive and is asymmetric), from the "
    "covariance s²(JᵀJ)⁻¹. The profile interval is where S, re-minimised over the other "
    "parameters, reaches S<sub>min</sub>(1 + F(0.95; 1, n − p)/(n − p)); where the two differ "
    "the model is far from linear in the parameter and the profile is the one to trust.</li>"
    "<li>Correlations above 0.95 in magnitude mean the data hardly separate two parameters; "
    "an interval spanning more than a factor of ten, or a profile that does not close, means a "
    "parameter is not identifiable from these data.</li>"
    "<li>Residuals should scatter evenly around zero, within about ±2 s, against time and "
    "against the fitted value; a trend or a funnel shape points to a wrong model or to a wrong "
    "error model (try relative weights).</li>"
    "</ul>")


def write_fit_report(fits, out_dir, ranking=None, suggestions=None, dpi=110):
    """Write the figures of every fit and ``fit_report.html`` into ``out_dir``.

    Parameters
    ----------
    fits : dict label -> FitResult
        One or several candidates (ordered best first by ``ranking``, when given).
    out_dir : path
        Created if missing. Figures are ``data_fit.png``, ``parity.png``,
        ``residuals.png``, ``correlation.png`` and ``profiles.png`` (when
        profiled), prefixed ``LABEL_`` when there are several fits.
    ranking : list of dict, optional
        Rows of :func:`~flowchem.process.estimation.rank_candidates`.
    suggestions : list of dict, optional
        Rows of :func:`~flowchem.process.experiment_design.suggest_experiments`.

    Returns
    -------
    list of Path
        The figures and the HTML file. Everything is drawn in a temporary
        directory first: when anything fails, nothing is left in ``out_dir``
        (and ``out_dir`` is removed again if this call created it).
    """
    if not fits:
        raise InputError("no fit to report", str(out_dir))
    out = Path(out_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=".flowchem-fit-"))
    try:
        several = len(fits) > 1
        figures, slugs = {}, set()
        for label, result in fits.items():
            slug = _slug(label)
            while slug in slugs:        # labels that differ only in punctuation
                slug += "_"
            slugs.add(slug)
            figures[label] = render_fit_figures(result, tmp, f"{slug}_" if several else "", dpi)
        text = fit_report_html(fits, figures, ranking, suggestions)
        staged = write_text_atomic(tmp / "fit_report.html", text)
        written = []
        # every file is complete before it is moved in; the HTML comes last
        for paths in figures.values():
            for path in paths.values():
                target = out / Path(path).name
                os.replace(path, target)
                written.append(target)
        target = out / "fit_report.html"
        os.replace(staged, target)
        written.append(target)
        return written
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
