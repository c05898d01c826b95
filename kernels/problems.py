"""Reactor right-hand sides, dispatched on an integer problem code.

Every integrator in ``kernels`` calls :func:`rhs` and :func:`jacobian` with a
problem code and a *system* tuple, so a single compilation of each integrator
serves every reactor type and every mechanism::

    system = (model, rate_params, kf, kr, params, work)

``model`` and ``rate_params`` are described in :mod:`kernels.kinetics`;
``kf`` and ``kr`` hold the rate constants (isothermal problems fill them once
per solve; problems with an energy balance refill them at every call);
``params`` carries the problem's own numbers; ``work`` is scratch of at least
two entries per reaction.

Problem codes
-------------
BATCH (0)
    Constant-density liquid batch, or plug flow in residence time:
    dc/dt = S^T q(c). ``params`` is unused.
CSTR_TRANSIENT (1)
    Constant-density stirred tank: dc/dt = (c_in - c)/tau + S^T q(c).
    ``params = [1/tau, c_in[0], ..., c_in[n-1]]``.
BATCH_ENERGY (2), CSTR_ENERGY (3)
    As above with temperature as the last state, y = [c_0 .. c_{n-1}, T]:
    rho cp dT/dt = sum_j (-dH_j) q_j - (U a)(T - T_coolant)  [+ rho cp (T_in - T)/tau].
    The heat release enters through the model itself: the compiled
    stoichiometry carries an extra row n (temperature) with coefficient
    -dH_j/(rho cp) for every reaction, so production rates and their
    concentration Jacobian give the energy equation without extra code.
    ``params = [1/tau, y_in[0..N-1], Ua/(rho cp), T_coolant]`` with N the
    state length (inlet temperature last); 1/tau and y_in are unused in
    batch; Ua/(rho cp) = 0 is adiabatic. Extra rows before T (flowchem puts
    the cumulative heat release there) are ordinary "species" to the kernel.
BATCH_SENS (4)
    BATCH with forward sensitivities: y = [c, dc/dθ_1, ..., dc/dθ_p],
    ``params`` and ``work`` as laid out in :mod:`kernels.sensitivity`.
BATCH_ENERGY_SENS (5)
    BATCH_ENERGY with forward sensitivities: y = [x, dx/dθ_1, ..., dx/dθ_p],
    x = [c, heat, T] as in BATCH_ENERGY; ``params`` and ``work`` as laid out
    in :mod:`kernels.sensitivity` (its own layout, not BATCH_ENERGY's).
GAS_CONST_P (10), GAS_CONST_V (11), GAS_PFR (12)
    Ideal-gas batch reactors and the gas plug flow with the energy equation,
    on a gas *system* tuple (nine entries, :mod:`kernels.gas_reactors`).

Dispatch on the system's type
-----------------------------
:func:`rhs` and :func:`jacobian` pick the liquid (six-entry system) or the
gas (nine-entry system) implementation when Numba types the call, through
``numba.extending.overload``: the liquid specialisation of every caller
compiles exactly as before, and one gas specialisation serves every gas
mechanism.
"""

from numba.core import types as _nbtypes
from numba.extending import overload

from .gas_reactors import GAS_CONST_P, GAS_CONST_V, GAS_PFR, gas_jac, gas_rhs  # noqa: F401
from .jit import njit

from .kinetics import (production_jacobian, production_rates, rate_constants,
                       rate_temperature_derivative, slot_rates)
from .sensitivity import (energy_sensitivity_jacobian, energy_sensitivity_rhs,
                          sensitivity_jacobian, sensitivity_rhs)

BATCH = 0
CSTR_TRANSIENT = 1
BATCH_ENERGY = 2
CSTR_ENERGY = 3
BATCH_SENS = 4
BATCH_ENERGY_SENS = 5


GAS_SYSTEM_LENGTH = 9


def _is_gas_system(system_type):
    """True for the Numba type of a gas system tuple (see :mod:`kernels.gas_reactors`)."""
    return isinstance(system_type, _nbtypes.BaseTuple) and len(system_type) == GAS_SYSTEM_LENGTH


def _gas_problem_rhs(code, y, system, out):
    """Typing stub (overloaded below): fills ``out`` and returns True for a
    gas system, does nothing and returns False for a liquid one."""
    raise NotImplementedError


def _gas_problem_jacobian(code, y, system, J):
    """Typing stub (overloaded below): :func:`_gas_problem_rhs` for the Jacobian."""
    raise NotImplementedError


def _liquid_view(system):
    """Typing stub (overloaded below): the six liquid entries of a system
    (the system itself when it is a liquid one)."""
    raise NotImplementedError


@njit
def rhs(code, t, y, system, out):
    """Fill ``out`` with dy/dt of problem ``code`` at (t, y)."""
    # the liquid body stays in this function (one compiled function, as
    # before the gas problems): a jitted liquid body behind a wrapper is
    # optimised again by every layer (measured +2 to +5 s of cold compile)
    if _gas_problem_rhs(code, y, system, out):
        return
    lsys = _liquid_view(system)
    if code == BATCH_SENS:
        sensitivity_rhs(y, lsys, out)
        return
    if code == BATCH_ENERGY_SENS:
        energy_sensitivity_rhs(y, lsys, out)
        return
    model, rate_params, kf, kr, params, work = lsys
    n_state = y.shape[0]
    if code >= BATCH_ENERGY:
        T = y[n_state - 1]
        rate_constants(T, rate_params, kf, kr)
        production_rates(y, model, kf, kr, work, out)
        n = n_state - 1
        out[n] -= params[n + 2] * (T - params[n + 3])
        if code == CSTR_ENERGY:
            inv_tau = params[0]
            for i in range(n_state):
                out[i] += (params[1 + i] - y[i]) * inv_tau
        return
    production_rates(y, model, kf, kr, work, out)
    if code == CSTR_TRANSIENT:
        inv_tau = params[0]
        for i in range(n_state):
            out[i] += (params[1 + i] - y[i]) * inv_tau


@njit
def jacobian(code, t, y, system, J):
    """Fill ``J`` with d(dy/dt)/dy of problem ``code`` at (t, y)."""
    if _gas_problem_jacobian(code, y, system, J):
        return
    lsys = _liquid_view(system)
    if code == BATCH_SENS:
        sensitivity_jacobian(y, lsys, J)
        return
    if code == BATCH_ENERGY_SENS:
        energy_sensitivity_jacobian(y, lsys, J)
        return
    model, rate_params, kf, kr, params, work = lsys
    n_state = y.shape[0]
    if code >= BATCH_ENERGY:
        n = n_state - 1
        T = y[n]
        rate_constants(T, rate_params, kf, kr)
        production_jacobian(y, model, kf, kr, J)
        temperature_column(y, lsys, J)
        if code == CSTR_ENERGY:
            inv_tau = params[0]
            for i in range(n_state):
                J[i, i] -= inv_tau
        return
    production_jacobian(y, model, kf, kr, J)
    if code == CSTR_TRANSIENT:
        inv_tau = params[0]
        for i in range(n_state):
            J[i, i] -= inv_tau


@njit(inline="always")
def slot_rhs(code, y, kf, kr, params, work, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e, out):
    """:func:`rhs` of BATCH or CSTR_TRANSIENT from the slot form of the
    mechanism (:func:`kernels.kinetics.slot_plan`); ``e`` is scratch of length
    n + 1. Used by the integrators' slot-form paths."""
    slot_rates(y, kf, kr, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e, work, out)
    if code == CSTR_TRANSIENT:
        inv_tau = params[0]
        for i in range(y.shape[0]):
            out[i] += (params[1 + i] - y[i]) * inv_tau


@njit
def temperature_column(y, system, J):
    """Temperature column of the energy-balance Jacobian into ``J[:, n]``
    (n = y.shape[0] - 1; the concentration columns, e.g. from
    :func:`kernels.kinetics.production_jacobian`, have a zero T column);
    kf, kr must be at T = y[-1]. Used by :func:`jacobian` and by the
    slot-form Jacobians of :mod:`kernels.rosenbrock` and :mod:`kernels.bdf`."""
    # indexed, not unpacked: the drivers' gas specialisation types this call too
    model, rate_params, kf, kr, params, work = (system[0], system[1], system[2], system[3],
                                                system[4], system[5])
    n_state = y.shape[0]
    n = n_state - 1
    T = y[n]
    m = kf.shape[0]
    dqdT = work[m:2 * m]
    rate_temperature_derivative(y, model, rate_params, kf, kr, T, dqdT)
    s_ptr, s_sp, s_nu = model[6], model[7], model[8]
    for i in range(n_state):
        J[i, n] = 0.0
    for j in range(m):
        for a in range(s_ptr[j], s_ptr[j + 1]):
            J[s_sp[a], n] += s_nu[a] * dqdT[j]
    J[n, n] -= params[n + 2]


@overload(_gas_problem_rhs, inline="always", jit_options={"error_model": "numpy"})
def _gas_problem_rhs_for(code, y, system, out):
    if _is_gas_system(system):
        def gas(code, y, system, out):
            gas_rhs(code, y, system, out)
            return True
        return gas
    return lambda code, y, system, out: False


@overload(_gas_problem_jacobian, inline="always", jit_options={"error_model": "numpy"})
def _gas_problem_jacobian_for(code, y, system, J):
    if _is_gas_system(system):
        def gas(code, y, system, J):
            gas_jac(code, y, system, J)
            return True
        return gas
    return lambda code, y, system, J: False


@overload(_liquid_view, inline="always", jit_options={"error_model": "numpy"})
def _liquid_view_for(system):
    if _is_gas_system(system):
        return lambda system: (system[0], system[1], system[2], system[3], system[4], system[5])
    return lambda system: system
