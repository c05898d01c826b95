"""Residence time distributions written out here, independently of flowchem.rtd
(test helper): synthetic tracer curves and reference E(t) for the RTD tests.

* ``erlang_E``: N tanks in series (gamma density; Erlang for whole N),
  E(t) = N^N t^(N-1) exp(-N t/tau) / (tau^N Gamma(N)).
* ``open_vessel_E``: axial dispersion, open-open boundaries (Levenspiel,
  Chemical Reaction Engineering, 3rd ed., eq. 13.11 with theta = t/tau),
  E(theta) = sqrt(Pe/(4 pi theta)) exp(-Pe (1 - theta)^2/(4 theta)).
* ``closed_vessel_E``: axial dispersion, closed-closed (Danckwerts) boundaries,
  by numerical inversion of its Laplace transform -- the Wehner-Wilhelm
  transfer function G(s) = 4a e^{Pe/2} / ((1+a)^2 e^{aPe/2} - (1-a)^2 e^{-aPe/2}),
  a = sqrt(1 + 4 s/Pe) (s conjugate to theta) -- along Talbot's contour
  (fixed Talbot method, Abate and Valko, Int. J. Numer. Meth. Eng. 60 (2004)
  979). flowchem evaluates this E by a different route (a Fourier inversion and
  an image series), so the two are independent.
"""

import math

import numpy as np


def erlang_E(t, n, tau):
    """Pulse response of ``n`` equal stirred tanks of total mean ``tau``, 1/s."""
    t = np.asarray(t, dtype=float)
    tp = np.where(t > 0, t, 1.0)
    log_E = (n * math.log(n) + (n - 1) * np.log(tp) - n * tp / tau - n * math.log(tau) - math.lgamma(n))
    return np.where(t > 0, np.exp(log_E), 0.0 if n > 1 else n / tau)


def open_vessel_E(t, tau, Pe):
    """Open-open axial dispersion, 1/s; the mean is tau (1 + 2/Pe)."""
    th = np.asarray(t, dtype=float) / tau
    thp = np.where(th > 0, th, 1.0)
    E = np.sqrt(Pe / (4 * math.pi * thp)) * np.exp(-Pe * (1 - thp) ** 2 / (4 * thp))
    return np.where(th > 0, E, 0.0) / tau


def _closed_vessel_transform(s, Pe):
    """G(s) divided through by exp(a Pe/2) so that large |a| Pe does not overflow."""
    a = np.sqrt(1 + 4 * s / Pe)
    return 4 * a * np.exp(0.5 * Pe * (1 - a)) / ((1 + a) ** 2 - (1 - a) ** 2 * np.exp(-a * Pe))


def closed_vessel_E(t, tau, Pe, M=32):
    """Closed-closed axial dispersion, 1/s, by the fixed Talbot inversion of
    G(s) with ``M`` nodes (about 0.6 M correct digits, less the rounding of
    exp(r theta) = exp(0.4 M) ~ 1e5 at M = 32). For Pe <= 30 only: measured
    within 3e-11 of max E for 0.1 <= Pe <= 25; at larger Pe the transform
    grows like exp(Pe/2) on the left of the contour and the sum loses its
    digits (1e-7 at Pe = 100)."""
    if Pe > 30:
        raise ValueError("closed_vessel_E: the Talbot inversion here is for Pe <= 30")
    th = np.atleast_1d(np.asarray(t, dtype=float)) / tau
    E = np.zeros_like(th)
    k = np.arange(1, M)
    phi = k * math.pi / M
    cot = np.cos(phi) / np.sin(phi)
    for i, x in enumerate(th):
        if x <= 0:
            continue
        r = 2 * M / (5 * x)
        s = r * phi * (cot + 1j)
        sigma = phi + (phi * cot - 1) * cot
        terms = np.exp(x * s) * _closed_vessel_transform(s, Pe) * (1 + 1j * sigma)
        head = 0.5 * math.exp(r * x) * _closed_vessel_transform(np.array([r + 0j]), Pe)[0].real
        E[i] = r / M * (head + np.sum(terms.real))
    return E / tau


def write_tracer_csv(path, t_min, c, comment="pulse tracer"):
    """A tracer file as a lab would write it: a comment, a header naming the
    units (time in min, concentration in mmol/L), then ``t, c`` rows."""
    rows = "\n".join(f"{ti:.10g}, {ci:.10g}" for ti, ci in zip(t_min, c))
    path.write_text(f"# {comment}\nt [min], c [mmol/L]\n{rows}\n")
    return path


def erlang_tracer_csv(path, n=4, tau_min=3.0, t_end_min=15.0, dt_min=0.25, scale=1.0):
    """The 4-tank, tau = 3 min pulse (exact, 10 significant digits) every
    0.25 min to 15 min, in mmol/L: ``scale`` mmol/L x min of tracer in all
    (the curve of the former tests/data/tracer_tanks_min.csv)."""
    t_min = np.arange(0.0, t_end_min + dt_min / 2, dt_min)
    c = scale * erlang_E(t_min, n, tau_min)           # E in 1/min times mmol min/L
    return write_tracer_csv(path, t_min, c, f"pulse tracer: {n} tanks in series, tau = {tau_min:g} min "
                                             "(exact Erlang curve)")
