"""Cost and accuracy of the axial-dispersion solver against the number of nodes.

Usage::

    python benchmarks/dispersion_cost.py [--repeats 20]

Prints two markdown tables (time is the median of warm calls, compilation
excluded):

1. A => B, first order, Da = 2, Pe = 10 and Pe = 100, error against the
   Wehner-Wilhelm closed form.
2. A + B => C, C + B => D (competitive-consecutive, 4 species, 2 reactions),
   Pe = 20, error against scipy.integrate.solve_bvp at tol 1e-8 on the same
   equations (whose own time is reported as a peer).

Both the kernel call (``kernels.dispersion.solve_dispersion``) and the whole
``DispersionPFR.run`` (parsing, system set-up, result objects) are timed.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import flowchem as fc  # noqa: E402
from flowchem.reactors.nonideal import DispersionPFR  # noqa: E402
from flowchem.reactors.solver import make_system  # noqa: E402
from kernels.dispersion import graded_grid, solve_dispersion  # noqa: E402

N_CELLS = (26, 51, 101, 201, 401, 801, 1601)


def wehner_wilhelm(Da, Pe):
    a = math.sqrt(1.0 + 4.0 * Da / Pe)
    return 4.0 * a * math.exp(0.5 * Pe * (1.0 - a)) / ((1.0 + a) ** 2 - (1.0 - a) ** 2 * math.exp(-a * Pe))


def median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def kernel_call(mech, feed, tau, Pe, n):
    system = make_system(mech, feed.T)
    c_in = feed.conc.copy()
    atol = np.full(c_in.size, 1e-10 * c_in.max())
    x = graded_grid(n, 0.0)
    return lambda: solve_dispersion(system, c_in, tau, Pe, x, 1e-8, atol)


def first_order_table(repeats):
    mech = fc.Mechanism(species=[fc.Species("A"), fc.Species("B")],
                        reactions=[fc.Reaction.from_equation("A => B", rate={"k": 0.02})])
    feed = fc.Stream(mech, flow=1e-6, T=300.0, conc={"A": 1000.0})
    tau = 100.0
    rows = ["| Pe | n_cells | rel. error | kernel time | run() time | Newton its |",
            "|---|---|---|---|---|---|"]
    for Pe in (10.0, 100.0):
        ref = 1000.0 * wehner_wilhelm(2.0, Pe)
        for n in N_CELLS:
            reactor = DispersionPFR(volume=tau * 1e-6, Pe=Pe, n_cells=n)
            res = reactor.run(feed)
            err = abs(res.outlet["A"] / ref - 1.0)
            tk = median_time(kernel_call(mech, feed, tau, Pe, n), repeats)
            tr = median_time(lambda: reactor.run(feed), repeats)
            rows.append(f"| {Pe:g} | {n} | {err:.2e} | {tk * 1e3:.3f} ms | {tr * 1e3:.3f} ms | "
                        f"{res.stats['newton_iterations']} |")
    return "\n".join(rows)


def two_reaction_table(repeats):
    from scipy.integrate import solve_bvp

    k1, k2 = 1.0e-3, 4.0e-4
    mech = fc.Mechanism(species=[fc.Species(s) for s in "ABCD"], reactions=[
        fc.Reaction.from_equation("A + B => C", rate={"k": k1}),
        fc.Reaction.from_equation("C + B => D", rate={"k": k2})])
    cA0, cB0, tau, Pe = 1000.0, 1800.0, 3.0, 20.0
    feed = fc.Stream(mech, flow=1e-6, T=300.0, conc={"A": cA0, "B": cB0})

    def rates(y):
        A, B, C = y[0], y[1], y[2]
        r1, r2 = k1 * A * B, k2 * C * B
        return np.vstack([-r1, -r1 - r2, r1 - r2, r2])

    def f(x, y):
        c, d = y[:4], y[4:]
        return np.vstack([d, Pe * (d - tau * rates(c))])

    def bc(ya, yb):
        cin = np.array([cA0, cB0, 0.0, 0.0])
        return np.concatenate([ya[:4] - ya[4:] / Pe - cin, yb[4:]])

    x0 = np.linspace(0.0, 1.0, 201)
    y0 = np.zeros((8, x0.size))
    y0[0], y0[1] = 400.0, 1000.0

    def bvp():
        return solve_bvp(f, bc, x0, y0, tol=1e-8, max_nodes=200000)

    t0 = time.perf_counter()
    ref = bvp()
    t_bvp = time.perf_counter() - t0
    if ref.status != 0:
        raise RuntimeError(f"solve_bvp reference failed: {ref.message}")
    c_ref = ref.y[:4, -1]
    rows = ["| n_cells | max rel. error (A, C) | kernel time | run() time | Newton its |",
            "|---|---|---|---|---|"]
    for n in N_CELLS:
        reactor = DispersionPFR(volume=tau * 1e-6, Pe=Pe, n_cells=n)
        res = reactor.run(feed)
        err = max(abs(res.outlet.conc[0] / c_ref[0] - 1.0), abs(res.outlet.conc[2] / c_ref[2] - 1.0))
        tk = median_time(kernel_call(mech, feed, tau, Pe, n), repeats)
        tr = median_time(lambda: reactor.run(feed), repeats)
        rows.append(f"| {n} | {err:.2e} | {tk * 1e3:.3f} ms | {tr * 1e3:.3f} ms | "
                    f"{res.stats['newton_iterations']} |")
    rows.append(f"\nscipy solve_bvp reference (tol 1e-8, its own error floors the last rows; {ref.x.size} nodes): {t_bvp * 1e3:.1f} ms, "
                f"one run")
    return "\n".join(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    print("### A => B, Da = 2: error against Wehner-Wilhelm\n")
    print(first_order_table(args.repeats))
    print("\n### A + B => C, C + B => D, Pe = 20: error against scipy solve_bvp\n")
    print(two_reaction_table(args.repeats))


if __name__ == "__main__":
    main()
