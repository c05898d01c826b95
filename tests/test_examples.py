"""The example scripts run from a fresh checkout and print what they claim."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


def run(script, cwd):
    # the checkout's flowchem, as in this process: with a non-editable install
    # the script would import the installed copy, whose Numba cache lies
    # elsewhere, and compile every kernel again (3.5 of a cold suite's minutes)
    path = os.pathsep.join(p for p in (str(EXAMPLES.parent), os.environ.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=dict(os.environ, PYTHONPATH=path))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _second_order_tank(cA, cB, k_tau):
    """Outlet A of one tank with A + B => C: cA0 - cA = k tau cA (cA + cB0 - cA0)."""
    a, b, c = k_tau, 1 + k_tau * (cB - cA), -cA
    new = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return new, cB - (cA - new)


def test_quickstart_reactor_comparison(tmp_path):
    """A + B => C, k = 5e7 L/(mol min) exp(-45 kJ/mol / RT) at 50 degC, 0.5 and
    0.55 mol/L, 2 min: the printed conversions (to 0.01 %) against the
    second-order closed forms of the PFR, one tank and five tanks."""
    out = run("quickstart/pfr_and_cstr.py", tmp_path)
    conv = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+)\s+conversion of A:\s+([\d.]+) %", out, re.M)}
    k = 5.0e7 * 1e-3 / 60 * math.exp(-45e3 / (8.314462618 * 323.15))     # m^3/(mol s)
    cA0, cB0, tau = 500.0, 550.0, 120.0
    d = cB0 - cA0
    pfr = d / (cB0 / cA0 * math.exp(d * k * tau) - 1.0)
    tank = _second_order_tank(cA0, cB0, k * tau)[0]
    cA, cB = cA0, cB0
    for _ in range(5):
        cA, cB = _second_order_tank(cA, cB, k * tau / 5)
    expected = {"coil": 1 - pfr / cA0, "tank": 1 - tank / cA0, "cascade": 1 - cA / cA0}
    assert set(conv) == set(expected)
    for name, X in expected.items():
        assert conv[name] == pytest.approx(100 * X, abs=0.006), name
    # at equal volume a PFR beats 5 tanks, which beat one tank (positive-order kinetics)
    assert conv["coil"] > conv["cascade"] > conv["tank"]
    assert (tmp_path / "out" / "reactors.png").stat().st_size > 10_000


def test_quickstart_batch_peak(tmp_path):
    out = run("quickstart/batch_time_course.py", tmp_path)
    t_peak = float(re.search(r"B peaks near t = ([\d.]+) min", out).group(1))
    # A -> B -> C: t* = ln(k2/k1)/(k2 - k1) with k1 = 0.30, k2 = 0.05 1/min
    assert t_peak == pytest.approx(math.log(0.05 / 0.30) / (0.05 - 0.30), abs=0.08)
    # the peak height (1 mol/L A): (k1/k2)^(k2/(k2 - k1)) = 0.6988 mol/L, to the
    # printed 4 decimals (the grid point sits within 0.08 min of the peak,
    # where B is flat to 1e-4)
    b_peak = float(re.search(r"B peaks near t = [\d.]+ min at ([\d.]+) mol/L", out).group(1))
    assert b_peak == pytest.approx((0.30 / 0.05) ** (0.05 / (0.05 - 0.30)), abs=1.5e-4)
    # dense output at 7.5 min, printed to 5 decimals: A = e^{-k1 t},
    # B = k1/(k2 - k1) (e^{-k1 t} - e^{-k2 t}), C = 1 - A - B
    import ast

    at = ast.literal_eval(re.search(r"at 7.5 min: (\{.*\})", out).group(1))
    k1, k2, t = 0.30, 0.05, 7.5
    A = math.exp(-k1 * t)
    B = k1 / (k2 - k1) * (math.exp(-k1 * t) - math.exp(-k2 * t))
    assert at == {"A": pytest.approx(A, abs=6e-6), "B": pytest.approx(B, abs=6e-6),
                  "C": pytest.approx(1 - A - B, abs=6e-6)}


def test_tube_startup_schemes_against_plug_flow(tmp_path):
    """The dynamic coil (A => B, k tau = 3): the default collocation
    elements reach plug flow (steady state to 1e-6, a front within 0.2 min
    of the step at 10 min, the traces away from the fronts to 1e-5); the
    upwind cells' long-time limit is 1,000 tanks in series, whose B differs
    from plug flow's by 2000 |exp(-3) - 1.003^-1000| mol/m^3 (closed forms),
    over the stream's largest concentration, B = 2000 (1 - exp(-3))."""
    out = run("quickstart/tube_startup.py", tmp_path)
    rows = {}
    for m in re.finditer(r"^(\w+)\s+start-up front from 10 % to 90 %: ([\d.]+) to ([\d.]+) min", out, re.M):
        rows.setdefault(m.group(1), {})["front"] = (float(m.group(2)), float(m.group(3)))
    for m in re.finditer(r"^(\w+)\s+largest error away from the fronts: ([\d.e+-]+)", out, re.M):
        rows[m.group(1)]["far"] = float(m.group(2))
    for m in re.finditer(r"^(\w+)\s+long-time limit against flowchem run: ([\d.e+-]+)", out, re.M):
        rows[m.group(1)]["steady"] = float(m.group(2))
    col, up = rows["collocation"], rows["upwind"]
    assert col["steady"] < 1e-6 and col["far"] < 1e-5
    assert 9.9 <= col["front"][0] and col["front"][1] <= 10.2
    tanks = 2000.0 * abs(math.exp(-3.0) - 1.003 ** -1000) / (2000.0 * (1 - math.exp(-3.0)))
    assert up["steady"] == pytest.approx(tanks, rel=0.05)
    assert (tmp_path / "out" / "tube_startup.png").stat().st_size > 10_000
