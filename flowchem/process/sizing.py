"""Reactor sizing: the volume (or tube length at a given diameter) that
reaches a target conversion or yield, with the pressure drop and hot spot at
that size, or a clear refusal when the target cannot be reached.

    res = fc.size_reactor(feed, "pfr", conversion=("A", 0.95), diameter="1 mm")
    res.volume, res.length, res.result.to_dict()["pressure_drop_Pa"]
"""

from __future__ import annotations

import math

import numpy as np

from ..chemistry.stoichiometry import stoichiometric_factor
from ..core.errors import InputError, Location
from ..reactors import FLOW_REACTOR_KINDS
from ..reactors.ideal import PFR, CSTRCascade
from ..core.units import parse_quantity



class TargetUnreachableError(InputError):
    """The requested conversion or yield cannot be reached with this
    chemistry and reactor type (equilibrium, or the yield peaks lower)."""


class SizingResult:
    """The size found and the reactor result at that size."""

    def __init__(self, reactor_type, target, achieved, volume, residence_time, result,
                 length=None, diameter=None):
        self.reactor_type = reactor_type
        self.target = target
        self.achieved = achieved
        self.volume = volume
        self.residence_time = residence_time
        self.result = result
        self.length = length
        self.diameter = diameter

    def to_dict(self):
        d = {"type": self.reactor_type, "target": self.target, "achieved": self.achieved,
             "volume_m3": self.volume, "residence_time_s": self.residence_time}
        if self.length is not None:
            d["length_m"] = self.length
            d["diameter_m"] = self.diameter
        entry = self.result.to_dict()
        for key in ("pressure_drop_Pa", "T_max_K", "T_out_K", "warnings"):
            if key in entry:
                d[key] = entry[key]
        return d

    def __repr__(self):
        size = f"{self.volume * 1e6:.4g} mL"
        if self.length is not None:
            size += f" ({self.length:.4g} m of {self.diameter * 1e3:.3g} mm tube)"
        return (f"SizingResult({self.reactor_type}: {size}, residence time "
                f"{self.residence_time:.4g} s, {self.target['kind']} {self.achieved:.6g})")


def _target(mech, conversion, yield_, basis):
    names = mech.species_names
    if (conversion is None) == (yield_ is None):
        raise InputError("give exactly one target: conversion=(species, value) or "
                         "yield_=(product, value) with basis=", "<python>", "size_reactor")
    if conversion is not None:
        species, value = conversion
        kind = "conversion"
        basis = species
        product = None
    else:
        product, value = yield_
        kind = "yield"
        if basis is None:
            raise InputError("a yield target needs basis= (the limiting reactant)", "<python>",
                             "size_reactor.basis")
        if product not in names:
            raise InputError(f"unknown species {product!r}", "<python>", "size_reactor.yield_")
    if basis not in names:
        raise InputError(f"unknown species {basis!r}", "<python>", f"size_reactor.{kind}")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise InputError(f"the target must lie between 0 and 1, got {value}", "<python>",
                         f"size_reactor.{kind}")
    return {"kind": kind, "species": product or basis, "basis": basis, "value": value}


def _metric(target, mech, feed, reference_molar_flow=None):
    """Function of an outlet concentration vector giving conversion or yield.

    The basis amount is the feed's own unless ``reference_molar_flow``
    (mol/s of the basis species, e.g. what a whole route feeds upstream) is
    given. A yield counts the product made times the stoichiometric factor
    along the reaction network, as a route's KPIs do."""
    names = mech.species_names
    ib = names.index(target["basis"])
    c_b0 = feed.conc[ib] if reference_molar_flow is None else reference_molar_flow / feed.flow
    if c_b0 <= 0:
        raise InputError(f"{target['basis']} is not in the feed", "<python>", "size_reactor")
    if target["kind"] == "conversion":
        return lambda c: 1.0 - c[..., ib] / c_b0
    ip = names.index(target["species"])
    supplied = [n for n, c in zip(names, feed.conc) if c > 0.0]
    factor = stoichiometric_factor(mech, target["basis"], target["species"], supplied=supplied,
                                   where=Location("<python>", "size_reactor"))
    c_p0 = feed.conc[ip]
    return lambda c: (c[..., ip] - c_p0) * factor / c_b0


def size_reactor(feed, reactor="pfr", *, conversion=None, yield_=None, basis=None, diameter=None,
                 n=None, T=None, energy=None, properties=None, options=None, coil_diameter=None,
                 max_residence_time="30 d", reference_molar_flow=None):
    """Smallest reactor that reaches a target conversion or yield.

    Parameters
    ----------
    feed : Stream
    reactor : {"pfr", "cstr", "cstr_cascade"}
    conversion : (species, value)
        Target fractional conversion of ``species``; or
    yield_ : (product, value)
        Target yield of ``product`` on ``basis``.
    diameter : float or str, optional
        Tube diameter (PFR): the answer also gives the length, the pressure
        drop and (with an energy balance) the hot spot at that size.
    n : int
        Tanks of a cascade.
    T, energy, properties, options
        As for the reactor classes.
    max_residence_time : float or str
        Give up beyond this residence time.
    reference_molar_flow : float, optional
        Molar flow (mol/s) of the basis species that conversion and yield
        refer to; default: what ``feed`` carries. A route passes what its
        feeds supply upstream, so targets are overall, not per reactor.

    Raises
    ------
    TargetUnreachableError
        When equilibrium, or a yield that peaks and falls, keeps the target
        out of reach, saying what the best achievable value is and where.
    """
    if reactor not in FLOW_REACTOR_KINDS:
        raise InputError(f"unknown reactor type {reactor!r} (choose {', '.join(FLOW_REACTOR_KINDS)})",
                         "<python>", "size_reactor.reactor")
    mech = feed.mechanism
    target = _target(mech, conversion, yield_, basis)
    metric = _metric(target, mech, feed, reference_molar_flow)
    tau_max = parse_quantity(max_residence_time, "time", where="size_reactor.max_residence_time",
                             positive=True)
    d = None if diameter is None else parse_quantity(diameter, "length", where="size_reactor.diameter",
                                                     positive=True)
    if reactor == "pfr":
        return _size_pfr(feed, target, metric, tau_max, d, T, energy, properties, options,
                         coil_diameter)
    tanks = 1 if reactor == "cstr" else n
    if tanks is None:
        raise InputError("a cascade needs n (the number of tanks)", "<python>", "size_reactor.n")
    return _size_tanks(feed, reactor, tanks, target, metric, tau_max, T, energy, properties, options)


def _pfr(feed, tau, d, T, energy, properties, options, coil_diameter):
    volume = tau * feed.flow
    if d is not None:
        length = volume / (math.pi * d * d / 4)
        return PFR(length=length, diameter=d, T=T, energy=energy, properties=properties,
                   options=options, coil_diameter=coil_diameter, name="sized")
    return PFR(volume, T=T, energy=energy, properties=properties, options=options, name="sized")


def _unreachable(target, best, where):
    what = f"{target['kind']} of {target['species']}" + (
        f" on {target['basis']}" if target["kind"] == "yield" else "")
    raise TargetUnreachableError(
        f"{what} cannot reach {target['value']:.4g}: the best is {best:.4g} {where}",
        "<python>", "size_reactor")


def _size_pfr(feed, target, metric, tau_max, d, T, energy, properties, options, coil_diameter):
    from scipy.optimize import brentq, minimize_scalar

    goal = target["value"]
    tau = None
    # One long integration per decade of residence time; the dense output of
    # the last one locates the crossing (the profile is one solve, not many).
    horizon = 1.0
    previous_best = -np.inf
    while True:
        horizon = min(horizon * 10.0, tau_max)
        res = _pfr(feed, horizon, d, T, energy, properties, options, coil_diameter).run(feed)
        values = metric(res.conc)
        k = int(np.argmax(values >= goal)) if np.any(values >= goal) else -1
        if k >= 0:
            lo, hi = res.tau[max(k - 1, 0)], res.tau[k]
            f = lambda t: float(metric(res.at(t))) - goal
            tau = brentq(f, lo, hi, xtol=1e-12 * hi, rtol=1e-12) if f(lo) < 0 else hi
            break
        best_k = int(np.argmax(values))
        best = float(values[best_k])
        if best - values[-1] > 1e-6 * max(abs(best), 1e-12):
            # peaked inside the tube: refine the maximum and refuse
            lo = res.tau[max(best_k - 1, 0)]
            hi = res.tau[min(best_k + 1, len(values) - 1)]
            m = minimize_scalar(lambda t: -float(metric(res.at(t))), bounds=(lo, hi), method="bounded")
            _unreachable(target, -m.fun, f"at a residence time of {m.x:.4g} s, after which it falls")
        if horizon >= tau_max or (best - previous_best) < 1e-9:
            _unreachable(target, best, "(an equilibrium or plateau; residence time "
                                       f"{horizon:.4g} s)")
        previous_best = best
    sized = _pfr(feed, tau, d, T, energy, properties, options, coil_diameter)
    result = sized.run(feed)
    achieved = float(metric(result.outlet.conc))
    return SizingResult("pfr", target, achieved, sized.volume, tau, result, sized.length,
                        sized.diameter)


def _size_tanks(feed, reactor, tanks, target, metric, tau_max, T, energy, properties, options):
    from scipy.optimize import brentq, minimize_scalar

    goal = target["value"]

    def run(tau):
        return CSTRCascade(tanks, tau * feed.flow, T=T, energy=energy, properties=properties,
                           options=options, name="sized", find_all_steady_states=False).run(feed)

    def value(tau):
        return float(metric(run(tau).outlet.conc))

    before, lo, hi = 0.0, 0.0, 1.0
    previous = 0.0
    while True:
        v = value(hi)
        if v >= goal:
            break
        if v < previous - 1e-9 * max(abs(previous), 1e-12):
            # the maximum lies between the last three sizes tried
            m = minimize_scalar(lambda t: -value(t), bounds=(before, hi), method="bounded",
                                options={"xatol": 1e-6 * hi})
            _unreachable(target, -m.fun, f"at a total residence time of {m.x:.4g} s, after which it falls")
        if hi >= tau_max or v - previous < 1e-9:
            _unreachable(target, v, f"(an equilibrium or plateau; residence time {hi:.4g} s)")
        before, lo, previous = lo, hi, v
        hi = min(hi * 4.0, tau_max)
    tau = brentq(lambda t: value(t) - goal, lo, hi, xtol=1e-12 * hi, rtol=1e-12)
    result = run(tau)
    result.kind = reactor
    return SizingResult(reactor, target, float(metric(result.outlet.conc)), tau * feed.flow, tau, result)
