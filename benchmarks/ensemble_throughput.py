"""Points per second of compiled route ensembles (flowchem.process.compiled_route)
against the per-point Python route and a plain loop of scipy ``solve_ivp``.

Routes: a one-reactor, four-reaction SNAr-type route (isothermal PFR;
factors R1.T and R1.volume) and the full lomustine route of
examples/lomustine (two coils, one cooled with a hot spot, a quench and an
extraction; factors R2.energy.coolant_T and nitrite.flow). The compiled
ensemble runs on 1 and 2 Numba threads; the Python route and the scipy loop
on a few hundred points (their per-point cost does not depend on the count).

    /work/venv/bin/python benchmarks/ensemble_throughput.py [--points 10000]
        [--only snar|lomustine] [--repeats 3] [--profile]

``--profile`` adds, for three lomustine points, the time of each operation
(one thread, the others preset) and the Rodas5P counters of the tubes that
the points change (R2, Q1).

The machine is shared: run it when nothing else is running and repeat.
"""
import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flowchem.core.yamlio import read_yaml  # noqa: E402
from flowchem.process.compiled_route import CompiledRoute  # noqa: E402
from flowchem.process.route import Route  # noqa: E402
from flowchem.process.study_table import row_from_result  # noqa: E402

SNAR = {
    "name": "snar",
    "mechanism": {
        "units": {"concentration": "mol/L", "time": "min", "activation-energy": "kJ/mol"},
        "species": [{"name": "DFNB", "formula": "C6H3F2NO2"}, {"name": "MOR", "formula": "C4H9NO"},
                    {"name": "P", "formula": "C10H11FN2O3"}, {"name": "Q", "formula": "C10H11FN2O3"},
                    {"name": "BIS", "formula": "C14H19N3O4"}, {"name": "HF", "formula": "HF"}],
        "reactions": [
            {"equation": "DFNB + MOR => P + HF", "id": "sub1",
             "rate": {"k_ref": 0.6, "T_ref": "60 degC", "Ea": 55}},
            {"equation": "DFNB + MOR => Q + HF", "id": "sub2",
             "rate": {"k_ref": 0.05, "T_ref": "60 degC", "Ea": 65}},
            {"equation": "P + MOR => BIS + HF", "id": "sub3",
             "rate": {"k_ref": 0.02, "T_ref": "60 degC", "Ea": 70}},
            {"equation": "Q + MOR => BIS + HF", "id": "sub4",
             "rate": {"k_ref": 0.1, "T_ref": "60 degC", "Ea": 60}},
        ],
    },
    "feeds": [{"name": "dfnb", "flow": "0.5 mL/min", "T": "25 degC", "conc": {"DFNB": "0.5 mol/L"}},
              {"name": "mor", "flow": "0.5 mL/min", "T": "25 degC", "conc": {"MOR": "1.2 mol/L"}}],
    "operations": [{"name": "M1", "type": "mixer", "from": ["dfnb", "mor"]},
                   {"name": "R1", "type": "pfr", "from": "M1", "volume": "5 mL", "T": "60 degC"}],
    "product": {"from": "R1", "species": "P", "basis": "DFNB"},
}
SNAR_FACTORS = ["R1.T", "R1.volume"]
LOMUSTINE_FACTORS = ["R2.energy.coolant_T", "nitrite.flow"]
UNITS = {"T": "K", "volume": "m^3", "flow": "m^3/s", "coolant_T": "K"}


def grid(lo, hi, n_points):
    """A full-factorial grid of about n_points points over two factors."""
    side = int(np.ceil(np.sqrt(n_points)))
    a, b = np.meshgrid(np.linspace(lo[0], hi[0], side), np.linspace(lo[1], hi[1], side))
    return np.column_stack([a.ravel(), b.ravel()])[:n_points]


def point_data(data, factors, x):
    point = copy.deepcopy(data)
    items = {d["name"]: d for d in point["feeds"] + point["operations"]}
    for f, v in zip(factors, x):
        entry, key = f.split(".", 1)
        target = items[entry]
        parts = key.split(".")
        for p in parts[:-1]:
            target = target[p]
        target[parts[-1]] = f"{float(v)!r} {UNITS[parts[-1]]}"
    return point


def python_route_rate(data, factors, X, source, base_dir, columns):
    """Points per second of the per-point Python route (load + run + row),
    as `flowchem sweep` does it; returns (rate, rows)."""
    rows = []
    t0 = time.perf_counter()
    for x in X:
        route = Route.from_dict(point_data(data, factors, x), source=source, base_dir=base_dir)
        rows.append(row_from_result(columns, route.run()))
    return len(X) / (time.perf_counter() - t0), rows


def compiled_rates(cr, X, repeats=3):
    """Best of ``repeats`` rounds, each one call on 1 thread and one on 2 (in
    turn, so a burst of other work on the shared machine spoils single
    samples rather than one thread count's): ``(rate_1, rate_2, values_1,
    values_2, status_2)`` in points per second."""
    best = {1: np.inf, 2: np.inf}
    out = {}
    for _ in range(repeats):
        for threads in (1, 2):
            t0 = time.perf_counter()
            out[threads] = cr.evaluate(X, threads=threads)
            best[threads] = min(best[threads], time.perf_counter() - t0)
    return (len(X) / best[1], len(X) / best[2], out[1][0], out[2][0], out[2][1])


def scipy_loop_rate(route, X, method="LSODA"):
    """A plain loop of scipy solve_ivp (``method``, analytic Jacobian) on the SNAr
    tube, at matched accuracy (rtol 1e-8, atol 1e-12 of the largest inlet
    concentration, as the route's solver options); returns (rate, yields)."""
    from scipy.integrate import solve_ivp

    mech = route.mechanism
    names = mech.species_names
    feed = sum(f.molar_flows for f in route.feeds.values())
    flow = sum(f.flow for f in route.feeds.values())
    c0 = feed / flow
    iD, iM, iP, iQ = (names.index(s) for s in ("DFNB", "MOR", "P", "Q"))
    compiled = mech.compile()
    fwd = compiled.rate_params[1]
    R = 8.314462618
    ip = names.index("P")
    yields = []
    t0 = time.perf_counter()
    for T, V in X:
        k = np.exp(fwd[:, 0] + fwd[:, 1] * np.log(T) - fwd[:, 2] / T)

        def f(t, c):
            q = np.array([k[0] * c[iD] * c[iM], k[1] * c[iD] * c[iM],
                          k[2] * c[iP] * c[iM], k[3] * c[iQ] * c[iM]])
            return np.array([-q[0] - q[1], -q.sum(), q[0] - q[2], q[1] - q[3], q[2] + q[3],
                             q.sum()])

        def jac(t, c):
            J = np.zeros((6, 6))
            dq = np.zeros((4, 6))
            dq[0, iD], dq[0, iM] = k[0] * c[iM], k[0] * c[iD]
            dq[1, iD], dq[1, iM] = k[1] * c[iM], k[1] * c[iD]
            dq[2, iP], dq[2, iM] = k[2] * c[iM], k[2] * c[iP]
            dq[3, iQ], dq[3, iM] = k[3] * c[iM], k[3] * c[iQ]
            S = np.array([[-1, -1, 1, 0, 0, 1], [-1, -1, 0, 1, 0, 1],
                          [0, -1, -1, 0, 1, 1], [0, -1, 0, -1, 1, 1]], dtype=float)
            J[:] = S.T @ dq
            return J

        sol = solve_ivp(f, (0.0, V / flow), c0, method=method, jac=jac, rtol=1e-8,
                        atol=1e-12 * float(np.max(c0)))
        yields.append(sol.y[ip, -1] / c0[iD])
    del R
    return len(X) / (time.perf_counter() - t0), np.array(yields)


def profile_lomustine(cl, X, repeats=200):
    """Per-operation time (us, one thread, every other operation preset from
    a full run of the point) and Rodas5P counters of R2 and Q1, for each row of X."""
    from numba import njit

    import kernels.route_ensemble as kre
    from kernels.rosenbrock import solve_rodas

    @njit
    def run_ops(reps, p, raw, prog, n_reg, n, model, heat_s, energy_s, rev_kind, has_heat,
                rtol, atol, max_steps, skip, R0, V0):
        plans = kre._lu_plans(raw, n, model, heat_s, energy_s, rev_kind.shape[0], has_heat,
                              True)
        for _ in range(reps):
            R = R0.copy()
            V = V0.copy()
            kre._run_point(p, raw, prog[0], prog[1], prog[2], prog[3], prog[4], prog[5],
                           prog[6], prog[7], prog[8], prog[9], n_reg, n, model, heat_s,
                           energy_s, rev_kind, has_heat, rtol, atol, max_steps, skip, R, V,
                           np.zeros(4), plans, True)
        return R

    P, _, _, _ = cl.parameter_matrix(X)
    raw = np.ascontiguousarray(cl._raw_base)
    names = cl._op_order
    n, width = cl.n, cl.n + 5
    n_ops = len(names)
    none = (np.zeros(n_ops, dtype=np.int64), np.full((cl._n_reg, width), np.nan),
            np.full((n_ops, 4), np.nan))
    states, opv, fail, _ = cl._kernel(P, raw, np.arange(cl._n_reg), *none, threads=1)
    rev_kind = np.ascontiguousarray(cl._compiled.rate_params[0], dtype=np.int64)
    m = rev_kind.shape[0]
    rate_params = (rev_kind, raw[0, :3 * m].reshape(m, 3).copy(),
                   raw[0, 3 * m:6 * m].reshape(m, 3).copy())
    dH = raw[0, 6 * m + cl._model[2].shape[0]:].copy()
    prog = cl._program
    for i, x in enumerate(X):
        def args(skip):
            return (P[i], raw[0], prog, np.int64(cl._n_reg), np.int64(n), cl._model, cl._heat_s,
                    cl._energy_s, rev_kind, np.bool_(cl._has_heat), float(cl._rtol),
                    float(cl._atol), np.int64(cl._max_steps), skip,
                    np.ascontiguousarray(states[i]), np.ascontiguousarray(opv[i]))

        def best_us(skip):
            run_ops(1, *args(skip))
            best = np.inf
            for _ in range(5):
                t0 = time.perf_counter()
                run_ops(repeats, *args(skip))
                best = min(best, (time.perf_counter() - t0) / repeats)
            return best * 1e6

        parts = []
        for k, name in enumerate(names):
            skip = np.ones(n_ops, dtype=np.int64)
            skip[k] = 0
            parts.append(f"{name} {best_us(skip):.0f}")
        print(f"  point {x}: per operation (us) " + ", ".join(parts)
              + f"; the point (operations it changes) {best_us(cl._invariant.copy()):.0f} us")
        for name in ("R2", "Q1"):
            k = names.index(name)
            s = prog[1][k]
            ins = prog[4][prog[3][k]:prog[3][k + 1]]
            if prog[0][k] == kre.OP_QUENCH:
                inlet = np.empty(width)
                kre._mix(states[i], ins, n, inlet)
                volume, mode, U, apv, Tc = P[i, s] * inlet[n], 0, 0.0, 0.0, 0.0
            else:
                inlet = states[i, ins[0]].copy()
                volume, mode = P[i, s], prog[2][k, 1]
                U, apv, Tc = P[i, s + 2], P[i, s + 3], P[i, s + 4]
            T_in = P[i, s + 1] if (mode == 0 and not np.isnan(P[i, s + 1])) else inlet[n + 1]
            code, system, y0, atol, _ = kre._reactor_system(
                inlet[:n].copy(), np.int64(n), np.int64(m), T_in, np.int64(mode), U, apv, Tc,
                inlet[n + 2], inlet[n + 3], cl._model, cl._heat_s, cl._energy_s, cl._model[8],
                rate_params, dH, np.bool_(cl._has_heat), float(cl._atol), np.int64(0),
                np.int64(2))
            st = solve_rodas(np.int64(code), system, y0, 0.0, volume / inlet[n], np.zeros(0),
                             cl._rtol, atol, 0.0, np.int64(cl._max_steps), True)
            h = np.diff(st[1])
            print(f"    {name}: {y0.shape[0]} states, steps {st[5][0]} (rejected {st[5][2]}), "
                  f"rhs {st[5][3]}, Jacobians {st[5][4]}, LU {st[5][5]}; first steps "
                  f"{np.array2string(h[:4], precision=3)} s, largest {h.max():.3g} s")


def main():
    import numba

    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--python-points", type=int, default=200)
    ap.add_argument("--only", choices=("snar", "lomustine"))
    ap.add_argument("--repeats", type=int, default=5,
                    help="rounds of compiled calls on 1 and 2 threads (best of them)")
    ap.add_argument("--profile", action="store_true",
                    help="per-operation times and solver counters of three lomustine points")
    args = ap.parse_args()
    print(f"numba threads available: {numba.config.NUMBA_NUM_THREADS}")

    if args.only != "lomustine":
        snar_section(args)
    if args.only != "snar":
        lomustine_section(args)


def snar_section(args):
    """The one-reactor SNAr route: compiled on 1 and 2 threads, the Python
    route and the scipy loops."""
    snar = Route.from_dict(copy.deepcopy(SNAR), source="snar.yaml")
    cr = CompiledRoute(snar, SNAR_FACTORS)
    X = grid((313.15, 1e-6), (373.15, 1e-5), args.points)
    t0 = time.perf_counter()
    cr.evaluate(X[:4])
    print(f"first call (compile or cache load): {time.perf_counter() - t0:.1f} s")
    r1, r2, v1, v2, s2 = compiled_rates(cr, X, args.repeats)
    assert np.array_equal(v1, v2, equal_nan=True)
    # the same sweep with solver method auto-switch (DOP853 on these tubes)
    data_as = copy.deepcopy(SNAR)
    data_as["solver"] = {"method": "auto-switch"}
    cr_as = CompiledRoute(Route.from_dict(data_as, source="snar.yaml"), SNAR_FACTORS)
    cr_as.evaluate(X[:4])
    a1, a2, _, va, _ = compiled_rates(cr_as, X, args.repeats)
    j_y = cr.columns.index("product.yield")
    dev_as = float(np.max(np.abs(va[:, j_y] / v2[:, j_y] - 1.0)))
    Xp = X[:: max(1, len(X) // args.python_points)][: args.python_points]
    rp, rows = python_route_rate(SNAR, SNAR_FACTORS, Xp, "snar.yaml", ROOT, cr.columns)
    scipy = {m: scipy_loop_rate(snar, Xp, m) for m in ("LSODA", "Radau", "BDF")}
    vp, _ = cr.evaluate(Xp)
    j = cr.columns.index("product.yield")
    dev_py = max(abs(vp[i, j] - rows[i]["product.yield"]) / abs(rows[i]["product.yield"])
                 for i in range(len(Xp)))
    print(f"SNAr one-reactor route ({len(X)} points, {len(cr.columns)} columns)")
    print(f"  compiled, 1 thread : {r1:10.0f} points/s")
    print(f"  compiled, 2 threads: {r2:10.0f} points/s   (scaling {r2 / r1:.2f}x; "
          f"{len(X)} points in {len(X) / r2:.2f} s)")
    print(f"  auto-switch, 1 / 2 threads: {a1:10.0f} / {a2:.0f} points/s   (scaling {a2 / a1:.2f}x; "
          f"yields within {dev_as:.1e} of Rodas5P's)")
    print(f"  Python route       : {rp:10.0f} points/s   (compiled 2 threads is {r2 / rp:.0f}x; "
          f"max rel. yield difference {dev_py:.1e})")
    for m, (rs, ys) in scipy.items():
        dev = float(np.max(np.abs(vp[:, j] - ys) / np.abs(vp[:, j])))
        print(f"  scipy {m:5s} loop   : {rs:10.0f} points/s   (compiled 2 threads is {r2 / rs:.0f}x; "
              f"max rel. yield difference {dev:.1e})")



def lomustine_section(args):
    """The lomustine route: compiled on 1 and 2 threads and the Python route."""
    data, source = read_yaml(ROOT / "examples/lomustine/route.yaml")
    base_dir = ROOT / "examples/lomustine"
    lom = Route.from_dict(data, source=source, base_dir=base_dir)
    cl = CompiledRoute(lom, LOMUSTINE_FACTORS)
    n_lom = max(args.points // 2, 100)
    XL = grid((303.15, 0.08e-6 / 60), (353.15, 0.2e-6 / 60), n_lom)
    cl.evaluate(XL[:4])
    l1, l2, w1, w2, sl = compiled_rates(cl, XL, args.repeats)
    assert np.array_equal(w1, w2, equal_nan=True)
    n_py = max(args.python_points // 4, 10)
    XLp = XL[:: max(1, len(XL) // n_py)][:n_py]
    lp, _ = python_route_rate(data, LOMUSTINE_FACTORS, XLp, source, base_dir, cl.columns)
    print(f"lomustine route ({len(XL)} points, {sum(s == 'ok' for s in sl)} ok)")
    print(f"  compiled, 1 thread : {l1:10.0f} points/s")
    print(f"  compiled, 2 threads: {l2:10.0f} points/s   (scaling {l2 / l1:.2f}x)")
    print(f"  Python route       : {lp:10.0f} points/s   (compiled 2 threads is {l2 / lp:.0f}x)")
    if args.profile:
        profile_lomustine(cl, np.array([[303.15, 0.08e-6 / 60], [323.15, 0.14e-6 / 60],
                                        [353.15, 0.2e-6 / 60]]))


if __name__ == "__main__":
    main()
