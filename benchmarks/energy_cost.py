"""Cost of the stiff integrator on energy-balance problems (BATCH_ENERGY,
CSTR_ENERGY): each benchmark mechanism with temperature appended as a state,
Arrhenius rate constants (Ea/R = 3000 K around 298.15 K) and a small heat of
reaction per reaction, cooled (Ua/(rho cp) = 0.1 1/s).

    /work/venv/bin/python benchmarks/energy_cost.py
"""
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.problems import all_problems, kernel_model  # noqa: E402
from kernels.problems import BATCH_ENERGY, CSTR_ENERGY  # noqa: E402
from kernels.rosenbrock import solve_rodas  # noqa: E402

T0 = 298.15
EA_R = 3000.0


def energy_system(p, code, dT_ad=2.0, tau=None):
    model, rate_params = kernel_model(p)
    r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, s_ptr, s_sp, s_nu = model
    rev_kind, fwd, rev = rate_params
    n, m = p.n, p.m
    # append the temperature row (index n) to every reaction's stoichiometry
    ns_ptr = np.zeros(m + 1, dtype=np.int64)
    sp, nu = [], []
    scale = dT_ad / max(float(np.max(p.y0)), 1e-30)
    for j in range(m):
        sp.extend(s_sp[s_ptr[j]:s_ptr[j + 1]].tolist() + [n])
        nu.extend(s_nu[s_ptr[j]:s_ptr[j + 1]].tolist() + [scale * (1.0 + 0.1 * (j % 3))])
        ns_ptr[j + 1] = len(sp)
    model = (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, ns_ptr,
             np.array(sp, dtype=np.int64), np.array(nu, dtype=np.float64))
    fwd = fwd.copy()
    # same k at T0 as the isothermal problem, Arrhenius around it
    lnk = fwd[:, 0] + fwd[:, 1] * np.log(T0) - fwd[:, 2] / T0
    fwd[:, 0] = lnk + EA_R / T0
    fwd[:, 1] = 0.0
    fwd[:, 2] = EA_R
    rate_params = (rev_kind, fwd, rev.copy())
    N = n + 1
    params = np.zeros(1 + N + 2)
    params[0] = 1.0 / (tau if tau else p.t_end)
    params[1:1 + n] = p.y0
    params[1 + n] = T0
    params[1 + N] = 0.1
    params[2 + N] = T0
    system = (model, rate_params, np.zeros(m), np.zeros(m), params, np.zeros(2 * m))
    y0 = np.concatenate([p.y0, [T0]])
    return system, y0


def main():
    for p in all_problems():
        for code, name in ((BATCH_ENERGY, "BATCH_ENERGY"), (CSTR_ENERGY, "CSTR_ENERGY")):
            system, y0 = energy_system(p, code)
            for rtol in (1e-4, 1e-6, 1e-8):
                atol = np.full(y0.shape[0], p.atol_factor * rtol)
                atol[-1] = rtol
                te = np.empty(0)
                args = (code, system, y0, 0.0, p.t_end, te, rtol, atol, 0.0, 10_000_000, False)
                res = solve_rodas(*args)
                best = 1e9
                reps = 0
                t_start = time.perf_counter()
                while reps < 5 or time.perf_counter() - t_start < 0.2:
                    t0 = time.perf_counter()
                    solve_rodas(*args)
                    best = min(best, time.perf_counter() - t0)
                    reps += 1
                st = res[5]
                print(f"{p.name} {name} rtol {rtol:.0e}: status {res[0]} {best * 1e6:8.1f} us "
                      f"steps {st[0]:5d} (rej {st[2]:3d}) {best / max(st[0], 1) * 1e6:.2f} us/step "
                      f"T_end {res[2][-1][-1]:.6f} y_end[0] {res[2][-1][0]:.6e}")


if __name__ == "__main__":
    main()
