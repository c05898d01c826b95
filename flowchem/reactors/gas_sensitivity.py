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

Method: central differences in ``ln k_j``: the mechanism's arrays are copied
with ``+-step`` added to the ``ln|A|`` column of the reaction's rows, and the
reactor is rerun on the copy. Every perturbed mechanism has the arrays of the
same types as the original, so one Numba compilation of the gas kernels
serves them all; each run builds a fresh kernel workspace (no stale cached
rate constants). The integrations are tightened to ``rtol`` (default 1e-9)
so that the integration error, about ``rtol / step`` in the sensitivity, is
far below the truncation error ``O(step^2)`` of the difference. Forward
(variational) sensitivities of the gas problems are not wired yet; these
brute-force values are what they would be checked against.

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
    step, rtol : float
        The central-difference step in ln k and the integrator tolerance.
    runs : int
        Reactor runs made; ``seconds`` their wall time.
    """

    def __init__(self, quantity, value, rows, *, step, rtol, runs, seconds, screen=None):
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
               "value": self.value, "method": "central differences in ln k",
               "step": self.step, "rtol": self.rtol, "runs": self.runs,
               "seconds": self.seconds, "reactions": [r.to_dict() for r in self.rows]}
        if self.screen is not None:
            out["screen"] = {str(j): s for j, s in self.screen.items()}
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


def reaction_sensitivities(reactor, quantity="ignition_delay", *, t_end=None, inlet=None,
                           step=DEFAULT_STEP, rtol=DEFAULT_RTOL, top=None, reactions=None):
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
    step : float
        Central-difference step in ln k (default 1e-3).
    rtol : float
        Relative tolerance of every run (default 1e-9).
    top : int, optional
        Screen all reactions by one-sided differences at :data:`SCREEN_RTOL`
        and :data:`SCREEN_STEP`, then refine only the ``top`` largest.
    reactions : sequence of int, optional
        Restrict to these reaction indices.

    Returns
    -------
    ReactionSensitivities

    Raises
    ------
    InputError
        Unknown quantity, a batch without ``t_end``, a PFR without ``inlet``,
        a non-positive step, a reaction index out of range.
    SolverError
        A run failed, or Q is not positive (its logarithm is undefined).
    """
    where = Location("<python>", "reaction_sensitivities")
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
