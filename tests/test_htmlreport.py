"""The HTML report and the route figures of ``flowchem run --out DIR``.

A small two-reactor route (two feeds, a mixer, a PFR then a 3-tank cascade)
whose residence times and dilutions are known in closed form: the mixer
gives 0.5 + 0.3 = 0.8 mL/min and A at 1.0 * 0.5 / 0.8 = 0.625 mol/L; the PFR
holds 2 mL (2.5 min) and the cascade 3 mL (3.75 min), 6.25 min in all.
"""

import base64
import html.parser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import flowchem as fc  # noqa: E402
from flowchem.reporting.html import render_figures, sig, write_html_report  # noqa: E402
from flowchem.reporting.route_figures import (plot_block_flow, plot_route_profile,  # noqa: E402
                                 plot_route_temperature, route_path, route_profile)

EXAMPLES = Path(__file__).parents[1] / "examples"
PNG = b"\x89PNG\r\n\x1a\n"

ROUTE = """
name: two-reactor <test> route
units: {concentration: mol/L, time: min}
mechanism:
  species:
    - {name: A, formula: C6H13N}
    - {name: B, formula: C3H4ClNO}
    - {name: C, formula: C9H17ClN2O}
    - {name: D, formula: C9H17ClN2O}
  reactions:
    - {equation: A + B => C, rate: {k: 2.0}}
    - {equation: C => D, rate: {k: 0.05}}
feeds:
  - {name: feedA, flow: 0.5 mL/min, T: 25 degC, conc: {A: 1.0 mol/L}}
  - {name: feedB, flow: 0.3 mL/min, T: 25 degC, conc: {B: 2.0 mol/L}}
operations:
  - {name: M1, type: mixer, from: [feedA, feedB]}
  - {name: R1, type: pfr, from: M1, volume: 2 mL, T: 40 degC}
  - {name: R2, type: cstr_cascade, from: R1, n: 3, volume: 3 mL, T: 40 degC}
product: {from: R2, species: C, basis: A}
"""

BRANCHED = """
name: branched
units: {concentration: mol/L, time: min}
mechanism:
  species: [{name: A, formula: C6H13N}, {name: B, formula: C3H4ClNO}, {name: C, formula: C9H17ClN2O}]
  reactions: [{equation: A + B => C, rate: {k: 2.0}}]
feeds:
  - {name: fa, flow: 0.5 mL/min, T: 25 degC, conc: {A: 1.0 mol/L}}
  - {name: fb, flow: 0.5 mL/min, T: 25 degC, conc: {B: 1.0 mol/L}}
  - {name: fc, flow: 0.2 mL/min, T: 25 degC, conc: {B: 0.5 mol/L}}
operations:
  - {name: M1, type: mixer, from: [fa, fb]}
  - {name: SP, type: splitter, from: M1, fractions: {main: 0.75, bleed: 0.25}}
  - {name: R1, type: pfr, from: SP.main, volume: 1 mL}
  - {name: M2, type: mixer, from: [SP.bleed, fc]}
  - {name: R2, type: cstr, from: M2, volume: 0.5 mL}
product: {from: R1, species: C, basis: A}
"""


def _load(tmp_path, text, name="route.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return fc.load_route(path)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return _load(tmp_path_factory.mktemp("route"), ROUTE).run()


class _Report(html.parser.HTMLParser):
    """Collects tags, src/href attributes and table rows keyed by
    ("stream" | "key" | "operation", name): the texts of the row's own cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.links, self.rows = [], [], {}
        self._row = None
        self._depth = 0
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        for key in ("src", "href"):
            if key in a:
                self.links.append(a[key])
        if tag == "tr" and self._row is None:
            for attr in ("data-stream", "data-key", "data-operation"):
                if attr in a:
                    self._row = ((attr[5:], a[attr]), [])
            if self._row is not None:
                self._depth = 0
                return
        if self._row is not None:
            if tag == "tr":
                self._depth += 1
            if tag in ("td", "th") and self._depth == 0:
                self._cell = []

    def handle_endtag(self, tag):
        if self._row is None:
            return
        if tag in ("td", "th") and self._depth == 0 and self._cell is not None:
            self._row[1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            if self._depth == 0:
                self.rows[self._row[0]] = self._row[1]
                self._row = None
            else:
                self._depth -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(path):
    p = _Report()
    p.feed(Path(path).read_text(encoding="utf-8"))
    p.close()
    return p


# --------------------------------------------------------------------------- path and profile


def test_route_path_follows_the_basis_species(result):
    assert route_path(result) == ["M1", "R1", "R2"]
    assert route_path(result.route) == ["M1", "R1", "R2"]   # from the feeds alone


def test_profile_ends_at_the_sum_of_residence_times(result):
    ax = plot_route_profile(result)
    lines = {ln.get_gid(): ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("species:")}
    assert set(lines) == {f"species:{s}" for s in "ABCD"}
    rt = sum(result.operations[n].residence_time for n in ("R1", "R2"))
    assert rt == pytest.approx(6.25 * 60, rel=1e-12)        # 2 mL + 3 mL at 0.8 mL/min
    for line in lines.values():
        x = np.asarray(line.get_xdata(), float)
        assert x[-1] == pytest.approx(rt / 60, rel=1e-9)      # axis in min
        assert np.all(np.diff(x) >= 0)                         # time never runs back
    xa, ya = (np.asarray(v, float) for v in lines["species:A"].get_data())
    # the mixer: a dilution jump at t = 0 from the feed (1.0 mol/L) to 0.625 mol/L
    assert xa[:2].tolist() == [0.0, 0.0]
    assert ya[0] == pytest.approx(1.0, rel=1e-12)
    assert ya[1] == pytest.approx(0.625, rel=1e-12)
    # the end is the cascade outlet, and the PFR/cascade boundary sits at 2.5 min
    out = result.streams["R2"].conc / 1000.0
    for k, s in enumerate("ABCD"):
        assert lines[f"species:{s}"].get_ydata()[-1] == pytest.approx(out[k], rel=1e-12)
    markers = [ln for ln in ax.get_lines() if ln.get_gid() == "tanks:A"][0]
    np.testing.assert_allclose(markers.get_xdata(), [2.5 + 1.25, 2.5 + 2.5, 6.25], rtol=1e-12)
    np.testing.assert_allclose(markers.get_ydata(), result.operations["R2"]["A"] / 1000.0,
                               rtol=1e-12)
    x_pfr_end = result.operations["R1"].residence_time / 60
    assert x_pfr_end == pytest.approx(2.5, rel=1e-12)
    i = np.flatnonzero(np.isclose(xa, 2.5, rtol=1e-12))
    assert ya[i[0]] == pytest.approx(result.streams["R1"]["A"] / 1000.0, rel=1e-12)
    plt.close(ax.figure)


def test_temperature_profile(result):
    ax = plot_route_temperature(result)
    line = [ln for ln in ax.get_lines() if ln.get_gid() == "temperature"][0]
    x, T = (np.asarray(v, float) for v in line.get_data())
    assert T[0] == pytest.approx(25.0, abs=1e-9)           # the feed
    assert T[-1] == pytest.approx(40.0, abs=1e-9)          # isothermal reactors at 40 degC
    assert x[-1] == pytest.approx(6.25, rel=1e-9)
    data = route_profile(result)
    assert [s["name"] for s in data["segments"]] == ["M1", "R1", "R2"]
    assert data["segments"][1]["t_end"] == pytest.approx(150.0, rel=1e-12)
    plt.close(ax.figure)


# --------------------------------------------------------------------------- block-flow diagram


def _boxes(ax):
    return sorted(p.get_gid()[4:] for p in ax.patches if (p.get_gid() or "").startswith("box:"))


def test_block_flow_one_box_per_feed_and_operation(result):
    for source in (result, result.route):
        ax = plot_block_flow(source)
        assert _boxes(ax) == sorted(["feedA", "feedB", "M1", "R1", "R2"])
        names = sorted(t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("name:"))
        assert names == sorted(["feedA", "feedB", "M1", "R1", "R2"])
        plt.close(ax.figure)
    ax = plot_block_flow(result)
    text = "\n".join(t.get_text() for t in ax.texts)
    assert "V 2 mL, τ 2.5 min" in text               # the PFR box
    assert "CSTR cascade × 3" in text
    plt.close(ax.figure)


def test_block_flow_branches(tmp_path):
    res = _load(tmp_path, BRANCHED).run()
    ax = plot_block_flow(res)
    assert _boxes(ax) == sorted(["fa", "fb", "fc", "M1", "SP", "R1", "M2", "R2"])
    texts = [t.get_text() for t in ax.texts]
    assert "main" in texts and "bleed" in texts                 # the splitter's two outlets
    assert any(t.startswith("R1\nproduct C") for t in texts)   # the product leaves R1
    assert texts.count("R2") == 2                   # its box, and the bleed branch leaving it
    boxes = {p.get_gid()[4:]: p for p in ax.patches if (p.get_gid() or "").startswith("box:")}
    ys = {n: b.get_y() for n, b in boxes.items()}
    assert ys["R1"] == pytest.approx(ys["SP"])                 # the main path is one row
    assert ys["R2"] != pytest.approx(ys["R1"])                 # the branch is not on it
    # the boxes do not overlap
    ext = [b.get_extents() for b in boxes.values()]
    for i in range(len(ext)):
        for j in range(i + 1, len(ext)):
            assert not ext[i].overlaps(ext[j])
    plt.close(ax.figure)
    assert route_path(res) == ["M1", "SP", "R1"]


# --------------------------------------------------------------------------- the HTML report


def test_html_report_is_one_self_contained_file(result, tmp_path):
    out = tmp_path / "out"
    path = write_html_report(result, out / "report.html")
    assert path == out / "report.html"
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]   # figures embedded, no leftovers
    text = path.read_text(encoding="utf-8")
    doc = _parse(path)
    assert doc.tags.count("html") == 1 and "script" not in doc.tags

    # three figures, each a real PNG
    assert text.count("data:image/png;base64,") == 3
    imgs = [s for s in doc.links if s.startswith("data:image/png;base64,")]
    assert len(imgs) == 3
    for src in imgs:
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG)
        assert int.from_bytes(data[16:20], "big") > 300          # IHDR width in pixels
    # nothing fetched from elsewhere: images are data URIs, links are anchors
    assert all(s.startswith("data:") or s.startswith("#") for s in doc.links)
    assert "http://" not in text and "https://" not in text

    # HTML-escaped route name
    assert "two-reactor &lt;test&gt; route" in text and "<test>" not in text

    # a stream-table row per stream: flow in mL/min to 4 significant figures
    assert {("stream", n) for n in result.streams} <= set(doc.rows)
    assert doc.rows["stream", "M1"][2] == "0.8000"                      # 0.5 + 0.3 mL/min
    assert doc.rows["stream", "feedB"][2] == "0.3000"
    for name, s in result.streams.items():
        assert float(doc.rows["stream", name][2]) == pytest.approx(s.flow * 6e7, rel=5e-4)
        assert float(doc.rows["stream", name][3]) == pytest.approx(s.T - 273.15, abs=5e-3)  # degC
    assert doc.rows["stream", "M1"][3] == "25.00"
    assert doc.rows["stream", "R1"][3] == "40.00"
    # concentrations in mol/L: the mixer holds A at 0.625 mol/L (column after mass flow)
    assert doc.rows["stream", "M1"][6] == "0.6250"

    # KPIs as printed: yield and conversion in % to 2 decimals
    p = result.product
    assert doc.rows["key", "yield"][1:] == [f"{100 * p['yield']:.2f}", "%"]
    assert doc.rows["key", "conversion"][1:] == [f"{100 * p['conversion']:.2f}", "%"]
    # the yield is the outlet C over the fed A: (c_C Q)_R2 / (1.0 mol/L * 0.5 mL/min)
    y = result.streams["R2"]["C"] * result.streams["R2"].flow / (1000.0 * 0.5e-6 / 60)
    assert float(doc.rows["key", "yield"][1]) == pytest.approx(100 * y, abs=0.006)
    assert doc.rows["key", "residence_time_s"][1:] == ["6.250", "min"]
    assert doc.rows["key", "reactor_volume_m3"][1:] == ["5.000", "mL"]



def test_operations_table(result, tmp_path):
    path = write_html_report(result, tmp_path / "r.html", figures={})
    text = path.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 0
    doc = _parse(path)
    r1, r2 = doc.rows["operation", "R1"], doc.rows["operation", "R2"]
    # name, type, from, volume mL, tau min, T out, T max, dp, heat, notes
    assert r1[1:6] == ["pfr", "M1", "2.000", "2.500", "40.00"]
    assert r2[1:6] == ["cstr_cascade", "R1", "3.000", "3.750", "40.00"]
    assert "3 tanks" in r2[-1]
    assert doc.rows["operation", "M1"][1:3] == ["mixer", "feedA, feedB"]


def test_warnings_are_listed_and_escaped(result, tmp_path):
    result.operations["R1"].warnings.append("hot <spot> & runaway")
    try:
        text = write_html_report(result, tmp_path, figures={}).read_text(encoding="utf-8")
    finally:
        result.operations["R1"].warnings.pop()
    assert (tmp_path / "report.html").is_file()
    assert "hot &lt;spot&gt; &amp; runaway" in text
    assert "class='warnings'" in text and "Warnings (1)" in text


def test_render_figures_and_reuse(result, tmp_path):
    figs = render_figures(result, tmp_path / "figs")
    assert set(figs) == {"block_flow", "route_profile", "route_temperature"}
    for name, p in figs.items():
        assert Path(p).name == f"{name}.png"
        assert Path(p).read_bytes().startswith(PNG)
    text = write_html_report(result, tmp_path / "r.html", figs).read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == len(figs)
    b64 = base64.b64encode(Path(figs["route_profile"]).read_bytes()).decode()
    assert b64 in text


def test_sig_keeps_four_significant_figures():
    assert sig(0.8) == "0.8000"
    assert sig(1234.4) == "1234" and sig(12345.0) == "1.234e+04"
    assert sig(60.318578) == "60.32"
    assert sig(1.5e-5) == "1.500e-05"
    assert sig(0) == "0" and sig(None) == "–"


def test_lomustine_example_renders(tmp_path):
    res = fc.load_route(EXAMPLES / "lomustine" / "route.yaml").run()
    path = write_html_report(res, tmp_path / "report.html")
    doc = _parse(path)
    text = path.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 3
    assert {("stream", n) for n in res.streams} <= set(doc.rows)
    p = res.product
    assert doc.rows["key", "yield"][1] == f"{100 * p['yield']:.2f}"
    ax = plot_block_flow(res)
    n_boxes = len(_boxes(ax))
    assert n_boxes == len(res.route.feeds) + len(res.route.operations)
    plt.close(ax.figure)
    # the profile covers every reactor (and quench hold) on the path to the product
    data = route_profile(res)
    assert data["path"] == ["M1", "R1", "M2", "R2", "Q1", "S1"]
    timed = sum(s["t_end"] - s["t_start"] for s in data["segments"])
    assert data["t"][-1] == pytest.approx(timed, rel=1e-12)
    # from the route file by hand: coil R1 (1 m x 0.4 mm) at 0.125 mL/min, coil
    # R2 (2.5 m x 1 mm) at 0.25 mL/min, then the 1 min quench hold
    import math

    tau_R1 = math.pi / 4 * 0.4e-3 ** 2 * 1.0 / (0.125e-6 / 60)
    tau_R2 = math.pi / 4 * 1e-3 ** 2 * 2.5 / (0.25e-6 / 60)
    ends = {s["name"]: s["t_end"] for s in data["segments"]}
    assert ends["R1"] == pytest.approx(tau_R1, rel=1e-12)
    assert ends["R2"] == pytest.approx(tau_R1 + tau_R2, rel=1e-12)
    assert data["t"][-1] == pytest.approx(tau_R1 + tau_R2 + 60.0, rel=1e-12)
