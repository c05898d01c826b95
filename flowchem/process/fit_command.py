"""``flowchem fit``: estimate, compare candidates, suggest the next experiment,
write the fitted mechanism and the report. Everything is read and checked
before anything is written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..core.errors import InputError, SolverError
from ..core.files import write_text_atomic

__all__ = ["fit_command"]


def _progress_printer(label):
    def progress(i, n, best):
        if n > 1:
            end = "\n" if i == n or not sys.stderr.isatty() else ""
            print(f"\r{label}start {i}/{n}, best S = {best:.6g}", end=end, file=sys.stderr, flush=True)
    return progress


def fit_command(args):
    from ..chemistry.mechanism import load_mechanism
    from .estimation import Weights, candidate_row, fit, rank_candidates
    from .experiment_design import parse_grid, suggest_experiments
    from .experiments import read_experiments

    if len(args.files) < 2:
        raise InputError("give a mechanism file and a data file: flowchem fit MECHANISM.yaml DATA.csv "
                         "--fit r1.k_ref,...", "flowchem fit")
    data_path, mech_paths = args.files[-1], args.files[:-1]
    if not data_path.lower().endswith((".csv", ".txt")):
        raise InputError("the last file must be the data (CSV)", data_path)
    mechanisms = [load_mechanism(p) for p in mech_paths]
    if len(args.params) not in (1, len(mechanisms)):
        raise InputError(f"give --fit once for all mechanisms or once per mechanism "
                         f"({len(mechanisms)}), got {len(args.params)}", "flowchem fit", "--fit")
    params = args.params * len(mechanisms) if len(args.params) == 1 else args.params
    datasets = [read_experiments(data_path, m.species_names) for m in mechanisms]
    weights = [Weights(args.weights, m.species_names, "--weights") for m in mechanisms]
    grid = parse_grid(args.suggest, mechanisms[0].species_names) if args.suggest else None
    out = Path(args.out) if args.out else None
    out_is_file = out is not None and out.suffix.lower() in (".yaml", ".yml")
    if out_is_file and len(mechanisms) > 1:
        raise InputError("with several mechanisms, --out must be a directory", str(out))
    # validate the parameter names of every candidate before any solve
    from ..chemistry.parameters import ParameterMap

    for path, m, p in zip(mech_paths, mechanisms, params):
        try:
            ParameterMap(m, p, 300.0)
        except InputError as exc:
            # name the mechanism file and the option, not the internal "<parameters>"
            raise InputError(exc.problem, path, f"--fit {exc.location}".strip()) from None
    if args.starts < 1:
        raise InputError(f"--starts must be at least 1, got {args.starts}", "flowchem fit", "--starts")

    labels = [Path(p).stem for p in mech_paths]
    if len(set(labels)) < len(labels):
        labels = [f"{i + 1}:{lab}" for i, lab in enumerate(labels)]
    kwargs = dict(starts=args.starts, profile=bool(args.profile), seed=args.seed)
    if len(mechanisms) == 1:
        result = fit(mechanisms[0], datasets[0], params[0], weights=weights[0],
                     progress=_progress_printer(""), **kwargs)
        _require_convergence(result)
        fits = {labels[0]: result}
        ranking = None
    else:
        rows, fits = [], {}
        for lab, m, d, p, w in zip(labels, mechanisms, datasets, params, weights):
            try:
                res = fit(m, d, p, weights=w, progress=_progress_printer(f"{lab}: "), **kwargs)
                _require_convergence(res)
                fits[lab] = res
                rows.append(candidate_row(lab, res))
            except SolverError as exc:
                rows.append({"label": lab, "error": str(exc)})
        ranking = rank_candidates(rows)
        result = fits[ranking[0]["label"]] if ranking and "error" not in ranking[0] else None
        if result is None:
            # a numerical failure of every candidate (exit 1), not bad input
            raise SolverError("fit", "no candidate could be fitted: " + rows[0]["error"])

    suggestions = suggest_experiments(result, grid) if grid else None
    report = _report(result, ranking, fits, suggestions)

    # output: everything computed; now write
    for lab, res in fits.items():
        if len(fits) > 1:
            print(f"== {lab}")
        print(res.table())
        print()
    if ranking:
        print(_ranking_table(ranking))
    if suggestions:
        print(_suggestion_table(suggestions))
    if args.json:
        write_text_atomic(args.json, json.dumps(report, indent=2, allow_nan=False) + "\n")
    if out is not None:
        from ..chemistry.mechanism_writer import write_fitted_mechanism

        if out_is_file:
            write_fitted_mechanism(mech_paths[0], result.mechanism(), out)
        else:
            # render everything first; the report is written all or nothing, then the files
            texts = {}
            for (lab, res), path in zip(fits.items(), [p for lab2, p in zip(labels, mech_paths)
                                                       if lab2 in fits]):
                name = "fitted.yaml" if len(fits) == 1 else f"fitted_{lab.replace(':', '_')}.yaml"
                texts[name] = write_fitted_mechanism(path, res.mechanism())
            texts["report.json"] = json.dumps(report, indent=2, allow_nan=False) + "\n"
            from ..reporting.fit_report import write_fit_report

            write_fit_report(fits, out, ranking=ranking, suggestions=suggestions)
            for name, text in texts.items():
                write_text_atomic(out / name, text)
    return 0


def _require_convergence(result):
    """A fit the optimiser did not finish is a numerical failure, not a result."""
    if not result.success:
        raise SolverError("fit", f"the optimiser did not converge ({result.message}) after "
                                 f"{result.problem.n_evaluations} evaluations; try other starting "
                                 "values or --starts N")


def _report(result, ranking, fits, suggestions):
    report = result.to_dict()
    if ranking is not None:
        report["candidates"] = ranking
        report["fits"] = {lab: res.to_dict() for lab, res in fits.items()}
        report["best"] = ranking[0]["label"]
    if suggestions is not None:
        report["suggested_experiments"] = suggestions
    return report


def _ranking_table(rows):
    from ..reporting.numbers import significant

    width = max([20] + [len(r["label"]) + 1 for r in rows])
    lines = [f"{'candidate':<{width}s} {'p':>3s} {'S':>12s} {'AICc':>10s} {'dAICc':>8s} {'weight':>8s} {'BIC':>10s}"]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['label']:<{width}s} failed: {r['error']}")
            continue
        lines.append(f"{r['label']:<{width}s} {r['n_parameters']:>3d} {significant(r['S']):>12s} "
                     f"{significant(r['aicc']):>10s} {significant(r['delta_aicc'], 3):>8s} "
                     f"{significant(r['akaike_weight'], 3):>8s} {significant(r['bic']):>10s}")
    return "\n".join(lines)


def _suggestion_table(rows):
    from ..reporting.numbers import significant

    lines = ["next experiments (D-optimal; predicted std. error / current):"]
    for r in rows:
        ratios = ", ".join(f"{k} {significant(v, 2)}" for k, v in r["std_error_ratio"].items())
        init = ", ".join(f"{k} {significant(v / 1e3, 3)} mol/L" for k, v in r["initial_mol_per_m3"].items())
        lines.append(f"  T = {r['T_K'] - 273.15:.1f} degC, sample at {r['time_s'] / 60:.4g} min "
                     f"({init}): gain {significant(r['gain'], 3)}; {ratios}")
    return "\n".join(lines)
