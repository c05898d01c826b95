"""flowchem kernel against scipy and numbalsoda, in one run, at matched accuracy.

Usage::

    python benchmarks/run.py [--quick] [--out benchmarks/results]

Writes ``benchmarks.json`` and ``benchmarks.md`` into the output directory and
prints the tables. See benchmarks/README.md for what is measured and how
"matched accuracy" is defined.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.problems import (BATCH, NumpyMassAction, all_problems,  # noqa: E402
                                 check_rhs_agreement, kernel_system, numbalsoda_rhs)

MAIN_RTOLS = (1e-4, 1e-6, 1e-8)
SWEEP_RTOLS_FULL = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
SWEEP_RTOLS_QUICK = (1e-4, 1e-6, 1e-8, 1e-10)
MAX_STEPS = 10_000_000
ROUTE_FILE = HERE / "data" / "pollu_route.yaml"

ERROR_MEASURE = (
    "max over components i with |y_ref_i| > floor of |y_i(t_end) - y_ref_i| / |y_ref_i|; "
    "y_ref is the Test Set for IVP Solvers reference; floor is fixed per problem "
    "(10 x the atol of the loosest main tolerance, rtol = 1e-4) so that one measure "
    "serves every tolerance")


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------

class Timer:
    def __init__(self, budget_s, min_reps, max_reps):
        self.budget_s = budget_s
        self.min_reps = min_reps
        self.max_reps = max_reps

    def __call__(self, fn):
        """Median wall time of fn() after one warm-up call, with repetition stats."""
        fn()  # warm-up (compilation, caches)
        times = []
        start = time.perf_counter()
        while len(times) < self.max_reps:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            if len(times) >= self.min_reps and time.perf_counter() - start > self.budget_s:
                break
        times.sort()
        q1 = times[len(times) // 4]
        q3 = times[(3 * len(times)) // 4]
        return {"median_s": statistics.median(times), "min_s": times[0],
                "iqr_s": q3 - q1, "repeats": len(times)}


def rel_error(problem, y):
    y = np.asarray(y, dtype=float)
    if y.shape != problem.y_ref.shape or not np.all(np.isfinite(y)):
        return float("nan")
    mask = np.abs(problem.y_ref) > problem.error_floor
    return float(np.max(np.abs(y[mask] - problem.y_ref[mask]) / np.abs(problem.y_ref[mask])))


# ---------------------------------------------------------------------------
# tools: each returns a callable doing one solve, and a function that does one
# solve and returns (ok, y_end, stats dict)
# ---------------------------------------------------------------------------

def kernel_tool(method):
    """flowchem's kernel with ``method`` "rodas", "bdf" or "auto" (the rule of
    flowchem.reactors.solver.SolverOptions: Rodas5P at loose tolerances, BDF below)."""
    def make(problem, rtol, atol):
        from flowchem.reactors.solver import auto_method
        from kernels.bdf import solve_bdf
        from kernels.rosenbrock import solve_rodas

        chosen = method
        if method == "auto":
            chosen = auto_method(rtol, problem.n)
        integrator = solve_rodas if chosen == "rodas" else solve_bdf
        system = kernel_system(problem)
        y0 = problem.y0.copy()
        atol_v = np.full(problem.n, atol)
        t_eval = np.empty(0)
        t_end = problem.t_end

        def solve():
            return integrator(BATCH, system, y0, 0.0, t_end, t_eval, rtol, atol_v, 0.0, MAX_STEPS,
                              False)

        def result():
            status, t_steps, y_steps, _d, _ye, stats, min_value = solve()
            ok = int(status) == 0 and t_steps[-1] == t_end
            return ok, y_steps[-1], {"method": chosen, "steps": int(stats[0]),
                                     "accepted": int(stats[1]), "rejected": int(stats[2]),
                                     "nfev": int(stats[3]), "njev": int(stats[4]),
                                     "nlu": int(stats[5]), "min_value": float(min_value),
                                     "status": int(status)}
        return solve, result
    return make


def tool_numbalsoda(problem, rtol, atol):
    from numbalsoda import lsoda

    fast = numbalsoda_rhs(problem)
    counting = numbalsoda_rhs(problem, counting=True)
    y0 = problem.y0.copy()
    t_eval = np.array([0.0, problem.t_end])
    data = np.zeros(1)
    addr = fast.address

    def solve():
        # lsoda copies nothing back into y0; pass a fresh copy anyway
        return lsoda(addr, y0.copy(), t_eval, data=data, rtol=rtol, atol=atol, mxstep=MAX_STEPS)

    def result():
        cnt = np.zeros(1)
        usol, ok = lsoda(counting.address, y0.copy(), t_eval, data=cnt, rtol=rtol, atol=atol,
                         mxstep=MAX_STEPS)
        # numbalsoda reports no statistics; f evaluations are counted by the RHS
        # (they include the n extra evaluations of each finite-difference Jacobian)
        return bool(ok), usol[-1], {"nfev": int(cnt[0])}
    return solve, result


def tool_scipy(method, with_jac):
    def make(problem, rtol, atol):
        from scipy.integrate import solve_ivp

        npm = NumpyMassAction(problem)
        kwargs = {"jac": npm.jac} if with_jac else {}
        y0 = problem.y0.copy()
        span = (0.0, problem.t_end)

        def solve():
            return solve_ivp(npm.fun, span, y0, method=method, rtol=rtol, atol=atol, **kwargs)

        def result():
            sol = solve()
            return bool(sol.success), sol.y[:, -1], {"steps": int(len(sol.t) - 1), "nfev": int(sol.nfev),
                                                     "njev": int(sol.njev), "nlu": int(sol.nlu)}
        return solve, result
    return make


def available_tools(quick):
    tools = [("flowchem", kernel_tool("auto"),
              "flowchem method='auto' (flowchem.reactors.solver.auto_method): Rodas5P for rtol >= 5e-7 "
              "and fewer than 40 states, variable-order BDF otherwise; "
              "analytic Jacobian"),
             ("flowchem-rodas", kernel_tool("rodas"),
              "Rodas5P (kernels.rosenbrock.solve_rodas), analytic Jacobian"),
             ("flowchem-bdf", kernel_tool("bdf"),
              "variable-order NDF/BDF (kernels.bdf.solve_bdf), analytic Jacobian, "
              "Jacobian and LU reuse")]
    notes = []
    try:
        import numbalsoda  # noqa: F401
        tools.append(("numbalsoda", tool_numbalsoda,
                      "LSODA (liblsoda, C) via numbalsoda.lsoda, Numba cfunc RHS, "
                      "internal finite-difference Jacobian; scalar atol"))
    except ImportError as exc:
        notes.append(f"numbalsoda not installed ({exc}); its rows are skipped "
                     "(pip install 'flowchem-sim[bench]', needs a C/C++ compiler)")
    for method in ("BDF", "LSODA", "Radau"):
        tools.append((f"scipy-{method}+jac", tool_scipy(method, True),
                      f"scipy.integrate.solve_ivp method={method}, numpy RHS, analytic numpy Jacobian"))
        if not quick:
            tools.append((f"scipy-{method}", tool_scipy(method, False),
                          f"scipy.integrate.solve_ivp method={method}, numpy RHS, finite-difference Jacobian"))
    if quick:
        notes.append("--quick: scipy runs without an analytic Jacobian are skipped")
    return tools, notes


# ---------------------------------------------------------------------------
# matched accuracy
# ---------------------------------------------------------------------------

def pareto(points):
    """Points (err, time) on the work-precision front: sorted by error, each
    kept only if faster than every more accurate point."""
    pts = sorted((e, t) for e, t in points if e > 0 and math.isfinite(e) and math.isfinite(t))
    front = []
    for e, t in pts:
        if not front or t < front[-1][1]:
            front.append((e, t))
    return front


def time_at_error(points, target):
    """Peer time at error ``target`` by log-log interpolation along its front.

    Returns (time, flag): flag '' interpolated; '>=' the peer never got this
    accurate (time of its most accurate run, a lower bound); '<=' the peer's
    loosest run was already more accurate (its time, an upper bound).
    """
    front = pareto(points)
    if not front or not (target > 0):
        return float("nan"), "n/a"
    if target < front[0][0]:
        return front[0][1], ">="
    if target >= front[-1][0]:
        return front[-1][1], "<="
    for (e0, t0), (e1, t1) in zip(front, front[1:]):
        if e0 <= target <= e1:
            w = (math.log(target) - math.log(e0)) / (math.log(e1) - math.log(e0))
            return math.exp(math.log(t0) + w * (math.log(t1) - math.log(t0))), ""
    return front[-1][1], "<="


# ---------------------------------------------------------------------------
# cold / cached start, in fresh subprocesses
# ---------------------------------------------------------------------------

_STARTUP_SNIPPET = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import numpy as np
from benchmarks.problems import pollu, kernel_system
from kernels.rosenbrock import solve_rodas
t1 = time.perf_counter()
p = pollu()
system = kernel_system(p)
atol = np.full(p.n, 1e-12)
t2 = time.perf_counter()
r = solve_rodas(0, system, p.y0, 0.0, p.t_end, np.empty(0), 1e-6, atol, 0.0, 10**7, False)
t3 = time.perf_counter()
r = solve_rodas(0, system, p.y0, 0.0, p.t_end, np.empty(0), 1e-6, atol, 0.0, 10**7, False)
t4 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "first_solve_s": t3 - t2, "second_solve_s": t4 - t3,
                   "kernel_arrays_s": t2 - t1, "status": int(r[0])}}))
"""

_STARTUP_SNIPPET_NBL = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import numpy as np
from numbalsoda import lsoda
from benchmarks.problems import pollu, numbalsoda_rhs
p = pollu()
t1 = time.perf_counter()
f = numbalsoda_rhs(p)
t2 = time.perf_counter()
te = np.array([0.0, p.t_end])
u, ok = lsoda(f.address, p.y0.copy(), te, rtol=1e-6, atol=1e-12, mxstep=10**7)
t3 = time.perf_counter()
u, ok = lsoda(f.address, p.y0.copy(), te, rtol=1e-6, atol=1e-12, mxstep=10**7)
t4 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "cfunc_compile_s": t2 - t1, "first_solve_s": t3 - t2,
                   "second_solve_s": t4 - t3, "ok": bool(ok)}}))
"""


def _run_snippet(snippet, cache_dir):
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = cache_dir
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", snippet.format(root=str(ROOT))], env=env,
                          capture_output=True, text=True, cwd=str(ROOT))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed",
                "process_wall_s": wall}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    return out


def startup_times(with_numbalsoda):
    res = {"problem": "POLLU", "rtol": 1e-6, "atol": 1e-12,
           "note": ("fresh Python processes; 'cold' has NUMBA_CACHE_DIR set to a new empty "
                    "temporary directory, 'cached' reuses the same directory")}
    with tempfile.TemporaryDirectory(prefix="flowchem-bench-numba-") as cache:
        res["flowchem_cold"] = _run_snippet(_STARTUP_SNIPPET, cache)
        res["flowchem_cached"] = _run_snippet(_STARTUP_SNIPPET, cache)
    if with_numbalsoda:
        with tempfile.TemporaryDirectory(prefix="flowchem-bench-numba-") as cache:
            res["numbalsoda_cold"] = _run_snippet(_STARTUP_SNIPPET_NBL, cache)
            res["numbalsoda_cached"] = _run_snippet(_STARTUP_SNIPPET_NBL, cache)
    return res


# ---------------------------------------------------------------------------
# route.run()
# ---------------------------------------------------------------------------

_ROUTE_SNIPPET = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from benchmarks.run import Timer, rel_error
from benchmarks.problems import pollu
try:
    import flowchem as fc
    fc.load_route
except Exception as exc:
    print(json.dumps({{"skipped": "import flowchem failed: " + repr(exc)}}))
    raise SystemExit(0)
timer = Timer({budget!r}, {min_reps!r}, {max_reps!r})
path = {path!r}
p = pollu()
route = fc.load_route(path)
t0 = time.perf_counter()
first = route.run()
first_s = time.perf_counter() - t0
d = first.to_dict()
conc = d["streams"]["R1"]["conc_mol_per_m3"]
y = np.array([conc[s] for s in p.species])
out = {{"rtol": route.options.rtol, "atol": route.options.atol, "first_run_s": first_s,
        "error": rel_error(p, y), "solver_stats": d["operations"]["R1"].get("solver")}}
out["run"] = timer(route.run)
out["load_and_run"] = timer(lambda: fc.load_route(path).run())
out["load"] = timer(lambda: fc.load_route(path))
print(json.dumps(out))
"""


def route_benchmark(timer):
    """route.run() of the POLLU route, in a fresh process (using the normal Numba
    cache), so that a crash in the domain layer is reported instead of ending
    the benchmark run."""
    path = str(ROUTE_FILE)
    snippet = _ROUTE_SNIPPET.format(root=str(ROOT), budget=timer.budget_s, min_reps=timer.min_reps,
                                    max_reps=timer.max_reps, path=path)
    proc = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                          cwd=str(ROOT))
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:] if proc.stderr.strip() else []
        why = f"exit status {proc.returncode}" + (" (segmentation fault)" if proc.returncode in (-11, 139) else "")
        return {"skipped": f"route benchmark process failed, {why}: " + " | ".join(tail)}
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"skipped": "route benchmark printed no result: " + proc.stdout[-300:]}
    out["route_file"] = os.path.relpath(path, ROOT)
    return out


# ---------------------------------------------------------------------------
# machine
# ---------------------------------------------------------------------------

def machine_info():
    import numba
    import scipy

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "logical_cpus": os.cpu_count(), "platform": platform.platform(),
            "python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
            "numba": numba.__version__}
    try:
        from importlib.metadata import version
        info["numbalsoda"] = version("numbalsoda")
    except Exception:  # noqa: BLE001
        info["numbalsoda"] = None
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True).stdout.strip()
    except OSError:
        info["git_commit"] = None
    return info


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------

def fmt_t(s):
    if s is None or not math.isfinite(s):
        return "n/a"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_e(e):
    return "n/a" if e is None or not math.isfinite(e) else f"{e:.1e}"


def markdown(report):
    lines = []
    rows = report["runs"]
    lines.append("## Same tolerance (main tolerances)\n")
    lines.append(f"Error: {report['error_measure']}.\n")
    lines.append("| problem | tool | rtol | atol | median time | error | steps | f evals | J evals | "
                 "flowchem speed-up |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    kernel_time = {(r["problem"], r["rtol"]): r["time"]["median_s"] for r in rows
                   if r["tool"] == "flowchem" and r.get("ok")}
    for r in rows:
        if r["rtol"] not in report["main_rtols"]:
            continue
        kt = kernel_time.get((r["problem"], r["rtol"]))
        t = r["time"]["median_s"] if r.get("time") else float("nan")
        sp = "—" if r["tool"] == "flowchem" else (f"{t / kt:.1f}×" if kt and r.get("ok") else "n/a")
        st = r["stats"]
        lines.append(f"| {r['problem']} | {r['tool']} | {r['rtol']:.0e} | {r['atol']:.0e} | {fmt_t(t)} | "
                     f"{fmt_e(r['error'])}{'' if r.get('ok') else ' (FAILED)'} | {st.get('steps', '—')} | "
                     f"{st.get('nfev', '—')} | {st.get('njev', '—')} | {sp} |")
    lines.append("")
    lines.append("## Matched accuracy\n")
    lines.append("For each flowchem run, the time each peer needs for the same error, interpolated "
                 "log-log along the peer's work-precision front (all its tolerances). `>=`: the peer "
                 "never got that accurate in the sweep (its most accurate run's time, so the speed-up "
                 "is a lower bound); `<=`: the peer's loosest run was already more accurate (an upper "
                 "bound).\n")
    peers = [t for t in report["tools"] if not t.startswith("flowchem")]
    lines.append("| problem | flowchem tool (method) | rtol | flowchem error | flowchem time | " +
                 " | ".join(f"{p} time (speed-up)" for p in peers) + " |")
    lines.append("|---|---|---|---|---|" + "---|" * len(peers))
    for m in report["matched"]:
        cells = []
        for p in peers:
            c = m["peers"].get(p)
            if c is None or not math.isfinite(c["time_s"]):
                cells.append("n/a")
            else:
                cells.append(f"{c['flag']}{fmt_t(c['time_s'])} ({c['flag']}{c['speedup']:.1f}×)")
        lines.append(f"| {m['problem']} | {m['tool']} ({m.get('method')}) | {m['rtol']:.0e} | "
                     f"{fmt_e(m['error'])} | {fmt_t(m['time_s'])} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("## Work-precision (all tolerances)\n")
    lines.append("| problem | tool | " + " | ".join(f"{r:.0e}" for r in report["sweep_rtols"]) + " |")
    lines.append("|---|---|" + "---|" * len(report["sweep_rtols"]))
    by = {}
    for r in rows:
        by.setdefault((r["problem"], r["tool"]), {})[r["rtol"]] = r
    for (prob, tool), d in by.items():
        cells = []
        for rt in report["sweep_rtols"]:
            r = d.get(rt)
            cells.append("" if r is None else
                         (f"{fmt_t(r['time']['median_s'])} / {fmt_e(r['error'])}" if r.get("ok") else "failed"))
        lines.append(f"| {prob} | {tool} | " + " | ".join(cells) + " |")
    lines.append("\n(time / error per rtol)\n")

    su = report.get("startup", {})
    if su:
        lines.append("## Start-up (fresh processes, POLLU rtol 1e-6)\n")
        lines.append("| run | import | first solve | second solve | process wall |")
        lines.append("|---|---|---|---|---|")
        for key in ("flowchem_cold", "flowchem_cached", "numbalsoda_cold", "numbalsoda_cached"):
            v = su.get(key)
            if not v:
                continue
            if "error" in v:
                lines.append(f"| {key} | error: {v['error']} | | | |")
                continue
            first = v["first_solve_s"] + v.get("cfunc_compile_s", 0.0)
            lines.append(f"| {key} | {fmt_t(v['import_s'])} | {fmt_t(first)} | {fmt_t(v['second_solve_s'])} | "
                         f"{fmt_t(v['process_wall_s'])} |")
        lines.append("\n(numbalsoda's first solve includes compiling the cfunc RHS and its lsoda "
                     "wrapper, which numbalsoda does not cache)\n")
    rb = report.get("route", {})
    lines.append("## route.run() of the POLLU route\n")
    if "skipped" in rb:
        lines.append(f"Skipped: {rb['skipped']}\n")
    else:
        c = rb["comparison"]
        lines.append(f"`{rb['route_file']}`, solver rtol {rb['rtol']:g}, atol {rb['atol']:g}; "
                     f"outlet error {fmt_e(rb['error'])}.\n")
        lines.append("| measurement | median time | ratio to numbalsoda bare solve (same tol) |")
        lines.append("|---|---|---|")
        nb = c.get("numbalsoda_same_tol_s")
        for label, t in (("route.run() (route loaded once)", rb["run"]["median_s"]),
                         ("fc.load_route(path).run()", rb["load_and_run"]["median_s"]),
                         ("fc.load_route(path) alone", rb["load"]["median_s"]),
                         ("bare flowchem kernel, same tol", c.get("kernel_same_tol_s")),
                         ("bare numbalsoda, same tol", nb),
                         ("bare numbalsoda at the route's accuracy", c.get("numbalsoda_matched_s"))):
            ratio = f"{t / nb:.2f}" if (nb and t and math.isfinite(t)) else "n/a"
            lines.append(f"| {label} | {fmt_t(t)} | {ratio} |")
        if c.get("numbalsoda_matched_flag"):
            lines.append(f"\n(numbalsoda at the route's accuracy: flag `{c['numbalsoda_matched_flag']}`, "
                         "see matched-accuracy notes)")
        lines.append("")
    tg = report.get("targets")
    if tg:
        lines.append("## Targets\n")
        for t in tg:
            lines.append(f"- {t}")
        lines.append("")
    if report["notes"]:
        lines.append("## Notes\n")
        for n in report["notes"]:
            lines.append(f"- {n}")
        lines.append("")
    mi = report["machine"]
    lines.append(f"Machine: {mi['cpu']} ({mi['logical_cpus']} logical CPUs), Python {mi['python']}, "
                 f"numpy {mi['numpy']}, scipy {mi['scipy']}, numba {mi['numba']}, "
                 f"numbalsoda {mi['numbalsoda']}; commit {mi.get('git_commit')}.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer tolerances and repeats (< 2 min)")
    ap.add_argument("--out", default=str(HERE / "results"), help="output directory")
    ap.add_argument("--no-startup", action="store_true", help="skip the fresh-process start-up timings")
    args = ap.parse_args(argv)

    wall0 = time.perf_counter()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    timer = Timer(0.12, 3, 50) if args.quick else Timer(0.8, 5, 300)
    sweep = SWEEP_RTOLS_QUICK if args.quick else SWEEP_RTOLS_FULL
    tools, notes = available_tools(args.quick)
    problems = all_problems()

    checks = {}
    for p in problems:
        checks[p.name] = check_rhs_agreement(p)
    print("right-hand sides agree (kernel / numpy / test-set formula):",
          ", ".join(f"{k} {v['rhs_max_rel_diff']:.1e}" for k, v in checks.items()), flush=True)

    runs = []
    for p in problems:
        for rtol in sweep:
            atol = p.atol_factor * rtol
            for name, make, _desc in tools:
                solve, result = make(p, rtol, atol)
                try:
                    ok, y_end, stats = result()
                    err = rel_error(p, y_end)
                    timing = timer(solve) if ok else None
                except Exception as exc:  # noqa: BLE001 - a failing peer is a result, not a crash
                    ok, err, stats, timing = False, float("nan"), {"exception": repr(exc)}, None
                runs.append({"problem": p.name, "tool": name, "rtol": rtol, "atol": atol, "ok": bool(ok),
                             "error": err, "stats": stats,
                             "time": timing or {"median_s": float("nan")}})
                print(f"{p.name:6s} {name:18s} rtol {rtol:.0e}  {fmt_t(runs[-1]['time']['median_s']):>10s}  "
                      f"err {fmt_e(err)}  {stats}", flush=True)

    # matched accuracy: each flowchem variant against every peer
    own = [t[0] for t in tools if t[0].startswith("flowchem")]
    matched = []
    for p in problems:
        for tool in own:
            for rtol in MAIN_RTOLS:
                if rtol not in sweep:
                    continue
                k = next((r for r in runs if r["problem"] == p.name and r["tool"] == tool
                          and r["rtol"] == rtol), None)
                if k is None or not k["ok"]:
                    continue
                entry = {"problem": p.name, "tool": tool, "method": k["stats"].get("method"),
                         "rtol": rtol, "error": k["error"], "time_s": k["time"]["median_s"],
                         "peers": {}}
                for name, _m, _d in tools:
                    if name in own:
                        continue
                    pts = [(r["error"], r["time"]["median_s"]) for r in runs
                           if r["problem"] == p.name and r["tool"] == name and r["ok"]]
                    t, flag = time_at_error(pts, k["error"])
                    entry["peers"][name] = {"time_s": t, "flag": flag,
                                            "speedup": t / k["time"]["median_s"]
                                            if math.isfinite(t) else float("nan")}
                matched.append(entry)

    report = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": "quick" if args.quick else "full",
        "machine": machine_info(),
        "error_measure": ERROR_MEASURE,
        "tolerances": "atol = atol_factor * rtol, scalar, the same for every tool "
                      "(numbalsoda takes a scalar atol only)",
        "problems": {p.name: {"n_species": p.n, "n_reactions": p.m, "t_end": p.t_end,
                              "atol_factor": p.atol_factor, "error_floor": p.error_floor,
                              "source": p.source} for p in problems},
        "rhs_checks": checks,
        "tools": [t[0] for t in tools],
        "tool_descriptions": {t[0]: t[2] for t in tools},
        "main_rtols": [r for r in MAIN_RTOLS if r in sweep],
        "sweep_rtols": list(sweep),
        "timing": {"budget_s_per_case": timer.budget_s, "min_repeats": timer.min_reps,
                   "max_repeats": timer.max_reps,
                   "method": "time.perf_counter around one Python-level call, after one warm-up call"},
        "runs": runs,
        "matched": matched,
        "notes": notes,
    }

    if not args.no_startup:
        print("start-up timings in fresh processes ...", flush=True)
        report["startup"] = startup_times(any(t[0] == "numbalsoda" for t in tools))

    print("route.run() in a fresh process ...", flush=True)
    rb = route_benchmark(timer)
    if "skipped" not in rb:
        def find(tool, rtol, atol):
            return next((r for r in runs if r["problem"] == "POLLU" and r["tool"] == tool and r["ok"]
                         and math.isclose(r["rtol"], rtol) and math.isclose(r["atol"], atol)), None)
        nb = find("numbalsoda", rb["rtol"], rb["atol"]) if rb["atol"] is not None else None
        kr = find("flowchem-rodas", rb["rtol"], rb["atol"]) if rb["atol"] is not None else None
        pts = [(r["error"], r["time"]["median_s"]) for r in runs
               if r["problem"] == "POLLU" and r["tool"] == "numbalsoda" and r["ok"]]
        tm, flag = time_at_error(pts, rb["error"]) if pts else (float("nan"), "n/a")
        rb["comparison"] = {
            "numbalsoda_same_tol_s": nb["time"]["median_s"] if nb else None,
            "numbalsoda_same_tol_error": nb["error"] if nb else None,
            "kernel_same_tol_s": kr["time"]["median_s"] if kr else None,
            "numbalsoda_matched_s": tm, "numbalsoda_matched_flag": flag,
            "run_over_numbalsoda": (rb["run"]["median_s"] / nb["time"]["median_s"]) if nb else None,
            "load_and_run_over_numbalsoda": (rb["load_and_run"]["median_s"] / nb["time"]["median_s"])
            if nb else None,
        }
    report["route"] = rb

    # targets
    targets = []
    for m in matched:
        if m["tool"] != "flowchem":
            continue
        nbl = m["peers"].get("numbalsoda")
        bdf = m["peers"].get("scipy-BDF+jac")
        parts = [f"{m['problem']} rtol {m['rtol']:.0e}:"]
        if nbl:
            parts.append(f"vs numbalsoda {nbl['flag']}{nbl['speedup']:.2f}× "
                         f"({'met' if nbl['speedup'] >= 1 else 'MISSED'}: target ≥ 1×)")
        if bdf:
            parts.append(f"vs scipy BDF+jac {bdf['flag']}{bdf['speedup']:.0f}× "
                         f"({'met' if bdf['speedup'] >= 30 else 'MISSED'}: target ≥ 30×)")
        targets.append(" ".join(parts) + " [matched accuracy]")
    if "comparison" in rb and rb["comparison"]["run_over_numbalsoda"] is not None:
        r = rb["comparison"]["run_over_numbalsoda"]
        targets.append(f"route.run() / numbalsoda bare solve (same tolerances) = {r:.2f} "
                       f"({'met' if r <= 2 else 'MISSED'}: target ≤ 2)")
        tm = rb["comparison"]["numbalsoda_matched_s"]
        if tm and math.isfinite(tm):
            r2 = rb["run"]["median_s"] / tm
            flag = rb["comparison"]["numbalsoda_matched_flag"]
            targets.append(f"route.run() / numbalsoda bare solve at the route's accuracy = {flag}{r2:.2f} "
                           f"({'met' if r2 <= 2 else 'MISSED'}: target ≤ 2)")
    report["targets"] = targets
    report["total_wall_s"] = time.perf_counter() - wall0

    md = markdown(report)
    (out_dir / "benchmarks.json").write_text(json.dumps(report, indent=1, default=float))
    (out_dir / "benchmarks.md").write_text(md)
    print()
    print(md)
    print(f"wrote {out_dir / 'benchmarks.json'} and {out_dir / 'benchmarks.md'} "
          f"in {report['total_wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
