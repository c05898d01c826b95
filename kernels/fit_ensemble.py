"""All experiments of a kinetic fit in one compiled call.

A residual evaluation of :class:`flowchem.process.estimation.FitProblem`
solves the model once per run of the data set (an isothermal batch or
plug-flow integration, or a steady stirred tank) at one parameter vector.
:func:`evaluate_runs` does every run of the set in one call, so the Python
layer pays one call per evaluation instead of building arrays and reading
statuses per run: the runs are packed once into flat arrays, and per
evaluation only the raw parameter vector ``raw = raw0 + M θ``
(:class:`~flowchem.chemistry.parameters.ParameterMap`) goes in.

Packed runs
-----------
``kinds[r]``: RUN_BATCH (batch, or PFR in residence time) or RUN_CSTR;
``temps[r]`` (K); ``inlets[r]`` (n,) initial or feed concentrations;
``t_ptr`` (n_runs + 1) into ``times``: the run's distinct sample times
(batch/PFR, sorted) or its residence time (CSTR, one entry); ``atols[r]``
the run's absolute tolerance on concentrations. The output row of run r at
``times[i]`` is row ``i`` of ``pred`` (and ``sens``).

The raw vector is ``[fwd (m x 3), rev (m x 3), forward orders (nnz), dH (m)]``
(:class:`~flowchem.chemistry.parameters.RawLayout`); ``M`` is d raw/d θ.

Per run: plain Rodas5P (:func:`kernels.rosenbrock.integrate_rodas`, the
solve :func:`flowchem.reactors.solver.integrate` runs) or the tank solver
(:func:`kernels.steady.solve_cstr_cascade`); with sensitivities, the block
Rodas5P of :mod:`kernels.rosenbrock_sens` on BATCH_SENS, and for a tank the
implicit-function sensitivities of :mod:`kernels.steady_sensitivity`.
Sensitivity coefficients (``d ln k/dθ`` at the run's temperature, d order/dθ)
are those of :func:`flowchem.reactors.sensitivity.sensitivity_system`.

A run that fails gets a non-zero status (:mod:`kernels.status`) and NaN rows;
the others are still solved. Nothing raises.
"""

import numpy as np

from .jit import njit
from .kinetics import rate_constants
from .problems import BATCH, BATCH_SENS, CSTR_TRANSIENT
from .rosenbrock import integrate_rodas
from .rosenbrock_sens import integrate_rodas_sens
from .sensitivity import SENS_HEADER
from .status import (N_STEADY_STATS, NON_FINITE, STAT_STEPS, STEADY_STAT_NEWTON_ITERS,
                     SUCCESS)
from .steady import solve_cstr_cascade
from .steady_sensitivity import cascade_sensitivity

RUN_BATCH = 0
RUN_CSTR = 1


@njit
def _coefficients(rev_kind, rev, M, T, m, nnz, C):
    """The coefficient table of an isothermal run at ``T``: rows
    ``[d ln kf_j/dθ (m), d ln kr_j/dθ (m), d order_a/dθ (nnz)]``, one column
    per θ_k, into C ((2 m + nnz) x p); as
    :func:`flowchem.reactors.sensitivity.log_rate_derivatives`."""
    p = M.shape[1]
    lnT = np.log(T)
    invT = 1.0 / T
    for j in range(m):
        kind = rev_kind[j]
        for kk in range(p):
            dlnkf = M[3 * j, kk] + M[3 * j + 1, kk] * lnT - M[3 * j + 2, kk] * invT
            C[j, kk] = dlnkf
            r0 = M[3 * m + 3 * j, kk]
            r1 = M[3 * m + 3 * j + 1, kk]
            r2 = M[3 * m + 3 * j + 2, kk]
            if kind == 1:
                dlnkr = r0 + r1 * lnT - r2 * invT
            elif kind == 2:
                # ln K = rev0 - rev2 (1/T - rev1), kr = kf / K
                dlnK = r0 - r2 * (invT - rev[j, 1]) + rev[j, 2] * r1
                dlnkr = dlnkf - dlnK
            else:
                dlnkr = 0.0
            C[m + j, kk] = dlnkr
    for a in range(nnz):
        for kk in range(p):
            C[2 * m + a, kk] = M[6 * m + a, kk]


@njit
def _sensitivity_params(C, m, nnz, n, F):
    """The BATCH_SENS ``params`` of :mod:`kernels.sensitivity` whose
    coefficient tables are the columns of ``C`` ((2 m + nnz) x p)."""
    p = C.shape[1]
    params = np.zeros(SENS_HEADER + 2 * m * p + nnz * p)
    params[0] = p
    params[1] = n
    params[2] = F
    o_kf = SENS_HEADER
    o_kr = SENS_HEADER + m * p
    o_ord = SENS_HEADER + 2 * m * p
    for j in range(m):
        for kk in range(p):
            params[o_kf + j * p + kk] = C[j, kk]
            params[o_kr + j * p + kk] = C[m + j, kk]
    for a in range(nnz):
        for kk in range(p):
            params[o_ord + a * p + kk] = C[2 * m + a, kk]
    return params


@njit
def _directions(C, reduce):
    """The sensitivity directions to integrate for coefficient table C:
    ``(D, back)`` with D the coefficient table actually integrated and
    ``back`` ((p_D) x p) so that dc/dθ = (dc/dD) @ back.

    The sensitivity equations are linear in the coefficients, so instead of
    one direction per θ_k it is enough to integrate one per non-zero row of C
    (a unit coefficient on that row) and combine: with the rate constant and
    activation energy of each reaction fitted, p = 2 m but only m rows are
    non-zero. Used when it is fewer directions than θ; otherwise D = C and
    back = I."""
    rows = C.shape[0]
    p = C.shape[1]
    active = np.zeros(rows, dtype=np.int64)
    n_active = 0
    for r in range(rows):
        for kk in range(p):
            if C[r, kk] != 0.0:
                active[n_active] = r
                n_active += 1
                break
    if n_active >= p or not reduce:
        back = np.zeros((p, p))
        for kk in range(p):
            back[kk, kk] = 1.0
        return C.copy(), back
    D = np.zeros((rows, n_active))
    back = np.zeros((n_active, p))
    for i in range(n_active):
        D[active[i], i] = 1.0
        for kk in range(p):
            back[i, kk] = C[active[i], kk]
    return D, back


@njit
def _max_factors(model, m):
    r_ptr, p_ptr = model[0], model[3]
    F = 0
    for j in range(m):
        F = max(F, r_ptr[j + 1] - r_ptr[j], p_ptr[j + 1] - p_ptr[j])
    return F


@njit
def _check_finite(pred, sens, lo, hi, with_sens, status, r):
    """A solve that succeeded with non-finite output is a failure (NON_FINITE)."""
    n = pred.shape[1]
    p = sens.shape[2]
    for q in range(lo, hi):
        for i in range(n):
            if not np.isfinite(pred[q, i]):
                status[r] = NON_FINITE
            if with_sens:
                for kk in range(p):
                    if not np.isfinite(sens[q, i, kk]):
                        status[r] = NON_FINITE


@njit
def evaluate_runs(model, rev_kind, raw, M, kinds, temps, inlets, t_ptr, times, atols, rtol,
                  max_steps, with_sens, sens_error, reduce_directions, allow_slot):
    """Predictions (and θ-sensitivities) of every run at one parameter vector.

    Parameters
    ----------
    model : tuple
        The compiled model 9-tuple (:mod:`kernels.kinetics`); its forward
        orders are replaced by those of ``raw``.
    rev_kind : int64 array (m,)
    raw : float array
        Raw parameters (see the module docstring).
    M : float array (raw size, p)
        d raw / d θ (only read with ``with_sens``).
    kinds, temps, inlets, t_ptr, times, atols
        The packed runs (module docstring).
    rtol : float
    max_steps : int
        Step budget of each integration.
    with_sens : bool
        Also compute the sensitivities.
    sens_error : bool
        Sensitivities in the integrator's error control
        (:mod:`kernels.rosenbrock_sens`).
    reduce_directions : bool
        Integrate one direction per non-zero coefficient row when that is
        fewer than θ (:func:`_directions`; exact with ``sens_error`` False).
    allow_slot : bool
        The slot-form sensitivity right-hand side where it applies
        (:func:`kernels.rosenbrock_sens.slot_sensitivity_rhs`).

    Returns
    -------
    status : int64 (n_runs,)
        :mod:`kernels.status` code per run (0: solved).
    pred : (n_rows, n)
        Concentrations at every row (NaN rows for a failed run).
    sens : (n_rows, n, p), or (0, n, p) without ``with_sens``
        ``sens[i, :, k] = d pred[i] / dθ_k``.
    steps : int64 (n_runs,)
        Integrator steps (batch) or Newton iterations (tank) per run.
    """
    n_runs = kinds.shape[0]
    n = inlets.shape[1]
    m = rev_kind.shape[0]
    nnz = model[2].shape[0]
    p = M.shape[1]
    n_rows = times.shape[0]
    # the kernel's arrays at this raw vector (C-contiguous copies)
    fwd = raw[0:3 * m].copy().reshape((m, 3))
    rev = raw[3 * m:6 * m].copy().reshape((m, 3))
    orders = raw[6 * m:6 * m + nnz].copy()
    mdl = (model[0], model[1], orders, model[3], model[4], model[5], model[6], model[7],
           model[8])
    rate_params = (rev_kind, fwd, rev)
    status = np.zeros(n_runs, dtype=np.int64)
    steps = np.zeros(n_runs, dtype=np.int64)
    pred = np.full((n_rows, n), np.nan)
    sens = np.full((n_rows if with_sens else 0, n, p), np.nan)
    kf = np.zeros(m)
    kr = np.zeros(m)
    F = _max_factors(mdl, m)
    plain_params = np.zeros(1 + n)
    plain_work = np.zeros(max(2 * m, 1))
    C = np.zeros((2 * m + nnz, p))
    sens_work = np.zeros(max(2 * m + 6 * F, 1))
    code_batch = np.int64(BATCH)
    code_sens = np.int64(BATCH_SENS)
    code_cstr = np.int64(CSTR_TRANSIENT)
    no_record = np.bool_(False)
    for r in range(n_runs):
        T = temps[r]
        rate_constants(T, rate_params, kf, kr)
        finite = True
        for j in range(m):
            if not (np.isfinite(kf[j]) and np.isfinite(kr[j])):
                finite = False
        if not finite:
            status[r] = NON_FINITE
            continue
        c0 = inlets[r].copy()
        atol = np.full(n, atols[r])
        lo = t_ptr[r]
        hi = t_ptr[r + 1]
        if kinds[r] == RUN_CSTR:
            system = (mdl, rate_params, kf, kr, plain_params, plain_work)
            tau = times[lo]
            stats = np.zeros(N_STEADY_STATS, dtype=np.int64)
            st, states, _ = solve_cstr_cascade(code_cstr, system, c0, 1.0 / tau, np.int64(1),
                                               rtol, atol, stats)
            steps[r] = stats[STEADY_STAT_NEWTON_ITERS]
            if st != SUCCESS:
                status[r] = st
                continue
            for i in range(n):
                pred[lo, i] = states[0, i]
            if with_sens:
                _coefficients(rev_kind, rev, M, T, m, nnz, C)
                ssys = (mdl, rate_params, kf, kr, _sensitivity_params(C, m, nnz, n, F), sens_work)
                out = np.zeros((1, n, p))
                st, _ = cascade_sensitivity(ssys, states, 1.0 / tau, np.zeros((n, p)), out)
                if st != SUCCESS:
                    status[r] = st
                    continue
                for i in range(n):
                    for kk in range(p):
                        sens[lo, i, kk] = out[0, i, kk]
            _check_finite(pred, sens, lo, hi, with_sens, status, r)
            continue
        t_eval = times[lo:hi].copy()
        t_end = t_eval[hi - lo - 1]
        if with_sens:
            _coefficients(rev_kind, rev, M, T, m, nnz, C)
            D, back = _directions(C, reduce_directions)
            pd = D.shape[1]
            N = n * (pd + 1)
            ssys = (mdl, rate_params, kf, kr, _sensitivity_params(D, m, nnz, n, F), sens_work)
            y0 = np.zeros(N)
            aug_atol = np.empty(N)
            for i in range(n):
                y0[i] = c0[i]
                aug_atol[i] = atols[r]
            for i in range(n, N):
                aug_atol[i] = -atols[r]   # sensitivities may change sign
            res = integrate_rodas_sens(code_sens, ssys, y0, n, 0.0, t_end, t_eval, rtol,
                                       aug_atol, 0.0, max_steps, no_record, sens_error,
                                       allow_slot)
            st = res[0]
            y_eval = res[4]
            steps[r] = res[5][STAT_STEPS]
            if st != SUCCESS:
                status[r] = st
                continue
            for q in range(hi - lo):
                for i in range(n):
                    pred[lo + q, i] = y_eval[q, i]
                    for kk in range(p):
                        acc = 0.0
                        for d in range(pd):
                            acc += y_eval[q, n * (1 + d) + i] * back[d, kk]
                        sens[lo + q, i, kk] = acc
        else:
            system = (mdl, rate_params, kf, kr, plain_params, plain_work)
            res = integrate_rodas(code_batch, system, c0, 0.0, t_end, t_eval, rtol, atol, 0.0,
                                  max_steps, no_record, 0.0)
            st = res[0]
            y_eval = res[4]
            steps[r] = res[5][STAT_STEPS]
            if st != SUCCESS:
                status[r] = st
                continue
            for q in range(hi - lo):
                for i in range(n):
                    pred[lo + q, i] = y_eval[q, i]
        _check_finite(pred, sens, lo, hi, with_sens, status, r)
    return status, pred, sens, steps
