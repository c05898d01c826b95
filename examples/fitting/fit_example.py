"""Fit the kinetics of an SNAr step to HPLC time courses, compare two rate
laws, pick the next experiment and write a report.

THE DATA ARE SIMULATED, not measured: data.csv was made by make_data.py from
the mechanism in truth.yaml (rate laws written out in that script, integrated
with scipy) with 2 % relative + 0.005 mol/L absolute noise, seeded. So the
right answer is known, and you can see how close the fit gets:

    truth:  sub1  k_ref = 0.040 L/(mol min) at 45 degC, Ea = 58 kJ/mol
            sub2  k_ref = 0.0025 L/(mol min) at 45 degC, Ea = 78 kJ/mol

The chemistry: 2,4-difluoronitrobenzene (DFNB) + morpholine (MOR) -> product
P, and P + MOR -> the bis-morpholino impurity BIS. Three batch runs (30, 45,
60 degC) sampled 8 times each, plus four outlet samples of a heated coil at
80 degC. Only DFNB, P and BIS are measured (morpholine has no UV chromophore).

Run:  python examples/fitting/fit_example.py      (writes the report into ./out/)
Same from the shell:
    flowchem fit examples/fitting/mechanism.yaml examples/fitting/data.csv \\
        --fit sub1.k_ref,sub1.Ea,sub2.k_ref,sub2.Ea --starts 4 --profile --out out/
"""

from pathlib import Path

import flowchem as fc
from flowchem.process.estimation import candidate_row, fit, rank_candidates
from flowchem.process.experiment_design import parse_grid, suggest_experiments
from flowchem.reporting.fit_report import write_fit_report

HERE = Path(__file__).parent
PARAMS = "sub1.k_ref,sub1.Ea,sub2.k_ref,sub2.Ea"      # the four numbers to estimate

# 1. The model with poor starting values (a factor 5-25 off), and the data.
mechanism = fc.load_mechanism(HERE / "mechanism.yaml")

# 2. Fit. Four starts: the file's values, then three Latin-hypercube draws two
#    decades around them; the best optimum is kept. profile=True adds the
#    profile-likelihood interval of each parameter.
result = fit(mechanism, HERE / "data.csv", PARAMS, starts=4, profile=True)
print(result.table())                              # values are SI: k in m^3/(mol s)
k1 = result.values[result.names.index("sub1.k_ref")] * 1e3 * 60
print(f"sub1.k_ref = {k1:.4f} L/(mol min) at 45 degC (truth 0.040)")

# 3. Is the rate first order in morpholine, or second (amine-catalysed)? Fit
#    the rival too and rank both by AICc: the lower, the better; a difference
#    above ~10 is decisive. (compare_models([...], data) does both steps for
#    a list of candidates.)
rival = fit(fc.load_mechanism(HERE / "mechanism_amine_catalysed.yaml"), HERE / "data.csv",
            PARAMS, starts=4)
fits = {"second-order": result, "amine-catalysed": rival}
ranking = rank_candidates([candidate_row(label, f) for label, f in fits.items()])
for row in ranking:
    print(f"{row['label']:16s} S = {row['S']:9.1f}  AICc = {row['aicc']:7.1f}  "
          f"dAICc = {row['delta_aicc']:6.1f}  weight = {row['akaike_weight']:.3g}")

# 4. Which single sample of a new batch run (same charge) would shrink the
#    uncertainty most? D-optimal ranking over a grid of temperatures and times.
grid = parse_grid("T=25..85 degC:7, time=5..240 min:12", mechanism.species_names)
suggestions = suggest_experiments(result, grid, top=3)
for s in suggestions:
    print(f"next: {s['T_K'] - 273.15:.0f} degC, sample at {s['time_s'] / 60:.0f} min, "
          f"gain {s['gain']:.3f}; sub2.Ea std. error x{s['std_error_ratio']['sub2.Ea']:.2f}")

# 5. The report: figures and one self-contained HTML file.
paths = write_fit_report(fits, Path("out"), ranking=ranking, suggestions=suggestions)
print(f"report: {paths[-1]}")
