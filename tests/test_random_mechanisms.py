"""Random liquid mechanisms (seeded) through PFR, CSTR and cascade, each
checked against an independent scipy solution: solve_ivp (Radau, tight
tolerances) of a plain numpy right-hand side written here from the reaction
list, and for tanks the long-time limit of the transient tank equations."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import flowchem as fc

SPECIES = ["A", "B", "C", "D", "E", "F"]


def random_network(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 7))
    names = SPECIES[:n]
    reactions = []
    for _ in range(int(rng.integers(3, 7))):
        a, b = rng.choice(n, size=2, replace=False)
        reactants = {names[a]: 1.0}
        if rng.random() < 0.4:
            reactants[names[b]] = 1.0
            c = int(rng.choice([i for i in range(n) if i not in (a, b)]))
        else:
            c = int(b)
        products = {names[c]: 1.0}
        orders = {names[a]: float(rng.choice([0.5, 1.0, 2.0]))}
        k = float(10 ** rng.uniform(-3, -1))
        kr = float(10 ** rng.uniform(-3, -1)) if rng.random() < 0.3 else None
        reactions.append((reactants, products, orders, k, kr))
    return names, reactions


def build(names, reactions):
    rx = []
    for reactants, products, orders, k, kr in reactions:
        lhs = " + ".join(reactants)
        rhs = " + ".join(products)
        if kr is None:
            rx.append(fc.Reaction.from_equation(f"{lhs} => {rhs}", rate={"k": k}, orders=orders))
        else:
            rx.append(fc.Reaction.from_equation(f"{lhs} <=> {rhs}", rate={"k": k}, orders=orders,
                                                reverse={"k": kr}))
    return fc.Mechanism(species=[fc.Species(s) for s in names], reactions=rx)


def numpy_rates(names, reactions):
    idx = {s: i for i, s in enumerate(names)}

    def f(c):
        c = np.maximum(c, 0.0)     # fractional orders: zero rate at zero concentration
        w = np.zeros(len(names))
        for reactants, products, orders, k, kr in reactions:
            q = k
            for s, nu in reactants.items():
                q *= c[idx[s]] ** orders.get(s, nu)
            if kr is not None:
                qr = kr
                for s, nu in products.items():
                    qr *= c[idx[s]] ** nu
                q -= qr
            for s, nu in reactants.items():
                w[idx[s]] -= nu * q
            for s, nu in products.items():
                w[idx[s]] += nu * q
        return w
    return f


def case(seed):
    """(feed, y0, numpy rates, residence time, concentration scale) of network ``seed``."""
    names, reactions = random_network(seed)
    mech = build(names, reactions)
    rng = np.random.default_rng(100 + seed)
    c0 = {s: float(rng.uniform(0.2, 1.5)) * 1000.0 for s in names[:2]}
    feed = fc.Stream(mech, flow=1e-8, T=300.0, conc=c0)
    y0 = feed.conc.copy()
    return feed, y0, numpy_rates(names, reactions), 300.0, y0.max()


@pytest.mark.parametrize("seed", range(6))
def test_random_mechanism_against_scipy(seed):
    feed, y0, f, tau, scale = case(seed)

    pfr = fc.PFR(volume=tau * 1e-8).run(feed)
    ref = solve_ivp(lambda t, y: f(y), (0, tau), y0, method="Radau", rtol=1e-11, atol=1e-12 * scale)
    np.testing.assert_allclose(pfr.outlet.conc, ref.y[:, -1], rtol=1e-6, atol=1e-9 * scale)

    for n in (1, 4):
        res = fc.CSTRCascade(n=n, volume=tau * 1e-8).run(feed)
        c = y0.copy()
        for _ in range(n):      # each tank: long-time limit of dc/dt = (c_in - c)/tau_k + r(c)
            cin = c.copy()
            tk = tau / n
            sol = solve_ivp(lambda t, y: (cin - y) / tk + f(y), (0, 200 * tk), cin, method="Radau",
                            rtol=1e-11, atol=1e-12 * scale)
            c = sol.y[:, -1]
        np.testing.assert_allclose(res.outlet.conc, c, rtol=1e-6, atol=1e-8 * scale)


@pytest.mark.parametrize("seed", range(6))
def test_random_mechanism_pfr_with_bdf(seed):
    """The same networks through a PFR with the variable-order BDF (rtol 1e-10;
    fractional orders take its general path): outlet within 1e-6 relative
    (+1e-9 of the feed scale) of the Radau solution, and the profile at
    interior residence times from the BDF's dense output likewise."""
    feed, y0, f, tau, scale = case(seed)
    pfr = fc.PFR(volume=tau * 1e-8, options=fc.SolverOptions(rtol=1e-10, method="bdf")).run(feed)
    assert pfr.solution.method == "bdf"
    t_check = np.array([17.0, 95.5, 210.0, tau])
    ref = solve_ivp(lambda t, y: f(y), (0, tau), y0, method="Radau", rtol=1e-11,
                    atol=1e-12 * scale, t_eval=t_check)
    np.testing.assert_allclose(pfr.outlet.conc, ref.y[:, -1], rtol=1e-6, atol=1e-9 * scale)
    np.testing.assert_allclose(pfr.at(t_check), ref.y.T, rtol=1e-6, atol=1e-9 * scale)
