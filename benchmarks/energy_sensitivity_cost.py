"""Cost and accuracy of forward sensitivities with an energy balance
(BATCH_ENERGY_SENS) against the plain energy-balance solve (BATCH_ENERGY):
the lomustine example's cooled tube R2 (14 species + heat + T, its feed as
the route makes it) with p = 14 parameters (k_ref and Ea of each of the 7
reactions), Rodas5P (exact augmented Jacobian) and the BDF at the same
tolerance; accuracy as the largest difference to central finite differences
of the plain solve (step 1e-4 in θ, rtol 1e-11): for the concentrations
relative to each parameter's largest |dc/dθ|, for the temperature (which
hardly moves in R2, |dT/dθ| < 1e-3 K) in K. Three paths: the block Rodas5P
(:mod:`kernels.rosenbrock_sens`, the default with Rodas5P: one 16 x 16 LU
per step, states-only error control), the full-matrix Rodas5P on the 224 x
224 augmented system (``full_matrix=True``, the path before) and the BDF.
Then the whole lomustine route: ``fc.sensitivity(route)`` (forward through
every reactor), the same with the block path switched off, and central
differences of ``Route.run`` (``method="finite-difference"``).

    PYTHONPATH=. /work/venv/bin/python benchmarks/energy_sensitivity_cost.py

Measured on the shared 2-core machine (load average 1.4 to 2; best of 5):

    path         rtol   plain    sensitivities  ratio  per (p + 1)
    rodas block  1e-6   0.45 ms    4.95 ms       11.0     0.73
    rodas block  1e-8   0.98 ms   12.2 ms        12.5     0.83
    rodas full   1e-6   0.46 ms   55.0 ms       120       8.0
    rodas full   1e-8   1.00 ms  109 ms         109       7.3
    bdf full     1e-6   0.35 ms   19.2 ms        54.5     3.6
    bdf full     1e-8   0.47 ms   22.3 ms        47.8     3.2

All paths agree with the finite differences to 1.3e-6 relative in dc/dθ
(3.9e-6 for the BDF at 1e-6; the floor of the differences themselves) and
1.8e-9 K in dT/dθ. Block step at rtol 1e-8: 136 steps, 88 us each (augmented
Jacobian 18 us, 8 right-hand sides 38 us, the block solves the rest).
Whole route (216 coefficients, 184 forward; route.run 0.031 s, best of 3):
forward with the block path 0.170 s, with the full-matrix path 0.70 s,
finite differences 0.85 s (5x slower than the block path); largest
|coefficient| difference forward - differences 3.3e-8, block - full 4e-10.
"""
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flowchem.chemistry.parameters import ParameterMap, parameter_names  # noqa: E402
from flowchem.process.route import load_route  # noqa: E402
from flowchem.reactors.sensitivity import (batch_energy_sensitivities,  # noqa: E402
                                           energy_kernel_model, kernel_arrays)
from flowchem.reactors.solver import SolverOptions, integrate  # noqa: E402
from kernels.problems import BATCH_ENERGY  # noqa: E402


def best_of(f, repeat=5):
    f()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    route = load_route(str(ROOT / "examples" / "lomustine" / "route.yaml"))
    base = route.run()
    op = route.operations["R2"]
    feed = base.streams[route.links["R2"][0]]
    mech = route.mechanism
    names = [q for q in parameter_names(mech) if q.split(".")[-1] in ("k_ref", "Ea")
             and q.count(".") == 1]
    pm = ParameterMap(mech, names, 310.0)
    model, rate_params = kernel_arrays(pm, pm.theta0)
    dH = np.asarray(pm.arrays(pm.theta0)[2])
    th = op._thermal(feed)
    n, p = mech.n_species, len(names)
    tau = op.volume / feed.flow
    ua = th.ua_per_volume / th.rho_cp
    times = np.array([tau])
    print(f"R2: n = {n} species (+ heat, T), p = {p} parameters, tau = {tau:.1f} s")

    def plain_solve(options, theta=None):
        m_, rp = kernel_arrays(pm, pm.theta0 if theta is None else theta)
        d = np.asarray(pm.arrays(pm.theta0 if theta is None else theta)[2])
        em = energy_kernel_model(m_, d, n, th.rho_cp)
        prm = np.zeros(1 + (n + 2) + 2)
        prm[n + 3], prm[n + 4] = ua, th.coolant_T
        system = (em, rp, np.zeros(len(d)), np.zeros(len(d)), prm, np.zeros(2 * len(d)))
        atol = np.r_[options.atol_vector(feed.conc), -1e-10 * 1e5, 1e-9]
        _, y = integrate(system, BATCH_ENERGY, np.r_[feed.conc, 0.0, feed.T], tau, options,
                         t_eval=times, record=False, atol=atol)
        return y[-1, np.r_[0:n, n + 1]]

    def sens_solve(options, full_matrix=False):
        return batch_energy_sensitivities(model, rate_params, dH, feed.conc, feed.T, times, pm.M,
                                          rho_cp=th.rho_cp, ua_over_rho_cp=ua,
                                          coolant_T=th.coolant_T, options=options,
                                          full_matrix=full_matrix)

    ref_opts = SolverOptions(rtol=1e-11)
    fd = np.zeros((n + 1, p))
    for k in range(p):
        e = np.zeros(p)
        e[k] = 1e-4
        fd[:, k] = (plain_solve(ref_opts, pm.theta0 + e)
                    - plain_solve(ref_opts, pm.theta0 - e)) / 2e-4
    for method, full in (("rodas", False), ("rodas", True), ("bdf", True)):
        for rtol in (1e-6, 1e-8):
            o = SolverOptions(rtol=rtol, method=method)
            t_plain = best_of(lambda: plain_solve(o))
            t_sens = best_of(lambda: sens_solve(o, full))
            _, dy = sens_solve(o, full)
            s = dy[-1][np.r_[0:n, n + 1]]
            # concentrations: relative to each parameter's largest |dc/dθ|; the
            # temperature (which barely moves in R2): absolute, K
            scale = np.abs(fd[:n]).max(axis=0) + 1e-300
            err = float(np.max(np.abs(s[:n] - fd[:n]) / scale))
            err_T = float(np.max(np.abs(s[n] - fd[n])))
            label = f"{method} {'full' if full else 'block'}"
            print(f"{label:11s} rtol {rtol:.0e}: plain {t_plain * 1e3:8.3f} ms, "
                  f"sensitivities {t_sens * 1e3:8.2f} ms, ratio {t_sens / t_plain:6.1f}, "
                  f"= {t_sens / t_plain / (p + 1):.2f} x (p + 1) plain solves; "
                  f"FD difference: dc/dθ {err:.1e} rel., dT/dθ {err_T:.1e} K")
    route_forward_against_differences(route)


def route_forward_against_differences(route, repeat=3):
    """The whole lomustine route: fc.sensitivity (forward through every
    reactor, block Rodas5P), the same with the full-matrix path (the block
    path switched off here), and central differences of Route.run."""
    import flowchem.reactors.sensitivity as rs
    from flowchem.process.sensitivity import sensitivity

    def timed(method):
        return best_of(lambda: sensitivity(route, method=method), repeat)

    t_block = timed("auto")
    res = sensitivity(route)
    n_fwd = sum(e.method == "forward" for e in res.entries)
    original = rs._uses_block_rodas
    rs._uses_block_rodas = lambda options, n_state, full_matrix: False
    try:
        t_full = timed("auto")
        full = sensitivity(route)
    finally:
        rs._uses_block_rodas = original
    t_fd = timed("finite-difference")
    fd = sensitivity(route, method="finite-difference")
    t_run = best_of(route.run, repeat)
    by = {(e.kpi, e.parameter): e.coefficient for e in fd.entries}
    gap = max(abs(e.coefficient - by[(e.kpi, e.parameter)]) for e in res.entries
              if e.method == "forward" and (e.kpi, e.parameter) in by)
    by_full = {(e.kpi, e.parameter): e.coefficient for e in full.entries}
    gap_full = max(abs(e.coefficient - by_full[(e.kpi, e.parameter)]) for e in res.entries
                   if e.method == "forward")
    print(f"route: {len(res.entries)} coefficients ({n_fwd} forward); route.run {t_run:.3f} s; "
          f"sensitivity forward (block) {t_block:.3f} s, forward (full matrix) {t_full:.3f} s, "
          f"finite differences {t_fd:.3f} s; largest |coefficient| difference forward-FD "
          f"{gap:.1e}, block-full {gap_full:.1e}")


if __name__ == "__main__":
    main()
