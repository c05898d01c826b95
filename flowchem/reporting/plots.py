"""Matplotlib figures of reactor results (imported lazily; Agg when headless)."""

from __future__ import annotations

import numpy as np

from ..core.units import parse_quantity

_DISPLAY_KIND = {"time": "time", "residence time": "time", "position": "length"}


def _axes(ax):
    import matplotlib

    if ax is not None:
        return ax.figure, ax
    if not matplotlib.get_backend() or "inline" not in matplotlib.get_backend().lower():
        import os

        if not os.environ.get("DISPLAY") and os.name != "nt":
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
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
    """Concentration profiles against time, residence time or position."""
    fig, ax = _axes(ax)
    kind = _DISPLAY_KIND.get(x_label, "time")
    xs = np.asarray(x) / _factor(x_unit, kind)
    cf = _factor(conc_unit, "concentration")
    for i in _selected(list(names), species, conc):
        ax.plot(xs, conc[:, i] / cf, label=names[i])
    ax.set_xlabel(f"{x_label} [{x_unit}]")
    ax.set_ylabel(f"concentration [{conc_unit}]")
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
