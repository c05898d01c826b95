"""kernels.rosenbrock (Rodas5P), kernels.bdf (variable-order BDF) and
kernels.explicit (DOPRI5) against closed forms, the Bari IVP test set (ROBER,
HIRES) and their own order conditions. The closed-form, dense-output and
failure tests run both stiff integrators; the BDF, whose error is about the
tolerance rather than far below it, at tighter tolerances."""

import numpy as np
import pytest

from kernels import explicit, status
from kernels.bdf import interpolate_bdf, solve_bdf
from kernels.explicit import interpolate_dopri5, solve_dopri5
from kernels.problems import BATCH, CSTR_TRANSIENT, rhs
from kernels.rosenbrock import interpolate_rodas, solve_rodas, solve_rodas_fixed
from kernels.steady import integrate_to_steady
from kernel_models import (
    cstr_params,
    first_order,
    hires_rhs_numpy,
    hires_system,
    load_ivp_reference,
    make_system,
    max_rel_err as _rel_err,
    rober_rhs_numpy,
    rober_system,
    second_order,
)

EMPTY = np.empty(0)
REF = load_ivp_reference()
STIFF = [pytest.param(solve_rodas, 1.0, id="rodas"), pytest.param(solve_bdf, 1e-2, id="bdf")]


# ----------------------------------------------------------- model sanity (vs formulas)
def test_hires_network_matches_testset_formulas():
    """Mass-action HIRES network = f1..f8 of the test set at random states (1e-13 rel)."""
    system = hires_system()
    p = REF["hires"]["parameters"]
    rng = np.random.default_rng(1)
    for _ in range(5):
        y = rng.uniform(0.0, 1.0, 8)
        f = np.empty(8)
        rhs(BATCH, 0.0, y, system, f)
        ref = hires_rhs_numpy(y, p)
        np.testing.assert_allclose(f, ref, rtol=1e-13, atol=1e-13 * np.max(np.abs(ref)))


def test_rober_network_matches_formulas():
    system = rober_system()
    y = np.array([0.7, 2e-5, 0.3])
    f = np.empty(3)
    rhs(BATCH, 0.0, y, system, f)
    np.testing.assert_allclose(f, rober_rhs_numpy(y), rtol=1e-13, atol=1e-20)


# ----------------------------------------------------------- reference problems
def test_rober_to_1e11_against_testset():
    """rtol 1e-8, atol [1e-12, 1e-16, 1e-12] (y2 peaks at 3.6e-5): every component
    within 1e-5 relative of the RADAU reference (brief asks 1e-4; measured 2.6e-6,
    on y1 = 2.1e-8, whose absolute error 5e-14 is far below its atol)."""
    ref = REF["rober"]
    atol = np.array([1e-12, 1e-16, 1e-12])
    st, ts, ys, dense, ye, stats, min_value = solve_rodas(
        BATCH, rober_system(), np.array(ref["y0"]), 0.0, ref["t_end"], EMPTY,
        1e-8, atol, 0.0, 100000, False)
    assert st == status.SUCCESS
    assert ts[-1] == ref["t_end"]
    assert _rel_err(ys[-1], ref["y_end"]) < 1e-5
    # non-negativity rule: no accepted state below -(atol_i + rtol |y_i|), |y_i| <= 1
    assert min_value >= -(atol.max() + 1e-8)
    # statistics bookkeeping (exact identities)
    assert stats[status.STAT_STEPS] == stats[status.STAT_ACCEPTED] + stats[status.STAT_REJECTED]
    assert stats[status.STAT_LU_FACTORS] == stats[status.STAT_STEPS]
    # one Jacobian per step, reused by retries
    assert stats[status.STAT_JAC_EVALS] <= stats[status.STAT_ACCEPTED] + 1


def test_rober_default_tolerance_nonnegativity():
    """rtol 1e-6: 1e-4 relative on every component, min_value >= -(margin)."""
    ref = REF["rober"]
    atol = np.array([1e-10, 1e-14, 1e-10])
    st, ts, ys, _, _, _, min_value = solve_rodas(
        BATCH, rober_system(), np.array(ref["y0"]), 0.0, ref["t_end"], EMPTY,
        1e-6, atol, 0.0, 100000, False)
    assert st == status.SUCCESS
    assert _rel_err(ys[-1], ref["y_end"]) < 1e-4
    assert min_value >= -(atol.max() + 1e-6)


def test_hires_against_testset():
    """rtol 1e-8, atol 1e-12 (smallest reference component 5.9e-5): every component
    within 1e-6 relative of the reference (measured 8e-10)."""
    ref = REF["hires"]
    st, ts, ys, _, _, stats, _ = solve_rodas(
        BATCH, hires_system(), np.array(ref["y0"]), 0.0, ref["t_end"], EMPTY,
        1e-8, np.full(8, 1e-12), 0.0, 100000, False)
    assert st == status.SUCCESS
    assert _rel_err(ys[-1], ref["y_end"]) < 1e-6


# ----------------------------------------------------------- closed forms
@pytest.mark.parametrize("solve,tol_scale", STIFF)
@pytest.mark.parametrize("system_fn,exact", [
    (first_order, lambda t: np.exp(-2.0 * t)),
    (second_order, lambda t: 1.0 / (1.0 + t)),
])
def test_closed_forms_with_t_eval(system_fn, exact, solve, tol_scale):
    """Rodas5P at rtol 1e-6, atol 1e-12 (the BDF at 1e-8, 1e-14): A at t_eval
    (dense output) and at t_end within 1e-6 relative of the exact solution; B
    from the mass balance likewise."""
    t_eval = np.array([0.0, 0.1, 0.37, 1.0, 2.5, 3.0])
    st, ts, ys, _, ye, stats, _ = solve(
        BATCH, system_fn(), np.array([1.0, 0.0]), 0.0, 3.0, t_eval, 1e-6 * tol_scale,
        np.full(2, 1e-12 * tol_scale), 0.0, 100000, False)
    assert st == status.SUCCESS
    a = exact(t_eval)
    np.testing.assert_allclose(ye[:, 0], a, rtol=1e-6, atol=0)
    assert abs(ys[-1, 0] / exact(3.0) - 1) < 1e-6
    # B: first order A -> B: B = 1 - A; 2A -> B: B = (1 - A)/2
    b = (1 - a) if system_fn is first_order else (1 - a) / 2
    np.testing.assert_allclose(ye[1:, 1], b[1:], rtol=1e-6)


@pytest.mark.parametrize("solve,interpolate,width,rtol,step_tol", [
    pytest.param(solve_rodas, interpolate_rodas, 3, 1e-8, 1e-15, id="rodas"),
    pytest.param(solve_bdf, interpolate_bdf, 5, 1e-10, 1e-13, id="bdf"),
])
def test_dense_output_between_steps(solve, interpolate, width, rtol, step_tol):
    """record=True, 400 points between steps, 2A -> B at rtol 1e-8 (BDF 1e-10):
    interpolant within 1e-7 relative of the exact solution; t_eval output equals
    the interpolant of the recorded steps (1e-15), which reproduces the steps."""
    tq = np.linspace(0.0, 5.0, 400)
    st, ts, ys, dense, ye, _, _ = solve(
        BATCH, second_order(), np.array([1.0, 0.0]), 0.0, 5.0, tq, rtol,
        np.full(2, 1e-14 * rtol / 1e-8), 0.0, 100000, True)
    assert st == status.SUCCESS
    assert dense.shape == (ts.shape[0] - 1, width, 2)
    yi = interpolate(ts, ys, dense, tq)
    np.testing.assert_allclose(yi[:, 0], 1.0 / (1.0 + tq), rtol=1e-7)
    np.testing.assert_allclose(ye, yi, rtol=1e-15, atol=1e-15)
    # at the step points the interpolant reproduces the steps
    np.testing.assert_allclose(interpolate(ts, ys, dense, ts), ys, rtol=step_tol, atol=1e-15)


@pytest.mark.parametrize("solve,tol_scale", STIFF)
def test_fractional_order_below_one_runs_to_extinction(solve, tol_scale):
    """A^0.5 -> B, k = 1 (not in slot form: the general rates, Jacobian and dense
    LU): A = (1 - t/2)^2 for t < 2, then 0 (infinite Jacobian at A=0 is
    floored). Solve converges; A(1) = 0.25 within 1e-6 rel; |A(3)| <= 1e-8."""
    rtol, atol = 1e-7 * tol_scale, 1e-10 * tol_scale
    system = make_system([{"reactants": {0: 0.5}, "net": {0: -1, 1: 1}, "k": 1.0}], 2)
    st, ts, ys, _, ye, _, min_value = solve(
        BATCH, system, np.array([1.0, 0.0]), 0.0, 3.0, np.array([1.0]), rtol,
        np.full(2, atol), 0.0, 100000, False)
    assert st == status.SUCCESS
    assert abs(ye[0, 0] / 0.25 - 1) < 1e-6
    assert abs(ys[-1, 0]) <= 1e-8
    assert min_value >= -(atol + rtol)


@pytest.mark.parametrize("solve,tol_scale", STIFF)
def test_cstr_transient_relaxes_to_closed_form(solve, tol_scale):
    """A -> B (k) in a CSTR (tau, c_in = [1, 0]) from empty: A(t) = A_ss (1 - exp(-(1/tau + k) t)),
    A + B = 1 - exp(-t/tau), A_ss = 1/(1 + k tau). 1e-7 relative at rtol 1e-9
    (BDF 1e-11)."""
    k, tau = 0.7, 2.0
    system = make_system([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k}], 2,
                         code=CSTR_TRANSIENT, params=cstr_params(tau, [1.0, 0.0]))
    t_eval = np.array([0.5, 2.0, 10.0, 60.0])
    st, _, ys, _, ye, _, _ = solve(
        CSTR_TRANSIENT, system, np.zeros(2), 0.0, 60.0, t_eval, 1e-9 * tol_scale,
        np.full(2, 1e-14 * tol_scale), 0.0, 100000, False)
    assert st == status.SUCCESS
    a_ss = 1.0 / (1.0 + k * tau)
    np.testing.assert_allclose(ye[:, 0], a_ss * (1 - np.exp(-(1 / tau + k) * t_eval)), rtol=1e-7)
    np.testing.assert_allclose(ye.sum(axis=1), 1 - np.exp(-t_eval / tau), rtol=1e-7)
    np.testing.assert_allclose(ys[-1], [a_ss, 1 - a_ss], rtol=1e-7)


def test_integrate_to_steady_second_order_cstr():
    """2A -> B (k) in a CSTR: A_ss = (-1 + sqrt(1 + 8 k tau c_in)) / (4 k tau),
    reached by pseudo-transient continuation to 1e-8 relative."""
    k, tau, c_in = 3.0, 5.0, 2.0
    system = make_system([{"reactants": {0: 2}, "net": {0: -2, 1: 1}, "k": k}], 2,
                         code=CSTR_TRANSIENT, params=cstr_params(tau, [c_in, 0.0]))
    st, y, t_reached, stats = integrate_to_steady(
        CSTR_TRANSIENT, system, np.array([c_in, 0.0]), 1e-10, np.full(2, 1e-14), 1e6, 1e-6)
    assert st == status.SUCCESS
    a_ss = (-1 + np.sqrt(1 + 8 * k * tau * c_in)) / (4 * k * tau)
    assert abs(y[0] / a_ss - 1) < 1e-8
    assert abs(y[1] / ((c_in - a_ss) / 2) - 1) < 1e-8
    assert 0 < t_reached < 1e6
    # the same problem with too short a horizon must say so
    st2, _, t2, _ = integrate_to_steady(
        CSTR_TRANSIENT, system, np.array([c_in, 0.0]), 1e-10, np.full(2, 1e-14), 1.0, 1e-6)
    assert st2 == status.STEADY_NOT_REACHED and t2 == 1.0


# ----------------------------------------------------------- order verification
def test_rodas5p_convergence_order_is_five():
    """Fixed steps on the nonlinear 2A -> B (exact A = 1/(1+t)), N = 16, 32, 64 on [0, 1]:
    observed order log2(e_N / e_2N) within [4.7, 5.3] (method order 5)."""
    exact = 1.0 / 2.0
    errs = []
    for n in (16, 32, 64):
        st, _, ys, _, _ = solve_rodas_fixed(BATCH, second_order(), np.array([1.0, 0.0]), 0.0, 1.0, n)
        assert st == status.SUCCESS
        errs.append(abs(ys[-1, 0] - exact))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all((orders > 4.7) & (orders < 5.3)), orders


def test_rodas5p_dense_output_and_error_estimate_orders():
    """One step of size h from the exact state (2A -> B): the dense output at theta = 0.5
    has local error O(h^5) (interpolant order 4) and the embedded estimate k8 is O(h^5)
    (embedded order 4): observed orders between h = 0.1 and 0.05 in [4.5, 5.5]."""
    exact = lambda t: 1.0 / (1.0 + t)
    e_dense, e_est = [], []
    for h in (0.1, 0.05, 0.025):
        st, ts, ys, dense, est = solve_rodas_fixed(BATCH, second_order(), np.array([1.0, 0.0]), 0.0, h, 1)
        yi = interpolate_rodas(ts, ys, dense, np.array([0.5 * h]))
        e_dense.append(abs(yi[0, 0] - exact(0.5 * h)))
        e_est.append(abs(est[0, 0]))
    for e in (e_dense, e_est):
        orders = np.log2(np.array(e[:-1]) / np.array(e[1:]))
        assert np.all((orders > 4.5) & (orders < 5.5)), orders


def _dp5_order_conditions():
    c = np.array([0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1])
    A = np.zeros((7, 7))
    A[1, 0] = explicit.A21
    A[2, :2] = [explicit.A31, explicit.A32]
    A[3, :3] = [explicit.A41, explicit.A42, explicit.A43]
    A[4, :4] = [explicit.A51, explicit.A52, explicit.A53, explicit.A54]
    A[5, :5] = [explicit.A61, explicit.A62, explicit.A63, explicit.A64, explicit.A65]
    b = np.array([explicit.B1, 0, explicit.B3, explicit.B4, explicit.B5, explicit.B6, 0])
    A[6] = b
    e = np.array([explicit.E1, 0, explicit.E3, explicit.E4, explicit.E5, explicit.E6, explicit.E7])
    return c, A, b, b - e


def _rk_conditions(A, b, c, order):
    """Residuals of the Butcher order conditions up to ``order`` (<= 5)."""
    Ac = A @ c
    cond = [(b.sum(), 1), (b @ c, 1 / 2), (b @ c**2, 1 / 3), (b @ Ac, 1 / 6),
            (b @ c**3, 1 / 4), (b @ (c * Ac), 1 / 8), (b @ (A @ c**2), 1 / 12), (b @ (A @ Ac), 1 / 24)]
    if order >= 5:
        cond += [(b @ c**4, 1 / 5), (b @ (c**2 * Ac), 1 / 10), (b @ (c * (A @ c**2)), 1 / 15),
                 (b @ (c * (A @ Ac)), 1 / 30), (b @ (Ac * Ac), 1 / 20), (b @ (A @ c**3), 1 / 20),
                 (b @ (A @ (c * Ac)), 1 / 40), (b @ (A @ (A @ c**2)), 1 / 60),
                 (b @ (A @ (A @ Ac)), 1 / 120)]
    return np.array([v - r for v, r in cond])


def test_dopri5_tableau_order_conditions():
    """Butcher conditions: order 5 for b, order 4 for the embedded b_hat (1e-14 abs),
    row sums equal c (1e-15), and b_hat really differs (not order 5)."""
    c, A, b, bhat = _dp5_order_conditions()
    np.testing.assert_allclose(A.sum(axis=1), c, atol=1e-15)
    assert np.max(np.abs(_rk_conditions(A, b, c, 5))) < 1e-14
    assert np.max(np.abs(_rk_conditions(A, bhat, c, 4))) < 1e-14
    assert np.max(np.abs(_rk_conditions(A, bhat, c, 5))) > 1e-6


# ----------------------------------------------------------- DOPRI5
@pytest.mark.parametrize("system_fn,exact", [
    (first_order, lambda t: np.exp(-2.0 * t)),
    (second_order, lambda t: 1.0 / (1.0 + t)),
])
def test_dopri5_closed_forms_and_dense_output(system_fn, exact):
    """rtol 1e-8, atol 1e-14: end value within 1e-7 rel, interpolant at 300 points within
    1e-7 rel, t_eval output identical to interpolate_dopri5 (1e-15)."""
    tq = np.linspace(0.0, 3.0, 300)
    st, ts, ys, dense, ye, stats, _ = solve_dopri5(
        BATCH, system_fn(), np.array([1.0, 0.0]), 0.0, 3.0, tq, 1e-8,
        np.full(2, 1e-14), 0.0, 100000, True)
    assert st == status.SUCCESS
    assert stats[status.STAT_JAC_EVALS] == 0 and stats[status.STAT_LU_FACTORS] == 0
    assert abs(ys[-1, 0] / exact(3.0) - 1) < 1e-7
    yi = interpolate_dopri5(ts, ys, dense, tq)
    np.testing.assert_allclose(yi[:, 0], exact(tq), rtol=1e-7)
    np.testing.assert_allclose(ye, yi, rtol=1e-15, atol=1e-15)


def test_dopri5_dense_output_order():
    """One step of size h from the exact state: dense output at theta = 0.5 has local
    error O(h^5) (continuous extension of order 4): observed orders in [4.5, 5.5]."""
    exact = lambda t: 1.0 / (1.0 + t)
    errs = []
    for h in (0.2, 0.1, 0.05):
        # a single accepted step: loose tolerance, h0 = h = t_end
        st, ts, ys, dense, ye, stats, _ = solve_dopri5(
            BATCH, second_order(), np.array([1.0, 0.0]), 0.0, h, np.array([0.5 * h]),
            1e3, np.full(2, 1e3), h, 10, True)
        assert st == status.SUCCESS and stats[status.STAT_ACCEPTED] == 1
        errs.append(abs(ye[0, 0] - exact(0.5 * h)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all((orders > 4.5) & (orders < 5.5)), orders


def test_dopri5_detects_stiffness_on_rober():
    """ROBER is stiff from t ~ 1e-3 on: DOPRI5 returns STIFF_DETECTED long before
    t_end and well within max_steps (measured: 58 steps, t = 0.04)."""
    ref = REF["rober"]
    st, ts, ys, _, _, stats, _ = solve_dopri5(
        BATCH, rober_system(), np.array(ref["y0"]), 0.0, ref["t_end"], EMPTY,
        1e-6, np.array([1e-10, 1e-14, 1e-10]), 0.0, 1000000, False)
    assert st == status.STIFF_DETECTED
    assert stats[status.STAT_STEPS] < 1000
    assert ts[-1] < 1.0
    assert status.MESSAGES[st]


# ----------------------------------------------------------- failures
def test_max_steps_failure_returns_status_and_partial_arrays():
    """max_steps = 5 on ROBER: status MAX_STEPS, 5 attempts, arrays end before t_end."""
    ref = REF["rober"]
    for solver in (solve_rodas, solve_bdf, solve_dopri5):
        st, ts, ys, dense, _, stats, _ = solver(
            BATCH, rober_system(), np.array(ref["y0"]), 0.0, ref["t_end"], EMPTY,
            1e-6, np.full(3, 1e-10), 0.0, 5, True)
        assert st == status.MAX_STEPS
        assert stats[status.STAT_STEPS] == 5
        assert ts.shape[0] == stats[status.STAT_ACCEPTED] + 1 and ts[-1] < ref["t_end"]
        assert ys.shape == (ts.shape[0], 3)


def test_invalid_input_and_nonfinite_status():
    """Negative rtol / NaN state -> INVALID_INPUT; every status code has a message."""
    sysA = first_order()
    for solver in (solve_rodas, solve_bdf, solve_dopri5):
        st = solver(BATCH, sysA, np.array([1.0, 0.0]), 0.0, 1.0, EMPTY, -1.0,
                    np.full(2, 1e-10), 0.0, 100, False)[0]
        assert st == status.INVALID_INPUT
        st = solver(BATCH, sysA, np.array([np.nan, 0.0]), 0.0, 1.0, EMPTY, 1e-6,
                    np.full(2, 1e-10), 0.0, 100, False)[0]
        assert st == status.INVALID_INPUT
    codes = [status.SUCCESS, status.MAX_STEPS, status.STEP_TOO_SMALL, status.NON_FINITE,
             status.SINGULAR_MATRIX, status.STIFF_DETECTED, status.STEADY_NOT_REACHED,
             status.INVALID_INPUT, status.NEWTON_FAILED]
    assert len(set(codes)) == len(codes)
    assert all(isinstance(status.MESSAGES[c], str) and status.MESSAGES[c] for c in codes)


def test_blow_up_reports_failure_not_a_wrong_answer():
    """2A -> 3A (autocatalytic, dA/dt = k A^2) blows up at t = 1/(k A0) = 1: a solve to
    t = 2 must fail (non-zero status), never report success."""
    system = make_system([{"reactants": {0: 2}, "net": {0: 1}, "k": 1.0}], 1)
    for solver in (solve_rodas, solve_bdf, solve_dopri5):
        st, ts, ys, _, _, _, _ = solver(BATCH, system, np.array([1.0]), 0.0, 2.0, EMPTY,
                                        1e-6, np.full(1, 1e-10), 0.0, 100000, False)
        assert st in (status.STEP_TOO_SMALL, status.NON_FINITE, status.MAX_STEPS)
        assert ts[-1] < 1.0 + 1e-6
