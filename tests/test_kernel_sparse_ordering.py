"""The elimination order of the Rodas5P sparse LU (kernels.sparse_ordering).

A state nothing depends on (a heat-of-reaction row, a product no rate reads)
has an empty column in J. Eliminated first, its pivot is ``gh`` exactly and
its row goes to U, so the threshold test of ``factor_w_sparse`` never sees
its entries. References: the structure of the pattern (stated by hand for a
small network) and numpy's dense inverse of W.

The network: A + B => C (dH -1e5 J/mol), C => D (dH -5e4 J/mol), with the heat
row Q = -sum dH_j q_j as the last state: columns of C's product D and of Q
are empty; Q's row is ~1e5 times the species rows, which the minimum-degree
order of ``kernels.linalg.sparse_lu_plan`` puts in L, where it fails the
pivot threshold.
"""

import numpy as np

from kernels.linalg import factor_w_sparse, inverse_w_sparse, sparse_lu_plan
from kernels.sparse_ordering import empty_column_first_order, sparse_lu_plan_ordered

N_SLOTS = 3
A, B, C, D, Q = range(5)
N = 5


def network():
    """Slot form (empty slot = N) and the stoichiometry with the heat row."""
    fslot = np.array([A, B, N, C, N, N], dtype=np.int64)
    rslot = np.full(6, N, dtype=np.int64)
    s_ptr = np.array([0, 4, 7], dtype=np.int64)
    s_sp = np.array([A, B, C, Q, C, D, Q], dtype=np.int64)
    s_nu = np.array([-1.0, -1.0, 1.0, 1e5, -1.0, 1.0, 5e4])
    return fslot, rslot, s_ptr, s_sp, s_nu


def jacobian(c, k, s_nu):
    """J of the network at concentrations c (hand-written)."""
    dq = np.zeros((2, N))
    dq[0, A], dq[0, B] = k[0] * c[B], k[0] * c[A]
    dq[1, C] = k[1]
    S = np.zeros((N, 2))
    S[[A, B, C, Q], 0] = s_nu[:4]
    S[[C, D, Q], 1] = s_nu[4:]
    return S @ dq


def test_empty_columns_are_eliminated_first():
    fslot, rslot, s_ptr, s_sp, _ = network()
    plan = sparse_lu_plan_ordered(N, True, False, False, fslot, rslot, s_ptr, s_sp)
    perm = list(plan[0])
    # D and Q have empty columns: first, in index order; the rest by minimum degree
    assert perm[:2] == [D, Q]
    assert sorted(perm) == list(range(N))
    # the pattern alone gives the same order
    pat = np.eye(N, dtype=np.bool_)
    for j in range(2):
        for b in range(N_SLOTS):
            col = fslot[N_SLOTS * j + b]
            if col < N:
                for s in range(s_ptr[j], s_ptr[j + 1]):
                    pat[s_sp[s], col] = True
    assert list(empty_column_first_order(pat)) == perm


def test_heat_row_factors_and_inverse_matches_numpy():
    fslot, rslot, s_ptr, s_sp, s_nu = network()
    c = np.array([1.0, 2.0, 0.5, 0.1, 0.0])
    k = np.array([3.0, 0.7])
    J = jacobian(c, k, s_nu)
    jx = np.zeros((N, N + 1))
    jx[:, :N] = J
    gh = 0.05  # a long step: gh well below the species entries
    W = gh * np.eye(N) - J
    reference = np.linalg.inv(W)

    old = sparse_lu_plan(N, True, False, False, fslot, rslot, s_ptr, s_sp)
    a = np.zeros((N, N))
    dinv = np.zeros(N)
    # the old order keeps the heat row in L: the threshold refuses it
    assert not factor_w_sparse(jx, gh, a, dinv, *old[:7])

    plan = sparse_lu_plan_ordered(N, True, False, False, fslot, rslot, s_ptr, s_sp)
    perm, iu_r, iu_c, il_r, il_c, mt = plan[0], plan[7], plan[8], plan[9], plan[10], plan[11]
    assert factor_w_sparse(jx, gh, a, dinv, *plan[:7])
    inverse_w_sparse(a, dinv, iu_r, iu_c, il_r, il_c, mt)
    # mt[j] is column j of the permuted inverse: W^-1[perm[i], perm[j]] = mt[j, i]
    inv = np.empty((N, N))
    for i in range(N):
        for j in range(N):
            inv[perm[i], perm[j]] = mt[j, i]
    np.testing.assert_allclose(inv, reference, rtol=1e-12, atol=1e-12 * np.abs(reference).max())


def test_rodas_with_heat_row_matches_closed_form():
    """Consecutive first-order A -> C -> D with the heat row (dH -1e5 and
    -5e4 J/mol) through solve_rodas, whose sparse path now takes the heat row
    and D first (rows of W^-1 that are diagonal): against the closed form,
    to 1e-8 relative at rtol 1e-10."""
    from kernel_models import problem_system
    from kernels.problems import BATCH
    from kernels.rosenbrock import solve_rodas
    from kernels.status import SUCCESS

    k1, k2, dH1, dH2 = 0.3, 0.05, -1e5, -5e4
    a, c, d, q = range(4)
    reactions = [{"reactants": {a: 1.0}, "net": {a: -1.0, c: 1.0, q: -dH1},
                  "fwd": (np.log(k1), 0.0, 0.0)},
                 {"reactants": {c: 1.0}, "net": {c: -1.0, d: 1.0, q: -dH2},
                  "fwd": (np.log(k2), 0.0, 0.0)}]
    system = problem_system(reactions, 4, BATCH)
    y0 = np.array([1000.0, 0.0, 0.0, 0.0])
    t_end = 40.0
    atol = np.array([1e-9, 1e-9, 1e-9, -1e-4])
    status, _, y_steps, _, _, stats, _ = solve_rodas(np.int64(BATCH), system, y0, 0.0, t_end,
                                                     np.zeros(0), 1e-10, atol, 0.0,
                                                     np.int64(100000), False)
    assert status == SUCCESS
    A = 1000.0 * np.exp(-k1 * t_end)
    C = 1000.0 * k1 / (k2 - k1) * (np.exp(-k1 * t_end) - np.exp(-k2 * t_end))
    D = 1000.0 - A - C
    Q = -dH1 * (1000.0 - A) - dH2 * D
    np.testing.assert_allclose(y_steps[-1], [A, C, D, Q], rtol=1e-8)
