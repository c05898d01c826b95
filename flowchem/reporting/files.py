"""Files written by ``flowchem run --out DIR``: the JSON result, a CSV stream
table, a profile plot per reactor, the route figures (block-flow diagram,
concentrations and temperature along the route) and a self-contained
``report.html`` that embeds them."""

from __future__ import annotations

import csv
from pathlib import Path

from ..core.files import atomic_open


def write_streams_csv(result, path):
    species = result.route.mechanism.species_names
    with atomic_open(path, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["stream", "flow_m3_per_s", "T_K", "P_Pa", "mass_flow_kg_per_s"]
                   + [f"conc_{s}_mol_per_m3" for s in species])
        for name, s in result.streams.items():
            w.writerow([name, s.flow, s.T, s.P, "" if s.mass_flow is None else s.mass_flow]
                       + list(map(float, s.conc)))


def write_outputs(result, directory):
    """Write everything into ``directory``; returns the list of paths."""
    from .plots import pyplot

    plt = pyplot()
    from .html import render_figures, write_html_report

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    result.write_json(out / "result.json")
    write_streams_csv(result, out / "streams.csv")
    written = [out / "result.json", out / "streams.csv"]
    for name, res in result.operations.items():
        if not hasattr(res, "plot"):
            continue
        ax = res.plot()
        path = out / f"{name}.png"
        ax.figure.savefig(path, dpi=120)
        plt.close(ax.figure)
        written.append(path)
        if getattr(res, "heat_curve", None) is not None:
            ax = res.plot_heat_balance()
            path = out / f"{name}_heat_balance.png"
            ax.figure.savefig(path, dpi=120)
            plt.close(ax.figure)
            written.append(path)
    figures = render_figures(result, out)
    written.extend(figures.values())
    written.append(write_html_report(result, out / "report.html", figures))
    return written
