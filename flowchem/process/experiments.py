"""Experimental data for kinetic fitting: the tidy CSV of DESIGN.md.

One row per sample, units in the column names (``NAME_UNIT`` with ``_per_``
for ``/``)::

    experiment,kind,T_degC,time_min,A_mol_per_L,B_mol_per_L,C_mol_per_L
    E1,batch,30,0,1.0,1.2,0
    E1,batch,30,5,0.64,0.86,0.34
    F1,pfr,60,2.5,,,0.41

* ``kind`` is ``batch``, ``pfr`` or ``cstr``: an isothermal run of that
  reactor at the row's temperature.
* Batch: the row at time 0 of each experiment holds the initial
  concentrations (an empty cell there means the species was not charged,
  zero); later rows are measurements. A batch experiment runs at one
  temperature.
* Flow: each row is a steady-state sample; its inlet is given by
  ``SPECIES_in_UNIT`` columns (empty: not fed, zero), the time column is the
  residence time and the species columns are outlet measurements. PFR rows
  with the same experiment, temperature and inlet share one integration.
* Empty cells are missing values.

The result is a list of :class:`Run`, each one solve of the model, with SI
values and the CSV row of every sample for messages.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..core.units import parse_quantity

__all__ = ["Run", "ExperimentalData", "read_experiments", "KINDS"]

KINDS = ("batch", "pfr", "cstr")

_TIME_UNITS = ("s", "min", "h", "ms", "d")


@dataclass
class Run:
    """One solve of the model: a batch time course, a set of PFR residence
    times from one inlet, or one CSTR sample.

    Attributes
    ----------
    experiment, kind : str
    T : float
        Temperature, K.
    initial : ndarray (n_species,)
        Initial (batch) or inlet (flow) concentrations, mol/m^3.
    times : ndarray (m,)
        Sample times (batch) or residence times (flow), s, increasing.
    observed : ndarray (m, n_species)
        Measured concentrations, mol/m^3; NaN where not measured.
    rows : list of int
        The CSV row (1 = header) of each sample.
    """

    experiment: str
    kind: str
    T: float
    initial: np.ndarray
    times: np.ndarray
    observed: np.ndarray
    rows: list = field(default_factory=list)

    @property
    def n_observations(self):
        return int(np.count_nonzero(np.isfinite(self.observed)))


@dataclass
class ExperimentalData:
    """Runs read from one CSV file, with the species names in mechanism order."""

    runs: list
    species: list
    source: str
    measured: list  # species that have at least one measurement

    @property
    def n_observations(self):
        return sum(r.n_observations for r in self.runs)

    @property
    def temperatures(self):
        return np.array([r.T for r in self.runs])

    def experiments(self):
        return list(dict.fromkeys(r.experiment for r in self.runs))


def _unit_text(token):
    """Unit of a column name to pint text: ``mol_per_L`` -> ``mol/L``,
    ``mol_per_m3`` -> ``mol/m^3``."""
    text = token.replace("_per_", "/").replace("_", " ")
    return re.sub(r"(?<=[A-Za-z])(\d)", r"^\1", text)


def _split_column(column, species, source):
    """(what, unit) of a column: what is 'experiment', 'kind', 'T', 'time',
    ('conc', SPECIES) or ('in', SPECIES)."""
    if column in ("experiment", "kind"):
        return column, None
    if column.startswith("T_"):
        return "T", _unit_text(column[2:])
    if column.startswith("time_"):
        return "time", _unit_text(column[5:])
    # species names may contain '_': take the longest species name that prefixes the column
    for name in sorted(species, key=len, reverse=True):
        if column.startswith(name + "_in_"):
            return ("in", name), _unit_text(column[len(name) + 4:])
        if column.startswith(name + "_"):
            return ("conc", name), _unit_text(column[len(name) + 1:])
    head = column.split("_")[0]
    raise InputError(f"names no species of the mechanism ({', '.join(species)}); "
                     "expected experiment, kind, T_UNIT, time_UNIT, SPECIES_UNIT or SPECIES_in_UNIT"
                     + (f" (no species {head!r})" if head else ""), source, f"column {column!r}")


def _factor(unit, kind, source, column):
    """SI value of one unit of a column (offset units handled by the caller)."""
    try:
        return parse_quantity(f"1 {unit}", kind)
    except InputError as exc:
        raise InputError(f"unit {unit!r} is not {exc.problem.split(', got')[0].removeprefix('expected ')}",
                         source, f"column {column!r}") from None


def read_experiments(path, species):
    """Read a tidy data CSV for a mechanism with species names ``species``.

    Returns :class:`ExperimentalData`. Every refusal is an
    :class:`~flowchem.InputError` naming the file, the row and the column.
    """
    source = str(path)
    p = Path(path)
    if not p.is_file():
        raise InputError("no such data file", source)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the data file as UTF-8 text ({type(exc).__name__})", source) from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError("the data file is empty", source)
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader)]
    if "experiment" not in header or "kind" not in header:
        # not a data table at all: say what was expected, never what the file holds
        raise InputError("not a flowchem data table: the first row must name the columns "
                         "experiment, kind, T_UNIT, time_UNIT and SPECIES_UNIT", source, "row 1")
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise InputError(f"column {dup!r} appears twice", source, "row 1")
    columns = {}
    for c in header:
        if not c:
            raise InputError("a column has no name", source, "row 1")
        columns[c] = _split_column(c, species, source)
    for need, example in (("experiment", "experiment"), ("kind", "kind"), ("T", "T_degC"),
                          ("time", "time_min")):
        if need not in [w for w, _ in columns.values()]:
            raise InputError(f"missing the {need!r} column (e.g. {example!r})", source, "row 1")
    # per-column conversion to SI
    convert = {}
    for c, (what, unit) in columns.items():
        if what in ("experiment", "kind"):
            continue
        if what == "T":
            convert[c] = _temperature_converter(unit, source, c)
        elif what == "time":
            f = _factor(unit, "time", source, c)
            convert[c] = lambda x, f=f: x * f
        else:
            f = _factor(unit, "concentration", source, c)
            convert[c] = lambda x, f=f: x * f

    index = {s: i for i, s in enumerate(species)}
    samples = []  # dicts per row
    for row_number, cells in enumerate(reader, start=2):
        if len(cells) > len(header) and any(x.strip() for x in cells[len(header):]):
            raise InputError(f"{len(cells)} cells where the header has {len(header)}", source,
                             f"row {row_number}")
        cells = [x.strip() for x in cells] + [""] * (len(header) - len(cells))
        sample = {"row": row_number, "conc": {}, "in": {}}
        for c, value in zip(header, cells):
            what, _ = columns[c]
            where = f"row {row_number}, column {c!r}"
            if what == "experiment":
                if not value:
                    raise InputError("empty experiment name", source, where)
                sample["experiment"] = value
                continue
            if what == "kind":
                if value.lower() not in KINDS:
                    raise InputError(f"kind must be one of {', '.join(KINDS)}, got {value!r}", source, where)
                sample["kind"] = value.lower()
                continue
            if value == "":
                continue
            try:
                number = float(value)
            except ValueError:
                shown = value if len(value) <= 24 else value[:21] + "..."
                raise InputError(f"expected a number, got {shown!r}", source, where) from None
            if not math.isfinite(number):
                raise InputError(f"expected a finite number, got {value!r}", source, where)
            x = convert[c](number)
            if what == "T":
                if not x > 0:
                    raise InputError(f"temperature must be above absolute zero, got {value}", source, where)
                sample["T"] = x
            elif what == "time":
                if x < 0:
                    raise InputError(f"time must not be negative, got {value}", source, where)
                sample["time"] = x
            else:
                kind, name = what
                if x < 0:
                    raise InputError(f"concentration must not be negative, got {value}", source, where)
                sample[kind][name] = x
        for need, col in (("T", "T"), ("time", "time")):
            if need not in sample:
                cname = next(c for c, (w, _) in columns.items() if w == col)
                raise InputError(f"missing {need}", source, f"row {row_number}, column {cname!r}")
        samples.append(sample)
    if not samples:
        raise InputError("the data file has a header but no rows", source)

    runs = []
    by_experiment = {}
    for s in samples:
        by_experiment.setdefault(s["experiment"], []).append(s)
    kind_col = next(c for c, (w, _) in columns.items() if w == "kind")
    for name, rows in by_experiment.items():
        kinds = {s["kind"] for s in rows}
        if len(kinds) > 1:
            raise InputError(f"experiment {name!r} mixes kinds {', '.join(sorted(kinds))}", source,
                             f"row {rows[0]['row']}, column {kind_col!r}")
        kind = kinds.pop()
        if kind == "batch":
            runs.append(_batch_run(name, rows, species, index, source, columns))
        else:
            runs.extend(_flow_runs(name, kind, rows, species, index, source, columns))
    measured = [sp for sp in species if any(np.isfinite(r.observed[:, index[sp]]).any() for r in runs)]
    if not measured:
        raise InputError("no measured concentrations (all species cells after the initial rows "
                         "are empty)", source)
    return ExperimentalData(runs, list(species), source, measured)


def _temperature_converter(unit, source, column):
    # temperature units are affine (degC, degF): two points fix the map
    try:
        at100 = parse_quantity(f"100 {unit}", "temperature")
        at200 = parse_quantity(f"200 {unit}", "temperature")
    except InputError as exc:
        raise InputError(f"unit {unit!r} is not a temperature ({exc.problem})", source,
                         f"column {column!r}") from None
    scale = (at200 - at100) / 100.0
    offset = at100 - 100.0 * scale
    return lambda x: offset + scale * x


def _column_of(columns, kind, name):
    return next(c for c, (w, _) in columns.items() if w == (kind, name))


def _batch_run(name, rows, species, index, source, columns):
    rows = sorted(rows, key=lambda s: s["time"])
    time_col = next(c for c, (w, _) in columns.items() if w == "time")
    T_col = next(c for c, (w, _) in columns.items() if w == "T")
    if rows[0]["time"] != 0.0:
        raise InputError(f"batch experiment {name!r} has no row at time 0 (its initial "
                         "concentrations)", source, f"row {rows[0]['row']}, column {time_col!r}")
    if len(rows) > 1 and rows[1]["time"] == 0.0:
        raise InputError(f"batch experiment {name!r} has two rows at time 0", source,
                         f"row {rows[1]['row']}, column {time_col!r}")
    T = rows[0]["T"]
    for s in rows:
        if abs(s["T"] - T) > 1e-9 * T:
            raise InputError(f"batch experiment {name!r} changes temperature ({s['T']:.6g} K here, "
                             f"{T:.6g} K at time 0); give each temperature its own experiment",
                             source, f"row {s['row']}, column {T_col!r}")
        if s["in"]:
            sp = next(iter(s["in"]))
            raise InputError("inlet columns belong to flow experiments, not batch", source,
                             f"row {s['row']}, column {_column_of(columns, 'in', sp)!r}")
    initial = np.zeros(len(species))
    for sp, x in rows[0]["conc"].items():
        initial[index[sp]] = x
    if not initial.any():
        raise InputError(f"batch experiment {name!r}: the row at time 0 gives no initial "
                         "concentration", source, f"row {rows[0]['row']}")
    later = rows[1:]
    if not later:
        raise InputError(f"batch experiment {name!r} has no samples after time 0", source,
                         f"row {rows[0]['row']}")
    observed = np.full((len(later), len(species)), np.nan)
    for k, s in enumerate(later):
        for sp, x in s["conc"].items():
            observed[k, index[sp]] = x
    return Run(name, "batch", T, initial, np.array([s["time"] for s in later]), observed,
               [s["row"] for s in later])


def _flow_runs(name, kind, rows, species, index, source, columns):
    time_col = next(c for c, (w, _) in columns.items() if w == "time")
    groups = {}
    for s in rows:
        if not s["in"]:
            raise InputError(f"flow sample of experiment {name!r} gives no inlet concentrations "
                             "(columns SPECIES_in_UNIT)", source, f"row {s['row']}")
        if s["time"] <= 0:
            raise InputError("a flow sample needs a positive residence time", source,
                             f"row {s['row']}, column {time_col!r}")
        inlet = np.zeros(len(species))
        for sp, x in s["in"].items():
            inlet[index[sp]] = x
        key = (s["T"], tuple(inlet)) if kind == "pfr" else (s["row"],)
        groups.setdefault(key, (s["T"], inlet, []))[2].append(s)
    runs = []
    for T, inlet, members in groups.values():
        members = sorted(members, key=lambda s: s["time"])
        observed = np.full((len(members), len(species)), np.nan)
        for k, s in enumerate(members):
            for sp, x in s["conc"].items():
                observed[k, index[sp]] = x
        runs.append(Run(name, kind, T, inlet, np.array([s["time"] for s in members]), observed,
                        [s["row"] for s in members]))
    return runs
