"""Per-piece timing of the Rodas5P kernel on the benchmark problems (njit loops).

    python benchmarks/profile_kernel.py [PROBLEM ...]

Prints ns per call of rhs, jacobian, lu_factor, lu_solve, and the full solve's
time per step at rtol 1e-4, 1e-6, 1e-8, with steps and achieved error.
"""
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.problems import BATCH, all_problems, kernel_system  # noqa: E402
from kernels.problems import jacobian, rhs  # noqa: E402
from kernels.kinetics import slot_jacobian, slot_plan  # noqa: E402
from kernels.linalg import (factor_w_dense, factor_w_sparse, inverse_w_sparse,  # noqa: E402
                            lu_factor, lu_solve, sparse_lu_plan)
from kernels.rosenbrock import GAMMA, _stages_fast, _stages_inv, solve_rodas  # noqa: E402


@njit
def loop_rhs(system, y, out, reps):
    s = 0.0
    for r in range(reps):
        y[0] += 1e-300
        rhs(BATCH, 0.0, y, system, out)
        s += out[0]
    return s


@njit
def loop_jac(system, y, J, reps):
    s = 0.0
    for r in range(reps):
        y[0] += 1e-300
        jacobian(BATCH, 0.0, y, system, J)
        s += J[0, 0]
    return s


@njit
def loop_lu(J, W, piv, h, reps):
    n = J.shape[0]
    gh = 1.0 / (GAMMA * h)
    s = 0.0
    for r in range(reps):
        for i in range(n):
            for j in range(n):
                W[i, j] = -J[i, j]
            W[i, i] += gh
        lu_factor(W, piv)
        s += W[0, 0]
    return s


@njit
def loop_solve(W, piv, b, reps):
    s = 0.0
    for r in range(reps):
        b[0] += 1e-300
        lu_solve(W, piv, b)
        s += b[0]
    return s


@njit
def loop_stages_fast(args, y, ynew, reps):
    from_args = args
    s = 0.0
    for r in range(reps):
        y[0] += 1e-300
        _stages_fast(from_args[0], from_args[1], from_args[2], from_args[3], from_args[4],
                     from_args[5], from_args[6], from_args[7], from_args[8], from_args[9],
                     from_args[10], from_args[11], y, from_args[12], from_args[13],
                     from_args[14], from_args[15], from_args[16], from_args[17],
                     from_args[18], from_args[19], ynew, from_args[20])
        s += ynew[0]
    return s


@njit
def loop_inverse(w, dinv, iplan, mt, reps):
    s = 0.0
    for r in range(reps):
        inverse_w_sparse(w, dinv, iplan[0], iplan[1], iplan[2], iplan[3], mt)
        s += mt[0, 0]
    return s


@njit
def loop_stages_inv(a, y, ynew, reps):
    s = 0.0
    for r in range(reps):
        y[0] += 1e-300
        _stages_inv(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11],
                    y, a[12], a[13], a[14], a[15], a[16], a[17], a[18], ynew, a[19])
        s += ynew[0]
    return s


@njit
def loop_factor_sparse(jx, gh, w, dinv, plan, reps):
    s = 0.0
    for r in range(reps):
        factor_w_sparse(jx, gh, w, dinv, plan[0], plan[1], plan[2], plan[3], plan[4],
                        plan[5], plan[6])
        s += w[0, 0]
    return s


@njit
def loop_slot_jac(y, kf, kr, any_rev, fslot, rslot, s_ptr, s_sp, s_nu, ext, jx, reps):
    s = 0.0
    for r in range(reps):
        y[0] += 1e-300
        slot_jacobian(y, kf, kr, any_rev, fslot, rslot, s_ptr, s_sp, s_nu, ext, jx)
        s += jx[0, 0]
    return s


def fast_pieces(p, h=1e-3):
    """ns per call of the pieces the integrator's fast path actually runs:
    slot Jacobian, sparse W+LU and its explicit inverse, and the 8-stage loops
    (rates + mat-vecs with the inverse; rates + dense triangular solves, the
    fallback when a sparse pivot is refused)."""
    system = kernel_system(p)
    model, _rp, kf, kr, params, work = system
    n = p.n
    ok, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(model, n)
    y = p.y0.copy() + 0.1 * np.max(p.y0)
    ext = np.empty(n + 1)
    jx = np.empty((n, n + 1))
    slot_jacobian(y, kf, kr, any_rev, fslot, rslot, model[6], model[7], model[8], ext, jx)
    full_plan = sparse_lu_plan(n, True, False, any_rev, fslot, rslot, model[6], model[7])
    plan = full_plan[:7]
    w = np.zeros((n, n))
    dinv = np.empty(n)
    gh = 1.0 / (GAMMA * h)
    sparse_ok = factor_w_sparse(jx, gh, w, dinv, *plan)
    nnz = n + plan[2].shape[0] + plan[6].shape[0]
    t_jac = bench(loop_slot_jac, y, kf, kr, any_rev, fslot, rslot, model[6], model[7],
                  model[8], ext, jx, 0)
    t_fac = bench(loop_factor_sparse, jx, gh, w, dinv, plan, 0)
    wd = np.zeros((n, n))
    piv = np.zeros(n, dtype=np.int64)
    dinv_d = np.empty(n)
    factor_w_dense(jx, gh, wd, piv, dinv_d, np.empty(n, dtype=np.int64))
    args = (BATCH, kf, kr, params, work, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, ext,
            np.ones(n), h, wd, piv, dinv_d, np.empty(n), np.empty((8, n)), np.empty(n),
            system[1])
    t_st = bench(loop_stages_fast, args, y, np.empty(n), 0)
    # the path solve_rodas takes when the sparse pivots are acceptable:
    # explicit inverse of W from the sparse factors, stages as mat-vecs
    iplan = full_plan[7:11]
    mt = np.empty((n, n))
    t_inv = bench(loop_inverse, w, dinv, iplan, mt, 0)
    inverse_w_sparse(w, dinv, iplan[0], iplan[1], iplan[2], iplan[3], mt)
    iargs = (BATCH, kf, kr, params, work, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, ext,
             np.ones(n), h, plan[0], mt, np.empty(n), np.empty((8, n)), np.empty(n), system[1])
    t_si = bench(loop_stages_inv, iargs, y, np.empty(n), 0)
    print(f"{p.name} fast path: LU pattern nnz {nnz}/{n * n} (sparse pivots ok: {sparse_ok}), "
          f"slot jac {t_jac:.0f} ns, sparse W+LU {t_fac:.0f} ns, 8 stages (dense triangular solves) "
          f"{t_st:.0f} ns; inverse of W {t_inv:.0f} ns, 8 stages (mat-vec) {t_si:.0f} ns")


def bench(fn, *args, reps=20000):
    fn(*args[:-1], 10)
    best = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        fn(*args[:-1], reps)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best * 1e9


def main(names):
    from benchmarks.run import rel_error
    for p in all_problems():
        if names and p.name not in names:
            continue
        system = kernel_system(p)
        n = p.n
        y = p.y0.copy() + 0.1 * np.max(p.y0)
        out = np.empty(n)
        J = np.empty((n, n))
        W = np.empty((n, n))
        piv = np.zeros(n, dtype=np.int64)
        t_rhs = bench(loop_rhs, system, y, out, 0)
        t_jac = bench(loop_jac, system, y, J, 0)
        jacobian(BATCH, 0.0, y, system, J)
        t_lu = bench(loop_lu, J, W, piv, 1e-3, 0)
        b = np.ones(n)
        t_sol = bench(loop_solve, W, piv, b, 0)
        print(f"{p.name}: rhs {t_rhs:.0f} ns, jac {t_jac:.0f} ns, W+LU {t_lu:.0f} ns, "
              f"lu_solve {t_sol:.0f} ns (general functions)")
        fast_pieces(p)
        for rtol in (1e-4, 1e-6, 1e-8, 1e-10):
            atol = np.full(n, p.atol_factor * rtol)
            te = np.empty(0)
            args = (BATCH, system, p.y0.copy(), 0.0, p.t_end, te, rtol, atol, 0.0, 10_000_000, False)
            res = solve_rodas(*args)
            best = 1e9
            reps = 0
            t_start = time.perf_counter()
            while reps < 5 or time.perf_counter() - t_start < 0.3:
                t0 = time.perf_counter()
                solve_rodas(*args)
                best = min(best, time.perf_counter() - t0)
                reps += 1
            st = res[5]
            err = rel_error(p, res[2][-1])
            per = best / max(st[0], 1) * 1e6
            per_rhs = t_rhs * st[3] / st[0] * 1e-3
            print(f"   rtol {rtol:.0e}: {best*1e6:8.1f} us  steps {st[0]:5d} (rej {st[2]:3d}) "
                  f"nfev {st[3]:6d} err {err:.2e}  {per:.2f} us/step "
                  f"(rhs {per_rhs:.2f}, jac {t_jac*1e-3:.2f}, lu {t_lu*1e-3:.2f}, "
                  f"solves {8*t_sol*1e-3:.2f})")




def check_slot_form(n_states=100, seed=0):
    """The integrator's slot-form rates and Jacobian (kernels.kinetics.slot_*)
    against production_rates / production_jacobian, at random states with zeros."""
    from kernels.kinetics import (production_jacobian, production_rates, slot_jacobian,
                                  slot_plan, slot_rates)
    rng = np.random.default_rng(seed)
    for p in all_problems():
        system = kernel_system(p)
        model, _rp, kf, kr = system[0], system[1], system[2], system[3]
        n, m = p.n, p.m
        ok, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(model, n)
        assert ok, p.name
        ext = np.empty(n + 1)
        q = np.empty(m)
        a = np.empty(n)
        b = np.empty(n)
        jx = np.empty((n, n + 1))
        J = np.empty((n, n))
        worst_f = worst_j = 0.0
        for trial in range(n_states):
            y = max(p.y0.max(), 1.0) * 10.0 ** rng.uniform(-12, 0, n)
            if trial % 3 == 0:
                y[rng.random(n) < 0.3] = 0.0
            slot_rates(y, kf, kr, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, ext, q, a)
            production_rates(y, model, kf, kr, q, b)
            worst_f = max(worst_f, float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-300)))
            slot_jacobian(y, kf, kr, any_rev, fslot, rslot, model[6], model[7], model[8], ext, jx)
            production_jacobian(y, model, kf, kr, J)
            worst_j = max(worst_j, float(np.max(np.abs(jx[:, :n] - J)) / (np.max(np.abs(J)) + 1e-300)))
        assert worst_f < 1e-13 and worst_j < 1e-13, (p.name, worst_f, worst_j)
        print(f"{p.name}: slot form vs general: rates {worst_f:.1e}, Jacobian {worst_j:.1e}")


if __name__ == "__main__":
    check_slot_form()
    main(sys.argv[1:])
