"""Ranked sensitivity of a gas reactor's result to each reaction's rate constant.

:func:`reaction_sensitivities` returns ``d ln Q / d ln k_j`` for every
reaction ``j`` of the mechanism, where ``Q`` is the ignition delay of a
:class:`~flowchem.reactors.gas.GasBatchReactor` (or its T or a mole fraction
at the end of the run), or the outlet T or an outlet mole fraction of a
:class:`~flowchem.reactors.gas.GasPFR`. Scaling ``k_j`` scales all of the
reaction's rate expressions by the same factor (as Cantera's
``Kinetics.set_multiplier``): the Arrhenius rate of an elementary or
three-body reaction, both k_inf and k_0 of a falloff or chemically activated
one (so the reduced pressure is unchanged), and every Arrhenius term of every
PLOG level. The reverse rate follows through K_c.

Methods
-------
``method="forward"`` (default): forward sensitivities ``s_j = dy/d ln k_j``
of all reactions at once, from one BDF solve of the states (error control on
the states only) and one staggered direct pass over its steps
(:func:`kernels.gas_sensitivity.bdf_sensitivity_replay`): per step one
Jacobian, one inverse of ``I - c J`` and one product for all reactions. An
outlet T gives ``s_T / T``; a mole fraction ``X_i = phi_i / sum phi`` gives
``s_i / phi_i - sum_k s_k / sum phi``. The ignition delay tau, where
``w = dT/dt`` is largest, is located as
:func:`~flowchem.reactors.gas.ignition_delay` locates it, and differentiated
by the implicit-function theorem on ``dw/dt (tau) = 0``::

    d tau / d ln k = -(dv/dt) / (d^2 w / dt^2)  at tau,
    v = dw / d ln k = J_T s + d f_T / d ln k

with both time derivatives taken by fourth-order central differences of w
and v on points of the dense output 5 % and 10 % of the peak's width apart,
extrapolated (:data:`IGNITION_STENCIL`). Not the derivative of the parabola through three
points of the refinement grid (the estimator :func:`ignition_delay` uses for
the value): those points lie a hundredth of a step apart, and the dense
output's slope jumps slightly at every step, so their second difference
carries errors of 1e-5 to 1e-4 (measured on gri30, varying with the
tolerance), where the wider stencil is converged to about 1e-6.

``method="finite-difference"`` (the check): central differences in
``ln k_j``: the mechanism's arrays are copied with ``+-step`` added to the
``ln|A|`` column of the reaction's rows, and the reactor is rerun on the
copy. Every perturbed mechanism has the arrays of the same types as the
original, so one Numba compilation of the gas kernels serves them all; each
run builds a fresh kernel workspace (no stale cached rate constants). The
integrations are tightened to ``rtol`` (default 1e-9) so that the
integration error, about ``rtol / step`` in the sensitivity, is far below
the truncation error ``O(step^2)`` of the difference.

>>> import flowchem as fc
>>> r = fc.GasBatchReactor("h2o2.yaml", T=1100, P="1 atm", X="H2:2, O2:1, AR:7")
>>> s = fc.reaction_sensitivities(r, "ignition_delay", t_end=1e-3)   # doctest: +SKIP
>>> s[0].equation, s[0].sensitivity                                 # doctest: +SKIP
('H + O2 <=> O + OH', -0.8757...)
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from ..core.errors import InputError, Location, SolverError
from ..core.units import parse_quantity
from .gas import GasBatchReactor, GasPFR, ignition_delay
from .solver import SolverOptions

__all__ = ["reaction_sensitivities", "ReactionSensitivities", "ReactionSensitivity",
           "scale_reaction_rates"]

# default integrator tolerance of the perturbed runs and the step in ln k:
# with rtol 1e-9 the integration noise in the difference is ~1e-6, the
# truncation error ~step^2 = 1e-6 of the third derivative
DEFAULT_RTOL = 1.0e-9
DEFAULT_STEP = 1.0e-3
# the cheap screen (``top=N``): one-sided differences at a looser tolerance
# and a larger step, good enough to rank
SCREEN_RTOL = 1.0e-7
SCREEN_STEP = 2.0e-2
# the perturbed ignition runs stop this far past the unperturbed ignition
# delay (the maximum of dT/dt must lie inside the run, nothing after it counts)
IGNITION_RUN_FACTOR = 1.5
# the ignition delay's derivative comes from d^2(dT/dt)/dt^2 and
# d^2(dT/dt)/dt d ln k by fourth-order central differences on points this
# fraction of the peak's width sqrt(w / |w''|) apart and twice that,
# extrapolated (Richardson): wide enough that the kinks of the dense output
# between steps (its error's slope jumps at every step) stay out of the
# differences. Measured against central differences in ln k (h2o2, gri30):
# 2e-5 at this spacing alone, 3e-4 at twice it, 1e-6 extrapolated.
IGNITION_STENCIL = 0.05
FORWARD = "forward"
FINITE_DIFFERENCE = "finite-difference"
METHODS = (FORWARD, FINITE_DIFFERENCE)
# the forward pass replays the solver's difference table of the states: a
# mismatch above this (relative to each component's scale; round-off is
# 1e-13 to 1e-10) means it did not follow the solver's steps and orders (a
# wrong order or spacing gives order one)
REPLAY_MISMATCH_TOL = 1.0e-6

# model positions (kernels.gas_kinetics): rows whose column 0 is ln|A|
_HIGH, _LOW, _PLOG_PTR, _PLOG_RPTR, _PLOG_RATES = 12, 13, 20, 22, 23


def scale_reaction_rates(gk, factors):
    """A copy of the GasKinetics ``gk`` with the rate constant of reaction j
    multiplied by ``exp(factors[j])`` (``factors``: ln multipliers, one per
    reaction). All of a reaction's rate expressions are scaled: k of an
    elementary or three-body reaction, k_inf and k_0 of falloff and chemically
    activated ones, every Arrhenius term of every PLOG level. The arrays keep
    their types, so the compiled kernels are reused."""
    factors = np.asarray(factors, dtype=float)
    if factors.shape != (gk.n_reactions,):
        raise InputError(f"expected {gk.n_reactions} ln multipliers, got shape {factors.shape}",
                         "<python>", "scale_reaction_rates")
    model = list(gk.model)
    high = model[_HIGH].copy()
    low = model[_LOW].copy()
    plog = model[_PLOG_RATES].copy()
    # NaN rows (unused limits) stay NaN, -inf (A = 0) stays -inf
    high[:, 0] += factors
    low[:, 0] += factors
    plog_ptr, plog_rptr = model[_PLOG_PTR], model[_PLOG_RPTR]
    for j in np.nonzero(factors)[0]:
        for lev in range(plog_ptr[j], plog_ptr[j + 1]):
            plog[plog_rptr[lev]:plog_rptr[lev + 1], 0] += factors[j]
    model[_HIGH], model[_LOW], model[_PLOG_RATES] = high, low, plog
    return dataclasses.replace(gk, model=tuple(model))


@dataclass(frozen=True)
class ReactionSensitivity:
    """One row of the ranking: ``reaction`` (index among the mechanism's kept
    reactions), ``cantera_index`` (its index in the Cantera file),
    ``equation`` and ``sensitivity`` = d ln Q / d ln k."""

    reaction: int
    cantera_index: int
    equation: str
    sensitivity: float

    def to_dict(self):
        return dataclasses.asdict(self)


class ReactionSensitivities:
    """Reactions ranked by |d ln Q / d ln k_j|, most influential first.

    Attributes
    ----------
    quantity : str
        What Q is (``"ignition_delay"``, ``"T"`` or a species' mole fraction).
    value : float
        Q of the unperturbed reactor (s for the ignition delay, K, or a mole fraction).
    rows : list of ReactionSensitivity
        The ranking (all reactions, or the ``top`` refined ones).
    screen : dict or None
        With ``top``: reaction index -> screened (one-sided, loose) sensitivity
        of every reaction.
    method : str
        ``"forward"`` or ``"finite-difference"``.
    step, rtol : float
        The central-difference step in ln k (None for the forward method) and
        the integrator tolerance.
    runs : int
        Reactor runs made; ``seconds`` their wall time (with the forward
        pass).
    stats : dict
        The forward method's state solve: integrator counters and
        ``replay_mismatch`` (see :data:`REPLAY_MISMATCH_TOL`); empty otherwise.
    """

    def __init__(self, quantity, value, rows, *, step, rtol, runs, seconds, screen=None,
                 method=FINITE_DIFFERENCE, stats=None):
        self.method = method
        self.stats = dict(stats or {})
        self.quantity = quantity
        self.value = value
        self.rows = sorted(rows, key=lambda r: -abs(r.sensitivity))
        self.step = step
        self.rtol = rtol
        self.runs = runs
        self.seconds = seconds
        self.screen = screen

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def by_reaction(self):
        """reaction index -> sensitivity."""
        return {r.reaction: r.sensitivity for r in self.rows}

    def table(self, n=None):
        """The ranking as text: rank, reaction index, sensitivity, equation."""
        rows = self.rows if n is None else self.rows[:n]
        lines = [f"d ln({self.quantity}) / d ln k   ({self.quantity} = {self.value:.6g})",
                 f"{'rank':>4}  {'#':>4}  {'sensitivity':>12}  equation"]
        for rank, r in enumerate(rows, 1):
            lines.append(f"{rank:>4}  {r.reaction:>4}  {r.sensitivity:>12.5g}  {r.equation}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    def to_dict(self):
        out = {"kind": "reaction_sensitivities", "quantity": self.quantity,
               "value": self.value, "method": self.method,
               "step": self.step, "rtol": self.rtol, "runs": self.runs,
               "seconds": self.seconds, "reactions": [r.to_dict() for r in self.rows]}
        if self.screen is not None:
            out["screen"] = {str(j): s for j, s in self.screen.items()}
        if self.stats:
            out["stats"] = dict(self.stats)
        return out


def _evaluator(reactor, quantity, t_end, inlet, where):
    """(function gk, options -> Q, label) for the reactor and quantity."""
    gk = reactor.gas
    names = list(gk.species_names)

    def pick(T, X):
        if quantity == "T":
            return float(T)
        return float(X[names.index(quantity)])

    if quantity != "T" and quantity != "ignition_delay" and quantity not in names:
        raise where.key("quantity").error(
            f"expected 'ignition_delay' (batch), 'T' or a species of the mechanism, got {quantity!r}")
    if isinstance(reactor, GasBatchReactor):
        if t_end is None:
            raise where.key("t_end").error("a batch reactor needs t_end (the run length)")
        t_end = parse_quantity(t_end, "time", where=where.key("t_end"), positive=True)

        def run(g, options, t_stop=t_end):
            r = copy.copy(reactor)
            r.gas, r.options = g, options
            res = r.run(t_stop, times=np.array([0.0, t_stop]))
            if quantity == "ignition_delay":
                return ignition_delay(res)
            return pick(res.T[-1], res.X[-1])
        return run
    if isinstance(reactor, GasPFR):
        if quantity == "ignition_delay":
            raise where.key("quantity").error("a plug-flow reactor has no ignition delay; "
                                              "use 'T' or a species at the outlet")
        if inlet is None:
            raise where.key("inlet").error("a plug-flow reactor needs its inlet")

        def run(g, options, t_stop=None):
            r = copy.copy(reactor)
            r.gas, r.options, r.points = g, options, 2
            res = r.run(inlet)
            return pick(res.T[-1], res.X[-1])
        return run
    raise where.error("expected a GasBatchReactor or a GasPFR, got "
                      f"{type(reactor).__name__}")


def _ignition_parabola(result):
    """The three refinement-grid points :func:`~flowchem.reactors.gas.ignition_delay`
    puts its parabola through: ``(tau, largest dT/dt, its curvature)``, with
    ``tau`` computed by the same arithmetic.

    Raises
    ------
    InputError
        No ignition inside the run (as :func:`ignition_delay`).
    SolverError
        The largest dT/dt of the grid lies at its edge (no parabola, so no
        derivative): use ``method="finite-difference"``.
    """
    from .gas import IGNITION_REFINE_POINTS

    sol = result.solution
    t = sol.t
    rates = result.heating_rates(sol.y)
    i = int(np.argmax(rates))
    if i == 0 or i == len(t) - 1 or not rates[i] > 0.0:
        ignition_delay(result)          # raises its InputError
    grid = np.linspace(t[i - 1], t[i + 1], IGNITION_REFINE_POINTS)
    d = result.heating_rates(sol(grid))
    j = int(np.argmax(d))
    y0, y1, y2 = d[j - 1:j + 2] if 0 < j < len(grid) - 1 else (0.0, 0.0, 0.0)
    den = y0 - 2.0 * y1 + y2
    if j == 0 or j == len(grid) - 1 or not den < 0.0:
        raise SolverError("reaction sensitivities of ignition_delay",
                          "the largest dT/dt is not inside its refinement grid; "
                          "use method='finite-difference'")
    h = grid[1] - grid[0]
    tau = float(grid[j] + 0.5 * (y0 - y2) / den * h)
    return tau, float(y1), float(den / (h * h))


def _second_derivative(f, h):
    """f'' at the middle of five points h apart (error h^4 f^(6) / 90)."""
    return (-f[0] + 16.0 * f[1] - 30.0 * f[2] + 16.0 * f[3] - f[4]) / (12.0 * h * h)


def _first_derivative(f, h):
    """f' at the middle of five points h apart (error h^4 f^(5) / 30)."""
    return (f[0] - 8.0 * f[1] + 8.0 * f[3] - f[4]) / (12.0 * h)


def _richardson(fine, coarse):
    """Removes the h^4 term of two fourth-order differences at h and 2 h."""
    return (16.0 * fine - coarse) / 15.0


def _forward(reactor, quantity, t_end, inlet, options):
    """(Q, d ln Q / d ln k for every reaction, stats) by forward sensitivities."""
    from kernels.gas_reactors import GAS_PFR
    from kernels.gas_sensitivity import bdf_sensitivity_replay
    from .solver import check_status

    gk = reactor.gas
    n = gk.n_species
    operation = f"forward reaction sensitivities of {quantity}"
    r = copy.copy(reactor)
    r.options = options
    if isinstance(reactor, GasBatchReactor):
        res = r.run(t_end, times=np.array([0.0, t_end]))
        system, code = res._system, res._code
    else:
        r.points = 2
        res = r.run(inlet)
        system, code = res._system, res._code
        if code != GAS_PFR:
            raise InputError("forward sensitivities cover the gas PFR at constant pressure; "
                             "for a tube with pressure drop use method='finite-difference'",
                             "<python>", "reaction_sensitivities.method")
    sol = res.solution
    if sol.method != "bdf" or sol.y.shape[1] < n + 1:
        raise SolverError(operation, "expected a BDF solve of a gas problem "
                                     f"(states: {n} species, T, ...)")
    t_query = np.zeros(0)
    if quantity == "ignition_delay":
        tau, w_max, curvature = _ignition_parabola(res)
        # nine points across the peak (see IGNITION_STENCIL)
        spacing = IGNITION_STENCIL * np.sqrt(w_max / -curvature)
        t_query = tau + spacing * np.arange(-4.0, 5.0)
        if not (t_query[0] > sol.t[0] and t_query[-1] < sol.t[-1]):
            raise SolverError(operation, "the ignition peak is too close to the start or the "
                                         "end of the run: run for longer")
    status, s_end, _, sdot, mismatch = bdf_sensitivity_replay(
        np.int64(code), system, sol.t, sol.y, sol._dense, t_query)
    check_status(status, operation, "the sensitivity pass")
    if not mismatch <= REPLAY_MISMATCH_TOL:
        raise SolverError(operation, f"the sensitivity pass did not follow the solver's steps "
                                     f"(difference tables differ by {mismatch:.3g})")
    if not np.all(np.isfinite(s_end)):
        raise SolverError(operation, "non-finite sensitivities")
    stats = dict(sol.stats, replay_mismatch=float(mismatch))
    y_end = sol.y[-1]
    if quantity == "ignition_delay":
        # w = dT/dt, v = dw/d ln k at the nine points
        w = res.heating_rates(sol(t_query))
        v = sdot[:, :, n]
        w2 = _richardson(_second_derivative(w[2:7], spacing),
                         _second_derivative(w[::2], 2 * spacing))
        v1 = _richardson(_first_derivative(v[2:7], spacing),
                         _first_derivative(v[::2], 2 * spacing))
        if not w2 < 0.0:
            raise SolverError(operation, "dT/dt has no maximum at the ignition delay")
        return tau, -v1 / (w2 * tau), stats
    phi = y_end[:n]
    if quantity == "T":
        return float(y_end[n]), s_end[:, n] / y_end[n], stats
    i = list(gk.species_names).index(quantity)
    S = phi.sum()
    x = phi[i] / S
    if not x > 0.0:
        raise SolverError(operation, f"{quantity} = {x:.6g} is not positive; "
                                     "its logarithm is undefined")
    return float(x), s_end[:, i] / phi[i] - s_end[:, :n].sum(axis=1) / S, stats


def reaction_sensitivities(reactor, quantity="ignition_delay", *, t_end=None, inlet=None,
                           method=FORWARD, step=DEFAULT_STEP, rtol=DEFAULT_RTOL, top=None,
                           reactions=None):
    """Sensitivity ``d ln Q / d ln k_j`` of a gas reactor's result to every
    reaction's rate constant, ranked (see the module docstring).

    Parameters
    ----------
    reactor : GasBatchReactor or GasPFR
        The reactor (its mechanism, initial or inlet state, energy mode and
        integrator; the tolerance is replaced by ``rtol``).
    quantity : str
        ``"ignition_delay"`` (batch only), ``"T"`` or a species name (its mole
        fraction), at the end of a batch run or at the PFR outlet.
    t_end : float or quantity
        Run length of a batch reactor. For the ignition delay the perturbed
        runs stop at :data:`IGNITION_RUN_FACTOR` times the unperturbed delay.
    inlet : GasInlet or mapping
        The feed of a plug-flow reactor.
    method : {"forward", "finite-difference"}
        Forward sensitivities of all reactions from one BDF solve (default),
        or central differences (the check); see the module docstring.
    step : float
        Central-difference step in ln k (default 1e-3; finite differences only).
    rtol : float
        Relative tolerance of every run (default 1e-9).
    top : int, optional
        Keep the ``top`` largest. With finite differences, screen all
        reactions first by one-sided differences at :data:`SCREEN_RTOL` and
        :data:`SCREEN_STEP`, then refine only those.
    reactions : sequence of int, optional
        Restrict to these reaction indices.

    Returns
    -------
    ReactionSensitivities

    Raises
    ------
    InputError
        Unknown quantity or method, a batch without ``t_end``, a PFR without
        ``inlet``, a non-positive step, a reaction index out of range; the
        forward method on a constant-volume batch with PLOG reactions (its
        Jacobian leaves out their pressure dependence).
    SolverError
        A run failed, or Q is not positive (its logarithm is undefined).
    """
    where = Location("<python>", "reaction_sensitivities")
    if method not in METHODS:
        raise where.key("method").error(f"expected one of {', '.join(METHODS)}, got {method!r}")
    if not (isinstance(step, (int, float)) and 0.0 < step < 1.0):
        raise where.key("step").error(f"expected a step in ln k between 0 and 1, got {step!r}")
    gk = reactor.gas
    m = gk.n_reactions
    if reactions is None:
        candidates = list(range(m))
    else:
        candidates = [int(j) for j in reactions]
        bad = [j for j in candidates if not 0 <= j < m]
        if bad:
            raise where.key("reactions").error(f"reaction index {bad[0]} is not in 0..{m - 1}")
    base = reactor.options
    options = SolverOptions(rtol=float(rtol), atol=base.atol, method=base.method,
                            max_steps=base.max_steps)
    run = _evaluator(reactor, quantity, t_end, inlet, where)
    started = time.perf_counter()
    if method == FORWARD:
        from kernels.gas_kinetics import PLOG

        if (isinstance(reactor, GasBatchReactor) and reactor.constant == "volume"
                and np.any(gk.model[9] == PLOG)):
            raise where.key("method").error(
                "forward sensitivities of a constant-volume batch with pressure-dependent "
                "(PLOG) reactions are not exact (its Jacobian leaves out dk/dP); use "
                "method='finite-difference'")
        fwd_options = SolverOptions(rtol=float(rtol), atol=base.atol, method="bdf",
                                    max_steps=base.max_steps)
        t_end_s = (None if t_end is None else
                   parse_quantity(t_end, "time", where=where.key("t_end"), positive=True))
        value, dlnq, stats = _forward(reactor, quantity, t_end_s, inlet, fwd_options)
        rows = [ReactionSensitivity(j, int(gk.reaction_indices[j]), gk.equations[j],
                                    float(dlnq[j])) for j in candidates]
        if top is not None:
            rows = sorted(rows, key=lambda r: -abs(r.sensitivity))[:int(top)]
        return ReactionSensitivities(quantity, value, rows, step=None, rtol=float(rtol),
                                     runs=1, seconds=time.perf_counter() - started,
                                     method=FORWARD, stats=stats)
    runs = 0
    operation = f"reaction sensitivities of {quantity}"

    def log_q(g, opts, t_stop=None):
        nonlocal runs
        runs += 1
        if t_stop is None:      # the unperturbed run: a short t_end is the caller's error
            q = run(g, opts)
        else:
            try:
                q = run(g, opts, t_stop)
            except InputError as exc:   # no ignition inside a perturbed run
                raise SolverError(operation, str(exc)) from None
        if not q > 0.0:
            raise SolverError(operation, f"{quantity} = {q:.6g} is not positive; "
                                         "its logarithm is undefined")
        return np.log(q)

    def perturbed(j, d):
        f = np.zeros(m)
        f[j] = d
        return scale_reaction_rates(gk, f)

    lq0 = log_q(gk, options)
    t_stop = None
    if quantity == "ignition_delay":
        t_end_s = parse_quantity(t_end, "time", where=where.key("t_end"), positive=True)
        t_stop = min(t_end_s, IGNITION_RUN_FACTOR * float(np.exp(lq0)))

    screen = None
    if top is not None and int(top) < len(candidates):
        s_opts = SolverOptions(rtol=max(SCREEN_RTOL, float(rtol)), atol=base.atol,
                               method=base.method, max_steps=base.max_steps)
        ls0 = log_q(gk, s_opts, t_stop)
        screen = {j: (log_q(perturbed(j, SCREEN_STEP), s_opts, t_stop) - ls0) / SCREEN_STEP
                  for j in candidates}
        candidates = sorted(candidates, key=lambda j: -abs(screen[j]))[:int(top)]

    rows = []
    for j in candidates:
        plus = log_q(perturbed(j, step), options, t_stop)
        minus = log_q(perturbed(j, -step), options, t_stop)
        rows.append(ReactionSensitivity(j, int(gk.reaction_indices[j]), gk.equations[j],
                                        float((plus - minus) / (2.0 * step))))
    return ReactionSensitivities(quantity, float(np.exp(lq0)), rows, step=float(step),
                                 rtol=float(rtol), runs=runs,
                                 seconds=time.perf_counter() - started, screen=screen)
