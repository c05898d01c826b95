"""What a kernel reports besides its result: integer status codes, their
messages, and the positions of the counters in its ``stats`` array.

The codes are plain ``int`` module constants, so Numba-compiled code reads
them as compile-time integers. No kernel raises: every failure (including
overflow to inf or NaN, see :mod:`kernels.jit`) ends the solve with a
non-zero status, which always means "do not use the result as if the solve
had succeeded". Only the bridge ``flowchem.reactors.solver`` reads the codes;
it raises ``SolverError`` with ``MESSAGES[status]`` and the operation's name.

Codes 0-9 come from the integrators (and the pseudo-transient continuation
inside the steady-state solvers), 20-29 from the tank Newton solver of
:mod:`kernels.steady`, 30-39 from the axial-dispersion solver of
:mod:`kernels.dispersion`.
"""

SUCCESS = 0
MAX_STEPS = 1
STEP_TOO_SMALL = 2
NON_FINITE = 3
SINGULAR_MATRIX = 4
STIFF_DETECTED = 5
STEADY_NOT_REACHED = 6
INVALID_INPUT = 7
NEWTON_FAILED = 8
STEADY_DIVERGED = 9

# kernels.steady (tank Newton)
STEADY_NOT_CONVERGED = 20
STEADY_SINGULAR = 21
STEADY_NONFINITE = 23

# kernels.dispersion
DISP_NOT_CONVERGED = 30
DISP_SINGULAR = 31
DISP_NEGATIVE = 32
DISP_NONFINITE = 33
DISP_INVALID = 34

MESSAGES = {
    SUCCESS: "integration successful",
    MAX_STEPS: (
        "the maximum number of steps was reached before the end time; "
        "raise max_steps, loosen the tolerances, or shorten the time span"
    ),
    STEP_TOO_SMALL: (
        "the step size fell below the round-off level of the time variable; "
        "the problem may be ill-posed, discontinuous, or the tolerances too tight"
    ),
    NON_FINITE: (
        "the right-hand side or the state became infinite or NaN and could not be "
        "recovered by reducing the step; check rate constants and initial values"
    ),
    SINGULAR_MATRIX: (
        "the iteration matrix I - h gamma J of the stiff method was singular at every "
        "step size tried"
    ),
    STIFF_DETECTED: (
        "the problem appears stiff: the explicit method was limited by stability, "
        "not accuracy; use a stiff method ('rodas' or 'bdf') instead"
    ),
    STEADY_NOT_REACHED: (
        "pseudo-transient continuation reached its time limit or step budget without "
        "the residual falling below the requested tolerance"
    ),
    INVALID_INPUT: (
        "invalid solver input: tolerances must be positive, times finite with "
        "t_end >= t0, t_eval sorted inside [t0, t_end], and the initial state finite"
    ),
    NEWTON_FAILED: (
        "the Newton iteration of the implicit (BDF) step did not converge, even with a "
        "fresh Jacobian and repeatedly halved steps; try method 'rodas'"
    ),
    STEADY_DIVERGED: (
        "pseudo-transient continuation diverged: the state grew to more than 1e15 times "
        "its initial size instead of approaching a steady state"
    ),
    STEADY_NOT_CONVERGED: (
        "Newton iteration did not converge, even after pseudo-transient continuation"
    ),
    STEADY_SINGULAR: "the steady-state Jacobian is singular",
    STEADY_NONFINITE: "the residual became infinite or NaN",
    DISP_NOT_CONVERGED: (
        "Newton iteration on the dispersion model did not converge, even with "
        "continuation in the Peclet number"
    ),
    DISP_SINGULAR: "the block-tridiagonal Jacobian of the dispersion model is singular",
    DISP_NEGATIVE: "the dispersion profile has negative concentrations",
    DISP_NONFINITE: "the dispersion residual became infinite or NaN",
    DISP_INVALID: (
        "invalid input to the dispersion solver: need Pe > 0, tau > 0, at least 3 "
        "nodes from 0 to 1 in increasing order, finite non-negative inlet"
    ),
}

# ---------------------------------------------------------------------------
# counters: index into the ``stats`` array a solve returns
# ---------------------------------------------------------------------------
# integrators (solve_rodas, solve_bdf, solve_dopri5; int64)
STAT_STEPS = 0        # step attempts
STAT_ACCEPTED = 1     # accepted steps
STAT_REJECTED = 2     # rejected or retried steps
STAT_RHS_EVALS = 3    # right-hand side evaluations
STAT_JAC_EVALS = 4    # Jacobian evaluations
STAT_LU_FACTORS = 5   # factorizations of the iteration matrix
N_STATS = 6

# steady-state tank solver (kernels.steady; int64)
STEADY_STAT_NEWTON_ITERS = 0
STEADY_STAT_RHS_EVALS = 1
STEADY_STAT_JAC_EVALS = 2
STEADY_STAT_LU_FACTORS = 3
STEADY_STAT_PT_STEPS = 4       # accepted steps of the pseudo-transient continuation
STEADY_STAT_PT_FALLBACKS = 5   # times the continuation was used
N_STEADY_STATS = 6

# axial-dispersion solver (kernels.dispersion; float64)
DISP_STAT_NEWTON_ITERS = 0
DISP_STAT_RESIDUAL_EVALS = 1
DISP_STAT_JAC_ASSEMBLIES = 2
DISP_STAT_BLOCK_LU_FACTORS = 3
DISP_STAT_CONTINUATION_SOLVES = 4
DISP_STAT_INTEGRATOR_STEPS = 5   # plug-flow guess and tank start
DISP_STAT_PE_REACHED = 6         # the requested Pe on success
DISP_STAT_CONSERVATION_ERROR = 7  # max_i |c_in - c_out + tau sum V r|_i / max(max c_in, atol)
DISP_STAT_LAST_STEP_NORM = 8     # scaled norm of the last Newton step
N_DISP_STATS = 9

