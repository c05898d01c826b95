"""A coil reactor in time: start-up from solvent, then the feed concentration
doubles. The same route twice, with the two spatial schemes of the dynamic
model, against what plug flow does exactly (a pure delay of one residence
time).

Run:  python examples/quickstart/tube_startup.py   (writes out/tube_startup.png)
"""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import flowchem as fc

# A => B, first order, in a 10 mL coil at 1 mL/min: tau = 10 min, k tau = 3.
route = fc.Route.from_dict({
    "mechanism": {"species": [{"name": "A", "formula": "C4H8O"}, {"name": "B", "formula": "C4H8O"}],
                  "reactions": [{"equation": "A => B", "rate": {"k": "0.3 1/min"}}]},
    "feeds": [{"name": "f", "flow": "1 mL/min", "T": "25 degC", "conc": {"A": "1 mol/L"}}],
    "operations": [{"name": "coil", "type": "pfr", "from": "f", "volume": "10 mL", "T": "25 degC"}],
    "product": {"from": "coil", "species": "B", "basis": "A"},
})
tau = 600.0                      # s
k = 0.3 / 60.0                   # 1/s

# Start from solvent; at 30 min the feed concentration doubles.
scenario = {"duration": "60 min", "start": "filled-with-solvent", "output": {"interval": "5 s"},
            "events": [{"at": "30 min", "feed": "f", "conc.A": "2 mol/L"}]}

runs = {}
for scheme in ("collocation", "upwind"):          # collocation is the default
    runs[scheme] = fc.simulate_dynamic(route, dict(scenario, discretisation={"scheme": scheme}))

# Plug flow exactly: nothing leaves before tau; B = A_in (1 - exp(-k tau)) after.
t = runs["collocation"].time_s
exact = np.where(t < tau, 0.0, np.where(t < 1800.0 + tau, 1000.0, 2000.0)) * (1 - math.exp(-k * tau))

for scheme, res in runs.items():
    B = res.conc("coil", "B")
    level = exact[(t > tau) & (t < 1800.0)][0]            # the start-up plateau
    t10, t90 = (t[np.argmax(B >= p * level)] for p in (0.1, 0.9))
    far = np.abs(t - tau) > 0.1 * tau
    far &= np.abs(t - 1800.0 - tau) > 0.1 * tau
    print(f"{scheme:12s} grid: {res.stats['discretisation']['coil']}")
    print(f"{scheme:12s} start-up front from 10 % to 90 %: {t10 / 60:.2f} to {t90 / 60:.2f} min "
          f"(plug flow: a step at {tau / 60:.2f})")
    print(f"{scheme:12s} largest error away from the fronts: "
          f"{np.max(np.abs(B[far] - exact[far])) / exact.max():.1e} of the final B")
    print(f"{scheme:12s} long-time limit against flowchem run: "
          f"{res.steady_state['max_rel_difference']:.1e}")

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(t / 60, exact, "k-", lw=1, label="plug flow (exact)")
for scheme, res in runs.items():
    ax.plot(t / 60, res.conc("coil", "B"), label=scheme)
ax.set_xlabel("time [min]")
ax.set_ylabel("B at the outlet [mol/m$^3$]")
ax.legend()
out = Path("out")
out.mkdir(exist_ok=True)
fig.savefig(out / "tube_startup.png", dpi=120, bbox_inches="tight")
print(f"wrote {out / 'tube_startup.png'}")
