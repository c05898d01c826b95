"""flowchem's kernels against Cantera (CVODES) on a real mechanism, at matched accuracy.

The problem: GRI-Mech 3.0 without its three-body and falloff reactions (53
species, 275 elementary reactions, 260 of them reversible), methane/air
(CH4 : O2 : N2 = 0.095 : 0.19 : 0.715) at 1500 K and 1 atm, isothermal and at
constant volume, from t = 0 to 2 ms. Cantera integrates it in an
``IdealGasReactor`` with ``energy="off"`` (its ``ReactorNet``, CVODES BDF);
flowchem reads the same file with ``Mechanism.from_cantera(...,
skip_unsupported=True, T_ref=1500)`` (reverse rates exact at 1500 K) and
integrates the batch equations with its kernels.

Usage::

    python benchmarks/cantera_gri.py [--quick] [--out benchmarks/results]

Writes ``cantera_gri.json`` and ``cantera_gri.md``. The error of a run is the
largest relative error at t = 2 ms over the species above 1e-8 of the total
concentration, against Cantera at rtol 1e-12 (checked against flowchem's
Rodas5P at rtol 1e-12; their difference is printed and is the floor below
which errors are not resolved). Cantera's time includes building the
reactor and network (what a user does per solve; reported separately too).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import Timer, fmt_e, fmt_t, machine_info, time_at_error  # noqa: E402

T = 1500.0
T_END = 2.0e-3
X0 = "CH4:0.095, O2:0.19, N2:0.715"
RTOLS_FULL = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
RTOLS_QUICK = (1e-4, 1e-6, 1e-8, 1e-10)
MAIN_RTOLS = (1e-4, 1e-6, 1e-8)
ERROR_FLOOR = 1e-8   # species below this fraction of the total are left out
ATOL_REL = 1e-16     # atol: 1e-16 of the total (flowchem, mol/m^3) / 1e-16 (Cantera, mass fractions)


def cantera_gas():
    import cantera as ct

    full = ct.Solution("gri30.yaml")
    keep = [r for r in full.reactions() if r.reaction_type == "Arrhenius"]
    gas = ct.Solution(thermo="ideal-gas", kinetics="gas", species=full.species(), reactions=keep)
    gas.TPX = T, ct.one_atm, X0
    return ct, gas, len(keep)


def _reactor(ct, gas):
    # clone=False: the reactor works on ``gas`` itself (no copy of the 53-species
    # phase, which costs Cantera about 15 ms); the state is reset before each solve
    try:
        return ct.IdealGasReactor(gas, energy="off", clone=False)
    except TypeError:  # Cantera < 3.2 has no 'clone' and never copies
        return ct.IdealGasReactor(gas, energy="off")


def cantera_tool(ct, gas, rtol, atol):
    """One solve: set the state, build reactor and network, advance to T_END."""
    def solve():
        gas.TPX = T, ct.one_atm, X0
        reactor = _reactor(ct, gas)
        net = ct.ReactorNet([reactor])
        net.rtol, net.atol = rtol, atol
        net.advance(T_END)
        return reactor.phase.concentrations * 1000.0, net
    return solve


def flowchem_setup():
    import flowchem as fc
    from flowchem.reactors.solver import make_system

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mech = fc.Mechanism.from_cantera("gri30.yaml", skip_unsupported=True, T_ref=T)
    return mech, make_system(mech, T)


def flowchem_tool(method, system, y0, rtol, atol):
    from flowchem.reactors.solver import auto_method
    from kernels.bdf import solve_bdf
    from kernels.rosenbrock import solve_rodas

    chosen = method if method != "auto" else auto_method(rtol, y0.shape[0])
    integrator = solve_rodas if chosen == "rodas" else solve_bdf
    atol_v = np.full(y0.shape[0], atol)
    t_eval = np.empty(0)

    def solve():
        return integrator(0, system, y0, 0.0, T_END, t_eval, rtol, atol_v, 0.0, 10_000_000, False)
    return solve, chosen


def rel_error(y, y_ref, total):
    mask = np.abs(y_ref) > ERROR_FLOOR * total
    if not np.all(np.isfinite(y)):
        return float("nan")
    return float(np.max(np.abs(y[mask] / y_ref[mask] - 1.0)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    timer = Timer(0.15, 3, 30) if args.quick else Timer(1.0, 5, 200)
    rtols = RTOLS_QUICK if args.quick else RTOLS_FULL

    ct, gas, n_reactions = cantera_gas()
    mech, system = flowchem_setup()
    names = gas.species_names
    order = [mech.species_names.index(s) for s in names]
    gas.TPX = T, ct.one_atm, X0
    c0_ct = gas.concentrations * 1000.0
    y0 = np.zeros(mech.n_species)
    y0[order] = c0_ct
    total = float(c0_ct.sum())

    ref_ct, _ = cantera_tool(ct, gas, 1e-12, 1e-22)()
    solve, _ = flowchem_tool("rodas", system, y0, 1e-12, 1e-20 * total)
    res = solve()
    assert int(res[0]) == 0, "flowchem reference solve failed"
    ref_fc = res[2][-1][order]
    agreement = rel_error(ref_fc, ref_ct, total)
    print(f"references: Cantera rtol 1e-12 vs flowchem Rodas5P rtol 1e-12 agree to {agreement:.1e}",
          flush=True)

    runs = []
    for rtol in rtols:
        solve = cantera_tool(ct, gas, rtol, ATOL_REL)
        y, net = solve()
        stats = {}
        try:
            st = net.solver_stats
            stats = {"steps": int(st.get("steps", 0)), "nfev": int(st.get("rhs_evals", 0)),
                     "njev": int(st.get("jac_evals", 0))}
        except Exception:  # noqa: BLE001 - statistics are optional across Cantera versions
            pass
        runs.append({"tool": "cantera", "rtol": rtol, "error": rel_error(y, ref_ct, total),
                     "time": timer(solve), "stats": stats})
        for method in ("auto", "rodas", "bdf"):
            fsolve, chosen = flowchem_tool(method, system, y0, rtol, ATOL_REL * total)
            r = fsolve()
            ok = int(r[0]) == 0
            err = rel_error(r[2][-1][order], ref_ct, total) if ok else float("nan")
            st = r[5]
            runs.append({"tool": f"flowchem-{method}" if method != "auto" else "flowchem",
                         "method": chosen, "rtol": rtol, "error": err,
                         "time": timer(fsolve) if ok else {"median_s": float("nan")},
                         "stats": {"steps": int(st[0]), "nfev": int(st[3]), "njev": int(st[4]),
                                   "nlu": int(st[5])}})
        for r in runs[-4:]:
            print(f"{r['tool']:15s} rtol {rtol:.0e}  {fmt_t(r['time']['median_s']):>10s}  "
                  f"err {fmt_e(r['error'])}  {r['stats']}", flush=True)

    # construction cost of Cantera's reactor and network alone
    def build_only():
        gas.TPX = T, ct.one_atm, X0
        return ct.ReactorNet([_reactor(ct, gas)])
    build = timer(build_only)

    ct_pts = [(r["error"], r["time"]["median_s"]) for r in runs if r["tool"] == "cantera"]
    matched = []
    for r in runs:
        if not r["tool"].startswith("flowchem") or r["rtol"] not in MAIN_RTOLS:
            continue
        t_ct, flag = time_at_error(ct_pts, max(r["error"], agreement))
        matched.append({"tool": r["tool"], "method": r["method"], "rtol": r["rtol"],
                        "error": r["error"], "time_s": r["time"]["median_s"],
                        "cantera_time_s": t_ct, "flag": flag,
                        "speedup": t_ct / r["time"]["median_s"] if math.isfinite(t_ct) else float("nan")})

    lines = ["# flowchem against Cantera: GRI-Mech 3.0 elementary reactions, 1500 K\n",
             f"{mech.n_species} species, {n_reactions} reactions; isothermal constant-volume batch "
             f"to {T_END * 1e3:g} ms. Error: largest relative error at the end over species above "
             f"{ERROR_FLOOR:g} of the total, against Cantera at rtol 1e-12 (flowchem's Rodas5P at "
             f"rtol 1e-12 agrees to {agreement:.1e}). atol: {ATOL_REL:g} of the total for both. "
             f"Cantera's time includes building the reactor and network ({fmt_t(build['median_s'])} "
             "on its own).\n",
             "## Matched accuracy\n",
             "| flowchem tool | method | rtol | error | flowchem time | Cantera time at that error | speed-up |",
             "|---|---|---|---|---|---|---|"]
    for m in matched:
        lines.append(f"| {m['tool']} | {m['method']} | {m['rtol']:.0e} | {fmt_e(m['error'])} | "
                     f"{fmt_t(m['time_s'])} | {m['flag']}{fmt_t(m['cantera_time_s'])} | "
                     f"{m['flag']}{m['speedup']:.1f}× |")
    lines += ["", "## All runs\n", "| tool | rtol | time | error | steps | f evals | J evals |",
              "|---|---|---|---|---|---|---|"]
    for r in runs:
        st = r["stats"]
        lines.append(f"| {r['tool']} | {r['rtol']:.0e} | {fmt_t(r['time']['median_s'])} | "
                     f"{fmt_e(r['error'])} | {st.get('steps', '—')} | {st.get('nfev', '—')} | "
                     f"{st.get('njev', '—')} |")
    mi = machine_info()
    lines.append(f"\nMachine: {mi['cpu']}, Python {mi['python']}, numba {mi['numba']}, "
                 f"Cantera {ct.__version__}.")
    md = "\n".join(lines) + "\n"
    report = {"problem": {"mechanism": "gri30.yaml (elementary reactions only)", "T_K": T,
                          "t_end_s": T_END, "X0": X0, "n_species": mech.n_species,
                          "n_reactions": n_reactions},
              "reference_agreement": agreement, "cantera_build_s": build, "runs": runs,
              "matched": matched, "machine": mi, "cantera_version": ct.__version__}
    (out_dir / "cantera_gri.json").write_text(json.dumps(report, indent=1, default=float))
    (out_dir / "cantera_gri.md").write_text(md)
    print()
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
