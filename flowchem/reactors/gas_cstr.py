"""Steady ideal-gas continuous stirred tank at constant pressure on a full
Cantera mechanism (Cantera's ``IdealGasReactor`` with a mass-flow-controlled
inlet and a pressure-controlled outlet, at its steady state).

State ``x = [phi_0 .. phi_{n-1}, T]`` (moles per kilogram, K) as in
:mod:`kernels.gas_reactors`. With ``g = mdot / (rho V)`` (the inverse
residence time at the tank's own density ``rho = P / (R T sum phi)``)::

    dphi_k/dt = wdot_k / rho + g (phi_in,k - phi_k)
    dT/dt     = -sum_k h_k wdot_k / (rho cp) + g sum_k phi_in,k (H_k(T_in) - H_k(T)) / cp

(``cp`` per mass; adiabatic; ``energy="isothermal"`` holds T at the inlet
temperature). The reaction parts and their analytic Jacobian are the kernel's
constant-pressure batch (:data:`kernels.gas_reactors.GAS_CONST_P`); the flow
terms and their derivatives are added here. The steady state is found by
pseudo-transient continuation: implicit Euler steps ``(I/dt - J) dx = F``
whose step ``dt`` grows as the residual falls, ending as Newton's method, so
that it settles on the branch the transient would reach from the initial
state (an ignited tank: the inlet burnt in a long constant-pressure batch, as
Cantera's combustor example starts from equilibrium; or the inlet itself).
The loop is in Python, one compiled rhs and Jacobian evaluation per
iteration (tens of iterations per steady state).
"""

from __future__ import annotations

import numpy as np

from ..core.errors import Location, SolverError
from ..core.units import parse_quantity
from .gas import (R_GAS, GasBatchReactor, GasInlet, _GasProfiles, _atol, _moles_per_mass,
                  _options, _system, gas_kinetics_of)

__all__ = ["GasCSTR", "GasCSTRResult"]

MAX_ITERATIONS = 2000
# the first pseudo-time step relative to the residence time; its growth and
# cut factors (switched-evolution-relaxation, capped)
FIRST_STEP = 1.0e-3
GROWTH_CAP = 10.0
MIN_GROWTH = 1.5
CUT = 0.25
# pseudo-time step (in residence times) beyond which the iteration is Newton's
BIG_STEP = 1.0e12
# the ignited initial state: a constant-pressure batch of the feed started at
# BURNT_BATCH_T (K) at least, run for BURNT_BATCH_TIME (s)
BURNT_BATCH_T = 1500.0
BURNT_BATCH_TIME = 1.0


class GasCSTRResult(_GasProfiles):
    """The steady tank: ``T``, ``P``, ``X``, ``Y``, ``concentrations``,
    ``density`` (a single row each, the outlet), ``residence_time`` (s, rho V
    / mdot at the tank's state), ``outlet`` (dict), ``iterations`` and
    ``residual`` (largest weighted residual at the end)."""

    def __init__(self, gk, x, P, volume, mass_flow, iterations, residual):
        n = gk.n_species
        phi = x[None, :n]
        T = np.array([x[n]])
        rho = P / (R_GAS * T * phi.sum(axis=1))
        self._fill(gk, phi, T, rho, np.array([P]))
        self.volume = volume
        self.mass_flow = mass_flow
        self.residence_time = float(rho[0] * volume / mass_flow)
        self.iterations = iterations
        self.residual = residual

    @property
    def outlet(self):
        return {"T": float(self.T[0]), "P": float(self.P[0]),
                "X": dict(zip(self.species, self.X[0].tolist())),
                "residence_time": self.residence_time}

    def to_dict(self):
        return {"kind": "gas_cstr", "species": self.species, "outlet": self.outlet,
                "volume": self.volume, "mass_flow": self.mass_flow,
                "iterations": self.iterations, "residual": self.residual}


class GasCSTR:
    """Steady ideal-gas CSTR at constant pressure.

    Parameters
    ----------
    mechanism
        ``Mechanism.from_cantera(...)``, a GasKinetics, a ``cantera.Solution``
        or a Cantera file name.
    volume
        Tank volume (quantity or m^3).
    energy : "adiabatic" (default) or "isothermal"
        Isothermal holds the tank at the inlet temperature.
    initial : "burnt" (default) or "inlet"
        Where the pseudo-transient starts: the feed burnt in a long
        constant-pressure batch (the ignited branch) or the feed itself.
    options : SolverOptions or dict, optional
        ``rtol`` and ``atol`` (on mass fractions) of the convergence test.
    """

    def __init__(self, mechanism, volume, energy="adiabatic", *, initial="burnt", options=None):
        where = Location("<python>", "GasCSTR")
        self.gas = gas_kinetics_of(mechanism, "GasCSTR.mechanism")
        self.volume = parse_quantity(volume, "volume", where=where.key("volume"), positive=True)
        if energy not in ("adiabatic", "isothermal"):
            raise where.key("energy").error(f"expected 'adiabatic' or 'isothermal', got {energy!r}")
        if initial not in ("burnt", "inlet"):
            raise where.key("initial").error(f"expected 'burnt' or 'inlet', got {initial!r}")
        self.energy = energy
        self.initial = initial
        self.options = _options(options)

    def run(self, inlet):
        """Steady state for the feed ``inlet`` (a :class:`GasInlet` or
        ``{mass_flow or flow, T, P, X or Y}``); returns a :class:`GasCSTRResult`.

        Raises
        ------
        SolverError
            The pseudo-transient iteration does not converge.
        """
        from kernels.gas_reactors import GAS_CONST_P, cp_R_temperature_derivative, gas_jac, gas_rhs
        from kernels.thermo import species_thermo

        gk = self.gas
        feed = GasInlet.parse(gk, inlet, Location("<python>", "GasCSTR.run.inlet"))
        n = gk.n_species
        N = n + 1
        P, mdot, V = feed.P, feed.mass_flow, self.volume
        adiabatic = self.energy == "adiabatic"
        system = _system(gk, [P, 0.0, 1.0 if adiabatic else 0.0, 0.0, 0.0])
        code = np.int64(GAS_CONST_P)
        nasa = gk.nasa
        phi_in = _moles_per_mass(gk, feed.X)
        cp, h, s, dcp = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
        species_thermo(feed.T, nasa, cp, h, s)
        H_in = float(np.dot(phi_in, h)) * feed.T      # inlet enthalpy / R, K mol/kg
        f = np.empty(N)
        J = np.empty((N, N))

        def residual(x, with_jacobian):
            gas_rhs(code, x, system, f)
            phi, T = x[:n], x[n]
            S = phi.sum()
            g = mdot * R_GAS * T * S / (P * V)
            d = phi_in - phi
            F = f.copy()
            F[:n] += g * d
            if with_jacobian:
                gas_jac(code, x, system, J)
                Jt = J.copy()
                Jt[:n, :n] += np.outer(d, np.full(n, g / S))
                Jt[np.arange(n), np.arange(n)] -= g
                Jt[:n, n] += d * g / T
            if adiabatic:
                species_thermo(T, nasa, cp, h, s)
                C = float(np.dot(phi, cp))
                D = H_in - float(np.dot(phi_in, h)) * T
                F[n] += g * D / C
                if with_jacobian:
                    cp_R_temperature_derivative(T, nasa, dcp)
                    Jt[n, :n] += (g / S) * D / C - g * D * cp / C ** 2
                    Jt[n, n] += (g / T) * D / C - g * float(np.dot(phi_in, cp)) / C \
                        - g * D * float(np.dot(phi, dcp)) / C ** 2
            else:
                F[n] = 0.0
                if with_jacobian:   # T held: dT/dt = 0 with a non-singular row
                    Jt[n, :] = 0.0
                    Jt[n, n] = -1.0
            return (F, Jt) if with_jacobian else F

        x = self._initial_state(feed, phi_in)
        if not adiabatic:
            x[n] = feed.T
        tau = feed.density * V / mdot
        atol = _atol(gk, 1, self.options)
        rtol = self.options.rtol

        def wnorm(v, x):
            return float(np.max(np.abs(v) / (atol + rtol * np.abs(x))))

        dt = FIRST_STEP * tau
        F, Jt = residual(x, True)
        r_old = wnorm(F * tau, x)
        eye = np.eye(N)
        for it in range(1, MAX_ITERATIONS + 1):
            A = (eye / dt if dt < BIG_STEP * tau else 0.0 * eye) - Jt
            try:
                dx = np.linalg.solve(A, F)
            except np.linalg.LinAlgError:
                dt *= CUT
                continue
            x_new = x + dx
            newton = dt >= BIG_STEP * tau
            # in the transient, a species driven clearly negative means a
            # pseudo-time step past an explosive (chain-branching) mode,
            # 1/dt < lambda: shorter step (Newton's round-off on trace
            # species is only clipped)
            if not np.all(np.isfinite(x_new)) or x_new[n] <= 0.0 or (not newton and np.any(
                    x_new[:n] < -(atol[:n] + rtol * np.abs(x[:n])))):
                dt *= CUT
                continue
            x_new[:n] = np.maximum(x_new[:n], 0.0)
            F_new, J_new = residual(x_new, True)
            r_new = wnorm(F_new * tau, x_new)
            if not np.isfinite(r_new):
                dt *= CUT
                continue
            step_norm = wnorm(dx, x_new)
            x, F, Jt = x_new, F_new, J_new
            if newton and (step_norm < 1e-3 or r_new < 1e-3):
                return GasCSTRResult(gk, x, P, V, mdot, it, r_new)
            # grow at least by MIN_GROWTH: an induction period, where the residual
            # barely changes, must not hold the pseudo-time step
            dt = dt * min(GROWTH_CAP, max(MIN_GROWTH, r_old / max(r_new, 1e-300)))
            dt = min(dt, 10.0 * BIG_STEP * tau)
            if r_new < 1.0:   # near the steady state: Newton
                dt = 10.0 * BIG_STEP * tau
            r_old = r_new
        raise SolverError("gas CSTR", f"the steady state was not reached in {MAX_ITERATIONS} "
                                      f"pseudo-transient iterations (residual {r_old:.3g})")

    def _initial_state(self, feed, phi_in):
        """The feed, or the feed burnt: a constant-pressure batch started at
        :data:`BURNT_BATCH_T` (or the feed's T if hotter) run for
        :data:`BURNT_BATCH_TIME`, its composition then brought back to the
        feed's enthalpy (T by Newton on h(T) = h_in): close to the feed's
        HP equilibrium, the state Cantera's combustor example starts from."""
        from kernels.thermo import species_thermo

        gk = self.gas
        n = gk.n_species
        if self.initial == "inlet" or self.energy == "isothermal":
            return np.append(phi_in, feed.T)
        batch = GasBatchReactor(gk, T=max(feed.T, BURNT_BATCH_T), P=feed.P,
                                X=dict(zip(gk.species_names, feed.X)), options=self.options)
        res = batch.run(BURNT_BATCH_TIME, times=np.array([0.0, BURNT_BATCH_TIME]))
        phi, T = res._phi[-1].copy(), float(res.T[-1])
        cp, h, s = np.empty(n), np.empty(n), np.empty(n)
        species_thermo(feed.T, gk.nasa, cp, h, s)
        h_in = float(np.dot(phi_in, h)) * feed.T
        for _ in range(50):
            species_thermo(T, gk.nasa, cp, h, s)
            dT = (h_in - float(np.dot(phi, h)) * T) / float(np.dot(phi, cp))
            T = min(max(T + dT, 0.5 * T), 2.0 * T)
            if abs(dT) < 1e-9 * T:
                break
        x = np.append(phi, T)
        if not np.all(np.isfinite(x)):
            raise SolverError("gas CSTR", "the ignited initial state is not finite")
        return x
