"""Non-ideal flow in tubular reactors: axial dispersion and segregated laminar flow.

Both are isothermal, constant-density liquid models for any kinetics, run on a
feed like :class:`~flowchem.reactors.PFR`::

    res = fc.DispersionPFR(volume="2 mL", Pe=50).run(feed)
    res = fc.DispersionPFR(length="5 m", diameter="0.8 mm", diffusivity="1e-9 m^2/s").run(feed)
    res = fc.LaminarPFR(volume="2 mL").run(feed)
    res.outlet["B"], res["A"], res.plot(), res.to_dict()

Axial dispersion (:class:`DispersionPFR`)
    (1/Pe) c'' - c' + tau r(c) = 0 on x = z/L in [0, 1] with Danckwerts
    conditions; solved by :func:`kernels.dispersion.solve_dispersion` (conservative
    finite volumes, complete-flux scheme, Newton with a block-tridiagonal
    Jacobian). The Peclet number Pe = u L / D comes from exactly one of ``Pe``,
    ``D`` (axial dispersion coefficient; needs the length) or ``diffusivity``
    (molecular diffusivity; D from Taylor-Aris, needs length and diameter).

Segregated laminar flow (:class:`LaminarPFR`)
    Fully developed laminar flow without radial diffusion: each streamline is a
    batch reactor, and the outlet is the cup-mixing average over the residence
    time distribution E(t) = tau^2 / (2 t^3), t >= tau/2. With u = tau / (2 t),
    E dt = 2 u du on (0, 1]; the integral is evaluated by composite
    Gauss-Legendre on u (panels geometric in u, down to ``u_min``) with the
    batch dense output, and the fraction of fluid u_min^2 older than
    t_max = tau / (2 u_min) is given the batch state at t_max.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import InputError, SolverError
from .ideal import PFR, PFRResult
from .quadrature import gauss_nodes
from .solver import axial_dispersion, integrate, make_system
from ..process.stream import Stream
from ..core.units import get_registry, parse_quantity


#: Taylor-Aris holds once the fluid has sampled the cross-section:
#: tau D_m / R^2 above about 0.8 (Ananthakrishnan, Gill and Barduhn, AIChE J. 11 (1965) 1063).
TAYLOR_ARIS_MIN_TAU_D_OVER_R2 = 0.8


# --------------------------------------------------------------------------- correlations
def taylor_aris_dispersion(D_molecular, velocity, diameter):
    """Taylor-Aris axial dispersion coefficient in laminar tube flow (SI).

    D = D_m + u^2 d^2 / (192 D_m), with u the mean velocity (m/s), d the tube
    diameter (m) and D_m the molecular diffusivity (m^2/s).
    """
    D_molecular = float(D_molecular)
    if not (D_molecular > 0.0) or not math.isfinite(D_molecular):
        raise InputError(f"expected a positive molecular diffusivity, got {D_molecular!r}",
                         "<python>", "taylor_aris_dispersion.D_molecular")
    return D_molecular + float(velocity) ** 2 * float(diameter) ** 2 / (192.0 * D_molecular)


def peclet(velocity, length, D):
    """Axial Peclet (Bodenstein) number Pe = u L / D."""
    D = float(D)
    if not (D > 0.0) or not math.isfinite(D):
        raise InputError(f"expected a positive dispersion coefficient, got {D!r}", "<python>", "peclet.D")
    return float(velocity) * float(length) / D


def parse_diffusivity(value, where, source="<python>"):
    """A diffusivity in m^2/s from a number (SI) or a string with units."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"expected a diffusivity (area per time), got {value!r}", source, where)
    if isinstance(value, (int, float, np.integer, np.floating)):
        x = float(value)
    elif isinstance(value, str):
        try:
            x = float(value)  # a number-only string is SI, as in parse_quantity
        except ValueError:
            try:
                x = float(get_registry().Quantity(value.strip()).to("m**2/s").magnitude)
            except Exception:
                raise InputError(f"expected a diffusivity (area per time, e.g. '1e-9 m^2/s'), "
                                 f"got {value!r}", source, where) from None
    else:
        raise InputError(f"expected a diffusivity (area per time), got {type(value).__name__}", source, where)
    if not (x > 0.0) or not math.isfinite(x):
        raise InputError(f"expected a positive, finite diffusivity, got {value!r}", source, where)
    return x


# --------------------------------------------------------------------------- dispersion
class DispersionResult(PFRResult):
    """Steady axial-dispersion profile.

    ``x`` (dimensionless position z/L of the nodes), ``tau`` (= x times the
    residence time, s), ``z`` (m, when the length is known), ``conc``
    (nodes x species, mol/m^3), ``Pe``, ``D`` (m^2/s or None), ``D_source``
    ("Pe", "D" or "Taylor-Aris"), ``stats`` (Newton counts and the
    conservation error), ``conservation_error`` (per species, mol/s: inlet
    molar flow - outlet - integrated production).
    """

    kind = "pfr"
    flow_model = "dispersion"

    def __init__(self, name, mechanism, inlet, outlet, volume, T, stats, x, conc, Pe, D,
                 D_source, conservation_error, length=None, diameter=None, extra=None):
        tau = x * (volume / inlet.flow)
        super().__init__(name, mechanism, inlet, outlet, volume, T, stats, tau, conc, None,
                         length, diameter)
        self.x = x
        self.Pe = Pe
        self.D = D
        self.D_source = D_source
        self.conservation_error = conservation_error
        self.extra = extra or {}

    @property
    def n_cells(self):
        return self.x.shape[0]

    def at(self, tau):
        """Concentrations at residence-time coordinate(s) ``tau`` (s), piecewise linear."""
        tq = np.atleast_1d(np.asarray(tau, dtype=float))
        out = np.column_stack([np.interp(tq, self.tau, self.conc[:, i])
                               for i in range(self.conc.shape[1])])
        return out if np.ndim(tau) else out[0]

    def to_dict(self):
        d = super().to_dict()
        d["flow_model"] = self.flow_model
        d["Pe"] = self.Pe
        d["D_axial_m2_per_s"] = self.D
        d["D_source"] = self.D_source
        d["n_cells"] = self.n_cells
        d["conservation_error_rel"] = self.stats["conservation_error_rel"]
        d.update(self.extra)
        return d

    def plot(self, ax=None, species=None, x="z", time_unit="min", conc_unit="mol/L"):
        from ..reporting.plots import plot_profiles

        if x == "z" and self.z is not None:
            fig = plot_profiles(self.z, self.conc, self.species_names, ax=ax, species=species,
                                x_label="position", x_unit="m", conc_unit=conc_unit,
                                title=f"Dispersion PFR {self.name} (Pe = {self.Pe:.3g})")
        else:
            fig = plot_profiles(self.tau, self.conc, self.species_names, ax=ax, species=species,
                                x_label="residence time", x_unit=time_unit, conc_unit=conc_unit,
                                title=f"Dispersion PFR {self.name} (Pe = {self.Pe:.3g})")
        return fig


class DispersionPFR(PFR):
    """Isothermal tubular reactor with axial dispersion (Danckwerts boundaries).

    Parameters
    ----------
    volume, length, diameter, T, name, options
        As for :class:`~flowchem.reactors.PFR`.
    Pe : float, optional
        Axial Peclet number u L / D.
    D : float or str, optional
        Axial dispersion coefficient (m^2/s or e.g. ``"2e-6 m^2/s"``); needs the length.
    diffusivity : float or str, optional
        Molecular diffusivity; D from Taylor-Aris dispersion in laminar flow
        (:func:`taylor_aris_dispersion`); needs length and diameter.
    n_cells : int
        Number of finite-volume nodes (default 401; the error falls as
        1/n_cells^2, about 1e-5 relative at the default for Damkoehler
        numbers of a few).
    grading : float
        Grid grading in [0, 1): 0 uniform (default, best for smooth
        profiles), larger values refine both ends.

    Exactly one of ``Pe``, ``D`` and ``diffusivity`` must be given.
    """

    kind = "pfr"

    def __init__(self, volume=None, length=None, diameter=None, T=None, Pe=None, D=None,
                 diffusivity=None, n_cells=401, grading=0.0, name=None, options=None, *,
                 units=None, source="<python>", where=None):
        super().__init__(volume, T, name, options, length=length, diameter=diameter,
                         units=units, source=source, where=where)
        given = [k for k, v in (("Pe", Pe), ("D", D), ("diffusivity", diffusivity)) if v is not None]
        if len(given) != 1:
            what = "none" if not given else " and ".join(given)
            raise InputError(f"give exactly one of 'Pe', 'D' or 'diffusivity' (got {what})",
                             source, self.where)
        self.Pe = None
        self.D = None
        self.diffusivity = None
        if Pe is not None:
            self.Pe = parse_quantity(Pe, "dimensionless", where=f"{self.where}.Pe",
                                     source=source, positive=True)
        elif D is not None:
            self.D = parse_diffusivity(D, f"{self.where}.D", source)
            if self.length is None:
                raise InputError("an axial dispersion coefficient 'D' needs the reactor 'length' "
                                 "(Pe = u L / D)", source, self.where)
        else:
            self.diffusivity = parse_diffusivity(diffusivity, f"{self.where}.diffusivity", source)
            if self.length is None or self.diameter is None:
                raise InputError("Taylor-Aris dispersion from 'diffusivity' needs 'length' and "
                                 "'diameter' (or 'volume' and one of them)", source, self.where)
        if isinstance(n_cells, bool) or not isinstance(n_cells, (int, np.integer)) or n_cells < 3:
            raise InputError(f"expected a whole number of cells >= 3, got {n_cells!r}", source,
                             f"{self.where}.n_cells")
        self.n_cells = int(n_cells)
        if isinstance(grading, bool) or not isinstance(grading, (int, float)) or not 0.0 <= grading < 1.0:
            raise InputError(f"expected a grading in [0, 1), got {grading!r}", source, f"{self.where}.grading")
        self.grading = float(grading)

    def dispersion(self, feed):
        """(Pe, D or None, source, extra) for this reactor on ``feed``."""
        tau = self.volume / feed.flow
        extra = {}
        if self.Pe is not None:
            Pe = self.Pe
            D = self.length ** 2 / (tau * Pe) if self.length is not None else None
            src = "Pe"
        elif self.D is not None:
            D = self.D
            Pe = peclet(self.length / tau, self.length, D)
            src = "D"
        else:
            u = self.length / tau
            D = taylor_aris_dispersion(self.diffusivity, u, self.diameter)
            Pe = peclet(u, self.length, D)
            src = "Taylor-Aris"
            tau_d = tau * self.diffusivity / (self.diameter / 2.0) ** 2
            extra = {"molecular_diffusivity_m2_per_s": self.diffusivity,
                     "tau_Dm_over_R2": tau_d,
                     "taylor_aris_valid": bool(tau_d >= TAYLOR_ARIS_MIN_TAU_D_OVER_R2)}
        return Pe, D, src, extra

    def run(self, feed):
        from kernels.dispersion import conservation_error, graded_grid

        self._check_feed(feed)
        T = self._temperature(feed)
        tau = self.volume / feed.flow
        Pe, D, src, extra = self.dispersion(feed)
        system = make_system(feed.mechanism, T)
        c_in = np.ascontiguousarray(feed.conc, dtype=np.float64)
        atol = np.ascontiguousarray(self.options.atol_vector(c_in), dtype=np.float64)
        x = graded_grid(self.n_cells, self.grading)
        x, profile, out, stats = axial_dispersion(system, c_in, tau, Pe, x, self.options, atol,
                                                  operation=self.name)
        cons = conservation_error(system, profile, c_in, float(tau), x) * feed.flow
        outlet = Stream.from_si(feed.mechanism, feed.flow, T, out, feed.P, self.name)
        return DispersionResult(self.name, feed.mechanism, feed, outlet, self.volume, T, stats,
                                x, profile, float(Pe), D, src, cons, self.length, self.diameter,
                                extra)


# --------------------------------------------------------------------------- laminar
def _panels(u_min, ratio):
    """Panel boundaries in u, geometric from u_min to 1 (ratio <= ``ratio``)."""
    k = max(1, int(math.ceil(math.log(1.0 / u_min) / math.log(ratio))))
    return u_min ** (1.0 - np.arange(k + 1) / k)


class LaminarResult(PFRResult):
    """Segregated laminar flow: outlet, cup-mixing profile and the batch trajectory.

    ``conc`` is the cup-mixing (flow-averaged) concentration at the positions
    ``tau`` (local mean residence time, s); ``batch`` the batch
    :class:`~flowchem.solver.Solution` each streamline follows;
    ``tail_bound`` (mol/m^3 per species) bounds the error of giving the fluid
    older than ``t_max`` the batch state at t_max; ``quadrature_error``
    estimates the Gauss-Legendre error (difference to a lower-order rule).
    """

    kind = "pfr"
    flow_model = "laminar"

    def __init__(self, name, mechanism, inlet, outlet, volume, T, stats, tau, conc, batch,
                 info, length=None, diameter=None):
        super().__init__(name, mechanism, inlet, outlet, volume, T, stats, tau, conc, batch,
                         length, diameter)
        self.batch = batch
        self.info = info
        self.tail_bound = info["tail_bound"]
        self.quadrature_error = info["quadrature_error"]
        self.t_max = info["t_max"]

    def at(self, tau):
        """Cup-mixing concentrations at local mean residence time(s) ``tau`` (s)."""
        tq = np.atleast_1d(np.asarray(tau, dtype=float))
        out = np.array([_cup_mixing(self.batch, t, self.info["u_nodes"], self.info["u_weights"],
                                    self.info["u_min"]) for t in tq])
        return out if np.ndim(tau) else out[0]

    def to_dict(self):
        d = super().to_dict()
        d["flow_model"] = self.flow_model
        d["t_max_s"] = self.t_max
        d["tail_truncation_bound_rel"] = self.info["tail_bound_rel"]
        d["quadrature_error_estimate_rel"] = self.info["quadrature_error_rel"]
        return d


def _cup_mixing(batch, tau, u, w, u_min):
    """int_0^1 c_batch(tau / (2u)) 2u du on the nodes (u, w), tail with c(t_max)."""
    n = batch.y.shape[1]
    if tau <= 0.0:
        return batch.y[0].copy()
    t = np.minimum(tau / (2.0 * u), batch.t[-1])
    c = batch(t)
    out = (2.0 * u * w) @ c
    # fluid older than tau/(2 u_min): weight u_min^2, state at that age
    t_tail = min(tau / (2.0 * u_min), batch.t[-1])
    out += u_min ** 2 * batch(np.array([t_tail]))[0][:n]
    return out


class LaminarPFR(PFR):
    """Isothermal tube in fully developed laminar flow, segregated (no radial diffusion).

    Parameters as :class:`~flowchem.reactors.PFR`, plus ``u_min`` (default
    1e-4): fluid older than tau/(2 u_min), a fraction u_min^2 of the flow,
    is given the batch state at that age; and ``n_gauss`` Gauss-Legendre
    points per panel (panels geometric in u with ratio ``panel_ratio``).

    Valid while radial diffusion is slow: tau D_m / R^2 << 1; otherwise use
    :class:`DispersionPFR` with ``diffusivity`` (Taylor-Aris).
    """

    kind = "pfr"

    def __init__(self, volume=None, length=None, diameter=None, T=None, name=None, options=None,
                 *, u_min=1.0e-4, n_gauss=8, panel_ratio=1.1, units=None, source="<python>",
                 where=None):
        super().__init__(volume, T, name, options, length=length, diameter=diameter,
                         units=units, source=source, where=where)
        if isinstance(u_min, bool) or not isinstance(u_min, (int, float)) or not 0.0 < u_min < 0.5:
            raise InputError(f"expected u_min in (0, 0.5), got {u_min!r}", source, f"{self.where}.u_min")
        if isinstance(n_gauss, bool) or not isinstance(n_gauss, (int, np.integer)) or not 2 <= n_gauss <= 64:
            raise InputError(f"expected n_gauss between 2 and 64, got {n_gauss!r}", source, f"{self.where}.n_gauss")
        if isinstance(panel_ratio, bool) or not isinstance(panel_ratio, (int, float)) or not 1.0 < panel_ratio <= 4.0:
            raise InputError(f"expected panel_ratio in (1, 4], got {panel_ratio!r}", source,
                             f"{self.where}.panel_ratio")
        self.u_min = float(u_min)
        self.n_gauss = int(n_gauss)
        self.panel_ratio = float(panel_ratio)

    def run(self, feed, n_points=51):
        from kernels.problems import BATCH

        self._check_feed(feed)
        T = self._temperature(feed)
        tau = self.volume / feed.flow
        t_max = tau / (2.0 * self.u_min)
        system = make_system(feed.mechanism, T)
        sol, _ = integrate(system, BATCH, feed.conc, t_max, self.options, record=True,
                           operation=self.name)
        sol.names = feed.mechanism.species_names
        edges = _panels(self.u_min, self.panel_ratio)
        u, w = gauss_nodes(edges, self.n_gauss)
        c_out = _cup_mixing(sol, tau, u, w, self.u_min)
        # quadrature error estimate: the same panels with a lower-order rule
        u_lo, w_lo = gauss_nodes(edges, max(2, self.n_gauss // 2 + 1))
        c_lo = _cup_mixing(sol, tau, u_lo, w_lo, self.u_min)
        scale = max(float(np.max(np.abs(feed.conc))), 1e-300)
        # |truncation| <= u_min^2 sup_{t > t_max} |c(t) - c(t_max)|; the trajectory's range is
        # used as that supremum (exact for monotone approach to a state within it)
        span = np.max(sol.y, axis=0) - np.min(sol.y, axis=0)
        tail_bound = self.u_min ** 2 * span
        if np.any(c_out < -self.options.atol_vector(feed.conc)) or not np.all(np.isfinite(c_out)):
            raise SolverError(self.name, "laminar-flow average gave negative or non-finite concentrations")
        c_out = np.maximum(c_out, 0.0)
        info = {"u_nodes": u, "u_weights": w, "u_min": self.u_min, "t_max": t_max,
                "tail_bound": tail_bound, "tail_bound_rel": float(np.max(tail_bound) / scale),
                "quadrature_error": np.abs(c_out - c_lo),
                "quadrature_error_rel": float(np.max(np.abs(c_out - c_lo)) / scale)}
        x = np.linspace(0.0, 1.0, n_points)
        prof = np.array([_cup_mixing(sol, xi * tau, u, w, self.u_min) for xi in x])
        prof[-1] = c_out
        stats = dict(sol.stats)
        stats["quadrature_nodes"] = int(u.size)
        outlet = Stream.from_si(feed.mechanism, feed.flow, T, c_out, feed.P, self.name)
        return LaminarResult(self.name, feed.mechanism, feed, outlet, self.volume, T, stats,
                             x * tau, prof, sol, info, self.length, self.diameter)
