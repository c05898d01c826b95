"""Rate-of-production analysis: which reaction makes and consumes each
species, where along a reactor.

For a plug-flow (or batch) result the contribution of reaction j to the net
production of species i is ν_ij q_j(τ) along the residence time; integrated
over the reactor it is the amount (mol/m^3 of throughput) of i that reaction
j made (positive) or consumed (negative), and the sum over reactions is the
outlet change c_i(τ_end) - c_i(0) exactly, which the analysis reports as its
closure. For a stirred tank (or each tank of a cascade) the contribution is
τ_tank ν_ij q_j(c_tank).
"""

from __future__ import annotations

import numpy as np

__all__ = ["RateOfProduction", "rate_of_production"]


class RateOfProduction:
    """Contributions of every reaction to every species of one reactor.

    Attributes
    ----------
    species, reactions : list of str
        Species names; reaction ids.
    equations : list of str
    integrated : ndarray (n_species, n_reactions)
        mol/m^3 of species i made (+) or consumed (-) by reaction j over the reactor.
    position : ndarray (m,)
        Residence time (s) of the profile points (PFR), or tank index (CSTR).
    rates : ndarray (m, n_reactions)
        Net rates of progress q_j at those points, mol/m^3/s.
    closure : float
        max_i |Σ_j integrated_ij - Δc_i| / max|Δc|: the integration check.
    """

    def __init__(self, name, species, reactions, equations, integrated, position, rates,
                 stoichiometry, delta):
        self.name = name
        self.species = list(species)
        self.reactions = list(reactions)
        self.equations = list(equations)
        self.integrated = integrated
        self.position = position
        self.rates = rates
        self.stoichiometry = stoichiometry   # (n_species, n_reactions)
        scale = max(float(np.max(np.abs(delta))), 1e-300)
        self.closure = float(np.max(np.abs(integrated.sum(axis=1) - delta)) / scale)

    def contributions(self, species):
        """Profile of each reaction's contribution ν_ij q_j to ``species`` (m x n_reactions)."""
        i = self.species.index(species)
        return self.rates * self.stoichiometry[i][None, :]

    def breakdown(self, species, threshold=0.01):
        """(reaction id, equation, amount mol/m^3, share of the larger of total
        production and consumption) for the reactions that make or consume
        ``species``, largest first; shares below ``threshold`` are left out."""
        i = self.species.index(species)
        row = self.integrated[i]
        made = row[row > 0].sum()
        used = -row[row < 0].sum()
        ref = max(made, used, 1e-300)
        out = [(self.reactions[j], self.equations[j], float(row[j]), float(abs(row[j]) / ref))
               for j in np.argsort(-np.abs(row)) if row[j] != 0 and abs(row[j]) / ref >= threshold]
        return out

    def table(self, species=None, threshold=0.01):
        from ..reporting.numbers import significant

        lines = [f"rate of production in {self.name} (mol/m3 over the reactor; + made, - consumed)"]
        for sp in (species or self.species):
            rows = self.breakdown(sp, threshold)
            if not rows:
                continue
            lines.append(f"  {sp}:")
            for rid, eq, amount, share in rows:
                lines.append(f"    {rid:<10s} {significant(amount):>11s}  {100 * share:5.1f} %  {eq}")
        return "\n".join(lines)

    def to_dict(self):
        return {"species": self.species, "reactions": self.reactions,
                "integrated_mol_per_m3": {sp: {r: float(v) for r, v in zip(self.reactions, row) if v != 0}
                                          for sp, row in zip(self.species, self.integrated)},
                "closure_rel": self.closure}

    def plot(self, species, ax=None, time_unit="min"):
        """Contribution of each reaction to ``species`` along the reactor."""
        from ..core.units import parse_quantity
        from ..reporting.plots import _axes

        fig, ax = _axes(ax)
        contrib = self.contributions(species)
        x = self.position / parse_quantity(f"1 {time_unit}", "time")
        for j, rid in enumerate(self.reactions):
            if np.any(contrib[:, j] != 0):
                ax.plot(x, contrib[:, j] * 1e-3 * 60.0, label=f"{rid}: {self.equations[j]}")
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel(f"residence time ({time_unit})")
        ax.set_ylabel(f"production of {species} (mol/L/min)")
        ax.set_title(f"{self.name}: rate of production of {species}")
        ax.legend(fontsize="small")
        return ax


def _rates_at(mechanism, states, temperatures):
    from kernels.kinetics import rate_constants, rates_of_progress

    from .solver import compiled_mechanism

    compiled = compiled_mechanism(mechanism)
    m, n = compiled.n_reactions, compiled.n_species
    kf, kr, q = np.zeros(m), np.zeros(m), np.zeros(m)
    out = np.zeros((states.shape[0], m))
    T_prev = None
    for k in range(states.shape[0]):
        if temperatures[k] != T_prev:
            rate_constants(float(temperatures[k]), compiled.rate_params, kf, kr)
            T_prev = temperatures[k]
        rates_of_progress(np.ascontiguousarray(states[k, :n]), compiled.model, kf, kr, q)
        out[k] = q
    return out


def rate_of_production(result):
    """Rate-of-production analysis of a PFR or CSTR/cascade result
    (:class:`~flowchem.reactors.ideal.PFRResult`, ``CSTRResult``)."""
    from ..core.errors import InputError
    from .quadrature import DENSE_NODES, gauss_nodes

    mech = result.mechanism
    n = mech.n_species
    S = np.zeros((n, mech.n_reactions))
    for j, r in enumerate(mech.reactions):
        for sp, nu in r.net_stoichiometry().items():
            S[mech.species_index(sp), j] = nu
    delta = result.outlet.conc - result.inlet.conc
    if getattr(result, "tanks", None) is not None:
        tau_each = result.residence_time / result.n_tanks
        rates = _rates_at(mech, result.tanks, result.tank_T)
        integrated = S * (tau_each * rates.sum(axis=0))[None, :]
        position = np.arange(1, result.n_tanks + 1, dtype=float)
    elif getattr(result, "tau", None) is not None:
        rates = _rates_at(mech, result.conc, result.T_profile)
        sol = getattr(result, "solution", None)
        if sol is not None and getattr(sol, "_dense", np.zeros(0)).shape[0]:
            n_state = sol.y.shape[1]
            energy = n_state == n + 2   # [c, heat, T] with an energy balance; [c, heat] isothermal

            def q_of(y):
                T = y[:, -1] if energy else np.full(y.shape[0], result.T)
                return _rates_at(mech, y[:, :n], T)

            t_nodes, weights = gauss_nodes(sol.t, DENSE_NODES)
            totals = weights @ q_of(sol(t_nodes))
        else:
            totals = np.trapezoid(rates, result.tau, axis=0)
        integrated = S * totals[None, :]
        position = result.tau
    else:
        raise InputError("rate-of-production analysis needs a PFR or CSTR result", "<python>")
    return RateOfProduction(getattr(result, "name", "reactor"), mech.species_names,
                            mech.reaction_ids, [r.equation for r in mech.reactions], integrated,
                            position, rates, S, delta)
