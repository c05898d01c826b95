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

Error control
-------------
The sensitivities take part in the integrator's error control with the same
``rtol`` and, for parameter ``k``, the absolute tolerance
``atol_c / scale_k`` (the convention of CVODES, ``atol / |pbar_k|``), where
``atol_c`` is the concentrations' absolute tolerance. The default scale is 1:
θ is already well scaled (``ln k``, ``Ea/(R T_c)``, orders), a unit change of
θ_k moves the concentrations by about ``s_k``, and ``s_k`` has the unit and
magnitude of a concentration. Sensitivities may be negative, so they are
exempt from the integrators' non-negativity rule.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import InputError
from .solver import SolverOptions, integrate, steady_cstr_cascade, steady_sensitivities

__all__ = ["kernel_arrays", "log_rate_derivatives", "guard_model", "sensitivity_system",
           "batch_sensitivities", "cstr_sensitivities"]

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
                        parameter_scale=None, s0=None, operation="batch sensitivities"):
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
    _, y_eval = integrate(system, BATCH_SENS, y0, float(times[-1]), options, t_eval=times,
                          record=False, atol=atol, operation=operation)
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
