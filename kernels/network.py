"""A route as a network of well-mixed cells, integrated in time by Rodas5P with
block linear algebra (method of lines; issue 11, dynamic operation).

Every holdup of a route is a chain of cells (a CSTR one cell, a cascade one
per tank, a tube N finite-volume cells with first-order upwind transport, a
quench hold N_q cells); mixers, splitters, heat exchangers and separators are
algebraic, so the inlet of a cell is an affine combination of feed terms and
of upstream cells' states. The state of cell ``i`` is::

    y[i*w:(i+1)*w] = [c_0 .. c_{n-1}, tracer_0 .. tracer_{k-1}, T]

with ``w = n_species + n_tracers + 1`` (mol/m^3, dimensionless fractions, K);
``y`` is flat and cell-major. Cell equations (SI; ``kappa = Q/V`` in 1/s)::

    y_in      = feed[i] + sum_{links l of i} weight[l] * y[link_src[l]]   (component-wise)
    dc/dt     = kappa (c_in - c) + S^T q(c, T) + back-mixing
    dtr/dt    = kappa (tr_in - tr) + back-mixing
    dT/dt     = kappa (T_in - T) + sum_j (-dH_j) q_j / rho_cp + ua (T_coolant - T)
                + back-mixing                                   (energy cells)
    dT/dt     = 0                                               (isothermal cells)
    back-mixing of cell i: exchange[i] (y_{i+1} - y_i) + exchange[i-1] (y_{i-1} - y_i)
                           (symmetric: the cells of a tube have equal volumes;
                           negative inside a two-node collocation element,
                           whose first node couples to its second)

on every component except the T of isothermal cells (which keep the T of
their state: an event sets it by editing the state between segments; their
rate constants are computed once per :func:`integrate_network` call).

Structure tuple ``net`` (does not change between segments; build it with
:func:`make_network`)::

    net = (model_h,      # kinetics model tuple (kernels.kinetics) with one extra
                         # stoichiometry row, index n_species, coefficient -dH_j:
                         # its "production rate" is the heat release (W/m^3)
           rate_params,  # (rev_kind, fwd, rev) of kernels.kinetics
           dH,           # float64[m], J/mol per reaction
           n_species,    # int64
           n_tracers,    # int64
           cell_energy,  # int8[n_cells]: 1 energy balance, 0 isothermal
           link_ptr,     # int64[n_cells + 1]: links of cell i are link_ptr[i]:link_ptr[i+1]
           link_src,     # int64[n_links]: source cell of each link, < its cell
           nonnegative)  # int64: 1 rejects steps that go negative (tanks and
                         # upwind cells), 0 not (collocation elements)

Segment tuple ``seg`` (inputs of one integration segment [t0, t1], each given
at t0 and at t1 and interpolated linearly in t inside; build it with
:func:`make_segment`)::

    seg = (kappa0, kappa1,        # float64[n_cells], 1/s
           feed0, feed1,          # float64[n_cells, w], feed term of the inlet
           weight0, weight1,      # float64[n_links, w], component-wise link weights
           ua0, ua1,              # float64[n_cells], U a / (rho cp), 1/s
           Tc0, Tc1,              # float64[n_cells], coolant T, K
           rhocp0, rhocp1,        # float64[n_cells], J/m^3/K
           exchange0, exchange1)  # float64[n_cells], 1/s, cell i <-> i+1

Cells are numbered in topological order (``link_src[l]`` below the link's
cell), so the Jacobian is block lower triangular apart from the exchange
couplings, which are diagonal blocks on the block super-diagonal. A cell with
``exchange[i] > 0`` may feed only cell ``i + 1`` (it is inside a tube); then
one block sweep in cell order factorises ``W = I/(gamma h) - J`` without fill
outside the band: block ``i`` is ``D_i = gh I - J_ii`` corrected by
``diag(a) D_{i-1}^-1 diag(b)`` (a, b the exchange/link couplings of the
band). Inside a block, species and T form a dense (n_species + 1)-square
block with its LU; tracers do not react, so their part is diagonal. Cost
per step: O(n_cells (n_species + 1)^3), never dense in the whole state.

Two cells that exchange only with each other (the two nodes of a
collocation element: a negative exchange, and no exchange with their other
neighbours) are factored together instead: one sparse LU of their joint
[c, T] block over the mechanism's static pattern, in minimum-degree order,
without row exchanges (a pivot below a tenth of its column falls back to the
sweep above for that pair). The Schur route would form the first node's
dense inverse and fill the second node's block; the joint LU keeps the
fill of the reaction graph (lomustine: 331 multiplications a pair instead
of about 5,000; the block factorisation 3.5x and the solve 1.5x faster).

Time dependence: ``f(t, y)`` depends on t only through the linearly
interpolated inputs, so ``df/dt`` is analytic (:func:`_network_dfdt`) and
enters the stages as ``h d_i df/dt`` with Rodas5P's time nodes ``c_i`` and
weights ``d_i`` (skipped for constant segments).

Entry points (Numba, never raise; statuses from :mod:`kernels.status`):
:func:`integrate_network`, :func:`steady_network`, :func:`network_rhs`,
:func:`network_jacobian_blocks`; plain Python: :func:`make_network`,
:func:`make_segment`, :func:`make_state`, :func:`network_jacobian_csr`.
"""

import numpy as np

from ._common import DENSE_RODAS, MAX_CONSECUTIVE_FAILURES, N_DENSE, dense_eval_at, reject_factor
from .jit import njit
from .kinetics import (production_jacobian, production_rates, rate_constants,
                       rate_temperature_derivative, slot_jacobian, slot_plan,
                       slot_rates_inline)
from .linalg import (SPARSE_PIVOT_TOL, _minimum_degree_order, factor_w_dense, slot_w_pattern,
                     solve_w_dense, symbolic_lu_with_order)
from .rosenbrock import GAMMA, N_STAGES, RODAS5P_A, RODAS5P_C, RODAS5P_H, predictive_factor
from .status import (
    INVALID_INPUT,
    MAX_STEPS,
    N_STATS,
    NON_FINITE,
    SINGULAR_MATRIX,
    STAT_ACCEPTED,
    STAT_JAC_EVALS,
    STAT_LU_FACTORS,
    STAT_REJECTED,
    STAT_RHS_EVALS,
    STAT_STEPS,
    N_STEADY_STATS,
    STEADY_NOT_CONVERGED,
    STEADY_NONFINITE,
    STEADY_SINGULAR,
    STEADY_STAT_JAC_EVALS,
    STEADY_STAT_LU_FACTORS,
    STEADY_STAT_NEWTON_ITERS,
    STEADY_STAT_PT_FALLBACKS,
    STEADY_STAT_PT_STEPS,
    STEADY_STAT_RHS_EVALS,
    STEP_TOO_SMALL,
    SUCCESS,
)

# Rodas5P time nodes c_i and time-derivative weights d_i (the stage right-hand
# side is f(t + c_i h, u_i) + sum_j C_ij k_j / h + h d_i df/dt), Steinebach's
# published values (as tabulated in OrdinaryDiffEq.jl); the A, C and dense
# output matrices are kernels.rosenbrock's.
RODAS5P_TIME_NODES = np.array([0.0, 0.6358126895828704, 0.4095798393397535,
                               0.9769306725060716, 0.4288403609558664, 1.0, 1.0, 1.0])
RODAS5P_TIME_WEIGHTS = np.array([0.21193756319429014, -0.42387512638858027,
                                 -0.3384627126235924, 1.8046452872882734,
                                 2.325825639765069, 0.0, 0.0, 0.0])
_A = RODAS5P_A
_C = RODAS5P_C
_H = RODAS5P_H
_CT = RODAS5P_TIME_NODES
_DT = RODAS5P_TIME_WEIGHTS

# stats of integrate_network: kernels.status STAT_* positions, then the number
# of block (cell) LU factorisations
NET_STAT_BLOCK_LU = N_STATS
N_NET_STATS = N_STATS + 1

_SEG_KEYS = ("kappa", "feed", "weight", "ua", "T_coolant", "rho_cp", "exchange")


# ---------------------------------------------------------------------------
# plain-Python builders (the only way the domain layer makes the tuples)
# ---------------------------------------------------------------------------
def make_network(*, model, rate_params, dH, n_species, n_tracers, cell_energy, link_ptr,
                 link_src, nonnegative=True):
    """The structure tuple ``net`` of the module docstring, validated.

    Parameters
    ----------
    model : tuple
        Kinetics model 9-tuple of :mod:`kernels.kinetics` over ``n_species``
        species (no energy rows; the heat row is added here from ``dH``).
    rate_params : tuple
        ``(rev_kind, fwd, rev)`` of :mod:`kernels.kinetics`.
    dH : array_like
        Reaction enthalpies, J/mol, one per reaction.
    n_species, n_tracers : int
        Species and passive tracers per cell.
    cell_energy : array_like of int
        1 for a cell with an energy balance, 0 for an isothermal one; its
        length is the number of cells.
    link_ptr : array_like of int
        ``n_cells + 1`` offsets: the links of cell ``i`` are
        ``link_ptr[i]:link_ptr[i+1]``.
    link_src : array_like of int
        Source cell of each link; must be below the link's own cell.
    nonnegative : bool
        Reject steps (and damp Newton steps) that take a state below
        -(atol + rtol |y|). True for first-order upwind cells and tanks,
        whose exact solutions stay non-negative; False for networks with
        collocation elements, whose exact semi-discrete solution over- and
        undershoots at a sharp front (the rule would then refuse every step
        there).

    Returns
    -------
    tuple
        ``(model_h, rate_params, dH, n_species, n_tracers, cell_energy,
        link_ptr, link_src, nonnegative)``.

    Raises
    ------
    ValueError
        On a wrong shape, dtype or index.
    """
    if len(model) != 9:
        raise ValueError("model must be the 9-tuple of kernels.kinetics")
    r_ptr, r_sp, r_ord, p_ptr, p_sp, p_ord, s_ptr, s_sp, s_nu = (np.asarray(a) for a in model)
    n_s = int(n_species)
    n_tr = int(n_tracers)
    if n_s < 0 or n_tr < 0:
        raise ValueError("n_species and n_tracers must be non-negative")
    m = r_ptr.shape[0] - 1
    if m < 0 or p_ptr.shape[0] != m + 1 or s_ptr.shape[0] != m + 1:
        raise ValueError("model pointer arrays must all have n_reactions + 1 entries")
    for name, sp in (("r_sp", r_sp), ("p_sp", p_sp), ("s_sp", s_sp)):
        if sp.size and (sp.min() < 0 or sp.max() >= n_s):
            raise ValueError(f"model {name} refers to a species outside 0..{n_s - 1}")
    dH = np.ascontiguousarray(dH, dtype=np.float64).reshape(-1)
    if dH.shape[0] != m:
        raise ValueError(f"dH has {dH.shape[0]} entries for {m} reactions")
    if not np.all(np.isfinite(dH)):
        raise ValueError("dH must be finite")
    rev_kind, fwd, rev = rate_params
    rate_params = (np.ascontiguousarray(rev_kind, dtype=np.int64),
                   np.ascontiguousarray(fwd, dtype=np.float64),
                   np.ascontiguousarray(rev, dtype=np.float64))
    if (rate_params[0].shape != (m,) or rate_params[1].shape != (m, 3)
            or rate_params[2].shape != (m, 3)):
        raise ValueError("rate_params must be (rev_kind[m], fwd[m, 3], rev[m, 3])")
    # heat row: "species" n_s with coefficient -dH_j in every reaction
    ptr = np.zeros(m + 1, dtype=np.int64)
    sp, nu = [], []
    for j in range(m):
        sp.extend(s_sp[s_ptr[j]:s_ptr[j + 1]].tolist())
        nu.extend(s_nu[s_ptr[j]:s_ptr[j + 1]].tolist())
        if dH[j] != 0.0:
            sp.append(n_s)
            nu.append(-dH[j])
        ptr[j + 1] = len(sp)
    model_h = tuple(np.ascontiguousarray(a, dtype=np.int64) for a in (r_ptr, r_sp)) + (
        np.ascontiguousarray(r_ord, dtype=np.float64),
        np.ascontiguousarray(p_ptr, dtype=np.int64), np.ascontiguousarray(p_sp, dtype=np.int64),
        np.ascontiguousarray(p_ord, dtype=np.float64), ptr, np.asarray(sp, dtype=np.int64),
        np.asarray(nu, dtype=np.float64))
    cell_energy = np.ascontiguousarray(cell_energy, dtype=np.int8).reshape(-1)
    n_cells = cell_energy.shape[0]
    if n_cells < 1:
        raise ValueError("the network needs at least one cell")
    if np.any((cell_energy != 0) & (cell_energy != 1)):
        raise ValueError("cell_energy entries must be 0 (isothermal) or 1 (energy)")
    link_ptr = np.ascontiguousarray(link_ptr, dtype=np.int64).reshape(-1)
    link_src = np.ascontiguousarray(link_src, dtype=np.int64).reshape(-1)
    if link_ptr.shape[0] != n_cells + 1 or link_ptr[0] != 0 or np.any(np.diff(link_ptr) < 0):
        raise ValueError("link_ptr must be n_cells + 1 non-decreasing offsets from 0")
    if link_ptr[-1] != link_src.shape[0]:
        raise ValueError("link_ptr[-1] must equal the number of links (len(link_src))")
    dst = np.repeat(np.arange(n_cells), np.diff(link_ptr))
    if np.any(link_src < 0) or np.any(link_src >= dst):
        raise ValueError("every link's source cell must be below its own cell "
                         "(cells in topological order)")
    return (model_h, rate_params, dH, np.int64(n_s), np.int64(n_tr), cell_energy, link_ptr,
            link_src, np.int64(1 if nonnegative else 0))


def network_sizes(net):
    """``(n_cells, w, n_links)`` of a structure tuple."""
    n_cells = net[5].shape[0]
    return n_cells, int(net[3]) + int(net[4]) + 1, net[7].shape[0]


def _ends(name, kw, shape, default):
    """(start, end) float64 arrays of ``shape`` for input ``name``."""
    single = kw.get(name)
    start = kw.get(name + "_start")
    end = kw.get(name + "_end")
    if single is not None and (start is not None or end is not None):
        raise ValueError(f"give {name} or {name}_start/{name}_end, not both")
    if single is not None:
        start = end = single
    elif start is None and end is None:
        if default is None:
            raise ValueError(f"{name} is required")
        start = end = default
    elif start is None or end is None:
        raise ValueError(f"{name}_start and {name}_end go together")
    out = []
    for v in (start, end):
        a = np.array(np.broadcast_to(np.asarray(v, dtype=np.float64), shape), dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite")
        out.append(np.ascontiguousarray(a))
    return out[0], out[1]


def make_segment(net, **inputs):
    """The segment tuple ``seg`` of the module docstring, validated.

    Each input is given either as one array (constant over the segment) or
    as ``NAME_start`` and ``NAME_end`` (values at t0 and at t1, interpolated
    linearly in t); scalars broadcast.

    Parameters
    ----------
    net : tuple
        From :func:`make_network`.
    kappa : array_like, (n_cells,)
        Inverse residence time Q/V of each cell, 1/s (>= 0). Required.
    feed : array_like, (n_cells, w)
        Feed term of each cell's inlet (concentrations, tracer fractions, T);
        default 0.
    weight : array_like, (n_links, w)
        Component-wise weight of each link; required when there are links.
    ua : array_like, (n_cells,)
        U a / (rho cp), 1/s (>= 0); default 0 (adiabatic).
    T_coolant : array_like, (n_cells,)
        Coolant temperature, K; default 0 (unused where ua = 0).
    rho_cp : array_like, (n_cells,)
        Volumetric heat capacity, J/m^3/K (> 0 in energy cells); default 1
        for isothermal cells, required when the network has an energy cell.
    exchange : array_like, (n_cells,)
        Exchange rate between cell i and i+1, 1/s; default 0. Positive for
        back-mixing (dispersion); negative inside a two-node collocation
        element (its downstream coupling, see flowchem.process.dynamic).
        Must be 0 at the last cell and at any cell that feeds a cell other
        than i + 1.

    Returns
    -------
    tuple
        ``(kappa0, kappa1, feed0, feed1, weight0, weight1, ua0, ua1, Tc0,
        Tc1, rhocp0, rhocp1, exchange0, exchange1)``.

    Raises
    ------
    ValueError
        On an unknown keyword, a wrong shape, a negative kappa or ua, or a
        non-finite value.
    """
    allowed = set()
    for key in _SEG_KEYS:
        allowed.update((key, key + "_start", key + "_end"))
    unknown = sorted(set(inputs) - allowed)
    if unknown:
        raise ValueError(f"unknown segment input(s): {', '.join(unknown)}")
    n_cells, w, n_links = network_sizes(net)
    cell_energy = net[5]
    kappa = _ends("kappa", inputs, (n_cells,), None)
    feed = _ends("feed", inputs, (n_cells, w), 0.0)
    weight = _ends("weight", inputs, (n_links, w), None if n_links else 0.0)
    ua = _ends("ua", inputs, (n_cells,), 0.0)
    tc = _ends("T_coolant", inputs, (n_cells,), 0.0)
    rc = _ends("rho_cp", inputs, (n_cells,), None if np.any(cell_energy) else 1.0)
    ex = _ends("exchange", inputs, (n_cells,), 0.0)
    for name, pair in (("kappa", kappa), ("ua", ua)):
        for a in pair:
            if np.any(a < 0.0):
                raise ValueError(f"{name} must be non-negative")
    energy = cell_energy != 0
    for a in rc:
        if np.any(~(a[energy] > 0.0)):
            raise ValueError("rho_cp must be positive in every energy cell")
        a[~energy] = np.where(a[~energy] > 0.0, a[~energy], 1.0)
    link_ptr, link_src = net[6], net[7]
    dst = np.repeat(np.arange(n_cells), np.diff(link_ptr))
    for a in ex:
        if a[-1] != 0.0:
            raise ValueError("exchange must be 0 at the last cell")
        bad = (a[link_src] != 0.0) & (dst != link_src + 1)
        if np.any(bad):
            i = int(link_src[bad][0])
            feeds = sorted(set(dst[(link_src == i) & (dst != i + 1)].tolist()))
            raise ValueError(f"cell {i} has exchange != 0 but feeds cell(s) {feeds} "
                             f"besides {i + 1}")
    return (kappa[0], kappa[1], feed[0], feed[1], weight[0], weight[1], ua[0], ua[1],
            tc[0], tc[1], rc[0], rc[1], ex[0], ex[1])


def make_state(net, conc, T, tracers=None):
    """Flat state vector from per-cell arrays.

    Parameters
    ----------
    net : tuple
        From :func:`make_network`.
    conc : array_like, (n_cells, n_species)
        Concentrations, mol/m^3 (broadcast).
    T : array_like, (n_cells,)
        Temperatures, K (broadcast).
    tracers : array_like, (n_cells, n_tracers), optional
        Tracer fractions; default 0.

    Returns
    -------
    numpy.ndarray
        ``y`` of length ``n_cells * w``, cell-major.
    """
    n_cells, w, _ = network_sizes(net)
    n_s, n_tr = int(net[3]), int(net[4])
    y = np.zeros((n_cells, w))
    y[:, :n_s] = np.broadcast_to(np.asarray(conc, dtype=np.float64), (n_cells, n_s))
    if tracers is not None:
        y[:, n_s:n_s + n_tr] = np.broadcast_to(np.asarray(tracers, dtype=np.float64),
                                              (n_cells, n_tr))
    y[:, w - 1] = np.broadcast_to(np.asarray(T, dtype=np.float64), (n_cells,))
    return y.reshape(-1)


# ---------------------------------------------------------------------------
# right-hand side and its explicit time derivative
# ---------------------------------------------------------------------------
@njit(inline="always")
def _fraction(t, t0, t1):
    """Position of t in the segment, (t - t0)/(t1 - t0); 0 for an empty one."""
    if t1 > t0:
        return (t - t0) / (t1 - t0)
    return 0.0


@njit
def _rhs(t, y, net, seg, t0, t1, cached, kf_iso, kr_iso, work, out):
    """dy/dt of the network into ``out``. With ``cached`` the rate constants
    of isothermal cells come from ``kf_iso[i]``, ``kr_iso[i]``; otherwise
    from the cell's T."""
    model_h, rate_params, dH, n_s, n_tr, cell_energy, link_ptr, link_src, _ = net
    kf, kr, q, cbuf, wdot, fast, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e_, jx = work
    (kap0, kap1, fd0, fd1, wt0, wt1, ua0, ua1, tc0, tc1, rc0, rc1, ex0, ex1) = seg
    n_cells = cell_energy.shape[0]
    w = n_s + n_tr + 1
    m = dH.shape[0]
    s = _fraction(t, t0, t1)
    for i in range(n_cells):
        b = i * w
        energy = cell_energy[i] != 0
        nw = w if energy else w - 1
        kap = kap0[i] + s * (kap1[i] - kap0[i])
        # inlet in out[b:b+nw] first (links outer: contiguous rows), then transport
        for k in range(nw):
            out[b + k] = fd0[i, k] + s * (fd1[i, k] - fd0[i, k])
        for l in range(link_ptr[i], link_ptr[i + 1]):
            sb = link_src[l] * w
            for k in range(nw):
                out[b + k] += (wt0[l, k] + s * (wt1[l, k] - wt0[l, k])) * y[sb + k]
        for k in range(nw):
            out[b + k] = kap * (out[b + k] - y[b + k])
        if not energy:
            out[b + w - 1] = 0.0
        if i + 1 < n_cells:
            e = ex0[i] + s * (ex1[i] - ex0[i])
            if e != 0.0:
                for k in range(nw):
                    out[b + k] += e * (y[b + w + k] - y[b + k])
        if i > 0:
            e = ex0[i - 1] + s * (ex1[i - 1] - ex0[i - 1])
            if e != 0.0:
                for k in range(nw):
                    out[b + k] += e * (y[b - w + k] - y[b + k])
        T = y[b + w - 1]
        if m > 0:
            for k in range(n_s):
                cbuf[k] = y[b + k]
            cbuf[n_s] = 0.0
            if energy or not cached:
                rate_constants(T, rate_params, kf, kr)
                if fast:
                    slot_rates_inline(cbuf, kf, kr, any_rev, fslot, rslot, g_ptr, g_rx, g_nu,
                                       e_, q, wdot)
                else:
                    production_rates(cbuf, model_h, kf, kr, q, wdot)
            elif fast:
                slot_rates_inline(cbuf, kf_iso[i], kr_iso[i], any_rev, fslot, rslot, g_ptr,
                                   g_rx, g_nu, e_, q, wdot)
            else:
                production_rates(cbuf, model_h, kf_iso[i], kr_iso[i], q, wdot)
            for k in range(n_s):
                out[b + k] += wdot[k]
            if energy:
                out[b + w - 1] += wdot[n_s] / (rc0[i] + s * (rc1[i] - rc0[i]))
        if energy:
            ua = ua0[i] + s * (ua1[i] - ua0[i])
            out[b + w - 1] += ua * (tc0[i] + s * (tc1[i] - tc0[i]) - T)


@njit
def _network_dfdt(t, y, net, seg, t0, t1, work, out):
    """Partial derivative of f with respect to t at fixed y (the inputs are
    linear in t, so this is exact): kappa' (y_in - y) + kappa y_in'
    + exchange' (y_nb - y) - heat rho_cp' / rho_cp^2 + ua' (Tc - T) + ua Tc'."""
    model_h, rate_params, dH, n_s, n_tr, cell_energy, link_ptr, link_src, _ = net
    kf, kr, q, cbuf, wdot, fast, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e_, jx = work
    (kap0, kap1, fd0, fd1, wt0, wt1, ua0, ua1, tc0, tc1, rc0, rc1, ex0, ex1) = seg
    n_cells = cell_energy.shape[0]
    w = n_s + n_tr + 1
    m = dH.shape[0]
    s = _fraction(t, t0, t1)
    inv_dt = 1.0 / (t1 - t0) if t1 > t0 else 0.0
    for i in range(n_cells):
        b = i * w
        energy = cell_energy[i] != 0
        nw = w if energy else w - 1
        kap = kap0[i] + s * (kap1[i] - kap0[i])
        dkap = (kap1[i] - kap0[i]) * inv_dt
        for k in range(nw):
            yin = fd0[i, k] + s * (fd1[i, k] - fd0[i, k])
            dyin = (fd1[i, k] - fd0[i, k]) * inv_dt
            for l in range(link_ptr[i], link_ptr[i + 1]):
                ys = y[link_src[l] * w + k]
                yin += (wt0[l, k] + s * (wt1[l, k] - wt0[l, k])) * ys
                dyin += (wt1[l, k] - wt0[l, k]) * inv_dt * ys
            out[b + k] = dkap * (yin - y[b + k]) + kap * dyin
        if not energy:
            out[b + w - 1] = 0.0
        if i + 1 < n_cells:
            de = (ex1[i] - ex0[i]) * inv_dt
            if de != 0.0:
                for k in range(nw):
                    out[b + k] += de * (y[b + w + k] - y[b + k])
        if i > 0:
            de = (ex1[i - 1] - ex0[i - 1]) * inv_dt
            if de != 0.0:
                for k in range(nw):
                    out[b + k] += de * (y[b - w + k] - y[b + k])
        if energy:
            T = y[b + w - 1]
            drc = (rc1[i] - rc0[i]) * inv_dt
            if m > 0 and drc != 0.0:
                for k in range(n_s):
                    cbuf[k] = y[b + k]
                cbuf[n_s] = 0.0
                rate_constants(T, rate_params, kf, kr)
                production_rates(cbuf, model_h, kf, kr, q, wdot)
                rc = rc0[i] + s * (rc1[i] - rc0[i])
                out[b + w - 1] -= wdot[n_s] * drc / (rc * rc)
            ua = ua0[i] + s * (ua1[i] - ua0[i])
            tc = tc0[i] + s * (tc1[i] - tc0[i])
            out[b + w - 1] += ((ua1[i] - ua0[i]) * (tc - T) + ua * (tc1[i] - tc0[i])) * inv_dt


@njit
def _scratch(net):
    """Work arrays of one rhs / Jacobian evaluation and the slot form of the
    mechanism (:func:`kernels.kinetics.slot_plan`, over the n_s + 1 rows
    with the heat row): ``(kf, kr, q, cbuf, wdot, fast, any_rev, fslot,
    rslot, g_ptr, g_rx, g_nu, e, jx)``. With ``fast`` (integer orders up to
    3) rates and Jacobians take the branch-free slot form."""
    m = net[2].shape[0]
    n_s = net[3]
    fast, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(net[0], n_s + 1)
    return (np.zeros(max(m, 1)), np.zeros(max(m, 1)), np.zeros(max(2 * m, 1)),
            np.zeros(n_s + 1), np.zeros(n_s + 1), fast and m > 0, any_rev, fslot, rslot, g_ptr,
            g_rx, g_nu, np.zeros(n_s + 2), np.zeros((n_s + 1, n_s + 2)))


@njit
def network_rhs(t, y, net, seg, t0, t1, out):
    """Fill ``out`` with dy/dt of the network at (t, y), the segment's inputs
    interpolated at t in [t0, t1] (rate constants of every cell from its T)."""
    work = _scratch(net)
    kiso = np.zeros((1, 1))
    _rhs(t, y, net, seg, t0, t1, False, kiso, kiso, work, out)


@njit
def network_dfdt(t, y, net, seg, t0, t1, out):
    """Fill ``out`` with the partial derivative df/dt at fixed y (ramps)."""
    work = _scratch(net)
    _network_dfdt(t, y, net, seg, t0, t1, work, out)


# ---------------------------------------------------------------------------
# Jacobian blocks
# ---------------------------------------------------------------------------
@njit
def _jacobian_blocks(t, y, net, seg, t0, t1, cached, kf_iso, kr_iso, work, jr, dqdT, R, tdiag, jl,
                     je):
    """The Jacobian of the network in block form at (t, y).

    ``R[i]`` ((n_s+1)-square): d f / d [c, T] of cell i on the rows [c, T]
    (reaction Jacobian, T column from the rate constants' T-dependence,
    minus kappa, ua and the exchange rates on the diagonal; T row 0 in
    isothermal cells). ``tdiag[i]``: the tracers' diagonal entry (the same
    for every tracer of a cell). ``jl[l, k]`` = kappa_i weight[l, k]: the
    diagonal of the link block (0 for T of an isothermal cell). ``je[i]``:
    the exchange rate between cells i and i+1 (the diagonal of both
    off-diagonal blocks, again without the T of an isothermal cell).
    ``jr`` ((n_s+1)-square) and ``dqdT`` (m) are scratch. With ``cached``
    (the integrator), isothermal cells take their rate constants from
    ``kf_iso[i]``, ``kr_iso[i]`` and get no T column (their T never moves,
    so W's T column multiplies zero).
    """
    model_h, rate_params, dH, n_s, n_tr, cell_energy, link_ptr, link_src, _ = net
    kf, kr, q, cbuf, wdot, fast, any_rev, fslot, rslot, g_ptr, g_rx, g_nu, e_, jx = work
    (kap0, kap1, fd0, fd1, wt0, wt1, ua0, ua1, tc0, tc1, rc0, rc1, ex0, ex1) = seg
    n_cells = cell_energy.shape[0]
    w = n_s + n_tr + 1
    m = dH.shape[0]
    s_ptr, s_sp, s_nu = model_h[6], model_h[7], model_h[8]
    s = _fraction(t, t0, t1)
    for i in range(n_cells):
        e = ex0[i] + s * (ex1[i] - ex0[i]) if i + 1 < n_cells else 0.0
        je[i] = e
    for i in range(n_cells):
        b = i * w
        energy = cell_energy[i] != 0
        kap = kap0[i] + s * (kap1[i] - kap0[i])
        loss = kap + je[i] + (je[i - 1] if i > 0 else 0.0)
        Ri = R[i]
        T = y[b + w - 1]
        if m > 0:
            for k in range(n_s):
                cbuf[k] = y[b + k]
            cbuf[n_s] = 0.0
            if not (cached and not energy):
                rate_constants(T, rate_params, kf, kr)
            if fast:
                if cached and not energy:
                    slot_jacobian(cbuf, kf_iso[i], kr_iso[i], any_rev, fslot, rslot, s_ptr, s_sp,
                                  s_nu, e_, jx)
                else:
                    slot_jacobian(cbuf, kf, kr, any_rev, fslot, rslot, s_ptr, s_sp, s_nu, e_, jx)
                for r in range(n_s + 1):
                    for c in range(n_s):
                        Ri[r, c] = jx[r, c]
                    Ri[r, n_s] = 0.0
            else:
                if cached and not energy:
                    production_jacobian(cbuf, model_h, kf_iso[i], kr_iso[i], jr)
                else:
                    production_jacobian(cbuf, model_h, kf, kr, jr)
                for r in range(n_s + 1):
                    for c in range(n_s):
                        Ri[r, c] = jr[r, c]
                    Ri[r, n_s] = 0.0
            if energy or not cached:
                rate_temperature_derivative(cbuf, model_h, rate_params, kf, kr, T, dqdT)
                for j in range(m):
                    for a in range(s_ptr[j], s_ptr[j + 1]):
                        Ri[s_sp[a], n_s] += s_nu[a] * dqdT[j]
        else:
            for r in range(n_s + 1):
                for c in range(n_s + 1):
                    Ri[r, c] = 0.0
        for k in range(n_s):
            Ri[k, k] -= loss
        if energy:
            rc = rc0[i] + s * (rc1[i] - rc0[i])
            inv_rc = 1.0 / rc
            for c in range(n_s + 1):
                Ri[n_s, c] *= inv_rc
            Ri[n_s, n_s] -= loss + ua0[i] + s * (ua1[i] - ua0[i])
        else:
            for c in range(n_s + 1):
                Ri[n_s, c] = 0.0
        tdiag[i] = -loss
        nw = w if energy else w - 1
        for l in range(link_ptr[i], link_ptr[i + 1]):
            for k in range(nw):
                jl[l, k] = kap * (wt0[l, k] + s * (wt1[l, k] - wt0[l, k]))
            for k in range(nw, w):
                jl[l, k] = 0.0


@njit
def network_jacobian_blocks(t, y, net, seg, t0, t1):
    """The block Jacobian at (t, y): ``(R, tdiag, jl, je)`` as described in
    :func:`_jacobian_blocks` (R of shape (n_cells, n_s+1, n_s+1))."""
    n_s = net[3]
    n_cells = net[5].shape[0]
    n_links = net[7].shape[0]
    w = n_s + net[4] + 1
    work = _scratch(net)
    jr = np.zeros((n_s + 1, n_s + 1))
    R = np.zeros((n_cells, n_s + 1, n_s + 1))
    tdiag = np.zeros(n_cells)
    jl = np.zeros((n_links, w))
    je = np.zeros(n_cells)
    kiso = np.zeros((1, 1))
    _jacobian_blocks(t, y, net, seg, t0, t1, False, kiso, kiso, work, jr, work[2], R, tdiag,
                     jl, je)
    return R, tdiag, jl, je


@njit
def _jacobian_triplets(t, y, net, seg, t0, t1):
    """(rows, cols, vals) of every structural entry of the Jacobian (duplicate
    positions possible where a link and an exchange join the same cells)."""
    R, tdiag, jl, je = network_jacobian_blocks(t, y, net, seg, t0, t1)
    n_s, n_tr, cell_energy, link_ptr, link_src = net[3], net[4], net[5], net[6], net[7]
    n_cells = cell_energy.shape[0]
    w = n_s + n_tr + 1
    wr = n_s + 1
    n_links = link_src.shape[0]
    cap = n_cells * (wr * wr + n_tr + 2 * w) + n_links * w
    rows = np.empty(cap, dtype=np.int64)
    cols = np.empty(cap, dtype=np.int64)
    vals = np.empty(cap)
    nz = 0
    for i in range(n_cells):
        b = i * w
        for r in range(wr):
            rr = b + (r if r < n_s else w - 1)
            for c in range(wr):
                rows[nz] = rr
                cols[nz] = b + (c if c < n_s else w - 1)
                vals[nz] = R[i, r, c]
                nz += 1
        for k in range(n_s, n_s + n_tr):
            rows[nz] = b + k
            cols[nz] = b + k
            vals[nz] = tdiag[i]
            nz += 1
        nw = w if cell_energy[i] != 0 else w - 1
        for l in range(link_ptr[i], link_ptr[i + 1]):
            for k in range(w):
                rows[nz] = b + k
                cols[nz] = link_src[l] * w + k
                vals[nz] = jl[l, k]
                nz += 1
        for k in range(w):
            if i + 1 < n_cells:
                rows[nz] = b + k
                cols[nz] = b + w + k
                vals[nz] = je[i] if k < nw else 0.0
                nz += 1
            if i > 0:
                rows[nz] = b + k
                cols[nz] = b - w + k
                vals[nz] = je[i - 1] if k < nw else 0.0
                nz += 1
    return rows[:nz], cols[:nz], vals[:nz]


def network_jacobian_csr(t, y, net, seg, t0, t1):
    """The Jacobian at (t, y) in CSR form, ``(indptr, indices, data)``, over
    the network's static pattern (every cell's dense [c, T] block, tracer
    diagonals, link and neighbour diagonals; structural zeros kept), so that
    ``scipy.sparse.csr_matrix((data, indices, indptr))`` serves
    ``solve_ivp(method="BDF", jac=...)`` and its ``.astype(bool)`` the
    ``jac_sparsity``. Duplicate positions are summed; columns sorted."""
    rows, cols, vals = _jacobian_triplets(float(t), np.ascontiguousarray(y, dtype=np.float64),
                                          net, seg, float(t0), float(t1))
    n = net[5].shape[0] * (int(net[3]) + int(net[4]) + 1)
    key = rows * n + cols
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.nonzero(first)[0]
    data = np.add.reduceat(vals[order], starts) if starts.size else np.zeros(0)
    ukey = key[starts]
    indices = (ukey % n).astype(np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, (ukey // n) + 1, 1)
    return np.cumsum(indptr), indices, data


# ---------------------------------------------------------------------------
# block factorisation and solve of W = gh I - J
# ---------------------------------------------------------------------------
@njit
def _pair_plan(net, energy):
    """The elimination programme of the joint [c, T] block of two cells that
    exchange only with each other (a collocation element's two nodes).

    The pattern: both cells' reaction patterns (with the T column; with the
    T row when ``energy``) and the diagonal couplings between them, in
    minimum-degree order (:func:`kernels.linalg.symbolic_lu_with_order`).
    The factors of one pair live in one vector ``v``: L's entries row by row
    (``[0, nl)``), U's row by row (``[nl, nl + nu)``), the diagonal
    (``[nl + nu, nl + nu + n2)``). Returns ``(lr_ptr, lr_idx, ur_ptr,
    ur_idx, offs, src_kind, src_r, src_c, coll_ptr, coll_pos, op_ptr, op_tgt,
    op_l, op_u)``: the L and U rows (permuted indices), the state offset of
    each permuted index from the first cell's base, where each entry of v
    comes from (0 fill, 1 and 2 the first and second cell's J block at
    (src_r, src_c), 3 the first cell's coupling to the second at component
    src_r, 4 the second's to the first), the positions of each column's L
    entries, and per pivot the updates v[tgt] -= v[l] * v[u].
    """
    n_s, n_tr = net[3], net[4]
    wr = n_s + 1
    w = n_s + n_tr + 1
    model_h = net[0]
    fast, any_rev, fslot, rslot, g_ptr, g_rx, g_nu = slot_plan(model_h, wr)
    pat = slot_w_pattern(wr, True, any_rev, fslot, rslot, model_h[6], model_h[7])
    if not energy:
        for c in range(n_s):
            pat[n_s, c] = False
    n2 = 2 * wr
    pat2 = np.zeros((n2, n2), dtype=np.bool_)
    for r in range(wr):
        pat2[r, wr + r] = True
        pat2[wr + r, r] = True
        for c in range(wr):
            if pat[r, c] or r == c:
                pat2[r, c] = True
                pat2[wr + r, wr + c] = True
    perm, lr_ptr, lr_idx, lc_ptr, lc_idx, ur_ptr, ur_idx = symbolic_lu_with_order(
        pat2, _minimum_degree_order(pat2))
    nl = lr_ptr[n2]
    nu = ur_ptr[n2]
    nv = nl + nu + n2
    pos = np.full((n2, n2), -1, dtype=np.int64)
    for i in range(n2):
        for t in range(lr_ptr[i], lr_ptr[i + 1]):
            pos[i, lr_idx[t]] = t
        for t in range(ur_ptr[i], ur_ptr[i + 1]):
            pos[i, ur_idx[t]] = nl + t
        pos[i, i] = nl + nu + i
    offs = np.empty(n2, dtype=np.int64)
    for k in range(n2):
        q = perm[k] % wr
        offs[k] = (w if perm[k] >= wr else 0) + (q if q < n_s else w - 1)
    src_kind = np.zeros(nv, dtype=np.int64)
    src_r = np.zeros(nv, dtype=np.int64)
    src_c = np.zeros(nv, dtype=np.int64)
    for i in range(n2):
        for j in range(n2):
            p = pos[i, j]
            if p < 0 or not pat2[perm[i], perm[j]]:
                continue  # not an entry, or fill (zero before elimination)
            bi, r = perm[i] // wr, perm[i] % wr
            bj, c = perm[j] // wr, perm[j] % wr
            src_r[p] = r
            src_c[p] = c
            if bi == bj:
                src_kind[p] = 1 + bi
            elif r == c:
                src_kind[p] = 3 if bi == 0 else 4
    coll_ptr = np.zeros(n2 + 1, dtype=np.int64)
    coll_pos = np.empty(nl, dtype=np.int64)
    n_ops = 0
    for k in range(n2):
        for t in range(lc_ptr[k], lc_ptr[k + 1]):
            coll_pos[t] = pos[lc_idx[t], k]
        coll_ptr[k + 1] = lc_ptr[k + 1]
        n_ops += (lc_ptr[k + 1] - lc_ptr[k]) * (ur_ptr[k + 1] - ur_ptr[k])
    op_ptr = np.zeros(n2 + 1, dtype=np.int64)
    op_tgt = np.empty(n_ops, dtype=np.int64)
    op_l = np.empty(n_ops, dtype=np.int64)
    op_u = np.empty(n_ops, dtype=np.int64)
    o = 0
    for k in range(n2):
        for t in range(lc_ptr[k], lc_ptr[k + 1]):
            i = lc_idx[t]
            for s in range(ur_ptr[k], ur_ptr[k + 1]):
                j = ur_idx[s]
                op_tgt[o] = pos[i, j]
                op_l[o] = pos[i, k]
                op_u[o] = nl + s
                o += 1
        op_ptr[k + 1] = o
    return (lr_ptr, lr_idx, ur_ptr, ur_idx, offs, src_kind, src_r, src_c, coll_ptr, coll_pos,
            op_ptr, op_tgt, op_l, op_u)


@njit
def factor_storage(net):
    """Work arrays of the block factorisation: ``(lu, piv, rpiv, tinv, dinv,
    jx, cols, tmp, pairs)`` (factors, pivots, reciprocal pivots of each
    cell's [c, T] block; inverse tracer diagonals; D_i^-1 of the cells in an
    exchange band; scratch; the joint factors of cell pairs, see
    :func:`_factor_blocks`)."""
    n_s, n_tr = net[3], net[4]
    n_cells = net[5].shape[0]
    wr = n_s + 1
    n2 = 2 * wr
    # a pair's joint factors need the mechanism's sparsity (slot form)
    use_pairs = slot_plan(net[0], wr)[0] and net[2].shape[0] > 0
    plan_e = _pair_plan(net, True)
    plan_i = _pair_plan(net, False)
    nv = max(plan_e[5].shape[0], plan_i[5].shape[0])
    n_slots = n_cells // 2 + 1
    pairs = (use_pairs, plan_e, plan_i, np.full(n_cells, -1, dtype=np.int64),
             np.zeros((n_slots, nv)), np.zeros((n_slots, n2)), np.zeros(wr), np.zeros(n2))
    return (np.zeros((n_cells, wr, wr)), np.zeros((n_cells, wr), dtype=np.int64),
            np.zeros((n_cells, wr)), np.zeros((n_cells, max(n_tr, 1))),
            np.zeros((n_cells, wr, wr)), np.zeros((wr, wr)), np.zeros(wr, dtype=np.int64),
            np.zeros(wr), pairs)


@njit
def _factor_pair(net, i, gh, R, jl, je, plan, v, dinv2, coupling):
    """Joint sparse LU of cells i and i+1's [c, T] blocks (W = gh I - J over
    both, coupled by the exchange and the links of i+1 from i) by the
    elimination programme of :func:`_pair_plan`, without row exchanges,
    into ``v`` and the reciprocal pivots ``dinv2``. False when a pivot is
    zero, not finite or below SPARSE_PIVOT_TOL of its column (the caller
    then factors the two cells one after the other)."""
    n_s, cell_energy, link_ptr, link_src = net[3], net[5], net[6], net[7]
    w = n_s + net[4] + 1
    wr = n_s + 1
    (lr_ptr, lr_idx, ur_ptr, ur_idx, offs, src_kind, src_r, src_c, coll_ptr, coll_pos, op_ptr,
     op_tgt, op_l, op_u) = plan
    n2 = offs.shape[0]
    nl = lr_ptr[n2]
    diag0 = nl + ur_ptr[n2]
    e = je[i]
    energy_i = cell_energy[i] != 0
    energy_j = cell_energy[i + 1] != 0
    # the second cell's coupling to the first: exchange plus links (no T
    # entry in an isothermal cell)
    for r in range(wr):
        a = 0.0
        if r < n_s or energy_j:
            kr_ = r if r < n_s else w - 1
            a = e
            for l in range(link_ptr[i + 1], link_ptr[i + 2]):
                if link_src[l] == i:
                    a += jl[l, kr_]
        coupling[r] = a
    Ri = R[i]
    Rj = R[i + 1]
    for p in range(src_kind.shape[0]):
        kind = src_kind[p]
        if kind == 1:
            v[p] = -Ri[src_r[p], src_c[p]]
        elif kind == 2:
            v[p] = -Rj[src_r[p], src_c[p]]
        elif kind == 3:
            v[p] = -e if (src_r[p] < n_s or energy_i) else 0.0
        elif kind == 4:
            v[p] = -coupling[src_r[p]]
        else:
            v[p] = 0.0
    for k in range(n2):
        v[diag0 + k] += gh
    for k in range(n2):
        d = v[diag0 + k]
        cmax = 0.0
        for t in range(coll_ptr[k], coll_ptr[k + 1]):
            a = abs(v[coll_pos[t]])
            if a > cmax:
                cmax = a
        ad = abs(d)
        if not (ad > SPARSE_PIVOT_TOL * cmax) or not (ad < np.inf):
            return False
        inv = 1.0 / d
        dinv2[k] = inv
        for t in range(coll_ptr[k], coll_ptr[k + 1]):
            v[coll_pos[t]] *= inv
        for o in range(op_ptr[k], op_ptr[k + 1]):
            v[op_tgt[o]] -= v[op_l[o]] * v[op_u[o]]
    return True


@njit
def _solve_pair(plan, v, dinv2, b2, x, base):
    """Solve the joint [c, T] system of a pair factored by :func:`_factor_pair`
    in place in ``x`` (the pair's first cell at ``base``)."""
    lr_ptr, lr_idx, ur_ptr, ur_idx, offs = plan[0], plan[1], plan[2], plan[3], plan[4]
    n2 = offs.shape[0]
    nl = lr_ptr[n2]
    for k in range(n2):
        s = x[base + offs[k]]
        for t in range(lr_ptr[k], lr_ptr[k + 1]):
            s -= v[t] * b2[lr_idx[t]]
        b2[k] = s
    for k in range(n2 - 1, -1, -1):
        s = b2[k]
        for t in range(ur_ptr[k], ur_ptr[k + 1]):
            s -= v[nl + t] * b2[ur_idx[t]]
        b2[k] = s * dinv2[k]
    for k in range(n2):
        x[base + offs[k]] = b2[k]


@njit
def _factor_blocks(net, gh, R, tdiag, jl, je, store):
    """Factor W = gh I - J by one block sweep in cell order.

    Two cells that exchange only with each other (the nodes of a collocation
    element) are factored together: one sparse LU of their joint [c, T]
    block over the mechanism's pattern (:func:`_factor_pair`), whose fill
    stays near the reaction graph's. Any other cell i's [c, T] block is
    gh I - R[i] plus, when cell i-1 exchanges with i, the Schur correction
    -diag(a) D_{i-1}^-1 diag(b) (a: the couplings of i to i-1, links and
    exchange; b: of i-1 to i, the exchange), factored by
    :func:`kernels.linalg.factor_w_dense` (partial pivoting, zero entries of
    the sparse reaction Jacobian skipped); a pair whose sparse LU meets an
    unacceptable pivot takes this path too. The tracer diagonal is corrected
    the same way and inverted. D_i^-1 is kept for the cells that exchange
    with i + 1 (the next cell's correction and the back sweep). ``store``
    from :func:`factor_storage`. Returns False on a singular or non-finite
    block.
    """
    n_s, n_tr, cell_energy, link_ptr, link_src = net[3], net[4], net[5], net[6], net[7]
    lu, piv, rpiv, tinv, dinv, jx, cols, tmp, pairs = store
    use_pairs, plan_e, plan_i, pslot, vals, dinv2, coupling, b2 = pairs
    n_cells = cell_energy.shape[0]
    w = n_s + n_tr + 1
    wr = n_s + 1
    n_pairs = 0
    for i in range(n_cells):
        pslot[i] = -1
        for k in range(n_tr):
            tinv[i, k] = gh - tdiag[i]
        coupled = i > 0 and je[i - 1] != 0.0
        if coupled:
            e = je[i - 1]
            for k in range(n_tr):
                a = e
                for l in range(link_ptr[i], link_ptr[i + 1]):
                    if link_src[l] == i - 1:
                        a += jl[l, n_s + k]
                tinv[i, k] -= a * e * tinv[i - 1, k]  # tinv[i - 1] holds inverses
        done = i > 0 and pslot[i - 1] >= 0  # second cell of a factored pair
        if (not done and use_pairs and not coupled and je[i] != 0.0 and je[i + 1] == 0.0
                and cell_energy[i] == cell_energy[i + 1]):
            if cell_energy[i] != 0:
                done = _factor_pair(net, i, gh, R, jl, je, plan_e, vals[n_pairs],
                                    dinv2[n_pairs], coupling)
            else:
                done = _factor_pair(net, i, gh, R, jl, je, plan_i, vals[n_pairs],
                                    dinv2[n_pairs], coupling)
            if done:
                pslot[i] = n_pairs
                n_pairs += 1
        if not done:
            Ri = R[i]
            for r in range(wr):
                for c in range(wr):
                    jx[r, c] = Ri[r, c]
            if coupled:
                e = je[i - 1]
                energy = cell_energy[i] != 0
                energy_prev = cell_energy[i - 1] != 0
                Dp = dinv[i - 1]
                for r in range(wr):
                    kr_ = r if r < n_s else w - 1
                    if kr_ == w - 1 and not energy:
                        continue
                    a = e
                    for l in range(link_ptr[i], link_ptr[i + 1]):
                        if link_src[l] == i - 1:
                            a += jl[l, kr_]
                    for c in range(wr):
                        bc = e if (c < n_s or energy_prev) else 0.0
                        # W_ii - W_{i,i-1} D^-1 W_{i-1,i} = gh I - (J_ii + a D^-1 b)
                        jx[r, c] += a * Dp[r, c] * bc
            if not factor_w_dense(jx, gh, lu[i], piv[i], rpiv[i], cols):
                return False
        for k in range(n_tr):
            d = tinv[i, k]
            if not (d != 0.0) or not np.isfinite(d):
                return False
            tinv[i, k] = 1.0 / d
        if not done and i + 1 < n_cells and je[i] != 0.0:
            Di = dinv[i]
            for c in range(wr):
                for r in range(wr):
                    tmp[r] = 0.0
                tmp[c] = 1.0
                solve_w_dense(lu[i], piv[i], rpiv[i], tmp)
                for r in range(wr):
                    Di[r, c] = tmp[r]
    return True


@njit
def _solve_blocks(net, store, jl, je, x):
    """Solve W z = x in place with the factors of :func:`_factor_blocks`:
    forward block substitution in cell order (links and the exchange from
    the cell before; a factored pair's [c, T] solved jointly at its second
    cell), then the back sweep over the exchange band."""
    n_s, n_tr, cell_energy, link_ptr, link_src = net[3], net[4], net[5], net[6], net[7]
    lu, piv, rpiv, tinv, dinv, jx, cols, tmp, pairs = store
    use_pairs, plan_e, plan_i, pslot, vals, dinv2, coupling, b2 = pairs
    n_cells = cell_energy.shape[0]
    w = n_s + n_tr + 1
    wr = n_s + 1
    for i in range(n_cells):
        b = i * w
        nw = w if cell_energy[i] != 0 else w - 1
        second = i > 0 and pslot[i - 1] >= 0
        for l in range(link_ptr[i], link_ptr[i + 1]):
            sb = link_src[l] * w
            if second and link_src[l] == i - 1:
                # inside the pair only the tracers are coupled by substitution
                for k in range(n_s, n_s + n_tr):
                    x[b + k] += jl[l, k] * x[sb + k]
            else:
                for k in range(nw):
                    x[b + k] += jl[l, k] * x[sb + k]
        if i > 0:
            e = je[i - 1]
            if e != 0.0:
                if second:
                    for k in range(n_s, n_s + n_tr):
                        x[b + k] += e * x[b - w + k]
                else:
                    for k in range(nw):
                        x[b + k] += e * x[b - w + k]
        if second:
            s = pslot[i - 1]
            if cell_energy[i] != 0:
                _solve_pair(plan_e, vals[s], dinv2[s], b2, x, b - w)
            else:
                _solve_pair(plan_i, vals[s], dinv2[s], b2, x, b - w)
        elif pslot[i] < 0:
            for k in range(n_s):
                tmp[k] = x[b + k]
            tmp[n_s] = x[b + w - 1]
            solve_w_dense(lu[i], piv[i], rpiv[i], tmp)
            for k in range(n_s):
                x[b + k] = tmp[k]
            x[b + w - 1] = tmp[n_s]
        for k in range(n_tr):
            x[b + n_s + k] *= tinv[i, k]
    for i in range(n_cells - 2, -1, -1):
        e = je[i]
        if e == 0.0:
            continue
        b = i * w
        nb = b + w
        if pslot[i] < 0:
            energy = cell_energy[i] != 0
            # x_i += D_i^-1 diag(b) x_{i+1}, b = e (no T entry in an isothermal cell)
            for k in range(n_s):
                tmp[k] = e * x[nb + k]
            tmp[n_s] = e * x[nb + w - 1] if energy else 0.0
            Di = dinv[i]
            for r in range(wr):
                acc = 0.0
                for c in range(wr):
                    acc += Di[r, c] * tmp[c]
                if r < n_s:
                    x[b + r] += acc
                else:
                    x[b + w - 1] += acc
        for k in range(n_tr):
            x[b + n_s + k] += tinv[i, k] * e * x[nb + n_s + k]


@njit
def backward_euler_displacement(net, seg, y, t, t0, t1, horizon):
    """How far the state would move over ``horizon`` seconds from (t, y):
    the displacement d of one backward Euler step of that length,
    (I / horizon - J) d = f(t, y), with the block Jacobian J at (t, y) and
    the inputs of the segment [t0, t1] held at their values at t. Its fast
    (stiff) components are the distance to their equilibrium, -J^-1 f; its
    slow ones the drift horizon f. Returns ``(ok, d)``; ``ok`` is False on a
    singular block (d is then f)."""
    n = y.shape[0]
    d = np.empty(n)
    work = _scratch(net)
    kiso = np.zeros((1, 1))
    _rhs(t, y, net, seg, t0, t1, False, kiso, kiso, work, d)
    R, tdiag, jl, je = network_jacobian_blocks(t, y, net, seg, t0, t1)
    store = factor_storage(net)
    ok = _factor_blocks(net, 1.0 / horizon, R, tdiag, jl, je, store)
    if ok:
        _solve_blocks(net, store, jl, je, d)
    return ok, d


# ---------------------------------------------------------------------------
# Rodas5P on the network
# ---------------------------------------------------------------------------
@njit
def _differs(a0, a1):
    a = a0.ravel()
    b = a1.ravel()
    for j in range(a.shape[0]):
        if a[j] != b[j]:
            return True
    return False


@njit
def _segment_ramped(seg):
    """True when any input differs between the segment's two ends."""
    return (_differs(seg[0], seg[1]) or _differs(seg[2], seg[3]) or _differs(seg[4], seg[5])
            or _differs(seg[6], seg[7]) or _differs(seg[8], seg[9])
            or _differs(seg[10], seg[11]) or _differs(seg[12], seg[13]))


@njit
def _check_network_inputs(net, seg, y0, t0, t1, t_out, rtol, atol, out_index):
    """True when the integrator's inputs are consistent and finite."""
    n_cells = net[5].shape[0]
    w = net[3] + net[4] + 1
    n = n_cells * w
    if y0.shape[0] != n or not (atol.shape[0] == n or atol.shape[0] == w):
        return False
    n_links = net[7].shape[0]
    if net[6].shape[0] != n_cells + 1 or net[6][n_cells] != n_links:
        return False
    for a in (seg[0], seg[1], seg[6], seg[7], seg[8], seg[9], seg[10], seg[11], seg[12],
              seg[13]):
        if a.shape[0] != n_cells:
            return False
    for a in (seg[2], seg[3]):
        if a.shape[0] != n_cells or a.shape[1] != w:
            return False
    for a in (seg[4], seg[5]):
        if a.shape[0] != n_links or a.shape[1] != w:
            return False
    if not (rtol > 0.0) or not np.isfinite(rtol):
        return False
    for i in range(atol.shape[0]):
        if not (atol[i] > 0.0) or not np.isfinite(atol[i]):
            return False
    if not np.isfinite(t0) or not np.isfinite(t1) or t1 < t0:
        return False
    for i in range(n):
        if not np.isfinite(y0[i]):
            return False
    prev = t0
    for i in range(t_out.shape[0]):
        if not (t_out[i] >= prev) or t_out[i] > t1:
            return False
        prev = t_out[i]
    for i in range(out_index.shape[0]):
        if out_index[i] < 0 or out_index[i] >= n:
            return False
    return True


@njit
def _full_atol(atol, n):
    """atol per state entry from one per entry or one per cell component."""
    if atol.shape[0] == n:
        return atol.copy()
    w = atol.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = atol[i % w]
    return out


@njit
def _isothermal_rate_constants(net, y):
    """Rate constants of every isothermal cell at the T of its state
    (rows of energy cells unused)."""
    rate_params = net[1]
    m = net[2].shape[0]
    cell_energy = net[5]
    n_cells = cell_energy.shape[0]
    w = net[3] + net[4] + 1
    kf_iso = np.zeros((n_cells, max(m, 1)))
    kr_iso = np.zeros((n_cells, max(m, 1)))
    if m > 0:
        for i in range(n_cells):
            if cell_energy[i] == 0:
                rate_constants(y[i * w + w - 1], rate_params, kf_iso[i, :m], kr_iso[i, :m])
    return kf_iso[:, :m].copy(), kr_iso[:, :m].copy()


@njit
def _scaled_rms(v, y, rtol, atol):
    s = 0.0
    n = v.shape[0]
    for i in range(n):
        r = v[i] / (atol[i] + rtol * abs(y[i]))
        s += r * r
    return np.sqrt(s / max(n, 1))


@njit(nogil=True)
def integrate_network(net, seg, y0, t0, t1, t_out, rtol, atol, h0, max_steps, out_index):
    """Integrate the cell network over one segment [t0, t1] with Rodas5P.

    Parameters
    ----------
    net, seg : tuple
        From :func:`make_network` and :func:`make_segment`.
    y0 : float64[n_cells * w]
        State at t0 (cell-major). The T of isothermal cells is held.
    t0, t1 : float
        Segment, s (t1 >= t0).
    t_out : float64[n_out]
        Output times, sorted, inside [t0, t1].
    rtol : float
        Relative tolerance.
    atol : float64[n_cells * w] or float64[w]
        Absolute tolerances per state entry or per cell component.
    h0 : float
        First step (<= 0: chosen by Hairer's algorithm).
    max_steps : int
        Budget of step attempts.
    out_index : int64[n_index]
        The state entries reported at ``t_out`` (``np.arange(n_cells * w)``
        for all; a route's streams need the few cells that feed them, and
        the dense output of every state at every output time would cost as
        much as the integration).

    Returns
    -------
    status : int
        :mod:`kernels.status` code (SUCCESS, MAX_STEPS, STEP_TOO_SMALL,
        NON_FINITE, SINGULAR_MATRIX, INVALID_INPUT).
    y_out : float64[n_out, n_index]
        States ``out_index`` at ``t_out`` from the dense output (NaN beyond
        a failure).
    y_end : float64[n_cells * w]
        Last accepted state (at t1 on success).
    h_last : float
        Step size proposed for continuing (the next segment's ``h0``).
    stats : int64[N_NET_STATS]
        Step attempts, accepted, rejected, rhs evaluations, Jacobian
        evaluations, factorisations of W, cell-block LU factorisations.
    """
    n_s, n_tr, cell_energy = net[3], net[4], net[5]
    n_cells = cell_energy.shape[0]
    n_links = net[7].shape[0]
    m = net[2].shape[0]
    w = n_s + n_tr + 1
    wr = n_s + 1
    n = n_cells * w
    n_out = t_out.shape[0]
    enforce_nonnegative = net[8] != 0
    stats = np.zeros(N_NET_STATS, dtype=np.int64)
    n_index = out_index.shape[0]
    y_out = np.full((n_out, n_index), np.nan)
    y = y0.copy()
    if not _check_network_inputs(net, seg, y0, t0, t1, t_out, rtol, atol, out_index):
        return INVALID_INPUT, y_out, y, 0.0, stats
    at = _full_atol(atol, n)
    ie = 0
    while ie < n_out and t_out[ie] <= t0:
        for j in range(n_index):
            y_out[ie, j] = y0[out_index[j]]
        ie += 1

    kf_iso, kr_iso = _isothermal_rate_constants(net, y0)
    work = _scratch(net)
    ramped = _segment_ramped(seg)
    # work arrays, allocated once per call
    f0 = np.empty(n)
    fnew = np.empty(n)
    ft = np.zeros(n)
    u = np.empty(n)
    fu = np.empty(n)
    ynew = np.empty(n)
    k = np.empty((N_STAGES, n))
    dcoef = np.empty((N_DENSE, n_index))
    jr = np.zeros((wr, wr))
    dqdT = np.zeros(max(m, 1))
    R = np.zeros((n_cells, wr, wr))
    tdiag = np.zeros(n_cells)
    jl = np.zeros((n_links, w))
    je = np.zeros(n_cells)
    store = factor_storage(net)

    status = SUCCESS
    t = t0
    h_next = h0
    _rhs(t, y, net, seg, t0, t1, True, kf_iso, kr_iso, work, f0)
    stats[STAT_RHS_EVALS] += 1
    finite = True
    for i in range(n):
        if not np.isfinite(f0[i]):
            finite = False
    if not finite:
        return NON_FINITE, y_out, y, 0.0, stats
    if t1 > t0:
        if h0 > 0.0:
            h = min(h0, t1 - t0)
        else:
            # Hairer's starting step (Solving ODEs I, II.4)
            dnf = _scaled_rms(f0, y, rtol, at)
            dny = _scaled_rms(y, y, rtol, at)
            if dnf <= 1e-10 or dny <= 1e-10:
                h = 1e-6
            else:
                h = 0.01 * dny / dnf
            h = min(h, t1 - t0)
            for i in range(n):
                u[i] = y[i] + h * f0[i]
            _rhs(t + h, u, net, seg, t0, t1, True, kf_iso, kr_iso, work, fu)
            stats[STAT_RHS_EVALS] += 1
            for i in range(n):
                fu[i] -= f0[i]
            der2 = _scaled_rms(fu, y, rtol, at) / h
            der12 = max(abs(der2), np.sqrt(dnf))
            if not np.isfinite(der12):
                h1 = h * 1e-3
            elif der12 <= 1e-15:
                h1 = max(1e-6, h * 1e-3)
            else:
                h1 = (0.01 / der12) ** 0.2
            h = min(100.0 * h, h1, t1 - t0)
            if not (h > 0.0):
                h = max((t1 - t0) * 1e-6, 1e-300)
        h_acc = 0.0
        err_acc = 1.0
        last_rejected = False
        jac_current = False
        n_fail = 0
        eps = np.finfo(np.float64).eps
        while True:
            if stats[STAT_STEPS] >= max_steps:
                status = MAX_STEPS
                break
            if h < 16.0 * eps * max(abs(t), 1e-300) or not (h > 0.0):
                status = STEP_TOO_SMALL
                break
            h_try = h
            last = t + 1.01 * h >= t1
            if last:
                h = t1 - t
            if not jac_current:
                _jacobian_blocks(t, y, net, seg, t0, t1, True, kf_iso, kr_iso, work, jr, dqdT,
                                 R, tdiag, jl, je)
                if ramped:
                    _network_dfdt(t, y, net, seg, t0, t1, work, ft)
                stats[STAT_JAC_EVALS] += 1
                jac_current = True
            gh = 1.0 / (GAMMA * h)
            stats[STAT_STEPS] += 1
            stats[STAT_LU_FACTORS] += 1
            stats[NET_STAT_BLOCK_LU] += n_cells
            if not _factor_blocks(net, gh, R, tdiag, jl, je, store):
                stats[STAT_REJECTED] += 1
                n_fail += 1
                if n_fail > MAX_CONSECUTIVE_FAILURES:
                    status = SINGULAR_MATRIX
                    for i in range(n_cells):
                        for r in range(wr):
                            for c in range(wr):
                                if not np.isfinite(R[i, r, c]):
                                    status = NON_FINITE
                    break
                h *= 0.5
                last_rejected = True
                continue
            # ---- the eight stages
            inv_h = 1.0 / h
            for s in range(N_STAGES):
                ks = k[s]
                if s == 0:
                    for i in range(n):
                        ks[i] = f0[i]
                else:
                    if s <= 5:
                        for i in range(n):
                            u[i] = y[i]
                        for j in range(s):
                            a = _A[s, j]
                            kj = k[j]
                            for i in range(n):
                                u[i] += a * kj[i]
                    else:  # stiffly accurate tail: u_6 = u_5 + k_5, u_7 = u_6 + k_6
                        kj = k[s - 1]
                        for i in range(n):
                            u[i] += kj[i]
                    _rhs(t + _CT[s] * h, u, net, seg, t0, t1, True, kf_iso, kr_iso, work, fu)
                    for i in range(n):
                        ks[i] = fu[i]
                    for j in range(s):
                        c = _C[s, j] * inv_h
                        kj = k[j]
                        for i in range(n):
                            ks[i] += c * kj[i]
                if ramped and _DT[s] != 0.0:
                    hd = h * _DT[s]
                    for i in range(n):
                        ks[i] += hd * ft[i]
                _solve_blocks(net, store, jl, je, ks)
            for i in range(n):
                ynew[i] = u[i] + k[7, i]
            stats[STAT_RHS_EVALS] += 7
            # error norm, finiteness and the non-negativity rule in one pass
            s2 = 0.0
            chk = 0.0
            negative = False
            for i in range(n):
                yi = y[i]
                yn = ynew[i]
                ayi = abs(yi)
                sc = at[i] + rtol * max(ayi, abs(yn))
                r = k[7, i] / sc
                s2 += r * r
                chk += yn * 0.0
                if enforce_nonnegative and yn < -(at[i] + rtol * ayi):
                    negative = True
            err = np.sqrt(s2 / max(n, 1))
            finite = np.isfinite(err) and chk == 0.0
            if finite:
                _rhs(t + h, ynew, net, seg, t0, t1, True, kf_iso, kr_iso, work, fnew)
                stats[STAT_RHS_EVALS] += 1
                for i in range(n):
                    if not np.isfinite(fnew[i]):
                        finite = False
            if not finite:
                stats[STAT_REJECTED] += 1
                n_fail += 1
                if n_fail > MAX_CONSECUTIVE_FAILURES:
                    status = NON_FINITE
                    break
                h *= 0.25
                last_rejected = True
                continue
            if err <= 1.0 and not negative:
                # ---- accept
                n_fail = 0
                t_new = t1 if last else t + h
                if ie < n_out and t_out[ie] <= t_new:
                    for r in range(N_DENSE):
                        for j in range(n_index):
                            acc = 0.0
                            for st in range(N_STAGES):
                                acc += _H[r, st] * k[st, out_index[j]]
                            dcoef[r, j] = acc
                    while ie < n_out and t_out[ie] <= t_new:
                        dense_eval_at(DENSE_RODAS, (t_out[ie] - t) / h, y, ynew, dcoef, out_index,
                                      y_out[ie])
                        ie += 1
                for i in range(n):
                    y[i] = ynew[i]
                    f0[i] = fnew[i]
                t = t_new
                stats[STAT_ACCEPTED] += 1
                jac_current = False
                fac = predictive_factor(err, h, h_acc, err_acc, last_rejected)
                h_acc = h
                err_acc = max(err, 1e-2)
                h_next = max(h * fac, h_try) if last else h * fac
                if last:
                    break
                h = h * fac
                last_rejected = False
            else:
                # ---- reject
                stats[STAT_REJECTED] += 1
                h *= reject_factor(err, negative)
                last_rejected = True
    return status, y_out, y, h_next, stats


# ---------------------------------------------------------------------------
# steady state of the network
# ---------------------------------------------------------------------------
NEWTON_TOL = 1e-2      # converged: scaled Newton step below this (well inside the tolerances)
NEWTON_MAX_ITER = 12   # Newton iterations per attempt before pseudo-transient continuation
PTC_NEWTON_RATIO = 1e4  # try Newton again once dt * max(kappa) exceeds this


@njit
def _steady_blocks(y, t, net, seg, kf_iso, kr_iso, work, jr, dqdT, R, tdiag, jl, je):
    """Jacobian blocks for the Newton and continuation steps; the T row of
    an isothermal cell (zero) is pinned to -1 so that W stays regular (its
    right-hand side is 0, so its update stays 0)."""
    _jacobian_blocks(t, y, net, seg, t, t, True, kf_iso, kr_iso, work, jr, dqdT, R, tdiag,
                     jl, je)
    n_s = net[3]
    for i in range(net[5].shape[0]):
        if net[5][i] == 0:
            R[i, n_s, n_s] = -1.0


@njit
def steady_network(net, seg, y0, rtol, atol, max_iter):
    """Steady state f(y) = 0 of the network with the inputs at the start of
    ``seg`` (kappa0, feed0, weight0, ...).

    Newton's method with the block factorisation of :func:`integrate_network`
    (W = -J) and a step limited to keep concentrations above
    ``-atol``, backtracking on the scaled residual; when it stalls, pseudo-
    transient continuation from the current state (linearly implicit Euler
    steps (I/dt - J) dy = f, dt grown by the residual ratio, Kelley and
    Keyes's switched evolution relaxation), returning to Newton once
    dt max(kappa) exceeds PTC_NEWTON_RATIO. The T of isothermal cells is
    held. Converged when a full Newton step is below NEWTON_TOL in the norm
    RMS(dy_i / (atol_i + rtol |y_i|)).

    Parameters
    ----------
    net, seg : tuple
        From :func:`make_network` / :func:`make_segment`; the segment's
        start values are used.
    y0 : float64[n_cells * w]
        Start state (e.g. the state at the end of a run, or the feed filled
        everywhere); the T of isothermal cells is taken from it.
    rtol : float
    atol : float64[n_cells * w] or float64[w]
    max_iter : int
        Budget of Newton iterations plus continuation steps.

    Returns
    -------
    status : int
        SUCCESS, STEADY_NOT_CONVERGED, STEADY_SINGULAR, STEADY_NONFINITE or
        INVALID_INPUT.
    y : float64[n_cells * w]
        The steady state (the last iterate on failure).
    stats : int64[N_STEADY_STATS]
        ``kernels.status.STEADY_STAT_*`` counters.
    """
    n_s, n_tr, cell_energy = net[3], net[4], net[5]
    n_cells = cell_energy.shape[0]
    n_links = net[7].shape[0]
    m = net[2].shape[0]
    w = n_s + n_tr + 1
    wr = n_s + 1
    n = n_cells * w
    enforce_nonnegative = net[8] != 0
    stats = np.zeros(N_STEADY_STATS, dtype=np.int64)
    y = y0.copy()
    if not _check_network_inputs(net, seg, y0, 0.0, 0.0, y0[:0], rtol, atol,
                                 np.zeros(0, dtype=np.int64)):
        return INVALID_INPUT, y, stats
    at = _full_atol(atol, n)
    t = 0.0  # with t0 = t1 = 0 every input takes its start value
    kf_iso, kr_iso = _isothermal_rate_constants(net, y0)
    work = _scratch(net)
    f = np.empty(n)
    ftry = np.empty(n)
    dy = np.empty(n)
    ytry = np.empty(n)
    jr = np.zeros((wr, wr))
    dqdT = np.zeros(max(m, 1))
    R = np.zeros((n_cells, wr, wr))
    tdiag = np.zeros(n_cells)
    jl = np.zeros((n_links, w))
    je = np.zeros(n_cells)
    store = factor_storage(net)
    kmax = 0.0
    for i in range(n_cells):
        kmax = max(kmax, seg[0][i])
    kmax = max(kmax, 1e-12)
    _rhs(t, y, net, seg, t, t, True, kf_iso, kr_iso, work, f)
    stats[STEADY_STAT_RHS_EVALS] += 1
    if not _all_finite(f):
        return STEADY_NONFINITE, y, stats
    fn = _scaled_rms(f, y, rtol, at)
    used = 0
    dt = 0.0  # 0: Newton
    while used < max_iter:
        used += 1
        _steady_blocks(y, t, net, seg, kf_iso, kr_iso, work, jr, dqdT, R, tdiag, jl, je)
        stats[STEADY_STAT_JAC_EVALS] += 1
        gh = 0.0 if dt == 0.0 else 1.0 / dt
        stats[STEADY_STAT_LU_FACTORS] += 1
        ok = _factor_blocks(net, gh, R, tdiag, jl, je, store)
        if ok:
            for i in range(n):
                dy[i] = f[i]
            _solve_blocks(net, store, jl, je, dy)
            ok = _all_finite(dy)
        if dt == 0.0:
            stats[STEADY_STAT_NEWTON_ITERS] += 1
            step = _scaled_rms(dy, y, rtol, at) if ok else np.inf
            lam = 1.0
            if ok:
                # stay above -atol: the largest fraction of the step allowed
                for i in range(n):
                    if enforce_nonnegative and dy[i] < 0.0 and y[i] + dy[i] < -at[i]:
                        lam = min(lam, 0.99 * (y[i] + at[i]) / (-dy[i]))
            accepted = False
            while ok and lam >= 1.0 / 64.0:
                for i in range(n):
                    ytry[i] = y[i] + lam * dy[i]
                _rhs(t, ytry, net, seg, t, t, True, kf_iso, kr_iso, work,
                     ftry)
                stats[STEADY_STAT_RHS_EVALS] += 1
                fn_try = _scaled_rms(ftry, ytry, rtol, at)
                if np.isfinite(fn_try) and (fn_try <= (1.0 - 1e-4 * lam) * fn
                                            or (lam == 1.0 and step <= NEWTON_TOL)):
                    accepted = True
                    break
                lam *= 0.5
            if accepted:
                for i in range(n):
                    y[i] = ytry[i]
                    f[i] = ftry[i]
                fn = fn_try
                if lam == 1.0 and step <= NEWTON_TOL:
                    return SUCCESS, y, stats
                if stats[STEADY_STAT_NEWTON_ITERS] % NEWTON_MAX_ITER != 0:
                    continue
            # Newton stalled or is slow: continuation from here
            stats[STEADY_STAT_PT_FALLBACKS] += 1
            dt = 0.1 / kmax
            continue
        # ---- pseudo-transient continuation step
        negative = False
        if ok:
            for i in range(n):
                ytry[i] = y[i] + dy[i]
                if enforce_nonnegative and ytry[i] < -(at[i] + rtol * abs(y[i])):
                    negative = True
            _rhs(t, ytry, net, seg, t, t, True, kf_iso, kr_iso, work, ftry)
            stats[STEADY_STAT_RHS_EVALS] += 1
            ok = _all_finite(ftry)
        if not ok or negative:
            dt *= 0.25
            if dt * kmax < 1e-14:
                if not ok and not _all_finite(ftry):
                    return STEADY_NONFINITE, y, stats
                return STEADY_SINGULAR if not ok else STEADY_NOT_CONVERGED, y, stats
            continue
        stats[STEADY_STAT_PT_STEPS] += 1
        fn_new = _scaled_rms(ftry, ytry, rtol, at)
        for i in range(n):
            y[i] = ytry[i]
            f[i] = ftry[i]
        ratio = fn / max(fn_new, 1e-300)
        dt *= min(max(ratio, 0.5), 10.0)
        fn = fn_new
        if dt * kmax > PTC_NEWTON_RATIO:
            dt = 0.0
    return STEADY_NOT_CONVERGED, y, stats


@njit
def _all_finite(v):
    for i in range(v.shape[0]):
        if not np.isfinite(v[i]):
            return False
    return True
