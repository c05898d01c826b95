"""The reactor equations copied by hand into the integrators' hot loops agree
with the plain system functions, for every problem code, on random states of
random mechanisms.

References: :func:`kernels.problems.rhs` and :func:`kernels.problems.jacobian`
(themselves checked against hand values and finite differences in
test_kernel_kinetics.py) and the Rodas5P step :func:`_stages_sys`, which calls
``rhs`` and the shared solve and nothing else.

* Rodas5P: one step through ``_stages_fast`` (slot-form rates, stage sums and
  dense solves written out) and through ``_stages_inv`` (the same with the
  explicit inverse of the sparse factors) against ``_stages_sys`` with the same
  W, to 1e-11 of the largest stage entry;
* the slot-form right-hand side ``slot_rhs`` against ``rhs``, to 1e-13;
* DOPRI5, whose stage loop evaluates the slot-form rates and a dense S^T by
  hand: one step against the same step on the general-path twin, to 1e-11,
  and a whole solve's end state to 1e-7;
* whole drivers (Rodas5P and the BDF, whose Newton loop carries its own copy
  of the slot-form rates and of the energy and tank terms, and whose Jacobian
  step assembles the slot Jacobian by hand): one step on a system against the
  same step on its general-path twin (kernel_models.general_path_twin: same
  equations, but the drivers run rhs/jacobian/dense LU), to 1e-9 of the step's
  change (different LU and product orders, amplified by Newton).
"""

import numpy as np
import pytest

from kernels.bdf import solve_bdf
from kernels.explicit import explicit_slot_plan, solve_dopri5
from kernels.kinetics import slot_plan
from kernels.linalg import (factor_w_dense, factor_w_sparse, inverse_w_sparse,
                            sparse_lu_plan)
from kernels.problems import (BATCH, BATCH_ENERGY, CSTR_ENERGY, CSTR_TRANSIENT, jacobian, rhs,
                              slot_rhs)
from kernels.rosenbrock import GAMMA, N_STAGES, _stages_fast, _stages_inv, _stages_sys, solve_rodas
from kernels.status import STAT_ACCEPTED, STAT_JAC_EVALS, STAT_RHS_EVALS, SUCCESS
from kernel_models import general_path_twin, problem_system, random_slot_reactions

CODES = [pytest.param(BATCH, id="BATCH"), pytest.param(CSTR_TRANSIENT, id="CSTR_TRANSIENT"),
         pytest.param(BATCH_ENERGY, id="BATCH_ENERGY"),
         pytest.param(CSTR_ENERGY, id="CSTR_ENERGY")]
SEEDS = range(6)


def random_problem(code, seed):
    """(system, y): a random slot-form mechanism for ``code`` and a random
    positive state (temperature last for the energy codes)."""
    rng = np.random.default_rng(1000 * code + seed)
    n_species = int(rng.integers(2, 7))
    energy = code in (BATCH_ENERGY, CSTR_ENERGY)
    n_state = n_species + 1 if energy else n_species
    reactions = random_slot_reactions(rng, n_species, int(rng.integers(1, 7)),
                                      n_species if energy else None)
    y = rng.uniform(0.05, 2.0, n_state)
    y_in = rng.uniform(0.0, 2.0, n_state)
    if energy:
        y[-1] = rng.uniform(290.0, 360.0)
        y_in[-1] = rng.uniform(290.0, 360.0)
    system = problem_system(reactions, n_state, code, T=float(y[-1]) if energy else 320.0,
                            tau=float(rng.uniform(0.5, 5.0)), y_in=y_in,
                            ua_over_rho_cp=float(rng.uniform(0.0, 2.0)) if energy else 0.0,
                            T_coolant=float(rng.uniform(280.0, 340.0)))
    assert slot_plan(system[0], n_state)[0], "the random mechanism must fit the slot form"
    return system, y


def _step_inputs(code, system, y, h):
    """f0, the Jacobian and W = I/(gamma h) - J factored densely (from the
    plain jacobian), as the drivers' general path has them."""
    n = y.shape[0]
    f0 = np.empty(n)
    rhs(code, 0.0, y, system, f0)
    J = np.empty((n, n))
    jacobian(code, 0.0, y, system, J)
    gh = 1.0 / (GAMMA * h)
    w = np.empty((n, n))
    piv = np.zeros(n, dtype=np.int64)
    dinv = np.empty(n)
    assert factor_w_dense(J, gh, w, piv, dinv, np.empty(n, dtype=np.int64))
    return f0, J, gh, w, piv, dinv


def _slots(system, n):
    ok, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(system[0], n)
    return any_rev, fslot, rslot, g_ptr, g_rx, g_nu


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("seed", SEEDS)
def test_rodas_stage_paths_match_stages_sys(code, seed):
    """k_1..k_8 and y_new of one Rodas5P step: _stages_fast and _stages_inv
    against _stages_sys, to 1e-11 of the largest stage entry and of y."""
    system, y = random_problem(code, seed)
    n = y.shape[0]
    model, rate_params, kf, kr, params, work = system
    J = np.empty((n, n))
    jacobian(code, 0.0, y, system, J)
    h = 0.05 / max(1.0, float(np.max(np.sum(np.abs(J), axis=1))))
    f0, J, gh, w, piv, dinv = _step_inputs(code, system, y, h)

    k_ref = np.empty((N_STAGES, n))
    y_ref = np.empty(n)
    _stages_sys(code, system, 0.0, y, f0, h, w, piv, dinv, k_ref, np.empty(n), np.empty(n),
                y_ref)
    # late stages are small differences of O(k_1) terms: measure every stage's
    # deviation against the largest stage vector
    scale = np.max(np.abs(k_ref))

    any_rev, fslot, rslot, g_ptr, g_rx, g_nu = _slots(system, n)
    k = np.empty((N_STAGES, n))
    y_fast = np.empty(n)
    _stages_fast(code, kf, kr, params, work, any_rev, fslot, rslot, g_ptr, g_rx, g_nu,
                 np.empty(n + 1), y, f0, h, w, piv, dinv, np.empty(n), k, np.empty(n), y_fast,
                 rate_params)
    assert np.max(np.abs(k - k_ref) / scale) < 1e-11
    np.testing.assert_allclose(y_fast, y_ref, rtol=1e-11, atol=1e-11 * np.max(np.abs(y_ref)))

    energy = code in (BATCH_ENERGY, CSTR_ENERGY)
    plan = sparse_lu_plan(n, True, energy, any_rev, fslot, rslot, model[6], model[7])
    perm, mt = plan[0], plan[11]
    ws = np.empty((n, n))
    dinv_s = np.empty(n)
    # h is small against the fastest rate here, so W is diagonally dominant
    # and the sparse LU accepts its pivots
    assert factor_w_sparse(J, gh, ws, dinv_s, *plan[:7])
    inverse_w_sparse(ws, dinv_s, plan[7], plan[8], plan[9], plan[10], mt)
    k = np.empty((N_STAGES, n))
    y_inv = np.empty(n)
    _stages_inv(code, kf, kr, params, work, any_rev, fslot, rslot, g_ptr, g_rx, g_nu,
                np.empty(n + 1), y, f0, h, perm, mt, np.empty(n), k, np.empty(n), y_inv,
                rate_params)
    assert np.max(np.abs(k - k_ref) / scale) < 1e-11
    np.testing.assert_allclose(y_inv, y_ref, rtol=1e-11, atol=1e-11 * np.max(np.abs(y_ref)))


@pytest.mark.parametrize("code", [pytest.param(BATCH, id="BATCH"),
                                  pytest.param(CSTR_TRANSIENT, id="CSTR_TRANSIENT")])
@pytest.mark.parametrize("seed", SEEDS)
def test_slot_rhs_matches_rhs(code, seed):
    """The slot-form right-hand side (the drivers' f(y_new) and the BDF's
    dense-LU Newton path) against rhs, 1e-13 of the largest rate term."""
    system, y = random_problem(code, seed)
    n = y.shape[0]
    model, rate_params, kf, kr, params, work = system
    any_rev, fslot, rslot, g_ptr, g_rx, g_nu = _slots(system, n)
    rng = np.random.default_rng(seed)
    for y_try in (y, rng.uniform(0.0, 3.0, n), np.zeros(n)):
        ref = np.empty(n)
        rhs(code, 0.0, y_try, system, ref)
        out = np.empty(n)
        slot_rhs(code, y_try, kf, kr, params, work, any_rev, fslot, rslot, g_ptr, g_rx, g_nu,
                 np.empty(n + 1), out)
        q_scale = np.max(np.abs(work[:kf.shape[0]])) + np.max(np.abs(ref)) + 1e-300
        np.testing.assert_allclose(out, ref, rtol=0.0, atol=1e-13 * q_scale)


def one_step_on_both_paths(solve, code, system, twin, y0, h0):
    """One step of size ``h0`` (of a 100 h0 span, rtol 1e-3, atol 1e-8) by
    ``solve`` on ``system`` and on its general-path ``twin``: checks that
    both stop after that one accepted step with the same f count and times,
    and returns ``(stats_a, stats_b, change_a, change_b)``."""
    atol = np.full(y0.shape[0], 1e-8)
    results = []
    for s in (system, twin):
        status, t, y, dense, y_eval, stats, min_value = solve(
            code, s, y0.copy(), 0.0, 100.0 * h0, np.empty(0), 1e-3, atol, h0, 1, True)
        results.append((status, t, y, stats))
    (st_a, t_a, y_a, stats_a), (st_b, t_b, y_b, stats_b) = results
    assert st_a == st_b and st_a != SUCCESS      # one step of a longer span: MAX_STEPS
    assert stats_a[STAT_ACCEPTED] == stats_b[STAT_ACCEPTED] == 1, "the step must be accepted"
    assert stats_a[STAT_RHS_EVALS] == stats_b[STAT_RHS_EVALS]
    np.testing.assert_array_equal(t_a, t_b)
    change_b = y_b[1] - y0
    assert np.max(np.abs(change_b)) > 0.0
    return stats_a, stats_b, y_a[1] - y0, change_b


@pytest.mark.parametrize("solve", [pytest.param(solve_rodas, id="rodas"),
                                   pytest.param(solve_bdf, id="bdf")])
@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("seed", SEEDS)
def test_driver_slot_path_matches_general_path(solve, code, seed):
    """One step of the driver on the slot-form path (hand-written slot
    Jacobian with the energy column and tank diagonal, sparse LU, inlined
    stage or Newton rates) against the same step on the general path (rhs,
    jacobian, dense LU): the same decisions and counters, and the change of
    the state equal to 1e-9 of its size."""
    system, y0 = random_problem(code, seed)
    n = y0.shape[0]
    twin = general_path_twin(system)
    assert not slot_plan(twin[0], n)[0], "the twin must take the general path"
    f = np.empty(n)
    rhs(code, 0.0, y0, system, f)
    h0 = 0.02 * float(np.min((np.abs(y0) + 0.1) / (np.abs(f) + 1e-30)))
    stats_a, stats_b, change_a, change_b = one_step_on_both_paths(solve, code, system, twin,
                                                                  y0, h0)
    assert stats_a[STAT_JAC_EVALS] == stats_b[STAT_JAC_EVALS]
    np.testing.assert_allclose(change_a, change_b, rtol=0.0,
                               atol=1e-9 * np.max(np.abs(change_b)))


@pytest.mark.parametrize("code", [pytest.param(BATCH, id="BATCH"),
                                  pytest.param(CSTR_TRANSIENT, id="CSTR_TRANSIENT")])
@pytest.mark.parametrize("seed", SEEDS)
def test_dopri5_slot_path_matches_general_path(code, seed):
    """DOPRI5 on the slot-form path (rates and a dense net stoichiometry
    written into the stage loop) against the general path (rhs) on the same
    equations. One step of a given size: the same counters and the state's
    change equal to 1e-11 of its size. A whole solve at rtol 1e-8: the end
    state equal to 1e-7 of the largest state (the error estimate is a
    difference of stages, so the step sizes may part at rounding level)."""
    system, y0 = random_problem(code, seed)
    n = y0.shape[0]
    twin = general_path_twin(system)
    assert explicit_slot_plan(code, system, n)[0], "the system must take the slot path"
    assert not explicit_slot_plan(code, twin, n)[0], "the twin must take the general path"
    f = np.empty(n)
    rhs(code, 0.0, y0, system, f)
    scale = float(np.min((np.abs(y0) + 0.1) / (np.abs(f) + 1e-30)))
    _, _, change_a, change_b = one_step_on_both_paths(solve_dopri5, code, system, twin, y0,
                                                      0.02 * scale)
    np.testing.assert_allclose(change_a, change_b, rtol=0.0,
                               atol=1e-11 * np.max(np.abs(change_b)))
    whole = [solve_dopri5(code, s, y0.copy(), 0.0, 2.0 * scale, np.empty(0), 1e-8,
                          np.full(n, 1e-10), 0.0, 100000, False) for s in (system, twin)]
    assert whole[0][0] == whole[1][0] == SUCCESS
    assert whole[0][5][STAT_ACCEPTED] > 5
    np.testing.assert_allclose(whole[0][2][-1], whole[1][2][-1], rtol=0.0,
                               atol=1e-7 * np.max(np.abs(whole[1][2][-1])))
