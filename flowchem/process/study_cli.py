"""``flowchem sweep SWEEP.yaml``: the sweep file on the terminal.

Everything in the file (route, factors, design, spec) is checked before any
point runs; nothing is written when it is refused. A progress bar goes to
stderr when it is a terminal and the run takes longer than a second.
"""

from __future__ import annotations

import sys
import time

from ..core.errors import InputError

__all__ = ["ProgressBar", "sweep_file_command"]


class ProgressBar:
    """``progress(done, total)`` drawn on stderr: only at a terminal, and only
    once the run has taken a second (short runs print nothing)."""

    def __init__(self, label="points", stream=None, delay_s=1.0):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.delay_s = delay_s
        self.start = time.perf_counter()
        self.shown = False
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done, total):
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if elapsed < self.delay_s and done < total:
            return
        if not self.shown and done >= total and elapsed < self.delay_s:
            return
        self.shown = True
        width = 30
        filled = int(width * done / max(total, 1))
        rate = done / elapsed if elapsed > 0 else 0.0
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {self.label} "
              f"({rate:.4g}/s)", end="", file=self.stream, flush=True)

    def close(self):
        if self.shown:
            print("\r" + " " * 79 + "\r", end="", file=self.stream, flush=True)
            self.shown = False


def sweep_file_command(args):
    """Run ``flowchem sweep SWEEP.yaml [--out DIR] [--workers N] [--scheduler ADDRESS]
    [--samples N]``; returns the exit status."""
    from pathlib import Path

    from .study import load_sweep, run_sweep

    if args.workers is None or args.workers < 1:
        raise InputError(f"expected a number of workers >= 1, got {args.workers}",
                         "command line", "--workers")
    if args.samples is not None and args.samples < 1:
        raise InputError(f"expected a number of samples >= 1, got {args.samples}",
                         "command line", "--samples")
    if args.kpi != "yield":
        raise InputError("--kpi applies to --vary; a sweep file maps every KPI",
                         "command line", "--kpi")
    study = load_sweep(args.route)
    if args.samples is not None:
        if study.settings is None:
            raise InputError("--samples needs an 'uncertainty:' section in the sweep file",
                             "command line", "--samples")
        study.settings["samples"] = int(args.samples)
    scheduler = args.scheduler
    if scheduler is not None:
        from .distributed import connect

        # refuse an address where nothing listens before any numerics
        client, owned = connect(scheduler)
        scheduler = client
    else:
        owned = False
    out = Path(args.out) if args.out else None
    try:
        from ..cli import _announce_compilation

        _announce_compilation()
        bar = ProgressBar()
        try:
            # without a terminal no bar: the points go in one call (no chunking)
            result = run_sweep(study, workers=args.workers, scheduler=scheduler,
                               progress=bar if bar.enabled else None)
        finally:
            bar.close()
        if owned:
            result.scheduler = args.scheduler
    finally:
        if owned:
            scheduler.close()
    print(result.summary())
    if out is not None:
        from ..reporting.plots import pyplot

        pyplot(headless=True)
        out.mkdir(parents=True, exist_ok=True)
        result.write_csv(out / "sweep.csv")
        written = result.write_figures(out)
        if study.settings is not None:
            from .uncertainty import write_uncertainty_figures

            written += list(write_uncertainty_figures(result, out) or [])
        print(f"wrote {out / 'sweep.csv'} and {len(written)} figure"
              f"{'s' if len(written) != 1 else ''} to {out}")
    return 0
