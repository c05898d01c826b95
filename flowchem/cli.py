"""The ``flowchem`` command.

Exit status: 0 on success, 2 on invalid input (one line on stderr naming the
file, the entry and the problem), 1 when the numerics fail (naming the
operation and the reason). No tracebacks unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import sys

from .errors import InputError, SolverError

EXIT_OK = 0
EXIT_SOLVER = 1
EXIT_INPUT = 2


def _parser():
    p = argparse.ArgumentParser(
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
    return p


def _progress(i, n, name):
    if sys.stderr.isatty():
        print(f"\r[{i + 1}/{n}] {name} ...", end="", file=sys.stderr, flush=True)


def _run(args):
    from .route import load_route

    route = load_route(args.route)
    if args.command == "check":
        print(f"{args.route}: OK: {len(route.feeds)} feeds, {len(route.operations)} operations, "
              f"{route.mechanism.n_species} species, {route.mechanism.n_reactions} reactions")
        return EXIT_OK
    result = route.run(progress=_progress)
    if sys.stderr.isatty():
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr)
    if args.json:
        result.write_json(args.json)
    if args.out:
        from .output import write_outputs

        write_outputs(result, args.out)
    if not args.quiet:
        print(result.stream_table())
        print()
        print(result.summary())
    return EXIT_OK


def main(argv=None):
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # argparse already printed its usage line
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    try:
        return _run(args)
    except InputError as exc:
        print(f"flowchem: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except SolverError as exc:
        print(f"flowchem: {args.route}: solver failed: {exc}", file=sys.stderr)
        return EXIT_SOLVER
    except KeyboardInterrupt:
        print("flowchem: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: say so plainly, in one line
        if args.debug:
            raise
        print(f"flowchem: internal error ({type(exc).__name__}: {exc}); rerun with --debug "
              "and report it", file=sys.stderr)
        return EXIT_SOLVER


if __name__ == "__main__":
    sys.exit(main())
