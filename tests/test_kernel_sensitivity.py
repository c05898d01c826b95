"""Forward sensitivities (kernels.sensitivity, kernels.steady_sensitivity,
flowchem.reactors.sensitivity) against closed forms and finite differences.

References: closed-form solutions of first-order, second-order, reversible
and stirred-tank kinetics differentiated by hand; central finite differences
of the plain (BATCH / CSTR) solves at tight tolerance; central finite
differences of the kernels' own right-hand sides for the Jacobians.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowchem.chemistry.mechanism import Mechanism
from flowchem.chemistry.parameters import ParameterMap
from flowchem.core.errors import InputError, SolverError
from flowchem.reactors.sensitivity import (batch_sensitivities, cstr_sensitivities,
                                           guard_model, kernel_arrays, sensitivity_system)
from flowchem.reactors.solver import SolverOptions, integrate, steady_cstr_cascade
from kernels.kinetics import (EQUILIBRIUM_VANT_HOFF, IRREVERSIBLE, JACOBIAN_FLOOR,
                              REVERSE_ARRHENIUS, production_jacobian, production_rates,
                              rate_constants, slot_plan)
from kernels.problems import BATCH
from kernels.sensitivity import parameter_jacobian, sensitivity_jacobian, sensitivity_rhs
from kernels.status import SINGULAR_MATRIX
from kernels.steady_sensitivity import cascade_sensitivity
from kernel_models import make_model

TIGHT = SolverOptions(rtol=1e-10)


def _mechanism(species, reactions):
    return Mechanism.from_dict({"species": [{"name": s} for s in species],
                                "reactions": reactions})


def _run(mech, names, T_center, T, c0, times, options=TIGHT, **kw):
    pm = ParameterMap(mech, names, T_center)
    model, rate_params = kernel_arrays(pm, pm.theta0)
    return batch_sensitivities(model, rate_params, T, c0, times, pm.M, options=options, **kw)


# ------------------------------------------------------------------ closed forms, batch
@pytest.mark.parametrize("method", ["rodas", "bdf"])
def test_first_order_batch_closed_form(method):
    """A -> B: dc_A/d ln k = -k t c_A0 e^{-kt} = -dc_B/d ln k, to 1e-8 relative
    of the peak (both stiff integrators: the BDF must not take its slot-form
    shortcut for the augmented system)."""
    k, c0 = 0.3, 2.0
    mech = _mechanism(["A", "B"], [{"equation": "A => B", "rate": {"k": k}}])
    t = np.linspace(0.0, 12.0, 9)
    y, dy = _run(mech, ["r1.k"], 300.0, 300.0, [c0, 0.0], t,
                 options=SolverOptions(rtol=1e-10, method=method))
    exact = -k * t * c0 * np.exp(-k * t)
    peak = c0 / math.e
    np.testing.assert_allclose(y[:, 0], c0 * np.exp(-k * t), rtol=0, atol=1e-8 * c0)
    np.testing.assert_allclose(dy[:, 0, 0], exact, rtol=0, atol=1e-8 * peak)
    np.testing.assert_allclose(dy[:, 1, 0], -exact, rtol=0, atol=1e-8 * peak)


def test_arrhenius_through_k_at_centre_temperature():
    """k_ref and Ea fitted as θ = (ln k(T_c), Ea/(R T_c)); at T != T_c,
    d ln k/dθ_E = 1 - T_c/T, so dc_A/dθ_E = (1 - T_c/T) dc_A/dθ_k with
    dc_A/dθ_k = -k t c0 e^{-kt}; to 1e-8 of the peak."""
    R = 8.314462618
    k_ref, T_ref, Ea, c0 = 0.02, 333.15, 70.0e3, 1.0
    mech = _mechanism(["A", "B"], [{"equation": "A => B",
                                    "rate": {"k_ref": k_ref, "T_ref": T_ref, "Ea": Ea}}])
    Tc, T = 330.0, 352.0
    k = k_ref * math.exp(-Ea / R * (1.0 / T - 1.0 / T_ref))
    t = np.linspace(0.0, 3.0 / k, 7)
    y, dy = _run(mech, ["r1.k_ref", "r1.Ea"], Tc, T, [c0, 0.0], t)
    d_lnk = -k * t * c0 * np.exp(-k * t)
    np.testing.assert_allclose(dy[:, 0, 0], d_lnk, rtol=0, atol=1e-8 * c0 / math.e)
    np.testing.assert_allclose(dy[:, 0, 1], (1.0 - Tc / T) * d_lnk, rtol=0,
                               atol=1e-8 * c0 / math.e)


def test_fitted_reaction_order_second_order_closed_form():
    """2 A => B with q = k c_A^o, o = 2 fitted: c = c0/(1 + 2 k c0 t) and,
    differentiating c^{1-o} = c0^{1-o} + (o-1) 2 k t with respect to o,
    dc/do = -c ln c - c^2 (2 k t - ln(c0)/c0); to 1e-8 relative of the peak."""
    k, c0 = 0.05, 2.0
    mech = _mechanism(["A", "B"], [{"equation": "2 A => B", "rate": {"k": k},
                                    "orders": {"A": 2.0}}])
    t = np.linspace(0.0, 40.0, 9)
    y, dy = _run(mech, ["r1.order.A"], 300.0, 300.0, [c0, 0.0], t)
    c = c0 / (1.0 + 2.0 * k * c0 * t)
    exact = -c * np.log(c) - c**2 * (2.0 * k * t - math.log(c0) / c0)
    np.testing.assert_allclose(y[:, 0], c, rtol=1e-9)
    scale = np.max(np.abs(exact))
    np.testing.assert_allclose(dy[:, 0, 0], exact, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(dy[:, 1, 0], -0.5 * exact, rtol=0, atol=1e-8 * scale)


def test_reversible_with_equilibrium_constant():
    """A <=> B, kr = kf/K: c_A/c0 = 1/(1+K) + K/(1+K) e^{-λt}, λ = kf (1 + 1/K).
    By hand, dc_A/d ln K = c0 [K (e^{-λt} - 1)/(1+K)^2 + kf t e^{-λt}/(1+K)] and
    dc_A/d ln kf = -c0 K/(1+K) λ t e^{-λt}; to 1e-8 of c0."""
    kf, K, c0 = 0.4, 3.0, 1.5
    mech = _mechanism(["A", "B"], [{"equation": "A <=> B", "rate": {"k": kf},
                                    "equilibrium": {"K_ref": K, "T_ref": 300.0, "dH": -5000.0}}])
    lam = kf * (1.0 + 1.0 / K)
    t = np.linspace(0.0, 10.0, 11)
    e = np.exp(-lam * t)
    y, dy = _run(mech, ["r1.k", "r1.K_ref"], 300.0, 300.0, [c0, 0.0], t)
    np.testing.assert_allclose(y[:, 0], c0 * (1 / (1 + K) + K / (1 + K) * e), rtol=1e-9)
    d_lnkf = -c0 * K / (1 + K) * lam * t * e
    d_lnK = c0 * (K * (e - 1.0) / (1 + K) ** 2 + kf * t * e / (1 + K))
    np.testing.assert_allclose(dy[:, 0, 0], d_lnkf, rtol=0, atol=1e-8 * c0)
    np.testing.assert_allclose(dy[:, 0, 1], d_lnK, rtol=0, atol=1e-8 * c0)
    np.testing.assert_allclose(dy[:, 1, :], -dy[:, 0, :], rtol=0, atol=1e-8 * c0)


def test_rodas5p_keeps_order_five_on_the_augmented_system():
    """Fixed steps (no error control) on 2 A => B with ln k and the order
    fitted, N = 16, 32, 64 on [0, 1]: the observed order of dc/dθ at t = 1
    against the closed forms (dc/d ln k = -2 k c0^2 t/(1 + 2 k c0 t)^2 and
    dc/do of the order test) stays within [4.6, 5.4]. A Rosenbrock method
    keeps its order only with the exact Jacobian, so this checks the
    second-derivative blocks along a trajectory."""
    from kernels.problems import BATCH_SENS
    from kernels.rosenbrock import solve_rodas_fixed

    k, c0 = 0.5, 2.0
    mech = _mechanism(["A", "B"], [{"equation": "2 A => B", "rate": {"k": k},
                                    "orders": {"A": 2.0}}])
    pm = ParameterMap(mech, ["r1.k", "r1.order.A"], 300.0)
    model, rp = kernel_arrays(pm, pm.theta0)
    system = sensitivity_system(model, rp, 300.0, pm.M, 2)
    c = c0 / (1.0 + 2.0 * k * c0)
    exact = np.array([-2.0 * k * c0**2 / (1.0 + 2.0 * k * c0) ** 2,
                      -c * math.log(c) - c**2 * (2.0 * k - math.log(c0) / c0)])
    errs = []
    for steps in (16, 32, 64):
        y0 = np.array([c0, 0.0, 0.0, 0.0, 0.0, 0.0])
        st_, _, ys, _, _ = solve_rodas_fixed(BATCH_SENS, system, y0, 0.0, 1.0, steps)
        assert st_ == 0
        errs.append(np.abs(ys[-1, [2, 4]] - exact))
    errs = np.array(errs)
    orders = np.log2(errs[:-1] / errs[1:])
    assert np.all((orders > 4.6) & (orders < 5.4)), orders


# ------------------------------------------------------------------ closed forms, tanks
def test_cstr_closed_form():
    """c_A = c0/(1 + kτ), so dc_A/d ln k = -kτ c0/(1+kτ)^2 (to 1e-9 relative)."""
    k, tau, c0 = 0.3, 2.5, 1.2
    mech = _mechanism(["A", "B"], [{"equation": "A => B", "rate": {"k": k}}])
    pm = ParameterMap(mech, ["r1.k"], 300.0)
    model, rp = kernel_arrays(pm, pm.theta0)
    states, ds = cstr_sensitivities(model, rp, 300.0, [c0, 0.0], tau, pm.M, options=TIGHT)
    assert states[0, 0] == pytest.approx(c0 / (1 + k * tau), rel=1e-9)
    exact = -k * tau * c0 / (1 + k * tau) ** 2
    assert ds[0, 0, 0] == pytest.approx(exact, rel=1e-9)
    assert ds[0, 1, 0] == pytest.approx(-exact, rel=1e-9)


def test_cascade_of_three_tanks_closed_form():
    """N equal tanks, first order: c_N = c0/(1 + kτ_e)^N, so
    dc_N/d ln k = -N kτ_e c0/(1 + kτ_e)^{N+1} for every tank N = 1, 2, 3."""
    k, tau, c0, n = 0.5, 6.0, 1.0, 3
    mech = _mechanism(["A", "B"], [{"equation": "A => B", "rate": {"k": k}}])
    pm = ParameterMap(mech, ["r1.k"], 300.0)
    model, rp = kernel_arrays(pm, pm.theta0)
    states, ds = cstr_sensitivities(model, rp, 300.0, [c0, 0.0], tau, pm.M, n_tanks=n,
                                    options=TIGHT)
    x = k * tau / n
    for N in range(1, n + 1):
        assert states[N - 1, 0] == pytest.approx(c0 / (1 + x) ** N, rel=1e-9)
        assert ds[N - 1, 0, 0] == pytest.approx(-N * x * c0 / (1 + x) ** (N + 1), rel=1e-9)


def test_cstr_feed_sensitivity_is_carried_through():
    """A feed that depends on θ (an upstream unit's dc/dθ): c_A = c_A,in/(1 + kτ)
    and c_B = c_B,in + c_A,in kτ/(1 + kτ), so with dc_in/dθ = (d_A, d_B) and
    k independent of θ, dc_A/dθ = d_A/(1 + kτ) and dc_B/dθ = d_B + d_A kτ/(1 + kτ)
    (to 1e-12 relative)."""
    k, tau = 0.3, 2.5
    model, rp = make_model([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k}])
    M = np.zeros((8, 1))          # θ does not touch the kinetics
    dc_in = np.array([[0.7], [-0.2]])
    states, ds = cstr_sensitivities(model, rp, 300.0, [1.0, 0.1], tau, M, dc_in=dc_in,
                                    options=TIGHT)
    x = k * tau
    assert ds[0, 0, 0] == pytest.approx(0.7 / (1 + x), rel=1e-12)
    assert ds[0, 1, 0] == pytest.approx(-0.2 + 0.7 * x / (1 + x), rel=1e-12)


def test_cascade_random_mechanism_against_finite_differences():
    """3-tank cascade of a mechanism with a fractional order, a reversible
    Arrhenius pair and a van 't Hoff equilibrium: every tank's dc*/dθ against
    4-point central differences of the plain steady solves (rtol 1e-12),
    to 1e-7 of each parameter's largest sensitivity."""
    mech = _mechanism(["A", "B", "C", "D"], [
        {"equation": "A + B => C", "rate": {"k_ref": 0.8, "T_ref": 320.0, "Ea": 40e3},
         "orders": {"A": 1.0, "B": 0.7}},
        {"equation": "C <=> D", "rate": {"k": 0.3}, "equilibrium": {"K_ref": 2.0, "T_ref": 320.0,
                                                                      "dH": -15e3}},
        {"equation": "B <=> D", "rate": {"A": 5.0, "b": 0.5, "Ea": 8e3},
         "reverse": {"k": 0.02}},
    ])
    names = ["r1.k_ref", "r1.Ea", "r1.order.B", "r2.K_ref", "r2.dH", "r3.reverse.k"]
    pm = ParameterMap(mech, names, 320.0)
    T, c_in, tau = 335.0, np.array([1.0, 1.4, 0.0, 0.1]), 9.0
    model, rp = kernel_arrays(pm, pm.theta0)
    states, ds = cstr_sensitivities(model, rp, T, c_in, tau, pm.M, n_tanks=3, options=TIGHT)

    def plain(theta):
        mdl, rpar = kernel_arrays(pm, theta)
        m = rpar[1].shape[0]
        kf, kr = np.zeros(m), np.zeros(m)
        rate_constants(T, rpar, kf, kr)
        system = (mdl, rpar, kf, kr, np.zeros(5), np.zeros(2 * m))
        return steady_cstr_cascade(system, c_in, tau / 3, 3, SolverOptions(rtol=1e-12),
                                   atol=np.full(4, 1e-15))[0]

    fd = _fd4(plain, pm.theta0, 1e-3)
    _assert_sensitivities(ds, fd, 1e-7)


# ------------------------------------------------------------------ finite differences
def _fd4(solve, theta0, h):
    """4-point central differences d solve/d θ_k, stacked on a last axis."""
    cols = []
    for k in range(theta0.size):
        def at(step):
            th = theta0.copy()
            th[k] += step
            return solve(th)
        cols.append((-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h))
    return np.stack(cols, axis=-1)


def _assert_sensitivities(dy, fd, tol):
    # per parameter: relative to its largest sensitivity over times and species
    scale = np.max(np.abs(fd), axis=tuple(range(fd.ndim - 1)))
    assert np.all(scale > 0.0)
    err = np.max(np.abs(dy - fd), axis=tuple(range(fd.ndim - 1))) / scale
    assert np.all(err < tol), err


def test_named_parameters_against_finite_differences_of_plain_solves():
    """Every parameter kind of DESIGN.md through the ParameterMap (k_ref, Ea
    as ln k(T_c) and Ea/(R T_c), A and b, order, K_ref, dH, a reverse rate)
    on a 5-species batch at T != T_c: against 4-point central differences of
    the plain BATCH solve (rtol 1e-11), to 1e-6 of each column's peak."""
    mech = _mechanism(["A", "B", "C", "D", "E"], [
        {"equation": "A + B => C", "rate": {"k_ref": 0.5, "T_ref": 310.0, "Ea": 50e3},
         "orders": {"A": 1.0, "B": 1.5}},
        {"equation": "C <=> D", "rate": {"k": 0.3}, "equilibrium": {"K_ref": 2.0, "T_ref": 320.0,
                                                                      "dH": -15e3}},
        {"equation": "2 C => E", "rate": {"A": 40.0, "b": 0.3, "Ea": 12e3}},
        {"equation": "B <=> E", "rate": {"k": 0.05}, "reverse": {"k": 0.01}},
    ])
    names = ["r1.k_ref", "r1.Ea", "r1.order.B", "r2.K_ref", "r2.dH", "r3.A", "r3.b",
             "r4.reverse.k"]
    pm = ParameterMap(mech, names, 320.0)
    T, c0 = 338.0, np.array([1.0, 1.3, 0.0, 0.0, 0.0])
    times = np.linspace(0.0, 8.0, 6)
    model, rp = kernel_arrays(pm, pm.theta0)
    y, dy = batch_sensitivities(model, rp, T, c0, times, pm.M, options=TIGHT)

    def plain(theta):
        mdl, rpar = kernel_arrays(pm, theta)
        m = rpar[1].shape[0]
        kf, kr = np.zeros(m), np.zeros(m)
        rate_constants(T, rpar, kf, kr)
        system = (mdl, rpar, kf, kr, np.zeros(6), np.zeros(2 * m))
        return integrate(system, BATCH, c0, times[-1], SolverOptions(rtol=1e-11),
                         t_eval=times, record=False)[1]

    np.testing.assert_allclose(y, plain(pm.theta0), rtol=1e-8, atol=1e-12)
    _assert_sensitivities(dy, _fd4(plain, pm.theta0, 1e-3), 1e-6)


# ------------------------------------------------------------------ random mechanisms
ORDERS_ANY = [1.0, 2.0, 3.0, 0.5, 1.5, 0.7, 2.5]
ORDERS_INT = [1.0, 2.0, 3.0]
ORDERS_INTEGRATE = [1.0, 2.0, 1.5, 1.2]   # no order < 1: no finite-time extinction
T_RUN = 330.0


def _random_mechanism(rng, n, m, orders):
    """(reactions for kernel_models.make_model, n) with rate constants of order 1 at T_RUN."""
    reactions = []
    for _ in range(m):
        n_r = int(rng.integers(1, min(3, n) + 1))
        sp = rng.choice(n, size=n_r, replace=False)
        reactants = {int(s): float(rng.choice(orders)) for s in sp}
        net = {int(s): -1.0 for s in sp}
        prod = int(rng.choice([i for i in range(n) if i not in sp] or [0]))
        net[prod] = net.get(prod, 0.0) + float(rng.integers(1, 3))
        net = {s: v for s, v in net.items() if v != 0.0} or {0: 1.0}
        E = rng.uniform(0.0, 3000.0)
        b = rng.uniform(-1.0, 1.0)
        lnk = math.log(rng.uniform(0.2, 2.0))
        rx = {"reactants": reactants, "net": net,
              "fwd": (lnk - b * math.log(T_RUN) + E / T_RUN, b, E)}
        kind = int(rng.integers(0, 3))
        if kind != IRREVERSIBLE:
            rx["rev_orders"] = {prod: float(rng.choice(ORDERS_INT))}
            rx["rev_kind"] = kind
            if kind == REVERSE_ARRHENIUS:
                Er = rng.uniform(0.0, 3000.0)
                rx["rev"] = (math.log(rng.uniform(0.05, 1.0)) + Er / T_RUN, 0.0, Er)
            else:
                rx["rev"] = (rng.uniform(-1.0, 2.0), 1.0 / 320.0, rng.uniform(-3000, 3000))
        reactions.append(rx)
    return reactions


def _random_M(rng, model, rate_params, p):
    """d raw/d θ with p columns drawn from every parameter kind (ln A, b,
    (Ea/R)/300, the reverse rows, orders), one of them a dense combination."""
    rev_kind = rate_params[0]
    m = rev_kind.shape[0]
    nnz = model[2].shape[0]
    candidates = []
    for j in range(m):
        candidates += [(3 * j, 1.0), (3 * j + 1, 0.3), (3 * j + 2, 300.0)]
        if rev_kind[j] == REVERSE_ARRHENIUS:
            candidates += [(3 * m + 3 * j, 1.0), (3 * m + 3 * j + 2, 300.0)]
        elif rev_kind[j] == EQUILIBRIUM_VANT_HOFF:
            candidates += [(3 * m + 3 * j, 1.0), (3 * m + 3 * j + 2, 300.0)]
    candidates += [(6 * m + a, 1.0) for a in range(nnz)]
    M = np.zeros((7 * m + nnz, p))
    picks = rng.choice(len(candidates), size=min(p, len(candidates)), replace=False)
    for col, c in enumerate(picks):
        row, v = candidates[c]
        M[row, col] = v
    # the last column also moves every row the others use, each on its own scale
    used = np.abs(M).sum(axis=1) > 0
    row_scale = np.ones(M.shape[0])
    row_scale[[3 * j + 2 for j in range(2 * m)]] = 300.0
    M[:, p - 1] += 0.2 * rng.standard_normal(M.shape[0]) * used * row_scale
    return M


def _raw(model, rate_params):
    return np.concatenate([rate_params[1].ravel(), rate_params[2].ravel(), model[2]])


def _at(model, rate_params, raw):
    m = rate_params[1].shape[0]
    fwd = raw[:3 * m].reshape(m, 3).copy()
    rev = raw[3 * m:6 * m].reshape(m, 3).copy()
    orders = raw[6 * m:6 * m + model[2].shape[0]].copy()
    return (model[0], model[1], orders, *model[3:]), (rate_params[0], fwd, rev)


@pytest.mark.parametrize("seed", range(5))
def test_random_batch_sensitivities_against_finite_differences(seed):
    """Random 4-6 species mechanisms (fractional orders >= 1, both reversible
    kinds, Arrhenius and temperature exponents), p = 4 random parameter
    directions incl. a dense combination: dc/dθ at 6 times against 4-point
    central differences of the plain BATCH solve (rtol 1e-11), to 1e-6 of
    each column's peak."""
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(4, 7))
    model, rp = make_model(_random_mechanism(rng, n, int(rng.integers(3, 6)), ORDERS_INTEGRATE))
    M = _random_M(rng, model, rp, 4)
    c0 = rng.uniform(0.3, 1.5, size=n)
    times = np.linspace(0.0, 1.5, 6)
    y, dy = batch_sensitivities(model, rp, T_RUN, c0, times, M, options=TIGHT)
    raw0 = np.concatenate([_raw(model, rp), np.zeros(rp[0].shape[0])])

    def plain(theta):
        mdl, rpar = _at(model, rp, raw0 + M @ theta)
        m = rpar[1].shape[0]
        kf, kr = np.zeros(m), np.zeros(m)
        rate_constants(T_RUN, rpar, kf, kr)
        system = (mdl, rpar, kf, kr, np.zeros(n + 1), np.zeros(2 * m))
        return integrate(system, BATCH, c0, times[-1], SolverOptions(rtol=1e-11),
                         t_eval=times, record=False)[1]

    np.testing.assert_allclose(y, plain(np.zeros(4)), rtol=1e-8, atol=1e-12)
    _assert_sensitivities(dy, _fd4(plain, np.zeros(4), 1e-3), 1e-6)


# ------------------------------------------------------------------ the kernel functions
def _sens_case(rng, n, m, p, orders, zeros, with_orders):
    model, rp = make_model(_random_mechanism(rng, n, m, orders))
    M = _random_M(rng, model, rp, p)
    if not with_orders:
        M[6 * m:6 * m + model[2].shape[0]] = 0.0
    system = sensitivity_system(model, rp, T_RUN, M, n)
    c = rng.uniform(0.05, 2.0, size=n)
    if zeros:
        c[rng.random(n) < 0.5] = 0.0
    y = np.concatenate([c, rng.standard_normal(n * p)])
    return model, rp, M, system, y


def _fd_jacobian(f, y, step):
    N = y.shape[0]
    J = np.zeros((N, N))
    for l in range(N):
        d = step * max(abs(y[l]), 1.0)
        yp, ym = y.copy(), y.copy()
        yp[l] += d
        ym[l] -= d
        J[:, l] = (f(yp) - f(ym)) / (2 * d)
    return J


def _rhs(system):
    def f(y):
        out = np.zeros_like(y)
        sensitivity_rhs(y, system, out)
        return out
    return f


def _assert_jacobian(system, y):
    N = y.shape[0]
    J = np.zeros((N, N))
    sensitivity_jacobian(y, system, J)
    Jfd = _fd_jacobian(_rhs(system), y, 1e-6)
    kmax = max(np.max(system[2]), np.max(system[3]), 1.0)
    # relative to the largest entry, plus the O(step^2) truncation floor of
    # central differences where an entry is exactly zero
    np.testing.assert_allclose(J, Jfd, rtol=1e-6, atol=1e-6 * np.max(np.abs(Jfd)) + 1e-8 * kmax)
    return J


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), m=st.integers(1, 6),
       p=st.integers(1, 4))
def test_augmented_jacobian_matches_finite_differences(seed, n, m, p):
    """Exact Jacobian of the BATCH_SENS right-hand side (all blocks, with
    second derivatives of fractional powers incl. orders below one, both
    reversible kinds, order parameters) against central differences, at
    states in [0.05, 2]; the upper blocks are exactly zero."""
    rng = np.random.default_rng(seed)
    _, _, _, system, y = _sens_case(rng, n, m, p, ORDERS_ANY, zeros=False, with_orders=True)
    J = _assert_jacobian(system, y)
    assert np.all(J[:n, n:] == 0.0)
    for a in range(1, p + 1):
        for b in range(1, p + 1):
            block = J[a * n:(a + 1) * n, b * n:(b + 1) * n]
            if a == b:
                np.testing.assert_array_equal(block, J[:n, :n])
            else:
                assert np.all(block == 0.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), m=st.integers(1, 6),
       p=st.integers(1, 4))
def test_augmented_jacobian_with_zero_concentrations(seed, n, m, p):
    """Integer orders (rates polynomial through zero) at states where about
    half the species are exactly 0, rate parameters: Jacobian against central
    differences."""
    rng = np.random.default_rng(seed)
    _, _, _, system, y = _sens_case(rng, n, m, p, ORDERS_INT, zeros=True, with_orders=False)
    _assert_jacobian(system, y)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), m=st.integers(1, 6),
       p=st.integers(1, 4))
def test_sensitivity_rhs_is_J_s_plus_parameter_derivative(seed, n, m, p):
    """ds_k/dt = J(c) s_k + g_k with J from kinetics.production_jacobian and
    g_k = d f/d θ_k by central differences of kinetics.production_rates over
    the raw arrays (raw0 + M θ, rate constants recomputed at T): to 1e-6;
    kernels.sensitivity.parameter_jacobian gives the same g."""
    rng = np.random.default_rng(seed)
    model, rp, M, system, y = _sens_case(rng, n, m, p, ORDERS_ANY, zeros=False, with_orders=True)
    c = y[:n]
    out = _rhs(system)(y)
    kf, kr = system[2], system[3]
    Jc = np.zeros((n, n))
    production_jacobian(c, model, kf, kr, Jc)
    raw0 = np.concatenate([_raw(model, rp), np.zeros(m)])

    def f_at(theta):
        mdl, rpar = _at(model, rp, raw0 + M @ theta)
        kf2, kr2 = np.zeros(m), np.zeros(m)
        rate_constants(T_RUN, rpar, kf2, kr2)
        wdot = np.zeros(n)
        production_rates(c, mdl, kf2, kr2, np.zeros(m), wdot)
        return wdot

    G = _fd4(f_at, np.zeros(p), 1e-4)
    G_kernel = np.zeros((n, p))
    parameter_jacobian(c, system, G_kernel)
    scale = max(np.max(np.abs(G)), 1e-300)
    # the reference is a 4-point difference with step 1e-4: about 1e-7 of the
    # largest entry where an order term brings powers of ln c
    np.testing.assert_allclose(G_kernel, G, rtol=0, atol=1e-6 * scale)
    expected = np.concatenate([f_at(np.zeros(p))] +
                              [Jc @ y[n * (1 + k):n * (2 + k)] + G[:, k] for k in range(p)])
    np.testing.assert_allclose(out, expected, rtol=0,
                               atol=1e-7 * max(np.max(np.abs(expected)), 1.0))


def test_order_term_at_zero_concentration_is_finite_and_floored():
    """A^0.5 -> B with the order fitted, at c_A = 0: d q/d o = k c^o ln c -> 0
    (limit), the Jacobian entry of that term is k F^(o-1) (o ln F + 1) at the
    floor F (hand value, 1e-12 relative), and every entry is finite."""
    k = 2.0
    model, rp = make_model([{"reactants": {0: 0.5}, "net": {0: -1, 1: 1}, "k": k}])
    M = np.zeros((8, 1))
    M[6, 0] = 1.0   # the order of A
    system = sensitivity_system(model, rp, 300.0, M, 2)
    y = np.array([0.0, 1.0, 0.0, 0.0])
    out = _rhs(system)(y)
    assert np.all(out == 0.0)
    J = np.zeros((4, 4))
    sensitivity_jacobian(y, system, J)
    assert np.all(np.isfinite(J))
    F = JACOBIAN_FLOOR
    hand = k * F ** -0.5 * (0.5 * math.log(F) + 1.0)
    assert J[2, 0] == pytest.approx(-hand, rel=1e-12)
    assert J[3, 0] == pytest.approx(hand, rel=1e-12)
    # and at c_A = 0.25: d q/d o = k sqrt(0.25) ln 0.25 (hand value)
    out = _rhs(system)(np.array([0.25, 1.0, 0.0, 0.0]))
    assert out[3] == pytest.approx(k * 0.5 * math.log(0.25), rel=1e-14)


def test_guarded_model_keeps_integrators_off_the_slot_form():
    """The BATCH_SENS model carries one extra reverse-pointer entry:
    slot_plan accepts the plain model and refuses the guarded one, while the
    rates of the guarded model are the plain ones (exactly)."""
    model, rp = make_model([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": 0.7,
                             "rev_kind": REVERSE_ARRHENIUS, "rev": (math.log(0.1), 0, 0),
                             "rev_orders": {1: 1}}])
    guarded = guard_model(model)
    assert slot_plan(model, 4)[0] and not slot_plan(guarded, 4)[0]
    kf, kr = np.zeros(1), np.zeros(1)
    rate_constants(300.0, rp, kf, kr)
    c = np.array([0.3, 0.9])
    w1, w2 = np.zeros(2), np.zeros(2)
    production_rates(c, model, kf, kr, np.zeros(2), w1)
    production_rates(c, guarded, kf, kr, np.zeros(2), w2)
    np.testing.assert_array_equal(w1, w2)
    assert w1[1] == pytest.approx(0.7 * 0.3 - 0.1 * 0.9, rel=1e-14)


def test_singular_steady_state_jacobian_is_a_status():
    """A + B => 2 B at (a, b) = (2, 1), k = 1, 1/τ = 1: det(J - I/τ) =
    s (k b - k a + s) = 0 exactly (hand calculation), so the kernel returns
    SINGULAR_MATRIX for tank 0 instead of raising."""
    model, rp = make_model([{"reactants": {0: 1, 1: 1}, "net": {0: -1, 1: 1}, "k": 1.0}])
    M = np.zeros((8, 1))
    M[0, 0] = 1.0
    system = sensitivity_system(model, rp, 300.0, M, 2)
    out = np.zeros((1, 2, 1))
    status, tank = cascade_sensitivity(system, np.array([[2.0, 1.0]]), 1.0, np.zeros((2, 1)), out)
    assert (status, tank) == (SINGULAR_MATRIX, 0)


# ------------------------------------------------------------------ refusals and failures
def test_bad_inputs_are_input_errors():
    model, rp = make_model([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": 0.3}])
    M = np.zeros((8, 1))
    M[0, 0] = 1.0
    with pytest.raises(InputError, match="M: expected d raw"):
        batch_sensitivities(model, rp, 300.0, [1.0, 0.0], [0.0, 1.0], M[:3])
    with pytest.raises(InputError, match="c0: concentrations must be finite and non-negative"):
        batch_sensitivities(model, rp, 300.0, [-1.0, 0.0], [0.0, 1.0], M)
    with pytest.raises(InputError, match="times: expected sorted"):
        batch_sensitivities(model, rp, 300.0, [1.0, 0.0], [1.0, 0.5], M)
    with pytest.raises(InputError, match="T: expected a positive temperature"):
        batch_sensitivities(model, rp, -3.0, [1.0, 0.0], [0.0, 1.0], M)
    with pytest.raises(InputError, match="residence_time"):
        cstr_sensitivities(model, rp, 300.0, [1.0, 0.0], 0.0, M)


def test_integrator_failure_is_a_solver_error_naming_the_operation():
    """A step budget far too small for a stiff run: SolverError from the
    existing bridge, naming the operation."""
    model, rp = make_model([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": 1e6},
                            {"reactants": {1: 1}, "net": {1: -1, 0: 1}, "k": 1e-3}])
    M = np.eye(14, 2)
    with pytest.raises(SolverError, match="^run 7: rodas integrator stopped"):
        batch_sensitivities(model, rp, 300.0, [1.0, 0.0], [0.0, 1e4], M,
                            options=SolverOptions(max_steps=10), operation="run 7")
