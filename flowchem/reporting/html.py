"""A self-contained HTML report of a route run (``flowchem run --out DIR``).

:func:`render_figures` draws the route figures as PNG files (block-flow
diagram, concentration profile and temperature along the main path);
:func:`write_html_report` writes ONE ``report.html`` holding the KPIs, the
balance closure, the warnings, the stream and operation tables and those
figures embedded as base64 data URIs. The file has inline CSS only: no
external assets, no JavaScript, so it can be mailed or archived as is.

Numbers are shown in lab units (mL/min, degC, bar, mol/L, min) with four
significant figures; every text is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import tempfile
from pathlib import Path

import numpy as np

from ..core.files import write_text_atomic
from .numbers import significant as sig

__all__ = ["render_figures", "write_html_report", "html_report", "FIGURE_TITLES"]

FIGURE_TITLES = {
    "block_flow": "Block-flow diagram",
    "route_profile": "Concentrations along the main path",
    "route_temperature": "Temperature along the main path",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- figures


def render_figures(result, directory, dpi=120):
    """Draw the route figures into ``directory`` as PNG files.

    Returns a dict name -> path: ``block_flow`` (block_flow.png),
    ``route_profile`` (route_profile.png) and ``route_temperature``
    (route_temperature.png); the two profiles are left out when no operation
    leads to the product. Drawn on pyplot-free figures (Agg), so nothing is
    left open and no display is needed.
    """
    from matplotlib.figure import Figure

    from .route_figures import (block_flow_size, plot_block_flow, plot_route_profile,
                             plot_route_temperature, route_path)

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}

    w, h = block_flow_size(result)
    fig = Figure(figsize=(w, h))
    ax = fig.add_axes((0, 0, 1, 1))
    plot_block_flow(result, ax=ax)
    paths["block_flow"] = out / "block_flow.png"
    fig.savefig(paths["block_flow"], dpi=min(dpi, 2400.0 / w), facecolor="white")

    if route_path(result):
        for name, draw, size in (("route_profile", plot_route_profile, (8.0, 4.6)),
                                 ("route_temperature", plot_route_temperature, (8.0, 3.4))):
            fig = Figure(figsize=size, layout="constrained")
            draw(result, ax=fig.add_subplot())
            paths[name] = out / f"{name}.png"
            fig.savefig(paths[name], dpi=dpi, facecolor="white")
    return paths


# --------------------------------------------------------------------------- number formatting


def _e(text):
    return html.escape(str(text), quote=True)


def _scaled(value, units):
    """Pick the unit of ``units`` ((name, factor) from large to small) that
    puts ``value`` at or above 1."""
    for name, factor in units:
        if abs(value) * factor >= 1.0:
            return value * factor, name
    name, factor = units[-1]
    return value * factor, name


MASS_RATE = (("kg/h", 1.0), ("g/h", 1e3), ("mg/h", 1e6), ("µg/h", 1e9))
MOLE_RATE = (("mol/h", 1.0), ("mmol/h", 1e3), ("µmol/h", 1e6), ("nmol/h", 1e9))

FRACTION_KEYS = {"conversion", "yield", "selectivity", "purity", "yield_contribution",
                 "fraction", "recovery"}
LABELS = {
    "pmi": "PMI (process mass intensity)", "e_factor": "E-factor",
    "space_time_yield": "space-time yield", "residence_time": "residence time (reactors)",
    "total_residence_time": "total residence time", "residence_time_by_operation":
    "residence time by operation", "impurity_profile": "impurity profile",
    "per_reactor": "per reactor", "mass_closure": "mass balance closure",
    "element_closure": "element balance closure", "species_without_molar_mass":
    "species without molar mass", "mass_in": "mass in", "mass_out": "mass out",
    "outlets": "outlet streams", "T_out": "T out", "T_max": "T max",
}


def _split_key(key):
    """(label, kind) of a JSON key by its unit suffix."""
    suffixes = (
        ("_kg_per_m3_h", "sty"), ("_kg_per_h", "mass_rate_h"), ("_kg_per_s", "mass_rate_s"),
        ("_mol_per_s", "mole_rate_s"), ("_mol_percent", "percent"), ("_percent", "percent"),
        ("_m3_per_s", "flow"), ("_mol_per_m3", "conc"), ("_m3", "volume"), ("_Pa", "pressure"),
        ("_K", "temperature"), ("_W", "power"), ("_rel", "relative"), ("_s", "time"),
        ("_m", "length"),
    )
    for suffix, kind in suffixes:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], kind
    if key in FRACTION_KEYS or key.endswith("_fraction"):
        return key, "fraction"
    return key, None


def _label(base):
    return LABELS.get(base, base.replace("_", " "))


def _value(kind, v, base=""):
    """(text, unit) of a number by its kind."""
    if kind == "fraction":
        return f"{100.0 * float(v):.2f}", "%"
    if kind == "percent":
        return f"{float(v):.2f}", "%"
    if kind == "mass_rate_h":
        x, u = _scaled(float(v), MASS_RATE)
        return sig(x), u
    if kind == "mass_rate_s":
        x, u = _scaled(float(v) * 3600.0, MASS_RATE)
        return sig(x), u
    if kind == "mole_rate_s":
        x, u = _scaled(float(v) * 3600.0, MOLE_RATE)
        return sig(x), u
    if kind == "sty":
        return sig(v), "kg/(m³·h)"
    if kind == "flow":
        return sig(float(v) * 6e7), "mL/min"
    if kind == "conc":
        return sig(float(v) / 1000.0), "mol/L"
    if kind == "volume":
        return sig(float(v) * 1e6), "mL"
    if kind == "pressure":
        return sig(float(v) / 1e5), "bar"
    if kind == "temperature":
        if any(w in base for w in ("rise", "delta", "difference", "approach")):
            return sig(v), "K"
        return sig(float(v) - 273.15), "°C"
    if kind == "power":
        return sig(v), "W"
    if kind == "relative":
        return f"{float(v):.2e}", "relative"
    if kind == "time":
        return sig(float(v) / 60.0), "min"
    if kind == "length":
        return sig(v), "m"
    return sig(v), ""


def _cell(value, kind=None, base=""):
    """HTML of one value (number, string, list or nested mapping) and its unit."""
    if value is None:
        return "–", ""
    if isinstance(value, dict):
        return _nested_table(value, kind, base), ""
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
               for v in value) and value:
            texts = [_value(kind, v, base) for v in value]
            return ", ".join(_e(t) for t, _ in texts), texts[0][1]
        return _e(", ".join(str(v) for v in value)) if value else "none", ""
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), ""
    if isinstance(value, (int, float, np.floating, np.integer)):
        text, unit = _value(kind, value, base)
        return _e(text), unit
    return _e(value), ""


def _nested_table(mapping, kind=None, base=""):
    """A small table of a nested mapping: keys either carry their own unit
    suffix or inherit the parent's (impurity_profile_mol_percent: species ->
    value)."""
    rows = []
    for k, v in mapping.items():
        sub_base, sub_kind = _split_key(str(k))
        if sub_kind is None:
            sub_kind, sub_base = kind, base
            label = str(k)
        else:
            label = _label(sub_base)
        text, unit = _cell(v, sub_kind, sub_base)
        rows.append(f"<tr><th>{_e(label)}</th><td class='num'>{text}</td><td>{_e(unit)}</td></tr>")
    return "<table class='nested'>" + "".join(rows) + "</table>"


def _kv_table(mapping, skip=(), css="kv"):
    rows = []
    for key, value in mapping.items():
        if key in skip:
            continue
        base, kind = _split_key(key)
        text, unit = _cell(value, kind, base)
        rows.append(f"<tr data-key='{_e(key)}'><th>{_e(_label(base))}</th>"
                    f"<td class='num'>{text}</td><td class='unit'>{_e(unit)}</td></tr>")
    return (f"<table class='{css}'><thead><tr><th>quantity</th><th>value</th><th>unit</th></tr>"
            "</thead><tbody>" + "".join(rows) + "</tbody></table>")


# --------------------------------------------------------------------------- sections


def _outlets(res):
    outs = getattr(res, "outlets", None)
    if isinstance(outs, dict) and outs:
        return dict(outs)
    return {"": res.outlet}


def _kpi_section(result):
    p = result.product
    if not p:
        return "<p class='muted'>The route names no product: no KPIs.</p>"
    head = (f"<p>Product <b>{_e(p.get('species', '?'))}</b> on the basis of "
            f"<b>{_e(p.get('basis', '?'))}</b>, in stream <b>{_e(p.get('from', '?'))}</b>.</p>")
    return head + _kv_table(p, skip=("species", "basis", "from"), css="kv kpi")


def _balance_section(result):
    b = dict(result.balance or {})
    closure = b.get("mass_closure_rel")
    worst = max((b.get("element_closure_rel") or {}).values(), default=None)
    flags = []
    for label, value in (("mass", closure), ("elements (worst)", worst)):
        if value is None:
            flags.append(f"<span class='badge muted'>{_e(label)}: not available</span>")
        else:
            css = "ok" if value < 1e-6 else "bad"
            flags.append(f"<span class='badge {css}'>{_e(label)}: {value:.2e}</span>")
    return "<p>" + " ".join(flags) + "</p>" + _kv_table(b)


def _warnings(result):
    found = []
    for w in getattr(result, "warnings", None) or []:
        found.append(("route", str(w)))
    for name, res in result.operations.items():
        for w in getattr(res, "warnings", None) or []:
            found.append((name, str(w)))
    return found


def _warnings_section(result):
    found = _warnings(result)
    if not found:
        return "<p class='ok-text'>No warnings.</p>"
    items = "".join(f"<li><b>{_e(src)}</b>: {_e(text)}</li>" for src, text in found)
    return f"<div class='warnings'><ul>{items}</ul></div>"


def _source_of(result, stream):
    route = result.route
    if stream in route.feeds:
        return "feed"
    op, _, outlet = stream.rpartition(".")
    if stream in result.operations:
        return getattr(result.operations[stream], "kind", "operation")
    if op in result.operations:
        return f"{getattr(result.operations[op], 'kind', 'operation')} outlet {outlet}"
    return ""


def _stream_section(result):
    names = list(result.route.mechanism.species_names)
    streams = result.streams
    present = [i for i, _ in enumerate(names)
               if any(float(s.conc[i]) != 0.0 for s in streams.values())]
    head = ("<tr><th rowspan='2'>stream</th><th rowspan='2'>source</th>"
            "<th>flow</th><th>T</th><th>P</th><th>mass flow</th>"
            f"<th colspan='{len(present)}'>concentration [mol/L]</th></tr>"
            "<tr class='units'><th>mL/min</th><th>°C</th><th>bar</th><th>g/h</th>"
            + "".join(f"<th>{_e(names[i])}</th>" for i in present) + "</tr>")
    rows = []
    for name, s in streams.items():
        mass = s.mass_flow
        cells = [f"<td class='num flow'>{sig(s.flow * 6e7)}</td>",
                 f"<td class='num'>{sig(s.T - 273.15)}</td>",
                 f"<td class='num'>{sig(s.P / 1e5)}</td>",
                 f"<td class='num'>{'–' if mass is None else sig(mass * 3.6e6)}</td>"]
        cells += [f"<td class='num'>{sig(float(s.conc[i]) / 1000.0)}</td>" for i in present]
        rows.append(f"<tr data-stream='{_e(name)}'><th>{_e(name)}</th>"
                    f"<td>{_e(_source_of(result, name))}</td>" + "".join(cells) + "</tr>")
    absent = [n for i, n in enumerate(names) if i not in present]
    note = (f"<p class='muted'>Species absent from every stream: {_e(', '.join(absent))}.</p>"
            if absent else "")
    return ("<div class='scroll'><table class='grid streams'><thead>" + head + "</thead><tbody>"
            + "".join(rows) + "</tbody></table></div>" + note)


OP_COLUMNS = (("volume", "mL"), ("residence time", "min"), ("T out", "°C"), ("T max", "°C"),
              ("pressure drop", "bar"), ("heat released", "W"))


def _operation_row(result, name):
    res = result.operations[name]
    d = res.to_dict() if hasattr(res, "to_dict") else {}
    kind = d.get("type", getattr(res, "kind", "operation"))
    notes = []
    if d.get("flow_model"):
        notes.append(f"flow model {d['flow_model']}")
    if d.get("n") is not None:
        notes.append(f"{d['n']} tanks")
    if d.get("energy") and d["energy"] != "isothermal":
        notes.append(f"energy balance: {d['energy']}")
    rt = d.get("residence_time_s")
    if rt is None and d.get("hold_time_s") is not None:
        rt = d["hold_time_s"]
        notes.append("hold time")
    outs = _outlets(res)
    if len(outs) > 1:
        notes.append("outlets " + ", ".join(f"{k} ({sig(s.flow * 6e7)} mL/min)"
                                            for k, s in outs.items()))
    T_out = d.get("T_out_K")
    if T_out is None:
        T_out = next(iter(outs.values())).T
    if d.get("flow_regime"):
        notes.append(f"{d['flow_regime']} (Re {sig(d.get('reynolds'), 3)})")
    values = [
        None if d.get("volume_m3") is None else d["volume_m3"] * 1e6,
        None if rt is None else rt / 60.0,
        T_out - 273.15,
        None if d.get("T_max_K") is None else d["T_max_K"] - 273.15,
        None if d.get("pressure_drop_Pa") is None else d["pressure_drop_Pa"] / 1e5,
        d.get("heat_released_W"),
    ]
    n_warn = len(getattr(res, "warnings", None) or [])
    if n_warn:
        notes.append(f"{n_warn} warning{'s' if n_warn > 1 else ''}")
    inlets = ", ".join(result.route.links.get(name, []))
    cells = "".join(f"<td class='num'>{sig(v)}</td>" for v in values)
    css = " class='warn-row'" if n_warn else ""
    return (f"<tr data-operation='{_e(name)}'{css}><th>{_e(name)}</th><td>{_e(kind)}</td>"
            f"<td>{_e(inlets)}</td>{cells}<td>{_e('; '.join(notes))}</td></tr>")


def _operations_section(result):
    route = result.route
    order = [n for n in route.operations if n in result.operations]
    head = ("<tr><th>operation</th><th>type</th><th>from</th>"
            + "".join(f"<th>{_e(label)}<br><span class='u'>{_e(unit)}</span></th>"
                      for label, unit in OP_COLUMNS) + "<th>notes</th></tr>")
    rows = "".join(_operation_row(result, n) for n in order)
    return ("<div class='scroll'><table class='grid ops'><thead>" + head + "</thead><tbody>"
            + rows + "</tbody></table></div>")


def embedded_figure(path, title, element_id):
    """A ``<figure>`` with the PNG at ``path`` inline as a data URI (the report
    stays one self-contained file)."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"figure {title!r} ({path}) is not a PNG file")
    b64 = base64.b64encode(data).decode("ascii")
    return (f"<figure id='{_e(element_id)}'><img alt='{_e(title)}' "
            f"src='data:image/png;base64,{b64}'><figcaption>{_e(title)}</figcaption></figure>")


def _figure_section(figures):
    if not figures:
        return "<p class='muted'>No figures.</p>"
    return "".join(embedded_figure(path, FIGURE_TITLES.get(name, name.replace("_", " ")),
                                   f"fig-{name}") for name, path in figures.items())


CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;
max-width:1200px;padding:1.2em 2em;color:#1d2329;line-height:1.4;font-size:15px}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.6em;border-bottom:2px solid #d9dee3;
padding-bottom:.2em}.muted{color:#6b7680}.meta{color:#55606a;font-size:.9em}
nav a{margin-right:1em;color:#2f5d8a;text-decoration:none}
table{border-collapse:collapse;font-size:.88em;margin:.4em 0}
th,td{padding:.25em .6em;text-align:left;vertical-align:top}
table.grid th,table.grid td{border:1px solid #d9dee3}table.grid thead th{background:#eef2f5}
table.grid tbody tr:nth-child(even){background:#f8fafb}
table.kv th{font-weight:normal;color:#3d4852;border-bottom:1px solid #edf0f2}
table.kv td{border-bottom:1px solid #edf0f2}table.kv thead th{font-weight:bold;color:#1d2329}
table.nested{font-size:1em;margin:0}table.nested th,table.nested td{border:none;padding:.05em .5em}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.units th{font-weight:normal;font-size:.9em;color:#55606a}.u{font-weight:normal;color:#55606a}
.scroll{overflow-x:auto}.badge{display:inline-block;padding:.15em .6em;border-radius:1em;
font-size:.85em;margin-right:.5em}.badge.ok{background:#dff3e3;color:#17602a}
.badge.bad{background:#fde2e1;color:#8c1c13}.badge.muted{background:#eef2f5}
.warnings{background:#fff4d6;border-left:5px solid #e0a100;padding:.4em 1em;border-radius:3px}
.warnings li{margin:.3em 0}.ok-text{color:#17602a}tr.warn-row{background:#fff4d6!important}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #e3e7ea}
figcaption{color:#55606a;font-size:.9em}
"""


def html_report(result, figures=None):
    """The report as an HTML string; ``figures`` maps names to PNG paths."""
    from .. import __version__

    route = result.route
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    meta = (f"route file {_e(route.source)} · {len(route.feeds)} feeds, "
            f"{len(route.operations)} operations, {len(route.mechanism.species_names)} species · "
            f"solved in {result.elapsed:.3g} s · flowchem {_e(__version__)} · {_e(now)}")
    sections = [
        ("kpi", "Key performance indicators", _kpi_section(result)),
        ("balance", "Balance closure", _balance_section(result)),
        ("warnings", f"Warnings ({len(_warnings(result))})", _warnings_section(result)),
        ("figures", "Figures", _figure_section(figures or {})),
        ("streams", "Streams", _stream_section(result)),
        ("operations", "Operations", _operations_section(result)),
    ]
    nav = "".join(f"<a href='#{sid}'>{_e(title)}</a>" for sid, title, _ in sections)
    body = "".join(f"<section id='{sid}'><h2>{_e(title)}</h2>{content}</section>"
                   for sid, title, content in sections)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(route.name)} · flowchem report</title><style>{CSS}</style></head><body>"
            f"<header><h1>{_e(route.name)}</h1><p class='meta'>flowchem route report · {meta}</p>"
            f"<nav>{nav}</nav></header>{body}</body></html>\n")


def write_html_report(result, path, figures=None):
    """Write the single-file HTML report of ``result`` to ``path``.

    ``path`` is a file name, or an existing directory (then
    ``report.html`` in it). ``figures`` maps names to PNG files to embed (as
    from :func:`render_figures`); without it the standard figures are drawn
    in a temporary directory. The file is written atomically. Returns its
    :class:`~pathlib.Path`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    if figures is None:
        with tempfile.TemporaryDirectory(prefix="flowchem-figures-") as tmp:
            text = html_report(result, render_figures(result, tmp))
    else:
        text = html_report(result, figures)
    return write_text_atomic(path, text)
