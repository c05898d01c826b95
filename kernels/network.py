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
           link_src)     # int64[n_links]: source cell of each link, < its cell

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

from ._common import DENSE_RODAS, FAC_MAX, MAX_CONSECUTIVE_FAILURES, N_DENSE, dense_eval, reject_factor
from .jit import njit
from .kinetics import production_jacobian, production_rates, rate_constants, rate_temperature_derivative
from .linalg import lu_factor, lu_solve
from .rosenbrock import GAMMA, N_STAGES, RODAS5P_A, RODAS5P_C, _dense_coeffs, predictive_factor
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
    STEADY_NOT_CONVERGED,
    STEADY_NONFINITE,
    STEADY_SINGULAR,
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
                 link_src):
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

    Returns
    -------
    tuple
        ``(model_h, rate_params, dH, n_species, n_tracers, cell_energy,
        link_ptr, link_src)``.

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
            link_src)


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
        Back-mixing rate between cell i and i+1, 1/s (>= 0); default 0. Must
        be 0 at the last cell and at any cell that feeds a cell other than
        i + 1.

    Returns
    -------
    tuple
        ``(kappa0, kappa1, feed0, feed1, weight0, weight1, ua0, ua1, Tc0,
        Tc1, rhocp0, rhocp1, exchange0, exchange1)``.

    Raises
    ------
    ValueError
        On an unknown keyword, a wrong shape, a negative rate or a
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
    for name, pair in (("kappa", kappa), ("ua", ua), ("exchange", ex)):
        for a in pair:
            if np.any(a < 0.0):
                raise ValueError(f"{name} must be non-negative")
    energy = cell_energy != 0
    for a in rc:
        if np.any(~(a[energy] > 0.0)):
            raise ValueError("rho_cp must be positive in every energy cell")
        a[~energy] = np.where(a[~energy] > 0.0, a[~energy], 1.0)
    link_ptr, link_src = net[6], net[7]
    for a in ex:
        if a[-1] != 0.0:
            raise ValueError("exchange must be 0 at the last cell")
        for i in np.nonzero(a)[0]:
            feeds = set(np.repeat(np.arange(n_cells), np.diff(link_ptr))[link_src == i].tolist())
            if feeds - {i + 1}:
                raise ValueError(f"cell {i} has exchange > 0 but feeds cell(s) "
                                 f"{sorted(feeds - {i + 1})} besides {i + 1}")
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
