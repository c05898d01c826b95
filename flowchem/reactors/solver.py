"""The bridge between named models and the array kernels.

:class:`SolverOptions` holds what a user may tune; :func:`integrate`,
:func:`steady_cstr_cascade`, :func:`steady_tank`, :func:`newton_steady_state`
and :func:`axial_dispersion` call the compiled kernels and turn their status
codes into :class:`~flowchem.core.errors.SolverError` naming the operation (this
module is the only reader of kernel status codes); :class:`Solution` wraps the
arrays that come back so they can be indexed by species, interpolated and
plotted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kernels import status as kstatus

from ..core.errors import InputError, SolverError

METHODS = ("rodas", "bdf", "auto", "dopri5", "dop853", "auto-switch")

# method="auto": Rodas5P at engineering tolerances on small and medium
# mechanisms, the variable-order BDF below AUTO_BDF_BELOW_RTOL or from
# AUTO_BDF_MIN_STATES state variables on. Measured (benchmarks/run.py,
# benchmarks/cantera_gri.py): Rodas5P reaches a given error faster down to rtol
# 1e-6 on ROBER, HIRES and the 20-species POLLU (its error stays below the
# tolerance); the BDF's Jacobian and LU reuse wins at tighter tolerances, and
# at every tolerance on the 53-species GRI-Mech network, where Rodas5P's
# Jacobian and factorization at every step dominate.
AUTO_BDF_BELOW_RTOL = 5.0e-7
AUTO_BDF_MIN_STATES = 40
# method="auto-switch": the explicit method it starts with. On the SNAr sweep of
# benchmarks/ensemble_vs_scipy.py (2,000 tubes, one thread) DOP853 reached
# errors of 1.5e-6, 2.1e-7 and 2.9e-8 at rtol 1e-5, 1e-6, 1e-7 for about the
# cost at which DOPRI5 reached 2.9e-5, 2.6e-6 and 2.4e-7 (44,000-50,000 against
# 28,000-39,000 tubes/s); at rtol 1e-4 DOPRI5 was 20 % faster (error 3.2e-4,
# DOP853 9.4e-6). DOPRI5 is kept for loose tolerances only
AUTO_SWITCH_DOP853_BELOW_RTOL = 5.0e-5


def explicit_method(rtol):
    """The explicit integrator ``method="auto-switch"`` starts with."""
    return "dop853" if rtol < AUTO_SWITCH_DOP853_BELOW_RTOL else "dopri5"


def auto_method(rtol, n_states):
    """The integrator ``method="auto"`` runs for this tolerance and state size."""
    return "bdf" if rtol < AUTO_BDF_BELOW_RTOL or n_states >= AUTO_BDF_MIN_STATES else "rodas"

# names of the kernels' counters (kernels.status), by position in their stats arrays
STAT_NAMES = {
    kstatus.STAT_STEPS: "steps",
    kstatus.STAT_ACCEPTED: "accepted_steps",
    kstatus.STAT_REJECTED: "rejected_steps",
    kstatus.STAT_RHS_EVALS: "rhs_evaluations",
    kstatus.STAT_JAC_EVALS: "jacobian_evaluations",
    kstatus.STAT_LU_FACTORS: "lu_factorizations",
}
STEADY_STAT_NAMES = {
    kstatus.STEADY_STAT_NEWTON_ITERS: "newton_iterations",
    kstatus.STEADY_STAT_RHS_EVALS: "rhs_evaluations",
    kstatus.STEADY_STAT_JAC_EVALS: "jacobian_evaluations",
    kstatus.STEADY_STAT_LU_FACTORS: "lu_factorizations",
    kstatus.STEADY_STAT_PT_STEPS: "pseudo_transient_steps",
    kstatus.STEADY_STAT_PT_FALLBACKS: "pseudo_transient_fallbacks",
}
DISPERSION_STAT_NAMES = {
    kstatus.DISP_STAT_NEWTON_ITERS: "newton_iterations",
    kstatus.DISP_STAT_RESIDUAL_EVALS: "residual_evaluations",
    kstatus.DISP_STAT_JAC_ASSEMBLIES: "jacobian_evaluations",
    kstatus.DISP_STAT_BLOCK_LU_FACTORS: "block_lu_factorizations",
    kstatus.DISP_STAT_CONTINUATION_SOLVES: "continuation_solves",
    kstatus.DISP_STAT_INTEGRATOR_STEPS: "integrator_steps",
    kstatus.DISP_STAT_PE_REACHED: "Pe_reached",
    kstatus.DISP_STAT_CONSERVATION_ERROR: "conservation_error_rel",
    kstatus.DISP_STAT_LAST_STEP_NORM: "last_newton_step_norm",
}
_DISPERSION_FLOAT_STATS = (kstatus.DISP_STAT_PE_REACHED, kstatus.DISP_STAT_CONSERVATION_ERROR,
                           kstatus.DISP_STAT_LAST_STEP_NORM)


def _named_stats(names, stats):
    """A kernel's integer counters as a dict keyed by name."""
    return {name: int(stats[i]) for i, name in names.items()}


@dataclass
class SolverOptions:
    """Tolerances and method of the integrators.

    Parameters
    ----------
    rtol : float
        Relative tolerance (default 1e-8, which keeps the reported
        concentrations accurate to about 1e-6 relative or better).
    atol : float or None
        Absolute tolerance in mol/m^3. ``None`` (default) takes 1e-12 times
        the largest inlet concentration, so it scales with the problem.
    method : {"rodas", "bdf", "auto", "dopri5", "dop853", "auto-switch"}
        ``"rodas"``: stiff Rosenbrock method Rodas5P (default: right for
        kinetics, and its error stays well below the tolerance);
        ``"bdf"``: variable-order BDF/NDF with Jacobian and LU reuse, the
        fastest at tight tolerances (its error is about the tolerance);
        ``"auto"``: ``"bdf"`` for ``rtol < 5e-7`` or 40 or more state
        variables (species, plus heat and temperature with an energy
        balance), ``"rodas"`` otherwise;
        ``"dopri5"``: explicit Dormand-Prince 5(4) for non-stiff problems;
        ``"dop853"``: explicit Dormand-Prince 8(5,3), for non-stiff problems
        at tight tolerances;
        ``"auto-switch"``: an explicit method while the problem is not stiff
        (the cheapest per step: no Jacobian, no factorization; DOP853, or
        DOPRI5 for ``rtol >= 5e-5``); when Hairer's stiffness test fires, or
        the explicit method stops for any other reason, the integration
        starts again with Rodas5P. The result is that of one method alone
        (``Solution.method`` says which); ``stats`` count the work of both.
    max_steps : int
        Step budget per integration before it is reported as a failure.
    """

    rtol: float = 1.0e-8
    atol: float | None = None
    method: str = "rodas"
    max_steps: int = 200_000
    source: str = field(default="<python>", repr=False)

    def __post_init__(self):
        where = "solver"
        if not (isinstance(self.rtol, (int, float)) and not isinstance(self.rtol, bool)
                and 1e-14 <= float(self.rtol) < 1.0):
            raise InputError(f"expected a relative tolerance between 1e-14 and 1, got {self.rtol!r}", self.source, f"{where}.rtol")
        self.rtol = float(self.rtol)
        if self.atol is not None:
            if isinstance(self.atol, bool) or not isinstance(self.atol, (int, float)) \
                    or not (float(self.atol) > 0.0) or not np.isfinite(self.atol):
                raise InputError(f"expected a positive absolute tolerance, got {self.atol!r}", self.source, f"{where}.atol")
            self.atol = float(self.atol)
        if self.method not in METHODS:
            raise InputError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}", self.source, f"{where}.method")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) or self.max_steps < 10:
            raise InputError(f"expected an integer of at least 10, got {self.max_steps!r}", self.source, f"{where}.max_steps")

    def integrator(self, n_states):
        """The integrator that runs for ``n_states`` state variables:
        ``method``, with ``"auto"`` resolved by :func:`auto_method`
        (``"auto-switch"`` stays: :func:`integrate` resolves it per solve)."""
        if self.method == "auto":
            return auto_method(self.rtol, n_states)
        return self.method

    def atol_vector(self, scale_concentrations):
        """Absolute tolerance per species (mol/m^3)."""
        n = len(scale_concentrations)
        if self.atol is not None:
            return np.full(n, self.atol)
        top = float(np.max(np.abs(scale_concentrations))) if n else 0.0
        return np.full(n, max(1.0e-12 * top, 1.0e-22))


def compiled_mechanism(mechanism):
    """The mechanism's kernel arrays, compiled once per Mechanism object."""
    compiled = getattr(mechanism, "_flowchem_compiled", None)
    if compiled is None:
        compiled = mechanism.compile()
        mechanism._flowchem_compiled = compiled
    return compiled


def make_system(mechanism, T):
    """The kernel's system tuple for a mechanism at temperature T (K)."""
    from kernels.kinetics import rate_constants

    compiled = compiled_mechanism(mechanism)
    m = compiled.n_reactions
    kf = np.zeros(m)
    kr = np.zeros(m)
    rate_constants(float(T), compiled.rate_params, kf, kr)
    params = np.zeros(1 + compiled.n_species)
    work = np.zeros(max(2 * m, 1))
    return (compiled.model, compiled.rate_params, kf, kr, params, work)


def energy_model(compiled, rho_cp):
    """The model tuple with two extra rows of net stoichiometry.

    Row n accumulates the heat released per volume (coefficient -dH_j, J/m^3)
    and row n+1 is the temperature (coefficient -dH_j/(rho cp), K), so the
    kernels' production rates carry the energy balance (kernels.problems).
    With ``rho_cp=None`` only the heat row is added (isothermal reactors
    that report their heat duty).
    """
    return energy_rows(compiled.model, compiled.delta_H, compiled.n_species, rho_cp)


def energy_rows(model, delta_H, n_species, rho_cp):
    """:func:`energy_model` for a kernel model tuple and reaction enthalpies
    ``delta_H`` (J/mol) given apart (sensitivities and studies vary them)."""
    r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, s_ptr, s_sp, s_nu = model
    n, m = int(n_species), r_ptr.shape[0] - 1
    dH = delta_H
    ptr = [0]
    sp, nu = [], []
    for j in range(m):
        sp.extend(s_sp[s_ptr[j]:s_ptr[j + 1]].tolist())
        nu.extend(s_nu[s_ptr[j]:s_ptr[j + 1]].tolist())
        if dH[j] != 0.0:
            sp.append(n)
            nu.append(-dH[j])
            if rho_cp is not None:
                sp.append(n + 1)
                nu.append(-dH[j] / rho_cp)
        ptr.append(len(sp))
    return (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, np.asarray(ptr, dtype=np.int64),
            np.asarray(sp, dtype=np.int64), np.asarray(nu, dtype=np.float64))


def make_energy_system(mechanism, rho_cp, ua_over_rho_cp, coolant_T):
    """System tuple for BATCH_ENERGY / CSTR_ENERGY; the state is
    [c_0..c_{n-1}, heat released (J/m^3), T]."""
    compiled = compiled_mechanism(mechanism)
    n, m = compiled.n_species, compiled.n_reactions
    model = energy_model(compiled, rho_cp)
    params = np.zeros(1 + (n + 2) + 2)
    params[n + 3] = ua_over_rho_cp      # params[n_state + 1] with n_state = n + 2
    params[n + 4] = coolant_T
    return (model, compiled.rate_params, np.zeros(m), np.zeros(m), params,
            np.zeros(max(2 * m, 1)))


def status_message(status):
    """The plain-language reason for a kernel status code."""
    code = int(status)
    return kstatus.MESSAGES.get(code, f"solver status {code}")


_status_message = status_message


def succeeded(status) -> bool:
    """True when a kernel status code says the computation succeeded."""
    return int(status) == kstatus.SUCCESS


def check_status(status, operation, what="the solver"):
    """Raise :class:`SolverError` naming ``operation`` unless ``status`` (a
    kernel status code) is success: "``what`` stopped: reason"."""
    if not succeeded(status):
        raise SolverError(operation, f"{what} stopped: {status_message(status)}")


class Solution:
    """A solved trajectory: accepted steps plus the method's dense output.

    ``sol(t)`` interpolates; ``sol.y`` holds the states at ``sol.t``;
    ``sol.stats`` counts steps, evaluations and factorizations.
    """

    def __init__(self, method, t, y, dense, stats, min_value, names):
        self.method = method
        self.t = t
        self.y = y
        self._dense = dense
        self.stats = _named_stats(STAT_NAMES, stats)
        self.min_value = float(min_value)
        self.names = list(names)

    def __call__(self, t):
        from kernels.bdf import interpolate_bdf
        from kernels.dop853 import interpolate_dop853
        from kernels.explicit import interpolate_dopri5
        from kernels.rosenbrock import interpolate_rodas

        tq = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if tq.size and (tq.min() < self.t[0] - 1e-12 * abs(self.t[-1]) or
                        tq.max() > self.t[-1] * (1 + 1e-12) + 1e-300):
            raise ValueError(f"t outside the solved interval [{self.t[0]}, {self.t[-1]}]")
        tq = np.clip(tq, self.t[0], self.t[-1])
        if self._dense.shape[0] == 0:
            raise ValueError("no dense output was recorded for this solution")
        f = {"rodas": interpolate_rodas, "bdf": interpolate_bdf,
             "dopri5": interpolate_dopri5, "dop853": interpolate_dop853}[self.method]
        out = f(self.t, self.y, self._dense, np.ascontiguousarray(tq))
        return out if np.ndim(t) else out[0]


def integrate(system, code, y0, t_end, options: SolverOptions, *, t_eval=None,
              record=True, atol=None, operation="integration"):
    """Integrate problem ``code`` from 0 to ``t_end``.

    Returns ``(Solution, y_eval)``; raises :class:`SolverError` on failure.
    """
    from kernels.bdf import solve_bdf
    from kernels.dop853 import solve_dop853
    from kernels.explicit import solve_dopri5
    from kernels.rosenbrock import solve_rodas

    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    if atol is None:
        atol = options.atol_vector(y0)
    t_eval = np.zeros(0) if t_eval is None else np.ascontiguousarray(t_eval, dtype=np.float64)
    method = options.integrator(y0.shape[0])
    args = (code, system, y0, 0.0, float(t_end), t_eval, options.rtol,
            np.ascontiguousarray(atol, dtype=np.float64), 0.0, options.max_steps, record)
    solvers = {"rodas": solve_rodas, "bdf": solve_bdf, "dopri5": solve_dopri5,
               "dop853": solve_dop853}
    explicit_stats = None
    if method == "auto-switch":
        # explicit first; on stiffness (or any other stop) Rodas5P from the
        # start (kernels.route_ensemble does the same, so studies match)
        method = explicit_method(options.rtol)
        result = solvers[method](*args)
        if result[0] != kstatus.SUCCESS:
            explicit_stats = result[5]
            method = "rodas"
            result = solve_rodas(*args)
    else:
        result = solvers[method](*args)
    status, t, y, dense, y_eval, stats, min_value = result
    if explicit_stats is not None:
        stats = stats + explicit_stats     # the counters cover both attempts
    if status != 0:
        t_fail = float(t[-1]) if len(t) else 0.0
        error = SolverError(operation, f"{method} integrator stopped at t = {t_fail:.6g} s "
                                       f"of {float(t_end):.6g} s: {_status_message(status)}")
        error.t_fail = t_fail
        raise error
    if not np.all(np.isfinite(y_eval)) or not np.all(np.isfinite(y[-1])):
        raise SolverError(operation, "integrator returned non-finite concentrations")
    sol = Solution(method, t, y, dense, stats, min_value, [])
    return sol, y_eval


def steady_cstr_cascade(system, c_in, residence_time_each, n_tanks, options: SolverOptions,
                        operation="cstr", code=None, atol=None):
    """Steady states of ``n_tanks`` equal tanks in series; returns (states, stats).

    ``code`` is CSTR_TRANSIENT (default) or CSTR_ENERGY, whose state carries
    the heat released and the temperature after the concentrations.
    """
    from kernels.problems import CSTR_TRANSIENT
    from kernels.steady import solve_cstr_cascade

    code = CSTR_TRANSIENT if code is None else code
    c_in = np.ascontiguousarray(c_in, dtype=np.float64)
    atol = options.atol_vector(c_in) if atol is None else np.ascontiguousarray(atol, dtype=np.float64)
    stats = np.zeros(kstatus.N_STEADY_STATS, dtype=np.int64)
    status, states, solved = solve_cstr_cascade(code, system, c_in, 1.0 / residence_time_each,
                                                int(n_tanks), options.rtol, atol, stats)
    if status != 0:
        tank = f" (tank {solved + 1} of {n_tanks})" if n_tanks > 1 else ""
        raise SolverError(operation, f"steady-state solver failed{tank}: {_status_message(status)}")
    if not np.all(np.isfinite(states)):
        raise SolverError(operation, "steady-state solver returned non-finite concentrations")
    # Newton keeps iterates non-negative by construction; a value below
    # -atol would mean a wrong answer, not round-off.
    # (components with a negative atol, such as the heat integral, may be negative)
    if np.any((states < -np.abs(atol)) & (atol >= 0.0)):
        worst = float(np.min(np.where(atol >= 0.0, states, np.inf)))
        raise SolverError(operation, "steady state has negative concentrations "
                                     f"(min {worst:.3g} mol/m^3)")
    return states, _named_stats(STEADY_STAT_NAMES, stats)


def steady_sensitivities(system, states, residence_time_each, dc_in, *, operation="cstr"):
    """dc*/dθ of each tank of a cascade at its steady state (BATCH_SENS
    ``system``, ``states`` from :func:`steady_cstr_cascade`); raises
    SolverError where J - I/tau is singular or the result is not finite."""
    from kernels.steady_sensitivity import cascade_sensitivity

    n_tanks, n = states.shape
    out = np.zeros((n_tanks, n, dc_in.shape[1]))
    status, tank = cascade_sensitivity(system, np.ascontiguousarray(states),
                                       1.0 / residence_time_each, dc_in, out)
    if status != kstatus.SUCCESS:
        where = f" of tank {tank + 1}" if n_tanks > 1 else ""
        reason = ("J - I/tau is singular at the steady state (a turning point: the steady "
                  "state does not depend smoothly on the parameters)"
                  if status == kstatus.SINGULAR_MATRIX else _status_message(status))
        raise SolverError(operation, f"steady-state sensitivities{where}: {reason}")
    return out


def steady_energy_sensitivities(system, states, residence_time_each, dy_in, *, operation="cstr"):
    """dx*/dθ of each tank of a cascade with an energy balance at its steady
    state (BATCH_ENERGY_SENS ``system``, CSTR_ENERGY ``states`` [c, heat, T]);
    raises SolverError where J - I/tau is singular or the result is not finite."""
    from kernels.steady_sensitivity import energy_cascade_sensitivity

    n_tanks, N = states.shape
    out = np.zeros((n_tanks, N, dy_in.shape[1]))
    status, tank = energy_cascade_sensitivity(system, np.ascontiguousarray(states),
                                              1.0 / residence_time_each,
                                              np.ascontiguousarray(dy_in), out)
    if status != kstatus.SUCCESS:
        where = f" of tank {tank + 1}" if n_tanks > 1 else ""
        reason = ("J - I/tau is singular at the steady state (a turning point: the steady "
                  "state does not depend smoothly on the parameters)"
                  if status == kstatus.SINGULAR_MATRIX else _status_message(status))
        raise SolverError(operation, f"steady-state sensitivities{where}: {reason}")
    return out


def steady_tank(system, c_in, residence_time, guess, options: SolverOptions, *, atol=None,
                operation="cstr"):
    """Steady concentrations of one isothermal tank (CSTR_TRANSIENT): Newton
    from ``guess``, pseudo-transient continuation from the feed when it
    fails. Returns the state; raises :class:`SolverError` on failure."""
    from kernels.problems import CSTR_TRANSIENT
    from kernels.steady import solve_cstr

    c_in = np.ascontiguousarray(c_in, dtype=np.float64)
    atol = options.atol_vector(c_in) if atol is None else np.ascontiguousarray(atol, dtype=np.float64)
    stats = np.zeros(kstatus.N_STEADY_STATS, dtype=np.int64)
    status, c = solve_cstr(CSTR_TRANSIENT, system, c_in, 1.0 / residence_time,
                           np.ascontiguousarray(guess, dtype=np.float64), options.rtol, atol, stats)
    if status != kstatus.SUCCESS:
        raise SolverError(operation, f"steady-state solver failed: {_status_message(status)}")
    if not np.all(np.isfinite(c)):
        raise SolverError(operation, "steady-state solver returned non-finite concentrations")
    return c


def newton_steady_state(system, code, y, options: SolverOptions, atol, *, operation="cstr"):
    """Polish the tank state ``y`` in place by Newton on problem ``code``
    (CSTR_TRANSIENT or CSTR_ENERGY, ``system[4]`` holding 1/tau and the inlet),
    converged to ``min(options.rtol, 1e-10)`` as the tank solver does; raises
    :class:`SolverError` when Newton fails."""
    from kernels.steady import NEWTON_MAX_ITER, newton_cstr

    stats = np.zeros(kstatus.N_STEADY_STATS, dtype=np.int64)
    status = newton_cstr(code, system, y, min(options.rtol, 1e-10),
                         np.ascontiguousarray(atol, dtype=np.float64), NEWTON_MAX_ITER, stats)
    if status != kstatus.SUCCESS:
        raise SolverError(operation, f"steady-state Newton failed: {_status_message(status)}")
    return y


def axial_dispersion(system, c_in, residence_time, Pe, x, options: SolverOptions, atol, *,
                     operation="dispersion"):
    """Steady axial-dispersion profile on the nodes ``x`` (kernels.dispersion).

    Returns ``(x, profile, outlet, stats)`` with ``stats`` named by
    :data:`DISPERSION_STAT_NAMES`; raises :class:`SolverError` on failure.
    """
    from kernels.dispersion import solve_dispersion

    status, x, profile, outlet, kstats = solve_dispersion(
        system, np.ascontiguousarray(c_in, dtype=np.float64), float(residence_time), float(Pe),
        np.ascontiguousarray(x, dtype=np.float64), float(options.rtol),
        np.ascontiguousarray(atol, dtype=np.float64))
    stats = {name: (float(kstats[i]) if i in _DISPERSION_FLOAT_STATS else int(kstats[i]))
             for i, name in DISPERSION_STAT_NAMES.items()}
    if status != kstatus.SUCCESS:
        raise SolverError(operation, f"axial dispersion model (Pe = {Pe:.4g}) failed: "
                                     f"{_status_message(status)} "
                                     f"(reached Pe = {stats['Pe_reached']:.4g})")
    if not np.all(np.isfinite(profile)):
        raise SolverError(operation, "dispersion solver returned non-finite concentrations")
    return x, profile, outlet, stats


def solve_runs(runs, raw, M, options: SolverOptions, *, sensitivities=False, sens_error=False,
               reduce_directions=True, allow_slot=True):
    """Every run of a kinetic fit at one raw parameter vector, in one compiled
    call (:func:`kernels.fit_ensemble.evaluate_runs`).

    Parameters
    ----------
    runs : dict
        The packed runs: ``model``, ``rev_kind``, ``kinds``, ``temps``,
        ``inlets``, ``t_ptr``, ``times``, ``atols`` as the kernel takes them,
        and ``cstr_rows`` (output rows of stirred-tank runs) with
        ``row_run`` (the run of every output row).
    raw : ndarray
        Raw parameter vector (:meth:`ParameterMap.raw`).
    M : ndarray (raw size, p)
        d raw / d θ.
    options : SolverOptions
        ``rtol`` and ``max_steps`` (the runs carry their own absolute tolerances).
    sensitivities : bool
        Also return d pred/d θ.
    sens_error, reduce_directions, allow_slot : bool
        See :func:`kernels.fit_ensemble.evaluate_runs`.

    Returns
    -------
    pred : ndarray (n_rows, n)
    sens : ndarray (n_rows, n, p), or (0, n, p) without sensitivities
    failures : list of (int, str)
        ``(run index, reason)`` of every run that could not be solved (its
        rows are NaN); empty when all were.
    """
    from kernels.fit_ensemble import evaluate_runs

    status, pred, sens, _ = evaluate_runs(
        runs["model"], runs["rev_kind"], raw, M, runs["kinds"], runs["temps"], runs["inlets"],
        runs["t_ptr"], runs["times"], runs["atols"], options.rtol, options.max_steps,
        bool(sensitivities), bool(sens_error), bool(reduce_directions), bool(allow_slot))
    failures = []
    if status.any():
        for r in np.flatnonzero(status):
            failures.append((int(r), _status_message(status[r])))
    rows = runs["cstr_rows"]
    if rows.size:
        # Newton keeps iterates non-negative by construction: a value below
        # -atol would be a wrong answer (as in steady_cstr_cascade)
        negative = np.any(pred[rows] < -runs["atols"][runs["row_run"][rows]][:, None], axis=1)
        for r in np.unique(runs["row_run"][rows[negative]]):
            failures.append((int(r), "steady state has negative concentrations"))
    return pred, sens, failures
