"""Elimination order of the static-pattern sparse LU of ``W = gh I - J``
for the slot-form Rodas5P path, with the states nothing depends on first.

:func:`kernels.linalg.sparse_lu_plan` orders W by minimum degree on the
symmetrised pattern. A state whose column of J is empty off the diagonal
(a product no rate depends on, and above all the accumulated heat of
reaction, which every rate feeds and nothing reads) has a high symmetric
degree and is eliminated late; its row of W then lands in L, and the heat
row, ``-dH`` (~1e5 J/mol) times the species entries, fails the threshold
pivot test of :func:`kernels.linalg.factor_w_sparse` at almost every step, so
every such step paid for a refused sparse factorization and then ran the
dense LU. Eliminated first instead, such a state has the pivot ``gh`` exactly,
an empty column below it (no update, no fill, nothing to test) and its row
in U, where no threshold applies.

:func:`sparse_lu_plan_ordered` returns what :func:`kernels.linalg.sparse_lu_plan`
returns, for the same factorization and inverse routines.
"""

import numpy as np

from .jit import njit
from .linalg import no_sparse_plan, slot_w_pattern, sparse_plan_in_order


@njit
def empty_column_first_order(pat):
    """Elimination order of the (n, n) pattern ``pat``: the states whose
    column is empty off the diagonal first (in index order), then minimum
    degree on the symmetrised pattern of the others (ties to the lowest
    index, as :func:`kernels.linalg._minimum_degree_order`). Eliminating an
    empty-column state makes no fill, so it is removed from the graph
    without joining its neighbours."""
    n = pat.shape[0]
    g = np.zeros((n, n), dtype=np.bool_)
    for i in range(n):
        for j in range(n):
            if pat[i, j] or pat[j, i]:
                g[i, j] = True
    done = np.zeros(n, dtype=np.bool_)
    perm = np.empty(n, dtype=np.int64)
    nb = np.empty(n, dtype=np.int64)
    step = 0
    for j in range(n):
        empty = True
        for i in range(n):
            if i != j and pat[i, j]:
                empty = False
                break
        if empty:
            perm[step] = j
            done[j] = True
            step += 1
    while step < n:
        best = -1
        bdeg = n + 1
        for i in range(n):
            if done[i]:
                continue
            deg = 0
            for j in range(n):
                if j != i and not done[j] and g[i, j]:
                    deg += 1
            if deg < bdeg:
                bdeg = deg
                best = i
        perm[step] = best
        done[best] = True
        step += 1
        cnt = 0
        for j in range(n):
            if not done[j] and g[best, j]:
                nb[cnt] = j
                cnt += 1
        for a in range(cnt):
            for b in range(cnt):
                g[nb[a], nb[b]] = True
    return perm


@njit
def leading_diagonal_rows(lc_ptr, iu_c):
    """Number of leading states (in the permuted order) whose column of W is
    empty off the diagonal: no L entry below and no U entry above. For them
    W e_j = W_jj e_j, so row j of the explicit inverse of
    :func:`kernels.linalg.inverse_w_sparse` is ``dinv[j] e_j`` alone (the
    states :func:`empty_column_first_order` puts first)."""
    n = lc_ptr.shape[0] - 1
    in_u = np.zeros(n, dtype=np.bool_)
    for t in range(iu_c.shape[0]):
        in_u[iu_c[t]] = True
    count = 0
    while count < n and lc_ptr[count + 1] == lc_ptr[count] and not in_u[count]:
        count += 1
    return count


@njit
def sparse_lu_plan_ordered(n, use_sparse, energy, any_rev, fslot, rslot, s_ptr, s_sp):
    """:func:`kernels.linalg.sparse_lu_plan` with the elimination order of
    :func:`empty_column_first_order`; same outputs, same consumers."""
    if not use_sparse:
        return no_sparse_plan()
    pattern = slot_w_pattern(n, energy, any_rev, fslot, rslot, s_ptr, s_sp)
    return sparse_plan_in_order(pattern, empty_column_first_order(pattern))
