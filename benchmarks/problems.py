"""Benchmark problems from the Test Set for IVP Solvers (Mazzia, Magherini; Bari),
written as mass-action reaction lists, and the right-hand sides each tool gets.

Problems
--------
ROBER  3 species, 3 reactions, t in [0, 1e11]
HIRES  8 species, 15 reactions (one zero-order source), t in [0, 321.8122]
POLLU  20 species, 25 reactions, t in [0, 60]

Each problem is a :class:`Problem` holding species names, reactions
``(reactants {name: order}, products {name: coefficient}, k)``, ``y0``,
``t_end`` and the test set's reference ``y_end``. From that one list we build

(a) the kernel arrays: the 9-array ``model`` tuple and ``rate_params`` of
    :mod:`kernels.kinetics`, and the ``system`` tuple of :mod:`kernels.problems`
    (problem code BATCH = 0);
(b) a vectorised numpy right-hand side and analytic Jacobian for scipy;

and, independently of the reaction list,

(c) the test set's own f(y) formulas, transcribed literally (rates r_j, then
    f_i as sums of r_j), compiled into a Numba ``cfunc`` for numbalsoda.

:func:`check_rhs_agreement` evaluates (a), (b) and (c) at random states and
requires agreement to 1e-12 relative; since (c) is the test set's formula and
(a), (b) come from the reaction list, this also verifies the reaction lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
BATCH = 0  # kernels.problems.BATCH


@dataclass
class Problem:
    name: str
    species: list
    reactions: list          # [(reactants {name: order}, products {name: coeff}, k), ...]
    y0: np.ndarray
    t_end: float
    y_ref: np.ndarray
    atol_factor: float       # atol = atol_factor * rtol (scalar, same for every tool)
    error_floor: float       # components with |y_ref| below this are left out of the error
    source: str = ""
    notes: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n(self):
        return len(self.species)

    @property
    def m(self):
        return len(self.reactions)

    def index(self, name):
        return self.species.index(name)

    def net_stoichiometry(self):
        """Dense (m, n) matrix nu_ji = products - reactants."""
        S = np.zeros((self.m, self.n))
        for j, (reac, prod, _k) in enumerate(self.reactions):
            for s, o in reac.items():
                S[j, self.index(s)] -= _coefficient(s, reac, o)
            for s, c in prod.items():
                S[j, self.index(s)] += c
        return S

    def rate_constants(self):
        return np.array([k for (_r, _p, k) in self.reactions], dtype=np.float64)


def _coefficient(name, reactants, order):
    # Mass action: the stoichiometric coefficient of a reactant equals its order.
    return order


# ---------------------------------------------------------------------------
# Problem definitions
# ---------------------------------------------------------------------------

def _load_reference():
    path = DATA_DIR / "ivp_testset.json"
    return json.loads(path.read_text())


def rober():
    ref = _load_reference()["rober"]
    k = ref["rate_constants"]
    species = ["A", "B", "C"]
    reactions = [
        ({"A": 1}, {"B": 1}, k["k1"]),               # A -> B
        ({"B": 2}, {"B": 1, "C": 1}, k["k2"]),       # 2B -> B + C
        ({"B": 1, "C": 1}, {"A": 1, "C": 1}, k["k3"]),  # B + C -> A + C
    ]
    return Problem("ROBER", species, reactions, np.array(ref["y0"], float), float(ref["t_end"]),
                   np.array(ref["y_end"], float), atol_factor=1e-6, error_floor=1e-9,
                   source="Test Set for IVP Solvers (Bari), rober.f")


def hires():
    ref = _load_reference()["hires"]
    p = ref["parameters"]
    species = [f"y{i}" for i in range(1, 9)]
    k1, k2, k3, k4, k5, k6, k7, k8, k9, oks = (p[key] for key in
                                               ("k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "oks"))
    reactions = [
        ({}, {"y1": 1}, oks),                        # zero-order source of y1
        ({"y1": 1}, {"y2": 1}, k1),
        ({"y2": 1}, {"y1": 1}, k2),
        ({"y3": 1}, {"y1": 1}, k6),
        ({"y2": 1}, {"y4": 1}, k3),
        ({"y3": 1}, {"y4": 1}, k1),
        ({"y4": 1}, {"y3": 1}, k2),
        ({"y5": 1}, {"y3": 1}, k5),
        ({"y4": 1}, {"y6": 1}, k4),                  # f4 loses k4*y4, f6 gains k8*y4 (k4 = k8)
        ({"y5": 1}, {"y6": 1}, k1),
        ({"y6": 1}, {"y5": 1}, k2),
        ({"y6": 1, "y8": 1}, {"y7": 1}, k7),
        ({"y7": 1}, {"y5": 1, "y8": 1}, k2),
        ({"y7": 1}, {"y6": 1, "y8": 1}, k8),
        ({"y7": 1}, {"y8": 1}, k9),
    ]
    assert k4 == k8, "HIRES as mass action needs k4 == k8 (y4 -> y6)"
    return Problem("HIRES", species, reactions, np.array(ref["y0"], float), float(ref["t_end"]),
                   np.array(ref["y_end"], float), atol_factor=1e-4, error_floor=1e-7,
                   source="Test Set for IVP Solvers (Bari), hires.f")


# POLLU (Verwer 1994; Test Set for IVP Solvers, pollu.f). Rate constants, initial
# values and the reference solution at t = 60 are the test set's published numbers
# (reference computed there with RADAU5 in true double precision, rtol = atol = 1.1e-18).
POLLU_SPECIES = ["NO2", "NO", "O3P", "O3", "HO2", "OH", "HCHO", "CO", "ALD", "MEO2",
                 "C2O3", "CO2", "PAN", "CH3O", "HNO3", "O1D", "SO2", "SO4", "NO3", "N2O5"]
POLLU_K = [0.35, 0.266e2, 0.123e5, 0.86e-3, 0.82e-3, 0.15e5, 0.13e-3, 0.24e5, 0.165e5, 0.9e4,
           0.22e-1, 0.12e5, 0.188e1, 0.163e5, 0.48e7, 0.35e-3, 0.175e-1, 0.1e9, 0.444e12, 0.124e4,
           0.21e1, 0.578e1, 0.474e-1, 0.178e4, 0.312e1]
POLLU_Y0 = {"NO": 0.2, "O3": 0.04, "HCHO": 0.1, "CO": 0.3, "ALD": 0.01, "SO2": 0.007}
POLLU_YREF = [0.5646255480022769e-01, 0.1342484130422339e+00, 0.4139734331099427e-08,
              0.5523140207484359e-02, 0.2018977262302196e-06, 0.1464541863493966e-06,
              0.7784249118997964e-01, 0.3245075353396018e+00, 0.7494013383880406e-02,
              0.1622293157301561e-07, 0.1135863833257075e-07, 0.2230505975721359e-02,
              0.2087162882798630e-03, 0.1396921016840158e-04, 0.8964884856898295e-02,
              0.4352846369330103e-17, 0.6899219696263405e-02, 0.1007803037365946e-03,
              0.1772146513969984e-05, 0.5682943292316392e-04]
# (reactants, products) of r1..r25, read off the test set's f(y): a rate r_j that
# appears with a minus sign in f_i has species i as a reactant, with a plus sign as
# a product (r4 and r18 appear twice: coefficient 2).
POLLU_REACTIONS = [
    ({"NO2": 1}, {"NO": 1, "O3P": 1}),                         # r1
    ({"NO": 1, "O3": 1}, {"NO2": 1}),                          # r2
    ({"HO2": 1, "NO": 1}, {"NO2": 1, "OH": 1}),                # r3
    ({"HCHO": 1}, {"HO2": 2, "CO": 1}),                        # r4
    ({"HCHO": 1}, {"CO": 1}),                                  # r5
    ({"HCHO": 1, "OH": 1}, {"HO2": 1, "CO": 1}),               # r6
    ({"ALD": 1}, {"MEO2": 1, "HO2": 1, "CO": 1}),              # r7
    ({"ALD": 1, "OH": 1}, {"C2O3": 1}),                        # r8
    ({"C2O3": 1, "NO": 1}, {"NO2": 1, "MEO2": 1, "CO2": 1}),   # r9
    ({"C2O3": 1, "NO2": 1}, {"PAN": 1}),                       # r10
    ({"PAN": 1}, {"C2O3": 1, "NO2": 1}),                       # r11
    ({"MEO2": 1, "NO": 1}, {"CH3O": 1, "NO2": 1}),             # r12
    ({"CH3O": 1}, {"HCHO": 1, "HO2": 1}),                      # r13
    ({"NO2": 1, "OH": 1}, {"HNO3": 1}),                        # r14
    ({"O3P": 1}, {"O3": 1}),                                   # r15
    ({"O3": 1}, {"O1D": 1}),                                   # r16
    ({"O3": 1}, {"O3P": 1}),                                   # r17
    ({"O1D": 1}, {"OH": 2}),                                   # r18
    ({"O1D": 1}, {"O3P": 1}),                                  # r19
    ({"SO2": 1, "OH": 1}, {"SO4": 1, "HO2": 1}),               # r20
    ({"NO3": 1}, {"NO": 1}),                                   # r21
    ({"NO3": 1}, {"NO2": 1, "O3P": 1}),                        # r22
    ({"NO2": 1, "O3": 1}, {"NO3": 1}),                         # r23
    ({"NO3": 1, "NO2": 1}, {"N2O5": 1}),                       # r24
    ({"N2O5": 1}, {"NO3": 1, "NO2": 1}),                       # r25
]


def pollu():
    reactions = [(r, p, k) for (r, p), k in zip(POLLU_REACTIONS, POLLU_K)]
    y0 = np.array([POLLU_Y0.get(s, 0.0) for s in POLLU_SPECIES])
    return Problem("POLLU", list(POLLU_SPECIES), reactions, y0, 60.0, np.array(POLLU_YREF),
                   atol_factor=1e-6, error_floor=1e-9,
                   source="Test Set for IVP Solvers (Bari), pollu.f (Verwer 1994)")


def all_problems():
    return [rober(), hires(), pollu()]


# ---------------------------------------------------------------------------
# (a) kernel arrays
# ---------------------------------------------------------------------------

def _csr(rows):
    ptr, sp, val = [0], [], []
    for row in rows:
        for i, v in sorted(row.items()):
            sp.append(int(i))
            val.append(float(v))
        ptr.append(len(sp))
    return (np.array(ptr, dtype=np.int64), np.array(sp, dtype=np.int64),
            np.array(val, dtype=np.float64))


def kernel_model(problem):
    """``(model, rate_params)`` in the layout of :mod:`kernels.kinetics`."""
    idx = {s: i for i, s in enumerate(problem.species)}
    fwd_rows, net_rows = [], []
    S = problem.net_stoichiometry()
    for j, (reac, _prod, _k) in enumerate(problem.reactions):
        fwd_rows.append({idx[s]: o for s, o in reac.items()})
        net_rows.append({i: S[j, i] for i in range(problem.n) if S[j, i] != 0.0})
    m = problem.m
    model = (*_csr(fwd_rows), *_csr([{}] * m), *_csr(net_rows))
    fwd = np.zeros((m, 3))
    fwd[:, 0] = np.log(problem.rate_constants())   # k = exp(lnA); b = 0, Ea/R = 0
    rate_params = (np.zeros(m, dtype=np.int64), fwd, np.zeros((m, 3)))
    return model, rate_params


def kernel_system(problem, T=298.15):
    """The ``system`` tuple of :mod:`kernels.problems` (use with code BATCH = 0)."""
    from kernels.kinetics import rate_constants

    model, rate_params = kernel_model(problem)
    kf = np.zeros(problem.m)
    kr = np.zeros(problem.m)
    rate_constants(T, rate_params, kf, kr)
    params = np.zeros(1 + problem.n)
    # exactly one entry per reaction: kinetics.production_rates sizes its loop
    # over reactions by the length of this array (BATCH uses no other scratch)
    work = np.zeros(problem.m)
    return (model, rate_params, kf, kr, params, work)


# ---------------------------------------------------------------------------
# (b) numpy right-hand side and analytic Jacobian for scipy
# ---------------------------------------------------------------------------

class NumpyMassAction:
    """Vectorised mass action for reactions of order <= 2 (all three problems).

    Each reaction has up to two reactant slots (a, b); an empty slot points at an
    extra component fixed at 1.0, so q = k * y[a] * y[b] needs no branches.
    ``fun(t, y)`` and ``jac(t, y)`` follow scipy's ``solve_ivp`` conventions.
    """

    def __init__(self, problem):
        n, m = problem.n, problem.m
        a = np.full(m, n, dtype=np.intp)
        b = np.full(m, n, dtype=np.intp)
        for j, (reac, _p, _k) in enumerate(problem.reactions):
            slots = []
            for s, o in reac.items():
                if o not in (1, 2) or int(o) != o:
                    raise ValueError("NumpyMassAction handles integer orders 1 and 2 only")
                slots += [problem.index(s)] * int(o)
            if len(slots) > 2:
                raise ValueError("NumpyMassAction handles overall order <= 2 only")
            if len(slots) > 0:
                a[j] = slots[0]
            if len(slots) > 1:
                b[j] = slots[1]
        self.n, self.m = n, m
        self.a, self.b = a, b
        self.k = problem.rate_constants()
        self.ST = np.ascontiguousarray(problem.net_stoichiometry().T)   # (n, m)
        self._ye = np.ones(n + 1)
        self._rows = np.arange(m)
        self._D = np.zeros((m, n + 1))

    def fun(self, t, y):
        ye = self._ye
        ye[:-1] = y
        return self.ST @ (self.k * ye[self.a] * ye[self.b])

    def jac(self, t, y):
        ye = self._ye
        ye[:-1] = y
        D = self._D
        D[:] = 0.0
        rows = self._rows
        # d(k y_a y_b)/dy_a = k y_b, d/dy_b = k y_a (a == b gives 2 k y_a)
        np.add.at(D, (rows, self.a), self.k * ye[self.b])
        np.add.at(D, (rows, self.b), self.k * ye[self.a])
        return self.ST @ D[:, :-1]


# ---------------------------------------------------------------------------
# (c) the test set's formulas, literally, for numbalsoda
# ---------------------------------------------------------------------------

def _njit(fn):
    from numba import njit
    return njit(cache=True)(fn)


def _rober_f(y, f):
    f[0] = -0.04 * y[0] + 1.0e4 * y[1] * y[2]
    f[2] = 3.0e7 * y[1] * y[1]
    f[1] = -f[0] - f[2]


def _hires_f(y, f):
    k1, k2, k3, k4, k5, k6, k7, k8, k9 = 1.71, 0.43, 8.32, 0.69, 0.035, 8.32, 280.0, 0.69, 0.69
    oks = 0.0007
    f[0] = -k1 * y[0] + k2 * y[1] + k6 * y[2] + oks
    f[1] = k1 * y[0] - (k2 + k3) * y[1]
    f[2] = -(k6 + k1) * y[2] + k2 * y[3] + k5 * y[4]
    f[3] = k3 * y[1] + k1 * y[2] - (k4 + k2) * y[3]
    f[4] = -(k5 + k1) * y[4] + k2 * (y[5] + y[6])
    f[5] = -k7 * y[5] * y[7] + k8 * y[3] + k1 * y[4] - k2 * y[5] + k8 * y[6]
    f[6] = k7 * y[5] * y[7] - (k2 + k8 + k9) * y[6]
    f[7] = -f[6]


def _pollu_f(y, f):
    k1, k2, k3, k4, k5 = 0.35, 0.266e2, 0.123e5, 0.86e-3, 0.82e-3
    k6, k7, k8, k9, k10 = 0.15e5, 0.13e-3, 0.24e5, 0.165e5, 0.9e4
    k11, k12, k13, k14, k15 = 0.22e-1, 0.12e5, 0.188e1, 0.163e5, 0.48e7
    k16, k17, k18, k19, k20 = 0.35e-3, 0.175e-1, 0.1e9, 0.444e12, 0.124e4
    k21, k22, k23, k24, k25 = 0.21e1, 0.578e1, 0.474e-1, 0.178e4, 0.312e1
    r1 = k1 * y[0]
    r2 = k2 * y[1] * y[3]
    r3 = k3 * y[4] * y[1]
    r4 = k4 * y[6]
    r5 = k5 * y[6]
    r6 = k6 * y[6] * y[5]
    r7 = k7 * y[8]
    r8 = k8 * y[8] * y[5]
    r9 = k9 * y[10] * y[1]
    r10 = k10 * y[10] * y[0]
    r11 = k11 * y[12]
    r12 = k12 * y[9] * y[1]
    r13 = k13 * y[13]
    r14 = k14 * y[0] * y[5]
    r15 = k15 * y[2]
    r16 = k16 * y[3]
    r17 = k17 * y[3]
    r18 = k18 * y[15]
    r19 = k19 * y[15]
    r20 = k20 * y[16] * y[5]
    r21 = k21 * y[18]
    r22 = k22 * y[18]
    r23 = k23 * y[0] * y[3]
    r24 = k24 * y[18] * y[0]
    r25 = k25 * y[19]
    f[0] = -r1 - r10 - r14 - r23 - r24 + r2 + r3 + r9 + r11 + r12 + r22 + r25
    f[1] = -r2 - r3 - r9 - r12 + r1 + r21
    f[2] = -r15 + r1 + r17 + r19 + r22
    f[3] = -r2 - r16 - r17 - r23 + r15
    f[4] = -r3 + r4 + r4 + r6 + r7 + r13 + r20
    f[5] = -r6 - r8 - r14 - r20 + r3 + r18 + r18
    f[6] = -r4 - r5 - r6 + r13
    f[7] = r4 + r5 + r6 + r7
    f[8] = -r7 - r8
    f[9] = -r12 + r7 + r9
    f[10] = -r9 - r10 + r8 + r11
    f[11] = r9
    f[12] = -r11 + r10
    f[13] = -r13 + r12
    f[14] = r14
    f[15] = -r18 - r19 + r16
    f[16] = -r20
    f[17] = r20
    f[18] = -r21 - r22 - r24 + r23 + r25
    f[19] = -r25 + r24


_LITERAL = {"ROBER": _rober_f, "HIRES": _hires_f, "POLLU": _pollu_f}
_COMPILED = {}


def literal_rhs(problem):
    """The test set's f(y) as a jitted ``f(y, out)`` (independent of the reaction list)."""
    if problem.name not in _COMPILED:
        _COMPILED[problem.name] = _njit(_LITERAL[problem.name])
    return _COMPILED[problem.name]


_CFUNCS = {}


def numbalsoda_rhs(problem, counting=False):
    """A Numba ``cfunc`` with numbalsoda's signature ``f(t, u*, du*, p*)``.

    With ``counting=True`` every call adds 1 to ``p[0]`` (to count f evaluations;
    the timed runs use the plain version).
    """
    key = (problem.name, counting)
    if key in _CFUNCS:
        return _CFUNCS[key]
    from numba import carray, cfunc
    from numbalsoda import lsoda_sig

    f = literal_rhs(problem)
    n = problem.n

    if counting:
        def rhs(t, u_, du_, p_):
            u = carray(u_, (n,))
            du = carray(du_, (n,))
            p = carray(p_, (1,))
            p[0] += 1.0
            f(u, du)
    else:
        def rhs(t, u_, du_, p_):
            u = carray(u_, (n,))
            du = carray(du_, (n,))
            f(u, du)
    _CFUNCS[key] = cfunc(lsoda_sig)(rhs)
    return _CFUNCS[key]


# ---------------------------------------------------------------------------
# Agreement check of the three right-hand sides
# ---------------------------------------------------------------------------

def check_rhs_agreement(problem, n_states=200, seed=0, rtol=1e-12):
    """Max relative disagreement between (a) kernel, (b) numpy, (c) literal f(y).

    States are drawn log-uniformly over 1e-12..1 (times the largest y0), with some
    components set to exactly zero. The difference of each f_i is scaled by the sum
    of the magnitudes of the terms that make it up (|S^T| |q|), the size of
    f_i's round-off. Also checks the kernel Jacobian against the numpy Jacobian and
    the numpy Jacobian against central differences of the literal f.
    Returns a dict of the worst values; raises AssertionError above ``rtol``.
    """
    from kernels.problems import jacobian, rhs

    rng = np.random.default_rng(seed)
    system = kernel_system(problem)
    npm = NumpyMassAction(problem)
    lit = literal_rhs(problem)
    n = problem.n
    scale = max(float(np.max(problem.y0)), 1.0)
    absST = np.abs(npm.ST)
    worst_f = worst_j = worst_fd = 0.0
    fa = np.empty(n)
    fc = np.empty(n)
    Ja = np.empty((n, n))
    for trial in range(n_states):
        y = scale * 10.0 ** rng.uniform(-12, 0, n)
        if trial % 4 == 1:
            y[rng.random(n) < 0.3] = 0.0
        rhs(BATCH, 0.0, y, system, fa)
        fb = npm.fun(0.0, y)
        lit(y, fc)
        ye = np.append(y, 1.0)
        mag = absST @ (npm.k * ye[npm.a] * ye[npm.b]) + 1e-300
        d = max(np.max(np.abs(fa - fb) / mag), np.max(np.abs(fa - fc) / mag))
        worst_f = max(worst_f, d)
        jacobian(BATCH, 0.0, y, system, Ja)
        Jb = npm.jac(0.0, y)
        jmag = np.abs(npm.ST) @ np.abs(npm._D[:, :-1]) + 1e-300
        worst_j = max(worst_j, float(np.max(np.abs(Ja - Jb) / jmag)))
        if trial < 20:
            # central differences of the literal formula at a moderate state; all
            # problems are at most quadratic, so the central quotient is exact up to
            # round-off, which is judged against each row's largest entry
            yv = scale * rng.uniform(0.1, 1.0, n)
            Jv = npm.jac(0.0, yv)
            Jfd = np.empty((n, n))
            fp = np.empty(n)
            fm = np.empty(n)
            hstep = 1e-3 * scale
            for c in range(n):
                yp = yv.copy()
                ym = yv.copy()
                yp[c] += hstep
                ym[c] -= hstep
                lit(yp, fp)
                lit(ym, fm)
                Jfd[:, c] = (fp - fm) / (2 * hstep)
            rowmax = np.max(np.abs(Jv), axis=1, keepdims=True) + 1e-300
            worst_fd = max(worst_fd, float(np.max(np.abs(Jfd - Jv) / rowmax)))
    assert worst_f <= rtol, f"{problem.name}: right-hand sides disagree ({worst_f:.2e})"
    assert worst_j <= rtol, f"{problem.name}: Jacobians disagree ({worst_j:.2e})"
    assert worst_fd <= 1e-6, f"{problem.name}: Jacobian vs finite differences ({worst_fd:.2e})"
    return {"rhs_max_rel_diff": worst_f, "jac_max_rel_diff": worst_j, "jac_vs_fd": worst_fd}


if __name__ == "__main__":
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for p in all_problems():
        print(p.name, check_rhs_agreement(p))
