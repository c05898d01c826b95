"""A whole route evaluated for many points in one compiled call.

:func:`run_route_ensemble` takes a route *program* -- flat arrays that
describe the feeds, the unit operations in dependency order and the
mechanism -- and a matrix of per-point parameters, and runs the route for
every point in a ``numba.prange`` loop. The program is data: one compilation
serves every route and every mechanism. ``flowchem.process.compiled_route``
builds the program from a loaded route and turns the returned states into
the study-table KPIs.

Streams live in *registers*: row ``r`` of a point's register file holds
``[c_0 .. c_{n-1}, flow, T, rho, cp, mu]`` (mol/m^3, m^3/s, K, kg/m^3,
J/(kg K), Pa s). Feeds are loaded from the parameter row, each operation
reads its inlet registers and writes its outlet registers.

Operations (``op_code``) and their float parameters at
``params[op_slot[k] + ...]`` (NaN = not given):

* ``OP_MIXER``: none. Flows and molar flows add, T by heat-capacity
  weighting, properties by the mixing rules of
  ``flowchem.chemistry.properties.mix_properties``.
* ``OP_SPLITTER``: the fraction of each outlet, in outlet order.
* ``OP_HEAT_EXCHANGER``: ``[T]``.
* ``OP_PFR``, ``OP_TANKS`` (CSTR and cascade): ``[volume, T, U,
  area_per_volume, coolant_T, rho, cp, mu]``; ``op_int[k] = [n_tanks,
  energy mode (0 isothermal, 1 adiabatic, 2 cooled), own properties (0/1),
  -]``.
* ``OP_QUENCH``: ``[time, T]`` -- mix, then an isothermal plug-flow hold.
* ``OP_SEPARATOR``: ``[phase_ratio, fraction_organic[n], partition[n]]``;
  ``op_int[k, 3]`` is 1 when species in neither table go to the organic
  phase, ``op_int[k, 2]`` is 1 when the aqueous flow is that of the inlets
  flagged in ``op_in_flag`` (else ``phase_ratio``).

The integrator calls mirror the Python route exactly (state with the heat
row, the same atol vector, rtol, initial step and step budget), so the step
sequences and results are the same. Skipped on purpose, as they are
warnings and report entries rather than table columns: the hot-spot
sensitivity, the steady-state multiplicity scan of tanks and the runaway
screen. Rodas5P is driven here (``method: rodas``, or ``auto`` where it
resolves to Rodas5P), and ``method: auto-switch``: DOPRI5 or DOP853 first,
Rodas5P from the start again when it stops (stiffness detected or any other
failure), as ``flowchem.reactors.solver.integrate``.

No function here raises: a failed point gets a ``FAIL_*`` kind, the
operation index and numbers for the message, and the other points go on.
"""

import numpy as np
from numba import prange

from ._common import DENSE_DOP853, DENSE_DOPRI5, DENSE_RODAS, dense_eval, locate
from .dop853 import integrate_dop853_planned
from .explicit import explicit_model_plan, integrate_dopri5_planned, no_explicit_plan
from .jit import njit, njit_parallel
from .kinetics import rate_constants
from .problems import BATCH, BATCH_ENERGY, CSTR_ENERGY, CSTR_TRANSIENT
from .linalg import no_sparse_plan
from .rosenbrock import integrate_rodas_planned, rodas_lu_plan
from .status import STIFF_DETECTED, SUCCESS
from .steady import solve_cstr_cascade

OP_MIXER = 0
OP_SPLITTER = 1
OP_HEAT_EXCHANGER = 2
OP_PFR = 3
OP_TANKS = 4
OP_QUENCH = 5
OP_SEPARATOR = 6

MODE_ISOTHERMAL = 0
MODE_ADIABATIC = 1
MODE_COOLED = 2

# failure kinds of a point (fail_kind); fail_code holds a kernel status where
# one applies, fail_num numbers for the message (see compiled_route)
FAIL_NONE = 0
FAIL_NO_FLOW = 1           # an operation's feed has no flow
FAIL_RATE_OVERFLOW = 2     # num = [reaction, 1 forward / 0 reverse, T]
FAIL_INTEGRATOR = 3        # code = kernel status, num = [t_fail, t_end]
FAIL_NONFINITE = 4         # the integrator returned non-finite values
FAIL_NEGATIVE = 5          # num = [min concentration]
FAIL_STEADY = 6            # code = kernel status, num = [tank index, n tanks, per-tank call]
FAIL_STEADY_NONFINITE = 7  # num = [tank index, n tanks, per-tank call]
FAIL_STEADY_NEGATIVE = 8   # num = [min, tank index, n tanks, per-tank call]
FAIL_PHASES = 9            # separator: a phase without flow

#: register columns after the concentrations
R_FLOW, R_T, R_RHO, R_CP, R_MU = 0, 1, 2, 3, 4
N_REG_EXTRA = 5

#: per-operation reported values (op_values[:, k, :])
V_T_MAX, V_FLOW_IN, V_RHO, V_MU = 0, 1, 2, 3
N_OP_VALUES = 4

NEGATIVE_ROUNDOFF_ATOLS = 1.0e3   # as flowchem.reactors.ideal
MAX_HEAT_SCALE = 1e290            # as flowchem.reactors.energy
GOLDEN = 0.3819660112501051       # (3 - sqrt 5) / 2


@njit
def _mix(R, inlets, n, out):
    """Adiabatic ideal mixing of registers ``inlets`` into ``out``."""
    flow = 0.0
    molar = np.zeros(n)
    mass_total = 0.0
    num = 0.0
    den = 0.0
    n_live = 0
    last_live = -1
    for a in range(inlets.shape[0]):
        s = inlets[a]
        q = R[s, n + R_FLOW]
        flow += q
        for i in range(n):
            molar[i] += R[s, i] * q
        m = R[s, n + R_RHO] * q
        mass_total += m
        num += m * R[s, n + R_CP] * R[s, n + R_T]
        den += m * R[s, n + R_CP]
        if m > 0.0:
            n_live += 1
            last_live = s
    for i in range(n):
        out[i] = molar[i] / flow
    out[n + R_FLOW] = flow
    out[n + R_T] = num / den
    if n_live == 1:
        out[n + R_RHO] = R[last_live, n + R_RHO]
        out[n + R_CP] = R[last_live, n + R_CP]
        out[n + R_MU] = R[last_live, n + R_MU]
    else:
        inv_rho = 0.0
        cp = 0.0
        ln_mu = 0.0
        for a in range(inlets.shape[0]):
            s = inlets[a]
            m = R[s, n + R_RHO] * R[s, n + R_FLOW]
            if m > 0.0:
                w = m / mass_total
                inv_rho += w / R[s, n + R_RHO]
                cp += w * R[s, n + R_CP]
                ln_mu += w * np.log(R[s, n + R_MU])
        out[n + R_RHO] = 1.0 / inv_rho
        out[n + R_CP] = cp
        out[n + R_MU] = np.exp(ln_mu)


@njit
def _atol_c(c, atol_fixed):
    """SolverOptions.atol_vector: the given atol, else 1e-12 max|c| (>= 1e-22)."""
    n = c.shape[0]
    out = np.empty(n)
    if atol_fixed > 0.0:
        v = atol_fixed
    else:
        top = 0.0
        for i in range(n):
            top = max(top, abs(c[i]))
        v = max(1.0e-12 * top, 1.0e-22)
    for i in range(n):
        out[i] = v
    return out


@njit
def _heat_scale(dH, c):
    """flowchem.reactors.energy.heat_scale: max|dH| max|c|, within [1, 1e290]."""
    if dH.shape[0] == 0 or c.shape[0] == 0:
        return 1.0
    a = 0.0
    for j in range(dH.shape[0]):
        a = max(a, abs(dH[j]))
    b = 0.0
    for i in range(c.shape[0]):
        b = max(b, abs(c[i]))
    return min(max(a * b, 1.0), MAX_HEAT_SCALE)


@njit
def _overflow(T, rate_params, m, fail_num):
    """True (and the reaction in ``fail_num``) when a rate constant at T is not finite."""
    kf = np.zeros(m)
    kr = np.zeros(m)
    rate_constants(T, rate_params, kf, kr)
    for j in range(m):
        if not (np.isfinite(kf[j]) and np.isfinite(kr[j])):
            fail_num[0] = j
            fail_num[1] = 0.0 if np.isfinite(kf[j]) else 1.0
            fail_num[2] = T
            return True
    return False


@njit
def _energy_nu(s_nu_template, s_kind, s_rx, dH, rho_cp):
    """Stoichiometric values of the heat / energy model: species entries as
    given, the heat row -dH_j, the temperature row -dH_j/(rho cp)
    (flowchem.reactors.solver.energy_model)."""
    nu = s_nu_template.copy()
    for a in range(nu.shape[0]):
        if s_kind[a] == 1:
            nu[a] = -dH[s_rx[a]]
        elif s_kind[a] == 2:
            nu[a] = -dH[s_rx[a]] / rho_cp
    return nu


@njit
def _dense_value(kind, t, t_steps, y_steps, dense, col, tmp):
    """State ``col`` at ``t`` (clipped to the solved interval) by the dense
    output of method ``kind`` (DENSE_RODAS, DENSE_DOPRI5, DENSE_DOP853)."""
    n_acc = dense.shape[0]
    t = min(max(t, t_steps[0]), t_steps[n_acc])
    i = locate(t_steps[: n_acc + 1], t)
    theta = (t - t_steps[i]) / (t_steps[i + 1] - t_steps[i])
    dense_eval(kind, theta, y_steps[i], y_steps[i + 1], dense[i], tmp)
    return tmp[col]


@njit
def _hot_spot(kind, t_steps, y_steps, dense, col):
    """Largest value of state ``col`` over the recorded steps, refined by a
    golden-section search of the dense output on the steps either side
    (to 1e-12 of the bracket in t)."""
    n_t = t_steps.shape[0]
    k = 0
    for i in range(1, n_t):
        if y_steps[i, col] > y_steps[k, col]:
            k = i
    best = y_steps[k, col]
    lo = t_steps[max(k - 1, 0)]
    hi = t_steps[min(k + 1, n_t - 1)]
    if not hi > lo or dense.shape[0] == 0:
        return best
    tmp = np.empty(y_steps.shape[1])
    a = lo
    b = hi
    x1 = a + GOLDEN * (b - a)
    x2 = b - GOLDEN * (b - a)
    f1 = _dense_value(kind, x1, t_steps, y_steps, dense, col, tmp)
    f2 = _dense_value(kind, x2, t_steps, y_steps, dense, col, tmp)
    tol = 1e-12 * (hi - lo)
    for _ in range(200):
        if b - a <= tol:
            break
        if f1 >= f2:
            b = x2
            x2 = x1
            f2 = f1
            x1 = a + GOLDEN * (b - a)
            f1 = _dense_value(kind, x1, t_steps, y_steps, dense, col, tmp)
        else:
            a = x1
            x1 = x2
            f1 = f2
            x2 = b - GOLDEN * (b - a)
            f2 = _dense_value(kind, x2, t_steps, y_steps, dense, col, tmp)
    f = max(f1, f2)
    return f if f > best else best


@njit
def _lu_plans(raw_row, n, model, heat_s, energy_s, m, has_heat, build):
    """Sparse LU plans (:func:`kernels.rosenbrock.rodas_lu_plan`) of the three
    tube systems for the kinetic parameters ``raw_row``: isothermal, isothermal
    with the heat row, energy balance (heat and T rows); empty plans when not
    ``build`` or not needed. Only the pattern matters, so the stoichiometric
    values are the templates."""
    n_ord = model[2].shape[0]
    r_ord = np.empty(n_ord)
    for a in range(n_ord):
        r_ord[a] = raw_row[6 * m + a]
    if not build:
        return no_sparse_plan(), no_sparse_plan(), no_sparse_plan()
    r_ptr, r_sp, _, p_ptr, p_sp, p_ord, s_ptr, s_sp, s_nu = model
    iso = rodas_lu_plan(np.int64(BATCH), (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, s_ptr, s_sp,
                                          s_nu), n)
    heat = no_sparse_plan()
    if has_heat:
        heat = rodas_lu_plan(np.int64(BATCH), (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord,
                                               heat_s[0], heat_s[1], heat_s[4]), n + 1)
    energy = rodas_lu_plan(np.int64(BATCH_ENERGY), (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord,
                                                    energy_s[0], energy_s[1], energy_s[4]),
                           n + 2)
    return iso, heat, energy


@njit
def _explicit_plans(raw_row, n, model, heat_s, m, has_heat):
    """The slot-form plans of the explicit methods
    (:func:`kernels.explicit.explicit_model_plan`) of the isothermal tube and
    the isothermal tube with the heat row for the kinetic parameters
    ``raw_row`` (their stoichiometric values: the heat row's are -dH); a tube
    with an energy balance takes the general rhs."""
    r_ptr, r_sp, _, p_ptr, p_sp, p_ord, s_ptr, s_sp, s_nu = model
    n_ord = model[2].shape[0]
    r_ord = np.empty(n_ord)
    for a in range(n_ord):
        r_ord[a] = raw_row[6 * m + a]
    iso = explicit_model_plan(np.int64(BATCH), (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, s_ptr,
                                                s_sp, s_nu), n)
    heat = no_explicit_plan()
    if has_heat:
        dH = np.empty(m)
        for j in range(m):
            dH[j] = raw_row[6 * m + n_ord + j]
        h_ptr, h_sp, h_kind, h_rx, h_nu0 = heat_s
        heat_model = (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, h_ptr, h_sp,
                      _energy_nu(h_nu0, h_kind, h_rx, dH, 1.0))
        heat = explicit_model_plan(np.int64(BATCH), heat_model, n + 1)
    return iso, heat


@njit(inline="always")
def _reactor_system(c_in, n, m, T, mode, U, apv, coolant_T, rho, cp, model, heat_s, energy_s,
                    s_nu, rate_params, dH, has_heat, atol_fixed, code_isothermal, code_energy):
    """The kernel problem of a tube or a tank, laid out as the Python route
    lays it out (flowchem.reactors.ideal): ``(code, system, y, atol, atol_c)``
    with ``y`` the inlet state [c, heat released?, T?] and its tolerances.
    ``T`` is the reactor's temperature (isothermal) or its inlet temperature."""
    atol_c = _atol_c(c_in, atol_fixed)
    heat_atol = -1e-10 * _heat_scale(dH, c_in)
    work = np.zeros(max(2 * m, 1))
    kf = np.zeros(m)
    kr = np.zeros(m)
    r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, s_ptr, s_sp, s_nu0 = model
    if mode == MODE_ISOTHERMAL:
        rate_constants(T, rate_params, kf, kr)
        code = code_isothermal
        if has_heat:
            h_ptr, h_sp, h_kind, h_rx, h_nu0 = heat_s
            sys_model = (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, h_ptr, h_sp,
                         _energy_nu(h_nu0, h_kind, h_rx, dH, 1.0))
            y = np.zeros(n + 1)
            atol = np.empty(n + 1)
            atol[n] = heat_atol
            params = np.zeros(1 + n + 1)
        else:
            sys_model = (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, s_ptr, s_sp, s_nu)
            y = np.zeros(n)
            atol = np.empty(n)
            params = np.zeros(1 + n)
    else:
        code = code_energy
        rho_cp = rho * cp
        e_ptr, e_sp, e_kind, e_rx, e_nu0 = energy_s
        sys_model = (r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, e_ptr, e_sp,
                     _energy_nu(e_nu0, e_kind, e_rx, dH, rho_cp))
        ua = U * apv if mode == MODE_COOLED else 0.0
        params = np.zeros(1 + (n + 2) + 2)
        params[n + 3] = ua / rho_cp
        params[n + 4] = coolant_T if mode == MODE_COOLED else 0.0
        y = np.zeros(n + 2)
        y[n + 1] = T
        atol = np.empty(n + 2)
        atol[n] = heat_atol
        atol[n + 1] = 1e-9
    for i in range(n):
        y[i] = c_in[i]
        atol[i] = atol_c[i]
    return code, (sys_model, rate_params, kf, kr, params, work), y, atol, atol_c


@njit(inline="always")
def _plug_flow(inlet, n, m, volume, T_given, mode, U, apv, coolant_T, rho, cp, model,
               heat_s, energy_s, s_nu, rate_params, dH, has_heat, rtol, atol_fixed,
               max_steps, out, values, fail_num, plans, have_plans, explicit_first,
               explicit_plans):
    """One plug-flow tube (or quench hold) on the inlet register ``inlet``;
    the outlet into ``out``. ``plans`` are the sparse LU plans of
    :func:`_lu_plans` and ``explicit_plans`` those of :func:`_explicit_plans`
    when ``have_plans``, else the tube builds its own; ``explicit_first``
    (method auto-switch): 1 DOPRI5 first, 2 DOP853 first, 0 Rodas5P alone.
    Returns ``(fail kind, kernel status)``."""
    flow = inlet[n + R_FLOW]
    T_feed = inlet[n + R_T]
    c_in = inlet[:n].copy()
    values[V_FLOW_IN] = flow
    values[V_RHO] = rho
    if not flow > 0.0:
        return FAIL_NO_FLOW, 0
    tau = volume / flow
    T_in = T_given if (mode == MODE_ISOTHERMAL and not np.isnan(T_given)) else T_feed
    if _overflow(T_in, rate_params, m, fail_num):
        return FAIL_RATE_OVERFLOW, 0
    code, system, y0, atol, atol_c = _reactor_system(
        c_in, n, m, T_in, mode, U, apv, coolant_T, rho, cp, model, heat_s, energy_s, s_nu,
        rate_params, dH, has_heat, atol_fixed, BATCH, BATCH_ENERGY)
    record = mode != MODE_ISOTHERMAL
    if not have_plans:
        plan = rodas_lu_plan(np.int64(code), system[0], y0.shape[0])
    elif mode != MODE_ISOTHERMAL:
        plan = plans[2]
    elif has_heat:
        plan = plans[1]
    else:
        plan = plans[0]
    # method auto-switch: DOPRI5 or DOP853 first, Rodas5P from the start again
    # if it stops (flowchem.reactors.solver.integrate does the same)
    status = STIFF_DETECTED
    if explicit_first > 0:
        if not have_plans or mode != MODE_ISOTHERMAL:
            explicit_plan = explicit_model_plan(np.int64(code), system[0], y0.shape[0])
        elif has_heat:
            explicit_plan = explicit_plans[1]
        else:
            explicit_plan = explicit_plans[0]
        if explicit_first == 1:
            res_e = integrate_dopri5_planned(np.int64(code), system, y0, 0.0, tau, np.zeros(0),
                                             rtol, atol, 0.0, max_steps, record, explicit_plan)
            dense_kind = DENSE_DOPRI5
        else:
            res_e = integrate_dop853_planned(np.int64(code), system, y0, 0.0, tau, np.zeros(0),
                                             rtol, atol, 0.0, max_steps, record, explicit_plan)
            dense_kind = DENSE_DOP853
        status, t_steps, y_steps, dense = res_e[0], res_e[1], res_e[2], res_e[3]
    if status != SUCCESS:
        # solve_rodas with the plan built once per ensemble (same steps, same results)
        res = integrate_rodas_planned(np.int64(code), system, y0, 0.0, tau, np.zeros(0), rtol,
                                      atol, 0.0, max_steps, record, 0.0, plan)
        status, t_steps, y_steps, dense = res[0], res[1], res[2], res[3]
        dense_kind = DENSE_RODAS
    if status != SUCCESS:
        fail_num[0] = t_steps[t_steps.shape[0] - 1]
        fail_num[1] = tau
        return FAIL_INTEGRATOR, status
    last = y_steps.shape[0] - 1
    for r in range(y_steps.shape[0] if record else 1):
        row = r if record else last
        for i in range(y0.shape[0]):
            if not np.isfinite(y_steps[row, i]):
                return FAIL_NONFINITE, 0
    c_min = np.inf
    bad = False
    for i in range(n):
        v = y_steps[last, i]
        c_min = min(c_min, v)
        if v < -NEGATIVE_ROUNDOFF_ATOLS * atol_c[i]:
            bad = True
    if record:
        # the Python route also checks the profile it reports; here the
        # recorded steps stand in for its 201 interpolated points
        for r in range(y_steps.shape[0]):
            for i in range(n):
                if y_steps[r, i] < -NEGATIVE_ROUNDOFF_ATOLS * atol_c[i]:
                    bad = True
                    c_min = min(c_min, y_steps[r, i])
    if bad:
        fail_num[0] = c_min
        return FAIL_NEGATIVE, 0
    for i in range(n):
        out[i] = max(y_steps[last, i], 0.0)
    out[n + R_FLOW] = flow
    if mode == MODE_ISOTHERMAL:
        out[n + R_T] = T_in
        values[V_T_MAX] = T_in
    else:
        out[n + R_T] = y_steps[last, n + 1]
        values[V_T_MAX] = _hot_spot(dense_kind, t_steps, y_steps, dense, n + 1)
    return FAIL_NONE, 0


@njit(inline="always")
def _tanks(inlet, n, m, volume, n_tanks, T_given, mode, U, apv, coolant_T, rho, cp, model,
           heat_s, energy_s, s_nu, rate_params, dH, has_heat, rtol, atol_fixed, out, values,
           fail_num):
    """A stirred tank or a cascade of ``n_tanks`` equal tanks at steady state."""
    flow = inlet[n + R_FLOW]
    T_feed = inlet[n + R_T]
    c_in = inlet[:n].copy()
    values[V_FLOW_IN] = flow
    values[V_RHO] = rho
    if not flow > 0.0:
        return FAIL_NO_FLOW, 0
    tau_each = volume / n_tanks / flow
    T = T_given if (mode == MODE_ISOTHERMAL and not np.isnan(T_given)) else T_feed
    if _overflow(T, rate_params, m, fail_num):
        return FAIL_RATE_OVERFLOW, 0
    code, system, y_in, atol, atol_c = _reactor_system(
        c_in, n, m, T, mode, U, apv, coolant_T, rho, cp, model, heat_s, energy_s, s_nu,
        rate_params, dH, has_heat, atol_fixed, CSTR_TRANSIENT, CSTR_ENERGY)
    # a heat row is per tank (each tank's inlet carries none): tanks chained one by one
    chained = y_in.shape[0] > n
    nv = y_in.shape[0]
    stats = np.zeros(6, dtype=np.int64)
    states = np.zeros((n_tanks, nv))
    calls = n_tanks if chained else 1
    per_call = 1 if chained else n_tanks
    feed = y_in.copy()
    for k in range(calls):
        status, st, solved = solve_cstr_cascade(np.int64(code), system, feed, 1.0 / tau_each,
                                                np.int64(per_call), rtol, atol, stats)
        tank = k if chained else solved
        fail_num[0] = tank
        fail_num[1] = n_tanks
        fail_num[2] = 1.0 if chained else 0.0
        if status != SUCCESS:
            return FAIL_STEADY, status
        for r in range(per_call):
            for i in range(nv):
                if not np.isfinite(st[r, i]):
                    return FAIL_STEADY_NONFINITE, 0
        worst = np.inf
        for r in range(per_call):
            for i in range(nv):
                if atol[i] >= 0.0:
                    worst = min(worst, st[r, i])
        for r in range(per_call):
            for i in range(nv):
                if atol[i] >= 0.0 and st[r, i] < -abs(atol[i]):
                    fail_num[3] = worst
                    return FAIL_STEADY_NEGATIVE, 0
        for r in range(per_call):
            states[k + r] = st[r]
        if chained:
            feed = st[0].copy()
            feed[n] = 0.0
    T_max = -np.inf
    for k in range(n_tanks):
        Tk = states[k, n + 1] if mode != MODE_ISOTHERMAL else T
        T_max = max(T_max, Tk)
    for i in range(n):
        out[i] = max(states[n_tanks - 1, i], 0.0)
    out[n + R_FLOW] = flow
    out[n + R_T] = states[n_tanks - 1, n + 1] if mode != MODE_ISOTHERMAL else T
    values[V_T_MAX] = T_max
    return FAIL_NONE, 0


@njit
def _run_point(p, raw, op_code, op_slot, op_int, op_in_ptr, op_in, op_in_flag, op_out_ptr,
               op_out, feed_reg, feed_slot, n_reg, n, model, heat_s, energy_s, rev_kind,
               has_heat, rtol, atol_fixed, max_steps, skip, R, values, fail_num, plans,
               have_plans, explicit_first, explicit_plans):
    """Run every operation for one point (but those marked in ``skip``, whose
    registers and values are already in ``R`` and ``values``); ``plans`` as
    :func:`_plug_flow`. Returns (fail kind, kernel status, op index)."""
    m = rev_kind.shape[0]
    n_ord = model[2].shape[0]
    # kinetic parameters of this point (kernels raw layout: fwd, rev, orders, dH)
    fwd = np.empty((m, 3))
    rev = np.empty((m, 3))
    for j in range(m):
        for c in range(3):
            fwd[j, c] = raw[3 * j + c]
            rev[j, c] = raw[3 * m + 3 * j + c]
    r_ord = np.empty(n_ord)
    for a in range(n_ord):
        r_ord[a] = raw[6 * m + a]
    dH = np.empty(m)
    for j in range(m):
        dH[j] = raw[6 * m + n_ord + j]
    rate_params = (rev_kind, fwd, rev)
    pt_model = (model[0], model[1], r_ord, model[3], model[4], model[5], model[6], model[7],
                model[8])
    s_nu = model[8]
    for f in range(feed_reg.shape[0]):
        r = feed_reg[f]
        s = feed_slot[f]
        # feed block: [flow, T, rho, cp, mu, c_0 .. c_{n-1}]
        for c in range(N_REG_EXTRA):
            R[r, n + c] = p[s + c]
        for i in range(n):
            R[r, i] = p[s + N_REG_EXTRA + i]
    for k in range(op_code.shape[0]):
        if skip[k] == 1:
            continue
        code = op_code[k]
        s = op_slot[k]
        inl = op_in[op_in_ptr[k]:op_in_ptr[k + 1]]
        outs = op_out[op_out_ptr[k]:op_out_ptr[k + 1]]
        if code == OP_MIXER:
            _mix(R, inl, n, R[outs[0]])
        elif code == OP_SPLITTER:
            for a in range(outs.shape[0]):
                for i in range(n + N_REG_EXTRA):
                    R[outs[a], i] = R[inl[0], i]
                R[outs[a], n + R_FLOW] = R[inl[0], n + R_FLOW] * p[s + a]
        elif code == OP_HEAT_EXCHANGER:
            for i in range(n + N_REG_EXTRA):
                R[outs[0], i] = R[inl[0], i]
            R[outs[0], n + R_T] = p[s]
        elif code == OP_PFR or code == OP_TANKS or code == OP_QUENCH:
            if code == OP_QUENCH:
                mixed = np.empty(n + N_REG_EXTRA)
                _mix(R, inl, n, mixed)
                inlet = mixed
                volume = p[s] * mixed[n + R_FLOW]
                T_given = p[s + 1]
                mode = MODE_ISOTHERMAL
                own = 0
            else:
                inlet = R[inl[0]].copy()
                volume = p[s]
                T_given = p[s + 1]
                mode = op_int[k, 1]
                own = op_int[k, 2]
            if own == 1:
                rho, cp, mu = p[s + 5], p[s + 6], p[s + 7]
            else:
                rho, cp, mu = inlet[n + R_RHO], inlet[n + R_CP], inlet[n + R_MU]
            values[k, V_MU] = mu
            out = R[outs[0]]
            if code == OP_TANKS:
                kind, status = _tanks(inlet, n, m, volume, op_int[k, 0], T_given, mode,
                                      p[s + 2], p[s + 3], p[s + 4], rho, cp, pt_model, heat_s,
                                      energy_s, s_nu, rate_params, dH, has_heat, rtol,
                                      atol_fixed, out, values[k], fail_num)
            else:
                U = p[s + 2] if code == OP_PFR else 0.0
                apv = p[s + 3] if code == OP_PFR else 0.0
                Tc = p[s + 4] if code == OP_PFR else 0.0
                kind, status = _plug_flow(inlet, n, m, volume, T_given, mode, U, apv, Tc, rho,
                                          cp, pt_model, heat_s, energy_s, s_nu, rate_params, dH,
                                          has_heat, rtol, atol_fixed, max_steps, out, values[k],
                                          fail_num, plans, have_plans, explicit_first,
                                          explicit_plans)
            if kind != FAIL_NONE:
                return kind, status, k
            out[n + R_RHO] = rho
            out[n + R_CP] = cp
            out[n + R_MU] = mu
        elif code == OP_SEPARATOR:
            mixed = np.empty(n + N_REG_EXTRA)
            _mix(R, inl, n, mixed)
            Q = mixed[n + R_FLOW]
            if op_int[k, 2] == 1:
                Q_aq = 0.0
                for a in range(inl.shape[0]):
                    if op_in_flag[op_in_ptr[k] + a] == 1:
                        Q_aq += R[inl[a], n + R_FLOW]
                Q_org = Q - Q_aq
                if Q_org <= 0.0 or Q_aq <= 0.0:
                    return FAIL_PHASES, 0, k
            else:
                Q_org = Q * p[s] / (1.0 + p[s])
                Q_aq = Q - Q_org
            ratio = Q_org / Q_aq
            org = R[outs[0]]
            aq = R[outs[1]]
            for i in range(n):
                f_org = p[s + 1 + i]
                if np.isnan(f_org):
                    K = p[s + 1 + n + i]
                    if np.isnan(K):
                        f_org = 1.0 if op_int[k, 3] == 1 else 0.0
                    else:
                        f_org = K * ratio / (1.0 + K * ratio)
                F = mixed[i] * Q
                org[i] = F * f_org / Q_org
                aq[i] = F * (1.0 - f_org) / Q_aq
            for i in range(N_REG_EXTRA):
                org[n + i] = mixed[n + i]
                aq[n + i] = mixed[n + i]
            org[n + R_FLOW] = Q_org
            aq[n + R_FLOW] = Q_aq
    return FAIL_NONE, 0, -1


@njit_parallel
def run_route_ensemble(params, raw, op_code, op_slot, op_int, op_in_ptr, op_in, op_in_flag,
                       op_out_ptr, op_out, feed_reg, feed_slot, n_reg, n, model, heat_s,
                       energy_s, rev_kind, has_heat, rtol, atol_fixed, max_steps, out_reg,
                       skip, preset, preset_values, explicit_first):
    """Evaluate a route program for every row of ``params``.

    Parameters
    ----------
    params : float64 (n_points, n_slots)
        Per-point parameter rows: feed blocks ``[flow, T, rho, cp, mu, c_0..]``
        at ``feed_slot`` and operation blocks at ``op_slot`` (module notes).
    raw : float64 (n_raw, size)
        Kinetic parameters in the raw layout of
        ``flowchem.chemistry.parameters.RawLayout``; point i uses row
        ``min(i, n_raw - 1)``.
    op_code, op_slot : int64 (n_ops,)
        Operations in dependency order and the offsets of their parameters.
    op_int : int64 (n_ops, 4)
        Integer settings (module notes).
    op_in_ptr, op_in, op_in_flag, op_out_ptr, op_out : int64
        CSR lists of each operation's inlet and outlet registers; the flag
        marks an aqueous inlet of a separator.
    feed_reg, feed_slot : int64 (n_feeds,)
        Register and parameter offset of each feed.
    n_reg, n : int
        Number of registers and of species.
    model : tuple
        The mechanism's model 9-tuple (kernels.kinetics).
    heat_s, energy_s : tuple
        ``(s_ptr, s_sp, kind, reaction, nu)`` of the stoichiometry with the
        heat row (isothermal) and with heat and temperature rows (energy
        balance); ``kind`` is 0 for a species entry, 1 heat row, 2 T row.
    rev_kind : int64 (m,)
    has_heat : bool
        Some reaction has a reaction enthalpy (the heat row is carried).
    rtol, atol_fixed, max_steps :
        Solver options; ``atol_fixed <= 0`` takes 1e-12 of the largest inlet
        concentration, as ``SolverOptions.atol_vector``.
    out_reg : int64 (n_out,)
        Registers to return.
    skip : int64 (n_ops,)
        1 for an operation that no point changes: it is not run, its outlet
        registers come from ``preset`` (n_reg, n + 5) and its reported values
        from ``preset_values`` (n_ops, 4), computed once by a call on the
        base point.
    explicit_first : int
        Method auto-switch: every tube starts with DOPRI5 (1) or DOP853 (2)
        and is solved again by Rodas5P if that stops (stiffness detected or
        any failure); 0: Rodas5P alone.

    Returns
    -------
    states : float64 (n_points, n_out, n + 5)
        The returned registers per point (NaN where a point failed).
    op_values : float64 (n_points, n_ops, 4)
        Per operation: T_max, inlet flow, density and viscosity of its liquid.
    fail : int64 (n_points, 3)
        Failure kind (0 = solved), kernel status, operation index.
    fail_num : float64 (n_points, 4)
        Numbers for the failure message.
    """
    n_points = params.shape[0]
    n_ops = op_code.shape[0]
    width = n + N_REG_EXTRA
    states = np.full((n_points, out_reg.shape[0], width), np.nan)
    op_values = np.full((n_points, n_ops, N_OP_VALUES), np.nan)
    fail = np.zeros((n_points, 3), dtype=np.int64)
    fail_num = np.zeros((n_points, 4))
    n_raw = raw.shape[0]
    # one kinetic parameter row: every tube has the same sparsity pattern, so
    # the LU plans (1.6-2 us per solve) are built here once, not per point
    have_plans = n_raw == 1
    # (three flat tuples: a parfor takes no tuple of tuples across the loop)
    plan_iso, plan_heat, plan_energy = _lu_plans(raw[0], n, model, heat_s, energy_s,
                                                 rev_kind.shape[0], has_heat, have_plans)
    explicit_iso, explicit_heat = _explicit_plans(raw[0], n, model, heat_s, rev_kind.shape[0],
                                                  has_heat)
    for i in prange(n_points):
        R = preset.copy()
        vals = preset_values.copy()
        num = np.zeros(4)
        row = min(np.int64(i), np.int64(n_raw - 1))
        kind, status, k = _run_point(params[i], raw[row], op_code, op_slot, op_int,
                                     op_in_ptr, op_in, op_in_flag, op_out_ptr, op_out, feed_reg,
                                     feed_slot, n_reg, n, model, heat_s, energy_s, rev_kind,
                                     has_heat, rtol, atol_fixed, max_steps, skip, R, vals, num,
                                     (plan_iso, plan_heat, plan_energy), have_plans,
                                     explicit_first, (explicit_iso, explicit_heat))
        fail[i, 0] = kind
        fail[i, 1] = status
        fail[i, 2] = k
        for a in range(4):
            fail_num[i, a] = num[a]
        if kind == FAIL_NONE:
            for a in range(out_reg.shape[0]):
                for c in range(width):
                    states[i, a, c] = R[out_reg[a], c]
            for a in range(n_ops):
                for c in range(N_OP_VALUES):
                    op_values[i, a, c] = vals[a, c]
    return states, op_values, fail, fail_num
