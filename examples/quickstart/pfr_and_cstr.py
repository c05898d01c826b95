"""One reaction, one feed, three reactors: plug flow, a stirred tank and a
cascade of five tanks, compared at the same residence time.

Run:  python examples/quickstart/pfr_and_cstr.py   (writes out/reactors.png)
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import flowchem as fc

# A mechanism can be written in Python as well as in YAML. Units are strings
# wherever a person types a number; flowchem keeps SI floats inside.
mech = fc.Mechanism(
    species=[fc.Species("A", formula="C6H13N"), fc.Species("B", formula="C3H4ClNO"),
             fc.Species("C", formula="C9H17ClN2O")],
    reactions=[fc.Reaction.from_equation("A + B => C", rate={"A": "5.0e7 L/mol/min", "Ea": "45 kJ/mol"})],
)

# The feed: 1 mL/min of 0.5 M A and 0.55 M B at 50 degC.
feed = fc.Stream(mech, flow="1 mL/min", T="50 degC", conc={"A": "0.5 mol/L", "B": "0.55 mol/L"})

# Same volume (2 mL, so 2 min residence time) in three reactor models.
pfr = fc.PFR(volume="2 mL", name="coil").run(feed)
cstr = fc.CSTR(volume="2 mL", name="tank").run(feed)
cascade = fc.CSTRCascade(n=5, volume="2 mL", name="cascade").run(feed)

for res in (pfr, cstr, cascade):
    print(f"{res.name:8s} conversion of A: {100 * res.conversion('A'):6.2f} %   "
          f"C out: {res.outlet['C'] / 1000:.4f} mol/L   ({res.stats})")

# Every result plots itself; put two side by side.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
pfr.plot(ax=left)
cascade.plot(ax=right)
out = Path("out") / "reactors.png"
out.parent.mkdir(exist_ok=True)
fig.savefig(out, dpi=110)
print(f"wrote {out}")
