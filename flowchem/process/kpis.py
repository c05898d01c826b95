"""Key performance indicators and balances of a solved route.

Plain functions of the route and the streams and per-operation results of a
run (what :class:`~flowchem.process.route.RouteResult` holds): the product
KPIs (conversion, yield, selectivity, rates, space-time yield, residence
times), the per-reactor KPIs, the impurity profile and purity, process mass
intensity and E-factor, and the mass and element balance closure. The keys
of the dictionaries are those of the JSON result (DESIGN.md).

Yields are stoichiometric: ``(F_P,out - F_P,in) * factor / F_basis,in``, with
the factor of :func:`flowchem.chemistry.stoichiometry.stoichiometric_factor`
(moles of basis per mole of product along the cheapest path of the reaction
network), computed once when the route is loaded.
"""

from __future__ import annotations

import numpy as np

from ..chemistry.stoichiometry import stoichiometric_factor

__all__ = ["terminal_streams", "reactor_names", "supplied_species", "product_factor",
           "product_kpis", "reactor_kpis", "impurity_profile", "material_efficiency",
           "balance_closure"]


def terminal_streams(route, streams):
    """Names of the streams no operation takes (the route's outlets), in run order."""
    return [name for name in streams if name not in route.graph.consumer]


def reactor_names(route, operations, names=None):
    """Reactors (operations whose result is a flow reactor's) in route order,
    restricted to ``names`` when given."""
    from ..reactors.ideal import FlowResult

    names = route.order if names is None else [n for n in route.order if n in names]
    return [n for n in names if isinstance(operations[n], FlowResult)]


def supplied_species(route, stream):
    """Species that the feeds upstream of ``stream`` carry (positive flow)."""
    names = route.mechanism.species_names
    up = route.upstream(stream)
    fed = sum(route.feeds[f].molar_flows for f in route.feeds if f in up)
    return [names[i] for i in np.flatnonzero(np.asarray(fed) > 0.0)]


def product_factor(route, spec, where=None):
    """Stoichiometric factor of the route's product on its basis (moles of
    basis per mole of product); InputError at ``where`` when the network
    gives no path from the basis to the product."""
    return stoichiometric_factor(route.mechanism, spec["basis"], spec["species"],
                                 supplied=supplied_species(route, spec["from"]), where=where)


def product_kpis(route, streams, operations):
    """The ``product`` entry of the JSON result, or None without a product.

    Parameters
    ----------
    route : Route
    streams : dict
        Stream name -> :class:`Stream` of a run (feeds and outlets).
    operations : dict
        Operation name -> its result.
    """
    spec = route.product
    if spec is None:
        return None
    mech = route.mechanism
    names = mech.species_names
    ip, ib = names.index(spec["species"]), names.index(spec["basis"])
    up = route.upstream(spec["from"])
    feeds = [route.feeds[f] for f in route.feeds if f in up]
    mol_in = sum(f.molar_flows for f in feeds)
    basis_in, product_in = mol_in[ib], mol_in[ip]
    out = streams[spec["from"]]
    basis_out = out.molar_flows[ib]
    product_out = out.molar_flows[ip]
    factor = spec.get("stoichiometric_factor")
    if factor is None:          # a Route built in Python without loading its product entry
        factor = product_factor(route, spec)
    conversion = 1.0 - basis_out / basis_in
    yield_ = (product_out - product_in) * factor / basis_in
    selectivity = yield_ / conversion if conversion > 1e-12 else None
    molar_mass = mech.molar_masses[ip]
    rate_kg_h = None if np.isnan(molar_mass) else float(product_out * molar_mass * 3600.0)
    reactors = reactor_names(route, operations, up)
    volume = sum(operations[n].volume for n in reactors)
    residence = sum(operations[n].residence_time for n in reactors)
    sty = rate_kg_h / volume if (rate_kg_h is not None and volume > 0) else None
    by_operation = {}
    for n in route.order:
        if n not in up:
            continue
        res = operations[n]
        if n in reactors:
            by_operation[n] = res.residence_time
        elif "hold_time_s" in getattr(res, "info", {}):
            by_operation[n] = res.info["hold_time_s"]
    kpi = {
        "species": spec["species"], "basis": spec["basis"], "from": spec["from"],
        "conversion": float(conversion), "yield": float(yield_),
        "selectivity": None if selectivity is None else float(selectivity),
        "production_rate_mol_per_s": float(product_out),
        "production_rate_kg_per_h": rate_kg_h,
        "space_time_yield_kg_per_m3_h": sty,
        "reactor_volume_m3": float(volume),
        "residence_time_s": float(residence),
        "residence_time_by_operation_s": by_operation,
        "total_residence_time_s": float(sum(by_operation.values())),
        "stoichiometric_factor": float(factor),
    }
    kpi["per_reactor"] = {n: reactor_kpis(route, operations[n], ib, ip, factor, basis_in)
                          for n in reactors}
    kpi["impurity_profile_mol_percent"] = impurity_profile(route, spec, mol_in, out, ip)
    kpi["purity_mol_percent"] = (float(100.0 * product_out / out.molar_flows.sum())
                                 if out.molar_flows.sum() > 0 else None)
    kpi.update(material_efficiency(route, feeds, out, ip))
    return kpi


def reactor_kpis(route, result, ib, ip, factor, basis_route):
    """One reactor's KPIs: the conversion of every species it consumes, its
    share of the overall yield (``basis_route``: mol/s of basis the route
    feeds) and the selectivity on the basis it converts, both through the
    stoichiometric ``factor``."""
    names = route.mechanism.species_names
    F_in, F_out = result.inlet.molar_flows, result.outlet.molar_flows
    conv = {names[i]: float(1.0 - F_out[i] / F_in[i])
            for i in range(len(names)) if F_in[i] > 0 and F_out[i] < F_in[i] * (1 - 1e-12)}
    made = (F_out[ip] - F_in[ip]) * factor
    consumed = F_in[ib] - F_out[ib]
    return {"conversion": conv,
            "yield_contribution": float(made / basis_route),
            "selectivity": float(made / consumed) if consumed > 1e-9 * basis_route else None,
            "residence_time_s": result.residence_time}


def impurity_profile(route, spec, mol_in, out, ip):
    """Each by-product in mol % of the product: the species named in the
    product's ``impurities`` list, else every species the route forms
    (more at the product stream than fed) other than the product."""
    names = route.mechanism.species_names
    F = out.molar_flows
    if F[ip] <= 0:
        return {}
    chosen = spec.get("impurities")
    if chosen is None:
        chosen = [n for i, n in enumerate(names) if i != ip and F[i] > mol_in[i] * (1 + 1e-9) + 1e-30]
    return {n: float(100.0 * F[names.index(n)] / F[ip]) for n in chosen}


def material_efficiency(route, feeds, out, ip):
    """Process mass intensity (total mass fed per mass of product) and
    E-factor (waste per mass of product, PMI - 1), when every feed names
    its solvent and density; species masses from formulas add to the
    solvent mass."""
    masses = route.mechanism.molar_masses
    if np.isnan(masses[ip]) or any(getattr(f, "solvent", None) is None for f in feeds):
        return {"pmi": None, "e_factor": None}
    mass_in = 0.0
    known = ~np.isnan(masses)
    for f in feeds:
        mass_in += f.solvent["density"] * f.flow + float(np.sum(f.molar_flows[known] * masses[known]))
    product = float(out.molar_flows[ip] * masses[ip])
    if product <= 0:
        return {"pmi": None, "e_factor": None}
    return {"pmi": mass_in / product, "e_factor": mass_in / product - 1.0,
            "total_mass_in_kg_per_h": mass_in * 3600.0}


def balance_closure(route, streams):
    """The ``balance`` entry of the JSON result: mass in and out (species
    with a molar mass), relative mass closure, relative closure of every
    element, the species without a molar mass, and the outlets."""
    mech = route.mechanism
    masses = mech.molar_masses
    outlets = terminal_streams(route, streams)
    mol_in = sum(f.molar_flows for f in route.feeds.values())
    mol_out = sum(streams[n].molar_flows for n in outlets)
    known = ~np.isnan(masses)
    mass_in = float(np.sum(mol_in[known] * masses[known]))
    mass_out = float(np.sum(mol_out[known] * masses[known]))
    unknown_present = [n for n, k, a, b in zip(mech.species_names, known, mol_in, mol_out)
                       if not k and (a != 0 or b != 0)]
    closure = abs(mass_out - mass_in) / mass_in if mass_in > 0 else None
    elements = {}
    for e, row in zip(mech.elements, mech.element_matrix):
        ok = ~np.isnan(row)
        a_in = float(np.sum(row[ok] * mol_in[ok]))
        a_out = float(np.sum(row[ok] * mol_out[ok]))
        if a_in > 0:
            elements[e] = abs(a_out - a_in) / a_in
    return {
        "mass_in_kg_per_s": mass_in, "mass_out_kg_per_s": mass_out,
        "mass_closure_rel": closure,
        "species_without_molar_mass": unknown_present,
        "element_closure_rel": elements,
        "outlets": outlets,
    }
