"""Forward sensitivities of isothermal batch, plug-flow and stirred-tank runs.

For kinetic fitting (issue 9): the derivatives ``dc/dθ`` of the
concentrations with respect to the well-scaled fitting coordinates θ of a
:class:`~flowchem.chemistry.parameters.ParameterMap`, computed in the kernel
alongside the states, so a residual Jacobian needs one solve per run instead
of ``p + 1`` (or ``2 p``) finite-difference solves.

* batch and PFR (residence time as time): :func:`batch_sensitivities`
  integrates the augmented system ``[c, dc/dθ_1, ..., dc/dθ_p]`` (problem
  code BATCH_SENS, :mod:`kernels.sensitivity`) with the stiff integrator of
  the :class:`~flowchem.reactors.solver.SolverOptions` and an exact Jacobian;
* CSTR and cascade: :func:`cstr_sensitivities` solves the steady states
  (:func:`~flowchem.reactors.solver.steady_cstr_cascade`) and then, tank by
  tank, ``(J - I/tau) dc*/dθ = -(g + (1/tau) dc_in/dθ)``
  (:mod:`kernels.steady_sensitivity`).

The parameters act on the kernel's raw arrays through ``raw = raw0 + M θ``
(``M`` = :attr:`ParameterMap.M`, rows ``[fwd (m x 3), rev (m x 3), forward
orders (nnz), dH (m)]``). In an isothermal run ``d ln k / dθ`` is constant:
``d ln kf_j = M[ln A] + M[b] ln T - M[Ea/R] / T``, the same with the reverse
rows for a reverse Arrhenius rate, and for a van 't Hoff equilibrium
``ln kr = ln kf - ln K`` with ``ln K = lnK_ref - (dH/R)(1/T - 1/T_ref)``.

Integrator and error control
----------------------------
With Rodas5P (the default method) batch and PFR sensitivities go to the
block Rodas5P of :mod:`kernels.rosenbrock_sens`: the augmented Jacobian is
block lower triangular with the state Jacobian on its diagonal, so each step
factorises only that n x n block and does ``p + 1`` block solves; the step
size is controlled on the states alone (CVODES' ``errconS = false``), so the
states take exactly the steps of the plain solve (the values of the plain
reactors to round-off) and the sensitivities, integrated by the same
order-5 method on those steps, carry an error of the states' order
(measured against finite differences and against the full-matrix path in
tests/test_energy_sensitivity.py). With ``full_matrix=True``, or another
method, the integrator of the options runs on the whole augmented system
and the sensitivities take part in its error control with the same ``rtol``
and, for parameter ``k``, the absolute tolerance ``atol_c / scale_k`` (the
convention of CVODES, ``atol / |pbar_k|``), where ``atol_c`` is the
concentrations' absolute tolerance. The default scale is 1: θ is already
well scaled (``ln k``, ``Ea/(R T_c)``, orders), a unit change of θ_k moves
the concentrations by about ``s_k``, and ``s_k`` has the unit and magnitude
of a concentration. Sensitivities may be negative, so they are exempt from
the integrators' non-negativity rule.

With an energy balance
----------------------
The state is that of the energy-balance reactors, ``x = [c, heat released
(J/m^3), T]``, and the temperature moves the rate constants, so ``d ln k/dθ``
is no longer constant: :func:`batch_energy_sensitivities` integrates
``[x, dx/dθ_1, ..., dx/dθ_p]`` (problem code BATCH_ENERGY_SENS,
:mod:`kernels.sensitivity`, exact augmented Jacobian, block Rodas5P by default) and
:func:`cstr_energy_sensitivities` solves ``(J - I/tau) dx*/dθ = -(g + (1/tau)
dx_in/dθ)`` tank by tank at the CSTR_ENERGY steady states. Besides the raw
kinetic parameters (rows ``[fwd, rev, orders, dH]`` of ``M``; the enthalpies
move the heat and temperature rows), θ may move the coolant temperature
(``d_coolant_T``) and Ua/(rho cp) (``d_ua_over_rho_cp``), and the initial or
inlet state (``s0`` / ``dy_in``: inlet concentrations and temperature). With
``rho_cp=None`` the temperature is constant (no heat-release or wall term in
its row): an isothermal reactor whose temperature depends on θ through its
inlet (``s0[T]``). The sensitivity of T is controlled with the absolute
tolerance 1e-9 K / scale.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import InputError
from .solver import (SolverOptions, energy_rows, integrate, steady_cstr_cascade,
                     steady_energy_sensitivities, steady_sensitivities)

__all__ = ["kernel_arrays", "log_rate_derivatives", "guard_model", "sensitivity_system",
           "batch_sensitivities", "cstr_sensitivities", "energy_kernel_model",
           "energy_sensitivity_system", "batch_energy_sensitivities",
           "cstr_energy_sensitivities"]

_WHERE = "<python>"


def kernel_arrays(parameter_map, theta):
    """``(model, rate_params)`` of the mechanism at θ: the compiled model with
    its forward orders replaced, and the rate parameters of
    :meth:`ParameterMap.arrays`."""
    rate_params, orders, _ = parameter_map.arrays(theta)
    model = parameter_map.compiled.model
    model = (model[0], model[1], np.ascontiguousarray(orders, dtype=np.float64), *model[3:])
    return model, rate_params


def _check_model(model, rate_params, M):
    if not (isinstance(model, tuple) and len(model) == 9):
        raise InputError("expected the kernel's model 9-tuple of arrays", _WHERE, "model")
    m = model[0].shape[0] - 1
    nnz = model[2].shape[0]
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] < 6 * m + nnz:
        raise InputError(f"expected d raw/d θ with at least {6 * m + nnz} rows "
                         f"([fwd, rev, orders, dH] of {m} reactions), got shape {M.shape}",
                         _WHERE, "M")
    if not np.all(np.isfinite(M)):
        raise InputError("d raw/d θ has infinite or NaN entries", _WHERE, "M")
    rev_kind, fwd, rev = rate_params
    if fwd.shape != (m, 3) or rev.shape != (m, 3) or rev_kind.shape != (m,):
        raise InputError(f"rate parameters do not match a model of {m} reactions", _WHERE,
                         "rate_params")
    return m, nnz, M


def _check_temperature(T):
    if isinstance(T, bool) or not isinstance(T, (int, float, np.floating, np.integer)) \
            or not (math.isfinite(T) and T > 0.0):
        raise InputError(f"expected a positive temperature in K, got {T!r}", _WHERE, "T")
    return float(T)


def _check_concentrations(c, n, name):
    c = np.ascontiguousarray(c, dtype=np.float64)
    if c.shape != (n,):
        raise InputError(f"expected {n} concentrations, got shape {c.shape}", _WHERE, name)
    if not np.all(np.isfinite(c)) or np.any(c < 0.0):
        raise InputError("concentrations must be finite and non-negative", _WHERE, name)
    return c


def log_rate_derivatives(rate_params, T, M):
    """``(d ln kf/dθ, d ln kr/dθ)``, each (m x p), at temperature ``T`` (K).

    Irreversible reactions get zero rows in the second array.
    """
    rev_kind, fwd, rev = rate_params
    m = fwd.shape[0]
    p = M.shape[1]
    Mf = M[:3 * m].reshape(m, 3, p)
    Mr = M[3 * m:6 * m].reshape(m, 3, p)
    lnT, invT = math.log(T), 1.0 / T
    dlnkf = Mf[:, 0] + Mf[:, 1] * lnT - Mf[:, 2] * invT
    dlnkr = np.zeros((m, p))
    arrhenius = rev_kind == 1
    dlnkr[arrhenius] = Mr[arrhenius, 0] + Mr[arrhenius, 1] * lnT - Mr[arrhenius, 2] * invT
    eq = rev_kind == 2
    # ln K = rev0 - rev2 (1/T - rev1); kr = kf / K
    dlnK = (Mr[eq, 0] - Mr[eq, 2] * (invT - rev[eq, 1])[:, None]
            + rev[eq, 2][:, None] * Mr[eq, 1])
    dlnkr[eq] = dlnkf[eq] - dlnK
    return dlnkf, dlnkr


def guard_model(model):
    """The model with one extra trailing entry on the reverse pointer (an
    empty row m) that keeps the integrators' slot-form fast path away from a
    BATCH_SENS system (see :mod:`kernels.sensitivity`)."""
    p_ptr = model[3]
    guarded = np.ascontiguousarray(np.append(p_ptr, p_ptr[-1]), dtype=np.int64)
    return (model[0], model[1], model[2], guarded, *model[4:])


def sensitivity_system(model, rate_params, T, M, n_species):
    """The BATCH_SENS system tuple of :mod:`kernels.sensitivity` for an
    isothermal run at ``T`` (K) of ``n_species`` species with
    ``p = M.shape[1]`` parameters."""
    from kernels.kinetics import rate_constants
    from kernels.sensitivity import SENS_HEADER, params_size, work_size

    m, nnz, M = _check_model(model, rate_params, M)
    T = _check_temperature(T)
    p = M.shape[1]
    dlnkf, dlnkr = log_rate_derivatives(rate_params, T, M)
    dord = M[6 * m:6 * m + nnz]
    params = np.zeros(params_size(m, nnz, p))
    params[0] = p
    params[1] = n_species
    r_ptr, p_ptr = model[0], model[3]
    rows = np.concatenate([np.diff(r_ptr), np.diff(p_ptr)]) if m else np.zeros(1, dtype=np.int64)
    max_factors = int(rows.max()) if rows.size else 0
    params[2] = max_factors
    o = SENS_HEADER
    params[o:o + m * p] = dlnkf.ravel()
    params[o + m * p:o + 2 * m * p] = dlnkr.ravel()
    params[o + 2 * m * p:] = dord.ravel()
    kf = np.zeros(m)
    kr = np.zeros(m)
    rate_constants(T, rate_params, kf, kr)
    work = np.zeros(work_size(m, max_factors))
    return (guard_model(model), rate_params, kf, kr, params, work)


def batch_sensitivities(model, rate_params, T, c0, times, M, *, options=None,
                        parameter_scale=None, s0=None, operation="batch sensitivities",
                        full_matrix=False):
    """Concentrations and their θ-derivatives of an isothermal batch (or PFR,
    with residence times as ``times``) run.

    Parameters
    ----------
    model, rate_params : tuple
        Kernel arrays of the mechanism at θ (:func:`kernel_arrays`).
    T : float
        Temperature, K.
    c0 : array (n,)
        Initial (PFR: inlet) concentrations, mol/m^3; independent of θ.
    times : array (n_times,)
        Output times, s, sorted, non-negative.
    M : array (raw size, p)
        d raw / d θ (:attr:`ParameterMap.M`).
    options : SolverOptions, optional
        Tolerances and method (default ``SolverOptions()``: Rodas5P, rtol 1e-8).
    parameter_scale : array (p,), optional
        Typical magnitude of each θ_k; the sensitivities' absolute tolerance is
        the concentrations' divided by it (default 1).
    s0 : array (n, p), optional
        Initial sensitivities ``dc0/dθ`` (a PFR fed by an upstream unit whose
        outlet depends on θ); zero by default.
    operation : str
        Name for errors.
    full_matrix : bool
        With Rodas5P (the default method), False integrates by the block
        Rodas5P (:mod:`kernels.rosenbrock_sens`: the n x n block factorised,
        the step size controlled on the concentrations, which then take the
        steps of the plain solve); True by the integrator of ``options`` on
        the whole augmented system, sensitivities under error control (the
        reference path, and the path of the other methods).

    Returns
    -------
    y : ndarray (n_times, n)
    dy : ndarray (n_times, n, p)
        ``dy[i, :, k] = dc/dθ_k`` at ``times[i]``.

    Raises
    ------
    InputError
        Inconsistent arrays, negative or non-finite values.
    SolverError
        The integrator failed (named by ``operation``).
    """
    from kernels.problems import BATCH_SENS

    options = SolverOptions() if options is None else options
    n = _species_count(model, c0)
    c0 = _check_concentrations(c0, n, "c0")
    system = sensitivity_system(model, rate_params, T, M, n)
    p = int(system[4][0])
    times = np.ascontiguousarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)) \
            or np.any(times < 0.0) or np.any(np.diff(times) < 0.0):
        raise InputError("expected sorted, finite, non-negative output times", _WHERE, "times")
    scale = np.ones(p) if parameter_scale is None else np.asarray(parameter_scale, float)
    if scale.shape != (p,) or not np.all(np.isfinite(scale)) or np.any(scale <= 0.0):
        raise InputError(f"expected {p} positive parameter scales", _WHERE, "parameter_scale")
    atol_c = options.atol_vector(c0)
    atol = np.concatenate([atol_c] + [-atol_c / s for s in scale])  # negative: may change sign
    y0 = np.zeros(n * (p + 1))
    y0[:n] = c0
    if s0 is not None:
        s0 = np.asarray(s0, dtype=np.float64)
        if s0.shape != (n, p) or not np.all(np.isfinite(s0)):
            raise InputError(f"expected finite ({n}, {p}) initial sensitivities, got shape "
                             f"{s0.shape}", _WHERE, "s0")
        y0[n:] = s0.T.ravel()
    if _uses_block_rodas(options, n, full_matrix):
        # the unguarded model: the block integrator's slot form checks the code itself
        y_eval = _integrate_block((model,) + system[1:], BATCH_SENS, y0, n, times, options,
                                  atol, operation)
    else:
        _, y_eval = integrate(system, BATCH_SENS, y0, float(times[-1]), options,
                              t_eval=times, record=False, atol=atol, operation=operation)
    y = y_eval[:, :n].copy()
    dy = np.ascontiguousarray(y_eval[:, n:].reshape(times.size, p, n).transpose(0, 2, 1))
    return y, dy


def _species_count(model, c, name="c0"):
    """Number of species: the length of the concentration vector, checked
    against the species the model's rows refer to."""
    n = int(np.size(c))
    used = [a for a in (model[1], model[4], model[7]) if a.size]
    top = max((int(a.max()) for a in used), default=-1)
    if n <= top:
        raise InputError(f"expected at least {top + 1} concentrations for this model, got {n}",
                         _WHERE, name)
    return n


def _uses_block_rodas(options, n_state, full_matrix):
    """True when the augmented system goes to the block Rodas5P: the plain
    solve of the ``n_state`` states would run Rodas5P and the caller did not
    ask for the full-matrix integrator."""
    if not isinstance(full_matrix, (bool, np.bool_)):
        raise InputError(f"expected True or False, got {full_matrix!r}", _WHERE, "full_matrix")
    return not full_matrix and options.integrator(n_state) == "rodas"


def _integrate_block(system, code, y0, n_state, times, options, atol, operation):
    """``y_eval`` of the sensitivity system ``code`` integrated by the block
    Rodas5P of :mod:`kernels.rosenbrock_sens`: only the ``n_state`` square
    diagonal block of the iteration matrix is factorised, and the step-size
    control sees the states alone (CVODES' ``errconS = false``), so the states
    take the steps of the plain Rodas5P solve and the sensitivities ride on
    them. Raises SolverError as :func:`~flowchem.reactors.solver.integrate`."""
    from kernels.rosenbrock_sens import integrate_rodas_sens

    from ..core.errors import SolverError
    from .solver import _status_message

    t_end = float(times[-1])
    status, t, _, _, y_eval, _, _ = integrate_rodas_sens(
        code, system, np.ascontiguousarray(y0, dtype=np.float64), int(n_state), 0.0, t_end,
        times, options.rtol, np.ascontiguousarray(atol, dtype=np.float64), 0.0,
        options.max_steps, False, False, True)
    if status != 0:
        t_fail = float(t[-1]) if len(t) else 0.0
        raise SolverError(operation, f"rodas integrator stopped at t = {t_fail:.6g} s of "
                                     f"{t_end:.6g} s: {_status_message(status)}")
    if not np.all(np.isfinite(y_eval)):
        raise SolverError(operation, "integrator returned non-finite concentrations")
    return y_eval


def cstr_sensitivities(model, rate_params, T, c_in, residence_time, M, *, n_tanks=1,
                       dc_in=None, options=None, operation="CSTR sensitivities"):
    """Steady states of an isothermal CSTR (or cascade of equal tanks) and
    their θ-derivatives.

    Parameters
    ----------
    model, rate_params, T, M
        As in :func:`batch_sensitivities`.
    c_in : array (n,)
        Feed concentrations, mol/m^3.
    residence_time : float
        Residence time of the whole cascade, s (each tank: ``residence_time / n_tanks``).
    n_tanks : int
        Number of equal tanks in series.
    dc_in : array (n, p), optional
        Sensitivity of the feed (an upstream unit's); zero by default.
    options : SolverOptions, optional

    Returns
    -------
    states : ndarray (n_tanks, n)
        Steady state of each tank; the outlet is ``states[-1]``.
    dstates : ndarray (n_tanks, n, p)
        ``dstates[k, :, j] = dc*/dθ_j`` of tank k.

    Raises
    ------
    InputError, SolverError
        As :func:`batch_sensitivities`; SolverError also when J - I/tau is
        singular at a steady state (a turning point of the steady-state branch).
    """
    options = SolverOptions() if options is None else options
    n = _species_count(model, c_in, "c_in")
    c_in = _check_concentrations(c_in, n, "c_in")
    system = sensitivity_system(model, rate_params, T, M, n)
    p = int(system[4][0])
    if isinstance(n_tanks, bool) or not isinstance(n_tanks, (int, np.integer)) or n_tanks < 1:
        raise InputError(f"expected a positive number of tanks, got {n_tanks!r}", _WHERE, "n_tanks")
    if isinstance(residence_time, bool) or not isinstance(residence_time, (int, float, np.floating)) \
            or not (math.isfinite(residence_time) and residence_time > 0.0):
        raise InputError(f"expected a positive residence time in s, got {residence_time!r}",
                         _WHERE, "residence_time")
    tau_each = float(residence_time) / int(n_tanks)
    if dc_in is None:
        dc_in = np.zeros((n, p))
    dc_in = np.ascontiguousarray(dc_in, dtype=np.float64)
    if dc_in.shape != (n, p) or not np.all(np.isfinite(dc_in)):
        raise InputError(f"expected a finite ({n}, {p}) feed sensitivity, got shape {dc_in.shape}",
                         _WHERE, "dc_in")
    m = system[2].shape[0]
    # the plain CSTR_TRANSIENT system for the steady states (same rate constants)
    plain = (model, rate_params, system[2], system[3], np.zeros(1 + n), np.zeros(max(2 * m, 1)))
    states, _ = steady_cstr_cascade(plain, c_in, tau_each, int(n_tanks), options,
                                    operation=operation)
    out = steady_sensitivities(system, states, tau_each, dc_in, operation=operation)
    return states, out


# -- with an energy balance ---------------------------------------------------------
_T_ATOL = 1e-9          # K, as the reactors of flowchem.reactors.ideal


def energy_kernel_model(model, delta_H, n_species, rho_cp):
    """The model tuple with the heat row ``n`` (coefficient -dH_j, J/m^3) and
    the temperature row ``n + 1`` (-dH_j/(rho cp), K) in its net
    stoichiometry, as :func:`flowchem.reactors.solver.energy_model` builds it;
    ``rho_cp=None`` leaves the temperature row empty (constant T)."""
    m = model[0].shape[0] - 1
    dH = np.asarray(delta_H, dtype=np.float64)
    if dH.shape != (m,) or not np.all(np.isfinite(dH)):
        raise InputError(f"expected {m} finite reaction enthalpies", _WHERE, "delta_H")
    return energy_rows(model, dH, n_species, rho_cp)


def _check_positive(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not (math.isfinite(value) and value > 0.0):
        raise InputError(f"expected a positive number, got {value!r}", _WHERE, name)
    return float(value)


def _check_vector(v, p, name):
    if v is None:
        return np.zeros(p)
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if v.shape != (p,) or not np.all(np.isfinite(v)):
        raise InputError(f"expected {p} finite values, got shape {v.shape}", _WHERE, name)
    return v


def energy_sensitivity_system(model, rate_params, delta_H, n_species, M, *, rho_cp,
                              ua_over_rho_cp=0.0, coolant_T=0.0, d_coolant_T=None,
                              d_ua_over_rho_cp=None):
    """The BATCH_ENERGY_SENS system tuple of :mod:`kernels.sensitivity` for the
    state ``[c (n_species), heat, T]`` with ``p = M.shape[1]`` parameters.

    Parameters
    ----------
    model, rate_params : tuple
        Kernel arrays of the mechanism at θ (:func:`kernel_arrays`).
    delta_H : array (m,)
        Reaction enthalpies at θ, J/mol.
    n_species : int
    M : array (raw size, p)
        d raw / d θ; the enthalpy rows ``[6 m + nnz, 7 m + nnz)`` are optional.
    rho_cp : float or None
        Volumetric heat capacity, J/m^3/K; None: constant temperature.
    ua_over_rho_cp, coolant_T : float
        Wall term Ua/(rho cp) (1/s; 0 adiabatic) and coolant temperature (K).
    d_coolant_T, d_ua_over_rho_cp : array (p,), optional
        Their derivatives with respect to θ (operating conditions); zero by default.
    """
    from kernels.sensitivity import ESENS_HEADER, energy_params_size, work_size

    m, nnz, M = _check_model(model, rate_params, M)
    p = M.shape[1]
    n = int(n_species)
    rho_cp = _check_positive(rho_cp, "rho_cp", allow_none=True)
    ua = float(ua_over_rho_cp) if rho_cp is not None else 0.0
    if not (math.isfinite(ua) and ua >= 0.0):
        raise InputError(f"expected a non-negative Ua/(rho cp), got {ua_over_rho_cp!r}", _WHERE,
                         "ua_over_rho_cp")
    Tc = float(coolant_T or 0.0)
    if not math.isfinite(Tc) or (ua > 0.0 and Tc <= 0.0):
        raise InputError(f"expected a positive coolant temperature in K, got {coolant_T!r}",
                         _WHERE, "coolant_T")
    emodel = energy_kernel_model(model, delta_H, n, rho_cp)
    params = np.zeros(energy_params_size(m, nnz, p))
    rows = np.concatenate([np.diff(model[0]), np.diff(model[3])]) if m else np.zeros(1, np.int64)
    max_factors = int(rows.max()) if rows.size else 0
    params[:ESENS_HEADER] = [p, n + 2, max_factors, n, 0.0 if rho_cp is None else 1.0 / rho_cp,
                             ua, Tc]
    o = ESENS_HEADER
    params[o:o + 6 * m * p] = M[:6 * m].ravel()
    o += 6 * m * p
    params[o:o + nnz * p] = M[6 * m:6 * m + nnz].ravel()
    o += nnz * p
    if M.shape[0] >= 7 * m + nnz:
        params[o:o + m * p] = M[6 * m + nnz:7 * m + nnz].ravel()
    o += m * p
    params[o:o + p] = _check_vector(d_coolant_T, p, "d_coolant_T")
    params[o + p:o + 2 * p] = _check_vector(d_ua_over_rho_cp, p, "d_ua_over_rho_cp") \
        if rho_cp is not None else 0.0
    work = np.zeros(work_size(m, max_factors))
    return (guard_model(emodel), rate_params, np.zeros(m), np.zeros(m), params, work)


def _energy_atol(options, c, delta_H, T_scale=1.0):
    """Absolute tolerances of [c, heat, T]: the concentrations', the heat
    row's (negative: may change sign; as flowchem.reactors.ideal) and 1e-9 K."""
    dH = np.abs(np.asarray(delta_H, dtype=np.float64))
    heat_scale = min(max(float(dH.max(initial=0.0)) * float(np.max(np.abs(c), initial=0.0)), 1.0),
                     1e290)
    return np.concatenate([options.atol_vector(c), [-1e-10 * heat_scale, _T_ATOL * T_scale]])


def _initial_sensitivity(s0, N, p, name):
    if s0 is None:
        return np.zeros((N, p))
    s0 = np.asarray(s0, dtype=np.float64)
    if s0.shape != (N, p) or not np.all(np.isfinite(s0)):
        raise InputError(f"expected finite ({N}, {p}) initial sensitivities "
                         f"([c, heat, T] by parameter), got shape {s0.shape}", _WHERE, name)
    return s0


def batch_energy_sensitivities(model, rate_params, delta_H, c0, T0, times, M, *, rho_cp,
                               ua_over_rho_cp=0.0, coolant_T=0.0, s0=None, d_coolant_T=None,
                               d_ua_over_rho_cp=None, d_ln_time=None, options=None,
                               parameter_scale=None, operation="batch sensitivities",
                               full_matrix=False):
    """States ``[c, heat, T]`` and their θ-derivatives of a batch (or PFR, in
    residence time) run with an energy balance: adiabatic
    (``ua_over_rho_cp=0``), cooled, or at constant T (``rho_cp=None``).

    Parameters
    ----------
    model, rate_params, delta_H, M, rho_cp, ua_over_rho_cp, coolant_T, d_coolant_T, d_ua_over_rho_cp
        As :func:`energy_sensitivity_system`.
    c0 : array (n,)
        Initial (PFR: inlet) concentrations, mol/m^3.
    T0 : float
        Initial (inlet) temperature, K.
    times : array
        Output times, s, sorted, non-negative.
    s0 : array (n + 2, p), optional
        Initial sensitivities of [c, heat, T] (an upstream unit's, or the
        inlet temperature's unit column); zero by default.
    d_ln_time : array (p,), optional
        d ln t / dθ of the output times (a PFR whose residence time moves
        with θ, e.g. its volume: every position keeps its fraction of the
        tube): adds ``f(y(t_i)) t_i d ln t/dθ``; zero by default.
    options, parameter_scale, operation, full_matrix
        As :func:`batch_sensitivities` (the block Rodas5P factorises the
        ``n + 2`` square block; the states then take the steps of the plain
        energy-balance solve).

    Returns
    -------
    y : ndarray (n_times, n + 2)
    dy : ndarray (n_times, n + 2, p)
        ``dy[i, :, k] = d[c, heat, T]/dθ_k`` at ``times[i]``.
    """
    from kernels.problems import BATCH_ENERGY_SENS
    from kernels.sensitivity import energy_sensitivity_rhs

    options = SolverOptions() if options is None else options
    n = _species_count(model, c0)
    c0 = _check_concentrations(c0, n, "c0")
    T0 = _check_temperature(T0)
    system = energy_sensitivity_system(model, rate_params, delta_H, n, M, rho_cp=rho_cp,
                                       ua_over_rho_cp=ua_over_rho_cp, coolant_T=coolant_T,
                                       d_coolant_T=d_coolant_T, d_ua_over_rho_cp=d_ua_over_rho_cp)
    p = int(system[4][0])
    N = n + 2
    times = np.ascontiguousarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)) \
            or np.any(times < 0.0) or np.any(np.diff(times) < 0.0):
        raise InputError("expected sorted, finite, non-negative output times", _WHERE, "times")
    scale = np.ones(p) if parameter_scale is None else np.asarray(parameter_scale, float)
    if scale.shape != (p,) or not np.all(np.isfinite(scale)) or np.any(scale <= 0.0):
        raise InputError(f"expected {p} positive parameter scales", _WHERE, "parameter_scale")
    atol_x = _energy_atol(options, c0, delta_H)
    atol = np.concatenate([atol_x] + [-np.abs(atol_x) / s for s in scale])
    y0 = np.zeros(N * (p + 1))
    y0[:n] = c0
    y0[n + 1] = T0
    y0[N:] = _initial_sensitivity(s0, N, p, "s0").T.ravel()
    if _uses_block_rodas(options, N, full_matrix):
        y_eval = _integrate_block(system, BATCH_ENERGY_SENS, y0, N, times, options, atol,
                                  operation)
    else:
        _, y_eval = integrate(system, BATCH_ENERGY_SENS, y0, float(times[-1]), options,
                              t_eval=times, record=False, atol=atol, operation=operation)
    y = y_eval[:, :N].copy()
    dy = np.ascontiguousarray(y_eval[:, N:].reshape(times.size, p, N).transpose(0, 2, 1))
    if d_ln_time is not None:
        d_ln_time = _check_vector(d_ln_time, p, "d_ln_time")
        aug, f = np.zeros(N * (p + 1)), np.zeros(N * (p + 1))
        for i, t in enumerate(times):
            aug[:N] = y[i]
            energy_sensitivity_rhs(aug, system, f)
            dy[i] += np.outer(f[:N], t * d_ln_time)
    return y, dy


def cstr_energy_sensitivities(model, rate_params, delta_H, c_in, T_in, residence_time, M, *,
                              rho_cp, ua_over_rho_cp=0.0, coolant_T=0.0, n_tanks=1, dy_in=None,
                              d_coolant_T=None, d_ua_over_rho_cp=None, d_ln_residence_time=None,
                              options=None, operation="CSTR sensitivities"):
    """Steady states ``[c, heat, T]`` of a CSTR (or cascade of equal tanks,
    ``ua_over_rho_cp`` per volume as each tank's) with an energy balance, and
    their θ-derivatives.

    The tanks are solved as :class:`~flowchem.reactors.ideal.CSTRCascade`
    does (CSTR_ENERGY, start-up from the feed, each tank's inlet carrying zero
    heat released), then ``(J - I/tau) dx*/dθ = -(g + (1/tau) dx_in/dθ)``
    tank by tank.

    Parameters
    ----------
    c_in, T_in : array (n,), float
        Feed concentrations (mol/m^3) and temperature (K).
    residence_time : float
        Residence time of the whole cascade, s.
    dy_in : array (n + 2, p), optional
        Sensitivity of the feed [c, heat (ignored), T]; zero by default.
    d_ln_residence_time : array (p,), optional
        d ln tau / dθ (the volume as a parameter): adds ``-(x_in - x)/tau
        d ln tau/dθ`` to each tank's dF/dθ; zero by default. (A jacket of
        fixed area then has Ua per volume falling as 1/V: give that in
        ``d_ua_over_rho_cp``.)
    others
        As :func:`batch_energy_sensitivities` and :func:`cstr_sensitivities`.

    Returns
    -------
    states : ndarray (n_tanks, n + 2)
    dstates : ndarray (n_tanks, n + 2, p)

    Raises
    ------
    InputError, SolverError
        As :func:`cstr_sensitivities` (SolverError also at a turning point of
        the steady-state branch, where J - I/tau is singular).
    """
    from kernels.problems import CSTR_ENERGY

    options = SolverOptions() if options is None else options
    n = _species_count(model, c_in, "c_in")
    c_in = _check_concentrations(c_in, n, "c_in")
    T_in = _check_temperature(T_in)
    if isinstance(n_tanks, bool) or not isinstance(n_tanks, (int, np.integer)) or n_tanks < 1:
        raise InputError(f"expected a positive number of tanks, got {n_tanks!r}", _WHERE, "n_tanks")
    residence_time = _check_positive(residence_time, "residence_time")
    system = energy_sensitivity_system(model, rate_params, delta_H, n, M, rho_cp=rho_cp,
                                       ua_over_rho_cp=ua_over_rho_cp, coolant_T=coolant_T,
                                       d_coolant_T=d_coolant_T, d_ua_over_rho_cp=d_ua_over_rho_cp)
    p = int(system[4][0])
    N = n + 2
    dy_in = np.ascontiguousarray(_initial_sensitivity(dy_in, N, p, "dy_in"))
    dy_in[n] = 0.0
    tau_each = residence_time / int(n_tanks)
    m = system[2].shape[0]
    # the plain CSTR_ENERGY system: unguarded model, params [1/tau, y_in, Ua/(rho cp), T_c]
    plain_params = np.zeros(1 + N + 2)
    plain_params[N + 1] = system[4][5]
    plain_params[N + 2] = system[4][6]
    plain = (energy_kernel_model(model, delta_H, n, None if system[4][4] == 0.0 else rho_cp),
             rate_params, np.zeros(m), np.zeros(m), plain_params, np.zeros(max(2 * m, 1)))
    atol = _energy_atol(options, c_in, delta_H)
    states = np.zeros((int(n_tanks), N))
    inlet = np.concatenate([c_in, [0.0, T_in]])
    for k in range(int(n_tanks)):
        label = operation if n_tanks == 1 else f"{operation} (tank {k + 1})"
        st, _ = steady_cstr_cascade(plain, inlet, tau_each, 1, options, operation=label,
                                    code=CSTR_ENERGY, atol=atol)
        states[k] = st[0]
        inlet = st[0].copy()
        inlet[n] = 0.0
    if d_ln_residence_time is None:
        out = steady_energy_sensitivities(system, states, tau_each, dy_in, operation=operation)
        return states, out
    # ∂F/∂θ gains -(x_in - x)/tau d ln tau/dθ: folded into each tank's inlet
    # term (1/tau) dx_in/dθ, so the tanks are chained here
    d_ln_tau = _check_vector(d_ln_residence_time, p, "d_ln_residence_time")
    out = np.zeros((int(n_tanks), N, p))
    upstream = dy_in
    x_in = np.concatenate([c_in, [0.0, T_in]])
    for k in range(int(n_tanks)):
        label = operation if n_tanks == 1 else f"{operation} (tank {k + 1})"
        effective = upstream - np.outer(x_in - states[k], d_ln_tau)
        out[k] = steady_energy_sensitivities(system, states[k:k + 1], tau_each,
                                             np.ascontiguousarray(effective), operation=label)[0]
        upstream = out[k].copy()
        upstream[n] = 0.0
        x_in = states[k].copy()
        x_in[n] = 0.0
    return states, out
