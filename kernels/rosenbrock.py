"""Stiff integrator: the Rosenbrock method Rodas5P, compiled once with Numba.

Rodas5P (Steinebach 2023) has 8 stages, order 5 with an embedded order-4
error estimate, is stiffly accurate and L-stable, and carries a dense-output
interpolant of order 4. It is written in the W-transformed form of Hairer and
Wanner (Solving ODEs II, section IV.7): with ``W = I/(gamma h) - J`` factored
once per step, stage ``i`` solves

    W k_i = f(y + sum_{j<i} a_ij k_j) + sum_{j<i} (c_ij / h) k_j

by one forward and back substitution, ``y_new = y + sum_j a_8j k_j + k_8``
and the local error estimate is ``k_8``. (For mass-action mechanisms in slot
form, W is factored over a static sparse pattern and then inverted
explicitly, once per step, by row operations on the factors; each stage's
solve is then a mat-vec with that inverse, which vectorises and has no
dependency chain, instead of two latency-bound triangular sweeps. The dense
partial-pivoting LU with substitutions remains the fallback.) All problems in :mod:`kernels.problems`
are autonomous, so the ``df/dt`` terms of the method are dropped. The numerical
coefficients below are the published Rodas5P tableau (as tabulated, for
instance, in OrdinaryDiffEq.jl); ``tests/test_kernel_integrators.py`` checks
the observed convergence orders of the step (5) and of the dense output.

Every solver function takes an integer problem ``code`` and the ``system``
tuple of :mod:`kernels.problems`, so one compilation serves every mechanism
and every reactor type.

Step control
------------
* error norm: RMS over i of ``e_i / (atol_i + rtol max(|y_i|, |y_new_i|))``;
* after an accepted step, the smaller of ``0.9 err^(-1/5)`` and Gustafsson's
  predictive factor ``0.9 (h / h_prev) (err_prev / err^2)^(1/5)`` (Hairer and
  Wanner's RODAS controller; it ends the accept/reject cycles of the plain
  controller on stiff problems and took 20 to 50 % of the steps off ROBER,
  HIRES and POLLU), bounded to ``[0.2, 6] h``; no growth in the step that
  follows a rejection;
  after a rejection ``h_new = h * max(0.2, 0.9 err^(-1/5))``;
* initial step (when ``h0 <= 0``): Hairer's algorithm (Solving ODEs I, II.4);
* Jacobian evaluated once per step, at the step's start, and reused by all
  rejected retries of the same step (only ``W`` is refactored).

Non-negativity
--------------
States are never clipped. A step is rejected, and the step size at least
halved, when a component of its result falls below ``-(atol_i + rtol |y_i|)``
(``y`` the state at the step's start): a negative excursion larger than the
local error tolerance cannot be accepted as "zero within the tolerance". The
smallest component of every accepted state is reported as ``min_value``, so a
caller can check ``min_value >= -max(atol)`` style guarantees.

Failures return a non-zero status from :mod:`kernels.status` together with
the arrays up to the point of failure; they never return a silent wrong answer.
"""

import numpy as np

from ._common import (
    DENSE_RODAS,
    FAC_MAX,
    FAC_MIN,
    MAX_CONSECUTIVE_FAILURES,
    N_DENSE,
    SAFETY,
    all_finite,
    finish_records,
    initial_step,
    interpolate,
    jacobian_finite,
    max_abs,
    needs_dense,
    reject_factor,
    start_solve,
    start_step,
    store_dense,
)
from .jit import njit
from .kinetics import (N_SLOTS, REVERSE_ARRHENIUS, rate_constants, slot_jacobian,
                       slot_plan, slot_rates_inline)
from .linalg import (SPARSE_MAX_N, factor_w_dense, factor_w_sparse, inverse_w_sparse,
                     solve_w_dense)
from .sparse_ordering import leading_diagonal_rows, sparse_lu_plan_ordered
from .problems import BATCH_ENERGY, CSTR_ENERGY, CSTR_TRANSIENT, jacobian, rhs
from .status import (
    INVALID_INPUT,
    NON_FINITE,
    SINGULAR_MATRIX,
    STAT_ACCEPTED,
    STAT_JAC_EVALS,
    STAT_LU_FACTORS,
    STAT_REJECTED,
    STAT_RHS_EVALS,
    STAT_STEPS,
    STEADY_DIVERGED,
    STEADY_NOT_REACHED,
    SUCCESS,
)

# ---------------------------------------------------------------------------
# Rodas5P coefficients (W-transformed form)
# ---------------------------------------------------------------------------
GAMMA = 0.21193756319429014
N_STAGES = 8


def _tableau():
    a = np.zeros((8, 8))
    a[1, 0] = 3.0
    a[2, 0:2] = [2.849394379747939, 0.45842242204463923]
    a[3, 0:3] = [-6.954028509809101, 2.489845061869568, -10.358996098473584]
    a[4, 0:4] = [2.8029986275628964, 0.5072464736228206, -0.3988312541770524,
                 -0.04721187230404641]
    a[5, 0:5] = [-7.502846399306121, 2.561846144803919, -11.627539656261098,
                 -0.18268767659942256, 0.030198172008377946]
    # stiffly accurate structure: stages 7 and 8 and the solution continue
    # from stage 6's input by adding k6, k7 (and k8)
    a[6, 0:5] = a[5, 0:5]
    a[6, 5] = 1.0
    a[7, 0:5] = a[5, 0:5]
    a[7, 5] = 1.0
    a[7, 6] = 1.0

    c = np.zeros((8, 8))
    c[1, 0] = -14.155112264123755
    c[2, 0:2] = [-17.97296035885952, -2.859693295451294]
    c[3, 0:3] = [147.12150275711716, -1.41221402718213, 71.68940251302358]
    c[4, 0:4] = [165.43517024871676, -0.4592823456491126, 42.90938336958603,
                 -5.961986721573306]
    c[5, 0:5] = [24.854864614690072, -3.0009227002832186, 47.4931110020768,
                 5.5814197821558125, -0.6610691825249471]
    c[6, 0:6] = [30.91273214028599, -3.1208243349937974, 77.79954646070892,
                 34.28646028294783, -19.097331116725623, -28.087943162872662]
    c[7, 0:7] = [37.80277123390563, -3.2571969029072276, 112.26918849496327,
                 66.9347231244047, -40.06618937091002, -54.66780262877968,
                 -9.48861652309627]

    hd = np.zeros((3, 8))
    hd[0, :] = [25.948786856663858, -2.5579724845846235, 10.433815404888879,
                -2.3679251022685204, 0.524948541321073, 1.1241088310450404,
                0.4272876194431874, -0.17202221070155493]
    hd[1, :] = [-9.91568850695171, -0.9689944594115154, 3.0438037242978453,
                -24.495224566215796, 20.176138334709044, 15.98066361424651,
                -6.789040303419874, -6.710236069923372]
    hd[2, :] = [11.419903575922262, 2.8879645146136994, 72.92137995996029,
                80.12511834622643, -52.072871366152654, -59.78993625266729,
                -0.15582684282751913, 4.883087185713722]
    return a, c, hd


RODAS5P_A, RODAS5P_C, RODAS5P_H = _tableau()
_A = RODAS5P_A
_C = RODAS5P_C
_H = RODAS5P_H

VECTOR_MIN_N = 6  # stage sums as whole-vector updates from this size on
# steady mode of integrate_rodas: a state this many times larger than the
# initial one (plus 1) is a blow-up, not the way to a steady state; ending
# there saves the rest of the step budget (a tank scan may try hundreds)
STEADY_DIVERGENCE_FACTOR = 1e15


# ---------------------------------------------------------------------------
# step control
# ---------------------------------------------------------------------------
@njit
def residual_norm(f, y, rtol, atol):
    """RMS of f_i / (atol_i + rtol |y_i|)."""
    n = f.shape[0]
    s = 0.0
    for i in range(n):
        r = f[i] / (atol[i] + rtol * abs(y[i]))
        s += r * r
    return np.sqrt(s / max(n, 1))


@njit(inline="always")
def predictive_factor(err, h, h_acc, err_acc, last_rejected):
    """Step-size factor after an accepted step: the smaller of the standard
    ``SAFETY err^(-1/5)`` and Gustafsson's predictive estimate
    ``SAFETY (h / h_acc) (err_acc / err^2)^(1/5)`` from the previous accepted
    step (Hairer and Wanner, Solving ODEs II, IV.8, as in their RODAS code),
    which stops the accept/reject cycles of the standard controller on stiff
    problems. Bounded to [FAC_MIN, FAC_MAX], at most 1 after a rejection."""
    e = max(err, 1e-10)
    fac = SAFETY * e ** -0.2
    if h_acc > 0.0:
        fac = min(fac, SAFETY * (h / h_acc) * (err_acc / (e * e)) ** 0.2)
    fac = min(FAC_MAX, max(FAC_MIN, fac))
    if last_rejected:
        fac = min(fac, 1.0)
    return fac


# ---------------------------------------------------------------------------
# Rodas5P step
# ---------------------------------------------------------------------------
@njit(inline="always")
def _stage_input(s, y, k, u):
    """u = y + sum_j a_sj k_j (stage s >= 1); stages 6 and 7 use the stiffly
    accurate structure of the tableau (u_6 = u_5 + k_5, u_7 = u_6 + k_6)."""
    n = y.shape[0]
    if s <= 5:
        for i in range(n):
            u[i] = y[i]
        for j in range(s):
            a = _A[s, j]
            kj = k[j]
            for i in range(n):
                u[i] += a * kj[i]
    else:
        # stiffly accurate tail: u_6 = u_5 + k_5, u_7 = u_6 + k_6
        kj = k[s - 1]
        for i in range(n):
            u[i] += kj[i]


@njit(inline="always")
def _stage_rhs(s, inv_h, fu, k):
    """k_s = f(u_s) + sum_j (c_sj / h) k_j, before the solve."""
    n = fu.shape[0]
    ks = k[s]
    for i in range(n):
        ks[i] = fu[i]
    for j in range(s):
        c = _C[s, j] * inv_h
        kj = k[j]
        for i in range(n):
            ks[i] += c * kj[i]


@njit
def _stages_fast(code, kf, kr, params, q, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e,
                 y, f0, h, a, piv, dinv, x, k, u, ynew, rate_params):
    """:func:`_stages_sys` with :func:`kernels.problems.slot_rhs` as one loop
    nest: slot-form rates, stage sums and the solves with the dense factors
    of :func:`kernels.linalg.factor_w_dense` written out on 2-D indices (no
    row views, no calls). Same arithmetic as :func:`_stages_sys` apart from
    the order of the solves' sums. For BATCH_ENERGY / CSTR_ENERGY
    (temperature last in y) the rate constants are refilled from each
    stage's temperature (``rate_params``) and the cooling term is added to
    the temperature row.

    Deliberate specialisation (hot loop): the slot-form path of
    :func:`integrate_rodas` runs this when the sparse LU is off or refused a
    pivot, :func:`_stages_inv` when it succeeded, and :func:`_stages_sys`
    (calls, row views) serves every other problem.
    ``tests/test_kernel_inlined_paths.py`` checks all three agree."""
    n = y.shape[0]
    m = kf.shape[0]
    inv_h = 1.0 / h
    cstr = code == CSTR_TRANSIENT or code == CSTR_ENERGY
    energy = code == BATCH_ENERGY or code == CSTR_ENERGY
    nT = n - 1
    for s in range(N_STAGES):
        if s == 0:
            for i in range(n):
                k[0, i] = f0[i]
        else:
            if s <= 5:
                for i in range(n):
                    acc = y[i]
                    for j in range(s):
                        acc += _A[s, j] * k[j, i]
                    u[i] = acc
            else:  # stiffly accurate tail: u_6 = u_5 + k_5, u_7 = u_6 + k_6
                for i in range(n):
                    u[i] += k[s - 1, i]
            for i in range(n):
                e[i] = u[i]
            e[n] = 1.0
            if energy:
                rate_constants(u[nT], rate_params, kf, kr)
            # copy of kinetics.slot_rates by hand: a shared inline helper cost ~10 % per step
            if any_rev:
                for j in range(m):
                    b = N_SLOTS * j
                    q[j] = (kf[j] * e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]
                            - kr[j] * e[rslot[b]] * e[rslot[b + 1]] * e[rslot[b + 2]])
            else:
                for j in range(m):
                    b = N_SLOTS * j
                    q[j] = kf[j] * e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]
            for i in range(n):
                acc = 0.0
                for t in range(g_ptr[i], g_ptr[i + 1]):
                    acc += g_nu[t] * q[g_rx[t]]
                if energy and i == nT:
                    acc -= params[nT + 2] * (u[nT] - params[nT + 3])
                if cstr:
                    acc += (params[1 + i] - u[i]) * params[0]
                for j in range(s):
                    acc += (_C[s, j] * inv_h) * k[j, i]
                k[s, i] = acc
        # copy of linalg.solve_w_dense on 2-D indices: hot loop (see docstring)
        for i in range(n):
            x[i] = k[s, i]
        for i in range(n):
            p = piv[i]
            if p != i:
                tmp = x[i]
                x[i] = x[p]
                x[p] = tmp
        for i in range(1, n):
            sm = x[i]
            for j in range(i):
                sm -= a[i, j] * x[j]
            x[i] = sm
        for i in range(n - 1, -1, -1):
            sm = x[i]
            for j in range(i + 1, n):
                sm -= a[i, j] * x[j]
            x[i] = sm * dinv[i]
        for i in range(n):
            k[s, i] = x[i]
    for i in range(n):
        ynew[i] = u[i] + k[7, i]


@njit(inline="always")
def _stages_inv(code, kf, kr, params, q, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e,
                y, f0, h, perm, mt, x, k, u, ynew, rate_params):
    """:func:`_stages_fast` with every solve W z = b done as z = W^-1 b from
    the explicit inverse of :func:`inverse_w_sparse` (in the permuted space of the
    sparse factors): x = sum_j b[perm[j]] mt[j], z[perm[i]] = x[i].
    :func:`_stages_inv_diag` with no row known to be diagonal."""
    _stages_inv_diag(code, kf, kr, params, q, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e,
                     y, f0, h, perm, mt, x, k, u, ynew, rate_params, 0)


@njit(inline="always")
def _stages_inv_diag(code, kf, kr, params, q, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e,
                     y, f0, h, perm, mt, x, k, u, ynew, rate_params, n_diag):
    """The stage loop of the slot-form path when the sparse LU succeeded
    (see :func:`_stages_inv`); rows ``j < n_diag`` of ``mt`` hold only their
    diagonal entry (:func:`kernels.sparse_ordering.leading_diagonal_rows`:
    the heat row, products no rate depends on), so they add one product
    instead of a row (the row's zeros would add exact zeros). Kept apart from
    :func:`_stages_fast` on purpose (see there)."""
    n = y.shape[0]
    m = kf.shape[0]
    inv_h = 1.0 / h
    cstr = code == CSTR_TRANSIENT or code == CSTR_ENERGY
    energy = code == BATCH_ENERGY or code == CSTR_ENERGY
    nT = n - 1
    for s in range(N_STAGES):
        if s == 0:
            for i in range(n):
                k[0, i] = f0[i]
        else:
            # stage input u (in e, e[n] = 1) and x = sum_j (c_sj / h) k_j:
            # whole-vector updates (vectorisable) unless n is tiny
            if s > 5:  # stiffly accurate tail: u_6 = u_5 + k_5, u_7 = u_6 + k_6
                for i in range(n):
                    e[i] += k[s - 1, i]
            if n >= VECTOR_MIN_N:
                if s <= 5:
                    for i in range(n):
                        e[i] = y[i]
                    for j in range(s):
                        aj = _A[s, j]
                        for i in range(n):
                            e[i] += aj * k[j, i]
                cj = _C[s, 0] * inv_h
                for i in range(n):
                    x[i] = cj * k[0, i]
                for j in range(1, s):
                    cj = _C[s, j] * inv_h
                    for i in range(n):
                        x[i] += cj * k[j, i]
            else:
                for i in range(n):
                    if s <= 5:
                        acc = y[i]
                        for j in range(s):
                            acc += _A[s, j] * k[j, i]
                        e[i] = acc
                    acc = 0.0
                    for j in range(s):
                        acc += (_C[s, j] * inv_h) * k[j, i]
                    x[i] = acc
            e[n] = 1.0
            if energy:
                rate_constants(e[nT], rate_params, kf, kr)
            # copy of kinetics.slot_rates by hand (sparse path): a shared helper cost ~10 % per step
            if any_rev:
                for j in range(m):
                    b = N_SLOTS * j
                    q[j] = (kf[j] * e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]
                            - kr[j] * e[rslot[b]] * e[rslot[b + 1]] * e[rslot[b + 2]])
            else:
                for j in range(m):
                    b = N_SLOTS * j
                    q[j] = kf[j] * e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]
            for i in range(n):
                acc = 0.0
                for t in range(g_ptr[i], g_ptr[i + 1]):
                    acc += g_nu[t] * q[g_rx[t]]
                if energy and i == nT:
                    acc -= params[nT + 2] * (e[nT] - params[nT + 3])
                if cstr:
                    acc += (params[1 + i] - e[i]) * params[0]
                k[s, i] = acc + x[i]
        for i in range(n):
            x[i] = 0.0
        for j in range(n_diag):
            x[j] = k[s, perm[j]] * mt[j, j]
        for j in range(n_diag, n):
            bj = k[s, perm[j]]
            if bj != 0.0:
                for i in range(n):
                    x[i] += bj * mt[j, i]
        for i in range(n):
            k[s, perm[i]] = x[i]
    for i in range(n):
        ynew[i] = e[i] + k[7, i]


@njit(inline="always")
def _slot_temperature_column(e, kf, kr, any_rev, fslot, rslot, rate_params, s_ptr, s_sp,
                             s_nu, params, dqdT, jx):
    """:func:`kernels.problems.temperature_column` from the slot form: ``e``
    holds the state as :func:`kernels.kinetics.slot_jacobian` left it (e[n] =
    1), kf, kr are at T = e[n - 1]; d q_j / dT = kf_j prod(e) d ln kf/dT -
    kr_j prod(e) d ln kr/dT as in :func:`kernels.kinetics.rate_temperature_derivative`
    (same values to round-off: the products are formed in another order)."""
    n = jx.shape[0]
    nT = n - 1
    rev_kind, fwd, rev = rate_params
    invT = 1.0 / e[nT]
    invT2 = invT * invT
    m = kf.shape[0]
    for j in range(m):
        b = N_SLOTS * j
        dlnkf = fwd[j, 1] * invT + fwd[j, 2] * invT2
        d = kf[j] * (e[fslot[b]] * e[fslot[b + 1]] * e[fslot[b + 2]]) * dlnkf
        if any_rev and kr[j] != 0.0:
            if rev_kind[j] == REVERSE_ARRHENIUS:
                dlnkr = rev[j, 1] * invT + rev[j, 2] * invT2
            else:
                dlnkr = dlnkf - rev[j, 2] * invT2
            d -= kr[j] * (e[rslot[b]] * e[rslot[b + 1]] * e[rslot[b + 2]]) * dlnkr
        dqdT[j] = d
    for i in range(n):
        jx[i, nT] = 0.0
    for j in range(m):
        for a in range(s_ptr[j], s_ptr[j + 1]):
            jx[s_sp[a], nT] += s_nu[a] * dqdT[j]
    jx[nT, nT] -= params[nT + 2]


@njit
def _stages_sys(code, system, t, y, f0, h, lu, piv, dinv, k, u, fu, ynew):
    """One Rodas5P step from (t, y) with W factored by :func:`factor_w_dense`,
    for any problem code; fills k[0..7] and ynew.

    ``k[7]`` is the local error estimate (y_new minus the embedded order-4
    solution).
    """
    n = y.shape[0]
    inv_h = 1.0 / h
    for i in range(n):
        k[0, i] = f0[i]
    solve_w_dense(lu, piv, dinv, k[0])
    for s in range(1, N_STAGES):
        _stage_input(s, y, k, u)
        rhs(code, t, u, system, fu)
        _stage_rhs(s, inv_h, fu, k)
        solve_w_dense(lu, piv, dinv, k[s])
    for i in range(n):
        ynew[i] = u[i] + k[7, i]


@njit
def _dense_coeffs(k, out):
    """Interpolation vectors K_r = sum_j H_rj k_j (r = 0, 1, 2) into out[3, n]."""
    n = k.shape[1]
    for r in range(N_DENSE):
        for i in range(n):
            acc = 0.0
            for j in range(N_STAGES):
                acc += _H[r, j] * k[j, i]
            out[r, i] = acc


@njit
def interpolate_rodas(t_steps, y_steps, dense, t_query):
    """States at ``t_query`` from the recorded steps of :func:`solve_rodas`.

    Queries outside [t_steps[0], t_steps[-1]] are extrapolated with the
    first or last step's polynomial; callers should stay inside.
    """
    return interpolate(DENSE_RODAS, t_steps, y_steps, dense, t_query)


# ---------------------------------------------------------------------------
# adaptive driver
# ---------------------------------------------------------------------------
@njit
def rodas_lu_plan(code, model, n):
    """The static-pattern sparse LU plan of W for problem ``code`` on states of
    length ``n`` with the mechanism ``model`` (the 9-tuple of the system):
    what :func:`integrate_rodas` builds at the start of every solve
    (:func:`kernels.sparse_ordering.sparse_lu_plan_ordered`; the empty plan
    when the slot form or the size rules the sparse LU out). It depends only
    on the sparsity pattern (the species slots and the stoichiometry's
    species lists), not on the values, so a caller that solves many problems
    of one pattern builds it once and passes it to
    :func:`integrate_rodas_planned` (1.6-2 us per solve of a 6-species
    mechanism). Read-only: the plan's last entry (the inverse's storage) is
    not used by the planned driver, which allocates its own."""
    energy = code == BATCH_ENERGY or code == CSTR_ENERGY
    fast, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(model, n)
    use_sparse = fast and n <= SPARSE_MAX_N
    return sparse_lu_plan_ordered(n, use_sparse, energy, any_rev, fslot, rslot, model[6],
                                  model[7])


@njit
def integrate_rodas(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps,
                    record, steady_tol):
    """The Rodas5P driver behind :func:`solve_rodas` and
    :func:`kernels.steady.integrate_to_steady`.

    Arguments as :func:`solve_rodas`; with ``steady_tol > 0`` the solve also
    ends (status SUCCESS) at the first accepted state whose residual
    RMS_i(f_i / (atol_i + rtol |y_i|)) is at most ``steady_tol``; reaching
    ``t_end`` before that is STEADY_NOT_REACHED, and a state beyond
    STEADY_DIVERGENCE_FACTOR (max |y0| + 1) is STEADY_DIVERGED.

    Returns ``(status, t_steps, y_steps, dense, y_eval, stats, min_value,
    y, t)`` with ``(y, t)`` the last accepted state.
    """
    plan = rodas_lu_plan(code, system[0], y0.shape[0])
    return integrate_rodas_planned(code, system, y0, t0, t_end, t_eval, rtol, atol, h0,
                                   max_steps, record, steady_tol, plan)


@njit
def integrate_rodas_planned(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps,
                            record, steady_tol, plan):
    """:func:`integrate_rodas` with the sparse LU plan ``plan`` of
    :func:`rodas_lu_plan` for this problem's code, model and size, built by
    the caller (once for many solves of one pattern). Same steps, same
    results."""
    n = y0.shape[0]
    # negative atol_i: a component that may change sign (see start_solve)
    ok, free, atol, stats, y_eval, t_buf, y_buf, d_buf, min_value, ie = start_solve(
        y0, t0, t_end, t_eval, rtol, atol, record, N_DENSE)
    if not ok:
        return (INVALID_INPUT, t_buf[:1].copy(), y_buf[:1].copy(), d_buf[:0].copy(),
                y_eval, stats, np.nan, y0.copy(), t0)

    # work arrays: allocated once per solve
    y = y0.copy()
    ynew = np.empty(n)
    f0 = np.empty(n)
    fnew = np.empty(n)
    u = np.empty(n)
    fu = np.empty(n)
    k = np.empty((N_STAGES, n))
    w = np.empty((n, n))
    piv = np.zeros(n, dtype=np.int64)
    dinv = np.empty(n)
    cols = np.empty(n, dtype=np.int64)
    dcoef = np.empty((N_DENSE, n))
    # mass action with integer orders up to 3: the slot form of kernels.kinetics
    # (built once); the Jacobian then lives in jx[:, :n] (column n is scratch)
    kf, kr, params, work = system[2], system[3], system[4], system[5]
    energy = code == BATCH_ENERGY or code == CSTR_ENERGY
    rate_params = system[1]
    model = system[0]
    fast, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(model, n)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    ext = np.empty(n + 1)
    jx = np.empty((n, n + 1)) if fast else np.empty((n, n))
    # static-pattern sparse LU for the slot form (falls back to the dense LU);
    # states nothing depends on (the heat row) are eliminated first, else the
    # heat row's large entries fail the pivot threshold at nearly every step
    (perm, lr_ptr, lr_idx, lc_ptr, lc_idx, ur_ptr, ur_idx, iu_r, iu_c, il_r, il_c,
     _) = plan
    use_sparse = fast and n <= SPARSE_MAX_N and perm.shape[0] == n
    mt = np.empty((n, n)) if use_sparse else np.empty((0, 0))
    n_diag = leading_diagonal_rows(lc_ptr, iu_c) if use_sparse else 0
    xs = np.empty(n)

    t = t0
    n_acc = 0
    status = SUCCESS
    rhs(code, t, y, system, f0)
    stats[STAT_RHS_EVALS] += 1
    if not all_finite(f0):
        status = NON_FINITE
    elif steady_tol > 0.0 and residual_norm(f0, y, rtol, atol) <= steady_tol:
        pass  # already steady
    elif t_end > t0:
        if h0 > 0.0:
            h = min(h0, t_end - t0)
        else:
            h = initial_step(code, system, t0, y0, f0, t_end, rtol, atol, 5.0, u, fu)
            stats[STAT_RHS_EVALS] += 1
        h_acc = 0.0  # previous accepted step and its error (predictive controller)
        y_diverged = STEADY_DIVERGENCE_FACTOR * (max_abs(y0) + 1.0)
        err_acc = 1.0
        last_rejected = False
        jac_current = False
        k_at_y = False  # kf, kr of an energy problem are at T = y[n - 1]
        n_fail = 0
        while True:
            status, h, last = start_step(stats, max_steps, h, t, t_end)
            if status != SUCCESS:
                break
            if not jac_current:
                if fast:
                    if energy and not k_at_y:
                        rate_constants(y[n - 1], rate_params, kf, kr)
                    slot_jacobian(y, kf, kr, any_rev, fslot, rslot, s_ptr, s_sp, s_nu, ext, jx)
                    if energy:
                        _slot_temperature_column(ext, kf, kr, any_rev, fslot, rslot,
                                                 rate_params, s_ptr, s_sp, s_nu, params,
                                                 work[kf.shape[0]:], jx)
                    if code == CSTR_TRANSIENT or code == CSTR_ENERGY:
                        inv_tau = params[0]
                        for i in range(n):
                            jx[i, i] -= inv_tau
                else:
                    jacobian(code, t, y, system, jx)
                stats[STAT_JAC_EVALS] += 1
                jac_current = True
            gh = 1.0 / (GAMMA * h)
            stats[STAT_STEPS] += 1
            stats[STAT_LU_FACTORS] += 1
            sparse = use_sparse and factor_w_sparse(jx, gh, w, dinv, perm, lr_ptr, lr_idx,
                                                    lc_ptr, lc_idx, ur_ptr, ur_idx)
            if not sparse and not factor_w_dense(jx, gh, w, piv, dinv, cols):
                stats[STAT_REJECTED] += 1
                n_fail += 1
                if n_fail > MAX_CONSECUTIVE_FAILURES:
                    status = SINGULAR_MATRIX if jacobian_finite(jx) else NON_FINITE
                    break
                h *= 0.5
                last_rejected = True
                continue
            if sparse:
                inverse_w_sparse(w, dinv, iu_r, iu_c, il_r, il_c, mt)
                _stages_inv_diag(code, kf, kr, params, work, any_rev, fslot, rslot, g_ptr,
                                 g_rx, g_nu, ext, y, f0, h, perm, mt, xs, k, u, ynew,
                                 rate_params, n_diag)
            elif fast:
                _stages_fast(code, kf, kr, params, work, any_rev, fslot, rslot, g_ptr, g_rx,
                             g_nu, ext, y, f0, h, w, piv, dinv, xs, k, u, ynew, rate_params)
            else:
                _stages_sys(code, system, t, y, f0, h, w, piv, dinv, k, u, fu, ynew)
            stats[STAT_RHS_EVALS] += 7
            # error norm, finiteness of ynew and the non-negativity rule in one pass
            s2 = 0.0
            chk = 0.0
            negative = False
            for i in range(n):
                yi = y[i]
                yn = ynew[i]
                ayi = abs(yi)
                sc = atol[i] + rtol * max(ayi, abs(yn))
                r = k[7, i] / sc
                s2 += r * r
                chk += yn * 0.0  # NaN when any ynew is inf or NaN
                if yn < -(atol[i] + rtol * ayi) and not free[i]:
                    negative = True
            err = np.sqrt(s2 / max(n, 1))
            finite = np.isfinite(err) and chk == 0.0
            k_at_y = False  # the stages left kf, kr at their own temperatures
            if finite:
                if fast and energy:
                    # rhs of the energy problem in slot form; kf, kr stay at
                    # T_new for the next step's Jacobian when the step is accepted
                    rate_constants(ynew[n - 1], rate_params, kf, kr)
                    slot_rates_inline(ynew, kf, kr, any_rev, fslot, rslot, g_ptr, g_rx, g_nu,
                                       ext, work, fnew)
                    fnew[n - 1] -= params[n + 1] * (ynew[n - 1] - params[n + 2])
                    if code == CSTR_ENERGY:
                        for i in range(n):
                            fnew[i] += (params[1 + i] - ynew[i]) * params[0]
                    k_at_y = True
                elif fast:
                    # kernels.problems.slot_rhs, inlined: as a call (two levels,
                    # 14 array arguments) it cost about 130 ns a step, 10 % of a
                    # 6-species step
                    slot_rates_inline(ynew, kf, kr, any_rev, fslot, rslot, g_ptr, g_rx, g_nu,
                                       ext, work, fnew)
                    if code == CSTR_TRANSIENT:
                        for i in range(n):
                            fnew[i] += (params[1 + i] - ynew[i]) * params[0]
                else:
                    rhs(code, t + h, ynew, system, fnew)
                stats[STAT_RHS_EVALS] += 1
                chk = 0.0
                for i in range(n):
                    chk += fnew[i] * 0.0  # NaN when any fnew is inf or NaN (all_finite)
                finite = chk == 0.0
            if not finite:
                stats[STAT_REJECTED] += 1
                n_fail += 1
                if n_fail > MAX_CONSECUTIVE_FAILURES:
                    status = NON_FINITE
                    break
                h *= 0.25
                last_rejected = True
                continue
            if err <= 1.0 and not negative:
                # ---- accept
                n_fail = 0
                t_new = t_end if last else t + h
                if needs_dense(record, t_eval, ie, t_new):
                    _dense_coeffs(k, dcoef)
                    ie, t_buf, y_buf, d_buf = store_dense(DENSE_RODAS, record, t_eval, ie, t, h, t_new,
                                                          y, ynew, dcoef, y_eval, t_buf, y_buf,
                                                          d_buf, n_acc)
                for i in range(n):
                    if ynew[i] < min_value and not free[i]:
                        min_value = ynew[i]
                    y[i] = ynew[i]
                    f0[i] = fnew[i]
                t = t_new
                n_acc += 1
                stats[STAT_ACCEPTED] += 1
                jac_current = False
                if steady_tol > 0.0:
                    if residual_norm(f0, y, rtol, atol) <= steady_tol:
                        break
                    if max_abs(y) > y_diverged:
                        status = STEADY_DIVERGED
                        break
                if last:
                    if steady_tol > 0.0:
                        status = STEADY_NOT_REACHED
                    break
                fac = predictive_factor(err, h, h_acc, err_acc, last_rejected)
                h_acc = h
                err_acc = max(err, 1e-2)
                h *= fac
                last_rejected = False
            else:
                # ---- reject
                stats[STAT_REJECTED] += 1
                h *= reject_factor(err, negative)
                last_rejected = True

    t_out, y_out, d_out = finish_records(record, t_buf, y_buf, d_buf, n_acc, t0, t, y0, y)
    return status, t_out, y_out, d_out, y_eval, stats, min_value, y, t


@njit
def solve_rodas(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps, record):
    """Integrate dy/dt = f(y) of problem ``code`` from t0 to t_end with Rodas5P.

    Returns ``(status, t_steps, y_steps, dense, y_eval, stats, min_value)``;
    see the module docstring and :mod:`kernels.status` (codes, and the
    ``STAT_*`` positions of the counters in ``stats``).

    A negative ``atol[i]`` marks a component allowed to change sign (such as
    an accumulated heat of reaction): it is controlled with ``|atol[i]|``
    and exempt from the non-negativity rule and ``min_value``.
    """
    res = integrate_rodas(code, system, y0, t0, t_end, t_eval, rtol, atol, h0, max_steps,
                          record, 0.0)
    return res[0], res[1], res[2], res[3], res[4], res[5], res[6]


@njit
def solve_rodas_fixed(code, system, y0, t0, t_end, n_steps):
    """Rodas5P with ``n_steps`` equal steps and no error control (for order
    verification and for callers that control steps themselves).

    Returns ``(status, t_steps, y_steps, dense, err_est)`` where ``err_est``
    holds the embedded error vector k_8 of each step (shape (n_steps, n)).
    """
    n = y0.shape[0]
    n_steps = max(n_steps, 1)
    h = (t_end - t0) / n_steps
    t_steps = np.empty(n_steps + 1)
    y_steps = np.empty((n_steps + 1, n))
    dense = np.empty((n_steps, N_DENSE, n))
    err_est = np.empty((n_steps, n))
    y = y0.copy()
    ynew = np.empty(n)
    f0 = np.empty(n)
    u = np.empty(n)
    fu = np.empty(n)
    k = np.empty((N_STAGES, n))
    jx = np.empty((n, n))
    w = np.empty((n, n))
    piv = np.zeros(n, dtype=np.int64)
    dinv = np.empty(n)
    cols = np.empty(n, dtype=np.int64)
    t_steps[0] = t0
    y_steps[0] = y0
    for s in range(n_steps):
        t = t0 + s * h
        rhs(code, t, y, system, f0)
        jacobian(code, t, y, system, jx)
        gh = 1.0 / (GAMMA * h)
        if not factor_w_dense(jx, gh, w, piv, dinv, cols):
            return SINGULAR_MATRIX, t_steps[: s + 1], y_steps[: s + 1], dense[:s], err_est[:s]
        _stages_sys(code, system, t, y, f0, h, w, piv, dinv, k, u, fu, ynew)
        _dense_coeffs(k, dense[s])
        err_est[s] = k[7]
        y[:] = ynew
        t_steps[s + 1] = t0 + (s + 1) * h
        y_steps[s + 1] = ynew
    t_steps[n_steps] = t_end
    return SUCCESS, t_steps, y_steps, dense, err_est
