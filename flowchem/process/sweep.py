"""Design-space sweeps: run a route over a grid of one or two parameters and
collect the KPIs, so a chemist sees where yield, impurities, hot spot and
pressure drop go before choosing conditions.

A parameter is named ``ENTRY.KEY`` where ENTRY is a feed or an operation of
the route (``R2.T``, ``nitrite.flow``, ``R1.length``, ``R2.energy.coolant_T``)
and its values are given as a range with units::

    flowchem sweep route.yaml --vary "R2.T=40..70 degC:7" --vary "nitrite.flow=0.1..0.2 mL/min:5"

The route file itself is not changed: each point is the file with those
entries replaced, validated and run like any route.
"""

from __future__ import annotations

import copy
import csv
import itertools
import re
from pathlib import Path

import numpy as np

from ..core.errors import InputError, SolverError
from ..core.files import atomic_open
from .route import Route
from ..core.yamlio import read_yaml

_RANGE = re.compile(r"^\s*([^=]+?)\s*=\s*([-+0-9.eE]+)\s*\.\.\s*([-+0-9.eE]+)\s*([^:]*?)\s*(?::\s*(\d+))?\s*$")

def _product(key):
    return lambda d: (d.get("product") or {}).get(key)


def _over_operations(d, key, combine):
    """``combine`` of ``key`` over the operations that computed it; None (an
    empty cell) when none did: not computed is empty, never zero."""
    values = [op[key] for op in d["operations"].values() if op.get(key) is not None]
    return combine(values) if values else None


#: KPI columns of the sweep table: name -> function of RouteResult.to_dict()
COLUMNS = {
    "conversion": _product("conversion"),
    "yield": _product("yield"),
    "selectivity": _product("selectivity"),
    "production_rate_kg_per_h": _product("production_rate_kg_per_h"),
    "space_time_yield_kg_per_m3_h": _product("space_time_yield_kg_per_m3_h"),
    "residence_time_s": _product("residence_time_s"),
    "T_max_K": lambda d: _over_operations(d, "T_max_K", max),
    "pressure_drop_Pa": lambda d: _over_operations(d, "pressure_drop_Pa", sum),
    "impurities_mol_percent": lambda d: (sum((d.get("product") or {}).get(
        "impurity_profile_mol_percent", {}).values()) if d.get("product") else None),
    "n_warnings": lambda d: sum(len(op.get("warnings", [])) for op in d["operations"].values()),
}


class Parameter:
    """One swept entry: ``name`` (ENTRY.KEY...), the values and their unit text."""

    def __init__(self, name, values, unit=""):
        self.name = name
        self.values = list(values)
        self.unit = unit

    @classmethod
    def parse(cls, text):
        """``"R2.T=40..70 degC:7"`` -> 7 values from 40 to 70 degC."""
        m = _RANGE.match(text)
        if not m:
            raise InputError(f"expected ENTRY.KEY=START..STOP UNIT:N, got {text!r}", "command line", "--vary")
        name, start, stop, unit, n = m.groups()
        n = int(n) if n else 5
        if n < 1 or "." not in name:
            raise InputError(f"expected ENTRY.KEY=START..STOP UNIT:N with N >= 1, got {text!r}",
                             "command line", "--vary")
        return cls(name.strip(), np.linspace(float(start), float(stop), n), unit.strip())

    def text(self, value):
        return f"{value:.12g} {self.unit}".strip() if self.unit else float(value)


def _set(data, name, value, source):
    """Put ``value`` at ENTRY.KEY[.SUBKEY] in a route mapping (a copy)."""
    entry, *keys = name.split(".")
    for section in ("operations", "feeds"):
        for item in data.get(section, []):
            if isinstance(item, dict) and item.get("name") == entry:
                target = item
                for k in keys[:-1]:
                    if not isinstance(target.get(k), dict):
                        target[k] = {}
                    target = target[k]
                target[keys[-1]] = value
                return
    raise InputError(f"no feed or operation named {entry!r}", source, f"--vary {name}")


class SweepResult:
    """The grid of parameter values and the KPI table."""

    def __init__(self, parameters, rows, failures):
        self.parameters = parameters
        self.rows = rows            # list of dicts: parameter values then KPIs
        self.failures = failures    # list of (point, message)

    def column(self, key):
        return np.array([np.nan if r.get(key) is None else r[key] for r in self.rows], dtype=float)

    def write_csv(self, path):
        keys = [p.name for p in self.parameters] + list(COLUMNS) + ["status"]
        with atomic_open(path, newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            for r in self.rows:
                w.writerow({k: r.get(k, "") for k in keys})

    def plot(self, key="yield", ax=None):
        """A line (one parameter) or a filled contour map (two) of ``key``."""
        from ..reporting.plots import _axes

        fig, ax = _axes(ax)
        z = self.column(key)
        p = self.parameters
        if len(p) == 1:
            ax.plot(p[0].values, z, marker="o")
            ax.set_xlabel(f"{p[0].name} [{p[0].unit}]" if p[0].unit else p[0].name)
            ax.set_ylabel(key)
        else:
            Z = z.reshape(len(p[0].values), len(p[1].values)).T
            cs = ax.contourf(p[0].values, p[1].values, Z, levels=12)
            fig.colorbar(cs, ax=ax, label=key)
            ax.set_xlabel(f"{p[0].name} [{p[0].unit}]" if p[0].unit else p[0].name)
            ax.set_ylabel(f"{p[1].name} [{p[1].unit}]" if p[1].unit else p[1].name)
        ax.set_title(f"{key} over the design space")
        ax.grid(alpha=0.3)
        return ax


def sweep(route_path, parameters, progress=None):
    """Run the route at every point of the grid of ``parameters`` (one or two
    :class:`Parameter`); a point whose input is invalid or whose solve fails
    is recorded with its reason, not dropped silently."""
    if not 1 <= len(parameters) <= 2:
        raise InputError("sweep one or two parameters", "command line", "--vary")
    data, source = read_yaml(route_path)
    base_dir = Path(route_path).resolve().parent
    # validate the unmodified route first: a bad file fails before any sweep
    Route.from_dict(copy.deepcopy(data), source=source, base_dir=base_dir)
    rows, failures = [], []
    grid = list(itertools.product(*[p.values for p in parameters]))
    for i, point in enumerate(grid):
        if progress is not None:
            progress(i, len(grid), ", ".join(f"{p.name}={v:.4g}" for p, v in zip(parameters, point)))
        point_data = copy.deepcopy(data)
        for p, v in zip(parameters, point):
            _set(point_data, p.name, p.text(v), source)
        row = {p.name: float(v) for p, v in zip(parameters, point)}
        try:
            d = Route.from_dict(point_data, source=source, base_dir=base_dir).run().to_dict()
            row.update({k: f(d) for k, f in COLUMNS.items()})
            row["status"] = "ok"
        except (InputError, SolverError) as exc:
            row["status"] = f"failed: {exc}"
            failures.append((point, str(exc)))
        rows.append(row)
    return SweepResult(parameters, rows, failures)
