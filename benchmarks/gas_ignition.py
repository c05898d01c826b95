"""Gas ignition: flowchem's gas batch kernel against Cantera's ReactorNet at matched accuracy.

Problems (adiabatic, constant pressure, 1 atm; Cantera's
``IdealGasConstPressureReactor``, CVODES BDF):

* ``h2o2``: h2o2.yaml, H2:O2:AR = 2:1:7 at 1200 K, to 0.5 ms (10 species);
* ``gri30``: gri30.yaml (all 325 reactions: three-body, falloff), CH4/air
  at equivalence ratio 1 and 1500 K, to 2 ms (53 species).

The accuracy of a run is the relative error of its ignition delay (time of
the largest dT/dt) against Cantera at rtol 1e-13, atol 1e-20 (its distance
to flowchem's Rodas5P at rtol 1e-12 is printed: the floor below which errors
are not resolved). Times: flowchem's ``GasBatchReactor.run`` (set-up, solve,
profiles at 201 times) and Cantera building its reactor and network and
``advance(t_end)`` (no per-step Python), each the median of repeated runs
after a warm-up; the ignition delay of each run comes from a separate pass
(flowchem: its dense output; Cantera: a step loop at the same tolerances).
The ratio is Cantera's time at flowchem's error (log-log interpolation along
Cantera's front, benchmarks.run.time_at_error) over flowchem's time.

Usage::

    python benchmarks/gas_ignition.py [--quick] [--out benchmarks/results]

Writes ``gas_ignition.json`` and ``gas_ignition.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import Timer, fmt_e, fmt_t, machine_info, time_at_error  # noqa: E402

PROBLEMS = {
    "h2o2": {"file": "h2o2.yaml", "T": 1200.0, "X": "H2:2, O2:1, AR:7", "t_end": 5e-4},
    "gri30": {"file": "gri30.yaml", "T": 1500.0, "X": "CH4:1, O2:2, N2:7.52", "t_end": 2e-3},
}
P = 101325.0
ATOL = 1e-20
FLOWCHEM_RTOLS = {"full": (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10), "quick": (1e-6, 1e-8, 1e-10)}
CANTERA_RTOLS = {"full": (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11), "quick": (1e-6, 1e-8, 1e-10)}
METHODS = ("rodas", "bdf")


def cantera_reactor(ct, spec, rtol):
    gas = ct.Solution(spec["file"])
    gas.TPX = spec["T"], P, spec["X"]
    r = ct.IdealGasConstPressureReactor(gas, clone=False)
    net = ct.ReactorNet([r])
    net.rtol, net.atol = rtol, ATOL
    return gas, r, net


def cantera_ignition(ct, spec, rtol):
    """Ignition delay of Cantera's run at ``rtol`` (step loop, parabola at the max)."""
    gas, r, net = cantera_reactor(ct, spec, rtol)
    ts, rates = [0.0], [0.0]
    while net.time < spec["t_end"]:
        net.step()
        ts.append(net.time)
        rates.append(-np.dot(gas.partial_molar_enthalpies, gas.net_production_rates)
                     / (gas.density * gas.cp_mass))
    ts, rates = np.array(ts), np.array(rates)
    i = int(np.argmax(rates))
    a, b, _ = np.polyfit(ts[i - 1:i + 2] - ts[i], rates[i - 1:i + 2], 2)
    return ts[i] - b / (2 * a)


def run(quick=False, out=None):
    import cantera as ct

    import flowchem as fc
    from flowchem.reactors.gas import GasBatchReactor, ignition_delay

    warnings.simplefilter("ignore", DeprecationWarning)
    mode = "quick" if quick else "full"
    timer = Timer(budget_s=1.0 if quick else 3.0, min_reps=3, max_reps=50)
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
            cantera_points.append((max(err, 1e-16), t["median_s"]))
            cantera_rows.append({"rtol": rtol, "error": err, "time_s": t["median_s"],
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
                    "method": method, "rtol": rtol, "error": err, "time_s": t["median_s"],
                    "steps": res.stats["steps"], "rhs_evals": res.stats["rhs_evaluations"],
                    "jacobian_evaluations": res.stats["jacobian_evaluations"],
                    "lu_factorizations": res.stats["lu_factorizations"],
                    "cantera_time_at_error_s": peer, "cantera_flag": flag,
                    "speedup": peer / t["median_s"]})
        report["problems"][name] = {"spec": spec, "reference_ignition_delay_s": ref,
                                    "error_floor": floor, "cantera": cantera_rows,
                                    "flowchem": flowchem_rows}
        print(f"\n{name}: ignition delay {ref:.6e} s (floor {fmt_e(floor)})")
        print("  Cantera   rtol     error     time      steps  jac")
        for r in cantera_rows:
            print(f"            {r['rtol']:.0e}  {fmt_e(r['error'])}  {fmt_t(r['time_s'])}  "
                  f"{r['steps']:6d}  {r['jacobian_evaluations']:4d}")
        print("  flowchem  method rtol   error     time      steps  jac   Cantera at error  ratio")
        for r in flowchem_rows:
            print(f"            {r['method']:5s} {r['rtol']:.0e}  {fmt_e(r['error'])}  "
                  f"{fmt_t(r['time_s'])}  {r['steps']:6d}  {r['jacobian_evaluations']:5d}  "
                  f"{r['cantera_flag']:2s}{fmt_t(r['cantera_time_at_error_s'])}  "
                  f"{r['speedup']:.2f}x")
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
        (out / "gas_ignition.md").write_text("\n".join(lines))
    return report


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    run(quick=args.quick, out=args.out)
