"""Cost and accuracy of forward sensitivities (BATCH_SENS) against the plain solve.

A 5-species, 4-reaction batch mechanism with a fractional order, a van 't
Hoff equilibrium and Arrhenius rates, at a temperature away from the centre
temperature, with p = 4 fitted parameters (ln k(T_c) and Ea/(R T_c) of r1,
ln k_ref of r2, the order of B in r1) and 10 output times:

* time per solve, kernel call only (``solve_rodas``) and through the Python
  bridge (:func:`flowchem.reactors.sensitivity.batch_sensitivities`), against
  the plain BATCH solve at the same tolerance;
* the cost of a finite-difference Jacobian for comparison (p + 1 plain solves
  forward, 2 p central);
* the same with the BDF;
* the error of dc/dθ against 4-point central differences of plain solves at
  rtol 1e-12, per method and rtol.

Timings are the best of 30 interleaved repeats (the machine may be shared).

    /work/venv/bin/python benchmarks/sensitivity_cost.py
"""
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flowchem.chemistry.mechanism import Mechanism  # noqa: E402
from flowchem.chemistry.parameters import ParameterMap  # noqa: E402
from flowchem.reactors.sensitivity import (batch_sensitivities, kernel_arrays,  # noqa: E402
                                           sensitivity_system)
from flowchem.reactors.solver import SolverOptions, integrate  # noqa: E402
from kernels.kinetics import rate_constants  # noqa: E402
from kernels.problems import BATCH, BATCH_SENS  # noqa: E402
from kernels.bdf import solve_bdf  # noqa: E402
from kernels.rosenbrock import solve_rodas  # noqa: E402

ORDER_B = 1.5
MECHANISM = {
    "species": [{"name": s} for s in "ABCDE"],
    "reactions": [
        {"equation": "A + B => C", "rate": {"k_ref": 0.5, "T_ref": 310.0, "Ea": 50e3},
         "orders": {"A": 1.0, "B": ORDER_B}},
        {"equation": "C <=> D", "rate": {"k_ref": 0.3, "T_ref": 320.0, "Ea": 30e3},
         "equilibrium": {"K_ref": 2.0, "T_ref": 320.0, "dH": -15e3}},
        {"equation": "2 C => E", "rate": {"k": 0.08}},
        {"equation": "B => E", "rate": {"k": 0.01}},
    ],
}
NAMES = ["r1.k_ref", "r1.Ea", "r2.k_ref", "r1.order.B"]
T_CENTER, T = 320.0, 338.0
C0 = np.array([1.0, 1.3, 0.0, 0.0, 0.0])
TIMES = np.linspace(0.0, 20.0, 10)


def best_times(funcs, repeats=30, inner=10):
    """Best time per call of each function, the functions interleaved in every
    repeat so that a busy spell of a shared machine hits them alike."""
    best = [np.inf] * len(funcs)
    for _ in range(repeats):
        for i, f in enumerate(funcs):
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            best[i] = min(best[i], (time.perf_counter() - t0) / inner)
    return best


def plain_system(pm, theta):
    model, rp = kernel_arrays(pm, theta)
    m = rp[1].shape[0]
    kf, kr = np.zeros(m), np.zeros(m)
    rate_constants(T, rp, kf, kr)
    return (model, rp, kf, kr, np.zeros(1 + C0.size), np.zeros(2 * m))


def mechanism(order_B):
    """The benchmark mechanism with the order of B in r1 set to ``order_B``."""
    import copy

    spec = copy.deepcopy(MECHANISM)
    spec["reactions"][0]["orders"]["B"] = order_B
    return Mechanism.from_dict(spec)


def timing(order_B):
    mech = mechanism(order_B)
    pm = ParameterMap(mech, NAMES, T_CENTER)
    p, n = pm.n, C0.size
    model, rp = kernel_arrays(pm, pm.theta0)
    rtol = 1e-8
    options = SolverOptions(rtol=rtol)
    atol_c = options.atol_vector(C0)

    plain = plain_system(pm, pm.theta0)
    sens = sensitivity_system(model, rp, T, pm.M, n)
    y0 = np.zeros(n * (p + 1))
    y0[:n] = C0
    atol_s = np.concatenate([atol_c] + [-atol_c] * p)

    def k_plain():
        return solve_rodas(BATCH, plain, C0, 0.0, TIMES[-1], TIMES, rtol, atol_c, 0.0,
                           200_000, False)

    def k_sens():
        return solve_rodas(BATCH_SENS, sens, y0, 0.0, TIMES[-1], TIMES, rtol, atol_s, 0.0,
                           200_000, False)

    def k_plain_bdf():
        return solve_bdf(BATCH, plain, C0, 0.0, TIMES[-1], TIMES, rtol, atol_c, 0.0,
                         200_000, False)

    def k_sens_bdf():
        return solve_bdf(BATCH_SENS, sens, y0, 0.0, TIMES[-1], TIMES, rtol, atol_s, 0.0,
                         200_000, False)

    def b_plain():
        return integrate(plain, BATCH, C0, TIMES[-1], options, t_eval=TIMES, record=False)

    def b_sens():
        return batch_sensitivities(model, rp, T, C0, TIMES, pm.M, options=options)

    for f in (k_plain, k_sens, b_plain, b_sens, k_plain_bdf, k_sens_bdf):
        f()   # compile / warm up
    funcs = (k_plain, k_sens, b_plain, b_sens, k_plain_bdf, k_sens_bdf)
    labels = ("kernel solve_rodas, plain BATCH", f"kernel solve_rodas, BATCH_SENS p={p}",
              "bridge integrate, plain BATCH", f"bridge batch_sensitivities p={p}",
              "kernel solve_bdf, plain BATCH", f"kernel solve_bdf, BATCH_SENS p={p}")
    stats = (k_plain()[5], k_sens()[5], None, None, k_plain_bdf()[5], k_sens_bdf()[5])
    rows = list(zip(labels, best_times(funcs), stats))
    print(f"{n} species, {pm.compiled.n_reactions} reactions, order of B in r1 {order_B:g}, "
          f"p = {p}, {TIMES.size} output times, rtol {rtol:g}")
    print(f"{'':42s} {'us/solve':>10s} {'steps':>6s} {'rhs':>6s} {'jac':>5s}")
    for label, sec, stats in rows:
        extra = (f"{stats[0]:6d} {stats[3]:6d} {stats[4]:5d}" if stats is not None else "")
        print(f"{label:42s} {sec * 1e6:10.1f} {extra}")
    print(f"ratio sensitivities/plain: kernel {rows[1][1] / rows[0][1]:.2f} (bdf "
          f"{rows[5][1] / rows[4][1]:.2f}), "
          f"bridge {rows[3][1] / rows[2][1]:.2f}; finite differences would cost "
          f"{p + 1} (forward) or {2 * p} (central) plain solves = "
          f"{(p + 1) * rows[2][1] * 1e6:.0f} / {2 * p * rows[2][1] * 1e6:.0f} us")


def accuracy():
    """dc/dθ against 4-point central differences of very tight plain solves."""
    pm = ParameterMap(mechanism(ORDER_B), NAMES, T_CENTER)
    p, n = pm.n, C0.size
    model, rp = kernel_arrays(pm, pm.theta0)

    def solve(theta):
        return integrate(plain_system(pm, theta), BATCH, C0, TIMES[-1],
                         SolverOptions(rtol=1e-12), t_eval=TIMES, record=False)[1]

    h = 1e-3
    fd = np.zeros((TIMES.size, n, p))
    for k in range(p):
        def at(step):
            th = pm.theta0.copy()
            th[k] += step
            return solve(th)
        fd[:, :, k] = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)
    scale = np.max(np.abs(fd), axis=(0, 1))
    for method in ("rodas", "bdf"):
        for r in (1e-6, 1e-8, 1e-10):
            _, dy = batch_sensitivities(model, rp, T, C0, TIMES, pm.M,
                                        options=SolverOptions(rtol=r, method=method))
            err = np.max(np.abs(dy - fd), axis=(0, 1)) / scale
            print(f"{method} rtol {r:g}: max |dc/dθ - FD| / max|FD| per parameter: "
                  + ", ".join(f"{e:.1e}" for e in err))


def main():
    timing(ORDER_B)
    print()
    timing(1.0)   # integer orders: the plain solve takes the slot-form fast path
    print()
    accuracy()


if __name__ == "__main__":
    main()
