"""Batch against flow: what the chemistry of a flow route would take in a
stirred, jacketed batch vessel.

    result = fc.load_route("route.yaml").run()
    cmp = compare_batch(result, vessel_volume="100 L", hazardous=["CEI"])
    print(cmp.table()); cmp.to_dict(); cmp.plot()

Model, stated plainly
---------------------
* **One vessel, telescoped.** Every reacting step of the route (reactors,
  and the hold of a quench) runs one after another in the same vessel, in
  route order (parallel branches too, so their times add). Mixers become
  charges: streams that meet are charged in the ratio of their flows. The
  working volume (``vessel_volume * fill_fraction``) is the largest liquid
  volume of the sequence, that of the stream of largest flow; every stream
  and step holds the working volume times its flow over that largest flow
  (in a one-reactor route the reactor runs at the full working volume).
* **Batch composition is chained.** The first step starts from the flow
  reactor's inlet composition; each later step starts from what the batch
  itself made upstream (mixed with the fresh charges), so a CSTR whose
  selectivity differs from a batch's carries that difference forward.
  Operations that do not react (mixer, splitter, separator, heat exchanger)
  send each species to each outlet in the same fraction as in flow; an
  unknown operation that changes amounts passes its flow outlets on.
* **Kinetic time.** The key reactant of a step is, by default, the species
  with the largest fractional conversion among the *major* reactants of the
  flow reactor: species fed to it (inlet concentration > 0) whose
  consumption there is at least ``MAJOR_CONSUMPTION_FRACTION`` (10 %) of the
  largest consumption (mol/m^3) of any species in it, so a trace carried over
  from upstream does not become the key; ``conversion_species`` overrides it.
  The batch runs isothermally at the reactor's temperature: its ``T``; for
  a cooled reactor without one, the coolant temperature (the process set
  point); otherwise the inlet temperature (an adiabatic reactor is so
  compared at its inlet temperature, with a note). The time to the flow
  conversion is found by root finding (Brent) on the batch's dense output.
  When the batch cannot reach
  it (equilibrium or plateau, or beyond ``MAX_BATCH_TIME``) the step, the
  cycle and the throughput are reported as unreachable (``None``).
* **Heat.** The heat released per volume of a step is
  ``sum_j (-dH_j) xi_j`` with the extents ``xi`` from a least-squares
  solution of ``S^T xi = c_end - c_start`` (exact for independent reactions;
  for dependent ones any solution gives the same heat when the enthalpies
  obey Hess's law, which is checked and noted otherwise). The jacket removes
  at most ``U * A * coolant_dT`` with ``A = jacket_area_ref *
  (vessel_volume / vessel_volume_ref)**(2/3)`` (geometric similarity; the
  area is that of the vessel, whatever the fill of a step). An exothermic
  step is dosed (semi-batch) so that the heat released never exceeds that
  capacity: ``t_dose = Q / (U A dT)``; the step takes
  ``max(kinetic time, t_dose)``. Endothermic steps are not limited. The peak
  heat release rate of an all-in batch (rates of progress on the batch
  course) is reported against the capacity as a warning.
* **Cycle.** ``charge + sum of step times + discharge + cleaning``.
* **Product per batch** is the batch's own product concentration in the
  route's product stream times that stream's batch volume, not a scaling
  of the flow concentration. Throughput is per cycle; per
  equipment volume it is per *vessel* volume (batch) and per total reactor
  volume of the route (flow).
* **Hazardous inventory.** Batch: the largest amount in the vessel at
  once, the maximum over every step's time course and every charge of
  ``c_i(t) * volume``. Flow: the holdup inside the reactors (and quench
  holds), the integral of ``c_i`` over each reactor's volume (plug flow:
  Gauss-Legendre on every integrator step of the dense output, since a
  trapezoid on the 201-point profile is only good to ~1e-5; stirred tanks:
  tank concentration times tank volume; mixers, separators: zero). The feed
  reservoirs of the flow process are not counted.
* **Flow side.** Throughput is ``result.product["production_rate_kg_per_h"]``;
  the equipment volume is the sum of the reacting steps' volumes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..reactors import FLOW_REACTOR_KINDS
from ..reporting.numbers import significant
from ..core.files import write_text_atomic
from ..core.units import parse_quantity

__all__ = ["BatchComparison", "StepComparison", "HazardInventory", "compare_batch",
           "compare_batch_command", "MAJOR_CONSUMPTION_FRACTION", "MAX_BATCH_TIME"]


#: A species counts as a major reactant of a step when its consumption is at
#: least this fraction of the largest consumption in the step.
MAJOR_CONSUMPTION_FRACTION = 0.1

#: Longest batch searched for the flow conversion, s (30 days).
MAX_BATCH_TIME = 30 * 86400.0

BATCH_POINTS = 401     # grid of each batch run (the crossing is refined on dense output)
COURSE_POINTS = 801    # grid for inventories and heat rates along a step

WHERE = "compare_batch"


# ---------------------------------------------------------------------------
# result classes

@dataclass
class StepComparison:
    """One reactor step, in batch and in flow (SI)."""

    name: str
    kind: str
    T: float
    key_species: str | None
    conversion: float                    # flow conversion of the key species
    flow_residence_time: float           # s
    batch_volume: float                  # m^3 of liquid in the vessel during the step
    kinetic_time: float | None           # s to the flow conversion, None: unreachable
    reachable: bool
    best_conversion: float               # what the batch reaches (= conversion when reachable)
    heat: float                          # J per batch released in the step (>0 exothermic)
    heat_per_volume: float               # J/m^3
    dosing_time: float                   # s, Q / (U A dT) (0 when not exothermic)
    peak_heat_rate: float                # W, all-in batch
    limited_by: str | None               # "kinetics" or "cooling" (None: unreachable)
    notes: list = field(default_factory=list)

    @property
    def step_time(self):
        if self.kinetic_time is None:
            return None
        return max(self.kinetic_time, self.dosing_time)

    def to_dict(self):
        return {
            "name": self.name, "type": self.kind, "T_K": self.T,
            "key_species": self.key_species, "flow_conversion": self.conversion,
            "batch_conversion": self.best_conversion, "reachable": self.reachable,
            "flow_residence_time_s": self.flow_residence_time,
            "batch_volume_m3": self.batch_volume,
            "kinetic_time_s": self.kinetic_time,
            "heat_released_J": self.heat, "heat_released_J_per_m3": self.heat_per_volume,
            "dosing_time_s": self.dosing_time,
            "peak_heat_release_all_in_W": self.peak_heat_rate,
            "step_time_s": self.step_time, "limited_by": self.limited_by,
            "notes": list(self.notes),
        }


@dataclass
class HazardInventory:
    """Largest amount of one flagged species held at once, batch and flow."""

    species: str
    molar_mass: float | None             # kg/mol
    batch_mol: float
    batch_where: str                     # step (or charge) where the maximum sits
    batch_time: float                    # s into that step
    flow_mol: float
    flow_by_operation: dict

    def _kg(self, mol):
        return None if self.molar_mass is None else mol * self.molar_mass

    @property
    def batch_kg(self):
        return self._kg(self.batch_mol)

    @property
    def flow_kg(self):
        return self._kg(self.flow_mol)

    @property
    def ratio(self):
        return self.batch_mol / self.flow_mol if self.flow_mol > 0 else None

    def to_dict(self):
        return {"species": self.species, "batch_max_mol": self.batch_mol,
                "batch_max_kg": self.batch_kg, "batch_max_at": self.batch_where,
                "batch_max_time_s": self.batch_time,
                "flow_holdup_mol": self.flow_mol, "flow_holdup_kg": self.flow_kg,
                "flow_holdup_by_operation_mol": dict(self.flow_by_operation),
                "batch_over_flow": self.ratio}


class BatchComparison:
    """Per-step rows, totals and hazardous inventories of a batch-against-flow
    comparison (see the module docstring for the model)."""

    def __init__(self, route_name, settings, steps, totals, hazards, notes):
        self.route_name = route_name
        self.settings = settings
        self.steps = steps
        self.totals = totals
        self.hazards = hazards
        self.notes = notes

    def __getitem__(self, name):
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"no step {name!r} (steps: {', '.join(s.name for s in self.steps)})")

    def hazard(self, species):
        for h in self.hazards:
            if h.species == species:
                return h
        raise KeyError(f"{species!r} was not flagged as hazardous")

    @property
    def cycle_time(self):
        return self.totals["cycle_time_s"]

    def to_dict(self):
        return {"route": self.route_name, "settings": dict(self.settings),
                "steps": [s.to_dict() for s in self.steps], "totals": dict(self.totals),
                "hazardous": [h.to_dict() for h in self.hazards], "notes": list(self.notes)}

    def write_json(self, path):
        """Write :meth:`to_dict` as JSON atomically."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")

    # -- text -----------------------------------------------------------
    def table(self):
        s, t = self.settings, self.totals
        out = [f"Batch against flow: {self.route_name}",
               f"vessel {_fmt(s['vessel_volume_m3'] * 1e3)} L, working volume "
               f"{_fmt(s['working_volume_m3'] * 1e3)} L, jacket {_fmt(s['jacket_area_m2'])} m2, "
               f"U {_fmt(s['U_W_per_m2_K'])} W/m2/K, dT {_fmt(s['coolant_dT_K'])} K: cooling capacity "
               f"{_fmt(s['cooling_capacity_W'] / 1e3)} kW",
               ""]
        head = (f"{'step':<10} {'type':<12} {'T [C]':>7} {'key':<8} {'X':>7} {'flow tau':>10} "
                f"{'batch t':>10} {'Q [kJ]':>10} {'dosing':>10} {'step t':>10}  limited by")
        out.append(head)
        out.append("-" * len(head))
        for r in self.steps:
            out.append(f"{r.name:<10} {r.kind:<12} {r.T - 273.15:>7.1f} {str(r.key_species):<8} "
                       f"{r.conversion:>7.4f} {_tfmt(r.flow_residence_time):>10} "
                       f"{_tfmt(r.kinetic_time):>10} {r.heat / 1e3:>10.4g} "
                       f"{_tfmt(r.dosing_time):>10} {_tfmt(r.step_time):>10}  "
                       f"{r.limited_by or 'unreachable'}")
        out.append("")
        out.append(f"cycle time: {_tfmt(t['cycle_time_s'])} = charge {_tfmt(s['charge_time_s'])} + "
                   f"steps {_tfmt(t['reaction_time_s'])} + discharge {_tfmt(s['discharge_time_s'])} + "
                   f"cleaning {_tfmt(s['cleaning_time_s'])}")
        if t.get("product") is not None:
            out.append(f"product {t['product']}: {_fmt(t['product_per_batch_mol'])} mol "
                       f"({_fmt(t['product_per_batch_kg'])} kg) per batch")
        out.append(f"{'':<26}{'batch':>14}{'flow':>14}{'flow/batch':>12}")
        rows = [("throughput [kg/h]", t["batch_throughput_kg_per_h"], t["flow_throughput_kg_per_h"]),
                ("per volume [kg/(h m3)]", t["batch_throughput_kg_per_h_m3"],
                 t["flow_throughput_kg_per_h_m3"]),
                ("equipment volume [L]", s["vessel_volume_m3"] * 1e3, t["flow_reactor_volume_m3"] * 1e3),
                ("cycle / residence [min]", _div(t["cycle_time_s"], 60.0), _div(t["flow_residence_time_s"], 60.0))]
        for label, b, f in rows:
            out.append(f"{label:<26}{_fmt(b):>14}{_fmt(f):>14}{_fmt(_div(f, b)):>12}")
        if self.hazards:
            out.append("")
            out.append(f"{'hazardous':<10}{'batch [mol]':>14}{'batch [kg]':>12}{'flow [mol]':>14}"
                       f"{'flow [kg]':>12}{'batch/flow':>12}  batch maximum at")
            for h in self.hazards:
                out.append(f"{h.species:<10}{_fmt(h.batch_mol):>14}{_fmt(h.batch_kg):>12}"
                           f"{_fmt(h.flow_mol):>14}{_fmt(h.flow_kg):>12}{_fmt(h.ratio):>12}  "
                           f"{h.batch_where} t = {_tfmt(h.batch_time)}")
        notes = self.notes + [f"{r.name}: {n}" for r in self.steps for n in r.notes]
        if notes:
            out.append("")
            out.extend(f"note: {n}" for n in notes)
        return "\n".join(out)

    def __str__(self):
        return self.table()

    # -- plot -----------------------------------------------------------
    def plot(self, ax=None):
        """Bar charts, batch against flow: time per step (and the cycle),
        throughput per equipment volume, hazardous inventory (log scales).

        ``ax``: None (a new figure), a sequence of three Axes, or one Axes
        whose grid cell is split into three panels. Returns the three Axes.
        """
        axes = _three_axes(ax)
        batch_c, flow_c = "#c0504d", "#4f81bd"
        # time per step
        a = axes[0]
        labels = [r.name for r in self.steps] + ["total"]
        b = [r.step_time for r in self.steps] + [self.totals["cycle_time_s"]]
        f = [r.flow_residence_time for r in self.steps] + [self.totals["flow_residence_time_s"]]
        _bars(a, labels, [b, f], ["batch", "flow"], [batch_c, flow_c], scale=1 / 60.0)
        a.set_ylabel("time [min]")
        a.set_title("time per step (total: batch cycle)", fontsize="medium")
        # throughput per volume
        a = axes[1]
        _bars(a, ["kg/(h m3)"], [[self.totals["batch_throughput_kg_per_h_m3"]],
                                 [self.totals["flow_throughput_kg_per_h_m3"]]],
              ["batch", "flow"], [batch_c, flow_c])
        a.set_ylabel("throughput per equipment volume [kg/(h m3)]")
        a.set_title("productivity", fontsize="medium")
        # hazardous inventory
        a = axes[2]
        if self.hazards:
            _bars(a, [h.species for h in self.hazards],
                  [[h.batch_mol for h in self.hazards], [h.flow_mol for h in self.hazards]],
                  ["batch", "flow"], [batch_c, flow_c])
            a.set_ylabel("largest amount held [mol]")
        else:
            a.text(0.5, 0.5, "no hazardous species flagged", ha="center", va="center",
                   transform=a.transAxes)
            a.set_xticks([])
            a.set_yticks([])
        a.set_title("hazardous inventory", fontsize="medium")
        axes[0].figure.suptitle(f"Batch against flow: {self.route_name}", fontsize="medium")
        return axes


# ---------------------------------------------------------------------------
# formatting and plotting helpers

def _fmt(x):
    return significant(x, 4, trailing_zeros=False, missing="-")


def _div(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def _tfmt(t):
    if t is None:
        return "-"
    if t == 0:
        return "0"
    if t < 120:
        return f"{t:.3g} s"
    if t < 7200:
        return f"{t / 60:.3g} min"
    return f"{t / 3600:.3g} h"


def _three_axes(ax):
    if ax is None:
        from ..reporting.plots import pyplot

        fig, axes = pyplot().subplots(1, 3, figsize=(12, 4.2), layout="constrained")
        return list(axes)
    if isinstance(ax, (list, tuple, np.ndarray)):
        axes = list(np.ravel(ax))
        if len(axes) != 3:
            raise InputError(f"expected three Axes, got {len(axes)}", "<python>", "BatchComparison.plot")
        return axes
    fig = ax.figure
    spec = ax.get_subplotspec()
    if spec is None:
        raise InputError("give a grid Axes (from subplots) or three Axes", "<python>",
                         "BatchComparison.plot")
    ax.remove()
    inner = spec.subgridspec(1, 3)
    return [fig.add_subplot(inner[0, k]) for k in range(3)]


def _bars(ax, labels, series, names, colors, scale=1.0):
    x = np.arange(len(labels))
    width = 0.8 / len(series)
    positive = []
    for k, (values, name, color) in enumerate(zip(series, names, colors)):
        h = np.array([np.nan if v is None else v * scale for v in values], dtype=float)
        ax.bar(x + (k - (len(series) - 1) / 2) * width, np.where(h > 0, h, np.nan), width,
               label=name, color=color)
        positive.extend(h[np.isfinite(h) & (h > 0)].tolist())
        for xi, v in zip(x, values):
            if v is None:
                ax.text(xi + (k - (len(series) - 1) / 2) * width, 0.5, "n/a", rotation=90,
                        ha="center", va="bottom", transform=ax.get_xaxis_transform(),
                        fontsize="small")
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    if positive and max(positive) / min(positive) > 30:
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)


# ---------------------------------------------------------------------------
# the comparison

def _settings(vessel_volume, fill_fraction, U, jacket_area_ref, vessel_volume_ref, coolant_dT,
              charge_time, discharge_time, cleaning_time):
    def q(value, kind, key, **kw):
        return parse_quantity(value, kind, where=f"{WHERE}.{key}", **kw)

    V = q(vessel_volume, "volume", "vessel_volume", positive=True)
    fill = q(fill_fraction, "dimensionless", "fill_fraction", positive=True)
    if fill > 1.0:
        raise InputError(f"fill_fraction must lie in (0, 1], got {fill_fraction!r}", "<python>",
                         f"{WHERE}.fill_fraction")
    U_ = q(U, "heat_transfer_coefficient", "U", positive=True)
    A_ref = q(jacket_area_ref, "area", "jacket_area_ref", positive=True)
    V_ref = q(vessel_volume_ref, "volume", "vessel_volume_ref", positive=True)
    dT = q(coolant_dT, "temperature_difference", "coolant_dT", positive=True)
    times = {key: q(v, "time", key, nonnegative=True) for key, v in
             (("charge_time", charge_time), ("discharge_time", discharge_time),
              ("cleaning_time", cleaning_time))}
    A = A_ref * (V / V_ref) ** (2.0 / 3.0)
    return {
        "vessel_volume_m3": V, "fill_fraction": fill, "working_volume_m3": V * fill,
        "U_W_per_m2_K": U_, "jacket_area_ref_m2": A_ref, "vessel_volume_ref_m3": V_ref,
        "jacket_area_m2": A, "coolant_dT_K": dT, "cooling_capacity_W": U_ * A * dT,
        "charge_time_s": times["charge_time"], "discharge_time_s": times["discharge_time"],
        "cleaning_time_s": times["cleaning_time"],
    }


def _step_result(op, res):
    """The flow-reactor result behind an operation that reacts (a reactor,
    or the hold of a quench); None for mixers, splitters, separators..."""
    kind = getattr(op, "kind", None) or getattr(res, "kind", None)
    if kind in FLOW_REACTOR_KINDS and hasattr(res, "inlet") and hasattr(res, "outlet"):
        return res
    hold = getattr(res, "hold", None)
    if hold is not None and hasattr(hold, "inlet") and hasattr(hold, "outlet"):
        return hold
    return None


def _step_temperature(op, res):
    """Temperature of the isothermal batch step, and a note when the flow
    reactor is not isothermal: its ``T``, else for a cooled (jacketed or
    wall-cooled) reactor the coolant temperature, the process set point,
    else the inlet temperature."""
    mode = getattr(getattr(op, "energy", None), "mode", "isothermal")
    T = getattr(op, "T", None)
    notes = []
    if T is None and mode == "cooled" and getattr(op.energy, "coolant_T", None) is not None:
        T = op.energy.coolant_T
        notes.append(f"the flow reactor is cooled (coolant {T - 273.15:.1f} degC, T max "
                     f"{res.T_max - 273.15:.1f} degC); the batch runs at the coolant temperature")
    if T is None:
        T = getattr(res, "T", None) or res.inlet.T
        if mode != "isothermal":
            notes.append(f"the flow reactor is {mode} (T max {res.T_max - 273.15:.1f} degC); the "
                         f"batch runs isothermally at the inlet temperature {T - 273.15:.1f} degC")
    return float(T), notes


def _outlet_names(name, res):
    outlets = getattr(res, "outlets", None)
    if outlets is None:
        return [name]
    return [name if o == "" else f"{name}.{o}" for o in outlets]


def _pass_through(name, res, inlets, streams, batch, notes):
    """Batch compositions of the outlets of an operation that does not react
    (mixer, splitter, separator, heat exchanger): each species goes to each
    outlet in the same fraction as in flow (volumes in proportion to flows);
    an operation that changes amounts in flow passes its flow outlets on."""
    outs = _outlet_names(name, res)
    q_in = np.array([streams[n].flow for n in inlets])
    F_flow = sum(streams[n].molar_flows for n in inlets)
    F_batch = sum(q * batch[n] for q, n in zip(q_in, inlets))
    F_out = sum(streams[o].molar_flows for o in outs)
    scale = max(float(np.max(np.abs(F_flow))), 1e-300)
    if np.any(np.abs(F_out - F_flow) > 1e-9 * scale):
        notes.append(f"{name}: changes amounts in flow but is not a reactor; its flow outlet "
                     "compositions are passed to the batch as they are")
        return {o: streams[o].conc.copy() for o in outs}
    result = {}
    for o in outs:
        so = streams[o]
        frac = np.where(F_flow > 0, so.molar_flows / np.where(F_flow > 0, F_flow, 1.0),
                        so.flow / q_in.sum())
        result[o] = frac * F_batch / so.flow
    return result


def _species_list(value, names, key):
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, dict):
        value = list(value)
    try:
        items = list(value)
    except TypeError:
        raise InputError(f"expected a list of species names, got {type(value).__name__}", "<python>",
                         f"{WHERE}.{key}") from None
    for s in items:
        if s not in names:
            raise InputError(f"unknown species {s!r} (the mechanism has: {', '.join(names)})",
                             "<python>", f"{WHERE}.{key}")
    return list(dict.fromkeys(items))


def _check_conversion_species(spec, route, results, names):
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise InputError("expected a mapping of reactor name to species", "<python>",
                         f"{WHERE}.conversion_species")
    steps = [n for n in route.order if _step_result(route.operations[n], results[n]) is not None]
    for name, species in spec.items():
        where = f"{WHERE}.conversion_species.{name}"
        if name not in steps:
            raise InputError(f"{name!r} is not a reacting step of the route (steps: {', '.join(steps)})",
                             "<python>", where)
        if species not in names:
            raise InputError(f"unknown species {species!r} (the mechanism has: {', '.join(names)})",
                             "<python>", where)
        res = _step_result(route.operations[name], results[name])
        i = names.index(species)
        if res.inlet.conc[i] <= 0:
            raise InputError(f"{species!r} is not fed to {name}", "<python>", where)
        if res.outlet.conc[i] >= res.inlet.conc[i]:
            raise InputError(f"{species!r} is not consumed in {name} (conversion "
                             f"{1 - res.outlet.conc[i] / res.inlet.conc[i]:.3g})", "<python>", where)
    return dict(spec)


def _key_species(res, names):
    """Default key reactant of a flow reactor (see the module docstring)."""
    c_in, c_out = res.inlet.conc, res.outlet.conc
    consumed = np.where(c_in > 0, c_in - c_out, 0.0)
    top = float(np.max(consumed)) if consumed.size else 0.0
    if top <= 0:
        return None
    major = (c_in > 0) & (consumed >= MAJOR_CONSUMPTION_FRACTION * top)
    conv = np.where(major, consumed / np.where(c_in > 0, c_in, 1.0), -np.inf)
    return names[int(np.argmax(conv))]


class _Heat:
    """Heat released per volume from a change of composition, and the peak
    heat release rate along a batch course."""

    def __init__(self, mechanism):
        from ..reactors.solver import compiled_mechanism
        from ..reactors.energy import stoichiometric_matrix

        self.mechanism = mechanism
        self.dH = np.asarray(compiled_mechanism(mechanism).delta_H, dtype=float)
        self.S = stoichiometric_matrix(mechanism)           # reactions x species
        self.active = bool(self.dH.size and np.any(self.dH != 0.0))
        self.hess_consistent = True
        if self.active:
            h = np.linalg.lstsq(self.S, self.dH, rcond=None)[0]
            self.hess_consistent = bool(np.linalg.norm(self.S @ h - self.dH)
                                        <= 1e-8 * np.linalg.norm(self.dH))

    def per_volume(self, dc):
        """J/m^3 released by the composition change dc (mol/m^3)."""
        if not self.active:
            return 0.0
        xi = np.linalg.lstsq(self.S.T, dc, rcond=None)[0]
        return float(-self.dH @ xi)

    def peak_rate(self, T, states):
        """Largest sum_j (-dH_j) q_j (W/m^3) over the given states."""
        if not self.active:
            return 0.0
        from kernels.kinetics import rates_of_progress

        from ..reactors.solver import make_system

        system = make_system(self.mechanism, T)
        model, kf, kr = system[0], system[2], system[3]
        q = np.zeros(kf.shape[0])
        best = -np.inf
        for c in states:
            rates_of_progress(np.ascontiguousarray(np.maximum(c, 0.0)), model, kf, kr, q)
            best = max(best, float(-self.dH @ q))
        return best


def _batch_to_conversion(mechanism, T, c0, i, X, tau_flow, options, name):
    """Isothermal batch from c0 until species i is converted by X.

    Returns (time or None, BatchResult, best conversion, end time of the course)."""
    from scipy.optimize import brentq

    from ..reactors.ideal import BatchReactor
    from .stream import Stream

    reactor = BatchReactor(mechanism, T, options)
    start = Stream.from_si(mechanism, 1.0, T, c0, name=name)
    c0i = c0[i]
    horizon = min(max(2.0 * tau_flow, 1e-6), MAX_BATCH_TIME)
    previous = -np.inf
    while True:
        res = reactor.run(start, horizon, t_eval=np.linspace(0.0, horizon, BATCH_POINTS))
        conv = 1.0 - res.conc[:, i] / c0i
        hit = np.nonzero(conv >= X)[0]
        if hit.size:
            k = int(hit[0])
            if k == 0:
                return 0.0, res, float(conv[0]), 0.0
            f = lambda t: 1.0 - float(res.at(t)[i]) / c0i - X   # noqa: E731
            lo, hi = float(res.t[k - 1]), float(res.t[k])
            t = hi if f(lo) >= 0 else brentq(f, lo, hi, xtol=1e-14 * hi,
                                              rtol=4 * np.finfo(float).eps, maxiter=200)
            return t, res, X, t
        best = float(np.max(conv))
        if horizon >= MAX_BATCH_TIME or best - previous <= 1e-9:
            return None, res, best, horizon
        previous = best
        horizon = min(horizon * 10.0, MAX_BATCH_TIME)


def _course(res, t_end):
    """Times and states along a batch course on [0, t_end]: an even grid plus
    the integrator's own steps."""
    if t_end <= 0:
        return np.array([0.0]), res.at(np.array([0.0]))
    steps = res.solution.t
    t = np.union1d(np.linspace(0.0, t_end, COURSE_POINTS), steps[steps < t_end])
    return t, res.at(t)


def _max_along(res, i, t, states):
    """Maximum of c_i on the course, refined on the dense output when interior."""
    from scipy.optimize import minimize_scalar

    k = int(np.argmax(states[:, i]))
    t_best, c_best = float(t[k]), float(states[k, i])
    if 0 < k < len(t) - 1:
        m = minimize_scalar(lambda s: -float(res.at(s)[i]), bounds=(t[k - 1], t[k + 1]),
                            method="bounded", options={"xatol": 1e-10 * max(t[-1], 1e-300)})
        if -m.fun > c_best:
            t_best, c_best = float(m.x), float(-m.fun)
    return c_best, t_best


def _flow_holdup(res, i):
    """Integral of c_i over a flow reactor's volume, mol."""
    from ..reactors.solver import Solution

    kind = getattr(res, "kind", None)
    if kind == "pfr" and hasattr(res, "tau"):
        flow = res.inlet.flow
        sol = getattr(res, "solution", None)
        if isinstance(sol, Solution) and sol.t.size > 1 and sol._dense.shape[0]:
            from ..reactors.quadrature import integrate_dense

            return integrate_dense(sol, lambda y: y[:, i]) * flow
        if getattr(res, "flow_model", None) == "dispersion" and hasattr(res, "x"):
            return float(np.mean(res.conc[:, i])) * res.volume   # equal finite-volume cells
        return float(np.trapezoid(res.conc[:, i], res.tau * flow))
    if hasattr(res, "tanks"):
        n = res.tanks.shape[0]
        return float(np.sum(res.tanks[:, i])) * res.volume / n
    if hasattr(res, "volume") and hasattr(res, "outlet"):
        return float(res.outlet.conc[i]) * res.volume          # unknown reactor: well mixed
    return 0.0


def compare_batch(result, *, vessel_volume="100 L", fill_fraction=0.8, U="300 W/m^2/K",
                  jacket_area_ref="1.0 m^2", vessel_volume_ref="100 L", coolant_dT="20 K",
                  charge_time="30 min", discharge_time="30 min", cleaning_time="0 min",
                  hazardous=None, conversion_species=None):
    """Compare a solved flow route with the same chemistry in a stirred,
    jacketed batch vessel; returns a :class:`BatchComparison`.

    Parameters
    ----------
    result : RouteResult
    vessel_volume, fill_fraction
        Vessel size and the fraction of it filled at the fullest point of
        the sequence.
    U, jacket_area_ref, vessel_volume_ref, coolant_dT
        Jacket: heat-transfer coefficient, the jacket area of a reference
        vessel (scaled with (V/V_ref)^(2/3)) and the temperature difference
        between contents and coolant.
    charge_time, discharge_time, cleaning_time
        Times added once per cycle.
    hazardous : list of species, optional
        Species whose inventory is compared; default: the route's
        ``hazardous`` attribute if it has one, else none.
    conversion_species : mapping, optional
        Step (reactor) name to the key species whose flow conversion the
        batch must reach in that step.

    Raises InputError for bad settings or species; SolverError when a batch
    integration fails.
    """
    route = result.route
    mech = route.mechanism
    names = list(mech.species_names)
    settings = _settings(vessel_volume, fill_fraction, U, jacket_area_ref, vessel_volume_ref,
                         coolant_dT, charge_time, discharge_time, cleaning_time)
    if hazardous is None:
        hazardous = getattr(route, "hazardous", None)
    hazardous = _species_list(hazardous, names, "hazardous")
    results = result.operations
    keys = _check_conversion_species(conversion_species, route, results, names)
    heat = _Heat(mech)
    notes = []
    if heat.active and not heat.hess_consistent:
        notes.append("the reaction enthalpies are not consistent with species enthalpies (Hess); "
                     "step heats use minimum-norm extents")
    if result.product is None:
        notes.append("the route names no product: no product or throughput figures")

    streams = result.streams
    product = result.product
    # The working volume is the largest liquid volume of the sequence: the
    # stream of largest flow fills the vessel to fill_fraction; every other
    # stream (and step) holds the volume in proportion to its flow.
    ref_flow = max(s.flow for s in streams.values())
    V_w = settings["working_volume_m3"]

    def volume_of(stream_name):
        return V_w * streams[stream_name].flow / ref_flow

    # batch compositions per stream name, chained through the route
    batch = {n: f.conc.copy() for n, f in route.feeds.items()}
    inventory = {s: (0.0, "", 0.0) for s in hazardous}     # mol, where, time

    def charge(stream_name, c):
        v = volume_of(stream_name)
        for s in hazardous:
            amount = float(c[names.index(s)]) * v
            if amount > inventory[s][0]:
                inventory[s] = (amount, f"charge {stream_name}", 0.0)

    for fname, c in batch.items():
        charge(fname, c)

    steps = []
    for name in route.order:
        op, res = route.operations[name], results[name]
        inlets = route.links[name]
        flow_res = _step_result(op, res)
        if flow_res is None:
            for sname, c in _pass_through(name, res, inlets, streams, batch, notes).items():
                batch[sname] = c
                charge(sname, c)
            continue
        flows = np.array([streams[n].flow for n in inlets])
        c_start = sum(q * batch[n] for q, n in zip(flows, inlets)) / flows.sum()
        T, step_notes = _step_temperature(op, flow_res)
        V_step = V_w * flow_res.inlet.flow / ref_flow
        key = keys.get(name) or _key_species(flow_res, names)
        if key is None:
            step_notes.append("nothing is consumed in the flow reactor: no reaction time")
            X, t_kin, best, bres, t_course = 0.0, 0.0, 0.0, None, 0.0
        else:
            i = names.index(key)
            X = float(1.0 - flow_res.outlet.conc[i] / flow_res.inlet.conc[i])
            if c_start[i] <= 0:
                raise InputError(f"{key!r} is not present in the batch at the start of {name}",
                                 "<python>", f"{WHERE}.conversion_species.{name}")
            t_kin, bres, best, t_course = _batch_to_conversion(
                mech, T, c_start, i, X, flow_res.residence_time, route.options, name)
            if t_kin is None:
                step_notes.append(f"the batch cannot reach the flow conversion {X:.6g} of {key} at "
                                  f"{T - 273.15:.1f} degC: best {best:.6g} within "
                                  f"{_tfmt(t_course)}")
        if bres is None:
            times, course = np.array([0.0]), c_start[None, :]
        else:
            times, course = _course(bres, t_course)
        c_end = course[-1]
        q_vol = heat.per_volume(c_end - c_start)
        Q = q_vol * V_step
        cap = settings["cooling_capacity_W"]
        t_dose = Q / cap if Q > 0 else 0.0
        peak = heat.peak_rate(T, course) * V_step
        limited = None
        if t_kin is not None:
            limited = "cooling" if t_dose > t_kin else "kinetics"
        if peak > cap and limited == "kinetics":
            step_notes.append(f"an all-in batch would release up to {peak / 1e3:.3g} kW against "
                              f"{cap / 1e3:.3g} kW of cooling: dose the limiting reagent")
        for s in hazardous:
            j = names.index(s)
            if bres is None:
                c_max, t_max = float(c_start[j]), 0.0
            else:
                c_max, t_max = _max_along(bres, j, times, course)
            if c_max * V_step >= inventory[s][0] * (1.0 - 1e-12):
                inventory[s] = (c_max * V_step, name, t_max)
        out_name = _outlet_names(name, res)[0]
        batch[out_name] = c_end.copy()
        steps.append(StepComparison(
            name=name, kind=getattr(op, "kind", None) or flow_res.kind, T=T, key_species=key,
            conversion=X, flow_residence_time=float(flow_res.residence_time), batch_volume=V_step,
            kinetic_time=t_kin, reachable=t_kin is not None, best_conversion=float(best),
            heat=Q, heat_per_volume=q_vol, dosing_time=t_dose, peak_heat_rate=peak,
            limited_by=limited, notes=step_notes))

    # totals
    s = settings
    reaction_time = None if any(r.step_time is None for r in steps) else \
        float(sum(r.step_time for r in steps))
    cycle = None if reaction_time is None else \
        s["charge_time_s"] + reaction_time + s["discharge_time_s"] + s["cleaning_time_s"]
    step_results = [_step_result(route.operations[r.name], results[r.name]) for r in steps]
    flow_volume = float(sum(fr.volume for fr in step_results))
    totals = {"reaction_time_s": reaction_time, "cycle_time_s": cycle,
              "flow_reactor_volume_m3": flow_volume,
              "flow_residence_time_s": float(sum(r.flow_residence_time for r in steps)),
              "product": None, "product_per_batch_mol": None, "product_per_batch_kg": None,
              "batch_product_conc_mol_per_m3": None, "flow_product_conc_mol_per_m3": None,
              "batch_throughput_kg_per_h": None, "batch_throughput_kg_per_h_m3": None,
              "flow_throughput_kg_per_h": None, "flow_throughput_kg_per_h_m3": None,
              "batch_throughput_mol_per_h": None, "flow_throughput_mol_per_h": None,
              "flow_over_batch_per_volume": None, "batch_vessels_to_match_flow": None,
              "batches_per_day": None if cycle is None or cycle <= 0 else 86400.0 / cycle}
    if product is not None:
        ip = names.index(product["species"])
        M = float(mech.molar_masses[ip])
        M = None if math.isnan(M) else M
        c_batch = float(batch[product["from"]][ip])
        n_batch = c_batch * volume_of(product["from"])
        totals.update({
            "product": product["species"], "product_per_batch_mol": n_batch,
            "product_per_batch_kg": None if M is None else n_batch * M,
            "batch_product_conc_mol_per_m3": c_batch,
            "flow_product_conc_mol_per_m3": float(streams[product["from"]].conc[ip]),
            "flow_throughput_mol_per_h": product["production_rate_mol_per_s"] * 3600.0,
            "flow_throughput_kg_per_h": product["production_rate_kg_per_h"],
        })
        if cycle is not None and cycle > 0:
            totals["batch_throughput_mol_per_h"] = n_batch / cycle * 3600.0
            if M is not None:
                kg_h = n_batch * M / cycle * 3600.0
                totals["batch_throughput_kg_per_h"] = kg_h
                totals["batch_throughput_kg_per_h_m3"] = kg_h / s["vessel_volume_m3"]
        fk = totals["flow_throughput_kg_per_h"]
        if fk is not None and flow_volume > 0:
            totals["flow_throughput_kg_per_h_m3"] = fk / flow_volume
        bk = totals["batch_throughput_kg_per_h"]
        if fk is not None and bk:
            totals["batch_vessels_to_match_flow"] = fk / bk
            totals["flow_over_batch_per_volume"] = totals["flow_throughput_kg_per_h_m3"] / \
                totals["batch_throughput_kg_per_h_m3"]
        if M is None:
            notes.append(f"{product['species']} has no molar mass: throughput in mol/h only")

    hazards = []
    for sp in hazardous:
        j = names.index(sp)
        by_op = {}
        for n in route.order:
            fr = _step_result(route.operations[n], results[n])
            if fr is not None:
                by_op[n] = _flow_holdup(fr, j)
        M = float(mech.molar_masses[j])
        amount, where, t_at = inventory[sp]
        hazards.append(HazardInventory(sp, None if math.isnan(M) else M, amount, where, t_at,
                                       float(sum(by_op.values())), by_op))
    return BatchComparison(route.name, settings, steps, totals, hazards, notes)


def compare_batch_command(route_path, out=None, json_path=None, **kwargs):
    """Load and run a route, compare it with batch, print the table; write
    the comparison as JSON (``json_path``) and the bar chart as
    ``batch_vs_flow.png`` in ``out``. Returns 0; InputError and SolverError
    propagate to the caller."""
    from .route import load_route

    result = load_route(route_path).run()
    comparison = compare_batch(result, **kwargs)
    print(comparison.table())
    if json_path is not None:
        comparison.write_json(json_path)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        from ..reporting.plots import pyplot

        plt = pyplot(headless=True)
        axes = comparison.plot()
        fig = axes[0].figure
        fig.savefig(out / "batch_vs_flow.png", dpi=120)
        plt.close(fig)
    return 0

