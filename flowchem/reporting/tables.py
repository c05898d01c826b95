"""Plain-text stream tables and KPI summaries for the terminal."""

from __future__ import annotations

from ..core.units import parse_quantity
from .numbers import table_cell as _fmt


def stream_table(result, conc_unit="mol/L", flow_unit="mL/min"):
    """Streams as columns; flow, temperature and concentrations as rows (for
    a gas route: pressure and mole fractions, which do not change with T)."""
    cf = parse_quantity(f"1 {conc_unit}", "concentration")
    ff = parse_quantity(f"1 {flow_unit}", "flow")
    names = list(result.streams)
    streams = [result.streams[n] for n in names]
    species = result.route.mechanism.species_names
    width = max(11, max(len(n) for n in names) + 1)
    label_w = max(18, max(len(s) for s in species) + 2 + len(conc_unit) + 3)
    lines = []
    header = "stream".ljust(label_w) + "".join(n.rjust(width) for n in names)
    lines.append(header)
    lines.append("-" * len(header))
    lines.append(f"flow [{flow_unit}]".ljust(label_w) + "".join(_fmt(s.flow / ff, width) for s in streams))
    lines.append("T [degC]".ljust(label_w) + "".join(_fmt(s.T - 273.15, width) for s in streams))
    if streams and all(getattr(s, "phase", None) == "gas" for s in streams):
        lines.append("P [bar]".ljust(label_w) + "".join(_fmt(s.P / 1e5, width) for s in streams))
        fractions = [s.conc / s.conc.sum() if s.conc.sum() > 0 else s.conc for s in streams]
        for i, sp in enumerate(species):
            row = [0.0 if abs(x[i]) <= 1e-12 else x[i] for x in fractions]
            if any(v != 0 for v in row):
                lines.append(f"x {sp} [mol/mol]".ljust(label_w)
                             + "".join(_fmt(v, width) for v in row))
        lines.append("mass flow [g/h]".ljust(label_w)
                     + "".join(_fmt(s.mass_flow * 3.6e6, width) for s in streams))
        return "\n".join(lines)
    # round-off far below the stream's own concentrations prints as zero
    floors = [1e-12 * float(abs(s.conc).max()) if s.conc.size else 0.0 for s in streams]
    for i, sp in enumerate(species):
        row = [0.0 if abs(s.conc[i]) <= fl else s.conc[i] / cf for s, fl in zip(streams, floors)]
        if all(v == 0 for v in row):
            continue
        lines.append(f"{sp} [{conc_unit}]".ljust(label_w) + "".join(_fmt(v, width) for v in row))
    mass = [s.mass_flow for s in streams]
    lines.append("mass flow [g/h]".ljust(label_w)
                 + "".join(_fmt(None if m is None else m * 3.6e6, width) for m in mass))
    return "\n".join(lines)


def summary(result):
    """KPIs and balance closure, one per line."""
    lines = [f"route: {result.route.name}"]
    p = result.product
    if p is not None:
        lines.append(f"product {p['species']} (basis {p['basis']}, at {p['from']}):")
        lines.append(f"  conversion of {p['basis']}: {100 * p['conversion']:.2f} %")
        lines.append(f"  yield:                {100 * p['yield']:.2f} %")
        if p["selectivity"] is not None:
            lines.append(f"  selectivity:          {100 * p['selectivity']:.2f} %")
        if p["production_rate_kg_per_h"] is not None:
            lines.append(f"  production rate:      {p['production_rate_kg_per_h'] * 1e6:.4g} mg/h")
            if p["space_time_yield_kg_per_m3_h"] is not None:
                lines.append(f"  space-time yield:     {p['space_time_yield_kg_per_m3_h']:.4g} kg/(m3 h)")
        else:
            lines.append(f"  production rate:      {p['production_rate_mol_per_s'] * 3.6e6:.4g} mmol/h")
        lines.append(f"  total residence time: {p['residence_time_s'] / 60:.3f} min "
                     f"in {p['reactor_volume_m3'] * 1e6:.4g} mL of reactor")
        imp = p.get("impurity_profile_mol_percent") or {}
        if imp:
            worst = sorted(imp.items(), key=lambda kv: -kv[1])[:6]
            lines.append("  impurities (mol % of product): "
                         + ", ".join(f"{k} {v:.3g}" for k, v in worst))
        if p.get("pmi") is not None:
            lines.append(f"  PMI:                  {p['pmi']:.4g} kg/kg   E-factor: {p['e_factor']:.4g}")
    comparison = result.reference_comparison()
    if comparison:
        lines.append(f"compared with {comparison['source']}:")
        for key, row in comparison["values"].items():
            lines.append(f"  {key:22s} model {_kpi_text(row['kpi'], row['model'])}   "
                         f"published {_kpi_text(row['kpi'], row['reference'])}")
    warnings = [w for res in result.operations.values() for w in getattr(res, "warnings", [])]
    for w in warnings:
        lines.append(f"WARNING: {w}")
    b = result.balance
    if b["mass_closure_rel"] is not None:
        note = ""
        if b["species_without_molar_mass"]:
            note = f" (species without molar mass left out: {', '.join(b['species_without_molar_mass'])})"
        lines.append(f"mass balance closure: {b['mass_closure_rel']:.2e} relative{note}")
    else:
        lines.append("mass balance closure: not available (no species has a molar mass)")
    if b["element_closure_rel"]:
        worst = max(b["element_closure_rel"].items(), key=lambda kv: kv[1])
        lines.append(f"element balance closure: worst {worst[0]} {worst[1]:.2e} relative")
    lines.append(f"solved in {result.elapsed:.3f} s")
    return "\n".join(lines)


def _kpi_text(kpi, value):
    if value is None:
        return "-"
    if kpi in ("yield", "conversion", "selectivity"):
        return f"{100 * value:.1f} %"
    if kpi == "production_rate_kg_per_h":
        return f"{value * 1e6:.4g} mg/h"
    if kpi.endswith("_s"):
        return f"{value / 60:.3g} min"
    return f"{value:.4g}"
