"""``flowchem dynamic SCENARIO.yaml [--out DIR] [--json FILE]``: a scenario on the terminal.

The scenario and its route are checked before any numerics; nothing is
written when they are refused (exit 2). A progress bar goes to stderr at a
terminal when the run takes longer than a second. ``--out DIR`` gets
``dynamic.csv``, ``dynamic.json`` and, when the reporting module provides
them, the figures and an HTML page (``flowchem.reporting.dynamic_figures``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["dynamic_command"]


def dynamic_command(args):
    """Run the ``dynamic`` subcommand; returns the exit status."""
    from .dynamic import load_scenario, simulate_dynamic
    from .study_cli import ProgressBar

    scenario = load_scenario(args.route)        # InputError (exit 2) before anything runs
    from ..cli import _announce_compilation

    _announce_compilation()
    bar = ProgressBar(label="s simulated")
    try:
        result = simulate_dynamic(scenario, progress=lambda done, total: bar(int(done), int(total)))
    finally:
        bar.close()
    print(result.summary())
    if args.json:
        result.write_json(args.json)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        result.write_csv(out / "dynamic.csv")
        result.write_json(out / "dynamic.json")
        written = [out / "dynamic.csv", out / "dynamic.json"]
        if result.tracking is not None:
            from ..reporting.dynamic_figures import write_dynamic_figures
            from ..reporting.dynamic_html import write_dynamic_html
            from ..reporting.plots import pyplot

            pyplot(headless=True)
            figures = write_dynamic_figures(result, result.tracking, out)
            written += list(figures.values())
            written.append(write_dynamic_html(result, result.tracking, out / "dynamic.html",
                                              figures))
        print(f"wrote {len(written)} files to {out}")
    return 0
