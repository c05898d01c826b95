"""The fit report: model curves against closed forms, the HTML (parsable,
self-contained, the estimates as the fit has them, the candidates' AICc by
hand), the PNG figures, and nothing left behind when writing fails.

The data are made here from closed forms of A => B (first order) in a batch
reactor, a PFR and a CSTR, with a fixed ±4 mmol/L error pattern, so the fit
takes well under a second."""

import base64
import io
import math
from html.parser import HTMLParser

import numpy as np
import pytest

import flowchem as fc
from flowchem.process.estimation import candidate_row, fit, rank_candidates
from flowchem.process.experiment_design import parse_grid, suggest_experiments
from flowchem.reporting import fit_report
from flowchem.reporting.fit_report import fitted_curves, plot_fit, write_fit_report
from flowchem.reporting.numbers import significant

R = 8.314462618
T_REF = 313.15
K_REF, EA = 0.1, 50e3            # 1/min at 40 degC, J/mol: the truth of the data

MECHANISM = """
units: {concentration: mol/L, time: min, activation-energy: kJ/mol}
species: [{name: A}, {name: B}]
reactions:
  - equation: A => B
    rate: {k_ref: 0.03, T_ref: 40 degC, Ea: 80}
"""
RIVAL = MECHANISM.replace("Ea: 80}", "Ea: 80}\n    orders: {A: 2}")


def k_per_min(T_K, k_ref=K_REF, Ea=EA):
    return k_ref * math.exp(-Ea / R * (1.0 / T_K - 1.0 / T_REF))


def make_csv():
    """Batch at 30 and 50 degC (last sample at 30 degC twice), PFR at 60 degC,
    CSTR at 40 degC: A = e^{-kt} (batch, PFR), 1/(1 + k tau) (CSTR) from
    1 mol/L, B = 1 - A, plus a fixed +-0.004 mol/L pattern."""
    lines = ["experiment,kind,T_degC,time_min,A_mol_per_L,B_mol_per_L,A_in_mol_per_L"]
    wiggle = iter([0.004, -0.004, -0.003, 0.002, 0.004, -0.001] * 20)
    for name, T_C, times in (("E1", 30, [5, 10, 20, 40, 60, 60]), ("E2", 50, [2, 5, 10, 20, 30])):
        lines.append(f"{name},batch,{T_C},0,1.0,0,")
        k = k_per_min(T_C + 273.15)
        for t in times:
            a = math.exp(-k * t)
            lines.append(f"{name},batch,{T_C},{t},{a + next(wiggle):.5f},{1 - a + next(wiggle):.5f},")
    k = k_per_min(333.15)
    for tau in (1, 3, 8):
        a = math.exp(-k * tau)
        lines.append(f"F1,pfr,60,{tau},{a + next(wiggle):.5f},{1 - a + next(wiggle):.5f},1.0")
    k = k_per_min(313.15)
    for tau in (2, 6, 15):
        a = 1.0 / (1.0 + k * tau)
        lines.append(f"C1,cstr,40,{tau},{a + next(wiggle):.5f},{1 - a + next(wiggle):.5f},1.0")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fitdata")
    (d / "mech.yaml").write_text(MECHANISM)
    (d / "rival.yaml").write_text(RIVAL)
    (d / "data.csv").write_text(make_csv())
    return d


@pytest.fixture(scope="module")
def result(files):
    return fit(fc.load_mechanism(files / "mech.yaml"), files / "data.csv", "r1.k_ref,r1.Ea",
               profile=True)


@pytest.fixture(scope="module")
def rival(files):
    return fit(fc.load_mechanism(files / "rival.yaml"), files / "data.csv", "r1.k_ref,r1.Ea")


@pytest.fixture(scope="module")
def report(result, tmp_path_factory):
    """The report of the first-order fit: (directory, written paths)."""
    out = tmp_path_factory.mktemp("report") / "out"
    return out, write_fit_report({"first-order": result}, out)


def fitted_k(result, T_K):
    """k (1/s) at T from the fitted values, by hand from the Arrhenius form."""
    k_ref = result.values[result.names.index("r1.k_ref")]
    Ea = result.values[result.names.index("r1.Ea")]
    return k_ref * math.exp(-Ea / R * (1.0 / T_K - 1.0 / T_REF))


class Page(HTMLParser):
    """Collects tags, attributes, image sources and the text of table rows."""

    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.images, self.rows = [], [], [], {}
        self._row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.attrs.extend((tag, k, v) for k, v in attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "tr" and ("data-parameter" in a or "data-candidate" in a):
            key = a.get("data-parameter") or a.get("data-candidate")
            self._row = key
            self.rows.setdefault(key, []).append({"attrs": a, "text": []})

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row is not None:
            self.rows[self._row][-1]["text"].append(data.strip())


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def png_pixels(data):
    from matplotlib.image import imread

    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return imread(io.BytesIO(data), format="png")


def test_model_curves_are_the_closed_forms(result):
    """The smooth curves re-solve the fitted mechanism: A = e^{-kt} along the
    batch and PFR curves and 1/(1 + k tau) along the CSTR curve, with k from
    the fitted values (1e-6 relative; solver rtol 1e-8)."""
    curves = fitted_curves(result)
    assert sorted((c["experiment"], c["kind"]) for c in curves) == [
        ("C1", "cstr"), ("E1", "batch"), ("E2", "batch"), ("F1", "pfr")]
    for c in curves:
        assert c["error"] is None
        k = fitted_k(result, c["T"])
        x = c["x"]
        expected = 1000.0 / (1.0 + k * x) if c["kind"] == "cstr" else 1000.0 * np.exp(-k * x)
        assert c["conc"][:, 0] == pytest.approx(expected, rel=1e-6, abs=1e-9), c["experiment"]
        assert c["conc"][:, 0] + c["conc"][:, 1] == pytest.approx(1000.0, rel=1e-9)
        # the curve spans the data: up to the last sample (CSTR: 10 % beyond)
        last = max(float(np.max(result.problem.data.runs[k].times)) for k in c["runs"])
        assert x[-1] == pytest.approx(last * (1.1 if c["kind"] == "cstr" else 1.0))
    # the three CSTR rows are three runs on one curve
    assert len(next(c for c in curves if c["kind"] == "cstr")["runs"]) == 3


def test_plot_fit_draws_data_and_curve(result):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    plot_fit(result, experiment="E2", ax=ax)
    k = fitted_k(result, 323.15)
    curve = next(line for line in ax.get_lines() if line.get_label() == "A")
    t_min, a = curve.get_data()
    assert a == pytest.approx(np.exp(-k * 60.0 * np.asarray(t_min)), rel=1e-6)   # mol/L, minutes
    run = next(r for r in result.problem.data.runs if r.experiment == "E2")
    marks = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    assert sorted(np.concatenate([m.get_ydata() for m in marks])) == pytest.approx(
        sorted(np.concatenate([run.observed[:, 0], run.observed[:, 1]]) / 1000.0))
    with pytest.raises(fc.InputError, match="no experiment 'E9'"):
        plot_fit(result, experiment="E9")
    with pytest.raises(fc.InputError, match="name the experiment"):
        plot_fit(result, ax=ax)


def test_html_report_is_self_contained_and_shows_the_estimates(result, report):
    out, paths = report
    html_path = out / "fit_report.html"
    assert paths[-1] == html_path
    names = sorted(p.name for p in paths[:-1])
    assert names == ["correlation.png", "data_fit.png", "parity.png", "profiles.png",
                     "residuals.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names + ["fit_report.html"])
    page = parse(html_path)
    assert page.tags[0] == "html" and "body" in page.tags
    # self-contained: every image inline, nothing fetched or linked from outside
    assert len(page.images) == 5
    assert not {"script", "link", "iframe", "object"} & set(page.tags)
    for tag, key, value in page.attrs:
        if key in ("src", "href"):
            assert value.startswith(("data:image/png;base64,", "#")), (tag, key, value[:40])
    embedded = sorted(base64.b64decode(src.split(",", 1)[1]) for src in page.images)
    assert embedded == sorted(p.read_bytes() for p in paths[:-1])
    # the estimates, as the fit has them
    for i, name in enumerate(result.names):
        (row,) = page.rows[name]
        assert float(row["attrs"]["data-value"]) == result.values[i]
        text = " ".join(row["text"])
        lo, hi = result.ci95[i]
        plo, phi = result.profiles[name]["interval"]
        for number in (result.values[i], result.std_errors[i], lo, hi, plo, phi):
            assert significant(number) in text, (name, number, text)
    # first order: k in 1/s; Ea in J/mol
    assert "1/s" in " ".join(page.rows["r1.k_ref"][0]["text"])
    assert "J/mol" in " ".join(page.rows["r1.Ea"][0]["text"])
    # the data were made from the truth with errors of at most 4 mmol/L on 1 mol/L
    assert result.values[result.names.index("r1.k_ref")] == pytest.approx(K_REF / 60.0, rel=0.02)
    assert result.values[result.names.index("r1.Ea")] == pytest.approx(EA, rel=0.02)


def test_figures_are_real_pictures(report):
    for path in report[1][:-1]:
        name = path.name
        img = png_pixels(path.read_bytes())
        h, w = img.shape[:2]
        assert w >= 400 and h >= 300, name
        rgb = img[..., :3].reshape(-1, 3)
        # drawn, not blank: many colours, and a good share of non-white pixels
        packed = np.round(rgb * 255).astype(np.int64) @ np.array([65536, 256, 1])
        assert len(np.unique(packed)) > 50, name
        assert np.mean(np.any(rgb < 0.9, axis=1)) > 0.02, name


def skip_drawing(monkeypatch):
    """Empty figures (saving them is cheap): for tests of the tables and files."""
    for name in ("_draw_curve", "_draw_parity", "_draw_residuals", "_draw_correlation",
                 "_draw_profiles"):
        monkeypatch.setattr(fit_report, name, lambda *args, **kwargs: None)


def test_candidates_and_suggestions(result, rival, tmp_path, monkeypatch):
    skip_drawing(monkeypatch)
    fits = {"first order": result, "second order": rival}
    ranking = rank_candidates([candidate_row(lab, f) for lab, f in fits.items()])
    grid = parse_grid("T=30..60 degC:3, time=5..30 min:3", ["A", "B"])
    suggestions = suggest_experiments(result, grid, top=2)
    paths = write_fit_report(fits, tmp_path, ranking=ranking, suggestions=suggestions)
    assert {p.name for p in paths} >= {"first_order_data_fit.png", "second_order_data_fit.png",
                                       "first_order_profiles.png", "fit_report.html"}
    assert "second_order_profiles.png" not in {p.name for p in paths}
    page = parse(tmp_path / "fit_report.html")
    # equal numbers of parameters and values: ΔAICc = n ln(S_worse / S_best) by hand
    n = result.n_observations
    best, worse = sorted(fits.values(), key=lambda f: f.cost)
    delta = n * math.log(worse.cost / best.cost)
    worse_label = next(lab for lab, f in fits.items() if f is worse)
    text = " ".join(page.rows[worse_label][0]["text"])
    assert significant(delta, 3) in text
    weight = math.exp(-delta / 2) / (1 + math.exp(-delta / 2))
    assert significant(weight, 3) in text
    html_text = (tmp_path / "fit_report.html").read_text(encoding="utf-8")
    for s in suggestions:
        assert f">{significant(s['time_s'] / 60.0)}<" in html_text
        assert f">{significant(s['gain'], 3)}<" in html_text
    # sections in ranking order, best first
    first, second = (f"id='fit-{r['label'].replace(' ', '_')}'" for r in ranking)
    assert html_text.index(first) < html_text.index(second)


def test_failure_leaves_nothing_behind(result, tmp_path, monkeypatch):
    def broken(fig, res, flat):
        raise RuntimeError("drawing failed")

    # the second figure fails: the first is saved by then, and must not leak
    skip_drawing(monkeypatch)
    monkeypatch.setattr(fit_report, "_draw_parity", broken)
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="drawing failed"):
        write_fit_report({"a": result}, fresh)
    assert not fresh.exists()
    # an earlier report in the directory stays as it was, with no stray files
    old = tmp_path / "old"
    old.mkdir()
    (old / "fit_report.html").write_text("earlier report")
    with pytest.raises(RuntimeError):
        write_fit_report({"a": result}, old)
    assert [p.name for p in old.iterdir()] == ["fit_report.html"]
    assert (old / "fit_report.html").read_text() == "earlier report"


def test_cli_out_directory_writes_the_report(files, tmp_path, capsys):
    from flowchem.cli import main

    out = tmp_path / "report"
    status = main(["fit", str(files / "mech.yaml"), str(files / "data.csv"),
                   "--fit", "r1.k_ref,r1.Ea", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    assert (out / "fitted.yaml").is_file() and (out / "report.json").is_file()
    import json

    report = json.loads((out / "report.json").read_text())
    page = parse(out / "fit_report.html")
    for name, entry in report["parameters"].items():
        assert float(page.rows[name][0]["attrs"]["data-value"]) == entry["value"]
        assert significant(entry["value"]) in " ".join(page.rows[name][0]["text"])


def test_example_data_are_what_make_data_states(tmp_path):
    """examples/fitting: data.csv is what make_data.py writes (seeded), and the
    rate constants written out in make_data.py are those of truth.yaml, so
    the README's "simulated from truth.yaml" holds."""
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    folder = Path(__file__).parents[1] / "examples" / "fitting"
    # run_path: no bytecode cache left in the examples folder
    make_data = SimpleNamespace(**runpy.run_path(str(folder / "make_data.py"), run_name="make_data"))
    make_data.main(tmp_path / "data.csv")
    assert (tmp_path / "data.csv").read_text() == (folder / "data.csv").read_text()
    truth = fc.load_mechanism(folder / "truth.yaml")
    per_min = 1e-3 / 60.0     # L/(mol min) -> m^3/(mol s)
    for reaction, (k_ref, Ea) in zip(truth.reactions, ((make_data.K1_REF, make_data.EA1),
                                                      (make_data.K2_REF, make_data.EA2))):
        for T in (303.15, 318.15, 353.15):     # the data's range: 30 to 80 degC
            k_script = make_data.rate_constant(k_ref, Ea, T) * per_min
            assert reaction.rate.k(T) == pytest.approx(k_script, rel=1e-12)
