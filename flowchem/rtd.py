"""Residence time distributions (RTD): models, units in series, moments, fitting, plots.

Everything inside is SI (times in s, E in 1/s); times given as strings such as
``tau="2 min"`` are parsed with :func:`flowchem.units.parse_quantity`.

Every model has the same interface (see :class:`RTD`)::

    from flowchem import rtd
    r = rtd.DispersionRTD(tau="2 min", Pe=40)          # closed-closed vessel
    r.E(t), r.F(t), r.mean, r.variance, r.moments     # 1/s, -, s, s^2, Moments
    both = rtd.series(rtd.PlugFlowRTD("30 s"), rtd.CSTR_RTD("1 min"))
    fit = rtd.fit_tanks_in_series(t, c)               # fit.params["n"], fit.stderr["n"]
    rtd.plot_rtd([r, both])

Models
------
=====================  ==============================================  ===================
class                  E(t)                                            variance
=====================  ==============================================  ===================
PlugFlowRTD(tau)       Dirac delta at tau (``atoms``; E is 0 elsewhere)  0
CSTR_RTD(tau)          exp(-t/tau)/tau                                 tau^2
TanksInSeriesRTD(n,    Erlang/gamma, shape n (real n allowed),          tau^2/n
tau)                   scale tau/n
DispersionRTD(tau,Pe)  axial dispersion, closed-closed (Danckwerts)     tau^2 (2/Pe - 2/Pe^2 (1-e^-Pe))
DispersionRTD(...,     open-open: sqrt(Pe/(4 pi theta)) exp(-Pe(1-      tau^2 (2/Pe + 8/Pe^2),
boundary="open")       theta)^2/(4 theta))/tau; mean tau (1 + 2/Pe)
LaminarRTD(tau)        tau^2/(2 t^3) for t >= tau/2                     infinite
ArbitraryRTD(t, E)     tabulated, normalised to unit area               trapezoid rule
=====================  ==============================================  ===================

``tau`` is always the space time V/v. For every model but the open vessel it is
also the mean residence time.

References: O. Levenspiel, *Chemical Reaction Engineering*, 3rd ed., ch. 11-15;
J. F. Wehner, R. H. Wilhelm, Chem. Eng. Sci. 6 (1956) 89; H. Brenner, Chem. Eng.
Sci. 17 (1962) 229; E. B. Nauman, *Chemical Reactor Design, Optimization and
Scaleup*, ch. 15.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import optimize, special

from .core.errors import InputError, Location
from .core.units import parse_quantity

__all__ = [
    "Moments", "RTD", "PlugFlowRTD", "CSTR_RTD", "TanksInSeriesRTD", "DispersionRTD",
    "LaminarRTD", "ArbitraryRTD", "ShiftedRTD", "series", "tracer_moments",
    "closed_vessel_variance", "open_vessel_variance", "TracerData", "read_tracer_csv",
    "FitResult", "fit_tanks_in_series", "fit_dispersion", "plot_rtd",
]


# --------------------------------------------------------------------------- helpers

def _where(name):
    return Location("<python>", name)


def _time(value, name, *, positive=True):
    return parse_quantity(value, "time", where=_where(name), positive=positive)


def _positive_number(value, name):
    return parse_quantity(value, "dimensionless", where=_where(name), positive=True)


def _times(t):
    """Times in s as a float array; a '<number> <unit>' string gives a 0-d array."""
    if isinstance(t, str):
        return np.asarray(parse_quantity(t, "time", where=_where("t")))
    arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise _where("t").error("times must be finite numbers")
    return arr


def _out(values, t):
    return float(values) if np.ndim(t) == 0 else values


class Moments(NamedTuple):
    """Mean [s], variance [s^2] and skewness (dimensionless) of an RTD.

    ``area`` is the zeroth moment of the data the moments came from (1 for a
    model) and ``tail_fraction`` the part of that area supplied by the fitted
    exponential tail (0 when no tail was added); see :func:`tracer_moments`.
    """

    mean: float
    variance: float
    skewness: float
    area: float = 1.0
    tail_fraction: float = 0.0


# --------------------------------------------------------------------------- base class

class RTD:
    """Common interface of residence time distributions.

    Attributes and methods
    ----------------------
    E(t) : exit-age density [1/s] at times ``t`` (s; array or scalar, or a
        ``"<number> <unit>"`` string). Dirac masses are not in ``E``; they are
        listed in ``atoms``.
    F(t) : cumulative distribution, the integral of E from 0 to t (atoms included).
    atoms : tuple of ``(time_s, weight)`` Dirac masses (only plug flow has one).
    mean, variance, skewness : float, s, s^2, dimensionless. ``math.inf`` when
        infinite (laminar flow), ``math.nan`` when undefined.
    moments : :class:`Moments` ``(mean, variance, skewness)``.
    plot(ax=None, **kw) : E(t) and F(t) with :func:`plot_rtd`.
    """

    atoms: tuple = ()
    label = "RTD"

    def E(self, t):  # pragma: no cover - abstract
        raise NotImplementedError

    def F(self, t):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def mean(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def variance(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def skewness(self) -> float:
        return math.nan

    @property
    def moments(self) -> Moments:
        return Moments(self.mean, self.variance, self.skewness)

    def quantile(self, p: float) -> float:
        """Time [s] by which a fraction ``p`` (0 < p < 1) has left (F(t) = p)."""
        if not 0.0 < p < 1.0:
            raise _where("p").error(f"must lie strictly between 0 and 1, got {p!r}")
        lo, hi = 0.0, max(self.mean if math.isfinite(self.mean) else 1.0, 1e-300)
        while float(self.F(hi)) < p:
            lo, hi = hi, 2.0 * hi
            if hi > 1e300:
                raise _where("p").error(f"quantile {p} not reached")
        return optimize.brentq(lambda x: float(self.F(x)) - p, lo, hi, xtol=1e-14 * hi, rtol=1e-13)

    def _scale(self) -> float:
        """A width used to choose grids: the standard deviation, or the IQR."""
        if math.isfinite(self.variance) and self.variance > 0:
            return math.sqrt(self.variance)
        return self.quantile(0.75) - self.quantile(0.25)

    def _t_plot(self) -> float:
        return self.quantile(0.995)

    def plot(self, ax=None, **kw):
        """Plot E(t) and F(t); keywords go to :func:`plot_rtd`."""
        return plot_rtd([self], ax=ax, **kw)

    def __repr__(self):
        return f"{type(self).__name__}({self._repr_args()})"

    def _repr_args(self):
        return ""


# --------------------------------------------------------------------------- ideal reactors

class PlugFlowRTD(RTD):
    """Ideal plug flow: every element stays exactly ``tau``.

    ``E`` is a Dirac delta at ``tau``: ``E(t)`` returns 0 everywhere (the delta is
    in ``atoms = ((tau, 1.0),)``) and ``F`` is the unit step (F(tau) = 1). Plots
    draw the delta as an arrow at ``tau``. Mean tau, variance 0, skewness 0.
    """

    label = "plug flow"

    def __init__(self, tau):
        self.tau = _time(tau, "tau")
        self.atoms = ((self.tau, 1.0),)

    def E(self, t):
        t = _times(t)
        return _out(np.zeros_like(t, dtype=float), t)

    def F(self, t):
        t = _times(t)
        return _out(np.where(t >= self.tau, 1.0, 0.0), t)

    @property
    def mean(self):
        return self.tau

    @property
    def variance(self):
        return 0.0

    @property
    def skewness(self):
        return 0.0

    def quantile(self, p):
        return self.tau

    def _scale(self):
        return 0.0

    def _t_plot(self):
        return 1.5 * self.tau

    def _repr_args(self):
        return f"tau={self.tau:g}"


class TanksInSeriesRTD(RTD):
    """``n`` equal stirred tanks in series with total space time ``tau``.

    E(t) = n^n t^(n-1) exp(-n t/tau) / (tau^n Gamma(n)), the gamma density of shape
    ``n`` and scale ``tau/n`` (Erlang for integer n). Real ``n > 0`` is allowed, as
    fitted values are. Mean tau, variance tau^2/n, skewness 2/sqrt(n).
    """

    label = "tanks in series"

    def __init__(self, n, tau):
        self.n = _positive_number(n, "n")
        self.tau = _time(tau, "tau")

    def E(self, t):
        t = _times(t)
        k = self.n / self.tau
        with np.errstate(divide="ignore", invalid="ignore"):
            # log form stays finite for large n
            logE = (self.n * math.log(k) + special.xlogy(self.n - 1.0, np.where(t > 0, t, 1.0))
                    - k * t - special.gammaln(self.n))
            e = np.exp(logE)
        at0 = k if self.n == 1.0 else (math.inf if self.n < 1.0 else 0.0)
        e = np.where(t > 0, e, np.where(t == 0, at0, 0.0))
        return _out(e, t)

    def F(self, t):
        t = _times(t)
        return _out(special.gammainc(self.n, np.maximum(t, 0.0) * self.n / self.tau), t)

    @property
    def mean(self):
        return self.tau

    @property
    def variance(self):
        return self.tau ** 2 / self.n

    @property
    def skewness(self):
        return 2.0 / math.sqrt(self.n)

    def _repr_args(self):
        return f"n={self.n:g}, tau={self.tau:g}"


class CSTR_RTD(TanksInSeriesRTD):
    """One ideal stirred tank: E(t) = exp(-t/tau)/tau, F = 1 - exp(-t/tau).

    Mean tau, variance tau^2, skewness 2.
    """

    label = "CSTR"

    def __init__(self, tau):
        super().__init__(1.0, tau)

    def _repr_args(self):
        return f"tau={self.tau:g}"


class LaminarRTD(RTD):
    """Fully developed laminar flow in a tube (segregated, no diffusion).

    E(t) = tau^2 / (2 t^3) for t >= tau/2 and 0 before; F(t) = 1 - tau^2/(4 t^2).
    The mean is tau, but the variance is **infinite** (the E ~ t^-3 tail makes
    the second moment diverge logarithmically): ``variance`` and ``skewness`` are
    ``math.inf``. Moments of a measured laminar tracer curve therefore depend on
    where the curve is cut off.
    """

    label = "laminar"

    def __init__(self, tau):
        self.tau = _time(tau, "tau")

    def E(self, t):
        t = _times(t)
        with np.errstate(divide="ignore"):
            e = np.where(t >= 0.5 * self.tau, self.tau ** 2 / (2.0 * np.maximum(t, 1e-300) ** 3), 0.0)
        return _out(e, t)

    def F(self, t):
        t = _times(t)
        with np.errstate(divide="ignore"):
            f = np.where(t >= 0.5 * self.tau, 1.0 - self.tau ** 2 / (4.0 * np.maximum(t, 1e-300) ** 2), 0.0)
        return _out(f, t)

    @property
    def mean(self):
        return self.tau

    @property
    def variance(self):
        return math.inf

    @property
    def skewness(self):
        return math.inf

    def quantile(self, p):
        if not 0.0 < p < 1.0:
            return super().quantile(p)  # raises
        return self.tau / (2.0 * math.sqrt(1.0 - p))

    def _t_plot(self):
        return 3.0 * self.tau

    def _repr_args(self):
        return f"tau={self.tau:g}"


# --------------------------------------------------------------------------- dispersion

def closed_vessel_variance(Pe: float) -> float:
    """sigma^2/tau^2 = 2/Pe - 2/Pe^2 (1 - exp(-Pe)) of a closed-closed vessel (Levenspiel)."""
    Pe = float(Pe)
    if Pe < 1e-3:  # series avoids cancellation: 1 - Pe/3 + Pe^2/12 - ...
        return 1.0 - Pe / 3.0 + Pe ** 2 / 12.0 - Pe ** 3 / 60.0
    return 2.0 / Pe - 2.0 / Pe ** 2 * (-math.expm1(-Pe))


def open_vessel_variance(Pe: float) -> float:
    """sigma^2/tau^2 = 2/Pe + 8/Pe^2 of an open-open vessel, tau = V/v (Levenspiel)."""
    return 2.0 / Pe + 8.0 / Pe ** 2


def _log_G(p, Pe, boundary):
    """log of the dimensionless transfer function G(p), p = s tau (stable form)."""
    a = np.sqrt(1.0 + 4.0 * p / Pe)
    if boundary == "open":
        return 0.5 * Pe * (1.0 - a) - np.log(a)
    return (np.log(4.0 * a) + 0.5 * Pe * (1.0 - a)
            - np.log((1.0 + a) ** 2 - (1.0 - a) ** 2 * np.exp(-a * Pe)))


def _G(p, Pe, boundary="closed"):
    """Transfer function G(s tau) = L{E}(s): Danckwerts closed vessel or open vessel.

    Closed: G = 4a exp(Pe/2) / ((1+a)^2 exp(a Pe/2) - (1-a)^2 exp(-a Pe/2)),
    a = sqrt(1 + 4 s tau / Pe), evaluated as 4a exp(Pe(1-a)/2) / ((1+a)^2 - (1-a)^2 exp(-a Pe)).
    """
    p = np.asarray(p, dtype=complex)
    a = np.sqrt(1.0 + 4.0 * p / Pe)
    if boundary == "open":
        return np.exp(0.5 * Pe * (1.0 - a)) / a
    return 4.0 * a * np.exp(0.5 * Pe * (1.0 - a)) / ((1.0 + a) ** 2 - (1.0 - a) ** 2 * np.exp(-a * Pe))


def _eigenvalues(Pe, K):
    """b_k > 0 with b Pe + 4 arctan b = 2 pi k, k = 1..K (Wehner-Wilhelm roots).

    With lambda = b Pe/2 these are the roots of tan(lambda) = 4 lambda Pe / (4 lambda^2 - Pe^2).
    The left side is increasing and concave, so Newton from b = 2 pi k/Pe converges
    monotonically.
    """
    k = np.arange(1, K + 1, dtype=float)
    b = 2.0 * np.pi * k / Pe
    for _ in range(100):
        f = b * Pe + 4.0 * np.arctan(b) - 2.0 * np.pi * k
        step = f / (Pe + 4.0 / (1.0 + b * b))
        b = b - step
        if np.all(np.abs(step) <= 1e-15 * b):
            break
    return b


def _closed_series(theta, Pe, cumulative=False, kmax=20000):
    """E(theta) (or F) of the closed vessel from the residues of G at its poles.

    Poles: a_k = i b_k, s_k tau = -(1 + b_k^2) Pe / 4. E = sum_k Res_k, F = 1 + sum_k Res_k / p_k.
    Well conditioned where Pe (1/2 - theta/4) is small; the caller restricts it.
    """
    theta = np.asarray(theta, dtype=float)
    out = np.zeros_like(theta)
    pos = theta > 0
    if not np.any(pos):
        return out if not cumulative else out
    th = theta[pos]

    def terms_needed(th_min):
        # terms beyond K are below e^-40 of the largest: Pe/2 - (1 + b_K^2) Pe th/4 < -40, b_K ~ 2 pi K/Pe
        bK2 = max((2.0 * Pe + 160.0) / (Pe * th_min) - 1.0, 0.0)
        return int(min(kmax, math.ceil(Pe / (2 * math.pi) * math.sqrt(bK2)) + 10))

    K = terms_needed(th.min())
    b = _eigenvalues(Pe, K)
    a = 1j * b
    p = -(1.0 + b * b) * Pe / 4.0
    em, ep = np.exp(-0.5 * a * Pe), np.exp(0.5 * a * Pe)
    dD = (2 * (1 + a) * ep + (1 + a) ** 2 * 0.5 * Pe * ep + 2 * (1 - a) * em + (1 - a) ** 2 * 0.5 * Pe * em)
    coef = 4.0 * a * Pe * a / (2.0 * dD)          # N(a_k) (without exp(Pe/2)) * da/dp
    if cumulative:
        coef = coef / p
    vals = np.empty_like(th)
    order = np.argsort(th)
    i0 = 0
    while i0 < th.size:
        Kc = terms_needed(th[order[i0]])
        idx = order[i0:i0 + max(1, 2_000_000 // Kc)]
        expo = 0.5 * Pe + np.outer(th[idx], p[:Kc])     # exp(Pe/2 + p_k theta)
        vals[idx] = np.real(np.exp(expo) @ coef[:Kc])
        i0 += idx.size
    out[pos] = 1.0 + vals if cumulative else vals
    if cumulative:
        out[~pos] = 0.0
    return out


#: Pe up to which the closed-vessel E is summed from the eigenvalue series alone;
#: its terms carry exp(Pe/2), so round-off grows as 1e-16 exp(Pe/2) (~2e-14 at 10).
_SERIES_MAX_PE = 10.0


def _fourier_period(Pe):
    """Period (in theta) for the Fourier inversion: E(theta >= period) < e^-40 E-scale."""
    b1 = _eigenvalues(Pe, 1)[0]
    return max(6.0, 4.0 * (0.5 * Pe + 40.0) / ((1.0 + b1 * b1) * Pe))


def _fourier_inverse(theta, Pe, boundary, cumulative=False, period=6.0):
    """E(theta) (or F) by Fourier inversion of G on the imaginary axis (Bromwich line).

    E is treated as periodic with ``period`` (in theta): accurate for
    0 <= theta < period/2 when E(theta >= period/2) is negligible (see _fourier_period).
    """
    theta = np.asarray(theta, dtype=float)
    wmax = max(10.0 * math.sqrt(Pe), 6000.0 / Pe, 200.0)
    N = int(math.ceil(wmax * period / (2 * math.pi))) + 1
    w = 2 * math.pi * np.arange(1, N + 1) / period
    g = _G(1j * w, Pe, boundary)
    out = np.empty_like(theta)
    step = max(1, 4_000_000 // N)
    for i0 in range(0, theta.size, step):
        th = theta.ravel()[i0:i0 + step]
        ph = np.exp(1j * np.outer(th, w))
        if cumulative:
            vals = (th + 2.0 * np.real(((ph - 1.0) / (1j * w)[None, :]) @ g)) / period
        else:
            vals = (1.0 + 2.0 * np.real(ph @ g)) / period
        out.ravel()[i0:i0 + step] = vals
    return out


def _cumulants(Pe, boundary, M=256):
    """First three cumulants of theta = t/tau from Taylor coefficients of log G(p).

    Cauchy integral on a circle |p| = r inside the nearest singularity of log G,
    evaluated with the FFT (error ~ (r/R)^M, R the radius of analyticity).
    """
    if boundary == "open":
        R = Pe / 4.0
    else:
        b1 = _eigenvalues(Pe, 1)[0]
        R = (1.0 + b1 * b1) * Pe / 4.0
    r = 0.25 * R
    phi = 2 * np.pi * np.arange(M) / M
    p = r * np.exp(1j * phi)
    if 4.0 * r / Pe < 0.9:
        # a = sqrt(1 + 4p/Pe) stays near 1: the split form of log G is analytic on the circle
        lg = _log_G(p, Pe, boundary)
    else:
        # small Pe: G is near 1/(1 + p); follow the phase of G around the circle
        g = _G(p, Pe, boundary)
        lg = np.log(np.abs(g)) + 1j * np.unwrap(np.angle(g))
    c = np.fft.fft(lg) / M                         # c_n = a_n r^n
    a = [np.real(c[n]) / r ** n for n in range(4)]  # log G = sum a_n p^n
    k1, k2, k3 = -a[1], 2.0 * a[2], -6.0 * a[3]
    return k1, k2, k3


class DispersionRTD(RTD):
    """Axial dispersion model with Peclet number ``Pe = u L / D``.

    Parameters
    ----------
    tau : float or str
        Space time V/v [s] (or a string, e.g. ``"2 min"``).
    Pe : float
        Peclet number, > 0. Small Pe tends to one CSTR, large Pe to plug flow.
    boundary : {"closed", "open"}
        ``"closed"`` (default): closed-closed vessel with Danckwerts boundary
        conditions, transfer function
        G(s) = 4a exp(Pe/2) / ((1+a)^2 exp(a Pe/2) - (1-a)^2 exp(-a Pe/2)),
        a = sqrt(1 + 4 s tau/Pe); mean tau, variance tau^2 (2/Pe - 2/Pe^2 (1 - e^-Pe)).
        ``"open"``: open-open vessel, E(theta) = sqrt(Pe/(4 pi theta))
        exp(-Pe (1-theta)^2/(4 theta)) / tau; mean tau (1 + 2/Pe), variance
        tau^2 (2/Pe + 8/Pe^2).

    Notes
    -----
    The closed-vessel E(t) is evaluated from the residue (eigenfunction) series
    over the Wehner-Wilhelm eigenvalues, which converges fast and is well
    conditioned where Pe (1/2 - theta/4) is small: it is used everywhere for
    Pe <= 10 and for theta >= 3 otherwise; for Pe > 10 and theta < 3 (up to half
    the inversion period) E is obtained by Fourier inversion of G on the
    imaginary axis. Where both apply they agree to < 1e-9 (tests). Far from the
    peak, where Pe (1 - theta)^2 / (4 theta) > 100, E is set to 0 (< 1e-40).
    The skewness comes from the Taylor coefficients of log G (Cauchy integral).
    """

    def __init__(self, tau, Pe, boundary="closed"):
        self.tau = _time(tau, "tau")
        self.Pe = _positive_number(Pe, "Pe")
        if boundary not in ("closed", "open"):
            raise _where("boundary").error(f"expected 'closed' or 'open', got {boundary!r}")
        self.boundary = boundary
        self.label = f"dispersion Pe={self.Pe:g} ({boundary})"
        self._k = None

    def _dimensionless(self, theta, cumulative):
        theta = np.asarray(theta, dtype=float)
        if self.boundary == "open":
            out = np.zeros_like(theta)
            pos = theta > 0
            th = theta[pos]
            x = np.sqrt(self.Pe / (4.0 * th))
            g = np.exp(-self.Pe * (1.0 - th) ** 2 / (4.0 * th))
            if cumulative:
                out[pos] = 0.5 * (special.erfc(x * (1.0 - th)) - special.erfcx(x * (1.0 + th)) * g)
            else:
                out[pos] = x / math.sqrt(math.pi) * g
            return out
        if self.Pe <= _SERIES_MAX_PE:
            return _closed_series(theta, self.Pe, cumulative)
        out = np.zeros_like(theta)
        period = _fourier_period(self.Pe)
        late = theta >= 0.5 * period
        early = (theta > 0) & ~late
        if np.any(late):
            out[late] = _closed_series(theta[late], self.Pe, cumulative)
        # Far from the peak (Pe (1 - theta)^2 / (4 theta) > 100) E < 1e-40 / tau: E = 0, F = 0 or 1.
        with np.errstate(divide="ignore"):
            far = early & (self.Pe * (1.0 - theta) ** 2 / (4.0 * np.where(theta > 0, theta, 1.0)) > 100.0)
        if cumulative:
            out[far & (theta > 1.0)] = 1.0
        early &= ~far
        if np.any(early):
            out[early] = _fourier_inverse(theta[early], self.Pe, "closed", cumulative, period)
        if not cumulative:
            # Fourier ripple far from the peak is ~1e-12; E is never negative.
            out = np.maximum(out, 0.0)
        else:
            out = np.clip(out, 0.0, 1.0)
        return out

    def E(self, t):
        t = _times(t)
        return _out(self._dimensionless(t / self.tau, False) / self.tau, t)

    def F(self, t):
        t = _times(t)
        return _out(self._dimensionless(t / self.tau, True), t)

    @property
    def mean(self):
        return self.tau * (1.0 + 2.0 / self.Pe) if self.boundary == "open" else self.tau

    @property
    def variance(self):
        f = open_vessel_variance if self.boundary == "open" else closed_vessel_variance
        return self.tau ** 2 * f(self.Pe)

    @property
    def skewness(self):
        if self._k is None:
            self._k = _cumulants(self.Pe, self.boundary)
        k1, k2, k3 = self._k
        return k3 / k2 ** 1.5

    def _repr_args(self):
        return f"tau={self.tau:g}, Pe={self.Pe:g}, boundary={self.boundary!r}"


# --------------------------------------------------------------------------- tabulated RTDs

def _trapz(y, x):
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))


def _check_curve(t, c, source="<python>"):
    t = np.asarray(t, dtype=float).ravel()
    c = np.asarray(c, dtype=float).ravel()
    loc = Location(source, "")
    if t.size != c.size:
        raise loc.error(f"t and c differ in length ({t.size} and {c.size})")
    if t.size < 3:
        raise loc.error(f"need at least 3 points, got {t.size}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(c))):
        raise loc.error("t and c must be finite numbers")
    if np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0)) + 1
        raise loc.error(f"times must increase strictly (t[{i}] = {t[i]:g} after {t[i-1]:g})")
    if t[0] < 0:
        raise loc.error(f"times must not be negative (t[0] = {t[0]:g})")
    if not np.any(c > 0):
        raise loc.error("the curve has no positive values")
    return t, c


def _exp_tail(t, c, tail_fraction):
    """(c_end, lam): exponential tail c_end exp(-(t - t_end)/lam) fitted to the late curve.

    Fitted by weighted least squares on log c over the points after the peak that
    lie below ``tail_fraction`` x peak and above zero (weights c^2, i.e. an
    unweighted fit of c). Returns None when fewer than 4 such points exist or
    the curve is not decaying.
    """
    ipk = int(np.argmax(c))
    sel = np.arange(ipk, t.size)
    sel = sel[(c[sel] > 0) & (c[sel] <= tail_fraction * c[ipk])]
    if sel.size < 4:
        return None
    tt, cc = t[sel], c[sel]
    w = cc
    A = np.vstack([np.ones_like(tt), tt - t[-1]]).T * w[:, None]
    coef, *_ = np.linalg.lstsq(A, np.log(cc) * w, rcond=None)
    slope = coef[1]
    if not slope < 0:
        return None
    return float(math.exp(coef[0])), float(-1.0 / slope)


def tracer_moments(t, c, *, tail="exponential", tail_fraction=0.2, cutoff=0.0) -> Moments:
    """Mean, variance and skewness of a tabulated curve by the trapezoid rule.

    Parameters
    ----------
    t, c : array_like
        Times [s] (strictly increasing, >= 0) and tracer response (any unit:
        only its shape matters; subtract any baseline first).
    tail : {"exponential", None}
        ``"exponential"`` (default) adds the integral from the last time to
        infinity of an exponential c_end exp(-(t - t_end)/lam) fitted to the
        decaying part of the curve (points after the peak below
        ``tail_fraction`` x peak), which corrects the bias of curves cut off
        before the tracer has washed out (Levenspiel ch. 11). When no decaying
        tail can be fitted, nothing is added (``tail_fraction`` of the result is 0).
        ``None``: the curve is taken as zero after its last point.
    cutoff : float
        Fraction of the peak below which the late curve is dropped before the
        integrals are taken: the data end at the first point after the peak below
        ``cutoff`` x peak, and the exponential tail (fitted between ``cutoff`` and
        ``tail_fraction`` x peak) stands in for the rest. Noise in a long flat
        tail is weighted by t^2 in the variance; a cutoff of a few times the
        noise level (the fits use 0.02) removes most of that error. 0 (default)
        keeps every point.

    Returns
    -------
    Moments
        ``area`` is the zeroth moment (in units of c x s) and ``tail_fraction``
        the share of it added by the tail.
    """
    t, c = _check_curve(t, c)
    if cutoff > 0:
        ipk = int(np.argmax(c))
        below = np.nonzero(c[ipk:] < cutoff * c[ipk])[0]
        if below.size:
            end = ipk + int(below[0]) + 1
            t, c = t[:end], c[:end]
    m0, m1 = _trapz(c, t), _trapz(c * t, t)
    m2, m3 = _trapz(c * t ** 2, t), _trapz(c * t ** 3, t)
    tail_area = 0.0
    if tail == "exponential":
        fit = _exp_tail(t, c, tail_fraction)
        if fit is not None:
            ce, lam = fit
            te = t[-1]
            tail_area = ce * lam
            m0 += tail_area
            m1 += ce * lam * (te + lam)
            m2 += ce * lam * (te ** 2 + 2 * te * lam + 2 * lam ** 2)
            m3 += ce * lam * (te ** 3 + 3 * te ** 2 * lam + 6 * te * lam ** 2 + 6 * lam ** 3)
    elif tail is not None:
        raise _where("tail").error(f"expected 'exponential' or None, got {tail!r}")
    if not m0 > 0:
        raise _where("c").error("the curve has no positive area")
    mean = m1 / m0
    var = m2 / m0 - mean ** 2
    mu3 = m3 / m0 - 3 * mean * m2 / m0 + 2 * mean ** 3
    skew = mu3 / var ** 1.5 if var > 0 else math.nan
    return Moments(mean, var, skew, m0, tail_area / m0)


class ArbitraryRTD(RTD):
    """RTD tabulated at times ``t`` (s), E piecewise linear and zero outside the table.

    ``E`` is normalised to unit area with the trapezoid rule (``area`` keeps the
    original area). F is the exact integral of the piecewise-linear E. Moments
    come from :func:`tracer_moments` with ``tail`` (default ``None``: the table
    is taken to hold the whole distribution).
    """

    label = "tabulated"

    def __init__(self, t, E, *, tail=None, label=None):
        if isinstance(t, str):
            raise _where("t").error("expected an array of times in s")
        t, E = _check_curve(t, E)
        self.t = t
        self.area = _trapz(E, t)
        self.values = E / self.area
        h = np.diff(t)
        self._Fc = np.concatenate([[0.0], np.cumsum(0.5 * (self.values[1:] + self.values[:-1]) * h)])
        self._tail = tail
        self._mom = None
        self.check = {}
        if label:
            self.label = label

    def E(self, t):
        t = _times(t)
        e = np.interp(t, self.t, self.values, left=0.0, right=0.0)
        return _out(e, t)

    def F(self, t):
        t = _times(t)
        tc = np.clip(t, self.t[0], self.t[-1])
        i = np.clip(np.searchsorted(self.t, tc, side="right") - 1, 0, self.t.size - 2)
        h = self.t[i + 1] - self.t[i]
        x = tc - self.t[i]
        e0, e1 = self.values[i], self.values[i + 1]
        f = self._Fc[i] + e0 * x + (e1 - e0) * x * x / (2 * h)
        return _out(np.clip(f, 0.0, 1.0), t)

    @property
    def moments(self):
        if self._mom is None:
            m = tracer_moments(self.t, self.values, tail=self._tail)
            self._mom = Moments(m.mean, m.variance, m.skewness, 1.0, m.tail_fraction)
        return self._mom

    @property
    def mean(self):
        return self.moments.mean

    @property
    def variance(self):
        return self.moments.variance

    @property
    def skewness(self):
        return self.moments.skewness

    def _repr_args(self):
        return f"t=<{self.t.size} points, {self.t[0]:g}..{self.t[-1]:g} s>"


class ShiftedRTD(RTD):
    """An RTD delayed by ``delay`` seconds (a plug-flow section in series with it)."""

    def __init__(self, inner: RTD, delay):
        self.inner = inner
        self.delay = _time(delay, "delay", positive=False)
        self.atoms = tuple((t + self.delay, w) for t, w in inner.atoms)
        self.label = f"{inner.label} + plug flow {self.delay:g} s"

    def E(self, t):
        t = _times(t)
        return self.inner.E(t - self.delay)

    def F(self, t):
        t = _times(t)
        return self.inner.F(t - self.delay)

    @property
    def mean(self):
        return self.inner.mean + self.delay

    @property
    def variance(self):
        return self.inner.variance

    @property
    def skewness(self):
        return self.inner.skewness

    def quantile(self, p):
        return self.inner.quantile(p) + self.delay

    def _scale(self):
        return self.inner._scale()

    def _t_plot(self):
        return self.inner._t_plot() + self.delay

    def _repr_args(self):
        return f"{self.inner!r}, delay={self.delay:g}"


# --------------------------------------------------------------------------- series

def series(*rtds, t=None, analytic=True, points_per_width=200, tail_mass=1e-7,
           max_points=2 ** 21, check_rtol=1e-3):
    """RTD of units in series (the convolution of their E curves).

    Parameters
    ----------
    *rtds : RTD
        Units in flow order (the order does not change the RTD).
    t : array_like, optional
        Uniform grid starting at 0 [s] for the numerical convolution. By default
        the spacing is ``min(width)/points_per_width`` (width = standard deviation,
        or inter-quartile range when infinite) and the grid ends where each unit
        has less than ``tail_mass`` left (capped at ``max_points`` points). Mass beyond
        the grid is dropped: for laminar flow (E ~ t^-3) that biases the mean by
        about tau^2/(2 t_end), 3e-4 tau with the defaults.
    analytic : bool
        Use closed forms where they exist: plug-flow units are a pure delay
        (returned as :class:`ShiftedRTD` around the rest), tanks of equal per-tank
        time combine into one :class:`TanksInSeriesRTD`, a single remaining unit
        is returned as is. ``False`` forces the numerical convolution for every
        unit that is not plug flow.

    Returns
    -------
    RTD
        :class:`ArbitraryRTD` for a numerical convolution, with ``check`` holding
        the relative error of its mean and variance against the sums of the
        units' means and variances (variances only when all are finite). A
        ``RuntimeWarning`` is issued when they exceed ``check_rtol``.

    Notes
    -----
    Each unit is discretised into the exact probability mass of each grid cell,
    F(t_i+1) - F(t_i), placed at the cell midpoint; the masses are convolved with
    the FFT. This keeps the mean exact and makes E second-order accurate in the
    spacing (the grid-induced variance is m dt^2/12 for m units).
    """
    if len(rtds) == 1 and isinstance(rtds[0], (list, tuple)):
        rtds = tuple(rtds[0])
    if not rtds:
        raise _where("rtds").error("series() needs at least one RTD")
    for i, r in enumerate(rtds):
        if not isinstance(r, RTD):
            raise _where(f"rtds[{i}]").error(f"expected an RTD, got {type(r).__name__}")
    delay, cont = 0.0, []
    for r in rtds:
        while isinstance(r, ShiftedRTD):
            delay += r.delay
            r = r.inner
        if isinstance(r, PlugFlowRTD):
            delay += r.tau
        else:
            cont.append(r)
    if not cont:
        return PlugFlowRTD(delay)
    if analytic and t is None:
        result = None
        if len(cont) == 1:
            result = cont[0]
        elif all(type(r) in (CSTR_RTD, TanksInSeriesRTD) for r in cont):
            per = [r.tau / r.n for r in cont]
            if max(per) - min(per) <= 1e-12 * max(per):
                result = TanksInSeriesRTD(sum(r.n for r in cont), sum(r.tau for r in cont))
        if result is not None:
            return ShiftedRTD(result, delay) if delay > 0 else result
    if t is None:
        width = min(r._scale() for r in cont)
        dt = width / points_per_width
        t_end = sum(r.quantile(1.0 - tail_mass) for r in cont)
        n = int(math.ceil(t_end / dt)) + 1
        if n > max_points:
            n = max_points
            dt = t_end / (n - 1)
        edges = np.arange(n) * dt
    else:
        edges = _times(t).ravel()
        if edges.size < 3 or edges[0] != 0.0:
            raise _where("t").error("expected a uniform grid starting at 0 with at least 3 points")
        dt = edges[1]
        if not np.allclose(np.diff(edges), dt, rtol=1e-9, atol=0):
            raise _where("t").error("expected a uniform grid (equal spacing)")
    from scipy.signal import fftconvolve

    q = None
    for r in cont:
        p = np.diff(np.asarray(r.F(edges), dtype=float))
        q = p if q is None else np.clip(fftconvolve(q, p)[: edges.size - 1], 0.0, None)
    m = len(cont)
    tq = (np.arange(q.size) + 0.5 * m) * dt
    res = ArbitraryRTD(tq + delay, q / dt, label="series")
    res.check["mean_rel_err"] = abs(res.mean - (sum(r.mean for r in cont) + delay)) / (
        sum(r.mean for r in cont) + delay)
    variances = [r.variance for r in cont]
    if all(math.isfinite(v) for v in variances):
        vs = sum(variances)
        res.check["variance_rel_err"] = abs(res.variance - vs) / vs
    bad = {k: v for k, v in res.check.items() if v > check_rtol}
    if bad:
        warnings.warn(f"series(): convolution on {edges.size} points off by "
                      + ", ".join(f"{k}={v:.2g}" for k, v in bad.items())
                      + "; pass a finer or longer grid t", RuntimeWarning, stacklevel=2)
    return res


# --------------------------------------------------------------------------- CSV

class TracerData(NamedTuple):
    """A tracer curve read from a file: ``t, c = read_tracer_csv(path)`` also works.

    ``t`` in s; ``c`` as in the file (its unit or label in ``c_label``).
    """

    t: np.ndarray
    c: np.ndarray
    time_unit: str = "s"
    c_label: str = "c"
    source: str = ""

    def __iter__(self):  # unpack as (t, c)
        return iter((self.t, self.c))


_UNIT_IN_NAME = [
    re.compile(r"^\s*(?P<name>[^\[\]]*?)\s*\[\s*(?P<unit>[^\]]*?)\s*\]\s*$"),   # t [min]
    re.compile(r"^\s*(?P<name>[^()]*?)\s*\(\s*(?P<unit>[^)]*?)\s*\)\s*$"),      # t (min)
    re.compile(r"^\s*(?P<name>[^/]*?)\s*/\s*(?P<unit>\S.*?)\s*$"),              # t / min
    re.compile(r"^\s*(?P<name>[A-Za-z]+)_(?P<unit>[A-Za-z]+)\s*$"),              # time_s
]


def _split_header(name):
    for rx in _UNIT_IN_NAME:
        m = rx.match(name)
        if m:
            return m.group("name"), m.group("unit")
    return name.strip(), None


def read_tracer_csv(path, *, time_unit=None) -> TracerData:
    """Read a tracer curve: two columns, time and concentration, after a header.

    The header names the columns and may give the time unit as ``time_s``,
    ``t [min]``, ``t (min)`` or ``t / min``; without a unit (and without
    ``time_unit=``) times are in seconds. Fields are separated by commas,
    semicolons, tabs or spaces. Blank lines and lines starting with ``#`` are
    skipped. The concentration column is kept in its own unit (only the
    shape of the curve matters for an RTD).

    Raises
    ------
    InputError
        Naming the file, the line and the problem: missing file, no header,
        wrong number of columns, a field that is not a finite number, a time
        unit that is not a time, negative or non-increasing times, fewer than
        3 data rows, or no positive concentration.
    """
    src = os.fspath(path)
    loc = Location(src, "")
    try:
        with open(src, newline="", encoding="utf-8-sig") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        raise loc.error("file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise loc.error(f"cannot read file ({exc})") from None
    rows = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not rows:
        raise loc.error("empty file: expected a header and two columns (time, concentration)")

    def fields(text):
        for sep in (",", ";", "\t"):
            if sep in text:
                return [f.strip() for f in text.split(sep)]
        return text.split()

    hline, header = rows[0]
    names = fields(header)
    if len(names) != 2:
        raise Location(src, f"line {hline}").error(
            f"expected a header naming 2 columns (time, concentration), got {len(names)} "
            "(is this a tracer CSV?)")
    try:
        float(names[0])
        numeric = True
    except ValueError:
        numeric = False
    if numeric:
        raise Location(src, f"line {hline}").error(
            "expected a header such as 'time_s,conc' or 't [min], c', got numbers")
    tname, tunit = _split_header(names[0])
    cname, cunit = _split_header(names[1])
    if time_unit is not None:
        tunit = time_unit
    factor = 1.0
    if tunit:
        factor = parse_quantity(f"1 {tunit}", "time", where=Location(src, f"line {hline}"), positive=True)
    t, c = [], []
    for lineno, text in rows[1:]:
        where = Location(src, f"line {lineno}")
        parts = fields(text)
        if len(parts) != 2:
            raise where.error(f"expected 2 fields (time, concentration), got {len(parts)}: {text.strip()!r}")
        vals = []
        for col, (p, what) in enumerate(zip(parts, ("time", "concentration")), start=1):
            try:
                v = float(p)
            except ValueError:
                raise where.error(f"column {col} ({what}): expected a number, got {p!r}") from None
            if not math.isfinite(v):
                raise where.error(f"column {col} ({what}): expected a finite number, got {p!r}")
            vals.append(v)
        tv = vals[0] * factor
        if tv < 0:
            raise where.error(f"column 1 (time): must not be negative, got {parts[0]!r}")
        if t and tv <= t[-1]:
            raise where.error(f"column 1 (time): times must increase, got {parts[0]!r} after {t[-1] / factor:g}")
        t.append(tv)
        c.append(vals[1])
    if len(t) < 3:
        raise loc.error(f"expected at least 3 data rows, got {len(t)}")
    c = np.asarray(c)
    if not np.any(c > 0):
        raise loc.error("no positive concentration in column 2")
    label = f"{cname} [{cunit}]" if cunit else cname
    return TracerData(np.asarray(t), c, tunit or "s", label, src)


# --------------------------------------------------------------------------- fitting

@dataclass
class FitResult:
    """A fitted RTD model.

    Attributes
    ----------
    model : str
        ``"tanks_in_series"`` or ``"dispersion_closed"`` / ``"dispersion_open"``.
    method : str
        ``"moments"`` or ``"least_squares"``.
    params : dict
        Fitted parameters in SI: ``n`` or ``Pe``, and ``tau`` [s].
    stderr : dict
        Standard errors of ``params`` (least squares: from the Jacobian,
        sigma^2 (J^T J)^-1 with sigma^2 = SSR/(m - p)); ``None`` for moments.
    residual : float
        RMS difference between the data's E (c over its area) and the model's E [1/s].
    rtd : RTD
        The fitted model, ready for ``E``, ``F``, ``plot``.
    moments : Moments
        Moments of the data (see :func:`tracer_moments`).
    """

    model: str
    method: str
    params: dict
    stderr: dict
    residual: float
    rtd: RTD
    moments: Moments
    t: np.ndarray = field(repr=False)
    E_data: np.ndarray = field(repr=False)

    def plot(self, ax=None, **kw):
        """Data and fitted E(t) and F(t) (see :func:`plot_rtd`)."""
        kw.setdefault("data", (self.t, self.E_data))
        return plot_rtd([self.rtd], ax=ax, **kw)

    def __str__(self):
        parts = []
        for k, v in self.params.items():
            se = self.stderr.get(k)
            parts.append(f"{k} = {v:.4g}" + (f" ± {se:.2g}" if se is not None else ""))
        return f"{self.model} ({self.method}): " + ", ".join(parts) + f"; residual {self.residual:.3g} 1/s"


def _prepare(t, c, time_unit):
    if isinstance(t, TracerData):
        t, c = t.t, t.c
    if time_unit is not None:
        t = np.asarray(t, dtype=float) * parse_quantity(f"1 {time_unit}", "time", where=_where("time_unit"))
    return _check_curve(t, c)


def _least_squares(t, c, make, x0, names, scale_log):
    """Fit c = A E(t; params); params in log space where scale_log says so."""
    A0 = np.max(c) / max(np.max(make(*x0).E(t)), 1e-300)
    z0 = np.array([math.log(A0)] + [math.log(v) if lg else v for v, lg in zip(x0, scale_log)])

    def unpack(z):
        return [math.exp(v) if lg else v for v, lg in zip(z[1:], scale_log)]

    def resid(z):
        try:
            model = make(*unpack(z)).E(t)
        except InputError:
            return np.full(t.size, 1e10)
        return math.exp(z[0]) * model - c

    sol = optimize.least_squares(resid, z0, x_scale="jac", method="trf")
    vals = unpack(sol.x)
    m, p = t.size, sol.x.size
    ssr = float(np.sum(sol.fun ** 2))
    stderr = {}
    try:
        cov = np.linalg.inv(sol.jac.T @ sol.jac) * ssr / max(m - p, 1)
        se_z = np.sqrt(np.diag(cov))[1:]
        for name, v, lg, s in zip(names, vals, scale_log, se_z):
            stderr[name] = float(v * s if lg else s)  # delta method for log parameters
    except np.linalg.LinAlgError:
        stderr = {name: None for name in names}
    return dict(zip(names, map(float, vals))), stderr, math.exp(sol.x[0])


def _finish(model, method, params, stderr, rtd_obj, t, c, mom, area):
    E_data = c / area
    residual = float(np.sqrt(np.mean((rtd_obj.E(t) - E_data) ** 2)))
    return FitResult(model, method, params, stderr, residual, rtd_obj, mom, t, E_data)


def fit_tanks_in_series(t, c=None, *, method="least_squares", tail="exponential", cutoff=0.02,
                        time_unit=None):
    """Fit the tanks-in-series model to a pulse tracer curve.

    Parameters
    ----------
    t, c : array_like
        Times [s] and tracer concentration (any unit; baseline subtracted), or a
        :class:`TracerData` as ``t`` alone.
    method : {"least_squares", "moments"}
        ``"moments"``: tau = mean, n = mean^2 / variance (moments from
        :func:`tracer_moments` with ``tail`` and ``cutoff``, see there).
        ``"least_squares"`` (default):
        c = A E(t; n, tau) fitted with :func:`scipy.optimize.least_squares`
        (A, n, tau free; started from the moments), with standard errors.
    tail, cutoff :
        Tail handling of the moments (:func:`tracer_moments`); the moments also
        start the least-squares fit.
    time_unit : str, optional
        Unit of ``t`` when it is not in seconds (e.g. ``"min"``).

    Returns
    -------
    FitResult
        ``params = {"n": ..., "tau": ...}``.
    """
    t, c = _prepare(t, c, time_unit)
    mom = tracer_moments(t, c, tail=tail, cutoff=cutoff)
    n0, tau0 = max(mom.mean ** 2 / mom.variance, 0.05) if mom.variance > 0 else 1.0, mom.mean
    if method == "moments":
        params = {"n": float(n0), "tau": float(tau0)}
        stderr = {"n": None, "tau": None}
        area = mom.area
    elif method == "least_squares":
        params, stderr, area = _least_squares(t, c, TanksInSeriesRTD, [n0, tau0], ["n", "tau"], [True, True])
    else:
        raise _where("method").error(f"expected 'least_squares' or 'moments', got {method!r}")
    r = TanksInSeriesRTD(params["n"], params["tau"])
    return _finish("tanks_in_series", method, params, stderr, r, t, c, mom, area)


def _pe_from_moments(ratio, boundary):
    """Pe from sigma^2/tbar^2 (closed: sigma^2/tau^2; open: sigma^2/tbar^2 with tbar = tau(1+2/Pe))."""
    if boundary == "closed":
        if not 0 < ratio < 1:
            raise _where("c").error(
                f"variance/mean^2 = {ratio:.3g} is outside (0, 1), the range of a closed dispersion vessel")
        f = lambda lp: closed_vessel_variance(math.exp(lp)) - ratio
    else:
        if not 0 < ratio < 2:
            raise _where("c").error(
                f"variance/mean^2 = {ratio:.3g} is outside (0, 2), the range of an open dispersion vessel")
        f = lambda lp: open_vessel_variance(math.exp(lp)) / (1 + 2 / math.exp(lp)) ** 2 - ratio
    return math.exp(optimize.brentq(f, math.log(1e-8), math.log(1e12), xtol=1e-14))


def fit_dispersion(t, c=None, *, boundary="closed", method="least_squares", tail="exponential",
                   cutoff=0.02, time_unit=None):
    """Fit the axial dispersion model (Pe and tau) to a pulse tracer curve.

    ``"moments"``: closed vessel tau = mean and Pe solves
    variance/mean^2 = 2/Pe - 2/Pe^2 (1 - e^-Pe); open vessel
    variance/mean^2 = (2/Pe + 8/Pe^2)/(1 + 2/Pe)^2 and tau = mean/(1 + 2/Pe).
    ``"least_squares"`` (default): c = A E(t; Pe, tau) by
    :func:`scipy.optimize.least_squares`, started from the moments, with standard
    errors. Other arguments as :func:`fit_tanks_in_series`.

    Returns
    -------
    FitResult
        ``params = {"Pe": ..., "tau": ...}``.
    """
    if boundary not in ("closed", "open"):
        raise _where("boundary").error(f"expected 'closed' or 'open', got {boundary!r}")
    t, c = _prepare(t, c, time_unit)
    mom = tracer_moments(t, c, tail=tail, cutoff=cutoff)
    ratio = mom.variance / mom.mean ** 2
    try:
        Pe0 = _pe_from_moments(ratio, boundary)
    except InputError:
        if method == "moments":
            raise
        Pe0 = 1.0 if ratio >= 1 else 1e6
    tau0 = mom.mean if boundary == "closed" else mom.mean / (1 + 2 / Pe0)
    if method == "moments":
        params, stderr, area = {"Pe": float(Pe0), "tau": float(tau0)}, {"Pe": None, "tau": None}, mom.area
    elif method == "least_squares":
        make = lambda Pe, tau: DispersionRTD(tau, Pe, boundary)
        params, stderr, area = _least_squares(t, c, make, [Pe0, tau0], ["Pe", "tau"], [True, True])
    else:
        raise _where("method").error(f"expected 'least_squares' or 'moments', got {method!r}")
    r = DispersionRTD(params["tau"], params["Pe"], boundary)
    return _finish(f"dispersion_{boundary}", method, params, stderr, r, t, c, mom, area)


# --------------------------------------------------------------------------- plots

def _figure(ncols):
    from .reporting.plots import pyplot

    fig, axes = pyplot().subplots(1, ncols, figsize=(5.0 * ncols, 3.8), layout="constrained", squeeze=False)
    return list(axes[0])


def plot_rtd(rtds, ax=None, *, t=None, which="both", time_unit="s", labels=None, data=None):
    """Plot E(t) and F(t) of one or more RTDs.

    Parameters
    ----------
    rtds : RTD or list of RTD
    ax : matplotlib Axes, pair of Axes, or None
        None: a new figure with E(t) left and F(t) right (``which="both"``) or one
        panel. One Axes with ``which="both"``: E on it, F (dashed) on a twin axis.
    t : array_like, optional
        Times [s]; by default 0 to the largest 99.5 % quantile (3 tau for laminar).
    which : {"both", "E", "F"}
    time_unit : str
        Unit of the time axis (e.g. ``"min"``); E is shown per that unit.
    labels : list of str, optional
    data : (t, E) tuple, optional
        Measured points [s, 1/s] drawn as markers on the E panel (and their
        cumulative integral on the F panel).

    Returns
    -------
    list of Axes
        ``[ax_E, ax_F]``, or one Axes for ``which="E"``/``"F"``.
    """
    if isinstance(rtds, RTD):
        rtds = [rtds]
    if which not in ("both", "E", "F"):
        raise _where("which").error(f"expected 'both', 'E' or 'F', got {which!r}")
    labels = list(labels) if labels is not None else [r.label for r in rtds]
    f = parse_quantity(f"1 {time_unit}", "time", where=_where("time_unit"))
    if t is None:
        tmax = max(r._t_plot() for r in rtds) if rtds else 1.0
        if data is not None:
            tmax = max(tmax, float(np.max(data[0])))
        t = np.linspace(0.0, tmax, 801)
    t = _times(t)
    if ax is None:
        axes = _figure(2 if which == "both" else 1)
    elif isinstance(ax, (list, tuple, np.ndarray)):
        axes = list(np.ravel(ax))
    else:
        axes = [ax, ax.twinx()] if which == "both" else [ax]
    axE = axes[0] if which in ("both", "E") else None
    axF = (axes[1] if len(axes) > 1 else axes[0]) if which in ("both", "F") else None
    for i, (r, lab) in enumerate(zip(rtds, labels)):
        color = f"C{i}"
        if axE is not None:
            e = np.asarray(r.E(t)) * f
            axE.plot(t / f, e, color=color, label=lab)
            for ta, w in r.atoms:
                top = max(float(np.max(e)) if e.size else 0.0, 1e-300) or 1.0
                ymax = top if top > 0 else 1.0
                axE.annotate("", xy=(ta / f, ymax), xytext=(ta / f, 0.0),
                             arrowprops=dict(arrowstyle="->", color=color, lw=1.5))
                axE.plot([], [], color=color, marker=r"$\uparrow$", ls="none",
                         label=f"{lab}: Dirac, weight {w:g}")
        if axF is not None:
            axF.plot(t / f, np.asarray(r.F(t)), color=color, ls="--" if axF is axE or (
                axE is not None and axF is not axes[1]) else "-", label=lab)
    if data is not None:
        td, ed = np.asarray(data[0], float), np.asarray(data[1], float)
        if axE is not None:
            axE.plot(td / f, ed * f, "k.", ms=3, label="data")
        if axF is not None:
            Fd = np.concatenate([[0.0], np.cumsum(0.5 * (ed[1:] + ed[:-1]) * np.diff(td))])
            axF.plot(td / f, Fd, "k.", ms=3, label="data")
    if axE is not None:
        axE.set_xlabel(f"time [{time_unit}]")
        axE.set_ylabel(f"E(t) [1/{time_unit}]")
        axE.set_ylim(bottom=0)
        axE.legend(loc="best", fontsize="small")
        axE.grid(alpha=0.3)
    if axF is not None:
        axF.set_xlabel(f"time [{time_unit}]")
        axF.set_ylabel("F(t)")
        axF.set_ylim(0, 1.05)
        if axF is not axE:
            axF.grid(alpha=0.3)
            if which != "both" or len(axes) > 1 and axes[1] is axF and ax is None or isinstance(ax, (list, tuple, np.ndarray)):
                axF.legend(loc="best", fontsize="small")
    return [axE, axF] if which == "both" else [axE if axE is not None else axF]
