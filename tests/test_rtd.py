"""Residence time distributions against independent references.

References: closed forms (gamma/Erlang, laminar F = 1 - tau^2/(4 t^2)), the
Levenspiel closed- and open-vessel variance formulas (Chemical Reaction
Engineering, 3rd ed., ch. 13), adaptive quadrature (scipy.integrate.quad) of
E(t), and synthetic tracer curves with known parameters. Tolerances are stated
per assertion; "rel" is relative, "abs" absolute.
"""

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from flowchem import InputError
from flowchem import rtd
from rtd_reference import closed_vessel_E, erlang_E, erlang_tracer_csv, open_vessel_E

DATA = Path(__file__).parent / "data"


def quad(f, a, b, points=None):
    val, err = integrate.quad(f, a, b, limit=500, epsabs=1e-11, epsrel=1e-10, points=points)
    return val


def integral_E(r, t_end=None):
    """Integral of E over [0, t_end] (to infinity when None) by adaptive quadrature."""
    m = r.mean
    pts = sorted({0.5 * m, m, 1.5 * m})
    if t_end is not None:
        return quad(r.E, 0.0, t_end, points=[p for p in pts if p < t_end])
    return quad(r.E, 0.0, 3 * m, points=pts) + quad(r.E, 3 * m, np.inf)


ALL_CONTINUOUS = [
    rtd.CSTR_RTD(2.0),
    rtd.TanksInSeriesRTD(3, 2.0),
    rtd.TanksInSeriesRTD(2.5, 2.0),
    rtd.TanksInSeriesRTD(40, "2 min"),
    rtd.LaminarRTD(2.0),
    rtd.DispersionRTD(2.0, 0.1),
    rtd.DispersionRTD(2.0, 1.0),
    rtd.DispersionRTD(2.0, 10.0),
    rtd.DispersionRTD(2.0, 11.0),
    rtd.DispersionRTD(2.0, 300.0),
    rtd.DispersionRTD(2.0, 3000.0),
    rtd.DispersionRTD(2.0, 0.5, boundary="open"),
    rtd.DispersionRTD(2.0, 5.0, boundary="open"),
    rtd.DispersionRTD(2.0, 500.0, boundary="open"),
]


# ---------------------------------------------------------------- normalisation and F

@pytest.mark.parametrize("r", ALL_CONTINUOUS, ids=repr)
def test_normalisation(r):
    assert integral_E(r) == pytest.approx(1.0, abs=1e-6)


def test_normalisation_plug_flow_and_table():
    pfr = rtd.PlugFlowRTD("30 s")
    assert pfr.atoms == ((30.0, 1.0),)
    # the Dirac mass carries everything; E is zero elsewhere
    assert sum(w for _, w in pfr.atoms) + quad(pfr.E, 0, 100) == pytest.approx(1.0, abs=1e-15)
    assert pfr.F(29.999) == 0.0 and pfr.F(30.0) == 1.0
    t = np.linspace(0, 10, 51)
    tab = rtd.ArbitraryRTD(t, 7.0 * t * np.exp(-t))       # un-normalised input
    assert np.trapezoid(tab.E(t), t) == pytest.approx(1.0, abs=1e-12)
    assert tab.F(10.0) == pytest.approx(1.0, abs=1e-12)
    assert quad(tab.E, 0, 10, points=list(t[1:-1])) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("r", ALL_CONTINUOUS, ids=repr)
def test_F_is_integral_of_E(r):
    for x in (0.6, 1.0, 1.7) if not isinstance(r, rtd.DispersionRTD) else (0.5, 0.97, 1.02, 1.6):
        tt = x * r.mean
        assert r.F(tt) == pytest.approx(integral_E(r, tt), abs=1e-8)


def test_units_at_the_boundary():
    assert rtd.CSTR_RTD("2 min").tau == 120.0
    assert rtd.DispersionRTD(tau="1.5 h", Pe=20).mean == pytest.approx(5400.0, rel=1e-15)
    assert rtd.TanksInSeriesRTD(3, 60).E("1 min") == pytest.approx(rtd.TanksInSeriesRTD(3, 60).E(60.0))
    with pytest.raises(InputError, match="tau: expected a time"):
        rtd.CSTR_RTD("2 m")
    with pytest.raises(InputError, match="Pe: must be positive"):
        rtd.DispersionRTD(10, -1)
    with pytest.raises(InputError, match="boundary"):
        rtd.DispersionRTD(10, 5, boundary="semi")


# ---------------------------------------------------------------- E against independent forms

@pytest.mark.parametrize("n", [1, 2, 2.5, 5, 50])
def test_tanks_in_series_E_is_the_gamma_density(n):
    t = np.linspace(0.0, 300.0, 301)
    ref = erlang_E(t, n, 60.0)
    np.testing.assert_allclose(rtd.TanksInSeriesRTD(n, 60.0).E(t), ref, rtol=1e-12, atol=1e-15 * ref.max())


@pytest.mark.parametrize("Pe", [0.5, 5.0, 40.0, 500.0])
def test_open_vessel_E_closed_form(Pe):
    t = np.linspace(0.0, 300.0, 301)
    ref = open_vessel_E(t, 60.0, Pe)
    got = rtd.DispersionRTD(60.0, Pe, boundary="open").E(t)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15 * ref.max())


@pytest.mark.parametrize("Pe", [0.1, 1.0, 10.0, 11.0, 25.0])
def test_closed_vessel_E_against_talbot_inversion(Pe):
    """The closed-vessel E (flowchem: Fourier inversion and image series)
    against a fixed-Talbot inversion of the Wehner-Wilhelm transfer function
    written in tests/rtd_reference.py: 1e-9 of the peak (measured <= 3e-11)."""
    t = np.concatenate([np.linspace(0.0, 6.0, 121), np.linspace(6.0, 240.0, 235)[1:]])
    ref = closed_vessel_E(t, 60.0, Pe)
    got = rtd.DispersionRTD(60.0, Pe).E(t)
    assert np.max(np.abs(got - ref)) < 1e-9 * ref.max()


# ---------------------------------------------------------------- moments

@pytest.mark.parametrize("n", [1, 2, 5, 2.5, 50])
def test_tanks_in_series_moments(n):
    tau = 7.0
    r = rtd.TanksInSeriesRTD(n, tau)
    assert r.mean == tau and r.variance == pytest.approx(tau ** 2 / n, rel=1e-15)
    # independent check by quadrature of E (1e-8)
    m1 = quad(lambda t: t * r.E(t), 0, np.inf)
    m2 = quad(lambda t: (t - tau) ** 2 * r.E(t), 0, np.inf)
    m3 = quad(lambda t: (t - tau) ** 3 * r.E(t), 0, np.inf)
    assert m1 == pytest.approx(tau, rel=1e-8)
    assert m2 == pytest.approx(tau ** 2 / n, rel=1e-8)
    assert m3 / m2 ** 1.5 == pytest.approx(r.skewness, rel=1e-6)


def moments_by_quadrature(r):
    m = r.mean
    pts = [0.5 * m, 0.9 * m, m, 1.1 * m, 1.5 * m]
    m1 = quad(lambda t: t * r.E(t), 0, 4 * m, pts) + quad(lambda t: t * r.E(t), 4 * m, np.inf)
    c = [quad(lambda t: (t - m1) ** k * r.E(t), 0, 4 * m, pts)
         + quad(lambda t: (t - m1) ** k * r.E(t), 4 * m, np.inf) for k in (2, 3)]
    return m1, c[0], c[1] / c[0] ** 1.5


@pytest.mark.parametrize("Pe", [0.05, 0.5, 2.0, 10.0, 11.0, 100.0, 1000.0])
def test_closed_vessel_variance_levenspiel(Pe):
    tau = 3.0
    r = rtd.DispersionRTD(tau, Pe)
    levenspiel = 2 / Pe - 2 / Pe ** 2 * (1 - math.exp(-Pe))
    assert r.variance / tau ** 2 == pytest.approx(levenspiel, rel=1e-12)
    m1, var, skew = moments_by_quadrature(r)        # from E itself: independent of the formula
    assert m1 == pytest.approx(tau, rel=1e-6)
    assert var / tau ** 2 == pytest.approx(levenspiel, rel=1e-4)
    assert r.skewness == pytest.approx(skew, rel=1e-4)   # Cauchy integral of log G vs quadrature


@pytest.mark.parametrize("Pe", [0.5, 5.0, 80.0])
def test_open_vessel_moments(Pe):
    tau = 3.0
    r = rtd.DispersionRTD(tau, Pe, boundary="open")
    m1, var, skew = moments_by_quadrature(r)
    assert m1 == pytest.approx(tau * (1 + 2 / Pe), rel=1e-8)
    assert var == pytest.approx(tau ** 2 * (2 / Pe + 8 / Pe ** 2), rel=1e-6)
    assert r.skewness == pytest.approx(skew, rel=1e-5)


def test_dispersion_limits():
    # large Pe -> plug flow: variance -> 2/Pe (the closed-vessel formula differs by 1/Pe = 1e-4)
    Pe = 1e4
    r = rtd.DispersionRTD(1.0, Pe)
    t = np.linspace(0.8, 1.2, 20001)
    E = r.E(t)
    assert np.trapezoid(E, t) == pytest.approx(1.0, abs=1e-9)
    var = np.trapezoid((t - 1) ** 2 * E, t)
    assert var == pytest.approx(2 / Pe, rel=1.1e-4)
    assert var == pytest.approx(2 / Pe - 2 / Pe ** 2, rel=1e-6)
    assert r.F(0.9) < 1e-9 and r.F(1.1) > 1 - 1e-9          # a step at tau (7 sigma either side)
    # small Pe -> one CSTR: E(theta) -> exp(-theta), deviation O(Pe)
    th = np.linspace(0.05, 6, 300)
    for Pe, tol in ((1e-2, 4e-3), (1e-3, 4e-4)):
        assert np.max(np.abs(rtd.DispersionRTD(1.0, Pe).E(th) - np.exp(-th))) < tol


def test_dispersion_series_and_fourier_agree():
    # the two evaluation routes of the closed-vessel E overlap for theta >= 2
    th = np.linspace(2.0, 2.9, 31)
    for Pe in (11.0, 31.0, 100.0, 1e3, 1e4):
        s = rtd._closed_series(th, Pe)
        f = rtd._fourier_inverse(th, Pe, "closed")
        assert np.max(np.abs(s - f)) < 1e-9


def test_laminar():
    tau = 4.0
    r = rtd.LaminarRTD(tau)
    t = np.linspace(tau / 2, 20 * tau, 500)
    assert np.max(np.abs(r.F(t) - (1 - tau ** 2 / (4 * t ** 2)))) < 1e-10
    for x in (0.7, 1.3, 5.0):   # F against quadrature of E = tau^2/(2 t^3)
        assert r.F(x * tau) == pytest.approx(quad(r.E, tau / 2, x * tau), abs=1e-10)
    assert r.E(0.49 * tau) == 0.0 and r.F(0.49 * tau) == 0.0
    assert r.mean == tau and r.variance == math.inf
    assert quad(lambda s: s * r.E(s), tau / 2, np.inf) == pytest.approx(tau, rel=1e-8)


# ---------------------------------------------------------------- series

def test_two_cstrs_convolve_to_erlang():
    tau = 1.5
    s = rtd.series(rtd.CSTR_RTD(tau), rtd.CSTR_RTD(tau), analytic=False)
    assert isinstance(s, rtd.ArbitraryRTD)
    t = np.linspace(0, 15 * tau, 2001)
    # two tanks of tau each: E = t e^{-t/tau}/tau^2, F = 1 - e^{-t/tau}(1 + t/tau)
    E_ref = t * np.exp(-t / tau) / tau ** 2
    F_ref = 1 - np.exp(-t / tau) * (1 + t / tau)
    np.testing.assert_allclose(erlang_E(t, 2, 2 * tau), E_ref, rtol=1e-13, atol=1e-16)
    assert np.max(np.abs(s.E(t) - E_ref)) * tau < 1e-4
    assert np.max(np.abs(s.F(t) - F_ref)) < 1e-4
    assert s.mean == pytest.approx(2 * tau, rel=1e-4)
    assert s.variance == pytest.approx(2 * tau ** 2, rel=1e-4)


def test_series_means_and_variances_add():
    parts = [rtd.CSTR_RTD(1.0), rtd.DispersionRTD(2.0, 100), rtd.TanksInSeriesRTD(3, 1.0),
             rtd.PlugFlowRTD(0.7)]
    s = rtd.series(*parts)
    assert isinstance(s, rtd.ArbitraryRTD)
    assert s.mean == pytest.approx(sum(p.mean for p in parts), rel=1e-5)
    assert s.variance == pytest.approx(sum(p.variance for p in parts), rel=1e-5)
    assert s.check["mean_rel_err"] < 1e-5 and s.check["variance_rel_err"] < 1e-5
    assert s.F(0.7) == 0.0                      # nothing leaves before the plug-flow delay
    # laminar: infinite variance, the mean still adds (truncated tail: ~tau^2/(2 t_end))
    lam = rtd.series(rtd.LaminarRTD(1.0), rtd.CSTR_RTD(0.5))
    assert lam.mean == pytest.approx(1.5, rel=1e-3)
    assert "variance_rel_err" not in lam.check


def test_series_closed_forms():
    a = rtd.series(rtd.CSTR_RTD(1.0), rtd.TanksInSeriesRTD(3, 3.0), rtd.PlugFlowRTD(2.0))
    assert isinstance(a, rtd.ShiftedRTD) and isinstance(a.inner, rtd.TanksInSeriesRTD)
    assert (a.inner.n, a.inner.tau, a.delay) == (4.0, 4.0, 2.0)
    assert a.mean == 6.0 and a.variance == pytest.approx(4.0, rel=1e-15)
    assert a.E(3.0) == pytest.approx(erlang_E(1.0, 4, 4.0), rel=1e-13)   # delayed by the plug
    assert a.E(1.9) == 0.0
    p = rtd.series(rtd.PlugFlowRTD(1.0), rtd.PlugFlowRTD("1 min"))
    assert isinstance(p, rtd.PlugFlowRTD) and p.tau == 61.0
    with pytest.raises(InputError, match="expected an RTD"):
        rtd.series(rtd.CSTR_RTD(1.0), 5)


# ---------------------------------------------------------------- tabulated moments

def test_tracer_moments_tail():
    tau = 10.0
    t = np.linspace(0, 40, 801)                      # cut at 4 tau: 1.8 % of the tracer still inside
    c = np.exp(-t / tau)
    full = tracer = rtd.tracer_moments(t, c, tail="exponential")
    cut = rtd.tracer_moments(t, c, tail=None)
    assert full.mean == pytest.approx(tau, rel=1e-5)       # trapezoid error only
    assert full.variance == pytest.approx(tau ** 2, rel=1e-4)
    assert full.skewness == pytest.approx(2.0, rel=1e-3)
    assert tracer.tail_fraction == pytest.approx(math.exp(-4), rel=1e-3)
    assert cut.mean < 0.93 * tau                           # the bias the tail removes


# ---------------------------------------------------------------- fitting

def noisy_curve(E, t, rel_noise, seed):
    """50 x the exact E(t) (written in rtd_reference, not flowchem's) plus
    seeded Gaussian noise of ``rel_noise`` of the peak."""
    rng = np.random.default_rng(seed)
    c = 50.0 * E
    return c + rng.normal(0.0, rel_noise * c.max(), t.size)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fit_tanks_in_series(seed):
    true_n, true_tau = 5, 60.0
    t = np.linspace(0, 240, 241)
    c = noisy_curve(erlang_E(t, true_n, true_tau), t, 0.01, seed)
    ls = rtd.fit_tanks_in_series(t, c)
    # 1 % noise: measured |error| <= 0.53 % in n and 0.04 % in tau (seeds 1-3)
    assert ls.params["n"] == pytest.approx(true_n, rel=0.01)
    assert ls.params["tau"] == pytest.approx(true_tau, rel=0.002)
    assert abs(ls.params["n"] - true_n) < 4 * ls.stderr["n"]
    mo = rtd.fit_tanks_in_series(t, c, method="moments")
    assert mo.params["n"] == pytest.approx(true_n, rel=0.10)     # moments: noise in the tail (measured 5.4 %)
    assert mo.params["tau"] == pytest.approx(true_tau, rel=0.02)
    assert mo.stderr["n"] is None
    assert ls.residual < 0.02 * np.max(ls.rtd.E(t))


@pytest.mark.parametrize("seed", [1, 2])
def test_fit_dispersion(seed):
    true_Pe, true_tau = 25.0, 60.0
    t = np.linspace(0, 240, 241)
    c = noisy_curve(closed_vessel_E(t, true_tau, true_Pe), t, 0.01, seed)
    ls = rtd.fit_dispersion(t, c)
    # 1 % noise: measured |error| <= 0.27 % in Pe and 0.07 % in tau (seeds 1-2)
    assert ls.params["Pe"] == pytest.approx(true_Pe, rel=0.01)
    assert ls.params["tau"] == pytest.approx(true_tau, rel=0.002)
    assert abs(ls.params["Pe"] - true_Pe) < 4 * ls.stderr["Pe"]
    mo = rtd.fit_dispersion(t, c, method="moments")
    assert mo.params["Pe"] == pytest.approx(true_Pe, rel=0.10)   # noise in the tail (measured 6 %)


def test_fit_open_vessel_exact_data():
    t = np.linspace(0, 200, 801)
    c = open_vessel_E(t, 60.0, 40.0)
    f = rtd.fit_dispersion(t, c, boundary="open")
    assert f.params["Pe"] == pytest.approx(40.0, rel=1e-5)
    assert f.params["tau"] == pytest.approx(60.0, rel=1e-6)
    mo = rtd.fit_dispersion(t, c, boundary="open", method="moments", cutoff=0)
    assert mo.params["Pe"] == pytest.approx(40.0, rel=1e-3)


def test_fit_refuses_bad_curves():
    with pytest.raises(InputError, match="no positive"):
        rtd.fit_tanks_in_series([0, 1, 2], [0, 0, 0])
    with pytest.raises(InputError, match="increase"):
        rtd.fit_tanks_in_series([0, 2, 1], [0, 1, 0])
    t = np.linspace(0, 100, 201)
    with pytest.raises(InputError, match="outside"):   # variance/mean^2 = 1.5: broader than one CSTR
        rtd.fit_dispersion(t, np.exp(-t) + 0.01, method="moments", tail=None, cutoff=0)


# ---------------------------------------------------------------- CSV

def test_read_tracer_csv_minutes_and_fit(tmp_path):
    """An exact 4-tank Erlang pulse, tau = 3 min, written by the test in
    minutes and mmol/L: read back in SI, the fit recovers n and tau."""
    path = erlang_tracer_csv(tmp_path / "tracer_tanks_min.csv", n=4, tau_min=3.0)
    data = rtd.read_tracer_csv(path)
    assert data.time_unit == "min" and data.c_label == "c [mmol/L]"
    assert data.t[1] == 15.0                          # 0.25 min in s
    assert data.t[-1] == 900.0 and data.t.size == 61
    t, c = data
    np.testing.assert_allclose(c, erlang_E(t / 60.0, 4, 3.0), rtol=1e-9, atol=1e-15)
    f = rtd.fit_tanks_in_series(t, c)
    assert f.params["n"] == pytest.approx(4.0, rel=1e-6)
    assert f.params["tau"] == pytest.approx(180.0, rel=1e-6)


@pytest.mark.parametrize("header, factor", [("time_s,conc", 1.0), ("t [min], c", 60.0),
                                            ("t (h)\tc", 3600.0), ("t / ms; c", 1e-3), ("time,c", 1.0)])
def test_read_tracer_csv_headers(tmp_path, header, factor):
    sep = "\t" if "\t" in header else (";" if ";" in header else ",")
    p = tmp_path / "tracer.csv"
    p.write_text(header + "\n" + "\n".join(f"{i}{sep}{v}" for i, v in enumerate([0, 1, 3, 2, 0.5])) + "\n")
    t, c = rtd.read_tracer_csv(p)
    assert np.allclose(t, np.arange(5) * factor, rtol=1e-15)
    assert list(c) == [0, 1, 3, 2, 0.5]


@pytest.mark.parametrize("name, message", [
    ("tracer_bad_value.csv", r"tracer_bad_value\.csv: line 4: column 2 \(concentration\): expected a number, got 'abc'"),
    ("tracer_not_increasing.csv", r"tracer_not_increasing\.csv: line 5: column 1 \(time\): times must increase"),
    ("tracer_missing.csv", r"tracer_missing\.csv: file not found"),
])
def test_read_tracer_csv_errors(name, message):
    with pytest.raises(InputError, match=message):
        rtd.read_tracer_csv(DATA / name)


@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("0,1\n1,2\n2,3\n", r"line 1: expected a header"),
    ("t,c,d\n0,1,2\n", r"line 1: expected a header naming 2 columns"),
    ("t [parsecs],c\n0,1\n", r"line 1: expected a time, got '1 parsecs'"),
    ("t [m],c\n0,1\n", r"line 1: expected a time"),
    ("t,c\n0,1\n1\n", r"line 3: expected 2 fields"),
    ("t,c\n0,1\n1,nan\n", r"line 3: column 2 \(concentration\): expected a finite number"),
    ("t,c\n-1,1\n1,2\n", r"line 2: column 1 \(time\): must not be negative"),
    ("t,c\n0,1\n1,2\n", "at least 3 data rows"),
    ("t,c\n0,0\n1,0\n2,0\n", "no positive concentration"),
])
def test_read_tracer_csv_refuses(tmp_path, text, message):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=message) as e:
        rtd.read_tracer_csv(p)
    assert e.value.source.endswith("bad.csv")


# ---------------------------------------------------------------- plots

def test_plot_rtd_writes_png(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    models = [rtd.PlugFlowRTD(60), rtd.CSTR_RTD(60), rtd.DispersionRTD(60, 20), rtd.LaminarRTD(60)]
    axes = rtd.plot_rtd(models, time_unit="min")
    assert len(axes) == 2
    assert len(axes[0].lines) >= 4 and len(axes[1].lines) == 4
    fig = axes[0].figure
    fig.savefig(tmp_path / "rtd.png")
    assert (tmp_path / "rtd.png").stat().st_size > 1000
    t = np.linspace(0, 240, 121)
    f = rtd.fit_tanks_in_series(t, erlang_E(t, 3, 60.0))
    axes = f.plot()
    assert axes[0].get_ylabel() == "E(t) [1/s]"
    import matplotlib.pyplot as plt
    plt.close("all")
