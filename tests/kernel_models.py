"""Build kernel model/system tuples from plain Python lists (test and benchmark helper).

A reaction is a dict::

    {"reactants": {i: order, ...},      # forward rate orders (species index -> order)
     "net": {i: nu, ...},               # net stoichiometry (products minus reactants)
     "k": 0.04,                         # constant forward rate constant, or
     "fwd": (lnA, b, Ea_over_R),        # modified Arrhenius parameters
     "rev_kind": 0 | 1 | 2,             # optional, see kernels.kinetics
     "rev": (p0, p1, p2),               # reverse Arrhenius or (lnK_ref, 1/T_ref, dH/R)
     "rev_orders": {i: order}}          # reverse rate orders

``make_system`` returns the ``system`` tuple of :mod:`kernels.problems` with the
rate constants filled at temperature ``T``.
"""

import json
from pathlib import Path

import numpy as np

from kernels.kinetics import rate_constants
from kernels.problems import BATCH, CSTR_TRANSIENT

_HERE = Path(__file__).resolve().parent
REFERENCE_CANDIDATES = (
    _HERE / "data" / "ivp_testset.json",
    _HERE.parents[1] / "shared" / "reference" / "ivp_testset.json",
)


def load_ivp_reference():
    """The Bari IVP test-set reference values (tests/data copy first)."""
    for path in REFERENCE_CANDIDATES:
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError("ivp_testset.json not found in " + ", ".join(map(str, REFERENCE_CANDIDATES)))


def _csr(rows):
    ptr = [0]
    sp = []
    val = []
    for row in rows:
        for i, v in sorted(row.items()):
            sp.append(int(i))
            val.append(float(v))
        ptr.append(len(sp))
    return (np.array(ptr, dtype=np.int64), np.array(sp, dtype=np.int64),
            np.array(val, dtype=np.float64))


def make_model(reactions):
    """(model, rate_params) arrays in the kernels.kinetics layout."""
    m = len(reactions)
    r = _csr([rx.get("reactants", {}) for rx in reactions])
    p = _csr([rx.get("rev_orders", {}) if rx.get("rev_kind", 0) else {} for rx in reactions])
    s = _csr([rx.get("net", {}) for rx in reactions])
    model = r + p + s
    rev_kind = np.zeros(m, dtype=np.int64)
    fwd = np.zeros((m, 3))
    rev = np.zeros((m, 3))
    for j, rx in enumerate(reactions):
        if "fwd" in rx:
            fwd[j] = rx["fwd"]
        else:
            fwd[j] = (np.log(rx["k"]), 0.0, 0.0)
        rev_kind[j] = int(rx.get("rev_kind", 0))
        if rev_kind[j]:
            rev[j] = rx["rev"]
    return model, (rev_kind, fwd, rev)


def make_system(reactions, n_species, code=BATCH, params=None, T=298.15):
    """The ``system`` tuple of kernels.problems for a list of reactions."""
    model, rate_params = make_model(reactions)
    m = len(reactions)
    kf = np.zeros(m)
    kr = np.zeros(m)
    rate_constants(float(T), rate_params, kf, kr)
    if params is None:
        params = np.zeros(1 + n_species) if code == CSTR_TRANSIENT else np.zeros(1)
    params = np.ascontiguousarray(params, dtype=np.float64)
    work = np.zeros(max(m, 1))
    return (model, rate_params, kf, kr, params, work)


def cstr_params(tau, c_in):
    """params array of the CSTR_TRANSIENT problem: [1/tau, c_in...]."""
    return np.concatenate([[1.0 / tau], np.asarray(c_in, dtype=np.float64)])


# ---------------------------------------------------------------- test problems
def first_order(k=2.0):
    """A -> B, rate k A: A = A0 exp(-k t)."""
    return make_system([{"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k}], 2)


def second_order(k=0.5):
    """2A -> B, rate k A^2: dA/dt = -2 k A^2, A = A0 / (1 + 2 k A0 t)."""
    return make_system([{"reactants": {0: 2}, "net": {0: -2, 1: 1}, "k": k}], 2)


def max_rel_err(y, y_ref):
    """Largest relative deviation of ``y`` from ``y_ref``, componentwise."""
    return np.max(np.abs(np.asarray(y) / np.asarray(y_ref) - 1.0))


def rober_reactions(k1=0.04, k2=3.0e7, k3=1.0e4):
    """Robertson: A -> B (k1), 2B -> B + C (k2), B + C -> A + C (k3)."""
    return [
        {"reactants": {0: 1}, "net": {0: -1, 1: 1}, "k": k1},
        {"reactants": {1: 2}, "net": {1: -1, 2: 1}, "k": k2},
        {"reactants": {1: 1, 2: 1}, "net": {1: -1, 0: 1}, "k": k3},
    ]


def rober_system():
    ref = load_ivp_reference()["rober"]["rate_constants"]
    return make_system(rober_reactions(ref["k1"], ref["k2"], ref["k3"]), 3)


def hires_reactions(p):
    """HIRES as a mass-action network (species y1..y8 -> indices 0..7)."""
    k1, k2, k3, k4, k5, k6, k7, k8, k9, oks = (
        p["k1"], p["k2"], p["k3"], p["k4"], p["k5"], p["k6"], p["k7"], p["k8"], p["k9"], p["oks"])

    def first(a, net, k):
        return {"reactants": {a: 1}, "net": net, "k": k}

    return [
        first(0, {0: -1, 1: 1}, k1),          # y1 -> y2
        first(1, {1: -1, 0: 1}, k2),          # y2 -> y1
        first(2, {2: -1, 0: 1}, k6),          # y3 -> y1
        {"reactants": {}, "net": {0: 1}, "k": oks},  # -> y1 (zero order)
        first(1, {1: -1, 3: 1}, k3),          # y2 -> y4
        first(2, {2: -1, 3: 1}, k1),          # y3 -> y4
        first(3, {3: -1, 2: 1}, k2),          # y4 -> y3
        first(3, {3: -1}, k4),                # y4 -> (nothing)
        first(4, {4: -1, 2: 1}, k5),          # y5 -> y3
        first(4, {4: -1, 5: 1}, k1),          # y5 -> y6
        first(3, {5: 1}, k8),                 # y4 -> y4 + y6
        first(5, {5: -1, 4: 1}, k2),          # y6 -> y5
        {"reactants": {5: 1, 7: 1}, "net": {5: -1, 7: -1, 6: 1}, "k": k7},  # y6 + y8 -> y7
        first(6, {6: -1, 4: 1, 7: 1}, k2),    # y7 -> y5 + y8
        first(6, {6: -1, 5: 1, 7: 1}, k8),    # y7 -> y6 + y8
        first(6, {6: -1, 7: 1}, k9),          # y7 -> y8
    ]


def hires_system():
    p = load_ivp_reference()["hires"]["parameters"]
    return make_system(hires_reactions(p), 8)


def hires_rhs_numpy(y, p):
    """HIRES f1..f8 written directly from the test-set formulas."""
    k1, k2, k3, k4, k5, k6, k7, k8, k9, oks = (
        p["k1"], p["k2"], p["k3"], p["k4"], p["k5"], p["k6"], p["k7"], p["k8"], p["k9"], p["oks"])
    f = np.empty(8)
    f[0] = -k1 * y[0] + k2 * y[1] + k6 * y[2] + oks
    f[1] = k1 * y[0] - (k2 + k3) * y[1]
    f[2] = -(k6 + k1) * y[2] + k2 * y[3] + k5 * y[4]
    f[3] = k3 * y[1] + k1 * y[2] - (k4 + k2) * y[3]
    f[4] = -(k5 + k1) * y[4] + k2 * (y[5] + y[6])
    f[5] = -k7 * y[5] * y[7] + k8 * y[3] + k1 * y[4] - k2 * y[5] + k8 * y[6]
    f[6] = k7 * y[5] * y[7] - (k2 + k8 + k9) * y[6]
    f[7] = -f[6]
    return f


def rober_rhs_numpy(y, k1=0.04, k2=3.0e7, k3=1.0e4):
    return np.array([
        -k1 * y[0] + k3 * y[1] * y[2],
        k1 * y[0] - k3 * y[1] * y[2] - k2 * y[1] ** 2,
        k2 * y[1] ** 2,
    ])


# ---------------------------------------------------------- every problem code
def problem_system(reactions, n_state, code, T=298.15, tau=1.0, y_in=None, ua_over_rho_cp=0.0,
                   T_coolant=300.0):
    """The ``system`` tuple of :mod:`kernels.problems` for any problem code.

    ``n_state`` counts every state entry; with an energy balance
    (BATCH_ENERGY, CSTR_ENERGY) the last one is the temperature and each
    reaction's ``net`` carries its temperature rise per unit extent
    (-dH/(rho cp), K m^3/mol) at that index. ``params`` holds
    ``[1/tau, y_in..., Ua/(rho cp), T_coolant]`` (kernels.problems), ``work``
    two entries per reaction (the energy Jacobian needs both).
    """
    model, rate_params = make_model(reactions)
    m = len(reactions)
    kf = np.zeros(m)
    kr = np.zeros(m)
    rate_constants(float(T), rate_params, kf, kr)
    params = np.zeros(1 + n_state + 2)
    params[0] = 1.0 / tau
    if y_in is not None:
        params[1:1 + n_state] = y_in
    params[1 + n_state] = ua_over_rho_cp
    params[2 + n_state] = T_coolant
    work = np.zeros(max(2 * m, 1))
    return (model, rate_params, kf, kr, params, work)


def random_slot_reactions(rng, n_species, m, temperature_index=None):
    """``m`` random mass-action reactions among ``n_species`` species with
    integer orders of total at most 3 per direction (the slot form of
    kernels.kinetics), a third of them reversible (reverse Arrhenius or van 't
    Hoff); moderate Arrhenius parameters. With ``temperature_index`` each
    reaction also changes that state entry (a temperature rise per extent)."""
    reactions = []
    for _ in range(m):
        reactants = {}
        for _ in range(int(rng.integers(0, 4))):
            i = int(rng.integers(n_species))
            reactants[i] = reactants.get(i, 0) + 1
        products = {}
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(n_species))
            products[i] = products.get(i, 0) + 1
        net = {i: -float(o) for i, o in reactants.items()}
        for i, nu in products.items():
            net[i] = net.get(i, 0.0) + nu
        if temperature_index is not None:
            net[temperature_index] = float(rng.uniform(-0.02, 0.02))
        rx = {"reactants": {i: float(o) for i, o in reactants.items()}, "net": net,
              "fwd": (float(rng.uniform(-3.0, 3.0)), float(rng.uniform(-1.0, 1.0)),
                      float(rng.uniform(0.0, 3000.0)))}
        kind = int(rng.choice([0, 0, 1, 2]))
        if kind and sum(products.values()) <= 3:
            rx["rev_kind"] = kind
            rx["rev_orders"] = {i: float(o) for i, o in products.items()}
            if kind == 1:
                rx["rev"] = (float(rng.uniform(-3.0, 3.0)), float(rng.uniform(-1.0, 1.0)),
                             float(rng.uniform(0.0, 3000.0)))
            else:
                rx["rev"] = (float(rng.uniform(-2.0, 2.0)), 1.0 / 300.0,
                             float(rng.uniform(-3000.0, 3000.0)))
        reactions.append(rx)
    return reactions


def general_path_twin(system):
    """The same equations in a form the integrators' slot-form paths refuse.

    The reverse-order CSR pointer gets one trailing entry more:
    :func:`kernels.kinetics.slot_plan` checks its length and refuses, while
    :func:`kernels.problems.rhs` and ``jacobian`` only read its first m + 1
    entries. A driver then runs its general path (rhs, jacobian, dense LU) on
    identical equations; rate constants, params and scratch are copied.
    """
    model, rate_params, kf, kr, params, work = system
    p_ptr = np.append(model[3], model[3][-1])
    twin = model[:3] + (p_ptr,) + model[4:]
    return (twin, rate_params, kf.copy(), kr.copy(), params.copy(), work.copy())
