"""Kinetic models written out here, independently of flowchem (test helper for
the fitting tests): closed forms, a scipy ``solve_ivp`` model, central
differences with a step study, and tidy-CSV writing.

* ``consecutive``: A -> B -> C, both first order, in a batch reactor or a
  plug-flow reactor (residence time for time):
  A = a0 e^{-k1 t}, B = b0 e^{-k2 t} + a0 k1/(k2 - k1) (e^{-k1 t} - e^{-k2 t}),
  C = a0 + b0 + c0 - A - B (Levenspiel, Chemical Reaction Engineering, 3rd ed., eq. 3.47).
* ``consecutive_cstr``: the same in one stirred tank at steady state,
  A = a0/(1 + k1 tau), B = (b0 + k1 tau A)/(1 + k2 tau).
* ``arrhenius``: k(T) = k_ref exp(-Ea/R (1/T - 1/T_ref)).

Everything is SI (mol/m^3, s, K, J/mol).
"""

import numpy as np

R = 8.314462618          # J/(mol K), CODATA 2018 (exact since the 2019 SI)
T0 = 273.15


def arrhenius(k_ref, Ea, T_ref, T):
    return k_ref * np.exp(-Ea / R * (1.0 / np.asarray(T, float) - 1.0 / T_ref))


def consecutive(a0, k1, k2, t, b0=0.0, c0=0.0):
    """(m, 3) concentrations of A, B, C for A -> B -> C in a batch or plug-flow reactor."""
    t = np.asarray(t, float)
    A = a0 * np.exp(-k1 * t)
    B = b0 * np.exp(-k2 * t) + a0 * k1 / (k2 - k1) * (np.exp(-k1 * t) - np.exp(-k2 * t))
    return np.c_[A, B, a0 + b0 + c0 - A - B]


def consecutive_cstr(a0, k1, k2, tau, b0=0.0, c0=0.0):
    """(3,) steady outlet of one stirred tank for A -> B -> C."""
    A = a0 / (1.0 + k1 * tau)
    B = (b0 + k1 * tau * A) / (1.0 + k2 * tau)
    return np.array([A, B, a0 + b0 + c0 - A - B])


def central_jacobian(fun, x, h):
    """Central differences of ``fun`` (vector valued) at ``x`` with step ``h``."""
    x = np.asarray(x, float)
    f0 = np.asarray(fun(x), float)
    J = np.empty((f0.size, x.size))
    for k in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp[k] += h
        xm[k] -= h
        J[:, k] = (np.asarray(fun(xp)) - np.asarray(fun(xm))) / (2.0 * h)
    return J


def reference_jacobian(fun, x, h=1e-5, check=1e-6):
    """Central differences at step ``h``, with a step study: the result at ``10 h``
    must agree to ``check`` (relative to each column's largest entry), which
    bounds the truncation error of the returned Jacobian (it scales as h^2, so
    at ``h`` it is about 100 times smaller than that difference)."""
    J = central_jacobian(fun, x, h)
    J10 = central_jacobian(fun, x, 10.0 * h)
    scale = np.max(np.abs(J), axis=0)
    scale[scale == 0] = 1.0
    spread = np.max(np.abs(J10 - J), axis=0) / scale
    assert np.all(spread < check), f"reference Jacobian not converged in the step: {spread}"
    return J


def write_csv(path, header, rows, comment=None):
    """Write a tidy data file (rows of values; None is an empty cell)."""
    lines = [f"# {line}" for line in (comment or "").splitlines()]
    lines.append(",".join(header))
    for row in rows:
        lines.append(",".join("" if v is None else (v if isinstance(v, str) else repr(float(v)))
                              for v in row))
    path.write_text("\n".join(lines) + "\n")
    return path


def binomial_band(n, p, level=0.999):
    """Two-sided acceptance band [lo, hi] of a Binomial(n, p) count at ``level``:
    P(X < lo) <= (1 - level)/2 and P(X > hi) <= (1 - level)/2."""
    from scipy.stats import binom

    a = (1.0 - level) / 2.0
    # ppf: the smallest x with P(X <= x) >= a, so P(X < x) < a;
    # isf: the smallest x with P(X > x) <= a
    return int(binom.ppf(a, n, p)), int(binom.isf(a, n, p))
