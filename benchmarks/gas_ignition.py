"""Gas ignition: flowchem's gas batch kernel against Cantera's ReactorNet at matched accuracy.

Problems (adiabatic, constant pressure, 1 atm; Cantera's
``IdealGasConstPressureReactor``, CVODES BDF):

* ``h2o2``: h2o2.yaml, H2:O2:AR = 2:1:7 at 1200 K, to 0.5 ms (10 species);
* ``gri30``: gri30.yaml (all 325 reactions: three-body, falloff), CH4/air
  at equivalence ratio 1 and 1500 K, to 2 ms (53 species).

The accuracy of a run is the relative error of its ignition delay (time of
the largest dT/dt) against Cantera at rtol 1e-13, atol 1e-20 (its distance
to flowchem's BDF at rtol 1e-12 is printed: the floor below which errors
are not resolved). Both tools' ignition delays are located the same way,
flowchem's ``ignition_delay``: dT/dt at every step, refined on 201 points of
the integrator's own dense output (flowchem's BDF polynomial; CVODES's
Nordsieck polynomial from ``ReactorNet.get_derivative``) between the steps
either side of the largest, and a parabola through the largest point and
its neighbours. (Until 2026-11 Cantera's delay was a parabola through its
step values alone: that adds the error of locating a sharp peak on the step
grid, made Cantera's error jump 10x between neighbouring tolerances and put
a ~1e-7 floor under every comparison.) Times: flowchem's
``GasBatchReactor.run`` (set-up, solve, profiles at 201 times) and Cantera
resetting its phase's state, building its reactor and network and
``advance(t_end)`` (no per-step Python; the phase is loaded once, outside
the timing, as flowchem's mechanism is), each the least CPU time of the
thread over repeated runs after a warm-up (:class:`CpuTimer`; the median is
kept in the JSON); the ignition delay of each run comes from a separate pass
(flowchem: its dense output; Cantera: a step loop at the same tolerances).
The ratio is Cantera's time at flowchem's error (log-log interpolation along
Cantera's front, benchmarks.run.time_at_error) over flowchem's time.

Gas PFR part, in the same run (``pfr`` in the JSON): a route
(``fc.Route.from_dict``) with ``mechanism: {cantera: FILE}``, one gas feed of
0.1 g/s and an adiabatic gas PFR of 1 cm diameter a little past the ignition
front (``PFR_PROBLEMS``: h2o2 at 1100 K, gri30 CH4/air phi = 1 at 1500 K),
its ``route.run()`` timed with the tube's ``solver: {rtol, method: bdf}``.
Cantera: ``IdealGasConstPressureReactor`` followed in time by a ``step()``
loop carrying z = int u dt (trapezoid on its steps) until z >= L, the outlet
interpolated linearly in z between the last two steps ("time-stepped"); and,
for information, its ``FlowReactor`` (IDA in distance, ``advance(L)``), which
solves another model: its momentum equation drops the pressure by G du
(3 Pa in h2o2), so it sits ~1e-5 from the constant-pressure answer at every
tolerance and is left out of the ratio. The accuracy of a run is
max(|T_out/T_ref - 1|, |X_OH/X_OH,ref - 1|) at the outlet against Cantera's
constant-pressure reactor at rtol 1e-13 carrying z as an exact extra state,
stopped at z = L by Newton on z(t) (distances of flowchem at rtol 1e-12 and
FlowReactor at rtol 1e-12 to it are printed). The ratio is the time-stepped
Cantera's time at flowchem's error over flowchem's time.

Usage::

    python benchmarks/gas_ignition.py [--quick] [--out benchmarks/results]

Writes ``gas_ignition.json`` and ``gas_ignition.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import fmt_e, fmt_t, machine_info, time_at_error  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from cantera_reference import peak_heating_time  # noqa: E402  (the tests' Cantera locator)

PROBLEMS = {
    "h2o2": {"file": "h2o2.yaml", "T": 1200.0, "X": "H2:2, O2:1, AR:7", "t_end": 5e-4},
    "gri30": {"file": "gri30.yaml", "T": 1500.0, "X": "CH4:1, O2:2, N2:7.52", "t_end": 2e-3},
}
P = 101325.0
ATOL = 1e-20
FLOWCHEM_RTOLS = {"full": (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10), "quick": (1e-6, 1e-8, 1e-10)}
CANTERA_RTOLS = {"full": (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11), "quick": (1e-6, 1e-8, 1e-10)}
METHODS = ("rodas", "bdf")
# gas PFR routes: 0.1 g/s in a 1 cm tube, lengths a little past the ignition
# front (measured with Cantera's FlowReactor: h2o2 0.45 mm, gri30 6.8 mm)
PFR_PROBLEMS = {
    "h2o2": {"file": "h2o2.yaml", "T": 1100.0, "X": {"H2": 2, "O2": 1, "AR": 7},
             "mass_flow": 1e-4, "diameter": 0.01, "length": 6e-4},
    "gri30": {"file": "gri30.yaml", "T": 1500.0, "X": {"CH4": 1, "O2": 2, "N2": 7.52},
              "mass_flow": 1e-4, "diameter": 0.01, "length": 8e-3},
}
PFR_SPECIES = "OH"
PFR_FLOWCHEM_RTOLS = {"full": (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10), "quick": (1e-6, 1e-8, 1e-10)}
PFR_CANTERA_RTOLS = {"full": (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10), "quick": (1e-6, 1e-8, 1e-10)}


_PHASES = {}


class CpuTimer:
    """CPU time of the calling thread (``time.thread_time``) of ``fn()``:
    the least of repeated runs after a warm-up (``time_s``; ``median_s`` for
    the record). Both tools run single-threaded in this thread, so CPU time
    is all of a call's work; wall time on a shared machine also counts the
    time the process waits for a core, which moved single timings 2x here."""

    def __init__(self, budget_s, min_reps, max_reps):
        self.budget_s, self.min_reps, self.max_reps = budget_s, min_reps, max_reps

    def __call__(self, fn):
        fn()  # warm-up (compilation, caches)
        times = []
        start = time.perf_counter()
        while len(times) < self.max_reps:
            t0 = time.thread_time()
            fn()
            times.append(time.thread_time() - t0)
            if len(times) >= self.min_reps and time.perf_counter() - start > self.budget_s:
                break
        return {"time_s": min(times), "median_s": statistics.median(times),
                "repeats": len(times)}


def print_flowchem_rows(rows):
    """flowchem's rows of either part: method, rtol, error, time, steps,
    Jacobians, Cantera's time at that error and the ratio."""
    print("  flowchem  method rtol   error     time      steps  jac   Cantera at error  ratio")
    for r in rows:
        print(f"            {r['method']:5s} {r['rtol']:.0e}  {fmt_e(r['error'])}  "
              f"{fmt_t(r['time_s'])}  {r['steps']:6d}  {r['jacobian_evaluations']:5d}  "
              f"{r['cantera_flag']:2s}{fmt_t(r['cantera_time_at_error_s'])}  "
              f"{r['speedup']:.2f}x")


def cantera_reactor(ct, spec, rtol):
    # the phase is loaded once per file (as flowchem's mechanism is), and only
    # its state is reset before each run: loading gri30.yaml alone takes about
    # 85 ms, which is not integration time
    gas = _PHASES.get(spec["file"])
    if gas is None:
        gas = _PHASES[spec["file"]] = ct.Solution(spec["file"])
    gas.TPX = spec["T"], P, spec["X"]
    r = ct.IdealGasConstPressureReactor(gas, clone=False)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = rtol, ATOL
    return gas, r, net


def cantera_ignition(ct, spec, rtol):
    """Ignition delay of Cantera's run at ``rtol``, located as flowchem's
    ``ignition_delay`` locates its own (tests/cantera_reference.py,
    ``peak_heating_time``: dT/dt on CVODES's dense output around the largest
    step value, then a parabola)."""
    gas, _, net = cantera_reactor(ct, spec, rtol)
    return peak_heating_time(ct, gas, net, spec["t_end"], P)


def _pfr_area(spec):
    return np.pi * spec["diameter"] ** 2 / 4.0


def _pfr_gas(ct, spec, gas=None):
    """The feed state, on ``gas`` when given (a phase loaded once per problem,
    as flowchem's route loads its mechanism once, outside the timings)."""
    gas = ct.Solution(spec["file"]) if gas is None else gas
    gas.TPX = spec["T"], P, spec["X"]
    return gas


def pfr_route(spec, rtol):
    """The flowchem route: one gas feed into an adiabatic gas PFR ``R``."""
    import flowchem as fc

    return fc.Route.from_dict({
        "name": "gas pfr", "mechanism": {"cantera": spec["file"]},
        "feeds": [{"name": "feed", "mass_flow": f"{spec['mass_flow'] * 1e3!r} g/s",
                   "T": f"{spec['T']!r} K", "P": "1 atm", "X": dict(spec["X"])}],
        "operations": [{"name": "R", "type": "pfr", "from": "feed", "length": spec["length"],
                        "diameter": spec["diameter"], "energy": "adiabatic",
                        "solver": {"rtol": rtol, "method": "bdf"}}]})


def cantera_flow_reactor(ct, spec, rtol, gas=None):
    """Cantera's FlowReactor (IDA in distance) advanced to the tube's length."""
    gas = _pfr_gas(ct, spec, gas)
    r = ct.FlowReactor(gas, clone=False)
    r.mass_flow_rate, r.area = spec["mass_flow"], _pfr_area(spec)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = rtol, ATOL
    net.advance(spec["length"])
    return gas.T, gas.X.copy(), net


def cantera_time_stepped(ct, spec, rtol, gas=None):
    """IdealGasConstPressureReactor in time, z = int u dt by trapezoid on its
    steps until z >= L; the outlet interpolated linearly in z."""
    gas = _pfr_gas(ct, spec, gas)
    r = ct.IdealGasConstPressureReactor(gas, clone=False)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = rtol, ATOL
    flux, L = spec["mass_flow"] / _pfr_area(spec), spec["length"]
    t, z, u = 0.0, 0.0, flux / gas.density
    T, X = gas.T, gas.X
    while z < L:
        t_new = net.step()
        u_new = flux / gas.density
        z_new = z + 0.5 * (u + u_new) * (t_new - t)
        T_new, X_new = gas.T, gas.X
        if z_new >= L:
            w = (L - z) / (z_new - z)
            return (1 - w) * T + w * T_new, (1 - w) * X + w * X_new, net
        t, z, u, T, X = t_new, z_new, u_new, T_new, X_new


def cantera_pfr_reference(ct, spec, rtol=1e-13):
    """(T, X) at z = L of Cantera's constant-pressure reactor carrying z as an
    exact extra state (dz/dt = u), the stop time found by Newton on z(t)."""
    class Tube(ct.ExtensibleIdealGasConstPressureReactor):
        def __init__(self, gas, flux):
            super().__init__(gas, clone=False)
            self.gas, self.flux, self.z = gas, flux, 0.0

        def after_initialize(self, t0):
            self.n_vars += 1
            self.i_z = self.n_vars - 1

        def after_get_state(self, y):
            y[self.i_z] = self.z

        def after_update_state(self, y):
            self.z = y[self.i_z]

        def after_eval(self, t, LHS, RHS):
            RHS[self.i_z] = self.flux / self.gas.density

    flux, L = spec["mass_flow"] / _pfr_area(spec), spec["length"]

    def state_at(t):
        gas = _pfr_gas(ct, spec)
        r = Tube(gas, flux)
        net = ct.ReactorNet([r])
        net.rtol, net.atol = rtol, ATOL
        if t > 0:
            net.advance(t)
        return r.z, gas.T, gas.X.copy(), flux / gas.density

    # a first guess from a step loop: the step where z passes L
    gas = _pfr_gas(ct, spec)
    r = Tube(gas, flux)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = 1e-8, ATOL
    t_prev, z_prev = 0.0, 0.0
    while r.z < L:
        t_prev, z_prev = net.time, r.z
        net.step()
    t = t_prev + (L - z_prev) / (r.z - z_prev) * (net.time - t_prev)
    for _ in range(10):
        z, T, X, u = state_at(t)
        if abs(L - z) < 1e-14 * L:
            break
        t += (L - z) / u
    return T, X


def pfr_error(T, X, T_ref, X_ref, k):
    return max(abs(T / T_ref - 1.0), abs(X[k] / X_ref[k] - 1.0))


def run_pfr(ct, timer, mode):
    """The gas PFR part: flowchem routes against Cantera's two PFRs."""
    report = {}
    for name, spec in PFR_PROBLEMS.items():
        phase = ct.Solution(spec["file"])
        k = phase.species_index(PFR_SPECIES)
        T_ref, X_ref = cantera_pfr_reference(ct, spec)
        outlet = pfr_route(spec, 1e-12).run().operations["R"].outlet
        floor = pfr_error(outlet.T, outlet.X, T_ref, X_ref, k)
        T_fr, X_fr, _ = cantera_flow_reactor(ct, spec, 1e-12)
        flow_reactor_distance = pfr_error(T_fr, X_fr, T_ref, X_ref, k)
        cantera_points, cantera_rows = [], []
        for way, solve in (("FlowReactor", cantera_flow_reactor),
                           ("time-stepped", cantera_time_stepped)):
            for rtol in PFR_CANTERA_RTOLS[mode]:
                try:
                    t = timer(lambda: solve(ct, spec, rtol, phase))
                except ct.CanteraError as exc:   # a failed run is reported, not timed
                    print(f"  Cantera {way} rtol {rtol:.0e} failed: "
                          f"{str(exc).strip().splitlines()[-2:]}")
                    continue
                T, X, net = solve(ct, spec, rtol, phase)
                err = pfr_error(T, X, T_ref, X_ref, k)
                stats = net.solver_stats
                if way == "time-stepped":   # FlowReactor solves another model (see above)
                    cantera_points.append((max(err, 1e-16), t["time_s"]))
                # FlowReactor (IDA): a Jacobian per linear-solver setup
                jac = stats["jac_evals"] if "jac_evals" in stats else stats["lin_solve_setups"]
                rhs = stats["rhs_evals"] if "rhs_evals" in stats else stats["res_evals"]
                cantera_rows.append({"way": way, "rtol": rtol, "error": err,
                                     "time_s": t["time_s"], "steps": int(stats["steps"]),
                                     "rhs_evals": int(rhs), "jacobian_evaluations": int(jac)})
        flowchem_rows = []
        for rtol in PFR_FLOWCHEM_RTOLS[mode]:
            route = pfr_route(spec, rtol)
            t = timer(route.run)
            op = route.run().operations["R"]
            err = pfr_error(op.outlet.T, op.outlet.X, T_ref, X_ref, k)
            peer, flag = time_at_error(cantera_points, max(err, 1e-16))
            flowchem_rows.append({
                "method": "bdf", "rtol": rtol, "error": err, "time_s": t["time_s"],
                "steps": op.stats["steps"], "rhs_evals": op.stats["rhs_evaluations"],
                "jacobian_evaluations": op.stats["jacobian_evaluations"],
                "lu_factorizations": op.stats["lu_factorizations"],
                "cantera_time_at_error_s": peer, "cantera_flag": flag,
                "speedup": peer / t["time_s"]})
        report[name] = {"spec": spec, "reference_T_out_K": T_ref,
                        f"reference_X_{PFR_SPECIES}": float(X_ref[k]), "error_floor": floor,
                        "flow_reactor_distance": flow_reactor_distance,
                        "cantera": cantera_rows, "flowchem": flowchem_rows}
        print(f"\nPFR {name}: L = {spec['length'] * 1e3:g} mm, T_out {T_ref:.4f} K, "
              f"X_{PFR_SPECIES} {X_ref[k]:.6e} (flowchem 1e-12 {fmt_e(floor)}, "
              f"FlowReactor 1e-12 {fmt_e(flow_reactor_distance)})")
        print("  Cantera   way          rtol    error     time      steps  jac")
        for r in cantera_rows:
            print(f"            {r['way']:12s} {r['rtol']:.0e}  {fmt_e(r['error'])}  "
                  f"{fmt_t(r['time_s'])}  {r['steps']:6d}  {r['jacobian_evaluations']:4d}")
        print_flowchem_rows(flowchem_rows)
    return report


def run(quick=False, out=None):
    import cantera as ct

    import flowchem as fc
    from flowchem.reactors.gas import GasBatchReactor, ignition_delay

    warnings.simplefilter("ignore", DeprecationWarning)
    mode = "quick" if quick else "full"
    timer = CpuTimer(budget_s=1.0 if quick else 3.0, min_reps=5, max_reps=50)
    report = {"machine": machine_info(), "problems": {}}
    for name, spec in PROBLEMS.items():
        mech = fc.Mechanism.from_cantera(spec["file"])
        ref = cantera_ignition(ct, spec, 1e-13)
        floor_run = GasBatchReactor(mech, T=spec["T"], P=P, X=spec["X"],
                                    options={"rtol": 1e-12, "method": "bdf"}).run(spec["t_end"])
        floor = abs(ignition_delay(floor_run) / ref - 1.0)
        cantera_points, cantera_rows = [], []
        for rtol in CANTERA_RTOLS[mode]:
            def solve(rtol=rtol):
                _, _, net = cantera_reactor(ct, spec, rtol)
                net.advance(spec["t_end"])
                return net
            t = timer(solve)
            net = solve()
            err = abs(cantera_ignition(ct, spec, rtol) / ref - 1.0)
            stats = net.solver_stats
            cantera_points.append((max(err, 1e-16), t["time_s"]))
            cantera_rows.append({"rtol": rtol, "error": err, "time_s": t["time_s"],
                                 "steps": int(stats["steps"]), "rhs_evals": int(stats["rhs_evals"]),
                                 "jacobian_evaluations": int(stats["jac_evals"])})
        flowchem_rows = []
        for method in METHODS:
            for rtol in FLOWCHEM_RTOLS[mode]:
                reactor = GasBatchReactor(mech, T=spec["T"], P=P, X=spec["X"],
                                          options={"rtol": rtol, "method": method})
                t = timer(lambda: reactor.run(spec["t_end"]))
                res = reactor.run(spec["t_end"])
                err = abs(ignition_delay(res) / ref - 1.0)
                peer, flag = time_at_error(cantera_points, max(err, 1e-16))
                flowchem_rows.append({
                    "method": method, "rtol": rtol, "error": err, "time_s": t["time_s"],
                    "steps": res.stats["steps"], "rhs_evals": res.stats["rhs_evaluations"],
                    "jacobian_evaluations": res.stats["jacobian_evaluations"],
                    "lu_factorizations": res.stats["lu_factorizations"],
                    "cantera_time_at_error_s": peer, "cantera_flag": flag,
                    "speedup": peer / t["time_s"]})
        report["problems"][name] = {"spec": spec, "reference_ignition_delay_s": ref,
                                    "error_floor": floor, "cantera": cantera_rows,
                                    "flowchem": flowchem_rows}
        print(f"\n{name}: ignition delay {ref:.6e} s (floor {fmt_e(floor)})")
        print("  Cantera   rtol     error     time      steps  jac")
        for r in cantera_rows:
            print(f"            {r['rtol']:.0e}  {fmt_e(r['error'])}  {fmt_t(r['time_s'])}  "
                  f"{r['steps']:6d}  {r['jacobian_evaluations']:4d}")
        print_flowchem_rows(flowchem_rows)
    report["pfr"] = run_pfr(ct, timer, mode)
    if out:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "gas_ignition.json").write_text(json.dumps(report, indent=1))
        lines = ["# Gas ignition against Cantera (matched accuracy)", ""]
        for name, p in report["problems"].items():
            lines += [f"## {name}: ignition delay {p['reference_ignition_delay_s']:.6e} s", "",
                      "| solver | rtol | error | time | steps | Jacobians | Cantera at error | ratio |",
                      "|---|---|---|---|---|---|---|---|"]
            for r in p["cantera"]:
                lines.append(f"| Cantera | {r['rtol']:.0e} | {fmt_e(r['error'])} | "
                             f"{fmt_t(r['time_s'])} | {r['steps']} | {r['jacobian_evaluations']} | | |")
            for r in p["flowchem"]:
                lines.append(f"| flowchem {r['method']} | {r['rtol']:.0e} | {fmt_e(r['error'])} | "
                             f"{fmt_t(r['time_s'])} | {r['steps']} | {r['jacobian_evaluations']} | "
                             f"{r['cantera_flag']}{fmt_t(r['cantera_time_at_error_s'])} | "
                             f"{r['speedup']:.2f}x |")
            lines.append("")
        lines += ["# Gas PFR routes against Cantera (matched accuracy)", ""]
        for name, p in report["pfr"].items():
            lines += [f"## PFR {name}: L = {p['spec']['length'] * 1e3:g} mm, "
                      f"T_out {p['reference_T_out_K']:.4f} K", "",
                      "| solver | rtol | error | time | steps | Jacobians | Cantera at error | ratio |",
                      "|---|---|---|---|---|---|---|---|"]
            for r in p["cantera"]:
                lines.append(f"| Cantera {r['way']} | {r['rtol']:.0e} | {fmt_e(r['error'])} | "
                             f"{fmt_t(r['time_s'])} | {r['steps']} | {r['jacobian_evaluations']} | | |")
            for r in p["flowchem"]:
                lines.append(f"| flowchem route {r['method']} | {r['rtol']:.0e} | "
                             f"{fmt_e(r['error'])} | {fmt_t(r['time_s'])} | {r['steps']} | "
                             f"{r['jacobian_evaluations']} | "
                             f"{r['cantera_flag']}{fmt_t(r['cantera_time_at_error_s'])} | "
                             f"{r['speedup']:.2f}x |")
            lines.append("")
        (out / "gas_ignition.md").write_text("\n".join(lines))
    return report


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    run(quick=args.quick, out=args.out)
