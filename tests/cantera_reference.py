"""Cantera reference values shared by the gas tests (test helper).

:func:`cantera_ignition_delay` locates the ignition delay of Cantera's
``IdealGasConstPressureReactor`` the way flowchem's ``ignition_delay``
locates its own: dT/dt at every step, then IGNITION_REFINE_POINTS points of
CVODES's own interpolating (Nordsieck) polynomial between the steps either
side of the largest, then a parabola through the largest point and its
neighbours, so the comparison has no floor from a peak on a step grid.
:func:`peak_heating_time` is that locator on a prepared reactor network;
benchmarks/gas_ignition.py times Cantera through it too.
"""

import math

import numpy as np

P_ATM = 101325.0


def heating_rate(gas):
    """dT/dt (K/s) of an adiabatic constant-pressure reactor in ``gas``'s state."""
    return -np.dot(gas.partial_molar_enthalpies, gas.net_production_rates) / (
        gas.density * gas.cp_mass)


def cantera_ignition_delay(file, T0, X, t_end, rtol=1e-12, P=P_ATM):
    """Time (s) of the largest dT/dt of Cantera's run from (T0, P, X)."""
    import cantera as ct

    gas = ct.Solution(file)
    gas.TPX = T0, P, X
    net = ct.ReactorNet([ct.IdealGasConstPressureReactor(gas, clone=False)])
    net.rtol, net.atol = rtol, 1e-20
    return peak_heating_time(ct, gas, net, t_end, P)


def peak_heating_time(ct, gas, net, t_end, P):
    """Step ``net`` (a constant-pressure reactor on ``gas``) to ``t_end`` and
    return the time of its largest dT/dt: dT/dt at every step, then on
    IGNITION_REFINE_POINTS points of CVODES's dense output between the steps
    either side of the largest, and a parabola through the largest and its
    neighbours. (A parabola through the step values alone adds an error of
    the step spacing near the peak.)"""
    from flowchem.reactors.gas import IGNITION_REFINE_POINTS

    ts, rates, taylor = [0.0], [heating_rate(gas)], [None]
    while net.time < t_end:
        net.step()
        ts.append(net.time)
        rates.append(heating_rate(gas))
        # the Nordsieck derivatives at this step: CVODES's dense output over
        # the step just taken (y(t) = sum_k y^(k) (t - t_n)^k / k!)
        coefs = []
        for k in range(6):
            try:
                coefs.append(np.array(net.get_derivative(k)) / math.factorial(k))
            except ct.CanteraError:
                break
        taylor.append(coefs)
    ts = np.array(ts)
    i = int(np.argmax(rates))
    grid = np.linspace(ts[i - 1], ts[i + 1], IGNITION_REFINE_POINTS)
    d = np.empty(grid.size)
    for g, tq in enumerate(grid):
        j = i if tq <= ts[i] else i + 1   # the step whose interval holds tq
        y = sum(c * (tq - ts[j]) ** k for k, c in enumerate(taylor[j]))
        # state: mass, T, mass fractions (unnormalised, unclipped: the rates
        # at the interpolated state itself, as flowchem evaluates its own)
        gas.set_unnormalized_mass_fractions(y[2:])
        gas.TP = y[1], P
        d[g] = heating_rate(gas)
    m = int(np.argmax(d))
    if m == 0 or m == grid.size - 1:
        return float(grid[m])
    den = d[m - 1] - 2.0 * d[m] + d[m + 1]
    shift = 0.5 * (d[m - 1] - d[m + 1]) / den if den < 0.0 else 0.0
    return float(grid[m] + shift * (grid[1] - grid[0]))
