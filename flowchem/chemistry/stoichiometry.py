"""Stoichiometry of a mechanism: the stoichiometric matrix, and the
stoichiometric factor that turns the moles of a product made into a yield on
a basis species along the whole reaction network.

The factor
----------
A yield on a basis is ``(F_P,out - F_P,in) * factor / F_basis,in`` where
``factor`` is the smallest number of moles of basis the mechanism consumes to
make one mole of product. With ``x`` the reaction extents (one per reaction,
in reaction events) and ``N`` the net stoichiometry (species x reactions), the
net change is ``d = N x`` and the factor is the linear programme::

    minimise    -d[basis]
    subject to   d[product]  = 1
                 d[basis]   <= 0           the basis cannot be made from nothing
                 d[s]       >= 0           for every species s that is not a reagent
                 x_j >= 0 (irreversible), x_j free (reversible: either direction)

A *reagent* is a species that no reaction writes on its product side (the
nitrite of a nitrosation, water of a hydrolysis): it may be drawn on freely,
as a co-reactant is. Every other species (intermediates, by-products) can be
formed but not consumed net, so the programme cannot make the product from an
intermediate conjured from nothing: in ``A => I``, ``2 I => P`` it must make
the two I from two A (factor 2). The cheapest of several paths wins (the yield
is then measured against the best the network allows). This first pass
depends only on the mechanism and the two species, so a study that switches
a co-reactant off (concentration or rate constant zero) keeps one definition
of the yield; reactions count whatever their rate constant.

The first pass reads reactions as written. When it finds no path, or a path
that needs no basis, because a mechanism is written unusually (``A + B => P``
and ``P => A + B`` as two reactions, so the co-reactant B is also formed; a
reversible step written backwards, ``I <=> A + B``, so the intermediate I
looks like a reagent), a second pass decides by what the route feeds
(``supplied``): the species that are fed, and those no reaction can form in
either direction, may be drawn on; everything else must be formed.

The programme is infeasible when no combination of reactions makes the
product from the basis (no path); its optimum is zero when the product can be
made without consuming the basis at all (from another reagent, or from a
network that regenerates the basis). Both are refused: a yield on that basis
has no meaning. Net coefficients outside 1e-6 to 1e6 are refused too: HiGHS
would drop or reject them and report a wrong path or none.

Why a linear programme and not the element balance: an element count gives a
factor only when the basis is the sole carrier of some element of the
product; with co-reactants carrying the same elements (the usual case) it
gives a bound, not the factor, and it needs formulas for every species. The
reactions are element-checked when the mechanism is loaded, so every
combination the programme picks conserves the elements already.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import Location, SolverError

__all__ = ["stoichiometric_matrix", "reagents", "stoichiometric_factor"]

# The factor is a ratio of stoichiometric coefficients (order one); below this
# the programme found a path that needs no basis (round-off of HiGHS is ~1e-12).
_ZERO_FACTOR = 1e-9
# Net coefficients the linear programme resolves (HiGHS treats |a| < 1e-9 as zero).
_COEFFICIENT_RANGE = (1e-6, 1e6)


def stoichiometric_matrix(mechanism):
    """Net stoichiometry of a mechanism, products minus reactants.

    Parameters
    ----------
    mechanism : Mechanism

    Returns
    -------
    numpy.ndarray
        Shape ``(n_reactions, n_species)``: entry ``[j, i]`` is the moles of
        species ``i`` made (negative: consumed) per event of reaction ``j``.
    """
    index = {name: i for i, name in enumerate(mechanism.species_names)}
    S = np.zeros((mechanism.n_reactions, mechanism.n_species))
    for j, reaction in enumerate(mechanism.reactions):
        for name, nu in reaction.net_stoichiometry().items():
            S[j, index[name]] = nu
    return S


def reagents(mechanism, *, strict=False):
    """Names of the species no reaction writes among its products.

    These may be consumed freely by the stoichiometric factor's programme
    (co-reactants); every other species can only be formed net. With
    ``strict``, species of reversible reactions are left out too (the reverse
    direction forms the left-hand side).
    """
    formed = {name for r in mechanism.reactions for name in r.products}
    if strict:
        formed |= {name for r in mechanism.reactions if r.reversible for name in r.reactants}
    return [name for name in mechanism.species_names if name not in formed]


def _cheapest_path(S, bounds, ib, ip, free):
    """Solve the factor's linear programme; returns the scipy result."""
    from scipy.optimize import linprog

    N = S.T                                   # species x reactions
    constrained = [i for i in range(N.shape[0]) if i not in free and i not in (ib, ip)]
    A_ub = np.vstack([N[ib:ib + 1], -N[constrained]]) if constrained else N[ib:ib + 1]
    b_ub = np.zeros(A_ub.shape[0])
    return linprog(c=-N[ib], A_ub=A_ub, b_ub=b_ub, A_eq=N[ip:ip + 1], b_eq=[1.0],
                   bounds=bounds, method="highs")


def stoichiometric_factor(mechanism, basis, product, *, supplied=(), where=None):
    """Smallest moles of ``basis`` consumed per mole of ``product`` made,
    over all combinations of the mechanism's reactions.

    Parameters
    ----------
    mechanism : Mechanism
    basis, product : str
        Species names (must differ).
    supplied : iterable of str, optional
        Species the route feeds. Used only when the reactions as written give
        no path, or one that needs no basis (see the module docstring).
    where : Location, optional
        Where the product entry sits (e.g. ``route.yaml: product``); errors
        name ``where.basis`` or ``where.species``.

    Returns
    -------
    float
        The factor (e.g. 2 for ``A => I``, ``2 I => P``; 0.5 for ``A => 2 P``).

    Raises
    ------
    InputError
        When no combination of reactions makes ``product`` from ``basis``, or
        when the product can be made without consuming the basis.
    SolverError
        When the linear programme itself fails (numerical trouble in HiGHS).
    """
    where = Location.coerce(where)
    names = mechanism.species_names
    for key, name in (("basis", basis), ("species", product)):
        if name not in names:
            raise where.key(key).error(f"unknown species {name!r}")
    if basis == product:
        raise where.key("basis").error(f"the basis must differ from the product {product!r}")
    if mechanism.n_reactions == 0:
        raise _no_path(where, basis, product)
    ib, ip = names.index(basis), names.index(product)
    S = stoichiometric_matrix(mechanism)
    _check_coefficients(mechanism, S, where)
    bounds = [(None, None) if r.reversible else (0.0, None) for r in mechanism.reactions]

    first = {names.index(n) for n in reagents(mechanism)}
    second = ({names.index(n) for n in reagents(mechanism, strict=True)}
              | {names.index(n) for n in supplied if n in names})
    res = _path_with_fallback(S, bounds, ib, ip, first, second)
    if res.status == 2:
        raise _no_path(where, basis, product)
    if res.status != 0:
        raise SolverError("stoichiometric factor",
                          f"linear programme for {product} on {basis} failed: {res.message}")
    factor = float(res.fun)
    if factor <= _ZERO_FACTOR:
        change = S.T @ res.x
        sources = [names[i] for i in np.flatnonzero(change < -_ZERO_FACTOR) if i != ib]
        origin = f" (from {', '.join(sources)})" if sources else ""
        raise where.key("basis").error(
            f"the mechanism makes {product!r} without consuming the basis {basis!r}{origin}, "
            f"so a yield on {basis!r} has no meaning; choose a basis every path to "
            f"{product!r} consumes")
    return factor


# Studies rebuild a route per point from the same mechanism; the programme's
# answer depends only on the network and the species sets, so it is kept.
_PATH_CACHE = {}
_PATH_CACHE_SIZE = 256


def _path_with_fallback(S, bounds, ib, ip, first, second):
    """The cheapest path with the reactions' own reagents, else (no path, or
    one that needs no basis) with the fed species too; memoised."""
    key = (S.shape, S.tobytes(), tuple(bounds), ib, ip, frozenset(first), frozenset(second))
    res = _PATH_CACHE.get(key)
    if res is not None:
        return res
    res = _cheapest_path(S, bounds, ib, ip, first)
    if (res.status == 2 or (res.status == 0 and res.fun <= _ZERO_FACTOR)) and second != first:
        retry = _cheapest_path(S, bounds, ib, ip, second)
        if retry.status == 0 or res.status == 2:
            res = retry
    if len(_PATH_CACHE) >= _PATH_CACHE_SIZE:
        _PATH_CACHE.clear()
    _PATH_CACHE[key] = res
    return res


def _check_coefficients(mechanism, S, where):
    """Refuse net coefficients HiGHS cannot resolve (it drops entries below
    1e-9 and rejects huge ones), rather than report a wrong path or none."""
    magnitude = np.abs(S)
    bad = (magnitude != 0.0) & ((magnitude < _COEFFICIENT_RANGE[0]) | (magnitude > _COEFFICIENT_RANGE[1]))
    if np.any(bad):
        j, i = np.argwhere(bad)[0]
        raise where.key("species").error(
            f"net stoichiometric coefficient {S[j, i]:g} of {mechanism.species_names[i]!r} in "
            f"{mechanism.reactions[j].equation!r} is outside {_COEFFICIENT_RANGE[0]:g} to "
            f"{_COEFFICIENT_RANGE[1]:g}: the yield's stoichiometric factor cannot be computed")


def _no_path(where, basis, product):
    return where.key("species").error(
        f"no combination of the mechanism's reactions makes {product!r} from the basis "
        f"{basis!r}")
