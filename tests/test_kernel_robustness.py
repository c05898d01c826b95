"""No kernel raises: extreme but valid inputs end in a status code, and a
status of 0 comes with finite, non-negative results.

Hypothesis draws mechanisms with rate constants from 1e-300 to 1e300,
activation energies up to 2 MJ/mol, temperature rises per extent up to
1e3 K m^3/mol, concentrations from 0 to 1e6 mol/m^3, residence times and time
spans from 1e-12 to 1e12 s, integer and fractional orders (the slot-form and
the general paths), and drives every integrator (Rodas5P, BDF, DOPRI5), the
tank Newton solver with its pseudo-transient continuation, and the
axial-dispersion solver directly, for every problem code. The reference is
the contract of kernels.status: an exception, an unknown status, or a
"success" with a non-finite or negative (beyond the solver's tolerance)
result fails the test.

The suite runs a fixed (derandomized) set of 40 examples per test; setting
FLOWCHEM_ROBUSTNESS_EXAMPLES=N runs N fresh random examples instead, to search.
"""

import math
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels import status as ks
from kernels.bdf import solve_bdf
from kernels.dispersion import graded_grid, solve_dispersion
from kernels.explicit import solve_dopri5
from kernels.problems import BATCH, BATCH_ENERGY, CSTR_ENERGY, CSTR_TRANSIENT
from kernels.rosenbrock import solve_rodas
from kernels.steady import integrate_to_steady, newton_cstr, solve_cstr_cascade
from kernel_models import problem_system

SEARCH = os.environ.get("FLOWCHEM_ROBUSTNESS_EXAMPLES")
SETTINGS = settings(max_examples=int(SEARCH) if SEARCH else 40, deadline=None,
                    derandomize=not SEARCH,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

LN_K = math.log(1e300)              # |ln A| or |ln K| up to 1e300
EA_OVER_R = 2.0e6 / 8.314462618     # 2 MJ/mol
MAX_STEPS = 3000

INTEGRATOR_CODES = {ks.SUCCESS, ks.MAX_STEPS, ks.STEP_TOO_SMALL, ks.NON_FINITE,
                    ks.SINGULAR_MATRIX, ks.NEWTON_FAILED, ks.STIFF_DETECTED}
STEADY_CODES = {ks.SUCCESS, ks.MAX_STEPS, ks.STEP_TOO_SMALL, ks.NON_FINITE,
                ks.SINGULAR_MATRIX, ks.STEADY_NOT_REACHED, ks.STEADY_DIVERGED,
                ks.STEADY_NOT_CONVERGED,
                ks.STEADY_SINGULAR, ks.STEADY_NONFINITE}
DISPERSION_CODES = {ks.SUCCESS, ks.DISP_NOT_CONVERGED, ks.DISP_SINGULAR, ks.DISP_NEGATIVE,
                    ks.DISP_NONFINITE}


def log_uniform(lo, hi):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0 ** e)


concentrations = st.one_of(st.just(0.0), log_uniform(1e-30, 1e6))


@st.composite
def reactions(draw, n_species, temperature_index):
    """Kernel-layout reactions (kernel_models.make_model) with extreme rates."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        reactants = {}
        for _ in range(draw(st.integers(0, 3))):
            i = draw(st.integers(0, n_species - 1))
            reactants[i] = draw(st.sampled_from([1.0, 2.0, 3.0, 0.5, 1.5, 4.0]))
        net = {draw(st.integers(0, n_species - 1)): float(draw(st.integers(-3, 3)))
               for _ in range(draw(st.integers(1, 3)))}
        if temperature_index is not None:
            net[temperature_index] = draw(st.sampled_from([-1.0, 1.0])) * draw(
                log_uniform(1e-6, 1e3))
        rx = {"reactants": reactants, "net": net,
              "fwd": (draw(st.floats(-LN_K, LN_K)), draw(st.floats(-3.0, 3.0)),
                      draw(st.floats(0.0, EA_OVER_R)))}
        kind = draw(st.sampled_from([0, 0, 1, 2]))
        if kind:
            rx["rev_kind"] = kind
            rx["rev_orders"] = {draw(st.integers(0, n_species - 1)):
                                draw(st.sampled_from([1.0, 2.0, 0.5]))}
            if kind == 1:
                rx["rev"] = (draw(st.floats(-LN_K, LN_K)), draw(st.floats(-3.0, 3.0)),
                             draw(st.floats(0.0, EA_OVER_R)))
            else:
                rx["rev"] = (draw(st.floats(-LN_K, LN_K)), 1.0 / 298.15,
                             draw(st.floats(-EA_OVER_R, EA_OVER_R)))
        out.append(rx)
    return out


@st.composite
def problems(draw, codes=(BATCH, CSTR_TRANSIENT, BATCH_ENERGY, CSTR_ENERGY)):
    """(code, system, y0, atol, rtol): a random problem of one of ``codes``
    with extreme numbers; the temperature is the last state of the energy codes."""
    code = draw(st.sampled_from(codes))
    energy = code in (BATCH_ENERGY, CSTR_ENERGY)
    n_species = draw(st.integers(1, 4))
    n_state = n_species + 1 if energy else n_species
    rxs = draw(reactions(n_species, n_species if energy else None))
    y0 = np.array([draw(concentrations) for _ in range(n_state)])
    y_in = np.array([draw(concentrations) for _ in range(n_state)])
    T = draw(st.floats(150.0, 3000.0))
    if energy:
        y0[-1] = T
        y_in[-1] = draw(st.floats(150.0, 3000.0))
    ua = draw(st.one_of(st.just(0.0), log_uniform(1e-6, 1e6))) if energy else 0.0
    system = problem_system(rxs, n_state, code, T=T, tau=draw(log_uniform(1e-12, 1e12)),
                            y_in=y_in, ua_over_rho_cp=ua, T_coolant=draw(st.floats(150.0, 3000.0)))
    rtol = draw(st.sampled_from([1e-2, 1e-6, 1e-10]))
    atol = np.full(n_state, draw(log_uniform(1e-20, 1e-3)))
    return code, system, y0, atol, rtol


def assert_nonnegative(y, atol, rtol, what):
    """Accepted states obey the drivers' rule y_i >= -(atol_i + rtol |y_i|)
    (the bound taken with the largest |y_i| of the run)."""
    y = np.atleast_2d(y)
    bound = -(atol + rtol * np.max(np.abs(y), axis=0)) * (1.0 + 1e-12)
    assert np.all(y >= bound), f"{what}: negative beyond the tolerance: {y.min(axis=0)}"


@SETTINGS
@given(problem=problems(), solver=st.sampled_from(["rodas", "bdf", "dopri5"]),
       t_end=log_uniform(1e-12, 1e12), record=st.booleans())
def test_integrators_return_a_status_never_raise(problem, solver, t_end, record):
    code, system, y0, atol, rtol = problem
    solve = {"rodas": solve_rodas, "bdf": solve_bdf, "dopri5": solve_dopri5}[solver]
    t_eval = np.array([0.0, 0.25 * t_end, t_end])
    status, t, y, dense, y_eval, stats, min_value = solve(
        code, system, y0, 0.0, t_end, t_eval, rtol, atol, 0.0, MAX_STEPS, record)
    assert status in INTEGRATOR_CODES, f"unknown status {status}"
    assert stats[ks.STAT_STEPS] <= MAX_STEPS
    if status == ks.SUCCESS:
        assert t[-1] == t_end
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(y_eval))
        assert_nonnegative(y, atol, rtol, solver)
        assert min_value >= -np.max(atol + rtol * np.max(np.abs(y), axis=0)) * (1.0 + 1e-12)


@SETTINGS
@given(problem=problems(codes=(CSTR_TRANSIENT,)), n_tanks=st.integers(1, 50))
def test_tank_cascade_returns_a_status_never_raises(problem, n_tanks):
    code, system, y0, atol, rtol = problem
    params = system[4]
    c_in = params[1:1 + y0.shape[0]].copy()
    stats = np.zeros(ks.N_STEADY_STATS, dtype=np.int64)
    status, states, solved = solve_cstr_cascade(code, system, c_in, float(params[0]), n_tanks,
                                                rtol, atol, stats)
    assert status in STEADY_CODES, f"unknown status {status}"
    if status == ks.SUCCESS:
        assert solved == n_tanks
        assert np.all(np.isfinite(states))
        assert np.all(states >= -atol), "a tank state below -atol"
    else:
        assert 0 <= solved < n_tanks


@SETTINGS
@given(problem=problems(codes=(CSTR_TRANSIENT, CSTR_ENERGY)), start=st.sampled_from(
    ["inlet", "random"]), t_max=log_uniform(1e-12, 1e12))
def test_tank_newton_and_continuation_return_a_status_never_raise(problem, start, t_max):
    code, system, y0, atol, rtol = problem
    n = y0.shape[0]
    y = system[4][1:1 + n].copy() if start == "inlet" else y0.copy()
    stats = np.zeros(ks.N_STEADY_STATS, dtype=np.int64)
    status = newton_cstr(code, system, y, rtol, atol, 50, stats)
    assert status in STEADY_CODES, f"unknown status {status}"
    if status == ks.SUCCESS:
        assert np.all(np.isfinite(y)) and np.all(y >= -atol)
    status, y_ss, t_reached, pt_stats = integrate_to_steady(code, system, y0, rtol, atol, t_max,
                                                            1e-3)
    assert status in STEADY_CODES, f"unknown status {status}"
    if status == ks.SUCCESS:
        assert np.all(np.isfinite(y_ss)) and 0.0 <= t_reached <= t_max
        assert_nonnegative(y_ss, atol, rtol, "pseudo-transient")


@SETTINGS
@given(problem=problems(codes=(BATCH,)), tau=log_uniform(1e-12, 1e12),
       pe=log_uniform(1e-3, 1e6), n_cells=st.integers(3, 24))
def test_dispersion_returns_a_status_never_raises(problem, tau, pe, n_cells):
    code, system, y0, atol, rtol = problem
    x = graded_grid(n_cells, 0.5)
    status, x_out, profile, outlet, stats = solve_dispersion(system, y0, tau, pe, x, rtol, atol)
    assert status in DISPERSION_CODES, f"unknown status {status}"
    assert stats.shape == (ks.N_DISP_STATS,)
    if status == ks.SUCCESS:
        assert np.all(np.isfinite(profile)) and np.all(np.isfinite(outlet))
        assert np.all(profile >= -atol), "a dispersion profile below -atol"
