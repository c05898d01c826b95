"""Make the SIMULATED data set of this example (data.csv).

Nothing here is measured. The time courses are computed from the mechanism of
truth.yaml, with its two second-order rate laws written out below and
integrated by scipy's solve_ivp (not by flowchem, so the data do not depend
on the code that fits them), then perturbed with normal noise:

    observed = true * (1 + 0.02 e1) + 0.005 mol/L * e2,   e1, e2 ~ N(0, 1)

(2 % relative plus 0.005 mol/L absolute, seeded), rounded to 0.1 mmol/L and
clipped at zero (an HPLC reports no negative assay). The plan is what a
process chemist would run: three batch time courses at 30, 45 and 60 degC
(8 samples each, the last one injected twice) and four outlet samples of a
heated coil (PFR) at 80 degC. Morpholine and HF are not measured (no UV
chromophore), only DFNB, the product P and the impurity BIS.

Run:  python examples/fitting/make_data.py    (rewrites data.csv)
"""

import csv
import math
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

R = 8.314462618          # J/(mol K)
T_REF = 318.15           # 45 degC, the T_ref of truth.yaml
# truth.yaml: k_ref in L/(mol min) at T_REF, Ea in J/mol
K1_REF, EA1 = 0.040, 58e3     # DFNB + MOR => P + HF
K2_REF, EA2 = 0.0025, 78e3    # P + MOR => BIS + HF

REL_NOISE, ABS_NOISE = 0.02, 0.005   # fraction, mol/L
SEED = 20240611
SPECIES = ["DFNB", "MOR", "P", "BIS", "HF"]
MEASURED = ["DFNB", "P", "BIS"]
CHARGE = {"DFNB": 0.40, "MOR": 0.60}   # mol/L: 1.5 equiv of morpholine

# (experiment, kind, T in degC, times in min); batch time 0 is the charge
PLAN = [
    ("B30", "batch", 30.0, [15, 30, 60, 90, 120, 180, 240, 360, 360]),
    ("B45", "batch", 45.0, [10, 20, 30, 45, 60, 90, 120, 180, 180]),
    ("B60", "batch", 60.0, [5, 10, 15, 20, 30, 45, 60, 90, 90]),
    ("F80", "pfr", 80.0, [2, 5, 10, 20]),
]


def rate_constant(k_ref, Ea, T):
    """k = k_ref exp(-Ea/R (1/T - 1/T_ref)), L/(mol min)."""
    return k_ref * math.exp(-Ea / R * (1.0 / T - 1.0 / T_REF))


def true_course(T_K, times_min):
    """Concentrations (mol/L) of SPECIES at the given times from the charge:
    r1 = k1 [DFNB][MOR], r2 = k2 [P][MOR]. An isothermal liquid PFR is the
    same equations in residence time."""
    k1, k2 = rate_constant(K1_REF, EA1, T_K), rate_constant(K2_REF, EA2, T_K)

    def rhs(t, c):
        dfnb, mor, p, bis, hf = c
        r1, r2 = k1 * dfnb * mor, k2 * p * mor
        return [-r1, -r1 - r2, r1 - r2, r2, r1 + r2]

    c0 = [CHARGE.get(s, 0.0) for s in SPECIES]
    sol = solve_ivp(rhs, (0.0, max(times_min)), c0, method="LSODA", t_eval=sorted(set(times_min)),
                    rtol=1e-11, atol=1e-14)
    assert sol.success, sol.message
    return {t: sol.y[:, i] for i, t in enumerate(sol.t)}


def make_rows(seed=SEED):
    rng = np.random.default_rng(seed)
    rows = []
    for name, kind, T_C, times in PLAN:
        course = true_course(T_C + 273.15, times)
        if kind == "batch":
            # the charge: DFNB, MOR, P, BIS at time 0 (no inlet columns)
            rows.append([name, kind, T_C, 0] + [CHARGE.get(s, 0.0) for s in SPECIES[:4]] + ["", ""])
        for t in times:
            true = dict(zip(SPECIES, course[t]))
            obs = []
            for s in MEASURED:
                y = true[s] * (1 + REL_NOISE * rng.standard_normal()) + ABS_NOISE * rng.standard_normal()
                obs.append(round(max(y, 0.0), 4))
            inlet = [CHARGE["DFNB"], CHARGE["MOR"]] if kind == "pfr" else ["", ""]
            rows.append([name, kind, T_C, t, obs[0], "", obs[1], obs[2]] + inlet)
    return rows


HEADER = ["experiment", "kind", "T_degC", "time_min", "DFNB_mol_per_L", "MOR_mol_per_L",
          "P_mol_per_L", "BIS_mol_per_L", "DFNB_in_mol_per_L", "MOR_in_mol_per_L"]


def main(path=Path(__file__).with_name("data.csv")):
    with open(path, "w", newline="") as fh:
        fh.write("# SIMULATED data (not measured): made by make_data.py from truth.yaml with\n"
                 "# 2 % relative + 0.005 mol/L absolute normal noise, seed 20240611.\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(make_rows())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
