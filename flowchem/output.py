"""Files written by ``flowchem run --out DIR``: the JSON result, a CSV stream
table and a profile plot per reactor."""

from __future__ import annotations

import csv
from pathlib import Path


def write_streams_csv(result, path):
    species = result.route.mechanism.species_names
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["stream", "flow_m3_per_s", "T_K", "P_Pa", "mass_flow_kg_per_s"]
                   + [f"conc_{s}_mol_per_m3" for s in species])
        for name, s in result.streams.items():
            w.writerow([name, s.flow, s.T, s.P, "" if s.mass_flow is None else s.mass_flow]
                       + list(map(float, s.conc)))


def write_outputs(result, directory):
    """Write result.json, streams.csv and one PNG per reactor into ``directory``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    return written
