"""kernels.dop853 (Dormand-Prince 8(5,3), Hairer's DOP853) against its order
conditions, the closed form of consecutive first-order reactions (observed
orders of the step and of the continuous extension), the ROBER stiffness
detection, and its own general path (the slot-form stage loop)."""

import math

import numpy as np
import pytest

from kernel_models import load_ivp_reference, make_system, rober_system
from kernels import dop853
from kernels.dop853 import interpolate_dop853, solve_dop853
from kernels.explicit import explicit_slot_plan, solve_dopri5
from kernels.problems import BATCH
from kernels.status import STAT_ACCEPTED, STAT_RHS_EVALS, STIFF_DETECTED, SUCCESS
from kernel_models import general_path_twin

EMPTY = np.zeros(0)
K1, K2 = 2.0, 0.5


def consecutive():
    """A -> B -> C, first order (k1 = 2, k2 = 0.5 /s)."""
    return make_system([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": K1},
                        {"reactants": {1: 1}, "net": {1: -1, 2: 1}, "k": K2}], 3)


def exact(t):
    A = math.exp(-K1 * t)
    B = K1 / (K2 - K1) * (math.exp(-K1 * t) - math.exp(-K2 * t))
    return np.array([A, B, 1.0 - A - B])


def test_table_order_conditions():
    """Nodes are the row sums; the weights integrate c^(q-1) exactly for q =
    1..8 and satisfy the order-3 and order-4 tree conditions; the error
    weights (differences of two solutions) sum to zero."""
    A, B, C = dop853.A, dop853.B, dop853.C
    s = dop853.N_STAGES
    np.testing.assert_allclose(A[1:].sum(axis=1), C[1:], atol=1e-14)
    for q in range(1, 9):
        assert B @ C[:s] ** (q - 1) == pytest.approx(1.0 / q, abs=1e-14)
    a = A[:s, :s]
    assert B @ (a @ C[:s]) == pytest.approx(1.0 / 6.0, abs=1e-14)
    assert B @ (C[:s] * (a @ C[:s])) == pytest.approx(1.0 / 8.0, abs=1e-14)
    assert B @ (a @ (C[:s] ** 2)) == pytest.approx(1.0 / 12.0, abs=1e-14)
    assert B @ (a @ (a @ C[:s])) == pytest.approx(1.0 / 24.0, abs=1e-14)
    assert abs(dop853.E5.sum()) < 1e-14 and abs(dop853.E3.sum()) < 1e-14


def _one_step(h):
    """One DOP853 step of size h from t = 0 (loose tolerances: accepted)."""
    y0 = exact(0.0)
    st, t, y, dense, _, stats, _ = solve_dop853(BATCH, consecutive(), y0, 0.0, h, EMPTY, 0.5,
                                                np.ones(3), h, 10, True)
    assert st == SUCCESS and stats[STAT_ACCEPTED] == 1
    return t, y, dense


def test_observed_orders_of_step_and_continuous_extension():
    """Local error of one step ~ h^9 (order 8) and of the extension at
    theta = 0.5 ~ h^8 (order 7): halving h divides them by 2^9 and 2^8."""
    errors, mid = [], []
    for h in (0.2, 0.1):
        t, y, dense = _one_step(h)
        errors.append(np.max(np.abs(y[-1] - exact(h))))
        mid.append(np.max(np.abs(interpolate_dop853(t, y, dense, np.array([h / 2]))[0]
                                 - exact(h / 2))))
    order_step = math.log2(errors[0] / errors[1])
    order_dense = math.log2(mid[0] / mid[1])
    assert 8.5 < order_step < 9.5, order_step
    assert 7.5 < order_dense < 8.6, order_dense


def test_closed_form_at_tight_tolerance_with_fewer_steps_than_dopri5():
    atol = np.full(3, 1e-14)
    st, t, y, dense, y_eval, stats, _ = solve_dop853(
        BATCH, consecutive(), exact(0.0), 0.0, 3.0, np.linspace(0.0, 3.0, 7), 1e-11, atol, 0.0,
        100000, True)
    assert st == SUCCESS
    np.testing.assert_allclose(y[-1], exact(3.0), rtol=1e-9)
    np.testing.assert_allclose(y_eval, [exact(x) for x in np.linspace(0.0, 3.0, 7)], rtol=1e-8,
                               atol=1e-14)
    # output times come from the same extension as interpolate_dop853
    np.testing.assert_allclose(interpolate_dop853(t, y, dense, np.linspace(0.0, 3.0, 7)), y_eval,
                               rtol=1e-15, atol=1e-16)
    dp5 = solve_dopri5(BATCH, consecutive(), exact(0.0), 0.0, 3.0, EMPTY, 1e-11, atol, 0.0,
                       100000, False)
    assert stats[STAT_ACCEPTED] * 3 < dp5[5][STAT_ACCEPTED]


def test_detects_stiffness_on_rober():
    ref = load_ivp_reference()["rober"]
    st, t, y, _, _, stats, _ = solve_dop853(BATCH, rober_system(), np.array(ref["y0"]), 0.0,
                                            ref["t_end"], EMPTY, 1e-6,
                                            np.array([1e-10, 1e-14, 1e-10]), 0.0, 100000, False)
    assert st == STIFF_DETECTED
    assert stats[STAT_ACCEPTED] < 2000 and t[-1] < 1.0


def test_slot_path_matches_general_path():
    """The same step on the slot-form path and on the general path (rhs):
    equal to 1e-11 of the change; a whole solve's end state to 1e-9."""
    system = consecutive()
    twin = general_path_twin(system)
    assert explicit_slot_plan(BATCH, system, 3)[0] and not explicit_slot_plan(BATCH, twin, 3)[0]
    one = [solve_dop853(BATCH, s, exact(0.0), 0.0, 1.0, EMPTY, 0.5, np.ones(3), 0.3, 1, False)
           for s in (system, twin)]
    assert one[0][5][STAT_RHS_EVALS] == one[1][5][STAT_RHS_EVALS]
    change = one[1][2][-1] - exact(0.0)
    np.testing.assert_allclose(one[0][2][-1] - exact(0.0), change, rtol=0.0,
                               atol=1e-11 * np.max(np.abs(change)))
    whole = [solve_dop853(BATCH, s, exact(0.0), 0.0, 3.0, EMPTY, 1e-10, np.full(3, 1e-14), 0.0,
                          100000, False) for s in (system, twin)]
    np.testing.assert_allclose(whole[0][2][-1], whole[1][2][-1], rtol=1e-9)
