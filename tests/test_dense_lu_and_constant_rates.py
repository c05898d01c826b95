"""The dense LU of kernels.linalg (vectorised contiguous row updates for
full pivot rows, gathered updates for sparse ones) against numpy's LAPACK
solve, and the temperature-independent gas rate constants (b = 0, Ea = 0)
of a workspace reused after a call at T = NaN against Cantera.

Tolerances: solves 1e-12 relative to the solution's largest entry on
well-conditioned matrices (condition number < 1e3; measured ~1e-15); rate
constants 1e-12 relative (Cantera computes the same exp(ln A), measured
exact or 1 ulp).
"""

import numpy as np
import pytest

from kernels.linalg import factor_w_dense, lu_factor, lu_solve, solve_w_dense


def _matrices(n, seed):
    """A full matrix (gas Jacobians are ~98 % full), a sparse one (liquid
    networks: the gathered path) and one with a zero block right of the
    diagonal (empty pivot rows), each diagonally shifted to be well
    conditioned, plus a pivoting case (small diagonal)."""
    rng = np.random.default_rng(seed)
    full = rng.standard_normal((n, n))
    sparse = np.where(rng.random((n, n)) < 0.08, rng.standard_normal((n, n)), 0.0)
    upper_empty = np.tril(rng.standard_normal((n, n)))
    pivoting = rng.standard_normal((n, n))
    np.fill_diagonal(pivoting, 1e-3)
    return {"full": full, "sparse": sparse, "upper_empty": upper_empty, "pivoting": pivoting}


@pytest.mark.parametrize("n", [1, 7, 54])
def test_factor_w_dense_solves_like_lapack(n):
    """W = gh I - J factored by factor_w_dense and solved by solve_w_dense
    equals numpy.linalg.solve(W, b)."""
    rng = np.random.default_rng(n)
    for name, J in _matrices(n, n).items():
        gh = 0.0 if name == "pivoting" else 3.0 * np.sqrt(n) + 1.0
        W = gh * np.eye(n) - J
        b = rng.standard_normal(n)
        expected = np.linalg.solve(W, b)
        assert np.linalg.cond(W) < 1e5, name
        a = np.empty((n, n))
        piv = np.zeros(n, dtype=np.int64)
        dinv = np.empty(n)
        cols = np.empty(n, dtype=np.int64)
        assert factor_w_dense(J, gh, a, piv, dinv, cols), name
        x = b.copy()
        solve_w_dense(a, piv, dinv, x)
        err = np.max(np.abs(x - expected)) / np.max(np.abs(expected))
        assert err < 1e-12 * max(1.0, np.linalg.cond(W) / 1e3), f"{name}: {err:.3g}"


@pytest.mark.parametrize("n", [1, 5, 54])
def test_lu_factor_solves_like_lapack(n):
    for name, A in _matrices(n, 100 + n).items():
        if name != "pivoting":
            A = A + (3.0 * np.sqrt(n) + 1.0) * np.eye(n)
        b = np.random.default_rng(n).standard_normal(n)
        expected = np.linalg.solve(A, b)
        lu = A.copy()
        piv = np.zeros(n, dtype=np.int64)
        assert lu_factor(lu, piv), name
        x = b.copy()
        lu_solve(lu, piv, x)
        err = np.max(np.abs(x - expected)) / np.max(np.abs(expected))
        assert err < 1e-12 * max(1.0, np.linalg.cond(A) / 1e3), f"{name}: {err:.3g}"


def test_singular_and_non_finite_matrices_refused():
    n = 6
    J = np.ones((n, n))
    a, piv, dinv, cols = np.empty((n, n)), np.zeros(n, np.int64), np.empty(n), np.empty(n, np.int64)
    assert not factor_w_dense(J, 0.0, a, piv, dinv, cols)      # rank 1
    J = np.eye(n)
    J[2, 2] = np.nan
    J[2, 3] = np.inf
    assert not factor_w_dense(-J, 0.0, a, piv, dinv, cols)
    assert not lu_factor(np.zeros((n, n)), piv)


def test_constant_rate_constants_against_cantera_after_a_bad_temperature():
    """gri30's 95 elementary/three-body rates with b = 0 and Ea = 0 (a candidate
    for computing once per workspace: measured no gain, see the commit); after
    a call at T = NaN (which must not poison the cached temperature part) and
    calls at other temperatures, every k_f on the reused workspace equals a
    fresh workspace's bit for bit and the constant ones equal Cantera's to 1e-12."""
    ct = pytest.importorskip("cantera")
    from flowchem.chemistry.gas_mechanism import GasKinetics
    from kernels import gas_kinetics as gk

    sol = ct.Solution("gri30.yaml")
    g = GasKinetics.from_solution(sol)
    n, m = g.n_species, g.n_reactions
    kind = g.model[9]
    high = g.model[12]
    constant = ((kind == gk.ELEMENTARY) | (kind == gk.THREE_BODY)) & (high[:, 1] == 0.0) & (high[:, 2] == 0.0)
    # independent count from Cantera's own rate objects
    ct_constant = [r.rate.type == "Arrhenius" and r.rate.temperature_exponent == 0.0
                   and r.rate.activation_energy == 0.0 for r in sol.reactions()]
    assert int(constant.sum()) == sum(ct_constant) == 95
    work = gk.gas_workspace(n, m)
    wdot = np.zeros(n)
    sol.TPX = 1500.0, ct.one_atm, "CH4:1, O2:2, N2:7.52, OH:0.01, H:0.01"
    c = sol.concentrations * 1000.0
    gk.gas_production_rates(np.nan, ct.one_atm, c, g.model, work, wdot)
    for T in (900.0, 1500.0):
        sol.TP = T, ct.one_atm
        gk.gas_production_rates(T, ct.one_atm, c, g.model, work, wdot)
        fresh = gk.gas_workspace(n, m)
        gk.gas_production_rates(T, ct.one_atm, c, g.model, fresh, np.zeros(n))
        np.testing.assert_array_equal(work[0][gk.KF], fresh[0][gk.KF])
        expected = sol.forward_rate_constants[constant]
        order = np.array([sum(r.reactants.values()) for r in sol.reactions()])[constant]
        # kmol -> mol: k in (m^3/kmol)^(order-1)/s, three-body [M] excluded
        tb = (kind[constant] == gk.THREE_BODY)
        expected = expected * 1000.0 ** (1.0 - order - tb)
        np.testing.assert_allclose(work[0][gk.KF][constant], expected, rtol=1e-12)
        assert np.all(work[0][gk.DLNKF_DT][constant] == 0.0)
