"""Linear algebra of the stiff integrators: LU factors of the iteration
matrix ``W = gh I - J`` (``gh = 1/(gamma h)`` for Rodas5P, ``1/c`` for the BDF)
and of small dense matrices.

Two ways to factor W, shared by :mod:`kernels.rosenbrock` and
:mod:`kernels.bdf`:

* dense partial-pivoting LU (:func:`factor_w_dense`, solved by
  :func:`solve_w_dense`), for any problem; it skips the zero entries of each
  pivot row when that row is sparse (liquid reaction Jacobians) and runs a
  vectorised contiguous update when it is not (gas Jacobians are ~full);
* for mass-action mechanisms in slot form (:func:`kernels.kinetics.slot_plan`),
  an LU over the static pattern of J (:func:`sparse_lu_plan` once per solve,
  :func:`factor_w_sparse` per step) followed by the explicit inverse of W
  (:func:`inverse_w_sparse`), so that every stage's solve is a mat-vec. The
  sparse factorization refuses small pivots; the caller then uses the dense LU.

:func:`lu_factor` and :func:`lu_solve` are the plain dense LU (LAPACK getrf
convention) used by the steady-state and dispersion Newton solvers.

No function here raises: a zero, tiny or non-finite pivot makes a
factorization return False.
"""

import numpy as np

from .jit import njit
from .kinetics import N_SLOTS


# Below this share of nonzeros in the pivot row's span, the row update
# gathers the nonzero columns (sparse liquid Jacobians); above it, it runs
# over the contiguous span, which LLVM vectorises (gri30's W is 98 % full:
# 54x54 factor 54 -> 20 us). Both give the same bits: a skipped zero would
# only subtract lik * 0.
_GATHER_FILL = 0.25


@njit(inline="always")
def _eliminate_below(a, k, inv, cols):
    """Row updates of step ``k`` of a right-looking LU: multipliers into
    column k below the pivot, row k (from column k+1) subtracted from each
    row below. Column indices are unsigned so that the address of ``a[i, j]``
    has no negative-index wraparound, which otherwise stops vectorisation."""
    n = a.shape[0]
    nc = 0
    jlo = n
    jhi = k
    for j in range(k + 1, n):
        if a[k, j] != 0.0:
            cols[nc] = j
            nc += 1
            if jlo == n:
                jlo = j
            jhi = j
    if nc == 0:
        for i in range(k + 1, n):
            a[i, k] *= inv
        return
    if nc < _GATHER_FILL * (jhi + 1 - jlo):
        for i in range(k + 1, n):
            lik = a[i, k] * inv
            a[i, k] = lik
            if lik != 0.0:
                for c in range(nc):
                    j = cols[c]
                    a[i, j] -= lik * a[k, j]
        return
    ak = a[k]
    j0 = np.uint64(jlo)
    j1 = np.uint64(jhi + 1)
    for i in range(k + 1, n):
        lik = a[i, k] * inv
        a[i, k] = lik
        if lik != 0.0:
            ai = a[i]
            for j in range(j0, j1):
                ai[j] -= lik * ak[j]


@njit
def lu_factor(a, piv):
    """In-place LU with partial pivoting (LAPACK getrf convention).

    Returns False when a pivot is zero or not finite (singular or overflowed
    matrix); ``a`` then holds garbage.
    """
    n = a.shape[0]
    for k in range(n):
        p = k
        amax = abs(a[k, k])
        for i in range(k + 1, n):
            v = abs(a[i, k])
            if v > amax:
                amax = v
                p = i
        if not (amax > 0.0) or not np.isfinite(amax):
            return False
        piv[k] = p
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
        inv = 1.0 / a[k, k]
        ak = a[k]
        j0 = np.uint64(k + 1)   # unsigned: vectorisable (see _eliminate_below)
        j1 = np.uint64(n)
        for i in range(k + 1, n):
            lik = a[i, k] * inv
            a[i, k] = lik
            if lik != 0.0:
                ai = a[i]
                for j in range(j0, j1):
                    ai[j] -= lik * ak[j]
    return True


@njit
def lu_solve(lu, piv, b):
    """Solve in place with the factors of :func:`lu_factor`."""
    n = lu.shape[0]
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = b[k]
            b[k] = b[p]
            b[p] = tmp
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= lu[i, j] * b[j]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= lu[i, j] * b[j]
        b[i] = s / lu[i, i]


@njit
def factor_w_dense(jx, gh, a, piv, dinv, cols):
    """Form W = gh I - J (J = jx[:, :n]) in ``a`` and factor it in place like
    :func:`lu_factor`, skipping the zero entries of each pivot row (the
    Jacobians of reaction networks are sparse), and store the reciprocal
    pivots in ``dinv``. Returns False for a zero or non-finite pivot."""
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            a[i, j] = -jx[i, j]
        a[i, i] += gh
    for k in range(n):
        p = k
        amax = abs(a[k, k])
        for i in range(k + 1, n):
            v = abs(a[i, k])
            if v > amax:
                amax = v
                p = i
        if not (amax > 0.0) or not np.isfinite(amax):
            return False
        piv[k] = p
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
        inv = 1.0 / a[k, k]
        dinv[k] = inv
        _eliminate_below(a, k, inv, cols)
    return True


@njit(inline="always")
def solve_w_dense(lu, piv, dinv, b):
    """:func:`lu_solve` with the reciprocal pivots of :func:`factor_w_dense`."""
    n = lu.shape[0]
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = b[k]
            b[k] = b[p]
            b[p] = tmp
    for i in range(1, n):
        s0 = b[i]
        s1 = 0.0
        j = 0
        while j + 1 < i:
            s0 -= lu[i, j] * b[j]
            s1 -= lu[i, j + 1] * b[j + 1]
            j += 2
        if j < i:
            s0 -= lu[i, j] * b[j]
        b[i] = s0 + s1
    for i in range(n - 1, -1, -1):
        s0 = b[i]
        s1 = 0.0
        j = i + 1
        while j + 1 < n:
            s0 -= lu[i, j] * b[j]
            s1 -= lu[i, j + 1] * b[j + 1]
            j += 2
        if j < n:
            s0 -= lu[i, j] * b[j]
        b[i] = (s0 + s1) * dinv[i]


# ---------------------------------------------------------------------------
# sparse LU of W on a static pattern (slot-form problems)
# ---------------------------------------------------------------------------
# The structural pattern of J is known once the mechanism is in slot form, so
# W = gh I - J is factored over a fixed pattern: a minimum-degree symmetric
# ordering (computed once per solve) keeps the fill small, and the pivots are
# the (permuted) diagonal. A pivot below SPARSE_PIVOT_TOL times the largest
# entry of its column makes the factorization give up; the step then uses the
# dense partial-pivoting LU instead (same step, same answer to round-off).
SPARSE_PIVOT_TOL = 0.1
SPARSE_MAX_N = 200


@njit
def _slot_pattern(n, any_rev, fslot, rslot, s_ptr, s_sp):
    """Structural pattern of W = gh I - J for the slot form: (n, n) bools."""
    pat = np.zeros((n, n), dtype=np.bool_)
    for i in range(n):
        pat[i, i] = True
    m = s_ptr.shape[0] - 1
    for d in range(2 if any_rev else 1):
        slot = fslot if d == 0 else rslot
        for j in range(m):
            for b in range(N_SLOTS):
                col = slot[N_SLOTS * j + b]
                if col >= n:
                    continue
                for s in range(s_ptr[j], s_ptr[j + 1]):
                    pat[s_sp[s], col] = True
    return pat


@njit
def _minimum_degree_order(pat):
    """Minimum-degree elimination order of the symmetrised pattern ``pat``
    (ties to the lowest index)."""
    n = pat.shape[0]
    g = np.zeros((n, n), dtype=np.bool_)
    for i in range(n):
        for j in range(n):
            if pat[i, j] or pat[j, i]:
                g[i, j] = True
    done = np.zeros(n, dtype=np.bool_)
    perm = np.empty(n, dtype=np.int64)
    nb = np.empty(n, dtype=np.int64)
    for step in range(n):
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
def symbolic_lu_with_order(pat, perm):
    """Symbolic LU of the pattern ``pat`` eliminated in the order ``perm``.

    Returns ``(perm, lr_ptr, lr_idx, lc_ptr, lc_idx, ur_ptr, ur_idx)`` in the
    permuted index space: row ``i`` of W's factors is row ``perm[i]`` of W;
    ``lr`` are the columns < i of L's row i, ``lc`` the rows > k of L's
    column k, ``ur`` the columns > i of U's row i (fill included).
    """
    n = pat.shape[0]
    p2 = np.zeros((n, n), dtype=np.bool_)
    for i in range(n):
        for j in range(n):
            p2[i, j] = pat[perm[i], perm[j]]
    for k in range(n):
        for i in range(k + 1, n):
            if p2[i, k]:
                for j in range(k + 1, n):
                    if p2[k, j]:
                        p2[i, j] = True
    nl = 0
    nu = 0
    for i in range(n):
        for j in range(n):
            if p2[i, j]:
                if j < i:
                    nl += 1
                elif j > i:
                    nu += 1
    lr_ptr = np.zeros(n + 1, dtype=np.int64)
    lr_idx = np.empty(nl, dtype=np.int64)
    lc_ptr = np.zeros(n + 1, dtype=np.int64)
    lc_idx = np.empty(nl, dtype=np.int64)
    ur_ptr = np.zeros(n + 1, dtype=np.int64)
    ur_idx = np.empty(nu, dtype=np.int64)
    a = 0
    c = 0
    b = 0
    for i in range(n):
        for j in range(i):
            if p2[i, j]:
                lr_idx[a] = j
                a += 1
        lr_ptr[i + 1] = a
        for j in range(i + 1, n):
            if p2[i, j]:
                ur_idx[b] = j
                b += 1
        ur_ptr[i + 1] = b
        for r in range(i + 1, n):
            if p2[r, i]:
                lc_idx[c] = r
                c += 1
        lc_ptr[i + 1] = c
    return perm, lr_ptr, lr_idx, lc_ptr, lc_idx, ur_ptr, ur_idx


@njit(inline="always")
def factor_w_sparse(jx, gh, a, dinv, perm, lr_ptr, lr_idx, lc_ptr, lc_idx, ur_ptr,
                      ur_idx):
    """W = gh I - J (J = jx[:, :n]) permuted and factored over the static
    pattern without row exchanges. False when a pivot is not acceptable
    (zero, non-finite or below the threshold): use the dense LU then."""
    n = a.shape[0]
    for i in range(n):
        p = perm[i]
        for t in range(lr_ptr[i], lr_ptr[i + 1]):
            a[i, lr_idx[t]] = -jx[p, perm[lr_idx[t]]]
        a[i, i] = gh - jx[p, p]
        for t in range(ur_ptr[i], ur_ptr[i + 1]):
            a[i, ur_idx[t]] = -jx[p, perm[ur_idx[t]]]
    for k in range(n):
        pv = a[k, k]
        cmax = 0.0
        for t in range(lc_ptr[k], lc_ptr[k + 1]):
            v = abs(a[lc_idx[t], k])
            if v > cmax:
                cmax = v
        apv = abs(pv)
        if not (apv > SPARSE_PIVOT_TOL * cmax) or not (apv < np.inf):
            return False
        inv = 1.0 / pv
        dinv[k] = inv
        u0 = ur_ptr[k]
        u1 = ur_ptr[k + 1]
        for t in range(lc_ptr[k], lc_ptr[k + 1]):
            i = lc_idx[t]
            lik = a[i, k] * inv
            a[i, k] = lik
            if lik != 0.0:
                for s in range(u0, u1):
                    j = ur_idx[s]
                    a[i, j] -= lik * a[k, j]
    return True


@njit
def _inverse_plan(lc_ptr, lc_idx, ur_ptr, ur_idx):
    """Entry lists for :func:`inverse_w_sparse`: U's entries (r, c) in ascending
    column order and L's entries (c, r) (c > r) in descending column order."""
    n = ur_ptr.shape[0] - 1
    nu = ur_ptr[n]
    cnt = np.zeros(n + 1, dtype=np.int64)
    for t in range(nu):
        cnt[ur_idx[t] + 1] += 1
    for c in range(n):
        cnt[c + 1] += cnt[c]
    u_r = np.empty(nu, dtype=np.int64)
    u_c = np.empty(nu, dtype=np.int64)
    fill = cnt[:n].copy()
    for r in range(n):
        for t in range(ur_ptr[r], ur_ptr[r + 1]):
            c = ur_idx[t]
            u_r[fill[c]] = r
            u_c[fill[c]] = c
            fill[c] += 1
    nl = lc_ptr[n]
    l_r = np.empty(nl, dtype=np.int64)
    l_c = np.empty(nl, dtype=np.int64)
    a = 0
    for r in range(n - 1, -1, -1):
        for t in range(lc_ptr[r], lc_ptr[r + 1]):
            l_r[a] = r
            l_c[a] = lc_idx[t]
            a += 1
    return u_r, u_c, l_r, l_c


@njit
def sparse_lu_plan(n, use_sparse, energy, any_rev, fslot, rslot, s_ptr, s_sp):
    """Once per solve: the ordering and symbolic factors of W = gh I - J for
    the slot form (with an energy balance, the temperature column touches
    every row a reaction changes), the entry lists of its explicit inverse
    and the inverse's storage. Returns ``(perm, lr_ptr, lr_idx, lc_ptr,
    lc_idx, ur_ptr, ur_idx, iu_r, iu_c, il_r, il_c, mt)``; empty arrays when
    ``use_sparse`` is False. Shared by Rodas5P and :mod:`kernels.bdf`."""
    if not use_sparse:
        return no_sparse_plan()
    pattern = slot_w_pattern(n, energy, any_rev, fslot, rslot, s_ptr, s_sp)
    return sparse_plan_in_order(pattern, _minimum_degree_order(pattern))


@njit
def no_sparse_plan():
    """The empty plan of a solve that does not use the sparse LU."""
    e = np.zeros(0, dtype=np.int64)
    return e, e, e, e, e, e, e, e, e, e, e, np.empty((0, 0))


@njit
def slot_w_pattern(n, energy, any_rev, fslot, rslot, s_ptr, s_sp):
    """Structural pattern of W for the slot form; with an energy balance the
    temperature column (last) touches every row a reaction changes."""
    pattern = _slot_pattern(n, any_rev, fslot, rslot, s_ptr, s_sp)
    if energy:
        for a in range(s_ptr[s_ptr.shape[0] - 1]):
            pattern[s_sp[a], n - 1] = True
    return pattern


@njit
def sparse_plan_in_order(pattern, perm):
    """The plan of :func:`sparse_lu_plan` (symbolic factors, inverse entry
    lists, inverse storage) for ``pattern`` eliminated in the order ``perm``."""
    n = pattern.shape[0]
    perm, lr_ptr, lr_idx, lc_ptr, lc_idx, ur_ptr, ur_idx = symbolic_lu_with_order(pattern, perm)
    iu_r, iu_c, il_r, il_c = _inverse_plan(lc_ptr, lc_idx, ur_ptr, ur_idx)
    return (perm, lr_ptr, lr_idx, lc_ptr, lc_idx, ur_ptr, ur_idx, iu_r, iu_c, il_r, il_c,
            np.empty((n, n)))


@njit(inline="always")
def inverse_w_sparse(a, dinv, u_r, u_c, l_r, l_c, mt):
    """``mt`` = (U^-1 L^-1)^T = L^-T U^-T from the factors of
    :func:`factor_w_sparse` (permuted space): row j of ``mt`` is column j of
    the inverse of the permuted W, so a solve is a sum of row multiples
    (vectorisable, no dependency chain through memory)."""
    n = mt.shape[0]
    for i in range(n):
        for j in range(n):
            mt[i, j] = 0.0
        mt[i, i] = dinv[i]
    # U^-T: row c = dinv_c (e_c - sum_{r<c} U_rc row r), rows r < c final
    for t in range(u_r.shape[0]):
        r = u_r[t]
        c = u_c[t]
        f = a[r, c] * dinv[c]
        if f != 0.0:
            for j in range(r + 1):
                mt[c, j] -= f * mt[r, j]
    # L^-T: row r -= L_cr row c for c > r, rows c > r final
    for t in range(l_r.shape[0]):
        r = l_r[t]
        c = l_c[t]
        f = a[c, r]
        if f != 0.0:
            for j in range(n):
                mt[r, j] -= f * mt[c, j]
