"""The HTML of a dynamic run: a section for the route report and a
standalone single-file page (same style and rules as
:mod:`flowchem.reporting.html`: inline CSS, figures as data URIs, every text
escaped, lab units).

The section holds the specification and how much of the run met it, the
diversion windows (start, end, volume and product diverted), the start-up,
the lot funnel times, the lot-to-batch genealogy, the events and the
figures of :func:`flowchem.reporting.dynamic_figures.write_dynamic_figures`.
"""

from __future__ import annotations

import datetime as _dt
import tempfile
from pathlib import Path

import numpy as np

from ..core.files import write_text_atomic
from .dynamic_figures import FIGURE_TITLES, _criterion_axis, write_dynamic_figures
from .html import CSS, _e, embedded_figure
from .numbers import significant as sig

__all__ = ["dynamic_html_section", "dynamic_html_page", "write_dynamic_html"]


def _t(seconds):
    return "–" if seconds is None else sig(float(seconds) / 60.0)


def _num(value, factor=1.0):
    return "–" if value is None or not np.isfinite(value) else sig(float(value) * factor)


def _table(head, rows, css="grid"):
    return (f"<div class='scroll'><table class='{css}'><thead><tr>"
            + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(rows_cells) + "</tr>" for rows_cells in rows)
            + "</tbody></table></div>")


def _num_cell(text):
    return f"<td class='num'>{text}</td>"


def _spec_block(result, tracking):
    t = np.asarray(result.time_s, dtype=float)
    crit = tracking.get("criteria") or {}
    if not crit:
        return "<p class='muted'>No specification (<code>spec:</code>): nothing is diverted.</p>"

    def time_fraction(mask):
        mask = np.asarray(mask, dtype=float)
        span = t[-1] - t[0]
        return float(np.sum(0.5 * (mask[1:] + mask[:-1]) * np.diff(t)) / span) if span > 0 else 0.0

    overall = time_fraction(tracking["in_spec"])
    css = "ok" if overall == 1.0 else "bad"
    head = (f"<p><span class='badge {css}'>in specification {100 * overall:.1f} % of the run"
            f"</span> on stream <b>{_e(tracking['product']['stream'])}</b></p>")
    rows = []
    psp = (result.product or {}).get("species", "product")
    for key, c in crit.items():
        _, factor, unit = _criterion_axis(c["column"], psp)
        values = np.asarray(c["values"], dtype=float) * factor
        finite = values[np.isfinite(values)]
        rng = (f"{sig(finite.min())} – {sig(finite.max())}" if finite.size else "undefined")
        rows.append([f"<th>{_e(key)}</th>", f"<td>{_e(c['text'])}</td>",
                     _num_cell(_e(rng)), f"<td>{_e(unit)}</td>",
                     _num_cell(f"{100 * time_fraction(c['in_spec']):.1f}")])
    return head + _table(["entry", "condition", "range over the run", "unit",
                          "time in spec [%]"], rows)


def _diversion_block(tracking):
    windows = tracking.get("diversion") or []
    margin = tracking.get("margin_s", 0.0)
    note = (f"<p class='muted'>Out-of-specification intervals widened by "
            f"{sig(margin / 60.0)} min on both sides and merged where they overlap; edges "
            "interpolated between output times.</p>")
    if not windows:
        return note + "<p class='ok-text'>No material diverted.</p>"
    rows = []
    for i, w in enumerate(windows, 1):
        dur = None if w["end_s"] is None else w["end_s"] - w["start_s"]
        rows.append([f"<th>{i}</th>", _num_cell(_t(w["start_s"])),
                     _num_cell("open at the end" if w["end_s"] is None else _t(w["end_s"])),
                     _num_cell(_t(dur)), _num_cell(_num(w["volume_m3"], 1e6)),
                     _num_cell(_num(w.get("product_kg"), 1e3))])
    return note + _table(["window", "start [min]", "end [min]", "duration [min]",
                          "volume [mL]", "product [g]"], rows)


def _startup_block(tracking):
    s = tracking.get("startup")
    if not s:
        return "<p class='muted'>No product stream: no start-up figures.</p>"
    rows = [["<th>first in-specification product</th>", _num_cell(_t(s["first_in_spec_s"])),
             "<td>min</td>"],
            ["<th>first collected (after the margin)</th>", _num_cell(_t(s["first_collected_s"])),
             "<td>min</td>"],
            ["<th>product made before it</th>", _num_cell(_num(s.get("product_before_kg"), 1e3)),
             "<td>g</td>"],
            ["<th>volume before it</th>", _num_cell(_num(s.get("volume_before_m3"), 1e6)),
             "<td>mL</td>"]]
    return _table(["quantity", "value", "unit"], rows, css="kv")


def _lots_block(tracking):
    lots = tracking.get("lots") or {}
    if not lots:
        return "<p class='muted'>No lot change in the scenario.</p>"
    rows = [[f"<th>{_e(k)}</th>", _num_cell(_t(v['time_s'])), _num_cell(_t(v['t01_s'])),
             _num_cell(_t(v['t50_s'])), _num_cell(_t(v['t99_s']))] for k, v in lots.items()]
    return ("<p class='muted'>Times at which the new lot is 1 %, 50 % and 99 % of the feed's "
            "material in the product stream.</p>"
            + _table(["feed:lot", "change [min]", "1 % [min]", "50 % [min]", "99 % [min]"], rows))


def _batch_block(tracking):
    batches = tracking.get("batches")
    if batches is None:
        return None
    if not batches:
        return "<p class='muted'>No product collected: no batch.</p>"
    rows = []
    for b in batches:
        parts = []
        for feed, info in b["feeds"].items():
            lots = ", ".join(f"{_e(lot)} {100 * x:.2f} %" for lot, x in info["lots"].items())
            parts.append(f"<b>{_e(feed)}</b>: {lots or '–'}")
        rows.append([f"<th>{b['batch']}{'' if b['complete'] else ' (partial)'}</th>",
                     _num_cell(_t(b["start_s"])), _num_cell(_t(b["end_s"])),
                     _num_cell(_num(b.get("product_kg"), 1e3)),
                     _num_cell(_num(b["volume_m3"], 1e6)), f"<td>{'<br>'.join(parts)}</td>"])
    definition = ", ".join(f"{_e(k)} {_e(v)}" for k, v in (tracking.get("batch") or {}).items())
    return (f"<p class='muted'>Batches by {definition}, of the collected (not diverted) product, "
            "from the end of the start-up diversion.</p>"
            + _table(["batch", "start [min]", "end [min]", "product [g]", "volume [mL]",
                      "lots (fraction of each feed's material)"], rows))


def _events_block(result):
    events = getattr(result, "events", None) or []
    if not events:
        return "<p class='muted'>No events.</p>"
    rows = [[_num_cell(_t(e["time_s"])),
             f"<td>{_e(e.get('feed') or e.get('operation') or '')}</td>",
             f"<td>{_e(e.get('what', ''))}</td>", f"<td>{_e(e.get('text', ''))}</td>"]
            for e in events]
    return _table(["time [min]", "feed / operation", "what", "description"], rows)


def _figures_block(figures):
    if not figures:
        return "<p class='muted'>No figures.</p>"
    return "".join(embedded_figure(path, FIGURE_TITLES.get(name, name.replace("_", " ")),
                                   f"fig-{name}") for name, path in figures.items())


def _blocks(result, tracking, figures):
    blocks = [("dyn-spec", "Specification", _spec_block(result, tracking)),
              ("dyn-diversion", f"Diversion ({len(tracking.get('diversion') or [])} windows)",
               _diversion_block(tracking)),
              ("dyn-startup", "Start-up", _startup_block(tracking)),
              ("dyn-lots", "Lot funnel", _lots_block(tracking))]
    batch = _batch_block(tracking)
    if batch is not None:
        blocks.append(("dyn-batches", "Lot-to-batch genealogy", batch))
    blocks += [("dyn-events", "Events", _events_block(result)),
               ("dyn-figures", "Figures", _figures_block(figures))]
    return blocks


def dynamic_html_section(result, tracking, figures):
    """The dynamic-operation section of a report as an HTML string.

    Parameters
    ----------
    result : DynamicResult
    tracking : dict
        From :func:`~flowchem.process.material_tracking.evaluate_tracking`.
    figures : dict
        name -> PNG path (from :func:`write_dynamic_figures`), embedded inline.
    """
    t = np.asarray(result.time_s, dtype=float)
    intro = (f"<p class='meta'>{t.size} output times over {sig((t[-1] - t[0]) / 60.0)} min; "
             f"{len(getattr(result, 'events', None) or [])} events.</p>")
    body = "".join(f"<h3 id='{sid}'>{_e(title)}</h3>{content}"
                   for sid, title, content in _blocks(result, tracking, figures))
    return f"<section id='dynamic'><h2>Dynamic operation</h2>{intro}{body}</section>"


def dynamic_html_page(result, tracking, figures, title=None, route_figures=None):
    """A single-file HTML page of a dynamic run (string).

    When the run carries the route's steady result at the final conditions
    (``result.final_steady``, set by :func:`~flowchem.process.dynamic.simulate_dynamic`),
    the page is that route report (KPIs, balances, streams, operations,
    ``route_figures``) extended with the dynamic-operation section;
    otherwise the dynamic section stands alone.
    """
    from .. import __version__

    steady = getattr(result, "final_steady", None)
    section = dynamic_html_section(result, tracking, figures)
    if steady is not None:
        from .html import html_report

        page = html_report(steady, route_figures or {})
        link = "<a href='#dynamic'>Dynamic operation</a>"
        page = page.replace("<nav>", "<nav>" + link, 1)
        page = page.replace("</style>", "h3{font-size:1.05em;margin-top:1.2em}</style>", 1)
        page = page.replace("flowchem route report · ",
                            "flowchem route report (steady state at the end of the dynamic run) · ", 1)
        return page.replace("</body>", section + "</body>", 1)
    route = getattr(result, "route", None)
    name = title or (getattr(route, "name", None) or "dynamic run")
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    nav = "".join(f"<a href='#{sid}'>{_e(t)}</a>" for sid, t, _ in _blocks(result, tracking, {}))
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(name)} · flowchem dynamic report</title><style>{CSS}"
            "h3{font-size:1.05em;margin-top:1.2em}</style></head><body>"
            f"<header><h1>{_e(name)}</h1><p class='meta'>flowchem dynamic report · "
            f"flowchem {_e(__version__)} · {_e(now)}</p><nav>{nav}</nav></header>"
            f"{section}</body></html>\n")


def write_dynamic_html(result, tracking, path, figures=None):
    """Write the standalone page to ``path`` (a file, or a directory: then
    ``dynamic.html`` in it), atomically. Without ``figures`` the figures are
    drawn in a temporary directory. Returns the path."""
    path = Path(path)
    if path.is_dir():
        path = path / "dynamic.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    steady = getattr(result, "final_steady", None)
    with tempfile.TemporaryDirectory(prefix="flowchem-dynamic-") as tmp:
        if figures is None:
            figures = write_dynamic_figures(result, tracking, tmp)
        route_figures = None
        if steady is not None:
            from .html import render_figures

            route_figures = render_figures(steady, Path(tmp) / "route")
        text = dynamic_html_page(result, tracking, figures, route_figures=route_figures)
    return write_text_atomic(path, text)
