"""The ``flowchem`` command.

Exit status: 0 on success, 2 on invalid input (one line on stderr naming the
file, the entry and the problem), 1 when the numerics fail (naming the
operation and the reason). No tracebacks unless ``--debug`` is given (before
or after the subcommand). Python warnings raised while a command runs are
printed as one line each after it succeeds; a failing command prints its one
error line only.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from .core.errors import InputError, SolverError
from .core.files import write_text_atomic

EXIT_OK = 0
EXIT_SOLVER = 1
EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error of every other refusal (exit 2)."""

    def error(self, message):
        print(f"flowchem: command line: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def _one_line(text):
    return " ".join(str(text).split())


def _parser():
    p = _Parser(
        prog="flowchem",
        description="Kinetic modelling and continuous-flow reactor simulation.")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate a route; print the stream table and KPIs")
    run.add_argument("route", help="route file (YAML)")
    run.add_argument("--out", metavar="DIR", help="write result.json, streams.csv and plots to DIR")
    run.add_argument("--json", metavar="FILE", help="write the JSON result to FILE")
    run.add_argument("--quiet", action="store_true", help="print nothing on success")
    check = sub.add_parser("check", help="validate a route file without running it")
    check.add_argument("route", help="route file (YAML)")
    size = sub.add_parser("size", help="size one reactor of a route for a target conversion or yield")
    size.add_argument("route", help="route file (YAML)")
    size.add_argument("--operation", "-o", required=True, metavar="NAME",
                      help="the reactor to size (its type, diameter, T and energy balance are kept)")
    target = size.add_mutually_exclusive_group(required=True)
    target.add_argument("--conversion", metavar="SPECIES=VALUE", help="e.g. A=0.95")
    target.add_argument("--yield", dest="yield_", metavar="PRODUCT=VALUE", help="e.g. C=0.8 (with --basis)")
    size.add_argument("--basis", metavar="SPECIES", help="limiting reactant of a yield target")
    size.add_argument("--json", metavar="FILE", help="write the sizing result as JSON")
    cmp_ = sub.add_parser("compare-batch", help="the same chemistry in a jacketed batch vessel: "
                                                "times, cooling-limited dosing, throughput, hazardous inventory")
    cmp_.add_argument("route", help="route file (YAML)")
    cmp_.add_argument("--vessel-volume", default="100 L", help="batch vessel volume (default 100 L)")
    cmp_.add_argument("--fill-fraction", type=float, default=0.8, help="working fill (default 0.8)")
    cmp_.add_argument("--U", default="300 W/m^2/K", help="jacket heat-transfer coefficient")
    cmp_.add_argument("--jacket-area-ref", default="1.0 m^2",
                      help="jacket area of the reference vessel (scaled with volume^(2/3))")
    cmp_.add_argument("--vessel-volume-ref", default="100 L", help="reference vessel volume")
    cmp_.add_argument("--coolant-dT", default="20 K", help="reaction mass to coolant temperature difference")
    cmp_.add_argument("--charge-time", default="30 min")
    cmp_.add_argument("--discharge-time", default="30 min")
    cmp_.add_argument("--cleaning-time", default="0 min")
    cmp_.add_argument("--hazardous", nargs="*", metavar="SPECIES",
                      help="species whose inventory to compare (default: the route's 'hazardous' list)")
    cmp_.add_argument("--out", metavar="DIR", help="write batch_vs_flow.png to DIR")
    cmp_.add_argument("--json", metavar="FILE", help="write the comparison as JSON")
    sw = sub.add_parser("sweep", help="design-space study: a sweep file (SWEEP.yaml), or a route "
                                      "over one or two --vary parameters")
    sw.add_argument("route", metavar="FILE",
                    help="sweep file (DESIGN.md 'Study files'), or a route file with --vary")
    sw.add_argument("--vary", action="append", metavar="ENTRY.KEY=START..STOP UNIT:N",
                    help='with a route file: e.g. "R2.T=40..70 degC:7" or '
                         '"nitrite.flow=0.1..0.2 mL/min:5" (once or twice)')
    sw.add_argument("--kpi", default="yield", help="with --vary: KPI to plot (default yield)")
    sw.add_argument("--out", metavar="DIR", help="write sweep.csv and the figures to DIR")
    sw.add_argument("--workers", type=int, default=1, metavar="N",
                    help="sweep file: numba threads (compiled route) or processes (per-point route)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="sweep file: run the points on a Dask cluster (tcp://HOST:PORT)")
    sw.add_argument("--samples", type=int, metavar="N",
                    help="sweep file with 'uncertainty:': Monte Carlo samples per point")
    opt = sub.add_parser("optimize", help="maximize or minimize a study-table column over bounded "
                                          "factors under constraints (OPTIMIZE.yaml)")
    opt.add_argument("file", metavar="OPTIMIZE.yaml", help="optimisation file (DESIGN.md 'Study files')")
    opt.add_argument("--json", metavar="FILE", help="write the optimum (and front) as JSON")
    opt.add_argument("--workers", type=int, default=1, metavar="N",
                     help="numba threads (compiled route) or processes (per-point route)")
    opt.add_argument("--scheduler", metavar="ADDRESS",
                     help="evaluate on a Dask cluster (tcp://HOST:PORT)")
    opt.add_argument("--pareto", metavar="COL1,COL2",
                     help="also trace the Pareto front of two columns under the same constraints")
    opt.add_argument("--out", metavar="DIR", help="write the figures (pareto.png) to DIR")
    fit = sub.add_parser("fit", help="fit kinetic parameters to concentration data (CSV); "
                                     "several mechanisms: rank them by AICc")
    fit.add_argument("files", nargs="+", metavar="FILE",
                     help="MECHANISM.yaml [MECHANISM2.yaml ...] DATA.csv")
    fit.add_argument("--fit", dest="params", action="append", required=True, metavar="NAMES",
                     help="comma-separated parameters, e.g. r1.k_ref,r1.Ea (once for all "
                          "mechanisms, or once per mechanism in order)")
    fit.add_argument("--out", metavar="PATH",
                     help="FITTED.yaml: the mechanism with the fitted values (comments kept); "
                          "a directory: that file, report.json, plots and fit_report.html")
    fit.add_argument("--json", metavar="FILE", help="write the fit report as JSON")
    fit.add_argument("--weights", default="absolute",
                     help="absolute (default), relative, or per-species standard deviations "
                          "'A=0.01 mol/L,B=0.02 mol/L'")
    fit.add_argument("--starts", type=int, default=1, metavar="N",
                     help="number of starts (Latin hypercube around the mechanism's values)")
    fit.add_argument("--profile", action="store_true",
                     help="profile-likelihood intervals for every parameter")
    fit.add_argument("--suggest", metavar="GRID",
                     help='rank next experiments, e.g. "T=20..80 degC:7, time=1..120 min:10"')
    fit.add_argument("--seed", type=int, default=1, help="seed of the multi-start draws")
    rtd = sub.add_parser("rtd-fit", help="fit tanks-in-series N or dispersion Pe to a tracer curve (CSV)")
    rtd.add_argument("csv", help="two columns: time (unit in the header, e.g. 't [min]') and concentration")
    rtd.add_argument("--model", choices=("tanks", "dispersion", "both"), default="both")
    rtd.add_argument("--plot", metavar="PNG", help="write the data and the fitted E(t) and F(t)")
    rtd.add_argument("--json", metavar="FILE", help="write the fitted parameters as JSON")
    dyn = sub.add_parser("dynamic", help="dynamic operation of a route: start-up, events, lot "
                                         "changes, material tracking (SCENARIO.yaml)")
    dyn.add_argument("route", metavar="SCENARIO.yaml", help="scenario file (DESIGN.md 'Scenario file')")
    dyn.add_argument("--out", metavar="DIR", help="write dynamic.csv, dynamic.json and the figures to DIR")
    dyn.add_argument("--json", metavar="FILE", help="write the time courses and tracking as JSON")
    sens = sub.add_parser("sensitivity", help="normalised sensitivities d ln KPI / d ln p of a route "
                                              "to kinetics and operating conditions")
    sens.add_argument("route", help="route file (YAML)")
    sens.add_argument("--json", metavar="FILE", help="write the coefficients as JSON")
    sens.add_argument("--top", type=int, default=None, metavar="N",
                      help="show the N largest coefficients of each KPI (default all)")
    # --debug before or after the subcommand (``flowchem run ROUTE --debug``, as the
    # internal-error message suggests); SUPPRESS keeps a flag given before it
    for command in sub.choices.values():
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks of unexpected errors")
    return p


def _progress(i, n, name):
    if sys.stderr.isatty():
        print(f"\r[{i + 1}/{n}] {name} ...", end="", file=sys.stderr, flush=True)


def _announce_compilation():
    """Say so when Numba has no cached kernels yet: the first run compiles
    them (once per installation), which otherwise looks like a hang. Only
    at a terminal: a script reading stderr gets the one line of an error."""
    from pathlib import Path

    if not sys.stderr.isatty():
        return

    import kernels

    cache = Path(kernels.__file__).parent / "__pycache__"
    if not any(cache.glob("rosenbrock.*.nbi")):
        print("flowchem: compiling the numeric kernels (first run only, about 30 s)...",
              file=sys.stderr, flush=True)


def _run(args):
    from .process.route import load_route

    if args.command == "rtd-fit":
        return _rtd_fit(args)
    if args.command == "fit":
        from .process.fit_command import fit_command

        return fit_command(args)
    if args.command == "sensitivity":
        from .process.sensitivity import sensitivity_command

        return sensitivity_command(args)
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "optimize":
        from .process.optimize import optimize_command

        return optimize_command(args)
    if args.command == "dynamic":
        from .process.dynamic_cli import dynamic_command

        return dynamic_command(args)
    if args.command == "compare-batch":
        from .process.batchflow import compare_batch_command

        load_route(args.route)   # validate first: bad input fails before any numerics
        return compare_batch_command(
            args.route, out=args.out, json_path=args.json, vessel_volume=args.vessel_volume,
            fill_fraction=args.fill_fraction, U=args.U, jacket_area_ref=args.jacket_area_ref,
            vessel_volume_ref=args.vessel_volume_ref, coolant_dT=args.coolant_dT,
            charge_time=args.charge_time, discharge_time=args.discharge_time,
            cleaning_time=args.cleaning_time, hazardous=args.hazardous)
    route = load_route(args.route)
    if args.command == "size":
        return _size(route, args)
    if args.command == "check":
        print(f"{args.route}: OK: {len(route.feeds)} feeds, {len(route.operations)} operations, "
              f"{route.mechanism.n_species} species, {route.mechanism.n_reactions} reactions")
        return EXIT_OK
    _announce_compilation()
    result = route.run(progress=_progress)
    if sys.stderr.isatty():
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr)
    if args.json:
        result.write_json(args.json)
    if args.out:
        from .reporting.files import write_outputs
        from .reporting.plots import pyplot

        pyplot(headless=True)   # files only: no window toolkit needed
        write_outputs(result, args.out)
    if not args.quiet:
        print(result.stream_table())
        print()
        print(result.summary())
    return EXIT_OK


def _target_arg(text, flag):
    name, sep, value = (text or "").partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not name or number is None:
        raise InputError(f"expected SPECIES=VALUE, got {text!r}", "command line", flag)
    return name.strip(), number


def _size(route, args):
    import json

    from .reactors.ideal import PFR, CSTRCascade
    from .process.sizing import size_reactor

    op = route.operations.get(args.operation)
    if not isinstance(op, (PFR, CSTRCascade)):
        raise InputError(f"{args.operation!r} is not a reactor of this route", args.route, "--operation")
    feed = route.inlet_streams(args.operation)[0]
    kwargs = dict(T=op.T, energy=op.energy, properties=op.properties, options=op.options)
    if args.conversion:
        kwargs["conversion"] = _target_arg(args.conversion, "--conversion")
        basis = kwargs["conversion"][0]
    else:
        kwargs["yield_"] = _target_arg(args.yield_, "--yield")
        kwargs["basis"] = basis = args.basis
        if basis is None:
            raise InputError("a yield target needs --basis", "command line", "--basis")
    names = route.mechanism.species_names
    if basis not in names:
        raise InputError(f"unknown species {basis!r}", "command line", "--basis")
    # targets are overall: relative to what the route's feeds supply upstream
    upstream = route.upstream(args.operation)
    kwargs["reference_molar_flow"] = sum(
        f.molar_flows[names.index(basis)] for n, f in route.feeds.items() if n in upstream)
    try:
        if isinstance(op, PFR):
            res = size_reactor(feed, "pfr", diameter=op.diameter, coil_diameter=op.coil_diameter,
                               **kwargs)
        else:
            res = size_reactor(feed, op.kind, n=op.n, **kwargs)
    except InputError as exc:   # name the route and operation, not the Python call
        raise InputError(exc.problem, args.route, f"operation {args.operation}") from None
    d = res.to_dict()
    print(f"{args.operation} ({d['type']}): {d['target']['kind']} of {d['target']['species']} "
          f"= {d['achieved']:.6g} (target {d['target']['value']:.6g})")
    print(f"  volume:          {d['volume_m3'] * 1e6:.5g} mL")
    print(f"  residence time:  {d['residence_time_s'] / 60:.5g} min")
    if "length_m" in d:
        print(f"  length:          {d['length_m']:.5g} m at {d['diameter_m'] * 1e3:.4g} mm diameter")
    if "pressure_drop_Pa" in d:
        print(f"  pressure drop:   {d['pressure_drop_Pa'] / 1e5:.4g} bar")
    print(f"  T max:           {d['T_max_K'] - 273.15:.2f} degC")
    for w in d.get("warnings", []):
        print(f"  warning: {w}")
    if args.json:
        write_text_atomic(args.json, json.dumps(d, indent=2) + "\n")
    return EXIT_OK


def _sweep(args):
    from pathlib import Path

    if not args.vary:
        from .process.study_cli import sweep_file_command

        return sweep_file_command(args)
    for flag in ("workers", "scheduler", "samples"):
        if getattr(args, flag) not in (None, 1):
            raise InputError(f"--{flag} applies to a sweep file, not to --vary",
                             "command line", f"--{flag}")
    from .process.sweep import COLUMNS, Parameter, sweep

    params = [Parameter.parse(v) for v in args.vary]
    if args.kpi not in COLUMNS:
        raise InputError(f"unknown KPI {args.kpi!r} (choose {', '.join(COLUMNS)})", "command line", "--kpi")
    _announce_compilation()
    result = sweep(args.route, params, progress=_progress)
    if sys.stderr.isatty():
        print("\r" + " " * 70 + "\r", end="", file=sys.stderr)
    shown = ["yield", "conversion", "selectivity", "T_max_K", "pressure_drop_Pa"]
    if args.kpi not in shown:
        shown.insert(0, args.kpi)
    head = "".join(f"{p.name:>16s}" for p in params) + "".join(f"{k[:14]:>16s}" for k in shown)
    print(head)
    for r in result.rows:
        cells = "".join(f"{r[p.name]:16.5g}" for p in params)
        if r["status"] != "ok":
            print(cells + "  " + r["status"])
            continue
        cells += "".join(f"{'-':>16s}" if r.get(k) is None else f"{r[k]:16.5g}" for k in shown)
        print(cells)
    if result.failures:
        print(f"{len(result.failures)} of {len(result.rows)} points failed (see the status column)")
    if args.out:
        from .reporting.plots import pyplot

        pyplot(headless=True)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        result.write_csv(out / "sweep.csv")
        ax = result.plot(args.kpi)
        ax.figure.savefig(out / f"sweep_{args.kpi}.png", dpi=120)
    return EXIT_OK


def _rtd_fit(args):
    import json

    from . import rtd

    data = rtd.read_tracer_csv(args.csv)
    fits = {}
    if args.model in ("tanks", "both"):
        fits["tanks_in_series"] = rtd.fit_tanks_in_series(data.t, data.c)
    if args.model in ("dispersion", "both"):
        fits["dispersion_closed"] = rtd.fit_dispersion(data.t, data.c)
    m = fits[next(iter(fits))].moments
    print(f"{args.csv}: mean residence time {m.mean / 60:.4g} min, variance {m.variance / 3600:.4g} min^2")
    out = {}
    for name, fit in fits.items():
        parts = []
        for key, value in fit.params.items():
            err = fit.stderr.get(key) if fit.stderr else None
            shown = f"{value / 60:.4g} min" if key == "tau" else f"{value:.4g}"
            if err is not None:
                shown += f" +- {err / 60:.2g} min" if key == "tau" else f" +- {err:.2g}"
            parts.append(f"{key} = {shown}")
        print(f"  {name:18s} " + ", ".join(parts) + f"   (RMS residual of E: {fit.residual:.3g} 1/s)")
        out[name] = {"params": fit.params, "stderr": fit.stderr, "residual_per_s": fit.residual}
    if args.plot:
        from .reporting.plots import pyplot

        pyplot(headless=True)
        import numpy as np

        E = np.asarray(data.c, float) / np.trapezoid(data.c, data.t)
        axes = rtd.plot_rtd([f.rtd for f in fits.values()], labels=list(fits), data=(data.t, E),
                            time_unit="min" if m.mean > 120 else "s")
        axes[0].figure.savefig(args.plot, dpi=120)
    if args.json:
        write_text_atomic(args.json, json.dumps(out, indent=2) + "\n")
    return EXIT_OK


def main(argv=None):
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # argparse already printed its line (or --help)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    if args.debug:
        return _main(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        status = _main(args)
    if status == EXIT_OK:
        # ours (UserWarning and subclasses) as one line each; numpy's floating-point
        # RuntimeWarnings are not a user's business (--debug shows everything)
        for w in caught:
            if issubclass(w.category, UserWarning):
                print(f"flowchem: warning: {_one_line(w.message)}", file=sys.stderr)
    return status


def _main(args):
    try:
        return _run(args)
    except InputError as exc:
        print(f"flowchem: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except SolverError as exc:
        where = getattr(args, "route", None) or (args.files[-1] if getattr(args, "files", None) else None)
        print(f"flowchem: {where + ': ' if where else ''}solver failed: {exc}", file=sys.stderr)
        return EXIT_SOLVER
    except KeyboardInterrupt:
        print("flowchem: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: say so plainly, in one line
        if args.debug:
            raise
        print(f"flowchem: internal error ({type(exc).__name__}: {_one_line(exc)}); rerun with "
              "--debug and report it", file=sys.stderr)
        return EXIT_SOLVER


if __name__ == "__main__":
    sys.exit(main())
