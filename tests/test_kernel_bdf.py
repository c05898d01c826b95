"""kernels.bdf (variable-order NDF/BDF) against the IVP test set, closed forms,
an independent quadrature of an adiabatic batch, and its own contract
(dense output, statistics, non-negativity, failure statuses)."""

import numpy as np
import pytest
from scipy.integrate import quad

import flowchem as fc
from kernels import status
from kernels.bdf import interpolate_bdf, solve_bdf
from kernels.problems import BATCH, BATCH_ENERGY, CSTR_TRANSIENT
from kernels.rosenbrock import solve_rodas
from kernel_models import cstr_params, hires_system, load_ivp_reference, make_system, rober_system

EMPTY = np.empty(0)
REF = load_ivp_reference()


def first_order(k=2.0):
    return make_system([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k}], 2)


def second_order(k=0.5):
    """2A -> B, rate k A^2: A = A0 / (1 + 2 k A0 t)."""
    return make_system([{"reactants": {0: 2}, "net": {0: -2, 1: 1}, "k": k}], 2)


def _rel_err(y, y_ref):
    return np.max(np.abs(np.asarray(y) / np.asarray(y_ref) - 1.0))


# ----------------------------------------------------------- reference problems
@pytest.mark.parametrize("rtol,atol,bound", [
    (1e-8, [1e-12, 1e-16, 1e-12], 1e-4),
    (1e-10, [1e-16, 1e-20, 1e-16], 1e-6),
])
def test_rober_to_1e11_against_testset(rtol, atol, bound):
    """ROBER to t = 1e11: every component within ``bound`` relative of the RADAU
    reference (issue: 1e-4; measured 3.9e-5 and 4.4e-8; y1 = 2e-8 at the end, so
    its error is set by atol: the BDF's error is about the tolerance, Rodas5P's
    far below). No accepted state below -(atol + rtol); the Jacobian reused
    across steps (at most one per 20 steps)."""
    ref = REF["rober"]
    atol = np.array(atol)
    st, ts, ys, _, _, stats, min_value = solve_bdf(
        BATCH, rober_system(), np.array(ref["y0"]), 0.0, ref["t_end"], EMPTY,
        rtol, atol, 0.0, 100000, False)
    assert st == status.SUCCESS
    assert ts[-1] == ref["t_end"]
    assert _rel_err(ys[-1], ref["y_end"]) < bound
    assert min_value >= -(atol.max() + rtol)
    assert stats[0] == stats[1] + stats[2]
    assert stats[4] * 20 <= stats[1]
    assert stats[5] <= stats[0]


@pytest.mark.parametrize("rtol,bound", [(1e-6, 1e-4), (1e-8, 1e-6), (1e-10, 1e-8)])
def test_hires_against_testset(rtol, bound):
    """HIRES at rtol 1e-6 / 1e-8 / 1e-10 (atol 1e-4 rtol): every component within
    100 rtol of the reference (measured 1e-5, 9e-8, 1.4e-9), so the error falls
    with the tolerance."""
    ref = REF["hires"]
    st, ts, ys, _, _, stats, _ = solve_bdf(
        BATCH, hires_system(), np.array(ref["y0"]), 0.0, ref["t_end"], EMPTY,
        rtol, np.full(8, 1e-4 * rtol), 0.0, 100000, False)
    assert st == status.SUCCESS
    assert _rel_err(ys[-1], ref["y_end"]) < bound


# ----------------------------------------------------------- closed forms
@pytest.mark.parametrize("system_fn,exact", [
    (first_order, lambda t: np.exp(-2.0 * t)),
    (second_order, lambda t: 1.0 / (1.0 + t)),
])
def test_closed_forms_with_t_eval(system_fn, exact):
    """rtol 1e-9, atol 1e-14: A at t_eval (from the BDF interpolant) and at t_end
    within 1e-6 relative of the exact solution; B from the mass balance likewise."""
    t_eval = np.array([0.0, 0.1, 0.37, 1.0, 2.5, 3.0])
    st, ts, ys, _, ye, _, _ = solve_bdf(
        BATCH, system_fn(), np.array([1.0, 0.0]), 0.0, 3.0, t_eval, 1e-9,
        np.full(2, 1e-14), 0.0, 100000, False)
    assert st == status.SUCCESS
    a = exact(t_eval)
    np.testing.assert_allclose(ye[:, 0], a, rtol=1e-6, atol=0)
    assert abs(ys[-1, 0] / exact(3.0) - 1) < 1e-6
    b = (1 - a) if system_fn is first_order else (1 - a) / 2
    np.testing.assert_allclose(ye[1:, 1], b[1:], rtol=1e-6)


def test_dense_output_between_steps():
    """record=True, 400 points, 2A -> B at rtol 1e-10: the interpolant is within
    1e-7 relative of the exact solution everywhere, equals the t_eval outputs
    (1e-15) and reproduces the accepted steps."""
    tq = np.linspace(0.0, 5.0, 400)
    st, ts, ys, dense, ye, _, _ = solve_bdf(
        BATCH, second_order(), np.array([1.0, 0.0]), 0.0, 5.0, tq, 1e-10,
        np.full(2, 1e-15), 0.0, 100000, True)
    assert st == status.SUCCESS
    assert dense.shape == (ts.shape[0] - 1, 5, 2)
    yi = interpolate_bdf(ts, ys, dense, tq)
    np.testing.assert_allclose(yi[:, 0], 1.0 / (1.0 + tq), rtol=1e-7)
    np.testing.assert_allclose(ye, yi, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(interpolate_bdf(ts, ys, dense, ts), ys, rtol=1e-13, atol=1e-15)


def test_fractional_order_general_path():
    """A^0.5 -> B (not in slot form: the general rates, Jacobian and dense LU):
    A = (1 - t/2)^2 for t < 2, then 0. A(1) = 0.25 within 1e-6 relative and
    |A(3)| <= 1e-8."""
    system = make_system([{"reactants": {0: 0.5}, "net": {0: -1, 1: 1}, "k": 1.0}], 2)
    st, ts, ys, _, ye, _, min_value = solve_bdf(
        BATCH, system, np.array([1.0, 0.0]), 0.0, 3.0, np.array([1.0]), 1e-9,
        np.full(2, 1e-12), 0.0, 100000, False)
    assert st == status.SUCCESS
    assert abs(ye[0, 0] / 0.25 - 1) < 1e-6
    assert abs(ys[-1, 0]) <= 1e-8
    assert min_value >= -(1e-12 + 1e-9)


def test_cstr_transient_closed_form():
    """A -> B in a CSTR from empty: A(t) = A_ss (1 - exp(-(1/tau + k) t)); 1e-7
    relative at rtol 1e-10."""
    k, tau = 0.7, 2.0
    system = make_system([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k}], 2,
                         code=CSTR_TRANSIENT, params=cstr_params(tau, [1.0, 0.0]))
    t_eval = np.array([0.5, 2.0, 10.0, 60.0])
    st, _, ys, _, ye, _, _ = solve_bdf(
        CSTR_TRANSIENT, system, np.zeros(2), 0.0, 60.0, t_eval, 1e-10,
        np.full(2, 1e-15), 0.0, 100000, False)
    assert st == status.SUCCESS
    a_ss = 1.0 / (1.0 + k * tau)
    np.testing.assert_allclose(ye[:, 0], a_ss * (1 - np.exp(-(1 / tau + k) * t_eval)), rtol=1e-7)
    np.testing.assert_allclose(ye.sum(axis=1), 1 - np.exp(-t_eval / tau), rtol=1e-7)


def test_adiabatic_batch_against_quadrature():
    """A -> B, Arrhenius, adiabatic (T = T0 + dT_ad X): the time to conversion X
    is t(X) = int_0^X dx / (k(T0 + dT_ad x) (1 - x)), computed by scipy.quad.
    Integrating to t(0.9) gives X = 0.9 within 1e-6 and T = T0 + 0.9 dT_ad
    within 1e-6 K (rtol 1e-10)."""
    lnA, Ea_R, T0, dT_ad = np.log(1e8), 8000.0, 300.0, 60.0
    rx = [{"reactants": {0: 1}, "net": {0: -1, 1: 1, 2: dT_ad}, "fwd": (lnA, 0.0, Ea_R)}]
    model_sys = make_system(rx, 3, code=BATCH_ENERGY, params=np.zeros(6), T=T0)
    system = model_sys[:5] + (np.zeros(2),)  # two work entries per reaction
    k = lambda T: np.exp(lnA - Ea_R / T)
    t_90, _ = quad(lambda x: 1.0 / (k(T0 + dT_ad * x) * (1.0 - x)), 0.0, 0.9,
                   epsabs=0, epsrel=1e-13)
    st, _, ys, _, _, _, _ = solve_bdf(
        BATCH_ENERGY, system, np.array([1.0, 0.0, T0]), 0.0, t_90, EMPTY, 1e-10,
        np.array([1e-14, 1e-14, 1e-10]), 0.0, 100000, False)
    assert st == status.SUCCESS
    assert abs((1.0 - ys[-1, 0]) - 0.9) < 1e-6
    assert abs(ys[-1, 2] - (T0 + 0.9 * dT_ad)) < 1e-6


def test_agrees_with_rodas_on_hires():
    """HIRES to t = 321.8122 at rtol 1e-11 with both stiff kernels: they agree to
    1e-8 relative (two independent methods)."""
    ref = REF["hires"]
    args = (BATCH, hires_system(), np.array(ref["y0"]), 0.0, ref["t_end"], EMPTY, 1e-11,
            np.full(8, 1e-16), 0.0, 1000000, False)
    a = solve_bdf(*args)
    b = solve_rodas(*args)
    assert a[0] == status.SUCCESS and b[0] == status.SUCCESS
    assert _rel_err(a[2][-1], b[2][-1]) < 1e-8


# ----------------------------------------------------------- failures
def test_max_steps_and_invalid_input():
    """max_steps = 5 on ROBER -> MAX_STEPS after 5 attempts with the partial arrays;
    negative rtol or a NaN state -> INVALID_INPUT."""
    ref = REF["rober"]
    st, ts, ys, _, _, stats, _ = solve_bdf(
        BATCH, rober_system(), np.array(ref["y0"]), 0.0, ref["t_end"], EMPTY,
        1e-6, np.full(3, 1e-10), 0.0, 5, True)
    assert st == status.MAX_STEPS
    assert stats[0] == 5
    assert ts.shape[0] == stats[1] + 1 and ts[-1] < ref["t_end"]
    sysA = first_order()
    assert solve_bdf(BATCH, sysA, np.array([1.0, 0.0]), 0.0, 1.0, EMPTY, -1.0,
                     np.full(2, 1e-10), 0.0, 100, False)[0] == status.INVALID_INPUT
    assert solve_bdf(BATCH, sysA, np.array([np.nan, 0.0]), 0.0, 1.0, EMPTY, 1e-6,
                     np.full(2, 1e-10), 0.0, 100, False)[0] == status.INVALID_INPUT


def test_blow_up_reports_failure_not_a_wrong_answer():
    """dA/dt = A^2 blows up at t = 1: a solve to t = 2 fails with a non-zero status."""
    system = make_system([{"reactants": {0: 2}, "net": {0: 1}, "k": 1.0}], 1)
    st, ts, _, _, _, _, _ = solve_bdf(BATCH, system, np.array([1.0]), 0.0, 2.0, EMPTY,
                                      1e-6, np.full(1, 1e-10), 0.0, 100000, False)
    assert st in (status.STEP_TOO_SMALL, status.NON_FINITE, status.MAX_STEPS)
    assert ts[-1] < 1.0 + 1e-6


# ----------------------------------------------------------- through flowchem
def _ab_mechanism(k=0.2):
    return fc.Mechanism(species=[fc.Species("A"), fc.Species("B")],
                        reactions=[fc.Reaction.from_equation("A => B", rate={"k": k})])


@pytest.mark.parametrize("method", ["bdf", "auto"])
def test_pfr_with_bdf_matches_closed_form(method):
    """First-order PFR, tau = 10 s, k = 0.2 1/s with method bdf / auto (auto
    picks bdf at rtol 1e-9): outlet A = c0 exp(-k tau) within 1e-6 relative,
    and the profile at residence times between the steps, interpolated by the
    BDF polynomial, within 1e-6."""
    options = fc.SolverOptions(rtol=1e-9, method=method)
    assert options.integrator(2) == "bdf"
    mech = _ab_mechanism()
    feed = fc.Stream(mech, flow="6 mL/min", T="25 degC", conc={"A": "1 mol/L"})
    res = fc.PFR(volume="1 mL", options=options).run(feed)
    assert res.residence_time == pytest.approx(10.0, rel=1e-12)
    assert res.solution.method == "bdf"
    assert res.outlet["A"] == pytest.approx(1000.0 * np.exp(-2.0), rel=1e-6)
    tau = np.linspace(0.0, 10.0, 7)
    np.testing.assert_allclose(res.at(tau)[:, 0], 1000.0 * np.exp(-0.2 * tau), rtol=1e-6)


def test_auto_method_rule_and_bad_method():
    """auto resolves by tolerance and size (rodas at rtol >= 5e-7 below 40
    states, bdf otherwise); an unknown method is an InputError naming the
    choices."""
    assert fc.SolverOptions(rtol=1e-4, method="auto").integrator(20) == "rodas"
    assert fc.SolverOptions(rtol=1e-6, method="auto").integrator(39) == "rodas"
    assert fc.SolverOptions(rtol=1e-7, method="auto").integrator(3) == "bdf"
    assert fc.SolverOptions(rtol=1e-4, method="auto").integrator(53) == "bdf"
    assert fc.SolverOptions(rtol=1e-6).integrator(53) == "rodas"
    with pytest.raises(fc.InputError, match="bdf"):
        fc.SolverOptions(method="lsoda")
