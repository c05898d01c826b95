"""Integer status codes returned by the integrators of :mod:`kernels`.

The codes are plain ``int`` module constants, so Numba-compiled code reads
them as compile-time integers, and Python code maps them to a message with
:data:`MESSAGES`. A non-zero status always means "do not use the result as if
the solve had succeeded": the Python layer raises ``SolverError`` with
``MESSAGES[status]``.
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
        "the iteration matrix I/(gamma h) - J was singular at every step size tried"
    ),
    STIFF_DETECTED: (
        "the problem appears stiff: the explicit method was limited by stability, "
        "not accuracy; use the stiff (Rosenbrock) solver instead"
    ),
    STEADY_NOT_REACHED: (
        "pseudo-transient continuation reached the time limit without the residual "
        "falling below the requested tolerance"
    ),
    INVALID_INPUT: (
        "invalid solver input: tolerances must be positive, times finite with "
        "t_end >= t0, t_eval sorted inside [t0, t_end], and the initial state finite"
    ),
    NEWTON_FAILED: (
        "the Newton iteration of the implicit (BDF) step did not converge, even with a "
        "fresh Jacobian and repeatedly halved steps; try method 'rodas'"
    ),
}


def message(status):
    """Plain-language reason for an integer status code."""
    return MESSAGES.get(int(status), f"unknown solver status {int(status)}")
