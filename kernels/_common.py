"""Driver pieces shared by the adaptive integrators of :mod:`kernels.rosenbrock`,
:mod:`kernels.bdf` and :mod:`kernels.explicit`: input checks, the set-up of a
solve (negative-atol convention, recording buffers, outputs at or before t0),
the initial step, the error norm and step-size factors, dense output at the
requested times, step recording, output assembly and interpolation of the
recorded steps. Everything here runs once per solve or once per accepted step,
never inside a step's stages.

This module imports only :mod:`kernels.problems` and :mod:`kernels.status`,
so every integrator can import it.
"""

import numpy as np

from .jit import njit
from .problems import rhs
from .status import MAX_STEPS, N_STATS, STAT_STEPS, STEP_TOO_SMALL, SUCCESS

N_DENSE = 3  # interpolation vectors stored per step (both methods)

# which continuous extension ``dense`` holds (see :func:`dense_eval`)
DENSE_RODAS = 0
DENSE_DOPRI5 = 1
DENSE_BDF = 2
N_DENSE_BDF = 5  # backward differences 1..5 of the BDF interpolating polynomial
DENSE_DOP853 = 3
N_DENSE_DOP853 = 7  # Hairer's contd8: the seven vectors of the order-7 extension

# step-size control
SAFETY = 0.9
FAC_MIN = 0.2
FAC_MAX = 6.0
# DOPRI5's PI controller (accept_factor): Hairer's defaults in his DOPRI5
# code, beta = 0.04, alpha = 0.2 - 0.75 beta, growth up to 10. Gustafsson's
# gains (0.7/k, 0.4/k with k = 5) and growth 6 grew the step too slowly along
# a decaying reaction: 34 against 25 steps per SNAr tube at rtol 1e-6 (58
# against 45 at 1e-8), same error control
PI_BETA = 0.04
PI_ALPHA = 0.2 - 0.75 * PI_BETA
PI_FAC_MAX = 10.0

MAX_CONSECUTIVE_FAILURES = 25  # non-finite / singular retries before giving up

_EPS = np.finfo(np.float64).eps
_LOG_ERR_PREV_MIN = float(np.log(1e-4))


@njit
def all_finite(v):
    for i in range(v.shape[0]):
        if not np.isfinite(v[i]):
            return False
    return True


@njit
def max_abs(v):
    """Largest |v_i| (0 for an empty vector; NaN entries are skipped)."""
    out = 0.0
    for i in range(v.shape[0]):
        a = abs(v[i])
        if a > out:
            out = a
    return out


@njit
def jacobian_finite(jx):
    """True when the first n columns of the (n, n) or (n, n + 1) Jacobian
    ``jx`` are finite (column n of the slot form is scratch). Tells a
    singular iteration matrix from an overflowed one."""
    n = jx.shape[0]
    for i in range(n):
        for j in range(n):
            if not np.isfinite(jx[i, j]):
                return False
    return True


@njit
def check_inputs(y0, t0, t_end, t_eval, rtol, atol):
    """True when the common solver inputs are valid."""
    n = y0.shape[0]
    if atol.shape[0] != n:
        return False
    if not (rtol > 0.0) or not np.isfinite(rtol):
        return False
    for i in range(n):
        if not (atol[i] > 0.0) or not np.isfinite(atol[i]):
            return False
    if not np.isfinite(t0) or not np.isfinite(t_end) or t_end < t0:
        return False
    if not all_finite(y0):
        return False
    prev = t0
    for i in range(t_eval.shape[0]):
        te = t_eval[i]
        if not (te >= prev) or te > t_end:
            return False
        prev = te
    return True


@njit
def grow_records(t_buf, y_buf, d_buf, n_used):
    """Double the recorded-step buffers, keeping the first ``n_used`` entries."""
    cap = 2 * t_buf.shape[0]
    t2 = np.empty(cap)
    y2 = np.empty((cap, y_buf.shape[1]))
    d2 = np.empty((cap, d_buf.shape[1], d_buf.shape[2]))
    t2[:n_used] = t_buf[:n_used]
    y2[:n_used] = y_buf[:n_used]
    d2[:n_used] = d_buf[:n_used]
    return t2, y2, d2


@njit
def locate(t_steps, t):
    """Index i of the step [t_steps[i], t_steps[i+1]] holding t (clipped)."""
    lo = 0
    hi = t_steps.shape[0] - 1
    if hi <= 0:
        return 0
    if t <= t_steps[0]:
        return 0
    if t >= t_steps[hi]:
        return hi - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if t_steps[mid] <= t:
            lo = mid
        else:
            hi = mid
    return lo


@njit
def start_solve(y0, t0, t_end, t_eval, rtol, atol, record, n_dense):
    """Set-up common to the adaptive drivers.

    A negative ``atol[i]`` marks a component that may change sign (a heat
    integral, say): it is controlled with ``|atol[i]|`` and exempt from the
    non-negativity rule and from ``min_value``.

    ``n_dense`` is the number of interpolation vectors stored per step.

    Returns ``(ok, free, atol_abs, stats, y_eval, t_buf, y_buf, d_buf,
    min_value, ie)``: ``ok`` is False for invalid inputs (then ``y_eval`` is
    all NaN and ``ie`` 0); otherwise the outputs at ``t_eval <= t0`` are
    filled with ``y0`` and ``ie`` is the first one still to do.
    """
    n = y0.shape[0]
    n_eval = t_eval.shape[0]
    stats = np.zeros(N_STATS, dtype=np.int64)
    y_eval = np.full((n_eval, n), np.nan)
    cap = 64 if record else 2
    t_buf = np.empty(cap)
    y_buf = np.empty((cap, n))
    d_buf = np.empty((cap if record else 0, n_dense, n))
    t_buf[0] = t0
    y_buf[0] = y0
    free = atol < 0.0
    atol_abs = np.abs(atol)
    ok = check_inputs(y0, t0, t_end, t_eval, rtol, atol_abs)
    min_value = np.inf
    ie = 0
    if ok:
        for i in range(n):
            if not free[i]:
                min_value = min(min_value, y0[i])
        while ie < n_eval and t_eval[ie] <= t0:
            y_eval[ie, :] = y0
            ie += 1
    return ok, free, atol_abs, stats, y_eval, t_buf, y_buf, d_buf, min_value, ie


@njit(inline="always")
def dense_eval_at(kind, theta, y0, y1, d, index, out):
    """:func:`dense_eval` for the states ``index`` only: ``out[j]`` is state
    ``index[j]``; ``d`` holds the interpolation vectors of those states
    (``d[:, j]`` for state ``index[j]``). Rodas and BDF kinds."""
    if kind == DENSE_BDF:
        s = theta - 1.0
        for j in range(index.shape[0]):
            out[j] = y1[index[j]]
        p = 1.0
        for r in range(d.shape[0]):
            p *= (s + r) / (r + 1.0)
            for j in range(index.shape[0]):
                out[j] += p * d[r, j]
        return
    th1 = 1.0 - theta
    for j in range(index.shape[0]):
        i = index[j]
        out[j] = th1 * y0[i] + theta * (
            y1[i] + th1 * (d[0, j] + theta * (d[1, j] + theta * d[2, j])))


@njit
def dense_eval(kind, theta, y0, y1, d, out):
    """State at ``t + theta h`` of a step from ``y0`` to ``y1`` with the
    interpolation vectors ``d`` of method ``kind``."""
    if kind == DENSE_BDF:
        # y1 + sum_j D_j prod_{m<j} (s + m)/(m + 1), s = theta - 1 in [-1, 0]:
        # the backward-difference form of the polynomial through the last
        # order + 1 points (unused differences are zero)
        s = theta - 1.0
        for i in range(y0.shape[0]):
            out[i] = y1[i]
        p = 1.0
        for j in range(d.shape[0]):
            p *= (s + j) / (j + 1.0)
            for i in range(y0.shape[0]):
                out[i] += p * d[j, i]
        return
    if kind == DENSE_DOP853:
        # y0 + theta (d0 + (1-theta) (d1 + theta (d2 + (1-theta) (d3 + theta
        # (d4 + (1-theta) (d5 + theta d6))))))
        u = 1.0 - theta
        for i in range(y0.shape[0]):
            v = d[6, i] * theta + d[5, i]
            v = v * u + d[4, i]
            v = v * theta + d[3, i]
            v = v * u + d[2, i]
            v = v * theta + d[1, i]
            v = v * u + d[0, i]
            out[i] = y0[i] + v * theta
        return
    th1 = 1.0 - theta
    if kind == DENSE_RODAS:
        for i in range(y0.shape[0]):
            out[i] = th1 * y0[i] + theta * (
                y1[i] + th1 * (d[0, i] + theta * (d[1, i] + theta * d[2, i])))
    else:  # DENSE_DOPRI5: Hairer's contd5
        for i in range(y0.shape[0]):
            out[i] = y0[i] + theta * ((y1[i] - y0[i]) + th1 * (
                d[0, i] + theta * (d[1, i] + th1 * d[2, i])))


@njit(inline="always")
def needs_dense(record, t_eval, ie, t_new):
    """True when an accepted step ending at ``t_new`` needs its interpolation
    vectors: recording, or an output time ``t_eval[ie]`` inside the step."""
    return record or (ie < t_eval.shape[0] and t_eval[ie] <= t_new)


@njit
def store_dense(kind, record, t_eval, ie, t, h, t_new, y, ynew, dcoef, y_eval, t_buf, y_buf,
                d_buf, n_acc):
    """Use the interpolation vectors ``dcoef`` of accepted step ``n_acc``
    (t to t_new): fill the outputs at ``t_eval[ie:]`` inside the step and, when
    recording, store the step (growing the buffers when full). Returns
    ``(ie, t_buf, y_buf, d_buf)``: the next output still to do and the
    (possibly new) buffers."""
    n_eval = t_eval.shape[0]
    while ie < n_eval and t_eval[ie] <= t_new:
        theta = (t_eval[ie] - t) / h
        dense_eval(kind, theta, y, ynew, dcoef, y_eval[ie])
        ie += 1
    if record:
        if n_acc + 2 > t_buf.shape[0]:
            t_buf, y_buf, d_buf = grow_records(t_buf, y_buf, d_buf, n_acc + 1)
        t_buf[n_acc + 1] = t_new
        y_buf[n_acc + 1] = ynew
        d_buf[n_acc] = dcoef
    return ie, t_buf, y_buf, d_buf


@njit
def finish_records(record, t_buf, y_buf, d_buf, n_acc, t0, t, y0, y):
    """``(t_steps, y_steps, dense)`` of a solve: the recorded steps, or just
    the end points (and no dense output) when not recording."""
    if record:
        t_out = t_buf[: n_acc + 1].copy()
        y_out = y_buf[: n_acc + 1].copy()
        d_out = d_buf[:n_acc].copy()
    else:
        n = y0.shape[0]
        t_out = np.empty(2)
        y_out = np.empty((2, n))
        t_out[0] = t0
        t_out[1] = t
        y_out[0] = y0
        y_out[1] = y
        d_out = np.empty((0, d_buf.shape[1], n))
    return t_out, y_out, d_out


@njit
def error_norm(err, y, ynew, rtol, atol):
    """RMS of err_i / (atol_i + rtol max(|y_i|, |ynew_i|))."""
    n = err.shape[0]
    s = 0.0
    for i in range(n):
        sc = atol[i] + rtol * max(abs(y[i]), abs(ynew[i]))
        r = err[i] / sc
        s += r * r
    return np.sqrt(s / max(n, 1))


@njit
def initial_step(code, system, t0, y0, f0, t_end, rtol, atol, order, y1, f1, skip_zero=False):
    """Hairer's starting step (Solving ODEs I, II.4); one f evaluation.

    With ``skip_zero`` the norms leave out the components that start at
    zero (the explicit methods use it). Hairer's guess is the step that
    changes y by 1 % of itself; a product that starts at zero changes by all
    of itself in any step, so with it the guess was the step in which the
    product grows to about its absolute tolerance: DOP853's first six steps
    on an SNAr tube at rtol 1e-6 only grew the step, from 2e-6 of the
    residence time by the controller's factor 6 each."""
    n = y0.shape[0]
    dnf = 0.0
    dny = 0.0
    used = 0
    for i in range(n):
        if skip_zero and y0[i] == 0.0:
            continue
        used += 1
        sk = atol[i] + rtol * abs(y0[i])
        dnf += (f0[i] / sk) ** 2
        dny += (y0[i] / sk) ** 2
    dnf = np.sqrt(dnf / max(used, 1))
    dny = np.sqrt(dny / max(used, 1))
    hmax = t_end - t0
    if dnf <= 1e-10 or dny <= 1e-10:
        h = 1e-6
    else:
        h = 0.01 * dny / dnf
    h = min(h, hmax)
    for i in range(n):
        y1[i] = y0[i] + h * f0[i]
    rhs(code, t0 + h, y1, system, f1)
    der2 = 0.0
    for i in range(n):
        if skip_zero and y0[i] == 0.0:
            continue
        sk = atol[i] + rtol * abs(y0[i])
        der2 += ((f1[i] - f0[i]) / sk) ** 2
    der2 = np.sqrt(der2 / max(used, 1)) / h
    der12 = max(abs(der2), np.sqrt(dnf))
    if not np.isfinite(der12):
        h1 = h * 1e-3
    elif der12 <= 1e-15:
        h1 = max(1e-6, h * 1e-3)
    else:
        h1 = (0.01 / der12) ** (1.0 / order)
    h = min(100.0 * h, h1, hmax)
    if not (h > 0.0):
        h = max(hmax * 1e-6, 1e-300)
    return h


@njit(inline="always")
def start_step(stats, max_steps, h, t, t_end):
    """Checks before a step attempt: ``(status, h, last)``; a status other
    than SUCCESS ends the solve. The step is stretched to end exactly at
    ``t_end`` (``last``) when it would come within 1 % of it."""
    if stats[STAT_STEPS] >= max_steps:
        return MAX_STEPS, h, False
    if h < 16.0 * _EPS * max(abs(t), 1e-300) or not (h > 0.0):
        return STEP_TOO_SMALL, h, False
    if t + 1.01 * h >= t_end:
        return SUCCESS, t_end - t, True
    return SUCCESS, h, False


@njit
def accept_factor(err, lerr_prev, last_rejected):
    """PI step-size factor after an accepted step,
    ``SAFETY err^-PI_ALPHA err_prev^PI_BETA`` as one exp of logs, bounded to
    [FAC_MIN, PI_FAC_MAX] (at most 1 right after a rejection). ``lerr_prev`` is
    the log of the previous accepted error (0 at the start); returns
    ``(fac, lerr_prev)`` for the next step."""
    lerr = np.log(max(err, 1e-10))
    fac = SAFETY * np.exp(PI_BETA * lerr_prev - PI_ALPHA * lerr)
    fac = min(PI_FAC_MAX, max(FAC_MIN, fac))
    if last_rejected:
        fac = min(fac, 1.0)
    return fac, max(lerr, _LOG_ERR_PREV_MIN)


@njit
def reject_factor(err, negative):
    """Step-size factor after a rejected step (error above 1 and/or a
    component below its negative tolerance)."""
    if err > 1.0:
        fac = max(FAC_MIN, SAFETY * err ** (-0.2))
    else:
        fac = 1.0
    if negative:
        fac = min(fac, 0.5)
    return fac


@njit
def interpolate(kind, t_steps, y_steps, dense, t_query):
    """States at ``t_query`` from recorded steps of method ``kind``."""
    nq = t_query.shape[0]
    n = y_steps.shape[1]
    out = np.empty((nq, n))
    n_acc = dense.shape[0]
    for q in range(nq):
        if n_acc == 0:
            out[q, :] = y_steps[0]
            continue
        i = locate(t_steps[: n_acc + 1], t_query[q])
        h = t_steps[i + 1] - t_steps[i]
        theta = (t_query[q] - t_steps[i]) / h
        dense_eval(kind, theta, y_steps[i], y_steps[i + 1], dense[i], out[q])
    return out
