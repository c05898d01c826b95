"""Plain-text stream tables and KPI summaries for the terminal."""

from __future__ import annotations

from .units import parse_quantity


def _fmt(x, width=11):
    if x is None:
        return "-".rjust(width)
    if x == 0:
        return "0".rjust(width)
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.4f}".rjust(width) if abs(x) < 100 else f"{x:.2f}".rjust(width)
    return f"{x:.3e}".rjust(width)


def stream_table(result, conc_unit="mol/L", flow_unit="mL/min"):
    """Streams as columns; flow, temperature and concentrations as rows."""
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
    for i, sp in enumerate(species):
        if all(s.conc[i] == 0 for s in streams):
            continue
        lines.append(f"{sp} [{conc_unit}]".ljust(label_w)
                     + "".join(_fmt(s.conc[i] / cf, width) for s in streams))
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
