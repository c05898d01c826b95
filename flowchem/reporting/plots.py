"""Matplotlib figures of reactor results (imported lazily; Agg when headless)."""

from __future__ import annotations

import numpy as np

from ..core.units import parse_quantity

_DISPLAY_KIND = {"time": "time", "residence time": "time", "position": "length"}


def _no_screen():
    """True on a Linux/BSD machine with neither X11 nor Wayland (a server, CI,
    an SSH session): there only a file backend can work. macOS and Windows
    always have their native backends, and a notebook picks its own."""
    import os
    import sys

    if sys.platform in ("darwin", "win32", "cygwin"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def pyplot(headless=False):
    """``matplotlib.pyplot``, with the non-interactive Agg backend selected when
    ``headless`` (commands that only write files) or when there is no screen.

    A backend the user chose (a notebook's inline backend, ``MPLBACKEND``, an
    earlier ``matplotlib.use``) is kept unless ``headless`` is asked for.
    """
    import os

    import matplotlib

    # the backend set so far, without resolving matplotlib's automatic choice
    chosen = str(dict.get(matplotlib.rcParams, "backend", "")).lower()
    if headless or (_no_screen() and not os.environ.get("MPLBACKEND") and "inline" not in chosen):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _axes(ax):
    if ax is not None:
        return ax.figure, ax
    fig, ax = pyplot().subplots(figsize=(6.4, 4.2), layout="constrained")
    return fig, ax


def _factor(unit, kind):
    return parse_quantity(f"1 {unit}", kind)


def _selected(names, species, conc):
    if species is None:
        # Leave out species that stay at zero: they only clutter the legend.
        return [i for i, _ in enumerate(names) if np.any(conc[:, i] != 0.0)]
    return [names.index(s) for s in species]


def plot_profiles(x, conc, names, *, ax=None, species=None, x_label="time", x_unit="s",
                  conc_unit="mol/L", title=None):
    """Concentration profiles against time, residence time or position.
    ``conc_unit=None`` plots a dimensionless quantity (mole fractions) as given."""
    fig, ax = _axes(ax)
    kind = _DISPLAY_KIND.get(x_label, "time")
    xs = np.asarray(x) / _factor(x_unit, kind)
    cf = 1.0 if conc_unit is None else _factor(conc_unit, "concentration")
    for i in _selected(list(names), species, conc):
        ax.plot(xs, conc[:, i] / cf, label=names[i])
    ax.set_xlabel(f"{x_label} [{x_unit}]")
    ax.set_ylabel("mole fraction" if conc_unit is None else f"concentration [{conc_unit}]")
    if title:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_tanks(tanks, inlet, names, *, ax=None, species=None, conc_unit="mol/L", title=None):
    """Concentrations tank by tank (tank 0 is the inlet)."""
    fig, ax = _axes(ax)
    states = np.vstack([inlet, tanks])
    cf = _factor(conc_unit, "concentration")
    k = np.arange(states.shape[0])
    for i in _selected(list(names), species, states):
        ax.plot(k, states[:, i] / cf, marker="o", label=names[i])
    ax.set_xlabel("tank (0 = inlet)")
    ax.set_ylabel(f"concentration [{conc_unit}]")
    ax.set_xticks(k)
    if title:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_temperature(ax, x, T, x_label="time", x_unit="s"):
    """Temperature (degC) on a second y axis sharing ``ax``'s x axis."""
    kind = _DISPLAY_KIND.get(x_label, "time")
    xs = np.asarray(x) / _factor(x_unit, kind)
    twin = ax.twinx()
    twin.plot(xs, np.asarray(T) - 273.15, color="k", linestyle="--", label="T")
    twin.set_ylabel("temperature [degC] (dashed)")
    return twin
