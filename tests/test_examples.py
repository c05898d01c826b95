"""The example scripts run from a fresh checkout and print what they claim."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


def run(script, cwd):
    proc = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_quickstart_reactor_comparison(tmp_path):
    out = run("quickstart/pfr_and_cstr.py", tmp_path)
    conv = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+)\s+conversion of A:\s+([\d.]+) %", out, re.M)}
    # at equal volume a PFR beats 5 tanks, which beat one tank (positive-order kinetics)
    assert conv["coil"] > conv["cascade"] > conv["tank"] > 0
    assert (tmp_path / "out" / "reactors.png").stat().st_size > 10_000


def test_quickstart_batch_peak(tmp_path):
    out = run("quickstart/batch_time_course.py", tmp_path)
    t_peak = float(re.search(r"B peaks near t = ([\d.]+) min", out).group(1))
    # A -> B -> C: t* = ln(k2/k1)/(k2 - k1) with k1 = 0.30, k2 = 0.05 1/min
    import math
    assert t_peak == pytest.approx(math.log(0.05 / 0.30) / (0.05 - 0.30), abs=0.08)
