"""Cost of kernels.network.integrate_network on a long tube, and scipy's BDF
on the same semi-discretised equations.

The case: a tube of N cells (default 200) in series, 16 species and 23
mass-action reactions (orders up to 2, Arrhenius, exothermic), 2 tracers and
an energy balance with cooling (w = 19 states per cell), started filled with
solvent at a feed step and run for 100 mean residence times (tau = 60 s).
Reference: integrate_network at rtol 1e-11. Error: max over the 201 output
times and states of |y - y_ref| / (|y_ref| + 1e-3). scipy: ``solve_ivp``
(BDF) with the sparse analytic Jacobian of ``network_jacobian_csr``. Times
are process CPU times (the machine is shared).

    /work/venv/bin/python benchmarks/network_kernel_cost.py [--cells 200] [--no-scipy]
"""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kernels.network import (integrate_network, make_network, make_segment,  # noqa: E402
                             make_state, network_jacobian_csr, network_rhs, network_sizes)

N_SPECIES = 16
TAU = 60.0


def _csr(rows):
    ptr, idx, val = [0], [], []
    for row in rows:
        for i, v in sorted(row.items()):
            idx.append(i)
            val.append(float(v))
        ptr.append(len(idx))
    return (np.array(ptr, dtype=np.int64), np.array(idx, dtype=np.int64),
            np.array(val, dtype=np.float64))


def mechanism():
    """(model, rate_params, dH) of the 16-species, 23-reaction test chemistry."""
    rx = [({0: 1, 1: 1}, {0: -1, 1: -1, 2: 1}, 1e3, 4000.0),
          ({2: 1}, {2: -1, 3: 1}, 1e4, 4500.0),
          ({2: 1, 1: 1}, {2: -1, 1: -1, 4: 1}, 5e2, 4200.0),
          ({3: 1}, {3: -1, 5: 1, 6: 1}, 2e3, 4300.0)]
    for i in range(6, 15):
        rx.append(({i: 1}, {i: -1, i + 1: 1}, 1e3 * (1 + i % 3), 4000.0 + 50 * i))
        rx.append(({i: 1, 0: 1}, {i: -1, 0: -1, 15: 1}, 1e1, 4000.0))
    rx.append(({5: 1, 6: 1}, {5: -1, 6: -1, 3: 1}, 1e2, 3000.0))
    m = len(rx)
    model = _csr([r[0] for r in rx]) + _csr([{}] * m) + _csr([r[1] for r in rx])
    fwd = np.array([(math.log(r[2]), 0.0, r[3]) for r in rx])
    rate_params = (np.zeros(m, dtype=np.int64), fwd, np.zeros((m, 3)))
    return model, rate_params, np.full(m, -5.0e4)


def build(n_cells):
    model, rate_params, dH = mechanism()
    net = make_network(model=model, rate_params=rate_params, dH=dH, n_species=N_SPECIES,
                       n_tracers=2, cell_energy=np.ones(n_cells, dtype=np.int8),
                       link_ptr=[0] + list(range(n_cells)), link_src=list(range(n_cells - 1)))
    _, w, _ = network_sizes(net)
    feed = np.zeros((n_cells, w))
    feed[0, 0], feed[0, 1], feed[0, N_SPECIES], feed[0, w - 1] = 500.0, 600.0, 1.0, 300.0
    seg = make_segment(net, kappa=n_cells / TAU, feed=feed, weight=1.0, ua=0.02,
                       T_coolant=300.0, rho_cp=2.0e6)
    return net, seg, make_state(net, 0.0, 300.0), w


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--no-scipy", action="store_true")
    args = parser.parse_args()
    net, seg, y0, w = build(args.cells)
    t1 = 100 * TAU
    t_out = np.linspace(0.0, t1, 201)
    atol = np.full(w, 1e-8)
    atol[w - 1] = 1e-6
    every = np.arange(len(y0), dtype=np.int64)
    integrate_network(net, seg, y0, 0.0, 1.0, t_out[:1], 1e-6, atol, 0.0, 10, every)  # compile
    ref = integrate_network(net, seg, y0, 0.0, t1, t_out, 1e-11, atol * 1e-3, 0.0, 10**6, every)
    assert ref[0] == 0

    def error(y):
        return float(np.max(np.abs(y - ref[1]) / (np.abs(ref[1]) + 1e-3)))

    print(f"{args.cells} cells x {w} states = {len(y0)} states, 100 residence times")
    for rtol in (1e-4, 1e-6, 1e-8):
        t = time.process_time()
        status, y_out, _, _, stats = integrate_network(net, seg, y0, 0.0, t1, t_out, rtol,
                                                       atol * rtol / 1e-6, 0.0, 10**6, every)
        cpu = time.process_time() - t
        print(f"  flowchem Rodas5P rtol {rtol:.0e}: {cpu:.3f} s, {stats[0]} steps "
              f"({stats[2]} rejected), {cpu / stats[0] * 1e3:.2f} ms/step, error {error(y_out):.1e}")
    if args.no_scipy:
        return
    import scipy.sparse as sp
    from scipy.integrate import solve_ivp
    n = len(y0)

    def f(t, y):
        out = np.empty(n)
        network_rhs(t, y, net, seg, 0.0, t1, out)
        return out

    def jac(t, y):
        indptr, indices, data = network_jacobian_csr(t, y, net, seg, 0.0, t1)
        return sp.csr_matrix((data, indices, indptr), shape=(n, n))

    f(0.0, y0)
    jac(0.0, y0)
    for rtol in (1e-6, 1e-8):
        t = time.process_time()
        sol = solve_ivp(f, (0.0, t1), y0, method="BDF", t_eval=t_out, rtol=rtol,
                        atol=np.tile(atol * rtol / 1e-6, args.cells), jac=jac)
        cpu = time.process_time() - t
        print(f"  scipy BDF (sparse jac) rtol {rtol:.0e}: {cpu:.3f} s, nfev {sol.nfev}, "
              f"nlu {sol.nlu}, error {error(sol.y.T):.1e}")


if __name__ == "__main__":
    main()
