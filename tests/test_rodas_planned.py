"""The Rodas5P driver with a sparse LU plan built once by the caller
(:func:`kernels.rosenbrock.integrate_rodas_planned`, used by the route
ensemble for every point of one sparsity pattern).

References:

* consecutive first-order reactions A -> B -> C in a batch, solved with one
  plan for several pairs of rate constants: the closed form
  ``B(t) = A0 k1 / (k2 - k1) (exp(-k1 t) - exp(-k2 t))``, to 2e-7 relative
  at rtol 1e-9;
* random slot-form mechanisms of every problem code: the same steps and
  bit-identical states as :func:`kernels.rosenbrock.solve_rodas`, which
  builds its plan per solve (itself checked against reference problems in
  test_kernel_integrators.py).
"""

import numpy as np
import pytest

from kernels.problems import BATCH, BATCH_ENERGY, CSTR_ENERGY, CSTR_TRANSIENT
from kernels.rosenbrock import integrate_rodas_planned, rodas_lu_plan, solve_rodas
from kernels.status import STAT_STEPS, SUCCESS
from kernel_models import make_system, problem_system, random_slot_reactions


def _consecutive(k1, k2):
    return [{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k1},
            {"reactants": {1: 1}, "net": {1: -1, 2: 1}, "k": k2}]


def test_one_plan_serves_several_rate_constants_closed_form():
    a0, t_end = 2.0, 3.0
    plan = None
    for k1, k2 in [(0.7, 2.5), (3.0, 0.4), (1.2, 9.0)]:
        system = make_system(_consecutive(k1, k2), 3)
        if plan is None:   # built for the first system, reused for the others
            plan = rodas_lu_plan(np.int64(BATCH), system[0], np.int64(3))
            assert plan[0].shape[0] == 3, "the sparse LU plan is used"
        y0 = np.array([a0, 0.0, 0.0])
        res = integrate_rodas_planned(np.int64(BATCH), system, y0, 0.0, t_end, np.zeros(0),
                                      1e-9, np.full(3, 1e-14), 0.0, np.int64(100000), False,
                                      0.0, plan)
        assert res[0] == SUCCESS
        y = res[7]
        a = a0 * np.exp(-k1 * t_end)
        b = a0 * k1 / (k2 - k1) * (np.exp(-k1 * t_end) - np.exp(-k2 * t_end))
        np.testing.assert_allclose(y, [a, b, a0 - a - b], rtol=2e-7)


@pytest.mark.parametrize("code", [BATCH, CSTR_TRANSIENT, BATCH_ENERGY, CSTR_ENERGY])
@pytest.mark.parametrize("seed", range(4))
def test_planned_driver_takes_the_steps_of_solve_rodas(code, seed):
    rng = np.random.default_rng(77 + 10 * code + seed)
    n_species = int(rng.integers(3, 8))
    energy = code in (BATCH_ENERGY, CSTR_ENERGY)
    n_state = n_species + 1 if energy else n_species
    reactions = random_slot_reactions(rng, n_species, int(rng.integers(2, 7)),
                                      n_species if energy else None)
    y0 = rng.uniform(0.05, 2.0, n_state)
    if energy:
        y0[-1] = rng.uniform(300.0, 340.0)
    system = problem_system(reactions, n_state, code, T=float(y0[-1]) if energy else 320.0,
                            tau=float(rng.uniform(0.5, 5.0)),
                            y_in=rng.uniform(0.0, 2.0, n_state),
                            ua_over_rho_cp=0.5 if energy else 0.0, T_coolant=310.0)
    atol = np.full(n_state, 1e-10)
    ref = solve_rodas(np.int64(code), system, y0, 0.0, 2.0, np.zeros(0), 1e-7, atol, 0.0,
                      np.int64(100000), True)
    # a plan built from another system of the same pattern (other rate constants)
    other = problem_system(reactions, n_state, code, T=350.0, tau=1.0,
                           y_in=np.ones(n_state), ua_over_rho_cp=0.1, T_coolant=300.0)
    plan = rodas_lu_plan(np.int64(code), other[0], np.int64(n_state))
    got = integrate_rodas_planned(np.int64(code), system, y0, 0.0, 2.0, np.zeros(0), 1e-7,
                                  atol, 0.0, np.int64(100000), True, 0.0, plan)
    assert got[0] == ref[0]
    assert got[5][STAT_STEPS] == ref[5][STAT_STEPS]
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(got[2], ref[2])
